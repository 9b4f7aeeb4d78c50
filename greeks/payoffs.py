"""Discounted payoffs evaluated on simulated prices, selected by integer code.

Each row reads the simulated prices S(t_{d_1}), ..., S(t_{d_n}) on its own dates
(indices into the simulation grid; the last is the maturity T) and pays, at T,
discounted by e^{−rT}; ω = +1 for a call, −1 for a put:

    european  max(ω (S_T − K), 0)
    digital   payout · 1{ω (S_T − K) > 0}                      (cash-or-nothing)
              S_T · 1{ω (S_T − K) > 0}                         (asset-or-nothing)
    asian     max(ω (Ā − K), 0),  Ā = (1/n) Σ_i S(t_{d_i})     (arithmetic, fixed strike)
    barrier   max(ω (S_T − K), 0) · 1{knocked out never}  for the out types,
              max(ω (S_T − K), 0) · 1{knocked in}          for the in types,

where an up barrier B is touched on a monitoring date when S(t_{d_i}) ≥ B and a
down barrier when S(t_{d_i}) ≤ B (discrete monitoring at the closes only).

American and bermudan rows pay h(S_τ) = max(ω (S_τ − K), 0) at the date τ that a fixed
exercise policy picks, discounted by e^{−r t_τ} (:func:`exercise_values`; the policy is
solved by :mod:`greeks.exercise`): τ is the first of the row's dates t_{d_i} with h(S) > 0
where the policy exercises.  A GBM policy is a boundary b_i per date, stored as the level
e^{−r t} ω (b − K) that the discounted intrinsic value must reach, so that the rule reads
ω S ≥ ω b, and applied on log-prices by :func:`exercise_values_solved` (on prices off a
market).  A Heston rule is a table instead: the level y_i(u) = b_i(θu)/K of the put's
boundary (a call's symmetric put's, or K/b_i of the call's own) on a uniform grid in the
path's variance state u (the variance on the date over θ), read by linear interpolation, the
put exercising where x ≤ y_i(u), x = S/K, the call where x·y_i(u) ≥ 1
(:func:`stopping_index`).  At maturity the option is exercised whenever h(S_T) > 0.

The rows of a group travel together as one :class:`PayoffSpec` (per-row arrays); what each
payoff code supports is in :mod:`greeks.payoff_table`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from greeks.payoff_table import (  # noqa: F401  (the codes, re-exported)
    AMERICAN,
    ASIAN,
    ASSET_DIGITAL,
    BARRIER,
    BARRIER_CODES,
    BERMUDAN,
    DIGITAL,
    DOWN_AND_IN,
    DOWN_AND_OUT,
    EUROPEAN,
    UP_AND_IN,
    UP_AND_OUT,
)


class PayoffSpec(NamedTuple):
    """The payoffs of a group's rows, one array entry per row."""

    kind: np.ndarray          # int64 payoff code (:mod:`greeks.payoff_table`)
    omega: np.ndarray         # +1 call, −1 put
    strike: np.ndarray
    payout: np.ndarray        # cash digitals' payout
    barrier: np.ndarray
    barrier_kind: np.ndarray  # int64 barrier code
    discount: np.ndarray      # e^{−rT}
    # early exercise (american, bermudan rows; empty for a group without them):
    rate: np.ndarray = np.zeros(0)  # r, to discount from the exercise date
    # (rows, 6, max dates): the discounted exercise level e^{−r t} ω (b − K) per date of the
    # solved policies (greeks.exercise; NEVER where a date never exercises): 0 every date,
    # 1 every second date back from maturity, 2–5 every date at σ + k, σ − k, σ + 2k, σ − 2k
    policy: np.ndarray = np.zeros((0, 6, 0))
    # (rows, 2, max dates): A_i, B_i of the continuation value's lower bound ω (A_i S − B_i),
    # discounted (the forward's intrinsic value; −inf where not a bound: greeks.exercise)
    hold: np.ndarray = np.zeros((0, 2, 0))
    richardson: np.ndarray = np.zeros(0, dtype=np.bool_)  # 2 V(Δ) − V(2Δ) (american)
    immediate: np.ndarray = np.zeros(0, dtype=np.bool_)  # exercised at once (american)
    # (rows, 2, max dates, nodes): a tabulated rule, y_i(u) = b_i(θu)/K on the nodes
    # u = (m/``table_scale``)² (m = 0, 1, ...; the put's boundary, a call's symmetric put's,
    # greeks.models.heston.exercise_rule), on every date (all policies but the partner) and on
    # every second date back from maturity (policy 1), 0 where a date never exercises; no
    # rows where the group has no tabulated row; (rows, 6, ...) a regressed rule's, one per
    # policy (greeks.exercise_regression)
    table: np.ndarray = np.zeros((0, 2, 0, 0))
    table_scale: np.ndarray = np.zeros(0)  # 1/Δ√u of each row's table; 0: the row's rule is
    # its level in ``policy``


