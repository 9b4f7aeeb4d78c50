"""Heston as the engine sees it (:class:`greeks.models.base.Model`).

The grid holds the rows' dates and the regular steps of :func:`steps_per_year` (and
``MIN_STEPS`` equal steps before a shorter maturity); european and cash digital rows go by
conditional Monte Carlo (:func:`greeks.estimators.likelihood_ratio_heston`), the others,
and off a market those across a cash dividend (:mod:`greeks.models.heston.dropped`), by the
chain's likelihood-ratio weights (:mod:`greeks.models.heston.scores`); of the
further Greeks the chunk estimates gamma (:func:`greeks.sensitivities.heston_multipliers`),
the others come from :mod:`greeks.models.heston.sensitivities`.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from greeks import estimators, pathwise, payoff_table, payoffs, rqmc, sensitivities
from greeks.models.base import Bumped, ExercisePaths, Model
from greeks.models.heston import exercise_carry
from greeks.models.heston.american import heston_exercise_boundaries
from greeks.models.heston.analytic import heston_digital, heston_greeks
from greeks.models.heston.constants import Constants
from greeks.models.heston.dropped import with_dividends
from greeks.models.heston.exercise_rule import (
    TABLE_NODES,
    level_table,
    symmetric_parameters,
    table_step,
)
from greeks.models.heston.paths import simulate
from greeks.models.heston.schema import (
    EULER,
    EXACT,
    PARAMETERS,
    from_zero_without_feller,
    shifted_v0,
)
from greeks.models.heston.scores import transition_score
from greeks.names import PARAMETER_GREEKS

AUTO_STEPS = 0.0  # steps_per_year: each group's own (:func:`steps_per_year`)
MIN_STEPS_PER_YEAR = 52
BIAS_STEPS = 4.0  # automatic grids: at least BIAS_STEPS · ξ²/θ steps a year
MAX_STEPS_PER_YEAR = 1024  # the base grid's cap
REFERENCE_PATHS = 200_000  # N_ref: the base grid serves runs of up to N_ref paths
BIAS_ORDER = 2.0  # p, the measured order of QE's bias in the step (bias ∝ Δ^p)
MAX_REFINED_STEPS_PER_YEAR = 16_384  # the refined grid's cap
CARRIED = (sensitivities.THETA, sensitivities.RHO)  # estimated by the exercise kernels
THETA_CODE = sensitivities.THETA  # of the further Greeks (greeks.sensitivities.NAMES)
EXERCISE_VOL_STEP = 0.02  # k of the early-exercise vega (σ0 ± k, greeks.exercise)
MIN_STEPS = 24  # steps before any maturity, however short (fewer if steps/yr is lower)
FELLER_STEPS = 26.0  # automatic grids: at least FELLER_STEPS · (ξ²/(2κθ) − 1) steps per maturity
CONDITIONED = payoff_table.codes_where("conditional")  # by conditional Monte Carlo
# S intervals of the ADI grid of the solved exercise boundaries, twice the pricer's: the fixed
# policy's rho is first order in the boundary's error (greeks.models.heston.exercise_carry)
BOUNDARY_S_STEPS = 400


def refinement(paths: int) -> float:
    """The automatic grid's refinement for a run of ``paths`` paths:
    (N/N_ref)^(1/(2p)) beyond N_ref = ``REFERENCE_PATHS``, else 1.

    The discretisation bias falls like Δ^p with the step Δ, the standard error like
    N^(−1/2); refining the steps by (N/N_ref)^(1/(2p)) keeps bias/SE at N no larger than
    the base grid's at N_ref, where it is below about 0.3 on the published cases and most
    random parameters (:func:`steps_per_year`).  p = 2 is the order measured on the worst
    published case (Broadie–Kaya I: the price, delta and vega biases fall 3.8–4.6× per
    halving of Δ from 12 to 52 steps a year, benchmarks/results/heston_bias_order.md) and
    on the random case of the largest bias (ξ = 1.2, θ = 0.019: 3.4× from 52 to 104
    steps, 13× from 104 to 298): the integrated variance of a step, taken as the
    mean-reverting bridge's mean between the end points, misses its conditional variance
    ∝ ξ²vΔ³, O(Δ²) over the grid, and QE matches the first two moments of each variance
    step (docs/accuracy.md)."""
    return max(1.0, paths / REFERENCE_PATHS) ** (1.0 / (2.0 * BIAS_ORDER))


def steps_per_year(xi: float, theta: float, requested: float = AUTO_STEPS,
                   paths: int = 0) -> float:
    """Steps per year of a Heston grid: ``requested``, or for ``AUTO_STEPS`` the base
    grid max(52, ⌈4ξ²/θ⌉) (at most 1,024) refined for a run of ``paths`` paths by
    :func:`refinement`: ⌈base · (N/N_ref)^(1/4)⌉ beyond N_ref = 200,000 paths (at most
    16,384), so that the discretisation bias stays a small fraction of the standard
    error at any path count.  Each step's integrated variance is taken from the step's
    end points (:func:`greeks.models.heston.constants.integration_weights`), which
    ignores its spread given them, a bias that grows with ξ²Δ/θ (the variance's relative
    noise over a step at its long-run level); at ξ²Δ/θ ≤ 1/4 it stays below about 0.3
    standard errors of N_ref paths on the published cases and on most random parameters
    that satisfy Feller's condition (benchmarks/heston_bias.py, benchmarks/heston_random.py,
    docs/accuracy.md).  Where the condition fails the bias grows with ξ²/(2κθ) − 1 and
    falls with the maturity instead: the automatic grid then also puts at least
    :func:`feller_steps` steps before each maturity (:meth:`Heston.grid_steps`)."""
    if requested != AUTO_STEPS:
        return requested
    base = float(min(max(MIN_STEPS_PER_YEAR, math.ceil(BIAS_STEPS * xi * xi / theta)),
                     MAX_STEPS_PER_YEAR))
    if paths <= REFERENCE_PATHS:
        return base
    return float(min(math.ceil(base * refinement(paths)), MAX_REFINED_STEPS_PER_YEAR))


def feller_steps(kappa: float, theta: float, xi: float, paths: int = 0) -> int:
    """The fewest steps the automatic grid puts before each maturity where Feller's
    condition fails: ⌈26 (ξ²/(2κθ) − 1)⌉ (at most 1,024), refined like the regular steps
    (:func:`refinement`) beyond N_ref paths; 0 where ξ² ≤ 2κθ.

    Where ξ² > 2κθ the variance reaches 0 and sits near it, where a step's noise ξ²Δ is
    large against the variance itself, and the grid's bias no longer follows ξ²Δ/θ: on 52
    steps a year it is about 0.3 (ξ²/(2κθ) − 1)/T standard errors of N_ref paths for
    european and digital rows of maturity T (the digitals' deltas the worst), and it falls
    1.5–4× per halving of the step.  A count of steps over each row's life that grows with
    the Feller deficit follows that scaling: over rows with ξ²/(2κθ) = 4–25 and T = 0.5–3
    the largest bias of price and delta, 0.54–5.4 SE of N_ref paths on the base grid, falls
    to 0.23–0.45 (benchmarks/heston_feller.py, docs/accuracy.md).  The count stays within
    the regular steps of the published cases that violate the condition (Fang–Oosterlee 43
    against 52, Broadie–Kaya I and II 15 and 47 against 79 and 260, Andersen's case I 624
    against 1,000), whose grids it leaves as they were."""
    deficit = min(FELLER_STEPS * (xi * xi / (2.0 * kappa * theta) - 1.0), MAX_STEPS_PER_YEAR)
    if deficit <= 0.0:
        return 0
    return min(math.ceil(deficit * refinement(paths)), MAX_REFINED_STEPS_PER_YEAR)


class HestonPaths(NamedTuple):
    """A chunk of Heston paths on a group's stored dates (:func:`group_paths`)."""

    s: np.ndarray         # prices (paths × stored dates)
    residual: np.ndarray  # R
    variance: np.ndarray  # V
    columns: np.ndarray   # the stored column of each row date (``date_index`` order)
    first_variance: np.ndarray  # v_1
    slopes: np.ndarray  # (∂μ_1/∂v_0, ∂V_1/∂v_0) per path (paths × 2)
    constants: Constants
    scores: np.ndarray | None  # (κ, θ, ξ, ρ) scores at each row's last date (paths × rows × 4)
    states: np.ndarray  # v on the stored dates (paths × stored dates; no columns: not kept)
    grid_columns: np.ndarray  # the stored column of each grid point (−1: not stored)


def stored_dates(group) -> np.ndarray:
    """The grid points a chunk keeps, increasing: the rows' dates and, off a market with
    cash dividends, the ex-dates (where the drops read the chain:
    :mod:`greeks.models.heston.dropped`)."""
    dates = np.unique(group.date_index)
    if group.market is None or not group.market.cash.any():
        return dates
    return np.union1d(dates, np.flatnonzero(group.market.cash))


def group_paths(group, rng, n_paths: int, v0: float | None = None, scores: bool = False,
                normals: np.ndarray | None = None, states: bool = False) -> HestonPaths:
    """Simulate a chunk of a Heston group's paths (from ``v0``, default the group's): x, R
    and V are kept on the rows' dates only, with ``states`` v too; with ``scores`` (exact
    scheme) the chain's parameter scores up to each row's last date; ``normals``: given
    (randomised QMC)."""
    _, kappa, theta, xi, rho = group.params
    v0 = group.params[0] if v0 is None else v0
    constants = Constants(group.times, kappa, theta, xi, rho, group.rate - group.dividend)
    stored = stored_dates(group)
    column = np.full(group.times.size, -1, dtype=np.int64)
    column[stored] = np.arange(stored.size)
    last = group.date_index[group.date_start[1:] - 1]
    ends = np.unique(last) if scores else None
    x, residual, variance, first_variance, slopes, kept, level = simulate(
        rng, group.scheme, n_paths, math.log(group.spot), v0, kappa, theta, xi, rho, constants,
        column, stored.size, group.antithetic, ends, normals, group.sampled_first, states)
    return HestonPaths(np.exp(x, out=x), residual, variance, column[group.date_index],
                       first_variance, slopes, constants,
                       kept[:, np.searchsorted(ends, last)] if scores else None, level, column)


def market_prices(group, chain: HestonPaths) -> tuple[np.ndarray, np.ndarray]:
    """(S, the prices the linear control reads) of a chunk off a market, in place of the
    chain's zero-carry prices: those times the growth G(t), and with cash dividends the
    drops (:func:`greeks.models.heston.dropped.with_dividends`), the control then reading
    the unfloored prices."""
    stored = stored_dates(group)
    s = chain.s
    if not group.market.cash.any():
        s *= group.market.growth[stored]
        return s, s
    unfloored = np.empty_like(s)
    with_dividends(s, group.market.growth[stored], group.market.cash[stored], group.spot,
                   unfloored)
    return s, unfloored


def first_scores(group, chain: HestonPaths) -> np.ndarray:
    """The stored column of each row's first score date, where its delta, vega and gamma
    weights read R and V: its first date, or off a market the first cash ex-date before it
    (:mod:`greeks.models.heston.dropped`)."""
    if group.market is None:
        return chain.columns[group.date_start[:-1]]
    market = group.market
    return chain.grid_columns[market.score_index[market.score_start[:-1]]]


class Heston(Model):
    name = "heston"
    parameters = PARAMETERS
    conditioned = CONDITIONED
    further = (sensitivities.GAMMA,)
    carries_exercise = True  # greeks.models.heston.exercise_carry
    keys_paid_dividends = True
    # cost per path relative to likelihood ratio: finite differences 2.7–3.5× on three chains
    # (greeks compare, one thread), scaled to their five chains
    relative_cost = {"fd": 5.0}
    # benchmarks/exercise_estimators.py: single over pairs 1.05–1.09 flat, 1.07 off a market
    single_cost = (1.07, 1.07)
    step_cost = {"lr": 3.2, "fd": 16.2, "exercise": 10.0}
    row_cost = {"lr": 2.7, "fd": 17.7, "exercise": 0.0}
    fit_cost = 10.7
    alternative_share = {"fd": 0.5}
    # a finite-difference chunk without its vol bumps' four chains 0.36–0.39 of one with
    # them, with neither bump 0.30–0.33 (the example portfolio's group of 5 rows:
    # benchmarks/fd_bumps.py)
    bump_share = (0.06, 0.61)
    # the further Greeks its chunk does not estimate and the parameter sensitivities, from
    # greeks.models.heston.sensitivities
    revalued = tuple(name for code, name in enumerate(sensitivities.NAMES)
                     if code != sensitivities.GAMMA) + PARAMETER_GREEKS

    def revalued_greeks(self, frame, names, paths, seed, scheme, steps_per_year, first_step,
                        method, threads=None, scheduler="local"):
        """:func:`greeks.models.heston.sensitivities.heston_sensitivities`."""
        from greeks.models.heston.sensitivities import heston_sensitivities

        return heston_sensitivities(frame, names, paths, seed, scheme, steps_per_year,
                                    first_step, method, threads, scheduler)

    def lr_delta_unusable(self, frame):
        """Rows from v0 = 0 without the Feller condition
        (:func:`greeks.models.heston.schema.from_zero_without_feller`): conditional Monte
        Carlo (the ``conditional`` payoffs of :mod:`greeks.payoff_table`) and finite
        differences (the others) price them, the likelihood-ratio delta weight cannot."""
        return from_zero_without_feller(*(frame[name].to_numpy(dtype=float)
                                          for name in ("v0", "kappa", "theta", "xi")))

    def grid_steps(self, params, maturities, steps_per_year_, first_step, paths=0):
        steps = steps_per_year(params[3], params[2], steps_per_year_, paths)
        last = float(maturities.max())
        regular = np.arange(1, math.ceil(last * steps)) / steps
        out = [regular[regular > first_step],
               np.array([first_step]) if 0 < first_step < last else np.empty(0)]
        # a maturity shorter than `least` regular steps gets `least` steps of its own (on
        # the automatic grid refined as the regular steps are, and at least
        # :func:`feller_steps` where Feller's condition fails)
        auto = steps_per_year_ == AUTO_STEPS
        least = min(math.ceil(MIN_STEPS * refinement(paths)) if auto else MIN_STEPS,
                    math.ceil(steps))
        if auto:
            least = max(least, feller_steps(*params[1:4], paths))
        return out + [t * np.arange(1, least + 1) / least for t in np.unique(maturities)
                      if t * steps < least and t > first_step]

    def chain_flags(self, params, grid, scheme, steps_per_year_, carry, paths=0):
        v0, kappa, theta, xi, rho = params
        steps = steps_per_year(xi, theta, steps_per_year_, paths)
        sampled = scheme != EULER and grid[0] * steps > 1.0 + 1e-9
        martingale = not sampled and Constants(grid, kappa, theta, xi, rho,
                                               carry).is_martingale(scheme, v0)
        return martingale, sampled

    def floor_sigma(self, params):
        return math.sqrt(params[0] or params[2]), params[0] == 0.0  # dV/dσ0 = 2σ0 dV/dv0

    def run_likelihood_ratio(self, group, rng, n_paths, coef, collect, out, sums, normals=None):
        """Heston chunk (:func:`group_paths`; ``normals`` given under randomised QMC)."""
        v0, kappa, theta, xi, rho = group.params
        chain = group_paths(group, rng, n_paths, normals=normals)
        s, residual, variance, columns, first_variance, slopes, constants, *_ = chain
        linear, slope = s, group.forward / group.spot
        conditioned = self.conditional_rows(group)
        if group.market is not None:  # off a market: the zero-carry chain times the growth,
            s, linear = market_prices(group, chain)  # and the cash dividends' drops
            if group.market.cash.any():
                slope = group.market.forward_slope
        starts = first_scores(group, chain)
        score = np.empty(n_paths)
        transition_score(EXACT if group.sampled_first else group.scheme, v0, first_variance,
                         kappa, theta, xi, constants.dt[0], constants.e[0],
                         constants.mean_var[0], constants.base_var[0],
                         constants.chi_scale[0], score)
        estimators.likelihood_ratio_heston(
            s.T, linear.T, residual.T, variance.T, score, group.spot, math.sqrt(v0),
            slopes[:, 0], slopes[:, 1], group.date_start, columns, starts, group.payoff,
            group.forward, slope, group.weight, group.total_of, group.n_totals, coef,
            conditioned, group.antithetic, collect, out, sums)

        def multipliers(j, dates, out_):
            sensitivities.heston_multipliers(residual, variance, starts[j:j + 1], group.spot,
                                             out_)
        return s, columns, multipliers, linear

    def run_rqmc(self, group, seed, replicate, rng, n_paths, coef, out, sums):
        self.run_likelihood_ratio(group, rng, n_paths, coef, False, out, sums,
                                  rqmc.replicate_normals(group, seed, replicate, n_paths))

    def bumped_paths(self, group, stream, n_paths, spot_bumps=True, vol_bumps=True):
        """Paths of the extrapolated central differences (:mod:`greeks.pathwise`):
        S0·(1 ± h), S0·(1 ± 2h) by rescaling, σ0 ± h_σ, σ0 ± 2h_σ by chains re-simulated on
        the same stream (h_σ = ``HESTON_VOL_BUMP``, at most σ0/4); without ``spot_bumps``
        or ``vol_bumps``, None for those prices (and for the vol bumps, the base chain
        where the conditional values read a chain)."""
        spot, h = group.spot, pathwise.SPOT_BUMP
        sigma0 = math.sqrt(group.params[0])
        h_vol = min(pathwise.HESTON_VOL_BUMP, sigma0 / 4)
        # at σ0 = 0, dV/dσ0 = 2σ0 dV/dv0 = 0 exactly: the base chain stands in for the
        # bumped ones, so that the difference is 0
        levels = ((sigma0, sigma0 + h_vol, sigma0 - h_vol, sigma0 + 2.0 * h_vol,
                   sigma0 - 2.0 * h_vol) if sigma0 > 0 and vol_bumps else (sigma0,))
        chains = [group_paths(group, np.random.Generator(np.random.PCG64(stream)), n_paths,
                              v * v) for v in levels]
        chains += [chains[0]] * (5 - len(chains))
        s = chains[0].s
        bumped = ([s * (1.0 + h), s * (1.0 - h), s * (1.0 + 2.0 * h), s * (1.0 - 2.0 * h)]
                  if spot_bumps else [None] * 4)
        bumped += [chain.s for chain in chains[1:]] if vol_bumps else [None] * 4

        def conditional(j, col):
            if not group.conditional or group.payoff.kind[j] not in CONDITIONED:
                return None
            return _conditional_on_chains(group, j, chains, col)
        return Bumped(s, chains[0].columns, bumped, h * spot, h_vol if sigma0 > 0 else 1.0,
                      conditional)

    def exercise_paths(self, group, stream, n_paths):
        """The chain on the group's grid; the state u = v_t/θ, the chain's variance on each
        stored date over θ; the chains from (σ0 ± k)² and (σ0 ± 2k)² on the same
        stream (at σ0 = 0, where the vega is 0, the base chain twice), and the rate score and
        theta's moved chains where the group estimates them
        (:func:`greeks.models.heston.exercise_carry.carry_paths`).  Off a market with cash
        dividends the prices are the drops' (:func:`_exercise_chain`), not linear in S0: the
        spot's moves are the same chain's S̃ from S0 (1 ± h), S0 (1 ± 2h) through the drops
        (``spot_moves``, for each row's h: :meth:`exercise_spot_step`); theta's moved chains
        go through the same drops on the same stored ex-dates (every date kept in calendar
        time), and the rate score stays exact (the drops are fixed maps of the Gaussian
        increments' sums)."""
        sigma0 = math.sqrt(group.params[0])
        k = self.exercise_vol_step(group)
        levels = [sigma0] + ([sigma0 + k, sigma0 - k, sigma0 + 2 * k, sigma0 - 2 * k]
                             if sigma0 > 0 else [sigma0] * 4)
        chains = [_exercise_chain(group, stream, n_paths, v * v) for v in levels]
        linear = np.empty((0, 0))
        s, state, chain = chains[0]
        spot_moves = None
        if _paying(group):
            @functools.lru_cache(maxsize=None)
            def spot_moves(h):
                return np.array([_dropped(group, chain.s, group.spot * (1.0 + d))
                                 for d in (h, -h, 2.0 * h, -2.0 * h)])
            unfloored = np.empty_like(chain.s)
            _dropped(group, chain.s, group.spot, unfloored=unfloored)
            linear = unfloored[:, chain.columns[group.date_start[1:] - 1]]
        carry = None
        if np.isin(group.extra, CARRIED).any():
            carry = exercise_carry.carry_paths(
                group, chain, lambda moved, log_growth: _exercise_chain(
                    moved, stream, n_paths, group.params[0], log_growth)[:2], n_paths,
                theta=bool(np.isin(group.extra, THETA_CODE).any()),
                prices_of=lambda log_growth: _grown(group, chain, log_growth))
        # C-ordered stacks (np.stack of the F-ordered chains is neither): the exercise
        # kernels then compile for one layout of each argument under Heston
        return ExercisePaths(s, state, np.array([c[0] for c in chains[1:]]),
                             np.array([c[1] for c in chains[1:]]), chain.columns,
                             carry=carry, linear=linear, spot_moves=spot_moves)

    def exercise_controls(self, group, paths, j, controls):
        """Row j across a cash dividend (a chunk with ``linear``): in place of the European
        option, whose mean is not known, the price's control is the discounted unfloored
        price DF(T) Ŝ(T) (:mod:`greeks.models.heston.dropped`; its mean
        :func:`_linear_mean`), and delta, vega and gamma have none (0: no coefficient).  On
        antithetic pairs, whose mean already cancels the part of Ŝ linear in the normals,
        it took the price's SE × 0.81–0.85 (a bermudan and an american put, docs/market.md);
        the same differences of Ŝ as the delta's, vega's and rho's controls (exact means
        too) left their SEs × 1.00–1.01, × 1.02–1.06 and × 1.14 with the coefficients
        fitted on single paths, at best × 0.93–1.0 on pairs: not used, nor for theta (the
        European option's, no mean)."""
        if paths.linear.shape[0] and group.market.cash_rows[j]:
            end = group.date_index[group.date_start[j + 1] - 1]
            controls[0] = group.market.discount[end] * paths.linear[:, j]
            controls[1:4] = 0.0

    zero_volatility = True
    ladder_market = True  # greeks.models.heston.ladder

    def vega_sigma(self, params):
        return math.sqrt(params[0])

    def volatility(self, rows):
        return np.sqrt(rows["v0"].to_numpy(dtype=float))

    def with_volatility(self, rows, shift):
        return rows.assign(v0=shifted_v0(rows["v0"], shift))

    def ladder_paths(self, group, rng, n_paths):
        from greeks.models.heston import ladder

        return ladder.ladder_paths(group, rng, n_paths)

    def ladder_fraction(self, group, seed, paths, logs, vols, threads=None, scheduler="local"):
        from greeks.models.heston import ladder

        return ladder.ladder_fraction(group, seed, paths, logs, vols, threads, scheduler)

    def exercise_vol_step(self, group):
        sigma0 = math.sqrt(group.params[0])
        return min(EXERCISE_VOL_STEP, 0.25 * sigma0) if sigma0 > 0 else 1.0

    def exercise_spot_step(self, group, j):
        """:func:`greeks.models.heston.spot_step.spot_step` of row j's European option (at
        its flat rate and yield; across cash dividends without them)."""
        from greeks.models.heston.spot_step import spot_step

        spec = group.payoff
        return spot_step("call" if spec.omega[j] > 0 else "put", float(group.spot),
                         float(spec.strike[j]), float(group.maturity[j]), *_carry(group, j),
                         *(float(x) for x in group.params))

    def exercise_table(self, group, j, times, dates):
        """The boundaries b_k(v) of the ADI solution solved on ``times[dates]`` (on the grid
        sized by the group's v0; the region does not depend on v0 or the spot, so the vega's
        policies share it) of the put, of the call's symmetric put (b*_k(v)), or of the call
        itself where it has none (κ − ρξ ≤ 0: its b_k as the level K²/b_k, that of a
        symmetric put: :func:`_boundaries`), tabulated as b_k(θu)/K on nodes uniform in √u up
        to the top of v_t's law over ``times`` from the largest of the vega's v0s
        (:func:`greeks.models.heston.exercise_rule.level_table`, ``table_step``): the call
        exercises where S ≥ b_k(v_t), x·y_k(u) ≥ 1 with y_k = K/b_k (0 where never).  Off a
        market the put's or the call's own boundaries on the curves' forwards, with the
        spot's drops at the discrete dividends' ex-dates (:func:`_market_boundaries`): the
        fixed policy's rho is first order in the boundaries' error, its price second."""
        v0, kappa, theta, xi, rho = (float(x) for x in group.params)
        strike = float(group.payoff.strike[j])
        call = bool(group.payoff.omega[j] > 0.0)
        exercise_times = tuple(times[dates])
        if group.market is not None:
            nodes, edges = _market_boundaries(call, group.market.dynamics, strike, v0, kappa,
                                              theta, xi, rho, exercise_times)
        else:
            symmetric = _symmetric(group, j) if call else None
            rate, dividend, *parameters = (symmetric if symmetric is not None
                                           else (float(group.rate), float(group.dividend),
                                                 kappa, theta, xi, rho))
            nodes, edges = _boundaries(strike, rate, dividend, v0, *parameters, exercise_times,
                                       call and symmetric is None)
        step = self._table_step(group, times)
        levels = np.zeros((times.size, TABLE_NODES))
        levels[dates] = level_table(nodes, edges, strike, theta, step)
        return 1.0 / step, levels

    def exercise_table_nodes(self, group, times):
        """1/Δw and the ``TABLE_NODES`` nodes (m Δw)² of :meth:`exercise_table`."""
        step = self._table_step(group, times)
        return 1.0 / step, (step * np.arange(TABLE_NODES)) ** 2

    def _table_step(self, group, times):
        """:func:`greeks.models.heston.exercise_rule.table_step` from the largest of the
        vega's v0s."""
        v0, kappa, theta, xi, _ = (float(x) for x in group.params)
        sigma = math.sqrt(v0)
        top = (sigma + 2.0 * self.exercise_vol_step(group)) ** 2 if sigma > 0 else v0
        return table_step(times, top, kappa, theta, xi)

    def exercise_variance(self, group, j, times, sigma):
        """The conditional mean of the integrated variance from t_i to T given v_{t_i} = θu,
        θ (τ − c) + θ c u, c = (1 − e^{−κτ})/κ, τ = T − t_i (the basis's European value is
        then the Black–Scholes value at that variance: the Fourier price at every pilot path
        and date would cost more than the regression; it only needs to be a good basis
        function).  The state's law does not depend on v0 (``sigma``)."""
        _, kappa, theta, _, _ = (float(x) for x in group.params)
        tau = times[-1] - times
        c = -np.expm1(-kappa * tau) / kappa
        return np.array([theta * (tau - c), theta * c])

    buckets = True

    def bucket_row(self, group, j, frame, market):
        """:class:`greeks.models.heston.buckets.BucketRow`."""
        from greeks.models.heston.buckets import BucketRow

        return BucketRow(group, j, frame, market)

    def bucket_paths(self, group, rng, count, theta=True):
        """:func:`greeks.models.heston.buckets.bucket_paths`."""
        from greeks.models.heston.buckets import bucket_paths

        return bucket_paths(group, rng, count, theta)

    exercise_buckets = True

    def exercise_bucket_rows(self, group, frame, market):
        """:class:`greeks.models.heston.exercise_buckets.ExerciseBucketRow` of each row, on
        the group's moved markets of its cash dividends
        (:func:`greeks.exercise_moves.cash_moves`)."""
        from greeks.exercise_moves import cash_moves
        from greeks.models.heston.exercise_buckets import ExerciseBucketRow

        moves = cash_moves(group)
        return [ExerciseBucketRow(group, j, frame, market, moves) for j in range(group.n_rows)]

    def exercise_bucket_samples(self, group, rows, stream, count):
        """:func:`greeks.models.heston.exercise_buckets.bucket_samples`."""
        from greeks.models.heston.exercise_buckets import bucket_samples

        return bucket_samples(group, rows, stream, count)

    def proxy_vol(self, group, j, dynamics):
        """Flat at the vol of the expected average variance to row j's expiry,
        θ + (v0 − θ)(1 − e^{−κT})/(κT)."""
        from greeks.market.volatility import VolCurve

        maturity = float(group.maturity[j])
        v0, kappa, theta, _, _ = group.params
        mean = theta + (v0 - theta) * -math.expm1(-kappa * maturity) / (kappa * maturity)
        return VolCurve.flat(math.sqrt(max(mean, 1e-8)))

    def hedges_exercise(self, group, paths):
        """On chains whose discounted price is an exact martingale (the group's
        ``martingale``), with flat rates."""
        return group.martingale and group.market is None

    def exercise_hedges(self, group, paths, j, stops):
        """The European hedge stopped at each exercise date
        (:func:`greeks.exercise_hedge.hedge_controls`)."""
        from greeks.exercise import row_dates
        from greeks.exercise_hedge import (
            HEDGE_EVERY,
            NORMAL_TABLE,
            hedge_controls,
            hedge_weights,
        )

        v0, kappa, theta, _, _ = group.params
        spec = group.payoff
        columns, times, _ = row_dates(group, paths.columns, j)
        sigma, k = math.sqrt(v0), self.exercise_vol_step(group)
        v0s = np.array([v0] + [(sigma + d) ** 2 for d in (k, -k, 2 * k, -2 * k)]
                       if sigma > 0 else [v0] * 5)
        out = np.empty((4, paths.s.shape[0]))
        hedge_controls(paths.s, paths.state, paths.vol_s, paths.vol_state, columns, stops, spec,
                       j, group.spot, self.exercise_spot_step(group, j), k, v0s, theta,
                       hedge_weights(times, float(spec.strike[j]), float(group.rate),
                                     float(group.dividend), kappa, theta), HEDGE_EVERY,
                       NORMAL_TABLE, out)
        return out

    def upper_bound(self, row, times, *, paths, seed, american, richardson, market=None):
        """:func:`greeks.models.heston.duality.upper_bound` of a put, and of the put a call
        equals by put–call symmetry (spot and strike, rate and yield swapped, κ*, θ*, −ρ:
        :func:`greeks.models.heston.exercise_rule.symmetric_parameters`);
        off a market on the zero-carry chain times the growth, the hedge's value function at
        the flat rate and yield to expiry (:func:`greeks.models.heston.duality.market_carry`,
        a call's with the curves swapped); with a cash dividend on or before expiry the cash
        paid on the chain and the value function's spot drops at every dividend
        (:func:`_market_drops`).  A call across a cash dividend, or without a symmetric put
        (κ* ≤ 0), is bounded itself (its own ADI solution)."""
        from greeks.models.heston.duality import market_carry, upper_bound

        maturity, strike = float(row["maturity"]), float(row["strike"])
        call = row["option_type"] == "call"
        drops = ()
        if market is None:
            spot, rate, dividend = (float(row[name]) for name in ("spot", "rate", "dividend"))
        else:
            dynamics = market.dynamics
            spot = float(dynamics.spot)
            if dynamics.cash_dividends(maturity):
                drops = _market_drops(dynamics, maturity)
            rate, dividend = _flat_carry(dynamics, maturity, bool(drops))
        v0, kappa, theta, xi, rho = (float(row[name]) for name in PARAMETERS)
        moved = symmetric_parameters(rate, dividend, kappa, theta, xi, rho) if call else None
        symmetric = moved is not None and not drops
        if symmetric:
            rate, dividend, kappa, theta, xi, rho = moved
            spot, strike = strike, spot
        return upper_bound(spot, strike, maturity, rate, dividend,
                           (v0, kappa, theta, xi, rho), times, paths=paths, seed=seed,
                           american=american, richardson=richardson,
                           carry=None if market is None else market_carry(dynamics, symmetric),
                           drops=drops, call=call and not symmetric)

    def exercise_carry_means(self, group, means, sigma):
        """:func:`greeks.models.heston.exercise_carry.carry_means` of the characteristic
        function's price and rho, ω K T e^{−rT} P(ω S_T > ω K) (the cash digital's price
        times ω K T)."""
        spec = group.payoff

        def kind(j):
            return "call" if spec.omega[j] > 0 else "put"

        def price(j, maturity, rate, dividend):
            return heston_greeks(kind(j), group.spot, spec.strike[j], maturity, rate,
                                 sigma * sigma, *group.params[1:], dividend).price

        def rho(j, rate, dividend):
            maturity = float(group.maturity[j])
            return spec.omega[j] * spec.strike[j] * maturity * heston_digital(
                kind(j), group.spot, spec.strike[j], maturity, rate, sigma * sigma,
                *group.params[1:], dividend).price
        means = exercise_carry.carry_means(group, price, rho)
        means[_across_cash(group)] = math.nan
        return means

    def european_price(self, group, j, spot, sigma):
        """By the characteristic function; off a market with the integrated rate and yield
        (the variance does not depend on them).  For a row across a cash dividend, which no
        closed form covers, the mean of the linear control in its place
        (:meth:`exercise_controls`, :func:`_linear_mean`)."""
        if _across_cash(group)[j]:
            return _linear_mean(group, j, spot)
        spec = group.payoff
        rate, dividend = _carry(group, j)
        return heston_greeks("call" if spec.omega[j] > 0 else "put", spot, spec.strike[j],
                             group.maturity[j], rate, sigma * sigma, *group.params[1:],
                             dividend).price


def _exercise_chain(group, stream, n_paths: int, v0: float, log_growth=0.0):
    """(prices, state u = v_t/θ, the chain) of the chain from v0 on the group's grid
    (:meth:`Heston.exercise_paths`), its prices times e^{log_growth} per stored date; off a
    market the zero-carry chain times the growth, with cash dividends through their drops,
    the growth times e^{log_growth} (:func:`_dropped`)."""
    chain = group_paths(group, np.random.Generator(np.random.PCG64(stream)), n_paths, v0,
                        states=True)
    return _grown(group, chain, log_growth), chain.states / group.params[2], chain


def _grown(group, chain, log_growth=0.0) -> np.ndarray:
    """The prices of ``chain`` (:func:`_exercise_chain`) with the growth times e^{log_growth}
    per stored date: off a market the zero-carry chain times the growth, through the cash
    drops where there are any."""
    if _paying(group):
        return _dropped(group, chain.s, group.spot, log_growth)
    growth = np.exp(log_growth)
    if group.market is not None:
        growth = growth * group.market.growth[stored_dates(group)]
    return chain.s * growth


def _linear_mean(group, j: int, spot: float) -> float:
    """The mean of row j's price control DF(T) Ŝ(T) from ``spot`` (a row across a cash
    dividend, :meth:`Heston.exercise_controls`), DF(T) G(T) (S0 − Σ_{τ_i ≤ T} D_i/G(τ_i)):
    exact on a chain whose S̃ is an exact martingale (:mod:`greeks.models.heston.dropped`);
    NaN on another (no control, as for the linear payoff elsewhere)."""
    if not group.martingale:
        return math.nan
    market = group.market
    end = group.date_index[group.date_start[j + 1] - 1]
    paid = np.divide(market.cash[:end + 1], market.growth[:end + 1],
                     out=np.zeros(end + 1), where=market.cash[:end + 1] > 0.0)
    return float(market.discount[end] * market.growth[end]) * (spot - float(paid.sum()))


def _across_cash(group) -> np.ndarray:
    """Per row, whether a cash dividend is paid on or before its expiry (off a market)."""
    if group.market is None:
        return np.zeros(group.n_rows, dtype=bool)
    dynamics = group.market.dynamics
    return np.array([bool(dynamics.cash_dividends(float(t))) for t in group.maturity])


def _paying(group) -> bool:
    """Whether the group is off a market with a cash dividend on its grid."""
    return group.market is not None and bool(group.market.cash.any())


def _dropped(group, chain: np.ndarray, spot: float, log_growth=0.0,
             unfloored: np.ndarray | None = None, cash: np.ndarray | None = None) -> np.ndarray:
    """The prices from ``spot`` of the zero-carry chain ``chain`` (its S̃ from the group's
    spot, paths × stored dates) on the same numbers, with the growth (times e^{log_growth}
    per stored date) and the cash drops on the stored dates (every ex-date among them:
    :func:`stored_dates`; :func:`greeks.models.heston.dropped.with_dividends`): S̃'s
    log-returns do not depend on the start, so S̃ · spot/S0 is the chain from ``spot``;
    the unfloored prices Ŝ into ``unfloored`` where given; ``cash``: the amounts paid on
    the grid in place of the market's (a moved dividend's, on the same stored dates)."""
    stored = stored_dates(group)
    s = chain * (spot / group.spot)
    growth = group.market.growth[stored]
    if np.ndim(log_growth):
        growth = growth * np.exp(log_growth)
    paid = group.market.cash if cash is None else cash
    with_dividends(s, growth, paid[stored], spot,
                   np.empty_like(s) if unfloored is None else unfloored)
    return s


def _carry(group, j) -> tuple[float, float]:
    """Row j's (rate, dividend yield): the group's, or off a market :func:`_flat_carry`."""
    if group.market is None:
        return float(group.rate), float(group.dividend)
    return _flat_carry(group.market.dynamics, float(group.maturity[j]))


def _flat_carry(dynamics, maturity: float, dropped: bool = False) -> tuple[float, float]:
    """The flat (rate, dividend yield) to ``maturity`` with the same DF(T) and G(T)
    (``dropped``: G(T) without the proportional dividends, which :func:`_market_drops`
    applies at their ex-dates)."""
    rate, dividend, _ = dynamics.equivalent(maturity)
    if dropped:
        dividend += sum(math.log1p(-d.value) for d in dynamics.dividends
                        if d.proportional and d.time <= maturity) / maturity
    return rate, dividend


def _market_drops(dynamics, maturity: float) -> tuple:
    """The discrete dividends of ``dynamics`` up to ``maturity`` as the spot's drops
    (ex-date, cash, ratio)."""
    return tuple((float(d.time), 0.0, 1.0 - float(d.value)) if d.proportional
                 else (float(d.time), float(d.value), 1.0)
                 for d in dynamics.dividends if d.time <= maturity)


def _symmetric(group, j):
    """The symmetric put's (rate, dividend, κ*, θ*, ξ, ρ*) of row j, a call, or None
    (:func:`greeks.models.heston.exercise_rule.symmetric_parameters`)."""
    _, kappa, theta, xi, rho = (float(x) for x in group.params)
    return symmetric_parameters(*_carry(group, j), kappa, theta, xi, rho)


@functools.lru_cache(maxsize=16)
def _boundaries(strike, rate, dividend, v0, kappa, theta, xi, rho, times, call=False):
    """(variance nodes, b_k(v) with a row of zeros for the maturity) of the Bermudan put on
    ``times`` (:func:`greeks.models.heston.american.heston_exercise_boundaries`, on
    ``BOUNDARY_S_STEPS`` intervals in S), or (``call``) the Bermudan call's b_k as K²/b_k
    (:func:`_levels`); kept for the policies at the vega's moved σ0, which share them."""
    nodes, edges = heston_exercise_boundaries(strike, times[-1], rate, dividend, v0, kappa,
                                              theta, xi, rho, np.array(times),
                                              s_steps=BOUNDARY_S_STEPS,
                                              option_type="call" if call else "put")
    return _levels(nodes, edges, strike, call)


@functools.lru_cache(maxsize=16)
def _market_boundaries(call, dynamics, strike, v0, kappa, theta, xi, rho, times):
    """:func:`_boundaries` off a market: the Bermudan put's or call's own on the curves of
    ``dynamics`` with its discrete dividends (:func:`greeks.models.heston.american_market.
    heston_exercise_boundaries_market`, on ``BOUNDARY_S_STEPS`` intervals in S)."""
    from greeks.models.heston.american_market import heston_exercise_boundaries_market

    nodes, edges = heston_exercise_boundaries_market(
        "call" if call else "put", dynamics, strike, times[-1], v0, kappa, theta, xi, rho,
        np.array(times), s_steps=BOUNDARY_S_STEPS)
    return _levels(nodes, edges, strike, call)


def _levels(nodes, edges, strike, call):
    """(variance nodes, the put's b_k(v) or a call's K²/b_k (0 where it never exercises:
    b = ∞), the level of a put that exercises where K ≤ S·(K²/b_k)/K, i.e. S ≥ b_k, with a
    row of zeros for the maturity), read-only."""
    if call:
        edges = strike * strike / edges
    edges = np.vstack([edges, np.zeros(nodes.size)])
    nodes.setflags(write=False)
    edges.setflags(write=False)
    return nodes, edges


def _conditional_on_chains(group, j: int, chains, col: int) -> list:
    """Row j's conditional values C (:func:`greeks.estimators.conditional_prices`) on the
    base chain, at S0(1 ± h) and S0(1 ± 2h) on the same paths, and on the σ0 ± h and
    σ0 ± 2h chains: the values whose differences the finite-difference family takes for
    Heston european and digital rows (C is smooth in S0 and, on common random numbers,
    in σ0 but where QE switches regime)."""
    spec = group.payoff
    digital = spec.kind[j] == payoffs.DIGITAL
    cash = spec.discount[j] * (spec.payout[j] if digital else 1.0)
    spot, h = group.spot, pathwise.SPOT_BUMP
    points = [(chains[0], spot * (1.0 + k * h)) for k in (0, 1, -1, 2, -2)]
    out = []
    for chain, at_spot in points + [(chain, spot) for chain in chains[1:]]:
        values = np.empty(chain.s.shape[0])
        estimators.conditional_prices(chain.s, chain.residual, chain.variance, col, spot,
                                      at_spot, digital, spec.omega[j], spec.strike[j], cash,
                                      values)
        out.append(values)
    return out


ADAPTER = Heston()
