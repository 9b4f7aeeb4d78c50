"""The GBM kernels against slow numpy references on the same random numbers."""

import math

import numpy as np
import pytest
from helpers import assert_within, k_for, sd_and_se, seed

from greeks import payoffs
from greeks.models.gbm.paths import simulate as simulate_gbm
from greeks.models.gbm.scores import path_scores as gbm_path_scores
from greeks.models.gbm.scores import score_setup

TIMES = np.array([0.1, 0.25, 0.5, 0.6, 1.0])
S0, SIGMA, CARRY = 100.0, 0.3, 0.02


def simulate(n, number, times=TIMES):
    rng = np.random.Generator(np.random.PCG64(seed(number)))
    return simulate_gbm(rng, n, times, math.log(S0), CARRY, SIGMA, False)


@pytest.mark.parametrize("times", [TIMES, np.array([0.75])])
def test_simulate_matches_the_exact_recursion(times):
    w, x = simulate(1000, 3, times)
    z = np.random.Generator(np.random.PCG64(seed(3))).standard_normal(1000 * times.size)
    z = z.reshape(1000, times.size)
    w_ref = np.cumsum(z * np.sqrt(np.diff(times, prepend=0.0)), axis=1)
    x_ref = math.log(S0) + (CARRY - 0.5 * SIGMA**2) * times + SIGMA * w_ref
    np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x, x_ref, rtol=1e-12)


def test_simulated_moments():
    n = 200_000
    _, x = simulate(n, 5)
    s = np.exp(x)
    expected = S0 * np.exp(CARRY * TIMES)
    assert_within(s.mean(axis=0), expected, s.std(axis=0, ddof=1) / math.sqrt(n),
                  k=k_for(2 * TIMES.size))
    log_sd = np.array([sd_and_se(column) for column in np.log(s).T])
    assert_within(log_sd[:, 0], SIGMA * np.sqrt(TIMES), log_sd[:, 1], k=k_for(2 * TIMES.size))


@pytest.mark.parametrize("dates", [np.array([4]), np.array([1, 2, 4]), np.array([0, 1, 2, 3, 4])])
def test_score_weights_match_the_formula_on_the_row_dates(dates):
    w, _ = simulate(500, 7)
    inverse_dt, delta_scale = score_setup(TIMES, dates, S0, SIGMA)
    scores = np.array([gbm_path_scores(p, (w, dates, inverse_dt, delta_scale, SIGMA))
                       for p in range(500)])
    t = TIMES[dates]
    dt = np.diff(t, prepend=0.0)
    z = np.diff(w[:, dates], axis=1, prepend=0.0) / np.sqrt(dt)
    delta_ref = z[:, 0] / (S0 * SIGMA * np.sqrt(dt[0]))
    vega_ref = ((z**2 - 1) / SIGMA - z * np.sqrt(dt)).sum(axis=1)
    np.testing.assert_allclose(scores[:, 0], delta_ref, rtol=1e-10)
    np.testing.assert_allclose(scores[:, 1], vega_ref, rtol=1e-10, atol=1e-10)


def test_score_weights_have_mean_zero():
    n = 100_000
    w, _ = simulate(n, 11)
    dates = np.array([0, 2, 4])
    inverse_dt, delta_scale = score_setup(TIMES, dates, S0, SIGMA)
    scores = np.array([gbm_path_scores(p, (w, dates, inverse_dt, delta_scale, SIGMA))
                       for p in range(n)])
    assert_within(scores.mean(axis=0), 0.0, scores.std(axis=0, ddof=1) / math.sqrt(n))


def reference_payoff(s, dates, kind, omega, strike, payout, barrier, barrier_kind, discount):
    path = s[:, dates]
    last = path[:, -1]
    vanilla = np.maximum(omega * (last - strike), 0.0)
    if kind == payoffs.EUROPEAN:
        value = vanilla
    elif kind == payoffs.DIGITAL:
        value = payout * (omega * (last - strike) > 0)
    elif kind == payoffs.ASSET_DIGITAL:
        value = last * (omega * (last - strike) > 0)
    elif kind == payoffs.ASIAN:
        value = np.maximum(omega * (path.mean(axis=1) - strike), 0.0)
    else:
        up = barrier_kind in (payoffs.UP_AND_OUT, payoffs.UP_AND_IN)
        touched = (path >= barrier).any(axis=1) if up else (path <= barrier).any(axis=1)
        knock_in = barrier_kind in (payoffs.UP_AND_IN, payoffs.DOWN_AND_IN)
        value = vanilla * (touched == knock_in)
    return discount * value


@pytest.mark.parametrize("kind,barrier_kind,barrier", [
    (payoffs.EUROPEAN, 0, 0.0), (payoffs.DIGITAL, 0, 0.0), (payoffs.ASSET_DIGITAL, 0, 0.0),
    (payoffs.ASIAN, 0, 0.0),
    (payoffs.BARRIER, payoffs.UP_AND_OUT, 120.0), (payoffs.BARRIER, payoffs.DOWN_AND_OUT, 85.0),
    (payoffs.BARRIER, payoffs.UP_AND_IN, 120.0), (payoffs.BARRIER, payoffs.DOWN_AND_IN, 85.0),
])
@pytest.mark.parametrize("omega", [1.0, -1.0])
def test_payoffs_match_numpy(kind, barrier_kind, barrier, omega):
    _, x = simulate(2000, 13)
    s = np.exp(x)
    dates = np.array([1, 3, 4])
    out = np.empty(2000)
    args = (kind, omega, 101.0, 2.5, barrier, barrier_kind, 0.97)
    spec = payoffs.PayoffSpec(*(np.array([value]) for value in args))
    payoffs.evaluate(s, dates, spec, 0, out)
    np.testing.assert_allclose(out, reference_payoff(s, dates, *args), rtol=1e-12, atol=1e-12)
