"""The GBM likelihood-ratio kernel's faster passes give the same bits as the general ones:
the one-date score weights against :func:`greeks.models.gbm.scores.path_scores`, the
asian's fused payoffs against :func:`greeks.payoffs.evaluate` and
:func:`greeks.estimators.linear_payoff`, and the weights and control sums that rows of the
same dates share against each row's own."""

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


def _naive_first_alike(dates, tag, level):
    """The first row with the same dates, tag and level, by comparing every pair."""
    return np.array([next(k for k in range(j + 1) if dates[k] == dates[j] and tag[k] == tag[j]
                          and level[k] == level[j]) for j in range(len(dates))])


def test_first_alike_finds_the_first_row_of_the_same_dates_tag_and_level():
    rng = np.random.default_rng(seed(304))
    for _ in range(50):
        rows = int(rng.integers(1, 40))
        choices = [(3,), (3, 7), (7,), (1, 3, 7), (2,), ()]  # () never drawn: rows have dates
        dates = [choices[int(i)] for i in rng.integers(0, 5, rows)]
        tag = rng.integers(0, 2, rows)
        level = rng.choice([0.9, 0.95], rows)
        start = np.concatenate(([0], np.cumsum([len(d) for d in dates]))).astype(np.int64)
        index = np.array([i for d in dates for i in d], dtype=np.int64)
        found = estimators.first_alike(start, index, tag, level.reshape(rows, 1))
        assert np.array_equal(found, _naive_first_alike(dates, tag, level))


def _antithetic_paths(rng, times, n_paths, sigma, spot, carry):
    """(W, S) of GBM on ``times`` in antithetic pairs (the second half mirrors the first)."""
    steps = rng.standard_normal((n_paths // 2, times.size)) * np.sqrt(np.diff(times,
                                                                               prepend=0.0))
    w = np.cumsum(np.concatenate([steps, -steps]), axis=1)
    return w, spot * np.exp((carry - 0.5 * sigma ** 2) * times + sigma * w)


def _assert_each_row_as_first(paths, dates, rows, forward, coef, collect):
    """Each row's moments and pilot sums in the group in its order equal those it gets as
    the group's first row (its weights, hits and control sums computed by itself);
    ``paths`` = (W, S, times, spot, σ), ``rows`` = (kinds, ω, strikes, discounts, barriers,
    barrier kinds)."""
    w, s, times, spot, sigma = paths
    n = len(dates)

    def run(order):
        start = np.concatenate(([0], np.cumsum([dates[j].size for j in order]))).astype(np.int64)
        index = np.concatenate([dates[j] for j in order]).astype(np.int64)
        out = np.zeros((n + 1, 3, 2))
        sums = np.zeros((n, estimators.N_SUMS))
        estimators.likelihood_ratio_gbm(
            s, w, times, spot, sigma, start, index,
            _spec(*([values[j] for j in order] for values in rows)), forward[order],
            np.ones((n, 3)), np.zeros(n, dtype=np.int64), 1, coef[order], True, collect, out,
            sums)
        return out[:-1], sums

    out, sums = run(list(range(n)))
    for j in range(n):
        alone_out, alone_sums = run([j] + [k for k in range(n) if k != j])
        assert np.array_equal(out[j], alone_out[0]) and np.array_equal(sums[j], alone_sums[0])


def _spec(kinds, omega, strikes, discount, barrier, barrier_kind):
    n = len(kinds)
    return payoffs.PayoffSpec(kind=np.array(kinds), omega=np.array(omega),
                              strike=np.array(strikes), payout=np.full(n, 5.0),
                              barrier=np.array(barrier),
                              barrier_kind=np.array(barrier_kind, dtype=np.int64),
                              discount=np.array(discount))


@pytest.mark.parametrize("collect", [True, False])
def test_rows_of_the_same_dates_get_the_bits_of_their_own_weights_and_sums(collect):
    """Rows 0, 2, 3, 4 and 5 share their dates; rows 0 and 3 also their controls and the
    paths that touch their barrier, rows 4 and 5 (another barrier level, a down barrier on
    the same level) neither, row 2 is an asian's.  Each row's moments and pilot sums are
    those it gets as the group's first row, where it computes its weights, hits and control
    sums itself."""
    rng = np.random.default_rng(seed(305))
    times, sigma, spot = np.linspace(0.1, 1.0, 10), 0.25, 100.0
    w, s = _antithetic_paths(rng, times, 4000, sigma, spot, 0.03)
    every = np.array([1, 4, 9])
    dates = [every, np.array([9]), every, every, every, every]
    kinds = [payoffs.BARRIER, payoffs.EUROPEAN, payoffs.ASIAN] + [payoffs.BARRIER] * 3
    omega, strikes = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0], [100.0, 95.0, 102.0, 110.0, 98.0, 97.0]
    barrier = [115.0, 0.0, 0.0, 115.0, 120.0, 115.0]
    side = [payoffs.UP_AND_IN, 0, 0, payoffs.UP_AND_OUT, payoffs.UP_AND_IN, payoffs.DOWN_AND_IN]
    forward = np.array([spot, spot, spot * 0.99, spot, spot, spot])
    _assert_each_row_as_first((w, s, times, spot, sigma), dates,
                              (kinds, omega, strikes, [0.97] * 6, barrier, side), forward,
                              rng.normal(size=(6, 3, estimators.N_CONTROLS)), collect)


@pytest.mark.parametrize("collect", [True, False])
def test_rows_of_more_sets_of_dates_than_slots_get_their_own_bits(collect):
    """Twelve sets of dates (more than ``SLOTS``), one prefix of another, taken by 30 rows in
    turn: the weights and hits of a set are evicted and computed again; each row's moments
    and pilot sums are still those it gets as the group's first row."""
    assert estimators.SLOTS < 12
    rng = np.random.default_rng(seed(306))
    times, sigma, spot = np.linspace(0.05, 1.2, 24), 0.3, 100.0
    w, s = _antithetic_paths(rng, times, 2000, sigma, spot, 0.02)
    sets = [np.arange(k, 24, 3 + k % 4) for k in range(11)] + [np.arange(0, 24, 3)[:4]]
    n = 30
    dates = [sets[(7 * j) % 12] for j in range(n)]
    kinds = [(payoffs.EUROPEAN, payoffs.ASIAN, payoffs.BARRIER, payoffs.DIGITAL)[j % 4]
             for j in range(n)]
    omega = [1.0 if j % 3 else -1.0 for j in range(n)]
    strikes = list(rng.uniform(85.0, 115.0, n))
    barrier = [(120.0, 80.0)[j % 2] for j in range(n)]
    side = [(payoffs.UP_AND_IN, payoffs.DOWN_AND_OUT)[j % 2] for j in range(n)]
    discount = [float(np.exp(-0.02 * times[d[-1]])) for d in dates]
    _assert_each_row_as_first((w, s, times, spot, sigma), dates,
                              (kinds, omega, strikes, discount, barrier, side),
                              np.array([spot * d for d in discount]),
                              rng.normal(size=(n, 3, estimators.N_CONTROLS)), collect)
