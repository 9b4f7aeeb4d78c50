"""Heston American calls under the rule read from the symmetric put's ADI solution
(greeks.models.heston.exercise_rule.level_table, greeks.payoffs.stopping_index), or where
there is none (κ − ρξ ≤ 0) from the call's own, and the stopping kernel's tabulated rules of
calls and puts.

References: the characteristic function for the symmetry map (independent of the ADI solver)
and, for the American call, the ADI American put at the symmetric parameters
(greeks.models.heston.american.heston_american; the solver is checked against the published
Clarke–Parrott values in tests/models/heston/test_american.py), the call's own ADI solution,
and QuantLib's FdHestonVanillaEngine (skipped where QuantLib is not installed).  Tolerance:
k·se plus the bias allowance at default settings of tests/test_american.py (0.3 % of the
price + 0.002, 1 % of the delta + 0.002, 2 % of the vega + 0.02; rho 1 % + 0.002, that of
benchmarks/quantlib_check.py).
"""

import functools

import numpy as np
import pandas as pd
import pytest
from helpers import assert_within_allowance, k_for, make_frame, seed
from scipy.interpolate import RectBivariateSpline
from scipy.stats import ncx2

import greeks
from greeks.models.heston.american import heston_american
from greeks.models.heston.analytic import heston_greeks
from greeks.models.heston.exercise_rule import (
    TABLE_NODES,
    level_table,
    symmetric_parameters,
    table_step,
)
from greeks.payoffs import PayoffSpec, stopping_index, table_level

# S, K, T, r, q, v0, κ, θ, ξ, ρ: an in-the-money half-year call with a high yield
CALL = (110.0, 100.0, 0.5, 0.02, 0.08, 0.09, 2.0, 0.06, 0.6, -0.5)
ALLOWANCE = {"price": (0.003, 0.002), "delta": (0.01, 0.002), "vega": (0.02, 0.02),
             "rho_rate": (0.01, 0.002)}
# κ − ρξ = 0.4 − 0.5 < 0: no symmetric put; in the money with a high yield, where early exercise
# adds about 1.0 to the European call's 11.0
NO_SYMMETRIC = (110.0, 100.0, 182 / 365, 0.03, 0.08, 0.09, 0.4, 0.09, 1.0, 0.5)


def _row(case, **extra):
    spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = case
    return dict(id="C", instrument="american", option_type="call", strike=strike,
                maturity=maturity, spot=spot, rate=rate, dividend=dividend, model="heston",
                v0=v0, kappa=kappa, theta=theta, xi=xi, rho=rho, **extra)


def test_symmetry_map_on_european_options():
    """C(S, K; r, q, κ, θ, ξ, ρ) = P(K, S; q, r, κ*, θ*, ξ, −ρ) for European options, by the
    characteristic function on both sides; no map where κ − ρξ ≤ 0."""
    for spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho in [
            CALL, (95.0, 100.0, 1.0, 0.05, 0.01, 0.04, 1.5, 0.04, 0.5, 0.4)]:
        r, q, k, t, x, p = symmetric_parameters(rate, dividend, kappa, theta, xi, rho)
        call = heston_greeks("call", spot, strike, maturity, rate, v0, kappa, theta, xi, rho,
                             dividend).price
        put = heston_greeks("put", strike, spot, maturity, r, v0, k, t, x, p, q).price
        assert abs(call - put) < 1e-9 * call
    assert symmetric_parameters(0.05, 0.0, 1.0, 0.04, 2.0, 0.5) is None


