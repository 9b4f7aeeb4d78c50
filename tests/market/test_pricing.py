"""Dated positions priced off a market, against references written here: closed forms on
the curves (checked against their own central differences), plain numpy simulations,
the Heston characteristic-function price on the integrated rates, and a numerical
integration over the spot at a cash dividend's ex-date."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from helpers import (
    ROOT,
    K,
    assert_se_matches_spread,
    assert_within,
    combined_se,
    k_for,
    seed,
    seeds,
)
from scipy import stats

from greeks.api import price_portfolio
from greeks.models.gbm.analytic import black_scholes
from greeks.models.heston.analytic import heston_digital, heston_greeks

TERM_SPEC = json.loads((ROOT / "data" / "term_market.json").read_text())
VALUATION = TERM_SPEC["valuation_date"]
USD = TERM_SPEC["curves"]["USD"]
SPX = TERM_SPEC["underlyings"]["SPX"]
YIELD, VOL, (PROPORTIONAL,) = SPX["dividend_yield"], SPX["vol"], SPX["dividends"]
HESTON = {"v0": 0.04, "kappa": 1.5, "theta": 0.05, "xi": 0.5, "rho": -0.6}


def years(date: str) -> float:
    return (pd.Timestamp(date) - pd.Timestamp(VALUATION)).days / 365.0


def interpolated(nodes: dict, key: str, t: float) -> float:
    """∫_0^t of a curve given by zero rates: piecewise linear through (0,0) and (t_i, z_i t_i),
    the last slope continued (written out here, apart from greeks.market)."""
    knots = [0.0] + [years(d) for d in nodes["dates"]]
    values = [0.0] + [z * u for z, u in zip(nodes[key], knots[1:])]
    if t <= knots[-1]:
        return float(np.interp(t, knots, values))
    slope = (values[-1] - values[-2]) / (knots[-1] - knots[-2])
    return values[-1] + slope * (t - knots[-1])


def variance(vols: dict, t: float, shift: float = 0.0) -> float:
    """w(t) of the vol curve moved by ``shift`` at every node."""
    knots = [0.0] + [years(d) for d in vols["dates"]]
    sig = [v + shift for v in vols["vols"]]
    values = [0.0] + [s * s * u for s, u in zip(sig, knots[1:])]
    return float(np.interp(t, knots, values)) if t <= knots[-1] else sig[-1] ** 2 * t


def market(**underlyings):
    return {"valuation_date": VALUATION, "curves": {"USD": USD, "FLAT": 0.04},
            "underlyings": underlyings}


def row(id_, instrument, option_type, strike, expiry, underlying, **more):
    return {"id": id_, "instrument": instrument, "option_type": option_type, "strike": strike,
            "expiry": expiry, "underlying": underlying, **more}




def kept(t: float) -> float:
    """The fraction of the spot the proportional dividend leaves by t."""
    return 1.0 - PROPORTIONAL["yield"] if t >= years(PROPORTIONAL["ex_date"]) else 1.0


def curve_closed_form(kind, omega, spot, strike, t, shift=0.0):
    """Black–Scholes on the curves: DF(T), F = S0 exp(I_r − I_q) (1 − y), w(T)."""
    discount = math.exp(-interpolated(USD, "zero_rates", t))
    forward = spot * kept(t) * math.exp(interpolated(USD, "zero_rates", t)
                                        - interpolated(YIELD, "yields", t))
    w = variance(VOL, t, shift)
    d1 = (math.log(forward / strike) + 0.5 * w) / math.sqrt(w)
    d2 = d1 - math.sqrt(w)
    dw = (variance(VOL, t, 1e-4) - variance(VOL, t, -1e-4)) / 2e-4 if shift == 0.0 else 0.0
    if kind == "european":
        price = discount * omega * (forward * stats.norm.cdf(omega * d1)
                                    - strike * stats.norm.cdf(omega * d2))
        delta = omega * discount * forward / spot * stats.norm.cdf(omega * d1)
        d_w = discount * forward * stats.norm.pdf(d1) / (2 * math.sqrt(w))
        gamma = discount * forward / spot * stats.norm.pdf(d1) / (spot * math.sqrt(w))
    else:
        price = discount * stats.norm.cdf(omega * d2)
        delta = omega * discount * stats.norm.pdf(d2) / (spot * math.sqrt(w))
        d_w = -omega * discount * stats.norm.pdf(d2) * d1 / (2 * w)
        gamma = (-omega * discount * stats.norm.pdf(d2) * (1 + d2 / math.sqrt(w))
                 / (spot * spot * math.sqrt(w)))
    return price, delta, d_w * dw, gamma


TERM = market(SPX=SPX)
TERM_ROWS = [("call", "european", 1.0, 105.0, "2027-11-15"),
             ("put", "european", -1.0, 95.0, "2028-02-01"),
             ("digital", "digital", 1.0, 100.0, "2027-08-20")]


def test_closed_form_on_curves_matches_its_central_differences():
    for _, kind, omega, strike, expiry in TERM_ROWS:
        t = years(expiry)
        _, delta, vega, gamma = curve_closed_form(kind, omega, 100.0, strike, t)
        h, e = 1e-3, 1e-5
        up, down = (curve_closed_form(kind, omega, 100.0 + s, strike, t)[0] for s in (h, -h))
        assert math.isclose(delta, (up - down) / (2 * h), rel_tol=1e-6)
        up, down = (curve_closed_form(kind, omega, 100.0 + s, strike, t)[1] for s in (h, -h))
        assert math.isclose(gamma, (up - down) / (2 * h), rel_tol=1e-6)
        up, down = (curve_closed_form(kind, omega, 100.0, strike, t, s)[0] for s in (e, -e))
        assert math.isclose(vega, (up - down) / (2 * e), rel_tol=1e-6)


def test_gbm_on_curves_and_a_vol_term_structure_matches_the_closed_form():
    book = pd.DataFrame([row(*[name, kind, "call" if omega > 0 else "put", strike, expiry,
                               "SPX"]) for name, kind, omega, strike, expiry in TERM_ROWS])
    result = price_portfolio(book, market=TERM, paths=200_000, seed=seed(1), threads=1,
                             greeks="gamma")
    k = k_for(12)
    for j, (_, kind, omega, strike, expiry) in enumerate(TERM_ROWS):
        reference = curve_closed_form(kind, omega, 100.0, strike, years(expiry))
        for g, name in enumerate(("price", "delta", "vega", "gamma")):
            assert_within(result[name][j], reference[g], result[f"{name}_se"][j], k,
                          label=f"{kind} {name}")


FIXINGS = ["2027-03-20", "2027-04-20", "2027-05-25", "2027-07-01", "2027-08-10",
           "2027-09-20", "2027-11-01", "2027-12-15"]


def _numpy_paths(n, rng, shift=0.0):
    """Prices on FIXINGS under the flat 4% curve, no yield, VOL moved by ``shift``: exact
    log-normal steps of variance Δw (numpy, apart from the engine), with the normals."""
    t = np.array([years(d) for d in FIXINGS])
    w = np.array([variance(VOL, u, shift) for u in t])
    z = rng.standard_normal((n, t.size))
    steps = np.sqrt(np.diff(w, prepend=0.0)) * z
    return 100.0 * np.exp(0.04 * t - 0.5 * w + np.cumsum(steps, axis=1)), t, w, z


def test_asian_and_barrier_under_a_vol_term_structure_match_a_numpy_simulation():
    spec = market(SPX={"spot": 100.0, "curve": "FLAT", "vol": VOL})
    dates = ";".join(FIXINGS)
    book = pd.DataFrame([
        row("asian", "asian", "call", 100.0, FIXINGS[-1], "SPX", fixing_dates=dates),
        row("uo", "barrier", "call", 100.0, FIXINGS[-1], "SPX", fixing_dates=dates,
            barrier=125.0, barrier_type="up-and-out")])
    result = price_portfolio(book, market=spec, paths=200_000, seed=seed(2), threads=1)
    n = 400_000
    s, t, w, z = _numpy_paths(n, np.random.default_rng(seed(3)))
    discount = math.exp(-0.04 * t[-1])
    average = s.mean(axis=1)
    in_money = average > 100.0
    # pathwise derivatives of the asian: dS_i/dS0 = S_i/S0, and for a parallel shift
    # dS_i/dε = S_i (−w'_i/2 + Σ_{k≤i} Δw'_k Z_k / (2 sqrt(Δw_k)))
    w_shift = np.array([(variance(VOL, u, 1e-5) - variance(VOL, u, -1e-5)) / 2e-5 for u in t])
    dw, dw_shift = np.diff(w, prepend=0.0), np.diff(w_shift, prepend=0.0)
    ds = s * (-0.5 * w_shift + np.cumsum(dw_shift * z / (2 * np.sqrt(dw)), axis=1))
    samples = {"price": discount * np.maximum(average - 100.0, 0.0),
               "delta": discount * in_money * average / 100.0,
               "vega": discount * in_money * ds.mean(axis=1)}
    k = k_for(4)
    for name, values in samples.items():
        assert_within(result[name][0], values.mean(), combined_se(
            result[f"{name}_se"][0], values.std() / math.sqrt(n)), k, label=f"asian {name}")
    alive = (s < 125.0).all(axis=1)
    barrier = discount * alive * np.maximum(s[:, -1] - 100.0, 0.0)
    assert_within(result["price"][1], barrier.mean(),
                  combined_se(result["price_se"][1], barrier.std() / math.sqrt(n)), k,
                  label="barrier price")


def test_heston_on_curves_matches_the_characteristic_function_price():
    spec = market(NDX={"spot": 100.0, "curve": "USD", "dividend_yield": YIELD,
                       "dividends": [PROPORTIONAL], "heston": HESTON})
    book = pd.DataFrame([row("call", "european", "call", 105.0, "2027-12-10", "NDX"),
                         row("digital", "digital", "put", 95.0, "2028-01-20", "NDX"),
                         row("asian", "asian", "call", 100.0, "2027-12-10", "NDX",
                             fixings=4)])
    result = price_portfolio(book, market=spec, paths=200_000, seed=seed(4), threads=1)
    assert list(result["model"]) == ["heston"] * 3
    k = k_for(6)
    for j, (kind, option, strike, expiry) in enumerate([("european", "call", 105.0, "2027-12-10"),
                                                        ("digital", "put", 95.0, "2028-01-20")]):
        t = years(expiry)
        rate = interpolated(USD, "zero_rates", t) / t
        dividend = (interpolated(YIELD, "yields", t) - math.log(kept(t))) / t
        pricer = heston_greeks if kind == "european" else heston_digital
        reference = pricer(option, 100.0, strike, t, rate, *HESTON.values(), dividend)
        for g, name in enumerate(("price", "delta", "vega")):
            assert_within(result[name][j], reference[g], result[f"{name}_se"][j], k,
                          label=f"heston {kind} {name}")
    assert np.isfinite(result.loc[2, ["price", "delta", "vega"]].to_numpy(dtype=float)).all()


def _dividend_reference(spot, vol, omega, strike, t, ex, amount, rate=0.04):
    """E[e^{−rT} payoff] with the spot dropping by ``amount`` (floored at 0) at ``ex``: the
    Black–Scholes value from the ex-date on, integrated against the log-normal law of the
    spot just before it (Gauss–Hermite, 200 nodes)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    before = spot * np.exp((rate - 0.5 * vol * vol) * ex + vol * math.sqrt(ex) * nodes)
    after = np.maximum(before - amount, 1e-300)
    values = np.array([black_scholes("call" if omega > 0 else "put", a, strike, t - ex, rate,
                                     vol).price for a in after])
    return math.exp(-rate * ex) * float(weights @ values) / math.sqrt(2 * math.pi)


