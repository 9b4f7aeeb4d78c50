"""American puts: the time to price + delta + vega to a price SE of 0.1 % of the price.

    python benchmarks/american.py [--repeats 3] [--target 0.001]

An ATM 1-year American put (S0 = K = 100, r = 5 %, daily exercise, Richardson-extrapolated)
under GBM (σ = 20 %) and under Heston (v0 = θ = 0.04, κ = 1.5, ξ = 0.5, ρ = −0.7).  A
sizing run of 50,000 paths gives the price SE; the paths that reach the target SE follow
(SE ∝ 1/sqrt(paths)); the timed run, on one thread, includes everything a run does (the
exercise policy's solves, pilot and regressions, the main paths, the reduction; the kernels are
compiled beforehand, and the policies' solves, which a process keeps for later runs (the
Heston ADI's, the GBM finite-difference boundaries), are cleared before each timed run).
Prints the path count, the wall and CPU time (medians of the repeats; on a shared machine
the CPU time is the steadier figure) and the estimates
with their SEs, and writes the table to ``benchmarks/results/american.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import pandas as pd

import greeks
from greeks.models.gbm.adapter import _solved_boundaries
from greeks.models.heston.adapter import _put_boundaries

ROWS = {
    "gbm": {"id": "gbm", "instrument": "american", "option_type": "put", "strike": 100.0,
            "maturity": 1.0, "spot": 100.0, "rate": 0.05, "model": "gbm", "vol": 0.2},
    "heston": {"id": "heston", "instrument": "american", "option_type": "put",
               "strike": 100.0, "maturity": 1.0, "spot": 100.0, "rate": 0.05,
               "model": "heston", "v0": 0.04, "kappa": 1.5, "theta": 0.04, "xi": 0.5,
               "rho": -0.7},
}
SIZING = 50_000


def measure(row: dict, target: float, repeats: int, seed: int = 1) -> dict:
    frame = pd.DataFrame([row])
    greeks.price_portfolio(frame, paths=2_000, seed=seed, threads=1)  # compile
    sizing = greeks.price_portfolio(frame, paths=SIZING, seed=seed, threads=1).iloc[0]
    paths = math.ceil(SIZING * (sizing["price_se"] / (target * sizing["price"])) ** 2)
    paths += paths % 2
    times, cpu = [], []
    for _ in range(repeats):
        _put_boundaries.cache_clear()  # solved afresh, as in a first run
        _solved_boundaries.cache_clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = greeks.price_portfolio(frame, paths=paths, seed=seed, threads=1).iloc[0]
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return dict(model=row["model"], paths=paths, seconds=statistics.median(times),
                cpu_seconds=statistics.median(cpu),
                **{name: result[name] for name in ("price", "price_se", "delta", "delta_se",
                                                   "vega", "vega_se", "exercise_probability")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.001, help="price SE / price")
    args = parser.parse_args()
    table = pd.DataFrame([measure(row, args.target, args.repeats) for row in ROWS.values()])
    print(table.to_string(index=False))
    out = os.path.join(os.path.dirname(__file__), "results", "american.md")
    with open(out, "w") as handle:
        handle.write(f"# benchmarks/american.py\n\n{platform.processor() or platform.machine()}, "
                     f"load {os.getloadavg()[0]:.2f}, {time.strftime('%Y-%m-%d %H:%M')}, "
                     f"one thread, median of {args.repeats}\n\n")
        handle.write(table.to_string(index=False))
        handle.write("\n")


if __name__ == "__main__":
    main()
