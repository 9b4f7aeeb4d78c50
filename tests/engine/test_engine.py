"""The engine against Black–Scholes, identities, finite differences and itself."""

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from helpers import assert_within, combined_se, k_for, make_frame, seed

from greeks import engine, payoffs
from greeks.engine.chunks import run_chunk
from greeks.engine.group import CHUNK_CELLS
from greeks.engine.progress import Work, chunk_cost
from greeks.engine.run import _FamilyRun, _plan_family, _run_family, _run_together
from greeks.models import adapter as model_of
from greeks.models.gbm.analytic import reference
from greeks.models.gbm.paths import simulate as simulate_gbm

QUANTITIES = ("price", "delta", "vega")


def closed_form_rows():
    rows = []
    cases = itertools.product(["european", "digital"], ["call", "put"], [80.0, 100.0, 125.0],
                              [(0.25, 0.0, 0.0), (1.0, 0.05, 0.0), (2.5, 0.03, 0.02)])
    for i, (instrument, option_type, strike, (maturity, rate, dividend)) in enumerate(cases):
        rows.append(dict(id=f"r{i}", instrument=instrument, option_type=option_type,
                         strike=strike, maturity=maturity, rate=rate, dividend=dividend,
                         vol=0.35 if i % 2 else 0.2,
                         payout=2.0 if instrument == "digital" else 1.0))
    return rows


def test_european_and_digital_match_black_scholes():
    frame = make_frame(closed_form_rows())
    estimates = engine.simulate(frame, 200_000, seed=seed(1))
    exact = np.array([reference(row)[:3] for _, row in frame.iterrows()])
    assert_within(estimates.mean, exact, estimates.se, k=k_for(exact.size))


def atm_per_path_values():
    """Quadrature grid, density and per-path f, f·w_Δ, f·w_σ, w_Δ, w_σ of the ATM call."""
    z = np.linspace(-9, 9, 200_001)
    density = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    s = 100 * np.exp((0.05 - 0.02) + 0.2 * z)
    f = math.exp(-0.05) * np.maximum(s - 100, 0)
    weights = [z / (100 * 0.2), (z * z - 1) / 0.2 - z]
    return z, density, f, weights


def sd_of(values, z, density):
    mean = np.trapezoid(values * density, z)
    return math.sqrt(np.trapezoid(values * values * density, z) - mean**2)


def kurtosis_of(values, z, density):
    centred = values - np.trapezoid(values * density, z)
    return (np.trapezoid(centred ** 4 * density, z)
            / np.trapezoid(centred ** 2 * density, z) ** 2)


def relative_se_of_sd(kurtosis, units):
    """The relative standard error of a sample SD over ``units`` draws of kurtosis κ:
    sqrt((κ − 1)/(4n))."""
    return math.sqrt((kurtosis - 1) / (4 * units))


def test_standard_errors_match_closed_form_variances():
    """For the ATM call the per-path variance of f, f·w_Δ and f·w_σ is known in closed form:
    E[f²] etc. by one-dimensional quadrature; the reported SE (a sample SD over √n) must
    agree within the sampling error of a sample SD, from the values' kurtosis (also by
    quadrature: about 243 for f·w_σ, whose SD is then only known to ~1.2 % at 400k paths)."""
    frame = make_frame([dict(id="atm")])
    n = 400_000
    estimates = engine.simulate(frame, n, seed=seed(2), plain=True)
    z, density, f, weights = atm_per_path_values()
    values = [f, f * weights[0], f * weights[1]]
    exact = np.array([sd_of(v, z, density) for v in values]) / math.sqrt(n)
    noise = exact * np.array([relative_se_of_sd(kurtosis_of(v, z, density), n) for v in values])
    assert_within(estimates.se[0], exact, noise)
    # the quadrature gives the per-path standard deviations of LR delta and vega quoted in
    # the literature
    assert exact[1:] * math.sqrt(n) == pytest.approx([1.466, 275.3], rel=1e-3)


