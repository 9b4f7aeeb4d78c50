"""Closed-form references: ``greeks.analytic_prices`` and ``greeks analytic``."""

import cmath
import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.stats import norm

import greeks
from greeks import reference
from greeks.cli import main

VALUES = ["price", "delta", "vega"]
BOOK = """\
id,book,instrument,option_type,strike,maturity,spot,rate,dividend,model,vol,v0,kappa,theta,xi,rho,quantity,payout,barrier,barrier_type,fixings
G-EU-C,flow,european,call,100,1,100,0.05,0.01,gbm,0.2,,,,,,10,,,,
G-DG-P,exotics,digital,put,95,0.5,100,0.05,0.01,gbm,0.25,,,,,,-4,10,,,
H-EU-P,flow,european,put,110,2,100,0.03,0.02,heston,,0.04,1.5,0.05,0.6,-0.7,3,,,,
H-DG-C,exotics,digital,call,105,1,100,0.03,0.02,heston,,0.09,2,0.04,0.4,0.3,20,5,,,
H-V0,exotics,digital,put,100,1,100,0.03,0.02,heston,,0,2,0.04,0.4,-0.5,7,2,,,
G-AS-P,exotics,asian,put,100,1,100,0.05,0.01,gbm,0.2,,,,,,5,,,,12
H-BA-UO,exotics,barrier,call,100,1,100,0.03,0.02,heston,,0.04,1.5,0.05,0.6,-0.7,-2,,130,up-and-out,52
"""
IDS = ["G-EU-C", "G-DG-P", "H-EU-P", "H-DG-C", "H-V0", "G-AS-P", "H-BA-UO"]
QUANTITY = [10, -4, 3, 20, 7, 5, -2]
HESTON = dict(rate=0.03, dividend=0.02, spot=100)


# --- references written here, independent of greeks' own formulas ------------------------

def black_scholes(option_type, spot, strike, maturity, rate, vol, dividend, payout=None):
    """Price, delta, vega of a European (payout None) or cash-or-nothing digital paying
    ``payout``: the textbook formulas, with scipy's normal."""
    omega = 1.0 if option_type == "call" else -1.0
    root = vol * math.sqrt(maturity)
    d1 = (math.log(spot / strike) + (rate - dividend + 0.5 * vol * vol) * maturity) / root
    d2 = d1 - root
    carry, discount = math.exp(-dividend * maturity), math.exp(-rate * maturity)
    if payout is None:
        return (omega * (spot * carry * norm.cdf(omega * d1)
                         - strike * discount * norm.cdf(omega * d2)),
                omega * carry * norm.cdf(omega * d1),
                spot * carry * norm.pdf(d1) * math.sqrt(maturity))
    return (payout * discount * norm.cdf(omega * d2),
            omega * payout * discount * norm.pdf(d2) / (spot * root),
            -omega * payout * discount * norm.pdf(d2) * d1 / vol)


def heston_log_cf(u, maturity, v0, kappa, theta, xi, rho):
    """log E[exp(iu log(S_T/F))] under Heston: the "little trap" form of Albrecher et al.
    (2007), with g = (b − d)/(b + d), b = κ − ρξiu."""
    b = kappa - rho * xi * 1j * u
    d = cmath.sqrt(b * b + xi * xi * (1j * u + u * u))
    g = (b - d) / (b + d)
    decay = cmath.exp(-d * maturity)
    c = kappa * theta / xi ** 2 * ((b - d) * maturity
                                   - 2 * cmath.log((1 - g * decay) / (1 - g)))
    return c + v0 * (b - d) / xi ** 2 * (1 - decay) / (1 - g * decay)


def heston_probabilities(spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho):
    """Heston's P1 and P2 (P2 = Prob(S_T > K)) by Gil-Pelaez integrals, scipy quadrature."""
    k = math.log(strike / (spot * math.exp((rate - dividend) * maturity)))
    args = (maturity, v0, kappa, theta, xi, rho)

    def integrand(u, shift):
        value = cmath.exp(-1j * u * k + heston_log_cf(u - shift, *args)) / (1j * u)
        return value.real

    quad = dict(limit=500, epsabs=1e-13, epsrel=1e-12)
    return [0.5 + integrate.quad(integrand, 1e-12, 400.0, args=(shift,), **quad)[0] / math.pi
            for shift in (1j, 0.0)]


def heston_price(option_type, spot, strike, maturity, rate, dividend, v0, kappa, theta, xi,
                 rho, payout=None):
    p1, p2 = heston_probabilities(spot, strike, maturity, rate, dividend, v0, kappa, theta,
                                  xi, rho)
    carry, discount = spot * math.exp(-dividend * maturity), strike * math.exp(-rate * maturity)
    if payout is not None:
        cash = payout * math.exp(-rate * maturity)
        return cash * (p2 if option_type == "call" else 1 - p2)
    call = carry * p1 - discount * p2
    return call if option_type == "call" else call - carry + discount


