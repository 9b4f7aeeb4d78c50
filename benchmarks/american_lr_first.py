"""Likelihood-ratio delta and vega of american puts with no exercise before a first date t_1,
against the engine's central differences.

    python benchmarks/american_lr_first.py [--paths 100000] [--seeds 3] [--out NAME]

The likelihood-ratio (LR) weight of the fixed exercise policy lives on the first exercise date
t_1: the value depends on S0 only through the law of S(t_1), so the delta is E[Y w_Δ],
w_Δ = W(t_1)/(S0 σ t_1), whose variance grows like 1/t_1 (a daily first date: t_1 = 1/252).
Forbidding exercise before t_1 = k trading days lowers that variance and costs the price of
the exercise given up.  Two rows under GBM, daily exercise (dates j/252): the ATM put (S0 = K
= 100, r = 5 %, q = 0, σ = 20 %, T = 1) and the Longstaff–Schwartz put (S0 = 36, K = 40,
r = 6 %, σ = 20 %, T = 1).  For k = 1, 2, 5, 10, 21:

1. Price bias of the coarser first interval: the finite-difference Bermudan
   (:func:`greeks.models.gbm.american.american_fd`) on the dates k/252, (k+1)/252, …, 1 less
   the one on every day from 1/252, in absolute terms and in units of the engine's price SE at
   200,000 paths (:func:`greeks.price_portfolio`, one row, default settings); its delta and
   vega move too (the table gives them).
2. Per path variance (N·SE², median over seeds, ``--paths`` single paths each, no antithetic
   pairs) of these estimators of the delta and vega of the Bermudan on those dates, the policy
   its own boundaries solved on the finite-difference grid
   (:func:`greeks.models.gbm.american.exercise_boundaries`, exercise on t_i where S ≤ b_i),
   Y = e^{−rτ}(K − S_τ)⁺ the discounted exercised payoff, S simulated exactly on the dates
   (normals Z_i over steps Δ_i, Δ_1 = t_1, then 1/252):

   * ``LR``: delta Y W(t_1)/(S0 σ t_1); vega Y Σ_{i ≤ τ} [(Z_i² − 1)/σ − Z_i √Δ_i], the σ score
     of every step up to the exercise date (the later steps' law depends on σ too; the sum
     stops at τ by optional stopping);
   * ``first-step LR`` (vega): Y times the σ score of the first step alone, (Z_1² − 1)/σ −
     Z_1 √t_1: biased, it leaves out the later steps' dependence on σ (measured to show it);
     its control's mean is the Black–Scholes vega times t_1/T (the European's value moves
     with the first step's σ_1 through its total variance σ_1² t_1 + σ² (T − t_1));
   * ``mixed`` (vega only; the LR delta already is one: later steps do not depend on S0 given
     S(t_1)): the σ score of the first step, (Z_1² − 1)/σ − Z_1 √t_1, times Y, plus the
     pathwise derivative of Y in σ with S(t_1) and the stopping time held fixed,
     −e^{−rτ} 1{S_τ < K} S_τ (B_τ − σ (τ − t_1)), B_τ = W(τ) − W(t_1).  Unbiased for the
     optimal policy's vega, by the envelope argument (moving the boundary changes the value
     to second order only), and first order in the boundary's error;
   * ``pathwise``: τ held fixed, delta −e^{−rτ} 1{S_τ < K} S_τ/S0, vega −e^{−rτ} 1{S_τ < K}
     S_τ (W(τ) − στ) (the doc's earlier table took it with a regressed policy).

   Each has the same estimator of the European put e^{−rT}(K − S_T)⁺ along the path (the score
   up to T) as a control variate, with its exact mean, the Black–Scholes delta or vega; its
   coefficient fitted on a separate pilot of ``PILOT`` paths (so the estimate stays unbiased).
   The means are checked against the finite-difference Bermudan's delta and vega (z = error /
   SE, pooled over the seeds).  The engine's delta_se and vega_se at ``--paths`` paths (default
   settings: the fixed policy's central differences with Richardson's steps, the European and
   hedge controls) give its N·SE² on the same footing (median over the seeds).

Writes ``benchmarks/results/NAME.md`` (default ``american_lr_first``).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

import greeks
from greeks.instruments import validate
from greeks.models.gbm.american import american_fd, exercise_boundaries

ROOT = Path(__file__).resolve().parents[1]
DAYS = 252
FIRST = (1, 2, 5, 10, 21)  # t_1 in trading days
PILOT = 20_000  # paths of the control coefficients' pilot
CHUNK = 25_000  # paths simulated at a time
CASES = {"ATM put (100, 100, r 5 %)": dict(spot=100.0, strike=100.0, rate=0.05, vol=0.2),
         "LS put (36, 40, r 6 %)": dict(spot=36.0, strike=40.0, rate=0.06, vol=0.2)}
MATURITY = 1.0
ESTIMATORS = ("LR delta", "pathwise delta", "LR vega", "first-step LR vega", "mixed vega",
              "pathwise vega")


def european_put(spot, strike, rate, vol, t=MATURITY):
    """Black–Scholes put delta and vega (q = 0)."""
    d1 = (math.log(spot / strike) + (rate + 0.5 * vol * vol) * t) / (vol * math.sqrt(t))
    return norm.cdf(d1) - 1.0, spot * norm.pdf(d1) * math.sqrt(t)


def dates_from(k: int) -> np.ndarray:
    return np.arange(k, DAYS + 1) / DAYS


def samples(rng, paths, case, dates, levels, mirror=False) -> dict:
    """Per path samples (estimator under the policy, European control) of each estimator;
    with ``mirror``, ``paths`` // 2 pairs, each the mean of a path and the path with its first
    normal Z_1 negated (the later normals shared)."""
    spot, strike, rate, vol = case["spot"], case["strike"], case["rate"], case["vol"]
    out = {name: ([], []) for name in ESTIMATORS}
    step = CHUNK // 2 if mirror else CHUNK
    count = paths // 2 if mirror else paths
    for start in range(0, count, step):
        z = rng.standard_normal((dates.size, min(step, count - start)))
        r = _chunk(z, spot, strike, rate, vol, dates, levels)
        if mirror:
            z[0] = -z[0]
            m = _chunk(z, spot, strike, rate, vol, dates, levels)
            r = {name: tuple(0.5 * (a + b) for a, b in zip(r[name], m[name])) for name in r}
        for name in ESTIMATORS:
            out[name][0].append(r[name][0])
            out[name][1].append(r[name][1])
    return {name: (np.concatenate(a), np.concatenate(c)) for name, (a, c) in out.items()}


def _chunk(z, spot, strike, rate, vol, dates, levels) -> dict:
    """One chunk, the normals ``z`` (dates × paths): for each estimator, (samples under the
    policy, samples of the European)."""
    paths = z.shape[1]
    t1 = dates[0]
    sd1 = math.sqrt(t1)
    z1 = z[0]
    w1 = sd1 * z1
    drift = rate - 0.5 * vol * vol
    x = math.log(spot) + drift * t1 + vol * w1
    score1 = (z1 * z1 - 1.0) / vol - z1 * sd1
    score = score1.copy()  # the σ score of every step so far
    b = np.zeros(paths)  # W(t) − W(t_1)
    y = np.zeros(paths)
    y_score = np.zeros(paths)  # the score up to τ
    d_spot = np.zeros(paths)  # pathwise ∂Y/∂S0, τ fixed
    d_mixed = np.zeros(paths)  # pathwise ∂Y/∂σ, S(t_1) and τ fixed
    d_vol = np.zeros(paths)  # pathwise ∂Y/∂σ, τ fixed
    alive = np.ones(paths, dtype=bool)
    last = dates.size - 1
    for i, t in enumerate(dates):
        if i:
            step = t - dates[i - 1]
            zi = z[i]
            x += drift * step + vol * math.sqrt(step) * zi
            b += math.sqrt(step) * zi
            score += (zi * zi - 1.0) / vol - zi * math.sqrt(step)
        s = np.exp(x)
        stop = alive & (s < strike)
        if i < last:
            stop &= s <= levels[i]
        if stop.any():
            disc = math.exp(-rate * t)
            ss = s[stop]
            y[stop] = disc * (strike - ss)
            y_score[stop] = score[stop]
            d_spot[stop] = -disc * ss / spot
            d_mixed[stop] = -disc * ss * (b[stop] - vol * (t - t1))
            d_vol[stop] = -disc * ss * (w1[stop] + b[stop] - vol * t)
            alive &= ~stop
    disc = math.exp(-rate * MATURITY)
    put = s < strike
    ye = disc * np.where(put, strike - s, 0.0)
    e_spot = np.where(put, -disc * s / spot, 0.0)
    e_mixed = np.where(put, -disc * s * (b - vol * (MATURITY - t1)), 0.0)
    e_vol = np.where(put, -disc * s * (w1 + b - vol * MATURITY), 0.0)
    w_delta = w1 / (spot * vol * t1)
    return {"LR delta": (y * w_delta, ye * w_delta),
            "pathwise delta": (d_spot, e_spot),
            "LR vega": (y * y_score, ye * score),
            "first-step LR vega": (y * score1, ye * score1),
            "mixed vega": (y * score1 + d_mixed, ye * score1 + e_mixed),
            "pathwise vega": (d_vol, e_vol)}


def controlled(pilot, run, mean) -> np.ndarray:
    """The run's samples X − β (C − mean), β = cov(X, C)/var(C) on the pilot."""
    xp, cp = pilot
    beta = np.cov(xp, cp)[0, 1] / np.var(cp, ddof=1)
    x, c = run
    return x - beta * (c - mean)


