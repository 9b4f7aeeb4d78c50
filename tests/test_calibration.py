"""Long statistical sweeps (``pytest -m slow``; CI runs them after the default suite).

Over hundreds of seeds: the reported standard errors of every estimator family and Heston
scheme against the spread of the estimates (chi-square bounds over that many seeds, tight
enough to see a 10 % error in an SE), and the z-scores of the estimates against closed
forms — their mean is zero (no bias, to a fraction of one run's SE) and their variance one
(chi-square bounds).
"""

import math

import numpy as np
import pytest
from helpers import (
    assert_se_matches_spread,
    assert_within,
    closed_form,
    k_for,
    make_frame,
    seeds,
    spread_bounds,
)

from greeks import engine

pytestmark = pytest.mark.slow

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7,
              underlying="H")
GBM_ROWS = [dict(id="call"),
            dict(id="digital", instrument="digital", option_type="put", strike=95.0),
            dict(id="asian", instrument="asian", fixings=12, quantity=-2.0),
            dict(id="uo", instrument="barrier", barrier=125.0, barrier_type="up-and-out",
                 fixings=12),
            dict(id="di", instrument="barrier", option_type="put", barrier=90.0,
                 barrier_type="down-and-in", fixings=12)]
HESTON_ROWS = [dict(id="h-call", **HESTON),
               dict(id="h-digital", instrument="digital", strike=105.0, **HESTON),
               dict(id="h-asian", instrument="asian", fixings=12, **HESTON),
               dict(id="h-uo", instrument="barrier", barrier=125.0, barrier_type="up-and-out",
                    fixings=12, **HESTON)]
SEEDS = 300


@pytest.mark.parametrize("options", [
    dict(method="mixed"), dict(method="lr"), dict(method="pathwise"), dict(method="fd"),
    dict(plain=True), dict(method="rqmc"), dict(method="auto", extra=("gamma", "rho", "theta",
                                                                       "vanna", "volga")),
    dict(method="mixed", scheme="exact"), dict(method="mixed", scheme="euler"),
    dict(method="mixed", first_step=0.25),
], ids=["mixed", "lr", "pathwise", "fd", "plain", "rqmc", "auto+extra", "exact", "euler",
        "first-step"])
def test_standard_errors_match_the_spread_over_many_seeds(options):
    """Rows, totals and further Greeks over 300 seeds: an SE 10 % off moves the variance
    ratio by 21 %, well outside the chi-square bounds (about ±17 % here)."""
    frame = make_frame(GBM_ROWS + HESTON_ROWS)
    paths = 4_096 if options.get("method") == "rqmc" else 2_000
    runs = [engine.simulate(frame, paths, seed=s, threads=1, **options)
            for s in seeds(SEEDS, start=20_000)]
    mean = np.stack([np.concatenate([r.mean.ravel(), r.total_mean]) for r in runs])
    se = np.stack([np.concatenate([r.se.ravel(), r.total_se]) for r in runs])
    assert_se_matches_spread(mean, se, label=str(options))


def z_score_sweep(frame, paths, count, start, **options):
    """(seeds × rows × 3) z-scores of price, delta and vega against the closed forms."""
    exact = np.array([closed_form(row)[:3] for _, row in frame.iterrows()])
    z = []
    for s in seeds(count, start=start):
        estimates = engine.simulate(frame, paths, seed=s, **options)
        z.append((estimates.mean[:, :3] - exact) / estimates.se[:, :3])
    return np.array(z)


def assert_standard_normal(z, label):
    """z-scores over seeds (axis 0): mean 0 within k/sqrt(n), variance within chi-square
    bounds (the rate shared over every column and both checks)."""
    n = z.shape[0]
    columns = z[0].size
    assert_within(z.mean(axis=0), 0.0, 1 / math.sqrt(n), k=k_for(2 * columns), label=label)
    low, high = spread_bounds(n, 2 * columns)
    variance = z.var(axis=0, ddof=1)
    assert np.all((low <= variance) & (variance <= high)), (label, variance, (low, high))


def test_gbm_z_scores_are_standard_normal():
    """Black–Scholes rows of test_engine over 200 seeds: no bias down to 0.3 of one run's
    SE, and SEs that are the estimates' spread."""
    from tests.engine.test_engine import closed_form_rows

    frame = make_frame(closed_form_rows())
    assert_standard_normal(z_score_sweep(frame, 20_000, 200, 30_000), "gbm")


@pytest.mark.parametrize("scheme", ["qe", "exact"])
def test_heston_z_scores_are_standard_normal(scheme):
    """Semi-analytic Heston rows of test_heston on the default grid over 200 seeds at 20,000
    paths: the discretisation bias stays below 0.3 of one run's SE."""
    from tests.models.heston.test_chains import closed_form_rows, heston_rows

    frame = make_frame(heston_rows(closed_form_rows()))
    assert_standard_normal(z_score_sweep(frame, 20_000, 200, 40_000, scheme=scheme), scheme)
