"""Heston model: three discretisation schemes and the exact score weights of each chain.

Risk-neutral dynamics, x = log S:

    dS/S = (r − q) dt + sqrt(v) dW_1,   dv = κ(θ − v) dt + ξ sqrt(v) dW_2,   d⟨W_1, W_2⟩ = ρ dt.

Every scheme simulates a Markov chain (v_k, x_k) on the grid 0 = t_0 < t_1 < ... < t_m,
Δ_k = t_k − t_{k−1}.  The variance moves by the scheme's transition law p(v_k | v_{k−1});
given the variance path the log-price increments are independent Gaussians,

    x_k = x_{k−1} + μ_k + sqrt(V_k) Z_k,   V_k = (1 − ρ²) I_k,
    μ_k = (r − q)Δ_k − ½ I_k + (ρ/ξ)(v_k − v_{k−1} − κθΔ_k + κ I_k),

with I_k ≈ ∫ v dt over the step.  Schemes:

* ``exact``: v_k = c_k χ'²_d(λ_k), c_k = ξ²(1 − e^{−κΔ_k})/(4κ), d = 4κθ/ξ²,
  λ_k = v_{k−1} e^{−κΔ_k}/c_k (the CIR transition law, exact at any step);
  I_k = τ(v_{k−1} + v_k) + θJ, the mean-reverting bridge's integral
  (:func:`integration_weights`; the trapezoid rule with its curvature), and the martingale
  correction below with the law's own M(A) = exp(A v_{k−1} e^{−κΔ}/(1 − 2Ac))·(1 − 2Ac)^{−d/2},
  linear in v_{k−1} after the log.
* ``qe``: Andersen's (2008) quadratic-exponential law for v_k, matched to the exact
  conditional mean m and variance s² (ψ = s²/m²): v_k = a(b + Z_v)² when ψ ≤ 1.5,
  otherwise 0 with probability p = (ψ − 1)/(ψ + 1) and an exponential of rate
  β = (1 − p)/m beyond.  The same I_k, and Andersen's martingale correction: with
  K_2 = τ(κρ/ξ − ½) + ρ/ξ, K_3 = (1 − ρ²)τ, K_5 = (1 − ρ²)θJ and A = K_2 + K_3/2, the
  drift is μ_k = (r − q)Δ − log M(A) − ½K_3 v_{k−1} − ½K_5 + K_2 v_k, M(A) = E[e^{A v_k} | v_{k−1}]
  of the QE law, so that E[S_k | S_{k−1}, v_{k−1}] = S_{k−1} e^{(r−q)Δ} exactly (the plain
  drift where M(A) is infinite).  Both regimes read one normal Z_v per step
  (the exponential regime through U = Φ(Z_v)), so that streams stay aligned when
  parameters move (common random numbers).  From v_0 = 0 the first transition is drawn
  from the exact law instead, c·χ²_d by inversion of Φ(Z_v) (:func:`gamma_quantile`), so
  that the log-price always has a density and the streams stay aligned.
* ``euler``: full truncation, v_k = v_{k−1} + κ(θ − v⁺)Δ + ξ sqrt(v⁺Δ) Z_v,
  v⁺ = max(v_{k−1}, 0), and I_k = v⁺Δ (the baseline).

Score weights.  A row reads x on its dates d_1 < ... < d_n.  Given the variance path,
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

import math

import numpy as np
from numba import njit

QE, EXACT, EULER = 0, 1, 2
SCHEME_CODES = {"qe": QE, "exact": EXACT, "euler": EULER}
PSI_CRITICAL = 1.5
ATOM_BELOW = -0.85  # Φ(−0.85) = 0.198 < (ψ_c − 1)/(ψ_c + 1): the exponential regime's atom
BLOCK = 8192  # paths advanced together, step by step: their state stays in cache
FOLD_EVERY = 16  # QE folds its product of q factors into the log-price this often (and at dates)
COMPLEX_STEP = 1e-20  # relative step of complex-step differentiation
CLIP = 8.0  # the normal of a sampled integrated variance is clipped to [−CLIP, CLIP]
LOG_ROOT_TWO_PI = 0.5 * math.log(2.0 * math.pi)
INVERSE_ROOT_TWO = 1.0 / math.sqrt(2.0)


def from_zero_without_feller(v0, kappa, theta, xi):
    """Whether the chain starts at v0 = 0 with 2κθ < ξ² (scalars or arrays): its first
    variance then has a density ∝ v^{d/2 − 1} near 0 (d = 4κθ/ξ² < 2), and every weight that
    divides by the first integrated variance (the delta weight R/(S0 V), the Gaussian terms
    of the parameter scores) has no usable variance."""
    with np.errstate(invalid="ignore", over="ignore"):
        return (np.asarray(v0) == 0) & (2 * np.asarray(kappa) * np.asarray(theta)
                                        < np.asarray(xi) ** 2 * (1 - 1e-12))


def integration_weights(kappa, dt):
    """(τ, J) of I_k = τ(v_{k−1} + v_k) + θJ, the integrated variance over a step given its
    end points: the mean of the mean-reverting bridge, ∫ E[v_u | v_{k−1}, v_k] du for the
    linear drift κ(θ − v) (exact for the Ornstein–Uhlenbeck bridge; the CIR bridge's
    conditional mean differs at O(ξ²)), τ = tanh(κΔ/2)/κ = Δ/2 − κ²Δ³/24 + ..., J = Δ − 2τ.
    Its mean given v_{k−1} is the CIR value θΔ + (v_{k−1} − θ)(1 − e^{−κΔ})/κ, and it is exact
    on the mean path; the trapezoid rule (τ = Δ/2, J = 0) misses the mean path's curvature,
    a bias of O(κΔ²) that conditional Monte Carlo's small SEs expose."""
    x = kappa * dt
    small = np.abs(x) < 1e-2
    safe = np.where(small, 1.0, x)
    # x − 2 tanh(x/2) without cancellation for small x
    excess = np.where(small, x ** 3 / 12.0 - x ** 5 / 120.0 + 17.0 * x ** 7 / 20160.0,
                      safe - 2.0 * np.tanh(0.5 * safe))
    return np.tanh(0.5 * x) / kappa, excess / kappa


