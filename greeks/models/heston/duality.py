"""Upper bound of a Heston Bermudan (and American) put's price by duality, with a hedging
martingale from the ADI value function.

Duality (:mod:`greeks.duality`): for the discounted exercise values Z_i = D_i (K − S_i)⁺ on
the dates t_1 … t_n and any martingale M with M_0 = 0, V_0 ≤ E[max_i (Z_i − M_i)] = U, with
equality for the martingale part of the discounted value process.  Here

    M_i = Σ_{k < i} Σ_{steps in (t_k, t_{k+1}]} φ (S̃_{+} − S̃),   φ = e^{−q t} ∂V_k/∂S (S, ū),

S̃_t = e^{−(r−q) t} S_t, V_k the ADI solution's value of holding on from date k
(:func:`greeks.models.heston.american.heston_value_grids`; at t = 0 the value itself), read
at the step's start by bilinear interpolation of its centred S-differences, ū the variance
averaged over the previous step (the chain's; v0 on the first).  S̃ is an exact martingale on
the exact scheme's chain (its martingale correction), and φ is known at each step's start,
so E[M_τ] = 0 for every stopping time: U is an upper bound of the chain's Bermudan price
whatever the grid's accuracy, which only sets how tight it is.  The variance risk is left
unhedged (the bound is looser by what a delta hedge leaves of it).  The chain (the exact
scheme, whatever the row's scheme: a martingale at any ρ) steps at most ``MAX_STEP``
apart, every exercise date a step.  An american row: 2 U(Δ) − U(2Δ) over the two exercise
grids (each its own value functions, the same paths), also exercisable at t = 0 (Z_0 =
(K − S0)⁺), an estimate of an upper bound of the American price as for GBM.  Puts; a call
through the put it equals by put–call symmetry (the adapter's ``upper_bound``); rows off a
market: none.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from greeks import streams
from greeks.duality import CHUNK_PATHS, UpperBound, spawn_words
from greeks.models.heston.american import heston_value_grids
from greeks.models.heston.constants import Constants
from greeks.models.heston.paths import simulate
from greeks.models.heston.schema import EXACT

MAX_STEP = 1.0 / 52.0  # the chain's longest step (years)


def _hedge_grids(s: np.ndarray, v: np.ndarray, values: np.ndarray) -> np.ndarray:
    """∂V/∂S and ∂V/∂v on the grid (2 × dates × S nodes × v nodes), centred differences on
    the non-uniform grids."""
    return np.stack([np.gradient(values, s, axis=1), np.gradient(values, v, axis=2)])


@njit(cache=True, inline="always")
def _bilinear(grid, s_nodes, v_nodes, s, v):
    """grid (S nodes × v nodes) at (s, v), bilinear; constant beyond the nodes."""
    i = min(max(np.searchsorted(s_nodes, s) - 1, 0), s_nodes.size - 2)
    j = min(max(np.searchsorted(v_nodes, v) - 1, 0), v_nodes.size - 2)
    a = min(max((s - s_nodes[i]) / (s_nodes[i + 1] - s_nodes[i]), 0.0), 1.0)
    b = min(max((v - v_nodes[j]) / (v_nodes[j + 1] - v_nodes[j]), 0.0), 1.0)
    return ((1 - a) * (1 - b) * grid[i, j] + a * (1 - b) * grid[i + 1, j]
            + (1 - a) * b * grid[i, j + 1] + a * b * grid[i + 1, j + 1])


@njit(cache=True)
def dual_values(s_paths, v_paths, times, decay, theta, step_date, is_date, strike, rate,
                dividend, v0, spot, hedge, s_nodes, v_nodes, american, out, final):
    """Per path max_i (Z_i − M_i) into ``out`` and M_n into ``final``: ``s_paths`` and
    ``v_paths`` (paths × grid steps) the price and variance at each step's end, ``times``
    the steps' ends, ``decay`` their e^{−κΔ}, ``step_date[k]`` the value function hedging
    step k (the last exercise date before it; 0 before the first), ``is_date[k]`` whether
    step k ends on an exercise date, ``hedge`` the ∂V/∂S and ∂V/∂v grids."""
    n = times.size
    for p in range(s_paths.shape[0]):
        m = 0.0
        best = max(strike - spot, 0.0) if american else -np.inf
        previous, level, t = spot, v0, 0.0
        for k in range(n):
            date = step_date[k]
            phi = math.exp(-dividend * t) * _bilinear(hedge[0, date], s_nodes, v_nodes,
                                                      previous, level)
            psi = math.exp(-rate * t) * _bilinear(hedge[1, date], s_nodes, v_nodes, previous,
                                                  level)
            now, variance = s_paths[p, k], v_paths[p, k]
            m += phi * (now * math.exp(-(rate - dividend) * times[k])
                        - previous * math.exp(-(rate - dividend) * t))
            m += psi * (variance - theta - (level - theta) * decay[k])
            if is_date[k]:
                best = max(best, math.exp(-rate * times[k]) * max(strike - now, 0.0) - m)
            previous, level, t = now, variance, times[k]
        out[p] = best
        final[p] = m


def _variances(increments: np.ndarray, v0: float, c: Constants) -> np.ndarray:
    """v at each step's end (paths × steps) from the chain's conditional variance increments
    V_k = k3 v_{k−1} + k4 v_k + k5 (the exact scheme's integrated variance given the end
    points, :mod:`greeks.models.heston`)."""
    out = np.empty_like(increments)
    previous = np.full(increments.shape[0], v0)
    for k in range(increments.shape[1]):
        previous = np.maximum((increments[:, k] - c.k5[k] - c.k3[k] * previous) / c.k4[k], 0.0)
        out[:, k] = previous
    return out


def _grid(dates: np.ndarray) -> np.ndarray:
    """The chain's steps: every date, each interval cut into equal steps of at most
    ``MAX_STEP``."""
    points, start = [], 0.0
    for end in dates:
        count = max(1, math.ceil((end - start) / MAX_STEP - 1e-9))
        points.extend(start + (end - start) * np.arange(1, count + 1) / count)
        start = end
    return np.array(points)


def upper_bound(spot, strike, maturity, rate, dividend, params, times, *, paths: int,
                seed: int, american: bool = False, richardson: bool = False) -> UpperBound:
    """The dual upper bound of the Bermudan put on ``times`` (the last the maturity; with
    ``american`` also exercisable at t = 0; with ``richardson`` 2 U(Δ) − U(2Δ), U(2Δ) on
    every second date back from maturity), ``params`` = (v0, κ, θ, ξ, ρ), on ``paths`` paths
    of its own streams."""
    v0, kappa, theta, xi, rho = (float(x) for x in params)
    times = np.asarray(times, dtype=float)
    subsets = [np.arange(times.size)]
    if richardson:
        subsets.append(np.arange((times.size - 1) % 2, times.size, 2))
    grid = _grid(times)
    at = np.searchsorted(grid, times - 1e-12)
    solved = []
    for d in subsets:
        s_nodes, v_nodes, values = heston_value_grids(strike, maturity, rate, dividend, v0,
                                                      kappa, theta, xi, rho, times[d])
        is_date = np.zeros(grid.size, dtype=np.bool_)
        is_date[at[d]] = True
        step_date = np.searchsorted(at[d], np.arange(grid.size), side="left")
        solved.append((s_nodes, v_nodes, _hedge_grids(s_nodes, v_nodes, values), is_date,
                       np.minimum(step_date, values.shape[0] - 1).astype(np.int64)))
    constants = Constants(grid, kappa, theta, xi, rho, rate - dividend)
    if not constants.exact_corrected:  # a step whose discounted price is no martingale
        return None
    column = np.arange(grid.size, dtype=np.int64)
    words = spawn_words("heston", float(spot), float(strike), float(maturity), float(rate),
                        float(dividend), v0, kappa, theta, xi, rho, times.tolist(), american)
    combined, final = np.empty(paths), np.empty(paths)
    for c, first in enumerate(range(0, paths, CHUNK_PATHS)):
        count = min(CHUNK_PATHS, paths - first)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            seed, spawn_key=(*words, streams.DUALITY + c))))
        x, _, variance, *_ = simulate(rng, EXACT, count, math.log(spot), v0, kappa, theta, xi,
                                      rho, constants, column, grid.size)
        s_paths = np.exp(x)
        v_paths = _variances(np.diff(variance, axis=1, prepend=0.0), v0, constants)
        parts = []
        for s_nodes, v_nodes, hedge, is_date, step_date in solved:
            out, m = np.empty(count), np.empty(count)
            dual_values(s_paths, v_paths, grid, constants.e, theta, step_date, is_date,
                        float(strike), float(rate), float(dividend), v0, float(spot), hedge,
                        s_nodes, v_nodes, american, out, m)
            parts.append(out)
            if len(parts) == 1:
                final[first:first + count] = m
        combined[first:first + count] = (parts[0] if len(parts) == 1
                                         else 2.0 * parts[0] - parts[1])
    root = math.sqrt(paths)
    return UpperBound(float(combined.mean()), float(combined.std(ddof=1) / root), 0.0,
                      float(final.mean()), float(final.std(ddof=1) / root))
