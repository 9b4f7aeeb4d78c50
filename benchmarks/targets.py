"""Time to a target standard error, default estimators against bump and revalue.

    python benchmarks/targets.py [--repeats 3] [--ql-repeats 1] [--skip-quantlib]

The equal-accuracy targets (one thread): the ATM 1-year GBM call's vega to SE 1e-2, and
the ATM 1-year Heston call's (v0 = θ = 0.04, κ = 1.5, ξ = 0.5, ρ = −0.7, r = 0.05) delta to
1e-3 and σ0-vega to 1e-2.  For each, and for each method (``auto``, the default, and
``fd``: central differences on common random numbers, antithetic under GBM — the
QuantLib-style bump and revalue), a sizing run of 50,000 paths gives the paths N that
reach the target, N = 50,000 (SE/target)², and the run at N is timed (median of the
repeats) and its SE reported.  Writes benchmarks/results/targets.md.

QuantLib, where ``import QuantLib`` succeeds (it is not a dependency; ``--skip-quantlib`` or
its absence skips this part with a note): its Monte Carlo bump and revalue at the same target.
MCEuropeanEngine (GBM; one time step, exact for constant σ) and MCEuropeanHestonEngine (Heston;
``QL_STEPS`` = 50 steps a year, the HestonProcess's default quadratic-exponential martingale
scheme), pseudo-random, antithetic.  The Greek is a central difference of two revaluations,
(V(x + h) − V(x − h)) / 2h: x = σ (GBM vega, h = ``VOL_BUMP``), S0 (Heston delta,
h = ``SPOT_BUMP``), σ0 with v0 = (σ0 ± h)² (Heston σ0-vega per 1.00 of σ0, σ0 = sqrt(v0) as
ours, h = ``VOL_BUMP``).  Both revaluations take the same seed: QuantLib's pseudo-random engines
build a fresh Mersenne-Twister sequence generator from ``seed`` at every calculation, so runs
with one seed and one sample count draw the same normals (common random numbers).  Their biases
come from the closed forms (AnalyticEuropeanEngine, AnalyticHestonEngine): the central
difference of the analytic price at h against the analytic Greek (Heston: against a central
difference at h/100).  Steps:

* ``QL_SEEDS`` seeds (1, 2, …) of ``QL_SIZING`` samples (antithetic pairs): the standard
  deviation of the seeds' Greeks is its SE at that size, scaled by sqrt(n/N) at N samples, which
  gives the N that reaches the target (the estimate carries the sampling error of eight values,
  about ±25 %);
* the timed run at N (seed 101, both revaluations), median of ``--ql-repeats``; when the
  sizing runs' cost per sample predicts more than ``QL_BUDGET`` seconds, the run is timed at
  the N that takes about ``QL_BUDGET`` / 4 and its time scaled linearly to N (marked in the
  table).  The ratio is QuantLib's time over ``auto``'s;
* the naive bump and revalue, its down revaluation on seed + ``INDEPENDENT`` (independent
  draws): the samples that reach the target from the same seeds' spread, at the timed run's
  cost per sample.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import time
from pathlib import Path

import pandas as pd

from greeks import engine
from greeks.instruments import validate

try:
    import QuantLib as ql
except ImportError:  # optional: its comparison is skipped
    ql = None

ROOT = Path(__file__).resolve().parent.parent
BASE = dict(id="atm", instrument="european", option_type="call", strike=100.0, maturity=1.0,
            spot=100.0, rate=0.05, dividend=0.0)
HESTON_PARAMS = dict(v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
GBM = validate(pd.DataFrame([dict(BASE, model="gbm", vol=0.2)]), "targets")
HESTON = validate(pd.DataFrame([dict(BASE, model="heston", **HESTON_PARAMS)]), "targets")
CASES = [("GBM vega", GBM, 2, 1e-2, 1.0), ("Heston delta", HESTON, 1, 1e-3, 1.0),
         ("Heston σ0-vega", HESTON, 2, 1e-2, 30.0)]
SIZING = 50_000
QL_STEPS = 50  # MCEuropeanHestonEngine's time steps (the maturity is one year)
QL_SEEDS = 8
QL_SIZING = {"GBM vega": 100_000, "Heston delta": 10_000, "Heston σ0-vega": 10_000}
QL_BUDGET = 60.0  # seconds: beyond this the timed run is scaled from a smaller one
SPOT_BUMP = 0.5  # h for S0 (0.5 % of the spot)
VOL_BUMP = 0.005  # h for σ and σ0
INDEPENDENT = 1_000  # the down revaluation's seed offset in the independent-draws variant


class QuantLibCall:
    """The ATM 1-year call in QuantLib, priced by Monte Carlo or in closed form."""

    def __init__(self) -> None:
        today = ql.Date(4, 12, 2026)
        ql.Settings.instance().evaluationDate = today
        self.dc = ql.Actual365Fixed()
        self.today = today
        self.option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, BASE["strike"]),
                                       ql.EuropeanExercise(today + 365))
        self.rate = ql.YieldTermStructureHandle(ql.FlatForward(today, BASE["rate"], self.dc))
        self.div = ql.YieldTermStructureHandle(ql.FlatForward(today, BASE["dividend"], self.dc))

    def _spot(self, spot: float):
        return ql.QuoteHandle(ql.SimpleQuote(spot))

    def _gbm(self, spot: float, vol: float):
        surface = ql.BlackConstantVol(self.today, ql.NullCalendar(), vol, self.dc)
        return ql.BlackScholesMertonProcess(self._spot(spot), self.div, self.rate,
                                            ql.BlackVolTermStructureHandle(surface))

    def _heston(self, spot: float, sigma0: float):
        p = HESTON_PARAMS
        return ql.HestonProcess(self.rate, self.div, self._spot(spot), sigma0**2, p["kappa"],
                                p["theta"], p["xi"], p["rho"])

    def price(self, model: str, spot: float, vol: float, samples: int = 0, seed: int = 0):
        """Monte Carlo price with ``samples`` antithetic pairs, or the closed form if 0."""
        if model == "gbm":
            process = self._gbm(spot, vol)
            engine_ = (ql.AnalyticEuropeanEngine(process) if not samples else
                       ql.MCEuropeanEngine(process, "pseudorandom", timeSteps=1,
                                           antitheticVariate=True, requiredSamples=samples,
                                           seed=seed))
        else:
            process = self._heston(spot, vol)
            engine_ = (ql.AnalyticHestonEngine(ql.HestonModel(process), 1e-12, 100_000)
                       if not samples else
                       ql.MCEuropeanHestonEngine(process, "pseudorandom", timeSteps=QL_STEPS,
                                                 antitheticVariate=True,
                                                 requiredSamples=samples, seed=seed))
        self.option.setPricingEngine(engine_)
        return self.option.NPV()

    def greek(self, case: str, h: float, samples: int = 0, seed: int = 0, apart: int = 0) -> float:
        """Central difference (V(x + h) − V(x − h)) / 2h on one seed (common random numbers),
        or with ``apart`` the down revaluation on seed + ``apart`` (independent draws)."""
        model = "gbm" if case.startswith("GBM") else "heston"
        spot, vol = BASE["spot"], 0.2
        up, down = ((dict(spot=spot + h, vol=vol), dict(spot=spot - h, vol=vol))
                    if case.endswith("delta") else
                    (dict(spot=spot, vol=vol + h), dict(spot=spot, vol=vol - h)))
        return (self.price(model, samples=samples, seed=seed, **up)
                - self.price(model, samples=samples, seed=seed + apart, **down)) / (2 * h)

    def exact(self, case: str, h: float) -> float:
        """The Greek from the closed form (Heston: its central difference at h / 100)."""
        if case.startswith("GBM"):
            self.option.setPricingEngine(ql.AnalyticEuropeanEngine(self._gbm(BASE["spot"], 0.2)))
            return self.option.vega()
        return self.greek(case, h / 100)


def quantlib_case(call: QuantLibCall, case: str, target: float, repeats: int) -> dict:
    """Size QuantLib's bump and revalue to ``target`` from the seeds' spread and time it."""
    h = SPOT_BUMP if case.endswith("delta") else VOL_BUMP
    n0 = QL_SIZING[case]
    start = time.perf_counter()
    values = [call.greek(case, h, n0, seed) for seed in range(1, QL_SEEDS + 1)]
    per_sample = (time.perf_counter() - start) / (QL_SEEDS * n0)
    se0 = statistics.stdev(values)
    samples = math.ceil(n0 * (se0 / target) ** 2)
    timed = samples
    if per_sample * samples > QL_BUDGET:
        timed = math.ceil(QL_BUDGET / 4 / per_sample)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = call.greek(case, h, timed, 101)
        times.append(time.perf_counter() - start)
    apart = [call.greek(case, h, n0, seed, INDEPENDENT) for seed in range(1, QL_SEEDS + 1)]
    se_apart = statistics.stdev(apart)
    samples_apart = math.ceil(n0 * (se_apart / target) ** 2)
    per_timed = statistics.median(times) / timed
    return dict(h=h, samples=samples, timed=timed, seconds=per_timed * samples,
                value=value, seed_se=se0, n0=n0, apart_se=se_apart,
                apart_samples=samples_apart, apart_seconds=per_timed * samples_apart,
                exact=call.exact(case, h), bias=call.greek(case, h) - call.exact(case, h))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ql-repeats", type=int, default=1)
    parser.add_argument("--skip-quantlib", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    for _, frame, _, _, _ in CASES:  # compile / load every kernel
        for method in ("auto", "fd"):
            engine.simulate(frame, 4_000, 0, threads=1, method=method)
    lines = ["| target | method | paths | seconds (median) | SE reached | target time |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    auto = {}
    for name, frame, k, target, limit in CASES:
        for method in ("auto", "fd"):
            sizing = engine.simulate(frame, SIZING, 1, threads=1, method=method)
            paths = max(2, math.ceil(SIZING * (sizing.se[0, k] / target) ** 2 * 1.1))
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                result = engine.simulate(frame, paths, 2, threads=1, method=method)
                times.append(time.perf_counter() - start)
            seconds = statistics.median(times)
            auto.setdefault(name, seconds)
            lines.append(f"| {name} SE {target:g} | {method} | {paths:,} | {seconds:.2f} | "
                         f"{result.se[0, k]:.2g} | ≤ {limit:g} s |")
            print(lines[-1], flush=True)
    if ql is None or args.skip_quantlib:
        ql_text = ("QuantLib: skipped (`import QuantLib` failed, or `--skip-quantlib`); it is "
                   "optional.\n")
        print(ql_text, end="")
    else:
        ql_text = quantlib_section(args.ql_repeats, auto)
    now = datetime.datetime.now(datetime.timezone.utc)
    load_after = os.getloadavg()
    text = (f"# Time to a target SE ({now:%Y-%m-%d %H:%M} UTC)\n\n`benchmarks/targets.py "
            f"--repeats {args.repeats} --ql-repeats {args.ql_repeats}`, one thread; "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; load average "
            f"{_loads(load_before)} before, {_loads(load_after)} after.\n\n"
            + "\n".join(lines) + "\n\n" + ql_text)
    (ROOT / "benchmarks" / "results" / "targets.md").write_text(text)


def _loads(load: tuple) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def quantlib_section(repeats: int, auto: dict) -> str:
    """QuantLib's Monte Carlo bump and revalue at each target, as a markdown section."""
    call = QuantLibCall()
    call.greek("GBM vega", VOL_BUMP, 1_000, 1)  # warm up
    lines = [f"## QuantLib {ql.__version__} bump and revalue at the same targets\n",
             f"MCEuropeanEngine (GBM, 1 step) and MCEuropeanHestonEngine ({QL_STEPS} steps, "
             "quadratic-exponential martingale), pseudo-random, antithetic; central differences "
             "of two revaluations on one seed (common random numbers). Samples are antithetic "
             "pairs. N: the samples that reach the target SE, the SE estimated as the standard "
             f"deviation over {QL_SEEDS} seeds at the sizing samples × sqrt(sizing/N). "
             "Time: both revaluations at N, seed 101, median of "
             f"{repeats}; * = timed at the samples in brackets and scaled linearly to N. "
             "Bias: the central difference at h against the closed form. Independent draws: "
             "the same bump with the down revaluation on another seed (the naive bump and "
             "revalue, without common random numbers), sized from its own spread over the "
             "same seeds and timed at QuantLib's cost per sample above (scaled linearly).\n",
             "| target | h | bias at h | seeds' SE (sizing samples) | N | Greek at N − exact "
             "| seconds | `auto` seconds | ratio | independent draws: SE (sizing), N | seconds "
             "| ratio |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, _, _, target, _ in CASES:
        r = quantlib_case(call, name, target, repeats)
        timed = "" if r["timed"] == r["samples"] else f"* ({r['timed']:,})"
        bump = (f"S0 ± {SPOT_BUMP:g}" if name.endswith("delta") else
                f"{'σ' if name.startswith('GBM') else 'σ0'} ± {VOL_BUMP:g}")
        lines.append(f"| {name} SE {target:g} | {bump} | {r['bias']:.1e} | {r['seed_se']:.3g} "
                     f"({r['n0']:,}) | {r['samples']:,} | {r['value'] - r['exact']:+.2g} | "
                     f"{r['seconds']:.2f}{timed} | {auto[name]:.2f} | "
                     f"{r['seconds'] / auto[name]:.0f}× | {r['apart_se']:.3g}, "
                     f"{r['apart_samples']:,} | {r['apart_seconds']:.0f}* | "
                     f"{r['apart_seconds'] / auto[name]:.0f}× |")
        print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
