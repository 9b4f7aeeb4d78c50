"""Upper bound of a Bermudan (and American) option's price by duality, GBM rows, flat or off a
market (Heston rows: :mod:`greeks.models.heston.duality`, with a hedging martingale).

Duality (Rogers 2002, "Monte Carlo valuation of American options", Math. Finance 12(3);
Haugh & Kogan 2004, Oper. Res. 52(2); Andersen & Broadie 2004, Mgmt Sci 50(9)): for the
discounted exercise values Z_i = D_i h(S_i) on the dates t_1 … t_n and any martingale M with
M_0 = 0,

    V_0 = sup_τ E[Z_τ] = sup_τ E[Z_τ − M_τ] ≤ E[ max_i (Z_i − M_i) ] = U

(optional stopping: E[M_τ] = 0 for every stopping time τ ≤ t_n), with equality for M the
martingale part of the discounted value process D_t V(t, S_t).  The estimator is the mean of
max_i (Z_i − M_i) over independent paths, its SE the ordinary one: an upper bound of the
Bermudan price for any M, the tighter (and quieter) the closer M is to the value's martingale.

The martingale. Ṽ_i, the finite-difference value function on date t_i
(:func:`greeks.models.gbm.american.bermudan_values`: max of the continuation and the
intrinsic value on the log-price grid x_j = x_0 + j h; the intrinsic value at maturity), taken
between the nodes as its piecewise-linear interpolant in x (constant beyond the grid), and

    M_i − M_{i−1} = D_i Ṽ_i(X_i) − C_{i−1}(X_{i−1}),   C_{i−1}(x) = E[D_i Ṽ_i(X_i) | X_{i−1} = x],

X = log S, whose one-step law is Gaussian, X_i − X_{i−1} ~ N(μ_i, s_i²) (:class:`Law`): flat,
μ_i = (r − q − σ²/2) Δt_i, s_i = σ √Δt_i, D_i = e^{−r t_i}; off a market (rate and yield curves
with integrals I_r, I_q, total variance w, proportional dividends y at ex-dates τ:
:mod:`greeks.market.dynamics`) μ_i = ΔI_r − ΔI_q − Δw/2 + Σ_{τ ∈ (t_{i−1}, t_i]} log(1 − y),
s_i² = Δw, D_i = e^{−I_r(t_i)}, Ṽ_i the value function on the price observed on t_i (after any
proportional drop there: :func:`greeks.models.gbm.american_market.bermudan_values_market`).

A cash dividend D at τ, S(τ) = max(S(τ−) − D, 0), leaves no Gaussian step in log S, but a step
that ends in the drop is Gaussian up to it.  So every cash ex-date in the option's life is a
date of the martingale (:func:`martingale_dates`: M may have more dates than the exercise
dates, Z_i = −∞ on the others, where Ṽ_i is the continuation value; an american row's grid
holds its ex-dates anyway), the step to it runs to the price before the drop,
X_i⁻ − X_{i−1} ~ N(μ_i, s_i²), X_i = log max(e^{X_i⁻} − D, 0), and on that date the value
function is that of the price before the drop, f_i(x) = Ṽ_i(log max(e^x − D, 0)) on the
nodes (the finite-difference scheme's own jump, V(τ, 0) below the drop: a put's K discounted
to its next exercise, a call's 0), piecewise linear between them:
ΔM_i = D_i f_i(X_i⁻) − C_{i−1}(X_{i−1}), C_{i−1} the sums below over f_i, and Z_i on the
price after the drop.  A path at S = 0 stays there: its steps are certain, ΔM = 0.  A large
drop takes paths below the grid's first node x_0 (it reaches 6 σ√T below the forward net of
the dividends, not to S = 0), where the scheme takes the value linear in S; a constant there
left the bound 3e-5 of the price below the price with a dividend of 60 on a spot of 100.  So
with cash dividends the value functions go on below the grid linearly in S to their value
b_i at S = 0 (:func:`_floors`), f(y) = b + (f_0 − b) e^{y − x_0}: the sums below gain
(b − f_0) E[(1 − e^{x + Y − x_0})⁺], a Black–Scholes put (:func:`_below`), and off the
table's cubic (below the grid) C is summed exactly on the path.  (Below, Ṽ_i stands for f_i
on such a date and X_i for X_i⁻ inside Ṽ_i.)

On the nodes C is exact: with the hat functions of the interpolant
e_m(y) = ((y − (m−1)h)⁺ − 2 (y − mh)⁺ + (y − (m+1)h)⁺)/h,

    C(x_j) = D_i Σ_m w_m Ṽ_i(x_{j+m}),   w_m = (Ψ((m−1)h) − 2 Ψ(mh) + Ψ((m+1)h)) / h,

Ψ(a) = E[(Y − a)⁺] = (μ − a) Φ(d) + s φ(d), d = (μ − a)/s (the Gaussian's call function; the
values beyond the grid are the edge values, the weights cut ``TAIL`` = 9 standard deviations
from the mean, where the Gaussian's mass is 2e-19).  The same sum with the mean moved by
l h/R gives C exactly at x_j + l h/R: the table holds C at ``SUBDIVISIONS`` = R = 4 points per
grid step, and between them C is interpolated by the cubic through the four nearest points
(C is smooth: a Gaussian average).  This is the one approximation: E[ΔM_i | X_{i−1}] is the
cubic's error, O((h/R)⁴ C''''), which :func:`drift_bound` measures at the mid-points between
the table's points against the exact values there (the sum once more, mean moved by
(l + ½) h/R), where it peaks, and sums over the dates into δ ≥ Σ_i E|a_i|,
a_i = E[ΔM_i | X_{i−1}] (the largest error within ``WINDOW`` = 6 standard deviations of
X_{i−1}'s mean (the steps' summed means and variances), plus the chance of lying outside
times the largest error there; with cash dividends, X = X̂ + log(1 − Σ_{τ ≤ t} D/Ŝ_τ)⁺, X̂ the
Gaussian process of the steps without the drops, and the window is X̂'s, its low end lowered
by the drops paid out of the low ends Ŝ_τ of X̂'s windows at the ex-dates, the chance of
leaving counted once per window); the first date starts at X_0 = log S0, a node: exact.  A
step narrower than the grid (s_i < h: from a cash dividend's cum date, 1e-7 years before it
on an american row's grid, to its ex-date) has C bending within a fraction of h of each
node, which the table's cubic does not resolve (δ 1.5e-6 of the price): there C is the exact
sum at each path's X_{i−1} (:func:`_expectation`, over a few nodes), no error.
Then M* = M − A, A_i = Σ_{k≤i} a_k, is a martingale (Doob) and
max_i (Z_i − M*_i) ≤ max_i (Z_i − M_i) + Σ_k |a_k|, so
V_0 ≤ E[max_i (Z_i − M*_i)] ≤ U + δ: the reported bound is U + δ, an upper bound up to
the Monte Carlo error (δ below 6e-7 on the tests' options, far below the bound's SE; about
4e-5 of the price with R = 1, which is why R = 4).  The paths' mean of M_n is also checked
against 0 (:func:`martingale_z`: an error in C that the table cannot show, e.g. a wrong
drift, shows as many SEs).

Cost: the value functions come from one finite-difference march (0.1–0.2 s for a daily
year); the table, 2R sums of about 20 σ√Δt/h terms per node and date, 0.25 s a daily year;
the paths (at most ``BOUND_PATHS``: the bound's SE is already about 1e-6 of the price) about
1 s per 10⁷ path-dates.

An ``american`` row's simulated dates (daily by default) bound the Bermudan option on them, not
the American one; as for the price, 2 U(Δ) − U(2Δ) extrapolates to continuous exercise (U(2Δ)
on every second date back from maturity and, off a market, every ex-date (and cash dividend's
cum date) the row's dates hold, :func:`greeks.market.positions.dividend_dates`, and every date
of the martingale that is no exercise date; its own value function, the same paths): an
estimate of an upper bound of the American price, not a strict one.  American rows may also
exercise at t = 0 (Z_0 = h(S0), M_0 = 0).
"""

