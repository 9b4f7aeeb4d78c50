"""The work of a run, planned before it starts, for an honest progress bar and ETA.

A run of :func:`greeks.engine.run.simulate` is several phases: under ``auto`` a decision run
per competing estimator family, then per family run the exercise policy's pilot (american
and bermudan rows), the control coefficients' pilot and the main chunks.  A bar that counts
only the main chunks reaches its end early and its time remaining is low (the other phases
are a third to a half of a default run).  :class:`Work` holds the whole run's total, in
units proportional to compute time, fixed at planning; every phase advances it.

A unit is one path-date of GBM likelihood ratio (a path simulated through one date of its
grid, weighted and priced); a chunk of n paths on a group of d dates costs n·d units times
its model's cost per path-date of that family (:data:`STEP_COST`, measured per chunk on
the example files with one thread; ``benchmarks/latency.py``), the control pilot's chunks
:data:`PILOT_COST` times more (they also gather the regression sums), and an exercise
policy's fit :data:`POLICY_COST` per pilot path-date.

Which other families ``auto`` takes a Greek from is known only after its decision run; till
then each competing family's main run counts with the share :data:`ALTERNATIVE_SHARE` of
its work, and the total is corrected to the runs it makes as soon as they are known.
"""

from __future__ import annotations

from typing import Callable

# GBM likelihood ratio = 1; measured seconds per path-date relative to it
STEP_COST = {
    ("gbm", "lr"): 1.0, ("gbm", "pathwise"): 1.0, ("gbm", "fd"): 1.0,
    ("gbm", "survival"): 1.0, ("gbm", "rqmc"): 1.0, ("gbm", "exercise"): 1.0,
    ("heston", "lr"): 1.0, ("heston", "pathwise"): 1.0, ("heston", "fd"): 1.0,
    ("heston", "rqmc"): 1.0, ("heston", "exercise"): 1.0,
}
PILOT_COST = 1.0
POLICY_COST = 1.0
ALTERNATIVE_SHARE = 0.5


def chunk_cost(group, n_paths: int, pilot: bool = False) -> float:
    """Units of one chunk of ``n_paths`` paths of ``group`` (module docstring)."""
    step = STEP_COST.get((group.model, group.method.value), 1.0)
    return n_paths * group.times.size * step * (PILOT_COST if pilot else 1.0)


def policy_cost(group, n_paths: int) -> float:
    """Units of fitting an exercise group's policy on ``n_paths`` pilot paths."""
    return n_paths * group.times.size * POLICY_COST


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