def test_cash_dividends_match_an_integration_over_the_ex_date():
    spec = market(AAA={"spot": 100.0, "curve": "FLAT", "vol": 0.25,
                       "dividends": [{"ex_date": "2027-06-01", "amount": 3.0},
                                     {"ex_date": "2028-06-01", "amount": 3.0}]})
    book = pd.DataFrame([row("call", "european", "call", 100.0, "2027-12-01", "AAA"),
                         row("put", "european", "put", 95.0, "2027-12-01", "AAA"),
                         row("early", "european", "call", 100.0, "2027-05-01", "AAA")])
    result = price_portfolio(book, market=spec, paths=200_000, seed=seed(5), threads=1,
                             greeks="gamma")
    t, ex = years("2027-12-01"), years("2027-06-01")
    k = k_for(12)
    for j, (omega, strike) in enumerate([(1.0, 100.0), (-1.0, 95.0)]):
        def value(spot=100.0, vol=0.25, omega=omega, strike=strike):
            return _dividend_reference(spot, vol, omega, strike, t, ex, 3.0)
        reference = (value(), (value(spot=100.01) - value(spot=99.99)) / 0.02,
                     (value(vol=0.2501) - value(vol=0.2499)) / 0.0002,
                     (value(spot=100.5) - 2.0 * value() + value(spot=99.5)) / 0.25)
        for g, name in enumerate(("price", "delta", "vega", "gamma")):
            assert_within(result[name][j], reference[g], result[f"{name}_se"][j], k,
                          label=f"dividend {name} {j}")
    # a row expiring before the ex-date is Black–Scholes
    def early(spot=100.0):
        return black_scholes("call", spot, 100.0, years("2027-05-01"), 0.04, 0.25)
    reference = (*early(), (early(100.5).price - 2.0 * early().price + early(99.5).price) / 0.25)
    for g, name in enumerate(("price", "delta", "vega", "gamma")):
        assert_within(result[name][2], reference[g], result[f"{name}_se"][2], k)


