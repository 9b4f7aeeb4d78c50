"""Finite differences that bump only for the Greeks taken: a chunk's time by what it bumps.

    python benchmarks/fd_bumps.py [--files instruments/portfolio.csv,instruments/barrier.csv]
                                  [--repeats 7]

Every finite-difference group of the files (``method="fd"`` planned at 200,000 paths) runs
one chunk of its size with ``Group.needed`` taking every Greek, only the price, and the
price and delta: the first two bump nothing, the third only the spot.  One thread, CPU time
of this process, the median of ``--repeats`` runs of each after one untimed run; the table
gives each time and its ratio to the full group's, set against the adapter's ``bump_share``
(the share of the progress bar's units that ``greeks.engine.progress.chunk_cost`` takes off).

Writes benchmarks/results/fd_bumps.md (machine, load average, date).
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from machine import code_version, cpu_name, load_average

from greeks.api import load
from greeks.engine.chunks import run_chunk
from greeks.engine.methods import Family
from greeks.engine.run import _plan_family
from greeks.models import adapter as model_of

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "fd_bumps.md"
TAKEN = {"every Greek": (True, True, True), "price": (True, False, False),
         "price, delta": (True, True, False)}


def seconds(group, repeats: int) -> float:
    """Median CPU seconds of one chunk of ``group``'s size."""
    run_chunk(group, 1, 0, group.chunk_size)
    times = []
    for r in range(repeats):
        started = time.process_time()
        run_chunk(group, 1, r, group.chunk_size)
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default="instruments/portfolio.csv,instruments/barrier.csv")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    before = load_average()
    lines = ["| file | model | rows | grid dates | row dates | "
             + " | ".join(f"{name} (ms)" for name in TAKEN) + " | price / every | "
             "price, delta / every | bump_share: price, price and delta |",
             "| --- | --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in TAKEN)
             + " | ---: | ---: | --- |"]
    for path in args.files.split(","):
        frame = load(ROOT / path)
        for group in _plan_family(frame, 200_000, method="fd").groups:
            if group.method is not Family.FD:
                continue
            found = {name: seconds(replace(group, needed=np.array([taken] * group.n_rows)),
                                   args.repeats) for name, taken in TAKEN.items()}
            spot, vol = model_of(group.model).bump_share
            full = found["every Greek"]
            lines.append(
                f"| {Path(path).name} | {group.model} | {group.n_rows} | {group.times.size} | "
                f"{group.date_index.size} | "
                + " | ".join(f"{1e3 * value:.1f}" for value in found.values())
                + f" | {found['price'] / full:.2f} | {found['price, delta'] / full:.2f} | "
                f"{1 - spot - vol:.2f}, {1 - vol:.2f} |")
            print(lines[-1], flush=True)
    header = [
        "# Finite differences by what they bump", "",
        f"`python benchmarks/fd_bumps.py --files {args.files} --repeats {args.repeats}` on "
        f"{datetime.date.today().isoformat()}: {cpu_name()}, code {code_version()}; load "
        f"average {before} before, {load_average()} after.  One chunk of each finite-"
        "difference group (200,000 paths planned), one thread, CPU time, medians.", ""]
    args.output.write_text("\n".join(header + lines) + "\n")


if __name__ == "__main__":
    main()
