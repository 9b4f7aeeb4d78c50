"""A long first step whose integrated variance is sampled given its end points: the
conditional moments against the Broadie–Kaya transform, the pathwise slopes, and the
engine's estimates against the semi-analytic values."""

import cmath
import math

import numpy as np
import pytest
import scipy.special
from helpers import assert_within, k_for, make_frame, seed

import greeks
from greeks import engine
from greeks.models.heston.analytic import heston_digital, heston_greeks
from greeks.models.heston.first_step import (
    SERIES_BELOW,
    _gk_constants,
    integral_moments,
    sampled_step,
)

ATM = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)


def log_laplace(s, v0, v1, dt, kappa, theta, xi):
    """log E[e^{−sI} | v_0, v_Δ] from Broadie & Kaya's (2006) characteristic function of the
    integrated variance given the end points (Φ(a) at a = is), γ = sqrt(κ² + 2ξ²s)."""
    g = cmath.sqrt(kappa * kappa + 2.0 * xi * xi * s)
    nu = 2.0 * kappa * theta / (xi * xi) - 1.0
    ek, eg = math.exp(-kappa * dt), cmath.exp(-g * dt)
    level = cmath.log(g * cmath.exp(-0.5 * (g - kappa) * dt) * (1 - ek) / (kappa * (1 - eg)))
    ends = (v0 + v1) / (xi * xi) * (kappa * (1 + ek) / (1 - ek) - g * (1 + eg) / (1 - eg))
    cg = 4.0 * g * cmath.exp(-0.5 * g * dt) / (xi * xi * (1 - eg))
    ck = 4.0 * kappa * math.exp(-0.5 * kappa * dt) / (xi * xi * (1 - ek))
    root = math.sqrt(v0 * v1)
    if root == 0.0:  # I_ν(c_γ z)/I_ν(c_κ z) → (c_γ/c_κ)^ν as z → 0
        bessel = nu * cmath.log(cg / ck)
    else:
        zg, zk = root * cg, root * ck
        bessel = (cmath.log(scipy.special.ive(nu, zg)) + abs(zg.real)  # ive = iv e^{−|Re z|}
                  - math.log(scipy.special.ive(nu, zk)) - zk)
    return (level + ends + bessel).real


@pytest.mark.parametrize("v0,v1,dt,kappa,theta,xi", [
    (0.04, 0.03, 0.5, 1.5, 0.04, 0.5),
    (0.04, 0.05, 1 / 52, 1.5, 0.04, 0.5),      # short step: large Bessel argument
    (0.010201, 0.02, 0.25, 6.21, 0.019, 0.61),  # Feller violated
    (0.04, 0.01, 1.0, 0.5, 0.04, 1.0),
    (0.09, 0.12, 2.0, 2.0, 0.09, 1.0),
    (0.04, 0.0, 0.5, 1.5, 0.04, 0.5),          # v_Δ = 0: no Bessel term
    (0.04, 0.04, 0.5, 0.01, 0.04, 0.3),        # κΔ/2 in the power series
])
def test_integral_moments_match_the_broadie_kaya_transform(v0, v1, dt, kappa, theta, xi):
    """Mean and variance = the first two cumulants of the transform (5-point differences)."""
    mean, variance = integral_moments(v0, v1, dt, kappa, theta, xi)
    # step: within γ real where that leaves it long enough (else γ crosses to imaginary)
    real = 0.2 * kappa * kappa / (xi * xi)
    h = min(0.03 / mean, real) if real > 0.001 / mean else 0.03 / mean
    f = [log_laplace(k * h, v0, v1, dt, kappa, theta, xi) for k in (-2, -1, 0, 1, 2)]
    first = (f[0] - 8 * f[1] + 8 * f[3] - f[4]) / (12 * h)
    second = (-f[0] + 16 * f[1] - 30 * f[2] + 16 * f[3] - f[4]) / (12 * h * h)
    assert mean == pytest.approx(-first, rel=2e-6)
    assert variance == pytest.approx(second, rel=2e-5)


def test_integral_moments_are_continuous_where_the_series_takes_over():
    dt = 0.5
    for name in range(4):
        below, above = (_gk_constants(2 * x / dt, 0.5, dt)[name]
                        for x in (SERIES_BELOW * (1 - 1e-9),
                                  SERIES_BELOW * (1 + 1e-9)))
        assert below == pytest.approx(above, rel=1e-9)


