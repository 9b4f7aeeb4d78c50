"""Spot ladders from one simulation by likelihood-ratio reweighting (``greeks ladder``).

The value of row j when every spot moves by a factor 1 + x is

    V_j(x) = E_x[f_j] = E[f_j · ρ_j],   ρ_j = p(X; S0 (1 + x)) / p(X; S0),

the expectation under the simulated law (spot S0).  The spot enters the density of the
path only through the row's first observation, a Gaussian given the rest, so with
c = log(1 + x) the ratio is

    log ρ = A c − B c²,   GBM: A = W(t_1)/(σ t_1), B = 1/(2σ² t_1);
                          Heston: A = R/V, B = 1/(2V)

(t_1 the row's first date; R, V the residual and conditional variance of the log-price at
t_1 given the variance path, :mod:`greeks.models.heston`).  Each scenario's estimate is
the mean of f·ρ with its standard error, and its quality the effective sample size as a
fraction of the paths, 1/E[ρ²] (the limit of (Σρ)²/(N Σρ²)): exp(−c²/(σ² t_1)) under
GBM, exactly, and 1/E[exp(c²/V)] under Heston (given V, E[ρ²] = exp(c²/V)), averaged over
a pilot's variance paths.  A short first interval (daily fixings) makes ρ degenerate for
moderate shifts: a row whose ESS falls below ``min_ess`` at a shift is not reported as a
reweighted number there — it is re-priced by a full simulation at the shifted spot (or,
with ``resimulate=False``, the shift is left empty and flagged).  Portfolio values
Σ_j q_j V_j(x) (q_j the quantity; off a market, quantity × multiplier, as in reports) and
the P&L against x = 0 get their SEs from per-path sums within each simulation group (the
P&L from per-path differences, so it is far more precise than the values); groups are
independent.  The reweighting runs the plain estimator on the engine's streams: its x = 0
value is that of ``greeks price --plain``.  Its chunks run as chunk jobs on the engine's
scheduler (threads, a process pool or Dask: :func:`greeks.engine.scheduler.completed`) and
merge in chunk order, so the numbers do not depend on where they run.

Volatility shifts (σ → σ + y, in volatility units; σ0 = sqrt(v0) under Heston) reweight
every interval of a GBM row: with ΔW_i the Brownian increments on the row's dates,
μ = r − q − σ²/2 and μ' its value at σ',

    log ρ = Σ_i [log(σ/σ') − ((μ − μ')Δ_i + σΔW_i − c·1{i = 1})²/(2σ'²Δ_i) + ΔW_i²/(2Δ_i)],

whose ESS is 1/Π_i E_i, E_i = s_i/(s_i'² sqrt(2/s_i'² − 1/s_i²)) exp(d_i²/(2s_i² − s_i'²)) for
the Gaussian step with s_i = σ sqrt(Δ_i), s_i' = σ' sqrt(Δ_i) and mean shift d_i (0 when
2s_i² ≤ s_i'²: the ratio has infinite variance) — it falls geometrically in the number of
dates, so daily-fixed rows are re-simulated at once.  A Heston row's variance chain would
need its own transition ratio: its volatility-shifted scenarios are always re-simulated.

Positions priced off a market file (``market``): a scenario moves every underlying's spot
(the market's, and a row's own ``spot``) by 1 + x and its vol curve (GBM: every node, or a
row's own ``vol``) or σ0 (Heston) by y.  GBM rows are reweighted on the paths of
:func:`greeks.models.gbm.dated.simulate_dated` (variance clock τ = w(t), growth and cash
drops): over the row's score dates (its dates and the cash ex-dates up to its expiry; the
grid holds every ex-date, so the first score step ends on or before the first drop) the
first log-price and the later pre-drop log-returns are independent Gaussians, the payoff a
fixed function of them, S0 only in the first one's mean and y only in the variances
Δτ_i → Δτ'_i (and the −Δτ_i/2 in each mean): ρ is the product of their Gaussian ratios,
exact across cash drops, its ESS the product of the same E_i with s_i² = Δτ_i, s_i'² = Δτ'_i
(:mod:`greeks.models.gbm.ladder`).  Heston rows are reweighted at the spot moves on the
zero-carry chain times the growth G(t), through the cash drops: given the variance path the
first score date's pre-drop log-price is log G(s_1) + log S̃(s_1), Gaussian with the chain's
residual R and variance V there, and the later prices follow from it without S0, so the flat
ratio holds with R and V at s_1 (:mod:`greeks.models.heston.ladder`); their σ0 moves are
re-priced.  Rows re-priced at a scenario are priced off the moved market by
:func:`greeks.price_portfolio`; their P&L is the difference of independent runs (the
dynamics, spot included, key the streams).

American and bermudan rows are re-priced by a full simulation at every scenario, the base
included (their value is that of a policy fitted at the scenario's spot and volatility, not
an expectation of a path functional the ratio could reweight): their P&L against the base is
the difference of independent runs (the spot is part of a group's stream key), so the two
variances add.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from greeks.instruments import InputError
from greeks.market.positions import MULTIPLIER
from greeks.models import adapter as model_of
from greeks.names import (
    DEFAULT_SPOT_SHIFTS,
    DEFAULT_VOL_SHIFTS,
    OptionError,
    check_min_ess,
    check_run_options,
    parse_shifts,
)


def shift_grid(shifts, name: str, floor: float | None) -> np.ndarray:
    """The sorted shifts of a spec (:func:`greeks.names.parse_shifts`) or of a sequence,
    0 included."""
    if isinstance(shifts, str):
        return np.unique(np.round(np.append(parse_shifts(shifts, name, floor), 0.0), 12))
    return np.unique(np.append(np.asarray(shifts, dtype=float), 0.0))


def spot_ladder(source, *, spot=DEFAULT_SPOT_SHIFTS, vol=DEFAULT_VOL_SHIFTS,
                paths: int | None = None, seed: int | None = None, threads: int | None = None,
                scheme: str | None = None, steps_per_year: float | None = None,
                min_ess: float | None = None, resimulate: bool = True,
                extra_columns=(), market=None, scheduler: str | None = None,
                policy: str | None = None, policy_paths: int | None = None) -> pd.DataFrame:
    """The portfolio's value and P&L at each relative spot shift, with SEs and ESS.

    Parameters
    ----------
    source : pandas.DataFrame or path
        Instrument table, as in :func:`greeks.price_portfolio`.
    spot : str or sequence of float
        Relative spot shifts: ``"-20%:+20%:5%"`` (start:stop:step, both ends included), a
        comma list ``"-10%,10%"`` (values without ``%`` are fractions), or numbers; 0 is
        added.
    vol : str or sequence of float
        Absolute volatility shifts, same syntax (``"+5%"`` is +0.05; σ0 under Heston); the
        scenarios are every pair of spot and volatility shifts.
    paths, seed, threads, scheme, steps_per_year, extra_columns, market, scheduler, policy, \
