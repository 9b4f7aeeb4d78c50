"""Discounted payoffs evaluated on simulated prices, selected by integer code.

Each row reads the simulated prices S(t_{d_1}), ..., S(t_{d_n}) on its own dates
(indices into the simulation grid; the last is the maturity T) and pays, at T,
discounted by e^{−rT}; ω = +1 for a call, −1 for a put:

    european  max(ω (S_T − K), 0)
    digital   payout · 1{ω (S_T − K) > 0}                      (cash-or-nothing)
    asian     max(ω (Ā − K), 0),  Ā = (1/n) Σ_i S(t_{d_i})     (arithmetic, fixed strike)
    barrier   max(ω (S_T − K), 0) · 1{knocked out never}  for the out types,
              max(ω (S_T − K), 0) · 1{knocked in}          for the in types,

where an up barrier B is touched on a monitoring date when S(t_{d_i}) ≥ B and a
down barrier when S(t_{d_i}) ≤ B (discrete monitoring at the closes only).
"""

from __future__ import annotations

from numba import njit

EUROPEAN, DIGITAL, ASIAN, BARRIER = 0, 1, 2, 3
KIND_CODES = {"european": EUROPEAN, "digital": DIGITAL, "asian": ASIAN, "barrier": BARRIER}

UP_AND_OUT, DOWN_AND_OUT, UP_AND_IN, DOWN_AND_IN = 0, 1, 2, 3
BARRIER_CODES = {"up-and-out": UP_AND_OUT, "down-and-out": DOWN_AND_OUT,
                 "up-and-in": UP_AND_IN, "down-and-in": DOWN_AND_IN}


@njit(cache=True, nogil=True)
def evaluate(s, dates, kind, omega, strike, payout, barrier, barrier_kind, discount, out):
    """Fill ``out[p]`` with the discounted payoff of one row on path ``p`` of ``s``.

    One loop per payoff kind, so that the branch on ``kind`` stays out of the
    loop over paths.
    """
    last = dates[dates.size - 1]
    n_paths = s.shape[0]
    if kind == EUROPEAN:
        for p in range(n_paths):
            out[p] = discount * max(omega * (s[p, last] - strike), 0.0)
    elif kind == DIGITAL:
        cash = discount * payout
        for p in range(n_paths):
            out[p] = cash if omega * (s[p, last] - strike) > 0.0 else 0.0
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
