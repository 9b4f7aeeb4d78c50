"""Bucketed Greeks of american and bermudan Heston rows off a market
(:mod:`greeks.engine.buckets`), under their fixed exercise policy, on the main run's exercise
chains: the rate nodes, yield nodes and proportional dividends split from the rho column's
estimator (:mod:`greeks.models.heston.exercise_carry`), each cash dividend by central
differences in its amount with the policy re-solved, and theta, the theta column per
calendar day.  The model's parameters are the row's columns, not market nodes: no vol
buckets.

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

A cash dividend D_i paid on or before the row's expiry: as under GBM
(:mod:`greeks.models.gbm.exercise_buckets`), central differences of the policy's value in
the amount, D_i ± δ and D_i ± 2δ, δ from :func:`greeks.exercise_moves.cash_step`,
Richardson over both,

    ∂V/∂D_i ≈ (4 E(δ) − E(2δ))/3,   E(δ) = (Y(D_i + δ) − Y(D_i − δ))/(2δ),

on the same random numbers.  Given the variance path the chain's log-price increments do not
depend on D_i, only the drops do (:mod:`greeks.models.heston.dropped`): the moved prices are
the main run's zero-carry chain S̃ put through the moved drops, nothing re-simulated, and
the state u = v_t/θ the policy reads is the main run's.  The policy is re-solved on each
moved market (the ADI boundaries with the moved drop, tabulated as the row's own:
:func:`greeks.exercise.solved_table`; the continuation's lower bound,
:func:`greeks.exercise.holds`, with it): the envelope argument makes the fixed policy's
derivative that of the optimal value to first order, but only at the optimal policy, and a
call's early exercise before an ex-date is driven by the amount itself: re-solved, the
policy's error (the table's against the chain's optimal rule) enters the derivative at
second order, held fixed at first, as for the rho.  Re-solving costs variance (the paths
the moved boundary switches: a bermudan call's SE 3.6 times that with the policy fixed, the
means 1 % apart; docs/american.md).  Like the vega the
differences take the value on every date's policy (an american row's Bermudan value on its
daily grid, not extrapolated).  Control: the European option's same differences on the same
paths, DF(T) (ω(S_T − K))⁺ at the moved amounts, of mean the same differences of the ADI
European value with the drops (:func:`greeks.models.heston.american_market.
heston_american_market` exercisable at expiry only), with the bucket pilot's coefficient:
the solver's error in those differences times the coefficient is the estimate's only bias
beyond the chain's (the ADI american put's differences at ±0.75 were within 0.05 % of a
grid twice as fine in S).
"""

from __future__ import annotations

import functools

import numpy as np

from greeks import exercise
from greeks.exercise_moves import moved_difference, moved_samples
from greeks.market.factors import dividend_label, stopped_factors
from greeks.models.gbm.buckets import row_names, with_parallel
from greeks.models.heston import exercise_carry

PATHWISE_STEP = 1e-4  # h of the pathwise weights' central difference in the growth


class ExerciseBucketRow:
    """What one american or bermudan Heston row adds to a chunk (module docstring): labels,
    kinds, the factors on the group's stored dates, the moved markets' rules (``moves``:
    :func:`greeks.exercise_moves.cash_moves`) and the controls' means."""

    def __init__(self, group, j, frame, market, moves):
        from greeks.models import adapter
        from greeks.models.heston.adapter import stored_dates

        model = adapter(group.model)
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
        n = group.date_start[j + 1] - group.date_start[j]
        labels, kinds, means = list(f.labels), list(f.kinds), list(f.mean)
        self.moves = {}  # key: (row of g, δ, rules (moves × dates × nodes), holds, cash)
        for key, (step, groups) in moves.items():
            d = dynamics.dividends[key[1]]
            if d.time > maturity:
                continue
            labels.append(dividend_label(names['underlying'], names['valuation'], d.time))
            kinds.append("dividend_cash")
            means.append(moved_difference([_european(g, j) for g in groups], step))
            if not self.immediate:
                rules = np.array([exercise.solved_table(g, model, j)[1] for g in groups])
                self.moves[key] = (len(labels) - 1, step, rules,
                                   np.array([g.payoff.hold[j, :, :n] for g in groups]),
                                   [g.market.cash for g in groups])
        self.labels = labels + [p[0] for p in f.parallel] + [f"theta:{names['underlying']}"]
        self.kinds = kinds + [p[1] for p in f.parallel] + ["theta"]
        self.control = np.append(means, np.nan)
        self.control[:f.rates] = np.nan  # controlled in the sample with the rho column's β

    def parallel(self, r):
        """``r`` with the parallel shifts inserted before theta."""
        return with_parallel(r, self.factors.parallel)


def _european(group, j: int) -> float:
    """Row j's European option on the group's market by the ADI solution with its drops
    (:func:`_european_on`)."""
    spec = group.payoff
    return _european_on("call" if spec.omega[j] > 0 else "put", group.market.dynamics,
                        float(spec.strike[j]), float(group.maturity[j]),
                        tuple(float(x) for x in group.params))


@functools.lru_cache(maxsize=64)
def _european_on(option_type, dynamics, strike, maturity, params) -> float:
    """The ADI value of the European ``option_type`` off ``dynamics``
    (:func:`greeks.models.heston.american_market.heston_american_market` exercisable at
    expiry only), kept: the rows' moved markets recur across runs in a process."""
    from greeks.models.heston.american_market import heston_american_market

    return heston_american_market(option_type, dynamics, strike, maturity, *params,
                                  np.array([maturity])).price


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
    estimators and their European controls (module docstring), theta last; a cash
    dividend's differences (:func:`greeks.exercise_moves.moved_samples`) on the zero-carry
    chain put through each moved market's drops (the amounts on the grid), the row's rule
    and lower bound those solved there."""
    from greeks.models import adapter
    from greeks.models.heston.adapter import _dropped, _exercise_chain

    paths = adapter(group.model).exercise_paths(group, stream, count)
    _, _, chain = _exercise_chain(group, stream, count, group.params[0])
    every = np.arange(count)

    def weights(row):
        w = _weights(group, chain, paths.s, row.factors, float(group.payoff.strike[row.j]))

        def weights_at(cols):
            return np.where(cols >= 0, w[:, every, cols], 0.0)
        return weights_at

    out = exercise.factor_samples(group, rows, paths, paths.s, paths.state, paths.columns,
                                  weights)
    for row, (g, h) in zip(rows, out):
        columns, _, discounts = exercise.row_dates(group, paths.columns, row.j)
        for at, step, rules, holds, cash in row.moves.values():
            g[at], h[at], _ = moved_samples(
                group, row.j, (_dropped(group, chain.s, group.spot, cash=c) for c in cash),
                paths.state, columns, discounts, step, "table", rules, holds)
    return out
