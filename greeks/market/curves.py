"""Zero-rate curves (and dividend-yield curves, interpolated the same way).

A curve holds continuously compounded zero rates z_i at times t_1 < ... < t_n (year
fractions from the valuation date).  Its *integral* I(t) = ∫_0^t f(u) du = −log DF(t) is
piecewise linear in t through (0, 0) and the nodes (t_i, z_i t_i): the discount factor is
log-linear between nodes, the forward rate f is constant on each interval,

    f_i = (z_i t_i − z_{i−1} t_{i−1}) / (t_i − t_{i−1}),   t_0 = 0,

and the last interval's forward continues beyond t_n.  A flat curve (a number) is
I(t) = z t.  The zero rate to t is I(t)/t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Curve:
    """A zero curve: node ``times`` (increasing, > 0) and their ``rates``; one rate and no
    times for a flat curve."""

    times: tuple[float, ...]
    rates: tuple[float, ...]

    @classmethod
    def flat(cls, rate: float) -> Curve:
        return cls((), (float(rate),))

    def integral(self, t) -> np.ndarray:
        """I(t) = ∫_0^t f(u) du = −log DF(t) (``t`` ≥ 0, scalar or array)."""
        t = np.asarray(t, dtype=float)
        if not self.times:
            return self.rates[0] * t
        knots = np.concatenate(([0.0], self.times))
        values = np.concatenate(([0.0], np.multiply(self.times, self.rates)))
        inside = np.interp(t, knots, values)
        last = (values[-1] - values[-2]) / (knots[-1] - knots[-2])
        return np.where(t > knots[-1], values[-1] + last * (t - knots[-1]), inside)

    def discount(self, t) -> np.ndarray:
        """DF(t) = exp(−I(t))."""
        return np.exp(-self.integral(t))

    def forwards(self) -> np.ndarray:
        """The constant forward rate of each interval (0, t_1], ..., (t_{n−1}, t_n]."""
        if not self.times:
            return np.array(self.rates)
        knots = np.concatenate(([0.0], self.times))
        values = np.concatenate(([0.0], np.multiply(self.times, self.rates)))
        return np.diff(values) / np.diff(knots)