def engine_row(case) -> pd.DataFrame:
    return validate(pd.DataFrame([dict(id="put", instrument="american", option_type="put",
                                       maturity=MATURITY, dividend=0.0, model="gbm",
                                       quantity=1.0, **case)]), "benchmark")


def _variances(case, k, dates, levels, mirror, paths, seeds, means, fd, label) -> list:
    """Rows of N·SE² (per path evaluated: a pair counts two), estimate and z per estimator."""
    stream = list(CASES).index(label)
    def draw(seed, count):
        return samples(np.random.default_rng([stream, k, seed, mirror]), count, case, dates,
                       levels, mirror)

    pilot = draw(0, PILOT)
    per = {name: [] for name in ESTIMATORS}
    for s in range(1, seeds + 1):
        run = draw(s, paths)
        for name in ESTIMATORS:
            raw = run[name][0]
            cv = controlled(pilot[name], run[name], means[name])
            n = cv.size
            per[name].append((paths * raw.var(ddof=1) / n, paths * cv.var(ddof=1) / n,
                              cv.mean(), cv.std(ddof=1) / math.sqrt(n)))
    rows = []
    for name in ESTIMATORS:
        ref = fd.delta if "delta" in name else fd.vega
        est = float(np.mean([p[2] for p in per[name]]))
        se = math.sqrt(sum(p[3] ** 2 for p in per[name])) / seeds
        rows.append(dict(case=label, k=k, estimator=name, pairs=mirror,
                         raw=statistics.median(p[0] for p in per[name]),
                         var=statistics.median(p[1] for p in per[name]),
                         est=est, se=se, ref=ref, z=(est - ref) / se))
    return rows


