"""The GBM likelihood-ratio kernel's faster passes give the same bits as the general ones:
the one-date score weights against :func:`greeks.models.gbm.scores.path_scores`, the
asian's fused payoffs against :func:`greeks.payoffs.evaluate` and
:func:`greeks.estimators.linear_payoff`."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import seed

from greeks import estimators, payoffs
from greeks.models.gbm.scores import path_scores, score_setup


def test_one_date_scores_are_the_general_ones_bit_for_bit():
    rng = np.random.default_rng(seed(302))
    times = np.array([0.25, 0.5, 1.0])
    w = np.cumsum(rng.standard_normal((1000, 3)) * np.sqrt(np.diff(times, prepend=0.0)), axis=1)
    w[0, 1], w[1, 1] = -0.0, 0.0
    for column in range(3):
        dates = np.array([column])
        inverse_dt, scale = score_setup(times, dates, 95.0, 0.3)
        w_d, w_v = np.empty(1000), np.empty(1000)
        estimators._scores(w, dates, inverse_dt, scale, 0.3, w_d, w_v)
        expected = np.array([path_scores(p, (w, dates, inverse_dt, scale, 0.3))
                             for p in range(1000)])
        assert np.array_equal(w_d, expected[:, 0]) and np.array_equal(w_v, expected[:, 1])


@pytest.mark.parametrize("omega", [1.0, -1.0])
def test_fused_asian_payoffs_are_the_separate_ones_bit_for_bit(omega):
    rng = np.random.default_rng(seed(303))
    s = 100.0 * np.exp(np.cumsum(0.02 * rng.standard_normal((2000, 52)), axis=1))
    dates = np.arange(3, 52, 4)
    spec = payoffs.PayoffSpec(kind=np.array([payoffs.ASIAN]), omega=np.array([omega]),
                              strike=np.array([101.0]), payout=np.ones(1),
                              barrier=np.zeros(1), barrier_kind=np.zeros(1, dtype=np.int64),
                              discount=np.array([0.97]))
    payoff, linear = np.empty(2000), np.empty(2000)
    estimators._asian_payoffs(s, dates, omega, 101.0, 0.97, payoff, linear)
    expected_payoff, expected_linear = np.empty(2000), np.empty(2000)
    payoffs.evaluate(s, dates, spec, 0, expected_payoff)
    estimators.linear_payoff(s, dates, True, 0.97, expected_linear)
    assert np.array_equal(payoff, expected_payoff)
    assert np.array_equal(linear, expected_linear)
