"""Bucketed Greeks of dated GBM rows (greeks.engine.buckets) against central differences
of closed forms written here on the market dict itself (every node bumped in the dict), a
Gauss–Hermite reference for a cash dividend, the exact one-day change for theta; the
parallel shifts as sums of their buckets; the standard errors over seeds; the report."""

import copy
import datetime as dt
import io
import json
import math

import numpy as np
import pandas as pd
from click.testing import CliRunner
from helpers import (
    ROOT,
    assert_se_matches_spread,
    assert_within,
    combined_se,
    integral,
    k_for,
    seed,
    seeds,
    years,
)
from scipy import stats

from greeks.api import load, price_portfolio
from greeks.cli import main
from greeks.engine.buckets import bucket_estimates
from greeks.market import load_market

SPEC = json.loads((ROOT / "data" / "term_market.json").read_text())
VALUATION = SPEC["valuation_date"]
ROWS = [("call", "european", 1.0, 105.0, "2027-11-15"),
        ("put", "european", -1.0, 95.0, "2028-02-01"),
        ("digital", "digital", 1.0, 100.0, "2027-08-20")]


def total_variance(vol, t: float, valuation: str) -> float:
    if not isinstance(vol, dict):
        return vol * vol * t
    knots = [0.0] + [years(d, valuation) for d in vol["dates"]]
    values = [0.0] + [s * s * u for s, u in zip(vol["vols"], knots[1:])]
    return float(np.interp(t, knots, values)) if t <= knots[-1] else vol["vols"][-1] ** 2 * t


def closed_form(spec, kind, omega, strike, expiry):
    """Black–Scholes on the curves of ``spec``: DF(T), the forward, w(T)."""
    valuation, und = spec["valuation_date"], spec["underlyings"]["SPX"]
    t = years(expiry, valuation)
    rate = integral(spec["curves"]["USD"], "zero_rates", t, valuation)
    carry = rate - integral(und["dividend_yield"], "yields", t, valuation)
    forward = und["spot"] * math.exp(carry) * math.prod(
        1.0 - d["yield"] for d in und["dividends"] if years(d["ex_date"], valuation) <= t)
    w = total_variance(und["vol"], t, valuation)
    d1 = (math.log(forward / strike) + 0.5 * w) / math.sqrt(w)
    d2 = d1 - math.sqrt(w)
    if kind == "digital":
        return math.exp(-rate) * stats.norm.cdf(omega * d2)
    return math.exp(-rate) * omega * (forward * stats.norm.cdf(omega * d1)
                                      - strike * stats.norm.cdf(omega * d2))


def bumps(spec):
    """(label, setter(spec, h)) for every factor of the SPX rows."""
    und = ["underlyings", "SPX"]
    out = []
    for j, date in enumerate(spec["underlyings"]["SPX"]["vol"]["dates"]):
        out.append((f"vol:SPX:{date}", und + ["vol", "vols", j]))
    for j, date in enumerate(spec["curves"]["USD"]["dates"]):
        out.append((f"rate:USD:{date}", ["curves", "USD", "zero_rates", j]))
    for j, date in enumerate(spec["underlyings"]["SPX"]["dividend_yield"]["dates"]):
        out.append((f"yield:SPX:{date}", und + ["dividend_yield", "yields", j]))
    out.append(("dividend:SPX:2027-07-01", und + ["dividends", 0, "yield"]))
    return out


def bumped(spec, path, h):
    spec = copy.deepcopy(spec)
    node = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] += h
    return spec


def later(spec, days=1):
    spec = copy.deepcopy(spec)
    spec["valuation_date"] = (dt.date.fromisoformat(spec["valuation_date"])
                              + dt.timedelta(days=days)).isoformat()
    return spec


def book(rows):
    return pd.DataFrame([{"id": name, "instrument": kind, "option_type":
                          "call" if omega > 0 else "put", "strike": strike, "expiry": expiry,
                          "underlying": "SPX"} for name, kind, omega, strike, expiry in rows])


def estimates(spec, rows, paths, seed_):
    market = load_market(spec)
    frame = load(book(rows), market)
    found, totals = bucket_estimates(frame, market, paths, seed_, threads=1)
    table = pd.DataFrame(found, columns=["position", "label", "kind", "mean", "se"])
    table["id"] = frame["id"].to_numpy()[table["position"]]
    return table.set_index(["id", "label"]), totals, frame