def measure(paths: int, seeds: int) -> tuple[list, list, dict]:
    bias_rows, var_rows, engine = [], [], {}
    for label, case in CASES.items():
        spot, strike, rate, vol = case["spot"], case["strike"], case["rate"], case["vol"]
        frame = engine_row(case)
        price_se = float(greeks.price_portfolio(frame, paths=200_000, seed=1)["price_se"].iloc[0])
        runs = [greeks.price_portfolio(frame, paths=paths, seed=s) for s in range(1, seeds + 1)]
        engine[label] = dict(
            price_se=price_se,
            delta=statistics.median(paths * float(r["delta_se"].iloc[0]) ** 2 for r in runs),
            vega=statistics.median(paths * float(r["vega_se"].iloc[0]) ** 2 for r in runs),
            delta_est=float(np.mean([r["delta"].iloc[0] for r in runs])),
            vega_est=float(np.mean([r["vega"].iloc[0] for r in runs])),
            method=str(runs[0]["method_delta"].iloc[0]))
        bs_delta, bs_vega = european_put(spot, strike, rate, vol)
        means = {"LR delta": bs_delta, "pathwise delta": bs_delta, "LR vega": bs_vega,
                 "mixed vega": bs_vega, "pathwise vega": bs_vega}
        daily = american_fd(spot, strike, MATURITY, rate, 0.0, vol, False, dates_from(1))
        for k in FIRST:
            dates = dates_from(k)
            fd = american_fd(spot, strike, MATURITY, rate, 0.0, vol, False, dates)
            bias_rows.append(dict(case=label, k=k, price=fd.price, bias=fd.price - daily.price,
                                  bias_se=(fd.price - daily.price) / price_se,
                                  delta=fd.delta, d_delta=fd.delta - daily.delta,
                                  vega=fd.vega, d_vega=fd.vega - daily.vega))
            levels = exercise_boundaries(spot, strike, MATURITY, rate, 0.0, vol, False, dates)
            # the European put's value moves with the first step's σ_1 through its total
            # variance σ_1² t_1 + σ² (T − t_1): ∂/∂σ_1 = vega t_1 / T
            means["first-step LR vega"] = bs_vega * dates[0] / MATURITY
            for mirror in (False, True):
                var_rows += _variances(case, k, dates, levels, mirror, paths, seeds, means,
                                       fd, label)
            print(f"{label} k={k} done", file=sys.stderr, flush=True)
    return bias_rows, var_rows, engine


