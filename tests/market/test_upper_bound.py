"""The dual upper bound of GBM american and bermudan rows priced off a market file
(greeks.duality.upper_bound_market): rate and yield curves, a vol term structure and a
proportional dividend (the market of tests/market/test_pricing.py), and a cash dividend
(underlying ``CASH``).

References: the market finite-difference price (``american_fd_market``, default grid: within
``FD_ERROR`` = 1e-5 relative of the converged price; measured 2.6e-6 on a Bermudan put, against
8,000 × 8,000), and the Black–Scholes price on the curves written out in
tests/market/test_pricing.py (a single exercise date: for a true martingale
E[max(Z − M)] = E[Z_n − M_n] is the European price exactly, whatever the value function).
Tightness: bound − FD price ≤ ``GAP`` = 2e-5 of the price + k·se (measured over five seeds,
8,192 paths: Bermudan put +2.0e-6 … 2.7e-6 of the price, 4–7 SE, mostly the default grid's own
error; the American's extrapolated bound +3.0e-6 … 4.5e-6, 5–8 SE; ``EXTRAPOLATION`` as for the
flat rows).  The American row exercises on every calendar day, the ex-date among its dates and
its Richardson partner's: with the ex-date between dates the Bermudan's gap to the American
depends on where it falls, not on Δ alone, and 2 U(Δ) − U(2Δ) misses by more (measured
−1.9e-4 of the price on the default grid; docs/american.md), so an american row's grid holds
the ex-date (the American on its default grid, ``DEFAULT_GRID``).

A cash dividend D (2 on a spot of 100): the martingale's step to the ex-date ends before the
drop, the ex-date a date of the martingale where the row does not exercise there.  Measured
(two or three seeds, 8,192 paths, against the default grid): the Bermudan put with the
ex-date between its dates +2.4 … 3.0e-6 of the price (3–4 SE), the call exercisable the day
before the ex-date and on it +0.4 … 0.8e-6 (1 SE), the call expiring on the ex-date
+1.6 … 2.0e-6 (9–16 SE: its SE is 1e-6, and that is the default grid's error, 0–3 SE against
8,000 × 8,000); the American put's and call's extrapolations +3.2 … 3.9e-6 and
+0.4 … 1.0e-6; with a dividend of 60 (paths below the grid's first node after the drop, or
at S = 0) a Bermudan and an American put −1.8 … −2.2e-7 of the price, 3–20 SE (their SEs
6e-7 … 4e-6; the default grid's own error, 1.7e-7 above the price on 8,000 × 8,000); δ ≤ 6e-7,
5e-8 of the price; the same ``GAP``, ``FD_ERROR`` and ``EXTRAPOLATION``.  With
exercise at the expiry alone the bound is the European price, integrated over the spot at the
ex-date (tests/market/test_pricing.py), within its SE.
"""

import dataclasses
import math

import numpy as np
from helpers import k_for, seed

from greeks import duality
from greeks.api import load
from greeks.market.curves import Curve
from greeks.market.positions import MARKET_COLUMN
from greeks.models.gbm.american_market import american_fd_market, bermudan_values_market
from tests.market.test_pricing import TERM, _dividend_reference, curve_closed_form, years

FD_ERROR = 1e-5
GAP = 2e-5
EXTRAPOLATION = 2e-5
PATHS = 8192
EXPIRY = "2028-02-01"
EX_DATE, AMOUNT = "2027-08-05", 2.0
DROP = {"dividends": [{"ex_date": EX_DATE, "amount": AMOUNT}]}
CASH = dict(TERM, underlyings=dict(
    TERM["underlyings"], CASH={"spot": 100.0, "curve": "USD", "vol": 0.25, **DROP},
    FLAT_CASH={"spot": 100.0, "curve": "FLAT", "vol": 0.25, **DROP},
    LARGE_CASH={"spot": 100.0, "curve": "USD", "vol": 0.25,
                "dividends": [{"ex_date": EX_DATE, "amount": 60.0}]}))


def _rows(*rows):
    """A validated frame off the market ``CASH`` (TERM's underlying SPX, and CASH)."""
    import pandas as pd

    return load(pd.DataFrame([{"instrument": "bermudan", "option_type": "put", "strike": 105.0,
                               "expiry": EXPIRY, "underlying": "SPX", "quantity": 1.0,
                               "fixings": 12, **row} for row in rows]), CASH)


