"""Estimators that combine per-path payoffs with per-path score weights.

Likelihood ratio.  With f the discounted payoff of a row on one path and w_Δ, w_σ the
score weights of that path on the row's own dates (see :mod:`greeks.models.gbm` and
:mod:`greeks.models.heston`), the per-path estimates

    price: y_0 = f,    delta: y_1 = f · w_Δ,    vega: y_2 = f · w_σ

are unbiased for V, ∂V/∂S0 and ∂V/∂σ because E[f · w] = ∂E[f]/∂θ.

Control variates with known means.  Every path carries five controls c with known
means μ: the scores and the estimators of the row's *linear payoff* L,

    c = (L, w_Δ, L·w_Δ, w_σ, L·w_σ),    μ = (E[L], 0, E[L]/S0, 0, 0),

where L = e^{−rT} S_T (e^{−rT} times the average of S on the averaging dates for an
asian).  Its Greeks are known exactly, E[L] = e^{−rT} S0 · mean_i e^{(r−q)t_i},
∂E[L]/∂S0 = E[L]/S0 and ∂E[L]/∂σ = 0 (the forward does not depend on the volatility),
and the scores have mean 0.  The estimate of Greek k is the mean of

    e_k = y_k − Σ_i β_ki (c_i − μ_i),

unbiased for any constants β.  Each Greek uses the controls of its own kind: the price
L; delta L, w_Δ and L·w_Δ; vega w_σ and L·w_σ (the vega controls' tails are heavier
than a bounded payoff's, and would make the price's SE unreliable at small path counts).
The variance-minimising β (the regression coefficients of y_k on its controls; β on w_k
alone is the classical baseline b* = E[f w²]/E[w²]) is
estimated on an independent pilot run, so that β is a constant for the main paths, the
estimate stays exactly unbiased and its standard error is the ordinary one of the
e_k (:mod:`greeks.stats`).  Under Heston the controls with L are used only where the
simulated chain is an exact martingale (``Constants.is_martingale``).

Antithetic pairs.  With ``antithetic`` the paths come in pairs (Z, −Z) (the second half
of a chunk mirrors the first); each pair contributes the average of its two members'
values, pairs are iid, and the standard error is computed over pairs.

Paths that carry the variation.  On the paths where a row's payoff is 0 and on those where
it pays, a european, digital, asian or knock-in payoff is affine in L, so that on a unit
(path, or antithetic pair) whose members all pay, or none does, the estimators y_k are
combinations of the controls; what the controls cannot remove comes from the other units (a
deep call's pairs that one member ends out of the money).  The main run counts each row's
units by their paying members (:func:`_patterns`; ``sums[j, :3]``), for the standard error of
rows whose variation few units carry (:func:`greeks.engine.reduce.carried`; a cash digital's
price is constant also on a pair with one paying member, payout/2: an at-the-money digital's
price over a week varies only on the few pairs with none or two).

Heston european and digital rows are estimated instead by conditional Monte Carlo
(:func:`_conditional_values`): a Black–Scholes value given the variance path, its
pathwise delta, and a vega that combines its derivatives with the variance path's score;
their controls are the same conditional estimators applied to L.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from greeks import payoffs
from greeks.maths import INVERSE_ROOT_TWO_PI, normal_cdf
from greeks.models.gbm.scores import path_scores as gbm_path_scores
from greeks.models.gbm.scores import score_setup
from greeks.models.heston.scores import path_scores as heston_path_scores
from greeks.stats import accumulate, finish, moments

N_CONTROLS = 5
LINEAR_CONTROLS = (0, 2, 4)  # the controls that involve L
# the controls each Greek is regressed on: price (L), delta (L, w_Δ, L·w_Δ), vega (w_σ, L·w_σ)
CONTROLS_OF = np.array([[1, 0, 0, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 1, 1]], dtype=bool)
# pilot sums per row: Σ(c − μ) (5), Σ(c − μ)(c − μ)ᵀ (25), Σy (3), Σ y (c − μ)ᵀ (15); in
# the main run the first PATTERNS of them count the units by their paying members (0, 1, 2),
# the next is 1 where they were counted, and the pathwise and finite-difference families
# add the sums of squares of the carrying units' deviations, per Greek (PATTERN_SUMS in all;
# greeks.engine.reduce.carried)
N_SUMS = N_CONTROLS + N_CONTROLS * N_CONTROLS + 3 + 3 * N_CONTROLS
CONTROL_SUMS = N_CONTROLS + N_CONTROLS * N_CONTROLS  # Σ(c − μ) and Σ(c − μ)(c − μ)ᵀ
SLOTS = 8  # the score weights (barrier hits) of this many sets of dates kept in a chunk
PATTERNS = 3
PATTERN_SUMS = PATTERNS + 1 + 3


@njit(cache=True, nogil=True)
def likelihood_ratio_gbm(s, w, times, spot, sigma, date_start, date_index, spec, forward,
                         weight, total_of, n_totals, coef, antithetic, collect, out, sums):
    """Moments of every row of a group on one chunk of GBM paths.

    ``s`` and ``w`` are the prices and Brownian motion on the grid ``times``
    (paths × dates; with ``antithetic`` the second half of the paths mirrors the first).
    ``spec`` the rows' payoffs (:class:`greeks.payoffs.PayoffSpec`), ``forward[j]`` = E[L]
    of row j, ``coef[j]`` its (3, N_CONTROLS) control coefficients β.
    ``out[j, k]`` receives (mean, M2) of Greek k (price, delta, vega) for row j over the
    chunk's paths (pairs); ``out[rows + t]`` receives (mean, M2) of total t, path by path:
    t = 0 the group total Σ_j weight_jk · estimate_jk, t ≥ 1 the subtotal over the rows with
    ``total_of[j]`` = t (``n_totals`` − 1 subtotals; ``total_of[j]`` = 0: in none).  With
    ``collect`` (the pilot) only the sums ``sums[j]`` from which β is estimated are gathered
    (:func:`_row_sums`).  Rows of the same dates have the same score weights, and barrier
    rows that also share the barrier and its side the same paths that touch it, each
    computed once while they stay in one of ``SLOTS`` slots; rows that also share the kind
    of L, the discount and E[L] have the same controls, whose pilot sums are taken once
    (:func:`first_alike`) and added to ``sums`` (zeros from the caller: the same numbers as
    each row's own).
    """
    n_units = s.shape[0] // 2 if antithetic else s.shape[0]
    n_rows = spec.kind.size
    totals = np.zeros((n_totals, 3, n_units if n_rows > 1 else 0))
    payoff = np.empty(s.shape[0])
    linear = np.empty(s.shape[0])
    # rows of the same dates have the same weights, kept in a few slots (oldest out first)
    first_dates = first_alike(date_start, date_index, np.zeros(n_rows, dtype=np.int64),
                              np.empty((n_rows, 0)))
    score_slots, scored = np.full(min(SLOTS, n_rows), -1), 0
    w_delta = np.empty((score_slots.size, s.shape[0]))
    w_vega = np.empty((score_slots.size, s.shape[0]))
    # barrier rows of the same dates, barrier and side, the same paths that touch it
    barrier = spec.kind == payoffs.BARRIER
    up = np.array([payoffs.barrier_sides(kind)[0] for kind in spec.barrier_kind])
    first_barriers = first_alike(date_start, date_index, np.where(barrier, up, -1),
                                 np.where(barrier, spec.barrier, 0.0).reshape(n_rows, 1))
    barrier_slots, hits_kept = np.full(min(SLOTS, n_rows), -1), 0
    hits = np.empty((barrier_slots.size, s.shape[0]), dtype=np.bool_)
    # and, where also the kind of L, the discount and E[L] are the same, the same controls
    first_controls = (first_alike(date_start, date_index,
                                  (spec.kind == payoffs.ASIAN).astype(np.int64),
                                  np.column_stack((spec.discount, forward)))
                      if collect else first_dates)
    control_sums = np.zeros((n_rows if collect else 1, CONTROL_SUMS))
    for j in range(n_rows):
        dates = date_index[date_start[j]:date_start[j + 1]]
        kind = spec.kind[j]
        if kind == payoffs.ASIAN:  # both from one sum over the dates
            _asian_payoffs(s, dates, spec.omega[j], spec.strike[j], spec.discount[j], payoff,
                           linear)
        elif kind == payoffs.BARRIER:
            at, new, hits_kept = _slot(barrier_slots, hits_kept, first_barriers[j])
            if new:
                payoffs.touched(s, dates, spec.barrier[j], up[j], hits[at])
            payoffs.barrier_payoffs(s, dates[dates.size - 1], hits[at],
                                    payoffs.barrier_sides(spec.barrier_kind[j])[1],
                                    spec.omega[j], spec.strike[j], spec.discount[j], payoff)
            linear_payoff(s, dates, False, spec.discount[j], linear)
        else:
            payoffs.evaluate(s, dates, spec, j, payoff)
            linear_payoff(s, dates, False, spec.discount[j], linear)
        slot, new, scored = _slot(score_slots, scored, first_dates[j])
        if new:
            inverse_dt, delta_scale = score_setup(times, dates, spot, sigma)
            _scores(w, dates, inverse_dt, delta_scale, sigma, w_delta[slot], w_vega[slot])
        twin = first_controls[j] if collect else 0
        _row(_gbm_values, (payoff, linear, w_delta[slot], w_vega[slot]),
             n_units, antithetic, coef[j], _control_means(forward[j], spot), weight[j],
             total_of[j], n_rows > 1, collect, totals, out[j], sums[j], payoff,
             control_sums[twin], twin == j)
        if collect:
            sums[j, :CONTROL_SUMS] += control_sums[twin]
    group_total(totals, weight, total_of, out)


@njit(cache=True, nogil=True)
def _slot(slots, filled, row):
    """(slot, new, filled): the slot of ``slots`` (each the first row of what it holds, −1
    empty) that holds ``row``'s values, or, ``new``, the one it takes, the oldest's after
    ``filled`` takings."""
    for i in range(slots.size):
        if slots[i] == row:
            return i, False, filled
    slot = filled % slots.size
    slots[slot] = row
    return slot, True, filled + 1


@njit(cache=True, nogil=True)
def first_alike(date_start, date_index, tag, levels):
    """``first[j]`` = the first row k ≤ j with row j's dates, ``tag`` and ``levels`` (a row
    of numbers each; NaN alike with nothing): rows ordered by a hash of all of them (equal
    hashes by row), each compared in full with the earlier rows of its hash only."""
    n = date_start.size - 1
    bits = (levels + 0.0).view(np.int64)  # −0.0 hashed as 0.0, which it equals
    key = np.empty(n, dtype=np.int64)
    for j in range(n):
        h = np.int64(date_start[j + 1] - date_start[j]) * 1000003 + tag[j]
        for i in range(date_start[j], date_start[j + 1]):
            h = h * 1000003 + date_index[i]  # wraps around: a hash
        for i in range(levels.shape[1]):
            h = h * 1000003 + bits[j, i]
        key[j] = h
    order = np.argsort(key, kind="mergesort")
    first = np.arange(n)
    run = 0
    for end in range(1, n + 1):
        if end < n and key[order[end]] == key[order[run]]:
            continue
        for b in range(run + 1, end):
            j = order[b]
            for c in range(run, b):
                k = order[c]
                if first[k] == k and _alike(j, k, date_start, date_index, tag, levels):
                    first[j] = k
                    break
        run = end
    return first


@njit(cache=True, nogil=True, inline="always")
def _alike(j, k, date_start, date_index, tag, levels):
    """Whether rows j and k have the same dates, ``tag`` and ``levels``."""
    size = date_start[j + 1] - date_start[j]
    if date_start[k + 1] - date_start[k] != size or tag[j] != tag[k]:
        return False
    for i in range(levels.shape[1]):
        if levels[j, i] != levels[k, i]:
            return False
    for i in range(size):
        if date_index[date_start[j] + i] != date_index[date_start[k] + i]:
            return False
    return True


@njit(cache=True, nogil=True)
def row_estimate(arrays, n_units, antithetic, coef, means, weight, slot, add_totals,
                 collect, totals, out, sums):
    """One row's likelihood-ratio moments (or its pilot sums with ``collect``) from its
    per-path ``arrays`` = (payoff, linear payoff, delta weight, vega weight), with the
    controls of the module docstring and their known ``means`` (5); the other arguments
    as in :func:`likelihood_ratio_gbm` (for kernels that compute the weights themselves:
    :mod:`greeks.models.gbm.dated`)."""
    _row(_gbm_values, arrays, n_units, antithetic, coef, means, weight, slot, add_totals,
         collect, totals, out, sums, arrays[0], sums[:CONTROL_SUMS], True)


@njit(cache=True, nogil=True)
def likelihood_ratio_heston(s_by_date, linear_by_date, residual_by_date, variance_by_date,
                            score, spot, sigma0, d_mean, d_var, date_start, date_index,
                            score_column, spec, forward, forward_slope, weight, total_of,
                            n_totals, coef, conditioned, antithetic, collect, out, sums):
    """Moments of every row of a group on one chunk of Heston paths: likelihood ratio, or,
    for the european and cash digital rows with ``conditioned[j]``, :func:`_conditional_values`.

    ``s_by_date``, ``residual_by_date`` and ``variance_by_date`` hold the prices, R and V on
    the rows' dates, date-major (dates × paths, C order; ``date_index`` points into the
    dates), and are read through their transposes (paths × dates): one argument type
    whatever the number of dates, so that the kernel compiles once (a paths × dates view
    types as C order with one date, as F order with more).  ``score`` the first variance
    transition's score; ``d_mean``, ``d_var`` = ∂μ_1/∂v_0, ∂V_1/∂v_0 per path (weights in
    :func:`greeks.models.heston.scores.path_scores`, on row j's first score date, stored
    column ``score_column[j]``: its first date, or off a market with cash dividends the
    first ex-date before it).  The linear payoff L reads ``linear_by_date`` (the prices, or
    with cash dividends the unfloored ones: :mod:`greeks.models.heston.dropped`), with
    E[L] = ``forward[j]`` and ∂E[L]/∂S0 = ``forward_slope[j]``.  The other arguments as in
    :func:`likelihood_ratio_gbm`.
    """
    s, residual, variance = s_by_date.T, residual_by_date.T, variance_by_date.T
    linear_s = linear_by_date.T
    n_paths = s.shape[0]
    n_units = n_paths // 2 if antithetic else n_paths
    n_rows = spec.kind.size
    totals = np.zeros((n_totals, 3, n_units if n_rows > 1 else 0))
    payoff = np.empty(n_paths)
    linear = np.empty(n_paths)
    for j in range(n_rows):
        dates = date_index[date_start[j]:date_start[j + 1]]
        means = np.array([forward[j], 0.0, forward_slope[j], 0.0, 0.0])
        kind, discount = spec.kind[j], spec.discount[j]
        if conditioned[j]:  # the payoff's patterns: its further Greeks weigh the payoff
            digital = kind == payoffs.DIGITAL
            if not collect:
                payoffs.evaluate(s, dates, spec, j, payoff)
            _row(_conditional_values,
                 (s, residual, variance, score, dates[0], spot, sigma0, d_mean, d_var, digital,
                  spec.omega[j], spec.strike[j],
                  discount * spec.payout[j] if digital else discount, discount),
                 n_units, antithetic, coef[j], means, weight[j], total_of[j], n_rows > 1,
                 collect, totals, out[j], sums[j], payoff, sums[j, :CONTROL_SUMS], True)
            continue
        payoffs.evaluate(s, dates, spec, j, payoff)
        linear_payoff(linear_s, dates, kind == payoffs.ASIAN, discount, linear)
        _row(_heston_values, (payoff, linear, score_column[j], residual, variance, score, spot,
                              sigma0, d_mean, d_var),
             n_units, antithetic, coef[j], means, weight[j], total_of[j], n_rows > 1, collect,
             totals, out[j], sums[j], payoff, sums[j, :CONTROL_SUMS], True)
    group_total(totals, weight, total_of, out)
@njit(cache=True, nogil=True, inline="always")
def _control_means(forward, spot):
    """μ of the controls (module docstring)."""
    return np.array([forward, 0.0, forward / spot, 0.0, 0.0])


@njit(cache=True, nogil=True)
def _scores(w, dates, inverse_dt, delta_scale, sigma, w_d, w_v):
    """``w_d[p]``, ``w_v[p]`` = the GBM delta and vega weights of path p on one row's dates
    (:func:`greeks.models.gbm.scores.path_scores`), in one pass.  A row of one date (a
    european or digital) takes a loop of its own, the same arithmetic without the loop over
    dates (with Z = W(t_1): w_Δ = Z · 1/(S0 σ t_1), w_σ = (Z² / t_1 − 1)/σ − Z; 0 + x = x for
    the sum of squares x ≥ 0, so the numbers are the same), which the compiler vectorises,
    the division by σ included (about 3 ns per path before, 0.4 ns after)."""
    if dates.size == 1:
        column, inverse = dates[0], inverse_dt[0]
        for p in range(w.shape[0]):
            level = w[p, column]
            w_d[p] = level * delta_scale
            w_v[p] = (level * level * inverse - 1.0) / sigma - level
        return
    for p in range(w.shape[0]):
        w_d[p], w_v[p] = gbm_path_scores(p, (w, dates, inverse_dt, delta_scale, sigma))


@njit(cache=True, nogil=True)
def linear_payoff(s, dates, asian, discount, out):
    """``out[p]`` = the linear payoff L of path p: e^{−rT} S_T, or e^{−rT} times the average
    over the dates for an asian (one pass, like :func:`greeks.payoffs.evaluate`)."""
    last = dates[dates.size - 1]
    if not asian:
        for p in range(s.shape[0]):
            out[p] = discount * s[p, last]
        return
    scale = discount / dates.size
    for p in range(s.shape[0]):
        total = 0.0
        for i in range(dates.size):
            total += s[p, dates[i]]
        out[p] = scale * total


@njit(cache=True, nogil=True)
def _asian_payoffs(s, dates, omega, strike, discount, payoff, linear):
    """An asian row's discounted payoff (:func:`greeks.payoffs.evaluate`) and linear payoff
    (:func:`linear_payoff`) in one pass over its prices: the sum over the dates is the same
    in both (the same additions in the same order), taken once."""
    scale, linear_scale = 1.0 / dates.size, discount / dates.size
    for p in range(s.shape[0]):
        total = 0.0
        for i in range(dates.size):
            total += s[p, dates[i]]
        payoff[p] = discount * max(omega * (total * scale - strike), 0.0)
        linear[p] = linear_scale * total


@njit(cache=True, nogil=True, inline="always")
def _gbm_values(p, args):
    """(y_0, y_1, y_2, c_0, ..., c_4) on path p under GBM (module docstring)."""
    payoff, linear_payoff, delta_weight, vega_weight = args
    return _lr_values(payoff[p], linear_payoff[p], delta_weight[p], vega_weight[p])


@njit(cache=True, nogil=True, inline="always")
def _heston_values(p, args):
    """(y_0, y_1, y_2, c_0, ..., c_4) on path p under Heston."""
    payoff, linear_payoff, col, residual, variance, score, spot, sigma0, d_mean, d_var = args
    w_delta, w_vega = heston_path_scores(
        p, (residual, variance, score, col, spot, sigma0, d_mean, d_var))
    return _lr_values(payoff[p], linear_payoff[p], w_delta, w_vega)


@njit(cache=True, nogil=True, inline="always")
def _lr_values(f, linear, w_delta, w_vega):
    """(f, f w_Δ, f w_σ; L, w_Δ, L w_Δ, w_σ, L w_σ): the estimators and the controls."""
    return (f, f * w_delta, f * w_vega, linear, w_delta, linear * w_delta, w_vega,
            linear * w_vega)


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
    The controls: the same estimators of L, whose conditional value is D F:
    (D F, 0, D F/S0, 0, 2σ0 D F (∂μ_1/∂v_0 + ½ ∂V_1/∂v_0 + score)); no scores.
    """
    s, residual, variance, score, col, spot, sigma0, d_mean, d_var, digital, omega, strike, \
        cash, discount = args
    v = variance[p, col]
    drift = np.log(s[p, col] / spot) - residual[p, col]  # M
    price, d_price_d_m, d_price_d_v, forward = _given_path(drift, v, spot, digital, omega,
                                                           strike, cash)
    vega = 2.0 * sigma0 * (d_price_d_m * d_mean[p] + d_price_d_v * d_var[p] + price * score[p])
    linear = discount * forward
    return (price, d_price_d_m / spot, vega, linear, 0.0, linear / spot, 0.0,
            2.0 * sigma0 * linear * (d_mean[p] + 0.5 * d_var[p] + score[p]))