from __future__ import annotations

import hashlib
import math
from typing import NamedTuple

import numpy as np
from numba import njit

from greeks import streams

BOUND_PATHS = 1 << 15  # most paths of a row's bound (price_portfolio's ``paths`` if fewer)
MAX_DATES = 1260  # most exercise dates of a bounded row (five years of daily dates)
CHUNK_PATHS = 1 << 12  # paths per chunk (chunk c draws from stream streams.DUALITY + c)
TAIL = 9.0  # standard deviations of the one-step Gaussian the weights cover
SUBDIVISIONS = 4  # points of the conditional expectation's table per grid step
ALARM = 5.0  # |mean of M_n| / SE beyond which a row's martingale is reported as failed
WINDOW = 6.0  # standard deviations of log S_t around its mean where the drift is bounded


class DualTables(NamedTuple):
    """One Bermudan's martingale: the discounted value functions ``values`` (dates × nodes;
    row i: D_i Ṽ_i) on the grid x_j = ``first`` + j h, their conditional expectations
    ``expected`` (row i: E[D_i Ṽ_i(X_i) | X_{i−1} = x], X_{−1} at t = 0) at the points
    x = ``first`` + k ``step`` (``SUBDIVISIONS`` per grid step),
    ``start`` = E[D_1 Ṽ_1(X_1) | X_0 = log S0], ``drift`` (:func:`drift_bound` summed
    over the dates) and ``floors`` (row i: D_i Ṽ_i(S = 0), the value functions linear in S
    below the grid; NaN: constant there)."""

    first: float
    h: float
    step: float
    values: np.ndarray
    expected: np.ndarray
    start: float
    drift: float
    floors: np.ndarray


