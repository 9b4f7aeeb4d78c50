"""ADI reference off a market: the American and Bermudan put and call under Heston with rate
and yield curves and discrete dividends.

Off a market the price is S(t) = G(t) S̃(t), S̃ Heston's price with zero carry, G the growth of
the rate and yield curves (:mod:`greeks.market.dynamics`), and at each ex-date τ the price
drops, S(τ) = max(S(τ−) − D, 0) (cash D) or S(τ−)(1 − y) (proportional y).  Between the
ex-dates the value V(t, S, v) solves the equation of :mod:`greeks.models.heston.american`
with the forward rate r(t) and yield q(t) of the curves in place of r and q (the variance
does not depend on them), across an ex-date V(τ−, S, v) = V(τ, S(1 − y) − D, v), and V ≥ g
where the option may be exercised.

Scheme: that of :mod:`greeks.models.heston.american` (its grids, Douglas ADI, the
Ikonen–Toivanen splitting of an American's early exercise, a Bermudan's exact exercise on its
dates, the spot's drop at an ex-date, :func:`greeks.models.heston.american._march_bermudan`),
with these changes.

* Time grid: every exercise date, ex-date and node of the rate and yield curves before the
  maturity is a node; each interval between them gets its share of ``time_steps`` (at least
  one step), the first two replaced by ``HALF_STEPS`` fully implicit half steps after the
  maturity, each exercise date and each ex-date (Rannacher: the payoff's kink, the kinks an
  exercise and a drop leave).  A curve's forwards are constant between its nodes, so each step
  takes its own interval's forward rate and yield, exactly: the S and v stencils of each
  (rate, yield) pair are built once.
* Ex-dates: an American is exercisable just before the drop (on the price before it: U =
  max(U, g) after the drop), a Bermudan date on an ex-date sees the price after it; a
  dividend at the expiry is applied to the payoff (that of the price after it; an American's
  then at least the intrinsic value of the price before it).
* Boundaries: the put's V = 0 at S_max and at S = 0 K, or a Bermudan's K discounted on the
  rate curve to its next date; the call's V = 0 at S = 0 and at S_max the value deep in the
  money a S − b (:func:`greeks.models.heston.american._deep_call`, over each step with its
  own forward rate and yield, exercisable on every step's end and before every drop for an
  American).

On flat dynamics without dividends a Bermudan's value is that of
:func:`greeks.models.heston.american.heston_american_put` (or of the call solved directly) to
rounding; an American call is the call's own solution (no symmetric put needed).  Accuracy
and QuantLib's values: docs/american.md ("Off a market").
"""

from __future__ import annotations

import numpy as np

from greeks.market.curves import Curve
from greeks.market.dynamics import Dynamics
from greeks.models.gbm.american import FDGreeks, checked_exercise_dates
from greeks.models.heston.american import (
    HALF_STEPS,
    S_STEPS,
    STEPS_PER_DATE,
    TIME_STEPS,
    V_STEPS,
    _check,
    _deep_call,
    _dropped,
    _greeks_at,
    _is_call,
    _march_bermudan,
    _operators_of,
)


def _forward_index(curve: Curve, t: np.ndarray) -> np.ndarray:
    """The index of the interval of ``curve`` whose forward holds at the times ``t`` (the
    last beyond its last node; 0 for a flat curve)."""
    if not curve.times:
        return np.zeros(t.size, dtype=np.int64)
    return np.minimum(np.searchsorted(curve.times, t), len(curve.times) - 1)


def _nodes(maturity, dates, drops, curves):
    """{τ = T − t: (exercise date, cash, ratio, kink)} of the time grid's nodes before the
    maturity (the dates before it, the ex-dates (t, cash, ratio) before it, an ex-date on a
    date one node, and the curves' nodes; τ rounded to 12 digits)."""
    nodes = {}

    def at(t):
        return round(float(maturity - t), 12)

    for t in dates[:-1]:
        nodes[at(t)] = (True, 0.0, 1.0, True)
    for t, amount, ratio in drops:
        tau = at(t)
        if 0.0 < tau < maturity:
            was = nodes.get(tau, (False, 0.0, 1.0, True))
            nodes[tau] = (was[0], was[1] * ratio + amount, was[2] * ratio, True)
    for curve in curves:
        for t in curve.times:
            tau = at(t)
            if 0.0 < tau < maturity and tau not in nodes:
                nodes[tau] = (False, 0.0, 1.0, False)
    return nodes


