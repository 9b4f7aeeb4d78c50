"""American and bermudan rows: the variance per unit of CPU time of each unbiased variant of
their estimator, per Greek.

    python -m benchmarks.exercise_estimators [--paths 32768] [--seeds 5] [--repeats 5]

Every row of ``instruments/american.csv`` and four rows off the market
(``instruments/american_book.csv`` with ``instruments/market.json``: a GBM put on vol and
yield curves, a GBM call across cash dividends, a GBM bermudan put with a proportional
dividend, the Heston NDX put), each alone.  The variants are the exercise family's
(:mod:`greeks.exercise`, the policy fixed, the European control) on antithetic pairs
(``paired``, the default) and on single paths (``single``), each with the hedge control
where the row has it (:mod:`greeks.exercise_hedge`) and without it (``nohedge``: the
adapter's ``hedges_exercise`` turned off).  All four are unbiased for the policy's value:
the pairs' mean is the paths' mean, and either control has a known mean.

Per row, variant and Greek (price, delta, vega, gamma, theta, rho): the variance per path,
N·SE² of a run of ``--paths`` paths (medians over ``--seeds`` seeds), the CPU time per path
of the main chunks (one thread, the chunk kernel :func:`greeks.engine.chunks.run_chunk`
timed on the prepared group, medians of ``--repeats``; the policy's solve and the pilot,
common to every variant, left out), and the efficiency relative to ``paired``,
(N·SE²·t)_paired / (N·SE²·t)_variant.  Writes ``benchmarks/results/exercise_estimators.md``.

With ``--overall``: what ``auto`` (each group on pairs or single paths as its policy's pilot
says) gains on the two example files as a whole (:func:`overall`); writes
``benchmarks/results/exercise_auto.md``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import greeks
from benchmarks.machine import ROOT, cpu_name, load_average
from greeks import sensitivities
from greeks.api import load
from greeks.engine import run
from greeks.engine.chunks import run_chunk
from greeks.engine.progress import Work
from greeks.models import adapter as model_of
from greeks.names import ExercisePolicy

EXTRA = ("gamma", "theta", "rho")
GREEKS = ("price", "delta", "vega") + EXTRA
BOOK_ROWS = ("SPX-AP-5100-DEC27", "AAPL-AC-190-SEP27", "SX5E-BP-4800-DEC27",
             "NDX-AP-18000-SEP27")
TIMED_CHUNK = 8192


def rows():
    """(label, one-row frame) of every row measured."""
    flat = load(ROOT / "instruments/american.csv")
    book = load(ROOT / "instruments/american_book.csv", ROOT / "instruments/market.json")
    out = [(row_id, flat[flat["id"] == row_id].reset_index(drop=True))
           for row_id in flat["id"]]
    return out + [(row_id, book[book["id"] == row_id].reset_index(drop=True))
                  for row_id in BOOK_ROWS]


class _Hedging:
    """The adapter of ``model`` with its hedge control off within the block."""

    def __init__(self, model: str, on: bool):
        self.adapter, self.on = type(model_of(model)), on

    def __enter__(self):
        self.saved = self.adapter.hedges_exercise
        if not self.on:
            self.adapter.hedges_exercise = lambda adapter, group, paths: False

    def __exit__(self, *exc):
        self.adapter.hedges_exercise = self.saved


def planned(frame, paths: int, paired: bool):
    """The row's exercise family planned for ``paths`` paths, on pairs or single paths."""
    plan = run._plan_family(frame, paths)
    groups = [replace(group, antithetic=paired) for group in plan.groups]
    return run._Planned(groups, [paths + paths % 2] * len(groups), plan.ids)


def variances(frame, paths: int, seed: int, paired: bool) -> np.ndarray:
    """N·SE² of each Greek (NaN where the row has none) on ``paths`` paths."""
    plan = planned(frame, paths, paired)
    estimates = run._run_family(frame, plan, seed, threads=1, extra=EXTRA)
    return paths * estimates.se[0, :len(GREEKS)] ** 2


def prepared(frame, seed: int, paired: bool):
    """The row's exercise group, prepared (policy, controls) for ``TIMED_CHUNK``-path
    chunks with every further Greek."""
    plan = planned(frame, TIMED_CHUNK, paired)
    codes = np.array([sensitivities.NAMES.index(name) for name in EXTRA], dtype=np.int64)
    (group,) = run._prepared(frame, plan.groups, seed, Work(), None, None, codes, 0,
                             ExercisePolicy())
    return group


def measure(frame, args) -> dict:
    """variant → (N·SE² per Greek, CPU s per path).  The variants' chunks are timed in
    turn (``TIMED_CHUNK`` paths each, chunk r of every variant in repeat r), so that the
    machine's load falls alike on each; medians of ``args.repeats``."""
    model = frame["model"].iat[0]
    plan = planned(frame, 2, True)
    hedged = model_of(model).hedges_exercise(plan.groups[0], _probe(plan.groups[0]))
    variance, groups = {}, {}
    for hedge in (True, False) if hedged else (True,):
        with _Hedging(model, hedge):
            for paired in (True, False):
                name = ("paired" if paired else "single") + ("" if hedge or not hedged
                                                             else "+nohedge")
                variance[name] = np.median([variances(frame, args.paths, seed, paired)
                                            for seed in range(args.seeds)], axis=0)
                groups[name] = prepared(frame, 0, paired)
                run_chunk(groups[name], 0, 0, 64)  # compile
    times = {name: [] for name in groups}
    for r in range(args.repeats):
        for name, group in groups.items():
            with _Hedging(model, "nohedge" not in name):
                start = time.process_time()
                run_chunk(group, 0, r, TIMED_CHUNK)
                times[name].append(time.process_time() - start)
    return {name: (variance[name], statistics.median(times[name]) / TIMED_CHUNK)
            for name in groups}


