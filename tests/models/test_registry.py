"""The model registry (greeks.models): the schemas that validation and market positions
read, the reference modules, the adapters' declarations, and that nothing outside
greeks/models tests a model's name."""

import ast
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from helpers import BASE

from greeks import models
from greeks.instruments import COLUMNS, InputError, validate
from greeks.payoff_table import AMERICAN, ASIAN, BARRIER, EUROPEAN

PACKAGE = Path(models.__file__).resolve().parent.parent
# outside greeks/models: the market file's ``heston`` key, and the bucketed Greeks of each
# model's rows off a market
ALLOWED = {"market/file.py"}
HESTON = dict(model="heston", vol=float("nan"), v0=0.04, kappa=1.5, theta=0.04, xi=0.5,
              rho=-0.7)


def test_no_model_names_outside_the_models_package():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("models/") or relative in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in models.MODELS:
                found.append(f"{relative}:{node.lineno} {node.value!r}")
    assert not found, found


def test_parameter_columns_are_the_schemas_in_registry_order():
    assert models.parameter_columns() == ("vol", "v0", "kappa", "theta", "xi", "rho")
    assert COLUMNS[COLUMNS.index("model") + 1:COLUMNS.index("quantity")] == \
        models.parameter_columns()
    for name in models.MODELS:
        assert models.adapter(name).parameters == models.schema(name).PARAMETERS


def test_validation_follows_each_schema():
    def refusal(**fields):
        with pytest.raises(InputError) as error:
            validate(pd.DataFrame([{**BASE, "id": "a", **fields}]), "t")
        return str(error.value)

    assert "column 'vol': must be > 0" in refusal(vol=0.0)
    assert "column 'vol': must lie in [0, 10]" in refusal(vol=11.0)
    assert "column 'kappa': must be > 0" in refusal(**{**HESTON, "kappa": -1.0})
    assert "column 'v0': must be >= 0" in refusal(**{**HESTON, "v0": -0.01})
    assert "column 'rho': must lie strictly between -1 and 1" in refusal(**{**HESTON,
                                                                           "rho": 1.0})
    assert "column 'xi': must lie in [0, 100]" in refusal(**{**HESTON, "xi": 200.0})
    without = pd.DataFrame([{**BASE, "id": "a", **HESTON}]).drop(columns="theta")
    with pytest.raises(InputError, match="column 'theta': required column is missing "
                                         r"\(model heston\)"):
        validate(without, "t")
    # a Heston row needs no vol, a GBM row no Heston parameter
    frame = validate(pd.DataFrame([{**BASE, "id": "a", **HESTON},
                                   {**BASE, "id": "b", "v0": float("nan")}]), "t")
    assert frame["model"].tolist() == ["heston", "gbm"]


def test_market_model_and_parameters():
    heston = dict(v0=0.04, kappa=1.5, theta=0.05, xi=0.5, rho=-0.7)
    vol = SimpleNamespace(implied=lambda t: 0.2 + 0.01 * t)
    with_entry = SimpleNamespace(heston=heston, vol=vol)
    plain = SimpleNamespace(heston=None, vol=vol)
    bare = SimpleNamespace(heston=None, vol=None)
    assert models.market_model(with_entry) == "heston"
    assert models.market_model(plain) == models.market_model(bare) == "gbm"
    gbm, hest = models.schema("gbm"), models.schema("heston")
    assert gbm.market_parameters(plain, 2.0) == {"vol": pytest.approx(0.22)}
    assert gbm.market_parameters(plain, float("nan")) == {}
    assert gbm.market_parameters(bare, 2.0) is None
    assert hest.market_parameters(with_entry, float("nan")) == heston
    assert hest.market_parameters(plain, 1.0) is None
    rows = pd.DataFrame({"v0": [0.0, 0.04]})
    assert hest.zero_variance(rows).tolist() == [True, False]
    assert gbm.zero_variance(rows).tolist() == [False, False]


def test_reference_codes_and_adapter_declarations():
    gbm, heston = models.reference("gbm"), models.reference("heston")
    assert EUROPEAN in gbm.CODES and AMERICAN in gbm.CODES
    assert EUROPEAN in heston.CODES and AMERICAN in heston.CODES
    assert not {ASIAN, BARRIER} & (set(gbm.CODES) | set(heston.CODES))
    assert models.adapter("gbm").market_carried == ("vol",)
    assert models.adapter("heston").market_carried == ()
    assert models.adapter("gbm").revalued == ()
    assert set(models.adapter("heston").revalued) == {
        "rho", "theta", "vanna", "volga", "dkappa", "dtheta", "dxi", "drho"}
    no_symmetric_put = dict(option_type="call", spot=100.0, strike=100.0, maturity=1.0,
                            rate=0.05, dividend=0.0, v0=0.04, kappa=0.1, theta=0.04, xi=0.5,
                            rho=0.5)  # κ − ρξ < 0
    bound = models.adapter("heston").upper_bound(no_symmetric_put, np.ones(1), paths=64,
                                                 seed=0, american=False, richardson=False)
    assert np.isfinite([bound.upper, bound.se]).all()  # the call itself (test_duality.py)
    with pytest.raises(KeyError, match="unknown model"):
        models.schema("sabr")
