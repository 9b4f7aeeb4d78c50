"""Planning a simulation group of rows priced off a market (:mod:`greeks.market`).

The group is simulated with zero carry and its grid columns scaled by the growth G(t)
(:mod:`greeks.market.dynamics`): under Heston the chain itself (the variance does not
depend on rates), under GBM the variance-clock paths of :mod:`greeks.models.gbm.dated`.
Each row is discounted by DF(T) of its curve, and the controls' known means are the true
forwards: E[L] = DF(T) S0 G(T) (the mean of G over the dates for an asian).  With cash
dividends E[S_T] is not S0 G(T) (the drops are floored at 0), so those groups leave the
controls built on L out (``martingale`` false); the score controls stay.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class DatedGrid(NamedTuple):
    """What a dated group adds to its grid (arrays over the grid points)."""

    growth: np.ndarray       # G(t_k)
    clock: np.ndarray        # GBM: w(t_k), the variance clock (empty under Heston)
    shift: np.ndarray        # GBM: ∂w(t_k)/∂ε for a parallel vol shift
    cash: np.ndarray         # GBM: the cash dividend paid at t_k (0: none)
    score_start: np.ndarray  # row j's score dates: score_index[score_start[j]:...]
    score_index: np.ndarray


def dated_grid(dynamics, grid: np.ndarray, indices: list, maturities: np.ndarray,
               gbm: bool) -> DatedGrid:
    """The growth, variance clock and cash dividends on ``grid``, and each row's score
    dates: its own dates (``indices``) and the cash ex-dates up to its expiry."""
    growth = np.asarray(dynamics.growth(grid), dtype=float)
    cash = np.zeros(grid.size)
    ex_points = []
    for dividend in dynamics.cash_dividends(float(maturities.max())):
        k = int(np.argmin(np.abs(grid - dividend.time)))
        cash[k] += dividend.value
        ex_points.append((dividend.time, k))
    scores = [np.unique(np.concatenate([own, [k for t, k in ex_points if t <= maturity]]))
              .astype(np.int64) for own, maturity in zip(indices, maturities)]
    start = np.concatenate(([0], np.cumsum([s.size for s in scores]))).astype(np.int64)
    if gbm:
        clock = np.asarray(dynamics.vol.total_variance(grid), dtype=float)
        shift = np.asarray(dynamics.vol.parallel_shift(grid), dtype=float)
    else:
        clock = shift = np.empty(0)
    return DatedGrid(growth, clock, shift, cash, start, np.concatenate(scores))


def forwards(dynamics, grid: np.ndarray, indices: list, maturities: np.ndarray,
             asian: np.ndarray) -> np.ndarray:
    """E[L] of each row: DF(T) S0 G(t) at expiry, or averaged over an asian's dates."""
    growth = dynamics.growth(grid)
    return dynamics.spot * dynamics.discount(maturities) * np.array(
        [growth[i].mean() if a else growth[i[-1]] for i, a in zip(indices, asian)])
