"""Planning: rows grouped into simulations, each with its grid, streams and row data."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd

from greeks import payoff_table, payoffs
from greeks.engine.dated import dated_grid
from greeks.engine.group import Group
from greeks.engine.methods import Family, row_estimators
from greeks.market.positions import MARKET_COLUMN
from greeks.models import adapter as model_of
from greeks.names import (  # a scheme's code is its index
    AUTO_STEPS,
    DEFAULT_SCHEME,
    SCHEMES,
)

DATE_TOLERANCE = 1e-12  # years; dates closer than this are one grid point
MIN_RICHARDSON = 4  # exercise dates an american row needs for the extrapolation


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
    dated = getattr(row, MARKET_COLUMN, None)
    if dated is not None:  # the market's dynamics; a GBM row's vol is in them
        parameters = _parameters(row) if row.model != "gbm" else ""
        return (f"dated;model={row.model};{parameters}market={dated.dynamics.key};"
                f"underlying={row.underlying}")
    return f"model={row.model};{_parameters(row)}{_market(row)};underlying={row.underlying}"


def row_dates(maturity: float, fixings: int, explicit=None) -> np.ndarray:
    """The dates of a row: ``explicit`` (year fractions, the last its maturity) if given,
    else the equally spaced T·k/n, k = 1..n (the last is T)."""
    if explicit is not None:
        return np.asarray(explicit, dtype=float)
    return maturity * np.arange(1, fixings + 1) / fixings


def plan_groups(frame: pd.DataFrame, scheme: str = DEFAULT_SCHEME,
                steps_per_year: float = AUTO_STEPS,
                first_step: float = 0.0, method: str = "lr", plain: bool = True, *,
                paths=0) -> list[Group]:
    """Group the rows of a validated frame into simulations and plan their grids.  Rows
    share a simulation when they share the model, its parameters and the estimator family
    (:func:`greeks.engine.methods.row_estimators`); a survival-conditioned knock-out row is
    a simulation of its own.

    ``paths`` is the run's path count, or a mapping from row id to count (as in
    :func:`greeks.engine.run.simulate`; 0: unknown; a group runs the largest of its rows'):
    an automatic grid is refined for it (the model's ``grid_steps``;
    :func:`greeks.models.heston.adapter.steps_per_year`).
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
        count = _count(paths, frame["id"].to_numpy()[positions])
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
    if MARKET_COLUMN in rows.columns and rows[MARKET_COLUMN].iat[0] is not None:
        return _plan_dated_group(rows, key, positions, scheme, steps_per_year, first_step,
                                 paths)
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
    codes = payoff_table.frame_codes(rows)
    early = np.array([payoff_table.BY_CODE[code].exercise for code in codes])
    exercise = {} if not early.any() else {
        "rate": rows["rate"].to_numpy(dtype=float),
        # american: 2 V(Δ) − V(2Δ) on its exercise grid (greeks.exercise)
        "richardson": (codes == payoff_table.AMERICAN) & (np.diff(start) >= MIN_RICHARDSON),
        "immediate": np.zeros(len(rows), dtype=bool)}  # decided on the pilot (greeks.exercise)
    return Group(
        key=key,
        spawn_words=tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)),
        model=model.name, spot=float(first["spot"]), rate=float(first["rate"]),
        dividend=float(first["dividend"]), params=params,
        scheme=scheme_code, martingale=martingale, sampled_first=sampled, forward=forward,
        positions=positions, times=grid,
        date_start=start, date_index=np.concatenate(indices).astype(np.int64),
        payoff=_payoff_spec(rows, np.exp(-rows["rate"].to_numpy(dtype=float)
                                         * rows["maturity"].to_numpy(dtype=float)), **exercise),
        maturity=rows["maturity"].to_numpy(dtype=float),
        weight=np.repeat(rows["quantity"].to_numpy(dtype=float)[:, None], 3, axis=1),
        extra_weight=rows["quantity"].to_numpy(dtype=float),
        total_of=np.zeros(len(rows), dtype=np.int64), subtotals=np.empty(0, dtype=np.int64),
    )


