"""What a GBM row off a market adds to a chunk of the bucketed Greeks
(:mod:`greeks.engine.buckets`): its factors' likelihood-ratio weights on the dated paths
(:func:`greeks.models.gbm.dated.factor_weights`) and its theta.

Theta, the value a calendar day later minus today's (:class:`greeks.market.factors.Theta`:
the segments' laws N(μ⁺_i, Δw⁺_i) against N(μ_i, Δw_i), the discount DF⁺ against DF).
Rows without cash dividends couple the first segment and reweight the others: the first
log-return a day later, x⁺_1 = μ⁺_1 + sqrt(Δw⁺_1/Δw_1) e_1, has the law one day later exactly,
and with the later returns unchanged every price on the row's dates moves by the factor
e^{x⁺_1 − x_1}; the later segments' likelihood ratio ρ_{≥2} and DF⁺/DF carry the rest, so

    theta = E[DF f(S⁺) ρ_{≥2} DF⁺/DF − DF f(S)]

(f discounted in the code), with L⁺ ρ_{≥2} DF⁺/DF − L as control (mean E⁺[L] − E[L]).  The
first segment's own ratio, whose variance grows without bound as a day becomes most of it
(a barrier's first monitoring date 1.45 days away: E[ρ²] ≈ 1.4), is thus replaced by a
difference that moves only where the payoff is sensitive to the first return (on the
example book 3–8× smaller SEs for european rows, 2× for asians, 1.5–3× for barriers).
Digital rows (whose difference is the payout on every path the shift carries across the
strike: 40–60× the likelihood ratio's SE there) and rows with a cash dividend (whose drop is
not a factor of the price) keep the likelihood ratio of every segment
(:func:`greeks.models.gbm.dated.theta_weights`).

A knock-in's difference is likewise its whole payoff on the paths the shift carries across
the barrier.  Where a path at the barrier mostly ends out of the money (a down-and-in call
struck well above its barrier) the difference lives on the few such paths that then pay, a
sample can miss them, and its SE comes out far too small (a down-and-in call struck at 114
with its barrier at 65, 29 dates, σ 0.365: |z| 5.5–6.4 on 3 of 8 seeds at 20,000 paths);
those go by the likelihood ratio too.  The choice is by p = P(in the money | knocked in) on
the row's flat-equivalent law to expiry, in closed form
(:func:`greeks.models.gbm.analytic.knock_in_pays_probability`), so it does not depend on the
sample: the ratio below :data:`KNOCK_IN_COUPLED` = 0.5.  Measured
(``benchmarks/knock_in_theta.py``, ``benchmarks/results/knock_in_theta.md``: down-and-in
calls and puts, 50,000 paths, 4 seeds): the calls (p 0.008–0.31) had 2–3× smaller theta SEs
by the ratio, the puts near their barrier (p 0.67–0.82) up to 4× smaller by coupling; puts
far from theirs (p ≥ 0.88) are up to 1.6× better by the ratio but honest coupled, and keep
it (the down-and-in put of ``instruments/book.csv``: p 0.96, ±0.138 coupled against ±0.450 by
the ratio)."""

from __future__ import annotations

import numpy as np

from greeks import estimators, payoffs
from greeks.market.factors import row_factors, row_theta
from greeks.market.positions import MARKET_COLUMN
from greeks.models.gbm import dated
from greeks.models.gbm.analytic import knock_in_pays_probability

KNOCK_INS = (payoffs.UP_AND_IN, payoffs.DOWN_AND_IN)
KNOCK_IN_COUPLED = 0.5  # a knock-in's theta by coupling from this P(paying | knocked in) on


