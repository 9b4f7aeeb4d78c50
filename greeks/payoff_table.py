"""What each payoff is and what it supports: one table, readable without numba.

:mod:`greeks.payoffs` evaluates the payoffs by their codes (its kernel needs numba, so the
table lives here).  Each :class:`Payoff` row gives, for one code:

- ``instrument``, ``digital_type``: the contract it prices (``digital_type`` "" for the
  non-digitals; a digital row's ``digital_type`` column picks cash or asset);
- ``dated``: it reads the path on its ``fixings`` dates (the others at maturity only);
- ``conditional``: Heston prices it by conditional Monte Carlo given the variance path
  (:func:`greeks.estimators.likelihood_ratio_heston`);
- ``pathwise``: GBM has its pathwise delta and vega (:mod:`greeks.pathwise`);
- ``survival``: the barrier types that GBM prices on survival-conditioned paths
  (knock-outs, :mod:`greeks.survival`);
- ``exercise``: the holder may exercise early, on the row's dates (``bermudan``) or at any
  time (``american``, on an exercise grid of the row's dates, extrapolated to continuous
  exercise): priced under a solved exercise policy (:mod:`greeks.exercise`), never by
  conditional Monte Carlo, survival conditioning or the likelihood-ratio families;
- ``jump``: the payoff jumps as S crosses a level (the strike of a digital, a barrier), so
  that a finite difference of it is nonzero only on the few paths that cross the level
  within the bump (:func:`greeks.engine.run.fd_candidates`);
- ``floor``: the scale R of the unseen-event floor (:func:`greeks.engine.reduce._unseen_floor`):
  ``"kink"`` E[L]·σ·sqrt(T) for a payoff kinked at the strike, ``"payout"`` e^{−rT}·payout
  for a cash jump, ``"strike"`` e^{−rT}·K for a jump of S_T ≈ K at the strike.

Every payoff goes by likelihood ratio with controls where nothing better is declared.  The
payoffs with reference values are each model's (``CODES`` of its reference module,
:func:`greeks.models.reference`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from greeks.names import BARRIER_TYPES, DIGITAL_TYPES

EUROPEAN, DIGITAL, ASIAN, BARRIER, ASSET_DIGITAL, AMERICAN, BERMUDAN = 0, 1, 2, 3, 4, 5, 6

UP_AND_OUT, DOWN_AND_OUT, UP_AND_IN, DOWN_AND_IN = 0, 1, 2, 3
BARRIER_CODES = dict(zip(BARRIER_TYPES, (UP_AND_OUT, DOWN_AND_OUT, UP_AND_IN, DOWN_AND_IN)))
# a knock-in's knock-out on the same barrier (in + out = the vanilla, path by path)
KNOCK_OUT_TWIN = dict(zip(BARRIER_TYPES[2:], BARRIER_TYPES[:2]))
CASH = DIGITAL_TYPES[0]


class Payoff(NamedTuple):
    code: int
    instrument: str
    digital_type: str
    dated: bool
    conditional: bool
    pathwise: bool
    survival: tuple
    floor: str
    exercise: bool = False
    jump: bool = False


TABLE = (
    Payoff(EUROPEAN, "european", "", False, True, True, (), "kink"),
    Payoff(DIGITAL, "digital", "cash", False, True, False, (), "payout", jump=True),
    Payoff(ASIAN, "asian", "", True, False, True, (), "kink"),
    Payoff(BARRIER, "barrier", "", True, False, False, ("up-and-out", "down-and-out"), "kink",
           jump=True),
    Payoff(ASSET_DIGITAL, "digital", "asset", False, False, False, (), "strike", jump=True),
    Payoff(AMERICAN, "american", "", True, False, False, (), "kink", True),
    Payoff(BERMUDAN, "bermudan", "", True, False, False, (), "kink", True),
)
BY_CODE = {payoff.code: payoff for payoff in TABLE}
_BY_CONTRACT = {(payoff.instrument, payoff.digital_type): payoff.code for payoff in TABLE}
DATED_INSTRUMENTS = tuple(sorted({p.instrument for p in TABLE if p.dated}))


def code_of(instrument: str, digital_type: str = CASH) -> int:
    """The payoff code of a contract (``digital_type`` is read for digitals only)."""
    return _BY_CONTRACT[instrument, digital_type if instrument == "digital" else ""]


def row_code(row) -> int:
    """The payoff code of a record of a validated frame (no ``digital_type``: cash)."""
    return code_of(row.instrument, getattr(row, "digital_type", CASH) or CASH)


def frame_codes(rows) -> np.ndarray:
    """The payoff code of every row of a validated frame (a blank or missing
    ``digital_type``: cash)."""
    instrument = np.asarray(rows["instrument"], dtype=object)
    types = (np.asarray(rows["digital_type"], dtype=object) if "digital_type" in rows
             else np.full(instrument.size, CASH, dtype=object))
    cash = (types == CASH) | pd.isna(types) | ~types.astype(bool)
    codes = np.full(instrument.size, -1, dtype=np.int64)
    for (name, digital_type), code in _BY_CONTRACT.items():
        on = instrument == name
        if digital_type:
            on &= cash if digital_type == CASH else types == digital_type
        codes[on] = code
    if (codes < 0).any():
        position = int(np.flatnonzero(codes < 0)[0])
        raise KeyError((instrument[position], types[position]))
    return codes


def attribute_of(codes, attribute: str) -> np.ndarray:
    """The table's ``attribute`` of each of the payoff ``codes``."""
    values = [getattr(BY_CODE[code], attribute) for code in range(len(TABLE))]
    return np.array(values)[np.asarray(codes, dtype=np.int64)]


def codes_where(attribute: str) -> tuple:
    """The codes whose ``attribute`` in the table is true."""
    return tuple(p.code for p in TABLE if getattr(p, attribute))
