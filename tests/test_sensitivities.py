"""Gamma, rho, theta, vanna and volga: closed forms, CRN finite differences, SEs, outputs."""

import math

import numpy as np
import pytest

import greeks
from greeks import engine, payoffs
from greeks.analytic import black_scholes, black_scholes_digital
from greeks.heston_analytic import heston_greeks
from greeks.models import gbm
from greeks.sensitivities import NAMES
from helpers import make_frame, seed, seeds

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7,
              underlying="H")


def closed_form_sensitivities(price, spot, vol, rate, maturity):
    """(gamma, rho, theta, vanna, volga) of a closed-form ``price(spot, vol, rate, maturity)``
    by central differences (steps small enough for ~1e-7 relative accuracy)."""
    hs, hv, hr, ht = 1e-3 * spot, 1e-4, 1e-5, 1e-5

    def at(ds=0.0, dv=0.0, dr=0.0, dt=0.0):
        return price(spot + ds, vol + dv, rate + dr, maturity + dt)

    gamma = (at(ds=hs) - 2 * at() + at(ds=-hs)) / hs**2
    rho = (at(dr=hr) - at(dr=-hr)) / (2 * hr)
    theta = -(at(dt=ht) - at(dt=-ht)) / (2 * ht)  # value change as calendar time passes
    vanna = (at(hs, hv) - at(hs, -hv) - at(-hs, hv) + at(-hs, -hv)) / (4 * hs * hv)
    volga = (at(dv=hv) - 2 * at() + at(dv=-hv)) / hv**2
    return np.array([gamma, rho, theta, vanna, volga])


ROWS = [
    dict(id="call"),
    dict(id="put", option_type="put", strike=110.0, maturity=0.5, dividend=0.02, vol=0.3),
    dict(id="digital", instrument="digital", strike=95.0, payout=5.0),
    dict(id="digital-put", instrument="digital", option_type="put", strike=105.0, rate=0.0,
         maturity=2.0),
]


def test_gbm_european_and_digital_match_black_scholes():
    frame = make_frame(ROWS)
    estimates = engine.simulate(frame, 400_000, seed=seed(11), extra=NAMES)
    failures = []
    for i, row in frame.iterrows():
        formula = black_scholes if row["instrument"] == "european" else (
            lambda *a, **k: black_scholes_digital(*a, **k, payout=row["payout"]))

        def price(spot, vol, rate, maturity):
            return formula(row["option_type"], spot, row["strike"], maturity, rate, vol,
                           row["dividend"]).price

        exact = closed_form_sensitivities(price, row["spot"], row["vol"], row["rate"],
                                          row["maturity"])
        z = (estimates.mean[i, 3:] - exact) / estimates.se[i, 3:]
        failures += [(row["id"], name, round(float(e), 2)) for name, e in zip(NAMES, z)
                     if abs(e) > 4]
    assert not failures


def crn_difference(row, parameter, bump, n=200_000, rng_seed=seed(5)):
    """Central (first or second) difference of the mean discounted payoff on common random
    numbers of the exact GBM chain; returns (value, SE)."""
    frame = make_frame([row])
    group = engine.plan_groups(frame)[0]
    maturity = float(frame["maturity"].iloc[0])

    def payoff(spot=group.spot, vol=group.vol, rate=group.rate, shift=0.0):
        rng = np.random.Generator(np.random.PCG64(rng_seed))
        _, s = gbm.simulate(rng, n, group.times - shift, math.log(spot), rate, vol)
        np.exp(s, out=s)
        out = np.empty(n)
        payoffs.evaluate(s, group.date_index, group.kind[0], group.omega[0], group.strike[0],
                         group.payout[0], group.barrier[0], group.barrier_kind[0],
                         math.exp(-rate * (maturity - shift)), out)
        return out

    s0, v0 = group.spot, group.vol
    if parameter == "gamma":
        values = (payoff(spot=s0 + bump) - 2 * payoff() + payoff(spot=s0 - bump)) / bump**2
    elif parameter == "volga":
        values = (payoff(vol=v0 + bump) - 2 * payoff() + payoff(vol=v0 - bump)) / bump**2
    elif parameter == "vanna":
        hs, hv = bump
        values = (payoff(s0 + hs, v0 + hv) - payoff(s0 + hs, v0 - hv) - payoff(s0 - hs, v0 + hv)
                  + payoff(s0 - hs, v0 - hv)) / (4 * hs * hv)
    elif parameter == "rho":
        values = (payoff(rate=group.rate + bump) - payoff(rate=group.rate - bump)) / (2 * bump)
    else:  # theta: every date moves closer by the bump
        values = (payoff(shift=bump) - payoff(shift=-bump)) / (2 * bump)
    return values.mean(), values.std(ddof=1) / math.sqrt(n)


