"""Bucketed Greeks of american and bermudan GBM rows off a market
(greeks.models.gbm.exercise_buckets): each bucket against central differences of the
finite-difference solver's price (greeks.analytic_prices, Crank–Nicolson on the market's
curves and dividends) with the market file's node bumped and the option re-solved; the
buckets' sums against the row's parallel Greeks, on antithetic pairs and on the single
paths ``auto`` may take; determinism.

Allowances (relative, of the reference) for what the estimators differentiate that the
reference does not: the american row is its Bermudan value on a daily grid, extrapolated
(rate, yield, theta) or not (vol, as the parallel vega), against the continuous American
option (the daily Bermudan's vega is within 1 % of it on this put); theta is the
instantaneous derivative against the one-day change (its curvature over a day: a few
tenths of a per cent); the solver's own error is smooth in the bumped node (its
differences: below 0.1 %)."""

import copy
import io
import json

import numpy as np
import pandas as pd
import pytest
from helpers import assert_within_allowance, k_for, seed

import greeks
from greeks import engine
from greeks.engine.buckets import bucket_estimates
from greeks.exercise_moves import cash_step
from greeks.market import load_market
from greeks.report import load_positions
from tests.engine.test_buckets import bumped, later

MARKET = {"valuation_date": "2027-03-01",
          "curves": {"USD": {"dates": ["2027-06-01", "2027-12-01"], "zero_rates": [0.03, 0.05]}},
          "underlyings": {
              "X": {"spot": 100.0, "curve": "USD", "dividend_yield": 0.01,
                    "vol": {"dates": ["2027-05-01", "2027-08-01"], "vols": [0.30, 0.25]}},
              "Y": {"spot": 100.0, "curve": "USD",
                    "vol": {"dates": ["2027-05-01", "2027-08-01"], "vols": [0.28, 0.24]},
                    "dividends": [{"ex_date": "2027-06-15", "amount": 3.0}]}}}
BOOK = pd.DataFrame([
    dict(id="P", instrument="american", option_type="put", strike=100.0, expiry="2027-09-01",
         underlying="X", quantity=1.0, fixing_dates=""),
    dict(id="C", instrument="bermudan", option_type="call", strike=95.0, expiry="2027-09-01",
         underlying="Y", quantity=1.0,
         fixing_dates="2027-04-01;2027-05-01;2027-06-01;2027-06-14;2027-07-01;2027-08-01;"
                      "2027-09-01")])
ALLOWANCE = {"rate": (0.005, 0.0), "yield": (0.005, 0.0), "vol": (0.015, 0.0),
             "dividend": (0.01, 0.0), "theta": (0.02, 0.0)}
BUMP = {"rate": 1e-3, "yield": 1e-3, "vol": 1e-3, "dividend": 1e-2}
PATHS = 16_000


def _price(market, row):
    return float(greeks.analytic_prices(BOOK[BOOK["id"] == row], market=market)["price"].iat[0])


def _references(row: str, underlying: str) -> dict:
    """Each bucket's reference of ``row``: the solver's central difference with the node
    bumped (per 1.00 of it), theta the value a day later (the node dates kept) less today's."""
    nodes = {}
    for j, date in enumerate(MARKET["curves"]["USD"]["dates"]):
        nodes[f"rate:USD:{date}"] = ("rate", ["curves", "USD", "zero_rates", j])
    vol = MARKET["underlyings"][underlying]["vol"]
    for j, date in enumerate(vol["dates"]):
        nodes[f"vol:{underlying}:{date}"] = ("vol", ["underlyings", underlying, "vol", "vols", j])
    if underlying == "X":
        nodes["yield:X:flat"] = ("yield", ["underlyings", "X", "dividend_yield"])
    else:
        nodes["dividend:Y:2027-06-15"] = ("dividend",
                                          ["underlyings", "Y", "dividends", 0, "amount"])
    out = {}
    for label, (kind, path) in nodes.items():
        e = BUMP[kind]
        out[label] = (kind, (_price(bumped(MARKET, path, e), row)
                             - _price(bumped(MARKET, path, -e), row)) / (2.0 * e))
    out[f"theta:{underlying}"] = ("theta", _price(later(MARKET), row) - _price(MARKET, row))
    return out


def _buckets(frame, n=PATHS, s=seed(91)):
    market = load_market(MARKET)
    rows, _ = bucket_estimates(frame, market, n, s)
    return {(str(frame["id"].iat[p]), label): (mean, se) for p, label, _, mean, se in rows}


