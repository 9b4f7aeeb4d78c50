"""Randomised quasi-Monte Carlo: the Brownian bridge, unbiasedness, replicate SEs."""

import numpy as np
import pytest
from helpers import (
    assert_se_matches_spread,
    assert_within,
    closed_form,
    combined_se,
    k_for,
    make_frame,
    seed,
    seeds,
)

import greeks
from greeks import engine
from greeks.rqmc import (
    REPLICATES,
    brownian_paths,
    points_per_replicate,
    replicate_normals,
)


def test_bridge_gives_brownian_covariances():
    times = np.array([0.1, 0.25, 0.3, 0.7, 1.0, 1.6])
    n = 200_000
    uniforms = np.random.default_rng(seed(3)).random((n, times.size))
    w = brownian_paths(uniforms, times)
    exact = np.minimum.outer(times, times)
    # sample covariances of normals: SE sqrt((Σ_ii Σ_jj + Σ_ij²)/n); means: sqrt(Σ_ii/n)
    checks = times.size * (times.size + 3) // 2
    assert_within(np.cov(w, rowvar=False), exact,
                  np.sqrt((np.outer(times, times) + exact ** 2) / n), k=k_for(checks))
    assert_within(w.mean(axis=0), 0.0, np.sqrt(times / n), k=k_for(checks))


def test_rqmc_matches_closed_forms_and_plain_monte_carlo():
    frame = make_frame([dict(id="call"), dict(id="put", option_type="put", strike=110.0),
                        dict(id="digital", instrument="digital", strike=95.0),
                        dict(id="asian", instrument="asian", fixings=12),
                        dict(id="uo", instrument="barrier", barrier=125.0,
                             barrier_type="up-and-out", fixings=12)])
    results = greeks.price_portfolio(frame, paths=200_000, seed=seed(3), method="rqmc")
    assert (results["method"] == "rqmc+lr").all()
    reference = greeks.price_portfolio(frame, paths=2_000_000, seed=seed(4), method="lr")
    values, errors = ["price", "delta", "vega"], ["price_se", "delta_se", "vega_se"]
    estimate = results[values].to_numpy(dtype=float)
    se = results[errors].to_numpy(dtype=float)
    exact = reference[values].to_numpy(dtype=float).copy()  # asian, barrier: a long plain run
    tolerance = combined_se(se, reference[errors].to_numpy(dtype=float))
    closed = frame["instrument"].isin(["european", "digital"]).to_numpy()
    exact[closed] = [closed_form(row)[:3] for _, row in frame[closed].iterrows()]
    tolerance[closed] = se[closed]
    assert_within(estimate, exact, tolerance, k=k_for(estimate.size))
    # a one-date integrand: scrambled Sobol points beat plain paths by orders of magnitude
    plain = greeks.price_portfolio(frame, paths=200_000, seed=seed(3), plain=True)
    assert (plain["price_se"].iloc[0] / results["price_se"].iloc[0]) > 30


def test_replicate_standard_errors_match_the_spread_over_seeds():
    """The SE is the spread of the replicate means over sqrt(REPLICATES): check it against the
    spread of the estimates over 40 seeds (chi-square bounds, widened by the spread of the
    replicate SEs themselves)."""
    frame = make_frame([dict(id="call"), dict(id="asian", instrument="asian", fixings=12)])
    runs = [engine.simulate(frame, 8_192, seed=s, method="rqmc") for s in seeds(40)]
    mean = np.stack([r.mean for r in runs])
    se = np.stack([r.se for r in runs])
    assert_se_matches_spread(mean, se)


def test_rqmc_paths_and_reproducibility():
    assert points_per_replicate(200_000) == 1 << 12 and REPLICATES == 64
    frame = make_frame([dict(id="call"), dict(id="asian", instrument="asian", fixings=4)])
    one = engine.simulate(frame, 20_000, seed=seed(5), method="rqmc", threads=1)
    two = engine.simulate(frame, 20_000, seed=seed(5), method="rqmc", threads=2)
    assert np.array_equal(one.mean, two.mean) and np.array_equal(one.se, two.se)


HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)


