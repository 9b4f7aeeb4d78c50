"""The Python interface: instrument table (or file) in, result table out."""

from __future__ import annotations

import os
from typing import Callable

import numpy as np
import pandas as pd

from greeks.instruments import RESULT_COLUMNS, InputError, validate


def load(frame_or_path) -> pd.DataFrame:
    """A validated instrument frame from a DataFrame or a .csv/.parquet/.json path."""
    if isinstance(frame_or_path, pd.DataFrame):
        return validate(frame_or_path, "<DataFrame>")
    if isinstance(frame_or_path, (str, os.PathLike)):
        from greeks.io import read_instruments

        return read_instruments(frame_or_path)
    raise TypeError("expected a pandas.DataFrame or a path to an instrument file")


def check_run_options(paths: int, seed: int, threads: int | None, scheme: str = "qe",
                      steps_per_year: float = 1.0, first_step: float | None = None) -> None:
    from greeks.models.heston.schema import SCHEME_CODES

    if int(paths) != paths or paths < 2:
        raise ValueError(f"paths must be a whole number >= 2, got {paths!r}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if threads is not None and (int(threads) != threads or threads < 1):
        raise ValueError(f"threads must be a whole number >= 1, got {threads!r}")
    if scheme not in SCHEME_CODES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEME_CODES)}, got {scheme!r}")
    if not 0 < steps_per_year <= 100_000:
        raise ValueError(f"steps per year must lie in (0, 100000], got {steps_per_year!r}")
    if first_step is not None and not 0 <= first_step < float("inf"):
        raise ValueError(f"first step must be >= 0 years, got {first_step!r}")


