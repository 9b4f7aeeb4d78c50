"""Implied-volatility term structures as total variance.

Implied vols σ_i at times t_1 < ... < t_n give total variances w_i = σ_i² t_i; w(t) is
linear in t between (0, 0) and the nodes (a constant forward variance per interval) and
beyond t_n the vol stays flat, w(t) = σ_n² t.  A flat vol σ is w(t) = σ² t.  The curve must
have increasing total variance (a decrease is a calendar arbitrage; equal variances
would be a zero forward vol, which no path can carry).

A parallel shift σ_i → σ_i + ε moves every node variance by ∂w_i/∂ε = 2 σ_i t_i, so

    ∂w(t)/∂ε = the same linear interpolation of the values 2 σ_i t_i    (t ≤ t_n),
             = 2 σ_n t                                                  (t > t_n),

(2σ t for a flat vol): the weights of the likelihood-ratio vega need only w and ∂w/∂ε
on the simulation grid (:mod:`greeks.models.gbm.dated`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VolCurve:
    """Implied ``vols`` at node ``times`` (none for a flat vol, one entry in ``vols``)."""

    times: tuple[float, ...]
    vols: tuple[float, ...]
    dates: tuple[str, ...] = ()  # the nodes' ISO dates (labels of bucketed vegas)

    @classmethod
    def flat(cls, vol: float) -> VolCurve:
        return cls((), (float(vol),))

    @property
    def labels(self) -> tuple[str, ...]:
        """A name per node: its date, or ``flat`` for a flat vol."""
        return self.dates if self.times else ("flat",)

    def node_derivatives(self, t) -> np.ndarray:
        """∂w(t)/∂σ_j for each node j (nodes × len(t)): the hat function of node j in the
        interpolation times 2σ_j t_j, and beyond the last node 2σ_n t for the last one
        only; their sum over j is :meth:`parallel_shift`.  A flat vol is one node."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        if not self.times:
            return 2.0 * self.vols[0] * t[None, :]
        n = len(self.times)
        out = np.empty((n, t.size))
        knots = np.concatenate(([0.0], self.times))
        for j in range(n):
            hat = np.interp(t, knots, np.eye(n + 1)[j + 1])
            out[j] = np.where(t > knots[-1], 0.0, hat * 2.0 * self.vols[j] * self.times[j])
        out[-1] = np.where(t > knots[-1], 2.0 * self.vols[-1] * t, out[-1])
        return out

    def _interpolate(self, t, node_values, beyond) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        knots = np.concatenate(([0.0], self.times))
        values = np.concatenate(([0.0], node_values))
        return np.where(t > knots[-1], beyond(t), np.interp(t, knots, values))

    def total_variance(self, t) -> np.ndarray:
        """w(t)."""
        last = self.vols[-1]
        if not self.times:
            return last * last * np.asarray(t, dtype=float)
        return self._interpolate(t, np.square(self.vols) * self.times, lambda u: last * last * u)

    def parallel_shift(self, t) -> np.ndarray:
        """∂w(t)/∂ε for σ_i → σ_i + ε at every node."""
        last = self.vols[-1]
        if not self.times:
            return 2.0 * last * np.asarray(t, dtype=float)
        return self._interpolate(t, 2.0 * np.multiply(self.vols, self.times),
                                 lambda u: 2.0 * last * u)

    def shifts(self, eps: float) -> bool:
        """Whether every node vol moved by ``eps`` stays > 0 with the total variance still
        increasing (a curve falling steeply between close nodes takes only a small
        downward shift)."""
        vols = np.add(self.vols, eps)
        return bool(min(vols) > 0.0
                    and not np.any(np.diff(np.square(vols) * np.array(self.times)) <= 0.0))

    def shifted(self, eps: float) -> VolCurve:
        """The curve with every node vol moved by ``eps`` (σ_i → σ_i + ε); ValueError where a
        vol would not stay > 0 or the total variance not increase (:meth:`shifts`)."""
        if eps == 0.0:
            return self
        vols = tuple(v + eps for v in self.vols)
        if not self.shifts(eps):
            raise ValueError(f"a vol shift of {eps!r} leaves vols {vols!r} at times "
                             f"{self.times!r}: not > 0 with increasing total variance")
        return VolCurve(self.times, vols, self.dates)

    def implied(self, t: float) -> float:
        """The implied vol to t, sqrt(w(t)/t)."""
        return float(np.sqrt(self.total_variance(t) / t))
