"""GBM as the engine sees it (:class:`greeks.models.base.Model`).

Exact on any grid, so the grid is the rows' dates; likelihood ratio for every payoff
(:func:`greeks.estimators.likelihood_ratio_gbm`), knock-outs on survival-conditioned paths
(:mod:`greeks.survival`; knock-ins by parity, the vanilla by Black–Scholes,
:mod:`greeks.parity`), pathwise delta and vega for european and asian rows
(:mod:`greeks.pathwise`), every further Greek by its likelihood-ratio multipliers
(:func:`greeks.sensitivities.gbm_multipliers`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np

from greeks import (
    estimators,
    pathwise,
    payoff_table,
    payoffs,
    rqmc,
    sensitivities,
    survival,
)
from greeks.exercise_hedge import HEDGE_EVERY, NORMAL_TABLE, hedge_controls, hedge_weights
from greeks.models.base import BrownianPaths, Bumped, ExercisePaths, Model
from greeks.models.gbm import dated, exercise_carry, ladder
from greeks.models.gbm.american import bermudan_values, exercise_boundaries
from greeks.models.gbm.american_market import (
    american_fd_market,
    bermudan_values_market,
    exercise_boundaries_market,
)
from greeks.models.gbm.analytic import black_scholes, black_scholes_further
from greeks.models.gbm.paths import simulate
from greeks.models.gbm.schema import PARAMETERS
from greeks.models.gbm.spot_step import spot_step
from greeks.sensitivities import RHO, THETA
from greeks.stats import unit_moments

EXERCISE_VOL_STEP = 0.02  # k of the early-exercise vega (greeks.exercise)
FLAT_KAPPA = 1e-12  # the hedge weights' mean reversion: none (σ̄² = v, the chain's σ²)


class GBM(Model):
    name = "gbm"
    parameters = PARAMETERS
    pathwise = payoff_table.codes_where("pathwise")
    survival = True
    further = tuple(range(len(sensitivities.NAMES)))
    # cost per path relative to likelihood ratio (greeks compare, one thread: finite
    # differences 2–3×, pathwise 1–1.7×, survival conditioning 4.7×; parity: its
    # knock-out twin's survival run)
    relative_cost = {"fd": 2.5, "pathwise": 1.3, "survival": 4.5, "parity": 4.5}
    solves_exercise = True
    carries_exercise = True  # greeks.models.gbm.exercise_carry
    # benchmarks/exercise_estimators.py: CPU per path of the main chunks, single over pairs,
    # 0.89–1.03 on flat rows (median 1.0), 1.02–1.24 off a market (median 1.15)
    single_cost = (1.0, 1.15)
    step_cost = {"lr": 0.0, "pathwise": 0.0, "fd": 1.0, "survival": 6.3, "parity": 6.3,
                 "exercise": 2.0}
    row_cost = {"lr": 1.0, "pathwise": 1.3, "fd": 11.8, "survival": 0.0, "parity": 0.0,
                "exercise": 0.0}
    fit_cost = 10.0
    # finite differences took a knock-out's price in 9 of 26 decisions on the example files
    # (20,000 and 200,000 paths), nothing of any other row (130): about a third of a group
    # with a knock-out, and of that group's cost without its bumps about a sixth
    alternative_share = {"pathwise": 0.2, "fd": (0.02, 0.06), "parity": 1.0}
    # a finite-difference chunk with its spot bumps alone 0.47–0.51 of one with both, with
    # neither 0.15–0.20 (groups of 6–9 rows on the example files: benchmarks/fd_bumps.py)
    bump_share = (0.32, 0.5)
    market_carried = PARAMETERS  # the vol curve
    ladder_market = True  # greeks.models.gbm.ladder

    def market_params(self, row, dynamics, maturity):
        """(σ,): the vol curve's implied vol to ``maturity``, the group's reference σ (the
        scale of the SE floor; the vega's σ, the curve shifted in parallel by σ' − σ); the
        paths read the curve itself."""
        return (dynamics.vol.implied(maturity),)

    def floor_sigma(self, params):
        return params[0], False

    def _paths(self, group, rng, n_paths):
        w, s = simulate(rng, n_paths, group.times, math.log(group.spot),
                        group.rate - group.dividend, group.params[0], group.antithetic)
        np.exp(s, out=s)
        return w, s

    def _multipliers(self, group, w):
        def multipliers(j, dates, out):
            sensitivities.gbm_multipliers(w, group.times, dates, group.spot, group.params[0],
                                          group.rate, group.dividend, group.maturity[j],
                                          group.extra, out)
        return multipliers

    def run_likelihood_ratio(self, group, rng, n_paths, coef, collect, out, sums):
        if group.market is not None:  # rows priced off a market
            return _likelihood_ratio_dated(group, rng, n_paths, coef, collect, out, sums)
        w, s = self._paths(group, rng, n_paths)
        _likelihood_ratio(group, w, s, coef, group.antithetic, collect, out, sums)
        return s, group.date_index, self._multipliers(group, w), s

    def run_rqmc(self, group, seed, replicate, rng, n_paths, coef, out, sums):
        w = rqmc.brownian_paths(rqmc.points(group, seed, replicate, n_paths, group.times.size),
                                group.times)
        sigma = group.params[0]
        s = np.exp(math.log(group.spot) + (group.rate - group.dividend - 0.5 * sigma ** 2)
                   * group.times + sigma * w)
        _likelihood_ratio(group, np.ascontiguousarray(w), np.ascontiguousarray(s), coef,
                          False, False, out, sums)

    def run_survival(self, group, rng, n_paths, out):
        """Knock-out rows of one barrier and one set of monitoring dates on
        survival-conditioned paths (:mod:`greeks.survival`), simulated once for all of them
        (the paths depend on neither strike nor option type): each row's price, pathwise
        delta and vega into ``out``, the group total and subtotals from the per-unit sums of
        the rows' weighted values; returns each row's Y (a column per row), the rows'
        columns and the multiplier function of the further Greeks.  Off a
        market the steps are the dated chain's on the variance clock, the cash drops at the
        ex-dates up to expiry among them (:func:`greeks.survival.dated_steps`; the grid holds
        the row's dates and those ex-dates), vega the parallel vol shift's, and of the
        further Greeks gamma only (:func:`greeks.models.gbm.dated.gamma_weights` on the
        variance clock's W̃)."""
        m = group.times.size
        w, x = np.empty((n_paths, m)), np.empty((n_paths, m))
        weight, derivatives = np.empty(n_paths), np.empty((n_paths, 4))
        spec = group.payoff
        up = spec.barrier_kind[0] == payoffs.UP_AND_OUT
        market = group.market
        if market is None:
            survival.simulate(rng, n_paths, group.times, math.log(group.spot),
                              group.rate - group.dividend, group.params[0], up,
                              spec.barrier[0], group.antithetic, w, x, weight, derivatives)
            multipliers = self._multipliers(group, w)
        else:  # the grid: the row's dates and the cash ex-dates up to its expiry
            watched = np.zeros(m, dtype=bool)
            watched[group.date_index] = True
            steps = survival.dated_steps(market.clock, market.log_growth(), market.shift,
                                         market.cash, watched)
            survival.simulate_steps(rng, n_paths, steps, math.log(group.spot), up,
                                    spec.barrier[0], group.antithetic, w, x, weight,
                                    derivatives)
            multipliers = _dated_gamma(group, w)
        rows, units = group.n_rows, group.units(n_paths)
        ys = np.empty((rows, n_paths))
        totals = np.zeros((group.n_totals, 3, units if rows > 1 else 0))
        delta, vega = np.empty(n_paths), np.empty(n_paths)
        for j in range(rows):
            payoff = ys[j]
            survival.values(x, weight, derivatives, spec.omega[j], spec.strike[j],
                            spec.discount[j], payoff, delta, vega)
            unit_moments((payoff, delta, vega), units, group.antithetic, out[j])
            if rows > 1:
                survival.add_row_to_totals(payoff, delta, vega, units, group.antithetic,
                                           group.weight[j], group.total_of[j], totals)
        estimators.group_total(totals, group.weight, group.total_of, out)
        return ys.T, np.arange(rows, dtype=np.int64), multipliers

    def parity_values(self, group):
        """The knock-in's vanilla by Black–Scholes (:mod:`greeks.parity`;
        :func:`greeks.models.gbm.analytic.black_scholes`, :func:`~greeks.models.gbm.analytic.
        black_scholes_further`); off a market (no cash dividend up to expiry) on the flat
        rate, yield and vol with the market's DF(T), G(T) and w(T), all a european at T
        depends on (:meth:`greeks.market.dynamics.Dynamics.equivalent`), vega that of the
        parallel vol shift ε: the flat vega times ∂σ_eq/∂ε = (∂w(T)/∂ε)/(2 σ_eq T)."""
        spec = group.payoff
        maturity = float(group.maturity[0])  # the group's rows share their dates
        if group.market is None:
            rate, dividend, vol, scale = group.rate, group.dividend, group.params[0], 1.0
        else:
            dynamics = group.market.dynamics
            rate, dividend, vol = dynamics.equivalent(maturity)
            scale = float(dynamics.vol.parallel_shift(maturity)) / (2.0 * vol * maturity)
        out = []
        for omega, strike in zip(spec.omega.tolist(), spec.strike.tolist()):
            args = ("call" if omega > 0 else "put", group.spot, strike, maturity, rate, vol,
                    dividend)
            value = black_scholes(*args)
            further = black_scholes_further(*args)
            out.append([value.price, value.delta, value.vega * scale,
                        *(further[sensitivities.NAMES[code]] for code in group.extra)])
        return np.array(out)

    def pathwise_values(self, group, stream, n_paths):
        """Per row, the pathwise price, delta and vega (:func:`greeks.pathwise.gbm_values`);
        off a market (no cash dividend up to the rows' expiries) on the dated paths, vega
        the parallel vol shift's (:func:`greeks.models.gbm.dated.pathwise_values`)."""
        rng = np.random.Generator(np.random.PCG64(stream))
        market = group.market
        if market is None:
            w, s = self._paths(group, rng, n_paths)
        else:
            w, s, _ = dated.simulate_dated(rng, n_paths, market.clock, market.log_growth(),
                                           market.cash, group.spot, group.antithetic)
        rows = []
        spec = group.payoff
        for j in range(group.n_rows):
            dates = group.dates_of(j)
            values = np.empty((3, n_paths))
            asian = spec.kind[j] == payoffs.ASIAN
            if market is None:
                pathwise.gbm_values(s, w, group.times, dates, asian, spec.omega[j],
                                    spec.strike[j], spec.discount[j], group.spot,
                                    group.params[0], *values)
            else:
                dated.pathwise_values(s, w, market.clock, market.shift, dates, asian,
                                      spec.omega[j], spec.strike[j], spec.discount[j],
                                      group.spot, *values)
            rows.append(values)
        return rows

    def bumped_paths(self, group, stream, n_paths, spot_bumps=True, vol_bumps=True):
        spot, sigma, carry = group.spot, group.params[0], group.rate - group.dividend
        w, s = self._paths(group, np.random.Generator(np.random.PCG64(stream)), n_paths)
        # column-major, as the payoffs read them (each date's prices contiguous): two copies,
        # and the bumped prices computed in that layout
        s = np.asfortranarray(s)
        h, h_vol = pathwise.SPOT_BUMP, pathwise.VOL_BUMP
        bumped = ([s * (1.0 + h), s * (1.0 - h), s * (1.0 + 2.0 * h), s * (1.0 - 2.0 * h)]
                  if spot_bumps else [None] * 4)
        if vol_bumps:
            w = np.asfortranarray(w)
            bumped += [np.exp(math.log(spot) + (carry - 0.5 * v * v) * group.times + v * w)
                       for v in (sigma + h_vol, sigma - h_vol, sigma + 2.0 * h_vol,
                                 sigma - 2.0 * h_vol)]
        else:
            bumped += [None] * 4
        return Bumped(s, group.date_index, bumped, h * spot, h_vol, None)

    def exercise_paths(self, group, stream, n_paths):
        """The Brownian paths on the group's grid and the log-price's means at σ, σ ± k,
        σ ± 2k (:class:`BrownianPaths`: the policy is a boundary).  Off a market: the prices
        (:func:`_exercise_paths_dated`)."""
        if group.market is not None:
            return _exercise_paths_dated(group, stream, n_paths, self.exercise_vol_step(group))
        sigma, carry = group.params[0], group.rate - group.dividend
        w, _ = simulate(np.random.Generator(np.random.PCG64(stream)), n_paths, group.times,
                        math.log(group.spot), carry, sigma, group.antithetic)
        k = self.exercise_vol_step(group)
        sigmas = np.array([sigma, sigma + k, sigma - k, sigma + 2 * k, sigma - 2 * k])
        means = math.log(group.spot) + (carry - 0.5 * sigmas[:, None] ** 2) * group.times
        return BrownianPaths(w, means, sigmas, group.date_index)

    def vega_sigma(self, params):
        return params[0]

    def volatility(self, rows):
        return rows["vol"].to_numpy(dtype=float)

    def with_volatility(self, rows, shift):
        return rows.assign(vol=rows["vol"] + shift)

    def ladder_paths(self, group, rng, n_paths):
        return ladder.ladder_paths(group, rng, n_paths)

    def ladder_fraction(self, group, seed, paths, logs, vols, threads=None, scheduler="local"):
        """Closed form (:func:`greeks.models.gbm.ladder.effective_fraction`): no pilot."""
        return ladder.ladder_fraction(group, logs, vols)

    def exercise_vol_step(self, group):
        """k; off a market, for a parallel shift of the vol curve, a quarter of its lowest
        node's vol at most, halved until the curve shifted by ±k and ±2k is one
        (:meth:`~greeks.market.volatility.VolCurve.shifts`: an inverted curve may not fall
        by 2k)."""
        if group.market is None:
            return min(EXERCISE_VOL_STEP, 0.25 * group.params[0])
        vol = group.market.dynamics.vol
        step = min(EXERCISE_VOL_STEP, 0.25 * min(vol.vols))
        while not all(vol.shifts(m * step) for m in (1.0, -1.0, 2.0, -2.0)):
            step *= 0.5
        return step

    def exercise_variance(self, group, j, times, sigma):
        """σ² (T − t_i); off a market the vol curve's total variance w(T) − w(t_i), the curve
        shifted in parallel by σ − σ_ref; no state (b = 0)."""
        if group.market is None:
            total = sigma * sigma * times
        else:
            total = np.asarray(group.market.dynamics.vol.shifted(sigma - group.params[0])
                               .total_variance(times), dtype=float)
        return np.array([total[-1] - total, np.zeros(times.size)])

    def exercise_spot_step(self, group, j):
        """:func:`greeks.models.gbm.spot_step.spot_step` of row j: on the value function of
        its Bermudan option on its policy's dates (off a market on the curves, vol curve and
        dividends)."""
        from greeks.exercise import exercise_times

        spec = group.payoff
        times = exercise_times(group, j).tobytes()
        if group.market is not None:
            return _market_spot_step(group.market.dynamics, float(spec.strike[j]),
                                     bool(spec.omega[j] > 0), times)
        return _flat_spot_step(float(group.spot), float(spec.strike[j]), float(group.rate),
                               float(group.dividend), float(group.params[0]),
                               bool(spec.omega[j] > 0), times)

    def exercise_boundaries(self, group, j, sigma, times):
        """Solved on the finite-difference grid of the Bermudan option on ``times``
        (:func:`greeks.models.gbm.american.exercise_boundaries`; off a market on the
        curves, vol curve shifted by σ − σ_ref and dividends of
        :func:`greeks.models.gbm.american_market.exercise_boundaries_market`)."""
        spec = group.payoff
        if group.market is not None:
            return _market_boundaries(group.market.dynamics, float(spec.strike[j]),
                                      bool(spec.omega[j] > 0),
                                      np.asarray(times, dtype=float).tobytes(),
                                      float(sigma - group.params[0])).copy()
        return _solved_boundaries(float(group.spot), float(spec.strike[j]), float(group.rate),
                                  float(group.dividend), float(sigma), bool(spec.omega[j] > 0),
                                  np.asarray(times, dtype=float).tobytes()).copy()

    def upper_bound(self, row, times, *, paths, seed, american, richardson, market=None):
        """:func:`greeks.duality.upper_bound` at the row's vol; off a market
        :func:`greeks.duality.upper_bound_market` on its dynamics (cash dividends
        included)."""
        from greeks.duality import upper_bound, upper_bound_market

        if market is not None:
            return upper_bound_market(market.dynamics, row["strike"],
                                      row["option_type"] == "call", times, paths=paths,
                                      seed=seed, american=american, richardson=richardson)
        return upper_bound(row["spot"], row["strike"], row["maturity"], row["rate"],
                           row["dividend"], row["vol"], row["option_type"] == "call", times,
                           paths=paths, seed=seed, american=american, richardson=richardson)

    buckets = True

    def bucket_row(self, group, j, frame, market):
        """:class:`greeks.models.gbm.buckets.BucketRow`."""
        from greeks.models.gbm.buckets import BucketRow

        return BucketRow(group, j, frame, market)

    def bucket_paths(self, group, rng, count, theta=True):
        """:func:`greeks.models.gbm.buckets.bucket_paths` (theta is a weight on them)."""
        from greeks.models.gbm.buckets import bucket_paths

        return bucket_paths(group, rng, count)

    exercise_buckets = True

    def exercise_bucket_rows(self, group, frame, market):
        """:class:`greeks.models.gbm.exercise_buckets.ExerciseBucketRow` of each row, on the
        group's moved markets (:func:`~greeks.models.gbm.exercise_buckets.move_sets`)."""
        from greeks.models.gbm.exercise_buckets import ExerciseBucketRow, move_sets

        moves = move_sets(group)
        return [ExerciseBucketRow(group, j, frame, market, moves) for j in range(group.n_rows)]

    def exercise_bucket_samples(self, group, rows, stream, count):
        """:func:`greeks.models.gbm.exercise_buckets.bucket_samples`."""
        from greeks.models.gbm.exercise_buckets import bucket_samples

        return bucket_samples(group, rows, stream, count)

    def proxy_vol(self, group, j, dynamics):
        """The market's own vol curve."""
        return dynamics.vol

    def hedges_exercise(self, group, paths):
        """Flat rows (:class:`BrownianPaths`: e^{−(r−q)t} S_t an exact martingale on the
        exact steps), and rows off a market without cash dividends (S_t/G(t) one)."""
        return isinstance(paths, BrownianPaths) or (
            group.market is not None and paths.spot_moves is None)

    def exercise_hedges(self, group, paths, j, stops):
        """The European hedge stopped at each exercise date
        (:func:`greeks.exercise_hedge.hedge_controls`, its weight the Black–Scholes delta at
        the chain's σ: σ̄ = σ, a constant variance), on the prices of row j's dates; with
        theta, a fifth, theta's: the Black–Scholes equation's combination r H_V − (r − q) S0
        H_Δ − ½σ²S0² H_Γ of the price's, delta's and gamma's (still of mean zero)."""
        from greeks.exercise import row_dates

        spec = group.payoff
        columns, times, _ = row_dates(group, paths.columns, j)
        step = self.exercise_vol_step(group)
        if group.market is not None:
            out = np.empty((4, paths.s.shape[0]))
            sigma = group.params[0]
            scales = np.array([(sigma + d) ** 2 for d in (0.0, step, -step, 2 * step,
                                                          -2 * step)]) / sigma ** 2
            hedge_controls(paths.s, paths.state, paths.vol_s, paths.vol_state, columns, stops,
                           spec, j, group.spot, self.exercise_spot_step(group, j), step,
                           scales, 1.0,
                           market_hedge_weights(group.market, columns, float(spec.strike[j])),
                           HEDGE_EVERY, NORMAL_TABLE, out)
        else:
            prices = np.exp(paths.means[:, columns][:, None, :]  # C-ordered, as the others
                            + paths.sigmas[:, None, None]
                            * np.ascontiguousarray(paths.w[:, columns])[None])
            variances = paths.sigmas * paths.sigmas
            out = np.empty((4, paths.w.shape[0]))
            hedge_controls(prices[0], prices[0, :, :0], prices[1:], prices[1:, :, :0],
                           np.arange(columns.size), stops, spec, j, group.spot,
                           self.exercise_spot_step(group, j), step, variances, variances[0],
                           hedge_weights(times, float(spec.strike[j]), group.rate,
                                         group.dividend, FLAT_KAPPA, variances[0]),
                           HEDGE_EVERY, NORMAL_TABLE, out)
        if not np.isin(group.extra, (THETA, RHO)).any():
            return out
        rate, carry, scale = exercise_carry.carry_terms(group)
        theta = rate * out[0] - carry * group.spot * out[1] - scale * out[3]
        return np.concatenate([out, theta[None]])

    def exercise_carry_means(self, group, means, sigma):
        return exercise_carry.carry_means(group, means, sigma)

    def european_price(self, group, j, spot, sigma):
        """Black–Scholes; off a market with the integrated rate, yield and variance of the
        vol curve shifted in parallel by σ − σ_ref (σ_ref = ``params[0]``).  With cash
        dividends, which no closed form covers, the finite-difference European value on the
        market (:func:`greeks.models.gbm.american_market.american_fd_market`; within 1e-5
        of the price, far below a simulation's SE)."""
        spec = group.payoff
        kind = "call" if spec.omega[j] > 0 else "put"
        maturity = group.maturity[j]
        if group.market is None:
            return black_scholes(kind, spot, spec.strike[j], maturity, group.rate, sigma,
                                 group.dividend).price
        dynamics = group.market.dynamics
        if dynamics.cash_dividends(float(maturity)):
            return _market_european(replace(dynamics, spot=float(spot)), float(spec.strike[j]),
                                    float(maturity), bool(spec.omega[j] > 0),
                                    float(sigma - group.params[0]))
        rate, dividend, _ = dynamics.equivalent(float(maturity))
        vol = dynamics.vol.shifted(sigma - group.params[0]).implied(float(maturity))
        return black_scholes(kind, spot, spec.strike[j], maturity, rate, vol, dividend).price


def market_hedge_weights(market, columns: np.ndarray, strike: float) -> np.ndarray:
    """:func:`greeks.exercise_hedge.hedge_weights` off a market without cash dividends, on
    the grid points ``columns`` of a row's dates: M = S/G (G the growth: a martingale), the
    weight ω DF(T) G(T) N(ω d_1), d_1 = (log(S G(T)/(G(t) K)))/σ̄√τ + σ̄√τ/2, σ̄²τ the
    remaining total variance w(T) − w(t) (rows 0 and 1 with the kernel's v = θ = 1 (and its
    moved chains' v scaled by ((σ ± k)/σ)², which moves only the variance reduction)."""
    growth, clock = market.growth[columns], market.clock[columns]
    start_clock = np.concatenate(([0.0], clock[:-1]))
    start_growth = np.concatenate(([1.0], growth[:-1]))
    out = np.zeros((5, columns.size))
    out[0] = clock[-1] - start_clock
    out[1] = 1.0
    out[2] = np.log(growth[-1] / start_growth) - math.log(strike)
    out[3] = 1.0 / growth
    out[4, 0] = market.discount[columns[-1]] * growth[-1]
    return out


@functools.lru_cache(maxsize=256)
def _solved_boundaries(spot, strike, rate, dividend, sigma, is_call, times):
    """:func:`greeks.models.gbm.american.exercise_boundaries` on the dates ``times`` (their
    float64 bytes), kept for later runs in the process (the policy depends on no seed: a
    run re-sized by ``--target-se``, a report's second pass, a test's seeds)."""
    dates = np.frombuffer(times).copy()
    return exercise_boundaries(spot, strike, dates[-1], rate, dividend, sigma, is_call, dates)


@functools.lru_cache(maxsize=256)
def _market_boundaries(dynamics, strike, is_call, times, vol_shift):
    """:func:`greeks.models.gbm.american_market.exercise_boundaries_market` on the dates
    ``times`` (float64 bytes), kept for later runs in the process as the flat ones are
    (a bucket report's moved markets among them)."""
    return exercise_boundaries_market(dynamics, strike, is_call, np.frombuffer(times).copy(),
                                      vol_shift=vol_shift)


@functools.lru_cache(maxsize=256)
def _market_european(dynamics, strike, maturity, is_call, vol_shift):
    """The finite-difference European value off a market with cash dividends
    (:func:`greeks.models.gbm.american_market.american_fd_market`), kept as the boundaries."""
    return american_fd_market(dynamics, strike, maturity, is_call, [maturity],
                              vol_shift=vol_shift, vega=False).price


@functools.lru_cache(maxsize=256)
def _flat_spot_step(spot, strike, rate, dividend, sigma, is_call, times):
    """:func:`greeks.models.gbm.spot_step.spot_step` on the flat Bermudan option's value
    function on the dates ``times`` (float64 bytes; kept for later runs, as the boundaries)."""
    dates = np.frombuffer(times).copy()
    return spot_step(bermudan_values(spot, strike, dates[-1], rate, dividend, sigma, is_call,
                                     dates), spot)


@functools.lru_cache(maxsize=256)
def _market_spot_step(dynamics, strike, is_call, times):
    """The same off a market (:func:`greeks.models.gbm.american_market.bermudan_values_market`)."""
    return spot_step(bermudan_values_market(dynamics, strike, is_call, np.frombuffer(times).copy()),
                     dynamics.spot)


def _exercise_paths_dated(group, stream, n_paths: int, k: float) -> ExercisePaths:
    """Prices off a market (:func:`greeks.models.gbm.dated.simulate_dated`) on every grid
    point; the same numbers' paths under the vol curve shifted in
    parallel by k, −k, 2k, −2k and, with cash dividends (S not linear in S0), from
    S0 (1 ± h), S0 (1 ± 2h) (``spot_moves``, for each row's h: :meth:`exercise_spot_step`);
    and where the group
    estimates theta or rho, their weights (:mod:`greeks.models.gbm.exercise_carry`)."""
    market = group.market
    log_growth = market.log_growth()
    sigma = group.params[0]

    def paths(clock, spot, growth=log_growth):
        rng = np.random.Generator(np.random.PCG64(stream))
        return dated.simulate_dated(rng, n_paths, clock, growth, market.cash, spot,
                                    group.antithetic)[:2]

    w, s = paths(market.clock, group.spot)
    none = np.empty((4, 0, 0))
    vol_s = np.stack([paths(np.asarray(market.dynamics.vol.shifted((sigma + d) - sigma)
                                       .total_variance(group.times), dtype=float),
                            group.spot)[1]
                      for d in (k, -k, 2.0 * k, -2.0 * k)])
    spot_moves = None
    if market.cash.any():
        @functools.lru_cache(maxsize=None)
        def spot_moves(h):
            return np.stack([paths(market.clock, group.spot * (1.0 + d))[1]
                             for d in (h, -h, 2.0 * h, -2.0 * h)])
    carry = None
    if np.isin(group.extra, (THETA, RHO)).any():
        carry = exercise_carry.carry_paths(
            group, w, lambda clock, growth: paths(clock, group.spot, growth)[1])
    return ExercisePaths(s, np.empty((n_paths, 0)), vol_s, none, group.date_index,
                         carry=carry, spot_moves=spot_moves)


def _likelihood_ratio(group, w, s, coef, antithetic, collect, out, sums):
    estimators.likelihood_ratio_gbm(
        s, w, group.times, group.spot, group.params[0], group.date_start, group.date_index,
        group.payoff, group.forward, group.weight, group.total_of, group.n_totals, coef,
        antithetic, collect, out, sums)


def _likelihood_ratio_dated(group, rng, n_paths, coef, collect, out, sums):
    """A chunk of a group priced off a market (:mod:`greeks.models.gbm.dated`): the paths on
    the variance clock with the growth and cash dividends, the weights of the parallel vol
    shift; of the further Greeks gamma only (the others' multipliers assume a flat
    market), its linear control L read on the unfloored prices Ŝ as the main run's is:
    E[Ŝ] is affine in S0, so E[L m] = ∂²E[L]/∂S0² = 0 with cash dividends too (m the gamma
    weight on the first score segment, which ends on or before the first ex-date)."""
    market = group.market
    log_growth = market.log_growth()
    w, s, unfloored = dated.simulate_dated(rng, n_paths, market.clock, log_growth,
                                           market.cash, group.spot, group.antithetic)
    dated.likelihood_ratio_dated(
        s, unfloored, w, market.clock, market.shift, group.spot, group.date_start,
        group.date_index, market.score_start, market.score_index, group.payoff,
        market.forward, market.forward_slope, group.weight, group.total_of, group.n_totals,
        coef, group.antithetic, collect, out, sums)
    return s, group.date_index, _dated_gamma(group, w), unfloored


def _dated_gamma(group, w):
    """The multiplier function of a group off a market on the variance clock's W̃ ``w``:
    gamma's only (:meth:`greeks.engine.group.Group.with_extra`), row j's weight on its
    first score date (:func:`greeks.models.gbm.dated.gamma_weights`)."""
    market = group.market

    def multipliers(j, dates, out):
        dated.gamma_weights(w, market.clock, market.score_index[market.score_start[j]],
                            group.spot, out[0])
    return multipliers


ADAPTER = GBM()
