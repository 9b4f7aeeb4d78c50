"""Every name and default of the options, and their one validation.

The instruments and their option and barrier types, the Heston schemes, the
estimator methods, the schedulers, the Greeks and the output formats are named here, with
every default of a run; :func:`check_run_options` checks a run's options and fills in the
defaults, raising :class:`OptionError` (a ``ValueError``) in the words of the Python API.
The module imports the standard library only, so that the command line can show its help
and refuse a bad option without loading numpy or numba.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

INSTRUMENTS = ("european", "digital", "asian", "barrier", "american", "bermudan")
OPTION_TYPES = ("call", "put")
BARRIER_TYPES = ("up-and-out", "down-and-out", "up-and-in", "down-and-in")
DIGITAL_TYPES = ("cash", "asset")  # a digital row's digital_type; cash is the default
# an american row's exercise_grid: its fixings refined to at least daily (the default), or as given
EXERCISE_GRIDS = ("daily", "fixings")

SCHEMES = ("qe", "exact", "euler")
METHODS = ("auto", "mixed", "lr", "pathwise", "fd", "rqmc", "parity")
SCHEDULERS = ("local", "processes")  # or the address of a Dask scheduler
DASK_PROTOCOLS = ("tcp", "tls", "inproc", "ucx", "ws", "wss")

BASE_GREEKS = ("price", "delta", "vega")  # always estimated
FURTHER_GREEKS = ("gamma", "rho", "theta", "vanna", "volga")  # greeks.sensitivities
PARAMETER_GREEKS = ("dkappa", "dtheta", "dxi", "drho")  # Heston model parameters
GREEKS = FURTHER_GREEKS + PARAMETER_GREEKS  # the further Greeks, in canonical order
ALL_GREEKS = "all"
# result columns of american and bermudan rows (greeks.exercise)
EXERCISE_STATISTICS = ("exercise_probability", "exercise_time")
ROUNDING = 1e-12  # a spread below this fraction of its scale is rounding: an exact estimate
# risk-report exposure of each Greek with a desk unit (greeks.report)
DESK_UNITS = {"gamma": "dollar_gamma", "theta": "theta_per_day", "rho": "rho_per_bp"}

INPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json"}
OUTPUT_FORMATS = {**INPUT_FORMATS, ".html": "html"}
PRINT_FORMATS = ("table", "csv", "json")

DEFAULT_PATHS = 200_000
DEFAULT_SEED = 0
DEFAULT_SCHEME = "qe"
DEFAULT_METHOD = "auto"
# steps per year: each Heston simulation's own (greeks.models.heston.adapter.steps_per_year)
AUTO_STEPS = 0.0
STEPS_PER_YEAR_LIMIT = 100_000  # the most a run may ask for
DEFAULT_FIRST_STEP = 0.0  # years: one regular step
DEFAULT_SCHEDULER = "local"
DEFAULT_PILOT = 20_000  # paths of the sizing run under target_se
DEFAULT_MAX_PATHS = 100_000_000  # under target_se
DEFAULT_MIN_ESS = 0.1  # ladder: fraction of the paths
DEFAULT_SPOT_SHIFTS = "-20%:+20%:5%"
DEFAULT_VOL_SHIFTS = "0"
DEFAULT_FORMAT = "table"
# the exercise policy of american and bermudan rows (greeks.exercise)
POLICIES = ("solved", "regression")
DEFAULT_POLICY = "solved"
DEFAULT_POLICY_PATHS = 1 << 17  # the pilot's paths (the solved policy's: its first chunk)
DEFAULT_POLICY_BASIS = 5  # (1, x, x², x³, the European value): greeks.exercise_regression
MIN_POLICY_PATHS = 1 << 10


class OptionError(ValueError):
    """A run option out of its range or not one of its names; ``str()`` is one line that
    names the option as the Python API does (``paths``, ``scheduler``, ...)."""


class ExercisePolicy(NamedTuple):
    """The exercise policy of american and bermudan rows (:mod:`greeks.exercise`): ``kind``
    solved (each model's solved boundaries) or regression (Longstaff–Schwartz on a pilot of
    ``paths`` paths, the first ``basis`` functions of :mod:`greeks.exercise_regression`'s
    basis)."""

    kind: str = DEFAULT_POLICY
    paths: int = DEFAULT_POLICY_PATHS
    basis: int = DEFAULT_POLICY_BASIS


@dataclass(frozen=True)
class RunOptions:
    """A run's options, checked, with every default filled in.

    ``paths`` is the path count of the run, or under ``target_se`` that of the sizing run;
    ``target`` is ``target_se`` parsed as (value, relative).
    """

    paths: int
    seed: int
    threads: int | None
    scheme: str
    steps_per_year: float
    first_step: float
    method: str
    greeks: tuple[str, ...]
    target_se: object
    target: tuple[float, bool] | None
    max_paths: int
    scheduler: str
    plain: bool
    policy: ExercisePolicy = ExercisePolicy()

    @property
    def grid(self) -> dict:
        """The simulation grid's options (:func:`greeks.engine.plan.plan_groups`)."""
        return dict(scheme=self.scheme, steps_per_year=self.steps_per_year,
                    first_step=self.first_step)


