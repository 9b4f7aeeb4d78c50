"""Heston American calls under the rule read from the symmetric put's ADI solution
(greeks.models.heston.exercise_rule.call_rules).

References: the characteristic function for the symmetry map (independent of the ADI solver)
and, for the American call, the ADI American put at the symmetric parameters
(greeks.models.heston.american.heston_american; the solver is checked against the published
Clarke–Parrott values in tests/models/heston/test_american.py).  Tolerance: k·se plus the bias
allowance at default settings of tests/test_american.py (0.3 % of the price + 0.002, 1 % of
the delta + 0.002, 2 % of the vega + 0.02).
"""

import numpy as np
import pandas as pd
from helpers import k_for, make_frame, seed

import greeks
from greeks.models.heston.american import heston_american
from greeks.models.heston.analytic import heston_greeks
from greeks.models.heston.exercise_rule import call_rules, symmetric_parameters
from greeks.payoffs import _continuation

# S, K, T, r, q, v0, κ, θ, ξ, ρ: an in-the-money half-year call with a high yield
CALL = (110.0, 100.0, 0.5, 0.02, 0.08, 0.09, 2.0, 0.06, 0.6, -0.5)
ALLOWANCE = {"price": (0.003, 0.002), "delta": (0.01, 0.002), "vega": (0.02, 0.02)}


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


def test_call_rule_is_the_boundary():
    """The cube-root rule in the regression basis, read by the stopping kernel: exercise
    exactly where x ≥ a + ∛g(u), and that level within 1 % of K/b* where the paths are,
    for a symmetric-put boundary shaped like the solver's (b* falling like √v)."""
    nodes = np.linspace(0.0, 1.0, 201)
    theta, strike = 0.06, 100.0
    level = 1.05 + 0.9 * np.sqrt(nodes) - 0.2 * nodes
    edges = np.vstack([strike / level, np.zeros(nodes.size)])
    times = np.array([0.25, 0.5])
    discounts = np.exp(-0.02 * times)
    beta = call_rules(nodes, edges, times, discounts, strike, 0.09, 2.0, theta, 0.6)
    generator = np.random.default_rng(seed(31))
    x, u = generator.uniform(1.0, 3.0, 4000), generator.uniform(0.0, 8.0, 4000)
    exercised = np.array([discounts[0] * strike * (a - 1) >= _continuation(beta[0], a, b)
                          for a, b in zip(x, u)])
    g = beta[0] / (discounts[0] * strike)
    a = g[2] / 3.0
    boundary = a + np.cbrt(g[0] + 1.0 - a ** 3 + g[4] * u + g[6] * u * u)
    far = np.abs(x - boundary) > 1e-9
    assert np.array_equal(exercised[far], (x >= boundary)[far])
    v = np.linspace(0.005, 0.3, 50)
    fitted = a + np.cbrt(g[0] + 1.0 - a ** 3 + g[4] * v / theta + g[6] * (v / theta) ** 2)
    assert np.max(np.abs(fitted / np.interp(v, nodes, level) - 1.0)) < 0.01
    assert beta[1, 0] == greeks.payoffs.NEVER  # the maturity


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
    for name, value in reference.items():
        relative, absolute = ALLOWANCE[name]
        se = row[f"{name}_se"]
        assert abs(row[name] - value) <= relative * abs(value) + absolute + kk * se, \
            (name, row[name], se, value)
    # the early-exercise premium is there
    spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = CALL
    european = heston_greeks("call", spot, strike, maturity, rate, v0, kappa, theta, xi, rho,
                             dividend).price
    assert row["price"] > european + 4 * row["price_se"]
    assert 0.0 < row["exercise_probability"] < 1.0


def test_call_without_yield_is_never_exercised():
    """Without a dividend yield the symmetric put has no interest to earn: no date exercises,
    and the american call is the European one (characteristic function) within k·se."""
    case = CALL[:4] + (0.0,) + CALL[5:]
    row = greeks.price_portfolio(make_frame([_row(case)]), paths=40_000, seed=seed(33)).iloc[0]
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
    the american call of the module (the symmetric put), and off a market a note instead of
    a value (exercise depends on the curves along the way)."""
    from greeks.reference import analytic_prices

    put = dict(id="P", instrument="american", option_type="put", strike=10.0, maturity=0.25,
               spot=10.0, rate=0.1, dividend=0.0, model="heston", v0=0.0625, kappa=5.0,
               theta=0.16, xi=0.9, rho=0.1, quantity=1.0)
    table = analytic_prices(make_frame([put, _row(CALL, quantity=1.0)])).set_index("id")
    assert abs(table.loc["P", "price"] - 0.5200) < 1e-3
    assert table.loc["C", "price"] == heston_american("call", *CALL).price
    spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho = CALL
    market = {"valuation_date": "2027-03-01",
              "curves": {"USD": {"dates": ["2027-09-01"], "zero_rates": [rate]}},
              "underlyings": {"X": {"spot": spot, "curve": "USD", "heston": {
                  "v0": v0, "kappa": kappa, "theta": theta, "xi": xi, "rho": rho}}}}
    dated = analytic_prices(pd.DataFrame([dict(id="C", instrument="american",
                                               option_type="call", strike=strike,
                                               expiry="2027-08-30", underlying="X",
                                               quantity=1.0)]), market=market)
    assert np.isnan(dated["price"].iat[0]) and "no reference" in dated["note"].iat[0]
