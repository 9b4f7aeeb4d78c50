"""GBM knock-ins by in–out parity, against a reference written here.

The reference of a knock-in is the european's Black–Scholes value (scipy's ``ndtr``) less
the discretely monitored knock-out by the backward quadrature of
``tests/market/test_survival_dated.py`` (``_step``, ``_weights``: exact Gaussian integrals
of the piecewise linear value between nodes, the barrier and the strike on nodes) on the
flat chain's steps μ_i = (r − q − σ²/2)Δ_i, s_i = σ sqrt(Δ_i), on grids of s/20 and s/40,
extrapolated (Richardson), their gap its error.  The Greeks are central differences of that
reference: delta and gamma in S0, vega and volga in σ, vanna in both, rho in r, theta the
value's change as every date comes nearer (the dates fixed in calendar time).
"""

import math

import numpy as np
import pytest
from helpers import (
    assert_se_matches_spread,
    assert_within,
    combined_se,
    k_for,
    make_frame,
    seed,
    seeds,
)
from scipy.special import ndtr

from greeks import engine
from greeks.engine.methods import PARITY_LABEL
from greeks.sensitivities import NAMES
from tests.market.test_survival_dated import _step, _weights

KNOCK_INS = [
    dict(id="ui-call", instrument="barrier", strike=100.0, barrier=120.0,
         barrier_type="up-and-in", fixings=52, vol=0.25),
    dict(id="di-put", instrument="barrier", option_type="put", strike=102.0, barrier=88.0,
         barrier_type="down-and-in", fixings=12, maturity=0.75, dividend=0.02, vol=0.3),
    dict(id="ui-call-rare", instrument="barrier", strike=100.0, barrier=150.0,
         barrier_type="up-and-in", fixings=26, maturity=0.5),
]
GREEKS = ("price", "delta", "vega") + NAMES


def _vanilla(row, spot, vol, rate, shift):
    """The european's Black–Scholes value, its expiry ``shift`` nearer."""
    t = row["maturity"] - shift
    omega = 1.0 if row["option_type"] == "call" else -1.0
    d1 = (math.log(spot / row["strike"]) + (rate - row["dividend"] + 0.5 * vol * vol) * t) / (
        vol * math.sqrt(t))
    d2 = d1 - vol * math.sqrt(t)
    return omega * (spot * math.exp(-row["dividend"] * t) * ndtr(omega * d1)
                    - row["strike"] * math.exp(-rate * t) * ndtr(omega * d2))


def _knock_out(row, spot, vol, rate, shift, per_sd):
    """The knock-out twin's value by backward quadrature (module docstring) on the row's
    dates T·k/n, each ``shift`` nearer; a down barrier is an up barrier in −x."""
    n = int(row["fixings"])
    times = row["maturity"] * np.arange(1, n + 1) / n - shift
    dt = np.diff(times, prepend=0.0)
    sign = 1.0 if row["barrier_type"].startswith("up") else -1.0
    mu = sign * (rate - row["dividend"] - 0.5 * vol * vol) * dt
    s = vol * np.sqrt(dt)
    barrier, strike = sign * math.log(row["barrier"]), sign * math.log(row["strike"])
    span = abs(barrier - strike)
    h = span / math.ceil(span * per_sd / s.min())
    reach = span + 10.0 * math.sqrt((s * s).sum()) + np.abs(mu).sum() + 1.0
    nodes = barrier - h * np.arange(math.ceil(reach / h), -1, -1)
    omega = 1.0 if row["option_type"] == "call" else -1.0
    v = np.maximum(omega * (np.exp(sign * nodes) - row["strike"]), 0.0)
    for i in range(n - 1, 0, -1):
        v = _step(v, h, mu[i], s[i])
    return math.exp(-rate * times[-1]) * _weights(sign * math.log(spot), nodes, mu[0], s[0]) @ v


def _knock_in(row, per_sd, d_spot=0.0, d_vol=0.0, d_rate=0.0, shift=0.0):
    spot, vol, rate = row["spot"] + d_spot, row["vol"] + d_vol, row["rate"] + d_rate
    return (_vanilla(row, spot, vol, rate, shift)
            - _knock_out(row, spot, vol, rate, shift, per_sd))


def reference(row):
    """(price, delta, vega, gamma, rho, theta, vanna, volga) of a knock-in and their error
    bound (module docstring)."""
    hs, hv, hr, ht = 1e-2 * row["spot"], 2e-3, 1e-3, 1e-3
    values = []
    for per_sd in (20, 40):
        def v(**bump):
            return _knock_in(row, per_sd, **bump)
        base = v()
        up, down = v(d_spot=hs), v(d_spot=-hs)
        vol_up, vol_down = v(d_vol=hv), v(d_vol=-hv)
        cross = (v(d_spot=hs, d_vol=hv) - v(d_spot=hs, d_vol=-hv)
                 - v(d_spot=-hs, d_vol=hv) + v(d_spot=-hs, d_vol=-hv)) / (4 * hs * hv)
        values.append(np.array([
            base, (up - down) / (2 * hs), (vol_up - vol_down) / (2 * hv),
            (up - 2 * base + down) / hs ** 2,
            (v(d_rate=hr) - v(d_rate=-hr)) / (2 * hr),
            (v(shift=ht) - v(shift=-ht)) / (2 * ht),
            cross, (vol_up - 2 * base + vol_down) / hv ** 2]))
    coarse, fine = values
    return fine + (fine - coarse) / 3.0, np.abs(fine - coarse) / 3.0


