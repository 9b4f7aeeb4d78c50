"""Shared test helpers: validated instrument frames from a few fields, the suite's seeds,
and the statistical assertions that every statistical test uses.

Seeds.  Every seed of the suite is ``seed(n)``: n plus the offset in the environment
variable ``GREEKS_TEST_SEED`` (default 0), so that the whole suite can be rerun on other
random numbers (``GREEKS_TEST_SEED=1000 pytest``); it must pass at any offset.

Tolerances.  A statistical check is stated in standard errors: |estimate − reference| ≤
k·se with k = ``K`` = 4 (a two-sided normal tail of 6e-5), or a k from :func:`k_for` where
one test makes many such checks, so that a test fails by chance less than about once in a
thousand runs.  Standard errors that are themselves estimated from a sample come with the
sampling error of that estimate (:func:`sd_and_se`); standard errors compared with the
spread of estimates over seeds go by the chi-square law of a sample variance
(:func:`assert_se_matches_spread`).
"""

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from greeks.instruments import validate
from greeks.models.gbm.analytic import reference
from greeks.models.heston.analytic import heston_digital, heston_greeks

ROOT = Path(__file__).resolve().parents[1]  # the repository: data/, instruments/

BASE = dict(instrument="european", option_type="call", strike=100.0, maturity=1.0, spot=100.0,
            rate=0.05, dividend=0.0, model="gbm", vol=0.2)

K = 4.0  # standard errors
FALSE_FAILURES = 1e-3  # the chance that one test fails on correct code, aimed at


def _seed_offset() -> int:
    text = os.environ.get("GREEKS_TEST_SEED", "0").strip() or "0"
    try:
        offset = int(text)
    except ValueError:
        raise ValueError(f"GREEKS_TEST_SEED must be a whole number >= 0, got {text!r}") from None
    if offset < 0:
        raise ValueError(f"GREEKS_TEST_SEED must be a whole number >= 0, got {text!r}")
    return offset


SEED_OFFSET = _seed_offset()


def seed(n: int) -> int:
    """The suite's seed number n: n + GREEKS_TEST_SEED."""
    return int(n) + SEED_OFFSET


def seeds(count: int, start: int = 0) -> list[int]:
    """``count`` consecutive seeds of the suite from number ``start``."""
    return [seed(start + i) for i in range(count)]


def make_frame(rows):
    """A validated frame; each row is a dict with an ``id`` and fields overriding BASE."""
    return validate(pd.DataFrame([{**BASE, **row} for row in rows]), "test")


def closed_form(row):
    """Price, delta and vega of a european or digital row: Black–Scholes or semi-analytic Heston."""
    if row["model"] == "gbm":
        return reference(row)
    args = dict(spot=row["spot"], strike=row["strike"], maturity=row["maturity"],
                rate=row["rate"], v0=row["v0"], kappa=row["kappa"], theta=row["theta"],
                xi=row["xi"], rho=row["rho"], dividend=row["dividend"])
    if row["instrument"] == "digital":
        return heston_digital(row["option_type"], **args, payout=row["payout"])
    return heston_greeks(row["option_type"], **args)


# --- statistics ----------------------------------------------------------------------------

def k_for(checks: int, rate: float = FALSE_FAILURES, df: int | None = None) -> float:
    """Standard errors for ``checks`` two-sided checks to fail together with chance
    ``rate`` (Bonferroni), never below ``K``: normal, or Student's t with ``df`` degrees
    of freedom where the standard error is the spread of a few batch means."""
    q = rate / (2 * max(int(checks), 1))
    return max(K, float(stats.norm.isf(q) if df is None else stats.t.isf(q, df)))


