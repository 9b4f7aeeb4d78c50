"""The finite-difference American put and Bermudan call under Heston
(greeks.models.heston.american).

References independent of the code under test: the published prices of Clarke & Parrott (1999)
(data/american_reference.csv), the semi-analytic European put of
greeks.models.heston.analytic, which the same scheme reproduces without early exercise, and in
the limit ξ → 0 the GBM solvers (greeks.models.gbm.american, american_market: the call across
cash dividends); for the call without a yield, that it is exercised just before an ex-date
only.  The solver is deterministic; tolerances are its stated accuracy plus the reference's
rounding.
"""

import numpy as np
import pytest
from helpers import ROOT

from greeks.models.heston.american import heston_american_put
from greeks.models.heston.analytic import heston_greeks

DATA = ROOT / "data" / "american_reference.csv"
BENCHMARK = {"strike": 10.0, "maturity": 0.25, "rate": 0.1, "dividend": 0.0, "v0": 0.0625,
             "kappa": 5.0, "theta": 0.16, "xi": 0.9, "rho": 0.1}
SPOTS = np.array([8.0, 9.0, 10.0, 11.0, 12.0])


def _published():
    import pandas as pd

    table = pd.read_csv(DATA)
    rows = table[table["model"] == "heston"].sort_values("spot")
    for column, value in BENCHMARK.items():
        assert np.allclose(rows[column], value), column
    return rows["spot"].to_numpy(), rows["reference_price"].to_numpy()


# later converged values of the same case (data/README.md, "Provenance of the numbers")
CONVERGED = np.array([2.000000, 1.107621, 0.520030, 0.213677, 0.082044])


def test_clarke_parrott_american_puts():
    """The five published prices (four decimals) to 5e-4: their rounding, their own error (the
    published 0.2138 is 1.2e-4 above the converged 0.213677) and the solver's 2e-4; the
    converged six-decimal values to 2e-4.  The premium over the European put is positive and
    largest in the money."""
    spots, published = _published()
    assert np.array_equal(spots, SPOTS)
    fd = heston_american_put(spots, **BENCHMARK)
    assert np.all(np.abs(fd.price - published) <= 5e-4)
    assert np.all(np.abs(fd.price - CONVERGED) <= 2e-4)
    european = heston_american_put(spots, **BENCHMARK, american=False)
    premium = fd.price - european.price
    assert np.all(premium > 0) and np.all(np.diff(premium) < 0)
    assert fd.price[0] == pytest.approx(2.0, abs=1e-4)  # S0 = 8 is exercised: V = K − S0
    assert fd.delta[0] == pytest.approx(-1.0, abs=1e-3)
    assert np.all(np.diff(fd.delta) > 0) and np.all(fd.delta <= 0)
    assert np.all(fd.gamma[1:] > 0) and np.all(fd.vega[1:] > 0)


@pytest.mark.parametrize("case", [
    {"spots": SPOTS, **BENCHMARK},
    {"spots": np.array([100.0]), "strike": 100.0, "maturity": 1.0, "rate": 0.05,
     "dividend": 0.02, "v0": 0.04, "kappa": 1.5, "theta": 0.04, "xi": 0.5, "rho": -0.7},
    {"spots": np.array([100.0]), "strike": 90.0, "maturity": 0.5, "rate": 0.03,
     "dividend": 0.0, "v0": 0.09, "kappa": 2.0, "theta": 0.09, "xi": 1.0, "rho": -0.3},
])
def test_european_limit_is_semi_analytic(case):
    """Without early exercise: the semi-analytic Heston put's price to 2e-4 relative (or 1.5e-4
    absolute), delta to 2e-4, σ0-vega to 1e-3 relative."""
    spots = case.pop("spots")
    fd = heston_american_put(spots, **case, american=False)
    for k, spot in enumerate(spots):
        exact = heston_greeks("put", spot, case["strike"], case["maturity"], case["rate"],
                              case["v0"], case["kappa"], case["theta"], case["xi"], case["rho"],
                              case["dividend"])
        assert abs(fd.price[k] - exact.price) <= max(2e-4 * exact.price, 1.5e-4)
        assert fd.delta[k] == pytest.approx(exact.delta, abs=2e-4)
        assert fd.vega[k] == pytest.approx(exact.vega, rel=1e-3)


def test_scalar_spot_and_bad_input():
    one = heston_american_put(10.0, **BENCHMARK)
    assert isinstance(one.price, float)
    assert one.price == pytest.approx(heston_american_put(SPOTS, **BENCHMARK).price[2], abs=1e-12)
    with pytest.raises(ValueError, match="rho must be in"):
        heston_american_put(10.0, **{**BENCHMARK, "rho": 1.5})
    with pytest.raises(ValueError, match="spot"):
        heston_american_put(60.0, **BENCHMARK)
    with pytest.raises(ValueError, match="time_steps"):
        heston_american_put(10.0, **BENCHMARK, time_steps=2)


