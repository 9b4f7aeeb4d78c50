"""Early exercise: the exercise policy of american and bermudan rows, and their estimators
under that fixed policy.

Policy. A model that solves its exercise boundaries (``solves_exercise``: GBM, whose
finite-difference grid gives the optimal boundary b_i of the Bermudan option on the row's own
exercise dates, :func:`greeks.models.gbm.american.exercise_boundaries`) exercises on date t_i
where the price has crossed b_i (a put S ≤ b_i, a call S ≥ b_i; :func:`solved_policy`): the
optimal policy of the simulated product up to the grid's error, found in tens of milliseconds,
with no regression noise. A model without them solves each row's policy as a table of the
boundary's level on a grid uniform in √u, u the variance state (``exercise_table``: Heston
puts, x ≤ b_i(θu)/K from the ADI solution's boundary b_i(v), and calls, x ≥ K/b*_i(θu) from
the symmetric put's, or where it has none, κ − ρξ ≤ 0, from the call's own b_i; off a market
the put's or the call's own on the curves with the discrete dividends;
:mod:`greeks.models.heston.exercise_rule`, :func:`_tables`), which the stopping kernel
interpolates. Either way the pilot, one chunk of paths on streams of its own
(``streams.POLICY``), serves only the controls' coefficients and the test for immediate
exercise below.  On request (``ExercisePolicy`` ``regression``: ``--policy regression``) the
rule is instead regressed by Longstaff–Schwartz on the pilot's ``paths`` paths (chunks
``streams.POLICY`` + c), in the same per-date form, a level per date or a table in u
(:func:`_regressed`, :mod:`greeks.exercise_regression`); the estimators below are unchanged.

Estimates. The main run prices the row on fresh paths under the fixed policy
(:func:`greeks.payoffs.exercise_values`, :func:`greeks.payoffs.exercise_values_solved`): a
stopping rule that does not look at the main paths' future, so its mean is the value of a
feasible strategy, a lower bound of the price; its gap is the policy's suboptimality
(docs/american.md; no gap beyond the grid's error for a solved policy). An ``american`` row is
exercisable at any time; it is simulated on an exercise grid (its ``fixings``, daily by
default) and extrapolated to continuous exercise, V ≈ 2 V(Δ) − V(2Δ), the second policy that of
every second date back from maturity, on the same paths (the gap of a Bermudan option to the
American one is first order in Δ); where the pilot's value of waiting is below the intrinsic
value at t = 0, or S0 lies beyond a solved boundary's first date (:func:`_beyond_first_boundary`),
it is exercised at once (``spec.immediate``).  Every exercise decision also
needs the intrinsic value to reach a lower bound of the continuation value, the forward's
discounted intrinsic value (:func:`holds`).  Off a market an exercise on t_i is discounted
by the curve's DF(t_i), and an american row's grid also holds its dividend dates
(:func:`greeks.market.positions.dividend_dates`): each ex-date τ before maturity (the price
just after the drop, where a put's exercise pays) and the instant
:data:`greeks.market.positions.CUM` before each cash one (the price before it: a call's), in
both Richardson grids, not counted in the stepping (:func:`_exercise_dates`).  Exercise
clusters at a drop; a grid that misses it exercises up to a step late, by an amount that
depends on where τ falls between two dates, not on Δ alone, which the extrapolation would
not remove (docs/american.md).

Greeks: central differences of the fixed policy's value on common random numbers, the
policy applied afresh to every moved path,

    delta = (4 D(h) − D(2h)) / 3,  D(h) = (Y(S0 (1 + h)) − Y(S0 (1 − h))) / (2 h S0),
    gamma = (4 G(h) − G(2h)) / 3,  G(h) = (Y(S0 (1 + h)) − 2 Y(S0) + Y(S0 (1 − h))) / (h S0)²,
    vega  = (4 E(k) − E(2k)) / 3,  E(k) = (Y(σ + k) − Y(σ − k)) / (2 k),

h the adapter's ``exercise_spot_step`` (the largest step of a ladder, 3 % … 0.5 %, at which
a smooth proxy's same extrapolation keeps its bias below 5·10⁻⁵ in delta,
:mod:`greeks.exercise_step`: under GBM the policy's own finite-difference value,
:mod:`greeks.models.gbm.spot_step`, under Heston the European option,
:mod:`greeks.models.heston.spot_step`), k its ``exercise_vol_step``; S is
linear in S0 under both models, so the moved spots are the same paths scaled.  Why not the
pathwise derivative with the stopping time held fixed (envelope argument: at the optimal
policy moving the policy changes the value only to second order)?  With discrete exercise
the value is kinked at the boundary and, with a fitted boundary, the pathwise derivative's error is
first order in the boundary's error, summed over every date a path spends near it: on a
daily grid, several per cent (docs/american.md).  The fixed policy's own value V_π is what
the differences differentiate: its loss against the optimal value is second order in the
policy's error at every nearby spot (the optimal exercise region in S does not depend on
S0), so the delta and gamma inherit no first-order policy error.  The optimal boundary does
move with σ, so the vega's values at σ ± k and σ ± 2k are taken under the policies of
those volatilities (policies 2–5: solved there; a table's region in (S, v) does not depend on
v0, so Heston's share policy 0's; regressed ones are fitted on the pilot moved to those
volatilities, Heston's too).
Central differences have bias O(h²) (at h = 3 % about 0.2–0.45 % of an American put's
delta, at k = 0.02 up to 0.8 % of its vega: as much as their SEs at 200,000 paths), hence
Richardson's step over h and 2h (k and 2k), which leaves O(h⁴) (below 0.002 % of the
delta, 0.07 % of the vega on the Longstaff–Schwartz puts), and variance O(1/h) from the
paths whose exercise date the move changes (O(1/h³) for gamma's second differences: where
the hedge control below is not available, gamma's SE is about 1.3 times that of G(h) alone,
whose bias of 0.03–0.17 % of the gamma would grow in SEs with the paths).

Theta and rho (models with ``carries_exercise``: GBM, :mod:`greeks.models.gbm.
exercise_carry`, with and without a market; Heston's theta by differences of chains with the
valuation time moved and its rho by the same likelihood ratio on the log-price increments given
the variance path, :mod:`greeks.models.heston.exercise_carry`).
Between the valuation time and the first exercise date the fixed policy's value V_π(t, S)
is the discounted expectation of
V_π(t_1, S_{t_1}), so it solves the Black–Scholes equation whatever the policy, and at t = 0

    theta = ∂V_π/∂t = r V − (r − q) S0 Δ − ½ σ² S0² Γ,

per path from the path's own price, delta and gamma estimators (their covariances are in
its SE; an american row's V the extrapolated price, Δ and Γ those of its grid; off a market
the forwards of the first step, plus the reshaping of the curves a day later).  Rho is
the likelihood ratio of the fixed policy's value, Y (W_τ/σ − τ): r moves the log-price's
drift, whose score over the path is W_T/σ, Y is known at the exercise time τ, so the score
may stop there (optional stopping), and −τ Y differentiates the discount.  It counts the
paths whose exercise date moves with r (no bias from a step), and measured on the Longstaff–Schwartz
put (S0 = 36, daily dates) its SE was 0.65 times that of the pathwise derivative with τ held fixed
and 0.17 times that of central differences at r ± 0.01 (``benchmarks/american_carry.py``;
docs/american.md). Why the policy may stay fixed: V_π ≤ V with equality at the optimal policy, so
moving the policy by ε changes the value by O(ε²) (the envelope argument), and the derivative of V_π
at fixed π is that of V up to the product of the boundary's own error (the grid's, a fraction of a
grid step) and the loss's curvature. For a bermudan row, whose dates stay fixed in calendar time,
moving the valuation time does not move the optimal boundaries at all (the problem from t_1 on is
unchanged); an american row's window [now, T] shortens, which moves them, at second order again. On
a discrete grid the value is kinked across each date's boundary, V_i = max(h, C_i): the first-order
effect of a moved boundary is the density of paths there times (h − C_i)(b_i), zero at the optimal
b_i, which is what makes the envelope hold date by date. A row exercised at once has
theta and rho 0 (its value ω (S0 − K) does not depend on t or r).

Each of the four gets the European option on the same paths (the same differences of
e^{−rT} h(S_T)) as a control variate, Y − β (C − μ), μ their exact means from the closed
form (the adapter's ``european_price``), β the least-squares coefficient on the pilot (a
constant for the main paths, so the estimate stays unbiased); a model may put a control of
its own in their place (:meth:`greeks.models.base.Model.exercise_controls`:
Heston rows across a cash dividend, whose European option has no closed form, take the
discounted unfloored price for the price's).  Where the model
has them (:meth:`greeks.models.base.Model.exercise_hedges`: Heston on a martingale chain,
GBM but off a market with cash dividends; :mod:`greeks.exercise_hedge`), a second control of
exact mean zero joins it, the European option's delta hedge stopped at each moved path's
exercise date and differenced as the estimator is, Y − β (C − μ) − γ H, β and γ jointly
least-squares on the same pilot chunk (theta's the equation's combination of the price's,
delta's and gamma's: ``HEDGED_ROWS``); theta and rho get the same estimators of the
European option's (the controls' means: :meth:`greeks.models.base.Model.
exercise_carry_means`).  Two further columns: the probability of exercise before maturity
and the expected exercise time (maturity for paths not exercised early).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from numba import njit

from greeks import exercise_regression, payoffs, sensitivities, streams
from greeks.market.factors import DAY
from greeks.market.positions import dividend_dates
from greeks.models import adapter as model_of
from greeks.models.base import BrownianPaths
from greeks.names import DEFAULT_POLICY_PATHS, ExercisePolicy
from greeks.payoffs import NEVER, SPOT_STEP
from greeks.stats import unit_moments

POLICY_PATHS = DEFAULT_POLICY_PATHS  # the solved policy's pilot: the first chunk of these
REGRESSION = "regression"
N_STATISTICS = 2  # early-exercise probability, expected exercise time
# rows of the per-path values (greeks.payoffs.exercise_values_solved) of the further Greeks
FURTHER_ROWS = {sensitivities.GAMMA: 3, sensitivities.THETA: 6, sensitivities.RHO: 7}
CONTROLLED_ROWS = [0, 1, 2, 3, 6, 7]  # the rows with a European control, in its order
HEDGED_ROWS = [0, 1, 2, 3, 6]  # the rows with a hedge control, in its order
# the exercise kernel's theta and rho arguments where a chunk has none
NO_CARRY = (np.empty((0, 0)), np.empty((2, 0, 0)), np.empty((2, 0, 0)), np.empty((2, 0)),
            np.zeros(5))


def solved_policy(edges: np.ndarray, discounts: np.ndarray, omega: float, strike: float,
                  dates: np.ndarray) -> np.ndarray:
    """The levels (per date) of a policy from solved exercise boundaries ``edges`` (one per
    exercise date before maturity, their indices ``dates``, increasing): exercise on date t_i
    where the discounted intrinsic value reaches e^{−r t_i} ω (b_i − K), the other dates
    ``NEVER``."""
    policy = np.full(discounts.size, NEVER)
    fitted = np.isfinite(edges) & (edges > 0.0)
    policy[dates[fitted]] = discounts[dates[fitted]] * omega * (edges[fitted] - strike)
    return policy


def row_dates(group, columns: np.ndarray, j: int):
    """(the stored column, time and discount factor of each of row j's dates: e^{−r t}, or
    off a market DF(t) of the curve)."""
    part = slice(group.date_start[j], group.date_start[j + 1])
    return (np.ascontiguousarray(columns[part]),) + _times_and_discounts(group, j)


def _times_and_discounts(group, j: int):
    """(time, discount factor) of each of row j's dates (:func:`row_dates`)."""
    index = group.dates_of(j)
    times = group.times[index]
    discounts = (np.exp(-group.payoff.rate[j] * times) if group.market is None
                 else group.market.discount[index])
    return times, discounts


