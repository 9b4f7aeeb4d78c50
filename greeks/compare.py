"""Every valid estimator of every row, side by side (``greeks compare``).

For each row and each estimator that applies to it — plain likelihood ratio, likelihood
ratio with controls (``--method lr``), the row's default family where it differs,
pathwise (GBM european and asian), finite differences on common random numbers, and
``auto`` (the choice per Greek, its decision run included in its time) — the row alone
is priced with the same paths and seed on one thread, and the table reports for price,
delta and vega: the estimate, its SE, the run's time, the variance ratio against plain LR
(SE_lr² / SE²) and the efficiency against plain LR, (SE_lr² · t_lr) / (SE² · t), the
variance reduction per unit of computing time (Broadie & Glasserman 1996).
"""

from __future__ import annotations

import time

import pandas as pd

GREEKS = ("price", "delta", "vega")


def compare_estimators(source, paths: int = 100_000, seed: int = 0,
                       report=None) -> pd.DataFrame:
    """One line per row, Greek and estimator: ``id``, ``instrument``, ``model``, ``greek``,
    ``method``, ``estimate``, ``se``, ``seconds``, ``variance_ratio``, ``efficiency``."""
    from greeks import engine
    from greeks.api import check_run_options, load

    frame = load(source)
    check_run_options(paths, seed, 1)
    _warm_up(frame)
    lines = []
    for position in range(len(frame)):
        row = frame.iloc[[position]].reset_index(drop=True)
        runs = []
        for method, plain, per_greek in _candidates(row):
            start = time.perf_counter()
            estimates = engine.simulate(row, paths, seed, threads=1, method=method, plain=plain,
                                        per_greek=per_greek)
            seconds = time.perf_counter() - start
            label = "auto" if per_greek else engine.row_methods(row, method, plain)[0]
            if label not in [r[0] for r in runs]:
                runs.append((label, estimates, seconds))
        _, base, base_seconds = runs[0]
        for k, greek in enumerate(GREEKS):
            for label, estimates, seconds in runs:
                variance = estimates.se[0, k] ** 2
                ratio = base.se[0, k] ** 2 / variance if variance > 0 else float("inf")
                lines.append(dict(
                    id=row["id"].iat[0], instrument=row["instrument"].iat[0],
                    model=row["model"].iat[0], greek=greek, method=label,
                    estimate=estimates.mean[0, k], se=estimates.se[0, k], seconds=seconds,
                    variance_ratio=ratio, efficiency=ratio * base_seconds / seconds))
        if report:
            report(position + 1, len(frame))
    table = pd.DataFrame(lines)
    table.attrs.update(paths=int(paths), seed=int(seed))
    return table


def _candidates(row: pd.DataFrame) -> list[tuple[str, bool, bool]]:
    """(method, plain, per_greek) to run: plain LR first (the reference of the ratios)."""
    candidates = [("lr", True, False), ("lr", False, False), ("auto", False, False)]
    if row["model"].iat[0] == "gbm" and row["instrument"].iat[0] in ("european", "asian"):
        candidates.append(("pathwise", False, False))
    return candidates + [("fd", False, False), ("auto", False, True)]


def _warm_up(frame: pd.DataFrame) -> None:
    """Compile (or load) every kernel the comparison will time."""
    from greeks import engine

    for method, plain in [("lr", True), ("auto", False), ("pathwise", False), ("fd", False)]:
        engine.simulate(frame, 1_000, 0, threads=1, method=method, plain=plain,
                        per_greek=False)