@njit(cache=True, nogil=True)
def _given_path(drift, v, spot, digital, omega, strike, cash):
    """(C, ∂C/∂M, ∂C/∂V, F): the Black–Scholes value given the variance path
    (:func:`_conditional_values`) with drift M and variance V from spot S0."""
    root = np.sqrt(v)
    d2 = (np.log(spot / strike) + drift) / root
    density2 = np.exp(-0.5 * d2 * d2) * INVERSE_ROOT_TWO_PI
    forward = spot * np.exp(drift + 0.5 * v)
    if digital:
        price = cash * normal_cdf(omega * d2)
        d_price_d_m = cash * omega * density2 / root
        return price, d_price_d_m, -0.5 * d_price_d_m * d2 / root, forward
    in_forward = cash * omega * normal_cdf(omega * (d2 + root))  # ∂C/∂F
    price = in_forward * forward - cash * omega * strike * normal_cdf(omega * d2)
    d_price_d_m = in_forward * forward
    return price, d_price_d_m, 0.5 * d_price_d_m + 0.5 * cash * strike * density2 / root, forward


@njit(cache=True, nogil=True)
def conditional_prices(s, residual, variance, col, spot, at_spot, digital, omega, strike, cash,
                       out):
    """``out[p]`` = C of path p (:func:`_conditional_values`) for a european or digital row
    whose date is column ``col``, on paths started from ``spot``, valued as if started from
    ``at_spot`` (M and V do not depend on S0: the spot-bumped value on the same paths)."""
    for p in range(out.size):
        drift = np.log(s[p, col] / spot) - residual[p, col]
        out[p] = _given_path(drift, variance[p, col], at_spot, digital, omega, strike, cash)[0]


