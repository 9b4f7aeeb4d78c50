"""Validation of instrument tables and reading of instrument files.

Every bad input must raise :class:`InputError` with a one-line message naming the
file, the row (and, for CSV, the physical line), the column and the rule.
"""

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greeks.instruments import MAX_FIXINGS, REQUIRED, InputError, validate
from greeks.io import read_instruments

HEADER = "id,instrument,option_type,strike,maturity,spot,rate,model,vol"
ROW = "european,call,100,1,100,0.05,gbm,0.2"

# A valid book with every instrument and barrier type; blanks are NaN.
BOOK = pd.DataFrame([
    dict(id="E1", instrument="european", option_type="call", strike=100.0),
    dict(id="E2", instrument="european", option_type="put", strike=95.0, quantity=-3.0),
    dict(id="D1", instrument="digital", option_type="call", strike=105.0, payout=10.0),
    dict(id="D2", instrument="digital", option_type="put", strike=90.0),
    dict(id="A1", instrument="asian", option_type="call", strike=100.0, fixings=12.0),
    dict(id="A2", instrument="asian", option_type="put", strike=100.0),
    dict(id="B1", instrument="barrier", option_type="call", strike=100.0, barrier=130.0,
         barrier_type="up-and-out", fixings=52.0),
    dict(id="B2", instrument="barrier", option_type="put", strike=100.0, barrier=80.0,
         barrier_type="down-and-out"),
    dict(id="B3", instrument="barrier", option_type="call", strike=100.0, barrier=120.0,
         barrier_type="up-and-in"),
    dict(id="B4", instrument="barrier", option_type="put", strike=100.0, barrier=85.0,
         barrier_type="down-and-in", fixings=12.0),
]).assign(maturity=1.0, spot=100.0, rate=0.05, dividend=0.01, model="gbm", vol=0.25,
          underlying="XYZ", book="exotics")
BOOK = BOOK[["id", "book", "underlying", "instrument", "option_type", "strike", "maturity",
             "spot", "rate", "dividend", "model", "vol", "quantity", "payout", "barrier",
             "barrier_type", "fixings"]]
NUMERIC = ("strike", "maturity", "spot", "rate", "dividend", "vol", "quantity", "payout",
           "barrier", "fixings")


