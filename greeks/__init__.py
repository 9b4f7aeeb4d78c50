"""Monte-Carlo prices and likelihood-ratio Greeks, each with its standard error.

The likelihood-ratio (score-function) identity

    d/dθ E[f(X)] = E[f(X) · ∂/∂θ log p(X; θ)]

turns one set of simulated paths and their score weights into price, delta and
vega for every payoff written on those paths.  ``price_portfolio`` is the entry
point, ``risk_report`` sums desk-unit exposures by any columns, ``spot_ladder`` revalues
the portfolio under spot and volatility shifts, ``compare_estimators`` sets the
estimators side by side, ``analytic_prices`` gives the closed-form references; they
and the numba kernels are imported on first use, so that ``import greeks`` stays fast.
Their options are named and checked in :mod:`greeks.names`.
"""

__version__ = "0.1.0"

# public name → the module that defines it, imported on first use
_PUBLIC = {
    "price_portfolio": "greeks.api",
    "risk_report": "greeks.report",
    "spot_ladder": "greeks.ladder",
    "compare_estimators": "greeks.compare",
    "analytic_prices": "greeks.reference",
    "InputError": "greeks.instruments",
    "OptionError": "greeks.names",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name):
    """The public functions and error types, imported on first use."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'greeks' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_PUBLIC[name]), name)


def __dir__():
    """The public API (``__all__``)."""
    return sorted(__all__)