policy_paths
        As in :func:`greeks.price_portfolio` (positions off a ``market``: reweighted as
        flat rows are, across the curves and cash dividends, module docstring; american and
        bermudan rows re-priced under ``policy``).  The
        reweighted chunks run on ``scheduler``
        (:func:`greeks.engine.scheduler.completed`), as do the re-simulations.
    min_ess : float
        Rows whose effective sample size at a shift falls below this fraction of the paths
        (default 0.1) are re-priced there by a full simulation at the shifted spots
        (independent of the reweighted rows, so the variances add).
    resimulate : bool
        False: leave such shifts empty and flagged ``unreliable`` instead.

    Returns
    -------
    pandas.DataFrame
        Each row's ESS per shift (module docstring; Heston on a pilot of ``PILOT`` paths, on
        streams of its own) decides which rows are reweighted.  One line per scenario:
        ``shift`` (spot), ``vol_shift``, ``value``, ``value_se``, ``pnl``,
        ``pnl_se``, ``ess`` (the smallest over the rows reweighted there, as a fraction of
        the paths; the re-simulated rows' ESS fell below ``min_ess``), ``resimulated`` (rows
        re-priced) and ``source`` (``reweighted``, ``re-simulated``, ``k of n rows
        re-simulated`` or, with ``resimulate=False``, ``unreliable`` and no numbers).
        ``attrs["rows"]`` holds each row's reweighted value, SE and ESS per shift (value and
        SE NaN where its ESS is too small).
    """
    from greeks.api import load
    from greeks.dask_client import check_reachable

    options = check_run_options(paths=paths, seed=seed, threads=threads, scheme=scheme,
                                steps_per_year=steps_per_year, scheduler=scheduler,
                                policy=policy, policy_paths=policy_paths)
    min_ess = check_min_ess(min_ess)
    spot_grid = shift_grid(spot, "spot", floor=-1.0)
    vol_grid = shift_grid(vol, "vol", floor=None)
    run = dict(paths=options.paths, seed=options.seed, threads=options.threads, scheme=scheme,
               steps_per_year=steps_per_year, scheduler=scheduler, policy=policy,
               policy_paths=policy_paths)
    plain = replace(options, plain=True)  # the ladder's estimators: rows they cannot take
    if market is None:
        frame = _weighed(load(source, extra_columns=extra_columns, options=plain))
        reprice = _Reprice(frame, run, extra_columns)
    else:
        frame, reprice = _market_positions(source, market, vol_grid, run, extra_columns, plain)
    _check_vols(frame, vol_grid)
    reprice.check(spot_grid, vol_grid)
    check_reachable(options.scheduler)
    shifts = np.repeat(spot_grid, vol_grid.size)  # every (spot, vol) pair, vol fastest
    vols = np.tile(vol_grid, spot_grid.size)
    scenarios = _Scenarios(shifts, np.log1p(shifts), vols,
                           int(np.flatnonzero((shifts == 0) & (vols == 0))[0]))
    plan = _plan(frame, options, scenarios, min_ess)
    reweighted = _reweighted(plan, len(frame), options, scenarios)
    lines = _lines(frame, plan, scenarios, reweighted, reprice, resimulate)
    table = pd.DataFrame(lines)
    table.attrs.update(rows=_per_row(frame, plan, scenarios, vol_grid.size > 1, reweighted),
                       paths=options.paths, seed=options.seed, min_ess=min_ess,
                       multiplied=MULTIPLIER in frame.columns)
    return table


class _Scenarios(NamedTuple):
    """Every (spot, vol) pair, vol fastest: the relative spot shifts x, c = log(1 + x), the
    volatility shifts, and the index of the unshifted scenario."""

    shifts: np.ndarray
    logs: np.ndarray
    vols: np.ndarray
    base: int


class _Plan(NamedTuple):
    """What is reweighted: the groups of the other rows than those re-priced at every
    scenario (``repriced``), each row's ESS per scenario and whether it is reweighted there
    (``good``)."""

    groups: list
    repriced: np.ndarray
    ess: np.ndarray
    good: np.ndarray


def _plan(frame: pd.DataFrame, options, scenarios: _Scenarios, min_ess: float) -> _Plan:
    """The groups to reweight and, from each row's ESS (:func:`_effective_fraction`), where
    its reweighted value is used: ESS ≥ ``min_ess``, and always at the unshifted scenario.
    Re-priced at every scenario: rows with early exercise, and rows off a market whose
    model does not reweight them (``ladder_market``)."""
    from greeks import engine  # numba: only once the options and the input are valid
    from greeks.api import exercise_rows
    from greeks.market.positions import dated_rows

    models = frame["model"].to_numpy(dtype=object)
    repriced = exercise_rows(frame) | (dated_rows(frame) & np.array(
        [not model_of(name).ladder_market for name in models], dtype=bool))
    groups = [group for group in engine.plan_groups(frame, options.scheme,
                                                    options.steps_per_year, paths=options.paths)
              if not repriced[group.positions].any()]
    ess = _effective_fraction(groups, len(frame), options, min(options.paths, PILOT),
                              scenarios.logs, scenarios.vols)
    ess[repriced] = np.nan
    good = ess >= min_ess
    good[~repriced, scenarios.base] = True
    return _Plan(groups, repriced, ess, good)


class _Reweighted(NamedTuple):
    """Each row's moments of f·ρ per scenario, and the (value, P&L) × scenario mean and
    variance of the reweighted rows' total."""

    row_stats: list
    total_mean: np.ndarray
    total_variance: np.ndarray


