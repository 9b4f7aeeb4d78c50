"""What a GBM row off a market adds to a chunk of the bucketed Greeks
(:mod:`greeks.engine.buckets`): its factors' likelihood-ratio weights on the dated paths
(:func:`greeks.models.gbm.dated.factor_weights`) and its theta
(:func:`greeks.models.gbm.dated.theta_weights`)."""

from __future__ import annotations

import numpy as np

from greeks import estimators, payoffs
from greeks.market.factors import row_factors, row_theta
from greeks.market.positions import MARKET_COLUMN
from greeks.models.gbm import dated


class BucketRow:
    """What one GBM row adds to a chunk: its payoff and score dates, its factors' weight
    coefficients and control means, and its theta."""

    def __init__(self, group, j, frame, market):
        position = int(group.positions[j])
        row_market = frame[MARKET_COLUMN].iat[position]
        self.position = position
        self.dates = group.date_index[group.date_start[j]:group.date_start[j + 1]]
        self.scores = group.market.score_index[group.market.score_start[j]:
                                               group.market.score_start[j + 1]]
        self.asian = group.payoff.kind[j] == payoffs.ASIAN
        self.discount = group.payoff.discount[j]
        times = group.times[self.dates]
        payoff_times = times if self.asian else times[-1:]
        maturity = float(times[-1])
        underlying = frame["underlying"].iat[position]
        overrides = row_market.overrides
        names = dict(underlying=underlying, valuation=market.valuation_date,
                     curve=(f"{underlying}/own" if "rate" in overrides
                            else market.underlyings[underlying].curve),
                     own_vol="vol" in overrides, own_yield="dividend" in overrides)
        score_times = group.times[self.scores]
        self.factors = row_factors(row_market.dynamics, score_times, payoff_times, maturity,
                                   names)
        self.theta = row_theta(row_market.dynamics, score_times, payoff_times, maturity)
        f = self.factors
        self.labels = f.labels + [p[0] for p in f.parallel] + [f"theta:{underlying}"]
        self.kinds = f.kinds + [p[1] for p in f.parallel] + ["theta"]
        self.control = np.append(f.control, np.nan if self.theta is None else self.theta.control)

    def sample(self, paths, group, j):
        """(F+1) × paths: f w_k and L w_k for the factors and theta."""
        w, s, u = paths
        clock = group.market.clock
        n = w.shape[0]
        f = self.factors
        weights = np.empty((len(f.labels) + 1, n))
        dated.factor_weights(w, s, clock, self.scores, f.variance, f.drift, f.cash_at,
                             f.cash, f.discount, weights)
        if self.theta is None:
            weights[-1] = np.nan
        else:
            dated.theta_weights(w, clock, self.scores, self.theta.offset, self.theta.variance,
                                self.theta.log_discount, weights[-1])
        payoff, linear = np.empty(n), np.empty(n)
        payoffs.evaluate(s, self.dates, group.payoff, j, payoff)
        estimators.linear_payoff(u, self.dates, self.asian, self.discount, linear)
        return payoff[None, :] * weights, linear[None, :] * weights

    def parallel(self, r):
        """``r`` with the parallel shifts (sums of their buckets' rows) inserted before
        theta."""
        sums = [r[p[2]].sum(axis=0, keepdims=True) for p in self.factors.parallel]
        return np.concatenate([r[:-1], *sums, r[-1:]])


def bucket_paths(group, rng, count):
    """A chunk's dated paths (W̃, S, Ŝ) in antithetic pairs
    (:func:`greeks.models.gbm.dated.simulate_dated`)."""
    market = group.market
    log_growth = np.diff(np.log(market.growth), prepend=0.0)
    return dated.simulate_dated(rng, count, market.clock, log_growth, market.cash, group.spot,
                                True)
