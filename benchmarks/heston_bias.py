"""Heston discretisation bias: Monte-Carlo price, delta and vega against the semi-analytic values.

    python benchmarks/heston_bias.py [--paths 1000000] [--seed 0] [--threads T]
                                     [--schemes qe,exact,euler] [--steps 12,24,52,104]
                                     [--first-steps 0,0.125] [--cases atm,andersen_1,...]
                                     [--plain] [--repeats 2]
                                     [--output benchmarks/results/heston_bias.md]

What it measures.  For every scheme (``qe``, ``exact``, ``euler``), every number of
steps per year and every first-step length, it prices European calls with
``engine.simulate(frame, paths, seed, threads, None, scheme, steps_per_year, first_step,
plain)`` and compares price, delta = ∂V/∂S0 and vega = ∂V/∂σ0 (σ0 = sqrt(v0), per 1.00)
with :func:`greeks.models.heston.analytic.heston_greeks`.  The estimates are the engine's
default ones, conditional Monte Carlo (Black–Scholes given the variance path); ``--plain``
passes ``plain=True`` and measures the plain likelihood-ratio estimators instead.  The
bias is that of the scheme's chain, the same for both estimators up to noise; only the
standard errors differ.  Each cell of the table is

    bias ± SE (bias/SE),   bias = Monte-Carlo estimate − semi-analytic reference,

SE the engine's standard error; |bias/SE| well above 2 is a discretisation bias that
the paths resolve, below 1–2 it is not distinguishable from noise at this path count.
A first step of 0 ("regular") means no extra grid point: the first step is a regular
one, 1/steps_per_year (the engine's default); a number x > 0 starts the grid with one
step of x years and continues with the regular steps beyond it.  ``time`` is the wall
time of the ``engine.simulate`` call, the fastest of ``--repeats`` (default 2) identical
calls (same seed, same numbers); rows of one case that share every model parameter (the
three Andersen strikes) are one frame, so they share paths and the time shown is that
of the whole frame.

Cases: ``atm`` (S0 = K = 100, T = 1, r = 5 %, q = 0, v0 = θ = 0.04, κ = 1.5, ξ = 0.5,
ρ = −0.7) and the published cases of ``data/heston_reference.csv``: ``broadie_kaya_1``,
``broadie_kaya_2`` (T = 5), ``andersen_1`` (T = 10, strikes 60, 100, 140) and
``fang_oosterlee`` (Feller's condition violated).

After the main table come a per-configuration summary (largest |bias/SE| of each Greek
over all rows, total time, and the work-normalised variance time·SE² relative to the
best configuration) and the references.  Everything is printed and written, as markdown,
to ``--output``; the header line states the estimator, paths, seed, machine and date.

Cost.  The full default grid (3 schemes × 4 step counts × 2 first steps × 5 cases =
120 simulations of 10⁶ paths, 18 simulated years per configuration) takes about 410 s of
simulation per repeat on the 2-core AMD EPYC development machine, both threads, so about
14 minutes with the default two repeats (measured: 822 s).  A first 50,000-path run
extrapolated to about 14.5 minutes, so the grid was kept whole: the exact scheme is 70 %
of the time (the 10-year Andersen case at 104 steps a year alone about 75 s a repeat)
and Euler only 7 %, so dropping Euler's coarse grids would save nothing worth having.
``--repeats 1`` halves the time, ``--schemes qe,euler`` cuts it by about two thirds,
``--paths 100000`` gives a quick look in under two minutes.  A step count of 0 is the
engine's automatic one (``greeks.models.heston.adapter.steps_per_year``: max(52, ⌈4ξ²/θ⌉),
and at least ``feller_steps`` before each maturity where ξ² > 2κθ, which these cases' regular
steps already exceed; refined by (paths/200,000)^(1/4) beyond 200,000 paths), printed
"auto".  Single timings vary by up to 2x when anything else uses the cores; the fastest of
the repeats is robust to short interruptions.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from greeks import engine
from greeks.api import load
from greeks.models.heston.analytic import heston_greeks

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_CSV = ROOT / "data" / "heston_reference.csv"
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "heston_bias.md"
SCHEMES = ("qe", "exact", "euler")
STEPS = (12, 24, 52, 104)
FIRST_STEPS = (0.0, 0.125)  # years; 0 = one regular step
PARAMETERS = ("spot", "maturity", "rate", "dividend", "v0", "kappa", "theta", "xi", "rho")

ATM = dict(case="atm", spot=100.0, strike=100.0, maturity=1.0, rate=0.05, dividend=0.0,
           v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7, option_type="call")


def cases() -> dict[str, list[dict]]:
    """Case name → its rows (dicts with the PARAMETERS, strike, option_type, case, published).

    Rows of data/heston_reference.csv with the same parameters form one case, named by
    the row name without a trailing ``_k<strike>``.
    """
    out: dict[str, list[dict]] = {"atm": [dict(ATM, published=math.nan)]}
    table = pd.read_csv(REFERENCE_CSV)
    for record in table.to_dict("records"):
        record = dict(record, published=record["reference_price"])
        key = tuple(record[p] for p in PARAMETERS)
        for rows in out.values():
            if tuple(rows[0][p] for p in PARAMETERS) == key:
                rows.append(record)
                break
        else:
            out[re.sub(r"_k\d+(\.\d+)?$", "", record["case"])] = [record]
    return out


def frame_of(rows: list[dict]) -> pd.DataFrame:
    return load(pd.DataFrame([
        dict(id=f"{i:02d}-{row['case']}", instrument="european", option_type=row["option_type"],
             strike=float(row["strike"]), model="heston",
             **{p: float(row[p]) for p in PARAMETERS})
        for i, row in enumerate(rows)]))


def reference(row: dict) -> np.ndarray:
    g = heston_greeks(row["option_type"], row["spot"], row["strike"], row["maturity"],
                      row["rate"], row["v0"], row["kappa"], row["theta"], row["xi"], row["rho"],
                      dividend=row["dividend"])
    return np.array([g.price, g.delta, g.vega])


def machine() -> str:
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                          if line.startswith("model name")), None)
        if model:
            name = f"{model} ({name})"
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} CPUs"


def number(x: float, digits: int = 2) -> str:
    """x to ``digits`` significant digits, plain notation where it is short."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}".replace("-", "−")


