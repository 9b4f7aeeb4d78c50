"""e^x, φ and Φ over arrays (greeks.vector_math) against exact values.

The references are computed in 50-digit decimal arithmetic, independent of the code under
test: e^x and e^{−x²/2}/√(2π) by ``Decimal.exp``, erfc(t) at the exact t = −x/√2 by its
series erf(t) = 2/√π e^{−t²} Σ 2ⁿ t^{2n+1}/(2n+1)!! below t = 3 and by its continued
fraction above.  Errors are in units in the last place of the exact value (the spacing of
doubles at it; subnormal spacing below 2^−1022).  Measured maxima on these points: e^x
0.71 ulp (the C library's 0.61), φ 1.8 ulp (the C library's exp(−x²/2)/√(2π) 440 ulp: the
rounding of x²/2), Φ 3.1 ulp (at x = −23.316; the C library's erfc(−x/√2)/2 1,780 ulp at
x ≈ −36.6: the rounding of x/√2, amplified by x²; 6.7 ulp above x = −1.25√2).
"""

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from numba import njit

from greeks.vector_math import EXP_LIMIT, _clip, _exp_parts, _power_bits, normal_cdfs, normal_pdfs

PRECISION = 50
POINTS = 20261206  # each test draws its own fixed points (not a statistical test)
PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494")


@njit(error_model="numpy")
def exps(x, out, powers):
    """out[k] = e^{x[k]} by the module's parts: φ's and Φ's exponential on its own."""
    for k in range(out.size):
        y, n = _exp_parts(_clip(x[k], -EXP_LIMIT, EXP_LIMIT), 0.0)
        out[k] = y if x[k] == x[k] else x[k]
        _power_bits(n, powers, k)
    factors = powers.view(np.float64)
    for k in range(out.size):
        out[k] = out[k] * factors[0, k] * factors[1, k]


def run(function, x):
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    function(x, out, np.empty((2, x.size), dtype=np.int64))
    return out


def ulps(found, exact):
    """|found − exact| in units of the spacing of doubles at ``exact`` (Decimals)."""
    errors = []
    for f, e in zip(found, exact):
        spacing = Decimal(float(np.spacing(abs(float(e))))) if e != 0 else Decimal(2) ** -1074
        errors.append(float(abs(Decimal(float(f)) - e) / spacing))
    return np.array(errors)


def exact_exp(x):
    with localcontext() as context:
        context.prec = PRECISION
        return [Decimal(float(v)).exp() for v in x]


def exact_pdf(x):
    with localcontext() as context:
        context.prec = PRECISION
        root = (2 * PI).sqrt()
        return [(-(Decimal(float(v)) ** 2) / 2).exp() / root for v in x]


def _erfc(t):
    """erfc(t), t ≥ 0, as a Decimal (module docstring)."""
    if t < 3:
        term = total = t
        n = 0
        while term > total * Decimal(10) ** -(PRECISION - 2):
            n += 1
            term = term * 2 * t * t / (2 * n + 1)
            total += term
        return 1 - 2 / PI.sqrt() * (-t * t).exp() * total
    fraction = t
    for k in range(400 if t < 6 else 120, 0, -1):
        fraction = t + Decimal(k) / 2 / fraction
    return (-t * t).exp() / PI.sqrt() / fraction


def exact_cdf(x):
    with localcontext() as context:
        context.prec = PRECISION
        root = Decimal(2).sqrt()
        values = []
        for v in x:
            t = -Decimal(float(v)) / root
            values.append((_erfc(t) if t >= 0 else 2 - _erfc(-t)) / 2)
        return values


def test_exp_within_one_ulp_of_exact_and_of_the_c_library():
    rng = np.random.default_rng(POINTS)
    x = np.concatenate([np.linspace(-745.1, 709.7, 601), rng.uniform(-745.1, 709.78, 300),
                        rng.uniform(-1.0, 1.0, 200), [-708.4, -708.39, -0.0, 0.0, 1e-300, 709.78]])
    found = run(exps, x)
    assert ulps(found, exact_exp(x)).max() < 1.0
    library = np.exp(x)
    assert np.all(np.abs(found - library) <= np.spacing(library))


def test_exp_edges():
    x = np.array([np.nan, np.inf, -np.inf, 709.79, 1e300, -745.14, -1e300, -745.13, -740.0])
    found = run(exps, x)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(found, np.exp(x))
    assert found[-2] == 5e-324 and found[-1] > 0.0


def test_normal_pdf_within_two_ulp():
    x = np.concatenate([np.linspace(-38.5, 38.5, 701),
                        np.random.default_rng(POINTS + 1).normal(0.0, 3.0, 300)])
    found = run(normal_pdfs, x)
    assert ulps(found, exact_pdf(x)).max() < 2.5
    edges = run(normal_pdfs, [np.nan, np.inf, -np.inf, 40.0, -0.0, 5e-324])
    assert np.isnan(edges[0]) and np.all(edges[1:4] == 0.0)
    assert edges[4] == edges[5] == 1.0 / math.sqrt(2.0 * math.pi)


def test_normal_cdf_within_a_few_ulp_into_the_far_lower_tail():
    """Within 4 ulp (about 3.1 at most, e.g. at x = −23.316), below x = −1.25√2 (the
    exponential formula) down to the subnormal Φ(−38.4), and within 2.5 elsewhere."""
    rng = np.random.default_rng(POINTS + 2)
    tail = np.concatenate([np.linspace(-38.4, -1.77, 501), rng.uniform(-38.4, -1.77, 200),
                           [-23.316]])
    assert ulps(run(normal_cdfs, tail), exact_cdf(tail)).max() < 4.0
    x = np.concatenate([np.linspace(-1.77, 9.0, 401), rng.uniform(-2.0, 2.0, 300),
                        [-1.2, -0.0, 0.0, 0.3535, 0.35355339, 1.19, 1.1932, 1.77, 4.04]])
    assert ulps(run(normal_cdfs, x), exact_cdf(x)).max() < 2.5


@pytest.mark.parametrize("x, expected", [(np.nan, np.nan), (np.inf, 1.0), (-np.inf, 0.0),
                                         (1e300, 1.0), (-1e300, 0.0), (-39.0, 0.0),
                                         (40.0, 1.0), (0.0, 0.5), (-0.0, 0.5), (5e-324, 0.5)])
def test_normal_cdf_edges(x, expected):
    np.testing.assert_array_equal(run(normal_cdfs, [x]), [expected])


def test_only_the_first_out_size_entries_are_read_and_written():
    x = np.array([-3.0, 0.5, np.nan])
    for function in (exps, normal_pdfs, normal_cdfs):
        buffer, powers = np.full(3, 7.0), np.full((2, 3), 7, dtype=np.int64)
        function(x, buffer[:2], powers)
        assert np.all(np.isfinite(buffer[:2])) and buffer[2] == 7.0
        assert np.all(powers[:, 2] == 7)