def write(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def error_of(call) -> InputError:
    with pytest.raises(InputError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    return caught.value


def check_error(error: InputError, source, row=None, line=None, column=None, rule=""):
    """The message names the file, row, line and column, and the rule."""
    message = str(error)
    assert message.startswith(str(source) + ": ")
    assert (error.row, error.line, error.column) == (row, line, column)
    if row is not None:
        assert f"row {row}" + (f" (line {line})" if line is not None else "") in message
    elif line is not None:
        assert f"line {line}" in message
    if column is not None:
        assert f"column '{column}'" in message
    assert rule in message


# --- defaults, case, extra columns ---------------------------------------------------------

def test_defaults_are_filled(tmp_path):
    path = write(tmp_path, "book.csv", csv_text(
        "A,european,call,100,1,100,0.05,gbm,0.2,,",
        "B,asian,put,100,1,100,0.05,gbm,0.2,,",
        "C,asian,put,100,0.5,100,0.05,gbm,0.2,,",
        "D,barrier,call,100,0.001,100,0.05,gbm,0.2,120,up-and-out",
        "E,digital,call,100,1,100,0.05,gbm,0.2,,",
        header=HEADER + ",barrier,barrier_type"))
    frame = read_instruments(path)
    assert frame["dividend"].tolist() == [0.0] * 5
    assert frame["quantity"].tolist() == [1.0] * 5
    assert frame["payout"].tolist() == [1.0] * 5
    # daily: round(252 T), at least 1; european and digital read T only
    assert frame["fixings"].tolist() == [1, 252, 126, 1, 1]
    assert frame["fixings"].dtype == np.int64
    assert frame["underlying"].tolist() == [""] * 5


def test_given_values_are_kept():
    frame = validate(BOOK, "book")
    assert frame["quantity"].iloc[1] == -3.0
    assert frame["payout"].iloc[2] == 10.0
    assert frame["fixings"].tolist() == [1, 1, 1, 1, 12, 252, 52, 252, 252, 12]
    assert frame["dividend"].tolist() == [0.01] * len(BOOK)
    assert frame["id"].tolist() == BOOK["id"].tolist()


def test_whole_number_fixings_written_as_floats_are_accepted():
    frame = validate(BOOK.assign(fixings=BOOK["fixings"].map(
        lambda v: "12.0" if v == 12 else v)), "book")
    assert frame["fixings"].iloc[4] == 12


def test_choices_are_case_insensitive(tmp_path):
    path = write(tmp_path, "book.csv", csv_text(
        "A,European,CALL,100,1,100,0.05,GBM,0.2,,",
        "B, Barrier , Put ,100,1,100,0.05, gbm ,0.2,80,Down-And-In",
        header=HEADER + ",barrier,barrier_type"))
    frame = read_instruments(path)
    assert frame["instrument"].tolist() == ["european", "barrier"]
    assert frame["option_type"].tolist() == ["call", "put"]
    assert frame["model"].tolist() == ["gbm", "gbm"]
    assert frame["barrier_type"].tolist() == ["", "down-and-in"]


def test_extra_columns_are_carried_in_input_order(tmp_path):
    path = write(tmp_path, "book.csv", csv_text("A," + ROW + ",flow,007",
                                                "B," + ROW + ",exotics,",
                                                header=HEADER + ",book,trader"))
    frame = read_instruments(path)
    assert list(frame.columns[-2:]) == ["book", "trader"]
    assert frame["book"].tolist() == ["flow", "exotics"]
    assert frame["trader"].iloc[0] == "007"  # CSV cells stay text


def test_mixed_type_extra_column_becomes_text():
    frame = validate(BOOK.assign(tag=[1, "x"] + [None] * (len(BOOK) - 2)), "book")
    assert frame["tag"].iloc[0] == "1" and frame["tag"].iloc[1] == "x"


def test_column_order_of_validated_table():
    frame = validate(BOOK, "book")
    assert list(frame.columns) == [
        "id", "instrument", "option_type", "strike", "maturity", "spot", "rate", "dividend",
        "model", "vol", "quantity", "payout", "barrier", "barrier_type", "fixings",
        "underlying", "book"]


def test_csv_blank_lines_are_skipped_and_lines_counted(tmp_path):
    path = write(tmp_path, "book.csv", "\n" + HEADER + "\n\nA," + ROW + "\n,,,\n\nB,"
                 + ROW.replace("100,1,", "-1,1,", 1) + "\n")
    check_error(error_of(lambda: read_instruments(path)), path, row=2, line=7,
                column="strike", rule="must be > 0, got -1")


def test_csv_quoted_newline_counts_as_a_line(tmp_path):
    path = write(tmp_path, "book.csv", csv_text('"A\nB",' + ROW, "C,european,call,x,1,100,0.05,"
                                                "gbm,0.2"))
    check_error(error_of(lambda: read_instruments(path)), path, row=2, line=4, column="strike",
                rule="must be a number, got 'x'")


def test_csv_short_rows_and_empty_trailing_fields(tmp_path):
    path = write(tmp_path, "book.csv", csv_text("A," + ROW + ",,", "B," + ROW,
                                                header=HEADER + ",quantity"))
    frame = read_instruments(path)
    assert frame["quantity"].tolist() == [1.0, 1.0]


def test_csv_byte_order_mark_is_ignored(tmp_path):
    path = write(tmp_path, "book.csv", b"\xef\xbb\xbf" + csv_text("A," + ROW).encode())
    assert read_instruments(path)["id"].tolist() == ["A"]


def test_same_table_from_every_format(tmp_path):
    csv_path = tmp_path / "book.csv"
    BOOK.to_csv(csv_path, index=False)
    BOOK.to_parquet(tmp_path / "book.parquet", index=False)
    records = [{k: v for k, v in r.items() if not pd.isna(v)} for r in BOOK.to_dict("records")]
    write(tmp_path, "book.json", json.dumps(records))
    expected = validate(BOOK, "book")
    for name in ("book.csv", "book.parquet", "book.json"):
        frame = read_instruments(tmp_path / name)
        pd.testing.assert_frame_equal(frame.drop(columns="book"),
                                      expected.drop(columns="book"), check_dtype=False)
        assert frame["book"].tolist() == ["exotics"] * len(BOOK)


def test_example_files_are_valid():
    folder = Path(__file__).resolve().parents[1] / "instruments"
    for name in ("european.csv", "digital.csv", "asian.csv", "barrier.csv"):
        frame = read_instruments(folder / name)
        assert len(frame) >= 3 and (frame["model"] == "gbm").all()
    assert (read_instruments(folder / "heston.csv")["model"] == "heston").all()
    portfolio = read_instruments(folder / "portfolio.csv")
    for name in ("portfolio.json", "portfolio.parquet"):
        pd.testing.assert_frame_equal(read_instruments(folder / name), portfolio,
                                      check_dtype=False)
    assert set(portfolio["model"]) == {"gbm", "heston"}
    assert len(portfolio) >= 24 and portfolio["underlying"].nunique() >= 4
    assert set(portfolio["instrument"]) == {"european", "digital", "asian", "barrier"}
    assert set(portfolio["barrier_type"]) - {""} == {"up-and-out", "down-and-out", "up-and-in",
                                                     "down-and-in"}


def test_dataframe_nulls_of_every_kind_are_missing():
    frame = BOOK.copy()
    frame["quantity"] = pd.array([None, -3] + [pd.NA] * (len(BOOK) - 2), dtype="Int64")
    assert validate(frame, "book")["quantity"].tolist()[:3] == [1.0, -3.0, 1.0]
    frame = BOOK.astype({"strike": object})
    frame.loc[3, "strike"] = pd.NA
    check_error(error_of(lambda: validate(frame, "<DataFrame>")), "<DataFrame>", row=4,
                column="strike", rule="missing value")


# --- bad input: one case per rule ----------------------------------------------------------

def drop_column(name):
    header = HEADER.split(",")
    keep = [k for k, h in enumerate(header) if h != name]
    return (",".join(header[k] for k in keep),
            ",".join(("A," + ROW).split(",")[k] for k in keep))


@pytest.mark.parametrize("name", REQUIRED)
def test_missing_required_column(tmp_path, name):
    header, row = drop_column(name)
    path = write(tmp_path, "book.csv", csv_text(row, header=header))
    check_error(error_of(lambda: read_instruments(path)), path, column=name,
                rule="required column is missing")


def test_missing_column_names_a_differently_cased_one(tmp_path):
    path = write(tmp_path, "book.csv", csv_text("A," + ROW, header=HEADER.replace("spot", "Spot")))
    check_error(error_of(lambda: read_instruments(path)), path, column="spot",
                rule="found 'Spot'; column names are lower-case")


def test_semicolon_separated_file(tmp_path):
    path = write(tmp_path, "book.csv", csv_text(("A," + ROW).replace(",", ";"),
                                                header=HEADER.replace(",", ";")))
    check_error(error_of(lambda: read_instruments(path)), path, column="id",
                rule="separated by commas")


# (cells of row B, header, expected row-2 column, rule fragment)
ROW_CASES = {
    "unknown instrument": ("B,swaption,call,100,1,100,0.05,gbm,0.2", HEADER, "instrument",
                           "must be one of european, digital, asian, barrier, american, "
                           "bermudan; got 'swaption'"),
    "unknown option_type": ("B,european,straddle,100,1,100,0.05,gbm,0.2", HEADER, "option_type",
                            "must be one of call, put; got 'straddle'"),
    "unknown model": ("B,european,call,100,1,100,0.05,sabr,0.2", HEADER, "model",
                      "must be one of gbm, heston; got 'sabr'"),
    "unknown barrier_type": ("B,barrier,call,100,1,100,0.05,gbm,0.2,120,up-and-away",
                             HEADER + ",barrier,barrier_type", "barrier_type",
                             "must be one of up-and-out, down-and-out, up-and-in, down-and-in"),
    "non-numeric strike": ("B,european,call,abc,1,100,0.05,gbm,0.2", HEADER, "strike",
                           "must be a number, got 'abc'"),
    "number with a comma": ("B,european,call,\"1,000\",1,100,0.05,gbm,0.2", HEADER, "strike",
                            "must be a number, got '1,000'"),
    "nan strike": ("B,european,call,nan,1,100,0.05,gbm,0.2", HEADER, "strike",
                   "must be a finite number, got 'nan'"),
    "inf maturity": ("B,european,call,100,inf,100,0.05,gbm,0.2", HEADER, "maturity",
                     "must be a finite number, got 'inf'"),
    "-inf rate": ("B,european,call,100,1,100,-inf,gbm,0.2", HEADER, "rate",
                  "must be a finite number, got '-inf'"),
    "overflowing spot": ("B,european,call,100,1,1e400,0.05,gbm,0.2", HEADER, "spot",
                         "must be a finite number, got '1e400'"),
    "NaN dividend": ("B,european,call,100,1,100,0.05,gbm,0.2,NaN", HEADER + ",dividend",
                     "dividend", "must be a finite number, got 'NaN'"),
    "zero strike": ("B,european,call,0,1,100,0.05,gbm,0.2", HEADER, "strike", "must be > 0, got 0"),
    "negative strike": ("B,european,call,-5,1,100,0.05,gbm,0.2", HEADER, "strike",
                        "must be > 0, got -5"),
    "zero maturity": ("B,european,call,100,0,100,0.05,gbm,0.2", HEADER, "maturity",
                      "must be > 0, got 0"),
    "negative maturity": ("B,european,call,100,-0.5,100,0.05,gbm,0.2", HEADER, "maturity",
                          "must be > 0, got -0.5"),
    "zero spot": ("B,european,call,100,1,0,0.05,gbm,0.2", HEADER, "spot", "must be > 0, got 0"),
    "negative spot": ("B,european,call,100,1,-100,0.05,gbm,0.2", HEADER, "spot",
                      "must be > 0, got -100"),
    "zero vol": ("B,european,call,100,1,100,0.05,gbm,0", HEADER, "vol", "must be > 0, got 0"),
    "negative vol": ("B,european,call,100,1,100,0.05,gbm,-0.2", HEADER, "vol",
                     "must be > 0, got -0.2"),
    "zero barrier": ("B,barrier,call,100,1,100,0.05,gbm,0.2,0,up-and-out",
                     HEADER + ",barrier,barrier_type", "barrier", "must be > 0, got 0"),
    "negative barrier": ("B,barrier,put,100,1,100,0.05,gbm,0.2,-80,down-and-in",
                         HEADER + ",barrier,barrier_type", "barrier", "must be > 0, got -80"),
    "zero payout": ("B,digital,call,100,1,100,0.05,gbm,0.2,0", HEADER + ",payout", "payout",
                    "must be > 0, got 0"),
    "negative payout": ("B,digital,put,100,1,100,0.05,gbm,0.2,-10", HEADER + ",payout", "payout",
                        "must be > 0, got -10"),
    "fractional fixings": ("B,asian,call,100,1,100,0.05,gbm,0.2,2.5", HEADER + ",fixings",
                           "fixings", f"must be a whole number from 1 to {MAX_FIXINGS}, got 2.5"),
    "zero fixings": ("B,barrier,call,100,1,100,0.05,gbm,0.2,120,up-and-out,0",
                     HEADER + ",barrier,barrier_type,fixings", "fixings",
                     "must be a whole number from 1 to"),
    "too many fixings": ("B,asian,call,100,1,100,0.05,gbm,0.2,1e9", HEADER + ",fixings",
                         "fixings", "must be a whole number from 1 to 10000, got 1e+09"),
    "too many default fixings": ("B,asian,call,100,50,100,0.05,gbm,0.2,", HEADER + ",fixings",
                                 "fixings", "the default, daily fixings for maturity 50 would "
                                 "exceed 10000; give fixings explicitly"),
    "non-numeric fixings on a european row": ("B,european,call,100,1,100,0.05,gbm,0.2,daily",
                                              HEADER + ",fixings", "fixings",
                                              "must be a number, got 'daily'"),
    "duplicate id": ("A,european,put,100,1,100,0.05,gbm,0.2", HEADER, "id",
                     "duplicate id 'A' (first used in row 1)"),
    "empty id": (" ,european,put,100,1,100,0.05,gbm,0.2", HEADER, "id", "missing value"),
    "blank strike": ("B,european,call,,1,100,0.05,gbm,0.2", HEADER, "strike", "missing value"),
    "heston row without its columns": ("B,european,call,100,1,100,0.05,Heston,", HEADER, "v0",
                                       "required column is missing (model heston)"),
    "heston rho = 1": ("B,european,call,100,1,100,0.05,heston,,0.04,1.5,0.04,0.5,1",
                       HEADER + ",v0,kappa,theta,xi,rho", "rho",
                       "must lie strictly between -1 and 1"),
    "heston rho = -1": ("B,european,call,100,1,100,0.05,heston,,0.04,1.5,0.04,0.5,-1",
                        HEADER + ",v0,kappa,theta,xi,rho", "rho",
                        "must lie strictly between -1 and 1"),
    "heston negative v0": ("B,european,call,100,1,100,0.05,heston,,-0.01,1.5,0.04,0.5,-0.7",
                           HEADER + ",v0,kappa,theta,xi,rho", "v0", "must be >= 0"),
    "heston zero xi": ("B,european,call,100,1,100,0.05,heston,,0.04,1.5,0.04,0,-0.7",
                       HEADER + ",v0,kappa,theta,xi,rho", "xi", "must be > 0"),
    "heston blank kappa": ("B,european,call,100,1,100,0.05,heston,,0.04,,0.04,0.5,-0.7",
                           HEADER + ",v0,kappa,theta,xi,rho", "kappa", "missing value"),
    "vol blank on a gbm row": ("B,european,call,100,1,100,0.05,gbm,", HEADER, "vol",
                               "missing value"),
    "barrier blank on a barrier row": ("B,barrier,call,100,1,100,0.05,gbm,0.2,,up-and-out",
                                       HEADER + ",barrier,barrier_type", "barrier",
                                       "missing value"),
    "barrier_type blank on a barrier row": ("B,barrier,call,100,1,100,0.05,gbm,0.2,120,",
                                            HEADER + ",barrier,barrier_type", "barrier_type",
                                            "missing value"),
    "barrier column absent": ("B,barrier,call,100,1,100,0.05,gbm,0.2,up-and-out",
                              HEADER + ",barrier_type", "barrier",
                              "required column is missing (barrier instrument)"),
    "barrier_type column absent": ("B,barrier,call,100,1,100,0.05,gbm,0.2,120",
                                   HEADER + ",barrier", "barrier_type",
                                   "required column is missing (barrier instrument)"),
}


@pytest.mark.parametrize("case", ROW_CASES, ids=list(ROW_CASES))
def test_bad_cell(tmp_path, case):
    row, header, column, rule = ROW_CASES[case]
    width = len(header.split(","))
    first = ",".join(("A," + ROW).split(",") + [""] * (width - 9))
    path = write(tmp_path, "book.csv", csv_text(first, row, header=header))
    check_error(error_of(lambda: read_instruments(path)), path, row=2, line=3, column=column,
                rule=rule)


def test_vol_column_absent_for_gbm_rows(tmp_path):
    header, row = drop_column("vol")
    path = write(tmp_path, "book.csv", csv_text(row, header=header))
    check_error(error_of(lambda: read_instruments(path)), path, row=1, line=2, column="vol",
                rule="required column is missing (model gbm)")


def test_earliest_row_is_reported(tmp_path):
    path = write(tmp_path, "book.csv", csv_text("A," + ROW, "B,european,call,100,1,100,0.05,gbm,-1",
                                                "C,european,call,-1,1,100,0.05,gbm,0.2"))
    check_error(error_of(lambda: read_instruments(path)), path, row=2, line=3, column="vol",
                rule="must be > 0")


def test_ignored_cells_of_other_instruments_are_not_bounded():
    frame = BOOK.copy()
    frame.loc[0, "payout"] = -1.0   # european: payout ignored
    frame.loc[2, "barrier"] = -1.0  # digital: barrier ignored
    frame.loc[3, "fixings"] = 2.5   # digital: fixings ignored
    assert len(validate(frame, "book")) == len(BOOK)


@pytest.mark.parametrize("content, rule, line", [
    (b"", "file is empty", None),
    (b"  \n\n", "file is empty", None),
    (b",,,\n", "file is empty", None),
    ((HEADER + "\n").encode(), "no instrument rows", None),
    ((HEADER + "\n\n,,,\n").encode(), "no instrument rows", None),
    ((HEADER + "\nA," + ROW + "\nB,europ\xe9en,call\n").encode("latin-1"),
     "not UTF-8 text (byte", 3),
])
def test_empty_and_undecodable_files(tmp_path, content, rule, line):
    path = write(tmp_path, "book.csv", content)
    check_error(error_of(lambda: read_instruments(path)), path, line=line, rule=rule)


def test_row_with_too_many_fields(tmp_path):
    path = write(tmp_path, "book.csv", csv_text("A," + ROW, "B," + ROW + ",7"))
    check_error(error_of(lambda: read_instruments(path)), path, row=2, line=3,
                rule="has 10 fields, but the header has 9")


def test_unclosed_quote(tmp_path):
    path = write(tmp_path, "book.csv", csv_text("A," + ROW, 'B,"european,call', "C," + ROW))
    check_error(error_of(lambda: read_instruments(path)), path, row=2, line=3,
                rule="malformed CSV (unexpected end of data)")


def test_value_under_a_blank_header(tmp_path):
    path = write(tmp_path, "book.csv", csv_text("A," + ROW + ",", "B," + ROW + ",x",
                                                header=HEADER + ","))
    check_error(error_of(lambda: read_instruments(path)), path, row=2, line=3,
                rule="field 10 has a value but no column name in the header (line 1)")


@pytest.mark.parametrize("header, column, rule", [
    (HEADER + ",strike", "strike", "appears more than once"),
    (HEADER + ", vol ", "vol", "appears more than once"),
    (HEADER + ",price", "price", "is the name of a result column"),
    (HEADER + ",delta_se", "delta_se", "is the name of a result column"),
])
def test_bad_header(tmp_path, header, column, rule):
    path = write(tmp_path, "book.csv", csv_text("A," + ROW + ",1", header=header))
    check_error(error_of(lambda: read_instruments(path)), path, column=column, rule=rule)


@pytest.mark.parametrize("text, rule", [
    ('{"id": "A"}', "JSON must be a list of records (objects)"),
    ("[1, 2]", "JSON must be a list of records (objects)"),
    ('[{"id": "A"}, "B"]', "JSON must be a list of records (objects)"),
    ('[{"id": "A",]', "not valid JSON"),
    ("[]", "no instrument rows"),
])
def test_bad_json(tmp_path, text, rule):
    path = write(tmp_path, "book.json", text)
    check_error(error_of(lambda: read_instruments(path)), path, rule=rule)


def test_json_null_is_missing_and_nan_is_an_error(tmp_path):
    record = dict(id="A", instrument="european", option_type="call", strike=100, maturity=1,
                  spot=100, rate=0.05, model="gbm", vol="0.2", quantity=None)
    path = write(tmp_path, "book.json", json.dumps([record]))
    assert read_instruments(path)["quantity"].tolist() == [1.0]
    path = write(tmp_path, "book.json", json.dumps([record, {**record, "id": "B",
                                                             "quantity": math.nan}]))
    check_error(error_of(lambda: read_instruments(path)), path, row=2, column="quantity",
                rule="must be a finite number, got 'nan'")


def test_bad_parquet(tmp_path):
    path = write(tmp_path, "book.parquet", b"PAR1 not really")
    check_error(error_of(lambda: read_instruments(path)), path, rule="cannot parse Parquet file")


def test_parquet_row_numbers(tmp_path):
    BOOK.assign(spot=[100.0] * 6 + [-1.0] * 4).to_parquet(tmp_path / "book.parquet")
    path = tmp_path / "book.parquet"
    check_error(error_of(lambda: read_instruments(path)), path, row=7, column="spot",
                rule="must be > 0, got -1")


@pytest.mark.parametrize("name", ["book.xlsx", "book.txt", "book"])
def test_unsupported_suffix(tmp_path, name):
    path = write(tmp_path, name, csv_text("A," + ROW))
    check_error(error_of(lambda: read_instruments(path)), path,
                rule="; use .csv, .parquet or .json")


def test_missing_file(tmp_path):
    path = tmp_path / "absent.csv"
    check_error(error_of(lambda: read_instruments(path)), path, rule="cannot read file")


def test_dataframe_without_rows_or_columns():
    check_error(error_of(lambda: validate(pd.DataFrame(), "x")), "x", rule="no instrument rows")
    check_error(error_of(lambda: validate(BOOK.iloc[:0], "x")), "x", rule="no instrument rows")


# --- property: random corruptions of a valid table -----------------------------------------

def _finite_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


NOT_A_NUMBER = st.one_of(
    st.text(min_size=1, max_size=12).filter(lambda s: s.strip() and not _finite_number(s)),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "+Infinity", "1e999", "1,5", "5%", "--1"]),
)
ALL_ROWS = st.integers(0, len(BOOK) - 1)
EVERY_ROW = range(len(BOOK))
POSITIVE_ROWS = {  # rows on which the column must be > 0 (or >= 1 for fixings)
    "strike": EVERY_ROW, "maturity": EVERY_ROW, "spot": EVERY_ROW, "vol": EVERY_ROW,
    "payout": (2, 3), "barrier": (6, 7, 8, 9), "fixings": (4, 5, 6, 7, 8, 9),
}
REQUIRED_ROWS = {  # rows on which the column must not be empty
    **{name: EVERY_ROW for name in ("id", "instrument", "option_type", "model", "strike",
                                    "maturity", "spot", "rate", "vol")},
    "barrier": (6, 7, 8, 9), "barrier_type": (6, 7, 8, 9),
}