@pytest.mark.parametrize("row, checks", [
    (dict(id="asian", instrument="asian", fixings=12),
     [("gamma", 2.0), ("rho", 1e-3), ("theta", 1e-3), ("vanna", (1.0, 0.01)), ("volga", 0.02)]),
    (dict(id="di-put", instrument="barrier", option_type="put", barrier=90.0,
          barrier_type="down-and-in", fixings=12), [("rho", 1e-3), ("theta", 1e-3)]),
], ids=["asian", "di-put"])
def test_path_products_match_crn_finite_differences(row, checks):
    estimates = engine.simulate(make_frame([row]), 400_000, seed=seed(13), extra=NAMES)
    failures = []
    for name, bump in checks:
        fd, fd_se = crn_difference(row, name, bump)
        k = 3 + NAMES.index(name)
        combined = math.hypot(fd_se, estimates.se[0, k])
        if abs(estimates.mean[0, k] - fd) > 4 * combined:
            failures.append((name, estimates.mean[0, k], fd, combined))
    assert not failures


def test_heston_gamma_and_rho_match_the_semi_analytic_price():
    """Gamma from the likelihood-ratio weight (engine), rho by bump and revalue (api)."""
    frame = make_frame([dict(id="call", **HESTON),
                        dict(id="put", option_type="put", strike=90.0, maturity=0.5, **HESTON)])
    estimates = engine.simulate(frame, 400_000, seed=seed(17), extra=NAMES)
    results = greeks.price_portfolio(frame, paths=400_000, seed=seed(17), greeks=["gamma", "rho"])
    for i, row in frame.iterrows():
        args = dict(strike=row["strike"], maturity=row["maturity"], v0=0.04, kappa=1.5,
                    theta=0.04, xi=0.5, rho=-0.7, dividend=0.0)

        def price(spot=100.0, rate=0.05):
            return heston_greeks(row["option_type"], spot=spot, rate=rate, **args).price

        gamma = (price(spot=100.1) - 2 * price() + price(spot=99.9)) / 0.01
        rho = (price(rate=0.05001) - price(rate=0.04999)) / 0.00002
        assert abs(estimates.mean[i, 3] - gamma) <= 4 * estimates.se[i, 3], row["id"]
        assert abs(results["rho_rate"].iat[i] - rho) <= 4 * results["rho_rate_se"].iat[i]
        assert np.isnan(estimates.mean[i, 4:]).all()  # the engine leaves these to bumps


def test_standard_errors_of_the_further_greeks_match_the_spread_over_seeds():
    frame = make_frame([dict(id="call"), dict(id="asian", instrument="asian", fixings=12,
                                              quantity=-2.0),
                        dict(id="h", instrument="digital", **HESTON)])
    runs = [engine.simulate(frame, 4_000, seed=s, threads=1, extra=NAMES)
            for s in seeds(120)]
    mean = np.stack([r.mean for r in runs])[..., 3:]
    se = np.stack([r.se for r in runs])[..., 3:]
    ratio = mean.std(axis=0, ddof=1) / se.mean(axis=0)
    finite = np.isfinite(ratio)
    assert finite.sum() == 2 * 5 + 1  # Heston: gamma (the others by bump and revalue)
    assert np.all((0.75 < ratio[finite]) & (ratio[finite] < 1.33)), ratio


def test_results_carry_the_requested_greeks_and_units():
    frame = make_frame([dict(id="call"), dict(id="h", **HESTON)])
    results = greeks.price_portfolio(frame, paths=20_000, greeks=["theta", "gamma", "rho"])
    assert {"gamma", "gamma_se", "rho_rate", "rho_rate_se", "theta_per_year",
            "theta_per_day", "theta_per_day_se"} <= set(results.columns)
    assert "vanna" not in results.columns
    assert results["theta_per_day"].iloc[0] == pytest.approx(results["theta_per_year"].iloc[0]
                                                             / 365)
    # the Heston row's theta comes from bump and revalue: every value and total is finite
    assert np.isfinite(results["theta_per_year"]).all()
    assert np.isfinite(results.attrs["total"]["theta_per_year"])
    assert np.isfinite(results.attrs["total"]["gamma"])
    # model-parameter sensitivities exist for Heston rows only
    with_parameters = greeks.price_portfolio(frame, paths=4_000, greeks=["dkappa"])
    assert np.isnan(with_parameters["dkappa"].iloc[0])
    assert np.isfinite(with_parameters["dkappa"].iloc[1])
    with pytest.raises(ValueError, match="unknown Greek 'charm'"):
        greeks.price_portfolio(frame, paths=2_000, greeks=["charm"])


