"""GBM engine throughput against a plain-numpy LR estimator, one thread, one process.

    python benchmarks/bench_gbm.py [--paths 10000000] [--repeats 5]

Prints paths/s of the engine's plain LR estimator (price + delta + vega with standard
errors) on an ATM 1-year European call, the same for a vectorised numpy implementation
of the same estimator (the reference, run in the same process), their ratio, the
engine's default estimator (antithetic pairs and control variates with pilot-estimated
coefficients: path count, time and SEs), and the path-steps/s of a 252-fixing Asian at
4·10⁵ paths and at 4·10⁶ (where ``auto``'s decision runs, at most 65,536 paths per
candidate family, weigh 3 % instead of a quarter).  Each figure is the median of the
repeats.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import pandas as pd

from greeks import engine
from greeks.instruments import validate

S0, K, SIGMA, R, T = 100.0, 100.0, 0.2, 0.05, 1.0


def row(instrument: str, **extra) -> dict:
    return dict(id=instrument, instrument=instrument, option_type="call", strike=K, maturity=T,
                spot=S0, rate=R, model="gbm", vol=SIGMA, **extra)


def numpy_baseline(paths: int, seed: int, block: int = 1 << 20) -> np.ndarray:
    """Plain numpy LR estimator: price, delta, vega means and SEs, in blocks of paths."""
    rng = np.random.default_rng(seed)
    sums = np.zeros(3)
    squares = np.zeros(3)
    root_t = np.sqrt(T)
    for start in range(0, paths, block):
        z = rng.standard_normal(min(block, paths - start))
        s = S0 * np.exp((R - 0.5 * SIGMA**2) * T + SIGMA * root_t * z)
        f = np.exp(-R * T) * np.maximum(s - K, 0.0)
        values = np.stack([f, f * z / (S0 * SIGMA * root_t),
                           f * ((z * z - 1) / SIGMA - z * root_t)])
        sums += values.sum(axis=1)
        squares += (values * values).sum(axis=1)
    mean = sums / paths
    se = np.sqrt((squares / paths - mean**2) / (paths - 1))
    return np.concatenate([mean, se])


def timed(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000_000)
    parser.add_argument("--asian-paths", type=int, default=400_000)
    parser.add_argument("--asian-large", type=int, default=4_000_000,
                        help="the asian again at this many paths, where auto's decision runs "
                             "(at most 65,536 paths per family) weigh little; 0: skip")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    european = validate(pd.DataFrame([row("european")]), "bench")
    asian = validate(pd.DataFrame([row("asian", fixings=252)]), "bench")
    engine.simulate(european, 10_000, 1, threads=1)  # compile / load the JIT cache
    engine.simulate(asian, 1_000, 1, threads=1)

    t_engine, estimates = timed(lambda: engine.simulate(european, args.paths, 1, threads=1,
                                                        plain=True), args.repeats)
    t_baseline, improved = timed(lambda: engine.simulate(european, args.paths, 1, threads=1),
                                 args.repeats)
    t_numpy, baseline = timed(lambda: numpy_baseline(args.paths, 1), args.repeats)
    t_asian, _ = timed(lambda: engine.simulate(asian, args.asian_paths, 1, threads=1), args.repeats)
    t_large = (timed(lambda: engine.simulate(asian, args.asian_large, 1, threads=1),
                     max(3, args.repeats // 2))[0] if args.asian_large else None)
    threads = engine.default_threads()
    t_threads, _ = timed(lambda: engine.simulate(european, args.paths, 1, threads=threads),
                         args.repeats)

    engine_rate, numpy_rate = args.paths / t_engine, args.paths / t_numpy
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}; one thread, median of {args.repeats}")
    print(f"european engine : {engine_rate / 1e6:8.1f} M paths/s   "
          f"price {estimates.mean[0, 0]:.4f} ± {estimates.se[0, 0]:.4f}")
    print(f"european numpy  : {numpy_rate / 1e6:8.1f} M paths/s   "
          f"price {baseline[0]:.4f} ± {baseline[3]:.4f}")
    print(f"ratio engine / numpy: {engine_rate / numpy_rate:.2f}")
    print(f"european engine, default estimator (pilot included): "
          f"{args.paths / t_baseline / 1e6:8.1f} M paths/s; SE ratio plain / default: "
          f"price {estimates.se[0, 0] / improved.se[0, 0]:.1f}, "
          f"delta {estimates.se[0, 1] / improved.se[0, 1]:.1f}, "
          f"vega {estimates.se[0, 2] / improved.se[0, 2]:.1f}")
    print(f"asian (252 fixings): {args.asian_paths * 252 / t_asian / 1e6:8.1f} M path-steps/s")
    if t_large is not None:
        print(f"asian (252 fixings), {args.asian_large:,} paths: "
              f"{args.asian_large * 252 / t_large / 1e6:8.1f} M path-steps/s")
    print(f"european engine, {threads} threads: {args.paths / t_threads / 1e6:8.1f} M paths/s")


if __name__ == "__main__":
    main()
