"""Bucketed Greeks of rows priced off a market, on the main run's paths: for GBM rows, as
further likelihood-ratio weights, vega per vol node, rho per rate-curve node,
∂V/∂(dividend yield) per yield node, ∂V/∂(each discrete dividend), and theta (the one-day
change) (:mod:`greeks.market.factors`, :func:`greeks.models.gbm.dated.factor_weights`); for
Heston rows the carry buckets, european and asian pathwise, digital and barrier by the
carry's likelihood-ratio score (:class:`greeks.market.factors.CarryFactors`), each cash
dividend by the score of its post-drop price, and theta on
the chain re-run a day later on the same random numbers (:mod:`greeks.models.heston.buckets`);
for american and bermudan rows, under their fixed exercise policy on the main run's exercise
paths (the exercise group prepared as the engine's, :func:`greeks.exercise.prepare`), the
rate, yield and proportional-dividend buckets split from the rho column's likelihood ratio,
cash dividends by differences with the policy re-solved (under GBM vol nodes too), and theta
the theta column (:mod:`greeks.models.gbm.exercise_buckets`,
:mod:`greeks.models.heston.exercise_buckets`); each with its standard error.

Paths.  Each dated group is simulated from the main run's streams (chunk c of the main
run draws from ``streams.MAIN + c``, the same spawn words; antithetic pairs, but single
paths for an exercise group that ``auto`` puts on them, :func:`greeks.exercise.prepare`),
so the buckets are weights on the paths that priced the rows under ``auto`` (in a pass of
their own over those streams).  A bucket's estimate is the mean over antithetic pairs (or
paths) of

    r = f w_k − β_k (L w_k − ∂E[L]/∂θ_k)

(f the discounted payoff, L the linear payoff on the unfloored prices, whose weighted mean
is known exactly; under Heston f w_k and L w_k stand for the pathwise derivatives of f and
L), β_k estimated on the main run's pilot streams (``streams.PILOT + c``)
and used as a constant, so the estimate is unbiased.  A parallel shift's estimate is the
sum of its buckets' r path by path: it equals the sum of the bucket estimates exactly,
with the standard error of that sum.  Totals and subtotals weigh each row's r by its
weight on the same paths (rows that share paths are correlated); groups are independent.
The pilot's and the main run's chunks are chunk jobs of the engine's scheduler (threads, a
process pool or Dask: :func:`greeks.engine.scheduler.completed`); each chunk's numbers depend
only on the seed, its group and its index, and they merge in chunk order.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from greeks import exercise, streams
from greeks.engine.methods import Family
from greeks.engine.plan import paths_of, plan_groups
from greeks.engine.reduce import FEW, TINY, carrying, one_more, paying_members, unseen_group_bounds
from greeks.engine.run import pilot_paths
from greeks.estimators import PATTERNS
from greeks.market.factors import DAY, UNITS
from greeks.models import adapter
from greeks.names import ROUNDING, ExercisePolicy
from greeks.sensitivities import RHO, THETA
from greeks.stats import Moments


def _samples(group, rows, seed, chunk, count, theta):
    """Per row, (g, h, f) on the chunk's paths from the main run's stream ``chunk``, in
    antithetic pairs: the bucket rows' ``sample`` on the model's paths
    (:meth:`greeks.models.base.Model.bucket_paths`), or an exercise group's
    (:meth:`greeks.models.base.Model.exercise_bucket_samples`; f None)."""
    stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words, chunk))
    model = adapter(group.model)
    if group.method is Family.EXERCISE:  # no count of paying units
        return [(g, h, None)
                for g, h in model.exercise_bucket_samples(group, rows, stream, count)]
    paths = model.bucket_paths(group, np.random.Generator(np.random.PCG64(stream)), count,
                               theta)
    return [row.sample(paths, group, j) for j, row in enumerate(rows)]


def _pairs(group, rows, seed: int, chunk: int, count: int, theta: bool):
    """Per row of the group: (row, g, h, paying) on one chunk's paths, averaged over
    antithetic pairs (:func:`_samples`; an exercise group that ``auto`` put on single paths:
    per path), ``paying`` the number of each pair's paths whose payoff is not 0 (None for
    an exercise group)."""
    half = count // 2
    for row, (g, h, f) in zip(rows, _samples(group, rows, seed, chunk, count, theta)):
        if not group.antithetic:
            yield row, g, h, None
            continue
        paying = None if f is None else paying_members(f, half, True)
        yield (row, 0.5 * (g[:, :half] + g[:, half:2 * half]),
               0.5 * (h[:, :half] + h[:, half:2 * half]), paying)


def _bucket_pilot(group, seed: int, chunk: int, count: int, rows, theta):
    """The pilot's chunk job (:func:`greeks.engine.scheduler.completed`): per row, the
    sums Σ(g − ḡ)(h − h̄), Σ(h − h̄)², Σ(g − ḡ)² over the chunk's pairs, per factor (a
    factor without a control: h = 0)."""
    out = []
    for row, g, h, _ in _pairs(group, rows, seed, chunk, count, theta):
        h = np.where(np.isfinite(row.control)[:, None], h, 0.0)
        gm, hm = g.mean(axis=1), h.mean(axis=1)
        out.append(np.stack([((g - gm[:, None]) * (h - hm[:, None])).sum(axis=1),
                             ((h - hm[:, None]) ** 2).sum(axis=1),
                             ((g - gm[:, None]) ** 2).sum(axis=1)]))
    return out


def _bucket_chunk(group, seed: int, chunk: int, count: int, rows, theta, beta, weight, slot):
    """The main run's chunk job: per row, the (mean, M2) over the chunk's pairs of its
    residuals r per label (parallel shifts included) and the counts of its pairs by paying
    paths (0, 1, 2; None for an exercise group); and per (slot, label, kind) of the
    total (slot −2) and of each row's slot (``slot``: frame position → slot, −1 in none),
    the (mean, M2) of Σ weight · r over the rows, path by path."""
    out, per_chunk = [], {}
    for j, (row, g, h, paying) in enumerate(_pairs(group, rows, seed, chunk, count, theta)):
        control = np.nan_to_num(row.control)
        r = row.parallel(g - beta[j][:, None] * (h - control[:, None]))
        mean = r.mean(axis=1)
        out.append((mean, ((r - mean[:, None]) ** 2).sum(axis=1),
                    None if paying is None else np.bincount(paying, minlength=PATTERNS)))
        for where in {-2, int(slot[row.position])} - {-1}:
            for label, kind, values in zip(row.labels, row.kinds, r):
                key = (where, label, kind)
                per_chunk[key] = per_chunk.get(key, 0.0) + weight[row.position] * values
    totals = {}
    for key, values in per_chunk.items():
        values = np.broadcast_to(values, (group.units(count),))
        mean = values.mean()
        totals[key] = (mean, ((values - mean) ** 2).sum())
    return out, totals


def bucket_estimates(frame: pd.DataFrame, market, paths, seed: int,
                     threads: int | None = None, weight: np.ndarray | None = None,
                     slot: np.ndarray | None = None, scheduler: str = "local",
                     theta: bool = True, exercised: bool = True, grid: dict | None = None,
                     policy: ExercisePolicy = ExercisePolicy()):
    """Per row and factor of the dated rows: ``(rows, aggregates)``.  ``rows``: a list of
    (frame position, label, kind, mean, se) per 1.00 of the factor and unit of quantity;
    ``aggregates``: {(slot, label, kind): (mean, se)} of Σ weight · estimate over the rows
    in each slot (``slot``: frame position → slot id, −1 in none; the total is slot −2,
    containing every row).  ``weight`` defaults to the quantity.  The pilot's and the
    main run's chunks run as chunk jobs on ``scheduler`` with ``threads``
    (:func:`greeks.engine.scheduler.completed`), merged in chunk order.  Without ``theta``
    a model whose theta takes paths of its own (Heston's) leaves it out (NaN).  American and
    bermudan rows of a model with ``exercise_buckets`` (GBM's, Heston's) are among them
    unless not ``exercised``; those of other models are left out.  The groups are planned as
    the engine's for ``paths`` (an automatic grid refined for it) on the run's ``grid``
    (``scheme``, ``steps_per_year``, ``first_step``; default the engine's defaults), so
    that they are the main run's paths; the exercise groups under the run's ``policy``."""
    from greeks.engine.scheduler import in_order

    weight = frame["quantity"].to_numpy(dtype=float) if weight is None else np.asarray(weight)
    slot = np.full(len(frame), -1) if slot is None else np.asarray(slot)
    groups = [replace(g, antithetic=True)
              for g in plan_groups(frame, **(grid or {}), method="auto", plain=False, paths=paths)
              if g.market is not None and (
                  adapter(g.model).exercise_buckets and exercised if g.method is Family.EXERCISE
                  else adapter(g.model).buckets)]
    groups = [exercise.prepare(g.with_extra(np.array([THETA, RHO])), seed, policy=policy,
                               choose=True)
              if g.method is Family.EXERCISE else g for g in groups]
    ids = frame["id"].to_numpy()
    plans = [adapter(g.model).exercise_bucket_rows(g, frame, market)
             if g.method is Family.EXERCISE else
             [adapter(g.model).bucket_row(g, j, frame, market) for j in range(g.n_rows)]
             for g in groups]
    counts = [paths_of(paths, g, ids, False) for g in groups]
    run = dict(threads=threads, scheduler=scheduler)
    pilot = [(i, streams.PILOT + c, n) for i, g in enumerate(groups)
             for c, n in g.chunks(pilot_paths(counts[i]))]
    collected = in_order(_bucket_pilot, groups, pilot, seed,
                         args=[(rows, theta) for rows in plans],
                         **run)
    betas = []
    for i, rows in enumerate(plans):
        sums = [np.zeros((3, len(r.control))) for r in rows]
        for (k, _, _), result in zip(pilot, collected):
            if k == i:
                for j in range(len(rows)):
                    sums[j] += result[j]
        # a control that is 0 up to rounding (a european's rate factor under Heston, whose
        # linear payoff's pathwise derivative cancels) is not used
        betas.append([np.where(s[1] > 1e-12 * s[2], s[0] / np.where(s[1] > 0, s[1], 1.0), 0.0)
                      for s in sums])
    tasks = [(i, streams.MAIN + c, n) for i, g in enumerate(groups) for c, n in g.chunks(counts[i])]
    results = in_order(_bucket_chunk, groups, tasks, seed,
                       args=[(rows, theta, beta, weight, slot)
                             for rows, beta in zip(plans, betas)],
                       **run)
    return _merged(groups, plans, tasks, results, weight, slot)


def _merged(groups, plans, tasks, results, weight, slot):
    """:func:`bucket_estimates`' rows and aggregates from the main run's chunk results,
    merged in chunk order; groups are independent, so their means and variances add.  The
    SEs of rows whose variation few pairs carry are raised (:func:`carried_se`), and the
    variance each gained, times its weight squared, is added to the total's and its
    slot's."""
    out, aggregates = [], {}
    for i, rows in enumerate(plans):
        moments = [Moments(len(r.labels)) for r in rows]
        counts = [np.zeros(PATTERNS, dtype=np.int64) for _ in rows]
        totals: dict = {}
        for (k, _, n), (per_row, per_key) in zip(tasks, results):
            if k != i:
                continue
            units = groups[i].units(n)
            for j in range(len(rows)):
                moments[j].merge(units, *per_row[j][:2])
                counts[j] = None if per_row[j][2] is None else counts[j] + per_row[j][2]
            for key, (mean, m2) in per_key.items():
                totals.setdefault(key, Moments(1)).merge(units, np.array([mean]),
                                                         np.array([m2]))
        added: dict = {}
        bounds = None
        for j, row in enumerate(rows):
            se = moments[j].standard_error
            m = None if counts[j] is None else int(carrying(counts[j], moments[j].count, 2))
            if m is not None and m < FEW:
                if bounds is None:
                    bounds = unseen_group_bounds(groups[i], max(moments[j].count, 2),
                                                 ("delta", "vega", RHO, THETA))
                raised = carried_se(row, m, se,
                                    kind_bounds(row.kinds, bounds[j],
                                                float(groups[i].maturity[j])))
                gained = weight[row.position] ** 2 * np.maximum(raised ** 2 - se ** 2, 0.0)
                for where in {-2, int(slot[row.position])} - {-1}:
                    for label, kind, v in zip(row.labels, row.kinds, gained):
                        if v > 0.0:
                            added[(where, label, kind)] = added.get((where, label, kind),
                                                                    0.0) + v
                se = raised
            for k, (label, kind) in enumerate(zip(row.labels, row.kinds)):
                out.append((row.position, label, kind, moments[j].mean[k], se[k]))
        for key, m in totals.items():
            mean, var = aggregates.get(key, (0.0, 0.0))
            var = var + m.standard_error[0] ** 2
            aggregates[key] = (mean + m.mean[0], var + added[key] if key in added else var)
    return out, {k: (m, np.sqrt(v)) for k, (m, v) in aggregates.items()}


def carried_se(row, m: int, se: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """A bucket row's SEs (per label) raised where few pairs carry its variation, as the
    main run's likelihood-ratio rows (:func:`greeks.engine.reduce.carried`): its labels
    that weigh the payoff (``row.counted``: likelihood-ratio weights and scores, not
    pathwise derivatives nor theta's differences) read an SE from the m pairs whose paths
    do not all agree on paying, and where m < ``FEW`` it is SE·sqrt((m + 1)/m), where
    m < ``TINY`` at least the unseen-event ``bound`` (:func:`kind_bounds`).  A Heston
    digital call 2.6 SD out of the money, one paying pair of 100,000: rho ± its estimate,
    z −4.5 and −5.6 on 2 of 24 seeds."""
    more = one_more(se, np.float64(m))
    return np.where(row.counted, np.maximum(more, bound) if m < TINY else more, se)


def kind_bounds(kinds, bounds: np.ndarray, maturity: float) -> np.ndarray:
    """Per label of ``kinds`` (:data:`greeks.market.factors.UNITS`' keys) the unseen-event
    bound of a row whose (delta, vega, rho, theta) bounds are ``bounds``
    (:func:`greeks.engine.reduce.unseen_bounds`): rate and yield nodes the parallel
    shift's rho bound (no node carries more than all of them), a proportional dividend
    (log G(T) moved by −1/(1 − y), as a yield by −T) rho/T, a cash dividend (moving the
    price by about its amount) delta, a vol node vega, theta its one day's."""
    delta, vega, rho, theta = bounds
    by_kind = {"rate": rho, "yield": rho, "dividend_yield": rho / maturity,
               "dividend_cash": delta, "vol": vega, "theta": theta * DAY}
    return np.array([by_kind[kind] for kind in kinds])


def bucket_table(frame: pd.DataFrame, market, paths, seed: int, threads: int | None = None,
                 weight: np.ndarray | None = None, subtotal: np.ndarray | None = None,
                 subtotal_names=(), scheduler: str = "local", grid: dict | None = None,
                 policy: ExercisePolicy = ExercisePolicy()) -> pd.DataFrame:
    """The long table of :func:`bucket_estimates` in desk units (:data:`UNITS`): columns
    ``position`` (a row's id, a subtotal's name, or ``TOTAL``), ``factor``, ``unit``,
    ``value``, ``se``; a position's values weighted by ``weight`` (default: quantity).
    Factors that are exactly 0 with SE 0 (nodes beyond a row's dates), or 0 up to rounding
    (value and SE below :data:`greeks.names.ROUNDING` of the table's largest value), are left out;
    ``threads``, ``scheduler``, ``grid``, ``policy`` as in :func:`bucket_estimates`."""
    weight = frame["quantity"].to_numpy(dtype=float) if weight is None else np.asarray(weight)
    rows, aggregates = bucket_estimates(frame, market, paths, seed, threads, weight, subtotal,
                                        scheduler, grid=grid, policy=policy)
    records = []
    for position, label, kind, mean, se in rows:
        unit, scale = UNITS[kind]
        records.append((str(frame["id"].iat[position]), label, unit,
                        weight[position] * scale * mean, abs(weight[position]) * scale * se))
    order = sorted(aggregates, key=lambda key: (key[0] == -2, key[0], key[1]))
    for where, label, kind in order:
        mean, se = aggregates[(where, label, kind)]
        unit, scale = UNITS[kind]
        name = "TOTAL" if where == -2 else str(subtotal_names[where])
        records.append((name, label, unit, scale * mean, scale * se))
    table = pd.DataFrame.from_records(records, columns=["position", "factor", "unit", "value",
                                                        "se"])
    # a node no path moves (beyond a row's dates): exactly 0 with SE 0, left out; and one
    # that is 0 up to rounding, value and SE below ROUNDING of the table's largest value (an
    # early vol node of a bermudan call never exercised early: the European control's
    # closed form, which the node does not move, on every path)
    small = ROUNDING * table["value"].abs().max() if len(table) else 0.0
    zero = (table["value"].abs() <= small) & (table["se"] <= small)
    return table[~zero].reset_index(drop=True)


def vega_buckets(frame: pd.DataFrame, market, paths, seed: int, threads: int | None = None,
                 scheduler: str = "local",
                 policy: ExercisePolicy = ExercisePolicy()) -> pd.DataFrame:
    """One row per (position, vol node) of the GBM rows off a market: ``id``,
    ``underlying``, ``node`` (the node's date, or ``flat``), ``vega``, ``vega_se`` (per
    1.00 of that node's vol, per unit of quantity): the vol buckets of
    :func:`bucket_estimates` (``threads``, ``scheduler``, ``policy`` as there)."""
    rows, _ = bucket_estimates(frame, market, paths, seed, threads, scheduler=scheduler,
                               theta=False, policy=policy)
    records = [{"id": frame["id"].iat[p], "underlying": frame["underlying"].iat[p],
                "node": label.split(":", 2)[2], "vega": mean, "vega_se": se}
               for p, label, kind, mean, se in rows
               if kind == "vol" and not label.endswith(":parallel")]
    return pd.DataFrame(records, columns=["id", "underlying", "node", "vega", "vega_se"])
