"""Dated positions resolved against a market into the validated instrument frame.

With a market a row may give ``expiry`` (ISO date) instead of ``maturity``,
``fixing_dates`` (semicolon-separated ISO dates, the last its expiry) instead of
``fixings``, may give ``multiplier`` (> 0, default 1: results stay per unit, reports
weigh the position by quantity × multiplier), must give ``underlying`` (a key of the
market's ``underlyings``) and may leave
out ``spot``, ``rate``, ``dividend``, ``vol`` and the Heston columns, which the market
fills in.  A market column the row gives itself (a non-empty cell) is used for that row
(a flat rate, a flat yield replacing the underlying's yield *and* discrete dividends, a
flat vol, its own spot or Heston parameter) and listed in the result column
``overrides``.  ``model`` defaults to ``heston`` where the underlying has a ``heston``
entry, else ``gbm`` (:func:`greeks.models.market_model`).  Year fractions are ACT/365F
from the valuation date.

The frame's ``maturity`` is the expiry's year fraction, ``fixings`` the count of dates,
and ``rate``, ``dividend``, ``vol`` the row's *equivalent flat* values to expiry (zero
rate, yield, implied vol: the same DF(T), forward without cash dividends, and total
variance); the simulation itself uses the curves, through the internal column
``MARKET_COLUMN`` (a :class:`greeks.market.dynamics.RowMarket` per row).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings

import numpy as np
import pandas as pd

from greeks.instruments import FIXINGS_PER_YEAR, InputError, InputWarning, validate
from greeks.market.curves import Curve
from greeks.market.dates import parse_date
from greeks.market.dynamics import Dynamics, RowMarket
from greeks.market.file import Market
from greeks.market.volatility import VolCurve
from greeks.models import MODELS, market_model, parameter_columns, schema
from greeks.payoff_table import BY_CODE, DATED_INSTRUMENTS, row_code

MARKET_COLUMN = "market_state"  # internal: dropped from every result table
OVERRIDES = "overrides"
MULTIPLIER = "multiplier"  # contract multiplier: reports weigh a position by quantity × it
OVERRIDABLE = ("spot", "rate", "dividend", *parameter_columns())


def _text(raw: pd.DataFrame, name: str) -> list[str]:
    """A column's cells as stripped text ('' when empty); a date-time cell at midnight (a
    Parquet date column) as its ISO date."""
    if name not in raw.columns:
        return [""] * len(raw)
    return ["" if _blank(v) else _cell(v) for v in raw[name]]


def _cell(value) -> str:
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):  # pd.Timestamp too
        return value.date().isoformat()
    return str(value).strip()


def _blank(value) -> bool:
    if value is None:
        return True
    try:
        if pd.isna(value):
            return True
    except (TypeError, ValueError):
        return False
    return str(value).strip() == ""


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def resolve(raw: pd.DataFrame, source: str, market: Market, lines=None,
            extra_columns=()) -> pd.DataFrame:
    """The validated frame of a raw position table priced off ``market``; an
    :class:`InputError` naming the row, column and rule for a bad position
    (``extra_columns``: as in :func:`greeks.instruments.validate`)."""
    raw = raw.set_axis([str(c).strip() for c in raw.columns], axis=1)

    def fail(position: int | None, column: str, rule: str):
        line = None if lines is None or position is None else int(lines[position])
        raise InputError(source, rule, row=None if position is None else position + 1,
                         column=column, line=line)

    for name in (OVERRIDES, MARKET_COLUMN):
        if name in raw.columns:
            fail(None, name, "is the name of a result column; rename or drop it")
    if "underlying" not in raw.columns:
        fail(None, "underlying", "required column is missing (positions priced off a market "
                                 "name their underlying)")
    cells = {name: _text(raw, name) for name in ("underlying", "expiry", "maturity",
                                                 "fixing_dates", "fixings", "model",
                                                 "exercise_grid")}
    given = {name: _text(raw, name) for name in OVERRIDABLE}
    filled = raw.copy()
    for name in ("maturity", "model", "fixings"):
        filled[name] = pd.Series(cells[name], index=raw.index, dtype=object)
    for name, values in given.items():
        filled[name] = pd.Series(values, index=raw.index, dtype=object)
    instrument = [t.lower() for t in _text(raw, "instrument")]
    row_times, refused = [], None
    for p in range(len(raw)):
        cell = {name: values[p] for name, values in cells.items()}
        try:
            und = _underlying(market, cell["underlying"],
                              lambda column, rule: fail(p, column, rule))
            maturity, times = _dated(market, cell, instrument[p] in DATED_INSTRUMENTS,
                                     lambda column, rule: fail(p, column, rule))
            own = {name: values[p] for name, values in given.items() if values[p]}
            market_cells = _market_values(market, und, cell["model"], maturity, own,
                                          lambda column, rule: fail(p, column, rule))
        except InputError as error:
            refused = error
            break
        if (times is not None and instrument[p] == "american"
                and cell["exercise_grid"].lower() != "fixings"):
            times = exercise_times(times)
        row_times.append(times)
        at = filled.index[p]
        if cell["expiry"]:
            filled.at[at, "maturity"] = repr(float(maturity))
        if times is not None:
            filled.at[at, "fixings"] = str(len(times))
        for column, value in market_cells.items():
            filled.at[at, column] = value
    if refused is not None:
        _raise_earliest(refused, filled, source, lines, extra_columns)
    frame = validate(filled, source, lines, extra_columns)
    if MULTIPLIER not in frame.columns:
        frame[MULTIPLIER] = 1.0
    markets = [_row_market(market, market.underlyings[cells["underlying"][p]], row,
                           tuple(name for name in OVERRIDABLE if given[name][p]), row_times[p],
                           lambda column, rule: fail(p, column, rule))
               for p, row in enumerate(frame.itertuples(index=False))]
    frame[OVERRIDES] = [";".join(state.overrides) for state in markets]
    frame[MARKET_COLUMN] = pd.Series(markets, index=frame.index, dtype=object)
    return frame


def _raise_earliest(refused: InputError, filled: pd.DataFrame, source: str, lines,
                    extra_columns) -> None:
    """Raise the earliest problem of a table whose row ``refused.row`` the market cannot
    resolve: a column's (missing, reserved), or one of an earlier row's cells, as without
    the market; else ``refused``.  Only the rows before it are checked (the rows from it on
    are not resolved)."""
    before = refused.row - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)  # the run stops: no warnings
        try:
            validate(filled.iloc[:max(before, 1)], source, lines, extra_columns)
        except InputError as error:
            if error.row is None or error.row <= before:
                raise
    raise refused


def _underlying(market: Market, name: str, fail):
    """The market's underlying ``name`` of a row (``fail(column, rule)`` if it has none)."""
    if not name:
        fail("underlying", "missing value (required with a market)")
    if name not in market.underlyings:
        known = ", ".join(sorted(market.underlyings))
        fail("underlying", f"unknown underlying {name!r} (the market has {known})")
    return market.underlyings[name]


