"""Heston reference values of a validated row (:mod:`greeks.reference`): the Fourier
integrals of :mod:`greeks.models.heston.analytic` for european and digital rows, the ADI
solution for american and bermudan rows without a market, vega = ∂V/∂σ0 with σ0 = sqrt(v0)
(0 at v0 = 0, as that module defines it).  No numba at import (the ADI solver's kernels load
when an exercise row is valued)."""

from __future__ import annotations

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
    puts, and calls through their symmetric put; a bermudan exercisable on its dates)."""
    args = (row["option_type"], row["spot"], row["strike"], row["maturity"], row["rate"],
            *(row[name] for name in PARAMETERS), row["dividend"])
    if code in (AMERICAN, BERMUDAN):
        from greeks.models.heston.american import heston_american

        dates = None
        if code == BERMUDAN:
            dates = row["maturity"] * np.arange(1, int(row["fixings"]) + 1) / int(row["fixings"])
        option_type, spot, strike, maturity, rate, *parameters, dividend = args
        values = heston_american(option_type, spot, strike, maturity, rate, dividend,
                                 *parameters, exercise_times=dates)
        return values.price, values.delta, values.vega
    if code == EUROPEAN:
        return tuple(heston_greeks(*args))
    if code == ASSET_DIGITAL:
        return tuple(heston_asset_digital(*args))
    return tuple(heston_digital(*args, payout=row["payout"]))


def on_market(row, code: int, state) -> None:
    """None: off a market a european or digital row's flat values on the equivalent flat rate
    and yield are exact (its price depends on the rates only through DF(T) and the forward).
    An american or bermudan row's are not (exercise depends on the rates along the way):
    LookupError, the reason."""
    if code in (AMERICAN, BERMUDAN):
        raise LookupError("early exercise off a market under heston: no reference")
    return None


def market_vega_scale(row, state) -> float:
    """1: vega stays ∂V/∂σ0 off a market."""
    return 1.0
