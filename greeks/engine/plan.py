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
from greeks.market.positions import MARKET_COLUMN, dated_rows
from greeks.models import adapter as model_of
from greeks.names import (  # a scheme's code is its index
    AUTO_STEPS,
    DEFAULT_SCHEME,
    SCHEMES,
)

DATE_TOLERANCE = 1e-12  # years; dates closer than this are one grid point
MIN_RICHARDSON = 4  # exercise dates an american row needs for the extrapolation


def _group_key(row, family: Family, until: float | None = None) -> tuple[str, str]:
    """(group key, simulation key) of a row priced off a market: the key names the group
    and seeds its streams; groups of a ``separate`` family add their family to the
    simulation's key (and share its path count under a target SE); a row of a ``by_barrier``
    family (survival conditioning, parity) is keyed by its family, its barrier and dates
    (:func:`_barrier_key`) and its simulation's key (``until``: :func:`_simulation_key`)."""
    if family.by_barrier:
        dates = tuple(row_dates(float(row.maturity), row.fixings,
                                getattr(row, MARKET_COLUMN).times).tolist())  # every digit
        key = (f"{family.value};{_barrier_key(row.barrier_type, row.barrier, dates)}"
               f"{_simulation_key(row, until)}")
        return key, key
    simulation = _simulation_key(row, until)
    return (f"{simulation};method={family.value}" if family.separate else simulation), simulation


def _barrier_key(barrier_type: str, barrier: float, dates) -> str:
    """The key's part of a row whose paths are conditioned on its barrier: the barrier's
    kind and level and the monitoring dates (``dates``: the dates, or the maturity and
    fixings that give them), all that its paths depend on besides the simulation's."""
    return f"barrier_type={barrier_type};barrier={float(barrier)!r};dates={dates!r};"


def _parameters(row, carried: tuple[str, ...] = ()) -> str:
    """The key's part of a row's model parameters (but those ``carried`` elsewhere)."""
    return "".join(f"{name}={float(getattr(row, name))!r};"
                   for name in model_of(row.model).parameters if name not in carried)


def _market(row) -> str:
    return f"spot={float(row.spot)!r};rate={float(row.rate)!r};dividend={float(row.dividend)!r}"


def _simulation_key(row, until: float | None = None) -> str:
    """The key of a row's simulation; off a market with ``until``, its dynamics' key names
    only the cash dividends paid by then (:func:`_last_expiries`)."""
    dated = getattr(row, MARKET_COLUMN, None)
    if dated is not None:  # the market's dynamics (with a GBM row's vol curve)
        parameters = _parameters(row, model_of(row.model).market_carried)
        dynamics = dated.dynamics
        if until is not None:
            dynamics = replace(dynamics, dividends=tuple(
                d for d in dynamics.dividends if d.proportional or d.time <= until))
        return (f"dated;model={row.model};{parameters}market={dynamics.key};"
                f"underlying={row.underlying}")
    return f"model={row.model};{_parameters(row)}{_market(row)};underlying={row.underlying}"


def _reprs(frame: pd.DataFrame, name: str, rows: np.ndarray) -> list[str]:
    """``f"{name}={float(value)!r};"`` of column ``name`` at ``rows``."""
    return [f"{name}={value!r};" for value in
            frame[name].to_numpy(dtype=float)[rows].tolist()]


def _group_keys(frame: pd.DataFrame, families: list[Family]) -> tuple[list, list]:
    """(group key, simulation key) of every row (:func:`_group_key`), built column by
    column; rows priced off a market one by one."""
    n = len(frame)
    keys, simulations = [""] * n, [""] * n
    dated = dated_rows(frame)
    models = frame["model"].to_numpy(dtype=object)
    underlyings = frame["underlying"].to_numpy(dtype=object)
    barriers = _barrier_keys(frame, families)
    for name in np.unique(models[~dated]):
        rows = np.flatnonzero((models == name) & ~dated)
        parts = [_reprs(frame, column, rows) for column in model_of(name).parameters]
        parameters = ["".join(values) for values in zip(*parts)] if parts else [""] * rows.size
        market = [f"spot={s!r};rate={r!r};dividend={d!r}" for s, r, d in zip(
            *(frame[c].to_numpy(dtype=float)[rows].tolist() for c in ("spot", "rate", "dividend")))]
        for k, p in enumerate(rows.tolist()):
            family = families[p]
            simulation = f"model={name};{parameters[k]}{market[k]};underlying={underlyings[p]}"
            if family.by_barrier:
                keys[p] = simulations[p] = f"{family.value};{barriers[p]}{simulation}"
                continue
            simulations[p] = simulation
            keys[p] = f"{simulation};method={family.value}" if family.separate else simulation
    if dated.any():
        records = list(frame.iloc[np.flatnonzero(dated)].itertuples(index=False))
        for p, row, until in zip(np.flatnonzero(dated).tolist(), records,
                                 _last_expiries(records)):
            keys[p], simulations[p] = _group_key(row, families[p], until)
    return keys, simulations


