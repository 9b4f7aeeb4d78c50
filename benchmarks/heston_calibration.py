"""Bias or short standard errors? Random Heston rows priced over many seeds.

    python benchmarks/heston_calibration.py [--per-kind 24] [--paths 200000] [--seeds 24]
                                            [--first-seed 1000] [--only fails|holds]
                                            [--grid-factor F] [--raw FILE.csv]
                                            [--report-only] [--output FILE.md]

The rows are fixed before any result is seen: the first ``--per-kind`` european and the first
``--per-kind`` digital rows, in seed order, of ``heston_random.random_rows(s, 8)`` over the
draws s of the 2·10⁶-path runs (5, 11, 23, 31, 37, 41, ... 79).  They are priced together in
one file by ``greeks.price_portfolio`` with every default (QE, automatic grid, ``auto``
estimators) at ``--paths`` paths, once for each of ``--seeds`` consecutive seeds, one thread;
each seed's estimates and SEs are appended to ``--raw`` (a rerun skips the seeds already
there; ``--report-only`` reports from it).  ``--only fails`` (``holds``) keeps the rows
where Feller's condition fails (holds); ``--grid-factor F`` prices each row on an explicit
grid of F times its automatic steps (:func:`automatic_steps`), to locate a bias in the grid.

Per row and Greek, over the k seeds: the mean m, the reported SE's mean s̄, the spread d (the
standard deviation of the estimates) and, against the semi-analytic reference,

    z̄ = (m − ref)/(s̄/√k)   (standard normal if unbiased and the SE right),
    t = (m − ref)/(d/√k)    (Student-t with k − 1 degrees of freedom if unbiased, whatever
                             the SE),
    ratio = d/s̄            (1 if the SE is right; sampling error about 1/√(2(k − 1))).

Pooled over R rows: rms z̄ (1 ± 1/√(2R) if unbiased and the SE right); rms t (√((k−1)/(k−3))
if unbiased); the SE ratio √mean(d²/s̄²) (1 ± 1/√(2R(k − 1)) for normal estimates); the mean
of t (0 ± √((k−1)/(k−3)/R): a common sign of bias); the rows' bias in SEs of one run, its
root mean square with the mean's own noise d²/k taken out, √max(0, mean(((m − ref)² − d²/k)/s̄²));
and the root mean square of the single runs' z = (estimate − ref)/SE over rows and seeds (what
``heston_random.py`` reports: bias, SE error and the SE's own noise together; 1 ± 1/√(2Rk)).
Split by instrument, type, Feller's condition (ξ² ≤ 2κθ) and the estimator of vega.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from heston_random import GREEKS, random_rows, reference
from machine import code_version, cpu_name

import greeks
from greeks.models.heston.adapter import MIN_STEPS, feller_steps, steps_per_year

HERE = Path(__file__).resolve().parent
DRAWS = (5, 11, 23, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79)


def chosen_rows(per_kind: int) -> pd.DataFrame:
    """The first ``per_kind`` european and digital rows of the draws, in draw order."""
    rows = pd.concat([random_rows(s, 8) for s in DRAWS], ignore_index=True)
    picked = pd.concat([rows[rows.instrument == kind].head(per_kind)
                        for kind in ("european", "digital")])
    return picked.sort_index().reset_index(drop=True)


def automatic_steps(row) -> float:
    """Steps a year of the row's automatic grid up to 200,000 paths, the Feller steps and the
    shortest maturities' included (:meth:`greeks.models.heston.adapter.Heston.grid_steps`)."""
    base = steps_per_year(row.xi, row.theta)
    least = max(min(MIN_STEPS, np.ceil(base)), feller_steps(row.kappa, row.theta, row.xi))
    return max(base, least / row.maturity)


def priced(rows: pd.DataFrame, seed: int, paths: int, grid_factor: float) -> pd.DataFrame:
    """The rows priced on the automatic grid, or with ``grid_factor`` on explicit grids of
    that many times each row's automatic steps (the rows of each grid a file of their own,
    on seed 1000·seed + its number)."""
    if not grid_factor:
        return greeks.price_portfolio(rows, seed=seed, paths=paths, threads=1)
    steps = np.array([np.ceil(grid_factor * automatic_steps(r))
                      for r in rows.itertuples(index=False)])
    parts = []
    for k, value in enumerate(np.unique(steps)):
        part = rows[steps == value]
        parts.append(greeks.price_portfolio(part, seed=1000 * seed + k, paths=paths, threads=1,
                                            steps_per_year=float(value)).set_index(part.index))
    return pd.concat(parts).loc[rows.index]


