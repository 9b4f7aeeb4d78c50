"""Bias of the American estimators: GBM against the finite-difference reference over the
exercise grid, Heston against the published values.

    python benchmarks/american_bias.py [--seeds 2] [--only gbm|heston]

GBM (policy from the solved exercise boundaries): the Longstaff–Schwartz puts (K = 40,
r = 6 %, σ = 20 %; S0 = 36, 40 and 44, T = 1, 1, 2) at 200,000 paths, error of price, delta
and vega against the finite-difference reference (greeks.models.gbm.american), in % and in
SEs, averaged over the seeds and the puts, for exercise grids of 50 … 504 dates a year
(extrapolated to continuous exercise).  Heston: the Clarke & Parrott puts (K = 10, T = 0.25,
S0 = 9 … 12) at 200,000 paths under the ADI solution's boundary
(greeks.models.heston.exercise_rule; the policy regressed on a pilot of 2^17 paths that it
replaced is in the results of before).  Writes
``benchmarks/results/american_bias.md`` (``american_bias_gbm.md``, ``american_bias_heston.md``
with ``--only``).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

import greeks
from greeks.models.gbm.american import american_fd

PUTS = [(36.0, 1.0), (40.0, 1.0), (44.0, 2.0)]
CLARKE_PARROTT = [(9.0, 1.1076), (10.0, 0.5200), (11.0, 0.2138), (12.0, 0.0821)]
GREEKS = ("price", "delta", "vega")


def reference(spot, maturity):
    """(price, delta, vega) of the American put by the finite-difference reference (a CRR
    tree's vega by bumping σ oscillates by several per cent)."""
    fd = american_fd(spot, 40.0, maturity, 0.06, 0.0, 0.2, False)
    return fd.price, fd.delta, fd.vega


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
                 **({"fixings": int(fixings_per_year * t), "exercise_grid": "fixings"}
                    if fixings_per_year else {}))
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
    parser.add_argument("--only", choices=("gbm", "heston"))
    args = parser.parse_args()
    lines = []
    for per_year in (50, 126, None, 504) if args.only != "heston" else ():
        lines.append({"study": "GBM, exercise dates a year", "setting": per_year or "252",
                      **gbm_errors(args.seeds, per_year)})
        print(lines[-1], flush=True)
    if args.only != "gbm":
        lines.append({"study": "Heston, policy", "setting": "ADI boundary",
                      **heston_errors(args.seeds)})
        print(lines[-1], flush=True)
    table = pd.DataFrame(lines)
    name = f"american_bias_{args.only}.md" if args.only else "american_bias.md"
    out = os.path.join(os.path.dirname(__file__), "results", name)
    with open(out, "w") as handle:
        handle.write(f"# benchmarks/american_bias.py\n\nload {os.getloadavg()[0]:.2f}, "
                     f"{time.strftime('%Y-%m-%d %H:%M')}, {args.seeds} seeds, 200,000 paths; "
                     "error against the finite-difference reference (GBM) or the published values "
                     "(Heston), in % of the reference and in the estimates' SEs (mean over "
                     "seeds and rows; max |…| and rms over them)\n\n")
        handle.write(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        handle.write("\n")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
