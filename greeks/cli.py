"""The ``greeks`` command line: parse, call the library, render."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from greeks import __version__


class BadInput(click.ClickException):
    """A one-line error about the user's input; exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class Commands(click.Group):
    """The command group.  Ctrl-C anywhere in a command (reading, simulating, writing)
    ends it with one line on stderr and exit status 130 (128 + SIGINT), not click's
    "Aborted!" and status 1; an interrupted --output write leaves nothing behind."""

    def invoke(self, ctx: click.Context):
        try:
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
@click.option("--paths", "-n", type=int, default=None, show_default="200,000",
              help="Monte-Carlo paths per simulation group.")
@click.option("--seed", "-s", type=int, default=None, show_default="0",
              help="Random seed; same file, seed and paths give bit-identical numbers.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the results; the suffix picks the format (.csv, .parquet, .json).")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True, help="What to print on stdout.")
@click.option("--threads", "-t", type=int, default=None, show_default="all cores",
              help="Worker threads; results do not depend on it.")
@click.option("--total", "with_total", is_flag=True,
              help="Append the portfolio total as a last row (id 'TOTAL') to --output and to "
                   "csv/json output.")
@click.option("--scheme", type=click.Choice(["qe", "exact", "euler"]), default="qe",
              show_default=True, help="Heston discretisation: Andersen's QE, exact variance, "
                                      "or full-truncation Euler.")
@click.option("--steps-per-year", type=float, default=None,
              show_default="max(52, 4·xi²/theta) per underlying, at most 1024",
              help="Heston simulation steps per year (the grid also holds every row's dates).")
@click.option("--first-step", type=float, default=None, show_default="one regular step",
              help="Length in years of the first Heston step; a longer one is simulated "
                   "exactly (its integrated variance drawn given its end points): a quieter "
                   "likelihood-ratio vega for some bias (keep kappa * step below about 1).")
@click.option("--plain", is_flag=True,
              help="Plain likelihood-ratio estimators for every row, without control variates, "
                   "antithetic pairs or conditional Monte Carlo (for comparison; noisier).")
@click.option("--greeks", "-g", "names", default="", show_default="price,delta,vega",
              help="Further Greeks, comma-separated: gamma, rho (column rho_rate), theta (columns "
                   "theta_per_year and theta_per_day), vanna, volga, and for Heston rows "
                   "dkappa, dtheta, dxi, drho; or all.")
@click.option("--method", "-m",
              type=click.Choice(["auto", "mixed", "lr", "pathwise", "fd", "rqmc"]),
              default="auto", show_default=True,
              help="Estimators: auto (the best per row and Greek), mixed (each row's default: "
                   "survival conditioning, conditional MC or LR), lr (likelihood ratio with "
                   "controls), pathwise (GBM european and asian), fd (bump and revalue on "
                   "common random numbers), rqmc (scrambled Sobol paths).")
@click.option("--target-se", default=None,
              help="Run enough paths for every Greek of every row to reach this standard "
                   "error: absolute (0.01) or relative to the estimate (0.5%); --paths is "
                   "then the sizing run's count.")
@click.option("--max-paths", type=int, default=None, show_default="100,000,000",
              help="Cap on the paths per simulation under --target-se.")
@click.option("--scheduler", default="local", show_default=True,
              help="Where the chunks run: local (threads), processes, or a Dask scheduler's "
                   "address (tcp://host:8786); the numbers do not depend on it.")
def price(file, paths, seed, output, fmt, threads, with_total, scheme, steps_per_year,
          first_step, plain, names, method, target_se, max_paths, scheduler) -> None:
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
    from greeks.api import check_greeks, check_run_options, price_portfolio, with_total_row
    from greeks.instruments import InputError
    from greeks.render import DelayedProgress, print_results

    try:
        if output is not None:
            check_output(output)
        try:
            check_run_options(paths if paths is not None else 2, seed or 0, threads, scheme,
                              1.0 if steps_per_year is None else steps_per_year,
                              first_step)
            greeks = check_greeks(names.split(","))
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        progress = DelayedProgress()
        try:
            results = price_portfolio(file, paths=paths, seed=seed, threads=threads,
                                      report=progress, scheme=scheme,
                                      steps_per_year=steps_per_year, first_step=first_step,
                                      plain=plain, greeks=greeks, method=method,
                                      target_se=target_se, max_paths=max_paths,
                                      scheduler=scheduler)
        finally:
            progress.close()
    except InputError as error:
        raise BadInput(str(error)) from None

    emit(results, with_total_row(results) if with_total else results, output, fmt,
         print_results)
    if results.attrs.get("unmet"):
        click.echo(f"Note: the target SE {target_se} is not reached within the cap of "
                   f"{max_paths or 100_000_000:,} paths for: {', '.join(results.attrs['unmet'])}",
                   err=True)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--by", default="", show_default="the total only",
              help="Comma-separated columns to subtotal by, e.g. underlying,book.")
