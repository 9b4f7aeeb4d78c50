"""Full-truncation Euler, the baseline scheme."""

from __future__ import annotations

import numpy as np
from numba import njit

from greeks.models.heston.chain import draw_step, start_state, store_dates


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_euler(rng, n_paths, log_spot, v0, kappa, theta, xi, rho, carry_dt, dt, column, x,
                   residual, variance, states, first_variance, antithetic, normals):
    """Full-truncation Euler paths; as simulate_qe."""
    root = np.sqrt(1.0 - rho * rho)
    v, level, r_sum, v_sum = start_state(n_paths, v0, log_spot)
    z_v = np.empty(n_paths)
    z_x = np.empty(n_paths)
    for k in range(dt.size):
        draw_step(rng, normals, 0, k, z_v, antithetic)
        draw_step(rng, normals, 1, k, z_x, antithetic)
        for p in range(n_paths):
            positive = max(v[p], 0.0)
            spread = np.sqrt(positive * dt[k])
            dz = root * spread * z_x[p]
            level[p] += carry_dt[k] - 0.5 * positive * dt[k] + rho * spread * z_v[p] + dz
            r_sum[p] += dz
            v_sum[p] += (1.0 - rho * rho) * positive * dt[k]
            v[p] += kappa * (theta - positive) * dt[k] + xi * spread * z_v[p]
        if k == 0:
            first_variance[:] = v
        store_dates(k, column, level, r_sum, v_sum, x, residual, variance, v, states)
