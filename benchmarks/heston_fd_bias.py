"""The bias of the Heston parameter sensitivities' central differences against their standard error.

    python benchmarks/heston_fd_bias.py [--paths 400000] [--seed 0] [--scheme qe]
                                        [--published-paths 50000]
                                        [--output benchmarks/results/heston_fd_bias.md]

The sensitivities dκ, dθ, dξ, dρ and theta of :mod:`greeks.models.heston.sensitivities`
are built from central differences D(h) of the same chain on common random numbers,
biased by c·h² + O(h⁴).  On the same paths (each bumped chain from the same stream, as
there) this takes per path D(h), D(2h) and D(4h) (bumps from
:func:`greeks.models.heston.sensitivities.parameter_bump`; theta's dates δ, 2δ, 4δ
closer), so that

    bias(h) ≈ (D(2h) − D(h)) / 3 ≈ (D(4h) − D(h)) / 15     (c(kh)² − ch² = (k² − 1)ch²),

whose per-path spread is small where the payoff is smooth (the differences move
together; the 4h one resolves a bias 4× smaller), and compares it with the standard error
sd(D(h))/sqrt(N) of a run of N = 10⁷ paths; N* = (0.3 sd / |bias|)² is the path count at
which the bias reaches 0.3 SE.  The extrapolation R(h) = (4 D(h) − D(2h))/3 cancels the h²
term: its per-path spread against D(h)'s is its price in variance, its own bias
(R(2h) − R(h))/15 on common random numbers.

For the european and digital rows the biases are also computed without simulation, as the
same differences of the semi-analytic value (:mod:`greeks.models.heston.analytic`) minus
its derivative (the difference at a step t = h/20 extrapolated, O(t⁴), far below the
figures shown): the chain's difference has the expectation of the chain's value's
difference, which differs from the semi-analytic one by the discretisation only.

Rows: an ATM 1-year call, a cash digital (payout 1) at the money and an arithmetic Asian
call on 12 dates, S0 = K = 100, r = 3 %, v0 = θ = 0.04, κ = 2, ξ = 0.5, ρ = −0.7, priced
on one group of paths (the scheme's automatic grid for ``--paths``).  Then the published
european calls of ``data/heston_reference.csv``: the semi-analytic biases against the
per-path spread of a ``--published-paths`` run of the sensitivities.

Cost: ``--paths 1000000`` (the results file) simulates 28 chains of 10⁶ paths on the
1-year grid, about 8 minutes on the 2-core development machine shared with other work.
"""

from __future__ import annotations

import argparse
import datetime
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

import greeks
from greeks import engine, streams
from greeks.instruments import validate
from greeks.models.heston.adapter import group_paths
from greeks.models.heston.analytic import heston_digital, heston_price
from greeks.models.heston.sensitivities import (
    PARAMETERS,
    TIME_BUMP,
    _payoff_on,
    parameter_bump,
)
from greeks.stats import Moments

RESULTS = Path(__file__).resolve().parent / "results" / "heston_fd_bias.md"
REFERENCE_CSV = Path(__file__).resolve().parent.parent / "data" / "heston_reference.csv"
MODEL = dict(model="heston", spot=100.0, strike=100.0, maturity=1.0, rate=0.03, dividend=0.0,
             v0=0.04, kappa=2.0, theta=0.04, xi=0.5, rho=-0.7, quantity=1.0)
ROWS = [dict(id="call", instrument="european", option_type="call"),
        dict(id="digital", instrument="digital", option_type="call", payout=1.0),
        dict(id="asian", instrument="asian", option_type="call", fixings=12)]
GREEKS = (*PARAMETERS, "theta")
NAMES = dict(kappa="dkappa", theta="dtheta", xi="dxi", rho="drho")
MULTIPLES = (1, 2, 4)
# D(h), D(2h) − D(h), D(4h) − D(h), R(h) = (4 D(h) − D(2h))/3, R(2h) − R(h)
STATS = ("d1", "gap2", "gap4", "extrapolated", "extrapolated_gap")


