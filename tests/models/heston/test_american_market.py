"""The ADI solution of Heston puts and calls off a market (greeks.models.heston.american_market:
rate and yield curves, discrete dividends) and the American call solved directly.

References independent of the code under test: the semi-analytic European put and call of
greeks.models.heston.analytic at the flat rate and yield with the curves' DF(T) and growth
G(T) (exact for a European option), QuantLib's FdHestonVanillaEngine (skipped where QuantLib
is not installed); and against the flat solver of greeks.models.heston.american, the same
scheme on flat dynamics.  The solver is deterministic; tolerances are its measured accuracy
with a margin.
"""

import math

import numpy as np
import pytest

from greeks.market.curves import Curve
from greeks.market.dynamics import Dynamics
from greeks.market.file import Dividend
from greeks.models.heston.american import heston_american, heston_american_put
from greeks.models.heston.american_market import flat_dynamics, heston_american_market
from greeks.models.heston.analytic import heston_greeks

LAW = (0.04, 1.5, 0.05, 0.6, -0.6)  # v0, κ, θ, ξ, ρ
CURVES = Dynamics(100.0, Curve((0.25, 0.6, 1.5), (0.045, 0.04, 0.03)),
                  Curve((0.3, 1.0), (0.01, 0.03)), (Dividend(0.4, 0.02, True),), None)
# κ − ρξ = 0.4 − 0.5 = −0.1: a call without a symmetric put
NO_SYMMETRIC = (0.09, 0.4, 0.09, 1.0, 0.5)


def test_flat_dynamics_give_the_flat_solutions():
    """On a flat rate and yield without dividends the Bermudan put and call (weekly dates) are
    those of greeks.models.heston.american (the same steps and stencils; V at S = 0 discounted
    by the curve's integral instead: 1e-12 relative), and the American put, by the
    operator splitting after Rannacher's half steps instead of damped full steps, is within
    5e-4 of the flat solver's (measured 3.1e-4, the delta 2e-5: their time errors, 8e-4 and
    1.1e-3 against 3,200 steps)."""
    spot, strike, maturity, rate, dividend = 95.0, 100.0, 0.5, 0.04, 0.02
    dates = maturity * np.arange(1, 27) / 26
    dynamics = flat_dynamics(spot, rate, dividend)
    for kind in ("put", "call"):
        market = heston_american_market(kind, dynamics, strike, maturity, *LAW, dates)
        flat = heston_american(kind, spot, strike, maturity, rate, dividend, *LAW,
                               exercise_times=dates, symmetric=False)
        assert np.allclose(market, flat, rtol=1e-12, atol=0.0), kind
    american = heston_american_market("put", dynamics, strike, maturity, *LAW)
    flat = heston_american_put(spot, strike, maturity, rate, dividend, *LAW)
    assert abs(american.price - flat.price) < 5e-4
    assert abs(american.delta - flat.delta) < 1e-4


@pytest.mark.parametrize("kind", ["put", "call"])
def test_european_options_on_curves_are_the_fourier_prices(kind):
    """Exercisable at expiry only, on a zero curve and a yield curve with several nodes and a
    proportional dividend: the Fourier price at the flat rate and yield with the same DF(T)
    and G(T) (a European option depends on nothing else) within 5e-4 (measured 3e-4), the
    delta within 1e-4 (5e-5) and the vega within 5e-4 relative (2e-4)."""
    maturity = 0.8
    rate = float(CURVES.rate.integral(maturity)) / maturity
    dividend = (float(CURVES.dividend_yield.integral(maturity)) - math.log(0.98)) / maturity
    for strike in (90.0, 100.0):
        solved = heston_american_market(kind, CURVES, strike, maturity, *LAW, [maturity])
        exact = heston_greeks(kind, 100.0, strike, maturity, rate, *LAW, dividend)
        assert abs(solved.price - exact.price) < 5e-4, (strike, solved.price, exact.price)
        assert abs(solved.delta - exact.delta) < 1e-4, (strike, solved.delta, exact.delta)
        assert abs(solved.vega / exact.vega - 1.0) < 5e-4, (strike, solved.vega, exact.vega)


def test_the_call_itself_is_the_call_through_its_symmetric_put():
    """The American call solved directly against the same call through its symmetric put
    (κ − ρξ > 0): price, delta and vega within 2e-4 relative (measured 7e-5, 3e-6, 1.5e-4)."""
    case = (110.0, 100.0, 0.5, 0.02, 0.08, 0.09, 2.0, 0.06, 0.6, -0.5)
    itself = heston_american("call", *case, symmetric=False)
    symmetric = heston_american("call", *case)
    for name in ("price", "delta", "vega"):
        assert getattr(itself, name) == pytest.approx(getattr(symmetric, name), rel=2e-4), name


def _quantlib(ql, kind, spot, strike, days, rates, yields, law, dividends=(),
              grid=(400, 400, 160)):
    """QuantLib's American price and delta: FdHestonVanillaEngine (Hundsdorfer) on the zero
    curves ``rates`` and ``yields`` ((days, zero rate) nodes, log-linear in the discount
    factor), cash ``dividends`` ((days, amount)) by QuantLib's spot drop."""
    today = ql.Date(1, 3, 2027)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()

    def curve(nodes):
        dates = [today + d for d, _ in nodes]
        factors = [math.exp(-z * d / 365.0) for d, z in nodes]
        handle = ql.DiscountCurve([today] + dates, [1.0] + factors, dc)
        handle.enableExtrapolation()
        return ql.YieldTermStructureHandle(handle)

    process = ql.HestonProcess(curve(rates), curve(yields), ql.QuoteHandle(ql.SimpleQuote(spot)),
                               *law)
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Call if kind == "call" else ql.Option.Put, strike),
        ql.AmericanExercise(today, today + days))
    schedule = ql.DividendVector([today + d for d, _ in dividends], [a for _, a in dividends])
    option.setPricingEngine(ql.FdHestonVanillaEngine(ql.HestonModel(process), schedule, *grid,
                                                     0, ql.FdmSchemeDesc.Hundsdorfer()))
    return option.NPV(), option.delta()


def test_american_options_on_a_market_against_quantlib():
    """American put and call (the call without a symmetric put) on a zero curve and a yield
    curve with nodes and a cash dividend of 1.5 at 70 days, 200 days to expiry, against
    QuantLib at 400 × 400 × 160 (whose own error there is about 2e-4 of the price): prices
    within 1e-3 relative (measured 3e-4), deltas within 1e-3 (4e-4)."""
    ql = pytest.importorskip("QuantLib")
    rates, yields = [(90, 0.046), (180, 0.045), (365, 0.043)], [(90, 0.03), (365, 0.05)]
    days, cash = 200, [(70, 1.5)]
    dynamics = Dynamics(100.0, Curve(tuple(d / 365.0 for d, _ in rates),
                                     tuple(z for _, z in rates)),
                        Curve(tuple(d / 365.0 for d, _ in yields), tuple(z for _, z in yields)),
                        (Dividend(70 / 365.0, 1.5, False),), None)
    for kind in ("put", "call"):
        solved = heston_american_market(kind, dynamics, 100.0, days / 365.0, *NO_SYMMETRIC)
        price, delta = _quantlib(ql, kind, 100.0, 100.0, days, rates, yields, NO_SYMMETRIC,
                                 cash)
        assert solved.price == pytest.approx(price, rel=1e-3), (kind, solved.price, price)
        assert abs(solved.delta - delta) < 1e-3, (kind, solved.delta, delta)
