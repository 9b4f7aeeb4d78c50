"""Every valid estimator of every row, side by side (``greeks compare``).

For each row and each estimator that applies to it — plain likelihood ratio, likelihood
ratio with controls (``method="lr"``), the row's default family where it differs,
pathwise (GBM european and asian), finite differences on common random numbers, in–out
parity (GBM knock-ins, :mod:`greeks.parity`), and
``auto`` (the choice per Greek, its decision run included in its time) — the row alone
is priced with the same paths, seed and threads, and the table reports for price,
delta and vega: the estimate, its SE, the run's time, the variance ratio against plain LR
(SE_lr² / SE²) and the efficiency against plain LR, (SE_lr² · t_lr) / (SE² · t), the
variance reduction per unit of computing time (Broadie & Glasserman 1996).

``auto`` weighs, per Greek, only its candidates (the row's default family, pathwise where
valid, finite differences, parity for knock-ins: ``greeks.engine.AUTO_FAMILIES``; not
likelihood ratio with controls where the default is another family, as for knock-outs),
and not by the clock:
by variance × the fixed cost per path of the family relative to likelihood ratio (the
model's ``relative_cost``), measured in its decision run (1/16 of the paths, streams of its
own).  So that the table shows what auto weighs, each candidate's line carries that
``cost``, its ``score`` = variance ratio / cost on this run's paths, and its
``decision_score``: the same figure from auto's decision run (its variance scaled to this
run's path count), which auto maximises; ``picked`` marks the line auto took.  The two
scores differ by the decision run's noise only: where they rank two candidates
differently, the two are about as good.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from greeks.names import BASE_GREEKS, check_run_options


def compare_estimators(source, *, paths: int | None = None, seed: int | None = None,
                       threads: int | None = None, scheme: str | None = None,
                       steps_per_year: float | None = None, extra_columns=(),
                       market=None, progress=None) -> pd.DataFrame:
    """One line per row, Greek and estimator: ``id``, ``instrument``, ``model``, ``greek``,
    ``method``, ``estimate``, ``se``, ``seconds``, ``variance_ratio``, ``efficiency``,
    and for auto's candidates ``cost``, ``score``, ``decision_score`` (NaN on the other
    lines) and ``picked`` (the module's docstring).

    ``paths``, ``seed``, ``threads``, ``scheme``, ``steps_per_year`` are as in
    :func:`greeks.price_portfolio` (the estimates do not depend on ``threads``, the times
    do); ``market`` prices dated positions off a market file, as there (their rows go by
    likelihood ratio under every method, so they list plain LR, LR with controls, and
    ``auto``'s choice); ``progress(done, total)`` is called after each row.
    """
    from greeks.api import load

    options = check_run_options(paths=paths, seed=seed, threads=threads, scheme=scheme,
                                steps_per_year=steps_per_year)
    frame = load(source, market, extra_columns)
    from greeks import engine  # numba: only once the options and the input are valid

    _warm_up(frame, options.scheme, options.steps_per_year)
    lines = []
    for position in range(len(frame)):
        row = frame.iloc[[position]].reset_index(drop=True)
        runs = []
        for method, plain, per_greek in _candidates(row):
            start = time.perf_counter()
            estimates = engine.simulate(row, options.paths, options.seed, options.threads,
                                        scheme=options.scheme,
                                        steps_per_year=options.steps_per_year, method=method,
                                        plain=plain, per_greek=per_greek)
            seconds = time.perf_counter() - start
            label = "auto" if per_greek else engine.row_methods(row, method, plain)[0]
            if label not in [r[0] for r in runs]:
                runs.append((label, estimates, seconds))
        lines += _lines(row, runs, _auto_figures(row, runs[-1][1], options.paths))
        if progress:
            progress(position + 1, len(frame))
    table = pd.DataFrame(lines)
    table.attrs.update(paths=options.paths, seed=options.seed,
                       threads=options.threads or engine.default_threads())
    return table


def _auto_figures(row: pd.DataFrame, auto, paths: int) -> dict:
    """label → (cost per path, decision run's variance × cost at this run's path count,
    per Greek) of each of auto's candidates on the row (its first, the default, where two
    share a label: auto runs only that one; no finite differences of a payoff with a jump
    under 131,072 paths nor of a row that pathwise estimates,
    :func:`greeks.engine.run.fd_candidates`), from ``auto``, the
    per-Greek auto run."""
    from greeks import engine
    from greeks.engine.methods import relative_cost

    figures = {}
    if auto.decision is None:
        return figures
    scale = engine.pilot_paths(paths) / paths
    families = {e.label: e.family for e in reversed(
        [engine.row_estimators(row, method)[0] for method in engine.AUTO_FAMILIES])}
    for f, label in enumerate(auto.candidates[:, 0]):  # fd_candidates: not every family
        if label not in figures:
            figures[label] = (relative_cost(families[label], row["model"].iat[0]),
                              auto.decision[f, 0] * scale)
    return figures


def _lines(row: pd.DataFrame, runs, auto_figures: dict) -> list[dict]:
    """The table's lines of one row: each Greek by each estimator, against the first
    (the last: auto per Greek, which names the line it took)."""
    _, base, base_seconds = runs[0]
    picked = runs[-1][1].choice[0]
    lines = []
    for k, greek in enumerate(BASE_GREEKS):
        for label, estimates, seconds in runs:
            variance = estimates.se[0, k] ** 2
            ratio = base.se[0, k] ** 2 / variance if variance > 0 else float("inf")
            cost, decided = auto_figures.get(label, (float("nan"), np.full(3, np.nan)))
            lines.append(dict(
                id=row["id"].iat[0], instrument=row["instrument"].iat[0],
                model=row["model"].iat[0], greek=greek, method=label,
                estimate=estimates.mean[0, k], se=estimates.se[0, k], seconds=seconds,
                variance_ratio=ratio, efficiency=ratio * base_seconds / seconds,
                cost=cost, score=ratio / cost,
                decision_score=base.se[0, k] ** 2 / decided[k] if np.isfinite(decided[k])
                else float("nan"),
                picked=label == picked[k] and estimates is not runs[-1][1]))
    return lines


def _candidates(row: pd.DataFrame) -> list[tuple[str, bool, bool]]:
    """(method, plain, per_greek) to run: plain LR first (the reference of the ratios)."""
    candidates = [("lr", True, False), ("lr", False, False), ("auto", False, False)]
    from greeks.engine import row_methods

    if row_methods(row, "pathwise")[0].startswith("pathwise"):  # where the model has it
        candidates.append(("pathwise", False, False))
    candidates.append(("fd", False, False))
    if row_methods(row, "parity")[0] != row_methods(row, "auto")[0]:  # knock-ins by parity
        candidates.append(("parity", False, False))
    return candidates + [("auto", False, True)]


def _warm_up(frame: pd.DataFrame, scheme: str, steps_per_year: float) -> None:
    """Compile (or load) every kernel the comparison will time (parity's where a row has
    it)."""
    from greeks import engine

    methods = [("lr", True), ("auto", False), ("pathwise", False), ("fd", False)]
    if engine.row_methods(frame, "parity") != engine.row_methods(frame, "auto"):
        methods.append(("parity", False))
    for method, plain in methods:
        engine.simulate(frame, 1_000, 0, threads=1, scheme=scheme,
                        steps_per_year=steps_per_year, method=method, plain=plain,
                        per_greek=False)
