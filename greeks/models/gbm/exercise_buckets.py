"""Bucketed Greeks of american and bermudan GBM rows off a market
(:mod:`greeks.engine.buckets`), under their fixed exercise policy (:mod:`greeks.exercise`), on
the main run's exercise paths (:func:`greeks.models.gbm.dated.simulate_dated`, the grid's
variance-clock Brownian motion W̃ with step variances v_k = w(t_k) − w(t_{k−1})).  Y is the
path's discounted payoff DF(τ) ω (S(τ) − K) at the exercise date τ the policy picks
(:func:`greeks.payoffs.stopping_index`), Y' the Richardson partner's (an american row's
policy on every second date, at τ'); a row without a partner has Y' = Y, and every
estimate below of a row with one is 2 X(Y, τ) − X(Y', τ'), extrapolated as its price is.

Rate, yield and proportional dividends: likelihood ratios, as the parallel rho
(:mod:`greeks.models.gbm.exercise_carry`).  A factor θ that moves the mean of grid step k by
b_k (the log-growth's step) and −log DF(t) by c(t) has, Y being known at τ (optional
stopping), the weight

    ∂V_π/∂θ = E[Y (R_θ(τ) − c(τ))],    R_θ(t) = Σ_{t_k ≤ t} ΔW̃_k b_k / v_k,

the policy's decisions on the path held fixed (the envelope argument, :mod:`greeks.exercise`).
With φ_j(t) = ∂I(t)/∂z_j the contribution of curve node j to the integrated rate
(:func:`greeks.market.factors.unit_derivatives`): a rate node has b_k = Δφ_j(t_k), c = φ_j
(the carry and the discount); a yield node b_k = −Δφ^q_j(t_k), c = 0; a proportional dividend
y at τ_d b_k = −1/(1 − y) on the step holding τ_d, c = 0.  Since Σ_j φ_j(t) = t the rate
nodes' weights add up, path by path, to the parallel rho's R(τ) − τ.  Each gets the European
option's same weight on the same path as control, DF(T) h(S_T)(R_θ(T) − c(T)), whose mean is
∂C/∂θ = β_θ(T) S0 Δ_BS − c(T) C_BS (C depends on the market through DF(T), G(T) and w(T);
β_θ(T) = Σ_k b_k the change of log G(T); NaN, no control, with a cash dividend before
expiry, as for the rho).  The rate nodes take the parallel rho's coefficient β
(``exercise_coef``), so that their controlled estimates too add up, path by path, to the
row's rho column; the others are controlled by the bucket engine's pilot, each its own β.

Vol nodes: central differences of the policy's value with node j's vol moved, σ_j ± k and
σ_j ± 2k (the other nodes kept), on the same random numbers (the paths on the moved
variance clock), the policy re-solved on the moved curve (its boundaries at σ_j ± k,
:meth:`~greeks.models.gbm.adapter.GBM.exercise_boundaries`) as the parallel vega's are,

    vega_j = (4 E_j(k) − E_j(2k))/3,   E_j(k) = (Y(σ_j + k) − Y(σ_j − k))/(2k),

k the parallel vega's step (halved until the curve moved by ±2k keeps an increasing total
variance).  Their sum is the parallel vega up to O(k⁴) (Σ_j ∂/∂σ_j = ∂/∂ε): within SEs of
the vega column.  A likelihood ratio on the steps' variances (the policy fixed, stopped
at τ) carries a_k (ΔW̃_k²/v_k − 1 − ΔW̃_k) terms on every daily step: its spread was 7–60
times the differences' (``benchmarks/exercise_vega_buckets.py``).
Controls: the European option's same differences, of exact mean the differences of its
value on the moved curves (:meth:`~greeks.models.gbm.adapter.GBM.european_price`), its
coefficient the bucket pilot's; and where the market has no cash dividend, the parallel
vega's hedge control (:mod:`greeks.exercise_hedge`) on the moved paths, the European delta
hedge of each moved path stopped at its exercise date and differenced as the estimator,
of mean zero, with the parallel vega's coefficient (a joint fit per node gained at most
10 % of the spread on the example book): without it the sum of the nodes' SEs was 5–20
times the vega column's, with it 2–4.4 times (each node's move changes the exercise date of
paths of its own).

Cash dividends: the same differences in the amount D_i, D_i ± δ and D_i ± 2δ, δ the largest
of D_i/2, D_i/4, D_i/8 at which a finite-difference proxy is smooth enough
(:func:`greeks.exercise_moves.cash_step`: a smaller δ leaves more of the variance O(1/δ) of
the paths whose exercise date the move changes; D_i/2 reaches D_i − 2δ = 0), the paths
re-simulated with the moved drop on the same numbers and the policy (and the continuation's
lower bound, :func:`greeks.exercise.holds`) re-solved with the moved dividend: early
exercise of calls before an ex-date is driven by it.
Control: the European's differences, of mean the differences of the finite-difference
European value on the moved markets (no closed form with cash dividends).

Theta: the row's theta column (:mod:`greeks.models.gbm.exercise_carry`, the engine's controlled
per-path values on the same paths, :func:`greeks.exercise.controlled_values`) per calendar day.

Like the parallel vega, the vol and dividend buckets differentiate the value on every date's
policy (an american row's Bermudan value on its daily grid, not extrapolated).  A row exercised
at once has every bucket 0.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numba import njit

from greeks import exercise
from greeks.exercise_hedge import HEDGE_EVERY, NORMAL_TABLE, moved_hedges
from greeks.exercise_moves import MOVES, cash_moves, moved_difference, moved_group, moved_samples
from greeks.market.factors import dividend_label, stopped_factors
from greeks.market.volatility import VolCurve
from greeks.models.gbm import dated
from greeks.models.gbm.adapter import market_hedge_weights
from greeks.models.gbm.analytic import black_scholes
from greeks.models.gbm.buckets import row_names, with_parallel


@njit(cache=True, nogil=True)
def stopped_scores(w, drift, discount, stops, out):
    """``out[f, p]`` = Σ_{k ≤ c} (w[p, k] − w[p, k−1]) ``drift[f, k]`` − ``discount[f, c]``,
    c = ``stops[p]`` the grid column of path p's exercise date (0 where c < 0: none)."""
    for p in range(w.shape[0]):
        col = stops[p]
        if col < 0:
            out[:, p] = 0.0
            continue
        for f in range(drift.shape[0]):
            out[f, p] = -discount[f, col]
        previous = 0.0
        for k in range(col + 1):
            step = w[p, k] - previous
            previous = w[p, k]
            for f in range(drift.shape[0]):
                out[f, p] += step * drift[f, k]


