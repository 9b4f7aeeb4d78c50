"""The dual upper bound of Heston american and bermudan rows priced off a market file
(greeks.models.heston.duality with a ``Carry``: the zero-carry chain times the growth G(t),
discounted by DF(t), the hedge from the ADI value function at the flat rate and yield to
expiry; calls through the put they equal by put–call symmetry, the curves swapped).

* A flat market is the flat row: the same paths (shared spawn words) give the flat row's bound
  and checks within 1e-12 relative (measured 1e-15: the zero-carry chain times G rounds apart
  from the chain simulated with its carry), a put and a call.
* On term-structure curves (data/term_market.json's rate curve and a yield curve rising
  from 5 % to 7 %; ``HP`` adds a 2 % proportional dividend) an american put's and a weekly
  bermudan call's bounds (6 months, 26 dates) lie above the engine's price (the value of its
  policy, a lower bound) by at most ``GAP`` of the price + k·SE and at least −k·SE; the
  paths' mean of M_n is within k·SE of 0.  Measured (200,000 price paths, 2¹⁵ bound paths,
  three seeds): the american put +1.4 … 1.6 % of the price (9–11 SE), +1.0 … 1.2 % on ``HP``;
  the weekly call +1.5 … 1.8 % (12–14 SE); a monthly 1-year call +2.6 … 2.7 % and a monthly
  1-year put +0.5 … 0.7 % (the hedge's value function is the last exercise date's over the
  whole interval: the monthly call at flat equivalent carry is +2.3 % above its ADI price).
  At the test's 100,000 price paths (three seed offsets): the put +1.1 … 1.6 % (5–8 SE), the
  call +1.5 … 1.6 % (9–10 SE).
* A single exercise date: max_i (Z_i − M_i) = Z_n − M_n, whose mean is the European price
  exactly for a martingale whatever the hedge: against the characteristic function at the
  integrated rate and yield (Dynamics.equivalent), a put and a call on ``HP`` (measured
  within 2 SE over three seed offsets; the call's put with the curves left unswapped misses
  it by 300 SE).
* Rows' bounds do not depend on their order (streams keyed by the row's values and the
  curves); puts and calls across a cash dividend are bounded too.
"""

import dataclasses
import json

import numpy as np
import pandas as pd
from helpers import ROOT, combined_se, k_for, seed

import greeks
from greeks import duality, models
from greeks.api import load
from greeks.market.file import Dividend
from greeks.market.positions import MARKET_COLUMN
from greeks.models.heston.analytic import heston_greeks
from greeks.models.heston.duality import market_carry, upper_bound
from greeks.models.heston.exercise_rule import symmetric_parameters

LAW = {"v0": 0.04, "kappa": 1.5, "theta": 0.04, "xi": 0.5, "rho": -0.7}
PARAMS = tuple(LAW.values())
GAP = 0.025  # bound − price, of the price (+ k·SE): measured at most 1.8 %
TERM = json.loads((ROOT / "data" / "term_market.json").read_text())
HESTON = {"spot": 100.0, "curve": "USD", "heston": LAW,
          "dividend_yield": {"dates": ["2027-09-01", "2028-03-01"], "yields": [0.05, 0.07]}}
MARKET = dict(TERM, underlyings={
    "H": HESTON, "HP": dict(HESTON, dividends=[{"ex_date": "2027-07-01", "yield": 0.02}])})


def _book(*rows):
    return pd.DataFrame([{"instrument": "bermudan", "strike": 100.0, "expiry": "2027-09-01",
                          "underlying": "H", "quantity": 1.0, "fixings": 26, **row}
                         for row in rows])


def test_a_flat_market_is_the_flat_row():
    market = {"valuation_date": TERM["valuation_date"], "curves": {"FLAT": 0.04},
              "underlyings": {"F": {"spot": 100.0, "curve": "FLAT", "dividend_yield": 0.02,
                                    "heston": LAW}}}
    frame = load(_book(dict(id="F", underlying="F", option_type="put", strike=105.0,
                            fixings=12)), market)
    state = frame[MARKET_COLUMN].iat[0]
    times, maturity = np.asarray(state.times), float(frame["maturity"].iat[0])
    rate, dividend, _ = state.dynamics.equivalent(maturity)
    run = dict(paths=4096, seed=seed(85), words=(1, 2, 3, 4), american=True, richardson=True)
    star = symmetric_parameters(0.04, 0.02, *PARAMS[1:])
    for call, spot, strike, carry, params in (
            (False, 100.0, 105.0, (0.04, 0.02), PARAMS),
            (True, 105.0, 100.0, star[:2], (PARAMS[0], *star[2:]))):
        dated_carry = (rate, dividend) if not call else symmetric_parameters(
            rate, dividend, *PARAMS[1:])[:2]
        dated = upper_bound(spot, strike, maturity, *dated_carry, params, times,
                            carry=market_carry(state.dynamics, call), **run)
        flat = upper_bound(spot, strike, maturity, *carry, params, times, **run)
        for a, b in zip(dated, flat):  # the mean of M_n: to the price's 1e-12
            assert abs(a - b) <= 1e-12 * flat.upper, (call, dated, flat)