def differences(group, stream, n: int) -> np.ndarray:
    """Per row, Greek (``GREEKS``), bump multiple (``MULTIPLES``) and path: the central
    difference of the discounted payoff on common random numbers, rows × Greeks × 3 × paths."""
    def prices(shift=0.0, **changes):
        moved = {**dict(zip(("v0", "kappa", "theta", "xi", "rho"), group.params)), **changes}
        bumped = replace(group, params=tuple(moved[k] for k in ("v0", "kappa", "theta", "xi",
                                                                 "rho")),
                         times=group.times - shift)
        return group_paths(bumped, np.random.Generator(np.random.PCG64(stream)), n).s

    payoffs = [_payoff_on(group, j) for j in range(group.n_rows)]
    out = np.empty((group.n_rows, len(GREEKS), len(MULTIPLES), n))
    for g, name in enumerate(GREEKS):
        for m, multiple in enumerate(MULTIPLES):
            if name == "theta":
                shift = multiple * min(TIME_BUMP, 0.2 * group.times[0])
                up, down = prices(shift=shift), prices(shift=-shift)
                for j, payoff in enumerate(payoffs):
                    discount = group.payoff.discount[j]
                    out[j, g, m] = (payoff(up, discount * math.exp(group.rate * shift))
                                    - payoff(down, discount * math.exp(-group.rate * shift))
                                    ) / (2 * shift)
                continue
            up, down, width = parameter_bump(name, group.params, multiple)
            high, low = prices(**up), prices(**down)
            for j, payoff in enumerate(payoffs):
                out[j, g, m] = (payoff(high) - payoff(low)) / width
    return out


def simulate(frame: pd.DataFrame, paths: int, seed: int, scheme: str) -> tuple:
    """(mean, sd) per row, Greek and statistic (``STATS``) over ``paths`` paths, on the
    chunks and streams of the sensitivities' main run."""
    (group,) = engine.plan_groups(frame, scheme, paths=paths)
    stats = Moments((group.n_rows, len(GREEKS), len(STATS)))
    for chunk, n in group.chunks(paths):
        stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words,
                                                         streams.PARAMETERS + chunk))
        d = differences(group, stream, n)
        one, two = (4 * d[:, :, 0] - d[:, :, 1]) / 3, (4 * d[:, :, 1] - d[:, :, 2]) / 3
        values = np.stack([d[:, :, 0], d[:, :, 1] - d[:, :, 0], d[:, :, 2] - d[:, :, 0], one,
                           two - one], axis=2)
        centred = values - values.mean(axis=3, keepdims=True)
        stats.merge(n, values.mean(axis=3), (centred ** 2).sum(axis=3))
        print(f"  chunk {chunk}: {n} paths", flush=True)
    order = [group.positions.tolist().index(i) for i in range(len(frame))]
    return (stats.mean[order], stats.standard_error[order] * math.sqrt(paths),
            group.times.size)


def analytic_bias(model: dict, row: dict, greek: str) -> tuple[float, float, float]:
    """(derivative, bias at h, bias of (4 D(h) − D(2h))/3) of the central difference D of
    the semi-analytic value of
    ``row`` (european or digital) under ``model`` (parameters, spot, strike, maturity, rate,
    dividend); the derivative is the difference at a bump t = h/20 extrapolated,
    (4 D(t) − D(2t))/3, O(t⁴)."""
    def value(**changes):
        p = {**model, **changes}
        args = dict(spot=p["spot"], strike=p["strike"], maturity=p["maturity"], rate=p["rate"],
                    v0=p["v0"], kappa=p["kappa"], theta=p["theta"], xi=p["xi"], rho=p["rho"],
                    dividend=p["dividend"])
        if row["instrument"] == "digital":
            return heston_digital(row["option_type"], **args, payout=row["payout"]).price
        return heston_price(row["option_type"], **args)

    if greek == "theta":  # every date closer: the maturity shortened
        parameter, sign, step = "maturity", -1.0, TIME_BUMP
    else:
        parameter, sign = next(p for p, n in NAMES.items() if n == greek), 1.0
        params = tuple(model[k] for k in ("v0", "kappa", "theta", "xi", "rho"))
        step = parameter_bump(greek, params, 1)[2] / 2

    def central(h):
        centre = model[parameter]
        return sign * (value(**{parameter: centre + h}) - value(**{parameter: centre - h})
                       ) / (2 * h)
    tiny = step / 20
    exact = (4 * central(tiny) - central(2 * tiny)) / 3
    one, two = central(step), central(2 * step)
    return exact, one - exact, (4 * one - two) / 3 - exact


