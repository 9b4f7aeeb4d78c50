"""Rich rendering: the result tables, value ± SE formatting, and progress on stderr."""

from __future__ import annotations

import math
import sys
import time

import pandas as pd
from rich.console import Console
from rich.table import Table

from greeks.names import ROUNDING

# the caption's definition of each exposure of a risk report
EXPOSURE_UNITS = {"market_value": "q·price", "dollar_delta": "q·S0·delta",
                  "vega_per_point": "q·vega/100", "dollar_gamma": "q·S0²·gamma/100",
                  "theta_per_day": "q·theta/365", "rho_per_bp": "q·rho_rate/10⁴"}


def named(names, few: int = 5) -> str:
    """The first ``few`` of ``names`` joined by commas, then "and k more"."""
    names = list(names)
    more = f", and {len(names) - few:,} more" if len(names) > few else ""
    return ", ".join(names[:few]) + more


def overridden(ids, overrides) -> str:
    """The caption's note on the rows whose own columns override the market (their
    ``overrides``, ``;``-separated), "" if none do."""
    rows = [f"{identifier} ({', '.join(str(columns).split(';'))})"
            for identifier, columns in zip(ids, overrides) if isinstance(columns, str) and columns]
    return f"; row values override the market: {named(rows)}" if rows else ""


def vol_points(shift: float) -> str:
    """An absolute vol shift as ``--vol`` takes it: 0.01 → ``+1%`` (0.20 to 0.21)."""
    return f"{100 * shift:+.3g}%"


def plus_minus(value: float, se: float) -> str:
    """``value ± se`` with the SE to two significant digits and the value to match; an SE
    at rounding level (below :data:`greeks.names.ROUNDING` of the value: an estimate exact
    on every path, e.g. a bermudan call never exercised early, its European control's
    closed form) is shown as 0, the value to six significant digits."""
    if not math.isfinite(value):
        return str(value)
    if not math.isfinite(se) or se <= 0:
        return f"{value:.6g} ± {se:g}"
    if se < ROUNDING * abs(value):
        return f"{number(value)} ± 0"
    place = math.floor(math.log10(se)) - 1  # power of ten of the SE's second digit
    if place >= 0:
        step = 10**place
        return f"{round(value / step) * step:,} ± {round(se / step) * step:,}"
    return f"{value:,.{-place}f} ± {se:,.{-place}f}"


def number(value: float) -> str:
    """``value`` to six significant digits with thousands separators; blank when NaN."""
    if math.isnan(value):
        return ""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    place = math.floor(math.log10(abs(value))) - 5  # power of ten of the sixth digit
    if place >= 0:
        return f"{round(value / 10**place) * 10**place:,}"
    return f"{value:,.{-place}f}"


def underlyings(results) -> int:
    """How many underlyings the rows are on: their ``underlying`` names, and rows without one
    by their spot."""
    named = (results["underlying"].fillna("").astype(str).str.strip()
             if "underlying" in results.columns else pd.Series("", index=results.index))
    spots = results["spot"].astype(str) if "spot" in results.columns else ""
    return int(named.where(named != "", "spot=" + spots).nunique())


def result_table(results, title: str | None = None) -> Table:
    """The per-row table with the portfolio total as footer.

    A value with a ``<name>_se`` column prints as value ± SE, one without as a plain
    number; a ``note`` column, if present, comes last.  The total of a Greek is shown only
    for rows on one underlying (deltas and vegas of different underlyings do not add); the
    total price, the market value, always.
    """
    total = results.attrs.get("total")
    price_only = bool(total) and underlyings(results) > 1
    table = Table(title=title, show_footer=total is not None, header_style="bold")
    left = dict(justify="left", no_wrap=True)
    right = dict(justify="right", no_wrap=True)
    table.add_column("id", footer="total" if total else "", **left)
    table.add_column("instrument", **left)
    table.add_column("type", **left)
    for name in ("strike", "maturity", "quantity"):
        table.add_column(name, **right)
    shown = ("price", "delta", "vega", "gamma", "rho_rate", "theta_per_day", "vanna", "volga",
             "dkappa", "dtheta", "dxi", "drho", "exercise_probability", "exercise_time",
             "upper_bound", "direct_price", "direct_delta", "direct_vega")
    se_columns = {name: f"{name}_se" if f"{name}_se" in results.columns else None
                  for name in shown if name in results.columns}

    def cells(values) -> list[str]:  # blank where a total has no such value
        return [plus_minus(values[name], values[se]) if se
                else number(values.get(name, math.nan)) for name, se in se_columns.items()]

    footers = cells(total) if total else [""] * len(se_columns)
    if price_only:
        footers = [footer if name == "price" else "—"
                   for name, footer in zip(se_columns, footers)]
    for (name, se), footer in zip(se_columns.items(), footers):
        table.add_column(f"{name} ± SE" if se else name, footer=footer, **right)
    notes = "note" in results.columns
    if notes:
        table.add_column("note", justify="left")
    for row in results.to_dict("records"):
        table.add_row(
            str(row["id"]), row["instrument"], row["option_type"], f"{row['strike']:g}",
            f"{row['maturity']:g}", f"{row['quantity']:g}", *cells(row),
            *([row["note"] or ""] if notes else []),
        )
    return table