@click.option("--paths", "-n", type=int, default=None, show_default="200,000",
              help="Monte-Carlo paths per simulation group.")
@click.option("--seed", "-s", type=int, default=None, show_default="0",
              help="Random seed; same files, seed and paths give bit-identical numbers.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the subtotals and total; the suffix picks the format.")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True, help="What to print on stdout.")
@click.option("--threads", "-t", type=int, default=None, show_default="all cores",
              help="Worker threads; results do not depend on it.")
@click.option("--scheme", type=click.Choice(["qe", "exact", "euler"]), default="qe",
              show_default=True, help="Heston discretisation.")
@click.option("--steps-per-year", type=float, default=None,
              show_default="max(52, 4·xi²/theta) per underlying, at most 1024",
              help="Heston simulation steps per year.")
@click.option("--gamma", is_flag=True, help="Also estimate gamma and report dollar_gamma.")
@click.option("--scheduler", default="local", show_default=True,
              help="Where the chunks run: local (threads), processes, or a Dask scheduler's "
                   "address; the numbers do not depend on it.")
def report(files, by, paths, seed, output, fmt, threads, scheme, steps_per_year, gamma,
           scheduler) -> None:
    """Risk report of the positions in FILES: exposures by --by columns and in total.

    FILES are instrument tables (.csv, .parquet, .json) or folders of them.  Exposures
    in desk units: market_value = quantity·price, dollar_delta = quantity·S0·delta,
    vega_per_point = quantity·vega/100 (with --gamma, dollar_gamma =
    quantity·S0²·gamma/100), each ± its standard error (positions that share
    a simulation are correlated; their SEs are combined path by path).

    \b
    Examples:
      greeks report instruments/portfolio.csv --by underlying,book
      greeks report instruments/ --by model --output risk.parquet
    """
    from greeks.api import check_run_options
    from greeks.instruments import InputError
    from greeks.render import DelayedProgress, print_report
    from greeks.report import risk_report

    columns = [name.strip() for name in by.split(",") if name.strip()]
    try:
        if output is not None:
            check_output(output)
        try:
            check_run_options(paths if paths is not None else 2, seed or 0, threads, scheme,
                              1.0 if steps_per_year is None else steps_per_year)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        progress = DelayedProgress()
        try:
            results = risk_report(list(files), by=columns, paths=paths, seed=seed,
                                  threads=threads, report=progress, scheme=scheme,
                                  steps_per_year=steps_per_year, gamma=gamma,
                                  scheduler=scheduler)
        finally:
            progress.close()
    except InputError as error:
        raise BadInput(str(error)) from None

    emit(results, results, output, fmt, print_report)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--spot", "spec", default="-20%:+20%:5%", show_default=True,
              help="Relative spot shifts: start:stop:step or a comma list (-10%,+10%).")
@click.option("--vol", "vol_spec", default="0", show_default=True,
              help="Absolute volatility shifts (σ, or σ0 under Heston), same syntax: "
                   "-2%:+2%:1% moves 0.20 to 0.18 ... 0.22; scenarios are every spot and vol "
                   "pair.")
@click.option("--paths", "-n", type=int, default=None, show_default="200,000",
              help="Monte-Carlo paths per simulation group.")
@click.option("--seed", "-s", type=int, default=None, show_default="0", help="Random seed.")
@click.option("--threads", "-t", type=int, default=None, show_default="all cores",
              help="Worker threads of the re-simulations.")
@click.option("--min-ess", type=float, default=0.1, show_default=True,
              help="Rows whose effective sample size falls below this fraction of the paths "
                   "at a shift are re-simulated there.")