def assert_ladder_matches(table, value):
    """Every scenario of a ladder ``table`` (:func:`greeks.spot_ladder`) against
    ``value(x, y)``, the book's reference value at spot shift x and vol shift y: the values,
    and at the moved scenarios the P&L against value(0, 0), each within k·its SE (k for all
    the checks together).  Returns the moved scenarios' mask."""
    references = np.array([value(x, y) for x, y in zip(table["shift"], table["vol_shift"])])
    k = k_for(2 * len(table))
    assert_within(table["value"], references, table["value_se"], k=k, label="value")
    moved = (table["shift"] != 0) | (table["vol_shift"] != 0)
    assert_within(table["pnl"][moved], references[moved] - value(0.0, 0.0),
                  table["pnl_se"][moved], k=k, label="pnl")
    return moved


def combined_se(*ses):
    """The standard error of a difference (or sum) of independent estimates."""
    return np.sqrt(sum(np.asarray(s, dtype=float) ** 2 for s in ses))


def assert_within(estimate, reference, se, k: float = K, label="", upper=None):
    """|estimate − reference| ≤ k · se, elementwise (arrays broadcast); a NaN anywhere fails.
    With ``upper``, the reference is the interval [reference, upper] (a quantity known only
    to lie between two values): reference − k·se ≤ estimate ≤ upper + k·se.  The message
    gives each failing element's estimate, reference, se and z."""
    est, ref, err, top = np.broadcast_arrays(np.asarray(estimate, dtype=float),
                                             np.asarray(reference, dtype=float),
                                             np.asarray(se, dtype=float),
                                             np.asarray(reference if upper is None else upper,
                                                        dtype=float))
    ok = (est >= ref - k * err) & (est <= top + k * err)
    if ok.all():
        return
    lines = []
    for index in zip(*np.nonzero(~ok)) if est.ndim else [()]:
        e, s = est[index], err[index]
        r = ref[index] if e < ref[index] else top[index]
        z = (e - r) / s if s > 0 else math.copysign(math.inf, e - r) if e != r else math.nan
        if isinstance(label, str):
            where = f"{label}{[int(i) for i in index] if index else ''}"
        else:  # one label per element
            where = str(np.broadcast_to(np.asarray(label, dtype=object), est.shape)[index])
        text = (f"{r:.10g}" if upper is None
                else f"[{ref[index]:.10g}, {top[index]:.10g}]")
        lines.append(f"{where}: estimate {e:.10g}, reference {text}, se {s:.4g}, "
                     f"z = {z:.2f} (limit {k:.2f})")
    raise AssertionError("not within k standard errors:\n  " + "\n  ".join(lines))


def assert_within_allowance(estimates, references: dict, allowance: dict, k: float):
    """Each Greek ``name`` of ``references`` within its allowance (relative, absolute) plus
    k·SE of its reference: |estimates[name] − ref| ≤ relative·|ref| + absolute + k·se,
    the SE ``estimates[name + "_se"]`` (:func:`assert_within` on that interval)."""
    for name, value in references.items():
        relative, absolute = allowance[name]
        allowed = relative * abs(value) + absolute
        assert_within(estimates[name], value - allowed, estimates[f"{name}_se"], k, label=name,
                      upper=value + allowed)


def sd_and_se(values):
    """The sample standard deviation of ``values`` and its own standard error,
    s·sqrt((κ − 1)/(4n)) with κ the sample's kurtosis (the delta method on the sample
    variance, whose standard error is sqrt((m4 − s⁴)/n))."""
    values = np.asarray(values, dtype=float)
    n = values.size
    centred = values - values.mean()
    m2 = np.mean(centred ** 2)
    m4 = np.mean(centred ** 4)
    s = math.sqrt(m2 * n / (n - 1))
    return s, s * math.sqrt(max(m4 / (m2 * m2) - 1.0, 0.0) / (4 * n))


