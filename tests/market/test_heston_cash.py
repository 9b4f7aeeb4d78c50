"""Heston rows priced off a market with cash dividends, against a reference written here: a
numpy Heston simulation on daily steps (the square-root variance by the drift-implicit
scheme, the log-price by Euler given it), the drops S → max(S − D, 0) applied at the
ex-dates.  European and digital rows are integrated in closed form over their last
segment given the variance path (a Black–Scholes value), asians and barriers take the
payoff on the path; delta and vega are central differences on common random numbers (S0
moved on the same log-returns, σ0 = sqrt(v0) moved on the same normals).  The reference
without dividends is checked against the Fourier price.  A bermudan put's reference is a
Longstaff–Schwartz policy fitted on that simulation and applied to independent paths
(:func:`bermudan_reference`)."""

import math

import numpy as np
import pandas as pd
import pytest
from helpers import (
    assert_se_matches_spread,
    assert_within,
    assert_within_allowance,
    combined_se,
    k_for,
    seed,
    seeds,
    years,
)
from scipy import stats

from greeks.api import price_portfolio
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


def _chain(n, days, events, v0, rng, skip=0):
    """The chain's sums from 0 to each day k of ``events`` (1 ≤ k ≤ ``days``), on daily
    steps Δ = 1/365 from the normals of days skip + 1, …: of the log-returns of S̃, of
    their drift and ρ parts a, and of v Δ, and v on day k ({day: (4 × n)}).  √v by the
    drift-implicit scheme (positive while 4κθ > ξ², smooth in v0); the log-price given the
    variance's normals Z_1 and independent Z_2: Δx = a + √(1 − ρ²) √(vΔ) Z_2,
    a = −vΔ/2 + ρ √(vΔ) Z_1 (an exact martingale)."""
    kappa, theta, xi, rho = (HESTON[k] for k in ("kappa", "theta", "xi", "rho"))
    dt = 1.0 / 365.0
    y = np.full(n, math.sqrt(v0))
    total = np.zeros((3, n))
    out = {}
    for _ in range(skip):
        rng.standard_normal((2, n))
    for k in range(1, days + 1):
        z1, z2 = rng.standard_normal((2, n))
        v = y * y
        root = np.sqrt(v * dt)
        a = -0.5 * v * dt + rho * root * z1
        total[0] += a + math.sqrt(1 - rho * rho) * root * z2
        total[1] += a
        total[2] += v * dt
        b = y + 0.5 * xi * math.sqrt(dt) * z1
        c = 1.0 + 0.5 * kappa * dt
        y = (b + np.sqrt(b * b + 2.0 * c * (kappa * theta - 0.25 * xi * xi) * dt)) / (2.0 * c)
        if k in events:
            out[k] = np.vstack([total, (y * y)[None]])
    return out


def _events(rows, dividends, later=0):
    """The days the reference reads: ex-dates, fixing dates and expiries (``later`` days
    closer)."""
    days = {day(d) for d, _ in dividends}
    for *_, expiry, more in rows:
        days |= {day(expiry)} | {day(d) for d in more.get("fixing_dates", "").split(";") if d}
    return {k - later for k in days if k - later > 0}


def _walk(chain, spot, rate, cash, dates, until):
    """(the price on the last day, [(day, price) on each of ``dates``]) of the chain's paths
    from ``spot`` over its days up to ``until`` (:func:`_chain`): S̃'s log-returns carried at
    ``rate`` − q, S → max(S − D, 0) on each ex-day of ``cash`` (before a date that day)."""
    s, before, seen = np.full(next(iter(chain.values())).shape[1], spot), 0, []
    for k in sorted(k for k in chain if k <= until):
        moved = chain[k][0] - (chain[before][0] if before else 0.0)
        s = s * np.exp((rate - YIELD) * (k - before) / 365.0 + moved)
        before = k
        if k in cash:
            s = np.maximum(s - cash[k], 0.0)
        if k in dates:
            seen.append((k, s))
    return s, seen


def _values(chain, spot, rows, dividends, rate=RATE, later=0):
    """Per row, the discounted value on each path (module docstring) from the chain's sums
    (:func:`_chain`), started from ``spot``; ``later`` days later (every date that many days
    closer)."""
    rho2 = 1.0 - HESTON["rho"] ** 2
    cash = {day(d) - later: amount for d, amount in dividends}
    out = []
    for _, kind, option, strike, expiry, more in rows:
        omega, end = (1.0 if option == "call" else -1.0), day(expiry) - later
        discount = math.exp(-rate * end / 365.0)
        dates = ([day(d) - later for d in more["fixing_dates"].split(";")]
                 if "fixing_dates" in more else [end])
        last = max([k for k in cash if k <= end] + [0])  # the last drop before expiry
        stop = last if kind in ("european", "digital") else end
        s, seen = _walk(chain, spot, rate, cash, dates, stop)
        seen = [price for _, price in seen]
        if kind in ("european", "digital"):  # Black–Scholes over (last, T] given the path
            tail = chain[end] - (chain[last] if last else 0.0)
            w = rho2 * tail[2]
            forward = (s * np.exp((rate - YIELD) * (end - last) / 365.0 + tail[1] + 0.5 * w))
            root = np.sqrt(w)
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


