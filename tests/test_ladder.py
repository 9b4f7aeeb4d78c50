"""Spot ladders by likelihood-ratio reweighting against full re-pricing."""

import math

import numpy as np
import pandas as pd
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
from greeks.cli import main
from greeks.ladder import shift_grid, spot_ladder
from greeks.names import OptionError

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7,
              underlying="H")


def book():
    return make_frame([dict(id="call", quantity=2.0),
                       dict(id="put", option_type="put", strike=95.0, quantity=-3.0),
                       dict(id="asian", instrument="asian", fixings=4),
                       dict(id="h", **HESTON)])


def test_reweighted_values_match_full_repricing():
    frame = book()
    ladder = spot_ladder(frame, spot="-10%,-5%,5%,10%", paths=50_000, seed=seed(1))
    # the GBM rows' ESS is in closed form, far above min_ess: reweighted at every shift; the
    # Heston row's comes from a pilot and lies near min_ess at −10 %: it may be re-simulated
    gbm = (frame["model"] == "gbm").to_numpy()
    assert np.isfinite(ladder.attrs["rows"].drop(columns="id").to_numpy(dtype=float)[gbm]).all()
    partly = f"1 of {len(frame)} rows re-simulated"
    assert ladder["source"].isin(["reweighted", partly]).all()
    assert (ladder.loc[ladder["shift"] == 0, "source"] == "reweighted").all()
    base = ladder.loc[ladder["shift"] == 0, "value"].iat[0]
    for line in ladder.itertuples():
        moved = frame.assign(spot=frame["spot"] * (1 + line.shift))
        total = greeks.price_portfolio(moved, paths=50_000, seed=seed(2)).attrs["total"]
        assert_within(line.value, total["price"], combined_se(line.value_se, total["price_se"]),
                      k=k_for(len(ladder)), label=f"shift {line.shift}")
        assert line.pnl == pytest.approx(line.value - base, abs=1e-9 * abs(base))
        # the P&L is estimated from per-path differences: tighter than the value
        assert line.shift == 0 or line.source != "reweighted" or line.pnl_se < line.value_se


def test_gbm_effective_sample_size_is_exact():
    ladder = spot_ladder(make_frame([dict(id="call")]), spot="10%", paths=2_000)
    a2 = math.log(1.1) ** 2 / 0.2 ** 2
    assert ladder.loc[ladder["shift"] == 0.1, "ess"].iat[0] == pytest.approx(math.exp(-a2))


def test_degenerate_shifts_are_resimulated_or_flagged():
    """Daily fixings: the first interval is a day, the ratio degenerates for a 10 % move."""
    frame = make_frame([dict(id="call"),
                        dict(id="barrier", instrument="barrier", barrier=130.0,
                             barrier_type="up-and-out", fixings=252)])
    ladder = spot_ladder(frame, spot="-10%,10%", paths=20_000, seed=seed(3))
    moved = ladder[ladder["shift"] != 0]
    assert (moved["source"] == "1 of 2 rows re-simulated").all()
    assert (moved["resimulated"] == 1).all()
    assert ladder.attrs["rows"]["+0.1_ess"].iat[1] < 0.1 <= ladder.attrs["rows"]["+0.1_ess"].iat[0]
    assert np.isnan(ladder.attrs["rows"]["+0.1"].iat[1])
    for line in moved.itertuples():
        shifted = frame.assign(spot=frame["spot"] * (1 + line.shift))
        total = greeks.price_portfolio(shifted, paths=50_000, seed=seed(4)).attrs["total"]
        assert_within(line.value, total["price"], combined_se(line.value_se, total["price_se"]),
                      k=k_for(len(moved)), label=f"shift {line.shift}")
    flagged = spot_ladder(frame, spot="10%", paths=5_000, seed=seed(8), resimulate=False)
    line = flagged[flagged["shift"] == 0.1].iloc[0]
    assert line["source"] == "unreliable" and np.isnan(line["value"])


