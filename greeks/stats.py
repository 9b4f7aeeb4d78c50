"""Sample means and their standard errors, accumulated chunk by chunk.

Each chunk of paths reduces every estimated quantity to ``(mean, M2)`` with
M2 = Σ (x − mean)², computed in one pass on values shifted by the chunk's first
value (the shifted-data algorithm: no cancellation when the mean is large against
the spread).  Chunks are merged in a fixed order with the pairwise update of
Chan, Golub & LeVeque (1979),

    mean = mean_a + δ n_b / n,   M2 = M2_a + M2_b + δ² n_a n_b / n,   δ = mean_b − mean_a,

so that results do not depend on which thread ran which chunk.  The standard
error of the mean of N iid values is sqrt(M2 / (N − 1) / N).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def accumulate(value, shift, total, squares):
    """One step of the shifted one-pass sums: (Σ (x − shift), Σ (x − shift)²)."""
    d = value - shift
    return total + d, squares + d * d


@njit(cache=True, nogil=True, inline="always")
def finish(shift, total, squares, n, out):
    """Mean and M2 of n values from their shifted sums, into ``out[0]`` and ``out[1]``."""
    out[0] = shift + total / n
    out[1] = max(squares - total * total / n, 0.0)


@njit(cache=True, nogil=True)
def moments(values, out):
    """Store the mean and M2 of ``values`` in ``out[0]`` and ``out[1]``."""
    shift = values[0]
    total = squares = 0.0
    for p in range(values.size):
        total, squares = accumulate(values[p], shift, total, squares)
    finish(shift, total, squares, values.size, out)


@njit(cache=True, nogil=True)
def unit_moments(columns, n_units, antithetic, out):
    """(mean, M2) of each per-path array in ``columns`` into ``out[k]``, over the paths or,
    with ``antithetic``, over the pairs (p, p + n_units) averaged."""
    for k in range(len(columns)):
        column = columns[k]
        shift = total = squares = 0.0
        for u in range(n_units):
            value = 0.5 * (column[u] + column[u + n_units]) if antithetic else column[u]
            if u == 0:
                shift = value
            total, squares = accumulate(value, shift, total, squares)
        finish(shift, total, squares, n_units, out[k])


class Moments:
    """Running (count, mean, M2) of an array of quantities, merged chunk by chunk."""

    def __init__(self, shape):
        self.count = 0
        self.mean = np.zeros(shape)
        self.m2 = np.zeros(shape)

    def merge(self, count: int, mean: np.ndarray, m2: np.ndarray) -> None:
        if self.count == 0:
            self.count, self.mean, self.m2 = count, mean.copy(), m2.copy()
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta * delta * (self.count * count / total)
        self.count = total

    @property
    def standard_error(self) -> np.ndarray:
        if self.count < 2:
            return np.full_like(self.mean, np.nan)
        return np.sqrt(self.m2 / (self.count - 1) / self.count)
