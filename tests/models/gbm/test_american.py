"""American and bermudan options (greeks.exercise): prices and Greeks against a binomial
tree written here, published values, the exercise statistics, reproducibility.

Tolerance: |estimate − reference| ≤ allowance + k·se, with the allowance the stated bias of
the method at default settings (the policy's suboptimality, the exercise grid): 0.3 % of the
price + 0.002, 1 % of the delta + 0.002, 2 % of the vega + 0.02.  The tree's own error
(2,000 steps) is far below these.  Gamma, a second difference, is checked at 10 % + k·se.
The GBM rows run at 50,000 paths (American puts: k·se is then 0.3–0.8 of the allowance) or
100,000 (Bermudans); the Heston put at 40,000 (its tolerance 2.2 % of the price);
the Heston Bermudan puts under the solved policy against the ADI solution with no policy
allowance.
"""

import math

import numpy as np
import pandas as pd
import pytest
from helpers import assert_within, assert_within_allowance, k_for, make_frame, seed

import greeks
from greeks.instruments import InputError
from greeks.models.gbm.american import american_fd
from greeks.models.gbm.analytic import black_scholes

LS = {"instrument": "american", "option_type": "put", "strike": 40.0, "rate": 0.06, "vol": 0.2}
# Longstaff & Schwartz (2001), Table 1 (finite differences): S0, σ, T -> price
PUBLISHED = {(36.0, 1.0): 4.478, (40.0, 1.0): 2.314, (44.0, 2.0): 1.690}
# Heston American puts, K = 10, T = 0.25, r = 0.1, v0 = 0.0625, κ = 5, θ = 0.16, ξ = 0.9,
# ρ = 0.1 (Clarke & Parrott 1999; Ikonen & Toivanen 2007): S0 -> price
HESTON = {"instrument": "american", "option_type": "put", "strike": 10.0, "maturity": 0.25,
          "rate": 0.1, "model": "heston", "v0": 0.0625, "kappa": 5.0, "theta": 0.16,
          "xi": 0.9, "rho": 0.1}
HESTON_PUBLISHED = {8.0: 2.0000, 9.0: 1.1076, 10.0: 0.5200, 11.0: 0.2138, 12.0: 0.0821}
ALLOWANCE = {"price": (0.003, 0.002), "delta": (0.01, 0.002), "vega": (0.02, 0.02),
             "gamma": (0.10, 0.0)}


def tree(spot, strike, maturity, rate, dividend, vol, call=False, steps=2000, dates=None):
    """Cox–Ross–Rubinstein tree: price, delta and gamma from the first nodes; exercise at
    every node (american) or at the nodes nearest ``dates`` (bermudan)."""
    dt = maturity / steps
    up = math.exp(vol * math.sqrt(dt))
    p = (math.exp((rate - dividend) * dt) - 1.0 / up) / (up - 1.0 / up)
    discount = math.exp(-rate * dt)
    omega = 1.0 if call else -1.0
    exercise = None if dates is None else set(np.rint(np.asarray(dates) / dt).astype(int))
    values = np.maximum(omega * (spot * up ** (steps - 2.0 * np.arange(steps + 1)) - strike), 0)
    kept = {}
    for n in range(steps - 1, -1, -1):
        values = discount * (p * values[:-1] + (1.0 - p) * values[1:])
        prices = spot * up ** (n - 2.0 * np.arange(n + 1))
        if exercise is None or n in exercise:
            values = np.maximum(values, omega * (prices - strike))
        if n <= 2:
            kept[n] = prices, values.copy()
    (s1, v1), (s2, v2) = kept[1], kept[2]
    delta = (v1[0] - v1[1]) / (s1[0] - s1[1])
    gamma = ((v2[0] - v2[1]) / (s2[0] - s2[1]) - (v2[1] - v2[2]) / (s2[1] - s2[2])) \
        / (0.5 * (s2[0] - s2[2]))
    return values[0], delta, gamma


def tree_greeks(row, dates=None):
    """(price, delta, vega, gamma) of a GBM row by the tree; vega by central differences."""
    args = (row["spot"], row["strike"], row["maturity"], row["rate"], row.get("dividend", 0.0))
    call = row["option_type"] == "call"
    price, delta, gamma = tree(*args, row["vol"], call, dates=dates)
    bumped = [tree(*args, row["vol"] + d, call, dates=dates)[0] for d in (1e-3, -1e-3)]
    return {"price": price, "delta": delta, "vega": (bumped[0] - bumped[1]) / 2e-3,
            "gamma": gamma}


