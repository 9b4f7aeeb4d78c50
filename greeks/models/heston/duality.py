"""Upper bound of a Heston Bermudan (and American) put's price by duality, with a hedging
martingale from the ADI value function, flat or off a market.

Duality (:mod:`greeks.duality`): for the discounted exercise values Z_i = D_i (K − S_i)⁺ on
the dates t_1 … t_n and any martingale M with M_0 = 0, V_0 ≤ E[max_i (Z_i − M_i)] = U, with
equality for the martingale part of the discounted value process.  The chain is the exact
scheme's (whatever the row's scheme: its martingale correction makes the zero-carry price S⁰
an exact martingale at any ρ, and its variance's conditional mean is the CIR one), stepping
at most ``MAX_STEP`` apart, every exercise date a step; S_t = G(t) S⁰_t, and

    M_i = Σ_{steps t_k → t_{k+1} before t_i} [ φ_k (S⁰_{k+1} − S⁰_k)
                                              + ψ_k (v_{k+1} − θ − (v_k − θ) e^{−κΔ_k}) ],
    φ_k = D(t_k) G(t_k) ∂V/∂S (S_{t_k}, v̄_k),   ψ_k = D(t_k) ∂V/∂v (S_{t_k}, v̄_k),

V the ADI solution's value of holding on from the last exercise date before the step
(:func:`greeks.models.heston.american.heston_value_grids`; at t = 0 the value itself), its
derivatives the centred differences of the grid read by bilinear interpolation, v̄_k the
variance at the step's start (the chain's; v0 on the first; v at the step ends recovered
from the chain's integrated variance).  Both increments have conditional mean zero given the
step's start and φ_k, ψ_k are known there, so E[M_τ] = 0 for every stopping time: U is an
upper bound of the chain's Bermudan price whatever the value function's accuracy, which only
sets how tight it is.  Flat rate r and yield q: G(t) = e^{(r−q)t}, D(t) = e^{−rt}, so
φ_k = e^{−q t_k} ∂V/∂S on the increments of S̃ = e^{−(r−q)t} S (the chain is simulated with
its carry).  Off a market (:class:`Carry`: rate and yield curves with integrals I_r, I_q,
proportional dividends y at ex-dates τ) G(t) = e^{I_r(t) − I_q(t)} Π_{τ ≤ t} (1 − y),
D(t) = e^{−I_r(t)}, the chain simulated with zero carry, and V the ADI solution at the flat
rate and yield to expiry with the same D(T) and G(T) (:meth:`Dynamics.equivalent`): the
hedge of the flat equivalent, still an exact martingale.  A cash dividend D at τ on or
before expiry (puts): S(τ) = max(S(τ−) − D, 0), every ex-date a grid point, so that between
the drops S = c_j G S⁰ with c_j known at the last drop; the S-increment is taken on S⁰ with
φ_k = D(t_k) G(t_k) c_j ∂V/∂S, still of conditional mean zero, and V is the ADI solution with
the spot's drops (proportional dividends among them, the flat yield then without them) read
at S plus the cash paid since its date (:func:`dual_values`).  A call across cash dividends,
or with κ − ρξ ≤ 0, has no symmetric put: it is bounded itself, Z_i = D(t_i)(S_{t_i} − K)⁺
and V the call's own ADI solution (with the drops).

An american row: 2 U(Δ) − U(2Δ) over the two exercise grids (each its own value functions,
the same paths), also exercisable at t = 0 (Z_0 = (K − S0)⁺), an estimate of an upper bound
of the American price as for GBM.  Puts; a call through the put it equals by put–call
symmetry (the adapter's ``upper_bound``; under the share measure: spot and strike swapped,
κ* = κ − ρξ, θ* = κθ/κ*, −ρ, and the carry G* = 1/G, D* = D G, i.e. flat the rate and yield
swapped, off a market the rate and yield curves swapped, G*(t) = e^{I_q(t) − I_r(t)},
D*(t) = e^{−I_q(t)}, proportional dividends moved into the discount: :func:`market_carry`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

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
def dual_values(s_paths, v_paths, decay, theta, step_date, is_date, strike, v0, spot, growth,
                tilde, delta_scale, vega_scale, discount, hedge, s_nodes, v_nodes, american, cash,
                paid, call, out, final):
    """Per path max_i (Z_i − M_i) into ``out`` and M_n into ``final`` (Z_i of a put, or with
    ``call`` of a call, itself, across cash dividends): ``s_paths`` and
    ``v_paths`` (paths × grid steps) the chain's price and variance at each step's end,
    ``decay`` the steps' e^{−κΔ}, ``step_date[k]`` the value function hedging step k (the
    last exercise date before it; 0 before the first), ``is_date[k]`` whether step k ends on
    an exercise date, ``hedge`` the ∂V/∂S and ∂V/∂v grids; per grid point k (0: t = 0)
    the price S = ``growth``[k] × the chain's, S⁰ = ``tilde``[k] × the chain's, the
    discount D = ``discount``[k], and at each step's start φ = ``delta_scale``[k] ∂V/∂S,
    ψ = ``vega_scale``[k] ∂V/∂v.  With ``cash`` (per grid point; empty: none) the price
    drops by it at the point, S = max(S⁻ − D, 0), S⁻ = S_k G_{k+1}/G_k × the chain's ratio
    over the step, and φ and ψ read V at S + ``paid``[k] (the cash paid since the hedging
    date, on whose price V is a function), φ times S_k/(G_k × the chain's): the share of the
    chain's increments the price still follows."""
    n = decay.size
    dropping = cash.size > 0
    for p in range(s_paths.shape[0]):
        m = 0.0
        best = -np.inf
        if american:
            best = max(spot - strike, 0.0) if call else max(strike - spot, 0.0)
        previous, level, held = spot, v0, spot
        for k in range(n):
            date = step_date[k]
            if dropping:
                share = held / (growth[k] * previous)
                price = held + paid[k]
                phi = delta_scale[k] * share * _bilinear(hedge[0, date], s_nodes, v_nodes,
                                                         price, level)
            else:
                price = growth[k] * previous
                phi = delta_scale[k] * _bilinear(hedge[0, date], s_nodes, v_nodes, price, level)
            psi = vega_scale[k] * _bilinear(hedge[1, date], s_nodes, v_nodes, price, level)
            now, variance = s_paths[p, k], v_paths[p, k]
            m += phi * (now * tilde[k + 1] - previous * tilde[k])
            m += psi * (variance - theta - (level - theta) * decay[k])
            if dropping:
                held = max(growth[k + 1] * now * share - cash[k + 1], 0.0)
                exercised = held
            else:
                exercised = growth[k + 1] * now
            if is_date[k]:
                intrinsic = exercised - strike if call else strike - exercised
                best = max(best, discount[k + 1] * max(intrinsic, 0.0) - m)
            previous, level = now, variance
        out[p] = best
        final[p] = m


class Carry(NamedTuple):
    """A row's carry off a market: G(t) and D(t) on an array of times, and a text key of the
    curves (the streams' spawn words)."""

    growth: Callable[[np.ndarray], np.ndarray]
    discount: Callable[[np.ndarray], np.ndarray]
    key: str


def market_carry(dynamics, symmetric: bool = False) -> Carry:
    """The :class:`Carry` of a :class:`greeks.market.dynamics.Dynamics` (its cash dividends
    left out), or with ``symmetric`` that of the put a call equals by put–call symmetry:
    G* = 1/G, D* = D G (e^{I_q − I_r}/Π(1 − y) and e^{−I_q} Π(1 − y): the rate and yield
    curves swapped)."""
    if not symmetric:
        return Carry(dynamics.growth, dynamics.discount, dynamics.key)
    return Carry(lambda t: 1.0 / dynamics.growth(t),
                 lambda t: dynamics.discount(t) * dynamics.growth(t),
                 "symmetric " + dynamics.key)


def _factors(points: np.ndarray, rate: float, dividend: float, carry: Carry | None):
    """(growth, tilde, delta_scale, vega_scale, discount) of :func:`dual_values` at the grid
    points ``points`` (0 first): flat, the chain S itself, S⁰ = e^{−(r−q)t} S, φ's e^{−qt},
    ψ's and the discount e^{−rt}; off a market, S = G S⁰ on the zero-carry chain, φ's D G,
    ψ's and the discount D."""
    if carry is None:
        discount = np.array([math.exp(-rate * t) for t in points])
        return (np.ones(points.size), np.array([math.exp(-(rate - dividend) * t) for t in points]),
                np.array([math.exp(-dividend * t) for t in points]), discount, discount)
    growth, discount = carry.growth(points), carry.discount(points)
    return growth, np.ones(points.size), discount * growth, discount, discount


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


def _paid(cash: np.ndarray, at: np.ndarray, step_date: np.ndarray) -> np.ndarray:
    """Per step k, the cash paid after its hedging date (``step_date``[k]: 0 is t = 0, d the
    d-th exercise date, at grid point ``at``[d − 1] + 1) up to the step's start (point k);
    empty without ``cash``."""
    if not cash.size:
        return cash
    paid = np.cumsum(cash)
    since = np.where(step_date > 0, at[np.maximum(step_date - 1, 0)] + 1, 0)
    return paid[:step_date.size] - paid[since]


def upper_bound(spot, strike, maturity, rate, dividend, params, times, *, paths: int,
                seed: int, american: bool = False, richardson: bool = False,
                carry: Carry | None = None, words=None, drops=(),
                call: bool = False) -> UpperBound | None:
    """The dual upper bound of the Bermudan put on ``times`` (the last the maturity; with
    ``american`` also exercisable at t = 0; with ``richardson`` 2 U(Δ) − U(2Δ), U(2Δ) on
    every second date back from maturity), ``params`` = (v0, κ, θ, ξ, ρ), on ``paths`` paths
    of its own streams; None where a step's discounted price is no martingale (the exact
    scheme's M(A) infinite).  Flat ``rate`` and ``dividend``, or off a market the ``carry``
    (:func:`market_carry`) with ``rate`` and ``dividend`` its flat equivalents to expiry,
    those of the value function.  ``words``: the streams' spawn words (by default hashing
    the row's defining values, and the carry's key; for tests: shared between a flat row and
    its flat market).  ``drops``: off a market with cash dividends, every discrete dividend
    to expiry as (ex-date, cash, ratio), the value functions' spot drops (``rate`` and
    ``dividend`` then without the proportional ones); the cash ones are paid on the chain
    too, each ex-date a grid point (:func:`dual_values`).  ``call``: a call itself (its own
    ADI solution, across the drops or where κ − ρξ ≤ 0: no symmetric put)."""
    v0, kappa, theta, xi, rho = (float(x) for x in params)
    times = np.asarray(times, dtype=float)
    subsets = [np.arange(times.size)]
    if richardson:
        subsets.append(np.arange((times.size - 1) % 2, times.size, 2))
    paying = [(t, amount) for t, amount, _ in drops if amount > 0.0 and t <= maturity]
    grid = _grid(np.unique(np.concatenate((times, [t for t, _ in paying]))) if paying
                 else times)
    at = np.searchsorted(grid, times - 1e-12)
    cash = np.zeros(grid.size + 1 if paying else 0)  # per grid point, t = 0 first
    for t, amount in paying:
        cash[np.searchsorted(grid, t - 1e-12) + 1] += amount
    solved = []
    for d in subsets:
        s_nodes, v_nodes, values = heston_value_grids(strike, maturity, rate, dividend, v0,
                                                      kappa, theta, xi, rho, times[d],
                                                      drops=tuple(drops),
                                                      option_type="call" if call else "put")
        is_date = np.zeros(grid.size, dtype=np.bool_)
        is_date[at[d]] = True
        step_date = np.minimum(np.searchsorted(at[d], np.arange(grid.size), side="left"),
                               values.shape[0] - 1).astype(np.int64)
        solved.append((s_nodes, v_nodes, _hedge_grids(s_nodes, v_nodes, values), is_date,
                       step_date, _paid(cash, at[d], step_date)))
    constants = Constants(grid, kappa, theta, xi, rho,
                          rate - dividend if carry is None else 0.0)
    if not constants.exact_corrected:  # a step whose discounted price is no martingale
        return None
    factors = _factors(np.concatenate(([0.0], grid)), float(rate), float(dividend), carry)
    column = np.arange(grid.size, dtype=np.int64)
    if words is None:
        words = spawn_words("heston", float(spot), float(strike), float(maturity), float(rate),
                            float(dividend), v0, kappa, theta, xi, rho, times.tolist(), american,
                            *(() if carry is None else (carry.key,)),
                            *(("call",) if call else ()))
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
        for s_nodes, v_nodes, hedge, is_date, step_date, paid in solved:
            out, m = np.empty(count), np.empty(count)
            dual_values(s_paths, v_paths, constants.e, theta, step_date, is_date,
                        float(strike), v0, float(spot), *factors, hedge, s_nodes, v_nodes,
                        american, cash, paid, call, out, m)
            parts.append(out)
            if len(parts) == 1:
                final[first:first + count] = m
        combined[first:first + count] = (parts[0] if len(parts) == 1
                                         else 2.0 * parts[0] - parts[1])
    root = math.sqrt(paths)
    return UpperBound(float(combined.mean()), float(combined.std(ddof=1) / root), 0.0,
                      float(final.mean()), float(final.std(ddof=1) / root))
