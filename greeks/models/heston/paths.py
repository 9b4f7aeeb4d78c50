"""The Heston block driver: every scheme's kernel over blocks of paths, antithetic pairs and
given normals, the stored dates and the first step's slopes."""

from __future__ import annotations

import numpy as np

from greeks.models.heston.constants import Constants, parameter_derivatives
from greeks.models.heston.euler import simulate_euler
from greeks.models.heston.exact import exact_tables, simulate_exact
from greeks.models.heston.qe import simulate_qe
from greeks.models.heston.schema import EULER, EXACT, QE
from greeks.models.heston.scores import first_step_derivatives

BLOCK = 8192  # paths advanced together, step by step: their state stays in cache


def simulate(rng, scheme: int, n_paths: int, log_spot: float, v0: float, kappa: float,
             theta: float, xi: float, rho: float, c: Constants, column: np.ndarray,
             n_columns: int, antithetic: bool = False, scores_at: np.ndarray | None = None,
             normals: np.ndarray | None = None, sampled: bool = False, states: bool = False):
    """Simulate ``n_paths`` paths, in blocks of ``BLOCK``; returns (x, R, V, v_1, slopes,
    scores, v) as described in the module docstring, slopes = (∂μ_1/∂v_0, ∂V_1/∂v_0) per
    path (paths × 2), v the variance on the stored dates with ``states`` (no columns
    without).

    x, R and V are (paths × n_columns) views of date-major arrays, column ``column[k]``
    holding their values at grid point k (−1: not stored).  With ``antithetic``
    (``n_paths`` even) path p + n/2 reads minus the normals of path p: each block simulates
    a slice of the first half beside its mirror, and the two are stored apart.
    ``scores_at`` (grid points; ``exact`` only): the chain's (κ, θ, ξ, ρ) scores summed up
    to each of them (:func:`simulate_exact`), as a (paths × len(scores_at) × 4) array;
    otherwise ``scores`` is None.  ``normals`` (2 × steps × paths): the normals of the
    variance and the log-price at every step, instead of draws from ``rng`` (randomised QMC;
    not with ``antithetic``).  With ``sampled`` (``qe`` and ``exact``) the first step's
    integrated variance is drawn given its end points (:func:`sampled_step`).
    """
    sampled = sampled and scheme != EULER
    x = np.empty((n_columns, n_paths))
    residual = np.empty((n_columns, n_paths))
    variance = np.empty((n_columns, n_paths))
    level = np.empty((n_columns if states else 0, n_paths))
    first_variance = np.empty(n_paths)
    slopes = np.empty((2, n_paths))
    law = (kappa, theta, xi, rho, float(c.dt[0]))
    shape = 4.0 * kappa * theta / (xi * xi)
    n_scores = 0 if scores_at is None else len(scores_at)
    if n_scores:
        if scheme != EXACT:
            raise ValueError("parameter scores are kept for the exact scheme only")
        derivatives, d_shape = parameter_derivatives(c.times, kappa, theta, xi, rho, c.carry)
    else:
        derivatives, d_shape = np.zeros((8, 4, 0)), np.zeros(4)
    score_column = np.full(c.dt.size, -1, dtype=np.int64)
    if n_scores:
        score_column[scores_at] = np.arange(n_scores)
    scores = np.empty((n_scores, 4, n_paths))
    half = n_paths // 2 if antithetic else n_paths
    step = BLOCK // 2 if antithetic else BLOCK
    for start in range(0, half, step):
        width = min(step, half - start)
        # (paths of the chunk, columns of the block): the slice and its mirror
        parts = [(slice(start, start + width), slice(0, width))]
        if antithetic:
            parts.append((slice(half + start, half + start + width), slice(width, 2 * width)))
        size = 2 * width if antithetic else width
        block = [np.empty((n_columns, size)) for _ in range(3)] + [
            np.empty((n_columns if states else 0, size)), np.empty(size)]
        block_slopes = np.empty((2, size))
        given = (np.empty((2, 0, 0)) if normals is None
                 else np.ascontiguousarray(normals[:, :, start:start + width]))
        out = (column, *block)
        if scheme == QE:
            first_rng = (np.random.Generator(np.random.PCG64(rng.integers(2**63))) if sampled
                         else rng)  # unused
            simulate_qe(rng, size, log_spot, v0, law, shape, c.carry_dt, c.e, c.mean_var,
                        c.base_var, c.chi_scale, c.k0, c.k1, c.k2, c.k3, c.k4, c.k5,
                        c.mgf_arg, *out, block_slopes, antithetic, given, sampled, first_rng)
        elif scheme == EXACT:
            block_scores = np.empty((n_scores, 4, size))
            simulate_exact(rng, size, log_spot, v0, law, shape, c.carry_dt, c.e, c.chi_scale,
                           c.exact_k0, c.exact_k1, c.k2, c.k3, c.k4, c.k5, *out, block_slopes,
                           antithetic, given, sampled, score_column, derivatives, d_shape,
                           block_scores, *exact_tables(shape))
            for paths, part in parts:
                scores[:, :, paths] = block_scores[:, :, part]
        else:
            simulate_euler(rng, size, log_spot, v0, kappa, theta, xi, rho, c.carry_dt, c.dt,
                           *out, antithetic, given)
        for paths, part in parts:  # slices: a fancy index on the paths axis is ~100× slower
            x[:, paths], residual[:, paths] = block[0][:, part], block[1][:, part]
            variance[:, paths], first_variance[paths] = block[2][:, part], block[4][part]
            level[:, paths] = block[3][:, part]
            if sampled:
                slopes[:, paths] = block_slopes[:, part]
    if not sampled:
        slopes[:] = np.array(first_step_derivatives(scheme, v0, kappa, theta, xi, rho, c))[:, None]
    return (x.T, residual.T, variance.T, first_variance, slopes.T,
            scores.transpose(2, 0, 1) if n_scores else None, level.T)
