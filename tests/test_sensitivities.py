"""Gamma, rho, theta, vanna and volga: closed forms, CRN finite differences, SEs, outputs."""

import dataclasses
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

import greeks
from greeks import engine, payoffs
from greeks.models.gbm.analytic import black_scholes, black_scholes_digital
from greeks.models.gbm.paths import simulate as simulate_gbm
from greeks.models.heston.analytic import heston_greeks
from greeks.sensitivities import NAMES

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
    exact = []
    for i, row in frame.iterrows():
        formula = black_scholes if row["instrument"] == "european" else (
            lambda *a, **k: black_scholes_digital(*a, **k, payout=row["payout"]))

        def price(spot, vol, rate, maturity):
            return formula(row["option_type"], spot, row["strike"], maturity, rate, vol,
                           row["dividend"]).price

        exact.append(closed_form_sensitivities(price, row["spot"], row["vol"], row["rate"],
                                               row["maturity"]))
    exact = np.array(exact)
    assert_within(estimates.mean[:, 3:], exact, estimates.se[:, 3:], k=k_for(exact.size))


def crn_difference(row, parameter, bump, n=200_000, rng_seed=seed(5)):
    """Central (first or second) difference of the mean discounted payoff on common random
    numbers of the exact GBM chain; returns (value, SE)."""
    frame = make_frame([row])
    group = engine.plan_groups(frame)[0]
    maturity = float(frame["maturity"].iloc[0])

    def payoff(spot=group.spot, vol=group.params[0], rate=group.rate, shift=0.0):
        rng = np.random.Generator(np.random.PCG64(rng_seed))
        _, s = simulate_gbm(rng, n, group.times - shift, math.log(spot), rate, vol, False)
        np.exp(s, out=s)
        out = np.empty(n)
        spec = payoffs.with_discount(group.payoff, 0, math.exp(-rate * (maturity - shift)))
        payoffs.evaluate(s, group.date_index, spec, 0, out)
        return out

    s0, v0 = group.spot, group.params[0]
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
    columns = [3 + NAMES.index(name) for name, _ in checks]
    fd, fd_se = np.array([crn_difference(row, name, bump) for name, bump in checks]).T
    assert_within(estimates.mean[0, columns], fd, combined_se(fd_se, estimates.se[0, columns]),
                  k=k_for(len(checks)), label=[name for name, _ in checks])


def test_heston_gamma_and_rho_match_the_semi_analytic_price():
    """Gamma from the likelihood-ratio weight (engine), rho by bump and revalue (api)."""
    frame = make_frame([dict(id="call", **HESTON),
                        dict(id="put", option_type="put", strike=90.0, maturity=0.5, **HESTON)])
    estimates = engine.simulate(frame, 100_000, seed=seed(17), extra=NAMES)
    results = greeks.price_portfolio(frame, paths=100_000, seed=seed(17), greeks=["gamma", "rho"])
    for i, row in frame.iterrows():
        args = dict(strike=row["strike"], maturity=row["maturity"], v0=0.04, kappa=1.5,
                    theta=0.04, xi=0.5, rho=-0.7, dividend=0.0)

        def price(spot=100.0, rate=0.05):
            return heston_greeks(row["option_type"], spot=spot, rate=rate, **args).price

        gamma = (price(spot=100.1) - 2 * price() + price(spot=99.9)) / 0.01
        rho = (price(rate=0.05001) - price(rate=0.04999)) / 0.00002
        assert_within([estimates.mean[i, 3], results["rho_rate"].iat[i]], [gamma, rho],
                      [estimates.se[i, 3], results["rho_rate_se"].iat[i]], label=row["id"])
        assert np.isnan(estimates.mean[i, 4:]).all()  # the engine leaves these to bumps


@pytest.mark.slow
def test_standard_errors_of_the_further_greeks_match_the_spread_over_seeds():
    frame = make_frame([dict(id="call"), dict(id="asian", instrument="asian", fixings=12,
                                              quantity=-2.0),
                        dict(id="h", instrument="digital", **HESTON)])
    runs = [engine.simulate(frame, 4_000, seed=s, threads=1, extra=NAMES)
            for s in seeds(60)]
    mean = np.stack([r.mean for r in runs])[..., 3:]
    se = np.stack([r.se for r in runs])[..., 3:]
    finite = np.isfinite(se).all(axis=0)
    assert finite.sum() == 2 * 5 + 1  # Heston: gamma (the others by bump and revalue)
    assert_se_matches_spread(mean[:, finite], se[:, finite])


