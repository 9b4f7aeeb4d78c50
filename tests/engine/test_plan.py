"""Planning over the frame's columns: simulation groups as the grouping rule says, whatever
the row order; process-pool batches that cover every chunk once."""

import hashlib
import math
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import make_frame, seed

import greeks
from greeks.engine import Family, plan_groups, row_dates, row_estimators
from greeks.engine.progress import chunk_cost
from greeks.engine.scheduler import MIN_BATCH_COST, batches

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)


def book():
    """Rows on three GBM underlyings (two sharing every model value but the name) and one
    Heston, every payoff kind, knock-outs among them, ids out of order."""
    rows = []
    for u, (name, extra) in enumerate([("A", dict(vol=0.2)), ("B", dict(vol=0.2)),
                                       ("C", dict(vol=0.3, spot=90.0)), ("H", HESTON)]):
        kinds = [dict(), dict(option_type="put", maturity=0.5),
                 dict(instrument="digital", payout=10.0),
                 dict(instrument="asian", fixings=12),
                 dict(instrument="barrier", barrier=130.0, barrier_type="up-and-out",
                      fixings=52),
                 dict(instrument="barrier", barrier=130.0, barrier_type="up-and-out",
                      fixings=52, option_type="put", strike=110.0),  # the paths above
                 dict(instrument="barrier", barrier=80.0, barrier_type="down-and-out",
                      option_type="put", fixings=12),
                 dict(instrument="barrier", barrier=80.0, barrier_type="down-and-in",
                      option_type="put", fixings=12, maturity=2.0),
                 dict(instrument="american", option_type="put", fixings=20)]
        for k, kind in enumerate(kinds):
            rows.append(dict(id=f"{(7 * k + u) % 10}-{name}{k}", underlying=name,
                             **extra, **kind))
    return make_frame(rows)


def _alike(frame, family):
    """What puts two rows on one simulation (docs/methods.md): the model and its
    parameters, spot, rate, dividend, underlying and the family; knock-outs conditioned
    on survival (and knock-ins by parity) also their barrier and monitoring dates."""
    out = []
    for row in frame.itertuples(index=False):
        parameters = (row.vol,) if row.model == "gbm" else (
            row.v0, row.kappa, row.theta, row.xi, row.rho)
        out.append((row.model, parameters, row.spot, row.rate, row.dividend, row.underlying,
                    family[len(out)].value,
                    (row.barrier_type, row.barrier, row.maturity, row.fixings)
                    if family[len(out)].by_barrier else ""))
    return out


@pytest.mark.parametrize("method", ["auto", "fd", "pathwise", "lr"])
def test_groups_follow_the_grouping_rule(method):
    frame = book()
    family = [e.family for e in row_estimators(frame, method)]
    groups = plan_groups(frame, method=method, plain=False, paths=2_000)
    alike = _alike(frame, family)
    ids = frame["id"].to_numpy()
    seen = np.concatenate([g.positions for g in groups])
    assert np.array_equal(np.sort(seen), np.arange(len(frame)))  # each row once
    assert [g.key for g in groups] == sorted({g.key for g in groups})
    assert len(groups) == len(set(alike))
    for group in groups:
        rows = group.positions
        assert list(ids[rows]) == sorted(ids[rows])
        assert {alike[p] for p in rows} == {alike[rows[0]]}
        assert group.method is family[rows[0]]
        digest = hashlib.blake2b(group.key.encode(), digest_size=16).digest()
        assert group.spawn_words == tuple(int.from_bytes(digest[i:i + 4], "little")
                                          for i in range(0, 16, 4))
        assert group.n_rows == rows.size == group.payoff.strike.size
        assert np.array_equal(group.payoff.strike, frame["strike"].to_numpy()[rows])
        assert np.array_equal(group.maturity, frame["maturity"].to_numpy()[rows])
        assert np.array_equal(group.extra_weight, frame["quantity"].to_numpy()[rows])
        spot, rate, dividend = (float(frame[c].iat[rows[0]]) for c in ("spot", "rate",
                                                                         "dividend"))
        for j, p in enumerate(rows):
            dates = group.times[group.date_index[group.date_start[j]:group.date_start[j + 1]]]
            expected = row_dates(frame["maturity"].iat[p], frame["fixings"].iat[p])
            np.testing.assert_allclose(dates, expected, rtol=0, atol=1e-12)
            growth = np.exp((rate - dividend) * expected)
            forward = spot * math.exp(-rate * expected[-1]) * (
                growth.mean() if frame["instrument"].iat[p] == "asian" else growth[-1])
            assert group.forward[j] == pytest.approx(forward, rel=1e-13)


def test_planning_does_not_depend_on_row_order():
    frame = book()
    order = np.random.default_rng(seed(3)).permutation(len(frame))
    shuffled = frame.iloc[order].reset_index(drop=True)
    one = plan_groups(frame, method="auto", plain=False, paths=2_000)
    other = plan_groups(shuffled, method="auto", plain=False, paths=2_000)
    assert [g.key for g in one] == [g.key for g in other]
    for a, b in zip(one, other):
        assert list(frame["id"].to_numpy()[a.positions]) == \
            list(shuffled["id"].to_numpy()[b.positions])
        for name in ("times", "date_start", "date_index", "forward", "weight"):
            assert np.array_equal(getattr(a, name), getattr(b, name))
        for x, y in zip(a.payoff, b.payoff):
            assert np.array_equal(x, y)


def test_batches_cover_every_task_once_in_order():
    """Batches hold consecutive tasks, each closed once its chunks' cost (GBM likelihood
    ratio and survival conditioning, heston: their models' times per date) reaches its
    share of the phase; every task once."""
    groups = [SimpleNamespace(times=np.zeros(m), date_index=np.zeros(r), model=model,
                              method=method, needed=None)
              for m, r, model, method in ((1, 1, "gbm", Family.LR),
                                          (52, 52, "gbm", Family.SURVIVAL),
                                          (300, 1, "heston", Family.LR), (12, 3, "gbm", Family.LR))]
    tasks = [(g, c, n) for g, chunks in enumerate((40, 3, 7, 25))
             for c, n in enumerate([4096] * (chunks - 1) + [1000])]
    work = np.array([chunk_cost(groups[g], n) for g, _, n in tasks])
    assert work[40] / work[0] > 52 and work[43] / work[0] > 300  # not path-dates alone
    for workers in (1, 2, 8):
        found = batches(groups, tasks, workers)
        assert [i for batch in found for i in batch] == list(range(len(tasks)))
        size = max(MIN_BATCH_COST, work.sum() / (4 * workers))
        assert all(work[batch].sum() >= size for batch in found[:-1])
        assert all(work[batch[:-1]].sum() < size for batch in found)  # closed when full


def test_process_pool_on_many_groups_is_bit_identical_to_threads():
    knock_outs = [dict(id=f"ko{k}", instrument="barrier", barrier=115.0 + k,
                       barrier_type="up-and-out", fixings=12, underlying="A")
                  for k in range(24)]
    frame = make_frame(knock_outs + [dict(id="call", underlying="A"),
                                     dict(id="h", underlying="H", **HESTON)])
    local = greeks.price_portfolio(frame, paths=4_000, seed=seed(8), threads=2)
    pooled = greeks.price_portfolio(frame, paths=4_000, seed=seed(8), threads=2,
                                    scheduler="processes")
    assert local.equals(pooled)
    assert local.attrs["total"] == pooled.attrs["total"]
