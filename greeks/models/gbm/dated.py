"""GBM off a market: rate and yield curves, a vol term structure, discrete dividends.

Paths.  With total variance w(t) (:mod:`greeks.market.volatility`) the zero-carry price is a
σ = 1 GBM run on the variance clock τ = w(t) (a deterministic time change): with W̃ a
Brownian motion in τ and the growth G of :mod:`greeks.market.dynamics`,

    S(t_k) = S(t_{k−1}) · G(t_k)/G(t_{k−1}) · exp(−Δτ_k/2 + e_k),   e_k = W̃(τ_k) − W̃(τ_{k−1}),

exact on any grid; a cash dividend D at grid point k then drops the price,
S(t_k) = max(S(t_k) − D, 0) (:func:`simulate_dated`).  Without cash dividends this is
S(t) = S0 G(t) exp(−τ/2 + W̃(τ)), so E[S(t)] = S0 G(t).

Weights.  Take a row's *score dates* s_1 < ... < s_n: its own dates and the cash ex-dates
up to its expiry.  Between consecutive score dates no dividend is paid, so the log-return
x_i from the (post-drop) price at s_{i−1} to the (pre-drop) price at s_i is Gaussian,
N(log(G(s_i)/G(s_{i−1})) − Δw_i/2, Δw_i), independently of the past; the drops are
deterministic maps, and the payoff is a function of these log-returns.  Only the first
return's mean involves S0 (through log S0), and every return's law involves a parallel
vol shift ε through Δw_i(ε), so (the likelihood-ratio identity on this product density)

    w_Δ = e_1 / (S0 Δw_1)                                   (= W̃(τ_{s_1}) / (S0 τ_{s_1})),
    w_ε = Σ_i a_i [(e_i²/Δw_i − 1) − e_i],   a_i = (∂Δw_i/∂ε) / (2 Δw_i),

with e_i the variance-clock increment over (s_{i−1}, s_i].  Each term has mean zero given
the past, so E[f · w] = ∂E[f]/∂θ: unbiased, for digital and barrier payoffs too.  The
carry does not enter either weight.  A flat vol σ gives a_i = 1/σ and w_ε the weight of
:mod:`greeks.models.gbm.scores`.  A path whose price a cash drop takes to 0 stays at 0;
its later terms still have mean zero given the past, so the weight stays unbiased.  Using
the row's own score dates rather than the whole grid is the conditional expectation of
the fine-grid score given them (same mean, never more variance).  Per-node vegas would
be further weights Σ_i (∂Δw_i/∂σ_j)/(2Δw_i) [...] on the same increments.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from greeks import estimators, pathwise, payoffs
from greeks.pcg64 import fill_normals


@njit(cache=True, nogil=True)
def simulate_dated(rng, n_paths, clock, log_growth, cash, spot, antithetic=False):
    """Paths on a grid whose variance clock is ``clock`` (τ_k = w(t_k), increasing, > 0),
    with log G(t_k)/G(t_{k−1}) in ``log_growth`` and the cash dividend paid at each grid
    point in ``cash`` (0: none).  Returns ``(w, s, u)`` (paths × grid): W̃(τ_k), S(t_k) and
    the unfloored prices Ŝ(t_k) (the drops not floored at 0; ``s`` itself without cash
    dividends), on which the controls read the linear payoff (:mod:`greeks.engine.dated`).
    Normals are drawn from ``rng`` in one block, path-major; with ``antithetic`` path
    p + n/2 mirrors path p."""
    m = clock.size
    half = n_paths // 2 if antithetic else n_paths
    w = np.empty((n_paths, m))
    fill_normals(rng, w.reshape(n_paths * m)[:half * m])
    s = np.empty((n_paths, m))
    paid = False
    for k in range(m):
        paid = paid or cash[k] > 0.0
    u = np.empty((n_paths, m)) if paid else s
    root = np.empty(m)
    drift = np.empty(m)
    previous = 0.0
    for k in range(m):
        root[k] = np.sqrt(clock[k] - previous)
        drift[k] = log_growth[k] - 0.5 * (clock[k] - previous)
        previous = clock[k]
    for p in range(half):
        level = 0.0
        price = free = mirror = mirror_free = spot
        for k in range(m):
            step = root[k] * w[p, k]
            level += step
            w[p, k] = level
            factor = np.exp(drift[k] + step)
            price = max(price * factor - cash[k], 0.0) if cash[k] > 0.0 else price * factor
            s[p, k] = price
            if paid:
                free = free * factor - cash[k]
                u[p, k] = free
            if antithetic:
                w[p + half, k] = -level
                factor = np.exp(drift[k] - step)
                mirror = (max(mirror * factor - cash[k], 0.0) if cash[k] > 0.0
                          else mirror * factor)
                s[p + half, k] = mirror
                if paid:
                    mirror_free = mirror_free * factor - cash[k]
                    u[p + half, k] = mirror_free
    return w, s, u


@njit(cache=True, nogil=True)
def dated_scores(w, clock, shift, dates, spot, w_delta, w_vega):
    """``w_delta[p]``, ``w_vega[p]``: the delta and parallel-vega weights of path p on a
    row's score dates ``dates`` (grid indices), ``shift`` = ∂w/∂ε on the grid (module
    docstring)."""
    n = dates.size
    inverse = np.empty(n)
    scale = np.empty(n)
    before_clock, before_shift = 0.0, 0.0
    for i in range(n):
        dw = clock[dates[i]] - before_clock
        inverse[i] = 1.0 / dw
        scale[i] = 0.5 * (shift[dates[i]] - before_shift) / dw
        before_clock, before_shift = clock[dates[i]], shift[dates[i]]
    delta_scale = 1.0 / (spot * clock[dates[0]])
    for p in range(w.shape[0]):
        level = 0.0
        total = 0.0
        for i in range(n):
            e = w[p, dates[i]] - level
            total += scale[i] * (e * e * inverse[i] - 1.0 - e)
            level = w[p, dates[i]]
        w_delta[p] = w[p, dates[0]] * delta_scale
        w_vega[p] = total


@njit(cache=True, nogil=True)
def likelihood_ratio_dated(s, u, w, clock, shift, spot, date_start, date_index, score_start,
                           score_index, spec, forward, forward_slope, weight, total_of,
                           n_totals, coef, antithetic, collect, out, sums):
    """Moments of every row of a dated GBM group on one chunk, as
    :func:`greeks.estimators.likelihood_ratio_gbm` does with the weights of
    :func:`dated_scores` (row j's score dates: ``score_index[score_start[j]:...]``); the
    linear payoff L is read on the unfloored prices ``u``, with E[L] = ``forward[j]`` and
    ∂E[L]/∂S0 = ``forward_slope[j]`` (:mod:`greeks.engine.dated`)."""
    n_units = s.shape[0] // 2 if antithetic else s.shape[0]
    n_rows = spec.kind.size
    totals = np.zeros((n_totals, 3, n_units if n_rows > 1 else 0))
    payoff = np.empty(s.shape[0])
    linear = np.empty(s.shape[0])
    w_delta = np.empty(s.shape[0])
    w_vega = np.empty(s.shape[0])
    for j in range(n_rows):
        dates = date_index[date_start[j]:date_start[j + 1]]
        payoffs.evaluate(s, dates, spec, j, payoff)
        estimators.linear_payoff(u, dates, spec.kind[j] == payoffs.ASIAN, spec.discount[j],
                                 linear)
        dated_scores(w, clock, shift, score_index[score_start[j]:score_start[j + 1]], spot,
                     w_delta, w_vega)
        means = np.array([forward[j], 0.0, forward_slope[j], 0.0, 0.0])
        estimators.row_estimate((payoff, linear, w_delta, w_vega), n_units, antithetic,
                                coef[j], means, weight[j], total_of[j], n_rows > 1, collect,
                                totals, out[j], sums[j])
    estimators.group_total(totals, weight, total_of, out)


@njit(cache=True, nogil=True)
def pathwise_values(s, w, clock, shift, dates, asian, omega, strike, discount, spot, payoff,
                    delta, vega):
    """Per path of a grid without cash dividends: the discounted payoff of a european or
    asian row on its dates ``dates`` and its pathwise delta and parallel vega.  Here
    S(t_k) = S0 G(t_k) exp(−w(t_k)/2 + W̃(w(t_k))), and with the vol curve shifted by ε the
    same normals give the increments e_k sqrt(Δw_k(ε)/Δw_k), so

        ∂S(t_k)/∂S0 = S(t_k)/S0,
        ∂S(t_k)/∂ε = S(t_k) (Σ_{j ≤ k} a_j e_j − w'(t_k)/2),   a_j = Δw'_j / (2 Δw_j),

    (w' = ∂w/∂ε in ``shift``, e_j = W̃(τ_j) − W̃(τ_{j−1}) from ``w``; a flat vol gives the
    flat pathwise vega, S(t)(W(t) − σt)); with A = S(T) or the average over the dates,
    delta = DF ω 1{ω(A − K) > 0} A/S0 and vega = DF ω 1{ω(A − K) > 0} ∂A/∂ε
    (:mod:`greeks.pathwise`)."""
    last = dates[dates.size - 1]
    scale = np.empty(last + 1)
    before_clock, before_shift = 0.0, 0.0
    for k in range(last + 1):
        scale[k] = 0.5 * (shift[k] - before_shift) / (clock[k] - before_clock)
        before_clock, before_shift = clock[k], shift[k]
    for p in range(s.shape[0]):
        level = slope = moved = previous = 0.0
        i = 0
        for k in range(last + 1):
            moved += scale[k] * (w[p, k] - previous)
            previous = w[p, k]
            while i < dates.size and dates[i] == k:
                if asian or i == dates.size - 1:
                    level += s[p, k]
                    slope += s[p, k] * (moved - 0.5 * shift[k])
                i += 1
        if asian:
            level /= dates.size
            slope /= dates.size
        pathwise.store(p, level, slope, omega, strike, discount, spot, payoff, delta, vega)


@njit(cache=True, nogil=True)
def node_weights(w, clock, node_shift, dates, out):
    """``out[j, p]``: the score of vol node j on path p, on a row's score dates ``dates``,

        w_j = Σ_i b_ij [(e_i²/Δw_i − 1) − e_i],   b_ij = (∂Δw_i/∂σ_j) / (2 Δw_i),

    with ``node_shift[j, k]`` = ∂w(t_k)/∂σ_j: the parallel weight of :func:`dated_scores`
    split by node (Σ_j b_ij = a_i), each term of mean zero given the past, so
    E[f w_j] = ∂V/∂σ_j (the module docstring's argument with one node moved)."""
    n, nodes = dates.size, node_shift.shape[0]
    inverse = np.empty(n)
    scale = np.empty((nodes, n))
    before = 0.0
    for i in range(n):
        dw = clock[dates[i]] - before
        inverse[i] = 1.0 / dw
        for j in range(nodes):
            previous = node_shift[j, dates[i - 1]] if i > 0 else 0.0
            scale[j, i] = 0.5 * (node_shift[j, dates[i]] - previous) / dw
        before = clock[dates[i]]
    for p in range(w.shape[0]):
        for j in range(nodes):
            out[j, p] = 0.0
        level = 0.0
        for i in range(n):
            e = w[p, dates[i]] - level
            term = e * e * inverse[i] - 1.0 - e
            for j in range(nodes):
                out[j, p] += scale[j, i] * term
            level = w[p, dates[i]]


@njit(cache=True, nogil=True)
def gamma_weights(w, clock, first, spot, out):
    """``out[p]``: the gamma weight of path p, the likelihood-ratio identity applied twice
    to the law of the first segment (up to the row's first score date, grid index
    ``first``), N(log S0 + log G − Δw_1/2, Δw_1):

        m = (e_1²/Δw_1 − 1 − e_1) / (S0² Δw_1)

    (score² plus the score's S0-derivative; the flat-vol weight of
    :mod:`greeks.sensitivities` with e_1 = σ W(t_1), Δw_1 = σ² t_1)."""
    dw = clock[first]
    scale = 1.0 / (spot * spot * dw)
    for p in range(w.shape[0]):
        e = w[p, first]
        out[p] = (e * e / dw - 1.0 - e) * scale


@njit(cache=True, nogil=True)
def factor_weights(w, s, clock, dates, variance, drift, cash_at, cash, discount, out):
    """``out[k, p]``: the weight of market factor k on path p over a row's score dates
    ``dates`` (:mod:`greeks.market.factors`),

        w_k = Σ_i [variance[k, i] (e_i²/Δw_i − 1 − e_i) + drift[k, i] e_i/Δw_i] − discount[k]

    plus, for a cash dividend ``cash[k]`` paid at score date c = ``cash_at[k]`` ≥ 0, the
    term −(e_c/Δw_c + 1)/S(s_c−), S(s_c−) = S(s_c) + ``cash[k]`` the pre-drop price (0 where
    S(s_c) = 0).  Each term has mean zero given the past, so E[f w_k] = ∂E[f]/∂θ_k − c_k E[f]."""
    n, factors = dates.size, variance.shape[0]
    inverse = np.empty(n)
    before = 0.0
    for i in range(n):
        inverse[i] = 1.0 / (clock[dates[i]] - before)
        before = clock[dates[i]]
    for p in range(w.shape[0]):
        for k in range(factors):
            out[k, p] = -discount[k]
        level = 0.0
        for i in range(n):
            e = w[p, dates[i]] - level
            level = w[p, dates[i]]
            spread = e * e * inverse[i] - 1.0 - e
            mean = e * inverse[i]
            for k in range(factors):
                out[k, p] += variance[k, i] * spread + drift[k, i] * mean
                if cash_at[k] == i:
                    price = s[p, dates[i]]
                    if price > 0.0:
                        out[k, p] -= (mean + 1.0) / (price + cash[k])


@njit(cache=True, nogil=True)
def theta_weights(w, clock, dates, offset, variance, log_discount, out):
    """``out[p]``: ρ_p − 1, with ρ_p the likelihood ratio of path p's segments under the
    dynamics one day later (N(μ_i − offset_i, variance_i) against N(μ_i, Δw_i)) times
    DF⁺/DF: E[DF f ρ] is the value one day later on the same dates, so E[DF f (ρ − 1)] is
    the one-day change (:class:`greeks.market.factors.Theta`)."""
    n = dates.size
    dw = np.empty(n)
    before = 0.0
    constant = log_discount
    for i in range(n):
        dw[i] = clock[dates[i]] - before
        before = clock[dates[i]]
        constant -= 0.5 * np.log(variance[i] / dw[i])
    for p in range(w.shape[0]):
        level = 0.0
        total = constant
        for i in range(n):
            e = w[p, dates[i]] - level
            level = w[p, dates[i]]
            shifted = e + offset[i]
            total += 0.5 * (e * e / dw[i] - shifted * shifted / variance[i])
        out[p] = np.exp(total) - 1.0
