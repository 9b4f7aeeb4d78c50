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

    def ratio(j, logs, vols):
        first = columns[group.date_start[j]]
        slope = residual[:, first] / variance[:, first]
        curvature = 0.5 / variance[:, first]
        out = np.exp(slope[:, None] * logs[None, :] - curvature[:, None] * logs[None, :] ** 2)
        out[:, vols != 0] = 0.0
        return out
    return s, columns, ratio


def ladder_fraction(group, seed: int, paths: int, logs, vols, threads: int | None = None,
                    scheduler: str = "local") -> np.ndarray:
    """(rows × scenarios) 1/E[ρ²] = 1/E[exp(c²/V)] on a pilot of ``paths`` paths (streams
    ``streams.LADDER_PILOT`` + c), its chunks run by the engine's scheduler
    (:func:`_fraction_chunk`) and summed in chunk order; 0 where the volatility moves."""
    from greeks.engine.scheduler import in_order

    tasks = [(0, streams.LADDER_PILOT + chunk, n) for chunk, n in group.chunks(paths)]
    second = np.zeros((group.n_rows, logs.size))
    for sums in in_order(_fraction_chunk, [group], tasks, seed, threads=threads,
                         scheduler=scheduler, args=(logs,)):
        second += sums
    return np.where(vols[None, :] == 0, paths / second, 0.0)


def _fraction_chunk(group, seed: int, chunk: int, n: int, logs) -> np.ndarray:
    """The chunk job of :func:`ladder_fraction`: per row and spot move c, Σ exp(c²/V) over
    the chunk's paths (V the conditional variance at the row's first date)."""
    stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words, chunk))
    simulated = group_paths(group, np.random.Generator(np.random.PCG64(stream)), n)
    variance, columns = simulated.variance, simulated.columns
    out = np.empty((group.n_rows, logs.size))
    for j in range(group.n_rows):
        v = variance[:, columns[group.date_start[j]]]
        with np.errstate(over="ignore"):
            out[j] = np.exp(logs[None, :] ** 2 / v[:, None]).sum(axis=0)
    return out
