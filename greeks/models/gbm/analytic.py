"""Closed-form references: Black–Scholes prices, deltas and vegas.

With d1 = (log(S/K) + (r − q + σ²/2) T) / (σ sqrt(T)), d2 = d1 − σ sqrt(T),
ω = +1 for a call and −1 for a put, N the standard normal distribution and φ its
density:

    european  V = ω (S e^{−qT} N(ω d1) − K e^{−rT} N(ω d2))
              Δ = ω e^{−qT} N(ω d1),             vega = S e^{−qT} φ(d1) sqrt(T)
    digital   V = P e^{−rT} N(ω d2)                (cash-or-nothing, payout P)
              Δ = ω P e^{−rT} φ(d2) / (S σ sqrt(T)),  vega = −ω P e^{−rT} φ(d2) d1 / σ
    asset     V = S e^{−qT} N(ω d1)                  (asset-or-nothing: pays S_T)
              Δ = e^{−qT} [N(ω d1) + ω φ(d1) / (σ sqrt(T))],  vega = −ω S e^{−qT} φ(d1) d2 / σ

Vega is per 1.00 of volatility.  The european's further Greeks (:func:`black_scholes_further`;
theta = ∂V/∂t = −∂V/∂T, the value's change as calendar time passes):

    gamma = e^{−qT} φ(d1) / (S σ sqrt(T)),   rho = ω K T e^{−rT} N(ω d2),
    theta = −S e^{−qT} φ(d1) σ / (2 sqrt(T)) − ω r K e^{−rT} N(ω d2) + ω q S e^{−qT} N(ω d1),
    vanna = −e^{−qT} φ(d1) d2 / σ,           volga = S e^{−qT} φ(d1) sqrt(T) d1 d2 / σ.

These are the references the Monte-Carlo estimates are tested against.

A knock-in's probability of paying (:func:`knock_in_pays_probability`: knocked in and in the
money at expiry) by the reflection principle on the variance clock: x = ln S/S0 = m v + W(v)
up to v = w(T), m = (ln G(T) − w/2)/w; a down barrier b = ln(B/S0) moved away from the spot
by β sqrt(w/n) (n monitoring dates, β = 0.5826: Broadie, Glasserman & Kou 1997, the
discrete-monitoring correction), k = ln(K/S0),

    call, k ≥ b   P(min x ≤ b, x_T ≥ k) = e^{2mb} N((2b − k + m w)/√w)
    put,  k ≥ b   P(min x ≤ b, x_T ≤ k) = N((b − m w)/√w) + e^{2mb} [N((b + m w)/√w)
                                            − N((2b − k + m w)/√w)]
    put,  k < b   N((k − m w)/√w);   call, k < b: the knock-in probability less that,

the knock-in probability being N((b − m w)/√w) + e^{2mb} N((b + m w)/√w); an up barrier is
a down barrier of −x (m, b, k negated, call and put swapped).
"""

from __future__ import annotations

import math
from typing import NamedTuple


class Greeks(NamedTuple):
    price: float
    delta: float
    vega: float


def norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def norm_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def knock_in_pays_probability(spot: float, strike: float, barrier: float, call: bool,
                               up: bool, log_growth: float, variance: float,
                               dates: int) -> tuple[float, float]:
    """(P(a knock-in knocks in on one of ``dates`` monitoring dates), P(it knocks in and
    ends in the money)) under GBM with ln G(T) = ``log_growth`` and total variance
    w(T) = ``variance`` (the module docstring's formulas; on or beyond the barrier: 1 and
    the european's)."""
    sign = -1.0 if up else 1.0  # an up barrier: the down barrier of −x
    root = math.sqrt(variance)
    m = sign * (log_growth - 0.5 * variance) / variance
    k = sign * math.log(strike / spot)
    call = call != up
    if sign * math.log(barrier / spot) >= 0.0:  # knocked in from the start
        below = norm_cdf((k - m * variance) / root)
        return 1.0, 1.0 - below if call else below
    b = sign * math.log(barrier / spot) - 0.5826 * root / math.sqrt(dates)
    hit = norm_cdf((b - m * variance) / root) + math.exp(2.0 * m * b) * norm_cdf(
        (b + m * variance) / root)
    if k < b:
        below = norm_cdf((k - m * variance) / root)
        return hit, hit - below if call else below
    beyond = math.exp(2.0 * m * b) * norm_cdf((2.0 * b - k + m * variance) / root)
    return hit, beyond if call else hit - beyond