class Law(NamedTuple):
    """The law of X = log S on a row's dates t_1 … t_n (t_0 = 0): the discounts
    D_i = exp(−``log_discounts``_i), the steps X_i⁻ − X_{i−1} ~ N(``means``_i, ``sds``_i²)
    (independent) to the price X_i⁻ before the cash dividend ``cash``_i paid on t_i (0: none),
    X_i = log max(e^{X_i⁻} − ``cash``_i, 0), and the mean ``centres``_i and standard deviation
    ``spreads``_i of X̂_i − X_0, X̂ the Gaussian process of the steps without the cash drops
    (X ≤ X̂)."""

    log_discounts: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    centres: np.ndarray
    spreads: np.ndarray
    cash: np.ndarray


def flat_law(times: np.ndarray, rate: float, dividend: float, vol: float) -> Law:
    """GBM's: D_i = e^{−r t_i}, μ_i = (r − q − σ²/2) Δt_i, s_i = σ √Δt_i."""
    carry = rate - dividend - 0.5 * vol * vol
    dt = np.diff(times, prepend=0.0)
    return Law(rate * times, carry * dt, vol * np.sqrt(dt), carry * times,
               vol * np.sqrt(times), np.zeros(times.size))


def market_law(dynamics, times: np.ndarray) -> Law:
    """GBM's off a market (:class:`greeks.market.dynamics.Dynamics`): D_i = e^{−I_r(t_i)},
    μ_i = ΔI_r − ΔI_q − Δw/2 + Σ log(1 − y) over the proportional dividends in
    (t_{i−1}, t_i], s_i² = Δw, and each cash dividend D in (0, t_n] paid on its date (an
    ex-date within ``TIME_TOLERANCE`` of a date is on that date, as the finite-difference
    scheme places it; a cash one must be: :func:`martingale_dates`)."""
    from greeks.models.gbm.american_market import TIME_TOLERANCE

    ir = dynamics.rate.integral(times)
    iq = dynamics.dividend_yield.integral(times)
    w = dynamics.vol.total_variance(times)
    drops, cash = np.zeros(times.size), np.zeros(times.size)
    tol = TIME_TOLERANCE * times[-1]
    for d in dynamics.dividends:
        if 0.0 < d.time <= times[-1] + tol:
            i = np.searchsorted(times, d.time - tol)
            if d.proportional:
                drops[i] += math.log1p(-d.value)
            elif abs(times[i] - d.time) > tol:
                raise ValueError(f"the cash dividend at {d.time} is on none of the dates")
            else:
                cash[i] += d.value
    centres = ir - iq - 0.5 * w + np.cumsum(drops)
    means = (np.diff(ir, prepend=0.0) - np.diff(iq, prepend=0.0)
             - 0.5 * np.diff(w, prepend=0.0) + drops)
    return Law(ir, means, np.sqrt(np.diff(w, prepend=0.0)), centres, np.sqrt(w), cash)


class UpperBound(NamedTuple):
    """A row's estimate U of E[max_i (Z_i − M_i)] (``upper``) and its SE, with its martingale's
    checks: ``drift`` δ ≥ Σ_i E|E[ΔM_i | X_{i−1}]| (:func:`drift_bound`; the bound proper is
    U + δ), ``martingale``, ``martingale_se`` (the paths' mean of M_n and its SE)."""

    upper: float
    se: float
    drift: float
    martingale: float
    martingale_se: float


