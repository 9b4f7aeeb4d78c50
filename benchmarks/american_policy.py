"""Bias of the regressed exercise policy (``--policy regression``) beside the solved one.

    python benchmarks/american_policy.py [--seeds 2] [--paths 200000] [--only gbm|heston]
                                         [--short]

Two American puts: Longstaff & Schwartz's (S0 = 36, K = 40, r = 6 %, σ = 20 %, T = 1; GBM)
against the finite-difference reference (greeks.models.gbm.american), and Clarke &
Parrott's (S0 = 10, K = 10, T = 0.25, r = 10 %, v0 = 0.0625, κ = 5, θ = 0.16, ξ = 0.9,
ρ = 0.1; Heston) against the ADI solution (greeks.models.heston.american).  Each setting
prices the put on the same main paths (seeds 0, 1, …) with the solved policy or the
regressed one (greeks.exercise_regression), varying one thing at a time from the default
(basis of 5 functions, 2^17 pilot paths, daily exercise grid): the basis size (3: 1, x, x²;
4: with x³; 5: with the European value; under Heston each with u, u·x, u²), the pilot paths
(2^14 … 2^18) and the exercise grid (monthly, weekly, daily dates, extrapolated to
continuous exercise as every american row is; the solved policy on each grid beside it).
The error of price, delta and vega in % of the reference and in the estimate's SE (mean
over the seeds), and the wall time per run (pilot, fit and main run; median over the seeds)
with its ratio to the solved policy's on the same grid.  Writes
``benchmarks/results/american_policy.md``; ``--short`` runs only the daily grid's solved
policy and the default basis at pilots of 2^15 and 2^16 paths (``american_policy_short.md``).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from greeks import engine
from greeks.api import load
from greeks.models.gbm.american import american_fd
from greeks.models.heston.american import heston_american_put
from greeks.names import ExercisePolicy

GBM = dict(id="LS36", instrument="american", option_type="put", strike=40.0, maturity=1.0,
           spot=36.0, rate=0.06, model="gbm", vol=0.2)
HESTON = dict(id="CP10", instrument="american", option_type="put", strike=10.0,
              maturity=0.25, spot=10.0, rate=0.1, model="heston", v0=0.0625, kappa=5.0,
              theta=0.16, xi=0.9, rho=0.1)
GREEKS = ("price", "delta", "vega")
GRIDS = {"monthly": 12, "weekly": 52, "daily": 252}  # dates a year
DEFAULT = dict(basis=5, pilot=1 << 17, grid="daily")


def references() -> dict:
    """(price, delta, vega) of each put by its finite-difference reference."""
    fd = american_fd(GBM["spot"], GBM["strike"], GBM["maturity"], GBM["rate"], 0.0,
                     GBM["vol"], False)
    law = {key: HESTON[key] for key in ("strike", "maturity", "rate", "v0", "kappa", "theta",
                                        "xi", "rho")}
    adi = heston_american_put(np.array([HESTON["spot"]]), **law, dividend=0.0)
    return {"gbm": (fd.price, fd.delta, fd.vega),
            "heston": (float(adi.price[0]), float(adi.delta[0]), float(adi.vega[0]))}


def settings(short: bool = False) -> list[dict]:
    """The solved policy on each grid, then the regression varied one thing at a time (with
    ``short`` the daily solved policy and the pilots 2^15, 2^16 only)."""
    if short:
        return [dict(policy="solved", basis=None, pilot=None, grid="daily")] + [
            dict(DEFAULT, policy="regression", pilot=1 << e) for e in (15, 16)]
    out = [dict(policy="solved", basis=None, pilot=None, grid=grid) for grid in GRIDS]
    out += [dict(DEFAULT, policy="regression", basis=b) for b in (3, 4, 5)]
    out += [dict(DEFAULT, policy="regression", pilot=1 << e) for e in (14, 15, 16, 18)]
    out += [dict(DEFAULT, policy="regression", grid=grid) for grid in ("monthly", "weekly")]
    return out


def run(row: dict, setting: dict, paths: int, seed: int):
    """(estimates of price, delta, vega; their SEs; seconds) of one run."""
    fixings = max(1, round(GRIDS[setting["grid"]] * row["maturity"]))
    frame = load(pd.DataFrame([dict(row, fixings=fixings, exercise_grid="fixings")]))
    policy = (ExercisePolicy() if setting["policy"] == "solved"
              else ExercisePolicy("regression", setting["pilot"], setting["basis"]))
    start = time.perf_counter()
    estimates = engine.simulate(frame, paths, seed, threads=2, policy=policy)
    return estimates.mean[0, :3], estimates.se[0, :3], time.perf_counter() - start


def study(model: str, reference, seeds: int, paths: int, short: bool) -> list[dict]:
    row = GBM if model == "gbm" else HESTON
    for setting in (settings()[0], dict(DEFAULT, policy="regression", pilot=1 << 10)):
        run(row, setting, 2000, 0)  # compile, load the kernels
    lines, solved_time = [], {}
    for setting in settings(short):
        errors, zs, times = [], [], []
        for seed in range(seeds):
            mean, se, seconds = run(row, setting, paths, seed)
            ref = np.array(reference)
            errors.append((mean - ref) / np.abs(ref) * 100)
            zs.append((mean - ref) / se)
            times.append(seconds)
        seconds = float(np.median(times))
        if setting["policy"] == "solved":
            solved_time[setting["grid"]] = seconds
        line = {"put": row["id"], "policy": setting["policy"],
                "basis": setting["basis"] or "", "pilot": f"2^{int(np.log2(setting['pilot']))}"
                if setting["pilot"] else "", "grid": setting["grid"]}
        for k, g in enumerate(GREEKS):
            line[f"{g} %"] = np.mean([e[k] for e in errors])
            line[f"{g} z"] = np.mean([z[k] for z in zs])
        line["s/run"] = seconds
        line["× solved"] = seconds / solved_time[setting["grid"]]
        lines.append(line)
        print(line, flush=True)
    return lines


def markdown(table: pd.DataFrame) -> str:
    """``table`` as a markdown table, numbers to two decimals."""
    cells = [[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row]
             for row in table.itertuples(index=False)]
    lines = [list(table.columns), ["---"] * table.shape[1]] + cells
    return "".join("| " + " | ".join(line) + " |\n" for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--paths", type=int, default=200_000)
    parser.add_argument("--only", choices=("gbm", "heston"))
    parser.add_argument("--short", action="store_true")
    args = parser.parse_args()
    refs = references()
    lines = []
    for model in ("gbm", "heston"):
        if args.only in (None, model):
            lines += study(model, refs[model], args.seeds, args.paths, args.short)
    table = pd.DataFrame(lines)
    name = "american_policy" + (f"_{args.only}" if args.only else "") + (
        "_short" if args.short else "") + ".md"
    out = os.path.join(os.path.dirname(__file__), "results", name)
    with open(out, "w") as handle:
        handle.write(
            f"# benchmarks/american_policy.py\n\nload {os.getloadavg()[0]:.2f}, "
            f"{time.strftime('%Y-%m-%d %H:%M')}, {args.seeds} seeds, {args.paths:,} paths, "
            "2 threads; references: LS36 finite differences (price "
            f"{refs['gbm'][0]:.5f}, delta {refs['gbm'][1]:.5f}, vega {refs['gbm'][2]:.4f}), "
            f"CP10 ADI (price {refs['heston'][0]:.5f}, delta {refs['heston'][1]:.5f}, "
            f"vega {refs['heston'][2]:.4f}); error in % of the reference and in the run's SE "
            "(mean over seeds), time per run (median) and its ratio to the solved policy's "
            "on the same grid\n\n")
        handle.write(markdown(table))
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
