"""The finite-difference American and Bermudan pricer under GBM (greeks.models.gbm.american).

References, all independent of the code under test: Black–Scholes (the European limit, and the
American call without dividends), the published values of Longstaff & Schwartz (2001), Table 1
(data/american_reference.csv), and a Leisen–Reimer binomial tree written here.  The solver is
deterministic, so tolerances are its stated accuracy (1e-4 relative on the price) plus the
reference's own error, stated at each check.
"""

import math

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT
from scipy.optimize import brentq

from greeks.models.gbm.american import american_fd, exercise_boundaries
from greeks.models.gbm.analytic import black_scholes, norm_pdf

DATA = ROOT / "data" / "american_reference.csv"
PRICE_RTOL = 1e-4  # the solver's stated accuracy at its defaults


# --- the reference tree ---------------------------------------------------------------------

def _peizer_pratt(z, steps):
    """Peizer–Pratt method-2 inversion of the normal law: the LR branch probability."""
    a = z / (steps + 1.0 / 3.0 + 0.1 / (steps + 1.0))
    return 0.5 + math.copysign(math.sqrt(0.25 - 0.25 * math.exp(-a * a * (steps + 1.0 / 6.0))), z)


def leisen_reimer(spot, strike, maturity, rate, dividend, vol, is_call, steps, every=None):
    """Price, delta and gamma by a Leisen–Reimer tree (Leisen & Reimer 1996, Appl. Math.
    Finance 3): ``steps`` odd; exercise at every node (``every`` None: American, t = 0
    included) or at the steps that are multiples of ``every`` (Bermudan, t = 0 excluded).
    Delta and gamma from the three nodes of step 2 (their time is 2Δt; the bias is O(Δt))."""
    assert steps % 2 == 1
    dt = maturity / steps
    root = vol * math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate - dividend + 0.5 * vol * vol) * maturity) / root
    p, p_share = _peizer_pratt(d1 - root, steps), _peizer_pratt(d1, steps)
    growth = math.exp((rate - dividend) * dt)
    up = growth * p_share / p
    down = (growth - p * up) / (1.0 - p)
    discount = math.exp(-rate * dt)
    omega = 1.0 if is_call else -1.0

    ratios = (up / down) ** np.arange(steps + 1)

    def nodes(n):  # spot · up^j · down^(n − j), j = 0 … n
        return spot * down ** n * ratios[: n + 1]

    values = np.maximum(omega * (nodes(steps) - strike), 0.0)
    for n in range(steps - 1, -1, -1):
        values = discount * (p * values[1:] + (1.0 - p) * values[:-1])
        if (every is None) or (n > 0 and n % every == 0):
            values = np.maximum(values, omega * (nodes(n) - strike))
        if n == 2:
            s2, v2 = nodes(2), values.copy()
    delta = (v2[2] - v2[0]) / (s2[2] - s2[0])
    gamma = ((v2[2] - v2[1]) / (s2[2] - s2[1]) - (v2[1] - v2[0]) / (s2[1] - s2[0])) / (
        0.5 * (s2[2] - s2[0]))
    return np.array([values[0], delta, gamma])


def tree_reference(args, dates_count=None, base=1001):
    """Price, delta, gamma and vega from trees.  American: Richardson extrapolation of the
    first-order LR error over base and 2·base + 1 steps.  Bermudan with ``dates_count`` equally
    spaced dates: one tree of dates_count·base steps (odd), the dates on its steps.  Vega: the
    fourth-order central difference of tree prices at σ(1 ± 5 %) and σ(1 ± 10 %) (a wide step:
    the tree's price is not smooth in σ on a finer scale)."""
    spot, strike, maturity, rate, dividend, vol, is_call = args

    def greeks(sigma):
        run = (spot, strike, maturity, rate, dividend, sigma, is_call)
        if dates_count is None:
            coarse, fine = base, 2 * base + 1
            return (fine * leisen_reimer(*run, fine) - coarse * leisen_reimer(*run, coarse)) / (
                fine - coarse)
        return leisen_reimer(*run, dates_count * base, every=base)

    price, delta, gamma = greeks(vol)
    bump = 0.05 * vol
    near = greeks(vol + bump)[0] - greeks(vol - bump)[0]
    far = greeks(vol + 2.0 * bump)[0] - greeks(vol - 2.0 * bump)[0]
    vega = (8.0 * near - far) / (12.0 * bump)
    return price, delta, gamma, vega


def bs_gamma(spot, strike, maturity, rate, dividend, vol):
    root = vol * math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate - dividend + 0.5 * vol * vol) * maturity) / root
    return math.exp(-dividend * maturity) * norm_pdf(d1) / (spot * root)


# --- published values ------------------------------------------------------------------------

def _longstaff_schwartz():
    table = pd.read_csv(DATA)
    return table[table["source"].str.startswith("Longstaff")]


