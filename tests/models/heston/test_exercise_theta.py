"""Theta and rho of Heston american and bermudan rows (greeks.models.heston.exercise_carry)
against the ADI solution (greeks.models.heston.american): theta the central difference of its
prices as the valuation time moves by ±1e-3 (an american row's maturity nearer, a bermudan
row's dates all nearer: fixed in calendar time), rho their central difference in r at ±1e-3.
Off a flat market the same row's theta and rho within the two runs' SEs.

Tolerance: |estimate − reference| ≤ allowance + k·se.  Theta's allowance (0.5 % of theta +
0.002) covers the ADI differences (below 5e-4 between steps 1e-3 and 5e-3 here) and the
estimator's backward difference (0.04 % on the ADI solution itself); rho's (0.5 % of rho +
0.001) the ADI solution's grid error (3e-4 between its 200 × 100 and 400 × 200 grids) and
what the fixed policy's rho keeps of its distance from the chain's optimal policy, first
order (−0.25 % on the Clarke–Parrott put at S0 = 9 over nine seeds: the boundary's grid
error and the chain's daily steps; the exercise_carry module).
"""

import copy
import math

import numpy as np
import pandas as pd
import pytest
from helpers import assert_se_matches_spread, k_for, make_frame, seed, seeds

import greeks
from greeks.models.heston.american import heston_american
from tests.market.test_heston_theta import SPEC, a_day_later, book, fourier

LAW = dict(model="heston", v0=0.0625, kappa=5.0, theta=0.16, xi=0.9, rho=0.1)
PUT = dict(LAW, instrument="american", option_type="put", strike=10.0, maturity=0.25,
           rate=0.1, dividend=0.0)
ROWS = [dict(PUT, id="A10", spot=10.0), dict(PUT, id="A11", spot=11.0),
        dict(PUT, id="B9", instrument="bermudan", spot=9.0, fixings=6),
        dict(PUT, id="BC", instrument="bermudan", option_type="call", spot=10.0, fixings=4,
             dividend=0.12)]
ALLOWANCE = (0.005, 0.002)
RHO_ALLOWANCE = (0.005, 0.001)


def _dates(row, shift=0.0):
    """A bermudan row's exercise dates (years) moved by −``shift``; None for an american."""
    if row["instrument"] == "american":
        return None
    return np.arange(1, row["fixings"] + 1) * row["maturity"] / row["fixings"] - shift


def _adi_price(row, shift=0.0, rate_shift=0.0):
    """The ADI solution's price with the valuation time moved by ``shift`` and r by
    ``rate_shift``."""
    return heston_american(row["option_type"], row["spot"], row["strike"],
                           row["maturity"] - shift, row["rate"] + rate_shift, row["dividend"],
                           row["v0"], row["kappa"], row["theta"], row["xi"], row["rho"],
                           exercise_times=_dates(row, shift)).price


def reference_theta(row, step=1e-3):
    """−∂V/∂T of the ADI solution as the valuation time moves by ±``step``."""
    return (_adi_price(row, step) - _adi_price(row, -step)) / (2.0 * step)


def reference_rho(row, step=1e-3):
    """∂V/∂r of the ADI solution, by its central difference at r ± ``step``."""
    return (_adi_price(row, rate_shift=step) - _adi_price(row, rate_shift=-step)) / (2.0 * step)


def _check(result, name, value, allowance, k):
    allowed = allowance[0] * abs(value) + allowance[1]
    assert abs(result[name] - value) <= allowed + k * result[f"{name}_se"], (
        result["id"], name, result[name], value, result[f"{name}_se"])


def test_theta_and_rho_against_the_adi_solution():
    frame = make_frame(ROWS)
    results = greeks.price_portfolio(frame, paths=20_000, seed=seed(80), greeks="theta,rho")
    k = k_for(2 * len(ROWS))
    for (_, result), row in zip(results.iterrows(), ROWS):
        _check(result, "theta_per_year", reference_theta(row), ALLOWANCE, k)
        _check(result, "rho_rate", reference_rho(row), RHO_ALLOWANCE, k)
    total = results.attrs["total"]
    quantity = results["quantity"].to_numpy()
    for name in ("theta_per_year", "rho_rate"):
        assert total[name] == pytest.approx((quantity * results[name]).sum(), rel=1e-12)


def test_rho_where_the_former_rule_failed():
    """The american put at S0 = 9, whose rho the former rule (a quadratic in the variance
    averaged over the step to the date) left 0.03 low (z −9 to −11 at 100,000 paths; about
    −7 SE at the 60,000 here), and the weekly bermudan put (0.02 low)."""
    rows = [dict(PUT, id="A9", spot=9.0),
            dict(PUT, id="W9", instrument="bermudan", spot=9.0, fixings=13)]
    results = greeks.price_portfolio(make_frame(rows), paths=60_000, seed=seed(95),
                                     greeks="rho")
    for (_, result), row in zip(results.iterrows(), rows):
        _check(result, "rho_rate", reference_rho(row), RHO_ALLOWANCE, k_for(len(rows)))