def _bound(frame, k, **more):
    row, state = frame.iloc[k], frame[MARKET_COLUMN].iat[k]
    times = np.asarray(state.times)
    american = row["instrument"] == "american"
    more = dict(dict(paths=PATHS, seed=seed(61), american=american,
                     richardson=american and times.size >= 4), **more)
    return duality.upper_bound_market(state.dynamics, row["strike"],
                                      row["option_type"] == "call", times, **more)


# one exercise date a calendar day, the ex-date on them and on the Richardson partner's
AMERICAN = dict(id="A", instrument="american", expiry="2028-02-02", fixings=338)
# the default grid (233 dates), the ex-date between the 84th and 85th: the row adds it
DEFAULT_GRID = dict(id="D", instrument="american", fixings=233)


def _assert_tight(frame, k, **more):
    """Each row's bound against the market finite-difference price: a Bermudan's above it
    within ``GAP``, an American's extrapolation within ``EXTRAPOLATION``; its martingale's
    checks."""
    for j in range(len(frame)):
        row, state = frame.iloc[j], frame[MARKET_COLUMN].iat[j]
        american = row["instrument"] == "american"
        result = _bound(frame, j, **more)
        upper = result.upper + result.drift
        fd = american_fd_market(state.dynamics, row["strike"], row["maturity"],
                                row["option_type"] == "call", None if american else state.times,
                                vega=False).price
        label = (row["id"], upper, result, fd, (upper - fd) / fd, (upper - fd) / result.se)
        if american:  # 2 U(Δ) − U(2Δ): an estimate of the American price's bound
            assert abs(upper - fd) <= EXTRAPOLATION * fd + k * result.se, label
        else:
            assert upper + k * result.se >= fd * (1 - FD_ERROR), label
            assert upper - fd <= GAP * fd + k * result.se, label
        assert abs(duality.martingale_z(result)) <= k, label
        assert result.drift <= 1e-6 * fd, label


def test_bermudan_and_american_puts_are_bounded_tightly_above_the_fd_price():
    _assert_tight(_rows(dict(id="B"), AMERICAN, DEFAULT_GRID), k_for(6))


def test_rows_with_a_cash_dividend_are_bounded_tightly_above_the_fd_price():
    call = dict(underlying="CASH", option_type="call", strike=95.0)
    frame = _rows(
        dict(id="CB", underlying="CASH"),  # the ex-date between two of its 12 dates
        dict(call, id="CX", fixings=None,  # exercisable the day before the ex-date and on it
             fixing_dates="2027-05-03;2027-08-04;2027-08-05;2027-11-01;2028-02-01"),
        dict(call, id="CT", expiry=EX_DATE, fixings=6),  # the drop at the expiry
        dict(AMERICAN, id="CA", underlying="CASH"),
        dict(AMERICAN, **call, id="CC"),  # exercised at the instant before the drop
        # below the grid's first node after the drop (the price there 9), or at S = 0
        dict(id="LB", underlying="LARGE_CASH"),
        dict(id="LA", instrument="american", underlying="LARGE_CASH", fixings=100))
    _assert_tight(frame, k_for(21), seed=seed(65))


def _european(wrong=False):
    """The bound on the expiry alone, against Black–Scholes on the curves; ``wrong``: the
    martingale's tables without the yield curve's drift."""
    frame = _rows(dict(id="E", fixings=1))
    row, state = frame.iloc[0], frame[MARKET_COLUMN].iat[0]
    times = np.asarray(state.times)
    tables = None
    if wrong:
        dynamics = state.dynamics
        law = duality.market_law(dataclasses.replace(dynamics, dividend_yield=Curve.flat(0.0)),
                                 times)
        tables = [duality.dual_tables(bermudan_values_market(dynamics, 105.0, False, times),
                                      law)]
    result = _bound(frame, 0, tables=tables, seed=seed(62), paths=4 * PATHS)
    price = curve_closed_form("european", -1.0, 100.0, 105.0, float(row["maturity"]))[0]
    return result, price


def test_a_single_date_bounds_the_european_price_exactly():
    result, price = _european()
    assert result.drift == 0.0  # the first date starts on a node
    assert abs(result.upper - price) <= 4.0 * result.se, (result, price)


def test_a_martingale_without_the_yield_drift_fails_the_european_check():
    result, price = _european(wrong=True)
    assert abs(result.upper - price) > 100.0 * result.se, (result, price)
    assert abs(duality.martingale_z(result)) > duality.ALARM, result  # named by the check


