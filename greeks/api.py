"""The Python interface: instrument table (or file) in, result table out."""

from __future__ import annotations

import math
import os
from typing import Callable

import numpy as np
import pandas as pd

from greeks.dask_client import check_reachable
from greeks.instruments import RESULT_COLUMNS, InputError, validate
from greeks.market.positions import dated_rows, without_market
from greeks.models import schema
from greeks.names import (
    BASE_GREEKS,
    EXERCISE_STATISTICS,
    PARAMETER_GREEKS,
    OptionError,
    RunOptions,
    check_run_options,
    column_names,
)


def load(frame_or_path, market=None, extra_columns=(), options: RunOptions | None = None
         ) -> pd.DataFrame:
    """A validated instrument frame from a DataFrame or a .csv/.parquet/.json path; with a
    ``market`` (a path to a market file or a dict of its shape), its positions resolved
    against it (:func:`greeks.market.positions.resolve`).  ``extra_columns`` (names, or one
    comma-separated string) are carried as the user's own even where their names are close
    to a known column's.  With a run's ``options``, rows that run cannot estimate are
    refused too (:func:`refuse_from_zero`), named by their row and line in the file."""
    extra_columns = column_names(extra_columns)
    if market is not None:
        from greeks.market import load_market

        market = load_market(market)
    if isinstance(frame_or_path, pd.DataFrame):
        raw, source, lines = frame_or_path, "<DataFrame>", None
    elif isinstance(frame_or_path, (str, os.PathLike)):
        from greeks.io import read_raw

        (raw, lines), source = read_raw(frame_or_path), str(frame_or_path)
    else:
        raise TypeError("expected a pandas.DataFrame or a path to an instrument file")
    if market is not None:
        from greeks.market.positions import resolve

        frame = resolve(raw, source, market, lines, extra_columns=extra_columns)
    else:
        frame = validate(raw, source, lines, extra_columns)
    if options is not None:
        refuse_from_zero(frame, source, options, lines)
    return frame


