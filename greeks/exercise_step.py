"""The ladder of spot steps h of the exercise rows' delta and gamma (:mod:`greeks.exercise`),
shared by the models' rules (:mod:`greeks.models.gbm.spot_step`,
:mod:`greeks.models.heston.spot_step`).

The fixed policy's delta is Richardson's extrapolation of central differences over the spot
moves S0 (1 ± h) and S0 (1 ± 2h), (4 D(h) − D(2h))/3, whose bias is O(h⁴) where the value is
smooth on the scale 2h: −(4/5!)·h⁴ S0⁴ V⁽⁵⁾(S0) to leading order.  A smaller step costs
variance, O(1/h) from the paths whose exercise date the move changes (delta) and O(1/h³)
for gamma's second differences, so each row takes the largest h of ``STEPS`` at which a
smooth proxy of its value, ``price(move)`` = V(S0 (1 + move)), gives an extrapolated
difference within ``TOLERANCE`` of the proxy's own delta.
"""

from __future__ import annotations

from typing import Callable

STEPS = (0.03, 0.02, 0.015, 0.01, 0.0075, 0.005)  # the candidates, largest first
TOLERANCE = 5e-5  # |extrapolated − exact| of the proxy's delta allowed at the step chosen


def largest_step(price: Callable[[float], float], delta: float, spot: float) -> float:
    """The largest h of ``STEPS`` whose extrapolated central difference of ``price`` (a
    function of the relative spot move) is within ``TOLERANCE`` of ``delta``; the smallest
    step where none is."""
    for h in STEPS:
        near, far = price(h) - price(-h), price(2.0 * h) - price(-2.0 * h)
        if abs((2.0 * near - 0.25 * far) / (3.0 * h * spot) - delta) <= TOLERANCE:
            return h
    return STEPS[-1]
