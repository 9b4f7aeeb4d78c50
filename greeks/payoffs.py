"""Discounted payoffs evaluated on simulated prices, selected by integer code.

Each row reads the simulated prices S(t_{d_1}), ..., S(t_{d_n}) on its own dates
(indices into the simulation grid; the last is the maturity T) and pays, at T,
discounted by e^{−rT}; ω = +1 for a call, −1 for a put:

    european  max(ω (S_T − K), 0)
    digital   payout · 1{ω (S_T − K) > 0}                      (cash-or-nothing)
              S_T · 1{ω (S_T − K) > 0}                         (asset-or-nothing)
    asian     max(ω (Ā − K), 0),  Ā = (1/n) Σ_i S(t_{d_i})     (arithmetic, fixed strike)
    barrier   max(ω (S_T − K), 0) · 1{knocked out never}  for the out types,
              max(ω (S_T − K), 0) · 1{knocked in}          for the in types,

where an up barrier B is touched on a monitoring date when S(t_{d_i}) ≥ B and a
down barrier when S(t_{d_i}) ≤ B (discrete monitoring at the closes only).

American and bermudan rows pay h(S_τ) = max(ω (S_τ − K), 0) at the date τ that a fixed
exercise policy picks, discounted by e^{−r t_τ} (:func:`exercise_values`; the policy is
fitted by :mod:`greeks.exercise`): τ is the first of the row's dates t_{d_i} with
h(S) > 0 and e^{−r t_{d_i}} h(S) ≥ Σ_b β_{i,b} ψ_b(S/K, u), the policy's regression
estimate of the continuation value (discounted to 0) on the basis

    ψ = (1, x, x², x³, u, u·x, u²),   x = S/K,

with u a variance state of the path (under Heston, the variance averaged over the last
step over θ; 0 under GBM, whose policies are exercise boundaries: β = (e^{−r t} ω (b − K),
0, ...), so that the rule reads ω S ≥ ω b).  At maturity the option is exercised whenever
h(S_T) > 0.

The rows of a group travel together as one :class:`PayoffSpec` (per-row arrays); what each
payoff code supports is in :mod:`greeks.payoff_table`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from greeks.payoff_table import (  # noqa: F401  (the codes, re-exported)
    AMERICAN,
    ASIAN,
    ASSET_DIGITAL,
    BARRIER,
    BARRIER_CODES,
    BERMUDAN,
    DIGITAL,
    DOWN_AND_IN,
    DOWN_AND_OUT,
    EUROPEAN,
    UP_AND_IN,
    UP_AND_OUT,
)


class PayoffSpec(NamedTuple):
    """The payoffs of a group's rows, one array entry per row."""

    kind: np.ndarray          # int64 payoff code (:mod:`greeks.payoff_table`)
    omega: np.ndarray         # +1 call, −1 put
    strike: np.ndarray
    payout: np.ndarray        # cash digitals' payout
    barrier: np.ndarray
    barrier_kind: np.ndarray  # int64 barrier code
    discount: np.ndarray      # e^{−rT}
    # early exercise (american, bermudan rows; empty for a group without them):
    rate: np.ndarray = np.zeros(0)  # r, to discount from the exercise date
    policy: np.ndarray = np.zeros((0, 2, 0, 7))  # (rows, 2, max dates, N_BASIS): β per date
    richardson: np.ndarray = np.zeros(0, dtype=np.bool_)  # 2 V(Δ) − V(2Δ) (american)


N_BASIS = 7  # the policy's basis (module docstring)
NEVER = np.inf  # β_0 of a date without a regression: the continuation value is never beaten


def with_discount(spec: PayoffSpec, j: int, discount: float) -> PayoffSpec:
    """``spec`` with row j discounted by ``discount`` instead."""
    moved = spec.discount.copy()
    moved[j] = discount
    return spec._replace(discount=moved)


@njit(cache=True, nogil=True)
def evaluate(s, dates, spec, j, out):
    """Fill ``out[p]`` with the discounted payoff of row ``j`` of ``spec`` on path ``p``
    of ``s``.

    One loop per payoff kind, so that the branch on the kind stays out of the
    loop over paths.
    """
    kind, omega, strike = spec.kind[j], spec.omega[j], spec.strike[j]
    payout, barrier, barrier_kind = spec.payout[j], spec.barrier[j], spec.barrier_kind[j]
    discount = spec.discount[j]
    last = dates[dates.size - 1]
    n_paths = s.shape[0]
    if kind == EUROPEAN:
        for p in range(n_paths):
            out[p] = discount * max(omega * (s[p, last] - strike), 0.0)
    elif kind == DIGITAL:
        cash = discount * payout
        for p in range(n_paths):
            out[p] = cash if omega * (s[p, last] - strike) > 0.0 else 0.0
    elif kind == ASSET_DIGITAL:
        for p in range(n_paths):
            out[p] = discount * s[p, last] if omega * (s[p, last] - strike) > 0.0 else 0.0
    elif kind == ASIAN:
        scale = 1.0 / dates.size
        for p in range(n_paths):
            total = 0.0
            for i in range(dates.size):
                total += s[p, dates[i]]
            out[p] = discount * max(omega * (total * scale - strike), 0.0)
    else:
        up = barrier_kind == UP_AND_OUT or barrier_kind == UP_AND_IN
        knock_in = barrier_kind == UP_AND_IN or barrier_kind == DOWN_AND_IN
        for p in range(n_paths):
            touched = False
            for i in range(dates.size):
                level = s[p, dates[i]]
                if (level >= barrier) if up else (level <= barrier):
                    touched = True
                    break
            alive = touched == knock_in
            out[p] = discount * max(omega * (s[p, last] - strike), 0.0) if alive else 0.0


