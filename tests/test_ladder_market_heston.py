"""The ladder of Heston positions off a market reweighted from one simulation: european and
digital rows on a zero curve and a yield curve against the characteristic-function price on
the integrated rates, rows across cash dividends against the numpy Heston chain of
tests/market/test_heston_cash.py."""

import math

import numpy as np
import pandas as pd
from helpers import (
    assert_ladder_matches,
    assert_se_matches_spread,
    assert_within,
    combined_se,
    integral,
    k_for,
    seed,
    seeds,
    years,
)

import greeks
from greeks.ladder import spot_ladder
from greeks.models.heston.analytic import heston_digital, heston_greeks
from tests.market import test_heston_cash as cash

VALUATION = "2027-03-01"
RATES = {"dates": ["2027-09-01", "2028-03-01", "2029-03-01"], "zero_rates": [0.030, 0.035, 0.040]}
YIELDS = {"dates": ["2027-06-01", "2028-03-01"], "yields": [0.010, 0.020]}
HESTON = {"v0": 0.04, "kappa": 1.5, "theta": 0.05, "xi": 0.4, "rho": -0.6}
MARKET = {"valuation_date": VALUATION, "curves": {"USD": RATES},
          "underlyings": {"H": {"spot": 100.0, "curve": "USD", "dividend_yield": YIELDS,
                                "heston": HESTON},
                          "HD": {"spot": 50.0, "curve": "USD", "heston": HESTON,
                                 "dividends": [{"ex_date": "2027-06-01", "amount": 2.0}]}}}


def position(id_, expiry, instrument="european", option_type="call", strike=100.0,
             quantity=1.0, underlying="H", **more):
    return dict(id=id_, instrument=instrument, option_type=option_type, strike=strike,
                expiry=expiry, underlying=underlying, quantity=quantity, **more)


BOOK = pd.DataFrame([
    position("call", "2027-12-17", quantity=3.0),
    position("put", "2028-06-01", option_type="put", strike=95.0, quantity=-2.0),
    position("dcall", "2027-09-17", instrument="digital", strike=105.0, payout=10.0,
             quantity=4.0),
    position("dput", "2028-01-20", instrument="digital", option_type="put", strike=90.0,
             payout=5.0, quantity=-6.0)])


def fourier(row, shift, vol_shift):
    """A row's value at spot 100 (1 + ``shift``) and σ0 moved by ``vol_shift``: the
    characteristic-function price at the flat rate and yield with the curves' integrals to
    expiry (exact for european and digital payoffs)."""
    t = years(row["expiry"], VALUATION)
    rate = integral(RATES, "zero_rates", t, VALUATION) / t
    dividend = integral(YIELDS, "yields", t, VALUATION) / t
    params = dict(HESTON, v0=(math.sqrt(HESTON["v0"]) + vol_shift) ** 2)
    args = (row["option_type"], 100.0 * (1 + shift), row["strike"], t, rate, *params.values(),
            dividend)
    if row["instrument"] == "digital":
        return heston_digital(*args, payout=row["payout"]).price
    return heston_greeks(*args).price


def book_value(shift, vol_shift):
    return sum(r["quantity"] * fourier(r, shift, vol_shift) for r in BOOK.to_dict("records"))


def test_spot_scenarios_against_the_fourier_price_on_the_curves():
    """Every scenario's value and P&L against the characteristic-function price: the spot
    moves reweighted from the one simulation, the σ0 moves re-priced off the moved market."""
    table = spot_ladder(BOOK, market=MARKET, spot="-5%,5%", vol="0,2%", paths=40_000,
                        seed=seed(401))
    spot_only = table["vol_shift"] == 0
    assert (table.loc[spot_only, "source"] == "reweighted").all()
    assert (table.loc[~spot_only, "source"] == "re-simulated").all()
    per_row = table.attrs["rows"].drop(columns="id")
    spot_columns = [f"{x}/vol+0" for x in ("-0.05", "+0", "+0.05")]
    assert np.isfinite(per_row[spot_columns].to_numpy(dtype=float)).all()
    assert_ladder_matches(table, book_value)


