"""The semi-analytic Heston reference: published prices, identities, limits and Greeks."""

import csv
import math
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT

from greeks.models.heston.analytic import (
    Greeks,
    heston_cf,
    heston_digital,
    heston_greeks,
    heston_price,
)

REFERENCE = ROOT / "data" / "heston_reference.csv"
FIELDS = ("spot", "strike", "maturity", "rate", "v0", "kappa", "theta", "xi", "rho", "dividend")


def _published_cases():
    with open(REFERENCE, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [pytest.param(row, id=row["case"]) for row in rows]


def _args(row):
    return {name: float(row[name]) for name in FIELDS}


@pytest.mark.parametrize("row", _published_cases())
def test_published_cases(row):
    price = heston_price(row["option_type"], **_args(row))
    # the published values carry eight decimals; Fang & Oosterlee's is 1.6e-8 off (data/README.md)
    assert price == pytest.approx(float(row["reference_price"]), abs=1e-7)


# The same cases, and some harder ones, priced by a 30-significant-digit quadrature of the
# Gil-Pelaez (Heston P1, P2) integrals: (spot, strike, T, r, v0, kappa, theta, xi, rho, q),
# call price, Prob(S_T > K).
HIGH_PRECISION = [
    ((100, 100, 1, 0.0319, 0.010201, 6.21, 0.019, 0.61, -0.7, 0.0), 6.8061133134620264636,
     0.64810062873381577725),
    ((100, 100, 5, 0.05, 0.09, 2, 0.09, 1, -0.3, 0.0), 34.999758351183806331,
     0.57286161156126607922),
    ((100, 60, 10, 0, 0.04, 0.5, 0.04, 1, -0.9, 0.0), 44.329975070174342116,
     0.86312189228858546341),
    ((100, 100, 10, 0, 0.04, 0.5, 0.04, 1, -0.9, 0.0), 13.084670136992361528,
     0.65508929125307123007),
    ((100, 140, 10, 0, 0.04, 0.5, 0.04, 1, -0.9, 0.0), 0.29577443579803059787,
     0.031110341809288222476),
    ((100, 100, 1, 0, 0.0175, 1.5768, 0.0398, 0.5751, -0.5711, 0.0), 5.7851554343761893216,
     0.56706494128249136295),
    ((100, 100, 30, 0.03, 0.04, 1.0, 0.04, 2.0, -0.7, 0.01), 40.302344255478383721,
     0.71810031753384135773),
    ((100, 150, 30, 0.0, 0.04, 0.3, 0.09, 2.0, -0.99, 0.0), 0.20493959423938883456,
     0.064644004237903340581),
    ((100, 80, 1, 0.02, 0.0, 2.0, 0.04, 0.5, -0.5, 0.0), 22.299363705352678166,
     0.92599122142790331587),
    ((100, 200, 1, 0.05, 0.04, 1.0, 0.04, 1.0, 0.99, 0.0), 1.5105177026836409035,
     0.01420283446905882736),
    # rho xi > 2 kappa: Re beta < 0 on the integration contour (digital only, P1 is not
    # computable this way there)
    ((100, 100, 30, 0.03, 0.04, 0.1, 0.04, 2.0, 0.99, 0.0), None, 0.9583809815602946811),
]


@pytest.mark.parametrize("case, call, probability", HIGH_PRECISION)
def test_high_precision_values(case, call, probability):
    spot, strike, maturity, rate, v0, kappa, theta, xi, rho, dividend = case
    args = (spot, strike, maturity, rate, v0, kappa, theta, xi, rho, dividend)
    if call is not None:
        assert heston_price("call", *args) == pytest.approx(call, abs=1e-10)
    digital = heston_digital("call", *args, payout=100.0)
    assert digital.price == pytest.approx(100.0 * math.exp(-rate * maturity) * probability,
                                          abs=1e-10)


def _riccati(z, maturity, kappa, theta, xi, rho, steps):
    """A and B of psi = exp(A + B v0) by classical Runge-Kutta on their Riccati equations."""
    s, beta = 1j * z + z * z, kappa - rho * xi * 1j * z

    def slope(a, b):
        return kappa * theta * b, -0.5 * s - beta * b + 0.5 * xi * xi * b * b

    a, b, h = np.zeros_like(z), np.zeros_like(z), maturity / steps
    for _ in range(steps):
        ka1, kb1 = slope(a, b)
        ka2, kb2 = slope(a + 0.5 * h * ka1, b + 0.5 * h * kb1)
        ka3, kb3 = slope(a + 0.5 * h * ka2, b + 0.5 * h * kb2)
        ka4, kb4 = slope(a + h * ka3, b + h * kb3)
        a = a + h * (ka1 + 2 * ka2 + 2 * ka3 + ka4) / 6
        b = b + h * (kb1 + 2 * kb2 + 2 * kb3 + kb4) / 6
    return a, b


@pytest.mark.parametrize("maturity, v0, kappa, theta, xi, rho", [
    (10.0, 0.04, 0.5, 0.04, 1.0, -0.9),      # Andersen case I
    (30.0, 0.04, 0.1, 0.04, 2.0, 0.99),      # long, large xi, rho xi > 2 kappa
    (30.0, 0.09, 0.3, 0.09, 2.0, -0.99),
    (5.0, 0.01, 0.2, 0.01, 2.0, 0.9),        # Feller's condition badly violated
])
def test_characteristic_function_solves_the_riccati_equations(maturity, v0, kappa, theta, xi,
                                                              rho):
    # the little-trap closed form must be the continuous solution, with no jump of the
    # complex logarithm's branch, along the contour used for pricing and along the real axis
    # (a wrong branch would be off by a factor exp(4 pi i kappa theta / xi^2) or its powers)
    u = np.linspace(0.0, 30.0, 61)
    z = np.concatenate([u - 0.5j, u + 0j])
    a, b = _riccati(z, maturity, kappa, theta, xi, rho, steps=int(250 * maturity))
    np.testing.assert_allclose(heston_cf(z, maturity, v0, kappa, theta, xi, rho),
                               np.exp(a + b * v0), rtol=0, atol=1e-8)
    assert heston_cf(0.0, maturity, v0, kappa, theta, xi, rho) == pytest.approx(1.0, abs=1e-15)


def _gil_pelaez(option_type, spot, strike, maturity, rate, v0, kappa, theta, xi, rho, dividend):
    """Heston's P1, P2 form on the real axis, integrated by scipy: price and Prob(S_T > K)."""
    integrate = pytest.importorskip("scipy.integrate")
    forward = spot * math.exp((rate - dividend) * maturity)
    k = math.log(strike / forward)
    args = (maturity, v0, kappa, theta, xi, rho)

    def p1(u):
        return (np.exp(-1j * u * k) * heston_cf(u - 1j, *args) / (1j * u)).real

    def p2(u):
        return (np.exp(-1j * u * k) * heston_cf(u + 0j, *args) / (1j * u)).real

    quad = dict(limit=400, epsabs=1e-13, epsrel=1e-12)
    prob1 = 0.5 + integrate.quad(p1, 0.0, 300.0, **quad)[0] / math.pi
    prob2 = 0.5 + integrate.quad(p2, 0.0, 300.0, **quad)[0] / math.pi
    carry, discount = spot * math.exp(-dividend * maturity), strike * math.exp(-rate * maturity)
    if option_type == "call":
        return carry * prob1 - discount * prob2, prob2
    return discount * (1 - prob2) - carry * (1 - prob1), prob2


@pytest.mark.parametrize("option_type", ["call", "put"])
@pytest.mark.parametrize("strike", [70.0, 100.0, 125.0])
@pytest.mark.parametrize("params", [
    dict(maturity=1.0, rate=0.03, v0=0.04, kappa=1.5, theta=0.06, xi=0.7, rho=-0.6, dividend=0.02),
    dict(maturity=3.0, rate=0.01, v0=0.09, kappa=3.0, theta=0.04, xi=1.2, rho=0.3, dividend=0.0),
])
def test_agrees_with_the_gil_pelaez_form(option_type, strike, params):
    price, prob = _gil_pelaez(option_type, 100.0, strike, **params)
    assert heston_price(option_type, 100.0, strike, **params) == pytest.approx(price, abs=1e-9)
    digital = heston_digital("call", 100.0, strike, **params)
    assert digital.price == pytest.approx(math.exp(-params["rate"] * params["maturity"]) * prob,
                                          abs=1e-11)


@pytest.mark.parametrize("strike", [60.0, 100.0, 140.0])
@pytest.mark.parametrize("dividend", [0.0, 0.03])
def test_put_call_parity(strike, dividend):
    args = dict(spot=100.0, strike=strike, maturity=2.0, rate=0.04, v0=0.05, kappa=1.2,
                theta=0.05, xi=0.9, rho=-0.7, dividend=dividend)
    call, put = heston_greeks("call", **args), heston_greeks("put", **args)
    carry, discount = math.exp(-dividend * 2.0), math.exp(-0.04 * 2.0)
    assert call.price - put.price == pytest.approx(100.0 * carry - strike * discount, abs=1e-10)
    assert call.delta - put.delta == pytest.approx(carry, abs=1e-12)
    assert call.vega == pytest.approx(put.vega, abs=1e-10)
    digital_call = heston_digital("call", **args, payout=3.0)
    digital_put = heston_digital("put", **args, payout=3.0)
    assert digital_call.price + digital_put.price == pytest.approx(3.0 * discount, abs=1e-12)
    assert digital_call.delta + digital_put.delta == pytest.approx(0.0, abs=1e-14)
    assert digital_call.vega + digital_put.vega == pytest.approx(0.0, abs=1e-12)


def _norm_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _norm_pdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _black_scholes(option_type, spot, strike, maturity, rate, vol, dividend):
    """Price, delta, vega of a European and of a unit cash-or-nothing digital."""
    omega = 1.0 if option_type == "call" else -1.0
    root_t = math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate - dividend + 0.5 * vol * vol) * maturity) / (vol * root_t)
    d2 = d1 - vol * root_t
    carry, discount = math.exp(-dividend * maturity), math.exp(-rate * maturity)
    european = Greeks(
        omega * (spot * carry * _norm_cdf(omega * d1) - strike * discount * _norm_cdf(omega * d2)),
        omega * carry * _norm_cdf(omega * d1),
        spot * carry * _norm_pdf(d1) * root_t)
    digital = Greeks(discount * _norm_cdf(omega * d2),
                     omega * discount * _norm_pdf(d2) / (spot * vol * root_t),
                     -omega * discount * _norm_pdf(d2) * d1 / vol)
    return european, digital