def test_call_table_is_the_solved_boundary():
    """The call's table (greeks.models.heston.exercise_rule.level_table) read by the stopping
    kernel's interpolation (greeks.payoffs.table_level): K/(K y(u)) within 0.2 % of the
    solved level K/b*(θu) where the paths are (the cube-root fit it replaced: up to 2.5 %),
    for a symmetric-put boundary shaped like the solver's (b* falling like √v), clamped
    beyond the table; a date that never exercises reads 0; the table reaches the top of
    v_t's law."""
    nodes = np.linspace(0.0, 1.0, 201)
    theta, strike, v0, kappa, xi = 0.06, 100.0, 0.09, 2.0, 0.6
    level = 1.05 + 0.9 * np.sqrt(nodes) - 0.2 * nodes
    edges = np.vstack([strike / level, np.zeros(nodes.size)])
    times = np.array([0.25, 0.5])
    step = table_step(times, v0, kappa, theta, xi)
    table = level_table(nodes, edges, strike, theta, step)
    assert table.shape == (2, TABLE_NODES) and not table[1].any()
    scale = xi * xi * -np.expm1(-kappa * times) / (4.0 * kappa)  # v_t's CIR law from v0
    top = np.max(scale * ncx2.ppf(0.995, 4.0 * kappa * theta / (xi * xi),
                                  v0 * np.exp(-kappa * times) / scale))
    assert (step * (TABLE_NODES - 1)) ** 2 * theta > top
    v = np.linspace(0.005, top, 400)
    read = np.array([table_level(table[0], 1.0 / step, x / theta) for x in v])
    assert np.max(np.abs(1.0 / read / np.interp(v, nodes, level) - 1.0)) < 0.002
    assert table_level(table[0], 1.0 / step, -1.0) == table[0, 0]
    assert table_level(table[0], 1.0 / step, 1e6) == table[0, -1]


def test_table_reads_a_high_vol_of_vol_boundary_where_the_paths_are():
    """The call without a symmetric put (ξ = 1, ξ²/(2κθ) = 14: v_t's 0.9999 quantile is 25θ)
    on its own solved boundary (the ADI solution's, a level rising like √v from v = 0, where
    the variance often sits): the table read by the stopping kernel is within 0.05 % of the
    solved level K/b (linear in v between the solver's nodes) over v_t's law from its 0.05 %
    to its 99.95 % quantile, early, mid-life and late (a table uniform in u, as before, missed
    it by up to 1.5 %, and the rho by 1 %)."""
    from greeks.models.heston.adapter import BOUNDARY_S_STEPS
    from greeks.models.heston.american import heston_exercise_boundaries

    _, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = NO_SYMMETRIC
    times = maturity * np.arange(1, 64) / 63
    nodes, edges = heston_exercise_boundaries(strike, maturity, rate, dividend, v0, kappa,
                                              theta, xi, rho, times, s_steps=BOUNDARY_S_STEPS,
                                              option_type="call")
    levels = strike * strike / edges
    levels[~np.isfinite(levels)] = 0.0
    step = table_step(times, (np.sqrt(v0) + 0.04) ** 2, kappa, theta, xi)
    table = level_table(nodes, levels, strike, theta, step)
    shape = 4.0 * kappa * theta / (xi * xi)
    for i in (5, 30, 60):
        scale = xi * xi * -np.expm1(-kappa * times[i]) / (4.0 * kappa)
        v = scale * ncx2.ppf(np.linspace(5e-4, 1 - 5e-4, 1000), shape,
                             v0 * np.exp(-kappa * times[i]) / scale)
        solved = np.interp(v, nodes, levels[i]) / strike
        read = np.array([table_level(table[i], 1.0 / step, x / theta) for x in v])
        inside = solved > 0
        assert inside.mean() > 0.9
        assert np.max(np.abs(read[inside] / solved[inside] - 1.0)) < 5e-4, i


def _stops_reference(s, scale, state, dates, discounts, hold, omega, strike, table,
                     table_scale):
    """The tabulated rule written out in numpy: the first date with ω(S − K) > 0 and, before
    maturity, e^{−rt} ω(S − K) ≥ ω(A S − B) and, for a call S·y(u) ≥ K, for a put S ≤ K·y(u),
    y interpolated by np.interp in √u on the nodes √u_m = m/table_scale (clamped); −1 if
    none."""
    w_nodes = np.arange(table.shape[1]) / table_scale
    for i, col in enumerate(dates):
        level = scale * s[col]
        if omega * (level - strike) <= 0.0:
            continue
        if i == dates.size - 1:
            return i
        y = np.interp(np.sqrt(max(state[col], 0.0)), w_nodes, table[i])
        inside = level * y >= strike if omega > 0 else level <= strike * y
        if (discounts[i] * omega * (level - strike) >= omega * (hold[0, i] * level - hold[1, i])
                and inside):
            return i
    return -1


