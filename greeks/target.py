"""Path counts that reach a target standard error (``target_se``).

A sizing run of ``pilot`` paths per simulation group, on streams of its own (chunk
numbers from ``streams.SIZING``), estimates each row's standard errors; since they fall
like 1/sqrt(N), a row needs N = pilot · max (SE/target)² over its requested Greeks (the
target absolute, or relative to |estimate| with a ``%`` suffix), times a margin of
``MARGIN`` for the sizing run's own noise, rounded up to a multiple of 1,024 and capped at
``max_paths``.  The counts are per row: every simulation a row's values come from (its
default estimator's, and under ``auto`` those of the families chosen for some of its
Greeks) runs the largest count of its rows (:func:`greeks.engine.plan.paths_of`).  The main
run then uses those counts on the ordinary streams: the same numbers as ``paths=N`` for
each group, reproducible for a given seed and target, and not biased by the sizing (its
paths are not reused).  Its own standard errors are checked against the target again
(:func:`missed`): the cap, or a main run that takes a Greek from a noisier estimator than
the sizing run did, can leave a target unmet, and the run says so: the rows the cap stops
as soon as the sizing run has predicted it (a :class:`TargetWarning`), every row that missed
its target after the main run (``attrs["unmet"]``).
Each group is planned for its own count (:func:`greeks.engine.plan.plan_groups`): an
automatic Heston grid is refined for it, so that the discretisation bias stays small against
the target SE; the sizing run plans for its ``pilot`` paths (the standard errors it measures
barely depend on the grid).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from greeks import streams
from greeks.names import DEFAULT_MAX_PATHS, DEFAULT_PILOT

ROUND = 1 << 10
MARGIN = 1.25
NAMED = 10  # rows a note names before "and k more"


def paths_for_target(frame, target: tuple[float, bool], simulate,
                     pilot: int = DEFAULT_PILOT, max_paths: int = DEFAULT_MAX_PATHS):
    """Per-row path counts for ``target`` (a mapping from row id to count) and the ids of
    the rows whose target the cap stops.

    ``target`` is (value, relative), :func:`greeks.names.parse_target_se`;
    ``simulate(paths, first_chunk)`` runs the engine on ``frame``.
    """
    value, relative = target
    estimates = simulate(pilot, streams.SIZING)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = MARGIN * pilot * (estimates.se / _wanted(estimates.mean, target)) ** 2
    need = np.where(np.isfinite(estimates.se) & (estimates.se > 0), need, 0.0)  # none/exact
    need = np.where(np.isnan(need), np.inf, need).max(axis=1)  # relative target of a zero
    counts = {str(identifier): min(max(ROUND, math.ceil(min(n, max_paths) / ROUND) * ROUND),
                                   max_paths)
              for identifier, n in zip(frame["id"], need)}
    capped = {str(i): float(n) for i, n in zip(frame["id"], need) if n > max_paths}
    if capped:
        named = [f"{i} (about {n:.1e} paths)" if math.isfinite(n)
                 else f"{i} (a relative target of a value of 0)"
                 for i, n in list(capped.items())[:NAMED]]
        more = f", and {len(capped) - NAMED:,} more" if len(capped) > NAMED else ""
        warnings.warn(TargetWarning(
            (f"the target SE {100 * value:g}%" if relative else f"the target SE {value:g}")
            + f" is out of reach within the cap of {max_paths:,} paths for "
            + ", ".join(named) + more + "; those run at the cap"), stacklevel=2)
    return counts, list(capped)


class TargetWarning(UserWarning):
    """Rows whose target standard error the sizing run predicts out of reach within the
    cap, said before the main run starts."""


def _wanted(mean: np.ndarray, target: tuple[float, bool]) -> np.ndarray:
    value, relative = target
    return value * np.abs(mean) if relative else np.full(mean.shape, value)


def missed(frame, mean: np.ndarray, se: np.ndarray, target: tuple[float, bool]) -> list[str]:
    """Ids of the rows with a standard error (rows × Greeks ``se`` of the estimates
    ``mean``) above the target."""
    with np.errstate(invalid="ignore"):
        over = (se > _wanted(mean, target)) & np.isfinite(se)
    return [str(i) for i, row in zip(frame["id"], over) if row.any()]
