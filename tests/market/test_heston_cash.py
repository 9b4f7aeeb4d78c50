"""Heston rows priced off a market with cash dividends, against a reference written here: a
numpy Heston simulation on daily steps (the square-root variance by the drift-implicit
scheme, the log-price by Euler given it), the drops S → max(S − D, 0) applied at the
ex-dates.  European and digital rows are integrated in closed form over their last
segment given the variance path (a Black–Scholes value), asians and barriers take the
payoff on the path; delta and vega are central differences on common random numbers (S0
moved on the same log-returns, σ0 = sqrt(v0) moved on the same normals).  The reference
without dividends is checked against the Fourier price."""

import math

import numpy as np
import pandas as pd
from helpers import (
    assert_se_matches_spread,
    assert_within,
    combined_se,
    k_for,
    seed,
    seeds,
    years,
)
from scipy import stats

from greeks.api import price_portfolio
from greeks.instruments import InputError
from greeks.models.heston.analytic import heston_greeks

VALUATION = "2027-01-01"
HESTON = {"v0": 0.04, "kappa": 2.0, "theta": 0.05, "xi": 0.3, "rho": -0.7}
RATE, YIELD = 0.03, 0.01
CASH = [("2027-04-01", 3.0), ("2027-07-01", 2.0)]
EXPIRY, SHORT = "2027-10-01", "2027-05-03"  # after both ex-dates; between them
MONTHLY = ";".join(f"2027-{m:02d}-01" for m in range(2, 11))
ROWS = [("call", "european", "call", 100.0, EXPIRY, {}),
        ("put", "european", "put", 95.0, EXPIRY, {}),
        ("digital", "digital", "call", 100.0, EXPIRY, {"payout": 10.0}),
        ("asian", "asian", "call", 95.0, EXPIRY, {"fixing_dates": MONTHLY}),
        ("barrier", "barrier", "call", 95.0, EXPIRY,
         {"barrier": 120.0, "barrier_type": "up-and-out", "fixing_dates": MONTHLY}),
        ("short", "european", "call", 100.0, SHORT, {})]


def market(dividends=CASH, spot=100.0):
    return {"valuation_date": VALUATION, "curves": {"FLAT": RATE},
            "underlyings": {"HC": {"spot": spot, "curve": "FLAT", "dividend_yield": YIELD,
                                   "heston": HESTON,
                                   "dividends": [{"ex_date": d, "amount": a}
                                                 for d, a in dividends]}}}


def book(rows=ROWS):
    return pd.DataFrame([{"id": name, "instrument": kind, "option_type": option,
                          "strike": strike, "expiry": expiry, "underlying": "HC", **more}
                         for name, kind, option, strike, expiry, more in rows])


def day(date: str) -> int:
    return round(years(date, VALUATION) * 365)


def _chain(n, days, v0, rng):
    """Per path and day k = 1..days: (the log-return of S̃ over day k, its drift and ρ part
    a_k, and v_k Δ), on daily steps Δ = 1/365.  √v by the drift-implicit scheme (positive
    while 4κθ > ξ², smooth in v0), the log-price given the variance's normals Z_1 and
    independent Z_2: Δx = −v Δ/2 + √(vΔ) (ρ Z_1 + √(1 − ρ²) Z_2) (an exact martingale)."""
    kappa, theta, xi, rho = (HESTON[k] for k in ("kappa", "theta", "xi", "rho"))
    dt = 1.0 / 365.0
    y = np.full(n, math.sqrt(v0))
    out = np.empty((3, days, n))
    for k in range(days):
        z1, z2 = rng.standard_normal((2, n))
        v = y * y
        root = np.sqrt(v * dt)
        a = -0.5 * v * dt + rho * root * z1
        out[0, k] = a + math.sqrt(1 - rho * rho) * root * z2
        out[1, k], out[2, k] = a, v * dt
        b = y + 0.5 * xi * math.sqrt(dt) * z1
        c = 1.0 + 0.5 * kappa * dt
        y = (b + np.sqrt(b * b + 2.0 * c * (kappa * theta - 0.25 * xi * xi) * dt)) / (2.0 * c)
    return out


