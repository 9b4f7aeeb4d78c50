"""The progress total: every phase of a run (decision, exercise policies, pilots, every
family's main run) planned before the first starts, so that the time remaining is right
from the start.

A fake clock that advances by each chunk's planned cost (:mod:`greeks.engine.progress`)
turns the reports into the time remaining a progress bar would show at each one
(total − done at unit speed) and the true remaining time (the work still to come); they
must agree within a factor 2 from the first report on.  How well the costs track seconds
is measured in ``benchmarks/latency.py``.
"""

import numpy as np
import pytest
from helpers import ROOT, make_frame, seed

from greeks import engine
from greeks.api import load
from greeks.models import adapter as model_of

ROOT = ROOT


def reports(frame, paths: int, **options) -> np.ndarray:
    """(done, total) of every report of one run, on one thread."""
    seen = []
    engine.simulate(frame, paths, seed(11), threads=1,
                    report=lambda done, total: seen.append((done, total)), **options)
    return np.array(seen)


def assert_eta_within_two(seen: np.ndarray) -> None:
    done, total = seen[:, 0], seen[:, 1]
    assert np.all(np.diff(done) > 0)
    assert np.all(total >= done)
    assert total[-1] == pytest.approx(done[-1], rel=1e-12)  # the run ends at its total
    shown = total[:-1] - done[:-1]  # time remaining at unit speed
    true = done[-1] - done[:-1]
    ratio = shown / true
    assert ratio.min() >= 0.5 and ratio.max() <= 2.0, (ratio.min(), ratio.max())


@pytest.mark.parametrize("name", ["european", "asian", "barrier", "digital", "heston"])
def test_time_remaining_within_two_from_the_start(name):
    frame = load(ROOT / "instruments" / f"{name}.csv")
    assert_eta_within_two(reports(frame, 20_000))


def test_one_row_counts_decision_and_pilot():
    """A single european row: the decision runs of three families and the pilot are more
    than a tenth of the work; the first report's total already includes them."""
    frame = make_frame([{"id": "call"}])
    seen = reports(frame, 40_000)
    decision = engine.pilot_paths(40_000)
    planned = model_of("gbm").row_cost["lr"] * (40_000 + 2 * decision)  # main, pilot, trial
    assert seen[0, 1] > planned
    assert_eta_within_two(seen)


@pytest.mark.parametrize("method", ["mixed", "lr", "fd", "pathwise"])
def test_single_family_total_is_exact(method):
    """Without a decision the first report's total is the work the run does."""
    frame = load(ROOT / "instruments" / "asian.csv")
    seen = reports(frame, 8_192, method=method)
    assert seen[0, 1] == pytest.approx(seen[-1, 0], rel=1e-12)
