"""Theta and rho of american and bermudan GBM rows (greeks.exercise, greeks.payoffs
``exercise_values_solved``) against the finite-difference pricer: theta as the difference of
its prices a little before and after (the maturity moved for an american row, every date
moved for a bermudan one: dates fixed in calendar time), rho as its central difference in r.

Tolerance: |estimate − reference| ≤ allowance + k·se; the allowance covers the reference's
own differences (below 10⁻⁴ here) and, for an american row, the daily exercise grid of the
delta and gamma that theta's identity uses (docs/american.md: within its SE at 200,000
paths): 1 % of the Greek + 0.002.
"""

import math

import numpy as np
import pytest
from helpers import assert_se_matches_spread, k_for, make_frame, seed, seeds

import greeks
from greeks.models.gbm.american import american_fd
from greeks.models.gbm.analytic import black_scholes, black_scholes_rho

PUT = dict(instrument="american", option_type="put", strike=40.0, rate=0.06, vol=0.2,
           dividend=0.0, model="gbm")
ROWS = [dict(PUT, id="LS36", spot=36.0, maturity=1.0),
        dict(PUT, id="B40", instrument="bermudan", spot=40.0, maturity=1.0, fixings=12),
        dict(id="BC", instrument="bermudan", option_type="call", strike=100.0, spot=105.0,
             maturity=0.5, rate=0.05, dividend=0.08, vol=0.2, fixings=6),
        dict(id="C", instrument="american", option_type="call", strike=100.0, spot=100.0,
             maturity=0.5, rate=0.02, dividend=0.05, vol=0.3)]
ALLOWANCE = (0.01, 0.002)


def dates_of(row):
    """The exercise dates of a bermudan row (k T/n), None for an american one."""
    if row["instrument"] == "american":
        return None
    return np.arange(1, row["fixings"] + 1) * row["maturity"] / row["fixings"]


def reference(row, step=1e-3):
    """(theta per year, rho) by the finite-difference pricer: theta the central difference
    of the value as the valuation time moves by ±``step`` (an american row's maturity
    nearer; a bermudan row's dates all nearer, fixed in calendar time), rho the central
    difference in r."""
    args = (row["spot"], row["strike"])
    rest = (row["dividend"], row["vol"], row["option_type"] == "call")
    maturity, rate, dates = row["maturity"], row["rate"], dates_of(row)

    def price(shift=0.0, moved=0.0):
        times = None if dates is None else dates - shift
        return american_fd(*args, maturity - shift, rate + moved, *rest, times,
                           vega=False).price

    theta = (price(step) - price(-step)) / (2.0 * step)
    rho = (price(moved=step) - price(moved=-step)) / (2.0 * step)
    return theta, rho


def test_theta_and_rho_against_the_finite_difference_reference():
    frame = make_frame(ROWS)
    results = greeks.price_portfolio(frame, paths=40_000, seed=seed(60), greeks="theta,rho")
    k = k_for(2 * len(ROWS))
    for (_, result), row in zip(results.iterrows(), ROWS):
        theta, rho = reference(row)
        for name, value in (("theta_per_year", theta), ("rho_rate", rho)):
            allowed = ALLOWANCE[0] * abs(value) + ALLOWANCE[1]
            assert abs(result[name] - value) <= allowed + k * result[f"{name}_se"], (
                row["id"], name, result[name], value, result[f"{name}_se"])
        assert result["theta_per_day"] == pytest.approx(result["theta_per_year"] / 365.0,
                                                        rel=1e-14)


def test_immediate_exercise_has_no_theta_or_rho():
    """A deep in-the-money american put exercised at once is worth K − S0 whatever the
    time and the rate."""
    frame = make_frame([dict(PUT, id="deep", spot=20.0, maturity=1.0, fixings=20)])
    row = greeks.price_portfolio(frame, paths=4_000, seed=seed(61),
                                 greeks="theta,rho").iloc[0]
    assert row["price"] == 20.0
    assert row["theta_per_year"] == 0.0 and row["rho_rate"] == 0.0


def test_beyond_the_first_boundary_on_a_daily_grid_is_exercised_at_once():
    """Deep in the money on the default daily grid the extrapolated value 2 V(Δ) − V(2Δ)
    equals K − S0 up to O(Δ²), so only the solved boundary tells that the row is exercised
    at once (the Black–Scholes equation's theta, r K here, holds only where it is not)."""
    frame = make_frame([dict(id="deep", instrument="american", option_type="put", strike=100.0,
                             maturity=1.0, spot=50.0, rate=0.05, dividend=0.0, model="gbm",
                             vol=0.2)])
    row = greeks.price_portfolio(frame, paths=4_000, seed=seed(63),
                                 greeks="gamma,theta,rho").iloc[0]
    assert row["price"] == 50.0 and row["delta"] == -1.0 and row["exercise_probability"] == 1.0
    assert row["vega"] == row["gamma"] == row["theta_per_year"] == row["rho_rate"] == 0.0


