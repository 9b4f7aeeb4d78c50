"""The spot step h of a GBM exercise row's delta and gamma (:mod:`greeks.exercise`).

Richardson's extrapolation over S0 (1 ± h) and S0 (1 ± 2h) leaves an O(h⁴) bias where the
fixed policy's value V is smooth on the scale 2h, and more where it is not: rows whose
σ√T is a few h (a short or low-vol option's value curves on that scale: at h = 3 %, an ATM
put of a month at σ = 10 % has its delta 1.2 % and gamma 1.8 % off), and rows near the
first exercise date's boundary, where V's second derivative jumps (smoothed only over the
first date's σ√t_1, a fraction of a per cent for daily dates: a call at S0/K = 1.05 with
σ = 10 %, q − r = 4 %, half a year, has its delta 0.8 % off).  Neither the European option
(the Heston rows' proxy) nor σ√T sees the second.

The policy's own finite-difference solution sees both: the Bermudan option on the row's
dates (:func:`greeks.models.gbm.american.bermudan_values`, off a market
:func:`greeks.models.gbm.american_market.bermudan_values_market`), whose optimal region does
not depend on S0, is the fixed policy's value at every nearby spot, and its value of waiting
at t = 0 is V(S) on the log-price grid.  Each row takes the largest h of the ladder
(:func:`greeks.exercise_step.largest_step`) at which the extrapolated difference of that
function (a cubic spline in log S through the nodes) is within the tolerance of its
derivative at S0.
"""

from __future__ import annotations

import math

import numpy as np

from greeks.exercise_step import largest_step
from greeks.models.gbm.american import BermudanValues


def spot_step(values: BermudanValues, spot: float) -> float:
    """The step of the row whose value function (at t = 0: ``values.continuation`` on the
    nodes first + i h) is ``values``."""
    from scipy.interpolate import CubicSpline  # only american rows need it

    nodes = values.first + values.h * np.arange(values.continuation.size)
    curve = CubicSpline(nodes, values.continuation)
    x0 = math.log(spot)

    def price(move):
        return float(curve(x0 + math.log1p(move)))

    return largest_step(price, float(curve(x0, 1)) / spot, spot)