def _schedule(maturity, dates, drops, curves, time_steps):
    """The march's steps from maturity to t = 0 (:func:`_nodes`): lengths, θ weights, the
    time t at each step's start and end, the exercise flags and the drop (cash, ratio) at each
    step's end."""
    nodes = _nodes(maturity, dates, drops, curves)
    taus = [0.0] + sorted(nodes) + [float(maturity)]
    dts, thetas, t_from, t_to, exercise, cash, ratio = [], [], [], [], [], [], []
    for i in range(len(taus) - 1):
        length = taus[i + 1] - taus[i]
        kink = i == 0 or nodes[taus[i]][3]
        steps = max(2 if kink else 1, round(time_steps * length / maturity))
        dt = length / steps
        if kink:
            lengths = [2.0 * dt / HALF_STEPS] * HALF_STEPS + [dt] * (steps - 2)
            weights = [1.0] * HALF_STEPS + [0.5] * (steps - 2)
        else:
            lengths, weights = [dt] * steps, [0.5] * steps
        ends = taus[i] + np.cumsum(lengths)
        ends[-1] = taus[i + 1]
        dts += lengths
        thetas += weights
        t_from += list(maturity - np.append(taus[i], ends[:-1]))
        t_to += list(maturity - ends)
        last = nodes.get(taus[i + 1], (False, 0.0, 1.0, False))
        exercise += [False] * (len(lengths) - 1) + [last[0]]
        cash += [0.0] * (len(lengths) - 1) + [last[1]]
        ratio += [1.0] * (len(lengths) - 1) + [last[2]]
    return (np.array(dts), np.array(thetas), np.array(t_from), np.array(t_to),
            np.array(exercise, dtype=np.bool_), np.array(cash), np.array(ratio))


def heston_american_market(option_type, dynamics: Dynamics, strike, maturity, v0, kappa, theta,
                           xi, rho, exercise_times=None, *, s_steps=S_STEPS, v_steps=V_STEPS,
                           time_steps=TIME_STEPS) -> FDGreeks:
    """Price, delta, gamma and σ0-vega of the American (``exercise_times`` None) or Bermudan
    (exercisable on ``exercise_times``, the last the maturity) put or call under Heston at
    the spot of ``dynamics`` (a :class:`greeks.market.dynamics.Dynamics`: its rate and yield
    curves and discrete dividends; times in years from the valuation date), at the variance
    v0 with the parameters κ, θ, ξ, ρ.  See the module's docstring for the scheme."""
    _check(np.asarray(float(dynamics.spot)), float(strike), float(maturity), 0.0, 0.0, v0,
           kappa, theta, xi, rho, s_steps, v_steps, time_steps)
    s, v, u = _march(option_type, dynamics, strike, maturity, v0, kappa, theta, xi, rho,
                     exercise_times, s_steps, v_steps, time_steps, np.empty((0, 0)))
    return _greeks_at(s, v, u, np.asarray(float(dynamics.spot)), v0)


