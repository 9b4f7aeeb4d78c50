"""Theta of Heston rows priced off a market (greeks.models.heston.buckets): the one-day
change of the Fourier price on the integrated rates (written here on the market dict: the
valuation date moved a day, every node kept), the year-fraction row's theta on a flat
market, and the standard errors against their spread over seeds."""

import copy
import datetime as dt
import math

import numpy as np
import pandas as pd
from helpers import (
    assert_se_matches_spread,
    assert_within,
    combined_se,
    integral,
    k_for,
    seed,
    seeds,
    years,
)

from greeks.api import load, price_portfolio
from greeks.engine.buckets import bucket_estimates
from greeks.market import load_market
from greeks.models.heston.analytic import heston_digital, heston_greeks

HESTON = {"v0": 0.04, "kappa": 1.5, "theta": 0.05, "xi": 0.5, "rho": -0.6}
SPEC = {"valuation_date": "2027-03-01",
        "curves": {"USD": {"dates": ["2027-06-01", "2027-12-01", "2028-09-01"],
                           "zero_rates": [0.03, 0.045, 0.05]}},
        "underlyings": {"NDX": {
            "spot": 100.0, "curve": "USD", "heston": HESTON,
            "dividend_yield": {"dates": ["2027-09-01", "2028-03-01"], "yields": [0.01, 0.025]}}}}


def fourier(spec, kind, omega, strike, expiry):
    """The Fourier price of a european or a cash digital paying 1 on the flat rate and
    yield with the curves' DF(T) and G(T) (exact: the payoff at T sees the rates only
    through them)."""
    valuation, und = spec["valuation_date"], spec["underlyings"]["NDX"]
    t = years(expiry, valuation)
    rate = integral(spec["curves"]["USD"], "zero_rates", t, valuation) / t
    dividend = integral(und["dividend_yield"], "yields", t, valuation) / t
    price = heston_digital if kind == "digital" else heston_greeks
    return price("call" if omega > 0 else "put", und["spot"], strike, t, rate,
                 *und["heston"].values(), dividend).price


def a_day_later(spec):
    spec = copy.deepcopy(spec)
    spec["valuation_date"] = (dt.date.fromisoformat(spec["valuation_date"])
                              + dt.timedelta(days=1)).isoformat()
    return spec


def book(rows, **columns):
    return pd.DataFrame([{"id": name, "instrument": kind, "option_type":
                          "call" if omega > 0 else "put", "strike": strike, "expiry": expiry,
                          "underlying": "NDX", **columns} for name, kind, omega, strike, expiry
                         in rows])


ROWS = [("call", "european", 1.0, 105.0, "2027-11-15"),
        ("put", "european", -1.0, 95.0, "2028-02-01"),
        ("digital", "digital", 1.0, 110.0, "2027-05-20")]


def test_theta_is_the_one_day_change_of_the_fourier_price():
    """European and digital rows on a rate curve and a yield curve, and an up-and-out call
    monitored on 26 dates whose barrier is out of reach (the european call): theta per day
    against the Fourier price a day later minus today's, every node kept; the totals
    include them."""
    barrier = book([("knock-out", "barrier", 1.0, 105.0, "2027-11-15")], barrier=1e4,
                   barrier_type="up-and-out", fixings=26)
    positions = pd.concat([book(ROWS), barrier], ignore_index=True)
    result = price_portfolio(positions, market=SPEC, paths=40_000, seed=seed(70), threads=1,
                             greeks="theta")
    rows = ROWS + [("knock-out", "european", 1.0, 105.0, "2027-11-15")]
    k = k_for(len(rows))
    for j, (name, kind, omega, strike, expiry) in enumerate(rows):
        change = (fourier(a_day_later(SPEC), kind, omega, strike, expiry)
                  - fourier(SPEC, kind, omega, strike, expiry))
        assert_within(result["theta_per_day"][j], change, result["theta_per_day_se"][j], k,
                      label=f"{name} theta")
        assert result["theta_per_day_se"][j] < 0.2 * abs(change)  # a wrong sign would show
    assert np.allclose(result["theta_per_year"], 365.0 * result["theta_per_day"], rtol=1e-12)
    total = result.attrs["total"]
    assert math.isclose(total["theta_per_day"], result["theta_per_day"].sum(), rel_tol=1e-9)
    assert 0 < total["theta_per_day_se"] < result["theta_per_day_se"].sum()