def _reweighted(plan: _Plan, rows: int, options, scenarios: _Scenarios) -> _Reweighted:
    """The reweighted estimates: every group's chunks run by :func:`_ladder_chunk` on the
    scheduler, merged in chunk order per row and per group; groups are independent, so
    the totals' variances add."""
    from greeks.engine.scheduler import in_order
    from greeks.stats import Moments

    groups, size = plan.groups, scenarios.shifts.size
    tasks = [(g, chunk, n) for g, group in enumerate(groups)
             for chunk, n in group.chunks(options.paths)]
    args = [(scenarios.logs, scenarios.vols, plan.good[group.positions], scenarios.base)
            for group in groups]
    results = in_order(_ladder_chunk, groups, tasks, options.seed, options.threads,
                       scheduler=options.scheduler, args=args)
    row_stats = [Moments((size,)) for _ in range(rows)]
    group_totals = [Moments((2, size)) for _ in groups]
    for (g, _, n), (means, m2s, total_mean, total_m2) in zip(tasks, results):
        for j, position in enumerate(groups[g].positions):
            row_stats[position].merge(n, means[j], m2s[j])
        group_totals[g].merge(n, total_mean, total_m2)
    total_mean = np.zeros((2, size))  # value and P&L of the reweighted rows
    total_variance = np.zeros((2, size))
    for group_total in group_totals:
        total_mean += group_total.mean
        total_variance += group_total.standard_error ** 2
    return _Reweighted(row_stats, total_mean, total_variance)


