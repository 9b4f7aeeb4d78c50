"""Scale: a large instrument file, and one row at many paths; wall time and peak memory.

    python benchmarks/scale.py [--rows 10000,30000,100000] [--paths 2000] [--repeats 5]
                               [--path-counts 1e6,1e7,1e8] [--budget 300]

(a) Instrument files of 10,000, 30,000 and 100,000 rows: underlyings of 100 rows each
    (european, digital, asian with 12 fixings, barrier with 12 or 52 fixings; calls and
    puts; maturities 0.25 to 2 years; every tenth underlying under Heston, the rest GBM),
    written as CSV and priced with ``greeks.price_portfolio(path, paths=2000)`` on all
    cores.  The largest file is run only if the smaller ones predict (linearly in the rows)
    that it finishes within ``--budget`` seconds; otherwise the table says so.
(b) One european GBM row (ATM call, S0 = K = 100, σ = 0.2, r = 0.05, T = 1) at 10^6, 10^7
    and 10^8 paths: whether time grows linearly and memory stays flat in the path count.

Every measurement runs in a fresh Python process (this script with ``--child``), which
first loads the JIT cache on a small book of every instrument and model (its peak RSS
then is the "after warm-up" column), then times the call; the peak RSS of the process is
read from ``os.wait4`` (ru_maxrss).  Path-count cases are repeated and the medians given.
Finally one cProfile of a 2,000-row file on one thread (so that the kernels' time is seen
in the calling functions rather than as lock waits) lists the functions where the time goes.

Writes a markdown table, with machine info and date, to benchmarks/results/scale.md.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
import pandas as pd
from machine import code_version as commit_version
from machine import cpu_name, load_average

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "scale.md"
ROWS_PER_UNDERLYING = 100
HESTON_EVERY = 10  # every tenth underlying is a Heston one
HESTON = dict(v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
# (instrument, option_type, barrier_type, fixings): ten kinds, cycled within an underlying
KINDS = [("european", "call", None, None), ("european", "put", None, None),
         ("digital", "call", None, None), ("digital", "put", None, None),
         ("asian", "call", None, 12), ("asian", "put", None, 12),
         ("barrier", "call", "up-and-out", 52), ("barrier", "put", "down-and-in", 52),
         ("barrier", "call", "up-and-in", 12), ("barrier", "put", "down-and-out", 12)]
MATURITIES = (0.25, 0.5, 1.0, 2.0)
ATM = dict(id="ATM", instrument="european", option_type="call", strike=100.0, maturity=1.0,
           spot=100.0, rate=0.05, model="gbm", vol=0.2)


def book(rows: int) -> pd.DataFrame:
    """``rows`` positions on ``rows / 100`` underlyings (see the module docstring)."""
    records = []
    for k in range(rows):
        u, j = divmod(k, ROWS_PER_UNDERLYING)
        instrument, option_type, barrier_type, fixings = KINDS[j % len(KINDS)]
        spot = 50.0 + (u * 7919) % 400
        record = dict(id=f"U{u:05d}-{j:03d}", underlying=f"U{u:05d}", instrument=instrument,
                      option_type=option_type,
                      strike=round(spot * (0.8 + 0.04 * ((j * 37) % 11)), 2),
                      maturity=MATURITIES[(j // len(KINDS)) % len(MATURITIES)], spot=spot,
                      rate=0.03, dividend=0.01, quantity=(j % 7) - 3 or 1)
        if u % HESTON_EVERY == 0:
            record.update(model="heston", **HESTON)
        else:
            record.update(model="gbm", vol=0.15 + 0.01 * (u % 20))
        if instrument == "digital":
            record["payout"] = 10.0
        if barrier_type is not None:
            record.update(barrier=round(spot * (1.3 if barrier_type.startswith("up") else 0.75), 2),
                          barrier_type=barrier_type)
        if fixings is not None:
            record["fixings"] = fixings
        records.append(record)
    return pd.DataFrame(records)


# --- the child: one measurement in a fresh process -----------------------------------------

def child(kind: str, target: str, paths: int, threads: int | None, profile: bool) -> None:
    """Warm up, time one pricing, print a JSON line (times in seconds, RSS in MiB)."""
    import resource

    import greeks
    from greeks.api import load

    greeks.price_portfolio(book(2 * ROWS_PER_UNDERLYING).iloc[::11], paths=2_000)  # JIT cache
    greeks.price_portfolio(pd.DataFrame([ATM]), paths=2_000)
    warm_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    source = target if kind == "rows" else pd.DataFrame([ATM])
    started = time.perf_counter()
    if kind == "rows":
        load(source)
    read = time.perf_counter() - started
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    cpu_before, started = _cpu_seconds(), time.perf_counter()
    results = greeks.price_portfolio(source, paths=paths, threads=threads)
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_before
    out = dict(wall=wall, cpu=cpu, read=read, warm_rss=warm_rss, rows=len(results),
               finite=bool(np.isfinite(results[["price", "delta", "vega"]].to_numpy()).all()),
               price=float(results["price"].iloc[0]), price_se=float(results["price_se"].iloc[0]))
    if profile:
        profiler.disable()
        stats = pstats.Stats(profiler)
        kernels = _kernels()
        out["profile"] = _profile_rows(stats, kernels)
        out["python"] = _python_rows(stats, kernels)
        out["kernel_time"] = sum(entry[2] for key, entry in stats.stats.items()
                                 if key in kernels)
        out["profiled_time"] = stats.total_tt
    print(json.dumps(out))


def _cpu_seconds() -> float:
    """User and system CPU time of this process so far, all threads."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _kernels() -> set:
    """(file, line, name) of every numba-compiled function of greeks, as cProfile names them."""
    from numba.core.dispatcher import Dispatcher

    found = set()
    for name, module in list(sys.modules.items()):
        if name == "greeks" or name.startswith("greeks."):
            for value in vars(module).values():
                if isinstance(value, Dispatcher):
                    code = value.py_func.__code__
                    found.add((code.co_filename, code.co_firstlineno, code.co_name))
    return found


