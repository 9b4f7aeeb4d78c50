"""Standard errors at small path counts (1,000 paths): the ±2 SE intervals of the default
estimators cover the exact values as often as a normal's would, on the cases that
``benchmarks/small_n_se.py`` found short (docs/accuracy.md, Standard errors at small path
counts).

Each calibration test runs one seed per trial and checks each row and Greek against
±2 SE: under correct SEs each check holds with probability 0.954 (a normal's; the t law
of 500 pairs differs by under 0.001).  The share of successes, pooled over rows and
Greeks, must exceed 0.954 − k·its standard error, taken from the spread over seeds of each
seed's share (the checks of one seed are correlated, the seeds independent), k = 4.
Before the fixes the shares were 0.55–0.89; the fast tests run 100 seeds, the ``slow``
ones 1,000.
"""

import functools
import math

import numpy as np
import pytest
from helpers import K, k_for, make_frame, seeds
from scipy import stats

from greeks import engine
from greeks.engine.reduce import FEW, TINY, carried
from greeks.engine.run import MIN_CONTROL_PILOT, control_pilot_paths, fd_candidates
from greeks.models.gbm.analytic import reference
from greeks.models.heston.analytic import heston_digital

COVER = 0.954  # P(|Z| ≤ 2)
MARKET = dict(spot=100.0, rate=0.03, dividend=0.01, vol=0.25)
SWEEPS = [pytest.param(100, id="100-seeds"),
          pytest.param(1_000, id="1000-seeds", marks=pytest.mark.slow)]


def assert_covers(frame, references, seeds_, paths=1_000, columns=(0, 1, 2), **options):
    """The pooled share of |estimate − reference| ≤ 2 SE over ``seeds_`` runs (module
    docstring), and no SE 0 or NaN."""
    hits = []
    for s in seeds_:
        estimates = engine.simulate(frame, paths, seed=s, threads=1, **options)
        mean, se = estimates.mean[:, list(columns)], estimates.se[:, list(columns)]
        assert np.all(np.isfinite(se) & (se > 0)), se
        hits.append(np.mean(np.abs(mean - references[:, list(columns)]) <= 2 * se))
    share = float(np.mean(hits))
    error = max(float(np.std(hits, ddof=1)), 1e-3) / math.sqrt(len(hits))
    assert share >= COVER - K * error, (
        f"±2 SE covered {share:.3f} < {COVER} − {K}·{error:.4f} over {len(hits)} seeds")
    return share


def black_scholes_rows(rows):
    frame = make_frame([{**MARKET, **row} for row in rows])
    return frame, np.array([reference(row)[:3] for _, row in frame.iterrows()])


def test_the_control_pilot_has_at_least_8192_paths_and_is_unchanged_from_131072():
    assert control_pilot_paths(1_000) == MIN_CONTROL_PILOT == 8_192
    assert control_pilot_paths(20_000) == 8_192
    for paths in (131_072, 200_000, 10 ** 6):
        assert control_pilot_paths(paths) == engine.pilot_paths(paths)


@pytest.mark.parametrize("count", SWEEPS)
def test_controlled_delta_and_vega_cover_at_1000_paths(count):
    """An at-the-money and a deep in-the-money call (1 and 2 years): with a pilot of half
    the run (500 paths) the control coefficients' noise left the delta's and vega's ±2 SE
    covering 0.82–0.90 of the time; with the 8,192-path pilot 0.94–0.96."""
    frame, references = black_scholes_rows([dict(id="atm", strike=100.0, maturity=1.0),
                                            dict(id="itm", strike=50.0, maturity=2.0)])
    assert_covers(frame, references, seeds(count, start=70_000), columns=(1, 2),
                  method="mixed")


def test_auto_takes_no_finite_difference_of_a_jump_under_131072_paths():
    """Nor of a row that pathwise estimates (a GBM call), at any path count; a Heston call's
    stays a candidate."""
    frame = make_frame([dict(id="call"), dict(id="digital", instrument="digital"),
                        dict(id="ko", instrument="barrier", barrier=130.0,
                             barrier_type="up-and-out", fixings=12),
                        dict(id="heston", model="heston", vol=None, v0=0.04, kappa=1.5,
                             theta=0.04, xi=0.5, rho=-0.7)])
    default, fd, pathwise = (engine.row_estimators(frame, method)
                             for method in ("auto", "fd", "pathwise"))
    small = fd_candidates(frame, default, fd, pathwise, MIN_CONTROL_PILOT - 2)
    assert small == [default[0], default[1], default[2], fd[3]]
    assert fd_candidates(frame, default, fd, pathwise, MIN_CONTROL_PILOT) == [default[0],
                                                                               *fd[1:]]
    choice = engine.simulate(frame, 20_000, seed=seeds(1)[0], threads=1).choice
    assert not any(label.startswith("fd") for label in choice[:3].ravel())


