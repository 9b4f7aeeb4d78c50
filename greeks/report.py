"""Risk reports: exposures in desk units, subtotals by any columns, a grand total.

Per position (rows of one or more instrument files), with q the signed quantity times the
contract ``multiplier`` (default 1):

    market_value   = q · price
    dollar_delta   = q · S0 · delta          (P&L per 1.00 relative move of the spot)
    vega_per_point = q · vega / 100          (P&L per volatility point)

and with the further Greeks asked for (``greeks``),

    dollar_gamma   = q · S0² · gamma / 100   (change of dollar_delta per 1 % move)
    theta_per_day  = q · theta / 365         (P&L of one calendar day passing)
    rho_per_bp     = q · rho_rate / 10⁴      (P&L per basis point of the rate)

A subtotal is the sum of its positions' exposures.  Positions that share a simulation
are correlated, so a subtotal's standard error is computed from per-path sums of the
exposures within each simulation group (:mod:`greeks.engine`); different groups are
independent, so their variances add.

The engine weighs every further Greek of a row by one weight: gamma's, q·S0²/100, differs
from group to group, theta's and rho's are q times a constant.  Theta and rho are therefore
weighed by q and scaled afterwards, and with gamma they take a run of their own (of the
rows whose model's chunks estimate them, GBM's: it simulates the same paths again), and a
run of the american and bermudan rows of the other models whose exercise kernels estimate
them (Heston's).  Other Heston rows get theta and rho by bump and revalue
(:mod:`greeks.revaluation`, :mod:`greeks.models.heston.sensitivities`), whose totals weigh
the rows by quantity; a subtotal's comes from a run of the simulations it touches with the
quantities of the other rows set to 0 (the same paths).
"""

from __future__ import annotations

import datetime
import hashlib
import math
import os
import time
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import numpy as np
import pandas as pd

from greeks import __version__
from greeks.api import (
    exercise_rows,
    load,
    missed_targets,
    path_count,
    run_attributes,
    simulate,
    sized_paths,
    unseen_floor,
)
from greeks.dask_client import check_reachable
from greeks.instruments import InputError
from greeks.market.positions import MULTIPLIER, OVERRIDES, dated_rows
from greeks.models import MODELS, adapter
from greeks.names import DESK_UNITS, INPUT_FORMATS, OptionError, check_run_options
from greeks.revaluation import revalued_except, revaluing

EXPOSURES = ("market_value", "dollar_delta", "vega_per_point")  # then DESK_UNITS' values
SCALES = {"theta": 1.0 / 365.0, "rho": 1e-4}  # desk unit per unit of q·Greek


def instrument_paths(sources: Iterable[str | os.PathLike]) -> list[Path]:
    """The files named, a folder standing for its .csv/.parquet/.json files (sorted)."""
    paths: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in INPUT_FORMATS)
            if not found:
                raise InputError(str(path), "the folder holds no .csv, .parquet or .json file")
            paths.extend(found)
        else:
            paths.append(path)
    if not paths:
        raise InputError("report", "no instrument file given")
    return paths


def load_positions(sources, market=None, extra_columns=(), options=None) -> pd.DataFrame:
    """One validated frame from a DataFrame or from instrument files and folders (priced off
    ``market`` if given; each file's rows that a run of ``options`` cannot estimate refused,
    as in :func:`greeks.api.load`); ids must be unique across files (the message names the
    file and row of the second one)."""
    if isinstance(sources, pd.DataFrame):
        return load(sources, market, extra_columns, options)
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    if market is not None:
        from greeks.market import load_market

        market = load_market(market)
    frames, seen = [], {}
    for path in instrument_paths(sources):
        frame = load(path, market, extra_columns, options)
        for position, identifier in enumerate(frame["id"]):
            if identifier in seen:
                raise InputError(str(path),
                                 f"id {identifier!r} is already used in {seen[identifier]}",
                                 row=position + 1, column="id")
            seen[identifier] = str(path)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


class Exposure(NamedTuple):
    """One exposure of every position, of the total and of every subtotal, with SEs."""

    rows: np.ndarray
    rows_se: np.ndarray
    total: float
    total_se: float
    subtotals: np.ndarray
    subtotals_se: np.ndarray


