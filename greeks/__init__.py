"""Monte-Carlo prices and likelihood-ratio Greeks, each with its standard error.

The likelihood-ratio (score-function) identity

    d/dθ E[f(X)] = E[f(X) · ∂/∂θ log p(X; θ)]

turns one set of simulated paths and their score weights into price, delta and
vega for every payoff written on those paths.  ``price_portfolio`` is the entry
point, ``risk_report`` sums desk-unit exposures by any columns, ``analytic_prices``
gives the closed-form references; they and the numba
kernels are imported on first use, so that ``import greeks`` stays fast.
"""

__version__ = "0.1.0"

__all__ = ["price_portfolio", "risk_report", "analytic_prices", "InputError", "__version__"]


def __getattr__(name):
    """The public functions and the error type, imported on first use."""
    if name == "price_portfolio":
        from greeks.api import price_portfolio

        return price_portfolio
    if name == "risk_report":
        from greeks.report import risk_report

        return risk_report
    if name == "analytic_prices":
        from greeks.reference import analytic_prices

        return analytic_prices
    if name == "InputError":
        from greeks.instruments import InputError

        return InputError
    raise AttributeError(f"module 'greeks' has no attribute {name!r}")
