"""The ``greeks`` command line: parse, call the library, render."""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import click

from greeks import __version__
from greeks.names import (
    DEFAULT_MAX_PATHS,
    DEFAULT_MIN_ESS,
    DEFAULT_SPOT_SHIFTS,
    DEFAULT_VOL_SHIFTS,
)
from greeks.options import (
    bound_option,
    estimation_options,
    input_options,
    market_option,
    output_options,
    policy_options,
    simulation_options,
)


def _show_warning(message, category, *args, **kwargs) -> None:
    click.echo(f"Warning: {message}", err=True)


class BadInput(click.ClickException):
    """A one-line error about the user's input; exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class BadOption(BadInput):
    """A run option the library refuses (:class:`greeks.names.OptionError`); one line,
    exit status 2."""


class Commands(click.Group):
    """The command group.  Ctrl-C anywhere in a command (reading, simulating, writing)
    ends it with one line on stderr and exit status 130 (128 + SIGINT), not click's
    "Aborted!" and status 1; an interrupted --output write leaves nothing behind.  Warnings
    about the input are one line on stderr each."""

    def invoke(self, ctx: click.Context):
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was written.", err=True)
            sys.exit(130)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="greeks")
def main() -> None:
    """Monte-Carlo prices and likelihood-ratio Greeks with standard errors,
    and their closed-form references.

    \b
    Examples:
      greeks price instruments/portfolio.csv
      greeks price book.csv --paths 1000000 --seed 7 --output risk.parquet
      greeks price book.parquet --format json > risk.json
      greeks analytic instruments/portfolio.csv
      greeks report instruments/portfolio.csv --by underlying,book
    """


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@simulation_options()
@estimation_options
@input_options
@market_option
@bound_option
@policy_options
@output_options
@click.option("--total", "with_total", is_flag=True,
              help="Append the portfolio total as a last row (id 'TOTAL') to --output and to "
                   "csv/json output.")
@click.option("--vega-buckets", "buckets", type=click.Path(dir_okay=False), default=None,
              help="With --market: also write the vega of every GBM position per node of its "
                   "vol curve, with SEs, to this file (.csv, .parquet, .json).")
def price(file, output, fmt, with_total, buckets, **options) -> None:
    """Price every position in FILE with delta and vega, each ± its standard error.

    FILE is a .csv, .parquet or .json (records) instrument table; see
    docs/instruments.md for its columns.  Results are per unit of quantity, vega
    per 1.00 of volatility; the portfolio total (quantity-weighted) is shown
    under the table.

    \b
    Examples:
      greeks price instruments/portfolio.csv
      greeks price instruments/portfolio.csv --paths 1000000 --output risk.csv
      greeks price instruments/barrier.csv --format csv
      greeks price instruments/portfolio.csv --greeks gamma,theta
    """
    from greeks.api import price_portfolio, with_total_row
    from greeks.render import print_results

    with user_errors(output), progress_bar() as progress:
        if buckets is not None:
            check_output(buckets)
            if options["market"] is None:
                raise BadOption("--vega-buckets needs --market")
        results = price_portfolio(file, progress=progress, **options)
        if buckets is not None:
            from greeks.api import vega_buckets
            from greeks.io import write_table

            write_table(vega_buckets(file, market=options["market"], paths=options["paths"],
                                     seed=options["seed"], threads=options["threads"],
                                     scheduler=options["scheduler"], policy=options["policy"],
                                     policy_paths=options["policy_paths"]), buckets)
    emit(results, with_total_row(results) if with_total else results, output, fmt,
         print_results)
    note_unmet(results, options)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--by", default="", show_default="the total only",
              help="Comma-separated columns to subtotal by, e.g. underlying,book.")
@simulation_options()
@estimation_options
@click.option("--gamma", is_flag=True, hidden=True, help="As --greeks gamma.")
@input_options
@market_option
@policy_options
@output_options
@click.option("--buckets", is_flag=True,
              help="With --market: instead, the bucketed Greeks of the positions (vega per "
                   "vol node under GBM, DV01 per rate node, per yield node and dividend, theta "
                   "per day), a long table of position or subtotal, factor, value ± SE and "
                   "unit; american and bermudan rows under their exercise --policy.")
def report(files, by, gamma, output, fmt, buckets, **options) -> None:
    """Risk report of the positions in FILES: exposures by --by columns and in total.

    FILES are instrument tables (.csv, .parquet, .json) or folders of them.  Exposures
    in desk units: market_value = quantity·price, dollar_delta = quantity·S0·delta,
    vega_per_point = quantity·vega/100, and with --greeks gamma, theta, rho:
    dollar_gamma = quantity·S0²·gamma/100, theta_per_day = quantity·theta/365,
    rho_per_bp = quantity·rho_rate/10⁴; each ± its standard error (positions that share
    a simulation are correlated; their SEs are combined path by path).

    \b
    Examples:
      greeks report instruments/portfolio.csv --by underlying,book
      greeks report instruments/european.csv instruments/barrier.csv --greeks gamma,theta
      greeks report instruments/book.csv --market instruments/market.json --by underlying
    """
    from greeks.render import print_report
    from greeks.report import risk_report

    if gamma:
        options["greeks"] = ",".join(filter(None, ["gamma", options["greeks"]]))
    if buckets:
        _bucket_report(files, by, output, fmt, options)
        return
    with user_errors(output), progress_bar() as progress:
        results = risk_report(list(files), by=by, progress=progress, **options)
    emit(results, results, output, fmt, print_report)
    note_unmet(results, options)


def _bucket_report(files, by, output, fmt, options) -> None:
    """``report --buckets``: the long table of :func:`greeks.report.bucket_report`."""
    from greeks.render import bucketless, print_buckets
    from greeks.report import bucket_report

    with user_errors(output):
        if options["market"] is None:
            raise BadOption("--buckets needs --market")
        used = {"paths", "seed", "threads", "scheduler", "scheme", "steps_per_year",
                "first_step", "policy", "policy_paths", "market", "extra_columns"}
        ignored = [name for name, value in options.items()
                   if name not in used and value not in (None, False, "", ())]
        if ignored:
            raise BadOption(f"--buckets takes the simulation, policy and input options and "
                            f"--by, not --{ignored[0].replace('_', '-')}")
        results = bucket_report(list(files), by=by, **{k: options[k] for k in used})
    if results.attrs["left_out"]:
        click.echo(f"Note: {bucketless(results.attrs['left_out'])}", err=True)
    emit(results, results, output, fmt, print_buckets)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--spot", default=DEFAULT_SPOT_SHIFTS, show_default=True,
              help="Relative spot shifts: start:stop:step or a comma list (-10%,+10%).")
@click.option("--vol", default=DEFAULT_VOL_SHIFTS, show_default=True,
              help="Absolute volatility shifts (σ, or σ0 under Heston), same syntax: "
                   "-2%:+2%:1% moves 0.20 to 0.18 ... 0.22; scenarios are every spot and vol "
                   "pair.")
@simulation_options(first_step=False)
@click.option("--min-ess", type=float, default=None, show_default=str(DEFAULT_MIN_ESS),
              help="Rows whose effective sample size falls below this fraction of the paths "
                   "at a shift are re-simulated there.")
@click.option("--no-resimulate", is_flag=True,
              help="Leave such shifts empty (flagged unreliable) instead of re-simulating.")
@input_options
@market_option
@policy_options
@output_options
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Also draw value and P&L against the shift, with ±2 SE bands, to a PNG "
                   "(needs matplotlib: pip install 'greeks-lr[plot]').")
def ladder(file, spot, vol, min_ess, no_resimulate, output, fmt, plot, **options) -> None:
    """Portfolio value and P&L when every spot moves, from one simulation.

    Each row's value at the shifted spot is reweighted by the likelihood ratio of its
    first observation; where that ratio degenerates (a short first interval, e.g. daily
    fixings) the row is re-priced by a full simulation instead, and the table says so.

    \b
    Examples:
      greeks ladder instruments/portfolio.csv
      greeks ladder book.csv --spot -10%,-5%,5%,10% --output ladder.csv --plot ladder.png
    """
    from greeks.ladder import spot_ladder
    from greeks.render import print_ladder

    with user_errors(output):
        table = spot_ladder(file, spot=spot, vol=vol, min_ess=min_ess,
                            resimulate=not no_resimulate, **options)
    if plot is not None:
        from greeks.render import plot_ladder

        plot_ladder(table, plot)
    emit(table, table, output, fmt, print_ladder)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@simulation_options(first_step=False, scheduler=False)
@input_options
@market_option
@output_options
def compare(file, output, fmt, **options) -> None:
    """Every valid estimator of every row in FILE: estimate, SE, time, and variance ratio
    and efficiency against plain likelihood ratio.

    Every row is run alone with every estimator, on the same paths and seed.

    \b
    Examples:
      greeks compare instruments/compare.csv
      greeks compare instruments/barrier.csv --paths 400000 --threads 1 --output compare.csv
    """
    from greeks.compare import compare_estimators
    from greeks.render import print_comparison

    with user_errors(output), progress_bar("comparing") as progress:
        table = compare_estimators(file, progress=progress, **options)
    emit(table, table, output, fmt, print_comparison)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@input_options
@market_option
@output_options
def analytic(file, market, output, fmt, extra_columns) -> None:
    """Reference price, delta and vega of every european, digital and early-exercise row in FILE.

    Black–Scholes for gbm rows; for heston rows the semi-analytic Fourier integral,
    with vega per 1.00 of sigma0 = sqrt(v0); american and bermudan rows by finite
    differences (gbm: Crank–Nicolson; heston: ADI, calls through put–call symmetry where
    kappa - rho * xi > 0, and by their own solution in the direct_* columns).
    Asian and barrier rows have no closed form: their values are empty and the note
    column says so.  Results are per unit
    of quantity; the total under the table is over the rows with values.

    \b
    Examples:
      greeks analytic instruments/portfolio.csv
      greeks analytic book.csv --output reference.parquet
      greeks analytic instruments/digital.csv --format csv
    """
    from greeks.reference import analytic_prices
    from greeks.render import print_reference

    with user_errors(output):
        results = analytic_prices(file, market=market, extra_columns=extra_columns)
    emit(results, results, output, fmt, print_reference)


@contextmanager
def user_errors(output: str | None):
    """Refuse an unusable --output first; then map the library's refusals of the options
    (:class:`greeks.names.OptionError`) and of the input (:class:`greeks.InputError`) to
    one line and exit status 2."""
    from greeks.instruments import InputError
    from greeks.names import OptionError

    try:
        if output is not None:
            check_output(output)
        yield
    except OptionError as error:
        raise BadOption(_as_option(str(error))) from None
    except InputError as error:
        raise BadInput(str(error)) from None


def _as_option(message: str) -> str:
    """A library refusal that opens with a parameter's name (``target_se must ...``,
    ``vol: ...``) said with the command's option for it (``--target-se must ...``)."""
    word, space, rest = message.partition(" ")
    name = word.rstrip(":")
    options = {p.name: max(p.opts, key=len) for p in click.get_current_context().command.params
               if isinstance(p, click.Option)}
    if name not in options:
        return message
    return options[name] + word[len(name):] + space + rest


