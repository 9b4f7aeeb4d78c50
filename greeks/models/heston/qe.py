"""Andersen's (2008) quadratic-exponential scheme with its martingale correction."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from greeks.maths import (
    INVERSE_ROOT_TWO,
    gamma_quantile,
    noncentral_chi_square_variate,
)
from greeks.models.heston.chain import draw_step, start_state, store_dates
from greeks.models.heston.first_step import sampled_first_step
from greeks.pcg64 import fill_open_uniforms

PSI_CRITICAL = 1.5
ATOM_BELOW = -0.85  # Φ(−0.85) = 0.198 < (ψ_c − 1)/(ψ_c + 1): the exponential regime's atom
FOLD_EVERY = 16  # QE folds its product of q factors into the log-price this often (and at dates)
LOG_ROOT_TWO_PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _qe_moments(v, e, mean_var, base_var, theta):
    """Exact conditional mean m and variance s² of the next variance, given v."""
    return theta + (v - theta) * e, v * mean_var + base_var


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _qe_quadratic(m, s2):
    """(b², a) of the quadratic regime v' = a(b + Z)², from 2/ψ = 2m²/s²."""
    inverse = 2.0 * m * m / s2
    b2 = inverse - 1.0 + np.sqrt(inverse * (inverse - 1.0))
    return b2, m / (1.0 + b2)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _qe_exponential(m, s2):
    """(p, β) of the exponential regime: p = (ψ − 1)/(ψ + 1), β = (1 − p)/m."""
    total = s2 + m * m
    return (s2 - m * m) / total, 2.0 * m / total


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def qe_law(v, e, mean_var, base_var, theta):
    """QE parameters from v: (True, b², a) when ψ ≤ ψ_c, else (False, p, β).

    ``v`` may be complex (complex-step differentiation); the regime follows Re ψ.
    """
    m, s2 = _qe_moments(v, e, mean_var, base_var, theta)
    if (s2 - PSI_CRITICAL * m * m).real <= 0.0:
        b2, a = _qe_quadratic(m, s2)
        return True, b2, a
    p, beta = _qe_exponential(m, s2)
    return False, p, beta


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def qe_log_mgf(quadratic, first, second, mgf_arg):
    """(finite?, log E[e^{A v'}]) under the QE law with parameters from :func:`qe_law`."""
    if quadratic:
        b2, a = first, second
        q = 1.0 - 2.0 * mgf_arg * a
        if q.real <= 0.0:
            return False, 0.0 * q
        return True, mgf_arg * b2 * a / q - 0.5 * np.log(q)
    p, beta = first, second
    if mgf_arg >= beta.real:
        return False, 0.0 * beta
    return True, np.log(p + beta * (1.0 - p) / (beta - mgf_arg))


@njit(cache=True, nogil=True, error_model="numpy")
def qe_log_density(v0, v1, e, mean_var, base_var, theta):
    """log p(v1 | v0) of the QE law (density on v1 > 0; log-mass of the atom at v1 = 0).

    Quadratic regime, v1 = a(b + Z)²: p = [φ(y − b) + φ(y + b)]/(2ay), y = sqrt(v1/a).
    Exponential regime: p·δ_0 + (1 − p) β e^{−β v1}.
    """
    quadratic, first, second = qe_law(v0, e, mean_var, base_var, theta)
    if quadratic:
        b = np.sqrt(first)
        y = np.sqrt(v1 / second)
        return (-0.5 * (y - b) * (y - b) + np.log(1.0 + np.exp(-2.0 * y * b))
                - LOG_ROOT_TWO_PI - np.log(2.0 * second * y))
    if v1 == 0.0:
        return np.log(first)
    return np.log(1.0 - first) + np.log(second) - second * v1


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _qe_exponential_variate(p, beta, z):
    """The exponential regime's variate from the normal z: 0 when U = Φ(z) ≤ p, else
    log((1 − p)/(1 − U))/β (one normal per step in either regime: aligned streams).
    In this regime p ≥ (ψ_c − 1)/(ψ_c + 1) = 0.2 > Φ(ATOM_BELOW): below it, the atom."""
    if z < ATOM_BELOW:
        return 0.0
    tail = 0.5 * math.erfc(z * INVERSE_ROOT_TWO)  # 1 − U, accurate near U = 1
    return 0.0 if tail >= 1.0 - p else np.log((1.0 - p) / tail) / beta


