"""Scale-out: the same numbers from threads, a process pool and a Dask cluster."""

import itertools

import pytest
from helpers import make_frame, seed

import greeks
from greeks.engine.scheduler import in_task_order

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7,
              underlying="H")
COLUMNS = ["price", "price_se", "delta", "delta_se", "vega", "vega_se"]


def mixed():
    return make_frame([dict(id="call"), dict(id="asian", instrument="asian", fixings=12),
                       dict(id="uo", instrument="barrier", barrier=125.0,
                            barrier_type="up-and-out", fixings=12),
                       dict(id="h", **HESTON), dict(id="h-dig", instrument="digital", **HESTON)])


def test_process_pool_is_bit_identical_to_threads():
    local = greeks.price_portfolio(mixed(), paths=8_000, seed=seed(5), threads=2)
    pooled = greeks.price_portfolio(mixed(), paths=8_000, seed=seed(5), threads=2,
                                    scheduler="processes")
    assert local[COLUMNS].equals(pooled[COLUMNS])
    assert local.attrs["total"] == pooled.attrs["total"]


def exercise_rows():
    return make_frame([dict(id="am-put", instrument="american", option_type="put"),
                       dict(id="h-berm", instrument="bermudan", option_type="put", fixings=4,
                            maturity=0.5, **HESTON)])


def test_exercise_rows_on_a_process_pool_and_under_a_target():
    """American and bermudan rows (the policy solved per row, the pilot, the hedges) give the
    threads' numbers on a process pool, further Greeks included; under --target-se their
    groups are sized like the others and the SE lands near the target."""
    run = dict(paths=8_000, seed=seed(6), threads=2, greeks="gamma,rho,theta")
    local = greeks.price_portfolio(exercise_rows(), **run)
    pooled = greeks.price_portfolio(exercise_rows(), scheduler="processes", **run)
    assert local.equals(pooled)
    assert local[COLUMNS].notna().all().all()
    sized = greeks.price_portfolio(exercise_rows(), target_se="1%", seed=seed(7))
    ratio = sized[[f"{name}_se" for name in ("price", "delta", "vega")]].to_numpy() / (
        0.01 * sized[["price", "delta", "vega"]].abs().to_numpy())
    assert (ratio < 1.5).all(), ratio
    assert sized.attrs["unmet"] == list(sized["id"][(ratio > 1).any(axis=1)])


@pytest.mark.slow
def test_dask_local_cluster_is_bit_identical_to_threads():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        on_dask = greeks.price_portfolio(mixed(), paths=8_000, seed=seed(5),
                                         scheduler=cluster.scheduler_address)
        exercise = greeks.price_portfolio(exercise_rows(), paths=8_000, seed=seed(6),
                                          scheduler=cluster.scheduler_address)
    local = greeks.price_portfolio(mixed(), paths=8_000, seed=seed(5))
    assert local[COLUMNS].equals(on_dask[COLUMNS])
    assert local.attrs["total"] == on_dask.attrs["total"]
    assert greeks.price_portfolio(exercise_rows(), paths=8_000, seed=seed(6)).equals(exercise)


def test_an_unreachable_dask_scheduler_is_one_line_before_any_simulation(monkeypatch):
    pytest.importorskip("distributed")
    from greeks import dask_client, engine
    from greeks.names import OptionError

    monkeypatch.setattr(dask_client, "CONNECT_SECONDS", 1)
    monkeypatch.setattr(engine, "simulate", lambda *a, **k: pytest.fail("simulated"))
    with pytest.raises(OptionError, match=r"^scheduler: cannot reach the Dask scheduler at "
                                          r"tcp://127\.0\.0\.1:1 \("):
        greeks.price_portfolio(make_frame([dict(id="a")]), paths=1000,
                               scheduler="tcp://127.0.0.1:1")


def test_sums_over_a_groups_chunks_follow_task_order_whatever_finishes_first():
    """``in_task_order`` hands each group's values on in task order for every order of
    arrival."""
    tasks = [(0, 0, 1), (0, 1, 1), (0, 2, 1), (1, 0, 1), (1, 1, 1)]
    for arrival in itertools.permutations(range(len(tasks))):
        seen = []
        in_task_order(((i, f"v{i}") for i in arrival), tasks,
                      lambda g, value, seen=seen: seen.append((g, value)))
        assert [v for g, v in seen if g == 0] == ["v0", "v1", "v2"]
        assert [v for g, v in seen if g == 1] == ["v3", "v4"]