REFERENCE = ["price", "delta", "vega", "gamma", "rho", "theta"]


def reference(rows, dividends, paths, seed_, spot_step=1.0, vol_step=0.01, rate_step=1e-3):
    """(price, delta, vega, gamma, rho, theta) and their standard errors per row: the
    reference's means over ``paths`` paths; delta, vega, gamma and rho by central
    differences on common random numbers (a moved spot or rate on the same log-returns, a
    moved σ0 on the same normals), theta the value a day later (every date a day closer:
    the chain from the second day's normals on, the first day's left out) minus today's."""
    days = max(day(expiry) for *_, expiry, _ in rows)
    sigma = math.sqrt(HESTON["v0"])
    events = _events(rows, dividends)
    chains = [_chain(paths, days, events, v * v, np.random.default_rng(seed_))
              for v in (sigma, sigma + vol_step, sigma - vol_step)]
    later = _chain(paths, days - 1, _events(rows, dividends, 1), sigma * sigma,
                   np.random.default_rng(seed_), skip=1)

    def values(chain=chains[0], spot=100.0, **more):
        return _values(chain, spot, rows, dividends, **more)
    base = values()
    up, down = values(spot=100.0 + spot_step), values(spot=100.0 - spot_step)
    vol_up, vol_down = values(chains[1]), values(chains[2])
    rate_up, rate_down = values(rate=RATE + rate_step), values(rate=RATE - rate_step)
    tomorrow = values(later, later=1)
    samples = [np.stack([f, (u - d) / (2 * spot_step), (vu - vd) / (2 * vol_step),
                         (u - 2 * f + d) / spot_step ** 2, (ru - rd) / (2 * rate_step),
                         t - f])
               for f, u, d, vu, vd, ru, rd, t in zip(base, up, down, vol_up, vol_down,
                                                     rate_up, rate_down, tomorrow)]
    mean = np.array([s.mean(axis=1) for s in samples])
    se = np.array([s.std(axis=1, ddof=1) / math.sqrt(paths) for s in samples])
    return mean, se


ENGINE = ["price", "delta", "vega", "gamma", "rho_rate", "theta_per_day"]
SMOOTH = ("european", "digital")  # rows whose reference gamma is a smooth second difference


@pytest.mark.slow
def test_the_reference_without_dividends_matches_the_fourier_price():
    mean, se = reference(ROWS[:2], [], 100_000, seed(300))
    t = years(EXPIRY, VALUATION)
    k = k_for(6)
    for j, (option, strike) in enumerate([("call", 100.0), ("put", 95.0)]):
        fourier = heston_greeks(option, 100.0, strike, t, RATE, *HESTON.values(), YIELD)
        assert_within(mean[j, :3], [fourier.price, fourier.delta, fourier.vega], se[j, :3], k,
                      label=f"reference {option}")


def test_greeks_across_cash_dividends_match_the_reference():
    """Price, delta, vega, gamma (european and digital rows), rho and theta of every row
    across one or two cash dividends; european and digital rows go by likelihood ratio."""
    result = price_portfolio(book(), market=market(), paths=200_000, seed=seed(301),
                             threads=2, greeks="gamma,rho,theta")
    assert list(result["method"]) == ["lr+controls+antithetic"] * len(ROWS)
    mean, se = reference(ROWS, CASH, 200_000, seed(302))
    checked = [(j, g) for j, (_, kind, *_) in enumerate(ROWS) for g in range(len(ENGINE))
               if ENGINE[g] != "gamma" or kind in SMOOTH]
    k = k_for(len(checked))
    for j, g in checked:
        name, greek = ROWS[j][0], ENGINE[g]
        assert_within(result[greek][j], mean[j, g],
                      combined_se(result[f"{greek}_se"][j], se[j, g]), k,
                      label=f"{name} {REFERENCE[g]}")


