"""Longstaff–Schwartz exercise policy (``policy="regression"``): each date's rule fitted by
least squares on an independent pilot, in place of the solved one.

Longstaff & Schwartz (2001), "Valuing American options by simulation: a simple
least-squares approach", Rev. Financial Studies 14(1).  On the pilot's paths, backward from
maturity, the cash flow C of each path (discounted to 0) starts as DF(T) h(S_T),
h(S) = max(ω (S − K), 0); at each earlier exercise date t_i the cash flows of the paths in
the money are regressed on the basis

    ψ = (1, x, x², x³, E_i(x, u))[:basis] + (u, u·x, u²) where the model has a state,

x = S/K, u the path's variance state (Heston: v_{t_i}/θ), E_i the European option's value at
t_i discounted to 0: Black's formula on the discounted forward A_i S and strike B_i of the
continuation value's lower bound (:func:`greeks.exercise.forwards`: DF(T) G(T)/G(t_i) and
DF(T) (K + cash dividends carried to T)) and the variance a_i + b_i u of the log-price to
maturity (:meth:`greeks.models.base.Model.exercise_variance`: σ² (T − t_i) under GBM;
under Heston, whose European value has no closed form cheap enough for every pilot path
and date, the Black–Scholes value at the conditional mean of the integrated variance).
Columns are scaled to unit norm and solved by pseudo-inverse (collinear columns share their
coefficient); a date with fewer than 4 paths per basis function in the money gets no rule.

The fitted continuation value Ĉ_i(x, u) is compared with the discounted intrinsic value
DF(t_i) h: the rule the stopping kernels read (:func:`greeks.payoffs.stopping_index`) is the
edge of that comparison next to the money, y_i(u) = the largest x of a put (the smallest x
of a call, stored as 1/x) at which DF(t_i) h ≥ Ĉ_i, searched over the date's in-the-money
pilot range only (``SCAN`` points from its end nearest the money, then bisection; 0 where
the intrinsic value never reaches Ĉ_i there: no exercise; the fit is not read where it
extrapolates, as on early dates, whose pilot points in the money all lie near S0, where
reading it up to the money gave a vega 110 % off on one seed of the Longstaff–Schwartz put
at a pilot of 2^15 paths): a put exercises where
x ≤ y_i(u), a call where x·y_i(u) ≥ 1, the lower bound also reached, as a solved rule does.
Where Ĉ_i crosses the intrinsic value more than once in the money the literal rule
DF h ≥ Ĉ is not an interval in x; the edge keeps the region beyond the first crossing.  A
model without a state gets one node per date (the level b_i = K y_i of a solved policy); a
model with one gets y_i on its table's nodes u_m = (m Δw)², uniform in √u
(:meth:`greeks.models.base.Model.exercise_table_nodes`), read as the solved table is.  Each
pilot path whose rule exercises on t_i takes C = DF(t_i) h (the realised cash flow, not the
fit), read at its own u through the table (:func:`greeks.payoffs.table_level`), so the
backward induction applies the very rule the main paths will.

The pilot starts dispersed about S0 (:func:`dispersion`: its paths' prices scaled by
exp(``SPREAD``·z_p), S being linear in S0; Wang & Caflisch 2009): the delta and gamma
difference the rule's value at S0 (1 ± h), S0 (1 ± 2h), whose paths on the early dates lie
where a pilot started at S0 has no point in the money (there the rule was the fit's edge at
the end of its points, and exercised those paths at once: a Heston put's delta 30 % off).
The main paths stay at S0; the dispersion only moves where the fit has data.

The main paths' value under that fixed rule is that of a feasible strategy: below the
price by the rule's suboptimality (docs/american.md: the bias against basis size, pilot
paths and exercise grid).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from greeks.maths import normal_cdf
from greeks.payoffs import table_level

BASIS_SIZES = (3, 4, 5)  # (1, x, x²), with x³, with the European value
SCAN = 64  # points of the search for a rule's edge, from the money
BISECTIONS = 48
MIN_PER_FUNCTION = 4  # in-the-money pilot paths per basis function a date's fit needs
SPREAD = 0.05  # standard deviation of the log of the pilot's starting spots about S0


def dispersion(n: int) -> np.ndarray:
    """log(S0_p/S0) of the pilot's n paths: ``SPREAD``·z_p, z_p the normal quantiles at
    (p + ½)/n in path order (the pilot's paths are exchangeable, so the order is
    independent of them)."""
    from scipy.special import ndtri

    return SPREAD * ndtri((np.arange(n) + 0.5) / n)


@njit(cache=True, inline="always")
def _european(s, forward, strike, variance, omega):
    """ω (F N(ω d1) − B N(ω d2)), F = ``forward``·S, B = ``strike``, d1,2 = (ln(F/B) ± w/2)/√w,
    w = ``variance``; the discounted forward's intrinsic value where w ≤ 0."""
    f = forward * s
    if variance <= 0.0:
        return max(omega * (f - strike), 0.0)
    root = math.sqrt(variance)
    d1 = (math.log(f / strike) + 0.5 * variance) / root
    return omega * (f * normal_cdf(omega * d1) - strike * normal_cdf(omega * (d1 - root)))


