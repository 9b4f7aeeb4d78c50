"""American and bermudan rows priced off a market file (greeks.exercise with the curves):
against the binomial tree of tests/models/gbm/test_american.py where the market is flat, against the
dated closed form where early exercise is never optimal, and against the published Heston
values with a flat curve.  Tolerances as in tests/models/gbm/test_american.py: the stated bias
allowance of the method plus k·se."""

import math

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, k_for, seed

import greeks
from greeks.models.gbm.analytic import black_scholes
from tests.models.gbm.test_american import ALLOWANCE, HESTON_PUBLISHED, check, tree_greeks

VALUATION = "2027-03-01"
EXPIRY, T = "2028-03-01", 366 / 365
EX_DATE_ALLOWANCE = 1e-3  # of the price: an ex-date mid-way between two monthly dates


def flat_market(**underlying):
    return {"valuation_date": VALUATION,
            "curves": {"USD": {"dates": [EXPIRY], "zero_rates": [0.05]}},
            "underlyings": {"X": {"spot": 100.0, "curve": "USD", **underlying}}}


def book(*rows):
    return pd.DataFrame([{"instrument": "american", "strike": 100.0, "expiry": EXPIRY,
                          "underlying": "X", "quantity": 1.0, **row} for row in rows])


def test_american_put_off_a_flat_market_is_the_flat_row():
    market = flat_market(vol=0.25, dividend_yield=0.02)
    results = greeks.price_portfolio(book(dict(id="P", option_type="put")), market=market,
                                     paths=40_000, seed=seed(71), greeks="gamma")
    reference = tree_greeks({"spot": 100.0, "strike": 100.0, "maturity": T, "rate": 0.05,
                             "dividend": 0.02, "vol": 0.25, "option_type": "put"})
    check(results, [reference])
    assert 0.2 < results["exercise_probability"].iat[0] < 0.9


def test_american_call_without_dividends_is_never_exercised_on_term_structures():
    """A call on a stock paying nothing is worth its European value (exercise is never
    optimal, and the policy's bound on the continuation value forbids it): the dated
    Black–Scholes value with the integrated rate and variance."""
    market = {"valuation_date": VALUATION,
              "curves": {"USD": {"dates": ["2027-09-01", "2028-03-01"],
                                 "zero_rates": [0.03, 0.045]}},
              "underlyings": {"X": {"spot": 100.0, "curve": "USD",
                                    "vol": {"dates": ["2027-06-01", "2027-12-01"],
                                            "vols": [0.30, 0.22]}}}}
    results = greeks.price_portfolio(book(dict(id="C", option_type="call")), market=market,
                                     paths=20_000, seed=seed(72))
    row = results.iloc[0]
    assert row["exercise_probability"] == 0.0
    rate = 0.045  # the zero rate to the expiry (a node)
    t1, t2 = 92 / 365, 275 / 365  # the vol nodes

    def value(shift, spot=100.0):
        w1 = (0.30 + shift) ** 2 * t1
        w2 = (0.22 + shift) ** 2 * t2
        w = w2 + ((0.22 + shift) ** 2 * (T - t2)) if T > t2 else w1
        return black_scholes("call", spot, 100.0, T, rate, math.sqrt(w / T), 0.0)

    base = value(0.0)
    vega = (value(1e-4).price - value(-1e-4).price) / 2e-4
    k = k_for(3)
    for name, reference in (("price", base.price), ("delta", base.delta), ("vega", vega)):
        relative, absolute = ALLOWANCE[name]
        allowed = relative * abs(reference) + absolute + k * row[f"{name}_se"]
        assert abs(row[name] - reference) <= allowed, (name, row[name], reference)


def test_heston_american_put_off_a_flat_market_published():
    market = {"valuation_date": VALUATION,
              "curves": {"USD": {"dates": ["2027-05-31"], "zero_rates": [0.1]}},
              "underlyings": {"X": {"spot": 10.0, "curve": "USD", "heston": {
                  "v0": 0.0625, "kappa": 5.0, "theta": 0.16, "xi": 0.9, "rho": 0.1}}}}
    positions = pd.DataFrame([dict(id="H", instrument="american", option_type="put",
                                   strike=10.0, maturity=0.25, underlying="X", quantity=1.0)])
    results = greeks.price_portfolio(positions, market=market, paths=40_000, seed=seed(73))
    row = results.iloc[0]
    reference = HESTON_PUBLISHED[10.0]
    assert abs(row["price"] - reference) <= 0.003 * reference + 0.002 + 4 * row["price_se"]
    assert -1.0 < row["delta"] < 0.0 and row["vega"] > 0.0