def test_standard_errors_match_the_spread_over_seeds():
    """Every row's price, delta, vega, gamma, rho and theta: 12 seeds' spread against the
    reported SEs (and the total's)."""
    runs = [price_portfolio(book(), market=market(), paths=4_000, seed=s, threads=1,
                            greeks="gamma,rho,theta") for s in seeds(12, start=310)]
    estimates = np.stack([np.append(run[ENGINE].to_numpy().ravel(),
                                    [run.attrs["total"][g] for g in ENGINE]) for run in runs])
    ses = np.stack([np.append(run[[f"{g}_se" for g in ENGINE]].to_numpy().ravel(),
                              [run.attrs["total"][f"{g}_se"] for g in ENGINE]) for run in runs])
    assert np.isfinite(estimates).all() and np.isfinite(ses).all()
    assert_se_matches_spread(estimates, ses)


def test_row_order_and_a_dividend_after_expiry_change_nothing():
    """Reversing the rows is bit-identical; a cash dividend after every expiry changes no
    number (bit for bit), and a market whose only cash dividend follows the expiries
    prices european and digital rows by conditional Monte Carlo, as without dividends."""
    options = dict(paths=6_000, seed=seed(320), threads=2, greeks="gamma,rho,theta")
    columns = [c for g in ENGINE for c in (g, f"{g}_se")]
    forward = price_portfolio(book(), market=market(), **options)
    backward = price_portfolio(book(ROWS[::-1]), market=market(), **options)
    pd.testing.assert_frame_equal(forward.set_index("id")[columns],
                                  backward.set_index("id").loc[forward["id"], columns])
    late = price_portfolio(book(), market=market(CASH + [("2027-12-01", 4.0)]), **options)
    pd.testing.assert_frame_equal(forward[columns], late[columns])
    assert forward.attrs["total"] == late.attrs["total"]
    none = price_portfolio(book(), market=market([]), **options)
    after = price_portfolio(book(), market=market([("2027-12-01", 4.0)]), **options)
    pd.testing.assert_frame_equal(none[columns], after[columns])
    assert list(after["method"][:3]) == ["conditional+controls+antithetic"] * 3


def test_cash_dividend_buckets_match_central_differences_of_the_reference():
    """∂V/∂D of each cash dividend (the bucket report's ``dividend:HC:…`` lines, the
    likelihood-ratio score of the post-drop price) against the reference's central
    differences D ± 0.5 on common random numbers, every row; the parallel factors are
    unchanged by the new lines."""
    from greeks.report import bucket_report

    paths, step = 200_000, 0.5
    table = bucket_report(book(), market=market(), paths=paths, seed=seed(325))
    table = table.set_index(["position", "factor"])
    days = max(day(expiry) for *_, expiry, _ in ROWS)
    chain = _chain(paths, days, _events(ROWS, CASH), HESTON["v0"],
                   np.random.default_rng(seed(326)))
    checked = []
    for k, (date, amount) in enumerate(CASH):
        moved = [[(d, a + (sign * step if i == k else 0.0)) for i, (d, a) in enumerate(CASH)]
                 for sign in (1.0, -1.0)]
        up, down = (_values(chain, 100.0, ROWS, dividends) for dividends in moved)
        for j, (name, *_, expiry, _) in enumerate(ROWS):
            factor = f"dividend:HC:{date}"
            if day(date) > day(expiry):
                assert (name, factor) not in table.index
                continue
            sample = (up[j] - down[j]) / (2 * step)
            checked.append((name, factor, sample.mean(),
                            sample.std(ddof=1) / math.sqrt(paths)))
    k = k_for(len(checked))
    for name, factor, mean, se in checked:
        value, error = table.loc[(name, factor), ["value", "se"]]
        assert_within(value, mean, combined_se(error, se), k, label=f"{name} {factor}")


# --- american and bermudan rows across a cash dividend ---------------------------------------

BERMUDAN = ("bermudan", "bermudan", "put", 100.0, EXPIRY, {"fixing_dates": MONTHLY})
AMERICAN = ("american", "american", "put", 100.0, SHORT, {"fixings": 40})
ONE = CASH[:1]  # 3.00 paid on 2027-04-01, itself an exercise date of BERMUDAN
RATE_STEP = 0.01  # the reference rho's central difference
THETA_DAYS = 8  # the reference theta's central difference (days each side)


def _basis(x, u):
    """The regression's basis at S/K = x and v/θ = u."""
    return np.stack([np.ones_like(x), x, x * x, x * x * x, u, u * x, u * u], axis=1)


def _put_dates(chain, spot, dates, dividends, rate=RATE, later=0):
    """(prices, variances) on the exercise days ``dates`` of the chain's paths from
    ``spot`` (:func:`_chain`, its events the dates and the ex-days): S̃'s log-returns
    carried at ``rate`` − q, S → max(S − D, 0) on each ex-day (before an exercise that
    day); ``later`` days later (every exercise day and ex-day that many days closer)."""
    cash = {day(d) - later: amount for d, amount in dividends}
    _, seen = _walk(chain, spot, rate, cash, [k - later for k in dates], max(chain))
    return (np.array([price for _, price in seen]),
            np.array([chain[k][3] for k, _ in seen]))


