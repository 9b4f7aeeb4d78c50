"""GBM knock-outs off a market by survival conditioning, against a quadrature written here.

The reference is the discretely monitored knock-out on the market's dated chain, by
backward induction in x = log S over the monitoring dates (numpy and ``scipy.special``
only, nothing of greeks' estimators): between dates log S moves by N(μ_i, s_i²) with
μ_i = Δ(I_r − I_q + log kept)_i − Δw_i/2, s_i² = Δw_i (curves, the flat yield and the
proportional dividend integrated here, w the vol curve's total variance); the value at
each date is kept on a uniform grid with the barrier and the strike on nodes, taken as
piecewise linear between the nodes, and each step's Gaussian integral over the surviving
side is done exactly on each linear piece (Φ and φ), so the only error is the
interpolation's, O(h²): two grids, h and h/2, extrapolated (Richardson), their difference
taken as the reference's error.  Delta and gamma are the first and second central
differences of the value in S0, vega that of the vol curve moved in parallel (every node
σ_j ± ε), rho that of the zero curve moved in parallel (every zero rate z_j ± ε, the carry
and the discount alike), and theta the value seen from the next calendar day (every date and
node kept, their year fractions from there) less today's, all on the quadrature (no
sampling error).

Cash dividends: the chain's dates are then the row's and the cash ex-dates up to its expiry,
and the price drops at an ex-date, S → max(S − D, 0), before the date's monitoring (a
monitoring date on an ex-date watches the price after the drop).  Backwards, the value just
after the drop becomes the value just before it through x ↦ ±log(e^{±x} − D) (a cubic
spline of the smooth value between its nodes, O(h⁴)); on a monitoring date that value lives
on the surviving side of log(B + D) in the pre-drop coordinate, put on a node of its own
grid (the next step's integral takes the grids' offset into its mean); an ex-date that is
not one keeps the value on the nodes past the barrier too, where a path may be and return
by the next monitoring date.  A price taken to 0 keeps g(0) under an up barrier and is
knocked out under a down one.
"""

import math

import numpy as np
import pandas as pd
from helpers import (
    assert_se_matches_spread,
    assert_within,
    combined_se,
    integral,
    k_for,
    seed,
    seeds,
    years,
)
from scipy.interpolate import CubicSpline
from scipy.special import ndtr

from greeks.api import price_portfolio

VALUATION = "2027-03-01"
CURVE = {"dates": ["2027-06-01", "2027-12-01", "2028-09-01"], "zero_rates": [0.030, 0.034, 0.031]}
VOL = {"dates": ["2027-05-03", "2027-10-01", "2028-03-01"], "vols": [0.26, 0.22, 0.20]}
YIELD = 0.012
DIVIDEND = {"ex_date": "2027-07-15", "yield": 0.02}
UNDERLYING = {"spot": 100.0, "curve": "EUR", "dividend_yield": YIELD, "dividends": [DIVIDEND],
              "vol": VOL}
MARKET = {"valuation_date": VALUATION, "curves": {"EUR": CURVE},
          "underlyings": {"X": UNDERLYING}}
