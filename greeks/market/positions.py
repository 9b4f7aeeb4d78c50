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
entry, else ``gbm``.  Year fractions are ACT/365F from the valuation date.

The frame's ``maturity`` is the expiry's year fraction, ``fixings`` the count of dates,
and ``rate``, ``dividend``, ``vol`` the row's *equivalent flat* values to expiry (zero
rate, yield, implied vol: the same DF(T), forward without cash dividends, and total
variance); the simulation itself uses the curves, through the internal column
``MARKET_COLUMN`` (a :class:`greeks.market.dynamics.RowMarket` per row).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from greeks.instruments import InputError, validate
from greeks.market.curves import Curve
from greeks.market.dates import parse_date
from greeks.market.dynamics import Dynamics, RowMarket
from greeks.market.file import Market
from greeks.market.volatility import VolCurve
from greeks.names import HESTON_PARAMETERS
from greeks.payoff_table import DATED_INSTRUMENTS

MARKET_COLUMN = "market_state"  # internal: dropped from every result table
OVERRIDES = "overrides"
MULTIPLIER = "multiplier"  # contract multiplier: reports weigh a position by quantity × it
OVERRIDABLE = ("spot", "rate", "dividend", "vol", *HESTON_PARAMETERS)


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
    n = len(raw)
    underlying, expiry_text = _text(raw, "underlying"), _text(raw, "expiry")
    maturity_text, fixing_text = _text(raw, "maturity"), _text(raw, "fixing_dates")
    fixings_text, model_text = _text(raw, "fixings"), _text(raw, "model")
    instrument = [t.lower() for t in _text(raw, "instrument")]
    given = {name: _text(raw, name) for name in OVERRIDABLE}
    filled = raw.copy()
    for name, values in [("maturity", maturity_text), ("model", model_text),
                         ("fixings", fixings_text), *given.items()]:
        filled[name] = pd.Series(values, index=raw.index, dtype=object)
    valuation = market.valuation_date
    row_times: list = []
    for p in range(n):
        name = underlying[p]
        if not name:
            fail(p, "underlying", "missing value (required with a market)")
        if name not in market.underlyings:
            known = ", ".join(sorted(market.underlyings))
            fail(p, "underlying", f"unknown underlying {name!r} (the market has {known})")
        und = market.underlyings[name]
        if expiry_text[p] and maturity_text[p]:
            fail(p, "expiry", "give expiry or maturity, not both")
        if not expiry_text[p] and not maturity_text[p]:
            fail(p, "expiry", "missing value (give expiry or maturity)")
        dated = instrument[p] in DATED_INSTRUMENTS
        times = None
        if expiry_text[p]:
            expiry = parse_date(expiry_text[p])
            if expiry is None:
                fail(p, "expiry", f"must be an ISO date YYYY-MM-DD, got {expiry_text[p]!r}")
            if expiry <= valuation:
                fail(p, "expiry", f"{expiry} is on or before the valuation date {valuation}")
            maturity = market.time(expiry)
            filled.at[filled.index[p], "maturity"] = repr(float(maturity))
        else:
            maturity = _number(maturity_text[p])
        if fixing_text[p]:
            if fixings_text[p]:
                fail(p, "fixing_dates", "give fixing_dates or fixings, not both")
            if not expiry_text[p]:
                fail(p, "fixing_dates", "needs expiry (the last fixing date)")
            dates = []
            for piece in fixing_text[p].split(";"):
                date = parse_date(piece)
                if date is None:
                    fail(p, "fixing_dates", f"must be ISO dates YYYY-MM-DD separated by ';', "
                                            f"got {piece.strip()!r}")
                if date <= valuation:
                    fail(p, "fixing_dates", f"{date} is on or before the valuation date "
                                            f"{valuation}")
                if dates and date <= dates[-1]:
                    fail(p, "fixing_dates", f"dates must increase ({date} follows {dates[-1]})")
                dates.append(date)
            if dates[-1] != expiry:
                fail(p, "fixing_dates", f"the last fixing date {dates[-1]} must be the expiry "
                                        f"{expiry}")
            if dated:
                times = tuple(market.time(d) for d in dates)
                filled.at[filled.index[p], "fixings"] = str(len(dates))
        row_times.append(times)
        model = model_text[p].lower() or ("heston" if und.heston is not None else "gbm")
        filled.at[filled.index[p], "model"] = model
        if not given["spot"][p]:
            filled.at[filled.index[p], "spot"] = repr(float(und.spot))
        curve = market.curves[und.curve]
        own_rate = Curve.flat(_number(given["rate"][p])) if given["rate"][p] else curve
        if np.isfinite(maturity) and maturity > 0:
            probe = Dynamics(1.0, own_rate, und.yield_curve, und.dividends, None)
            rate, dividend, _ = probe.equivalent(maturity)
            if not given["rate"][p]:
                filled.at[filled.index[p], "rate"] = repr(float(rate))
            if not given["dividend"][p]:
                filled.at[filled.index[p], "dividend"] = repr(float(dividend))
            if model == "gbm" and not given["vol"][p] and und.vol is not None:
                filled.at[filled.index[p], "vol"] = repr(float(und.vol.implied(maturity)))
        if model == "gbm" and not given["vol"][p] and und.vol is None:
            fail(p, "vol", f"missing value (underlying {name!r} has no vol in the market)")
        if model == "heston":
            for parameter in HESTON_PARAMETERS:
                if not given[parameter][p]:
                    if und.heston is None:
                        fail(p, parameter, f"missing value (underlying {name!r} has no heston "
                                           f"entry in the market)")
                    filled.at[filled.index[p], parameter] = repr(float(und.heston[parameter]))
    multiplier = np.ones(n)
    for p, text in enumerate(_text(raw, MULTIPLIER)):
        if text:
            multiplier[p] = _number(text)
            if not np.isfinite(multiplier[p]) or multiplier[p] <= 0:
                fail(p, MULTIPLIER, f"must be a number > 0, got {text!r}")
    frame = validate(filled, source, lines, extra_columns)
    frame[MULTIPLIER] = multiplier
    markets, overrides = [], []
    for p, row in enumerate(frame.itertuples(index=False)):
        und = market.underlyings[underlying[p]]
        model = row.model
        used = tuple(name for name in OVERRIDABLE if given[name][p]
                     and (name in ("spot", "rate", "dividend")
                          or (name == "vol") == (model == "gbm")))
        own_dividend = "dividend" in used
        dynamics = Dynamics(
            spot=float(row.spot),
            rate=Curve.flat(float(row.rate)) if "rate" in used else market.curves[und.curve],
            dividend_yield=Curve.flat(float(row.dividend)) if own_dividend else und.yield_curve,
            dividends=() if own_dividend else und.dividends,
            vol=(VolCurve.flat(float(row.vol)) if "vol" in used else und.vol)
            if model == "gbm" else None)
        if model == "heston" and dynamics.cash_dividends(float(row.maturity)):
            fail(p, "model", f"cash dividends (underlying {underlying[p]!r}) are supported "
                             f"under gbm only")
        times = row_times[p]
        if times is None:
            count = int(row.fixings)
            times = tuple(float(t) for t in float(row.maturity) * np.arange(1, count + 1)
                          / count)
        if row.instrument == "american":
            times = _with_cum_dates(times, dynamics)
        markets.append(RowMarket(dynamics, times, used))
        overrides.append(";".join(used))
    frame[OVERRIDES] = overrides
    frame[MARKET_COLUMN] = pd.Series(markets, index=frame.index, dtype=object)
    return frame


CUM = 1e-7  # years before an ex-date of the exercise date that sees the price before the drop


def _with_cum_dates(times: tuple, dynamics) -> tuple:
    """An american row's exercise grid with a date ``CUM`` before each cash ex-date in its
    life (the price there is the cum-dividend price: a call's optimal exercise is just before
    the drop, which a grid date may miss by up to a step; :mod:`greeks.exercise`)."""
    maturity = times[-1]
    cum = [d.time - CUM for d in dynamics.cash_dividends(maturity) if CUM < d.time - CUM]
    return tuple(sorted(set(times) | set(cum))) if cum else times


def dated_rows(frame: pd.DataFrame) -> np.ndarray:
    """Whether each row of a validated frame is priced off a market."""
    if MARKET_COLUMN not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return np.array([m is not None for m in frame[MARKET_COLUMN]], dtype=bool)


def without_market(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the internal market column (for result tables)."""
    return frame.drop(columns=MARKET_COLUMN) if MARKET_COLUMN in frame.columns else frame
