"""The finite-difference American and Bermudan pricer off a market
(greeks.models.gbm.american_market).

References, all independent of the code under test: the flat pricer
:func:`greeks.models.gbm.american.american_fd` (flat dynamics), Black–Scholes with the
integrated rate, yield and variance (European options), a one-dimensional quadrature over
the price at the ex-date (European options with a cash dividend), and a lattice written here
on a uniform grid in S (American and Bermudan options with cash dividends).  The solver is
deterministic: each tolerance is its measured accuracy plus the reference's own error,
stated at each check.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.linalg import solve_banded

from greeks.market.curves import Curve
from greeks.market.dynamics import Dynamics
from greeks.market.file import Dividend
from greeks.market.volatility import VolCurve
from greeks.models.gbm.american import american_fd, exercise_boundaries
from greeks.models.gbm.american_market import american_fd_market, exercise_boundaries_market
from greeks.models.gbm.analytic import black_scholes, norm_pdf

RATES = Curve((0.3, 0.8, 1.5), (0.03, 0.045, 0.04))
YIELDS = Curve((0.5, 1.2), (0.01, 0.025))
VOLS = VolCurve((0.25, 0.6, 1.0), (0.3, 0.24, 0.22))


def flat(rate, dividend, vol, dividends=()):
    return Dynamics(100.0, Curve.flat(rate), Curve.flat(dividend), tuple(dividends),
                    VolCurve.flat(vol))


def curved(dividends):
    return Dynamics(100.0, RATES, YIELDS, tuple(dividends), VOLS)


# --- the reference lattice ------------------------------------------------------------------

def uniform_lattice(dynamics, strike, maturity, is_call, american, ds, s_max, steps,
                    exercise_times=()):
    """Price, delta, gamma and the Bermudan boundaries (date order) on a uniform grid
    S_i = i·ds: Crank–Nicolson in S with four implicit half steps after maturity, each
    ex-date and each exercise date; the coefficients constant between the curves' nodes
    (their forwards); at S = 0 the ODE V_t = r V, at S_max V_SS = 0; American exercise by
    the penalty method iterated to a fixed active set (Forsyth & Vetzal 2002, SIAM J. Sci.
    Comput. 23); a cash dividend D (a multiple of ds) shifts the values by D/ds nodes exactly,
    those below it taking V(τ, 0); exercise dates take max(V, g) on the price after the drop."""
    n = int(round(s_max / ds))
    s = ds * np.arange(n + 1)
    omega = 1.0 if is_call else -1.0
    g = np.maximum(omega * (s - strike), 0.0)
    divs = [d for d in dynamics.dividends if 0.0 < d.time <= maturity]
    assert not any(d.proportional for d in divs)
    cuts = sorted({0.0, maturity, *[d.time for d in divs if d.time < maturity], *exercise_times,
                   *[t for c in (dynamics.rate, dynamics.dividend_yield, dynamics.vol)
                     for t in c.times if t < maturity]})
    restart = {maturity, *[d.time for d in divs], *exercise_times}
    ir, iq = dynamics.rate.integral, dynamics.dividend_yield.integral
    w = dynamics.vol.total_variance
    inner = (np.arange(n + 1) > 0), (np.arange(n + 1) < n)
    v, edges = _drop(g, ds, [d for d in divs if d.time == maturity]), []
    if american:
        v = np.maximum(v, g)
    for hi, lo in zip(cuts[::-1][:-1], cuts[::-1][1:]):
        k = max(2, round(steps * (hi - lo) / maturity))
        dt = (hi - lo) / k
        r, q = float(ir(hi) - ir(lo)) / (hi - lo), float(iq(hi) - iq(lo)) / (hi - lo)
        a = 0.5 * float(w(hi) - w(lo)) / (hi - lo) * (s / ds) ** 2
        b = 0.5 * (r - q) * s / ds
        low, mid, up = a - b, -2.0 * a - r, a + b
        low[-1], mid[-1], up[-1] = (r - q) * s[-1] / ds, -(r - q) * s[-1] / ds - r, 0.0
        plan = ([(0.5 * dt, 1.0)] * 4 if hi in restart else [(dt, 0.5)] * 2)
        for h, th in plan + [(dt, 0.5)] * (k - 2):
            rhs = v + (1.0 - th) * h * (mid * v + low * np.roll(v, 1) * inner[0]
                                        + up * np.roll(v, -1) * inner[1])
            bands = np.zeros((3, n + 1))
            bands[0, 1:] = -th * h * up[:-1]
            bands[1] = 1.0 - th * h * mid
            bands[2, :-1] = -th * h * low[1:]
            if not american:
                v = solve_banded((1, 1), bands, rhs)
                continue
            penalty = np.zeros(n + 1)
            for _ in range(100):
                system = bands.copy()
                system[1] += penalty
                v = solve_banded((1, 1), system, rhs + penalty * g)
                active = np.where(v < g, 1e10, 0.0)
                if np.array_equal(active, penalty):
                    break
                penalty = active
        if lo in exercise_times:
            diff = v - g  # the exercise region is an interval at the in-the-money end
            order = np.arange(n + 1) if not is_call else np.arange(n, -1, -1)
            run = order[np.cumsum((diff[order] > 0) | (g[order] <= 0)) == 0]
            i = run[-1]
            j = i + (1 if not is_call else -1)
            edges.append(s[i] + (s[j] - s[i]) * (-diff[i]) / (diff[j] - diff[i]))
            v = np.maximum(v, g)
        if any(d.time == lo for d in divs):
            v = _drop(v, ds, [d for d in divs if d.time == lo])
            if american:
                v = np.maximum(v, g)
    i = int(round(dynamics.spot / ds))
    return (v[i], (v[i + 1] - v[i - 1]) / (2 * ds), (v[i + 1] - 2 * v[i] + v[i - 1]) / ds ** 2,
            np.array(edges[::-1]))


def _drop(v, ds, dividends):
    """V(τ−, S_i) = V(τ, S_i − D): a shift by D/ds nodes, V(τ, 0) below."""
    for d in dividends:
        shift = int(round(d.value / ds))
        assert abs(shift * ds - d.value) < 1e-9
        v = np.concatenate((np.full(shift, v[0]), v[: v.size - shift]))
    return v


def european_quadrature(dynamics, strike, maturity, is_call, dividend):
    """A European option with one cash dividend D at τ: DF(τ)·E[BS(max(S(τ−) − D, 0))], the
    expectation over the lognormal S(τ−) by adaptive quadrature, Black–Scholes from τ to T
    with the integrated rate, yield (proportional dividends included) and variance."""
    tau, cash = dividend.time, dividend.value
    ir, iq = dynamics.rate.integral, dynamics.dividend_yield.integral
    w = dynamics.vol.total_variance
    props = [d for d in dynamics.dividends if d.proportional and d.time <= maturity]
    before = sum(math.log1p(-d.value) for d in props if d.time < tau)
    after = sum(math.log1p(-d.value) for d in props if d.time > tau)
    w_tau, rest = float(w(tau)), maturity - tau
    forward = dynamics.spot * math.exp(float(ir(tau) - iq(tau)) + before)
    rate = float(ir(maturity) - ir(tau)) / rest
    yield_ = (float(iq(maturity) - iq(tau)) - after) / rest
    vol = math.sqrt(float(w(maturity) - w_tau) / rest)
    kind = "call" if is_call else "put"

    def value(z):
        dropped = forward * math.exp(-0.5 * w_tau + math.sqrt(w_tau) * z) - cash
        if dropped <= 0.0:
            return 0.0 if is_call else strike * math.exp(-rate * rest)
        return black_scholes(kind, dropped, strike, rest, rate, vol, yield_).price

    integral = quad(lambda z: value(z) * norm_pdf(z), -12.0, 12.0, epsabs=1e-12,
                    epsrel=1e-12, limit=400)[0]
    return math.exp(-float(ir(tau))) * integral


# --- flat dynamics --------------------------------------------------------------------------

@pytest.mark.parametrize("strike, maturity, is_call, dates", [
    (110.0, 1.0, False, None), (90.0, 0.75, True, None),
    (100.0, 1.0, False, [0.25, 0.5, 0.75, 1.0]), (100.0, 0.5, True, [0.5])])
def test_flat_dynamics_reproduce_the_flat_pricer(strike, maturity, is_call, dates):
    """Same grid, steps and boundaries as american_fd: only the coefficients' rounding (a
    rate as a difference of integrals over Δt) differs, ~1e-13 relative in the price, raised
    by 1/h² in gamma and by the bump's 1/δ in vega: tolerances 1e-10 and 1e-8 relative."""
    ours = american_fd_market(flat(0.05, 0.02, 0.25), strike, maturity, is_call, dates,
                              vol_shift=0.03)
    theirs = american_fd(100.0, strike, maturity, 0.05, 0.02, 0.28, is_call, dates)
    for name, tol in (("price", 1e-10), ("delta", 1e-10), ("gamma", 1e-8), ("vega", 1e-8)):
        mine, ref = getattr(ours, name), getattr(theirs, name)
        assert abs(mine - ref) <= tol * abs(ref), (name, mine, ref)