def report(bias_rows, var_rows, engine, paths, seeds, seconds) -> str:
    lines = ["# American puts: likelihood-ratio delta and vega with a first exercise date t_1",
             "", f"`python benchmarks/american_lr_first.py --paths {paths} --seeds {seeds}` "
             f"({seconds:.0f} s). See the script's docstring for the estimators.", "",
             "## Price of forbidding exercise before t_1 = k trading days", "",
             "Finite-difference Bermudan on the dates k/252 … 1 against every day from 1/252; "
             "the engine's price SE at 200,000 paths in brackets.", "",
             "| row | k | price | bias | bias / engine price SE | delta moves | vega moves |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in bias_rows:
        se = engine[r["case"]]["price_se"]
        lines.append(f"| {r['case']} (SE {se:.5f}) | {r['k']} | {r['price']:.5f} | "
                     f"{r['bias']:+.2e} | {r['bias_se']:+.1f} | {r['d_delta']:+.1e} | "
                     f"{r['d_vega']:+.1e} |")
    lines += ["", f"## Variance per path N·SE² ({paths:,} single paths, median of {seeds} "
              "seeds), European control", "",
              "Unbiasedness: the mean over the seeds against the finite-difference Bermudan "
              "on the same dates (z = error / pooled SE). `raw`: no control.", "",
              "| row | k | estimator | N·SE² raw | N·SE² controlled | engine N·SE² | "
              "ratio to engine | estimate | FD | z |",
              "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in var_rows:
        greek = "delta" if "delta" in r["estimator"] else "vega"
        eng = engine[r["case"]][greek]
        name = r["estimator"] + (", Z_1 mirrored" if r["pairs"] else "")
        lines.append(f"| {r['case']} | {r['k']} | {name} | {r['raw']:.4g} | "
                     f"{r['var']:.4g} | {eng:.4g} | {r['var'] / eng:.3g} | {r['est']:.5f} ± "
                     f"{r['se']:.5f} | {r['ref']:.5f} | {r['z']:+.1f} |")
    checks = [r for r in var_rows if r["estimator"] != "first-step LR vega"]
    worst = max(checks, key=lambda r: abs(r["z"]))
    lines += ["", f"Largest |z| of the {len(checks)} checks of the unbiased estimators: "
              f"{worst['z']:+.1f} ({worst['case']}, k = {worst['k']}, {worst['estimator']}"
              f"{', pairs' if worst['pairs'] else ''}); "
              f"{sum(abs(r['z']) > 2 for r in checks)} beyond 2."]
    lines += ["", "Engine (default settings, median over the seeds): "]
    for label, e in engine.items():
        lines.append(f"- {label}: price SE at 200,000 paths {e['price_se']:.5f}; at "
                     f"{paths:,} paths N·SE² delta {e['delta']:.4g}, vega {e['vega']:.4g} "
                     f"(delta {e['delta_est']:.5f}, vega {e['vega_est']:.4f}; {e['method']}).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="american_lr_first")
    args = parser.parse_args()
    started = time.perf_counter()
    bias_rows, var_rows, engine = measure(args.paths, args.seeds)
    text = report(bias_rows, var_rows, engine, args.paths, args.seeds,
                  time.perf_counter() - started)
    out = ROOT / "benchmarks" / "results" / f"{args.out}.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
