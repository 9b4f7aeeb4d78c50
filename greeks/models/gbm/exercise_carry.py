"""Theta and rho of american and bermudan rows under GBM, under their fixed exercise policy
(:mod:`greeks.exercise`): the terms the stopping kernels read
(:func:`greeks.payoffs.exercise_values_solved`, :func:`greeks.payoffs.exercise_values`) and
the exact means of the European controls.

Theta.  Before the first exercise date the fixed policy's value V_π(t, S) is the discounted
expectation of its value there, so it solves the Black–Scholes equation whatever the
policy; at t = 0

    ∂V_π/∂t = r V − (r − q) S0 Δ − ½ σ² S0² Γ,

r, q, σ² the instantaneous forwards (:func:`carry_terms`).  Under a flat market that is
the theta.  Off a market theta is the value's change when the valuation date moves one
calendar day with every node date, zero rate, yield and vol kept
(:mod:`greeks.market.factors`): the curves seen a day later, I⁺ (rate), J⁺ (yield), w⁺
(total variance), are not today's rolled forward, I(t + δ) − I(δ) (δ = 1/365), unless the
curves are flat.  To first order in δ the one-day change is δ times the equation's ∂V_π/∂t
(today's curves rolled) plus the change from reshaping the rolled curves into the later
ones, I⁺(s) = I(s + δ) − I(δ) + δ g_r(s) (g_q, g_w likewise: each 0 up to the first node
less a day, then piecewise linear; :func:`_reshaping`).  A date t from today is s = t − δ
from tomorrow, so the rate integrated to it becomes I(t) − I(δ) + δ g_r(t − δ): the
reshaping it sees is g at t − δ (read at t instead, an expiry 11 days after a vol node
where the vol rose from 10 % to 28 % had its theta 18 % too large).  Its derivative is the
central difference (V(+E) − V(−E))/(2E) of the policy's value on the curves I + ε g_r,
J + ε g_q, w + ε g_w so read, on the same random numbers (the paths rescaled step by step,
the policy's decisions unchanged, the payoff discounted on the moved curve),
E = ``RESHAPE_STEP`` (less where a step's variance would halve).  V is smooth in ε, so its
bias is O(E² g²), and the paths whose exercise date the move changes are few (g is of the
order of the curves' slopes).  A likelihood ratio on the daily steps' variances would have
½ Σ (Z_k² − 1) per node segment in its weight, several times the noise of the rest of
theta.  It is 0 under flat curves.  A market whose node or ex-date lies within a day has no
such theta (NaN), as for the buckets.

Rho: the likelihood ratio of a parallel shift ε of the zero rates, I(t) → I(t) + ε t, which
moves every step's mean by ε Δt_k and the discount by e^{−ε t}: Y (R(τ) − τ), R the sum of
ΔW_k Δt_k/v_k to the exercise date τ (ΔW_k the increment of the variance-clock Brownian
motion over a step of variance v_k; W_τ/σ under a flat market; optional stopping: Y is
known at τ).  Why the policy may stay fixed for both: :mod:`greeks.exercise` (the envelope
argument).
"""

from __future__ import annotations

import math

import numpy as np

from greeks.market.factors import DAY, shifted
from greeks.models.base import CarryPaths
from greeks.models.gbm.analytic import black_scholes, black_scholes_rho

RESHAPE_STEP = 0.02  # E of the reshaping's central difference (years of curve change)


def carry_terms(group) -> np.ndarray:
    """(r, r − q, ½ σ² S0²) of the Black–Scholes equation at t = 0: the group's flat rate,
    yield and vol, or off a market the instantaneous ones, the curves' forwards on their
    first interval (0, t_1]: σ² the first node's vol squared, w being linear from (0, 0) to
    (t_1, σ_1² t_1) (not the grid's first step's mean variance: a bermudan's grid is its
    dates, and its first step may span vol nodes)."""
    spot = group.spot
    if group.market is None:
        sigma = group.params[0]
        return np.array([group.rate, group.rate - group.dividend,
                         0.5 * sigma * sigma * spot * spot])
    dynamics = group.market.dynamics
    rate = float(dynamics.rate.forwards()[0])
    carry = rate - float(dynamics.dividend_yield.forwards()[0])
    variance = dynamics.vol.vols[0] ** 2
    return np.array([rate, carry, 0.5 * variance * spot * spot])


