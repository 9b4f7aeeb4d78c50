"""Further Greeks by bump and revalue beside the engine's run: those a model's chunks do
not estimate (its adapter's ``revalued``: under Heston rho, theta, vanna, volga and the
model-parameter sensitivities, :mod:`greeks.models.heston.sensitivities`), filled into a
run's estimates and totals.

Rows priced off a market keep NaN (the bumped revaluations assume flat rates), as do
american and bermudan rows but for the theta and rho that :mod:`greeks.exercise` estimates
(models with ``carries_exercise``); a total is complete only when none of its rows is
missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from greeks.market.positions import dated_rows, without_market
from greeks.models import MODELS, adapter
from greeks.names import RunOptions

CARRIED = ("theta", "rho")  # estimated by a carries_exercise model's exercise kernels (of
# greeks.sensitivities.NAMES, not imported here: it compiles kernels)


def revalued_names() -> set[str]:
    """The Greeks that some model fills in by bump and revalue."""
    return {name for model in MODELS for name in adapter(model).revalued}


def revaluing(frame: pd.DataFrame, names) -> np.ndarray:
    """Rows whose model fills in any of the Greeks ``names`` by bump and revalue."""
    models = [model for model in MODELS if set(adapter(model).revalued) & set(names)]
    return np.isin(frame["model"].to_numpy(dtype=object), models)


def revalued_greeks(frame: pd.DataFrame, names, paths: int, options: RunOptions):
    """(mean, se, total_mean, total_se, choice) of the Greeks ``names`` of the rows of a
    flat-market ``frame`` whose models revalue them (:meth:`Model.revalued_greeks`; NaN and
    "" for the others), totals weighted by quantity and summed over the models."""
    args = (list(names), paths, options.seed, options.scheme, options.steps_per_year,
            options.first_step, options.method, options.threads, options.scheduler)
    models = [model for model in MODELS if set(adapter(model).revalued) & set(names)
              and (frame["model"] == model).any()]
    mean, se, total, total_se, choice = adapter(models[0]).revalued_greeks(frame, *args)
    for model in models[1:]:
        m_mean, m_se, m_total, m_total_se, m_choice = adapter(model).revalued_greeks(frame,
                                                                                      *args)
        rows = (frame["model"] == model).to_numpy()
        mean[rows], se[rows], choice[rows] = m_mean[rows], m_se[rows], m_choice[rows]
        total, total_se = total + m_total, np.hypot(total_se, m_total_se)
    return mean, se, total, total_se, choice


def with_revalued(frame, estimates, extra, parameters, paths: int, options: RunOptions):
    """The estimates with the Greeks that models fill in by bump and revalue: the
    model-parameter sensitivities ``parameters`` appended (with the estimator of each row),
    and those of the further Greeks ``extra`` filled into the rows of models that revalue
    them; totals completed with theirs.  Returns (mean, se, total_mean, total_se, complete,
    the estimator of each row per parameter sensitivity)."""
    mean, se = estimates.mean, estimates.se
    total_mean, total_se = estimates.total_mean, estimates.total_se
    complete = estimates.complete
    methods = {name: np.full(len(frame), "", dtype=object) for name in parameters}
    if not extra and not parameters:
        return mean, se, total_mean, total_se, complete, methods
    from greeks.api import exercise_rows

    revalued = revalued_names()
    filled_in = [name for name in extra if name in revalued] + list(parameters)
    exercised = exercise_rows(frame)
    dropped = dated_rows(frame) | exercised
    models = revaluing(frame, filled_in)
    rows = models & ~dropped
    engine = exercised & np.isin(frame["model"].to_numpy(dtype=object),
                                 [name for name in MODELS if adapter(name).carries_exercise])

    def missing(name):
        """Whether some row of a revaluing model has ``name`` from neither the
        revaluation nor the engine (whose exercise kernels estimate theta and rho)."""
        return (dropped & models & ~(engine if name in CARRIED else False)).any()
    if filled_in and any(missing(name) for name in filled_in if name in extra):
        complete = complete.copy()
        complete[[3 + extra.index(name) for name in filled_in
                  if name in extra and missing(name)]] = False
    if filled_in and rows.any():
        b_mean, b_se, b_total, b_total_se, choice = revalued_except(frame, dropped, filled_in,
                                                                   paths, options)
        columns = [3 + extra.index(name) for name in filled_in if name in extra]
        filled = [filled_in.index(name) for name in filled_in if name in extra]
        mean, se = mean.copy(), se.copy()
        mean[np.ix_(rows, columns)] = b_mean[np.ix_(rows, filled)]
        se[np.ix_(rows, columns)] = b_se[np.ix_(rows, filled)]
        total_mean = np.concatenate([total_mean, np.zeros(len(parameters))])
        total_se = np.concatenate([total_se, np.zeros(len(parameters))])
        complete = np.concatenate([complete, np.full(len(parameters),
                                                     not (dropped & models).any())])
        present = np.array([not missing(name) for name in filled_in if name in extra]
                           + [not (dropped & models).any()] * len(parameters), dtype=bool)
        targets = columns + [3 + len(extra) + i for i in range(len(parameters))]
        total_mean[targets] += b_total
        total_se[targets] = np.hypot(total_se[targets], b_total_se)
        complete[columns] = ~np.isnan(mean[:, columns]).any(axis=0)  # rows of other
        # methods (pathwise, fd, rqmc) may lack them
        mean = np.concatenate([mean, b_mean[:, len(filled):]], axis=1)
        se = np.concatenate([se, b_se[:, len(filled):]], axis=1)
        methods = {name: choice[:, len(filled) + i] for i, name in enumerate(parameters)}
        complete[targets] &= present
    elif parameters:  # no rows of a model that has them: they do not apply
        nan = np.full((len(frame), len(parameters)), np.nan)
        mean, se = np.concatenate([mean, nan], axis=1), np.concatenate([se, nan], axis=1)
        total_mean = np.concatenate([total_mean, np.full(len(parameters), np.nan)])
        total_se = np.concatenate([total_se, np.full(len(parameters), np.nan)])
        complete = np.concatenate([complete, np.zeros(len(parameters), dtype=bool)])
    return mean, se, total_mean, total_se, complete, methods


def revalued_except(frame, dropped, names, paths: int, options: RunOptions):
    """:func:`revalued_greeks` of the rows not ``dropped`` (off a market, or with early
    exercise; the others NaN, out of the totals)."""
    if not dropped.any():
        return revalued_greeks(frame, names, paths, options)
    flat = np.flatnonzero(~dropped)
    if flat.size == 0:
        nan = np.full((len(frame), len(names)), np.nan)
        return (nan, nan.copy(), np.zeros(len(names)), np.zeros(len(names)),
                np.full((len(frame), len(names)), "", dtype=object))
    b_mean, b_se, b_total, b_total_se, choice = revalued_greeks(
        without_market(frame.iloc[flat].reset_index(drop=True)), names, paths, options)
    mean, se = np.full((len(frame), b_mean.shape[1]), np.nan), np.full((len(frame),
                                                                       b_se.shape[1]), np.nan)
    mean[flat], se[flat] = b_mean, b_se
    chosen = np.full((len(frame), choice.shape[1]), "", dtype=object)
    chosen[flat] = choice
    return mean, se, b_total, b_total_se, chosen