def _barrier_keys(frame: pd.DataFrame, families: list[Family]) -> list:
    """:func:`_barrier_key` of each flat row of a ``by_barrier`` family (its dates by its
    maturity and fixings); None for the others."""
    out = [None] * len(frame)
    rows = [p for p, family in enumerate(families) if family.by_barrier]
    if rows:
        part = frame.iloc[rows]
        for p, kind, level, maturity, fixings in zip(
                rows, part["barrier_type"].tolist(), part["barrier"].tolist(),
                part["maturity"].to_numpy(dtype=float).tolist(), part["fixings"].tolist()):
            out[p] = _barrier_key(kind, level, (maturity, fixings))
    return out


def _last_expiries(records: list) -> list:
    """Per row off a market (``records``) whose model keys only the dividends paid
    (``keys_paid_dividends``): the last expiry of the rows that share its simulation but
    for the cash dividends, by which its key names them (:func:`_simulation_key`); None for
    the others (every dividend named)."""
    bases = [_simulation_key(row, -np.inf) if model_of(row.model).keys_paid_dividends
             else None for row in records]
    last: dict = {}
    for base, row in zip(bases, records):
        if base is not None:
            last[base] = max(last.get(base, -np.inf), float(row.maturity))
    return [None if base is None else last[base] for base in bases]


def row_dates(maturity: float, fixings: int, explicit=None) -> np.ndarray:
    """The dates of a row: ``explicit`` (year fractions, the last its maturity) if given,
    else the equally spaced T·k/n, k = 1..n (the last is T)."""
    if explicit is not None:
        return np.asarray(explicit, dtype=float)
    return np.append(maturity * np.arange(1, fixings) / fixings, maturity)  # T itself last


def plan_groups(frame: pd.DataFrame, scheme: str = DEFAULT_SCHEME,
                steps_per_year: float = AUTO_STEPS,
                first_step: float = 0.0, method: str = "lr", plain: bool = True, *,
                paths=0) -> list[Group]:
    """Group the rows of a validated frame into simulations and plan their grids.  Rows
    share a simulation when they share the model, its parameters and the estimator family
    (:func:`greeks.engine.methods.row_estimators`); survival-conditioned knock-outs, and
    knock-ins by parity, share one only with rows of the same barrier (kind and level) and
    monitoring dates, on which their paths depend (strikes and option types may differ).

    ``paths`` is the run's path count, or a mapping from row id to count (as in
    :func:`greeks.engine.run.simulate`; 0: unknown; a group runs the largest of its rows'):
    an automatic grid is refined for it (the model's ``grid_steps``;
    :func:`greeks.models.heston.adapter.steps_per_year`).
    """
    families = [estimator.family for estimator in row_estimators(frame, method, plain)]
    keys, simulations = _group_keys(frame, families)
    ids = frame["id"].to_numpy(dtype=object)
    unique, group_of = np.unique(np.array(keys, dtype=object), return_inverse=True)
    rank = np.empty(len(frame), dtype=np.int64)
    rank[np.argsort(ids, kind="stable")] = np.arange(len(frame))
    order = np.lexsort((rank, group_of))  # by key, then by id within a key
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(group_of[order])) + 1, [len(frame)]))
    columns = _arrays(frame)
    groups = []
    for g, key in enumerate(unique.tolist()):
        positions = np.ascontiguousarray(order[bounds[g]:bounds[g + 1]], dtype=np.int64)
        count = _count(paths, ids[positions])
        first = int(positions[0])
        family = dict(method=families[first], simulation=simulations[first])
        if columns["dated"][first]:
            groups.append(_plan_dated_group(frame.iloc[positions], key, positions, scheme,
                                            steps_per_year, first_step, count, family))
        else:
            groups.append(_plan_group({name: values[positions]
                                       for name, values in columns.items()},
                                      key, positions, scheme, steps_per_year, first_step,
                                      count, family))
    return groups


