"""Closed-form and semi-analytic reference values for an instrument table.

Each model's reference module (:func:`greeks.models.reference`) lists the payoffs it values
(``CODES``: european, cash and asset digitals, american and bermudan rows) and values
them: under ``gbm`` the Black–Scholes formulas and the finite-difference solution of
american and bermudan rows, under ``heston`` the Fourier integrals and the ADI solution
(american and bermudan rows, flat or off a market), where vega = ∂V/∂σ0 with σ0 = sqrt(v0)
(0 at v0 = 0).  Asian and barrier rows, monitored on
discrete dates, have none here.  A row without a value, or whose formula fails (e^{−rT}
overflowing for a huge negative rate, say), gets NaN values and the reason in ``note``.
A model may also value some rows a second way (its ``direct``: a Heston american or bermudan
call by its own ADI solution, whose ``price``, ``delta`` and ``vega`` come flat from its
symmetric put where it has one): ``direct_price``, ``direct_delta``, ``direct_vega``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from greeks.api import load
from greeks.instruments import InputError
from greeks.market.positions import MARKET_COLUMN, without_market
from greeks.models import reference
from greeks.names import BASE_GREEKS
from greeks.payoff_table import CASH, code_of

NO_CLOSED_FORM = "no closed form"
DIRECT = tuple(f"direct_{name}" for name in BASE_GREEKS)  # a model's second solution


def _code(row) -> int:
    """The payoff code of a row (a mapping)."""
    return code_of(row["instrument"], row.get("digital_type") or CASH)


def _row_values(row) -> tuple[tuple[float, float, float], str | None]:
    """(price, delta, vega) of one validated row and ``None``, or NaNs and the reason."""
    values, code = reference(row["model"]), _code(row)
    if code not in values.CODES:
        return (math.nan,) * 3, NO_CLOSED_FORM
    try:
        return tuple(values.flat(row, code)), None
    except LookupError as error:
        return (math.nan,) * 3, str(error)
    except (ArithmeticError, ValueError) as error:
        return (math.nan,) * 3, f"closed form failed: {error}"


def _dated_values(row) -> tuple[tuple[float, float, float], str | None]:
    """A row priced off a market: the model's solution on the market where it has one
    (``on_market``: GBM's american, bermudan, and european rows with cash dividends).
    Otherwise its ``rate``, ``dividend`` and ``vol`` are the flat values to expiry with the
    same DF(T), forward and total variance w(T), which is all a european or digital payoff
    at T depends on: the flat values with them are exact, and the vega of a parallel vol
    shift ε is the flat vega times the model's ``market_vega_scale`` (GBM: ∂σ_eq/∂ε =
    (∂w(T)/∂ε)/(2 σ_eq T)).  Cash dividends have no closed form here (NaN, and a note)."""
    state = row[MARKET_COLUMN]
    values = reference(row["model"])
    try:
        solved = values.on_market(row, _code(row), state)
    except LookupError as error:
        return (math.nan,) * 3, str(error)
    if solved is not None:
        return tuple(solved), None
    if state.dynamics.cash_dividends(row["maturity"]):
        return (math.nan,) * 3, "cash dividends: no closed form"
    flat, note = _row_values(row)
    if note is None:
        flat = (flat[0], flat[1], flat[2] * values.market_vega_scale(row, state))
    return flat, note


def _direct_values(row) -> tuple[float, float, float]:
    """The model's second solution of a row (``direct``: Heston american and bermudan calls
    by their own ADI solution), or NaNs where it has none or it fails."""
    direct = getattr(reference(row["model"]), "direct", None)
    try:
        values = None if direct is None else direct(row, _code(row), row.get(MARKET_COLUMN))
    except (LookupError, ArithmeticError, ValueError):
        values = None
    return (math.nan,) * 3 if values is None else tuple(values)


def reference_table(frame: pd.DataFrame, source: str = "<DataFrame>") -> pd.DataFrame:
    """Reference price, delta and vega of every row of a validated instrument frame.

    Returns ``id``, ``price``, ``delta``, ``vega`` (per unit of quantity, vega per 1.00
    of volatility), ``note`` (missing where there are values), where a row has a second
    solution ``direct_price``, ``direct_delta``, ``direct_vega`` (:func:`_direct_values`;
    NaN for the other rows), then the input columns.
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
    direct = np.array([_direct_values(row) for row in frame.to_dict("records")],
                      dtype=float).reshape(-1, 3)
    if np.isfinite(direct).any():
        results = results.assign(**{name: direct[:, k] for k, name in enumerate(DIRECT)})
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
