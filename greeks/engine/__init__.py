"""The pricing engine: simulation groups, time grids, chunks, threads and reduction.

Rows that share the model, its parameters, the spot, rate, dividend and
underlying form a *simulation group*: one set of paths on one time grid serves
all of them.  Under GBM (exact at any step) the grid is the union of the rows'
dates; a model whose chain is discretised adds the steps it needs (its adapter's
``grid_steps``: under Heston the steps of ``steps_per_year``, by default per group,
:func:`greeks.models.heston.adapter.steps_per_year`).  Paths are simulated in
*chunks*; chunk ``c`` of a group draws from its own stream,

    PCG64(SeedSequence(seed, spawn_key=(h_0, h_1, h_2, h_3, c))),

with h the BLAKE2b hash of the group's defining values.  A chunk's numbers
therefore depend on nothing but the seed, the group and the path count: not on
the thread that runs it, the order of the rows, or the other groups in the
file.  Chunks reduce to per-row (mean, M2) and merge in chunk order.

The portfolio total, and any subtotals over sets of rows, are estimated from per-path
sums Σ_rows weight · estimate within each group (rows of a group share paths and are
correlated); groups are independent, so their variances add.  The weights are the
quantities by default; a risk report passes desk units (quantity · S0 for delta, ...).

Modules: ``group`` (the simulation group), ``methods`` (estimator families per row),
``plan`` (grouping and grids), ``chunks`` (one chunk through the model's adapter),
``scheduler`` (threads, processes, Dask), ``reduce`` (moments, totals, the SE floor), ``run``
(pilot, main run, ``auto``'s decision).
"""

from __future__ import annotations

from greeks.engine.chunks import run_chunk
from greeks.engine.group import Group
from greeks.engine.methods import (
                                   Estimator,
                                   Family,
                                   is_knock_out,
                                   lr_delta_unusable,
                                   row_estimators,
                                   row_methods,
)
from greeks.engine.plan import plan_groups, row_dates
from greeks.engine.reduce import Estimates
from greeks.engine.run import AUTO_FAMILIES, MAX_PILOT, MIN_PILOT, pilot_paths, simulate
from greeks.engine.scheduler import default_threads

__all__ = ["AUTO_FAMILIES", "Estimates", "Estimator", "Family", "Group", "MAX_PILOT", "MIN_PILOT",
           "default_threads", "is_knock_out", "lr_delta_unusable", "pilot_paths", "plan_groups",
           "row_dates", "row_estimators", "row_methods", "run_chunk", "simulate"]
