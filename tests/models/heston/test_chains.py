"""The Heston chains and their score weights: transition scores, the semi-analytic
reference, exactness against finite differences of the same chain, degenerate
parameters and reproducibility."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import scipy.special
from helpers import (
    ROOT,
    assert_se_matches_spread,
    assert_within,
    closed_form,
    combined_se,
    k_for,
    make_frame,
    seed,
    seeds,
)

import greeks
from greeks import engine
from greeks.maths import bessel_ratio, gamma_quantile
from greeks.models.heston.adapter import group_paths
from greeks.models.heston.constants import Constants
from greeks.models.heston.paths import simulate as simulate_heston
from greeks.models.heston.qe import qe_log_density
from greeks.models.heston.schema import EULER, EXACT, QE, SCHEME_CODES
from greeks.models.heston.scores import transition_score

ATM = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
QUANTITIES = ("price", "delta", "vega")


def heston_rows(rows, **params):
    return [{**ATM, **params, **row} for row in rows]


def one_step(scheme, v0, dt, n, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7, rng_seed=seed(11)):
    """First variances of n one-step paths and their transition scores."""
    c = Constants(np.array([dt]), kappa, theta, xi, rho, 0.0)
    rng = np.random.default_rng(rng_seed)
    _, _, _, v1, _, _, _ = simulate_heston(rng, SCHEME_CODES[scheme], n, 0.0, v0, kappa,
                                           theta, xi, rho, c, np.array([0]), 1)
    score = np.empty(n)
    transition_score(SCHEME_CODES[scheme], v0, v1, kappa, theta, xi, c.dt[0],
                            c.e[0], c.mean_var[0], c.base_var[0], c.chi_scale[0], score)
    return v1, score, c


@pytest.mark.parametrize("scheme,v0,dt,xi", [
    ("qe", 0.04, 0.25, 0.5),     # quadratic regime
    ("qe", 0.01, 0.5, 1.5),      # exponential regime (atom at 0)
    ("exact", 0.04, 0.25, 0.5),
    ("exact", 0.02, 0.05, 1.0),  # Feller violated
    ("euler", 0.04, 0.1, 0.5),
])
def test_transition_score_differentiates_the_first_moments(scheme, v0, dt, xi):
    """E[score] = 0 and E[score · v1] = ∂E[v1]/∂v0 (e^{−κΔ} for QE and exact, whose
    means are exact; 1 − κΔ for Euler), within 4 SE."""
    v1, score, c = one_step(scheme, v0, dt, 400_000, xi=xi)
    slope = 1 - 1.5 * dt if scheme == "euler" else c.e[0]
    for values, expected in [(score, 0.0), (score * (v1 - v1.mean()), slope)]:
        assert_within(values.mean(), expected, values.std(ddof=1) / math.sqrt(values.size))


def test_exact_transition_score_differentiates_the_second_moment():
    """E[v1²] = c²(2(d + 2λ) + (d + λ)²) for v1 = c·χ'²_d(λ)."""
    v0, dt = 0.04, 0.25
    v1, score, c = one_step("exact", v0, dt, 400_000)
    scale = c.chi_scale[0]
    d = 4 * 1.5 * 0.04 / 0.25
    slope = scale**2 * (4 + 2 * (d + v0 * c.e[0] / scale)) * c.e[0] / scale
    values = score * v1 * v1
    assert_within(values.mean(), slope, values.std(ddof=1) / math.sqrt(values.size))


@pytest.mark.parametrize("v0,xi,v1", [(0.04, 0.5, 0.03), (0.04, 0.5, 0.09), (0.01, 1.5, 0.0),
                                      (0.01, 1.5, 0.02)])
def test_qe_score_is_the_derivative_of_its_log_density(v0, xi, v1):
    c = Constants(np.array([0.5]), 1.5, 0.04, xi, -0.7, 0.0)
    args = (c.e[0], c.mean_var[0], c.base_var[0], 0.04)
    score = np.empty(1)
    transition_score(QE, v0, np.array([v1]), 1.5, 0.04, xi, 0.5, *args[:3],
                            c.chi_scale[0], score)
    h = 1e-6 * v0
    central = (qe_log_density(v0 + h, v1, *args)
               - qe_log_density(v0 - h, v1, *args)) / (2 * h)
    assert score[0] == pytest.approx(central, rel=1e-6)