def test_flat_dynamics_reproduce_the_flat_boundaries():
    dates = np.linspace(0.02, 1.0, 50)
    for is_call in (False, True):
        ours = exercise_boundaries_market(flat(0.05, 0.07, 0.25), 100.0, is_call, dates)
        theirs = exercise_boundaries(100.0, 100.0, 1.0, 0.05, 0.07, 0.25, is_call, dates)
        assert np.allclose(ours, theirs, rtol=1e-9, atol=0.0)


# --- Europeans with curves, a vol term structure and proportional dividends -----------------

@pytest.mark.parametrize("maturity", [0.9, 1.3])
@pytest.mark.parametrize("strike", [80.0, 100.0, 125.0])
def test_european_matches_black_scholes_on_integrated_coefficients(maturity, strike):
    """exercise_times = [T]: Black–Scholes with the rate I_r(T)/T, the yield (I_q(T) −
    Σ log(1 − y))/T and the vol √(w(T)/T) (Dynamics.equivalent).  Parallel vega: the
    Black–Scholes vega times ∂σ_imp/∂ε = (∂w(T)/∂ε)/(2 σ_imp T).  Measured: prices within
    9e-6 relative, deltas within 3e-6, gammas and vegas within 6e-6 relative; allowed 2e-5
    relative + 1e-6·S0 on the price, 1e-5 on delta, 3e-5 relative on gamma and vega."""
    dynamics = curved([Dividend(0.37, 0.02, True), Dividend(0.91, 0.015, True)])
    rate, dividend, vol = dynamics.equivalent(maturity)
    root = vol * math.sqrt(maturity)
    d1 = (math.log(100.0 / strike) + (rate - dividend + 0.5 * vol * vol) * maturity) / root
    gamma = math.exp(-dividend * maturity) * norm_pdf(d1) / (100.0 * root)
    scale = float(VOLS.parallel_shift(maturity)) / (2.0 * vol * maturity)
    for is_call in (True, False):
        ref = black_scholes("call" if is_call else "put", 100.0, strike, maturity, rate, vol,
                            dividend)
        got = american_fd_market(dynamics, strike, maturity, is_call, [maturity])
        assert abs(got.price - ref.price) <= 2e-5 * ref.price + 1e-4
        assert abs(got.delta - ref.delta) <= 1e-5
        assert abs(got.gamma - gamma) <= 3e-5 * gamma
        assert abs(got.vega - ref.vega * scale) <= 3e-5 * ref.vega * scale