@njit(cache=True, nogil=True, error_model="numpy")
def _qe_exponential_pass(which, v, z_v, v_next, mean, q_product, theta, decay, slope, base,
                         a_mgf, drift, plain, plain_slope, half_k3, k2_k):
    """Redo the paths ``which`` of one QE step, those in the exponential regime (kept out of
    line, over the gathered indices only: the quadratic pass stays a vectorised loop, and no
    branch on the regime remains to be mispredicted)."""
    for p in which:
        vp = v[p]
        m, s2 = _qe_moments(vp, decay, slope, base, theta)
        first, second = _qe_exponential(m, s2)
        v_next[p] = _qe_exponential_variate(first, second, z_v[p])
        # M(A) = p + β(1 − p)/(β − A), finite for A < β; −log M(A) enters the log-price
        # as ½ log of the factor 1/M(A)² kept in ``q_product``
        if a_mgf < second:
            mgf = first + second * (1.0 - first) / (second - a_mgf)
            mean[p] = k2_k * v_next[p] + drift - half_k3 * vp
            q_product[p] /= mgf * mgf
        else:
            mean[p] = k2_k * v_next[p] + plain + plain_slope * vp


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _qe_step(k, v, level, q_product, r_sum, v_sum, z_v, z_x, v_next, mean, flag, which, theta,
             carry_dt, e, mean_var, base_var, k0, k1, k2, k3, k4, k5, mgf_arg):
    """One QE step of every path.  The quadratic regime (the common one) runs as a
    branch-free loop over all paths, flagging those in the exponential regime; their
    indices are gathered into ``which`` and they are redone after it.
    The log-price is ``level`` + ½ log ``q_product`` (:func:`_fold`); ``v_next`` and ``mean``
    are work arrays."""
    a_mgf, decay, slope, base = mgf_arg[k], e[k], mean_var[k], base_var[k]
    drift, plain, plain_slope, half_k3, k2_k = carry_dt[k] - 0.5 * k5[k], carry_dt[k] + k0[k], \
        k1[k], 0.5 * k3[k], k2[k]
    exponential = False
    for p in range(v.size):
        vp = v[p]
        m, s2 = _qe_moments(vp, decay, slope, base, theta)
        quadratic = s2 <= PSI_CRITICAL * m * m
        exponential |= not quadratic
        flag[p] = not quadratic
        b2, a = _qe_quadratic(m, s2)
        root = np.sqrt(b2) + z_v[p]
        following = a * root * root
        v_next[p] = following
        # log M(A) = A b² a/q − ½ log q, finite for q > 0; ½ log q is kept as a factor of
        # ``q_product`` (one logarithm per stored date instead of one per step)
        q = 1.0 - 2.0 * a_mgf * a
        corrected = q > 0.0
        mean[p] = (drift - a_mgf * b2 * a / q - half_k3 * vp if corrected
                   else plain + plain_slope * vp) + k2_k * following
        q_product[p] *= q if corrected and quadratic else 1.0
    if exponential:
        count = 0
        for p in range(v.size):
            which[count] = p
            count += flag[p]
        _qe_exponential_pass(which[:count], v, z_v, v_next, mean, q_product, theta, decay,
                             slope, base, a_mgf, drift, plain, plain_slope, half_k3, k2_k)
    k3_k, k4_k, k5_k = k3[k], k4[k], k5[k]
    for p in range(v.size):
        var_k = k3_k * v[p] + k4_k * v_next[p] + k5_k
        dz = np.sqrt(var_k) * z_x[p]
        level[p] += mean[p] + dz
        r_sum[p] += dz
        v_sum[p] += var_k
        v[p] = v_next[p]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _fold(level, q_product):
    """Move ½ log of the accumulated q factors into the log-price of every path."""
    for p in range(level.size):
        level[p] += 0.5 * np.log(q_product[p])
        q_product[p] = 1.0