def _dated(market: Market, cell: dict, dated: bool, fail) -> tuple[float, tuple | None]:
    """(maturity, times) of a row's cells: the expiry's year fraction (or the ``maturity``
    given, NaN if not a number), and the year fractions of its ``fixing_dates`` where the
    instrument reads them (else None); ``fail(column, rule)`` on a bad date."""
    valuation = market.valuation_date
    if cell["expiry"] and cell["maturity"]:
        fail("expiry", "give expiry or maturity, not both")
    if not cell["expiry"] and not cell["maturity"]:
        fail("expiry", "missing value (give expiry or maturity)")
    expiry = None
    if cell["expiry"]:
        expiry = parse_date(cell["expiry"])
        if expiry is None:
            fail("expiry", f"must be an ISO date YYYY-MM-DD, got {cell['expiry']!r}")
        if expiry <= valuation:
            fail("expiry", f"{expiry} is on or before the valuation date {valuation}")
        maturity = market.time(expiry)
    else:
        maturity = _number(cell["maturity"])
    if not cell["fixing_dates"]:
        return maturity, None
    if cell["fixings"]:
        fail("fixing_dates", "give fixing_dates or fixings, not both")
    if expiry is None:
        fail("fixing_dates", "needs expiry (the last fixing date)")
    dates = []
    for piece in cell["fixing_dates"].split(";"):
        date = parse_date(piece)
        if date is None:
            fail("fixing_dates", f"must be ISO dates YYYY-MM-DD separated by ';', "
                                 f"got {piece.strip()!r}")
        if date <= valuation:
            fail("fixing_dates", f"{date} is on or before the valuation date {valuation}")
        if dates and date <= dates[-1]:
            fail("fixing_dates", f"dates must increase ({date} follows {dates[-1]})")
        dates.append(date)
    if dates[-1] != expiry:
        fail("fixing_dates", f"the last fixing date {dates[-1]} must be the expiry {expiry}")
    return maturity, (tuple(market.time(d) for d in dates) if dated else None)