def _fit(s, v, discounts, strike):
    """Longstaff–Schwartz backward on the pilot: per exercise date before the last, the
    regression of the in-the-money paths' discounted cash flows (None: fewer than 50)."""
    theta = HESTON["theta"]
    flow = discounts[-1] * np.maximum(strike - s[-1], 0.0)
    betas = [None] * len(s)
    for i in range(len(s) - 2, -1, -1):
        value = discounts[i] * (strike - s[i])
        money = value > 0
        if money.sum() < 50:
            continue
        basis = _basis(s[i][money] / strike, v[i][money] / theta)
        betas[i] = np.linalg.lstsq(basis, flow[money], rcond=None)[0]
        stop = np.flatnonzero(money)[value[money] >= basis @ betas[i]]
        flow[stop] = value[stop]
    return betas


def _stopped(s, v, discounts, strike, betas, paid=None):
    """The discounted payoff of each path under the fitted policy, applied forward: the
    policy decides with ``discounts`` (a fixed map of the path's prices and variances),
    the payoff is discounted by ``paid`` (default the same)."""
    theta = HESTON["theta"]
    paid = discounts if paid is None else paid
    out = paid[-1] * np.maximum(strike - s[-1], 0.0)
    done = np.zeros(s.shape[1], dtype=bool)
    for i, beta in enumerate(betas[:-1]):
        if beta is None:
            continue
        value = discounts[i] * (strike - s[i])
        stop = ~done & (value > 0) & (value >= _basis(s[i] / strike, v[i] / theta) @ beta)
        out[stop] = (paid[i] / discounts[i]) * value[stop]
        done |= stop
    return out


def bermudan_reference(dividends, pilot, paths, seed_, spot_step=1.0, rate_step=RATE_STEP,
                       days=THETA_DAYS):
    """(price, delta, European price, rho, theta per day) of BERMUDAN and their standard
    errors by a numpy Longstaff–Schwartz: the policy fitted on ``pilot`` paths, applied to
    ``paths`` independent ones (its price is the value of that policy on the reference's
    chain, a lower bound of the option's there), every Greek that of this fixed policy, a
    map of each date's price and variance to exercise or not: delta the central difference
    at S0 ± ``spot_step`` on the same paths, rho the central difference at r ± ``rate_step``
    on the same normals (the log-price's drift and the payoff's discount moved, the drops
    and the policy's map not), theta the central difference of the values ``days`` days
    later and earlier on ``paths``/2 paths of their own (every date and ex-date that many
    days closer or further: the chains from the normals of day 2·``days`` + 1 on and from
    day 1 on, as :func:`reference` takes a day later), the European price
    DF(T) (K − S_T)⁺."""
    strike = BERMUDAN[3]
    dates = [day(d) for d in MONTHLY.split(";")]
    events = set(dates) | {day(d) for d, _ in dividends}
    times = np.array(dates) / 365.0
    discounts = np.exp(-RATE * times)
    v0 = HESTON["v0"]
    fitted = _chain(pilot, dates[-1], events, v0, np.random.default_rng([seed_, 0]))
    betas = _fit(*_put_dates(fitted, 100.0, dates, dividends), discounts, strike)
    chains = {0: _chain(paths, dates[-1], events, v0, np.random.default_rng([seed_, 1]))}
    chains.update({moved: _chain(paths // 2, dates[-1] - moved, {k - moved for k in events},
                                 v0, np.random.default_rng([seed_, 2]), skip=days + moved)
                   for moved in (days, -days)})

    def value(spot=100.0, rate=RATE, moved=0):
        paid = np.exp(-rate * (times - moved / 365.0))
        return _stopped(*_put_dates(chains[moved], spot, dates, dividends, rate, moved),
                        discounts, strike, betas, paid)
    base = _put_dates(chains[0], 100.0, dates, dividends)
    price = _stopped(*base, discounts, strike, betas)
    delta = (value(100.0 + spot_step) - value(100.0 - spot_step)) / (2 * spot_step)
    rho = (value(rate=RATE + rate_step) - value(rate=RATE - rate_step)) / (2 * rate_step)
    theta = (value(moved=days) - value(moved=-days)) / (2 * days)
    european = discounts[-1] * np.maximum(strike - base[0][-1], 0.0)
    samples = [price, delta, european, rho, theta]
    return (np.array([x.mean() for x in samples]),
            np.array([x.std(ddof=1) / math.sqrt(x.size) for x in samples]))


