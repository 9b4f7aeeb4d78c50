"""Bucketed Greeks of american and bermudan Heston rows off a market
(:mod:`greeks.engine.buckets`), under their fixed exercise policy, on the main run's exercise
chains: the rate nodes, yield nodes and proportional dividends split from the rho column's
estimator (:mod:`greeks.models.heston.exercise_carry`), and theta, the theta column per
calendar day.  The model's parameters are the row's columns, not market nodes, and a cash
dividend's bucket would need the chain re-run through a moved drop with the policy's tables
re-solved: neither is bucketed.

A factor θ moving the log-growth step to stored date c by b_c and −log DF(t) by c(t)
(:func:`greeks.market.factors.stopped_factors`: b = Δφ_j, c = φ_j for rate node j; b = −Δφ^q_j
for a yield node, −1/(1 − y) on the step holding a proportional dividend) has, as the
parallel rho, the weight of a payoff Y paid at the exercise date τ

    W_θ(τ) = Σ_{c ≤ τ} ΔR_c b_c/ΔV_c − c(τ)

(the stored dates' log-price increments given the variance path are Gaussian of variance
ΔV_c, their mean moved by b_c: :func:`greeks.models.heston.exercise_carry.rate_score`), or
where the chain can stay at zero variance over a step (no score there:
:func:`~greeks.models.heston.exercise_carry.zero_steps`), as the rho column then, pathwise
with the stopping time held fixed, W_θ(t) = ∂S(t)/∂θ/(S(t) − K) − c(t), ∂S/∂θ the central
difference of the chain's prices in the growth moved by ±h β_θ(t) (β_θ = Σ_{c ≤ t} b_c).
The estimate is 2 Y W_θ(τ) − Y' W_θ(τ') (an american row's Richardson partner, Y W_θ(τ)
without one).  Σ_j φ_j = t, so the rate nodes add up path by path to the rho column's
estimator; controlled with its coefficient and the European option's same weight at
expiry, of mean φ_j(T)/T times its rho (it depends on the market through DF(T) and G(T)
alone), they add up to the rho column.  The yield and dividend buckets' controls have mean
β_θ(T) ∂C/∂log G(T) = β_θ(T) (ρ_E/T + C) (ρ_E = T ∂C/∂log G − T C); none across a cash
dividend (no closed form).
"""

from __future__ import annotations

import numpy as np

from greeks import exercise
from greeks.market.factors import stopped_factors
from greeks.models.gbm.buckets import row_names, with_parallel
from greeks.models.heston import exercise_carry

PATHWISE_STEP = 1e-4  # h of the pathwise weights' central difference in the growth


class ExerciseBucketRow:
    """What one american or bermudan Heston row adds to a chunk (module docstring): labels,
    kinds, the factors on the group's stored dates and the controls' means."""

    def __init__(self, group, j, frame, market):
        from greeks.models.heston.adapter import stored_dates

        self.position = int(group.positions[j])
        self.j = j
        self.immediate = bool(group.payoff.immediate[j])
        dynamics = group.market.dynamics
        stored = stored_dates(group)
        end = int(np.searchsorted(stored, group.date_index[group.date_start[j + 1] - 1]))
        maturity = float(group.maturity[j])
        price, rho = group.exercise_means[j, 0], group.exercise_means[j, 5]
        slope = np.nan if dynamics.cash_dividends(maturity) else rho / maturity + price
        names = row_names(frame, self.position, market)
        self.factors = stopped_factors(dynamics, group.times[stored], end, names, slope, price)
        f = self.factors
        self.labels = f.labels + [p[0] for p in f.parallel] + [f"theta:{names['underlying']}"]
        self.kinds = f.kinds + [p[1] for p in f.parallel] + ["theta"]
        self.control = np.append(f.mean, np.nan)
        self.control[:f.rates] = np.nan  # controlled in the sample with the rho column's β

    def parallel(self, r):
        """``r`` with the parallel shifts inserted before theta."""
        return with_parallel(r, self.factors.parallel)


def _weights(group, chain, s, factors, strike: float) -> np.ndarray:
    """(F × paths × stored dates) W_θ(t) of each factor (module docstring) on the base
    ``chain`` (prices ``s``)."""
    from greeks.models.heston.adapter import _grown

    if not exercise_carry.zero_steps(group):
        increments = np.diff(chain.residual, axis=1, prepend=0.0)
        variances = np.diff(chain.variance, axis=1, prepend=0.0)
        z = np.full(variances.shape, np.nan)
        np.divide(increments, variances, out=z, where=variances > 0.0)
        return np.stack([np.cumsum(z * b, axis=1) - c
                         for b, c in zip(factors.drift, factors.discount)])
    out = np.empty((len(factors.labels),) + s.shape)
    h = PATHWISE_STEP
    for f, (b, c) in enumerate(zip(factors.drift, factors.discount)):
        beta = np.cumsum(b)
        slope = (_grown(group, chain, h * beta) - _grown(group, chain, -h * beta)) / (2.0 * h)
        exercise.pathwise_rate_score(s, slope, c, strike, out[f])
    return out


def bucket_samples(group, rows, stream, count: int) -> list:
    """Per row, (g, h) (F+1 × ``count``) on one chunk's chains from ``stream``: the bucket
    estimators and their European controls (module docstring), theta last."""
    from greeks.models import adapter
    from greeks.models.heston.adapter import _exercise_chain

    paths = adapter(group.model).exercise_paths(group, stream, count)
    _, _, chain = _exercise_chain(group, stream, count, group.params[0])
    spec = group.payoff
    out = []
    for row in rows:
        j = row.j
        g, h = exercise.bucket_arrays(group, paths, j, len(row.control))
        out.append((g, h))
        if row.immediate:
            continue
        columns, _, discounts = exercise.row_dates(group, paths.columns, j)
        weights = _weights(group, chain, paths.s, row.factors, float(spec.strike[j]))
        every = np.arange(count)

        def weights_at(cols, weights=weights):
            return np.where(cols >= 0, weights[:, every, cols], 0.0)

        g[:-1], h[:-1] = exercise.stopped_factor_samples(
            group, j, paths.s, paths.state, columns, discounts, weights_at, row.factors.rates,
            row.factors.mean[:row.factors.rates])
    return out
