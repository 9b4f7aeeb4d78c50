"""Special functions and samplers shared by the models and estimators (numba kernels).

Normal law: Φ, φ and Acklam's quantile.  Modified Bessel ratio I_{ν+1}/I_ν (continued
fraction).  Regularised incomplete gamma P(a, x) and its inverse.  Gamma, Poisson-mixture and
noncentral chi-square variates.  Digamma.  ``COMPLEX_STEP``: the relative step of
complex-step differentiation, f'(x) = Im f(x + ih)/h, exact to rounding.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

INVERSE_ROOT_TWO = 1.0 / math.sqrt(2.0)
INVERSE_ROOT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)
COMPLEX_STEP = 1e-20

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
    """Φ(x) = ½ erfc(−x/√2)."""
    return 0.5 * math.erfc(-x * INVERSE_ROOT_TWO)


@njit(cache=True, nogil=True, inline="always")
def normal_pdf(x):
    """φ(x) = e^{−x²/2}/√(2π)."""
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
def poisson_mixture(rng, lam, shape):
    """χ'²_d(λ) as the Poisson mixture χ²_{d+2N}, N ~ Poisson(λ/2): (N, α = d/2 + N,
    log G) with G ~ Gamma(α), the variate being 2G."""
    count = rng.poisson(0.5 * lam)
    alpha = 0.5 * shape + count
    return count, alpha, log_gamma_variate(rng, alpha)


@njit(cache=True, nogil=True, error_model="numpy")
def noncentral_chi_square(rng, lam, shape, scale):
    """c·χ'²_d(λ) (:func:`poisson_mixture`)."""
    return 2.0 * scale * np.exp(poisson_mixture(rng, lam, shape)[2])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def log_gamma_variate(rng, alpha):
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