def heston_call_price(**changes):
    """The semi-analytic price of the ATM Heston call of ``HESTON`` (strike 100, T = 1,
    r = 5 %), with parameters changed."""
    args = dict(spot=100.0, strike=100.0, maturity=1.0, rate=0.05, v0=0.04, kappa=1.5,
                theta=0.04, xi=0.5, rho=-0.7, dividend=0.0)
    return heston_greeks("call", **{**args, **changes}).price


def test_results_carry_the_requested_greeks_and_units():
    """Columns and units; the values of a GBM and a Heston row's theta (the value's change
    as calendar time passes, −∂V/∂T: per year and per day of 365) against central
    differences of Black–Scholes and of the semi-analytic Heston price, the totals the
    quantity-weighted sums, and the Heston row's dkappa against ∂V/∂κ."""
    frame = make_frame([dict(id="call"), dict(id="h", quantity=-2.0, **HESTON)])
    results = greeks.price_portfolio(frame, paths=20_000, seed=seed(51),
                                     greeks=["theta", "gamma", "rho"])
    assert {"gamma", "gamma_se", "rho_rate", "rho_rate_se", "theta_per_year",
            "theta_per_day", "theta_per_day_se"} <= set(results.columns)
    assert "vanna" not in results.columns
    np.testing.assert_allclose(results["theta_per_day"], results["theta_per_year"] / 365,
                               rtol=1e-12)
    np.testing.assert_allclose(results["theta_per_day_se"], results["theta_per_year_se"] / 365,
                               rtol=1e-12)
    h = 1e-5
    theta = [-(black_scholes("call", 100, 100, 1 + h, 0.05, 0.2).price
               - black_scholes("call", 100, 100, 1 - h, 0.05, 0.2).price) / (2 * h),
             -(heston_call_price(maturity=1 + h) - heston_call_price(maturity=1 - h)) / (2 * h)]
    assert_within(results["theta_per_year"], theta, results["theta_per_year_se"], label="theta")
    total = results.attrs["total"]
    for name in ("theta_per_year", "gamma", "rho_rate"):
        assert total[name] == pytest.approx((results["quantity"] * results[name]).sum(),
                                            rel=1e-9, abs=1e-12)
    # model-parameter sensitivities exist for Heston rows only
    with_parameters = greeks.price_portfolio(frame, paths=20_000, seed=seed(52),
                                             greeks=["dkappa"])
    assert np.isnan(with_parameters["dkappa"].iloc[0])
    dkappa = (heston_call_price(kappa=1.5 + 1e-4) - heston_call_price(kappa=1.5 - 1e-4)) / 2e-4
    assert_within(with_parameters["dkappa"].iloc[1], dkappa, with_parameters["dkappa_se"].iloc[1],
                  label="dkappa")
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
    exact = np.array([closed_form(row)[:3] for _, row in frame.iterrows()])
    assert_within(results[["price", "delta", "vega"]].to_numpy(dtype=float), exact,
                  results[["price_se", "delta_se", "vega_se"]].to_numpy(dtype=float),
                  k=k_for(exact.size), label=method)
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
        from tests.engine.test_engine import crn_finite_difference

        fd, fd_se = crn_finite_difference(row, parameter, bump)
        assert_within(results[name].iloc[0], fd, combined_se(fd_se, results[f"{name}_se"].iloc[0]),
                      label=name)


def test_heston_bumped_sensitivities_match_the_semi_analytic_price():
    """κ, θ, ξ, ρ, rate, time, vanna and volga by central differences on common random
    numbers of the QE chain, against central differences of the semi-analytic price."""
    frame = make_frame([dict(id="h", **HESTON)])
    names = ["rho", "theta", "vanna", "volga", "dkappa", "dtheta", "dxi", "drho"]
    results = greeks.price_portfolio(frame, paths=100_000, seed=seed(41), greeks=names)
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
    names = list(exact)
    assert_within(results[names].iloc[0].to_numpy(dtype=float), list(exact.values()),
                  results[[f"{name}_se" for name in names]].iloc[0].to_numpy(dtype=float),
                  k=k_for(len(names)), label=names)