def test_buckets_and_theta_match_central_differences_of_the_closed_form():
    table, _, _ = estimates(SPEC, ROWS, 100_000, seed(1))
    checks = bumps(SPEC)
    k = k_for(len(ROWS) * (len(checks) + 1))
    h = 1e-5
    for name, kind, omega, strike, expiry in ROWS:
        for label, path in checks:
            up, down = (closed_form(bumped(SPEC, path, s), kind, omega, strike, expiry)
                        for s in (h, -h))
            found = table.loc[(name, label)]
            assert_within(found["mean"], (up - down) / (2 * h), found["se"], k,
                          label=f"{name} {label}")
        change = (closed_form(later(SPEC), kind, omega, strike, expiry)
                  - closed_form(SPEC, kind, omega, strike, expiry))
        found = table.loc[(name, "theta:SPX")]
        assert_within(found["mean"], change, found["se"], k, label=f"{name} theta")


def test_theta_of_a_barrier_and_an_asian_matches_a_simulation_a_day_later():
    """Theta of path rows (the first segment coupled, the others reweighted) against a numpy
    simulation of the value today and a calendar day later on a flat market, the dates
    kept (the first monitoring date 2.75 days away, 1.75 a day later), the normals shared
    between the two valuations (each value is simulated on its own law; sharing only
    shrinks the difference's noise)."""
    spec = {"valuation_date": VALUATION, "curves": {"FLAT": 0.04},
            "underlyings": {"SPX": {"spot": 100.0, "curve": "FLAT", "vol": 0.25}}}
    market = load_market(spec)
    frame = load(pd.DataFrame([
        {"id": "knock-out", "instrument": "barrier", "option_type": "call", "strike": 100.0,
         "expiry": "2027-12-01", "underlying": "SPX", "fixings": 100, "barrier": 130.0,
         "barrier_type": "up-and-out"},
        {"id": "asian", "instrument": "asian", "option_type": "put", "strike": 100.0,
         "expiry": "2027-12-01", "underlying": "SPX", "fixings": 100}]), market)
    found, _ = bucket_estimates(frame, market, 100_000, seed(6), threads=1)
    table = pd.DataFrame(found, columns=["position", "label", "kind", "mean", "se"])
    theta = table[table["label"] == "theta:SPX"].set_index("position")
    maturity, day = years("2027-12-01", VALUATION), 1.0 / 365.0
    times = maturity * np.arange(1, 101) / 100
    rng = np.random.default_rng(seed(7))
    differences = [[], []]
    for _ in range(8):
        z = rng.standard_normal((50_000, 100))
        values = []
        for shift in (0.0, day):
            steps = np.diff(times - shift, prepend=0.0)
            log_s = np.log(100.0) + np.cumsum((0.04 - 0.5 * 0.0625) * steps
                                              + 0.25 * np.sqrt(steps) * z, axis=1)
            s_paths = np.exp(log_s)
            discount = math.exp(-0.04 * (maturity - shift))
            alive = s_paths.max(axis=1) < 130.0
            values.append((discount * np.maximum(s_paths[:, -1] - 100.0, 0.0) * alive,
                           discount * np.maximum(100.0 - s_paths.mean(axis=1), 0.0)))
        for k in range(2):
            differences[k].append(values[1][k] - values[0][k])
    for k, name in enumerate(("knock-out", "asian")):
        d = np.concatenate(differences[k])
        reference, reference_se = d.mean(), d.std(ddof=1) / math.sqrt(d.size)
        assert_within(theta.loc[k, "mean"], reference,
                      combined_se(theta.loc[k, "se"], reference_se), k_for(2),
                      label=f"{name} theta")


def test_parallel_shifts_are_the_sums_of_their_buckets_and_vega_matches_the_main_run():
    table, totals, frame = estimates(SPEC, ROWS, 20_000, seed(2))
    for name, *_ in ROWS:
        for kind, nodes in (("vol", 3), ("rate", 3), ("yield", 2)):
            rows = table.loc[name]
            prefix = f"{kind}:{'USD' if kind == 'rate' else 'SPX'}:"
            buckets = rows[rows.index.str.startswith(prefix)
                           & ~rows.index.str.endswith("parallel")]
            assert len(buckets) == nodes
            parallel = rows.loc[prefix + "parallel", "mean"]
            assert math.isclose(parallel, buckets["mean"].sum(), rel_tol=1e-9, abs_tol=1e-12)
    # the portfolio total is Σ quantity · estimate, path by path
    for label in ("vol:SPX:parallel", "rate:USD:2027-12-01", "theta:SPX"):
        mean, se = totals[(-2, label, table.xs(label, level=1)["kind"].iat[0])]
        assert math.isclose(mean, table.xs(label, level=1)["mean"].sum(), rel_tol=1e-9)
        assert se > 0
    result = price_portfolio(book(ROWS), market=SPEC, paths=20_000, seed=seed(2), threads=1)
    vol = table.xs("vol:SPX:parallel", level=1).loc[result["id"]]
    both = np.sqrt(vol["se"].to_numpy() ** 2 + result["vega_se"].to_numpy() ** 2)
    assert_within(vol["mean"].to_numpy(), result["vega"].to_numpy(), both, k_for(3),
                  label="parallel vega")


