"""Random markets and dated books priced off them against references written here, in units of
the reported standard errors: what a checker with unseen market and instrument files does.

    python benchmarks/market_random.py [--seeds 1-30] [--paths 200000] [--threads 1]
                                       [--ref-pairs 2000000] [--output FILE] [--csv FILE]
                                       [--references FILE]
    python benchmarks/market_random.py --seeds 3 --rows s3-5 --price-seeds 101,102,103
                --paths 800000 --ref-pairs 8000000 --ref-seed 2 --no-reverse --output -
                (one row of seed 3's book, the whole book priced with other seeds)

For each seed a random market (valuation date; 1–2 currencies with 2–4 zero-rate nodes at
least 60 days apart, zero rates in −0.5 %…7 %, forwards in −2 %…12 %; 2–3 GBM underlyings
with a flat or curved dividend yield, sometimes 1–2 proportional dividends, sometimes 1–2
cash dividends, a flat vol or a 2–4 node term structure with forward vols in 8 %…70 %; one
Heston underlying, sometimes with proportional dividends) and 8–12 random positions on it
(european and cash digital calls and puts on every underlying, asians on fixing dates and
knock-out/knock-in barriers on fixing dates or a count of fixings on the GBM ones; strikes
0.7–1.3 of spot, expiries 1 month–2 years, some on an ex-date, some fixings on one; some rows
with their own vol, rate or yield; multipliers and quantities) are written to temporary files and
priced with the command line (``greeks price book.csv --market market.json --paths N --seed S
--threads T --greeks gamma,rho,theta --output out.csv``), then again with the rows reversed:
every number must be bit-identical per id.

References (nothing imported from ``greeks``):

- GBM european and digital rows without cash dividends before expiry: Black–Scholes on
  DF(T) = exp(−I_r(T)), the forward S0·G(T), G(t) = exp(I_r(t) − I_q(t))·Π(1 − y_j) over the
  proportional ex-dates τ_j ≤ t, and the total variance w(T);
- with cash dividends: the expectation over the spot just before each ex-date, a trapezoid
  rule in the standard normal variable of each segment (nested for two dividends; spacing a
  quarter of the width over which the value after the ex-date varies, so spectrally
  accurate), Black–Scholes after the last drop; a drop on the expiry itself in closed form
  (a call on S − D is a call struck at K + D);
- Heston european and digital rows: Gil-Pelaez inversion of the zero-carry characteristic
  function (Albrecher's form) at the forward S0·G(T), discounted by DF(T), fixed Gauss–Legendre
  nodes;
- asian and barrier rows: a plain numpy simulation on the row's dates and the ex-dates
  (exact log-normal steps of the variance clock, the drops, antithetic pairs; the asian's
  price with the average of the unfloored prices as control variate; its own SE enters z).

Greeks of the references are central differences of the reference (five points for delta and
gamma, four for vega and rho; common random numbers for the simulation): vega the parallel
shift of every vol node (Heston: of σ0 = √v0), rho the parallel shift of the row's zero
curve (or its own rate), theta the value with the valuation date a day later (every node,
ex-date and fixing kept on its calendar date) minus today's. For each row and Greek
z = (estimate − reference)/√(se² + se_ref²); the summary gives per Greek the root mean square,
the largest |z| and the shares above 2 and 3, and lists the rows with |z| > 3 (and the worst
ones), and the flat equivalents (maturity, zero rate, yield, vol) resolved here against the
package's result columns.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import code_version, cpu_name, load_average  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "market_random.md"
GREEKS = ("price", "delta", "vega", "gamma", "rho_rate", "theta_per_day")
DEGENERATE = 1000.0  # |z| beyond this: an SE at rounding level, kept out of the statistics
YEAR = 365.0


# ------------------------------------------------------------------------------ random inputs

def _day(base: dt.date, days: int) -> str:
    return (base + dt.timedelta(days=int(days))).isoformat()


def _node_days(rng, low: int, high: int, count: int, gap: int) -> np.ndarray:
    """``count`` increasing day numbers in [low, high) at least ``gap`` days apart."""
    while True:
        days = np.sort(rng.choice(np.arange(low, high), count, replace=False))
        if np.all(np.diff(days) >= gap):
            return days


def _sane_zeros(rng, days, low, high, forward_low, forward_high) -> list[float]:
    """Zero rates (or yields) in [low, high] at ``days`` whose forwards between nodes, which
    the last one continues, stay in [forward_low, forward_high]."""
    t = np.r_[0.0, np.asarray(days) / YEAR]
    while True:
        zeros = np.round(rng.uniform(low, high, len(days)), 4)
        forwards = np.diff(np.r_[0.0, zeros * t[1:]]) / np.diff(t)
        if forwards.min() >= forward_low and forwards.max() <= forward_high:
            return [float(z) for z in zeros]


def _increasing_vols(rng, days) -> list[float]:
    """Vols in [0.12, 0.45] at ``days`` whose forward vols stay in [0.08, 0.7], also with
    every vol moved by ±0.04 (the simulated references' vega stencil)."""
    t = np.r_[0.0, np.asarray(days) / YEAR]
    while True:
        vols = np.round(rng.uniform(0.12, 0.45, len(days)), 4)
        forwards = [np.diff(np.r_[0.0, (vols + s) ** 2 * t[1:]]) / np.diff(t)
                    for s in (-0.04, 0.0, 0.04)]
        if all(f.min() >= 0.08 ** 2 and f.max() <= 0.7 ** 2 for f in forwards):
            return [float(v) for v in vols]


def random_market(rng) -> dict:
    """Zero curves with 2–4 nodes at least 60 days apart (zero rates in −0.5 %…7 %, forwards
    in −2 %…12 %); yields flat or curved (forwards 0…10 %); vols flat or 2–4 nodes."""
    valuation = dt.date(2026, 1, 1) + dt.timedelta(days=int(rng.integers(0, 4 * 365)))
    currencies = ["USD", "EUR"][: int(rng.integers(1, 3))]
    curves = {}
    for name in currencies:
        days = _node_days(rng, 20, 3 * 365, int(rng.integers(2, 5)), 60)
        curves[name] = {"dates": [_day(valuation, d) for d in days],
                        "zero_rates": _sane_zeros(rng, days, -0.005, 0.07, -0.02, 0.12)}
    underlyings = {}
    names = ["AAA", "BBB", "CCC"][: int(rng.integers(2, 4))] + ["HST"]
    for name in names:
        spec = {"spot": round(float(math.exp(rng.uniform(math.log(20), math.log(5000)))), 2),
                "curve": str(rng.choice(currencies))}
        if rng.random() < 0.5:
            spec["dividend_yield"] = round(float(rng.uniform(0.0, 0.04)), 4)
        else:
            days = _node_days(rng, 30, 2 * 365, int(rng.integers(2, 4)), 60)
            spec["dividend_yield"] = {"dates": [_day(valuation, d) for d in days],
                                      "yields": _sane_zeros(rng, days, 0.0, 0.05, 0.0, 0.10)}
        heston = name == "HST"
        proportional = int(rng.integers(1, 3)) if rng.random() < 0.35 else 0
        cash = 0 if heston else (int(rng.integers(1, 3)) if rng.random() < 0.45 else 0)
        ex_days = np.sort(rng.choice(np.arange(5, 730), proportional + cash, replace=False))
        kinds = rng.permutation(["yield"] * proportional + ["amount"] * cash)
        dividends = []
        for d, kind in zip(ex_days, kinds):
            size = (round(float(rng.uniform(0.005, 0.03)), 4) if kind == "yield"
                    else round(spec["spot"] * float(rng.uniform(0.005, 0.03)), 2))
            dividends.append({"ex_date": _day(valuation, d), str(kind): size})
        if dividends:
            spec["dividends"] = dividends
        if heston:
            spec["heston"] = {"v0": round(float(rng.uniform(0.01, 0.12)), 4),
                              "kappa": round(float(rng.uniform(0.5, 4.0)), 3),
                              "theta": round(float(rng.uniform(0.02, 0.12)), 4),
                              "xi": round(float(rng.uniform(0.2, 0.9)), 3),
                              "rho": round(float(rng.uniform(-0.9, 0.0)), 3)}
        elif rng.random() < 0.4:
            spec["vol"] = round(float(rng.uniform(0.12, 0.45)), 4)
        else:
            days = _node_days(rng, 20, 2 * 365, int(rng.integers(2, 5)), 30)
            spec["vol"] = {"dates": [_day(valuation, d) for d in days],
                           "vols": _increasing_vols(rng, days)}
        underlyings[name] = spec
    return {"valuation_date": valuation.isoformat(), "curves": curves,
            "underlyings": underlyings}


def random_book(rng, market: dict, seed: int) -> pd.DataFrame:
    valuation = dt.date.fromisoformat(market["valuation_date"])
    names = list(market["underlyings"])
    rows = []
    for i in range(int(rng.integers(8, 13))):
        name = str(rng.choice(names))
        spec = market["underlyings"][name]
        heston = "heston" in spec
        instrument = str(rng.choice(["european", "digital"] if heston else
                                    ["european", "digital", "asian", "barrier"],
                                    p=None if heston else [0.3, 0.2, 0.25, 0.25]))
        spot = spec["spot"]
        days = int(rng.integers(30, 731))
        ex_days = [(dt.date.fromisoformat(d["ex_date"]) - valuation).days
                   for d in spec.get("dividends", [])]
        if ex_days and max(ex_days) >= 30 and rng.random() < 0.15:  # expiry on an ex-date
            days = int(rng.choice([d for d in ex_days if d >= 30]))
        strike = round(spot * float(rng.uniform(0.7, 1.3)), 2)
        row = {"id": f"s{seed}-{i}", "instrument": instrument,
               "option_type": str(rng.choice(["call", "put"])), "strike": strike,
               "expiry": _day(valuation, days), "underlying": name,
               "quantity": int(rng.choice([-1, 1]) * rng.integers(1, 50)),
               "multiplier": int(rng.choice([1, 10, 100]))}
        if instrument == "digital":
            row["payout"] = int(rng.choice([1, 10, 100]))
        if instrument == "asian":
            count = int(rng.integers(3, 13))
            row["fixing_dates"] = ";".join(_day(valuation, d) for d in _fixing_days(
                rng, days, count, ex_days))
        if instrument == "barrier":
            up = rng.random() < 0.5
            row["barrier_type"] = ("up" if up else "down") + str(rng.choice(["-and-out",
                                                                             "-and-in"]))
            row["barrier"] = round(max(spot, strike) * float(rng.uniform(1.05, 1.35)) if up else
                                   min(spot, strike) * float(rng.uniform(0.65, 0.95)), 2)
            if rng.random() < 0.7:
                count = int(np.clip(days // 7, 4, 26))
                row["fixing_dates"] = ";".join(_day(valuation, d)
                                               for d in _fixing_days(rng, days, count, ex_days))
            else:
                row["fixings"] = int(rng.integers(4, 27))
        if not heston and rng.random() < 0.2:
            row["vol"] = round(float(rng.uniform(0.12, 0.45)), 4)
        if rng.random() < 0.15:
            row["rate"] = round(float(rng.uniform(-0.005, 0.07)), 4)
        if rng.random() < 0.07:
            row["dividend"] = round(float(rng.uniform(0.0, 0.04)), 4)
        rows.append(row)
    return pd.DataFrame(rows)


def _fixing_days(rng, days: int, count: int, ex_days=()) -> list[int]:
    """``count`` increasing day numbers ending on ``days``, evenly spaced or at random; one
    ex-date before ``days`` among them a third of the time."""
    if rng.random() < 0.5:
        out = {int(round(days * k / count)) for k in range(1, count + 1)}
    else:
        out = set(int(d) for d in rng.choice(np.arange(1, days), count - 1,
                                             replace=False)) | {days}
    inside = [d for d in ex_days if d < days]
    if inside and rng.random() < 1 / 3:
        out.add(int(rng.choice(inside)))
    return sorted(d for d in out if d >= 1)


# ------------------------------------------------------------------------------- the market

class Integrated:
    """∫_0^t of a zero curve (or yield curve): linear between (0, 0) and (t_i, z_i t_i), the
    last interval's slope continued; ``shift`` moves every zero rate."""

    def __init__(self, times, zeros, shift=0.0):
        times = np.asarray(times, float)
        self.t = np.r_[0.0, times]
        self.v = np.r_[0.0, (np.asarray(zeros, float) + shift) * times]
        self.slope = (self.v[-1] - self.v[-2]) / (self.t[-1] - self.t[-2])

    def __call__(self, t):
        t = np.asarray(t, float)
        return np.where(t <= self.t[-1], np.interp(t, self.t, self.v),
                        self.v[-1] + self.slope * (t - self.t[-1]))


class Variance:
    """w(t) of a vol curve: linear between (0, 0) and (t_i, σ_i² t_i), σ_n² t beyond the last
    node; ``shift`` moves every σ_i."""

    def __init__(self, times, vols, shift=0.0):
        times = np.asarray(times, float)
        sig = np.asarray(vols, float) + shift
        self.t = np.r_[0.0, times]
        self.v = np.r_[0.0, sig * sig * times]
        self.last = sig[-1] ** 2

    def __call__(self, t):
        t = np.asarray(t, float)
        return np.where(t <= self.t[-1], np.interp(t, self.t, self.v), self.last * t)


def _given(row: dict, key: str) -> bool:
    value = row.get(key)
    return value is not None and not (isinstance(value, float) and math.isnan(value)) \
        and value != ""


@dataclass
class Setup:
    """One row on the market, possibly moved: spot, expiry T, fixing times, integrated rate,
    log-growth log G(t), cash dividends (τ, D) with 0 < τ ≤ T, and w(t) or Heston's
    parameters."""
    spot: float
    T: float
    fixings: np.ndarray
    rate: Integrated
    yield_: Integrated
    proportional: list
    cash: list
    variance: Variance | None
    heston: dict | None

    def log_growth(self, t):
        t = np.asarray(t, float)
        drops = sum(np.where(t >= tau, math.log1p(-y), 0.0) for tau, y in self.proportional)
        return self.rate(t) - self.yield_(t) + drops

    def discount(self) -> float:
        return float(np.exp(-self.rate(self.T)))


def setup(market: dict, row: dict, d_spot=0.0, d_vol=0.0, d_rate=0.0, days=0) -> Setup:
    """The row resolved against the market, its spot moved by ``d_spot``, every vol (Heston:
    √v0) by ``d_vol``, its zero curve (or own rate) by ``d_rate``, the valuation date by
    ``days`` calendar days (every date kept)."""
    valuation = dt.date.fromisoformat(market["valuation_date"])

    def years(date: str) -> float:
        return ((dt.date.fromisoformat(date) - valuation).days - days) / YEAR

    spec = market["underlyings"][row["underlying"]]
    spot = (float(row["spot"]) if _given(row, "spot") else spec["spot"]) + d_spot
    T = years(row["expiry"])
    if _given(row, "fixing_dates"):
        fixings = np.array([years(d) for d in str(row["fixing_dates"]).split(";")])
    elif _given(row, "fixings"):
        n = int(float(row["fixings"]))
        t0 = (dt.date.fromisoformat(row["expiry"]) - valuation).days / YEAR
        fixings = np.array([t0 * k / n for k in range(1, n)] + [t0]) - days / YEAR
        fixings[-1] = T
    else:
        fixings = np.array([T])
    if _given(row, "rate"):
        rate = Integrated([1.0], [float(row["rate"])], d_rate)
    else:
        curve = market["curves"][spec["curve"]]
        if isinstance(curve, (int, float)):
            rate = Integrated([1.0], [float(curve)], d_rate)
        else:
            rate = Integrated([years(d) for d in curve["dates"]], curve["zero_rates"], d_rate)
    proportional, cash = [], []
    if _given(row, "dividend"):
        yield_ = Integrated([1.0], [float(row["dividend"])])
    else:
        q = spec.get("dividend_yield", 0.0)
        yield_ = (Integrated([1.0], [float(q)]) if isinstance(q, (int, float)) else
                  Integrated([years(d) for d in q["dates"]], q["yields"]))
        for div in spec.get("dividends", []):
            tau = years(div["ex_date"])
            if 0 < tau <= T:
                (proportional if "yield" in div else cash).append(
                    (tau, div["yield"] if "yield" in div else div["amount"]))
    variance = heston = None
    if "heston" in spec:
        heston = dict(spec["heston"])
        heston["v0"] = (math.sqrt(heston["v0"]) + d_vol) ** 2
    elif _given(row, "vol"):
        variance = Variance([1.0], [float(row["vol"])], d_vol)
    elif isinstance(spec["vol"], (int, float)):
        variance = Variance([1.0], [float(spec["vol"])], d_vol)
    else:
        variance = Variance([years(d) for d in spec["vol"]["dates"]], spec["vol"]["vols"], d_vol)
    return Setup(spot, T, fixings, rate, yield_, proportional, sorted(cash), variance, heston)


# ---------------------------------------------------------------- closed forms and quadrature

def _undiscounted(kind, omega, forward, strike, v, payout):
    """Black's E[payoff] for a forward, strike and total variance v > 0 (forward 0 allowed)."""
    with np.errstate(divide="ignore"):
        sd = math.sqrt(v)
        d1 = (np.log(forward / strike) + 0.5 * v) / sd
    d2 = d1 - sd
    if kind == "european":
        return omega * (forward * ndtr(omega * d1) - strike * ndtr(omega * d2))
    return payout * ndtr(omega * d2)


def _last_drop(kind, omega, forward, strike, v, payout, drop):
    """E[payoff(max(S − D, 0))] for S log-normal (forward, variance v): a call on S − D is a
    call on S struck at K + D; the put subtracts the part below D; a digital moves its
    strike."""
    if kind == "digital":
        return _undiscounted(kind, omega, forward, strike + drop, v, payout)
    if omega > 0:
        return _undiscounted(kind, 1.0, forward, strike + drop, v, payout)
    return (_undiscounted(kind, -1.0, forward, strike + drop, v, payout)
            - _undiscounted(kind, -1.0, forward, drop, v, payout))


def gbm_value(st: Setup, kind, omega, strike, payout) -> float:
    """European or cash digital under GBM on the curves; cash dividends by nested trapezoid
    rules over each segment's normal variable."""
    w, lg = st.variance, st.log_growth
    T = st.T
    if not st.cash:
        forward = st.spot * math.exp(lg(T))
        return st.discount() * float(_undiscounted(kind, omega, forward, strike, w(T), payout))
    spots, weights = np.array([st.spot]), np.array([1.0])
    t_prev = 0.0
    stages = st.cash[:-1] if st.cash[-1][0] == T else st.cash
    for tau, drop in stages:
        dw = float(w(tau) - w(t_prev))
        width = math.sqrt(float(w(T) - w(tau)) / dw)
        h = min(max(width / 4.0, 2e-3), 0.1)
        x = np.arange(-9.0, 9.0 + h / 2, h)
        q = np.exp(-0.5 * x * x)
        q /= q.sum()
        step = np.exp(float(lg(tau) - lg(t_prev)) - 0.5 * dw + math.sqrt(dw) * x)
        spots = np.maximum(spots[..., None] * step - drop, 0.0)
        weights = weights[..., None] * q
        t_prev = tau
    forward = spots * math.exp(float(lg(T) - lg(t_prev)))
    v = float(w(T) - w(t_prev))
    if st.cash[-1][0] == T:
        values = _last_drop(kind, omega, forward, strike, v, payout, st.cash[-1][1])
    else:
        values = _undiscounted(kind, omega, forward, strike, v, payout)
    return st.discount() * float(np.sum(weights * values))


def heston_psi(u, T, v0, kappa, theta, xi, rho):
    """E[exp(i u log(S_T/F))] under zero-carry Heston (Albrecher et al.'s 'little trap')."""
    with np.errstate(all="ignore"):  # far out in u, |ψ| underflows to 0
        beta = kappa - 1j * rho * xi * u
        d = np.sqrt(beta * beta + xi * xi * (1j * u + u * u))
        g = (beta - d) / (beta + d)
        e = np.exp(-d * T)
        C = kappa * theta / xi ** 2 * ((beta - d) * T - 2.0 * np.log((1.0 - g * e) / (1.0 - g)))
        D = (beta - d) / xi ** 2 * (1.0 - e) / (1.0 - g * e)
        return np.exp(C + D * v0)


def heston_nodes(st: Setup):
    """Fixed Gauss–Legendre nodes on (0, U], U where |ψ(u)|/u falls below 1e-17 (times 1.5)."""
    h = st.heston
    grid = np.logspace(-1, 6, 400)
    size = np.abs(heston_psi(grid - 1j, st.T, h["v0"], h["kappa"], h["theta"], h["xi"],
                             h["rho"])) / grid
    U = 1.5 * grid[min(np.nonzero(size > 1e-17)[0][-1] + 1, grid.size - 1)]
    x, a = np.polynomial.legendre.leggauss(32)
    edges = np.linspace(0.0, U, 161)
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * a).ravel()


def heston_value(st: Setup, kind, omega, strike, payout, nodes) -> float:
    """Gil-Pelaez: P2 = P(S_T > K), P1 its share-measure twin, at k = log(K/F)."""
    h = st.heston
    forward = st.spot * math.exp(float(st.log_growth(st.T)))
    k = math.log(strike / forward)
    u, a = nodes
    args = (st.T, h["v0"], h["kappa"], h["theta"], h["xi"], h["rho"])
    phase = np.exp(-1j * u * k) / (1j * u)
    p2 = 0.5 + float(a @ np.real(phase * heston_psi(u, *args))) / math.pi
    df = st.discount()
    if kind == "digital":
        return df * payout * (p2 if omega > 0 else 1.0 - p2)
    p1 = 0.5 + float(a @ np.real(phase * heston_psi(u - 1j, *args))) / math.pi
    call = df * (forward * p1 - strike * p2)
    return call if omega > 0 else call - df * (forward - strike)


# ------------------------------------------------------------------------ numpy simulation

def _payoff_paths(st: Setup, z, kind, omega, strike, barrier, barrier_type):
    """Discounted payoffs on the paths of normals ``z`` (pairs × grid): exact steps of the
    variance clock between the fixings and cash ex-dates, the drops at the ex-dates; and the
    discounted average of the unfloored prices (drops not floored at 0), the asian's
    control."""
    grid = np.unique(np.r_[st.fixings, [tau for tau, _ in st.cash]])
    dw = np.diff(st.variance(grid), prepend=0.0)
    dlg = np.diff(st.log_growth(grid), prepend=0.0)
    steps = dlg - 0.5 * dw + np.sqrt(dw) * z
    drops = {np.searchsorted(grid, tau): d for tau, d in st.cash}
    at = np.searchsorted(grid, st.fixings)
    if not drops:
        prices = unfloored = st.spot * np.exp(np.cumsum(steps, axis=-1))
    else:
        prices, unfloored = np.empty_like(steps), np.empty_like(steps)
        s = u = np.full(steps.shape[:-1], st.spot)
        for k in range(grid.size):
            growth = np.exp(steps[..., k])
            s, u = s * growth, u * growth
            if k in drops:
                s, u = np.maximum(s - drops[k], 0.0), u - drops[k]
            prices[..., k], unfloored[..., k] = s, u
    prices = prices[..., at]
    linear = st.discount() * unfloored[..., at].mean(axis=-1)
    if kind == "asian":
        value = np.maximum(omega * (prices.mean(axis=-1) - strike), 0.0)
    else:
        if barrier_type.startswith("up"):
            touched = (prices >= barrier).any(axis=-1)
        else:
            touched = (prices <= barrier).any(axis=-1)
        alive = touched if barrier_type.endswith("in") else ~touched
        value = alive * np.maximum(omega * (prices[..., -1] - strike), 0.0)
    return st.discount() * value, linear


def _linear_mean(st: Setup) -> float:
    """E of the control: DF(T) times the average over the fixings of
    E[Ŝ(t)] = G(t) (S0 − Σ_{τ_j ≤ t} D_j / G(τ_j))."""
    paid = np.array([sum(d * math.exp(-float(st.log_growth(tau))) for tau, d in st.cash
                         if tau <= t) for t in st.fixings])
    return st.discount() * float(np.mean(np.exp(st.log_growth(st.fixings)) * (st.spot - paid)))


# ------------------------------------------------------------------------------- references

FIVE = {-2: 1 / 12, -1: -8 / 12, 1: 8 / 12, 2: -1 / 12}          # f' · h
SECOND = {-2: -1 / 12, -1: 16 / 12, 0: -30 / 12, 1: 16 / 12, 2: -1 / 12}  # f'' · h²


def _bumps(st0: Setup, simulated: bool, barrier: float = 0.0):
    """(name, kwargs of setup) for every evaluation; the steps h (spot), e (vol), r (rate):
    small for closed forms; for simulations (common random numbers: a discontinuous payoff's
    difference has variance ∝ 1/step) a fifth of the sd of the average, at most 3 % of
    spot and a quarter of the distance to a barrier, 0.02 of vol, 0.02 of rate (the
    stencils' bias is of fourth order: at 0.05 of rate it was 0.023 ± 0.003 on the rho of a
    1.3-year down-and-out at 15 % vol, 3.5 of the reference's SE; results/market_random.md)."""
    if simulated:
        sd = math.sqrt(float(st0.variance(st0.T)) / 3.0)
        h = st0.spot * min(max(0.2 * sd, 0.005), 0.03)
        if barrier:
            h = min(h, 0.25 * abs(barrier - st0.spot))
        e, r = 0.02, 0.02
    else:
        h, e, r = st0.spot * 2e-3, 1e-3, 1e-4
    plan = {"base": {}, "theta": {"days": 1}}
    for j in (-2, -1, 1, 2):
        plan[f"s{j}"] = {"d_spot": j * h}
        plan[f"v{j}"] = {"d_vol": j * e}
        plan[f"r{j}"] = {"d_rate": j * r}
    return plan, h, e, r


def _combine(values: dict, h, e, r):
    """The reference's Greeks from its evaluations (arrays per pair, or floats)."""
    base = values["base"]
    return {"price": base,
            "delta": sum(c * values[f"s{j}"] for j, c in FIVE.items()) / h,
            "gamma": (sum(c * values[f"s{j}"] for j, c in SECOND.items() if j)
                      + SECOND[0] * base) / h ** 2,
            "vega": sum(c * values[f"v{j}"] for j, c in FIVE.items()) / e,
            "rho_rate": sum(c * values[f"r{j}"] for j, c in FIVE.items()) / r,
            "theta_per_day": values["theta"] - base}


def reference(market: dict, row: dict, pairs: int, seed: tuple):
    """The row's reference Greeks and their standard errors (0 for closed forms).  The
    simulated asian's price has the average of the (unfloored) prices as control variate,
    its coefficient fitted on the same paths (a bias of order 1/pairs)."""
    kind, omega = row["instrument"], 1.0 if row["option_type"] == "call" else -1.0
    strike = float(row["strike"])
    payout = float(row["payout"]) if _given(row, "payout") else 1.0
    st0 = setup(market, row)
    simulated = kind in ("asian", "barrier")
    barrier = float(row["barrier"]) if kind == "barrier" else 0.0
    plan, h, e, r = _bumps(st0, simulated, barrier)
    setups = {name: setup(market, row, **kw) for name, kw in plan.items()}
    if not simulated:
        if st0.heston is not None:
            nodes = heston_nodes(st0)
            values = {n: heston_value(s, kind, omega, strike, payout, nodes)
                      for n, s in setups.items()}
        else:
            values = {n: gbm_value(s, kind, omega, strike, payout) for n, s in setups.items()}
        return _combine(values, h, e, r), {g: 0.0 for g in GREEKS}
    barrier_type = str(row.get("barrier_type", "")) if kind == "barrier" else ""
    rng = np.random.default_rng([*seed, 7919])
    width = np.unique(np.r_[st0.fixings, [tau for tau, _ in st0.cash]]).size
    chunk = max(1, min(pairs, 4_000_000 // width))
    sums, squares, done = {}, {}, 0
    moments = np.zeros(3)  # Σ L, Σ L², Σ f L over pairs: the asian's control
    while done < pairs:
        m = min(chunk, pairs - done)
        z = rng.standard_normal((m, width))
        values = {}
        for name, st in setups.items():
            pay = [_payoff_paths(st, s * z, kind, omega, strike, barrier, barrier_type)
                   for s in (1.0, -1.0)]
            values[name] = 0.5 * (pay[0][0] + pay[1][0])
            if name == "base":
                linear = 0.5 * (pay[0][1] + pay[1][1])
        for g, x in _combine(values, h, e, r).items():
            sums[g] = sums.get(g, 0.0) + float(x.sum())
            squares[g] = squares.get(g, 0.0) + float((x * x).sum())
        moments += [linear.sum(), (linear * linear).sum(), (values["base"] * linear).sum()]
        done += m
    mean = {g: sums[g] / pairs for g in sums}
    var = {g: max(squares[g] / pairs - mean[g] ** 2, 0.0) for g in sums}
    if kind == "asian":
        mean_l = moments[0] / pairs
        var_l = moments[1] / pairs - mean_l ** 2
        cov = moments[2] / pairs - mean["price"] * mean_l
        beta = cov / var_l if var_l > 0 else 0.0
        mean["price"] -= beta * (mean_l - _linear_mean(st0))
        var["price"] = max(var["price"] - 2 * beta * cov + beta * beta * var_l, 0.0)
    se = {g: math.sqrt(var[g] / (pairs - 1)) for g in sums}
    return mean, se


# ------------------------------------------------------------------------------ the package

def z_score(est, se, ref, ref_se) -> float:
    """(est − ref)/√(se² + se_ref²); NaN where the package gives no number; ±inf where both
    SEs are 0 and the numbers differ (a checker's z is then infinite)."""
    if not (np.isfinite(est) and np.isfinite(se)):
        return np.nan
    scale = math.hypot(se, ref_se)
    if scale == 0.0:
        return 0.0 if est == ref else math.copysign(math.inf, est - ref)
    return (est - ref) / scale


def price_cli(book: Path, market: Path, out: Path, paths: int, seed: int, threads: int):
    command = [sys.executable, "-m", "greeks", "price", str(book), "--market", str(market),
               "--paths", str(paths), "--seed", str(seed), "--threads", str(threads),
               "--greeks", "gamma,rho,theta", "--output", str(out), "--format", "csv"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")
    return pd.read_csv(out)


def bit_identical(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Ids whose numbers differ (NaN equal to NaN) between two result tables."""
    columns = [c for c in a.columns if any(c.startswith(g) for g in GREEKS)]
    a, b = a.set_index("id")[columns], b.set_index("id").loc[a["id"], columns]
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    return [i for i, ok in zip(a.index, same.all(axis=1)) if not ok]


def convention_gap(market: dict, row: dict, out) -> float:
    """Largest difference between the row's flat equivalents here (T, −log DF(T)/T, the yield
    of the same forward without cash dividends, √(w(T)/T)) and the package's result columns."""
    st = setup(market, row)
    mine = {"maturity": st.T, "rate": float(st.rate(st.T)) / st.T,
            "dividend": float(st.yield_(st.T) - sum(math.log1p(-y) for _, y in
                                                    st.proportional)) / st.T}
    if st.variance is not None:
        mine["vol"] = math.sqrt(float(st.variance(st.T)) / st.T)
    return max(abs(float(out[k]) - v) for k, v in mine.items())


def describe(market: dict, row: dict) -> str:
    """A short description of the row and what of the market it sees."""
    spec = market["underlyings"][row["underlying"]]
    st = setup(market, row)
    parts = [f"{row['instrument']} {row['option_type']}", f"K/S {row['strike'] / st.spot:.2f}",
             f"T {st.T:.2f}"]
    if row["instrument"] == "barrier":
        parts.append(f"{row['barrier_type']} B/S {row['barrier'] / st.spot:.2f} "
                     f"n={st.fixings.size}{' (fixings)' if _given(row, 'fixings') else ''}")
    if row["instrument"] == "asian":
        parts.append(f"n={st.fixings.size}")
    if "heston" in spec:
        h = spec["heston"]
        parts.append("heston(" + ",".join(f"{k}={v:g}" for k, v in h.items()) + ")")
    else:
        parts.append("vol " + ("flat" if isinstance(spec["vol"], (int, float)) else
                               f"TS{len(spec['vol']['vols'])}"))
    if isinstance(spec.get("dividend_yield"), dict):
        parts.append("yield curve")
    if st.cash:
        parts.append(f"cash×{len(st.cash)}")
    if st.proportional:
        parts.append(f"prop×{len(st.proportional)}")
    own = [c for c in ("vol", "rate", "dividend", "spot") if _given(row, c)]
    if own:
        parts.append("own " + ",".join(own))
    return ", ".join(parts)


# ----------------------------------------------------------------------------------- driver

def run_seed(seed: int, args, price_seeds) -> tuple[list[dict], list[str]]:
    rng = np.random.default_rng(seed)
    market = random_market(rng)
    book = random_book(rng, market, seed)
    records, mismatches = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "market.json").write_text(json.dumps(market, indent=1))
        book.to_csv(tmp / "book.csv", index=False)
        book.iloc[::-1].to_csv(tmp / "reversed.csv", index=False)
        runs = {}
        for ps in price_seeds:
            start = time.perf_counter()
            runs[ps] = price_cli(tmp / "book.csv", tmp / "market.json", tmp / "out.csv",
                                 args.paths, ps, args.threads).set_index("id")
            print(f"seed {seed}: priced {len(book)} rows (seed {ps}) in "
                  f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
        if args.reverse:
            ps = price_seeds[0]
            reverse = price_cli(tmp / "reversed.csv", tmp / "market.json", tmp / "rev.csv",
                                args.paths, ps, args.threads)
            mismatches = bit_identical(runs[ps].reset_index(), reverse)
        if args.keep:
            (args.keep / f"market_{seed}.json").write_text(json.dumps(market, indent=1))
            book.to_csv(args.keep / f"book_{seed}.csv", index=False)
    start = time.perf_counter()
    for row in book.to_dict("records"):
        if args.rows and row["id"] not in args.rows.split(","):
            continue
        known = args.references.get((seed, row["id"])) if args.references else None
        ref, ref_se = known or reference(market, row, args.ref_pairs, (seed, args.ref_seed))
        for ps, result in runs.items():
            out = result.loc[row["id"]]
            record = {"seed": seed, "price_seed": ps, "id": row["id"],
                      "convention": convention_gap(market, row, out),
                      "instrument": row["instrument"], "row": describe(market, row),
                      "model": "heston" if "heston" in market["underlyings"][row["underlying"]]
                      else "gbm", "method": out["method"]}
            for g in GREEKS:
                est, se = float(out[g]), float(out[f"{g}_se"])
                record[g], record[f"{g}_se"] = est, se
                record[f"{g}_ref"], record[f"{g}_ref_se"] = ref[g], ref_se[g]
                record[f"z_{g}"] = z_score(est, se, ref[g], ref_se[g])
            records.append(record)
    print(f"seed {seed}: references in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return records, mismatches


def summary(table: pd.DataFrame) -> list[str]:
    """Per Greek over the z below ``DEGENERATE``: rms, mean, largest |z|, shares above 2 and
    3; then the count of z beyond it (an SE at rounding level, or 0, against a different
    reference) and of NaN estimates."""
    lines = ["| Greek | rows | rms z | mean z | largest abs(z) | abs(z) > 2 | abs(z) > 3 | "
             f"abs(z) > {DEGENERATE:g} | NaN |", "| --- |" + " ---: |" * 8]
    for g in GREEKS:
        z = table[f"z_{g}"].to_numpy(dtype=float)
        ok = z[np.abs(z) <= DEGENERATE]
        if ok.size == 0:
            continue
        lines.append(f"| {g} | {ok.size} | {math.sqrt(np.mean(ok ** 2)):.2f} | "
                     f"{ok.mean():+.2f} | {np.abs(ok).max():.2f} | "
                     f"{np.mean(np.abs(ok) > 2):.1%} | {np.mean(np.abs(ok) > 3):.1%} | "
                     f"{(np.abs(z) > DEGENERATE).sum()} | {np.isnan(z).sum()} |")
    return lines


def spread(table: pd.DataFrame) -> list[str]:
    """Without references: where each row was priced with several package seeds, the spread
    of its estimates against its reported SEs, per row r² = s²/mean(se²) (s the sample
    standard deviation over the seeds), pooled as √(mean r²) over the rows of each model
    and instrument and over all rows (about 1 where the SEs are right; its own sampling
    error about 1/√(2 rows·(seeds − 1))).  A row whose estimates are the same number at
    every seed (no path saw its event, the SE the unseen-event bound) is left out."""
    runs = table.groupby(["seed", "id"])["price_seed"].transform("size")
    table = table[runs > 1]
    if table.empty:
        return []
    parts = []
    for key, rows in table.groupby(["seed", "id"]):
        cells = {"model": rows["model"].iat[0], "instrument": rows["instrument"].iat[0]}
        for g in GREEKS:
            est, se = rows[g].to_numpy(dtype=float), rows[f"{g}_se"].to_numpy(dtype=float)
            ok = np.isfinite(est) & np.isfinite(se)
            cells[g] = (np.var(est[ok], ddof=1) / np.mean(se[ok] ** 2)
                        if ok.sum() > 1 and np.ptp(est[ok]) > 0 else np.nan)
        parts.append(cells)
    ratios = pd.DataFrame(parts)
    seeds = int(table.groupby(["seed", "id"]).size().median())
    lines = [f"Spread of {seeds} package seeds' estimates against the reported SE, "
             "√(mean over rows of s²/mean(se²)):", "",
             "| rows | n | " + " | ".join(GREEKS) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in GREEKS) + " |"]
    groups = [*ratios.groupby(["model", "instrument"]), (("all", "rows"), ratios)]
    for (model, instrument), part in groups:
        cells = [f"{math.sqrt(part[g].mean()):.2f}" if part[g].notna().any() else "–"
                 for g in GREEKS]
        lines.append(f"| {model} {instrument} | {part['price'].notna().sum()} | "
                     + " | ".join(cells) + " |")
    return lines + [""]


def reference_noise(table: pd.DataFrame) -> str:
    """The simulated references' SE against the package's (median over rows, per Greek)."""
    sim = table[table["instrument"].isin(["asian", "barrier"])]
    parts = [f"{g} {np.nanmedian(sim[f'{g}_ref_se'] / sim[f'{g}_se']):.2f}" for g in GREEKS]
    return ("Simulated references (asian, barrier): median se_ref/se " + ", ".join(parts)
            + "; closed forms and quadratures have se_ref = 0.")


def by_group(table: pd.DataFrame) -> list[str]:
    """rms z per Greek for each instrument and model (z below ``DEGENERATE``)."""
    lines = ["| rows | n | " + " | ".join(GREEKS) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in GREEKS) + " |"]
    for (model, instrument), part in table.groupby(["model", "instrument"]):
        cells = []
        for g in GREEKS:
            z = part[f"z_{g}"].to_numpy(dtype=float)
            z = z[np.abs(z) <= DEGENERATE]
            cells.append(f"{math.sqrt(np.mean(z ** 2)):.2f}" if z.size else "–")
        lines.append(f"| {model} {instrument} | {len(part)} | " + " | ".join(cells) + " |")
    return lines


def outliers(table: pd.DataFrame, limit: float, most: int) -> list[str]:
    rows = []
    for g in GREEKS:
        for r in table[np.abs(table[f"z_{g}"]) > limit].itertuples(index=False):
            rows.append((abs(getattr(r, f"z_{g}")), g, r))
    rows.sort(key=lambda x: -x[0])
    lines = ["| id | seed | Greek | z | estimate ± se | reference ± se | row |",
             "| --- | ---: | --- | ---: | ---: | ---: | --- |"]
    for _, g, r in rows[:most]:
        lines.append(f"| {r.id} | {r.price_seed} | {g} | {getattr(r, f'z_{g}'):+.2f} | "
                     f"{getattr(r, g):.6g} ± {getattr(r, f'{g}_se'):.2g} | "
                     f"{getattr(r, f'{g}_ref'):.6g} ± {getattr(r, f'{g}_ref_se'):.2g} | "
                     f"{r.row} |")
    return lines


def stored_references(path: Path) -> dict:
    """{(seed, id): (reference, se_ref)} per Greek from an earlier run's ``--csv`` file (the
    references are a deterministic function of the seed, the row, ``--ref-pairs``,
    ``--ref-seed`` and the steps of :func:`_bumps`; the simulated rows' rate step was 0.05
    up to seeds 53–84's draw)."""
    table = pd.read_csv(path).drop_duplicates(["seed", "id"])
    return {(int(r["seed"]), r["id"]): ({g: float(r[f"{g}_ref"]) for g in GREEKS},
                                        {g: float(r[f"{g}_ref_se"]) for g in GREEKS})
            for r in table.to_dict("records")}


def _seeds(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def render(table: pd.DataFrame, header: list[str], reversal: str) -> str:
    """The markdown report: the header, the summary, the groups, the outliers."""
    lines = [*header, "",
             "z = (estimate − reference)/√(se² + se_ref²):", "", *summary(table), "",
             reference_noise(table), "",
             "Root mean square of z by model and instrument:", "", *by_group(table), "",
             *spread(table),
             "Flat equivalents (maturity, rate, dividend, vol) resolved here against the "
             f"package's result columns: largest difference {table['convention'].max():.1e}.",
             "", f"Rows reversed: {reversal}", "", degenerate(table), "",
             "Rows with abs(z) > 3:", "", *outliers(table, 3.0, 60), "",
             "The 10 largest abs(z) otherwise:", "",
             *outliers(table[~(np.abs(table[[f'z_{g}' for g in GREEKS]]) > 3).any(axis=1)],
                       0.0, 10)]
    return "\n".join(lines) + "\n"



def degenerate(table: pd.DataFrame) -> str:
    """The estimates whose SE is at rounding level (below 1e-12 of the estimate, or 0): a
    checker's z against any different reference is then huge or infinite."""
    found = [f"{r['id']} {g} ({r[g]:.6g} ± {r[f'{g}_se']:.2g})"
             for r in table.to_dict("records") for g in GREEKS
             if r[f"{g}_se"] <= 1e-12 * abs(r[g])]
    return ("Estimates with an SE at rounding level (≤ 1e-12 of the estimate, or 0): "
            + ("; ".join(found) if found else "none") + ".")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-30", help="market seeds: 1-30 or 3,5,8")
    parser.add_argument("--paths", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ref-pairs", type=int, default=2_000_000,
                        help="antithetic pairs of the simulated references")
    parser.add_argument("--rows", default="",
                        help="report only these ids (comma-separated; the whole book is priced)")
    parser.add_argument("--ref-seed", type=int, default=0,
                        help="offset of the simulated references' seed")
    parser.add_argument("--price-seeds", default="",
                        help="the package's seeds (default: the market seed)")
    parser.add_argument("--no-reverse", dest="reverse", action="store_false")
    parser.add_argument("--keep", type=Path, default=None,
                        help="a folder to keep each seed's market and book in")
    parser.add_argument("--csv", type=Path, default=None, help="also write every z here")
    parser.add_argument("--references", type=Path, default=None,
                        help="take the references of the rows found in this --csv file of an "
                             "earlier run (same --ref-pairs and --ref-seed) instead of "
                             "computing them again")
    parser.add_argument("--output", default=str(RESULTS), help="markdown report, or -")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    seeds = _seeds(args.seeds)
    args.references = stored_references(args.references) if args.references else None
    started = time.perf_counter()
    load_before = load_average()
    records, mismatches, books = [], {}, 0
    for seed in seeds:
        price_seeds = [int(s) for s in args.price_seeds.split(",")] if args.price_seeds \
            else [seed]
        got, bad = run_seed(seed, args, price_seeds)
        records += got
        books += 1
        if bad:
            mismatches[seed] = bad
    table = pd.DataFrame(records)
    if args.csv:
        table.to_csv(args.csv, index=False)
    minutes = (time.perf_counter() - started) / 60
    command = "python benchmarks/market_random.py " + " ".join(sys.argv[1:])
    header = ["# Random markets and dated books against independent references", "",
              f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}, code {code_version()}; load average "
              f"{load_before} before, {load_average()} after; "
              f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {minutes:.0f} min "
              f"(`nice -n {os.nice(0)}`, {args.threads} thread).", "",
              f"Command: `{command}` ({len(table)} row runs in {books} books, "
              f"{args.paths:,} paths, simulated references {2 * args.ref_pairs:,} paths)."]
    reversal = ("every number bit-identical per id in every book." if args.reverse and not
                mismatches else "not checked." if not args.reverse else
                f"differences in {mismatches}.")
    text = render(table, header, reversal)
    print(text)
    if args.output != "-":
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
