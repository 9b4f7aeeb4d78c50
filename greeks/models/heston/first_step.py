"""A long first step drawn exactly where it can be: the integrated variance given its end
points (Glasserman & Kim 2011 moments, a lognormal with those moments)."""

from __future__ import annotations

import numpy as np
from numba import njit

from greeks.maths import COMPLEX_STEP, bessel_ratio
from greeks.models.heston.chain import draw_normals

CLIP = 8.0  # the normal of a sampled integrated variance is clipped to [−CLIP, CLIP]

# series of the Glasserman–Kim constants in x = κΔ/2 (x < SERIES_BELOW), coefficients of
# x⁰, x², ..., x¹⁰ of μ₁/Δ, σ₁²/(ξ²Δ³), μ₂/(ξ²Δ²), σ₂²/(ξ⁴Δ⁴)
SERIES_BELOW = 0.2
GK_SERIES = np.array([
    [1 / 3, -2 / 45, 2 / 315, -4 / 4725, 2 / 18711, -2764 / 212837625],
    [1 / 45, -2 / 315, 2 / 1575, -4 / 18711, 1382 / 42567525, -4 / 868725],
    [1 / 24, -1 / 360, 1 / 3780, -1 / 37800, 1 / 374220, -691 / 2554051500],
    [1 / 720, -1 / 3780, 1 / 25200, -1 / 187110, 691 / 1021620600, -1 / 12162150],
])


@njit(cache=True, nogil=True, error_model="numpy")
def _gk_constants(kappa, xi, dt):
    """(μ₁, σ₁², μ₂, σ₂²) of Glasserman & Kim (2011): with x = κΔ/2,
    μ₁ = coth(x)/κ − (Δ/2) csch²x,
    σ₁² = ξ²coth(x)/κ³ + ξ²Δ csch²x/(2κ²) − ξ²Δ² coth(x) csch²x/(2κ),
    μ₂ = ξ²(κΔ coth x − 2)/(4κ²),  σ₂² = ξ⁴(2κΔ coth x + κ²Δ² csch²x − 8)/(8κ⁴);
    below x = 0.2 from their power series (the closed forms cancel there)."""
    x = 0.5 * kappa * dt
    xi2 = xi * xi
    if abs(x) < SERIES_BELOW:
        y = x * x
        c = GK_SERIES
        terms = [c[i, 0] + y * (c[i, 1] + y * (c[i, 2] + y * (c[i, 3] + y * (c[i, 4]
                 + y * c[i, 5])))) for i in range(4)]
        return (dt * terms[0], xi2 * dt ** 3 * terms[1], xi2 * dt * dt * terms[2],
                xi2 * xi2 * dt ** 4 * terms[3])
    coth = np.cosh(x) / np.sinh(x)
    csch2 = 1.0 / (np.sinh(x) * np.sinh(x))
    kd = kappa * dt
    return (coth / kappa - 0.5 * dt * csch2,
            xi2 * (coth / kappa ** 3 + dt * csch2 / (2.0 * kappa * kappa)
                   - dt * dt * coth * csch2 / (2.0 * kappa)),
            xi2 * (kd * coth - 2.0) / (4.0 * kappa * kappa),
            xi2 * xi2 * (2.0 * kd * coth + kd * kd * csch2 - 8.0) / (8.0 * kappa ** 4))


@njit(cache=True, nogil=True, error_model="numpy")
def integral_moments(v0, v1, dt, kappa, theta, xi):
    """Mean and variance of I = ∫_0^Δ v du given v_0 and v_Δ under the CIR law.

    Glasserman & Kim (2011), "Gamma expansion of the Heston stochastic volatility
    model", Finance Stoch. 15: given the end points, I = X₁ + X₂ + Σ_{j ≤ η} Z_j with
    E X₁ = (v_0 + v_Δ)μ₁, Var X₁ = (v_0 + v_Δ)σ₁², E X₂ = δμ₂, Var X₂ = δσ₂² (δ = 4κθ/ξ²),
    Z_j independent copies of X₂ at δ = 4, and η Bessel(ν = δ/2 − 1, z) distributed,
    z = 2κ sqrt(v_0 v_Δ)/(ξ² sinh(κΔ/2)), with E η = z r/2 and
    Var η = z²/4 − ν z r/2 − z² r²/4, r = I_{ν+1}(z)/I_ν(z) (:func:`bessel_ratio`).
    Real or complex arguments (complex-step derivatives)."""
    mu1, s1, mu2, s2 = _gk_constants(kappa, xi, dt)
    delta = 4.0 * kappa * theta / (xi * xi)
    nu = 0.5 * delta - 1.0
    z = 2.0 * kappa * np.sqrt(v0 * v1) / (xi * xi * np.sinh(0.5 * kappa * dt))
    eta = 0.0 * z
    var_eta = 0.0 * z
    if z.real > 0.0:
        r = bessel_ratio(nu, z)
        eta = 0.5 * z * r
        var_eta = 0.25 * z * z - 0.5 * nu * z * r - 0.25 * z * z * r * r
    total = v0 + v1
    return (total * mu1 + (delta + 4.0 * eta) * mu2,
            total * s1 + (delta + 4.0 * eta) * s2 + 16.0 * var_eta * mu2 * mu2)


