"""Knock-out barriers under GBM by one-step survival conditioning (Glasserman & Staum 2001).

A discretely monitored knock-out pays g(S_T) = max(ω(S_T − K), 0) if S stays below an up
barrier B (above a down barrier) at every monitoring date t_1 < ... < t_n = T.  Instead
of killing paths, every step is drawn conditionally on surviving it: with
m_i = log S_{i−1} + (r − q − σ²/2)Δ_i, s_i = σ sqrt(Δ_i), b_i = (log B − m_i)/s_i and
ε = +1 for an up barrier (−1 for a down barrier), the step survives with probability
p_i = Φ(ε b_i), and

    log S_i = m_i + s_i z_i,   z_i = ε Φ^{−1}(U_i p_i),   U_i ~ U(0, 1),

is the normal step conditioned on survival.  The estimator

    Y = e^{−rT} Π_i p_i · g(S_T)

is unbiased for the price (the product of survival probabilities is the likelihood ratio
of the unconditioned to the conditioned chain), has no indicator, and is a Lipschitz
function of S0 and σ for fixed uniforms: its pathwise derivatives are unbiased for delta
and vega,

    ∂Y/∂θ = Y Σ_i ∂p_i/∂θ / p_i + e^{−rT} Π_i p_i · ω 1{ω(S_T − K) > 0} S_T ∂log S_T/∂θ,

with ∂p_i = ε φ(b_i) ∂b_i, ∂z_i = ε U_i ∂p_i / φ(z_i) and ∂log S_i = ∂m_i + ∂s_i z_i + s_i ∂z_i
carried forward step by step.  For any path functional m, E_q[Y m] = E[f m] (q the
conditioned chain, f the knock-out payoff), so the likelihood-ratio multipliers of the
further Greeks (:mod:`greeks.sensitivities`) apply on these paths with Y in place of f,
evaluated on the path's Brownian motion W(t_i) = Σ_{k ≤ i} sqrt(Δ_k) z_k.  The control
variates of :mod:`greeks.estimators` do not: their means under the conditioned chain are
unknown.  Antithetic pairs use U and 1 − U.
"""

from __future__ import annotations

import math

from numba import njit


INVERSE_ROOT_TWO = 1.0 / math.sqrt(2.0)
INVERSE_ROOT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)
TINY = 1e-300

# Acklam's rational approximation of the normal quantile (relative error below 1.15e-9,
# far below any Monte-Carlo error here)
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
      6.680131188771972e+01, -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
      3.754408661907416e+00)


@njit(cache=True, nogil=True, inline="always")
def normal_cdf(x):
    return 0.5 * math.erfc(-x * INVERSE_ROOT_TWO)


@njit(cache=True, nogil=True, inline="always")
def normal_pdf(x):
    return math.exp(-0.5 * x * x) * INVERSE_ROOT_TWO_PI


@njit(cache=True, nogil=True, inline="always")
def normal_quantile(p):
    """Φ^{−1}(p) for 0 < p < 1 (Acklam's approximation)."""
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        x = ((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
             / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))
    elif p > 1.0 - 0.02425:
        q = math.sqrt(-2.0 * math.log1p(-p))
        x = -((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
              / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))
    else:
        q = p - 0.5
        r = q * q
        x = ((((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
             / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0))
    return x


@njit(cache=True, nogil=True, error_model="numpy")
def simulate(rng, n_paths, times, log_spot, carry, sigma, up, barrier, antithetic, w, x,
             weight, derivatives):
    """Survival-conditioned paths on the monitoring dates ``times``.

    Fills ``w[p, i]`` = W(t_i), ``x[p, i]`` = log S(t_i), ``weight[p]`` = Π p_i (0 once a
    step cannot survive) and ``derivatives[p]`` = (∂ log Π p/∂S0,
    ∂ log Π p/∂σ, ∂ log S_T/∂S0, ∂ log S_T/∂σ).  With ``antithetic``, path p + n/2 uses
    1 − U where path p uses U.
    """
    eps = 1.0 if up else -1.0
    log_barrier = math.log(barrier)
    half = n_paths // 2 if antithetic else n_paths
    uniforms = rng.random((half, times.size))
    spot = math.exp(log_spot)
    for p in range(n_paths):
        mirror = p >= half
        source = p - half if mirror else p
        level = 0.0
        x_p = log_spot
        dx_s, dx_v = 1.0 / spot, 0.0
        product = 1.0
        dlw_s = dlw_v = 0.0
        previous = 0.0
        alive = True
        for i in range(times.size):
            dt = times[i] - previous
            previous = times[i]
            root = math.sqrt(dt)
            sd = sigma * root
            m = x_p + (carry - 0.5 * sigma * sigma) * dt
            dm_s, dm_v = dx_s, dx_v - sigma * dt
            b = (log_barrier - m) / sd
            db_s, db_v = -dm_s / sd, (-dm_v - b * root) / sd
            survive = normal_cdf(eps * b)
            if survive <= TINY or not alive:
                alive = False
                w[p, i] = level
                x[p, i] = x_p
                continue
            density_b = normal_pdf(b)
            dp_s, dp_v = eps * density_b * db_s, eps * density_b * db_v
            u = 1.0 - uniforms[source, i] if mirror else uniforms[source, i]
            z = eps * normal_quantile(max(u * survive, TINY))
            density_z = normal_pdf(z)
            scale = eps * u / density_z if density_z > 0.0 else 0.0
            x_p = m + sd * z
            dx_s = dm_s + sd * scale * dp_s
            dx_v = dm_v + root * z + sd * scale * dp_v
            product *= survive
            dlw_s += dp_s / survive
            dlw_v += dp_v / survive
            level += root * z
            w[p, i] = level
            x[p, i] = x_p
        weight[p] = product if alive else 0.0
        derivatives[p, 0] = dlw_s
        derivatives[p, 1] = dlw_v
        derivatives[p, 2] = dx_s
        derivatives[p, 3] = dx_v


@njit(cache=True, nogil=True, error_model="numpy")
def values(x, weight, derivatives, omega, strike, discount, payoff, delta, vega):
    """Per path: Y = e^{−rT} Π p_i g(S_T) and its pathwise ∂/∂S0, ∂/∂σ."""
    last = x.shape[1] - 1
    for p in range(x.shape[0]):
        s_t = math.exp(x[p, last])
        intrinsic = omega * (s_t - strike)
        y = discount * weight[p] * intrinsic if intrinsic > 0.0 else 0.0
        slope = discount * weight[p] * omega * s_t if intrinsic > 0.0 else 0.0
        payoff[p] = y
        delta[p] = y * derivatives[p, 0] + slope * derivatives[p, 2]
        vega[p] = y * derivatives[p, 1] + slope * derivatives[p, 3]
