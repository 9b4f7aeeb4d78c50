"""The command line's shared options, each declared once: name, short flag, default, help.

A command takes a group of them as one decorator (``simulation_options``,
``estimation_options``, ``output_options``, ``input_options``); their values reach the
library under the same names (``--steps-per-year`` as ``steps_per_year``), which checks them
(:func:`greeks.names.check_run_options`).  Defaults left to the library are ``None`` here
and shown as the library's.
"""

from __future__ import annotations

import click

from greeks.names import (
    DEFAULT_FORMAT,
    DEFAULT_MAX_PATHS,
    DEFAULT_PATHS,
    DEFAULT_PILOT,
    DEFAULT_POLICY,
    DEFAULT_POLICY_PATHS,
    DEFAULT_SCHEDULER,
    DEFAULT_SCHEME,
    DEFAULT_SEED,
    DESK_UNITS,
    METHODS,
    OUTPUT_FORMATS,
    POLICIES,
    PRINT_FORMATS,
    SCHEMES,
)


def _choices(names) -> str:
    return "[" + "|".join(names) + "]"


PATHS = click.option("--paths", "-n", type=int, default=None, show_default=f"{DEFAULT_PATHS:,}",
                     help="Monte-Carlo paths per simulation group.")
SEED = click.option("--seed", "-s", type=int, default=None, show_default=str(DEFAULT_SEED),
                    help="Random seed; the same input, seed and paths give bit-identical "
                         "numbers.")
THREADS = click.option("--threads", "-t", type=int, default=None, show_default="all cores",
                       help="Worker threads; the numbers do not depend on them.")
SCHEME = click.option("--scheme", default=None, metavar=_choices(SCHEMES),
                      show_default=DEFAULT_SCHEME,
                      help="Heston discretisation: Andersen's QE, exact variance, or "
                           "full-truncation Euler.")
STEPS_PER_YEAR = click.option(
    "--steps-per-year", type=float, default=None,
    show_default="max(52, 4·xi²/theta) per underlying, at most 1024; beyond 200,000 paths "
                 "× (paths/200,000)^(1/4)",
    help="Heston simulation steps per year (the grid also holds every row's dates).")
FIRST_STEP = click.option(
    "--first-step", type=float, default=None, show_default="one regular step",
    help="Length in years of the first Heston step; a longer one is simulated exactly (its "
         "integrated variance drawn given its end points): a quieter likelihood-ratio vega "
         "for some bias (keep kappa * step below about 1).")
SCHEDULER = click.option(
    "--scheduler", default=None, show_default=DEFAULT_SCHEDULER,
    help="Where the chunks run: local (threads), processes, or a Dask scheduler's address "
         "(tcp://host:8786); the numbers do not depend on it.")

METHOD = click.option(
    "--method", "-m", default=None, metavar=_choices(METHODS), show_default=METHODS[0],
    help="Estimators: auto (the best per row and Greek), mixed (each row's default: survival "
         "conditioning, conditional MC or LR), lr (likelihood ratio with controls), pathwise "
         "(GBM european and asian), fd (bump and revalue on common random numbers), rqmc "
         "(scrambled Sobol paths), parity (GBM knock-ins: the vanilla's closed form less the "
         "knock-out's survival estimator).")
GREEKS = click.option(
    "--greeks", "-g", default="", show_default="price,delta,vega",
    help="Further Greeks, comma-separated: gamma, rho (column rho_rate), theta (columns "
         "theta_per_year and theta_per_day), vanna, volga, and for Heston rows dkappa, dtheta, "
         "dxi, drho; or all.  A report takes those with a desk unit: "
         + ", ".join(f"{name} ({unit})" for name, unit in DESK_UNITS.items()) + ".")
TARGET_SE = click.option(
    "--target-se", default=None,
    help="Run enough paths for every Greek of every row to reach this standard error: "
         f"absolute (0.01) or relative to the estimate (0.5%); --paths is then the sizing "
         f"run's count (default {DEFAULT_PILOT:,}).")
MAX_PATHS = click.option("--max-paths", type=int, default=None,
                         show_default=f"{DEFAULT_MAX_PATHS:,}",
                         help="Cap on the paths per simulation under --target-se.")
PLAIN = click.option(
    "--plain", is_flag=True,
    help="Plain likelihood-ratio estimators for every row, without control variates, "
         "antithetic pairs or conditional Monte Carlo (for comparison; noisier).")
UPPER_BOUND = click.option(
    "--upper-bound", is_flag=True,
    help="Also an upper bound of the price of american and bermudan rows by duality (GBM "
         "and Heston rows, off a --market too; columns upper_bound, upper_bound_se).")
POLICY = click.option(
    "--policy", default=None, metavar=_choices(POLICIES), show_default=DEFAULT_POLICY,
    help="Exercise policy of american and bermudan rows: solved (the finite-difference "
         "boundaries, under Heston the ADI solution's) or regression (Longstaff-Schwartz on "
         "an independent pilot; low-biased by the fit, docs/american.md).")
POLICY_PATHS = click.option(
    "--policy-paths", type=int, default=None, show_default=f"{DEFAULT_POLICY_PATHS:,}",
    help="Pilot paths of --policy regression.")

EXTRA_COLUMNS = click.option(
    "--extra-columns", default="", show_default="none",
    help="Comma-separated input columns of your own whose names are close to a known "
         "column's (qty, divident): carried through instead of refused as a misspelling.")

OUTPUT = click.option(
    "--output", "-o", type=click.Path(dir_okay=False), default=None,
    help="Write the results; the suffix picks the format ("
         + ", ".join(OUTPUT_FORMATS) + ").")
MARKET = click.option(
    "--market", type=click.Path(dir_okay=False), default=None,
    help="A market file (JSON: valuation date, curves, spots, dividends, vols; "
         "docs/market.md) to price dated positions off: rows may give expiry and "
         "fixing_dates and leave spot, rate, dividend and vol to it.")
FORMAT = click.option("--format", "-f", "fmt", type=click.Choice(PRINT_FORMATS),
                      default=DEFAULT_FORMAT, show_default=True, help="What to print on stdout.")


def _together(options):
    """One decorator applying ``options`` in order (the first listed first in --help)."""
    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


def simulation_options(first_step: bool = True, scheduler: bool = True):
    """--paths, --seed, --threads, --scheme, --steps-per-year, and unless turned off
    --first-step and --scheduler."""
    return _together([PATHS, SEED, THREADS, SCHEME, STEPS_PER_YEAR]
                     + ([FIRST_STEP] if first_step else []) + ([SCHEDULER] if scheduler else []))


def estimation_options(command):
    """--method, --greeks, --target-se, --max-paths and --plain."""
    return _together([METHOD, GREEKS, TARGET_SE, MAX_PATHS, PLAIN])(command)


def bound_option(command):
    """--upper-bound."""
    return UPPER_BOUND(command)


def policy_options(command):
    """--policy and --policy-paths."""
    return _together([POLICY, POLICY_PATHS])(command)


def market_option(command):
    """--market."""
    return MARKET(command)


def output_options(command):
    """--output and --format."""
    return _together([OUTPUT, FORMAT])(command)


def input_options(command):
    """--extra-columns."""
    return _together([EXTRA_COLUMNS])(command)