@pytest.mark.parametrize("option_type", ["call", "put"])
@pytest.mark.parametrize("strike", [80.0, 100.0, 130.0])
@pytest.mark.parametrize("rho, tolerance", [(0.0, 1e-6), (-0.7, 1e-3)])
def test_small_vol_of_vol_is_black_scholes(option_type, strike, rho, tolerance):
    # With v0 = theta and xi -> 0 the variance stays at v0: Black-Scholes with vol sqrt(v0).
    # The error is O(xi^2) for rho = 0 and O(rho xi) otherwise (xi = 1e-4 here).  Vega is
    # with respect to the initial volatility only, which moves the mean variance over [0, T]
    # by the factor (1 - e^{-kappa T}) / (kappa T).
    maturity, kappa = 1.5, 1.5
    args = dict(spot=100.0, strike=strike, maturity=maturity, rate=0.03, dividend=0.01)
    heston = dict(v0=0.04, kappa=kappa, theta=0.04, xi=1e-4, rho=rho)
    european, digital = _black_scholes(option_type, vol=0.2, **args)
    factor = (1.0 - math.exp(-kappa * maturity)) / (kappa * maturity)
    got = heston_greeks(option_type, **args, **heston)
    assert got.price == pytest.approx(european.price, abs=tolerance)
    assert got.delta == pytest.approx(european.delta, abs=tolerance / 10)
    assert got.vega == pytest.approx(factor * european.vega, rel=tolerance)
    got = heston_digital(option_type, **args, **heston, payout=1.0)
    assert got.price == pytest.approx(digital.price, abs=tolerance / 10)
    assert got.delta == pytest.approx(digital.delta, abs=tolerance / 100)
    assert got.vega == pytest.approx(factor * digital.vega, rel=tolerance)


