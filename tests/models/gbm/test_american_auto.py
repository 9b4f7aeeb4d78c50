"""``auto`` on american and bermudan rows: a group on antithetic pairs or on single paths,
from the exercise pilot's pairs (greeks.exercise ``_single_pays``, docs/american.md "Pairs or
single paths").

The rows: a quarterly bermudan call, whose price and vega are about 1.5 times more
efficient on single paths and its other Greeks as good or better, and Clarke and Parrott's
Heston put at S0 = 9, 1.04–1.6 times more efficient on pairs for every Greek
(benchmarks/results/exercise_estimators.md).  References: the finite-difference pricer
(price, delta, vega, gamma; theta and rho by its differences), with the allowances of
``test_american.py`` and ``test_american_carry.py``; the Heston put's published price, with
``test_american.py``'s.
"""

import numpy as np
import pandas as pd
from helpers import assert_se_matches_spread, assert_within, k_for, make_frame, seed, seeds

import greeks
from greeks import engine
from greeks.engine.methods import EXERCISE_LABEL, SINGLE_LABEL
from greeks.exercise import _single_pays
from greeks.models.gbm.american import american_fd
from tests.models.gbm.test_american import ALLOWANCE, HESTON, HESTON_PUBLISHED
from tests.models.gbm.test_american_carry import ALLOWANCE as CARRY_ALLOWANCE
from tests.models.gbm.test_american_carry import dates_of, reference

PUT = dict(id="put", instrument="american", option_type="put", strike=100.0, maturity=0.5,
           spot=100.0, rate=0.05, dividend=0.0, vol=0.2, fixings=26)
CALL = dict(id="call", instrument="bermudan", option_type="call", strike=105.0, maturity=1.0,
            spot=100.0, rate=0.02, dividend=0.04, vol=0.3, fixings=4)
HESTON_PUT = dict(HESTON, id="heston-put", spot=9.0)
FURTHER = ("gamma", "theta", "rho")
COLUMNS = {"price": "price", "delta": "delta", "vega": "vega", "gamma": "gamma",
           "theta": "theta_per_year", "rho": "rho_rate"}
ORDER = ("price", "delta", "vega") + FURTHER  # the engine's columns


def references(row) -> dict:
    """Price, delta, vega, gamma, theta and rho of a row by the finite-difference pricer."""
    fd = american_fd(row["spot"], row["strike"], row["maturity"], row["rate"],
                     row["dividend"], row["vol"], row["option_type"] == "call", dates_of(row))
    theta, rho = reference(row)
    return dict(price=fd.price, delta=fd.delta, vega=fd.vega, gamma=fd.gamma, theta=theta,
                rho=rho)


def allowance(name: str, value: float) -> float:
    relative, absolute = ALLOWANCE.get(name, CARRY_ALLOWANCE)
    return relative * abs(value) + absolute


def test_auto_takes_each_group_to_the_paths_that_win():
    """The call's Greeks all from single paths (its exercise statistics too), the Heston
    put's from pairs; every estimate within its allowance + k·SE of the references."""
    results = greeks.price_portfolio(make_frame([CALL, HESTON_PUT]), paths=65_536,
                                     seed=seed(40), greeks=",".join(FURTHER))
    call, put = results.iloc[0], results.iloc[1]
    assert (call[["method_price", "method_delta", "method_vega"]] == SINGLE_LABEL).all()
    assert (put[["method_price", "method_delta", "method_vega"]] == EXERCISE_LABEL).all()
    assert results[["exercise_probability", "exercise_probability_se"]].notna().all().all()
    k = k_for(len(ORDER) + 1)
    for name, value in references(CALL).items():
        column = COLUMNS[name]
        assert abs(call[column] - value) <= allowance(name, value) + k * call[f"{column}_se"], (
            name, call[column], value, call[f"{column}_se"])
    published = HESTON_PUBLISHED[9.0]  # with test_american.py's allowance
    allowed = 0.003 * published + 0.002
    assert_within(put["price"], published - allowed, put["price_se"], k=k,
                  upper=published + allowed)


