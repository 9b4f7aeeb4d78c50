"""Risk reports: desk-unit exposures, subtotals with correlated standard errors, the CLI."""

import math

import numpy as np
import pandas as pd
import pytest
from helpers import assert_se_matches_spread, make_frame, seed, seeds

import greeks
from greeks.cli import main
from greeks.report import risk_report

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)


def book_frame():
    """Two books over two underlyings; rows of one underlying share paths."""
    rows = [
        dict(id="a1", book="x", quantity=10.0),
        dict(id="a2", book="x", option_type="put", strike=95.0, quantity=-4.0),
        dict(id="a3", book="y", instrument="digital", strike=105.0, quantity=30.0),
        dict(id="a4", book="y", instrument="asian", fixings=12, quantity=5.0),
        dict(id="b1", book="x", spot=50.0, strike=50.0, underlying="B", quantity=7.0, **HESTON),
        dict(id="b2", book="y", spot=50.0, strike=45.0, option_type="put", underlying="B",
             instrument="barrier", barrier=40.0, barrier_type="down-and-out", fixings=12,
             quantity=-3.0, **HESTON),
    ]
    return make_frame(rows)


def test_exposures_are_desk_units_of_the_priced_values():
    frame = book_frame()
    table = risk_report(frame, by=["book"], paths=20_000, seed=seed(3))
    positions = table.attrs["positions"].set_index("id")
    priced = greeks.price_portfolio(frame, paths=20_000, seed=seed(3)).set_index("id")
    q, spot = priced["quantity"], priced["spot"]
    assert np.allclose(positions["market_value"], q * priced["price"])
    assert np.allclose(positions["dollar_delta"], q * spot * priced["delta"])
    assert np.allclose(positions["vega_per_point"], q * priced["vega"] / 100)
    assert np.allclose(positions["dollar_delta_se"], q.abs() * spot * priced["delta_se"])
    with_gamma = risk_report(frame, by=["book"], paths=20_000, seed=seed(3), greeks=["gamma"])
    gamma = greeks.price_portfolio(frame, paths=20_000, seed=seed(3),
                                   greeks=["gamma"]).set_index("id")
    assert np.allclose(with_gamma.attrs["positions"].set_index("id")["dollar_gamma"],
                       q * spot ** 2 * gamma["gamma"] / 100)
    # subtotals add up to the total, whose value is the priced portfolio's
    books, total = table.iloc[:-1], table.iloc[-1]
    assert total["book"] == "TOTAL" and total["positions"] == len(frame)
    for name in ("market_value", "dollar_delta", "vega_per_point"):
        assert books[name].sum() == pytest.approx(total[name], rel=1e-12)
    assert total["market_value"] == pytest.approx(priced.attrs["total"]["price"], rel=1e-12)


def test_a_contract_multiplier_weighs_positions_without_a_market_too():
    """The ``multiplier`` column (default 1) scales a position's exposures and ladder value
    as off a market: q = quantity × multiplier; ``price`` stays per unit; a bad one is
    refused with its row (it was carried as text and ignored, while the price table's
    caption said the report applied it)."""
    from greeks.instruments import InputError
    from greeks.ladder import spot_ladder

    frame = book_frame().assign(multiplier=[100.0, 100.0, 1.0, 10.0, 1.0, 50.0])
    unit = book_frame().assign(quantity=book_frame()["quantity"] * frame["multiplier"])
    priced = greeks.price_portfolio(frame, paths=4_000, seed=seed(4))
    assert priced["price"].equals(greeks.price_portfolio(book_frame(), paths=4_000,
                                                         seed=seed(4))["price"])
    table = risk_report(frame, paths=4_000, seed=seed(4))
    positions = table.attrs["positions"].set_index("id")
    q = priced["quantity"].to_numpy() * frame["multiplier"].to_numpy()
    assert np.allclose(positions["market_value"], q * priced["price"].to_numpy(), rtol=1e-12)
    assert table.attrs["multiplied"]
    scaled = spot_ladder(frame, spot="5%", paths=4_000, seed=seed(4))
    plain = spot_ladder(unit, spot="5%", paths=4_000, seed=seed(4))
    assert np.allclose(scaled["value"], plain["value"], rtol=1e-12)
    for bad, rule in (("-100", "must be > 0, got -100"), ("x", "must be a number, got 'x'")):
        with pytest.raises(InputError, match=rf"row 2: column 'multiplier': {rule}"):
            greeks.price_portfolio(frame.assign(multiplier=["1", bad, "1", "1", "1", "1"]),
                                   paths=4_000)


