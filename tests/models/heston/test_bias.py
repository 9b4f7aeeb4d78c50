"""Bias that does not grow against the standard error: the Heston grid refined with the path
count, and central differences extrapolated from bumps h and 2h."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_within, closed_form, k_for, make_frame, seed

from greeks import engine, pathwise
from greeks.models.heston import adapter
from greeks.models.heston.adapter import ADAPTER, steps_per_year

BROADIE_KAYA_1 = dict(model="heston", vol=None, v0=0.010201, kappa=6.21, theta=0.019,
                      xi=0.61, rho=-0.7, rate=0.0319)
LOW_VOL_OF_VOL = dict(model="heston", vol=None, spot=84.91, strike=84.92, maturity=0.974,
                      rate=0.0311, dividend=0.0162, v0=0.1383, kappa=3.236, theta=0.1511,
                      xi=0.12, rho=-0.001)


def test_grid_is_the_base_grid_up_to_the_reference_path_count():
    base = steps_per_year(0.61, 0.019)  # max(52, ⌈4ξ²/θ⌉) = 79
    assert base == 79.0
    for paths in (0, 1_000, 200_000):
        assert steps_per_year(0.61, 0.019, paths=paths) == base
    assert steps_per_year(0.5, 0.04, paths=adapter.REFERENCE_PATHS) == 52.0


def test_grid_steps_grow_as_the_fourth_root_of_the_path_count():
    """Bias ∝ Δ², SE ∝ N^(−1/2): steps ∝ N^(1/4) beyond N_ref (16·N_ref: twice the steps)."""
    n_ref = adapter.REFERENCE_PATHS
    assert steps_per_year(0.5, 0.04, paths=16 * n_ref) == 104.0
    assert steps_per_year(0.61, 0.019, paths=16 * n_ref) == 158.0
    assert steps_per_year(0.5, 0.04, paths=81 * n_ref) == 156.0
    counts = [steps_per_year(0.5, 0.04, paths=n) for n in (400_000, 2_000_000, 10 ** 7, 10 ** 8)]
    assert counts == sorted(counts) and counts[0] > 52
    assert steps_per_year(1.2, 0.01, paths=10 ** 12) == adapter.MAX_REFINED_STEPS_PER_YEAR


def test_explicit_steps_per_year_is_kept_at_any_path_count():
    for paths in (0, 200_000, 10 ** 7):
        assert steps_per_year(0.5, 0.04, 24.0, paths) == 24.0
    frame = make_frame([dict(id="h", **BROADIE_KAYA_1)])
    for paths in (1_000, 10 ** 7):
        (group,) = engine.plan_groups(frame, steps_per_year=24.0, paths=paths)
        assert group.times.size == 24


def test_planned_grid_follows_each_group_path_count():
    frame = make_frame([dict(id="h", **BROADIE_KAYA_1),
                        dict(id="g", maturity=0.005, underlying="short", **BROADIE_KAYA_1)])

    def sizes(groups):
        return {frame["id"].iat[g.positions[0]]: g.times.size for g in groups}
    small = engine.plan_groups(frame, paths=200_000)
    large = engine.plan_groups(frame, paths=16 * adapter.REFERENCE_PATHS)
    assert sizes(small) == {"g": 24, "h": 79}  # a short maturity: MIN_STEPS steps
    assert sizes(large) == {"g": 48, "h": 158}  # both refined twofold
    # per-row counts (--target-se): each group its rows' own
    counts = {"g": 100, "h": 16 * adapter.REFERENCE_PATHS}
    assert sizes(engine.plan_groups(frame, paths=counts)) == {"g": 24, "h": 158}


S31_7 = dict(model="heston", vol=None, instrument="digital", option_type="put", spot=122.57,
             strike=113.34, maturity=1.001, rate=0.0417, dividend=0.0261, v0=0.1336,
             kappa=0.57, theta=0.1291, xi=1.136, rho=-0.346)


def test_feller_steps_grow_with_the_feller_deficit():
    """⌈26 (ξ²/(2κθ) − 1)⌉ steps before each maturity on the automatic grid, none where
    Feller's condition holds, refined like the regular steps."""
    assert adapter.feller_steps(0.57, 0.1291, 1.136) == 202  # s31-7: ξ²/(2κθ) = 8.77
    assert adapter.feller_steps(1.5, 0.045, 0.3) == 0  # ξ² < 2κθ
    assert adapter.feller_steps(0.57, 0.1291, 1.136, 16 * adapter.REFERENCE_PATHS) == 404
    assert adapter.feller_steps(1e-3, 1e-3, 5.0) == adapter.MAX_STEPS_PER_YEAR
    frame = make_frame([dict(id="d", **S31_7), dict(id="q", **{**S31_7, "maturity": 0.1})])
    (group,) = engine.plan_groups(frame, paths=200_000)
    before = [group.times[group.times <= t + 1e-12] for t in (0.1, 1.001)]
    assert [times.size >= 202 for times in before] == [True, True]
    assert np.diff(np.concatenate(([0.0], before[1]))).max() <= 1.001 / 202 + 1e-12
    (explicit,) = engine.plan_groups(frame, steps_per_year=52.0, paths=200_000)
    # an explicit grid is kept: its 52 steps to 1, the maturity 1.001, 24 steps to 0.1
    assert explicit.times.size == 52 + 1 + 24


