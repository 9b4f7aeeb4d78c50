"""What a Heston row off a market adds to a chunk of the bucketed Greeks
(:mod:`greeks.engine.buckets`): its carry factors, pathwise or by the carry's
likelihood-ratio score (:mod:`greeks.models.heston.carry`)."""

from __future__ import annotations

import numpy as np

from greeks import estimators, payoffs
from greeks.market.factors import carry_factors
from greeks.market.positions import MARKET_COLUMN
from greeks.models.heston import carry
from greeks.models.heston.adapter import group_paths
from greeks.models.heston.schema import from_zero_without_feller
from greeks.payoff_table import EUROPEAN


class BucketRow:
    """A Heston row's carry factors (:class:`greeks.market.factors.CarryFactors`): european
    and asian rows pathwise, digital and barrier rows by the likelihood-ratio score of the
    carry (:func:`greeks.models.heston.carry.carry_scores`; NaN for a chain from v0 = 0
    without the Feller condition, whose first conditional variance has no usable inverse).
    No theta."""

    def __init__(self, group, j, frame, market):
        position = int(group.positions[j])
        row_market = frame[MARKET_COLUMN].iat[position]
        self.position = position
        self.part = slice(group.date_start[j], group.date_start[j + 1])
        kind = group.payoff.kind[j]
        self.asian = kind == payoffs.ASIAN
        self.pathwise = kind in (EUROPEAN, payoffs.ASIAN)
        self.valid = self.pathwise or not from_zero_without_feller(*group.params[:4])
        self.omega, self.strike = group.payoff.omega[j], group.payoff.strike[j]
        self.discount = group.payoff.discount[j]
        times = group.times[group.date_index[self.part]]
        underlying = frame["underlying"].iat[position]
        overrides = row_market.overrides
        names = dict(underlying=underlying, valuation=market.valuation_date,
                     curve=(f"{underlying}/own" if "rate" in overrides
                            else market.underlyings[underlying].curve),
                     own_yield="dividend" in overrides)
        self.factors = carry_factors(row_market.dynamics, times if self.asian else times[-1:],
                                     float(times[-1]), names)
        # a score needs β at every date the payoff reads (the control L = DF S(T) its last)
        self.beta = np.ascontiguousarray(
            self.factors.beta if self.pathwise or times.size == 1 else
            carry_factors(row_market.dynamics, times, float(times[-1]), names).beta)
        f = self.factors
        self.labels = f.labels + [p[0] for p in f.parallel]
        self.kinds = f.kinds + [p[1] for p in f.parallel]
        self.control = f.control

    def sample(self, paths, group, j):
        """F × paths: the derivative of f (pathwise, or f times the score) and that of L
        (module docstring)."""
        s, columns, residual, variance = paths
        dates = np.ascontiguousarray(columns[self.part])
        n = s.shape[0]
        f = self.factors
        payoff, linear = np.empty(n), np.empty(n)
        g = np.empty((len(f.labels), n))
        if not self.valid:
            g[:] = np.nan
            return g, np.zeros_like(g)
        payoffs.evaluate(s, dates, group.payoff, j, payoff)
        estimators.linear_payoff(s, dates, self.asian, self.discount, linear)
        if self.pathwise:
            carry.carry_pathwise(s, dates, self.asian, self.omega, self.strike, self.discount,
                                 self.beta, g)
            h = np.empty_like(g)  # the linear payoff's pathwise derivative: ω = 1, K = −∞
            carry.carry_pathwise(s, dates, self.asian, 1.0, -np.inf, self.discount,
                                 self.beta, h)
        else:
            carry.carry_scores(residual, variance, dates, self.beta, g)
            h = g * linear[None, :]
            g *= payoff[None, :]
        g -= f.discount[:, None] * payoff[None, :]
        h -= f.discount[:, None] * linear[None, :]
        return g, h

    def parallel(self, r):
        sums = [r[p[2]].sum(axis=0, keepdims=True) for p in self.factors.parallel]
        return np.concatenate([r, *sums])


def bucket_paths(group, rng, count):
    """A chunk's chain (S, the rows' columns, R, V) in antithetic pairs, the prices times
    the growth G(t) (:func:`greeks.models.heston.adapter.group_paths`)."""
    chain = group_paths(group, rng, count)
    return (chain.s * group.market.growth[np.unique(group.date_index)], chain.columns,
            chain.residual, chain.variance)