def _probe(group):
    """A two-path chunk of the group's exercise paths (what ``hedges_exercise`` reads)."""
    stream = np.random.SeedSequence(0, spawn_key=(*group.spawn_words, 0))
    return model_of(group.model).exercise_paths(group, stream, 2)


def table(results: dict) -> list[str]:
    lines = ["| row | variant | µs/path | " + " | ".join(
        f"{g} N·SE² (eff.)" for g in GREEKS) + " |",
        "| --- | --- | ---: | " + " | ".join("---:" for _ in GREEKS) + " |"]
    for row_id, variants in results.items():
        base_var, base_t = variants["paired"]
        for name, (var, t) in variants.items():
            cells = []
            for k in range(len(GREEKS)):
                if not np.isfinite(var[k]) or var[k] <= 0:
                    cells.append("")
                    continue
                efficiency = base_var[k] * base_t / (var[k] * t)
                cells.append(f"{var[k]:.4g} ({efficiency:.2f})")
            lines.append(f"| {row_id} | {name} | {t * 1e6:.1f} | " + " | ".join(cells) + " |")
    return lines


COLUMNS = ("price", "delta", "vega", "gamma", "theta_per_year", "rho_rate")
FILES = {"american.csv": None, "american_book.csv": "market.json"}


def overall(args) -> list[str]:
    """``auto`` (each group on the variant its policy's pilot favours) against ``mixed`` (pairs
    for every Greek, as every exercise row ran before) on the two example files, every
    Greek, one thread: the CPU time of the run (median over the seeds) and per row and Greek
    the efficiency (SE²·t)_mixed / (SE²·t)_auto, SE² the median over the seeds."""
    lines = ["| file | row | " + " | ".join(GREEKS) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in GREEKS) + " |"]
    notes = []
    for name, market in FILES.items():
        run = dict(market=None if market is None else ROOT / "instruments" / market,
                   threads=1, greeks=",".join(EXTRA))
        source = ROOT / "instruments" / name
        greeks.price_portfolio(source, paths=2_048, seed=0, **run)  # compile
        seconds = {method: [] for method in ("mixed", "auto")}
        variance = {method: [] for method in seconds}
        for seed in range(args.seeds):
            for method in seconds:  # in turn, so that the load falls alike on each
                start = time.process_time()
                out = greeks.price_portfolio(source, paths=args.paths, seed=seed,
                                             method=method, **run)
                seconds[method].append(time.process_time() - start)
                variance[method].append(out[[f"{c}_se" for c in COLUMNS]].to_numpy() ** 2)
        t = {method: statistics.median(times) for method, times in seconds.items()}
        ratio = (np.median(variance["mixed"], axis=0) * t["mixed"]
                 / (np.median(variance["auto"], axis=0) * t["auto"]))
        for row_id, cells in zip(out["id"], ratio):
            lines.append(f"| {name} | {row_id} | " + " | ".join(
                f"{c:.2f}" if np.isfinite(c) else "" for c in cells) + " |")
        notes.append(f"{name}: CPU s mixed {t['mixed']:.2f}, auto {t['auto']:.2f} "
                     f"(× {t['auto'] / t['mixed']:.2f})")
    return lines + [""] + [f"- {note}" for note in notes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=32_768)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated row ids")
    parser.add_argument("--overall", action="store_true",
                        help="auto against mixed on the example files instead")
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/"
                                                "exercise_estimators.md"))
    args = parser.parse_args()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if args.overall:
        text = [f"# Exercise rows: auto against pairs alone ({stamp})", "",
                f"`python -m benchmarks.exercise_estimators --overall --paths {args.paths} "
                f"--seeds {args.seeds}`; {cpu_name()}, load {load_average()}.",
                "Cells: efficiency of `auto` against `mixed` (every Greek on antithetic "
                "pairs), (SE²·t)_mixed / (SE²·t)_auto, t the whole run's CPU time, SE² the "
                "median over the seeds (above 1: auto is better).", ""] + overall(args)
        Path(args.output.replace("exercise_estimators", "exercise_auto")).write_text(
            "\n".join(text) + "\n")
        print("\n".join(text))
        return
    only = set(filter(None, args.only.split(",")))
    results = {}
    for row_id, frame in rows():
        if only and row_id not in only:
            continue
        results[row_id] = measure(frame, args)
        print("\n".join(table({row_id: results[row_id]})[2:]), flush=True)
    text = [f"# Exercise rows: the variants' variance per unit of CPU time ({stamp})", "",
            f"`python -m benchmarks.exercise_estimators --paths {args.paths} --seeds "
            f"{args.seeds} --repeats {args.repeats}`; {cpu_name()}, load {load_average()}.",
            "N·SE²: the variance per path (median over the seeds); µs/path: CPU time of the "
            f"main chunks ({TIMED_CHUNK:,}-path chunks, one thread, median of the repeats); "
            "eff.: efficiency relative to `paired`, (N·SE²·t)_paired / (N·SE²·t)_variant "
            "(above 1: the variant is better).", ""] + table(results)
    Path(args.output).write_text("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
