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

The rows of a group travel together as one :class:`PayoffSpec` (per-row arrays); what each
payoff code supports is in :mod:`greeks.payoff_table`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from greeks.payoff_table import (  # noqa: F401  (the codes, re-exported)
    ASIAN,
    ASSET_DIGITAL,
    BARRIER,
    BARRIER_CODES,
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
