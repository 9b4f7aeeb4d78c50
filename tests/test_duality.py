"""The dual upper bound of american and bermudan rows (greeks.duality).

References, independent of the bound's martingale: a Cox–Ross–Rubinstein tree written for the
tests (tests/models/gbm/test_american.py, 4,000 steps; its error on these rows, against the fine
grid below, is at most 3e-4, allowed as ``TREE_ERROR``), and the finite-difference price on a grid
three times finer in space and time than the one the martingale is built from (6,000 × 6,000;
error second order, about a ninth of the default's 1e-5 … 6e-5 relative: allowed as
``FINE_ERROR`` = 1e-5 relative).  Bermudan rows: price − k·se ≤ reference ≤ upper + k·se
strictly (up to the references' errors); american rows, whose bound 2 U(Δ) − U(2Δ) is an
extrapolation: |upper − reference| ≤ ``EXTRAPOLATION`` (2e-5 relative; measured ≤ 2.5e-6)
+ k·se.  Tightness: upper − reference ≤ ``GAP`` = 2e-5 of the price + k·se (measured ≤ 2e-6),
and the simulated price within 0.5 % + k·se below the bound.
"""

import dataclasses
import math

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import assert_se_matches_spread, k_for, make_frame, seed, seeds

import greeks
from greeks import duality
from greeks.cli import main
from greeks.models.gbm.american import american_fd, bermudan_values
from tests.models.gbm.test_american import LS, tree

TREE_ERROR = 1e-3
FINE_ERROR = 1e-5
EXTRAPOLATION = 2e-5
GAP = 2e-5
FINE = {"space_steps": 6000, "time_steps": 6000, "vega": False}

BERMUDAN = [dict(LS, id="B36", instrument="bermudan", spot=36.0, maturity=1.0, fixings=50),
            dict(LS, id="B-call", instrument="bermudan", option_type="call", spot=105.0,
                 strike=100.0, maturity=0.5, rate=0.03, dividend=0.08, vol=0.25, fixings=6)]


def _args(row):
    return (row["spot"], row["strike"], row["maturity"], row["rate"], row.get("dividend", 0.0),
            row["vol"], row["option_type"] == "call")


def _dates(row):
    return row["maturity"] * np.arange(1, row["fixings"] + 1) / row["fixings"]


def test_bermudan_price_and_bound_bracket_the_references():
    frame = make_frame(BERMUDAN)
    results = greeks.price_portfolio(frame, paths=50_000, seed=seed(41), upper_bound=True)
    k = k_for(6 * len(BERMUDAN))
    for row, (_, out) in zip(frame.to_dict("records"), results.iterrows()):
        fine = american_fd(*_args(row), _dates(row), **FINE).price
        crr = tree(*_args(row), steps=4000, dates=_dates(row))[0]
        upper, se = out["upper_bound"], out["upper_bound_se"]
        label = (row["id"], out["price"], out["price_se"], upper, se, fine, crr)
        assert fine * (1 - FINE_ERROR) <= upper + k * se, label
        assert crr - TREE_ERROR <= upper + k * se, label
        assert out["price"] - k * out["price_se"] <= fine * (1 + FINE_ERROR), label
        assert out["price"] - k * out["price_se"] <= crr + TREE_ERROR, label
        assert upper - fine <= GAP * fine + k * se, label  # tight
        assert upper - out["price"] <= 0.005 * fine + k * out["price_se"], label
        check = results.attrs["upper_bound_checks"][row["id"]]
        assert abs(check["martingale_z"]) <= k, label
        assert check["drift"] <= 1e-6 * fine, label


