"""Hedge (martingale) control variates of the early-exercise estimators, under Heston and
under GBM (constant variance: v = θ = σ², no mean reversion, the weight the Black–Scholes
delta; the GBM adapter's ``exercise_hedges``).

With M_t = e^{−(r−q)t} S_t, the forward-discounted price, a martingale under the pricing
measure, and any weight w_i known at the exercise date t_{i−1} (t_{−1} = 0), the stopped sum

    C = Σ_{i=0}^{e} w_i (M_{t_i} − M_{t_{i−1}}),   e the index of the exercise date τ = t_e
                                                    (the maturity where the path is not
                                                    exercised early),

has mean zero: each term has E[w_i (M_{t_i} − M_{t_{i−1}}) | F_{t_{i−1}}] = 0, and
1{i ≤ e} is known at t_{i−1} (τ is a stopping time of the dates), so C is a martingale
transform stopped at a bounded stopping time (optional stopping).  On the simulated chain
the martingale property is exact, not only in the limit: the QE, exact and Euler chains with
their martingale correction keep E[S_k | S_{k−1}, v_{k−1}] = S_{k−1} e^{(r−q)Δ_k} at every
step (:meth:`greeks.models.heston.constants.Constants.is_martingale`; the group's
``martingale`` flag), so C has mean exactly zero on the paths, whatever w.

The weight is that of the European put's hedge: the discounted price P̃ = e^{−rt} P(t, S) of a
European option moves by e^{−rt} ∂P/∂S (dS − (r − q) S dt) + (its variance term)
= e^{−qt} ∂P/∂S dM + ..., and the discounted payoff at τ is P̃_0 plus these increments up to τ
plus the American option's extra value, so C with w = e^{−qt} ∂P/∂S takes out most of the
payoff's noise (Clewlow & Carverhill 1994, "On the simulation of contingent claims",
J. Derivatives 2(2); Rasmussen 2005, "Control variates for Monte Carlo valuation of
American options", J. Comput. Finance 9(1): the European delta hedge stopped at the exercise
time).  ∂P/∂S is taken from the Black–Scholes formula at the variance expected over the
option's remaining life given the current one,

    w_i = −e^{−qT} N(−d_1),   d_1 = (log(S/K) + (r − q)τ_i)/(σ̄ √τ_i) + σ̄ √τ_i / 2,
    σ̄² = θ + (v − θ)(1 − e^{−κτ_i})/(κτ_i),   τ_i = T − t_{i−1}

(a put's; a call's w = e^{−qT} N(d_1)), v the path's variance at t_{i−1}: θu, u = v/θ the
state (``state``), v0 at t = 0.  Only the
control's variance reduction depends on this choice; its mean stays zero.  Its coefficient is
a constant, the least-squares one on the policy pilot's paths (with the European control
beside it), so the controlled estimate stays unbiased.

Each Greek gets the same control on the same moves as its own estimator
(:func:`greeks.payoffs.exercise_values`): the hedge of the path at S0(1 ± h) and S0(1 ± 2h)
(the path scaled, stopped at its own exercise date) and of the chains at σ0 ± k, σ0 ± 2k (each
stopped under its own policy), differenced as the Greek is: the price's 2 C(Δ) − C(2Δ) with
the Richardson partner's exercise date, delta and vega by Richardson's extrapolated central
differences (gamma's second differences too).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from greeks import payoffs

N_SPOT = 5  # the scalings of the base path: 1, 1 + h, 1 − h, 1 + 2h, 1 − 2h
HEDGE_EVERY = 1  # the weights are renewed on every HEDGE_EVERY-th date
TABLE_RANGE = 8.0  # N(x) tabulated on [−8, 8] (0 and 1 beyond)
TABLE_STEP = 1.0 / 128.0
# N at the table's nodes, interpolated linearly (error below 1e-5: the weight is any function
# of the past, so this only moves the variance reduction, not the mean)
NORMAL_TABLE = 0.5 * np.array([math.erfc(-x / math.sqrt(2.0)) for x in np.linspace(
    -TABLE_RANGE, TABLE_RANGE, int(round(2 * TABLE_RANGE / TABLE_STEP)) + 1)])


@njit(cache=True, nogil=True, inline="always")
def _normal_cdf(x, table):
    """N(x) by linear interpolation in ``table`` (:data:`NORMAL_TABLE`)."""
    u = (x + TABLE_RANGE) * (1.0 / TABLE_STEP)
    if u <= 0.0:
        return table[0]
    if u >= table.size - 1:
        return table[table.size - 1]
    k = int(u)
    return table[k] + (u - k) * (table[k + 1] - table[k])


def hedge_weights(times: np.ndarray, strike: float, rate: float, dividend: float,
                  kappa: float, theta: float) -> np.ndarray:
    """Per increment i (to the row's date t_i from t_{i−1}, t_{−1} = 0) the constants of
    the weight w_i (module docstring): rows τ_i, (1 − e^{−κτ_i})/(κτ_i), (r − q)τ_i − log K,
    e^{−(r−q) t_i} (M_{t_i} = that · S_{t_i}); and e^{−qT} in column 0 of a fifth row."""
    start = np.concatenate(([0.0], times[:-1]))
    tau = times[-1] - start
    x = kappa * tau
    out = np.zeros((5, times.size))
    out[0] = tau
    out[1] = -np.expm1(-x) / x
    out[2] = (rate - dividend) * tau - math.log(strike)
    out[3] = np.exp(-(rate - dividend) * times)
    out[4, 0] = math.exp(-dividend * times[-1])
    return out


@njit(cache=True, nogil=True, inline="always")
def _spread(v, i, weights, theta):
    """σ̄ √τ_i at variance ``v`` (module docstring)."""
    return math.sqrt(max((theta + (v - theta) * weights[1, i]) * weights[0, i], 1e-300))


@njit(cache=True, nogil=True, inline="always")
def _weight(log_level, spread, i, weights, omega, table):
    """w_i at log-price ``log_level`` with σ̄ √τ_i = ``spread`` (module docstring)."""
    d1 = (log_level + weights[2, i]) / spread + 0.5 * spread
    return omega * weights[4, 0] * _normal_cdf(omega * d1, table)


@njit(cache=True, nogil=True, inline="always")
def _end(i, n):
    """The index of the exercise date of a stopping index (−1: out of the money at
    maturity, the hedge runs to it)."""
    return n - 1 if i < 0 else i


@njit(cache=True, nogil=True)
def _stopped_hedge(s, state, p, dates, weights, v0, theta, omega, spot, stop, every, table):
    """C of path p of one chain (not scaled) stopped at date index ``stop``, its weight
    renewed on every ``every``-th date."""
    with_state = state.shape[1] > 0
    total = 0.0
    previous = spot
    log_level = math.log(spot)
    v = v0
    w = 0.0
    for i in range(stop + 1):
        if i % every == 0:
            w = _weight(log_level, _spread(v, i, weights, theta), i, weights, omega, table)
        m = weights[3, i] * s[p, dates[i]]
        total += w * (m - previous)
        previous = m
        if (i + 1) % every == 0 and i < stop:
            log_level = math.log(s[p, dates[i]])
            v = theta * state[p, dates[i]] if with_state else v0
    return total


@njit(cache=True, nogil=True)
def moved_hedges(moved, state, dates, stops, omega, spot, step, weights, every, table, out):
    """The hedge control of a difference like the vega's into ``out`` (paths): Richardson's
    difference (:func:`greeks.payoffs.extrapolated_difference`) of C_0 − C_1 and C_2 − C_3
    at ``step``, C_m the hedge on the moved paths ``moved[m]`` (θ + step, θ − step,
    θ + 2 step, θ − 2 step of some volatility θ, 4 × paths × stored dates) stopped at their
    policy's stopping indices ``stops[m]``, the weights (:func:`hedge_weights`) the base
    chain's (v = θ = 1): of mean zero whatever the weights, which are known at the start of
    each increment."""
    n = dates.size
    vol = np.empty(4)
    for p in range(moved.shape[1]):
        for m in range(4):
            vol[m] = _stopped_hedge(moved[m], state, p, dates, weights, 1.0, 1.0, omega, spot,
                                    _end(stops[m, p], n), every, table)
        out[p] = payoffs.extrapolated_difference(vol[0] - vol[1], vol[2] - vol[3], step)


@njit(cache=True, nogil=True)
def hedge_controls(s, state, vol_s, vol_state, dates, stops, spec, j, spot, h, vol_step, v0s,
                   theta, weights, every, table, out):
    """The hedge controls (4 × paths into ``out``) of row j's price, delta, vega and gamma
    estimators (:func:`greeks.payoffs.exercise_values`, whose arguments these are, and
    ``stops`` its stopping indices; ``v0s``: v0 of the chain and of the chains at σ0 + k,
    σ0 − k, σ0 + 2k, σ0 − 2k; ``weights`` from :func:`hedge_weights`; the weights renewed on
    every ``every``-th date, held between: still known at the start of each increment;
    ``table``: :data:`NORMAL_TABLE`).  Each moved path is stopped where its estimator's
    policy exercises it; the base path's five scalings and the Richardson partner share one
    pass over the dates (one logarithm and one square root per renewal)."""
    n = dates.size
    omega = spec.omega[j]
    shift = h * spot
    scales = np.array([1.0, 1.0 + h, 1.0 - h, 1.0 + 2.0 * h, 1.0 - 2.0 * h])
    log_scales = np.log(scales)
    with_state = state.shape[1] > 0
    ends = np.empty(N_SPOT, dtype=np.int64)
    sums = np.empty(N_SPOT)
    previous = np.empty(N_SPOT)
    w = np.zeros(N_SPOT)
    vol = np.empty(4)
    for p in range(s.shape[0]):
        if spec.immediate[j]:
            out[:, p] = 0.0
            continue
        ends[0] = _end(stops[0, p], n)
        for m in range(1, N_SPOT):
            ends[m] = _end(stops[1 + m, p], n)
        for m in range(N_SPOT):
            sums[m] = 0.0
            previous[m] = scales[m] * spot
        partner = _end(stops[1, p], n)
        last = max(partner, ends.max())
        log_level = math.log(spot)
        v = v0s[0]
        c_partner = 0.0
        for i in range(last + 1):
            if i % every == 0:
                spread = _spread(v, i, weights, theta)
                for m in range(N_SPOT):
                    if i <= ends[m] or (m == 0 and i <= partner):
                        w[m] = _weight(log_level + log_scales[m], spread, i, weights, omega,
                                       table)
            forward = weights[3, i] * s[p, dates[i]]
            for m in range(N_SPOT):
                on_partner = m == 0 and i <= partner
                if i <= ends[m] or on_partner:
                    moved = scales[m] * forward
                    increment = w[m] * (moved - previous[m])
                    previous[m] = moved
                    if i <= ends[m]:
                        sums[m] += increment
                    if on_partner:
                        c_partner += increment
            if (i + 1) % every == 0 and i < last:
                log_level = math.log(s[p, dates[i]])
                v = theta * state[p, dates[i]] if with_state else v0s[0]
        for m in range(4):
            vol[m] = _stopped_hedge(vol_s[m], vol_state[m], p, dates, weights, v0s[1 + m],
                                    theta, omega, spot, _end(stops[6 + m, p], n), every, table)
        out[0, p] = 2.0 * sums[0] - c_partner if spec.richardson[j] else sums[0]
        out[1, p] = payoffs.extrapolated_difference(sums[1] - sums[2], sums[3] - sums[4], shift)
        out[2, p] = payoffs.extrapolated_difference(vol[0] - vol[1], vol[2] - vol[3], vol_step)
        out[3, p] = payoffs.extrapolated_second(sums[1] + sums[2] - 2.0 * sums[0],
                                                sums[3] + sums[4] - 2.0 * sums[0], shift)
