"""An american row's `fixings` (or `fixing_dates`) is a hint for its exercise grid, not the
product: the grid keeps the hint's dates and is refined to at least the default daily one
(greeks.instruments.exercise_fixings, greeks.market.positions.exercise_times), so that the
row is priced as the American option whatever the hint.  On the hint's grid alone a
quarterly hint left the put of Longstaff & Schwartz (S0 = 36) 0.039 above the American price
and its delta 0.028 above (tens of SEs at 200,000 paths)."""

import numpy as np
import pandas as pd
import pytest
from helpers import assert_within_allowance, make_frame, seed

import greeks
from greeks.instruments import InputError, exercise_fixings
from greeks.market.positions import exercise_times
from greeks.models.gbm.american import american_fd
from greeks.reference import analytic_prices

ALLOWANCE = {"price": (0.003, 0.002), "delta": (0.01, 0.002), "vega": (0.02, 0.02)}
LS_PUT = dict(instrument="american", option_type="put", strike=40.0, spot=36.0, rate=0.06,
              maturity=1.0, vol=0.2)
MARKET = {"valuation_date": "2027-03-01",
          "curves": {"USD": {"dates": ["2027-09-01", "2028-03-01"],
                             "zero_rates": [0.08, 0.07]}},
          "underlyings": {"AAPL": {"spot": 200.0, "curve": "USD", "vol": 0.28, "dividends": [
              {"ex_date": "2027-05-10", "amount": 0.26},
              {"ex_date": "2027-08-09", "amount": 0.26}]}}}


def test_a_hint_keeps_its_dates_and_is_refined_to_daily():
    maturity = np.array([1.0, 1.0, 1.0, 0.5, 1.0, 50.0])
    hint = np.array([4.0, 7.0, 500.0, 5.0, 252.0, 10.0])
    # 4 · 63, 7 · 36, finer than daily kept, 5 · ⌈126/5⌉, daily kept, capped at MAX_FIXINGS
    assert exercise_fixings(maturity, hint).tolist() == [252, 252, 500, 130, 252, 10_000]
    frame = make_frame([{**LS_PUT, "id": "a", "fixings": 4},
                        {**LS_PUT, "id": "b", "instrument": "bermudan", "fixings": 4},
                        {**LS_PUT, "id": "c", "instrument": "asian", "fixings": 4}])
    assert frame["fixings"].tolist() == [252, 4, 4]  # a bermudan's and an asian's are the product


def test_explicit_dates_are_refined_to_daily_between_them():
    times = exercise_times((0.25, 1.0))
    assert len(times) == 63 + 189
    assert times[62] == 0.25 and times[-1] == 1.0
    assert np.allclose(np.diff(times[:63]), 0.25 / 63) and np.allclose(np.diff(times[63:]),
                                                                         0.75 / 189)
    assert exercise_times((1 / 365,)) == (1 / 365,)


def test_a_coarse_hint_prices_the_american_option():
    """A quarterly hint gives the numbers of the default grid (the same dates, bit for bit)
    and the finite-difference American price, delta and vega."""
    run = dict(paths=20_000, seed=seed(41))
    hinted = greeks.price_portfolio(make_frame([{**LS_PUT, "id": "q", "fixings": 4}]), **run)
    default = greeks.price_portfolio(make_frame([{**LS_PUT, "id": "q"}]), **run)
    names = ["price", "price_se", "delta", "delta_se", "vega", "vega_se"]
    assert hinted[names].equals(default[names])
    fd = american_fd(36.0, 40.0, 1.0, 0.06, 0.0, 0.2, False)
    assert_within_allowance(hinted.iloc[0], {"price": fd.price, "delta": fd.delta,
                                             "vega": fd.vega}, ALLOWANCE, k=4.0)


def test_coarse_fixing_dates_off_a_market_price_the_american_option():
    """The expiry alone as the fixing date (on the hint's grid: the European put), off a
    market with cash dividends: the finite-difference American price, delta and vega on
    the curves and drops."""
    book = pd.DataFrame([{"id": "AP", "instrument": "american", "option_type": "put",
                          "strike": 230.0, "expiry": "2027-09-17", "underlying": "AAPL",
                          "fixing_dates": "2027-09-17"}])
    out = greeks.price_portfolio(book, market=MARKET, paths=20_000, seed=seed(42))
    reference = analytic_prices(book, market=MARKET).iloc[0]
    assert_within_allowance(out.iloc[0], {name: reference[name] for name in ALLOWANCE},
                            ALLOWANCE, k=4.0)


def test_exercise_grid_fixings_keeps_the_hint():
    """``exercise_grid`` ``fixings``: the hint's dates alone (a coarse grid's bias measured
    in docs/american.md), flat and off a market; a bad value is refused with its row."""
    frame = make_frame([{**LS_PUT, "id": "a", "fixings": 4, "exercise_grid": "fixings"},
                        {**LS_PUT, "id": "b", "fixings": 4, "exercise_grid": "daily"}])
    assert frame["fixings"].tolist() == [4, 252]
    assert frame["exercise_grid"].tolist() == ["fixings", "daily"]
    book = pd.DataFrame([{"id": "AP", "instrument": "american", "option_type": "put",
                          "strike": 230.0, "expiry": "2027-09-17", "underlying": "AAPL",
                          "fixing_dates": "2027-06-01;2027-09-17", "exercise_grid": "fixings"}])
    from greeks.api import load

    assert load(book, MARKET)["fixings"].tolist() == [2]
    with pytest.raises(InputError, match=r"row 1.*exercise_grid.*must be one of daily, fixings"):
        make_frame([{**LS_PUT, "id": "a", "exercise_grid": "weekly"}])
