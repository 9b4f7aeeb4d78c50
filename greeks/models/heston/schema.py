"""Heston inputs: the parameter columns and their rules, what a market gives them, the
schemes' names and the rows no weight can price.

No numba here: validation and option checks import this module alone.  Off a market a
Heston row takes its parameters from its underlying's ``heston`` entry (``MARKET_ENTRY``),
its dynamics carry no vol curve; cash dividends are applied to the zero-carry chain times
the growth (:mod:`greeks.models.heston.dropped`), for american and bermudan rows too.
"""

from __future__ import annotations

import numpy as np

PARAMETERS = ("v0", "kappa", "theta", "xi", "rho")
POSITIVE = ("kappa", "theta", "xi")  # columns that must be > 0
BOUNDS = (  # further (column, test, rule) checks of the parameter columns
    ("v0", lambda v: v >= 0, "must be >= 0"),
    ("rho", lambda v: np.abs(v) < 1,
     "must lie strictly between -1 and 1 (with |rho| = 1 the log-price given the variance "
     "path is deterministic and has no likelihood-ratio weight)"))
LIMITS = (("v0", 0.0, 100.0), ("kappa", 0.0, 1000.0), ("theta", 0.0, 100.0),
          ("xi", 0.0, 100.0))  # the range the engine computes in
MARKET_ENTRY = "heston"          # the underlying's entry that holds the parameters
MARKET_SOURCE = "heston entry"   # what a missing value names
VOL_CURVE = False                # its rows' dynamics carry no vol curve
CASH_DIVIDENDS = True            # simulated with cash dividends (the drops on the chain)
CASH_DIVIDENDS_EXERCISE = True   # american and bermudan rows across them too
QE, EXACT, EULER = 0, 1, 2
SCHEME_CODES = {"qe": QE, "exact": EXACT, "euler": EULER}


def market_parameters(underlying, maturity: float) -> dict | None:
    """The parameter values a market gives a row on ``underlying`` (its ``heston`` entry,
    whatever the maturity), or None if the market has none for it."""
    if underlying.heston is None:
        return None
    return {name: float(underlying.heston[name]) for name in PARAMETERS}


def zero_variance(rows) -> np.ndarray:
    """Per row of ``rows`` (a frame of this model's rows), whether its variance starts at 0
    (v0 = 0): the Euler scheme's first step is then deterministic, and without the Feller
    condition the delta weight has no finite variance (:func:`from_zero_without_feller`)."""
    return (rows["v0"] == 0).to_numpy()


def from_zero_without_feller(v0, kappa, theta, xi):
    """Whether the chain starts at v0 = 0 with 2κθ < ξ² (scalars or arrays): its first
    variance then has a density ∝ v^{d/2 − 1} near 0 (d = 4κθ/ξ² < 2), and every weight that
    divides by the first integrated variance (the delta weight R/(S0 V), the Gaussian terms
    of the parameter scores) has no usable variance."""
    with np.errstate(invalid="ignore", over="ignore"):
        return (np.asarray(v0) == 0) & (2 * np.asarray(kappa) * np.asarray(theta)
                                        < np.asarray(xi) ** 2 * (1 - 1e-12))


def shifted_v0(v0, shift):
    """The initial variance after a shift of σ0 = sqrt(v0) by ``shift``: (sqrt(v0) + shift)²
    (scalars or arrays)."""
    return (np.sqrt(v0) + shift) ** 2
