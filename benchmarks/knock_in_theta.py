"""A knock-in's theta SE by the coupled one-day difference and by the likelihood ratio of
every segment, against its probability of ending in the money given that it knocks in (the
closed form that picks between them, :data:`greeks.models.gbm.buckets.KNOCK_IN_COUPLED`):
down-and-in calls and puts on 29 fortnightly dates of the market of
tests/market/test_survival_dated.py (vol 0.365), the barrier swept; per estimator the RMS of
the SEs and the spread of the estimates over the seeds.  Run:
python benchmarks/knock_in_theta.py [paths] [seeds] > benchmarks/results/knock_in_theta.md
"""

import sys

import numpy as np
import pandas as pd

from greeks.api import price_portfolio
from greeks.models.gbm import buckets

sys.path.insert(0, "tests")
from tests.market.test_survival_dated import MARKET, WEEKLY  # noqa: E402

paths = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
count = int(sys.argv[2]) if len(sys.argv) > 2 else 4
seen = []  # each row's p, as the bucket pass computes it
probability = buckets._knock_in_paying
buckets._knock_in_paying = lambda *a: seen.append(probability(*a)) or seen[-1]
dates = WEEKLY[1::2][:29]
print(f"{paths:,} paths, {count} seeds; theta per day: RMS SE and spread over seeds\n")
print("| row | P(in the money \\| knocked in) | coupled SE | coupled spread | LR SE "
      "| LR spread | LR/coupled |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for option, strike, barriers in (("call", 114.0, (65.0, 78.0, 90.0, 95.0)),
                                 ("call", 96.0, (80.0, 90.0)),
                                 ("put", 100.0, (65.0, 72.0, 78.0, 84.0, 90.0, 95.0)),
                                 ("put", 85.0, (65.0, 75.0))):
    for barrier in barriers:
        row = {"id": "di", "instrument": "barrier", "option_type": option, "strike": strike,
               "barrier": barrier, "barrier_type": "down-and-in", "expiry": dates[-1],
               "underlying": "X", "vol": 0.365, "fixing_dates": ";".join(dates)}
        book, out = pd.DataFrame([row]), {}
        for name, threshold in (("coupled", 0.0), ("lr", 2.0)):  # every knock-in one way
            buckets.KNOCK_IN_COUPLED = threshold
            runs = [price_portfolio(book, market=MARKET, paths=paths, seed=s, threads=1,
                                    greeks="theta") for s in range(count)]
            e = np.array([r["theta_per_day"].iat[0] for r in runs])
            se = np.array([r["theta_per_day_se"].iat[0] for r in runs])
            out[name] = (np.sqrt((se ** 2).mean()), e.std(ddof=1))
        print(f"| {option} K {strike:g} B {barrier:g} | {seen[-1]:.3f} "
              f"| {out['coupled'][0]:.5f} | {out['coupled'][1]:.5f} | {out['lr'][0]:.5f} "
              f"| {out['lr'][1]:.5f} | {out['lr'][0] / out['coupled'][0]:.2f} |", flush=True)
