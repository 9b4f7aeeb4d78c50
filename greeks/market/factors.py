"""The market factors a dated GBM row is sensitive to, as coefficients of its
likelihood-ratio weights (:func:`greeks.models.gbm.dated.factor_weights`).

A row's *score dates* s_1 < ... < s_n (its own dates and the cash ex-dates up to its
expiry T; s_0 = 0) cut its path into segments whose log-returns x_i are independent,
N(μ_i, Δw_i) given the past, with μ_i = Δ log G_i − Δw_i / 2 (:mod:`greeks.models.gbm.dated`),
and the value is V = DF(T) E[f].  A factor θ that moves Δw_i, μ_i or DF(T) has the weight

    w_θ = Σ_i [ a_i (e_i²/Δw_i − 1 − e_i) + b_i e_i/Δw_i ] − c,
    a_i = (∂Δw_i/∂θ) / (2Δw_i),  b_i = ∂(Δ log G_i)/∂θ,  c = −∂ log DF(T)/∂θ,

(e_i = x_i − μ_i: the score of N(μ_i, Δw_i) in its variance and mean, each term of mean
zero given the past) so that ∂V/∂θ = E[DF f · w_θ] for every payoff.  The factors:

* vol node σ_j: b = 0, c = 0, ∂w/∂σ_j from :meth:`VolCurve.node_derivatives`;
* rate node z_j (zero rate at t_j): −log DF(t) = I(t) is linear in the node values
  z_i t_i, so ∂I(t)/∂z_j is the integral of the curve whose rates are the unit vector
  e_j: t_j times the hat function of node j, and beyond the last node the continued last
  forward, ∂I/∂z_n = t_n + (t − t_n) t_n/(t_n − t_{n−1}), ∂I/∂z_{n−1} =
  −(t − t_n) t_{n−1}/(t_n − t_{n−1}).  The rate moves the carry and the discount alike:
  b_i = Δ(∂I(s_i)/∂z_j), c = ∂I(T)/∂z_j.  For a flat rate ∂I/∂z = t;
* yield node q_j: b_i = −Δ(∂I_q(s_i)/∂q_j), c = 0 (the same interpolation);
* proportional dividend y at τ: log G gains log(1 − y) from τ on, b_i = −1/(1 − y) on the
  segment holding τ;
* cash dividend D at the score date s_k = τ: take the post-drop price y = S(τ) =
  S(τ−) − D as the path's coordinate at τ (every payoff reads post-drop prices, a fixing
  or the expiry on the ex-date included; the next segment starts from y and does not
  involve D).  Its density is that of x_k = log((y + D)/S(s_{k−1})) times the Jacobian
  1/(y + D), so ∂ log p/∂D = −(e_k/Δw_k + 1)/S(τ−): the weight −(e_k/Δw_k + 1)/S(τ−),
  of mean zero given the past (E[(e/Δw + 1) e^{−e}] = 0 for e ~ N(0, Δw)).  On a path the
  drop takes to 0 (S(τ−) ≤ D, a probability that is negligible for dividends of a few per
  cent of the spot) the weight is 0, leaving out the score of that mass.

The buckets of one kind add up to the parallel shift (Σ_j e_j is the all-ones vector, so
Σ_j ∂I/∂z_j = t; Σ_j ∂w/∂σ_j = ∂w/∂ε).

Control variates.  The linear payoff L (on the unfloored prices, :mod:`greeks.engine.dated`)
has E[L] = DF(T) · avg_t [G(t) S0 − Σ_{τ_c ≤ t} D_c G(t)/G(τ_c)] over the row's payoff
dates, so for a score factor with β(t) = ∂ log G(t)/∂θ

    E[L w_θ] = ∂E[L]/∂θ = DF(T) avg_t [G(t) S0 β(t) − Σ_{τ_c ≤ t} D_c G(t)/G(τ_c)(β(t) − β(τ_c))]
               − c E[L]

(0 for a vol node).  For a cash dividend L (a function of the unfloored prices, which do not
follow the floored price's segment laws) gives no control of known mean.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from greeks.market.curves import Curve
from greeks.market.dynamics import Dynamics
from greeks.market.volatility import VolCurve

# desk units: (name, scale applied to a per-1.00 derivative)
UNITS = {"vol": ("per vol point", 0.01), "rate": ("per bp", 1e-4),
         "yield": ("per bp", 1e-4), "dividend_yield": ("per bp of the drop", 1e-4),
         "dividend_cash": ("per 1.00 of cash", 1.0), "theta": ("per calendar day", 1.0)}
DAY = 1.0 / 365.0


@dataclass
class Factors:
    """A row's factors: ``labels``, ``kinds`` (keys of :data:`UNITS`), and the weight
    coefficients over its n score dates (module docstring): ``variance`` (F × n) = a,
    ``drift`` (F × n) = b, ``cash_at`` (F,) the score date k on which a cash dividend is
    paid (−1: none) and ``cash`` (F,) its amount (0: none), ``discount`` (F,) = c,
    ``control`` (F,) = ∂E[L]/∂θ (NaN: no control), ``parallel``: (label, kind, indices of
    the buckets it sums)."""

    labels: list
    kinds: list
    variance: np.ndarray
    drift: np.ndarray
    cash_at: np.ndarray
    cash: np.ndarray
    discount: np.ndarray
    control: np.ndarray
    parallel: list


def unit_derivatives(curve: Curve, t: np.ndarray) -> np.ndarray:
    """∂I(t)/∂z_j for each node j of ``curve`` (nodes × len(t)); one row t for a flat
    curve.  I is linear in the rates, so each row is the integral of the curve with unit
    rates at node j."""
    if not curve.times:
        return np.asarray(t, dtype=float)[None, :]
    n = len(curve.times)
    return np.stack([Curve(curve.times, tuple(np.eye(n)[j])).integral(t) for j in range(n)])


def date_label(valuation, t: float) -> str:
    import datetime as dt

    return (valuation + dt.timedelta(days=int(round(t * 365.0)))).isoformat()


def dividend_label(underlying: str, valuation, t: float) -> str:
    """The bucket label of a discrete dividend (cash or proportional) of ``underlying`` at
    time ``t``: ``dividend:UND:date``."""
    return f"dividend:{underlying}:{date_label(valuation, t)}"


def linear_mean(dynamics: Dynamics, payoff_times: np.ndarray, maturity: float,
                beta=None, discount_slope: float = 0.0) -> float:
    """E[L] (``beta`` None) or ∂E[L]/∂θ for β(t) = ``beta(t)`` (module docstring) of the
    linear payoff over ``payoff_times`` (the row's dates, or its expiry alone)."""
    growth = dynamics.growth(payoff_times)
    cash = dynamics.cash_dividends(maturity)
    df = float(dynamics.discount(maturity))
    b = np.zeros_like(payoff_times) if beta is None else beta(payoff_times)
    values = growth * dynamics.spot * (1.0 if beta is None else b)
    for d in cash:
        g_tau = float(dynamics.growth(d.time))
        paid = payoff_times >= d.time
        b_tau = 0.0 if beta is None else float(beta(np.array([d.time]))[0])
        values = values - np.where(paid, d.value * growth / g_tau
                                   * (1.0 if beta is None else b - b_tau), 0.0)
    mean = df * float(values.mean())
    if beta is None:
        return mean
    return mean - discount_slope * linear_mean(dynamics, payoff_times, maturity)


def row_factors(dynamics: Dynamics, score_times: np.ndarray, payoff_times: np.ndarray,
                maturity: float, names: dict) -> Factors:
    """The factors of a row (module docstring); ``names``: ``underlying``, ``curve`` (the
    rate curve's name, or ``UND/own`` for the row's own rate), ``valuation`` (a date), and
    ``own_vol``/``own_yield`` when the row gave its own (labelled ``vol:UND/own:flat``,
    ``yield:UND/own:flat``: a row's own value is a factor apart from the market's)."""
    n = score_times.size
    before = np.concatenate(([0.0], score_times[:-1]))
    labels, kinds, var, drift, cash_at, cash, disc, control = [], [], [], [], [], [], [], []
    parallel = []
    und, valuation = names["underlying"], names["valuation"]

    def add(label, kind, a, b, at, c, mean, amount=0.0):
        labels.append(label)
        kinds.append(kind)
        var.append(a)
        drift.append(b)
        cash_at.append(at)
        cash.append(amount)
        disc.append(c)
        control.append(mean)

    clock = dynamics.vol.total_variance(score_times)
    dw = np.diff(clock, prepend=0.0)
    vol: VolCurve = dynamics.vol
    node = vol.node_derivatives(score_times)
    first = len(labels)
    for j, label in enumerate(vol.labels):
        a = 0.5 * np.diff(node[j], prepend=0.0) / dw
        add(f"vol:{und}/own:flat" if names.get("own_vol") else f"vol:{und}:{label}", "vol",
            a, np.zeros(n),
            -1, 0.0, 0.0)
    if len(labels) - first > 1:
        parallel.append((f"vol:{und}:parallel", "vol", list(range(first, len(labels)))))

    def carry(curve: Curve, kind: str, name: str, sign: float, discounting: bool):
        start = len(labels)
        rows_s = unit_derivatives(curve, score_times)
        rows_before = unit_derivatives(curve, before)
        for j in range(rows_s.shape[0]):
            slope = (float(unit_derivatives(curve, np.array([maturity]))[j, 0])
                     if discounting else 0.0)
            node_row = np.eye(rows_s.shape[0])[j]

            def beta(t, node_row=node_row):
                return sign * (node_row @ unit_derivatives(curve, t))

            node_label = date_label(valuation, curve.times[j]) if curve.times else "flat"
            add(f"{kind}:{name}:{node_label}", kind, np.zeros(n),
                sign * (rows_s[j] - rows_before[j]), -1, slope,
                linear_mean(dynamics, payoff_times, maturity, beta, slope))
        if len(labels) - start > 1:
            parallel.append((f"{kind}:{name}:parallel", kind, list(range(start, len(labels)))))

    carry(dynamics.rate, "rate", names["curve"], 1.0, True)
    carry(dynamics.dividend_yield, "yield", und if not names.get("own_yield") else f"{und}/own",
          -1.0, False)
    for d in dynamics.dividends:
        if d.time > maturity:
            continue
        label = dividend_label(und, valuation, d.time)
        if d.proportional:
            step = -1.0 / (1.0 - d.value)
            b = np.where((before < d.time) & (score_times >= d.time), step, 0.0)

            def beta(t, d=d, step=step):
                return np.where(np.asarray(t) >= d.time, step, 0.0)

            add(label, "dividend_yield", np.zeros(n), b, -1, 0.0,
                linear_mean(dynamics, payoff_times, maturity, beta))
        else:
            k = int(np.argmin(np.abs(score_times - d.time)))
            add(label, "dividend_cash", np.zeros(n), np.zeros(n), k, 0.0, np.nan,
                float(d.value))
    return Factors(labels, kinds, np.array(var), np.array(drift),
                   np.array(cash_at, dtype=np.int64), np.array(cash), np.array(disc),
                   np.array(control),
                   parallel)


def shifted(dynamics: Dynamics, days: int = 1) -> Dynamics | None:
    """The dynamics seen ``days`` calendar days later, every date (curve and vol nodes,
    ex-dates) and rate, yield and vol kept: each node's year fraction drops by days/365.
    None when a node or ex-date would no longer lie after the valuation date."""
    h = days * DAY

    def curve(c: Curve) -> Curve | None:
        if not c.times:
            return c
        if c.times[0] <= h:
            return None
        return Curve(tuple(t - h for t in c.times), c.rates)

    rate, yields = curve(dynamics.rate), curve(dynamics.dividend_yield)
    vol = dynamics.vol  # None under Heston (the model's parameters do not move)
    if vol is not None and vol.times:
        if vol.times[0] <= h:
            return None
        vol = replace(vol, times=tuple(t - h for t in vol.times))
    if rate is None or yields is None or any(d.time <= h for d in dynamics.dividends):
        return None
    return replace(dynamics, rate=rate, dividend_yield=yields, vol=vol,
                   dividends=tuple(replace(d, time=d.time - h) for d in dynamics.dividends))


@dataclass
class Theta:
    """The one-day change as a likelihood ratio: under the dynamics one day later the
    segments' laws are N(μ⁺_i, Δw⁺_i) and the discount DF⁺; ``offset`` = μ_i − μ⁺_i,
    ``variance`` = Δw⁺_i, ``log_discount`` = log(DF⁺/DF), ``control`` = E⁺[L] − E[L]."""

    offset: np.ndarray
    variance: np.ndarray
    log_discount: float
    control: float


def one_day_later(dynamics: Dynamics, first: float, payoff_times: np.ndarray,
                  maturity: float) -> tuple[Dynamics, float] | None:
    """(the dynamics a calendar day later (:func:`shifted`), E⁺[L] − E[L]): the change of
    the row's linear payoff's mean (:func:`linear_mean`) over that day, its dates kept
    (their year fractions minus 1/365); None when a node, ex-date or the row's ``first``
    date is within a day."""
    later = shifted(dynamics)
    if later is None or first <= DAY:
        return None
    return later, (linear_mean(later, payoff_times - DAY, maturity - DAY)
                   - linear_mean(dynamics, payoff_times, maturity))


def row_theta(dynamics: Dynamics, score_times: np.ndarray, payoff_times: np.ndarray,
              maturity: float) -> Theta | None:
    """The theta weight's coefficients of a row (None when a node, ex-date or the row's
    first date is within a day)."""
    found = one_day_later(dynamics, float(score_times[0]), payoff_times, maturity)
    if found is None:
        return None
    later, control = found

    def laws(d: Dynamics, times):
        w = np.diff(d.vol.total_variance(times), prepend=0.0)
        mu = np.diff(np.log(d.growth(times)), prepend=0.0) - 0.5 * w
        return mu, w

    mu, _ = laws(dynamics, score_times)
    mu_later, w_later = laws(later, score_times - DAY)
    log_discount = float(np.log(later.discount(maturity - DAY))
                         - np.log(dynamics.discount(maturity)))
    return Theta(mu - mu_later, w_later, log_discount, control)


@dataclass
class CarryFactors:
    """The carry factors of a row whose payoff is a continuous function of its prices on
    ``payoff_times`` (Heston rows): ``beta`` (F × dates) = ∂log G/∂θ at
    those dates, ``discount`` (F,) = c, ``control`` (F,) = ∂E[L]/∂θ, ``parallel`` as in
    :class:`Factors`.

    The growth is deterministic and multiplies the zero-carry price, S(t) = G(t) S̃(t),
    so ∂S(t)/∂θ = S(t) β(t) path by path, and for a payoff Lipschitz in the prices (and
    differentiable off a null set: the kink at the strike has probability 0) the pathwise
    derivative is unbiased (Broadie & Glasserman 1996):

        ∂V/∂θ = E[DF f'(X) ∂X/∂θ] − c V,   X = S(T) or the average of S over the dates.

    Digital and barrier payoffs are not continuous: they take the likelihood-ratio score
    of the carry instead (:func:`greeks.models.heston.carry.carry_scores`)."""

    labels: list
    kinds: list
    beta: np.ndarray
    discount: np.ndarray
    control: np.ndarray
    parallel: list


def carry_factors(dynamics: Dynamics, payoff_times: np.ndarray, maturity: float,
                  names: dict) -> CarryFactors:
    """The rate, yield and proportional-dividend factors of :class:`CarryFactors`
    (``names`` as in :func:`row_factors`)."""
    und, valuation = names["underlying"], names["valuation"]
    labels, kinds, beta, disc, control, parallel = [], [], [], [], [], []

    def curve_factors(curve: Curve, kind: str, name: str, sign: float, discounting: bool):
        start = len(labels)
        at_dates = unit_derivatives(curve, payoff_times)
        for j in range(at_dates.shape[0]):
            slope = (float(unit_derivatives(curve, np.array([maturity]))[j, 0])
                     if discounting else 0.0)
            node_row = np.eye(at_dates.shape[0])[j]

            def b(t, node_row=node_row):
                return sign * (node_row @ unit_derivatives(curve, t))

            node_label = date_label(valuation, curve.times[j]) if curve.times else "flat"
            labels.append(f"{kind}:{name}:{node_label}")
            kinds.append(kind)
            beta.append(sign * at_dates[j])
            disc.append(slope)
            control.append(linear_mean(dynamics, payoff_times, maturity, b, slope))
        if len(labels) - start > 1:
            parallel.append((f"{kind}:{name}:parallel", kind, list(range(start, len(labels)))))

    curve_factors(dynamics.rate, "rate", names["curve"], 1.0, True)
    curve_factors(dynamics.dividend_yield, "yield",
                  und if not names.get("own_yield") else f"{und}/own", -1.0, False)
    for d in dynamics.dividends:
        if d.proportional and d.time <= maturity:
            step = -1.0 / (1.0 - d.value)

            def b(t, d=d, step=step):
                return np.where(np.asarray(t) >= d.time, step, 0.0)

            labels.append(dividend_label(und, valuation, d.time))
            kinds.append("dividend_yield")
            beta.append(b(payoff_times))
            disc.append(0.0)
            control.append(linear_mean(dynamics, payoff_times, maturity, b))
    return CarryFactors(labels, kinds, np.array(beta), np.array(disc), np.array(control),
                        parallel)


@dataclass
class StoppedFactors:
    """The carry factors of a payoff paid at a stopping time (american and bermudan rows:
    :mod:`greeks.models.gbm.exercise_buckets`) on a set of columns (grid points or stored
    dates, the payoff's dates among them): ``labels``, ``kinds``, ``drift`` (F × columns) b,
    the change of each column's log-growth step per 1.00 of the factor, ``discount``
    (F × columns) c(t) = −∂ log DF(t)/∂θ, ``mean`` (F,) the European option's ∂C/∂θ (NaN:
    no control), ``parallel`` as in :class:`Factors`; the rate factors first (``rates``)."""

    labels: list
    kinds: list
    drift: np.ndarray
    discount: np.ndarray
    mean: np.ndarray
    parallel: list
    rates: int


def stopped_factors(dynamics: Dynamics, times: np.ndarray, end: int, names: dict,
                    slope: float, price: float) -> StoppedFactors:
    """The rate nodes (b = Δφ_j, c = φ_j, φ_j(t) = ∂I(t)/∂z_j: :func:`unit_derivatives`),
    yield nodes (b = −Δφ^q_j, c = 0) and proportional dividends y at τ (b = −1/(1 − y) on
    the column step holding τ, c = 0) up to the column ``end`` (the expiry) of columns at
    ``times``; ``names`` as in :func:`row_factors`.  The European option depends on the
    market through DF(T) and G(T) alone, so ∂C/∂θ = β(T) ``slope`` − c(T) ``price``, β(T) =
    Σ b the change of log G(T), ``slope`` = ∂C/∂log G(T) (NaN: no control)."""
    und, valuation = names["underlying"], names["valuation"]
    labels, kinds, drift, discount, mean, parallel = [], [], [], [], [], []
    before = np.concatenate(([0.0], times[:-1]))

    def add(label, kind, b, c):
        labels.append(label)
        kinds.append(kind)
        drift.append(b)
        discount.append(c)
        mean.append(b[:end + 1].sum() * slope - c[end] * price)

    def curve_factors(curve: Curve, kind: str, name: str, sign: float, discounting: bool):
        start = len(labels)
        phi = unit_derivatives(curve, times)
        for n in range(phi.shape[0]):
            node = date_label(valuation, curve.times[n]) if curve.times else "flat"
            add(f"{kind}:{name}:{node}", kind, sign * np.diff(phi[n], prepend=0.0),
                phi[n] if discounting else np.zeros(times.size))
        if len(labels) - start > 1:
            parallel.append((f"{kind}:{name}:parallel", kind, list(range(start, len(labels)))))

    curve_factors(dynamics.rate, "rate", names["curve"], 1.0, True)
    rates = len(labels)
    curve_factors(dynamics.dividend_yield, "yield",
                  und if not names["own_yield"] else f"{und}/own", -1.0, False)
    for d in dynamics.dividends:
        if d.proportional and d.time <= times[end]:
            add(dividend_label(und, valuation, d.time), "dividend_yield",
                np.where((before < d.time) & (times >= d.time), -1.0 / (1.0 - d.value), 0.0),
                np.zeros(times.size))
    return StoppedFactors(labels, kinds, np.array(drift), np.array(discount), np.array(mean),
                          parallel, rates)