@njit(cache=True)
def _psi(a, mu, s):
    """E[(Y − a)⁺], Y ~ N(μ, s²)."""
    d = (mu - a) / s
    return (mu - a) * 0.5 * math.erfc(-d / math.sqrt(2.0)) + s * math.exp(-0.5 * d * d) / math.sqrt(
        2.0 * math.pi)


@njit(cache=True, inline="always")
def _hat(m, h, mu, s):
    """E[e_m(Y)], Y ~ N(μ, s²), e_m the hat function of the nodes at (m ∓ 1) h: the second
    difference of :func:`_psi` over h."""
    return (_psi((m - 1) * h, mu, s) - 2.0 * _psi(m * h, mu, s) + _psi((m + 1) * h, mu, s)) / h


@njit(cache=True)
def hat_weights(mu, s, h, reach):
    """w_m, m = −reach … reach: the Gaussian N(μ, s²) average of the hat function at m h."""
    out = np.empty(2 * reach + 1)
    for k in range(2 * reach + 1):
        out[k] = _hat(k - reach, h, mu, s)
    return out


@njit(cache=True)
def convolve(values, weights, out):
    """out_j = Σ_m w_m values_{j+m}, the values constant beyond both ends."""
    n = values.size
    reach = (weights.size - 1) // 2
    padded = np.empty(n + 2 * reach)
    padded[:reach] = values[0]
    padded[reach:reach + n] = values
    padded[reach + n:] = values[n - 1]
    out[:] = 0.0
    for k in range(weights.size):  # k outer: the loop over j vectorises
        w = weights[k]
        for j in range(n):
            out[j] += w * padded[j + k]


@njit(cache=True, inline="always")
def _linear(values, first, h, x):
    """The piecewise-linear interpolant, constant beyond the grid."""
    u = (x - first) / h
    n = values.size
    if u <= 0.0:
        return values[0]
    if u >= n - 1:
        return values[n - 1]
    j = int(u)
    f = u - j
    return values[j] + f * (values[j + 1] - values[j])


@njit(cache=True, inline="always")
def _cubic(values, first, h, x):
    """The cubic through the four nodes around x (linear at the grid's ends, constant
    beyond)."""
    u = (x - first) / h
    n = values.size
    if u <= 1.0 or u >= n - 2:
        return _linear(values, first, h, x)
    j = int(u)
    f = u - j
    a, b, c, d = values[j - 1], values[j], values[j + 1], values[j + 2]
    return (-f * (f - 1.0) * (f - 2.0) * a / 6.0 + (f + 1.0) * (f - 1.0) * (f - 2.0) * b / 2.0
            - (f + 1.0) * f * (f - 2.0) * c / 2.0 + (f + 1.0) * f * (f - 1.0) * d / 6.0)


@njit(cache=True, inline="always")
def _value(values, first, h, x, floor):
    """The value function at x: the piecewise-linear interpolant of ``values``, constant
    beyond the grid, or below it ``floor`` + (f_0 − ``floor``) e^{x − x_0}, linear in S
    (``floor``: its value at S = 0; NaN: constant)."""
    if floor == floor and x < first:
        return floor + (values[0] - floor) * math.exp(x - first)
    return _linear(values, first, h, x)


@njit(cache=True)
def _below(m, s):
    """E[(1 − e^Z)⁺], Z ~ N(m, s²): what the value function's part below the grid, linear in
    S, adds to the constant extension's expectation, per unit of (floor − f_0)."""
    d = -m / s
    return 0.5 * (math.erfc(-d / math.sqrt(2.0))
                  - math.exp(m + 0.5 * s * s) * math.erfc(-(d - s) / math.sqrt(2.0)))


@njit(cache=True)
def _expectation(values, first, h, x, mu, s, floor):
    """E[f(x + Y)], Y ~ N(μ, s²), f = :func:`_value`: Σ_m f_m E[e_m(x + Y)], the sum of the
    module's docstring over the nodes within ``TAIL`` standard deviations of the mean (and one
    more each side), and (``floor`` − f_0) :func:`_below` for the part below the grid."""
    centre = x + mu - first
    lo = int(math.floor((centre - TAIL * s) / h)) - 1
    hi = int(math.ceil((centre + TAIL * s) / h)) + 1
    last = values.size - 1
    total = 0.0
    for m in range(lo, hi + 1):
        total += _hat(m, h, centre, s) * values[min(max(m, 0), last)]
    if floor == floor:
        total += (floor - values[0]) * _below(centre, s)
    return total