@pytest.mark.slow  # about 11 s: the solver's 24 re-solves and the buckets' own
def test_exercise_buckets_match_central_differences_of_the_solver_on_the_bumped_market():
    """Every bucket of an american put (two curve nodes, two vol nodes, a flat yield) and of
    a bermudan call across a cash dividend (its dates the day before the ex-date among
    them) within its allowance plus k SE of the solver's differences; they were left out
    before."""
    frame = load_positions(BOOK, load_market(MARKET))
    found = _buckets(frame)
    references = {"P": _references("P", "X"), "C": _references("C", "Y")}
    k = k_for(sum(len(r) for r in references.values()))
    for row, refs in references.items():
        for label, (kind, reference) in refs.items():
            assert (row, label) in found, (row, label)
            mean, se = found[row, label]
            assert_within_allowance({label: mean, f"{label}_se": se}, {label: reference},
                                    {label: ALLOWANCE[kind]}, k)


def test_exercise_buckets_add_up_to_the_parallel_greeks_and_reverse_bit_identically():
    """Rate buckets add up, path by path, to the rho column's likelihood ratio (the same
    estimator: equal up to rounding), theta is the theta column per day, the vol buckets'
    sum is within SEs of the vega column (central differences of the parallel move, O(k⁴)
    apart); the rows reversed give bit-identical buckets."""
    frame = load_positions(BOOK, load_market(MARKET))
    n, s = 4_000, seed(92)
    found = _buckets(frame, n, s)
    columns = engine.simulate(frame, n, s, extra=("theta", "rho"))
    k = k_for(2)
    for j, (row, und) in enumerate((("P", "X"), ("C", "Y"))):
        rho, rho_se = found[row, "rate:USD:parallel"]
        assert np.isclose(rho, columns.mean[j, 4], rtol=1e-9, atol=0.0)
        assert np.isclose(rho_se, columns.se[j, 4], rtol=1e-6)
        theta, _ = found[row, f"theta:{und}"]
        assert np.isclose(365.0 * theta, columns.mean[j, 3], rtol=1e-9, atol=0.0)
        vega, vega_se = found[row, f"vol:{und}:parallel"]
        assert abs(vega - columns.mean[j, 2]) <= k * np.hypot(vega_se, columns.se[j, 2])
    reversed_ = _buckets(frame.iloc[::-1].reset_index(drop=True), n, s)
    assert reversed_ == found


SINGLE_MARKET = copy.deepcopy(MARKET)
SINGLE_MARKET["underlyings"]["Z"] = dict(MARKET["underlyings"]["X"], dividend_yield=0.06)
SINGLE_BOOK = pd.concat([BOOK.iloc[[0]], pd.DataFrame([dict(
    id="B", instrument="bermudan", option_type="call", strike=105.0, expiry="2027-12-01",
    underlying="Z", quantity=1.0, fixing_dates="2027-06-01;2027-09-01;2027-12-01")])],
    ignore_index=True)


def test_exercise_buckets_on_single_paths_add_up_to_the_parallel_greeks():
    """A bermudan call on a 6 % yield, which ``auto`` puts on single paths (its pilot's
    geometric mean of 1 + rho about 1.30 against GBM's single_cost 1.15 off a market): its
    buckets follow, so its rate buckets still add up, path by path, to the rho column (value
    and SE) and theta is the theta column per day; the portfolio's parallel rho and theta
    (with the put's, whichever its paths) are the engine's totals; the rows reversed give
    bit-identical buckets."""
    market = load_market(SINGLE_MARKET)
    frame = load_positions(SINGLE_BOOK, market)
    n, s = 4_000, seed(97)
    rows, aggregates = bucket_estimates(frame, market, n, s)
    found = {(str(frame["id"].iat[p]), label): (mean, se) for p, label, _, mean, se in rows}
    columns = engine.simulate(frame, n, s, extra=("theta", "rho"))
    j = int(np.flatnonzero(frame["id"] == "B")[0])
    assert columns.single[j]
    for j, (row, und) in enumerate(zip(frame["id"], frame["underlying"])):
        rho, rho_se = found[row, "rate:USD:parallel"]
        assert np.isclose(rho, columns.mean[j, 4], rtol=1e-9, atol=0.0)
        assert np.isclose(rho_se, columns.se[j, 4], rtol=1e-6)
        theta, theta_se = found[row, f"theta:{und}"]
        assert np.isclose(365.0 * theta, columns.mean[j, 3], rtol=1e-9, atol=0.0)
        assert np.isclose(365.0 * theta_se, columns.se[j, 3], rtol=1e-6)
    rho, rho_se = aggregates[-2, "rate:USD:parallel", "rate"]
    assert np.isclose(rho, columns.total_mean[4], rtol=1e-9, atol=0.0)
    assert np.isclose(rho_se, columns.total_se[4], rtol=1e-6)
    theta = sum(aggregates[-2, f"theta:{und}", "theta"][0] for und in ("X", "Z"))
    assert np.isclose(365.0 * theta, columns.total_mean[3], rtol=1e-9, atol=0.0)
    reversed_ = bucket_estimates(frame.iloc[::-1].reset_index(drop=True), market, n, s)[0]
    assert {(str(frame["id"].iat[len(frame) - 1 - p]), label): (mean, se)
            for p, label, _, mean, se in reversed_} == found


