"""Bias of american and bermudan rows priced off a market, against the finite-difference
solution on the same market.

    python benchmarks/american_market.py [--seeds 4] [--paths 200000]

The book: an american call (K = 95), an american put (K = 105) and a monthly bermudan call
(K = 95), one year, on a spot of 100 with two cash dividends of 3 (ex-dates 2027-08-30 and
2028-02-01), a rate curve (4 % to 6 months, 5 % to a year) and a vol term structure (30 % to
3 months, 25 % to a year).  Each seed prices the book (policy: the finite-difference
boundaries on the market; European controls from the same solver); the table gives each
row's price, delta and vega with their SEs against
:func:`greeks.models.gbm.american_market.american_fd_market`, the mean error in % and the
mean and rms z over the seeds.  Writes ``benchmarks/results/american_market.md``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

import greeks
from greeks.api import load
from greeks.market.positions import MARKET_COLUMN
from greeks.models.gbm.american_market import american_fd_market

MARKET = {"valuation_date": "2027-03-01",
          "curves": {"USD": {"dates": ["2027-09-01", "2028-03-01"], "zero_rates": [0.04, 0.05]}},
          "underlyings": {"X": {"spot": 100.0, "curve": "USD",
                                "vol": {"dates": ["2027-06-01", "2028-03-01"],
                                        "vols": [0.3, 0.25]},
                                "dividends": [{"ex_date": "2027-08-30", "amount": 3.0},
                                              {"ex_date": "2028-02-01", "amount": 3.0}]}}}
BOOK = pd.DataFrame([
    dict(id="american call 95", instrument="american", option_type="call", strike=95.0),
    dict(id="american put 105", instrument="american", option_type="put", strike=105.0),
    dict(id="bermudan call 95, monthly", instrument="bermudan", option_type="call",
         strike=95.0, fixings=12),
]).assign(expiry="2028-03-01", underlying="X", quantity=1.0)
GREEKS = ("price", "delta", "vega")


def references() -> list[dict]:
    out = []
    for row in load(BOOK, MARKET).to_dict("records"):
        state = row[MARKET_COLUMN]
        dates = None if row["instrument"] == "american" else state.times
        fd = american_fd_market(state.dynamics, row["strike"], row["maturity"],
                                row["option_type"] == "call", dates)
        out.append({"price": fd.price, "delta": fd.delta, "vega": fd.vega})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--paths", type=int, default=200_000)
    args = parser.parse_args()
    refs = references()
    runs, start = [], time.perf_counter()
    for s in range(args.seeds):
        runs.append(greeks.price_portfolio(BOOK, market=MARKET, paths=args.paths, seed=100 + s))
    seconds = (time.perf_counter() - start) / args.seeds
    lines = ["# benchmarks/american_market.py", "",
             f"{os.uname().machine}, load {os.getloadavg()[0]:.2f}, "
             f"{time.strftime('%Y-%m-%d %H:%M')}, {args.seeds} seeds × {args.paths:,} paths, "
             f"{seconds:.1f} s a run (all threads)", "",
             "| row | Greek | reference | mean estimate | mean SE | mean error % | mean z | "
             "rms z |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for j, row in BOOK.iterrows():
        for name in GREEKS:
            values = np.array([run[name].iat[j] for run in runs])
            errors = np.array([run[f"{name}_se"].iat[j] for run in runs])
            z = (values - refs[j][name]) / errors
            error = 100 * (values.mean() / refs[j][name] - 1)
            lines.append(f"| {row['id']} | {name} | {refs[j][name]:.5f} | {values.mean():.5f} | "
                         f"{errors.mean():.5f} | {error:+.3f} | "
                         f"{z.mean():+.2f} | {np.sqrt((z * z).mean()):.2f} |")
    early = [f"{row['id']}: {np.mean([r['exercise_probability'].iat[j] for r in runs]):.3f}"
             for j, row in BOOK.iterrows()]
    lines += ["", "Exercise probability before expiry: " + "; ".join(early) + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs("benchmarks/results", exist_ok=True)
    with open("benchmarks/results/american_market.md", "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