@pytest.fixture(scope="module")
def references():
    frame = make_frame(KNOCK_INS)
    return frame, [reference(row) for row in frame.to_dict("records")]


def test_knock_ins_by_parity_match_the_reference(references):
    """An up-and-in call monitored weekly, a down-and-in put monitored monthly (with a
    yield) and a rarely hit up-and-in call: price, delta, vega and every further Greek
    within k·SE of the reference, the SE the estimate's combined with the reference's."""
    frame, refs = references
    estimates = engine.simulate(frame, 100_000, seed=seed(301), method="parity", extra=NAMES)
    assert engine.row_methods(frame, "parity") == [PARITY_LABEL] * 3
    expected = np.array([value for value, _ in refs])
    error = np.array([bound for _, bound in refs])
    labels = [[f"{row} {greek}" for greek in GREEKS] for row in frame["id"]]
    assert_within(estimates.mean, expected, combined_se(estimates.se, error),
                  k_for(expected.size), label=labels)


def test_auto_takes_parity_and_its_totals_add_up(references):
    """auto (per Greek) takes the vegas of the two knock-ins often hit from parity (SEs
    15× smaller), and their further Greeks, each Greek it takes from parity the same
    numbers as ``method="parity"`` on the same seed; each row is a simulation of its own,
    so the total is the quantity-weighted sum of the rows and its variance that of theirs;
    the rows match the reference."""
    frame, refs = references
    frame = frame.iloc[:2].assign(quantity=[3.0, -2.0])
    auto = engine.simulate(frame, 20_000, seed=seed(302), extra=NAMES)
    assert (auto.choice[:, 2] == PARITY_LABEL).all()
    parity = engine.simulate(frame, 20_000, seed=seed(302), method="parity", extra=NAMES)
    taken = np.column_stack([auto.choice == PARITY_LABEL,
                             np.ones((2, len(NAMES)), dtype=bool)])
    assert np.array_equal(auto.mean[taken], parity.mean[taken])
    assert np.array_equal(auto.se[taken], parity.se[taken])
    quantity = frame["quantity"].to_numpy()
    assert np.allclose(auto.total_mean, quantity @ auto.mean, rtol=1e-12, atol=1e-12)
    assert np.allclose(auto.total_se, np.sqrt(quantity ** 2 @ auto.se ** 2), rtol=1e-12)
    expected = np.array([value for value, _ in refs[:2]])
    error = np.array([bound for _, bound in refs[:2]])
    assert_within(auto.mean, expected, combined_se(auto.se, error), k_for(expected.size))


def test_the_standard_error_of_a_rarely_hit_knock_in_matches_the_spread():
    """At 2,000 paths a knock-in hit on 0.4% of the paths (some 8 of them): the SE of
    parity against the spread of its estimates over 300 seeds (price, delta, vega,
    gamma)."""
    frame = make_frame(KNOCK_INS[2:])
    runs = [engine.simulate(frame, 2_000, seed=s, method="parity", extra=("gamma",))
            for s in seeds(300, 310)]
    assert_se_matches_spread(np.array([run.mean[0] for run in runs]),
                             np.array([run.se[0] for run in runs]))


def test_knock_ins_of_one_barrier_share_their_twins_paths():
    """A call and a put knocked in at one barrier on one set of dates are one simulation
    of their twins; each row's price, Greeks and further Greeks match the reference, and
    the total is the quantity-weighted sum of the rows."""
    rows = [dict(KNOCK_INS[0], quantity=2.0),
            dict(KNOCK_INS[0], id="ui-put", option_type="put", strike=110.0, quantity=-1.0)]
    frame = make_frame(rows)
    groups = engine.plan_groups(frame, method="parity", plain=False, paths=100_000)
    assert [g.n_rows for g in groups] == [2]
    estimates = engine.simulate(frame, 100_000, seed=seed(305), method="parity", extra=NAMES)
    refs = [reference(row) for row in frame.to_dict("records")]
    expected, error = (np.array([r[i] for r in refs]) for i in (0, 1))
    labels = [[f"{row} {greek}" for greek in GREEKS] for row in frame["id"]]
    assert_within(estimates.mean, expected, combined_se(estimates.se, error),
                  k_for(expected.size), label=labels)
    quantity = frame["quantity"].to_numpy()
    assert np.allclose(estimates.total_mean, quantity @ estimates.mean, rtol=1e-12, atol=1e-12)
