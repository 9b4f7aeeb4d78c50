"""Heston reference values of a validated row (:mod:`greeks.reference`): the Fourier
integrals of :mod:`greeks.models.heston.analytic` for european and digital rows, vega =
∂V/∂σ0 with σ0 = sqrt(v0) (0 at v0 = 0, as that module defines it).  No numba."""

from __future__ import annotations

from greeks.models.heston.analytic import (
    heston_asset_digital,
    heston_digital,
    heston_greeks,
)
from greeks.models.heston.schema import PARAMETERS
from greeks.payoff_table import ASSET_DIGITAL, DIGITAL, EUROPEAN

CODES = (EUROPEAN, DIGITAL, ASSET_DIGITAL)  # the payoffs with a value


def flat(row, code: int) -> tuple[float, float, float]:
    """(price, delta, vega) of a row (a mapping) of payoff ``code`` (of ``CODES``)."""
    args = (row["option_type"], row["spot"], row["strike"], row["maturity"], row["rate"],
            *(row[name] for name in PARAMETERS), row["dividend"])
    if code == EUROPEAN:
        return tuple(heston_greeks(*args))
    if code == ASSET_DIGITAL:
        return tuple(heston_asset_digital(*args))
    return tuple(heston_digital(*args, payout=row["payout"]))


def on_market(row, code: int, state) -> None:
    """None: off a market a row's flat values on the equivalent flat rate and yield are
    exact (its price depends on the rates only through DF(T) and the forward)."""
    return None


def market_vega_scale(row, state) -> float:
    """1: vega stays ∂V/∂σ0 off a market."""
    return 1.0
