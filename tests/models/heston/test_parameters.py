"""Heston model-parameter sensitivities by the exact chain's scores: the digamma and the
per-step derivatives they use, exactness against closed-form moments of the same chain,
agreement with the semi-analytic price, calibrated SEs and the per-row estimator choice."""

import math

import numpy as np
import pytest
import scipy.special
from helpers import (
    assert_se_matches_spread,
    assert_within,
    k_for,
    make_frame,
    seed,
    seeds,
)

import greeks
from greeks.maths import digamma
from greeks.models.heston.analytic import heston_greeks
from greeks.models.heston.constants import Constants, parameter_derivatives
from greeks.models.heston.paths import simulate as simulate_heston
from greeks.models.heston.schema import EXACT
from greeks.models.heston.sensitivities import RHO_BUMP, parameter_bump

PARAMS = dict(kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
ROW = dict(model="heston", vol=None, v0=0.04, **PARAMS)
NAMES = ("dkappa", "dtheta", "dxi", "drho")


@pytest.mark.parametrize("x", [1e-3, 0.04, 0.48, 1.0, 5.9, 6.0, 17.3, 1e4])
def test_digamma(x):
    assert digamma(x) == pytest.approx(scipy.special.digamma(x), rel=1e-13, abs=1e-13)


def test_parameter_derivatives_match_central_differences():
    times = np.array([0.1, 0.35, 1.0])
    derivatives, d_shape = parameter_derivatives(times, *PARAMS.values(), 0.05)

    def rows(**changes):
        c = Constants(times, *{**PARAMS, **changes}.values(), 0.05)
        return np.array([c.exact_k0, c.exact_k1, c.k2, c.k3, c.k4, c.k5, np.log(c.e / c.chi_scale),
                         np.log(c.chi_scale)])

    for i, name in enumerate(PARAMS):
        h = 1e-6
        central = (rows(**{name: PARAMS[name] + h}) - rows(**{name: PARAMS[name] - h})) / (2 * h)
        np.testing.assert_allclose(derivatives[:, i], central, rtol=1e-6, atol=1e-8)
    assert d_shape == pytest.approx([4 * 0.04 / 0.25, 4 * 1.5 / 0.25, -8 * 1.5 * 0.04 / 0.125,
                                     0.0])


def chain_log_price_mean(times, v0, kappa, theta, xi, rho, rate):
    """E[x_T − x_0] of the exact chain: Σ carry + k0 + k1 E[v_{k−1}] + k2 E[v_k], with
    E[v_t] = θ + (v0 − θ) e^{−κt} (the CIR mean, which exact transitions keep)."""
    c = Constants(times, kappa, theta, xi, rho, rate)
    mean = theta + (v0 - theta) * np.exp(-kappa * np.concatenate(([0.0], times)))
    return np.sum(c.carry_dt + c.exact_k0 + c.exact_k1 * mean[:-1] + c.k2 * mean[1:])


@pytest.mark.parametrize("xi,v0", [(0.5, 0.04), (1.0, 0.01), (0.3, 0.0)])
def test_scores_differentiate_the_chain_exactly(xi, v0):
    """On a coarse grid (4 steps), E[f·s_π] for f = x_T (whose chain mean is known in
    closed form) and f = S_T (a martingale: derivative 0), and E[s_π] = 0, within k SE."""
    params = dict(PARAMS, xi=xi)
    times = np.array([0.1, 0.4, 0.7, 1.0])
    c = Constants(times, *params.values(), 0.05)
    n = 400_000
    rng = np.random.default_rng(seed(7))
    x, _, _, _, _, scores, _ = simulate_heston(rng, EXACT, n, 0.0, v0,
                                               *params.values(), c, np.array([-1, -1, -1, 0]),
                                               1, False, np.array([3]))
    x, scores = x[:, 0], scores[:, 0]
    for i, name in enumerate(params):
        s = scores[:, i]
        h = 1e-20 * max(abs(params[name]), 1.0)
        moved = {**params, name: complex(params[name], h)}
        exact = chain_log_price_mean(times, v0, *moved.values(), 0.05).imag / h
        for f, reference in [(x, exact), (np.exp(x), 0.0), (np.ones(n), 0.0)]:
            b = np.mean(f * s * s) / np.mean(s * s)
            values = (f - b) * s
            assert_within(values.mean(), reference, values.std() / math.sqrt(n), k=k_for(12),
                          label=name)


def semi_analytic_derivatives(option_type="call"):
    base = dict(spot=100.0, strike=100.0, maturity=1.0, rate=0.05, v0=0.04, **PARAMS)

    def central(name, h):
        up = heston_greeks(option_type, **{**base, name: base[name] + h}).price
        down = heston_greeks(option_type, **{**base, name: base[name] - h}).price
        return (up - down) / (2 * h)
    return {"dkappa": central("kappa", 1e-4), "dtheta": central("theta", 1e-5),
            "dxi": central("xi", 1e-4), "drho": central("rho", 1e-4)}


@pytest.mark.parametrize("first_step,paths", [(None, 120_000), (0.5, 60_000)])
def test_likelihood_ratio_matches_the_semi_analytic_derivatives(first_step, paths):
    """Exact scheme, 12 steps a year (the exact chain has no discretisation bias in the
    variance, and the ξ and ρ scores add a term per step: at 52 steps their SEs were 4.4× and
    2× these, dκ's and dθ's 1.6×, for six times the time); --method lr; also with a
    half-year first step whose integrated variance is sampled.  The scores are noisy: k·SE
    is about 10 % of the put's and 20 % of the call's dtheta, 55-73 % of the put's dkappa
    and 90-113 % of the call's, so these catch a wrong sign or factor of 2 in dtheta and the
    put's dkappa; in dxi and drho only gross errors."""
    frame = make_frame([dict(id="c", **ROW), dict(id="p", option_type="put", **ROW)])
    results = greeks.price_portfolio(frame, paths=paths, seed=seed(3), scheme="exact",
                                     method="lr", greeks=list(NAMES), first_step=first_step,
                                     steps_per_year=12)
    for j, option_type in enumerate(("call", "put")):
        exact = semi_analytic_derivatives(option_type)
        for name in NAMES:
            assert results[f"method_{name}"].iat[j] == "lr+baseline"
        assert_within(results[list(NAMES)].iloc[j].to_numpy(dtype=float),
                      [exact[name] for name in NAMES],
                      results[[f"{name}_se" for name in NAMES]].iloc[j].to_numpy(dtype=float),
                      k=k_for(2 * len(NAMES)), label=[f"{option_type} {n}" for n in NAMES])


@pytest.mark.slow
def test_likelihood_ratio_standard_errors_match_the_spread():
    frame = make_frame([dict(id="c", **ROW), dict(id="d", instrument="digital", **ROW)])
    runs = [greeks.price_portfolio(frame, paths=4_000, seed=s, scheme="exact", method="lr",
                                   steps_per_year=12, greeks=list(NAMES))
            for s in seeds(30)]
    values = np.array([r[list(NAMES)].to_numpy() for r in runs])
    ses = np.array([r[[f"{name}_se" for name in NAMES]].to_numpy() for r in runs])
    assert_se_matches_spread(values, ses)


def test_each_row_and_parameter_names_its_estimator():
    """auto: per row and parameter the quieter of the exact chain's scores and the central
    differences per unit of cost.  Every exact variance draw reads fixed draws of its own,
    so bumped chains stay on common random numbers and on this call the differences win
    for every parameter, by far (their SEs below the scores' of ``--method lr``).  Other
    schemes: central differences."""
    frame = make_frame([dict(id="c", **ROW)])
    exact = greeks.price_portfolio(frame, paths=4_000, seed=seed(8), scheme="exact",
                                   greeks=list(NAMES))
    assert (exact[[f"method_{name}" for name in NAMES]] == "fd").all(axis=None)
    lr = greeks.price_portfolio(frame, paths=4_000, seed=seed(8), scheme="exact",
                                greeks=list(NAMES), method="lr")
    assert (lr[[f"method_{name}" for name in NAMES]] == "lr+baseline").all(axis=None)
    ses = [f"{name}_se" for name in NAMES]
    assert (exact[ses].to_numpy() < lr[ses].to_numpy()).all()
    qe = greeks.price_portfolio(frame, paths=4_000, seed=seed(9), greeks=list(NAMES), method="lr")
    assert (qe[[f"method_{name}" for name in NAMES]] == "fd").all(axis=None)
    fd = greeks.price_portfolio(frame, paths=4_000, seed=seed(10), scheme="exact",
                                greeks=["dkappa"], method="fd")
    assert fd["method_dkappa"].iat[0] == "fd"


def test_central_differences_match_the_semi_analytic_derivatives():
    """The default (QE) scheme's parameter sensitivities, central differences on common
    random numbers (dρ's from steps h and 2h extrapolated), within k SE of the
    characteristic function's derivatives (k·SE is about 10 % of dκ and dξ, 2 % of dθ;
    dρ only gross errors)."""
    frame = make_frame([dict(id="c", **ROW)])
    paths = 40_000
    results = greeks.price_portfolio(frame, paths=paths, seed=seed(62), greeks=list(NAMES))
    exact = semi_analytic_derivatives()
    assert (results[[f"method_{name}" for name in NAMES]] == "fd").all(axis=None)
    assert_within(results[list(NAMES)].iloc[0].to_numpy(dtype=float),
                  [exact[name] for name in NAMES],
                  results[[f"{name}_se" for name in NAMES]].iloc[0].to_numpy(dtype=float),
                  k=k_for(len(NAMES)), label=list(NAMES))


@pytest.mark.parametrize("rho", [-0.9999, -0.995, -0.97, -0.7, 0.0, 0.98, 0.9999])
def test_the_rho_steps_stay_symmetric_inside_the_bounds(rho):
    """ρ ± h and ρ ± 2h lie inside (−1, 1) and symmetric about ρ (so that extrapolating
    the two differences cancels their h² terms), with h = 0.01 away from the bounds."""
    params = (0.04, 1.5, 0.04, 0.5, rho)
    one, two = (parameter_bump("drho", params, m) for m in (1, 2))
    for up, down, width in (one, two):
        assert -1 < down["rho"] < rho < up["rho"] < 1
        assert up["rho"] - rho == pytest.approx(rho - down["rho"], abs=1e-15)
        assert width == up["rho"] - down["rho"]
    assert two[2] == pytest.approx(2 * one[2], abs=1e-15)
    if abs(rho) <= 0.96:
        assert one[2] == pytest.approx(2 * RHO_BUMP, abs=1e-15)


@pytest.mark.slow
def test_extrapolation_removes_the_bias_the_characteristic_function_predicts():
    """Andersen's 10-year, ξ = 1, ρ = −0.9 call at K = 140, where one central difference
    of ρ (h = 0.01) is 0.2 % off (−0.014, 0.3 SE of a 10⁶-path run): on the same paths,
    the extrapolated estimate minus the single difference D(h) (written here from the
    chain, not taken from the module) has the mean that the semi-analytic value's
    differences predict, (4 D(h) − D(2h))/3 − D(h), within k SE; and the estimate is
    within k SE of the derivative."""
    from dataclasses import replace

    from greeks import engine, streams
    from greeks.models.heston.adapter import group_paths
    from greeks.models.heston.analytic import heston_price
    from greeks.models.heston.sensitivities import _chunk, _payoff_on

    case = dict(strike=140.0, maturity=10.0, rate=0.0, v0=0.04, kappa=0.5, theta=0.04, xi=1.0,
                rho=-0.9)
    frame = make_frame([dict(id="k140", model="heston", vol=None, **case)])
    paths = 200_000
    (group,) = engine.plan_groups(frame, "qe", paths=paths)
    stream = np.random.SeedSequence(seed(63), spawn_key=(*group.spawn_words,
                                                          streams.PARAMETERS))
    extrapolated = _chunk(group, stream, paths, ["drho"], np.zeros((1, 1), dtype=bool),
                          None)[0, 0]

    def chain(rho):
        bumped = replace(group, params=(*group.params[:4], rho))
        return group_paths(bumped, np.random.Generator(np.random.PCG64(stream)), paths).s
    payoff = _payoff_on(group, 0)
    rho, h = case["rho"], RHO_BUMP
    single = (payoff(chain(rho + h)) - payoff(chain(rho - h))) / (2 * h)

    def value(r):
        return heston_price("call", 100.0, **{**case, "rho": r})
    difference = [(value(rho + k * h) - value(rho - k * h)) / (2 * k * h) for k in (1, 2)]
    gap = extrapolated - single
    assert_within(gap.mean(), (4 * difference[0] - difference[1]) / 3 - difference[0],
                  gap.std() / math.sqrt(paths), k=k_for(2), label="bias of D(h)")
    derivative = (value(rho + 1e-4) - value(rho - 1e-4)) / 2e-4
    assert_within(extrapolated.mean(), derivative, extrapolated.std() / math.sqrt(paths),
                  k=k_for(2), label="drho")


def test_vanna_and_volga_at_zero_initial_variance_are_finite_and_right():
    """At σ0 = 0 the value is even in σ0 (it depends on v0 = σ0²): vanna is 0 and volga is
    2 ∂V/∂v0, here against the semi-analytic price; the total stays finite."""
    from greeks.models.heston.analytic import heston_price

    frame = make_frame([dict(id="zero", **{**ROW, "v0": 0.0}), dict(id="other", **ROW)])
    out = greeks.price_portfolio(frame, paths=100_000, seed=seed(61), greeks="vanna,volga")
    row = out.set_index("id").loc["zero"]
    assert row["vanna"] == 0.0 and row["vanna_se"] == 0.0
    h = 1e-4
    value = lambda v0: heston_price("call", 100.0, 100.0, 1.0, 0.05, v0, **PARAMS)  # noqa: E731
    assert_within(row["volga"], 2 * (value(h) - value(0.0)) / h, row["volga_se"])
    assert all(math.isfinite(out.attrs["total"][name]) for name in ("vanna", "volga"))