@pytest.mark.parametrize("nu", [-0.96, -0.5, 0.0, 1.3, 40.0])
@pytest.mark.parametrize("z", [1e-6, 0.3, 5.0, 80.0, 2000.0])
def test_bessel_ratio(nu, z):
    if z < 1e-3:  # I_ν underflows; the ratio is z/(2(ν + 1)) · (1 + O(z²))
        expected = z / (2 * (nu + 1))
    else:
        expected = scipy.special.ive(nu + 1, z) / scipy.special.ive(nu, z)
    assert bessel_ratio(nu, z) == pytest.approx(expected, rel=1e-12)


def closed_form_rows():
    rows = []
    for i, (instrument, option_type, strike) in enumerate([
            ("european", "call", 100.0), ("european", "put", 90.0), ("european", "call", 120.0),
            ("digital", "call", 105.0), ("digital", "put", 95.0)]):
        rows.append(dict(id=f"h{i}", instrument=instrument, option_type=option_type,
                         strike=strike, payout=2.0 if instrument == "digital" else 1.0))
    return rows


@pytest.mark.parametrize("scheme,paths", [("qe", 150_000),
                                          pytest.param("exact", 50_000, marks=pytest.mark.slow)])
def test_european_and_digital_match_the_semi_analytic_values(scheme, paths):
    """Default grid: the discretisation bias is below 1 SE at these path counts
    (benchmarks/heston_bias.py), so every estimate is within k SE (k_for the 15 checks).
    The exact scheme costs about 25 times QE's per path: at 50,000 paths k·SE is under 1.5 %
    of every price and delta and under 3.5 % of the european vegas."""
    frame = make_frame(heston_rows(closed_form_rows()))
    estimates = engine.simulate(frame, paths, seed=seed(3), scheme=scheme)
    exact = np.array([closed_form(row)[:3] for _, row in frame.iterrows()])
    assert_within(estimates.mean, exact, estimates.se, k=k_for(exact.size))


def assert_batch_means_are_zero(difference):
    """The mean of independent batches (axis 0) is zero within Student's t bounds of
    their spread, shared over the checks."""
    n = len(difference)
    assert_within(difference.mean(axis=0), 0.0, difference.std(axis=0, ddof=1) / math.sqrt(n),
                  k=k_for(difference[0].size, df=n - 1))


def crn_batches(group, bump, streams, paths):
    """Per seed: LR (delta, vega) of every row and their central differences on common
    random numbers (the same stream for the base and bumped chains)."""
    lr, fd = [], []
    for s in streams:
        base = engine.run_chunk(group, s, 0, paths)[0][:-1, :, 0]
        delta = (engine.run_chunk(dataclasses.replace(group, spot=group.spot + bump[0]), s, 0,
                                  paths)[0][:-1, 0, 0]
                 - engine.run_chunk(dataclasses.replace(group, spot=group.spot - bump[0]), s,
                                    0, paths)[0][:-1, 0, 0]) / (2 * bump[0])
        sigma0 = math.sqrt(group.params[0])
        prices = []
        for sign in (1, -1):
            params = ((sigma0 + sign * bump[1]) ** 2, *group.params[1:])
            prices.append(engine.run_chunk(dataclasses.replace(group, params=params), s, 0,
                                           paths)[0][:-1, 0, 0])
        lr.append(base[:, 1:])
        fd.append(np.stack([delta, (prices[0] - prices[1]) / (2 * bump[1])], axis=1))
    return np.array(lr), np.array(fd)