def price_portfolio(frame_or_path, paths: int | None = None, seed: int | None = None,
                    threads: int | None = None,
                    report: Callable[[float, float], None] | None = None,
                    scheme: str | None = None, steps_per_year: float | None = None,
                    first_step: float | None = None, plain: bool = False,
                    greeks: tuple[str, ...] | list[str] = (),
                    method: str | None = None, target_se=None,
                    max_paths: int | None = None, scheduler: str | None = None) -> pd.DataFrame:
    """Price every row and estimate its delta and vega, each with its standard error.

    Parameters
    ----------
    frame_or_path : pandas.DataFrame or path
        Instrument table (see docs/instruments.md) or a .csv/.parquet/.json file of one.
    paths : int
        Monte-Carlo paths per simulation group (default ``engine.DEFAULT_PATHS``).
    seed : int
        The same table, seed and paths give bit-identical numbers, whatever the
        thread count or the row order.
    threads : int
        Worker threads (default: the usable cores).
    scheme : {"qe", "exact", "euler"}
        Heston discretisation (default ``engine.DEFAULT_SCHEME``); see greeks.models.heston.
    steps_per_year : float
        Heston simulation steps per year; the grid is the union of these steps and every
        row's dates.  Default (None or 0): per simulation, max(52, ⌈4ξ²/θ⌉) up to 1,024
        (engine.heston_steps_per_year), which keeps the discretisation bias near or below
        one standard error of the default path count.
    first_step : float
        Length in years of the first Heston step (default 0: one regular step; shorter
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
    method : {"auto", "mixed", "lr", "pathwise", "fd", "rqmc"}
        The estimators (default ``auto``; see ``engine.row_methods``): ``mixed`` each row's
        default family (survival conditioning, conditional Monte Carlo or likelihood ratio)
        for all its Greeks, without auto's per-Greek choice; ``lr`` likelihood
        ratio with controls for every row, ``pathwise`` pathwise delta and vega for GBM
        european and asian rows, ``fd`` central differences on common random numbers
        (greeks.pathwise), ``rqmc`` likelihood ratio (Heston european and digital rows:
        conditional Monte Carlo) on randomised quasi-Monte Carlo paths (greeks.rqmc; the
        paths are 16 replicates of a power of two each); the
        ``method`` column names each row's.
    target_se : float or str
        Run enough paths that every requested Greek of every row reaches this standard
        error (absolute, or relative to |estimate| with a ``%`` suffix, e.g. ``"0.5%"``):
        ``paths`` is then the sizing run's count (default 20,000; greeks.target), each
        simulation group gets its own count (the ``paths`` column), at most ``max_paths``
        (default 10⁸; ``attrs["unmet"]`` lists the rows the cap stops).
    scheduler : str
        Where the chunks run: ``"local"`` (threads, the default), ``"processes"`` (a process
        pool of ``threads``), or the address of a Dask scheduler (``tcp://host:8786``; needs
        the ``dask`` extra).  The numbers do not depend on it.
    greeks : names
        Further Greeks besides price, delta and vega, of ``gamma``, ``rho``, ``theta``,
        ``vanna``, ``volga`` (see greeks.sensitivities: rho as ``rho_rate``, per 1.00 of
        rate; theta, the
        value's change as calendar time passes, as ``theta_per_year`` and
        ``theta_per_day``; vanna and volga per 1.00 of volatility); under Heston gamma and
        rho only, the others NaN.

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
        ``method_dkappa``, ... with the Heston parameter sensitivities, then
        the input columns.
        ``attrs["total"]`` holds the quantity-weighted portfolio total and its
        standard errors under the same names.

    Raises
    ------
    InputError
        The table breaks a rule; the message names the row, column and rule.
    """
    from greeks import engine
    from greeks.models.heston import sensitivities as further

    frame = load(frame_or_path)
    if target_se is None and paths is None:
        paths = engine.DEFAULT_PATHS
    seed = engine.DEFAULT_SEED if seed is None else seed
    scheme = engine.DEFAULT_SCHEME if scheme is None else scheme
    steps_per_year = engine.DEFAULT_STEPS_PER_YEAR if steps_per_year is None else steps_per_year
    check_run_options(2 if paths is None else paths, seed, threads, scheme,
                      steps_per_year or 1.0, first_step)
    extra = check_greeks(greeks)
    method = "auto" if method is None else method
    if method not in engine.METHODS:
        raise ValueError(f"method must be one of {', '.join(engine.METHODS)}, got {method!r}")
    _refuse_from_zero(frame, frame_or_path, scheme, method, bool(plain))
    first_step = 0.0 if first_step is None else float(first_step)

    def run(count, first_chunk=0, progress=None):
        return engine.simulate(frame, count, int(seed), threads, progress, scheme,
                               float(steps_per_year), first_step, bool(plain), extra=extra,
                               method=method, first_chunk=first_chunk,
                               scheduler=scheduler or "local")

    parameters = tuple(name for name in extra if name in further.PARAMETERS)
    extra = tuple(name for name in extra if name not in further.PARAMETERS)
    unmet: list[str] = []
    if target_se is not None:
        from greeks import target

        groups = engine.plan_groups(frame, scheme, float(steps_per_year), first_step, method,
                                    bool(plain))
        paths, unmet = target.paths_for_target(
            frame, target_se, run, groups,
            pilot=target.DEFAULT_PILOT if paths is None else int(paths),
            max_paths=target.DEFAULT_MAX_PATHS if max_paths is None else int(max_paths))
    else:
        paths = int(paths)
    estimates = run(paths, progress=report)
    count = int(max(paths.values()) if isinstance(paths, dict) else paths)
    mean, se, total_mean, total_se, complete, parameter_methods = _with_heston_sensitivities(
        frame, estimates, extra, parameters, count, int(seed), scheme, float(steps_per_year),
        first_step, method)
    names = ("price", "delta", "vega") + extra + parameters
    results = {"id": frame["id"]}
    for k, name in enumerate(names):
        for column, scale in _columns(name):
            results[column] = mean[:, k] * scale
            results[f"{column}_se"] = se[:, k] * scale
    results["method"] = engine.row_methods(frame, method, bool(plain))
    for k, name in enumerate(("price", "delta", "vega")):
        results[f"method_{name}"] = estimates.choice[:, k]
    for name, used in parameter_methods.items():
        results[f"method_{name}"] = used
    out = pd.concat([pd.DataFrame(results), frame.drop(columns="id")], axis=1)
    total = {}
    for k, name in enumerate(names):
        for column, scale in _columns(name):
            total[column] = float(total_mean[k]) * scale if complete[k] else float("nan")
            total[f"{column}_se"] = float(total_se[k]) * scale if complete[k] else float("nan")
    out.attrs["total"] = total
    if isinstance(paths, dict):
        out.insert(out.columns.get_loc("method"), "paths",
                   engine.row_paths(frame, paths, method, bool(plain)))
    out.attrs["paths"] = paths if isinstance(paths, dict) else int(paths)
    out.attrs["target_se"] = target_se
    out.attrs["unmet"] = unmet
    out.attrs["seed"] = int(seed)
    out.attrs["scheme"] = scheme
    out.attrs["steps_per_year"] = float(steps_per_year) if steps_per_year else "auto"
    out.attrs["first_step"] = 0.0 if first_step is None else float(first_step)
    out.attrs["plain"] = bool(plain)
    out.attrs["method"] = method
    return out


def _columns(name: str) -> list[tuple[str, float]]:
    """Result columns of a Greek and their scale: rho as ``rho_rate``, theta as
    ``theta_per_year`` and ``theta_per_day`` (``rho`` and ``theta`` name the Heston
    correlation and long-run variance columns)."""
    if name == "theta":
        return [("theta_per_year", 1.0), ("theta_per_day", 1.0 / 365.0)]
    return [("rho_rate" if name == "rho" else name, 1.0)]


