"""Solved exercise rules of Heston puts and calls, tabulated.

The optimal Bermudan put exercises on date t_k where S ≤ b_k(v_t): the boundary of the ADI
solution (:func:`greeks.models.heston.american.heston_exercise_boundaries`, on the variance
nodes of its grid).  The main paths carry the variance state u = v_t/θ of the basis
(``greeks.exercise``: the chain's variance on the date, over θ), and the rule is the solved
level itself, y_k(u) = b_k(θu)/K on a grid uniform in √u (:func:`level_table`,
:func:`table_step`), interpolated linearly in √u by the stopping kernel
(:func:`greeks.payoffs.stopping_index`) in O(1): the put exercises where x ≤ y_k(u), x = S/K.
The level goes like a + c√v near v = 0, where a law with ξ² large against κθ keeps the
variance much of the time: on nodes uniform in u (257 of them to the 0.9999 quantile, 25θ
where ξ²/(2κθ) = 14) the table missed the solved level by up to 1.5 % there and the rho by
1 % (5 SE at 200,000 paths); uniform in √u it is within 0.02 %, and every Greek within 0.07 SE
of a 4,097-node table (docs/american.md).

A call exercises where x ≥ K/b*_k(θu), b* the boundary of its symmetric put
(:func:`symmetric_parameters`): the kernel exercises where x·y_k(u) ≥ 1, y_k = b*_k(θu)/K.
That level rises like √v from v = 0, where under ρ < 0 the paths near the call's boundary
are; a cube-root fit in u missed it by up to 2.5 % near mid-life (1 % off the vega of an ATM
call).  A put's quadratic fit in u, read at the variance averaged over the step to the date,
kept its price within the SEs but left its rho 3 % off: the fixed policy's rho
(:mod:`greeks.models.heston.exercise_carry`) is first order in the policy's distance from
the chain's optimal one, its price second order (the value is flat in the policy at the
optimum); docs/american.md measures both.

A call with κ − ρξ ≤ 0 has no symmetric put, and off a market (curves, discrete dividends)
none is used; its own boundary b_k (exercise where S ≥ b_k(v), the ADI solution of the call,
off a market on the curves with the spot's drops) gives the same level through b* = K²/b_k,
y_k = K/b_k (0 where it never exercises).
"""

from __future__ import annotations

import math

import numpy as np

TABLE_NODES = 257  # nodes of a tabulated rule, uniform in √u
TABLE_TOP = 0.9999  # the level of v_t's law where the table ends


def table_step(times: np.ndarray, v0: float, kappa: float, theta: float, xi: float) -> float:
    """Δw of a tabulated rule: ``TABLE_NODES`` nodes u_m = (m Δw)², uniform in w = √u, from
    0 to the ``TABLE_TOP`` quantile of v_t/θ, the largest over the dates ``times`` (the law
    from v0; from the largest of the vega's moved v0, the CIR process being monotone in its
    start, the table covers the others' laws too), and at least v0/θ; the rule is clamped
    beyond."""
    from scipy.stats import ncx2  # only american rows need it

    scale = xi * xi * -np.expm1(-kappa * times) / (4.0 * kappa)
    shape = 4.0 * kappa * theta / (xi * xi)
    top = scale * ncx2.ppf(TABLE_TOP, shape, v0 * np.exp(-kappa * times) / scale)
    return math.sqrt(max(float(np.max(top)), v0) / theta) / (TABLE_NODES - 1)


def level_table(nodes: np.ndarray, edges: np.ndarray, strike: float, theta: float,
                step: float) -> np.ndarray:
    """(dates × ``TABLE_NODES``) levels y_k(u_m) = b_k(θ u_m)/K, u_m = (m ``step``)², of a
    rule from the put boundaries b_k(v) (``edges`` on the variance ``nodes``, strike K): a
    put's own, which exercises where x ≤ y_k(u), x = S/K, or a call's symmetric put's b*
    (:func:`symmetric_parameters`): the call on S with strike K is the put on K with strike
    S, and that put exercises where K ≤ b*_k(v)·S/K, i.e. x·y_k(u) ≥ 1
    (:func:`greeks.payoffs.stopping_index`; b = 0: never); without a symmetric put the
    call's own boundary b as b* = K²/b (0 where b = ∞).  b (b* for such a call) is linear
    in v between the solver's nodes, as the solver finds it
    (:func:`greeks.models.heston.american.heston_exercise_boundaries`); the stopping kernel
    interpolates y linearly in √u between the table's nodes (:func:`greeks.payoffs.
    table_level`), where the level near v = 0 goes like a + c√v: the nodes crowd there, as
    the paths near a boundary of a high-ξ law do.  Tabulating the put's level b*/K rather
    than the call's K/b* keeps a call's table finite where a date never exercises."""
    variances = theta * (step * np.arange(TABLE_NODES)) ** 2
    return np.array([np.interp(variances, nodes, edge) for edge in edges]) / strike


def symmetric_parameters(rate: float, dividend: float, kappa: float, theta: float, xi: float,
                         rho: float) -> tuple[float, float, float, float, float, float] | None:
    """(rate, dividend, κ*, θ*, ξ, ρ*) of the put that a Heston call equals by put–call
    symmetry (the share as numéraire): C(S, K; r, q, κ, θ, ξ, ρ) = P(K, S; q, r, κ*, θ*, ξ, −ρ),
    κ* = κ − ρξ, θ* = κθ/κ*, for American exercise too (the exercise regions map onto each
    other); None where κ* ≤ 0 (no mean-reverting variance under the share measure)."""
    mean_reversion = kappa - rho * xi
    if mean_reversion <= 0.0:
        return None
    return dividend, rate, mean_reversion, kappa * theta / mean_reversion, xi, -rho
