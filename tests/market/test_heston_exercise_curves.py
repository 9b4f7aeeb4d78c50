"""The Heston exercise policy off a market, solved on the curves themselves: american rows on
a steep yield curve, with and without a cash dividend, and the rho estimator's definition.

A fixed policy's rho is first order in the policy's distance from the optimal one
(greeks.models.heston.exercise_carry), so a policy solved at the flat rate and yield to
expiry, as before, left these rows' rho +1.8 % (the put across the dividend) and +9.7 % (the
call without it) off at 200,000 paths (docs/american.md, Heston off a market).

Reference independent of the engine: the market ADI solution
(greeks.models.heston.american_market, checked against QuantLib in
tests/models/heston/test_american_market.py), rho its central difference for a parallel
shift of the zero rates by ± 0.001 (QuantLib's own rho of these calls moves by up to 3 %
between its affordable grids: benchmarks/results/heston_call_itself.md).  The rho estimator
itself (the likelihood ratio of a parallel shift, the growth e^{εt} and the discount e^{−εt})
is checked on a European option across the cash dividend (a bermudan row with one date),
which has no control variate there: no policy, the estimator alone against the same
definition of rho.  Tolerance: k·se plus the allowances of tests/market/test_heston_cash.py
(rho 0.5 % + 0.001).
"""

import dataclasses
import datetime as dt
import functools

import pandas as pd
import pytest
from helpers import assert_within_allowance, k_for, seed

from greeks.api import load, price_portfolio
from greeks.market.curves import Curve
from greeks.market.positions import MARKET_COLUMN
from greeks.models.heston.american_market import heston_american_market

VALUATION = dt.date(2027, 3, 1)
LAW = {"v0": 0.09, "kappa": 0.4, "theta": 0.09, "xi": 1.0, "rho": 0.5}
RATES = [(90, 0.046), (180, 0.045), (365, 0.043)]
YIELDS = [(90, 0.03), (365, 0.05)]  # a forward yield of about 6 % after 90 days
DAYS, CASH_DAY, CASH = 200, 70, 1.5
ALLOWANCE = {"price": (0.003, 0.002), "delta": (0.01, 0.002), "vega": (0.02, 0.02),
             "rho_rate": (0.005, 0.001)}
ROWS = [("AC", "american", "call", "EQ"), ("AP", "american", "put", "EQD"),
        ("EP", "bermudan", "put", "EQD")]


def _date(days: int) -> str:
    return (VALUATION + dt.timedelta(days=days)).isoformat()


def market() -> dict:
    underlying = {"spot": 100.0, "curve": "USD", "heston": LAW,
                  "dividend_yield": {"dates": [_date(d) for d, _ in YIELDS],
                                     "yields": [y for _, y in YIELDS]}}
    return {"valuation_date": VALUATION.isoformat(),
            "curves": {"USD": {"dates": [_date(d) for d, _ in RATES],
                               "zero_rates": [z for _, z in RATES]}},
            "underlyings": {"EQ": underlying,
                            "EQD": {**underlying,
                                    "dividends": [{"ex_date": _date(CASH_DAY),
                                                   "amount": CASH}]}}}


def book() -> pd.DataFrame:
    return pd.DataFrame([{"id": name, "instrument": kind, "option_type": option,
                          "strike": 100.0, "expiry": _date(DAYS), "underlying": underlying,
                          "quantity": 1.0,
                          **({"fixing_dates": _date(DAYS)} if kind == "bermudan" else {})}
                         for name, kind, option, underlying in ROWS])


@functools.lru_cache(maxsize=1)
def _estimates() -> pd.DataFrame:
    return price_portfolio(book(), market=market(), paths=50_000, seed=seed(61),
                           greeks="rho").set_index("id")


def _shifted(dynamics, shift: float):
    rate = dynamics.rate
    return dataclasses.replace(dynamics, rate=Curve(rate.times,
                                                    tuple(z + shift for z in rate.rates)))


def _adi(row) -> dict:
    """The market ADI solution's price, delta, vega and rho (zero rates ± 0.001): american,
    or a bermudan row's on its one date (the European option)."""
    dynamics = row[MARKET_COLUMN].dynamics
    law = [float(row[name]) for name in LAW]
    dates = None if row["instrument"] == "american" else [row["maturity"]]

    def solve(moved=dynamics):
        return heston_american_market(row["option_type"], moved, 100.0, row["maturity"], *law,
                                      dates)
    base = solve()
    rho = (solve(_shifted(dynamics, 1e-3)).price - solve(_shifted(dynamics, -1e-3)).price) / 2e-3
    return {"price": base.price, "delta": base.delta, "vega": base.vega, "rho_rate": rho}


@pytest.mark.parametrize("name", ["AC", "AP", "EP"])
def test_exercise_rows_on_curves_against_their_references(name):
    """The american call without a dividend, the american put and the European put across
    the cash dividend against the market ADI solution: price, delta, vega and rho within k·se
    plus the allowances."""
    frame = load(book(), market()).set_index("id")
    row = frame.loc[name]
    reference = _adi(row)
    estimate = _estimates().loc[name]
    kk = k_for(12)
    assert_within_allowance(estimate, reference, ALLOWANCE, kk)