DAILY = [d.strftime("%Y-%m-%d") for d in pd.bdate_range("2027-03-02", "2027-11-15")]
WEEKLY = [d.strftime("%Y-%m-%d") for d in pd.date_range("2027-03-08", "2028-05-29", freq="7D")]
BOOK = pd.DataFrame([
    {"id": "uo-call", "instrument": "barrier", "option_type": "call", "strike": 100.0,
     "barrier": 118.0, "barrier_type": "up-and-out", "expiry": DAILY[-1], "underlying": "X",
     "fixing_dates": ";".join(DAILY)},
    {"id": "do-put", "instrument": "barrier", "option_type": "put", "strike": 102.0,
     "barrier": 82.0, "barrier_type": "down-and-out", "expiry": WEEKLY[-1], "underlying": "X",
     "fixing_dates": ";".join(WEEKLY)},
])
GREEKS = ("price", "delta", "vega")
FURTHER = ("gamma", "rho_rate", "theta_per_day")
# cash dividends: on a business day (a monitoring date of the daily call and, 2027-05-10, of
# the weekly put) and on a Thursday (none of the weekly put's)
CASH = [{"ex_date": "2027-05-10", "amount": 1.5}, {"ex_date": "2027-08-12", "amount": 1.2}]
PAYING = {**UNDERLYING, "dividends": [CASH[0], DIVIDEND, CASH[1]]}
LARGE = {**UNDERLYING, "dividends": [{"ex_date": "2027-06-01", "amount": 60.0}]}
UNDERLYINGS = {"X": UNDERLYING, "C": PAYING, "H": LARGE}
CASH_MARKET = {**MARKET, "underlyings": UNDERLYINGS}
CASH_BOOK = BOOK.assign(id=["c-uo-call", "c-do-put"], underlying="C")
# a drop of 60 on a spot of 100 at a vol of 0.6 of the rows' own takes about 5% of the prices
# to 0: the put's monitoring date on the ex-date watches S⁻ < B + D = 185 (and keeps the
# paths at 0, which pay K), the call's ex-date is no monitoring date (its paths at 0 die)
LARGE_BOOK = pd.DataFrame([
    {"id": "h-uo-put", "instrument": "barrier", "option_type": "put", "strike": 100.0,
     "barrier": 125.0, "barrier_type": "up-and-out", "expiry": "2027-09-01", "underlying": "H",
     "vol": 0.6,
     "fixing_dates": "2027-04-01;2027-05-03;2027-06-01;2027-07-01;2027-08-02;2027-09-01"},
    {"id": "h-do-call", "instrument": "barrier", "option_type": "call", "strike": 40.0,
     "barrier": 30.0, "barrier_type": "down-and-out", "expiry": "2027-09-15",
     "underlying": "H", "vol": 0.6,
     "fixing_dates": "2027-04-15;2027-05-14;2027-06-15;2027-07-15;2027-08-16;2027-09-15"},
])


# --- the reference -----------------------------------------------------------------------------

def _underlying(row) -> dict:
    """The row's underlying (of :data:`UNDERLYINGS`), with its own flat vol if it gives one."""
    spec = UNDERLYINGS[row["underlying"]]
    vol = row.get("vol")
    return spec if vol is None or pd.isna(vol) else {**spec, "vol": float(vol)}


def _total_variance(t: float, shift: float, valuation: str = VALUATION, vol=None) -> float:
    """w(t) of the vol curve (default :data:`VOL`; a number: flat) with every node moved by
    ``shift``: linear through (0, 0) and (t_j, σ_j² t_j), σ_n² t beyond the last node (year
    fractions from ``valuation``)."""
    vol = VOL if vol is None else vol
    if not isinstance(vol, dict):
        return (vol + shift) ** 2 * t
    knots = [0.0] + [years(d, valuation) for d in vol["dates"]]
    vols = [v + shift for v in vol["vols"]]
    values = [0.0] + [v * v * u for v, u in zip(vols, knots[1:])]
    return float(np.interp(t, knots, values)) if t <= knots[-1] else vols[-1] ** 2 * t


def _curve(shift: float) -> dict:
    """The zero curve with every zero rate moved by ``shift`` (a parallel shift)."""
    return {**CURVE, "zero_rates": [z + shift for z in CURVE["zero_rates"]]}


def _log_growth(t: float, rate_shift: float = 0.0, valuation: str = VALUATION,
                underlying: dict = UNDERLYING) -> float:
    """log G(t): the integrated rate less the yield, and each proportional drop once paid
    (cash drops are not in G)."""
    kept = sum(math.log(1.0 - d["yield"]) for d in underlying["dividends"]
               if "yield" in d and t >= years(d["ex_date"], valuation))
    return (integral(_curve(rate_shift), "zero_rates", t, valuation)
            - underlying["dividend_yield"] * t + kept)


def _segments(u: np.ndarray, ratio: float):
    """Per segment m between consecutive standardised coordinates u_m, u_{m+1} (the nodes'
    (y − x − μ)/s, spacing ``ratio`` = h/s): the kernel's mass Φ(u_{m+1}) − Φ(u_m) on it,
    and the part ∫ (u − u_m)/ratio φ(u) du of it that the rising half of the hat function of
    node m + 1 takes."""
    mass = ndtr(u[1:]) - ndtr(u[:-1])
    density = np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
    return mass, (density[:-1] - density[1:] - u[:-1] * mass) / ratio


