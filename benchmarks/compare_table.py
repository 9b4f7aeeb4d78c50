"""Every estimator of the rows of instruments/compare.csv, side by side.

    python benchmarks/compare_table.py [--paths 200000] [--seed 0]

Runs ``greeks.compare.compare_estimators`` (each row alone, every valid estimator, equal
paths, one thread) and writes benchmarks/results/compare.md: a compact table (variance
ratio / efficiency against plain likelihood ratio, per row, Greek and estimator family,
the one in the README) and the full table (estimates, SEs, seconds).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
from pathlib import Path

from greeks.compare import compare_estimators

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ("plain LR", "LR + controls", "conditional", "survival", "parity", "pathwise",
            "CRN FD", "auto")


def family(label: str) -> str:
    if label in ("lr", "auto"):
        return "plain LR" if label == "lr" else "auto"
    return {"lr": "LR + controls", "conditional": "conditional", "survival": "survival",
            "parity": "parity", "pathwise": "pathwise", "fd": "CRN FD"}[label.split("+")[0]]


def compact(table) -> str:
    lines = ["| row | Greek | " + " | ".join(FAMILIES) + " |",
             "| --- | --- | " + " | ".join(["---:"] * len(FAMILIES)) + " |"]
    for (row, greek), group in table.groupby(["id", "greek"], sort=False):
        cells = {family(line.method): f"{line.variance_ratio:.3g} / {line.efficiency:.3g}"
                 for line in group.itertuples()}
        lines.append(f"| {row} | {greek} | " + " | ".join(cells.get(f, "") for f in FAMILIES)
                     + " |")
    return "\n".join(lines)


def full(table) -> str:
    columns = ["id", "greek", "method", "estimate", "se", "seconds", "variance_ratio",
               "efficiency"]
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join(["---"] * len(columns)) + " |"]
    for line in table[columns].itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.5g}" if isinstance(v, float) else str(v)
                                       for v in line) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table = compare_estimators(ROOT / "instruments" / "compare.csv", paths=args.paths,
                               seed=args.seed, threads=1)
    now = datetime.datetime.now(datetime.timezone.utc)
    text = (f"# Estimators compared ({now:%Y-%m-%d %H:%M} UTC)\n\n"
            f"`benchmarks/compare_table.py --paths {args.paths} --seed {args.seed}`: every row of "
            f"instruments/compare.csv alone, every valid estimator, one thread; "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores.  Cells: "
            "variance ratio / efficiency against plain likelihood ratio.\n\n"
            f"{compact(table)}\n\n## Full table\n\n{full(table)}\n")
    output = ROOT / "benchmarks" / "results" / "compare.md"
    output.write_text(text)
    print(compact(table))
    print(f"written to {output}")


if __name__ == "__main__":
    main()
