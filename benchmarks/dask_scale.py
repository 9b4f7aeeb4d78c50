"""Dask scaling: one instrument file on a LocalCluster of one and of two single-threaded
workers, against threads and the process pool of this process; bit-identity of every run.

    python benchmarks/dask_scale.py [--paths 100000] [--repeats 3] [--seed 1] [--only dask-1,...]
                                    [--output benchmarks/results/dask_scale.md]

The file: 20 GBM underlyings of 10 rows each (european calls and puts, a cash digital,
asians on 12 and 52 dates, four barriers on 12 or 52 monitoring dates, a two-year call;
spots, strikes and volatilities vary by underlying), 200 rows in all, priced with
``greeks.price_portfolio(frame, paths=..., scheduler=...)`` and the default estimators.
The schedulers compared:

* ``dask-1`` and ``dask-2``: ``distributed.LocalCluster(n_workers=1 or 2,
  threads_per_worker=1, processes=True)``, the scheduler's address passed as ``scheduler``;
* ``threads-1`` and ``threads-2``: ``scheduler="local"`` on one and two threads;
* ``processes-2``: ``scheduler="processes"``, a pool of two processes.

Every configuration is first run once at 4,000 paths (numba's cache loads in each worker),
then the configurations are timed in turn, round after round (so that a change of the
machine's load falls on all of them alike), and the medians given.  Every run's result
table must equal the first one's bit for bit.  The chunks' own time is read from a
run on one thread in this process with the chunk function wrapped (the driver's share is
the rest).

Writes a markdown table, with machine info, load average and date, to
benchmarks/results/dask_scale.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
from pathlib import Path

import numba
import numpy as np
import pandas as pd
from machine import code_version, cpu_name, load_average

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "dask_scale.md"
UNDERLYINGS, ROWS = 20, 10
# (instrument, option_type, barrier_type, fixings, maturity)
KINDS = [("european", "call", None, None, 1.0), ("european", "put", None, None, 0.5),
         ("digital", "call", None, None, 1.0), ("asian", "call", None, 12, 1.0),
         ("asian", "put", None, 52, 1.0), ("barrier", "call", "up-and-out", 52, 1.0),
         ("barrier", "put", "down-and-in", 52, 1.0), ("barrier", "put", "down-and-out", 12, 0.5),
         ("barrier", "call", "up-and-in", 12, 1.0), ("european", "call", None, None, 2.0)]
NUMBERS = ["price", "price_se", "delta", "delta_se", "vega", "vega_se"]


def book() -> pd.DataFrame:
    """The 200-row file of the module docstring."""
    records = []
    for u in range(UNDERLYINGS):
        spot = 50.0 + (u * 7919) % 400
        for j, (instrument, option_type, barrier_type, fixings, maturity) in enumerate(KINDS):
            record = dict(id=f"U{u:02d}-{j}", underlying=f"U{u:02d}", instrument=instrument,
                          option_type=option_type,
                          strike=round(spot * (0.9 + 0.05 * ((j * 3 + u) % 5)), 2),
                          maturity=maturity, spot=spot, rate=0.03, dividend=0.01,
                          model="gbm", vol=0.15 + 0.01 * (u % 15), quantity=(j % 5) - 2 or 1)
            if instrument == "digital":
                record["payout"] = 10.0
            if barrier_type is not None:
                up = barrier_type.startswith("up")
                record.update(barrier=round(spot * (1.3 if up else 0.75), 2),
                              barrier_type=barrier_type)
            if fixings is not None:
                record["fixings"] = fixings
            records.append(record)
    return pd.DataFrame(records)


def chunk_seconds(frame: pd.DataFrame, paths: int, seed: int) -> tuple[float, float]:
    """(wall time of one run on one thread, of which in ``run_chunk``): the rest is the
    driver's planning, decisions, regressions and reductions."""
    from greeks import price_portfolio
    from greeks.engine import run

    spent = [0.0]
    original = run.run_chunk

    def timed_chunk(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    run.run_chunk = timed_chunk
    try:
        started = time.perf_counter()
        price_portfolio(frame, paths=paths, seed=seed, threads=1)
        return time.perf_counter() - started, spent[0]
    finally:
        run.run_chunk = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated configurations to run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    from distributed import LocalCluster

    from greeks import price_portfolio

    frame = book()
    load_before, started_at = load_average(), datetime.datetime.now(datetime.timezone.utc)
    clusters = {n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                dashboard_address=None) for n in (1, 2)}
    configs = {"dask-1": dict(scheduler=clusters[1].scheduler_address),
               "dask-2": dict(scheduler=clusters[2].scheduler_address),
               "threads-1": dict(threads=1), "threads-2": dict(threads=2),
               "processes-2": dict(scheduler="processes", threads=2)}
    if args.only:
        configs = {name: configs[name] for name in args.only.split(",")}
    try:
        for options in configs.values():  # load the JIT caches (each worker its own)
            price_portfolio(frame, paths=4_000, seed=args.seed, **options)
        times: dict[str, list[float]] = {name: [] for name in configs}
        reference, identical = None, True
        for _ in range(args.repeats):
            for name, options in configs.items():
                started = time.perf_counter()
                result = price_portfolio(frame, paths=args.paths, seed=args.seed, **options)
                times[name].append(time.perf_counter() - started)
                numbers = result[NUMBERS].to_numpy()
                if reference is None:
                    reference = numbers
                elif not np.array_equal(numbers, reference, equal_nan=True):
                    identical = False
                print(f"{name}: {times[name][-1]:.2f} s", flush=True)
        wall, in_chunks = chunk_seconds(frame, args.paths, args.seed)
    finally:
        for cluster in clusters.values():
            cluster.close()
    load_after = load_average()
    medians = {name: statistics.median(values) for name, values in times.items()}
    write(args, frame, medians, times, identical, wall, in_chunks, load_before, load_after,
          started_at)


def write(args, frame, medians, times, identical, wall, in_chunks, load_before, load_after,
          started_at) -> None:
    base = medians.get("dask-1")
    lines = [f"# Dask scaling ({started_at:%Y-%m-%d %H:%M} UTC)", "",
             f"`benchmarks/dask_scale.py --paths {args.paths} --repeats {args.repeats} "
             f"--seed {args.seed}`: {len(frame)} rows on {UNDERLYINGS} GBM underlyings "
             f"({ROWS} rows each: european, digital, asian on 12 and 52 dates, barriers on "
             f"12 and 52 dates), default estimators.", "",
             f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}, numpy {np.__version__}, numba {numba.__version__},"
             f" pandas {pd.__version__}; code {code_version()}; load average {load_before} "
             f"before, {load_after} after.", "",
             "| scheduler | runs (s) | median (s) | speed-up against dask-1 |",
             "| --- | --- | ---: | ---: |"]
    for name, median in medians.items():
        ratio = f"{base / median:.2f}" if base else ""
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        lines.append(f"| {name} | {runs} | {median:.2f} | {ratio} |")
    lines += ["", f"Every run's price, delta, vega and SEs bit-identical to the first's: "
              f"{'yes' if identical else 'NO'}.", "",
              f"One run on one thread in this process: {wall:.2f} s, of which "
              f"{in_chunks:.2f} s ({in_chunks / wall:.0%}) in the chunks and "
              f"{wall - in_chunks:.2f} s in the driver (planning, decisions, pilot "
              f"regressions, reductions).", ""]
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