class _Reprice:
    """(value, variance) of the rows at ``positions`` of ``frame`` re-priced at a scenario
    by a full simulation (:func:`greeks.price_portfolio`, plain estimators, the ladder's
    run options ``run``), every spot moved by 1 + x and volatility by y (:func:`_shifted`);
    off a ``market``, ``frame`` the raw positions (as given) priced off the market with
    every spot and vol curve moved (:func:`_shifted_market`)."""

    def __init__(self, frame: pd.DataFrame, run: dict, extra_columns, market=None):
        self.frame, self.run, self.extra_columns = frame, run, extra_columns
        self.market = market

    def __call__(self, positions: np.ndarray, shift: float, vol_shift: float):
        from greeks.api import price_portfolio

        market, rows = self.moved(positions, shift, vol_shift)
        priced = price_portfolio(rows, market=market, plain=True,
                                 extra_columns=self.extra_columns, **self.run).attrs["total"]
        return priced["price"], priced["price_se"] ** 2

    def moved(self, positions: np.ndarray, shift: float, vol_shift: float):
        """(market, rows): the rows at ``positions`` at the scenario (the market moved)."""
        if self.market is None:
            return None, _shifted(self.frame.iloc[positions], shift, vol_shift)
        market, moved = _shifted_market(self.market, self.frame, shift, vol_shift)
        return market, moved.iloc[positions]

    def check(self, spot_grid: np.ndarray, vol_grid: np.ndarray) -> None:
        """Every row moved by the extreme spot and vol shifts must stay in the range the
        engine computes in (as the input itself, :data:`greeks.instruments.LIMITS`): an
        :class:`OptionError` naming the shift and the row otherwise, before any simulation
        (a re-simulation would refuse it mid-run)."""
        from greeks.api import load

        everything = np.arange(len(self.frame))
        for option, shift, vol_shift in [("spot", spot_grid.min(), 0.0),
                                         ("spot", spot_grid.max(), 0.0),
                                         ("vol", 0.0, vol_grid.min()),
                                         ("vol", 0.0, vol_grid.max())]:
            try:
                market, rows = self.moved(everything, float(shift), float(vol_shift))
                load(rows, market, self.extra_columns)
            except InputError as error:
                where = "" if error.row is None else f"row {error.row}, column {error.column!r}: "
                value = shift if option == "spot" else vol_shift
                raise OptionError(f"{option}: the shift {value:+g} is too large: {where}"
                                  f"{error.rule}") from None


