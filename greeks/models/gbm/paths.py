"""Exact GBM paths on a grid: log S(t_k) = log S0 + (r − q − σ²/2) t_k + σ W(t_k)."""

from __future__ import annotations

import numpy as np
from numba import njit

from greeks.pcg64 import fill_normals


@njit(cache=True, nogil=True)
def simulate(rng, n_paths, times, log_spot, carry, sigma, antithetic):
    """Exact GBM paths on ``times`` (increasing, > 0), ``n_paths`` of them.

    Returns ``(w, x)``, both of shape ``(n_paths, len(times))``: the Brownian
    motion W(t_k) and the log-price log S0 + (carry − σ²/2) t_k + σ W(t_k), with
    ``carry`` = r − q.  Normals are drawn from ``rng`` in one block, path-major.  With
    ``antithetic`` (``n_paths`` even) only the first half is drawn and path p + n/2 is
    the mirror image of path p (normals −Z).  ``antithetic`` has no default: an omitted
    argument is another signature, which numba would compile again.
    """
    m = times.size
    half = n_paths // 2 if antithetic else n_paths
    w = np.empty((n_paths, m))
    fill_normals(rng, w.reshape(n_paths * m)[:half * m])
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
