"""An american row's vol-node bucket by the likelihood ratio on the daily steps' variances
against the central differences the bucket report uses
(:mod:`greeks.models.gbm.exercise_buckets`), on the same paths: the per-pair spread of each,
after its European control (least squares on the same pairs; the differences also after the
parallel vega's hedge control).  The likelihood ratio holds the policy fixed and stops its
score at the exercise date τ: Y Σ_{k ≤ τ} a_k (e_k²/v_k − 1 − e_k), a_k = (∂v_k/∂σ_j)/(2 v_k),
e_k the step's centred log-return (:mod:`greeks.market.factors`).  Rows: the american puts of
instruments/american_book.csv without cash dividends.  Run:
python benchmarks/exercise_vega_buckets.py [paths] [seed] \
    > benchmarks/results/exercise_vega_buckets.md
"""

import sys
from dataclasses import replace

import numpy as np

from greeks import exercise, payoffs
from greeks.engine.methods import Family
from greeks.engine.plan import plan_groups
from greeks.market import load_market
from greeks.models import adapter
from greeks.models.gbm import dated
from greeks.report import load_positions
from greeks.sensitivities import RHO, THETA

paths = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
market = load_market("instruments/market.json")
frame = load_positions("instruments/american_book.csv", market, ())
frame = frame[frame["id"].isin(["SPX-AP-5100-DEC27", "SX5E-AP-5000-SEP27"])].reset_index(drop=True)
half = paths // 2


def pairs(x):
    return 0.5 * (x[:half] + x[half:])


def controlled_spread(g, h):
    """The per-pair spread of g less its least-squares multiple of h."""
    beta = np.cov(g, h)[0, 1] / h.var()
    return float((g - beta * h).std())


print(f"{paths:,} paths, seed {seed}: per-pair spread of a vol node's bucket (per 1.00 of vol)\n")
print("| row | node | likelihood ratio | differences | ratio |")
print("| --- | --- | ---: | ---: | ---: |")
for planned in plan_groups(frame, method="auto", plain=False):
    if planned.method is not Family.EXERCISE:
        continue
    group = exercise.prepare(replace(planned, antithetic=True).with_extra(
        np.array([THETA, RHO])), seed)
    model = adapter(group.model)
    rows = model.exercise_bucket_rows(group, frame, market)
    row = rows[0]
    stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words, 0))
    g, h = model.exercise_bucket_samples(group, rows, stream, paths)[0]
    grid = group.market
    w, s, _ = dated.simulate_dated(np.random.Generator(np.random.PCG64(stream)), paths,
                                   grid.clock, grid.log_growth(), grid.cash, group.spot, True)
    v = np.diff(grid.clock, prepend=0.0)
    e = np.diff(w, axis=1, prepend=0.0)
    columns, _, discounts = exercise.row_dates(group, group.date_index, 0)
    y, stops = np.empty(paths), np.empty(paths, dtype=np.int64)
    payoffs.stopped_payoffs(s, np.empty((paths, 0)), columns, discounts, group.payoff, 0, 0,
                            y, stops)
    stopped = np.where(stops >= 0, columns[stops], columns[-1])
    ends = discounts[-1] * np.maximum(
        group.payoff.omega[0] * (s[:, columns[-1]] - group.payoff.strike[0]), 0.0)
    nodes = grid.dynamics.vol.node_derivatives(group.times)
    for key, (at, _, _, _) in sorted(row.moves.items()):
        score = np.cumsum(np.diff(nodes[key[1]], prepend=0.0) / (2.0 * v)
                          * (e * e / v - 1.0 - e), axis=1)
        ratio = controlled_spread(pairs(y * np.where(stops >= 0, score[np.arange(paths),
                                                                         stopped], 0.0)),
                                  pairs(ends * score[:, columns[-1]]))
        differences = controlled_spread(pairs(g[at]), pairs(h[at]))
        print(f"| {frame['id'].iat[row.position]} | {row.labels[at]} | {ratio:,.0f} "
              f"| {differences:,.0f} | {ratio / differences:.1f} |")