@njit(cache=True, nogil=True, inline="always")
def _path(values, args, u, n_units):
    """The values of path u."""
    return values(u, args)


@njit(cache=True, nogil=True, inline="always")
def _pair(values, args, u, n_units):
    """The average of the values over the antithetic pair (u, u + n_units)."""
    v = values(u, args)
    m = values(u + n_units, args)
    return (0.5 * (v[0] + m[0]), 0.5 * (v[1] + m[1]), 0.5 * (v[2] + m[2]),
            0.5 * (v[3] + m[3]), 0.5 * (v[4] + m[4]), 0.5 * (v[5] + m[5]),
            0.5 * (v[6] + m[6]), 0.5 * (v[7] + m[7]))


@njit(cache=True, nogil=True, inline="always")
def _centred(v, means):
    """The controls c − μ of one unit's values."""
    return (v[3] - means[0], v[4] - means[1], v[5] - means[2], v[6] - means[3],
            v[7] - means[4])


@njit(cache=True, nogil=True, inline="always")
def _adjusted(y, c, beta):
    """y − Σ_i β_i c_i for one Greek (``beta`` a 5-tuple)."""
    return y - (beta[0] * c[0] + beta[1] * c[1] + beta[2] * c[2] + beta[3] * c[3]
                + beta[4] * c[4])