def test_american_bound_extrapolates_to_the_american_price():
    rows = [dict(LS, id=f"A{int(s)}", spot=s, maturity=t) for s, t in ((36.0, 1.0), (44.0, 2.0))]
    frame = make_frame(rows)
    results = greeks.price_portfolio(frame, paths=20_000, seed=seed(42), upper_bound=True)
    k = k_for(8 * len(rows))
    for row, (_, out) in zip(frame.to_dict("records"), results.iterrows()):
        fine = american_fd(*_args(row), **FINE).price
        crr = tree(*_args(row), steps=4000)[0]
        upper, se = out["upper_bound"], out["upper_bound_se"]
        label = (row["id"], out["price"], out["price_se"], upper, se, fine, crr)
        assert abs(upper - fine) <= EXTRAPOLATION * fine + k * se, label
        assert abs(upper - crr) <= TREE_ERROR + k * se, label
        assert out["price"] - k * out["price_se"] <= fine * (1 + FINE_ERROR), label
        assert upper - out["price"] <= 0.005 * fine + k * out["price_se"], label
        check = results.attrs["upper_bound_checks"][row["id"]]
        assert abs(check["martingale_z"]) <= k, label
        assert check["drift"] <= 1e-6 * fine, label
        # the daily Bermudan's bound alone: strict for the Bermudan, below the American
        daily = duality.upper_bound(*_args(row), _dates(row), paths=4_000, seed=seed(42),
                                    american=True)
        assert daily.upper + daily.drift + k * daily.se < fine * (1 - 1e-4), (daily, fine)


def test_a_martingale_that_is_not_centred_is_caught():
    """Conditional expectations taken under a wrong drift (dividend 4 % instead of 0): M is
    no martingale, which the paths' mean of M_n shows; the right M passes the same check."""
    row = BERMUDAN[0]
    times = _dates(row)
    fd = bermudan_values(*_args(row), times)
    right = duality.dual_tables(fd, duality.flat_law(times, row["rate"], 0.0, row["vol"]))
    wrong = duality.dual_tables(fd, duality.flat_law(times, row["rate"], 0.04, row["vol"]))
    k = k_for(2)
    run = dict(paths=20_000, seed=seed(43))
    good = duality.upper_bound(*_args(row), times, tables=[right], **run)
    bad = duality.upper_bound(*_args(row), times, tables=[wrong], **run)
    assert abs(duality.martingale_z(good)) <= k
    assert abs(duality.martingale_z(bad)) > 3 * k, bad


def test_the_conditional_expectation_is_exact_on_the_nodes():
    """C(x_j) = E[Ṽ(x_j + Y)] of the piecewise-linear Ṽ against a quadrature of its own
    (scipy's, on the kinks), for a random table."""
    from scipy import integrate, stats

    rng = np.random.default_rng(seed(44))
    h, mu, s = 0.01, 0.0004, 0.013
    values = np.cumsum(rng.standard_normal(400))
    out = np.empty(values.size)
    duality.convolve(values, duality.hat_weights(mu, s, h, duality._reach(mu, s, h)), out)
    law = stats.norm(mu, s)
    for j in (3, 150, 200, 397):
        def f(y, j=j):
            return float(np.interp(j * h + y, h * np.arange(values.size), values)) * law.pdf(y)
        knots = [m * h for m in range(-40, 41) if abs(m * h - mu) < 11 * s]
        exact = integrate.quad(f, mu - 12 * s, mu + 12 * s, points=knots, limit=400,
                               epsabs=1e-12)[0]
        assert out[j] == pytest.approx(exact, abs=1e-9)


def test_cli_upper_bound_columns_only_when_asked(tmp_path):
    rows = [dict(BERMUDAN[1], id="B-call"), dict(LS, id="E", instrument="european", spot=40.0,
                                                 maturity=1.0)]
    source = tmp_path / "book.csv"
    make_frame(rows).to_csv(source, index=False)
    runner = CliRunner()
    plain, bound = (tmp_path / "plain.csv", tmp_path / "bound.csv")
    common = ["price", str(source), "--paths", "4000", "--seed", str(seed(45)), "-f", "csv"]
    assert runner.invoke(main, [*common, "-o", str(plain)]).exit_code == 0
    result = runner.invoke(main, [*common, "--upper-bound", "-o", str(bound)])
    assert result.exit_code == 0, result.output
    import pandas as pd

    without, with_bound = pd.read_csv(plain), pd.read_csv(bound)
    assert "upper_bound" not in without.columns
    assert with_bound["upper_bound"].notna().tolist() == [True, False]
    assert with_bound["upper_bound_se"].notna().tolist() == [True, False]
    pd.testing.assert_frame_equal(with_bound.drop(columns=["upper_bound", "upper_bound_se"]),
                                  without)  # the rest bit-identical