def risk_report(sources, *, by=(), paths: int | None = None, seed: int | None = None,
                threads: int | None = None, scheme: str | None = None,
                steps_per_year: float | None = None, first_step: float | None = None,
                method: str | None = None, greeks=(), target_se=None,
                max_paths: int | None = None, scheduler: str | None = None,
                plain: bool = False, market=None, extra_columns=(),
                policy: str | None = None, policy_paths: int | None = None,
                progress: Callable[[float, float], None] | None = None) -> pd.DataFrame:
    """Exposures by the ``by`` columns with standard errors, and the grand total.

    Parameters
    ----------
    sources : path, list of paths/folders, or pandas.DataFrame
        Instrument files (a folder stands for its .csv/.parquet/.json files).
    by : column name(s)
        Subtotal keys: a list (``["underlying", "book"]``) or a comma-separated string
        (``"underlying,book"``); empty: the total only.
    greeks : names, or a comma-separated string of them
        Further Greeks with a desk unit (module docstring): ``gamma``, ``theta``, ``rho``
        (``all``: every one); others are an :class:`~greeks.names.OptionError`.
    paths, seed, threads, scheme, steps_per_year, first_step, method, target_se, max_paths, \
scheduler, plain, extra_columns, policy, policy_paths, progress
        As in :func:`greeks.price_portfolio`.
    market : path or dict
        A market file to price dated positions off (:func:`greeks.price_portfolio`); of the
        further Greeks gamma, theta and rho are available (others: an
        :class:`~greeks.names.OptionError`), theta and rho from their buckets
        (:mod:`greeks.engine.buckets`: ``theta_per_day`` the one-day change, ``rho_per_bp``
        the parallel shift of the rate curve), american and bermudan rows from the
        engine (:mod:`greeks.models.gbm.exercise_carry`,
        :mod:`greeks.models.heston.exercise_carry`).

    Returns
    -------
    pandas.DataFrame
        One row per combination of the ``by`` values (sorted), then a row whose first key
        is ``TOTAL``: ``positions``, and ``market_value``, ``dollar_delta``,
        ``vega_per_point`` (and ``dollar_gamma``, ``theta_per_day``, ``rho_per_bp``), each
        with ``_se``.  ``attrs["positions"]`` holds the per-position
        exposures (with ``id`` and the ``by`` columns), ``attrs["metadata"]`` the run
        (version, time, seed, paths, method, input files' SHA-256), which an output file
        stores with the table (Parquet key-value metadata, a JSON header, an HTML report);
        ``attrs["overrides"]`` the market columns that positions' own values replaced, by id.
    """
    options = check_run_options(
        paths=paths, seed=seed, threads=threads, scheme=scheme, steps_per_year=steps_per_year,
        first_step=first_step, method=method, greeks=greeks, target_se=target_se,
        max_paths=max_paths, scheduler=scheduler, plain=plain, policy=policy,
        policy_paths=policy_paths, desk_units=True)
    by = _by(by)
    if market is not None and set(options.greeks) - {"gamma", "theta", "rho"}:
        raise OptionError("greeks: of the further Greeks gamma, theta and rho are available "
                          "for positions priced off a market")
    frame = load_positions(sources, market, extra_columns, options)
    inputs = ({} if isinstance(sources, pd.DataFrame) else
              {str(path): hashlib.sha256(path.read_bytes()).hexdigest()
               for path in instrument_paths([sources] if isinstance(sources, (str, os.PathLike))
                                            else sources)})
    keys, subtotal, _ = _subtotals(frame, by)
    check_reachable(options.scheduler)
    start = time.perf_counter()
    paths, unmet = sized_paths(frame, options, options.greeks)
    exposures, estimates = _exposures(frame, options, paths, subtotal, progress, market)
    unmet = missed_targets(frame, estimates, options, unmet)
    table = _table(frame, by, keys, subtotal, exposures)
    table.attrs.update(positions=_positions(frame, by, exposures), by=by,
                       multiplied=MULTIPLIER in frame.columns,
                       overrides=_overrides(frame),
                       **run_attributes(options, paths, unmet))
    table.attrs["metadata"] = dict(
        greeks=__version__, created=datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"), seed=options.seed, paths=table.attrs["paths"],
        method=options.method, scheme=options.scheme,
        steps_per_year=table.attrs["steps_per_year"], first_step=options.first_step,
        plain=options.plain, target_se=options.target_se, by=",".join(by),
        further_greeks=",".join(options.greeks),
        seconds=round(time.perf_counter() - start, 3), inputs=inputs)
    return table


