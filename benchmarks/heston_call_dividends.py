"""Heston american calls across cash dividends: the ADI solution against QuantLib, and the
engine's solved policy against it.

    python benchmarks/heston_call_dividends.py [--seeds 4] [--paths 200000] [--skip-engine]

S0 = K = 100, T = 182 days, r = 4 %, q = 0, v0 = θ = 0.04, κ = 1.5, ξ = 0.5, ρ = −0.7, one
cash dividend of 2.5 at 73 days (0.2 years) or that and 2.0 at 146 days, off a flat market
file.  The ADI solution (greeks.models.heston.american, ``option_type="call"``, the spot's
drops at the ex-dates) is compared with QuantLib's ``FdHestonVanillaEngine`` (1.44; the
cash dividends a ``DividendVector``, QuantLib's spot drop), each on two grids: the European
call and the american one (ADI: the Bermudan call on the engine's own exercise dates, 252 a
year with a date 1e-7 years before each ex-date and one on it; QuantLib: continuous
exercise).  Price, delta (the grid's), σ0-vega (ADI 2σ0 V_v; QuantLib the central difference
at σ0 ± 0.001) and rho (central differences at r ± 0.001).  Then the engine's american call
over ``--seeds`` seeds at ``--paths`` paths, under the solved policy, z = (estimate −
ADI)/SE (the policy regressed on a pilot that it replaced is in the results of before).
Writes
``benchmarks/results/heston_call_dividends.md``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import QuantLib as ql
import reference_report
from scipy.interpolate import RectBivariateSpline

import greeks
from greeks.api import load
from greeks.market.positions import MARKET_COLUMN
from greeks.models.heston.american import heston_value_grids

VALUATION = "2027-01-01"
SPOT = STRIKE = 100.0
RATE = 0.04
HESTON = {"v0": 0.04, "kappa": 1.5, "theta": 0.04, "xi": 0.5, "rho": -0.7}
EXPIRY_DAYS = 182
CASES = {"one dividend": [(73, 2.5)], "two dividends": [(73, 2.5), (146, 2.0)]}
ADI_GRIDS = {"ADI 200×100": (200, 100, 200), "ADI 400×200": (400, 200, 800)}
QL_GRIDS = {"QuantLib 200×200×80": (200, 200, 80), "QuantLib 400×400×160": (400, 400, 160)}
GREEKS = ("price", "delta", "vega", "rho_rate")
H = 1e-3  # the central differences' steps in σ0 and r


def day(n: int) -> str:
    return str(np.datetime64(VALUATION) + np.timedelta64(n, "D"))


def market(dividends, rate=RATE) -> dict:
    return {"valuation_date": VALUATION, "curves": {"FLAT": rate},
            "underlyings": {"HC": {"spot": SPOT, "curve": "FLAT", "heston": HESTON,
                                   "dividends": [{"ex_date": day(d), "amount": a}
                                                 for d, a in dividends]}}}


def book() -> pd.DataFrame:
    return pd.DataFrame([{"id": "AC", "instrument": "american", "option_type": "call",
                          "strike": STRIKE, "expiry": day(EXPIRY_DAYS), "underlying": "HC"}])


def engine_dates(dividends) -> np.ndarray:
    """The american row's exercise dates as the engine takes them (years)."""
    frame = load(book(), market(dividends))
    return np.array(frame[MARKET_COLUMN].iat[0].times)


def adi(dividends, dates, grid, rate=RATE, sigma0=None) -> dict:
    """Price, delta, vega of the ADI call on ``dates`` (the European call: the maturity
    alone) with the drops; ``sigma0``: the v0 read (the solve does not depend on it)."""
    s_steps, v_steps, time_steps = grid
    v0 = HESTON["v0"] if sigma0 is None else sigma0 ** 2
    drops = tuple((d / 365.0, a, 1.0) for d, a in dividends)
    s, v, values = heston_value_grids(STRIKE, dates[-1], rate, 0.0, *HESTON.values(), dates,
                                      s_steps=s_steps, v_steps=v_steps,
                                      time_steps=time_steps, drops=drops, option_type="call")
    spline = RectBivariateSpline(s, v, values[0])
    return {"price": float(spline(SPOT, v0)[0, 0]), "delta": float(spline(SPOT, v0, dx=1)[0, 0]),
            "vega": 2.0 * math.sqrt(v0) * float(spline(SPOT, v0, dy=1)[0, 0])}