def _print(table: Table, caption: str, console: Console | None) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)
    table.caption = caption
    console.print(table)


def path_counts(attrs: dict) -> str:
    """The paths of a run: its count, or under a target SE the range of the groups'."""
    paths = attrs.get("paths")
    if isinstance(paths, dict):
        return (f"{min(paths.values()):,}–{max(paths.values()):,} paths per simulation "
                f"(target SE {attrs.get('target_se')})")
    return f"{paths:,} paths per simulation"


def print_results(results, console: Console | None = None) -> None:
    from greeks.market.positions import MULTIPLIER, OVERRIDES

    counts, seed = path_counts(results.attrs), results.attrs.get("seed")
    caption = (f"{counts}, seed {seed}; per unit of quantity, "
               "vega per 1.00 vol; total = Σ quantity × value")
    if MULTIPLIER in results.columns and (results[MULTIPLIER] != 1).any():
        caption += (" (multiplier not applied; greeks report and greeks ladder weigh a "
                    "position by quantity × multiplier)")
    if results.attrs.get("total") and underlyings(results) > 1:
        caption += (" (the price only: Greeks of different underlyings do not add; "
                    "greeks report --by underlying gives them in desk units)")
    if OVERRIDES in results.columns:
        caption += overridden(results["id"], results[OVERRIDES])
    _print(result_table(results), caption, console)


def print_reference(results, console: Console | None = None) -> None:
    """The closed-form table of :func:`greeks.reference.reference_table`."""
    missing = int(results["note"].notna().sum())
    caption = ("per unit of quantity, vega per 1.00 vol (of σ0 under heston); "
               "total = Σ quantity × value")
    if missing:
        caption += f" over the {len(results) - missing} of {len(results)} rows with values"
    if underlyings(results) > 1:
        caption += " (the price only: Greeks of different underlyings do not add)"
    _print(result_table(results), caption, console)


def print_report(report, console: Console | None = None) -> None:
    """The subtotal table of :func:`greeks.report.risk_report`, the total as footer."""
    by = report.attrs.get("by") or []
    table = Table(show_footer=True, header_style="bold")
    records = report.to_dict("records")
    total = records[-1]
    for i, name in enumerate(by):
        table.add_column(name, footer="total" if i == 0 else "", justify="left", no_wrap=True)
    table.add_column("positions", footer=f"{total['positions']:,}", justify="right")
    names = [name for name in EXPOSURE_UNITS if name in report.columns]
    for name in names:
        table.add_column(f"{name} ± SE", footer=plus_minus(total[name], total[f"{name}_se"]),
                         justify="right", no_wrap=True)
    for row in records[:-1]:
        table.add_row(*(str(row[name]) for name in by), f"{row['positions']:,}",
                      *(plus_minus(row[name], row[f"{name}_se"]) for name in names))
    units = ", ".join(f"{name} = {EXPOSURE_UNITS[name]}" for name in names)
    if report.attrs.get("multiplied"):
        units += "; q = quantity × multiplier"
    overrides = report.attrs.get("overrides", {})
    units += overridden(overrides.keys(), overrides.values())
    _print(table, f"{path_counts(report.attrs)}, seed {report.attrs.get('seed')}; {units}",
           console)


def print_comparison(table, console: Console | None = None) -> None:
    """The table of :func:`greeks.compare.compare_estimators`, one block per row."""
    out = Table(header_style="bold")
    for name, justify in [("id", "left"), ("greek", "left"), ("method", "left"),
                          ("estimate ± SE", "right"), ("seconds", "right"),
                          ("variance ratio", "right"), ("efficiency", "right"),
                          ("score", "right"), ("auto's score", "right")]:
        out.add_column(name, justify=justify, no_wrap=True)
    previous = None
    for line in table.to_dict("records"):
        first = line["id"] != previous
        if first and previous is not None:
            out.add_section()
        previous = line["id"]
        scores = ["—" if math.isnan(line[name]) else f"{line[name]:.3g}"
                  for name in ("score", "decision_score")]
        out.add_row(line["id"] if first else "", line["greek"],
                    line["method"] + (" ✓" if line["picked"] else ""),
                    plus_minus(line["estimate"], line["se"]), f"{line['seconds']:.3f}",
                    f"{line['variance_ratio']:.3g}", f"{line['efficiency']:.3g}", *scores)
    threads = table.attrs.get("threads")
    _print(out, f"{table.attrs.get('paths'):,} paths, seed {table.attrs.get('seed')}, "
                f"{threads} thread{'s' if threads != 1 else ''}; "
                "ratios against plain likelihood ratio: variance ratio = SE_lr²/SE², "
                "efficiency = SE_lr²·t_lr/(SE²·t); score = variance ratio / the fixed cost "
                "per path that auto weighs (its candidates only); auto's score: the same from "
                "auto's decision run (1/16 of the paths), which auto maximises; ✓ its pick",
           console)


