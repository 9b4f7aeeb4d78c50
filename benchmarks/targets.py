"""Time to a target standard error, default estimators against bump and revalue.

    python benchmarks/targets.py [--repeats 3]

The equal-accuracy targets (one thread): the ATM 1-year GBM call's vega to SE 1e-2, and
the ATM 1-year Heston call's (v0 = θ = 0.04, κ = 1.5, ξ = 0.5, ρ = −0.7, r = 0.05) delta to
1e-3 and σ0-vega to 1e-2.  For each, and for each method (``auto``, the default, and
``fd``: central differences on common random numbers, antithetic under GBM — the
QuantLib-style bump and revalue), a sizing run of 50,000 paths gives the paths N that
reach the target, N = 50,000 (SE/target)², and the run at N is timed (median of the
repeats) and its SE reported.  Writes benchmarks/results/targets.md.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import time
from pathlib import Path

import pandas as pd

from greeks import engine
from greeks.instruments import validate

ROOT = Path(__file__).resolve().parent.parent
BASE = dict(id="atm", instrument="european", option_type="call", strike=100.0, maturity=1.0,
            spot=100.0, rate=0.05, dividend=0.0)
GBM = validate(pd.DataFrame([dict(BASE, model="gbm", vol=0.2)]), "targets")
HESTON = validate(pd.DataFrame([dict(BASE, model="heston", v0=0.04, kappa=1.5, theta=0.04,
                                     xi=0.5, rho=-0.7)]), "targets")
CASES = [("GBM vega", GBM, 2, 1e-2, 1.0), ("Heston delta", HESTON, 1, 1e-3, 1.0),
         ("Heston σ0-vega", HESTON, 2, 1e-2, 30.0)]
SIZING = 50_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for _, frame, _, _, _ in CASES:  # compile / load every kernel
        for method in ("auto", "fd"):
            engine.simulate(frame, 4_000, 0, threads=1, method=method)
    lines = ["| target | method | paths | seconds (median) | SE reached | target time |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name, frame, k, target, limit in CASES:
        for method in ("auto", "fd"):
            sizing = engine.simulate(frame, SIZING, 1, threads=1, method=method)
            paths = max(2, math.ceil(SIZING * (sizing.se[0, k] / target) ** 2 * 1.1))
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                result = engine.simulate(frame, paths, 2, threads=1, method=method)
                times.append(time.perf_counter() - start)
            seconds = statistics.median(times)
            lines.append(f"| {name} SE {target:g} | {method} | {paths:,} | {seconds:.2f} | "
                         f"{result.se[0, k]:.2g} | ≤ {limit:g} s |")
            print(lines[-1], flush=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    text = (f"# Time to a target SE ({now:%Y-%m-%d %H:%M} UTC)\n\n`benchmarks/targets.py "
            f"--repeats {args.repeats}`, one thread; {platform.processor() or platform.machine()},"
            f" {os.cpu_count()} cores.\n\n" + "\n".join(lines) + "\n")
    (ROOT / "benchmarks" / "results" / "targets.md").write_text(text)


if __name__ == "__main__":
    main()