@njit(cache=True)
def _add_below(row, difference, offset, step, mu, s):
    """row_k += ``difference`` E[(1 − e^Z)⁺], Z ~ N(``offset`` + k ``step`` + μ, s²)."""
    for k in range(row.size):
        row[k] += difference * _below(offset + k * step + mu, s)


def _reach(mu: float, s: float, h: float) -> int:
    return int(math.ceil((abs(mu) + TAIL * s) / h)) + 2


def dual_tables(fd, law: Law, floors=None) -> DualTables:
    """The martingale's tables from the finite-difference value function ``fd``
    (:class:`greeks.models.gbm.american.BermudanValues` on the dates of ``law``): the
    conditional expectations at the points x_0 + k h / ``SUBDIVISIONS`` (the sums of the
    module's docstring with the Gaussian's mean moved by the point's offset from its node;
    with ``floors``, the discounted values at S = 0, the value functions linear in S below
    the grid: :func:`_below`), and the drift bound from the mid-points between them."""
    n, nodes = fd.values.shape
    floors = np.full(n, np.nan) if floors is None else np.asarray(floors, dtype=float)
    parts = SUBDIVISIONS
    discounts = np.exp(-law.log_discounts)
    values = fd.values * discounts[:, None]
    expected = np.empty((n, nodes * parts))
    drift = 0.0
    buffer, mid = np.empty(nodes), np.empty(nodes * parts)
    centre = fd.first + fd.j0 * fd.h  # log S0
    outside = math.erfc(WINDOW / math.sqrt(2.0))
    # X = X̂ + log(1 − Σ_{τ ≤ t} D_τ / Ŝ_τ)⁺: above X̂'s window's low end shifted by the cash
    # paid out of the low ends Ŝ_τ of X̂'s windows, unless X̂ leaves one of them
    paid = np.cumsum(law.cash / np.exp(centre + law.centres - WINDOW * law.spreads))
    dated = np.cumsum(law.cash > 0.0)
    for i in range(n):
        mu, s = law.means[i], law.sds[i]
        reach = _reach(mu, s, fd.h) + 1
        for r in range(parts):
            convolve(values[i], hat_weights(mu + r * fd.h / parts, s, fd.h, reach), buffer)
            expected[i, r::parts] = buffer
            if i > 0:  # the exact mean half-way to the next point
                convolve(values[i], hat_weights(mu + (r + 0.5) * fd.h / parts, s, fd.h, reach),
                         buffer)
                mid[r::parts] = buffer
        if floors[i] == floors[i]:
            difference, step = floors[i] - values[i, 0], fd.h / parts
            _add_below(expected[i], difference, 0.0, step, mu, s)
            if i > 0:
                _add_below(mid, difference, 0.5 * step, step, mu, s)
        if i > 0 and law.sds[i] >= fd.h:  # X_{i−1}'s window (a narrower step's C is exact)
            middle, spread = centre + law.centres[i - 1], WINDOW * law.spreads[i - 1]
            lo = -1  # the whole table where the window's low end may reach S = 0
            if paid[i - 1] < 1.0:
                low = middle - spread + math.log1p(-paid[i - 1])
                lo = max(int(math.floor((low - fd.first) / fd.h * parts)), -1)
            hi = int(math.ceil((middle + spread - fd.first) / fd.h * parts))
            drift += drift_bound(expected[i], mid, lo, hi, (1 + dated[i - 1]) * outside)
    return DualTables(fd.first, fd.h, fd.h / parts, values, expected,
                      float(expected[0, fd.j0 * parts]), drift, floors)


@njit(cache=True)
def drift_bound(expected, mid, lo, hi, outside):
    """A bound on |E[cubic(C)(X) − C(X)]| from the mid-points between the table's points
    (where the cubic's error peaks; ``mid`` their exact values): the largest error over the
    points lo … hi (the window of X's law) plus ``outside`` (X's chance of leaving the
    window) times the largest error elsewhere."""
    inner, outer = 0.0, 0.0
    for j in range(1, expected.size - 2):
        cubic = (-expected[j - 1] + 9.0 * expected[j] + 9.0 * expected[j + 1]
                 - expected[j + 2]) / 16.0
        error = abs(cubic - mid[j])
        if lo <= j <= hi:
            inner = max(inner, error)
        else:
            outer = max(outer, error)
    return inner + outside * outer