@njit(cache=True, nogil=True, error_model="numpy")
def _exact_first_variance(first_rng, v, z_v, lam, shape, scale):
    """v_1 = c·χ'²_d(λ) of every path from fixed draws (:func:`noncentral_chi_square_variate`):
    the step's variance normal Z_v and two uniforms per path from ``first_rng`` (so that
    the normals of the main stream stay aligned).  Each path reads the same draws whatever
    v_0, Δ_1 or (κ, θ, ξ), and its v_1 is smooth in them: bumped chains keep their common
    random numbers."""
    uniforms = np.empty((2, v.size))
    fill_open_uniforms(first_rng, uniforms.reshape(uniforms.size))
    for p in range(v.size):
        v[p] = scale * noncentral_chi_square_variate(lam, shape, z_v[p], uniforms[0, p],
                                                     uniforms[1, p])[0]


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_qe(rng, n_paths, log_spot, v0, law, shape, carry_dt, e, mean_var, base_var,
                chi_scale, k0, k1, k2, k3, k4, k5, mgf_arg, column, x, residual, variance,
                states, first_variance, slopes, antithetic, normals, sampled, first_rng):
    """QE paths, all paths one step at a time (independent paths keep the CPU busy).

    Fills x, R and V (dates × paths) at the grid points with ``column[k]`` ≥ 0, there v
    too where ``states`` has rows, and v_1.
    ``law`` = (κ, θ, ξ, ρ, Δ_1); ``shape`` = d = 4κθ/ξ², for the exact first transition from
    v_0 = 0.  ``normals`` (2 × steps × paths, or empty): the steps' normals, given
    (:func:`draw_step`).  With ``sampled`` the first step is exact: v_1 from the noncentral
    chi-square law (:func:`_exact_first_variance`), its integrated variance given its end
    points (:func:`sampled_first_step`, which fills ``slopes``).  The first transition is exact
    from v_0 = 0 too, so that the log-price always has a density.
    """
    kappa, theta, xi, rho, first_dt = law
    v, level, r_sum, v_sum = start_state(n_paths, v0, log_spot)
    q_product = np.ones(n_paths)
    z_v = np.empty(n_paths)
    z_x = np.empty(n_paths)
    v_next = np.empty(n_paths)
    mean = np.empty(n_paths)
    flag = np.empty(n_paths, dtype=np.int64)
    which = np.empty(n_paths, dtype=np.int64)
    for k in range(e.size):
        draw_step(rng, normals, 0, k, z_v, antithetic)
        draw_step(rng, normals, 1, k, z_x, antithetic)
        if k == 0 and (v0 == 0.0 or sampled):  # the exact transition
            if v0 == 0.0:
                for p in range(n_paths):  # from 0 by inversion: U = Φ(Z_v), aligned streams
                    v[p] = 2.0 * chi_scale[0] * gamma_quantile(
                        0.5 * shape, 0.5 * math.erfc(-z_v[p] * INVERSE_ROOT_TWO))
            else:
                _exact_first_variance(first_rng, v, z_v, v0 * e[0] / chi_scale[0], shape,
                                      chi_scale[0])
            if sampled:
                sampled_first_step(rng, v0, v, level, r_sum, v_sum, z_x, v_next, slopes,
                                    first_dt, kappa, theta, xi, rho, carry_dt[0], antithetic,
                                    np.empty((2, 4, 0)))
            else:
                for p in range(n_paths):
                    var_k = k4[0] * v[p] + k5[0]
                    dz = np.sqrt(var_k) * z_x[p]
                    level[p] += carry_dt[0] + k0[0] + k2[0] * v[p] + dz
                    r_sum[p] += dz
                    v_sum[p] += var_k
        else:
            _qe_step(k, v, level, q_product, r_sum, v_sum, z_v, z_x, v_next, mean, flag, which,
                     theta, carry_dt, e, mean_var, base_var, k0, k1, k2, k3, k4, k5, mgf_arg)
        if k == 0:
            first_variance[:] = v
        if column[k] >= 0 or k % FOLD_EVERY == FOLD_EVERY - 1:
            _fold(level, q_product)
        store_dates(k, column, level, r_sum, v_sum, x, residual, variance, v, states)
