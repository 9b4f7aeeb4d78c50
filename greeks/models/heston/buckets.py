"""What a Heston row off a market adds to a chunk of the bucketed Greeks
(:mod:`greeks.engine.buckets`): its carry factors, pathwise or by the carry's
likelihood-ratio score (:mod:`greeks.models.heston.carry`), and its theta on common random
numbers.

Theta (``theta:UND``) is the value's change when the valuation date moves one calendar
day, every date, zero rate, yield and node kept (:func:`greeks.market.factors.shifted`),
as for GBM rows.  The chain is run again on the same random numbers with every date a day
closer, the day taken out of the steps before the row's first date
(:func:`greeks.models.heston.closer.closer_times`; at most two such chains per group,
:func:`later_ends`), its zero-carry prices times the growth seen from the new date,
G⁺(t − 1/365) (rates and yields integrated from it, proportional dividends at their
ex-dates), and each row discounted by DF⁺(T − 1/365).  Per path the estimate is f⁺ − f,
whose mean is V(t + 1 day) − V(t) itself (no difference quotient, no bias beyond the
chain's discretisation), its standard error from the spread of those differences over the
paths.  European and cash digital rows (those the main run prices by conditional Monte
Carlo) take C⁺ − C instead, C the Black–Scholes value given the chain's variance path
(:func:`greeks.estimators.conditional_prices`, E[C] = V on either chain): smooth in the
path where the payoff is not, it cuts a digital's SE about thirtyfold and a european's
about twofold.  The control is L⁺ − L (the linear payoff DF S(T), or an asian's average, on
both chains), whose mean E⁺[L] − E[L] is known exactly
(:func:`greeks.market.factors.one_day_later`).  NaN when a node or the row's first date is
within a day.

Cash dividends (:mod:`greeks.models.heston.dropped`).  A row with one on or before its
expiry is no multiple of the chain: every carry factor goes by the carry's score over its
score segments (its dates and the ex-dates up to expiry, β at those dates), its control the
linear payoff on the unfloored prices; each cash dividend's factor is the score of its
post-drop price (:func:`greeks.models.heston.carry.cash_scores`, no control); theta's chain
a day later takes the day out of the steps before the rows' first score dates (no ex-date
among them), applies the drops at the same stored ex-dates, then a day closer, and such
rows take f⁺ − f.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np

from greeks import estimators, payoffs
from greeks.market.factors import DAY, carry_factors, dividend_label, one_day_later, shifted
from greeks.market.positions import MARKET_COLUMN
from greeks.models.heston import carry
from greeks.models.heston.adapter import CONDITIONED, group_paths, market_prices, stored_dates
from greeks.models.heston.closer import closer_times
from greeks.models.heston.dropped import with_dividends
from greeks.models.heston.schema import from_zero_without_feller
from greeks.payoff_table import EUROPEAN

FAR = 4.0  # a second chain a day later for rows whose first date is this many times further


class BucketRow:
    """A Heston row's carry factors (:class:`greeks.market.factors.CarryFactors`) and its
    cash dividends' factors: european and asian rows pathwise (across a cash dividend by
    the score, module docstring),
    digital and barrier rows by the likelihood-ratio score of the
    carry (:func:`greeks.models.heston.carry.carry_scores`; NaN for a chain from v0 = 0
    without the Feller condition, whose first conditional variance has no usable inverse),
    and theta on the chain a day later (module docstring)."""

    def __init__(self, group, j, frame, market):
        position = int(group.positions[j])
        row_market = frame[MARKET_COLUMN].iat[position]
        self.position = position
        self.part = slice(group.date_start[j], group.date_start[j + 1])
        kind = group.payoff.kind[j]
        self.asian = kind == payoffs.ASIAN
        # a cash dividend on or before expiry: S is no multiple of the chain, every factor
        # by the carry's score over the score segments (module docstring)
        paying = bool(group.market.cash_rows[j])
        self.pathwise = kind in (EUROPEAN, payoffs.ASIAN) and not paying
        self.valid = self.pathwise or not from_zero_without_feller(*group.params[:4])
        self.omega, self.strike = group.payoff.omega[j], group.payoff.strike[j]
        self.conditional = bool(group.conditional and kind in CONDITIONED and not paying)
        self.digital = kind == payoffs.DIGITAL
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
        # a score needs β at every score date (the control L = DF S(T) reads its last)
        market_grid = group.market
        self.scored = market_grid.score_index[
            market_grid.score_start[j]:market_grid.score_start[j + 1]] if paying else None
        score_times = group.times[self.scored] if paying else times
        # each cash dividend paid on or before expiry: its score date and amount
        cash = row_market.dynamics.cash_dividends(float(times[-1]))
        self.cash_at = np.array([int(np.argmin(np.abs(score_times - d.time))) for d in cash],
                                dtype=np.int64)
        self.cash = np.array([float(d.value) for d in cash])
        cash_labels = [dividend_label(underlying, market.valuation_date, d.time)
                       for d in cash]
        self.beta = np.ascontiguousarray(
            self.factors.beta if self.pathwise or score_times.size == 1 else
            carry_factors(row_market.dynamics, score_times, float(times[-1]), names).beta)
        f = self.factors
        self.labels = (f.labels + cash_labels + [p[0] for p in f.parallel]
                       + [f"theta:{underlying}"])
        self.kinds = (f.kinds + ["dividend_cash"] * len(cash) + [p[1] for p in f.parallel]
                      + ["theta"])
        later = one_day_later(row_market.dynamics, float(times[0]),
                              times if self.asian else times[-1:], float(times[-1]))
        self.theta = later is not None
        if self.theta:
            ends = later_ends(group)
            first = group.times[market_grid.score_index[market_grid.score_start[j]]]
            self.chain = max(k for k, until in enumerate(ends) if until <= first)
            self.later_discount = float(later[0].discount(float(times[-1]) - DAY))
            self.later_payoff = payoffs.with_discount(group.payoff, j, self.later_discount)
        self.control = np.concatenate([f.control, np.full(len(cash), np.nan),
                                       [later[1] if self.theta else np.nan]])
        # the labels weighing the payoff by the carry's score (not pathwise, not theta's
        # differences: :func:`greeks.engine.buckets.carried_se`)
        self.counted = np.append(np.full(len(self.labels) - 1, not self.pathwise), False)
        if paying and not group.martingale:  # E[L] on the unfloored prices needs E[S̃] = S0
            self.control[:] = np.nan

    def sample(self, paths, group, j):
        """(F + 1) × paths: the derivatives of f (pathwise, or f times the score) and of L,
        then theta's f⁺ − f and L⁺ − L (module docstring); and f."""
        s, columns, residual, variance, s_later, linear_s, grid_columns = paths
        dates = np.ascontiguousarray(columns[self.part])
        scored = dates if self.scored is None else grid_columns[self.scored]
        n = s.shape[0]
        f = self.factors
        carried = len(f.labels)
        factors = carried + self.cash.size
        payoff, linear = np.empty(n), np.empty(n)
        g, h = np.empty((factors + 1, n)), np.empty((factors + 1, n))
        payoffs.evaluate(s, dates, group.payoff, j, payoff)
        estimators.linear_payoff(linear_s, dates, self.asian, self.discount, linear)
        if not self.valid:
            g[:factors], h[:factors] = np.nan, 0.0
        elif self.pathwise:  # the kernels fill the factors' rows
            carry.carry_pathwise(s, dates, self.asian, self.omega, self.strike, self.discount,
                                 self.beta, g)
            # the linear payoff's pathwise derivative: ω = 1, K = −∞
            carry.carry_pathwise(s, dates, self.asian, 1.0, -np.inf, self.discount,
                                 self.beta, h)
        else:
            carry.carry_scores(residual, variance, scored, self.beta, g)
            carry.cash_scores(s, residual, variance, scored, self.cash_at, self.cash,
                              g[carried:factors])
            h[:factors] = g[:factors] * linear[None, :]
            g[:factors] *= payoff[None, :]
        if self.valid:
            g[:carried] -= f.discount[:, None] * payoff[None, :]
            h[:carried] -= f.discount[:, None] * linear[None, :]
        if not self.theta or not s_later:
            g[factors], h[factors] = np.nan, 0.0
            return g, h, payoff
        moved, moved_residual, moved_variance, moved_linear = s_later[self.chain]
        if self.conditional:  # C⁺ − C given each chain's variance path
            cash = group.payoff.payout[j] if self.digital else 1.0
            col = dates[-1]
            today = np.empty(n)
            estimators.conditional_prices(s, residual, variance, col, group.spot, group.spot,
                                          self.digital, self.omega, self.strike,
                                          self.discount * cash, today)
            estimators.conditional_prices(moved, moved_residual, moved_variance, col,
                                          group.spot, group.spot, self.digital, self.omega,
                                          self.strike, self.later_discount * cash, g[factors])
        else:
            today = payoff
            payoffs.evaluate(moved, dates, self.later_payoff, j, g[factors])
        estimators.linear_payoff(moved_linear, dates, self.asian, self.later_discount,
                                 h[factors])
        g[factors] -= today
        h[factors] -= linear
        return g, h, payoff

    def parallel(self, r):
        """``r`` with the parallel shifts (sums of their buckets' rows) inserted before
        theta."""
        sums = [r[p[2]].sum(axis=0, keepdims=True) for p in self.factors.parallel]
        return np.concatenate([r[:-1], *sums, r[-1:]])