def _moved_vol(vol: VolCurve, node: int, shift: float) -> VolCurve | None:
    """The curve with node ``node``'s vol moved by ``shift``; None where a vol would not stay
    > 0 or the total variance not increase."""
    vols = list(vol.vols)
    vols[node] += shift
    if min(vols) <= 0.0 or (vol.times and np.any(
            np.diff(np.square(vols) * np.array(vol.times)) <= 0.0)):
        return None
    return VolCurve(vol.times, tuple(vols), vol.dates)


def move_sets(group) -> dict:
    """The group's moved markets, by key: ``("vol", j)`` node j's vol at σ_j ± k, ± 2k
    (module docstring), ``("cash", i)`` the i-th dividend's amount (a cash one) at D ± δ,
    ± 2δ (:func:`greeks.exercise_moves.cash_moves`): (step, the four moved groups in
    :data:`~greeks.exercise_moves.MOVES` order)."""
    from greeks.models import adapter

    dynamics = group.market.dynamics
    out = {}
    vol = dynamics.vol
    for node in range(len(vol.vols)):
        k = adapter(group.model).exercise_vol_step(group)
        while any(_moved_vol(vol, node, m * k) is None for m in MOVES):
            k *= 0.5
        out["vol", node] = (k, [moved_group(group, replace(dynamics, vol=_moved_vol(
            vol, node, m * k))) for m in MOVES])
    out.update(cash_moves(group))
    return out


