"""φ and Φ over arrays, in loops the compiler vectorises (numba kernels), from e^x by
fdlibm's method.

The C library's ``exp`` and ``erfc`` are calls LLVM cannot vectorise; these are the same
algorithms as fdlibm's (Sun Microsystems, 1993: ``e_exp.c`` and ``s_erf.c``, their
coefficients), written branch-free: every range's value is computed and the right one
selected, and the power of two is built from its bits, so that a pass over an array runs
on the processor's vector registers.

e^x.  x = n ln 2 + r with n = round(x/ln 2), |r| ≤ ln 2/2, ln 2 split in a head of 32 bits
(n·ln2_hi exact) and a tail (Cody–Waite); e^r = 1 + r + r c/(2 − c),
c = r − r²(P1 + r²(P2 + ... + r² P5)) (fdlibm's Remez fit, error below 2⁻⁵⁹), evaluated as
1 − ((lo − r c/(2 − c)) − hi) with hi = x − n·ln2_hi, lo = n·ln2_lo.  An argument given as
head + tail (a tail small beside ln 2, added to lo) is reduced without rounding their sum.
The result is y·2ⁿ, 2ⁿ = 2^{n₁}·2^{n₂} with n₁ = ⌊n/2⌋, n₂ = n − n₁, each the double whose
bits are (n_j + 1023)·2⁵² (written as int64, read through a float64 view): one rounding,
also for subnormal results, and 0 where e^x is below half the least subnormal.

φ(x) = e^{−x²/2}/√(2π) with −x²/2 exact as a head and a tail: with X = |x| and Z = X
rounded to 21 bits (Veltkamp's split), −x²/2 = −Z²/2 − (X − Z)(X + Z)/2, Z² exact.

Φ(x) = erfc(t)/2, t = −x/√2, by fdlibm's ranges of a = |t|:

* a < 0.84375: erfc(t) = 1 − (t + t R(t²)) (t < 1/4), ½ − (t R + (t − ½)) (t ≥ 1/4),
  R a rational function (pp, qq);
* 0.84375 ≤ a < 1.25: with s = a − 1 and erx = erf(1) rounded to 24 bits, erfc(t) =
  (1 − erx) − P(s)/Q(s) for t > 0, 1 + (erx + P/Q) for t < 0 (pa, qa);
* a ≥ 1.25: erfc(a) = e^{−a² − 0.5625 + R(1/a²)/S(1/a²)}/a (ra, sa below a = 1/0.35,
  rb, sb above), erfc(−a) = 2 − erfc(a).  Here a² = x²/2 is taken from x itself, the
  exponent as the head −Z²/2 − 0.5625 (exact) and the tail −(X − Z)(X + Z)/2 + R/S, so the
  rounding of x/√2 does not enter e^{−a²}: Φ keeps its relative accuracy in the lower tail,
  down to x ≈ −38.5 (Φ ~ 1e−324), below which it is 0.

For a < 1.25 the rounding of t enters instead through the rational functions' argument:
with τ = −x/√2 − t (Dekker's exact product, from x's and 1/√2's 26-bit halves),
erfc(t + τ) = erfc(t) − 2/√π e^{−x²/2} τ to first order (τ/t ~ 2⁻⁵³), the exponential
being the same pass's e^{head + tail} with −x²/2 as for φ.

Each function takes its output array (the first ``out.size`` entries of the input are
read) and an int64 scratch array of shape (2, n), n ≥ ``out.size``, for the powers of two.
Measured errors: tests/test_vector_math.py.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

INVERSE_ROOT_TWO = math.sqrt(0.5)  # 1/√2 rounded to nearest
INVERSE_ROOT_TWO_LOW = -4.833646656726457e-17  # 1/√2 − INVERSE_ROOT_TWO
INVERSE_ROOT_PI = 1.0 / math.sqrt(math.pi)
INVERSE_ROOT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)

LN2_HI = 6.93147180369123816490e-01  # 0x3fe62e42 fee00000: its low 32 bits zero
LN2_LO = 1.90821492927058770002e-10  # ln 2 − LN2_HI
INVERSE_LN2 = 1.44269504088896338700e+00
EXP_LIMIT = 746.0  # |x| clipped to it: e^x is 0 below −745.14, ∞ above 709.79
_P1, _P2, _P3, _P4, _P5 = (1.66666666666666019037e-01, -2.77777777770155933842e-03,
                           6.61375632143793436117e-05, -1.65339022054652515390e-06,
                           4.13813679705723846039e-08)
SPLIT = 2.0 ** 32 + 1.0  # Veltkamp's splitter: x·SPLIT − (x·SPLIT − x) keeps 21 bits of x
HALF_SPLIT = 2.0 ** 27 + 1.0  # the same for 26 bits (Dekker's exact product)
_ROOT_HI = INVERSE_ROOT_TWO * HALF_SPLIT - (INVERSE_ROOT_TWO * HALF_SPLIT - INVERSE_ROOT_TWO)
_ROOT_LO = INVERSE_ROOT_TWO - _ROOT_HI

# fdlibm s_erf.c
_ERX = 8.45062911510467529297e-01
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)
SMALL, MIDDLE, RATIONAL_SWITCH = 0.84375, 1.25, 1.0 / 0.35  # fdlibm's ranges of |t|
TAIL_CLIP = 40.0  # |x| of the tail formula clipped to [MIDDLE·√2, this]: Φ(−40) is 0


@njit(cache=True, nogil=True, inline="always")
def _clip(x, low, high):
    """x within [low, high]; ``low`` for NaN (a NaN is restored by the caller)."""
    y = x if x > low else low
    return y if y < high else high


@njit(cache=True, nogil=True, inline="always")
def _exp_parts(head, tail):
    """(y, n) with e^{head + tail} = y·2ⁿ, 0.7 < y < 1.5 (module docstring), for
    round((head + tail)/ln 2) within ±2040 (:func:`_power_bits`; the callers' heads are
    clipped, φ's to −``EXP_LIMIT``, Φ's |x| to ``TAIL_CLIP``)."""
    k = np.floor((head + tail) * INVERSE_LN2 + 0.5)
    hi = head - k * LN2_HI
    lo = k * LN2_LO - tail
    r = hi - lo
    rr = r * r
    c = r - rr * (_P1 + rr * (_P2 + rr * (_P3 + rr * (_P4 + rr * _P5))))
    return 1.0 - ((lo - (r * c) / (2.0 - c)) - hi), int(k)


@njit(cache=True, nogil=True, inline="always")
def _power_bits(n, powers, k):
    """Writes the bits of 2^{n₁} and 2^{n₂} (n₁ = ⌊n/2⌋, n₂ = n − n₁) into ``powers[:, k]``;
    n within ±2040."""
    half = n >> 1
    powers[0, k] = (half + 1023) << 52
    powers[1, k] = (n - half + 1023) << 52


@njit(cache=True, nogil=True, inline="always")
def _half_split(x):
    """(Z, (X − Z)(X + Z)) for 0 ≤ X ≤ 2⁹⁰⁰: Z = X rounded to 21 bits, so that
    X² = Z² + (X − Z)(X + Z) with Z² exact."""
    big = x * SPLIT
    z = big - (big - x)
    return z, (x - z) * (x + z)


@njit(cache=True, nogil=True, error_model="numpy")
def normal_pdfs(x, out, powers):
    """out[k] = φ(x[k]) = e^{−x²/2}/√(2π) for k < out.size, −x²/2 as −Z²/2 − (X − Z)(X + Z)/2
    (:func:`_half_split`)."""
    for k in range(out.size):
        z, cross = _half_split(_clip(abs(x[k]), 0.0, 2.0 * EXP_LIMIT))
        y, n = _exp_parts(max(-0.5 * (z * z), -EXP_LIMIT), -0.5 * cross)
        out[k] = y * INVERSE_ROOT_TWO_PI if x[k] == x[k] else x[k]
        _power_bits(n, powers, k)
    factors = powers.view(np.float64)
    for k in range(out.size):
        out[k] = out[k] * factors[0, k] * factors[1, k]


@njit(cache=True, nogil=True, inline="always")
def _erfc_near(t):
    """erfc(t) for |t| < 1.25 (fdlibm's first two ranges, selected)."""
    a = abs(t)
    tt = t * t
    r = _PP[0] + tt * (_PP[1] + tt * (_PP[2] + tt * (_PP[3] + tt * _PP[4])))
    s = 1.0 + tt * (_QQ[0] + tt * (_QQ[1] + tt * (_QQ[2] + tt * (_QQ[3] + tt * _QQ[4]))))
    d = a - 1.0
    p = _PA[0] + d * (_PA[1] + d * (_PA[2] + d * (_PA[3] + d * (_PA[4] + d * (
        _PA[5] + d * _PA[6])))))
    q = 1.0 + d * (_QA[0] + d * (_QA[1] + d * (_QA[2] + d * (_QA[3] + d * (
        _QA[4] + d * _QA[5])))))
    centre = a < SMALL
    y = (r if centre else p) / (s if centre else q)  # R(t²) in the centre, else P/Q
    if centre:
        return 1.0 - (t + t * y) if t < 0.25 else 0.5 - (t * y + (t - 0.5))
    return (1.0 - _ERX) - y if t > 0.0 else 1.0 + (_ERX + y)


@njit(cache=True, nogil=True, inline="always")
def _cdf_exponent(x):
    """(head, tail, factor) with Φ's exponential part e^{head + tail}·factor: where
    a = |x|/√2 ≥ 1.25, erfc(a)/2 = e^{−Z²/2 − 0.5625 − (X − Z)(X + Z)/2 + R/S}/(2a) (|x|
    clipped to [1.25√2, ``TAIL_CLIP``]); below, e^{−x²/2} (factor 1) for
    :func:`_rounding_of_t`'s correction."""
    big = _clip(abs(x), MIDDLE / INVERSE_ROOT_TWO, TAIL_CLIP)
    a = big * INVERSE_ROOT_TWO
    s = 1.0 / (a * a)
    ra = _RA[0] + s * (_RA[1] + s * (_RA[2] + s * (_RA[3] + s * (_RA[4] + s * (
        _RA[5] + s * (_RA[6] + s * _RA[7]))))))
    sa = 1.0 + s * (_SA[0] + s * (_SA[1] + s * (_SA[2] + s * (_SA[3] + s * (
        _SA[4] + s * (_SA[5] + s * (_SA[6] + s * _SA[7])))))))
    rb = _RB[0] + s * (_RB[1] + s * (_RB[2] + s * (_RB[3] + s * (_RB[4] + s * (
        _RB[5] + s * _RB[6])))))
    sb = 1.0 + s * (_SB[0] + s * (_SB[1] + s * (_SB[2] + s * (_SB[3] + s * (
        _SB[4] + s * (_SB[5] + s * _SB[6]))))))
    far = abs(x) * INVERSE_ROOT_TWO >= MIDDLE
    z, cross = _half_split(big if far else _clip(abs(x), 0.0, MIDDLE / INVERSE_ROOT_TWO))
    if not far:
        return -0.5 * (z * z), -0.5 * cross, 1.0
    near = a < RATIONAL_SWITCH
    return (-0.5 * (z * z) - 0.5625,
            -0.5 * cross + (ra if near else rb) / (sa if near else sb), 0.5 / a)


@njit(cache=True, nogil=True, inline="always")
def _rounding_of_t(x):
    """−x/√2 − t for t = −x·``INVERSE_ROOT_TWO`` rounded: the product's rounding error
    (Dekker's, from the 26-bit halves of x and of the constant) and the constant's."""
    product = x * INVERSE_ROOT_TWO
    big = x * HALF_SPLIT
    high = big - (big - x)
    low = x - high
    error = ((high * _ROOT_HI - product) + high * _ROOT_LO + low * _ROOT_HI) + low * _ROOT_LO
    return -(error + x * INVERSE_ROOT_TWO_LOW)


@njit(cache=True, nogil=True, error_model="numpy")
def normal_cdfs(x, out, powers):
    """out[k] = Φ(x[k]) = erfc(−x/√2)/2 for k < out.size (module docstring): the
    exponential part scaled by its power of two, then each range's value selected (x is
    read again in the second pass, so ``out`` must not share memory with it)."""
    for k in range(out.size):
        head, tail, factor = _cdf_exponent(x[k])
        y, n = _exp_parts(head, tail)
        out[k] = y * factor
        _power_bits(n, powers, k)
    factors = powers.view(np.float64)
    for k in range(out.size):
        part = out[k] * factors[0, k] * factors[1, k]
        t = -x[k] * INVERSE_ROOT_TWO
        far = part if x[k] < 0.0 else 1.0 - part
        near = 0.5 * _erfc_near(t) - INVERSE_ROOT_PI * part * _rounding_of_t(x[k])
        value = near if abs(t) < MIDDLE else far
        out[k] = value if x[k] == x[k] else x[k]