@njit(cache=True, nogil=True, inline="always")
def _row_moments(unit, values, args, n_units, coef, means, weight, slot, add_totals, totals,
                 out):
    """(mean, M2) of the adjusted estimates e_k = y_k − Σ_i β_ki (c_i − μ_i) of
    ``values(p, args)`` over ``n_units`` paths (antithetic pairs) into ``out[0..2]``, in one
    pass shifted by the first unit's values; adds weight × each to the group's per-unit
    ``totals`` (the group total and subtotal ``slot``) when ``add_totals``.  The estimates
    are formed unit by unit in a loop of their own (which the compiler vectorises), then
    summed in unit order."""
    beta0 = (coef[0, 0], coef[0, 1], coef[0, 2], coef[0, 3], coef[0, 4])
    beta1 = (coef[1, 0], coef[1, 1], coef[1, 2], coef[1, 3], coef[1, 4])
    beta2 = (coef[2, 0], coef[2, 1], coef[2, 2], coef[2, 3], coef[2, 4])
    mu = (means[0], means[1], means[2], means[3], means[4])
    e = np.empty((3, n_units))
    for u in range(n_units):
        v = unit(values, args, u, n_units)
        c = _centred(v, mu)
        e[0, u] = _adjusted(v[0], c, beta0)
        e[1, u] = _adjusted(v[1], c, beta1)
        e[2, u] = _adjusted(v[2], c, beta2)
    if add_totals:
        for u in range(n_units):
            add_to_totals(totals, u, slot, weight, e[0, u], e[1, u], e[2, u])
    shift_f, shift_d, shift_v = e[0, 0], e[1, 0], e[2, 0]
    sum_f = sum_d = sum_v = sq_f = sq_d = sq_v = 0.0
    for u in range(n_units):
        sum_f, sq_f = accumulate(e[0, u], shift_f, sum_f, sq_f)
        sum_d, sq_d = accumulate(e[1, u], shift_d, sum_d, sq_d)
        sum_v, sq_v = accumulate(e[2, u], shift_v, sum_v, sq_v)
    finish(shift_f, sum_f, sq_f, n_units, out[0])
    finish(shift_d, sum_d, sq_d, n_units, out[1])
    finish(shift_v, sum_v, sq_v, n_units, out[2])