def test_heston_rows_off_a_market_are_bounded_across_a_cash_dividend():
    """(Heston and GBM rows off a market: tests/market/test_heston_upper_bound.py,
    tests/market/test_heston_cash.py, tests/market/test_upper_bound.py.)  A call is bounded
    with and without a cash dividend before expiry, which lowers its bound."""
    from greeks.market.curves import Curve
    from greeks.market.dynamics import Dynamics, RowMarket
    from greeks.market.file import Dividend
    from greeks.market.positions import MARKET_COLUMN

    row = dict(BERMUDAN[1], id="H", model="heston", v0=0.04, kappa=1.5, theta=0.04, xi=0.5,
               rho=-0.7)
    frame = make_frame([row, dict(row, id="D")])
    dynamics = Dynamics(row["spot"], Curve.flat(row["rate"]), Curve.flat(row["dividend"]), (),
                        None)
    cash = Dividend(0.5 * row["maturity"], 1.0, False)
    frame[MARKET_COLUMN] = [RowMarket(d, tuple(_dates(row)), ())  # off a market
                            for d in (dynamics, dataclasses.replace(dynamics, dividends=(cash,)))]
    upper, se, checks = duality.frame_upper_bounds(frame, 2_000, seed(95))
    assert np.isfinite(upper).all() and np.isfinite(se).all() and list(checks) == ["H", "D"]
    assert upper[0] - upper[1] > k_for(1) * math.hypot(*se)  # the dividend lowers a call


@pytest.mark.slow
def test_upper_bound_se_matches_the_spread_over_seeds():
    """Ten independent runs of 20,000 paths per row: the spread of the bound against its
    reported SE (the per-path values are nearly constant with rare large ones)."""
    estimates, ses = [], []
    rows = [BERMUDAN[0], dict(LS, spot=40.0, maturity=1.0, fixings=252)]
    tables = []
    for row in rows:
        times = _dates(row)
        subsets = [times] if row["instrument"] == "bermudan" else [times, times[1::2]]
        tables.append([duality.dual_tables(bermudan_values(*_args(row), t),
                                           duality.flat_law(t, row["rate"], 0.0, row["vol"]))
                       for t in subsets])
    for s in seeds(10, 46):
        results = [duality.upper_bound(*_args(row), _dates(row), paths=20_000, seed=s,
                                       american=row["instrument"] == "american",
                                       richardson=len(t) == 2, tables=t)
                   for row, t in zip(rows, tables)]
        estimates.append([r.upper for r in results])
        ses.append([r.se for r in results])
    assert_se_matches_spread(estimates, ses)


def test_the_martingale_starts_at_the_finite_difference_value():
    """E[D_1 Ṽ_1(X_1) | X_0 = log S0], the table's start, against the march's own continuation
    at t = 0 (two computations of one number: they differ by the grid's error, ~1e-5)."""
    for row in BERMUDAN:
        times = _dates(row)
        fd = bermudan_values(*_args(row), times)
        tables = duality.dual_tables(fd, duality.flat_law(times, row["rate"],
                                                          row.get("dividend", 0.0), row["vol"]))
        assert tables.start == pytest.approx(fd.continuation[fd.j0], rel=2e-5)


def test_bound_does_not_depend_on_the_row_order():
    rows = [dict(row, fixings=4) for row in BERMUDAN]
    forward = duality.frame_upper_bounds(make_frame(rows), 3000, seed(47))
    backward = duality.frame_upper_bounds(make_frame(rows[::-1]), 3000, seed(47))
    assert forward[0].tolist() == backward[0][::-1].tolist()
    assert forward[1].tolist() == backward[1][::-1].tolist()


def test_rows_beyond_the_date_limit_get_nan():
    frame = make_frame([dict(BERMUDAN[1], id="B", fixings=duality.MAX_DATES + 1)])
    upper, se, checks = duality.frame_upper_bounds(frame, 100, 0)
    assert math.isnan(upper[0]) and math.isnan(se[0]) and not checks


def test_failed_martingale_checks_are_named():
    checks = {"ok": {"drift": 0.0, "martingale_z": 1.2},
              "bad": {"drift": 0.0, "martingale_z": -25.8}}
    assert duality.failed_checks(checks) == ["bad"]
