"""Finite-difference reference off a market: American and Bermudan options under GBM with
rate and yield curves, a volatility term structure and discrete dividends.

The dynamics (:class:`greeks.market.dynamics.Dynamics`) are GBM with deterministic,
time-dependent coefficients and jumps at the ex-dates: between ex-dates

    dS/S = (r(t) − q(t)) dt + σ(t) dW,

with r = dI_r/dt and q = dI_q/dt the forwards of the rate and yield curves and σ(t)² = dw/dt
the forward variance of the vol curve; at an ex-date τ the price drops, S(τ) = max(S(τ−) − D, 0)
(cash D) or S(τ−)(1 − y) (proportional y).  The value V(t, x), x = log S, solves

    −∂V/∂t = a(t) ∂²V/∂x² + b(t) ∂V/∂x − r(t) V,   a = σ(t)²/2,   b = r(t) − q(t) − a,

between ex-dates, with the jump condition V(τ−, S) = V(τ, S − D) (cash; V(τ, 0) where S ≤ D)
or V(τ, S(1 − y)) (proportional) at each ex-date — no-arbitrage across a known drop
(Wilmott, Howison & Dewynne 1995, The Mathematics of Financial Derivatives, §6.5) — and
the early-exercise condition V ≥ g, g(S) = max(ω(S − K), 0).

Scheme (that of :mod:`greeks.models.gbm.american`, whose kernels it reuses, with these changes)
------------------------------------------------------------------------------------------
* Time grid: every exercise date, ex-date and node of the rate, yield and vol curves before
  maturity is a node; each interval between them gets its share of ``time_steps`` (at least
  one step; at least two after a non-smooth point).  The coefficients are then constant on
  every step, exactly: the step from t_n to t_{n+1} uses the local rate
  r_n = (I_r(t_{n+1}) − I_r(t_n)) / Δt, yield q_n likewise, and variance
  σ_n² = (w(t_{n+1}) − w(t_n)) / Δt — the piecewise-constant forwards of the curves (no
  splitting or averaging error: Crank–Nicolson stays second order in Δt).
* Rannacher start-up (four implicit half steps) after maturity, after each Bermudan date and
  after each ex-date: the jump moves the kink of an exercised value (and of the payoff where
  the ex-date is the expiry) off the grid's alignment.
* Jumps: after the step that ends on an ex-date (backward in time), the values are replaced by
  V(τ, ·) at the dropped prices, read off the grid by cubic Lagrange interpolation in x on the
  four nearest nodes (error O(h⁴) where V is smooth, O(h²) across an exercise boundary, where
  V_xx jumps: no worse than the scheme's own order).  Dropped prices below the grid's first
  node are interpolated linearly in S between V(τ, 0) and that node; V(τ, 0) is known exactly:
  a call's 0, a put's K discounted to its next exercise opportunity at or after τ (K itself for
  an American).  An American is then exercisable at τ− (on the cum-dividend price: a call is
  exercised just before the drop), V(τ−) = max(V(τ−), g); a Bermudan date on an ex-date is
  exercised on the price after the drop (``exercise_boundaries_market``).  A dividend on the
  expiry date is applied to the payoff directly: with the post-drop price S' = max(αS − c, 0),
  ω(S' − K)⁺ = α·ω(S − (K + c)/α)⁺ where S' > 0, so the payoff's cell averaging still holds
  (an ex-date within ``TIME_TOLERANCE`` of the expiry is on it).
* Grid: uniform in x through log S0; it reaches ``WIDTH`` standard deviations √w(T) plus the
  drift |I_r − I_q − w/2 + Σ log(1 − y)| beyond log S0 and log K, and as far below
  log(S0 − ΣD) (the cash dividends' downward shift of the forward, which on a log grid needs
  room at the low end), though not below log K by more than twice that reach: there a put is
  deep in the money and a call worthless, V linear in S, as the interpolation below the grid
  assumes.  The step h is small enough that h |b_n| ≤ σ_n² on every step (the
  M-matrix condition, capped at ``MAX_STEP_FACTOR``·``space_steps`` intervals).
* Boundaries (Dirichlet): 0 on the out-of-the-money side; on the in-the-money side the best
  deterministic exercise after t, max over t' of ω(F(t, t') − K·DF(t, t')), F the discounted
  expected price at t' (curves, proportional and cash dividends; a put's F floored at 0), t'
  over a Bermudan's dates after t, or an American's next time node, each ex-date (just before
  and just after the drop) and the maturity.  Without dividends and with r ≥ q this is the
  next opportunity, as in :mod:`greeks.models.gbm.american`; with a dividend ahead, waiting
  for it is worth more (exercise at the next date would make the edge node look exercised).
* Early exercise exactly by Brennan–Schwartz (American) or V = max(V, g) on the dates
  (Bermudan), as in :mod:`greeks.models.gbm.american`.  The exercise region stays an interval
  at the in-the-money end with discrete dividends: a jump S → max(S − D, 0) or S(1 − y) keeps
  −1 ≤ V_S ≤ 1, so V − g is monotone in S.

Greeks: delta and gamma from the spot's node and its neighbours; vega per 1.00 of a parallel
shift ε of every node vol of the vol curve (σ_i → σ_i + ε), the fourth-order central
difference of solves at ε = ±δ, ±2δ (δ = ``VOL_BUMP`` times the implied vol to maturity) on
the same grid and steps.

Accuracy (``tests/models/gbm/test_american_market.py``; docs/american.md, "Off a market"), at the
defaults (2,000 × 1,000): flat dynamics reproduce :func:`greeks.models.gbm.american.american_fd`
within 1e-12 relative (gammas and vegas 2e-10: same grid and steps, only the coefficients'
rounding differs);
European options with curves, a vol term structure and proportional dividends match
Black–Scholes with the integrated rate, yield and variance within 9e-6 relative (deltas 3e-6,
gammas and vegas 6e-6 relative); with cash dividends, European, American and Bermudan prices
are within 5e-6 relative of the converged values (8,000 × 4,000, which agree with an
independent uniform-S lattice, Richardson-extrapolated, within 2e-6), deltas within 2e-6,
gammas within 6e-6 relative; second order in (h, Δt), about 1.5 for an American put with a
large dividend.  Cubic interpolation at the ex-dates: linear would leave 4–9 times larger
errors (2e-5 on the out-of-the-money call).  One solve takes 0.03–0.07 s; a price with vega
five.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from greeks.models.gbm.american import (
    RANNACHER_HALF_STEPS,
    SPACE_STEPS,
    STEPS_PER_DATE,
    TIME_STEPS,
    VOL_BUMP,
    WIDTH,
    BermudanValues,
    FDGreeks,
    _check,
    _edge,
    _payoff,
    _solve_step,
)

MAX_STEP_FACTOR = 8  # the M-matrix condition raises the grid to at most this many space_steps
NO_JUMP, CASH, PROPORTIONAL = 0, 1, 2
TIME_TOLERANCE = 1e-10  # times closer than this (relative to the maturity) are one node


@njit(cache=True)
def _jump(spots, v, h, kind, amount, at_zero, out):
    """V(τ−, S_j) = V(τ, S'_j) into ``out``: S'_j = S_j − ``amount`` (cash; ``at_zero`` where
    S'_j ≤ 0) or S_j·``amount`` (proportional, amount = 1 − y); cubic Lagrange in x on the four
    nearest nodes, linear in S between (0, ``at_zero``) and the first node below the grid."""
    m = spots.size - 1
    x_first = math.log(spots[0])
    for j in range(m + 1):
        s = spots[j] - amount if kind == CASH else spots[j] * amount
        if s <= 0.0:
            out[j] = at_zero
            continue
        if s <= spots[0]:
            out[j] = at_zero + (v[0] - at_zero) * s / spots[0]
            continue
        p = (math.log(s) - x_first) / h
        i = int(p) - 1
        if i < 0:
            i = 0
        if i > m - 3:
            i = m - 3
        u = p - i  # position within the stencil i … i + 3, nodes at 0, 1, 2, 3
        w0 = -(u - 1.0) * (u - 2.0) * (u - 3.0) / 6.0
        w1 = u * (u - 2.0) * (u - 3.0) / 2.0
        w2 = -u * (u - 1.0) * (u - 3.0) / 2.0
        w3 = u * (u - 1.0) * (u - 2.0) / 6.0
        out[j] = w0 * v[i] + w1 * v[i + 1] + w2 * v[i + 2] + w3 * v[i + 3]


@njit(cache=True)
def _march_market(spots, values, obstacle, dts, thetas, half_variances, drifts, rates, lower,
                  upper, exercise, american, h, put, jump_kind, jump_amount, jump_zero, edges,
                  record, recording):
    """March ``values`` from maturity to t = 0 by θ-steps with per-step coefficients
    (a = ``half_variances``, b = ``drifts``, r = ``rates``) and Dirichlet values ``lower``,
    ``upper`` at the step's end.  After step n: a Bermudan date (``exercise``) takes
    V = max(V, obstacle), its boundary first going to ``edges`` (:func:`_edge`, in the order of
    the march); then an ex-date (``jump_kind`` ≠ 0) applies :func:`_jump`, and an American
    the obstacle again (exercise on the cum-dividend price).  A step flagged ``recording``
    writes, where ``record`` (dates × nodes) has room, the date's value (max(continuation,
    obstacle) on a Bermudan date) to its next row: before a proportional drop there (the value
    on the price after it), after a cash one's jump (the value on the price before it).
    ``american``: every step solves the complementarity problem exactly (Brennan–Schwartz).
    Returns the values at t = 0 (a Bermudan's: its continuation there)."""
    m = spots.size - 1
    v = values.copy()
    new = np.empty_like(v)
    rhs = np.empty_like(v)
    sub = np.zeros_like(v)
    dia = np.ones_like(v)
    sup = np.zeros_like(v)
    pivots = np.empty_like(v)
    reduced = np.empty_like(v)
    dated = 0
    recorded = 0
    for n in range(dts.size):
        dt = dts[n]
        th = thetas[n]
        a = half_variances[n]
        b = drifts[n]
        lo = a / (h * h) - b / (2.0 * h)
        up = a / (h * h) + b / (2.0 * h)
        di = -(lo + up) - rates[n]
        explicit = (1.0 - th) * dt
        for j in range(1, m):
            rhs[j] = v[j] + explicit * (lo * v[j - 1] + di * v[j] + up * v[j + 1])
            sub[j] = -th * dt * lo
            dia[j] = 1.0 - th * dt * di
            sup[j] = -th * dt * up
        rhs[0] = lower[n]
        rhs[m] = upper[n]
        _solve_step(sub, dia, sup, rhs, obstacle, american, put, pivots, reduced, new)
        v, new = new, v
        if exercise[n] and not american:
            if dated < edges.size:
                edges[dated] = _edge(spots, v, obstacle, h, put)
                dated += 1
            for j in range(m + 1):
                v[j] = max(v[j], obstacle[j])
        cash = jump_kind[n] == CASH
        if recording[n] and not cash and recorded < record.shape[0]:
            record[recorded, :] = v
            recorded += 1
        if jump_kind[n] != NO_JUMP:
            _jump(spots, v, h, jump_kind[n], jump_amount[n], jump_zero[n], new)
            v, new = new, v
            if american:
                for j in range(m + 1):
                    v[j] = max(v[j], obstacle[j])
        if recording[n] and cash and recorded < record.shape[0]:
            record[recorded, :] = v
            recorded += 1
    return v


class _Problem:
    """The dynamics laid out for one product: the time grid and everything on it that does
    not depend on the volatility, and the log-price grid and payoff (placed by the vol curve
    ``vol``, the dynamics' curve with any shift; the vega's bumped solves share them).
    ``recorded``: times before maturity, nodes of the time grid, whose values a Bermudan's
    march records besides its dates' (:func:`bermudan_values_market`)."""

    def __init__(self, dynamics, vol, strike, maturity, is_call, dates, space_steps,
                 time_steps, recorded=()):
        self.dynamics, self.vol = dynamics, vol
        self.strike, self.maturity, self.put = strike, maturity, not bool(is_call)
        self.american = dates is None
        self.dates = dates
        self.recorded = tuple(float(t) for t in recorded)
        # an ex-date within TIME_TOLERANCE of the maturity is on it (the row's last date
        # may differ from its expiry's year fraction in the last bits)
        self.dividends = [d for d in dynamics.dividends
                          if 0.0 < d.time <= maturity + TIME_TOLERANCE * maturity]
        self._schedule(time_steps)
        self._carry()
        self._grid(space_steps)

    # --- time -----------------------------------------------------------------------------

    def _schedule(self, time_steps):
        """Steps from maturity to 0: lengths, θ weights, start and end times, the Bermudan,
        ex-date and recording (a Bermudan's dates before maturity and ``recorded``) flags at
        each step's end."""
        maturity, dynamics = self.maturity, self.dynamics
        exercise_dates = [] if self.dates is None else list(self.dates[:-1])
        tol = TIME_TOLERANCE * maturity

        def near(t, others):
            return any(abs(t - u) <= tol for u in others)

        # an ex-date within the tolerance of an exercise date (or the maturity) is that date
        self.ex_times = {d.time: next((u for u in [*exercise_dates, maturity]
                                       if abs(d.time - u) <= tol), d.time)
                         for d in self.dividends}
        ex_dates = [t for d, t in self.ex_times.items() if d < maturity - tol]
        restart = set(ex_dates) | set(exercise_dates)
        nodes = [t for curve in (dynamics.rate, dynamics.dividend_yield, self.vol)
                 for t in curve.times] + list(self.recorded)
        points = sorted(restart | {t for t in nodes
                                   if tol < t < maturity - tol and not near(t, restart)})
        # τ = T − t at the bounds (as greeks.models.gbm.american), and t itself, exact
        bounds = np.append(maturity - np.array([maturity] + points[::-1]), maturity)
        ends = [maturity] + points[::-1] + [0.0]
        starts = [True] + [t in restart for t in ends[1:-1]]
        dts, thetas, t_from, t_to, exercise, ex_date = [], [], [], [], [], []
        for i in range(bounds.size - 1):
            length = bounds[i + 1] - bounds[i]
            rannacher = starts[i]
            steps = max(2 if rannacher else 1, round(time_steps * length / maturity))
            dt = length / steps
            if rannacher:
                half = 2.0 * dt / RANNACHER_HALF_STEPS
                lengths = [half] * RANNACHER_HALF_STEPS + [dt] * (steps - 2)
            else:
                lengths = [dt] * steps
            offsets = np.cumsum(lengths)
            hi, lo = ends[i], ends[i + 1]
            begin = np.append(hi, hi - offsets[:-1])
            finish = np.append(hi - offsets[:-1], lo)
            dts += lengths
            thetas += [1.0 if (rannacher and k < RANNACHER_HALF_STEPS) else 0.5
                       for k in range(len(lengths))]
            t_from += list(begin)
            t_to += list(finish)
            last = [False] * (len(lengths) - 1)
            exercise += last + [lo in exercise_dates]
            ex_date += last + [lo in ex_dates]
        self.dts, self.thetas = np.array(dts), np.array(thetas)
        self.t_from, self.t_to = np.array(t_from), np.array(t_to)
        self.recording = np.array(exercise, dtype=np.bool_) & (not self.american)
        for t in self.recorded:
            self.recording |= np.abs(self.t_to - t) <= tol
        if self.american:
            exercise = [True] * len(dts)
        self.exercise = np.array(exercise, dtype=np.bool_)
        self.ex_date = np.array(ex_date, dtype=np.bool_)

    def _next_exercise(self, t):
        """A Bermudan's next exercise date at or after the time ``t`` (a date within the
        tolerance of t counts as t)."""
        index = np.searchsorted(self.dates, t - TIME_TOLERANCE * self.maturity)
        return self.dates[min(int(index), self.dates.size - 1)]

    def _forward(self, spot, t, later, cum):
        """The discounted expected price at ``later`` from ``spot`` at ``t`` (arrays), the
        dividends in (t, later] (``cum``: in (t, later), the price just before a drop at
        ``later``); the cash drops not floored: S e^{−ΔI_q} Π(1 − y) − Σ D e^{−(I_r(τ) − I_r(t))}
        e^{−(I_q(later) − I_q(τ))} Π_{after τ}(1 − y)."""
        ir, iq = self.dynamics.rate.integral, self.dynamics.dividend_yield.integral
        out = spot * np.exp(-(iq(later) - iq(t)))
        for d in self.dividends:
            tau = self.ex_times[d.time]
            inside = (tau > t) & ((tau < later) if cum else (tau <= later))
            if d.proportional:
                out = np.where(inside, out * (1.0 - d.value), out)
                continue
            carried = np.exp(-(ir(tau) - ir(t)) - (iq(later) - iq(tau)))
            for e in self.dividends:
                after = self.ex_times[e.time]
                if e.proportional and after > tau:
                    late = (after < later) if cum else (after <= later)
                    carried = np.where(late, carried * (1.0 - e.value), carried)
            out = np.where(inside, out - d.value * carried, out)
        return out

    def _carry(self):
        """Per-step rates and yields; the jump at each ex-date and V(τ, 0) there."""
        dynamics, dt = self.dynamics, self.dts
        ir, iq = dynamics.rate.integral, dynamics.dividend_yield.integral
        self.rates = (ir(self.t_from) - ir(self.t_to)) / dt
        self.yields = (iq(self.t_from) - iq(self.t_to)) / dt
        n = dt.size
        self.jump_kind = np.zeros(n, dtype=np.int64)
        self.jump_amount = np.zeros(n)
        self.jump_zero = np.zeros(n)
        by_time = {self.ex_times[d.time]: d for d in self.dividends}
        for k in np.flatnonzero(self.ex_date):
            d = by_time[self.t_to[k]]
            self.jump_kind[k] = PROPORTIONAL if d.proportional else CASH
            self.jump_amount[k] = 1.0 - d.value if d.proportional else d.value
            if self.put:
                t = self.t_to[k]
                later = t if self.american else self._next_exercise(t)
                self.jump_zero[k] = self.strike * math.exp(-float(ir(later) - ir(t)))

    def variances(self, vol):
        """Per-step forward variances of the vol curve ``vol``."""
        return (vol.total_variance(self.t_from) - vol.total_variance(self.t_to)) / self.dts

    # --- space ----------------------------------------------------------------------------

    def _grid(self, space_steps):
        dynamics, maturity, strike = self.dynamics, self.maturity, self.strike
        spot = dynamics.spot
        x0, k = math.log(spot), math.log(strike)
        w = float(self.vol.total_variance(maturity))
        drift = abs(float(dynamics.rate.integral(maturity) - dynamics.dividend_yield.integral(
            maturity)) - 0.5 * w + sum(math.log1p(-d.value) for d in self.dividends
                                       if d.proportional))
        reach = WIDTH * math.sqrt(w) + drift
        cash = sum(d.value for d in self.dividends if not d.proportional)
        low = min(x0, k)
        if cash > 0.0:  # the forward net of the dividends, floored where V is linear in S
            low = min(low, max(math.log(max(spot - cash, 1e-300)), k - reach))
        lower, upper = low - reach, max(x0, k) + reach
        width = upper - lower
        variances = self.variances(self.vol)
        drifts = np.abs(self.rates - self.yields - 0.5 * variances)
        needed = width * float(np.max(drifts / variances))  # intervals for h |b| <= σ²
        cap = MAX_STEP_FACTOR * space_steps
        steps = max(space_steps, math.ceil(needed) if needed < cap else cap)
        h = width / steps
        j0 = min(max(round((x0 - lower) / h), 1), steps - 1)
        spots = spot * np.exp((np.arange(steps + 1) - j0) * h)
        spots[j0] = spot
        self.h, self.j0, self.spots = h, j0, spots
        self.obstacle, self.values = self._terminal()
        self._boundaries()

    def _terminal(self):
        """The intrinsic value g at the nodes and the values at maturity: the payoff on the
        price after any drop at the expiry, S' = max(αS − c, 0), cell-averaged at its kink."""
        alpha, shift = 1.0, 0.0
        for d in self.dividends:
            if d.time >= self.maturity - TIME_TOLERANCE * self.maturity:
                if d.proportional:
                    alpha, shift = alpha * (1.0 - d.value), shift * (1.0 - d.value)
                else:
                    shift += d.value
        obstacle, values = _payoff(self.spots, self.h, self.strike, self.put)
        if alpha != 1.0 or shift != 0.0:
            _, moved = _payoff(self.spots, self.h, (self.strike + shift) / alpha, self.put)
            values = alpha * moved
            if self.put:
                values[alpha * self.spots <= shift] = self.strike
            if self.american:
                values = np.maximum(values, obstacle)
        return obstacle, values

    def _boundaries(self):
        """Dirichlet values at each step's end t on the in-the-money side: the best
        deterministic exercise after t (deep in the money the option is worth about that;
        the price of the node, a few standard deviations from the spot, hardly moves), over
        a Bermudan's dates after t, or for an American the step's start (as
        :mod:`greeks.models.gbm.american`), each ex-date (just before and after the drop)
        and the maturity: max over t' of ω(F(t, t') − K·DF(t, t')), a put's F floored at 0.
        The out-of-the-money side is 0."""
        t = self.t_to
        if self.american:
            candidates = [(self.t_from, False)]
            for tau in sorted(set(self.ex_times.values())) + [self.maturity]:
                later = np.full(t.size, tau)
                candidates += [(later, True), (later, False)]
        else:
            candidates = [(np.full(t.size, date), False) for date in self.dates]
        ir = self.dynamics.rate.integral
        edge = self.spots[0] if self.put else self.spots[-1]
        best = np.zeros(t.size)
        for later, cum in candidates:
            ahead = later > t + TIME_TOLERANCE * self.maturity
            if self.american and later is self.t_from:
                ahead = np.ones(t.size, dtype=bool)
            forward = self._forward(edge, t, np.where(ahead, later, t), cum)
            strike = self.strike * np.exp(-(ir(np.where(ahead, later, t)) - ir(t)))
            value = strike - np.maximum(forward, 0.0) if self.put else forward - strike
            best = np.where(ahead, np.maximum(best, value), best)
        zero = np.zeros(t.size)
        self.lower, self.upper = (best, zero) if self.put else (zero, best)

    # --- solve ----------------------------------------------------------------------------

    def solve(self, vol, edges=None, record=None):
        """The values at t = 0 on the grid under the vol curve ``vol`` (``edges``, ``record``:
        :func:`_march_market`'s, the latter on the steps flagged ``recording``)."""
        variances = self.variances(vol)
        drifts = self.rates - self.yields - 0.5 * variances
        return _march_market(self.spots, self.values, self.obstacle, self.dts, self.thetas,
                             0.5 * variances, drifts, self.rates, self.lower, self.upper,
                             self.exercise, self.american, self.h, self.put, self.jump_kind,
                             self.jump_amount, self.jump_zero,
                             np.empty(0) if edges is None else edges,
                             np.empty((0, 0)) if record is None else record, self.recording)


def _checked(dynamics, strike, maturity, exercise_times, vol_shift, space_steps, time_steps):
    if dynamics.vol is None:
        raise ValueError("the finite-difference pricer needs a GBM vol curve")
    vol = dynamics.vol.shifted(float(vol_shift))
    dates = _check(float(dynamics.spot), float(strike), float(maturity),
                   vol.implied(float(maturity)), exercise_times, int(space_steps),
                   int(time_steps))
    return vol, dates


def american_fd_market(dynamics, strike, maturity, is_call, exercise_times=None, *,
                       vol_shift=0.0, space_steps=SPACE_STEPS, time_steps=TIME_STEPS,
                       vega=True) -> FDGreeks:
    """Price, delta, gamma and vega of an American or Bermudan call or put off a market.

    ``dynamics``: a :class:`greeks.market.dynamics.Dynamics` with a GBM vol curve (times in
    years from the valuation date).  ``exercise_times`` None: American (every time step, t = 0
    included); otherwise the Bermudan dates, increasing, the last the maturity (``[maturity]``
    alone: the European option).  ``vol_shift`` ε moves every node vol of the curve,
    σ_i → σ_i + ε; vega is per 1.00 of that parallel shift (``vega=False`` skips its four
    solves; the field is then nan).  See the module's docstring for the scheme.
    """
    strike, maturity = float(strike), float(maturity)
    vol, dates = _checked(dynamics, strike, maturity, exercise_times, vol_shift, space_steps,
                          time_steps)
    problem = _Problem(dynamics, vol, strike, maturity, is_call, dates, int(space_steps),
                       int(time_steps))
    v = problem.solve(vol)
    h, j0, spot = problem.h, problem.j0, float(dynamics.spot)
    first = (v[j0 + 1] - v[j0 - 1]) / (2.0 * h)
    second = (v[j0 + 1] - 2.0 * v[j0] + v[j0 - 1]) / (h * h)
    sensitivity = math.nan
    if vega:
        bump = VOL_BUMP * vol.implied(maturity)
        near = problem.solve(vol.shifted(bump))[j0] - problem.solve(vol.shifted(-bump))[j0]
        far = (problem.solve(vol.shifted(2.0 * bump))[j0]
               - problem.solve(vol.shifted(-2.0 * bump))[j0])
        sensitivity = (8.0 * near - far) / (12.0 * bump)
    return FDGreeks(float(v[j0]), float(first / spot), float((second - first) / (spot * spot)),
                    float(sensitivity))


def exercise_boundaries_market(dynamics, strike, is_call, exercise_times, *, vol_shift=0.0,
                               space_steps=SPACE_STEPS, time_steps=TIME_STEPS) -> np.ndarray:
    """The optimal exercise boundaries b_k of the Bermudan option on ``exercise_times`` (the
    last the maturity) off a market, one per date before maturity, in date order: exercising
    on date t_k where S ≤ b_k (put) or S ≥ b_k (call) is optimal; 0 (put) or inf (call) where
    no price exercises.  S is the price observed on date t_k after any dividend drop at t_k
    (a date that is an ex-date compares the continuation with the intrinsic value of the
    dropped price), as on the simulated paths.  The same scheme as
    :func:`american_fd_market`, with at least ``STEPS_PER_DATE`` steps between dates; the
    region is read as in :func:`greeks.models.gbm.american.exercise_boundaries`."""
    problem, vol = _bermudan_market(dynamics, strike, is_call, exercise_times, vol_shift,
                                    space_steps, time_steps)
    edges = np.full(problem.dates.size - 1, np.nan)
    problem.solve(vol, edges)
    return edges[::-1].copy()


def bermudan_values_market(dynamics, strike, is_call, exercise_times, *, extra_times=(),
                           vol_shift=0.0, space_steps=SPACE_STEPS,
                           time_steps=TIME_STEPS) -> BermudanValues:
    """The value function of the Bermudan option on ``exercise_times`` (the last the
    maturity) off a market at each of its dates and of ``extra_times`` (times before the
    maturity and none of its dates, where it is not exercised: its continuation value), in
    time order, as a function of the price observed on the date after a proportional drop
    there and before a cash one: max(continuation, intrinsic) on a date, V(t, max(S − D, 0))
    on a cash ex-date (:func:`_jump`); the last row the intrinsic value (of max(S − D, 0)
    with a cash dividend on the expiry).  The march of :func:`exercise_boundaries_market` (the
    same grid and time steps; ``extra_times`` are nodes of its time grid, which a cash
    ex-date already is), as :func:`greeks.models.gbm.american.bermudan_values` is the flat
    one's."""
    problem, vol = _bermudan_market(dynamics, strike, is_call, exercise_times, vol_shift,
                                    space_steps, time_steps, extra_times)
    record = np.empty((problem.dates.size - 1 + len(problem.recorded), problem.spots.size))
    continuation = problem.solve(vol, record=record)
    last, maturity = problem.obstacle, problem.maturity
    omega = -1.0 if problem.put else 1.0
    for d in problem.dividends:
        if not d.proportional and d.time >= maturity - TIME_TOLERANCE * maturity:
            dropped = np.maximum(problem.spots - d.value, 0.0)
            last = np.maximum(omega * (dropped - problem.strike), 0.0)
    table = np.vstack([record[::-1], last[None, :]])
    return BermudanValues(math.log(float(dynamics.spot)) - problem.j0 * problem.h, problem.h,
                          problem.j0, table, continuation)


def _bermudan_market(dynamics, strike, is_call, exercise_times, vol_shift, space_steps,
                     time_steps, recorded=()):
    """The Bermudan problem of :func:`exercise_boundaries_market` and
    :func:`bermudan_values_market` (at least ``STEPS_PER_DATE`` steps between dates;
    ``recorded``: :class:`_Problem`'s) and its vol curve."""
    strike = float(strike)
    dates_in = np.asarray(exercise_times, dtype=float).ravel()
    if dates_in.size == 0:
        raise ValueError("exercise_times must hold at least the maturity")
    maturity = float(dates_in[-1])
    vol, dates = _checked(dynamics, strike, maturity, dates_in, vol_shift, space_steps,
                          time_steps)
    problem = _Problem(dynamics, vol, strike, maturity, is_call, dates, int(space_steps),
                       max(int(time_steps), STEPS_PER_DATE * dates.size), recorded)
    return problem, vol