def check_run_options(*, paths=None, seed=None, threads=None, scheme=None,
                      steps_per_year=None, first_step=None, method=None, greeks=(),
                      target_se=None, max_paths=None, scheduler=None, plain=False,
                      policy=None, policy_paths=None, desk_units: bool = False) -> RunOptions:
    """Check a run's options and fill in the defaults; ``None`` stands for the default.

    Parameters
    ----------
    paths, seed, threads, scheme, steps_per_year, first_step, method, greeks, target_se, \
max_paths, scheduler, plain, policy, policy_paths
        As in :func:`greeks.price_portfolio`.
    desk_units : bool
        Only Greeks with a desk unit may be asked for (a risk report, ``DESK_UNITS``).

    Returns
    -------
    RunOptions

    Raises
    ------
    OptionError
        The first option that breaks its rule, e.g. ``paths must be a whole number >= 2,
        got 1``.
    """
    target = None if target_se is None else parse_target_se(target_se)
    pilot_or_paths = DEFAULT_PILOT if target is not None else DEFAULT_PATHS
    return RunOptions(
        paths=_whole("paths", pilot_or_paths if paths is None else paths, 2),
        seed=_whole("seed", DEFAULT_SEED if seed is None else seed, 0),
        threads=None if threads is None else _whole("threads", threads, 1),
        scheme=_one_of("scheme", DEFAULT_SCHEME if scheme is None else scheme, SCHEMES),
        steps_per_year=_steps_per_year(steps_per_year),
        first_step=_first_step(first_step),
        method=_one_of("method", DEFAULT_METHOD if method is None else method, METHODS),
        greeks=check_greeks(greeks, desk_units),
        target_se=target_se, target=target,
        max_paths=_whole("max_paths", DEFAULT_MAX_PATHS if max_paths is None else max_paths, 2),
        scheduler=check_scheduler(scheduler),
        plain=bool(plain),
        policy=ExercisePolicy(
            _one_of("policy", DEFAULT_POLICY if policy is None else policy, POLICIES),
            _whole("policy_paths", DEFAULT_POLICY_PATHS if policy_paths is None
                   else policy_paths, MIN_POLICY_PATHS)))