def price_portfolio(source, *, paths: int | None = None, seed: int | None = None,
                    threads: int | None = None, scheme: str | None = None,
                    steps_per_year: float | None = None, first_step: float | None = None,
                    method: str | None = None, greeks=(), target_se=None,
                    max_paths: int | None = None, scheduler: str | None = None,
                    plain: bool = False, market=None, extra_columns=(),
                    upper_bound: bool = False, policy: str | None = None,
                    policy_paths: int | None = None,
                    progress: Callable[[float, float], None] | None = None) -> pd.DataFrame:
    """Price every row and estimate its delta and vega, each with its standard error.

    (Long for its parameter list only: each step of the run is a function of its own.)

    Parameters
    ----------
    source : pandas.DataFrame or path
        Instrument table (see docs/instruments.md) or a .csv/.parquet/.json file of one.
    paths : int
        Monte-Carlo paths per simulation group (default ``names.DEFAULT_PATHS``, 200,000).
    seed : int
        The same table, seed and paths give bit-identical numbers, whatever the
        thread count or the row order.
    threads : int
        Worker threads (default: the usable cores).
    scheme : {"qe", "exact", "euler"}
        Heston discretisation (default ``qe``); see greeks.models.heston.
    steps_per_year : float
        Heston simulation steps per year, in (0, 100000]; the grid is the union of these
        steps and every row's dates.  Default (None): per simulation, max(52, ⌈4ξ²/θ⌉) up
        to 1,024, and where ξ² > 2κθ at least ⌈26 (ξ²/(2κθ) − 1)⌉ steps before each
        maturity, refined by (paths/200,000)^(1/4) beyond 200,000 paths
        (greeks.models.heston.adapter.steps_per_year, feller_steps), which keeps the
        discretisation bias a fraction of the standard error at any path count.
    first_step : float
        Length in years of the first Heston step (default None or 0: one regular step; shorter
        where a row has a date inside it).  The vega weight's variance falls like
        1/first_step.  A first step longer than a regular one is simulated exactly under
        ``qe`` and ``exact`` (noncentral chi-square v_1, integrated variance drawn given
        its end points: :func:`greeks.models.heston.first_step.sampled_step`); its approximate law
        biases the estimates where κ·first_step exceeds about 1.
    plain : bool
        The plain likelihood-ratio estimators for every row, without variance reduction
        (by default every estimate gets control variates with pilot-estimated
        coefficients, GBM paths come in antithetic pairs, and Heston european and digital
        rows use conditional Monte Carlo).
    method : {"auto", "mixed", "lr", "pathwise", "fd", "rqmc", "parity"}
        The estimators (default ``auto``; see ``engine.row_methods``): ``mixed`` each row's
        default family (survival conditioning, conditional Monte Carlo or likelihood ratio)
        for all its Greeks, without auto's per-Greek choice; ``lr`` likelihood
        ratio with controls for every row, ``pathwise`` pathwise delta and vega for GBM
        european and asian rows, ``fd`` central differences on common random numbers
        (greeks.pathwise), ``rqmc`` likelihood ratio (Heston european and digital rows:
        conditional Monte Carlo) on randomised quasi-Monte Carlo paths (greeks.rqmc; the
        paths are 64 replicates of a power of two each), ``parity`` GBM knock-ins by
        in–out parity (greeks.parity; the other rows as ``mixed``); the
        ``method`` column names each row's.
    target_se : float or str
        Run enough paths that every requested Greek of every row reaches this standard
        error (absolute, or relative to |estimate| with a ``%`` suffix, e.g. ``"0.5%"``):
        ``paths`` is then the sizing run's count (default 20,000; greeks.target), each
        simulation group gets its own count (the ``paths`` column), at most ``max_paths``
        (default 10⁸).  ``attrs["unmet"]`` lists the rows whose final standard errors miss
        the target (the cap, or a noisier estimator than the sizing run's).
    scheduler : str
        Where the chunks run: ``"local"`` (threads, the default), ``"processes"`` (a process
        pool of ``threads``), or the address of a Dask scheduler (``tcp://host:8786``; needs
        the ``dask`` extra).  The numbers do not depend on it.
    greeks : names, or a comma-separated string of them
        Further Greeks besides price, delta and vega, of ``gamma``, ``rho``, ``theta``,
        ``vanna``, ``volga`` (see greeks.sensitivities: rho as ``rho_rate``, per 1.00 of
        rate; theta, the
        value's change as calendar time passes, as ``theta_per_year`` and
        ``theta_per_day``; vanna and volga per 1.00 of volatility), and for Heston rows
        ``dkappa``, ``dtheta``, ``dxi``, ``drho`` (greeks.models.heston.sensitivities); ``all``
        names every one.  Of these, american and bermudan rows get gamma, theta and rho
        (greeks.exercise); the others are NaN for them.
    max_paths : int
        Cap on the paths per simulation under ``target_se`` (default 10⁸).
    extra_columns : names, or a comma-separated string of them
        Input columns that are the user's own although their names are close to a known
        column's (``qty``, ``divident``): carried through instead of refused.
    market : path or dict
        A market file (docs/market.md) to price dated positions off: rows may give
        ``expiry`` and ``fixing_dates`` and leave spot, rate, dividend and vol to the
        market; the column ``overrides`` names the market columns a row gave itself.  Their
        vega is for a parallel shift of the vol curve (under Heston ∂V/∂σ0); of their
        further Greeks gamma, rho (``rho_rate``, a parallel shift of the zero rates) and
        theta (``theta_per_day``, the value's change when the valuation date moves one
        calendar day; ``theta_per_year`` 365 times it) are estimated, the others are NaN.
    upper_bound : bool
        Also an upper bound of the price of american and bermudan rows by duality
        (:mod:`greeks.duality`, docs/american.md): the columns ``upper_bound`` and
        ``upper_bound_se`` (NaN for other rows),
        on ``paths`` paths (at most 2¹⁵) of its own streams; ``attrs["upper_bound_checks"]``
        holds each bounded row's martingale checks (a warning names any that fails).
    policy : {"solved", "regression"}
        The exercise policy of american and bermudan rows (:mod:`greeks.exercise`,
        docs/american.md): ``solved`` (the default) each model's solved boundaries (GBM:
        finite differences; Heston: the ADI solution's, tabulated in v), ``regression``
        Longstaff–Schwartz regression on an independent pilot
        (:mod:`greeks.exercise_regression`), low-biased by the fit's error.
    policy_paths : int
        The regression's pilot paths (default 2¹⁷, at least 1,024).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``price``, ``price_se``, ``delta``, ``delta_se``, ``vega``, ``vega_se``
        (per unit of quantity; vega per 1.00 of volatility), ``method`` (the row's default
        estimator, e.g. ``lr+controls+antithetic``, ``survival+pathwise+antithetic``,
        ``conditional+controls+antithetic``, ``pathwise+antithetic``, ``fd+antithetic``,
        ``fd+conditional+antithetic``,
        ``rqmc+lr``, ``rqmc+conditional``, or ``lr`` with
        ``plain``), ``method_price``, ``method_delta``, ``method_vega`` (the estimator each
        Greek was taken from: under ``auto`` the most efficient on a decision run),
        ``method_dkappa``, ... with the Heston parameter sensitivities; with american or
        bermudan rows ``exercise_probability`` (of exercise before maturity) and
        ``exercise_time`` (expected, in years; maturity for paths not exercised early) and
        their ``_se`` (NaN for other rows); then the input columns.
        ``attrs["total"]`` holds the quantity-weighted portfolio total and its
        standard errors under the same names.

    progress : callable
        ``progress(done, total)``, called as the simulation advances.

    Raises
    ------
    OptionError
        An option breaks its rule (:func:`greeks.names.check_run_options`); raised before
        the source is read.
    InputError
        The table breaks a rule; the message names the row, column and rule.
    """
    options = check_run_options(
        paths=paths, seed=seed, threads=threads, scheme=scheme, steps_per_year=steps_per_year,
        first_step=first_step, method=method, greeks=greeks, target_se=target_se,
        max_paths=max_paths, scheduler=scheduler, plain=plain, policy=policy,
        policy_paths=policy_paths)
    frame = load(source, market, extra_columns, options)
    check_reachable(options.scheduler)
    extra = tuple(name for name in options.greeks if name not in PARAMETER_GREEKS)
    parameters = tuple(name for name in options.greeks if name in PARAMETER_GREEKS)
    paths, unmet = sized_paths(frame, options, extra)
    estimates = simulate(frame, options, paths, progress, extra=extra)
    unmet = missed_targets(frame, estimates, options, unmet)
    from greeks.revaluation import with_revalued

    mean, se, total_mean, total_se, complete, parameter_methods = with_revalued(
        frame, estimates, extra, parameters, path_count(paths), options)
    names = BASE_GREEKS + extra + parameters
    if market is not None:
        _with_dated_carry(frame, market, names, mean, se, total_mean, total_se, complete,
                          paths, options)
    from greeks.engine.methods import by_conditional

    smooth = np.zeros(se.shape, dtype=bool)
    smooth[:, :len(BASE_GREEKS)] = by_conditional(estimates.choice)
    _with_unseen_floor(frame, names, se, total_se, paths, smooth)
    out = _result_table(frame, options, estimates, names, mean, se, parameter_methods)
    out.attrs["total"] = _total(names, total_mean, total_se, complete)
    if upper_bound:
        _with_upper_bound(out, frame, paths, options.seed)
    _with_run_columns(out, estimates, paths)
    out.attrs.update(run_attributes(options, paths, unmet))
    return out