@njit(cache=True, nogil=True, inline="always")
def _row_sums(unit, values, args, n_units, means, sums, control_sums, controls):
    """Add the pilot sums of one row (layout of ``N_SUMS``) over ``n_units`` units: those of
    y into ``sums``, those of the controls alone (its first ``CONTROL_SUMS``) into
    ``control_sums``, or, unless ``controls``, not at all (another row's are the same)."""
    n = N_CONTROLS
    c = np.empty(n)
    y = np.empty(3)
    base = n + n * n
    for u in range(n_units):
        v = unit(values, args, u, n_units)
        for i in range(n):
            c[i] = v[3 + i] - means[i]
        y[0], y[1], y[2] = v[0], v[1], v[2]
        if controls:
            for i in range(n):
                control_sums[i] += c[i]
                for k in range(n):
                    control_sums[n + i * n + k] += c[i] * c[k]
        for k in range(3):
            sums[base + k] += y[k]
            for i in range(n):
                sums[base + 3 + k * n + i] += y[k] * c[i]


@njit(cache=True, nogil=True)
def _patterns(payoff, n_units, antithetic, sums):
    """``sums[i]`` += the count of units with i paying members (payoff ≠ 0; a path has 0
    or 1, an antithetic pair (p, p + n_units) 0, 1 or 2), ``sums[PATTERNS]`` = 1: counted."""
    one = two = 0
    for u in range(n_units):
        paying = 1 if payoff[u] != 0.0 else 0
        if antithetic and payoff[u + n_units] != 0.0:
            paying += 1
        one += paying == 1
        two += paying == 2
    sums[0] += n_units - one - two
    sums[1] += one
    sums[2] += two
    sums[PATTERNS] = 1.0