# --- cash dividends -------------------------------------------------------------------------

@pytest.mark.parametrize("is_call", [True, False])
def test_european_with_a_cash_dividend_matches_quadrature(is_call):
    """Curves, a vol term structure, a cash dividend of 2.5 at 0.4 and a proportional one at
    0.7: against the quadrature over the price at the ex-date (error below 1e-10).  Measured:
    within 2.3e-6 relative (the out-of-the-money call at K = 115); allowed 2e-5 + 1e-6·S0."""
    dynamics = curved([Dividend(0.4, 2.5, False), Dividend(0.7, 0.01, True)])
    for strike in (90.0, 100.0, 115.0):
        ref = european_quadrature(dynamics, strike, 1.1, is_call, dynamics.dividends[0])
        got = american_fd_market(dynamics, strike, 1.1, is_call, [1.1], vega=False).price
        assert abs(got - ref) <= 2e-5 * ref + 1e-4, (strike, got, ref)


def test_cash_dividend_above_the_spot():
    """D = 120 > S0 = 100 at 0.5: most paths drop to 0 (a put then worth K discounted); the
    grid's low end stops 2 reaches below log K.  European put against the quadrature
    (measured 9e-7 relative, allowed 2e-5), the American against the lattice (price 7e-7,
    delta 2e-6); the kink of V(τ−, S) = V(τ, max(S − D, 0)) at S = D makes the gamma
    negative."""
    dynamics = flat(0.03, 0.0, 0.3, [Dividend(0.5, 120.0, False)])
    ref = european_quadrature(dynamics, 100.0, 1.0, False, dynamics.dividends[0])
    got = american_fd_market(dynamics, 100.0, 1.0, False, [1.0], vega=False)
    assert abs(got.price - ref) <= 2e-5 * ref and got.gamma < 0.0
    american, _ = _against_lattice(dynamics, 100.0, 1.0, False)
    assert american.price > got.price