@njit(cache=True, nogil=True, error_model="numpy")
def sampled_step(v0, v1, z, dt, kappa, theta, xi, rho, carry_dt):
    """(μ, V, I) of a step whose integrated variance is sampled given its end points:
    I = m exp(bZ − b²/2), b² = log(1 + s²/m²), the lognormal law with the conditional
    mean m and variance s² of :func:`integral_moments`, Z standard normal clipped to
    [−8, 8] (a bounded I keeps every moment of S finite; the clip moves a probability of
    1.2·10⁻¹⁵); the log-price
    step is then Gaussian with mean μ = (r − q)Δ + (ρκ/ξ − ½)I + (ρ/ξ)(v_Δ − v_0 − κθΔ)
    and variance V = (1 − ρ²)I.  Smooth in v_0, κ, θ, ξ, ρ at fixed (v_Δ, Z): complex
    arguments give their derivatives (pathwise through I)."""
    m, s2 = integral_moments(v0, v1, dt, kappa, theta, xi)
    b2 = np.log(1.0 + s2 / (m * m))
    integral = m * np.exp(np.sqrt(b2) * min(max(z, -CLIP), CLIP) - 0.5 * b2)
    mean = (carry_dt + (rho * kappa / xi - 0.5) * integral
            + (rho / xi) * (v1 - v0 - kappa * theta * dt))
    return mean, (1.0 - rho * rho) * integral, integral


@njit(cache=True, nogil=True, error_model="numpy")
def sampled_first_step(rng, v0, v, level, r_sum, v_sum, z_x, z_i, slopes, dt, kappa, theta,
                        xi, rho, carry_dt, antithetic, parameter_slopes):
    """The first log-price step when its integrated variance is sampled
    (:func:`sampled_step`), ``v`` holding v_1; ``slopes`` gets (∂μ_1/∂v_0, ∂V_1/∂v_0) per
    path (0 at v_0 = 0, where the σ0-weight vanishes), and ``parameter_slopes``
    (2 × 4 × paths, or empty) the same in (κ, θ, ξ, ρ)."""
    draw_normals(rng, z_i, antithetic)
    h = COMPLEX_STEP * v0
    params = (kappa, theta, xi, rho)
    track = parameter_slopes.shape[2] > 0
    for p in range(v.size):
        v1, z = v[p], z_i[p]
        mean, var_k, _ = sampled_step(v0, v1, z, dt, kappa, theta, xi, rho, carry_dt)
        dz = np.sqrt(var_k) * z_x[p]
        level[p] += mean + dz
        r_sum[p] += dz
        v_sum[p] += var_k
        if v0 > 0.0:
            d_mean, d_var, _ = sampled_step(complex(v0, h), v1, z, dt, kappa, theta, xi, rho,
                                            carry_dt)
            slopes[0, p], slopes[1, p] = d_mean.imag / h, d_var.imag / h
        else:
            slopes[0, p], slopes[1, p] = 0.0, 0.0
        if track:
            for i in range(4):
                step = COMPLEX_STEP * max(abs(params[i]), 1.0)
                moved = [complex(value, step if j == i else 0.0)
                         for j, value in enumerate(params)]
                d_mean, d_var, _ = sampled_step(v0, v1, z, dt, moved[0], moved[1], moved[2],
                                                moved[3], carry_dt)
                parameter_slopes[0, i, p] = d_mean.imag / step
                parameter_slopes[1, i, p] = d_var.imag / step