def crn_differences_of_the_engine(group, rng_seed, chunks, paths, changes):
    """Central differences of the engine's own per-chunk (delta, vega) between two bumped
    copies of a group on common random numbers (the same seed and chunk streams), one value
    per chunk: ``changes`` maps a name to ((field, up, down, step), column).  Returns the
    means over the chunks and their SEs (independent chunks)."""
    values = []
    for chunk in range(chunks):
        def delta_vega(field, value):
            moved = dataclasses.replace(group, **({"params": (value,)} if field == "vol"
                                                 else {field: value}))
            return engine.run_chunk(moved, rng_seed, chunk, paths)[0][:-1, 1:3, 0]

        values.append([(delta_vega(field, up)[:, column] - delta_vega(field, down)[:, column])
                       / step for (field, up, down, step), column in changes.values()])
    values = np.array(values)  # chunks × names × rows
    return values.mean(axis=0), values.std(axis=0, ddof=1) / math.sqrt(chunks)


@pytest.mark.parametrize("row, paths", [
    (dict(id="uo-call", instrument="barrier", barrier=120.0, barrier_type="up-and-out",
          fixings=12), 400_000),
    (dict(id="di-put", instrument="barrier", option_type="put", barrier=90.0,
          barrier_type="down-and-in", fixings=12), 1_600_000),
], ids=["uo-call", "di-put"])
def test_barrier_gamma_vanna_volga_match_differences_of_the_engine(row, paths):
    """Discretely monitored GBM barriers: gamma, vanna and volga against central
    differences, on common random numbers, of the engine's own delta and vega in S0 and σ
    (a knock-out: survival-conditioned paths, smooth in both; a knock-in: plain likelihood
    ratio), over independent chunks (t bounds of their spread, combined with the SE)."""
    frame = make_frame([row])
    estimates = engine.simulate(frame, paths, seed=seed(71), extra=("gamma", "vanna", "volga"))
    (group,) = engine.plan_groups(frame, method="auto", plain=False)
    assert group.method.value == ("survival" if row["barrier_type"].endswith("out") else "lr")
    s0, vol, hs, hv = group.spot, group.params[0], 1.0, 0.01
    chunks = 32 if group.method.value == "survival" else 128
    group = dataclasses.replace(group, antithetic=True)
    fd, fd_se = crn_differences_of_the_engine(group, seed(72), chunks, 8_192, {
        "gamma": (("spot", s0 + hs, s0 - hs, 2 * hs), 0),
        "vanna": (("vol", vol + hv, vol - hv, 2 * hv), 0),
        "volga": (("vol", vol + hv, vol - hv, 2 * hv), 1)})
    k = max(k_for(3), k_for(3, df=chunks - 1))
    assert_within(estimates.mean[0, 3:], fd[:, 0], combined_se(estimates.se[0, 3:], fd_se[:, 0]),
                  k=k, label=["gamma", "vanna", "volga"])


def test_heston_gamma_of_asian_and_barrier_rows_matches_differences_of_the_engine():
    """Heston gamma of path-dependent rows (the likelihood-ratio weight of the chain)
    against central differences in S0, on common random numbers, of the engine's own
    likelihood-ratio delta over independent chunks."""
    frame = make_frame([dict(id="a", instrument="asian", fixings=12, **HESTON),
                        dict(id="b", instrument="barrier", barrier=125.0,
                             barrier_type="up-and-out", fixings=12, **HESTON),
                        dict(id="c", instrument="barrier", option_type="put", barrier=85.0,
                             barrier_type="down-and-in", fixings=12, **HESTON)])
    estimates = engine.simulate(frame, 400_000, seed=seed(81), extra=("gamma",))
    (group,) = engine.plan_groups(frame)
    group = dataclasses.replace(group, conditional=False)
    chunks = 32
    fd, fd_se = crn_differences_of_the_engine(group, seed(82), chunks, 16_384, {
        "gamma": (("spot", group.spot + 1.0, group.spot - 1.0, 2.0), 0)})
    assert_within(estimates.mean[group.positions, 3], fd[0], combined_se(
        estimates.se[group.positions, 3], fd_se[0]), k=max(k_for(3), k_for(3, df=chunks - 1)),
        label=frame["id"].iloc[group.positions].tolist())
