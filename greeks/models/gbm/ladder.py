"""Spot and volatility ladders of GBM rows by likelihood-ratio reweighting
(:mod:`greeks.ladder`): the log ratio ρ of a scenario on each path, exact over the row's
Gaussian steps, and its effective sample size 1/E[ρ²] in closed form.

Off a market (:mod:`greeks.models.gbm.dated`) the steps are the row's score dates
s_1 < ... < s_n (its own dates and the cash ex-dates up to its expiry): with the variance
clock τ = w(t), the first log-price L_1 = log S(s_1−) ~ N(log S0 + log G(s_1) − Δτ_1/2,
Δτ_1) and the later pre-drop log-returns x_i ~ N(log(G(s_i)/G(s_{i−1})) − Δτ_i/2, Δτ_i),
independent.  The drops S → max(S − D, 0) are fixed maps applied at score dates, so the
payoff is a fixed function of (L_1, x_2, ..., x_n): S0 enters only the mean of L_1 (c =
log(1 + x) moves it), a parallel vol shift y only the variances Δτ_i → Δτ'_i of the
shifted curve (each mean's −Δτ_i/2 with them), and the growth neither.  The ratio is the
product of the Gaussian ratios of these variables: with e_i = W̃(τ_{s_i}) − W̃(τ_{s_{i−1}})
the path's deviation from its mean,

    log ρ = Σ_i [½ log(Δτ_i/Δτ'_i) + e_i²/(2Δτ_i) − (e_i + d_i)²/(2Δτ'_i)],
    d_i = (Δτ'_i − Δτ_i)/2 − c·1{i = 1},

exact with cash dividends too, and its ESS the product of the steps' E_i with s_i² = Δτ_i,
s_i'² = Δτ'_i (:func:`effective_fraction`).  A flat vol σ is Δτ_i = σ²Δ_i: the flat ratio.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from greeks.models.gbm.dated import simulate_dated
from greeks.models.gbm.paths import simulate


def ladder_paths(group, rng, n: int):
    """(prices, their columns, ratio) of one chunk; ``ratio(j, logs, vols)`` the
    (paths × scenarios) ρ of row j for spot moves log(1 + x) = ``logs`` and volatility
    shifts ``vols`` (off a market: :func:`_dated_paths`)."""
    if group.market is not None:
        return _dated_paths(group, rng, n)
    w, s = simulate(rng, n, group.times, math.log(group.spot), group.rate - group.dividend,
                    group.params[0], False)
    np.exp(s, out=s)

    def ratio(j, logs, vols):
        dates = group.dates_of(j)
        return np.exp(np.stack([log_ratio(w, group.times, dates, group.params[0], c, y)
                                for c, y in zip(logs, vols)], axis=1))
    return s, group.date_index, ratio


def ladder_fraction(group, logs, vols) -> np.ndarray:
    """(rows × scenarios) 1/E[ρ²] of the group's rows (:func:`effective_fraction`; off a
    market :func:`dated_fraction` on each row's score dates)."""
    out = np.empty((group.n_rows, logs.size))
    market = group.market
    clocks = shifted_clocks(group, vols) if market is not None else None
    for j in range(group.n_rows):
        if market is not None:
            dates = score_dates(group, j)
            out[j] = [dated_fraction(market.clock, clocks[s], dates, c)
                      for s, c in enumerate(logs)]
            continue
        dates = group.dates_of(j)
        out[j] = [effective_fraction(group.times, dates, group.params[0], c, y)
                  for c, y in zip(logs, vols)]
    return out


def log_ratio(w, times, dates, sigma, log_shift, vol_shift):
    """log ρ of every path of a GBM row for one (spot, vol) scenario (:mod:`greeks.ladder`)."""
    new = sigma + vol_shift
    drift_change = 0.5 * (new * new - sigma * sigma)  # μ − μ'
    total = np.zeros(w.shape[0])
    previous_w = np.zeros(w.shape[0])
    previous_t = 0.0
    for i, d in enumerate(dates):
        dt = times[d] - previous_t
        step = w[:, d] - previous_w
        deviation = drift_change * dt + sigma * step - (log_shift if i == 0 else 0.0)
        total += (math.log(sigma / new) - deviation ** 2 / (2 * new * new * dt)
                  + step ** 2 / (2 * dt))
        previous_w, previous_t = w[:, d], times[d]
    return total


def effective_fraction(times, dates, sigma, log_shift, vol_shift) -> float:
    """1/E[ρ²] of a GBM row for one scenario: the product of the Gaussian steps' E_i."""
    new = sigma + vol_shift
    drift_change = 0.5 * (new * new - sigma * sigma)
    steps, previous = [], 0.0
    for i, d in enumerate(dates):
        dt = times[d] - previous
        previous = times[d]
        steps.append((sigma * sigma * dt, new * new * dt,
                      drift_change * dt - (log_shift if i == 0 else 0.0)))  # μ' − μ, and c
    return _fraction(steps)