def _overrides(frame: pd.DataFrame) -> dict[str, str]:
    """The ``overrides`` (market columns a row gave itself, ``;``-separated) of each row
    priced off a market that has any, by id."""
    if OVERRIDES not in frame.columns:
        return {}
    return {str(identifier): columns for identifier, columns in zip(frame["id"], frame[OVERRIDES])
            if columns}


def _by(by) -> list[str]:
    """The ``by`` columns: names, or one comma-separated string of them."""
    by = [name.strip() for name in by.split(",")] if isinstance(by, str) else list(by)
    return [name for name in by if name]


def _subtotals(frame: pd.DataFrame, by: list[str]):
    """(keys, subtotal, names): the ``by`` columns as text, each row's subtotal id (sorted
    by its keys; −1 without ``by``) and each subtotal's name (its keys joined by ``/``); an
    :class:`OptionError` for a ``by`` column the frame lacks."""
    missing = [name for name in by if name not in frame.columns]
    if missing:
        raise OptionError(f"by: no column {missing[0]!r}; the columns are "
                          + ", ".join(frame.columns))
    keys = frame[by].astype(str) if by else pd.DataFrame(index=frame.index)
    subtotal = (keys.groupby(by, sort=True).ngroup().to_numpy() if by
                else np.full(len(frame), -1))
    names = (keys.groupby(by, sort=True).first().index.map(
        lambda k: "/".join(k) if isinstance(k, tuple) else str(k)).tolist() if by else [])
    return keys, subtotal, names


def _exposures(frame, options, paths, subtotal, progress, market=None):
    """Every exposure asked for, by name, in the order of the report's columns; and the
    engine's estimates of price, delta and vega (and the main run's further Greeks)."""
    quantity = frame["quantity"].to_numpy(dtype=float)
    if MULTIPLIER in frame.columns:  # contracts
        quantity = quantity * frame[MULTIPLIER].to_numpy(dtype=float)
    spot = frame["spot"].to_numpy(dtype=float)
    gamma = "gamma" in options.greeks
    rates = tuple(name for name in options.greeks if name in SCALES)
    dated = bool(dated_rows(frame).any())  # with a market: rates from the buckets
    first = ("gamma",) if gamma else () if dated else options.greeks  # the main run's
    weight = np.stack([quantity, quantity * spot, quantity / 100.0,
                       quantity * spot * spot / 100.0 if gamma else quantity], axis=1)
    count = 1 + int(subtotal.max(initial=-1))
    estimates = simulate(frame, options, paths, progress, weight=weight, subtotal=subtotal,
                         extra=first)
    parts = {name: _engine_part(estimates, k, weight[:, min(k, 3)], count)
             for k, name in enumerate(EXPOSURES + first)}
    if dated and rates:
        parts.update(_dated_rates(frame, market, options, paths, subtotal, count, rates,
                                  quantity))
    elif gamma and rates:
        parts.update(_engine_rates(frame, options, paths, subtotal, count, rates, progress))
    if (dated or gamma) and rates:
        exercised = exercise_rows(frame) & np.isin(
            frame["model"].to_numpy(dtype=object),
            [name for name in MODELS if adapter(name).carries_exercise])
        exercised &= np.isnan([parts[name].rows for name in rates]).any(axis=0)
        if exercised.any():  # american and bermudan rows without buckets (off a market)
            # or of a model whose chunks do not estimate them (Heston's): the engine's
            found = _engine_rates(frame, options, paths, subtotal, count, rates, progress,
                                  exercised, quantity)
            parts.update({name: _combined(parts[name], found[name]) for name in rates})
    if rates and not dated and revaluing(frame, rates).any():
        revalued = _revalued_rates(frame, options, paths, subtotal, count, rates)
        parts.update({name: _combined(parts[name], revalued[name]) for name in rates})
    if rates:
        parts.update(_floored(frame, {name: parts[name] for name in rates}, paths, quantity,
                              subtotal))
    out = {}
    for name in EXPOSURES + tuple(DESK_UNITS):
        if name in parts:
            out[DESK_UNITS.get(name, name)] = _scaled(parts[name], SCALES.get(name, 1.0),
                                                      name in DESK_UNITS, subtotal)
    return out, estimates


