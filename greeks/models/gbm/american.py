"""Finite-difference reference: American and Bermudan puts and calls under GBM.

The value V(τ, x) of the option, in time to maturity τ = T − t and log-price x = log S,
solves the Black–Scholes equation with constant coefficients

    ∂V/∂τ = L V,   L V = a ∂²V/∂x² + b ∂V/∂x − r V,   a = σ²/2,   b = r − q − σ²/2,

from V(0, x) = g(x) = max(ω (e^x − K), 0) (ω = +1 call, −1 put), and, on exercise dates,
the early-exercise condition V ≥ g: V(τ, ·) = max(continuation, g) (Bermudan), or the linear
complementarity problem min(∂V/∂τ − L V, V − g) = 0 at every time (American).

Scheme
------
* Grid: uniform in x, x_j = log S0 + (j − j0) h, j = 0 … M, so that the spot is the node j0.
  The domain reaches ``WIDTH`` standard deviations σ√T (plus the drift |b|T) beyond both log S0
  and log K; the boundary then affects the price by about the chance of reaching it,
  below 1e-9.  M = ``space_steps``, raised where needed so that h |b| ≤ σ² (central
  differences then give an M-matrix: the scheme is monotone and the exercise solve below exact).
* Space: central second-order differences of ∂²/∂x² and ∂/∂x (error O(h²)).
* Time: Crank–Nicolson (θ = ½, error O(Δτ²)); every non-smooth start — the payoff at maturity
  and the value just after each Bermudan exercise date — is followed by Rannacher start-up:
  its first two Crank–Nicolson steps are replaced by four fully implicit half steps, which damp
  the kink's high frequencies that Crank–Nicolson would let ring, and keep second order for
  the price, delta and gamma (Rannacher 1984; Giles & Carter 2006, J. Comp. Finance 9(4)).
  The payoff's kink is smoothed on the grid: the node whose cell [x_j − h/2, x_j + h/2]
  contains log K starts from the cell average of g (Pooley, Vetzal & Forsyth 2003, J. Comp.
  Finance 6(4)), so that second-order convergence does not depend on where K falls between nodes.
  Bermudan dates are nodes of the time grid: each interval between them (and between the last
  one and t = 0) gets its share of ``time_steps``, at least two steps.
* Boundaries (Dirichlet): 0 on the out-of-the-money side; on the in-the-money side the value
  of immediate exercise at the next exercise opportunity, ω (S e^{−q s} − K e^{−r s}) with s the
  time from the node's time to that opportunity (the maturity for a European-style interval).
* Early exercise, American: solved exactly at each step, with no splitting error.  The step's
  linear system is tridiagonal and, with the exercise region one interval at the in-the-money
  end (a put's [0, S*], a call's [S*, ∞), true under GBM with r ≥ 0, q ≥ 0), the
  Brennan–Schwartz algorithm solves the linear complementarity problem A V ≥ c, V ≥ g,
  (A V − c)·(V − g) = 0 exactly: eliminate towards the in-the-money end, then substitute back
  from it, taking max(·, g) at each node (Brennan & Schwartz 1977, J. Finance 32; Jaillet,
  Lamberton & Lapeyre 1990, Acta Appl. Math. 21, for its exactness with M-matrices).  Exercise
  is possible at every time node, t = 0 included.  With negative rates (q < r < 0) a put's
  exercise region can be an interval away from S = 0; the tests still find prices within 2e-5
  of a binomial tree there, but exactness is not proven.
* Early exercise, Bermudan: a plain linear solve, then V = max(V, g) after the steps that end
  on an exercise date: the exact Bermudan condition (continuation against exercise).

Greeks
------
From the grid at the spot's node (second-order differences):
delta = V_x / S0, gamma = (V_xx − V_x) / S0², with V_x = (V_{j0+1} − V_{j0−1}) / (2h),
V_xx = (V_{j0+1} − 2V_{j0} + V_{j0−1}) / h².  Vega (per 1.00 of σ) is the fourth-order central
difference [8 (V(σ + δ) − V(σ − δ)) − (V(σ + 2δ) − V(σ − 2δ))] / (12 δ), δ = ``VOL_BUMP``·σ, on
the same grid and time steps, so that the discretisation error largely cancels in the
differences (the truncation error, O(δ⁴), is far below it).

Accuracy
--------
Second order in h and Δτ for European-style and Bermudan options (measured by halving both);
about order 1.5 in Δτ for American options (the exercise boundary's square-root behaviour
near maturity).  At the defaults (``SPACE_STEPS`` = 2000, ``TIME_STEPS`` = 1000), against
converged values (12 000 × 8 000) and closed forms: European prices within 3e-6 relative, the
out-of-the-money ones within 7e-5 relative where they are worth 0.4 % of the spot and 3e-4
where worth 0.004 % (about 1e-8·S0 in absolute terms: the O(h²) error does not shrink with the
price); deltas within 1e-5; gammas and vegas within 2e-5 relative (1.3e-4 for the option
worth 0.004 %); American puts and calls of 0.5 to 1.5 years within 2e-5 relative; Bermudans
with a few dates within 1e-5, with 100 dates (10 steps between dates) within 6e-5.  A call costs
five solves of (M + 1) nodes × about ``TIME_STEPS`` steps, about 0.4 s on a loaded two-core
machine (0.08 s with ``vega=False``).  ``tests/models/gbm/test_american_fd.py`` checks the
stated accuracy against Black–Scholes, published values and binomial trees.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

SPACE_STEPS = 2000  # intervals of the log-price grid
TIME_STEPS = 1000  # time steps from maturity to 0
WIDTH = 6.0  # standard deviations σ√T beyond log S0 and log K
VOL_BUMP = 1e-2  # relative volatility step of the central-difference vega
RANNACHER_HALF_STEPS = 4  # fully implicit half steps replacing two Crank–Nicolson steps
STEPS_PER_DATE = 6  # least time steps between the dates of an exercise boundary


class FDGreeks(NamedTuple):
    price: float
    delta: float
    gamma: float
    vega: float


@njit(cache=True)
def _solve_step(sub, dia, sup, rhs, obstacle, exercise, put, pivots, reduced, out):
    """Solve the tridiagonal system (sub, dia, sup) V = rhs into ``out``; with ``exercise``, the
    complementarity problem with V ≥ obstacle by Brennan–Schwartz: eliminate towards the
    in-the-money end (index 0 for a put, M for a call), substitute back from it with the max."""
    m = rhs.size - 1
    if put:
        pivots[m] = dia[m]
        reduced[m] = rhs[m]
        for j in range(m - 1, -1, -1):
            w = sup[j] / pivots[j + 1]
            pivots[j] = dia[j] - w * sub[j + 1]
            reduced[j] = rhs[j] - w * reduced[j + 1]
        out[0] = reduced[0] / pivots[0]
        if exercise and out[0] < obstacle[0]:
            out[0] = obstacle[0]
        for j in range(1, m + 1):
            out[j] = (reduced[j] - sub[j] * out[j - 1]) / pivots[j]
            if exercise and out[j] < obstacle[j]:
                out[j] = obstacle[j]
    else:
        pivots[0] = dia[0]
        reduced[0] = rhs[0]
        for j in range(1, m + 1):
            w = sub[j] / pivots[j - 1]
            pivots[j] = dia[j] - w * sup[j - 1]
            reduced[j] = rhs[j] - w * reduced[j - 1]
        out[m] = reduced[m] / pivots[m]
        if exercise and out[m] < obstacle[m]:
            out[m] = obstacle[m]
        for j in range(m - 1, -1, -1):
            out[j] = (reduced[j] - sup[j] * out[j + 1]) / pivots[j]
            if exercise and out[j] < obstacle[j]:
                out[j] = obstacle[j]


@njit(cache=True)
def _march(spots, values, obstacle, dts, thetas, exercise, american, h, vol, rate, dividend,
           strike, put, edges, record):
    """March ``values`` (the payoff on the grid ``spots``) from maturity to t = 0 by θ-steps of
    lengths ``dts`` and weights ``thetas`` (½ Crank–Nicolson, 1 implicit).  ``american``: every
    step solves the complementarity problem with V ≥ ``obstacle``; otherwise a step with
    ``exercise`` (ending on a Bermudan date) is followed by V = max(V, obstacle), and, where
    ``edges`` has room, the date's exercise boundary (:func:`_edge`) goes to ``edges`` in the
    order of the march (the last date before maturity first), and where ``record`` (dates ×
    nodes) has room, the date's value max(continuation, obstacle) to its next row, in the same
    order.  Returns the values at t = 0 (a Bermudan's: its continuation there)."""
    m = spots.size - 1
    a = 0.5 * vol * vol
    b = rate - dividend - a
    lo = a / (h * h) - b / (2.0 * h)
    up = a / (h * h) + b / (2.0 * h)
    di = -(lo + up) - rate
    v = values.copy()
    new = np.empty_like(v)
    rhs = np.empty_like(v)
    sub = np.zeros_like(v)
    dia = np.ones_like(v)
    sup = np.zeros_like(v)
    pivots = np.empty_like(v)
    reduced = np.empty_like(v)
    since = 0.0  # time from the node's time to the next exercise opportunity (or maturity)
    dated = 0
    recorded = 0
    for n in range(dts.size):
        dt = dts[n]
        th = thetas[n]
        explicit = (1.0 - th) * dt
        for j in range(1, m):
            rhs[j] = v[j] + explicit * (lo * v[j - 1] + di * v[j] + up * v[j + 1])
            sub[j] = -th * dt * lo
            dia[j] = 1.0 - th * dt * di
            sup[j] = -th * dt * up
        since += dt
        exercised = strike * math.exp(-rate * since)
        if put:
            rhs[0] = exercised - spots[0] * math.exp(-dividend * since)
            rhs[m] = 0.0
        else:
            rhs[0] = 0.0
            rhs[m] = spots[m] * math.exp(-dividend * since) - exercised
        _solve_step(sub, dia, sup, rhs, obstacle, american, put, pivots, reduced, new)
        v, new = new, v
        if exercise[n]:
            if not american:
                if dated < edges.size:
                    edges[dated] = _edge(spots, v, obstacle, h, put)
                    dated += 1
                for j in range(m + 1):
                    v[j] = max(v[j], obstacle[j])
                if recorded < record.shape[0]:
                    record[recorded, :] = v
                    recorded += 1
            since = 0.0
    return v


@njit(cache=True)
def _edge(spots, continuation, obstacle, h, put):
    """The exercise boundary b of one Bermudan date from the continuation values on the grid:
    the exercise region (continuation ≤ intrinsic, in the money) is an interval at the
    in-the-money end (a put's S ≤ b, a call's S ≥ b), its end found where d = continuation −
    intrinsic changes sign, log-linear between the two nodes; 0 (put) or inf (call) where no
    node exercises."""
    m = spots.size - 1
    if put:
        j = 0
        while j <= m and obstacle[j] > 0.0 and continuation[j] <= obstacle[j]:
            j += 1
        if j == 0:
            return 0.0
        inner = j - 1
        outer = j if j <= m else inner
    else:
        j = m
        while j >= 0 and obstacle[j] > 0.0 and continuation[j] <= obstacle[j]:
            j -= 1
        if j == m:
            return np.inf
        inner = j + 1
        outer = j if j >= 0 else inner
    d_in = continuation[inner] - obstacle[inner]  # ≤ 0
    d_out = continuation[outer] - obstacle[outer]
    if outer == inner or d_out <= d_in:
        return spots[inner]
    share = -d_in / (d_out - d_in)
    return spots[inner] * math.exp(share * h * (1.0 if outer > inner else -1.0))


def _check(spot, strike, maturity, vol, exercise_times, space_steps, time_steps):
    for name, value in (("spot", spot), ("strike", strike), ("maturity", maturity), ("vol", vol)):
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if space_steps < 4 or time_steps < 2:
        raise ValueError(f"need space_steps >= 4 and time_steps >= 2, got {space_steps}, "
                         f"{time_steps}")
    if exercise_times is None:
        return None
    return checked_exercise_dates(exercise_times, maturity)


def checked_exercise_dates(exercise_times, maturity) -> np.ndarray:
    """Bermudan exercise dates as an array: increasing, > 0, the last the maturity (set to
    it exactly); ValueError otherwise."""
    dates = np.asarray(exercise_times, dtype=float).ravel()
    if dates.size == 0:
        raise ValueError("exercise_times must hold at least the maturity")
    if not np.all(np.isfinite(dates)) or dates[0] <= 0.0 or np.any(np.diff(dates) <= 0.0):
        raise ValueError("exercise_times must be increasing and > 0")
    if abs(dates[-1] - maturity) > 1e-12 * max(1.0, maturity):
        raise ValueError(f"the last exercise time must be the maturity {maturity!r}, "
                         f"got {dates[-1]!r}")
    dates[-1] = maturity
    return dates


def _schedule(maturity, dates, time_steps):
    """Step lengths, θ weights and exercise flags in the order of the march (from maturity).

    Intervals between non-smooth points (maturity, each Bermudan date) each start with
    Rannacher's implicit half steps; an American is one interval with exercise after every step."""
    if dates is None:
        bounds = np.array([0.0, maturity])
    else:  # τ = T − t at the dates (the first is 0, the maturity), then t = 0
        bounds = np.append(maturity - dates[::-1], maturity)
    dts, thetas, exercise = [], [], []
    last = bounds.size - 2
    for i in range(last + 1):
        length = bounds[i + 1] - bounds[i]
        steps = max(2, round(time_steps * length / maturity))
        dt = length / steps
        half = 2.0 * dt / RANNACHER_HALF_STEPS
        dts += [half] * RANNACHER_HALF_STEPS + [dt] * (steps - 2)
        thetas += [1.0] * RANNACHER_HALF_STEPS + [0.5] * (steps - 2)
        count = RANNACHER_HALF_STEPS + steps - 2
        if dates is None:
            exercise += [True] * count
        else:  # the interval ends on an exercise date, except the last (at t = 0)
            exercise += [False] * (count - 1) + [i < last]
    return np.array(dts), np.array(thetas), np.array(exercise, dtype=np.bool_)


def _grid(spot, strike, maturity, rate, dividend, vol, space_steps):
    """Log-price step h, node count M and the spot's index j0 (x_{j0} = log S0)."""
    x0, k = math.log(spot), math.log(strike)
    drift = abs(rate - dividend - 0.5 * vol * vol)
    reach = WIDTH * vol * math.sqrt(maturity) + drift * maturity
    lower, upper = min(x0, k) - reach, max(x0, k) + reach
    width = upper - lower
    steps = max(space_steps, math.ceil(width * drift / (vol * vol)))  # h |b| <= σ²
    h = width / steps
    j0 = round((x0 - lower) / h)
    j0 = min(max(j0, 1), steps - 1)
    return h, steps, j0


def _payoff(spots, h, strike, put):
    """Intrinsic value at the nodes and the initial values (the kink's cell averaged)."""
    omega = -1.0 if put else 1.0
    obstacle = np.maximum(omega * (spots - strike), 0.0)
    values = obstacle.copy()
    k = math.log(strike)
    x = np.log(spots)
    for j in np.flatnonzero(np.abs(x - k) < 0.5 * h):
        lo, hi = x[j] - 0.5 * h, x[j] + 0.5 * h
        if put:
            hi = min(hi, k)
        else:
            lo = max(lo, k)
        # (1/h) ∫ ω (e^y − K) dy over the cell's in-the-money part
        values[j] = omega * ((math.exp(hi) - math.exp(lo)) - strike * (hi - lo)) / h
    return obstacle, values


def american_fd(spot, strike, maturity, rate, dividend, vol, is_call, exercise_times=None, *,
                space_steps=SPACE_STEPS, time_steps=TIME_STEPS, vega=True) -> FDGreeks:
    """Price, delta, gamma and vega (per 1.00 of σ) of an American or Bermudan call or put.

    ``exercise_times`` None: American (exercisable at every time step, t = 0 included);
    otherwise the Bermudan exercise dates in years, increasing, > 0, the last the maturity
    (``[maturity]`` alone is the European option).  Crank–Nicolson in log S with Rannacher
    start-up and exact early exercise by Brennan–Schwartz: see the module's docstring for the
    scheme, boundaries and accuracy.  ``vega=False`` skips the four solves of the vega (a
    fifth of the cost), whose field is then nan.
    """
    spot, strike, maturity = float(spot), float(strike), float(maturity)
    rate, dividend, vol = float(rate), float(dividend), float(vol)
    for name, value in (("rate", rate), ("dividend", dividend)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    dates = _check(spot, strike, maturity, vol, exercise_times, int(space_steps), int(time_steps))
    put = not bool(is_call)
    h, steps, j0 = _grid(spot, strike, maturity, rate, dividend, vol, int(space_steps))
    spots = spot * np.exp((np.arange(steps + 1) - j0) * h)
    spots[j0] = spot
    obstacle, values = _payoff(spots, h, strike, put)
    dts, thetas, exercise = _schedule(maturity, dates, int(time_steps))

    def solve(sigma):
        return _march(spots, values, obstacle, dts, thetas, exercise, dates is None, h, sigma,
                      rate, dividend, strike, put, np.empty(0), np.empty((0, 0)))

    v = solve(vol)
    first = (v[j0 + 1] - v[j0 - 1]) / (2.0 * h)
    second = (v[j0 + 1] - 2.0 * v[j0] + v[j0 - 1]) / (h * h)
    sensitivity = math.nan
    if vega:
        bump = VOL_BUMP * vol
        near = solve(vol + bump)[j0] - solve(vol - bump)[j0]
        far = solve(vol + 2.0 * bump)[j0] - solve(vol - 2.0 * bump)[j0]
        sensitivity = (8.0 * near - far) / (12.0 * bump)
    return FDGreeks(float(v[j0]), float(first / spot), float((second - first) / (spot * spot)),
                    float(sensitivity))


def exercise_boundaries(spot, strike, maturity, rate, dividend, vol, is_call, exercise_times, *,
                        space_steps=SPACE_STEPS, time_steps=TIME_STEPS) -> np.ndarray:
    """The optimal exercise boundaries b_k of the Bermudan option on ``exercise_times`` (the
    last the maturity), one per date before maturity: exercising on date t_k where
    S ≤ b_k (put) or S ≥ b_k (call) is optimal, b_k the price at which the continuation
    value, on this module's grid (the Bermudan scheme of :func:`american_fd`, with at least
    ``STEPS_PER_DATE`` time steps between dates), meets the intrinsic value (:func:`_edge`; 0
    or inf where it never does).  The region in S does not
    depend on the spot, which only places the grid."""
    scheme = _bermudan(spot, strike, maturity, rate, dividend, vol, is_call, exercise_times,
                       space_steps, time_steps)
    edges = np.full(scheme.dates.size - 1, np.nan)
    _march(*scheme.march, edges, np.empty((0, 0)))
    return edges[::-1].copy()


class _Bermudan(NamedTuple):
    """The set-up of a Bermudan march on its exercise dates: the dates, the grid (log step
    ``h``, ``steps`` intervals, the spot at node ``j0``) and :func:`_march`'s leading
    arguments (``march``: spots … put)."""

    dates: np.ndarray
    h: float
    steps: int
    j0: int
    march: tuple


def _bermudan(spot, strike, maturity, rate, dividend, vol, is_call, exercise_times, space_steps,
              time_steps) -> _Bermudan:
    """The grid and schedule of :func:`exercise_boundaries` and :func:`bermudan_values`: this
    module's Bermudan scheme with at least ``STEPS_PER_DATE`` time steps between dates."""
    spot, strike, maturity = float(spot), float(strike), float(maturity)
    rate, dividend, vol = float(rate), float(dividend), float(vol)
    dates = _check(spot, strike, maturity, vol, exercise_times, int(space_steps), int(time_steps))
    put = not bool(is_call)
    h, steps, j0 = _grid(spot, strike, maturity, rate, dividend, vol, int(space_steps))
    spots = spot * np.exp((np.arange(steps + 1) - j0) * h)
    obstacle, values = _payoff(spots, h, strike, put)
    dts, thetas, exercise = _schedule(maturity, dates,
                                      max(int(time_steps), STEPS_PER_DATE * dates.size))
    return _Bermudan(dates, h, steps, j0, (spots, values, obstacle, dts, thetas, exercise, False,
                                           h, vol, rate, dividend, strike, put))


class BermudanValues(NamedTuple):
    """The finite-difference value function of a Bermudan option on its log-price grid
    x_j = ``first`` + j h, j = 0 … M (x_{j0} = log S0): ``values[i]`` on date t_i, max(continuation,
    intrinsic) (the last, at maturity, the intrinsic value), and ``continuation`` at t = 0."""

    first: float
    h: float
    j0: int
    values: np.ndarray
    continuation: np.ndarray


def bermudan_values(spot, strike, maturity, rate, dividend, vol, is_call, exercise_times, *,
                    space_steps=SPACE_STEPS, time_steps=TIME_STEPS) -> BermudanValues:
    """The value function of the Bermudan option on ``exercise_times`` (the last the maturity)
    at each of its dates, from the march of :func:`exercise_boundaries` (the same grid and
    time steps, so that it is the value function of the policy's boundaries)."""
    scheme = _bermudan(spot, strike, maturity, rate, dividend, vol, is_call, exercise_times,
                       space_steps, time_steps)
    record = np.empty((scheme.dates.size - 1, scheme.steps + 1))
    continuation = _march(*scheme.march, np.empty(0), record)
    obstacle = scheme.march[2]
    table = np.vstack([record[::-1], obstacle[None, :]])
    return BermudanValues(math.log(float(spot)) - scheme.j0 * scheme.h, scheme.h, scheme.j0,
                          table, continuation)