def prepare(group, seed: int, first_chunk: int = 0, policy: ExercisePolicy = ExercisePolicy(),
            choose: bool = False):
    """The group with each row's policies (:func:`_policies`, :func:`_tables`; under a
    ``regression`` policy fitted on the pilot's draws, :func:`_pilot`), the European
    controls' means (``exercise_means``, rows × 4, × 6 with theta and rho) and coefficients
    (``exercise_coef``, from the pilot's first chunk), and the hedge controls' coefficients
    (``hedge_coef``, rows × 5; 0 where the model has none).  With ``choose`` (``auto``) a
    group in antithetic pairs goes on single paths where its pilot's pairs say so
    (:func:`_single_pays`)."""
    model = model_of(group.model)
    spec = group.payoff
    solved = model.solves_exercise
    group = replace(group, payoff=spec._replace(hold=holds(group)))
    spec = group.payoff
    pilot, draws = _pilot(group, model, seed, first_chunk, policy)
    rules = ((_policies(group, model), _tables(group, model)) if draws is None
             else _regressed(group, model, draws, policy.basis))
    group = replace(group, payoff=spec._replace(policy=rules[0], **rules[1]))
    step = model.exercise_vol_step(group)
    sigma = model.vega_sigma(group.params)
    means = np.array([european_greeks(lambda spot, sigma, j=j: model.european_price(
        group, j, spot, sigma), group.spot, sigma, step, model.exercise_spot_step(group, j))
        for j in range(group.n_rows)])
    if _carried(group):
        means = np.concatenate([means, model.exercise_carry_means(group, means, sigma)], axis=1)
    coef = np.zeros((group.n_rows, means.shape[1]))
    hedge_coef = np.zeros((group.n_rows, len(HEDGED_ROWS)))
    immediate = np.zeros(group.n_rows, dtype=bool)
    residuals = []
    for j in range(group.n_rows):
        values, controls, hedges = _row_values(group, pilot, j)
        known = np.isfinite(means[j])  # a control without a known mean is not used
        estimates = values[CONTROLLED_ROWS[:controls.shape[0]]]
        centred = controls - controls.mean(axis=1, keepdims=True)
        variance = (centred * centred).sum(axis=1)
        cross = (centred * (estimates - estimates.mean(axis=1, keepdims=True))).sum(axis=1)
        coef[j] = np.divide(cross, variance, out=np.zeros(coef.shape[1]), where=variance > 0)
        for g in range(0 if hedges is None else hedges.shape[0]):  # both controls jointly
            c = CONTROLLED_ROWS.index(HEDGED_ROWS[g])
            coef[j, c], hedge_coef[j, g] = _joint_coefficients(
                values[HEDGED_ROWS[g]], controls[c], hedges[g], known[c] and known[:4].all())
        means[j, ~known], coef[j, ~known] = 0.0, 0.0
        if spec.kind[j] == payoffs.AMERICAN and (
                spec.omega[j] * (group.spot - spec.strike[j]) > values[0].mean()
                or solved and _beyond_first_boundary(group, j)):
            immediate[j], coef[j], hedge_coef[j] = True, 0.0, 0.0
        elif choose and group.antithetic:
            residuals.append(_controlled(values, controls, hedges, coef[j], means[j],
                                         hedge_coef[j])[:3])
    paired = not (residuals and _single_pays(residuals, model.single_cost[
        group.market is not None]))
    return replace(group, payoff=group.payoff._replace(immediate=immediate),
                   exercise_means=means, exercise_coef=coef, hedge_coef=hedge_coef,
                   antithetic=group.antithetic and paired)