def _engine_part(estimates, k: int, weight: np.ndarray, count: int) -> Exposure:
    """The ``k``-th quantity of an engine run with ``count`` subtotals (a run of some rows
    may miss the last ones), weighted by ``weight`` as in the run's totals."""
    subtotals = np.zeros((count, estimates.total_mean.size))
    subtotals_se = subtotals.copy()
    found = estimates.subtotal_mean.shape[0]
    subtotals[:found], subtotals_se[:found] = estimates.subtotal_mean, estimates.subtotal_se
    return Exposure(weight * estimates.mean[:, k], np.abs(weight) * estimates.se[:, k],
                    float(estimates.total_mean[k]), float(estimates.total_se[k]),
                    subtotals[:, k], subtotals_se[:, k])


def _engine_rates(frame, options, paths, subtotal, count, rates, progress,
                  among=None, quantity=None) -> dict:
    """Theta and rho weighed by ``quantity`` (default: the quantity column), from a run of
    the rows ``among`` (american and bermudan rows of the models whose exercise kernels
    estimate them: :meth:`greeks.engine.group.Group.with_extra`), default those whose
    model's chunks estimate them (its adapter's ``further``: GBM's; module docstring)."""
    from greeks.sensitivities import NAMES

    codes = {NAMES.index(name) for name in rates}
    estimating = [name for name in MODELS if codes <= set(adapter(name).further)]
    rows = (np.isin(frame["model"].to_numpy(dtype=object), estimating) if among is None
            else among)
    nan = np.full(len(frame), np.nan)
    empty = Exposure(nan, nan, 0.0, 0.0, np.zeros(count), np.zeros(count))
    if not rows.any():
        return {name: empty for name in rates}
    part = frame[rows].reset_index(drop=True)
    quantity = (part["quantity"].to_numpy(dtype=float) if quantity is None
                else np.asarray(quantity, dtype=float)[rows])
    estimates = simulate(part, options, paths, progress,
                         weight=np.repeat(quantity[:, None], 4, axis=1),
                         subtotal=subtotal[rows], extra=rates)
    out = {}
    for k, name in enumerate(rates):
        found = _engine_part(estimates, 3 + k, quantity, count)
        values, values_se = nan.copy(), nan.copy()
        values[rows], values_se[rows] = found.rows, found.rows_se
        out[name] = found._replace(rows=values, rows_se=values_se)
    return out


def _dated_rates(frame, market, options, paths, subtotal, count, rates, quantity) -> dict:
    """Theta and rho of the rows priced off a market weighed by ``quantity``, from their
    buckets on the main run's paths (:mod:`greeks.engine.buckets`): rho the parallel shift
    of each row's rate curve, theta 365 × the one-day change; american and bermudan rows
    NaN (their buckets' theta and rho are the engine's columns, which :func:`_exposures`
    takes from the engine)."""
    from greeks.engine.buckets import bucket_estimates
    from greeks.market import load_market

    market = load_market(market)
    found, aggregates = bucket_estimates(frame, market, paths, options.seed, options.threads,
                                         quantity, subtotal, options.scheduler,
                                         theta="theta" in rates, exercised=False,
                                         grid=options.grid)
    kinds, scale = {"rho": "rate", "theta": "theta"}, {"rho": 1.0, "theta": 365.0}
    out = {}
    for name in rates:
        kind = kinds[name]
        rows, rows_se = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
        labels = set()
        for position, label, kind_, value, error in found:
            if kind_ != kind:
                continue
            parallel = label.endswith(":parallel") or kind == "theta" or not any(
                f"{label.rsplit(':', 1)[0]}:parallel" == other[1] for other in found)
            if parallel:
                labels.add(label)
                rows[position] = scale[name] * quantity[position] * value
                rows_se[position] = scale[name] * abs(quantity[position]) * error
        sums, sums_se = np.zeros(count), np.zeros(count)
        total, total_var = 0.0, 0.0
        for (where, label, _), (value, error) in aggregates.items():
            if label not in labels:
                continue
            if where == -2:
                total, total_var = total + value, total_var + error ** 2
            else:
                sums[where] += value
                sums_se[where] = math.hypot(sums_se[where], error)
        out[name] = Exposure(rows, rows_se, scale[name] * total,
                             scale[name] * math.sqrt(total_var), scale[name] * sums,
                             scale[name] * sums_se)
    return out