@pytest.mark.parametrize("omega", [1.0, -1.0])
def test_stopping_kernel_reads_the_table(omega):
    """greeks.payoffs.stopping_index on a call or put row with a tabulated rule against the
    rule written out in numpy, on random prices, states (some beyond the table's ends),
    tables (some dates never exercising), lower bounds and spot scalings, for the base policy
    and the Richardson partner's table."""
    generator = np.random.default_rng(seed(35))
    paths, columns, n, nodes = 300, 14, 9, 17
    dates = np.sort(generator.choice(columns, n, replace=False)).astype(np.int64)
    discounts = np.exp(-0.03 * np.cumsum(generator.uniform(0.02, 0.1, n)))
    s = 100.0 * np.exp(generator.normal(0.05 * omega, 0.15, (paths, columns)))
    state = generator.uniform(-0.5, 6.0, (paths, columns))
    strike, table_scale = 100.0, 3.0
    table = generator.uniform(0.7, 0.98, (2, n, nodes))
    table[:, generator.random(n) < 0.3] = 0.0
    table[1, ::2] = 0.0
    hold = np.vstack([generator.uniform(0.9, 1.0, n),
                      generator.uniform(90.0, 110.0, n) - (10.0 if omega < 0 else 0.0)])
    spec = PayoffSpec(kind=np.zeros(1, dtype=np.int64), omega=np.array([omega]),
                      strike=np.array([strike]), payout=np.zeros(1), barrier=np.zeros(1),
                      barrier_kind=np.zeros(1, dtype=np.int64), discount=np.ones(1),
                      rate=np.array([0.03]), policy=np.zeros((1, 6, n)),
                      hold=hold[None].copy(), richardson=np.ones(1, dtype=np.bool_),
                      immediate=np.zeros(1, dtype=np.bool_), table=table[None].copy(),
                      table_scale=np.array([table_scale]))
    found = set()
    for policy, scale in ((0, 1.0), (1, 1.0), (0, 1.06), (3, 0.94)):
        for p in range(paths):
            got = stopping_index(s, scale, state, p, dates, discounts, spec, 0, policy)
            expected = _stops_reference(s[p], scale, state[p], dates, discounts, hold, omega,
                                        strike, table[1 if policy == 1 else 0], table_scale)
            assert got == expected, (policy, scale, p)
            found.add(got)
    assert -1 in found and n - 1 in found and len(found) > 4  # the rule was exercised


def test_call_greeks_by_homogeneity():
    """The call's delta and gamma from the symmetric put's (Euler's relation,
    greeks.models.heston.american.heston_american) against central differences of the
    call's price over S ± 1 % (three solves), within the differences' O(h²) error."""
    spot = CALL[0]
    call = heston_american("call", *CALL)
    h = 0.01 * spot
    up, down = (heston_american("call", spot + d, *CALL[1:]).price for d in (h, -h))
    assert abs(call.delta - (up - down) / (2 * h)) < 1e-3 * call.delta
    assert abs(call.gamma - (up - 2 * call.price + down) / h ** 2) < 0.01 * call.gamma


def test_american_call_against_the_symmetric_put():
    reference = heston_american("call", *CALL)._asdict()
    reference.pop("gamma")
    row = greeks.price_portfolio(make_frame([_row(CALL)]), paths=100_000,
                                 seed=seed(32)).iloc[0]
    kk = k_for(3)
    assert_within_allowance(row, reference, ALLOWANCE, kk)
    # the early-exercise premium is there
    spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = CALL
    european = heston_greeks("call", spot, strike, maturity, rate, v0, kappa, theta, xi, rho,
                             dividend).price
    assert row["price"] > european + 4 * row["price_se"]
    assert 0.0 < row["exercise_probability"] < 1.0