HESTON_MARKET = {"valuation_date": "2027-03-01",
                 "curves": {"USD": {"dates": ["2027-06-01", "2027-12-01"],
                                    "zero_rates": [0.03, 0.05]}},
                 "underlyings": {"H": {"spot": 100.0, "curve": "USD", "dividend_yield": 0.01,
                                       "heston": {"v0": 0.04, "kappa": 1.5, "theta": 0.05,
                                                  "xi": 0.5, "rho": -0.6}}}}
HESTON_BOOK = pd.DataFrame([dict(id="HP", instrument="american", option_type="put",
                                 strike=100.0, expiry="2027-09-01", underlying="H",
                                 quantity=1.0)])


def _heston_buckets(frame, n, s, market=HESTON_MARKET):
    rows, _ = bucket_estimates(frame, load_market(market), n, s)
    return {label: (mean, se) for _, label, _, mean, se in rows}


@pytest.mark.slow  # about 15 s: the ADI solver's 8 re-solves and the chains
def test_heston_exercise_buckets_match_central_differences_of_the_adi_solver():
    """A Heston american put's rate, yield and theta buckets against the ADI solver's
    central differences with the market node bumped (theta: its value a day later less
    today's), within the same allowances plus k SE."""
    def price(market):
        return float(greeks.analytic_prices(HESTON_BOOK, market=market)["price"].iat[0])

    nodes = {f"rate:USD:{date}": ("rate", ["curves", "USD", "zero_rates", j])
             for j, date in enumerate(HESTON_MARKET["curves"]["USD"]["dates"])}
    nodes["yield:H:flat"] = ("yield", ["underlyings", "H", "dividend_yield"])
    references = {label: (kind, (price(bumped(HESTON_MARKET, path, 1e-3))
                                 - price(bumped(HESTON_MARKET, path, -1e-3))) / 2e-3)
                  for label, (kind, path) in nodes.items()}
    references["theta:H"] = ("theta", price(later(HESTON_MARKET)) - price(HESTON_MARKET))
    found = _heston_buckets(load_positions(HESTON_BOOK, load_market(HESTON_MARKET)), 20_000,
                            seed(93))
    k = k_for(len(references))
    for label, (kind, reference) in references.items():
        mean, se = found[label]
        assert_within_allowance({label: mean, f"{label}_se": se}, {label: reference},
                                {label: ALLOWANCE[kind]}, k)


@pytest.mark.parametrize("xi", [0.5, 0.3])
def test_heston_exercise_rate_buckets_add_up_to_the_rho_column(xi):
    """Under Heston too the rate buckets' sum is the rho column and theta the theta column
    per day: pathwise where the chain can stay at zero variance over a step (ξ = 0.5), by
    the likelihood ratio on the log-price increments where it cannot (ξ = 0.3)."""
    market = copy.deepcopy(HESTON_MARKET)
    market["underlyings"]["H"]["heston"]["xi"] = xi
    frame = load_positions(HESTON_BOOK, load_market(market))
    n, s = 2_000, seed(94)
    found = _heston_buckets(frame, n, s, market)
    columns = engine.simulate(frame, n, s, extra=("theta", "rho"))
    assert np.isclose(found["rate:USD:parallel"][0], columns.mean[0, 4], rtol=1e-9, atol=0.0)
    assert np.isclose(365.0 * found["theta:H"][0], columns.mean[0, 3], rtol=1e-9, atol=0.0)