def _whole(name: str, value, low: int) -> int:
    """``value`` as an int, if it is a whole number >= ``low``."""
    try:
        whole = not isinstance(value, bool) and int(value) == value
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or value < low:
        raise OptionError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def _one_of(name: str, value, allowed) -> str:
    if value not in allowed:
        raise OptionError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _number(name: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number, got {value!r}") from None


def _steps_per_year(value) -> float:
    """A Heston grid's steps per year; None: automatic (``AUTO_STEPS``)."""
    if value is None:
        return AUTO_STEPS
    steps = _number("steps_per_year", value)
    if not 0 < steps <= STEPS_PER_YEAR_LIMIT:
        raise OptionError(f"steps_per_year must lie in (0, {STEPS_PER_YEAR_LIMIT}] "
                          f"(None: automatic), got {value!r}")
    return steps


def _first_step(value) -> float:
    if value is None:
        return DEFAULT_FIRST_STEP
    step = _number("first_step", value)
    if not 0 <= step < math.inf:
        raise OptionError(f"first_step must be a finite number of years >= 0, got {value!r}")
    return step


def check_greeks(greeks, desk_units: bool = False) -> tuple[str, ...]:
    """The further Greeks asked for, in canonical order (``GREEKS``): names in a sequence or
    a comma-separated string; price, delta and vega are always estimated and may be named
    too; ``all`` names every one (``desk_units``: every one with a desk unit)."""
    allowed = tuple(DESK_UNITS) if desk_units else GREEKS
    allowed = tuple(name for name in GREEKS if name in allowed)
    if isinstance(greeks, str):
        greeks = greeks.split(",")
    elif greeks is None:
        greeks = ()
    asked = {str(name).strip().lower() for name in greeks if str(name).strip()}
    if ALL_GREEKS in asked:
        asked = set(allowed)
    unknown = sorted(asked - set(GREEKS) - set(BASE_GREEKS))
    if unknown:
        raise OptionError(f"greeks: unknown Greek {unknown[0]!r}; choose from "
                          f"{', '.join(BASE_GREEKS + GREEKS)} or {ALL_GREEKS}")
    undesked = sorted(asked - set(allowed) - set(BASE_GREEKS))
    if undesked:
        units = ", ".join(f"{name} ({unit})" for name, unit in DESK_UNITS.items())
        raise OptionError(f"greeks: {undesked[0]!r} has no desk unit in a risk report; the "
                          f"further Greeks with one are {units}")
    return tuple(name for name in allowed if name in asked)


def column_names(names) -> tuple[str, ...]:
    """Column names from a sequence or one comma-separated string."""
    if isinstance(names, str):
        names = names.split(",")
    try:
        return tuple(str(name).strip() for name in names if str(name).strip())
    except TypeError:
        raise OptionError(f"extra_columns expects column names, got {names!r}") from None


def check_scheduler(scheduler) -> str:
    """``local``, ``processes`` or a Dask scheduler's address ``protocol://host:port``
    (protocol one of ``DASK_PROTOCOLS``); None: ``local``."""
    if scheduler is None:
        return DEFAULT_SCHEDULER
    if scheduler in SCHEDULERS:
        return scheduler
    match = re.fullmatch(r"([a-z]+)://\S+", scheduler) if isinstance(scheduler, str) else None
    if match is None or match.group(1) not in DASK_PROTOCOLS:
        raise OptionError(f"scheduler must be {' or '.join(SCHEDULERS)} or the address of a "
                          f"Dask scheduler such as tcp://host:8786 (protocols "
                          f"{', '.join(DASK_PROTOCOLS)}), got {scheduler!r}")
    return scheduler


def parse_target_se(target) -> tuple[float, bool]:
    """(value, relative) from ``0.01`` or ``"0.5%"`` (relative to the estimate); > 0."""
    text = str(target).strip()
    relative = text.endswith("%")
    try:
        value = float(text[:-1] if relative else text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise OptionError(f"target_se must be a number > 0 or a percentage such as '0.5%', "
                          f"got {target!r}")
    return (value / 100.0 if relative else value), relative


def check_min_ess(min_ess) -> float:
    """A ladder's least effective sample size, as a fraction of the paths in (0, 1]."""
    if min_ess is None:
        return DEFAULT_MIN_ESS
    value = _number("min_ess", min_ess)
    if not 0 < value <= 1:
        raise OptionError(f"min_ess must lie in (0, 1], got {min_ess!r}")
    return value


def parse_shifts(text: str, name: str, floor: float | None = -1.0) -> list[float]:
    """The shifts of ``"-20%:+20%:5%"`` (start:stop:step, both ends included) or of a comma
    list ``"-10%,0%,10%"``; values without ``%`` are fractions.  Shifts must be finite and,
    for a relative spot shift, above ``floor`` (−100 %).  ``name`` words the errors."""
    def value(part: str) -> float:
        part = part.strip()
        return float(part.rstrip("%")) * (0.01 if part.endswith("%") else 1.0)

    try:
        if ":" in text:
            start, stop, step = (value(p) for p in text.split(":"))
            if not step > 0 or stop < start:
                raise ValueError
            shifts = [start + step * k for k in range(math.floor((stop - start) / step + 1e-9)
                                                      + 1)]
        else:
            shifts = [value(p) for p in text.split(",")]
    except (ValueError, OverflowError):
        raise OptionError(f"{name} expects start:stop:step or a comma list of shifts such as "
                          f"-20%:+20%:5%, got {text!r}") from None
    if not all(math.isfinite(s) for s in shifts) or (
            floor is not None and any(s <= floor for s in shifts)):
        hint = ""
        if "%" not in text and any(abs(s) >= 1.0 for s in shifts if math.isfinite(s)):
            percent = ":" if ":" in text else ","
            hint = (f" (values without % are fractions: did you mean "
                    f"{percent.join(p.strip() + '%' for p in text.split(percent))}?)")
        raise OptionError(f"{name}: shifts must be finite"
                          + (", and above -100%" if floor is not None else "")
                          + f", got {text!r}{hint}")
    return shifts