def test_heston_normals_are_independent_standard_normals():
    """Each step's normals, variance and log-price, over one replicate's points."""
    frame = make_frame([dict(id="call", **HESTON, maturity=0.25)])
    group = engine.plan_groups(frame, steps_per_year=12, method="rqmc")[0]
    normals = replicate_normals(group, 0, 3, 1 << 14)
    assert normals.shape == (2, group.times.size, 1 << 14)
    flat = normals.reshape(-1, 1 << 14)
    assert np.allclose(flat.mean(axis=1), 0.0, atol=0.01)
    assert np.allclose(np.cov(flat), np.eye(flat.shape[0]), atol=0.03)


def test_heston_rqmc_matches_the_semi_analytic_values():
    """QE and exact chains (their price bias at 52 steps is well under these SEs), european
    and digital rows by conditional Monte Carlo on the replicates, against the semi-analytic
    values; the asian against a long plain run of the same chain."""
    frame = make_frame([dict(id="call", **HESTON), dict(id="put", option_type="put", strike=90.0,
                                                         **HESTON),
                        dict(id="digital", instrument="digital", **HESTON),
                        dict(id="asian", instrument="asian", fixings=12, **HESTON)])
    runs = {}
    for scheme, paths in (("qe", 65_536), ("exact", 16_384)):  # exact: ~30 times QE's cost
        runs[scheme] = results = greeks.price_portfolio(frame, paths=paths, seed=seed(5),
                                                        method="rqmc", scheme=scheme)
        assert list(results["method"]) == ["rqmc+conditional"] * 3 + ["rqmc+lr"]
        exact = np.array([closed_form(row)[:3] for _, row in frame.iloc[:3].iterrows()])
        assert_within(results.loc[:2, ["price", "delta", "vega"]].to_numpy(dtype=float), exact,
                      results.loc[:2, ["price_se", "delta_se", "vega_se"]].to_numpy(dtype=float),
                      k=k_for(2 * exact.size + 3), label=scheme)
    reference = greeks.price_portfolio(frame.iloc[3:], paths=125_000, seed=seed(6))
    estimate = results.loc[3, ["price", "delta", "vega"]].to_numpy(dtype=float)
    errors = ["price_se", "delta_se", "vega_se"]
    combined = combined_se(results.loc[3, errors].to_numpy(dtype=float),
                           reference.loc[0, errors].to_numpy(dtype=float))
    assert_within(estimate, reference.loc[0, ["price", "delta", "vega"]].to_numpy(dtype=float),
                  combined, k=k_for(21))
    # QE's conditional price on scrambled points: several times quieter than on antithetic
    # pseudo-random paths with controls (the exact scheme draws its variances pseudo-randomly)
    mixed = greeks.price_portfolio(frame.iloc[:1], paths=65_536, seed=seed(5), method="mixed")
    assert mixed["price_se"].iat[0] / runs["qe"]["price_se"].iat[0] > 2


@pytest.mark.slow
def test_heston_replicate_standard_errors_match_the_spread_over_seeds():
    frame = make_frame([dict(id="call", **HESTON), dict(id="asian", instrument="asian", fixings=4,
                                                        **HESTON)])
    runs = [engine.simulate(frame, 4_096, seed=s, method="rqmc", steps_per_year=12)
            for s in seeds(40)]
    mean = np.stack([r.mean for r in runs])
    se = np.stack([r.se for r in runs])
    assert_se_matches_spread(mean, se)


@pytest.mark.slow
def test_intervals_of_1_96_standard_errors_cover_95_percent():
    """value ± 1.96·SE against the closed form over 200 seeds: the replicate SE has
    REPLICATES − 1 degrees of freedom, enough that the normal quantile covers (t₆₃: 94.6 %).
    The bound allows 4 binomial SDs of the coverage, counting the 6 intervals of a run (two
    rows on the same points, three Greeks each) as about 2 independent ones."""
    frame = make_frame([dict(id="call"), dict(id="digital", instrument="digital")])
    exact = np.array([closed_form(row)[:3] for _, row in frame.iterrows()])
    runs = [engine.simulate(frame, 4_096, seed=s, method="rqmc") for s in seeds(200, 1000)]
    inside = np.stack([np.abs(r.mean - exact) <= 1.96 * r.se for r in runs])
    slack = 4 * np.sqrt(0.05 * 0.95 / (2 * len(runs)))
    assert abs(inside.mean() - 0.95) <= slack, inside.mean(axis=0)
