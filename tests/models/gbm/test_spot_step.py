"""The spot step of GBM exercise rows' delta and gamma (greeks.models.gbm.spot_step).

Richardson's extrapolation over S0 (1 ± h), S0 (1 ± 2h) assumes the fixed policy's value is
smooth on the scale 2h.  At h = 3 % it is not on a month's ATM put at σ = 10 % (σ√T = 2.9 %)
nor on a call near its first date's exercise boundary (S0/K = 1.05, σ = 10 %, q − r = 4 %,
daily dates): their deltas were 71 and 29 SE off the tree at 50,000 paths, their gammas
10 and 5 SE.  Reference independent of the engine: the Cox–Ross–Rubinstein tree of
tests/models/gbm/test_american.py on the rows' own dates (100 steps between dates).
Tolerance: k·se plus 2e-4 (delta) and 1 % (gamma), the tree's error and the step's residual.
"""

import math

import numpy as np
import pytest
from helpers import k_for, make_frame, seed

import greeks
from greeks.exercise_step import STEPS, TOLERANCE
from greeks.models.gbm.american import bermudan_values
from greeks.models.gbm.spot_step import spot_step
from tests.models.gbm.test_american import tree

SHORT_PUT = dict(id="P1M", instrument="bermudan", option_type="put", spot=100.0, strike=100.0,
                 maturity=21 / 252, rate=0.03, dividend=0.0, vol=0.1, fixings=21)
NEAR_CALL = dict(id="C6M", instrument="bermudan", option_type="call", spot=105.0, strike=100.0,
                 maturity=0.5, rate=0.02, dividend=0.06, vol=0.1, fixings=126)
LS_PUT = dict(id="LS40", instrument="bermudan", option_type="put", spot=40.0, strike=40.0,
              maturity=1.0, rate=0.06, dividend=0.0, vol=0.2, fixings=50)


def _dates(row):
    return row["maturity"] * np.arange(1, row["fixings"] + 1) / row["fixings"]


def _step(row):
    values = bermudan_values(row["spot"], row["strike"], row["maturity"], row["rate"],
                             row["dividend"], row["vol"], row["option_type"] == "call",
                             _dates(row))
    return spot_step(values, row["spot"])


def test_the_step_is_the_largest_within_the_tolerance_on_the_value_function():
    """3 % where the value is smooth on its scale (the Longstaff–Schwartz ATM put), smaller
    on the two rows, and there the extrapolated difference of the tree's value is within
    the tolerance where the larger steps' is not by far."""
    assert _step(LS_PUT) == STEPS[0]
    for row in (SHORT_PUT, NEAR_CALL):
        h = _step(row)
        assert h < 0.015

        def price(move, row=row):
            return tree(row["spot"] * (1.0 + move), row["strike"], row["maturity"], row["rate"],
                        row["dividend"], row["vol"], row["option_type"] == "call",
                        steps=100 * row["fixings"], dates=_dates(row))[0]

        def extrapolated(step):
            near, far = price(step) - price(-step), price(2 * step) - price(-2 * step)
            return (2.0 * near - 0.25 * far) / (3.0 * step * row["spot"])

        exact = tree(row["spot"], row["strike"], row["maturity"], row["rate"], row["dividend"],
                     row["vol"], row["option_type"] == "call", steps=100 * row["fixings"],
                     dates=_dates(row))[1]
        assert abs(extrapolated(0.03) - exact) > 20 * TOLERANCE
        assert abs(extrapolated(h) - exact) <= 2 * TOLERANCE + 1e-4  # the tree's own error


@pytest.mark.parametrize("row", [SHORT_PUT, NEAR_CALL], ids=lambda r: r["id"])
def test_delta_and_gamma_against_the_tree(row):
    results = greeks.price_portfolio(make_frame([row]), paths=50_000, seed=seed(31),
                                     greeks="gamma").iloc[0]
    _, delta, gamma = tree(row["spot"], row["strike"], row["maturity"], row["rate"],
                           row["dividend"], row["vol"], row["option_type"] == "call",
                           steps=100 * row["fixings"], dates=_dates(row))
    k = k_for(4)
    assert abs(results["delta"] - delta) <= k * results["delta_se"] + 2e-4, (
        results["delta"], results["delta_se"], delta)
    assert abs(results["gamma"] - gamma) <= k * results["gamma_se"] + 0.01 * gamma, (
        results["gamma"], results["gamma_se"], gamma)
    assert math.isfinite(results["price"])
