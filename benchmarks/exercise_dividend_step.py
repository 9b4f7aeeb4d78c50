"""The step of an exercise row's cash-dividend bucket: Richardson's central difference in the
amount at δ = D/2 (the bucket's, :mod:`greeks.exercise_moves`) and D/4 against D/16, on the
GBM finite-difference American/Bermudan value off a market
(:func:`greeks.models.gbm.american_market.american_fd_market`), the function the bucket's
paths difference (the policy re-solved at each moved amount).

    python -m benchmarks.exercise_dividend_step [--output FILE]

S0 = 100, r = 4 %, σ = 25 %, no yield, one cash dividend D at τ; each case on the solver's
default grid and on 4,000 price nodes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import ROOT
from greeks.market.curves import Curve
from greeks.market.dynamics import Dynamics
from greeks.market.file import Dividend
from greeks.market.volatility import VolCurve
from greeks.models.gbm.american_market import american_fd_market

MONTHLY = tuple(np.arange(1, 10) / 12)
# name, call, strike, maturity, ex-date, exercise dates (None: american), amount
CASES = (("american put K 105, D 3", False, 105.0, 0.75, 0.4, None, 3.0),
         ("american call K 95, D 3", True, 95.0, 0.75, 0.4, None, 3.0),
         ("bermudan put K 105, D 3, monthly", False, 105.0, 0.75, 0.4, MONTHLY, 3.0),
         ("bermudan call K 100, D 2, monthly", True, 100.0, 0.75, 0.4, MONTHLY, 2.0),
         ("american call K 100, D 0.26", True, 100.0, 0.75, 0.4, None, 0.26),
         ("american call K 100, D 5 at 0.45, T 0.5", True, 100.0, 0.5, 0.45, None, 5.0))


def value(amount, call, strike, maturity, ex_date, dates, space=None) -> float:
    dynamics = Dynamics(100.0, Curve.flat(0.04), Curve.flat(0.0),
                        (Dividend(ex_date, amount, False),), VolCurve.flat(0.25))
    grid = {} if space is None else {"space_steps": space}
    return american_fd_market(dynamics, strike, maturity, call,
                              None if dates is None else list(dates), vega=False, **grid).price


def richardson(f, amount, step) -> float:
    """(4 E(δ) − E(2δ))/3, E(δ) = (f(D + δ) − f(D − δ))/(2δ)."""
    def central(h):
        return (f(amount + h) - f(amount - h)) / (2 * h)
    return (4 * central(step) - central(2 * step)) / 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path,
                        default=ROOT / "benchmarks/results/exercise_dividend_step.md")
    args = parser.parse_args()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [f"# The cash-dividend bucket's step ({stamp})",
             "", "`python -m benchmarks.exercise_dividend_step`: ∂V/∂D by Richardson's central "
             "difference at δ against δ = D/16 on the finite-difference value.", "",
             "| row | price nodes | δ = D/16 | δ = D/2 (error) | δ = D/4 (error) |",
             "| --- | --- | ---: | ---: | ---: |"]
    for name, call, strike, maturity, ex_date, dates, amount in CASES:
        for space in (None, 4000):
            def f(x, space=space):
                return value(x, call, strike, maturity, ex_date, dates, space)
            fine = richardson(f, amount, amount / 16)
            cells = [f"{fine:.5f}"]
            for step in (amount / 2, amount / 4):
                estimate = richardson(f, amount, step)
                cells.append(f"{estimate:.5f} ({(estimate / fine - 1) * 100:+.2f} %)")
            lines.append(f"| {name} | {'default' if space is None else space} | "
                         + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