def regression_sd(y, controls, z, density, pilot_units=None):
    """Per-unit SD of y minus its least-squares projection on the controls (quadrature);
    with ``pilot_units`` also the residual's kurtosis and the mean and SD of the relative
    increase I of its variance when the coefficients come from a pilot of m units rather
    than being exact: I = (β̂ − β)ᵀ G (β̂ − β)/σ_r², β̂ − β ≈ G⁻¹ (1/m) Σ c r, so I is a
    quadratic form in a normal vector, Σ λ_j χ²_1 with λ the eigenvalues of
    G⁻¹ E[c cᵀ r²]/(m σ_r²): mean Σ λ, SD √(2 Σ λ²) (G the controls' Gram matrix)."""
    def expect(v):
        return np.trapezoid(v * density, z)

    centred = [c - expect(c) for c in controls]
    y = y - expect(y)
    gram = np.array([[expect(a * b) for b in centred] for a in centred])
    beta = np.linalg.lstsq(gram, [expect(y * c) for c in centred], rcond=1e-12)[0]
    y = y - sum(b * c for b, c in zip(beta, centred))
    variance = expect(y * y)
    if pilot_units is None:
        return math.sqrt(variance)
    weighted = np.array([[expect(a * b * y * y) for b in centred] for a in centred])
    lam = np.linalg.eigvals(np.linalg.solve(gram, weighted)).real / (pilot_units * variance)
    return (math.sqrt(variance), expect(y ** 4) / variance ** 2, lam.sum(),
            math.sqrt(2 * (lam ** 2).sum()))


