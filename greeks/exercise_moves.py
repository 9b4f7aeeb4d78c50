"""The moved markets of the bucketed differences of american and bermudan rows off a market
(:mod:`greeks.models.gbm.exercise_buckets`, :mod:`greeks.models.heston.exercise_buckets`):
the group on moved dynamics, its grid and dates kept, and each cash dividend's amount moved
to D ± δ, D ± 2δ, δ = D/2 (D − 2δ = 0: none)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from greeks import exercise
from greeks.engine.dated import dated_grid

MOVES = (1.0, -1.0, 2.0, -2.0)  # the differences' points: θ ± step, θ ± 2 step
CASH_STEP = 0.5  # δ of a cash dividend's differences, as a fraction of its amount (D − 2δ = 0)


def moved_group(group, dynamics):
    """The group on ``dynamics`` (its grid and dates kept): the market's grid
    (:func:`greeks.engine.dated.dated_grid`, a variance clock where the dynamics have a vol
    curve) and the continuation's lower bounds (:func:`greeks.exercise.holds`)."""
    indices = [group.date_index[group.date_start[j]:group.date_start[j + 1]]
               for j in range(group.n_rows)]
    market = dated_grid(dynamics, group.times, indices, group.maturity,
                        np.zeros(group.n_rows, dtype=bool), dynamics.vol is not None)
    moved = replace(group, market=market)
    return replace(moved, payoff=moved.payoff._replace(hold=exercise.holds(moved)))


def cash_moves(group) -> dict:
    """``("cash", i)``: (δ, the four moved groups in :data:`MOVES` order) of each cash
    dividend i of the group's market paid on or before its last expiry, its amount at
    D ± δ, D ± 2δ, δ = ``CASH_STEP`` D."""
    dynamics = group.market.dynamics
    out = {}
    for i, d in enumerate(dynamics.dividends):
        if d.proportional or d.time > group.maturity.max():
            continue
        step = CASH_STEP * d.value

        def moved(m, i=i, d=d, step=step):
            dividends = list(dynamics.dividends)
            dividends[i] = replace(d, value=d.value + m * step)
            return moved_group(group, replace(dynamics, dividends=tuple(dividends)))

        out["cash", i] = (step, [moved(m) for m in MOVES])
    return out