FD_CASES = [
    dict(strike=100.0, maturity=1.0, rate=0.0319, v0=0.010201, kappa=6.21, theta=0.019, xi=0.61,
         rho=-0.7, dividend=0.0),
    dict(strike=140.0, maturity=10.0, rate=0.0, v0=0.04, kappa=0.5, theta=0.04, xi=1.0,
         rho=-0.9, dividend=0.0),
    dict(strike=90.0, maturity=0.5, rate=0.03, v0=0.05, kappa=1.5, theta=0.03, xi=0.8, rho=0.4,
         dividend=0.02),
    dict(strike=120.0, maturity=30.0, rate=0.03, v0=0.04, kappa=0.3, theta=0.09, xi=2.0,
         rho=0.99, dividend=0.01),
    dict(strike=100.0, maturity=0.05, rate=0.03, v0=0.04, kappa=0.3, theta=0.09, xi=0.5,
         rho=-0.5, dividend=0.01),
]


@pytest.mark.parametrize("pricer", [heston_greeks, heston_digital])
@pytest.mark.parametrize("option_type", ["call", "put"])
@pytest.mark.parametrize("args", FD_CASES)
def test_greeks_are_derivatives_of_the_price(pricer, option_type, args):
    spot = 100.0
    greeks = pricer(option_type, spot, **args)
    h = 1e-5 * spot
    up = pricer(option_type, spot + h, **args).price
    down = pricer(option_type, spot - h, **args).price
    assert greeks.delta == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-12)
    vol, h = math.sqrt(args["v0"]), 1e-4
    bumped = {name: value for name, value in args.items() if name != "v0"}
    up = pricer(option_type, spot, v0=(vol + h) ** 2, **bumped).price
    down = pricer(option_type, spot, v0=(vol - h) ** 2, **bumped).price
    assert greeks.vega == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-10)