def test_controls_and_antithetics_reach_the_optimal_variance():
    """Default estimators on the ATM call: the SE is that of the optimal regression of the
    antithetic pair average of f, f·w_Δ, f·w_σ on the pair averages of their controls
    (L; L, w_Δ, L·w_Δ; w_σ, L·w_σ) (L = e^{−rT} S_T), by quadrature.  In variance units
    SE²/SE*² = (1 + I)(1 + ε): I ≥ 0 the pilot coefficients' inflation (mean and SD from
    :func:`regression_sd`), ε the sample variance's relative error (SD √((κ − 1)/n), κ the
    residual's kurtosis, over 1 000 for delta and vega).  So SE²/SE*² − 1 lies within
    [−k·SD_ε, E I + k·√(SD_I² + SD_ε²)].  With κ that large the sample variance is skewed
    far to the right (a few extreme paths carry it; over 60 seeds one run in 60 sat near
    4 SD above): each side is checked on the nearer of two independent runs, so a pass
    needs only one run outside that side's tail, while a systematic error fails both.  The
    issue's targets hold by far: delta SE ≥ 3× and vega SE ≥ 4× smaller than plain LR
    (1.466, 275.3 per path)."""
    frame = make_frame([dict(id="atm")])
    n = 400_000
    runs = np.array([engine.simulate(frame, n, seed=seed(s)).se[0] for s in (2, 12)])
    z, density, f, (w_delta, w_vega) = atm_per_path_values()
    linear = math.exp(-0.05) * 100 * np.exp((0.05 - 0.02) + 0.2 * z)

    def pair(v):
        return 0.5 * (v + v[::-1])  # z → −z on the symmetric grid

    controls = [[linear], [linear, w_delta, linear * w_delta], [w_vega, linear * w_vega]]
    pilot = engine.pilot_paths(n) // 2
    for k, y in enumerate([f, f * w_delta, f * w_vega]):
        sd, kurtosis, inflation, inflation_sd = regression_sd(
            pair(y), [pair(c) for c in controls[k]], z, density, pilot)
        ratio = (runs[:, k] / (sd / math.sqrt(n / 2))) ** 2 - 1
        sampling = math.sqrt((kurtosis - 1) / (n // 2))
        assert_within(ratio.max(), 0.0, sampling, label=f"{QUANTITIES[k]} (lower)",
                      upper=math.inf)
        assert_within(ratio.min(), -math.inf, math.hypot(inflation_sd, sampling),
                      label=f"{QUANTITIES[k]} (upper)", upper=inflation)
    assert np.all(1.466 / math.sqrt(n) / runs[:, 1] > 3)
    assert np.all(275.3 / math.sqrt(n) / runs[:, 2] > 4)


def test_put_call_parity_through_the_group_total():
    frame = make_frame([dict(id="c", strike=105.0, dividend=0.02),
                        dict(id="p", strike=105.0, dividend=0.02, option_type="put",
                             quantity=-1.0)])
    estimates = engine.simulate(frame, 100_000, seed=seed(3), plain=True)
    forward = 100 * math.exp(-0.02) - 105 * math.exp(-0.05)
    expected = (forward, math.exp(-0.02), 0.0)
    assert_within(estimates.total_mean, expected, estimates.total_se)
    # rows share paths, so the total's SE comes from per-path sums, not from the rows' SEs:
    # per path call − put = e^{−rT}(S_T − K), whose standard deviation is known exactly
    sd = math.exp(-0.05) * 100 * math.exp(0.03) * math.sqrt(math.exp(0.04) - 1)
    kurtosis = math.exp(0.16) + 2 * math.exp(0.12) + 3 * math.exp(0.08) - 3  # lognormal
    exact_se = sd / math.sqrt(100_000)
    assert_within(estimates.total_se[0], exact_se,
                  exact_se * relative_se_of_sd(kurtosis, 100_000))
    assert estimates.total_se[0] > 1.1 * math.hypot(*estimates.se[:, 0])
    # with the default controls (L = e^{−rT} S_T for both rows) call − put = L − DK is
    # a linear function of the control: exact up to rounding
    improved = engine.simulate(frame, 100_000, seed=seed(3), method="lr")
    assert_within(improved.total_mean, expected, improved.total_se + 1e-12)  # SE: rounding
    assert np.all(improved.total_se < 0.01 * estimates.total_se)


def test_in_plus_out_is_vanilla_on_the_same_paths():
    rows = []
    for kind, level in [("up", 115.0), ("down", 90.0)]:
        for side in ("in", "out"):
            rows.append(dict(id=f"{kind}-{side}", instrument="barrier", barrier=level,
                             barrier_type=f"{kind}-and-{side}", fixings=12))
    rows.append(dict(id="vanilla"))
    frame = make_frame(rows)
    estimates = engine.simulate(frame, 50_000, seed=seed(4), plain=True)  # no row-specific controls
    price = dict(zip(frame["id"], estimates.mean[:, 0]))
    for kind in ("up", "down"):
        assert price[f"{kind}-in"] + price[f"{kind}-out"] == pytest.approx(price["vanilla"],
                                                                           rel=1e-12)


def test_asian_with_one_fixing_is_the_european():
    frame = make_frame([dict(id="asian", instrument="asian", fixings=1, option_type="put"),
                        dict(id="euro", option_type="put")])
    estimates = engine.simulate(frame, 20_000, seed=seed(5))
    np.testing.assert_array_equal(estimates.mean[0], estimates.mean[1])
    np.testing.assert_array_equal(estimates.se[0], estimates.se[1])


def test_far_barriers_are_vanilla():
    frame = make_frame([
        dict(id="uo", instrument="barrier", barrier=1e6, barrier_type="up-and-out", fixings=52),
        dict(id="do", instrument="barrier", barrier=1e-6, barrier_type="down-and-out", fixings=52),
        dict(id="ui", instrument="barrier", barrier=1e6, barrier_type="up-and-in", fixings=52),
        dict(id="euro", quantity=-1.0),
    ])
    estimates = engine.simulate(frame, 50_000, seed=seed(6), plain=True)  # no row-specific controls
    assert estimates.mean[0, 0] == estimates.mean[3, 0] == estimates.mean[1, 0]
    assert np.all(estimates.mean[2] == 0.0)
    # delta and vega use the barrier's 52 dates, not the European's one: equal in mean only.
    # Total = uo + do + ui - euro = vanilla (52-date weights) - vanilla (1 date): mean 0.
    frame.loc[frame["id"] == "do", "quantity"] = 0.0
    estimates = engine.simulate(frame, 50_000, seed=seed(6))
    assert_within(estimates.total_mean, 0.0, estimates.total_se)


def crn_finite_difference(row, parameter, bump, n=200_000, rng_seed=seed(99)):
    """Central difference of the discounted payoff on common random numbers, per path."""
    frame = make_frame([row])
    group = engine.plan_groups(frame)[0]
    dates = group.date_index
    values = []
    for sign in (1.0, -1.0):
        spot = group.spot + sign * bump if parameter == "spot" else group.spot
        vol = group.params[0] + sign * bump if parameter == "vol" else group.params[0]
        rng = np.random.Generator(np.random.PCG64(rng_seed))
        _, s = simulate_gbm(rng, n, group.times, math.log(spot), group.rate, vol, False)
        np.exp(s, out=s)
        out = np.empty(n)
        payoffs.evaluate(s, dates, group.payoff, 0, out)
        values.append(out)
    difference = (values[0] - values[1]) / (2 * bump)
    return difference.mean(), difference.std(ddof=1) / math.sqrt(n)


@pytest.mark.parametrize("row", [
    dict(id="asian-call", instrument="asian", fixings=12),
    dict(id="asian-put", instrument="asian", option_type="put", fixings=52, strike=95.0),
    dict(id="uo-call", instrument="barrier", barrier=125.0, barrier_type="up-and-out", fixings=12),
    dict(id="di-put", instrument="barrier", option_type="put", barrier=90.0,
         barrier_type="down-and-in", fixings=12),
], ids=lambda r: r["id"])
def test_path_products_match_crn_finite_differences(row):
    estimates = engine.simulate(make_frame([row]), 200_000, seed=seed(7))
    for k, (parameter, bump) in [(1, ("spot", 0.5)), (2, ("vol", 0.005))]:
        fd, fd_se = crn_finite_difference(row, parameter, bump)
        assert_within(estimates.mean[0, k], fd, combined_se(fd_se, estimates.se[0, k]),
                      label=parameter)


def test_grid_is_the_union_of_row_dates():
    frame = make_frame([dict(id="a", instrument="asian", maturity=1.0, fixings=4),
                        dict(id="b", instrument="barrier", maturity=0.5, fixings=6,
                             barrier=130.0, barrier_type="up-and-out"),
                        dict(id="c", maturity=0.3),
                        dict(id="d", instrument="asian", maturity=0.3, fixings=3)])
    (group,) = engine.plan_groups(frame)
    expected = np.unique(np.round(np.concatenate([np.arange(1, 5) / 4, 0.5 * np.arange(1, 7) / 6,
                                                  [0.3], 0.3 * np.arange(1, 4) / 3]), 12))
    np.testing.assert_allclose(group.times, expected, atol=1e-11)
    for j, position in enumerate(group.positions):
        row = frame.iloc[position]
        dates = group.date_index[group.date_start[j]:group.date_start[j + 1]]
        np.testing.assert_allclose(group.times[dates],
                                   engine.row_dates(row["maturity"], row["fixings"]), rtol=1e-12)


def test_groups_split_on_parameters_and_underlying():
    frame = make_frame([dict(id="a"), dict(id="b", strike=90.0), dict(id="c", vol=0.3),
                        dict(id="d", underlying="XYZ"), dict(id="e", spot=101.0)])
    groups = engine.plan_groups(frame)
    assert sorted(len(g.positions) for g in groups) == [1, 1, 1, 2]


# determinism ----------------------------------------------------------------------------


def mixed_rows():
    return [dict(id="e1"), dict(id="d1", instrument="digital", option_type="put", strike=95.0),
            dict(id="a1", instrument="asian", fixings=12),
            dict(id="b1", instrument="barrier", barrier=120.0, barrier_type="up-and-out",
                 fixings=12, quantity=-2.0),
            dict(id="x1", spot=50.0, strike=50.0, vol=0.4, underlying="XYZ")]


def by_id(frame, estimates):
    return {i: (tuple(estimates.mean[k]), tuple(estimates.se[k]))
            for k, i in enumerate(frame["id"])}


def test_same_seed_is_bit_identical_and_seeds_differ():
    frame = make_frame(mixed_rows())
    first = engine.simulate(frame, 70_000, seed=seed(8))
    second = engine.simulate(frame, 70_000, seed=seed(8))
    np.testing.assert_array_equal(first.mean, second.mean)
    np.testing.assert_array_equal(first.total_se, second.total_se)
    other = engine.simulate(frame, 70_000, seed=seed(9))
    assert not np.any(first.mean[:, 0] == other.mean[:, 0])


def test_row_order_and_threads_do_not_matter():
    frame = make_frame(mixed_rows())
    reference_run = engine.simulate(frame, 150_000, seed=seed(10), threads=1)
    shuffled = frame.sample(frac=1.0, random_state=seed(3)).reset_index(drop=True)
    shuffled_run = engine.simulate(shuffled, 150_000, seed=seed(10), threads=2)
    assert by_id(frame, reference_run) == by_id(shuffled, shuffled_run)
    np.testing.assert_array_equal(reference_run.total_mean, shuffled_run.total_mean)
    np.testing.assert_array_equal(reference_run.total_se, shuffled_run.total_se)


def test_other_groups_leave_a_group_untouched():
    rows = mixed_rows()
    alone = make_frame(rows)
    with_more = make_frame(rows + [dict(id="new", underlying="ABC", spot=30.0, strike=31.0)])
    first = by_id(alone, engine.simulate(alone, 30_000, seed=seed(11)))
    second = by_id(with_more, engine.simulate(with_more, 30_000, seed=seed(11)))
    assert all(second[i] == first[i] for i in first)


def test_memory_per_chunk_is_bounded():
    frame = make_frame([dict(id="daily", instrument="asian", maturity=5.0)])
    (group,) = engine.plan_groups(frame)
    assert group.times.size == 1260
    assert group.chunk_size * group.times.size <= CHUNK_CELLS
    assert sum(n for _, n in group.chunks(1_000_001)) == 1_000_001


def test_degenerate_rows_report_what_unseen_events_could_carry():
    """A day-old deep out-of-the-money call or a sure digital: no path shows the strike
    event, so the sample variance is zero (or rounding); the reported SE is the bound of
    what an unseen event could carry (greeks.engine.reduce._unseen_floor), and the closed form lies
    within it."""
    rows = [dict(id="otm-call", strike=125.0, maturity=0.05, vol=0.09),
            dict(id="itm-call", strike=75.0, maturity=0.05),
            dict(id="sure-digital", instrument="digital", strike=80.0, maturity=0.05,
                 vol=0.18)]
    frame = make_frame(rows)
    estimates = engine.simulate(frame, 200_000, seed=seed(8))
    exact = np.array([reference(row)[:3] for _, row in frame.iterrows()])
    assert np.all(estimates.se > 0)
    assert_within(estimates.mean, exact, estimates.se)


def test_conditional_estimates_keep_their_small_standard_errors():
    """A 0.2-year Heston digital put deep in the money, its Greeks by central differences of
    the conditional value (``method="fd"``): the vega's SE (about 4·10⁻⁸) is its estimates'
    spread over 8 seeds, spread / mean SE within [0.35, 2.5] (its sampling error about a
    quarter), not the unseen-event bound some 10⁴ times larger (the conditional values are
    smooth: no event left unseen); every estimate within k SE of the Fourier values."""
    import greeks
    from greeks.models.heston.analytic import heston_digital

    law = dict(v0=0.0296, kappa=1.907, theta=0.067, xi=0.706, rho=-0.877)
    frame = make_frame([dict(id="deep", instrument="digital", option_type="put",
                             strike=146.0, maturity=0.198, spot=109.32, rate=0.0095,
                             dividend=0.0228, model="heston", **law)])
    runs = [greeks.price_portfolio(frame, paths=20_000, seed=seed(60 + s), method="fd",
                                   threads=1).iloc[0] for s in range(8)]
    greek_names = ("price", "delta", "vega")
    estimates = np.array([[run[g] for g in greek_names] for run in runs])
    errors = np.array([[run[f"{g}_se"] for g in greek_names] for run in runs])
    ratio = estimates[:, 2].std(ddof=1) / errors[:, 2].mean()
    assert 0.35 <= ratio <= 2.5, (ratio, errors[:, 2].mean())
    exact = heston_digital("put", 109.32, 146.0, 0.198, 0.0095, dividend=0.0228, **law)
    assert_within(estimates, np.array([[exact.price, exact.delta, exact.vega]] * len(runs)),
                  errors, k_for(estimates.size))


def test_revalued_and_dated_greeks_of_a_sure_digital_get_the_floor():
    """A Heston digital put every path pays, flat (rho and theta by revaluation) and off a
    market (rho and theta from the buckets): no SE at rounding level, and the reference
    within it (flat: central differences of the Fourier price in r and T; off a market the
    price of a sure payout, −T·DF(T), DF from the curve's zero rate written here)."""
    import pandas as pd

    import greeks
    from greeks.models.heston.analytic import heston_digital

    law = dict(v0=0.04, kappa=1.5, theta=0.04, xi=0.3, rho=-0.5)
    flat = greeks.price_portfolio(make_frame([dict(
        id="flat", instrument="digital", option_type="put", strike=150.0, maturity=0.09,
        rate=0.03, model="heston", **law)]), paths=20_000, seed=seed(12),
        greeks="rho,theta").iloc[0]
    market = {"valuation_date": "2027-03-01", "curves": {"USD": 0.03},
              "underlyings": {"H": {"spot": 100.0, "curve": "USD", "heston": law}}}
    dated = greeks.price_portfolio(pd.DataFrame([dict(
        id="dated", instrument="digital", option_type="put", strike=150.0,
        expiry="2027-04-03", underlying="H")]), market=market, paths=20_000, seed=seed(13),
        greeks="rho,theta").iloc[0]
    for row in (flat, dated):
        assert row["rho_rate_se"] > 1e-6 and row["theta_per_year_se"] > 1e-6, row["id"]

    def value(rate=0.03, maturity=0.09):
        return heston_digital("put", 100.0, 150.0, maturity, rate, **law).price

    h = 1e-4
    k = k_for(3)
    assert_within(flat["rho_rate"], (value(rate=0.03 + h) - value(rate=0.03 - h)) / (2 * h),
                  flat["rho_rate_se"], k)
    assert_within(flat["theta_per_year"],
                  (value(maturity=0.09 - h) - value(maturity=0.09 + h)) / (2 * h),
                  flat["theta_per_year_se"], k)
    t = 33 / 365
    assert_within(dated["rho_rate"], -t * math.exp(-0.03 * t), dated["rho_rate_se"], k)


def test_the_unseen_event_floor_reaches_subtotals():
    """A deep out-of-the-money call alone in its subtotal: the subtotal's SE is the row's
    floored SE (times its weight), as the grand total's includes it."""
    frame = make_frame([dict(id="otm", strike=200.0, maturity=0.05),
                        dict(id="atm", quantity=3.0)])
    estimates = engine.simulate(frame, 20_000, seed=seed(9), subtotal=np.array([0, 1]))
    otm = frame.index[frame["id"] == "otm"][0]
    assert estimates.se[otm, 0] > 0
    np.testing.assert_allclose(estimates.subtotal_se[0, :3], estimates.se[otm, :3], rtol=1e-12)
    assert np.all(estimates.total_se[:3] >= estimates.subtotal_se[0, :3])


def test_the_risk_report_floors_revalued_and_bucket_rho_and_theta():
    """The risk report's rho and theta of sure digital calls (GBM and Heston off a market:
    the buckets'; Heston flat: the revaluations') get the floor price_portfolio reports,
    in desk units, on the positions, on their subtotals (each alone in its book) and on the
    total (which gains the same variance)."""
    import pandas as pd

    import greeks

    law = dict(v0=0.04, kappa=2.0, theta=0.05, xi=0.3, rho=-0.7)
    market = {"valuation_date": "2027-01-01", "curves": {"USD": 0.03},
              "underlyings": {"A": {"spot": 100.0, "curve": "USD", "vol": 0.2},
                              "H": {"spot": 100.0, "curve": "USD", "heston": law}}}
    digital = dict(instrument="digital", option_type="call", expiry="2027-03-01", payout=1.0)
    dated = pd.DataFrame([
        dict(id="gbm", book="b1", underlying="A", strike=40.0, quantity=2.0, **digital),
        dict(id="heston", book="b2", underlying="H", strike=30.0, quantity=-3.0, **digital),
        dict(id="atm", book="b3", underlying="A", instrument="european", option_type="call",
             strike=100.0, expiry="2027-12-01")])
    flat = make_frame([dict(id="heston-flat", book="b1", instrument="digital", strike=30.0,
                            maturity=0.16, model="heston", **law),
                       dict(id="atm", book="b2", quantity=3.0)])
    for frame, options in ((dated, dict(market=market)), (flat, {})):
        run = dict(paths=20_000, seed=seed(14), greeks="rho,theta", **options)
        report = greeks.risk_report(frame, by="book", **run)
        priced = greeks.price_portfolio(frame, **run).set_index("id")
        positions = report.attrs["positions"].set_index("id")
        for name, column, scale in (("rho", "rho_rate", 1e-4), ("theta", "theta_per_year",
                                                                  1.0 / 365.0)):
            desk = f"{name}_per_bp" if name == "rho" else f"{name}_per_day"
            quantity = frame.set_index("id")["quantity"].abs()
            sure = [i for i in positions.index if i != "atm"]
            expected = scale * quantity[sure] * priced.loc[sure, f"{column}_se"]
            np.testing.assert_allclose(positions.loc[sure, f"{desk}_se"], expected, rtol=1e-9)
            assert (positions.loc[sure, f"{desk}_se"] > 1e-5 * scale).all(), name
            books = report.set_index("book").loc[positions.loc[sure, "book"], f"{desk}_se"]
            np.testing.assert_allclose(books.to_numpy(), expected.to_numpy(), rtol=1e-9)
            total = report[f"{desk}_se"].iloc[-1]
            assert total ** 2 >= (expected ** 2).sum() * (1 - 1e-9), name


def test_the_unseen_floor_of_a_frame_is_that_of_its_rows_one_by_one():
    """``greeks.api.unseen_floor`` on a whole frame (its floor scales in one call, its bounds
    per path count and exact-vega flag) raises every SE as on each row alone, bit for bit:
    rows of every payoff kind, GBM and Heston (v0 = 0: vega and vanna exactly 0, and
    σ0 = 0.2), an american row, per-row path counts, SEs degenerate, ordinary and NaN."""
    from greeks.api import unseen_floor

    heston = dict(model="heston", v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
    frame = make_frame([
        dict(id="e", strike=300.0), dict(id="d", instrument="digital", strike=30.0),
        dict(id="b", instrument="barrier", barrier=150.0, barrier_type="up-and-in",
             fixings=12),
        dict(id="a", instrument="asian", fixings=4, option_type="put"),
        dict(id="am", instrument="american", option_type="put"),
        dict(id="h", **heston), dict(id="h0", **{**heston, "v0": 0.0})])
    names = ["price", "delta", "vega", "gamma", "rho", "theta", "vanna", "volga"]
    rng = np.random.default_rng(seed(9_100))
    se = rng.random((len(frame), len(names))) * np.where(rng.random((len(frame), 1)) < 0.5,
                                                         1e-14, 1.0)
    se[1, 2] = np.nan
    paths = {row_id: 2_000 * (1 + i % 3) for i, row_id in enumerate(frame["id"])}
    whole = se.copy()
    added = unseen_floor(frame, names, whole, paths)
    for i in range(len(frame)):
        alone = se[i:i + 1].copy()
        assert np.array_equal(unseen_floor(frame.iloc[i:i + 1], names, alone, paths),
                              added[i:i + 1])
        assert np.array_equal(alone, whole[i:i + 1], equal_nan=True)
    seen = np.isfinite(se)
    assert (whole[seen] >= se[seen]).all() and (whole > se).any()  # some raised


@pytest.mark.parametrize("model", ["gbm", "heston"])
def test_finite_differences_compute_only_the_greeks_taken(model):
    """A finite-difference group that ``auto`` takes only prices (or prices and deltas) from
    skips the other bumps: the Greeks it takes are bit-identical to the full group's, the
    others read 0, and its progress cost is the adapter's share of the full one."""
    heston = dict(model="heston", v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
    rows = [dict(id="eu", instrument="european"),
            dict(id="uo", instrument="barrier", barrier=130.0, barrier_type="up-and-out",
                 fixings=12),
            dict(id="as", instrument="asian", fixings=4)]
    frame = make_frame([{**row, **(heston if model == "heston" else {})} for row in rows])
    (group,) = _plan_family(frame, 2048, method="fd").groups
    full, _ = run_chunk(group, seed(5), 0, 2048)
    for taken in ([True, False, False], [True, True, False]):
        needed = np.array([taken] * group.n_rows)
        part = replace(group, needed=needed)
        some, _ = run_chunk(part, seed(5), 0, 2048)
        for k, kept in enumerate(taken):
            expected = full[:group.n_rows, k] if kept else 0.0
            np.testing.assert_array_equal(some[:group.n_rows, k], expected)
        spot, vol = model_of(model).bump_share
        share = 1.0 - vol - (0.0 if taken[1] else spot)
        assert chunk_cost(part, 2048) == pytest.approx(share * chunk_cost(group, 2048))


def test_families_run_side_by_side_give_the_numbers_of_one_after_another():
    """Several families' runs in shared phases (pilots together, then main chunks) reduce
    each to the estimates it gives alone, bit for bit, on threads as on one."""
    frame = make_frame([dict(id="eu"), dict(id="dg", instrument="digital"),
                        dict(id="as", instrument="asian", fixings=12),
                        dict(id="uo", instrument="barrier", barrier=130.0,
                             barrier_type="up-and-out", fixings=12)])
    families = ("auto", "fd", "pathwise")
    planned = [_plan_family(frame, 6000, method=family) for family in families]
    alone = [_run_family(frame, plan, seed(9), threads=1) for plan in planned]
    for threads in (1, 2):
        work = Work()
        runs = [_FamilyRun.prepare(frame, plan, seed(9), work) for plan in planned]
        together = _run_together(runs, seed(9), threads, work, "local")
        for one, other in zip(alone, together):
            np.testing.assert_array_equal(one.mean, other.mean)
            np.testing.assert_array_equal(one.se, other.se)
            np.testing.assert_array_equal(one.total_se, other.total_se)
