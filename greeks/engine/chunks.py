"""One chunk of a group's paths: simulated through its model's adapter, reduced to per-row
moments (and pilot sums)."""

from __future__ import annotations

import numpy as np

from greeks import estimators, exercise, parity, pathwise, payoffs, sensitivities
from greeks.allocator import keep_freed_memory
from greeks.engine.group import Group
from greeks.engine.methods import Family
from greeks.engine.reduce import paying_members
from greeks.models import adapter as model_of
from greeks.stats import unit_moments


def run_chunk(group: Group, seed: int, chunk: int, n_paths: int, collect: bool = False):
    """Simulate one chunk of a group.

    Returns the (rows + totals, 3 + extras + statistics, 2) array of (mean, M2) over the
    chunk's units (paths or antithetic pairs) of price, delta, vega, the group's further
    Greeks and its statistics (``Group.n_statistics``), the group total and subtotals last,
    and the pilot sums of the control regressions ((rows, N_SUMS) and (rows, extras,
    N_SUMS)), gathered with ``collect`` (zeros otherwise).  American and bermudan groups go
    to :func:`greeks.exercise.run_chunk`, knock-ins by parity to :func:`_parity_chunk`.
    """
    if group.method is Family.PARITY:
        return _parity_chunk(group, seed, chunk, n_paths, collect)
    keep_freed_memory()
    stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words, chunk))
    rows = group.n_rows
    coef = np.zeros((rows, 3, estimators.N_CONTROLS)) if group.coef is None else group.coef
    out = np.zeros((rows + group.n_totals, 3, 2))
    sums = np.zeros((rows, estimators.N_SUMS))
    rng = np.random.Generator(np.random.PCG64(stream))
    model = model_of(group.model)
    if group.method is Family.EXERCISE:
        return (exercise.run_chunk(group, stream, n_paths),
                (sums, np.zeros((rows, 0, sensitivities.N_SUMS))))
    if group.method in (Family.PATHWISE, Family.FD):
        _run_classical(group, stream, n_paths, out, sums)
        return out, (sums, np.zeros((rows, 0, sensitivities.N_SUMS)))
    if group.method is Family.RQMC:  # one replicate: its mean is one draw (M2 = 0)
        model.run_rqmc(group, seed, chunk, rng, n_paths, coef, out, sums)
        out[..., 1] = 0.0
        return out, (sums, np.zeros((rows, 0, sensitivities.N_SUMS)))
    if group.method is Family.SURVIVAL:
        s, columns, multipliers = model.run_survival(group, rng, n_paths, out)
        linear = s
    else:
        s, columns, multipliers, linear = model.run_likelihood_ratio(group, rng, n_paths, coef,
                                                                     collect, out, sums)
    if not group.extra.size:
        return out, (sums, np.zeros((rows, 0, sensitivities.N_SUMS)))
    extra_out, extra_sums = _run_extra(group, s, linear, columns, multipliers, n_paths,
                                       collect)
    return np.concatenate([out, extra_out], axis=1), (sums, extra_sums)


def _parity_chunk(group: Group, seed: int, chunk: int, n_paths: int, collect: bool):
    """A knock-in's chunk by in–out parity (:mod:`greeks.parity`): its knock-out twin's
    survival chunk on the same streams, turned by the vanilla's closed form (the model's
    ``parity_values``)."""
    moments_, sums = run_chunk(parity.knock_out_twin(group), seed, chunk, n_paths, collect)
    return parity.knock_in(group, moments_, model_of(group.model).parity_values(group)), sums


def _run_extra(group: Group, s, linear_s, columns, multipliers, n_paths: int, collect: bool):
    """The further Greeks of every row on one chunk's paths (:mod:`greeks.sensitivities`);
    ``columns`` maps the rows' dates to the columns of ``s`` (and of ``linear_s``, the
    prices the linear control L reads), ``multipliers(j, dates, out)`` fills row j's
    multipliers."""
    rows, count = group.n_rows, group.extra.size
    units = group.units(n_paths)
    coef = np.zeros((rows, count, 2)) if group.extra_coef is None else group.extra_coef
    out = np.zeros((rows + group.n_totals, count, 2))
    sums = np.zeros((rows, count, sensitivities.N_SUMS))
    totals = np.zeros((group.n_totals, count, units if rows > 1 else 0))
    payoff, linear = np.empty(n_paths), np.empty(n_paths)
    values = np.empty((count, n_paths))
    weight = group.extra_weight
    for j in range(rows):
        part = slice(group.date_start[j], group.date_start[j + 1])
        stored = np.ascontiguousarray(columns[part])
        if group.method is Family.SURVIVAL:  # Y on the conditioned paths (``s`` holds it)
            payoff[:], linear[:] = s[:, j], 0.0
        else:
            payoffs.evaluate(s, stored, group.payoff, j, payoff)
            estimators.linear_payoff(linear_s, stored, group.payoff.kind[j] == payoffs.ASIAN,
                                     group.payoff.discount[j], linear)
        multipliers(j, group.date_index[part], values)
        sensitivities.row_estimates(payoff, linear, values, units, group.antithetic,
                                    group.extra_means[j], coef[j], weight[j],
                                    group.total_of[j], rows > 1, collect, totals, out[j],
                                    sums[j])
    if not collect:
        sensitivities.group_totals(totals, weight, group.total_of, out)
    return out, sums