def _payoff_spec(rows: pd.DataFrame, discount: np.ndarray, **exercise) -> payoffs.PayoffSpec:
    """The rows' payoff record (``exercise``: the early-exercise fields of american and
    bermudan rows, :mod:`greeks.exercise`)."""
    return payoffs.PayoffSpec(
        kind=payoff_table.frame_codes(rows),
        omega=np.where(rows["option_type"].to_numpy() == "call", 1.0, -1.0),
        strike=rows["strike"].to_numpy(dtype=float),
        payout=rows["payout"].to_numpy(dtype=float),
        barrier=np.nan_to_num(rows["barrier"].to_numpy(dtype=float)) if "barrier" in rows
        else np.zeros(len(rows)),
        barrier_kind=np.array([payoffs.BARRIER_CODES.get(b, 0) for b in rows["barrier_type"]]
                              if "barrier_type" in rows else np.zeros(len(rows)),
                              dtype=np.int64),
        discount=discount, **exercise)


def _plan_dated_group(rows: pd.DataFrame, key: str, positions: np.ndarray, scheme: str,
                      steps_per_year: float, first_step: float, paths: int) -> Group:
    """A group of rows priced off a market (:mod:`greeks.engine.dated`): its rows' own
    dates, the cash ex-dates and the model's steps on one grid, simulated with zero carry
    (``rate`` = ``dividend`` = 0) and scaled by the growth; discounted on the curve."""
    markets = list(rows[MARKET_COLUMN])
    dynamics = markets[0].dynamics
    maturities = rows["maturity"].to_numpy(dtype=float)
    dates = [row_dates(t, n, m.times) for t, n, m in zip(maturities, rows["fixings"], markets)]
    first = rows.iloc[0]
    model = model_of(first["model"])
    gbm = dynamics.vol is not None
    # GBM: the vol to the last expiry, as the scale of the SE floor only
    params = ((dynamics.vol.implied(float(maturities.max())),) if gbm
              else tuple(float(first[name]) for name in model.parameters))
    steps = model.grid_steps(params, maturities, steps_per_year, first_step, paths=paths)
    ex_dates = [np.array([d.time for d in dynamics.cash_dividends(float(maturities.max()))])]
    grid = np.unique(np.concatenate(dates + steps + ex_dates))
    keep = np.concatenate(([True], np.diff(grid) > DATE_TOLERANCE * np.maximum(1.0, grid[1:])))
    grid = grid[keep]
    indices = [_nearest(grid, d) for d in dates]
    market = dated_grid(dynamics, grid, indices, maturities,
                        rows["instrument"].to_numpy() == "asian", gbm)
    scheme_code = SCHEMES.index(scheme)
    martingale, sampled = model.chain_flags(params, grid, scheme_code, steps_per_year, 0.0,
                                            paths=paths)
    start = np.concatenate(([0], np.cumsum([len(i) for i in indices]))).astype(np.int64)
    digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
    quantity = rows["quantity"].to_numpy(dtype=float)
    return Group(
        key=key,
        spawn_words=tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)),
        model=model.name, spot=dynamics.spot, rate=0.0, dividend=0.0, params=params,
        scheme=scheme_code, martingale=martingale, sampled_first=sampled,
        forward=market.forward,
        positions=positions, times=grid,
        date_start=start, date_index=np.concatenate(indices).astype(np.int64),
        payoff=_payoff_spec(rows, np.asarray(dynamics.discount(maturities), dtype=float)),
        maturity=maturities, weight=np.repeat(quantity[:, None], 3, axis=1),
        extra_weight=quantity, total_of=np.zeros(len(rows), dtype=np.int64),
        subtotals=np.empty(0, dtype=np.int64), market=market,
    )


def _count(paths, ids) -> int:
    """The path count of a group of rows with ids ``ids``: ``paths``, or for a mapping from
    row id to count (:mod:`greeks.target`) the largest of theirs."""
    if isinstance(paths, dict):
        return max(int(paths[str(i)]) for i in ids)
    return int(paths)


def paths_of(paths, group: Group, ids: np.ndarray, plain: bool) -> int:
    """A group's path count (:func:`_count` of its rows; ``ids``: the planned frame's ids),
    even unless ``plain`` (antithetic pairs)."""
    count = _count(paths, ids[group.positions])
    return count + count % 2 if not plain else count
