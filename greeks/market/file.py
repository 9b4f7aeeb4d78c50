"""The market file: reading and validating it into a :class:`Market`.

The file is JSON (or a dict of the same shape, from the Python API)::

    {"valuation_date": "2027-03-01",
     "curves": {"USD": {"dates": [...], "zero_rates": [...]}, "EUR": 0.025},
     "underlyings": {"SPX": {"spot": 5000, "curve": "USD", "dividend_yield": 0.013,
                             "vol": {"dates": [...], "vols": [...]},
                             "dividends": [{"ex_date": "...", "amount": 0.26}],
                             "heston": {"v0": ..., "kappa": ..., "theta": ..., "xi": ...,
                                        "rho": ...}}}}

Every rule broken raises :class:`MarketError`, one line naming the file, the key path
(``underlyings.SPX.vol.dates[1]``) and the rule.  Dates are ISO ``YYYY-MM-DD``; every curve
node and every ex-dividend date must fall after the valuation date (an ex-date on or
before it is refused, not ignored: a dividend already paid belongs in the spot, and a
silently dropped one would misprice every position on the underlying).  Unknown keys are
refused (a misspelt key would otherwise drop data without a word).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from greeks.instruments import InputError
from greeks.market.curves import Curve
from greeks.market.dates import parse_date, year_fraction
from greeks.market.volatility import VolCurve
from greeks.models.heston.schema import PARAMETERS as HESTON_PARAMETERS

RATE_LIMIT = 1.0  # |zero rate| and |yield|, as the instrument columns' limits
VOL_LIMIT = 10.0
SPOT_LIMIT = 1e12
HESTON_LIMITS = {"v0": (0.0, 100.0, True), "kappa": (0.0, 1000.0, False),
                 "theta": (0.0, 100.0, False), "xi": (0.0, 100.0, False)}


class MarketError(InputError):
    """A rule broken by the market file; ``str()`` is ``file: key.path: rule``."""

    def __init__(self, source: str, path: str, rule: str):
        self.path = path
        super().__init__(source, f"{path}: {rule}" if path else rule)


@dataclass(frozen=True)
class Dividend:
    """A discrete dividend: the ex-date as a year fraction, and a cash ``amount`` (the
    spot drops by it) or a proportional ``yield`` (the spot drops by that fraction)."""

    time: float
    value: float
    proportional: bool


@dataclass(frozen=True)
class Underlying:
    name: str
    spot: float
    curve: str
    yield_curve: Curve
    dividends: tuple[Dividend, ...]
    vol: VolCurve | None
    heston: dict | None


@dataclass(frozen=True)
class Market:
    """A validated market: the valuation date, the curves by name, the underlyings."""

    source: str
    valuation_date: object  # datetime.date
    curves: dict
    underlyings: dict

    def time(self, date) -> float:
        """ACT/365F year fraction from the valuation date."""
        return year_fraction(self.valuation_date, date)


class _Reader:
    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, rule: str):
        raise MarketError(self.source, path, rule)

    def mapping(self, value, path: str, required=(), optional=()) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"must be an object, got {_shown(value)}")
        for key in value:
            if key not in required and key not in optional:
                allowed = ", ".join(list(required) + list(optional))
                self.fail(_join(path, key), f"unknown key (expected {allowed})")
        for key in required:
            if key not in value:
                self.fail(_join(path, key), "missing")
        return value

    def number(self, value, path: str, low: float, high: float, low_open=True,
               high_open=False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"must be a number, got {_shown(value)}")
        value = float(value)
        if not math.isfinite(value):
            self.fail(path, f"must be a finite number, got {value}")
        below = value <= low if low_open else value < low
        above = value >= high if high_open else value > high
        if below or above:
            self.fail(path, f"must lie in {'(' if low_open else '['}{low:g}, {high:g}"
                            f"{')' if high_open else ']'}, got {value:g}")
        return value

    def date(self, value, path: str):
        parsed = parse_date(value)
        if parsed is None:
            self.fail(path, f"must be an ISO date YYYY-MM-DD, got {_shown(value)}")
        return parsed

    def future_dates(self, values, path: str, valuation) -> list[float]:
        """Year fractions of a non-empty list of increasing dates after the valuation date."""
        if not isinstance(values, list) or not values:
            self.fail(path, f"must be a non-empty list of dates, got {_shown(values)}")
        dates = [self.date(v, f"{path}[{i}]") for i, v in enumerate(values)]
        for i, date in enumerate(dates):
            if date <= valuation:
                self.fail(f"{path}[{i}]", f"{date} is on or before the valuation date "
                                          f"{valuation}")
            if i and date <= dates[i - 1]:
                self.fail(f"{path}[{i}]", f"dates must increase ({date} follows "
                                          f"{dates[i - 1]})")
        return [year_fraction(valuation, d) for d in dates]

    def numbers(self, values, path: str, count: int, dates_path: str, **bounds) -> list[float]:
        if not isinstance(values, list):
            self.fail(path, f"must be a list of numbers, got {_shown(values)}")
        if len(values) != count:
            self.fail(path, f"has {len(values)} values for the {count} dates of {dates_path}")
        return [self.number(v, f"{path}[{i}]", **bounds) for i, v in enumerate(values)]

    def flat_or_nodes(self, value, path: str, values_key: str) -> None:
        """A term structure is a number (flat) or an object of dates and values."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f'must be a number (flat) or an object {{"dates": [...], '
                            f'"{values_key}": [...]}}, got {_shown(value)}')

    def curve(self, value, path: str, valuation, rates_key: str) -> Curve:
        """A flat rate (a number) or ``{"dates", rates_key}``."""
        bounds = {"low": -RATE_LIMIT, "high": RATE_LIMIT, "low_open": False}
        if not isinstance(value, dict):
            self.flat_or_nodes(value, path, rates_key)
            return Curve.flat(self.number(value, path, **bounds))
        self.mapping(value, path, ("dates", rates_key))
        times = self.future_dates(value["dates"], _join(path, "dates"), valuation)
        rates = self.numbers(value[rates_key], _join(path, rates_key), len(times),
                             _join(path, "dates"), **bounds)
        return Curve(tuple(times), tuple(rates))

    def vol(self, value, path: str, valuation) -> VolCurve:
        bounds = {"low": 0.0, "high": VOL_LIMIT}
        if not isinstance(value, dict):
            self.flat_or_nodes(value, path, "vols")
            return VolCurve.flat(self.number(value, path, **bounds))
        self.mapping(value, path, ("dates", "vols"))
        times = self.future_dates(value["dates"], _join(path, "dates"), valuation)
        vols = self.numbers(value["vols"], _join(path, "vols"), len(times),
                            _join(path, "dates"), **bounds)
        variance = [v * v * t for v, t in zip(vols, times)]
        for i in range(1, len(times)):
            if variance[i] <= variance[i - 1]:
                self.fail(_join(path, f"vols[{i}]"),
                          f"total variance must increase (calendar arbitrage): "
                          f"{vols[i]:g}² × {times[i]:.6g} = {variance[i]:.6g} after "
                          f"{variance[i - 1]:.6g}")
        return VolCurve(tuple(times), tuple(vols), tuple(d.strip() for d in value["dates"]))

    def dividends(self, value, path: str, valuation) -> tuple[Dividend, ...]:
        if not isinstance(value, list):
            self.fail(path, f"must be a list of dividends, got {_shown(value)}")
        out = []
        for i, item in enumerate(value):
            where = f"{path}[{i}]"
            self.mapping(item, where, ("ex_date",), ("amount", "yield"))
            kinds = [key for key in ("amount", "yield") if key in item]
            if len(kinds) != 1:
                self.fail(where, "give exactly one of amount (cash) and yield (proportional)")
            date = self.date(item["ex_date"], _join(where, "ex_date"))
            if date <= valuation:
                self.fail(_join(where, "ex_date"),
                          f"{date} is on or before the valuation date {valuation} (a paid "
                          f"dividend is in the spot; remove it)")
            if out and year_fraction(valuation, date) <= out[-1].time:
                self.fail(_join(where, "ex_date"), "ex-dates must increase")
            if kinds[0] == "amount":
                amount = self.number(item["amount"], _join(where, "amount"), 0.0, SPOT_LIMIT)
                out.append(Dividend(year_fraction(valuation, date), amount, False))
            else:
                fraction = self.number(item["yield"], _join(where, "yield"), 0.0, 1.0,
                                       high_open=True)
                out.append(Dividend(year_fraction(valuation, date), fraction, True))
        return tuple(out)

    def heston(self, value, path: str) -> dict:
        self.mapping(value, path, HESTON_PARAMETERS)
        out = {}
        for name in HESTON_PARAMETERS:
            where = _join(path, name)
            if name == "rho":
                out[name] = self.number(value[name], where, -1.0, 1.0, high_open=True)
            else:
                low, high, closed = HESTON_LIMITS[name]
                out[name] = self.number(value[name], where, low, high, low_open=not closed)
        return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _shown(value) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def load_market(source) -> Market:
    """A validated :class:`Market` from a path to a JSON file or a dict of its shape."""
    if isinstance(source, Market):
        return source
    if isinstance(source, dict):
        name, data = "<market>", source
    elif isinstance(source, (str, os.PathLike)):
        name = str(source)
        try:
            with open(source, encoding="utf-8") as handle:
                data = json.load(handle)
        except OSError as error:
            raise MarketError(name, "", f"cannot read file ({error.strerror or error})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise MarketError(name, "", f"not valid JSON ({error})") from None
    else:
        raise TypeError("market: expected a path to a JSON file or a dict")
    read = _Reader(name)
    read.mapping(data, "", ("valuation_date", "underlyings"), ("curves",))
    valuation = read.date(data["valuation_date"], "valuation_date")
    curves = read.mapping(data.get("curves", {}), "curves", (), tuple(data.get("curves", {})))
    parsed_curves = {key: read.curve(value, f"curves.{key}", valuation, "zero_rates")
                     for key, value in curves.items()}
    underlyings = data["underlyings"]
    if not isinstance(underlyings, dict) or not underlyings:
        read.fail("underlyings", "must be a non-empty object of underlyings")
    parsed = {}
    for key, value in underlyings.items():
        path = f"underlyings.{key}"
        read.mapping(value, path, ("spot", "curve"),
                     ("dividend_yield", "dividends", "vol", "heston"))
        spot = read.number(value["spot"], f"{path}.spot", 0.0, SPOT_LIMIT)
        curve = value["curve"]
        if not isinstance(curve, str) or curve not in parsed_curves:
            known = ", ".join(parsed_curves) or "none"
            read.fail(f"{path}.curve", f"unknown curve {_shown(curve)} (curves: {known})")
        parsed[key] = Underlying(
            name=key, spot=spot, curve=curve,
            yield_curve=(read.curve(value["dividend_yield"], f"{path}.dividend_yield",
                                    valuation, "yields")
                         if "dividend_yield" in value else Curve.flat(0.0)),
            dividends=read.dividends(value.get("dividends", []), f"{path}.dividends",
                                     valuation),
            vol=read.vol(value["vol"], f"{path}.vol", valuation) if "vol" in value else None,
            heston=read.heston(value["heston"], f"{path}.heston") if "heston" in value
            else None)
    return Market(name, valuation, parsed_curves, parsed)
