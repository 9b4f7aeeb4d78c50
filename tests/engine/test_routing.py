"""Every chunk job through the one scheduler: the ladder's reweighting, the Heston parameter
sensitivities (pilots included) and the bucketed Greeks give bit-identical numbers on one
thread, two threads, a process pool and a Dask cluster, and their chunks do go through
:func:`greeks.engine.scheduler.completed` with the scheduler asked for.

The chunk size is cut (``CHUNK_CELLS``) so that every group has several chunks at these
small path counts: a reduction that depended on the order in which chunks complete, or a
job that drew from a stream other than its chunk's, would show as a difference."""

import inspect
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import make_frame, seed

import greeks
from greeks.cli import main
from greeks.engine import group as group_module
from greeks.engine import plan_groups, scheduler
from greeks.report import bucket_report

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
PARAMETERS = ["dkappa", "dtheta", "dxi", "drho", "theta"]
MARKET = {"valuation_date": "2027-03-01",
          "curves": {"USD": {"dates": ["2027-09-01", "2028-03-01"],
                             "zero_rates": [0.04, 0.045]}},
          "underlyings": {
              "SPX": {"spot": 100.0, "curve": "USD", "dividend_yield": 0.01,
                      "vol": {"dates": ["2027-06-01", "2027-12-01"], "vols": [0.25, 0.22]},
                      "dividends": [{"ex_date": "2027-07-01", "amount": 0.5}]},
              "NDX": {"spot": 100.0, "curve": "USD", "dividend_yield": 0.005,
                      "heston": {"v0": 0.04, "kappa": 1.5, "theta": 0.04, "xi": 0.5,
                                 "rho": -0.7}}}}
BOOK = pd.DataFrame([
    dict(id="c", instrument="european", option_type="call", strike=105.0, expiry="2027-11-15",
         underlying="SPX", quantity=2.0, book="a"),
    dict(id="p", instrument="european", option_type="put", strike=95.0, expiry="2028-02-01",
         underlying="SPX", quantity=-1.0, book="b"),
    dict(id="d", instrument="digital", option_type="call", strike=100.0, expiry="2027-08-20",
         underlying="SPX", quantity=3.0, book="a"),
    dict(id="h", instrument="european", option_type="call", strike=100.0, expiry="2027-12-01",
         underlying="NDX", quantity=1.0, book="b")])


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Chunks of a few hundred paths (``MIN_CHUNK``), so that every group has several."""
    monkeypatch.setattr(group_module, "CHUNK_CELLS", 1 << 12)


@pytest.fixture
def jobs(monkeypatch):
    """(job name, number of tasks, threads, scheduler) of every call of ``completed``."""
    calls = []
    completed = scheduler.completed
    signature = inspect.signature(completed)

    def recording(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        calls.append((given["job"].__name__, len(given["tasks"]), given["threads"],
                      given["scheduler"]))
        return completed(*args, **kwargs)

    monkeypatch.setattr(scheduler, "completed", recording)
    return calls


def ladder_frame():
    return make_frame([dict(id="call", quantity=2.0), dict(id="put", option_type="put"),
                       dict(id="asian", instrument="asian", fixings=12, quantity=-1.0),
                       dict(id="h", underlying="H", quantity=3.0, **HESTON)])


def parameter_frame():
    return make_frame([dict(id="h1", underlying="H", **HESTON),
                       dict(id="h2", underlying="H", option_type="put", **HESTON),
                       dict(id="g", underlying="G", spot=90.0, **dict(HESTON, xi=0.3))])


RUNS = [dict(threads=1), dict(threads=2), dict(threads=2, scheduler="processes")]


def test_the_ladder_is_the_same_on_every_scheduler(jobs):
    frame = ladder_frame()
    assert all(len(g.chunks(3_000)) > 1 for g in plan_groups(frame, paths=3_000))
    tables = [greeks.spot_ladder(frame, spot="-10%,5%", vol="0,2%", paths=3_000, seed=seed(1),
                                 **run) for run in RUNS]
    for table in tables[1:]:
        assert table.equals(tables[0])
        assert table.attrs["rows"].equals(tables[0].attrs["rows"])
    assert np.isfinite(tables[0]["value"]).all() and (tables[0]["value_se"] > 0).all()
    reweighted = [call for call in jobs if call[0] == "_ladder_chunk"]
    assert [call[2:] for call in reweighted] == [(1, "local"), (2, "local"), (2, "processes")]
    assert all(call[1] > 2 for call in reweighted)
    fractions = [call for call in jobs if call[0] == "_fraction_chunk"]  # the Heston ESS pilot
    assert [call[2:] for call in fractions] == [(1, "local"), (2, "local"), (2, "processes")]
    assert all(call[1] > 1 for call in fractions)


def test_heston_parameter_sensitivities_are_the_same_on_every_scheduler(jobs):
    """Exact scheme, ``auto``: each group's pilot chooses the estimator, then the chunks."""
    frame = parameter_frame()
    results = [greeks.price_portfolio(frame, paths=2_000, seed=seed(2), scheme="exact",
                                      steps_per_year=12, greeks=PARAMETERS, **run)
               for run in RUNS]
    for result in results[1:]:
        assert result.equals(results[0])
        assert result.attrs["total"] == results[0].attrs["total"]
    filled = PARAMETERS[:4] + ["theta_per_year"]
    assert np.isfinite(results[0][filled + [f"{name}_se" for name in filled]]
                       .to_numpy(dtype=float)).all()
    names = [(call[0], call[2], call[3]) for call in jobs]
    for threads, where in [(1, "local"), (2, "local"), (2, "processes")]:
        assert ("_sensitivity_pilot", threads, where) in names
        assert ("_sensitivity_chunk", threads, where) in names
    assert all(call[1] == 2 for call in jobs if call[0] == "_sensitivity_pilot")  # one a group
    assert all(call[1] > 2 for call in jobs if call[0] == "_sensitivity_chunk")


