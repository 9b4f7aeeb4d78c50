"""The market file and dated positions: every refusal (key path or row in the message,
exit 2 from the command line, nothing written), the conventions (ACT/365F, log-linear
discount factors, total variance linear in t), and dated positions resolved into the
instrument frame."""

import copy
import json
import math

import pandas as pd
import pytest
from click.testing import CliRunner

from greeks.api import load
from greeks.cli import main
from greeks.instruments import InputError
from greeks.market import MarketError, load_market
from greeks.market.positions import CUM, MARKET_COLUMN, resolve
from greeks.reference import analytic_prices

MARKET = {
    "valuation_date": "2027-03-01",
    "curves": {"USD": {"dates": ["2027-09-01", "2028-03-01", "2029-03-01"],
                       "zero_rates": [0.045, 0.043, 0.040]},
               "EUR": 0.02},
    "underlyings": {
        "SPX": {"spot": 5000, "curve": "USD", "dividend_yield": 0.013,
                "vol": {"dates": ["2027-06-01", "2027-12-01"], "vols": [0.22, 0.20]}},
        "AAPL": {"spot": 200, "curve": "USD", "vol": 0.28,
                 "dividends": [{"ex_date": "2027-05-10", "amount": 0.26}]},
        "NDX": {"spot": 18000, "curve": "USD", "dividend_yield": 0.007,
                "heston": {"v0": 0.045, "kappa": 1.8, "theta": 0.05, "xi": 0.6, "rho": -0.7}},
    },
}


def edited(path, value):
    """MARKET with the key path (dots, [i] for list items) set to ``value`` (``...``: removed)."""
    data = copy.deepcopy(MARKET)
    keys = []
    for part in path.split("."):
        while "[" in part:
            head, rest = part.split("[", 1)
            if head:
                keys.append(head)
            keys.append(int(rest[:rest.index("]")]))
            part = rest[rest.index("]") + 1:]
        if part:
            keys.append(part)
    target = data
    for key in keys[:-1]:
        target = target[key]
    if value is ...:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


MARKET_ERRORS = [
    ("valuation_date", ..., "valuation_date", "missing"),
    ("valuation_date", "01/03/2027", "valuation_date", "ISO date"),
    ("underlyings.SPX.curve", "JPY", "underlyings.SPX.curve", "unknown curve"),
    ("underlyings.SPX.spot", -5, "underlyings.SPX.spot", "must lie in (0"),
    ("underlyings.SPX.spot", 0, "underlyings.SPX.spot", "must lie in (0"),
    ("underlyings.SPX.spot", "5000", "underlyings.SPX.spot", "must be a number"),
    ("underlyings.SPX.spot", ..., "underlyings.SPX.spot", "missing"),
    ("underlyings.SPX.vol.dates", ["2027-12-01", "2027-06-01"], "underlyings.SPX.vol.dates[1]",
     "dates must increase"),
    ("underlyings.SPX.vol.dates[0]", "2027-03-01", "underlyings.SPX.vol.dates[0]",
     "on or before the valuation date"),
    ("underlyings.SPX.vol.vols", [0.30, 0.15], "underlyings.SPX.vol.vols[1]",
     "total variance must increase"),
    ("underlyings.SPX.vol.vols", [0.3], "underlyings.SPX.vol.vols", "has 1 values"),
    ("underlyings.SPX.vol.vols[0]", float("nan"), "underlyings.SPX.vol.vols[0]", "finite"),
    ("underlyings.SPX.vol", -0.2, "underlyings.SPX.vol", "must lie in (0"),
    ("curves.USD.dates", ["2027-09-01", "2027-09-01", "2029-03-01"], "curves.USD.dates[1]",
     "dates must increase"),
    ("curves.USD.dates[0]", "2026-12-01", "curves.USD.dates[0]",
     "on or before the valuation date"),
    ("curves.USD.zero_rates[2]", "x", "curves.USD.zero_rates[2]", "must be a number"),
    ("curves.USD.zero_rates[2]", True, "curves.USD.zero_rates[2]", "must be a number"),
    ("underlyings.AAPL.dividends[0].ex_date", "2027-02-01",
     "underlyings.AAPL.dividends[0].ex_date", "on or before the valuation date"),
    ("underlyings.AAPL.dividends[0].amount", -1, "underlyings.AAPL.dividends[0].amount",
     "must lie in (0"),
    ("underlyings.AAPL.dividends[0].yield", 0.01, "underlyings.AAPL.dividends[0]",
     "exactly one of amount"),
    ("underlyings.NDX.heston.rho", 1.0, "underlyings.NDX.heston.rho", "must lie in (-1, 1)"),
    ("underlyings.NDX.heston.kappa", ..., "underlyings.NDX.heston.kappa", "missing"),
    ("underlyings.SPX.volatility", 0.2, "underlyings.SPX.volatility", "unknown key"),
    ("underlyings", {}, "underlyings", "non-empty"),
    ("curves.USD", [0.04], "curves.USD", 'a number (flat) or an object {"dates": [...], '
     '"zero_rates": [...]}, got [0.04]'),
    ("underlyings.SPX.vol", "0.2", "underlyings.SPX.vol", 'a number (flat) or an object '
     '{"dates": [...], "vols": [...]}'),
    ("underlyings.SPX.dividend_yield", [0.01], "underlyings.SPX.dividend_yield",
     '"yields": [...]}'),
]


