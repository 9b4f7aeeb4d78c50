"""An outside check of dated positions priced off market files, against QuantLib.

    python benchmarks/quantlib_check.py [--market-seed 7] [--paths 200000] [--seeds 1-3]
                                        [--se-paths 20000] [--se-seeds 101-110]
                                        [--threads 1] [--output FILE] [--csv FILE]
    python benchmarks/quantlib_check.py --followup HST-BP-27,HSTD-AP-23 --se-paths 50000
                --se-seeds 11-18 --output benchmarks/results/quantlib_check_followup.md

A random but reasonable market file (the CONTRACT's shape: a zero curve with nodes, a flat
curve, yield curves and flat yields, vol term structures, cash dividends, Heston
underlyings) and a book of dated positions on it are priced by ``greeks.price_portfolio``
(``greeks="gamma,rho,theta"``) on each seed, and every estimate is compared with QuantLib
(1.44; a benchmark-only dependency) in units of greeks' own standard error,
z = (estimate − reference)/se. The QuantLib side is built from the market file alone:

- curves: ``DiscountCurve`` on the valuation date and the nodes, DF = exp(−z t),
  t = ACT/365F (log-linear in DF, the last forward extrapolated); a flat rate or yield a
  ``FlatForward``; vols: ``BlackVarianceCurve`` (total variance linear in t from (0, 0),
  flat vol beyond the last node) or ``BlackConstantVol``; cash dividends: the engine's
  ``DividendVector`` (the spot drops at the ex-date, QuantLib's ``Spot`` model);
- engines: GBM european without cash dividends ``AnalyticEuropeanEngine``; with them, and
  american and bermudan rows, ``FdBlackScholesVanillaEngine`` (Douglas/Crank–Nicolson);
  Heston european without cash dividends ``AnalyticHestonEngine`` (adaptive Gauss–Lobatto),
  american, bermudan and cash-dividend rows ``FdHestonVanillaEngine``;
- Greeks: delta and gamma the engine's (analytic or the grid's; Heston analytic: central
  differences of the spot), vega the central difference of a parallel shift of every vol
  node (Heston: of σ0 = √v0, v0 = (σ0 ± h)²), rho of a parallel shift of the row's zero
  curve's zero rates (the dividend curve kept), theta the value with the valuation date a
  day later (every curve, yield and vol node and ex-date kept on its date with its value)
  minus today's.

Finite-difference references are computed on a grid and on the grid doubled in every
direction; the table gives the doubled grid's value and the change between the two
(``grid Δ``, in units of the SE), which bounds the reference's own error.

American and bermudan prices in greeks are the value of a fixed exercise policy (a lower
bound of the price, docs/american.md), so their z is also given after the documented
allowance: |est − ref| less 0.3 % of the price + 0.002 (price), 1 % + 0.002 (delta),
2 % + 0.02 (vega), 10 % (gamma), 1 % + 0.002 (rho per 1.00, theta per year).

Standard errors: a few rows are priced at ``--se-paths`` on each of ``--se-seeds``, and the
spread of their estimates over the seeds is compared with the mean reported SE.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import QuantLib as ql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import code_version, cpu_name, load_average  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "quantlib_check.md"
GREEKS = ("price", "delta", "vega", "gamma", "rho_rate", "theta_per_day")
EXERCISE = ("american", "bermudan")
DC = ql.Actual365Fixed()
CAL = ql.NullCalendar()
YEAR = 365.0

# documented bias allowances of the fixed-policy (american, bermudan) estimates: (relative,
# absolute); theta's absolute part is per year (0.002) turned per day
ALLOWANCE = {"price": (0.003, 0.002), "delta": (0.01, 0.002), "vega": (0.02, 0.02),
             "gamma": (0.10, 0.0), "rho_rate": (0.01, 0.002),
             "theta_per_day": (0.01, 0.002 / YEAR)}


# ------------------------------------------------------------------------------ random inputs

def _day(base: dt.date, days: int) -> str:
    return (base + dt.timedelta(days=int(days))).isoformat()


def _node_days(rng, low: int, high: int, count: int, gap: int) -> list[int]:
    """``count`` increasing day numbers in [low, high) at least ``gap`` days apart."""
    while True:
        days = np.sort(rng.choice(np.arange(low, high), count, replace=False))
        if np.all(np.diff(days) >= gap):
            return [int(d) for d in days]


def _zeros(rng, days, forward_low, forward_high) -> list[float]:
    """Zero rates at ``days`` from forwards drawn in [forward_low, forward_high]."""
    t = np.r_[0.0, np.asarray(days) / YEAR]
    forwards = rng.uniform(forward_low, forward_high, len(days))
    return [round(float(z), 5) for z in np.cumsum(forwards * np.diff(t)) / t[1:]]


def _vols(rng, days, low=0.12, high=0.40) -> list[float]:
    """Implied vols at ``days`` from forward vols drawn in [low, high]: increasing variance."""
    t = np.r_[0.0, np.asarray(days) / YEAR]
    forwards = rng.uniform(low, high, len(days))
    return [round(float(v), 4) for v in np.sqrt(np.cumsum(forwards ** 2 * np.diff(t)) / t[1:])]


def random_market(rng) -> dict:
    """A market per the CONTRACT: USD a zero curve with 3–4 nodes, EUR a flat rate; IDX (yield
    curve, vol curve), STK (flat yield, vol curve), DIV (cash dividends, flat vol or a vol
    curve), HST (Heston, flat yield), HSTD (Heston, a cash dividend)."""
    valuation = dt.date(2026, 1, 5) + dt.timedelta(days=int(rng.integers(0, 3 * 365)))
    usd_days = _node_days(rng, 20, 2 * 365, int(rng.integers(3, 5)), 60)
    curves = {"USD": {"dates": [_day(valuation, d) for d in usd_days],
                      "zero_rates": _zeros(rng, usd_days, 0.01, 0.06)},
              "EUR": round(float(rng.uniform(0.0, 0.03)), 4)}
    yield_days = _node_days(rng, 30, 2 * 365, int(rng.integers(2, 4)), 60)
    idx_vol_days = _node_days(rng, 20, 2 * 365, int(rng.integers(3, 5)), 40)
    stk_vol_days = _node_days(rng, 20, 2 * 365, int(rng.integers(2, 4)), 40)
    ex_days = sorted(int(d) for d in (rng.integers(20, 70), rng.integers(110, 160),
                                      rng.integers(200, 250)))
    div_spot = round(float(rng.uniform(80.0, 150.0)), 2)
    div_vol = (round(float(rng.uniform(0.2, 0.4)), 4) if rng.random() < 0.5 else
               {"dates": [_day(valuation, d) for d in (90, 240, 420)],
                "vols": _vols(rng, (90, 240, 420), 0.2, 0.4)})
    heston = lambda: {"v0": round(float(rng.uniform(0.02, 0.09)), 4),  # noqa: E731
                      "kappa": round(float(rng.uniform(1.0, 3.0)), 3),
                      "theta": round(float(rng.uniform(0.02, 0.08)), 4),
                      "xi": round(float(rng.uniform(0.3, 0.7)), 3),
                      "rho": round(float(rng.uniform(-0.8, -0.2)), 3)}
    underlyings = {
        "IDX": {"spot": round(float(rng.uniform(1000.0, 5000.0)), 1), "curve": "USD",
                "dividend_yield": {"dates": [_day(valuation, d) for d in yield_days],
                                   "yields": _zeros(rng, yield_days, 0.005, 0.03)},
                "vol": {"dates": [_day(valuation, d) for d in idx_vol_days],
                        "vols": _vols(rng, idx_vol_days)}},
        "STK": {"spot": round(float(rng.uniform(50.0, 300.0)), 2), "curve": "USD",
                "dividend_yield": round(float(rng.uniform(0.0, 0.025)), 4),
                "vol": {"dates": [_day(valuation, d) for d in stk_vol_days],
                        "vols": _vols(rng, stk_vol_days, 0.15, 0.45)}},
        "DIV": {"spot": div_spot, "curve": "USD", "vol": div_vol,
                "dividends": [{"ex_date": _day(valuation, d),
                               "amount": round(div_spot * float(rng.uniform(0.005, 0.02)), 2)}
                              for d in ex_days]},
        "HST": {"spot": round(float(rng.uniform(80.0, 150.0)), 2),
                "curve": str(rng.choice(["USD", "EUR"])),
                "dividend_yield": round(float(rng.uniform(0.0, 0.03)), 4), "heston": heston()},
        "HSTD": {"spot": 100.0, "curve": "USD", "heston": heston(),
                 "dividends": [{"ex_date": _day(valuation, int(rng.integers(45, 100))),
                                "amount": round(float(rng.uniform(1.5, 3.0)), 2)}]},
    }
    return {"valuation_date": valuation.isoformat(), "curves": curves,
            "underlyings": underlyings}


def random_book(rng, market: dict) -> pd.DataFrame:
    """Rows of four groups: ``gbm-curves`` (europeans on IDX and STK); ``cash`` (europeans
    and americans on DIV, two europeans expiring on an ex-date: QuantLib pays a dividend on
    the expiry date, the value then being the option struck at K + D as the contract has
    it); ``heston`` (europeans and american puts on HST, HSTD); ``bermudan`` (monthly and
    quarterly dates, a call's dates also the days before the ex-dates, its expiry after the
    last; GBM and Heston)."""
    valuation = dt.date.fromisoformat(market["valuation_date"])
    und = market["underlyings"]
    ex_days = [(dt.date.fromisoformat(d["ex_date"]) - valuation).days
               for d in und["DIV"]["dividends"]]
    rows = []

    def add(group, name, instrument, kind, moneyness, days, fixing_days=None):
        spot = und[name]["spot"]
        rows.append({"id": f"{name}-{instrument[0].upper()}{kind[0].upper()}-{len(rows)}",
                     "group": group, "instrument": instrument, "option_type": kind,
                     "strike": round(spot * moneyness, 2 if spot < 1000 else 0),
                     "expiry": _day(valuation, days), "underlying": name,
                     "fixing_dates": (";".join(_day(valuation, d) for d in fixing_days)
                                      if fixing_days else None)})

    def off_ex(days):  # an expiry or date neither on nor next to an ex-date
        return days + 3 if any(abs(days - e) <= 1 for e in ex_days) else days

    for name in ("IDX", "STK"):
        for k, kind in enumerate(("call", "put", "call", "put")):
            days = (int(rng.integers(20, 180)), int(rng.integers(180, 500)),
                    int(rng.integers(500, 900)), int(rng.integers(300, 1000)))[k]
            add("gbm-curves", name, "european", kind, float(rng.uniform(0.8, 1.2)), days)
    add("cash", "DIV", "european", "call", float(rng.uniform(0.9, 1.1)),
        off_ex(int(rng.integers(ex_days[1] + 5, 330))))
    add("cash", "DIV", "european", "put", float(rng.uniform(0.9, 1.1)),
        off_ex(int(rng.integers(ex_days[0] + 5, 330))))
    add("cash", "DIV", "american", "put", 1.0, off_ex(int(rng.integers(ex_days[1] + 5, 300))))
    add("cash", "DIV", "american", "put", float(rng.uniform(1.05, 1.15)),
        off_ex(int(rng.integers(ex_days[0] + 5, 200))))
    add("cash", "DIV", "american", "call", float(rng.uniform(0.85, 0.95)),
        off_ex(int(rng.integers(ex_days[1] + 5, 300))))
    add("cash", "DIV", "american", "call", 1.0, off_ex(int(rng.integers(ex_days[2] + 5, 330))))
    add("cash", "DIV", "european", "call", 1.0, ex_days[1])  # expiring on an ex-date
    add("cash", "DIV", "european", "put", 1.0, ex_days[1])
    for k, kind in enumerate(("call", "put", "call", "put")):
        add("heston", "HST", "european", kind, float(rng.uniform(0.85, 1.15)),
            int(rng.integers(30, 400)) if k < 2 else int(rng.integers(400, 800)))
    add("heston", "HST", "american", "put", 1.0, int(rng.integers(90, 270)))
    add("heston", "HST", "american", "put", float(rng.uniform(1.05, 1.15)),
        int(rng.integers(60, 200)))
    hstd_ex = (dt.date.fromisoformat(und["HSTD"]["dividends"][0]["ex_date"]) - valuation).days
    add("heston", "HSTD", "european", "call", 1.0, int(rng.integers(hstd_ex + 20, 300)))
    add("heston", "HSTD", "american", "put", 1.0, int(rng.integers(hstd_ex + 20, 250)))
    monthly = [off_ex(30 * k) for k in range(1, 7)]
    add("bermudan", "DIV", "bermudan", "put", float(rng.uniform(1.0, 1.1)), monthly[-1], monthly)
    around = sorted({off_ex(d) for d in (60, 120, 180, 240, ex_days[-1] + 30)}
                    | {e - 1 for e in ex_days})
    add("bermudan", "DIV", "bermudan", "call", float(rng.uniform(0.9, 1.0)), around[-1], around)
    quarterly = [91, 182, 273, 364]
    add("bermudan", "IDX", "bermudan", "put", float(rng.uniform(1.0, 1.1)), 364, quarterly)
    add("bermudan", "HST", "bermudan", "put", float(rng.uniform(1.0, 1.1)), 180,
        [30 * k for k in range(1, 7)])
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ QuantLib side

def qdate(text: str) -> ql.Date:
    return ql.DateParser.parseISO(text)


def _curve(spec, ref: ql.Date, shift: float, key: str):
    """A flat rate (number) or nodes of continuously compounded zero values under ``key``,
    each moved by ``shift``, seen from ``ref`` (node dates and values kept)."""
    if spec is None:
        spec = 0.0
    if isinstance(spec, (int, float)):
        return ql.FlatForward(ref, float(spec) + shift, DC, ql.Continuous, ql.NoFrequency)
    dates = [qdate(d) for d in spec["dates"]]
    dfs = [math.exp(-(z + shift) * DC.yearFraction(ref, d)) for z, d in zip(spec[key], dates)]
    curve = ql.DiscountCurve([ref] + dates, [1.0] + dfs, DC)
    curve.enableExtrapolation()
    return curve


def _vol(spec, ref: ql.Date, shift: float):
    if isinstance(spec, (int, float)):
        return ql.BlackConstantVol(ref, CAL, float(spec) + shift, DC)
    surface = ql.BlackVarianceCurve(ref, [qdate(d) for d in spec["dates"]],
                                    [v + shift for v in spec["vols"]], DC, True)
    surface.enableExtrapolation()
    return surface


class Setup:
    """The market of one underlying in QuantLib, moved by the bumps of the Greeks: ``day``
    (valuation date plus that many days), ``rate`` (parallel zero-rate shift), ``vol``
    (parallel vol shift, GBM), ``sigma0`` (√v0 shift, Heston), ``spot`` (relative)."""

    def __init__(self, market: dict, name: str, *, day: int = 0, rate: float = 0.0,
                 vol: float = 0.0, sigma0: float = 0.0, spot: float = 0.0):
        spec = market["underlyings"][name]
        self.ref = qdate(market["valuation_date"]) + day
        ql.Settings.instance().evaluationDate = self.ref
        self.spec = spec
        self.rates = ql.YieldTermStructureHandle(
            _curve(market["curves"][spec["curve"]], self.ref, rate, "zero_rates"))
        self.yields = ql.YieldTermStructureHandle(
            _curve(spec.get("dividend_yield"), self.ref, 0.0, "yields"))
        self.spot = ql.QuoteHandle(ql.SimpleQuote(spec["spot"] * (1.0 + spot)))
        cash = [d for d in spec.get("dividends", []) if "amount" in d]
        assert len(cash) == len(spec.get("dividends", [])), "only cash dividends are modelled"
        self.dividends = [(qdate(d["ex_date"]), d["amount"]) for d in cash]
        if "heston" in spec:
            h = spec["heston"]
            v0 = (math.sqrt(h["v0"]) + sigma0) ** 2
            self.process = ql.HestonProcess(self.rates, self.yields, self.spot, v0, h["kappa"],
                                            h["theta"], h["xi"], h["rho"])
            self.model = ql.HestonModel(self.process)
        else:
            self.process = ql.BlackScholesMertonProcess(
                self.spot, self.yields, self.rates,
                ql.BlackVolTermStructureHandle(_vol(spec["vol"], self.ref, vol)))

    def schedule(self, expiry: ql.Date):
        """The cash dividends paid after the valuation date and on or before ``expiry``."""
        paid = [(d, a) for d, a in self.dividends if self.ref < d <= expiry]
        return ql.DividendVector([d for d, _ in paid], [a for _, a in paid])


class Grid:
    """Finite-difference sizes: GBM (time steps, space nodes) = ``gbm`` × (100 a year, 100),
    Heston (time, space, variance) = ``heston`` × (200 a year, 200, 80); at least a quarter
    year's steps."""

    def __init__(self, gbm: float, heston: float):
        self.gbm_scale, self.heston_scale = gbm, heston

    def gbm(self, years: float) -> tuple[int, int]:
        s = self.gbm_scale
        return (int(s * 100 * max(years, 0.25)), int(s * 100))

    def heston(self, years: float) -> tuple[int, int, int]:
        s = self.heston_scale
        return (int(s * 200 * max(years, 0.25)), int(s * 200), int(s * 80))