def _with_run_columns(out: pd.DataFrame, estimates, paths) -> None:
    """The exercise statistics' totals (NaN: per row only, a total would mean nothing) and,
    where each group has its own count, the ``paths`` column before ``method`` (and
    ``paths_delta``, ``paths_vega`` where a row's Greeks took different counts)."""
    if estimates.exercise is not None:
        out.attrs["total"].update({f"{name}{suffix}": float("nan") for name in EXERCISE_STATISTICS
                                   for suffix in ("", "_se")})
    if isinstance(paths, dict):
        used = estimates.paths
        at = out.columns.get_loc("method")
        out.insert(at, "paths", used[:, 0])
        if (used != used[:, :1]).any():
            out.insert(at + 1, "paths_delta", used[:, 1])
            out.insert(at + 2, "paths_vega", used[:, 2])


def simulate(frame: pd.DataFrame, options: RunOptions, paths, progress=None,
             first_chunk: int = 0, **totals):
    """:func:`greeks.engine.simulate` on ``frame`` with the run's options and ``paths`` (a
    count, or one per group); ``totals`` are its ``extra``, ``weight`` and ``subtotal``."""
    from greeks import engine

    return engine.simulate(frame, paths, options.seed, options.threads, progress,
                           options.scheme, options.steps_per_year, options.first_step,
                           options.plain, method=options.method, first_chunk=first_chunk,
                           scheduler=options.scheduler, policy=options.policy, **totals)


