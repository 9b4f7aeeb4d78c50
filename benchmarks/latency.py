"""Latency of small runs: a one-row file, ``--help``, the example portfolio; the ETA's error.

    python benchmarks/latency.py [--repeats 7] [--portfolio-repeats 3] [--baseline DIR]
                                 [--eta-paths 600000]

Every timing is a fresh process (``python -m greeks ...`` on this checkout), its wall time
and its CPU time (user + system, from ``getrusage``); medians of the repeats, after one
untimed run that fills numba's cache and Python's bytecode cache.  Bytecode caches are on
as in an installed package: where the environment turns them off
(``PYTHONDONTWRITEBYTECODE``) the children write them under ``PYTHONPYCACHEPREFIX``
(a folder in the temporary directory unless set).

* one row: ``greeks price one.csv``, one european GBM row (the first of
  ``instruments/european.csv``), default paths and estimators;
* floor: ``python -c "import numpy, pandas, numba, click, rich"``, the imports any run needs;
* ``greeks --help``;
* the example portfolio, ``greeks price instruments/portfolio.csv``, default paths.

With ``--baseline DIR`` (another checkout, e.g. the commit before a change) every command
runs on both, alternately, so that both see the same load, and the table gives their
ratio.  With ``--eta-paths N`` the portfolio is priced once more at N paths in this
process with a progress callback: at each report the time remaining that a linear
extrapolation of the progress shows (elapsed · (total − done) / done) is set against the
true remaining time, and the table gives their ratio's range from 2, 5, 10 and 20 s on,
extrapolated linearly and as the bar shows it (the speed over the last 30 s).

Writes ``benchmarks/results/latency.md`` (machine, load average, date).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import code_version, cpu_name, load_average

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latency.md"
FLOOR = "import numpy, pandas, numba, click, rich"


def child_env(root: Path) -> dict:
    """The children's environment: ``root`` first on the path, bytecode caches on."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    if env.pop("PYTHONDONTWRITEBYTECODE", None) and not env.get("PYTHONPYCACHEPREFIX"):
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "greeks-pycache")
    return env


def timed(args: list[str], root: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process ``python args`` run in ``root``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=root, env=child_env(root), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def medians(args: list[str], roots: list[Path], repeats: int) -> list[tuple[float, float]]:
    """(median wall, median CPU) per root, the roots' runs alternating, after one warm-up
    run each."""
    for root in roots:
        timed(args, root)
    runs: list[list[tuple[float, float]]] = [[] for _ in roots]
    for _ in range(repeats):
        for k, root in enumerate(roots):
            runs[k].append(timed(args, root))
    return [(statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
            for r in runs]


def eta_errors(paths: int) -> tuple[float, list[tuple[float, float, float, float, float]]]:
    """The run's seconds, and per start time (2, 5, 10, 20 s) the range of shown / true time
    remaining over the reports from then on: (since, linear min, max, bar min, max)."""
    sys.path.insert(0, str(ROOT))
    from greeks.api import price_portfolio

    seen = []
    start = time.perf_counter()
    price_portfolio(ROOT / "instruments" / "portfolio.csv", paths=paths,
                    progress=lambda done, total: seen.append((time.perf_counter() - start,
                                                              done, total)))
    return time.perf_counter() - start, eta_ratios(seen, time.perf_counter() - start)


def eta_ratios(seen, end: float, window: float = 30.0):
    """Shown / true time remaining at each report ``(t, done, total)`` of a run that ended
    at ``end``: extrapolated linearly from the start, and as the progress bar shows it
    (rich: the speed over the last ``window`` seconds); their ranges from 2, 5, 10, 20 s on.
    Reports in the run's last second are left out: the bar shows whole seconds, and there
    the ratio of two small times (the last chunks' against the reduction after them)
    swings without meaning."""
    linear, bar = [], []
    for i, (t, done, total) in enumerate(seen):
        if total - done <= 1e-9 * total or t >= end - 1.0 or t <= 0:  # the last second
            continue
        true = end - t
        linear.append((t, t * (total - done) / done / true))
        j = next(k for k, sample in enumerate(seen) if sample[0] >= t - window)
        if j < i and seen[i][0] > seen[j][0]:
            speed = (done - seen[j][1]) / (t - seen[j][0])
            bar.append((t, (total - done) / speed / true))
    out = []
    for since in (2.0, 5.0, 10.0, 20.0):
        a = [r for t, r in linear if t >= since]
        b = [r for t, r in bar if t >= since] or [float("nan")]
        if a:
            out.append((since, min(a), max(a), min(b), max(b)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--portfolio-repeats", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None)
    parser.add_argument("--eta-paths", type=int, default=0)
    options = parser.parse_args()
    roots = [ROOT] + ([options.baseline.resolve()] if options.baseline else [])
    one = Path(tempfile.mkdtemp()) / "one.csv"
    lines = (ROOT / "instruments" / "european.csv").read_text().splitlines()
    one.write_text("\n".join(lines[:2]) + "\n")
    load_before = load_average()
    cases = [
        ("one european GBM row: `greeks price one.csv`", ["-m", "greeks", "price", str(one)],
         options.repeats),
        ("floor: `python -c \"" + FLOOR + "\"`", ["-c", FLOOR], options.repeats),
        ("`greeks --help`", ["-m", "greeks", "--help"], options.repeats),
        ("example portfolio: `greeks price instruments/portfolio.csv`",
         ["-m", "greeks", "price", "instruments/portfolio.csv"], options.portfolio_repeats),
    ]
    rows = []
    for label, args, repeats in cases:
        found = medians(args, roots, repeats)
        rows.append((label, repeats, found))
        print(label, found, flush=True)
    eta = eta_errors(options.eta_paths) if options.eta_paths else None
    load_after = load_average()
    machine = (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"code {code_version()}")
    head = "| command | runs | wall s | CPU s |"
    rule = "| --- | ---: | ---: | ---: |"
    if options.baseline:
        head += " baseline wall s | baseline CPU s | wall ratio | CPU ratio |"
        rule += " ---: | ---: | ---: | ---: |"
    out = [
        "# Start-up latency", "",
        f"`python benchmarks/latency.py` on {datetime.date.today().isoformat()}: {machine}; "
        f"load average {load_before} before, {load_after} after.  Fresh processes, medians; "
        "bytecode and numba caches warm."
        + (f"  Baseline: {options.baseline} (runs alternating)." if options.baseline else ""),
        "", head, rule,
    ]
    for label, repeats, found in rows:
        (wall, cpu), *base = found
        line = f"| {label} | {repeats} | {wall:.2f} | {cpu:.2f} |"
        if base:
            (b_wall, b_cpu), = base
            line += f" {b_wall:.2f} | {b_cpu:.2f} | {wall / b_wall:.2f} | {cpu / b_cpu:.2f} |"
        out.append(line)
    if eta is not None:
        seconds, ranges = eta
        out += ["", f"Time remaining shown (linear in the progress) against the true time "
                f"remaining, the example portfolio at {options.eta_paths:,} paths in one "
                f"process ({seconds:.1f} s):", "",
                "| from | linear: shown / true, min | max | bar (30 s speed): min | max |",
                "| ---: | ---: | ---: | ---: | ---: |"]
        out += [f"| {since:.0f} s | {a:.2f} | {b:.2f} | {c:.2f} | {d:.2f} |"
                for since, a, b, c, d in ranges]
    RESULTS.write_text("\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
