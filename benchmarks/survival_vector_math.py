"""The survival kernel with greeks.vector_math's Φ and φ, against another checkout's kernel.

    python benchmarks/survival_vector_math.py --against /path/to/other/checkout
                                              [--processes 7] [--repeats 5] [--chunks 4]
                                              [--output benchmarks/results/survival_vector_math.md]

(a) Per element: ``vector_math.normal_pdfs`` and ``normal_cdfs`` on arrays of
    ``survival.BLOCK`` points (as in the kernel's passes) against loops of
    ``maths.normal_pdf`` and ``maths.normal_cdf`` (the C library's exp and erfc), taking
    turns, ``--repeats`` times each; ns per element, CPU time (``time.process_time``).
(b) The kernel: fresh processes, this checkout's and the other's (``PYTHONPATH``) taking
    turns, ``--processes`` of each; each times ``survival.simulate`` on the cases of
    ``benchmarks/survival_speed.py`` (SPX-UO-C-4500-5000-1Y, 252 dates, chunks of 4,096
    paths; the up-and-out call of instruments/compare.csv with 52 and 12 dates, chunks of
    2,000), ``--chunks`` chunks, ``--repeats`` times, in CPU time, and reports the median
    in ns per path-step; the table gives the medians over the processes and their ratio.
    The first chunk's outputs of the two checkouts are compared: the largest difference of
    W, log S, the weights Π p_i and each derivative, relative to its largest magnitude.

Writes the tables to ``--output`` (machine, load average, date).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASES = ("SPX-UO-C-4500-5000-1Y, 252 dates", "gbm-up-and-out, 52 dates",
         "gbm-up-and-out, 12 dates")


def kernel_child(chunks: int, repeats: int, save: Path) -> None:
    """Prints the median ns per path-step of each case (JSON) and saves the first case's
    first chunk."""
    sys.path.insert(0, str(HERE))
    import survival_speed as speed

    from greeks import survival

    cases = [speed.kernel_case(speed.row("instruments/portfolio.csv", speed.ROW), 200_000)]
    cases += [speed.kernel_case(speed.row("instruments/compare.csv", speed.SMALL, fixings=f),
                                speed.SMALL_PATHS) for f in speed.SMALL_FIXINGS]
    found = {}
    for name, arguments in zip(CASES, cases):
        out = speed.outputs(arguments)
        speed.run_chunk(survival.simulate, arguments, 0, out)
        if not found:
            np.savez(save, *out)
        seconds = []
        for _ in range(repeats):
            started = time.process_time()
            speed.run_chunks(survival.simulate, arguments, chunks, out)
            seconds.append(time.process_time() - started)
        found[name] = statistics.median(seconds) * 1e9 / (chunks * arguments[0]
                                                          * arguments[1].size)
    print(json.dumps(found))


def element_ns(repeats: int) -> dict[str, tuple[float, float]]:
    """ns per element (median CPU) of each C-library loop and vector pass."""
    from numba import njit

    from greeks import vector_math
    from greeks.maths import normal_cdf, normal_pdf
    from greeks.survival import BLOCK

    @njit(error_model="numpy")
    def library(which, x, out, times):
        for _ in range(times):
            for k in range(x.size):
                out[k] = normal_pdf(x[k]) if which == 0 else normal_cdf(x[k])

    @njit(error_model="numpy")
    def vector(which, x, out, powers, times):
        for _ in range(times):
            if which == 0:
                vector_math.normal_pdfs(x, out, powers)
            else:
                vector_math.normal_cdfs(x, out, powers)

    rng = np.random.default_rng(1)
    points = [rng.normal(0.0, 2.0, BLOCK), rng.normal(-1.0, 2.0, BLOCK)]
    out, powers, times = np.empty(BLOCK), np.empty((2, BLOCK), dtype=np.int64), 100_000
    found = {}
    for which, name in enumerate(("φ", "Φ")):
        x = points[which]
        library(which, x, out, 1)
        vector(which, x, out, powers, 1)
        seconds = {"library": [], "vector": []}
        for _ in range(repeats):
            for kind, run in (("library", lambda: library(which, x, out, times)),
                              ("vector", lambda: vector(which, x, out, powers, times))):
                started = time.process_time()
                run()
                seconds[kind].append(time.process_time() - started)
        found[name] = tuple(statistics.median(seconds[kind]) * 1e9 / (times * BLOCK)
                            for kind in ("library", "vector"))
    return found


def kernel_run(checkout: Path, chunks: int, repeats: int, save: Path) -> dict[str, float]:
    """One child process on ``checkout``'s package."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(chunks),
               str(repeats), str(save)]
    out = subprocess.run(command, cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def largest_change(this: Path, other: Path) -> dict[str, float]:
    """The largest difference of each output (W, log S, weights, derivatives by column),
    relative to the output's largest magnitude."""
    a, b = np.load(this), np.load(other)
    new = [a[key] for key in a.files[:3]] + list(a[a.files[3]].T)
    old = [b[key] for key in b.files[:3]] + list(b[b.files[3]].T)
    names = ("W", "log S", "Π p", "∂log Π p/∂S0", "∂log Π p/∂σ", "∂log S_T/∂S0",
             "∂log S_T/∂σ")
    return {name: float(np.max(np.abs(n - o)) / np.max(np.abs(o)))
            for name, n, o in zip(names, new, old)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kernel_child(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, help="the other checkout")
    parser.add_argument("--processes", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--output", type=Path,
                        default=HERE / "results" / "survival_vector_math.md")
    options = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(HERE)]
    from machine import code_version, cpu_name, load_average

    from greeks.survival import BLOCK

    load_before = load_average()
    elements = element_ns(options.repeats)
    print(elements, flush=True)
    runs = {"this": [], "other": []}
    with tempfile.TemporaryDirectory() as folder:
        saves = {name: Path(folder) / f"{name}.npz" for name in runs}
        for _ in range(options.processes):
            for name, checkout in (("this", ROOT), ("other", options.against.resolve())):
                runs[name].append(kernel_run(checkout, options.chunks, options.repeats,
                                             saves[name]))
                print(name, runs[name][-1], flush=True)
        changes = largest_change(saves["this"], saves["other"])
    load_after = load_average()
    other = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=options.against,
                           capture_output=True, text=True).stdout.strip() or "unknown"
    machine = (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"numpy {np.__version__}, code {code_version()}")
    out = ["# The survival kernel with vectorised Φ and φ", "",
           f"`python benchmarks/survival_vector_math.py --against {options.against}` on "
           f"{datetime.date.today().isoformat()}: {machine}; the other checkout at {other}; "
           f"load average {load_before} before, {load_after} after.  CPU time "
           "(`time.process_time`), one thread.", "",
           f"Per element, arrays of {BLOCK} points, {options.repeats} runs each (medians):",
           "",
           "| function | C library (ns) | vector_math (ns) | ratio |",
           "| --- | ---: | ---: | ---: |",
           *(f"| {name} | {lib:.2f} | {vec:.2f} | {lib / vec:.2f} |"
             for name, (lib, vec) in elements.items()), "",
           f"The kernel `survival.simulate`, ns per path-step: {options.processes} fresh "
           f"processes of each checkout, alternating, each the median of {options.repeats} "
           f"runs of {options.chunks} chunks; medians over the processes (and the fastest):", "",
           "| case | other checkout | this checkout | ratio |", "| --- | ---: | ---: | ---: |"]
    for case in CASES:
        old = [run[case] for run in runs["other"]]
        new = [run[case] for run in runs["this"]]
        out.append(f"| {case} | {statistics.median(old):.1f} ({min(old):.1f}) | "
                   f"{statistics.median(new):.1f} ({min(new):.1f}) | "
                   f"{statistics.median(old) / statistics.median(new):.2f} |")
    changed = ", ".join(f"{name} {value:.1e}" for name, value in changes.items())
    out += ["", "Largest change of the first chunk's outputs (SPX row, 4,096 paths × 252 "
            f"dates), relative to each output's largest magnitude: {changed}.", ""]
    options.output.write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