class Constants:
    """Per-step constants of the schemes on one grid (arrays indexed by step)."""

    def __init__(self, times, kappa, theta, xi, rho, carry):
        dt = np.diff(np.concatenate(([0.0], times)))
        e = np.exp(-kappa * dt)
        self.times = times
        self.carry = carry
        one_minus_e = -np.expm1(-kappa * dt)
        self.dt = dt
        self.carry_dt = carry * dt
        self.e = e
        self.mean_var = xi * xi * e * one_minus_e / kappa            # s² = v·mean_var + base_var
        self.base_var = theta * xi * xi * one_minus_e ** 2 / (2.0 * kappa)
        self.chi_scale = xi * xi * one_minus_e / (4.0 * kappa)      # c
        tau, excess = integration_weights(kappa, dt)              # I = τ(v + v') + θJ
        self.k0 = -rho * kappa * theta * dt / xi + theta * excess * (kappa * rho / xi - 0.5)
        self.k1 = tau * (kappa * rho / xi - 0.5) - rho / xi
        self.k2 = tau * (kappa * rho / xi - 0.5) + rho / xi
        self.k3 = (1.0 - rho * rho) * tau                           # V = k3 v + k4 v' + k5
        self.k4 = self.k3
        self.k5 = (1.0 - rho * rho) * theta * excess
        self.mgf_arg = self.k2 + 0.5 * self.k4                     # A
        # exact law: log M(A) = A v e/(1 − 2Ac) − (d/2) log(1 − 2Ac), linear in v, so the
        # martingale-corrected drift −log M(A) − ½k3 v − ½k5 + k2 v' is
        # exact_k0 + exact_k1·v + k2 v' (plain where 2Ac ≥ 1)
        q = 1.0 - 2.0 * self.mgf_arg * self.chi_scale
        finite = q.real > 0.0
        safe = np.where(finite, q, 1.0)
        d = 4.0 * kappa * theta / (xi * xi)
        self.exact_k0 = np.where(finite, 0.5 * d * np.log(safe) - 0.5 * self.k5, self.k0)
        self.exact_k1 = np.where(finite, -self.mgf_arg * e / safe - 0.5 * self.k3, self.k1)
        self.exact_corrected = bool(finite.all())

    def is_martingale(self, scheme: int, v0: float) -> bool:
        """Whether E[S_k | S_{k−1}, v_{k−1}] = S_{k−1} e^{(r−q)Δ_k} holds at every step
        for sure.  Euler: always (Gaussian increment with drift −½v⁺Δ).  Exact: where
        the law's M(A) is finite at every step.  QE: its M(A) is finite whenever A ≤ 0
        (then 1 − 2Aa ≥ 1 and A < β), which holds for ρ ≤ 0; the exact first step from
        v_0 = 0 is not corrected."""
        if scheme == EULER:
            return True
        if scheme == EXACT:
            return self.exact_corrected
        return v0 > 0.0 and bool((self.mgf_arg <= 0.0).all())


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
def _qe_law(v, e, mean_var, base_var, theta):
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
def _qe_log_mgf(quadratic, first, second, mgf_arg):
    """(finite?, log E[e^{A v'}]) under the QE law with parameters from :func:`_qe_law`."""
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
    quadratic, first, second = _qe_law(v0, e, mean_var, base_var, theta)
    if quadratic:
        b = np.sqrt(first)
        y = np.sqrt(v1 / second)
        return (-0.5 * (y - b) * (y - b) + np.log(1.0 + np.exp(-2.0 * y * b))
                - LOG_ROOT_TWO_PI - np.log(2.0 * second * y))
    if v1 == 0.0:
        return np.log(first)
    return np.log(1.0 - first) + np.log(second) - second * v1