def test_pairs_or_single_paths_by_the_pilots_antithetic_correlation():
    """The rule itself on made-up pilot residuals (per row price, delta, vega; path i's
    partner i + n/2, partners of correlation ρ): single paths where the geometric mean of
    1 + ρ over the rows and Greeks exceeds the cost of single paths relative to pairs,
    pairs otherwise; a Greek the controls left at rounding noise is not counted."""
    rng = np.random.default_rng(seed(43))
    n = 20_000

    def residuals(rhos, scale=1.0):
        out = np.zeros((3, 2 * n))
        for row, rho in enumerate(rhos):
            x, z = rng.standard_normal((2, n))
            out[row] = np.concatenate([x, rho * x + np.sqrt(1.0 - rho ** 2) * z])
        return scale * out

    cases = {((0.3, 0.2, 0.4), 1.0): True, ((-0.3, -0.2, 0.1), 1.0): False,
             ((0.9, -0.5, -0.5), 1.0): False, ((0.3, -0.1, -0.1), 1.0): True,
             ((0.05, 0.05, 0.05), 1.1): False, ((0.2, 0.2, 0.2), 1.1): True}
    for (rhos, cost), expected in cases.items():
        assert _single_pays([residuals(rhos)], cost) is expected, (rhos, cost)
    # two rows: the mean over both; a row at rounding noise (its controls exact) left out
    assert _single_pays([residuals((0.3, 0.3, 0.3)), residuals((-0.1, -0.1, -0.1))], 1.0)
    noise = residuals((-0.9, -0.9, -0.9), 1e-12) + 100.0
    assert _single_pays([residuals((0.3, 0.3, 0.3)), noise], 1.0)
    assert not _single_pays([noise], 1.0)
    # a Greek whose pairs cancel exactly (odd residuals): pairs, whatever the others
    assert not _single_pays([residuals((0.9, 0.9, -1.0))], 1.0)


def test_single_paths_standard_errors_match_the_spread_and_the_references():
    """``auto`` with the call's group on single paths: the SEs of every Greek and of the
    totals against the spread over seeds, and the seeds' mean within the allowance +
    k·(pooled SE) of the references."""
    frame = make_frame([PUT, CALL])
    runs = [engine.simulate(frame, 4_000, s, threads=1, extra=FURTHER)
            for s in seeds(10, start=90)]
    assert all(run.single[1] for run in runs)
    means = np.stack([np.concatenate([run.mean.ravel(), run.total_mean]) for run in runs])
    ses = np.stack([np.concatenate([run.se.ravel(), run.total_se]) for run in runs])
    assert_se_matches_spread(means, ses)
    means = np.stack([run.mean for run in runs])
    pooled = np.sqrt((np.stack([run.se for run in runs]) ** 2).sum(axis=0)) / len(runs)
    k = k_for(2 * len(ORDER))
    for r, row in enumerate((PUT, CALL)):
        values = references(row)
        for c, name in enumerate(ORDER):
            error = abs(means[:, r, c].mean() - values[name])
            assert error <= allowance(name, values[name]) + k * pooled[r, c], (
                row["id"], name, means[:, r, c].mean(), values[name], pooled[r, c])


def test_mixed_keeps_the_pairs():
    """``mixed`` (and every method but ``auto``) runs exercise rows on antithetic pairs."""
    frame = make_frame([CALL])
    mixed = engine.simulate(frame, 4_000, seed(44), threads=1, method="mixed")
    auto = engine.simulate(frame, 4_000, seed(44), threads=1)
    assert (mixed.choice == EXERCISE_LABEL).all() and (auto.choice == SINGLE_LABEL).all()
    assert not np.array_equal(mixed.mean, auto.mean)


def test_auto_on_exercise_rows_is_the_same_whatever_the_order_threads_and_scheduler():
    """With the groups split between the two variants (the put's and the calls' GBM
    simulations on single paths, the Heston put on pairs, each far from the rule's threshold
    at any seed: geometric means of 1 + rho 1.14-1.18 and 1.31-1.33 against 1.0, 0.98-0.99
    against 1.07), the rows reversed, two threads and a process pool give the same numbers
    and choices as one thread; the totals too."""
    second = dict(CALL, id="call-2", instrument="american", strike=95.0, maturity=0.5)
    rows = [PUT, CALL, second, HESTON_PUT]
    run = dict(paths=16_384, seed=seed(41), greeks=",".join(FURTHER))
    one = greeks.price_portfolio(make_frame(rows), threads=1, **run)
    labels = set(one[["method_price", "method_delta", "method_vega"]].to_numpy().ravel())
    assert labels == {SINGLE_LABEL, EXERCISE_LABEL}
    two = greeks.price_portfolio(make_frame(rows[::-1]), threads=2, **run)
    pooled = greeks.price_portfolio(make_frame(rows), threads=2, scheduler="processes", **run)
    two = two.set_index("id").loc[one["id"]].reset_index()[one.columns]
    for other in (pooled, two):
        assert one.equals(other)
        assert pd.Series(one.attrs["total"]).equals(pd.Series(other.attrs["total"]))


def test_a_target_sizes_the_single_path_run():
    """Under --target-se the call's single-path run gets the row's count and meets the
    target."""
    results = greeks.price_portfolio(make_frame([CALL]), target_se="1%", seed=seed(42))
    row = results.iloc[0]
    assert row["method_price"] == SINGLE_LABEL
    ratio = np.array([row[f"{name}_se"] / (0.01 * abs(row[name]))
                      for name in ("price", "delta", "vega")])
    assert (ratio < 1.5).all(), ratio
    assert results.attrs["unmet"] == (["call"] if (ratio > 1).any() else [])