LATTICE = dict(ds=0.1, s_max=400.0, steps=500)  # its error: below 1.2e-5 relative (measured
# against ds = 0.05, 1,000 steps: the price within 1.2e-5, deltas 2e-6, gammas 2e-5 relative)


def _against_lattice(dynamics, strike, maturity, is_call, dates=None):
    """Price within 4e-5 relative (the lattice's error 1.2e-5, ours ~3e-6), delta within
    1e-5 and gamma within 1e-4 relative of the lattice; returns both."""
    got = american_fd_market(dynamics, strike, maturity, is_call, dates, vega=False)
    between = () if dates is None else tuple(dates[:-1])
    ref = uniform_lattice(dynamics, strike, maturity, is_call, dates is None, **LATTICE,
                          exercise_times=between)
    assert abs(got.price - ref[0]) <= 4e-5 * ref[0], (got, ref)
    assert abs(got.delta - ref[1]) <= 1e-5, (got, ref)
    assert abs(got.gamma - ref[2]) <= 1e-4 * abs(ref[2]), (got, ref)
    return got, ref


def test_american_call_exercised_before_a_cash_dividend():
    """One dividend of 5 at 0.5 on a 1-year call (r = 5 %, no yield): D > K(1 − e^{−r(T−τ)}),
    so exercising just before the drop pays, and the American is worth far more than the
    European (100 times the tolerance)."""
    dynamics = flat(0.05, 0.0, 0.25, [Dividend(0.5, 5.0, False)])
    american, _ = _against_lattice(dynamics, 100.0, 1.0, True)
    european, _ = _against_lattice(dynamics, 100.0, 1.0, True, [1.0])
    assert american.price - european.price > 100 * 4e-5 * european.price


def test_american_put_with_two_cash_dividends_on_curves():
    dynamics = curved([Dividend(0.3, 2.0, False), Dividend(0.7, 2.0, False)])
    american, _ = _against_lattice(dynamics, 100.0, 1.0, False)
    european, _ = _against_lattice(dynamics, 100.0, 1.0, False, [1.0])
    assert american.price > european.price


def test_bermudan_put_exercised_on_an_ex_date_after_the_drop():
    """Dates 0.25, 0.5, 0.75, 1 with cash dividends at 0.3 and 0.5 (a date): the exercise at 0.5
    on the price after the drop in both; boundaries within 0.02 of the lattice's (its grid
    step is 0.1, read linearly between nodes)."""
    dynamics = curved([Dividend(0.3, 2.0, False), Dividend(0.5, 2.0, False)])
    dates = [0.25, 0.5, 0.75, 1.0]
    _, ref = _against_lattice(dynamics, 100.0, 1.0, False, dates)
    edges = exercise_boundaries_market(dynamics, 100.0, False, dates)
    inside = ref[3] > 10.0  # the lattice's region of tiny prices, below our grid, aside
    assert np.all(np.abs(edges[inside] - ref[3][inside]) <= 0.02), (edges, ref[3])
    assert np.all(edges[~inside] == 0.0)


def test_dividend_on_the_expiry_date():
    """A drop at T itself: the European payoff is on the dropped price, Black–Scholes at the
    strike K + D (cash; the chance of S_T ≤ D is below 1e-30 here) or (1 − y)·BS(K/(1 − y));
    an American put against the lattice."""
    for dividend, strike, scale in ((Dividend(1.0, 2.0, False), 102.0, 1.0),
                                    (Dividend(1.0, 0.03, True), 100.0 / 0.97, 0.97)):
        dynamics = flat(0.03, 0.01, 0.3, [dividend])
        for kind in ("call", "put"):
            ref = scale * black_scholes(kind, 100.0, strike, 1.0, 0.03, 0.3, 0.01).price
            got = american_fd_market(dynamics, 100.0, 1.0, kind == "call", [1.0], vega=False)
            assert abs(got.price - ref) <= 2e-5 * ref, (dividend, kind, got, ref)
    _against_lattice(flat(0.03, 0.01, 0.3, [Dividend(1.0, 2.0, False)]), 100.0, 1.0, False)