@contextmanager
def progress_bar(description: str = "simulating"):
    """A progress bar on stderr for a long run (:class:`greeks.render.DelayedProgress`);
    a :class:`greeks.target.TargetWarning` raised meanwhile is said at once as a note
    above it."""
    from greeks.render import DelayedProgress
    from greeks.target import TargetWarning

    progress = DelayedProgress(description)
    with warnings.catch_warnings():
        warnings.simplefilter("always", TargetWarning)
        shown = warnings.showwarning

        def show(message, category, *args, **kwargs):
            if issubclass(category, TargetWarning):
                progress.note(f"Note: {message}")
            else:
                shown(message, category, *args, **kwargs)
        warnings.showwarning = show
        try:
            yield progress
        finally:
            progress.close()


def note_unmet(results, options: dict) -> None:
    """Say on stderr which rows miss --target-se (the --max-paths cap, or a main run's
    standard error above the target)."""
    unmet = results.attrs.get("unmet")
    if unmet:
        from greeks.target import NAMED

        cap = options["max_paths"] or DEFAULT_MAX_PATHS
        more = f", and {len(unmet) - NAMED:,} more" if len(unmet) > NAMED else ""
        click.echo(f"Note: the target SE {options['target_se']} is not reached (within the cap "
                   f"of {cap:,} paths) for: {', '.join(unmet[:NAMED])}{more}", err=True)