@pytest.mark.slow  # 160,000 Heston paths on a daily year: about 16 s
def test_atm_call_price_and_vega_on_the_solved_boundary():
    """The ATM one-year American call with a yield under ρ = −0.7 (docs/american.md), whose
    cube-root rule left the vega 0.7 % low (z −6.9 at 200,000 paths) and the price 0.16 %
    low: price and vega against the symmetric ADI put within k·se plus the ADI solution's
    own error (2e-4 of the price and 5e-4 of the vega at its default grid, docstring of
    greeks.models.heston.american; the price's allowance 1e-3 also covers the 0.06 % left
    by reading the boundary at the day's average variance).  At 160,000 paths the vega's
    tolerance is about 0.11–0.12, below the cube-root rule's error of 0.14 (z −6.1 and
    −5.8 at seeds 36 and 37)."""
    case = (100.0, 100.0, 1.0, 0.03, 0.06, 0.04, 1.5, 0.04, 0.5, -0.7)
    reference = heston_american("call", *case)
    row = greeks.price_portfolio(make_frame([_row(case)]), paths=160_000,
                                 seed=seed(36)).iloc[0]
    kk = k_for(2)
    for name, relative in (("price", 1e-3), ("vega", 5e-4)):
        value, se = getattr(reference, name), row[f"{name}_se"]
        assert abs(row[name] - value) <= relative * value + kk * se, (name, row[name], se, value)


def test_call_without_yield_is_never_exercised():
    """Without a dividend yield the symmetric put has no interest to earn: no date exercises,
    and the american call is the European one (characteristic function) within k·se."""
    case = CALL[:4] + (0.0,) + CALL[5:]
    row = greeks.price_portfolio(make_frame([_row(case)]), paths=20_000, seed=seed(33)).iloc[0]
    spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = case
    european = heston_greeks("call", spot, strike, maturity, rate, v0, kappa, theta, xi, rho,
                             dividend).price
    assert row["exercise_probability"] == 0.0
    assert abs(row["price"] - european) <= 4 * row["price_se"]


def test_american_call_off_a_flat_market():
    """The same call priced off a market file with a flat curve and yield: the symmetric
    put's rule at the curve's flat equivalents, the symmetric ADI put's price within the
    allowance + k·se, well above the regressed policy's −0.6 %."""
    spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = CALL
    market = {"valuation_date": "2027-03-01",
              "curves": {"USD": {"dates": ["2027-09-01"], "zero_rates": [rate]}},
              "underlyings": {"X": {"spot": spot, "curve": "USD", "dividend_yield": dividend,
                                    "heston": {"v0": v0, "kappa": kappa, "theta": theta,
                                               "xi": xi, "rho": rho}}}}
    positions = pd.DataFrame([dict(id="C", instrument="american", option_type="call",
                                   strike=strike, expiry="2027-08-30", underlying="X",
                                   quantity=1.0)])
    row = greeks.price_portfolio(positions, market=market, paths=60_000,
                                 seed=seed(34)).iloc[0]
    reference = heston_american("call", spot, strike, 182 / 365, rate, dividend, v0, kappa,
                                theta, xi, rho).price
    assert abs(row["price"] - reference) <= 0.003 * reference + 0.002 + 4 * row["price_se"], \
        (row["price"], row["price_se"], reference)