def _cash_reference(amount, vol=0.25, rate=0.04, strike=100.0, t=None, ex=None):
    """E[e^{−rT} (S_T − K)^+] with a cash drop at ``ex`` (Gauss–Hermite over the spot
    just before it, Black–Scholes after it)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    before = 100.0 * np.exp((rate - 0.5 * vol * vol) * ex + vol * math.sqrt(ex) * nodes)
    after = np.maximum(before - amount, 1e-300)
    tau = t - ex
    d1 = (np.log(after / strike) + (rate + 0.5 * vol * vol) * tau) / (vol * math.sqrt(tau))
    d2 = d1 - vol * math.sqrt(tau)
    values = after * stats.norm.cdf(d1) - strike * math.exp(-rate * tau) * stats.norm.cdf(d2)
    return math.exp(-rate * ex) * float(weights @ values) / math.sqrt(2 * math.pi)


def test_cash_dividend_bucket_matches_an_integration_over_the_ex_date():
    spec = {"valuation_date": VALUATION, "curves": {"FLAT": 0.04},
            "underlyings": {"SPX": {"spot": 100.0, "curve": "FLAT", "vol": 0.25,
                                    "dividends": [{"ex_date": "2027-06-01", "amount": 3.0}]}}}
    rows = [("call", "european", 1.0, 100.0, "2027-12-01"),
            ("on-ex", "european", 1.0, 100.0, "2027-06-01"),
            ("asian", "asian", 1.0, 100.0, "2027-12-01")]
    table, _, _ = estimates(spec, rows, 100_000, seed(3))
    t, ex = years("2027-12-01", VALUATION), years("2027-06-01", VALUATION)
    h = 1e-4
    k = k_for(5)
    reference = (_cash_reference(3.0 + h, t=t, ex=ex)
                 - _cash_reference(3.0 - h, t=t, ex=ex)) / (2 * h)
    found = table.loc[("call", "dividend:SPX:2027-06-01")]
    assert_within(found["mean"], reference, found["se"], k, label="cash dividend")
    vega = (_cash_reference(3.0, vol=0.25 + h, t=t, ex=ex)
            - _cash_reference(3.0, vol=0.25 - h, t=t, ex=ex)) / (2 * h)
    found = table.loc[("call", "vol:SPX:flat")]
    assert_within(found["mean"], vega, found["se"], k, label="vega with a cash dividend")
    rho = (_cash_reference(3.0, rate=0.04 + h, t=t, ex=ex)
           - _cash_reference(3.0, rate=0.04 - h, t=t, ex=ex)) / (2 * h)
    found = table.loc[("call", "rate:FLAT:flat")]
    assert_within(found["mean"], rho, found["se"], k, label="rho with a cash dividend")
    # an expiry on the ex-date: (S(τ−) − D − K)⁺, a call struck at K + D, ∂V/∂D = ∂C/∂K
    d2 = (math.log(100.0 / 103.0) + (0.04 - 0.5 * 0.25 ** 2) * ex) / (0.25 * math.sqrt(ex))
    found = table.loc[("on-ex", "dividend:SPX:2027-06-01")]
    assert_within(found["mean"], -math.exp(-0.04 * ex) * stats.norm.cdf(d2), found["se"], k,
                  label="cash dividend on the expiry")


def test_cash_dividend_bucket_of_an_asian_fixing_on_the_ex_date():
    """A fixing on the ex-date reads the post-drop price, which D moves directly: the
    bucket against central differences in D of a numpy simulation (common random numbers)
    of the same asian, with the fixing on the ex-date and, as a second row, a day after."""
    spec = {"valuation_date": VALUATION, "curves": {"FLAT": 0.04},
            "underlyings": {"SPX": {"spot": 100.0, "curve": "FLAT", "vol": 0.25,
                                    "dividends": [{"ex_date": "2027-06-01", "amount": 3.0}]}}}
    fixings = {"on": ["2027-04-01", "2027-06-01", "2027-09-01", "2027-12-01"],
               "after": ["2027-04-01", "2027-06-02", "2027-09-01", "2027-12-01"]}
    market = load_market(spec)
    frame = load(pd.DataFrame([{"id": name, "instrument": "asian", "option_type": "call",
                                "strike": 100.0, "expiry": "2027-12-01", "underlying": "SPX",
                                "fixing_dates": ";".join(dates)}
                               for name, dates in fixings.items()]), market)
    found, _ = bucket_estimates(frame, market, 100_000, seed(4), threads=1)
    table = pd.DataFrame(found, columns=["position", "label", "kind", "mean", "se"])
    rng = np.random.default_rng(seed(5))
    z = rng.standard_normal((4, 400_000))
    ex = years("2027-06-01", VALUATION)
    for position, dates in enumerate(fixings.values()):
        times = np.array([years(d, VALUATION) for d in dates])
        cuts = np.unique(np.append(times, ex))  # the ex-date cuts the segment holding it
        steps = np.diff(cuts, prepend=0.0)
        normals = np.vstack([z, rng.standard_normal(z.shape[1])])[:cuts.size]

        def payoffs(amount, steps=steps, cuts=cuts, times=times, normals=normals):
            price, fixed = np.full(normals.shape[1], 100.0), []
            for step, t, normal in zip(steps, cuts, normals):
                price = price * np.exp((0.04 - 0.5 * 0.0625) * step
                                       + 0.25 * math.sqrt(step) * normal)
                if t == ex:
                    price = np.maximum(price - amount, 0.0)
                if t in times:
                    fixed.append(price)
            return math.exp(-0.04 * times[-1]) * np.maximum(np.mean(fixed, axis=0) - 100.0, 0.0)

        slope = (payoffs(3.01) - payoffs(2.99)) / 0.02
        row = table[(table["position"] == position)
                    & (table["label"] == "dividend:SPX:2027-06-01")].iloc[0]
        assert_within(row["mean"], slope.mean(),
                      combined_se(row["se"], slope.std(ddof=1) / math.sqrt(slope.size)),
                      k_for(2), label=f"asian fixing {list(fixings)[position]}")


def test_bucket_standard_errors_match_their_spread_over_seeds():
    rows = ROWS[:1] + ROWS[2:]
    runs = [estimates(SPEC, rows, 4_096, s)[0] for s in seeds(16, start=20)]
    labels = ["vol:SPX:2027-10-01", "rate:USD:2027-12-01", "yield:SPX:2027-09-01",
              "dividend:SPX:2027-07-01", "theta:SPX"]
    index = [(name, label) for name, *_ in rows for label in labels]
    assert_se_matches_spread([run.loc[index, "mean"].to_numpy() for run in runs],
                             [run.loc[index, "se"].to_numpy() for run in runs],
                             label="buckets")


def test_report_buckets_writes_desk_units(tmp_path):
    market = tmp_path / "market.json"

    market.write_text(json.dumps(SPEC))
    positions = book(ROWS).assign(quantity=[2.0, -1.0, 10.0], multiplier=[100, 100, 1],
                                  desk=["a", "b", "a"])
    source = tmp_path / "book.csv"
    positions.to_csv(source, index=False)
    out = tmp_path / "buckets.csv"
    result = CliRunner().invoke(main, ["report", str(source), "--market", str(market),
                                       "--buckets", "--by", "desk", "--paths", "4000",
                                       "--seed", str(seed(4)), "--output", str(out),
                                       "--threads", "1"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["position", "factor", "unit", "value", "se"]
    units = dict(zip(table["factor"], table["unit"]))
    assert units["vol:SPX:2027-10-01"] == "per vol point"
    assert units["rate:USD:2027-12-01"] == "per bp"
    assert units["theta:SPX"] == "per calendar day"
    assert set(table["position"]) == {"call", "put", "digital", "a", "b", "TOTAL"}
    per_unit, _, _ = estimates(SPEC, ROWS, 4000, seed(4))
    call = table[table["position"] == "call"].set_index("factor")
    assert math.isclose(call.loc["rate:USD:2027-12-01", "value"],
                        200 * 1e-4 * per_unit.loc[("call", "rate:USD:2027-12-01"), "mean"],
                        rel_tol=1e-9)
    assert math.isclose(call.loc["vol:SPX:parallel", "value"],
                        200 * 0.01 * per_unit.loc[("call", "vol:SPX:parallel"), "mean"],
                        rel_tol=1e-9)
    parts = table[table["factor"] == "theta:SPX"].set_index("position")["value"]
    assert math.isclose(parts["TOTAL"], parts["a"] + parts["b"], rel_tol=1e-9)
    assert math.isclose(parts["a"], parts["call"] + parts["digital"], rel_tol=1e-9)
    refused = CliRunner().invoke(main, ["report", str(source), "--buckets"])
    assert refused.exit_code == 2 and "--buckets needs --market" in refused.output


def test_rho_and_theta_of_dated_rows_are_the_parallel_shift_and_the_one_day_change():
    result = price_portfolio(book(ROWS), market=SPEC, paths=50_000, seed=seed(5), threads=1,
                             greeks="rho,theta")
    k = k_for(2 * len(ROWS) + 1)
    h = 1e-5
    rates = SPEC["curves"]["USD"]["zero_rates"]
    for j, (name, kind, omega, strike, expiry) in enumerate(ROWS):
        up, down = (closed_form(bumped_all(SPEC, s), kind, omega, strike, expiry)
                    for s in (h, -h))
        assert_within(result["rho_rate"][j], (up - down) / (2 * h), result["rho_rate_se"][j],
                      k, label=f"{name} rho")
        change = (closed_form(later(SPEC), kind, omega, strike, expiry)
                  - closed_form(SPEC, kind, omega, strike, expiry))
        assert_within(result["theta_per_day"][j], change, result["theta_per_day_se"][j], k,
                      label=f"{name} theta")
    assert len(rates) == 3
    total = result.attrs["total"]
    assert math.isclose(total["rho_rate"], result["rho_rate"].sum(), rel_tol=1e-9)
    assert total["rho_rate_se"] > 0


def bumped_all(spec, h):
    """Every node of the USD curve moved by ``h`` (a parallel shift)."""
    spec = copy.deepcopy(spec)
    spec["curves"]["USD"]["zero_rates"] = [z + h for z in spec["curves"]["USD"]["zero_rates"]]
    return spec


def test_market_rows_on_a_process_pool_and_dask_are_bit_identical_to_threads():
    import pytest

    columns = ["price", "price_se", "delta", "delta_se", "vega", "vega_se"]
    local = price_portfolio(book(ROWS), market=SPEC, paths=8_000, seed=seed(6), threads=2)
    pooled = price_portfolio(book(ROWS), market=SPEC, paths=8_000, seed=seed(6), threads=2,
                             scheduler="processes")
    assert local[columns].equals(pooled[columns])
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        on_dask = price_portfolio(book(ROWS), market=SPEC, paths=8_000, seed=seed(6),
                                  threads=2, scheduler=cluster.scheduler_address)
    assert local[columns].equals(on_dask[columns])
    assert local.attrs["total"] == on_dask.attrs["total"]


def test_target_se_sizes_market_rows():
    """The sizing run sizes a dated row's group for the target (vega's SE the largest
    here): a tighter target takes more paths, and the main run's SEs meet it (an SE is
    itself an estimate, so slightly above is possible, and then flagged)."""
    used, cap = [], 4_000_000
    for target in (0.05, 0.025):
        result = price_portfolio(book(ROWS[:1]), market=SPEC, seed=seed(7), threads=1,
                                 target_se=target, max_paths=cap)
        used.append(result.attrs["paths"]["call"])
        se = result[["price_se", "delta_se", "vega_se"]].to_numpy()
        assert se.max() <= 1.2 * target
        assert bool(result.attrs.get("unmet")) == bool(se.max() > target or used[-1] >= cap)
    assert used[0] < used[1] < cap
    reference = closed_form(SPEC, "european", 1.0, 105.0, "2027-11-15")
    assert_within(result["price"][0], reference, result["price_se"][0], k_for(1),
                  label="sized price")


def test_compare_takes_a_market(tmp_path):

    market = tmp_path / "market.json"
    market.write_text(json.dumps(SPEC))
    source = tmp_path / "book.csv"
    book(ROWS[:1]).to_csv(source, index=False)
    out = tmp_path / "compare.csv"
    result = CliRunner().invoke(main, ["compare", str(source), "--market", str(market),
                                       "--paths", "4000", "--seed", str(seed(8)), "--threads",
                                       "1", "--output", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert set(table["greek"]) == {"price", "delta", "vega"}
    assert {"lr", "lr+controls+antithetic"} <= set(table["method"])
    price = table[(table["greek"] == "price") & (table["method"] == "lr")].iloc[0]
    reference = closed_form(SPEC, "european", 1.0, 105.0, "2027-11-15")
    assert_within(price["estimate"], reference, price["se"], k_for(1), label="compare price")


def test_report_takes_theta_and_rho_of_dated_rows_from_their_buckets():
    from greeks.report import risk_report

    positions = book(ROWS).assign(quantity=[2.0, -1.0, 10.0], desk=["a", "b", "a"])
    report = risk_report(positions, market=SPEC, by="desk", paths=8_000, seed=seed(9),
                         greeks="theta,rho", threads=1)
    result = price_portfolio(positions, market=SPEC, paths=8_000, seed=seed(9),
                             greeks="theta,rho", threads=1)
    rows = report.attrs["positions"]
    q = positions["quantity"].to_numpy()
    assert np.allclose(rows["theta_per_day"], q * result["theta_per_day"], rtol=1e-9)
    assert np.allclose(rows["rho_per_bp"], q * result["rho_rate"] * 1e-4, rtol=1e-9)
    for name in ("theta_per_day", "rho_per_bp"):
        assert math.isclose(report[name].iat[0], rows[name][0] + rows[name][2], rel_tol=1e-9)
        assert math.isclose(report[name].iat[2], rows[name].sum(), rel_tol=1e-9)
        assert (report[f"{name}_se"] > 0).all()


HESTON = {"v0": 0.04, "kappa": 1.5, "theta": 0.05, "xi": 0.5, "rho": -0.6}


def heston_closed_form(spec, omega, strike, expiry, digital=False):
    """The Fourier price (of the european, or the cash digital paying 1) on the equivalent
    flat rate and yield to expiry (exact: the payoff at T depends on the rates only through
    DF(T) and the forward)."""
    from greeks.models.heston.analytic import heston_digital, heston_greeks

    valuation, und = spec["valuation_date"], spec["underlyings"]["NDX"]
    t = years(expiry, valuation)
    rate = integral(spec["curves"]["USD"], "zero_rates", t, valuation) / t
    dividend = integral(und["dividend_yield"], "yields", t, valuation) / t
    return (heston_digital if digital else heston_greeks)(
        "call" if omega > 0 else "put", und["spot"], strike, t, rate, *HESTON.values(),
        dividend)[0]


def test_heston_carry_buckets_match_central_differences_of_the_fourier_price():
    spec = copy.deepcopy(SPEC)
    spec["underlyings"] = {"NDX": {"spot": 100.0, "curve": "USD", "heston": HESTON,
                                   "dividend_yield": SPEC["underlyings"]["SPX"]["dividend_yield"]}}
    rows = [("hc", "european", 1.0, 100.0, "2027-11-15"), ("hp", "european", -1.0, 95.0,
                                                            "2028-02-01"),
            ("ha", "asian", 1.0, 100.0, "2027-11-15"), ("hd", "digital", 1.0, 100.0,
                                                         "2027-11-15")]
    positions = book(rows).assign(underlying="NDX")
    market = load_market(spec)
    frame = load(positions, market)
    found, _ = bucket_estimates(frame, market, 40_000, seed(10), threads=1)
    table = pd.DataFrame(found, columns=["position", "label", "kind", "mean", "se"])
    table["id"] = frame["id"].to_numpy()[table["position"]]
    table = table.set_index(["id", "label"])
    h = 1e-5
    checks = [(f"rate:USD:{d}", ["curves", "USD", "zero_rates", j])
              for j, d in enumerate(spec["curves"]["USD"]["dates"])]
    checks += [(f"yield:NDX:{d}", ["underlyings", "NDX", "dividend_yield", "yields", j])
               for j, d in enumerate(spec["underlyings"]["NDX"]["dividend_yield"]["dates"])]
    k = k_for(3 * len(checks))
    for name, kind, omega, strike, expiry in rows[:2] + rows[3:]:
        for label, path in checks:
            up, down = (heston_closed_form(bumped(spec, path, s), omega, strike, expiry,
                                           kind == "digital") for s in (h, -h))
            found = table.loc[(name, label)]
            assert_within(found["mean"], (up - down) / (2 * h), found["se"], k,
                          label=f"{name} {label}")
    asian = table.loc["ha"]
    nodes = asian[asian.index.str.startswith("rate:USD:2")]["mean"].sum()
    assert math.isclose(asian.loc["rate:USD:parallel", "mean"], nodes, rel_tol=1e-9)
    assert "theta:NDX" in table.loc["hc"].index  # tests/market/test_heston_theta.py


def test_heston_barrier_carry_score_on_a_barrier_never_reached_is_the_european_rho():
    """The carry's likelihood-ratio score over a barrier's 52 monitoring dates (increments
    of β between dates): with the barrier out of reach the up-and-out call is the european
    call, whose rate and yield buckets are the Fourier price's central differences."""
    spec = copy.deepcopy(SPEC)
    spec["underlyings"] = {"NDX": {"spot": 100.0, "curve": "USD", "heston": HESTON,
                                   "dividend_yield": SPEC["underlyings"]["SPX"]["dividend_yield"]}}
    positions = book([("hb", "barrier", 1.0, 100.0, "2027-11-15")]).assign(
        underlying="NDX", barrier=1e4, barrier_type="up-and-out", fixings=52)
    market = load_market(spec)
    frame = load(positions, market)
    found, _ = bucket_estimates(frame, market, 40_000, seed(12), threads=1)
    h = 1e-5
    checks = {f"rate:USD:{d}": ["curves", "USD", "zero_rates", j]
              for j, d in enumerate(spec["curves"]["USD"]["dates"])}
    checks.update({f"yield:NDX:{d}": ["underlyings", "NDX", "dividend_yield", "yields", j]
                   for j, d in enumerate(spec["underlyings"]["NDX"]["dividend_yield"]["dates"])})
    k = k_for(len(checks))
    seen = 0
    for _, label, _, mean, se in found:
        if label in checks:
            up, down = (heston_closed_form(bumped(spec, checks[label], s), 1.0, 100.0,
                                           "2027-11-15") for s in (h, -h))
            assert_within(mean, (up - down) / (2 * h), se, k, label=label)
            seen += 1
    assert seen == len(checks)