def sized_paths(frame: pd.DataFrame, options: RunOptions, extra: tuple[str, ...] = ()):
    """The run's path count, or under ``target_se`` each row's (:mod:`greeks.target`), and
    the ids of the rows whose target the cap stops."""
    if options.target is None:
        return options.paths, []
    from greeks import target

    return target.paths_for_target(
        frame, options.target,
        lambda count, first_chunk: simulate(frame, options, count, first_chunk=first_chunk,
                                            extra=extra),
        pilot=options.paths, max_paths=options.max_paths)


def missed_targets(frame: pd.DataFrame, estimates, options: RunOptions,
                   capped: list[str]) -> list[str]:
    """The ids of the rows whose final standard errors (of the ``estimates``' price, delta,
    vega and further Greeks) miss ``target_se``: the cap's ``capped`` and any other, in
    frame order."""
    if options.target is None:
        return capped
    from greeks import target

    late = set(capped) | set(target.missed(frame, estimates.mean, estimates.se,
                                           options.target))
    return [str(i) for i in frame["id"] if str(i) in late]


def path_count(paths) -> int:
    """The largest path count of a run (its count, or the largest of a group's)."""
    return int(max(paths.values()) if isinstance(paths, dict) else paths)


def run_attributes(options: RunOptions, paths, unmet: list[str]) -> dict:
    """The run's options as a result table's ``attrs``."""
    return dict(paths=paths if isinstance(paths, dict) else int(paths),
                target_se=options.target_se, unmet=unmet, seed=options.seed,
                scheme=options.scheme,
                steps_per_year=options.steps_per_year if options.steps_per_year else "auto",
                first_step=options.first_step, plain=options.plain, method=options.method)


def _result_table(frame, options: RunOptions, estimates, names, mean, se,
                  parameter_methods) -> pd.DataFrame:
    """The per-row results (module docstring of :func:`price_portfolio`), then the input
    columns."""
    from greeks import engine

    results = {"id": frame["id"]}
    for k, name in enumerate(names):
        for column, scale in _columns(name):
            results[column] = mean[:, k] * scale
            results[f"{column}_se"] = se[:, k] * scale
    if estimates.exercise is not None:
        for k, name in enumerate(EXERCISE_STATISTICS):
            results[name] = estimates.exercise[:, k]
            results[f"{name}_se"] = estimates.exercise_se[:, k]
    results["method"] = engine.row_methods(frame, options.method, options.plain)
    for k, name in enumerate(BASE_GREEKS):
        results[f"method_{name}"] = estimates.choice[:, k]
    for name, used in parameter_methods.items():
        results[f"method_{name}"] = used
    return pd.concat([pd.DataFrame(results), without_market(frame).drop(columns="id")],
                     axis=1)