NEVER = np.inf  # the level of a date that never exercises: the intrinsic value never reaches it


def with_discount(spec: PayoffSpec, j: int, discount: float) -> PayoffSpec:
    """``spec`` with row j discounted by ``discount`` instead."""
    moved = spec.discount.copy()
    moved[j] = discount
    return spec._replace(discount=moved)


@njit(cache=True, nogil=True)
def evaluate(s, dates, spec, j, out):
    """Fill ``out[p]`` with the discounted payoff of row ``j`` of ``spec`` on path ``p``
    of ``s``.

    One loop per payoff kind, so that the branch on the kind stays out of the
    loop over paths.
    """
    kind, omega, strike = spec.kind[j], spec.omega[j], spec.strike[j]
    payout, barrier, barrier_kind = spec.payout[j], spec.barrier[j], spec.barrier_kind[j]
    discount = spec.discount[j]
    last = dates[dates.size - 1]
    n_paths = s.shape[0]
    if kind == EUROPEAN:
        for p in range(n_paths):
            out[p] = discount * max(omega * (s[p, last] - strike), 0.0)
    elif kind == DIGITAL:
        cash = discount * payout
        for p in range(n_paths):
            out[p] = cash if omega * (s[p, last] - strike) > 0.0 else 0.0
    elif kind == ASSET_DIGITAL:
        for p in range(n_paths):
            out[p] = discount * s[p, last] if omega * (s[p, last] - strike) > 0.0 else 0.0
    elif kind == ASIAN:
        scale = 1.0 / dates.size
        for p in range(n_paths):
            total = 0.0
            for i in range(dates.size):
                total += s[p, dates[i]]
            out[p] = discount * max(omega * (total * scale - strike), 0.0)
    else:
        up, knock_in = barrier_sides(barrier_kind)
        hit = np.empty(n_paths, dtype=np.bool_)
        touched(s, dates, barrier, up, hit)
        barrier_payoffs(s, last, hit, knock_in, omega, strike, discount, out)


@njit(cache=True, nogil=True, inline="always")
def barrier_sides(barrier_kind):
    """(up, knock-in) of a barrier kind: whether it sits above the spot, and whether
    touching it makes the option live (else kills it)."""
    return (barrier_kind == UP_AND_OUT or barrier_kind == UP_AND_IN,
            barrier_kind == UP_AND_IN or barrier_kind == DOWN_AND_IN)


@njit(cache=True, nogil=True)
def touched(s, dates, barrier, up, out):
    """``out[p]`` = whether path p touches the barrier on one of ``dates``: S ≥ B for an
    ``up`` barrier, S ≤ B for a down one."""
    for p in range(s.shape[0]):
        hit = False
        for i in range(dates.size):
            level = s[p, dates[i]]
            if (level >= barrier) if up else (level <= barrier):
                hit = True
                break
        out[p] = hit