def _digital_after(spot, strike, tau, rate, vol):
    """Black–Scholes cash-or-nothing call paying 1 (written here)."""
    if spot <= 0.0:
        return 0.0
    d2 = (math.log(spot / strike) + (rate - 0.5 * vol * vol) * tau) / (vol * math.sqrt(tau))
    return math.exp(-rate * tau) * stats.norm.cdf(d2)


ASIAN_DATES = ["2027-04-01", "2027-05-03", "2027-07-01", "2027-08-02", "2027-10-01",
               "2027-12-01"]


def _asian_across_a_drop(n, rng, spot, vol, ex, amount, rate=0.04):
    """Per-path discounted payoffs of the 100-strike asian call on ASIAN_DATES, the spot
    dropping by ``amount`` (floored at 0) at ``ex`` (years): exact log-normal steps between
    the event times, numpy apart from the engine; the same normals for every (spot, vol)."""
    fixings = np.array([years(d) for d in ASIAN_DATES])
    events = np.union1d(fixings, [ex])
    z = rng.standard_normal((n, events.size))

    def payoffs(s0, sigma):
        s, before, fixed = np.full(n, s0), 0.0, []
        for i, t in enumerate(events):
            step = t - before
            s = s * np.exp((rate - 0.5 * sigma * sigma) * step
                           + sigma * math.sqrt(step) * z[:, i])
            if t == ex:
                s = np.maximum(s - amount, 0.0)
            if t in fixings:
                fixed.append(s)
            before = t
        return math.exp(-rate * fixings[-1]) * np.maximum(np.mean(fixed, axis=0) - 100.0, 0.0)
    return payoffs