def test_theta_and_rho_subtotals_hold_american_and_bermudan_rows():
    """GBM american and bermudan positions (one simulation, on pairs for every Greek:
    correlated; under ``auto`` rows may run apart on single paths) get theta_per_day
    and rho_per_bp as priced, and their subtotals and total sum them; the subtotal's SE
    comes from the per-path sums (not the quadrature sum of its positions'): two copies
    of one position in a book of their own move together path by path, so their
    subtotal's SE is the sum of theirs, where the quadrature sum would be √(2² + 1²)/3 of
    it."""
    put = dict(option_type="put", strike=40.0, spot=40.0, rate=0.06, maturity=0.5)
    frame = make_frame([
        dict(put, id="a", book="x", instrument="american", fixings=20, quantity=5.0),
        dict(put, id="b", book="x", instrument="bermudan", fixings=10, strike=42.0,
             quantity=3.0),
        dict(put, id="e", book="y", quantity=-2.0),
        dict(put, id="c", book="y", instrument="american", option_type="call", fixings=20,
             dividend=0.08, quantity=4.0),
        dict(put, id="a2", book="z", instrument="american", fixings=20, quantity=2.0),
        dict(put, id="a3", book="z", instrument="american", fixings=20, quantity=1.0)])
    run = dict(paths=4_000, seed=seed(5), greeks="theta,rho", method="mixed")  # one family
    table = risk_report(frame, by=["book"], **run)
    priced = greeks.price_portfolio(frame, **run).set_index("id")
    positions = table.attrs["positions"].set_index("id")
    q = priced["quantity"]
    assert np.allclose(positions["theta_per_day"], q * priced["theta_per_day"])
    assert np.allclose(positions["rho_per_bp"], q * priced["rho_rate"] / 1e4)
    books, total = table.iloc[:-1].set_index("book"), table.iloc[-1]
    for name in ("theta_per_day", "rho_per_bp"):
        assert np.isfinite(books[name]).all() and np.isfinite(books[f"{name}_se"]).all()
        for book in ("x", "y", "z"):
            assert books.loc[book, name] == pytest.approx(
                positions.loc[positions["book"] == book, name].sum(), rel=1e-9)
        assert books[name].sum() == pytest.approx(total[name], rel=1e-9)
        copies = positions.loc[["a2", "a3"], f"{name}_se"]
        assert copies["a2"] == pytest.approx(2 * copies["a3"], rel=1e-9) and copies["a3"] > 0
        assert books.loc["z", f"{name}_se"] == pytest.approx(copies.sum(), rel=1e-9)


@pytest.mark.parametrize("further", ["theta,rho", "gamma,theta,rho"])
def test_a_heston_american_rows_theta_and_rho_enter_its_subtotals(further):
    """Heston theta and rho come from revaluations for a european row and from the exercise
    kernels for an american row: each book's subtotal is its row's, and the total is their
    sum, its SE theirs in quadrature (independent streams); with gamma too (theta and rho
    then take a run of their own)."""
    heston = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7,
                  strike=100.0, spot=100.0, rate=0.05, maturity=0.5)
    frame = make_frame([dict(heston, id="a", book="x", instrument="american",
                             option_type="put", fixings=20),
                        dict(heston, id="e", book="y")])
    table = risk_report(frame, by=["book"], paths=2_000, seed=seed(6), greeks=further)
    positions = table.attrs["positions"].set_index("id")
    books, total = table.iloc[:-1].set_index("book"), table.iloc[-1]
    for name in ("theta_per_day", "rho_per_bp"):
        for book, row in (("x", "a"), ("y", "e")):
            assert np.isfinite(positions.loc[row, name])
            assert books.loc[book, name] == pytest.approx(positions.loc[row, name], rel=1e-9)
        assert total[name] == pytest.approx(positions[name].sum(), rel=1e-9)
        assert total[f"{name}_se"] == pytest.approx(math.hypot(*positions[f"{name}_se"]),
                                                    rel=1e-9)


