"""Solved exercise rules of Heston puts and calls, written in the early-exercise regression basis.

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

so a solved policy runs through the same kernels as a regressed one.  c is the least-squares
quadratic through b_k(θu)/K at ``QUANTILES`` quantiles of v_t's law (the CIR transition from
v0: c·χ'²_d(λ), c = ξ²(1 − e^{−κt})/(4κ), d = 4κθ/ξ², λ = v0 e^{−κt}/c), i.e. weighted by the
density of the variance on that date, where the paths are.  The policy's loss against the
optimal one is second order in the boundary's error (the value is flat in the policy at the
optimum); docs/american.md measures it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import ncx2

from greeks.payoffs import N_BASIS, NEVER

QUANTILES = np.linspace(0.005, 0.995, 41)  # levels of v_t's law at which c is fitted
OFFSETS = 81  # grid of the cube-root fit's offset a


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


def call_rules(nodes: np.ndarray, edges: np.ndarray, times: np.ndarray, discounts: np.ndarray,
               strike: float, v0: float, kappa: float, theta: float, xi: float) -> np.ndarray:
    """β (dates × N_BASIS) of the call's rule x ≥ c_k(u) from the boundaries b*_k(v) of the
    symmetric put (``edges`` on the variance ``nodes``, strike K; see
    :func:`symmetric_parameters`): the call on S with strike K is the put on K with strike S,
    and that put exercises where K ≤ b*_k(v)·S/K, i.e. x ≥ K/b*_k(v).  That level rises
    steeply from v = 0 (like √v), which a quadratic in u misses where the calls near the
    boundary are (ρ < 0: high spot, low variance); a cube root follows it,

        c(u) = a + ∛(g0 + g1 u + g2 u²),   x ≥ c(u)  ⇔  (x − a)³ ≥ g(u)

    ((x − a)³ increases in x, so the region is x ≥ c(u) with no other piece), a polynomial
    in the basis: with D = e^{−r t_k} K,

        D (x − 1) ≥ D [(x − 1) − (x − a)³ + g(u)]
        β = D (a³ − 1 + g0, 1 − 3a², 3a, −1, g1, 0, g2).

    a and g are the least-squares fit of K/b*_k at ``QUANTILES`` of v_t's law where b* > 0
    (a date with fewer than three never exercises): g linear given a, a by a grid search and
    a bounded refinement (:func:`_cube_root_fit`).  ``v0``, ``kappa``, ``theta``, ``xi`` are
    the call's own (the paths' law), not the symmetric put's."""
    policy = np.zeros((times.size, N_BASIS))
    policy[:, 0] = NEVER
    for k in range(times.size - 1):
        v = variance_quantiles(times[k], v0, kappa, theta, xi)
        edge = np.interp(v, nodes, edges[k])
        exercised = edge > 0.0
        if np.count_nonzero(exercised) < 3:
            continue
        a, g = _cube_root_fit(v[exercised] / theta, strike / edge[exercised])
        policy[k] = discounts[k] * strike * np.array(
            [a ** 3 - 1.0 + g[0], 1.0 - 3.0 * a * a, 3.0 * a, -1.0, g[1], 0.0, g[2]])
    return policy


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


def _cube_root_fit(u: np.ndarray, level: np.ndarray) -> tuple[float, np.ndarray]:
    """(a, g) minimising Σ (a + ∛(g0 + g1 u + g2 u²) − level)²: for each a, g is the
    least-squares fit of (level − a)³; a on a grid below min(level) (the cube root's offset),
    then refined between the best point's neighbours."""
    basis = np.stack([np.ones_like(u), u, u * u], axis=1)

    def fitted(a):
        g = np.linalg.lstsq(basis, (level - a) ** 3, rcond=None)[0]
        return g, float(np.sum((a + np.cbrt(basis @ g) - level) ** 2))

    low, high = float(level.min()), float(level.max())
    grid = low - 2.0 * (high - low) * np.linspace(0.0, 1.0, OFFSETS)
    best = int(np.argmin([fitted(a)[1] for a in grid]))
    bounds = (grid[min(best + 1, OFFSETS - 1)], grid[max(best - 1, 0)])
    a = minimize_scalar(lambda a: fitted(a)[1], bounds=bounds, method="bounded",
                        options={"xatol": 1e-10}).x
    return float(a), fitted(a)[0]


def _quadratic(u: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Least-squares (c0, c1, c2) of level ≈ c0 + c1 u + c2 u²."""
    return np.linalg.lstsq(np.stack([np.ones_like(u), u, u * u], axis=1), level, rcond=None)[0]
