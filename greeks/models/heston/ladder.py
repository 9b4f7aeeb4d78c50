"""Spot ladders of Heston rows by likelihood-ratio reweighting (:mod:`greeks.ladder`): the
ratio of a spot move through the row's first log-price given the variance path, log ρ =
(R/V) c − c²/(2V), and its effective sample size 1/E[exp(c²/V)] on a pilot.  Volatility
shifts would need the variance chain's own transition ratio: their ratio is 0 (the rows are
re-simulated there)."""

from __future__ import annotations

import numpy as np

from greeks import streams
from greeks.models.heston.adapter import group_paths


def ladder_paths(group, rng, n: int):
    """(prices, their columns, ratio) of one chunk (:func:`greeks.models.gbm.ladder.
    ladder_paths`)."""
    s, residual, variance, columns, *_ = group_paths(group, rng, n)

    def ratio(dates, logs, vols):
        slope = residual[:, dates[0]] / variance[:, dates[0]]
        curvature = 0.5 / variance[:, dates[0]]
        out = np.exp(slope[:, None] * logs[None, :] - curvature[:, None] * logs[None, :] ** 2)
        out[:, vols != 0] = 0.0
        return out
    return s, columns, ratio


def ladder_fraction(group, seed: int, paths: int, logs, vols) -> np.ndarray:
    """(rows × scenarios) 1/E[ρ²] = 1/E[exp(c²/V)] on a pilot of ``paths`` paths (streams
    ``streams.LADDER_PILOT`` + c); 0 where the volatility moves."""
    second = np.zeros((group.n_rows, logs.size))
    for chunk, n in group.chunks(paths):
        stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words,
                                                         streams.LADDER_PILOT + chunk))
        simulated = group_paths(group, np.random.Generator(np.random.PCG64(stream)), n)
        variance, columns = simulated.variance, simulated.columns
        for j in range(group.n_rows):
            v = variance[:, columns[group.date_start[j]]]
            with np.errstate(over="ignore"):
                second[j] += np.exp(logs[None, :] ** 2 / v[:, None]).sum(axis=0)
    return np.where(vols[None, :] == 0, paths / second, 0.0)