def cell(bias: float, se: float) -> str:
    """'bias ± SE (bias/SE)', bias and SE to the SE's second significant digit."""
    if not (math.isfinite(se) and se > 0):
        return f"{number(bias, 4)} ± {se}"
    decimals = max(0, 1 - math.floor(math.log10(se)))
    return f"{bias:.{decimals}f} ± {se:.{decimals}f} ({bias / se:+.1f})".replace("-", "−")


def steps_label(per_year: float) -> str:
    """Steps per year as printed: 0 is the engine's automatic choice per case."""
    return "auto" if per_year == 0 else f"{per_year:g}"


def first_label(first_step: float) -> str:
    """'regular' (0: one regular step) or the first step's length in years."""
    return "regular" if first_step == 0 else f"{first_step:g}"


def markdown(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---:" if i in right else "---" for i in range(len(header))) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def parse_list(text: str, convert=str) -> list:
    return [convert(item.strip()) for item in text.split(",") if item.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="default: all usable cores")
    parser.add_argument("--schemes", default=",".join(SCHEMES))
    parser.add_argument("--steps", default=",".join(map(str, STEPS)),
                        help="steps per year, comma-separated")
    parser.add_argument("--first-steps", default=",".join(f"{f:g}" for f in FIRST_STEPS),
                        help="first-step lengths in years, comma-separated; 0 = one regular "
                             "step")
    parser.add_argument("--cases", default=None, help="comma-separated, default all")
    parser.add_argument("--repeats", type=int, default=2,
                        help="time each simulation this many times, report the fastest")
    parser.add_argument("--plain", action="store_true",
                        help="plain likelihood-ratio estimators (plain=True) instead of the "
                             "default conditional Monte Carlo")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    all_cases = cases()
    names = parse_list(args.cases) if args.cases else list(all_cases)
    unknown = [n for n in names if n not in all_cases]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(all_cases)}")
    schemes = parse_list(args.schemes)
    steps = parse_list(args.steps, float)
    firsts = parse_list(args.first_steps, float)
    threads = args.threads or engine.default_threads()

    frames = {name: frame_of(all_cases[name]) for name in names}
    references = {name: [reference(row) for row in all_cases[name]] for name in names}

    for scheme in schemes:  # load the numba kernels before timing anything
        engine.simulate(frames[names[0]], 1_000, args.seed, 1, None, scheme, 4, 0.0,
                        plain=args.plain)

    estimator = ("plain likelihood ratio (plain=True)" if args.plain
                 else "conditional Monte Carlo (the engine's default)")
    header_line = (f"estimator: {estimator}; {args.paths:,} paths per simulation, "
                   f"seed {args.seed}, {threads} threads, "
                   f"time = fastest of {max(1, args.repeats)}; "
                   f"machine: {machine()}; numpy {np.__version__}; "
                   f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(header_line, flush=True)

    table_header = ["case", "scheme", "steps/yr", "first step", "price bias ± SE (z)",
                    "delta bias ± SE (z)", "vega bias ± SE (z)", "time (s)"]
    table: list[list[str]] = []
    # (scheme, steps, first) → z and time·SE² of each row, summed time, whether it failed
    summary: dict[tuple, dict] = {}
    errors: list[str] = []
    started = time.perf_counter()
    for name in names:
        rows, frame = all_cases[name], frames[name]
        for scheme in schemes:
            for per_year in steps:
                for first in firsts:
                    config = (scheme, per_year, first)
                    entry = summary.setdefault(config, dict(z=[], work=[], time=0.0, error=False))
                    elapsed = math.inf
                    try:
                        for _ in range(max(1, args.repeats)):  # same seed: same numbers
                            t0 = time.perf_counter()
                            estimates = engine.simulate(frame, args.paths, args.seed, threads,
                                                        None, scheme, per_year, first,
                                                        plain=args.plain)
                            elapsed = min(elapsed, time.perf_counter() - t0)
                    except Exception as exc:  # reported, not worked around
                        message = f"{name}, {scheme}, {per_year:g}/yr, first step " \
                                  f"{first_label(first)}: " \
                                  f"{type(exc).__name__}: {exc}"
                        errors.append(message)
                        entry["error"] = True
                        line = [name, scheme, steps_label(per_year), first_label(first),
                                f"error: {type(exc).__name__}: {exc}", "", "", ""]
                        table.append(line)
                        print(" | ".join(line), flush=True)
                        continue
                    entry["time"] += elapsed
                    for i, row in enumerate(rows):
                        bias = estimates.mean[i] - references[name][i]
                        se = estimates.se[i]
                        entry["z"].append(bias / se)
                        entry["work"].append(elapsed * se * se)
                        line = [row["case"], scheme, steps_label(per_year), first_label(first),
                                *(cell(b, s) for b, s in zip(bias, se)), f"{elapsed:.2f}"]
                        table.append(line)
                        print(" | ".join(line), flush=True)
    total = time.perf_counter() - started

    # Summary per configuration: the largest |z| of each Greek over all rows; time·SE² of each
    # Greek (geometric mean over rows) relative to the smallest over the configurations.
    configs = [c for c in summary if not summary[c]["error"] and summary[c]["z"]]
    work = {c: np.exp(np.mean(np.log(np.array(summary[c]["work"])), axis=0)) for c in configs}
    best = np.min(np.array([work[c] for c in configs]), axis=0) if configs else np.ones(3)
    summary_header = ["scheme", "steps/yr", "first step", "max abs z price", "max abs z delta",
                      "max abs z vega", "rows all abs z < 1", "time (s)",
                      "time·SE² price", "time·SE² delta", "time·SE² vega"]
    summary_rows = []
    for c in summary:
        scheme, per_year, first = c
        entry = summary[c]
        if c not in configs:
            summary_rows.append([scheme, steps_label(per_year), first_label(first), "error", "", "",
                                 "", "", "", "", ""])
            continue
        z = np.abs(np.array(entry["z"]))
        summary_rows.append([
            scheme, steps_label(per_year), first_label(first), *(f"{m:.1f}" for m in z.max(axis=0)),
            f"{int(np.sum(np.all(z < 1, axis=1)))}/{len(z)}", f"{entry['time']:.1f}",
            *(f"{w:.2f}" for w in work[c] / best)])

    reference_rows = []
    for name in names:
        for row, ref in zip(all_cases[name], references[name]):
            published = row["published"]
            reference_rows.append([
                row["case"], f"{row['strike']:g}", f"{row['maturity']:g}",
                f"{ref[0]:.8f}", f"{ref[1]:.8f}", f"{ref[2]:.6f}",
                "" if not math.isfinite(published) else f"{published:.8f}"])

    text = "\n\n".join([
        "# Heston discretisation bias: Monte Carlo − semi-analytic reference",
        header_line,
        "Each cell: bias ± SE (bias/SE), bias = estimate − `heston_greeks`; vega = ∂V/∂σ0 per "
        "1.00 (σ0 = sqrt(v0)). First step 'regular' = 1/(steps/yr), the engine's default; "
        "otherwise the grid's first step has that length (years). Time: wall seconds of "
        "`engine.simulate` (the fastest of the repeats) for the case's frame (the Andersen "
        "strikes share one frame and its time). Generated by `benchmarks/heston_bias.py`.",
        markdown(table_header, table, {2, 4, 5, 6, 7}),
        "## Per configuration",
        "max abs z: the largest |bias/SE| over all rows; rows all abs z < 1: rows whose three "
        "|bias/SE| are all below 1; time: summed over the cases; time·SE²: the "
        "work-normalised variance (geometric mean over the rows) relative to the best "
        "configuration (1.00): lower is "
        "more accuracy per second, bias aside.",
        markdown(summary_header, summary_rows, set(range(1, 11))),
        "## References (`greeks.models.heston.analytic.heston_greeks`)",
        markdown(["case", "strike", "T", "price", "delta", "vega", "published price"],
                 reference_rows, {1, 2, 3, 4, 5, 6}),
        *([("## Errors\n\n" + "\n".join(f"- {e}" for e in errors))] if errors else []),
        f"Total simulation time: {total:.0f} s.",
    ]) + "\n"
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.output.with_suffix(args.output.suffix + ".tmp")
    temporary.write_text(text)
    temporary.replace(args.output)
    print(f"written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
