"""The hedge control variates of Heston american puts (greeks.exercise_hedge).

* The kernel against a plain reference written here (the stopped sums of the Black–Scholes
  delta at the expected average variance, N from scipy) on random inputs.
* Mean zero on simulated paths (the martingale property of the chain): each of the four
  controls within k·SE of 0, on a put with a dividend yield (so that discounting the price
  by r instead of r − q would show).
* What they buy: the same run with and without them, the price, delta and vega SEs cut by
  at least 2 (on the 1-year put of benchmarks/american.py: 3.8, 4.8 and 5.5), the controlled
  estimates against the ADI solution (greeks.models.heston.american) within k·SE plus the
  bias allowances of tests/models/gbm/test_american.py, and the SEs against the spread over
  seeds.
"""

import math

import numpy as np
import pandas as pd
import pytest
from helpers import assert_se_matches_spread, assert_within_allowance, k_for, make_frame, seed
from scipy.stats import norm

import greeks
from greeks import exercise, streams
from greeks.engine import plan_groups
from greeks.exercise_hedge import NORMAL_TABLE, hedge_controls, hedge_weights
from greeks.models.heston import adapter as heston_adapter
from greeks.models.heston.american import heston_american_put
from greeks.payoffs import N_MOVES, PayoffSpec

PUT = dict(id="P", instrument="american", option_type="put", strike=100.0, maturity=0.5,
           spot=100.0, rate=0.05, dividend=0.0, model="heston", v0=0.04, kappa=1.5,
           theta=0.04, xi=0.5, rho=-0.7, fixings=63)
ALLOWANCE = {"price": (0.003, 0.002), "delta": (0.01, 0.002), "vega": (0.02, 0.02)}


def _reference(s, state, vol_s, vol_state, dates, stops, omega, strike, richardson, spot, h,
               k, v0s, theta, kappa, rate, dividend, times, every):
    """The four controls of one path set, written out: C = Σ_{i ≤ e} w_i (M_i − M_{i−1})."""
    maturity = times[-1]

    def stopped(prices, states, p, v0, stop, scale):
        total, previous, w = 0.0, scale * spot, 0.0
        level, v = scale * spot, v0
        for i in range(stop + 1):
            start = 0.0 if i == 0 else times[i - 1]
            if i % every == 0:
                tau = maturity - start
                mix = -math.expm1(-kappa * tau) / (kappa * tau)
                sd = math.sqrt((theta + (v - theta) * mix) * tau)
                d1 = (math.log(level / strike) + (rate - dividend) * tau) / sd + 0.5 * sd
                w = omega * math.exp(-dividend * maturity) * norm.cdf(omega * d1)
            moved = math.exp(-(rate - dividend) * times[i]) * scale * prices[p, dates[i]]
            total += w * (moved - previous)
            previous = moved
            if (i + 1) % every == 0:
                level = scale * prices[p, dates[i]]
                v = theta * states[p, dates[i]]
        return total

    n = dates.size
    out = np.empty((4, s.shape[0]))
    for p in range(s.shape[0]):
        end = [n - 1 if i < 0 else i for i in stops[:, p]]
        base = stopped(s, state, p, v0s[0], end[0], 1.0)
        partner = stopped(s, state, p, v0s[0], end[1], 1.0)
        up, down, far_up, far_down = (stopped(s, state, p, v0s[0], end[m], scale)
                                      for m, scale in ((2, 1 + h), (3, 1 - h), (4, 1 + 2 * h),
                                                       (5, 1 - 2 * h)))
        vols = [stopped(vol_s[m], vol_state[m], p, v0s[1 + m], end[6 + m], 1.0)
                for m in range(4)]
        out[0, p] = 2 * base - partner if richardson else base
        out[1, p] = (2 * (up - down) - 0.25 * (far_up - far_down)) / (3 * h * spot)
        out[2, p] = (2 * (vols[0] - vols[1]) - 0.25 * (vols[2] - vols[3])) / (3 * k)
        out[3, p] = (4 * (up + down - 2 * base) - 0.25 * (far_up + far_down - 2 * base)) / (
            3 * (h * spot) ** 2)
    return out


