"""Solved exercise rules of Heston puts and calls: a put's written in the early-exercise
regression basis, a call's tabulated.

The optimal Bermudan put exercises on date t_k where S ≤ b_k(v_t): the boundary of the ADI
solution (:func:`greeks.models.heston.american.heston_exercise_boundaries`, on the variance
nodes of its grid).  The main paths carry the variance state u of the regression basis
(``greeks.exercise``: the variance averaged over the step to the date, over θ; on a daily
grid close to v_t/θ), and the stopping kernel (:func:`greeks.payoffs.stopping_index`)
exercises an in-the-money path where

    e^{−r t_k} (K − S) ≥ Σ_b β_b ψ_b(x, u),   ψ = (1, x, x², x³, u, u·x, u²),   x = S/K.

A boundary x ≤ c(u) = c0 + c1 u + c2 u² is such a rule: with D = e^{−r t_k} K,

    β = D (1 − c0, 0, 0, 0, −c1, 0, −c2)   ⇔   D (1 − x) ≥ D (1 − x) + D (x − c(u))
                                            ⇔   x ≤ c(u),

so a solved put's policy runs through the same kernels as a regressed one.  c is the
least-squares quadratic through b_k(θu)/K at ``QUANTILES`` quantiles of v_t's law (the CIR
transition from v0: c·χ'²_d(λ), c = ξ²(1 − e^{−κt})/(4κ), d = 4κθ/ξ², λ = v0 e^{−κt}/c),
i.e. weighted by the density of the variance on that date, where the paths are.

A call exercises where x ≥ K/b*_k(θu), b* the boundary of its symmetric put
(:func:`symmetric_parameters`).  That level rises like √v from v = 0, where under ρ < 0 the
paths near the call's boundary are, and a cube-root fit in u (x ≥ a + ∛(g0 + g1 u + g2 u²))
missed it by up to 2.5 % near mid-life, enough to take 1 % off the vega of an ATM call; the
call's rule is therefore the solved level itself, b*_k(θu)/K tabulated on a uniform grid in
u (:func:`call_table`, :func:`table_step`) and interpolated linearly by the stopping kernel
in O(1).  The policy's loss against the optimal one is second order in the boundary's error
(the value is flat in the policy at the optimum); docs/american.md measures it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import ncx2

from greeks.payoffs import N_BASIS, NEVER

QUANTILES = np.linspace(0.005, 0.995, 41)  # levels of v_t's law at which c is fitted
TABLE_NODES = 257  # nodes of a call's tabulated rule in u
TABLE_TOP = 0.9999  # the level of v_t's law where the table ends


def variance_quantiles(t: float, v0: float, kappa: float, theta: float, xi: float) -> np.ndarray:
    """``QUANTILES`` of the CIR variance v_t given v0 (noncentral chi-square law)."""
    scale = xi * xi * -math.expm1(-kappa * t) / (4.0 * kappa)
    shape = 4.0 * kappa * theta / (xi * xi)
    centrality = v0 * math.exp(-kappa * t) / scale
    return scale * ncx2.ppf(QUANTILES, shape, centrality)


def put_rules(nodes: np.ndarray, edges: np.ndarray, times: np.ndarray, discounts: np.ndarray,
              strike: float, v0: float, kappa: float, theta: float, xi: float) -> np.ndarray:
    """β (dates × N_BASIS) of the put's rule x ≤ c_k(u) on each date before maturity
    (``edges``: b_k on the variance ``nodes``, one row per date of ``times``, the maturity
    excepted, whose row is ``NEVER`` like a date that never exercises)."""
    policy = np.zeros((times.size, N_BASIS))
    policy[:, 0] = NEVER
    for k in range(times.size - 1):
        if not np.any(edges[k] > 0.0):
            continue
        v = variance_quantiles(times[k], v0, kappa, theta, xi)
        level = np.interp(v, nodes, edges[k]) / strike
        c0, c1, c2 = _quadratic(v / theta, level)
        scale = discounts[k] * strike
        policy[k] = 0.0
        policy[k, 0], policy[k, 4], policy[k, 6] = scale * (1.0 - c0), -scale * c1, -scale * c2
    return policy


def table_step(times: np.ndarray, v0: float, kappa: float, theta: float, xi: float) -> float:
    """Δu of a tabulated rule: ``TABLE_NODES`` nodes u = m Δu from 0 to the ``TABLE_TOP``
    quantile of v_t/θ, the largest over the dates ``times`` (the law from v0; from the
    largest of the vega's moved v0, the CIR process being monotone in its start, the table
    covers the others' laws too), and at least v0/θ; the rule is clamped beyond."""
    scale = xi * xi * -np.expm1(-kappa * times) / (4.0 * kappa)
    shape = 4.0 * kappa * theta / (xi * xi)
    top = scale * ncx2.ppf(TABLE_TOP, shape, v0 * np.exp(-kappa * times) / scale)
    return max(float(np.max(top)), v0) / theta / (TABLE_NODES - 1)


def call_table(nodes: np.ndarray, edges: np.ndarray, strike: float, theta: float,
               step: float) -> np.ndarray:
    """(dates × ``TABLE_NODES``) levels y_k(u_m) = b*_k(θ u_m)/K, u_m = m ``step``, of a call's
    rule from the boundaries b*_k(v) of its symmetric put (``edges`` on the variance
    ``nodes``, strike K; see :func:`symmetric_parameters`): the call on S with strike K is
    the put on K with strike S, and that put exercises where K ≤ b*_k(v)·S/K, i.e.
    x·y_k(u) ≥ 1, x = S/K (:func:`greeks.payoffs.stopping_index`; b* = 0: never).  b* is
    linear in v between the solver's nodes, as the solver finds it
    (:func:`greeks.models.heston.american.heston_exercise_boundaries`); the stopping kernel
    interpolates y linearly in u between the table's nodes, finer than the solver's near
    v = θ.  Tabulating the put's level b*/K rather than the call's K/b* keeps the table
    finite where a date never exercises.  The call's level K/b* rises steeply from v = 0
    (like √v), which no low-order polynomial in u follows where the calls near the boundary
    are (ρ < 0: high spot, low variance); the table reads the solved level itself."""
    return np.array([np.interp(theta * step * np.arange(TABLE_NODES), nodes, edge)
                     for edge in edges]) / strike


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


def _quadratic(u: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Least-squares (c0, c1, c2) of level ≈ c0 + c1 u + c2 u²."""
    return np.linalg.lstsq(np.stack([np.ones_like(u), u, u * u], axis=1), level, rcond=None)[0]