def _market_values(market: Market, und, model: str, maturity: float, own: dict,
                   fail) -> dict:
    """The cells (as text) that the market fills in for a row on ``und`` that gives the
    market columns ``own`` itself: its model (:func:`greeks.models.market_model` where it
    names none), spot, the equivalent flat rate and yield to expiry, and its model's
    parameters (:func:`greeks.models.schema`'s ``market_parameters``); ``fail(column,
    rule)`` where the market lacks one."""
    model = model.lower() or market_model(und)
    out = {"model": model}
    if "spot" not in own:
        out["spot"] = repr(float(und.spot))
    curve = market.curves[und.curve]
    own_rate = Curve.flat(_number(own["rate"])) if "rate" in own else curve
    if np.isfinite(maturity) and maturity > 0:
        probe = Dynamics(1.0, own_rate, und.yield_curve, und.dividends, None)
        rate, dividend, _ = probe.equivalent(maturity)
        for name, value in (("rate", rate), ("dividend", dividend)):
            if name not in own:
                out[name] = repr(float(value))
    if model not in MODELS:  # refused by validation
        return out
    inputs = schema(model)
    values = inputs.market_parameters(und, maturity)
    for parameter in inputs.PARAMETERS:
        if parameter in own:
            continue
        if values is None:
            fail(parameter, f"missing value (underlying {und.name!r} has no "
                            f"{inputs.MARKET_SOURCE} in the market)")
        if parameter in values:
            out[parameter] = repr(values[parameter])
    return out


def _row_market(market: Market, und, row, own: tuple, times: tuple | None,
                fail) -> RowMarket:
    """A validated row's market state: the curves, yield, dividends and (for a model whose
    dynamics carry one) vol curve of its underlying, each replaced by the flat value the row
    gives itself (``own``: the market columns it gave; those of its model's are listed as
    its overrides); its exercise or fixing ``times`` (default: ``fixings`` equal steps);
    ``fail(column, rule)`` where its model cannot take the underlying's cash dividends on or
    before its expiry (or, for an american or bermudan row, cannot exercise across them)."""
    inputs = schema(row.model)
    used = tuple(name for name in own if name in ("spot", "rate", "dividend")
                 or name in inputs.PARAMETERS)
    own_dividend = "dividend" in used
    dynamics = Dynamics(
        spot=float(row.spot),
        rate=Curve.flat(float(row.rate)) if "rate" in used else market.curves[und.curve],
        dividend_yield=Curve.flat(float(row.dividend)) if own_dividend else und.yield_curve,
        dividends=() if own_dividend else und.dividends,
        vol=(VolCurve.flat(float(row.vol)) if "vol" in used else und.vol)
        if inputs.VOL_CURVE else None)
    if dynamics.cash_dividends(float(row.maturity)):
        if not inputs.CASH_DIVIDENDS:
            able = " and ".join(name for name in MODELS if schema(name).CASH_DIVIDENDS)
            fail("model", f"cash dividends (underlying {und.name!r}) are supported under "
                          f"{able} only")
        if not inputs.CASH_DIVIDENDS_EXERCISE and BY_CODE[row_code(row)].exercise:
            fail("instrument", f"{row.instrument} {row.model} rows with a cash dividend on or "
                               f"before expiry (underlying {und.name!r}) are not supported: "
                               f"their exercise policy and European control take prices "
                               f"proportional to the spot; price them under gbm")
    if times is None:
        count = int(row.fixings)
        times = tuple(float(t) for t in float(row.maturity) * np.arange(1, count) / count) + (
            float(row.maturity),)  # the last date the expiry itself, not (T·n)/n
    if row.instrument == "american":
        times = _with_dividend_dates(times, dynamics, row.option_type == "call")
    return RowMarket(dynamics, times, used)


