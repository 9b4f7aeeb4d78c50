"""The reported standard errors are right: seed-to-seed spread and interval coverage,
under GBM and Heston."""

import numpy as np
import pytest
from helpers import closed_form, make_frame

from greeks import engine

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


def test_pathwise_and_lr_variances_match_their_exact_values():
    """Per-path SDs on the ATM 1-year call (S0 = K = 100, σ = 0.2, r = 0.05): pathwise delta
    0.576 and vega 75.7 against likelihood ratio 1.466 and 275.3 — variance ratios about 6.5
    and 13 — measured on one sample of plain paths, within sampling error."""
    import math

    from greeks import payoffs
    from greeks.models.gbm.paths import simulate as simulate_gbm
    from greeks.pathwise import gbm_values

    frame = make_frame([dict(id="atm", rate=0.05)])
    group = engine.plan_groups(frame)[0]
    n = 400_000
    rng = np.random.Generator(np.random.PCG64(21))
    w, s = simulate_gbm(rng, n, group.times, math.log(100.0), 0.05, 0.2)
    np.exp(s, out=s)
    values = np.empty((3, n))
    gbm_values(s, w, group.times, group.date_index, False, 1.0, 100.0, group.payoff.discount[0], 100.0,
               0.2, *values)
    payoff = np.empty(n)
    payoffs.evaluate(s, group.date_index, group.payoff, 0, payoff)
    z = w[:, 0]
    lr = [payoff * z / (100 * 0.2), payoff * ((z * z - 1) / 0.2 - z)]
    for estimate, exact in [(values[1], 0.576), (values[2], 75.7), (lr[0], 1.466),
                            (lr[1], 275.3)]:
        assert estimate.std() == pytest.approx(exact, rel=0.01)
    assert lr[0].var() / values[1].var() == pytest.approx(6.5, rel=0.03)
    assert lr[1].var() / values[2].var() == pytest.approx(13.2, rel=0.05)


@pytest.mark.parametrize("method", ["mixed", "lr", "pathwise", "fd"])
def test_every_method_reports_the_spread_of_its_estimates(method):
    frame = make_frame([dict(id="call"),
                        dict(id="asian", instrument="asian", fixings=12, quantity=-2.0),
                        dict(id="digital", instrument="digital", option_type="put", strike=95.0),
                        dict(id="h", **HESTON)])
    runs = [engine.simulate(frame, 4_000, seed=seed, threads=1, method=method)
            for seed in range(80)]
    mean = np.stack([r.mean for r in runs])
    se = np.stack([r.se for r in runs])
    ratio = mean.std(axis=0, ddof=1) / np.sqrt((se ** 2).mean(axis=0))
    assert np.all((0.75 < ratio) & (ratio < 1.3)), (method, ratio)
