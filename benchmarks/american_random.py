"""Random american and bermudan rows against independent finite-difference references, in
units of the engine's own standard errors.

    python benchmarks/american_random.py [--rows 32] [--draw 2026] [--seeds 1-4]
                                         [--paths 200000,20000] [--reorder-paths 20000]
                                         [--threads T]
                                         [--references FILE] [--csv FILE]
                                         [--output benchmarks/results/american_random.md]

``--rows`` rows are drawn with a fixed generator (``--draw``): GBM and Heston, american and
bermudan (2–12 equally spaced dates), calls and puts, S0/K 0.7–1.3, 30–730 days, rates and
yields 0–8 %, vols 10–60 %, Heston v0 0.01–0.36, κ 0.5–5, θ 0.01–0.25, ξ 0.1–1, ρ −0.9–0.5.
Half are flat rows (``rate``, ``dividend``, ``vol``); half are positions on one underlying
each of a random market file: a zero curve (3–4 nodes, forwards 0–8 %), a flat yield or a
yield curve, under GBM a vol term structure, and 0–2 cash or proportional dividends.

References, independent of the engine's Monte Carlo:

- QuantLib 1.44 (a benchmark-only dependency; ``benchmarks/quantlib_check.py``'s market
  construction): ``FdBlackScholesVanillaEngine`` (Douglas, 2,000 log-spot nodes, 2,000 steps
  a year) and ``FdHestonVanillaEngine`` (Hundsdorfer, 300 × 120 nodes, 300 steps a year),
  American or Bermudan exercise, cash dividends as its ``DividendVector``; delta and gamma
  the grid's, vega the central difference at σ ± 0.001 (Heston √v0 ± 0.001; off a market a
  parallel shift of the vol nodes), rho at a parallel zero-rate shift ± 0.001, theta per
  day: flat rows the central difference of the valuation date ± 1 day (the engine's theta
  is the instantaneous one), rows off a market the value a day later (nodes, yields, vols
  and ex-dates kept) less today's, as the engine defines it there. QuantLib's finite
  difference engines take no proportional dividends: rows with one have no QuantLib value,
  nor Heston rows whose v0 its variance mesh misses (fast mean reversion to a low θ).
- greeks' own solvers (``greeks.analytic_prices``: Crank–Nicolson under GBM, Douglas ADI
  under Heston, flat or on the market's curves and dividends): price, delta, vega.

z = (estimate − reference)/SE against QuantLib where it has a value, else the own solver.
For each path count, every seed: rms z, the share within 2 SE, the largest |z|; per row and
Greek z̄ = (mean − ref)/(mean SE/√n) over the n seeds (a bias), and the SE ratio, the seeds'
spread over the mean SE (pooled over the rows as √mean(spread²/SE²); also apart for the rows
that ``auto`` put on antithetic pairs and on single paths, ``method_price``).  The rows are also
priced in a shuffled order: the numbers must be bit-identical (``--reorder-paths`` paths,
the first seed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import code_version, cpu_name, load_average  # noqa: E402
from quantlib_check import Grid, Setup, _npv, _option, _vols, _write, _zeros, parse_seeds  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "american_random.md"
GREEKS = ("price", "delta", "vega", "gamma", "rho_rate", "theta_per_day")
OWN = ("price", "delta", "vega")
VALUATION = dt.date(2027, 1, 4)
GRID = Grid(20, 1.5)
YEAR = 365.0


def _day(days: int) -> str:
    return (VALUATION + dt.timedelta(days=int(days))).isoformat()


def _heston(rng) -> dict:
    return {"v0": round(float(rng.uniform(0.1, 0.6)) ** 2, 4),
            "kappa": round(float(rng.uniform(0.5, 5.0)), 3),
            "theta": round(float(rng.uniform(0.01, 0.25)), 4),
            "xi": round(float(rng.uniform(0.1, 1.0)), 3),
            "rho": round(float(rng.uniform(-0.9, 0.5)), 3)}


def _dates(rng, instrument: str) -> tuple[int, list[int] | None]:
    """Days to expiry and a bermudan's exercise days (equally spaced, the last at expiry)."""
    days = int(rng.integers(30, 731))
    if instrument == "american":
        return days, None
    count = int(rng.integers(2, 13))
    step = max(days // count, 5)
    return step * count, [step * (k + 1) for k in range(count)]


def draw(seed: int, count: int) -> tuple[list[dict], dict]:
    """The rows (dicts with the QuantLib view: ``expiry``, ``fixing_dates``, ``underlying``)
    and the market file of the market rows."""
    rng = np.random.default_rng(seed)
    nodes = sorted(int(d) for d in rng.choice(np.arange(60, 800), int(rng.integers(3, 5)),
                                              replace=False))
    market = {"valuation_date": VALUATION.isoformat(),
              "curves": {"USD": {"dates": [_day(d) for d in nodes],
                                 "zero_rates": _zeros(rng, nodes, 0.0, 0.08)}},
              "underlyings": {}}
    rows = []
    for i in range(count):
        heston, on_market = i % 2 == 1, (i // 2) % 2 == 1
        instrument = str(rng.choice(["american", "bermudan"]))
        kind = str(rng.choice(["call", "put"]))
        days, exercise = _dates(rng, instrument)
        spot = 100.0
        strike = round(spot / float(rng.uniform(0.7, 1.3)), 2)
        name = f"U{i}"
        row = {"id": f"{'M' if on_market else 'F'}{'H' if heston else 'G'}{i}-"
                     f"{instrument[0].upper()}{kind[0].upper()}",
               "instrument": instrument, "option_type": kind, "strike": strike,
               "expiry": _day(days), "underlying": name, "days": days,
               "fixing_dates": ";".join(_day(d) for d in exercise) if exercise else None,
               "fixings": len(exercise) if exercise else None, "model": "heston" if heston
               else "gbm", "on_market": on_market}
        if on_market:
            und = {"spot": spot, "curve": "USD"}
            if rng.random() < 0.5:
                und["dividend_yield"] = round(float(rng.uniform(0.0, 0.08)), 4)
            else:
                ydays = sorted(int(d) for d in rng.choice(np.arange(40, 800), 2, replace=False))
                und["dividend_yield"] = {"dates": [_day(d) for d in ydays],
                                         "yields": _zeros(rng, ydays, 0.0, 0.08)}
            if heston:
                und["heston"] = _heston(rng)
            else:
                vdays = sorted(int(d) for d in rng.choice(np.arange(20, 800), 3, replace=False))
                und["vol"] = {"dates": [_day(d) for d in vdays],
                              "vols": _vols(rng, vdays, 0.10, 0.60)}
            dividends = []
            taken = set(exercise or ()) | {days}
            for _ in range(int(rng.integers(0, 3))):
                ex = int(rng.integers(5, days))
                if any(abs(ex - d) <= 1 for d in taken):
                    continue
                taken.add(ex)
                if rng.random() < 0.5:
                    dividends.append({"ex_date": _day(ex),
                                      "amount": round(spot * float(rng.uniform(0.005, 0.03)), 2)})
                else:
                    dividends.append({"ex_date": _day(ex),
                                      "yield": round(float(rng.uniform(0.005, 0.03)), 4)})
            if dividends:
                und["dividends"] = sorted(dividends, key=lambda d: d["ex_date"])
            market["underlyings"][name] = und
        else:
            row.update(spot=spot, rate=round(float(rng.uniform(0.0, 0.08)), 4),
                       dividend=round(float(rng.uniform(0.0, 0.08)), 4))
            if heston:
                row.update(_heston(rng))
            else:
                row["vol"] = round(float(rng.uniform(0.10, 0.60)), 4)
        rows.append(row)
    return rows, market


def flat_market(row: dict) -> dict:
    """A flat row as a one-underlying market file (QuantLib's view of it)."""
    und = {"spot": row["spot"], "curve": "F", "dividend_yield": row["dividend"]}
    if row["model"] == "heston":
        und["heston"] = {k: row[k] for k in ("v0", "kappa", "theta", "xi", "rho")}
    else:
        und["vol"] = row["vol"]
    return {"valuation_date": VALUATION.isoformat(), "curves": {"F": row["rate"]},
            "underlyings": {row["underlying"]: und}}


def positions(rows: list[dict], on_market: bool) -> pd.DataFrame:
    """greeks' instrument table of the flat rows, or the position table of the market rows."""
    out = []
    for r in (r for r in rows if r["on_market"] == on_market):
        base = {k: r[k] for k in ("id", "instrument", "option_type", "strike")}
        if on_market:
            base.update(expiry=r["expiry"], underlying=r["underlying"],
                        fixing_dates=r["fixing_dates"])
        else:
            base.update({k: r.get(k) for k in ("spot", "rate", "dividend", "model", "vol",
                                                "v0", "kappa", "theta", "xi", "rho")})
            base.update(maturity=r["days"] / YEAR, fixings=r["fixings"])
        out.append({**base, "quantity": 1})
    frame = pd.DataFrame(out)
    if not on_market:
        frame["fixings"] = frame["fixings"].astype("Int64")
    return frame


# ------------------------------------------------------------------------------ references

def quantlib_reference(row: dict, market: dict) -> dict:
    """QuantLib's price and Greeks of one row (module docstring); {} with a proportional
    dividend or where QuantLib fails."""
    if not row["on_market"]:
        market = flat_market(row)
    spec = market["underlyings"][row["underlying"]]
    if any("yield" in d for d in spec.get("dividends", [])):
        return {}
    heston = "heston" in spec
    option, _, _ = _option(row, Setup(market, row["underlying"]), GRID)
    try:
        out = {"price": option.NPV(), "delta": option.delta(), "gamma": option.gamma()}
    except RuntimeError as error:  # its Heston variance mesh can miss v0 (fast mean reversion)
        print(f"  {row['id']}: no QuantLib value ({error})", flush=True)
        return {}
    k = 1e-3
    key = "sigma0" if heston else "vol"
    out["vega"] = (_npv(row, market, GRID, **{key: k})
                   - _npv(row, market, GRID, **{key: -k})) / (2 * k)
    out["rho_rate"] = (_npv(row, market, GRID, rate=k) - _npv(row, market, GRID, rate=-k)) / (2 * k)
    if row["on_market"]:
        out["theta_per_day"] = _npv(row, market, GRID, day=1) - out["price"]
    else:
        out["theta_per_day"] = (_npv(row, market, GRID, day=1)
                                - _npv(row, market, GRID, day=-1)) / 2
    return out


def own_reference(rows: list[dict], market: dict) -> dict:
    """greeks' own finite-difference price, delta, vega of every row, by id."""
    import greeks

    out = {}
    for on_market in (False, True):
        frame = positions(rows, on_market)
        table = greeks.analytic_prices(frame, market=market if on_market else None)
        for r in table.itertuples(index=False):
            out[r.id] = {g: float(getattr(r, g)) for g in OWN}
    return out


def references(rows: list[dict], market: dict, cache: Path | None) -> pd.DataFrame:
    """Long table id, greek, quantlib, own (NaN where a source has no value), read from
    ``cache`` where it exists, else computed (and written there)."""
    if cache is not None and cache.exists():
        return pd.read_csv(cache)
    own = own_reference(rows, market)
    records = []
    for row in rows:
        start = time.perf_counter()
        ql_values = quantlib_reference(row, market)
        print(f"  {row['id']}: QuantLib {time.perf_counter() - start:.1f} s", flush=True)
        for greek in GREEKS:
            records.append({"id": row["id"], "greek": greek,
                            "quantlib": ql_values.get(greek, math.nan),
                            "own": own[row["id"]].get(greek, math.nan)})
    frame = pd.DataFrame(records)
    if cache is not None:
        frame.to_csv(cache, index=False)
    return frame


# ------------------------------------------------------------------------------ the engine

CRASHES: dict[str, str] = {}  # id: the error of a row the engine could not price


def _run(frame, market, paths, seed, threads) -> pd.DataFrame:
    """The engine on ``frame``; where it raises, row by row, a failing row's numbers NaN
    (and its error in CRASHES)."""
    import greeks

    def run(part):
        return greeks.price_portfolio(part, market=market, paths=paths, seed=seed,
                                      threads=threads, greeks="gamma,rho,theta")
    try:
        return run(frame)
    except Exception:  # noqa: BLE001 - a crash is a finding: isolate the rows
        tables = []
        for k in range(len(frame)):
            try:
                tables.append(run(frame.iloc[[k]]))
            except Exception as error:  # noqa: BLE001
                CRASHES[frame["id"].iat[k]] = f"{type(error).__name__}: {error}"
                tables.append(pd.DataFrame({"id": [frame["id"].iat[k]]}))
        return pd.concat(tables, ignore_index=True)


def price(rows, market, paths, seed, threads, order=None) -> pd.DataFrame:
    """The engine's estimates of every row (flat and market rows in two runs), by id."""
    tables = []
    for on_market in (False, True):
        frame = positions(rows, on_market)
        if order is not None:
            frame = frame.sample(frac=1.0, random_state=order).reset_index(drop=True)
        tables.append(_run(frame, market if on_market else None, paths, seed, threads))
    return pd.concat(tables).set_index("id")


def _variant(method) -> str:
    """``pairs`` or ``single``: the paths ``auto`` put the row's simulation on."""
    if not isinstance(method, str):
        return "none"
    return "pairs" if method.endswith("antithetic") else "single"


def estimates(rows, market, paths, seeds, threads) -> tuple[pd.DataFrame, dict]:
    records, seconds = [], {}
    for seed in seeds:
        start = time.perf_counter()
        table = price(rows, market, paths, seed, threads)
        seconds[seed] = time.perf_counter() - start
        print(f"  {paths:,} paths, seed {seed}: {seconds[seed]:.0f} s", flush=True)
        for rid, r in table.iterrows():
            for greek in GREEKS:
                records.append({"id": rid, "seed": seed, "paths": paths, "greek": greek,
                                "est": float(r.get(greek, math.nan)),
                                "se": float(r.get(f"{greek}_se", math.nan)),
                                "variant": _variant(r.get("method_price"))})
    return pd.DataFrame(records), seconds


def reorder_check(rows, market, paths, seed, threads) -> tuple[int, list[str]]:
    """Cells compared and the ids whose numbers differ when the rows are priced shuffled."""
    base = price(rows, market, paths, seed, threads)
    shuffled = price(rows, market, paths, seed, threads, order=12345).loc[base.index]
    numeric = [c for c in base.columns if pd.api.types.is_float_dtype(base[c])]
    a, b = base[numeric].to_numpy(), shuffled[numeric].to_numpy()
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return same.size, sorted(base.index[~same.all(axis=1)])


# ------------------------------------------------------------------------------ scoring

def scored(est: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    table = est.merge(ref, on=["id", "greek"])
    table["ref"] = table["quantlib"].where(table["quantlib"].notna(), table["own"])
    table["source"] = np.where(table["quantlib"].notna(), "QuantLib", "own")
    table["z"] = (table["est"] - table["ref"]) / table["se"]
    return table[table["ref"].notna() & table["est"].notna()]


def per_row(table: pd.DataFrame) -> pd.DataFrame:
    """Per path count, row and Greek: z̄ of the seeds' mean and the SE ratio."""
    out = []
    for (paths, rid, greek), g in table.groupby(["paths", "id", "greek"]):
        n = len(g)
        mean_se = g["se"].mean()
        variants = set(g["variant"])
        out.append({"paths": paths, "id": rid, "greek": greek, "ref": g["ref"].iat[0],
                    "variant": variants.pop() if len(variants) == 1 else "both",
                    "source": g["source"].iat[0], "mean": g["est"].mean(), "mean_se": mean_se,
                    "z_bar": (g["est"].mean() - g["ref"].iat[0]) / (mean_se / math.sqrt(n))
                    if mean_se > 0 else math.nan,
                    "spread2": g["est"].var(ddof=1) / mean_se ** 2 if mean_se > 0 else math.nan,
                    "z": ", ".join(f"{z:+.2f}" for z in g["z"])})
    return pd.DataFrame(out)


def _rms(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.sqrt(np.mean(values ** 2))) if values.size else math.nan


def summary(table: pd.DataFrame, rows_table: pd.DataFrame) -> list[str]:
    lines = ["| paths | greek | values | rms z | within 2 SE | max \\|z\\| | rms z̄ (seeds' mean) "
             "| SE ratio (pooled) |", "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for paths in sorted(table["paths"].unique(), reverse=True):
        for greek in GREEKS:
            g = table[(table["paths"] == paths) & (table["greek"] == greek)]
            r = rows_table[(rows_table["paths"] == paths) & (rows_table["greek"] == greek)]
            if g.empty:
                continue
            z = g["z"].to_numpy()
            lines.append(f"| {paths:,} | {greek} | {len(z)} | {_rms(z):.2f} | "
                         f"{np.mean(np.abs(z) <= 2):.0%} | {np.nanmax(np.abs(z)):.1f} | "
                         f"{_rms(r['z_bar']):.2f} | {math.sqrt(np.nanmean(r['spread2'])):.2f} |")
    return lines


def by_variant(rows_table: pd.DataFrame, seeds: int) -> list[str]:
    """The pooled SE ratio per Greek, rows on pairs and on single paths apart (a row whose
    simulation went on both over the seeds is ``both``; ``all`` together), without the rows
    whose estimates do not move over the seeds (their SEs the unseen-event floor), with its
    own relative sampling error: R rows of k seeds give about 1/√(2R(k − 1))."""
    lines = ["| paths | greek | variant | rows | SE ratio (pooled) | its relative SE |",
             "| ---: | --- | --- | ---: | ---: | ---: |"]
    for paths in sorted(rows_table["paths"].unique(), reverse=True):
        for greek in GREEKS:
            for variant in ("all", "pairs", "single", "both"):
                r = rows_table[(rows_table["paths"] == paths) & (rows_table["greek"] == greek)
                               & ((rows_table["variant"] == variant) | (variant == "all"))]
                r = r["spread2"][r["spread2"] > 0].dropna()
                if r.empty or seeds < 2:
                    continue
                lines.append(f"| {paths:,} | {greek} | {variant} | {len(r)} | "
                             f"{math.sqrt(r.mean()):.2f} | "
                             f"{1 / math.sqrt(2 * len(r) * (seeds - 1)):.2f} |")
    return lines


def disagreement(ref: pd.DataFrame, rows_table: pd.DataFrame) -> list[str]:
    """QuantLib against the own solver, in the 200,000-path SEs."""
    paths = rows_table["paths"].max()
    se = rows_table[rows_table["paths"] == paths].set_index(["id", "greek"])["mean_se"]
    both = ref[ref["quantlib"].notna() & ref["own"].notna()].copy()
    both["diff"] = both["own"] - both["quantlib"]
    both["in_se"] = [d / se.get((i, g), math.nan) for d, i, g in
                     zip(both["diff"], both["id"], both["greek"])]
    lines = ["| greek | rows | rms (own − QuantLib)/SE | max \\|·\\| | row |",
             "| --- | ---: | ---: | ---: | --- |"]
    for greek in OWN:
        g = both[both["greek"] == greek]
        if g.empty:
            continue
        worst = g.loc[g["in_se"].abs().idxmax()]
        lines.append(f"| {greek} | {len(g)} | {_rms(g['in_se']):.2f} | "
                     f"{abs(worst['in_se']):.1f} | {worst['id']} ({worst['own']:.6g} vs "
                     f"{worst['quantlib']:.6g}) |")
    return lines


def describe(rows, market) -> list[str]:
    lines = ["| id | model | S0/K | days | dates | carry | law |",
             "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        if r["on_market"]:
            u = market["underlyings"][r["underlying"]]
            y = u["dividend_yield"]
            carry = "curve" + (f", q {y}" if isinstance(y, float) else ", q curve")
            for d in u.get("dividends", []):
                carry += (f", cash {d['amount']} on {d['ex_date']}" if "amount" in d
                          else f", {d['yield']:.2%} on {d['ex_date']}")
            law = u.get("heston") or {"vols": u["vol"]["vols"]}
        else:
            carry = f"r {r['rate']}, q {r['dividend']}"
            law = ({k: r[k] for k in ("v0", "kappa", "theta", "xi", "rho")}
                   if r["model"] == "heston" else {"vol": r["vol"]})
        law = ", ".join(f"{k} {v}" for k, v in law.items())
        lines.append(f"| {r['id']} | {r['model']} | {100.0 / r['strike']:.3f} | {r['days']} | "
                     f"{r['fixings'] or 'daily'} | {carry} | {law} |")
    return lines


def report(args, rows, market, table, rows_table, ref, timing, reorder) -> str:
    worst = rows_table.assign(abs_z=rows_table["z_bar"].abs()).sort_values(
        "abs_z", ascending=False)
    lines = ["# Random american and bermudan rows against finite-difference references", "",
             f"`python benchmarks/american_random.py {' '.join(sys.argv[1:])}`", "",
             f"- date: {dt.datetime.now().isoformat(timespec='seconds')}; machine: {cpu_name()}, "
             f"load average {load_average()}; code {code_version()}",
             f"- {len(rows)} rows drawn with `--draw {args.draw}`; seeds {args.seeds}; "
             f"paths {args.paths}; `greeks gamma,rho,theta`",
             "- engine seconds: " + "; ".join(
                 f"{p:,} paths " + ", ".join(f"{s:.0f}" for s in t.values())
                 for p, t in timing.items()),
             f"- rows shuffled (seed {min(parse_seeds(args.seeds))}, "
             f"{args.reorder_paths:,} paths): {reorder[0]:,} numbers compared, "
             + ("all bit-identical" if not reorder[1] else
                "different: " + ", ".join(reorder[1])),
             "- crashes: " + ("none" if not CRASHES else "; ".join(
                 f"{k}: {v}" for k, v in sorted(CRASHES.items()))),
             "", "z = (estimate − reference)/SE, the reference QuantLib's where it has one "
             "(not with a proportional dividend), else greeks' own finite-difference solution "
             "(price, delta, vega). z̄ = (mean over the seeds − reference)/(mean SE/√seeds). "
             "SE ratio: √mean over rows of (the seeds' variance/mean SE²), 1 if the SEs are "
             "honest.", "", "## Summary", ""]
    lines += summary(table, rows_table)
    lines += ["", "## SE ratio on pairs and on single paths", "",
              "The variant `auto` put each row's simulation on (`method_price`); rows whose "
              "estimates do not move over the seeds left out.", ""]
    lines += by_variant(rows_table, len(parse_seeds(args.seeds)))
    lines += ["", "## QuantLib against greeks' own solvers", ""]
    lines += disagreement(ref, rows_table)
    lines += ["", "## Worst rows (|z̄|)", "",
              "| paths | id | greek | paths by | reference (source) | mean | mean SE | z̄ "
              "| z per seed |",
              "| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in worst.head(25).itertuples(index=False):
        lines.append(f"| {r.paths:,} | {r.id} | {r.greek} | {r.variant} | {r.ref:.6g} "
                     f"({r.source}) | {r.mean:.6g} | {r.mean_se:.3g} | {r.z_bar:+.2f} | {r.z} |")
    lines += ["", "## Rows", ""] + describe(rows, market)
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--draw", type=int, default=2026)
    parser.add_argument("--seeds", default="1-4")
    parser.add_argument("--paths", default="200000,20000")
    parser.add_argument("--reorder-paths", type=int, default=20_000,
                        help="paths of the shuffled-order check (first seed)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--references", type=Path, default=None,
                        help="cache of the references: read if it exists, else written")
    parser.add_argument("--csv", default=None, help="also write the long table of z's")
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args(argv)
    rows, market = draw(args.draw, args.rows)
    start = time.perf_counter()
    ref = references(rows, market, args.references)
    print(f"references {time.perf_counter() - start:.0f} s", flush=True)
    seeds = parse_seeds(args.seeds)
    frames, timing = [], {}
    for paths in (int(p) for p in args.paths.split(",")):
        est, timing[paths] = estimates(rows, market, paths, seeds, args.threads)
        frames.append(est)
    table = scored(pd.concat(frames), ref)
    rows_table = per_row(table)
    reorder = reorder_check(rows, market, args.reorder_paths, seeds[0], args.threads)
    _write(report(args, rows, market, table, rows_table, ref, timing, reorder), args.output)
    if args.csv:
        table.to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
