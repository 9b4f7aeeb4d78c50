"""Run options: declared once for the command line, named and checked once by greeks.names."""

import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from helpers import make_frame

import greeks
from greeks import engine
from greeks.cli import main
from greeks.names import DEFAULT_PATHS, OptionError, check_run_options, check_scheduler

HESTON = dict(model="heston", vol=None, v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
SHARED = ["--paths", "--seed", "--threads", "--scheme", "--steps-per-year", "--first-step",
          "--scheduler", "--method", "--greeks", "--target-se", "--max-paths", "--plain",
          "--output", "--format"]


def options_of(command: str) -> dict:
    """``--name`` → its click option, for one command."""
    return {option.opts[0]: option for option in main.commands[command].params
            if option.opts[0].startswith("--")}


def test_shared_options_are_the_same_everywhere():
    declared = {name: options_of(name) for name in main.commands}
    for flag in SHARED:
        found = [options[flag] for options in declared.values() if flag in options]
        assert found, flag
        first = found[0]
        for option in found[1:]:
            assert (option.opts, option.secondary_opts, option.default, option.show_default,
                    option.help, option.name) == (
                first.opts, first.secondary_opts, first.default, first.show_default,
                first.help, first.name), flag
    assert options_of("price")["--paths"].show_default == f"{DEFAULT_PATHS:,}"
    for command in ("price", "report", "ladder", "compare"):
        assert {"--paths", "--seed", "--threads", "--scheme", "--steps-per-year", "--output",
                "--format"} <= set(options_of(command)), command
    for command in ("price", "report"):
        assert set(SHARED) <= set(options_of(command)), command
    assert "--scheduler" in options_of("ladder")
    assert "--scheduler" not in options_of("compare")
    assert options_of("price")["--paths"].opts + options_of("price")["--paths"].secondary_opts \
        == ["--paths", "-n"]


def test_every_command_defaults_to_the_same_path_count(monkeypatch):
    assert check_run_options().paths == DEFAULT_PATHS == 200_000
    counts = []
    simulate = engine.simulate

    def counting(frame, paths, *args, **kwargs):
        counts.append(paths)
        return simulate(frame, 2_000, *args, **kwargs)

    monkeypatch.setattr(engine, "simulate", counting)
    frame = make_frame([dict(id="call")])
    greeks.compare_estimators(frame)
    greeks.price_portfolio(frame)
    greeks.risk_report(frame)
    assert set(counts[4:]) == {DEFAULT_PATHS}  # after compare's warm-up runs
    assert greeks.spot_ladder(frame, spot="5%").attrs["paths"] == DEFAULT_PATHS


# one process: after each invocation, whether numba has been imported so far
NO_NUMBA = """
import json, sys
from click.testing import CliRunner
from greeks.cli import main
out = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, args)
    out.append([args, result.exit_code, "numba" in sys.modules])
print(json.dumps(out))
"""


def test_help_and_refusals_do_not_import_numba(tmp_path):
    book = tmp_path / "book.csv"
    make_frame([dict(id="call")]).to_csv(book, index=False)
    bad = tmp_path / "bad.csv"
    bad.write_text(book.read_text().replace(",call,", ",straddle,"))
    runs = [["--help"]] + [[command, "--help"] for command in main.commands] + [
        ["price", str(book), "--paths", "1"], ["price", str(book), "--scheme", "milstein"],
        ["price", str(book), "--greeks", "charm"], ["price", str(book), "--target-se", "x"],
        ["report", str(book), "--scheduler", "threads"], ["report", str(book), "-g", "vanna"],
        ["report", str(book), "--by", "desk"], ["ladder", str(book), "--min-ess", "2"],
        ["ladder", str(book), "--spot", "nonsense"], ["compare", str(book), "--seed", "-1"],
        ["price", str(bad)], ["report", str(bad)], ["ladder", str(bad)], ["compare", str(bad)],
        ["analytic", str(bad)], ["price", str(tmp_path / "absent.csv")]]
    result = subprocess.run([sys.executable, "-c", NO_NUMBA, json.dumps(runs)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)
    for args, code, numba in outcomes:
        assert code == (0 if "--help" in args else 2), args
        assert not numba, f"{args} imported numba"


# scipy's modules that only some rows need (american, quasi-Monte Carlo, Heston's exercise
# rule); numba itself imports scipy.linalg for its BLAS check
SCIPY_ON_DEMAND = ("scipy.interpolate", "scipy.optimize", "scipy.stats", "scipy.special")
ONE_ROW = """
import json, sys
from click.testing import CliRunner
from greeks.cli import main
result = CliRunner().invoke(main, ["price", sys.argv[1], "--paths", "2000"])
print(json.dumps([result.exit_code, sorted(set(sys.argv[2:]) & set(sys.modules))]))
"""


def test_european_rows_import_none_of_the_scipy_they_do_not_use(tmp_path):
    """Each of these costs a one-row run tenths of a second of imports (GBM and Heston)."""
    book = tmp_path / "book.csv"
    make_frame([dict(id="call"), dict(id="heston", model="heston", vol=None, v0=0.04,
                                      kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)]).to_csv(
        book, index=False)
    result = subprocess.run([sys.executable, "-c", ONE_ROW, str(book), *SCIPY_ON_DEMAND],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [0, []]


@pytest.mark.parametrize("scheduler", ["threads", "Local", "tcp//host:8786", "http://host:1"])
def test_bad_scheduler_is_refused_at_once(runner, tmp_path, scheduler):
    """Before any file is read (this one does not exist), in one line."""
    start = time.perf_counter()
    result = runner.invoke(main, ["report", str(tmp_path / "absent.csv"),
                                  "--scheduler", scheduler])
    assert time.perf_counter() - start < 2.0
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --scheduler must be local or processes or the "
                                    "address of a Dask scheduler")
    assert result.stderr.count("\n") == 1 and repr(scheduler) in result.stderr
    assert result.stdout == ""
    with pytest.raises(OptionError, match="scheduler must be"):
        greeks.price_portfolio(tmp_path / "absent.csv", scheduler=scheduler)


@pytest.mark.parametrize("address", ["local", "processes", "tcp://host:8786",
                                     "tls://10.0.0.1:8786", "inproc://10.0.0.1/1234/1",
                                     "ucx://host:13337"])
def test_schedulers_accepted(address):
    assert check_scheduler(address) == address


@pytest.mark.parametrize("options, message", [
    (dict(paths=1), "paths must be a whole number >= 2, got 1"),
    (dict(paths=2.5), "paths must be a whole number >= 2, got 2.5"),
    (dict(seed="7"), "seed must be a whole number >= 0, got '7'"),
    (dict(threads=0), "threads must be a whole number >= 1, got 0"),
    (dict(steps_per_year=0), "steps_per_year must lie in (0, 100000]"),
    (dict(first_step=float("inf")), "first_step must be a finite number of years >= 0"),
    (dict(method="best"), "method must be one of auto, mixed, lr, pathwise, fd, rqmc"),
    (dict(target_se="-1%"), "target_se must be a number > 0 or a percentage"),
    (dict(greeks="gamma,charm"), "greeks: unknown Greek 'charm'"),
])
def test_api_errors_speak_in_api_terms(options, message):
    with pytest.raises(OptionError) as raised:
        greeks.price_portfolio("never-read.csv", **options)
    assert message in str(raised.value) and "--" not in str(raised.value)


def test_api_is_keyword_only_and_listed():
    frame = make_frame([dict(id="call")])
    for function in (greeks.price_portfolio, greeks.risk_report, greeks.spot_ladder,
                     greeks.compare_estimators):
        with pytest.raises(TypeError):
            function(frame, 2_000)
    assert {"price_portfolio", "risk_report", "spot_ladder", "compare_estimators",
            "analytic_prices", "InputError", "OptionError", "__version__"} == set(dir(greeks))


def positions():
    return make_frame([
        dict(id="a", underlying="A", quantity=3.0),
        dict(id="b", underlying="A", instrument="asian", fixings=4, quantity=-2.0),
        dict(id="h", underlying="H", spot=50.0, strike=55.0, quantity=5.0, **HESTON),
        dict(id="k", underlying="H", spot=50.0, strike=45.0, instrument="barrier",
             barrier=40.0, barrier_type="down-and-out", fixings=12, quantity=-1.0, **HESTON),
    ])


def test_report_by_a_string():
    frame = positions()
    as_text = greeks.risk_report(frame, by="underlying", paths=2_000)
    as_list = greeks.risk_report(frame, by=["underlying"], paths=2_000)
    pd.testing.assert_frame_equal(as_text, as_list)
    assert as_text["underlying"].tolist() == ["A", "H", "TOTAL"]
    both = greeks.risk_report(frame, by="underlying, id", paths=2_000)
    assert both.attrs["by"] == ["underlying", "id"]
    with pytest.raises(OptionError, match="by: no column 'desk'"):
        greeks.risk_report(frame, by="desk", paths=2_000)


@pytest.mark.parametrize("row", [dict(id="one", quantity=-3.0),
                                 dict(id="one", spot=50.0, strike=55.0, quantity=7.0, **HESTON)],
                         ids=["gbm", "heston"])
def test_one_position_exposure_is_quantity_times_greek_times_unit(row):
    frame = make_frame([row])
    report = greeks.risk_report(frame, paths=4_000, seed=2, greeks="gamma,theta,rho")
    priced = greeks.price_portfolio(frame, paths=4_000, seed=2, greeks="gamma,theta,rho")
    total, q, spot = report.iloc[-1], -3.0 if row.get("model") is None else 7.0, frame["spot"][0]
    for exposure, greek, unit in [("dollar_gamma", "gamma", spot ** 2 / 100),
                                  ("theta_per_day", "theta_per_year", 1 / 365),
                                  ("rho_per_bp", "rho_rate", 1e-4)]:
        assert total[exposure] == pytest.approx(q * priced[greek][0] * unit, rel=1e-12)
        assert total[f"{exposure}_se"] == pytest.approx(abs(q) * priced[f"{greek}_se"][0] * unit,
                                                        rel=1e-12)


def test_report_exposures_add_up_and_match_the_priced_totals():
    frame = positions()
    report = greeks.risk_report(frame, by="underlying", paths=4_000, seed=5,
                                greeks="theta,rho,gamma")
    priced = greeks.price_portfolio(frame, paths=4_000, seed=5, greeks="gamma,theta,rho")
    groups, total = report.iloc[:-1], report.iloc[-1]
    for name in ("dollar_gamma", "theta_per_day", "rho_per_bp"):
        assert groups[name].sum() == pytest.approx(total[name], rel=1e-12)
        # the underlyings are independent simulations: their variances add
        assert np.hypot(*groups[f"{name}_se"]) == pytest.approx(total[f"{name}_se"], rel=1e-9)
    assert total["theta_per_day"] == pytest.approx(priced.attrs["total"]["theta_per_day"],
                                                   rel=1e-12)
    assert total["rho_per_bp"] == pytest.approx(priced.attrs["total"]["rho_rate"] / 1e4,
                                                rel=1e-12)
    positions_ = report.attrs["positions"].set_index("id")
    q = priced.set_index("id")["quantity"]
    assert np.allclose(positions_["theta_per_day"], q * priced.set_index("id")["theta_per_day"])
    # without gamma, theta and rho come from the main run: the same numbers
    alone = greeks.risk_report(frame, by="underlying", paths=4_000, seed=5, greeks="theta,rho")
    for name in ("market_value", "theta_per_day", "theta_per_day_se", "rho_per_bp"):
        np.testing.assert_array_equal(alone[name], report[name])


def test_report_greeks_without_a_desk_unit_are_refused(runner, tmp_path):
    book = tmp_path / "book.csv"
    positions().to_csv(book, index=False)
    result = runner.invoke(main, ["report", str(book), "--greeks", "gamma,vanna"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert ("'vanna' has no desk unit in a risk report; the further Greeks with one are "
            "gamma (dollar_gamma), theta (theta_per_day), rho (rho_per_bp)") in result.stderr


def test_report_gamma_flag_is_a_hidden_alias(runner, tmp_path):
    book = tmp_path / "book.csv"
    positions().to_csv(book, index=False)
    flag = runner.invoke(main, ["report", str(book), "-n", "2000", "--gamma", "-f", "csv"])
    named = runner.invoke(main, ["report", str(book), "-n", "2000", "-g", "gamma", "-f", "csv"])
    assert flag.exit_code == 0, flag.output
    assert flag.stdout == named.stdout and "dollar_gamma" in flag.stdout
    assert "--gamma" not in runner.invoke(main, ["report", "--help"]).stdout


def test_compare_threads(runner, tmp_path):
    book = tmp_path / "book.csv"
    make_frame([dict(id="call"), dict(id="put", option_type="put")]).to_csv(book, index=False)
    tables = []
    for threads in ("1", "2"):
        result = runner.invoke(main, ["compare", str(book), "-n", "4000", "--threads", threads,
                                      "-f", "csv"])
        assert result.exit_code == 0, result.output
        tables.append(pd.read_csv(pd.io.common.StringIO(result.stdout)))
    for name in ("estimate", "se", "variance_ratio"):
        np.testing.assert_array_equal(tables[0][name], tables[1][name])
    shown = runner.invoke(main, ["compare", str(book), "-n", "4000", "-t", "2"])
    assert "2 threads" in shown.stdout


def test_shifts_without_percent_say_they_are_fractions():
    from greeks.names import parse_shifts
    with pytest.raises(OptionError, match=r"did you mean -10%:10%:5%\?"):
        parse_shifts("-10:10:5", "spot")
    assert parse_shifts("-10%:10%:10%", "spot") == pytest.approx([-0.1, 0.0, 0.1])