def barrier_out(omega, strike, level, t, fixings, spots, vol, rate, dividend, h=0.004):
    """A discretely monitored up-and-out call or put (touched when S ≥ B) from each of
    ``spots``, by backward quadrature on a log grid holding log K and log B as nodes: the
    value between dates linear on each cell, integrated exactly against the Gaussian step."""
    dt = t / fixings
    mean, sd = (rate - dividend - 0.5 * vol * vol) * dt, vol * math.sqrt(dt)
    x0, b = math.log(min(spots)), math.log(level)
    nodes = np.union1d(np.linspace(x0 - 10 * vol * math.sqrt(t), b,
                                   int((b - x0 + 10 * vol * math.sqrt(t)) / h) + 1),
                       [math.log(strike)])

    def weights(starts):
        z = (nodes[None, :] - (starts + mean)[:, None]) / sd
        cdf, pdf = stats.norm.cdf(z), stats.norm.pdf(z)
        mass = np.diff(cdf, axis=1)
        slope = (sd * (pdf[:, :-1] - pdf[:, 1:]) + ((starts + mean)[:, None] - nodes[:-1])
                 * mass) / np.diff(nodes)
        w = np.zeros((starts.size, nodes.size))
        w[:, :-1] += mass - slope
        w[:, 1:] += slope
        return w

    value = np.maximum(omega * (np.exp(nodes) - strike), 0.0)
    step = weights(nodes)
    for _ in range(fixings - 1):
        value = step @ value
    return math.exp(-rate * t) * (weights(np.log(np.asarray(spots))) @ value)


@functools.lru_cache(maxsize=None)
def far_knock_out_reference():
    """(price, delta, vega) of the far knock-out below: the quadrature at h = 0.004 and
    0.008 extrapolated (within 4·10⁻⁴ of h = 0.001 and 0.002, against a price SE near 0.3),
    central differences of it in S0 (± 0.1) and σ (± 0.001)."""
    def values(vol, spots):
        args = (1.0, 100.0, 200.0, 1.0, 52, spots, vol, 0.03, 0.01)
        fine = barrier_out(*args)
        return fine + (fine - barrier_out(*args, h=0.008)) / 3

    at, up, down = values(0.25, (100.0, 100.1, 99.9))
    vega = (values(0.251, (100.0,))[0] - values(0.249, (100.0,))[0]) / 0.002
    return np.array([[at, (up - down) / 0.2, vega]])


@pytest.mark.parametrize("count", SWEEPS)
def test_far_knock_out_covers_at_1000_paths(count):
    """An up-and-out call whose barrier (200, weekly) is rarely touched in a year: auto took
    40–60 % of its deltas and vegas from finite differences, whose few barrier-crossing
    paths left ±2 SE covering 55–78 % of the time.  Reference:
    :func:`far_knock_out_reference`."""
    row = dict(id="ko", instrument="barrier", strike=100.0, barrier=200.0,
               barrier_type="up-and-out", fixings=52, **MARKET)
    frame = make_frame([row])
    references = far_knock_out_reference()
    assert_covers(frame, references, seeds(count, start=71_000))


@pytest.mark.parametrize("count", SWEEPS)
def test_rows_that_few_paths_carry_cover_at_1000_paths(count):
    """An in-the-money call over a week (K = 90: about one path in 800 ends below it) and
    an at-the-money digital over a week (its antithetic pairs pay 1/2 unless both ends
    fall on one side, about one pair in 200): a sample that missed those paths read SEs
    from the controls' noise alone (z up to 1,300); ±2 SE covered 0.72–0.87."""
    frame, references = black_scholes_rows([
        dict(id="itm", strike=90.0, maturity=1 / 52),
        dict(id="digital", instrument="digital", strike=100.0, maturity=1 / 52)])
    assert_covers(frame, references, seeds(count, start=72_000))


def test_a_conditional_rows_gamma_that_few_paths_carry_has_an_se_that_covers():
    """A Heston digital call 2.3 SD out of the money (K/S 1.24, 4 months, ρ −0.82: about
    1.5 paths of 10,000 end in the money): its price, delta and vega are conditional values
    (smooth), but its gamma weighs the payoff itself, and a sample that saw one or two
    paying pairs read an SE from them alone (|z| beyond 4.5 on 17 % of 300 seeds, up to
    155).  Its SE is now raised as for a likelihood-ratio row whose variation few units
    carry (:func:`carried`): |z| ≤ k over 40 seeds, against central differences of the
    Fourier delta."""
    row = dict(model="heston", instrument="digital", option_type="call", spot=100.0,
               strike=124.0, maturity=0.35, rate=0.03, dividend=0.02, v0=0.0245, kappa=2.65,
               theta=0.0295, xi=0.708, rho=-0.824, payout=1.0)
    frame = make_frame([dict(id="far", **row)])
    args = {k: row[k] for k in ("strike", "maturity", "rate", "v0", "kappa", "theta", "xi",
                                "rho", "dividend")}
    h = 0.01
    gamma = (heston_digital("call", spot=100.0 + h, **args).delta
             - heston_digital("call", spot=100.0 - h, **args).delta) / (2 * h)
    count = 40
    z = []
    for s in seeds(count, start=74_000):
        estimates = engine.simulate(frame, 10_000, seed=s, threads=1, extra=("gamma",))
        assert estimates.choice[0][0] == "conditional+controls+antithetic"
        z.append((estimates.mean[0, 3] - gamma) / estimates.se[0, 3])
    assert np.max(np.abs(z)) <= k_for(count), np.round(z, 2)