def _single_pays(residuals: list, cost: float) -> bool:
    """Whether a group's rows go on single paths rather than antithetic pairs, from the
    pilot's pairs (path i's partner i + n/2): ``residuals``, per row not exercised at once,
    its controlled per-path price, delta and vega (:func:`controlled_values`).  At equal
    paths a pair's mean has variance σ²(1 + ρ)/2 where two single paths have σ²/2, so single
    paths have the efficiency (1 + ρ)/c, c their ``cost`` per path relative to pairs (the
    model's ``single_cost``); single where the geometric mean of 1 + ρ over the rows and
    Greeks exceeds c.  Estimates the controls leave at rounding noise (a row never
    exercised early: its value is its European control) are not counted; one whose pairs
    cancel exactly (1 + ρ = 0) keeps the group on pairs.  One choice for the group: its
    rows share their paths."""
    logs = []
    for values in residuals:
        units = values.shape[1] // 2
        alone = values[:, :2 * units].var(axis=1)
        paired = (0.5 * (values[:, :units] + values[:, units:2 * units])).var(axis=1)
        scale = np.abs(values).max(axis=1)
        used = alone > (1e-10 * scale) ** 2
        with np.errstate(divide="ignore"):
            logs.extend(np.log(2.0 * paired[used] / alone[used]).tolist())
    return bool(logs) and float(np.mean(logs)) > math.log(cost)


