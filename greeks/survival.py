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

from greeks.maths import normal_cdf, normal_pdf, normal_quantile

TINY = 1e-300


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