class ExerciseBucketRow:
    """What one american or bermudan GBM row adds to a chunk of the bucketed Greeks (module
    docstring): its labels and kinds, the likelihood-ratio factors' coefficients on the grid
    (``drift``: b_k/v_k, ``discount``: c(t_k)), the moved markets' policies and the
    controls' means."""

    def __init__(self, group, j, frame, market, moves):
        from greeks.models import adapter

        model = adapter(group.model)
        self.position = int(group.positions[j])
        self.j = j
        names = row_names(frame, self.position, market)
        und, valuation = names["underlying"], names["valuation"]
        dynamics = group.market.dynamics
        spec = group.payoff
        self.immediate = bool(spec.immediate[j])
        index = group.dates_of(j)
        maturity = float(group.maturity[j])
        times = group.times
        kind = "call" if spec.omega[j] > 0 else "put"
        slope = price = np.nan  # ∂C/∂log G(T) and C: none with a cash dividend before T
        if not dynamics.cash_dividends(maturity):
            r, q, sigma = dynamics.equivalent(maturity)
            bs = black_scholes(kind, dynamics.spot, spec.strike[j], maturity, r, sigma, q)
            slope, price = dynamics.spot * bs.delta, bs.price
        self.factors = factors = stopped_factors(dynamics, times, int(index[-1]), names,
                                                 slope, price)
        labels, kinds, means = list(factors.labels), list(factors.kinds), list(factors.mean)
        parallel = list(factors.parallel)
        self.drift = factors.drift / np.diff(group.market.clock, prepend=0.0)  # b_k/v_k
        # the moved markets: vol nodes that move w before expiry, cash dividends before it
        self.moves, self.grids = {}, {}
        sigma = model.vega_sigma(group.params)
        moving = dynamics.vol.node_derivatives(times[index]) != 0.0
        start = len(labels)
        for key, (step, groups) in moves.items():
            if key[0] == "vol":
                if not moving[key[1]].any():
                    continue
                node = dynamics.vol.labels[key[1]]
                labels.append(f"vol:{und}/own:flat" if names["own_vol"] else
                              f"vol:{und}:{node}")
                kinds.append("vol")
            else:
                d = dynamics.dividends[key[1]]
                if d.time > maturity:
                    continue
                labels.append(dividend_label(und, valuation, d.time))
                kinds.append("dividend_cash")
            policies = (np.zeros((len(MOVES), index.size)) if self.immediate else
                        np.array([exercise.solved_levels(g, model, j, sigma) for g in groups]))
            means.append(moved_difference(
                [model.european_price(g, j, dynamics.spot, sigma) for g in groups], step))
            self.moves[key] = (len(labels) - 1, step, policies,
                               np.array([g.payoff.hold[j, :, :index.size] for g in groups]))
            self.grids[key] = [g.market for g in groups]
        vols = [k for k in range(start, len(labels)) if kinds[k] == "vol"]
        if len(vols) > 1:
            parallel.append((f"vol:{und}:parallel", "vol", vols))
        self.parallel_sets = parallel
        self.labels = labels + [p[0] for p in parallel] + [f"theta:{und}"]
        self.kinds = kinds + [p[1] for p in parallel] + ["theta"]
        # the rate nodes are controlled in the sample with the rho column's β
        # (greeks.exercise.stopped_factor_samples); theta is the column's, controlled
        self.control = np.array(means + [np.nan])
        self.control[:factors.rates] = np.nan
        self.hedge_coef = float(group.hedge_coef[j, exercise.HEDGED_ROWS.index(2)])

    def parallel(self, r):
        """``r`` with the parallel shifts (sums of their buckets' rows) inserted before
        theta."""
        return with_parallel(r, self.parallel_sets)


def bucket_samples(group, rows, stream, count: int) -> list:
    """Per row, (g, h) (F+1 × ``count``): the bucket estimators and their European controls
    on one chunk's paths from ``stream`` (module docstring), theta last."""
    from greeks.models import adapter

    market = group.market

    def simulate(grid):
        rng = np.random.Generator(np.random.PCG64(stream))
        return dated.simulate_dated(rng, count, grid.clock, grid.log_growth(), grid.cash,
                                    group.spot, group.antithetic)[:2]

    w, s = simulate(market)
    state = np.empty((count, 0))

    def weights(row):
        def weights_at(cols):
            scores = np.empty((row.drift.shape[0], count))
            stopped_scores(w, row.drift, row.factors.discount, cols, scores)
            return scores
        return weights_at

    out = exercise.factor_samples(group, rows,
                                  adapter(group.model).exercise_paths(group, stream, count),
                                  s, state, group.date_index, weights)
    spec = group.payoff
    for key in sorted({key for row in rows for key in row.moves}):
        grids = next(row.grids[key] for row in rows if key in row.moves)
        moved = [simulate(grid)[1] for grid in grids]
        for row, (g, h) in zip(rows, out):
            if key not in row.moves or row.immediate:
                continue
            j = row.j
            at, step, policies, holds = row.moves[key]
            columns, _, discounts = exercise.row_dates(group, group.date_index, j)
            g[at], h[at], stops = moved_samples(group, j, moved, state, columns, discounts,
                                                step, "policy", policies, holds)
            if key[0] == "vol" and not market.cash.any():  # the parallel vega's hedge
                hedge = np.empty(count)
                moved_hedges(np.stack(moved), state, columns, stops, spec.omega[j],
                             group.spot, step,
                             market_hedge_weights(market, columns, float(spec.strike[j])),
                             HEDGE_EVERY, NORMAL_TABLE, hedge)
                g[at] -= row.hedge_coef * hedge
    return out