@pytest.mark.parametrize("scheme", ["qe", "euler", "exact"])
def test_weights_are_exact_for_the_simulated_chain(scheme):
    """On a coarse grid (4 steps) LR delta and vega equal central differences of the
    same discrete chain on common random numbers: the batch means of LR − FD are zero
    within t bounds of their spread, for european, asian, barrier and digital rows (the
    exact scheme's variance draws read fixed draws of their own, so that its bumped chains
    stay on common random numbers too)."""
    rows = [dict(id="e"), dict(id="a", instrument="asian", fixings=4),
            dict(id="b", instrument="barrier", barrier=125.0, barrier_type="up-and-out",
                 fixings=4),
            dict(id="d", instrument="digital", strike=105.0)]
    frame = make_frame(heston_rows(rows))
    (group,) = engine.plan_groups(frame, scheme, steps_per_year=4, first_step=0.0)
    group = dataclasses.replace(group, conditional=False)  # likelihood ratio on every row
    assert group.times.size == 4
    lr, fd = crn_batches(group, (0.05, 0.0005), seeds(24), 8_192)
    assert_batch_means_are_zero(lr - fd)


def test_exact_scheme_weights_on_path_rows_match_qe_differences():
    """The exact scheme's likelihood-ratio price, delta and vega of asian and barrier rows
    (default grid, --method lr) against an independent run of the QE chain by central
    differences on common random numbers: both chains approximate the same model (their
    discretisation bias is well below these SEs), within k combined SEs."""
    frame = make_frame(heston_rows([
        dict(id="a", instrument="asian", fixings=12),
        dict(id="uo", instrument="barrier", barrier=125.0, barrier_type="up-and-out", fixings=12),
        dict(id="di", instrument="barrier", option_type="put", barrier=85.0,
             barrier_type="down-and-in", fixings=12)]))
    exact = engine.simulate(frame, 25_000, seed=seed(61), scheme="exact", method="lr")
    assert exact.choice[:, 0].tolist() == ["lr+controls+antithetic"] * 3
    qe = engine.simulate(frame, 100_000, seed=seed(62), scheme="qe", method="fd")
    assert_within(exact.mean, qe.mean, combined_se(exact.se, qe.se), k=k_for(exact.mean.size))


@pytest.mark.parametrize("scheme", ["qe", "euler"])
def test_conditional_estimator_differentiates_the_chain(scheme):
    """Conditional Monte Carlo (european, digital): its delta is pathwise, so it equals the
    central difference of its price on common random numbers to O(h²), path set by path
    set; its vega carries the variance path's score, so it equals the difference in
    expectation (batch means within t bounds of their spread)."""
    frame = make_frame(heston_rows([dict(id="e"), dict(id="p", option_type="put", strike=90.0),
                                    dict(id="d", instrument="digital", strike=105.0)]))
    (group,) = engine.plan_groups(frame, scheme, steps_per_year=4, first_step=0.0)
    assert group.conditional
    estimate, fd = crn_batches(group, (0.05, 0.0005), seeds(24), 8_192)
    np.testing.assert_allclose(estimate[..., 0], fd[..., 0], rtol=1e-4, atol=1e-7)
    assert_batch_means_are_zero(estimate[..., 1] - fd[..., 1])


DEGENERATE = {
    "feller violated, long maturity": dict(v0=0.04, kappa=0.5, theta=0.04, xi=1.0, rho=-0.9,
                                           maturity=10.0, rate=0.0),
    "rho -0.99": dict(rho=-0.99),
    "v0 = 0": dict(v0=0.0, xi=0.3),
    "v0 = 0, Feller violated": dict(v0=0.0, xi=1.0),
    "one day": dict(maturity=1 / 365),
    "strong mean reversion": dict(kappa=6.21, v0=0.010201, theta=0.019, xi=0.61,
                                  rate=0.0319),
}


LONG = ("feller violated, long maturity",)  # ten years of 100 steps: with the slow sweeps


@pytest.mark.parametrize("case", [pytest.param(case, marks=pytest.mark.slow) if case in LONG
                                  else case for case in DEGENERATE])
