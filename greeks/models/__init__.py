"""The models: each a package behind one adapter, found by name.

``MODELS`` lists the model names an instrument file may give; :func:`adapter` returns the
model's :class:`greeks.models.base.Model` (imported on first use: it brings the numba
kernels), :func:`schema` its input module (columns, rules and what it reads from a market;
no numba) and :func:`reference` its reference values (closed forms and numerical
solutions; no numba until a numerical solution is asked for).  The engine, the
estimators' orchestration and the commands reach model behaviour only through these.

Adding a model: a package ``greeks/models/<name>/`` with ``schema.py``, ``reference.py``,
its kernels, its closed forms and an ``adapter.py`` that defines ``ADAPTER``; its name in
``MODELS``.
"""

from __future__ import annotations

import importlib
from functools import cache

MODELS = ("gbm", "heston")
# the model of a position priced off a market that names none, where its underlying has no
# market entry of a model's own (a model's ``MARKET_ENTRY``: heston where it has a ``heston``
# entry)
DEFAULT_MARKET_MODEL = "gbm"


def _module(name: str, part: str):
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return importlib.import_module(f"greeks.models.{name}.{part}")


@cache
def adapter(name: str):
    """The adapter of model ``name`` (:class:`greeks.models.base.Model`)."""
    return _module(name, "adapter").ADAPTER


def schema(name: str):
    """The input schema module of model ``name`` (no numba)."""
    return _module(name, "schema")


def reference(name: str):
    """The reference-value module of model ``name`` (``CODES``, ``flat``, ``on_market``,
    ``market_vega_scale``: :mod:`greeks.reference`)."""
    return _module(name, "reference")


def parameter_columns() -> tuple[str, ...]:
    """Every model's parameter columns, in the order of ``MODELS``."""
    return tuple(column for name in MODELS for column in schema(name).PARAMETERS)


def market_model(underlying) -> str:
    """The model of a position off a market that names none: the first model whose market
    entry (``MARKET_ENTRY``) ``underlying`` (a :class:`greeks.market.file.Underlying`)
    has, else ``DEFAULT_MARKET_MODEL``."""
    for name in MODELS:
        entry = schema(name).MARKET_ENTRY
        if entry is not None and getattr(underlying, entry, None) is not None:
            return name
    return DEFAULT_MARKET_MODEL
