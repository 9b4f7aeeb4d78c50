"""GBM knock-ins off a market by in–out parity, against a reference written here.

The reference of a knock-in is the european's value on the market's dated chain (written
here: DF(T) times the Black formula on the forward S0·G(T) and the total variance w(T) of
``tests/market/test_survival_dated.py``'s curves, yield, proportional dividend and vol
curve) less its knock-out twin's by that file's backward quadrature (``reference``).  The
Greeks are the same central differences of both: delta and gamma in S0, vega in the vol
curve's parallel shift, rho in the zero curve's, theta the value seen from the next
calendar day less today's.  Delta, vega and gamma come from parity; rho and theta off a
market from the bucketed likelihood-ratio weights of the row's default family.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from helpers import (
    assert_se_matches_spread,
    assert_within,
    combined_se,
    integral,
    k_for,
    seed,
    years,
)
from scipy.special import ndtr

from greeks.api import price_portfolio
from greeks.engine.methods import PARITY_LABEL
from greeks.models.gbm import buckets
from tests.market.test_survival_dated import (
    DAILY,
    MARKET,
    UNDERLYING,
    VALUATION,
    WEEKLY,
    _curve,
    _log_growth,
    _runs,
    _total_variance,
    _underlying,
)
from tests.market.test_survival_dated import reference as knock_out_reference

RARE = WEEKLY[:17]
BOOK = pd.DataFrame([
    {"id": "ui-call", "instrument": "barrier", "option_type": "call", "strike": 100.0,
     "barrier": 118.0, "barrier_type": "up-and-in", "expiry": DAILY[-1], "underlying": "X",
     "fixing_dates": ";".join(DAILY)},
    {"id": "di-put", "instrument": "barrier", "option_type": "put", "strike": 102.0,
     "barrier": 82.0, "barrier_type": "down-and-in", "expiry": WEEKLY[-1], "underlying": "X",
     "fixing_dates": ";".join(WEEKLY)},
    {"id": "ui-call-rare", "instrument": "barrier", "option_type": "call", "strike": 100.0,
     "barrier": 145.0, "barrier_type": "up-and-in", "expiry": RARE[-1], "underlying": "X",
     "fixing_dates": ";".join(RARE)},
])
NAMES = ("price", "delta", "vega", "gamma", "rho_rate", "theta_per_day")
TWIN = {"up-and-in": "up-and-out", "down-and-in": "down-and-out"}


def _vanilla(row, spot, vol_shift=0.0, rate_shift=0.0, valuation=VALUATION):
    """DF(T) E[g(S_T)] on the dated chain seen from ``valuation``: the Black formula on
    F = S0 G(T) and w(T) (of the row's own vol where it gives one)."""
    t = years(row["expiry"], valuation)
    forward = spot * math.exp(_log_growth(t, rate_shift, valuation))
    deviation = math.sqrt(_total_variance(t, vol_shift, valuation, _underlying(row)["vol"]))
    discount = math.exp(-integral(_curve(rate_shift), "zero_rates", t, valuation))
    d1 = math.log(forward / row["strike"]) / deviation + 0.5 * deviation
    omega = 1.0 if row["option_type"] == "call" else -1.0
    return discount * omega * (forward * ndtr(omega * d1)
                               - row["strike"] * ndtr(omega * (d1 - deviation)))


def reference(row, spot=100.0, bump=1e-3, vol_bump=1e-3, rate_bump=1e-3):
    """(price, delta, vega, gamma, rho, theta per day) of a knock-in and their error bound:
    the vanilla's central differences (as the twin's) less the twin's quadrature's."""
    twin = {**row, "barrier_type": TWIN[row["barrier_type"]]}
    out, error = knock_out_reference(twin, spot, bump, vol_bump, rate_bump)
    later = (pd.Timestamp(VALUATION) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    base, up, down = (_vanilla(row, s) for s in (spot, spot * (1 + bump), spot * (1 - bump)))
    vanilla = np.array([
        base, (up - down) / (2 * bump * spot),
        (_vanilla(row, spot, vol_shift=vol_bump)
         - _vanilla(row, spot, vol_shift=-vol_bump)) / (2 * vol_bump),
        (up - 2.0 * base + down) / (bump * spot) ** 2,
        (_vanilla(row, spot, rate_shift=rate_bump)
         - _vanilla(row, spot, rate_shift=-rate_bump)) / (2 * rate_bump),
        _vanilla(row, spot, valuation=later) - base])
    return vanilla - out, error


def test_dated_knock_ins_by_parity_match_the_reference_and_their_standard_errors_the_spread():
    """An up-and-in call monitored daily, a down-and-in put monitored weekly past the last
    vol node, and a rarely hit up-and-in call, off a 3-node zero curve, a yield, a 3-node
    vol curve and a proportional dividend: price, delta, vega, gamma, rho and theta within
    k·SE of the reference at every seed and for their mean (the call's theta NaN: its
    first date is the next day); the SEs against the spread over the seeds.  The rarely hit
    call's rho and theta, which come from the likelihood-ratio buckets of its default group
    (on the paths few of which hit at 20,000: a seed where none does reports an SE near
    0), are only finite."""
    runs = _runs(BOOK, 8, 20_000, 401, method="parity", greeks="gamma,rho,theta")
    assert all(list(run["method"]) == [PARITY_LABEL] * 3 for run in runs)
    estimates = np.stack([run[list(NAMES)].to_numpy(dtype=float) for run in runs])
    ses = np.stack([run[[f"{g}_se" for g in NAMES]].to_numpy(dtype=float) for run in runs])
    references = [reference(row) for row in BOOK.to_dict("records")]
    undefined = np.array([np.isnan(expected) for expected, _ in references])
    assert np.isnan(estimates[:, undefined]).all() and np.isnan(ses[:, undefined]).all()
    bucketed = np.isin(NAMES, ("rho_rate", "theta_per_day"))
    assert np.isfinite(estimates[:, 2, bucketed]).all()
    defined = ~undefined
    defined[2, bucketed] = False
    k = k_for(9 * int(defined.sum()))
    for j, row in BOOK.iterrows():
        expected, error = references[j]
        on = defined[j]
        labels = [f"{row['id']} {g}" for g, kept in zip(NAMES, on) if kept]
        assert_within(estimates[:, j, on], expected[on], combined_se(ses[:, j, on], error[on]),
                      k, label=labels)
        pooled = np.sqrt((ses[:, j, on] ** 2).mean(axis=0) / len(runs))
        assert_within(estimates[:, j, on].mean(axis=0), expected[on],
                      combined_se(pooled, error[on]), k,
                      label=[f"{label} (mean)" for label in labels])
    assert_se_matches_spread(estimates[:, defined], ses[:, defined])


def test_which_knock_ins_go_by_parity_under_auto():
    """auto takes delta and vega of a dated knock-in from parity where its knock-out twin
    goes by survival conditioning and no cash dividend falls on or before its expiry (one
    after it does not count); across a cash dividend the knock-in stays on likelihood
    ratio.  The default family (the ``method`` column) stays likelihood ratio, under
    ``mixed`` too; under ``parity`` it is parity where auto may take it."""
    spec = {**MARKET, "underlyings": {
        "X": UNDERLYING,
        "Z": {**UNDERLYING, "dividends": [{"ex_date": "2027-06-15", "amount": 1.0}]}}}
    weekly = ";".join(WEEKLY[:20])
    early = ";".join(WEEKLY[:10])
    knock_in = {"instrument": "barrier", "option_type": "call", "strike": 100.0,
                "barrier": 118.0, "barrier_type": "up-and-in", "expiry": WEEKLY[19],
                "fixing_dates": weekly}
    book = pd.DataFrame([
        {**knock_in, "id": "x-ui", "underlying": "X"},
        {**knock_in, "id": "z-ui", "underlying": "Z"},
        {**knock_in, "id": "z-ui-early", "underlying": "Z", "expiry": WEEKLY[9],
         "fixing_dates": early},
        {"id": "x-call", "instrument": "european", "option_type": "call", "strike": 100.0,
         "expiry": WEEKLY[19], "underlying": "X"},
        {"id": "x-uo", **knock_in, "barrier_type": "up-and-out", "underlying": "X"}])
    lr = "lr+controls+antithetic"
    run = dict(market=spec, paths=20_000, seed=seed(410), threads=1)
    out = price_portfolio(book, **run)
    assert list(out["method"][:3]) == [lr] * 3
    assert list(out["method_vega"][:3]) == [PARITY_LABEL, lr, PARITY_LABEL]
    parity = price_portfolio(book, method="parity", **run)
    assert list(parity["method"][:3]) == [PARITY_LABEL, lr, PARITY_LABEL]
    assert list(price_portfolio(book, method="mixed", **run)["method"][:3]) == [lr] * 3


FAR = WEEKLY[1::2][:29]
FAR_CALL = {"id": "di-call-far", "instrument": "barrier", "option_type": "call", "strike": 114.0,
            "barrier": 65.0, "barrier_type": "down-and-in", "expiry": FAR[-1],
            "underlying": "X", "vol": 0.365, "fixing_dates": ";".join(FAR)}


def test_a_rarely_hit_dated_knock_ins_theta_by_likelihood_ratio_matches_the_reference():
    """A down-and-in call struck at 114 with its barrier at 65, on 29 fortnightly dates, at
    a vol of its own of 0.365 (price 0.033 of a spot of 100: at 20,000 paths a few dozen
    paths carry it): its theta, from the bucket pass by the likelihood ratio of every
    segment (a knock-in's coupled one-day difference is the whole payoff on the rare paths
    the shift carries across the barrier, and the seeds that miss them reported |z| of
    5.5–6.4 on 3 of these 8), within k·SE of the reference at every seed and for the
    mean, and the SEs against the spread over the seeds."""
    row = FAR_CALL
    runs = _runs(pd.DataFrame([row]), 8, 20_000, 420, greeks="theta")
    estimates = np.array([run["theta_per_day"].iat[0] for run in runs])
    ses = np.array([run["theta_per_day_se"].iat[0] for run in runs])
    expected, error = reference(row)
    se = combined_se(ses, error[5])
    assert_within(estimates, expected[5], se, k_for(9), label="theta")
    assert_within(estimates.mean(), expected[5],
                  combined_se(np.sqrt((ses ** 2).mean() / len(runs)), error[5]), k_for(9),
                  label="theta (mean)")
    assert_se_matches_spread(estimates[:, None], ses[:, None])


def test_which_knock_ins_theta_goes_by_coupling(monkeypatch):
    """The choice of a knock-in's theta estimator by its closed-form probability of ending
    in the money once knocked in (:data:`greeks.models.gbm.buckets.KNOCK_IN_COUPLED`): the
    commonly hit down-and-in put of ``instruments/book.csv`` (0.96) keeps the coupled
    one-day difference (its theta bit-identical to every knock-in coupled, and its SE below
    the likelihood ratio's: ±0.138 against ±0.450 per day at 200,000 paths), the far
    down-and-in call above (0.008) goes by the likelihood ratio."""
    instruments = Path(__file__).resolve().parents[2] / "instruments"
    book = pd.read_csv(instruments / "book.csv")
    book = book[book["id"] == "SPX-DI-P-5000-4200"].reset_index(drop=True)
    market = json.loads((instruments / "market.json").read_text())
    cases = ((book, market), (pd.DataFrame([FAR_CALL]), MARKET))

    def thetas():
        return [price_portfolio(rows, market=m, paths=20_000, seed=seed(430), threads=1,
                                greeks="theta")[["theta_per_day", "theta_per_day_se"]]
                for rows, m in cases]

    chosen = thetas()
    monkeypatch.setattr(buckets, "KNOCK_IN_COUPLED", 0.0)  # every knock-in coupled
    coupled = thetas()
    monkeypatch.setattr(buckets, "KNOCK_IN_COUPLED", 2.0)  # every knock-in by the ratio
    ratio = thetas()
    pd.testing.assert_frame_equal(chosen[0], coupled[0])
    pd.testing.assert_frame_equal(chosen[1], ratio[1])
    assert chosen[0]["theta_per_day_se"].iat[0] < 0.6 * ratio[0]["theta_per_day_se"].iat[0]
