"""The Heston grid seen from a later valuation date, for theta on common random numbers.

Moving the valuation date h later, with the dates fixed, brings every date h closer.  The
chain keeps its number of steps, so that each step reads the same random numbers as
before, and the h is taken out of the steps before the first date that must stay exact:
flat rows take it out of the first step alone (h a fraction of it,
:mod:`greeks.models.heston.sensitivities`); rows off a market (h one calendar day,
:mod:`greeks.models.heston.buckets`) spread it over every step before their first date.
"""

from __future__ import annotations

import numpy as np


def closer_times(times: np.ndarray, shift: float, until: float = 0.0) -> np.ndarray | None:
    """The grid ``times`` (increasing, > 0) with every point from t_a on ``shift`` closer,
    t_a the first point beyond ``shift`` and not before ``until``, and the points before
    it squeezed linearly onto (0, t_a − shift], t_k ↦ t_k (t_a − shift)/t_a.  When t_a is
    the first point (``until`` 0 and the first step longer than ``shift``) this is
    t_k − shift throughout: the first step shortened (a negative shift lengthens it).

    The chain's law at t_a and later is the model's whatever the steps before t_a (up to
    their discretisation), so any ``until`` up to a row's first date gives that row's
    value ``shift`` later; spreading the shift over many steps changes each step's
    increment by a factor (1 − shift/t_a)^½ rather than one step's by a large one, so the
    paths of the two grids stay close and their difference has a small variance (a
    european 0.8 year out, its first date 0.3 years out, one day: 30 times less than the
    first step alone on a weekly grid).  None when no point qualifies."""
    if shift < times[0] and until <= times[0]:
        return times - shift
    a = int(np.argmax((times > shift) & (times >= until)))
    if not (times[a] > shift and times[a] >= until):
        return None
    out = times - shift
    out[:a] = times[:a] * (out[a] / times[a])
    return out