class _Group:
    """The attributes of a group that :func:`carried` reads."""

    def __init__(self, method, antithetic=True, kind=0):
        from greeks.engine.methods import Family

        self.method = getattr(Family, method)
        self.antithetic = antithetic
        self.payoff = type("Spec", (), dict(kind=np.array([kind]), discount=np.array([1.0]),
                                            payout=np.array([1.0]), strike=np.array([100.0]),
                                            omega=np.array([1.0]), barrier=np.array([0.0])))
        self.spot, self.maturity, self.model, self.params = 100.0, 1.0, "gbm", (0.2,)
        self.forward = np.array([100.0])
        self.times = np.array([1.0])
        self.date_index = np.array([0])
        self.date_start = np.array([0, 1])
        self.extra = ()
        self.market, self.conditional = None, True


@pytest.mark.parametrize("m", [0, 1, TINY, FEW - 1, FEW])
def test_carried_raises_the_se_of_few_carrying_units(m):
    """500 pairs, m of them with one paying member: likelihood ratio scales the SE by
    sqrt((m + 1)/m), pathwise adds one carrying unit's mean squared deviation over N²,
    m < TINY takes at least the unseen-event bound, m ≥ FEW keeps the SE; a cash
    digital's price counts pairs with one paying member as alike."""
    units, se = 500, np.array([[1e-3, 2e-3, 3e-3]])
    patterns = np.array([[units - m, m, 0.0, 1.0, 0.0, 0.0, 0.0]])
    lr = carried(_Group("LR"), units, se, patterns)
    scaled = se * math.sqrt((m + 1) / max(m, 1))
    if m < TINY:  # the price's bound R/N = E[L]·σ·sqrt(T)/N is the larger
        assert np.all(lr >= (se if m == 0 else scaled))
        assert lr[0, 0] == pytest.approx(100.0 * 0.2 / units)
    elif m < FEW:
        assert np.allclose(lr, scaled, rtol=1e-15)
    else:
        assert np.array_equal(lr, se)
    deviation = patterns.copy()
    deviation[0, 4:] = m * np.array([4.0, 1.0, 9.0])  # mean squared deviations 4, 1, 9
    pathwise = carried(_Group("PATHWISE"), units, se, deviation)
    if TINY <= m < FEW:
        assert np.allclose(pathwise, np.sqrt(se ** 2 + np.array([4.0, 1.0, 9.0]) / units ** 2))
    digital = carried(_Group("LR", kind=1), units, se, np.array([[0.0, units, 0, 1, 0, 0, 0]]))
    assert digital[0, 0] == pytest.approx(1.0 / units)  # e^{−rT}·payout/N
    assert np.array_equal(digital[0, 1:], se[0, 1:])  # every pair differs: m = 500
    uncounted = patterns.copy()
    uncounted[0, 3] = 0.0
    assert np.array_equal(carried(_Group("LR"), units, se, uncounted), se)


def test_an_unseen_knock_in_is_bounded_by_what_it_pays_at_the_barrier():
    """An up-and-in call struck at 100 with its barrier at 200 (6 months, weekly): at 2,000
    paths (1,000 pairs) about one pair in 7,000 pays, and one that does pays about
    B − K = 100, far beyond the strike's kink scale E[L]·σ·sqrt(T) ≈ 18: with fewer than
    TINY paying pairs (a chance of 1 − 2·10⁻⁵ per run) the price's SE is at least
    e^{−rT}·(B − K)/1,000, which covers the quadrature's value 0.0054 from an estimate of
    0 (the strike's scale gave 0.0018: z of −3 on runs that saw none)."""
    frame = make_frame([dict(id="ui", instrument="barrier", strike=100.0, maturity=0.5,
                             barrier=200.0, barrier_type="up-and-in", fixings=26, **MARKET)])
    bound = math.exp(-0.03 * 0.5) * 100.0 / 1_000
    for s in seeds(10, start=73_000):
        estimates = engine.simulate(frame, 2_000, seed=s, threads=1)
        assert estimates.se[0, 0] >= bound * (1 - 1e-12)
