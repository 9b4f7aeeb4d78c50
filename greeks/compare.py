"""Every valid estimator of every row, side by side (``greeks compare``).

For each row and each estimator that applies to it — plain likelihood ratio, likelihood
ratio with controls (``method="lr"``), the row's default family where it differs,
pathwise (GBM european and asian), finite differences on common random numbers, and
``auto`` (the choice per Greek, its decision run included in its time) — the row alone
is priced with the same paths, seed and threads, and the table reports for price,
delta and vega: the estimate, its SE, the run's time, the variance ratio against plain LR
(SE_lr² / SE²) and the efficiency against plain LR, (SE_lr² · t_lr) / (SE² · t), the
variance reduction per unit of computing time (Broadie & Glasserman 1996).
"""

from __future__ import annotations

import time

import pandas as pd

from greeks.names import BASE_GREEKS, check_run_options


def compare_estimators(source, *, paths: int | None = None, seed: int | None = None,
                       threads: int | None = None, scheme: str | None = None,
                       steps_per_year: float | None = None, extra_columns=(),
                       market=None, progress=None) -> pd.DataFrame:
    """One line per row, Greek and estimator: ``id``, ``instrument``, ``model``, ``greek``,
    ``method``, ``estimate``, ``se``, ``seconds``, ``variance_ratio``, ``efficiency``.

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
        lines += _lines(row, runs)
        if progress:
            progress(position + 1, len(frame))
    table = pd.DataFrame(lines)
    table.attrs.update(paths=options.paths, seed=options.seed,
                       threads=options.threads or engine.default_threads())
    return table


def _lines(row: pd.DataFrame, runs) -> list[dict]:
    """The table's lines of one row: each Greek by each estimator, against the first."""
    _, base, base_seconds = runs[0]
    lines = []
    for k, greek in enumerate(BASE_GREEKS):
        for label, estimates, seconds in runs:
            variance = estimates.se[0, k] ** 2
            ratio = base.se[0, k] ** 2 / variance if variance > 0 else float("inf")
            lines.append(dict(
                id=row["id"].iat[0], instrument=row["instrument"].iat[0],
                model=row["model"].iat[0], greek=greek, method=label,
                estimate=estimates.mean[0, k], se=estimates.se[0, k], seconds=seconds,
                variance_ratio=ratio, efficiency=ratio * base_seconds / seconds))
    return lines


def _candidates(row: pd.DataFrame) -> list[tuple[str, bool, bool]]:
    """(method, plain, per_greek) to run: plain LR first (the reference of the ratios)."""
    candidates = [("lr", True, False), ("lr", False, False), ("auto", False, False)]
    from greeks.engine import row_methods

    if row_methods(row, "pathwise")[0].startswith("pathwise"):  # where the model has it
        candidates.append(("pathwise", False, False))
    return candidates + [("fd", False, False), ("auto", False, True)]


def _warm_up(frame: pd.DataFrame, scheme: str, steps_per_year: float) -> None:
    """Compile (or load) every kernel the comparison will time."""
    from greeks import engine

    for method, plain in [("lr", True), ("auto", False), ("pathwise", False), ("fd", False)]:
        engine.simulate(frame, 1_000, 0, threads=1, scheme=scheme,
                        steps_per_year=steps_per_year, method=method, plain=plain,
                        per_greek=False)
