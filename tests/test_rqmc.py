"""Randomised quasi-Monte Carlo: the Brownian bridge, unbiasedness, replicate SEs."""

import numpy as np

import greeks
from greeks import engine
from greeks.rqmc import REPLICATES, brownian_paths, points_per_replicate
from helpers import closed_form, make_frame


def test_bridge_gives_brownian_covariances():
    times = np.array([0.1, 0.25, 0.3, 0.7, 1.0, 1.6])
    uniforms = np.random.default_rng(3).random((200_000, times.size))
    w = brownian_paths(uniforms, times)
    covariance = np.cov(w, rowvar=False)
    assert np.allclose(covariance, np.minimum.outer(times, times), atol=0.02)
    assert np.allclose(w.mean(axis=0), 0.0, atol=0.01)


def test_rqmc_matches_closed_forms_and_plain_monte_carlo():
    frame = make_frame([dict(id="call"), dict(id="put", option_type="put", strike=110.0),
                        dict(id="digital", instrument="digital", strike=95.0),
                        dict(id="asian", instrument="asian", fixings=12),
                        dict(id="uo", instrument="barrier", barrier=125.0,
                             barrier_type="up-and-out", fixings=12)])
    results = greeks.price_portfolio(frame, paths=200_000, seed=3, method="rqmc")
    assert (results["method"] == "rqmc+lr").all()
    reference = greeks.price_portfolio(frame, paths=2_000_000, seed=4, method="lr")
    for i, row in frame.iterrows():
        estimate = results.loc[i, ["price", "delta", "vega"]].to_numpy(dtype=float)
        se = results.loc[i, ["price_se", "delta_se", "vega_se"]].to_numpy(dtype=float)
        if row["instrument"] in ("european", "digital"):
            exact, tolerance = np.array(closed_form(row)[:3]), 4 * se
        else:
            exact = reference.loc[i, ["price", "delta", "vega"]].to_numpy(dtype=float)
            tolerance = 4 * np.hypot(se, reference.loc[i, ["price_se", "delta_se",
                                                           "vega_se"]].to_numpy(dtype=float))
        assert np.all(np.abs(estimate - exact) <= tolerance), row["id"]
    # a one-date integrand: scrambled Sobol points beat plain paths by orders of magnitude
    plain = greeks.price_portfolio(frame, paths=200_000, seed=3, plain=True)
    assert (plain["price_se"].iloc[0] / results["price_se"].iloc[0]) > 30


def test_replicate_standard_errors_match_the_spread_over_seeds():
    """The SE is the spread of 16 replicate means over sqrt(16): check it against the
    spread of the estimates over 40 seeds (a t-distributed ratio: a loose band)."""
    frame = make_frame([dict(id="call"), dict(id="asian", instrument="asian", fixings=12)])
    runs = [engine.simulate(frame, 8_192, seed=seed, method="rqmc") for seed in range(40)]
    mean = np.stack([r.mean for r in runs])
    se = np.stack([r.se for r in runs])
    ratio = mean.std(axis=0, ddof=1) / np.sqrt((se ** 2).mean(axis=0))
    assert np.all((0.7 < ratio) & (ratio < 1.4)), ratio


def test_rqmc_paths_and_reproducibility():
    assert points_per_replicate(200_000) == 1 << 14 and REPLICATES == 16
    frame = make_frame([dict(id="call"), dict(id="asian", instrument="asian", fixings=4)])
    one = engine.simulate(frame, 20_000, seed=5, method="rqmc", threads=1)
    two = engine.simulate(frame, 20_000, seed=5, method="rqmc", threads=2)
    assert np.array_equal(one.mean, two.mean) and np.array_equal(one.se, two.se)