def _d1_d2(spot, strike, maturity, rate, dividend, vol):
    root_t = math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate - dividend + 0.5 * vol * vol) * maturity) / (vol * root_t)
    return d1, d1 - vol * root_t


def black_scholes(option_type: str, spot: float, strike: float, maturity: float, rate: float,
                  vol: float, dividend: float = 0.0) -> Greeks:
    """Price, delta and vega of a European call or put."""
    omega = 1.0 if option_type == "call" else -1.0
    d1, d2 = _d1_d2(spot, strike, maturity, rate, dividend, vol)
    carry, discount = math.exp(-dividend * maturity), math.exp(-rate * maturity)
    price = omega * (spot * carry * norm_cdf(omega * d1) - strike * discount * norm_cdf(omega * d2))
    delta = omega * carry * norm_cdf(omega * d1)
    vega = spot * carry * norm_pdf(d1) * math.sqrt(maturity)
    return Greeks(price, delta, vega)


def black_scholes_rho(option_type: str, spot: float, strike: float, maturity: float,
                      rate: float, vol: float, dividend: float = 0.0) -> float:
    """∂C/∂r of a European call or put: ω K T e^{−rT} N(ω d_2)."""
    omega = 1.0 if option_type == "call" else -1.0
    _, d2 = _d1_d2(spot, strike, maturity, rate, dividend, vol)
    return omega * strike * maturity * math.exp(-rate * maturity) * norm_cdf(omega * d2)


def black_scholes_further(option_type: str, spot: float, strike: float, maturity: float,
                          rate: float, vol: float, dividend: float = 0.0) -> dict[str, float]:
    """Gamma, rho, theta, vanna and volga of a European call or put (module docstring), by
    name (those of :data:`greeks.sensitivities.NAMES`)."""
    omega = 1.0 if option_type == "call" else -1.0
    d1, d2 = _d1_d2(spot, strike, maturity, rate, dividend, vol)
    root_t = math.sqrt(maturity)
    carry, discount = math.exp(-dividend * maturity), math.exp(-rate * maturity)
    density = carry * norm_pdf(d1)
    return {"gamma": density / (spot * vol * root_t),
            "rho": omega * strike * maturity * discount * norm_cdf(omega * d2),
            "theta": (-spot * density * vol / (2.0 * root_t)
                      - omega * rate * strike * discount * norm_cdf(omega * d2)
                      + omega * dividend * spot * carry * norm_cdf(omega * d1)),
            "vanna": -density * d2 / vol,
            "volga": spot * density * root_t * d1 * d2 / vol}


def black_scholes_digital(option_type: str, spot: float, strike: float, maturity: float,
                          rate: float, vol: float, dividend: float = 0.0,
                          payout: float = 1.0) -> Greeks:
    """Price, delta and vega of a cash-or-nothing digital call or put paying ``payout``."""
    omega = 1.0 if option_type == "call" else -1.0
    d1, d2 = _d1_d2(spot, strike, maturity, rate, dividend, vol)
    cash = payout * math.exp(-rate * maturity)
    price = cash * norm_cdf(omega * d2)
    delta = omega * cash * norm_pdf(d2) / (spot * vol * math.sqrt(maturity))
    vega = -omega * cash * norm_pdf(d2) * d1 / vol
    return Greeks(price, delta, vega)


def black_scholes_asset_digital(option_type: str, spot: float, strike: float, maturity: float,
                                rate: float, vol: float, dividend: float = 0.0) -> Greeks:
    """Price, delta and vega of an asset-or-nothing digital call or put (pays S_T)."""
    omega = 1.0 if option_type == "call" else -1.0
    d1, d2 = _d1_d2(spot, strike, maturity, rate, dividend, vol)
    carry = math.exp(-dividend * maturity)
    price = spot * carry * norm_cdf(omega * d1)
    delta = carry * (norm_cdf(omega * d1) + omega * norm_pdf(d1) / (vol * math.sqrt(maturity)))
    vega = -omega * spot * carry * norm_pdf(d1) * d2 / vol
    return Greeks(price, delta, vega)


def reference(row) -> Greeks:
    """The closed form for a european or digital row of a validated table (a mapping)."""
    args = (row["option_type"], row["spot"], row["strike"], row["maturity"], row["rate"],
            row["vol"], row["dividend"])
    if row["instrument"] == "european":
        return black_scholes(*args)
    if row["instrument"] == "digital" and row.get("digital_type") == "asset":
        return black_scholes_asset_digital(*args)
    if row["instrument"] == "digital":
        return black_scholes_digital(*args, payout=row["payout"])
    raise ValueError(f"no closed form for instrument {row['instrument']!r}")
