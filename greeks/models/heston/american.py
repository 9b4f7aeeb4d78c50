"""Finite-difference reference: the American and Bermudan put under Heston (ADI, operator
splitting), the call by put–call symmetry or directly, and the Bermudan put's and call's
exercise boundaries, discrete dividends included.

The put's value V(τ, S, v), τ = T − t, solves the linear complementarity problem

    V ≥ g = max(K − S, 0),   ∂V/∂τ − A V ≥ 0,   (∂V/∂τ − A V)(V − g) = 0,
    A V = ½ v S² V_SS + ρ ξ v S V_Sv + ½ ξ² v V_vv + (r − q) S V_S + κ(θ − v) V_v − r V,

from V(0, S, v) = g(S) (Heston's model; the notation of ``greeks.models.heston.analytic``).
Written with a multiplier λ ≥ 0: ∂V/∂τ = A V + λ, λ (V − g) = 0.

Scheme
------
* Grids (In 't Hout & Foulon 2010, Int. J. Numer. Anal. Model. 7(2)): S_i = K + c sinh(u_i) on
  [0, ``S_MAX``·K], c = K/5, dense around the strike; v_j = d sinh(w_j) on [0, v_max],
  v_max = max(``V_MAX``, 10 max(v0, θ)), d = v_max/500, dense near v = 0 (u_i, w_j uniform).
  Second-order three-point differences on the non-uniform grids; the mixed derivative as the
  product of the two first-difference stencils.
* Time: the Douglas ADI scheme (Douglas & Rachford 1956; In 't Hout & Welfert 2007, Appl.
  Numer. Math. 57, for its unconditional stability with the mixed term at θ ≥ ½):

      Y0 = U + Δτ ((A0 + A1 + A2) U + λ),
      Y1 = Y0 + θ Δτ A1 (Y1 − U),   Y2 = Y1 + θ Δτ A2 (Y2 − U),

  A0 the mixed term (explicit), A1 the S terms, A2 the v terms (each with −r/2), θ = ½, the
  first ``DAMPING_STEPS`` steps at θ = 1 to damp the payoff's kink.  Each implicit stage is a
  set of tridiagonal solves.
* Early exercise by the operator splitting of Ikonen & Toivanen (2004, Appl. Math. Lett. 17;
  2009, Numer. Math. 113): after the ADI step Y2 (taken with the previous λ), pointwise
      U' = max(Y2 − Δτ λ, g),   λ' = max(0, λ + (g − Y2)/Δτ),
  which solves U' − Y2 = Δτ (λ' − λ), U' ≥ g, λ' ≥ 0, (U' − g) λ' = 0.  Its splitting error is
  far below that of the plain projection U' = max(Y2, g) (first order in Δτ): at the defaults
  the time error on the benchmark below is about 4e-5, against 2.2e-4 with projection.
* Boundaries: S = 0, V = K (exercised; K e^{−rτ} for the European put); S = S_max, V = 0;
  v = v_max, V_v = 0; at v = 0 the equation itself, which degenerates to
  (r − q) S V_S + κθ V_v − r V (forward difference in v; Feller's condition is not needed).

Bermudan put (``exercise_times``): between exercise dates the European scheme above (no λ);
each date is a node of the time grid, each interval gets its share of the steps (at least
``STEPS_PER_DATE``) and starts with ``HALF_STEPS`` fully implicit half steps (Rannacher
start-up after the kink that the exercise leaves); at the date U = max(U, g), the exact
Bermudan condition on the grid; V = K e^{−r s} at S = 0, s the time since the date.  The
continuation value before that maximum gives the date's exercise boundary on every variance
node, b(v) where it meets the intrinsic value (``heston_exercise_boundaries``: the policy of
the Monte-Carlo Heston puts, :mod:`greeks.models.heston.exercise_rule`).  On the benchmark
below (400 × 200 nodes) 2 V(Δ) − V(2Δ) of the daily (63 dates) and two-daily Bermudan puts is
within 2e-5 of the American put; with ξ = 0.01 the Bermudan put and its boundary at v = θ are
those of GBM at σ = √θ within 0.2 % and 0.5 %.

Bermudan call (``option_type="call"`` of ``heston_exercise_boundaries`` and
``heston_value_grids``; the policy of Heston calls without a symmetric put: across discrete
dividends, or with κ − ρξ ≤ 0): the same march from g = max(S − K, 0), V = 0 at S = 0, and
at S_max the Dirichlet value of the deep-in-the-money call, a S − b (``_deep_call``): the
forward to the next date where exercising there pays, through the drops, less the discounted
strike — from
a = 1, b = K at maturity, a e^{−qΔ} and b e^{−rΔ} over a step, a, b = 1, K on an exercise
date where S_max − K is the larger, a·ratio and b + a·cash through a drop.  It is the put's
V = K e^{−r s} at S = 0 seen through put–call parity (the put-like part of the call, the
put's V = 0 at S_max, is left out the same way), right for any dates and drops, and keeps
the scheme's tridiagonal systems as they are; linearity V_SS = 0 would need a row with a
one-sided V_S at S_max, downwind where r > q.  The boundary b(v) is where the continuation
meets the intrinsic value from below (``_call_edge``: exercise where S ≥ b(v); ∞ where no
node exercises).  On the European call (one exercise date) the scheme's error is the put's
to the digits (parity holds on the grid); with ξ = 0.01 across cash and proportional drops
its prices and boundaries are those of GBM within 1.5e-4, and across one and two cash
dividends its European and american prices are QuantLib's within 3e-4 at 400 × 200 nodes
(docs/american.md).  The American call itself (:func:`heston_american` with
``symmetric=False``, or where κ − ρξ ≤ 0) is that march with the operator-splitting step on
every step instead of the dates' exercise, by
:func:`greeks.models.heston.american_market.heston_american_market` on the flat rate and
yield, which also solves both options on a market's curves and dividends.

Greeks at (S0, v0) from a bicubic spline of the final grid: delta = V_S, gamma = V_SS, and vega =
∂V/∂σ0 = 2 σ0 V_v with σ0 = sqrt(v0), per 1.00 of σ0 (as the Monte-Carlo engine reports it).

Accuracy
--------
At the defaults (200 × 100 nodes, 200 steps; about 0.4 s on a loaded two-core machine, for any
number of spots): on the benchmark of Clarke & Parrott (1999) (K = 10, T = 0.25, r = 0.1,
v0 = 0.0625, κ = 5, θ = 0.16, ξ = 0.9, ρ = 0.1; data/american_reference.csv) the prices at
S0 = 8 … 12 are within 2e-4 of the converged values 2.000000, 1.107621, 0.520030, 0.213677,
0.082044 (data/README.md); the European put by the same scheme is within 1.3e-4 (absolute) of
the semi-analytic price, its delta within 1e-4 and its vega within 6e-4 relative; at S0 = 100
(K = 100 or 90, T = 0.5–1) within 2e-4 relative, delta 1.6e-4, vega 5e-4.
``tests/models/heston/test_american.py`` checks these.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from greeks.models.gbm.american import FDGreeks, checked_exercise_dates
from greeks.models.heston.exercise_rule import symmetric_parameters

S_STEPS = 200  # intervals of the S grid
V_STEPS = 100  # intervals of the variance grid
TIME_STEPS = 200
DAMPING_STEPS = 4  # first steps fully implicit (θ = 1)
S_MAX = 5.0  # the S grid ends at S_MAX · K
V_MAX = 2.0  # the variance grid ends at max(V_MAX, 10 max(v0, θ))
HALF_STEPS = 4  # Bermudan: θ = 1 half steps replacing the first two of each interval
STEPS_PER_DATE = 6  # Bermudan: least time steps between exercise dates


def _sinh_grid(low, high, centre, scale, steps):
    """Nodes low … high, dense around ``centre`` (x = centre + scale·sinh(u), u uniform)."""
    u = np.linspace(math.asinh((low - centre) / scale), math.asinh((high - centre) / scale),
                    steps + 1)
    nodes = centre + scale * np.sinh(u)
    nodes[0], nodes[-1] = low, high
    return nodes


def _stencils(x):
    """Three-point first- and second-derivative weights at the interior nodes of ``x``
    (rows: weights of x_{i−1}, x_i, x_{i+1}); boundary rows are zero."""
    first = np.zeros((x.size, 3))
    second = np.zeros((x.size, 3))
    lo = x[1:-1] - x[:-2]
    up = x[2:] - x[1:-1]
    first[1:-1, 0] = -up / (lo * (lo + up))
    first[1:-1, 1] = (up - lo) / (lo * up)
    first[1:-1, 2] = lo / (up * (lo + up))
    second[1:-1, 0] = 2.0 / (lo * (lo + up))
    second[1:-1, 1] = -2.0 / (lo * up)
    second[1:-1, 2] = 2.0 / (up * (lo + up))
    return first, second


@njit(cache=True)
def _tridiagonal(sub, dia, sup, rhs, out):
    """Thomas algorithm for one tridiagonal system (sub[0] and sup[-1] unused)."""
    n = rhs.size
    c = np.empty(n)
    d = np.empty(n)
    c[0] = sup[0] / dia[0]
    d[0] = rhs[0] / dia[0]
    for i in range(1, n):
        m = dia[i] - sub[i] * c[i - 1]
        c[i] = sup[i] / m
        d[i] = (rhs[i] - sub[i] * d[i - 1]) / m
    out[n - 1] = d[n - 1]
    for i in range(n - 2, -1, -1):
        out[i] = d[i] - c[i] * out[i + 1]


@njit(cache=True)
def _operators(u, a1, a2, mixed, b1, b2, f0, f1, f2):
    """The three parts of A U at every node: f0 mixed, f1 the S terms, f2 the v terms.
    a1[i, j, :] and a2[i, j, :] are the S- and v-direction stencils (their −r/2 included),
    mixed[i, j] the mixed-term coefficient ρξ v S, b1/b2 the first-difference weights."""
    ns, nv = u.shape
    for i in range(ns):
        for j in range(nv):
            f0[i, j] = 0.0
            f1[i, j] = 0.0
            f2[i, j] = 0.0
    for i in range(1, ns - 1):
        for j in range(nv - 1):
            f1[i, j] = a1[i, j, 0] * u[i - 1, j] + a1[i, j, 1] * u[i, j] + a1[i, j, 2] * u[i + 1, j]
            if j == 0:  # v = 0: forward difference in v, no diffusion
                f2[i, j] = a2[i, j, 1] * u[i, 0] + a2[i, j, 2] * u[i, 1]
            else:
                f2[i, j] = (a2[i, j, 0] * u[i, j - 1] + a2[i, j, 1] * u[i, j]
                            + a2[i, j, 2] * u[i, j + 1])
                total = 0.0
                for p in range(3):
                    inner = 0.0
                    for k in range(3):
                        inner += b2[j, k] * u[i - 1 + p, j - 1 + k]
                    total += b1[i, p] * inner
                f0[i, j] = mixed[i, j] * total


@njit(cache=True)
def _douglas_step(u, y, a1, a2, mixed, b1, b2, f0, f1, f2, multiplier, dt, theta, at_zero,
                  at_top, ws, wv):
    """One Douglas ADI step from U = ``u`` with the early-exercise term λ = ``multiplier``
    (zero for a European step): Y2 into ``y`` at the interior S nodes (rows 1 … ns − 2, every
    variance level), V = ``at_zero`` at S = 0 and ``at_top`` at S_max; ``u`` is not changed.
    ``ws`` (5 × ns), ``wv`` (5 × nv): work rows of the tridiagonal solves."""
    ns, nv = u.shape
    sub_s, dia_s, sup_s, rhs_s, out_s = ws[0], ws[1], ws[2], ws[3], ws[4]
    sub_v, dia_v, sup_v, rhs_v, out_v = wv[0], wv[1], wv[2], wv[3], wv[4]
    w = theta * dt
    _operators(u, a1, a2, mixed, b1, b2, f0, f1, f2)
    for i in range(ns):
        for j in range(nv):
            y[i, j] = u[i, j] + dt * (f0[i, j] + f1[i, j] + f2[i, j] + multiplier[i, j])
    # S direction: (I − w A1) Y1 = Y0 − w A1 U, for each variance level below v_max
    for j in range(nv - 1):
        sub_s[0], dia_s[0], sup_s[0], rhs_s[0] = 0.0, 1.0, 0.0, at_zero
        sub_s[ns - 1], dia_s[ns - 1], sup_s[ns - 1], rhs_s[ns - 1] = 0.0, 1.0, 0.0, at_top
        for i in range(1, ns - 1):
            sub_s[i] = -w * a1[i, j, 0]
            dia_s[i] = 1.0 - w * a1[i, j, 1]
            sup_s[i] = -w * a1[i, j, 2]
            rhs_s[i] = y[i, j] - w * f1[i, j]
        _tridiagonal(sub_s, dia_s, sup_s, rhs_s, out_s)
        for i in range(ns):
            y[i, j] = out_s[i]
    # v direction: (I − w A2) Y2 = Y1 − w A2 U, for each interior S; V_v = 0 at v_max
    for i in range(1, ns - 1):
        for j in range(nv - 1):
            sub_v[j] = -w * a2[i, j, 0]
            dia_v[j] = 1.0 - w * a2[i, j, 1]
            sup_v[j] = -w * a2[i, j, 2]
            rhs_v[j] = y[i, j] - w * f2[i, j]
        sub_v[nv - 1], dia_v[nv - 1], sup_v[nv - 1], rhs_v[nv - 1] = -1.0, 1.0, 0.0, 0.0
        _tridiagonal(sub_v, dia_v, sup_v, rhs_v, out_v)
        for j in range(nv):
            y[i, j] = out_v[j]


@njit(cache=True)
def _march(u, payoff, a1, a2, mixed, b1, b2, dt, steps, damping, strike, rate, american):
    """Douglas ADI steps from the payoff in ``u`` to τ = T; ``american``: with the
    operator-splitting early-exercise step (multiplier λ), else the European put."""
    ns, nv = u.shape
    f0 = np.empty_like(u)
    f1 = np.empty_like(u)
    f2 = np.empty_like(u)
    y = np.empty_like(u)
    multiplier = np.zeros_like(u)  # λ: the early-exercise term of the equation
    ws, wv = np.empty((5, ns)), np.empty((5, nv))
    for n in range(steps):
        theta = 1.0 if n < damping else 0.5
        at_zero = strike if american else strike * math.exp(-rate * (n + 1) * dt)  # V(S = 0)
        _douglas_step(u, y, a1, a2, mixed, b1, b2, f0, f1, f2, multiplier, dt, theta, at_zero,
                      0.0, ws, wv)
        for i in range(1, ns - 1):
            for j in range(nv):
                if american:
                    u[i, j] = max(y[i, j] - dt * multiplier[i, j], payoff[i])
                    multiplier[i, j] = max(0.0, multiplier[i, j] + (payoff[i] - y[i, j]) / dt)
                else:
                    u[i, j] = y[i, j]
        for j in range(nv):
            u[0, j] = at_zero
            u[ns - 1, j] = 0.0


def _check(spots, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho, s_steps, v_steps,
           time_steps):
    if not all(math.isfinite(x) for x in (strike, maturity, rate, dividend, v0, kappa, theta, xi,
                                          rho)):
        raise ValueError("every parameter must be a finite number")
    if min(s_steps, v_steps) < 4 or time_steps < DAMPING_STEPS + 1:
        raise ValueError(f"need s_steps, v_steps >= 4 and time_steps > {DAMPING_STEPS}")
    if strike <= 0 or maturity <= 0 or kappa <= 0 or theta <= 0 or xi <= 0 or v0 < 0:
        raise ValueError("need strike, maturity, kappa, theta, xi > 0 and v0 >= 0")
    if not -1.0 <= rho <= 1.0:
        raise ValueError("rho must be in [-1, 1]")
    if np.any(np.asarray(spots) <= 0) or np.any(np.asarray(spots) >= S_MAX * strike):
        raise ValueError(f"need 0 < spot < {S_MAX:g}·strike")


def _operators_of(strike, rate, dividend, v0, kappa, theta, xi, rho, s_steps, v_steps,
                  call=False):
    """The grids and the operators' stencils: (s, v, a1, a2, mixed, b1, b2, payoff), the
    payoff a put's or (``call``) a call's."""
    v_max = max(V_MAX, 10.0 * max(v0, theta))
    s = _sinh_grid(0.0, S_MAX * strike, strike, strike / 5.0, int(s_steps))
    v = _sinh_grid(0.0, v_max, 0.0, v_max / 500.0, int(v_steps))
    b1, d1 = _stencils(s)
    b2, d2 = _stencils(v)
    ss, vv = s[:, None], v[None, :]
    half_r = 0.5 * rate
    a1 = (0.5 * vv * ss * ss)[:, :, None] * d1[:, None, :] + (
        (rate - dividend) * ss * np.ones_like(vv))[:, :, None] * b1[:, None, :]
    a1[:, :, 1] -= half_r
    a2 = (0.5 * xi * xi * vv * np.ones_like(ss))[:, :, None] * d2[None, :, :] + (
        kappa * (theta - vv) * np.ones_like(ss))[:, :, None] * b2[None, :, :]
    a2[:, :, 1] -= half_r
    # v = 0: κθ V_v by the forward difference, −r/2
    forward = kappa * theta / (v[1] - v[0])
    a2[:, 0, 0], a2[:, 0, 1], a2[:, 0, 2] = 0.0, -forward - half_r, forward
    mixed = rho * xi * vv * ss
    payoff = np.maximum(s - strike, 0.0) if call else np.maximum(strike - s, 0.0)
    return s, v, a1, a2, mixed, b1, b2, payoff


@njit(cache=True)
def _put_edge(s, continuation, payoff):
    """The exercise boundary b of a put on one variance level: the exercise region
    (continuation ≤ intrinsic, in the money) is S ≤ b, its end where d = continuation −
    intrinsic changes sign, linear in S between the two nodes; 0 where no node exercises."""
    ns = s.size
    i = 0
    while i < ns and payoff[i] > 0.0 and continuation[i] <= payoff[i]:
        i += 1
    if i == 0:
        return 0.0
    if i == ns:
        return s[ns - 1]
    d_in = continuation[i - 1] - payoff[i - 1]
    d_out = continuation[i] - payoff[i]
    if d_out <= d_in:
        return s[i - 1]
    return s[i - 1] + (s[i] - s[i - 1]) * (-d_in / (d_out - d_in))


@njit(cache=True)
def _call_edge(s, continuation, payoff):
    """The exercise boundary b of a call on one variance level: the exercise region
    (continuation ≤ intrinsic, in the money) is S ≥ b, where the continuation meets the
    intrinsic value from below, its start where d = continuation − intrinsic changes sign,
    linear in S between the two nodes; ∞ where no node exercises (the top node's d > 0)."""
    i = s.size - 1
    while payoff[i] > 0.0 and continuation[i] <= payoff[i]:  # payoff[0] = 0 stops it
        i -= 1
    if i == s.size - 1:
        return np.inf
    d_in = continuation[i + 1] - payoff[i + 1]
    d_out = continuation[i] - payoff[i]
    if d_out <= d_in:
        return s[i + 1]
    return s[i + 1] - (s[i + 1] - s[i]) * (-d_in / (d_out - d_in))


@njit(cache=True)
def _dropped(u, s, cash, ratio):
    """In place: V(t−, S, v) = V(t, S·``ratio`` − ``cash``, v) (the spot's drop at an
    ex-date, floored at 0), linear in S between the grid's nodes."""
    ns, nv = u.shape
    before = u.copy()
    k = 0
    for i in range(ns):
        x = max(s[i] * ratio - cash, 0.0)
        while k < ns - 2 and s[k + 1] < x:
            k += 1
        while k > 0 and s[k] > x:
            k -= 1
        w = min(max((x - s[k]) / (s[k + 1] - s[k]), 0.0), 1.0)
        for j in range(nv):
            u[i, j] = (1.0 - w) * before[k, j] + w * before[k + 1, j]


@njit(cache=True)
def _march_bermudan(u, payoff, s, a1, a2, mixed, b1, b2, segment, dts, thetas, at_zero, at_top,
                    exercise, edges, kept, cash, ratio, call, american):
    """Douglas ADI steps of the European put or (``call``) call from the payoff in ``u`` (step
    n of length ``dts[n]`` at weight ``thetas[n]`` with the S and v stencils
    ``a1[segment[n]]``, ``a2[segment[n]]`` (those of its rate and yield), V = ``at_zero[n]``
    at S = 0 and ``at_top[n]`` at S_max at its end), and after each step with ``exercise``
    the Bermudan condition U = max(U, g), exact on the grid; ``american``: every step with
    the operator-splitting early-exercise step of :func:`_march` instead.  Where ``edges``
    has rows, the continuation's boundary on every variance level (:func:`_put_edge`,
    :func:`_call_edge`) before each exercise goes to the next row, and where ``kept`` has,
    the continuation itself (march order: the last exercise date first).  A step ending on
    an ex-date (``ratio[n]`` < 1 or ``cash[n]`` > 0) then takes the spot's drop there
    (:func:`_dropped`), after the date's exercise, which sees the price after the drop; an
    american option is then exercisable on the price before it (U = max(U, g), the
    early-exercise term restarting from 0)."""
    ns, nv = u.shape
    f0 = np.empty_like(u)
    f1 = np.empty_like(u)
    f2 = np.empty_like(u)
    y = np.empty_like(u)
    multiplier = np.zeros_like(u)  # λ; zero between the dates of a Bermudan option
    ws, wv = np.empty((5, ns)), np.empty((5, nv))
    date = 0
    for n in range(dts.size):
        dt = dts[n]
        _douglas_step(u, y, a1[segment[n]], a2[segment[n]], mixed, b1, b2, f0, f1, f2,
                      multiplier, dt, thetas[n], at_zero[n], at_top[n], ws, wv)
        for i in range(1, ns - 1):
            for j in range(nv):
                if american:
                    u[i, j] = max(y[i, j] - dt * multiplier[i, j], payoff[i])
                    multiplier[i, j] = max(0.0, multiplier[i, j] + (payoff[i] - y[i, j]) / dt)
                else:
                    u[i, j] = y[i, j]
        for j in range(nv):
            u[0, j] = at_zero[n]
            u[ns - 1, j] = at_top[n]
        if exercise[n]:
            if date < edges.shape[0]:
                for j in range(nv):
                    edges[date, j] = (_call_edge(s, u[:, j], payoff) if call
                                      else _put_edge(s, u[:, j], payoff))
            if date < kept.shape[0]:
                kept[date] = u
            date += 1
            for i in range(ns):
                for j in range(nv):
                    u[i, j] = max(u[i, j], payoff[i])
        if cash[n] > 0.0 or ratio[n] < 1.0:
            _dropped(u, s, cash[n], ratio[n])
            if american:
                for i in range(ns):
                    for j in range(nv):
                        u[i, j] = max(u[i, j], payoff[i])
                        multiplier[i, j] = 0.0


def _schedule(maturity, dates, time_steps, strike, rate, drops=()):
    """Bermudan steps in the order of the march (from maturity): lengths, θ weights, V(S = 0)
    at each step's end (K discounted to the next exercise opportunity), exercise flags, and
    the drop at each step's end (cash, ratio: 0 and 1 but on an ex-date).  Each interval
    between nodes (the dates, the ``drops``' ex-dates (time, cash, ratio) before maturity, and
    t = 0) gets its share of ``time_steps``, at least two steps, the first two replaced by
    ``HALF_STEPS`` fully implicit half steps (Rannacher start-up after every kink: the payoff,
    each exercise and each drop)."""
    if not drops:
        nodes = np.append(maturity - dates[::-1], maturity)  # τ of the dates, then of t = 0
        exercised = [True] * (nodes.size - 2) + [False]
        paid = [(0.0, 1.0)] * (nodes.size - 1)
    else:
        taus = {round(float(maturity - t), 12): (True, 0.0, 1.0) for t in dates[:-1]}
        for t, amount, ratio in drops:  # an ex-date on an exercise date: one node
            tau = round(float(maturity - t), 12)
            if 0.0 < tau < maturity:
                was = taus.get(tau, (False, 0.0, 1.0))
                taus[tau] = (was[0], was[1] * ratio + amount, was[2] * ratio)
        nodes = np.array([0.0] + sorted(taus) + [maturity])
        exercised = [taus[tau][0] for tau in nodes[1:-1]] + [False]
        paid = [taus[tau][1:] for tau in nodes[1:-1]] + [(0.0, 1.0)]
    dts, thetas, at_zero, exercise, cash, ratio = [], [], [], [], [], []
    since = 0.0  # since the next exercise opportunity (at S = 0 the put is exercised there)
    for i in range(nodes.size - 1):
        length = nodes[i + 1] - nodes[i]
        steps = max(2, round(time_steps * length / maturity))
        dt = length / steps
        half = 2.0 * dt / HALF_STEPS
        lengths = [half] * HALF_STEPS + [dt] * (steps - 2)
        dts += lengths
        thetas += [1.0] * HALF_STEPS + [0.5] * (steps - 2)
        at_zero += list(strike * np.exp(-rate * (since + np.cumsum(lengths))))
        since = 0.0 if exercised[i] else since + length
        exercise += [False] * (len(lengths) - 1) + [exercised[i]]
        cash += [0.0] * (len(lengths) - 1) + [paid[i][0]]
        ratio += [1.0] * (len(lengths) - 1) + [paid[i][1]]
    return (np.array(dts), np.array(thetas), np.array(at_zero),
            np.array(exercise, dtype=np.bool_), np.array(cash), np.array(ratio))


def _deep_call(top, strike, rates, dividends, dts, exercise, cash, ratio, at_maturity,
               american=False):
    """The call's value at S = ``top`` at the end of each step of the march (:func:`_schedule`):
    deep in the money a S − b, from a = 1, b = K at maturity (``at_maturity``: the drops paid
    there, (cash, ratio) each), over step n of length Δ a e^{−q_n Δ} and b e^{−r_n Δ}
    (``rates``, ``dividends``: per step; a S − b solves the equation: it is the forward to the
    next exercise less the discounted strike), on an exercise date the larger at ``top`` of
    that and S − K (a, b = 1, K: exercised there), and through a drop S → S·ratio − cash after
    the date's exercise, a·ratio and b + a·cash.  ``american``: exercisable on every step's
    end and before each drop, the value the larger of the two."""
    a, b = 1.0, float(strike)
    for amount, factor in at_maturity:
        a, b = a * factor, b + a * amount
    out = np.empty(dts.size)
    for n in range(dts.size):
        a, b = a * math.exp(-dividends[n] * dts[n]), b * math.exp(-rates[n] * dts[n])
        out[n] = a * top - b
        if (exercise[n] or american) and top - strike > out[n]:
            a, b = 1.0, float(strike)
            if american:
                out[n] = top - strike
        a, b = a * ratio[n], b + a * cash[n]
        if american and top - strike > a * top - b:
            a, b = 1.0, float(strike)
    return out


def _bermudan_grid(strike, maturity, rate, dividend, v0, kappa, theta, xi, rho, dates, s_steps,
                   v_steps, time_steps, edges, kept=None, drops=(), call=False):
    """The Bermudan put's (``call``: call's) final grid values (S nodes, v nodes, values);
    the continuation's boundaries into ``edges`` (march order) where it has rows, and its
    values into ``kept`` (dates before maturity × S nodes × v nodes, march order) where
    given; ``drops``: the ex-dates (time, cash, ratio: S → S·ratio − cash) up to maturity.
    The put's V = 0 at S_max; the call's V = 0 at S = 0 and the deep-in-the-money value at
    S_max (:func:`_deep_call`)."""
    s, v, a1, a2, mixed, b1, b2, payoff = _operators_of(strike, rate, dividend, v0, kappa,
                                                        theta, xi, rho, s_steps, v_steps, call)
    dts, thetas, at_zero, exercise, cash, ratio = _schedule(
        maturity, dates, max(int(time_steps), STEPS_PER_DATE * (dates.size + len(drops))),
        float(strike), float(rate), drops)
    u = np.repeat(payoff[:, None], v.size, axis=1)
    at_maturity = [(amount, factor) for t, amount, factor in drops
                   if round(float(maturity - t), 12) <= 0.0]
    for amount, factor in at_maturity:  # paid at maturity: the payoff of the price after it
        _dropped(u, s, amount, factor)
    at_top = np.zeros(dts.size)
    if call:
        at_zero, at_top = at_top, _deep_call(s[-1], strike, np.full(dts.size, rate),
                                             np.full(dts.size, dividend), dts, exercise, cash,
                                             ratio, at_maturity)
    _march_bermudan(u, payoff, s, a1[None], a2[None], mixed, b1, b2,
                    np.zeros(dts.size, dtype=np.int64), dts, thetas, at_zero, at_top, exercise,
                    edges, np.empty((0, 0, 0)) if kept is None else kept, cash, ratio, call,
                    False)
    return s, v, u


def heston_exercise_boundaries(strike, maturity, rate, dividend, v0, kappa, theta, xi, rho,
                               exercise_times, *, s_steps=S_STEPS, v_steps=V_STEPS,
                               time_steps=TIME_STEPS, drops=(), option_type="put"):
    """(v, b): the optimal exercise boundaries of the Bermudan put on ``exercise_times`` (the
    last the maturity) on the variance nodes ``v`` of the grid, b (dates before maturity × v
    nodes, date order): exercising on date t_k where S ≤ b_k(v_t) is optimal, b_k(v) the spot
    at which the continuation value of the ADI solution (:func:`heston_american_put` with
    ``exercise_times``) meets the intrinsic value at variance v (:func:`_put_edge`; 0 where
    it never does).  ``option_type="call"``: the Bermudan call's, exercising where
    S ≥ b_k(v_t), b_k(v) where the continuation meets the intrinsic value from below
    (:func:`_call_edge`; ∞ where it never does).  The region does not depend on the spot;
    ``v0`` only sizes the grid.  ``drops``: discrete dividends (ex-date in years, cash,
    ratio: S → S·ratio − cash at the ex-date), the spot's drop applied to the value between
    the dates (exercise on an ex-date sees the price after the drop)."""
    _check(1.0, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho, s_steps, v_steps,
           time_steps)
    dates = checked_exercise_dates(exercise_times, maturity)
    edges = np.full((dates.size - 1, int(v_steps) + 1), np.nan)
    _, v, _ = _bermudan_grid(strike, maturity, rate, dividend, v0, kappa, theta, xi, rho, dates,
                             s_steps, v_steps, time_steps, edges, drops=tuple(drops),
                             call=_is_call(option_type))
    return v, edges[::-1].copy()


def heston_value_grids(strike, maturity, rate, dividend, v0, kappa, theta, xi, rho,
                       exercise_times, *, s_steps=S_STEPS, v_steps=V_STEPS,
                       time_steps=TIME_STEPS, drops=(), option_type="put"):
    """(s, v, values): the Bermudan put's (``option_type="call"``: call's) value functions on
    the grid, ``values[0]`` at t = 0 and ``values[k]`` the continuation value on exercise date
    k (k = 1 … dates − 1: the value of holding on from there, before that date's exercise), S
    nodes × v nodes each; ``drops`` as in :func:`heston_exercise_boundaries`."""
    _check(1.0, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho, s_steps, v_steps,
           time_steps)
    dates = checked_exercise_dates(exercise_times, maturity)
    kept = np.empty((dates.size - 1, int(s_steps) + 1, int(v_steps) + 1))
    s, v, u = _bermudan_grid(strike, maturity, rate, dividend, v0, kappa, theta, xi, rho, dates,
                             s_steps, v_steps, time_steps, np.empty((0, 0)), kept, tuple(drops),
                             _is_call(option_type))
    return s, v, np.concatenate([u[None], kept[::-1]])


def _is_call(option_type) -> bool:
    if option_type not in ("put", "call"):
        raise ValueError(f"option_type must be 'put' or 'call', got {option_type!r}")
    return option_type == "call"


def heston_american_put(spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho, *,
                        s_steps=S_STEPS, v_steps=V_STEPS, time_steps=TIME_STEPS,
                        american=True, exercise_times=None) -> FDGreeks:
    """Price, delta, gamma and σ0-vega of the American put under Heston at one or several
    spots (one solve serves them all: the fields are arrays if ``spot`` is); ``american=False``
    gives the European put by the same scheme (V = K e^{−rτ} at S = 0).  ``exercise_times``
    (years, increasing, the last the maturity): the Bermudan put exercisable on those dates
    only (``american`` is then ignored; at least ``STEPS_PER_DATE`` steps between dates).  See
    the module's docstring for the scheme and its accuracy."""
    spots = np.asarray(spot, dtype=float)
    _check(spots, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho, s_steps, v_steps,
           time_steps)
    if exercise_times is not None:
        dates = checked_exercise_dates(exercise_times, maturity)
        s, v, u = _bermudan_grid(strike, maturity, rate, dividend, v0, kappa, theta, xi, rho,
                                 dates, s_steps, v_steps, time_steps, np.empty((0, 0)))
        return _greeks_at(s, v, u, spots, v0)
    s, v, a1, a2, mixed, b1, b2, payoff = _operators_of(strike, rate, dividend, v0, kappa, theta,
                                                        xi, rho, s_steps, v_steps)
    u = np.repeat(payoff[:, None], v.size, axis=1)
    _march(u, payoff, a1, a2, mixed, b1, b2, maturity / int(time_steps), int(time_steps),
           DAMPING_STEPS, float(strike), float(rate), bool(american))
    return _greeks_at(s, v, u, spots, v0)


def _greeks_at(s, v, u, spots, v0) -> FDGreeks:
    """Price, delta, gamma and σ0-vega at (spots, v0) from a bicubic spline of the grid."""
    from scipy.interpolate import RectBivariateSpline  # only american rows need it

    spline = RectBivariateSpline(s, v, u, kx=3, ky=3)
    price = spline.ev(spots, v0)
    delta = spline.ev(spots, v0, dx=1)
    gamma = spline.ev(spots, v0, dx=2)
    vega = 2.0 * math.sqrt(v0) * spline.ev(spots, v0, dy=1)
    if spots.ndim == 0:
        return FDGreeks(float(price), float(delta), float(gamma), float(vega))
    return FDGreeks(price, delta, gamma, vega)


def heston_american(option_type, spot, strike, maturity, rate, dividend, v0, kappa, theta, xi,
                    rho, *, exercise_times=None, symmetric=True) -> FDGreeks:
    """Price, delta, gamma and σ0-vega of the American (Bermudan on ``exercise_times``) put or
    call under Heston at one spot.  A call is, where it exists (κ − ρξ > 0) and ``symmetric``,
    the put of its put–call symmetry
    (:func:`greeks.models.heston.exercise_rule.symmetric_parameters`), P*(x, y) with spot
    x = K and strike y = S; P* is homogeneous of degree one in (x, y), so with its price,
    delta Δ* and gamma Γ* at (K, S)

        C = P*,   ∂C/∂S = ∂P*/∂y = (P* − K Δ*)/S,   ∂²C/∂S² = (K/S)² Γ*,   ∂C/∂σ0 = ∂P*/∂σ0

    (Euler's relation; v0 is the same in both); otherwise the call's own solution: the
    Bermudan call of :func:`heston_value_grids` (``option_type="call"``), the American one by
    :func:`greeks.models.heston.american_market.heston_american_market` on the flat rate and
    yield (the same scheme with the operator-splitting early exercise on every step)."""
    if option_type == "put":
        return heston_american_put(spot, strike, maturity, rate, dividend, v0, kappa, theta, xi,
                                   rho, exercise_times=exercise_times)
    moved = symmetric_parameters(rate, dividend, kappa, theta, xi, rho) if symmetric else None
    if moved is None:
        return _call_itself(spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho,
                            exercise_times)
    r, q, k, t, x, p = moved
    put = heston_american_put(strike, spot, maturity, r, q, v0, k, t, x, p,
                              exercise_times=exercise_times)
    return FDGreeks(put.price, (put.price - strike * put.delta) / spot,
                    (strike / spot) ** 2 * put.gamma, put.vega)


def _call_itself(spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho,
                 exercise_times) -> FDGreeks:
    """The call's own ADI solution at one spot (:func:`heston_american`)."""
    spots = np.asarray(spot, dtype=float)
    if exercise_times is None:
        from greeks.models.heston.american_market import flat_dynamics, heston_american_market

        return heston_american_market("call", flat_dynamics(spot, rate, dividend), strike,
                                      maturity, v0, kappa, theta, xi, rho)
    _check(spots, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho, S_STEPS, V_STEPS,
           TIME_STEPS)
    dates = checked_exercise_dates(exercise_times, maturity)
    s, v, u = _bermudan_grid(strike, maturity, rate, dividend, v0, kappa, theta, xi, rho, dates,
                             S_STEPS, V_STEPS, TIME_STEPS, np.empty((0, 0)), call=True)
    return _greeks_at(s, v, u, spots, v0)
