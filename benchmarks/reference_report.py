"""The report of a benchmark that checks a reference solution against QuantLib and then the
engine against that reference over seeds: its command line, its markdown and its file in
``benchmarks/results``."""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

import pandas as pd
from machine import code_version, cpu_name, load_average


def markdown(frame: pd.DataFrame, digits: int) -> list[str]:
    """The frame as a markdown table, floats to ``digits`` significant digits."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + " --- |" * frame.shape[1]]
    return lines + ["| " + " | ".join(f"{x:.{digits}g}" if isinstance(x, float) else str(x)
                                      for x in row) + " |"
                    for row in frame.itertuples(index=False)]


def run(script: str, description: str, references: Callable, engine: Callable,
        reference_name: str, digits: int) -> None:
    """Parse ``--seeds``, ``--paths`` and ``--skip-engine``; ``references()`` gives the rows of
    the reference-against-QuantLib table and the finest reference values, ``engine(seeds,
    paths, finest)`` the rows of the engine's z table; both tables are printed and written to
    ``benchmarks/results/<script's name>.md``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--paths", type=int, default=200_000)
    parser.add_argument("--skip-engine", action="store_true")
    args = parser.parse_args()
    start = time.time()
    rows, finest = references()
    name = os.path.splitext(os.path.basename(script))[0]
    lines = [f"# benchmarks/{name}.py\n\n{cpu_name()}, load {load_average()}, "
             f"{code_version()}, {time.strftime('%Y-%m-%d %H:%M')}\n",
             "## The ADI solution against QuantLib\n", *markdown(pd.DataFrame(rows), digits), ""]
    if not args.skip_engine:
        lines += [f"## The engine, {args.seeds} seeds × {args.paths:,} paths, z against the "
                  f"{reference_name}\n",
                  *markdown(pd.DataFrame(engine(args.seeds, args.paths, finest)), digits), ""]
    lines.append(f"{time.time() - start:.0f} s")
    out = os.path.join(os.path.dirname(os.path.abspath(script)), "results", f"{name}.md")
    with open(out, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))