@njit(cache=True, nogil=True, inline="always")
def _row(values, args, n_units, antithetic, coef, means, weight, slot, add_totals, collect,
         totals, out, sums, payoff, control_sums, controls):
    """One row of a chunk: its pilot sums with ``collect`` (those of the controls into
    ``control_sums`` where ``controls``, :func:`_row_sums`), else its moments and its
    units' patterns (:func:`_patterns`) by ``payoff`` (a conditional row's: what its further
    Greeks weigh)."""
    if not collect:
        _patterns(payoff, n_units, antithetic, sums)
    if collect:
        if antithetic:
            _row_sums(_pair, values, args, n_units, means, sums, control_sums, controls)
        else:
            _row_sums(_path, values, args, n_units, means, sums, control_sums, controls)
    elif antithetic:
        _row_moments(_pair, values, args, n_units, coef, means, weight, slot, add_totals,
                     totals, out)
    else:
        _row_moments(_path, values, args, n_units, coef, means, weight, slot, add_totals,
                     totals, out)


@njit(cache=True, nogil=True, inline="always")
def add_to_totals(totals, p, slot, weight, f, d, v):
    """Add the weighted estimates of unit p to the group total and to subtotal ``slot``."""
    totals[0, 0, p] += weight[0] * f
    totals[0, 1, p] += weight[1] * d
    totals[0, 2, p] += weight[2] * v
    if slot > 0:
        totals[slot, 0, p] += weight[0] * f
        totals[slot, 1, p] += weight[1] * d
        totals[slot, 2, p] += weight[2] * v