def test_degenerate_parameters_give_honest_estimates(case):
    """Finite values within k SE of the semi-analytic ones (the pooled mean of the seeds'
    estimates, its SE from the reported ones), and standard errors that match the spread
    of the estimates over independent seeds (chi-square bounds)."""
    frame = make_frame(heston_rows([dict(id="c"), dict(id="p", option_type="put",
                                                       strike=99.0)], **DEGENERATE[case]))
    runs = [engine.simulate(frame, 10_000, seed=s) for s in seeds(24)]
    means = np.array([r.mean for r in runs])
    ses = np.array([r.se for r in runs])
    assert np.all(np.isfinite(means)) and np.all(np.isfinite(ses))
    exact = np.array([closed_form(row)[:3] for _, row in frame.iterrows()])
    zero = ses[0] == 0  # vega at v0 = 0 is exactly 0
    assert np.all(exact[zero] == 0) and np.all(means[:, zero] == 0)
    pooled_se = np.sqrt((ses ** 2).mean(axis=0) / len(runs))
    assert_within(means.mean(axis=0), exact, pooled_se, k=k_for(exact.size))
    assert_se_matches_spread(means, ses)


def test_reproducible_across_threads_row_order_and_other_groups():
    rows = heston_rows([dict(id="e"), dict(id="a", instrument="asian", fixings=12),
                        dict(id="b", instrument="barrier", barrier=80.0,
                             barrier_type="down-and-in", fixings=52)])
    gbm_row = dict(id="g", vol=0.3)
    frame = make_frame(rows)
    one = engine.simulate(frame, 30_000, seed=seed(9), threads=1)
    two = engine.simulate(frame, 30_000, seed=seed(9), threads=2)
    assert np.array_equal(one.mean, two.mean) and np.array_equal(one.se, two.se)
    mixed = make_frame([gbm_row, *rows[::-1]])
    other = engine.simulate(mixed, 30_000, seed=seed(9), threads=2)
    assert np.array_equal(other.mean[1:][::-1], one.mean)
    assert np.array_equal(other.se[1:][::-1], one.se)


def test_vega_weight_variance_falls_with_the_first_step():
    """The σ0-score's variance grows like 1/Δ_1: a longer first step gives a quieter vega.
    The ratio of the two SEs (half a year against a week; about 0.59) moves from seed to
    seed by the sampling error of the SEs themselves: its mean over 8 seeds lies below 1
    by more than t bounds of its spread."""
    frame = make_frame(heston_rows([dict(id="c")]))
    ratios = []
    for s in seeds(8, start=400):
        fine = engine.simulate(frame, 12_500, seed=s, first_step=0.0, method="lr")
        coarse = engine.simulate(frame, 12_500, seed=s, first_step=0.5, method="lr")
        ratios.append(coarse.se[0, 2] / fine.se[0, 2])
    ratios = np.array(ratios)
    spread = ratios.std(ddof=1) / math.sqrt(ratios.size)
    assert ratios.mean() + k_for(1, df=ratios.size - 1) * spread < 1, ratios


PUBLISHED = ROOT / "data" / "heston_reference.csv"
PUBLISHED_PATHS = 50_000


def test_engine_reproduces_the_published_cases():
    """The default scheme and grid at 50,000 paths: every published price, and the
    semi-analytic delta and vega of each case, within k SE (k_for the checks)."""
    cases = pd.read_csv(PUBLISHED)
    rows = [dict(id=case.case, instrument="european", option_type=case.option_type,
                 strike=case.strike, maturity=case.maturity, spot=case.spot, rate=case.rate,
                 dividend=case.dividend, v0=case.v0, kappa=case.kappa, theta=case.theta,
                 xi=case.xi, rho=case.rho, underlying=case.source)
            for case in cases.itertuples()]
    frame = make_frame(heston_rows(rows))
    estimates = engine.simulate(frame, PUBLISHED_PATHS, seed=seed(5))
    exact = np.array([closed_form(row)[:3] for _, row in frame.iterrows()])
    np.testing.assert_allclose(exact[:, 0], cases["reference_price"], rtol=0, atol=1e-7)
    assert_within(estimates.mean, exact, estimates.se, k=k_for(exact.size))