def _beyond_first_boundary(group, j: int) -> bool:
    """Whether S0 lies in the exercise region of row j's solved boundary on its first
    exercise date (policy 0): an american row there is exercised at once.  The pilot's
    extrapolated value 2 V(Δ) − V(2Δ) of a row deep in that region equals the intrinsic
    value up to O(Δ²) and noise, so comparing the two alone may leave it unexercised."""
    spec = group.payoff
    _, discounts = _times_and_discounts(group, j)
    if discounts.size < 2:
        return False
    edges = log_edges(spec.policy[j, :1, :discounts.size], discounts, spec.omega[j],
                      spec.strike[j])
    return bool(spec.omega[j] * math.log(group.spot) >= spec.omega[j] * edges[0, 0])


def _carried(group) -> bool:
    """Whether the group estimates theta or rho (a model with ``carries_exercise``:
    :meth:`greeks.engine.group.Group.with_extra`)."""
    return bool(np.isin(group.extra, (sensitivities.THETA, sensitivities.RHO)).any())


def _joint_coefficients(values: np.ndarray, control: np.ndarray, hedge: np.ndarray,
                        european: bool) -> tuple[float, float]:
    """The least-squares coefficients of one estimator's per-path ``values`` on its European
    control and its hedge control together (the European one 0 where not ``european``)."""
    columns = np.stack([control, hedge] if european else [hedge], axis=1)
    columns = columns - columns.mean(axis=0)
    beta = np.linalg.lstsq(columns, values - values.mean(), rcond=None)[0]
    return (float(beta[0]), float(beta[1])) if european else (0.0, float(beta[0]))


def holds(group) -> np.ndarray:
    """(rows, 2, max dates): A_i, B_i of each row's lower bound ω (A_i S − B_i) of the
    discounted continuation value at date t_i (:func:`greeks.payoffs.stopping_index`).
    Holding to maturity T is worth at least the European option, whose value is at least
    the discounted intrinsic value of the forward (:func:`forwards`); a put with cash
    dividends ahead gets none, −inf (E[S_T | S_{t_i}] is more than the forward where a drop
    is floored at 0: still a bound for a call)."""
    width = int(np.diff(group.date_start).max())
    out = np.zeros((group.n_rows, 2, width))
    for j in range(group.n_rows):
        bound, carried = forwards(group, j)
        n = carried.size
        out[j, :, :n] = bound
        if group.payoff.omega[j] < 0:
            none = carried > 0
            out[j, 0, :n][none], out[j, 1, :n][none] = 0.0, -np.inf
    return out


def forwards(group, j: int) -> tuple[np.ndarray, np.ndarray]:
    """((2, dates) A_i = DF(T) G(T)/G(t_i), B_i = DF(T) (K + C_i) of row j, and C_i): the
    European option's discounted forward A_i S and strike B_i at date t_i, DF(T) ω (S
    G(T)/G(t_i) − K − C_i) its forward's discounted intrinsic value, G the growth
    (e^{(r−q) t} for flat rows), C_i the cash dividends paid in (t_i, T] carried to T
    (E[S_T | S_{t_i}] = S G(T)/G(t_i) − C_i)."""
    spec = group.payoff
    index = group.dates_of(j)
    n, last = index.size, index[-1]
    times = group.times[index]
    if group.market is None:
        final = spec.discount[j]
        growth = np.exp((group.rate - group.dividend) * (times[-1] - times))
        carried = np.zeros(n)
    else:
        final = group.market.discount[last]
        g = group.market.growth
        growth = g[last] / g[index]
        paid = np.divide(group.market.cash * g[last], g,
                         out=np.zeros_like(g), where=group.market.cash > 0)
        after = np.append(np.cumsum(paid[::-1])[::-1], 0.0)  # Σ over grid points ≥ k
        carried = after[index + 1] - after[last + 1]
    return np.array([final * growth, final * (spec.strike[j] + carried)]), carried


def _policies(group, model) -> np.ndarray:
    """(rows, 6, dates): each row's policies on every date (0), every second date back from
    maturity (1, the Richardson partner of an american row), and every date at σ + k (2),
    σ − k (3), σ + 2k (4) and σ − 2k (5), the vega's, from the model's exercise boundaries
    (:func:`solved_policy`; a partner's 0 where a row has none); zeros in a model that rules
    its rows by a table instead (:func:`_tables`)."""
    spec = group.payoff
    width = int(np.diff(group.date_start).max())
    policy = np.zeros((group.n_rows, 6, width))
    if not model.solves_exercise:
        return policy
    step = model.exercise_vol_step(group)
    sigma = model.vega_sigma(group.params)
    for j in range(group.n_rows):
        n = group.date_start[j + 1] - group.date_start[j]
        for k, at_sigma, every in _policy_volatilities(spec, j, sigma, step):
            policy[j, k, :n] = solved_levels(group, model, j, at_sigma, every)
    return policy


