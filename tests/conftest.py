"""Fixtures shared by the test modules, in every folder of tests/.

The test folders are packages (``tests.models.gbm.test_american``...), so that modules of
the same name in different folders do not clash; this folder is put on the path so that
every module, at any depth, imports the shared helpers as ``helpers``."""

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def runner():
    return CliRunner()


# Runs that compile numba's kernels before the test workers start, where numba's cache is empty
# (a fresh clone): each worker would otherwise compile the kernels it meets first on its own,
# both at once.  Two processes side by side, whose kernels overlap little.
WARM_UP = (  # commands of each process, in turn
    [["price", "instruments/portfolio.csv", "--paths", "2000", "--greeks", "all"],
     ["price", "instruments/heston.csv", "--paths", "2000", "--scheme", "exact",
      "--steps-per-year", "4"],
     ["price", "instruments/heston.csv", "--paths", "2000", "--scheme", "euler",
      "--steps-per-year", "4"]],
    [["price", "instruments/american.csv", "--paths", "2000", "--greeks", "all",
      "--upper-bound"],
     ["price", "instruments/book.csv", "--market", "instruments/market.json", "--paths", "2000",
      "--greeks", "all"]],
)
ROOT = Path(__file__).resolve().parent.parent


def _cache_is_empty() -> bool:
    """Whether numba's cache holds no kernel of the package (``NUMBA_CACHE_DIR``, else the
    ``__pycache__`` folders next to the sources)."""
    import os

    folder = os.environ.get("NUMBA_CACHE_DIR")
    where = Path(folder) if folder else ROOT / "greeks"
    return not where.is_dir() or next(where.rglob("*.nbi"), None) is None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Compile the kernels once, in parallel, before pytest-xdist starts its workers (the
    controller only, on an empty cache; a single-process run compiles as it goes), and say
    how long it took (pytest's own time starts after it)."""
    config = session.config
    if (hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None)
            or not _cache_is_empty()):
        return
    import subprocess
    import tempfile
    import time
    from concurrent.futures import ThreadPoolExecutor

    def run(commands, out):
        for k, args in enumerate(commands):
            subprocess.run([sys.executable, "-m", "greeks", *args, "--output",
                            str(Path(out) / f"{k}.csv")], cwd=ROOT, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    start = time.perf_counter()
    with ThreadPoolExecutor(len(WARM_UP)) as pool:
        with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
            list(pool.map(run, WARM_UP, (first, second)))
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"numba's cache was empty: kernels compiled in "
                            f"{time.perf_counter() - start:.0f} s before the tests")