def _python_rows(stats, kernels: set, top: int = 8) -> list:
    """The greeks functions (not kernels) with the most cumulative time, below the API."""
    rows = []
    for key, (_, calls, own, cumulative, _) in stats.stats.items():
        filename, line, name = key
        if key in kernels or Path(filename).parent.name not in ("greeks", "models") \
                or Path(filename).name == "api.py" or name in ("simulate", "<genexpr>"):
            continue
        rows.append((f"{Path(filename).name}:{line} {name}", calls, own, cumulative))
    return sorted(rows, key=lambda r: -r[3])[:top]


def _profile_rows(stats, kernels: set, top: int = 14) -> list:
    """(function, calls, own seconds, cumulative seconds) of the top functions by own time;
    numba kernels are marked."""
    rows = []
    for key, (_, calls, own, cumulative, _) in stats.stats.items():
        filename, line, name = key
        where = (f"{Path(filename).parent.name}/{Path(filename).name}:{line} {name}"
                 if filename != "~" else name)
        rows.append((where + (" (numba kernel)" if key in kernels else ""), calls, own,
                     cumulative))
    return sorted(rows, key=lambda r: -r[2])[:top]


def measure(kind: str, target: str, paths: int, threads: int | None = None,
            profile: bool = False, timeout: float | None = None) -> dict | None:
    """Run one child; its JSON result plus ``peak_rss`` (MiB, from wait4), or None on timeout."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, target,
               str(paths), str(threads or 0), "1" if profile else "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    started = time.monotonic()
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if timeout is not None and time.monotonic() - started > timeout:
            process.kill()
            os.wait4(process.pid, 0)
            return None
        time.sleep(0.05)
    output = process.stdout.read()
    process.stdout.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"child {' '.join(command[2:])} failed with status {process.returncode}")
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_rss"] = usage.ru_maxrss / 1024  # KiB on Linux
    return result


# --- the report ----------------------------------------------------------------------------

def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 ** 2:.0f} GiB RAM"
    except (OSError, ValueError):
        pass
    return "RAM unknown"


def code_version() -> str:
    """The commit, whether greeks/ differs from it, and a hash of greeks/ as measured."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "greeks").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{commit_version()} (greeks/*.py sha256 {digest.hexdigest()[:12]})"