@njit(cache=True, nogil=True)
def barrier_payoffs(s, last, hit, knock_in, omega, strike, discount, out):
    """``out[p]`` = a barrier row's discounted payoff on path p, which ``hit[p]`` tells
    touched the barrier (:func:`touched`) or not; ``last`` the column of S_T."""
    for p in range(s.shape[0]):
        alive = hit[p] == knock_in
        out[p] = discount * max(omega * (s[p, last] - strike), 0.0) if alive else 0.0


@njit(cache=True, nogil=True, inline="always")
def table_level(levels, scale, u):
    """The tabulated level at state u: linear in √u between the nodes u_m = (m/``scale``)² of
    ``levels`` (:func:`greeks.models.heston.exercise_rule.level_table`), the end nodes' values
    beyond them."""
    if u <= 0.0:
        return levels[0]
    f = math.sqrt(u) * scale
    last = levels.size - 1
    if f >= last:
        return levels[last]
    m = int(f)
    return levels[m] + (f - m) * (levels[m + 1] - levels[m])


@njit(cache=True, nogil=True)
def stopping_index(s, scale, state, p, dates, discounts, spec, j, policy):
    """The index i (into ``dates``) of path p's exercise date under row j's solved
    ``policy`` (policy 1 exercises on every second date back from maturity and any dividend
    date off a market), −1 if the option ends out of the money; the prices are ``scale`` ·
    ``s`` (a spot moved on the same path).

    ``discounts[i]`` = e^{−r t_{d_i}}; ``state`` (paths × stored dates, or no columns) holds
    the variance state u of a tabulated rule.  A path exercises where its discounted
    intrinsic value reaches the policy's level (``NEVER`` on a date that never exercises)
    and the lower bound ``spec.hold`` of the continuation value (the forward's discounted
    intrinsic value: holding to maturity is worth at least that, so a call on a stock paying
    nothing before maturity is never exercised).  A row with a tabulated rule
    (``spec.table_scale[j]`` > 0) reads it instead of the level: a put exercises where
    x ≤ y_i(u), x = S/K, i.e. S ≤ b_i(θu), a call where x·y_i(u) ≥ 1, i.e. S/K ≥ K/b*_i(θu)
    (:func:`table_level`; y = 0: never), and the lower bound is reached; the policies of the
    vega share policy 0's table where the record holds two (the solved region does not
    depend on v0), and read their own where it holds one per policy (regressed on the
    moved chains: :mod:`greeks.exercise_regression`)."""
    omega, strike = spec.omega[j], spec.strike[j]
    n = dates.size
    with_state = state.shape[1] > 0
    tabulated = spec.table_scale.size > 0 and spec.table_scale[j] > 0.0
    table = policy if policy < spec.table.shape[1] else 0
    for i in range(n):
        col = dates[i]
        level = scale * s[p, col]
        intrinsic = omega * (level - strike)
        if intrinsic <= 0.0:
            continue
        if i == n - 1:
            return i
        bound = omega * (spec.hold[j, 0, i] * level - spec.hold[j, 1, i])
        if tabulated:
            y = table_level(spec.table[j, table, i], spec.table_scale[j],
                            state[p, col] if with_state else 0.0)
            if discounts[i] * intrinsic >= bound and (
                    level * y >= strike if omega > 0.0 else level <= strike * y):
                return i
        elif discounts[i] * intrinsic >= max(spec.policy[j, policy, i], bound):
            return i
    return -1


@njit(cache=True, nogil=True, inline="always")
def _stopped(s, scale, state, p, dates, discounts, spec, j, policy):
    """(discounted payoff, index of the exercise date or −1) of path p under the policy."""
    i = stopping_index(s, scale, state, p, dates, discounts, spec, j, policy)
    if i < 0:
        return 0.0, i
    return discounts[i] * spec.omega[j] * (scale * s[p, dates[i]] - spec.strike[j]), i