def test_cash_dividends_curves_and_vol_term_structure_against_the_market_fd():
    """American call and put and a monthly bermudan call with two cash dividends, a rate
    curve and a vol term structure, against the finite-difference solution on the same
    market (itself checked against an independent lattice:
    tests/models/gbm/test_american_market.py)."""
    from greeks.api import load
    from greeks.market.positions import MARKET_COLUMN
    from greeks.models.gbm.american_market import american_fd_market

    market = {"valuation_date": VALUATION,
              "curves": {"USD": {"dates": ["2027-09-01", "2028-03-01"],
                                 "zero_rates": [0.04, 0.05]}},
              "underlyings": {"X": {"spot": 100.0, "curve": "USD",
                                    "vol": {"dates": ["2027-06-01", "2028-03-01"],
                                            "vols": [0.3, 0.25]},
                                    "dividends": [{"ex_date": "2027-08-30", "amount": 3.0},
                                                  {"ex_date": "2028-02-01", "amount": 3.0}]}}}
    positions = book(dict(id="C", option_type="call", strike=95.0),
                     dict(id="P", option_type="put", strike=105.0),
                     dict(id="B", instrument="bermudan", option_type="call", strike=95.0,
                          fixings=12))
    results = greeks.price_portfolio(positions, market=market, paths=40_000, seed=seed(74))
    frame = load(positions, market)
    references = []
    for row in frame.to_dict("records"):
        state = row[MARKET_COLUMN]
        dates = None if row["instrument"] == "american" else state.times
        values = american_fd_market(state.dynamics, row["strike"], row["maturity"],
                                    row["option_type"] == "call", dates)
        references.append({"price": values.price, "delta": values.delta,
                           "vega": values.vega})
    check(results, references, names=("price", "delta", "vega"))
    early = results.set_index("id")["exercise_probability"]
    assert early["C"] > 0.3 and early["P"] > 0.3  # the dividends make early exercise pay


def test_american_put_on_a_steeply_inverted_vol_curve():
    """Vols 0.60, 0.48, 0.46 two and a half and three weeks apart: the curve shifted by
    −0.04 (the vega's 2k at k = 0.02) has its total variance falling, which raised a
    ValueError for the whole row; the vega's step is now halved until the shifted curves
    exist.  Price, delta and vega against the finite-difference solution on the market."""
    from greeks.api import load
    from greeks.market.positions import MARKET_COLUMN
    from greeks.models.gbm.american_market import american_fd_market

    market = {"valuation_date": VALUATION, "curves": {"USD": 0.04},
              "underlyings": {"X": {"spot": 100.0, "curve": "USD", "dividend_yield": 0.02,
                                    "vol": {"dates": ["2027-06-12", "2027-08-12",
                                                      "2027-09-02"],
                                            "vols": [0.60, 0.48, 0.46]}}}}
    positions = book(dict(id="P", option_type="put", strike=110.0, expiry="2027-11-01"))
    results = greeks.price_portfolio(positions, market=market, paths=20_000, seed=seed(78))
    state = load(positions, market)[MARKET_COLUMN].iat[0]
    values = american_fd_market(state.dynamics, 110.0, state.times[-1], False)
    check(results, [{"price": values.price, "delta": values.delta, "vega": values.vega}],
          names=("price", "delta", "vega"))