def adi_all(dividends, dates, grid) -> dict:
    out = adi(dividends, dates, grid)
    up, down = (adi(dividends, dates, grid, rate=RATE + d)["price"] for d in (H, -H))
    return {**out, "rho_rate": (up - down) / (2 * H)}


def quantlib(dividends, american, grid, rate=RATE, sigma0=0.0) -> ql.VanillaOption:
    """The call priced by FdHestonVanillaEngine (Hundsdorfer scheme, the project's
    benchmarks/quantlib_check.py set-up)."""
    today = ql.DateParser.parseISO(VALUATION)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    rates = ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc, ql.Continuous,
                                                       ql.NoFrequency))
    yields = ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc, ql.Continuous,
                                                        ql.NoFrequency))
    v0 = (math.sqrt(HESTON["v0"]) + sigma0) ** 2
    process = ql.HestonProcess(rates, yields, ql.QuoteHandle(ql.SimpleQuote(SPOT)), v0,
                               HESTON["kappa"], HESTON["theta"], HESTON["xi"], HESTON["rho"])
    expiry = today + EXPIRY_DAYS
    exercise = ql.AmericanExercise(today, expiry) if american else ql.EuropeanExercise(expiry)
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, STRIKE), exercise)
    schedule = ql.DividendVector([today + d for d, _ in dividends], [a for _, a in dividends])
    t, x, v = grid
    option.setPricingEngine(ql.FdHestonVanillaEngine(ql.HestonModel(process), schedule, t, x, v,
                                                     0, ql.FdmSchemeDesc.Hundsdorfer()))
    return option


def quantlib_all(dividends, american, grid) -> dict:
    option = quantlib(dividends, american, grid)
    out = {"price": option.NPV(), "delta": option.delta()}
    up, down = (quantlib(dividends, american, grid, sigma0=d).NPV() for d in (H, -H))
    out["vega"] = (up - down) / (2 * H)
    up, down = (quantlib(dividends, american, grid, rate=RATE + d).NPV() for d in (H, -H))
    out["rho_rate"] = (up - down) / (2 * H)
    return out


def references() -> tuple[list[dict], dict]:
    """The comparison's rows, and the fine ADI american values per case (the engine's
    reference)."""
    rows, finest = [], {}
    for case, dividends in CASES.items():
        dates = engine_dates(dividends)
        for exercise in ("european", "american"):
            on = dates if exercise == "american" else dates[-1:]
            for name, grid in ADI_GRIDS.items():
                start = time.perf_counter()
                values = adi_all(dividends, on, grid)
                rows.append({"case": case, "option": exercise, "solver": name, **values,
                             "seconds": time.perf_counter() - start})
            if exercise == "american":
                finest[case] = values
            for name, grid in QL_GRIDS.items():
                start = time.perf_counter()
                values = quantlib_all(dividends, exercise == "american", grid)
                rows.append({"case": case, "option": exercise, "solver": name, **values,
                             "seconds": time.perf_counter() - start})
            print(rows[-1], flush=True)
    return rows, finest


def engine(seeds: int, paths: int, finest: dict) -> list[dict]:
    """Per case and Greek: the estimates' mean, mean SE, z per seed against the fine ADI
    american value."""
    out = []
    for case, dividends in CASES.items():
        runs = []
        for seed in range(1, seeds + 1):
            runs.append(greeks.price_portfolio(book(), market=market(dividends), paths=paths,
                                               seed=seed, greeks="rho"))
            print(case, seed, runs[-1][list(GREEKS)].iloc[0].to_dict(), flush=True)
        for greek in GREEKS:
            estimates = np.array([run[greek].iat[0] for run in runs])
            ses = np.array([run[f"{greek}_se"].iat[0] for run in runs])
            z = (estimates - finest[case][greek]) / ses
            out.append({"case": case, "policy": "solved", "greek": greek,
                        "reference": finest[case][greek], "mean": estimates.mean(),
                        "se": ses.mean(), "z": ", ".join(f"{x:+.2f}" for x in z),
                        "mean z": z.mean()})
    return out


if __name__ == "__main__":
    reference_report.run(__file__, __doc__.splitlines()[0], references, engine,
                          "ADI 400×200 american value", 5)