@pytest.mark.parametrize("path, value, where, rule", MARKET_ERRORS)
def test_every_market_error_names_the_key_path_and_the_rule(path, value, where, rule):
    with pytest.raises(MarketError) as error:
        load_market(edited(path, value))
    message = str(error.value)
    assert message.startswith(f"<market>: {where}: "), message
    assert rule in message
    assert "\n" not in message


BOOK = pd.DataFrame([
    {"id": "spx", "instrument": "european", "option_type": "call", "strike": 5000,
     "expiry": "2027-12-01", "underlying": "SPX"},
    {"id": "aapl", "instrument": "european", "option_type": "put", "strike": 200,
     "expiry": "2027-09-01", "underlying": "AAPL", "vol": "0.3"},
    {"id": "ndx", "instrument": "digital", "option_type": "call", "strike": 18000,
     "expiry": "2028-03-01", "underlying": "NDX"},
])

POSITION_ERRORS = [
    (0, "underlying", "", "underlying", "missing value"),
    (0, "underlying", "FTSE", "underlying", "unknown underlying 'FTSE'"),
    (1, "expiry", "2027-02-01", "expiry", "on or before the valuation date"),
    (1, "expiry", "2027-03-01", "expiry", "on or before the valuation date"),
    (1, "expiry", "next year", "expiry", "ISO date"),
    (1, "expiry", "", "expiry", "give expiry or maturity"),
    (2, "maturity", "1.0", "expiry", "not both"),
    (0, "fixing_dates", "2027-06-01;2027-12-01", "fixing_dates", None),  # european: ignored
    (0, "multiplier", "-100", "multiplier", "must be > 0"),
    (2, "model", "gbm", "vol", "has no vol in the market"),
    (1, "model", "heston", "v0", "has no heston entry"),
]


@pytest.mark.parametrize("row, column, value, where, rule", POSITION_ERRORS)
def test_bad_positions_are_refused_with_their_row_and_column(row, column, value, where, rule):
    book = BOOK.copy()
    book[column] = book.get(column, pd.Series([None] * len(book))).astype(object)
    book.loc[row, column] = value
    market = load_market(MARKET)
    if rule is None:
        resolve(book, "book", market)
        return
    with pytest.raises(InputError) as error:
        resolve(book, "book", market)
    assert str(error.value).startswith(f"book: row {row + 1}: column '{where}': "), error.value
    assert rule in str(error.value)


EARLIEST = [  # (row, column, value) edits: the earliest row's problem is the one reported
    ([(1, "strike", "-5"), (2, "underlying", "FTSE")], "row 2: column 'strike'"),
    ([(1, "underlying", "FTSE"), (2, "strike", "-5")], "row 2: column 'underlying'"),
    ([(0, "strike", "-5"), (1, "multiplier", "0")], "row 1: column 'strike'"),
    ([(0, "multiplier", "0"), (1, "strike", "-5")], "row 1: column 'multiplier'"),
    ([(1, "multiplier", "0"), (2, "expiry", "2027-01-01")], "row 2: column 'multiplier'"),
    ([(2, "underlying", "FTSE"), (0, "strike", ...)], "column 'strike': required column"),
]