def _weights(x: float, nodes: np.ndarray, mu: float, s: float) -> np.ndarray:
    """∫ hat_j(y) φ((y − x − μ)/s)/s dy for each node j over the grid (half hats at its
    ends: nothing beyond them)."""
    h = nodes[1] - nodes[0]
    mass, rise = _segments((nodes - x - mu) / s, h / s)
    out = np.zeros(nodes.size)
    out[1:] += rise
    out[:-1] += mass - rise
    return out


def _step(v: np.ndarray, h: float, mu: float, s: float, size: int | None = None) -> np.ndarray:
    """The value one date earlier on the nodes x_a = x_0 + a h, a = 0 .. ``size`` − 1
    (default: those of ``v``): Σ_j W(a, j) v_j, v piecewise linear on y_j = x_0 + j h, W(a, j)
    of :func:`_weights` from node a, which depends on j − a only (a convolution, cut where the
    kernel is below 1e-30) but at v's ends, where a node has half a hat; nodes past v's last
    one (``size`` > v.size) see its half hat too.  An offset of v's nodes from the
    output's, y_0 − x_0, is taken off ``mu``."""
    size = v.size if size is None else size
    half = int(math.ceil((12.0 * s + abs(mu)) / h)) + 1
    u = (np.arange(-half, half + 2) * h - mu) / s
    mass, rise = _segments(u, h / s)
    left, right = np.concatenate(([0.0], rise[:-1])), mass - rise  # offsets −half..half
    full = np.convolve(v, (left + right)[::-1])  # full[a + half]: node a, −half ≤ a < size + half
    out = np.zeros(size)
    kept = min(size, v.size + half)
    out[:kept] = full[half:half + kept]
    offset = np.arange(size)
    top, bottom = v.size - 1 - offset, -offset
    near = np.abs(top) <= half
    out[near] -= right[top[near] + half] * v[-1]
    near = np.abs(bottom) <= half
    out[near] -= left[bottom[near] + half] * v[0]
    return out


def _chain(row, vol_shift=0.0, rate_shift=0.0, valuation=VALUATION):
    """The row's chain seen from ``valuation`` (its dates' year fractions from there, every
    date and node kept): its dates and the cash ex-dates up to its expiry, the steps' means
    μ_i and sds s_i (in −x for a down barrier), the cash dropped at each date, whether each
    is a monitoring date, and DF(T)."""
    spec = _underlying(row)
    fixings = np.array([years(d, valuation) for d in row["fixing_dates"].split(";")])
    cash: dict = {}
    for dividend in spec["dividends"]:
        t = years(dividend["ex_date"], valuation)
        if "amount" in dividend and t <= fixings[-1]:
            cash[t] = cash.get(t, 0.0) + dividend["amount"]
    times = np.union1d(fixings, list(cash))
    drops = np.array([cash.get(t, 0.0) for t in times])
    assert drops[-1] == 0.0  # the drop's map reads a smooth value (no payoff kink)
    clock = np.array([_total_variance(t, vol_shift, valuation, spec["vol"]) for t in times])
    grown = np.array([_log_growth(t, rate_shift, valuation, spec) for t in times])
    sign = 1.0 if row["barrier_type"] == "up-and-out" else -1.0
    mu = sign * (np.diff(grown, prepend=0.0) - 0.5 * np.diff(clock, prepend=0.0))
    discount = math.exp(-integral(_curve(rate_shift), "zero_rates", times[-1], valuation))
    return mu, np.sqrt(np.diff(clock, prepend=0.0)), drops, np.isin(times, fixings), discount


def _spacing(row, s, per_sd):
    """About min s_i / ``per_sd`` with the barrier and the strike on nodes."""
    span = abs(math.log(row["barrier"]) - math.log(row["strike"]))
    return span / math.ceil(span * per_sd / s.min())


