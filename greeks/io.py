"""Reading instrument files and writing result tables (CSV, Parquet, JSON records).

Writes are atomic: the table goes to a temporary file beside the target, which is
renamed over it only once complete, so a failed or interrupted run never leaves a
half-written output behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from greeks.instruments import InputError, validate
from greeks.names import INPUT_FORMATS, OUTPUT_FORMATS


def table_format(path: str | os.PathLike, source: str | None = None,
                 output: bool = False) -> str:
    """The format named by a path's suffix (``output``: also .html), or an
    :class:`InputError`."""
    formats = OUTPUT_FORMATS if output else INPUT_FORMATS
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        problem = f"unsupported file type {suffix!r}" if suffix else "the file name has no suffix"
        names = list(formats)
        raise InputError(source or str(path),
                         f"{problem}; use {', '.join(names[:-1])} or {names[-1]}")
    return formats[suffix]


def _decode(data: bytes, source: str) -> str:
    """UTF-8 text (a byte-order mark is dropped), or an error quoting the line of the bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise InputError(source, f"not UTF-8 text (byte {error.start})", line=line) from None


def _blank(record: list[str]) -> bool:
    return all(not field.strip() for field in record)


def _csv_records(text: str, source: str):
    """Yield (first physical line, fields) of each non-blank CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    yielded, start = 0, 1  # records yielded, header included: the next data row's number
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise InputError(source, f"malformed CSV ({error})", row=yielded or None,
                             line=start) from None
        if not _blank(record):
            yield start, record
            yielded += 1
        start = reader.line_num + 1


def read_csv(text: str, source: str) -> tuple[pd.DataFrame, list[int]]:
    """Parse CSV text into string cells and the physical line of each row.

    Blank lines and lines of empty fields are skipped.  A row may have fewer
    fields than the header (the rest are empty) but not more, unless the extra
    fields are empty.  Columns with a blank header name must be empty; they are dropped.
    """
    records = _csv_records(text, source)
    header_line, header = next(records, (None, None))
    if header is None:
        raise InputError(source, "file is empty")
    header = [name.strip() for name in header]
    width = len(header)
    rows, lines = [], []
    for row, (line, record) in enumerate(records, start=1):
        if len(record) > width:
            if not _blank(record[width:]):
                raise InputError(source, f"has {len(record)} fields, but the header has {width}",
                                 row=row, line=line)
            record = record[:width]
        rows.append(record + [""] * (width - len(record)))
        lines.append(line)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    for k, name in enumerate(header):
        if name:
            continue
        values = frame.iloc[:, k]
        filled = [row for row, value in enumerate(values, start=1) if value.strip()]
        if filled:
            raise InputError(source, f"field {k + 1} has a value but no column name in the header "
                             f"(line {header_line})", row=filled[0], line=lines[filled[0] - 1])
    return frame.loc[:, [bool(name) for name in header]], lines


def _json_cell(value):
    """A JSON value as a cell: NaN stays visible as text (null is the missing value)."""
    return "nan" if isinstance(value, float) and value != value else value


def read_json(text: str, source: str) -> pd.DataFrame:
    """Parse JSON records (a list of objects); a key absent from a record is a missing cell."""
    try:
        records = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(source, f"not valid JSON ({error})") from None
    except RecursionError:  # json's decoder recurses once per level of nesting
        raise InputError(source, "not valid JSON (nested too deeply)") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InputError(source, "JSON must be a list of records (objects)")
    columns = list(dict.fromkeys(key for record in records for key in record))
    cells = {name: [_json_cell(record.get(name)) for record in records] for name in columns}
    return pd.DataFrame(cells, columns=columns, index=pd.RangeIndex(len(records)), dtype=object)


def read_raw(path: str | os.PathLike) -> tuple[pd.DataFrame, list[int] | None]:
    """The table in ``path`` as untyped cells, and the physical line of each row (CSV only)."""
    source = str(path)
    kind = table_format(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InputError(source, f"cannot read file ({error.strerror or error})") from None
    if not data.strip():
        raise InputError(source, "file is empty")
    if kind == "csv":
        return read_csv(_decode(data, source), source)
    if kind == "json":
        return read_json(_decode(data, source), source), None
    import pyarrow as pa

    try:  # from Arrow's own buffer on one thread: through a Python file object, Arrow's
        # thread pool aborted the process at exit now and then (exit 134)
        return pd.read_parquet(pa.BufferReader(data), use_threads=False), None
    except Exception as error:  # pyarrow's many error types, worded by it
        message = " ".join(str(error).split()) or type(error).__name__
        raise InputError(source, f"cannot parse Parquet file: {message}") from None


def read_instruments(path: str | os.PathLike, extra_columns=()) -> pd.DataFrame:
    """Read and validate an instrument file (``extra_columns``: as in
    :func:`greeks.instruments.validate`)."""
    raw, lines = read_raw(path)
    return validate(raw, str(path), lines, extra_columns)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def to_text(frame: pd.DataFrame, kind: str) -> str:
    """``frame`` as CSV or JSON records text; floats keep every digit (they read back exactly)."""
    if kind == "csv":
        return frame.to_csv(index=False)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return json.dumps(records, indent=1, default=str) + "\n"


def temporary_beside(target: Path) -> tuple[int, str]:
    """A new temporary file in ``target``'s folder, named after it: (descriptor, path)."""
    return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                            dir=target.parent if str(target.parent) else ".")


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``frame`` to ``path`` in the format its suffix names, atomically.

    With run metadata in ``frame.attrs["metadata"]`` (a risk report), it is stored with the
    table: as the Parquet schema's key-value metadata ``greeks.run`` (JSON), as the header
    of a JSON file (``{"metadata": ..., "records": [...]}``), and at the top of an HTML
    report; a CSV file holds the table only."""
    kind = table_format(path, output=True)
    target = Path(path)
    fd, temporary = temporary_beside(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            metadata = frame.attrs.get("metadata")
            if kind == "parquet":
                _write_parquet(frame, handle, metadata)
            elif kind == "html":
                handle.write(to_html(frame, metadata).encode())
            elif kind == "json" and metadata is not None:
                records = json.loads(to_text(frame, "json"))
                handle.write((json.dumps({"metadata": metadata, "records": records}, indent=1,
                                         default=str) + "\n").encode())
            else:
                handle.write(to_text(frame, kind).encode())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _write_parquet(frame: pd.DataFrame, handle, metadata: dict | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    bare = frame.copy()
    bare.attrs = {}  # the run metadata goes in below; attrs may hold tables
    table = pa.Table.from_pandas(bare, preserve_index=False)
    if metadata is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"greeks.run": json.dumps(metadata, default=str)})
    pq.write_table(table, handle)


def read_metadata(path: str | os.PathLike) -> dict | None:
    """The run metadata stored with a Parquet or JSON result file, if any."""
    if table_format(path) == "parquet":
        import pyarrow.parquet as pq

        stored = pq.read_schema(path).metadata or {}
        return json.loads(stored[b"greeks.run"]) if b"greeks.run" in stored else None
    content = json.loads(Path(path).read_text())
    return content.get("metadata") if isinstance(content, dict) else None


def to_html(frame: pd.DataFrame, metadata: dict | None = None) -> str:
    """A self-contained HTML page: the run metadata, the table, and the per-position table
    of a report (``frame.attrs["positions"]``)."""
    import html

    def table(data: pd.DataFrame) -> str:
        return data.to_html(index=False, border=0, float_format=lambda v: f"{v:,.6g}",
                            na_rep="", classes="numbers")

    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>greeks</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
             "margin-bottom:2em}td,th{padding:3px 10px;border-bottom:1px solid #ddd;"
             "text-align:right}th{background:#f4f4f4}</style></head><body>",
             "<h1>greeks</h1>"]
    if metadata:
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in metadata.items())
        parts.append(f"<h2>Run</h2><table>{rows}</table>")
    parts.append("<h2>Results</h2>" + table(frame))
    positions = frame.attrs.get("positions")
    if isinstance(positions, pd.DataFrame):
        parts.append("<h2>Positions</h2>" + table(positions))
    parts.append("</body></html>\n")
    return "\n".join(parts)