def check(results, references, names=("price", "delta", "vega", "gamma")):
    k = k_for(len(references) * len(names))
    for (_, row), reference in zip(results.iterrows(), references):
        assert_within_allowance(row, {name: reference[name] for name in names}, ALLOWANCE, k)


def test_tree_reproduces_published_values():
    """The test's reference against Longstaff & Schwartz's finite-difference values."""
    for (spot, maturity), price in PUBLISHED.items():
        assert tree(spot, 40.0, maturity, 0.06, 0.0, 0.2)[0] == pytest.approx(price, abs=0.01)


CALL = dict(LS, id="C100", option_type="call", spot=100.0, strike=100.0, maturity=1.0,
            rate=0.02, dividend=0.05, vol=0.3)


def test_american_puts_against_the_tree():
    frame = make_frame([dict(LS, id=f"A{int(s)}", spot=s, maturity=t) for s, t in PUBLISHED])
    results = greeks.price_portfolio(frame, paths=50_000, seed=seed(11), greeks="gamma")
    check(results, [tree_greeks(row) for row in frame.to_dict("records")])
    for (spot, maturity), price in PUBLISHED.items():  # and the published values
        row = results[results["id"] == f"A{int(spot)}"].iloc[0]
        assert abs(row["price"] - price) <= 0.01 + 0.003 * price + 4 * row["price_se"]
    assert (results["method"] == "policy+fd+controls+antithetic").all()


def test_bermudan_against_the_tree():
    rows = [dict(LS, id="B36", instrument="bermudan", spot=36.0, maturity=1.0, fixings=50),
            dict(LS, id="B-call", instrument="bermudan", option_type="call", spot=105.0,
                 strike=100.0, maturity=0.5, rate=0.03, dividend=0.08, vol=0.25, fixings=6)]
    frame = make_frame(rows)
    results = greeks.price_portfolio(frame, paths=100_000, seed=seed(12), greeks="gamma")
    references = [tree_greeks(row, dates=row["maturity"] * np.arange(1, row["fixings"] + 1)
                              / row["fixings"]) for row in frame.to_dict("records")]
    check(results, references)
    # the early-exercise premium is there: above the European value by many SE
    european = greeks.price_portfolio(make_frame([dict(rows[0], instrument="european")]),
                                      paths=20_000, seed=seed(12))
    assert results["price"].iat[0] > european["price"].iat[0] + 0.3


def test_heston_american_put_published():
    spot = 10.0
    frame = make_frame([dict(HESTON, id="H10", spot=spot)])
    results = greeks.price_portfolio(frame, paths=40_000, seed=seed(13))
    row = results.iloc[0]
    reference = HESTON_PUBLISHED[spot]
    assert abs(row["price"] - reference) <= 0.003 * reference + 0.002 + 4 * row["price_se"]
    assert -1.0 < row["delta"] < 0.0 and row["vega"] > 0.0


def test_heston_bermudan_puts_against_the_adi_solution():
    """The solved policy (greeks.models.heston.exercise_rule) on a weekly Bermudan put: the
    ADI solution's Bermudan value on the same dates (greeks.models.heston.american, within
    about 2e-4 of the converged value at its default grid) within k SE + 3e-4, no policy
    allowance; delta and vega of the American rows against the ADI American put's, with
    the allowances of the module docstring."""
    from greeks.models.heston.american import heston_american_put

    spots = np.array([9.0, 10.0, 11.0])
    law = {key: HESTON[key] for key in ("strike", "maturity", "rate", "v0", "kappa", "theta",
                                        "xi", "rho")}
    dates = 0.25 * np.arange(1, 14) / 13
    bermudan = heston_american_put(spots, **law, dividend=0.0, exercise_times=dates)
    american = heston_american_put(spots, **law, dividend=0.0)
    rows = [dict(HESTON, id=f"B{int(s)}", instrument="bermudan", fixings=13, spot=s)
            for s in spots] + [dict(HESTON, id=f"A{int(s)}", spot=s) for s in spots]
    results = greeks.price_portfolio(make_frame(rows), paths=60_000, seed=seed(21))
    k = k_for(3 + 6)
    for i in range(3):
        row = results.iloc[i]
        assert abs(row["price"] - bermudan.price[i]) <= 3e-4 + k * row["price_se"], row["id"]
    references = [{"price": american.price[i], "delta": american.delta[i],
                   "vega": american.vega[i]} for i in range(3)]
    check(results.iloc[3:], references, names=("delta", "vega"))