EXERCISE_OPTIONS = dict(threads=2, greeks="gamma,rho,theta")
# the policy's and the exercise grid's allowances (relative, absolute).  A fixed policy's rho
# and theta are first order in its error (its price and delta second order: the american
# tests' allowances): over five pilots of bermudan_reference (100,000 and 400,000 paths)
# the fixed policy's rho on the same 200,000 paths spread by 0.3 (1 % of −29.6), its theta
# by 1.8e-4 a day (1.6 % of −0.0114; a tenth of the SE here), its price by 0.002.  The
# engine's and the reference's policies are two such fits: over eight seeds the engine's rho
# less the reference's had a standard deviation of 0.54 about a mean of 0.01 (0.25 of it the
# SEs, so 0.48 the policies') and reached 0.80 (2.7 %): 3 % is two of the policies' 0.48
ALLOWANCE = {"price": (0.003, 0.002), "delta": (0.01, 0.002), "rho_rate": (0.03, 0.0),
             "theta_per_day": (0.02, 0.0)}
REFERENCE_ROWS = {"price": 0, "delta": 1, "rho_rate": 3, "theta_per_day": 4}


def _allowance(greek, reference):
    relative, absolute = ALLOWANCE[greek]
    return relative * abs(reference) + absolute


@pytest.mark.slow
def test_a_bermudan_put_across_a_cash_dividend_matches_a_numpy_longstaff_schwartz():
    """Price, delta, rho and theta of a bermudan put across one cash dividend (paid on one
    of its exercise dates: the exercise there sees the price after the drop) against
    :func:`bermudan_reference`.  Both are values of fixed policies (the engine's the ADI
    solution's with the drop, the reference's regressed), lower bounds of the option's
    price, on chains of their own (QE on the engine's grid, daily drift-implicit
    steps here), each Greek that of its own fixed policy: they agree within k·SE plus the
    policy's and grid's allowance (``ALLOWANCE``).  That the exercise matters: the price
    lies above the European put's across the same drop (a one-sided check at 2 SE: the
    premium, about 0.15, is some 6 SE, so k SE would fail a few per cent of seeds)."""
    result = price_portfolio(book([BERMUDAN]), market=market(ONE), paths=100_000,
                             seed=seed(330), **EXERCISE_OPTIONS)
    mean, se = bermudan_reference(ONE, 100_000, 200_000, seed(331))
    k = k_for(len(REFERENCE_ROWS) + 1)
    for greek, g in REFERENCE_ROWS.items():
        estimate, error = result[greek][0], combined_se(result[f"{greek}_se"][0], se[g])
        assert abs(estimate - mean[g]) <= k * error + _allowance(greek, mean[g]), (
            f"{greek}: {estimate} against {mean[g]}, se {error}")
    assert result["price"][0] - mean[2] > 2.0 * combined_se(result["price_se"][0], se[2])
    assert np.isfinite(result[["vega", "gamma", "vega_se", "gamma_se"]].to_numpy()).all()
    assert result["theta_per_year"][0] == pytest.approx(365 * result["theta_per_day"][0])
    assert result["method"][0] == "policy+fd+controls+antithetic"


@pytest.mark.slow
def test_as_the_dividend_vanishes_the_rows_approach_the_rows_without():
    """A bermudan and an american put across a cash dividend of 0.001 (the ADI solution's
    policy with the drop, the unfloored price's control) against the same rows without one
    (the ADI solution's policy, the European control): price and delta within k·SE plus the
    allowance (and the dividend's own effect, about 0.001 |delta|)."""
    rows = [BERMUDAN, AMERICAN]
    options = dict(paths=40_000, **EXERCISE_OPTIONS)
    small = price_portfolio(book(rows), market=market([(ONE[0][0], 1e-3)]), seed=seed(340),
                            **options)
    none = price_portfolio(book(rows), market=market([]), seed=seed(341), **options)
    assert list(small["method"]) == ["policy+fd+controls+antithetic"] * 2
    k = k_for(4)
    for j in range(len(rows)):
        for greek in ("price", "delta"):
            error = combined_se(small[f"{greek}_se"][j], none[f"{greek}_se"][j])
            gap = abs(small[greek][j] - none[greek][j])
            assert gap <= k * error + _allowance(greek, none[greek][j]) + 1e-3, (
                f"{rows[j][0]} {greek}: {small[greek][j]} against {none[greek][j]}")