def test_feller_steps_leave_the_published_grids():
    """Each published case's maturity already holds more regular steps than its Feller
    count: the grids, and so the numbers, are those of the regular steps alone."""
    table = pd.read_csv(Path(__file__).resolve().parents[3] / "data" / "heston_reference.csv")
    for case in table.to_dict("records"):
        row = dict(id=case["case"], model="heston", vol=None, option_type="call",
                   **{k: case[k] for k in ("spot", "strike", "maturity", "rate", "dividend",
                                           "v0", "kappa", "theta", "xi", "rho")})
        (group,) = engine.plan_groups(make_frame([row]), paths=200_000)
        steps = steps_per_year(case["xi"], case["theta"])
        assert group.times.size == math.ceil(case["maturity"] * steps - 1e-9), case["case"]
        assert adapter.feller_steps(case["kappa"], case["theta"], case["xi"]) < \
            case["maturity"] * steps


def test_extrapolated_difference_is_fourth_order():
    """On exp: the central difference is off by h²/6, the extrapolation by h⁴/30."""
    x = 0.3
    for h in (0.1, 0.05):
        central = (math.exp(x + h) - math.exp(x - h)) / (2 * h)
        richardson = pathwise.extrapolated(math.exp(x + h), math.exp(x - h), math.exp(x + 2 * h),
                                           math.exp(x - 2 * h), h)
        assert central - math.exp(x) == pytest.approx(math.exp(x) * h * h / 6, rel=0.01)
        assert richardson - math.exp(x) == pytest.approx(-math.exp(x) * h ** 4 / 30, rel=0.02)


def test_heston_stencil_holds_the_sigma0_chains_two_bumps_apart():
    """σ0 ± h and σ0 ± 2h (h = 0.002, at most σ0/4) on the same stream: the bumped chains
    prices are those of the chains simulated from those σ0 directly."""
    frame = make_frame([dict(id="h", **BROADIE_KAYA_1)])
    (group,) = engine.plan_groups(frame, method="fd", plain=False)
    stream = np.random.SeedSequence(seed(5), spawn_key=(1,))
    bumped = ADAPTER.bumped_paths(group, stream, 256)
    assert len(bumped.bumped) == 8 and bumped.vol_step == pathwise.HESTON_VOL_BUMP
    sigma0 = math.sqrt(BROADIE_KAYA_1["v0"])
    for k, step in enumerate((1, -1, 2, -2)):
        direct = adapter.group_paths(group, np.random.Generator(np.random.PCG64(stream)), 256,
                                     (sigma0 + step * pathwise.HESTON_VOL_BUMP) ** 2)
        np.testing.assert_array_equal(bumped.bumped[4 + k], direct.s)
    assert pathwise.HESTON_VOL_BUMP < sigma0 / 4