def test_risk_report_takes_early_exercise_rows_theta_and_rho_from_the_engine():
    """An american row's theta and rho in the report off a market come from the engine
    (greeks.models.gbm.exercise_carry), and the total adds them to the european row's
    buckets, on independent streams: values and variances add (in the report and in the
    priced table's total).  Its bucket table's theta
    and rate lines are the same estimators on the same paths: the report's values."""
    from greeks.report import bucket_report, risk_report

    market = flat_market(vol=0.25)
    positions = book(dict(id="A", option_type="put"),
                     dict(id="E", instrument="european", option_type="put"))
    buckets = bucket_report(positions, market=market, paths=4_000, seed=seed(75))
    assert {"A", "E"} <= set(buckets["position"])
    report = risk_report(positions, market=market, greeks="theta,rho", paths=4_000,
                         seed=seed(75))
    rows, total = report.attrs["positions"].set_index("id"), report.iloc[-1]
    lines = buckets[buckets["position"] == "A"].set_index("factor")["value"]
    assert lines["theta:X"] == pytest.approx(rows.loc["A", "theta_per_day"], rel=1e-9)
    assert lines[f"rate:USD:{EXPIRY}"] == pytest.approx(rows.loc["A", "rho_per_bp"], rel=1e-9)
    for name in ("theta_per_day", "rho_per_bp"):
        assert np.isfinite(rows[name]).all()
        assert total[name] == pytest.approx(rows[name].sum(), rel=1e-12, abs=1e-15)
        assert total[f"{name}_se"] == pytest.approx(math.hypot(*rows[f"{name}_se"]), rel=1e-9)
    priced = greeks.price_portfolio(positions, market=market, greeks="theta,rho",
                                    paths=4_000, seed=seed(75)).set_index("id")
    assert rows.loc["A", "theta_per_day"] == pytest.approx(
        priced.loc["A", "theta_per_day"], rel=1e-12)
    q = priced["quantity"]  # the priced table's total: each row once
    for name in ("theta_per_year", "rho_rate"):
        assert priced.attrs["total"][name] == pytest.approx((q * priced[name]).sum(),
                                                            rel=1e-12)
        assert priced.attrs["total"][f"{name}_se"] == pytest.approx(
            math.hypot(*(q * priced[f"{name}_se"])), rel=1e-9)


CURVED = {"valuation_date": VALUATION,
          "curves": {"USD": {"dates": ["2027-06-01", "2027-12-01", "2028-06-01"],
                             "zero_rates": [0.03, 0.045, 0.055]}},
          "underlyings": {
              "X": {"spot": 100.0, "curve": "USD",
                    "dividend_yield": {"dates": ["2027-09-01", "2028-06-01"],
                                       "yields": [0.01, 0.03]},
                    "vol": {"dates": ["2027-05-01", "2027-11-01", "2028-03-01"],
                            "vols": [0.30, 0.25, 0.22]}},
              "Y": {"spot": 50.0, "curve": "USD", "vol": 0.3,
                    "dividends": [{"ex_date": "2027-06-15", "amount": 1.5},
                                  {"ex_date": "2027-12-15", "amount": 1.5}]}}}


def fd_carry(row: dict, market_file: dict) -> dict:
    """The market finite-difference pricer's theta_per_year (365 × its value on the market
    one day later, :func:`greeks.market.factors.shifted`, the expiry and dates a day nearer,
    less today's), rho_rate (its central difference in the zero rates at ±0.001) and gamma
    of an american or bermudan ``row`` of ``book`` off ``market_file``."""
    import datetime
    from dataclasses import replace

    from greeks.market import load_market
    from greeks.market.curves import Curve
    from greeks.market.dynamics import Dynamics
    from greeks.market.factors import DAY, shifted
    from greeks.models.gbm.american_market import american_fd_market

    market = load_market(market_file)
    spec = market.underlyings[row["underlying"]]
    dynamics = Dynamics(spec.spot, market.curves[spec.curve], spec.yield_curve,
                        spec.dividends, spec.vol)
    expiry = market.time(datetime.date.fromisoformat(row["expiry"]))
    dates = ([market.time(datetime.date.fromisoformat(d))
              for d in row["fixing_dates"].split(";")] if "fixing_dates" in row else None)

    def price(d, shift=0.0):
        return american_fd_market(d, row["strike"], expiry - shift, row["option_type"] == "call",
                                  None if dates is None else [t - shift for t in dates],
                                  vega=False)

    def moved(d, eps):
        return replace(d, rate=Curve(d.rate.times, tuple(r + eps for r in d.rate.rates)))

    today = price(dynamics)
    return {"theta_per_year": (price(shifted(dynamics), DAY).price - today.price) / DAY,
            "rho_rate": (price(moved(dynamics, 1e-3)).price
                         - price(moved(dynamics, -1e-3)).price) / 2e-3,
            "gamma": today.gamma}


def check_carry(results, rows, market_file, names=("theta_per_year", "rho_rate", "gamma")):
    """Each row's ``names`` within the allowance of tests/models/gbm/test_american_carry.py
    (1 % + 0.002; test_american.py's for gamma) plus k·se of :func:`fd_carry`'s values."""
    k = k_for(len(names) * len(rows))
    for row in rows:
        reference = fd_carry(row, market_file)
        for name in names:
            estimate, se = results.loc[row["id"], name], results.loc[row["id"], f"{name}_se"]
            relative, absolute = ALLOWANCE[name] if name == "gamma" else (0.01, 0.002)
            allowed = relative * abs(reference[name]) + absolute + k * se
            assert abs(estimate - reference[name]) <= allowed, (row["id"], name, estimate,
                                                                reference[name], se)