@pytest.mark.slow
def test_heston_american_puts_published_sweep():
    frame = make_frame([dict(HESTON, id=f"H{int(s)}", spot=s) for s in HESTON_PUBLISHED])
    results = greeks.price_portfolio(frame, seed=seed(14))
    k = k_for(len(HESTON_PUBLISHED))
    for (_, row), reference in zip(results.iterrows(), HESTON_PUBLISHED.values()):
        assert abs(row["price"] - reference) <= 0.003 * reference + 0.002 + k * row["price_se"]


@pytest.mark.slow
def test_heston_american_puts_unbiased_over_seeds():
    """Under the solved policy no bias is left: the z-scores of the four Clarke–Parrott puts
    (S0 = 9 … 12) against the converged values (Ikonen & Toivanen's case; data/README.md)
    over four seeds at 200,000 paths have mean within 4/√16 of 0 (the regressed policy gave
    −1.33) and rms below 1.6."""
    converged = {9.0: 1.107621, 10.0: 0.520030, 11.0: 0.213677, 12.0: 0.082044}
    frame = make_frame([dict(HESTON, id=f"H{int(s)}", spot=s) for s in converged])
    z = []
    for n in range(4):
        results = greeks.price_portfolio(frame, seed=seed(23 + n))
        z += [(row["price"] - reference) / row["price_se"]
              for (_, row), reference in zip(results.iterrows(), converged.values())]
    assert abs(np.mean(z)) <= 4.0 / math.sqrt(len(z)), z
    assert math.sqrt(np.mean(np.square(z))) < 1.6, z


@pytest.mark.slow
@pytest.mark.parametrize("n", range(4))
def test_american_puts_and_call_over_seeds(n):
    frame = make_frame([dict(LS, id=f"A{int(s)}", spot=s, maturity=t) for s, t in PUBLISHED]
                       + [CALL])
    results = greeks.price_portfolio(frame, seed=seed(100 + n), greeks="gamma")
    check(results, [tree_greeks(row) for row in frame.to_dict("records")])


@pytest.mark.slow
def test_gbm_solved_policy_unbiased_with_calibrated_errors():
    """Under GBM the policy is the solved optimal boundary, so no bias allowance: over 12
    seeds at 20,000 paths the z-scores (estimate − finite-difference reference)/se of price,
    delta and vega on three rows (a daily american put, an american call with a dividend
    yield, a quarterly bermudan call) have mean 0 and rms 1.  Each row's mean z over the seeds
    sd 1/sqrt(12): |mean| ≤ k_for(9)/sqrt(12); the pooled z² of a Greek (36, χ²₃₆/36 if
    the SEs are right): 0.35 ≤ mean z² ≤ 2.1 (its 1e-4 tails), so SEs inflated or shrunk
    by ~1.6x fail.  The reference's grid error (≤ 1e-4 relative) and the exercise
    grid's (≤ 5e-4 of the delta) are far below the SEs at these paths."""
    rows = [dict(id="put", instrument="american", option_type="put", strike=40.0, maturity=1.0,
                 spot=38.0, rate=0.06, vol=0.2),
            dict(id="call", instrument="american", option_type="call", strike=100.0,
                 maturity=0.75, spot=105.0, rate=0.02, dividend=0.07, vol=0.3),
            dict(id="berm", instrument="bermudan", option_type="call", strike=105.0,
                 maturity=1.0, spot=100.0, rate=0.02, dividend=0.04, vol=0.3, fixings=4)]
    frame = make_frame(rows)
    references = []
    for row in rows:
        dates = None if row["instrument"] == "american" else np.arange(1, 5) / 4.0
        fd = american_fd(row["spot"], row["strike"], row["maturity"], row["rate"],
                         row.get("dividend", 0.0), row["vol"], row["option_type"] == "call",
                         dates)
        references.append({"price": fd.price, "delta": fd.delta, "vega": fd.vega})
    z = np.array([[[(out[name] - reference[name]) / out[f"{name}_se"]
                    for name in ("price", "delta", "vega")]
                   for (_, out), reference in zip(
                       greeks.price_portfolio(frame, paths=20_000, seed=seed(300 + n)).iterrows(),
                       references)] for n in range(12)])
    assert np.all(np.abs(z.mean(axis=0)) <= k_for(9) / math.sqrt(12)), z.mean(axis=0)
    pooled = (z * z).mean(axis=(0, 1))
    assert np.all((pooled >= 0.35) & (pooled <= 2.1)), pooled


