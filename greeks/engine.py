"""The pricing engine: simulation groups, time grids, chunks, threads and reduction.

Rows that share the model, its parameters, the spot, rate, dividend and
underlying form a *simulation group*: one set of paths on one time grid serves
all of them.  Under GBM (exact at any step) the grid is the union of the rows'
dates; under Heston it also holds the steps of ``steps_per_year`` up to the
last date (by default per group, :func:`heston_steps_per_year`), and ``MIN_STEPS`` (at
most ``steps_per_year``) equal steps up to any shorter maturity.  Paths are simulated in
*chunks*; chunk ``c`` of a group draws from its own stream,

    PCG64(SeedSequence(seed, spawn_key=(h_0, h_1, h_2, h_3, c))),

with h the BLAKE2b hash of the group's defining values.  A chunk's numbers
therefore depend on nothing but the seed, the group and the path count: not on
the thread that runs it, the order of the rows, or the other groups in the
file.  Chunks reduce to per-row (mean, M2) and merge in chunk order.

The portfolio total, and any subtotals over sets of rows, are estimated from per-path
sums Σ_rows weight · estimate within each group (rows of a group share paths and are
correlated); groups are independent, so their variances add.  The weights are the
quantities by default; a risk report passes desk units (quantity · S0 for delta, ...).
"""

from __future__ import annotations

import hashlib
import math
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import pandas as pd

from greeks import estimators, payoffs, rqmc, sensitivities
from greeks.allocator import keep_freed_memory
from greeks.models import adapter as model_of
from greeks.stats import Moments, unit_moments

keep_freed_memory()

DEFAULT_PATHS = 200_000
DEFAULT_SEED = 0
MAX_CHUNK = 1 << 16
MIN_CHUNK = 1 << 8
CHUNK_CELLS = 1 << 20  # path-dates per chunk: bounds memory at ~8 MB per array
DATE_TOLERANCE = 1e-12  # years; dates closer than this are one grid point
DEFAULT_SCHEME = "qe"
SCHEMES = ("qe", "exact", "euler")  # a scheme's code is its index
DEFAULT_STEPS_PER_YEAR = 0.0  # automatic: each group's own (its model's grid_steps)
KNOCK_OUTS = ("up-and-out", "down-and-out")  # by survival conditioning where a model can
METHODS = ("auto", "mixed", "lr", "pathwise", "fd", "rqmc")
PILOT_CHUNKS = 1 << 31  # chunk numbers of the pilot run's streams start here
MIN_PILOT, MAX_PILOT = 1 << 11, 1 << 16


