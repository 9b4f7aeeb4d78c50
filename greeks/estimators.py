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
"""

from __future__ import annotations

import numpy as np
from numba import njit

from greeks import payoffs
from greeks.models import gbm, heston
from greeks.stats import accumulate, finish, moments


@njit(cache=True, nogil=True)
def likelihood_ratio_gbm(s, w, times, spot, sigma, date_start, date_index, kind, omega, strike,
                         payout, barrier, barrier_kind, discount, quantity, baseline, collect,
                         out, sums):
    """Plain-LR moments of every row of a group on one chunk of GBM paths.

    ``s`` and ``w`` are the prices and Brownian motion on the grid ``times``
    (paths × dates).  ``out[j, k]`` receives (mean, M2) of quantity k (price,
    delta, vega) for row j over the chunk and, with ``collect``, ``sums[j]`` the
    baseline statistics (:func:`_row_moments`, with ``baseline[j]`` = (b_Δ, b_σ));
    ``out[-1]`` receives
    (mean, M2) of the group total Σ_j quantity_j · estimate_j, path by path.
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
        _row_moments(payoff, gbm.path_scores, (w, dates, inverse_dt, delta_scale, sigma),
                     baseline[j], quantity[j], n_rows > 1, collect, totals, out[j], sums[j])
    _group_total(totals, quantity, out)


@njit(cache=True, nogil=True)
def likelihood_ratio_heston(s, residual, variance, score, spot, sigma0, d_mean, d_var,
                            date_start, date_index, kind, omega, strike, payout, barrier,
                            barrier_kind, discount, quantity, baseline, collect, out, sums):
    """Plain-LR moments of every row of a group on one chunk of Heston paths.

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
        payoffs.evaluate(s, dates, kind[j], omega[j], strike[j], payout[j], barrier[j],
                         barrier_kind[j], discount[j], payoff)
        _row_moments(payoff, heston.path_scores,
                     (residual, variance, score, dates[0], spot, sigma0, d_mean, d_var),
                     baseline[j], quantity[j], n_rows > 1, collect, totals, out[j], sums[j])
    _group_total(totals, quantity, out)


@njit(cache=True, nogil=True, inline="always")
def _row_moments(payoff, scores, score_args, baseline, quantity, add_totals, collect, totals, out,
                 sums):
    """(mean, M2) of f, (f − b_Δ)·w_Δ and (f − b_σ)·w_σ over the paths into ``out[0..2]``,
    in one pass shifted by the first path's values; adds quantity × each to the group's
    per-path ``totals`` when ``add_totals``.  With ``collect``, ``sums[k]`` receives
    (Σ w², Σ f·w²) of delta (k = 0) and vega (k = 1), from which b* = E[f w²]/E[w²] is
    estimated (zeros otherwise)."""
    b_delta, b_vega = baseline[0], baseline[1]
    shift_f = payoff[0]
    w_delta, w_vega = scores(0, score_args)
    shift_d, shift_v = (shift_f - b_delta) * w_delta, (shift_f - b_vega) * w_vega
    sum_f = sum_d = sum_v = sq_f = sq_d = sq_v = 0.0
    ww_d = fww_d = ww_v = fww_v = 0.0
    for p in range(payoff.size):
        f = payoff[p]
        w_delta, w_vega = scores(p, score_args)
        d = (f - b_delta) * w_delta
        v = (f - b_vega) * w_vega
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
    finish(shift_f, sum_f, sq_f, payoff.size, out[0])
    finish(shift_d, sum_d, sq_d, payoff.size, out[1])
    finish(shift_v, sum_v, sq_v, payoff.size, out[2])
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
