"""Heston American calls against the symmetric put: price, delta and σ0-vega over seeds.

    python benchmarks/heston_american_call.py [--seeds 4] [--paths 200000]

By put–call symmetry (the share as numéraire) the American call C(S, K; r, q, κ, θ, ξ, ρ)
equals the American put P(K, S; q, r, κ*, θ*, ξ, −ρ), κ* = κ − ρξ, θ* = κθ/κ*, on the same
variance v0 (greeks.models.heston.exercise_rule.symmetric_parameters).  The reference is that
put by the ADI solver (greeks.models.heston.american; its delta in S is the put's derivative in
the strike, by central differences of two solves at S ± 1 %; its σ0-vega the put's).  The
engine prices the call on its own paths under the call's law, with the exercise rule read
from the same solver's boundary (the policy regressed on a pilot that it replaced is in the
results of before).  Writes ``benchmarks/results/heston_american_call.md``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
from machine import code_version, cpu_name, load_average

import greeks
from greeks.models.heston.american import heston_american_put
from greeks.models.heston.exercise_rule import symmetric_parameters

CASES = [  # S, K, T, r, q, v0, kappa, theta, xi, rho
    (100.0, 100.0, 1.0, 0.03, 0.06, 0.04, 1.5, 0.04, 0.5, -0.7),
    (110.0, 100.0, 0.5, 0.02, 0.08, 0.09, 2.0, 0.06, 0.6, -0.5),
    (90.0, 100.0, 1.0, 0.05, 0.05, 0.04, 3.0, 0.05, 0.4, 0.3),
]
GREEKS = ("price", "delta", "vega")


def reference(case) -> tuple[float, float, float]:
    """(price, delta, vega) of the call from the symmetric ADI put."""
    spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = case
    r, q, k, t, x, p = symmetric_parameters(rate, dividend, kappa, theta, xi, rho)

    def put(s):
        return heston_american_put(strike, s, maturity, r, q, v0, k, t, x, p)

    h = 0.01 * spot
    return put(spot).price, (put(spot + h).price - put(spot - h).price) / (2 * h), put(spot).vega


def frame() -> pd.DataFrame:
    return pd.DataFrame([dict(id=f"call-{i}", instrument="american", option_type="call",
                              strike=k, maturity=t, spot=s, rate=r, dividend=q, model="heston",
                              v0=v0, kappa=ka, theta=th, xi=xi, rho=rho, quantity=1)
                         for i, (s, k, t, r, q, v0, ka, th, xi, rho) in enumerate(CASES)])


def run(seeds: int, paths: int) -> list[dict]:
    """Per case and Greek: mean error %, mean z, rms z over the seeds."""
    refs = [reference(c) for c in CASES]
    z = {(i, g): [] for i in range(len(CASES)) for g in GREEKS}
    err = {(i, g): [] for i in range(len(CASES)) for g in GREEKS}
    for seed in range(1, seeds + 1):
        out = greeks.price_portfolio(frame(), paths=paths, seed=seed)
        for i, ref in enumerate(refs):
            for g, value in zip(GREEKS, ref):
                est, se = out[g].iloc[i], out[f"{g}_se"].iloc[i]
                z[i, g].append((est - value) / se)
                err[i, g].append(100.0 * (est - value) / value)
    return [dict(policy="ADI rule", case=f"call-{i}", greek=g,
                 reference=refs[i][GREEKS.index(g)], error_pct=np.mean(err[i, g]),
                 mean_z=np.mean(z[i, g]), rms_z=np.sqrt(np.mean(np.square(z[i, g]))))
            for i in range(len(CASES)) for g in GREEKS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--paths", type=int, default=200_000)
    args = parser.parse_args()
    start = time.time()
    table = pd.DataFrame(run(args.seeds, args.paths))
    head = (f"{cpu_name()}, load {load_average()}, {code_version()}, "
            f"{time.strftime('%Y-%m-%d %H:%M')}, {args.seeds} seeds × {args.paths:,} paths, "
            f"{time.time() - start:.0f} s\n\n")
    lines = ["| " + " | ".join(table.columns) + " |", "|" + " --- |" * table.shape[1]]
    lines += ["| " + " | ".join(f"{x:.4g}" if isinstance(x, float) else str(x) for x in row)
              + " |" for row in table.itertuples(index=False)]
    text = "# benchmarks/heston_american_call.py\n\n" + head + "\n".join(lines) + "\n"
    path = os.path.join(os.path.dirname(__file__), "results", "heston_american_call.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
