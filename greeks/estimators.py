"""Estimators that combine per-path payoffs with per-path score weights.

Likelihood ratio with baselines: with f the discounted payoff of a row on one path and
w_Δ, w_σ the score weights of that path on the row's own dates (see
:mod:`greeks.models.gbm` and :mod:`greeks.models.heston`), the per-path estimates

    price: f,    delta: (f − b_Δ) · w_Δ,    vega: (f − b_σ) · w_σ

are unbiased for V, ∂V/∂S0 and ∂V/∂σ for any constants b, because E[w] = 0 and
E[f · w] = ∂E[f]/∂θ.  The baseline b (a control variate with the score as control)
minimises the variance E[(f − b)² w²] at b* = E[f w²]/E[w²]; the engine estimates b*
per row and Greek on an independent pilot run, so that b is a constant for the main
paths and the estimator stays exactly unbiased.  The sample means over the N main
paths are the estimates and sqrt(M2/(N−1)/N) their standard errors (:mod:`greeks.stats`).

Heston european and digital rows are estimated instead by conditional Monte Carlo
(:func:`_conditional_values`): a Black–Scholes value given the variance path, its
pathwise delta, and a vega that combines its derivatives with the variance path's score.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from greeks import payoffs
from greeks.models import gbm, heston
from greeks.stats import accumulate, finish, moments

INVERSE_ROOT_TWO = 1.0 / math.sqrt(2.0)
INVERSE_ROOT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)


@njit(cache=True, nogil=True)
def likelihood_ratio_gbm(s, w, times, spot, sigma, date_start, date_index, kind, omega, strike,
                         payout, barrier, barrier_kind, discount, quantity, baseline, collect,
                         out, sums):
    """Likelihood-ratio moments (with baselines) of every row of a group on one chunk of GBM
    paths.

    ``s`` and ``w`` are the prices and Brownian motion on the grid ``times``
    (paths × dates).  ``out[j, k]`` receives (mean, M2) of quantity k (price,
    delta, vega) for row j over the chunk and, with ``collect``, ``sums[j]`` the
    baseline statistics (:func:`_row_moments`, with ``baseline[j]`` = (b_Δ, b_σ));
    ``out[-1]`` receives (mean, M2) of the group total Σ_j quantity_j · estimate_j, path by
    path.
    """
    n_paths = s.shape[0]
    n_rows = kind.size
    totals = np.zeros((3, n_paths if n_rows > 1 else 0))
    payoff = np.empty(n_paths)
    for j in range(n_rows):
        dates = date_index[date_start[j]:date_start[j + 1]]
        inverse_dt, delta_scale = gbm.score_setup(times, dates, spot, sigma)
        payoffs.evaluate(s, dates, kind[j], omega[j], strike[j], payout[j], barrier[j],
                         barrier_kind[j], discount[j], payoff)
        _row_moments(_gbm_values, (payoff, baseline[j], w, dates, inverse_dt, delta_scale, sigma),
                     n_paths, quantity[j], n_rows > 1, collect, totals, out[j], sums[j])
    _group_total(totals, quantity, out)


@njit(cache=True, nogil=True)
def likelihood_ratio_heston(s, residual, variance, score, spot, sigma0, d_mean, d_var,
                            date_start, date_index, kind, omega, strike, payout, barrier,
                            barrier_kind, discount, quantity, baseline, collect, conditional, out,
                            sums):
    """Moments of every row of a group on one chunk of Heston paths: LR with baselines, or,
    for european and digital rows with ``conditional``, :func:`_conditional_values`.

    ``s``, ``residual`` and ``variance`` hold the prices, R and V on the rows' dates
    (paths × dates; ``date_index`` points into them); ``score`` the first variance
    transition's score; ``d_mean``, ``d_var`` = ∂μ_1/∂v_0, ∂V_1/∂v_0 (weights in
    :func:`greeks.models.heston.path_scores`).  ``baseline``, ``collect``, ``out`` and
    ``sums`` as in :func:`likelihood_ratio_gbm`.
    """
    n_paths = s.shape[0]
    n_rows = kind.size
    totals = np.zeros((3, n_paths if n_rows > 1 else 0))
    payoff = np.empty(n_paths)
    for j in range(n_rows):
        dates = date_index[date_start[j]:date_start[j + 1]]
        if conditional and (kind[j] == payoffs.EUROPEAN or kind[j] == payoffs.DIGITAL):
            _row_moments(_conditional_values,
                         (s, residual, variance, score, dates[0], spot, sigma0, d_mean, d_var,
                          kind[j] == payoffs.DIGITAL, omega[j], strike[j],
                          discount[j] * payout[j] if kind[j] == payoffs.DIGITAL else discount[j]),
                         n_paths, quantity[j], n_rows > 1, False, totals, out[j], sums[j])
            continue
        payoffs.evaluate(s, dates, kind[j], omega[j], strike[j], payout[j], barrier[j],
                         barrier_kind[j], discount[j], payoff)
        _row_moments(_heston_values, (payoff, baseline[j], residual, variance, score, dates[0],
                                      spot, sigma0, d_mean, d_var),
                     n_paths, quantity[j], n_rows > 1, collect, totals, out[j], sums[j])
    _group_total(totals, quantity, out)


@njit(cache=True, nogil=True, inline="always")
def _gbm_values(p, args):
    """(f, (f − b_Δ)·w_Δ, (f − b_σ)·w_σ, w_Δ, w_σ) of path p under GBM."""
    payoff, baseline, w, dates, inverse_dt, delta_scale, sigma = args
    w_delta, w_vega = gbm.path_scores(p, (w, dates, inverse_dt, delta_scale, sigma))
    f = payoff[p]
    return f, (f - baseline[0]) * w_delta, (f - baseline[1]) * w_vega, w_delta, w_vega


@njit(cache=True, nogil=True, inline="always")
def _heston_values(p, args):
    """(f, (f − b_Δ)·w_Δ, (f − b_σ)·w_σ, w_Δ, w_σ) of path p under Heston."""
    payoff, baseline, residual, variance, score, col, spot, sigma0, d_mean, d_var = args
    w_delta, w_vega = heston.path_scores(
        p, (residual, variance, score, col, spot, sigma0, d_mean, d_var))
    f = payoff[p]
    return f, (f - baseline[0]) * w_delta, (f - baseline[1]) * w_vega, w_delta, w_vega


@njit(cache=True, nogil=True, inline="always")
def _conditional_values(p, args):
    """Conditional Monte Carlo of a european or digital row under Heston (Willard 1997).

    Given the variance path, log S_T = log S0 + M + sqrt(V) Z with M = x_T − x_0 − R and
    V the conditional variance (:mod:`greeks.models.heston`), so the price given the path
    is a Black–Scholes value C(F, V) with forward F = S0 e^{M + V/2} and total variance V:
    call/put C = D ω [F N(ω d1) − K N(ω d2)], digital C = D P N(ω d2),
    d1,2 = (log(F/K) ± V/2)/sqrt(V).  E[C] is the chain's price; C is smooth, so
    delta = E[∂C/∂S0] (M and V do not depend on S0) and
    σ0-vega = 2σ0 E[∂C/∂M ∂μ_1/∂v_0 + ∂C/∂V ∂V_1/∂v_0 + C · score], the score of the
    first variance transition carrying the v_0-dependence of the variance path.
    Returns (C, delta, vega, 0, 0).
    """
    s, residual, variance, score, col, spot, sigma0, d_mean, d_var, digital, omega, strike, \
        cash = args
    v = variance[p, col]
    root = np.sqrt(v)
    drift = np.log(s[p, col] / spot) - residual[p, col]  # M
    d2 = (np.log(spot / strike) + drift) / root
    density2 = np.exp(-0.5 * d2 * d2) * INVERSE_ROOT_TWO_PI
    if digital:
        price = cash * _normal_cdf(omega * d2)
        d_price_d_m = cash * omega * density2 / root
        d_price_d_v = -0.5 * d_price_d_m * d2 / root
        delta = d_price_d_m / spot
    else:
        forward = spot * np.exp(drift + 0.5 * v)
        d1 = d2 + root
        in_forward = cash * omega * _normal_cdf(omega * d1)  # ∂C/∂F
        price = in_forward * forward - cash * omega * strike * _normal_cdf(omega * d2)
        d_price_d_m = in_forward * forward
        d_price_d_v = 0.5 * d_price_d_m + 0.5 * cash * strike * density2 / root
        delta = d_price_d_m / spot
    vega = 2.0 * sigma0 * (d_price_d_m * d_mean + d_price_d_v * d_var + price * score[p])
    return price, delta, vega, 0.0, 0.0


@njit(cache=True, nogil=True, inline="always")
def _normal_cdf(x):
    return 0.5 * math.erfc(-x * INVERSE_ROOT_TWO)


@njit(cache=True, nogil=True, inline="always")
def _row_moments(values, args, n_paths, quantity, add_totals, collect, totals, out, sums):
    """(mean, M2) of the per-path price, delta and vega estimates ``values(p, args)`` over
    the ``n_paths`` paths into ``out[0..2]``, in one pass shifted by the first path's values; adds
    quantity × each to the group's per-path ``totals`` when ``add_totals``.  With
    ``collect``, ``sums[k]`` receives (Σ w², Σ f·w²) of delta (k = 0) and vega (k = 1),
    from which b* = E[f w²]/E[w²] is estimated (zeros otherwise)."""
    shift_f, shift_d, shift_v, _, _ = values(0, args)
    sum_f = sum_d = sum_v = sq_f = sq_d = sq_v = 0.0
    ww_d = fww_d = ww_v = fww_v = 0.0
    for p in range(n_paths):
        f, d, v, w_delta, w_vega = values(p, args)
        sum_f, sq_f = accumulate(f, shift_f, sum_f, sq_f)
        sum_d, sq_d = accumulate(d, shift_d, sum_d, sq_d)
        sum_v, sq_v = accumulate(v, shift_v, sum_v, sq_v)
        if collect:
            square = w_delta * w_delta
            ww_d += square
            fww_d += f * square
            square = w_vega * w_vega
            ww_v += square
            fww_v += f * square
        if add_totals:
            _add_to_totals(totals, p, quantity, f, d, v)
    finish(shift_f, sum_f, sq_f, n_paths, out[0])
    finish(shift_d, sum_d, sq_d, n_paths, out[1])
    finish(shift_v, sum_v, sq_v, n_paths, out[2])
    sums[0, 0], sums[0, 1], sums[1, 0], sums[1, 1] = ww_d, fww_d, ww_v, fww_v


@njit(cache=True, nogil=True, inline="always")
def _add_to_totals(totals, p, quantity, f, d, v):
    totals[0, p] += quantity * f
    totals[1, p] += quantity * d
    totals[2, p] += quantity * v


@njit(cache=True, nogil=True)
def _group_total(totals, quantity, out):
    """(mean, M2) of the group total into ``out[-1]``: from the per-path sums ``totals``
    when there are several rows, else scaled from the single row's."""
    n_rows = quantity.size
    if n_rows > 1:
        for k in range(3):
            moments(totals[k], out[n_rows, k])
    else:
        for k in range(3):
            out[1, k, 0] = quantity[0] * out[0, k, 0]
            out[1, k, 1] = quantity[0] * quantity[0] * out[0, k, 1]
