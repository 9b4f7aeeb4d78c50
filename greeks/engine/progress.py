"""The work of a run, planned before it starts, for an honest progress bar and ETA.

A run of :func:`greeks.engine.run.simulate` is several phases: under ``auto`` a decision run
per competing estimator family, then per family run the exercise policy's pilot (american
and bermudan rows), the control coefficients' pilot and the main chunks.  A bar that counts
only the main chunks reaches its end early and its time remaining is low (on the example
portfolio the other phases took half the run).  :class:`Work` holds the whole run's total, in
units proportional to compute time, fixed at planning; every phase advances it.

A unit is the time of one row-date of GBM likelihood ratio (a path's payoff, weights and
controls on one of a row's dates).  A chunk of n paths on a group of grid dates G and rows'
dates R (its ``date_index``) costs n·(G·step + R·row) units, the costs of its model and
estimator family (its adapter's ``step_cost`` and ``row_cost``; the control pilot's chunks
cost as much as the main ones); an exercise policy's fit on n pilot paths costs
n·G·``fit_cost``.  The costs were fitted (least
squares, non-negative) to the seconds of every chunk of the example files (``instruments/``:
portfolio, asian, barrier, heston, american, digital) at 50,000 paths on one thread, the
finite differences' since scaled to the kernels' later speed (units per CPU second of each
family on the portfolio at 200,000 paths, one thread: 0.34–0.44·10⁹ for the others, 0.15 for
GBM's and 0.24 for Heston's finite differences before); a cost not measured there is its
model's likelihood ratio's.  A finite-difference group that bumps only the spot, or neither
spot nor volatility (``Group.needed``: the Greeks ``auto`` takes from it), costs its share
without those bumps (the adapter's ``bump_share``).

Which other families ``auto`` takes a Greek from is known only after its decision run; till
then each competing family's main run counts with a share of its work (the adapter's
``alternative_share`` per family: about the share of such runs that the decisions made on
the example files; under GBM finite differences take a knock-out's price about one time in
three and nothing else's), and the total is corrected to the runs it makes as soon as they
are known.
"""

from __future__ import annotations

from typing import Callable

from greeks import payoffs
from greeks.models import adapter as model_of


def chunk_cost(group, n_paths: int) -> float:
    """Units of one chunk of ``n_paths`` paths of ``group`` (module docstring)."""
    model, family = model_of(group.model), group.method.value
    step = model.step_cost.get(family, model.step_cost.get("lr", 1.0))
    row = model.row_cost.get(family, model.row_cost.get("lr", 1.0))
    units = n_paths * (group.times.size * step + group.date_index.size * row)
    if group.needed is None:
        return units
    spot, vol = model.bump_share
    return units * (1.0 - spot * (not group.needed[:, 1].any())
                    - vol * (not group.needed[:, 2].any()))


def policy_cost(group, n_paths: int) -> float:
    """Units of fitting an exercise group's policy on ``n_paths`` pilot paths."""
    return n_paths * group.times.size * model_of(group.model).fit_cost


def expected_share(group) -> float:
    """The share of a competing family's main run on ``group`` expected before the decision
    (the adapter's ``alternative_share``; 0.25 where not listed; a pair: the share of a group
    without a knock-out row and of one with, whose decisions differ most)."""
    share = model_of(group.model).alternative_share.get(group.method.value, 0.25)
    if not isinstance(share, tuple):
        return share
    spec = group.payoff
    knock_out = (spec.kind == payoffs.BARRIER) & (
        (spec.barrier_kind == payoffs.UP_AND_OUT) | (spec.barrier_kind == payoffs.DOWN_AND_OUT))
    return share[int(knock_out.any())]


class Work:
    """A run's planned total and the work done, reported as ``report(done, total)``.

    ``plan`` adds to the total before a phase starts, ``replan`` replaces an estimate by
    the work a phase will really do, ``advance`` counts work done.  The total reported is
    never below the work done."""

    def __init__(self, report: Callable[[float, float], None] | None = None):
        self.report = report
        self.total = 0.0
        self.done = 0.0

    def plan(self, units: float) -> None:
        self.total += units

    def replan(self, estimate: float, units: float) -> None:
        self.total += units - estimate

    def advance(self, units: float) -> None:
        self.done += units
        if self.report is not None:
            self.report(self.done, max(self.total, self.done))
