"""Theta and rho of american and bermudan rows under Heston, under their fixed exercise
policy (:mod:`greeks.exercise`): what the stopping kernel reads for them
(:func:`greeks.payoffs.exercise_values`) and the exact means of their European controls.

Theta.  Before its first exercise date the fixed policy's value V_π(t, S, v) is the
discounted expectation of its value there, a solution of the model's equation in (t, S, v)
smooth in t; the model is time-homogeneous, so the valuation time moved to −ε with every
date kept in calendar time is the same chain on the grid ``closer_times(times, −ε)``: the
first step lengthened by ε, every later step as it was, each step reading the same random
numbers (:mod:`greeks.models.heston.closer`).  Theta is the second-order backward difference

    theta = (3 Y(0) − 4 Y(−E) + Y(−2E)) / (2E),   E = min(``TIME_STEP``, maturity/20),

of the policy's discounted payoff on the chains from 0, −E and −2E (their own variance
states read by the policy, an exercise on t_i paid at DF(t_i) e^{−rε}), each extrapolated
over the two exercise grids as the price is; its bias is E²/3 ∂³V/∂t³ (on the ADI solution of
the Clarke–Parrott ATM put, E = 0.0125: −1.16312 against −1.16357, 0.04 %).  Backward,
because the first step may be as short as a day (the first exercise date of an american
row): a central difference would need E below half of it, and the paths whose exercise
date a move of the chain changes make the difference's variance grow like E^{−3/2} (on the
Clarke–Parrott ATM put the per-path spread was 35 at a central half day, 17 backward at
E = 0.02, without the extrapolation).  The European
option's same difference is the control.  Off a market the family is the one of the GBM
theta (:mod:`greeks.models.gbm.exercise_carry`): the curves rolled with the valuation date
(the growth to t_c becomes G(t_c) e^{−(r_0 − q_0)ε}, the discount DF(t_c) e^{r_0 ε}, r_0 and
q_0 the first forwards) and reshaped into the curves a day later (I + ε g_r, J + ε g_q, g
read at each date's horizon from tomorrow, t − δ), whose derivative is the one-day change
over δ to first order.  NaN where the market a day
later does not exist (a node or ex-date within a day).  Across a cash dividend the moved
chains go through the same drops on the same stored ex-dates (every date and ex-date kept
in calendar time, the growth rolled as above; :mod:`greeks.models.heston.dropped`).

Rho: the likelihood ratio of a parallel shift ε of the rates, Y (R(τ) − τ), R(t) = Σ_{c ≤ t}
ΔR_c Δt_c/ΔV_c the score on the stored dates' log-price increments given the variance path
(Gaussian, of variance ΔV_c, their mean moved by ε Δt_c; off a market the zero rates' shift
moves the growth by e^{ε t} and the discount by e^{−ε t} alike), stopped at the exercise date τ
(optional stopping: Y is known there) (:func:`rate_score`); an american row's 2 Y R(τ) − Y'
R(τ') over its two grids (NaN under a chain whose variance stays at zero over an interval:
:func:`rate_score`).  Across a cash dividend the score is the same sum over every stored
date, ex-dates included: a drop S ↦ max(S − D, 0) is a fixed map between two increments,
and the shift moves each increment's mean by ε Δt_c and the discount by −ε t alike.  The
European option's same estimator is the control, its mean ω K T e^{−rT} P(ω S_T > ω K) by
the characteristic function (none across a cash dividend, which no closed form covers: such
rows' theta and rho go without control).  The estimator differentiates V_π with
the policy fixed while the optimal boundary moves with r; the gap is first order in the policy's
distance from the chain's own optimal policy (the envelope argument holds only at that optimum,
:mod:`greeks.exercise`), so the rule is read where the chain is: at the variance v_t on the date
(the state u = v_t/θ), the ADI boundary tabulated (:mod:`greeks.models.heston.exercise_rule`)
and solved on a finer S grid than the pricer's (``BOUNDARY_S_STEPS``).  Measured on the
Clarke–Parrott american put at S0 = 9 (the same paths per seed): the former rule, a quadratic
fit in the step's average variance, gave rhos 0.03 below the ADI solution's −0.978 (z −8.0 and
−6.4 at 40,000 paths); the table alone moved them by +0.002 … +0.004, then reading v_t instead
of the average by +0.021 … +0.025, the finer S grid by +0.0018 (100,000 paths); what is left is
−0.0025 (−0.8 SE at 100,000 paths, mean over nine seeds), some of it the chain's daily steps
(with the default S grid, 504 and 1008 steps a year left −0.0021 and −0.0032 against −0.0044).
The policy's own change with r, the term (Y_{π(r+h)} − Y_{π(r−h)})/(2h) on the same paths,
closed the former gap but was 17 times noisier (the paths the two policies disagree on): not
kept.  docs/american.md has the measurements.  Theta has no such term: the exercise dates stay
fixed in calendar time, so the problem from the first date on, and its policy, do not change as
the valuation time moves.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from greeks.market.factors import DAY, shifted
from greeks.models.base import CarryPaths
from greeks.models.heston.closer import closer_times
from greeks.models.heston.qe import PSI_CRITICAL
from greeks.models.heston.schema import EULER, QE

TIME_STEP = 0.02  # E of theta's backward difference (years), at most a twentieth of a maturity


def time_step(group) -> float:
    """E: ``TIME_STEP``, at most a twentieth of the group's shortest maturity."""
    return min(TIME_STEP, 0.05 * float(np.min(group.maturity)))


