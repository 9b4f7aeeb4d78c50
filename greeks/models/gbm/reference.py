"""GBM reference values of a validated row (:mod:`greeks.reference`): the Black–Scholes
formulas of :mod:`greeks.models.gbm.analytic` for european and digital rows, the
finite-difference solution of :mod:`greeks.models.gbm.american` for american and bermudan
rows (off a market, of :mod:`greeks.models.gbm.american_market`, which also values european
rows with cash dividends).  No numba until a finite-difference solution is asked for."""

from __future__ import annotations

import numpy as np

from greeks.models.gbm.analytic import reference
from greeks.payoff_table import (
    AMERICAN,
    ASSET_DIGITAL,
    BERMUDAN,
    BY_CODE,
    DIGITAL,
    EUROPEAN,
)

CODES = (EUROPEAN, DIGITAL, ASSET_DIGITAL, AMERICAN, BERMUDAN)  # the payoffs with a value


def flat(row, code: int) -> tuple[float, float, float]:
    """(price, delta, vega) of a row (a mapping) of payoff ``code`` (of ``CODES``): the
    closed form, or for american and bermudan rows the finite-difference solution (exercise
    on the row's dates for a bermudan)."""
    if not BY_CODE[code].exercise:
        return tuple(reference(row))
    from greeks.models.gbm.american import american_fd

    dates = None
    if row["instrument"] == "bermudan":
        dates = row["maturity"] * np.arange(1, int(row["fixings"]) + 1) / int(row["fixings"])
    values = american_fd(row["spot"], row["strike"], row["maturity"], row["rate"],
                         row["dividend"], row["vol"], row["option_type"] == "call",
                         exercise_times=dates)
    return values.price, values.delta, values.vega


def on_market(row, code: int, state) -> tuple[float, float, float] | None:
    """An american, bermudan or (with cash dividends) european row off a market (``state``:
    its :class:`greeks.market.dynamics.RowMarket`): the finite-difference solution on the
    curves, vol curve and dividends (:func:`greeks.models.gbm.american_market.american_fd_market`;
    a bermudan exercisable on the row's dates, a european at its expiry only); vega per
    1.00 of a parallel vol shift.  None for the other rows: their flat values on the
    equivalent flat rate, yield and vol are exact (:func:`market_vega_scale`)."""
    if not (BY_CODE[code].exercise or (
            code == EUROPEAN and state.dynamics.cash_dividends(row["maturity"]))):
        return None
    from greeks.models.gbm.american_market import american_fd_market

    dates = {"american": None, "bermudan": np.asarray(state.times, dtype=float),
             "european": [row["maturity"]]}[row["instrument"]]
    values = american_fd_market(state.dynamics, row["strike"], row["maturity"],
                                row["option_type"] == "call", dates)
    return values.price, values.delta, values.vega


def market_vega_scale(row, state) -> float:
    """The vega of a parallel shift ε of the vol curve per unit of the flat vega: the flat
    vol σ_eq to expiry has the curve's total variance w(T), so ∂σ_eq/∂ε =
    (∂w(T)/∂ε)/(2 σ_eq T)."""
    vol, maturity = row["vol"], row["maturity"]
    return float(state.dynamics.vol.parallel_shift(maturity)) / (2.0 * vol * maturity)