def test_results_name_the_estimator_of_each_row():
    import greeks

    rows = heston_rows([dict(id="e"), dict(id="d", instrument="digital"),
                        dict(id="a", instrument="asian", fixings=4)]) + [dict(id="g", vol=0.2)]
    frame = make_frame(rows)
    methods = greeks.price_portfolio(frame, paths=2_000)["method"].tolist()
    assert methods == ["conditional+controls+antithetic", "conditional+controls+antithetic",
                       "lr+controls+antithetic",
                       "lr+controls+antithetic"]
    plain = greeks.price_portfolio(frame, paths=2_000, plain=True)["method"].tolist()
    assert plain == ["lr"] * 4


def test_short_maturities_get_enough_steps():
    """A maturity shorter than 24 regular steps gets 24 steps of its own; longer rows keep
    the regular grid, and a coarse grid asked for stays coarse."""
    frame = make_frame(heston_rows([dict(id="short", maturity=0.1), dict(id="long")]))
    (group,) = engine.plan_groups(frame, "qe", steps_per_year=52)
    assert np.sum(group.times <= 0.1 + 1e-12) >= 24
    assert np.all(np.isin(np.arange(1, 53) / 52, group.times))
    (coarse,) = engine.plan_groups(make_frame(heston_rows([dict(id="c", maturity=0.5)])), "qe",
                                   steps_per_year=4)
    assert coarse.times.size == 4


def test_linear_controls_only_where_the_chain_is_a_martingale():
    """The L-controls need E[S_T] exact for the simulated chain: always under Euler, for QE
    where its martingale correction is finite at every step (ρ ≤ 0 guarantees it), not
    from v0 = 0 (QE's exact first step is uncorrected)."""
    grid = np.linspace(0.02, 1.0, 50)
    negative = Constants(grid, 1.5, 0.04, 0.5, -0.7, 0.05)
    positive = Constants(grid, 1.5, 0.04, 0.5, 0.9, 0.05)
    assert negative.is_martingale(QE, 0.04)
    assert not negative.is_martingale(QE, 0.0)
    assert not positive.is_martingale(QE, 0.04)
    assert positive.is_martingale(EULER, 0.04)
    assert negative.is_martingale(EXACT, 0.0)


@pytest.mark.parametrize("scheme", ["qe", "exact", "euler"])
def test_stored_variance_is_the_chains(scheme):
    """The variance kept on the stored dates (``states``: the early-exercise state) is the
    chain's own: on every grid point stored, V's increment is the scheme's conditional
    variance of the log-price step between the stored variances, k3 v_{k−1} + k4 v_k + k5
    (QE, exact), (1 − ρ²) max(v_{k−1}, 0) Δ (Euler); x and R do not move."""
    kappa, theta, xi, rho, v0 = 1.5, 0.04, 0.9, -0.7, 0.04
    times = np.arange(1, 13) / 52.0
    c = Constants(times, kappa, theta, xi, rho, 0.02)
    column = np.arange(times.size)

    def run(states):
        rng = np.random.default_rng(seed(24))
        return simulate_heston(rng, SCHEME_CODES[scheme], 2000, 0.0, v0, kappa, theta, xi,
                               rho, c, column, times.size, states=states)
    with_states, without = run(True), run(False)
    assert without[-1].shape == (2000, 0)
    for a, b in zip(with_states[:3], without[:3]):
        assert np.array_equal(a, b)
    _, _, variance, _, _, _, v = with_states
    before = np.hstack([np.full((v.shape[0], 1), v0), v[:, :-1]])
    if scheme == "euler":
        expected = (1.0 - rho * rho) * np.maximum(before, 0.0) * c.dt
    else:
        expected = c.k3 * before + c.k4 * v + c.k5
    assert np.allclose(np.diff(variance, axis=1, prepend=0.0), expected, rtol=1e-12,
                       atol=1e-15)