def _adi(strike, expiry, dividends, dates=None, s_steps=400, option_type="put", rate=RATE,
         later=0):
    """(price, delta, vega) at S0 = 100, v0 of the ADI solution with the spot's drops
    (:func:`greeks.models.heston.american.heston_value_grids`): the European put or call
    (``dates`` None) or the Bermudan one on ``dates`` (days), at the rate ``rate``;
    ``later`` days after the valuation date (every date kept in calendar time)."""
    from scipy.interpolate import RectBivariateSpline

    from greeks.models.heston.american import heston_value_grids

    t = (day(expiry) - later) / 365.0
    times = [t] if dates is None else [(k - later) / 365.0 for k in dates]
    drops = tuple(((day(d) - later) / 365.0, amount, 1.0) for d, amount in dividends)
    s, v, values = heston_value_grids(strike, t, rate, YIELD, *HESTON.values(), times,
                                      s_steps=s_steps, time_steps=400, drops=drops,
                                      option_type=option_type)
    spline = RectBivariateSpline(s, v, values[0])
    v0 = HESTON["v0"]
    return (float(spline(100.0, v0)[0, 0]), float(spline(100.0, v0, dx=1)[0, 0]),
            2.0 * math.sqrt(v0) * float(spline(100.0, v0, dy=1)[0, 0]))


def test_the_adi_solution_with_drops_prices_the_reference_european_options():
    """The ADI solution whose exercise boundaries are the american and bermudan puts' and
    calls' policy across cash dividends, run without early exercise: the European put and
    call (ROWS' first two) across one and two drops against the reference
    (:func:`reference`), within k·SE plus 0.1 % of the price (the ADI grid and the
    reference's daily steps)."""
    k = k_for(4)
    paths = 400_000
    chain = _chain(paths, day(EXPIRY), _events(ROWS[:2], CASH), HESTON["v0"],
                   np.random.default_rng(seed(327)))
    for dividends in (CASH[:1], CASH):
        samples = _values(chain, 100.0, ROWS[:2], dividends)
        for (_, _, option, strike, *_), sample in zip(ROWS[:2], samples):
            mean, se = sample.mean(), sample.std(ddof=1) / math.sqrt(paths)
            price, *_ = _adi(strike, EXPIRY, dividends, option_type=option)
            assert abs(price - mean) <= k * se + 1e-3 * mean, (option, dividends, price, mean,
                                                                se)


def test_an_american_put_across_a_dividend_takes_the_solved_policy():
    """An american put across a cash dividend exercises by the ADI solution's boundaries
    with the drop (a regressed policy's delta was 15 SE off on some seeds): its price and
    delta against the ADI solution's daily Bermudan put with the drop, within k·SE plus the
    american tests' allowance (the policy's value is a lower bound, the ADI's a solution on
    its grid)."""
    result = price_portfolio(book([AMERICAN]), market=market(ONE), paths=100_000,
                             seed=seed(328), threads=2)
    price, delta, _ = _adi(AMERICAN[3], AMERICAN[4], ONE,
                           dates=list(range(1, day(AMERICAN[4]) + 1)))
    assert_within_allowance(result.iloc[0], {"price": price, "delta": delta}, ALLOWANCE,
                            k_for(2))


QUARTERLY = ("quarterly", "bermudan", "put", 100.0, EXPIRY,
             {"fixing_dates": "2027-03-01;2027-06-01;2027-08-01;2027-10-01"})


def test_a_bermudan_put_with_the_ex_date_between_its_dates_has_theta_and_rho():
    """A bermudan put whose cash ex-date (2027-04-01) is none of its dates: the moved chains
    of theta store the ex-date too (they raised on the shapes before), and its price, theta
    and rho match the ADI solution with the drop (theta the value a day later, every date in
    calendar time, less today's; rho the central difference at r ± 0.001) within k·SE plus
    the allowances of the fixed policy (``SOLVED_ALLOWANCE``, theta ``ALLOWANCE``'s)."""
    result = price_portfolio(book([QUARTERLY]), market=market(ONE), paths=50_000,
                             seed=seed(345), threads=2, greeks="theta,rho")
    dates = [day(d) for d in QUARTERLY[5]["fixing_dates"].split(";")]

    def adi(**more):
        return _adi(100.0, EXPIRY, ONE, dates=dates, **more)[0]
    price = adi()
    references = {"price": (price, SOLVED_ALLOWANCE["price"]),
                  "theta_per_day": (adi(later=1) - price, ALLOWANCE["theta_per_day"]),
                  "rho_rate": ((adi(rate=RATE + 1e-3) - adi(rate=RATE - 1e-3)) / 2e-3,
                               SOLVED_ALLOWANCE["rho_rate"])}
    assert_within_allowance(result.iloc[0], {g: value for g, (value, _) in references.items()},
                            {g: allowance for g, (_, allowance) in references.items()},
                            k_for(len(references)))


AMERICAN_CALL = ("american call", "american", "call", 100.0, SHORT, {"fixings": 40})
# the solved policy's allowances against the ADI solution (relative, absolute): price and
# delta the american tests', vega tests/models/heston/test_call_policy.py's, rho
# tests/models/heston/test_exercise_theta.py's (the grid's error and what the fixed
# policy's rho keeps of its distance from the optimal one)
SOLVED_ALLOWANCE = {"price": (0.003, 0.002), "delta": (0.01, 0.002), "vega": (0.02, 0.02),
                    "rho_rate": (0.005, 0.001)}