def variance_ratio_and_se(a, b):
    """Var(a)/Var(b) of two samples of the same paths and its standard error (delta method
    on the per-path squared deviations, which keeps their correlation)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    da, db = (a - a.mean()) ** 2, (b - b.mean()) ** 2
    va, vb = da.mean(), db.mean()
    ratio = va / vb
    influence = da / va - db / vb
    return ratio, ratio * influence.std(ddof=1) / math.sqrt(a.size)


def spread_bounds(seeds_: int, checks: int = 1, rate: float = FALSE_FAILURES):
    """Bounds of s²/σ² for a sample variance s² of ``seeds_`` normal estimates: the
    chi-square law with seeds − 1 degrees of freedom, two-sided, ``rate`` shared over
    ``checks`` checks."""
    df = seeds_ - 1
    q = rate / (2 * max(int(checks), 1))
    return stats.chi2.ppf(q, df) / df, stats.chi2.isf(q, df) / df


def assert_se_matches_spread(estimates, ses, rate: float = FALSE_FAILURES, label=""):
    """The reported standard errors are those of the estimates: for each column of
    ``estimates`` (seeds × ...; one independent run per seed) the variance over seeds
    against the mean reported variance, within the chi-square bounds of a sample variance
    over that many seeds (:func:`spread_bounds`), widened by the sampling error of the mean
    reported variance itself; the chance ``rate`` is shared over the columns and the two
    sources.  Columns whose reported SEs are all NaN are skipped; an SE of exactly 0 needs
    estimates that do not move."""
    estimates, ses = np.asarray(estimates, dtype=float), np.asarray(ses, dtype=float)
    n = estimates.shape[0]
    checked = ~np.all(np.isnan(ses), axis=0)
    columns = int(checked.sum())
    assert columns > 0, "nothing to check"
    lower, upper = spread_bounds(n, 2 * columns, rate)
    z = float(stats.norm.isf(rate / (4 * columns)))
    spread = estimates.var(axis=0, ddof=1)
    reported = (ses ** 2).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        noise = (ses ** 2).std(axis=0, ddof=1) / math.sqrt(n) / reported
        ratio = spread / reported
        low = lower / (1 + z * noise)
        high = np.where(z * noise < 0.5, upper / (1 - np.minimum(z * noise, 0.5)), np.inf)
    zero = checked & (reported == 0)
    ok = ~checked | np.where(zero, spread == 0, (ratio >= low) & (ratio <= high))
    if ok.all():
        return
    lines = []
    for index in zip(*np.nonzero(~ok)):
        lines.append(f"{label}{[int(i) for i in index]}: spread/SE "
                     f"{math.sqrt(ratio[index]):.3f} outside [{math.sqrt(low[index]):.3f}, "
                     f"{math.sqrt(high[index]):.3f}] over {n} seeds")
    raise AssertionError("standard errors do not match the spread over seeds:\n  "
                         + "\n  ".join(lines))


def binomial_bounds(trials: int, p: float, checks: int = 1, rate: float = FALSE_FAILURES):
    """Bounds of a count of successes in ``trials`` Bernoulli(p) trials, two-sided, with
    chance ``rate`` shared over ``checks`` checks."""
    q = rate / (2 * max(int(checks), 1))
    return stats.binom.ppf(q, trials, p), stats.binom.isf(q, trials, p)


def years(date: str, valuation: str) -> float:
    """ACT/365F year fraction from ``valuation`` to ``date`` (ISO strings)."""
    return (pd.Timestamp(date) - pd.Timestamp(valuation)).days / 365.0


def integral(node, key: str, t: float, valuation: str) -> float:
    """∫_0^t of a number or a {dates, key} curve: linear through (0,0) and (t_i, z_i t_i),
    the last slope continued (written here, apart from greeks.market)."""
    if not isinstance(node, dict):
        return node * t
    knots = [0.0] + [years(d, valuation) for d in node["dates"]]
    values = [0.0] + [z * u for z, u in zip(node[key], knots[1:])]
    if t <= knots[-1]:
        return float(np.interp(t, knots, values))
    return values[-1] + (values[-1] - values[-2]) / (knots[-1] - knots[-2]) * (t - knots[-1])