def _run_classical(group: Group, stream, n_paths: int, out, sums) -> None:
    """Pathwise or finite-difference estimates of every row of a group into ``out``
    (:mod:`greeks.pathwise`; the paths from the model's adapter): delta and vega from the
    central differences of bumps h and 2h, extrapolated.  A Greek no row takes from the
    run (``Group.needed``) is not bumped; a row's Greek it does not take reads 0."""
    model = model_of(group.model)
    if group.method is Family.PATHWISE:
        _path_moments(group, model.pathwise_values(group, stream, n_paths), n_paths, out,
                      sums)
        return
    needed = np.ones((group.n_rows, 3), dtype=bool) if group.needed is None else group.needed
    paths = model.bumped_paths(group, stream, n_paths, bool(needed[:, 1].any()),
                               bool(needed[:, 2].any()))
    prices = None  # the base and bumped prices, column-major (each date's prices contiguous)
    rows, smooth = [], []
    for j in range(group.n_rows):
        part = slice(group.date_start[j], group.date_start[j + 1])
        on = paths.conditional(j, paths.columns[part][0]) if paths.conditional else None
        smooth.append(on is not None)
        if on is None:
            if prices is None:
                prices = [None if s is None else np.asfortranarray(s)
                          for s in [paths.s] + paths.bumped]
            columns = np.ascontiguousarray(paths.columns[part])
            on = np.zeros((len(prices), n_paths))
            for k, s in enumerate(prices):
                if k == 0 or needed[j, 1 + (k - 1) // 4]:
                    payoffs.evaluate(s, columns, group.payoff, j, on[k])
        values = np.zeros((3, n_paths))
        values[0] = on[0]
        if needed[j, 1]:
            values[1] = pathwise.extrapolated(*on[1:5], paths.spot_step)
        if needed[j, 2]:
            values[2] = pathwise.extrapolated(*on[5:9], paths.vol_step)
        rows.append(values)
    _path_moments(group, rows, n_paths, out, sums, smooth)


def _path_moments(group: Group, rows: list, n_paths: int, out, sums, smooth=None) -> None:
    """(mean, M2) of each row's per-path (price, delta, vega) into ``out[j]`` and of the
    weighted group total and subtotals into ``out[rows:]``, over paths or antithetic pairs;
    each row's units by pattern into ``sums[j]`` (:func:`carried_sums`), except the rows
    ``smooth`` marks (conditional values, paid on every path)."""
    units = group.units(n_paths)
    totals = np.zeros((group.n_totals, 3, units))
    for j, values in enumerate(rows):
        paying = paying_members(values[0], units, group.antithetic)
        if group.antithetic:
            values = 0.5 * (values[:, :units] + values[:, units:2 * units])
        if not (smooth and smooth[j]):
            carried_sums(values, paying, 2 if group.antithetic else 1, sums[j])
        unit_moments((values[0], values[1], values[2]), units, False, out[j])
        weighted = group.weight[j][:, None] * values
        totals[0] += weighted
        if group.total_of[j] > 0:
            totals[group.total_of[j]] += weighted
    for t in range(group.n_totals):
        unit_moments((totals[t, 0], totals[t, 1], totals[t, 2]), units, False,
                     out[len(rows) + t])


def carried_sums(values: np.ndarray, paying: np.ndarray, every: int, sums: np.ndarray) -> None:
    """A row's units counted by paying members (``paying``: 0 … ``every``) into
    ``sums[:PATTERNS]``, ``sums[PATTERNS]`` = 1, and the sums over the units that carry its
    variation (those of neither common pattern, none or ``every`` member paying, whichever
    is less common) of the squared deviations of their (price, delta, vega) ``values``
    from the mean over the units of the more common one into ``sums[PATTERNS + 1:]``
    (:func:`greeks.engine.reduce.carried`).  Without controls the smooth variation of the
    common pattern stays in every unit; what the few carrying units add is a jump from it."""
    counts = np.bincount(paying, minlength=estimators.PATTERNS)
    sums[:estimators.PATTERNS] = counts
    sums[estimators.PATTERNS] = 1.0
    common = every if counts[every] >= counts[0] else 0
    carrying = paying != common
    if carrying.any() and not carrying.all():
        base = values[:, ~carrying].mean(axis=1)
        sums[estimators.PATTERNS + 1:estimators.PATTERN_SUMS] = (
            (values[:, carrying] - base[:, None]) ** 2).sum(axis=1)
