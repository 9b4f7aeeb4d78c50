"""Common random numbers of bumped Heston chains: QE, exact, and QE with a sampled first step.

    python benchmarks/heston_crn.py [--paths 16384] [--seed 0] [--first-step 0.0833]
                                    [--output benchmarks/results/heston_crn.md]

Case: the ATM asian call of instruments/heston.csv (S0 = K = 100, T = 1, 12 fixings,
r = 5 %, v0 = θ = 0.04, κ = 1.5, ξ = 0.5, ρ = −0.7; d = 4κθ/ξ² = 0.96).  Configurations:
``qe`` (regular first step), ``exact`` (regular first step) and ``qe+first`` (QE with a
first step of ``--first-step`` years whose v_1 and integrated variance are drawn exactly).

What it measures, per configuration:

* ``corr``: the correlation over paths of the asian's discounted payoff on the base chain
  and on the chain with σ0 + 0.002, both simulated from the same stream (one chunk of
  ``--paths`` paths): 1 where a bump moves every path a little, far below where it moves
  which random numbers later draws read.
* the standard errors of theta, vanna, volga and of dkappa, dtheta, dxi by central
  differences (``method="fd"``), from ``greeks.price_portfolio`` at ``--paths`` paths,
  and the ratio of each to QE's (the targets: ≤ 3).
* ``time``: the wall time of that ``price_portfolio`` call (one thread).

Everything is printed and written, as markdown, to ``--output``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

import greeks
from greeks import engine
from greeks.api import load
from greeks.models.heston.adapter import AUTO_STEPS, group_paths
from greeks.models.heston.sensitivities import _payoff_on

ROOT = Path(__file__).resolve().parents[1]
BUMP = 0.002  # σ0 bump of the correlation
GREEKS = ("theta", "vanna", "volga", "dkappa", "dtheta", "dxi")
COLUMNS = {"theta": "theta_per_year"}  # the result column of each Greek
CONFIGURATIONS = (("qe", "qe", 0.0), ("exact", "exact", 0.0), ("qe+first", "qe", None))


def correlation(frame, scheme: str, first_step: float, paths: int, seed: int) -> float:
    """Correlation of the discounted payoffs at σ0 and σ0 + BUMP on one stream."""
    (group,) = engine.plan_groups(frame, scheme, AUTO_STEPS, first_step)
    sigma0 = math.sqrt(group.params[0])
    payoff = _payoff_on(group, 0)
    values = []
    for sigma in (sigma0, sigma0 + BUMP):
        bumped = dataclasses.replace(group, params=(sigma * sigma, *group.params[1:]))
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
        values.append(payoff(group_paths(bumped, rng, paths).s))
    return float(np.corrcoef(values[0], values[1])[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=16_384)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first-step", type=float, default=1 / 12)
    parser.add_argument("--output", type=Path,
                        default=ROOT / "benchmarks" / "results" / "heston_crn.md")
    args = parser.parse_args()
    frame = load(ROOT / "instruments" / "heston.csv")
    frame = frame[frame["id"] == "ATM-ASN"].reset_index(drop=True)
    rows = []
    for label, scheme, first_step in CONFIGURATIONS:
        first_step = args.first_step if first_step is None else first_step
        corr = correlation(frame, scheme, first_step, args.paths, args.seed)
        start = time.perf_counter()
        result = greeks.price_portfolio(frame, paths=args.paths, seed=args.seed, threads=1,
                                        scheme=scheme, first_step=first_step, method="fd",
                                        greeks=list(GREEKS))
        elapsed = time.perf_counter() - start
        rows.append(dict(configuration=label, corr=corr, time=elapsed,
                         **{name: float(result[COLUMNS.get(name, name)].iat[0])
                            for name in GREEKS},
                         **{f"{name}_se": float(result[f"{COLUMNS.get(name, name)}_se"].iat[0])
                            for name in GREEKS}))
    table = pd.DataFrame(rows)
    lines = [(f"# Heston common random numbers: ATM asian, {args.paths:,} paths, seed "
              f"{args.seed}, first step {args.first_step:.4g} (qe+first)"), "",
             (f"{platform.processor() or platform.machine()}, "
              f"{datetime.date.today().isoformat()}; SE (ratio to QE's SE)"), "",
             "| configuration | corr (σ0 + 0.002) | " + " | ".join(GREEKS) + " | time (s) |",
             "| --- | --- | " + " | ".join("---" for _ in GREEKS) + " | --- |"]
    qe = table.iloc[0]
    for _, row in table.iterrows():
        cells = [f"{row[f'{name}_se']:.3g} ({row[f'{name}_se'] / qe[f'{name}_se']:.2f}×)"
                 for name in GREEKS]
        lines.append(f"| {row['configuration']} | {row['corr']:.4f} | " + " | ".join(cells)
                     + f" | {row['time']:.1f} |")
    lines += ["", "Estimates:", "",
              "| configuration | " + " | ".join(GREEKS) + " |",
              "| --- | " + " | ".join("---" for _ in GREEKS) + " |"]
    for _, row in table.iterrows():
        lines.append(f"| {row['configuration']} | "
                     + " | ".join(f"{row[name]:.4g} ± {row[f'{name}_se']:.2g}" for name in GREEKS)
                     + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