@njit(cache=True)
def dual_values(x, before, dates, exercisable, strike, omega, log_discounts, means, sds, first,
                h, values, step, expected, start, floors, at_zero, spot, out, martingale):
    """For each path p of log-prices ``x`` (grid dates × paths; ``before``: the same before a
    cash drop on the date) on the dates ``dates`` (indices into x's rows, discounts
    exp(−``log_discounts``), steps N(``means``, ``sds``²)): out[p] = max_i (Z_i − M_i) over
    the ``exercisable`` dates (and Z_0 = h(S0) with ``at_zero``), martingale[p] = M_n,
    ΔM_i = D_i Ṽ_i(X_i⁻) − C_{i−1}(X_{i−1}) (Ṽ_i: :func:`_value` with ``floors``), C from the
    table, or exactly (:func:`_expectation`) on a step narrower than the grid's (s_i < h: a
    cash dividend's cum date to its ex-date, where the table's cubic would not resolve C's
    bends at the nodes) and, with a floor, off the table's cubic (below the grid, where a cash
    drop may take a path), and ΔM_i = 0 on a path at S = 0 (X_{i−1} = −∞: its step is
    certain).  Date by date, so that each date's tables stay in cache."""
    n_paths = x.shape[1]
    n = dates.size
    base = max(omega * (spot - strike), 0.0) if at_zero else -np.inf
    for p in range(n_paths):
        out[p] = base
        martingale[p] = 0.0
    points = expected.shape[1]
    for i in range(n):
        discount = math.exp(-log_discounts[i])
        row, ahead = x[dates[i]], before[dates[i]]
        previous = x[dates[i - 1]] if i > 0 else row
        narrow, floor = sds[i] < h, floors[i]
        for p in range(n_paths):
            if i == 0 or previous[p] > -np.inf:
                if i == 0:
                    expectation = start
                elif narrow or (floor == floor and not
                                1.0 < (previous[p] - first) / step < points - 2):
                    expectation = _expectation(values[i], first, h, previous[p], means[i],
                                               sds[i], floor)
                else:
                    expectation = _cubic(expected[i], first, step, previous[p])
                martingale[p] += _value(values[i], first, h, ahead[p], floor) - expectation
            if exercisable[i]:
                z = discount * max(omega * (math.exp(row[p]) - strike), 0.0)
                out[p] = max(out[p], z - martingale[p])


def _log_paths(rng, n_paths: int, spot: float, law: Law) -> tuple[np.ndarray, np.ndarray]:
    """log S on the law's dates (dates × paths), exact Gaussian steps, and the same before
    the cash drops (the same array without any)."""
    steps = law.means + law.sds * rng.standard_normal((n_paths, law.means.size))
    if not law.cash.any():
        x = np.ascontiguousarray((math.log(spot) + np.cumsum(steps, axis=1)).T)
        return x, x
    return _dropped_paths(np.ascontiguousarray(steps.T), math.log(spot), law.cash)


@njit(cache=True)
def _dropped_paths(steps, start, cash):
    """X_i⁻ = X_{i−1} + steps_i and X_i = log max(e^{X_i⁻} − cash_i, 0) (−∞ at S = 0, where
    a path stays) from X_0 = ``start``: (X, X⁻), dates × paths."""
    after, before = np.empty_like(steps), np.empty_like(steps)
    for p in range(steps.shape[1]):
        x = start
        for i in range(steps.shape[0]):
            x += steps[i, p]
            before[i, p] = x
            if cash[i] > 0.0:
                s = math.exp(x) - cash[i]
                x = math.log(s) if s > 0.0 else -np.inf
            after[i, p] = x
    return after, before


def spawn_words(*values) -> tuple:
    """Four 32-bit words hashing a row's defining values (its streams do not depend on its
    position in the file)."""
    digest = hashlib.blake2b(repr(tuple(values)).encode(), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))


def upper_bound(spot, strike, maturity, rate, dividend, vol, is_call, times, *, paths: int,
                seed: int, american: bool = False, richardson: bool = False,
                tables=None, words=None) -> UpperBound:
    """The dual upper bound of the Bermudan option on ``times`` (the last the maturity; with
    ``american``, also exercisable at t = 0), on ``paths`` paths of its own streams; with
    ``richardson``, 2 U(Δ) − U(2Δ), U(2Δ) on every second date back from maturity (the
    paths' per-path combination gives the SE).  ``tables``: the martingales' tables (for
    tests: a deliberately wrong one); by default from the finite-difference value function.
    ``words``: the streams' spawn words (by default hashing the row's defining values; for
    tests: shared with :func:`upper_bound_market`)."""
    from greeks.models.gbm.american import bermudan_values

    times = np.asarray(times, dtype=float)
    if words is None:
        words = spawn_words(float(spot), float(strike), float(maturity), float(rate),
                            float(dividend), float(vol), bool(is_call), times.tolist(),
                            american)
    return _bound(
        float(spot), float(strike), bool(is_call), times,
        lambda dates, _: bermudan_values(spot, strike, maturity, rate, dividend, vol, is_call,
                                         dates),
        lambda dates: flat_law(dates, rate, dividend, vol),
        words, paths, seed, american, richardson, tables, np.zeros(times.size, dtype=bool),
        np.ones(times.size, dtype=bool))


