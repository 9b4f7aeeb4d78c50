"""The instrument table: schema, validation and row-numbered errors.

One row is one position (see ``docs/instruments.md``).  :func:`validate` turns a raw
table, as read from a file, into a typed frame with every default filled in, or
raises :class:`InputError` naming the file, the row, the column and the rule that
the first offending cell breaks.  Rows are numbered from 1, header excluded; for
CSV files the physical line is given too.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from greeks.models import MODELS, parameter_columns, schema
from greeks.names import BARRIER_TYPES, DIGITAL_TYPES, EXERCISE_GRIDS, INSTRUMENTS, OPTION_TYPES
from greeks.payoff_table import DATED_INSTRUMENTS  # read the path on `fixings` dates

FIXINGS_PER_YEAR = 252
MAX_FIXINGS = 10_000  # per row: daily for about 40 years; bounds the simulation grid

REQUIRED = ("id", "instrument", "option_type", "strike", "maturity", "spot", "rate", "model")
# Canonical column order of a validated table; unknown columns follow, untouched.
COLUMNS = (
    "id", "instrument", "option_type", "strike", "maturity", "spot", "rate", "dividend",
    "model", *parameter_columns(), "quantity", "payout", "digital_type", "barrier",
    "barrier_type",
    "fixings", "exercise_grid", "underlying", "multiplier",
)
# Names the result table gives its own columns; an input column may not take them.
RESULT_COLUMNS = ("price", "price_se", "delta", "delta_se", "vega", "vega_se", "gamma",
                  "gamma_se", "rho_rate", "rho_rate_se", "theta_per_year", "theta_per_year_se",
                  "theta_per_day",
                  "theta_per_day_se", "vanna", "vanna_se", "volga", "volga_se", "dkappa",
                  "dkappa_se", "dtheta", "dtheta_se", "dxi", "dxi_se", "drho", "drho_se",
                  "paths", "method", "method_price", "method_delta", "method_vega",
                  "exercise_probability", "exercise_probability_se", "exercise_time",
                  "exercise_time_se", "upper_bound", "upper_bound_se")


# (column, rows, low, high): finite bounds that keep e^{±rT}, S0², the grid and the payoffs
# representable; beyond them the input is refused rather than computed as inf or NaN (then
# each model's parameter columns, in its schema's ``LIMITS``)
LIMITS = [("maturity", "all", 1e-6, 100.0), ("rate", "all", -1.0, 1.0),
          ("dividend", "all", -1.0, 1.0), ("spot", "all", 1e-8, 1e12),
          ("strike", "all", 1e-8, 1e12), ("barrier", "barrier", 1e-8, 1e12),
          ("payout", "digital", 0.0, 1e12), ("multiplier", "all", 0.0, 1e12)]


class InputError(ValueError):
    """A rule broken by the instrument table; ``str()`` is one line for the user."""

    def __init__(self, source: str, rule: str, row: int | None = None,
                 column: str | None = None, line: int | None = None):
        self.source, self.rule, self.row, self.column, self.line = source, rule, row, column, line
        where = [source]
        if row is not None:
            where.append(f"row {row}" + (f" (line {line})" if line is not None else ""))
        elif line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(": ".join(where) + ": " + rule)


class InputWarning(UserWarning):
    """Input that is valid but probably not meant: ``str()`` is one line for the user."""


LONG_MATURITY = 30.0  # years; from it on a maturity was probably meant in days


class _Checker:
    """Collects the first failure of each check; the earliest row wins."""

    def __init__(self, source: str, lines):
        self.source, self.lines = source, lines
        self.failures: list[tuple[int, int, str, str]] = []
        self._order = 0

    def fail(self, position: int, column: str, rule: str) -> None:
        self.failures.append((position, self._order, column, rule))
        self._order += 1

    def fail_first(self, mask, column: str, rule_of) -> None:
        """Record the first row where ``mask`` holds; ``rule_of(position)`` words the rule."""
        hits = np.flatnonzero(np.asarray(mask, dtype=bool))
        if hits.size:
            self.fail(int(hits[0]), column, rule_of(int(hits[0])))

    def raise_first(self) -> None:
        if not self.failures:
            return
        position, _, column, rule = min(self.failures)
        line = None if self.lines is None else int(self.lines[position])
        raise InputError(self.source, rule, row=position + 1, column=column, line=line)


def _missing(value) -> bool:
    """Whether a cell is empty: None, NaN, pd.NA or NaT (a list or dict cell is not)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-like cells: pd.isna answers element-wise
        return False


def _text(column: pd.Series) -> pd.Series:
    """Cells as stripped text; missing cells (None, NaN, pd.NA, empty) become ''."""
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)  # cell by cell: a list or dict cell is not missing
    return pd.Series(["" if gone else value.strip() if type(value) is str else str(value).strip()
                      for value, gone in zip(values.tolist(), missing.tolist())],
                     index=column.index, dtype=object)


