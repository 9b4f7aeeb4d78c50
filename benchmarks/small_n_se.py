"""Standard errors at small path counts: are the error bars honest at 1,000 – 20,000 paths?

Rows with exact references, each priced by the default estimators (``greeks.price_portfolio``,
method ``auto``) at 1,000, 2,000, 5,000 and 20,000 paths over many seeds.  Per row, Greek
and path count N:

- ``se/sd``: the mean reported SE over the standard deviation of the estimates over seeds;
- ``se/rmse``: the mean reported SE over the root-mean-square error against the reference;
- ``cover``: the share of runs with |estimate − reference| ≤ 2 SE (a normal: 95.4 %);
- ``z``: the root mean square of z = (estimate − reference)/SE over the runs;
- ``zero``: the share of runs whose SE is 0 or not finite.

A cell is *low* where cover < 90 % or z > 1.25 (for normal errors, an SE below 0.8 of the
true one), or any SE is 0; *inflated* where z < 0.8 (an SE above 1.25 of the true one).  The
verdict goes by z rather than by the ratios of the mean SE because ``auto`` picks an
estimator per run: over seeds the estimates are a mixture of estimators of different
variances, whose spread exceeds the mean SE even when every run's SE is right (SEs of 1
and 3 half the time each: mean SE/spread 0.89), while each run's z has the right law.
Cells whose estimates do not vary over seeds (all within 10⁻⁹ of each other, or a spread
below 10⁻⁶ of the SE) are *degenerate*: their SE is the unseen-event floor of
``greeks.engine.reduce``, judged by coverage only.

References, written here and independent of the code under test:

- GBM european and cash digital calls and puts: Black–Scholes closed forms.
- GBM discretely monitored knock-out barriers: backward quadrature on a log-price grid
  (:func:`barrier_out`: the value function between monitoring dates integrated exactly
  against the Gaussian step as a piecewise-linear function on a grid holding the strike and
  the barrier as nodes); knock-ins as the vanilla minus the knock-out (exact under discrete
  monitoring); delta and vega as central differences of the quadrature.
- GBM asians: one run of 4,000,000 paths of ``price_portfolio`` itself (seed 10⁶, its own
  SE a fifth to a fourteenth of the smallest run's), so that their ``se/rmse`` and ``cover``
  include that run's error: their ``se/sd`` is the measure.
- Heston european calls and puts and cash digitals: the semi-analytic Fourier integral of
  ``greeks.models.heston.analytic`` (tested against published values in the suite).

Usage: ``python benchmarks/small_n_se.py [--seeds 400] [--output results/small_n_se.md]``;
the raw estimates are cached in ``--cache`` (a .npz per frame and path count).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import greeks
from greeks.models.heston.analytic import heston_digital, heston_greeks

PATHS = (1000, 2000, 5000, 20000)
GREEKS = ("price", "delta", "vega")
SPOT, RATE, DIVIDEND, VOL = 100.0, 0.03, 0.01, 0.25
HESTON = dict(v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
RESULTS = Path(__file__).resolve().parent / "results"


# ---------------------------------------------------------------- rows

def vanilla_frame() -> pd.DataFrame:
    """European and cash digital calls and puts, strikes 0.5–1.6 of spot, 1 week – 2 years."""
    rows = []
    for t, tag in ((1 / 52, "1W"), (0.25, "3M"), (1.0, "1Y"), (2.0, "2Y")):
        for k in (0.5, 0.7, 0.9, 1.0, 1.1, 1.3, 1.6):
            for instrument in ("european", "digital"):
                for kind in ("call", "put"):
                    rows.append(dict(id=f"{instrument[:3]}-{kind[0]}-{k:.1f}-{tag}",
                                     instrument=instrument, option_type=kind,
                                     strike=SPOT * k, maturity=t))
    return _gbm(rows)


def barrier_frame() -> pd.DataFrame:
    """Weekly-monitored barriers at strike 100 whose knock probability is small or large."""
    rows = []
    for t, tag, fixings in ((0.5, "6M", 26), (1.0, "1Y", 52)):
        for kind, direction, levels in (("call", "up", (115.0, 150.0, 200.0)),
                                        ("put", "down", (85.0, 65.0, 50.0))):
            for level in levels:
                for knock in ("out", "in"):
                    rows.append(dict(id=f"{direction[0]}{knock[0]}-{kind[0]}-{level:g}-{tag}",
                                     instrument="barrier", option_type=kind, strike=100.0,
                                     maturity=t, barrier=level,
                                     barrier_type=f"{direction}-and-{knock}", fixings=fixings))
    # a put that pays only after an unlikely rise (up-and-in), and its knock-out
    for knock in ("out", "in"):
        rows.append(dict(id=f"u{knock[0]}-p-130-1Y", instrument="barrier", option_type="put",
                         strike=100.0, maturity=1.0, barrier=130.0,
                         barrier_type=f"up-and-{knock}", fixings=52))
    return _gbm(rows)


def asian_frame() -> pd.DataFrame:
    rows = [dict(id=f"asn-{kind[0]}-{k:.1f}-{tag}", instrument="asian", option_type=kind,
                 strike=SPOT * k, maturity=t, fixings=fixings)
            for t, tag, fixings in ((0.25, "3M", 13), (1.0, "1Y", 52))
            for k, kind in ((0.7, "call"), (1.0, "call"), (1.3, "call"), (0.7, "put"),
                            (1.0, "put"), (1.3, "put"))]
    return _gbm(rows)


def heston_frame() -> pd.DataFrame:
    rows = []
    for t, tag in ((0.25, "3M"), (1.0, "1Y")):
        for k in (0.6, 0.8, 1.0, 1.2, 1.5):
            for instrument in ("european", "digital"):
                for kind in ("call", "put"):
                    rows.append(dict(id=f"h{instrument[:3]}-{kind[0]}-{k:.1f}-{tag}",
                                     instrument=instrument, option_type=kind,
                                     strike=SPOT * k, maturity=t, spot=SPOT, rate=RATE,
                                     dividend=DIVIDEND, model="heston", underlying="H",
                                     **HESTON))
    return pd.DataFrame(rows)


def _gbm(rows) -> pd.DataFrame:
    return pd.DataFrame([dict(spot=SPOT, rate=RATE, dividend=DIVIDEND, model="gbm", vol=VOL,
                              underlying="X", **row) for row in rows])


# ---------------------------------------------------------------- references

def black_scholes(kind, instrument, strike, t, spot=SPOT, vol=VOL):
    """(price, delta, vega) of a european or cash digital (payout 1)."""
    omega = 1.0 if kind == "call" else -1.0
    root = vol * math.sqrt(t)
    d1 = (math.log(spot / strike) + (RATE - DIVIDEND + 0.5 * vol * vol) * t) / root
    d2 = d1 - root
    df, carry = math.exp(-RATE * t), math.exp(-DIVIDEND * t)
    if instrument == "digital":
        density = stats.norm.pdf(d2)
        return (df * stats.norm.cdf(omega * d2), omega * df * density / (spot * root),
                -omega * df * density * d1 / vol)
    price = omega * (spot * carry * stats.norm.cdf(omega * d1)
                     - strike * df * stats.norm.cdf(omega * d2))
    return (price, omega * carry * stats.norm.cdf(omega * d1),
            spot * carry * stats.norm.pdf(d1) * math.sqrt(t))


def _step_weights(nodes, starts, mean, sd):
    """W (starts × nodes): E[v(x + mean + sd·Z); nodes[0] ≤ · ≤ nodes[-1]] = W @ v for v
    linear between the nodes, integrated exactly against the Gaussian."""
    centre = starts + mean
    z = (nodes[None, :] - centre[:, None]) / sd
    cdf, pdf = stats.norm.cdf(z), stats.norm.pdf(z)
    mass = np.diff(cdf, axis=1)  # P(cell)
    first = sd * (pdf[:, :-1] - pdf[:, 1:]) + (centre[:, None] - nodes[None, :-1]) * mass
    slope = first / np.diff(nodes)[None, :]  # E[(Y − x_k)/h_k; cell]
    w = np.zeros((starts.size, nodes.size))
    w[:, :-1] += mass - slope
    w[:, 1:] += slope
    return w


def barrier_out(kind, direction, strike, level, t, fixings, spot=SPOT, vol=VOL, h=0.002):
    """Price of a discretely monitored knock-out (equal intervals, the last at maturity;
    touched when S ≥ B up, S ≤ B down) by backward quadrature on a log grid that holds
    log K and log B as nodes, truncated 10 total standard deviations from log S0."""
    dt = t / fixings
    mean, sd = (RATE - DIVIDEND - 0.5 * vol * vol) * dt, vol * math.sqrt(dt)
    x0, b, k = math.log(spot), math.log(level), math.log(strike)
    reach = 10.0 * vol * math.sqrt(t) + abs(mean) * fixings
    lo, hi = (x0 - reach, b) if direction == "up" else (b, x0 + reach)
    nodes = np.union1d(np.linspace(lo, hi, int((hi - lo) / h) + 1), [k] if lo < k < hi else [])
    omega = 1.0 if kind == "call" else -1.0
    value = np.maximum(omega * (np.exp(nodes) - strike), 0.0)
    if fixings > 1:
        w = _step_weights(nodes, nodes, mean, sd)
        for _ in range(fixings - 1):
            value = w @ value
    if not (lo < x0 < hi):
        return 0.0
    return math.exp(-RATE * t) * float((_step_weights(nodes, np.array([x0]), mean, sd) @ value)[0])


def barrier_reference(row) -> tuple[float, float, float]:
    """(price, delta, vega) of a barrier row: the quadrature at h = 0.004 and 0.002
    extrapolated (its error is O(h²): V(h/2) + (V(h/2) − V(h))/3), central differences
    of that in S0 (± 0.1 %) and σ (± 0.001)."""
    direction, knock = row.barrier_type.split("-and-")
    args = (row.option_type, direction, row.strike, row.barrier, row.maturity, int(row.fixings))

    def out(spot=SPOT, vol=VOL):
        fine = barrier_out(*args, spot=spot, vol=vol, h=0.002)
        return fine + (fine - barrier_out(*args, spot=spot, vol=vol, h=0.004)) / 3.0

    ds, dv = 1e-3 * SPOT, 1e-3
    values = np.array([out(), (out(spot=SPOT + ds) - out(spot=SPOT - ds)) / (2 * ds),
                       (out(vol=VOL + dv) - out(vol=VOL - dv)) / (2 * dv)])
    if knock == "in":
        values = np.array(black_scholes(row.option_type, "european", row.strike,
                                        row.maturity)) - values
    return tuple(values)


def references(name: str, frame: pd.DataFrame, cache: Path) -> np.ndarray:
    """(rows, 3) reference price, delta and vega."""
    if name == "vanilla":
        return np.array([black_scholes(r.option_type, r.instrument, r.strike, r.maturity)
                         for r in frame.itertuples()])
    if name == "barrier":
        stored = cache / "barrier_reference.npy"
        if not stored.exists():
            np.save(stored, np.array([barrier_reference(r) for r in frame.itertuples()]))
        return np.load(stored)
    if name == "heston":
        out = []
        for r in frame.itertuples():
            f = heston_digital if r.instrument == "digital" else heston_greeks
            out.append(tuple(f(r.option_type, r.spot, r.strike, r.maturity, r.rate,
                               r.v0, r.kappa, r.theta, r.xi, r.rho, r.dividend)))
        return np.array(out)
    stored = cache / "asian_reference.npz"
    if not stored.exists():
        result = greeks.price_portfolio(frame, paths=4_000_000, seed=10 ** 6)
        np.savez(stored, mean=result[list(GREEKS)].to_numpy(),
                 se=result[[g + "_se" for g in GREEKS]].to_numpy())
    return np.load(stored)["mean"]


# ---------------------------------------------------------------- sweep

def sweep(name, frame, paths, seeds, cache: Path):
    """(estimates, SEs), each (seeds, rows, 3), cached."""
    stored = cache / f"{name}_{paths}_{seeds}.npz"
    if stored.exists():
        data = np.load(stored)
        return data["mean"], data["se"]
    mean = np.empty((seeds, len(frame), 3))
    se = np.empty_like(mean)
    for s in range(seeds):
        out = greeks.price_portfolio(frame, paths=paths, seed=s, threads=1)
        mean[s] = out[list(GREEKS)].to_numpy()
        se[s] = out[[g + "_se" for g in GREEKS]].to_numpy()
    np.savez(stored, mean=mean, se=se)
    return mean, se


def calibration(mean, se, ref) -> dict:
    """Per (row, Greek): se/sd, se/rmse, coverage of ±2 SE, share of SE 0 or not finite."""
    finite = np.isfinite(se) & (se > 0)
    zero = 1.0 - finite.mean(axis=0)
    mean_se = np.where(finite, se, np.nan)
    mean_se = np.nanmean(mean_se, axis=0) if finite.any() else np.full(se.shape[1:], np.nan)
    sd = mean.std(axis=0, ddof=1)
    rmse = np.sqrt(np.mean((mean - ref[None]) ** 2, axis=0))
    cover = np.mean(np.abs(mean - ref[None]) <= 2.0 * se, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.sqrt(np.nanmean(np.where(finite, (mean - ref[None]) / se, np.nan) ** 2, axis=0))
    degenerate = (np.ptp(mean, axis=0) <= 1e-9 * np.maximum(np.abs(mean).max(axis=0), 1e-300)) \
        | (sd < 1e-6 * mean_se)
    with np.errstate(divide="ignore", invalid="ignore"):
        return dict(ratio_sd=mean_se / sd, ratio_rmse=mean_se / rmse, cover=cover, z=z, zero=zero,
                    degenerate=degenerate, mean_se=mean_se, sd=sd, rmse=rmse)


def verdict(c, r, g) -> str:
    if c["degenerate"][r, g]:
        return "low" if c["cover"][r, g] < 0.9 else "degenerate"
    if c["cover"][r, g] < 0.9 or c["z"][r, g] > 1.25 or c["zero"][r, g] > 0:
        return "low"
    return "inflated" if c["z"][r, g] < 0.8 else "ok"


def _cell(c, r, g) -> str:
    flag = {"low": "**", "inflated": "*", "ok": "", "degenerate": ""}[verdict(c, r, g)]
    if c["degenerate"][r, g]:
        return f"{flag}deg. {100 * c['cover'][r, g]:.0f}%{flag}"
    return (f"{flag}{c['ratio_sd'][r, g]:.2f} / {c['ratio_rmse'][r, g]:.2f} / "
            f"{100 * c['cover'][r, g]:.0f}% / {c['z'][r, g]:.2f}"
            + (f" / {100 * c['zero'][r, g]:.0f}%0" if c["zero"][r, g] > 0 else "") + flag)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=400)
    parser.add_argument("--heston-seeds", type=int, default=200)
    parser.add_argument("--frames", default="vanilla,barrier,asian,heston")
    parser.add_argument("--output", type=Path, default=RESULTS / "small_n_se.md")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/small_n_se"))
    parser.add_argument("--title", default="Standard errors at small path counts")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    builders = dict(vanilla=vanilla_frame, barrier=barrier_frame, asian=asian_frame,
                    heston=heston_frame)
    lines = [f"# {args.title}", "",
             "`benchmarks/small_n_se.py`: per row, Greek and path count, "
             "`se/sd / se/rmse / cover / z` (mean reported SE over the spread of the "
             "estimates over seeds, and over their root-mean-square error against the "
             "reference; the share of runs within ±2 SE of it; the root mean square of "
             "(estimate − reference)/SE; `x%0`: the share of runs with SE 0 or not finite). "
             "**bold**: low (cover < 90 %, z > 1.25, any SE 0); *italic*: inflated "
             "(z < 0.8); `deg.`: estimates that do not vary over seeds (SE = the unseen-event "
             "floor), judged by coverage.  The module docstring says why the verdict goes "
             "by z.", ""]
    summary, tables = [], []
    started = time.time()
    for name in args.frames.split(","):
        frame = builders[name]()
        seeds = args.heston_seeds if name == "heston" else args.seeds
        ref = references(name, frame, args.cache)
        cells = {}
        for n in PATHS:
            t0 = time.time()
            mean, se = sweep(name, frame, n, seeds, args.cache)
            cells[n] = calibration(mean, se, ref)
            print(f"{name} {n}: {time.time() - t0:.0f} s", flush=True)
        counts = {n: {v: 0 for v in ("ok", "low", "inflated", "degenerate")} for n in PATHS}
        table = [f"### {name} ({len(frame)} rows, {seeds} seeds per path count)", "",
                 "| row | Greek | reference | " + " | ".join(f"N = {n:,}" for n in PATHS) + " |",
                 "| --- | --- | ---: | " + " | ".join("---:" for _ in PATHS) + " |"]
        for r, row_id in enumerate(frame["id"]):
            for g, greek in enumerate(GREEKS):
                for n in PATHS:
                    counts[n][verdict(cells[n], r, g)] += 1
                table.append(f"| {row_id} | {greek} | {ref[r, g]:.6g} | "
                             + " | ".join(_cell(cells[n], r, g) for n in PATHS) + " |")
        tables += table + [""]
        for n in PATHS:
            c = counts[n]
            summary.append(f"| {name} | {n:,} | {c['ok']} | {c['low']} | {c['inflated']} | "
                           f"{c['degenerate']} |")
    lines += ["| frame | N | ok | low | inflated | degenerate |",
              "| --- | ---: | ---: | ---: | ---: | ---: |", *summary, "",
              f"({time.time() - started:.0f} s; raw estimates cached in `{args.cache}`.)", "",
              *tables]
    args.output.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
