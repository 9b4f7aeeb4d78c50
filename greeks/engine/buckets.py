"""Bucketed vegas of GBM rows priced off a market: ∂V/∂σ_j for each node j of the
underlying's vol curve (:func:`greeks.models.gbm.dated.node_weights`).

Each dated GBM group is simulated again on streams of its own (chunk numbers from
``streams.BUCKETS``), with the same paths' law, grid and payoffs as the main run; each
row's estimate of node j is the mean of f · w_j over the paths, with its standard error
(plain likelihood ratio).  The buckets of a row add up to an estimate of its parallel vega.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from greeks import payoffs, streams
from greeks.engine.plan import plan_groups
from greeks.market.positions import MARKET_COLUMN
from greeks.models.gbm import dated
from greeks.stats import Moments


def vega_buckets(frame: pd.DataFrame, paths: int, seed: int) -> pd.DataFrame:
    """One row per (position, vol node) of the GBM rows off a market: ``id``,
    ``underlying``, ``node`` (the node's date, or ``flat``), ``vega``, ``vega_se`` (per
    1.00 of that node's vol, per unit of quantity)."""
    records = []
    for group in plan_groups(frame, method="lr", plain=True):
        if group.market is None or group.model != "gbm":
            continue
        market = group.market
        curve = frame[MARKET_COLUMN].iat[int(group.positions[0])].dynamics.vol
        node_shift = np.ascontiguousarray(curve.node_derivatives(group.times))
        log_growth = np.diff(np.log(market.growth), prepend=0.0)
        totals = [Moments(node_shift.shape[0]) for _ in range(group.n_rows)]
        for chunk, count in group.chunks(paths):
            stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words,
                                                             streams.BUCKETS + chunk))
            w, s, _ = dated.simulate_dated(np.random.Generator(np.random.PCG64(stream)), count,
                                           market.clock, log_growth, market.cash, group.spot)
            payoff, weights = np.empty(count), np.empty((node_shift.shape[0], count))
            for j in range(group.n_rows):
                dates = group.date_index[group.date_start[j]:group.date_start[j + 1]]
                payoffs.evaluate(s, dates, group.payoff, j, payoff)
                scores = market.score_index[market.score_start[j]:market.score_start[j + 1]]
                dated.node_weights(w, market.clock, node_shift, scores, weights)
                values = payoff[None, :] * weights
                mean = values.mean(axis=1)
                totals[j].merge(count, mean, ((values - mean[:, None]) ** 2).sum(axis=1))
        for j, position in enumerate(group.positions):
            se = totals[j].standard_error
            for k, label in enumerate(curve.labels):
                records.append({"id": frame["id"].iat[int(position)],
                                "underlying": frame["underlying"].iat[int(position)],
                                "node": label, "vega": totals[j].mean[k], "vega_se": se[k]})
    return pd.DataFrame(records, columns=["id", "underlying", "node", "vega", "vega_se"])
