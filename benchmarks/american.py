"""American puts: the time to price + delta + vega to a price SE of 0.1 % of the price.

    python benchmarks/american.py [--repeats 3] [--target 0.001] [--skip-quantlib]

An ATM 1-year American put (S0 = K = 100, r = 5 %, daily exercise, Richardson-extrapolated)
under GBM (σ = 20 %) and under Heston (v0 = θ = 0.04, κ = 1.5, ξ = 0.5, ρ = −0.7).  A
sizing run of 50,000 paths gives the price SE; the paths that reach the target SE follow
(SE ∝ 1/sqrt(paths)); the timed run, on one thread, includes everything a run does (the
exercise policy's solves, pilot and regressions, the main paths, the reduction; the kernels are
compiled beforehand, and the policies' solves, which a process keeps for later runs (the
Heston ADI's, the GBM finite-difference boundaries), are cleared before each timed run).
Prints the path count, the wall and CPU time (medians of the repeats; on a shared machine
the CPU time is the steadier figure) and the estimates
with their SEs, and writes the table to ``benchmarks/results/american.md``.

QuantLib, where ``import QuantLib`` succeeds (it is not a dependency; ``--skip-quantlib`` or
its absence skips this part with a note): its MCAmericanEngine (Longstaff–Schwartz, pseudo-random,
antithetic, the European option as control variate, QuantLib's quadratic basis plus the payoff)
prices the GBM put at equal price accuracy.  Its time grid has ``QL_STEPS`` = 252 steps a
year, so it exercises on the dates of our daily grid (``FIXINGS_PER_YEAR``; 365 would cost it
45 % more for a gap to the American price of 0.0022 instead of 0.0028): it prices that
Bermudan option, where ours extrapolates to the American one.  Its exercise policy is refitted
on ``QL_CALIBRATION`` calibration samples at every run (QuantLib's default, 2,048, leaves a
policy whose value moves by about three target SEs between calibration seeds; the run prices
once under it too).  Its engines
give no Greeks for American options: delta and vega are central differences, S0 (1 ± h) and
σ ± k (h = ``SPOT_BUMP``, k = ``VOL_BUMP``, biases on the finite-difference solution 0.03 % of
the delta, 0.03 % of the vega), five runs on common random numbers (the same seed: the same
main and calibration paths, the policy refitted to each).  Steps:

* ``QL_SEEDS`` seeds of ``QL_SIZING`` samples (antithetic pairs), five runs each (main and
  calibration paths independent between seeds): the mean errorEstimate() gives the samples n
  that reach the target SE (SE ∝ 1/sqrt(n)); the spread of the seeds' delta and vega (their
  standard deviation, calibration's share included) scaled by sqrt(n0/n) estimates the bumped
  Greeks' SEs at n (the calibration's share, a fixed sample, does not shrink with n, so this
  understates them by that share; the timed repeats' spread checks it);
* the timed runs at n, one seed per repeat: the price alone (the base run) and price + delta
  + vega (the five runs), medians of the repeats; then one run of the price alone at
  QuantLib's default calibration on the first repeat's main paths (its policy's loss).

QuantLib-Python has no Monte Carlo American engine for the Heston process (MCAmericanEngine
takes a GeneralizedBlackScholesProcess, MCAmericanBasketEngine an array of one-factor
processes); its finite-difference FdHestonVanillaEngine gives the Heston row's reference price
instead (untimed).  The GBM references are ours, :func:`greeks.models.gbm.american.american_fd`:
the American put, and the Bermudan on QuantLib's dates.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import numpy as np
import pandas as pd

import greeks
from greeks.instruments import FIXINGS_PER_YEAR
from greeks.models.gbm.adapter import _solved_boundaries
from greeks.models.gbm.american import american_fd
from greeks.models.heston.adapter import _boundaries

try:
    import QuantLib as ql
except ImportError:  # optional: its comparison is skipped
    ql = None

ROWS = {
    "gbm": {"id": "gbm", "instrument": "american", "option_type": "put", "strike": 100.0,
            "maturity": 1.0, "spot": 100.0, "rate": 0.05, "model": "gbm", "vol": 0.2},
    "heston": {"id": "heston", "instrument": "american", "option_type": "put",
               "strike": 100.0, "maturity": 1.0, "spot": 100.0, "rate": 0.05,
               "model": "heston", "v0": 0.04, "kappa": 1.5, "theta": 0.04, "xi": 0.5,
               "rho": -0.7},
}
SIZING = 50_000
QL_STEPS = FIXINGS_PER_YEAR  # QuantLib's time steps a year: its exercise dates
QL_CALIBRATION = 2**15  # QuantLib's calibration samples (antithetic pairs)
QL_DEFAULT_CALIBRATION = 2048
QL_SIZING = 20_000  # samples (antithetic pairs) of each seed's runs
QL_SEEDS = 10
SPOT_BUMP = 0.01  # h: S0 (1 ± h)
VOL_BUMP = 0.02  # k: σ ± k
HESTON_GRIDS = ((200, 200, 100), (400, 400, 200))  # FdHestonVanillaEngine's t, x, v steps


def measure(row: dict, target: float, repeats: int, seed: int = 1) -> dict:
    frame = pd.DataFrame([row])
    greeks.price_portfolio(frame, paths=2_000, seed=seed, threads=1)  # compile
    sizing = greeks.price_portfolio(frame, paths=SIZING, seed=seed, threads=1).iloc[0]
    paths = math.ceil(SIZING * (sizing["price_se"] / (target * sizing["price"])) ** 2)
    paths += paths % 2
    times, cpu = [], []
    for _ in range(repeats):
        _boundaries.cache_clear()  # solved afresh, as in a first run
        _solved_boundaries.cache_clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = greeks.price_portfolio(frame, paths=paths, seed=seed, threads=1).iloc[0]
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return dict(model=row["model"], paths=paths, seconds=statistics.median(times),
                cpu_seconds=statistics.median(cpu),
                **{name: result[name] for name in ("price", "price_se", "delta", "delta_se",
                                                   "vega", "vega_se", "exercise_probability")})


def _today():
    """QuantLib's evaluation date (any: the row's times are year fractions, Actual/365)."""
    today = ql.Date(4, 12, 2026)
    ql.Settings.instance().evaluationDate = today
    return today


class QuantLibPut:
    """A GBM american row as a QuantLib American option (exercisable from today to the
    maturity, 365 days a year), its spot and volatility quotes to bump."""

    def __init__(self, row: dict):
        today, days = _today(), ql.Actual365Fixed()
        self.spot, self.vol = ql.SimpleQuote(row["spot"]), ql.SimpleQuote(row["vol"])

        def curve(rate):
            return ql.YieldTermStructureHandle(ql.FlatForward(today, rate, days))

        vol = ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(self.vol), days)
        self.process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(self.spot), curve(row.get("dividend", 0.0)), curve(row["rate"]),
            ql.BlackVolTermStructureHandle(vol))
        kind = ql.Option.Put if row["option_type"] == "put" else ql.Option.Call
        maturity = today + round(365 * row["maturity"])
        self.steps = round(QL_STEPS * row["maturity"])
        self.option = ql.VanillaOption(ql.PlainVanillaPayoff(kind, row["strike"]),
                                       ql.AmericanExercise(today, maturity))

    def value(self, samples: int, seed: int, spot: float = 0.0, vol: float = 0.0,
              calibration: int = QL_CALIBRATION) -> tuple[float, float, float, float]:
        """(price, errorEstimate, wall s, CPU s) of one MCAmericanEngine run (engine set-up
        included) at ``spot`` and ``vol`` (0: unmoved), the quotes restored after."""
        base = self.spot.value(), self.vol.value()
        self.spot.setValue(spot or base[0])
        self.vol.setValue(vol or base[1])
        start, start_cpu = time.perf_counter(), time.process_time()
        self.option.setPricingEngine(ql.MCAmericanEngine(
            self.process, "pseudorandom", timeSteps=self.steps, antitheticVariate=True,
            controlVariate=True, requiredSamples=samples, seed=seed,
            nCalibrationSamples=calibration))
        price, se = self.option.NPV(), self.option.errorEstimate()
        seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        self.spot.setValue(base[0])
        self.vol.setValue(base[1])
        return price, se, seconds, cpu

    def revalue(self, samples: int, seed: int) -> dict:
        """Price, delta and vega by bump and revalue: five runs on the same seed,
        delta = (V(S0 (1 + h)) − V(S0 (1 − h))) / (2 h S0), vega = (V(σ + k) − V(σ − k)) / (2k);
        the base run's time and the five's."""
        s0, sigma = self.spot.value(), self.vol.value()
        runs = [self.value(samples, seed, spot=s0 * (1 + m * SPOT_BUMP)) for m in (0, 1, -1)]
        runs += [self.value(samples, seed, vol=sigma + m * VOL_BUMP) for m in (1, -1)]
        return dict(price=runs[0][0], price_se=runs[0][1],
                    delta=(runs[1][0] - runs[2][0]) / (2 * SPOT_BUMP * s0),
                    vega=(runs[3][0] - runs[4][0]) / (2 * VOL_BUMP),
                    price_seconds=runs[0][2], price_cpu=runs[0][3],
                    seconds=sum(run[2] for run in runs), cpu_seconds=sum(run[3] for run in runs))


def measure_quantlib(row: dict, target: float, repeats: int) -> tuple[dict, dict]:
    """QuantLib's row (samples, times, estimates with their SEs) at the samples that reach the
    target price SE, and what else was measured (the seeds' spread, the timed repeats' spread,
    the default calibration's price); see the module's docstring."""
    put = QuantLibPut(row)
    seeds = pd.DataFrame([put.revalue(QL_SIZING, seed) for seed in range(1, QL_SEEDS + 1)])
    samples = math.ceil(QL_SIZING * (seeds["price_se"].mean()
                                     / (target * seeds["price"].mean())) ** 2)
    scale = math.sqrt(QL_SIZING / samples)
    timed = pd.DataFrame([put.revalue(samples, 100 + r) for r in range(1, repeats + 1)])
    first = timed.iloc[0]
    default = put.value(samples, 101, calibration=QL_DEFAULT_CALIBRATION)
    result = dict(model="gbm (QuantLib)", samples=samples, paths=2 * samples,
                  price_seconds=timed["price_seconds"].median(),
                  price_cpu=timed["price_cpu"].median(), seconds=timed["seconds"].median(),
                  cpu_seconds=timed["cpu_seconds"].median(), price=first["price"],
                  price_se=first["price_se"], delta=first["delta"],
                  delta_se=seeds["delta"].std() * scale, vega=first["vega"],
                  vega_se=seeds["vega"].std() * scale)
    extra = dict(seed_sd={name: seeds[name].std() for name in ("price", "delta", "vega")},
                 seed_se=seeds["price_se"].mean(),
                 repeat_sd={name: timed[name].std() for name in ("price", "delta", "vega")},
                 default_price=default[0], default_se=default[1], default_cpu=default[3],
                 repeats=repeats)
    return result, extra


def heston_references(row: dict) -> list[tuple[tuple[int, int, int], float]]:
    """QuantLib's finite-difference prices (FdHestonVanillaEngine) of the Heston american row on
    ``HESTON_GRIDS``."""
    today, days = _today(), ql.Actual365Fixed()

    def curve(rate):
        return ql.YieldTermStructureHandle(ql.FlatForward(today, rate, days))

    process = ql.HestonProcess(curve(row["rate"]), curve(row.get("dividend", 0.0)),
                               ql.QuoteHandle(ql.SimpleQuote(row["spot"])), row["v0"],
                               row["kappa"], row["theta"], row["xi"], row["rho"])
    kind = ql.Option.Put if row["option_type"] == "put" else ql.Option.Call
    option = ql.VanillaOption(ql.PlainVanillaPayoff(kind, row["strike"]),
                              ql.AmericanExercise(today, today + round(365 * row["maturity"])))
    prices = []
    for grid in HESTON_GRIDS:
        option.setPricingEngine(ql.FdHestonVanillaEngine(ql.HestonModel(process), *grid))
        prices.append((grid, option.NPV()))
    return prices


def comparison(ours: pd.Series, theirs: dict, extra: dict, row: dict) -> list[str]:
    """The headline ratios and the checks against the finite-difference references."""
    args = (row["spot"], row["strike"], row["maturity"], row["rate"], row.get("dividend", 0.0),
            row["vol"], row["option_type"] == "call")
    american = american_fd(*args)
    n = round(QL_STEPS * row["maturity"])
    bermudan = american_fd(*args, row["maturity"] * np.arange(1, n + 1) / n)

    def z(estimate, se, reference):
        return f"{estimate - reference:+.5f} ({(estimate - reference) / se:+.1f} SE)"

    sd, rsd = extra["seed_sd"], extra["repeat_sd"]
    effort = max((theirs[f"{g}_se"] / ours[f"{g}_se"]) ** 2 for g in ("price", "delta", "vega"))
    cpu, wall = ours["cpu_seconds"], ours["seconds"]
    return [
        f"QuantLib / ours, CPU time at equal price SE ({theirs['samples']:,} samples of 2 "
        f"paths against {ours['paths']:,} paths): price alone {theirs['price_cpu'] / cpu:.0f}×, "
        f"price + delta + vega {theirs['cpu_seconds'] / cpu:.0f}× (wall: "
        f"{theirs['price_seconds'] / wall:.0f}×, {theirs['seconds'] / wall:.0f}×).",
        f"QuantLib's price + delta + vega at our SEs of all three (its runs' samples × "
        f"{effort:.1f}, SE ∝ 1/sqrt(samples)): {effort * theirs['cpu_seconds']:.0f} s CPU, "
        f"{effort * theirs['cpu_seconds'] / ours['cpu_seconds']:.0f}× ours.",
        f"Finite-difference references (american_fd): American {american.price:.5f}, delta "
        f"{american.delta:.5f}, vega {american.vega:.3f}; Bermudan on QuantLib's {n} dates "
        f"{bermudan.price:.5f}, {bermudan.delta:.5f}, {bermudan.vega:.3f} (grid gap "
        f"{american.price - bermudan.price:.5f}).",
        f"Ours − American: price {z(ours['price'], ours['price_se'], american.price)}, delta "
        f"{z(ours['delta'], ours['delta_se'], american.delta)}, vega "
        f"{z(ours['vega'], ours['vega_se'], american.vega)}.",
        f"QuantLib − Bermudan: price {z(theirs['price'], theirs['price_se'], bermudan.price)}, "
        f"delta {z(theirs['delta'], theirs['delta_se'], bermudan.delta)}, vega "
        f"{z(theirs['vega'], theirs['vega_se'], bermudan.vega)}.",
        f"QuantLib's default calibration ({QL_DEFAULT_CALIBRATION:,} samples) on the first "
        f"repeat's paths: {extra['default_price']:.5f} ± {extra['default_se']:.5f} "
        f"({extra['default_price'] - theirs['price']:+.5f} against {QL_CALIBRATION:,}; "
        f"− Bermudan {extra['default_price'] - bermudan.price:+.5f}), "
        f"{extra['default_cpu']:.1f} s CPU.",
        f"QuantLib's SEs: the price's its errorEstimate(); delta's and vega's the standard "
        f"deviation over {QL_SEEDS} seeds of {QL_SIZING:,} samples ({sd['delta']:.5f}, "
        f"{sd['vega']:.4f}; the price's {sd['price']:.5f} against a mean errorEstimate() of "
        f"{extra['seed_se']:.5f}) × sqrt({QL_SIZING:,}/{theirs['samples']:,}); the timed "
        f"repeats' standard deviations (seeds 101–{100 + extra['repeats']}): price "
        f"{rsd['price']:.5f}, delta {rsd['delta']:.5f}, vega {rsd['vega']:.4f}.",
    ]


def _loads(loads) -> str:
    return " ".join(f"{load:.2f}" for load in loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.001, help="price SE / price")
    parser.add_argument("--skip-quantlib", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    table = pd.DataFrame([measure(row, args.target, args.repeats) for row in ROWS.values()])
    print(table.to_string(index=False))
    lines = []
    if ql is None or args.skip_quantlib:
        print("QuantLib " + ("not installed" if ql is None else "skipped")
              + ": no comparison with its MCAmericanEngine")
    else:
        theirs, extra = measure_quantlib(ROWS["gbm"], args.target, args.repeats)
        versus = pd.DataFrame([theirs])
        print(versus.to_string(index=False))
        lines = comparison(table.iloc[0], theirs, extra, ROWS["gbm"])
        references = heston_references(ROWS["heston"])
        heston = table.iloc[1]
        lines += [
            f"Heston: QuantLib {ql.__version__} has no Monte Carlo American engine for the "
            f"Heston process. Its FdHestonVanillaEngine (American, t × x × v steps): "
            + ", ".join(f"{'×'.join(map(str, grid))} {price:.5f}" for grid, price in references)
            + f"; ours − the finest {heston['price'] - references[-1][1]:+.5f} "
            f"({(heston['price'] - references[-1][1]) / heston['price_se']:+.1f} SE)."]
        print("\n".join(lines))
    out = os.path.join(os.path.dirname(__file__), "results", "american.md")
    with open(out, "w") as handle:
        handle.write(f"# benchmarks/american.py\n\n{platform.processor() or platform.machine()}, "
                     f"load averages (1, 5, 15 min) {_loads(load)} at the start, "
                     f"{_loads(os.getloadavg())} at the end, {time.strftime('%Y-%m-%d %H:%M')}, "
                     f"one thread, median of {args.repeats}\n\n")
        handle.write(table.to_string(index=False))
        handle.write("\n")
        if lines:
            handle.write(f"\n## QuantLib {ql.__version__}, MCAmericanEngine\n\n")
            handle.write(versus.to_string(index=False))
            handle.write("\n\n" + "\n\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