def _dropped(v: np.ndarray, row, cash: float, watched: bool, h: float, below: int):
    """The value just before a cash drop, as a function of the pre-drop coordinate y, from
    ``v``, the value just after it on the nodes x_B − h·below + h·j (x = ±log S, the
    barrier's x_B on a node): v at x(y) = ±log(e^{±y} − D), by a cubic spline of v (v is
    smooth there: no payoff kink before expiry), linear in the price beyond v's far end,
    0 beyond its near end (a price so far past the barrier that no step returns).  A price
    the drop takes to 0 keeps g(0) under an up barrier and is knocked out under a down one.
    On a monitoring date the price after the drop is watched: y survives on one side of
    ±log(B + D), the top node of the returned values' nodes (offset from v's by the
    returned amount); otherwise on v's nodes.  Returns (values, offset)."""
    sign = 1.0 if row["barrier_type"] == "up-and-out" else -1.0
    top = sign * math.log(row["barrier"])
    nodes = top - h * below + h * np.arange(v.size)
    anchor = sign * math.log(row["barrier"] + cash) if watched else top
    y = anchor - h * below + h * np.arange(below + 1 if watched else v.size)
    before = np.exp(sign * y)
    rest = before - cash
    omega = 1.0 if row["option_type"] == "call" else -1.0
    out = np.full(y.size, max(-omega * row["strike"], 0.0) if sign > 0 else 0.0)
    paid = rest > 0.0
    x = sign * np.log(rest[paid])
    if watched:
        x = np.minimum(x, nodes[-1])  # the top node maps to the barrier (up to rounding)
    values = np.zeros(x.size)
    inside = (x >= nodes[0]) & (x <= nodes[-1])
    values[inside] = CubicSpline(nodes, v)(x[inside])
    far = x < nodes[0]
    ends = np.exp(sign * nodes[:2])
    values[far] = v[0] + (rest[paid][far] - ends[0]) * (v[1] - v[0]) / (ends[1] - ends[0])
    out[paid] = values
    return out, anchor - top


def _quadrature(spots, row, per_sd, vol_shift=0.0, rate_shift=0.0, valuation=VALUATION,
                h=None):
    """DF(T) E[g(S_T) 1{S survives every date}] from each of ``spots`` (the chain of
    :func:`_chain`) on a grid of spacing ``h`` (default :func:`_spacing` of that chain),
    the barrier and the strike on nodes.  A down barrier is an up barrier in −x (the
    steps' means change sign, the normals do not).  Backwards over the dates: at a
    monitoring date the value lives on the surviving side of the barrier (half a hat at
    its node); at an ex-date that is not one, also on the nodes past it that a step
    reaches; a cash drop maps the value to the pre-drop coordinate (:func:`_dropped`)
    before the step that leads to it."""
    mu, s, drops, watched, discount = _chain(row, vol_shift, rate_shift, valuation)
    sign = 1.0 if row["barrier_type"] == "up-and-out" else -1.0
    barrier, strike = sign * math.log(row["barrier"]), sign * math.log(row["strike"])
    h = _spacing(row, s, per_sd) if h is None else h
    reach = barrier - strike + 10.0 * math.sqrt((s * s).sum()) + np.abs(mu).sum() + 1.0
    if sign > 0.0 and math.exp(barrier - reach) < 2.0 * drops.max():
        # a drop may take the price to (near) 0: the grid down to a millionth of the
        # smallest, so that the values its far end loses (no nodes beyond it) sit where the
        # post-drop prices have no mass
        reach = barrier - math.log(1e-6 * drops[drops > 0.0].min())
    below = math.ceil(reach / h)
    beyond = 0 if watched.all() else math.ceil((12.0 * s.max() + np.abs(mu).max()) / h) + 1
    nodes = barrier - h * np.arange(below, -1, -1)
    omega = 1.0 if row["option_type"] == "call" else -1.0
    v = np.maximum(omega * (np.exp(sign * nodes) - row["strike"]), 0.0)
    offset = 0.0
    for i in range(s.size - 1, -1, -1):
        offset = 0.0
        if drops[i] > 0.0:
            v, offset = _dropped(v, row, drops[i], watched[i], h, below)
        if i > 0:
            v = _step(v, h, mu[i] - offset, s[i], below + 1 + (0 if watched[i - 1] else beyond))
    nodes = barrier + offset - h * below + h * np.arange(v.size)
    return np.array([discount * _weights(sign * math.log(spot), nodes, mu[0], s[0]) @ v
                     for spot in spots])


