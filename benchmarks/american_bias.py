"""Bias of the American estimators: GBM against a binomial tree over the exercise grid,
Heston against the published values over the regression pilot.

    python benchmarks/american_bias.py [--seeds 2]

GBM (policy from the solved exercise boundaries): the Longstaff–Schwartz puts (K = 40,
r = 6 %, σ = 20 %; S0 = 36, 40 and 44, T = 1, 1, 2) at 200,000 paths, error of price, delta
and vega against a 4,000-step CRR tree (vega by central differences of the tree), in % and
in SEs, averaged over the seeds and the puts, for exercise grids of 50 … 504 dates a year
(extrapolated to continuous exercise).  Heston (policy regressed on a pilot): the Clarke &
Parrott puts (K = 10, T = 0.25, S0 = 9 … 12) at 200,000 paths for pilots of 2^15 … 2^19
paths.  Writes ``benchmarks/results/american_bias.md``.
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
CLARKE_PARROTT = [(9.0, 1.1076), (10.0, 0.5200), (11.0, 0.2138), (12.0, 0.0821)]
GREEKS = ("price", "delta", "vega")


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
    up, down = (crr(spot, 40.0, maturity, 0.06, vol)[0] for vol in (0.201, 0.199))
    vega = (up - down) / 0.002
    return price, delta, vega


def summary(errors: list, ses: list) -> dict:
    errors, z = np.array(errors), np.array(errors) / np.array(ses)
    out = {}
    for k, g in enumerate(("price", "delta", "vega")[:errors.shape[1]]):
        out[f"{g} %"] = errors[:, k].mean()
        out[f"max |{g}| %"] = np.abs(errors[:, k]).max()
        out[f"{g} z"] = z[:, k].mean()
        out[f"rms {g} z"] = np.sqrt((z[:, k] ** 2).mean())
    return out


def gbm_errors(seeds: int, fixings_per_year: int | None = None) -> dict:
    rows = [dict(id=f"A{int(s)}", instrument="american", option_type="put", strike=40.0,
                 maturity=t, spot=s, rate=0.06, model="gbm", vol=0.2,
                 **({"fixings": int(fixings_per_year * t)} if fixings_per_year else {}))
            for s, t in PUTS]
    refs = [reference(spot, maturity) for spot, maturity in PUTS]
    errors, ses = [], []
    for seed in range(seeds):
        out = greeks.price_portfolio(pd.DataFrame(rows), seed=seed, threads=2)
        for (_, row), ref in zip(out.iterrows(), refs):
            errors.append([(row[g] - r) / abs(r) * 100 for g, r in zip(GREEKS, ref)])
            ses.append([row[f"{g}_se"] / abs(r) * 100 for g, r in zip(GREEKS, ref)])
    return summary(errors, ses)


def heston_errors(seeds: int) -> dict:
    rows = [dict(id=f"H{s}", instrument="american", option_type="put", strike=10.0,
                 maturity=0.25, spot=s, rate=0.1, model="heston", v0=0.0625, kappa=5.0,
                 theta=0.16, xi=0.9, rho=0.1) for s, _ in CLARKE_PARROTT]
    errors, ses = [], []
    for seed in range(seeds):
        out = greeks.price_portfolio(pd.DataFrame(rows), seed=seed, threads=2)
        for (_, row), (_, ref) in zip(out.iterrows(), CLARKE_PARROTT):
            errors.append([(row["price"] - ref) / ref * 100])
            ses.append([row["price_se"] / ref * 100])
    return summary(errors, ses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    lines = []
    for per_year in (50, 126, None, 504):
        lines.append({"study": "GBM, exercise dates a year", "setting": per_year or "252",
                      **gbm_errors(args.seeds, per_year)})
        print(lines[-1], flush=True)
    default = exercise.POLICY_PATHS, exercise.VEGA_POLICY_PATHS
    for pilot in (1 << 15, 1 << 17, 1 << 19):
        exercise.POLICY_PATHS, exercise.VEGA_POLICY_PATHS = pilot, pilot >> 2
        lines.append({"study": "Heston, pilot paths", "setting": pilot,
                      **heston_errors(args.seeds)})
        print(lines[-1], flush=True)
    exercise.POLICY_PATHS, exercise.VEGA_POLICY_PATHS = default
    table = pd.DataFrame(lines)
    out = os.path.join(os.path.dirname(__file__), "results", "american_bias.md")
    with open(out, "w") as handle:
        handle.write(f"# benchmarks/american_bias.py\n\nload {os.getloadavg()[0]:.2f}, "
                     f"{time.strftime('%Y-%m-%d %H:%M')}, {args.seeds} seeds, 200,000 paths; "
                     "error against a 4,000-step CRR tree (GBM) or the published values "
                     "(Heston), in % of the reference and in the estimates' SEs (mean over "
                     "seeds and rows; max |…| and rms over them)\n\n")
        handle.write(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        handle.write("\n")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