def _arrays(frame: pd.DataFrame) -> dict:
    """The columns that planning reads, as arrays (prices and rates as floats), ``code``:
    each row's payoff code, and ``dated``: whether each row is priced off a market."""
    names = {"instrument", "digital_type", "option_type", "strike", "maturity", "spot", "rate",
             "dividend", "model", "quantity", "payout", "barrier", "barrier_type", "fixings"}
    for name in np.unique(frame["model"].to_numpy(dtype=object)):
        names.update(model_of(name).parameters)
    text = {"instrument", "digital_type", "option_type", "model", "barrier_type", "fixings"}
    out = {name: frame[name].to_numpy() if name in text else frame[name].to_numpy(dtype=float)
           for name in sorted(names) if name in frame.columns}
    out["code"] = payoff_table.frame_codes(frame)
    out["dated"] = dated_rows(frame)
    return out


def _nearest(grid: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Index of the grid point nearest to each date."""
    if grid.size == 1:
        return np.zeros(dates.size, dtype=np.int64)
    right = np.clip(np.searchsorted(grid, dates), 1, grid.size - 1)
    return np.where(dates - grid[right - 1] <= grid[right] - dates, right - 1, right)


def _flat_dates(maturity: np.ndarray, fixings: np.ndarray, start: np.ndarray) -> np.ndarray:
    """:func:`row_dates` of rows of ``maturity`` and ``fixings`` (equally spaced), one
    after another (row j's from ``start[j]``), each the same number as there."""
    row = np.repeat(np.arange(fixings.size), fixings)
    step = np.arange(start[-1]) - start[row] + 1
    dates = maturity[row] * step / fixings[row]
    dates[start[1:] - 1] = maturity  # T itself last
    return dates


def _plan_group(rows: dict, key: str, positions: np.ndarray, scheme: str,
                steps_per_year: float, first_step: float, paths: int, family: dict) -> Group:
    """A group of rows (``rows``: their columns, :func:`_arrays`) on one simulation: its
    grid (the rows' dates and the model's steps), the rows' dates on it, streams and
    payoffs; ``family``: its ``method`` and ``simulation``."""
    maturity = rows["maturity"]
    fixings = np.asarray(rows["fixings"], dtype=np.int64)
    start = np.concatenate(([0], np.cumsum(fixings))).astype(np.int64)
    dates = _flat_dates(maturity, fixings, start)
    model = model_of(rows["model"][0])
    params = tuple(float(rows[name][0]) for name in model.parameters)
    steps = model.grid_steps(params, maturity, steps_per_year, first_step, paths=paths)
    grid = np.unique(np.concatenate([dates] + steps))
    keep = np.concatenate(([True], np.diff(grid) > DATE_TOLERANCE * np.maximum(1.0, grid[1:])))
    grid = grid[keep]
    date_index = _nearest(grid, dates)
    spot, rate, dividend = (float(rows[name][0]) for name in ("spot", "rate", "dividend"))
    carry = rate - dividend
    growth = np.exp(carry * grid[date_index])
    mean_over = growth[start[1:] - 1]  # a european's forward reads its expiry's growth
    for j in np.flatnonzero(rows["instrument"] == "asian").tolist():  # an asian's, the mean
        mean_over[j] = growth[start[j]:start[j + 1]].mean()
    discount = np.exp(-rows["rate"] * maturity)
    forward = spot * discount * mean_over
    scheme_code = SCHEMES.index(scheme)
    martingale, sampled = model.chain_flags(params, grid, scheme_code, steps_per_year, carry,
                                            paths=paths)
    digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
    codes = rows["code"]
    quantity = rows["quantity"]
    return Group(
        key=key,
        spawn_words=tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)),
        model=model.name, spot=spot, rate=rate, dividend=dividend, params=params,
        scheme=scheme_code, martingale=martingale, sampled_first=sampled, forward=forward,
        positions=positions, times=grid,
        date_start=start, date_index=date_index.astype(np.int64),
        payoff=_payoff_spec(rows, codes, discount, **_exercise(codes, start, rows["rate"])),
        maturity=maturity, weight=np.repeat(quantity[:, None], 3, axis=1),
        extra_weight=quantity,
        total_of=np.zeros(positions.size, dtype=np.int64), subtotals=np.empty(0, dtype=np.int64),
        **family)