@pytest.mark.slow
def test_subtotal_standard_errors_match_the_spread_over_seeds():
    """Correlated positions (shared paths) must not be added in quadrature: the subtotal SEs
    come from per-path sums, and agree with the seed-to-seed spread."""
    frame = book_frame()
    runs = [risk_report(frame, by=["book"], paths=4_000, seed=s, threads=1, greeks=["gamma"])
            for s in seeds(60)]
    names = ["market_value", "dollar_delta", "vega_per_point", "dollar_gamma"]
    values = np.stack([run[names].to_numpy() for run in runs])
    ses = np.stack([run[[f"{n}_se" for n in names]].to_numpy() for run in runs])
    # root-mean-square SE: the estimator chosen per Greek (and its SE) may differ by seed
    assert_se_matches_spread(values, ses)
    # and the correlation matters: book x's market value SE is not the quadrature sum
    positions = runs[0].attrs["positions"]
    in_x = positions["book"] == "x"
    quadrature = math.sqrt((positions.loc[in_x, "market_value_se"] ** 2).sum())
    assert abs(runs[0]["market_value_se"].iloc[0] / quadrature - 1) > 0.05


def test_report_without_by_is_the_total(tmp_path):
    table = risk_report(book_frame(), paths=4_000, seed=seed(4))
    assert len(table) == 1 and table["group"].iloc[0] == "TOTAL"


def test_report_cli_writes_subtotals_and_reads_folders(runner, tmp_path):
    frame = book_frame()
    frame.iloc[:4].to_csv(tmp_path / "one.csv", index=False)
    frame.iloc[4:].to_csv(tmp_path / "two.csv", index=False)
    out = tmp_path / "risk.csv"
    result = runner.invoke(main, ["report", str(tmp_path), "--by", "book,underlying",
                                  "--paths", "4000", "--output", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert list(written["book"]) == ["x", "x", "y", "y", "TOTAL"]
    assert written["positions"].iloc[-1] == 6
    assert "dollar_delta ± SE" in result.output


def test_report_cli_refuses_bad_input(runner, tmp_path):
    frame = book_frame()
    frame.to_csv(tmp_path / "one.csv", index=False)
    frame.iloc[:1].to_csv(tmp_path / "two.csv", index=False)
    out = tmp_path / "risk.csv"
    result = runner.invoke(main, ["report", str(tmp_path / "one.csv"), "--by", "desk",
                                  "--output", str(out)])
    assert result.exit_code == 2 and "no column 'desk'" in result.output
    result = runner.invoke(main, ["report", str(tmp_path / "one.csv"), str(tmp_path / "two.csv"),
                                  "--output", str(out)])
    assert result.exit_code == 2
    assert "two.csv: row 1: column 'id': id 'a1' is already used" in result.output
    assert not out.exists()


def test_outputs_carry_the_run_metadata(runner, tmp_path):
    """Parquet key-value metadata, a JSON header, a self-contained HTML page: version, seed,
    paths, method and the input files' SHA-256, so that a report can be reproduced."""
    import hashlib

    from greeks.io import read_metadata

    source = tmp_path / "book.csv"
    book_frame().to_csv(source, index=False)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    for suffix in ("parquet", "json", "html", "csv"):
        out = tmp_path / f"risk.{suffix}"
        result = runner.invoke(main, ["report", str(source), "--by", "book", "-n", "4000",
                                      "-s", str(seed(7)), "--output", str(out)])
        assert result.exit_code == 0, result.output
        if suffix in ("parquet", "json"):
            metadata = read_metadata(out)
            assert metadata["seed"] == seed(7) and metadata["paths"] == 4000
            assert metadata["inputs"] == {str(source): digest}
            assert metadata["method"] == "auto" and metadata["greeks"]
        elif suffix == "html":
            text = out.read_text()
            assert digest in text and "<h2>Positions</h2>" in text and "dollar_delta" in text
    assert pd.read_parquet(tmp_path / "risk.parquet")["book"].tolist() == ["x", "y", "TOTAL"]