def test_a_flat_market_gives_the_theta_of_the_year_fraction_row():
    """On a flat curve and yield the dated row is the year-fraction row: its one-day change
    (per year) against the flat row's central difference over a day (independent runs:
    their combined SE; the two differ by the curvature over a day, ~1e-3 of theta)."""
    spec = copy.deepcopy(SPEC)
    spec["curves"]["USD"] = 0.04
    spec["underlyings"]["NDX"]["dividend_yield"] = 0.01
    expiry = "2027-11-15"
    dated = price_portfolio(book([("dated", "european", 1.0, 100.0, expiry)]), market=spec,
                            paths=40_000, seed=seed(71), threads=1, greeks="theta")
    flat = price_portfolio(pd.DataFrame([{
        "id": "flat", "instrument": "european", "option_type": "call", "strike": 100.0,
        "maturity": years(expiry, SPEC["valuation_date"]), "spot": 100.0, "rate": 0.04,
        "dividend": 0.01, "model": "heston", **HESTON}]), paths=40_000, seed=seed(72),
        threads=1, greeks="theta")
    assert_within(dated["theta_per_year"][0], flat["theta_per_year"][0],
                  combined_se(dated["theta_per_year_se"][0], flat["theta_per_year_se"][0]),
                  label="flat market theta")
    assert dated["theta_per_year_se"][0] < flat["theta_per_year_se"][0]


def test_theta_of_a_bermudan_call_whose_expiry_is_days_after_a_rate_node():
    """A bermudan call on a stock paying nothing is never exercised early: its theta is the
    european's one-day change.  The zero rate jumps from 1 % to 8 % at a node ten days before
    the expiry, so the curves' reshaping a day later must be read at each date's horizon
    from tomorrow, t − 1 day (read at t, z was +4.2 at 200,000 paths)."""
    spec = {"valuation_date": "2027-03-01",
            "curves": {"USD": {"dates": ["2027-06-01", "2027-11-05", "2028-06-01"],
                               "zero_rates": [0.01, 0.08, 0.02]}},
            "underlyings": {"NDX": {"spot": 100.0, "curve": "USD", "heston": HESTON,
                                    "dividend_yield": 0.0}}}
    expiry = "2027-11-15"
    row = book([("bermudan", "bermudan", 1.0, 100.0, expiry)],
               fixing_dates=f"2027-06-15;2027-09-15;{expiry}")
    result = price_portfolio(row, market=spec, paths=200_000, seed=seed(79), greeks="theta")
    assert result["exercise_probability"][0] == 0.0
    change = (fourier(a_day_later(spec), "european", 1.0, 100.0, expiry)
              - fourier(spec, "european", 1.0, 100.0, expiry))
    assert_within(result["theta_per_day"][0], change, result["theta_per_day_se"][0],
                  label="bermudan theta")


def test_theta_standard_errors_match_their_spread_over_seeds():
    """Theta of a european, a digital, an asian and a knock-out monitored on 26 dates:
    the reported SEs against the spread of 12 independent runs."""
    positions = pd.concat([
        book(ROWS[:1] + ROWS[2:]),
        book([("asian", "asian", 1.0, 100.0, "2027-11-15")], fixings=6),
        book([("knock-out", "barrier", 1.0, 100.0, "2027-11-15")], barrier=125.0,
             barrier_type="up-and-out", fixings=26)], ignore_index=True)
    market = load_market(SPEC)
    frame = load(positions, market)
    runs = []
    for s in seeds(12, start=73):
        found, totals = bucket_estimates(frame, market, 4_096, s, threads=1)
        thetas = sorted((frame["id"].iat[p], mean, se) for p, label, kind, mean, se in found
                        if kind == "theta")
        total = [v for (slot, _, kind), v in totals.items() if slot == -2 and kind == "theta"]
        runs.append([(m, e) for _, m, e in thetas] + total)
    assert all(len(run) == 5 for run in runs)
    assert_se_matches_spread([[m for m, _ in run] for run in runs],
                             [[e for _, e in run] for run in runs], label="theta")