ROBUSTNESS = [
    dict(maturity=30.0, v0=0.04, kappa=1.0, theta=0.04, xi=2.0, rho=-0.7),   # long, large xi
    dict(maturity=30.0, v0=0.04, kappa=0.1, theta=0.04, xi=2.0, rho=0.99),
    dict(maturity=10.0, v0=0.09, kappa=0.3, theta=0.09, xi=2.0, rho=-0.99),
    dict(maturity=1.0, v0=0.02, kappa=0.5, theta=0.02, xi=1.5, rho=0.0),     # 2 kappa theta << xi^2
    dict(maturity=1.0, v0=0.04, kappa=1.0, theta=0.04, xi=1.0, rho=0.99),
    dict(maturity=1.0, v0=0.04, kappa=1.0, theta=0.04, xi=1.0, rho=-0.99),
    dict(maturity=1.0, v0=0.0, kappa=2.0, theta=0.04, xi=0.5, rho=-0.5),     # v0 = 0
    dict(maturity=30.0, v0=0.0, kappa=0.05, theta=0.01, xi=2.0, rho=-0.99),
    dict(maturity=0.01, v0=0.0, kappa=1.0, theta=0.04, xi=0.5, rho=0.5),
]


@pytest.mark.parametrize("params", ROBUSTNESS)
def test_extreme_parameters_stay_within_no_arbitrage_bounds(params):
    spot, rate, dividend = 100.0, 0.03, 0.01
    carry = spot * math.exp(-dividend * params["maturity"])
    discount = math.exp(-rate * params["maturity"])
    for strike in (50.0, 100.0, 200.0):
        args = dict(spot=spot, strike=strike, rate=rate, dividend=dividend, **params)
        call, put = heston_greeks("call", **args), heston_greeks("put", **args)
        digital = heston_digital("call", **args)
        assert all(math.isfinite(value) for value in (*call, *put, *digital))
        assert max(carry - strike * discount, 0.0) - 1e-10 <= call.price <= carry + 1e-10
        assert max(strike * discount - carry, 0.0) - 1e-10 <= put.price <= strike * discount
        assert -1e-12 <= call.delta <= math.exp(-dividend * params["maturity"]) + 1e-12
        assert -1e-12 <= digital.price <= discount + 1e-12
        if params["v0"] == 0.0:
            assert call.vega == 0.0 and digital.vega == 0.0
        else:
            assert call.vega >= -1e-10


def test_prices_decrease_and_are_convex_in_the_strike():
    params = dict(spot=100.0, maturity=30.0, rate=0.03, v0=0.04, kappa=0.1, theta=0.04, xi=2.0,
                  rho=0.99, dividend=0.01)
    strikes = np.linspace(20.0, 400.0, 20)
    calls = np.array([heston_price("call", strike=k, **params) for k in strikes])
    assert np.all(np.diff(calls) < 0)
    assert np.all(np.diff(calls, 2) > -1e-10)


@pytest.mark.parametrize("override", [
    dict(option_type="straddle"), dict(spot=0.0), dict(maturity=0.0), dict(xi=0.0),
    dict(v0=-0.01), dict(rho=1.0), dict(rho=float("nan")), dict(v0=0.0, theta=0.0),
    dict(rate=float("inf")),
])
def test_invalid_inputs_are_rejected(override):
    args = dict(option_type="call", spot=100.0, strike=100.0, maturity=1.0, rate=0.0, v0=0.04,
                kappa=1.0, theta=0.04, xi=0.5, rho=-0.5)
    with pytest.raises(ValueError):
        heston_price(**{**args, **override})


def test_module_imports_without_scipy():
    code = "import sys, greeks.models.heston.analytic; assert 'scipy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