def _with_upper_bound(out: pd.DataFrame, frame, paths, seed: int) -> None:
    """The columns ``upper_bound`` and ``upper_bound_se`` before ``method``, NaN in the total
    (:func:`greeks.duality.frame_upper_bounds`); a warning names the rows whose martingale
    check fails."""
    import warnings

    from greeks.duality import ALARM, failed_checks, frame_upper_bounds

    upper, se, checks = frame_upper_bounds(frame, paths, seed)
    failed = failed_checks(checks)
    if failed:
        warnings.warn(f"upper bound of {', '.join(failed)}: the martingale's mean is beyond "
                      f"{ALARM:g} SE of 0; the bound may not hold", stacklevel=3)
    at = out.columns.get_loc("method")
    out.insert(at, "upper_bound", upper)
    out.insert(at + 1, "upper_bound_se", se)
    out.attrs["total"].update(upper_bound=float("nan"), upper_bound_se=float("nan"))
    out.attrs["upper_bound_checks"] = checks


def _total(names, total_mean, total_se, complete) -> dict:
    """The quantity-weighted portfolio total and its standard errors, under the result
    columns' names (NaN for a Greek not every row has)."""
    total = {}
    for k, name in enumerate(names):
        for column, scale in _columns(name):
            total[column] = float(total_mean[k]) * scale if complete[k] else float("nan")
            total[f"{column}_se"] = float(total_se[k]) * scale if complete[k] else float("nan")
    return total


def _columns(name: str) -> list[tuple[str, float]]:
    """Result columns of a Greek and their scale: rho as ``rho_rate``, theta as
    ``theta_per_year`` and ``theta_per_day`` (``rho`` and ``theta`` name the Heston
    correlation and long-run variance columns)."""
    if name == "theta":
        return [("theta_per_year", 1.0), ("theta_per_day", 1.0 / 365.0)]
    return [("rho_rate" if name == "rho" else name, 1.0)]


def _with_dated_carry(frame, market, names, mean, se, total_mean, total_se, complete,
                      paths, options: RunOptions) -> None:
    """Fill in, in place, rho and theta of the rows priced off a market from their
    bucketed Greeks on the main run's paths (:mod:`greeks.engine.buckets`): rho the
    parallel shift of the row's rate curve (the sum of its node buckets; Heston european
    and asian rows pathwise, digital and barrier rows by the carry's score), theta 365
    times the one-day change (so ``theta_per_day`` is that change; GBM rows by its
    likelihood ratio, Heston rows on the chain re-run a day later on the same random
    numbers, :mod:`greeks.models.heston.buckets`).  American and bermudan rows keep the
    engine's (:mod:`greeks.models.gbm.exercise_carry`,
    :mod:`greeks.models.heston.exercise_carry`).  A total is
    the engine's (its rows that have one) plus the buckets' aggregate (independent
    streams), when every row has a value."""
    wanted = {"rho": "rate", "theta": "theta"}
    codes = {name: names.index(name) for name in wanted if name in names}
    rows = dated_rows(frame)
    if not codes or not rows.any():
        return
    from greeks.engine.buckets import bucket_estimates
    from greeks.market import load_market

    found, aggregates = bucket_estimates(frame, load_market(market), paths, options.seed,
                                         options.threads, scheduler=options.scheduler,
                                         theta="theta" in codes, exercised=False,
                                         grid=options.grid)
    nodes: dict = {}
    for position, label, kind, value, error in found:
        nodes.setdefault((position, kind), []).append((label, value, error))
    scale = {"rho": 1.0, "theta": 365.0}
    for name, k in codes.items():
        kind = wanted[name]
        for position in np.flatnonzero(rows):
            entries = nodes.get((position, kind))
            if not entries:  # american and bermudan rows: the engine's
                continue
            label, value, error = next((e for e in entries if e[0].endswith(":parallel")),
                                       entries[0])
            mean[position, k], se[position, k] = scale[name] * value, scale[name] * error
        picked = [(m, s) for (slot, label, kind_), (m, s) in aggregates.items()
                  if slot == -2 and kind_ == kind and _parallel_label(label, aggregates)]
        total_mean[k] += scale[name] * sum(m for m, _ in picked)
        total_se[k] = math.hypot(total_se[k],
                                 scale[name] * float(np.sqrt(sum(s * s for _, s in picked))))
        complete[k] = bool(np.isfinite(mean[:, k]).all())