@njit(cache=True, nogil=True)
def stopped_payoffs(s, state, dates, discounts, spec, j, policy, y, stops):
    """Every path's discounted payoff ``y`` under row j's ``policy`` and the index into
    ``dates`` of its exercise date ``stops`` (−1: none; :func:`stopping_index`)."""
    for p in range(s.shape[0]):
        y[p], stops[p] = _stopped(s, 1.0, state, p, dates, discounts, spec, j, policy)


@njit(cache=True, nogil=True, inline="always")
def extrapolated_second(near, far, shift):
    """Richardson's second derivative from the second differences ``near`` = Y(θ + δ) − 2Y(θ)
    + Y(θ − δ) and ``far`` (at 2δ), δ = ``shift``: (4 G(δ) − G(2δ))/3 with G(δ) = near/δ²,
    G(2δ) = far/(4δ²), whose O(δ²) terms cancel."""
    return (4.0 * near - 0.25 * far) / (3.0 * shift * shift)


@njit(cache=True, nogil=True, inline="always")
def _stopped_paid(s, state, p, dates, discounts, paid, spec, j, policy):
    """Path p's payoff under the policy, deciding with ``discounts`` (the policy's) and
    discounted by ``paid``."""
    i = stopping_index(s, 1.0, state, p, dates, discounts, spec, j, policy)
    if i < 0:
        return 0.0
    return paid[i] * spec.omega[j] * (s[p, dates[i]] - spec.strike[j])


@njit(cache=True, nogil=True, inline="always")
def extrapolated_difference(near, far, shift):
    """Richardson's derivative from the differences ``near`` = Y(θ + δ) − Y(θ − δ) and ``far``
    = Y(θ + 2δ) − Y(θ − 2δ), δ = ``shift``: (4 D(δ) − D(2δ))/3 with D(δ) = near/(2δ),
    D(2δ) = far/(4δ), whose O(δ²) terms cancel."""
    return (2.0 * near - 0.25 * far) / (3.0 * shift)



