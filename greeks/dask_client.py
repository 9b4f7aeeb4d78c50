"""Clients of Dask schedulers, one per address and process, connected before a run starts."""

from __future__ import annotations

from greeks.names import SCHEDULERS, OptionError

CONNECT_SECONDS = 10  # an unreachable scheduler is reported after this long

_CLIENTS: dict = {}


def client(address: str):
    """The client of the Dask scheduler at ``address``, connected on first use; an
    :class:`~greeks.names.OptionError` (one line) if the package is missing or the
    scheduler cannot be reached within ``CONNECT_SECONDS``."""
    if address not in _CLIENTS:
        try:
            from distributed import Client
        except ImportError:
            raise OptionError("scheduler: a Dask scheduler needs the distributed package: "
                              "pip install 'greeks-lr[dask]'") from None
        try:
            _CLIENTS[address] = Client(address, set_as_default=False,
                                       timeout=f"{CONNECT_SECONDS}s")
        except (OSError, TimeoutError, ValueError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else \
                type(error).__name__
            raise OptionError(f"scheduler: cannot reach the Dask scheduler at {address} "
                              f"({reason})") from None
    return _CLIENTS[address]


def check_reachable(scheduler: str) -> None:
    """Connect to ``scheduler`` now if it is a Dask address, so that a run never starts
    against one that cannot be reached."""
    if scheduler not in SCHEDULERS:
        client(scheduler)
