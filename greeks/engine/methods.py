"""The estimator families of each row, and their relative costs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from greeks.models import adapter as model_of
from greeks.payoff_table import BY_CODE, row_code

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


def row_methods(frame: pd.DataFrame, method: str = "auto", plain: bool = False) -> list[str]:
    """The estimator of each row under ``--method`` (the results' ``method`` column).

    auto and mixed: knock-outs by survival conditioning where the model can (GBM), the rows
    its model conditions (Heston european and cash digital) by conditional Monte Carlo, every
    other row by likelihood ratio with controls, on antithetic pairs (auto may take single
    Greeks from other families, :func:`simulate`); lr: likelihood ratio for every row;
    pathwise: pathwise delta and vega where the model has them (GBM european and asian
    rows; the others as auto); fd: central differences on common random numbers for every
    row (conditioned rows: of their conditional value); rqmc: likelihood ratio (conditioned
    rows: conditional Monte Carlo) on randomised quasi-Monte Carlo paths; ``plain``: plain
    likelihood ratio.  Rows whose likelihood-ratio delta weight is unusable
    (:func:`lr_delta_unusable`) and that are not conditioned go by finite differences
    under auto, mixed and pathwise.
    """
    method = "auto" if method == "mixed" else method
    labels = []
    stuck = lr_delta_unusable(frame)
    for row, from_zero in zip(frame.itertuples(index=False), stuck):
        model = model_of(row.model)
        code = row_code(row)
        conditioned = code in model.conditioned
        if plain:
            label = "lr"
        elif method == "fd" or (from_zero and method in ("auto", "pathwise")
                                and not conditioned):
            label = "fd+conditional+antithetic" if conditioned else "fd+antithetic"
        elif method == "pathwise" and code in model.pathwise:
            label = "pathwise+antithetic"
        elif method == "rqmc":
            label = "rqmc+conditional" if conditioned else "rqmc+lr"
        elif method != "lr" and is_knock_out(row):
            label = "survival+pathwise+antithetic"
        elif method != "lr" and conditioned:
            label = "conditional+controls+antithetic"
        else:
            label = "lr+controls+antithetic"
        labels.append(label)
    return labels


def _relative_cost(label: str, model: str) -> float:
    """Cost per path of an estimator family relative to likelihood ratio on the same row
    (the model's ``relative_cost``, measured with ``greeks compare``)."""
    return model_of(model).relative_cost.get(label.split("+")[0], 1.0)
