"""The hedge control variates of american and bermudan GBM rows without a market
(greeks.exercise_hedge through the GBM adapter's ``exercise_hedges``): mean zero, the
standard errors they cut, accuracy against the finite-difference pricer at those smaller
standard errors, and standard errors that match the spread over seeds."""

import math

import numpy as np
from helpers import (
    assert_se_matches_spread,
    assert_within_allowance,
    k_for,
    make_frame,
    seed,
    seeds,
)

import greeks
from greeks import exercise, sensitivities, streams
from greeks.engine import plan_groups
from greeks.models.gbm import adapter as gbm_adapter
from greeks.models.gbm.american import american_fd
from tests.models.gbm.test_american import ALLOWANCE

PUT = dict(id="P", instrument="american", option_type="put", strike=100.0, spot=100.0,
           maturity=1.0, rate=0.05, dividend=0.02, vol=0.25, model="gbm")
CALL = dict(id="C", instrument="bermudan", option_type="call", strike=100.0, spot=105.0,
            maturity=0.5, rate=0.03, dividend=0.07, vol=0.3, fixings=26, model="gbm")
CARRY = np.array([sensitivities.THETA, sensitivities.RHO])


def test_controls_have_mean_zero():
    """The stopped hedge (and theta's combination of the hedges) over 24,576 paths of
    independent streams: each mean within k SE of 0."""
    for row in (PUT, CALL):
        (group,) = plan_groups(make_frame([row]))
        group = exercise.prepare(group.with_extra(CARRY), seed(81))
        model = gbm_adapter.ADAPTER
        hedges = []
        for chunk in range(6):
            stream = np.random.SeedSequence(seed(82), spawn_key=(streams.PILOT + chunk,))
            paths = model.exercise_paths(group, stream, 4096)
            assert model.hedges_exercise(group, paths)
            hedges.append(exercise._row_values(group, paths, 0)[2])
        hedges = np.concatenate(hedges, axis=1)
        assert hedges.shape[0] == 5
        mean = hedges.mean(axis=1)
        se = hedges.std(axis=1, ddof=1) / math.sqrt(hedges.shape[1])
        assert np.all(np.abs(mean) <= k_for(10) * se), (row["id"], mean, se)


def test_controls_cut_the_standard_errors_and_the_estimates_hold(monkeypatch):
    """With the hedge every SE but rho's is at least 3 times smaller (measured 5–16 times on
    these rows), and the estimates agree with the finite-difference pricer within the
    method's allowance (tests/models/gbm/test_american.py) plus k of those SEs."""
    frame = make_frame([PUT, CALL])
    names = ("price", "delta", "vega", "gamma", "theta_per_year")
    hedged = greeks.price_portfolio(frame, paths=20_000, seed=seed(83), threads=1,
                                    greeks="gamma,theta,rho")
    monkeypatch.setattr(gbm_adapter.GBM, "hedges_exercise", lambda *a: False)
    plain = greeks.price_portfolio(frame, paths=20_000, seed=seed(83), threads=1,
                                   greeks="gamma,theta,rho")
    for name in names:
        assert np.all(plain[f"{name}_se"] >= 3.0 * hedged[f"{name}_se"]), name
    k = k_for(2 * 4)
    for (_, out), row in zip(hedged.iterrows(), (PUT, CALL)):
        dates = (None if row["instrument"] == "american"
                 else np.arange(1, row["fixings"] + 1) * row["maturity"] / row["fixings"])
        reference = american_fd(row["spot"], row["strike"], row["maturity"], row["rate"],
                                row["dividend"], row["vol"], row["option_type"] == "call",
                                dates)
        assert_within_allowance(out, {name: getattr(reference, name)
                                      for name in ("price", "delta", "vega", "gamma")},
                                ALLOWANCE, k)


def test_standard_errors_match_the_spread_over_seeds():
    frame = make_frame([PUT, CALL])
    runs = [greeks.price_portfolio(frame, paths=2_000, seed=s, threads=1,
                                   greeks="gamma,theta,rho") for s in seeds(10, start=84)]
    names = ["price", "delta", "vega", "gamma", "theta_per_year", "rho_rate"]
    estimates = np.stack([run[names].to_numpy() for run in runs])
    ses = np.stack([run[[f"{name}_se" for name in names]].to_numpy() for run in runs])
    assert_se_matches_spread(estimates.reshape(len(runs), -1), ses.reshape(len(runs), -1))