def run(rows: pd.DataFrame, paths: int, seeds: range, raw: Path, grid_factor: float) -> None:
    """Price the rows once per seed not yet in ``raw``, appending each seed's results."""
    done = set(pd.read_csv(raw).seed) if raw.exists() else set()
    for seed in seeds:
        if seed in done:
            continue
        out = priced(rows, seed, paths, grid_factor)
        frame = pd.DataFrame({"seed": seed, "id": rows.id,
                              **{c: out[c].to_numpy() for g in GREEKS
                                 for c in (g, f"{g}_se", f"method_{g}")}})
        frame.to_csv(raw, mode="a", header=not raw.exists(), index=False)
        print(f"seed {seed}: done", file=sys.stderr, flush=True)


def per_row(rows: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """Per row and Greek: k, mean error, mean SE, spread, z̄, t and the SE ratio."""
    refs = {row.id: reference(row) for row in rows.itertuples(index=False)}
    info = rows.set_index("id")
    records = []
    for rid, group in raw.groupby("id", sort=False):
        row = info.loc[rid]
        for k, g in enumerate(GREEKS):
            est, se = group[g].to_numpy(), group[f"{g}_se"].to_numpy()
            n = len(est)
            error, sbar, spread = est.mean() - refs[rid][k], se.mean(), est.std(ddof=1)
            records.append(dict(
                id=rid, greek=g, instrument=row.instrument, type=row.option_type,
                feller="holds" if row.xi ** 2 <= 2 * row.kappa * row.theta else "fails",
                vega_from=group.method_vega.mode().iat[0], k=n, error=error, se=sbar,
                spread=spread, z=error / (sbar / np.sqrt(n)), t=error / (spread / np.sqrt(n)),
                ratio=spread / sbar, ms_z1=np.mean(((est - refs[rid][k]) / se) ** 2)))
    return pd.DataFrame(records)


def pooled(table: pd.DataFrame) -> dict:
    """Pooled statistics of a set of rows of one Greek (see the module's docstring)."""
    r, k = len(table), int(table.k.min())
    ms_t = (k - 1) / (k - 3)
    excess = (table.error / table.se) ** 2 - (table.spread / table.se) ** 2 / table.k
    return dict(rows=r, rms_z=np.sqrt((table.z ** 2).mean()), rms_z_se=1 / np.sqrt(2 * r),
                rms_t=np.sqrt((table.t ** 2).mean()), rms_t_ref=np.sqrt(ms_t),
                mean_t=table.t.mean(), mean_t_se=np.sqrt(ms_t / r),
                ratio=np.sqrt((table.ratio ** 2).mean()),
                ratio_se=1 / np.sqrt(2 * r * (k - 1)),
                bias=np.sqrt(max(0.0, excess.mean())), rms_z1=np.sqrt(table.ms_z1.mean()),
                rms_z1_se=1 / np.sqrt(2 * r * k))


POOLED_HEAD = ["| Greek | rows | rms z̄ | rms t | mean t | SE ratio | bias (SE of one run) | "
               "rms z of single runs |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]


def pooled_line(label: str, p: dict) -> str:
    return (f"| {label} | {p['rows']} | {p['rms_z']:.2f} ± {p['rms_z_se']:.2f} | "
            f"{p['rms_t']:.2f} ({p['rms_t_ref']:.2f}) | {p['mean_t']:+.2f} ± "
            f"{p['mean_t_se']:.2f} | {p['ratio']:.3f} ± {p['ratio_se']:.3f} | "
            f"{p['bias']:.2f} | {p['rms_z1']:.2f} ± {p['rms_z1_se']:.2f} |")


def report(table: pd.DataFrame, args, rows: pd.DataFrame) -> str:
    k = int(table.k.min())
    lines = [f"## {args.paths:,} paths, {k} seeds", "",
             f"`benchmarks/heston_calibration.py --per-kind {args.per_kind} --paths "
             f"{args.paths} --seeds {args.seeds} --first-seed {args.first_seed}"
             + (f" --only {args.only}" if args.only else "")
             + (f" --grid-factor {args.grid_factor:g}" if args.grid_factor else "") + "` "
             f"({datetime.date.today()}, code {code_version()}, {cpu_name()}, one thread); "
             f"{len(rows)} rows, seeds "
             f"{args.first_seed}–{args.first_seed + args.seeds - 1}. In parentheses after "
             "rms t: its value if unbiased; ± the sampling error if unbiased and the SE right.",
             "", "Pooled:", "", *POOLED_HEAD]
    for g in GREEKS:
        lines.append(pooled_line(g, pooled(table[table.greek == g])))
    for column in ("instrument", "type", "feller", "vega_from"):
        lines += ["", f"By {column}:", "", *POOLED_HEAD]
        for g in GREEKS:
            for value, part in table[table.greek == g].groupby(column):
                lines.append(pooled_line(f"{g}, {value}", pooled(part)))
    lines += ["", "Per row (z̄, t and the SE ratio d/s̄ for price, delta, vega):", "",
              "| id | instrument | type | Feller | vega from | z̄ price | z̄ delta | z̄ vega | "
              "t price | t delta | t vega | ratio price | ratio delta | ratio vega |",
              "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
              "| ---: | ---: |"]
    wide = table.pivot(index="id", columns="greek")
    for rid in table.id.unique():
        w = wide.loc[rid]
        first = table[table.id == rid].iloc[0]
        lines.append(f"| {rid} | {first.instrument} | {first.type} | {first.feller} | "
                     f"{first.vega_from} | "
                     + " | ".join(f"{w[('z', g)]:+.2f}" for g in GREEKS) + " | "
                     + " | ".join(f"{w[('t', g)]:+.2f}" for g in GREEKS) + " | "
                     + " | ".join(f"{w[('ratio', g)]:.2f}" for g in GREEKS) + " |")
    return "\n".join(lines) + "\n"


def differences(table: pd.DataFrame, other: pd.DataFrame, name: Path) -> str:
    """Per Greek, over the rows: the difference of each row's mean from that of another run
    (another grid) in units of its SE from both spreads, t = (m − m')/√(d²/k + d'²/k'),
    its root mean square (1 if the two runs share their expectation) and its mean."""
    both = table.merge(other, on=("id", "greek"), suffixes=("", "_other"))
    both["t_diff"] = (both.error - both.error_other) / np.sqrt(
        both.spread ** 2 / both.k + both.spread_other ** 2 / both.k_other)
    lines = ["", f"Against `{name.name}` ({other.id.nunique()} rows, {int(other.k.min())} "
             "seeds there), t = (m − m')/√(d²/k + d'²/k'):", "",
             "| Greek | rows | rms t | mean t | mean error − mean error there, in mean SE |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for g in GREEKS:
        part = both[both.greek == g]
        shift = ((part.error - part.error_other) / part.se).mean()
        lines.append(f"| {g} | {len(part)} | {np.sqrt((part.t_diff ** 2).mean()):.2f} ± "
                     f"{1 / np.sqrt(2 * len(part)):.2f} | {part.t_diff.mean():+.2f} ± "
                     f"{1 / np.sqrt(len(part)):.2f} | {shift:+.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=24)
    parser.add_argument("--paths", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, default=24)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--only", choices=("fails", "holds"), default=None,
                        help="the rows where Feller's condition fails (holds) only")
    parser.add_argument("--grid-factor", type=float, default=0.0,
                        help="explicit grids of this many times each row's automatic steps")
    parser.add_argument("--raw", type=Path, default=None,
                        help="default: results/heston_calibration_raw_<paths>[_<only>_<F>].csv")
    parser.add_argument("--against", type=Path, default=None,
                        help="another run's raw file (the same rows): the per-row differences")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--output", type=Path, default=None, help="default: print only")
    args = parser.parse_args()
    tag = (f"_{args.only}" if args.only else "") + (
        f"_{args.grid_factor:g}" if args.grid_factor else "")
    raw = args.raw or HERE / "results" / f"heston_calibration_raw_{args.paths}{tag}.csv"
    rows = chosen_rows(args.per_kind)
    if args.only:
        fails = rows.xi ** 2 > 2 * rows.kappa * rows.theta
        rows = rows[fails if args.only == "fails" else ~fails].reset_index(drop=True)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if not args.report_only:
        run(rows, args.paths, seeds, raw, args.grid_factor)
    results = pd.read_csv(raw)
    chosen = results[results.seed.isin(seeds) & results.id.isin(rows.id)]
    table = per_row(rows, chosen)
    text = report(table, args, rows)
    if args.against:
        other = pd.read_csv(args.against)
        text += differences(table, per_row(rows, other[other.id.isin(rows.id)]), args.against)
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
