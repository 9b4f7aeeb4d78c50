"""Bias of american rows priced off a market with a dividend's ex-date between two exercise
dates, against the finite-difference American price on the same market.

    python benchmarks/american_exdates.py [--seeds 3] [--paths 400000] [--out NAME]

A put is worth exercising just after a drop; an exercise grid that misses the ex-date τ
exercises up to a step later, a loss that depends on where τ falls between two dates and that
Richardson's 2 V(Δ) − V(2Δ) does not remove (:mod:`greeks.exercise`).  The rows: american puts
(and a call with cash dividends, whose exercise is just before the drop) off three markets,
each with τ strictly between two dates of its default or weekly grid:

* ``term``: the curves, vol term structure and proportional dividend (2 %, 2027-07-01) of
  tests/market/test_pricing.py, put K = 105 to 2028-02-01 (default grid, 233 dates);
* ``prop``: flat 5 % rate, 25 % vol, a proportional dividend of 4 % mid-way between two
  weekly dates, put K = 110 over a year (default and weekly grids);
* ``cash``: the market of benchmarks/american_market.py (two cash dividends of 3), put
  K = 105 and call K = 95 (default grid), and the put on a weekly grid.

Each seed prices every row (default Greeks); the table gives price and delta against
:func:`greeks.models.gbm.american_market.american_fd_market` (the American, continuous
exercise), the mean error relative to the reference and in SEs (mean z over the seeds, and
the pooled z: the seeds' mean error over its SE).  Writes ``benchmarks/results/NAME.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from american_market import MARKET

import greeks
from greeks.api import load
from greeks.market.positions import MARKET_COLUMN
from greeks.models.gbm.american_market import american_fd_market

TERM = json.loads((Path(__file__).resolve().parents[1] / "data" / "term_market.json").read_text())
PROPORTIONAL = {"valuation_date": "2027-03-01",
                "curves": {"USD": {"dates": ["2028-03-01"], "zero_rates": [0.05]}},
                "underlyings": {"X": {"spot": 100.0, "curve": "USD", "vol": 0.25,
                                      # day 185.5 of 366: weekly dates every 7.04 days,
                                      # the ex-date mid-way between the 26th and the 27th
                                      "dividends": [{"ex_date": "2027-09-03",
                                                     "yield": 0.04}]}}}
CASH = MARKET  # two cash dividends (benchmarks/american_market.py)


def _book(rows, **common) -> pd.DataFrame:
    return pd.DataFrame([dict(common, instrument="american", quantity=1.0, **row)
                         for row in rows])


CASES = {
    "term": (TERM, _book([dict(id="term put 105", option_type="put", strike=105.0)],
                         expiry="2028-02-01", underlying="SPX")),
    "prop": (PROPORTIONAL, _book([dict(id="prop put 110", option_type="put", strike=110.0),
                                  dict(id="prop put 110 weekly", option_type="put",
                                       strike=110.0, fixings=52, exercise_grid="fixings")],
                                 expiry="2028-03-01", underlying="X")),
    "cash": (CASH, _book([dict(id="cash put 105", option_type="put", strike=105.0),
                          dict(id="cash call 95", option_type="call", strike=95.0),
                          dict(id="cash put 105 weekly", option_type="put", strike=105.0,
                               fixings=52, exercise_grid="fixings")],
                         expiry="2028-03-01", underlying="X")),
}
GREEKS = ("price", "delta")


def references(market, book) -> list[dict]:
    out = []
    for row in load(book, market).to_dict("records"):
        state = row[MARKET_COLUMN]
        fd = american_fd_market(state.dynamics, row["strike"], row["maturity"],
                                row["option_type"] == "call", None, vega=False)
        out.append({"price": fd.price, "delta": fd.delta})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--paths", type=int, default=400_000)
    parser.add_argument("--out", default="american_exdates")
    args = parser.parse_args()
    load_before, start = os.getloadavg()[0], time.perf_counter()
    lines = ["| row | Greek | reference | mean estimate | mean SE | mean error (rel.) | "
             "mean z | pooled z |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for market, book in CASES.values():
        refs = references(market, book)
        runs = [greeks.price_portfolio(book, market=market, paths=args.paths, seed=300 + s)
                for s in range(args.seeds)]
        for j, row in book.iterrows():
            for name in GREEKS:
                values = np.array([run[name].iat[j] for run in runs])
                errors = np.array([run[f"{name}_se"].iat[j] for run in runs])
                ref = refs[j][name]
                z = (values - ref) / errors
                pooled = (values.mean() - ref) / (np.sqrt((errors ** 2).sum()) / len(runs))
                lines.append(f"| {row['id']} | {name} | {ref:.5f} | {values.mean():.5f} | "
                             f"{errors.mean():.5f} | {values.mean() / ref - 1:+.1e} | "
                             f"{z.mean():+.2f} | {pooled:+.2f} |")
    minutes = (time.perf_counter() - start) / 60
    head = ["# benchmarks/american_exdates.py", "",
            f"{os.uname().machine}, load {load_before:.2f}, {time.strftime('%Y-%m-%d %H:%M')}, "
            f"{args.seeds} seeds × {args.paths:,} paths, {minutes:.1f} min in all", ""]
    text = "\n".join(head + lines) + "\n"
    print(text)
    os.makedirs("benchmarks/results", exist_ok=True)
    with open(f"benchmarks/results/{args.out}.md", "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
