"""Per-step constants of the Heston schemes on one grid, and their parameter derivatives."""

from __future__ import annotations

import numpy as np

from greeks.maths import COMPLEX_STEP
from greeks.models.heston.schema import EULER, EXACT


def integration_weights(kappa, dt):
    """(τ, J) of I_k = τ(v_{k−1} + v_k) + θJ, the integrated variance over a step given its
    end points: the mean of the mean-reverting bridge, ∫ E[v_u | v_{k−1}, v_k] du for the
    linear drift κ(θ − v) (exact for the Ornstein–Uhlenbeck bridge; the CIR bridge's
    conditional mean differs at O(ξ²)), τ = tanh(κΔ/2)/κ = Δ/2 − κ²Δ³/24 + ..., J = Δ − 2τ.
    Its mean given v_{k−1} is the CIR value θΔ + (v_{k−1} − θ)(1 − e^{−κΔ})/κ, and it is exact
    on the mean path; the trapezoid rule (τ = Δ/2, J = 0) misses the mean path's curvature,
    a bias of O(κΔ²) that conditional Monte Carlo's small SEs expose."""
    x = kappa * dt
    small = np.abs(x) < 1e-2
    safe = np.where(small, 1.0, x)
    # x − 2 tanh(x/2) without cancellation for small x
    excess = np.where(small, x ** 3 / 12.0 - x ** 5 / 120.0 + 17.0 * x ** 7 / 20160.0,
                      safe - 2.0 * np.tanh(0.5 * safe))
    return np.tanh(0.5 * x) / kappa, excess / kappa


class Constants:
    """Per-step constants of the schemes on one grid (arrays indexed by step)."""

    def __init__(self, times, kappa, theta, xi, rho, carry):
        dt = np.diff(np.concatenate(([0.0], times)))
        e = np.exp(-kappa * dt)
        self.times = times
        self.carry = carry
        one_minus_e = -np.expm1(-kappa * dt)
        self.dt = dt
        self.carry_dt = carry * dt
        self.e = e
        self.mean_var = xi * xi * e * one_minus_e / kappa            # s² = v·mean_var + base_var
        self.base_var = theta * xi * xi * one_minus_e ** 2 / (2.0 * kappa)
        self.chi_scale = xi * xi * one_minus_e / (4.0 * kappa)      # c
        tau, excess = integration_weights(kappa, dt)              # I = τ(v + v') + θJ
        self.k0 = -rho * kappa * theta * dt / xi + theta * excess * (kappa * rho / xi - 0.5)
        self.k1 = tau * (kappa * rho / xi - 0.5) - rho / xi
        self.k2 = tau * (kappa * rho / xi - 0.5) + rho / xi
        self.k3 = (1.0 - rho * rho) * tau                           # V = k3 v + k4 v' + k5
        self.k4 = self.k3
        self.k5 = (1.0 - rho * rho) * theta * excess
        self.mgf_arg = self.k2 + 0.5 * self.k4                     # A
        # exact law: log M(A) = A v e/(1 − 2Ac) − (d/2) log(1 − 2Ac), linear in v, so the
        # martingale-corrected drift −log M(A) − ½k3 v − ½k5 + k2 v' is
        # exact_k0 + exact_k1·v + k2 v' (plain where 2Ac ≥ 1)
        q = 1.0 - 2.0 * self.mgf_arg * self.chi_scale
        finite = q.real > 0.0
        safe = np.where(finite, q, 1.0)
        d = 4.0 * kappa * theta / (xi * xi)
        self.exact_k0 = np.where(finite, 0.5 * d * np.log(safe) - 0.5 * self.k5, self.k0)
        self.exact_k1 = np.where(finite, -self.mgf_arg * e / safe - 0.5 * self.k3, self.k1)
        self.exact_corrected = bool(finite.all())

    def is_martingale(self, scheme: int, v0: float) -> bool:
        """Whether E[S_k | S_{k−1}, v_{k−1}] = S_{k−1} e^{(r−q)Δ_k} holds at every step
        for sure.  Euler: always (Gaussian increment with drift −½v⁺Δ).  Exact: where
        the law's M(A) is finite at every step.  QE: its M(A) is finite whenever A ≤ 0
        (then 1 − 2Aa ≥ 1 and A < β), which holds for ρ ≤ 0; the exact first step from
        v_0 = 0 is not corrected."""
        if scheme == EULER:
            return True
        if scheme == EXACT:
            return self.exact_corrected
        return v0 > 0.0 and bool((self.mgf_arg <= 0.0).all())


def parameter_derivatives(times, kappa, theta, xi, rho, carry):
    """∂/∂(κ, θ, ξ, ρ) of the exact chain's per-step constants (k0, k1, k2, k3, k4, k5,
    log(e/c), log c) as an (8, 4, steps) array, and of d = 4κθ/ξ² (4,), by complex-step
    differentiation of :class:`Constants` (exact to rounding)."""
    base = (kappa, theta, xi, rho)
    out = np.empty((8, 4, len(times)))
    d_shape = np.empty(4)
    for i in range(4):
        h = COMPLEX_STEP * max(abs(base[i]), 1.0)
        moved = [complex(value, h if j == i else 0.0) for j, value in enumerate(base)]
        c = Constants(times, *moved, carry)
        rows = (c.exact_k0, c.exact_k1, c.k2, c.k3, c.k4, c.k5, np.log(c.e / c.chi_scale),
                np.log(c.chi_scale))
        for r, row in enumerate(rows):
            out[r, i] = np.imag(row) / h
        d_shape[i] = (4.0 * moved[0] * moved[1] / (moved[2] * moved[2])).imag / h
    return out, d_shape
