"""Shared test helpers: build validated instrument frames from a few fields."""

import pandas as pd

from greeks.instruments import validate

BASE = dict(instrument="european", option_type="call", strike=100.0, maturity=1.0, spot=100.0,
            rate=0.05, dividend=0.0, model="gbm", vol=0.2)


def make_frame(rows):
    """A validated frame; each row is a dict with an ``id`` and fields overriding BASE."""
    return validate(pd.DataFrame([{**BASE, **row} for row in rows]), "test")