def _carried(column: pd.Series) -> np.ndarray:
    """An extra column as given; cells of mixed types become text, so every format can store it."""
    values = column.infer_objects()
    if values.dtype == object:
        values = values.map(lambda value: None if _missing(value) else str(value))
    return values.to_numpy()


def _numbers(check: _Checker, text: pd.Series, column: str, required) -> np.ndarray:
    """Parse a numeric column; blank cells are NaN, and an error where ``required``."""
    blank = (text == "").to_numpy()
    values = pd.to_numeric(text.where(~blank, "nan"), errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(values)

    def rule(position: int) -> str:
        raw = text.iloc[position]
        if np.isinf(values[position]) or raw.lower().lstrip("+-") == "nan":
            return f"must be a finite number, got {raw!r}"
        return f"must be a number, got {raw!r}"

    check.fail_first(~blank & ~finite, column, rule)
    check.fail_first(blank & np.asarray(required, dtype=bool), column, lambda p: "missing value")
    return np.where(blank, np.nan, values)


def _choice(check: _Checker, text: pd.Series, column: str, allowed, required) -> np.ndarray:
    lowered = text.str.lower()
    blank = (lowered == "").to_numpy()
    bad = ~blank & ~lowered.isin(allowed).to_numpy()
    check.fail_first(bad, column,
                     lambda p: f"must be one of {', '.join(allowed)}; got {text.iloc[p]!r}")
    check.fail_first(blank & np.asarray(required, dtype=bool), column, lambda p: "missing value")
    return lowered.to_numpy(dtype=object)


def _bound(check: _Checker, values, column: str, where, ok, rule: str) -> None:
    with np.errstate(invalid="ignore"):
        bad = np.asarray(where, dtype=bool) & np.isfinite(values) & ~ok(values)
    check.fail_first(bad, column, lambda p: f"{rule}, got {values[p]:g}")


def _check_columns(columns: pd.Index, source: str) -> None:
    """Column-level rules: no repeated or reserved names, every required column present."""
    repeated = columns[columns.duplicated()]
    if len(repeated):
        raise InputError(source, "appears more than once", column=repeated[0])
    reserved = [name for name in columns if name in RESULT_COLUMNS]
    if reserved:
        raise InputError(source, "is the name of a result column; rename or drop it",
                         column=reserved[0])
    for name in REQUIRED:
        if name not in columns:
            similar = [c for c in columns if c.lower() == name]
            hint = f" (found {similar[0]!r}; column names are lower-case)" if similar else ""
            if len(columns) == 1 and any(mark in columns[0] for mark in ";\t|"):
                hint = " (the header is one column; fields must be separated by commas)"
            if name == "maturity" and "expiry" in columns:
                hint = (" (the file gives expiry dates: price it off a market file, "
                        "--market FILE)")
            raise InputError(source, "required column is missing" + hint, column=name)


# Spellings of a known column that are not close to it letter by letter.
ALIASES = {"qty": "quantity", "quantities": "quantity", "notional": "quantity",
           "div": "dividend", "dividend_yield": "dividend", "yield": "dividend",
           "sigma": "vol", "volatility": "vol", "type": "option_type", "callput": "option_type",
           "expiry_years": "maturity", "tenor": "maturity", "s0": "spot", "k": "strike"}


def _edits(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and
    transpositions of neighbours."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def near_column(name: str) -> str | None:
    """The known column an unknown column name most likely misspells, or None: the same
    name in another case or with separators, a plural or singular, a common alias, or
    within one edit (names up to 5 letters) or two (longer) of a known name of 4 letters
    or more."""
    key = "".join(c for c in name.lower() if c.isalnum() or c == "_").replace("-", "_")
    squeezed = key.replace("_", "")
    for known in COLUMNS:
        if key == known or squeezed == known.replace("_", "") or key in (known + "s",
                                                                         known.rstrip("s")):
            return known
    if key in ALIASES:
        return ALIASES[key]
    if len(key) < 4:
        return None
    close = [(_edits(key, known), known) for known in COLUMNS if len(known) >= 4]
    distance, known = min(close)
    return known if distance <= (1 if max(len(key), len(known)) <= 5 else 2) else None


def validate(raw: pd.DataFrame, source: str, lines=None,
             extra_columns=()) -> pd.DataFrame:
    """Check a raw instrument table and return it typed, with defaults filled in.

    ``lines``, if given, holds the physical line number in the file of each row
    (CSV), quoted in error messages next to the row number.  An unknown column whose name
    is close to a known one (:func:`near_column`) is refused, as it would silently leave
    that column at its default, unless it is named in ``extra_columns``.
    """
    # Names as stripped text; a MultiIndex (a Parquet file written from one, say) is flattened.
    raw = raw.set_axis([str(c).strip() for c in raw.columns], axis=1)
    if raw.shape[1] == 0 or len(raw) == 0:
        raise InputError(source, "no instrument rows")
    _check_columns(raw.columns, source)

    n = len(raw)
    check = _Checker(source, lines)
    text = {name: _text(raw[name]) if name in raw.columns else pd.Series([""] * n, dtype=object)
            for name in COLUMNS}
    _check_ids(check, text["id"])
    instrument = _choice(check, text["instrument"], "instrument", INSTRUMENTS, True)
    _choice(check, text["option_type"], "option_type", OPTION_TYPES, True)
    model = _choice(check, text["model"], "model", MODELS, True)
    values = _checked_values(check, raw.columns, text, instrument, model)
    _choice(check, text["barrier_type"], "barrier_type", BARRIER_TYPES, instrument == "barrier")
    _choice(check, text["digital_type"], "digital_type", DIGITAL_TYPES, False)
    grid = _choice(check, text["exercise_grid"], "exercise_grid", EXERCISE_GRIDS, False)
    check.raise_first()
    _check_near_misses(raw.columns, source, extra_columns)
    _warn_long(values["maturity"], source, lines)
    return _typed(raw, text, values, instrument, grid)


def _warn_long(maturity: np.ndarray, source: str, lines) -> None:
    """An :class:`InputWarning` naming the first maturity of ``LONG_MATURITY`` years or more
    (probably meant in days), at the caller of :func:`validate`."""
    long = np.flatnonzero(maturity >= LONG_MATURITY)
    if long.size:
        position = int(long[0])
        where = f"row {position + 1}" + ("" if lines is None else f" (line {lines[position]})")
        warnings.warn(InputWarning(
            f"{source}: {where}: maturity {maturity[position]:g} is in years, not days"
            + (f" ({long.size - 1} more row{'s' if long.size > 2 else ''} of "
               f"{LONG_MATURITY:g} years or more)" if long.size > 1 else "")), stacklevel=3)


def _check_ids(check: _Checker, ids: pd.Series) -> None:
    """Every id given, and none twice."""
    check.fail_first((ids == "").to_numpy(), "id", lambda p: "missing value")
    duplicated = ids.duplicated(keep="first").to_numpy() & (ids != "").to_numpy()
    first_seen = {}
    for position, value in enumerate(ids):
        first_seen.setdefault(value, position)
    check.fail_first(duplicated, "id", lambda p: (
        f"duplicate id {ids.iloc[p]!r} (first used in row {first_seen[ids.iloc[p]] + 1})"))


def _checked_values(check: _Checker, columns: pd.Index, text: dict, instrument: np.ndarray,
                    model: np.ndarray) -> dict:
    """The numeric columns parsed, each checked on the rows it applies to: required, > 0
    and within ``LIMITS`` (a model's parameter columns on its rows, by its schema), and the
    fixings' count."""
    everywhere = np.ones(len(instrument), dtype=bool)
    barrier_rows, digital = instrument == "barrier", instrument == "digital"
    schemas = {name: schema(name) for name in MODELS}
    rows_of = {name: model == name for name in MODELS}
    of_model = {column: rows_of[name] for name in MODELS for column in schemas[name].PARAMETERS}

    def column_present(name: str, rows, why: str) -> None:
        if name not in columns and rows.any():
            position = int(np.flatnonzero(rows)[0])
            check.fail(position, name, f"required column is missing ({why})")

    for name in MODELS:
        for column in schemas[name].PARAMETERS:
            column_present(column, rows_of[name], f"model {name}")
    column_present("barrier", barrier_rows, "barrier instrument")
    column_present("barrier_type", barrier_rows, "barrier instrument")

    values = {}
    for name, required in [("strike", everywhere), ("maturity", everywhere), ("spot", everywhere),
                           ("rate", everywhere), ("dividend", False), *of_model.items(),
                           ("quantity", False), ("multiplier", False), ("payout", False),
                           ("barrier", barrier_rows), ("fixings", False)]:
        values[name] = _numbers(check, text[name], name, required if name in columns else False)

    positive = lambda v: v > 0  # noqa: E731
    for name, rows in [("strike", everywhere), ("maturity", everywhere), ("spot", everywhere),
                       *((column, of_model[column]) for name in MODELS
                         for column in schemas[name].POSITIVE),
                       ("barrier", barrier_rows), ("payout", digital), ("multiplier", everywhere)]:
        _bound(check, values[name], name, rows, positive, "must be > 0")
    for name in MODELS:
        for column, test, rule in schemas[name].BOUNDS:
            _bound(check, values[column], column, rows_of[name], test, rule)
    applies = {"all": everywhere, "barrier": barrier_rows, "digital": digital}
    for name, rows, low, high in LIMITS + [(column, of_model[column], low, high)
                                           for name in MODELS
                                           for column, low, high in schemas[name].LIMITS]:
        _bound(check, values[name], name, applies[rows] if isinstance(rows, str) else rows,
               lambda v, low=low, high=high: (v >= low) & (v <= high),
               f"must lie in [{low:g}, {high:g}] (the range the engine computes in)")
    dated = np.isin(instrument, DATED_INSTRUMENTS)
    _bound(check, values["fixings"], "fixings", dated,
           lambda v: (v >= 1) & (v <= MAX_FIXINGS) & (v == np.floor(v)),
           f"must be a whole number from 1 to {MAX_FIXINGS}")
    default_too_many = _default_fixings(values["maturity"]) > MAX_FIXINGS
    check.fail_first(dated & np.isnan(values["fixings"]) & default_too_many, "fixings", lambda p: (
        f"the default, daily fixings for maturity {values['maturity'][p]:g} would exceed "
        f"{MAX_FIXINGS}; give fixings explicitly"))
    return values


def _check_near_misses(columns: pd.Index, source: str, extra_columns) -> None:
    """Refuse an unknown column close to a known one that is absent (:func:`near_column`)."""
    for name in columns:
        known = None if name in COLUMNS or name in extra_columns else near_column(name)
        if known is not None and known not in columns:
            raise InputError(source, f"unknown column, close to the known column {known!r} "
                             f"(which would take its default); rename it, or declare it an "
                             f"extra column of your own (--extra-columns {name})", column=name)


def _default_fixings(maturity: np.ndarray) -> np.ndarray:
    """Daily fixings, 252 a year, at least 1 (as floats: huge maturities give inf, not garbage)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.maximum(1.0, np.rint(FIXINGS_PER_YEAR * maturity))


def exercise_fixings(maturity: np.ndarray, hint: np.ndarray) -> np.ndarray:
    """An american row's exercise grid from its ``fixings`` hint n (``exercise_grid``
    ``daily``, the default): each of the hint's n steps cut into m = ⌈d/n⌉ equal ones, d the
    default daily count, so that the grid holds the hint's dates and is at least as fine as
    the default (whose Richardson extrapolation to continuous exercise and Greeks of the
    grid's Bermudan are within their SEs; a coarse grid's are not: docs/american.md), n·m
    at most ``MAX_FIXINGS`` (m ≥ 1).  ``exercise_grid`` ``fixings`` keeps the hint's n."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        steps = np.minimum(np.ceil(_default_fixings(maturity) / hint),
                           np.floor(MAX_FIXINGS / hint))
        return hint * np.maximum(1.0, steps)