def test_pnl_standard_errors_match_the_spread_over_seeds():
    runs = [spot_ladder(BOOK, market=MARKET, spot="-5%,5%", paths=3_000, seed=s)
            for s in seeds(40, start=410)]
    assert all((run["source"] == "reweighted").all() for run in runs)
    moved = (runs[0]["shift"] != 0).to_numpy()
    pnl = np.stack([run["pnl"].to_numpy()[moved] for run in runs])
    pnl_se = np.stack([run["pnl_se"].to_numpy()[moved] for run in runs])
    assert_se_matches_spread(pnl, pnl_se)


DIVIDENDS = [("2027-04-01", 20.0), ("2027-07-01", 10.0)]  # large: the drops matter


def test_cash_dividend_rows_against_the_numpy_chain():
    """A european call and put, a digital, a monthly asian and up-and-out call across two
    cash dividends and a call expiring between them (tests/market/test_heston_cash.py's
    rows), at ±5 % spot: each row's value and the book's P&L against the numpy chain from
    S0 (1 + x) on the same paths (the reference's P&L on common random numbers).  The ratio
    reads the first score date, the first ex-date for the rows that fix after it: at the
    row's first date instead the put's value at −5 % was 8.6 SEs off."""
    table = spot_ladder(cash.book(), market=cash.market(DIVIDENDS), spot="-5%,5%",
                        paths=100_000, seed=seed(420))
    assert (table["source"] == "reweighted").all()
    days = max(cash.day(expiry) for *_, expiry, _ in cash.ROWS)
    chain = cash._chain(200_000, days, cash._events(cash.ROWS, DIVIDENDS), cash.HESTON["v0"],
                        np.random.default_rng(seed(421)))
    values = {x: np.array(cash._values(chain, 100.0 * (1 + x), cash.ROWS, DIVIDENDS))
              for x in table["shift"]}
    rows = table.attrs["rows"]
    k = k_for(len(table) * (len(rows) + 1))
    for x, reference in values.items():
        name = f"{x:+.4g}"
        assert_within(rows[name], reference.mean(axis=1), combined_se(
            rows[f"{name}_se"], reference.std(axis=1, ddof=1) / math.sqrt(reference.shape[1])),
            k=k, label=[f"{i} at {x}" for i in rows["id"]])
        if x:
            line = table.loc[table["shift"] == x].iloc[0]
            pnl = (reference - values[0.0]).sum(axis=0)
            assert_within(line["pnl"], pnl.mean(), combined_se(
                line["pnl_se"], pnl.std(ddof=1) / math.sqrt(pnl.size)), k=k,
                label=f"pnl at {x}")


def test_row_order_and_the_unshifted_value():
    """Reversing the rows (on two underlyings, one paying a cash dividend) is bit-identical;
    the unshifted value is that of ``price --plain`` off the market (the engine's streams,
    the plain estimator)."""
    positions = pd.concat([BOOK, pd.DataFrame([
        position("asian", "2027-12-17", instrument="asian", strike=95.0,
                 fixing_dates="2027-06-17;2027-09-17;2027-12-17"),
        position("hcall", "2027-09-17", strike=48.0, underlying="HD"),
        position("dknock", "2027-11-17", instrument="barrier", option_type="put", strike=50.0,
                 barrier=40.0, barrier_type="down-and-out", underlying="HD",
                 fixing_dates="2027-04-01;2027-07-01;2027-11-17")])], ignore_index=True)
    run = dict(market=MARKET, spot="-5%,5%", vol="0,1%", paths=4_000, seed=seed(430))
    forward = spot_ladder(positions, **run)
    backward = spot_ladder(positions.iloc[::-1].reset_index(drop=True), **run)
    assert forward.equals(backward)
    rows = forward.attrs["rows"].set_index("id")
    assert rows.equals(backward.attrs["rows"].set_index("id").loc[rows.index])
    plain = greeks.price_portfolio(positions, market=MARKET, plain=True, paths=4_000,
                                   seed=seed(430))
    np.testing.assert_allclose(rows["+0/vol+0"], plain.set_index("id").loc[rows.index, "price"],
                               rtol=1e-12)