@st.composite
def corruption(draw):
    """(kind, column, row, value): one way to break the book."""
    kind = draw(st.sampled_from(["drop", "text", "missing", "infinite", "non-positive",
                                 "duplicate"]))
    if kind == "drop":
        column = draw(st.sampled_from([*REQUIRED, "vol", "barrier", "barrier_type"]))
        return kind, column, None, None
    if kind == "text":
        return kind, draw(st.sampled_from(NUMERIC)), draw(ALL_ROWS), draw(NOT_A_NUMBER)
    if kind == "missing":
        column = draw(st.sampled_from(sorted(REQUIRED_ROWS)))
        return kind, column, draw(st.sampled_from(REQUIRED_ROWS[column])), math.nan
    if kind == "infinite":
        value = draw(st.sampled_from([math.inf, -math.inf]))
        return kind, draw(st.sampled_from(NUMERIC)), draw(ALL_ROWS), value
    if kind == "non-positive":
        column = draw(st.sampled_from(sorted(POSITIVE_ROWS)))
        value = draw(st.floats(max_value=0.0, allow_nan=False, allow_infinity=False))
        return kind, column, draw(st.sampled_from(POSITIVE_ROWS[column])), value
    first, second = draw(st.lists(ALL_ROWS, min_size=2, max_size=2, unique=True))
    return kind, "id", second, first  # row `second` takes row `first`'s id