def _policy_volatilities(spec, j: int, sigma: float, step: float):
    """(k, volatility, every) of row j's policies k (:func:`_policies`), on every
    ``every``-th date back from maturity: σ on every date (0) and every second date (1, an
    american row's Richardson partner; none without one), σ + k, σ − k, σ + 2k, σ − 2k
    on every date (2–5)."""
    for k, at_sigma in enumerate((sigma, sigma, sigma + step, sigma - step,
                                  sigma + 2 * step, sigma - 2 * step)):
        if k == 1 and not spec.richardson[j]:
            continue
        yield k, at_sigma, 2 if k == 1 else 1


def solved_levels(group, model, j: int, sigma: float, every: int = 1) -> np.ndarray:
    """Row j's policy levels (:func:`solved_policy`) on every ``every``-th date back from
    maturity (:func:`_exercise_dates`) from the model's boundaries at volatility ``sigma``
    (off a market: on the group's market, its vol curve moved in parallel by σ − σ_ref)."""
    _, times, discounts = row_dates(group, group.date_index, j)
    dates = _exercise_dates(group, j, every)
    edges = model.exercise_boundaries(group, j, sigma, times[np.append(dates, times.size - 1)])
    return solved_policy(edges, discounts, group.payoff.omega[j], group.payoff.strike[j], dates)


def _pilot(group, model, seed: int, first_chunk: int, policy: ExercisePolicy):
    """(the pilot's first chunk of paths, the controls' coefficients' and the test for
    immediate exercise's, and under a ``regression`` policy every row's draws
    (:func:`_draws`) over its ``policy.paths`` paths, None otherwise).  Chunk c of the
    pilot is drawn from the streams ``streams.POLICY`` + c."""
    regressed = policy.kind == REGRESSION
    chunks = group.chunks(policy.paths if regressed else POLICY_PATHS)
    first, draws, start = None, None, 0
    for c, n in chunks if regressed else chunks[:1]:
        paths = model.exercise_paths(group, np.random.SeedSequence(
            seed, spawn_key=(*group.spawn_words, streams.POLICY + first_chunk + c)), n)
        if first is None:
            first = paths
        if regressed:
            if draws is None:
                total = sum(size for _, size in chunks)
                draws = [_draws(group, paths, j, total) for j in range(group.n_rows)]
            for j in range(group.n_rows):
                columns = paths.columns[group.date_start[j]:group.date_start[j + 1]]
                for name, array in _arrays(paths).items():
                    exercise_regression.gather(array, columns, start, draws[j][name])
        start += n
    return first, draws


def _arrays(paths) -> dict:
    """What a regression reads of a chunk of pilot ``paths``: the Brownian paths (``w``) of
    :class:`BrownianPaths`; otherwise the prices (``("s", 0)``) and their moved ones at
    σ ± k, σ ± 2k (``("s", 1)`` … ``("s", 4)``, the vega's policies'), and the variance
    states where there are some (``("u", m)``)."""
    if isinstance(paths, BrownianPaths):
        return {"w": paths.w}
    arrays = {("s", 0): paths.s}
    arrays.update({("s", m + 1): paths.vol_s[m] for m in range(paths.vol_s.shape[0])})
    if paths.state.shape[1]:
        arrays[("u", 0)] = paths.state
        arrays.update({("u", m + 1): paths.vol_state[m] for m in range(paths.vol_s.shape[0])})
    return arrays


def _draws(group, paths, j: int, total: int) -> dict:
    """Row j's pilot draws, date-major (dates × ``total`` paths), one array per name of
    :func:`_arrays`; from Brownian ``paths`` also their log-price's ``means`` and
    ``sigmas``."""
    n = group.date_start[j + 1] - group.date_start[j]
    out = {name: np.empty((n, total)) for name in _arrays(paths)}
    if isinstance(paths, BrownianPaths):
        out.update(means=paths.means, sigmas=paths.sigmas)
    return out


def _pilot_moneyness(draws: dict, columns: np.ndarray, source: int,
                     strike: float) -> tuple[np.ndarray, np.ndarray]:
    """(x = S/K, states) date-major of a row's pilot ``draws`` at σ (``source`` 0), σ + k
    (1), σ − k (2), σ + 2k (3) or σ − 2k (4), each path's prices scaled by its start's
    dispersion (:func:`greeks.exercise_regression.dispersion`: S is linear in S0); no state
    rows without one."""
    spread = exercise_regression.dispersion(next(iter(draws.values())).shape[1])
    if "w" in draws:  # S = exp(mean + σ w), in place: the arrays are large
        x = np.multiply(draws["w"], draws["sigmas"][source])
        x += (draws["means"][source, columns] - np.log(strike))[:, None]
        x += spread
        np.exp(x, out=x)
    else:
        x = draws["s", source] * (np.exp(spread) / strike)
    return x, draws.get(("u", source), np.empty((0, x.shape[1])))


