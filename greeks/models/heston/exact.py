"""The exact scheme: noncentral chi-square variance transitions, each from a fixed set of
draws of its own (common random numbers), with the scores in (κ, θ, ξ, ρ) of the chain
augmented by the Poisson counts of the transitions."""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from greeks.maths import (
    RECIPROCALS,
    bessel_quantile,
    digamma,
    gamma_log_quantile_table,
    tabulated_noncentral_chi_square_variate,
    zero_dof_start_table,
)
from greeks.models.heston.chain import draw_fixed, draw_step, start_state, store_dates
from greeks.models.heston.first_step import sampled_first_step


@functools.cache
def _universal_tables():
    """The zero-degree quantile's starting points and 1/k, k < RECIPROCALS (1 at 0)."""
    return zero_dof_start_table(), 1.0 / np.maximum(np.arange(RECIPROCALS), 1.0)


@functools.lru_cache(maxsize=16)
def exact_tables(shape):
    """The tables of :func:`simulate_exact` at d = ``shape``: the log-quantile nodes of
    Gamma(a + 1), a = (d − 1)/2 for d ≥ 1 and d/2 below (:func:`gamma_log_quantile_table`),
    the zero-degree starts and the reciprocals (the same for every d)."""
    a = 0.5 * (shape - 1.0) if shape >= 1.0 else 0.5 * shape
    return (gamma_log_quantile_table(a + 1.0), *_universal_tables())


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_exact(rng, n_paths, log_spot, v0, law, shape, carry_dt, e, chi_scale, k0, k1, k2,
                   k3, k4, k5, column, x, residual, variance, states, first_variance, slopes,
                   antithetic, normals, sampled, score_column, derivatives, d_shape, scores,
                   gamma_table, starts, reciprocals):
    """Exact-variance paths (noncentral chi-square transitions, I from
    :func:`integration_weights`); as simulate_qe (antithetic and given ``normals``: the
    log-price normals only; the variance draws stay independent).

    (Long: one numba kernel whose per-path, per-step loop, draws and scores stay whole.)

    Each transition x = v_k/c ~ χ'²_d(λ) reads its own fixed draws, one normal and three
    uniforms per path and step (:func:`draw_fixed`), whatever the parameters, and is a
    smooth function of them and of (λ, d) (:func:`tabulated_noncentral_chi_square_variate`:
    (Z + √λ)² + χ²_{d−1} for d ≥ 1, χ'²_0(λ) by inversion + χ²_d below; its tables,
    ``gamma_table``, ``starts`` and ``reciprocals``, from :func:`exact_tables`): a bump of v_0, the
    grid or (κ, θ, ξ) moves each path's variates a little but never which draws they read,
    so bumped chains keep their common random numbers.  The scores below are those of the
    chain augmented by the Poisson count N of the mixture χ'²_d(λ) = χ²_{d+2N},
    N ~ Poisson(λ/2); N is drawn from its law given x, the Bessel law of ν = d/2 − 1 and
    z = sqrt(λx) (:func:`bessel_quantile`, from the fourth uniform), so that (N, x) has the
    joint law Poisson(N; λ/2)·χ²_{d+2N}(x) while the path does not depend on N.
    With ``scores`` (score dates × 4 × paths; empty: none) the scores of the chain
    augmented by N in (κ, θ, ξ, ρ) are summed over the steps and kept at the grid points
    with ``score_column[k]`` ≥ 0.  Per step, with x = v_k/c, α = d/2 + N and Z the
    log-price normal, the log-density is log Pois(N; λ/2) + log χ²_{2α}(x) − log c
    + log φ(Z) − ½ log V_k, whose derivative in a parameter π is

        (N − λ/2) ∂log(e/c) + ½ ∂d (log(x/2) − ψ(α)) − (α − x/2) ∂log c
        + Z (∂k0 + ∂k1 v_{k−1} + ∂k2 v_k)/sqrt(V_k)
        + ½ (Z² − 1)(∂k3 v_{k−1} + ∂k4 v_k + ∂k5)/V_k

    (λ = v_{k−1} e/c, μ_k = carry + k0 + k1 v_{k−1} + k2 v_k, V_k = k3 v_{k−1} + k4 v_k + k5;
    ``derivatives`` holds ∂ of (k0, k1, k2, k3, k4, k5, log(e/c), log c) per parameter and
    step, ``d_shape`` ∂d).  The augmented density is smooth in every parameter, so the
    sum is an exact score: E[f·score] is the derivative of the chain's price, unbiased
    at any step size.  With ``sampled`` (``law`` = (κ, θ, ξ, ρ, Δ_1)) the first step's
    integrated variance is drawn given its end points (:func:`sampled_first_step`): its
    normal has a parameter-free density, so that step's Gaussian terms take the pathwise
    derivatives of its (μ_1, V_1) instead of the table's.
    """
    kappa, theta, xi, rho, first_dt = law
    v, level, r_sum, v_sum = start_state(n_paths, v0, log_spot)
    z_x = np.empty(n_paths)
    track = scores.shape[0] > 0
    total = np.zeros((4, n_paths))
    z_i = np.empty(n_paths)
    fixed = np.empty((4, n_paths))
    parameter_slopes = np.empty((2, 4, n_paths if track and sampled else 0))
    for k in range(e.size):
        draw_step(rng, normals, 1, k, z_x, antithetic)
        draw_fixed(rng, fixed)
        to_lambda = e[k] / chi_scale[k]
        first = k == 0 and sampled
        for p in range(n_paths):
            vp = v[p]
            lam = vp * to_lambda
            chi, log_half_chi = tabulated_noncentral_chi_square_variate(
                lam, shape, fixed[0, p], fixed[1, p], fixed[2, p], gamma_table, starts,
                reciprocals)
            v_next = chi_scale[k] * chi
            if track:  # the variance transition's terms
                count = bessel_quantile(0.5 * shape - 1.0, np.sqrt(lam * chi), fixed[3, p])
                alpha = 0.5 * shape + count
                shape_term = log_half_chi - digamma(alpha)
                for i in range(4):
                    total[i, p] += ((count - 0.5 * lam) * derivatives[6, i, k]
                                    + 0.5 * d_shape[i] * shape_term
                                    - (alpha - 0.5 * chi) * derivatives[7, i, k])
            if first:  # its log-price step follows for all paths at once
                v[p] = v_next
                continue
            var_k = k3[k] * vp + k4[k] * v_next + k5[k]
            root = np.sqrt(var_k)
            z = z_x[p]
            level[p] += carry_dt[k] + k0[k] + k1[k] * vp + k2[k] * v_next + root * z
            r_sum[p] += root * z
            v_sum[p] += var_k
            v[p] = v_next
            if track:  # the log-price step's
                for i in range(4):
                    total[i, p] += (z * (derivatives[0, i, k] + derivatives[1, i, k] * vp
                                         + derivatives[2, i, k] * v_next) / root
                                    + 0.5 * (z * z - 1.0) * (derivatives[3, i, k] * vp
                                                             + derivatives[4, i, k] * v_next
                                                             + derivatives[5, i, k]) / var_k)
        if first:
            sampled_first_step(rng, v0, v, level, r_sum, v_sum, z_x, z_i, slopes, first_dt,
                                kappa, theta, xi, rho, carry_dt[0], antithetic,
                                parameter_slopes)
            for p in range(n_paths if track else 0):
                z, var_k = z_x[p], v_sum[p]
                for i in range(4):
                    total[i, p] += (z * parameter_slopes[0, i, p] / np.sqrt(var_k)
                                    + 0.5 * (z * z - 1.0) * parameter_slopes[1, i, p] / var_k)
        if k == 0:
            first_variance[:] = v
        store_dates(k, column, level, r_sum, v_sum, x, residual, variance, v, states)
        if track and score_column[k] >= 0:
            scores[score_column[k]] = total