def test_kernel_matches_the_written_out_sums():
    generator = np.random.default_rng(seed(41))
    paths, columns, n = 40, 12, 10
    dates = np.sort(generator.choice(columns, n, replace=False)).astype(np.int64)
    times = np.cumsum(generator.uniform(0.02, 0.08, n))
    s = 100.0 * np.exp(generator.normal(0.0, 0.1, (paths, columns)))
    state = generator.uniform(0.2, 2.0, (paths, columns))
    vol_s = 100.0 * np.exp(generator.normal(0.0, 0.1, (4, paths, columns)))
    vol_state = generator.uniform(0.2, 2.0, (4, paths, columns))
    stops = generator.integers(-1, n, (N_MOVES, paths)).astype(np.int64)
    strike, rate, dividend, kappa, theta, spot, h, k = 102.0, 0.04, 0.02, 1.3, 0.05, 100.0, \
        0.03, 0.02
    v0s = np.array([0.04, 0.05, 0.03, 0.06, 0.02])
    for omega, richardson, every in ((-1.0, True, 1), (1.0, False, 3), (-1.0, False, 2)):
        spec = PayoffSpec(kind=np.zeros(1, dtype=np.int64), omega=np.array([omega]),
                          strike=np.array([strike]), payout=np.zeros(1), barrier=np.zeros(1),
                          barrier_kind=np.zeros(1, dtype=np.int64), discount=np.ones(1),
                          rate=np.array([rate]), richardson=np.array([richardson]),
                          immediate=np.zeros(1, dtype=np.bool_))
        out = np.empty((4, paths))
        hedge_controls(s, state, vol_s, vol_state, dates, stops, spec, 0, spot, h, k, v0s,
                       theta, hedge_weights(times, strike, rate, dividend, kappa, theta),
                       every, NORMAL_TABLE, out)
        reference = _reference(s, state, vol_s, vol_state, dates, stops, omega, strike,
                               richardson, spot, h, k, v0s, theta, kappa, rate, dividend,
                               times, every)
        # N by table: |error| < 1e-5, times the increments (a few units)
        scale = np.abs(reference).max(axis=1, keepdims=True) + 1.0
        assert np.all(np.abs(out - reference) <= 1e-3 * scale), (omega, richardson, every)


def test_controls_have_mean_zero():
    frame = make_frame([dict(PUT, dividend=0.03)])
    (group,) = plan_groups(frame)
    group = exercise.prepare(group, seed(42))
    model = heston_adapter.ADAPTER
    hedges = []
    for chunk in range(6):
        stream = np.random.SeedSequence(seed(43), spawn_key=(streams.PILOT + chunk,))
        paths = model.exercise_paths(group, stream, 4096)
        assert model.hedges_exercise(group, paths)
        hedges.append(exercise._row_values(group, paths, 0)[2])
    hedges = np.concatenate(hedges, axis=1)
    mean = hedges.mean(axis=1)
    se = hedges.std(axis=1, ddof=1) / math.sqrt(hedges.shape[1])
    assert np.all(np.abs(mean) <= k_for(4) * se), (mean, se)


def test_controls_cut_the_standard_errors(monkeypatch):
    frame = make_frame([PUT])
    hedged = greeks.price_portfolio(frame, paths=16_000, seed=seed(44), threads=1).iloc[0]
    monkeypatch.setattr(heston_adapter.Heston, "hedges_exercise", lambda *a: False)
    plain = greeks.price_portfolio(frame, paths=16_000, seed=seed(44), threads=1).iloc[0]
    for name in ("price", "delta", "vega"):
        assert plain[f"{name}_se"] >= 2.0 * hedged[f"{name}_se"], name
    law = {key: PUT[key] for key in ("strike", "maturity", "rate", "dividend", "v0", "kappa",
                                     "theta", "xi", "rho")}
    adi = heston_american_put(PUT["spot"], **law)
    k = k_for(3)
    assert_within_allowance(hedged, {"price": adi.price, "delta": adi.delta, "vega": adi.vega},
                            ALLOWANCE, k)


@pytest.mark.slow
def test_standard_errors_match_the_spread_over_seeds():
    """30 seeds' spread against the reported SEs (a sweep: about 40 s of CPU)."""
    frame = make_frame([PUT])
    runs = [greeks.price_portfolio(frame, paths=3_000, seed=seed(60 + i), threads=1).iloc[0]
            for i in range(30)]
    names = ["price", "delta", "vega"]
    estimates = pd.DataFrame(runs)[names].to_numpy()
    ses = pd.DataFrame(runs)[[f"{name}_se" for name in names]].to_numpy()
    assert_se_matches_spread(estimates, ses)