def test_digital_and_asian_across_a_cash_dividend_match_independent_references():
    """A cash digital call across a cash dividend against the integration over the spot
    before the ex-date (the Black–Scholes digital after it; delta and vega by central
    differences of that reference), and an asian call whose fixings straddle the ex-date
    against a numpy simulation of 400,000 paths (delta and vega by central differences on
    common normals, their SEs from the per-path differences; bumps 0.5 % of the spot and
    0.005 of vol, whose O(h²) bias is below 1 % of their SE)."""
    spec = market(AAA={"spot": 100.0, "curve": "FLAT", "vol": 0.25,
                       "dividends": [{"ex_date": "2027-06-01", "amount": 3.0}]})
    book = pd.DataFrame([row("digital", "digital", "call", 100.0, "2027-12-01", "AAA"),
                         row("asian", "asian", "call", 100.0, ASIAN_DATES[-1], "AAA",
                             fixing_dates=";".join(ASIAN_DATES))])
    result = price_portfolio(book, market=spec, paths=200_000, seed=seed(6), threads=1)
    t, ex = years("2027-12-01"), years("2027-06-01")
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)

    def digital(spot=100.0, vol=0.25):
        before = spot * np.exp((0.04 - 0.5 * vol * vol) * ex + vol * math.sqrt(ex) * nodes)
        after = [_digital_after(b - 3.0, 100.0, t - ex, 0.04, vol) for b in before]
        return math.exp(-0.04 * ex) * float(weights @ after) / math.sqrt(2 * math.pi)

    k = k_for(6)
    reference = (digital(), (digital(100.01) - digital(99.99)) / 0.02,
                 (digital(vol=0.2501) - digital(vol=0.2499)) / 0.0002)
    for g, name in enumerate(("price", "delta", "vega")):
        assert_within(result[name][0], reference[g], result[f"{name}_se"][0], k,
                      label=f"digital {name}")
    n = 400_000
    payoffs = _asian_across_a_drop(n, np.random.default_rng(seed(7)), 100.0, 0.25, ex, 3.0)
    samples = {"price": payoffs(100.0, 0.25),
               "delta": (payoffs(100.5, 0.25) - payoffs(99.5, 0.25)) / 1.0,
               "vega": (payoffs(100.0, 0.255) - payoffs(100.0, 0.245)) / 0.01}
    for name, values in samples.items():
        assert_within(result[name][1], values.mean(), combined_se(
            result[f"{name}_se"][1], values.std() / math.sqrt(n)), k, label=f"asian {name}")


