"""Shared test helpers: build validated instrument frames from a few fields."""

import pandas as pd

from greeks.instruments import validate
from greeks.models.gbm.analytic import reference
from greeks.models.heston.analytic import heston_digital, heston_greeks

BASE = dict(instrument="european", option_type="call", strike=100.0, maturity=1.0, spot=100.0,
            rate=0.05, dividend=0.0, model="gbm", vol=0.2)


def make_frame(rows):
    """A validated frame; each row is a dict with an ``id`` and fields overriding BASE."""
    return validate(pd.DataFrame([{**BASE, **row} for row in rows]), "test")


def closed_form(row):
    """Price, delta and vega of a european or digital row: Black–Scholes or semi-analytic Heston."""
    if row["model"] == "gbm":
        return reference(row)
    args = dict(spot=row["spot"], strike=row["strike"], maturity=row["maturity"],
                rate=row["rate"], v0=row["v0"], kappa=row["kappa"], theta=row["theta"],
                xi=row["xi"], rho=row["rho"], dividend=row["dividend"])
    if row["instrument"] == "digital":
        return heston_digital(row["option_type"], **args, payout=row["payout"])
    return heston_greeks(row["option_type"], **args)