def test_value_standard_errors_match_the_spread_over_seeds():
    frame = book()
    runs = [spot_ladder(frame, spot="-10%,10%", paths=4_000, seed=s) for s in seeds(60)]
    values = np.stack([r[["value", "pnl"]].to_numpy() for r in runs])
    ses = np.stack([r[["value_se", "pnl_se"]].to_numpy() for r in runs])
    assert_se_matches_spread(values[:, [0, 2]], ses[:, [0, 2]])  # the moved lines


def test_shift_specifications():
    assert shift_grid("-20%:+20%:10%", "spot", -1.0).tolist() == [-0.2, -0.1, 0.0, 0.1, 0.2]
    assert shift_grid("0.05,-5%", "spot", -1.0).tolist() == [-0.05, 0.0, 0.05]
    for bad in ["abc", "10%:-10%:5%", "-120%", "1:2:0"]:
        with pytest.raises(OptionError, match="spot"):
            shift_grid(bad, "spot", -1.0)


def test_ladder_cli(runner, tmp_path):
    source, out = tmp_path / "book.csv", tmp_path / "ladder.csv"
    book().to_csv(source, index=False)
    result = runner.invoke(main, ["ladder", str(source), "--spot", "-10%:10%:10%", "-n", "4000",
                                  "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["shift"].tolist() == [-0.1, 0.0, 0.1]
    result = runner.invoke(main, ["ladder", str(source), "--spot", "nonsense"])
    assert result.exit_code == 2 and "spot expects" in result.output


def test_volatility_shifts_reweight_gbm_rows_and_resimulate_heston_rows():
    frame = book()
    ladder = spot_ladder(frame, spot="5%", paths=30_000, seed=seed(5), vol="-2%,2%")
    assert len(ladder) == 2 * 3
    moved = ladder[ladder["vol_shift"] != 0]
    assert (moved["source"] == f"1 of {len(frame)} rows re-simulated").all()  # the Heston row
    assert (moved["resimulated"] == 1).all()
    for line in ladder.itertuples():
        shifted = frame.assign(spot=frame["spot"] * (1 + line.shift))
        gbm = shifted["model"] == "gbm"
        shifted.loc[gbm, "vol"] = shifted.loc[gbm, "vol"] + line.vol_shift
        shifted.loc[~gbm, "v0"] = (np.sqrt(shifted.loc[~gbm, "v0"]) + line.vol_shift) ** 2
        total = greeks.price_portfolio(shifted, paths=30_000, seed=seed(6)).attrs["total"]
        assert_within(line.value, total["price"], combined_se(line.value_se, total["price_se"]),
                      k=k_for(len(ladder)), label=f"shift {line.shift}, vol {line.vol_shift}")


def test_volatility_ratio_effective_sample_size_matches_its_sample():
    """The closed-form 1/E[ρ²] of a 4-date row at σ: 0.2 → 0.23 and a 5 % spot move
    against the sample (Σρ)²/(N Σρ²) of the ratios on simulated paths."""
    from greeks import engine
    from greeks.models.gbm.ladder import effective_fraction, log_ratio
    from greeks.models.gbm.paths import simulate as simulate_gbm

    frame = make_frame([dict(id="asian", instrument="asian", fixings=4)])
    group = engine.plan_groups(frame)[0]
    rng = np.random.Generator(np.random.PCG64(seed(7)))
    w, _ = simulate_gbm(rng, 400_000, group.times, math.log(100.0), 0.05, 0.2, False)
    ratio = np.exp(log_ratio(w, group.times, group.date_index, 0.2, math.log(1.05), 0.03))
    n = ratio.size
    assert_within(ratio.mean(), 1.0, ratio.std() / math.sqrt(n))  # a likelihood ratio: mean 1
    first, second = ratio.mean(), (ratio ** 2).mean()
    sample = first ** 2 / second
    # the delta method on (mean ρ, mean ρ²)
    influence = 2 * first / second * ratio - first ** 2 / second ** 2 * ratio ** 2
    exact = effective_fraction(group.times, group.date_index, 0.2, math.log(1.05), 0.03)
    assert_within(sample, exact, influence.std() / math.sqrt(n))
    # variance doubled or more: the ratio's second moment is infinite
    assert effective_fraction(group.times, group.date_index, 0.2, 0.0, 0.09) == 0.0


def test_ladder_plot(runner, tmp_path):
    pytest.importorskip("matplotlib")
    source, picture = tmp_path / "book.csv", tmp_path / "ladder.png"
    book().to_csv(source, index=False)
    result = runner.invoke(main, ["ladder", str(source), "--spot", "-5%:5%:5%", "--vol", "1%",
                                  "-n", "4000", "--plot", str(picture)])
    assert result.exit_code == 0, result.output
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ladder_off_a_market_reweights_gbm_rows_against_the_closed_form():
    """A GBM position off a market: every scenario reweighted from the one simulation
    (spot and vol curve moved); value and P&L against Black–Scholes on the curves (flat
    here: the zero rate and the vol) within k·SE (tests/test_ladder_market.py: curves, cash
    dividends, a mixed table; tests/test_ladder_market_heston.py: Heston rows)."""
    from greeks.models.gbm.analytic import black_scholes

    market = {"valuation_date": "2027-03-01",
              "curves": {"USD": {"dates": ["2028-03-01"], "zero_rates": [0.04]}},
              "underlyings": {"X": {"spot": 100.0, "curve": "USD", "vol": 0.25,
                                    "dividend_yield": 0.01}}}
    positions = pd.DataFrame([dict(id="C", instrument="european", option_type="call",
                                   strike=100.0, expiry="2028-03-01", underlying="X",
                                   quantity=2.0)])
    table = spot_ladder(positions, market=market, spot=[-0.1, 0.1], vol=[0.02],
                        paths=20_000, seed=seed(81))
    assert len(table) == 6 and (table["source"] == "reweighted").all()
    maturity = 366 / 365

    def value(x, y):
        return 2.0 * black_scholes("call", 100.0 * (1 + x), 100.0, maturity, 0.04, 0.25 + y,
                                   0.01).price

    k = k_for(2 * len(table))
    references = np.array([value(x, y) for x, y in zip(table["shift"], table["vol_shift"])])
    assert_within(table["value"], references, table["value_se"], k=k, label="value")
    assert_within(table["pnl"], references - value(0.0, 0.0),
                  np.maximum(table["pnl_se"], 1e-12), k=k, label="pnl")


MOVED_MARKET = {"valuation_date": "2027-03-01", "curves": {"USD": 0.04},
                "underlyings": {"X": {"spot": 100.0, "curve": "USD", "vol": 0.25}}}


@pytest.mark.parametrize("market", [None, MOVED_MARKET], ids=["flat", "market"])
@pytest.mark.parametrize("spot, vol, message", [
    ([0.1], [9.75], "vol: the shift +9.75 is too large: row 2, column 'vol': must lie in [0, 10]"),
    ([1e10], [0.0], "spot: the shift +1e+10 is too large: row 1, column 'spot': must lie in "
                    "[1e-08, 1e+12]"),
])
def test_shifts_beyond_the_engine_s_range_are_refused_before_any_simulation(
        monkeypatch, market, spot, vol, message):
    """A scenario that takes a row's spot or vol out of the range the engine computes in is
    refused up front, naming the option, row and column (it was refused mid-run, by the
    re-simulation of a subset of the rows, as '<DataFrame>: row 1')."""
    import greeks.ladder

    def refuse(*args, **kwargs):
        raise AssertionError("a simulation was started")

    monkeypatch.setattr(greeks.ladder, "_plan", refuse)
    if market is None:
        positions = make_frame([dict(id="A"), dict(id="B", vol=0.3)])
    else:
        positions = pd.DataFrame([dict(id=name, instrument="european", option_type="call",
                                       strike=100.0, expiry="2028-03-01", underlying="X",
                                       vol=own) for name, own in (("A", None), ("B", 0.3))])
    with pytest.raises(OptionError) as error:
        spot_ladder(positions, market=market, spot=spot, vol=vol, paths=2_000)
    assert str(error.value).startswith(message), error.value
