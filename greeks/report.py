"""Risk reports: exposures in desk units, subtotals by any columns, a grand total.

Per position (rows of one or more instrument files), with q the signed quantity:

    market_value   = q · price
    dollar_delta   = q · S0 · delta          (P&L per 1.00 relative move of the spot)
    vega_per_point = q · vega / 100          (P&L per volatility point)
    dollar_gamma   = q · S0² · gamma / 100   (change of dollar_delta per 1 % move; with
                                              ``gamma``)

A subtotal is the sum of its positions' exposures.  Positions that share a simulation
are correlated, so a subtotal's standard error is computed from per-path sums of the
exposures within each simulation group (:mod:`greeks.engine`); different groups are
independent, so their variances add.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from greeks.instruments import InputError

EXPOSURES = ("market_value", "dollar_delta", "vega_per_point", "dollar_gamma")
READABLE = (".csv", ".parquet", ".json")


def instrument_paths(sources: Iterable[str | os.PathLike]) -> list[Path]:
    """The files named, a folder standing for its .csv/.parquet/.json files (sorted)."""
    paths: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in READABLE)
            if not found:
                raise InputError(str(path), "the folder holds no .csv, .parquet or .json file")
            paths.extend(found)
        else:
            paths.append(path)
    if not paths:
        raise InputError("report", "no instrument file given")
    return paths


def load_positions(sources) -> pd.DataFrame:
    """One validated frame from a DataFrame or from instrument files and folders; ids must be
    unique across files (the message names the file and row of the second one)."""
    from greeks.api import load

    if isinstance(sources, pd.DataFrame):
        return load(sources)
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    frames, seen = [], {}
    for path in instrument_paths(sources):
        frame = load(path)
        for position, identifier in enumerate(frame["id"]):
            if identifier in seen:
                raise InputError(str(path), f"id {identifier!r} is already used in {seen[identifier]}",
                                 row=position + 1, column="id")
            seen[identifier] = str(path)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def risk_report(sources, by: Iterable[str] = (), paths: int | None = None,
                seed: int | None = None, threads: int | None = None,
                report: Callable[[float, float], None] | None = None,
                scheme: str | None = None, steps_per_year: float | None = None,
                gamma: bool = False, scheduler: str | None = None) -> pd.DataFrame:
    """Exposures by the ``by`` columns with standard errors, and the grand total.

    Parameters
    ----------
    sources : path, list of paths/folders, or pandas.DataFrame
        Instrument files (a folder stands for its .csv/.parquet/.json files).
    by : column names
        Subtotal keys (e.g. ``["underlying", "book"]``); empty: the total only.
    paths, seed, threads, report, scheme, steps_per_year, scheduler
        As in :func:`greeks.price_portfolio`.
    gamma : bool
        Also estimate gamma and report ``dollar_gamma``.

    Returns
    -------
    pandas.DataFrame
        One row per combination of the ``by`` values (sorted), then a row whose first key
        is ``TOTAL``: ``positions``, and ``market_value``, ``dollar_delta``,
        ``vega_per_point`` (and ``dollar_gamma``), each with ``_se``.  ``attrs["positions"]`` holds the per-position
        exposures (with ``id`` and the ``by`` columns), ``attrs["metadata"]`` the run
        (version, time, seed, paths, method, input files' SHA-256), which ``--output`` stores
        with the table (Parquet key-value metadata, a JSON header, an HTML report).
    """
    from greeks import engine
    from greeks.api import check_run_options

    frame = load_positions(sources)
    inputs = ({} if isinstance(sources, pd.DataFrame) else
              {str(path): hashlib.sha256(path.read_bytes()).hexdigest()
               for path in instrument_paths([sources] if isinstance(sources, (str, os.PathLike))
                                            else sources)})
    by = list(by)
    missing = [name for name in by if name not in frame.columns]
    if missing:
        raise InputError("--by", f"no column {missing[0]!r}; the columns are "
                         + ", ".join(frame.columns))
    paths = engine.DEFAULT_PATHS if paths is None else paths
    seed = engine.DEFAULT_SEED if seed is None else seed
    scheme = engine.DEFAULT_SCHEME if scheme is None else scheme
    steps_per_year = engine.DEFAULT_STEPS_PER_YEAR if steps_per_year is None else steps_per_year
    check_run_options(paths, seed, threads, scheme, steps_per_year or 1.0)

    quantity = frame["quantity"].to_numpy(dtype=float)
    spot = frame["spot"].to_numpy(dtype=float)
    weight = np.stack([quantity, quantity * spot, quantity / 100.0,
                       quantity * spot * spot / 100.0], axis=1)
    exposures = EXPOSURES if gamma else EXPOSURES[:3]
    keys = frame[by].astype(str) if by else pd.DataFrame(index=frame.index)
    subtotal = (keys.groupby(by, sort=True).ngroup().to_numpy() if by
                else np.full(len(frame), -1))
    start = time.perf_counter()
    estimates = engine.simulate(frame, int(paths), int(seed), threads, report, scheme,
                                float(steps_per_year), weight=weight, subtotal=subtotal,
                                extra=("gamma",) if gamma else (),
                                scheduler=scheduler or "local")

    positions = frame[["id", *by]].copy()
    for k, name in enumerate(exposures):
        positions[name] = weight[:, k] * estimates.mean[:, k]
        positions[f"{name}_se"] = np.abs(weight[:, k]) * estimates.se[:, k]
    rows = []
    if by:
        labels = keys.groupby(by, sort=True).first().index
        counts = np.bincount(subtotal, minlength=len(labels))
        for i, label in enumerate(labels):
            label = label if isinstance(label, tuple) else (label,)
            rows.append(dict(zip(by, label), positions=int(counts[i]),
                             **_exposures(exposures, estimates.subtotal_mean[i],
                                          estimates.subtotal_se[i])))
    total_keys = {name: ("TOTAL" if i == 0 else "") for i, name in enumerate(by or ["group"])}
    rows.append(dict(total_keys, positions=len(frame),
                     **_exposures(exposures, estimates.total_mean, estimates.total_se)))
    table = pd.DataFrame(rows)
    from greeks import __version__

    table.attrs.update(positions=positions, by=by, paths=int(paths), seed=int(seed),
                       scheme=scheme,
                       steps_per_year=float(steps_per_year) if steps_per_year else "auto")
    table.attrs["metadata"] = dict(
        greeks=__version__, created=datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"), seed=int(seed), paths=int(paths), method="auto", scheme=scheme,
        steps_per_year=float(steps_per_year) if steps_per_year else "auto", by=",".join(by),
        gamma=bool(gamma),
        seconds=round(time.perf_counter() - start, 3), inputs=inputs)
    return table


def _exposures(names, mean: np.ndarray, se: np.ndarray) -> dict:
    out = {}
    for k, name in enumerate(names):
        out[name] = float(mean[k])
        out[f"{name}_se"] = float(se[k])
    return out