def test_an_american_call_across_a_dividend_takes_the_solved_policy():
    """An american call across a cash dividend (no symmetric put) exercises by the ADI
    solution's boundaries with the drop, solved for the call itself (the regressed policy
    it had before left its rho 3 % low, z −7 at 50,000 paths): price, delta, vega and rho
    against the ADI solution's Bermudan call with the drop on daily dates and a date 1e-7
    before the ex-date (where the call is exercised; the row's grid has it too), rho its
    central difference at r ± 0.001, within k·SE plus ``SOLVED_ALLOWANCE``."""
    from greeks.market.positions import CUM

    result = price_portfolio(book([AMERICAN_CALL]), market=market(ONE), paths=100_000,
                             seed=seed(329), threads=2, greeks="rho")
    dates = sorted(list(range(1, day(SHORT) + 1)) + [day(ONE[0][0]) - 365.0 * CUM])

    def adi(rate=RATE):
        return _adi(100.0, SHORT, ONE, dates=dates, option_type="call", rate=rate)
    price, delta, vega = adi()
    rho = (adi(RATE + 1e-3)[0] - adi(RATE - 1e-3)[0]) / 2e-3
    assert_within_allowance(result.iloc[0], {"price": price, "delta": delta, "vega": vega,
                                             "rho_rate": rho}, SOLVED_ALLOWANCE, k_for(4))
    assert 0.0 < result["exercise_probability"][0] < 1.0


def test_the_price_control_across_a_cash_dividend_has_its_exact_mean():
    """The control of an exercise row's price across cash dividends, the discounted unfloored
    price DF(T) Ŝ(T) on the engine's chain (the drops not floored), against its mean written
    here, e^{−rT} (S0 e^{(r−q)T} − Σ_{τ ≤ T} D e^{(r−q)(T−τ)}), within k·SE: a bermudan and
    an american put (their expiries after both ex-dates and between them), one dividend and
    two."""
    from greeks.api import load
    from greeks.engine.plan import plan_groups
    from greeks.models.heston.adapter import ADAPTER

    checked = []
    for n, dividends in enumerate((ONE, CASH)):
        frame = load(book([BERMUDAN, AMERICAN]), market(dividends))
        (group,) = plan_groups(frame, method="auto", plain=False)
        chunk = ADAPTER.exercise_paths(group, np.random.SeedSequence(seed(370 + n)), 20_000)
        for j, position in enumerate(group.positions):
            expiry = years(frame["expiry"].iat[position], VALUATION)
            carried = sum(a * math.exp((RATE - YIELD) * (expiry - years(d, VALUATION)))
                          for d, a in dividends if years(d, VALUATION) <= expiry)
            mean = math.exp(-RATE * expiry) * (100.0 * math.exp((RATE - YIELD) * expiry)
                                               - carried)
            sample = math.exp(-RATE * expiry) * chunk.linear[:, j]
            checked.append((frame["id"].iat[position], len(dividends), sample.mean(),
                            sample.std(ddof=1) / math.sqrt(sample.size), mean))
    k = k_for(len(checked))
    for name, count, estimate, se, mean in checked:
        assert_within(estimate, mean, se, k, label=f"{name}, {count} dividends")


def test_exercise_rows_row_order_and_a_dividend_after_expiry():
    """With american and bermudan rows across a cash dividend, reversing the rows is bit
    identical; a cash dividend after every expiry changes no number of an american or
    bermudan put (bit for bit) nor its method."""
    rows = [BERMUDAN, AMERICAN, ("call", "european", "call", 100.0, EXPIRY, {})]
    options = dict(paths=6_000, seed=seed(350), **EXERCISE_OPTIONS)
    columns = [c for g in ENGINE for c in (g, f"{g}_se")] + ["method"]
    forward = price_portfolio(book(rows), market=market(), **options)
    backward = price_portfolio(book(rows[::-1]), market=market(), **options)
    pd.testing.assert_frame_equal(forward.set_index("id")[columns],
                                  backward.set_index("id").loc[forward["id"], columns])
    none = price_portfolio(book(rows[:2]), market=market([]), **options)
    after = price_portfolio(book(rows[:2]), market=market([("2027-12-01", 4.0)]), **options)
    pd.testing.assert_frame_equal(none[columns], after[columns])


