"""The ``greeks`` command line, run in-process with click's CliRunner."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, seed

import greeks
from greeks import engine
from greeks.cli import check_output, main

RESULTS = ["id", "price", "price_se", "delta", "delta_se", "vega", "vega_se"]
PATHS = ["--paths", "2000", "--seed", str(seed(11))]
BOOK = """\
id,book,instrument,option_type,strike,maturity,spot,rate,dividend,model,vol,quantity,payout,barrier,barrier_type,fixings
EU-C,flow,european,call,100,1,100,0.05,0.01,gbm,0.2,10,,,,
EU-P,flow,european,put,95,0.5,100,0.05,0.01,gbm,0.2,-5,,,,
DG-C,exotics,digital,call,105,1,100,0.05,0.01,gbm,0.2,100,10,,,
AS-P,exotics,asian,put,100,1,100,0.05,0.01,gbm,0.2,3,,,,12
BA-UO,exotics,barrier,call,100,1,100,0.05,0.01,gbm,0.2,-2,,130,up-and-out,52
"""
IDS = ["EU-C", "EU-P", "DG-C", "AS-P", "BA-UO"]
HEADER = BOOK.splitlines()[0]
GOOD = BOOK.splitlines()[1]


@pytest.fixture
def book(tmp_path) -> Path:
    path = tmp_path / "book.csv"
    path.write_text(BOOK)
    return path


@pytest.fixture
def no_simulation(monkeypatch):
    """Make any simulation fail the test: bad input must be refused before one starts."""

    def refuse(*args, **kwargs):
        raise AssertionError("a simulation was started")

    monkeypatch.setattr(engine, "simulate", refuse)


def run(runner, *args):
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def expected(book) -> pd.DataFrame:
    return greeks.price_portfolio(book, paths=2000, seed=seed(11))


def test_table(runner, book):
    result = run(runner, "price", book, *PATHS)
    assert result.exit_code == 0, result.output
    for name in IDS:
        assert name in result.stdout
    assert "±" in result.stdout
    lines = result.stdout.splitlines()
    assert any(line.strip("│┃| ").startswith("total") for line in lines)
    assert "2,000 paths" in result.stdout


def test_format_csv(runner, book):
    result = run(runner, "price", book, *PATHS, "--format", "csv")
    assert result.exit_code == 0
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns[:7]) == RESULTS
    assert {"instrument", "strike", "quantity", "fixings", "book"} <= set(table.columns)
    assert table["id"].tolist() == IDS
    api = expected(book)
    np.testing.assert_array_equal(table[RESULTS[1:]].to_numpy(), api[RESULTS[1:]].to_numpy())


def test_format_json(runner, book):
    result = run(runner, "price", book, *PATHS, "--format", "json")
    assert result.exit_code == 0
    records = json.loads(result.stdout)
    assert [r["id"] for r in records] == IDS
    assert list(records[0])[:7] == RESULTS
    assert records[0]["book"] == "flow" and records[4]["barrier_type"] == "up-and-out"
    api = expected(book)
    np.testing.assert_array_equal([[r[c] for c in RESULTS[1:]] for r in records],
                                  api[RESULTS[1:]].to_numpy())


def read_back(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.DataFrame(json.loads(path.read_text()))


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_output_file_matches_the_api(runner, book, tmp_path, suffix):
    out = tmp_path / f"risk{suffix}"
    result = run(runner, "price", book, *PATHS, "--output", out)
    assert result.exit_code == 0
    assert "EU-C" in result.stdout  # the rich table is still shown
    table, api = read_back(out), expected(book)
    assert list(table.columns) == list(api.columns)
    assert table["id"].tolist() == IDS
    np.testing.assert_array_equal(table[RESULTS[1:]].to_numpy(), api[RESULTS[1:]].to_numpy())
    assert table["book"].tolist() == api["book"].tolist()
    assert table["fixings"].tolist() == [1, 1, 1, 12, 52]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_total_row_on_request(runner, book, tmp_path, suffix):
    out = tmp_path / f"risk{suffix}"
    result = run(runner, "price", book, *PATHS, "--output", out, "--total", "--format", "csv")
    assert result.exit_code == 0
    printed, written = pd.read_csv(io.StringIO(result.stdout)), read_back(out)
    total = expected(book).attrs["total"]
    for table in (printed, written):
        assert table["id"].tolist() == IDS + ["TOTAL"]
        last = table.iloc[-1]
        assert [last[c] for c in RESULTS[1:]] == [total[c] for c in RESULTS[1:]]
    if suffix == ".json":  # whole numbers stay whole, the total's cell empty
        records = json.loads(out.read_text())
        assert [r["fixings"] for r in records] == [1, 1, 1, 12, 52, None]
        assert all(type(r["fixings"]) is int for r in records[:-1])
    plain = run(runner, "price", book, *PATHS, "--format", "csv")
    assert "TOTAL" not in plain.stdout


def test_output_replaces_an_existing_file(runner, book, tmp_path):
    out = tmp_path / "risk.csv"
    out.write_text("old")
    assert run(runner, "price", book, *PATHS, "-o", out, "-f", "csv").exit_code == 0
    assert out.read_text().startswith("id,price,")


def test_same_numbers_whatever_the_threads(runner, book):
    one = run(runner, "price", book, *PATHS, "--threads", "1", "--format", "csv").stdout
    two = run(runner, "price", book, *PATHS, "--threads", "2", "--format", "csv").stdout
    assert one == two


def test_same_numbers_whatever_the_row_order(runner, book, tmp_path):
    lines = BOOK.splitlines()
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    tables = [pd.read_csv(io.StringIO(run(runner, "price", path, *PATHS, "-f", "csv").stdout))
              for path in (book, shuffled)]
    forward, backward = (t.set_index("id").sort_index() for t in tables)
    pd.testing.assert_frame_equal(forward, backward, check_exact=True)


def test_version(runner):
    result = run(runner, "--version")
    assert result.exit_code == 0
    assert greeks.__version__ in result.stdout


def test_help_mentions_examples(runner):
    for args in (["--help"], ["price", "--help"]):
        result = run(runner, *args)
        assert result.exit_code == 0
        assert "Examples" in result.stdout and "greeks price" in result.stdout


def test_python_dash_m(tmp_path):
    result = subprocess.run([sys.executable, "-m", "greeks", "--help"], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage: greeks" in result.stdout and "price" in result.stdout


# (file name, content, text the one-line message must contain)
BAD = {
    "missing column": ("book.csv", HEADER.replace(",strike", "") + "\n"
                       + GOOD.replace(",call,100", ",call"),
                       "column 'strike': required column is missing"),
    "unknown instrument": ("book.csv", BOOK + GOOD.replace("EU-C,flow,european", "X,flow,swap"),
                           "row 6 (line 7): column 'instrument': must be one of"),
    "non-numeric strike": ("book.csv", BOOK.replace("105,1,", "abc,1,"),
                           "row 3 (line 4): column 'strike': must be a number, got 'abc'"),
    "inf vol": ("book.csv", BOOK.replace("0.5,100,0.05,0.01,gbm,0.2", "0.5,100,0.05,0.01,gbm,inf"),
                "row 2 (line 3): column 'vol': must be a finite number, got 'inf'"),
    "negative maturity": ("book.csv", BOOK.replace("put,95,0.5", "put,95,-0.5"),
                          "row 2 (line 3): column 'maturity': must be > 0, got -0.5"),
    "zero barrier": ("book.csv", BOOK.replace(",130,", ",0,"),
                     "row 5 (line 6): column 'barrier': must be > 0, got 0"),
    "fractional fixings": ("book.csv", BOOK.replace(",12\n", ",12.5\n"),
                           "row 4 (line 5): column 'fixings': must be a whole number"),
    "duplicate id": ("book.csv", BOOK + GOOD,
                     "row 6 (line 7): column 'id': duplicate id 'EU-C' (first used in row 1)"),
    "heston without parameters": ("book.csv", BOOK.replace("gbm,0.2,10", "heston,,10"),
                                  "row 1 (line 2): column 'v0': required column is missing "
                                  "(model heston)"),
    "too many fields": ("book.csv", BOOK + GOOD + ",extra\n",
                        "row 6 (line 7): has 17 fields, but the header has 16"),
    "dated without a market": ("book.csv", HEADER.replace(",maturity,", ",expiry,") + "\n"
                               + GOOD.replace(",1,100,", ",2027-12-17,100,"),
                               "column 'maturity': required column is missing (the file gives "
                               "expiry dates: price it off a market file, --market FILE)"),
    "empty file": ("book.csv", "", "book.csv: file is empty"),
    "header only": ("book.csv", HEADER + "\n", "book.csv: no instrument rows"),
    "not UTF-8": ("book.csv", BOOK.encode() + b"\xff\xfe\n", "not UTF-8 text"),
    "JSON object": ("book.json", '{"id": "A"}', "JSON must be a list of records"),
    "unsupported suffix": ("book.txt", BOOK, "unsupported file type '.txt'"),
    "missing file": (None, None, "cannot read file"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_bad_input(runner, tmp_path, no_simulation, case, suffix):
    name, content, fragment = BAD[case]
    path = tmp_path / (name or "absent.csv")
    if content is not None:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / f"risk{suffix}"
    out.write_bytes(b"previous results \x00\x01")
    before = sorted(tmp_path.iterdir())
    result = runner.invoke(main, ["price", str(path), "--output", str(out), "--paths", "2000"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert fragment in lines[0] and str(path) in lines[0]
    assert "Traceback" not in result.output
    assert out.read_bytes() == b"previous results \x00\x01"
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize("output, fragment", [
    ("risk.xlsx", "unsupported file type '.xlsx'"),
    ("risk", "the file name has no suffix"),
    ("no/such/folder/risk.csv", "does not exist"),
])
def test_unusable_output_is_refused_before_simulating(runner, book, tmp_path, no_simulation,
                                                      output, fragment):
    result = runner.invoke(main, ["price", str(book), "--output", str(tmp_path / output)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --output ") and fragment in lines[0]


def test_folder_where_no_file_can_be_made_is_refused_before_simulating(runner, book, tmp_path,
                                                                      no_simulation,
                                                                      monkeypatch):
    """A folder that passes a permission check yet takes no new file (/proc, a read-only
    mount, a full disk) is refused up front, and the probe leaves nothing behind."""
    def refused(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    before = sorted(tmp_path.iterdir())
    with monkeypatch.context() as patched:
        patched.setattr("tempfile.mkstemp", refused)
        result = runner.invoke(main, ["price", str(book), "--output", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --output "), result.stderr
    assert "cannot create a file in folder" in lines[0] and "Read-only" in lines[0]
    check_output(str(tmp_path / "x.csv"))  # a usable folder: its probe removed
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize("option", [["--paths", "1"], ["--seed", "-1"], ["--threads", "0"]])
def test_bad_run_options_exit_2(runner, book, no_simulation, option):
    result = runner.invoke(main, ["price", str(book), *option])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_interrupt_leaves_output_untouched(runner, book, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "simulate", interrupted)
    out = tmp_path / "risk.parquet"
    out.write_bytes(b"keep")
    result = runner.invoke(main, ["price", str(book), "--output", str(out)])
    assert result.exit_code == 130
    assert "nothing was written" in result.stderr
    assert out.read_bytes() == b"keep"


HESTON_BOOK = """\
id,instrument,option_type,strike,maturity,spot,rate,model,v0,kappa,theta,xi,rho
H-C,european,call,100,1,100,0.05,heston,0.04,1.5,0.04,0.5,-0.7
H-D,digital,put,95,1,100,0.05,heston,0.04,1.5,0.04,0.5,-0.7
"""


@pytest.mark.parametrize("options", [
    [], ["--scheme", "exact"], ["--scheme", "euler", "--steps-per-year", "52"],
    ["--first-step", "0.25"], ["--plain"]])
def test_run_options_reach_the_engine(runner, tmp_path, options):
    path = tmp_path / "heston.csv"
    path.write_text(HESTON_BOOK)
    result = run(runner, "price", path, *PATHS, "--format", "csv", *options)
    assert result.exit_code == 0, result.output
    got = pd.read_csv(io.StringIO(result.stdout))
    scheme = options[1] if options[:1] == ["--scheme"] else None
    api = greeks.price_portfolio(
        path, paths=2000, seed=seed(11), scheme=scheme,
        steps_per_year=52.0 if "--steps-per-year" in options else None,
        first_step=0.25 if "--first-step" in options else None,
        plain="--plain" in options)
    np.testing.assert_allclose(got[RESULTS[1:]].to_numpy(), api[RESULTS[1:]].to_numpy(),
                               rtol=1e-12)


@pytest.mark.parametrize("options,message", [
    (["--scheme", "milstein"], "--scheme must be one of qe, exact, euler, got 'milstein'"),
    (["--method", "best"], "--method must be one of auto, mixed, lr, pathwise, fd, rqmc"),
    (["--steps-per-year", "0"], "--steps-per-year must lie in (0, 100000]"),
    (["--first-step", "-1"], "--first-step must be a finite number of years >= 0"),
    (["--target-se", "abc"], "--target-se must be a number > 0 or a percentage"),
    (["--max-paths", "1"], "--max-paths must be a whole number >= 2, got 1"),
    (["--greeks", "charm"], "--greeks: unknown Greek 'charm'"),
])
def test_bad_run_options(runner, book, options, message, no_simulation):
    result = runner.invoke(main, ["price", str(book), *options])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {result.stderr[7:]}" and result.stderr.count("\n") == 1
    assert message in result.stderr


def test_misspelt_column_refused_and_opted_out(runner, tmp_path, no_simulation):
    path = tmp_path / "mis.csv"
    path.write_text(BOOK.replace(",dividend,", ",divident,"))
    result = runner.invoke(main, ["analytic", str(path)])
    assert result.exit_code == 2
    assert "column 'divident': unknown column, close to the known column 'dividend'" \
        in result.output
    result = run(runner, "analytic", path, "--extra-columns", "divident")
    assert result.exit_code == 0, result.output


def test_long_maturity_warns_on_stderr(runner, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(HEADER + "\n" + GOOD.replace(",1,100,", ",30,100,") + "\n")
    result = run(runner, "analytic", path)
    assert result.exit_code == 0
    assert "Warning: " in result.output and "maturity 30 is in years, not days" in result.output


def test_the_table_totals_greeks_only_on_one_underlying(tmp_path):
    from rich.console import Console

    from greeks.render import print_results

    two = pd.DataFrame(dict(id=["a", "b"], instrument="european", option_type="call",
                            strike=100.0, maturity=1.0, quantity=1.0, spot=[100.0, 50.0],
                            price=[10.0, 5.0], price_se=0.1, delta=[0.6, 0.5],
                            delta_se=0.01))
    for frame, shown in [(two, False), (two.assign(spot=100.0), True)]:
        frame.attrs.update(total=dict(price=15.0, price_se=0.14, delta=1.1, delta_se=0.014),
                           paths=1000, seed=0)
        console = Console(file=io.StringIO(), width=200)
        print_results(frame, console)
        text = console.file.getvalue()
        footer = next(line for line in text.splitlines() if line.strip("│ ").startswith("total"))
        assert "15.00 ± 0.14" in footer
        assert ("1.100 ± 0.014" in footer) is shown
        assert ("Greeks of different underlyings do not add" in text) is not shown


@pytest.mark.parametrize("command, extra", [("ladder", ["--spot", "-5%,5%"]), ("compare", []),
                                            ("analytic", []), ("report", ["--by", "book"])])
def test_every_command_runs_on_a_book(runner, book, command, extra):
    """Each command end to end through its options (--extra-columns included)."""
    paths = [] if command == "analytic" else ["--paths", "2000"]
    result = run(runner, command, book, *paths, *extra, "--extra-columns", "book",
                 "--format", "csv")
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) > 2


@pytest.mark.parametrize("command", ["price", "report"])
def test_the_caption_names_the_rows_that_override_the_market(runner, command):
    """Off a market the table says which rows' own columns replaced the market's (the
    file's three own vols; a file without overrides says nothing), and what the totals
    weigh: price per unit of quantity, report quantity × multiplier."""
    market = ["--market", str(ROOT / "instruments" / "market.json"), *PATHS]
    result = runner.invoke(main, [command, str(ROOT / "instruments" / "book.csv"), *market])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert ("row values override the market: SPX-C-5500-MAR28 (vol), AAPL-C-220-JAN28 (vol), "
            "SX5E-P-4600-SEP27 (vol)") in text
    assert ("multiplier not applied" in text) is (command == "price")
    assert ("q = quantity × multiplier" in text) is (command == "report")
    plain = runner.invoke(main, [command, str(ROOT / "instruments" / "american_book.csv"),
                                 *market])
    assert plain.exit_code == 0, plain.output
    assert "override" not in plain.stdout


def test_a_caption_names_a_few_rows_then_counts_the_others():
    from greeks.render import overridden

    ids = [f"r{i}" for i in range(8)]
    note = overridden(ids, ["vol", "", "rate;dividend", "vol", "spot", "vol", "vol", "rate"])
    assert note == ("; row values override the market: r0 (vol), r2 (rate, dividend), "
                    "r3 (vol), r4 (spot), r5 (vol), and 2 more")
    assert overridden(ids[:2], ["", ""]) == ""


FROM_ZERO = (HEADER + ",v0,kappa,theta,xi,rho\n" + GOOD.replace("EU-C", "EU-C2") + ",,,,,\n"
             + "HZ,flow,european,call,100,1,100,0.05,0.01,heston,,1,,,,,0,1,0.01,1.5,-0.5\n")


@pytest.mark.parametrize("command, options, remedy", [
    ("price", ["--plain"], "plain likelihood-ratio estimators cannot take it"),
    ("price", ["--method", "lr"], "use method 'auto' or 'fd'"),
    ("report", ["--method", "lr"], "use method 'auto' or 'fd'"),
    ("report", ["--scheme", "euler"], "use qe or exact"),
    ("ladder", [], "plain likelihood-ratio estimators cannot take it"),
])
def test_a_row_the_run_cannot_estimate_is_named_by_its_file_row_and_line(
        runner, book, tmp_path, monkeypatch, no_simulation, command, options, remedy):
    """v0 = 0 without Feller's condition (or under Euler): refused before any simulation,
    naming the file it is in (a report of several files too) and its row and line there."""
    import greeks.ladder

    monkeypatch.setattr(greeks.ladder, "_plan", engine.simulate)  # the ladder's first run
    zero = tmp_path / "zero.csv"
    zero.write_text(FROM_ZERO)
    files = [book, zero] if command == "report" else [zero]
    out = tmp_path / "out.csv"
    result = runner.invoke(main, [command, *map(str, files), *options, "--output", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {zero}: row 2 (line 3): column 'v0': "), lines[0]
    assert remedy in lines[0] and not out.exists()


@pytest.mark.slow
def test_reading_parquet_never_aborts_the_process_at_exit(tmp_path):
    """Read through a Python file object, Arrow's thread pool aborted about one process in
    100 to 150 at exit after reading a Parquet file (exit 134, 'terminate called without an
    active exception'), after the results were written: 400 processes that read one must
    all exit cleanly (with the old reading, all 400 did with a probability of about 5 %)."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "book.parquet"
    pd.read_csv(io.StringIO(BOOK)).to_parquet(path)
    script = "import sys; from greeks.io import read_raw; read_raw(sys.argv[1])"

    def exit_status(_):
        return subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                              timeout=120).returncode

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(exit_status, range(400)))
    assert statuses.count(0) == len(statuses), sorted(set(statuses))