def test_cash_dividend_standard_errors_match_the_spread_over_seeds():
    """Price, delta, vega and gamma of rows across a cash dividend (the gamma's linear
    control read off the paths' prices, the first interval non-Gaussian): 16 seeds' spread
    against the reported SEs."""
    spec = market(AAA={"spot": 100.0, "curve": "USD", "vol": 0.25,
                       "dividends": [{"ex_date": "2027-06-01", "amount": 3.0}]})
    book = pd.DataFrame([row("call", "european", "call", 100.0, "2027-12-01", "AAA"),
                         row("put", "european", "put", 95.0, "2027-09-01", "AAA"),
                         row("digital", "digital", "call", 105.0, "2027-12-01", "AAA"),
                         row("asian", "asian", "call", 100.0, "2027-12-01", "AAA",
                             fixings=6)])
    names = ["price", "delta", "vega", "gamma"]
    runs = [price_portfolio(book, market=spec, paths=4_000, seed=s, threads=1,
                            greeks="gamma") for s in seeds(16, start=7)]
    estimates = np.stack([run[names].to_numpy() for run in runs])
    ses = np.stack([run[[f"{name}_se" for name in names]].to_numpy() for run in runs])
    assert_se_matches_spread(estimates.reshape(len(runs), -1), ses.reshape(len(runs), -1))