def _option(row, setup: Setup, grid: Grid) -> tuple[ql.VanillaOption, bool, bool]:
    """The row's option with its engine; whether the engine is a finite-difference one, and
    whether it gives its own delta and gamma."""
    kind = ql.Option.Call if row["option_type"] == "call" else ql.Option.Put
    payoff = ql.PlainVanillaPayoff(kind, float(row["strike"]))
    expiry = qdate(row["expiry"])
    if row["instrument"] == "american":
        exercise = ql.AmericanExercise(setup.ref, expiry)
    elif row["instrument"] == "bermudan":
        exercise = ql.BermudanExercise([qdate(d) for d in row["fixing_dates"].split(";")])
    else:
        exercise = ql.EuropeanExercise(expiry)
    option = ql.VanillaOption(payoff, exercise)
    years = DC.yearFraction(setup.ref, expiry)
    dividends = setup.schedule(expiry)
    finite = row["instrument"] in EXERCISE or len(dividends) > 0
    if "heston" in setup.spec:
        if finite:
            t, x, v = grid.heston(years)
            engine = ql.FdHestonVanillaEngine(setup.model, dividends, t, x, v, 0,
                                              ql.FdmSchemeDesc.Hundsdorfer())
        else:
            engine = ql.AnalyticHestonEngine(setup.model, 1e-12, 100000)
        option.setPricingEngine(engine)
        return option, finite, finite
    if finite:
        t, x = grid.gbm(years)
        engine = ql.FdBlackScholesVanillaEngine(setup.process, dividends, t, x, 20,
                                                ql.FdmSchemeDesc.Douglas())
    else:
        engine = ql.AnalyticEuropeanEngine(setup.process)
    option.setPricingEngine(engine)
    return option, finite, True


