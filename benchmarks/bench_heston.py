"""Heston engine throughput per scheme against a plain-numpy Euler LR estimator, one process.

    python benchmarks/bench_heston.py [--paths 1500000] [--repeats 5] [--cpu-time]

Prices the ATM 1-year European call (S0 = K = 100, r = 0.05, v0 = θ = 0.04, κ = 1.5,
ξ = 0.5, ρ = −0.7) with price, delta and vega (the engine always computes the score
weights) on a grid of 52 equal steps (steps_per_year = 52, first_step = 0), one thread,
with each scheme (qe, exact, euler), and the same with a vectorised numpy
full-truncation Euler implementation of the same estimator (the baseline, run in the
same process).  Throughput is path-steps/s = paths × 52 grid points / seconds; each
figure is the median of the repeats, also as a ratio to qe's (the same process, so that
it holds under other load).  Also: qe on 2 threads, and qe and exact at ξ = 0.3
(``XI_HIGH_SHAPE``: d = 4κθ/ξ² = 2.67 ≥ 1, where the exact scheme's variance draw is
(Z + √λ)² plus a gamma variate; at ξ = 0.5, d = 0.96 < 1, it needs the zero-degree
noncentral chi-square quantile, a sum of Poisson terms per draw).  The numpy baseline's
estimates are checked against engine euler at equal paths (they simulate the same
chain, from different random streams, so they must agree within a few standard errors).

Prints a markdown table and writes it, with machine info and date, to
benchmarks/results/bench_heston.md.
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

import numba
import numpy as np
import pandas as pd
from machine import code_version, cpu_name, load_average

from greeks import engine
from greeks.instruments import validate
from greeks.models.heston.analytic import heston_greeks

S0, K, R, T = 100.0, 100.0, 0.05, 1.0
V0, KAPPA, THETA, XI, RHO = 0.04, 1.5, 0.04, 0.5, -0.7
XI_HIGH_SHAPE = 0.3  # d = 4κθ/ξ² = 2.67: the exact scheme without its zero-degree quantile
STEPS_PER_YEAR, FIRST_STEP = 52, 0.0
STEPS = round(T * STEPS_PER_YEAR)  # grid points of the engine's grid (checked in main)
SCHEMES = ("qe", "exact", "euler")
AGREEMENT_SE = 4.0  # |engine euler − numpy| / combined SE must stay below this
RESULTS = Path(__file__).resolve().parent / "results" / "bench_heston.md"


def frame(xi: float = XI) -> pd.DataFrame:
    return validate(pd.DataFrame([dict(
        id="atm", instrument="european", option_type="call", strike=K, maturity=T, spot=S0,
        rate=R, model="heston", v0=V0, kappa=KAPPA, theta=THETA, xi=xi, rho=RHO)]), "bench")


def numpy_baseline(paths: int, seed: int, block: int = 1 << 16) -> np.ndarray:
    """Plain numpy full-truncation Euler LR estimator; price, delta, vega means then SEs.

    The chain of greeks.models.heston (``euler``): per step, with v⁺ = max(v, 0),
    v ← v + κ(θ − v⁺)Δ + ξ sqrt(v⁺Δ) Z_v and
    x ← x + rΔ − ½v⁺Δ + ρ sqrt(v⁺Δ) Z_v + sqrt((1 − ρ²)v⁺Δ) Z_x;
    R = Σ sqrt((1 − ρ²)v⁺Δ) Z_x, V = Σ (1 − ρ²)v⁺Δ.  Weights
    w_Δ = R/(S0 V),  w_σ = 2σ0 [∂log p(v_1|v_0)/∂v_0 + (R/V) ∂μ_1/∂v_0 + ½(R²/V − 1)(∂V_1/∂v_0)/V]
    with the Gaussian transition score of the first Euler variance step.
    """
    rng = np.random.default_rng(seed)
    dt = T / STEPS
    root = math.sqrt(1.0 - RHO * RHO)
    discount = math.exp(-R * T)
    sigma0 = math.sqrt(V0)
    d_mean = -0.5 * dt + (RHO / XI) * (KAPPA * dt - 1.0)  # ∂μ_1/∂v_0
    d_var = (1.0 - RHO * RHO) * dt                         # ∂V_1/∂v_0
    first_mean = V0 + KAPPA * (THETA - V0) * dt            # law of v_1 given v_0
    first_var = XI * XI * V0 * dt
    sums = np.zeros(3)
    squares = np.zeros(3)
    for start in range(0, paths, block):
        n = min(block, paths - start)
        v = np.full(n, V0)
        x = np.zeros(n)         # log(S/S0)
        residual = np.zeros(n)  # R
        variance = np.zeros(n)  # V
        first = None
        for k in range(STEPS):
            z = rng.standard_normal((2, n))
            positive = np.maximum(v, 0.0)
            spread = np.sqrt(positive * dt)
            dz = root * spread * z[1]
            x += R * dt - 0.5 * dt * positive + RHO * spread * z[0] + dz
            residual += dz
            variance += (1.0 - RHO * RHO) * dt * positive
            v += KAPPA * dt * (THETA - positive) + XI * spread * z[0]
            if k == 0:
                first = v.copy()
        f = discount * np.maximum(S0 * np.exp(x) - K, 0.0)
        ratio = residual / variance
        u = (first - first_mean) / first_var
        score = u * (1.0 - KAPPA * dt) + 0.5 * (u * u * first_var - 1.0) / V0
        values = np.stack([
            f,
            f * ratio / S0,
            f * 2.0 * sigma0 * (score + ratio * d_mean
                                + 0.5 * (ratio * residual - 1.0) * d_var / variance),
        ])
        sums += values.sum(axis=1)
        squares += (values * values).sum(axis=1)
    mean = sums / paths
    se = np.sqrt(np.maximum(squares / paths - mean**2, 0.0) / (paths - 1))
    return np.concatenate([mean, se])


def timed(function, repeats: int, clock=time.perf_counter) -> tuple[list[float], object]:
    """Times of ``repeats`` calls by ``clock`` (wall or process CPU time), and the last
    call's result."""
    times, result = [], None
    for _ in range(repeats):
        start = clock()
        result = function()
        times.append(clock() - start)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1_500_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time by process CPU time (on a loaded machine; qe on 2 threads "
                             "then counts both threads' time)")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help="markdown file for the table (default: %(default)s)")
    args = parser.parse_args()

    call, shaped = frame(), frame(XI_HIGH_SHAPE)
    grid = engine.plan_groups(call, "euler", STEPS_PER_YEAR, FIRST_STEP)[0].times
    assert grid.size == STEPS and np.allclose(np.diff(grid), T / STEPS), grid
    cells = args.paths * STEPS

    def run(scheme: str, threads: int = 1, paths: int = args.paths, plain: bool = True,
            rows: pd.DataFrame = call):
        return engine.simulate(rows, paths, 1, threads=threads, report=None, scheme=scheme,
                               steps_per_year=STEPS_PER_YEAR, first_step=FIRST_STEP,
                               plain=plain)

    for scheme in SCHEMES:  # compile / load the JIT cache
        run(scheme, paths=1_000)
        run(scheme, paths=1_000, rows=shaped)
    load_before = load_average()
    started = time.perf_counter()

    clock = time.process_time if args.cpu_time else time.perf_counter
    times, estimates = {}, {}
    for scheme in SCHEMES:
        times[scheme], estimates[scheme] = timed(lambda: run(scheme), args.repeats, clock)
    times["numpy"], baseline = timed(lambda: numpy_baseline(args.paths, 1), args.repeats, clock)
    times["qe, 2 threads"], _ = timed(lambda: run("qe", threads=2), args.repeats, clock)
    times["qe, default estimators (auto: conditional Monte Carlo; vega by CRN bumps)"], _ = timed(
        lambda: run("qe", plain=False), args.repeats, clock)
    high = {scheme: f"{scheme}, ξ = {XI_HIGH_SHAPE} (d ≥ 1)" for scheme in ("qe", "exact")}
    for scheme, name in high.items():
        times[name], _ = timed(lambda: run(scheme, rows=shaped), args.repeats, clock)
    rates = {name: cells / statistics.median(t) for name, t in times.items()}
    spread = {name: f"{cells / max(t) / 1e6:.1f}–{cells / min(t) / 1e6:.1f}"
              for name, t in times.items()}
    elapsed = time.perf_counter() - started
    load_after = load_average()

    # Same chain, different streams: engine euler and numpy must agree within a few SE.
    euler = estimates["euler"]
    z_scores = [(euler.mean[0, q] - baseline[q]) / math.hypot(euler.se[0, q], baseline[3 + q])
                for q in range(3)]
    agree = all(abs(z) < AGREEMENT_SE for z in z_scores)
    broken = [s for s in SCHEMES
              if not (np.isfinite(estimates[s].mean).all() and np.isfinite(estimates[s].se).all())]
    analytic = heston_greeks("call", S0, K, T, R, V0, KAPPA, THETA, XI, RHO)

    machine = (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"numpy {np.__version__}, numba {numba.__version__}; code {code_version()}")
    lines = [
        f"# Heston benchmark ({datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z})",
        "",
        f"`benchmarks/bench_heston.py --paths {args.paths} --repeats {args.repeats}`: ATM 1-year "
        f"European call (S0 = K = 100, r = {R}, v0 = θ = {V0}, κ = {KAPPA}, ξ = {XI}, "
        f"ρ = {RHO}), price + plain-LR delta + vega with SEs (the same estimator as the numpy "
        f"baseline), {STEPS} equal steps, "
        f"{args.paths:,} paths, median of {args.repeats}, one thread unless stated"
        + ("; process CPU time." if args.cpu_time else "."),
        "",
        f"Machine: {machine}; load average {load_before} before, {load_after} after "
        f"({elapsed:.0f} s timed).",
        "",
        "| job | M path-steps/s (median) | min–max over repeats | ratio to numpy Euler "
        "| ratio to engine qe |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    auto = "qe, default estimators (auto: conditional Monte Carlo; vega by CRN bumps)"
    for name in (*SCHEMES, "qe, 2 threads", auto, *high.values()):
        lines.append(f"| engine {name} | {rates[name] / 1e6:.1f} | {spread[name]} | "
                     f"{rates[name] / rates['numpy']:.2f} | {rates[name] / rates['qe']:.3f} |")
    lines.append(f"| plain numpy full-truncation Euler (same process) | "
                 f"{rates['numpy'] / 1e6:.1f} | {spread['numpy']} | 1.00 | "
                 f"{rates['numpy'] / rates['qe']:.3f} |")
    lines += [
        "",
        f"qe on 2 threads / qe on 1 thread: {rates['qe, 2 threads'] / rates['qe']:.2f}; "
        f"at ξ = {XI_HIGH_SHAPE} exact / qe: {rates[high['exact']] / rates[high['qe']]:.3f}",
        "",
        "| estimate | price | delta | vega |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, (mean, se) in [
        *((f"engine {s}", (estimates[s].mean[0], estimates[s].se[0])) for s in SCHEMES),
        ("numpy Euler", (baseline[:3], baseline[3:])),
    ]:
        lines.append(f"| {name} | " + " | ".join(f"{m:.4f} ± {e:.4f}" for m, e in zip(mean, se))
                     + " |")
    lines.append(f"| analytic (continuous Heston) | {analytic.price:.4f} | {analytic.delta:.4f} "
                 f"| {analytic.vega:.4f} |")
    lines += [
        "",
        "engine euler − numpy Euler, in combined SEs (price, delta, vega): "
        + ", ".join(f"{z:+.2f}" for z in z_scores)
        + (f" — agree (all within {AGREEMENT_SE:g} SE)" if agree
           else f" — DISAGREE (beyond {AGREEMENT_SE:g} SE)"),
    ]
    if broken:
        lines.append(f"NON-FINITE engine estimates: {', '.join(broken)}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"written to {args.output}")
    if not agree or broken:
        raise SystemExit("numpy baseline disagrees with engine euler" if not agree
                         else f"non-finite engine estimates: {', '.join(broken)}")


if __name__ == "__main__":
    main()