def _with_unseen_floor(frame, names, se, total_se, paths, smooth) -> None:
    """Raise the rows' standard errors by :func:`unseen_floor` (``smooth`` as there), in
    place; the total's SE gains each row's added variance times its quantity squared."""
    added = frame["quantity"].to_numpy(dtype=float)[:, None] ** 2 * unseen_floor(
        frame, names, se, paths, smooth)
    added = np.array([math.fsum(column) for column in added.T])  # any row order
    lifted_total = added > 0.0
    total_se[lifted_total] = np.sqrt(total_se[lifted_total] ** 2 + added[lifted_total])


def unseen_floor(frame, names, se, paths, smooth: np.ndarray | None = None) -> np.ndarray:
    """Raise, in place, the standard errors of samples that saw no event to the bound of
    :func:`greeks.engine.reduce.unseen_bounds`, for the Greeks whose estimators the
    engine's reduction does not floor itself: the finite differences of the revaluations
    (:mod:`greeks.revaluation`: e.g. Heston rho and theta of a digital every path pays)
    and the buckets' rho and theta of rows off a market (a deep digital's rho exactly
    −T·DF·payout on every path: SE 1.7e−19).  Per row: R from the row's payoff and its
    (flat-equivalent) rate, yield and vol or σ0, t_1 its first date (the maturity of an
    early-exercise row), N its units (half its paths: antithetic pairs; the smaller N, the
    larger the bound; an early-exercise row on single paths has the engine's floor on its
    paths, which this one leaves as it is); where the model's vega is exactly 0 (Heston's
    from v0 = 0) so is the vanna (both odd in σ0 there, :meth:`Model.floor_sigma`).  An SE
    the reduction raised, or one that saw its events, stays as it is.  ``se`` (rows ×
    ``names``, per unit of quantity); ``smooth`` (rows × names, default none) marks the
    estimates of conditional Monte Carlo, whose SE is kept unless at rounding level
    (:func:`greeks.engine.reduce.raised`); returns the variance each SE gained
    (rows × names), for the totals."""
    from greeks import sensitivities
    from greeks.engine.reduce import barrier_reach, floor_scale, raised, unseen_bounds
    from greeks.market.positions import MARKET_COLUMN
    from greeks.payoff_table import frame_codes

    keys = {"price": "price", "delta": "delta", "vega": "vega", "gamma": sensitivities.GAMMA,
            "rho": sensitivities.RHO, "theta": sensitivities.THETA,
            "vanna": sensitivities.VANNA, "volga": sensitivities.VOLGA}
    columns = [k for k, name in enumerate(names) if name in keys]
    added = np.zeros(se.shape)
    n_rows = len(frame)

    def column(name: str, default: float) -> np.ndarray:
        return (frame[name].to_numpy(dtype=float) if name in frame.columns
                else np.full(n_rows, default))

    t, spot, rate, strike = (column(name, np.nan) for name in ("maturity", "spot", "rate",
                                                               "strike"))
    dividend = column("dividend", 0.0)
    sigma, exact = _floor_sigmas(frame)
    markets = (frame[MARKET_COLUMN].tolist() if MARKET_COLUMN in frame.columns
               else [None] * n_rows)
    fixings = column("fixings", 1.0)
    first = np.where(exercise_rows(frame), t, np.where(
        [market is not None for market in markets],
        [np.nan if market is None else float(market.times[0]) for market in markets],
        t / np.maximum(fixings, 1.0)))
    discount = _exp(-rate * t)
    counts = ([paths[str(name)] for name in frame["id"].tolist()] if isinstance(paths, dict)
              else [paths] * n_rows)
    n = np.maximum(np.array(counts, dtype=np.int64), 4) // 2
    kept = np.flatnonzero(sigma > 0.0)
    if not kept.size:
        return added
    kink = spot * _exp((rate - dividend) * t) * discount * sigma * np.sqrt(t)
    omega = np.where(frame["option_type"].to_numpy(dtype=object) == "call", 1.0, -1.0)
    spot, t, first, sigma, n, exact, codes, kink, discount, payout, strike, omega, barrier = (
        values[kept] for values in (spot, t, first, sigma, n, exact, frame_codes(frame), kink,
                                    discount, column("payout", 1.0), strike, omega,
                                    column("barrier", 0.0)))
    scale = floor_scale(codes, kink, discount * payout, discount * strike,
                        discount * barrier_reach(codes, omega, strike, barrier))
    for units, exact_ in set(zip(n.tolist(), exact.tolist())):
        on = (n == units) & (exact == exact_)
        i = kept[on]
        codes_ = ["exact" if exact_ and names[k] in ("vega", "vanna") else keys[names[k]]
                  for k in columns]
        bound = unseen_bounds(codes_, scale[on], spot[on], t[on], first[on], sigma[on], units)
        now = se[np.ix_(i, columns)]
        lifted = raised(now, bound, units,
                        False if smooth is None else smooth[np.ix_(i, columns)])
        added[np.ix_(i, columns)] = np.where(np.isfinite(now), lifted ** 2 - now ** 2, 0.0)
        se[np.ix_(i, columns)] = lifted
    return added


