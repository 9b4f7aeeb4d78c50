"""Pathwise delta and vega of GBM european and asian rows off a market (``--method
pathwise``, and ``auto``'s candidates), against references written here: the europeans'
closed form on the curves (Black–Scholes on DF(T), the forward S0 G(T) and the total
variance w(T), vega its central difference in the parallel vol shift), the asian's plain
numpy simulation on its own dates with central differences on common random numbers.
The market is that of tests/market/test_survival_dated.py (a 3-node zero curve, a yield, a
3-node vol curve, a proportional dividend)."""

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
from scipy import stats

from greeks.api import price_portfolio
from tests.market.test_survival_dated import (
    CURVE,
    MARKET,
    UNDERLYING,
    VALUATION,
    _log_growth,
    _total_variance,
)

MONTHLY = [d.strftime("%Y-%m-%d") for d in
           pd.date_range("2027-03-29", "2027-12-29", freq="MS") + pd.Timedelta(days=28)]
BOOK = pd.DataFrame([
    {"id": "call", "instrument": "european", "option_type": "call", "strike": 105.0,
     "expiry": "2027-11-15", "underlying": "X"},
    {"id": "put", "instrument": "european", "option_type": "put", "strike": 95.0,
     "expiry": "2028-05-29", "underlying": "X"},  # past the last vol node
    {"id": "asian", "instrument": "asian", "option_type": "call", "strike": 100.0,
     "expiry": MONTHLY[-1], "underlying": "X", "fixing_dates": ";".join(MONTHLY)},
])
GREEKS = ("price", "delta", "vega")
SPOT = UNDERLYING["spot"]


def _european(row, spot=SPOT, shift=0.0):
    """Black–Scholes on the curves: DF(T) ω (F N(ω d1) − K N(ω d2)), F = S0 G(T)."""
    t = years(row["expiry"], VALUATION)
    w = _total_variance(t, shift)
    forward = spot * math.exp(_log_growth(t))
    omega = 1.0 if row["option_type"] == "call" else -1.0
    d1 = (math.log(forward / row["strike"]) + 0.5 * w) / math.sqrt(w)
    d2 = d1 - math.sqrt(w)
    discount = math.exp(-integral(CURVE, "zero_rates", t, VALUATION))
    return discount * omega * (forward * stats.norm.cdf(omega * d1)
                               - row["strike"] * stats.norm.cdf(omega * d2))


def european_reference(row, bump=1e-4):
    """(price, delta, vega): the closed form and its central differences (no sampling
    error; the differences' error is O(bump²), far below the estimates' SEs)."""
    delta = (_european(row, SPOT * (1 + bump)) - _european(row, SPOT * (1 - bump))) / (
        2 * bump * SPOT)
    vega = (_european(row, shift=bump) - _european(row, shift=-bump)) / (2 * bump)
    return np.array([_european(row), delta, vega]), np.zeros(3)


def asian_reference(row, n=1_000_000, bump=1e-3):
    """(price, delta, vega) and their SEs: a plain numpy simulation on the asian's dates,
    delta and vega by central differences on the same normals (S0 (1 ± bump), every vol
    node ± bump)."""
    times = np.array([years(d, VALUATION) for d in row["fixing_dates"].split(";")])
    grown = np.array([_log_growth(t) for t in times])
    discount = math.exp(-integral(CURVE, "zero_rates", times[-1], VALUATION))
    z = np.random.default_rng(seed(80)).standard_normal((n, times.size))

    def payoff(spot, shift):
        w = np.array([_total_variance(t, shift) for t in times])
        log_s = np.log(spot) + grown - 0.5 * w + np.cumsum(
            np.sqrt(np.diff(w, prepend=0.0)) * z, axis=1)
        return discount * np.maximum(np.exp(log_s).mean(axis=1) - row["strike"], 0.0)

    samples = [payoff(SPOT, 0.0),
               (payoff(SPOT * (1 + bump), 0.0) - payoff(SPOT * (1 - bump), 0.0))
               / (2 * bump * SPOT),
               (payoff(SPOT, bump) - payoff(SPOT, -bump)) / (2 * bump)]
    return (np.array([x.mean() for x in samples]),
            np.array([x.std() / math.sqrt(n) for x in samples]))