def _with_heston_sensitivities(frame, estimates, extra, parameters, paths, seed, scheme,
                               steps_per_year, first_step, method):
    """The estimates with the Greeks that Heston rows get from
    :mod:`greeks.models.heston.sensitivities`: the model-parameter sensitivities ``parameters``
    appended (with the estimator of each row), and rho, theta, vanna, volga of the Heston
    rows filled in; totals completed with theirs."""
    from greeks.models.heston import sensitivities as further

    mean, se = estimates.mean, estimates.se
    total_mean, total_se = estimates.total_mean, estimates.total_se
    complete = estimates.complete
    methods = {name: np.full(len(frame), "", dtype=object) for name in parameters}
    filled_in = [name for name in extra if name in further.FILLED] + list(parameters)
    heston_rows = (frame["model"] == "heston").to_numpy()
    if filled_in and heston_rows.any():
        b_mean, b_se, b_total, b_total_se, choice = further.heston_sensitivities(
            frame, filled_in, paths, seed, scheme, steps_per_year, first_step, method)
        columns = [3 + extra.index(name) for name in filled_in if name in extra]
        filled = [filled_in.index(name) for name in filled_in if name in extra]
        mean, se = mean.copy(), se.copy()
        mean[np.ix_(heston_rows, columns)] = b_mean[np.ix_(heston_rows, filled)]
        se[np.ix_(heston_rows, columns)] = b_se[np.ix_(heston_rows, filled)]
        total_mean = np.concatenate([total_mean, np.zeros(len(parameters))])
        total_se = np.concatenate([total_se, np.zeros(len(parameters))])
        complete = np.concatenate([complete, np.ones(len(parameters), dtype=bool)])
        targets = columns + [3 + len(extra) + i for i in range(len(parameters))]
        total_mean[targets] += b_total
        total_se[targets] = np.hypot(total_se[targets], b_total_se)
        complete[columns] = True
        mean = np.concatenate([mean, b_mean[:, len(filled):]], axis=1)
        se = np.concatenate([se, b_se[:, len(filled):]], axis=1)
        methods = {name: choice[:, len(filled) + i] for i, name in enumerate(parameters)}
    elif parameters:  # no Heston rows: model-parameter sensitivities do not apply
        nan = np.full((len(frame), len(parameters)), np.nan)
        mean, se = np.concatenate([mean, nan], axis=1), np.concatenate([se, nan], axis=1)
        total_mean = np.concatenate([total_mean, np.full(len(parameters), np.nan)])
        total_se = np.concatenate([total_se, np.full(len(parameters), np.nan)])
        complete = np.concatenate([complete, np.zeros(len(parameters), dtype=bool)])
    return mean, se, total_mean, total_se, complete, methods


def check_greeks(greeks) -> tuple[str, ...]:
    """The further Greeks requested, in canonical order; price, delta and vega are always
    estimated and may be named too; ``all`` names every one."""
    from greeks.models.heston.sensitivities import PARAMETERS
    from greeks.sensitivities import NAMES

    known = NAMES + PARAMETERS
    names = {name.strip().lower() for name in greeks if name.strip()}
    if "all" in names:
        names = set(known)
    unknown = sorted(names - set(known) - {"price", "delta", "vega"})
    if unknown:
        raise ValueError(f"unknown Greek {unknown[0]!r}; choose from price, delta, vega, "
                         f"{', '.join(known)} or all")
    return tuple(name for name in known if name in names)


def _refuse_from_zero(frame: pd.DataFrame, frame_or_path, scheme: str, method: str,
                      plain: bool) -> None:
    """Refuse Heston rows from v0 = 0 that the run cannot estimate: under Euler (its first
    variance step from 0 is deterministic, so no σ0-score exists), and without the Feller
    condition where a row would take the likelihood-ratio delta weight
    (:func:`greeks.engine.lr_delta_unusable`)."""
    from greeks import engine

    zero = ((frame["model"] == "heston") & (frame["v0"] == 0)).to_numpy() \
        if "v0" in frame else np.zeros(len(frame), dtype=bool)
    source = "<DataFrame>" if isinstance(frame_or_path, pd.DataFrame) else str(frame_or_path)
    if scheme == "euler" and zero.any():
        raise InputError(source, "v0 = 0 cannot be simulated with --scheme euler (its first "
                         "variance step is deterministic); use qe or exact",
                         row=int(zero.argmax()) + 1, column="v0")
    weighted = np.array([label.startswith(("lr", "rqmc+lr"))
                         for label in engine.row_methods(frame, method, plain)], dtype=bool)
    refused = engine.lr_delta_unusable(frame) & weighted
    if refused.any():
        raise InputError(source, "v0 = 0 with 2*kappa*theta < xi^2: the likelihood-ratio delta "
                         "weight has no finite variance here (the variance leaves 0 too "
                         "slowly); use --method auto or fd, or give v0 > 0",
                         row=int(refused.argmax()) + 1, column="v0")


def with_total_row(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with the portfolio total appended as a row whose id is ``TOTAL``.

    The total is Σ quantity · value (not per unit), so its ``quantity`` is left empty.
    """
    total = pd.DataFrame([{"id": "TOTAL", **results.attrs["total"]}])
    combined = pd.concat([results, total], ignore_index=True)
    combined.attrs = results.attrs
    return combined


__all__ = ["price_portfolio", "InputError", "RESULT_COLUMNS"]