def martingale_dates(times: np.ndarray, dynamics) -> tuple[np.ndarray, np.ndarray]:
    """The martingale's dates of the option exercisable on ``times`` (the last the maturity)
    and which of them are exercise dates: ``times`` and each cash ex-date before the maturity
    that is none of them (within ``TIME_TOLERANCE``: the finite-difference scheme's), so that
    every cash drop falls at the end of a step."""
    from greeks.models.gbm.american_market import TIME_TOLERANCE

    tol = TIME_TOLERANCE * times[-1]
    extra = [d.time for d in dynamics.cash_dividends(float(times[-1]))
             if 0.0 < d.time < times[-1] - tol and np.abs(times - d.time).min() > tol]
    if not extra:
        return times, np.ones(times.size, dtype=bool)
    dates = np.concatenate([times, extra])
    order = np.argsort(dates, kind="stable")
    return dates[order], (np.arange(dates.size) < times.size)[order]


def upper_bound_market(dynamics, strike, is_call, times, *, paths: int, seed: int,
                       american: bool = False, richardson: bool = False, tables=None,
                       words=None) -> UpperBound | None:
    """:func:`upper_bound` of the Bermudan option on ``times`` off a market (``dynamics``: a
    :class:`greeks.market.dynamics.Dynamics`; None without a GBM vol curve): the martingale
    on :func:`martingale_dates` (Z = −∞ on a cash ex-date that is no exercise date), the value
    functions of :func:`greeks.models.gbm.american_market.bermudan_values_market` (on a cash
    ex-date, of the price before the drop), the steps' law of :func:`market_law`.
    ``tables``: on the martingale's dates; ``words``: the streams' spawn words (by default
    hashing the dynamics, strike, type and dates; for tests: shared with
    :func:`upper_bound`)."""
    from greeks.market.positions import dividend_dates
    from greeks.models.gbm.american_market import bermudan_values_market

    times = np.asarray(times, dtype=float)
    if dynamics.vol is None:
        return None
    if words is None:
        words = spawn_words(dynamics.key, float(strike), bool(is_call), times.tolist(),
                            american)
    dates, exercisable = martingale_dates(times, dynamics)
    kept = ~exercisable | (dividend_dates(dates, dynamics) if american else False)
    return _bound(
        float(dynamics.spot), float(strike), bool(is_call), dates,
        lambda sub, dated: bermudan_values_market(dynamics, strike, is_call, sub[dated],
                                                  extra_times=sub[~dated]),
        lambda sub: market_law(dynamics, sub),
        words, paths, seed, american, richardson, tables, kept, exercisable)


def _bound(spot, strike, is_call, times, value_function, law_of, words, paths, seed, american,
           richardson, tables, kept, exercisable) -> UpperBound:
    """The estimate of :func:`upper_bound` on the martingale's dates ``times`` (Z = −∞ off
    the ``exercisable`` ones) from the value functions ``value_function(dates, exercisable)``
    and the laws ``law_of(dates)`` of the dates' subsets, on the streams ``words``; ``kept``:
    the dates in the Richardson partner's subset whatever its stepping (an american row's
    dividend dates off a market, the dates that are not exercise dates:
    :func:`greeks.exercise.stepped_dates`)."""
    from greeks.exercise import stepped_dates

    omega = 1.0 if is_call else -1.0
    subsets = [np.arange(times.size)]
    if richardson:
        subsets.append(np.append(stepped_dates(kept, 2), times.size - 1))
    laws = [law_of(times[d]) for d in subsets]
    if tables is None:
        tables = [dual_tables(value_function(times[d], exercisable[d]), law,
                              _floors(law, exercisable[d], strike, is_call))
                  for d, law in zip(subsets, laws)]
    law = laws[0]
    combined = np.empty(paths)
    final = np.empty(paths)
    for c, first in enumerate(range(0, paths, CHUNK_PATHS)):
        count = min(CHUNK_PATHS, paths - first)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            seed, spawn_key=(*words, streams.DUALITY + c))))
        x, before = _log_paths(rng, count, spot, law)
        parts = []
        for d, t, sub in zip(subsets, tables, laws):
            out, m = np.empty(count), np.empty(count)
            dual_values(x, before, d, exercisable[d], strike, omega, sub.log_discounts,
                        sub.means, sub.sds, t.first, t.h, t.values, t.step, t.expected, t.start,
                        t.floors, american, spot, out, m)
            parts.append(out)
            if len(parts) == 1:
                final[first:first + count] = m
        combined[first:first + count] = parts[0] if len(parts) == 1 else 2.0 * parts[0] - parts[1]
    drift = tables[0].drift if len(tables) == 1 else 2.0 * tables[0].drift + tables[1].drift
    root = math.sqrt(paths)
    return UpperBound(float(combined.mean()), float(combined.std(ddof=1) / root), drift,
                      float(final.mean()), float(final.std(ddof=1) / root))