class BucketRow:
    """What one GBM row adds to a chunk: its payoff and score dates, its factors' weight
    coefficients and control means, and its theta."""

    def __init__(self, group, j, frame, market):
        position = int(group.positions[j])
        row_market = frame[MARKET_COLUMN].iat[position]
        self.position = position
        self.dates = group.dates_of(j)
        self.scores = group.market.score_index[group.market.score_start[j]:
                                               group.market.score_start[j + 1]]
        self.asian = group.payoff.kind[j] == payoffs.ASIAN
        self.discount = group.payoff.discount[j]
        times = group.times[self.dates]
        payoff_times = times if self.asian else times[-1:]
        maturity = float(times[-1])
        underlying = frame["underlying"].iat[position]
        names = row_names(frame, position, market)
        score_times = group.times[self.scores]
        self.factors = row_factors(row_market.dynamics, score_times, payoff_times, maturity,
                                   names)
        self.theta = row_theta(row_market.dynamics, score_times, payoff_times, maturity)
        f = self.factors
        self.cash = "dividend_cash" in f.kinds
        paying = _knock_in_paying(group, j, row_market.dynamics, maturity)  # NaN: no knock-in
        self.jumps = (group.payoff.kind[j] == payoffs.DIGITAL  # theta not by coupling
                      or paying < KNOCK_IN_COUPLED)
        self.labels = f.labels + [p[0] for p in f.parallel] + [f"theta:{underlying}"]
        self.kinds = f.kinds + [p[1] for p in f.parallel] + ["theta"]
        self.control = np.append(f.control, np.nan if self.theta is None else self.theta.control)
        # every label a likelihood-ratio weight on the payoff but a theta by coupling
        # (:func:`greeks.engine.buckets.carried_se`)
        self.counted = np.append(np.ones(len(self.labels) - 1, dtype=bool),
                                 self.theta is None or self.cash or self.jumps)

    def sample(self, paths, group, j):
        """(F+1) × paths: f w_k and L w_k for the factors and theta; and f."""
        w, s, u = paths
        clock = group.market.clock
        n = w.shape[0]
        f = self.factors
        weights = np.empty((len(f.labels) + 1, n))
        dated.factor_weights(w, s, clock, self.scores, f.variance, f.drift, f.cash_at,
                             f.cash, f.discount, weights)
        coupled = self.theta is not None and not (self.cash or self.jumps)
        if self.theta is None:
            weights[-1] = np.nan
        else:
            offset, variance = self.theta.offset, self.theta.variance
            if coupled:  # the first segment by coupling: its likelihood-ratio term left out
                first = clock[self.scores[0]]
                offset, variance = offset.copy(), variance.copy()
                shift = -offset[0] + (np.sqrt(variance[0] / first) - 1.0) * w[:, self.scores[0]]
                offset[0], variance[0] = 0.0, first
            dated.theta_weights(w, clock, self.scores, offset, variance,
                                self.theta.log_discount, weights[-1])
        payoff, linear = np.empty(n), np.empty(n)
        payoffs.evaluate(s, self.dates, group.payoff, j, payoff)
        estimators.linear_payoff(u, self.dates, self.asian, self.discount, linear)
        g, h = payoff[None, :] * weights, linear[None, :] * weights
        if coupled:
            later = s[:, self.dates] * np.exp(shift)[:, None]
            columns = np.arange(self.dates.size, dtype=self.dates.dtype)
            payoff_later, linear_later = np.empty(n), np.empty(n)
            payoffs.evaluate(later, columns, group.payoff, j, payoff_later)
            estimators.linear_payoff(later, columns, self.asian, self.discount, linear_later)
            ratio = weights[-1] + 1.0
            g[-1] = payoff_later * ratio - payoff
            h[-1] = linear_later * ratio - linear
        return g, h, payoff

    def parallel(self, r):
        """``r`` with the parallel shifts (sums of their buckets' rows) inserted before
        theta."""
        return with_parallel(r, self.factors.parallel)


def with_parallel(r, parallel):
    """``r`` (factors then theta, × pairs) with the parallel shifts (``parallel``: label,
    kind, indices of the buckets each sums) inserted before theta: their buckets' rows
    summed path by path."""
    sums = [r[p[2]].sum(axis=0, keepdims=True) for p in parallel]
    return np.concatenate([r[:-1], *sums, r[-1:]])


def row_names(frame, position: int, market) -> dict:
    """The ``names`` of a row's factors (:func:`greeks.market.factors.row_factors`): its
    underlying, the valuation date, its rate curve's name (``UND/own`` for a rate of its
    own) and whether it gave its own vol or dividend yield."""
    underlying = frame["underlying"].iat[position]
    overrides = frame[MARKET_COLUMN].iat[position].overrides
    return dict(underlying=underlying, valuation=market.valuation_date,
                curve=(f"{underlying}/own" if "rate" in overrides
                       else market.underlyings[underlying].curve),
                own_vol="vol" in overrides, own_yield="dividend" in overrides)


def _knock_in_paying(group, j, dynamics, maturity):
    """A knock-in row's probability of ending in the money given that it knocks in, on the
    flat-equivalent law to its expiry
    (:func:`greeks.models.gbm.analytic.knock_in_pays_probability`); NaN for other rows."""
    kind = int(group.payoff.barrier_kind[j])
    if group.payoff.kind[j] != payoffs.BARRIER or kind not in KNOCK_INS:
        return np.nan
    hit, pays = knock_in_pays_probability(dynamics.spot, float(group.payoff.strike[j]),
                                          float(group.payoff.barrier[j]),
                                          group.payoff.omega[j] > 0, kind == payoffs.UP_AND_IN,
                                          float(np.log(dynamics.growth(maturity))),
                                          float(dynamics.vol.total_variance(maturity)),
                                          int(group.date_start[j + 1] - group.date_start[j]))
    return pays / hit


def bucket_paths(group, rng, count):
    """A chunk's dated paths (W̃, S, Ŝ) in antithetic pairs
    (:func:`greeks.models.gbm.dated.simulate_dated`)."""
    market = group.market
    log_growth = market.log_growth()
    return dated.simulate_dated(rng, count, market.clock, log_growth, market.cash, group.spot,
                                True)