def _values(chain, spot, rows, dividends):
    """Per row, the discounted value on each path (module docstring) from the chain's
    daily log-returns, started from ``spot``."""
    steps, a, var = chain
    rho2 = 1.0 - HESTON["rho"] ** 2
    cash = {day(d): amount for d, amount in dividends}
    out = []
    for _, kind, option, strike, expiry, more in rows:
        omega, end = (1.0 if option == "call" else -1.0), day(expiry)
        t = end / 365.0
        discount = math.exp(-RATE * t)
        dates = [day(d) for d in more["fixing_dates"].split(";")] if "fixing_dates" in more \
            else [end]
        last = max([k for k in cash if k <= end] + [0])  # the last drop before expiry
        s = np.full(steps.shape[1], spot)
        seen = []
        for k in range(1, (last if kind in ("european", "digital") else end) + 1):
            s = s * math.exp((RATE - YIELD) / 365.0) * np.exp(steps[k - 1])
            if k in cash:
                s = np.maximum(s - cash[k], 0.0)
            if k in dates:
                seen.append(s)
        if kind in ("european", "digital"):  # Black–Scholes over (last, T] given the path
            w = rho2 * var[last:end].sum(axis=0)
            forward = (s * math.exp((RATE - YIELD) * (end - last) / 365.0)
                       * np.exp(a[last:end].sum(axis=0) + 0.5 * w))
            root = np.sqrt(w)
            with np.errstate(divide="ignore"):
                d1 = np.log(forward / strike) / root + 0.5 * root
            if kind == "digital":
                value = more["payout"] * stats.norm.cdf(omega * (d1 - root))
            else:
                value = omega * (forward * stats.norm.cdf(omega * d1)
                                 - strike * stats.norm.cdf(omega * (d1 - root)))
        elif kind == "asian":
            value = np.maximum(omega * (np.mean(seen, axis=0) - strike), 0.0)
        else:  # up-and-out, monitored on its dates
            alive = np.max(seen, axis=0) < more["barrier"]
            value = np.where(alive, np.maximum(omega * (seen[-1] - strike), 0.0), 0.0)
        out.append(discount * value)
    return out


def reference(rows, dividends, paths, seed_, spot_step=1.0, vol_step=0.01):
    """(price, delta, vega) and their standard errors per row: the reference's means over
    ``paths`` paths, delta and vega by central differences on common random numbers."""
    days = max(day(expiry) for *_, expiry, _ in rows)
    sigma = math.sqrt(HESTON["v0"])
    chains = [_chain(paths, days, v * v, np.random.default_rng(seed_))
              for v in (sigma, sigma + vol_step, sigma - vol_step)]
    base = _values(chains[0], 100.0, rows, dividends)
    up, down = (_values(chains[0], 100.0 + h, rows, dividends) for h in (spot_step, -spot_step))
    vol_up, vol_down = (_values(c, 100.0, rows, dividends) for c in chains[1:])
    samples = [np.stack([f, (u - d) / (2 * spot_step), (vu - vd) / (2 * vol_step)])
               for f, u, d, vu, vd in zip(base, up, down, vol_up, vol_down)]
    mean = np.array([s.mean(axis=1) for s in samples])
    se = np.array([s.std(axis=1, ddof=1) / math.sqrt(paths) for s in samples])
    return mean, se


GREEKS = ["price", "delta", "vega"]


def test_the_reference_without_dividends_matches_the_fourier_price():
    mean, se = reference(ROWS[:2], [], 100_000, seed(300))
    t = years(EXPIRY, VALUATION)
    k = k_for(6)
    for j, (option, strike) in enumerate([("call", 100.0), ("put", 95.0)]):
        fourier = heston_greeks(option, 100.0, strike, t, RATE, *HESTON.values(), YIELD)
        assert_within(mean[j], [fourier.price, fourier.delta, fourier.vega], se[j], k,
                      label=f"reference {option}")


def test_prices_deltas_and_vegas_across_cash_dividends_match_the_reference():
    result = price_portfolio(book(), market=market(), paths=200_000, seed=seed(301),
                             threads=2)
    assert list(result["method"]) == ["lr+controls+antithetic"] * len(ROWS)
    mean, se = reference(ROWS, CASH, 200_000, seed(302))
    k = k_for(3 * len(ROWS))
    for j, (name, *_) in enumerate(ROWS):
        for g, greek in enumerate(GREEKS):
            assert_within(result[greek][j], mean[j, g],
                          combined_se(result[f"{greek}_se"][j], se[j, g]), k,
                          label=f"{name} {greek}")