def heston_values(option_type, strike, maturity, v0, kappa, theta, xi, rho, payout=None,
                  spot=100.0, rate=0.03, dividend=0.02):
    """Price, delta and σ0-vega (dV/dσ0, σ0 = sqrt(v0); 0 at v0 = 0) of the quadrature
    price, the Greeks by central differences."""
    def price(s=spot, sigma=math.sqrt(v0)):
        return heston_price(option_type, s, strike, maturity, rate, dividend, sigma * sigma,
                            kappa, theta, xi, rho, payout)

    h, hv, sigma = 1e-2, 1e-4, math.sqrt(v0)
    delta = (price(s=spot + h) - price(s=spot - h)) / (2 * h)
    vega = 0.0 if v0 == 0 else (price(sigma=sigma + hv) - price(sigma=sigma - hv)) / (2 * hv)
    return price(), delta, vega


EXPECTED = [
    black_scholes("call", 100, 100, 1, 0.05, 0.2, 0.01),
    black_scholes("put", 100, 95, 0.5, 0.05, 0.25, 0.01, payout=10),
    heston_values("put", strike=110, maturity=2, v0=0.04, kappa=1.5, theta=0.05, xi=0.6,
                  rho=-0.7),
    heston_values("call", strike=105, maturity=1, v0=0.09, kappa=2, theta=0.04, xi=0.4, rho=0.3,
                  payout=5),
    heston_values("put", strike=100, maturity=1, v0=0.0, kappa=2, theta=0.04, xi=0.4, rho=-0.5,
                  payout=2),
]
VALUED = len(EXPECTED)  # the first rows have closed forms; the asian and the barrier do not
# the quadrature's prices to ~1e-10; its Greeks by central differences to ~1e-7 relative
TOLERANCE = dict(rtol=1e-6, atol=1e-8)


def test_independent_references_reproduce_published_values():
    """The references above: Hull's textbook call, and every published Heston price."""
    assert black_scholes("call", 100, 100, 1, 0.05, 0.2, 0.0)[0] == pytest.approx(
        10.450583572185565, rel=1e-12)
    cases = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "heston_reference.csv")
    for case in cases.itertuples():
        price = heston_price(case.option_type, case.spot, case.strike, case.maturity, case.rate,
                             case.dividend, case.v0, case.kappa, case.theta, case.xi, case.rho)
        assert price == pytest.approx(case.reference_price, abs=1e-7), case.case


@pytest.fixture
def book(tmp_path) -> Path:
    path = tmp_path / "book.csv"
    path.write_text(BOOK)
    return path