@njit(cache=True, nogil=True, inline="always")
def _continuation(beta, x, u):
    """Σ_b β_b ψ_b on the basis ψ = (1, x, x², x³, u, u·x, u²)."""
    return (beta[0] + x * (beta[1] + x * (beta[2] + x * beta[3]))
            + u * (beta[4] + beta[5] * x + beta[6] * u))


@njit(cache=True, nogil=True)
def stopping_index(s, state, p, dates, discounts, spec, j, policy):
    """The index i (into ``dates``) of path p's exercise date under row j's fitted
    ``policy`` (0: every date; 1: every second date back from maturity), −1 if the option
    ends out of the money.

    ``discounts[i]`` = e^{−r t_{d_i}}; ``state`` (paths × stored dates, or no columns) holds
    the variance state u of the basis."""
    omega, strike = spec.omega[j], spec.strike[j]
    n = dates.size
    step = 1 + policy
    with_state = state.shape[1] > 0
    for i in range((n - 1) % step, n, step):
        col = dates[i]
        intrinsic = omega * (s[p, col] - strike)
        if intrinsic <= 0.0:
            continue
        if i == n - 1:
            return i
        u = state[p, col] if with_state else 0.0
        if discounts[i] * intrinsic >= _continuation(spec.policy[j, policy, i],
                                                     s[p, col] / strike, u):
            return i
    return -1


@njit(cache=True, nogil=True)
def exercise_values(s, state, slope, w_delta, dates, date_times, discounts, spec, j, spot,
                    values, controls):
    """Per-path estimators of row j (american or bermudan) under its fixed policy, and
    those of the European option on the same paths (the control variates).

    With τ the exercise date of :func:`stopping_index` (policy 0) and D_τ = e^{−r t_τ}:
    ``values`` (6 × paths) receives

        price  D_τ h(S_τ)
        delta  D_τ ω 1{h > 0} S_τ/S0                 (pathwise, τ held fixed)
        vega   D_τ ω 1{h > 0} ∂S_τ/∂σ                (``slope`` = ∂S/∂σ on the stored dates)
        gamma  D_τ ω 1{h > 0} (S_τ/S0) · w_Δ         (likelihood ratio on the pathwise delta)
        early exercise  1{τ before maturity}
        exercise time   t_τ (maturity if not exercised early)

    and, where ``spec.richardson[j]``, price, delta, vega and gamma are 2 Y(τ) − Y(τ'), τ'
    the exercise date under policy 1 (every second date).  ``controls`` (4 × paths): the same
    first four at maturity, the European option's.  ``w_delta[p]`` is the delta score of
    path p's first row date (its only S0-dependent transition)."""
    n = dates.size
    omega, strike = spec.omega[j], spec.strike[j]
    richardson = spec.richardson[j]
    last = dates[n - 1]
    maturity = date_times[n - 1]
    for p in range(s.shape[0]):
        price = delta = vega = 0.0
        early, when = 0.0, maturity
        i = stopping_index(s, state, p, dates, discounts, spec, j, 0)
        if i >= 0:
            col = dates[i]
            price = discounts[i] * omega * (s[p, col] - strike)
            delta = discounts[i] * omega * s[p, col] / spot
            vega = discounts[i] * omega * slope[p, col]
            if i < n - 1:
                early, when = 1.0, date_times[i]
        if richardson:
            price, delta, vega = 2.0 * price, 2.0 * delta, 2.0 * vega
            k = stopping_index(s, state, p, dates, discounts, spec, j, 1)
            if k >= 0:
                col = dates[k]
                price -= discounts[k] * omega * (s[p, col] - strike)
                delta -= discounts[k] * omega * s[p, col] / spot
                vega -= discounts[k] * omega * slope[p, col]
        values[0, p], values[1, p], values[2, p] = price, delta, vega
        values[3, p] = delta * w_delta[p]
        values[4, p], values[5, p] = early, when
        if omega * (s[p, last] - strike) > 0.0:
            controls[0, p] = discounts[n - 1] * omega * (s[p, last] - strike)
            controls[1, p] = discounts[n - 1] * omega * s[p, last] / spot
            controls[2, p] = discounts[n - 1] * omega * slope[p, last]
        else:
            controls[0, p] = controls[1, p] = controls[2, p] = 0.0
        controls[3, p] = controls[1, p] * w_delta[p]