def _floor_sigmas(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's (σ, vega exactly 0) of :meth:`greeks.models.base.Model.floor_sigma`, taken
    once per model and set of parameters."""
    from greeks.models import adapter

    sigma, exact = np.full(len(frame), np.nan), np.zeros(len(frame), dtype=bool)
    models = frame["model"].to_numpy(dtype=object)
    for name in dict.fromkeys(models.tolist()):
        on = np.flatnonzero(models == name)
        params = np.column_stack([frame[column].to_numpy(dtype=float)[on]
                                  for column in schema(name).PARAMETERS])
        found, which = {}, []
        for values in map(tuple, params.tolist()):
            which.append(found.setdefault(values, len(found)))
        scales = [adapter(name).floor_sigma(values) for values in found]
        sigma[on] = np.array([scale for scale, _ in scales])[which]
        exact[on] = np.array([flag for _, flag in scales], dtype=bool)[which]
    return sigma, exact


def _exp(x: np.ndarray) -> np.ndarray:
    """e^x element by element with the math library's exp, as a row-by-row loop has it."""
    return np.array([math.exp(value) for value in x.tolist()])


def _parallel_label(label: str, aggregates: dict) -> bool:
    """Whether a total's factor is a parallel shift: ``…:parallel``, or a curve's only
    node (a curve with no parallel entry)."""
    if label.endswith(":parallel") or label.startswith("theta:"):
        return True
    curve = label.rsplit(":", 1)[0]
    return not any(key[1] == f"{curve}:parallel" for key in aggregates)


def exercise_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows with early exercise (american, bermudan: :mod:`greeks.exercise`)."""
    from greeks.payoff_table import attribute_of, frame_codes

    return attribute_of(frame_codes(frame), "exercise").astype(bool)


def refuse_from_zero(frame: pd.DataFrame, source: str, options: RunOptions,
                     lines=None) -> None:
    """Refuse rows whose variance starts at 0 (Heston's v0 = 0: each model's schema's
    ``zero_variance``) that the run cannot estimate: under Euler (its first variance step
    from 0 is deterministic, so no σ0-score exists), and without the Feller condition where
    a row would take the likelihood-ratio delta weight
    (:func:`greeks.engine.lr_delta_unusable`).  ``lines``: as in
    :func:`greeks.instruments.validate`."""
    models = frame["model"].to_numpy(dtype=object)
    zero = np.zeros(len(frame), dtype=bool)
    for name in np.unique(models).tolist():
        rows = models == name
        zero[rows] = schema(name).zero_variance(frame[rows])
    if not zero.any():
        return
    if options.scheme == "euler":
        position = int(zero.argmax())
        raise InputError(source, "v0 = 0 cannot be simulated with scheme 'euler' (its first "
                         "variance step is deterministic); use qe or exact",
                         row=position + 1, column="v0",
                         line=None if lines is None else int(lines[position]))
    from greeks import engine

    weighted = np.array([estimator.delta_weight for estimator
                         in engine.row_estimators(frame, options.method, options.plain)],
                        dtype=bool)
    refused = engine.lr_delta_unusable(frame) & weighted
    if refused.any():
        position = int(refused.argmax())
        remedy = ("give v0 > 0 (rows priced off a market go by likelihood ratio)"
                  if dated_rows(frame)[position]
                  else "give v0 > 0 (plain likelihood-ratio estimators cannot take it)"
                  if options.plain else "use method 'auto' or 'fd', or give v0 > 0")
        raise InputError(source, "v0 = 0 with 2*kappa*theta < xi^2: the likelihood-ratio delta "
                         "weight has no finite variance here (the variance leaves 0 too "
                         f"slowly); {remedy}", row=position + 1, column="v0",
                         line=None if lines is None else int(lines[position]))


def vega_buckets(source, *, market, paths: int | None = None, seed: int | None = None,
                 threads: int | None = None, scheduler: str | None = None,
                 policy: str | None = None, policy_paths: int | None = None) -> pd.DataFrame:
    """Bucketed vegas of the GBM positions priced off ``market``: ∂V/∂σ_j per node j of
    their underlying's vol curve, with standard errors (:mod:`greeks.engine.buckets`);
    one row per position and node: ``id``, ``underlying``, ``node``, ``vega``, ``vega_se``.
    The buckets of a position add up to its parallel vega (within their SEs); american and
    bermudan positions' under the exercise ``policy`` (as in :func:`price_portfolio`)."""
    from greeks.engine.buckets import vega_buckets as buckets
    from greeks.market import load_market

    options = check_run_options(paths=paths, seed=seed, threads=threads, scheduler=scheduler,
                                policy=policy, policy_paths=policy_paths)
    check_reachable(options.scheduler)
    market = load_market(market)
    return buckets(load(source, market), market, options.paths, options.seed, options.threads,
                   options.scheduler, options.policy)


def with_total_row(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with the portfolio total appended as a row whose id is ``TOTAL``.

    The total is Σ quantity · value (not per unit), so its ``quantity`` is left empty; integer
    columns (``fixings``) stay integers, the total's cell empty.
    """
    total = pd.DataFrame([{"id": "TOTAL", **results.attrs["total"]}])
    combined = pd.concat([results, total], ignore_index=True)
    for column in results.columns[[dtype.kind in "iu" for dtype in results.dtypes]]:
        combined[column] = combined[column].astype("Int64")
    combined.attrs = results.attrs
    return combined


__all__ = ["price_portfolio", "InputError", "OptionError", "RESULT_COLUMNS"]