def _npv(row, market, grid, **bump) -> float:
    option, _, _ = _option(row, Setup(market, row["underlying"], **bump), grid)
    return option.NPV()


def reference(row, market: dict, grid: Grid) -> dict:
    """QuantLib's price and Greeks of one row (see the module docstring)."""
    name = row["underlying"]
    heston = "heston" in market["underlyings"][name]
    setup = Setup(market, name)
    option, finite, own = _option(row, setup, grid)
    out = {"price": option.NPV()}
    spot = market["underlyings"][name]["spot"]
    if own:
        out["delta"], out["gamma"] = option.delta(), option.gamma()
    else:  # the Fourier price: differences of the spot
        h, g = 1e-3, 1e-2
        up, down = _npv(row, market, grid, spot=h), _npv(row, market, grid, spot=-h)
        out["delta"] = (up - down) / (2 * h * spot)
        up, down = _npv(row, market, grid, spot=g), _npv(row, market, grid, spot=-g)
        out["gamma"] = (up - 2 * out["price"] + down) / (g * spot) ** 2
    k = 1e-3 if finite else 1e-4
    key = "sigma0" if heston else "vol"
    out["vega"] = (_npv(row, market, grid, **{key: k})
                   - _npv(row, market, grid, **{key: -k})) / (2 * k)
    out["rho_rate"] = (_npv(row, market, grid, rate=k) - _npv(row, market, grid, rate=-k)) / (2 * k)
    out["theta_per_day"] = _npv(row, market, grid, day=1) - out["price"]
    ql.Settings.instance().evaluationDate = setup.ref
    return out


