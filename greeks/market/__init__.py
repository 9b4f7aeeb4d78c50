"""Market data: one JSON file of curves, dividends and volatilities that dated positions
are priced off (``greeks price book.csv --market market.json``; docs/market.md).

Modules (no numba; numpy only where the curves are evaluated):

* :mod:`greeks.market.dates`     ISO dates and the ACT/365F year fraction;
* :mod:`greeks.market.curves`    zero-rate and dividend-yield curves (log-linear discount
  factors, a constant forward per interval);
* :mod:`greeks.market.volatility` implied-vol term structures (total variance linear in t);
* :mod:`greeks.market.file`      reading and validating the file into a :class:`Market`;
* :mod:`greeks.market.dynamics`  what one simulation needs of an underlying: spot, carry
  growth, discounting, the variance clock and the discrete dividends;
* :mod:`greeks.market.positions` dated positions resolved against a market into the
  validated instrument frame the engine prices;
* :mod:`greeks.market.factors`   the market factors (curve and vol nodes, dividends, the
  valuation date) as coefficients of bucketed Greeks' weights.
"""

from greeks.market.file import Market, MarketError, load_market

__all__ = ["Market", "MarketError", "load_market"]