@njit(cache=True, nogil=True)
def exercise_values(s, state, vol_s, vol_state, spot_s, dates, date_times, discounts, spec, j,
                    spot, h, vol_step, values, controls, stops, rate_score, reshaped,
                    reshaped_state, reshaped_discounts, carry):
    """Per-path estimators of row j (american or bermudan) under its fixed policy, and
    those of the European option on the same paths (the control variates).

    With Y(S0, σ) the discounted payoff at the exercise date τ that the policy picks on the
    path (:func:`stopping_index`), all on common random numbers, h = ``spot_step`` (relative)
    and k = ``vol_step``, ``values`` (6 × paths) receives

        price  Y(S0, σ)                    (2 Y − Y', Y' under policy 1, with ``richardson``)
        delta  Richardson's extrapolation of the central differences with steps h S0 and
               2 h S0 (:func:`extrapolated_difference`): bias O(h⁴)
        vega   the same extrapolation of the differences in σ with steps k and 2k
               (``vol_s``, ``vol_state``: the paths at σ + k, σ − k, σ + 2k, σ − 2k, paths ×
               stored dates each, under the policies 2–5 of those volatilities)
        gamma  Richardson's extrapolation of the second differences with steps h S0 and
               2h S0 (:func:`extrapolated_second`)
        early exercise  1{τ before maturity}
        exercise time   t_τ (maturity if not exercised early)

    (the spot moves by scaling the path where S is linear in S0, as under both models
    without cash dividends; otherwise ``spot_s`` holds the paths from S0 (1 + h),
    S0 (1 − h), S0 (1 + 2h), S0 (1 − 2h) on the same numbers; the policy is applied afresh
    to every moved path), and ``controls`` (4 × paths) the same four of the European
    option, DF(T) h(S_T) on the same paths; S0 = ``spot``.  A row exercised
    at once (``spec.immediate``) is worth ω (S0 − K) on every path, delta ω, vega and gamma
    0, exercise time 0.  ``stops`` (N_MOVES × paths, or no columns: not kept) receives the
    stopping index (:func:`stopping_index`) of each of the ten values in that order (the
    partner's that of policy 0 without ``richardson``).

    With 8 rows of ``values`` (6 of ``controls``), theta and rho follow (:func:`_fill_carry`;
    :mod:`greeks.models.gbm.exercise_carry`, :mod:`greeks.models.heston.exercise_carry`)
    from ``carry`` (a, b, c, d_0, d_1: theta = a Y − b S0 Δ − c Γ + Σ_m Y_m/d_m; GBM's
    equation r, r − q, ½ σ² S0² of the first step), ``rate_score`` (paths × stored dates:
    the weight R(t) − t of a payoff paid at t for rho, read at the exercise date, optional
    stopping) and ``reshaped`` (2 × paths × stored dates: the paths Y_m are read on, with
    their states ``reshaped_state``, discounted by ``reshaped_discounts``, 2 × dates; the
    market's one-day reshaping at ±E under GBM, the valuation time moved under Heston), each
    Y_m extrapolated as the price is."""
    n = dates.size
    omega, strike = spec.omega[j], spec.strike[j]
    keep = stops.shape[1] > 0
    last = dates[n - 1]
    final = discounts[n - 1]
    scales = np.array([1.0, 1.0, 1.0 + h, 1.0 - h, 1.0 + 2.0 * h, 1.0 - 2.0 * h])
    moved = spot_s.shape[0] > 0
    y, ends = np.empty(N_MOVES), np.empty(N_MOVES)
    index = np.empty(N_MOVES, dtype=np.int64)
    carried = values.shape[0] > 6
    for p in range(s.shape[0]):
        if spec.immediate[j]:
            _immediate(values, controls, p, omega, spot, strike)
            if carried:
                values[6, p] = values[7, p] = 0.0
            continue
        y[0], i = _stopped(s, 1.0, state, p, dates, discounts, spec, j, 0)
        index[0] = index[1] = i
        if spec.richardson[j]:
            y[1], index[1] = _stopped(s, 1.0, state, p, dates, discounts, spec, j, 1)
        else:
            y[1] = y[0]
        for m in range(2, 6):
            if moved:
                y[m], index[m] = _stopped(spot_s[m - 2], 1.0, state, p, dates, discounts, spec,
                                          j, 0)
            else:
                y[m], index[m] = _stopped(s, scales[m], state, p, dates, discounts, spec, j, 0)
        for m in range(4):
            y[6 + m], index[6 + m] = _stopped(vol_s[m], 1.0, vol_state[m], p, dates, discounts,
                                              spec, j, 2 + m)
            ends[6 + m] = final * max(omega * (vol_s[m, p, last] - strike), 0.0)
        if keep:
            stops[:, p] = index
        for m in range(6):
            end = spot_s[m - 2, p, last] if moved and m >= 2 else scales[m] * s[p, last]
            ends[m] = final * max(omega * (end - strike), 0.0)
        _fill(values, controls, p, y, ends, i, date_times, h * spot, vol_step)
        if carried:
            _fill_carry(values, controls, p, spot, carry[0], carry[1], carry[2],
                        _at_stop(y[0], rate_score, p, dates, i),
                        _at_stop(y[1], rate_score, p, dates, index[1]),
                        ends[0] * rate_score[p, last])
            for m in range(2):
                near = _stopped_paid(reshaped[m], reshaped_state[m], p, dates, discounts,
                                     reshaped_discounts[m], spec, j, 0)
                far = (_stopped_paid(reshaped[m], reshaped_state[m], p, dates, discounts,
                                     reshaped_discounts[m], spec, j, 1)
                       if spec.richardson[j] else near)
                values[6, p] += (2.0 * near - far) / carry[3 + m]
                controls[4, p] += reshaped_discounts[m, n - 1] * max(
                    omega * (reshaped[m, p, last] - strike), 0.0) / carry[3 + m]