@njit(cache=True, nogil=True)
def group_total(totals, weight, total_of, out):
    """(mean, M2) of the group total and subtotals into ``out[rows:]``: from the per-path
    sums ``totals`` when there are several rows, else scaled from the single row's."""
    n_rows = weight.shape[0]
    if n_rows > 1:
        for t in range(totals.shape[0]):
            for k in range(3):
                moments(totals[t, k], out[n_rows + t, k])
        return
    for t in (0, total_of[0]):
        for k in range(3):
            out[1 + t, k, 0] = weight[0, k] * out[0, k, 0]
            out[1 + t, k, 1] = weight[0, k] * weight[0, k] * out[0, k, 1]


def control_coefficients(sums: np.ndarray, count: int, use_linear: bool = True) -> np.ndarray:
    """β (rows, 3, N_CONTROLS) from the pilot sums (rows, N_SUMS) over ``count`` units: the
    least-squares coefficients of each y_k on its controls (``CONTROLS_OF``), from their
    sample covariances (:func:`regression`); the L-controls are left out where
    ``use_linear`` is false."""
    n = N_CONTROLS
    mean = sums / count
    c = mean[:, :n]
    raw = mean[:, n:n + n * n].reshape(-1, n, n)
    y = mean[:, n + n * n:n + n * n + 3]
    cross = mean[:, n + n * n + 3:].reshape(-1, 3, n) - y[:, :, None] * c[:, None, :]
    cov = raw - c[:, :, None] * c[:, None, :]
    keep = np.repeat(CONTROLS_OF[None], len(sums), axis=0)
    if not use_linear:
        keep[:, :, list(LINEAR_CONTROLS)] = False
    return regression(np.repeat(cov[:, None], 3, axis=1), cross,
                      keep, np.repeat(np.diagonal(raw, axis1=-2, axis2=-1)[:, None], 3, axis=1))


