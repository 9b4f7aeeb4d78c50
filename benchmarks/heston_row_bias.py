"""The bias of one random Heston row of ``benchmarks/heston_random.py`` by grid, over seeds.

    python benchmarks/heston_row_bias.py --draw 47 --row 4 --paths 1000000 --seeds 12
                                         [--grids 26,52,104,208] [--auto]
                                         [--output benchmarks/results/heston_row_bias.md]

Row ``--row`` of the draw ``--draw`` (``random_rows(draw, row + 1)``) is priced alone with
every default but the grid (``--grids``: steps a year; ``--auto``: the automatic grid of
the path count), on ``--seeds`` seeds, one thread.  Per grid and Greek: the mean error
against the semi-analytic value with its SE from the spread over seeds, the same in units
of the reported SE at 200,000 paths, and the spread over seeds over the mean reported SE
(1 if the SEs are right).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np
from heston_random import random_rows, reference

import greeks

RESULTS = Path(__file__).resolve().parent / "results" / "heston_row_bias.md"
GREEKS = ("price", "delta", "vega")


def measure(rows, grid: float | None, paths: int, seeds: range) -> dict:
    """Mean error, its SE over seeds, mean reported SE and spread over seeds per Greek."""
    ref = np.array(reference(rows.iloc[0]))
    estimates, ses = [], []
    for seed in seeds:
        out = greeks.price_portfolio(rows, seed=seed, paths=paths, threads=1,
                                     **({} if grid is None else {"steps_per_year": grid}))
        estimates.append([out[g].iat[0] for g in GREEKS])
        ses.append([out[g + "_se"].iat[0] for g in GREEKS])
    estimates, ses = np.array(estimates), np.array(ses)
    spread = estimates.std(axis=0, ddof=1)
    return dict(error=estimates.mean(axis=0) - ref, error_se=spread / np.sqrt(len(seeds)),
                se=ses.mean(axis=0), spread=spread)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draw", type=int, default=47)
    parser.add_argument("--row", type=int, default=4)
    parser.add_argument("--paths", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--first-seed", type=int, default=200)
    parser.add_argument("--grids", default="26,52,104,208")
    parser.add_argument("--auto", action="store_true", help="the automatic grid only")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = random_rows(args.draw, args.row + 1).iloc[[args.row]].reset_index(drop=True)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    grids = [None] if args.auto else [float(g) for g in args.grids.split(",")]
    scale = np.sqrt(args.paths / 200_000)  # reported SE at N → at 200,000 paths
    lines = [f"# Bias of row {args.row} of draw {args.draw} by grid", "",
             f"`benchmarks/heston_row_bias.py --draw {args.draw} --row {args.row} "
             f"--paths {args.paths} --seeds {args.seeds} --first-seed {args.first_seed} "
             + ("--auto" if args.auto else f"--grids {args.grids}") + f"` "
             f"({datetime.date.today()}); row: "
             + ", ".join(f"{k} {v}" for k, v in rows.iloc[0].items() if k != "id"), "",
             "| steps a year | Greek | mean error ± SE over seeds | in SE of 200,000 paths "
             "| spread / reported SE |", "| --- | --- | --- | --- | --- |"]
    for grid in grids:
        m = measure(rows, grid, args.paths, seeds)
        for k, name in enumerate(GREEKS):
            lines.append(f"| {'automatic' if grid is None else f'{grid:g}'} | {name} | "
                         f"{m['error'][k]:+.3g} ± {m['error_se'][k]:.2g} | "
                         f"{m['error'][k] / (m['se'][k] * scale):+.2f} ± "
                         f"{m['error_se'][k] / (m['se'][k] * scale):.2f} | "
                         f"{m['spread'][k] / m['se'][k]:.2f} |")
        print("\n".join(lines[-3:]), flush=True)
    args.output.write_text("\n".join(lines) + "\n")
    print(f"written {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
