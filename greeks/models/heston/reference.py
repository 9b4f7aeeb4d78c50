"""Heston reference values of a validated row (:mod:`greeks.reference`): the Fourier
integrals of :mod:`greeks.models.heston.analytic` for european and digital rows, the ADI
solution for american and bermudan rows, flat or off a market (its curves and discrete
dividends), vega = ∂V/∂σ0 with σ0 = sqrt(v0) (0 at v0 = 0, as that module defines it), and
for american and bermudan calls the call's own ADI solution beside (:func:`direct`).  No
numba at import (the ADI solver's kernels load when an exercise row is valued)."""

from __future__ import annotations

import functools

import numpy as np

from greeks.models.heston.analytic import (
    heston_asset_digital,
    heston_digital,
    heston_greeks,
)
from greeks.models.heston.schema import PARAMETERS
from greeks.payoff_table import AMERICAN, ASSET_DIGITAL, BERMUDAN, DIGITAL, EUROPEAN

CODES = (EUROPEAN, DIGITAL, ASSET_DIGITAL, AMERICAN, BERMUDAN)  # the payoffs with a value


def flat(row, code: int) -> tuple[float, float, float]:
    """(price, delta, vega) of a row (a mapping) of payoff ``code`` (of ``CODES``); american
    and bermudan rows by the ADI solution (:func:`greeks.models.heston.american.heston_american`:
    puts, and calls through their symmetric put where it exists (κ − ρξ > 0), else the
    call's own; a bermudan exercisable on its dates)."""
    args = (row["option_type"], row["spot"], row["strike"], row["maturity"], row["rate"],
            *(row[name] for name in PARAMETERS), row["dividend"])
    if code in (AMERICAN, BERMUDAN):
        return _exercise(*_exercise_key(row, code), True)
    if code == EUROPEAN:
        return tuple(heston_greeks(*args))
    if code == ASSET_DIGITAL:
        return tuple(heston_asset_digital(*args))
    return tuple(heston_digital(*args, payout=row["payout"]))


def on_market(row, code: int, state) -> tuple[float, float, float] | None:
    """An american or bermudan row off a market (``state``: its
    :class:`greeks.market.dynamics.RowMarket`): the ADI solution on its rate and yield curves
    and discrete dividends (:func:`greeks.models.heston.american_market.heston_american_market`;
    a bermudan exercisable on the row's dates).  None for the other rows: a european or
    digital row's flat values on the equivalent flat rate and yield are exact (its price
    depends on the rates only through DF(T) and the forward)."""
    if code not in (AMERICAN, BERMUDAN):
        return None
    return _on_market(row, code, state)


def direct(row, code: int, state=None) -> tuple[float, float, float] | None:
    """(price, delta, vega) of an american or bermudan call by its own ADI solution, solved
    for the call itself rather than through its symmetric put (flat: that of
    :func:`greeks.models.heston.american.heston_american` with ``symmetric=False``; off a
    market, ``state``, the same as :func:`on_market`'s); None for the other rows."""
    if code not in (AMERICAN, BERMUDAN) or row["option_type"] != "call":
        return None
    if state is not None:
        return _on_market(row, code, state)
    return _exercise(*_exercise_key(row, code), False)


def market_vega_scale(row, state) -> float:
    """1: vega stays ∂V/∂σ0 off a market."""
    return 1.0


def _dates(row, code: int) -> tuple[float, ...] | None:
    """A bermudan row's exercise dates (``fixings`` equal steps to maturity); None for an
    american row."""
    if code != BERMUDAN:
        return None
    count = int(row["fixings"])
    return tuple(float(t) for t in row["maturity"] * np.arange(1, count + 1) / count)


def _exercise_key(row, code: int) -> tuple:
    return (row["option_type"], *(float(row[name]) for name in (
        "spot", "strike", "maturity", "rate", "dividend", *PARAMETERS)), _dates(row, code))


@functools.lru_cache(maxsize=64)
def _exercise(option_type, spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho,
              dates, symmetric) -> tuple[float, float, float]:
    """The flat ADI solution's (price, delta, vega), kept: a call's own serves both
    :func:`flat` (κ − ρξ ≤ 0) and :func:`direct`."""
    from greeks.models.heston.american import heston_american
    from greeks.models.heston.exercise_rule import symmetric_parameters

    if symmetric and option_type == "call" and symmetric_parameters(
            rate, dividend, kappa, theta, xi, rho) is None:
        return _exercise(option_type, spot, strike, maturity, rate, dividend, v0, kappa, theta,
                         xi, rho, dates, False)
    values = heston_american(option_type, spot, strike, maturity, rate, dividend, v0, kappa,
                             theta, xi, rho, exercise_times=dates, symmetric=symmetric)
    return values.price, values.delta, values.vega


def _on_market(row, code: int, state) -> tuple[float, float, float]:
    dates = tuple(float(t) for t in state.times) if code == BERMUDAN else None
    return _market_exercise(row["option_type"], state.dynamics, float(row["strike"]),
                            float(row["maturity"]), *(float(row[name]) for name in PARAMETERS),
                            dates)


@functools.lru_cache(maxsize=64)
def _market_exercise(option_type, dynamics, strike, maturity, v0, kappa, theta, xi, rho,
                     dates) -> tuple[float, float, float]:
    """The ADI solution's (price, delta, vega) off a market, kept (a call's serves both
    :func:`on_market` and :func:`direct`)."""
    from greeks.models.heston.american_market import heston_american_market

    values = heston_american_market(option_type, dynamics, strike, maturity, v0, kappa, theta,
                                     xi, rho, None if dates is None else np.array(dates))
    return values.price, values.delta, values.vega