def test_report_buckets_are_the_same_on_every_scheduler(jobs, tmp_path):
    market = tmp_path / "market.json"
    market.write_text(json.dumps(MARKET))
    source = tmp_path / "book.csv"
    BOOK.to_csv(source, index=False)
    tables = [bucket_report([source], market=market, by="book", paths=4_000, seed=seed(3),
                            **run) for run in RUNS[:2]]
    assert tables[1].equals(tables[0])
    assert {"c", "p", "d", "h", "a", "b", "TOTAL"} <= set(tables[0]["position"])
    outputs = []
    for extra in (["--threads", "1"], ["--threads", "2", "--scheduler", "processes"]):
        out = tmp_path / f"buckets{len(outputs)}.csv"
        result = CliRunner().invoke(main, ["report", str(source), "--market", str(market),
                                           "--buckets", "--by", "book", "--paths", "4000",
                                           "--seed", str(seed(3)), "--output", str(out),
                                           "--format", "csv", *extra])
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[1] == outputs[0]
    assert pd.read_csv(tmp_path / "buckets0.csv")["value"].to_numpy().tolist() == \
        tables[0]["value"].tolist()
    kinds = {(call[0], call[3]) for call in jobs}
    assert {("_bucket_pilot", "local"), ("_bucket_chunk", "local"),
            ("_bucket_pilot", "processes"), ("_bucket_chunk", "processes")} <= kinds


def test_the_ladder_and_heston_sensitivities_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    ladder, parameters = ladder_frame(), parameter_frame()
    ladder_run = dict(spot="-10%,5%", vol="0,2%", paths=2_000, seed=seed(4))
    parameter_run = dict(paths=1_000, seed=seed(5), scheme="exact", steps_per_year=12,
                         greeks=PARAMETERS)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        on_dask = greeks.spot_ladder(ladder, scheduler=address, **ladder_run)
        dask_parameters = greeks.price_portfolio(parameters, scheduler=address,
                                                 **parameter_run)
        prefixes = set(cluster.scheduler.task_prefixes)
    # a task's key starts with its function's name (Dask drops the leading underscore)
    assert {"ladder_chunk", "sensitivity_pilot", "sensitivity_chunk"} <= {
        name.strip("_") for name in prefixes}
    local = greeks.spot_ladder(ladder, threads=1, **ladder_run)
    assert on_dask.equals(local) and on_dask.attrs["rows"].equals(local.attrs["rows"])
    local_parameters = greeks.price_portfolio(parameters, threads=1, **parameter_run)
    assert dask_parameters.equals(local_parameters)