@njit(cache=True, inline="always")
def _features(x, u, i, strike, forward, variance, omega, basis, with_state, out):
    """ψ at (x, u) on date i (module docstring); returns its width."""
    out[0], out[1], out[2] = 1.0, x, x * x
    if basis > 3:
        out[3] = x * x * x
    if basis > 4:
        out[4] = _european(x * strike, forward[0, i], forward[1, i],
                           variance[0, i] + variance[1, i] * u, omega)
    if not with_state:
        return basis
    out[basis], out[basis + 1], out[basis + 2] = u, u * x, u * u
    return basis + 3


@njit(cache=True)
def _solve(gram, moment):
    """Least-squares β from XᵀX and Xᵀy, on the columns scaled to unit norm (pseudo-inverse:
    collinear columns share their coefficient)."""
    scale = np.sqrt(np.diag(gram))
    scale[scale == 0.0] = 1.0
    scaled = gram / np.outer(scale, scale)
    return (np.linalg.pinv(scaled) @ (moment / scale)) / scale


@njit(cache=True)
def _gain(x, u, i, beta, discount, strike, forward, variance, omega, basis, with_state,
          features):
    """DF(t_i) h(xK) − Ĉ_i(x, u)."""
    width = _features(x, u, i, strike, forward, variance, omega, basis, with_state, features)
    fitted = 0.0
    for a in range(width):
        fitted += beta[a] * features[a]
    return discount * max(omega * (x - 1.0) * strike, 0.0) - fitted


@njit(cache=True)
def _edge(near, far, u, i, beta, discount, strike, forward, variance, omega, basis,
          with_state, features):
    """The x nearest the money at which the intrinsic value reaches the fit, searched from
    ``near`` to ``far`` (the date's in-the-money pilot points nearest to and farthest from
    the money); NaN if none."""
    previous = near
    for g in range(SCAN + 1):
        x = near + (far - near) * g / SCAN
        if _gain(x, u, i, beta, discount, strike, forward, variance, omega, basis, with_state,
                 features) >= 0.0:
            if g == 0:
                return x
            low, high = previous, x  # the gain < 0 at low, ≥ 0 at high
            for _ in range(BISECTIONS):
                middle = 0.5 * (low + high)
                if _gain(middle, u, i, beta, discount, strike, forward, variance, omega, basis,
                         with_state, features) >= 0.0:
                    high = middle
                else:
                    low = middle
            return high
        previous = x
    return np.nan


@njit(cache=True)
def fit_rule(x, state, discounts, hold, forward, variance, omega, strike, dates, basis,
             nodes, scale, out):
    """``out`` (dates × nodes): the regressed rule's level y_i(u_m) of one row on its
    exercise dates ``dates`` (indices before maturity, increasing; the other dates keep 0:
    never), by backward induction on pilot prices ``x`` = S/K (the row's dates × paths)
    and states (no rows without: one node, u = 0); ``hold`` (2 × dates) the continuation
    value's lower bound ω (A_i S − B_i), ``forward`` (2 × dates) A_i, B_i and ``variance``
    (2 × dates) a_i, b_i of the basis's European value (module docstring); ``nodes`` the
    table's u_m, ``scale`` 1/Δw."""
    n, n_paths = x.shape
    with_state = state.shape[0] > 0
    width = basis + (3 if with_state else 0)
    cash = np.empty(n_paths)
    for p in range(n_paths):
        cash[p] = discounts[n - 1] * max(omega * (x[n - 1, p] - 1.0), 0.0) * strike
    features = np.empty(width)
    used = np.zeros(n_paths, dtype=np.bool_)
    for i in dates[::-1]:
        gram, moment = np.zeros((width, width)), np.zeros(width)
        count = 0
        near, far = omega * np.inf, 1.0
        for p in range(n_paths):
            used[p] = omega * (x[i, p] - 1.0) > 0.0
            if not used[p]:
                continue
            u = state[i, p] if with_state else 0.0
            _features(x[i, p], u, i, strike, forward, variance, omega, basis, with_state,
                      features)
            for a in range(width):
                moment[a] += features[a] * cash[p]
                for b in range(a, width):
                    gram[a, b] += features[a] * features[b]
            far = min(far, x[i, p]) if omega < 0.0 else max(far, x[i, p])
            near = max(near, x[i, p]) if omega < 0.0 else min(near, x[i, p])
            count += 1
        if count < MIN_PER_FUNCTION * width:
            continue
        for a in range(width):
            for b in range(a):
                gram[a, b] = gram[b, a]
        beta = _solve(gram, moment)
        for m in range(nodes.size):
            edge = _edge(near, far, nodes[m], i, beta, discounts[i], strike, forward, variance,
                         omega, basis, with_state, features)
            out[i, m] = 0.0 if np.isnan(edge) else (edge if omega < 0.0 else 1.0 / edge)
        for p in range(n_paths):
            if not used[p]:
                continue
            y = table_level(out[i], scale, state[i, p] if with_state else 0.0)
            s = x[i, p] * strike
            value = discounts[i] * omega * (s - strike)
            if value >= omega * (hold[0, i] * s - hold[1, i]) and (
                    x[i, p] * y >= 1.0 if omega > 0.0 else x[i, p] <= y):
                cash[p] = value


@njit(cache=True)
def gather(a, columns, start, out):
    """out[i, start + p] = a[p, columns[i]], in blocks of paths (both sides stay in cache)."""
    block = 64
    for first in range(0, a.shape[0], block):
        last = min(first + block, a.shape[0])
        for i in range(columns.size):
            col = columns[i]
            for p in range(first, last):
                out[i, start + p] = a[p, col]