def run(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_values_are_the_closed_forms(book):
    results = greeks.analytic_prices(book)
    assert results["id"].tolist() == IDS
    np.testing.assert_allclose(results[VALUES].to_numpy()[:VALUED], np.array(EXPECTED),
                               **TOLERANCE)
    assert results["note"].iloc[:VALUED].isna().all()


def test_heston_vega_is_per_sigma0_and_zero_at_v0_zero(book):
    """dV/dσ0, not dV/dv0 (which is dV/dσ0 / (2σ0), 2.5× larger at σ0 = 0.2)."""
    results = greeks.analytic_prices(book).set_index("id")
    v0, h = 0.04, 1e-4
    bumped = [heston_price("put", 100, 110, 2, 0.03, 0.02, (math.sqrt(v0) + s) ** 2, 1.5, 0.05,
                           0.6, -0.7) for s in (h, -h)]
    assert results.loc["H-EU-P", "vega"] == pytest.approx((bumped[0] - bumped[1]) / (2 * h),
                                                          rel=1e-6)
    assert results.loc["H-V0", "vega"] == 0 and results.loc["H-V0", "price"] > 0


def test_no_closed_form_rows_are_nan_with_a_note(book):
    results = greeks.analytic_prices(book)
    rest = results.iloc[VALUED:]
    assert rest["instrument"].tolist() == ["asian", "barrier"]
    assert rest[VALUES].isna().all().all()
    assert rest["note"].tolist() == ["no closed form"] * 2


def test_layout_and_total(book):
    results = greeks.analytic_prices(book)
    assert list(results.columns[:5]) == ["id", *VALUES, "note"]
    assert not [c for c in results.columns if c.endswith("_se")]
    assert {"book", "model", "v0", "quantity", "fixings"} <= set(results.columns)
    assert results["book"].tolist()[:2] == ["flow", "exotics"]
    for k, name in enumerate(VALUES):
        expected = sum(q * greek[k] for q, greek in zip(QUANTITY, EXPECTED))
        assert results.attrs["total"][name] == pytest.approx(expected, rel=1e-6)
        rows = results[name].iloc[:VALUED].to_numpy()
        assert results.attrs["total"][name] == pytest.approx(rows @ QUANTITY[:VALUED],
                                                             rel=1e-14)


def test_dataframe_input_gives_the_same_table(book):
    raw = pd.read_csv(book, dtype=str, keep_default_na=False)
    from_frame, from_file = greeks.analytic_prices(raw), greeks.analytic_prices(book)
    pd.testing.assert_frame_equal(from_frame, from_file)
    assert from_frame.attrs == from_file.attrs


def test_a_failing_formula_gives_a_note_not_a_crash(tmp_path, monkeypatch):
    from greeks.models.gbm import reference as module

    path = tmp_path / "book.csv"
    lines = BOOK.splitlines()
    path.write_text("\n".join([lines[0], lines[1], lines[1].replace("G-EU-C", "X")]) + "\n")
    original = module.flat

    def failing(row, code):  # a formula that overflows on the second row
        if row["id"] == "X":
            raise OverflowError("math range error")
        return original(row, code)

    monkeypatch.setattr(module, "flat", failing)
    results = greeks.analytic_prices(path)
    assert results[VALUES].iloc[1].isna().all()
    assert results["note"].iloc[1].startswith("closed form failed")
    assert results.attrs["total"]["price"] == pytest.approx(10 * EXPECTED[0][0], rel=1e-12)


def test_cli_table(runner, book):
    result = run(runner, "analytic", book)
    assert result.exit_code == 0, result.output
    for name in IDS:
        assert name in result.stdout
    assert "no closed form" in result.stdout and "±" not in result.stdout
    assert f"{EXPECTED[0][0]:.5f}" == "9.82630"
    assert "9.82630" in result.stdout  # six significant digits
    lines = result.stdout.splitlines()
    assert any(line.strip("│┃| ").startswith("total") for line in lines)
    assert "over the 5 of 7 rows with values" in " ".join(result.stdout.split())  # caption


def test_help_mentions_the_command(runner):
    assert "greeks analytic" in run(runner, "--help").stdout
    result = run(runner, "analytic", "--help")
    assert result.exit_code == 0 and "Examples" in result.stdout


def test_cli_csv_and_json_match_the_api(runner, book):
    api = greeks.analytic_prices(book)
    table = pd.read_csv(io.StringIO(run(runner, "analytic", book, "--format", "csv").stdout))
    records = json.loads(run(runner, "analytic", book, "-f", "json").stdout)
    for printed in (table, pd.DataFrame(records)):
        assert list(printed.columns) == list(api.columns)
        np.testing.assert_array_equal(printed[VALUES].to_numpy(dtype=float), api[VALUES].to_numpy())
        assert printed["note"].isna().tolist() == api["note"].isna().tolist()
    assert records[0]["note"] is None and records[-1]["note"] == "no closed form"


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_output_file(runner, book, tmp_path, suffix):
    out = tmp_path / f"reference{suffix}"
    out.write_text("old")
    result = run(runner, "analytic", book, "--output", out)
    assert result.exit_code == 0
    assert "G-EU-C" in result.stdout  # the table is still shown
    written = {".csv": pd.read_csv, ".parquet": pd.read_parquet,
               ".json": lambda p: pd.DataFrame(json.loads(p.read_text()))}[suffix](out)
    api = greeks.analytic_prices(book)
    assert list(written.columns) == list(api.columns)
    assert written["id"].tolist() == IDS
    np.testing.assert_array_equal(written[VALUES].to_numpy(dtype=float), api[VALUES].to_numpy())
    assert written["note"].tolist()[VALUED:] == ["no closed form"] * 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


BAD = {
    "bad rho": (BOOK.replace("0.6,-0.7,3", "0.6,-1.5,3"), "row 3 (line 4): column 'rho'"),
    "missing xi": (BOOK.replace("0.04,1.5,0.05,0.6,-0.7,3", "0.04,1.5,0.05,,-0.7,3"),
                   "row 3 (line 4): column 'xi': missing value"),
    "non-numeric strike": (BOOK.replace("call,105,", "call,abc,"),
                           "row 4 (line 5): column 'strike': must be a number, got 'abc'"),
    "note column": (BOOK.replace("book,", "note,"),
                    "column 'note': is the name of a result column"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_exits_2_with_one_line(runner, tmp_path, case):
    content, fragment = BAD[case]
    path = tmp_path / "book.csv"
    path.write_text(content)
    out = tmp_path / "reference.csv"
    out.write_text("previous")
    result = runner.invoke(main, ["analytic", str(path), "--output", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: ") and fragment in lines[0]
    assert out.read_text() == "previous"


def test_bad_input_raises_input_error_in_python(book):
    with pytest.raises(greeks.InputError, match="<DataFrame>: row 4: column 'strike'"):
        greeks.analytic_prices(pd.read_csv(io.StringIO(BOOK.replace("call,105,", "call,-1,"))))


def test_unusable_output_is_refused_before_any_work(runner, book, tmp_path, monkeypatch):
    def refuse(*args):
        raise AssertionError("the references were computed")

    monkeypatch.setattr(reference, "analytic_prices", refuse)
    result = runner.invoke(main, ["analytic", str(book), "-o", str(tmp_path / "ref.xlsx")])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --output ") and "'.xlsx'" in result.stderr
