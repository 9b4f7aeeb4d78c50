"""Scale, before and after: one thread, fresh processes, this checkout and another alternating.

    python benchmarks/scale_ab.py --against /path/to/other/checkout [--rows 2000,10000]
                                  [--paths 2000] [--repeats 3] [--kernels]

Each run is a child of ``benchmarks/scale.py`` (``--child``: warm-up on a small book, then
``greeks.price_portfolio`` of ``scale.py``'s book on one thread) with ``PYTHONPATH`` set to the
checkout measured, the two checkouts taking turns, so that both see the same load; printed: each
run's wall and CPU time (user + system) and the medians' ratio of this checkout's to the other's.
With ``--kernels``, one more run of this checkout under cProfile with the CPU clock
(``time.process_time``): the call's CPU and the numba kernels' own time (the floor that no
change to the Python around them can go below).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def child(checkout: Path, target: str, paths: int) -> dict:
    """One ``scale.py --child`` run of ``checkout``'s engine on one thread."""
    command = [sys.executable, str(checkout / "benchmarks" / "scale.py"), "--child", "rows",
               target, str(paths), "1", "0"]
    out = subprocess.run(command, cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def kernels(target: str, paths: int) -> None:
    """The call's CPU under cProfile (CPU clock) and the kernels' own CPU, by kernel."""
    import cProfile
    import pstats
    import time

    sys.path[:0] = [str(ROOT), str(HERE)]  # this checkout's engine
    import scale

    import greeks

    greeks.price_portfolio(scale.book(2 * scale.ROWS_PER_UNDERLYING).iloc[::11], paths=paths)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    greeks.price_portfolio(target, paths=paths, threads=1)
    profiler.disable()
    stats, found = pstats.Stats(profiler), scale._kernels()
    own = {}
    for key, (_, _, seconds, _, _) in stats.stats.items():
        if key in found:
            name = f"{Path(key[0]).name}:{key[2]}"
            own[name] = own.get(name, 0.0) + seconds
    total = sum(own.values())
    print(f"profiled CPU {stats.total_tt:.2f} s, kernels {total:.2f} s")
    for name, seconds in sorted(own.items(), key=lambda item: -item[1])[:8]:
        print(f"  {name}: {seconds:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, help="the other checkout")
    parser.add_argument("--rows", default="2000,10000")
    parser.add_argument("--paths", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kernels", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from scale import book

    with tempfile.TemporaryDirectory() as folder:
        for rows in (int(float(r)) for r in args.rows.split(",")):
            target = str(Path(folder) / f"book_{rows}.csv")
            book(rows).to_csv(target, index=False)
            runs = {"this": [], "other": []}
            for _ in range(args.repeats):
                for name, checkout in (("other", args.against.resolve()), ("this", ROOT)):
                    result = child(checkout, target, args.paths)
                    runs[name].append(result)
                    print(f"{rows:,} rows, {name}: {result['wall']:.2f} s wall, "
                          f"{result['cpu']:.2f} s CPU", flush=True)
            cpu = {name: statistics.median(r["cpu"] for r in runs[name]) for name in runs}
            print(f"{rows:,} rows: median CPU {cpu['other']:.2f} → {cpu['this']:.2f} s "
                  f"({cpu['this'] / cpu['other']:.2f})")
            if args.kernels:
                kernels(target, args.paths)


if __name__ == "__main__":
    main()
