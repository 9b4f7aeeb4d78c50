"""The estimator families of each row, and their relative costs."""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

import numpy as np
import pandas as pd

from greeks.market.positions import MARKET_COLUMN, dated_rows
from greeks.models import adapter as model_of
from greeks.payoff_table import BY_CODE, KNOCK_OUT_TWIN, frame_codes, row_code

EXERCISE_LABEL = "policy+fd+controls+antithetic"  # greeks.exercise
SINGLE_LABEL = "policy+fd+controls"  # the same on single paths
SURVIVAL_LABEL = "survival+pathwise+antithetic"  # knock-outs (greeks.survival)
PARITY_LABEL = "parity+survival+pathwise+antithetic"  # knock-ins (greeks.parity)


def is_knock_out(row) -> bool:
    """Whether a row (a record of a validated frame) is a knock-out barrier that its model
    prices on survival-conditioned paths of its own (:mod:`greeks.survival`)."""
    return (model_of(row.model).survival
            and getattr(row, "barrier_type", None) in BY_CODE[row_code(row)].survival)


def lr_delta_unusable(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose likelihood-ratio delta weight has no finite variance (their model's
    ``lr_delta_unusable``, e.g. Heston from v0 = 0 without the Feller condition): other
    families price them, the weight cannot."""
    out = np.zeros(len(frame), dtype=bool)
    models = frame["model"].to_numpy()
    for name in np.unique(models):
        rows = models == name
        out[rows] = model_of(name).lr_delta_unusable(frame[rows])
    return out


class Family(Enum):
    """An estimator family: how a row's paths are simulated and its Greeks estimated.

    Rows of one family on one simulation key share paths; ``separate`` families run on
    simulations of their own beside the likelihood-ratio one (other paths), and
    survival-conditioned rows share a simulation only with rows of the same barrier and
    monitoring dates."""

    LR = "lr"                # likelihood ratio, with controls (conditional MC where conditioned)
    SURVIVAL = "survival"    # knock-outs on survival-conditioned paths, pathwise Greeks
    PARITY = "parity"        # knock-ins: the vanilla's closed form less the knock-out's SURVIVAL
    PATHWISE = "pathwise"    # pathwise delta and vega
    FD = "fd"                # central differences on common random numbers
    RQMC = "rqmc"            # likelihood ratio on randomised quasi-Monte Carlo replicates
    EXERCISE = "exercise"    # early exercise under a fitted policy (greeks.exercise)

    @property
    def separate(self) -> bool:
        """Whether its groups are simulations apart from the likelihood-ratio ones."""
        return self in (Family.PATHWISE, Family.FD, Family.RQMC, Family.EXERCISE)

    @property
    def controlled(self) -> bool:
        """Whether its groups take control coefficients from a pilot run."""
        return self is Family.LR

    @property
    def further(self) -> bool:
        """Whether its chunks estimate the further Greeks (:mod:`greeks.sensitivities`)."""
        return self in (Family.LR, Family.SURVIVAL, Family.PARITY, Family.EXERCISE)

    @property
    def by_barrier(self) -> bool:
        """Whether its rows share a simulation only with rows of the same barrier and
        monitoring dates (its paths depend on them)."""
        return self in (Family.SURVIVAL, Family.PARITY)


class Estimator(NamedTuple):
    """A row's estimator: its family, its label in the results' ``method`` column, and
    whether it takes the likelihood-ratio delta weight."""

    family: Family
    label: str
    delta_weight: bool = False


def row_estimators(frame: pd.DataFrame, method: str = "auto",
                   plain: bool = False) -> list[Estimator]:
    """The estimator of each row under ``method``.

    auto and mixed: knock-outs by survival conditioning where the model can (GBM), the rows
    its model conditions (Heston european and cash digital) by conditional Monte Carlo, every
    other row by likelihood ratio with controls, on antithetic pairs (auto may take single
    Greeks from other families, :func:`greeks.engine.run.simulate`); lr: likelihood ratio
    for every row; pathwise: pathwise delta and vega where the model has them (GBM european
    and asian rows; the others as auto); fd: central differences on common random numbers
    for every row (conditioned rows: of their conditional value); rqmc: likelihood ratio
    (conditioned rows: conditional Monte Carlo) on randomised quasi-Monte Carlo paths;
    parity: knock-ins by in–out parity where it applies (:func:`_by_parity`; the others as
    auto);
    ``plain``: plain likelihood ratio.  Rows priced off a market (:mod:`greeks.market`) go
    by likelihood ratio with controls under every method (Heston european and cash digital
    rows: conditional Monte Carlo, except under lr, and except where a cash dividend falls
    on or before their expiry: the price given the variance path is then no Black–Scholes
    value, :mod:`greeks.models.heston.dropped`; GBM knock-outs: survival conditioning on
    the dated chain's steps, cash drops included, except under lr; GBM european and asian
    rows without such a dividend: pathwise under pathwise,
    :func:`greeks.models.gbm.dated.pathwise_values`).  American
    and bermudan rows go under
    every method by their fitted exercise policy (:mod:`greeks.exercise`).  Rows whose
    likelihood-ratio delta weight is unusable (:func:`lr_delta_unusable`) and that are not
    conditioned go by finite differences under auto, mixed and pathwise.
    """
    method = "auto" if method == "mixed" else method
    codes = frame_codes(frame)
    models = frame["model"].to_numpy(dtype=object)
    barriers = (frame["barrier_type"].to_numpy(dtype=object) if "barrier_type" in frame
                else np.full(len(frame), None, dtype=object))
    stuck = lr_delta_unusable(frame)
    dated = dated_rows(frame)
    paying = cash_before_expiry(frame)
    chosen: dict[tuple, Estimator] = {}  # rows alike in all that decides share the choice
    out = []
    for alike in zip(models.tolist(), codes.tolist(), barriers.tolist(), stuck.tolist(),
                     np.asarray(dated, dtype=bool).tolist(), paying.tolist()):
        estimator = chosen.get(alike)
        if estimator is None:
            estimator = chosen[alike] = _estimator(*alike, method, plain)
        out.append(estimator)
    return out


def by_conditional(labels) -> np.ndarray:
    """Whether each estimator label (a results' ``method``) values its row by conditional
    Monte Carlo: ``conditional+controls+antithetic``, ``fd+conditional+antithetic``,
    ``rqmc+conditional``."""
    return np.char.find(np.asarray(labels, dtype=str), "conditional") >= 0


def cash_before_expiry(frame: pd.DataFrame) -> np.ndarray:
    """Rows priced off a market with a cash dividend on or before their expiry."""
    if MARKET_COLUMN not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return np.array([state is not None and bool(state.dynamics.cash_dividends(float(t)))
                     for state, t in zip(frame[MARKET_COLUMN], frame["maturity"])], dtype=bool)


def _estimator(model_name: str, code: int, barrier_type, from_zero: bool, off_market: bool,
               paying: bool, method: str, plain: bool) -> Estimator:
    """The estimator of a row of model ``model_name``, payoff ``code`` and ``barrier_type``
    (:func:`row_estimators`; ``paying``: a cash dividend on or before its expiry, which
    leaves no conditional Monte Carlo)."""
    model = model_of(model_name)
    conditioned = code in model.conditioned and not paying
    knock_out = model.survival and barrier_type in BY_CODE[code].survival
    if BY_CODE[code].exercise:
        return Estimator(Family.EXERCISE, EXERCISE_LABEL if not plain else SINGLE_LABEL)
    if plain:
        return Estimator(Family.LR, "lr", True)
    if method == "parity":
        if _by_parity(model_name, code, barrier_type, from_zero, off_market, paying):
            return Estimator(Family.PARITY, PARITY_LABEL)
        method = "auto"
    if off_market:  # rows priced off a market: the families that take its curves
        if method != "lr" and knock_out:
            return Estimator(Family.SURVIVAL, SURVIVAL_LABEL)
        if method == "pathwise" and code in model.pathwise and not paying:
            return Estimator(Family.PATHWISE, "pathwise+antithetic")
        return (Estimator(Family.LR, "conditional+controls+antithetic")
                if conditioned and method != "lr"
                else Estimator(Family.LR, "lr+controls+antithetic", True))
    if method == "fd" or (from_zero and method in ("auto", "pathwise") and not conditioned):
        return Estimator(Family.FD, "fd+conditional+antithetic" if conditioned
                         else "fd+antithetic")
    if method == "pathwise" and code in model.pathwise:
        return Estimator(Family.PATHWISE, "pathwise+antithetic")
    if method == "rqmc":
        return (Estimator(Family.RQMC, "rqmc+conditional") if conditioned
                else Estimator(Family.RQMC, "rqmc+lr", True))
    if method != "lr" and knock_out:
        return Estimator(Family.SURVIVAL, SURVIVAL_LABEL)
    if method != "lr" and conditioned:
        return Estimator(Family.LR, "conditional+controls+antithetic")
    return Estimator(Family.LR, "lr+controls+antithetic", True)


def _by_parity(model_name: str, code: int, barrier_type, from_zero: bool, off_market: bool,
                paying: bool) -> bool:
    """Whether a knock-in goes by in–out parity (:mod:`greeks.parity`): where ``auto``
    prices its knock-out twin (the same row with the barrier's knock-in turned to the
    knock-out) by survival conditioning (:func:`_estimator`: the same conditions), and the
    vanilla's closed form is exact on the row's market: no cash dividend on or before its
    expiry (``paying``; a cash drop leaves no Black–Scholes value)."""
    twin = KNOCK_OUT_TWIN.get(barrier_type)
    return (twin is not None and not paying and _estimator(
        model_name, code, twin, from_zero, off_market, paying, "auto", False).family
        is Family.SURVIVAL)


def row_methods(frame: pd.DataFrame, method: str = "auto", plain: bool = False) -> list[str]:
    """The label of each row's estimator (:func:`row_estimators`; the results' ``method``
    column)."""
    return [estimator.label for estimator in row_estimators(frame, method, plain)]


def relative_cost(family: Family, model: str) -> float:
    """Cost per path of an estimator family relative to likelihood ratio on the same row
    (the model's ``relative_cost``, measured with ``greeks compare``)."""
    return model_of(model).relative_cost.get(family.value, 1.0)
