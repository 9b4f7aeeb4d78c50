"""Heston american calls without a symmetric put (κ − ρξ ≤ 0) and american rows off a market:
the ADI solution against QuantLib, and the engine against the ADI solution.

    python benchmarks/heston_call_itself.py [--seeds 4] [--paths 200000] [--skip-engine]

Flat: two calls with κ = 0.4, ξ = 1, ρ = 0.5 (κ − ρξ = −0.1), v0 = θ = 0.09, r = 3 %, 182 days,
K = 100: S0 = 110 with an 8 % yield, and S0 = 100 with 6 %.  The call's own ADI solution
(greeks.models.heston.american.heston_american, which has no symmetric put to use) on two
grids (S × v intervals, as many time steps as S intervals), and QuantLib's
FdHestonVanillaEngine (1.44, Hundsdorfer) on two: price, delta (the grid's), σ0-vega (ADI
2σ0 V_v; QuantLib the central difference at σ0 ± 0.001), rho (central differences at
r ± 0.001).  Off a market (instruments/market.json, with an underlying HC of the same Heston
law on the USD curve, a yield curve and a cash dividend of 1.5): american puts and calls by
the market ADI solution (greeks.models.heston.american_market) against QuantLib's on the same
curves and dividend (the curves of benchmarks/quantlib_check.py); rho a parallel shift of the
zero curve's rates by ± 0.001.  Then the engine over ``--seeds`` seeds at ``--paths`` paths,
z = (estimate − ADI 400×200)/SE.  Writes ``benchmarks/results/heston_call_itself.md``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time

import numpy as np
import pandas as pd
import QuantLib as ql
import reference_report

sys.path.insert(0, os.path.dirname(__file__))
from quantlib_check import DC, Grid, Setup, _option  # noqa: E402

import greeks  # noqa: E402
from greeks.api import load  # noqa: E402
from greeks.market.curves import Curve  # noqa: E402
from greeks.market.positions import MARKET_COLUMN  # noqa: E402
from greeks.models.heston.american_market import (  # noqa: E402
    flat_dynamics,
    heston_american_market,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAW = {"v0": 0.09, "kappa": 0.4, "theta": 0.09, "xi": 1.0, "rho": 0.5}
FLAT = {"ITM call, q = 8 %": (110.0, 0.08), "ATM call, q = 6 %": (100.0, 0.06)}
STRIKE, RATE, DAYS = 100.0, 0.03, 182
ADI_GRIDS = {"ADI 200×100": (200, 100, 200), "ADI 400×200": (400, 200, 400)}
# (time steps, S nodes, v nodes), as the ADI grids
QL_GRIDS = {"QuantLib 200×100": (200, 200, 100), "QuantLib 400×200": (400, 400, 200)}
H = 1e-3  # the central differences' steps in σ0 and r
GREEKS = ("price", "delta", "vega", "rho_rate")


def market() -> dict:
    spec = json.load(open(os.path.join(ROOT, "instruments", "market.json")))
    spec["underlyings"]["HC"] = {
        "spot": 100.0, "curve": "USD",
        "dividend_yield": {"dates": ["2027-06-01", "2028-03-01"], "yields": [0.03, 0.05]},
        "dividends": [{"ex_date": "2027-05-10", "amount": 1.5}], "heston": LAW}
    return spec


MARKET_ROWS = [
    dict(id="HC-AC-100", instrument="american", option_type="call", strike=100.0,
         expiry="2027-09-17", underlying="HC"),
    dict(id="HC-AP-100", instrument="american", option_type="put", strike=100.0,
         expiry="2027-09-17", underlying="HC"),
    dict(id="NDX-AP-18000", instrument="american", option_type="put", strike=18000.0,
         expiry="2027-09-17", underlying="NDX"),
]


def flat_row(name: str) -> dict:
    spot, dividend = FLAT[name]
    return dict(id=name, instrument="american", option_type="call", strike=STRIKE,
                maturity=DAYS / 365, spot=spot, rate=RATE, dividend=dividend, model="heston",
                quantity=1.0, **LAW)


def adi_flat(name: str, grid) -> dict:
    """The call's own ADI solution (that of heston_american, which has no symmetric put to
    use, on the grid ``grid``: S intervals, v intervals, time steps)."""
    spot, dividend = FLAT[name]
    s, v, t = grid
    law = list(LAW.values())

    def solve(rate=RATE):
        return heston_american_market("call", flat_dynamics(spot, rate, dividend), STRIKE,
                                      DAYS / 365, *law, s_steps=s, v_steps=v, time_steps=t)
    base = solve()
    rho = (solve(RATE + H).price - solve(RATE - H).price) / (2 * H)
    return {"price": base.price, "delta": base.delta, "vega": base.vega, "rho_rate": rho}


def quantlib_flat(name: str, grid) -> dict:
    spot, dividend = FLAT[name]
    today = ql.Date(1, 3, 2027)
    ql.Settings.instance().evaluationDate = today

    def npv(rate=RATE, sigma0=0.0, greek=False):
        def flat(x):
            return ql.YieldTermStructureHandle(ql.FlatForward(today, x, DC, ql.Continuous,
                                                              ql.NoFrequency))
        v0 = (math.sqrt(LAW["v0"]) + sigma0) ** 2
        process = ql.HestonProcess(flat(rate), flat(dividend),
                                   ql.QuoteHandle(ql.SimpleQuote(spot)), v0, LAW["kappa"],
                                   LAW["theta"], LAW["xi"], LAW["rho"])
        option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, STRIKE),
                                  ql.AmericanExercise(today, today + DAYS))
        option.setPricingEngine(ql.FdHestonVanillaEngine(ql.HestonModel(process), *grid, 0,
                                                         ql.FdmSchemeDesc.Hundsdorfer()))
        return (option.NPV(), option.delta()) if greek else option.NPV()

    price, delta = npv(greek=True)
    return {"price": price, "delta": delta,
            "vega": (npv(sigma0=H) - npv(sigma0=-H)) / (2 * H),
            "rho_rate": (npv(rate=RATE + H) - npv(rate=RATE - H)) / (2 * H)}


def _shifted(dynamics, shift: float):
    rate = dynamics.rate
    return dataclasses.replace(dynamics, rate=Curve(rate.times, tuple(z + shift
                                                                      for z in rate.rates)))


def adi_market(row, state, grid) -> dict:
    s, v, t = grid
    law = [float(row[name]) for name in LAW]

    def solve(dynamics=state.dynamics, v0=law[0]):
        return heston_american_market(row["option_type"], dynamics, row["strike"],
                                      row["maturity"], v0, *law[1:], s_steps=s, v_steps=v,
                                      time_steps=t)
    base = solve()
    rho = (solve(_shifted(state.dynamics, H)).price
           - solve(_shifted(state.dynamics, -H)).price) / (2 * H)
    return {"price": base.price, "delta": base.delta, "vega": base.vega, "rho_rate": rho}


def quantlib_market(row, spec: dict, scale: float) -> dict:
    grid = Grid(1.0, scale)
    option, _, _ = _option(row, Setup(spec, row["underlying"]), grid)
    price, delta = option.NPV(), option.delta()
    up, down = (_option(row, Setup(spec, row["underlying"], sigma0=d), grid)[0].NPV()
                for d in (H, -H))
    rate_up, rate_down = (_option(row, Setup(spec, row["underlying"], rate=d), grid)[0].NPV()
                          for d in (H, -H))
    return {"price": price, "delta": delta, "vega": (up - down) / (2 * H),
            "rho_rate": (rate_up - rate_down) / (2 * H)}


def references() -> tuple[list[dict], dict]:
    rows, finest = [], {}
    for name in FLAT:
        for solver, grid in ADI_GRIDS.items():
            start = time.perf_counter()
            values = adi_flat(name, grid)
            rows.append({"row": name, "solver": solver, **values,
                         "seconds": time.perf_counter() - start})
        finest[name] = values
        for solver, grid in QL_GRIDS.items():
            start = time.perf_counter()
            rows.append({"row": name, "solver": solver, **quantlib_flat(name, grid),
                         "seconds": time.perf_counter() - start})
        print(rows[-1], flush=True)
    spec = market()
    frame = load(pd.DataFrame([{**r, "quantity": 1.0} for r in MARKET_ROWS]), spec)
    for (_, row), raw in zip(frame.iterrows(), MARKET_ROWS):
        for solver, grid in ADI_GRIDS.items():
            start = time.perf_counter()
            values = adi_market(row, row[MARKET_COLUMN], grid)
            rows.append({"row": raw["id"], "solver": solver, **values,
                         "seconds": time.perf_counter() - start})
        finest[raw["id"]] = values
        for solver, scale in (("QuantLib 200×200×80", 1.0), ("QuantLib 400×400×160", 2.0)):
            start = time.perf_counter()
            rows.append({"row": raw["id"], "solver": solver,
                         **quantlib_market(pd.Series(raw), spec, scale),
                         "seconds": time.perf_counter() - start})
        print(rows[-1], flush=True)
    return rows, finest


def engine(seeds: int, paths: int, finest: dict) -> list[dict]:
    """Per row and Greek: the estimates' mean, mean SE and z per seed against the ADI
    solution on its finer grid."""
    spec = market()
    flat = pd.DataFrame([flat_row(name) for name in FLAT])
    dated = pd.DataFrame([{**r, "quantity": 1.0} for r in MARKET_ROWS])
    runs = []
    for seed in range(1, seeds + 1):
        out = pd.concat([greeks.price_portfolio(flat, paths=paths, seed=seed, greeks="rho"),
                         greeks.price_portfolio(dated, market=spec, paths=paths, seed=seed,
                                                greeks="rho")]).set_index("id")
        runs.append(out)
        print(seed, out[list(GREEKS)].to_dict("index"), flush=True)
    table = []
    for name, reference in finest.items():
        for greek in GREEKS:
            estimates = np.array([run.loc[name, greek] for run in runs])
            ses = np.array([run.loc[name, f"{greek}_se"] for run in runs])
            z = (estimates - reference[greek]) / ses
            table.append({"row": name, "greek": greek, "reference": reference[greek],
                          "mean": estimates.mean(), "se": ses.mean(),
                          "z": ", ".join(f"{x:+.2f}" for x in z), "mean z": z.mean()})
    return table


if __name__ == "__main__":
    reference_report.run(__file__, __doc__.splitlines()[0], references, engine,
                          "ADI 400×200 value", 6)