def test_heston_exercise_buckets_on_single_paths_add_up_to_the_rho_column(monkeypatch):
    """The Heston put's chains on single paths (its single_cost lowered so that ``auto``
    takes them: off a market its pilot favours pairs): the rate buckets' sum is still the
    rho column, value and SE, and theta the theta column per day."""
    from greeks.models.heston.adapter import Heston

    monkeypatch.setattr(Heston, "single_cost", (0.1, 0.1))
    frame = load_positions(HESTON_BOOK, load_market(HESTON_MARKET))
    n, s = 2_000, seed(98)
    found = _heston_buckets(frame, n, s)
    columns = engine.simulate(frame, n, s, extra=("theta", "rho"))
    assert columns.single[0]
    rho, rho_se = found["rate:USD:parallel"]
    assert np.isclose(rho, columns.mean[0, 4], rtol=1e-9, atol=0.0)
    assert np.isclose(rho_se, columns.se[0, 4], rtol=1e-6)
    assert np.isclose(365.0 * found["theta:H"][0], columns.mean[0, 3], rtol=1e-9, atol=0.0)


HESTON_CASH_MARKET = copy.deepcopy(HESTON_MARKET)
HESTON_CASH_MARKET["underlyings"]["H"]["dividends"] = [{"ex_date": "2027-06-15", "amount": 3.0}]
HESTON_DIVIDEND = ["underlyings", "H", "dividends", 0, "amount"]
# the ADI solver maps the drop S − D onto its S grid by interpolation: its differences in D
# at ±0.01 were 1.3 % below those at ±0.1 … ±0.75 and below those of a grid twice as fine
# (0.4876 against 0.4940–0.4945 on the american put below), at ±0.4 within 0.1 % of them
HESTON_CASH_BUMP = 0.4
HESTON_BERMUDANS = pd.DataFrame([
    dict(id=f"HB{kind[0].upper()}", instrument="bermudan", option_type=kind, strike=strike,
         expiry="2027-09-01", underlying="H", quantity=1.0,
         fixing_dates="2027-04-01;2027-05-01;2027-06-01;2027-06-14;2027-07-01;2027-08-01;"
                      "2027-09-01") for kind, strike in (("put", 100.0), ("call", 100.0))])


def _cash_reference(book) -> float:
    """The ADI solver's central difference of ``book``'s one row in the cash amount."""
    def price(h):
        return float(greeks.analytic_prices(book, market=bumped(
            HESTON_CASH_MARKET, HESTON_DIVIDEND, h))["price"].iat[0])

    return (price(HESTON_CASH_BUMP) - price(-HESTON_CASH_BUMP)) / (2.0 * HESTON_CASH_BUMP)


@pytest.mark.slow  # about 15 s: the daily grid's policies re-solved on four moved markets
def test_heston_american_cash_dividend_bucket_matches_the_adi_solver():
    """A Heston american put across a cash dividend of 3: its dividend bucket (differences in
    the amount with the policy re-solved, the daily Bermudan's) within 1 % (the daily grid
    against the continuous American, and the solver's own error) plus k SE of the ADI
    solver's central difference; it had no such bucket before."""
    found = _heston_buckets(load_positions(HESTON_BOOK, load_market(HESTON_CASH_MARKET)),
                            8_000, seed(95), HESTON_CASH_MARKET)
    label = "dividend:H:2027-06-15"
    mean, se = found[label]
    assert_within_allowance({label: mean, f"{label}_se": se},
                            {label: _cash_reference(HESTON_BOOK)},
                            {label: ALLOWANCE["dividend"]}, k_for(1))


def test_heston_bermudan_cash_dividend_buckets_match_the_adi_solver_and_reverse():
    """Heston bermudan puts and calls across a cash dividend (a date the day before the
    ex-date): each dividend bucket within k SE plus 1 % of the ADI solver's central
    difference for the same Bermudan option (the rows' values at the moved amounts printed
    as z at 20,000 paths, seed 1: put +1.5, call 0.0); the rows reversed give bit-identical
    buckets."""
    market = load_market(HESTON_CASH_MARKET)
    frame = load_positions(HESTON_BERMUDANS, market)
    n, s = 4_000, seed(96)
    rows, _ = bucket_estimates(frame, market, n, s)
    found = {(str(frame["id"].iat[p]), label): (mean, se) for p, label, _, mean, se in rows}
    k = k_for(2)
    label = "dividend:H:2027-06-15"
    for row in ("HBP", "HBC"):
        mean, se = found[row, label]
        assert_within_allowance({label: mean, f"{label}_se": se},
                                {label: _cash_reference(HESTON_BERMUDANS[
                                    HESTON_BERMUDANS["id"] == row])},
                                {label: ALLOWANCE["dividend"]}, k)
    reversed_ = bucket_estimates(frame.iloc[::-1].reset_index(drop=True), market, n, s)[0]
    assert {(str(frame["id"].iat[len(frame) - 1 - p]), label): (mean, se)
            for p, label, _, mean, se in reversed_} == found


