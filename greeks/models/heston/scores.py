"""Score weights.  A row reads x on its dates d_1 < ... < d_n.  Given the variance path,
x_{d_1} − x_0 is Gaussian with mean M = Σ_{k ≤ d_1} μ_k and variance V = Σ_{k ≤ d_1} V_k;
let R = x_{d_1} − x_0 − M = Σ_{k ≤ d_1} sqrt(V_k) Z_k.  S0 enters the chain's density
only through x_0 = log S0 in that Gaussian, and v_0 only through p(v_1 | v_0) and
(μ_1, V_1).  Differentiating the log-density of (variance path, x_{d_1}, ..., x_{d_n}):

    w_Δ = R / (S0 V),
    w_σ = 2σ0 [ ∂log p(v_1 | v_0)/∂v_0 + (R/V) ∂μ_1/∂v_0 + ½ (R²/V − 1) (∂V_1/∂v_0)/V ],

σ0 = sqrt(v_0) (dV/dσ0 = 2σ0 dV/dv0).  They are scores of the simulated chain, so E[w] = 0
and E[f·w] is exactly the derivative of the chain's price at any step size, for any
payoff of polynomial growth.  Aggregating the fine steps onto the row's first date
is the conditional expectation of the fine-step score: unbiased, never noisier.
The transition scores (:func:`transition_score`): Gaussian for Euler; for ``exact``
∂/∂v_0 = (e^{−κΔ}/c)(−½ + ½ sqrt(x/λ) I_{ν+1}(sqrt(λx))/I_ν(sqrt(λx))), x = v_1/c,
ν = d/2 − 1; for QE the derivative of its closed-form two-regime log-density (the
regime is fixed by v_0), by the chain rule through the law's parameters (a, b) or
(p, β), whose v_0-derivatives come from complex-step differentiation, exact to rounding.
At v_0 = 0, w_σ = 0: σ0 = 0 and the bracket is finite (dV/dv0 is one-sided finite).

A long first step (``sampled``: longer than the regular ones, ``qe`` and ``exact``) is drawn
exactly where it can be: v_1 from the noncentral chi-square law, I_1 given (v_0, v_1) from the
lognormal with its exact conditional mean and variance (:func:`sampled_step`).  Its normal's
density is free of the parameters, so the weights keep their form with per-path pathwise
slopes (∂μ_1/∂v_0, ∂V_1/∂v_0) through I_1, and the transition score is the exact law's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from greeks.maths import COMPLEX_STEP, bessel_ratio
from greeks.models.heston.constants import Constants
from greeks.models.heston.qe import qe_law, qe_log_mgf
from greeks.models.heston.schema import EULER, EXACT, QE


@njit(cache=True, nogil=True, error_model="numpy")
def transition_score(scheme, v0, first_variance, kappa, theta, xi, dt, e, mean_var, base_var,
                     chi_scale, out):
    """out[p] = ∂ log p(v_1 | v_0)/∂v_0 for each path's first variance v_1 (0 when v_0 = 0)."""
    n = first_variance.size
    if v0 == 0.0:
        out[:] = 0.0
        return
    if scheme == EULER:
        mean = v0 + kappa * (theta - v0) * dt
        var = xi * xi * v0 * dt
        for p in range(n):
            u = (first_variance[p] - mean) / var
            out[p] = u * (1.0 - kappa * dt) + 0.5 * (u * u * var - 1.0) / v0
    elif scheme == EXACT:
        nu = 2.0 * kappa * theta / (xi * xi) - 1.0
        lam = v0 * e / chi_scale
        for p in range(n):
            y = first_variance[p] / chi_scale
            z = np.sqrt(lam * y)  # y I_{ν+1}(z)/(z I_ν(z)) → 0 as y → 0 (an underflowed v_1)
            out[p] = (e / chi_scale) * (-0.5 + (0.5 * y * bessel_ratio(nu, z) / z if z > 0.0
                                                else 0.0))
    else:  # QE: chain rule through the law's parameters, their v_0-derivatives by complex step
        h = COMPLEX_STEP * v0
        quadratic, first, second = qe_law(complex(v0, h), e, mean_var, base_var, theta)
        if quadratic:  # log p = −½(y − b)² + log(1 + e^{−2yb}) − log(2a y sqrt(2π)), y² = v_1/a
            b = np.sqrt(first)
            db, a, da = b.imag / h, second.real, second.imag / h
            b = b.real
            for p in range(n):
                y = np.sqrt(first_variance[p] / a)
                dy = -0.5 * y * da / a
                t = np.exp(-2.0 * y * b)
                out[p] = ((-(y - b) * (dy - db) - (y + b) * (dy + db) * t) / (1.0 + t)
                          - 0.5 * da / a)
        else:  # p·δ_0 + (1 − p) β e^{−β v_1}
            mass, dmass = first.real, first.imag / h
            rate, drate = second.real, second.imag / h
            for p in range(n):
                v1 = first_variance[p]
                out[p] = (dmass / mass if v1 == 0.0
                          else -dmass / (1.0 - mass) + drate / rate - drate * v1)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def path_scores(p, args):
    """Delta and σ0-vega weights of path ``p`` for a row whose first date is stored in
    column ``col`` of R (``residual``) and V (``variance``), ``args`` = (residual, variance,
    score, col, S0, σ0, ∂μ_1/∂v_0, ∂V_1/∂v_0), the last two per path:

        w_Δ = R/(S0 V),   w_σ = 2σ0 [score + (R/V) ∂μ_1/∂v_0 + ½(R²/V − 1)(∂V_1/∂v_0)/V].
    """
    residual, variance, score, col, spot, sigma0, d_mean, d_var = args
    r = residual[p, col]
    v = variance[p, col]
    ratio = r / v
    return ratio / spot, 2.0 * sigma0 * (score[p] + ratio * d_mean[p]
                                         + 0.5 * (ratio * r - 1.0) * d_var[p] / v)


def first_step_derivatives(scheme: int, v0: float, kappa: float, theta: float, xi: float,
                           rho: float, c: Constants) -> tuple[float, float]:
    """(∂μ_1/∂v_0, ∂V_1/∂v_0) of the first log-price step, for the weights above."""
    dt = float(c.dt[0])
    if scheme == EULER:
        return -0.5 * dt + (rho / xi) * (kappa * dt - 1.0), (1.0 - rho * rho) * dt
    k3 = float(c.k3[0])
    if scheme == EXACT:
        return float(c.exact_k1[0]), k3
    if scheme == QE and v0 > 0.0:
        h = COMPLEX_STEP * v0
        args = (float(c.e[0]), float(c.mean_var[0]), float(c.base_var[0]), theta)
        quadratic, first, second = qe_law(complex(v0, h), *args)
        finite, log_mgf = qe_log_mgf(quadratic, first, second, float(c.mgf_arg[0]))
        if finite:
            return -log_mgf.imag / h - 0.5 * k3, k3
    return float(c.k1[0]), k3
