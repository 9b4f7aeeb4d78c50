"""The reported standard errors are right: seed-to-seed spread and interval coverage,
under GBM and Heston."""

import math

import numpy as np
import pytest
from helpers import (
    assert_se_matches_spread,
    assert_within,
    binomial_bounds,
    closed_form,
    combined_se,
    make_frame,
    sd_and_se,
    seed,
    seeds,
    variance_ratio_and_se,
)

from greeks import engine

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7,
              underlying="H")


# 100 seeds: the spread bounds on SE/σ are about [0.71, 1.32] over these 30 columns (an SE
# wrong by a factor 1.4 fails), and an interval whose SE is 35 % too small covers 80 % of
# the time, below the binomial bound of 85 covering seeds in 100.
SEEDS = 100
PATHS = 2_500


def runs():
    """Each of ``SEEDS`` seeds' estimates and SEs on a GBM and Heston book, and its totals."""
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
    results = [engine.simulate(frame, PATHS, seed=s, threads=1) for s in seeds(SEEDS)]
    mean = np.stack([r.mean for r in results])
    se = np.stack([r.se for r in results])
    total_mean = np.stack([r.total_mean for r in results])
    total_se = np.stack([r.total_se for r in results])
    return frame, mean, se, total_mean, total_se


def assert_coverage(covered, label):
    """Counts of 95 % intervals that cover (seeds × checks), within binomial bounds."""
    count = covered.sum(axis=0)
    low, high = binomial_bounds(covered.shape[0], 0.95, covered[0].size)
    assert np.all((low <= count) & (count <= high)), (label, count / covered.shape[0])


def test_standard_errors_match_the_spread_and_intervals_cover():
    """One test over the seeds' runs (so that parallel workers do not each repeat them): the
    seed-to-seed spread of every estimate and total matches its reported SE; the 95 %
    intervals of european and digital rows cover the closed form, those of asian and barrier
    rows an independent long run, as often as a binomial law allows."""
    frame, mean, se, total_mean, total_se = runs()
    assert_se_matches_spread(np.concatenate([mean, total_mean[:, None]], axis=1),
                             np.concatenate([se, total_se[:, None]], axis=1))

    positions = np.flatnonzero(frame["instrument"].isin(["european", "digital"]).to_numpy())
    exact = np.array([closed_form(frame.iloc[p])[:3] for p in positions])
    covered = np.abs(mean[:, positions] - exact) <= 1.96 * se[:, positions]
    assert_coverage(covered.reshape(SEEDS, -1), frame["id"].iloc[positions].tolist())

    positions = np.flatnonzero(frame["instrument"].isin(["asian", "barrier"]).to_numpy())
    long_run = engine.simulate(frame.iloc[positions].reset_index(drop=True), 250_000,
                               seed=seed(10_000))
    covered = (np.abs(mean[:, positions] - long_run.mean)
               <= 1.96 * combined_se(se[:, positions], long_run.se))
    assert_coverage(covered.reshape(SEEDS, -1), frame["id"].iloc[positions].tolist())


def atm_call_per_path():
    """Quadrature grid, density and the per-path values of the ATM 1-year call (S0 = K =
    100, σ = 0.2, r = 0.05) as functions of the normal z of S_T: pathwise delta and vega,
    likelihood-ratio delta and vega."""
    z = np.linspace(-9, 9, 200_001)
    density = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    s = 100 * np.exp((0.05 - 0.02) + 0.2 * z)
    discount = math.exp(-0.05)
    f = discount * np.maximum(s - 100, 0)
    in_money = discount * (s > 100)
    values = [in_money * s / 100, in_money * s * (z - 0.2), f * z / (100 * 0.2),
              f * ((z * z - 1) / 0.2 - z)]
    return z, density, values


def quadrature_variance(v, z, density):
    mean = np.trapezoid(v * density, z)
    return np.trapezoid((v - mean) ** 2 * density, z)


def test_pathwise_and_lr_variances_match_their_exact_values():
    """Per-path SDs on the ATM 1-year call: pathwise delta 0.576 and vega 75.7 against
    likelihood ratio 1.466 and 275.3 — variance ratios about 6.5 and 13 — measured on one
    sample of plain paths against their values by quadrature, within the sampling error of
    a sample SD (from the sample's own fourth moment: the LR vega's kurtosis is ~240)."""
    from greeks import payoffs
    from greeks.models.gbm.paths import simulate as simulate_gbm
    from greeks.pathwise import gbm_values

    frame = make_frame([dict(id="atm", rate=0.05)])
    group = engine.plan_groups(frame)[0]
    n = 400_000
    rng = np.random.Generator(np.random.PCG64(seed(21)))
    w, s = simulate_gbm(rng, n, group.times, math.log(100.0), 0.05, 0.2, False)
    np.exp(s, out=s)
    values = np.empty((3, n))
    gbm_values(s, w, group.times, group.date_index, False, 1.0, 100.0, group.payoff.discount[0],
               100.0, 0.2, *values)
    payoff = np.empty(n)
    payoffs.evaluate(s, group.date_index, group.payoff, 0, payoff)
    z = w[:, 0]
    lr = [payoff * z / (100 * 0.2), payoff * ((z * z - 1) / 0.2 - z)]
    grid, density, exact = atm_call_per_path()
    variances = [quadrature_variance(v, grid, density) for v in exact]
    # the quadrature reproduces the values quoted in the literature
    np.testing.assert_allclose(np.sqrt(variances), [0.576, 75.7, 1.466, 275.3], rtol=1e-3)
    for k, estimate in enumerate([values[1], values[2], lr[0], lr[1]]):
        sd, sd_se = sd_and_se(estimate)
        assert_within(sd, math.sqrt(variances[k]), sd_se, label=f"per-path SD {k}")
    for k, (a, b) in enumerate([(lr[0], values[1]), (lr[1], values[2])]):
        ratio, ratio_se = variance_ratio_and_se(a, b)
        assert_within(ratio, variances[2 + k] / variances[k], ratio_se, label=f"ratio {k}")


@pytest.mark.parametrize("method", ["mixed", "lr", "pathwise", "fd"])
def test_every_method_reports_the_spread_of_its_estimates(method):
    frame = make_frame([dict(id="call"),
                        dict(id="asian", instrument="asian", fixings=12, quantity=-2.0),
                        dict(id="digital", instrument="digital", option_type="put", strike=95.0),
                        dict(id="h", **HESTON)])
    runs = [engine.simulate(frame, 4_000, seed=s, threads=1, method=method)
            for s in seeds(50)]
    mean = np.stack([r.mean for r in runs])
    se = np.stack([r.se for r in runs])
    assert_se_matches_spread(mean, se, label=method)
