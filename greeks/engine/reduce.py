"""Reduction: chunk moments merged per group, totals and subtotals, the SE floor."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from greeks import payoff_table, payoffs, sensitivities
from greeks.engine.group import Group
from greeks.engine.methods import Family
from greeks.estimators import PATTERNS
from greeks.models import adapter as model_of
from greeks.names import ROUNDING
from greeks.stats import Moments


@dataclass
class Estimates:
    """Means and standard errors, rows in frame order, quantities price/delta/vega."""

    mean: np.ndarray  # (rows, 3)
    se: np.ndarray
    total_mean: np.ndarray  # (3,)
    total_se: np.ndarray
    subtotal_mean: np.ndarray  # (subtotals, 3)
    subtotal_se: np.ndarray
    choice: np.ndarray | None = None  # (rows, 3): the estimator of each price/delta/vega
    paths: np.ndarray | None = None  # (rows, 3): the path count each of them used
    single: np.ndarray | None = None  # (rows,): american, bermudan rows on single paths
    complete: np.ndarray | None = None  # per Greek: whether every group estimated it (the
    exercise: np.ndarray | None = None  # (rows, 2): early-exercise probability, exercise
    exercise_se: np.ndarray | None = None  # time (NaN for other rows); None: no such rows
    # auto per Greek: (candidates, rows, 3) the decision run's variance × relative cost of
    # each candidate family (inf where not run), and (candidates, rows) their labels
    decision: np.ndarray | None = None
    candidates: np.ndarray | None = None


DEGENERATE = 1e-9  # a standard error below this fraction of its scale saw no event
FEW = 16  # units carrying a row's variation below which its SE is raised (:func:`carried`)
TINY = 4  # ... and below which it is at least the unseen-event bound


def _unseen_floor(group: Group, units: int, se: np.ndarray,
                  exercised: np.ndarray | None = None) -> np.ndarray:
    """The standard errors of a degenerate sample raised to what its unseen events could
    carry, (rows, Greeks).

    A sample in which no path shows an event (no path ends beyond a deep strike, every path
    pays a deep digital) reports a standard error at rounding level, however large the
    event's effect.  Such an event has probability p ≲ 1/N and sits beyond the largest
    normal draw seen, z* = sqrt(2 log N); it moves each estimator by about p times the
    estimator's value there.  Where the reported SE is below ``DEGENERATE`` of the Greek's
    scale, the SE becomes that bound, R_k/N (:func:`unseen_bounds`), with σ the volatility
    (σ0, or sqrt(θ) from v0 = 0, under Heston), R = E[L]·σ·sqrt(T) (how far a payoff kinked
    at the strike moves over a step of one standard deviation; cash digitals
    e^{−rT}·payout, asset digitals e^{−rT}·K: the ``floor`` of :mod:`greeks.payoff_table`;
    barriers at least e^{−rT}·ω(B − K)⁺, :func:`barrier_reach`)
    and t_1 the row's first date (its maturity in an early-exercise group, whose estimators
    are differences of whole paths' values under the policy, with no weight on the first
    interval: a degenerate such row, exercised at once or never, e.g. a call on a stock
    paying nothing, is the closed form's value or ω (S0 − K) on every path).  A sample
    that does see its events keeps its own SE, and the σ0-vega from v0 = 0 (exactly 0)
    keeps its 0.

    So does an early-exercise row, unless fewer than ``TINY`` of its paths were exercised
    early (``exercised``, per row; None for other groups): then every Greek's SE is at
    least its bound, as :func:`carried` has it for few carrying units.  Such a row's
    estimates move only with those few paths and with the few spot- or vol-moved paths
    that cross the boundary, and the SEs they leave are not to be trusted (a two-month
    bermudan put at S0/K = 0.79 with q > r, none to three paths of 20,000 exercised early:
    delta SEs of 10⁻⁸ to 10⁻⁵ against the 3·10⁻⁵ by which the estimates stood off).

    The price, delta and vega of rows valued by conditional Monte Carlo
    (:meth:`greeks.models.base.Model.conditional_rows`) keep an SE above rounding level
    (:func:`raised`'s ``smooth``)."""
    n = max(units, 2)
    bound = unseen_group_bounds(group, n)
    smooth = np.zeros(se.shape, dtype=bool)
    smooth[:, :3] = model_of(group.model).conditional_rows(group)[:, None]
    out = raised(se, bound, n, smooth)
    if exercised is not None:
        few = exercised < TINY
        out[few] = np.maximum(out[few], bound[few])
    return out


def unseen_group_bounds(group: Group, n: int, codes=None) -> np.ndarray:
    """(rows, Greeks): the unseen-event bound of each row of a group of ``n`` units
    (:func:`_unseen_floor`); ``codes`` (:func:`unseen_bounds`) default its price, delta,
    vega and further Greeks."""
    s0, t = group.spot, group.maturity
    first = (t if group.method is Family.EXERCISE
             else group.times[group.date_index[group.date_start[:-1]]])
    sigma, exact_vega = model_of(group.model).floor_sigma(group.params)
    spec = group.payoff
    scale = floor_scale(spec.kind, group.forward * sigma * np.sqrt(t),
                        spec.discount * spec.payout, spec.discount * spec.strike,
                        spec.discount * barrier_reach(spec.kind, spec.omega, spec.strike,
                                                      spec.barrier))
    if codes is None:
        codes = ("price", "delta", "exact" if exact_vega else "vega", *group.extra)
    return unseen_bounds(codes, scale, s0, t, first, sigma, n)


def floor_scale(kinds, kink, payout, strike, reach=0.0) -> np.ndarray:
    """R of each row of payoff codes ``kinds`` (:mod:`greeks.payoff_table`'s ``floor``):
    ``kink`` (E[L]·σ·sqrt(T)), ``payout`` or ``strike`` (each discounted); for a kinked
    payoff at least ``reach`` (a barrier's, :func:`barrier_reach`, discounted)."""
    floor = payoff_table.attribute_of(kinds, "floor")
    return np.select([floor == "kink", floor == "payout", floor == "strike"],
                     [np.maximum(kink, reach), payout, strike])


def barrier_reach(kinds, omega, strike, barrier) -> np.ndarray:
    """ω(B − K)⁺ for barrier rows, else 0: what a path at the barrier pays, which an unseen
    knock-in adds and an unseen knock-out takes away (an up-and-in call struck at 100 with
    its barrier at 200 pays about 100 where it knocks in, far beyond the strike's kink scale
    E[L]·σ·sqrt(T))."""
    kinds, omega = np.asarray(kinds), np.asarray(omega, dtype=float)
    return np.where(kinds == payoffs.BARRIER,
                    np.maximum(omega * (np.asarray(barrier, dtype=float) - strike), 0.0), 0.0)


def unseen_bounds(codes, scale, s0, t, first, sigma, n: int) -> np.ndarray:
    """(rows, len(codes)): the unseen-event bound R_k/N of each row (arrays or scalars,
    broadcast) for each Greek: ``"price"``, ``"delta"``, ``"vega"``, ``"exact"`` (a Greek
    exactly 0, e.g. Heston's vega and vanna from v0 = 0: bound 0) or a further Greek's
    code (:mod:`greeks.sensitivities`);
    z* = sqrt(2 log N): price R, delta R z*/(S0 σ sqrt(t_1)), vega R z*²/σ, gamma
    R z*²/(S0² σ² t_1), rho R (T + z* sqrt(T)/σ), theta R z*²/t_1 (per year), vanna
    R z*³/(S0 σ² sqrt(t_1)), volga R z*⁴/σ²."""
    z = math.sqrt(2.0 * math.log(n))
    factor = {"price": 1.0, "delta": z / (s0 * sigma * np.sqrt(first)),
              "vega": z * z / sigma, "exact": 0.0,
              sensitivities.GAMMA: z * z / (s0 * s0 * sigma * sigma * first),
              sensitivities.RHO: t + z * np.sqrt(t) / sigma,
              sensitivities.THETA: z * z / first,
              sensitivities.VANNA: z ** 3 / (s0 * sigma * sigma * np.sqrt(first)),
              sensitivities.VOLGA: z ** 4 / (sigma * sigma)}
    shape = np.broadcast(scale, s0, t, first, sigma).shape
    return np.stack([np.broadcast_to(scale * factor[code] / n, shape) for code in codes],
                    axis=-1)


def raised(se: np.ndarray, bound: np.ndarray, n: int, smooth=False) -> np.ndarray:
    """``se`` raised to ``bound`` where it is below ``DEGENERATE`` of the Greek's scale
    (``bound`` × N): the sample saw no event.  Where ``smooth`` (estimates of conditional
    Monte Carlo) only an SE at rounding level, below ``ROUNDING`` of the scale: each path's
    value is the payoff's expectation given its variance path, with no event left to miss,
    and a small SE is its values' true spread (a 0.2-year digital put deep in the money,
    its vega by differences of the conditional value: SE 1.3·10⁻³ raised, where 24 seeds
    spread by 6.5·10⁻⁸)."""
    scale = bound * n
    low = (se < DEGENERATE * scale) & (~np.asarray(smooth) | (se <= ROUNDING * scale))
    return np.where(low, np.maximum(se, bound), se)


def carried(group: Group, units: int, se: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """The standard errors (rows, Greeks) of the rows of a likelihood-ratio, pathwise or
    finite-difference group whose variation few units carry, raised.

    Where a payoff is affine in the linear payoff L (0, or paying, at maturity), the
    controls remove the variation of every unit whose members all pay or none does; the
    other units carry the rest (:mod:`greeks.estimators`).  Of ``patterns`` (rows: the
    counts of units by paying members, and a flag: counted) m = units − the larger of the
    counts of units paid on no member and on every member; a cash digital's price also
    has a constant pair with one paying member (payout/2), so its m is units − the largest
    count of the three.  Their number is a Poisson draw of unknown mean λ, and the sample
    variance scales with it: with m ≪ λ (a sample that missed the units that carry the
    variation) the estimate is off by about (λ − m)·a/N while the SE reads sqrt(m)·a/N, so
    that few counts give SEs too small by far (z of 10–1,000 at 1,000 paths).  Where
    m < ``FEW`` the SE is raised as if one more carrying unit had been seen (the posterior
    mean m + 1 of λ under a flat prior): likelihood ratio, whose controls leave those units
    the whole residual, scales it by sqrt((m + 1)/m); pathwise and finite differences,
    whose common units keep their smooth variation, add the carrying units' mean squared
    deviation from the common units' mean over N².  Where m < ``TINY`` the magnitudes seen
    are too few to trust (one path just beyond a deep strike pays next to nothing: z of
    800 at 20,000 paths), and the SE is at least the unseen-event bound
    (:func:`_unseen_floor`), whatever the SE that the noise of the control coefficients
    leaves (m = 0: the sample saw none).  The price, delta and vega of conditional Monte
    Carlo (smooth values) keep their SE, its further Greeks do not (they weigh the payoff
    itself: a Heston digital call 2.3 SD out of the money, a few paths of 20,000 paying, had
    gamma z up to 257); rows not counted and rows with m ≥ ``FEW`` keep their SE;
    survival-conditioned, early-exercise and quasi-Monte Carlo groups do not come here."""
    counted = patterns[:, PATTERNS] > 0
    m = carrying(patterns[:, :PATTERNS], units, 2 if group.antithetic else 1)
    m = np.repeat(m[:, None], se.shape[1], axis=1)
    if group.method is Family.LR:  # a cash digital's pair with one paying member: payout/2
        cash = group.payoff.kind == payoffs.DIGITAL
        m[:, 0] = np.where(cash, units - patterns[:, :PATTERNS].max(axis=1), m[:, 0])
    few = counted[:, None] & (m < FEW)
    few[:, :3] &= ~model_of(group.model).conditional_rows(group)[:, None]
    if not few.any():
        return se
    bound = unseen_group_bounds(group, max(units, 2))
    if group.method is Family.LR:
        more = one_more(se, m)
    else:  # one more carrying unit's squared deviation (the mean of theirs) over N²
        deviation = patterns[:, PATTERNS + 1:PATTERNS + 4] / np.maximum(m[:, :3], 1.0)
        more = np.sqrt(se[:, :3] ** 2 + deviation / (units * units))  # m = 0: deviation 0
        more = np.concatenate([more, se[:, 3:]], axis=1)
    return np.where(few, np.where(m < TINY, np.maximum(more, bound), more), se)


def paying_members(payoff: np.ndarray, units: int, antithetic: bool) -> np.ndarray:
    """Per unit the number of its members whose ``payoff`` is not 0: a path 0 or 1, an
    antithetic pair (p, p + ``units``) 0, 1 or 2 (the counts :func:`carried` reads)."""
    paying = (payoff[:units] != 0.0).astype(np.int64)
    if antithetic:
        paying += payoff[units:2 * units] != 0.0
    return paying


def carrying(counts: np.ndarray, units, every: int) -> np.ndarray:
    """m, the number of ``units`` that carry a row's variation: units − the larger of the
    counts of units with no paying member and with all ``every`` (``counts[..., i]``: the
    units with i paying members; :func:`carried`)."""
    return units - np.maximum(counts[..., 0], counts[..., every])


def one_more(se: np.ndarray, m: np.ndarray) -> np.ndarray:
    """A likelihood-ratio SE read from ``m`` carrying units raised as if one more had been
    seen, SE·sqrt((m + 1)/m) (:func:`carried`); m = 0 keeps it."""
    more = se * np.sqrt((m + 1.0) / np.maximum(m, 1.0))
    return np.where(m == 0, se, more)


def _reduce(frame, groups, tasks, results, n_subtotals: int, codes: np.ndarray,
            patterns: list | None = None) -> Estimates:
    """Merge the chunks of each group; price, delta, vega, then the further Greeks ``codes``
    in that order (NaN for a group without them); the exercise statistics apart;
    ``patterns`` (per group, rows × (``PATTERNS`` + 1)) the main run's counts of units by
    paying members (:func:`carried`)."""
    accumulators = [Moments((group.n_rows + group.n_totals,
                             3 + group.extra.size + group.n_statistics)) for group in groups]
    for (g, _, n), chunk in zip(tasks, results):
        accumulators[g].merge(groups[g].units(n), chunk[..., 0], chunk[..., 1])
    width = 3 + codes.size
    mean = np.full((len(frame), width), np.nan)
    se = np.full((len(frame), width), np.nan)
    sums = np.zeros((1 + n_subtotals, width))  # the total, then the subtotals
    variances = np.zeros((1 + n_subtotals, width))
    missing = np.zeros(width, dtype=bool)
    statistics = np.full((len(frame), 2, 2), np.nan)  # (rows, mean/se, statistic)
    for g, (group, acc) in enumerate(zip(groups, accumulators)):
        rows = group.n_rows
        exercised = None  # an exercise group's paths exercised early, per row
        if group.n_statistics:
            greeks = 3 + group.extra.size
            statistics[group.positions, 0] = acc.mean[:rows, greeks:]
            statistics[group.positions, 1] = acc.standard_error[:rows, greeks:]
            exercised = acc.mean[:rows, greeks] * acc.count * (2 if group.antithetic else 1)
            acc.mean, acc.m2 = acc.mean[:, :greeks], acc.m2[:, :greeks]
        columns = [0, 1, 2] + [3 + list(codes).index(code) for code in group.extra]
        missing[3:] |= ~np.isin(codes, group.extra)
        group_se = acc.standard_error
        raised = _unseen_floor(group, acc.count, group_se[:rows], exercised)
        if patterns is not None and group.method in (Family.LR, Family.PATHWISE, Family.FD):
            raised = carried(group, acc.count, raised, patterns[g])
        added = np.maximum(raised ** 2 - group_se[:rows] ** 2, 0.0)  # what the rows gained
        weight = np.concatenate([group.weight, np.repeat(group.extra_weight[:, None],
                                                         group.extra.size, axis=1)], axis=1)
        group_se[:rows] = raised
        added = weight ** 2 * added  # into the group total and each row's subtotal
        slot_added = np.zeros((group.n_totals, added.shape[1]))
        slot_added[0] = added.sum(axis=0)
        inside = group.total_of > 0
        np.add.at(slot_added, group.total_of[inside], added[inside])
        group_se[rows:] = np.sqrt(group_se[rows:] ** 2 + slot_added)
        mean[np.ix_(group.positions, columns)] = acc.mean[:rows]
        se[np.ix_(group.positions, columns)] = group_se[:rows]
        ids = np.concatenate(([0], 1 + group.subtotals))
        sums[np.ix_(ids, columns)] += acc.mean[rows:]
        variances[np.ix_(ids, columns)] += group_se[rows:] ** 2
    deviations = np.sqrt(variances)
    exercised = any(group.n_statistics for group in groups)
    return Estimates(mean, se, sums[0], deviations[0], sums[1:], deviations[1:],
                     complete=~missing, exercise=statistics[:, 0] if exercised else None,
                     exercise_se=statistics[:, 1] if exercised else None)