@dataclass
class Group:
    """One simulation: a model and its parameters, a grid, and the rows priced on it."""

    key: str
    spawn_words: tuple
    model: str
    spot: float
    rate: float
    dividend: float
    params: tuple   # the model's parameters (its adapter's ``parameters``)
    positions: np.ndarray  # rows of the frame, ordered by id
    times: np.ndarray      # simulation grid, increasing, > 0
    date_start: np.ndarray  # row j's dates are date_index[date_start[j]:date_start[j + 1]]
    date_index: np.ndarray
    kind: np.ndarray
    omega: np.ndarray
    strike: np.ndarray
    payout: np.ndarray
    barrier: np.ndarray
    barrier_kind: np.ndarray
    discount: np.ndarray
    weight: np.ndarray    # (rows, 3): each row's weight in the totals, per Greek
    extra_weight: np.ndarray  # (rows,): its weight in the totals of the further Greeks
    total_of: np.ndarray  # (rows,): the row's subtotal slot (1..), 0 if in none
    subtotals: np.ndarray  # global subtotal id of each slot 1..
    forward: np.ndarray  # E[L] of each row's linear payoff (the controls' known means)
    scheme: int = 0  # the index of the model's discretisation in SCHEMES
    martingale: bool = True  # the chain keeps E[S_t] exact: the L-controls may be used
    coef: np.ndarray | None = None  # (rows, 3, N_CONTROLS) control coefficients β; None: 0
    conditional: bool = True  # the model's ``conditioned`` rows by conditional Monte Carlo
    sampled_first: bool = False  # Heston qe/exact: the first step's integrated variance is
    # drawn given its end points (a first step longer than the regular ones)
    antithetic: bool = False  # GBM paths in antithetic pairs
    method: str = "lr"  # lr, survival (one GBM knock-out row), pathwise, fd or rqmc
    maturity: np.ndarray | None = None  # (rows,)
    extra: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    extra_means: np.ndarray | None = None  # (rows, extra, 2): control means of the extras
    extra_coef: np.ndarray | None = None   # (rows, extra, 2): their coefficients

    @property
    def n_totals(self) -> int:
        """The group total and its subtotals."""
        return 1 + self.subtotals.size

    def with_totals(self, weight: np.ndarray, subtotal: np.ndarray) -> "Group":
        """This group with the rows' ``weight`` (frame rows × 3 for price, delta, vega, and
        optionally a 4th column for the further Greeks) and global ``subtotal`` ids (frame
        rows; −1: in none), both indexed by frame position."""
        ids = subtotal[self.positions]
        slots = np.unique(ids[ids >= 0])
        total_of = np.where(ids >= 0, np.searchsorted(slots, ids) + 1, 0).astype(np.int64)
        rows = np.asarray(weight[self.positions], dtype=float)
        return replace(self, weight=np.ascontiguousarray(rows[:, :3]),
                       extra_weight=np.ascontiguousarray(rows[:, 3]) if rows.shape[1] > 3
                       else self.extra_weight,
                       total_of=total_of, subtotals=slots.astype(np.int64))

    def with_extra(self, codes: np.ndarray) -> "Group":
        """This group estimating the further Greeks ``codes`` (of
        :data:`greeks.sensitivities.NAMES`) too, those its model's chunks estimate
        (``further``; Heston's others come from :mod:`greeks.models.heston.sensitivities`)."""
        codes = np.asarray(codes[np.isin(codes, model_of(self.model).further)], dtype=np.int64)
        means = np.zeros((self.kind.size, codes.size, 2))
        for j in range(self.kind.size):
            dates = self.times[self.date_index[self.date_start[j]:self.date_start[j + 1]]]
            means[j] = sensitivities.control_means(
                codes, self.rate, self.dividend, self.maturity[j], self.forward[j],
                dates if self.kind[j] == payoffs.ASIAN else dates[-1:])
        return replace(self, extra=codes, extra_means=means)

    def units(self, paths: int) -> int:
        """Independent units among ``paths`` paths: pairs when antithetic; a randomised
        QMC replicate is one unit (its mean is one independent draw)."""
        if self.method == "rqmc":
            return 1
        return paths // 2 if self.antithetic else paths

    @property
    def chunk_size(self) -> int:
        size = CHUNK_CELLS // self.times.size
        return max(MIN_CHUNK, min(MAX_CHUNK, 1 << max(size.bit_length() - 1, 0)))

    def chunks(self, paths: int) -> list[tuple[int, int]]:
        """(index, size) of each chunk of ``paths`` paths (randomised QMC: one replicate
        of :func:`greeks.rqmc.points_per_replicate` points each)."""
        if self.method == "rqmc":
            return [(r, rqmc.points_per_replicate(paths)) for r in range(rqmc.REPLICATES)]
        size = self.chunk_size
        return [(c, min(size, paths - c * size)) for c in range((paths + size - 1) // size)]


def is_knock_out(row) -> bool:
    """Whether a row (a record of a validated frame) is a knock-out barrier that its model
    prices on survival-conditioned paths of its own (:mod:`greeks.survival`)."""
    return (model_of(row.model).survival and row.instrument == "barrier"
            and getattr(row, "barrier_type", None) in KNOCK_OUTS)


def lr_delta_unusable(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose likelihood-ratio delta weight has no finite variance (their model's
    ``lr_delta_unusable``, e.g. Heston from v0 = 0 without the Feller condition): other
    families price them, the weight cannot."""
    out = np.zeros(len(frame), dtype=bool)
    models = frame["model"].to_numpy()
    for name in np.unique(models):
        rows = models == name
        out[rows] = model_of(name).lr_delta_unusable(frame[rows])
    return out


def row_methods(frame: pd.DataFrame, method: str = "auto", plain: bool = False) -> list[str]:
    """The estimator of each row under ``--method`` (the results' ``method`` column).

    auto and mixed: knock-outs by survival conditioning where the model can (GBM), the rows
    its model conditions (Heston european and digital) by conditional Monte Carlo, every
    other row by likelihood ratio with controls, on antithetic pairs (auto may take single
    Greeks from other families, :func:`simulate`); lr: likelihood ratio for every row;
    pathwise: pathwise delta and vega where the model has them (GBM european and asian
    rows; the others as auto); fd: central differences on common random numbers for every
    row (conditioned rows: of their conditional value); rqmc: likelihood ratio (conditioned
    rows: conditional Monte Carlo) on randomised quasi-Monte Carlo paths; ``plain``: plain
    likelihood ratio.  Rows whose likelihood-ratio delta weight is unusable
    (:func:`lr_delta_unusable`) and that are not conditioned go by finite differences
    under auto, mixed and pathwise.
    """
    method = "auto" if method == "mixed" else method
    labels = []
    stuck = lr_delta_unusable(frame)
    for row, from_zero in zip(frame.itertuples(index=False), stuck):
        model = model_of(row.model)
        conditioned = row.instrument in model.conditioned
        if plain:
            label = "lr"
        elif method == "fd" or (from_zero and method in ("auto", "pathwise")
                                and not conditioned):
            label = "fd+conditional+antithetic" if conditioned else "fd+antithetic"
        elif method == "pathwise" and row.instrument in model.pathwise:
            label = "pathwise+antithetic"
        elif method == "rqmc":
            label = "rqmc+conditional" if conditioned else "rqmc+lr"
        elif method != "lr" and is_knock_out(row):
            label = "survival+pathwise+antithetic"
        elif method != "lr" and conditioned:
            label = "conditional+controls+antithetic"
        else:
            label = "lr+controls+antithetic"
        labels.append(label)
    return labels


def _group_key(row, label: str) -> str:
    if label.startswith("survival"):
        return f"survival;id={row.id};{_parameters(row)}" + _market(row)
    family = label.split("+")[0]
    suffix = f";method={family}" if family in ("pathwise", "fd", "rqmc") else ""
    return _simulation_key(row) + suffix


def _parameters(row) -> str:
    return "".join(f"{name}={float(getattr(row, name))!r};"
                   for name in model_of(row.model).parameters)


def _market(row) -> str:
    return f"spot={float(row.spot)!r};rate={float(row.rate)!r};dividend={float(row.dividend)!r}"


def _simulation_key(row) -> str:
    return f"model={row.model};{_parameters(row)}{_market(row)};underlying={row.underlying}"


def row_dates(maturity: float, fixings: int) -> np.ndarray:
    """The equally spaced dates T·k/n, k = 1..n, of a row (the last is T)."""
    return maturity * np.arange(1, fixings + 1) / fixings


def plan_groups(frame: pd.DataFrame, scheme: str = DEFAULT_SCHEME,
                steps_per_year: float = DEFAULT_STEPS_PER_YEAR,
                first_step: float = 0.0, method: str = "lr", plain: bool = True) -> list[Group]:
    """Group the rows of a validated frame into simulations and plan their grids.  Rows
    share a simulation when they share the model, its parameters and the estimator family
    (:func:`row_methods`); a survival-conditioned knock-out row is a simulation of its own.
    """
    labels = row_methods(frame, method, plain)
    keys = [_group_key(row, label) for row, label in zip(frame.itertuples(index=False), labels)]
    by_key: dict[str, list[int]] = {}
    for position, key in enumerate(keys):
        by_key.setdefault(key, []).append(position)
    groups = []
    for key in sorted(by_key):
        positions = np.array(sorted(by_key[key], key=lambda p: frame["id"].iat[p]), dtype=np.int64)
        group = _plan_group(frame.iloc[positions], key, positions, scheme, steps_per_year,
                            first_step)
        family = next((name for name in ("survival", "pathwise", "fd", "rqmc")
                       if key.startswith(f"{name};") or key.endswith(f";method={name}")), "lr")
        groups.append(replace(group, method=family))
    return groups


def _nearest(grid: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Index of the grid point nearest to each date."""
    if grid.size == 1:
        return np.zeros(dates.size, dtype=np.int64)
    right = np.clip(np.searchsorted(grid, dates), 1, grid.size - 1)
    return np.where(dates - grid[right - 1] <= grid[right] - dates, right - 1, right)


def _plan_group(rows: pd.DataFrame, key: str, positions: np.ndarray, scheme: str,
                steps_per_year: float, first_step: float) -> Group:
    dates = [row_dates(t, n) for t, n in zip(rows["maturity"], rows["fixings"])]
    first = rows.iloc[0]
    model = model_of(first["model"])
    params = tuple(float(first[name]) for name in model.parameters)
    steps = model.grid_steps(params, rows["maturity"].to_numpy(dtype=float), steps_per_year,
                             first_step)
    grid = np.unique(np.concatenate(dates + steps))
    keep = np.concatenate(([True], np.diff(grid) > DATE_TOLERANCE * np.maximum(1.0, grid[1:])))
    grid = grid[keep]
    indices = [_nearest(grid, d) for d in dates]
    carry = float(first["rate"]) - float(first["dividend"])
    growth = [np.exp(carry * grid[i]) for i in indices]
    forward = float(first["spot"]) * np.exp(-rows["rate"].to_numpy(dtype=float)
                                            * rows["maturity"].to_numpy(dtype=float)) \
        * np.array([g.mean() if kind == "asian" else g[-1]
                    for g, kind in zip(growth, rows["instrument"])])
    scheme_code = SCHEMES.index(scheme)
    martingale, sampled = model.chain_flags(params, grid, scheme_code, steps_per_year, carry)
    start = np.concatenate(([0], np.cumsum([len(i) for i in indices]))).astype(np.int64)
    digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
    return Group(
        key=key,
        spawn_words=tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)),
        model=model.name, spot=float(first["spot"]), rate=float(first["rate"]),
        dividend=float(first["dividend"]), params=params,
        scheme=scheme_code, martingale=martingale, sampled_first=sampled, forward=forward,
        positions=positions, times=grid,
        date_start=start, date_index=np.concatenate(indices).astype(np.int64),
        kind=np.array([payoffs.KIND_CODES[k] for k in rows["instrument"]], dtype=np.int64),
        omega=np.where(rows["option_type"].to_numpy() == "call", 1.0, -1.0),
        strike=rows["strike"].to_numpy(dtype=float),
        payout=rows["payout"].to_numpy(dtype=float),
        barrier=np.nan_to_num(rows["barrier"].to_numpy(dtype=float)) if "barrier" in rows
        else np.zeros(len(rows)),
        barrier_kind=np.array([payoffs.BARRIER_CODES.get(b, 0) for b in rows["barrier_type"]]
                              if "barrier_type" in rows else np.zeros(len(rows)), dtype=np.int64),
        discount=np.exp(-rows["rate"].to_numpy(dtype=float)
                        * rows["maturity"].to_numpy(dtype=float)),
        maturity=rows["maturity"].to_numpy(dtype=float),
        weight=np.repeat(rows["quantity"].to_numpy(dtype=float)[:, None], 3, axis=1),
        extra_weight=rows["quantity"].to_numpy(dtype=float),
        total_of=np.zeros(len(rows), dtype=np.int64), subtotals=np.empty(0, dtype=np.int64),
    )


def run_chunk(group: Group, seed: int, chunk: int, n_paths: int, collect: bool = False):
    """Simulate one chunk of a group.

    Returns the (rows + totals, 3 + extras, 2) array of (mean, M2) over the chunk's units
    (paths or antithetic pairs) of price, delta, vega and the group's further Greeks, the
    group total and subtotals last, and the pilot sums of the control regressions
    ((rows, N_SUMS) and (rows, extras, N_SUMS)), gathered with ``collect`` (zeros
    otherwise).
    """
    stream = np.random.SeedSequence(seed, spawn_key=(*group.spawn_words, chunk))
    rows = group.kind.size
    coef = np.zeros((rows, 3, estimators.N_CONTROLS)) if group.coef is None else group.coef
    out = np.zeros((rows + group.n_totals, 3, 2))
    sums = np.zeros((rows, estimators.N_SUMS))
    rng = np.random.Generator(np.random.PCG64(stream))
    model = model_of(group.model)
    if group.method in ("pathwise", "fd"):
        _run_classical(group, stream, n_paths, out)
        return out, (sums, np.zeros((rows, 0, sensitivities.N_SUMS)))
    if group.method == "rqmc":  # one replicate: its mean is one draw (M2 = 0)
        model.run_rqmc(group, seed, chunk, rng, n_paths, coef, out, sums)
        out[..., 1] = 0.0
        return out, (sums, np.zeros((rows, 0, sensitivities.N_SUMS)))
    if group.method == "survival":
        s, columns, multipliers = model.run_survival(group, rng, n_paths, out)
    else:
        s, columns, multipliers = model.run_likelihood_ratio(group, rng, n_paths, coef,
                                                             collect, out, sums)
    if not group.extra.size:
        return out, (sums, np.zeros((rows, 0, sensitivities.N_SUMS)))
    extra_out, extra_sums = _run_extra(group, s, columns, multipliers, n_paths, collect)
    return np.concatenate([out, extra_out], axis=1), (sums, extra_sums)


def _run_extra(group: Group, s, columns, multipliers, n_paths: int, collect: bool):
    """The further Greeks of every row on one chunk's paths (:mod:`greeks.sensitivities`);
    ``columns`` maps the rows' dates to the columns of ``s``, ``multipliers(j, dates, out)``
    fills row j's multipliers."""
    rows, count = group.kind.size, group.extra.size
    units = group.units(n_paths)
    coef = np.zeros((rows, count, 2)) if group.extra_coef is None else group.extra_coef
    out = np.zeros((rows + group.n_totals, count, 2))
    sums = np.zeros((rows, count, sensitivities.N_SUMS))
    totals = np.zeros((group.n_totals, count, units if rows > 1 else 0))
    payoff, linear = np.empty(n_paths), np.empty(n_paths)
    values = np.empty((count, n_paths))
    weight = group.extra_weight
    for j in range(rows):
        part = slice(group.date_start[j], group.date_start[j + 1])
        stored = np.ascontiguousarray(columns[part])
        if group.method == "survival":  # Y on the conditioned paths (``s`` holds it)
            payoff[:], linear[:] = s[:, 0], 0.0
        else:
            payoffs.evaluate(s, stored, group.kind[j], group.omega[j], group.strike[j],
                             group.payout[j], group.barrier[j], group.barrier_kind[j],
                             group.discount[j], payoff)
            estimators.linear_payoff(s, stored, group.kind[j] == payoffs.ASIAN,
                                     group.discount[j], linear)
        multipliers(j, group.date_index[part], values)
        sensitivities.row_estimates(payoff, linear, values, units, group.antithetic,
                                    group.extra_means[j], coef[j], weight[j],
                                    group.total_of[j], rows > 1, collect, totals, out[j],
                                    sums[j])
    if not collect:
        sensitivities.group_totals(totals, weight, group.total_of, out)
    return out, sums


def _run_classical(group: Group, stream, n_paths: int, out) -> None:
    """Pathwise or finite-difference estimates of every row of a group into ``out``
    (:mod:`greeks.pathwise`; the paths from the model's adapter)."""
    model = model_of(group.model)
    if group.method == "pathwise":
        _path_moments(group, model.pathwise_values(group, stream, n_paths), n_paths, out)
        return
    paths = model.bumped_paths(group, stream, n_paths)
    payoff = np.empty(n_paths)
    rows = []
    for j in range(group.kind.size):
        part = slice(group.date_start[j], group.date_start[j + 1])
        on = paths.conditional(j, paths.columns[part][0]) if paths.conditional else None
        if on is None:
            on = [_payoff(prices, group, j, paths.columns[part], payoff).copy()
                  for prices in [paths.s] + paths.bumped]
        rows.append(np.stack([on[0], (on[1] - on[2]) / (2.0 * paths.spot_step),
                              (on[3] - on[4]) / paths.vol_step]))
    _path_moments(group, rows, n_paths, out)


def _payoff(s, group: Group, j: int, columns, out):
    payoffs.evaluate(s, np.ascontiguousarray(columns), group.kind[j], group.omega[j],
                     group.strike[j], group.payout[j], group.barrier[j], group.barrier_kind[j],
                     group.discount[j], out)
    return out


def _path_moments(group: Group, rows: list, n_paths: int, out) -> None:
    """(mean, M2) of each row's per-path (price, delta, vega) into ``out[j]`` and of the
    weighted group total and subtotals into ``out[rows:]``, over paths or antithetic pairs."""
    units = group.units(n_paths)
    totals = np.zeros((group.n_totals, 3, units))
    for j, values in enumerate(rows):
        if group.antithetic:
            values = 0.5 * (values[:, :units] + values[:, units:2 * units])
        unit_moments((values[0], values[1], values[2]), units, False, out[j])
        weighted = group.weight[j][:, None] * values
        totals[0] += weighted
        if group.total_of[j] > 0:
            totals[group.total_of[j]] += weighted
    for t in range(group.n_totals):
        unit_moments((totals[t, 0], totals[t, 1], totals[t, 2]), units, False,
                     out[len(rows) + t])


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


@dataclass
class Estimates:
    """Means and standard errors, rows in frame order, quantities price/delta/vega."""

    mean: np.ndarray  # (rows, 3)
    se: np.ndarray
    total_mean: np.ndarray  # (3,)
    total_se: np.ndarray
    subtotal_mean: np.ndarray  # (subtotals, 3)
    subtotal_se: np.ndarray
    choice: np.ndarray | None = None  # (rows, 3): the estimator of each price/delta/vega
    complete: np.ndarray | None = None  # per Greek: whether every group estimated it (the
    # totals of the others cover only the groups that did)


def pilot_paths(paths: int) -> int:
    """Paths of the pilot run that estimates the control coefficients: 1/16 of the run,
    2,048 to 65,536, even."""
    return min(MAX_PILOT, max(MIN_PILOT, paths // 32 * 2))


def simulate(frame: pd.DataFrame, paths, seed: int, threads: int | None = None,
             report: Callable[[float, float], None] | None = None,
             scheme: str = DEFAULT_SCHEME,
             steps_per_year: float = DEFAULT_STEPS_PER_YEAR,
             first_step: float = 0.0, plain: bool = False, weight: np.ndarray | None = None,
             subtotal: np.ndarray | None = None, extra: tuple[str, ...] = (),
             method: str = "auto", first_chunk: int = 0, per_greek: bool = True,
             scheduler: str = "local") -> Estimates:
    """Estimate price, delta and vega of every row of a validated frame (and the further
    Greeks ``extra``), each by the estimator that ``method`` selects.

    With ``method = "auto"`` the estimator is chosen per row and Greek: a decision run of
    :func:`pilot_paths` paths on streams of its own (chunk numbers from
    ``DECISION_CHUNKS``) prices every row with each candidate family — the row's default
    (:func:`row_methods`), pathwise where valid, and finite differences — and each Greek
    takes the family with the least variance × cost, the cost per path of the row's
    estimator relative to likelihood ratio (its model's ``relative_cost``, measured with
    ``greeks compare``; a fixed table rather than a clock, so that the choice, like every
    number, depends only on the seed); the main run then runs each family needed, its rows' totals
    weighted only by the Greeks taken from it, so that totals and subtotals add across
    families (their streams are independent).  ``Estimates.choice`` names each choice.
    Other methods, and ``auto`` without ``per_greek``, run one family
    (:func:`_simulate_family`).
    """
    args = dict(seed=seed, threads=threads, scheme=scheme, steps_per_year=steps_per_year,
                first_step=first_step, extra=extra, subtotal=subtotal, scheduler=scheduler)
    if method == "mixed":  # the row's default family for every Greek, no decision run
        method, per_greek = "auto", False
    if plain or method != "auto" or not per_greek:
        estimates = _simulate_family(frame, paths, report=report, plain=plain, weight=weight,
                                     method=method, first_chunk=first_chunk, **args)
        estimates.choice = np.array([[label] * 3 for label in row_methods(frame, method, plain)])
        return estimates
    families = ["auto", "pathwise", "fd"]
    labels = np.array([row_methods(frame, family) for family in families])  # (families, rows)
    decision = pilot_paths(max(paths.values()) if isinstance(paths, dict) else paths)
    cost = np.full((len(families), len(frame), 3), np.inf)
    for f, family in enumerate(families):
        rows = np.flatnonzero((labels[f] != labels[0]) | (f == 0))
        if rows.size == 0:
            continue
        part = frame.iloc[rows].reset_index(drop=True)
        trial = _simulate_family(part, decision, method=family, first_chunk=first_chunk
                                 + DECISION_CHUNKS, **{**args, "extra": (), "subtotal": None})
        relative = np.array([_relative_cost(label, model) for label, model
                             in zip(labels[f, rows], frame["model"].iloc[rows])])
        cost[f, rows] = np.where(np.isfinite(trial.se), trial.se ** 2 * relative[:, None],
                                 np.inf)
    chosen = np.argmin(cost, axis=0)  # (rows, 3); ties and non-finite: the default family
    base = (np.repeat(frame["quantity"].to_numpy(dtype=float)[:, None], 3, axis=1)
            if weight is None else np.asarray(weight, dtype=float))
    runs = []
    for f, family in enumerate(families):
        if f > 0 and not (chosen == f).any():
            continue
        rows = np.arange(len(frame)) if f == 0 else np.flatnonzero((chosen == f).any(axis=1))
        part = frame.iloc[rows].reset_index(drop=True)
        sub = None if subtotal is None else np.asarray(subtotal)[rows]
        estimates = _simulate_family(
            part, paths, report=report if f == 0 else None, plain=False,
            weight=_masked(base, chosen == f)[rows], method=family, first_chunk=first_chunk,
            **{**args, "subtotal": sub, "extra": extra if f == 0 else ()})
        runs.append((f, rows, estimates))
    return _combine(frame, runs, chosen, labels)


DECISION_CHUNKS = 1 << 36


def _masked(weight: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """The weights of price, delta and vega where ``taken`` (rows × 3), the further Greeks'
    column (if any) as it is."""
    out = weight.copy()
    out[:, :3] *= taken
    return out


def _relative_cost(label: str, model: str) -> float:
    """Cost per path of an estimator family relative to likelihood ratio on the same row
    (the model's ``relative_cost``, measured with ``greeks compare``)."""
    return model_of(model).relative_cost.get(label.split("+")[0], 1.0)


def _combine(frame, runs, chosen, labels) -> Estimates:
    """The estimates of each row and Greek from the family chosen for it; totals and
    subtotals summed over the families (each weighted by its own Greeks only)."""
    _, _, first = runs[0]
    mean, se = first.mean.copy(), first.se.copy()
    total_mean, total_var = np.zeros_like(first.total_mean), np.zeros_like(first.total_se)
    sub_mean, sub_var = np.zeros_like(first.subtotal_mean), np.zeros_like(first.subtotal_se)
    for f, rows, estimates in runs:
        take = chosen[rows] == f
        mean[rows, :3] = np.where(take, estimates.mean[:, :3], mean[rows, :3])
        se[rows, :3] = np.where(take, estimates.se[:, :3], se[rows, :3])
        width = estimates.total_mean.size
        total_mean[:width] += estimates.total_mean
        total_var[:width] += estimates.total_se ** 2
        if estimates.subtotal_mean.size:
            sub_mean[:estimates.subtotal_mean.shape[0], :width] += estimates.subtotal_mean
            sub_var[:estimates.subtotal_mean.shape[0], :width] += estimates.subtotal_se ** 2
    out = Estimates(mean, se, total_mean, np.sqrt(total_var), sub_mean, np.sqrt(sub_var),
                    complete=first.complete)
    out.choice = np.take_along_axis(labels.T, chosen, axis=1)
    return out


def _simulate_family(frame: pd.DataFrame, paths, seed: int, threads: int | None = None,
                     report: Callable[[float, float], None] | None = None,
                     scheme: str = DEFAULT_SCHEME,
                     steps_per_year: float = DEFAULT_STEPS_PER_YEAR,
                     first_step: float = 0.0, plain: bool = False,
                     weight: np.ndarray | None = None, subtotal: np.ndarray | None = None,
                     extra: tuple[str, ...] = (), method: str = "auto",
                     first_chunk: int = 0, scheduler: str = "local") -> Estimates:
    """Estimate price, delta and vega of every row of a validated frame by the estimators
    of one ``method`` family (:func:`row_methods`), the further Greeks named in ``extra``
    (of :data:`greeks.sensitivities.NAMES`; NaN where a model has no estimator for one),
    and their totals.

    The total (and each subtotal) is Σ weight_jk · estimate_jk over its rows, with
    ``weight`` (rows × 3, frame order; default: the quantity for every Greek); ``subtotal``
    gives each row's subtotal id 0..n−1 (−1: in none).  ``paths`` is the path count of
    every group, or a mapping from group key to its count (:mod:`greeks.target`);
    ``first_chunk`` offsets the chunk numbers, hence the streams (a sizing run uses
    streams of its own).

    Unless ``plain``: paths come in antithetic pairs (an odd path count is rounded up),
    Heston european and digital rows are estimated by conditional Monte Carlo, and every
    estimate gets the control variates of :mod:`greeks.estimators`: a pilot run of
    :func:`pilot_paths` paths per group, on streams of its own (chunk numbers from
    ``PILOT_CHUNKS`` up), estimates their coefficients per row and Greek, and the main run
    uses them as constants.  Only the main paths enter the estimates and their standard
    errors.  With ``plain``, every row gets the plain likelihood-ratio estimators.
    ``scheduler`` runs the chunks (:func:`_completed`).
    ``report(done, total)`` is called from the calling thread as chunks complete, with
    work measured in path-dates.
    """
    groups = plan_groups(frame, scheme, steps_per_year, first_step, method, plain)
    if weight is not None or subtotal is not None:
        weight = (np.repeat(frame["quantity"].to_numpy(dtype=float)[:, None], 3, axis=1)
                  if weight is None else np.asarray(weight, dtype=float))
        subtotal = (np.full(len(frame), -1) if subtotal is None
                    else np.asarray(subtotal, dtype=np.int64))
        groups = [group.with_totals(weight, subtotal) for group in groups]
    n_subtotals = 0 if subtotal is None else int(subtotal.max(initial=-1)) + 1
    codes = np.array([sensitivities.NAMES.index(name) for name in extra], dtype=np.int64)
    if codes.size:
        groups = [group.with_extra(codes) if group.method in ("lr", "survival") else group
                  for group in groups]
    if plain or method == "lr":
        groups = [replace(group, conditional=False) for group in groups]
    if not plain:
        groups = [replace(group, antithetic=group.method != "rqmc") for group in groups]
    counts = [_paths_of(paths, group, plain) for group in groups]
    threads = threads or default_threads()
    pilot = [] if plain else [(g, PILOT_CHUNKS + first_chunk + c, n)
                              for g, group in enumerate(groups) if group.method == "lr"
                              for c, n in group.chunks(pilot_paths(counts[g]))]
    tasks = [(g, first_chunk + c, n) for g, group in enumerate(groups)
             for c, n in group.chunks(counts[g])]
    total_work = float(sum(n * groups[g].times.size for g, _, n in pilot + tasks))
    progress = _Progress(groups, total_work, report)
    if pilot:
        sums = [[0.0, 0.0] for _ in groups]
        for i, (_, (main, further)) in _completed(groups, pilot, seed, threads, progress,
                                                  collect=True, scheduler=scheduler):
            sums[pilot[i][0]][0] += main
            sums[pilot[i][0]][1] += further
        count = [group.units(pilot_paths(n)) for group, n in zip(groups, counts)]
        groups = [group if group.method != "lr" else
                  replace(group, coef=estimators.control_coefficients(main, n, group.martingale),
                          extra_coef=sensitivities.coefficients(further, n))
                  for group, (main, further), n in zip(groups, sums, count)]
    results: list = [None] * len(tasks)
    for i, (moments_, _) in _completed(groups, tasks, seed, threads, progress,
                                       scheduler=scheduler):
        results[i] = moments_
    return _reduce(frame, groups, tasks, results, n_subtotals, codes)


def row_paths(frame: pd.DataFrame, paths: dict, method: str = "auto",
              plain: bool = False) -> np.ndarray:
    """Each row's path count under a mapping from group key to count."""
    out = np.zeros(len(frame), dtype=np.int64)
    for row, label in zip(range(len(frame)), row_methods(frame, method, plain)):
        record = next(frame.iloc[[row]].itertuples(index=False))
        out[row] = paths[_group_key(record, label)]
    return out


def _paths_of(paths, group: Group, plain: bool) -> int:
    """A group's path count: ``paths``, or ``paths[group.key]`` for a mapping; even unless
    ``plain`` (antithetic pairs)."""
    if isinstance(paths, dict):  # a family's group shares its simulation's count
        base = group.key.split(";method=")[0]
        count = int(paths.get(group.key, paths.get(base, max(paths.values()))))
    else:
        count = int(paths)
    return count + count % 2 if not plain else count


class _Progress:
    """Calls ``report(done, total)`` with the path-dates of the completed tasks."""

    def __init__(self, groups, total: float, report):
        self.groups, self.total, self.report, self.done = groups, total, report, 0.0

    def __call__(self, task) -> None:
        g, _, n = task
        self.done += n * self.groups[g].times.size
        if self.report:
            self.report(self.done, self.total)


SCHEDULERS = ("local", "processes")  # or the address of a Dask scheduler


def _completed(groups, tasks, seed: int, threads: int, progress, collect: bool = False,
               scheduler: str = "local"):
    """Run the (group index, chunk, paths) tasks; yield (task index, result) as each
    completes, after reporting progress.  ``scheduler``: ``local`` (threads of this
    process), ``processes`` (a pool of ``threads`` processes) or a Dask scheduler's address
    (its workers run the chunks).  Each chunk's numbers depend only on the seed, its group
    and its index, so every scheduler gives bit-identical results."""
    if scheduler not in SCHEDULERS:
        yield from _completed_on_dask(groups, tasks, seed, progress, collect, scheduler)
        return
    if threads == 1 and scheduler == "local":
        for i, (g, c, n) in enumerate(tasks):
            result = run_chunk(groups[g], seed, c, n, collect)
            progress(tasks[i])
            yield i, result
        return
    pool_type = ThreadPoolExecutor if scheduler == "local" else ProcessPoolExecutor
    with pool_type(max_workers=threads) as pool:
        futures = {pool.submit(run_chunk, groups[g], seed, c, n, collect): i
                   for i, (g, c, n) in enumerate(tasks)}
        try:
            for future in as_completed(futures):
                result = future.result()
                progress(tasks[futures[future]])
                yield futures[future], result
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


_CLIENTS: dict = {}


def _completed_on_dask(groups, tasks, seed: int, progress, collect: bool, address: str):
    """As :func:`_completed`, the chunks submitted to the Dask scheduler at ``address``."""
    try:
        from distributed import Client
    except ImportError:
        raise RuntimeError("a Dask scheduler needs the distributed package: "
                           "pip install 'greeks-lr[dask]'") from None
    if address not in _CLIENTS:
        _CLIENTS[address] = Client(address, set_as_default=False)
    client = _CLIENTS[address]
    futures = {client.submit(run_chunk, groups[g], seed, c, n, collect, pure=False): i
               for i, (g, c, n) in enumerate(tasks)}
    try:
        for future, i in futures.items():  # in submission order; the workers run ahead
            result = future.result()
            progress(tasks[i])
            yield i, result
    except BaseException:
        client.cancel(list(futures))
        raise


DEGENERATE = 1e-9  # a standard error below this fraction of its scale saw no event


def _unseen_floor(group: Group, units: int, se: np.ndarray) -> np.ndarray:
    """The standard errors of a degenerate sample raised to what its unseen events could
    carry, (rows, Greeks).

    A sample in which no path shows an event (no path ends beyond a deep strike, every path
    pays a deep digital) reports a standard error at rounding level, however large the
    event's effect.  Such an event has probability p ≲ 1/N and sits beyond the largest
    normal draw seen, z* = sqrt(2 log N); it moves each estimator by about p times the
    estimator's value there.  Where the reported SE is below ``DEGENERATE`` of the Greek's
    scale, the SE becomes that bound, R_k/N, with σ the volatility (σ0, or sqrt(θ) from
    v0 = 0, under Heston), R = E[L]·σ·sqrt(T) (how far a payoff kinked at the strike
    moves over a step of one standard deviation; digitals: e^{−rT}·payout) and t_1 the
    row's first date:
    price R, delta R z*/(S0 σ sqrt(t_1)), vega R z*²/σ, gamma R z*²/(S0² σ² t_1),
    rho R (T + z* sqrt(T)/σ), theta R z*²/t_1, vanna R z*³/(S0 σ² sqrt(t_1)), volga R z*⁴/σ².
    A sample that does see its events keeps its own SE, and the σ0-vega from v0 = 0 (exactly
    0) keeps its 0."""
    n = max(units, 2)
    z = math.sqrt(2.0 * math.log(n))
    s0, t = group.spot, group.maturity
    first = group.times[group.date_index[group.date_start[:-1]]]
    sigma, exact_vega = model_of(group.model).floor_sigma(group.params)
    scale = np.where(group.kind == payoffs.DIGITAL, group.discount * group.payout,
                     group.forward * sigma * np.sqrt(t))
    bounds = [np.ones_like(t), z / (s0 * sigma * np.sqrt(first)),
              np.full_like(t, 0.0 if exact_vega else z * z / sigma)]
    extra = {sensitivities.GAMMA: z * z / (s0 * s0 * sigma * sigma * first),
             sensitivities.RHO: t + z * np.sqrt(t) / sigma,
             sensitivities.THETA: z * z / first,
             sensitivities.VANNA: z ** 3 / (s0 * sigma * sigma * np.sqrt(first)),
             sensitivities.VOLGA: np.full_like(t, z ** 4 / (sigma * sigma))}
    bounds += [extra[code] for code in group.extra]
    bound = scale[:, None] * np.stack(bounds, axis=1) / n
    degenerate = se < DEGENERATE * bound * n
    return np.where(degenerate, np.maximum(se, bound), se)


def _reduce(frame, groups, tasks, results, n_subtotals: int, codes: np.ndarray) -> Estimates:
    """Merge the chunks of each group; price, delta, vega, then the further Greeks ``codes``
    in that order (NaN for a group without them)."""
    accumulators = [Moments((group.kind.size + group.n_totals, 3 + group.extra.size))
                    for group in groups]
    for (g, _, n), chunk in zip(tasks, results):
        accumulators[g].merge(groups[g].units(n), chunk[..., 0], chunk[..., 1])
    width = 3 + codes.size
    mean = np.full((len(frame), width), np.nan)
    se = np.full((len(frame), width), np.nan)
    sums = np.zeros((1 + n_subtotals, width))  # the total, then the subtotals
    variances = np.zeros((1 + n_subtotals, width))
    missing = np.zeros(width, dtype=bool)
    for group, acc in zip(groups, accumulators):
        rows = group.kind.size
        columns = [0, 1, 2] + [3 + list(codes).index(code) for code in group.extra]
        missing[3:] |= ~np.isin(codes, group.extra)
        group_se = acc.standard_error
        raised = _unseen_floor(group, acc.count, group_se[:rows])
        added = np.maximum(raised ** 2 - group_se[:rows] ** 2, 0.0)  # what the rows gained
        weight = np.concatenate([group.weight, np.repeat(group.extra_weight[:, None],
                                                         group.extra.size, axis=1)], axis=1)
        group_se[:rows] = raised
        total_added = (weight ** 2 * added).sum(axis=0)
        group_se[rows:] = np.sqrt(group_se[rows:] ** 2 + total_added[None, :]
                                  * (np.arange(group.n_totals)[:, None] == 0))
        mean[np.ix_(group.positions, columns)] = acc.mean[:rows]
        se[np.ix_(group.positions, columns)] = group_se[:rows]
        ids = np.concatenate(([0], 1 + group.subtotals))
        sums[np.ix_(ids, columns)] += acc.mean[rows:]
        variances[np.ix_(ids, columns)] += group_se[rows:] ** 2
    deviations = np.sqrt(variances)
    return Estimates(mean, se, sums[0], deviations[0], sums[1:], deviations[1:],
                     complete=~missing)