def _regressed(group, model, draws: list, basis: int) -> tuple[np.ndarray, dict]:
    """The payoff record's ``policy`` and tables (:func:`_policies`, :func:`_tables`) of a
    regressed policy, fitted on each row's pilot ``draws``
    (:func:`greeks.exercise_regression.fit_rule`), policies 2–5 at σ ± k, σ ± 2k on the
    same draws moved (common random numbers): in a model that solves its boundaries (no
    state) each date's level; otherwise six tables on the model's nodes
    (:meth:`greeks.models.base.Model.exercise_table_nodes`).  The solved Heston rule's
    vega shares policy 0's table, its region being optimal at every v0; a regressed table
    fits the states its pilot visits (on early dates a narrow range about v0/θ), so its
    loss moves with v0 at first order, and each volatility gets its own fit as under GBM."""
    spec = group.payoff
    width = int(np.diff(group.date_start).max())
    solved = model.solves_exercise
    policy = np.zeros((group.n_rows, 6, width))
    step = model.exercise_vol_step(group)
    sigma = model.vega_sigma(group.params)
    tables, scale = {}, np.zeros(group.n_rows)
    for j in range(group.n_rows):
        columns, times, discounts = row_dates(group, group.date_index, j)
        n, strike, omega = times.size, float(spec.strike[j]), float(spec.omega[j])
        forward = forwards(group, j)[0]
        scale[j], nodes = (0.0, np.zeros(1)) if solved else model.exercise_table_nodes(group,
                                                                                       times)
        for k, at_sigma, every in _policy_volatilities(spec, j, sigma, step):
            x, state = _pilot_moneyness(draws[j], columns, 0 if k < 2 else k - 1, strike)
            dates = _exercise_dates(group, j, every)
            levels = np.zeros((n, nodes.size))
            exercise_regression.fit_rule(
                x, state, discounts, spec.hold[j, :, :n], forward,
                model.exercise_variance(group, j, times, at_sigma), omega, strike, dates,
                basis, nodes, scale[j], levels)
            if not solved:
                tables[j, k] = levels
                continue
            with np.errstate(divide="ignore"):
                edges = strike * (levels[dates, 0] if omega < 0 else 1.0 / levels[dates, 0])
            policy[j, k, :n] = solved_policy(edges, discounts, omega, strike, dates)
    if solved:
        return policy, {}
    table = np.zeros((group.n_rows, 6, width, nodes.size))
    for (j, k), levels in tables.items():
        table[j, k, :levels.shape[0]] = levels
    return policy, {"table": table, "table_scale": scale}


def exercise_times(group, j: int) -> np.ndarray:
    """The times of row j's policy's dates (the last its maturity): those whose boundaries
    :func:`_policies` solves for its value, delta and gamma."""
    _, times, _ = row_dates(group, group.date_index, j)
    return times[np.append(_exercise_dates(group, j, 1), times.size - 1)]


def _exercise_dates(group, j: int, every: int) -> np.ndarray:
    """Indices of row j's exercise dates before maturity under a policy on every
    ``every``-th date back from maturity (:func:`stepped_dates`; off a market an american
    row's dividend dates, :func:`greeks.market.positions.dividend_dates`, in every policy)."""
    index = group.dates_of(j)
    kept = np.zeros(index.size, dtype=bool)
    if group.market is not None and group.payoff.kind[j] == payoffs.AMERICAN:
        kept = dividend_dates(group.times[index], group.market.dynamics)
    return stepped_dates(kept, every)


def stepped_dates(kept: np.ndarray, every: int) -> np.ndarray:
    """Indices of the dates before maturity (the last of ``kept``'s) of a policy on every
    ``every``-th date back from maturity, the dates ``kept`` (a dividend's) among them
    whatever ``every`` and not counted in the stepping."""
    regular = np.flatnonzero(~kept)  # the maturity last
    stepped = regular[(regular.size - 1) % every:-1:every]
    return np.union1d(stepped, np.flatnonzero(kept)).astype(np.int64)


def _tables(group, model) -> dict:
    """The payoff record's ``table`` (rows, 2, dates, nodes) and ``table_scale`` (rows) of a
    model that rules its rows by a table (:meth:`greeks.models.base.Model.exercise_table`):
    on every date, and on every second date back from maturity (an american row's Richardson
    partner); none in a model that solves boundaries (the defaults)."""
    if model.solves_exercise:
        return {}
    width = int(np.diff(group.date_start).max())
    scale = np.zeros(group.n_rows)
    tables = {}
    for j in range(group.n_rows):
        for k, every in enumerate((1, 2) if group.payoff.richardson[j] else (1,)):
            scale[j], tables[j, k] = solved_table(group, model, j, every)
    nodes = next(iter(tables.values())).shape[1]
    table = np.zeros((group.n_rows, 2, width, nodes))
    for (j, k), levels in tables.items():
        table[j, k, :levels.shape[0]] = levels
    return {"table": table, "table_scale": scale}


def solved_table(group, model, j: int, every: int = 1) -> tuple[float, np.ndarray]:
    """Row j's tabulated rule (scale, levels: dates × nodes) on every ``every``-th date back
    from maturity (:func:`_exercise_dates`) from the model's ``exercise_table`` on the
    group's market."""
    times = group.times[group.dates_of(j)]
    return model.exercise_table(group, j, times,
                                np.append(_exercise_dates(group, j, every), times.size - 1))


def european_greeks(price, spot: float, sigma: float, step: float,
                    spot_step: float = SPOT_STEP) -> np.ndarray:
    """The exact means of the European controls of :func:`greeks.payoffs.exercise_values`:
    the closed-form ``price(spot, sigma)`` and its differences with the estimators' steps
    (S0 (1 ± h) and S0 (1 ± 2h), h = ``spot_step``, σ ± ``step`` and σ ± 2 ``step``, each
    pair extrapolated)."""
    base, up, down, far_up, far_down = (
        price(spot * (1.0 + d), sigma)
        for d in (0.0, spot_step, -spot_step, 2.0 * spot_step, -2.0 * spot_step))
    shift = spot_step * spot
    vol_up, vol_down, vol_far_up, vol_far_down = (
        price(spot, sigma + d) for d in (step, -step, 2.0 * step, -2.0 * step))
    return np.array([base, payoffs.extrapolated_difference(up - down, far_up - far_down, shift),
                     payoffs.extrapolated_difference(vol_up - vol_down, vol_far_up - vol_far_down,
                                                     step),
                     payoffs.extrapolated_second(up + down - 2.0 * base,
                                                 far_up + far_down - 2.0 * base, shift)])


