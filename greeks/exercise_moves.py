"""The moved markets of the bucketed differences of american and bermudan rows off a market
(:mod:`greeks.models.gbm.exercise_buckets`, :mod:`greeks.models.heston.exercise_buckets`):
the group on moved dynamics, its grid and dates kept, and each cash dividend's amount moved
to D ± δ, D ± 2δ, δ the largest of D/2, D/4, D/8 at which a proxy's Richardson difference is
that of D/16 (:func:`cash_step`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from greeks import exercise, payoffs
from greeks.engine.dated import dated_grid

MOVES = (1.0, -1.0, 2.0, -2.0)  # the differences' points: θ ± step, θ ± 2 step
CASH_STEPS = (0.5, 0.25, 0.125)  # δ/D of a cash dividend's differences, largest first
CASH_REFERENCE = 1.0 / 16.0  # δ/D of the proxy's reference difference
CASH_TOLERANCE = 1e-3  # |difference at δ − at D/16| allowed, relative to the latter


def moved_difference(values, step: float):
    """Richardson's central difference of ``values`` at the :data:`MOVES` θ + δ, θ − δ,
    θ + 2δ, θ − 2δ, δ = ``step`` (:func:`greeks.payoffs.extrapolated_difference`)."""
    return payoffs.extrapolated_difference(values[0] - values[1], values[2] - values[3], step)


def moved_samples(group, j: int, prices, state, columns, discounts, step: float, field: str,
                  rules, holds):
    """(g, h, stopping indices: moves × paths) of row j's difference in a moved market
    (:func:`moved_difference`, δ = ``step``): g of the discounted payoff Y at the exercise
    date under the row's policy re-solved on each moved market, h of the European option's
    DF(T) (ω(S_T − K))⁺, on the same random numbers.  ``prices``: the prices on each moved
    market in :data:`MOVES` order (paths × columns, an iterable), ``state`` the policy's
    variance state on them (paths × columns, no columns without one), ``columns`` and
    ``discounts`` the row's (:func:`greeks.exercise.row_dates`); ``field``: the payoff
    record's field of the row's rule (``"policy"``: solved levels, ``"table"``: a tabulated
    rule), ``rules`` and ``holds`` (the continuation's lower bound,
    :func:`greeks.exercise.holds`) its value on each moved market."""
    spec = group.payoff
    n = columns.size
    # the chunk's own rule and lower bound: threads share spec
    own = {field: getattr(spec, field).copy(), "hold": spec.hold.copy()}
    moved = spec._replace(**own)
    y, ends = np.empty((len(MOVES), len(state))), np.empty((len(MOVES), len(state)))
    stops = np.empty((len(MOVES), len(state)), dtype=np.int64)
    for m, s in enumerate(prices):
        own[field][j, 0, :n] = rules[m]
        own["hold"][j, :, :n] = holds[m]
        payoffs.stopped_payoffs(s, state, columns, discounts, moved, j, 0, y[m], stops[m])
        ends[m] = exercise.european_payoffs(spec, j, s, columns, discounts)
    return moved_difference(y, step), moved_difference(ends, step), stops


def moved_group(group, dynamics):
    """The group on ``dynamics`` (its grid and dates kept): the market's grid
    (:func:`greeks.engine.dated.dated_grid`, a variance clock where the dynamics have a vol
    curve) and the continuation's lower bounds (:func:`greeks.exercise.holds`)."""
    indices = [group.dates_of(j) for j in range(group.n_rows)]
    market = dated_grid(dynamics, group.times, indices, group.maturity,
                        np.zeros(group.n_rows, dtype=bool), dynamics.vol is not None)
    moved = replace(group, market=market)
    return replace(moved, payoff=moved.payoff._replace(hold=exercise.holds(moved)))


def _proxy(group, j: int, dynamics):
    """Row j's value as a function of ``dynamics``: the GBM finite-difference American
    (a bermudan row: Bermudan on its dates) value off that market at the model's proxy vol
    curve (:meth:`greeks.models.base.Model.proxy_vol`: GBM's own; under Heston flat at the
    vol of the expected average variance to its expiry)."""
    from greeks.models import adapter
    from greeks.models.gbm.american_market import american_fd_market

    maturity = float(group.maturity[j])
    dynamics = replace(dynamics, vol=adapter(group.model).proxy_vol(group, j, dynamics))
    dates = (None if group.payoff.kind[j] == payoffs.AMERICAN
             else list(group.times[group.dates_of(j)]))
    return american_fd_market(dynamics, float(group.payoff.strike[j]), maturity,
                              bool(group.payoff.omega[j] > 0), dates, vega=False).price


def cash_step(group, index: int) -> float:
    """δ of cash dividend ``index``'s differences: the largest of ``CASH_STEPS`` · D at which
    Richardson's central difference, (4 E(δ) − E(2δ))/3 with E(δ) = (V(D + δ) − V(D −
    δ))/(2δ), of every row's proxy value (:func:`_proxy`) in the amount is within
    ``CASH_TOLERANCE`` of the same at D/16; the smallest where none is.  Exercise just before
    an ex-date makes V kinked in D on the scale of D itself: at δ = D/2 the difference was up
    to 29 % off (benchmarks/exercise_dividend_step.py), beyond the bucket's SE."""
    dynamics = group.market.dynamics
    dividend = dynamics.dividends[index]
    amount = dividend.value
    rows = [j for j in range(group.n_rows) if dividend.time <= group.maturity[j]]
    values = {}

    def value(j, move):
        if (j, move) not in values:
            dividends = list(dynamics.dividends)
            dividends[index] = replace(dividend, value=amount * (1.0 + move))
            values[j, move] = _proxy(group, j, replace(dynamics, dividends=tuple(dividends)))
        return values[j, move]

    def difference(j, fraction):
        def central(h):
            return (value(j, h) - value(j, -h)) / (2.0 * h * amount)
        return (4.0 * central(fraction) - central(2.0 * fraction)) / 3.0

    references = {j: difference(j, CASH_REFERENCE) for j in rows}
    for fraction in CASH_STEPS:
        if all(abs(difference(j, fraction) - references[j])
               <= CASH_TOLERANCE * abs(references[j]) for j in rows):
            return fraction * amount
    return CASH_STEPS[-1] * amount


def cash_moves(group) -> dict:
    """``("cash", i)``: (δ, the four moved groups in :data:`MOVES` order) of each cash
    dividend i of the group's market paid on or before its last expiry, its amount at
    D ± δ, D ± 2δ, δ from :func:`cash_step`."""
    dynamics = group.market.dynamics
    out = {}
    for i, d in enumerate(dynamics.dividends):
        if d.proportional or d.time > group.maturity.max():
            continue
        step = cash_step(group, i)

        def moved(m, i=i, d=d, step=step):
            dividends = list(dynamics.dividends)
            dividends[i] = replace(d, value=d.value + m * step)
            return moved_group(group, replace(dynamics, dividends=tuple(dividends)))

        out["cash", i] = (step, [moved(m) for m in MOVES])
    return out
