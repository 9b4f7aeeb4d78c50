"""Theta of american and bermudan rows under Heston, under their fixed exercise policy
(:mod:`greeks.exercise`): what the stopping kernel reads for it
(:func:`greeks.payoffs.exercise_values`) and the exact mean of its European control; and
why their rho is not estimated.

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
q_0 the first forwards) and reshaped into the curves a day later (I + ε g_r, J + ε g_q),
whose derivative is the one-day change over δ to first order.  NaN where the market a day
later does not exist (a node or ex-date within a day).

Rho is not estimated (NaN): the fixed policy's likelihood ratio, Y (R(τ) − τ) with R the
score of a parallel rate shift on the stored dates' Gaussian log-price increments given the
variance path, differentiates V_π at the policy fixed, while the optimal boundary moves with
r; at the optimal policy that is the envelope argument's second-order term, but the Heston
rule (the ADI boundary b_i(v) applied at the step's average variance) is not exactly optimal
for the chain, and the gap is first order in the rule's error times the boundary's motion.
Measured on the Clarke–Parrott put at S0 = 9 (40,000 paths, two seeds): −1.016 ± 0.005 and
−1.019 ± 0.007 against the ADI solution's −0.978 (the European control's rho within 1 SE of
its closed form, S0 = 10, 11, 12 within 1.3 SE).  A rho free of it needs the policy's own
change with r: tried as the term (Y_{π(r+h)} − Y_{π(r−h)})/(2h) on the same paths, policies
solved at r ± 0.01 (+0.032 there, which closes the gap), its per-path spread was 20 against
the likelihood ratio's 1.2 (the paths whose exercise date the two policies disagree on): a
rho 17 times noisier, not kept.  A rule closer to the chain's optimal policy would shrink
the term itself.  Theta has no such term: the
exercise dates stay fixed in calendar time, so the problem from the first date on, and its
policy, do not change as the valuation time moves.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from greeks.market.factors import DAY, shifted
from greeks.models.base import CarryPaths
from greeks.models.heston.closer import closer_times

TIME_STEP = 0.02  # E of theta's backward difference (years), at most a twentieth of a maturity


def time_step(group) -> float:
    """E: ``TIME_STEP``, at most a twentieth of the group's shortest maturity."""
    return min(TIME_STEP, 0.05 * float(np.min(group.maturity)))


def _reshaping(group, times: np.ndarray):
    """(r_0, q_0, g_r, g_q at ``times``): the group's first forwards (its flat rate and yield
    without a market) and the one-day reshaping of its curves (:mod:`greeks.models.gbm.
    exercise_carry`; zeros without a market); None where the market a day later does not
    exist."""
    if group.market is None:
        return float(group.rate), float(group.dividend), np.zeros(times.size), np.zeros(
            times.size)
    dynamics = group.market.dynamics
    later = shifted(dynamics)
    if later is None:
        return None

    def change(today, tomorrow):
        return (tomorrow.integral(times) - (today.integral(times + DAY)
                                            - today.integral(DAY))) / DAY

    return (float(dynamics.rate.forwards()[0]), float(dynamics.dividend_yield.forwards()[0]),
            change(dynamics.rate, later.rate),
            change(dynamics.dividend_yield, later.dividend_yield))


def carry_paths(group, chain_of, n_paths: int, theta: bool = True) -> CarryPaths:
    """A chunk's :class:`CarryPaths` (on the stored dates; ``n_paths`` paths): no rate score
    (NaN: rho is not estimated), and with ``theta`` the chains from −2E and −E,
    ``chain_of(group, log_growth)`` giving (prices, states) of the chain on ``group``'s grid
    with its prices times e^{log_growth} per stored date (off a market the zero-carry
    chain's growth moves with the curves; a flat chain carries r − q itself); without, NaN."""
    stored = np.unique(group.date_index)
    step = time_step(group)
    score = np.full((n_paths, stored.size), np.nan)
    terms = np.array([1.5 / step, 0.0, 0.0, 2.0 * step, -0.5 * step])
    reshaping = _reshaping(group, group.times) if theta else None
    if reshaping is None:
        nan = np.full((2,) + score.shape, np.nan)
        return CarryPaths(score, nan, nan, np.full((2, group.times.size), np.nan), terms)
    rate, dividend, g_r, g_q = reshaping
    growth = ((g_r - g_q)[stored] - (rate - dividend) if group.market is not None
              else np.zeros(stored.size))
    moves = (-2.0 * step, -step)
    moved = [chain_of(replace(group, times=closer_times(group.times, e)), e * growth)
             for e in moves]
    return CarryPaths(score, np.array([m[0] for m in moved]), np.array([m[1] for m in moved]),
                      np.stack([e * (rate - g_r) for e in moves]), terms)


def carry_means(group, price) -> np.ndarray:
    """(rows, 2): the exact mean of the European theta control, the backward difference of
    the closed form ``price(j, maturity, rate, dividend)`` (flat rates with the curves' DF
    and growth to the maturity: the variance does not depend on them) along the estimator's
    family, the valuation time at 0, −E, −2E with the curves rolled and reshaped (NaN where
    the market a day later does not exist); NaN for rho (no estimator)."""
    step = time_step(group)
    out = np.empty((group.n_rows, 2))
    for j in range(group.n_rows):
        maturity = float(group.maturity[j])
        if group.market is None:
            rate, dividend = float(group.rate), float(group.dividend)
        else:
            rate, dividend, _ = group.market.dynamics.equivalent(maturity)
        out[j, 1] = math.nan
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