def _revalued_rates(frame, options, paths, subtotal, count, rates) -> dict:
    """Theta and rho weighed by quantity of the rows whose model revalues them (Heston's;
    :mod:`greeks.revaluation`, module docstring); american and bermudan rows, which no
    revaluation prices, NaN."""
    from greeks import engine

    def run(rows):
        return revalued_except(rows, exercise_rows(rows), rates, path_count(paths), options)

    quantity = frame["quantity"].to_numpy(dtype=float)
    mean, se, total, total_se, _ = run(frame)
    sums, sums_se = np.zeros((count, len(rates))), np.zeros((count, len(rates)))
    revaluing_models = {name for name in MODELS if set(rates) <= set(adapter(name).revalued)}
    groups = [group.positions for group in engine.plan_groups(
        frame, options.scheme, options.steps_per_year, options.first_step)
        if group.model in revaluing_models]
    for i in range(count):
        touched = [rows for rows in groups if (subtotal[rows] == i).any()]
        if touched:
            rows = np.sort(np.concatenate(touched))
            masked = frame.iloc[rows].assign(
                quantity=np.where(subtotal[rows] == i, quantity[rows], 0.0))
            _, _, sums[i], sums_se[i], _ = run(masked.reset_index(drop=True))
    return {name: Exposure(quantity * mean[:, k], np.abs(quantity) * se[:, k],
                           float(total[k]), float(total_se[k]), sums[:, k], sums_se[:, k])
            for k, name in enumerate(rates)}


def _floored(frame, parts: dict, paths, quantity, subtotal) -> dict:
    """``parts`` (weighed by ``quantity``) with the positions' SEs raised by
    :func:`greeks.api.unseen_floor` (the revalued and bucket rho and theta, which the
    engine's reduction does not floor; the others stay as they are), the subtotals' and the
    total's by the variance added to their positions."""
    names = list(parts)
    size = np.abs(quantity)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.stack([np.where(size > 0.0, parts[name].rows_se / size, np.nan)
                       for name in names], axis=1)
    added = unseen_floor(frame, names, se, paths)
    out = {}
    for k, name in enumerate(names):
        part = parts[name]
        gained = quantity ** 2 * added[:, k]
        sums = np.array([math.fsum(gained[subtotal == i]) for i in range(part.subtotals.size)])
        out[name] = part._replace(
            rows_se=np.where(added[:, k] > 0.0, size * se[:, k], part.rows_se),
            total_se=math.sqrt(part.total_se ** 2 + math.fsum(gained)),
            subtotals_se=np.sqrt(part.subtotals_se ** 2 + sums))
    return out


def _combined(first: Exposure, second: Exposure) -> Exposure:
    """Two independent parts of an exposure over disjoint rows: values add, variances too."""
    taken = np.isnan(first.rows)
    return Exposure(np.where(taken, second.rows, first.rows),
                    np.where(taken, second.rows_se, first.rows_se),
                    first.total + second.total, math.hypot(first.total_se, second.total_se),
                    first.subtotals + second.subtotals,
                    np.hypot(first.subtotals_se, second.subtotals_se))


def _scaled(part: Exposure, scale: float, checked: bool, subtotal: np.ndarray) -> Exposure:
    """``part`` in desk units; ``checked``: the total NaN unless every position has a value,
    and a subtotal unless every position in it has one (``subtotal``: each row's id)."""
    missing = np.isnan(part.rows)
    if checked and missing.any():
        lacking = np.isin(np.arange(part.subtotals.size), subtotal[missing])
        part = part._replace(total=math.nan, total_se=math.nan,
                             subtotals=np.where(lacking, np.nan, part.subtotals),
                             subtotals_se=np.where(lacking, np.nan, part.subtotals_se))
    if scale == 1.0:
        return part
    return Exposure(*(value * scale for value in part))