@click.option("--no-resimulate", is_flag=True,
              help="Leave such shifts empty (flagged unreliable) instead of re-simulating.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the ladder; the suffix picks the format (.csv, .parquet, .json).")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True, help="What to print on stdout.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Also draw value and P&L against the shift, with ±2 SE bands, to a PNG "
                   "(needs matplotlib: pip install 'greeks-lr[plot]').")
def ladder(file, spec, vol_spec, paths, seed, threads, min_ess, no_resimulate, output, fmt,
           plot) -> None:
    """Portfolio value and P&L when every spot moves, from one simulation.

    Each row's value at the shifted spot is reweighted by the likelihood ratio of its
    first observation; where that ratio degenerates (a short first interval, e.g. daily
    fixings) the row is re-priced by a full simulation instead, and the table says so.

    \b
    Examples:
      greeks ladder instruments/portfolio.csv
      greeks ladder book.csv --spot -10%,-5%,5%,10% --output ladder.csv --plot ladder.png
    """
    from greeks.instruments import InputError
    from greeks.ladder import spot_ladder
    from greeks.render import print_ladder

    try:
        if output is not None:
            check_output(output)
        if not 0 < min_ess <= 1:
            raise click.UsageError(f"--min-ess must lie in (0, 1], got {min_ess}")
        table = spot_ladder(file, spec, paths=paths, seed=seed, threads=threads,
                            min_ess=min_ess, resimulate=not no_resimulate, vol_shifts=vol_spec)
    except InputError as error:
        raise BadInput(str(error)) from None
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    if plot is not None:
        from greeks.render import plot_ladder

        plot_ladder(table, plot)
    emit(table, table, output, fmt, print_ladder)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--paths", "-n", type=int, default=100_000, show_default=True,
              help="Paths per run (every row is run alone with every estimator).")
@click.option("--seed", "-s", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the table; the suffix picks the format (.csv, .parquet, .json).")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True, help="What to print on stdout.")
def compare(file, paths, seed, output, fmt) -> None:
    """Every valid estimator of every row in FILE: estimate, SE, time, and variance ratio
    and efficiency against plain likelihood ratio.

    \b
    Examples:
      greeks compare instruments/compare.csv
      greeks compare instruments/barrier.csv --paths 200000 --output compare.csv
    """
    from greeks.compare import compare_estimators
    from greeks.instruments import InputError
    from greeks.render import DelayedProgress, print_comparison

    try:
        if output is not None:
            check_output(output)
        progress = DelayedProgress("comparing")
        try:
            table = compare_estimators(file, paths=paths, seed=seed, report=progress)
        finally:
            progress.close()
    except ValueError as error:
        if isinstance(error, InputError):
            raise BadInput(str(error)) from None
        raise click.UsageError(str(error)) from None
    except KeyboardInterrupt:
        click.echo("Interrupted; nothing was written.", err=True)
        sys.exit(130)

    emit(table, table, output, fmt, print_comparison)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the results; the suffix picks the format (.csv, .parquet, .json).")
@click.option("--format", "-f", "fmt", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True, help="What to print on stdout.")
def analytic(file, output, fmt) -> None:
    """Closed-form price, delta and vega of every european and digital position in FILE.

    Black–Scholes for gbm rows; for heston rows the semi-analytic Fourier integral,
    with vega per 1.00 of sigma0 = sqrt(v0).  Asian and barrier rows have no closed
    form: their values are empty and the note column says so.  Results are per unit
    of quantity; the total under the table is over the rows with values.

    \b
    Examples:
      greeks analytic instruments/portfolio.csv
      greeks analytic book.csv --output reference.parquet
      greeks analytic instruments/digital.csv --format csv
    """
    from greeks.instruments import InputError
    from greeks.reference import analytic_prices
    from greeks.render import print_reference

    try:
        if output is not None:
            check_output(output)
        results = analytic_prices(file)
    except InputError as error:
        raise BadInput(str(error)) from None

    emit(results, results, output, fmt, print_reference)


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
    """Refuse, before any simulation, an --output whose format or folder is unusable."""
    from greeks.instruments import InputError
    from greeks.io import table_format

    source = f"--output {output}"
    table_format(output, source=source, output=True)
    folder = Path(output).parent
    if not folder.is_dir():
        raise InputError(source, f"folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(source, f"folder {str(folder)!r} is not writable")
