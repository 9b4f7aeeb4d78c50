"""Rich rendering: the result table, value ± SE formatting, and progress on stderr."""

from __future__ import annotations

import math
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


def plus_minus(value: float, se: float) -> str:
    """``value ± se`` with the SE to two significant digits and the value to match."""
    if not math.isfinite(value):
        return str(value)
    if not math.isfinite(se) or se <= 0:
        return f"{value:.6g} ± {se:g}"
    place = math.floor(math.log10(se)) - 1  # power of ten of the SE's second digit
    if place >= 0:
        step = 10**place
        return f"{round(value / step) * step:,} ± {round(se / step) * step:,}"
    return f"{value:,.{-place}f} ± {se:,.{-place}f}"


def result_table(results, title: str | None = None) -> Table:
    """The per-row table with the portfolio total as footer."""
    total = results.attrs.get("total")
    table = Table(title=title, show_footer=total is not None, header_style="bold")
    left = dict(justify="left", no_wrap=True)
    right = dict(justify="right", no_wrap=True)
    table.add_column("id", footer="total" if total else "", **left)
    table.add_column("instrument", **left)
    table.add_column("type", **left)
    for name in ("strike", "maturity", "quantity"):
        table.add_column(name, **right)
    for name in ("price", "delta", "vega"):
        footer = plus_minus(total[name], total[f"{name}_se"]) if total else ""
        table.add_column(f"{name} ± SE", footer=footer, **right)
    for row in results.itertuples(index=False):
        table.add_row(
            str(row.id), row.instrument, row.option_type, f"{row.strike:g}", f"{row.maturity:g}",
            f"{row.quantity:g}",
            plus_minus(row.price, row.price_se), plus_minus(row.delta, row.delta_se),
            plus_minus(row.vega, row.vega_se),
        )
    return table


def print_results(results, console: Console | None = None) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)
    paths, seed = results.attrs.get("paths"), results.attrs.get("seed")
    caption = (f"{paths:,} paths per simulation, seed {seed}; per unit of quantity, "
               "vega per 1.00 vol; total = Σ quantity × value")
    table = result_table(results)
    table.caption = caption
    console.print(table)


class DelayedProgress:
    """A progress bar on stderr that appears only once a run has taken ``delay`` seconds.

    Called as ``progress(done, total)``; nothing is shown when stderr is not a terminal.
    """

    def __init__(self, description: str = "simulating", delay: float = 1.0):
        self.description, self.delay = description, delay
        self.started = time.monotonic()
        self.console = Console(stderr=True)
        self.enabled = self.console.is_terminal and sys.stderr.isatty()
        self.progress = None
        self.task = None

    def __call__(self, done: float, total: float) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            if time.monotonic() - self.started < self.delay or done >= total:
                return
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                                     TimeRemainingColumn(), console=self.console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=total)
        self.progress.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
