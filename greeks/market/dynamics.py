"""What one simulation needs of an underlying, and what one dated row adds.

Under both models the carry enters log S additively: with the integrated rate
I_r(t) = ∫_0^t r, the integrated dividend yield I_q(t) and the proportional dividends
y_j at ex-dates τ_j, the deterministic growth

    G(t) = exp(I_r(t) − I_q(t)) · Π_{τ_j ≤ t} (1 − y_j)

makes S(t) = G(t) · S̃(t), S̃ the same model's price with zero carry (a martingale), so
E[S(t)] = S0 G(t) without cash dividends.  A cash dividend D at τ_j drops the price,
S(τ_j) = max(S(τ_j−) − D, 0), which no multiplicative factor represents: the paths then
apply the drops step by step (:mod:`greeks.models.gbm.dated`).  A row pays at its expiry T,
discounted by DF(T) = exp(−I_r(T)).  Under GBM the volatility enters through the total
variance w(t) (:mod:`greeks.market.volatility`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from greeks.market.curves import Curve
from greeks.market.file import Dividend
from greeks.market.volatility import VolCurve


@dataclass(frozen=True)
class Dynamics:
    """An underlying as one simulation sees it (after a row's own overrides): spot, rate
    and yield curves, discrete dividends, and the GBM vol curve (None under Heston, whose
    parameters are the row's columns)."""

    spot: float
    rate: Curve
    dividend_yield: Curve
    dividends: tuple[Dividend, ...]
    vol: VolCurve | None

    @property
    def key(self) -> str:
        """A text key: equal for equal dynamics (floats by their exact repr)."""
        return repr(self)

    def growth(self, t) -> np.ndarray:
        """G(t) (the proportional dividends included, the cash ones not)."""
        t = np.asarray(t, dtype=float)
        out = np.exp(self.rate.integral(t) - self.dividend_yield.integral(t))
        for dividend in self.dividends:
            if dividend.proportional:
                out = out * np.where(t >= dividend.time, 1.0 - dividend.value, 1.0)
        return out

    def discount(self, t) -> np.ndarray:
        """DF(t) of the rate curve."""
        return self.rate.discount(t)

    def cash_dividends(self, until: float) -> list[Dividend]:
        """The cash dividends with ex-dates on or before ``until``."""
        return [d for d in self.dividends if not d.proportional and d.time <= until]

    def equivalent(self, maturity: float) -> tuple[float, float, float]:
        """The flat rate, yield and vol to ``maturity`` that give the same DF(T), G(T) and
        w(T) (the yield without the cash dividends; vol NaN under Heston)."""
        rate = float(self.rate.integral(maturity)) / maturity
        dividend = float(self.dividend_yield.integral(maturity)) / maturity - sum(
            np.log1p(-d.value) for d in self.dividends
            if d.proportional and d.time <= maturity) / maturity
        vol = self.vol.implied(maturity) if self.vol is not None else float("nan")
        return rate, dividend, vol


@dataclass(frozen=True)
class RowMarket:
    """A dated row's dynamics, its dates (year fractions, the last its expiry) and the
    market columns it gave itself."""

    dynamics: Dynamics
    times: tuple[float, ...]
    overrides: tuple[str, ...]
