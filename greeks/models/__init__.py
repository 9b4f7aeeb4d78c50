"""The models: each a package behind one adapter, found by name.

``MODELS`` lists the model names an instrument file may give; :func:`adapter` returns the
model's :class:`greeks.models.base.Model` (imported on first use: it brings the numba
kernels), :func:`schema` its input module (columns and rules; no numba).  The engine, the
estimators' orchestration and the commands reach model behaviour only through these.

Adding a model: a package ``greeks/models/<name>/`` with ``schema.py``, its kernels, its
closed forms and an ``adapter.py`` that defines ``ADAPTER``; its name in
``greeks.names.MODELS``.
"""

from __future__ import annotations

import importlib
from functools import cache

from greeks.names import MODELS


@cache
def adapter(name: str):
    """The adapter of model ``name`` (:class:`greeks.models.base.Model`)."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return importlib.import_module(f"greeks.models.{name}.adapter").ADAPTER


def schema(name: str):
    """The input schema module of model ``name`` (no numba)."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return importlib.import_module(f"greeks.models.{name}.schema")
