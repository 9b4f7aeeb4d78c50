"""Robustness of the command line against malformed instrument files, and Ctrl-C.

Property-based (hypothesis, derandomized): a valid book (``instruments/portfolio.csv``,
every instrument type under GBM and Heston) is mutated, written as CSV, JSON or
Parquet, and given to ``greeks price``, ``analytic`` or ``report`` with an ``--output``
path.  Every mutation that docs/instruments.md calls an error must be refused before
any simulation with exit status 2 and one line on stderr,
``Error: FILE: row R (line L): column 'C': rule``, naming the earliest bad row; there
must be no traceback, nothing on stdout and no output file (nor a temporary one).
Extra columns are not an error: they must come through unchanged.  Ctrl-C, wherever
it lands, must end a run with exit status 130, one line, and no output file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import signal
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greeks.api
import greeks.io
import greeks.reference
import greeks.report
from greeks import engine
from greeks.cli import main
from greeks.instruments import (
    BARRIER_TYPES,
    COLUMNS,
    INSTRUMENTS,
    MAX_FIXINGS,
    MODELS,
    OPTION_TYPES,
    REQUIRED,
    RESULT_COLUMNS,
)

ROOT = Path(__file__).resolve().parents[1]
BASE_TEXT = (ROOT / "instruments" / "portfolio.csv").read_text(encoding="utf-8")
HEADER, *ROWS = list(csv.reader(io.StringIO(BASE_TEXT)))
COLUMN = {name: k for k, name in enumerate(HEADER)}
N = len(ROWS)
SUFFIXES = (".csv", ".json", ".parquet")
COMMANDS = ("price", "analytic", "report")

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def rows_where(column: str, *values: str) -> tuple[int, ...]:
    """0-based positions of the base rows whose ``column`` is one of ``values``."""
    return tuple(p for p, row in enumerate(ROWS) if row[COLUMN[column]] in values)


EVERY_ROW = tuple(range(N))
GBM, HESTON = rows_where("model", "gbm"), rows_where("model", "heston")
DIGITAL, BARRIER = rows_where("instrument", "digital"), rows_where("instrument", "barrier")
DATED = rows_where("instrument", "asian", "barrier")
DATED_DAILY = tuple(p for p in DATED if not ROWS[p][COLUMN["fixings"]])  # fixings left empty
assert GBM and HESTON and DIGITAL and BARRIER and DATED_DAILY  # the base book covers them

NUMERIC = ("strike", "maturity", "spot", "rate", "dividend", "vol", "v0", "kappa", "theta",
           "xi", "rho", "quantity", "payout", "barrier", "fixings")
POSITIVE_ROWS = {"strike": EVERY_ROW, "maturity": EVERY_ROW, "spot": EVERY_ROW, "vol": GBM,
                 "kappa": HESTON, "theta": HESTON, "xi": HESTON, "barrier": BARRIER,
                 "payout": DIGITAL}
REQUIRED_ROWS = {**{name: EVERY_ROW for name in REQUIRED}, "vol": GBM,
                 **{name: HESTON for name in ("v0", "kappa", "theta", "xi", "rho")},
                 "barrier": BARRIER, "barrier_type": BARRIER}
CHOICES = {"instrument": INSTRUMENTS, "option_type": OPTION_TYPES, "model": MODELS,
           "barrier_type": BARRIER_TYPES}
# The number notation of docs/instruments.md ("100", "0.05", "1e-3", "+2"), after stripping.
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def is_number(text: str) -> bool:
    return bool(NUMBER.fullmatch(text.strip())) and math.isfinite(float(text.strip()))


# --- writing a table of cells in each format ----------------------------------------------

MISSING = None  # a missing cell: empty in CSV, null (or an absent key) in JSON, null in Parquet


def csv_bytes(header, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if cell is MISSING else str(cell) for cell in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def json_cell(cell):
    """Numbers as JSON numbers, NaN and infinities as the literals Python writes, else text."""
    if isinstance(cell, float):
        return cell
    if isinstance(cell, str) and is_number(cell):
        value = float(cell)
        return int(value) if value.is_integer() and abs(value) < 2 ** 53 else value
    return cell


def json_bytes(header, rows, absent_keys: bool = False) -> bytes:
    records = [{name: json_cell(cell) for name, cell in zip(header, row)
                if not (absent_keys and cell is MISSING)} for row in rows]
    return json.dumps(records, indent=1, ensure_ascii=False).encode("utf-8")


def parquet_bytes(header, rows) -> bytes:
    """Every column as text (numbers as text are allowed); missing cells are null."""
    cells = {k: [None if row[k] is MISSING else str(row[k]) for row in rows]
             for k in range(len(header))}
    frame = pd.DataFrame(cells, dtype=object)
    frame.columns = header
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def file_bytes(suffix: str, header, rows, absent_keys: bool = False) -> bytes:
    if suffix == ".csv":
        return csv_bytes(header, rows)
    if suffix == ".json":
        return json_bytes(header, rows, absent_keys)
    return parquet_bytes(header, rows)


# --- running the command line and checking the refusal ------------------------------------

def refuse_to_simulate(*args, **kwargs):
    raise AssertionError("a simulation was started on bad input")


@dataclass
class Run:
    result: object
    path: Path
    out: Path
    leftovers: list
    warnings: list


def run_cli(content: bytes, suffix: str, command: str = "price",
            out_suffix: str = ".csv") -> Run:
    """Run ``command`` on ``content`` saved as ``book + suffix``, with ``--output`` in the same
    folder; any simulation fails the run.  Returns the result, the paths, the files left
    behind and the warnings raised."""
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "simulate", refuse_to_simulate)
        path, out = Path(folder) / ("book" + suffix), Path(folder) / ("risk" + out_suffix)
        path.write_bytes(content)
        args = [command, str(path), "--output", str(out)]
        if command != "analytic":
            args += ["--paths", "2000"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # outside pytest a warning goes to stderr
            result = runner.invoke(main, args)
        leftovers = sorted(p.name for p in Path(folder).iterdir() if p != path)
        return Run(result, path, out, leftovers, [str(w.message) for w in caught])


def assert_refused(run: Run, row: int | None = None, line: int | None = None,
                   column: str | None = None, rule: str = "") -> str:
    """Exit 2, one clean line naming the file (and row, line, column, rule where given),
    no traceback, nothing on stdout, no output file.  Returns the line."""
    result = run.result
    assert result.exit_code == 2, (result.exit_code, result.output, result.exc_info)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    message = lines[0]
    where = f"Error: {run.path}: "
    if row is not None:
        where += f"row {row}" + (f" (line {line})" if line is not None else "") + ": "
    elif line is not None:
        where += f"line {line}: "
    if column is not None:
        where += f"column '{column}': "
    assert message.startswith(where), (message, where)
    assert rule in message, (message, rule)
    assert run.leftovers == [], run.leftovers  # no --output, no temporary beside it
    assert run.warnings == [], run.warnings  # they would be more lines on stderr
    return message


def expected_location(suffix: str, row: int) -> dict:
    """Rows are numbered from 1; CSV files also give the line (header on line 1)."""
    return dict(row=row, line=row + 1 if suffix == ".csv" else None)


# --- cell mutations ------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """Set ``column`` of row ``position`` (0-based) to ``value``; the error names ``blamed``."""

    position: int
    column: str
    value: object
    blamed: str
    rule: str


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10)
NOT_A_NUMBER = st.one_of(
    TEXT.filter(lambda s: s.strip() and not is_number(s)),
    st.sampled_from(["nan", "NaN", " inf", "-inf", "+Infinity", "1e999", "-1e400", "1,5",
                     "5%", "--1", "0x10", "1_000", "1e", "e5", "１００", "½", "1 000", "$5"]),
)
NON_POSITIVE = st.floats(max_value=0.0, allow_nan=False, allow_infinity=False)
BLANK = st.sampled_from([MISSING, "", "   ", "\t"])


def number(value: float) -> str:
    return repr(float(value))


@st.composite
def cell_mutation(draw, json_literals: bool = False) -> Cell:
    """One cell made wrong, in one of the ways docs/instruments.md lists."""
    kinds = ["not a number", "non-positive", "missing", "bad choice", "v0", "rho", "fixings",
             "default fixings"]
    kind = draw(st.sampled_from(kinds))
    if kind == "not a number":
        column, position = draw(st.sampled_from(NUMERIC)), draw(st.sampled_from(EVERY_ROW))
        literal = st.sampled_from([math.nan, math.inf, -math.inf])
        value = draw(st.one_of(NOT_A_NUMBER, literal) if json_literals else NOT_A_NUMBER)
        return Cell(position, column, value, column, "must be a")
    if kind == "non-positive":
        column = draw(st.sampled_from(sorted(POSITIVE_ROWS)))
        position = draw(st.sampled_from(POSITIVE_ROWS[column]))
        return Cell(position, column, number(draw(NON_POSITIVE)), column, "must be > 0")
    if kind == "missing":
        column = draw(st.sampled_from(sorted(REQUIRED_ROWS)))
        position = draw(st.sampled_from(REQUIRED_ROWS[column]))
        return Cell(position, column, draw(BLANK), column, "missing value")
    if kind == "bad choice":
        column = draw(st.sampled_from(sorted(CHOICES)))
        allowed = CHOICES[column]
        value = draw(st.one_of(
            TEXT, st.sampled_from(["straddle", "eur", "bs", "knock-out", "up and out", "0"]),
            st.sampled_from(allowed).map(lambda choice: choice + "s"),
        ).filter(lambda s: s.strip() and s.strip().lower() not in allowed))
        # barrier_type must be one of the choices on every row, if given
        position = draw(st.sampled_from(EVERY_ROW))
        return Cell(position, column, value, column, "must be one of")
    if kind == "v0":
        position = draw(st.sampled_from(HESTON))
        value = draw(st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False))
        return Cell(position, "v0", number(value), "v0", ">= 0")
    if kind == "rho":
        position = draw(st.sampled_from(HESTON))
        magnitude = draw(st.floats(min_value=1.0, max_value=1e300))
        sign = draw(st.sampled_from([1.0, -1.0]))
        return Cell(position, "rho", number(sign * magnitude), "rho", "strictly between -1 and 1")
    if kind == "fixings":
        position = draw(st.sampled_from(DATED))
        value = draw(st.one_of(
            st.integers(-10 ** 6, 0), st.integers(MAX_FIXINGS + 1, 10 ** 12),
            st.floats(1.0, float(MAX_FIXINGS)).filter(lambda v: not v.is_integer())))
        return Cell(position, "fixings", number(value), "fixings", "whole number from 1")
    position = draw(st.sampled_from(DATED_DAILY))  # daily fixings would exceed the maximum
    maturity = draw(st.floats(min_value=(MAX_FIXINGS + 0.5) / 252 * 1.0001, max_value=100.0))
    return Cell(position, "maturity", number(maturity), "fixings", "give fixings explicitly")


def mutate(cells) -> list[list]:
    rows = [list(row) for row in ROWS]
    for cell in cells:
        rows[cell.position][COLUMN[cell.column]] = cell.value
    return rows


def check_earliest_row(run: Run, suffix: str, cells) -> None:
    first = min(cell.position for cell in cells)
    blamed = {cell.blamed for cell in cells if cell.position == first}
    message = assert_refused(run, **expected_location(suffix, first + 1))
    assert any(f"column '{name}': " in message for name in blamed), (message, blamed)
    if len(cells) == 1:
        assert cells[0].rule in message, message


CELLS = st.lists(cell_mutation(), min_size=1, max_size=3,
                 unique_by=lambda cell: (cell.position, cell.column))


@settings(PROPERTY, max_examples=200)
@given(cells=CELLS, suffix=st.sampled_from(SUFFIXES), command=st.sampled_from(COMMANDS),
       out_suffix=st.sampled_from(SUFFIXES))
def test_bad_cells_are_refused_naming_the_earliest_row(cells, suffix, command, out_suffix):
    content = file_bytes(suffix, HEADER, mutate(cells))
    check_earliest_row(run_cli(content, suffix, command, out_suffix), suffix, cells)


@PROPERTY
@given(cells=st.lists(cell_mutation(json_literals=True), min_size=1, max_size=2,
                      unique_by=lambda cell: (cell.position, cell.column)),
       absent_keys=st.booleans())
def test_json_literals_and_absent_keys(cells, absent_keys):
    """JSON ``NaN`` and ``Infinity`` are errors; a missing cell may be null or an absent key."""
    content = json_bytes(HEADER, mutate(cells), absent_keys=absent_keys)
    check_earliest_row(run_cli(content, ".json"), ".json", cells)


@PROPERTY
@given(cells=CELLS, bom=st.booleans(), crlf=st.booleans(), blank_lines=st.integers(0, 3))
def test_csv_line_numbers_count_blank_lines_and_bom(cells, bom, crlf, blank_lines):
    """A byte-order mark and CRLF change nothing; blank lines before the data shift the
    line but not the row."""
    text = csv_bytes(HEADER, mutate(cells)).decode()
    head, rest = text.split("\n", 1)
    text = head + "\n" + "\n" * blank_lines + rest
    if crlf:
        text = text.replace("\n", "\r\n")  # quoted newlines in cells become CRLF too: still one
    content = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    first = min(cell.position for cell in cells)
    message = assert_refused(run_cli(content, ".csv"), row=first + 1, line=first + 2 + blank_lines)
    assert any(f"column '{cell.blamed}': " in message for cell in cells if cell.position == first)


@PROPERTY
@given(column=st.sampled_from(NUMERIC), position=st.sampled_from(EVERY_ROW),
       value=st.sampled_from([math.inf, -math.inf, math.nan]))
def test_parquet_float_columns_infinite_and_nan(column, position, value):
    """In typed Parquet columns an infinity is an error and NaN is a missing cell."""
    frame = pd.read_csv(io.StringIO(BASE_TEXT))
    frame[column] = frame[column].astype(float)
    frame.loc[position, column] = value
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    run = run_cli(buffer.getvalue(), ".parquet")
    if math.isnan(value):
        if position not in REQUIRED_ROWS.get(column, ()):
            return  # an optional cell left empty: valid, and the run stops at the simulation
        assert_refused(run, row=position + 1, column=column, rule="missing value")
    else:
        assert_refused(run, row=position + 1, column=column, rule="must be a finite number")


# --- columns -------------------------------------------------------------------------------

CONDITIONAL = {"vol": ("model gbm", GBM), "barrier": ("barrier instrument", BARRIER),
               "barrier_type": ("barrier instrument", BARRIER),
               **{name: ("model heston", HESTON) for name in ("v0", "kappa", "theta", "xi",
                                                               "rho")}}


def without_column(name: str, rename: str | None = None):
    k = COLUMN[name]
    if rename is not None:
        return [rename if j == k else c for j, c in enumerate(HEADER)], [list(r) for r in ROWS]
    return ([c for j, c in enumerate(HEADER) if j != k],
            [[cell for j, cell in enumerate(row) if j != k] for row in ROWS])


def check_column_gone(run: Run, suffix: str, name: str, hint: str = "") -> None:
    if name in CONDITIONAL:
        why, rows = CONDITIONAL[name]
        assert_refused(run, **expected_location(suffix, rows[0] + 1), column=name,
                       rule=f"required column is missing ({why})")
    else:
        assert_refused(run, column=name, rule="required column is missing" + hint)


NEEDED = sorted(set(REQUIRED) | set(CONDITIONAL))


@PROPERTY
@given(name=st.sampled_from(NEEDED), suffix=st.sampled_from(SUFFIXES),
       command=st.sampled_from(COMMANDS))
def test_missing_column(name, suffix, command):
    header, rows = without_column(name)
    check_column_gone(run_cli(file_bytes(suffix, header, rows), suffix, command), suffix, name)


@PROPERTY
@given(name=st.sampled_from(NEEDED), suffix=st.sampled_from(SUFFIXES),
       change=st.sampled_from(["upper", "title", "suffix", "prefix", "inner space"]))
def test_renamed_column(name, suffix, change):
    """A needed column under another name is missing (the new name is an extra column);
    a differently cased name gets a hint."""
    renamed = {"upper": name.upper(), "title": name.title(), "suffix": name + "_1",
               "prefix": "my_" + name, "inner space": name[:1] + " " + name[1:]}[change]
    header, rows = without_column(name, rename=renamed)
    hint = ""
    if change in ("upper", "title") and name not in CONDITIONAL:
        hint = f" (found {renamed!r}; column names are lower-case)"
    check_column_gone(run_cli(file_bytes(suffix, header, rows), suffix), suffix, name, hint)


@PROPERTY
@given(name=st.sampled_from(RESULT_COLUMNS), suffix=st.sampled_from(SUFFIXES),
       at=st.integers(0, len(HEADER)), spaces=st.sampled_from(["", " ", "  "]))
def test_column_named_like_a_result(name, suffix, at, spaces):
    header = HEADER[:at] + [spaces + name + spaces] + HEADER[at:]
    rows = [row[:at] + ["1"] + row[at:] for row in ROWS]
    assert_refused(run_cli(file_bytes(suffix, header, rows), suffix), column=name,
                   rule="is the name of a result column")


@PROPERTY
@given(name=st.sampled_from(HEADER), spaces=st.sampled_from(["", " "]),
       at=st.integers(0, len(HEADER)))
def test_repeated_column_name(name, spaces, at):
    header = HEADER[:at] + [spaces + name] + HEADER[at:]
    rows = [row[:at] + [row[COLUMN[name]]] + row[at:] for row in ROWS]
    assert_refused(run_cli(csv_bytes(header, rows), ".csv"), column=name,
                   rule="appears more than once")


# --- rows ----------------------------------------------------------------------------------

@PROPERTY
@given(pair=st.lists(st.sampled_from(EVERY_ROW), min_size=2, max_size=2, unique=True),
       pad=st.sampled_from(["", " ", "  "]), suffix=st.sampled_from(SUFFIXES))
def test_duplicate_id(pair, pad, suffix):
    first, second = sorted(pair)
    rows = [list(row) for row in ROWS]
    identifier = rows[first][0]
    rows[second][0] = pad + identifier + pad  # surrounding spaces do not make it another id
    assert_refused(run_cli(file_bytes(suffix, HEADER, rows), suffix),
                   **expected_location(suffix, second + 1), column="id",
                   rule=f"duplicate id {identifier!r} (first used in row {first + 1})")


@PROPERTY
@given(position=st.sampled_from(EVERY_ROW),
       extra=st.lists(st.sampled_from(["x", "1", " y", "", "0"]), min_size=1, max_size=3)
       .filter(lambda fields: any(f.strip() for f in fields)))
def test_csv_row_with_too_many_fields(position, extra):
    rows = [list(row) for row in ROWS]
    rows[position] += extra
    assert_refused(run_cli(csv_bytes(HEADER, rows), ".csv"), row=position + 1, line=position + 2,
                   rule=f"has {len(HEADER) + len(extra)} fields, but the header has "
                        f"{len(HEADER)}")


@PROPERTY
@given(position=st.sampled_from(EVERY_ROW), column=st.sampled_from(HEADER))
def test_csv_unclosed_quote(position, column):
    lines = BASE_TEXT.splitlines(keepends=True)
    fields = lines[position + 1].split(",")
    k = COLUMN[column]
    fields[k] = '"' + fields[k]
    lines[position + 1] = ",".join(fields)
    assert_refused(run_cli("".join(lines).encode(), ".csv"), row=position + 1,
                   line=position + 2, rule="malformed CSV")


@PROPERTY
@given(keep=st.lists(st.sampled_from(EVERY_ROW), min_size=1, max_size=4, unique=True),
       cells=CELLS, suffix=st.sampled_from(SUFFIXES))
def test_row_numbers_follow_the_file_not_the_book(keep, cells, suffix):
    """A subset of rows, reordered: the error names the row as numbered in this file."""
    rows = mutate(cells)
    chosen = [rows[p] for p in keep]
    bad = {cell.position for cell in cells} & set(keep)
    run = run_cli(file_bytes(suffix, HEADER, chosen), suffix, "analytic")
    if not bad:
        assert run.result.exit_code == 0, run.result.output  # a valid subset
        return
    first = min(k for k, p in enumerate(keep) if p in bad)
    assert_refused(run, **expected_location(suffix, first + 1))


# --- empty files, encodings, broken JSON and Parquet ---------------------------------------

@pytest.mark.parametrize("content, rule", [
    (b"", "file is empty"),
    (b"\n\n  \r\n\t", "file is empty"),
    (b"\xef\xbb\xbf", "file is empty"),
    (b"\xef\xbb\xbf\n \n", "file is empty"),
    (",,,\n , ,\n", "file is empty"),
    (BASE_TEXT.splitlines()[0].encode(), "no instrument rows"),
    (b"\xef\xbb\xbf" + BASE_TEXT.splitlines()[0].encode() + b"\n\n,,,,\n", "no instrument rows"),
])
def test_empty_csv(content, rule):
    content = content if isinstance(content, bytes) else content.encode()
    assert_refused(run_cli(content, ".csv"), rule=rule)


BAD_JSON = {
    "empty": ("", "file is empty"), "blank": (" \n", "file is empty"),
    "no records": ("[]", "no instrument rows"), "empty records": ("[{}, {}]", "no instrument rows"),
    "object": ("{}", "JSON must be a list of records"),
    "record": ('{"id": "A"}', "JSON must be a list of records"),
    "null": ("null", "JSON must be a list"), "number": ("3", "JSON must be a list"),
    "string": ('"[]"', "JSON must be a list"), "numbers": ("[1, 2]", "JSON must be a list"),
    "record and list": ('[{"id": "A"}, []]', "JSON must be a list"),
    "nested lists": ("[[[]]]", "JSON must be a list"),
    "nested too deeply": ("[" * 100_000 + "]" * 100_000, "not valid JSON (nested too deeply)"),
    "single quotes": ("[{'id': 'A'}]", "not valid JSON"),
    "trailing comma": ('[{"id": "A",}]', "not valid JSON"),
    "byte-order mark": ("\ufeff[]", "no instrument rows"),
}


@pytest.mark.parametrize("case", BAD_JSON, ids=list(BAD_JSON))
def test_malformed_json(case):
    text, rule = BAD_JSON[case]
    assert_refused(run_cli(text.encode(), ".json"), rule=rule)


@PROPERTY
@given(cut=st.integers(1, len(json_bytes(HEADER, ROWS).rstrip()) - 1))
def test_truncated_json(cut):
    content = json_bytes(HEADER, ROWS)[:cut]
    message = assert_refused(run_cli(content, ".json"))
    assert "not valid JSON" in message or "file is empty" in message


@PROPERTY
@given(cut=st.integers(0, len(parquet_bytes(HEADER, ROWS)) - 1), flip=st.booleans())
def test_truncated_or_corrupted_parquet(cut, flip):
    content = parquet_bytes(HEADER, ROWS)
    if flip:  # overwrite a byte of the footer's length or magic
        content = content[:-8] + bytes(b ^ 0x5A for b in content[-8:])
    else:
        content = content[:cut]
    message = assert_refused(run_cli(content, ".parquet"))
    assert "cannot parse Parquet file" in message or "file is empty" in message


def test_parquet_with_multi_level_column_names():
    """pandas writes a MultiIndex of column names to Parquet and reads it back as one."""
    frame = pd.read_csv(io.StringIO(BASE_TEXT))
    frame.columns = pd.MultiIndex.from_arrays([frame.columns, frame.columns])
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    assert_refused(run_cli(buffer.getvalue(), ".parquet"), column="id",
                   rule="required column is missing")


@PROPERTY
@given(encoding=st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]),
       suffix=st.sampled_from([".csv", ".json"]))
def test_utf16_and_utf32_files_are_refused(encoding, suffix):
    text = file_bytes(suffix, HEADER, ROWS).decode()
    message = assert_refused(run_cli(text.encode(encoding), suffix))
    if encoding in ("utf-16", "utf-32"):  # with a byte-order mark that is not UTF-8's
        assert message.endswith(": line 1: not UTF-8 text (byte 0)"), message


@PROPERTY
@given(cells=st.lists(st.tuples(st.sampled_from(EVERY_ROW),
                                st.sampled_from(["id", "book", "underlying"]),
                                st.sampled_from("éüßñ£µ°±²ÀØÿ")),
                      min_size=1, max_size=3, unique_by=lambda c: c[:2]),
       suffix=st.sampled_from([".csv", ".json"]), encoding=st.sampled_from(["latin-1", "cp1252"]))
def test_latin1_text_names_the_line_and_byte(cells, suffix, encoding):
    rows = [list(row) for row in ROWS]
    for position, column, letter in cells:
        rows[position][COLUMN[column]] = letter + "x" + rows[position][COLUMN[column]]
    content = file_bytes(suffix, HEADER, rows).decode().encode(encoding)
    offset = next(k for k, byte in enumerate(content) if byte >= 0x80)
    line = content[:offset].count(b"\n") + 1
    assert_refused(run_cli(content, suffix), line=line, rule=f"not UTF-8 text (byte {offset})")


@PROPERTY
@given(at=st.integers(0, 10 ** 6), byte=st.integers(0x80, 0xFF),
       suffix=st.sampled_from([".csv", ".json"]))
def test_stray_non_utf8_byte(at, byte, suffix):
    """One byte >= 0x80 among ASCII is never UTF-8: refused, naming its line and offset."""
    content = file_bytes(suffix, HEADER, ROWS)
    at %= len(content) + 1
    content = content[:at] + bytes([byte]) + content[at:]
    line = content[:at].count(b"\n") + 1
    assert_refused(run_cli(content, suffix), line=line, rule=f"not UTF-8 text (byte {at})")


def test_byte_order_mark_is_accepted(runner, tmp_path):
    """The same book with a UTF-8 byte-order mark reads as without (CSV and JSON)."""
    book = EUROPEAN.encode()
    outputs = []
    for name, content in [("plain.csv", book), ("bom.csv", b"\xef\xbb\xbf" + book),
                          ("bom.json", b"\xef\xbb\xbf" + json_bytes(EU_HEADER, EU_ROWS))]:
        path = tmp_path / name
        path.write_bytes(content)
        result = runner.invoke(main, ["analytic", str(path), "--format", "csv"])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]


# --- extra columns are carried through, not refused ----------------------------------------

RESERVED = {*COLUMNS, *RESULT_COLUMNS}
EXTRA_NAME = st.text(st.characters(min_codepoint=32, max_codepoint=0x24F,
                                   blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
EXTRA_VALUE = st.text(st.characters(min_codepoint=33, max_codepoint=0x24F,
                                    blacklist_categories=("Cs", "Cc", "Zs")), max_size=8)
EUROPEAN = (ROOT / "instruments" / "european.csv").read_text(encoding="utf-8")
EU_HEADER, *EU_ROWS = list(csv.reader(io.StringIO(EUROPEAN)))


@PROPERTY
@given(names=st.lists(EXTRA_NAME.filter(lambda s: s.strip() and s.strip() not in RESERVED
                                        and s.strip() not in EU_HEADER),
                      min_size=1, max_size=3, unique_by=str.strip),
       data=st.data())
def test_extra_columns_are_carried_through(names, data):
    """Unknown columns, anywhere in the header, come out unchanged after the validated
    columns, in input order; CSV cells as text."""
    header, rows = list(EU_HEADER), [list(row) for row in EU_ROWS]
    for name in names:
        at = data.draw(st.integers(0, len(header)))
        values = data.draw(st.lists(EXTRA_VALUE, min_size=len(rows), max_size=len(rows)))
        header.insert(at, name)
        for row, value in zip(rows, values):
            row.insert(at, value)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "book.csv"
        path.write_bytes(csv_bytes(header, rows))
        result = CliRunner().invoke(main, ["price", str(path), "--paths", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    extras = [name.strip() for name in header if name.strip() not in EU_HEADER]
    assert list(records[0])[-len(extras):] == extras
    for name in names:
        k = header.index(name)
        assert [record[name.strip()] for record in records] == [row[k] for row in rows]


@PROPERTY
@given(values=st.lists(st.one_of(st.integers(-10 ** 6, 10 ** 6), st.text(max_size=5),
                                 st.none()), min_size=len(EU_ROWS), max_size=len(EU_ROWS)))
def test_extra_json_values_are_carried_through(values):
    """JSON extra columns keep numbers as numbers when every cell is one; a column of
    numbers and text becomes text; null stays missing."""
    records = [{**dict(zip(EU_HEADER, row)), "desk": value} for row, value in zip(EU_ROWS, values)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "book.json"
        path.write_text(json.dumps(records))
        result = CliRunner().invoke(main, ["price", str(path), "--paths", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    got = [record["desk"] for record in json.loads(result.stdout)]
    mixed = len({type(v) for v in values if v is not None}) > 1
    assert got == [v if v is None or not mixed else str(v) for v in values]


# --- Ctrl-C --------------------------------------------------------------------------------

def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


BOOK_PATH = ROOT / "instruments" / "european.csv"


@pytest.mark.parametrize("command, target", [
    ("price", (engine, "simulate")),
    ("price", (greeks.api, "price_portfolio")),
    ("price", (greeks.io, "read_raw")),
    ("report", (engine, "simulate")),
    ("report", (greeks.report, "risk_report")),
    ("analytic", (greeks.reference, "analytic_prices")),
    ("price", (greeks.io, "to_text")),                 # while writing the .csv output
    ("price", (greeks.io, "_write_parquet")),          # while writing the .parquet output
    ("report", (greeks.io, "_write_parquet")),
    ("analytic", (greeks.io, "_write_parquet")),
])
@pytest.mark.parametrize("existing", [False, True])
def test_interrupt_exits_130_and_writes_nothing(runner, tmp_path, monkeypatch, command, target,
                                                existing):
    monkeypatch.setattr(*target, interrupt)
    suffix = ".parquet" if target[1] == "_write_parquet" else ".csv"
    out = tmp_path / f"risk{suffix}"
    if existing:
        out.write_bytes(b"previous results")
    args = [command, str(BOOK_PATH), "--output", str(out)]
    result = runner.invoke(main, args + ([] if command == "analytic" else ["--paths", "2000"]))
    assert result.exit_code == 130, (result.output, result.exc_info)
    assert result.stderr == "Interrupted; nothing was written.\n"
    assert "Traceback" not in result.output and "Aborted" not in result.output
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ([out.name] if existing else [])
    if existing:
        assert out.read_bytes() == b"previous results"


@pytest.mark.parametrize("command", COMMANDS)
def test_interrupt_while_printing_after_the_output_is_written(runner, tmp_path, monkeypatch,
                                                              command):
    import greeks.render

    for name in ("print_results", "print_report", "print_reference"):
        monkeypatch.setattr(greeks.render, name, interrupt)
    out = tmp_path / "risk.json"
    args = [command, str(BOOK_PATH), "--output", str(out)]
    result = runner.invoke(main, args + ([] if command == "analytic" else ["--paths", "2000"]))
    assert result.exit_code == 130, (result.output, result.exc_info)
    assert result.stderr == f"Interrupted; the results were written to {out}.\n"
    assert json.loads(out.read_text())  # complete
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_real_ctrl_c_during_a_long_run(tmp_path):
    """SIGINT to a running ``greeks price``: exit 130, one line, no output file."""
    out = tmp_path / "risk.csv"
    script = ("import sys; from greeks.cli import main; import greeks.api, greeks.engine; "
              "print('ready', file=sys.stderr, flush=True); "
              "main(sys.argv[1:], prog_name='greeks')")
    child = subprocess.Popen(
        [sys.executable, "-c", script, "price", str(ROOT / "instruments" / "portfolio.csv"),
         "--paths", "20000000", "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert child.stderr.readline() == "ready\n"
        try:
            child.wait(timeout=1.0)  # reading, validating and starting the simulation
        except subprocess.TimeoutExpired:
            pass
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, stderr
    assert stderr == "Interrupted; nothing was written.\n"
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []


# --- known engine failures on extreme but valid numbers ------------------------------------

@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("change", [
    {"rate": "710"}, {"rate": "-800"}, {"spot": "1e200", "strike": "1e200"},
    {"maturity": "1e-320"}, {"instrument": "asian", "maturity": "1e308", "fixings": "3"},
])
def test_extreme_valid_numbers_do_not_crash(runner, tmp_path, change):
    row = {**dict(zip(EU_HEADER, EU_ROWS[0])), "fixings": "", **change}
    path = tmp_path / "book.csv"
    path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n")
    result = runner.invoke(main, ["price", str(path), "--paths", "2000", "--format", "csv"])
    assert result.exit_code == 2, result.exc_info  # outside the documented limits
    assert "Traceback" not in result.output and "must lie in" in result.output