def _dates(maturity, n, every=1):
    """Every ``every``-th of n equally spaced dates back from maturity (the last at maturity)."""
    dates = maturity * np.arange(1, n + 1) / n
    return dates[(n - 1) % every::every]


def test_bermudan_extrapolates_to_the_converged_american_puts():
    """Daily (63 dates) and two-daily Bermudan puts on the benchmark: below the American put
    by less than 0.2 %, above the European one, increasing in the dates, and Richardson's
    2 V(Δ) − V(2Δ) within 2e-4 of the converged American values (the solver's accuracy):
    the exercise grid's error of the engine's american rows is removed by the extrapolation."""
    spots = SPOTS[1:]
    daily = heston_american_put(spots, **BENCHMARK, exercise_times=_dates(0.25, 63)).price
    partner = heston_american_put(spots, **BENCHMARK, exercise_times=_dates(0.25, 63, 2)).price
    weekly = heston_american_put(spots, **BENCHMARK, exercise_times=_dates(0.25, 13)).price
    american = heston_american_put(spots, **BENCHMARK).price
    european = heston_american_put(spots, **BENCHMARK, american=False).price
    assert np.all(european < weekly) and np.all(weekly < partner) and np.all(partner < daily)
    assert np.all(daily < american) and np.all(american - daily < 2e-3 * american)
    assert np.all(np.abs(2.0 * daily - partner - CONVERGED[1:]) <= 2e-4)


def test_bermudan_at_maturity_only_is_the_european_put():
    fd = heston_american_put(SPOTS[1:], **BENCHMARK, exercise_times=[0.25])
    for spot, price in zip(SPOTS[1:], fd.price):
        exact = heston_greeks("put", spot, 10.0, 0.25, 0.1, 0.0625, 5.0, 0.16, 0.9, 0.1, 0.0)
        assert abs(price - exact.price) <= 1.5e-4


def test_bermudan_and_boundaries_in_the_black_scholes_limit():
    """ξ → 0 with v0 = θ: the Bermudan put and its boundaries at v = θ are those of GBM at
    σ = √θ (greeks.models.gbm.american, a separate Crank–Nicolson solver): prices to 2e-3
    relative, boundaries to 0.5 % (the S grid's step near the strike is 0.6 %)."""
    from greeks.models.gbm.american import american_fd, exercise_boundaries
    from greeks.models.heston.american import heston_exercise_boundaries

    law = {"strike": 100.0, "maturity": 1.0, "rate": 0.06, "dividend": 0.01, "v0": 0.04,
           "kappa": 2.0, "theta": 0.04, "xi": 0.01, "rho": 0.0}
    dates = _dates(1.0, 12)
    fd = heston_american_put(np.array([90.0, 100.0, 110.0]), **law, exercise_times=dates)
    for spot, price in zip((90.0, 100.0, 110.0), fd.price):
        gbm = american_fd(spot, 100.0, 1.0, 0.06, 0.01, 0.2, False, dates, vega=False).price
        assert price == pytest.approx(gbm, rel=2e-3)
    nodes, edges = heston_exercise_boundaries(**law, exercise_times=dates)
    assert edges.shape == (dates.size - 1, nodes.size)
    at_theta = [np.interp(0.04, nodes, row) for row in edges]
    gbm = exercise_boundaries(100.0, 100.0, 1.0, 0.06, 0.01, 0.2, False, dates)
    assert np.allclose(at_theta, gbm, rtol=5e-3)
    assert np.all(np.diff(at_theta) > 0)  # the boundary rises towards maturity


def test_bermudan_bad_dates():
    for dates, message in (([], "at least"), ([0.1, 0.05, 0.25], "increasing"),
                           ([0.1, 0.2], "maturity")):
        with pytest.raises(ValueError, match=message):
            heston_american_put(10.0, **BENCHMARK, exercise_times=dates)


CASH = [(0.3, 3.0, False), (0.7, 2.0, False)]  # (ex-date, amount, proportional)


@pytest.mark.parametrize("dividend, paid", [(0.0, CASH), (0.025, CASH),
                                            (0.0, [CASH[0], (0.7, 0.02, True)])])
