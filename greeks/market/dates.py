"""ISO calendar dates and the ACT/365F year fraction (calendar days / 365)."""

from __future__ import annotations

import datetime as dt
import re

DAYS_PER_YEAR = 365.0
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text) -> dt.date | None:
    """The date of an ISO ``YYYY-MM-DD`` string, or None if it is not one."""
    if not isinstance(text, str) or not _ISO.fullmatch(text.strip()):
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def year_fraction(start: dt.date, end: dt.date) -> float:
    """ACT/365F: (end − start) in calendar days / 365."""
    return (end - start).days / DAYS_PER_YEAR