def numpy_payoff(s, row):
    """A row's discounted payoff on prices at its dates (paths × dates), in numpy."""
    omega = 1.0 if row["option_type"] == "call" else -1.0
    level = s.mean(axis=1) if row["instrument"] == "asian" else s[:, -1]
    value = np.maximum(omega * (level - row["strike"]), 0.0)
    if row["instrument"] == "barrier":
        up, out = row["barrier_type"].startswith("up"), row["barrier_type"].endswith("out")
        touched = (s >= row["barrier"]).any(axis=1) if up else (s <= row["barrier"]).any(axis=1)
        value = value * (touched != out)
    return math.exp(-row["rate"] * row["maturity"]) * value


def spot_differences(frame, scheme, paths, rng_seed, h=0.01, chunk=50_000):
    """Per row, the central difference in S0 of the discounted payoff, (V(S0(1 + h)) −
    V(S0(1 − h)))/(2hS0), on common random numbers — Heston prices scale with S0 on the
    same paths — of the scheme's own chain (payoffs in numpy), and its SE."""
    (group,) = engine.plan_groups(frame.reset_index(drop=True), scheme)
    rng = np.random.default_rng(rng_seed)
    values = [[] for _ in range(len(frame))]
    for start in range(0, paths, chunk):
        chain = group_paths(group, rng, min(chunk, paths - start))
        for j, position in enumerate(group.positions):
            row = frame.iloc[position]
            s = chain.s[:, chain.columns[group.date_start[j]:group.date_start[j + 1]]]
            values[position].append((numpy_payoff(s * (1 + h), row)
                                     - numpy_payoff(s * (1 - h), row)) / (2 * h * group.spot))
    values = [np.concatenate(v) for v in values]
    return (np.array([v.mean() for v in values]),
            np.array([v.std(ddof=1) / math.sqrt(v.size) for v in values]))


def test_from_zero_without_feller_takes_no_delta_weight():
    """v0 = 0 with 2κθ < ξ²: asian and barrier rows go by finite differences (vega exactly
    0), european and digital by conditional Monte Carlo; a method that would take the
    likelihood-ratio delta weight is refused with the row and column."""
    rows = heston_rows([dict(id="e"), dict(id="a", instrument="asian", fixings=12),
                        dict(id="b", instrument="barrier", barrier=120.0,
                             barrier_type="up-and-out", fixings=52)], v0=0.0, xi=1.0)
    frame = make_frame(rows)
    assert engine.row_methods(frame) == ["conditional+controls+antithetic", "fd+antithetic",
                                         "fd+antithetic"]
    results = greeks.price_portfolio(frame, paths=10_000, seed=seed(1))
    assert np.all(results["vega"] == 0) and np.all(np.isfinite(results["delta_se"]))
    # the asian and barrier deltas against an independent long run of the exact scheme
    reference, reference_se = spot_differences(frame.iloc[1:], "exact", 30_000, seed(101))
    assert_within(results["delta"].iloc[1:], reference,
                  combined_se(results["delta_se"].iloc[1:], reference_se))
    for method, row in (("lr", 1), ("rqmc", 2)):  # rqmc: european rows are conditioned
        with pytest.raises(greeks.InputError, match=f"row {row}: column 'v0': v0 = 0 with"):
            greeks.price_portfolio(frame, paths=2_000, method=method)


@pytest.mark.parametrize("a", [0.005, 0.12, 0.5, 0.96, 1.0, 1.5, 30.0, 400.0])
def test_gamma_quantile_inverts_the_incomplete_gamma(a):
    """QE's first step from v0 = 0 draws c·χ²_d by inversion of U = Φ(Z_v): P⁻¹(a, u)
    against scipy's, to 1e-10 relative (1e-8 at u = 1 − 1e-9, where 1 − u has lost digits)."""
    for u in (1e-12, 1e-6, 1e-3, 0.1, 0.5, 0.9, 0.999, 1 - 1e-9):
        reference = scipy.special.gammaincinv(a, u)
        assert gamma_quantile(a, u) == pytest.approx(
            reference, rel=1e-8 if u > 0.9999 else 1e-10, abs=1e-300)