def test_theta_and_rho_off_a_market_against_the_finite_difference_reference():
    """Theta (365 × the one-day change, every node date, zero rate, yield and vol kept),
    rho (the parallel shift of the zero rates) and gamma (with the cash dividends too) of
    american and bermudan rows on curves, a
    vol term structure and cash dividends, against the market finite-difference pricer
    (:func:`fd_carry`).  The allowance is tests/models/gbm/test_american_carry.py's
    (1 % + 0.002), which also covers the one-day difference against the derivative
    (½ V_tt δ, below 0.01 here), and test_american.py's for gamma."""
    rows = [dict(id="XP", underlying="X", option_type="put", strike=105.0,
                 expiry="2028-01-15"),
            dict(id="XB", underlying="X", instrument="bermudan", option_type="put",
                 strike=100.0, expiry="2027-12-20",
                 fixing_dates="2027-06-20;2027-09-20;2027-12-20"),
            dict(id="YC", underlying="Y", option_type="call", strike=48.0,
                 expiry="2028-02-01")]
    results = greeks.price_portfolio(book(*rows), market=CURVED, paths=40_000, seed=seed(76),
                                     greeks="gamma,theta,rho").set_index("id")
    check_carry(results, rows, CURVED)


def test_bermudan_theta_with_its_first_date_beyond_vol_nodes():
    """A bermudan's simulation grid is its dates: here the first step (six months) spans a
    vol node at one month, the vol rising from 15 % to 45 %.  The theta equation's ½ σ² S0² Γ
    takes the instantaneous variance (0.15²), not the first step's mean (about 0.19, eight
    times more): with the latter theta was −14.2 a year against the finite-difference
    pricer's −6.7 (SE 0.28)."""
    market = {"valuation_date": VALUATION,
              "curves": {"USD": 0.04},
              "underlyings": {"X": {"spot": 100.0, "curve": "USD", "dividend_yield": 0.01,
                                    "vol": {"dates": ["2027-04-01", "2028-03-01"],
                                            "vols": [0.15, 0.45]}}}}
    rows = [dict(id="B", underlying="X", instrument="bermudan", option_type="put",
                 strike=105.0, expiry="2028-03-01", fixing_dates="2027-09-01;2028-03-01")]
    results = greeks.price_portfolio(book(*rows), market=market, paths=20_000, seed=seed(77),
                                     greeks="gamma,theta").set_index("id")
    check_carry(results, rows, market, names=("theta_per_year",))


def test_theta_of_an_expiry_days_after_a_vol_node():
    """The expiry 11 days after a vol node, the vol rising from 10 % to 28 % there: a day
    later the dates lie a day nearer the nodes, so the curves' reshaping that a date t from
    today sees is the one at t − 1 day from tomorrow.  Read at t, it moved a never exercised
    bermudan call's theta by 18 % (−0.216 a year against the finite-difference pricer's
    −0.183, SE 0.0015); a bermudan put that exercises beside it."""
    market = {"valuation_date": "2027-01-04",
              "curves": {"USD": {"dates": ["2027-04-18", "2027-12-22", "2028-10-21"],
                                 "zero_rates": [0.02988, 0.01732, 0.02427]}},
              "underlyings": {"X": {"spot": 100.0, "curve": "USD",
                                    "dividend_yield": {"dates": ["2027-02-14", "2028-09-25"],
                                                       "yields": [0.04972, 0.00828]},
                                    "vol": {"dates": ["2028-01-30", "2028-07-29", "2029-01-30"],
                                            "vols": [0.1019, 0.2772, 0.3185]}}}}
    rows = [dict(id="B", underlying="X", instrument="bermudan", option_type="call",
                 strike=86.31, expiry="2028-02-10",
                 fixing_dates="2027-03-12;2027-05-18;2027-07-24;2027-09-29;2027-12-05;"
                              "2028-02-10"),
            dict(id="P", underlying="X", instrument="bermudan", option_type="put",
                 strike=105.0, expiry="2028-02-10",
                 fixing_dates="2027-07-24;2027-12-05;2028-02-10")]
    results = greeks.price_portfolio(book(*rows), market=market, paths=200_000, seed=seed(78),
                                     greeks="theta").set_index("id")
    check_carry(results, rows, market, names=("theta_per_year",))