def test_bermudan_call_across_discrete_dividends_in_the_black_scholes_limit(dividend, paid):
    """The Bermudan call solved directly (``option_type="call"``) across two discrete
    dividends (the spot's drops: cash, or a cash and a proportional one), monthly dates and
    a date 1e-7 before each ex-date: with ξ → 0 and v0 = θ its prices and its boundaries at
    v = θ are those of GBM at σ = √θ off a market with the same dividends
    (greeks.models.gbm.american_market, a separate Crank–Nicolson solver in log S with cubic
    interpolation at the drops).  Measured: prices within 1.5e-4 relative, boundaries within
    1.4e-4; allowed 5e-4 and 1e-3.  Without a yield the call is exercised just before an
    ex-date only (b = ∞ on every other date, as GBM's); with one, on every date above a
    finite boundary."""
    from scipy.interpolate import RectBivariateSpline

    from greeks.models.gbm.american_market import american_fd_market, exercise_boundaries_market
    from greeks.models.heston.american import heston_exercise_boundaries, heston_value_grids

    drops = tuple((t, 0.0, 1.0 - amount) if proportional else (t, amount, 1.0)
                  for t, amount, proportional in paid)
    law = {"strike": 100.0, "maturity": 1.0, "rate": 0.05, "dividend": dividend, "v0": 0.04,
           "kappa": 2.0, "theta": 0.04, "xi": 0.01, "rho": 0.0, "drops": drops,
           "option_type": "call"}
    cums = [t - 1e-7 for t, *_ in paid]
    dates = np.union1d(_dates(1.0, 12), cums)
    s, v, values = heston_value_grids(**law, exercise_times=dates)
    spline = RectBivariateSpline(s, v, values[0])
    for spot in (90.0, 100.0, 110.0):
        gbm = american_fd_market(_flat(spot, dividend, paid), 100.0, 1.0, True, dates,
                                 vega=False).price
        assert spline(spot, 0.04)[0, 0] == pytest.approx(gbm, rel=5e-4)
    nodes, edges = heston_exercise_boundaries(**law, exercise_times=dates)
    at_theta = np.array([np.interp(0.04, nodes, row) for row in edges])
    gbm = exercise_boundaries_market(_flat(100.0, dividend, paid), 100.0, True, dates)
    never = np.isinf(gbm)
    assert np.array_equal(np.isinf(at_theta), never)
    assert np.allclose(at_theta[~never], gbm[~never], rtol=1e-3)
    cum = np.isin(dates[:-1], cums)
    assert never.sum() == (np.sum(~cum) if dividend == 0.0 else 0)


def _flat(spot, dividend, paid):
    """GBM dynamics at σ = 0.2, r = 5 %, the yield ``dividend`` and the dividends ``paid``
    (ex-date, amount, proportional)."""
    from greeks.market.curves import Curve
    from greeks.market.dynamics import Dynamics
    from greeks.market.file import Dividend
    from greeks.market.volatility import VolCurve

    return Dynamics(spot, Curve.flat(0.05), Curve.flat(dividend),
                    tuple(Dividend(*d) for d in paid), VolCurve.flat(0.2))


def test_call_without_yield_is_exercised_just_before_the_ex_date_only():
    """Without a yield an American call is exercised only just before an ex-date (holding
    on earns the interest on the strike; Merton 1973): under Heston (v0 = θ = 0.04, κ = 1.5,
    ξ = 0.5, ρ = −0.7) the daily Bermudan call across a cash dividend of 2.5 at 0.2, with a
    date 1e-7 before it (an american row's grid off a market), has b = ∞ on every date but
    that one, a finite boundary there on every variance node, and its value is the Bermudan
    call's on that date and the maturity alone on as many time steps (800): measured within
    1.4e-4 (the two time grids differ; 3e-5 at 1,600 steps), allowed 3e-4; above the
    European call by the early-exercise premium (0.16 at the money)."""
    from scipy.interpolate import RectBivariateSpline

    from greeks.models.heston.american import heston_exercise_boundaries, heston_value_grids

    law = {"strike": 100.0, "maturity": 0.5, "rate": 0.04, "dividend": 0.0, "v0": 0.04,
           "kappa": 1.5, "theta": 0.04, "xi": 0.5, "rho": -0.7, "drops": ((0.2, 2.5, 1.0),),
           "option_type": "call"}
    cum = 0.2 - 1e-7
    daily = np.union1d(_dates(0.5, 126), [cum])
    spots = np.array([90.0, 100.0, 110.0])

    def values(dates, **steps):
        s, v, grids = heston_value_grids(**law, exercise_times=dates, **steps)
        return RectBivariateSpline(s, v, grids[0]).ev(spots, 0.04)
    american = values(daily)
    assert np.all(np.abs(american - values(np.array([cum, 0.5]), time_steps=800)) <= 3e-4)
    assert np.all(american > values([0.5]) + 3e-3) and american[1] - values([0.5])[1] > 0.15
    nodes, edges = heston_exercise_boundaries(**law, exercise_times=daily)
    before = np.isclose(daily[:-1], cum, rtol=0.0, atol=1e-9)
    assert before.sum() == 1 and np.all(np.isinf(edges[~before]))
    assert np.all(np.isfinite(edges[before])) and np.all(edges[before] > 100.0)