def _exercise(codes: np.ndarray, start: np.ndarray, rate: np.ndarray) -> dict:
    """The early-exercise fields of a group's payoff record (none without american or
    bermudan rows): ``rate`` (flat rows: r, to discount from the exercise date; rows off a
    market: 0, discounted on the curve), an american row's Richardson step 2 V(Δ) − V(2Δ)
    on its exercise grid (:mod:`greeks.exercise`) where it has ``MIN_RICHARDSON`` dates, and
    ``immediate`` (decided on the pilot)."""
    early = np.array([payoff_table.BY_CODE[code].exercise for code in codes.tolist()])
    if not early.any():
        return {}
    return {"rate": np.asarray(rate, dtype=float),
            "richardson": (codes == payoff_table.AMERICAN) & (np.diff(start) >= MIN_RICHARDSON),
            "immediate": np.zeros(codes.size, dtype=bool)}


def _payoff_spec(rows, codes: np.ndarray, discount: np.ndarray,
                 **exercise) -> payoffs.PayoffSpec:
    """The payoff record of ``rows`` (their columns: a frame, or arrays by name) of payoff
    ``codes`` (``exercise``: the early-exercise fields of american and bermudan rows,
    :mod:`greeks.exercise`).  Every field is a writable copy: a frame's columns can come as
    read-only views, and numba types a read-only array apart, so each kernel taking the
    record would be compiled once more for such groups."""
    size = discount.size
    return payoffs.PayoffSpec(
        kind=codes,
        omega=np.where(np.asarray(rows["option_type"], dtype=object) == "call", 1.0, -1.0),
        strike=np.array(rows["strike"], dtype=float),
        payout=np.array(rows["payout"], dtype=float),
        barrier=np.nan_to_num(np.asarray(rows["barrier"], dtype=float)) if "barrier" in rows
        else np.zeros(size),
        barrier_kind=np.array([payoffs.BARRIER_CODES.get(b, 0) for b in rows["barrier_type"]]
                              if "barrier_type" in rows else np.zeros(size), dtype=np.int64),
        discount=discount, **exercise)


def _plan_dated_group(rows: pd.DataFrame, key: str, positions: np.ndarray, scheme: str,
                      steps_per_year: float, first_step: float, paths: int, family: dict) -> Group:
    """A group of rows priced off a market (:mod:`greeks.engine.dated`): its rows' own
    dates, the cash ex-dates and the model's steps on one grid, simulated with zero carry
    (``rate`` = ``dividend`` = 0) and scaled by the growth; discounted on the curve;
    ``family``: its ``method`` and ``simulation``."""
    markets = list(rows[MARKET_COLUMN])
    dynamics = markets[0].dynamics
    maturities = rows["maturity"].to_numpy(dtype=float)
    dates = [row_dates(t, n, m.times) for t, n, m in zip(maturities, rows["fixings"], markets)]
    first = rows.iloc[0]
    model = model_of(first["model"])
    params = model.market_params(first, dynamics, float(maturities.max()))
    steps = model.grid_steps(params, maturities, steps_per_year, first_step, paths=paths)
    ex_dates = [np.array([d.time for d in dynamics.cash_dividends(float(maturities.max()))])]
    grid = np.unique(np.concatenate(dates + steps + ex_dates))
    keep = np.concatenate(([True], np.diff(grid) > DATE_TOLERANCE * np.maximum(1.0, grid[1:])))
    grid = grid[keep]
    indices = [_nearest(grid, d) for d in dates]
    market = dated_grid(dynamics, grid, indices, maturities,
                        rows["instrument"].to_numpy() == "asian", dynamics.vol is not None)
    scheme_code = SCHEMES.index(scheme)
    martingale, sampled = model.chain_flags(params, grid, scheme_code, steps_per_year, 0.0,
                                            paths=paths)
    start = np.concatenate(([0], np.cumsum([len(i) for i in indices]))).astype(np.int64)
    digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
    quantity = rows["quantity"].to_numpy(dtype=float)
    codes = payoff_table.frame_codes(rows)
    return Group(
        key=key,
        spawn_words=tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)),
        model=model.name, spot=dynamics.spot, rate=0.0, dividend=0.0, params=params,
        scheme=scheme_code, martingale=martingale, sampled_first=sampled,
        forward=market.forward,
        positions=positions, times=grid,
        date_start=start, date_index=np.concatenate(indices).astype(np.int64),
        payoff=_payoff_spec(rows, codes, np.asarray(dynamics.discount(maturities), dtype=float),
                            **_exercise(codes, start, np.zeros(codes.size))),
        maturity=maturities, weight=np.repeat(quantity[:, None], 3, axis=1),
        extra_weight=quantity, total_of=np.zeros(len(rows), dtype=np.int64),
        subtotals=np.empty(0, dtype=np.int64), market=market, **family)


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