def test_bermudan_almost_never_exercised_early_has_honest_standard_errors():
    """A two-month bermudan put at S0/K = 0.79 with q > r, two dates: none to three of
    20,000 paths are exercised early, and the Greeks move only with the few spot- or
    vol-moved paths that cross the boundary.  Their SEs (delta 10⁻⁸ to 10⁻⁵) stood far
    below the estimates' distance from the tree (about 3·10⁻⁵: the spot step's bias, the
    crossings unseen); every Greek's SE is now at least the unseen-event bound, and each
    estimate is within k·se of the tree with no allowance."""
    row = dict(LS, id="rare", instrument="bermudan", spot=100.0, strike=126.76,
               maturity=74 / 365, rate=0.0172, dividend=0.0299, vol=0.2088, fixings=2)
    reference = tree_greeks(row, dates=row["maturity"] * np.array([0.5, 1.0]))
    names = ("price", "delta", "vega", "gamma")
    seeds = [seed(16), seed(17)]
    k = k_for(len(names) * len(seeds))
    for s in seeds:
        results = greeks.price_portfolio(make_frame([row]), paths=20_000, seed=s,
                                         greeks="gamma").iloc[0]
        for name in names:
            assert abs(results[name] - reference[name]) <= k * results[f"{name}_se"], (
                s, name, results[name], reference[name], results[f"{name}_se"])


def test_deep_in_the_money_american_is_exercised_at_once():
    frame = make_frame([dict(LS, id="deep", spot=20.0, maturity=1.0, fixings=20)])
    results = greeks.price_portfolio(frame, paths=4_000, seed=seed(15))
    row = results.iloc[0]
    assert row["price"] == 20.0 and row["delta"] == -1.0
    assert row["exercise_probability"] == 1.0 and row["exercise_time"] == 0.0


def test_exercise_statistics_and_other_rows():
    """Exercise statistics only for the early-exercise rows; a european row's numbers are the
    same with or without an american row in the file (its own simulation)."""
    european = dict(LS, id="E", instrument="european", spot=40.0, maturity=1.0)
    american = dict(LS, id="A", spot=40.0, maturity=1.0, fixings=12)
    both = greeks.price_portfolio(make_frame([european, american]), paths=8_000,
                                  seed=seed(16))
    alone = greeks.price_portfolio(make_frame([european]), paths=8_000, seed=seed(16))
    columns = ["price", "price_se", "delta", "delta_se", "vega", "vega_se"]
    assert both[columns].iloc[0].tolist() == alone[columns].iloc[0].tolist()
    assert "exercise_probability" not in alone
    assert np.isnan(both["exercise_probability"].iat[0])
    p, t = both["exercise_probability"].iat[1], both["exercise_time"].iat[1]
    assert 0.0 < p < 1.0 and 0.0 < t < 1.0
    assert both["exercise_probability_se"].iat[1] > 0


def test_reproducible_whatever_the_threads_and_row_order():
    rows = [dict(LS, id="B", instrument="bermudan", spot=38.0, maturity=0.5, fixings=10),
            dict(LS, id="A", spot=42.0, maturity=0.5, option_type="put", fixings=20),
            dict(HESTON, id="H", spot=10.0, fixings=10)]
    one = greeks.price_portfolio(make_frame(rows), paths=6_000, seed=seed(17), threads=1,
                                 greeks="theta,rho")
    two = greeks.price_portfolio(make_frame(rows[::-1]), paths=6_000, seed=seed(17),
                                 threads=2, greeks="theta,rho"
                                 ).set_index("id").loc[one["id"]].reset_index()
    columns = ["price", "price_se", "delta", "vega", "exercise_probability", "theta_per_year",
               "rho_rate", "rho_rate_se"]
    assert np.array_equal(one[columns].to_numpy(), two[columns].to_numpy())


def test_bad_fixings_are_refused():
    with pytest.raises(InputError, match=r"row 1: column 'fixings'"):
        make_frame([dict(LS, id="x", spot=40.0, maturity=1.0, fixings=0)])
    with pytest.raises(InputError, match="instrument"):
        greeks.price_portfolio(pd.DataFrame([dict(LS, id="x", spot=40.0, maturity=1.0,
                                                  model="gbm", instrument="americn")]))