def test_sampled_step_slopes_are_its_derivatives():
    """The complex-step slopes of (μ, V) in v_0, κ, θ, ξ, ρ = central differences.  As in
    greeks.models.heston.first_step.sampled_first_step, a step in κ, θ, ξ or ρ passes all
    four as complex numbers (the others with no imaginary part)."""
    args = dict(v0=0.04, v1=0.03, z=0.7, dt=0.5, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7,
                carry_dt=0.025)
    parameters = ("kappa", "theta", "xi", "rho")
    for name in ("v0",) + parameters:
        h = 1e-20 * abs(args[name])
        moved = {name: complex(args[name], h)}
        if name in parameters:
            moved = {key: complex(args[key], h if key == name else 0.0) for key in parameters}
        exact = sampled_step(**{**args, **moved})
        step = 1e-6 * abs(args[name])
        up = sampled_step(**{**args, name: args[name] + step})
        down = sampled_step(**{**args, name: args[name] - step})
        for k in range(3):
            assert exact[k].imag / h == pytest.approx((up[k] - down[k]) / (2 * step),
                                                      rel=1e-6, abs=1e-12)


def test_a_long_first_step_is_sampled_and_drops_the_linear_controls():
    frame = make_frame([{**ATM, "id": "c"}])
    (regular,) = engine.plan_groups(frame, "qe", 52, 0.0)
    (long,) = engine.plan_groups(frame, "qe", 52, 0.5)
    (euler,) = engine.plan_groups(frame, "euler", 52, 0.5)
    assert not regular.sampled_first and regular.martingale
    assert long.sampled_first and not long.martingale  # E[S_1] is exact only approximately
    assert long.times[0] == 0.5 and not euler.sampled_first


PATHS = {"qe": 100_000, "exact": 30_000}  # the exact scheme costs ~30 times QE's per path


@pytest.mark.parametrize("scheme", ["qe", "exact"])
@pytest.mark.parametrize("params,first_step", [
    ({}, 0.25),
    (dict(v0=0.010201, kappa=6.21, theta=0.019, xi=0.61, rate=0.0319), 0.15),  # BK I
])
def test_sampled_first_step_matches_the_semi_analytic_values(scheme, params, first_step):
    """A first step of κΔ_1 < 1 (a quarter or less of a year): european calls/puts and a
    digital (conditional Monte Carlo, the likelihood-ratio vega) within k SE of the
    semi-analytic price, delta and vega, on the ATM case and the Feller-violating Broadie–Kaya I
    parameters."""
    rows = [dict(id="c"), dict(id="p", option_type="put", strike=90.0),
            dict(id="d", instrument="digital", strike=105.0)]
    frame = make_frame([{**ATM, **params, **row} for row in rows])
    results = greeks.price_portfolio(frame, paths=PATHS[scheme], seed=seed(5), scheme=scheme,
                                     first_step=first_step, method="mixed")
    exact = []
    for i, row in frame.iterrows():
        args = dict(spot=row.spot, strike=row.strike, maturity=row.maturity, rate=row.rate,
                    v0=row.v0, kappa=row.kappa, theta=row.theta, xi=row.xi, rho=row.rho)
        reference = (heston_digital(row.option_type, **args)
                     if row.instrument == "digital" else heston_greeks(row.option_type, **args))
        exact.append(reference[:3])
    exact = np.array(exact)
    assert_within(results[["price", "delta", "vega"]].to_numpy(dtype=float), exact,
                  results[["price_se", "delta_se", "vega_se"]].to_numpy(dtype=float),
                  k=k_for(exact.size))


def test_sampled_first_step_quiets_the_likelihood_ratio_vega():
    """The first transition's score over half a year instead of a week: the LR vega's SE
    falls below a third (and below 3× the central-difference SE of the same run); at
    10,000 paths the first ratio is 0.23–0.24 and the second 0.8–1.1 over seeds 2–7
    (ratios of SEs: the path count does not move them)."""
    frame = make_frame([{**ATM, "id": "c"}])
    regular, long = (greeks.price_portfolio(frame, paths=10_000, seed=seed(2), scheme="exact",
                                            first_step=fs, method="mixed")
                     for fs in (None, 0.5))
    fd = greeks.price_portfolio(frame, paths=10_000, seed=seed(2), scheme="exact", method="fd")
    assert long["vega_se"].iat[0] < regular["vega_se"].iat[0] / 3
    assert long["vega_se"].iat[0] < 3 * fd["vega_se"].iat[0]
