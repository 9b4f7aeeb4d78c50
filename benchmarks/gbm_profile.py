"""Where a GBM likelihood-ratio chunk spends its time, part by part, one thread.

    python benchmarks/gbm_profile.py [--repeats 21]

For the ATM 1-year call (one date) and the 252-fixing asian call, one chunk of the
engine's size (``Group.chunk_size``: 65,536 paths for one date, 4,096 for 252) in antithetic
pairs with nonzero control coefficients (the default estimators' main run) and plain (every
path drawn, β = 0): the whole chunk (:func:`greeks.engine.chunks.run_chunk`) and each of
its parts on the same inputs: the normals (the engine's draws,
:func:`greeks.pcg64.fill_normals`, into a preallocated array), the paths (the normals and
the recursion), ``exp``, the payoff,
the linear payoff (for the asian also both in the one pass the kernel makes), the score
weights, and the moments (the rest of
:func:`greeks.estimators.likelihood_ratio_gbm`).  The fastest of the repeats (the least
disturbed by other jobs), in ns per path (per path-step for the asian).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from greeks import estimators, payoffs
from greeks.engine.chunks import run_chunk
from greeks.engine.run import _plan_family
from greeks.instruments import validate
from greeks.models.gbm.paths import simulate
from greeks.models.gbm.scores import score_setup
from greeks.pcg64 import fill_normals

S0, K, SIGMA, R, T = 100.0, 100.0, 0.2, 0.05, 1.0


def group_of(instrument: str, fixings: int | None, antithetic: bool):
    row = dict(id="x", instrument=instrument, option_type="call", strike=K, maturity=T,
               spot=S0, rate=R, model="gbm", vol=SIGMA)
    if fixings is not None:
        row["fixings"] = fixings
    frame = validate(pd.DataFrame([row]), "profile")
    group = _plan_family(frame, 1 << 20, method="auto").groups[0]
    coef = np.full((1, 3, estimators.N_CONTROLS), 0.1) if antithetic else None
    return replace(group, antithetic=antithetic, coef=coef)


def fastest_ns(function, repeats: int, per: float) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        function()
        times.append(time.perf_counter_ns() - started)
    return min(times) / per


def parts(group, n: int, repeats: int) -> dict[str, float]:
    m = group.times.size
    per = float(n * m) if m > 1 else float(n)
    rng = np.random.Generator(np.random.PCG64(1))
    half = n // 2 if group.antithetic else n
    sigma, log_spot = group.params[0], math.log(group.spot)
    carry = group.rate - group.dividend
    w, x = simulate(rng, n, group.times, log_spot, carry, sigma, group.antithetic)
    s = np.exp(x)
    dates = group.date_index[group.date_start[0]:group.date_start[1]]
    inverse_dt, scale = score_setup(group.times, dates, group.spot, sigma)
    payoff, linear = np.empty(n), np.empty(n)
    w_d, w_v = np.empty(n), np.empty(n)
    coef = group.coef if group.coef is not None else np.zeros((1, 3, estimators.N_CONTROLS))
    out = np.zeros((2, 3, 2))
    sums = np.zeros((1, estimators.N_SUMS))
    asian = group.payoff.kind[0] == payoffs.ASIAN
    y = np.empty_like(x)
    draws = np.empty(half * m)
    result = {
        "chunk (run_chunk)": fastest_ns(lambda: run_chunk(group, 1, 0, n), repeats, per),
        "normals": fastest_ns(lambda: fill_normals(rng, draws), repeats, per),
        "paths (normals included)": fastest_ns(
            lambda: simulate(rng, n, group.times, log_spot, carry, sigma, group.antithetic),
            repeats, per),
        "exp": fastest_ns(lambda: np.exp(x, out=y), repeats, per),
        "payoff": fastest_ns(lambda: payoffs.evaluate(s, dates, group.payoff, 0, payoff),
                            repeats, per),
        "linear payoff": fastest_ns(lambda: estimators.linear_payoff(
            s, dates, asian, group.payoff.discount[0], linear), repeats, per),
        "both in one pass (the kernel's, asian)": fastest_ns(lambda: estimators._asian_payoffs(
            s, dates, group.payoff.omega[0], group.payoff.strike[0], group.payoff.discount[0],
            payoff, linear), repeats, per) if asian else 0.0,
        "score weights": fastest_ns(lambda: estimators._scores(w, dates, inverse_dt, scale, sigma,
                                                              w_d, w_v), repeats, per),
        "likelihood_ratio_gbm (all passes)": fastest_ns(lambda: estimators.likelihood_ratio_gbm(
            s, w, group.times, group.spot, sigma, group.date_start, group.date_index,
            group.payoff, group.forward, group.weight, group.total_of, group.n_totals, coef,
            group.antithetic, False, out, sums), repeats, per),
    }
    payoff_passes = (result["both in one pass (the kernel's, asian)"] if asian else
                     result["payoff"] + result["linear payoff"])
    passes = payoff_passes + result["score weights"]
    result["moments (the rest)"] = result["likelihood_ratio_gbm (all passes)"] - passes
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    cases = [("european", None), ("asian", 252)]
    for instrument, fixings in cases:
        for antithetic in (True, False):
            group = group_of(instrument, fixings, antithetic)
            n = group.chunk_size
            parts(group, n, 2)  # compile / load
            label = "default (pairs, controls)" if antithetic else "plain"
            unit = "ns/path-step" if fixings else "ns/path"
            print(f"{instrument} {fixings or 1} date(s), {label}, {n} paths, {unit}:")
            for name, value in parts(group, n, args.repeats).items():
                print(f"  {name:36s} {value:7.2f}")


if __name__ == "__main__":
    main()