def _row_values(group, paths, j: int):
    """Row j's per-path values, European controls and hedge controls (None where the model
    has none: :meth:`greeks.models.base.Model.exercise_hedges`) (:func:`greeks.payoffs.
    exercise_values`, or :func:`greeks.payoffs.exercise_values_solved` on Brownian paths,
    with theta and rho where the group estimates them: :func:`_carried`)."""
    columns, times, discounts = row_dates(group, paths.columns, j)
    model = model_of(group.model)
    step = model.exercise_vol_step(group)
    h = model.exercise_spot_step(group, j)
    spec = group.payoff
    hedged = model.hedges_exercise(group, paths)
    if isinstance(paths, BrownianPaths):
        n = paths.w.shape[0]
        carry = _carried(group)
        values, controls = np.empty((8 if carry else 6, n)), np.empty((6 if carry else 4, n))
        stops = np.empty((payoffs.N_MOVES, n if hedged else 0), dtype=np.int64)
        payoffs.exercise_values_solved(
            paths.w, paths.means, paths.sigmas, columns, times, discounts,
            log_edges(spec.policy[j, :, :columns.size], discounts, spec.omega[j],
                      spec.strike[j]), spec, j, group.spot, h, step, group.rate,
            group.dividend, values, controls, stops)
        return values, controls, model.exercise_hedges(group, paths, j, stops) if hedged else None
    n = paths.s.shape[0]
    carry = paths.carry
    values = np.empty((6 if carry is None else 8, n))
    controls = np.empty((4 if carry is None else 6, n))
    stops = np.empty((payoffs.N_MOVES, n if hedged else 0), dtype=np.int64)
    if carry is None:
        rate_score, reshaped, reshaped_state, paid, terms = NO_CARRY
    else:
        index = group.dates_of(j)
        rate_score, reshaped, terms = carry.rate_score, carry.reshaped, carry.terms
        if carry.price_slope is not None:  # rho pathwise, the stopping time fixed
            rate_score = np.empty_like(carry.price_slope)
            pathwise_rate_score(paths.s, carry.price_slope, carry.rate_score,
                                float(spec.strike[j]), rate_score)
        reshaped_state = carry.reshaped_state
        paid = np.ascontiguousarray(discounts * np.exp(carry.reshaped_log_discount[:, index]))
    spot_s = paths.spot_s if paths.spot_moves is None else paths.spot_moves(h)
    payoffs.exercise_values(paths.s, paths.state, paths.vol_s, paths.vol_state, spot_s,
                            columns, times, discounts, spec, j, group.spot, h, step,
                            values, controls, stops, rate_score, reshaped, reshaped_state,
                            paid, terms)
    model.exercise_controls(group, paths, j, controls)
    return values, controls, model.exercise_hedges(group, paths, j, stops) if hedged else None


@njit(cache=True, nogil=True)
def pathwise_rate_score(s, slope, times, strike, out):
    """``out[p, c]`` = ∂S/∂ε/(S − K) − t at stored date c (``times``) of path p, S = ``s``,
    ∂S/∂ε = ``slope``: Y times it is the derivative of Y = DF(t) max(ω(S(t) − K), 0), paid
    at a stopping time t held fixed, in a parallel rate shift ε (DF(t) moves by −t, and
    DF(t) ω ∂S/∂ε = Y ∂S/∂ε/(S − K) where Y > 0; 0 where Y = 0).  At the optimal stopping
    time it is the value's rho (the envelope argument, as for the policy fixed)."""
    for p in range(s.shape[0]):
        for c in range(s.shape[1]):
            gap = s[p, c] - strike
            out[p, c] = (slope[p, c] / gap if gap != 0.0 else 0.0) - times[c]


