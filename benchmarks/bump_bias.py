"""The bias of one-step and extrapolated central differences against their standard error.

    python benchmarks/bump_bias.py [--paths 50000] [--threads T]
                                   [--output benchmarks/results/bump_bias.md]

The central difference (V(σ0 + h) − V(σ0 − h))/(2h) of the conditional values on common
random numbers has the expectation of the same difference of the chain's value, so its
bias is, up to the discretisation's, that of the semi-analytic value:

    bias(h) = (V(σ0 + h) − V(σ0 − h))/(2h) − ∂V/∂σ0,   V from
    :mod:`greeks.models.heston.analytic` at v0 = (σ0 ± h)²,

O(h²).  The per-path spread sd of the finite-difference vega is measured by one ``--method
fd`` run of ``--paths`` paths (SE · sqrt(paths)); the bias reaches 0.3 standard errors at
N = (0.3 sd / |bias|)² paths, for the one-step difference and for the extrapolation
from steps h and 2h (:func:`greeks.pathwise.extrapolated`, what the engine takes), of σ0
by h = 0.002 and of the spot by h = 0.005·S0.  Rows: the 120 random european and digital
rows of ``benchmarks/heston_random.py`` (seeds 5, 11, 23) and the published cases of
``benchmarks/heston_bias.py``.
"""

from __future__ import annotations

import argparse
import datetime
import math
from pathlib import Path

import numpy as np
import pandas as pd
from heston_bias import PARAMETERS, cases
from heston_random import random_rows

import greeks
from greeks import pathwise
from greeks.models.heston.analytic import heston_digital, heston_greeks

RESULTS = Path(__file__).resolve().parent / "results" / "bump_bias.md"


def value(row, v0: float, spot: float) -> tuple:
    pricer = heston_digital if row.instrument == "digital" else heston_greeks
    return pricer(row.option_type, spot=spot, strike=row.strike, maturity=row.maturity,
                  rate=row.rate, v0=v0, kappa=row.kappa, theta=row.theta, xi=row.xi,
                  rho=row.rho, dividend=row.dividend)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    published = [dict(id=r["case"], instrument="european", option_type=r["option_type"],
                      strike=float(r["strike"]), model="heston",
                      **{p: float(r[p]) for p in PARAMETERS})
                 for rows in cases().values() for r in rows]
    frame = pd.concat([random_rows(s, 40) for s in (5, 11, 23)] + [pd.DataFrame(published)],
                      ignore_index=True)
    run = greeks.price_portfolio(frame, paths=args.paths, seed=1, method="fd",
                                 threads=args.threads)
    records = []
    for i, row in enumerate(frame.itertuples(index=False)):
        sigma0 = math.sqrt(row.v0)
        exact = value(row, row.v0, row.spot)
        h = min(pathwise.HESTON_VOL_BUMP, sigma0 / 4)
        vols = [value(row, (sigma0 + k * h) ** 2, row.spot)[0] for k in (1, -1, 2, -2)]
        vega = (vols[0] - vols[1]) / (2 * h)
        vega_extrapolated = pathwise.extrapolated(*vols, h)
        step = pathwise.SPOT_BUMP * row.spot
        spots = [value(row, row.v0, row.spot + k * step)[0] for k in (1, -1, 2, -2)]
        one_step = (spots[0] - spots[1]) / (2 * step)
        extrapolated = pathwise.extrapolated(*spots, step)
        sd_vega = run["vega_se"].iat[i] * math.sqrt(args.paths)
        sd_delta = run["delta_se"].iat[i] * math.sqrt(args.paths)
        records.append(dict(
            id=row.id, instrument=row.instrument, xi=row.xi, v0=row.v0,
            vega_bias=vega - exact[2], vega_sd=sd_vega,
            n_vega=(0.3 * sd_vega / abs(vega - exact[2])) ** 2,
            n_vega_extrapolated=(0.3 * sd_vega / max(abs(vega_extrapolated - exact[2]), 1e-300))
            ** 2,
            delta_bias=one_step - exact[1],
            n_delta=(0.3 * sd_delta / abs(one_step - exact[1])) ** 2,
            n_delta_extrapolated=(0.3 * sd_delta / max(abs(extrapolated - exact[1]), 1e-300))
            ** 2))
    table = pd.DataFrame(records)
    quantiles = (0.0, 0.01, 0.05, 0.5)
    lines = [(f"# Central-difference bias against the standard error "
              f"({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)"), "",
             (f"`benchmarks/bump_bias.py --paths {args.paths}`: {len(table)} rows; N = the path "
              "count at which |bias| = 0.3 SE (smaller N: the bias matters sooner)."), "",
             "| difference | smallest N | 1 % quantile | 5 % quantile | median |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for label, column in [("σ0 ± 0.002, one step", "n_vega"),
                          ("σ0 ± 0.002, σ0 ± 0.004, extrapolated", "n_vega_extrapolated"),
                          ("S0(1 ± 0.005), one step", "n_delta"),
                          ("S0(1 ± 0.005), S0(1 ± 0.01), extrapolated",
                           "n_delta_extrapolated")]:
        values = np.quantile(table[column], quantiles)
        lines.append(f"| {label} | " + " | ".join(f"{v:.3g}" for v in values) + " |")
    lines += ["", "Rows where the one-step σ0 bias matters soonest:", "",
              "| id | instrument | ξ | v0 | vega bias | per-path sd | N |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in table.sort_values("n_vega").head(6).itertuples(index=False):
        lines.append(f"| {r.id} | {r.instrument} | {r.xi:g} | {r.v0:g} | {r.vega_bias:.3g} | "
                     f"{r.vega_sd:.3g} | {r.n_vega:.3g} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
