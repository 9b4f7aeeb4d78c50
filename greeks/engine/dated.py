"""Planning a simulation group of rows priced off a market (:mod:`greeks.market`).

The group is simulated with zero carry and its grid columns scaled by the growth G(t)
(:mod:`greeks.market.dynamics`): under Heston the chain itself (the variance does not
depend on rates), under GBM the variance-clock paths of :mod:`greeks.models.gbm.dated`.
Each row is discounted by DF(T) of its curve, and the controls' known means are the true
forwards: E[L] = DF(T) S0 G(T) (the mean of G over the dates for an asian), with
∂E[L]/∂S0 = E[L]/S0.  With cash dividends the linear payoff L is read on the *unfloored*
prices Ŝ (the same paths with the drops S → S − D not floored at 0), whose mean is exact
and affine in S0 (:func:`dated_grid`):

    E[Ŝ(t)] = G(t) (S0 − Σ_{τ_j ≤ t} D_j / G(τ_j)),    ∂E[Ŝ(t)]/∂S0 = G(t).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class DatedGrid(NamedTuple):
    """What a dated group adds to its grid (arrays over the grid points, or per row)."""

    growth: np.ndarray       # G(t_k)
    clock: np.ndarray        # GBM: w(t_k), the variance clock (empty under Heston)
    shift: np.ndarray        # GBM: ∂w(t_k)/∂ε for a parallel vol shift
    cash: np.ndarray         # GBM: the cash dividend paid at t_k (0: none)
    score_start: np.ndarray  # row j's score dates: score_index[score_start[j]:...]
    score_index: np.ndarray
    forward: np.ndarray      # per row: E[L]
    forward_slope: np.ndarray  # per row: ∂E[L]/∂S0
    discount: np.ndarray     # DF(t_k) of the curve (american and bermudan rows' exercise)
    dynamics: object         # the greeks.market.dynamics.Dynamics simulated
    cash_rows: np.ndarray    # per row: a cash dividend on or before its expiry

    def log_growth(self) -> np.ndarray:
        """log G(t_k)/G(t_{k−1}) of each grid step (t_0 = 0, G(0) = 1)."""
        return np.diff(np.log(self.growth), prepend=0.0)


def dated_grid(dynamics, grid: np.ndarray, indices: list, maturities: np.ndarray,
               asian: np.ndarray, gbm: bool) -> DatedGrid:
    """The growth, variance clock and cash dividends on ``grid``, each row's score dates
    (its own dates, ``indices``, and the cash ex-dates up to its expiry) and the known
    mean of its linear payoff and its S0-derivative (module docstring)."""
    growth = np.asarray(dynamics.growth(grid), dtype=float)
    cash = np.zeros(grid.size)
    ex_points = []
    for dividend in dynamics.cash_dividends(float(maturities.max())):
        k = int(np.argmin(np.abs(grid - dividend.time)))
        cash[k] += dividend.value
        ex_points.append(k)
    scores = [np.unique(np.concatenate([own, [k for k in ex_points if grid[k] <= grid[own[-1]]]]))
              .astype(np.int64) for own in indices]
    start = np.concatenate(([0], np.cumsum([s.size for s in scores]))).astype(np.int64)
    # E[Ŝ(t_k)] = G_k (S0 − Σ_{ex-dates i ≤ k} D_i / G_i), on the grid
    paid = np.cumsum(np.divide(cash, growth, out=np.zeros_like(cash), where=cash > 0))
    mean = growth * (dynamics.spot - paid)
    discount = np.asarray(dynamics.discount(maturities), dtype=float)
    forward = discount * np.array([mean[i].mean() if a else mean[i[-1]]
                                   for i, a in zip(indices, asian)])
    slope = discount * np.array([growth[i].mean() if a else growth[i[-1]]
                                 for i, a in zip(indices, asian)])
    if gbm:
        clock = np.asarray(dynamics.vol.total_variance(grid), dtype=float)
        shift = np.asarray(dynamics.vol.parallel_shift(grid), dtype=float)
    else:
        clock = shift = np.empty(0)
    paying = np.array([bool(dynamics.cash_dividends(float(t))) for t in maturities])
    return DatedGrid(growth, clock, shift, cash, start, np.concatenate(scores), forward, slope,
                     np.asarray(dynamics.discount(grid), dtype=float), dynamics, paying)