def test_bounds_lie_tightly_above_the_engine_price_on_curves():
    book = _book(dict(id="AP", instrument="american", option_type="put"),
                 dict(id="WC", option_type="call"))
    results = greeks.price_portfolio(book, market=MARKET, paths=40_000, seed=seed(86),
                                     greeks="price", upper_bound=True)
    k = k_for(3 * len(book))
    for _, row in results.iterrows():
        gap = row["upper_bound"] - row["price"]
        se = combined_se(row["price_se"], row["upper_bound_se"])
        z = results.attrs["upper_bound_checks"][row["id"]]["martingale_z"]
        label = (row["id"], row["price"], row["upper_bound"], gap / row["price"], gap / se, z)
        assert -k * se <= gap <= GAP * row["price"] + k * se, label
        assert abs(z) <= k, label


def test_a_single_date_bounds_the_european_price_exactly():
    frame = load(_book(dict(id="P", option_type="put", underlying="HP", fixings=1),
                       dict(id="C", option_type="call", underlying="HP", fixings=1,
                            expiry="2028-03-01")), MARKET)
    upper, se, checks = duality.frame_upper_bounds(frame, 1 << 15, seed(87))
    k = k_for(4)
    for j, row in enumerate(frame.to_dict("records")):
        rate, dividend, _ = row[MARKET_COLUMN].dynamics.equivalent(row["maturity"])
        price = heston_greeks(row["option_type"], 100.0, 100.0, row["maturity"], rate, *PARAMS,
                              dividend).price
        assert abs(upper[j] - price) <= k * se[j], (row["id"], upper[j], se[j], price)
        assert abs(checks[row["id"]]["martingale_z"]) <= k, (row["id"], checks)


def test_bounds_do_not_depend_on_the_row_order():
    rows = [dict(id="P", option_type="put", fixings=4),
            dict(id="C", option_type="call", underlying="HP", fixings=3),
            dict(id="A", instrument="american", option_type="put", underlying="HP", fixings=8)]
    forward = duality.frame_upper_bounds(load(_book(*rows), MARKET), 2048, seed(88))
    backward = duality.frame_upper_bounds(load(_book(*rows[::-1]), MARKET), 2048, seed(88))
    np.testing.assert_array_equal(forward[0][::-1], backward[0])  # bit for bit
    np.testing.assert_array_equal(forward[1][::-1], backward[1])
    assert np.isfinite(forward[0]).all() and sorted(forward[2]) == ["A", "C", "P"]


def test_bounds_with_a_cash_dividend_before_and_after_expiry():
    """The model bounds puts and calls across a cash dividend (a call itself, with no
    symmetric put; tests/market/test_heston_cash.py measures them) and with the dividend
    after expiry (a call through its symmetric put): the dividend of 1 before expiry raises
    the put's bound and lowers the call's by more than k·SE."""
    frame = load(_book(dict(id="P", option_type="put", fixings=2),
                       dict(id="C", option_type="call", fixings=2)), MARKET)
    state = frame[MARKET_COLUMN].iat[0]

    def bound(row, time):
        dynamics = dataclasses.replace(state.dynamics,
                                       dividends=(Dividend(time, 1.0, False),))
        return models.adapter("heston").upper_bound(
            row, np.asarray(state.times), paths=2_048, seed=seed(89), american=False,
            richardson=False, market=dataclasses.replace(state, dynamics=dynamics))
    put, call = frame.to_dict("records")
    k = k_for(2)
    for row, sign in ((put, 1.0), (call, -1.0)):  # the dividend raises a put, lowers a call
        across, after = bound(row, 0.25), bound(row, row["maturity"] + 0.1)
        gap = sign * (across.upper - after.upper)
        assert gap > k * combined_se(across.se, after.se), (row["id"], across, after)