@pytest.mark.parametrize("edits, where", EARLIEST)
def test_the_earliest_bad_position_is_reported_whichever_rule_it_breaks(edits, where):
    book = BOOK.copy().astype(object)
    for row, column, value in edits:
        if value is ...:
            book = book.drop(columns=column)
        else:
            book[column] = book.get(column, pd.Series([None] * len(book))).astype(object)
            book.loc[row, column] = value
    with pytest.raises(InputError) as error:
        resolve(book, "book", load_market(MARKET))
    assert str(error.value).startswith(f"book: {where}"), error.value


DATED_ERRORS = [
    ("2027-06-01;2027-09-01", "2027-12-01", "must be the expiry"),
    ("2027-09-01;2027-06-01;2027-12-01", "2027-12-01", "dates must increase"),
    ("2027-01-01;2027-12-01", "2027-12-01", "on or before the valuation date"),
    ("2027-06-01,2027-12-01", "2027-12-01", "separated by ';'"),
]


@pytest.mark.parametrize("dates, expiry, rule", DATED_ERRORS)
def test_bad_fixing_dates_are_refused(dates, expiry, rule):
    book = pd.DataFrame([{"id": "a", "instrument": "asian", "option_type": "call",
                          "strike": 5000, "expiry": expiry, "underlying": "SPX",
                          "fixing_dates": dates}])
    with pytest.raises(InputError, match=rule):
        resolve(book, "book", load_market(MARKET))


def test_heston_exercise_rows_across_cash_dividends_are_accepted():
    """European, american and bermudan heston rows take the cash dividends; an american
    row's exercise grid holds each ex-date before its expiry and the date ``CUM`` before it
    (the prices after and before the drop)."""
    row = {"id": "a", "instrument": "european", "option_type": "call", "strike": 200,
           "expiry": "2027-12-01", "underlying": "AAPL", "model": "heston", "v0": 0.04,
           "kappa": 1, "theta": 0.04, "xi": 0.5, "rho": -0.5}
    market = load_market(MARKET)
    for kind in ("european", "american", "bermudan"):
        frame = resolve(pd.DataFrame([{**row, "instrument": kind, "fixings": 4}]), "book",
                        market)
        assert len(frame) == 1
        if kind == "american":
            times = frame[MARKET_COLUMN].iloc[0].times
            for d in frame[MARKET_COLUMN].iloc[0].dynamics.cash_dividends(frame.maturity[0]):
                assert d.time in times and d.time - CUM in times


def test_conventions_act365_log_linear_discounting_and_total_variance():
    market = load_market(MARKET)
    curve, vol = market.curves["USD"], market.underlyings["SPX"].vol
    t1, t2 = 184 / 365, 366 / 365  # 2027-09-01 and 2028-03-01 from 2027-03-01 (ACT/365F)
    assert curve.times[:2] == (t1, t2)
    # log DF linear between (0, 0) and the nodes; the last forward continues
    mid = 0.5 * (t1 + t2)
    assert math.isclose(float(curve.integral(mid)), 0.5 * (0.045 * t1 + 0.043 * t2))
    t3 = curve.times[2]
    last = (0.040 * t3 - 0.043 * t2) / (t3 - t2)
    assert math.isclose(float(curve.integral(t3 + 1.0)), 0.040 * t3 + last)
    assert math.isclose(float(curve.discount(t1)), math.exp(-0.045 * t1))
    # total variance linear in t, flat vol before the first and after the last node
    v1, v2 = vol.times
    assert math.isclose(float(vol.total_variance(0.5 * v1)), 0.22 ** 2 * 0.5 * v1)
    assert math.isclose(float(vol.total_variance(0.5 * (v1 + v2))),
                        0.5 * (0.22 ** 2 * v1 + 0.20 ** 2 * v2))
    assert math.isclose(float(vol.total_variance(2.0)), 0.20 ** 2 * 2.0)
    # the parallel shift's derivative against a central difference of the curve itself
    for t in (0.1, 0.5 * (v1 + v2), 2.0):
        h = 1e-6
        up = type(vol)(vol.times, tuple(v + h for v in vol.vols)).total_variance(t)
        down = type(vol)(vol.times, tuple(v - h for v in vol.vols)).total_variance(t)
        assert math.isclose(float(vol.parallel_shift(t)), float((up - down) / (2 * h)),
                            rel_tol=1e-7)