def test_heston_carry_score_standard_errors_match_their_spread_over_seeds():
    """The digital's and a knock-out's carry buckets by the likelihood-ratio score: their
    reported SEs against the spread of 16 independent runs."""
    spec = copy.deepcopy(SPEC)
    spec["underlyings"] = {"NDX": {"spot": 100.0, "curve": "USD", "heston": HESTON,
                                   "dividend_yield": SPEC["underlyings"]["SPX"]["dividend_yield"]}}
    positions = pd.concat([
        book([("hd", "digital", 1.0, 100.0, "2027-11-15")]),
        book([("hb", "barrier", 1.0, 100.0, "2027-11-15")]).assign(
            barrier=125.0, barrier_type="up-and-out", fixings=26)],
        ignore_index=True).assign(underlying="NDX")
    market = load_market(spec)
    frame = load(positions, market)
    runs = []
    for s in seeds(16, start=40):
        found, _ = bucket_estimates(frame, market, 2_048, s, threads=1)
        runs.append(sorted((frame["id"].iat[p], label, mean, se)
                           for p, label, _, mean, se in found))
    assert all(len(run) == len(runs[0]) >= 6 for run in runs)
    assert_se_matches_spread([[r[2] for r in run] for run in runs],
                             [[r[3] for r in run] for run in runs], label="carry scores")