def test_closer_times_move_every_date_from_the_first_kept_one_by_the_shift():
    """The grid a day later (greeks.models.heston.closer): t − h where the first step is
    longer than h; otherwise, or before ``until``, the earlier points squeezed; every point
    from the first kept one on moved by exactly h, the number of steps kept."""
    from greeks.models.heston.closer import closer_times

    day = 1.0 / 365.0
    grid = np.array([0.5, 1.0, 2.0, 3.0, 30.0, 60.0]) * day
    assert closer_times(grid, 0.2 * day).tolist() == (grid - 0.2 * day).tolist()
    for until, first in ((0.0, 2), (30.0 * day, 4)):
        moved = closer_times(grid, day, until)
        assert moved.size == grid.size and (np.diff(moved) > 0).all() and moved[0] > 0
        assert moved[first:].tolist() == (grid[first:] - day).tolist()
        assert np.allclose(moved[:first] / grid[:first], moved[first] / grid[first])
    assert closer_times(grid, 61.0 * day) is None


def test_a_row_within_a_day_has_no_theta_and_its_subtotal_none_either():
    """A digital expiring a day after the valuation date has no value a day later: its
    theta is NaN, and so are its subtotal and the total; the call beside it on the same
    paths (whose grid a day later squeezes the steps within that day) keeps its theta (the
    Fourier price's one-day change), and its own subtotal is its theta times its
    quantity."""
    from greeks.report import risk_report

    positions = book([("call", "european", 1.0, 100.0, "2027-11-15"),
                      ("short", "digital", 1.0, 100.0, "2027-03-02")]).assign(
        quantity=[3.0, 1.0], desk=["a", "b"])
    result = price_portfolio(positions, market=SPEC, paths=8_000, seed=seed(90), threads=1,
                             greeks="theta")
    assert np.isnan(result["theta_per_day"][1])
    change = (fourier(a_day_later(SPEC), "european", 1.0, 100.0, "2027-11-15")
              - fourier(SPEC, "european", 1.0, 100.0, "2027-11-15"))
    assert_within(result["theta_per_day"][0], change, result["theta_per_day_se"][0],
                  label="call theta beside a row within a day")
    assert math.isnan(result.attrs["total"]["theta_per_day"])
    report = risk_report(positions, market=SPEC, by="desk", paths=8_000, seed=seed(90),
                         greeks="theta", threads=1).set_index("desk")
    assert math.isclose(report.loc["a", "theta_per_day"], 3.0 * result["theta_per_day"][0],
                        rel_tol=1e-9)
    assert report.loc[["b", "TOTAL"], "theta_per_day"].isna().all()


def test_rho_and_theta_come_from_the_run_s_own_grid():
    """Rho and theta of Heston rows off a market come from their buckets on the main run's
    paths: a run on 26 steps a year gives other numbers than one on the automatic grid (the
    buckets follow the run's grid), and the risk report's rho the priced one."""
    from greeks.report import risk_report

    positions = book(ROWS[:2])
    run = dict(market=SPEC, paths=4_000, seed=seed(72), threads=1, greeks="rho,theta")
    coarse = price_portfolio(positions, steps_per_year=26, **run)
    default = price_portfolio(positions, **run)
    for name in ("rho_rate", "theta_per_day"):
        assert not np.array_equal(coarse[name], default[name]), name
    report = risk_report(positions, by=["underlying"], steps_per_year=26, **run)
    rows = report.attrs["positions"].set_index("id")
    q = coarse.set_index("id")["quantity"]
    assert np.allclose(rows["rho_per_bp"], q * coarse.set_index("id")["rho_rate"] / 1e4,
                       rtol=1e-12, atol=0.0)