def corrupt(changes) -> pd.DataFrame:
    """The book with the changes made; ids are duplicated last, so the last one holds."""
    frame = BOOK.astype(object)
    for kind, column, row, value in changes:
        if kind not in ("drop", "duplicate"):
            frame.iloc[row, frame.columns.get_loc(column)] = value
    where = frame.columns.get_loc("id")
    for kind, _, row, source in changes:
        if kind == "duplicate":
            frame.iloc[row, where] = frame.iloc[source, where]
    drops = [column for kind, column, _, _ in changes if kind == "drop"]
    return frame.drop(columns=drops)


def assert_names_a_corrupted_column(error: InputError, changes):
    message = str(error)
    assert "\n" not in message and "\r" not in message
    columns = {column for _, column, _, _ in changes}
    assert error.column in columns
    assert f"column '{error.column}'" in message


PROPERTY = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.lists(corruption(), min_size=1, max_size=3))
def test_corrupted_table_raises_input_error(changes):
    frame = corrupt(changes)
    with pytest.raises(InputError) as caught:
        validate(frame, "book")
    assert_names_a_corrupted_column(caught.value, changes)


@PROPERTY
@given(st.lists(corruption(), min_size=1, max_size=3))
def test_corrupted_csv_file_raises_input_error(changes):
    frame = corrupt(changes)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "book.csv"
        frame.to_csv(path, index=False, lineterminator="\r\n")  # quotes cells with \r or \n
        with pytest.raises(InputError) as caught:
            read_instruments(path)
    error = caught.value
    assert_names_a_corrupted_column(error, changes)
    assert str(error).startswith(str(path))
    if error.row is not None:
        assert error.line is not None and error.line >= error.row + 1