def test_dated_european_and_asian_pathwise_greeks_match_their_references():
    """Under ``--method pathwise`` the three rows go pathwise; price, delta and vega within
    k·SE of the references at each of 10 seeds and for their mean, and the SEs against the
    spread over the seeds."""
    runs = [price_portfolio(BOOK, market=MARKET, paths=20_000, seed=s, threads=1,
                            method="pathwise") for s in seeds(10, 81)]
    assert all(set(run["method"]) == {"pathwise+antithetic"} for run in runs)
    estimates = np.stack([run[list(GREEKS)].to_numpy(dtype=float) for run in runs])
    ses = np.stack([run[[f"{g}_se" for g in GREEKS]].to_numpy(dtype=float) for run in runs])
    k = k_for(estimates.size + estimates[0].size)
    for j, row in BOOK.iterrows():
        expected, error = (asian_reference(row) if row["instrument"] == "asian"
                           else european_reference(row))
        labels = [f"{row['id']} {g}" for g in GREEKS]
        assert_within(estimates[:, j], expected, combined_se(ses[:, j], error), k,
                      label=labels)
        pooled = np.sqrt((ses[:, j] ** 2).mean(axis=0) / len(runs))
        assert_within(estimates[:, j].mean(axis=0), expected, combined_se(pooled, error), k,
                      label=[f"{label} (mean)" for label in labels])
    assert_se_matches_spread(estimates.reshape(len(runs), -1), ses.reshape(len(runs), -1))


def test_auto_weighs_pathwise_for_dated_rows_and_a_flat_market_prices_like_the_flat_row():
    """``auto`` takes the asian's vega pathwise (half the likelihood ratio's SE here); the
    europeans' vega goes to likelihood ratio with controls or pathwise, whichever the
    decision run finds cheaper (close for them: the put takes pathwise at about one seed in
    twelve); a cash dividend before expiry leaves a row by likelihood ratio under
    ``pathwise``.  On a flat market the pathwise dated asian agrees with the flat row's
    pathwise estimates (independent streams)."""
    auto = price_portfolio(BOOK, market=MARKET, paths=20_000, seed=seed(82), threads=1)
    vega = list(auto["method_vega"])
    assert vega[2] == "pathwise+antithetic"
    assert set(vega[:2]) <= {"lr+controls+antithetic", "pathwise+antithetic"}
    paying = {**MARKET, "underlyings": {"X": {**UNDERLYING, "dividends": [
        {"ex_date": "2027-06-15", "amount": 1.0}]}}}
    assert set(price_portfolio(BOOK, market=paying, paths=2_000, seed=seed(82), threads=1,
                               method="pathwise")["method"]) == {"lr+controls+antithetic"}
    spec = {"valuation_date": VALUATION, "curves": {"F": 0.04},
            "underlyings": {"Y": {"spot": 100.0, "curve": "F", "dividend_yield": 0.01,
                                  "vol": 0.25}}}
    dates = [d.strftime("%Y-%m-%d") for d in pd.date_range("2027-03-15", periods=12,
                                                             freq="14D")]
    dated = pd.DataFrame([{"id": "dated", "instrument": "asian", "option_type": "call",
                           "strike": 100.0, "expiry": dates[-1], "underlying": "Y",
                           "fixing_dates": ";".join(dates)}])
    flat = pd.DataFrame([{"id": "flat", "instrument": "asian", "option_type": "call",
                          "strike": 100.0, "maturity": years(dates[-1], VALUATION),
                          "fixings": len(dates), "spot": 100.0, "rate": 0.04,
                          "dividend": 0.01, "vol": 0.25, "model": "gbm"}])
    a = price_portfolio(dated, market=spec, paths=100_000, seed=seed(83), threads=1,
                        method="pathwise")
    b = price_portfolio(flat, paths=100_000, seed=seed(84), threads=1, method="pathwise")
    assert a["method"][0] == b["method"][0] == "pathwise+antithetic"
    for name in GREEKS:
        assert_within(a[name][0], b[name][0], combined_se(a[f"{name}_se"][0],
                                                          b[f"{name}_se"][0]), k_for(3),
                      label=name)