def test_analytic_uses_the_finite_difference_reference():
    """``greeks analytic`` takes american and bermudan GBM rows from
    ``greeks.models.gbm.american.american_fd`` (exercise on the row's dates for a bermudan)."""
    from greeks.reference import reference_table

    frame = make_frame([dict(LS, id="A", spot=36.0, maturity=1.0),
                        dict(LS, id="B", instrument="bermudan", spot=36.0, maturity=1.0,
                             fixings=4)])
    table = reference_table(frame)
    american = american_fd(36.0, 40.0, 1.0, 0.06, 0.0, 0.2, False)
    bermudan = american_fd(36.0, 40.0, 1.0, 0.06, 0.0, 0.2, False,
                           exercise_times=np.array([0.25, 0.5, 0.75, 1.0]))
    for row, values in zip(table.itertuples(), (american, bermudan)):
        assert (row.price, row.delta, row.vega) == (values.price, values.delta, values.vega)
    assert table["price"].iat[0] > table["price"].iat[1]


def test_ladder_reprices_american_rows_at_every_scenario():
    """An american put beside a european call: the ladder's values at S0(1 ± 5 %) against
    the finite-difference American put plus Black–Scholes (quantities 2 and 1), and their
    P&L against the base, within k·se (the re-priced row's P&L SE adds the base run's)."""
    rows = [dict(LS, id="A", spot=40.0, maturity=0.5, quantity=2),
            dict(id="E", instrument="european", option_type="call", strike=40.0,
                 maturity=0.5, spot=40.0, rate=0.06, vol=0.2)]
    table = greeks.spot_ladder(make_frame(rows), spot="-5%,5%", vol="0", paths=40_000,
                               seed=seed(19))
    def reference(shift):
        spot = 40.0 * (1.0 + shift)
        return (2 * american_fd(spot, 40.0, 0.5, 0.06, 0.0, 0.2, False).price
                + black_scholes("call", spot, 40.0, 0.5, 0.06, 0.2).price)

    references = table["shift"].map(reference).to_numpy()
    moved = (table["shift"] != 0).to_numpy()
    assert_within(table["value"], references, table["value_se"], k=k_for(5), label="value")
    assert_within(table["pnl"][moved], references[moved] - reference(0.0),
                  table["pnl_se"][moved], k=k_for(5), label="pnl")
    base = table[table["shift"] == 0].iloc[0]
    assert base["pnl"] == 0.0 and base["source"] == "1 of 2 rows re-simulated"
    assert math.isnan(table.attrs["rows"]["+0.05"].iat[0])


def test_ladder_reprices_american_rows_under_the_runs_policy():
    """``policy`` reaches the ladder's re-pricing: its base value is the price of a run
    under that policy on the same paths (the ladder's plain estimators), and differs from
    the solved policy's."""
    frame = make_frame([dict(LS, id="A", spot=40.0, maturity=0.5)])
    run = dict(paths=4_000, seed=seed(21), threads=1, plain=True)
    regression = dict(policy="regression", policy_paths=2_048)
    table = greeks.spot_ladder(frame, spot="5%", vol="0", paths=4_000, seed=seed(21),
                               threads=1, **regression)
    base = table[table["shift"] == 0].iloc[0]
    priced = greeks.price_portfolio(frame, **run, **regression)
    assert base["value"] == priced["price"].iat[0]
    assert base["value"] != greeks.price_portfolio(frame, **run)["price"].iat[0]


def test_compare_lists_the_policy_estimator_with_and_without_antithetics():
    row = dict(LS, id="A", spot=40.0, maturity=0.5)
    table = greeks.compare_estimators(make_frame([row]), paths=20_000, seed=seed(20))
    assert set(table["method"]) == {"policy+fd+controls", "policy+fd+controls+antithetic",
                                    "auto"}
    fd = american_fd(40.0, 40.0, 0.5, 0.06, 0.0, 0.2, False)
    assert_within(table["estimate"], [getattr(fd, greek) for greek in table["greek"]],
                  table["se"], k=k_for(len(table)), label=table["greek"].tolist())


def test_greeks_it_does_not_estimate_are_missing():
    rows = [dict(LS, id="A", spot=40.0, maturity=0.5, fixings=10),
            dict(HESTON, id="H", spot=10.0, fixings=10),
            dict(HESTON, id="HE", spot=10.0, instrument="european")]
    results = greeks.price_portfolio(make_frame(rows), paths=4_000, seed=seed(18),
                                     greeks="gamma,rho,dkappa")
    assert results["dkappa"].iloc[:2].isna().all()
    assert results[["price", "delta", "vega", "gamma"]].notna().all().all()
    # rho: tests/models/gbm/test_american_carry.py, tests/models/heston/test_exercise_theta.py
    assert np.isfinite(results["rho_rate"]).all()
    assert np.isfinite(results["dkappa"].iat[2])
    assert math.isnan(results.attrs["total"]["dkappa"])