def test_a_flat_market_is_the_flat_row():
    """Flat curves in the market file (numbers): the same paths (shared spawn words) give the
    flat row's bound within 1e-12 relative (measured 5e-15), its SE, δ and mean of M_n within
    1e-12 of the price (they are small differences of such numbers: δ's relative change is
    1e-4), not bit for bit: the steps' means come from differences of the integrated curves,
    ΔI_r − ΔI_q − Δw/2, not (r − q − σ²/2) Δt, and the market finite-difference march from
    its own per-step coefficients (american_fd_market reproduces american_fd within 1e-12),
    which moves the last bits."""
    market = dict(TERM, underlyings={"F": {"spot": 100.0, "curve": "FLAT",
                                           "dividend_yield": 0.02, "vol": 0.25}})
    import pandas as pd

    frame = load(pd.DataFrame([{"id": "F", "instrument": "bermudan", "option_type": "put",
                                "strike": 105.0, "expiry": EXPIRY, "underlying": "F",
                                "quantity": 1.0, "fixings": 12}]), market)
    state = frame[MARKET_COLUMN].iat[0]
    times = np.asarray(state.times)
    run = dict(paths=4096, seed=seed(63), words=(1, 2, 3, 4))
    dated = duality.upper_bound_market(state.dynamics, 105.0, False, times, **run)
    flat = duality.upper_bound(100.0, 105.0, times[-1], 0.04, 0.02, 0.25, False, times, **run)
    for a, b in zip(dated, flat):  # δ and the mean of M_n: to the price's 1e-12
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12 * flat.upper), (dated, flat)


def _european_cash(wrong=False):
    """The bound of a put exercisable at its expiry alone, a cash dividend before it (a date of
    the martingale, not of exercise), against the integral over the spot at the ex-date;
    ``wrong``: the ex-date's conditional expectation taken of the value on the price after
    the drop (the drop left out)."""
    frame = _rows(dict(id="EC", underlying="FLAT_CASH", fixings=1))
    row, state = frame.iloc[0], frame[MARKET_COLUMN].iat[0]
    tables = None
    if wrong:
        dynamics = state.dynamics
        dates, exercisable = duality.martingale_dates(np.asarray(state.times), dynamics)
        assert exercisable.tolist() == [False, True]
        law = duality.market_law(dynamics, dates)
        fd = bermudan_values_market(dynamics, 105.0, False, dates[exercisable],
                                    extra_times=dates[~exercisable])
        x = fd.first + fd.h * np.arange(fd.values.shape[1])
        after = fd.values.copy()  # Ṽ(x) = f(log(e^x + D)), f the value before the drop
        after[0] = np.interp(np.log(np.exp(x) + AMOUNT), x, fd.values[0])
        right = duality.dual_tables(fd, law)
        left_out = duality.dual_tables(fd._replace(values=after), law)
        tables = [right._replace(expected=left_out.expected, start=left_out.start)]
    result = _bound(frame, 0, tables=tables, seed=seed(66), paths=4 * PATHS)
    price = _dividend_reference(100.0, 0.25, -1.0, 105.0, float(row["maturity"]),
                                years(EX_DATE), AMOUNT)
    return result, price


def test_a_cash_dividend_before_a_single_date_bounds_the_european_price_exactly():
    result, price = _european_cash()
    assert result.drift <= 1e-9 * price, result
    assert abs(result.upper - price) <= 4.0 * result.se + result.drift, (result, price)
    assert abs(duality.martingale_z(result)) <= 4.0, result


def test_a_martingale_that_leaves_the_drop_out_fails_the_european_check():
    result, price = _european_cash(wrong=True)
    assert abs(result.upper - price) > 100.0 * result.se, (result, price)
    assert abs(duality.martingale_z(result)) > duality.ALARM, result  # named by the check


def test_bounds_do_not_depend_on_the_row_order():
    rows = [dict(id="B", fixings=4), dict(id="C", underlying="CASH", fixings=4),
            dict(id="B2", option_type="call", strike=95.0, fixings=3),
            dict(id="A", instrument="american", underlying="CASH", fixings=30)]
    forward = duality.frame_upper_bounds(_rows(*rows), 4096, seed(64))
    backward = duality.frame_upper_bounds(_rows(*rows[::-1]), 4096, seed(64))
    np.testing.assert_array_equal(forward[0][::-1], backward[0])  # bit for bit
    np.testing.assert_array_equal(forward[1][::-1], backward[1])
    assert np.isfinite(forward[0]).all() and sorted(forward[2]) == ["A", "B", "B2", "C"]