def test_reference_file_rows():
    table = pd.read_csv(DATA)
    ls = _longstaff_schwartz()
    assert len(ls) == 20 and (ls["fixings"] == 50 * ls["maturity"]).all()
    assert set(table["model"]) == {"gbm", "heston"}
    assert table["source"].notna().all() and table["case"].is_unique


def test_longstaff_schwartz_table_1():
    """Longstaff & Schwartz (2001), Table 1 (K = 40, r = 6 %): their finite-difference values
    are those of the put exercisable 50 times a year (their simulation's exercise dates), not
    continuously.  The fifteen rows with σ√T ≤ 0.4 agree to their rounding (0.0005, plus the
    solver's 1e-4); in the five σ = 0.4, T = 2 rows (their grid's error grows with σ√T) the
    published value lies between the Bermudan's and the American's, to rounding (0.0014 to
    0.0060 above the Bermudan)."""
    for row in _longstaff_schwartz().itertuples():
        args = (row.spot, row.strike, row.maturity, row.rate, row.dividend, row.vol, False)
        bermudan = american_fd(*args, np.arange(1, row.fixings + 1) / 50.0, vega=False).price
        if row.vol * math.sqrt(row.maturity) <= 0.4 + 1e-12:
            assert abs(bermudan - row.reference_price) <= 5e-4 + PRICE_RTOL * bermudan, row.case
        else:
            american = american_fd(*args, vega=False).price
            assert bermudan < row.reference_price <= american + 5e-4, row.case


def test_longstaff_schwartz_values_are_not_american():
    # the American put (checked against a tree below) is worth 0.0087 more than the published
    # 4.478: a different product
    american = american_fd(36, 40, 1, 0.06, 0, 0.2, False, vega=False).price
    assert american - 4.478 > 0.008


# --- the European limit -----------------------------------------------------------------------

EUROPEAN_CASES = [
    (100, 100, 1.0, 0.05, 0.0, 0.2),
    (36, 40, 1.0, 0.06, 0.0, 0.2),
    (100, 120, 2.0, 0.03, 0.02, 0.35),
    (50, 55, 5.0, 0.08, 0.03, 0.5),
    (100, 100, 0.05, 0.05, 0.0, 0.2),
    (100, 95, 1.0, -0.01, 0.0, 0.1),
]


@pytest.mark.parametrize("case", EUROPEAN_CASES)
@pytest.mark.parametrize("is_call", [True, False])
def test_european_limit_is_black_scholes(case, is_call):
    """One exercise date, the maturity: Black–Scholes price, delta, gamma and vega to 1e-4
    (relative to the price; delta absolute; gamma and vega relative)."""
    spot, strike, maturity, rate, dividend, vol = case
    fd = american_fd(spot, strike, maturity, rate, dividend, vol, is_call, [maturity])
    bs = black_scholes("call" if is_call else "put", spot, strike, maturity, rate, vol, dividend)
    gamma = bs_gamma(spot, strike, maturity, rate, dividend, vol)
    assert fd.price == pytest.approx(bs.price, rel=PRICE_RTOL)
    assert fd.delta == pytest.approx(bs.delta, abs=1e-4)
    assert fd.gamma == pytest.approx(gamma, rel=1e-4)
    assert fd.vega == pytest.approx(bs.vega, rel=1e-4)


@pytest.mark.parametrize("case", EUROPEAN_CASES[:4])
def test_american_call_without_dividends_is_european(case):
    spot, strike, maturity, rate, _, vol = case
    fd = american_fd(spot, strike, maturity, rate, 0.0, vol, True)
    bs = black_scholes("call", spot, strike, maturity, rate, vol, 0.0)
    assert fd.price == pytest.approx(bs.price, rel=PRICE_RTOL)
    assert fd.delta == pytest.approx(bs.delta, abs=1e-4)
    assert fd.vega == pytest.approx(bs.vega, rel=1e-4)


# --- binomial trees ---------------------------------------------------------------------------

TREE_CASES = [
    # (spot, strike, maturity, rate, dividend, vol, is_call), Bermudan dates (None: American)
    ((36.0, 40.0, 1.0, 0.06, 0.0, 0.2, False), None),
    ((100.0, 100.0, 1.0, 0.05, 0.03, 0.3, False), None),
    ((100.0, 110.0, 1.5, 0.05, 0.08, 0.25, True), None),
    ((100.0, 100.0, 1.0, -0.01, -0.05, 0.15, False), None),  # negative rate and yield
    ((100.0, 100.0, 1.0, 0.05, 0.03, 0.3, False), 5),
    ((90.0, 100.0, 1.0, 0.04, 0.0, 0.2, False), 5),
    ((110.0, 100.0, 0.5, 0.03, 0.06, 0.35, True), 3),
]