def test_a_subtotal_lacks_rho_only_where_a_row_in_it_does():
    """A Heston digital from v0 = 0 without the Feller condition has no carry score (its
    first conditional variance has no usable inverse): its rho is NaN, and so are the
    subtotal and the total holding it."""
    from greeks.report import risk_report

    spec = copy.deepcopy(SPEC)
    spec["underlyings"]["NDX"] = {"spot": 100.0, "curve": "USD",
                                  "heston": dict(HESTON, v0=0.0, xi=1.0)}
    positions = pd.concat([book(ROWS[:1]), book([("nd", "digital", 1.0, 100.0, "2027-11-15")])
                           .assign(underlying="NDX")], ignore_index=True)
    report = risk_report(positions, market=spec, by="underlying", paths=4_000, seed=seed(11),
                         greeks="rho", threads=1).set_index("underlying")
    assert np.isfinite(report.loc["SPX", ["rho_per_bp", "rho_per_bp_se"]]).all()
    assert report.loc[["NDX", "TOTAL"], "rho_per_bp"].isna().all()


def test_report_buckets_holds_the_exercise_rows(tmp_path):
    """American and bermudan rows, GBM and Heston, get buckets (they used to be left out,
    named in a note): the table holds their rate, theta and (GBM) vol buckets, and no row is
    left out."""
    spec = copy.deepcopy(SPEC)
    spec["underlyings"]["NDX"] = {"spot": 100.0, "curve": "USD", "heston": HESTON}
    market = tmp_path / "market.json"
    market.write_text(json.dumps(spec))
    rows = pd.concat([book(ROWS[:1] + [("am", "american", -1.0, 100.0, "2027-11-15"),
                                       ("berm", "bermudan", 1.0, 105.0, "2027-11-15")]),
                      book([("ham", "american", 1.0, 100.0, "2027-11-15")])
                      .assign(underlying="NDX")], ignore_index=True)
    source = tmp_path / "book.csv"
    rows.assign(fixings=[None, None, 4, None]).to_csv(source, index=False)
    result = CliRunner().invoke(main, ["report", str(source), "--market", str(market),
                                       "--buckets", "--paths", "2000", "--threads", "1",
                                       "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "left out" not in result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    for position, und in (("am", "SPX"), ("berm", "SPX"), ("ham", "NDX")):
        factors = set(table.loc[table["position"] == position, "factor"])
        assert {"rate:USD:parallel", f"theta:{und}"} <= factors, factors
        assert und == "NDX" or any(f.startswith("vol:SPX:") for f in factors), factors


def test_an_estimate_exact_on_every_path_shows_its_se_as_zero():
    """A bucket that is its control's closed form on every path (a bermudan call never
    exercised early) has an SE at rounding level: shown as 0, not as twenty digits."""
    from greeks.render import plus_minus

    assert plus_minus(1594.9207081803538, 2.3e-15) == "1,594.92 ± 0"
    assert plus_minus(27.70123, 0.16) == "27.70 ± 0.16"


def test_rho_of_digitals_that_few_paths_pay_has_an_se_that_covers():
    """A Heston digital call 2.6 SD out of the money (K/S 1.24, 128 days, ρ −0.82: about
    1.5 paths of 10,000 end in the money) and a GBM one (K/S 1.48, σ 0.2: about 3) on a
    flat market: their rate buckets weigh the payoff by a likelihood ratio, and a sample
    that saw one or two paying pairs read an SE from them alone (the Heston row's |z| up to
    150, or an SE of 0 where none paid).  Their SEs are now raised as the main run's
    (:func:`greeks.engine.buckets.carried_se`): |z| ≤ k over 40 seeds against central
    differences in the rate of the Fourier and the Black–Scholes digitals; the total's
    variance is the rows' (independent groups)."""
    from greeks.models.heston.analytic import heston_digital

    heston = dict(v0=0.0245, kappa=2.65, theta=0.0295, xi=0.708, rho=-0.824)
    spec = {"valuation_date": "2027-03-01", "curves": {"USD": 0.03},
            "underlyings": {"NDX": {"spot": 100.0, "curve": "USD", "heston": heston,
                                    "dividend_yield": 0.02},
                            "SPX": {"spot": 100.0, "curve": "USD", "vol": 0.2,
                                    "dividend_yield": 0.02}}}
    t, h = years("2027-07-07", "2027-03-01"), 1e-4

    def black_scholes(rate):
        d2 = (math.log(100.0 / 148.0) + (rate - 0.02 - 0.02) * t) / (0.2 * math.sqrt(t))
        return math.exp(-rate * t) * stats.norm.cdf(d2)

    def fourier(rate):
        return heston_digital("call", 100.0, 124.0, t, rate, *heston.values(), 0.02).price

    references = [(price(0.03 + h) - price(0.03 - h)) / (2 * h)
                  for price in (fourier, black_scholes)]
    positions = pd.DataFrame([
        {"id": "heston", "instrument": "digital", "option_type": "call", "strike": 124.0,
         "expiry": "2027-07-07", "underlying": "NDX"},
        {"id": "gbm", "instrument": "digital", "option_type": "call", "strike": 148.0,
         "expiry": "2027-07-07", "underlying": "SPX"}])
    market = load_market(spec)
    frame = load(positions, market)
    count = 40
    z = []
    for s in seeds(count, start=140):
        found, totals = bucket_estimates(frame, market, 10_000, s, threads=1, theta=False)
        rho = {p: (mean, se) for p, label, kind, mean, se in found if kind == "rate"}
        assert all(se > 0.0 for _, se in rho.values())
        z.append([(rho[p][0] - ref) / rho[p][1] for p, ref in enumerate(references)])
        total = totals[(-2, "rate:USD:flat", "rate")][1]
        assert math.isclose(total ** 2, rho[0][1] ** 2 + rho[1][1] ** 2, rel_tol=1e-9)
    assert np.max(np.abs(z)) <= k_for(2 * count), np.round(z, 2)
