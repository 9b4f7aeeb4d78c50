"""Snapshot every command's numbers, and compare two snapshots bit for bit.

    python benchmarks/snapshot.py write OUT_DIR [--threads N]  # run the commands, one CSV each
    python benchmarks/snapshot.py compare A B                  # every number of A equal to B's?

The commands: ``greeks price`` on every file in ``instruments/`` at two seeds (with every
further Greek and the total row), the example portfolio at the default path count, the
Heston file under each scheme, method and a long first step, ``--target-se``, a process
pool; ``report``, ``ladder``, ``compare`` and ``analytic`` on the example portfolio.  A
refactoring that keeps behaviour leaves ``compare`` silent; one that changes numbers on
purpose names them here before it lands.  The times of ``compare`` (``seconds`` and
``efficiency``) are not compared, and empty cells are equal.  ``--threads N`` runs every
command that has the option on N threads (the numbers do not depend on it; one thread
compares against code that predates the pilot sums' fixed order).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
PORTFOLIO = "instruments/portfolio.csv"
HESTON = "instruments/heston.csv"
DATED, MARKET = ("american_book.csv", "book.csv"), "instruments/market.json"  # off a market
SMALL = ["--paths", "40000"]
TIMED = ("seconds", "efficiency")  # compare's timings: never equal twice


def commands() -> dict[str, list[str]]:
    """Name → arguments of ``greeks`` for every snapshot file."""
    runs: dict[str, list[str]] = {}
    for path in sorted((ROOT / "instruments").glob("*.csv")):
        market = ["--market", MARKET] if path.name in DATED else []
        for seed in (0, 7):
            runs[f"price-{path.stem}-{seed}"] = [
                "price", f"instruments/{path.name}", *SMALL, "--seed", str(seed),
                "--greeks", "all", "--total", *market]
    runs["price-portfolio-default"] = ["price", PORTFOLIO, "--total"]
    runs["price-portfolio-json"] = ["price", "instruments/portfolio.json", *SMALL]
    for scheme in ("exact", "euler"):
        runs[f"price-heston-{scheme}"] = ["price", HESTON, *SMALL, "--scheme", scheme,
                                          "--greeks", "all"]
    runs["price-heston-first-step"] = ["price", HESTON, *SMALL, "--first-step", "0.25"]
    runs["price-heston-steps"] = ["price", HESTON, *SMALL, "--steps-per-year", "26"]
    for method in ("mixed", "lr", "pathwise", "fd", "rqmc"):
        runs[f"price-portfolio-{method}"] = ["price", PORTFOLIO, *SMALL, "--method", method,
                                             "--greeks", "gamma"]
    runs["price-portfolio-plain"] = ["price", PORTFOLIO, *SMALL, "--plain"]
    runs["price-portfolio-target"] = ["price", PORTFOLIO, "--paths", "8192",
                                      "--target-se", "2%", "--max-paths", "400000"]
    runs["price-portfolio-processes"] = ["price", PORTFOLIO, *SMALL, "--scheduler",
                                         "processes", "--threads", "2"]
    runs["report-portfolio"] = ["report", PORTFOLIO, *SMALL, "--by", "underlying,book",
                                "--gamma"]
    runs["ladder-portfolio"] = ["ladder", PORTFOLIO, *SMALL, "--vol", "-2%:2%:2%"]
    runs["compare-portfolio"] = ["compare", "instruments/compare.csv", "--paths", "20000"]
    runs["analytic-portfolio"] = ["analytic", PORTFOLIO]
    return runs


def write(out: Path, threads: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    greeks = str(Path(sys.executable).with_name("greeks"))
    for name, args in commands().items():
        target = out / f"{name}.csv"
        extra = threads if threads and _takes_threads(greeks, args[0]) else []
        result = subprocess.run([greeks, *args, *extra, "--output", str(target), "--format",
                                 "csv"],
                                cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{name}: exit {result.returncode}\n{result.stderr}")
        print(f"{name}: {len(pd.read_csv(target))} rows", flush=True)


def _takes_threads(greeks: str, command: str) -> bool:
    """Whether ``greeks COMMAND`` has a --threads option (compare had none before)."""
    shown = subprocess.run([greeks, command, "--help"], capture_output=True, text=True)
    return "--threads" in shown.stdout


def _differences(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    if list(a.columns) != list(b.columns):
        return [f"columns differ: {sorted(set(a.columns) ^ set(b.columns))}"]
    if len(a) != len(b):
        return [f"{len(a)} rows against {len(b)}"]
    found = []
    for column in a.columns.drop(list(TIMED), errors="ignore"):
        x, y = a[column], b[column]
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            x, y = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
            same = (x == y) | (np.isnan(x) & np.isnan(y))
        else:
            x, y = x.to_numpy(dtype=object), y.to_numpy(dtype=object)
            same = (pd.isna(x) & pd.isna(y)) | (x.astype(str) == y.astype(str))
        for row in np.flatnonzero(~same):
            found.append(f"row {row + 1} {column}: {x[row]!r} against {y[row]!r}")
    return found


def compare(first: Path, second: Path) -> int:
    names = sorted({p.name for p in first.glob("*.csv")} | {p.name for p in second.glob("*.csv")})
    failed = 0
    for name in names:
        if not (first / name).exists() or not (second / name).exists():
            print(f"{name}: missing on one side")
            failed += 1
            continue
        found = _differences(pd.read_csv(first / name), pd.read_csv(second / name))
        if found:
            failed += 1
            print(f"{name}: {len(found)} differences")
            for line in found[:10]:
                print(f"    {line}")
    print(f"{len(names) - failed} of {len(names)} snapshots identical")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) in (3, 5) and sys.argv[1] == "write" and sys.argv[3:4] in ([], ["--threads"]):
        write(Path(sys.argv[2]), sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        raise SystemExit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        raise SystemExit(__doc__)