def _reshaping(group, times: np.ndarray):
    """(r_0, q_0, g_r, g_q that the dates ``times`` see): the group's first forwards (its
    flat rate and yield without a market) and the one-day reshaping of its curves at t − δ
    (at least 0), a date's horizon a day later (:mod:`greeks.models.gbm.exercise_carry`;
    zeros without a market); None where the market a day later does not exist."""
    if group.market is None:
        return float(group.rate), float(group.dividend), np.zeros(times.size), np.zeros(
            times.size)
    dynamics = group.market.dynamics
    later = shifted(dynamics)
    if later is None:
        return None
    times = np.maximum(np.asarray(times, dtype=float) - DAY, 0.0)

    def change(today, tomorrow):
        return (tomorrow.integral(times) - (today.integral(times + DAY)
                                            - today.integral(DAY))) / DAY

    return (float(dynamics.rate.forwards()[0]), float(dynamics.dividend_yield.forwards()[0]),
            change(dynamics.rate, later.rate),
            change(dynamics.dividend_yield, later.dividend_yield))


def rate_score(group, chain) -> np.ndarray:
    """(paths × stored dates) R(t) − t of the base ``chain`` (its R and V on the stored
    dates): R(t_c) = Σ_{d ≤ c} ΔR_d Δt_d/ΔV_d, the score of a parallel shift of the rates on
    the stored dates' log-price increments given the variance path (Gaussian, of variance
    ΔV_d, their mean moved by Δt_d), −t the discount's; NaN from an interval with ΔV_d = 0 on
    (a full-truncation Euler path at zero variance: its log-price step is deterministic, with
    no score).  Off a market with cash dividends the stored dates hold the ex-dates too and
    the prices go through the drops (:mod:`greeks.models.heston.dropped`), fixed maps of
    these increments' sums: the score is the same."""
    stored = group.times[chain.grid_columns >= 0]
    steps = np.diff(stored, prepend=0.0)
    increments = np.diff(chain.residual, axis=1, prepend=0.0)
    variances = np.diff(chain.variance, axis=1, prepend=0.0)
    weights = np.full(variances.shape, np.nan)
    np.divide(increments * steps, variances, out=weights, where=variances > 0.0)
    return np.cumsum(weights, axis=1) - stored


def zero_steps(group) -> bool:
    """Whether the group's chain can stay at zero variance over a whole step (full-truncation
    Euler; QE where its exponential regime holds at v = 0, ξ²/(2κθ) > ψ_c), where a log-price
    step has no score: its rho goes pathwise (:func:`carry_paths`)."""
    _, kappa, theta, xi, _ = (float(x) for x in group.params)
    return group.scheme == EULER or (group.scheme == QE
                                     and xi * xi > 2.0 * PSI_CRITICAL * kappa * theta)


