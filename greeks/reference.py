"""Closed-form and semi-analytic reference values for an instrument table.

The rows whose payoff declares a ``closed_form`` for their model in
:mod:`greeks.payoff_table` have them (european, cash and asset digitals): under ``gbm``
the Black–Scholes formulas of
:mod:`greeks.models.gbm.analytic`, under ``heston`` the Fourier integrals of
:mod:`greeks.models.heston.analytic`, where vega = ∂V/∂σ0 with σ0 = sqrt(v0) (0 at v0 = 0,
as that module defines it).  Asian and barrier rows, monitored on discrete dates, have
none here; american and bermudan rows under ``gbm`` have the finite-difference solution
of :mod:`greeks.models.gbm.american` (off a market: of
:mod:`greeks.models.gbm.american_market`, which also values european rows with cash
dividends).  A row without a value, or whose formula fails
(e^{−rT} overflowing for a huge negative rate, say), gets NaN values and the reason in
``note``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from greeks.api import load
from greeks.instruments import InputError
from greeks.market.positions import MARKET_COLUMN, without_market
from greeks.models.gbm.analytic import reference
from greeks.models.heston.analytic import (
    heston_asset_digital,
    heston_digital,
    heston_greeks,
)
from greeks.names import BASE_GREEKS, HESTON_PARAMETERS
from greeks.payoff_table import ASSET_DIGITAL, BY_CODE, CASH, EUROPEAN, code_of

NO_CLOSED_FORM = "no closed form"


def _heston(row):
    """The semi-analytic Heston values of a european or digital row."""
    args = (row["option_type"], row["spot"], row["strike"], row["maturity"], row["rate"],
            *(row[name] for name in HESTON_PARAMETERS), row["dividend"])
    code = _code(row)
    if code == EUROPEAN:
        return heston_greeks(*args)
    if code == ASSET_DIGITAL:
        return heston_asset_digital(*args)
    return heston_digital(*args, payout=row["payout"])


def _code(row) -> int:
    """The payoff code of a row (a mapping)."""
    return code_of(row["instrument"], row.get("digital_type") or CASH)


def _gbm(row):
    """Black–Scholes, or for american and bermudan rows the finite-difference solution of
    :mod:`greeks.models.gbm.american` (exercise on the row's dates for a bermudan)."""
    if not BY_CODE[_code(row)].exercise:
        return reference(row)
    from greeks.models.gbm.american import american_fd

    dates = None
    if row["instrument"] == "bermudan":
        dates = row["maturity"] * np.arange(1, int(row["fixings"]) + 1) / int(row["fixings"])
    values = american_fd(row["spot"], row["strike"], row["maturity"], row["rate"],
                         row["dividend"], row["vol"], row["option_type"] == "call",
                         exercise_times=dates)
    return values.price, values.delta, values.vega


PRICERS = {"gbm": _gbm, "heston": _heston}


def _row_values(row) -> tuple[tuple[float, float, float], str | None]:
    """(price, delta, vega) of one validated row and ``None``, or NaNs and the reason."""
    pricer = PRICERS.get(row["model"])
    if pricer is None or row["model"] not in BY_CODE[_code(row)].closed_form:
        return (math.nan,) * 3, NO_CLOSED_FORM
    try:
        return tuple(pricer(row)), None
    except LookupError as error:
        return (math.nan,) * 3, str(error)
    except (ArithmeticError, ValueError) as error:
        return (math.nan,) * 3, f"closed form failed: {error}"


def _dated_values(row) -> tuple[tuple[float, float, float], str | None]:
    """A row priced off a market.  Its ``rate``, ``dividend`` and ``vol`` are the flat
    values to expiry with the same DF(T), forward and total variance w(T), which is all a
    european or digital payoff at T depends on: Black–Scholes with them is exact, and the
    vega of a parallel vol shift ε is the flat vega times ∂σ_eq/∂ε = (∂w(T)/∂ε)/(2 σ_eq T).
    Heston's price depends on the rates only through DF(T) and the forward: exact too.
    Cash dividends have no closed form here (NaN, and a note)."""
    state = row[MARKET_COLUMN]
    code = _code(row)
    if row["model"] == "gbm" and (BY_CODE[code].exercise or (
            code == EUROPEAN and state.dynamics.cash_dividends(row["maturity"]))):
        return _market_exercise(row, state), None
    if state.dynamics.cash_dividends(row["maturity"]):
        return (math.nan,) * 3, "cash dividends: no closed form"
    values, note = _row_values(row)
    if note is None and row["model"] == "gbm":
        vol, maturity = row["vol"], row["maturity"]
        scale = float(state.dynamics.vol.parallel_shift(maturity)) / (2.0 * vol * maturity)
        values = (values[0], values[1], values[2] * scale)
    return values, note


def _market_exercise(row, state) -> tuple[float, float, float]:
    """An american, bermudan or (with cash dividends) european GBM row off a market: the
    finite-difference solution on the curves, vol curve and dividends
    (:mod:`greeks.models.gbm.american_market`; a bermudan exercisable on the row's dates, a
    european at its expiry only); vega per 1.00 of a parallel vol shift."""
    from greeks.models.gbm.american_market import american_fd_market

    dates = {"american": None, "bermudan": np.asarray(state.times, dtype=float),
             "european": [row["maturity"]]}[row["instrument"]]
    values = american_fd_market(state.dynamics, row["strike"], row["maturity"],
                                row["option_type"] == "call", dates)
    return values.price, values.delta, values.vega


def reference_table(frame: pd.DataFrame, source: str = "<DataFrame>") -> pd.DataFrame:
    """Reference price, delta and vega of every row of a validated instrument frame.

    Returns ``id``, ``price``, ``delta``, ``vega`` (per unit of quantity, vega per 1.00
    of volatility), ``note`` (missing where there are values), then the input columns.
    ``attrs["total"]`` holds Σ quantity · value over the rows with values.  An input
    column named ``note`` is an :class:`InputError` (``source`` names the table).
    """
    if "note" in frame.columns:
        raise InputError(source, "is the name of a result column; rename or drop it",
                         column="note")
    rows = [_dated_values(row) if row.get(MARKET_COLUMN) is not None else _row_values(row)
            for row in frame.to_dict("records")]
    values = np.array([row_values for row_values, _ in rows], dtype=float).reshape(-1, 3)
    notes = pd.Series([note for _, note in rows], dtype=object)
    results = pd.DataFrame({"id": frame["id"],
                            **{name: values[:, k] for k, name in enumerate(BASE_GREEKS)},
                            "note": notes})
    out = pd.concat([results, without_market(frame).drop(columns="id")], axis=1)
    valued = notes.isna().to_numpy()
    quantity = frame["quantity"].to_numpy(dtype=float)[valued]
    out.attrs["total"] = {name: float(quantity @ values[valued, k])
                          for k, name in enumerate(BASE_GREEKS)}
    return out


def analytic_prices(frame_or_path, market=None, extra_columns=()) -> pd.DataFrame:
    """:func:`reference_table` of a DataFrame or a .csv/.parquet/.json instrument file
    (with ``market``, its positions priced off it; ``extra_columns`` as in
    :func:`greeks.price_portfolio`; :func:`greeks.api.load`).

    Raises :class:`InputError` (row-numbered, as ``price_portfolio``) on bad input.
    """
    frame = load(frame_or_path, market, extra_columns)
    source = "<DataFrame>" if isinstance(frame_or_path, pd.DataFrame) else str(frame_or_path)
    return reference_table(frame, source)