def _reshaping(dynamics, times: np.ndarray):
    """(g_r, g_q, g_w) that the dates ``times`` see: the one-day-later curves less today's
    rolled, over δ, at t − δ (at least 0), a date's horizon a day later; None where the
    market a day later does not exist (:func:`greeks.market.factors.shifted`)."""
    later = shifted(dynamics)
    if later is None:
        return None
    times = np.maximum(np.asarray(times, dtype=float) - DAY, 0.0)

    def rolled(curve, t):
        return (curve(t + DAY) - curve(DAY)) / DAY

    g_r = later.rate.integral(times) / DAY - rolled(dynamics.rate.integral, times)
    g_q = (later.dividend_yield.integral(times) / DAY
           - rolled(dynamics.dividend_yield.integral, times))
    g_w = later.vol.total_variance(times) / DAY - rolled(dynamics.vol.total_variance, times)
    return g_r, g_q, g_w


def reshape_step(group) -> float:
    """E: ``RESHAPE_STEP``, less where a grid step's variance would change by half (NaN:
    no reshaping, :func:`_reshaping`)."""
    reshaping = _reshaping(group.market.dynamics, group.times)
    if reshaping is None:
        return math.nan
    moved = np.abs(np.diff(reshaping[2], prepend=0.0))
    variance = np.diff(group.market.clock, prepend=0.0)
    return min(RESHAPE_STEP, 0.5 * float(np.min(variance / np.maximum(moved, 1e-300))))


def carry_paths(group, w: np.ndarray, paths) -> CarryPaths:
    """A chunk's :class:`CarryPaths` from its variance-clock Brownian paths ``w``
    (:func:`greeks.models.gbm.dated.simulate_dated`); ``paths(clock, log_growth)`` the
    prices on the same random numbers under another clock and growth."""
    times, clock = group.times, group.market.clock
    variance = np.diff(clock, prepend=0.0)
    increment = np.diff(w, axis=1, prepend=0.0)
    rate_score = np.cumsum(increment * (np.diff(times, prepend=0.0) / variance), axis=1) - times
    step = reshape_step(group)
    terms = np.append(carry_terms(group), [2.0 * step, -2.0 * step])
    states = np.empty((2, w.shape[0], 0))  # the policy reads none
    if math.isnan(step):
        nan = np.full((2,) + w.shape, np.nan)
        return CarryPaths(rate_score, nan, states, np.full((2, times.size), np.nan), terms)
    g_r, g_q, g_w = _reshaping(group.market.dynamics, times)
    log_growth = group.market.log_growth()
    reshaped = np.stack([paths(clock + e * g_w, log_growth + e * np.diff(g_r - g_q, prepend=0.0))
                         for e in (step, -step)])
    return CarryPaths(rate_score, reshaped, states, np.stack([-step * g_r, step * g_r]), terms)


def carry_means(group, means: np.ndarray, sigma: float) -> np.ndarray:
    """(rows, 2): the exact means of the European theta and rho controls, from the means
    ``means`` of its price, delta, vega and gamma estimators
    (:func:`greeks.exercise.european_greeks`): the equation's r C − (r − q) S0 C_Δ − ½ σ²
    S0² C_Γ, off a market plus the reshaping's derivative of the Black–Scholes value with
    the integrated rate, yield and variance (the estimator's central difference at ±E, on
    the closed form), and the Black–Scholes
    rho (with the integrated ones off a market).  NaN (no control) with cash dividends,
    which no closed form covers, and for theta where the reshaping does not exist."""
    rate, carry, scale = carry_terms(group)
    out = np.empty((group.n_rows, 2))
    out[:, 0] = rate * means[:, 0] - carry * group.spot * means[:, 1] - scale * means[:, 3]
    spec = group.payoff
    for j in range(group.n_rows):
        kind = "call" if spec.omega[j] > 0 else "put"
        maturity, strike = float(group.maturity[j]), spec.strike[j]
        if group.market is None:
            out[j, 1] = black_scholes_rho(kind, group.spot, strike, maturity, group.rate,
                                          sigma, group.dividend)
            continue
        dynamics = group.market.dynamics
        if dynamics.cash_dividends(maturity):
            out[j] = np.nan
            continue
        r, q, vol = dynamics.equivalent(maturity)
        out[j, 1] = black_scholes_rho(kind, group.spot, strike, maturity, r, vol, q)
        step = reshape_step(group)
        if math.isnan(step):
            out[j, 0] = np.nan
            continue
        g_r, g_q, g_w = (float(g[0]) for g in _reshaping(dynamics, np.array([maturity])))

        def moved(eps):
            return black_scholes(kind, group.spot, strike, maturity, r + eps * g_r / maturity,
                                 math.sqrt(vol * vol + eps * g_w / maturity),
                                 q + eps * g_q / maturity).price

        out[j, 0] += (moved(step) - moved(-step)) / (2.0 * step)
    return out