def carry_paths(group, chain, chain_of, n_paths: int, theta: bool = True,
                prices_of=None) -> CarryPaths:
    """A chunk's :class:`CarryPaths` (on the stored dates; ``n_paths`` paths): the rate score
    of the base ``chain`` (:func:`rate_score`), and with ``theta`` the chains from −2E and
    −E, ``chain_of(group, log_growth)`` giving (prices, states) of the chain on ``group``'s
    grid with its prices times e^{log_growth} per stored date (off a market the zero-carry
    chain's growth moves with the curves; a flat chain carries r − q itself); without, NaN.
    Where the chain has steps at zero variance (:func:`zero_steps`), whose log-price step
    has no score, rho goes pathwise with the stopping time held fixed instead
    (:class:`greeks.models.base.CarryPaths`): ∂S(t)/∂ε of the base prices
    ``prices_of(log_growth)``, a central difference in ε (S is piecewise linear in the growth
    e^{εt}: exact where no drop floors it), the rate score replaced by the stored times."""
    stored = np.flatnonzero(chain.grid_columns >= 0)  # the rows' dates and cash ex-dates
    step = time_step(group)
    slope = None
    if zero_steps(group):
        times = group.times[stored]
        h = 1e-4
        slope = (prices_of(h * times) - prices_of(-h * times)) / (2.0 * h)
        score = np.ascontiguousarray(times)
    else:
        score = rate_score(group, chain)
    terms = np.array([1.5 / step, 0.0, 0.0, 2.0 * step, -0.5 * step])
    reshaping = _reshaping(group, group.times) if theta else None
    if reshaping is None:
        shape = (2,) + (score.shape if slope is None else slope.shape)
        nan = np.full(shape, np.nan)
        return CarryPaths(score, nan, nan, np.full((2, group.times.size), np.nan), terms, slope)
    rate, dividend, g_r, g_q = reshaping
    growth = ((g_r - g_q)[stored] - (rate - dividend) if group.market is not None
              else np.zeros(stored.size))
    moves = (-2.0 * step, -step)
    moved = [chain_of(replace(group, times=closer_times(group.times, e)), e * growth)
             for e in moves]
    return CarryPaths(score, np.array([m[0] for m in moved]), np.array([m[1] for m in moved]),
                      np.stack([e * (rate - g_r) for e in moves]), terms, slope)


def carry_means(group, price, rho) -> np.ndarray:
    """(rows, 2): the exact mean of the European theta control, the backward difference of
    the closed form ``price(j, maturity, rate, dividend)`` (flat rates with the curves' DF
    and growth to the maturity: the variance does not depend on them) along the estimator's
    family, the valuation time at 0, −E, −2E with the curves rolled and reshaped (NaN where
    the market a day later does not exist); for rho ``rho(j, rate, dividend)``, the
    European option's ∂V/∂r at the flat rate and yield (a parallel shift of the zero rates
    moves the flat rate to the maturity by as much)."""
    step = time_step(group)
    out = np.empty((group.n_rows, 2))
    for j in range(group.n_rows):
        maturity = float(group.maturity[j])
        if group.market is None:
            rate, dividend = float(group.rate), float(group.dividend)
        else:
            rate, dividend, _ = group.market.dynamics.equivalent(maturity)
        out[j, 1] = rho(j, rate, dividend)
        reshaping = _reshaping(group, np.array([maturity]))
        if reshaping is None:
            out[j, 0] = math.nan
            continue
        r0, q0, g_r, g_q = reshaping
        moved = []
        for e in (0.0, -step, -2.0 * step):
            left = maturity - e
            moved_rate = (rate * maturity - e * (r0 - g_r[0])) / left
            log_growth = (rate - dividend) * maturity + e * ((g_r - g_q)[0] - (r0 - q0))
            moved.append(price(j, left, moved_rate, moved_rate - log_growth / left))
        out[j, 0] = (3.0 * moved[0] - 4.0 * moved[1] + moved[2]) / (2.0 * step)
    return out