COARSE, FINE = Grid(32, 2), Grid(64, 3)  # GBM 3,200 / 6,400 nodes; Heston 400 × 160 / 600 × 240


def references(book: pd.DataFrame, market: dict) -> pd.DataFrame:
    """One row per position and Greek: QuantLib's value (the fine grid's) and ``grid_change``
    (fine − coarse; 0 for closed forms), with the time taken."""
    records = []
    for _, row in book.iterrows():
        start = time.perf_counter()
        fine = reference(row, market, FINE)
        finite = row["instrument"] in EXERCISE or _has_cash(row, market)
        coarse = reference(row, market, COARSE) if finite else fine
        seconds = time.perf_counter() - start
        for greek in GREEKS:
            records.append({"id": row["id"], "greek": greek, "ref": fine[greek],
                            "grid_change": fine[greek] - coarse[greek], "ref_seconds": seconds})
    return pd.DataFrame(records)


def _has_cash(row, market) -> bool:
    expiry = dt.date.fromisoformat(row["expiry"])
    return any("amount" in d and dt.date.fromisoformat(d["ex_date"]) <= expiry
               for d in market["underlyings"][row["underlying"]].get("dividends", []))


def estimates(book: pd.DataFrame, market: dict, paths: int, seeds, threads: int):
    """greeks' estimates, long: id, seed, greek, est, se; and the seconds per seed."""
    import greeks

    records, seconds = [], {}
    positions = book.drop(columns=["group"])
    for seed in seeds:
        start = time.perf_counter()
        out = greeks.price_portfolio(positions, market=market, paths=paths, seed=seed,
                                     threads=threads, greeks="gamma,rho,theta")
        seconds[seed] = time.perf_counter() - start
        for _, r in out.iterrows():
            for greek in GREEKS:
                records.append({"id": r["id"], "seed": seed, "greek": greek,
                                "est": float(r[greek]), "se": float(r[f"{greek}_se"]),
                                "method": r["method"]})
    return pd.DataFrame(records), seconds