def heston_exercise_boundaries_market(option_type, dynamics: Dynamics, strike, maturity, v0,
                                      kappa, theta, xi, rho, exercise_times, *,
                                      s_steps=S_STEPS, v_steps=V_STEPS,
                                      time_steps=TIME_STEPS):
    """(v, b): the optimal exercise boundaries of the Bermudan put or call on
    ``exercise_times`` (the last the maturity) off ``dynamics``, on the variance nodes ``v``
    of the grid, b (dates before maturity × v nodes, date order), as
    :func:`greeks.models.heston.american.heston_exercise_boundaries` finds them (a put
    exercises on t_k where S ≤ b_k(v_t), 0 where never; a call where S ≥ b_k(v_t), ∞ where
    never) from the continuation value of :func:`heston_american_market`'s march: each step
    with its curves' forwards, the spot's drop at each ex-date (an exercise date on an
    ex-date sees the price after it).  The region does not depend on the spot; ``v0`` only
    sizes the grid."""
    _check(1.0, float(strike), float(maturity), 0.0, 0.0, v0, kappa, theta, xi, rho, s_steps,
           v_steps, time_steps)
    dates = checked_exercise_dates(exercise_times, float(maturity))
    edges = np.full((dates.size - 1, int(v_steps) + 1), np.nan)
    _, v, _ = _march(option_type, dynamics, strike, maturity, v0, kappa, theta, xi, rho,
                     exercise_times, s_steps, v_steps, time_steps, edges)
    return v, edges[::-1].copy()


def _march(option_type, dynamics, strike, maturity, v0, kappa, theta, xi, rho, exercise_times,
           s_steps, v_steps, time_steps, edges):
    """(S nodes, v nodes, values at t = 0) of the scheme of the module's docstring; the
    continuation's boundary before each exercise date into ``edges`` (march order) where it
    has rows."""
    call = _is_call(option_type)
    strike, maturity = float(strike), float(maturity)
    american = exercise_times is None
    dates = (np.array([maturity]) if american
             else checked_exercise_dates(exercise_times, maturity))
    drops = [(float(d.time), 0.0, 1.0 - float(d.value)) if d.proportional
             else (float(d.time), float(d.value), 1.0)
             for d in dynamics.dividends if 0.0 < d.time <= maturity]
    curves = (dynamics.rate, dynamics.dividend_yield)
    dts, thetas, t_from, t_to, exercise, cash, ratio = _schedule(
        maturity, dates, drops, curves,
        max(int(time_steps), STEPS_PER_DATE * (dates.size + len(drops))))
    middle = 0.5 * (t_from + t_to)
    rates = dynamics.rate.forwards()[_forward_index(dynamics.rate, middle)]
    yields = dynamics.dividend_yield.forwards()[_forward_index(dynamics.dividend_yield, middle)]
    pairs, segment = np.unique(np.stack([rates, yields], axis=1), axis=0, return_inverse=True)
    stencils = [_operators_of(strike, r, q, v0, kappa, theta, xi, rho, s_steps, v_steps, call)
                for r, q in pairs]
    s, v, _, _, mixed, b1, b2, payoff = stencils[0]
    a1 = np.stack([parts[2] for parts in stencils])
    a2 = np.stack([parts[3] for parts in stencils])
    u = np.repeat(payoff[:, None], v.size, axis=1)
    at_maturity = [(amount, factor) for t, amount, factor in drops
                   if round(maturity - t, 12) <= 0.0]
    for amount, factor in at_maturity:  # paid at maturity: the payoff of the price after it
        _dropped(u, s, amount, factor)
    if american and at_maturity:
        u = np.maximum(u, payoff[:, None])
    zero = np.zeros(dts.size)
    if call:
        at_zero = zero
        at_top = _deep_call(s[-1], strike, rates, yields, dts, exercise, cash, ratio,
                            at_maturity, american)
    else:
        at_top = zero
        integral = dynamics.rate.integral
        later = dates[np.minimum(np.searchsorted(dates, t_to + 1e-12), dates.size - 1)]
        at_zero = (np.full(dts.size, strike) if american
                   else strike * np.exp(-(integral(later) - integral(t_to))))
    _march_bermudan(u, payoff, s, a1, a2, mixed, b1, b2, segment.ravel().astype(np.int64), dts,
                    thetas, at_zero, at_top, exercise, edges, np.empty((0, 0, 0)), cash, ratio,
                    call, american)
    return s, v, u


def flat_dynamics(spot, rate, dividend) -> Dynamics:
    """The dynamics of a flat rate and yield without discrete dividends."""
    return Dynamics(float(spot), Curve.flat(rate), Curve.flat(dividend), (), None)