@pytest.mark.parametrize("name, known", [("divident", "dividend"), ("qty", "quantity"),
                                         ("fixing", "fixings"), ("payoff", "payout"),
                                         ("Quantity", "quantity"), ("kapa", "kappa")])
def test_a_misspelled_column_is_refused_naming_the_known_one(name, known):
    raw = pd.DataFrame([dict(id="a", instrument="asian", option_type="call", strike=100,
                             maturity=1, spot=100, rate=0.05, model="gbm", vol=0.2)])
    raw[name] = 2
    with pytest.raises(InputError, match=rf"column '{name}': unknown column, close to the "
                                         rf"known column '{known}'.*--extra-columns {name}"):
        validate(raw, "book.csv")
    frame = validate(raw, "book.csv", extra_columns=(name,))
    assert list(frame[name]) == [2]


@pytest.mark.parametrize("name", ["book", "desk", "trader", "notes", "counterparty", "sector",
                                  "currency", "id2", "strategy", "region"])
def test_other_extra_columns_are_carried(name):
    raw = pd.DataFrame([dict(id="a", instrument="european", option_type="call", strike=100,
                             maturity=1, spot=100, rate=0.05, model="gbm", vol=0.2, **{name: "x"})])
    assert list(validate(raw, "book.csv")[name]) == ["x"]


def test_a_maturity_of_thirty_or_more_warns_that_it_is_in_years():
    from greeks.instruments import InputWarning
    raw = pd.DataFrame([dict(id=name, instrument="european", option_type="call", strike=100,
                             maturity=t, spot=100, rate=0.05, model="gbm", vol=0.2)
                        for name, t in [("a", 29.9), ("b", 30), ("c", 45)]])
    with pytest.warns(InputWarning, match=r"row 2: maturity 30 is in years, not days "
                                          r"\(1 more row of 30 years or more\)"):
        validate(raw, "book.csv")