def scored(book: pd.DataFrame, est: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    """z = (est − ref)/se, and for american and bermudan rows z after the allowance."""
    table = est.merge(ref, on=["id", "greek"]).merge(
        book[["id", "group", "instrument"]], on="id")
    table["z"] = (table["est"] - table["ref"]) / table["se"]
    rel = table["greek"].map(lambda g: ALLOWANCE[g][0])
    absolute = table["greek"].map(lambda g: ALLOWANCE[g][1])
    exercise = table["instrument"].isin(EXERCISE)
    table["allowance"] = np.where(exercise, rel * table["ref"].abs() + absolute, 0.0)
    excess = np.maximum((table["est"] - table["ref"]).abs() - table["allowance"], 0.0)
    table["z_adj"] = np.sign(table["z"]) * excess / table["se"]
    table["grid_se"] = table["grid_change"].abs() / table["se"]
    return table


def se_check(book: pd.DataFrame, market: dict, ids, paths: int, seeds, threads: int,
             ref: pd.DataFrame):
    """Spread of the estimates over the seeds against the mean reported SE, per row and
    Greek, with the chi-square 99 % band of that ratio for n seeds; and the mean over the
    seeds against the reference, z of the mean = (mean − ref)/(mean SE/√n) (after the
    allowance for american and bermudan rows)."""
    from scipy.stats import chi2

    est, seconds = estimates(book[book["id"].isin(ids)], market, paths, seeds, threads)
    n = len(seeds)
    low, high = (math.sqrt(chi2.ppf(p, n - 1) / (n - 1)) for p in (0.005, 0.995))
    refs = ref.set_index(["id", "greek"])["ref"]
    exercise = set(book.loc[book["instrument"].isin(EXERCISE), "id"])
    rows = []
    for (rid, greek), g in est.groupby(["id", "greek"], sort=False):
        spread = g["est"].std(ddof=1)
        mean_se = g["se"].mean()
        mean, reference_value = g["est"].mean(), refs[(rid, greek)]
        rel, absolute = ALLOWANCE[greek] if rid in exercise else (0.0, 0.0)
        excess = max(abs(mean - reference_value) - rel * abs(reference_value) - absolute, 0.0)
        rows.append({"id": rid, "greek": greek, "mean": mean, "ref": reference_value,
                     "spread": spread, "mean_se": mean_se,
                     "ratio": spread / mean_se if mean_se > 0 else np.nan,
                     "z_mean": math.copysign(excess, mean - reference_value)
                     / (mean_se / math.sqrt(n)) if mean_se > 0 else np.nan})
    frame = pd.DataFrame(rows)
    frame["outside"] = (frame["ratio"] < low) | (frame["ratio"] > high)
    return frame, (low, high), sum(seconds.values())


# ------------------------------------------------------------------------------ report

def _fmt(x: float, digits: int = 6) -> str:
    if not np.isfinite(x):
        return "nan"
    return f"{x:.{digits}g}"


def _rms(z) -> float:
    z = np.asarray(z, dtype=float)
    z = z[np.isfinite(z)]
    return float(np.sqrt(np.mean(z ** 2))) if len(z) else float("nan")


def report(args, market, book, table, timing, se, band, se_seconds, ref_seconds) -> str:
    seeds = sorted(table["seed"].unique())
    lines = [
        "# greeks against QuantLib: dated positions off a market file",
        "",
        "`python benchmarks/quantlib_check.py " + " ".join(sys.argv[1:]) + "`",
        "",
        f"- date: {dt.datetime.now().isoformat(timespec='seconds')}; machine: {cpu_name()}, "
        f"load average {load_average()}; python {platform.python_version()}, QuantLib "
        f"{ql.__version__}; code {code_version()}",
        f"- {args.paths:,} paths, seeds {', '.join(map(str, seeds))}, threads {args.threads}, "
        f"greeks gamma,rho,theta; market and book from `--market-seed {args.market_seed}`",
        "- greeks: " + ", ".join(f"seed {s} {t:.0f} s" for s, t in timing.items())
        + f"; QuantLib references {ref_seconds:.0f} s; SE check {se_seconds:.0f} s",
        "- z = (estimate − reference)/SE; `z adj` for american and bermudan rows after the "
        "documented allowance (price 0.3 % + 0.002, delta 1 % + 0.002, vega 2 % + 0.02, "
        "gamma 10 %, rho 1 % + 0.002, theta 1 % + 0.002 a year); `grid` the QuantLib "
        "finite-difference value's change from the coarse grid to the fine one (GBM 3,200 → "
        "6,400 space nodes and steps a year; Heston 400 × 160 → 600 × 240 nodes, 400 → 600 "
        "steps a year), in SEs of the first seed",
        "",
        "Units: per unit; vega per 1.00 of vol (a parallel shift of the vol nodes; Heston "
        "∂V/∂σ0, σ0 = √v0), rho_rate per 1.00 of a parallel zero-rate shift, theta_per_day the "
        "value a day later (nodes and ex-dates kept) minus today's.",
        "",
    ]
    lines += _summary(table, se)
    groups = {"gbm-curves": "GBM europeans off curves and vol term structures "
                            "(QuantLib: AnalyticEuropeanEngine)",
              "cash": "Cash dividends: europeans and americans (QuantLib: "
                      "FdBlackScholesVanillaEngine with the dividends, Spot model)",
              "heston": "Heston (QuantLib: AnalyticHestonEngine; american and cash-dividend "
                        "rows FdHestonVanillaEngine)",
              "bermudan": "Bermudan (QuantLib: FdBlackScholesVanillaEngine, BermudanExercise)"}
    first = table[table["seed"] == seeds[0]].set_index(["id", "greek"])
    for group, title in groups.items():
        part = table[table["group"] == group]
        if part.empty:
            continue
        lines += [f"## {title}", "",
                  "| id | greek | reference | grid | estimate ± SE (seed " + str(seeds[0])
                  + ") | z per seed | z adj per seed |",
                  "| --- | --- | ---: | ---: | ---: | --- | --- |"]
        for (rid, greek), g in part.groupby(["id", "greek"], sort=False):
            f = first.loc[(rid, greek)]
            exercise = f["instrument"] in EXERCISE
            grid = "" if f["grid_change"] == 0 else f"{f['grid_se']:.2f}"
            if not np.isfinite(f["est"]):
                lines.append(f"| {rid} | {greek} | {_fmt(f['ref'], 8)} | {grid} | "
                             "NaN (no estimate) | | |")
                continue
            zs = ", ".join(f"{z:+.2f}" for z in g["z"])
            adj = ", ".join(f"{z:+.2f}" for z in g["z_adj"]) if exercise else ""
            lines.append(f"| {rid} | {greek} | {_fmt(f['ref'], 8)} | {grid} | "
                         f"{_fmt(f['est'], 8)} ± {_fmt(f['se'], 3)} | {zs} | {adj} |")
        lines += ["", "rms z per Greek: "
                  + ", ".join(f"{greek} {_rms(part[part['greek'] == greek]['z']):.2f}"
                              for greek in GREEKS)]
        if part["instrument"].isin(EXERCISE).any():
            lines[-1] += ("; after the allowance (american and bermudan rows): "
                          + ", ".join(f"{greek} {_rms(_z(part[part['greek'] == greek])):.2f}"
                                      for greek in GREEKS))
        lines.append("")
    lines += ["## rms z per Greek, all groups (after the allowance for american and bermudan "
              "rows)", "",
              "| greek | " + " | ".join(groups) + " | all |",
              "| --- |" + " ---: |" * (len(groups) + 1)]
    for greek in GREEKS:
        cells = [_rms(_z(table[(table["group"] == g) & (table["greek"] == greek)]))
                 for g in groups]
        cells.append(_rms(_z(table[table["greek"] == greek])))
        lines.append(f"| {greek} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    bad = table[_z(table).abs() > 3]
    lines += ["", "## |z| > 3 (after the allowance for american and bermudan rows)", ""]
    if bad.empty:
        lines.append("None.")
    else:
        lines += ["| id | greek | seed | estimate | SE | reference | z | z adj | grid |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for _, r in bad.iterrows():
            lines.append(f"| {r['id']} | {r['greek']} | {r['seed']} | {_fmt(r['est'], 8)} | "
                         f"{_fmt(r['se'], 3)} | {_fmt(r['ref'], 8)} | {r['z']:+.2f} | "
                         f"{r['z_adj']:+.2f} | {r['grid_se']:.2f} |")
    raw = table[(table["z"].abs() > 3) & table["instrument"].isin(EXERCISE)
                & (table["z_adj"].abs() <= 3)]
    if not raw.empty:
        lines += ["", "Within the allowance but |z| > 3 before it: "
                  + ", ".join(f"{r['id']} {r['greek']} seed {r['seed']} (z {r['z']:+.2f})"
                              for _, r in raw.iterrows()), ""]
    lines += [""] + _se_lines(se, band, args.se_seeds, args.se_paths)
    lines += ["## Inputs", "", "Market file:", "", "```json", json.dumps(market, indent=1),
              "```", "", "Positions (the `group` column is this script's):", "", "```",
              book.to_csv(index=False).strip(), "```", ""]
    return "\n".join(lines)


def _se_lines(se: pd.DataFrame, band, seeds: str, paths: int) -> list[str]:
    lines = [f"## Standard errors: spread over seeds {seeds} at {paths:,} paths",
             "", f"Ratio = standard deviation of the estimates over the seeds / mean reported "
             f"SE; the 99 % band of the ratio for {len(parse_seeds(seeds))} seeds if "
             f"the SEs are right: [{band[0]:.2f}, {band[1]:.2f}].", "",
             "`z of mean` = (mean − reference)/(mean SE/√n), after the allowance for american "
             "and bermudan rows: a bias test at the pooled path count (the rows of one seed "
             "share paths, so a row's Greeks move together).", "",
             "| id | greek | mean | reference | z of mean | spread | mean SE | ratio |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for _, r in se.iterrows():
        if not np.isfinite(r["mean"]):
            lines.append(f"| {r['id']} | {r['greek']} | NaN (no estimate) | "
                         f"{_fmt(r['ref'], 7)} | | | | |")
            continue
        flag = " **outside**" if r["outside"] else ""
        lines.append(f"| {r['id']} | {r['greek']} | {_fmt(r['mean'], 7)} | "
                     f"{_fmt(r['ref'], 7)} | {r['z_mean']:+.2f} | "
                     f"{_fmt(r['spread'], 3)} | {_fmt(r['mean_se'], 3)} | "
                     f"{r['ratio']:.2f}{flag} |")
    return lines + ["", f"rms of log(ratio) over the rows and Greeks: "
                    f"{_rms(np.log(se['ratio'].dropna())):.3f} (pooled ratio "
                    f"{math.sqrt(np.nanmean(se['ratio'] ** 2)):.3f})", ""]


def followup(args, market: dict, book: pd.DataFrame) -> str:
    """Only the SE check's table, for the rows ``--followup`` names."""
    ids = args.followup.split(",")
    part = book[book["id"].isin(ids)]
    ref = references(part, market)
    se, band, seconds = se_check(book, market, ids, args.se_paths,
                                 parse_seeds(args.se_seeds), args.threads, ref)
    return "\n".join([
        "# greeks against QuantLib: follow-up", "",
        "`python benchmarks/quantlib_check.py " + " ".join(sys.argv[1:]) + "`", "",
        f"- date: {dt.datetime.now().isoformat(timespec='seconds')}; machine: {cpu_name()}, "
        f"load average {load_average()}; QuantLib {ql.__version__}; code {code_version()}; "
        f"{seconds:.0f} s; market and book from `--market-seed {args.market_seed}` "
        "(inputs in quantlib_check.md)", ""] + _se_lines(se, band, args.se_seeds, args.se_paths))


def _summary(table: pd.DataFrame, se: pd.DataFrame) -> list[str]:
    """The suspicious results: |z| > 3 after the allowance on some seed, |z of mean| > 3 or
    an SE ratio outside its band in the SE check, and the Greeks not estimated."""
    lines = ["## Summary", ""]
    bad = table[_z(table).abs() > 3]
    for (rid, greek), g in bad.groupby(["id", "greek"], sort=False):
        lines.append(f"- {rid} {greek}: |z| > 3 after the allowance on seeds "
                     + ", ".join(f"{r['seed']} ({r['z_adj']:+.2f})" for _, r in g.iterrows()))
    for _, r in se[(se["z_mean"].abs() > 3) | se["outside"]].iterrows():
        lines.append(f"- {r['id']} {r['greek']} (SE check): z of mean {r['z_mean']:+.2f}, "
                     f"spread/SE {r['ratio']:.2f}")
    missing = table[~np.isfinite(table["est"])].drop_duplicates(["id", "greek"])
    if not missing.empty:
        lines.append("- not estimated (NaN): " + ", ".join(
            f"{r['id']} {r['greek']}" for _, r in missing.iterrows()))
    if len(lines) == 2:
        lines.append("Nothing: every |z| ≤ 3 and every SE ratio within its band.")
    return lines + [""]


def _z(frame: pd.DataFrame) -> pd.Series:
    """z after the allowance for american and bermudan rows, plain z for the others."""
    return frame["z_adj"].where(frame["instrument"].isin(EXERCISE), frame["z"])


def parse_seeds(text: str) -> list[int]:
    seeds = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            seeds += list(range(int(a), int(b) + 1))
        else:
            seeds.append(int(part))
    return seeds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--market-seed", type=int, default=7)
    parser.add_argument("--paths", type=int, default=200_000)
    parser.add_argument("--seeds", default="1-3")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--se-paths", type=int, default=20_000)
    parser.add_argument("--se-seeds", default="101-110")
    parser.add_argument("--se-rows", default="IDX-EC-2,DIV-EC-8,DIV-AP-10,DIV-EP-15,"
                        "HST-EP-17,HST-AP-20,HSTD-EC-22,HSTD-AP-23,DIV-BP-24,DIV-BC-25,"
                        "IDX-BP-26",
                        help="ids of the rows whose SEs are checked against the spread")
    parser.add_argument("--followup", default=None,
                        help="ids: only the SE check (--se-paths, --se-seeds) of these rows")
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--csv", default=None, help="also write the long table of z's")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.market_seed)
    market = random_market(rng)
    book = random_book(rng, market)
    if args.followup:
        _write(followup(args, market, book), args.output)
        return
    start = time.perf_counter()
    ref = references(book, market)
    ref_seconds = time.perf_counter() - start
    print(f"references {ref_seconds:.0f} s", flush=True)
    est, timing = estimates(book, market, args.paths, parse_seeds(args.seeds), args.threads)
    print("greeks " + ", ".join(f"{t:.0f} s" for t in timing.values()), flush=True)
    table = scored(book, est, ref)
    se, band, se_seconds = se_check(book, market, args.se_rows.split(","), args.se_paths,
                                    parse_seeds(args.se_seeds), args.threads, ref)
    _write(report(args, market, book, table, timing, se, band, se_seconds, ref_seconds),
           args.output)
    if args.csv:
        table.to_csv(args.csv, index=False)


def _write(text: str, output: str) -> None:
    if output == "-":
        print(text)
    else:
        Path(output).write_text(text)
        print(f"wrote {output}")


if __name__ == "__main__":
    main()
