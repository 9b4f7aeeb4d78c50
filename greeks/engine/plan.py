"""Planning: rows grouped into simulations, each with its grid, streams and row data."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd

from greeks import payoff_table, payoffs
from greeks.engine.group import Group
from greeks.engine.methods import Family, row_estimators
from greeks.models import adapter as model_of
from greeks.names import (  # a scheme's code is its index
    AUTO_STEPS,
    DEFAULT_SCHEME,
    SCHEMES,
)

DATE_TOLERANCE = 1e-12  # years; dates closer than this are one grid point


def _group_key(row, family: Family) -> tuple[str, str]:
    """(group key, simulation key) of a row: the key names the group and seeds its streams;
    groups of a ``separate`` family add their family to the simulation's key (and share
    its path count under a target SE); a survival-conditioned row is keyed by its id."""
    if family is Family.SURVIVAL:
        key = f"survival;id={row.id};{_parameters(row)}" + _market(row)
        return key, key
    simulation = _simulation_key(row)
    return (f"{simulation};method={family.value}" if family.separate else simulation), simulation


def _parameters(row) -> str:
    return "".join(f"{name}={float(getattr(row, name))!r};"
                   for name in model_of(row.model).parameters)


def _market(row) -> str:
    return f"spot={float(row.spot)!r};rate={float(row.rate)!r};dividend={float(row.dividend)!r}"


def _simulation_key(row) -> str:
    return f"model={row.model};{_parameters(row)}{_market(row)};underlying={row.underlying}"


def row_dates(maturity: float, fixings: int) -> np.ndarray:
    """The equally spaced dates T·k/n, k = 1..n, of a row (the last is T)."""
    return maturity * np.arange(1, fixings + 1) / fixings


def plan_groups(frame: pd.DataFrame, scheme: str = DEFAULT_SCHEME,
                steps_per_year: float = AUTO_STEPS,
                first_step: float = 0.0, method: str = "lr", plain: bool = True, *,
                paths=0) -> list[Group]:
    """Group the rows of a validated frame into simulations and plan their grids.  Rows
    share a simulation when they share the model, its parameters and the estimator family
    (:func:`greeks.engine.methods.row_estimators`); a survival-conditioned knock-out row is
    a simulation of its own.

    ``paths`` is the run's path count, or a mapping from group key to its count (as in
    :func:`greeks.engine.run.simulate`; 0: unknown): an automatic grid is refined for it
    (the model's ``grid_steps``; :func:`greeks.models.heston.adapter.steps_per_year`).
    """
    estimators = row_estimators(frame, method, plain)
    by_key: dict[str, list[int]] = {}
    about: dict[str, tuple[Family, str]] = {}
    for position, (row, estimator) in enumerate(zip(frame.itertuples(index=False), estimators)):
        key, simulation = _group_key(row, estimator.family)
        by_key.setdefault(key, []).append(position)
        about[key] = estimator.family, simulation
    groups = []
    for key in sorted(by_key):
        positions = np.array(sorted(by_key[key], key=lambda p: frame["id"].iat[p]), dtype=np.int64)
        family, simulation = about[key]
        count = _count(paths, key, simulation)
        group = _plan_group(frame.iloc[positions], key, positions, scheme, steps_per_year,
                            first_step, count)
        groups.append(replace(group, method=family, simulation=simulation))
    return groups


def _nearest(grid: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Index of the grid point nearest to each date."""
    if grid.size == 1:
        return np.zeros(dates.size, dtype=np.int64)
    right = np.clip(np.searchsorted(grid, dates), 1, grid.size - 1)
    return np.where(dates - grid[right - 1] <= grid[right] - dates, right - 1, right)


def _plan_group(rows: pd.DataFrame, key: str, positions: np.ndarray, scheme: str,
                steps_per_year: float, first_step: float, paths: int) -> Group:
    dates = [row_dates(t, n) for t, n in zip(rows["maturity"], rows["fixings"])]
    first = rows.iloc[0]
    model = model_of(first["model"])
    params = tuple(float(first[name]) for name in model.parameters)
    steps = model.grid_steps(params, rows["maturity"].to_numpy(dtype=float), steps_per_year,
                             first_step, paths=paths)
    grid = np.unique(np.concatenate(dates + steps))
    keep = np.concatenate(([True], np.diff(grid) > DATE_TOLERANCE * np.maximum(1.0, grid[1:])))
    grid = grid[keep]
    indices = [_nearest(grid, d) for d in dates]
    carry = float(first["rate"]) - float(first["dividend"])
    growth = [np.exp(carry * grid[i]) for i in indices]
    forward = float(first["spot"]) * np.exp(-rows["rate"].to_numpy(dtype=float)
                                            * rows["maturity"].to_numpy(dtype=float)) \
        * np.array([g.mean() if kind == "asian" else g[-1]
                    for g, kind in zip(growth, rows["instrument"])])
    scheme_code = SCHEMES.index(scheme)
    martingale, sampled = model.chain_flags(params, grid, scheme_code, steps_per_year, carry,
                                            paths=paths)
    start = np.concatenate(([0], np.cumsum([len(i) for i in indices]))).astype(np.int64)
    digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
    return Group(
        key=key,
        spawn_words=tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)),
        model=model.name, spot=float(first["spot"]), rate=float(first["rate"]),
        dividend=float(first["dividend"]), params=params,
        scheme=scheme_code, martingale=martingale, sampled_first=sampled, forward=forward,
        positions=positions, times=grid,
        date_start=start, date_index=np.concatenate(indices).astype(np.int64),
        payoff=payoffs.PayoffSpec(
            kind=payoff_table.frame_codes(rows),
            omega=np.where(rows["option_type"].to_numpy() == "call", 1.0, -1.0),
            strike=rows["strike"].to_numpy(dtype=float),
            payout=rows["payout"].to_numpy(dtype=float),
            barrier=np.nan_to_num(rows["barrier"].to_numpy(dtype=float)) if "barrier" in rows
            else np.zeros(len(rows)),
            barrier_kind=np.array([payoffs.BARRIER_CODES.get(b, 0) for b in rows["barrier_type"]]
                                  if "barrier_type" in rows else np.zeros(len(rows)),
                                  dtype=np.int64),
            discount=np.exp(-rows["rate"].to_numpy(dtype=float)
                            * rows["maturity"].to_numpy(dtype=float))),
        maturity=rows["maturity"].to_numpy(dtype=float),
        weight=np.repeat(rows["quantity"].to_numpy(dtype=float)[:, None], 3, axis=1),
        extra_weight=rows["quantity"].to_numpy(dtype=float),
        total_of=np.zeros(len(rows), dtype=np.int64), subtotals=np.empty(0, dtype=np.int64),
    )


def row_paths(frame: pd.DataFrame, paths: dict, method: str = "auto",
              plain: bool = False) -> np.ndarray:
    """Each row's path count under a mapping from group key to count."""
    out = np.zeros(len(frame), dtype=np.int64)
    estimators = row_estimators(frame, method, plain)
    for row, (record, estimator) in enumerate(zip(frame.itertuples(index=False), estimators)):
        out[row] = paths[_group_key(record, estimator.family)[0]]
    return out


def _count(paths, key: str, simulation: str) -> int:
    """A group's path count: ``paths``, or ``paths[key]`` for a mapping (a family's group
    shares its simulation's count)."""
    if isinstance(paths, dict):
        return int(paths.get(key, paths.get(simulation, max(paths.values()))))
    return int(paths)


def _paths_of(paths, group: Group, plain: bool) -> int:
    """A group's path count (:func:`_count`), even unless ``plain`` (antithetic pairs)."""
    count = _count(paths, group.key, group.simulation)
    return count + count % 2 if not plain else count