def test_analytic_shows_the_adi_solution_of_heston_exercise_rows():
    """`greeks analytic`: a Heston american put at the published Clarke–Parrott value (1e-3),
    the american call of the module through its symmetric put and, in the columns
    direct_price, direct_delta and direct_vega, by its own ADI solution (within 2e-4 of each
    other), a call without a symmetric put (κ − ρξ ≤ 0) by its own (both columns the same),
    a bermudan one on its dates, none of the new columns for the put; off a flat market
    file, the market solver's value: the flat solution's within 2e-4 (its own time grid)."""
    from greeks.models.heston.american_market import flat_dynamics, heston_american_market
    from greeks.reference import analytic_prices

    put = dict(id="P", instrument="american", option_type="put", strike=10.0, maturity=0.25,
               spot=10.0, rate=0.1, dividend=0.0, model="heston", v0=0.0625, kappa=5.0,
               theta=0.16, xi=0.9, rho=0.1, quantity=1.0)
    rows = [put, _row(CALL, quantity=1.0), {**_row(NO_SYMMETRIC, quantity=1.0), "id": "N"},
            {**_row(NO_SYMMETRIC, quantity=1.0), "id": "B", "instrument": "bermudan",
             "fixings": 6}]
    table = analytic_prices(make_frame(rows)).set_index("id")
    assert abs(table.loc["P", "price"] - 0.5200) < 1e-3
    assert table.loc["P", ["direct_price", "direct_delta", "direct_vega"]].isna().all()
    assert table.loc["C", "price"] == heston_american("call", *CALL).price
    itself = heston_american("call", *CALL, symmetric=False)
    for name in ("price", "delta", "vega"):
        assert table.loc["C", f"direct_{name}"] == getattr(itself, name)
        assert table.loc["C", f"direct_{name}"] == pytest.approx(table.loc["C", name], rel=2e-4)
        assert table.loc["N", f"direct_{name}"] == table.loc["N", name]
    assert table.loc["N", "price"] == heston_american("call", *NO_SYMMETRIC).price
    spot, strike, maturity, *rest = NO_SYMMETRIC
    dates = maturity * np.arange(1, 7) / 6
    assert table.loc["B", "price"] == heston_american("call", *NO_SYMMETRIC,
                                                      exercise_times=dates).price
    assert table.loc["N", "price"] > table.loc["B", "price"] > heston_greeks(
        "call", spot, strike, maturity, rest[0], *rest[2:], rest[1]).price
    spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = CALL
    market = {"valuation_date": "2027-03-01",
              "curves": {"USD": {"dates": ["2027-09-01"], "zero_rates": [rate]}},
              "underlyings": {"X": {"spot": spot, "curve": "USD", "dividend_yield": dividend,
                                    "heston": {"v0": v0, "kappa": kappa, "theta": theta,
                                               "xi": xi, "rho": rho}}}}
    dated = analytic_prices(pd.DataFrame([dict(id="C", instrument="american",
                                               option_type="call", strike=strike,
                                               expiry="2027-08-30", underlying="X",
                                               quantity=1.0)]), market=market).iloc[0]
    solved = heston_american_market("call", flat_dynamics(spot, rate, dividend), strike,
                                    182 / 365, v0, kappa, theta, xi, rho)
    assert dated["price"] == solved.price and dated["direct_price"] == solved.price
    assert dated["price"] == pytest.approx(
        heston_american("call", spot, strike, 182 / 365, rate, dividend, v0, kappa, theta, xi,
                        rho).price, rel=2e-4)


@functools.lru_cache(maxsize=1)
def _no_symmetric_estimates():
    """The engine's american call without a symmetric put, 40,000 paths, with rho."""
    return greeks.price_portfolio(make_frame([_row(NO_SYMMETRIC)]), paths=40_000,
                                  seed=seed(38), greeks="rho").iloc[0]


def test_call_without_a_symmetric_put_against_its_own_adi_solution():
    """κ − ρξ ≤ 0 (ξ = 1, ρ = 0.5, κ = 0.4): the rule is the call's own ADI boundary.  Price,
    delta, vega and rho (the ADI solution's central difference at r ± 0.001) within k·se plus
    the allowances; the early-exercise premium (about 16 SE) is there.  Measured over seeds
    at 200,000 paths (docs/american.md): price, delta, vega and rho within ±1.5 SE (rho was
    1 % low under a table uniform in u, whose 257 nodes were Δv = 0.0087 apart where the
    level rises like √v from v = 0; the table's reading is checked above)."""
    spot, strike, maturity, rate, dividend, *law = NO_SYMMETRIC
    reference = heston_american("call", *NO_SYMMETRIC)._asdict()
    reference.pop("gamma")
    reference["rho_rate"] = (heston_american("call", spot, strike, maturity, rate + 1e-3,
                                             dividend, *law).price
                             - heston_american("call", spot, strike, maturity, rate - 1e-3,
                                               dividend, *law).price) / 2e-3
    row = _no_symmetric_estimates()
    kk = k_for(4)
    assert_within_allowance(row, reference, ALLOWANCE, kk)
    european = heston_greeks("call", spot, strike, maturity, rate, *law, dividend).price
    assert row["price"] > european + 4 * row["price_se"]
    assert 0.0 < row["exercise_probability"] < 1.0


