"""Per-step helpers shared by the Heston schemes: normals, the initial state, stored dates."""

from __future__ import annotations

import numpy as np
from numba import njit

from greeks.pcg64 import fill_normals, fill_open_uniforms


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def draw_normals(rng, out, antithetic):
    """Standard normals into ``out``; with ``antithetic`` the second half is minus the
    first (the block's paths p and p + n/2 are an antithetic pair)."""
    half = out.size // 2 if antithetic else out.size
    fill_normals(rng, out[:half])
    for p in range(half, out.size):
        out[p] = -out[p - half]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def draw_step(rng, normals, i, k, out, antithetic):
    """Step k's normals of kind i (0: variance, 1: log-price) into ``out``: from
    ``normals[i, k]`` when given (randomised QMC), else from ``rng`` (:func:`draw_normals`)."""
    if normals.shape[1] > 0:
        out[:] = normals[i, k]
    else:
        draw_normals(rng, out, antithetic)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def draw_fixed(rng, out):
    """A step's fixed draws of every path: ``out[0]`` standard normals, the other rows
    uniforms on (0, 1) (:func:`greeks.pcg64.fill_open_uniforms`), the same number whatever the
    parameters, so that a sampler that needs a variable amount of randomness (inversion)
    never shifts the draws of other paths or steps."""
    fill_normals(rng, out[0])
    for i in range(1, out.shape[0]):
        fill_open_uniforms(rng, out[i])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def start_state(n_paths, v0, log_spot):
    """Per-path state at t = 0: variance, log-price, R and V."""
    return np.full(n_paths, v0), np.full(n_paths, log_spot), np.zeros(n_paths), np.zeros(n_paths)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def store_dates(k, column, level, r_sum, v_sum, x, residual, variance, v, states):
    """Keep x, R and V of every path at grid point k if it is a stored date, and its
    variance v there where ``states`` has rows."""
    col = column[k]
    if col >= 0:
        x[col] = level
        residual[col] = r_sum
        variance[col] = v_sum
        if states.shape[0] > 0:
            states[col] = v