def test_rho_where_the_chain_stays_at_zero_variance():
    """Feller's condition failing (ξ²/(2κθ) = 2: QE's exponential regime at v = 0 leaves
    the variance at 0 over whole steps, whose log-price step has no score), and under the
    Euler scheme: rho pathwise with the stopping time held fixed, against the ADI solution's
    central difference in r, within k·SE plus the rho allowance, an american and a monthly
    bermudan put (the likelihood ratio's SE was 1.5 here, NaN off a market)."""
    law = dict(model="heston", v0=0.0264, kappa=2.082, theta=0.0505, xi=0.649, rho=-0.583)
    put = dict(law, instrument="american", option_type="put", strike=100.0, maturity=0.5,
               spot=100.0, rate=0.05, dividend=0.0, quantity=1.0)
    rows = [dict(put, id="A"), dict(put, id="B", instrument="bermudan", fixings=6)]
    k = k_for(2 * len(rows))
    for scheme in ("qe", "euler"):
        results = greeks.price_portfolio(make_frame(rows), paths=40_000, seed=seed(96),
                                         greeks="rho", scheme=scheme)
        for (_, result), row in zip(results.iterrows(), rows):
            assert result["rho_rate_se"] < 0.1, (scheme, result["rho_rate_se"])
            _check(result, "rho_rate", reference_rho(row), RHO_ALLOWANCE, k)


def test_off_a_flat_market_is_the_flat_row():
    """The zero-carry chain times the market's growth, the curves rolled with the valuation
    date (theta) or shifted in parallel (rho): on a flat curve the flat row's theta and rho,
    within both runs' SEs."""
    market = {"valuation_date": "2027-03-01",
              "curves": {"USD": {"dates": ["2027-05-31"], "zero_rates": [0.1]}},
              "underlyings": {"X": {"spot": 10.0, "curve": "USD", "heston": {
                  key: LAW[key] for key in ("v0", "kappa", "theta", "xi", "rho")}}}}
    positions = pd.DataFrame([dict(id="H", instrument="american", option_type="put",
                                   strike=10.0, maturity=0.25, underlying="X", quantity=1.0)])
    dated = greeks.price_portfolio(positions, market=market, paths=20_000, seed=seed(81),
                                   greeks="theta,rho").iloc[0]
    flat = greeks.price_portfolio(make_frame([ROWS[0]]), paths=20_000, seed=seed(82),
                                  greeks="theta,rho").iloc[0]
    for name in ("theta_per_year", "rho_rate"):
        gap = dated[name] - flat[name]
        assert abs(gap) <= k_for(2) * math.hypot(dated[f"{name}_se"], flat[f"{name}_se"]), (
            name, gap)


@pytest.mark.slow
def test_standard_errors_match_the_spread_over_seeds():
    frame = make_frame([ROWS[0], ROWS[2], ROWS[3]])
    runs = [greeks.price_portfolio(frame, paths=4_000, seed=s, greeks="theta,rho")
            for s in seeds(12, start=83)]
    names = ["theta_per_year", "rho_rate"]
    assert_se_matches_spread([run[names].to_numpy() for run in runs],
                             [run[[f"{n}_se" for n in names]].to_numpy() for run in runs],
                             label="rows × (theta, rho) ")


def test_off_curves_a_call_never_exercised_has_the_european_one_day_theta():
    """An american call without dividends (never exercised early) on a rate curve: its theta
    is the European option's, the one-day change of the Fourier price on the curves seen a
    day later (tests/market/test_heston_theta.py), which checks the rolled and reshaped
    family of the estimator and of its control's mean (the first-order family against the
    one-day change: O(δ²), 2e-4 of it here)."""
    spec = copy.deepcopy(SPEC)
    spec["underlyings"]["NDX"]["dividend_yield"] = {"dates": ["2027-09-01"], "yields": [0.0]}
    positions = book([("A", "american", 1.0, 105.0, "2027-11-15")], quantity=1.0)
    row = greeks.price_portfolio(positions, market=spec, paths=4_000, seed=seed(84),
                                 greeks="theta").iloc[0]
    assert row["exercise_probability"] == 0.0
    later = fourier(a_day_later(spec), "european", 1.0, 105.0, "2027-11-15")
    today = fourier(spec, "european", 1.0, 105.0, "2027-11-15")
    change = later - today
    # every path's value is its European control's: the estimate is the control's exact mean
    assert abs(row["theta_per_day"] - change) <= 1e-3 * abs(change), (row["theta_per_day"],
                                                                      change)