def reference(row, spot=100.0, bump=1e-3, vol_bump=1e-3, rate_bump=1e-3):
    """(price, delta, vega, gamma, rho, theta) and their error bound: Richardson on grids
    of s/20 and s/40; delta and gamma by central differences in S0 (bump ``bump`` S0),
    vega and rho in the parallel shifts of the vol curve and of the zero rates
    (``vol_bump``, ``rate_bump``), theta the value seen from the next calendar day (on
    today's grid) less today's, NaN when the first date is within a day."""
    later = (pd.Timestamp(VALUATION) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    first = years(row["fixing_dates"].split(";")[0], VALUATION)
    values = []
    for per_sd in (20, 40):
        base, up, down = _quadrature([spot, spot * (1 + bump), spot * (1 - bump)], row,
                                     per_sd)
        vega = (_quadrature([spot], row, per_sd, vol_shift=vol_bump)[0]
                - _quadrature([spot], row, per_sd, vol_shift=-vol_bump)[0]) / (2 * vol_bump)
        rho = (_quadrature([spot], row, per_sd, rate_shift=rate_bump)[0]
               - _quadrature([spot], row, per_sd, rate_shift=-rate_bump)[0]) / (2 * rate_bump)
        h = _spacing(row, _chain(row)[1], per_sd)
        theta = (_quadrature([spot], row, per_sd, valuation=later, h=h)[0] - base
                 if first > 1.0 / 365.0 else math.nan)
        values.append(np.array([base, (up - down) / (2 * bump * spot), vega,
                                (up - 2.0 * base + down) / (bump * spot) ** 2, rho, theta]))
    coarse, fine = values
    return fine + (fine - coarse) / 3.0, np.abs(fine - coarse) / 3.0


def test_the_quadrature_converges_and_matches_a_plain_simulation():
    """The reference itself: h² convergence (the two grids' gap 4× that of s/40 and s/80),
    and the weekly down-and-out put against a plain numpy simulation of the same chain
    (400,000 paths)."""
    row = BOOK.iloc[1]
    times = np.array([years(d, VALUATION) for d in row["fixing_dates"].split(";")])
    values = [_quadrature([100.0], row, n)[0] for n in (20, 40, 80)]
    assert abs(values[1] - values[0]) / abs(values[2] - values[1]) > 3.5
    rng = np.random.default_rng(seed(70))
    n = 400_000
    clock = np.array([_total_variance(t, 0.0) for t in times])
    mean = np.diff([_log_growth(t) for t in times], prepend=0.0) - 0.5 * np.diff(clock,
                                                                                 prepend=0.0)
    log_s = math.log(100.0) + np.cumsum(
        mean + np.sqrt(np.diff(clock, prepend=0.0)) * rng.standard_normal((n, times.size)),
        axis=1)
    alive = (log_s > math.log(row["barrier"])).all(axis=1)
    discount = math.exp(-integral(CURVE, "zero_rates", times[-1], VALUATION))
    paid = discount * alive * np.maximum(row["strike"] - np.exp(log_s[:, -1]), 0.0)
    assert_within(reference(row)[0][0], paid.mean(), paid.std() / math.sqrt(n))


def _plain_simulation(row, n, rng):
    """DF(T) g(S_T) 1{S survives every monitoring date} on n paths of the row's chain
    (:func:`_chain`), simulated in the price itself: each step's lognormal factor, then the
    date's cash drop floored at 0, then the monitoring of the price after it."""
    mu, s, drops, watched, discount = _chain(row)
    up = row["barrier_type"] == "up-and-out"
    price = np.full(n, UNDERLYINGS[row["underlying"]]["spot"])
    alive = np.ones(n, dtype=bool)
    for i in range(s.size):
        price = price * np.exp((1.0 if up else -1.0) * mu[i] + s[i] * rng.standard_normal(n))
        if drops[i] > 0.0:
            price = np.maximum(price - drops[i], 0.0)
        if watched[i]:
            alive &= (price < row["barrier"]) if up else (price > row["barrier"])
    omega = 1.0 if row["option_type"] == "call" else -1.0
    return discount * alive * np.maximum(omega * (price - row["strike"]), 0.0)


def test_the_quadrature_across_cash_drops_converges_and_matches_a_plain_simulation():
    """The reference with cash drops: h² convergence on the weekly put (one ex-date a
    monitoring date, one not) and on the put whose drop takes about 5% of the prices to 0;
    those and the other two rows' prices against a plain numpy simulation of their chains
    (400,000 paths each)."""
    rows = [row for book in (CASH_BOOK, LARGE_BOOK) for _, row in book.iterrows()]
    for row in (rows[1], rows[2]):
        values = [_quadrature([100.0], row, n)[0] for n in (20, 40, 80)]
        assert abs(values[1] - values[0]) / abs(values[2] - values[1]) > 3.5, row["id"]
    rng = np.random.default_rng(seed(90))
    for row in rows:
        paid = _plain_simulation(row, 400_000, rng)
        values = [_quadrature([100.0], row, n)[0] for n in (20, 40)]
        assert_within(values[1] + (values[1] - values[0]) / 3.0, paid.mean(),
                      paid.std() / math.sqrt(paid.size), k_for(len(rows)), label=row["id"])


# --- the engine against it ---------------------------------------------------------------------

def _runs(book, count, paths, start, market=MARKET, **options):
    return [price_portfolio(book, market=market, paths=paths, seed=s, threads=1, **options)
            for s in seeds(count, start)]


def _assert_runs_match(book, runs, references, k):
    """Each row's Greeks (:data:`GREEKS` and :data:`FURTHER`) at every seed of ``runs`` and
    their mean over the seeds within k·SE of ``references`` (per row: values and errors,
    the SE the estimate's combined with the reference's error); NaN where the reference is;
    the SEs against the spread over the seeds."""
    names = GREEKS + FURTHER
    estimates = np.stack([run[list(names)].to_numpy(dtype=float) for run in runs])
    ses = np.stack([run[[f"{g}_se" for g in names]].to_numpy(dtype=float) for run in runs])
    for j, row in book.iterrows():
        expected, error = references[j]
        on = ~np.isnan(expected)
        assert np.isnan(estimates[:, j, ~on]).all() and np.isnan(ses[:, j, ~on]).all()
        labels = [f"{row['id']} {g}" for g, kept in zip(names, on) if kept]
        assert_within(estimates[:, j, on], expected[on], combined_se(ses[:, j, on], error[on]),
                      k, label=labels)
        pooled = np.sqrt((ses[:, j, on] ** 2).mean(axis=0) / len(runs))  # the mean over seeds
        assert_within(estimates[:, j, on].mean(axis=0), expected[on],
                      combined_se(pooled, error[on]), k,
                      label=[f"{label} (mean)" for label in labels])
    assert_se_matches_spread(estimates.reshape(len(runs), -1), ses.reshape(len(runs), -1))


def test_dated_knock_outs_match_the_quadrature_and_their_standard_errors_the_spread():
    """An up-and-out call monitored daily and a down-and-out put monitored weekly past the
    last vol node, on a 3-node zero curve, a yield, a 3-node vol curve and a proportional
    dividend: price, delta, vega, gamma, rho (per 1.00 of a parallel zero-rate shift) and
    theta (the one-day change) within k·SE of the reference at every seed and for their
    mean, the SE the estimate's combined with the reference's Richardson error; the call's
    theta NaN (its first date is the next day).  The put's theta, small against its SE at
    20,000 paths, again at 500,000.  The SEs against the spread over the seeds."""
    runs = _runs(BOOK, 10, 20_000, 71, greeks="gamma,rho,theta")
    assert all(set(run["method"]) == {"survival+pathwise+antithetic"} for run in runs)
    put = BOOK.iloc[[1]].reset_index(drop=True)
    theta = price_portfolio(put, market=MARKET, paths=500_000, seed=seed(81), threads=1,
                            greeks="theta")
    references = [reference(row) for _, row in BOOK.iterrows()]
    defined = sum(int((~np.isnan(expected)).sum()) for expected, _ in references)
    k = k_for(11 * defined + 1)  # each seed and the mean, and the put's theta
    _assert_runs_match(BOOK, runs, references, k)
    assert_within(theta["theta_per_day"][0], references[1][0][5],
                  combined_se(theta["theta_per_day_se"][0], references[1][1][5]), k,
                  label="do-put theta (500,000 paths)")


def test_knock_outs_across_cash_dividends_match_the_quadrature():
    """The same two rows on an underlying that also pays two cash dividends before their
    expiries, one on a monitoring date of both (the barrier watched after the drop), one on
    a monitoring date of the daily call only: by survival conditioning across the drops,
    price, delta, vega, gamma, rho and theta within k·SE of the reference at every seed and
    for their mean (the call's theta NaN), the SEs against the spread over the seeds."""
    runs = _runs(CASH_BOOK, 10, 20_000, 91, market=CASH_MARKET, greeks="gamma,rho,theta")
    assert all(set(run["method"]) == {"survival+pathwise+antithetic"} for run in runs)
    references = [reference(row) for _, row in CASH_BOOK.iterrows()]
    defined = sum(int((~np.isnan(expected)).sum()) for expected, _ in references)
    _assert_runs_match(CASH_BOOK, runs, references, k_for(11 * defined))


def test_drops_to_zero_and_a_barrier_on_an_ex_date_match_the_quadrature():
    """A drop of 60 on a spot of 100 (own vol 0.6): the up-and-out put's monitoring date on
    the ex-date watches the price after the drop (B + D on the price before it), its paths
    at 0 survive and pay K; the down-and-out call's ex-date is no monitoring date and its
    paths at 0 are knocked out.  Price, delta, vega, gamma, rho and theta within k·SE of
    the reference at each of 4 seeds and for their mean, the SEs against the spread; every
    estimate finite."""
    runs = _runs(LARGE_BOOK, 4, 50_000, 93, market=CASH_MARKET, greeks="gamma,rho,theta")
    assert all(set(run["method"]) == {"survival+pathwise+antithetic"} for run in runs)
    references = [reference(row) for _, row in LARGE_BOOK.iterrows()]
    _assert_runs_match(LARGE_BOOK, runs, references, k_for(5 * 2 * 6))


def test_likelihood_ratio_agrees_with_survival_across_cash_dividends():
    """The four rows across cash dividends by likelihood ratio with controls (method lr, on
    the unconditioned paths, the drops floored and the barriers read after them) and by
    survival conditioning: price, delta, vega and gamma within the combined SE (independent
    streams); survival's delta and vega SEs the smaller on the rows with dividends of a few
    per cent (3–5× at these paths; across the drop of 60, whose factor e^y/(e^y − D) ≈ 2.5
    scales the pathwise derivatives, the call's delta is LR's, with its controls, to take)."""
    book = pd.concat([CASH_BOOK, LARGE_BOOK], ignore_index=True)
    run = dict(market=CASH_MARKET, paths=100_000, threads=1, greeks="gamma")
    survival = price_portfolio(book, seed=seed(95), **run)
    lr = price_portfolio(book, seed=seed(96), method="lr", **run)
    assert set(survival["method"]) == {"survival+pathwise+antithetic"}
    assert set(lr["method"]) == {"lr+controls+antithetic"}
    names = (*GREEKS, "gamma")
    for name in names:
        assert_within(survival[name], lr[name],
                      combined_se(survival[f"{name}_se"], lr[f"{name}_se"]),
                      k_for(len(names) * len(book)), label=[f"{i} {name}" for i in book["id"]])
    for name in ("delta", "vega"):
        assert (survival[f"{name}_se"][:2] < lr[f"{name}_se"][:2]).all(), name


def test_a_flat_market_prices_like_the_flat_row():
    """Flat curves, yield and vol: the dated row (weekly dates, 7/365 apart) and the flat
    row of the same fixings agree within their SEs (independent streams)."""
    spec = {"valuation_date": VALUATION, "curves": {"F": 0.04},
            "underlyings": {"Y": {"spot": 100.0, "curve": "F", "dividend_yield": 0.01,
                                  "vol": 0.25}}}
    dates = WEEKLY[:40]
    dated = pd.DataFrame([{"id": "dated", "instrument": "barrier", "option_type": "call",
                           "strike": 100.0, "barrier": 125.0, "barrier_type": "up-and-out",
                           "expiry": dates[-1], "underlying": "Y",
                           "fixing_dates": ";".join(dates)}])
    flat = pd.DataFrame([{"id": "flat", "instrument": "barrier", "option_type": "call",
                          "strike": 100.0, "barrier": 125.0, "barrier_type": "up-and-out",
                          "maturity": years(dates[-1], VALUATION), "fixings": len(dates),
                          "spot": 100.0, "rate": 0.04, "dividend": 0.01, "vol": 0.25,
                          "model": "gbm"}])
    a = price_portfolio(dated, market=spec, paths=100_000, seed=seed(72), threads=1)
    b = price_portfolio(flat, paths=100_000, seed=seed(73), threads=1)
    assert a["method"][0] == b["method"][0] == "survival+pathwise+antithetic"
    for name in GREEKS:
        assert_within(a[name][0], b[name][0], combined_se(a[f"{name}_se"][0],
                                                          b[f"{name}_se"][0]), k_for(3),
                      label=name)


def test_which_knock_outs_go_by_survival_and_the_order_of_rows():
    """Survival conditioning under every method but lr, for knock-outs with or without a
    cash dividend up to their expiry; likelihood ratio for knock-ins.  Reversing the rows
    changes no number; gamma, rho and theta are estimated for the survival rows."""
    spec = {**MARKET, "underlyings": {
        "X": UNDERLYING,
        "Z": {**UNDERLYING, "dividends": [{"ex_date": "2027-06-15", "amount": 1.0}]}}}
    weekly = ";".join(WEEKLY[:20])
    knock_out = {"instrument": "barrier", "option_type": "call", "strike": 100.0,
                 "barrier": 125.0, "barrier_type": "up-and-out", "expiry": WEEKLY[19],
                 "fixing_dates": weekly}
    early = ";".join(WEEKLY[:10])
    book = pd.DataFrame([
        {**knock_out, "id": "x-uo", "underlying": "X"},
        {**knock_out, "id": "z-uo", "underlying": "Z"},
        {**knock_out, "id": "z-uo-early", "underlying": "Z", "expiry": WEEKLY[9],
         "fixing_dates": early},
        {**knock_out, "id": "x-ui", "underlying": "X", "barrier_type": "up-and-in"},
        {"id": "x-call", "instrument": "european", "option_type": "call", "strike": 100.0,
         "expiry": WEEKLY[19], "underlying": "X"}])
    survival, lr = "survival+pathwise+antithetic", "lr+controls+antithetic"
    run = dict(market=spec, paths=4_000, seed=seed(74), threads=1)
    base = price_portfolio(book, greeks="gamma,rho,theta", **run)
    assert list(base["method"]) == [survival, survival, survival, lr, lr]
    for method in ("mixed", "pathwise", "fd", "rqmc"):
        other = price_portfolio(book, method=method, **run)
        assert list(other["method"][:4]) == list(base["method"][:4]), method
    assert set(price_portfolio(book, method="lr", **run)["method"]) == {lr}
    reverse = price_portfolio(book.iloc[::-1].reset_index(drop=True), greeks="gamma,rho,theta",
                              **{**run, "threads": 2})
    columns = [f"{name}{se}" for name in (*GREEKS, "gamma", "rho_rate", "theta_per_day")
               for se in ("", "_se")]
    a, b = base.set_index("id")[columns], reverse.set_index("id")[columns]
    assert a.equals(b.loc[a.index])
    rows = base["method"] == survival
    assert np.isfinite(base.loc[rows, ["gamma", "rho_rate", "theta_per_day"]]
                       .to_numpy(dtype=float)).all()


def test_knock_outs_of_one_barrier_and_one_set_of_dates_share_their_paths():
    """Off a market too, a call and a put on one barrier and the same fixing dates are one
    simulation; the same barrier on as many dates, one of them a day later, is another.
    Each row's price, delta and vega within k·SE of the quadrature reference."""
    from greeks.api import load
    from greeks.engine import plan_groups

    moved = WEEKLY[:19] + [WEEKLY[19]]
    moved[5] = (pd.Timestamp(moved[5]) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    knock_out = {"instrument": "barrier", "barrier": 125.0, "barrier_type": "up-and-out",
                 "expiry": WEEKLY[19], "underlying": "X", "fixing_dates": ";".join(WEEKLY[:20])}
    book = pd.DataFrame([{**knock_out, "id": "call", "option_type": "call", "strike": 100.0},
                         {**knock_out, "id": "put", "option_type": "put", "strike": 110.0},
                         {**knock_out, "id": "moved", "option_type": "call", "strike": 100.0,
                          "fixing_dates": ";".join(moved)}])
    groups = plan_groups(load(book, market=MARKET), method="auto", plain=False, paths=20_000)
    assert sorted(sorted(book["id"][g.positions]) for g in groups) == [["call", "put"],
                                                                        ["moved"]]
    run = price_portfolio(book, market=MARKET, paths=20_000, seed=seed(75), threads=1)
    for j, row in book.iterrows():
        expected, error = reference(row)
        assert_within(run.loc[j, list(GREEKS)].to_numpy(dtype=float), expected[:3],
                      combined_se(run.loc[j, [f"{g}_se" for g in GREEKS]].to_numpy(dtype=float),
                                  error[:3]), k_for(9), label=[f"{row['id']} {g}" for g in GREEKS])
