"""Spot ladders of Heston rows by likelihood-ratio reweighting (:mod:`greeks.ladder`): the
ratio of a spot move through the row's first log-price given the variance path, log ρ =
(R/V) c − c²/(2V), and its effective sample size 1/E[exp(c²/V)] on a pilot.  Volatility
shifts would need the variance chain's own transition ratio: their ratio is 0 (the rows are
re-simulated there).

Off a market the prices are the zero-carry chain S̃ times the deterministic growth G(t),
through the cash drops S → max(S − D, 0) at the ex-dates
(:func:`greeks.models.heston.adapter.market_prices`).  The first observation is then the
row's first score date s_1 (its first date, or an earlier cash ex-date up to its expiry:
every ex-date is a stored grid point, so no drop precedes s_1), where S(s_1−) = G(s_1) S̃(s_1)
and, given the variance path, log S̃(s_1) ~ N(log S0 + m, V) with m free of S0; later prices
follow from S(s_1−) through the chain's later log-returns, G's ratios and the drops, none of
which depends on S0.  So the flat ratio holds with R and V of the zero-carry chain at s_1
(:func:`greeks.models.heston.adapter.first_scores`), exact across cash dividends."""

from __future__ import annotations

import numpy as np

from greeks import streams
from greeks.models.heston.adapter import first_scores, group_paths, market_prices


def ladder_paths(group, rng, n: int):
    """(prices, their columns, ratio) of one chunk (:func:`greeks.models.gbm.ladder.
    ladder_paths`); off a market the prices of :func:`market_prices` and the ratio at each
    row's first score date (module docstring)."""
    chain = group_paths(group, rng, n)
    s = chain.s if group.market is None else market_prices(group, chain)[0]
    first = first_scores(group, chain)
    residual, variance = chain.residual, chain.variance

    def ratio(j, logs, vols):
        slope = residual[:, first[j]] / variance[:, first[j]]
        curvature = 0.5 / variance[:, first[j]]
        out = np.exp(slope[:, None] * logs[None, :] - curvature[:, None] * logs[None, :] ** 2)
        out[:, vols != 0] = 0.0
        return out
    return s, chain.columns, ratio


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
    the chunk's paths (V the conditional variance at the row's first score date)."""
    stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words, chunk))
    simulated = group_paths(group, np.random.Generator(np.random.PCG64(stream)), n)
    first = first_scores(group, simulated)
    out = np.empty((group.n_rows, logs.size))
    for j in range(group.n_rows):
        v = simulated.variance[:, first[j]]
        with np.errstate(over="ignore"):
            out[j] = np.exp(logs[None, :] ** 2 / v[:, None]).sum(axis=0)
    return out
