"""Random Heston european and digital rows at the default settings against the
semi-analytic values, in units of the reported standard errors.

    python benchmarks/heston_random.py [--rows 40] [--seeds 5,11,23] [--paths 200000]
                                       [--threads T]
                                       [--output benchmarks/results/heston_random.md]

For each seed, ``--rows`` rows with parameters drawn uniformly (S0 50–150, K/S0 0.75–1.3,
T 0.1–3 years, r 0–8 %, q 0–3 %, v0 0.005–0.2, κ 0.3–5, θ 0.01–0.2, ξ 0.1–1.2,
ρ −0.95–0.5; Feller's condition is violated in most draws) are priced in one file by
``greeks.price_portfolio`` with every default (QE, automatic steps, ``auto`` estimators,
the same seed) at ``--paths`` paths (default 200,000; the automatic grid refines beyond
200,000, :func:`greeks.models.heston.adapter.steps_per_year`), and
z = (estimate − reference)/SE is computed for price,
delta and vega against :mod:`greeks.models.heston.analytic`.  If the standard errors are right
and the discretisation bias is small against them, z is close to standard normal: the
root mean square near 1 and the largest |z| of 3 × rows values near the normal maximum
(about 3.3 for 360 values).  Prints and writes a markdown summary and the worst rows.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import greeks
from greeks.models.heston.adapter import steps_per_year as heston_steps_per_year
from greeks.models.heston.analytic import heston_digital, heston_greeks

RESULTS = Path(__file__).resolve().parent / "results" / "heston_random.md"
GREEKS = ("price", "delta", "vega")


def random_rows(seed: int, count: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        spot = rng.uniform(50, 150)
        rows.append(dict(
            id=f"s{seed}-{i}", instrument=rng.choice(["european", "digital"]),
            option_type=rng.choice(["call", "put"]),
            strike=round(spot * rng.uniform(0.75, 1.3), 2), maturity=round(rng.uniform(0.1, 3), 3),
            spot=round(spot, 2), rate=round(rng.uniform(0, 0.08), 4),
            dividend=round(rng.uniform(0, 0.03), 4), model="heston",
            v0=round(rng.uniform(0.005, 0.2), 4), kappa=round(rng.uniform(0.3, 5), 3),
            theta=round(rng.uniform(0.01, 0.2), 4), xi=round(rng.uniform(0.1, 1.2), 3),
            rho=round(rng.uniform(-0.95, 0.5), 3)))
    return pd.DataFrame(rows)


def reference(row) -> tuple[float, float, float]:
    args = dict(spot=row.spot, strike=row.strike, maturity=row.maturity, rate=row.rate,
                v0=row.v0, kappa=row.kappa, theta=row.theta, xi=row.xi, rho=row.rho,
                dividend=row.dividend)
    if row.instrument == "digital":
        return tuple(heston_digital(row.option_type, **args))
    return tuple(heston_greeks(row.option_type, **args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--seeds", default="5,11,23")
    parser.add_argument("--paths", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=None, help="default: all usable cores")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    records = []
    for seed in (int(s) for s in args.seeds.split(",")):
        frame = random_rows(seed, args.rows)
        results = greeks.price_portfolio(frame, seed=seed, paths=args.paths,
                                         threads=args.threads)
        for i, row in enumerate(frame.itertuples(index=False)):
            exact = reference(row)
            z = [(results[g].iat[i] - exact[k]) / results[f"{g}_se"].iat[i]
                 for k, g in enumerate(GREEKS)]
            records.append(dict(id=row.id, instrument=row.instrument, type=row.option_type,
                                xi=row.xi, theta=row.theta, kappa=row.kappa,
                                steps=heston_steps_per_year(row.xi, row.theta,
                                                            paths=args.paths),
                                **{f"z_{g}": z[k] for k, g in enumerate(GREEKS)},
                                **{f"method_{g}": results[f"method_{g}"].iat[i]
                                   for g in GREEKS}))
        print(f"seed {seed}: done", file=sys.stderr)
    table = pd.DataFrame(records)
    z = table[[f"z_{g}" for g in GREEKS]].to_numpy()
    lines = [f"# Random Heston rows against the semi-analytic values "
             f"({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)", "",
             f"`benchmarks/heston_random.py --rows {args.rows} --seeds {args.seeds} "
             f"--paths {args.paths}`: {len(table)} rows, default settings (QE, automatic "
             f"steps, auto estimators), {args.paths:,} paths; "
             "z = (estimate − reference)/SE.", "",
             "| | price | delta | vega |", "| --- | ---: | ---: | ---: |",
             "| root mean square of z | " + " | ".join(f"{v:.2f}" for v in
                                                  np.sqrt((z ** 2).mean(axis=0))) + " |",
             "| largest abs(z) | " + " | ".join(f"{v:.2f}" for v in np.abs(z).max(axis=0)) + " |",
             "| share with abs(z) > 2 | " + " | ".join(f"{v:.1%}" for v in
                                                  (np.abs(z) > 2).mean(axis=0)) + " |",
             "", "Rows with the largest abs(z):", "",
             "| id | instrument | type | ξ | θ | κ | steps/yr | z price | z delta | z vega | "
             "vega from |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    worst = table.assign(m=np.abs(z).max(axis=1)).sort_values("m", ascending=False).head(8)
    for r in worst.itertuples(index=False):
        lines.append(f"| {r.id} | {r.instrument} | {r.type} | {r.xi:g} | {r.theta:g} | "
                     f"{r.kappa:g} | {r.steps:g} | {r.z_price:+.2f} | {r.z_delta:+.2f} | "
                     f"{r.z_vega:+.2f} | {r.method_vega} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
