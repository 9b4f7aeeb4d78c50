"""Path counts that reach a target standard error (``--target-se``).

A sizing run of ``pilot`` paths per simulation group, on streams of its own (chunk
numbers from ``SIZING_CHUNKS``), estimates each row's standard errors; since they fall
like 1/sqrt(N), a group needs N = pilot · max (SE/target)² over its rows and requested
Greeks (the target absolute, or relative to |estimate| with a ``%`` suffix), times a
margin of ``MARGIN`` for the sizing run's own noise, rounded up to a multiple of 1,024 and
capped at ``max_paths``.  The main run then uses those counts
on the ordinary streams: the same numbers as ``--paths N`` for each group, reproducible
for a given seed and target, and not biased by the sizing (its paths are not reused).
"""

from __future__ import annotations

import math

import numpy as np

from greeks.instruments import InputError

DEFAULT_PILOT = 20_000
DEFAULT_MAX_PATHS = 100_000_000
SIZING_CHUNKS = 1 << 40
ROUND = 1 << 10
MARGIN = 1.25


def parse_target(target) -> tuple[float, bool]:
    """(value, relative) from ``0.01`` or ``"0.5%"``; the value must be > 0."""
    text = str(target).strip()
    relative = text.endswith("%")
    try:
        value = float(text[:-1] if relative else text)
    except ValueError:
        raise InputError("--target-se", f"expected a number or a percentage, got {text!r}") \
            from None
    if not value > 0 or not math.isfinite(value):
        raise InputError("--target-se", f"must be > 0, got {text!r}")
    return (value / 100.0 if relative else value), relative


def paths_for_target(frame, target, simulate, groups, pilot: int = DEFAULT_PILOT,
                     max_paths: int = DEFAULT_MAX_PATHS):
    """Per-group path counts for ``target`` and the ids of rows whose target the cap stops.

    ``simulate(paths, first_chunk)`` runs the engine on ``frame``; ``groups`` are its
    planned groups (keys and row positions).
    """
    value, relative = parse_target(target)
    estimates = simulate(pilot, SIZING_CHUNKS)
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
