"""The spot step h of a Heston exercise row's delta and gamma (:mod:`greeks.exercise`).

The fixed policy's delta is Richardson's extrapolation of central differences over the spot
moves S0 (1 ± h) and S0 (1 ± 2h), (4 D(h) − D(2h))/3, whose bias is O(h⁴): −(4/5!)·h⁴ S0⁴
V⁽⁵⁾(S0) to leading order.  At the default h = 3 % it is negligible on moderate laws but not
where the density of S_T is sharply peaked: with ξ = 1, v0 = θ = 0.04, half a year ATM the
European put's extrapolated delta is 0.1–3 % off the Fourier delta (κ = 2 … 0.4, the sign and
size set by ρ), tens of standard errors at 200,000 paths.  The American option's value shares
the European's smoothness in S0 (its policy region does not move with S0), and its bias
follows the European's: the differences of the two between h = 3 % and 1 % on the same paths
agree within their SEs (docs/american.md).

So each row takes the largest h of the ladder (:func:`greeks.exercise_step.largest_step`)
at which the European option's extrapolated delta by the characteristic function
(:func:`greeks.models.heston.analytic.heston_greeks`, at the row's flat rate and yield) is
within its tolerance of the exact delta, the derivative under the Fourier integral.
"""

from __future__ import annotations

import functools

from greeks.exercise_step import largest_step
from greeks.models.heston.analytic import heston_greeks


@functools.lru_cache(maxsize=256)
def spot_step(option_type: str, spot: float, strike: float, maturity: float, rate: float,
              dividend: float, v0: float, kappa: float, theta: float, xi: float,
              rho: float) -> float:
    """The largest h of the ladder whose extrapolated central difference of the European
    option's price (S0 (1 ± h), S0 (1 ± 2h)) is within the tolerance of its delta
    (:func:`greeks.exercise_step.largest_step`)."""
    def price(move):
        return heston_greeks(option_type, spot * (1.0 + move), strike, maturity, rate, v0,
                             kappa, theta, xi, rho, dividend).price

    exact = heston_greeks(option_type, spot, strike, maturity, rate, v0, kappa, theta, xi, rho,
                          dividend).delta
    return largest_step(price, exact, spot)
