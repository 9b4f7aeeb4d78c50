"""The reported standard errors are right: seed-to-seed spread and interval coverage,
under GBM and Heston."""

import numpy as np
import pytest

from greeks import engine
from helpers import closed_form, make_frame

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7,
              underlying="H")


SEEDS = 200
PATHS = 5_000


@pytest.fixture(scope="module")
def runs():
    frame = make_frame([
        dict(id="call"),
        dict(id="digital", instrument="digital", option_type="put", strike=95.0, payout=10.0),
        dict(id="asian", instrument="asian", fixings=12, quantity=-3.0),
        dict(id="barrier", instrument="barrier", barrier=120.0, barrier_type="up-and-out",
             fixings=12, quantity=2.0),
        dict(id="other", spot=50.0, strike=55.0, vol=0.3, underlying="XYZ", option_type="put"),
        dict(id="h-call", **HESTON),
        dict(id="h-digital", instrument="digital", option_type="put", strike=95.0, **HESTON),
        dict(id="h-asian", instrument="asian", fixings=12, **HESTON),
        dict(id="h-barrier", instrument="barrier", barrier=80.0, barrier_type="down-and-out",
             option_type="put", fixings=12, **HESTON),
    ])
    results = [engine.simulate(frame, PATHS, seed=seed, threads=1) for seed in range(SEEDS)]
    mean = np.stack([r.mean for r in results])
    se = np.stack([r.se for r in results])
    total_mean = np.stack([r.total_mean for r in results])
    total_se = np.stack([r.total_se for r in results])
    return frame, mean, se, total_mean, total_se


def test_spread_over_seeds_matches_the_reported_se(runs):
    _, mean, se, total_mean, total_se = runs
    ratio = mean.std(axis=0, ddof=1) / se.mean(axis=0)
    assert np.all((0.8 < ratio) & (ratio < 1.25)), ratio
    total_ratio = total_mean.std(axis=0, ddof=1) / total_se.mean(axis=0)
    assert np.all((0.8 < total_ratio) & (total_ratio < 1.25)), total_ratio


def test_intervals_cover_the_closed_form(runs):
    frame, mean, se, _, _ = runs
    for position in np.flatnonzero(frame["instrument"].isin(["european", "digital"]).to_numpy()):
        exact = np.array(closed_form(frame.iloc[position])[:3])
        covered = np.abs(mean[:, position] - exact) <= 1.96 * se[:, position]
        coverage = covered.mean(axis=0)
        assert np.all((0.90 <= coverage) & (coverage <= 0.99)), (frame["id"][position], coverage)


def test_intervals_cover_an_independent_long_run(runs):
    frame, mean, se, _, _ = runs
    long_run = engine.simulate(frame, 1_000_000, seed=10_000)
    for position in np.flatnonzero(frame["instrument"].isin(["asian", "barrier"]).to_numpy()):
        covered = np.abs(mean[:, position] - long_run.mean[position]) <= 1.96 * se[:, position]
        coverage = covered.mean(axis=0)
        assert np.all((0.90 <= coverage) & (coverage <= 0.99)), (frame["id"][position], coverage)
