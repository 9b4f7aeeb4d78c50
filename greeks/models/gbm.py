"""Geometric Brownian motion: exact simulation on a time grid and its score weights.

Under the risk-neutral measure dS = (r − q) S dt + σ S dW, so on any grid
0 = t_0 < t_1 < ... < t_m

    log S(t_k) = log S0 + (r − q − σ²/2) t_k + σ W(t_k),
    W(t_k) = W(t_{k−1}) + sqrt(t_k − t_{k−1}) · Z_k,   Z_k iid N(0, 1),

which is exact: there is no discretisation error at any step size.

Score weights (Broadie & Glasserman 1996, Glasserman 2004 §7.3).  A payoff that
reads the path only on the dates t_{d_1} < ... < t_{d_n} of one row has a price
E[f(S_{d_1}, ..., S_{d_n})]; the log-density of those log-returns is

    Σ_i [ −log(σ sqrt(Δ_i)) − (x_i − (r − q − σ²/2) Δ_i)² / (2 σ² Δ_i) ],  x_i = log(S_{d_i}/S_{d_{i−1}}),

with Δ_i = t_{d_i} − t_{d_{i−1}} and S_{d_0} = S0.  Writing Z_i = (W(t_{d_i}) − W(t_{d_{i−1}}))/sqrt(Δ_i)
for the increment aggregated onto the row's own dates, its derivatives are

    ∂/∂S0 = Z_1 / (S0 σ sqrt(Δ_1))                          (only x_1 depends on S0),
    ∂/∂σ  = Σ_i [ (Z_i² − 1)/σ − Z_i sqrt(Δ_i) ]            (every x_i depends on σ).

Both have mean zero, so E[f · w] is exactly dE[f]/dθ (the likelihood-ratio
identity; differentiation under the integral holds for any f of polynomial
growth, including the discontinuous digital and barrier payoffs).  Using the
row's dates rather than the finer simulation grid matters: the coarse score is
the conditional expectation of the fine one given the row's dates, so it is
unbiased with never larger variance (a daily grid would multiply a European
delta's variance by about the number of grid steps).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def simulate(rng, n_paths, times, log_spot, carry, sigma, antithetic=False):
    """Exact GBM paths on ``times`` (increasing, > 0), ``n_paths`` of them.

    Returns ``(w, x)``, both of shape ``(n_paths, len(times))``: the Brownian
    motion W(t_k) and the log-price log S0 + (carry − σ²/2) t_k + σ W(t_k), with
    ``carry`` = r − q.  Normals are drawn from ``rng`` in one block, path-major.  With
    ``antithetic`` (``n_paths`` even) only the first half is drawn and path p + n/2 is
    the mirror image of path p (normals −Z).
    """
    m = times.size
    half = n_paths // 2 if antithetic else n_paths
    w = np.empty((n_paths, m))
    w[:half] = rng.standard_normal(half * m).reshape((half, m))
    x = np.empty((n_paths, m))
    root_dt = np.empty(m)
    mean = np.empty(m)
    previous = 0.0
    for k in range(m):
        root_dt[k] = np.sqrt(times[k] - previous)
        mean[k] = log_spot + (carry - 0.5 * sigma * sigma) * times[k]
        previous = times[k]
    if m == 1:  # one date: the same recursion without the inner loop's overhead
        w_flat, x_flat = w.reshape(n_paths), x.reshape(n_paths)
        for p in range(half):
            level = root_dt[0] * w_flat[p]
            w_flat[p] = level
            x_flat[p] = mean[0] + sigma * level
        if antithetic:
            for p in range(half):
                w_flat[p + half] = -w_flat[p]
                x_flat[p + half] = mean[0] - sigma * w_flat[p]
        return w, x
    for p in range(half):
        level = 0.0
        for k in range(m):
            level += root_dt[k] * w[p, k]
            w[p, k] = level
            x[p, k] = mean[k] + sigma * level
            if antithetic:
                w[p + half, k] = -level
                x[p + half, k] = mean[k] - sigma * level
    return w, x


@njit(cache=True, nogil=True)
def score_setup(times, dates, spot, sigma):
    """Per-row constants of :func:`path_scores`: 1/Δ_i on the row's dates and 1/(S0 σ Δ_1)."""
    inverse_dt = np.empty(dates.size)
    previous = 0.0
    for i in range(dates.size):
        inverse_dt[i] = 1.0 / (times[dates[i]] - previous)
        previous = times[dates[i]]
    return inverse_dt, inverse_dt[0] / (spot * sigma)


@njit(cache=True, nogil=True, inline="always")
def path_scores(p, args):
    """Delta and vega score weights of path ``p`` on one row's ``dates`` (indices into the grid).

    With the Brownian increments aggregated onto those dates,
    Z_i sqrt(Δ_i) = W(t_{d_i}) − W(t_{d_{i−1}}):

        w_Δ = W(t_{d_1}) / (S0 σ t_{d_1})            = Z_1 / (S0 σ sqrt(Δ_1)),
        w_σ = (Σ_i ΔW_i²/Δ_i − n)/σ − W(t_{d_n})     = Σ_i [(Z_i² − 1)/σ − Z_i sqrt(Δ_i)].

    ``args`` = (w, dates, 1/Δ_i, 1/(S0 σ Δ_1), σ) from :func:`score_setup`.
    """
    w, dates, inverse_dt, delta_scale, sigma = args
    squares = 0.0
    level = 0.0
    for i in range(dates.size):
        step = w[p, dates[i]] - level
        squares += step * step * inverse_dt[i]
        level = w[p, dates[i]]
    return w[p, dates[0]] * delta_scale, (squares - dates.size) / sigma - level
