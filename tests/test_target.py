"""--target-se: path counts sized by a run of their own, reproducible, capped."""

import math

import numpy as np
import pytest
from helpers import k_for, make_frame, seed, seeds

import greeks
from greeks.cli import main
from greeks.target import TargetWarning

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7,
              underlying="H")


def frame():
    return make_frame([dict(id="call"), dict(id="digital", instrument="digital"),
                       dict(id="h", instrument="asian", fixings=4, **HESTON)])


def test_relative_target_is_reached_by_every_greek():
    """Every simulation gets MARGIN times the paths its sizing run calls for, so each
    Greek's final SE/target lands at or below 1/sqrt(MARGIN) on average, but a single run
    can exceed 1 by the sizing run's noise (and the estimator chosen per Greek at each
    size): over 16 seeds, the mean of log(SE/target) of every row and Greek lies below 0
    by more than t bounds of its spread."""
    names = ["price", "delta", "vega"]
    runs = [greeks.price_portfolio(frame(), target_se="5%", seed=s) for s in seeds(16, start=3)]
    log_ratio = np.log(np.stack([r[[f"{name}_se" for name in names]].to_numpy()
                                 / (0.05 * r[names].abs().to_numpy()) for r in runs]))
    mean = log_ratio.mean(axis=0)
    spread = log_ratio.std(axis=0, ddof=1) / math.sqrt(len(runs))
    k = k_for(mean.size, df=len(runs) - 1)
    assert np.all(mean + k * spread < 0), np.exp(log_ratio)
    for results, ratio in zip(runs, np.exp(log_ratio)):  # the rows above target, and only
        assert results.attrs["unmet"] == list(results["id"][(ratio > 1).any(axis=1)])
    # groups get their own counts: the two GBM rows share one, the Heston row its own
    results = greeks.price_portfolio(frame(), target_se="2%", seed=seed(2))
    assert results["paths"].iloc[0] == results["paths"].iloc[1] != results["paths"].iloc[2]


def test_target_runs_are_the_plain_runs_with_those_counts():
    """The sizing run uses streams of its own: the final numbers are those of --paths N."""
    rows = make_frame([dict(id="call"), dict(id="put", option_type="put")])
    target = greeks.price_portfolio(rows, target_se=0.01, seed=seed(4))
    again = greeks.price_portfolio(rows, target_se=0.01, seed=seed(4))
    count = int(target["paths"].iloc[0])
    plain = greeks.price_portfolio(rows, paths=count, seed=seed(4))
    columns = ["price", "price_se", "delta", "delta_se", "vega", "vega_se"]
    assert target[columns].equals(again[columns])
    assert target[columns].equals(plain[columns])


def test_the_cap_is_reported(runner, tmp_path):
    """Rows the cap stops: said as soon as the sizing run predicts it (a TargetWarning, on
    the command line a note before the main run's), and again after the main run."""
    source = tmp_path / "book.csv"
    frame().to_csv(source, index=False)
    with pytest.warns(TargetWarning, match="0.01% is out of reach within the cap of 10,000"):
        results = greeks.price_portfolio(frame(), target_se="0.01%", max_paths=10_000,
                                         seed=seed(5))
    assert (results["paths"] == 10_000).all()
    assert set(results.attrs["unmet"]) == {"call", "digital", "h"}
    result = runner.invoke(main, ["price", str(source), "--target-se", "0.01%",
                                  "--max-paths", "10000", "--format", "csv"])
    assert result.exit_code == 0
    early = result.output.index("Note: the target SE 0.01% is out of reach")
    late = result.output.index("not reached (within the cap of 10,000 paths) for: call, "
                               "digital, h")
    assert early < late
    assert all(f"{name} (about" in result.output[early:late] for name in ("call", "digital"))


@pytest.mark.parametrize("bad", ["abc", "0", "-1%", "nan"])
def test_bad_targets_are_refused(runner, tmp_path, bad):
    source = tmp_path / "book.csv"
    frame().to_csv(source, index=False)
    result = runner.invoke(main, ["price", str(source), "--target-se", bad])
    assert result.exit_code == 2 and "--target-se must be" in result.output


def test_every_family_a_knock_out_uses_gets_its_sized_paths(runner, tmp_path):
    """A call and an up-and-out call near its barrier on one underlying: whichever estimator
    each Greek is taken from runs at least the paths its row was sized for, the ``paths``
    columns say what each value used, and a target missed at the end is said on stderr."""
    rows = make_frame([dict(id="call", maturity=0.5, spot=190.0, strike=190.0),
                       dict(id="ko", instrument="barrier", spot=190.0, strike=190.0,
                            barrier=230.0, barrier_type="up-and-out", fixings=52)])
    results = greeks.price_portfolio(rows, target_se="5%", seed=seed(7))
    names = ["price", "delta", "vega"]
    ratio = (results[[f"{n}_se" for n in names]].to_numpy()
             / (0.05 * results[names].abs().to_numpy()))
    assert ratio.max() < 1.6, ratio  # sized for each value (1/sqrt(1.25) on average)
    used = results[["paths"] + [c for c in ("paths_delta", "paths_vega") if c in results]]
    assert (used.to_numpy() >= 1024).all()
    assert results.attrs["unmet"] == list(results["id"][(ratio > 1).any(axis=1)])
    source = tmp_path / "ko.csv"
    rows.to_csv(source, index=False)
    result = runner.invoke(main, ["price", str(source), "--target-se", "0.01%",
                                  "--max-paths", "2048", "--format", "csv"])
    assert result.exit_code == 0
    assert "Note: the target SE 0.01% is not reached" in result.output
