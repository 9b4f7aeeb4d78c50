"""The asset-or-nothing digital through the payoff table: closed forms, engine, validation."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import make_frame

from greeks import api, payoff_table
from greeks.instruments import InputError
from greeks.models.gbm.analytic import (
    black_scholes,
    black_scholes_asset_digital,
    black_scholes_digital,
)
from greeks.models.heston.analytic import heston_asset_digital
from greeks.reference import analytic_prices

EXAMPLE = Path(__file__).resolve().parent.parent / "instruments" / "digital.csv"
GBM = dict(spot=100.0, strike=105.0, maturity=0.75, rate=0.03, vol=0.25, dividend=0.01)
HESTON = dict(spot=100.0, strike=105.0, maturity=1.0, rate=0.02, v0=0.04, kappa=1.5,
              theta=0.05, xi=0.5, rho=-0.6, dividend=0.01)


def _central(price, args, name, h):
    up, down = dict(args), dict(args)
    up[name] += h
    down[name] -= h
    return (price(**up) - price(**down)) / (2 * h)


@pytest.mark.parametrize("option_type", ["call", "put"])
def test_black_scholes_asset_digital_greeks_are_its_price_derivatives(option_type):
    def price(**args):
        return black_scholes_asset_digital(option_type, **args).price
    value = black_scholes_asset_digital(option_type, **GBM)
    assert value.delta == pytest.approx(_central(price, GBM, "spot", 1e-4), rel=1e-6)
    assert value.vega == pytest.approx(_central(price, GBM, "vol", 1e-5), rel=1e-6)


def test_black_scholes_asset_call_is_a_call_plus_strike_cash_digitals():
    asset = black_scholes_asset_digital("call", **GBM)
    call, cash = black_scholes("call", **GBM), black_scholes_digital("call", **GBM)
    for k in range(3):
        assert asset[k] == pytest.approx(call[k] + GBM["strike"] * cash[k], rel=1e-12)
    put = black_scholes_asset_digital("put", **GBM)
    carry = math.exp(-GBM["dividend"] * GBM["maturity"])
    assert put.price + asset.price == pytest.approx(GBM["spot"] * carry, rel=1e-12)


@pytest.mark.parametrize("option_type", ["call", "put"])
def test_heston_asset_digital_greeks_are_its_price_derivatives(option_type):
    def price(**args):
        return heston_asset_digital(option_type, **args).price
    value = heston_asset_digital(option_type, **HESTON)
    sigma0 = math.sqrt(HESTON["v0"])
    h = 1e-4
    up = price(**{**HESTON, "v0": (sigma0 + h) ** 2})
    down = price(**{**HESTON, "v0": (sigma0 - h) ** 2})
    assert value.delta == pytest.approx(_central(price, HESTON, "spot", 1e-3), rel=1e-5)
    assert value.vega == pytest.approx((up - down) / (2 * h), rel=1e-5)


def _within(frame, values, ses=4.0):
    result = api.price_portfolio(frame, paths=100_000, seed=11, scheme="qe")
    for row, expected in zip(result.itertuples(), values):
        for k, name in enumerate(("price", "delta", "vega")):
            error = abs(getattr(row, name) - expected[k])
            assert error < ses * getattr(row, f"{name}_se"), (row.id, name, error)
    return result


def test_gbm_asset_digitals_agree_with_black_scholes():
    rows = [dict(id=o, instrument="digital", digital_type="asset", option_type=o,
                 **GBM) for o in ("call", "put")]
    values = [black_scholes_asset_digital(o, **GBM) for o in ("call", "put")]
    _within(make_frame(rows), values)


def test_heston_asset_digital_agrees_with_the_fourier_value():
    rows = [dict(id=o, instrument="digital", digital_type="asset", option_type=o, model="heston",
                 **HESTON) for o in ("call", "put")]
    values = [heston_asset_digital(o, **HESTON) for o in ("call", "put")]
    result = _within(make_frame(rows), values)
    assert set(result["method"]) == {"lr+controls+antithetic"}  # not conditioned: the table


def test_asset_digitals_have_closed_forms_and_cash_is_the_default():
    frame = make_frame([dict(id="a", instrument="digital", digital_type="Asset", payout=7.0,
                             **GBM),
                        dict(id="c", instrument="digital", payout=2.0, **GBM)])
    assert list(frame["digital_type"]) == ["asset", "cash"]
    table = analytic_prices(frame)
    assert table["price"].iloc[0] == black_scholes_asset_digital("call", **GBM).price
    assert table["price"].iloc[1] == 2.0 * black_scholes_digital("call", **GBM).price
    assert payoff_table.frame_codes(frame).tolist() == [payoff_table.ASSET_DIGITAL,
                                                        payoff_table.DIGITAL]


def test_unknown_digital_type_is_a_row_numbered_error():
    rows = [dict(id="a", instrument="digital", **GBM),
            dict(id="b", instrument="digital", digital_type="stock", **GBM)]
    with pytest.raises(InputError, match=r"row 2: column 'digital_type': must be one of "
                                         r"cash, asset; got 'stock'"):
        make_frame(rows)


def test_the_example_file_prices_an_asset_digital():
    frame = pd.read_csv(EXAMPLE)
    assert (frame["digital_type"] == "asset").sum() == 1
    table = analytic_prices(EXAMPLE)
    assert np.isfinite(table["price"]).all()
