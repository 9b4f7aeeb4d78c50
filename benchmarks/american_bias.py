"""Bias of the American estimators against a binomial tree: pilot paths, exercise grid, and
the Heston variance state.

    python benchmarks/american_bias.py [--seeds 2]

GBM: the Longstaff–Schwartz puts (K = 40, r = 6 %, σ = 20 %; S0 = 36, 40 and 44, T = 1, 1, 2)
at 200,000 paths, error of price, delta and vega against a 4,000-step CRR tree (vega by
central differences of the tree), averaged over the seeds, for pilots of 2^13 … 2^17 paths
and exercise grids of 50 … 504 dates a year.  Heston: the published put (K = 10,
S0 = 10, T = 0.25, Clarke & Parrott) with and without the variance state in the basis.
Writes ``benchmarks/results/american_bias.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import pandas as pd

import greeks
from greeks import exercise

PUTS = [(36.0, 1.0), (40.0, 1.0), (44.0, 2.0)]


def crr(spot, strike, maturity, rate, vol, steps=4000):
    dt = maturity / steps
    up = math.exp(vol * math.sqrt(dt))
    p = (math.exp(rate * dt) - 1 / up) / (up - 1 / up)
    values = np.maximum(strike - spot * up ** (steps - 2.0 * np.arange(steps + 1)), 0.0)
    for n in range(steps - 1, -1, -1):
        values = math.exp(-rate * dt) * (p * values[:-1] + (1 - p) * values[1:])
        prices = spot * up ** (n - 2.0 * np.arange(n + 1))
        values = np.maximum(values, strike - prices)
        if n == 1:
            delta = (values[0] - values[1]) / (prices[0] - prices[1])
    return values[0], delta


def reference(spot, maturity):
    price, delta = crr(spot, 40.0, maturity, 0.06, 0.2)
    vega = (crr(spot, 40.0, maturity, 0.06, 0.201)[0] - crr(spot, 40.0, maturity, 0.06, 0.199)[0]) / 0.002
    return price, delta, vega


def gbm_errors(seeds: int, fixings_per_year: int | None = None) -> dict:
    rows = [dict(id=f"A{int(s)}", instrument="american", option_type="put", strike=40.0,
                 maturity=t, spot=s, rate=0.06, model="gbm", vol=0.2,
                 **({"fixings": int(fixings_per_year * t)} if fixings_per_year else {}))
            for s, t in PUTS]
    errors = []
    for seed in range(seeds):
        out = greeks.price_portfolio(pd.DataFrame(rows), seed=seed, threads=2)
        for (_, row), (spot, maturity) in zip(out.iterrows(), PUTS):
            ref = reference(spot, maturity)
            errors.append([(row[g] - r) / abs(r) * 100 for g, r in zip(("price", "delta", "vega"), ref)])
    errors = np.array(errors)
    return {"price %": errors[:, 0].mean(), "delta %": errors[:, 1].mean(),
            "vega %": errors[:, 2].mean(), "max |price| %": np.abs(errors[:, 0]).max(),
            "max |delta| %": np.abs(errors[:, 1]).max(), "max |vega| %": np.abs(errors[:, 2]).max()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    lines = []
    default = exercise.POLICY_PATHS
    for pilot in (1 << 13, 1 << 15, 1 << 17):
        exercise.POLICY_PATHS = pilot
        lines.append({"study": "pilot paths", "setting": pilot, **gbm_errors(args.seeds)})
        print(lines[-1], flush=True)
    exercise.POLICY_PATHS = default
    for per_year in (50, 126, 504):
        lines.append({"study": "exercise dates a year", "setting": per_year,
                      **gbm_errors(args.seeds, per_year)})
        print(lines[-1], flush=True)
    table = pd.DataFrame(lines)
    out = os.path.join(os.path.dirname(__file__), "results", "american_bias.md")
    with open(out, "w") as handle:
        handle.write(f"# benchmarks/american_bias.py\n\nload {os.getloadavg()[0]:.2f}, "
                     f"{time.strftime('%Y-%m-%d %H:%M')}, {args.seeds} seeds, 200,000 paths; "
                     "error against a 4,000-step CRR tree, in % of the reference (mean over "
                     "seeds and the three puts; max |…| over them)\n\n")
        handle.write(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        handle.write("\n")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
