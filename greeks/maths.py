"""Special functions and samplers shared by the models and estimators (numba kernels).

Normal law: Φ, φ and Acklam's quantile.  Modified Bessel ratio I_{ν+1}/I_ν (continued
fraction).  Regularised incomplete gamma P(a, x) and its inverse.  Bessel counts, gamma and
noncentral chi-square variates, each from a fixed number of draws (inversion, directly or
from tables of the quantiles).
Digamma.  ``COMPLEX_STEP``: the relative step of
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
QUANTILE_TAIL = 0.02425  # below it (and above 1 − it) the tail piece, in between the central


@njit(cache=True, nogil=True, inline="always")
def normal_cdf(x):
    """Φ(x) = ½ erfc(−x/√2)."""
    return 0.5 * math.erfc(-x * INVERSE_ROOT_TWO)


@njit(cache=True, nogil=True, inline="always")
def normal_pdf(x):
    """φ(x) = e^{−x²/2}/√(2π)."""
    return math.exp(-0.5 * x * x) * INVERSE_ROOT_TWO_PI


@njit(cache=True, nogil=True, inline="always")
def normal_quantile_central(p):
    """Acklam's central piece: :func:`normal_quantile` (the same bits) where
    ``QUANTILE_TAIL <= p <= 1 − QUANTILE_TAIL`` (or p is NaN).  Branch-free, so a loop of it
    vectorises; :func:`normal_quantile` itself then only for the tails."""
    q = p - 0.5
    r = q * q
    return ((((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
            / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0))


@njit(cache=True, nogil=True, inline="always")
def normal_quantile(p):
    """Φ^{−1}(p) for 0 < p < 1 (Acklam's approximation)."""
    if p < QUANTILE_TAIL:
        q = math.sqrt(-2.0 * math.log(p))
        x = ((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
             / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))
    elif p > 1.0 - QUANTILE_TAIL:
        q = math.sqrt(-2.0 * math.log1p(-p))
        x = -((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
              / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))
    else:
        x = normal_quantile_central(p)
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
    """The regularised lower incomplete gamma function P(a, x) (:func:`_incomplete_gammas`)."""
    return _incomplete_gammas(a, x)[0]


@njit(cache=True, nogil=True, error_model="numpy")
def _incomplete_gammas(a, x):
    """(P(a, x), Q(a, x)), the regularised lower and upper incomplete gamma functions: P by
    its series below x = a + 1, else Q by Legendre's continued fraction (modified Lentz),
    the other as the complement, so that each is accurate where it is small."""
    if x <= 0.0:
        return 0.0, 1.0
    log_front = a * np.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        n = a
        while abs(term) > abs(total) * 1e-17:
            n += 1.0
            term *= x / n
            total += term
        lower = total * np.exp(log_front)
        return lower, 1.0 - lower
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
    upper = np.exp(log_front) * h
    return 1.0 - upper, upper


@njit(cache=True, nogil=True, error_model="numpy")
def gamma_quantile(a, u, tolerance=1e-14):
    """x with P(a, x) = u: Halley's iteration from the Wilson–Hilferty (a > 1) or the
    small-x (a ≤ 1) starting point (Press et al., Numerical Recipes, 3rd ed., §6.2.1), until
    a step below ``tolerance`` of x (its error is cubic: 1e-5 leaves about 1e-14, one
    evaluation of P fewer); a smooth function of (a, u), so that common random numbers
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
        if abs(step) < tolerance * x:
            break
    return x


@njit(cache=True, nogil=True, error_model="numpy")
def bessel_quantile(nu, z, u):
    """N of the Bessel law, P(N = n) = (z/2)^{2n+ν}/(I_ν(z) n! Γ(n + ν + 1)) (ν > −1, z ≥ 0),
    by inversion of the uniform u: the least n with P(N ≤ n) ≥ u.  It is the law of the
    Poisson count of χ'²_d(λ) given the variate x, ν = d/2 − 1, z = sqrt(λx).  The weights,
    whose ratios are p(n + 1)/p(n) = (z/2)²/((n + 1)(n + 1 + ν)), are summed relative to the
    mode's, down and up until a term falls below 1e-17 of the sum (no factorial or Bessel
    function to over- or underflow), then accumulated from the lowest kept term."""
    q = 0.25 * z * z
    if q <= 0.0:
        return 0
    mode = max(int(np.floor(0.5 * (np.sqrt(nu * nu + 4.0 * q) - nu))), 0)
    total = term = 1.0
    low = mode
    while low > 0:
        term *= low * (low + nu) / q
        total += term
        low -= 1
        if term < 1e-17 * total:
            break
    low_term = term
    term = 1.0
    n = mode
    while term >= 1e-17 * total:
        n += 1
        term *= q / (n * (n + nu))
        total += term
    target = u * total
    n, term = low, low_term
    cumulative = term
    while cumulative < target and term > 0.0:
        n += 1
        term *= q / (n * (n + nu))
        cumulative += term
    return n


@njit(cache=True, nogil=True, error_model="numpy")
def _zero_dof_cdf(mu, t, low, weight, log_factorial, reciprocals):
    """(F, f, f') at t = y/2 of y ~ χ'²_0(2μ), the Poisson(μ) mixture of χ²_{2n} (χ²_0 = 0):
    F = P(K ≥ N) = Σ_k p_k(t) C_k for independent K ~ Poisson(t) and N ~ Poisson(μ),
    C_k = P(N ≤ k) (as P(χ²_{2n}/2 ≤ t) = P(K ≥ n)); f = dF/dt = Σ_k p_k(t) p_{k+1}(μ) and
    f' = Σ_k p_k(t)(p_{k+2}(μ) − p_{k+1}(μ)).  One pass up from k = ``low``, ten standard
    deviations of N below μ (p_low(μ) = ``weight``, log low! = ``log_factorial``; below it
    C_k < 1e-20), by the recurrences of the Poisson weights, until beyond t and μ p_k(t)
    falls below 1e-17 of their sum (absolute error near 1e-16).  The recurrences multiply
    by 1/k from ``reciprocals`` (1/k at k) where it holds k, else divide by k."""
    p_t = np.exp(low * np.log(t) - t - log_factorial) if low > 0 else np.exp(-t)
    cumulative = weight
    q1 = weight * mu / (low + 1)
    q2 = q1 * mu / (low + 2)
    value, density, slope, mass = p_t * cumulative, p_t * q1, p_t * (q2 - q1), p_t
    k = low
    n = reciprocals.size
    while True:
        k += 1
        if k + 2 < n:
            p_t *= t * reciprocals[k]
            cumulative += q1
            q1, q2 = q2, q2 * mu * reciprocals[k + 2]
        else:
            p_t *= t / k
            cumulative += q1
            q1, q2 = q2, q2 * mu / (k + 2)
        value += p_t * cumulative
        density += p_t * q1
        slope += p_t * (q2 - q1)
        mass += p_t
        if k > t and k > mu and not p_t > 1e-17 * mass:  # (and on NaN)
            break
    return value, density, slope


@njit(cache=True, nogil=True, error_model="numpy")
def zero_dof_quantile(mu, u):
    """t = y/2 with P(y' ≤ y) = u for y' ~ χ'²_0(2μ) (:func:`_zero_dof_cdf`): 0 when u ≤
    e^{−μ} (the atom at 0), else Halley's iteration on F(t) = u (:func:`_zero_dof_halley`)
    until a step below 1e-5 of t (its error cubic, the result's relative error is then near
    that of F, 1e-12 or less).  The start is the Cornish–Fisher expansion in the level given
    y > 0 (:func:`_cornish_fisher_start`), or an exponential for μ < 1; one or two steps
    suffice from μ ≈ 10 on.  F is smooth and increasing in t and smooth in μ, so the
    quantile is a smooth function of (μ, u), continuous where it leaves the atom."""
    atom = np.exp(-mu)
    if u <= atom:
        return 0.0
    given = (u - atom) / (1.0 - atom)  # the quantile's level given y > 0
    if mu < 1.0:
        t = -np.log1p(-given) * (1.0 + 0.5 * mu)
    else:
        t = _cornish_fisher_start(mu, given)
    return _zero_dof_halley(mu, u, t, atom, 1e-5, np.empty(0))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _cornish_fisher_start(mu, given):
    """The Cornish–Fisher expansion of t at the level ``given`` (y > 0): t has mean μ,
    variance 2μ, skewness 3/sqrt(2μ), excess kurtosis 6/μ; at least 1e-3."""
    z = normal_quantile(given)
    skew, excess = 3.0 / np.sqrt(2.0 * mu), 6.0 / mu
    return max(mu + np.sqrt(2.0 * mu) * (z + skew * (z * z - 1.0) / 6.0
                                         + excess * z * (z * z - 3.0) / 24.0
                                         - skew * skew * z * (2.0 * z * z - 5.0) / 36.0), 1e-3)


@njit(cache=True, nogil=True, error_model="numpy")
def _zero_dof_halley(mu, u, t, atom, tolerance, reciprocals):
    """Halley's iteration on F(t) = u (:func:`_zero_dof_cdf`, with ``reciprocals``; ``atom``
    = e^{−μ}) from t, kept inside the bracket that it narrows (bisection where a step leaves
    it), until a step below ``tolerance`` of t; then t − step.  It stops at μ + 40√μ + 60, where
    1 − F < 1e-30, should the sum's rounding keep F below a level within 1e-15 of 1."""
    first = max(int(np.floor(mu - 10.0 * np.sqrt(mu))) - 1, 0)
    if first == 0:
        log_factorial, weight = 0.0, atom
    else:
        log_factorial = math.lgamma(first + 1.0)
        weight = np.exp(first * np.log(mu) - mu - log_factorial)
    low, high = 0.0, np.inf
    bound = mu + 40.0 * np.sqrt(mu) + 60.0
    for _ in range(200):
        cdf, density, slope = _zero_dof_cdf(mu, t, first, weight, log_factorial, reciprocals)
        if cdf < u:
            if t >= bound:
                return bound
            low = t
        else:
            high = t
        ratio = (cdf - u) / density if density > 0.0 else np.inf
        step = ratio / (1.0 - 0.5 * ratio * slope / density) if density > 0.0 else np.inf
        if abs(step) <= tolerance * t:
            return t - step
        following = t - step
        if not low < following < high:
            following = 0.5 * (low + high) if high < np.inf else min(2.0 * t, bound)
        t = following
    return t


@njit(cache=True, nogil=True, error_model="numpy")
def log_gamma_by_inversion(a, u, u_boost):
    """log G, G ~ Gamma(a, 1) for a > 0, from two independent uniforms:
    G = P⁻¹(a + 1, u)·u_boost^{1/a} (:func:`gamma_quantile`; a Gamma(a + 1) variate times
    U^{1/a} is Gamma(a), Stuart's theorem), in logarithms so that it stays exact where G
    itself underflows (small a).  A smooth function of a at fixed (u, u_boost), so that
    common random numbers carry through a change of a."""
    return np.log(gamma_quantile(a + 1.0, u, 1e-5)) + np.log(u_boost) / a


@njit(cache=True, nogil=True, error_model="numpy")
def noncentral_chi_square_variate(lam, shape, z, u_gamma, u_boost):
    """x ~ χ'²_d(λ) (d = ``shape`` > 0, λ ≥ 0) from a fixed set of draws, one normal z and
    two uniforms, as (x, log(x/2)): a change of λ or d moves this variate only, never
    which draws it or any other reads, and moves it smoothly (common random numbers).

    d ≥ 1: x = (z + √λ)² + 2G, G ~ Gamma((d − 1)/2) (:func:`log_gamma_by_inversion`; none
    at d = 1), as χ'²_1(λ) + χ²_{d−1} = χ'²_d(λ) (independent noncentral chi-squares add,
    degrees of freedom and noncentralities alike).
    d < 1: x = y + 2G, y = χ'²_0(λ) by inversion of U = Φ(z) (:func:`zero_dof_quantile`)
    and G ~ Gamma(d/2), as χ'²_0(λ) + χ²_d = χ'²_d(λ) by the same additivity; the
    logarithm stays exact where y = 0 (probability e^{−λ/2}) and G underflows.
    """
    if shape >= 1.0:
        root = z + np.sqrt(lam)
        x = root * root
        if shape > 1.0:
            x += 2.0 * np.exp(log_gamma_by_inversion(0.5 * (shape - 1.0), u_gamma, u_boost))
        return x, np.log(0.5 * x)
    log_gamma = log_gamma_by_inversion(0.5 * shape, u_gamma, u_boost)
    u = min(normal_cdf(z), 1.0 - 2.0 ** -53)
    half = zero_dof_quantile(0.5 * lam, u) if lam > 0.0 else 0.0
    log_half = np.log(half + np.exp(log_gamma)) if half > 0.0 else log_gamma
    return 2.0 * np.exp(log_half), log_half


# Tables of the exact scheme's inversions: w = log(u/(1 − u)) on ±GAMMA_EDGE covers the levels
# (2⁻⁵⁴, 1 − 2⁻⁵³) of :func:`greeks.pcg64.fill_open_uniforms`; the zero-degree starts span
# √μ ≤ START_ROOT_EDGE.
GAMMA_EDGE, GAMMA_STEP = 38.0, 1.0 / 32.0
START_ROOT_EDGE, START_ROOT_STEP = 20.0, 0.125
START_EDGE, START_STEP = 20.0, 0.25
RECIPROCALS = 4096


@njit(cache=True, nogil=True, error_model="numpy")
def gamma_log_quantile_table(a):
    """The nodes of y(w) = log P⁻¹(a, u), u = 1/(1 + e^{−w}), at w_i = −GAMMA_EDGE +
    i·GAMMA_STEP, for :func:`tabulated_log_gamma_quantile`: rows y_i and dy/dw at w_i =
    u(1 − u)/(x f(x)) (x = e^{y_i}, f the Gamma(a) density).  Each y_i is Newton's iteration
    from :func:`gamma_quantile` on log P(a, e^y) = log u below the median level and on
    log Q(a, e^y) = log(1 − u) above (:func:`_incomplete_gammas`), so that levels
    whose 1 − u a double cannot hold stay exact; its convergence is quadratic, to rounding."""
    n = int(round(2.0 * GAMMA_EDGE / GAMMA_STEP)) + 1
    out = np.empty((2, n))
    log_gamma = math.lgamma(a)
    for i in range(n):
        w = -GAMMA_EDGE + i * GAMMA_STEP
        soft = np.log1p(np.exp(-abs(w)))  # log(1 + e^{−|w|})
        log_low = w - soft if w < 0.0 else -soft  # log u
        log_high = -soft if w < 0.0 else -w - soft  # log(1 − u)
        y = np.log(gamma_quantile(a, min(np.exp(log_low), 1.0 - 2.0 ** -53)))
        for _ in range(50):
            x = np.exp(y)
            lower, upper = _incomplete_gammas(a, x)
            front = np.exp(a * y - x - log_gamma)  # x f(x)
            if w < 0.0:
                step = (np.log(lower) - log_low) * lower / front
            else:
                step = -(np.log(upper) - log_high) * upper / front
            y -= step
            if abs(step) < 1e-15 * max(1.0, abs(y)):
                break
        x = np.exp(y)
        out[0, i] = y
        out[1, i] = np.exp(log_low + log_high - (a * y - x - log_gamma))
    return out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def tabulated_log_gamma_quantile(table, u):
    """log P⁻¹(a, u) from the nodes of :func:`gamma_log_quantile_table`: the cubic Hermite
    interpolant of y(w) at w = log(u/(1 − u)) (values and slopes at the two nodes about w).
    Its error is at most GAMMA_STEP⁴/384·max|y⁗|; y is smooth, nearly linear in both tails
    (log x ≈ (log u + log Γ(a + 1))/a below, x ≈ −log(1 − u) above), and the error stays
    below 2e-10 of x (tests/models/heston/test_crn.py), far below any Monte-Carlo error.
    At fixed u the interpolation weights are fixed, so the result is as smooth in a as the
    nodes are."""
    w = np.log(u / (1.0 - u))
    position = (w + GAMMA_EDGE) * (1.0 / GAMMA_STEP)
    i = min(max(int(position), 0), table.shape[1] - 2)
    f = position - i
    y0, y1 = table[0, i], table[0, i + 1]
    m0, m1 = table[1, i] * GAMMA_STEP, table[1, i + 1] * GAMMA_STEP
    rise = y1 - y0
    return y0 + f * (m0 + f * (3.0 * rise - 2.0 * m0 - m1 + f * (m0 + m1 - 2.0 * rise)))


@njit(cache=True, nogil=True, error_model="numpy")
def zero_dof_start_table():
    """Starting points of :func:`tabulated_zero_dof_quantile`: log t(μ, g) at
    μ_j = (j·START_ROOT_STEP)² and the logits w_i = −START_EDGE + i·START_STEP of the level
    g = (u − e^{−μ})/(1 − e^{−μ}) given y > 0 (:func:`zero_dof_quantile`; at μ = 0 the
    limit law given y > 0, t ~ Exp(1))."""
    roots = int(round(START_ROOT_EDGE / START_ROOT_STEP)) + 1
    n = int(round(2.0 * START_EDGE / START_STEP)) + 1
    out = np.empty((roots, n))
    for j in range(roots):
        mu = (j * START_ROOT_STEP) ** 2
        atom = np.exp(-mu)
        for i in range(n):
            given = 1.0 / (1.0 + np.exp(START_EDGE - i * START_STEP))
            if j == 0:
                out[j, i] = np.log(-np.log1p(-given))
            else:
                out[j, i] = np.log(zero_dof_quantile(mu, atom + given * (1.0 - atom)))
    return out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _lagrange_weights(f):
    """Weights of the cubic through the nodes −1, 0, 1, 2 at f."""
    return (-f * (f - 1.0) * (f - 2.0) / 6.0, 0.5 * (f + 1.0) * (f - 1.0) * (f - 2.0),
            -0.5 * (f + 1.0) * f * (f - 2.0), (f + 1.0) * f * (f - 1.0) / 6.0)


@njit(cache=True, nogil=True, error_model="numpy")
def tabulated_zero_dof_quantile(mu, u, starts, reciprocals):
    """:func:`zero_dof_quantile` from a better start: 0 on the atom u ≤ e^{−μ}, else Halley's
    iteration (:func:`_zero_dof_halley`) from the bicubic interpolant (in √μ and the logit w
    of the level given y > 0) of :func:`zero_dof_start_table` (Cornish–Fisher beyond its
    √μ ≤ 20, where that start is within 1e-3), whose relative error is below 1e-4 (typically
    1e-7), until a step below 1e-4 of t.  One step almost always suffices; Halley's error
    being cubic, the result's relative error is then below about 1e-11 (that of F near
    1e-15), a bias below 1e-11 per transition in any expectation.  Smooth in (μ, u) as the
    iteration's fixed point is: where the number of steps changes, the result moves by
    that error only."""
    atom = np.exp(-mu)
    if u <= atom:
        return 0.0
    given = (u - atom) / (1.0 - atom)
    root = np.sqrt(mu)
    if root < START_ROOT_EDGE - 2.0 * START_ROOT_STEP:
        w = np.log(given / (1.0 - given))
        along = root * (1.0 / START_ROOT_STEP)
        across = min(max((w + START_EDGE) * (1.0 / START_STEP), 0.0), starts.shape[1] - 1.0)
        j = min(max(int(along), 1), starts.shape[0] - 3)
        i = min(max(int(across), 1), starts.shape[1] - 3)
        a0, a1, a2, a3 = _lagrange_weights(along - j)
        b0, b1, b2, b3 = _lagrange_weights(across - i)
        y = 0.0
        for r, weight in ((j - 1, a0), (j, a1), (j + 1, a2), (j + 2, a3)):
            y += weight * (b0 * starts[r, i - 1] + b1 * starts[r, i] + b2 * starts[r, i + 1]
                           + b3 * starts[r, i + 2])
        t = np.exp(y)
    else:
        t = _cornish_fisher_start(mu, given)
    return _zero_dof_halley(mu, u, t, atom, 1e-4, reciprocals)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def tabulated_noncentral_chi_square_variate(lam, shape, z, u_gamma, u_boost, gamma_table,
                                            starts, reciprocals):
    """:func:`noncentral_chi_square_variate` by the tables: the same draws and laws, G from
    :func:`tabulated_log_gamma_quantile` (``gamma_table`` of Gamma(a + 1), a = (d − 1)/2
    for d ≥ 1 and d/2 below, times u_boost^{1/a}) and y from
    :func:`tabulated_zero_dof_quantile` at the level Φ(z) capped at 1 − 2⁻⁴⁰, within which
    F is resolved in double precision (a change of law of probability 1e-12); as
    (x, log(x/2))."""
    if shape >= 1.0:
        root = z + np.sqrt(lam)
        x = root * root
        if shape > 1.0:
            a = 0.5 * (shape - 1.0)
            x += 2.0 * np.exp(tabulated_log_gamma_quantile(gamma_table, u_gamma)
                              + np.log(u_boost) / a)
        return x, np.log(0.5 * x)
    log_gamma = tabulated_log_gamma_quantile(gamma_table, u_gamma) + np.log(u_boost) / (0.5 * shape)
    u = min(normal_cdf(z), 1.0 - 2.0 ** -40)
    half = tabulated_zero_dof_quantile(0.5 * lam, u, starts, reciprocals) if lam > 0.0 else 0.0
    if half > 0.0:
        half += np.exp(log_gamma)
        return 2.0 * half, np.log(half)
    return 2.0 * np.exp(log_gamma), log_gamma


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
