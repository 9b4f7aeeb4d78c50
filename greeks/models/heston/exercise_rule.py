"""Solved exercise rules of Heston puts, written in the early-exercise regression basis.

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
from scipy.stats import ncx2

from greeks.payoffs import N_BASIS, NEVER

QUANTILES = np.linspace(0.005, 0.995, 41)  # levels of v_t's law at which c is fitted


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
        u = v / theta
        c0, c1, c2 = np.linalg.lstsq(np.stack([np.ones_like(u), u, u * u], axis=1), level,
                                     rcond=None)[0]
        scale = discounts[k] * strike
        policy[k] = 0.0
        policy[k, 0], policy[k, 4], policy[k, 6] = scale * (1.0 - c0), -scale * c1, -scale * c2
    return policy