@pytest.mark.parametrize("args,dates_count", TREE_CASES)
def test_greeks_against_binomial_tree(args, dates_count):
    """Price to the stated 1e-4 (the trees are within about 2e-5); delta to 2e-4 and gamma to
    1e-3 relative (the tree's step-2 nodes sit 2Δt after 0); vega to 1e-3 relative (the tree's
    price error over its bump)."""
    maturity = args[2]
    dates = None if dates_count is None else maturity * np.arange(1, dates_count + 1) / dates_count
    fd = american_fd(*args, dates)
    steps = 1001 if dates_count is None else 801
    price, delta, gamma, vega = tree_reference(args, dates_count, steps)
    assert fd.price == pytest.approx(price, rel=PRICE_RTOL)
    assert fd.delta == pytest.approx(delta, abs=2e-4)
    assert fd.gamma == pytest.approx(gamma, rel=1e-3)
    assert fd.vega == pytest.approx(vega, rel=1e-3)


@pytest.mark.parametrize("is_call, args", [
    (False, (40.0, 1.0, 0.06, 0.0, 0.2)),
    (True, (105.0, 1.0, 0.02, 0.04, 0.3)),
    (True, (100.0, 2.0, 0.03, 0.08, 0.25)),
])
def test_exercise_boundary_of_two_dates_is_closed_form(is_call, args):
    """With dates T/2 and T the continuation value at T/2 is the European option over T/2, so
    the boundary b solves BS(b; T/2) = ω (b − K): found by root search on Black–Scholes."""
    strike, maturity, rate, dividend, vol = args
    kind = "call" if is_call else "put"
    omega = 1.0 if is_call else -1.0

    def gap(spot):
        return (black_scholes(kind, spot, strike, maturity / 2, rate, vol, dividend).price
                - omega * (spot - strike))

    lo, hi = (strike * 1.0001, strike * 5.0) if is_call else (strike * 0.2, strike * 0.9999)
    expected = brentq(gap, lo, hi, xtol=1e-12)
    edges = exercise_boundaries(strike, strike, maturity, rate, dividend, vol, is_call,
                                [maturity / 2, maturity])
    assert edges.shape == (1,)
    # log-linear between nodes of width h ~ 1e-3: the crossing within h²-order, 1e-4 relative
    assert edges[0] == pytest.approx(expected, rel=1e-4)


def test_exercise_boundaries_move_with_time_and_never_without_early_value():
    """A put's boundary rises towards the strike as maturity nears; a call without dividends
    is never exercised early (boundary inf on every date)."""
    dates = np.arange(1, 13) / 12
    put = exercise_boundaries(36.0, 40.0, 1.0, 0.06, 0.0, 0.2, False, dates)
    assert put.shape == (11,) and np.all(np.diff(put) > 0) and put[-1] < 40.0
    call = exercise_boundaries(100.0, 100.0, 1.0, 0.05, 0.0, 0.2, True, dates)
    assert np.all(np.isinf(call))


def test_early_exercise_premium_ordering():
    """European ≤ Bermudan (4 dates) ≤ Bermudan (12 dates) ≤ American, strictly for a put."""
    args = (100.0, 105.0, 1.0, 0.06, 0.01, 0.25, False)
    european = american_fd(*args, [1.0], vega=False).price
    quarterly = american_fd(*args, np.arange(1, 5) / 4, vega=False).price
    monthly = american_fd(*args, np.arange(1, 13) / 12, vega=False).price
    american = american_fd(*args, vega=False).price
    assert european + 1e-3 < quarterly < monthly < american


# --- edges and bad input ----------------------------------------------------------------------

def test_deep_in_the_money_american_put_is_exercised():
    """Exercised at once: V = K − S near the spot, so delta −1 and gamma 0 up to the grid's
    O(h²) differences of e^x."""
    fd = american_fd(20.0, 40.0, 1.0, 0.06, 0.0, 0.2, False)
    assert fd.price == pytest.approx(20.0, abs=1e-12)
    assert fd.delta == pytest.approx(-1.0, abs=1e-5)
    assert fd.gamma == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("change,message", [
    ({"spot": -1.0}, "spot must be a finite number > 0"),
    ({"vol": 0.0}, "vol must be a finite number > 0"),
    ({"rate": float("nan")}, "rate must be a finite number"),
    ({"exercise_times": [0.5, 0.9]}, "the last exercise time must be the maturity"),
    ({"exercise_times": [0.5, 0.5, 1.0]}, "increasing and > 0"),
    ({"exercise_times": [0.0, 1.0]}, "increasing and > 0"),
    ({"exercise_times": []}, "at least the maturity"),
])
def test_bad_input(change, message):
    args = {"spot": 100.0, "strike": 100.0, "maturity": 1.0, "rate": 0.05, "dividend": 0.0,
            "vol": 0.2, "is_call": False} | change
    with pytest.raises(ValueError, match=message):
        american_fd(**args)