CALL_MARKET = {"valuation_date": "2027-03-01",
               "curves": {"USD": {"dates": ["2027-12-01"], "zero_rates": [0.04]}},
               "underlyings": {"Z": {"spot": 100.0, "curve": "USD", "vol": 0.25, "dividends": [
                   {"ex_date": "2027-08-14", "amount": 5.0}]}}}
CALL_BOOK = pd.DataFrame([dict(id="AC", instrument="american", option_type="call",
                               strike=100.0, expiry="2027-08-30", underlying="Z",
                               quantity=1.0)])


def test_a_cash_dividend_bucket_takes_a_step_where_the_value_is_smooth():
    """An american call exercised just before a large dividend two weeks before expiry: its
    value is kinked in the amount on the scale of the amount itself (Richardson at δ = D/2
    was 29 % off the derivative), so the step falls to where the finite-difference proxy is
    smooth, and the bucket meets the solver's difference (within 2 % plus k SE: −0.0126 ±
    0.0017 against −0.0137; at D/2 it read −0.0057 ± 0.0016)."""
    market = load_market(CALL_MARKET)
    frame = load_positions(CALL_BOOK, market)
    (group,) = [g for g in engine.plan.plan_groups(frame, method="auto", plain=False)]
    assert cash_step(group, 0) <= 0.25 * 5.0
    path = ["underlyings", "Z", "dividends", 0, "amount"]

    def price(m):
        return float(greeks.analytic_prices(CALL_BOOK, market=m)["price"].iat[0])

    reference = (price(bumped(CALL_MARKET, path, 0.05))
                 - price(bumped(CALL_MARKET, path, -0.05))) / 0.1
    rows, _ = bucket_estimates(frame, market, 16_000, seed(95))
    ((mean, se),) = [(m, s) for _, label, _, m, s in rows if label == "dividend:Z:2027-08-14"]
    assert_within_allowance({"d": mean, "d_se": se}, {"d": reference}, {"d": (0.02, 0.0)}, 4.0)


def test_report_buckets_follow_the_runs_policy_and_grid(tmp_path):
    """``report --buckets`` takes ``--policy`` and the grid options (it refused them): under
    ``--policy regression`` an american row's theta and parallel rho buckets are the theta
    and rho columns of ``price --policy regression`` (the same estimator on the same paths),
    and differ from the solved policy's; a Heston row's buckets move with
    ``--steps-per-year``; an estimation option is still refused."""
    from click.testing import CliRunner

    from greeks.cli import main

    market = tmp_path / "market.json"
    market.write_text(json.dumps({**MARKET, "underlyings": {
        **MARKET["underlyings"], "H": HESTON_MARKET["underlyings"]["H"]}}))
    source = tmp_path / "book.csv"
    pd.concat([BOOK.iloc[[0]], HESTON_BOOK]).to_csv(source, index=False)
    run = ["--market", str(market), "--paths", "2000", "--seed", str(seed(98)),
           "--threads", "1", "--format", "csv"]

    def invoke(*args):
        result = CliRunner().invoke(main, [*args, *run])
        assert result.exit_code == 0, result.output
        return pd.read_csv(io.StringIO(result.stdout))

    def buckets(*args):
        table = invoke("report", str(source), "--buckets", *args)
        return table.set_index(["position", "factor"])["value"]

    regression = ("--policy", "regression", "--policy-paths", "2048")
    solved, regressed = buckets(), buckets(*regression)
    columns = invoke("price", str(source), "--greeks", "theta,rho", *regression).set_index("id")
    assert np.isclose(regressed["P", "theta:X"], columns.loc["P", "theta_per_day"], rtol=1e-9)
    assert np.isclose(regressed["P", "rate:USD:parallel"], 1e-4 * columns.loc["P", "rho_rate"],
                      rtol=1e-9)
    assert regressed["P", "theta:X"] != solved["P", "theta:X"]
    finer = buckets("--steps-per-year", "104")
    assert finer["HP", "rate:USD:parallel"] != solved["HP", "rate:USD:parallel"]
    assert finer["P", "rate:USD:parallel"] == solved["P", "rate:USD:parallel"]  # GBM: no grid
    refused = CliRunner().invoke(main, ["report", str(source), "--buckets", "--method", "lr",
                                        *run])
    assert refused.exit_code == 2 and "not --method" in refused.output
