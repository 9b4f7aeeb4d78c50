"""Heston σ0-vega: standard error of the likelihood-ratio weight against the first step,
beside bump-and-revalue on common random numbers, at equal paths.

    python benchmarks/heston_vega_se.py [--paths 1000000] [--scheme qe]

Case: ATM 1-year call, S0 = K = 100, r = 0.05, v0 = θ = 0.04, κ = 1.5, ξ = 0.5,
ρ = −0.7 (semi-analytic vega 18.2020).  The LR weight's variance is dominated by
the first variance transition's score, which grows like 1/Δ_1; the rest of the grid
keeps ``--steps-per-year``.  The LR vega is that of conditional Monte Carlo
(``method="mixed"``; ``auto`` takes its vega from the finite differences).  The CRN finite
difference bumps σ0 by ±h on the same
random numbers (the same chain, so it has the same discretisation bias); its SE comes
from the spread of 64 independent batches.  Writes benchmarks/results/heston_vega_se.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from greeks import engine
from greeks.api import load
from greeks.models.heston.adapter import MIN_STEPS_PER_YEAR
from greeks.models.heston.analytic import heston_greeks

CASE = dict(id="atm", instrument="european", option_type="call", strike=100.0, maturity=1.0,
            spot=100.0, rate=0.05, model="heston", v0=0.04, kappa=1.5, theta=0.04, xi=0.5,
            rho=-0.7)
FIRST_STEPS = (0.0, 1 / 12, 0.125, 0.25, 0.5)
BUMP = 0.002  # σ0 bump of the finite difference


def crn_fd_vega(group, paths: int, batches: int = 64) -> tuple[float, float]:
    """Central difference in σ0 on common random numbers; (estimate, SE over batches)."""
    sigma0 = math.sqrt(group.params[0])
    size = paths // batches
    values = []
    for seed in range(batches):
        prices = []
        for sign in (1, -1):
            bumped = dataclasses.replace(
                group, params=((sigma0 + sign * BUMP) ** 2, *group.params[1:]))
            prices.append(engine.run_chunk(bumped, seed, 0, size)[0][0, 0, 0])
        values.append((prices[0] - prices[1]) / (2 * BUMP))
    values = np.array(values)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(batches))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1_000_000)
    parser.add_argument("--scheme", default="qe")
    parser.add_argument("--steps-per-year", type=float, default=MIN_STEPS_PER_YEAR)
    parser.add_argument("--plain", action="store_true", help="LR without baselines")
    args = parser.parse_args()

    frame = load(pd.DataFrame([CASE]))
    ref = heston_greeks("call", 100.0, 100.0, 1.0, 0.05, 0.04, 1.5, 0.04, 0.5, -0.7).vega
    lines = [f"# Heston σ0-vega standard error, {args.paths:,} paths, scheme {args.scheme}, "
             f"{args.steps_per_year:g} steps/year, LR {'plain' if args.plain else 'with baseline'}",
             "", f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores; "
             f"semi-analytic vega {ref:.4f}", "",
             "| first step (years) | LR vega | LR SE | CRN-FD vega | CRN-FD SE | SE ratio |",
             "|---|---|---|---|---|---|"]
    for first_step in FIRST_STEPS:
        estimates = engine.simulate(frame, args.paths, 1, scheme=args.scheme,
                                    steps_per_year=args.steps_per_year, first_step=first_step,
                                    plain=args.plain, method="mixed")
        (group,) = engine.plan_groups(frame, args.scheme, args.steps_per_year, first_step)
        fd, fd_se = crn_fd_vega(group, args.paths)
        step = group.times[0]
        lines.append(f"| {step:.4f} | {estimates.mean[0, 2]:.3f} | {estimates.se[0, 2]:.3f} | "
                     f"{fd:.3f} | {fd_se:.3f} | {estimates.se[0, 2] / fd_se:.1f} |")
        print(lines[-1], flush=True)
    out = Path(__file__).parent / "results" / ("heston_vega_se_plain.md" if args.plain
                                               else "heston_vega_se.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:3]))


if __name__ == "__main__":
    main()