def _typed(raw, text, values, instrument, grid) -> pd.DataFrame:
    maturity = values["maturity"]
    hint = values["fixings"]
    refined = (instrument == "american") & (grid != "fixings")
    fixings = np.where(np.isnan(hint), _default_fixings(maturity),
                       np.where(refined, exercise_fixings(maturity, hint), hint))
    fixings = np.where(np.isin(instrument, DATED_INSTRUMENTS), fixings, 1)
    out = {
        "id": text["id"].to_numpy(dtype=object),
        "instrument": instrument,
        "option_type": text["option_type"].str.lower().to_numpy(dtype=object),
        "strike": values["strike"], "maturity": maturity, "spot": values["spot"],
        "rate": values["rate"], "dividend": np.nan_to_num(values["dividend"], nan=0.0),
        "model": text["model"].str.lower().to_numpy(dtype=object),
        **{name: values[name] for name in parameter_columns()},
        "quantity": np.nan_to_num(values["quantity"], nan=1.0),
        "payout": np.nan_to_num(values["payout"], nan=1.0),
        "digital_type": np.where((instrument == "digital") & (text["digital_type"] == ""),
                                 DIGITAL_TYPES[0], text["digital_type"].str.lower()),
        "barrier": values["barrier"],
        "barrier_type": text["barrier_type"].str.lower().to_numpy(dtype=object),
        "fixings": fixings.astype(np.int64),
        "exercise_grid": np.where((instrument == "american") & (grid == ""), EXERCISE_GRIDS[0],
                                  grid),
        "underlying": text["underlying"].to_numpy(dtype=object),
        "multiplier": np.nan_to_num(values["multiplier"], nan=1.0),
    }
    frame = pd.DataFrame(out, index=raw.index)
    present = [c for c in COLUMNS if c in raw.columns or c in REQUIRED
               or c in ("dividend", "quantity", "payout", "fixings", "underlying")]
    frame = frame[present]
    extra = [c for c in raw.columns if c not in COLUMNS]
    for name in extra:
        frame[name] = _carried(raw[name])
    return frame.reset_index(drop=True)
