import math

import numpy as np
import pytest
from helpers import seed

from greeks.models.gbm.analytic import (
    black_scholes,
    black_scholes_digital,
    knock_in_pays_probability,
)


def test_textbook_value():
    # Hull's standard ATM example: S = K = 100, T = 1, r = 5%, sigma = 20%
    greeks = black_scholes("call", 100, 100, 1, 0.05, 0.2)
    assert greeks.price == pytest.approx(10.450583572185565, rel=1e-12)
    assert greeks.delta == pytest.approx(0.6368306511756191, rel=1e-12)
    assert greeks.vega == pytest.approx(37.52403469169379, rel=1e-12)


@pytest.mark.parametrize("strike", [70.0, 100.0, 130.0])
@pytest.mark.parametrize("dividend", [0.0, 0.03])
def test_put_call_parity(strike, dividend):
    call = black_scholes("call", 100, strike, 0.7, 0.04, 0.3, dividend)
    put = black_scholes("put", 100, strike, 0.7, 0.04, 0.3, dividend)
    forward = 100 * math.exp(-dividend * 0.7) - strike * math.exp(-0.04 * 0.7)
    assert call.price - put.price == pytest.approx(forward, abs=1e-12)
    assert call.delta - put.delta == pytest.approx(math.exp(-dividend * 0.7), abs=1e-12)
    assert call.vega == pytest.approx(put.vega, abs=1e-12)
    digital_call = black_scholes_digital("call", 100, strike, 0.7, 0.04, 0.3, dividend, payout=3)
    digital_put = black_scholes_digital("put", 100, strike, 0.7, 0.04, 0.3, dividend, payout=3)
    assert digital_call.price + digital_put.price == pytest.approx(3 * math.exp(-0.04 * 0.7))


@pytest.mark.parametrize("pricer", [black_scholes, black_scholes_digital])
@pytest.mark.parametrize("option_type", ["call", "put"])
def test_greeks_are_derivatives_of_the_price(pricer, option_type):
    args = dict(strike=95.0, maturity=1.3, rate=0.03, dividend=0.01)
    h = 1e-4
    up = pricer(option_type, 100 + h, vol=0.25, **args).price
    down = pricer(option_type, 100 - h, vol=0.25, **args).price
    delta = pricer(option_type, 100, vol=0.25, **args).delta
    assert delta == pytest.approx((up - down) / (2 * h), rel=1e-6)
    up = pricer(option_type, 100, vol=0.25 + h, **args).price
    down = pricer(option_type, 100, vol=0.25 - h, **args).price
    vega = pricer(option_type, 100, vol=0.25, **args).vega
    assert vega == pytest.approx((up - down) / (2 * h), rel=1e-6)


@pytest.mark.parametrize("up", [False, True])
def test_knock_in_pays_probability_matches_a_simulation(up):
    """P(knocked in) and P(knocked in, in the money) of discretely monitored knock-ins
    (52 dates) against a numpy simulation of the same law: within 4 binomial SEs plus
    0.006 for the discrete-monitoring correction's error, for strikes on both sides of the
    barrier, calls and puts."""
    rng = np.random.default_rng(seed(30))
    n, maturity, vol, rate, paths = 52, 1.0, 0.3, 0.03, 100_000
    dt = maturity / n
    steps = (rate - 0.5 * vol * vol) * dt + vol * math.sqrt(dt) * rng.standard_normal((paths, n))
    s = 100.0 * np.exp(np.cumsum(steps, axis=1))
    barrier = 120.0 if up else 80.0
    hit = (s >= barrier).any(axis=1) if up else (s <= barrier).any(axis=1)
    for strike in (70.0, 90.0, 110.0, 130.0):
        for call in (True, False):
            pays = hit & ((s[:, -1] > strike) if call else (s[:, -1] < strike))
            expected = knock_in_pays_probability(100.0, strike, barrier, call, up,
                                                 rate * maturity, vol * vol * maturity, n)
            for value, event in zip(expected, (hit, pays)):
                p = event.mean()
                assert abs(value - p) <= 4.0 * math.sqrt(p * (1 - p) / paths) + 0.006