def number_list(text: str) -> list[int]:
    return [int(float(item)) for item in text.split(",") if item.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=number_list, default=[10_000, 30_000, 100_000])
    parser.add_argument("--paths", type=int, default=2_000, help="paths for the row cases")
    parser.add_argument("--path-counts", type=number_list, default=[10 ** 6, 10 ** 7, 10 ** 8])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each path-count case")
    parser.add_argument("--budget", type=float, default=300.0,
                        help="seconds a row case may be predicted to take (default %(default)s)")
    parser.add_argument("--profile-rows", type=int, default=2_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=5, metavar=("KIND", "TARGET", "PATHS", "THREADS",
                                                    "PROFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, target, paths, threads, profile = args.child
        child(kind, target, int(paths), int(threads) or None, profile == "1")
        return

    load_before, started, code = load_average(), time.perf_counter(), code_version()
    row_results, skipped = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for rows in sorted(args.rows):
            files[rows] = Path(folder) / f"book_{rows}.csv"
            book(rows).to_csv(files[rows], index=False)
        for rows in sorted(args.rows):
            predicted = None
            if row_results:
                largest = max(row_results)
                predicted = row_results[largest]["wall"] * rows / largest
            if predicted is not None and predicted > args.budget:
                skipped[rows] = predicted
                print(f"{rows:,} rows: skipped, predicted {predicted:.0f} s > {args.budget:.0f} s")
                continue
            result = measure("rows", str(files[rows]), args.paths, timeout=args.budget * 1.25)
            if result is None:
                skipped[rows] = args.budget * 1.25
                print(f"{rows:,} rows: stopped after {args.budget * 1.25:.0f} s")
                continue
            row_results[rows] = result
            print(f"{rows:,} rows: {result['wall']:.1f} s, peak RSS {result['peak_rss']:.0f} MiB")
        profile_file = Path(folder) / "profile.csv"
        book(args.profile_rows).to_csv(profile_file, index=False)
        profiled = measure("rows", str(profile_file), args.paths, threads=1, profile=True)
        threaded = measure("rows", str(profile_file), args.paths)

    path_results = {}
    for paths in args.path_counts:
        path_results[paths] = [measure("paths", "-", paths) for _ in range(args.repeats)]
        walls = [r["wall"] for r in path_results[paths]]
        print(f"{paths:,} paths: median {statistics.median(walls):.2f} s")
    elapsed, load_after = time.perf_counter() - started, load_average()

    if code_version() != code:
        code += " — CHANGED during the run, to " + code_version()
    text = report(args, row_results, skipped, path_results, profiled, threaded,
                  load_before, load_after, elapsed, code)
    print(text, end="")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {args.output}")


def report(args, row_results, skipped, path_results, profiled, threaded, load_before,
           load_after, elapsed, code) -> str:
    machine = (f"{cpu_name()}, {os.cpu_count()} cores, {memory_total()}, Python "
               f"{platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
               f"numba {numba.__version__}; code {code}")
    lines = [
        f"# Scale benchmark ({datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z})",
        "",
        f"`benchmarks/scale.py` (rows {', '.join(f'{r:,}' for r in args.rows)}; "
        f"{args.paths:,} paths; path counts "
        f"{', '.join(f'{p:.0e}' for p in args.path_counts)}, {args.repeats} runs each). "
        "Each case in a fresh process, after loading the JIT cache on a small book; all cores "
        "(default threads); wall and CPU time (user + system, all threads) of "
        "`greeks.price_portfolio` (reading and validation included, also shown alone), peak "
        "RSS of the process from `wait4`. Other jobs on the machine show in the load average "
        "and in wall times well above CPU time / cores.",
        "",
        f"Machine: {machine}; load average {load_before} before, {load_after} after "
        f"({elapsed:.0f} s in all).",
        "",
        f"## (a) Instrument files: {ROWS_PER_UNDERLYING} rows per underlying, every "
        f"{HESTON_EVERY}th underlying Heston, {args.paths:,} paths",
        "",
        "Per underlying: european, digital, asian (12 fixings), barrier (12 or 52 fixings), "
        "calls and puts, maturities 0.25–2 years.",
        "",
        "| rows | underlyings | wall (s) | CPU (s) | read + validate (s) | ms per row "
        "| peak RSS (MiB) | RSS after warm-up (MiB) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for rows in sorted(args.rows):
        underlyings = rows // ROWS_PER_UNDERLYING
        if rows in row_results:
            r = row_results[rows]
            lines.append(f"| {rows:,} | {underlyings:,} | {r['wall']:.1f} | {r['cpu']:.1f} | "
                         f"{r['read']:.2f} | "
                         f"{1e3 * r['wall'] / rows:.2f} | {r['peak_rss']:.0f} | "
                         f"{r['warm_rss']:.0f} |")
        else:
            lines.append(f"| {rows:,} | {underlyings:,} | not run: predicted ≥ "
                         f"{skipped[rows]:.0f} s > {args.budget:.0f} s budget | | | | | |")
    bad = [rows for rows, r in row_results.items() if not r["finite"]]
    if bad:
        lines.append(f"\nNON-FINITE estimates in the {', '.join(map(str, bad))}-row runs.")
    lines += [
        "",
        "## (b) One european GBM row (ATM call, S0 = K = 100, σ = 0.2, r = 0.05, T = 1)",
        "",
        "| paths | wall (s), median | min–max | CPU (s), median | M paths/s "
        "| peak RSS (MiB), median | RSS after warm-up (MiB) | price ± SE |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for paths, runs in path_results.items():
        walls = [r["wall"] for r in runs]
        wall = statistics.median(walls)
        last = runs[-1]
        lines.append(f"| {paths:,} | {wall:.3f} | {min(walls):.3f}–{max(walls):.3f} | "
                     f"{statistics.median(r['cpu'] for r in runs):.2f} | "
                     f"{paths / wall / 1e6:.0f} | "
                     f"{statistics.median(r['peak_rss'] for r in runs):.0f} | "
                     f"{statistics.median(r['warm_rss'] for r in runs):.0f} | "
                     f"{last['price']:.4f} ± {last['price_se']:.4f} |")
    peaks = [statistics.median(r["peak_rss"] for r in runs) for runs in path_results.values()]
    if peaks:
        lines += ["", f"Peak RSS from {min(path_results):,} to {max(path_results):,} paths: "
                      f"{peaks[0]:.0f} → {peaks[-1]:.0f} MiB "
                      f"({'flat' if peaks[-1] - peaks[0] < 64 else 'GROWS'} in the path count)."]
    lines += [
        "",
        f"## Where the time goes: cProfile of the {args.profile_rows:,}-row file, one thread",
        "",
        f"{profiled['wall']:.1f} s on one thread under the profiler "
        f"({threaded['wall']:.1f} s on all cores without it), of which "
        f"{profiled['kernel_time']:.1f} s "
        f"({profiled['kernel_time'] / profiled['profiled_time']:.0%}) "
        "inside numba kernels and the rest in Python (planning, pandas, reductions). "
        "Top functions by own time:",
        "",
        "| function | calls | own (s) | cumulative (s) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for where, calls, own, cumulative in profiled["profile"]:
        lines.append(f"| `{where}` | {calls:,} | {own:.2f} | {cumulative:.2f} |")
    lines += ["", "The engine's Python functions by cumulative time (kernels called from them "
              "included):", "", "| function | calls | own (s) | cumulative (s) |",
              "| --- | ---: | ---: | ---: |"]
    for where, calls, own, cumulative in profiled["python"]:
        lines.append(f"| `{where}` | {calls:,} | {own:.2f} | {cumulative:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
