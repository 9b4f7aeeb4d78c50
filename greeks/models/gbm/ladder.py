"""Spot and volatility ladders of GBM rows by likelihood-ratio reweighting
(:mod:`greeks.ladder`): the log ratio ρ of a scenario on each path, exact over the row's
Gaussian steps, and its effective sample size 1/E[ρ²] in closed form."""

from __future__ import annotations

import math

import numpy as np

from greeks.models.gbm.paths import simulate


def ladder_paths(group, rng, n: int):
    """(prices, their columns, ratio) of one chunk; ``ratio(dates, logs, vols)`` the
    (paths × scenarios) ρ of a row on ``dates`` for spot moves log(1 + x) = ``logs`` and
    volatility shifts ``vols``."""
    w, s = simulate(rng, n, group.times, math.log(group.spot), group.rate - group.dividend,
                    group.params[0], False)
    np.exp(s, out=s)

    def ratio(dates, logs, vols):
        return np.exp(np.stack([log_ratio(w, group.times, dates, group.params[0], c, y)
                                for c, y in zip(logs, vols)], axis=1))
    return s, group.date_index, ratio


def ladder_fraction(group, logs, vols) -> np.ndarray:
    """(rows × scenarios) 1/E[ρ²] of the group's rows (:func:`effective_fraction`)."""
    out = np.empty((group.n_rows, logs.size))
    for j in range(group.n_rows):
        dates = group.date_index[group.date_start[j]:group.date_start[j + 1]]
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
    log_second, previous = 0.0, 0.0
    for i, d in enumerate(dates):
        dt = times[d] - previous
        previous = times[d]
        s2, t2 = sigma * sigma * dt, new * new * dt
        if 2 * s2 <= t2:
            return 0.0
        shift = drift_change * dt - (log_shift if i == 0 else 0.0)  # μ' − μ, and c
        log_second += (0.5 * math.log(s2) - math.log(t2) - 0.5 * math.log(2 / t2 - 1 / s2)
                       + shift * shift / (2 * s2 - t2))
    return math.exp(-log_second)