def log_edges(levels: np.ndarray, discounts: np.ndarray, omega: float,
              strike: float) -> np.ndarray:
    """log b of the boundaries of :func:`solved_policy` (policies × dates) from their β_0 =
    e^{−r t} ω (b − K): ω·inf (−inf for a put, inf for a call) where a date never exercises,
    log K at maturity."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.log(strike + omega * levels / discounts)
    out[~np.isfinite(levels)] = omega * np.inf
    out[:, -1] = np.log(strike)
    return out


def controlled_values(group, paths, j: int) -> np.ndarray:
    """Row j's per-path estimators on a chunk of ``paths`` (:func:`_row_values`), each less
    its European control's coefficient times the control less its mean, and its hedge
    control's (mean zero) where the model has one: the values a chunk's moments are taken
    of."""
    return _controlled(*_row_values(group, paths, j), group.exercise_coef[j],
                       group.exercise_means[j], group.hedge_coef[j])


def _controlled(values: np.ndarray, controls: np.ndarray, hedges: np.ndarray | None,
                coef: np.ndarray, means: np.ndarray, hedge_coef: np.ndarray) -> np.ndarray:
    """``values`` (in place) less ``coef`` × (``controls`` − ``means``) on the rows with a
    European control and less ``hedge_coef`` × ``hedges`` (mean zero) on those with a hedge
    control."""
    values[CONTROLLED_ROWS[:controls.shape[0]]] -= coef[:, None] * (controls - means[:, None])
    if hedges is not None:
        values[HEDGED_ROWS[:hedges.shape[0]]] -= hedge_coef[:hedges.shape[0], None] * hedges
    return values


def factor_samples(group, rows, paths, s, state, columns, weights) -> list:
    """Per bucket row (:meth:`greeks.models.base.Model.exercise_bucket_rows`: ``j``,
    ``immediate``, ``control``, one per bucket and theta, and ``factors``, its
    :class:`greeks.market.factors.StoppedFactors`), (g, h) (buckets + 1 × paths), zeros but
    for: g's last row the row's theta per calendar day, the theta column's controlled per-path
    values (:func:`controlled_values`) on the exercise ``paths`` times a day, 1/365; and, the
    row not exercised at once, its first F rows the carry factors' samples
    (:func:`stopped_factor_samples`) on the prices ``s`` (paths × columns, the policy's
    variance ``state`` on them, the column of each group date ``columns``), W(t) at those
    columns ``weights(row)`` (its ``weights_at``).  The rows of the moved markets' differences
    are the model's to fill."""
    out = []
    for row in rows:
        j = row.j
        g = np.zeros((len(row.control), paths.s.shape[0]))
        g[-1] = DAY * controlled_values(group, paths, j)[6]
        h = np.zeros_like(g)
        out.append((g, h))
        if row.immediate:
            continue
        row_columns, _, discounts = row_dates(group, columns, j)
        f = row.factors
        carried = slice(0, len(f.labels))
        g[carried], h[carried] = stopped_factor_samples(group, j, s, state, row_columns,
                                                        discounts, weights(row), f.rates,
                                                        f.mean[:f.rates])
    return out


def european_payoffs(spec, j: int, s, columns, discounts) -> np.ndarray:
    """Per path of the prices ``s``, row j's European option's discounted payoff
    DF(T) (ω(S_T − K))⁺ (its dates' ``columns`` and ``discounts``: :func:`row_dates`)."""
    return discounts[-1] * np.maximum(spec.omega[j] * (s[:, columns[-1]] - spec.strike[j]), 0.0)


def stopped_factor_samples(group, j: int, s, state, columns, discounts, weights_at,
                           rates: int, rate_means: np.ndarray):
    """(g, h) (F × paths) of row j's carry factors under its fixed policy (the bucket rows of
    :mod:`greeks.models.gbm.exercise_buckets`, :mod:`greeks.models.heston.exercise_buckets`):
    g = 2 Y W(τ) − Y' W(τ') (Y W(τ) without a Richardson partner), Y the discounted payoff at
    the exercise date τ under the policy on the prices ``s`` (its ``state``, ``columns`` and
    ``discounts``: :func:`row_dates`), h the European option's DF(T) h(S_T) W(T), W(t) the
    factors' weights at stored column t, ``weights_at(cols)`` (F × paths; 0 where a column is
    −1).  The first ``rates`` factors (the rate nodes) are controlled here with the rho
    column's coefficient and their means ``rate_means``, so that their sum is the rho column
    path by path; their h is 0."""
    spec = group.payoff
    count = s.shape[0]
    y, stops = np.empty(count), np.empty(count, dtype=np.int64)
    g = 0.0
    for policy, factor in ((0, 2.0), (1, -1.0)) if spec.richardson[j] else ((0, 1.0),):
        payoffs.stopped_payoffs(s, state, columns, discounts, spec, j, policy, y, stops)
        g = g + factor * y * weights_at(np.where(stops >= 0, columns[stops], -1))
    h = european_payoffs(spec, j, s, columns, discounts) * weights_at(
        np.full(count, columns[-1]))
    coef = group.exercise_coef[j, CONTROLLED_ROWS.index(7)]
    g[:rates] -= coef * (h[:rates] - np.nan_to_num(rate_means)[:, None])
    h[:rates] = 0.0
    return g, h


def run_chunk(group, stream, n_paths: int) -> np.ndarray:
    """One chunk of an exercise group: (rows + totals, 3 + extras + 2, 2) (mean, M2) of
    price, delta, vega, the further Greeks (gamma, theta, rho), and the two exercise statistics,
    over paths or antithetic pairs; totals weighted as the engine's."""
    paths = model_of(group.model).exercise_paths(group, stream, n_paths)
    kept = [0, 1, 2] + [FURTHER_ROWS[code] for code in group.extra.tolist()] + [4, 5]
    units = group.units(n_paths)
    rows = group.n_rows
    out = np.zeros((rows + group.n_totals, len(kept), 2))
    totals = np.zeros((group.n_totals, len(kept), units))
    weight = np.concatenate([group.weight,
                             np.repeat(group.extra_weight[:, None], group.extra.size, axis=1),
                             np.zeros((rows, N_STATISTICS))], axis=1)
    for j in range(rows):
        values = np.ascontiguousarray(controlled_values(group, paths, j)[kept])
        unit_moments(values, units, group.antithetic, out[j])
        if group.antithetic:
            values = 0.5 * (values[:, :units] + values[:, units:2 * units])
        weighted = weight[j][:, None] * values
        totals[0] += weighted
        if group.total_of[j] > 0:
            totals[group.total_of[j]] += weighted
    for t in range(group.n_totals):
        unit_moments(np.ascontiguousarray(totals[t]), units, False, out[rows + t])
    return out