def bucket_paths(group, rng, count, theta=True):
    """A chunk's chain (S, the rows' columns, R, V) in antithetic pairs, the prices times
    the growth G(t) with the cash dividends' drops
    (:func:`greeks.models.heston.adapter.market_prices`), and with ``theta`` (S, R, V, the
    prices the control reads) of the chains a day later on the same random numbers, one per
    end of :func:`later_ends` (none when no row has a theta; without them the rows' theta
    is NaN); then the prices the control reads (the unfloored ones with cash dividends) and
    the stored column of each grid point."""
    start = copy.deepcopy(rng)  # the chains a day later read the same numbers
    chain = group_paths(group, rng, count)
    stored = stored_dates(group)
    later = shifted(group.market.dynamics)
    s_later = []
    for until in later_ends(group) if theta else []:
        times = closer_times(group.times, DAY, until)
        moved = group_paths(replace(group, times=times), copy.deepcopy(start), count)
        growth = np.asarray(later.growth(times), dtype=float)[stored]
        if group.market.cash.any():  # the ex-dates (after ``until``) a day closer too
            unfloored = np.empty_like(moved.s)
            with_dividends(moved.s, growth, group.market.cash[stored], group.spot, unfloored)
            s_later.append((moved.s, moved.residual, moved.variance, unfloored))
        else:
            prices = moved.s * growth
            s_later.append((prices, moved.residual, moved.variance, prices))
    s, linear = market_prices(group, chain)
    return s, chain.columns, chain.residual, chain.variance, s_later, linear, chain.grid_columns


def later_ends(group) -> list[float]:
    """The ``until`` of each chain a day later (:func:`greeks.models.heston.closer.closer_times`):
    the earliest first score date of the rows that have a theta (first date beyond a day,
    no node within a day: :func:`greeks.market.factors.shifted`), and, where some rows'
    first score dates lie ``FAR`` times further out, the earliest of theirs, so that a
    daily-monitored barrier does not confine the europeans beside it to a shortened first
    step.  A row takes the last end not after its first score date.  A row's first score
    date is its first date, or the first cash ex-date before it: every ex-date a row's
    prices pass is then a day closer on its chain, as its dates are."""
    market = group.market
    firsts = group.times[market.score_index[market.score_start[:-1]]]
    firsts = firsts[firsts > DAY]
    if shifted(group.market.dynamics) is None or firsts.size == 0:
        return []
    near = float(firsts.min())
    far = firsts[firsts >= FAR * near]
    return [near] + ([float(far.min())] if far.size else [])