def _lines(frame, plan: _Plan, scenarios: _Scenarios, reweighted: _Reweighted,
           reprice: _Reprice, resimulate: bool) -> list[dict]:
    """One line per scenario: the reweighted total, plus the rows re-priced at every
    scenario (``plan.repriced``, the base run reused at the base) and the rows whose
    reweighting failed (re-simulated, or the scenario flagged ``unreliable``)."""
    repriced, good, base = plan.repriced, plan.good, scenarios.base
    rows = len(frame)
    always = np.flatnonzero(repriced)
    repriced_base = reprice(always, 0.0, 0.0) if always.size else (0.0, 0.0)
    lines = []
    for s, shift in enumerate(scenarios.shifts):
        vol_shift = scenarios.vols[s]
        bad = np.flatnonzero(~good[:, s])
        value, value_var = reweighted.total_mean[0, s], reweighted.total_variance[0, s]
        pnl, pnl_var = reweighted.total_mean[1, s], reweighted.total_variance[1, s]
        origin = "reweighted"
        if always.size:
            priced, variance = (repriced_base if s == base
                                else reprice(always, shift, vol_shift))
            value, value_var = value + priced, value_var + variance
            if s != base:
                pnl += priced - repriced_base[0]
                pnl_var += variance + repriced_base[1]
        lost = np.flatnonzero(~good[:, s] & ~repriced)  # reweighting failed
        if lost.size and resimulate:
            priced, variance = reprice(lost, shift, vol_shift)
            value, value_var = value + priced, value_var + variance
            pnl, pnl_var = pnl + priced, pnl_var + variance
        if bad.size and (resimulate or not lost.size):
            origin = ("re-simulated" if bad.size == rows
                      else f"{bad.size} of {rows} rows re-simulated")
        elif bad.size:
            value = value_var = pnl = pnl_var = np.nan
            origin = "unreliable"
        lines.append(dict(shift=shift, vol_shift=vol_shift, value=value,
                          value_se=math.sqrt(value_var), pnl=pnl,
                          pnl_se=math.sqrt(pnl_var),
                          ess=plan.ess[good[:, s], s].min() if good[:, s].any() else np.nan,
                          resimulated=int(bad.size), source=origin))
    return lines


def _per_row(frame, plan: _Plan, scenarios: _Scenarios, vol_named: bool,
             reweighted: _Reweighted) -> pd.DataFrame:
    """Each row's reweighted value, SE and ESS per scenario (value and SE NaN where it is
    not reweighted); ``vol_named``: the columns name the volatility shift too."""
    good, stats = plan.good, reweighted.row_stats
    per_row = {"id": frame["id"].to_numpy()}
    for s, shift in enumerate(scenarios.shifts):
        name = f"{shift:+.4g}" + (f"/vol{scenarios.vols[s]:+.4g}" if vol_named else "")
        per_row[name] = np.where(good[:, s], [row.mean[s] for row in stats], np.nan)
        per_row[f"{name}_se"] = np.where(good[:, s], [row.standard_error[s] for row in stats],
                                         np.nan)
        per_row[f"{name}_ess"] = plan.ess[:, s]
    return pd.DataFrame(per_row)