N_MOVES = 10  # the values of exercise_values' estimators on one path (_fill)
SPOT_STEP = 0.03  # h of the early-exercise delta and gamma (S0 (1 ± h), greeks.exercise)


@njit(cache=True, nogil=True, inline="always")
def _immediate(values, controls, p, omega, spot, strike):
    """Path p of a row exercised at once: ω (S0 − K), delta ω, no vega or gamma, time 0."""
    values[0, p], values[1, p] = omega * (spot - strike), omega
    values[2, p] = values[3, p] = values[5, p] = 0.0
    values[4, p] = 1.0
    controls[:, p] = 0.0


@njit(cache=True, nogil=True, inline="always")
def _fill(values, controls, p, y, ends, i, date_times, shift, vol_step):
    """Path p's estimators (:func:`exercise_values`) from ``y``, the discounted payoffs under
    the policies at (S0, σ), its Richardson partner (policy 1, else the same), S0 (1 ± h),
    S0 (1 ± 2h), σ ± k, σ ± 2k, in that order, ``ends`` the European payoffs at the same
    points (the partner's unused), and i the exercise date's index at (S0, σ)."""
    n = date_times.size
    values[0, p] = 2.0 * y[0] - y[1]
    values[1, p] = extrapolated_difference(y[2] - y[3], y[4] - y[5], shift)
    values[2, p] = extrapolated_difference(y[6] - y[7], y[8] - y[9], vol_step)
    values[3, p] = extrapolated_second(y[2] + y[3] - 2.0 * y[0], y[4] + y[5] - 2.0 * y[0], shift)
    early = 0 <= i < n - 1
    values[4, p] = 1.0 if early else 0.0
    values[5, p] = date_times[i] if early else date_times[n - 1]
    controls[0, p] = ends[0]
    controls[1, p] = extrapolated_difference(ends[2] - ends[3], ends[4] - ends[5], shift)
    controls[2, p] = extrapolated_difference(ends[6] - ends[7], ends[8] - ends[9], vol_step)
    controls[3, p] = extrapolated_second(ends[2] + ends[3] - 2.0 * ends[0],
                                         ends[4] + ends[5] - 2.0 * ends[0], shift)