def published(paths: int, seed: int) -> list[str]:
    """The table of the published european cases (``data/heston_reference.csv``): the
    semi-analytic bias of each central difference against the per-path spread of a
    ``paths``-path run of the sensitivities (default scheme)."""
    table = pd.read_csv(REFERENCE_CSV)
    frame = validate(pd.DataFrame([
        dict(id=r["case"], instrument="european", option_type=r["option_type"], model="heston",
             quantity=1.0, **{k: float(r[k]) for k in ("spot", "strike", "maturity", "rate",
                                                       "dividend", "v0", "kappa", "theta", "xi",
                                                       "rho")})
        for r in table.to_dict("records")]), "benchmark")
    run = greeks.price_portfolio(frame, paths=paths, seed=seed, greeks=list(GREEKS))
    columns = {greek: greek for greek in PARAMETERS} | {"theta": "theta_per_year"}
    lines = ["", (f"Published european cases (`data/heston_reference.csv`): the semi-analytic "
                  "bias of one central difference D(h) and of the extrapolation R, each with "
                  f"its N*, the per-path sd from a {paths:,}-path run of the sensitivities "
                  "(SE·sqrt(N), of what the run takes: R for ρ, D for the others)."), "",
             "| case | " + " | ".join(f"{g}: D bias, N* | R bias, N*" for g in GREEKS) + " |",
             "| --- |" + " ---: | ---: |" * len(GREEKS)]
    for i, record in enumerate(frame.to_dict("records")):
        cells = []
        for greek in GREEKS:
            _, bias, extrapolated = analytic_bias(record, record, greek)
            spread = run[f"{columns[greek]}_se"].iat[i] * math.sqrt(paths)
            cells.append(f"{bias:.2g}, {_paths_at(spread, bias)} | {extrapolated:.2g}, "
                         f"{_paths_at(spread, extrapolated)}")
        lines.append(f"| {record['id']} | " + " | ".join(cells) + " |")
    return lines


def _paths_at(spread: float, bias: float) -> str:
    """N* = (0.3 sd / |bias|)², the path count at which ``bias`` is 0.3 SE."""
    return f"{(0.3 * spread / abs(bias)) ** 2:.2g}" if bias else "∞"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=400_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scheme", default="qe")
    parser.add_argument("--published-paths", type=int, default=50_000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    frame = validate(pd.DataFrame([{**MODEL, **row} for row in ROWS]), "benchmark")
    mean, sd, steps = simulate(frame, args.paths, args.seed, args.scheme)
    root = math.sqrt(args.paths)
    lines = [(f"# Heston parameter sensitivities: central-difference bias against the SE "
              f"({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)"), "",
             (f"`benchmarks/heston_fd_bias.py --paths {args.paths} --seed {args.seed} --scheme "
              f"{args.scheme} --published-paths {args.published_paths}` ({steps} time steps): "
              "κ = 2, θ = 0.04, ξ = 0.5, ρ = −0.7, v0 = 0.04, r = 0.03, S0 = K = 100, T = 1.  "
              "D(h): one central difference (κ, θ, ξ by 1 %, ρ by 0.01, theta by a day), ± "
              "its SE at these paths; semi-analytic: the derivative (european and digital "
              "rows); bias of D(h) on common random numbers, ± its SE: (D(2h) − D(h))/3 and "
              "(D(4h) − D(h))/15; analytic: the same difference of the semi-analytic value "
              "minus the derivative; sd: the per-path spread of D(h), so SE = sd/sqrt(N); "
              "bias/SE at N = 10⁷ and N* = (0.3 sd/|bias|)², the path count at which the bias "
              "reaches 0.3 SE (the analytic bias, else the (4h) one).  R = (4 D(h) − D(2h))/3: "
              "its per-path spread against D(h)'s, and its bias (analytic, else (R(2h) − "
              "R(h))/15 on common random numbers) with its N*."), "",
             "| row | Greek | D(h) ± SE | semi-analytic | bias (2h) | bias (4h) | analytic "
             "bias | sd | bias/SE 10⁷ | N* | sd(R)/sd | R bias | R N* |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: |"]
    for j, row in enumerate(ROWS):
        for g, greek in enumerate(GREEKS):
            spread = sd[j, g, 0]
            from_2h = (mean[j, g, 1] / 3, sd[j, g, 1] / 3 / root)
            from_4h = (mean[j, g, 2] / 15, sd[j, g, 2] / 15 / root)
            exact = at_h = extrapolated = math.nan
            if row["instrument"] != "asian":
                exact, at_h, extrapolated = analytic_bias(MODEL, row, greek)
            else:
                extrapolated = mean[j, g, 4] / 15
            bias = from_4h[0] if math.isnan(at_h) else at_h
            lines.append(
                f"| {row['id']} | {greek} | {mean[j, g, 0]:.5g} ± {spread / root:.2g} | "
                f"{exact:.5g} | {from_2h[0]:.2g} ± {from_2h[1]:.2g} | "
                f"{from_4h[0]:.2g} ± {from_4h[1]:.2g} | {at_h:.2g} | {spread:.3g} | "
                f"{bias / (spread / math.sqrt(1e7)):.3f} | {_paths_at(spread, bias)} | "
                f"{sd[j, g, 3] / spread:.3f} | {extrapolated:.2g} | "
                f"{_paths_at(sd[j, g, 3], extrapolated)} |")
    lines += published(args.published_paths, args.seed)
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