def test_call_without_a_symmetric_put_against_quantlib():
    """The same call against QuantLib's American value (FdHestonVanillaEngine, Hundsdorfer,
    400 × 400 × 200; it is within 5e-4 of the ADI solution's price and delta): price and
    delta within k·se plus the allowances."""
    ql = pytest.importorskip("QuantLib")
    spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = NO_SYMMETRIC
    today = ql.Date(1, 3, 2027)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()

    def flat(value):
        return ql.YieldTermStructureHandle(ql.FlatForward(today, value, dc, ql.Continuous,
                                                          ql.NoFrequency))

    process = ql.HestonProcess(flat(rate), flat(dividend), ql.QuoteHandle(ql.SimpleQuote(spot)),
                               v0, kappa, theta, xi, rho)
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, strike),
                              ql.AmericanExercise(today, today + round(maturity * 365)))
    option.setPricingEngine(ql.FdHestonVanillaEngine(ql.HestonModel(process), 200, 400, 400, 0,
                                                     ql.FdmSchemeDesc.Hundsdorfer()))
    row = _no_symmetric_estimates()
    kk = k_for(2)
    assert_within_allowance(row, {"price": option.NPV(), "delta": option.delta()},
                            ALLOWANCE, kk)
    adi = heston_american("call", *NO_SYMMETRIC)
    assert adi.price == pytest.approx(option.NPV(), rel=5e-4)
    assert abs(adi.delta - option.delta()) < 5e-4


def test_the_call_solved_directly_is_the_symmetric_put():
    """The Bermudan call (weekly dates) solved directly (``option_type="call"`` of
    greeks.models.heston.american) against the same call through its symmetric put (the
    put's solve at κ*, θ*, −ρ with spot and strike swapped): prices and deltas at S = 95,
    110, 125 within 3e-4 relative (measured 1.1e-4 and 6e-5), and the boundaries b_k(v)
    against K²/b*_k(v) on the variance nodes (the same grid: v_max = 2 for both) where the
    paths are (v ≤ 0.5) within 1.5e-3 (measured 5.9e-4: the call's boundary lies at
    100–190, where the S grid's step is 0.4–1.2, the put's near the strike, where it is
    0.3; a tenth of a step apart at most)."""
    from greeks.models.heston.american import heston_exercise_boundaries, heston_value_grids

    spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = CALL
    dates = maturity * np.arange(1, 27) / 26
    s, v, grids = heston_value_grids(strike, maturity, rate, dividend, v0, kappa, theta, xi,
                                     rho, dates, option_type="call")
    spline = RectBivariateSpline(s, v, grids[0])
    for at in (95.0, 110.0, 125.0):
        symmetric = heston_american("call", at, *CALL[1:], exercise_times=dates)
        assert spline(at, v0)[0, 0] == pytest.approx(symmetric.price, rel=3e-4)
        assert spline(at, v0, dx=1)[0, 0] == pytest.approx(symmetric.delta, rel=3e-4)
    nodes, edges = heston_exercise_boundaries(strike, maturity, rate, dividend, v0, kappa,
                                              theta, xi, rho, dates, option_type="call")
    r, q, k, t, x, p = symmetric_parameters(rate, dividend, kappa, theta, xi, rho)
    put_nodes, put_edges = heston_exercise_boundaries(strike, maturity, r, q, v0, k, t, x, p,
                                                      dates)
    assert np.array_equal(nodes, put_nodes)
    near = nodes <= 0.5
    assert np.allclose(edges[:, near], strike * strike / put_edges[:, near], rtol=1.5e-3)