@njit(cache=True, nogil=True)
def exercise_values_solved(w, means, sigmas, dates, date_times, discounts, edges, spec, j,
                           spot, h, vol_step, rate, dividend, values, controls, stops):
    """:func:`exercise_values` for a policy of exercise boundaries, on log-prices: the path at
    volatility σ_m (m = 0 … 4: σ, σ + k, σ − k, σ + 2k, σ − 2k) is x_m = ``means[m]`` +
    σ_m ``w`` (the Brownian paths, paths × stored dates), the spot moved by log(1 ± h) and
    log(1 ± 2h), and the policy exercises on date i where ω x ≥ ω ``edges[policy, i]``
    (log b_i; ∓inf where it never does; log K at maturity), the payoff then
    e^{−r t_i} ω (e^x − K): the same rule as :func:`stopping_index`'s, with no price stored
    and no exponential but at the exercise date.

    With 8 rows of ``values`` (6 of ``controls``), theta and rho follow
    (:func:`_fill_carry`): r = ``rate``, q = ``dividend``.  ``stops`` as in
    :func:`exercise_values`."""
    n = dates.size
    omega, strike = spec.omega[j], spec.strike[j]
    last = dates[n - 1]
    final = discounts[n - 1]
    shifts = np.log(np.array([1.0, 1.0, 1.0 + h, 1.0 - h, 1.0 + 2.0 * h, 1.0 - 2.0 * h]))
    y, ends = np.empty(N_MOVES), np.empty(N_MOVES)
    carry = values.shape[0] > 6
    keep = stops.shape[1] > 0
    for p in range(w.shape[0]):
        if spec.immediate[j]:
            _immediate(values, controls, p, omega, spot, strike)
            if carry:
                values[6, p] = values[7, p] = 0.0
            continue
        i = partner = 0
        for m in range(N_MOVES):
            path = m - 5 if m >= 6 else 0  # the volatility of the move
            policy = 1 if m == 1 else (m - 4 if m >= 6 else 0)
            shift = shifts[m] if m < 6 else 0.0
            if m == 1 and not spec.richardson[j]:
                y[1] = y[0]
                if keep:
                    stops[1, p] = i
                continue
            stop = -1
            level = 0.0
            for d in range(n):
                col = dates[d]
                level = means[path, col] + sigmas[path] * w[p, col] + shift
                if omega * level >= omega * edges[policy, d]:
                    stop = d
                    break
            y[m] = discounts[stop] * omega * (np.exp(level) - strike) if stop >= 0 else 0.0
            if keep:
                stops[m, p] = stop
            if m == 0:
                i = stop
            elif m == 1:
                partner = stop
            if m != 1:  # the partner's path is the base's: _fill reads no ends[1]
                level = means[path, last] + sigmas[path] * w[p, last] + shift
                ends[m] = final * max(omega * (np.exp(level) - strike), 0.0)
        _fill(values, controls, p, y, ends, i, date_times, h * spot, vol_step)
        if carry:
            partner = partner if spec.richardson[j] else i
            sigma = sigmas[0]
            rho = y[0] * (w[p, dates[i]] / sigma - date_times[i]) if i >= 0 else 0.0
            moved = (y[1] * (w[p, dates[partner]] / sigma - date_times[partner])
                     if partner >= 0 else 0.0)
            _fill_carry(values, controls, p, spot, rate, rate - dividend,
                        0.5 * sigma * sigma * spot * spot, rho, moved,
                        ends[0] * (w[p, last] / sigma - date_times[n - 1]))


@njit(cache=True, nogil=True, inline="always")
def _fill_carry(values, controls, p, spot, rate, carry, scale, rho, rho_partner, rho_end):
    """Path p's theta and rho under the fixed policy (``values`` rows 6 and 7, ``controls``
    rows 4 and 5: the same of the European option), from its price, delta and gamma (rows
    0, 1, 3, filled by :func:`_fill`) and its likelihood-ratio rho terms: ``rho`` = Y R(τ)
    at the exercise date τ, ``rho_partner`` the same under the Richardson partner's policy
    (``rho`` itself without ``richardson``), ``rho_end`` the European payoff's at maturity:

        theta  r Y − (r − q) S0 Δ − ½ σ² S0² Γ   (the Black–Scholes equation at t = 0;
               ``carry`` = r − q, ``scale`` = ½ σ² S0²)
        rho    2 Y R(τ) − Y' R(τ')                (extrapolated as the price is)

    R(t) = W_t/σ − t under a flat market: r enters the log-price's drift (r − q − σ²/2) t,
    so the path's score is W_T/σ; Y is known at the stopping time τ, so E[Y W_T] = E[Y W_τ]
    (optional stopping), and −τ Y is the derivative of the discount e^{−r τ}."""
    values[6, p] = rate * values[0, p] - carry * spot * values[1, p] - scale * values[3, p]
    controls[4, p] = rate * controls[0, p] - carry * spot * controls[1, p] \
        - scale * controls[3, p]
    values[7, p] = 2.0 * rho - rho_partner
    controls[5, p] = rho_end


@njit(cache=True, nogil=True, inline="always")
def _at_stop(y, weights, p, dates, i):
    """Y times path p's weight at its exercise date of index i (0 where i < 0: none)."""
    return y * weights[p, dates[i]] if i >= 0 else 0.0
