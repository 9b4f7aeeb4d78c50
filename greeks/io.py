"""Reading instrument files and writing result tables (CSV, Parquet, JSON records).

Writes are atomic: the table goes to a temporary file beside the target, which is
renamed over it only once complete, so a failed or interrupted run never leaves a
half-written output behind.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from greeks.instruments import InputError, validate

FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json"}


def table_format(path: str | os.PathLike, source: str | None = None) -> str:
    """The format named by a path's suffix, or an :class:`InputError`."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(source or str(path),
                         f"unsupported file type {suffix or '(none)'!r}; use .csv, .parquet or .json")
    return FORMATS[suffix]


def read_raw(path: str | os.PathLike) -> tuple[pd.DataFrame, int | None]:
    """The table in ``path`` as untyped cells, and its header line count (CSV only)."""
    source = str(path)
    kind = table_format(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise InputError(source, f"cannot read file ({error.strerror or error})") from None
    if not data.strip():
        raise InputError(source, "file is empty")
    try:
        if kind == "csv":
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as error:
                raise InputError(source, f"not UTF-8 text (byte {error.start})") from None
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                                skipinitialspace=True, skip_blank_lines=True)
            return frame, 1
        if kind == "parquet":
            return pd.read_parquet(io.BytesIO(data)), None
        try:
            records = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(source, f"not valid JSON ({error})") from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise InputError(source, "JSON must be a list of records (objects)")
        return pd.DataFrame.from_records(records), None
    except InputError:
        raise
    except Exception as error:  # parser errors of pandas/pyarrow, worded by them
        message = " ".join(str(error).split()) or type(error).__name__
        raise InputError(source, f"cannot parse {kind.upper()} file: {message}") from None


def read_instruments(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate an instrument file."""
    raw, header_lines = read_raw(path)
    return validate(raw, str(path), header_lines)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``frame`` to ``path`` in the format its suffix names, atomically."""
    kind = table_format(path)
    target = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                     dir=target.parent if str(target.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            if kind == "csv":
                handle.write(frame.to_csv(index=False).encode())
            elif kind == "parquet":
                frame.to_parquet(handle, index=False)
            else:
                records = frame.astype(object).where(frame.notna(), None).to_dict("records")
                handle.write(json.dumps(records, indent=1, default=str).encode())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