def test_dates_and_year_fractions_give_the_same_numbers_in_any_row_order():
    """An asian on dates 73 days apart (0.2 years, ACT/365F) is the asian with maturity 0.8
    and 4 fixings; both share one simulation, so their numbers are identical, and
    reversing the rows changes nothing.  A flat market prices like the flat columns."""
    spec = market(SPX={"spot": 100.0, "curve": "FLAT", "dividend_yield": 0.01, "vol": 0.25})
    dates = "2027-05-13;2027-07-25;2027-10-06;2027-12-18"
    book = pd.DataFrame([
        row("dated", "asian", "call", 100.0, "2027-12-18", "SPX", fixing_dates=dates),
        {"id": "years", "instrument": "asian", "option_type": "call", "strike": 100.0,
         "maturity": 0.8, "fixings": 4, "underlying": "SPX"},
        row("euro", "european", "put", 100.0, "2027-12-18", "SPX", multiplier=100)])
    result = price_portfolio(book, market=spec, paths=20_000, seed=seed(6), threads=1)
    reverse = price_portfolio(book.iloc[::-1].reset_index(drop=True), market=spec,
                              paths=20_000, seed=seed(6), threads=2)
    columns = ["price", "price_se", "delta", "delta_se", "vega", "vega_se"]
    a, b = result.set_index("id")[columns], reverse.set_index("id")[columns]
    assert a.loc["dated"].tolist() == a.loc["years"].tolist()
    assert a.equals(b.loc[a.index])
    flat = price_portfolio(pd.DataFrame([
        {"id": "flat", "instrument": "asian", "option_type": "call", "strike": 100.0,
         "maturity": 0.8, "fixings": 4, "spot": 100.0, "rate": 0.04, "dividend": 0.01,
         "model": "gbm", "vol": 0.25}]), paths=20_000, seed=seed(7), threads=1)
    for name in ("price", "delta", "vega"):
        assert_within(a.loc["dated", name], flat[name][0],
                      combined_se(a.loc["dated", f"{name}_se"], flat[f"{name}_se"][0]), K)


@pytest.mark.parametrize("greeks_", ["rho,theta,vanna,volga", "dkappa"])
def test_further_greeks_of_dated_rows_are_empty_not_flat(greeks_):
    """Of the further Greeks dated rows get gamma (with cash dividends too), rho
    and theta (tests/engine/test_buckets.py, tests/market/test_heston_theta.py); the others
    are NaN, and so are their totals."""
    spec = market(SPX={"spot": 100.0, "curve": "USD", "vol": VOL},
                  NDX={"spot": 100.0, "curve": "USD", "heston": HESTON},
                  AAA={"spot": 100.0, "curve": "USD", "vol": 0.2,
                       "dividends": [{"ex_date": "2027-06-01", "amount": 1.0}]})
    book = pd.DataFrame([row("g", "european", "call", 100.0, "2027-12-01", "SPX"),
                         row("h", "european", "call", 100.0, "2027-12-01", "NDX"),
                         row("c", "european", "call", 100.0, "2027-12-01", "AAA")])
    result = price_portfolio(book, market=spec, paths=4_000, seed=seed(8), threads=1,
                             greeks=f"gamma,{greeks_}")
    further = [c for c in result.columns if c in ("rho_rate", "theta_per_year", "vanna",
                                                  "volga", "dkappa")]
    carry = [c for c in further if c in ("rho_rate", "theta_per_year")]
    others = [c for c in further if c not in carry]
    assert np.isfinite(result.loc[[0, 2], carry].to_numpy(dtype=float)).all()
    assert np.isfinite(result.loc[1, carry].to_numpy(dtype=float)).all()
    assert result[others].isna().all().all()
    total = result.attrs["total"]
    assert all(math.isnan(total[c]) for c in others)
    assert all(math.isfinite(total[c]) for c in carry)
    assert np.isfinite(result[["price", "delta", "vega"]].to_numpy(dtype=float)).all()
    assert np.isfinite(result["gamma"]).all()