PILOT = 20_000


def _weighed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each ``quantity`` times its contract ``multiplier`` (where given): the
    ladder's values are Σ quantity × multiplier × value, as a report's exposures."""
    if MULTIPLIER not in frame.columns:
        return frame
    return frame.assign(quantity=frame["quantity"] * frame[MULTIPLIER],
                        **{MULTIPLIER: 1.0})


def _market_positions(source, market, vol_grid, run: dict, extra_columns, options):
    """(validated frame, its :class:`_Reprice`) of positions priced off ``market``, each
    weighed by quantity × multiplier (as in :func:`greeks.report.risk_report`: both
    frames' ``quantity`` is that product); every vol curve must stay valid under every
    shift (:func:`_shifted_vols`); rows a run of ``options`` cannot estimate refused
    (:func:`greeks.api.refuse_from_zero`)."""
    from greeks.api import refuse_from_zero
    from greeks.market import load_market
    from greeks.market.positions import resolve

    market = load_market(market)
    if isinstance(source, pd.DataFrame):  # the positions as given: each scenario moves them
        raw, name, lines = source, "<DataFrame>", None
    else:
        from greeks.io import read_raw

        (raw, lines), name = read_raw(source), str(source)
    frame = _weighed(resolve(raw, name, market, lines, extra_columns=extra_columns))
    refuse_from_zero(frame, name, options, lines)
    weight = frame["quantity"].to_numpy(dtype=float)
    columns = {str(c).strip(): c for c in raw.columns}
    raw = raw.drop(columns=[columns[n] for n in ("quantity", MULTIPLIER) if n in columns])
    raw = raw.assign(quantity=weight)
    for vol_shift in vol_grid:
        _shifted_vols(market, float(vol_shift))
    return frame, _Reprice(raw, run, extra_columns, market)


def _shifted_market(market, raw: pd.DataFrame, shift: float, vol_shift: float):
    """(market, positions) with every spot moved by 1 + ``shift`` and every volatility
    (a GBM vol curve's nodes, a row's own ``vol``, σ0 = sqrt(v0)) by ``vol_shift``."""
    from greeks.models.heston.schema import shifted_v0

    vols = _shifted_vols(market, vol_shift)
    underlyings = {}
    for name, und in market.underlyings.items():
        heston = und.heston if und.heston is None else dict(
            und.heston, v0=float(shifted_v0(und.heston["v0"], vol_shift)))
        underlyings[name] = replace(und, spot=und.spot * (1.0 + shift), vol=vols[name],
                                    heston=heston)
    rows = raw.copy()
    columns = {str(c).strip(): c for c in rows.columns}

    def move(name, change):
        if name in columns:
            given = pd.to_numeric(rows[columns[name]], errors="coerce")
            rows[columns[name]] = np.where(given.notna(), change(given), rows[columns[name]])

    move("spot", lambda s: s * (1.0 + shift))
    if vol_shift:
        move("vol", lambda s: s + vol_shift)
        move("v0", lambda v: shifted_v0(v, vol_shift))
    return replace(market, underlyings=underlyings), rows


def _shifted_vols(market, vol_shift: float) -> dict:
    """Each underlying's vol curve (None under Heston) with every node moved by
    ``vol_shift``; an :class:`OptionError` where a curve would not stay valid."""
    out = {}
    for name, und in market.underlyings.items():
        try:
            out[name] = und.vol if und.vol is None else und.vol.shifted(vol_shift)
        except ValueError as error:
            raise OptionError(f"vol: underlying {name!r}: {error}") from None
    return out


def _check_vols(frame: pd.DataFrame, vol_grid: np.ndarray) -> None:
    """Every shifted volatility (each model's ``volatility``) must stay positive, or at
    least 0 where the model allows it (σ0 under Heston)."""
    models = frame["model"].to_numpy(dtype=object)
    for name in np.unique(models):
        model = model_of(name)
        low = model.volatility(frame[models == name]) + vol_grid.min()
        if np.any(low < 0) or (not model.zero_volatility and np.any(low <= 0)):
            raise OptionError(f"vol: the shift {vol_grid.min():+g} leaves a row's volatility "
                              "below zero")


def _shifted(rows: pd.DataFrame, shift: float, vol_shift: float) -> pd.DataFrame:
    """Rows with every spot moved by ``shift`` and every volatility by ``vol_shift`` (each
    model's ``with_volatility``)."""
    moved = rows.reset_index(drop=True)
    moved = moved.assign(spot=moved["spot"] * (1.0 + shift))
    if vol_shift:
        models = moved["model"].to_numpy(dtype=object)
        for name in np.unique(models):
            at = models == name
            moved.loc[at] = model_of(name).with_volatility(moved.loc[at], vol_shift)
    return moved


def _effective_fraction(groups, rows: int, options, paths: int, logs, vols) -> np.ndarray:
    """1/E[ρ²] of every row and scenario, by each model's ``ladder_fraction`` (GBM: closed
    form; Heston: a pilot of ``paths`` paths on streams of its own, on the run's threads or
    scheduler, 0 for its volatility shifts: re-simulated)."""
    out = np.ones((rows, logs.size))
    for group in groups:
        out[group.positions] = model_of(group.model).ladder_fraction(
            group, options.seed, paths, logs, vols, options.threads, options.scheduler)
    return out


def _ladder_chunk(group, seed: int, chunk: int, n: int, logs: np.ndarray, vols: np.ndarray,
                   good: np.ndarray, base: int):
    """The ladder's chunk job (:func:`greeks.engine.scheduler.completed`): on one chunk of
    the group's paths, the (mean, M2) over paths of each row's f·ρ per scenario
    (rows × scenarios each), and of the group's weighted total value Σ_j q_j f_j ρ_j·good_j
    and P&L Σ_j q_j (f_j ρ_j·good_j − f_j) ((value, P&L) × scenarios each); ``good``: the
    group's rows × scenarios where a row is reweighted, ``base`` the unshifted scenario."""
    values = _chunk_values(group, seed, chunk, n, logs, vols)
    means, m2s = np.empty((len(values), logs.size)), np.empty((len(values), logs.size))
    value = np.zeros((n, logs.size))
    pnl = np.zeros((n, logs.size))
    for j, v in enumerate(values):
        means[j], m2s[j] = v.mean(axis=0), ((v - v.mean(axis=0)) ** 2).sum(axis=0)
        quantity = group.weight[j, 0]
        value += quantity * v * good[j]
        pnl += quantity * (v * good[j] - v[:, [base]])
    both = np.stack([value, pnl], axis=1)
    return means, m2s, both.mean(axis=0), ((both - both.mean(axis=0)) ** 2).sum(axis=0)


def _chunk_values(group, seed: int, chunk: int, n: int, logs: np.ndarray, vols: np.ndarray):
    """Per row of the group, the (paths × scenarios) array f·ρ on one chunk (ρ from the
    model's ``ladder_paths``; 0 where a Heston row's volatility moves: re-simulated)."""
    from greeks import payoffs

    stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words, chunk))
    s, columns, ratio = model_of(group.model).ladder_paths(
        group, np.random.Generator(np.random.PCG64(stream)), n)
    out = []
    payoff = np.empty(n)
    for j in range(group.n_rows):
        dates = np.ascontiguousarray(columns[group.date_start[j]:group.date_start[j + 1]])
        payoffs.evaluate(s, dates, group.payoff, j, payoff)
        out.append(payoff[:, None] * ratio(j, logs, vols))
    return out