def emit(results, exported, output: str | None, fmt: str, print_table) -> None:
    """Write ``exported`` to --output (atomically), then print ``results`` as a table or
    ``exported`` as csv/json."""
    from greeks.io import to_text, write_table

    if output is not None:
        try:
            write_table(exported, output)
        except OSError as error:
            raise click.ClickException(
                f"cannot write {output} ({error.strerror or error}); nothing was written") from None
    try:
        if fmt == "table":
            print_table(results)
        else:
            click.echo(to_text(exported, fmt), nl=False)
    except KeyboardInterrupt:
        if output is None:
            raise
        click.echo(f"Interrupted; the results were written to {output}.", err=True)
        sys.exit(130)


def check_output(output: str) -> None:
    """Refuse, before any simulation, an --output whose format or folder is unusable: a
    folder where a temporary file cannot be made (as the results will be) is refused."""
    from greeks.instruments import InputError
    from greeks.io import table_format, temporary_beside

    source = f"--output {output}"
    table_format(output, source=source, output=True)
    folder = Path(output).parent
    if not folder.is_dir():
        raise InputError(source, f"folder {str(folder)!r} does not exist")
    try:  # the results go to a temporary file beside the target (greeks.io.write_table)
        fd, probe = temporary_beside(Path(output))
    except OSError as error:
        raise InputError(source, f"cannot create a file in folder {str(folder)!r}: "
                                 f"{error.strerror}") from None
    os.close(fd)
    os.unlink(probe)