def test_every_method_and_the_report_take_dated_rows_by_likelihood_ratio():
    """Dated rows go by likelihood ratio (conditional MC for Heston europeans) under every
    method, GBM europeans pathwise under ``pathwise`` (tests/market/test_pathwise_dated.py);
    a report weighs each position by quantity × multiplier."""
    from greeks.report import risk_report

    spec = market(SPX={"spot": 100.0, "curve": "USD", "vol": VOL},
                  NDX={"spot": 100.0, "curve": "USD", "heston": HESTON})
    book = pd.DataFrame([row("g", "european", "call", 100.0, "2027-12-01", "SPX",
                             quantity=2, multiplier=100),
                         row("h", "european", "call", 100.0, "2027-12-01", "NDX",
                             quantity=-1, multiplier=10)])
    base = price_portfolio(book, market=spec, paths=4_000, seed=seed(9), threads=1)
    assert list(base["method"]) == ["lr+controls+antithetic", "conditional+controls+antithetic"]
    for method in ("fd", "pathwise", "rqmc", "mixed"):
        other = price_portfolio(book, market=spec, paths=4_000, seed=seed(9), threads=1,
                                method=method)
        kept = [1] if method == "pathwise" else [0, 1]
        assert other.loc[kept, ["price", "delta", "vega"]].equals(
            base.loc[kept, ["price", "delta", "vega"]])
        if method == "pathwise":
            assert other["method"][0] == "pathwise+antithetic"
    report = risk_report(book, market=spec, paths=4_000, seed=seed(9), threads=1)
    positions = report.attrs["positions"]
    assert np.allclose(positions["market_value"], [200 * base["price"][0], -10 * base["price"][1]],
                       rtol=1e-12)


def test_vega_buckets_match_the_closed_form_per_vol_node():
    """∂V/∂σ_j of a european = ∂V/∂w(T) · ∂w(T)/∂σ_j: the node(s) around its expiry only;
    an asian's buckets add up to its parallel vega."""
    from greeks.api import vega_buckets

    book = pd.DataFrame([row("call", "european", "call", 105.0, "2027-11-15", "SPX"),
                         row("asian", "asian", "call", 100.0, FIXINGS[-1], "SPX",
                             fixing_dates=";".join(FIXINGS))])
    buckets = vega_buckets(book, market=TERM, paths=200_000, seed=seed(10))
    call = buckets[buckets["id"] == "call"].reset_index(drop=True)
    assert list(call["node"]) == VOL["dates"]
    t = years("2027-11-15")
    _, _, parallel, _ = curve_closed_form("european", 1.0, 100.0, 105.0, t)
    d_w = parallel / (variance(VOL, t, 1e-4) - variance(VOL, t, -1e-4)) * 2e-4
    k = k_for(4)
    for j in range(3):
        moved = {**VOL, "vols": [v + (1e-4 if i == j else 0.0) for i, v in enumerate(VOL["vols"])]}
        back = {**VOL, "vols": [v - (1e-4 if i == j else 0.0) for i, v in enumerate(VOL["vols"])]}
        reference = d_w * (variance(moved, t) - variance(back, t)) / 2e-4
        if reference == 0.0:
            assert call["vega"][j] == 0.0  # a node beyond the expiry's interval has no weight
        else:
            assert_within(call["vega"][j], reference, call["vega_se"][j], k, label=f"node {j}")
    asian = buckets[buckets["id"] == "asian"]
    whole = price_portfolio(book, market=TERM, paths=200_000, seed=seed(11), threads=1,
                            plain=True)
    # the buckets share paths: the SE of their sum is at most sqrt(nodes) times the root
    # sum of squares (Cauchy–Schwarz), a conservative bound
    assert_within(asian["vega"].sum(), whole["vega"][1],
                  combined_se(np.sqrt((asian["vega_se"] ** 2).sum()) * math.sqrt(3),
                              whole["vega_se"][1]), k, label="asian buckets")


def test_the_example_book_agrees_with_its_closed_forms():
    """instruments/book.csv off instruments/market.json (the quick start's example): every row
    with a closed form (``greeks analytic``) within k SE of it for price, delta and vega."""

    from greeks.reference import analytic_prices

    root = ROOT / "instruments"
    book, market = root / "book.csv", root / "market.json"
    exact = analytic_prices(book, market=market).set_index("id")
    exact = exact[exact["note"].isna()]
    results = price_portfolio(book, market=market, paths=20_000, seed=seed(41)).set_index("id")
    results = results.loc[exact.index]
    names = ["price", "delta", "vega"]
    assert len(exact) >= 10
    assert_within(results[names].to_numpy(dtype=float), exact[names].to_numpy(dtype=float),
                  results[[f"{n}_se" for n in names]].to_numpy(dtype=float),
                  k=k_for(3 * len(exact)))
