"""The survival-conditioned knock-out kernel, blocked against its path-major predecessor.

    python benchmarks/survival_speed.py [--repeats 15] [--chunks 8] [--portfolio-repeats 7]
                                        [--output benchmarks/results/survival_speed.md]

On the example portfolio's SPX-UO-C-4500-5000-1Y row (252 daily dates, antithetic pairs):

* the kernel: :func:`greeks.survival.simulate` (blocks of ``survival.BLOCK`` paths, date by
  date) and ``baseline`` below (the kernel as it was: each path through all its dates
  before the next), on ``--chunks`` chunks of the engine's size (``Group.chunk_size``:
  4,096 paths of 252 dates), each from a generator of its own, into outputs written
  before (no first touch of a page inside the timing); the two alternate, ``--repeats``
  times each, one thread; medians (and the fastest) in ns per path-step, and their
  ratio.  The outputs are checked equal first, to rounding (``RTOL``: the path-major
  kernel calls the C library's Φ and φ, the blocked one :mod:`greeks.vector_math`'s,
  which differ in the last bits).  The same on the up-and-out call of
  ``instruments/compare.csv`` (barrier 120) with 52 and with 12 dates in chunks of 2,000
  paths (a knock-out row of a 2,000-path run, as in ``benchmarks/scale.py``'s files);
* the row alone: ``greeks.price_portfolio`` (200,000 paths, threads=1, the ``auto``
  decision run included) with the engine's kernel and with ``baseline`` in its place,
  alternately, ``--portfolio-repeats`` times each; the result frames are checked equal to
  rounding.

Writes the tables to ``--output`` (machine, load average, date).
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

import numpy as np
import pandas as pd
from machine import code_version, cpu_name, load_average
from numba import njit

import greeks
from greeks import payoffs, survival
from greeks.engine.run import _plan_family
from greeks.instruments import validate
from greeks.maths import normal_cdf, normal_pdf, normal_quantile

ROOT = Path(__file__).resolve().parent.parent
ROW = "SPX-UO-C-4500-5000-1Y"
SMALL, SMALL_FIXINGS, SMALL_PATHS = "gbm-up-and-out", (52, 12), 2_000
TINY = survival.TINY
RTOL = 1e-9  # the two kernels' outputs agree to it (their Φ and φ differ in the last bits)


@njit(cache=True, nogil=True, error_model="numpy")
def baseline(rng, n_paths, times, log_spot, carry, sigma, up, barrier, antithetic, w, x,
             weight, derivatives):
    """The path-major kernel (before the blocks): the same arguments and outputs."""
    eps = 1.0 if up else -1.0
    log_barrier = math.log(barrier)
    half = n_paths // 2 if antithetic else n_paths
    uniforms = rng.random((half, times.size))
    spot = math.exp(log_spot)
    for p in range(n_paths):
        mirror = p >= half
        source = p - half if mirror else p
        level = 0.0
        x_p = log_spot
        dx_s, dx_v = 1.0 / spot, 0.0
        product = 1.0
        dlw_s = dlw_v = 0.0
        previous = 0.0
        alive = True
        for i in range(times.size):
            dt = times[i] - previous
            previous = times[i]
            root = math.sqrt(dt)
            sd = sigma * root
            m = x_p + (carry - 0.5 * sigma * sigma) * dt
            dm_s, dm_v = dx_s, dx_v - sigma * dt
            b = (log_barrier - m) / sd
            db_s, db_v = -dm_s / sd, (-dm_v - b * root) / sd
            survive = normal_cdf(eps * b)
            if survive <= TINY or not alive:
                alive = False
                w[p, i] = level
                x[p, i] = x_p
                continue
            density_b = normal_pdf(b)
            dp_s, dp_v = eps * density_b * db_s, eps * density_b * db_v
            u = 1.0 - uniforms[source, i] if mirror else uniforms[source, i]
            z = eps * normal_quantile(max(u * survive, TINY))
            density_z = normal_pdf(z)
            scale = eps * u / density_z if density_z > 0.0 else 0.0
            x_p = m + sd * z
            dx_s = dm_s + sd * scale * dp_s
            dx_v = dm_v + root * z + sd * scale * dp_v
            product *= survive
            dlw_s += dp_s / survive
            dlw_v += dp_v / survive
            level += root * z
            w[p, i] = level
            x[p, i] = x_p
        weight[p] = product if alive else 0.0
        derivatives[p, 0] = dlw_s
        derivatives[p, 1] = dlw_v
        derivatives[p, 2] = dx_s
        derivatives[p, 3] = dx_v


def row(path: str, row_id: str, **changes) -> pd.DataFrame:
    """Row ``row_id`` of the instrument file ``path`` (``changes`` applied)."""
    frame = pd.read_csv(ROOT / path)
    frame = frame[frame["id"] == row_id].reset_index(drop=True)
    return frame.assign(**changes)


def kernel_case(frame: pd.DataFrame, paths: int):
    """The kernel's arguments for one chunk of a knock-out row planned at ``paths`` paths
    (the engine's chunk size, or ``paths`` if fewer)."""
    group = _plan_family(validate(frame, "benchmark"), paths, method="auto").groups[0]
    spec = group.payoff
    return (min(group.chunk_size, paths), group.times, math.log(group.spot),
            group.rate - group.dividend, group.params[0],
            spec.barrier_kind[0] == payoffs.UP_AND_OUT, spec.barrier[0], group.antithetic)


def outputs(arguments) -> tuple[np.ndarray, ...]:
    """Empty w, x, weight and derivatives for one chunk."""
    n, m = arguments[0], arguments[1].size
    return np.empty((n, m)), np.empty((n, m)), np.empty(n), np.empty((n, 4))


def run_chunk(kernel, arguments, c: int, out) -> None:
    """Chunk ``c`` (a generator of its own) into ``out``."""
    kernel(np.random.Generator(np.random.PCG64(c)), *arguments, *out)


def run_chunks(kernel, arguments, chunks: int, out) -> None:
    """``chunks`` chunks into the same ``out`` (its memory touched before, so that no page
    is first written inside the timing)."""
    for c in range(chunks):
        run_chunk(kernel, arguments, c, out)


def alternate(functions: dict, repeats: int) -> dict[str, list[float]]:
    """Seconds of each function, the functions taking turns."""
    seconds = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            seconds[name].append(time.perf_counter() - started)
    return seconds


def kernel_ns(arguments, chunks: int, repeats: int) -> dict[str, tuple[float, float]]:
    """ns per path-step (median, fastest) of each kernel on ``chunks`` chunks, after
    checking their outputs equal to rounding."""
    kernels = {"blocked": survival.simulate, "path-major": baseline}
    for c in range(chunks):
        found = [outputs(arguments) for _ in kernels]
        for kernel, out in zip(kernels.values(), found):
            run_chunk(kernel, arguments, c, out)
        assert all(np.allclose(a, b, rtol=RTOL, atol=RTOL * np.max(np.abs(b)))
                   for a, b in zip(*found)), "the kernels differ"
    out = {name: outputs(arguments) for name in kernels}
    seconds = alternate({name: (lambda k=kernel, o=out[name]: run_chunks(k, arguments, chunks,
                                                                        o))
                         for name, kernel in kernels.items()}, repeats)
    per = 1e9 / (chunks * arguments[0] * arguments[1].size)
    return {name: (statistics.median(t) * per, min(t) * per) for name, t in seconds.items()}


def row_seconds(frame: pd.DataFrame, repeats: int) -> dict[str, tuple[float, float]]:
    """Seconds (median, fastest) of ``price_portfolio(frame, threads=1)`` with each kernel,
    after checking the two result frames equal."""

    def price():
        return greeks.price_portfolio(frame, threads=1)

    def price_baseline():
        survival.simulate, engine_kernel = baseline, survival.simulate
        try:
            return price()
        finally:
            survival.simulate = engine_kernel

    pd.testing.assert_frame_equal(price(), price_baseline(), rtol=RTOL)
    seconds = alternate({"blocked": price, "path-major": price_baseline}, repeats)
    return {name: (statistics.median(t), min(t)) for name, t in seconds.items()}


def table(unit: str, found: dict[str, tuple[float, float]], digits: int) -> list[str]:
    ratio = [a / b for a, b in zip(found["path-major"], found["blocked"])]
    return [f"| kernel | {unit}, median | fastest |", "| --- | ---: | ---: |",
            *(f"| {name} | {median:.{digits}f} | {fastest:.{digits}f} |"
              for name, (median, fastest) in found.items()),
            "", f"Ratio (path-major / blocked) of the medians {ratio[0]:.2f}, of the fastest "
            f"{ratio[1]:.2f}.", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--portfolio-repeats", type=int, default=7)
    parser.add_argument("--output", type=Path,
                        default=ROOT / "benchmarks" / "results" / "survival_speed.md")
    options = parser.parse_args()
    load_before = load_average()
    spx = row("instruments/portfolio.csv", ROW)
    arguments = kernel_case(spx, 200_000)
    n, m = arguments[0], arguments[1].size
    ns = kernel_ns(arguments, options.chunks, options.repeats)
    print(ns, flush=True)
    small = []
    for fixings in SMALL_FIXINGS:
        case = kernel_case(row("instruments/compare.csv", SMALL, fixings=fixings), SMALL_PATHS)
        small.append((fixings, kernel_ns(case, options.chunks, options.repeats)))
        print(fixings, small[-1], flush=True)
    row_s = row_seconds(spx, options.portfolio_repeats)
    print(row_s, flush=True)
    load_after = load_average()
    machine = (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"numpy {np.__version__}, code {code_version()}")
    out = [
        "# The survival kernel, blocked", "",
        f"`python benchmarks/survival_speed.py` on {datetime.date.today().isoformat()}: "
        f"{machine}; load average {load_before} before, {load_after} after.  One thread; "
        "the two kernels alternate; outputs checked equal to rounding.", "",
        f"Kernel (`survival.simulate`) on {ROW}: {options.chunks} chunks of {n:,} paths × "
        f"{m} dates (antithetic pairs), {options.repeats} runs each:", "",
        *table("ns per path-step", ns, 1),
    ]
    for fixings, found in small:
        out += [f"On {SMALL} of instruments/compare.csv with {fixings} dates, chunks of "
                f"{SMALL_PATHS:,} paths (a 2,000-path run):", "",
                *table("ns per path-step", found, 1)]
    out += [f"The row {ROW} alone, `greeks.price_portfolio(row, threads=1)` (200,000 paths "
            f"and the decision run), {options.portfolio_repeats} runs each; the frames are "
            "equal to rounding:", "", *table("seconds", row_s, 2)]
    options.output.write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