def exercise_times(times: tuple) -> tuple:
    """An american row's exercise grid from its ``fixing_dates`` (a hint, as ``fixings`` is:
    :func:`greeks.instruments.exercise_fixings`; unless its ``exercise_grid`` is
    ``fixings``): each interval Δ from the date before (the valuation date first) cut into
    max(1, ⌈252 Δ⌉) equal steps, at least daily."""
    out, before = [], 0.0
    for time in times:
        steps = max(1, math.ceil(FIXINGS_PER_YEAR * (time - before) - 1e-9))
        out.extend(before + (time - before) * k / steps for k in range(1, steps))
        out.append(time)
        before = time
    return tuple(out)


CUM = 1e-7  # years before an ex-date of the exercise date that sees the price before the drop
SAME_DATE = 1e-10  # years: a date this close to an ex-date (or its cum date) is that date


def _with_dividend_dates(times: tuple, dynamics, call: bool) -> tuple:
    """An american row's exercise grid with each dividend's ex-date τ before its maturity (the
    price just after the drop: a put's exercise there is worth the drop, which a grid date
    after τ misses by up to a step) and a date ``CUM`` before it (the price before the drop:
    a call's optimal exercise), before a cash one for either type, before a proportional one
    for a ``call`` (:func:`_dividend_points`); a date within ``SAME_DATE`` of one is replaced
    by it (:mod:`greeks.exercise`)."""
    added = _dividend_points(dynamics, times[-1], call)
    if not added:
        return times
    kept = [t for t in times if min(abs(t - a) for a in added) > SAME_DATE]
    return tuple(sorted(set(kept) | set(added)))


def _dividend_points(dynamics, maturity: float, call: bool) -> list:
    """The times an american row's grid adds for its dividends: each ex-date before
    ``maturity`` and the instant ``CUM`` before each one on or before it, cash, or
    proportional for a ``call``.  A put never exercises just before a proportional drop
    (K − S is less than K − S(1 − y), its value an instant later), and a date there only
    lets the policy's boundary, solved on a grid, exercise a few paths a drop early.  A call
    needs it: without it a call with q > r and a 0.76 % dividend 39 days before expiry,
    exercised there on 41 % of its paths, could exercise only a day early or after the drop,
    and 2 V(Δ) − V(2Δ) over two grids whose last date before τ lay one and two days off came
    out 0.042 % high (+6.5 SE over 8 seeds of 200,000 paths, against a 32,000-step binomial
    tree)."""
    points = [d.time for d in dynamics.dividends if 0.0 < d.time < maturity]
    return points + [d.time - CUM for d in dynamics.dividends
                     if (call or not d.proportional) and d.time <= maturity
                     and CUM < d.time - CUM]


def dividend_dates(times: np.ndarray, dynamics) -> np.ndarray:
    """Which of an american row's dates ``times`` are its dividends' (:func:`_with_dividend_dates`:
    an ex-date before maturity, or ``CUM`` before one), within ``SAME_DATE``."""
    times = np.asarray(times, dtype=float)
    out = np.zeros(times.size, dtype=bool)
    for point in _dividend_points(dynamics, float(times[-1]), True):  # a put's grid: a subset
        out |= np.abs(times - point) <= SAME_DATE
    out[-1] = False
    return out


def dated_rows(frame: pd.DataFrame) -> np.ndarray:
    """Whether each row of a validated frame is priced off a market."""
    if MARKET_COLUMN not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return np.array([m is not None for m in frame[MARKET_COLUMN]], dtype=bool)


def without_market(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the internal market column (for result tables)."""
    return frame.drop(columns=MARKET_COLUMN) if MARKET_COLUMN in frame.columns else frame