def test_refined_grid_removes_a_bias_the_fixed_grid_shows(monkeypatch):
    """With the base grid made coarse (12 steps a year, N_ref = 2,000 paths), a run of
    200,000 paths refines it to ⌈12 · 100^(1/4)⌉ = 38 steps: Broadie–Kaya I's price, delta
    and vega lie within k SE of the semi-analytic values, where the fixed 12-step grid is
    off by about 4.4, 7.7 and 7.5 SE (its bias measured at 4·10⁶ paths)."""
    monkeypatch.setattr(adapter, "MIN_STEPS_PER_YEAR", 12)
    monkeypatch.setattr(adapter, "BIAS_STEPS", 0.0)
    monkeypatch.setattr(adapter, "FELLER_STEPS", 0.0)
    monkeypatch.setattr(adapter, "REFERENCE_PATHS", 2_000)
    frame = make_frame([dict(id="bk1", **BROADIE_KAYA_1)])
    paths = 200_000
    assert engine.plan_groups(frame, paths=paths)[0].times.size == 38
    reference = np.array(closed_form(frame.iloc[0]))
    refined = engine.simulate(frame, paths, seed(1), threads=1)
    assert_within(refined.mean[0, :3], reference, refined.se[0, :3], k=k_for(3),
                  label="refined")
    fixed = engine.simulate(frame, paths, seed(1), threads=1, steps_per_year=12.0)
    z = (fixed.mean[0, :3] - reference) / fixed.se[0, :3]
    assert np.abs(z).max() > k_for(3), z  # the check above can fail: the fixed grid does


def test_finite_differences_of_a_low_vol_of_vol_row_are_unbiased():
    """ξ = 0.12: the conditional values hardly vary, so their central differences have a
    small spread (delta SE about 2·10⁻⁷ at 200,000 paths) and a one-step spot difference
    of h = 0.005 would be off by 6.8·10⁻⁶ (about 30 SE); the extrapolated spot and σ0
    differences are within k SE of the semi-analytic values."""
    frame = make_frame([dict(id="low-xi", **LOW_VOL_OF_VOL)])
    reference = np.array(closed_form(frame.iloc[0]))
    run = engine.simulate(frame, 200_000, seed(2), threads=1, method="fd")
    assert_within(run.mean[0, :3], reference, run.se[0, :3], k=k_for(3), label="fd")
    assert run.se[0, 1] < 1e-6  # the spread that makes the one-step bias visible


def test_gbm_finite_differences_against_black_scholes():
    frame = make_frame([dict(id="call"), dict(id="put", option_type="put", strike=90.0,
                                              vol=0.35, maturity=2.0),
                        dict(id="digital", instrument="digital", strike=110.0)])
    run = engine.simulate(frame, 200_000, seed(3), threads=1, method="fd")
    reference = np.array([closed_form(row) for _, row in frame.iterrows()])
    assert_within(run.mean[:, :3], reference, run.se[:, :3], k=k_for(9), label="gbm fd")


@pytest.mark.slow
def test_default_settings_at_four_million_paths():
    """Broadie–Kaya I at 4·10⁶ paths and every default (the grid refined from 79 to 168
    steps): within k SE of the semi-analytic values (on the base grid its delta and vega
    biases are about 1.2 SE of this run)."""
    frame = make_frame([dict(id="bk1", **BROADIE_KAYA_1)])
    run = engine.simulate(frame, 4_000_000, seed(4))
    assert_within(run.mean[0, :3], np.array(closed_form(frame.iloc[0])), run.se[0, :3],
                  k=k_for(3), label="bk1")


@pytest.mark.slow
def test_feller_steps_remove_the_bias_of_a_digital_near_zero_variance():
    """The s31-7 digital put (ξ²/(2κθ) = 8.8) at 2·10⁶ paths and every default (93 regular
    steps and 360 Feller steps): within k SE of the semi-analytic values, where its base
    grid of 52 steps a year is off by about 2.3 SE of 200,000 paths in delta, some 7 SE of
    this run (benchmarks/results/heston_feller.md)."""
    frame = make_frame([dict(id="s31-7", **S31_7)])
    reference = np.array(closed_form(frame.iloc[0]))
    run = engine.simulate(frame, 2_000_000, seed(5))
    assert_within(run.mean[0, :3], reference, run.se[0, :3], k=k_for(3), label="feller")
    base = engine.simulate(frame, 2_000_000, seed(5), steps_per_year=52.0)
    z = (base.mean[0, :3] - reference) / base.se[0, :3]
    assert np.abs(z).max() > k_for(3), z  # the check above can fail: the base grid does