def _floors(law: Law, exercisable: np.ndarray, strike: float, is_call: bool):
    """D_i V_i(0), the value functions' discounted values at S = 0 where a cash drop may take
    the price below the grid (None without one: the paths stay on it): a put's strike at its
    next exercise date on or after t_i, discounted (the march's V(τ, 0)), a call's 0."""
    if not law.cash.any():
        return None
    if is_call:
        return np.zeros(law.cash.size)
    dates = np.flatnonzero(exercisable)  # the maturity last
    later = dates[np.searchsorted(dates, np.arange(law.cash.size))]
    return strike * np.exp(-law.log_discounts[later])


def martingale_z(result: UpperBound) -> float:
    """The paths' mean of M_n in SEs (E[M_n] = 0 for a martingale)."""
    return result.martingale / result.martingale_se if result.martingale_se > 0 else 0.0


def frame_upper_bounds(frame, paths, seed: int):
    """(upper, se, checks) of every row of a validated instrument frame: the dual upper bound
    of its american and bermudan rows whose model has one (``Model.upper_bound``: GBM's
    :func:`upper_bound`, off a market :func:`upper_bound_market`, cash dividends included;
    Heston's :func:`greeks.models.heston.duality.upper_bound`, off a market too, cash
    dividends included) on its exercise dates (off a market the row's
    ``RowMarket.times``), on ``paths`` paths, a count or a mapping from id to count, at most
    ``BOUND_PATHS``; reported: U + δ), NaN for the others: other rows and rows with more than
    ``MAX_DATES`` exercise dates (the tables take about 60 bytes per date and grid node,
    200 MB at that size with the Richardson partner's);
    ``checks`` maps each bounded row's id to its martingale's drift bound and the paths' mean
    of M_n in SEs (:func:`martingale_z`)."""
    from greeks.engine.plan import MIN_RICHARDSON, row_dates
    from greeks.market.positions import MARKET_COLUMN
    from greeks.models import adapter

    n = len(frame)
    upper, se = np.full(n, np.nan), np.full(n, np.nan)
    checks = {}
    markets = frame[MARKET_COLUMN] if MARKET_COLUMN in frame.columns else [None] * n
    for k, (row, market) in enumerate(zip(frame.to_dict("records"), markets)):
        if row["instrument"] not in ("american", "bermudan"):
            continue
        american = row["instrument"] == "american"
        times = (row_dates(float(row["maturity"]), int(row["fixings"])) if market is None
                 else np.asarray(market.times, dtype=float))
        if times.size > MAX_DATES:
            continue
        count = min(BOUND_PATHS, int(paths[str(row["id"])]) if isinstance(paths, dict)
                    else int(paths))
        result = adapter(row["model"]).upper_bound(
            row, times, paths=count, seed=seed, american=american,
            richardson=american and times.size >= MIN_RICHARDSON, market=market)
        if result is None:  # the model has no bound
            continue
        upper[k], se[k] = result.upper + result.drift, result.se
        checks[str(row["id"])] = {"drift": result.drift, "martingale_z": martingale_z(result)}
    return upper, se, checks


def failed_checks(checks: dict) -> list[str]:
    """The ids whose martingale check fails: |mean of M_n| beyond ``ALARM`` SEs (a chance of
    6e-7 per row for a martingale)."""
    return [i for i, check in checks.items() if abs(check["martingale_z"]) > ALARM]
