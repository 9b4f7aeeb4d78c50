"""GBM inputs: the parameter column, its rules, and what a market gives it.  No numba here:
validation imports this module alone (:func:`greeks.models.schema`).

Off a market a GBM row's volatility is the underlying's vol curve (the row's own ``vol``
replaces it by a flat one), which its dynamics carry (``VOL_CURVE``); cash dividends are
simulated (``CASH_DIVIDENDS``), under early exercise too (``CASH_DIVIDENDS_EXERCISE``).
"""

from __future__ import annotations

import math

import numpy as np

PARAMETERS = ("vol",)
POSITIVE = ("vol",)  # columns that must be > 0
BOUNDS: tuple = ()   # further (column, test, rule) checks of the parameter columns
LIMITS = (("vol", 0.0, 10.0),)  # the range the engine computes in
MARKET_ENTRY = None     # no entry of its own in a market's underlying: its ``vol``
MARKET_SOURCE = "vol"   # what a missing value names
VOL_CURVE = True        # its rows' dynamics carry the underlying's vol curve
CASH_DIVIDENDS = True   # simulated with cash dividends
CASH_DIVIDENDS_EXERCISE = True  # american and bermudan rows across them too


def market_parameters(underlying, maturity: float) -> dict | None:
    """The parameter values a market gives a row on ``underlying`` expiring after
    ``maturity`` years (the implied vol to expiry; none while the maturity is not a valid
    one), or None if the market has none for it."""
    if underlying.vol is None:
        return None
    if not (math.isfinite(maturity) and maturity > 0):
        return {}
    return {"vol": float(underlying.vol.implied(maturity))}


def zero_variance(rows) -> np.ndarray:
    """Per row of ``rows``, whether its variance starts at 0: never (vol > 0)."""
    return np.zeros(len(rows), dtype=bool)