@pytest.mark.parametrize("dividend", [{"amount": 3.0}, {"yield": 0.03}], ids=["cash", "yield"])
def test_american_rows_exercise_just_before_and_after_each_dividend_on_both_grids(dividend):
    """An american row off a market gets an exercise date CUM before each ex-date, cash or
    proportional (the price there is before the drop: a call's exercise) and one on it (after
    the drop), in its grid and its Richardson partner's, not counted in the stepping; a
    bermudan row keeps its own dates.  A put, which never exercises just before a
    proportional drop, gets no cum date before one."""
    from greeks.api import load
    from greeks.engine.plan import plan_groups
    from greeks.exercise import _exercise_dates
    from greeks.market.positions import CUM, MARKET_COLUMN

    market = flat_market(vol=0.25, dividends=[{"ex_date": "2027-08-30", **dividend}])
    positions = book(dict(id="A", option_type="call"),
                     dict(id="B", instrument="bermudan", option_type="call", fixings=12),
                     dict(id="C", option_type="put"))
    frame = load(positions, market)
    ex_date = 182 / 365
    american, bermudan, put = (frame[MARKET_COLUMN].iat[k].times for k in (0, 1, 2))
    assert any(abs(t - (ex_date - CUM)) < 1e-12 for t in american)
    assert any(abs(t - (ex_date - CUM)) < 1e-12 for t in put) == ("amount" in dividend)
    assert any(abs(t - ex_date) < 1e-12 for t in put)
    assert any(abs(t - ex_date) < 1e-12 for t in american)
    assert not any(abs(t - (ex_date - CUM)) < 1e-9 for t in bermudan) and len(bermudan) == 12
    group = next(g for g in plan_groups(frame) if 0 in g.positions)
    j = int(list(group.positions).index(0))
    times = group.times[group.date_index[group.date_start[j]:group.date_start[j + 1]]]
    cum, ex = (int(np.argmin(np.abs(times - t))) for t in (ex_date - CUM, ex_date))
    assert ex == cum + 1
    for every in (1, 2):
        dates = _exercise_dates(group, j, every)
        assert cum in dates and ex in dates and times.size - 1 not in dates
    regular = np.delete(np.arange(times.size), [cum, ex])
    assert np.array_equal(np.setdiff1d(_exercise_dates(group, j, 2), [cum, ex]),
                          regular[(regular.size - 1) % 2:-1:2])


def test_american_put_exercises_just_after_a_proportional_dividend():
    """A put is worth exercising just after a drop: an american row's grid holds each ex-date
    in both Richardson grids.  Monthly dates, a 4 % proportional dividend mid-way between the
    6th and the 7th, against the market finite-difference American price: 2 V(Δ) − V(2Δ) of
    the finite-difference Bermudans on the grids (the simulation's mean under the solved
    policy) is −2.6e-4 of the price with the ex-date on both, +3.9e-3 with it on neither
    (the Bermudan's gap then depends on where it falls, not on Δ alone): the allowance
    ``EX_DATE_ALLOWANCE`` lies between."""
    from greeks.api import load
    from greeks.market.positions import MARKET_COLUMN
    from greeks.models.gbm.american_market import american_fd_market

    market = flat_market(vol=0.25, dividends=[{"ex_date": "2027-09-15", "yield": 0.04}])
    positions = book(dict(id="P", option_type="put", strike=110.0, fixings=12))
    results = greeks.price_portfolio(positions, market=market, paths=400_000, seed=seed(76))
    row = load(positions, market).to_dict("records")[0]
    reference = american_fd_market(row[MARKET_COLUMN].dynamics, 110.0, row["maturity"], False,
                                   None, vega=False).price
    price, se = results["price"].iat[0], results["price_se"].iat[0]
    assert abs(price - reference) <= EX_DATE_ALLOWANCE * reference + k_for(1) * se, (
        price, se, reference, (price - reference) / reference)


def test_the_american_example_book_agrees_with_its_finite_difference_references():
    """instruments/american_book.csv off instruments/market.json: every row with a reference
    (``greeks analytic``: the market finite-difference pricer; none for the Heston row) within
    the allowance of tests/models/gbm/test_american.py plus k·se, for price, delta and vega."""
    from greeks.reference import analytic_prices

    book = ROOT / "instruments" / "american_book.csv"
    market = ROOT / "instruments" / "market.json"
    exact = analytic_prices(book, market=market).set_index("id")
    exact = exact[exact["note"].isna()]
    results = greeks.price_portfolio(book, market=market, paths=8192,
                                     seed=seed(71)).set_index("id").loc[exact.index]
    assert len(exact) >= 6
    check(results.reset_index(), exact.to_dict("records"), names=("price", "delta", "vega"))