def test_resolved_frame_fills_market_columns_and_names_overrides():
    frame = resolve(BOOK, "book", load_market(MARKET))
    spx, aapl, ndx = frame.itertuples(index=False)
    assert spx.maturity == 275 / 365 and spx.spot == 5000 and spx.model == "gbm"
    assert ndx.model == "heston" and ndx.v0 == 0.045
    assert aapl.vol == 0.3 and aapl.overrides == "vol" and spx.overrides == ""
    # the equivalent flat values reproduce DF(T) and w(T)
    state = spx.market_state.dynamics
    assert math.isclose(math.exp(-spx.rate * spx.maturity), float(state.discount(spx.maturity)))
    assert math.isclose(spx.vol ** 2 * spx.maturity,
                        float(state.vol.total_variance(spx.maturity)))
    assert list(frame["multiplier"]) == [1.0, 1.0, 1.0]


def test_files_without_a_market_are_untouched(tmp_path):
    path = tmp_path / "book.csv"
    pd.DataFrame([{"id": "a", "instrument": "european", "option_type": "call", "strike": 100,
                   "maturity": 1, "spot": 100, "rate": 0.05, "model": "gbm", "vol": 0.2,
                   "multiplier": 100}]).to_csv(path, index=False)
    frame = load(str(path))
    assert MARKET_COLUMN not in frame.columns and "overrides" not in frame.columns


def test_cli_refuses_a_bad_market_with_exit_2_and_writes_nothing(tmp_path):
    market = tmp_path / "market.json"
    market.write_text(json.dumps(edited("underlyings.SPX.vol.dates",
                                        ["2027-12-01", "2027-06-01"])))
    book = tmp_path / "book.csv"
    BOOK.to_csv(book, index=False)
    out = tmp_path / "out.csv"
    for command in (["price", "--paths", "1000"], ["analytic"], ["report", "--paths", "1000"]):
        result = CliRunner().invoke(main, [*command, str(book), "--market", str(market),
                                           "--output", str(out)])
        assert result.exit_code == 2, result.output
        assert f"{market}: underlyings.SPX.vol.dates[1]: dates must increase" in result.output
        assert not out.exists()
    bad_book = tmp_path / "bad.csv"
    BOOK.assign(underlying=["SPX", "FTSE", "NDX"]).to_csv(bad_book, index=False)
    market.write_text(json.dumps(MARKET))
    result = CliRunner().invoke(main, ["price", str(bad_book), "--market", str(market),
                                       "--output", str(out)])
    assert result.exit_code == 2
    assert "row 2 (line 3): column 'underlying': unknown underlying 'FTSE'" in result.output
    assert not out.exists()
    market.write_text("{not json")
    result = CliRunner().invoke(main, ["price", str(book), "--market", str(market)])
    assert result.exit_code == 2 and "not valid JSON" in result.output


def test_analytic_with_a_market_matches_black_scholes_on_the_equivalent_values():
    """The dated closed form is Black–Scholes on DF(T), the forward and w(T); its vega is
    the parallel shift's (a central difference of the closed form over the whole curve).
    Rows with cash dividends get the finite-difference value instead."""
    table = analytic_prices(BOOK, market=MARKET)
    # a european row with a cash dividend: by finite differences, against a quadrature
    from tests.models.gbm.test_american_market import european_quadrature

    dynamics = load(BOOK, MARKET)[MARKET_COLUMN].iat[1].dynamics
    reference = european_quadrature(dynamics, 200.0, table.loc[1, "maturity"], False,
                                    dynamics.dividends[0])
    assert table.loc[1, "note"] is None
    assert math.isclose(table.loc[1, "price"], reference, rel_tol=2e-5)
    h = 1e-5
    bumped = [analytic_prices(BOOK.iloc[:1], market=edited(
        "underlyings.SPX.vol.vols", [0.22 + s, 0.20 + s]))["price"][0] for s in (h, -h)]
    assert math.isclose(table.loc[0, "vega"], (bumped[0] - bumped[1]) / (2 * h), rel_tol=1e-6)


def test_parquet_date_columns_read_as_iso_dates(tmp_path):
    """A Parquet date column (midnight timestamps) reads as ISO dates."""
    book = BOOK.assign(expiry=pd.to_datetime(BOOK["expiry"]))
    path = tmp_path / "book.parquet"
    book.to_parquet(path)
    frame = load(str(path), MARKET)
    assert list(frame["maturity"]) == list(resolve(BOOK, "book", load_market(MARKET))["maturity"])
