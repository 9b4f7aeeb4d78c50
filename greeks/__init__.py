"""Monte-Carlo prices and likelihood-ratio Greeks, each with its standard error.

The likelihood-ratio (score-function) identity

    d/dθ E[f(X)] = E[f(X) · ∂/∂θ log p(X; θ)]

turns one set of simulated paths and their score weights into price, delta and
vega for every payoff written on those paths.  ``price_portfolio`` is the entry
point, ``analytic_prices`` gives the closed-form references; the numba kernels are
imported lazily so that ``import greeks`` stays fast.
"""

__version__ = "0.1.0"

__all__ = ["price_portfolio", "analytic_prices", "InputError", "__version__"]


def price_portfolio(frame_or_path, paths=None, seed=None, threads=None):
    """Price every row of an instrument table; see :func:`greeks.api.price_portfolio`."""
    from greeks.api import price_portfolio as _price_portfolio

    return _price_portfolio(frame_or_path, paths=paths, seed=seed, threads=threads)


def analytic_prices(frame_or_path):
    """Closed-form references for every row; see :func:`greeks.reference.analytic_prices`."""
    from greeks.reference import analytic_prices as _analytic_prices

    return _analytic_prices(frame_or_path)


def __getattr__(name):
    if name == "InputError":
        from greeks.instruments import InputError

        return InputError
    raise AttributeError(f"module 'greeks' has no attribute {name!r}")
