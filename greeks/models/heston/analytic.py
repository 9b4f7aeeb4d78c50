"""Semi-analytic Heston references: European and digital prices, delta and σ0-vega.

Model (risk neutral, continuous dividend yield q)::

    dS = (r − q) S dt + sqrt(v) S dW1,   dv = κ (θ − v) dt + ξ sqrt(v) dW2,
    d<W1, W2> = ρ dt.

Characteristic function
-----------------------
With F = S0 e^{(r−q)T} the forward and X = log(S_T / F), the characteristic
function ψ(z) = E[exp(i z X)] is exponential-affine in v0 and free of S0::

    ψ(z) = exp(A(z) + B(z) v0),
    β = κ − ρ ξ i z,   d = sqrt(β² + ξ² (i z + z²))   (principal root, Re d ≥ 0),
    g = (β − d) / (β + d),
    B = (β − d) / ξ² · (1 − e^{−dT}) / (1 − g e^{−dT}),
    A = κθ / ξ² · [ (β − d) T − 2 log((1 − g e^{−dT}) / (1 − g)) ].

This is the "little Heston trap" form of Albrecher, Mayer, Schoutens & Tistaert,
*The Little Heston Trap*, Wilmott Magazine, January 2007, pp. 83–92: written with
e^{−dT} and g = (β − d)/(β + d) (instead of Heston's original e^{+dT} and 1/g), the
principal branch of the complex logarithm gives the continuous solution, so the
formula stays correct for long maturities and large ξ (the tests check it against
a numerical solution of the Riccati equations for A and B).  In floating point the
smaller of β ± d is formed by division, from (β + d)(β − d) = −ξ² (iz + z²), and the
logarithm as log1p(−g e^{−dT}) − log1p(−g), so that ξ → 0 loses no digits.
The log-price characteristic function is exp(i z (log S0 + (r − q)T)) ψ(z).

Pricing integrals (single integrals along Im z = −1/2)
------------------------------------------------------
With k = log(K / F) and w(u) = e^{−iuk} ψ(u − i/2) for real u ≥ 0::

    call          C = S0 e^{−qT} [1 − e^{k/2}/π ∫ Re w(u) / (u² + 1/4) du]
    digital call  D = P e^{−rT} e^{−k/2}/π ∫ Re[w(u) / (1/2 + i u)] du
                    = P e^{−rT} · Prob(S_T > K)          (cash-or-nothing, payout P)

both from the damped Fourier transforms of min(e^X, e^k) and 1{X > k} with damping
exponent 1/2 (the call is A. Lewis, "A simple option formula for general
jump-diffusion and other exponential Lévy processes", 2001); ψ(u − i/2) =
E[e^{X/2} e^{iuX}] exists for every Heston parameter set, as E[e^{aX}] ≤ 1 for
0 ≤ a ≤ 1.  Puts follow from parity:
put = C − S0 e^{−qT} + K e^{−rT}, digital put = P e^{−rT} − D.

Greeks by differentiating under the integral
--------------------------------------------
ψ does not depend on S0; S0 enters only through k (∂k/∂S0 = −1/S0, so
∂w/∂S0 = (iu/S0) w) and the prefactors, and ∂ψ/∂v0 = B ψ.  Hence::

    ∂C/∂S0 = e^{−qT} [1 − e^{k/2}/π ∫ Re[w(u) / (1/2 − i u)] du]
    ∂C/∂v0 = −S0 e^{−qT} e^{k/2}/π ∫ Re[B(u − i/2) w(u)] / (u² + 1/4) du
    ∂D/∂S0 = P e^{−rT} e^{−k/2}/(π S0) ∫ Re w(u) du
    ∂D/∂v0 = P e^{−rT} e^{−k/2}/π ∫ Re[B(u − i/2) w(u) / (1/2 + i u)] du

(the first one is e^{−qT} times the share-measure probability P1 of exercise, the
third is e^{−rT} P times the density of S_T at K).  Vega is per 1.00 of σ0 = sqrt(v0):
vega = ∂V/∂σ0 = 2 sqrt(v0) ∂V/∂v0, which is 0 at v0 = 0 by that definition (the
derivative with respect to v0 itself stays finite there).  Put Greeks follow from
parity: put delta = call delta − e^{−qT}, put vega = call vega; the digital put's
delta and vega are minus the digital call's.  The asset-or-nothing digital (pays S_T)
follows by linearity: asset call = C + K · D (payout 1), asset put = S0 e^{−qT} − asset
call, with delta and vega the same combinations (the delta of S0 e^{−qT} is e^{−qT}, its
vega 0).

Quadrature
----------
The six integrands share one evaluation of ψ and B per node.  The range is truncated
at U, twice the last u (on a geometric grid, eight points per octave) where the
envelope |ψ(u − i/2)| (1 + |B(u − i/2)|) exceeds 1e-13; |ψ| decays at least
exponentially in u (like exp(−(v0 + κθT) sqrt(1 − ρ²) u / ξ) for large u, faster
while ξ is small), so doubling U puts the neglected tail far below the working
accuracy.  [0, U] is integrated by globally adaptive composite Gauss–Legendre:
16 panels to start with, each estimated by the 16-point rule on the whole panel
and on its two halves; the difference of the two estimates (treated as zero when
below 1e-12 of the integral of the integrand's modulus, the rounding level of the
oscillating integrand) is the panel's error estimate, and the panels with the
largest estimates are bisected until the estimates add up to less than 1e-12 per
integral, in units of S0 e^{−qT} for the call integrands and of P e^{−rT} for the
digital ones.  The error estimate is that of the coarser rule, so the returned
(finer) values are more accurate still: prices agree with a 30-digit quadrature of
the Gil-Pelaez (Heston P1, P2) form to about 1e-12 at S0 = 100, on the published
cases of data/heston_reference.csv and on long-maturity, large-ξ, |ρ| = 0.99 and
v0 = 0 cases alike.  A call of any of the three functions costs one to a few
milliseconds (up to ~0.1 s when ψ decays slowly: v0 = 0 with small κθT and |ρ| near
1).  Only numpy and math are used.

Scope: maturity > 0, ξ > 0, −1 < ρ < 1, v0, κ, θ ≥ 0, not v0 = κθ = 0 (variance
identically zero).  Feller's condition 2κθ ≥ ξ² is not needed.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np


class Greeks(NamedTuple):
    price: float
    delta: float
    vega: float


_ORDER = 16
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(_ORDER)
_TOLERANCE = 1e-12          # sum of the panels' error estimates, per integral (scaled units)
_ROUNDING = 1e-12           # rounding level, relative to the integral of |integrand|
_ENVELOPE = 1e-13           # truncation level of |psi| (1 + |B|)
_MAX_ROUNDS = 200           # rounds of bisection
_MAX_PANELS = 1 << 16       # panels in all
_U_CAP = 2.0 ** 30          # upper limit of the truncation search


def _log1p(w):
    """Principal log(1 + w) for complex w, accurate when |w| is small."""
    re, im = w.real, w.imag
    return 0.5 * np.log1p(2.0 * re + re * re + im * im) + 1j * np.arctan2(im, 1.0 + re)


def _exponents(z, maturity, kappa, theta, xi, rho):
    """A(z) and B(z) of ψ(z) = exp(A + B v0) in the little-trap form (see module docstring)."""
    s = 1j * z + z * z                     # iz + z², so that d² = β² + ξ² s
    beta = kappa - rho * xi * 1j * z
    d = np.sqrt(beta * beta + xi * xi * s)
    plus, minus = beta + d, beta - d
    # (β + d)(β − d) = −ξ² s: form the smaller of the two by division, never by
    # cancellation; minus_over_xi2 = (β − d)/ξ² stays finite as ξ → 0.
    use_plus = np.abs(plus) >= np.abs(minus)
    safe_plus = np.where(use_plus, plus, 1.0)
    minus_over_xi2 = np.where(use_plus, -s / safe_plus, minus / (xi * xi))
    minus = np.where(use_plus, -xi * xi * s / safe_plus, minus)
    g = minus / plus
    e = np.exp(-d * maturity)
    ratio = (1.0 - e) / (1.0 - g * e)
    b = minus_over_xi2 * ratio
    log_term = _log1p(-g * e) - _log1p(-g)
    a = kappa * theta * (minus_over_xi2 * maturity - 2.0 * log_term / (xi * xi))
    return a, b


def heston_cf(u, maturity, v0, kappa, theta, xi, rho):
    """ψ(u) = E[exp(i u log(S_T / F))], F the forward, for ``u`` (array-like) real or in the
    strip −1 < Im u ≤ 0 (u = −i, where ψ = 1, can be a removable 0/0 when ρξ > κ)."""
    z = np.asarray(u, dtype=complex)
    a, b = _exponents(z, maturity, kappa, theta, xi, rho)
    return np.exp(a + b * v0)


def _integrands(u, k, maturity, v0, kappa, theta, xi, rho):
    """The six integrands (rows) at real nodes ``u``, times e^{±k/2}/π: the call integrals in
    units of S0 e^{−qT} (the delta one in units of e^{−qT}), the digital ones in units of
    P e^{−rT} (the delta one in units of P e^{−rT} / S0)."""
    z = u - 0.5j
    a, b = _exponents(z, maturity, kappa, theta, xi, rho)
    w = np.exp(a + b * v0 - 1j * u * k)
    quarter = u * u + 0.25
    call_scale, digital_scale = math.exp(0.5 * k) / math.pi, math.exp(-0.5 * k) / math.pi
    return np.stack([
        call_scale * w.real / quarter,                         # call
        call_scale * (w * (0.5 + 1j * u)).real / quarter,      # call delta  (w / (1/2 − iu))
        call_scale * (b * w).real / quarter,                   # call ∂/∂v0
        digital_scale * (w * (0.5 - 1j * u)).real / quarter,   # digital     (w / (1/2 + iu))
        digital_scale * w.real,                                # digital ∂/∂S0 (times S0)
        digital_scale * (b * w * (0.5 - 1j * u)).real / quarter,  # digital ∂/∂v0
    ])


def _truncation(maturity, v0, kappa, theta, xi, rho):
    """Upper limit of integration: twice the last u where the envelope exceeds _ENVELOPE."""
    grid = 2.0 ** np.arange(-2.0, math.log2(_U_CAP) + 1e-9, 0.125)
    a, b = _exponents(grid - 0.5j, maturity, kappa, theta, xi, rho)
    envelope = np.exp((a + b * v0).real) * (1.0 + np.abs(b))
    envelope = np.where(np.isfinite(envelope), envelope, np.inf)
    above = np.nonzero(envelope > _ENVELOPE)[0]
    last = grid[above[-1]] if above.size else grid[0]
    return 2.0 * min(last, _U_CAP)


def _gauss(lo, hi, k, params):
    """16-point Gauss–Legendre estimates on each panel [lo, hi]: of the six integrals, and
    of the integrals of their absolute values (the scale of the rounding error)."""
    half = 0.5 * (hi - lo)
    nodes = (0.5 * (hi + lo))[:, None] + half[:, None] * _NODES[None, :]
    values = _integrands(nodes.ravel(), k, *params).reshape(6, *nodes.shape)
    return (values * _WEIGHTS).sum(axis=2) * half, (np.abs(values) @ _WEIGHTS) * half


def _integrals(k, maturity, v0, kappa, theta, xi, rho):
    """∫_0^U of the six integrands by globally adaptive composite Gauss–Legendre.

    Every panel carries a 16-point estimate on the whole panel and one on each of its
    halves; their difference, unless below the panel's rounding level, is its error
    estimate.  The panels with the largest errors are bisected (their halves' estimates
    become the new panels' whole-panel estimates) until the errors add up to less than
    the tolerance.
    """
    params = (maturity, v0, kappa, theta, xi, rho)
    upper = _truncation(*params)
    edges = np.linspace(0.0, upper, 17)
    lo, hi = edges[:-1], edges[1:]
    whole, _ = _gauss(lo, hi, k, params)
    kept = None
    for _round in range(_MAX_ROUNDS):
        mid = 0.5 * (lo + hi)
        (left, left_abs), (right, right_abs) = (_gauss(lo, mid, k, params),
                                                _gauss(mid, hi, k, params))
        new = (lo, mid, hi, whole, left, right, left_abs + right_abs)
        pool = new if kept is None else tuple(np.concatenate([a, b], axis=-1)
                                              for a, b in zip(kept, new))
        p_lo, p_mid, p_hi, p_whole, p_left, p_right, p_abs = pool
        error = np.abs(p_left + p_right - p_whole)
        error = np.where(error > _ROUNDING * p_abs, error, 0.0)       # at the rounding level
        score = (error / _TOLERANCE).max(axis=0)
        excess = score.sum() - 1.0
        if excess <= 0.0:
            break
        if p_lo.size > _MAX_PANELS:
            warnings.warn("Heston quadrature stopped short of its tolerance (panel limit)",
                          RuntimeWarning, stacklevel=4)
            break
        # bisect the worst panels, enough of them to bring the total within half the tolerance
        order = np.argsort(score)[::-1]
        count = int(np.searchsorted(np.cumsum(score[order]), excess + 0.5)) + 1
        split = np.zeros(score.size, dtype=bool)
        split[order[:count]] = True
        kept = tuple(a[..., ~split] for a in pool)
        lo = np.concatenate([p_lo[split], p_mid[split]])
        hi = np.concatenate([p_mid[split], p_hi[split]])
        whole = np.concatenate([p_left[:, split], p_right[:, split]], axis=1)
    else:
        warnings.warn("Heston quadrature stopped short of its tolerance (round limit)",
                      RuntimeWarning, stacklevel=4)
    return (p_left + p_right).sum(axis=1)


def _check(option_type, spot, strike, maturity, rate, v0, kappa, theta, xi, rho, dividend):
    if option_type not in ("call", "put"):
        raise ValueError(f"option_type must be 'call' or 'put', not {option_type!r}")
    for name, value in (("rate", rate), ("dividend", dividend)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, not {value!r}")
    for name, value in (("spot", spot), ("strike", strike), ("maturity", maturity), ("xi", xi)):
        if not value > 0.0 or not math.isfinite(value):
            raise ValueError(f"{name} must be positive and finite, not {value!r}")
    for name, value in (("v0", v0), ("kappa", kappa), ("theta", theta)):
        if not value >= 0.0 or not math.isfinite(value):
            raise ValueError(f"{name} must be non-negative and finite, not {value!r}")
    if v0 == 0.0 and kappa * theta == 0.0:
        raise ValueError("v0 = 0 with kappa * theta = 0 leaves the variance at zero for ever")
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie in (-1, 1), not {rho!r}")


def _evaluate(option_type, spot, strike, maturity, rate, v0, kappa, theta, xi, rho, dividend):
    _check(option_type, spot, strike, maturity, rate, v0, kappa, theta, xi, rho, dividend)
    forward = spot * math.exp((rate - dividend) * maturity)
    k = math.log(strike / forward)
    return _integrals(k, maturity, v0, kappa, theta, xi, rho)


def heston_greeks(option_type: str, spot: float, strike: float, maturity: float, rate: float,
                  v0: float, kappa: float, theta: float, xi: float, rho: float,
                  dividend: float = 0.0) -> Greeks:
    """European call or put: price, delta = ∂V/∂S0, vega = ∂V/∂σ0 with σ0 = sqrt(v0), per 1.00.

    At v0 = 0 the vega is 0 by this definition (2 sqrt(v0) ∂V/∂v0).
    """
    j = _evaluate(option_type, spot, strike, maturity, rate, v0, kappa, theta, xi, rho,
                  dividend)
    carry = math.exp(-dividend * maturity)
    price = spot * carry * (1.0 - j[0])
    delta = carry * (1.0 - j[1])
    vega = 2.0 * math.sqrt(v0) * (-spot * carry * j[2])
    if option_type == "put":
        price = price - spot * carry + strike * math.exp(-rate * maturity)
        delta = delta - carry
    return Greeks(float(price), float(delta), float(vega))


def heston_price(option_type: str, spot: float, strike: float, maturity: float, rate: float,
                 v0: float, kappa: float, theta: float, xi: float, rho: float,
                 dividend: float = 0.0) -> float:
    """Price of a European call or put under Heston (see the module docstring for the method)."""
    return heston_greeks(option_type, spot, strike, maturity, rate, v0, kappa, theta, xi, rho,
                         dividend).price


def heston_digital(option_type: str, spot: float, strike: float, maturity: float, rate: float,
                   v0: float, kappa: float, theta: float, xi: float, rho: float,
                   dividend: float = 0.0, payout: float = 1.0) -> Greeks:
    """Price, delta and σ0-vega of a cash-or-nothing digital call or put paying ``payout``.

    Call: payout e^{−rT} P2, put: payout e^{−rT} (1 − P2), with P2 = Prob(S_T > K).
    """
    j = _evaluate(option_type, spot, strike, maturity, rate, v0, kappa, theta, xi, rho,
                  dividend)
    cash = payout * math.exp(-rate * maturity)
    price, delta, dv0 = cash * j[3], cash * j[4] / spot, cash * j[5]
    if option_type == "put":
        price, delta, dv0 = cash - price, -delta, -dv0
    return Greeks(float(price), float(delta), float(2.0 * math.sqrt(v0) * dv0))


def heston_asset_digital(option_type: str, spot: float, strike: float, maturity: float,
                         rate: float, v0: float, kappa: float, theta: float, xi: float,
                         rho: float, dividend: float = 0.0) -> Greeks:
    """Price, delta and σ0-vega of an asset-or-nothing digital call or put (pays S_T):
    call = european call + K · cash digital call, put = S0 e^{−qT} − call."""
    args = (spot, strike, maturity, rate, v0, kappa, theta, xi, rho, dividend)
    vanilla, digital = heston_greeks("call", *args), heston_digital("call", *args)
    price = vanilla.price + strike * digital.price
    delta = vanilla.delta + strike * digital.delta
    vega = vanilla.vega + strike * digital.vega
    if option_type == "put":
        carry = math.exp(-dividend * maturity)
        price, delta, vega = spot * carry - price, carry - delta, -vega
    return Greeks(float(price), float(delta), float(vega))
