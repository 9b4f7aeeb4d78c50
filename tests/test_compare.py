"""greeks compare, and the per-Greek choice of --method auto."""

import math

import numpy as np
import pandas as pd
from helpers import K, make_frame, seed, seeds

import greeks
from greeks import engine
from greeks.cli import main
from greeks.compare import compare_estimators
from greeks.engine.methods import relative_cost

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


FAMILIES = ("mixed", "pathwise", "fd")  # auto's candidates: each row's default family first


def test_auto_takes_each_greek_from_its_most_efficient_estimator():
    """Each Greek of each row comes, bit for bit, from the run of the family that auto
    names for it; that family is the most efficient of the candidates (variance × relative
    cost per path, at the main run's path count) within the noise of the decision run that
    chose it: the variances at the decision run's size move by δ (relative, measured over
    seeds), so the choice can only be off by exp(K·sqrt(δ_chosen² + δ_best²)); the choice
    depends on the seed only, not on threads."""
    frame = make_frame([dict(id="call"), dict(id="asian", instrument="asian", fixings=12),
                        dict(id="h", **HESTON)])
    paths = 100_000
    auto = engine.simulate(frame, paths, seed=seed(2), threads=1)
    estimators = {family: engine.row_estimators(frame, family) for family in FAMILIES}
    labels = {family: [e.label for e in estimators[family]] for family in FAMILIES}
    runs = {family: engine.simulate(frame, paths, seed=seed(2), method=family)
            for family in FAMILIES}
    decision = engine.pilot_paths(paths)
    trials = {family: np.stack([engine.simulate(frame, decision, seed=s, method=family).se ** 2
                                for s in seeds(8, start=100)]) for family in FAMILIES}
    for i, row in frame.iterrows():
        cost = {family: relative_cost(estimators[family][i].family, row["model"])
                for family in FAMILIES}
        for k, greek in enumerate(("price", "delta", "vega")):
            chosen = next(f for f in FAMILIES if labels[f][i] == auto.choice[i, k])
            assert auto.mean[i, k] == runs[chosen].mean[i, k], (row["id"], greek)
            assert auto.se[i, k] == runs[chosen].se[i, k], (row["id"], greek)
            efficiency = {f: runs[f].se[i, k] ** 2 * cost[f] for f in FAMILIES}
            best = min(efficiency, key=efficiency.get)
            noise = {f: trials[f][:, i, k].std(ddof=1) / trials[f][:, i, k].mean()
                     for f in (chosen, best)}
            allowance = math.exp(K * math.hypot(noise[chosen], noise[best]))
            assert efficiency[chosen] <= allowance * efficiency[best], (
                row["id"], greek, chosen, best, efficiency, allowance)
    results = greeks.price_portfolio(frame, paths=paths, seed=seed(2), threads=1)
    again = greeks.price_portfolio(frame, paths=paths, seed=seed(2), threads=2)
    columns = ["price", "price_se", "delta", "delta_se", "vega", "vega_se"]
    assert results[columns].equals(again[columns])
    assert results[columns].to_numpy().tolist() == np.stack(
        [auto.mean[:, 0], auto.se[:, 0], auto.mean[:, 1], auto.se[:, 1], auto.mean[:, 2],
         auto.se[:, 2]], axis=1).tolist()
    # the total adds the families: its vega equals the sum of the rows' vegas
    assert np.isclose(results.attrs["total"]["vega"], results["vega"].sum())


def test_single_family_runs_name_one_estimator_per_row():
    frame = make_frame([dict(id="call"), dict(id="h", **HESTON)])
    estimates = engine.simulate(frame, 2_000, seed=seed(3), method="fd")
    assert estimates.choice.tolist() == [["fd+antithetic"] * 3,
                                         ["fd+conditional+antithetic"] * 3]


def test_auto_picks_the_best_score_of_its_own_decision_in_the_table(monkeypatch):
    """compare shows, on auto's candidate lines, the figure auto maximises: its decision
    run's variance × relative cost, as a score against plain LR at the table's path count.
    Recomputed here without compare: each candidate (the row's default family, pathwise)
    run alone at the decision run's size on the decision streams,
    SE² × the model's relative cost (finite differences are a candidate of none of these
    rows: the digital and the knock-out are payoffs with a jump, under 131,072 paths, and
    pathwise estimates the call and the asian); the line marked ``picked`` is the
    least of these
    (and carries the table's largest decision score), the auto line has its numbers, the
    decision scores equal SE_lr² · paths / (SE² · cost · decision paths), and lines that
    are not candidates (LR with controls on a knock-out) have none; a row with one candidate
    (the digital) has no decision run and no decision scores."""
    from greeks import streams

    frame = make_frame([dict(id="call"), dict(id="digital", instrument="digital"),
                        dict(id="asian", instrument="asian", fixings=12),
                        dict(id="ko", instrument="barrier", barrier=130.0,
                             barrier_type="up-and-out", fixings=12)])
    paths = 32_000
    table = compare_estimators(frame, paths=paths, seed=seed(4))
    decision = engine.pilot_paths(paths)
    # the decision's trials take their control coefficients from pilot_paths, not the
    # main runs' larger control pilot
    monkeypatch.setattr("greeks.engine.run.control_pilot_paths", engine.pilot_paths)
    for i in range(len(frame)):
        row = frame.iloc[[i]].reset_index(drop=True)
        variance_cost = {}
        for method in ("auto", "pathwise"):
            estimator = engine.row_estimators(row, method)[0]
            if estimator.label not in variance_cost:
                run = engine.simulate(row, decision, seed=seed(4), method=method,
                                      per_greek=False, first_chunk=streams.DECISION)
                variance_cost[estimator.label] = run.se[0] ** 2 * relative_cost(
                    estimator.family, "gbm")
        for k, greek in enumerate(("price", "delta", "vega")):
            lines = table[(table.id == row["id"].iat[0]) & (table.greek == greek)]
            lines = lines.set_index("method")
            best = min(variance_cost, key=lambda label: variance_cost[label][k])
            assert lines.index[lines.picked].tolist() == [best], (row["id"].iat[0], greek)
            if len(variance_cost) == 1:  # nothing to decide: no decision run
                assert lines.decision_score.isna().all()
                continue
            assert lines.decision_score.idxmax() == best
            assert lines.at["auto", "estimate"] == lines.at[best, "estimate"]
            assert lines.at["auto", "se"] == lines.at[best, "se"]
            plain = lines.at["lr", "se"] ** 2
            for label, figure in variance_cost.items():
                assert math.isclose(lines.at[label, "decision_score"],
                                    plain * paths / (figure[k] * decision), rel_tol=1e-12)
            others = lines.drop(index=list(variance_cost))
            assert others.decision_score.isna().all() and others.score.isna().all()
    ko = table[(table.id == "ko") & (table.method == "lr+controls+antithetic")]
    assert len(ko) == 3 and ko.score.isna().all()