def dated_fraction(clock, shifted, dates, log_shift) -> float:
    """1/E[ρ²] of a row off a market for one scenario: the product of its score steps' E_i
    with s_i² = Δτ_i on ``clock``, s_i'² = Δτ'_i on ``shifted`` and mean shift d_i (module
    docstring)."""
    steps, before, after = [], 0.0, 0.0
    for i, d in enumerate(dates):
        s2, t2 = clock[d] - before, shifted[d] - after
        before, after = clock[d], shifted[d]
        steps.append((s2, t2, 0.5 * (t2 - s2) - (log_shift if i == 0 else 0.0)))
    return _fraction(steps)


def _fraction(steps) -> float:
    """1/Π_i E_i over Gaussian steps (s_i², s_i'², d_i): the ratio of N(d_i, s_i'²) to
    N(0, s_i²) has E_i = E[ρ_i²] = s_i/(s_i'² sqrt(2/s_i'² − 1/s_i²)) exp(d_i²/(2s_i² − s_i'²)),
    infinite (ESS 0) when 2s_i² ≤ s_i'²."""
    log_second = 0.0
    for s2, t2, shift in steps:
        if 2 * s2 <= t2:
            return 0.0
        log_second += (0.5 * math.log(s2) - math.log(t2) - 0.5 * math.log(2 / t2 - 1 / s2)
                       + shift * shift / (2 * s2 - t2))
    return math.exp(-log_second)


def score_dates(group, j: int) -> np.ndarray:
    """Row j's score dates off a market (grid indices: :func:`greeks.engine.dated.dated_grid`)."""
    market = group.market
    return market.score_index[market.score_start[j]:market.score_start[j + 1]]


def shifted_clocks(group, vols) -> np.ndarray:
    """(scenarios × grid) the variance clock w'(t_k) of each scenario off a market: the
    group's vol curve with every node moved by the scenario's vol shift (the curves are
    checked by :func:`greeks.ladder.spot_ladder`); 0 leaves the group's own clock."""
    market = group.market
    out = np.empty((len(vols), market.clock.size))
    for s, y in enumerate(vols):
        out[s] = (market.clock if y == 0 else
                  market.dynamics.vol.shifted(float(y)).total_variance(group.times))
    return out


def _dated_paths(group, rng, n: int):
    """:func:`ladder_paths` of a group off a market: the paths of
    :func:`greeks.models.gbm.dated.simulate_dated` (no antithetic pairs) and the ratio of
    :func:`dated_ratio` on each row's score dates."""
    market = group.market
    w, s, _ = simulate_dated(rng, n, market.clock, market.log_growth(),
                             market.cash, group.spot)

    def ratio(j, logs, vols):
        out = np.empty((n, logs.size))
        dated_ratio(w, market.clock, shifted_clocks(group, vols), score_dates(group, j),
                    np.asarray(logs, dtype=float), out)
        return out
    return s, group.date_index, ratio


@njit(cache=True, nogil=True)
def dated_ratio(w, clock, clocks, dates, logs, out):
    """``out[p, k]``: ρ of path p under scenario k (spot move ``logs[k]``, variance clock
    ``clocks[k]``) on a row's score dates ``dates`` (grid indices), from the path's W̃(τ)
    ``w`` on ``clock`` (module docstring); 1 exactly where the scenario moves nothing."""
    n, m = dates.size, logs.size
    variance = np.empty(n)
    shifted = np.empty((m, n))
    mean = np.empty((m, n))
    constant = np.zeros(m)
    before = 0.0
    after = np.zeros(m)
    for i in range(n):
        variance[i] = clock[dates[i]] - before
        before = clock[dates[i]]
        for k in range(m):
            v = clocks[k, dates[i]] - after[k]
            after[k] = clocks[k, dates[i]]
            shifted[k, i] = v
            mean[k, i] = 0.5 * (v - variance[i]) - (logs[k] if i == 0 else 0.0)
            constant[k] += 0.5 * np.log(variance[i] / v)
    total = np.empty(m)
    for p in range(w.shape[0]):
        for k in range(m):
            total[k] = constant[k]
        level = 0.0
        for i in range(n):
            e = w[p, dates[i]] - level
            level = w[p, dates[i]]
            square = e * e / (2.0 * variance[i])
            for k in range(m):
                deviation = e + mean[k, i]
                total[k] += square - deviation * deviation / (2.0 * shifted[k, i])
        for k in range(m):
            out[p, k] = np.exp(total[k])