def _positions(frame, by, exposures: dict[str, Exposure]) -> pd.DataFrame:
    positions = frame[["id", *by]].copy()
    for name, exposure in exposures.items():
        positions[name] = exposure.rows
        positions[f"{name}_se"] = exposure.rows_se
    return positions


def _table(frame, by, keys, subtotal, exposures: dict[str, Exposure]) -> pd.DataFrame:
    """One line per subtotal, then the total."""
    rows = []
    if by:
        labels = keys.groupby(by, sort=True).first().index
        counts = np.bincount(subtotal, minlength=len(labels))
        for i, label in enumerate(labels):
            label = label if isinstance(label, tuple) else (label,)
            rows.append(dict(zip(by, label), positions=int(counts[i]),
                             **_values(exposures, lambda e: (e.subtotals[i],
                                                             e.subtotals_se[i]))))
    total_keys = {name: ("TOTAL" if i == 0 else "") for i, name in enumerate(by or ["group"])}
    rows.append(dict(total_keys, positions=len(frame),
                     **_values(exposures, lambda e: (e.total, e.total_se))))
    return pd.DataFrame(rows)


def _values(exposures: dict[str, Exposure], pick) -> dict:
    out = {}
    for name, exposure in exposures.items():
        value, se = pick(exposure)
        out[name], out[f"{name}_se"] = float(value), float(se)
    return out


def bucket_report(sources, *, market, by=(), paths: int | None = None, seed: int | None = None,
                  threads: int | None = None, scheduler: str | None = None,
                  scheme: str | None = None, steps_per_year: float | None = None,
                  first_step: float | None = None, policy: str | None = None,
                  policy_paths: int | None = None, extra_columns=()) -> pd.DataFrame:
    """Bucketed Greeks of the positions priced off ``market``
    (:mod:`greeks.engine.buckets`), each ± its standard error, in desk units: a long table
    with ``position`` (a position's id, a subtotal's ``by`` values joined by ``/``, or
    ``TOTAL``), ``factor`` (``vol:SPX:2027-12-01``, ``rate:USD:2028-03-01``,
    ``yield:SPX:flat``, ``dividend:AAPL:2027-05-10``, ``…:parallel``, ``theta:SPX``),
    ``unit``, ``value``, ``se``.  A position's values are per quantity × multiplier;
    ``threads`` and ``scheduler`` run the chunks, as in :func:`greeks.price_portfolio`; the
    paths are those of a run of ``paths`` on the grid of ``scheme``, ``steps_per_year`` and
    ``first_step`` (as there).  American and bermudan rows get theirs under their exercise
    ``policy`` (and ``policy_paths``)
    (:mod:`greeks.models.gbm.exercise_buckets`, :mod:`greeks.models.heston.exercise_buckets`);
    those of a model without (``exercise_buckets``) are left out, their ids in
    ``attrs["left_out"]``."""
    from greeks.engine.buckets import bucket_table
    from greeks.market import load_market

    options = check_run_options(paths=paths, seed=seed, threads=threads, scheduler=scheduler,
                                scheme=scheme, steps_per_year=steps_per_year,
                                first_step=first_step, policy=policy, policy_paths=policy_paths)
    market = load_market(market)
    by = _by(by)
    frame = load_positions(sources, market, extra_columns)
    keys, subtotal, names = _subtotals(frame, by)
    check_reachable(options.scheduler)
    weight = frame["quantity"].to_numpy(dtype=float)
    if MULTIPLIER in frame.columns:
        weight = weight * frame[MULTIPLIER].to_numpy(dtype=float)
    table = bucket_table(frame, market, options.paths, options.seed, options.threads, weight,
                         subtotal, names, options.scheduler, options.grid, options.policy)
    bucketed = np.isin(frame["model"].to_numpy(dtype=object),
                       [name for name in MODELS if adapter(name).exercise_buckets])
    table.attrs.update(seed=options.seed, paths=options.paths, by=by,
                       left_out=frame["id"][exercise_rows(frame)
                                           & ~(bucketed & dated_rows(frame))].tolist())
    table.attrs["metadata"] = dict(greeks=__version__, seed=options.seed, paths=options.paths,
                                   by=",".join(by), buckets=True)
    return table