def test_the_risk_report_takes_their_theta_and_rho_from_the_engine():
    """The risk report's theta and rho of a bermudan put across a cash dividend are the
    engine's (theta per day, rho per basis point), as price_portfolio reports them on the
    same seed, and enter the total."""
    from greeks.report import risk_report

    options = dict(paths=2_000, seed=seed(380), greeks="theta,rho")
    report = risk_report(book([BERMUDAN]), market=market(ONE), **options)
    row = report.attrs["positions"].iloc[0]
    priced = price_portfolio(book([BERMUDAN]), market=market(ONE), **options).iloc[0]
    assert row["theta_per_day"] == pytest.approx(priced["theta_per_day"], rel=1e-12)
    assert row["rho_per_bp"] == pytest.approx(1e-4 * priced["rho_rate"], rel=1e-12)
    assert report.iloc[-1]["rho_per_bp"] == pytest.approx(row["rho_per_bp"], rel=1e-12)


@pytest.mark.slow
def test_exercise_standard_errors_match_the_spread_over_seeds():
    """Price, delta, vega, gamma, rho and theta of a bermudan and an american put across a
    cash dividend: 10 seeds' spread against the reported SEs (each seed fits its own
    policy: the pilot's noise in the fixed policy's rho, about 0.3 against an SE of 1.2
    here, adds some 6 % to its spread's variance)."""
    greeks = ENGINE
    runs = [price_portfolio(book([BERMUDAN, AMERICAN]), market=market(ONE), paths=4_000,
                            seed=s, **EXERCISE_OPTIONS) for s in seeds(10, start=360)]
    estimates = np.stack([run[greeks].to_numpy().ravel() for run in runs])
    ses = np.stack([run[[f"{g}_se" for g in greeks]].to_numpy().ravel() for run in runs])
    assert np.isfinite(estimates).all() and np.isfinite(ses).all()
    assert_se_matches_spread(estimates, ses)


def test_the_upper_bound_at_one_date_is_the_european_option():
    """The dual upper bound across cash dividends (greeks.models.heston.duality: the cash paid
    on the exact chain at each ex-date): with one exercise date max(Z − M) = Z_n − M_n,
    whose mean is the European price whatever the hedge, so the bound of a put or call
    exercisable at expiry only is the European option across both drops: against the
    reference (the ADI test's allowance of 0.1 % of the price for the reference's daily
    steps)."""
    rows = [("one " + option, "bermudan", option, strike, EXPIRY, {"fixings": 1})
            for _, _, option, strike, _, _ in ROWS[:2]]
    result = price_portfolio(book(rows), market=market(), paths=20_000, seed=seed(329),
                             upper_bound=True, threads=2)
    paths = 200_000  # the bound's SE is a tenth of this reference's
    chain = _chain(paths, day(EXPIRY), _events(ROWS[:2], CASH), HESTON["v0"],
                   np.random.default_rng(seed(330)))
    k = k_for(4)
    for j, sample in enumerate(_values(chain, 100.0, ROWS[:2], CASH)):
        mean, se = sample.mean(), sample.std(ddof=1) / math.sqrt(paths)
        bound, bound_se = result["upper_bound"][j], result["upper_bound_se"][j]
        assert abs(bound - mean) <= k * combined_se(bound_se, se) + 1e-3 * mean, (
            j, bound, bound_se, mean, se)
        assert abs(result.attrs["upper_bound_checks"][rows[j][0]]["martingale_z"]) <= k


def test_the_upper_bound_lies_tightly_above_bermudan_options_across_cash_dividends():
    """A weekly bermudan put and call across a cash dividend and a monthly bermudan put
    across two: the bound lies above the engine's price (the value of its policy, a lower
    bound) by at least −k·SE and at most 1.5 % of the price + k·SE (measured at 20,000
    paths, three seeds, with american put and call: +0.2 … 2.0 %, 0.4–3.8 SE of the price,
    the bounds themselves steady within 0.1 %; at 200,000 paths an american put and call to
    the later expiry +0.27 % and +0.74 %); M_n's mean within k·SE of 0."""
    monthly = ("monthly", "bermudan", "put", 105.0, EXPIRY, {"fixing_dates": MONTHLY})
    weekly = ("weekly", "bermudan", "put", 100.0, SHORT, {"fixings": 17})
    call = ("call", "bermudan", "call", 100.0, SHORT, {"fixings": 17})
    result = price_portfolio(book([weekly, monthly, call]), market=market(), paths=20_000,
                             seed=seed(331), upper_bound=True, threads=2)
    k = k_for(9)
    for j in range(3):
        price, bound = result["price"][j], result["upper_bound"][j]
        error = combined_se(result["price_se"][j], result["upper_bound_se"][j])
        assert -k * error <= bound - price <= 0.015 * price + k * error, (j, price, bound)
        assert abs(result.attrs["upper_bound_checks"][result["id"][j]]["martingale_z"]) <= k