def test_cli_greeks_option(runner, tmp_path):
    from greeks.cli import main

    source = tmp_path / "book.csv"
    make_frame([dict(id="call")]).to_csv(source, index=False)
    result = runner.invoke(main, ["price", str(source), "-n", "4000", "--greeks", "all",
                                  "--format", "csv"])
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[0].split(",")
    assert {"gamma", "rho_rate", "theta_per_year", "theta_per_day", "vanna", "volga"} <= set(header)
    result = runner.invoke(main, ["price", str(source), "--greeks", "charm"])
    assert result.exit_code == 2 and "unknown Greek" in result.output


@pytest.mark.parametrize("method", ["pathwise", "fd", "lr"])
def test_alternative_estimators_match_closed_forms(method):
    """--method pathwise (GBM european and asian), fd (every row) and lr (every row):
    unbiased (fd: to its O(h²) bias, far below these SEs) against Black–Scholes and the
    semi-analytic Heston price, delta and vega."""
    from helpers import closed_form

    frame = make_frame([dict(id="call"), dict(id="put", option_type="put", strike=110.0),
                        dict(id="digital", instrument="digital", strike=95.0),
                        dict(id="h-call", **HESTON)])
    results = greeks.price_portfolio(frame, paths=200_000, seed=seed(31), method=method)
    for i, row in frame.iterrows():
        exact = np.array(closed_form(row)[:3])
        estimate = results.loc[i, ["price", "delta", "vega"]].to_numpy(dtype=float)
        se = results.loc[i, ["price_se", "delta_se", "vega_se"]].to_numpy(dtype=float)
        assert np.all(np.abs(estimate - exact) <= 4 * se), (method, row["id"], estimate, exact)
    expected = {"pathwise": ["pathwise+antithetic", "pathwise+antithetic",
                             "lr+controls+antithetic", "conditional+controls+antithetic"],
                "fd": ["fd+antithetic"] * 3 + ["fd+conditional+antithetic"],
                "lr": ["lr+controls+antithetic"] * 4}[method]
    assert list(results["method"]) == expected


def test_pathwise_asian_matches_crn_finite_differences():
    row = dict(id="asian", instrument="asian", fixings=12)
    results = greeks.price_portfolio(make_frame([row]), paths=400_000, seed=seed(32),
                                     method="pathwise")
    for name, parameter, bump in [("delta", "spot", 0.5), ("vega", "vol", 0.005)]:
        from test_engine import crn_finite_difference

        fd, fd_se = crn_finite_difference(row, parameter, bump)
        combined = math.hypot(fd_se, results[f"{name}_se"].iloc[0])
        assert abs(results[name].iloc[0] - fd) <= 4 * combined


def test_heston_bumped_sensitivities_match_the_semi_analytic_price():
    """κ, θ, ξ, ρ, rate, time, vanna and volga by central differences on common random
    numbers of the QE chain, against central differences of the semi-analytic price."""
    frame = make_frame([dict(id="h", **HESTON)])
    names = ["rho", "theta", "vanna", "volga", "dkappa", "dtheta", "dxi", "drho"]
    results = greeks.price_portfolio(frame, paths=200_000, seed=seed(41), greeks=names)
    base = dict(strike=100.0, maturity=1.0, rate=0.05, v0=0.04, kappa=1.5, theta=0.04,
                xi=0.5, rho=-0.7, dividend=0.0)

    def price(spot=100.0, sigma=0.2, **changes):
        return heston_greeks("call", spot=spot, **{**base, "v0": sigma * sigma,
                                                   **changes}).price

    def central(name, h):
        return (price(**{name: base[name] + h}) - price(**{name: base[name] - h})) / (2 * h)

    exact = {"dkappa": central("kappa", 1e-4), "dtheta": central("theta", 1e-5),
             "dxi": central("xi", 1e-4), "drho": central("rho", 1e-4),
             "rho_rate": central("rate", 1e-5), "theta_per_year": -central("maturity", 1e-5),
             "volga": (price(sigma=0.201) - 2 * price() + price(sigma=0.199)) / 1e-6,
             "vanna": (price(100.1, 0.201) - price(100.1, 0.199) - price(99.9, 0.201)
                       + price(99.9, 0.199)) / (4 * 0.1 * 0.001)}
    for name, value in exact.items():
        estimate, se = results[name].iat[0], results[f"{name}_se"].iat[0]
        assert abs(estimate - value) <= 4 * se, (name, estimate, value, se)
