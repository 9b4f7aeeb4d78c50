"""The work of a run, planned before it starts, for an honest progress bar and ETA.

A run of :func:`greeks.engine.run.simulate` is several phases: under ``auto`` a decision run
per competing estimator family, then per family run the exercise policy's pilot (american
and bermudan rows), the control coefficients' pilot and the main chunks.  A bar that counts
only the main chunks reaches its end early and its time remaining is low (on the example
portfolio the other phases took half the run).  :class:`Work` holds the whole run's total, in
units proportional to compute time, fixed at planning; every phase advances it.

A unit is the time of one row-date of GBM likelihood ratio (a path's payoff, weights and
controls on one of a row's dates).  A chunk of n paths on a group of grid dates G and rows'
dates R (its ``date_index``) costs n·(G·STEP_COST + R·ROW_COST) units, the costs of its
model and estimator family (the control pilot's chunks cost as much as the main ones); an
exercise policy's fit on n pilot paths costs n·G·POLICY_COST.  The costs were fitted (least
squares, non-negative) to the seconds of every chunk of the example files (``instruments/``:
portfolio, asian, barrier, heston, american, digital) at 50,000 paths on one thread; a cost
not measured there is its model's likelihood ratio's.

Which other families ``auto`` takes a Greek from is known only after its decision run; till
then each competing family's main run counts with a share of its work (:data:`ALTERNATIVE_SHARE`,
per model and family: about the share of such runs that the decisions made on the example
files), and the total is corrected to the runs it makes as soon as they are known.
"""

from __future__ import annotations

from typing import Callable

# (model, family) → units per path and grid date, and per path and row date
STEP_COST = {
    ("gbm", "lr"): 0.0, ("gbm", "pathwise"): 0.0, ("gbm", "fd"): 0.35,
    ("gbm", "survival"): 6.3, ("gbm", "exercise"): 2.0,
    ("heston", "lr"): 3.2, ("heston", "fd"): 10.8, ("heston", "exercise"): 10.0,
}
ROW_COST = {
    ("gbm", "lr"): 1.0, ("gbm", "pathwise"): 1.3, ("gbm", "fd"): 4.2,
    ("gbm", "survival"): 0.0, ("gbm", "exercise"): 0.0,
    ("heston", "lr"): 2.7, ("heston", "fd"): 11.8, ("heston", "exercise"): 0.0,
}
POLICY_COST = {"gbm": 10.0, "heston": 10.7}  # per pilot path and grid date
# (model, family) → the share of a competing family's main run that auto is expected to make
ALTERNATIVE_SHARE = {("gbm", "pathwise"): 0.2, ("gbm", "fd"): 0.12, ("heston", "fd"): 0.5}


def chunk_cost(group, n_paths: int) -> float:
    """Units of one chunk of ``n_paths`` paths of ``group`` (module docstring)."""
    key = (group.model, group.method.value)
    lr = (group.model, "lr")
    step = STEP_COST.get(key, STEP_COST.get(lr, 1.0))
    row = ROW_COST.get(key, ROW_COST.get(lr, 1.0))
    return n_paths * (group.times.size * step + group.date_index.size * row)


def policy_cost(group, n_paths: int) -> float:
    """Units of fitting an exercise group's policy on ``n_paths`` pilot paths."""
    return n_paths * group.times.size * POLICY_COST.get(group.model, 10.0)


def expected_share(group) -> float:
    """The share of a competing family's main run on ``group`` expected before the decision
    (:data:`ALTERNATIVE_SHARE`; 0.25 where not listed)."""
    return ALTERNATIVE_SHARE.get((group.model, group.method.value), 0.25)


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