def test_standard_errors_match_the_spread_over_seeds():
    frame = make_frame([dict(PUT, id="B", instrument="bermudan", spot=38.0, maturity=0.5,
                             fixings=8)])
    names = ["theta_per_year", "rho_rate"]
    runs = [greeks.price_portfolio(frame, paths=2_000, seed=s, greeks="theta,rho")
            for s in seeds(12, start=62)]
    estimates = np.array([[run[name].iat[0] for name in names] for run in runs])
    ses = np.array([[run[f"{name}_se"].iat[0] for name in names] for run in runs])
    assert_se_matches_spread(estimates, ses, label=names)


def test_totals_hold_the_early_exercise_rows():
    """The total of theta and rho is Σ quantity × Greek over the european and the american
    rows (each its own simulation), with variances adding (a Heston american row, which has
    no rho, leaves that NaN: tests/models/gbm/test_american.py)."""
    european = dict(PUT, id="E", instrument="european", spot=40.0, maturity=1.0, quantity=3.0)
    american = dict(PUT, id="A", spot=40.0, maturity=1.0, fixings=12, quantity=-2.0)
    results = greeks.price_portfolio(make_frame([european, american]), paths=4_000,
                                     seed=seed(63), greeks="theta,rho")
    quantity = results["quantity"].to_numpy()
    for name in ("theta_per_year", "theta_per_day", "rho_rate"):
        assert results.attrs["total"][name] == pytest.approx(
            (quantity * results[name]).sum(), rel=1e-12)
        assert results.attrs["total"][f"{name}_se"] == pytest.approx(
            math.sqrt(((quantity * results[f"{name}_se"]) ** 2).sum()), rel=1e-12)


def test_other_numbers_do_not_move():
    """Asking for theta and rho leaves price, delta, vega and gamma as they were."""
    frame = make_frame([dict(PUT, id="A", spot=38.0, maturity=0.5, fixings=20)])
    columns = ["price", "price_se", "delta", "delta_se", "vega", "vega_se", "gamma",
               "gamma_se"]
    with_carry = greeks.price_portfolio(frame, paths=4_000, seed=seed(65),
                                        greeks="gamma,theta,rho")
    without = greeks.price_portfolio(frame, paths=4_000, seed=seed(65), greeks="gamma")
    assert with_carry[columns].iloc[0].tolist() == without[columns].iloc[0].tolist()


@pytest.mark.slow
def test_theta_and_rho_unbiased_with_calibrated_errors():
    """Over 12 seeds at 20,000 paths the z-scores (estimate − reference)/se of theta and rho
    on three rows of ``ROWS`` have mean 0 (each row's mean z over the seeds has sd
    1/sqrt(12): |mean| ≤ k_for(6)/sqrt(12)) and the pooled z² of each Greek (36 of them,
    χ²₃₆/36 if the SEs are right) lies in [0.35, 2.1], its 1e-4 tails.  No allowance: the
    identity's O(h²) steps move theta by at most 0.016 here and the reference's differences
    by less than 10⁻⁴ (docs/american.md), far below the SEs at these paths."""
    rows = ROWS[:1] + ROWS[2:]
    frame = make_frame(rows)
    references = [reference(row) for row in rows]
    names = ("theta_per_year", "rho_rate")
    z = np.array([[[(out[name] - ref[k]) / out[f"{name}_se"] for k, name in enumerate(names)]
                   for (_, out), ref in zip(
                       greeks.price_portfolio(frame, paths=20_000, seed=s,
                                              greeks="theta,rho").iterrows(), references)]
                  for s in seeds(12, start=400)])
    assert np.all(np.abs(z.mean(axis=0)) <= k_for(6) / math.sqrt(12)), z.mean(axis=0)
    pooled = (z * z).mean(axis=(0, 1))
    assert np.all((pooled >= 0.35) & (pooled <= 2.1)), pooled


def test_a_call_never_exercised_is_the_european_with_tight_error_bars():
    """An american call on a stock paying nothing is never exercised: every path's value is
    its European control's, so each Greek is the closed form's (its central differences,
    Richardson-extrapolated, within 1e-4 relative of the analytic Greeks; theta by the
    Black–Scholes equation on them), and its SE only the unseen-event floor on the
    maturity's scale (greeks.engine.reduce._unseen_floor), not the first day's."""
    row = dict(id="C", instrument="american", option_type="call", strike=100.0, spot=100.0,
               maturity=1.0, rate=0.05, dividend=0.0, vol=0.2)
    out = greeks.price_portfolio(make_frame([row]), paths=20_000, seed=seed(66),
                                 greeks="gamma,theta,rho").iloc[0]
    exact = black_scholes("call", 100.0, 100.0, 1.0, 0.05, 0.2)
    d1 = (math.log(1.0) + (0.05 + 0.02) * 1.0) / 0.2
    gamma = math.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi) / (100.0 * 0.2)
    theta = 0.05 * exact.price - 0.05 * 100.0 * exact.delta - 0.5 * 0.04 * 1e4 * gamma
    rho = black_scholes_rho("call", 100.0, 100.0, 1.0, 0.05, 0.2)
    assert out["exercise_probability"] == 0.0
    for name, value in (("price", exact.price), ("delta", exact.delta), ("vega", exact.vega),
                        ("gamma", gamma), ("theta_per_year", theta), ("rho_rate", rho)):
        assert out[name] == pytest.approx(value, rel=1e-4), name
        assert out[f"{name}_se"] <= 1e-2 * abs(value), (name, out[f"{name}_se"])