@njit(cache=True, nogil=True, error_model="numpy")
def bessel_ratio(nu, z):
    """I_{ν+1}(z) / I_ν(z) for ν > −1, z > 0, by its continued fraction (modified Lentz).

    I_{ν+1}/I_ν = 1/(2(ν+1)/z + 1/(2(ν+2)/z + 1/(2(ν+3)/z + ...))).
    """
    tiny = 1e-300
    f = 2.0 * (nu + 1.0) / z
    c = f
    d = 0.0
    k = 2
    while True:
        b = 2.0 * (nu + k) / z
        d = b + d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = b + 1.0 / c
        if abs(c) < tiny:
            c = tiny
        step = c * d
        f *= step
        if abs(step - 1.0) < 1e-16 or k > 1_000_000:
            return 1.0 / f
        k += 1


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
def _sampled_first_step(rng, v0, v, level, r_sum, v_sum, z_x, z_i, slopes, dt, kappa, theta,
                        xi, rho, carry_dt, antithetic, parameter_slopes):
    """The first log-price step when its integrated variance is sampled
    (:func:`sampled_step`), ``v`` holding v_1; ``slopes`` gets (∂μ_1/∂v_0, ∂V_1/∂v_0) per
    path (0 at v_0 = 0, where the σ0-weight vanishes), and ``parameter_slopes``
    (2 × 4 × paths, or empty) the same in (κ, θ, ξ, ρ)."""
    _normals(rng, z_i, antithetic)
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


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _normals(rng, out, antithetic):
    """Standard normals into ``out``; with ``antithetic`` the second half is minus the
    first (the block's paths p and p + n/2 are an antithetic pair)."""
    half = out.size // 2 if antithetic else out.size
    for p in range(half):
        out[p] = rng.standard_normal()
    for p in range(half, out.size):
        out[p] = -out[p - half]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _draw(rng, normals, i, k, out, antithetic):
    """Step k's normals of kind i (0: variance, 1: log-price) into ``out``: from
    ``normals[i, k]`` when given (randomised QMC), else from ``rng`` (:func:`_normals`)."""
    if normals.shape[1] > 0:
        out[:] = normals[i, k]
    else:
        _normals(rng, out, antithetic)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _start(n_paths, v0, log_spot):
    """Per-path state at t = 0: variance, log-price, R and V."""
    return np.full(n_paths, v0), np.full(n_paths, log_spot), np.zeros(n_paths), np.zeros(n_paths)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _store(k, column, level, r_sum, v_sum, x, residual, variance):
    """Keep x, R and V of every path at grid point k if it is a stored date."""
    col = column[k]
    if col >= 0:
        x[col] = level
        residual[col] = r_sum
        variance[col] = v_sum


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
def simulate_qe(rng, n_paths, log_spot, v0, law, shape, carry_dt, e, mean_var, base_var,
                chi_scale, k0, k1, k2, k3, k4, k5, mgf_arg, column, x, residual, variance,
                first_variance, slopes, antithetic, normals, sampled, first_rng):
    """QE paths, all paths one step at a time (independent paths keep the CPU busy).

    Fills x, R and V (dates × paths) at the grid points with ``column[k]`` ≥ 0, and v_1.
    ``law`` = (κ, θ, ξ, ρ, Δ_1); ``shape`` = d = 4κθ/ξ², for the exact first transition from
    v_0 = 0.  ``normals`` (2 × steps × paths, or empty): the steps' normals, given
    (:func:`_draw`).  With ``sampled`` the first step is exact: v_1 from the noncentral
    chi-square law (drawn from ``first_rng``, so that the normals of ``rng`` stay aligned
    for common random numbers), its integrated variance given its end points
    (:func:`_sampled_first_step`, which fills ``slopes``).  The first transition is exact
    from v_0 = 0 too, so that the log-price always has a density.
    """
    kappa, theta, xi, rho, first_dt = law
    v, level, r_sum, v_sum = _start(n_paths, v0, log_spot)
    q_product = np.ones(n_paths)
    z_v = np.empty(n_paths)
    z_x = np.empty(n_paths)
    v_next = np.empty(n_paths)
    mean = np.empty(n_paths)
    flag = np.empty(n_paths, dtype=np.int64)
    which = np.empty(n_paths, dtype=np.int64)
    for k in range(e.size):
        _draw(rng, normals, 0, k, z_v, antithetic)
        _draw(rng, normals, 1, k, z_x, antithetic)
        if k == 0 and (v0 == 0.0 or sampled):  # the exact transition
            for p in range(n_paths):  # from 0 by inversion: U = Φ(Z_v), aligned streams
                v[p] = (2.0 * chi_scale[0] * gamma_quantile(
                            0.5 * shape, 0.5 * math.erfc(-z_v[p] * INVERSE_ROOT_TWO))
                        if v0 == 0.0
                        else _exact_variate(first_rng, v0 * e[0] / chi_scale[0], shape,
                                            chi_scale[0]))
            if sampled:
                _sampled_first_step(rng, v0, v, level, r_sum, v_sum, z_x, v_next, slopes,
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
        _store(k, column, level, r_sum, v_sum, x, residual, variance)


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_exact(rng, n_paths, log_spot, v0, law, shape, carry_dt, e, chi_scale, k0, k1, k2,
                   k3, k4, k5, column, x, residual, variance, first_variance, slopes,
                   antithetic, normals, sampled, score_column, derivatives, d_shape, scores):
    """Exact-variance paths (noncentral chi-square transitions, I from
    :func:`integration_weights`); as simulate_qe (antithetic and given ``normals``: the
    log-price normals only; the variance draws stay independent).

    Each transition is drawn as a Poisson mixture: N ~ Poisson(λ/2), v_k/c ~ χ²_{d+2N}
    (twice a Gamma(d/2 + N) variate, drawn in logarithms: :func:`_log_gamma_variate`).
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
    integrated variance is drawn given its end points (:func:`_sampled_first_step`): its
    normal has a parameter-free density, so that step's Gaussian terms take the pathwise
    derivatives of its (μ_1, V_1) instead of the table's.
    """
    kappa, theta, xi, rho, first_dt = law
    v, level, r_sum, v_sum = _start(n_paths, v0, log_spot)
    z_x = np.empty(n_paths)
    track = scores.shape[0] > 0
    total = np.zeros((4, n_paths))
    z_i = np.empty(n_paths)
    parameter_slopes = np.empty((2, 4, n_paths if track and sampled else 0))
    for k in range(e.size):
        _draw(rng, normals, 1, k, z_x, antithetic)
        to_lambda = e[k] / chi_scale[k]
        first = k == 0 and sampled
        for p in range(n_paths):
            vp = v[p]
            lam = vp * to_lambda
            count, alpha, log_half_chi = _poisson_mixture(rng, lam, shape)
            chi = 2.0 * np.exp(log_half_chi)
            v_next = chi_scale[k] * chi
            if track:  # the variance transition's terms
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
            _sampled_first_step(rng, v0, v, level, r_sum, v_sum, z_x, z_i, slopes, first_dt,
                                kappa, theta, xi, rho, carry_dt[0], antithetic,
                                parameter_slopes)
            for p in range(n_paths if track else 0):
                z, var_k = z_x[p], v_sum[p]
                for i in range(4):
                    total[i, p] += (z * parameter_slopes[0, i, p] / np.sqrt(var_k)
                                    + 0.5 * (z * z - 1.0) * parameter_slopes[1, i, p] / var_k)
        if k == 0:
            first_variance[:] = v
        _store(k, column, level, r_sum, v_sum, x, residual, variance)
        if track and score_column[k] >= 0:
            scores[score_column[k]] = total


@njit(cache=True, nogil=True, error_model="numpy")
def _lower_gamma(a, x):
    """The regularised lower incomplete gamma function P(a, x): its series below
    x = a + 1, else 1 − Q by Legendre's continued fraction (modified Lentz)."""
    if x <= 0.0:
        return 0.0
    log_front = a * np.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        n = a
        while abs(term) > abs(total) * 1e-17:
            n += 1.0
            term *= x / n
            total += term
        return total * np.exp(log_front)
    tiny = 1e-300
    b = x + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return 1.0 - np.exp(log_front) * h


@njit(cache=True, nogil=True, error_model="numpy")
def gamma_quantile(a, u):
    """x with P(a, x) = u: Halley's iteration from the Wilson–Hilferty (a > 1) or the
    small-x (a ≤ 1) starting point (Press et al., Numerical Recipes, 3rd ed., §6.2.1), to
    relative accuracy 1e-14; a smooth function of (a, u), so that common random numbers
    carry through a change of a.  0 where it underflows."""
    a1 = a - 1.0
    log_gamma = math.lgamma(a)
    if a > 1.0:
        log_a1 = np.log(a1)
        front = np.exp(a1 * (log_a1 - 1.0) - log_gamma)
        tail = u if u < 0.5 else 1.0 - u
        t = np.sqrt(-2.0 * np.log(tail))
        x = (2.30753 + t * 0.27061) / (1.0 + t * (0.99229 + t * 0.04481)) - t
        if u < 0.5:
            x = -x
        x = max(1e-3, a * (1.0 - 1.0 / (9.0 * a) - x / (3.0 * np.sqrt(a))) ** 3)
    else:
        t = 1.0 - a * (0.253 + a * 0.12)
        x = (u / t) ** (1.0 / a) if u < t else 1.0 - np.log(1.0 - (u - t) / (1.0 - t))
    for _ in range(40):
        if x <= 0.0:
            return 0.0
        error = _lower_gamma(a, x) - u
        if a > 1.0:
            density = front * np.exp(-(x - a1) + a1 * (np.log(x) - log_a1))
        else:
            density = np.exp(-x + a1 * np.log(x) - log_gamma)
        if density == 0.0:
            return x
        ratio = error / density
        step = ratio / (1.0 - 0.5 * min(1.0, ratio * (a1 / x - 1.0)))
        x -= step
        if x <= 0.0:
            x = 0.5 * (x + step)
        if abs(step) < 1e-14 * x:
            break
    return x


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _poisson_mixture(rng, lam, shape):
    """χ'²_d(λ) as the Poisson mixture χ²_{d+2N}, N ~ Poisson(λ/2): (N, α = d/2 + N,
    log G) with G ~ Gamma(α), the variate being 2G."""
    count = rng.poisson(0.5 * lam)
    alpha = 0.5 * shape + count
    return count, alpha, _log_gamma_variate(rng, alpha)


@njit(cache=True, nogil=True, error_model="numpy")
def _exact_variate(rng, lam, shape, scale):
    """c·χ'²_d(λ) (:func:`_poisson_mixture`)."""
    return 2.0 * scale * np.exp(_poisson_mixture(rng, lam, shape)[2])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _log_gamma_variate(rng, alpha):
    """log G, G ~ Gamma(α, 1).  For α < 1 as log G' + log(U)/α with G' ~ Gamma(α + 1) and U
    uniform (G'U^{1/α} ~ Gamma(α)), so that the logarithm stays exact where G itself
    underflows (small d = 4κθ/ξ²)."""
    if alpha >= 1.0:
        return np.log(rng.standard_gamma(alpha))
    return np.log(rng.standard_gamma(alpha + 1.0)) + np.log(rng.random()) / alpha


@njit(cache=True, nogil=True, error_model="numpy")
def digamma(x):
    """ψ(x) for x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the
    asymptotic series to y⁵, y = 1/x² (its error is below 3e-14 there)."""
    shift = 0.0
    while x < 10.0:
        shift -= 1.0 / x
        x += 1.0
    y = 1.0 / (x * x)
    series = y * (1.0 / 12 - y * (1.0 / 120 - y * (1.0 / 252 - y * (1.0 / 240 - y / 132))))
    return shift + np.log(x) - 0.5 / x - series


def parameter_derivatives(times, kappa, theta, xi, rho, carry):
    """∂/∂(κ, θ, ξ, ρ) of the exact chain's per-step constants (k0, k1, k2, k3, k4, k5,
    log(e/c), log c) as an (8, 4, steps) array, and of d = 4κθ/ξ² (4,), by complex-step
    differentiation of :class:`Constants` (exact to rounding)."""
    base = (kappa, theta, xi, rho)
    out = np.empty((8, 4, len(times)))
    d_shape = np.empty(4)
    for i in range(4):
        h = COMPLEX_STEP * max(abs(base[i]), 1.0)
        moved = [complex(value, h if j == i else 0.0) for j, value in enumerate(base)]
        c = Constants(times, *moved, carry)
        rows = (c.exact_k0, c.exact_k1, c.k2, c.k3, c.k4, c.k5, np.log(c.e / c.chi_scale),
                np.log(c.chi_scale))
        for r, row in enumerate(rows):
            out[r, i] = np.imag(row) / h
        d_shape[i] = (4.0 * moved[0] * moved[1] / (moved[2] * moved[2])).imag / h
    return out, d_shape


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_euler(rng, n_paths, log_spot, v0, kappa, theta, xi, rho, carry_dt, dt, column, x,
                   residual, variance, first_variance, antithetic, normals):
    """Full-truncation Euler paths; as simulate_qe."""
    root = np.sqrt(1.0 - rho * rho)
    v, level, r_sum, v_sum = _start(n_paths, v0, log_spot)
    z_v = np.empty(n_paths)
    z_x = np.empty(n_paths)
    for k in range(dt.size):
        _draw(rng, normals, 0, k, z_v, antithetic)
        _draw(rng, normals, 1, k, z_x, antithetic)
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
        _store(k, column, level, r_sum, v_sum, x, residual, variance)


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
        quadratic, first, second = _qe_law(complex(v0, h), e, mean_var, base_var, theta)
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
        quadratic, first, second = _qe_law(complex(v0, h), *args)
        finite, log_mgf = _qe_log_mgf(quadratic, first, second, float(c.mgf_arg[0]))
        if finite:
            return -log_mgf.imag / h - 0.5 * k3, k3
    return float(c.k1[0]), k3


def simulate(rng, scheme: int, n_paths: int, log_spot: float, v0: float, kappa: float,
             theta: float, xi: float, rho: float, c: Constants, column: np.ndarray,
             n_columns: int, antithetic: bool = False, scores_at: np.ndarray | None = None,
             normals: np.ndarray | None = None, sampled: bool = False):
    """Simulate ``n_paths`` paths, in blocks of ``BLOCK``; returns (x, R, V, v_1, slopes,
    scores) as described in the module docstring, slopes = (∂μ_1/∂v_0, ∂V_1/∂v_0) per path
    (paths × 2).

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
        paths = (np.r_[start:start + width, half + start:half + start + width] if antithetic
                 else slice(start, start + width))
        size = 2 * width if antithetic else width
        block = [np.empty((n_columns, size)) for _ in range(3)] + [np.empty(size)]
        block_slopes = np.empty((2, size))
        given = (np.empty((2, 0, 0)) if normals is None
                 else np.ascontiguousarray(normals[:, :, paths]))
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
                           block_scores)
            scores[:, :, paths] = block_scores
        else:
            simulate_euler(rng, size, log_spot, v0, kappa, theta, xi, rho, c.carry_dt, c.dt,
                           *out, antithetic, given)
        x[:, paths], residual[:, paths], variance[:, paths] = block[0], block[1], block[2]
        first_variance[paths] = block[3]
        if sampled:
            slopes[:, paths] = block_slopes
    if not sampled:
        slopes[:] = np.array(first_step_derivatives(scheme, v0, kappa, theta, xi, rho, c))[:, None]
    return (x.T, residual.T, variance.T, first_variance, slopes.T,
            scores.transpose(2, 0, 1) if n_scores else None)
