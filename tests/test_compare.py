"""greeks compare, and the per-Greek choice of --method auto."""

import numpy as np
import pandas as pd

import greeks
from greeks import engine
from greeks.cli import main
from greeks.compare import compare_estimators
from helpers import make_frame, seed

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7,
              underlying="H")


def test_compare_lists_every_valid_estimator(runner, tmp_path):
    frame = make_frame([dict(id="asian", instrument="asian", fixings=4),
                        dict(id="digital", instrument="digital"),
                        dict(id="h", **HESTON)])
    table = compare_estimators(frame, paths=4_000, seed=seed(1))
    methods = table[table.greek == "delta"].groupby("id")["method"].apply(list).to_dict()
    assert methods["asian"] == ["lr", "lr+controls+antithetic", "pathwise+antithetic",
                                "fd+antithetic", "auto"]
    assert methods["digital"] == ["lr", "lr+controls+antithetic", "fd+antithetic", "auto"]
    assert methods["h"] == ["lr", "lr+controls+antithetic", "conditional+controls+antithetic",
                            "fd+conditional+antithetic", "auto"]
    plain = table[table.method == "lr"]
    assert np.allclose(plain.variance_ratio, 1) and np.allclose(plain.efficiency, 1)
    source, out = tmp_path / "book.csv", tmp_path / "compare.csv"
    frame.to_csv(source, index=False)
    result = runner.invoke(main, ["compare", str(source), "-n", "4000", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == len(table)


def test_auto_takes_each_greek_from_its_most_efficient_estimator():
    """The asian vega from pathwise and the Heston european vega from finite differences
    (as measured by greeks compare); the choice depends on the seed only, not on threads."""
    frame = make_frame([dict(id="call"), dict(id="asian", instrument="asian", fixings=12),
                        dict(id="h", **HESTON)])
    results = greeks.price_portfolio(frame, paths=100_000, seed=seed(2), threads=1)
    chosen = results.set_index("id")[["method_price", "method_delta", "method_vega"]]
    assert chosen.loc["call"].tolist() == ["lr+controls+antithetic"] * 3
    assert chosen.loc["asian", "method_vega"] == "pathwise+antithetic"
    assert chosen.loc["h", "method_vega"] == "fd+conditional+antithetic"
    assert chosen.loc["h", "method_delta"] == "conditional+controls+antithetic"
    again = greeks.price_portfolio(frame, paths=100_000, seed=seed(2), threads=2)
    columns = ["price", "price_se", "delta", "delta_se", "vega", "vega_se"]
    assert results[columns].equals(again[columns])
    # the total adds the families: its vega equals the sum of the rows' vegas
    assert np.isclose(results.attrs["total"]["vega"], results["vega"].sum())


def test_single_family_runs_name_one_estimator_per_row():
    frame = make_frame([dict(id="call"), dict(id="h", **HESTON)])
    estimates = engine.simulate(frame, 2_000, seed=seed(3), method="fd")
    assert estimates.choice.tolist() == [["fd+antithetic"] * 3,
                                         ["fd+conditional+antithetic"] * 3]