def regression(cov: np.ndarray, cross: np.ndarray, keep: np.ndarray,
               second_moment: np.ndarray) -> np.ndarray:
    """Least-squares coefficients β (..., n) of y on n controls from their covariance
    ``cov`` (..., n, n) and their covariances with y ``cross`` (..., n), using only the
    controls in ``keep`` that vary (variance above 1e-10 of their raw ``second_moment``:
    a control that is constant, e.g. an odd score averaged over antithetic pairs, gets
    β = 0) and whose pilot sums are finite.  Solved on the correlation scale by
    pseudo-inverse, so that collinear controls share their coefficient instead of breaking
    the solve."""
    variance = np.diagonal(cov, axis1=-2, axis2=-1)
    finite = np.isfinite(cov).all(axis=-1) & np.isfinite(cross)
    cov, cross = np.where(np.isfinite(cov), cov, 0.0), np.where(np.isfinite(cross), cross, 0.0)
    used = keep & finite & (variance > 1e-10 * second_moment)
    scale = np.where(used, np.sqrt(np.maximum(variance, 0.0)), 0.0)
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
    correlation = cov * inverse[..., :, None] * inverse[..., None, :]
    solved = np.einsum("...ij,...j->...i", np.linalg.pinv(correlation, rcond=1e-8, hermitian=True),
                       cross * inverse)
    return np.nan_to_num(solved * inverse)