# --- vega, boundaries, input ----------------------------------------------------------------

@pytest.mark.parametrize("dates", [None, [0.25, 0.5, 0.75, 1.0]])
def test_vega_is_the_derivative_in_the_parallel_shift(dates):
    """Against (V(ε) − V(−ε))/(2ε), ε = 0.003 (truncation ε²/6 times the third derivative,
    below 1e-6 relative; the grid's own O(h²) change with ε divided by 2ε: 2e-6 measured).
    Allowed 2e-5 relative."""
    dynamics = curved([Dividend(0.3, 2.0, False), Dividend(0.7, 2.0, False)])
    vega = american_fd_market(dynamics, 100.0, 1.0, False, dates).vega
    up, down = (american_fd_market(dynamics, 100.0, 1.0, False, dates, vol_shift=e,
                                   vega=False).price for e in (0.003, -0.003))
    assert abs((up - down) / 0.006 - vega) <= 2e-5 * vega
    assert 30.0 < vega < 45.0  # σ ≈ 0.23: an ATM one-year vega of about 0.38·S0


def test_put_boundaries_rise_to_the_strike():
    """Constant coefficients written as curves with nodes (their nodes split the time steps):
    the flat boundaries within 1e-5 (measured 7e-7), increasing with the date towards K.
    With the term structures of the other tests the boundary need not be monotone (the
    forward yield rises after 0.5); it stays between 60 and K."""
    dynamics = Dynamics(100.0, Curve((0.3, 0.8), (0.05, 0.05)), Curve((0.5,), (0.02,)), (),
                        VolCurve((0.25, 0.6), (0.25, 0.25)))
    dates = np.linspace(1.0 / 12, 1.0, 12)
    edges = exercise_boundaries_market(dynamics, 100.0, False, dates)
    flat_edges = exercise_boundaries(100.0, 100.0, 1.0, 0.05, 0.02, 0.25, False, dates)
    assert np.all(np.abs(edges - flat_edges) <= 1e-5)
    assert np.all(np.diff(edges) > 0.0) and edges[0] > 60.0 and edges[-1] < 100.0
    edges = exercise_boundaries_market(Dynamics(100.0, RATES, YIELDS, (), VOLS), 100.0, False,
                                       dates)
    assert np.all((edges > 60.0) & (edges < 100.0))


def test_call_boundaries_around_a_cash_dividend():
    """A call without yield is exercised only just before a drop: a finite boundary on the
    date before the ex-date, none (inf) on the ex-date itself (after the drop) and later."""
    dynamics = flat(0.05, 0.0, 0.25, [Dividend(0.5, 3.0, False)])
    edges = exercise_boundaries_market(dynamics, 100.0, True, [0.25, 0.49, 0.5, 0.75, 1.0])
    assert np.isfinite(edges[1]) and 100.0 < edges[1] < 300.0
    assert np.all(np.isinf(edges[[0, 2, 3]]))


def test_bad_input():
    dynamics = flat(0.05, 0.0, 0.25)
    with pytest.raises(ValueError, match="vol shift"):
        american_fd_market(dynamics, 100.0, 1.0, True, vol_shift=-0.3)
    with pytest.raises(ValueError, match="maturity"):
        american_fd_market(dynamics, 100.0, 1.0, True, [0.5, 0.9])
    with pytest.raises(ValueError, match="GBM vol curve"):
        american_fd_market(Dynamics(100.0, RATES, YIELDS, (), None), 100.0, 1.0, True)


def test_nearly_coincident_times_are_one_node():
    """An exercise date 1e-13 before a vol node and an ex-date (times from different day
    counts can differ by rounding) is the same node: the values of the exactly coincident
    case within 1e-9 relative, the exercise on the price after the drop (before it, the
    put's exercise would be worth 2 less)."""
    dynamics = curved([Dividend(0.25, 2.0, False)])
    exact = american_fd_market(dynamics, 100.0, 1.0, False, [0.25, 0.5, 1.0], vega=False)
    near = american_fd_market(dynamics, 100.0, 1.0, False, [0.25 - 1e-13, 0.5, 1.0],
                              vega=False)
    for mine, ref in zip(near, exact):
        assert abs(mine - ref) <= 1e-9 * abs(ref) or (math.isnan(mine) and math.isnan(ref))