def print_ladder(ladder, console: Console | None = None) -> None:
    """The spot ladder of :func:`greeks.ladder.spot_ladder` with a text bar of the P&L."""
    table = Table(header_style="bold")
    vol = bool((ladder["vol_shift"] != 0).any())
    for name in ("spot shift",) + (("vol shift",) if vol else ()) + (
            "value ± SE", "P&L ± SE", "ESS of reweighted", "source", "P&L"):
        table.add_column(name, justify="left" if name in ("source", "P&L") else "right",
                         no_wrap=True)
    finite = ladder["pnl"].abs()[ladder["pnl"].notna()]
    scale = finite.max() if len(finite) and finite.max() > 0 else 1.0
    width = 24
    for line in ladder.to_dict("records"):
        pnl = line["pnl"]
        if math.isnan(pnl):
            bar = ""
        else:
            size = round(width * abs(pnl) / scale)
            bar = (" " * (width - size) + "█" * size + "│" if pnl < 0
                   else " " * width + "│" + "█" * size)
        table.add_row(f"{line['shift']:+.1%}",
                      *((vol_points(line["vol_shift"]),) if vol else ()),
                      plus_minus(line["value"], line["value_se"]),
                      plus_minus(pnl, line["pnl_se"]) if not math.isnan(pnl) else "—",
                      f"{line['ess']:.1%}" if not math.isnan(line["ess"]) else "",
                      line["source"], bar)
    paths, seed = ladder.attrs.get("paths"), ladder.attrs.get("seed")
    min_ess = ladder.attrs.get("min_ess")
    how = ("positions off a market re-priced by a full simulation at every scenario (P&L: "
           "independent runs)" if min_ess is None or math.isnan(min_ess) else
           "values reweighted from one simulation; rows whose effective sample size falls "
           f"below {min_ess:.0%} of the paths re-simulated (ESS: the smallest among the rows "
           "still reweighted)")
    per = ("value = Σ q·value, q = quantity × multiplier" if ladder.attrs.get("multiplied")
           else "value = Σ quantity × value")
    _print(table, f"{paths:,} paths, seed {seed}; {per}; every spot moved by the shift, {how}",
           console)


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
            from rich.progress import (  # here: most runs end before the bar shows
                BarColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                                     TimeRemainingColumn(), console=self.console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=total)
        self.progress.update(self.task, completed=done, total=total)

    def note(self, text: str) -> None:
        """``text`` on stderr (above the bar while it shows)."""
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def plot_ladder(ladder, path: str) -> None:
    """Value and P&L against the spot shift with ±2 SE bands, as a PNG (matplotlib)."""
    import click

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise click.ClickException("--plot needs matplotlib: pip install 'greeks-lr[plot]'") \
            from None
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for vol, lines in ladder.groupby("vol_shift"):
        shift = 100 * lines["shift"]
        for axis, name in ((axes[0], "value"), (axes[1], "pnl")):
            axis.plot(shift, lines[name], marker="o", label=f"vol {vol_points(vol)}")
            axis.fill_between(shift, lines[name] - 2 * lines[f"{name}_se"],
                              lines[name] + 2 * lines[f"{name}_se"], alpha=0.3)
    for axis, title in ((axes[0], "portfolio value"), (axes[1], "P&L")):
        axis.set_xlabel("spot shift (%)")
        axis.set_title(f"{title} ± 2 SE")
        if ladder["vol_shift"].nunique() > 1:
            axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def print_buckets(table, console: Console | None = None) -> None:
    """The long table of :func:`greeks.report.bucket_report`."""
    out = Table(header_style="bold")
    for name, justify in (("position", "left"), ("factor", "left"), ("value ± SE", "right"),
                          ("unit", "left")):
        out.add_column(name, justify=justify, no_wrap=True)
    for row in table.to_dict("records"):
        out.add_row(row["position"], row["factor"], plus_minus(row["value"], row["se"]),
                    row["unit"])
    caption = (f"{table.attrs.get('paths'):,} paths per simulation, seed "
               f"{table.attrs.get('seed')}")
    if table.attrs.get("left_out"):
        caption += f"; {bucketless(table.attrs['left_out'])}"
    _print(out, caption, console)


def bucketless(ids) -> str:
    """The note on the positions a bucket report leaves out."""
    return (f"left out: {named(ids)} (american and bermudan rows of their model, or priced "
            "without the market, have no bucketed Greeks)")
