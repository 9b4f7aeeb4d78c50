"""Path counts that reach a target standard error (``target_se``).

A sizing run of ``pilot`` paths per simulation group, on streams of its own (chunk
numbers from ``streams.SIZING``), estimates each row's standard errors; since they fall
like 1/sqrt(N), a group needs N = pilot · max (SE/target)² over its rows and requested
Greeks (the target absolute, or relative to |estimate| with a ``%`` suffix), times a
margin of ``MARGIN`` for the sizing run's own noise, rounded up to a multiple of 1,024 and
capped at ``max_paths``.  The main run then uses those counts
on the ordinary streams: the same numbers as ``paths=N`` for each group, reproducible
for a given seed and target, and not biased by the sizing (its paths are not reused).
The main run plans each group for its own count
(:func:`greeks.engine.plan.plan_groups`): an automatic Heston grid is refined for it, so
that the discretisation bias stays small against the target SE; the sizing run plans for
its ``pilot`` paths (the standard errors it measures barely depend on the grid).
"""

from __future__ import annotations

import math

import numpy as np

from greeks import streams
from greeks.names import DEFAULT_MAX_PATHS, DEFAULT_PILOT

ROUND = 1 << 10
MARGIN = 1.25


def paths_for_target(frame, target: tuple[float, bool], simulate, groups,
                     pilot: int = DEFAULT_PILOT, max_paths: int = DEFAULT_MAX_PATHS):
    """Per-group path counts for ``target`` and the ids of rows whose target the cap stops.

    ``target`` is (value, relative), :func:`greeks.names.parse_target_se`;
    ``simulate(paths, first_chunk)`` runs the engine on ``frame``; ``groups`` are its
    planned groups (keys and row positions).
    """
    value, relative = target
    estimates = simulate(pilot, streams.SIZING)
    wanted = value * np.abs(estimates.mean) if relative else np.full(estimates.se.shape, value)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = MARGIN * pilot * (estimates.se / wanted) ** 2
    need = np.where(np.isfinite(estimates.se) & (estimates.se > 0), need, 0.0)  # none/exact
    need = np.where(np.isnan(need), np.inf, need)  # relative target of a zero estimate
    counts, unmet = {}, []
    for group in groups:
        largest = float(need[group.positions].max())
        count = max(ROUND, math.ceil(min(largest, max_paths) / ROUND) * ROUND)
        counts[group.key] = min(count, max_paths)
        if largest > max_paths:
            unmet += [str(frame["id"].iat[p]) for p in group.positions
                      if need[p].max() > max_paths]
    return counts, unmet
