"""A run: pilot, main chunks and reduction of one estimator family; ``auto``'s per-Greek
decision over families."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from greeks import estimators, exercise, sensitivities, streams
from greeks.engine.chunks import run_chunk
from greeks.engine.methods import SINGLE_LABEL, Family, relative_cost, row_estimators, row_methods
from greeks.engine.plan import paths_of, plan_groups
from greeks.engine.progress import Work, chunk_cost, expected_share, policy_cost
from greeks.engine.reduce import Estimates, _reduce
from greeks.engine.scheduler import completed, default_threads, in_task_order
from greeks.names import AUTO_STEPS, DEFAULT_SCHEDULER, DEFAULT_SCHEME, ExercisePolicy
from greeks.payoff_table import BY_CODE, frame_codes

MIN_PILOT, MAX_PILOT = 1 << 11, 1 << 16
MIN_CONTROL_PILOT = 1 << 13  # the control coefficients' pilot, at any path count
AUTO_FAMILIES = ("auto", "pathwise", "fd", "parity")  # the methods whose estimators auto weighs


def pilot_paths(paths: int) -> int:
    """Paths of the pilot run that estimates the control coefficients: 1/16 of the run,
    2,048 to 65,536, even, and at most half the run (at least 2)."""
    return min(MAX_PILOT, max(min(MIN_PILOT, paths // 4 * 2), paths // 32 * 2, 2))


def control_pilot_paths(paths: int) -> int:
    """Paths of the pilot that estimates the control coefficients β of a run of ``paths``:
    :func:`pilot_paths`, at least ``MIN_CONTROL_PILOT`` (8,192; so from 131,072 paths up
    the two agree).

    The main run's residual y − β̂(c − μ) carries (β̂ − β*)(c − μ), the pilot's
    coefficient error times controls whose tails are heavier than the payoff's (L·w_Δ,
    w_σ, L·w_σ: a lognormal times a square of the normal).  Its variance share falls like
    1/pilot whatever the main run's size, and while it is large the main run's sample SE
    of that heavy-tailed term is unreliable: unbiased in the mean of SE², but most runs
    short of it and a few far above (over 400 seeds at 1,000 paths, a 500-path pilot left
    the ATM call's delta and vega with mean SE/spread 0.6–0.8 and ±2 SE covering 82–90 %;
    with an 8,192-path pilot 0.9–1.0 and 94–96 %: ``benchmarks/small_n_se.py``).  The
    pilot's cost is that of 8,192 paths at most."""
    return max(pilot_paths(paths), MIN_CONTROL_PILOT)


def simulate(frame: pd.DataFrame, paths, seed: int, threads: int | None = None,
             report: Callable[[float, float], None] | None = None,
             scheme: str = DEFAULT_SCHEME,
             steps_per_year: float = AUTO_STEPS,
             first_step: float = 0.0, plain: bool = False, weight: np.ndarray | None = None,
             subtotal: np.ndarray | None = None, extra: tuple[str, ...] = (),
             method: str = "auto", first_chunk: int = 0, per_greek: bool = True,
             scheduler: str = DEFAULT_SCHEDULER,
             policy: ExercisePolicy = ExercisePolicy()) -> Estimates:
    """Estimate price, delta and vega of every row of a validated frame (and the further
    Greeks ``extra``), each by the estimator that ``method`` selects.

    With ``method = "auto"`` the estimator is chosen per row and Greek: a decision run of
    :func:`pilot_paths` paths on streams of its own (chunk numbers from
    ``streams.DECISION``) prices every row with each candidate family — the row's default
    (:func:`row_methods`), pathwise where valid, finite differences, and for knock-ins in–out
    parity where it applies (:mod:`greeks.parity`) — and each Greek
    takes the family with the least variance × cost, the cost per path of the row's
    estimator relative to likelihood ratio (its model's ``relative_cost``, measured with
    ``greeks compare``; a fixed table rather than a clock, so that the choice, like every
    number, depends only on the seed); the main run then runs each family needed, its rows' totals
    weighted only by the Greeks taken from it, so that totals and subtotals add across
    families (their streams are independent).  ``Estimates.choice`` names each choice.
    The further Greeks ``extra`` come from the row's default family, but a knock-in's that
    the main run prices by parity for some Greek all come from parity where their variances
    in the decision run (which then estimates them for both) are on average lower
    (:func:`_further_by_parity`).
    Other methods, and ``auto`` without ``per_greek``, run one family
    (:func:`_plan_family`, :func:`_run_family`).

    ``report(done, total)`` is called from the calling thread as the work advances, the
    total planned for every phase before the first starts (:mod:`greeks.engine.progress`).
    ``policy`` is the exercise policy of american and bermudan rows
    (:func:`greeks.exercise.prepare`).
    """
    args = dict(seed=seed, threads=threads, extra=extra, subtotal=subtotal, scheduler=scheduler,
                policy=policy)
    grid = dict(scheme=scheme, steps_per_year=steps_per_year, first_step=first_step)
    work = Work(report)
    if method == "mixed":  # the row's default family for every Greek, no decision run
        method, per_greek = "auto", False
    if plain or method != "auto" or not per_greek:
        planned = _plan_family(frame, paths, method=method, plain=plain, **grid)
        work.plan(_family_work(planned, plain))
        estimates = _run_family(frame, planned, work=work, plain=plain, weight=weight,
                                first_chunk=first_chunk, **args)
        estimates.choice = _single_labels(
            np.array([[label] * 3 for label in row_methods(frame, method, plain)]),
            estimates.single)
        return estimates
    return _simulate_auto(frame, paths, work, grid, args, weight, first_chunk)


def _simulate_auto(frame: pd.DataFrame, paths, work: Work, grid: dict, args: dict,
                   weight: np.ndarray | None, first_chunk: int) -> Estimates:
    """``auto`` per Greek (:func:`simulate`): the decision run of each competing family on
    the rows where it differs from the default, each Greek's choice of the least variance ×
    cost, and the main run of every family chosen somewhere."""
    families = AUTO_FAMILIES
    decision = pilot_paths(max(paths.values()) if isinstance(paths, dict) else paths)
    candidates = [row_estimators(frame, family) for family in families]
    candidates[families.index("fd")] = fd_candidates(
        frame, candidates[0], candidates[families.index("fd")],
        candidates[families.index("pathwise")], decision)
    labels = np.array([[e.label for e in row] for row in candidates],  # (families, rows)
                      dtype=object)  # the estimators' own strings, not a copy of each
    alternatives = (labels != labels[0]).any(axis=0)  # rows with a choice to make
    trials = []
    for f, family in enumerate(families):
        rows = np.flatnonzero((labels[f] != labels[0]) | ((f == 0) & alternatives))
        if rows.size:
            part = frame.iloc[rows].reset_index(drop=True)
            trials.append((f, rows, _plan_family(part, decision, method=family, **grid)))
    everything = frame.iloc[np.arange(len(frame))].reset_index(drop=True)
    main = _plan_family(everything, paths, method="auto", **grid)
    work.plan(_family_work(main))
    guesses = {}
    for f, rows, trial in trials:
        work.plan(_family_work(trial, pilot=pilot_paths))
        if f > 0:  # its main run, should the decision take a Greek from it
            guesses[f] = _family_work(trial, paths=paths, guess=True)
            work.plan(guesses[f])
    parity = families.index("parity")
    blocks = (0, parity) if args["extra"] and any(f == parity for f, _, _ in trials) else ()
    costs, variances = _decide(frame, trials, candidates, work, first_chunk, args, blocks)
    del trials  # the decision runs' groups, not kept through the main runs
    chosen = np.argmin(costs, axis=0)  # ties and non-finite: the default family
    base = (np.repeat(frame["quantity"].to_numpy(dtype=float)[:, None], 3, axis=1)
            if weight is None else np.asarray(weight, dtype=float))
    further = _further_by_parity(chosen == parity, variances[0], variances[parity])
    if further.any():  # the further Greeks' weights apart, the parity rows' taken out
        base = _with_further_column(base, frame)
    needed = []  # the main runs, each planned (and the total corrected) before any runs
    for f, family in enumerate(families):
        if f > 0 and not (chosen == f).any():
            work.replan(guesses.get(f, 0.0), 0.0)
            continue
        rows = np.arange(len(frame)) if f == 0 else np.flatnonzero((chosen == f).any(axis=1))
        part = everything if f == 0 else frame.iloc[rows].reset_index(drop=True)
        planned = main
        if f > 0:
            planned = _needing(_plan_family(part, paths, method=family, **grid),
                               chosen[rows] == f)
            work.replan(guesses.get(f, 0.0), _family_work(planned))
        needed.append((f, rows, part, planned))
    prepared = []
    subtotal, extra = args["subtotal"], args["extra"]
    for f, rows, part, planned in needed:
        sub = None if subtotal is None else np.asarray(subtotal)[rows]
        taken = further if f == parity else ~further if f == 0 else None
        prepared.append(_FamilyRun.prepare(
            part, planned, args["seed"], work, weight=_masked(base, chosen == f, taken)[rows],
            subtotal=sub, extra=extra if f == 0 or (f == parity and further.any()) else (),
            first_chunk=first_chunk, policy=args["policy"], choose=f == 0))
    families_rows = [(f, rows) for f, rows, _, _ in needed]
    del needed, main, planned  # the planned groups: each run holds its own copies
    estimates = _run_together(prepared, args["seed"], args["threads"], work, args["scheduler"])
    runs = [(f, rows, found) for (f, rows), found in zip(families_rows, estimates)]
    out = _combine(frame, runs, chosen, labels, {parity: further})
    out.decision, out.candidates = costs, labels
    return out


def _needing(planned: _Planned, taken: np.ndarray) -> _Planned:
    """``planned`` with each finite-difference group's Greeks ``taken`` from it (rows × 3,
    frame order): ``Group.needed``."""
    return planned._replace(groups=[replace(group, needed=taken[group.positions])
                                    if group.method is Family.FD else group
                                    for group in planned.groups])


def fd_candidates(frame: pd.DataFrame, default: list, fd: list, pathwise: list,
                  decision: int) -> list:
    """Auto's finite-difference candidate of each row: ``fd``, except where it keeps its
    ``default`` (no finite-difference decision run): a row that the pathwise family
    estimates (its ``pathwise`` candidate's), and a payoff with a jump (a digital, a
    barrier: ``payoff_table``'s ``jump``) where the decision run has fewer than
    ``MIN_CONTROL_PILOT`` paths (a run of fewer than 131,072).

    Where the payoff is Lipschitz in the parameter (the rows pathwise estimates), the
    central differences on common random numbers are the pathwise derivative per path up
    to the bump's O(h²) (but on the few paths whose payoff kinks within the bump): the same
    variance at about twice the cost (the model's ``relative_cost``: GBM 2.5 against 1.3),
    so they could win only by the decision run's noise; at 2,000 paths they took 6 of some
    1,080 Greeks of a scale book's GBM european and asian rows (pathwise 390), at 200,000
    none, and their decision runs took 6 % of the 10,000-row scale file's CPU.

    A central difference of a jump over a bump h is nonzero only on the paths that cross
    the jump's level within the bump, each carrying O(1/h): a fraction of order h times the
    density there (of 1,000 paths, a handful near the money, none for a barrier two
    standard deviations away).  A small decision run that sees none of them reports a
    variance near 0 and picks the finite difference, and the main run's SE, from as few
    such paths, is as unreliable: at 1,000 paths auto took 40–60 % of a far knock-out's
    deltas and vegas from finite differences, and their ±2 SE intervals covered 55–80 % of
    the time (``benchmarks/small_n_se.py``)."""
    jumps = (np.array([BY_CODE[code].jump for code in frame_codes(frame)], dtype=bool)
             & (decision < MIN_CONTROL_PILOT))
    return [d if jump or p.family is Family.PATHWISE else f
            for d, f, p, jump in zip(default, fd, pathwise, jumps.tolist())]


def _decide(frame: pd.DataFrame, trials: list, candidates: list, work: Work,
            first_chunk: int, args: dict, blocks: tuple = ()) -> tuple:
    """The variance × relative cost of each family, row and Greek (families × rows × 3)
    in the decision runs ``trials`` (streams from ``streams.DECISION``; inf where a family
    was not run or its SE is not finite): each Greek takes the least.  With it, the
    variances of the further Greeks ``args["extra"]`` (families × rows × extras; NaN where
    not estimated) of the families ``blocks``, whose decision runs estimate them.  The trials
    take their control coefficients from a pilot of :func:`pilot_paths` paths (they rank the
    families; their SEs are not reported)."""
    models = frame["model"].to_numpy(dtype=object)
    cost = np.full((len(candidates), len(frame), 3), np.inf)
    variances = np.full((len(candidates), len(frame), len(args["extra"])), np.nan)
    prepared = [_FamilyRun.prepare(frame.iloc[rows].reset_index(drop=True), trial,
                                   args["seed"], work,
                                   extra=args["extra"] if f in blocks else (),
                                   first_chunk=first_chunk + streams.DECISION,
                                   pilot=pilot_paths, policy=args["policy"])
                for f, rows, trial in trials]
    outcomes = _run_together(prepared, args["seed"], args["threads"], work, args["scheduler"])
    for (f, rows, _), outcome in zip(trials, outcomes):
        extra = args["extra"] if f in blocks else ()
        relative = np.array([relative_cost(candidates[f][r].family, models[r])
                             for r in rows.tolist()])
        se = outcome.se[:, :3]
        cost[f, rows] = np.where(np.isfinite(se), se ** 2 * relative[:, None], np.inf)
        if extra:
            variances[f, rows] = outcome.se[:, 3:] ** 2
    return cost, variances


def _further_by_parity(taken: np.ndarray, default: np.ndarray, parity: np.ndarray) -> np.ndarray:
    """The knock-ins whose further Greeks ``auto`` takes, all together, from in–out parity
    (rows): those it runs by parity anyway (``taken``: for price, delta or vega; rows × 3)
    where the decision run's variances of the further Greeks (rows × extras; NaN where not
    estimated) are on average below their default family's (the mean of the ratios over
    the Greeks both estimate).  A row's further Greeks share one weight in the totals, so
    they come from one family."""
    out = np.zeros(taken.shape[0], dtype=bool)
    if not default.shape[1]:
        return out
    both = np.isfinite(default) & np.isfinite(parity) & (default > 0.0)
    ratio = np.where(both, parity / np.where(both, default, 1.0), 0.0)
    counted = both.sum(axis=1)
    mean = ratio.sum(axis=1) / np.maximum(counted, 1)
    return taken.any(axis=1) & (counted > 0) & (mean < 1.0)


def _with_further_column(weight: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    """``weight`` (rows × 3 or 4) with the further Greeks' column: its 4th, or the
    quantity (their weight in a group without one)."""
    if weight.shape[1] > 3:
        return weight
    return np.column_stack([weight, frame["quantity"].to_numpy(dtype=float)])


def _masked(weight: np.ndarray, taken: np.ndarray, further: np.ndarray | None = None) -> np.ndarray:
    """The weights of price, delta and vega where ``taken`` (rows × 3), the further Greeks'
    column (if any) where ``further`` (rows; None: as it is)."""
    out = weight.copy()
    out[:, :3] *= taken
    if further is not None and out.shape[1] > 3:
        out[:, 3] *= further
    return out


def _combine(frame, runs, chosen, labels, further: dict) -> Estimates:
    """The estimates of each row and Greek from the family chosen for it, and the further
    Greeks of the rows of ``further`` (family → rows) from that family; totals and
    subtotals summed over the families (each weighted by its own Greeks only)."""
    _, _, first = runs[0]
    mean, se, paths = first.mean.copy(), first.se.copy(), first.paths.copy()
    total_mean, total_var = np.zeros_like(first.total_mean), np.zeros_like(first.total_se)
    sub_mean, sub_var = np.zeros_like(first.subtotal_mean), np.zeros_like(first.subtotal_se)
    for f, rows, estimates in runs:
        take = chosen[rows] == f
        mean[rows, :3] = np.where(take, estimates.mean[:, :3], mean[rows, :3])
        se[rows, :3] = np.where(take, estimates.se[:, :3], se[rows, :3])
        if f in further and estimates.mean.shape[1] > 3:
            block = rows[further[f][rows]]
            mean[block, 3:] = estimates.mean[further[f][rows], 3:]
            se[block, 3:] = estimates.se[further[f][rows], 3:]
        paths[rows] = np.where(take, estimates.paths, paths[rows])
        width = estimates.total_mean.size
        total_mean[:width] += estimates.total_mean
        total_var[:width] += estimates.total_se ** 2
        if estimates.subtotal_mean.size:
            sub_mean[:estimates.subtotal_mean.shape[0], :width] += estimates.subtotal_mean
            sub_var[:estimates.subtotal_mean.shape[0], :width] += estimates.subtotal_se ** 2
    out = Estimates(mean, se, total_mean, np.sqrt(total_var), sub_mean, np.sqrt(sub_var),
                    complete=first.complete)
    out.choice = _single_labels(np.take_along_axis(labels.T, chosen, axis=1), first.single)
    out.paths = paths
    out.exercise, out.exercise_se = first.exercise, first.exercise_se
    out.single = first.single
    return out


def _single_labels(choice: np.ndarray, single: np.ndarray) -> np.ndarray:
    """``choice`` (rows × 3 labels) with the rows that went on single paths rather than
    antithetic pairs (``single``, :func:`greeks.exercise.prepare`) named so."""
    if not single.any():
        return choice
    choice = choice.astype(object)
    choice[single] = SINGLE_LABEL
    return choice


class _Planned(NamedTuple):
    """A family's groups planned for a frame (before totals, further Greeks and exercise
    policies), their path counts, and the frame's ids."""

    groups: list
    counts: list
    ids: np.ndarray


def _plan_family(frame: pd.DataFrame, paths, scheme: str = DEFAULT_SCHEME,
                 steps_per_year: float = AUTO_STEPS, first_step: float = 0.0,
                 method: str = "auto", plain: bool = False) -> _Planned:
    """The groups of one ``method`` family on ``frame`` (:func:`plan_groups`), with the
    family's conditioning and antithetic pairs, and each one's path count."""
    groups = plan_groups(frame, scheme, steps_per_year, first_step, method, plain, paths=paths)
    for g, group in enumerate(groups):  # one copy of each group with all its changes
        changes = {"conditional": False} if plain or method == "lr" else {}
        if not plain:
            changes["antithetic"] = group.method is not Family.RQMC
        if changes:
            groups[g] = replace(group, **changes)
    ids = frame["id"].to_numpy()
    return _Planned(groups, [paths_of(paths, group, ids, plain) for group in groups], ids)


def _family_work(planned: _Planned, plain: bool = False, paths=None,
                 guess: bool = False, pilot: Callable[[int], int] | None = None) -> float:
    """The units of work (:mod:`greeks.engine.progress`) of a planned family run: its
    exercise policies' fits, its control pilot and its main chunks; with ``paths``, of the
    same groups at that path count (a count, or one per group key); with ``guess``, each
    group's work times the share of it that ``auto`` is expected to take
    (:func:`greeks.engine.progress.expected_share`); ``pilot`` the control pilot's paths
    (default :func:`control_pilot_paths`)."""
    pilot = pilot or control_pilot_paths
    counts = (planned.counts if paths is None else
              [paths_of(paths, group, planned.ids, plain) for group in planned.groups])
    total = 0.0
    for group, count in zip(planned.groups, counts):
        units = sum(chunk_cost(group, n) for _, n in group.chunks(count))
        if group.method is Family.EXERCISE:
            units += policy_cost(group, exercise.POLICY_PATHS)
        if not plain and group.method.controlled:
            units += sum(chunk_cost(group, n) for _, n in group.chunks(pilot(count)))
        total += units * (expected_share(group) if guess else 1.0)
    return total


def _run_family(frame: pd.DataFrame, planned: _Planned, seed: int,
                threads: int | None = None, work: Work | None = None, plain: bool = False,
                weight: np.ndarray | None = None, subtotal: np.ndarray | None = None,
                extra: tuple[str, ...] = (), first_chunk: int = 0,
                scheduler: str = DEFAULT_SCHEDULER,
                pilot: Callable[[int], int] | None = None,
                policy: ExercisePolicy = ExercisePolicy(), choose: bool = False) -> Estimates:
    """Run one planned family (:func:`_plan_family`) on ``frame``.

    The total (and each subtotal) is Σ weight_jk · estimate_jk over its rows, with
    ``weight`` (rows × 3, frame order; default: the quantity for every Greek); ``subtotal``
    gives each row's subtotal id 0..n−1 (−1: in none).  Each group runs its planned count
    (the run's, or under a target its key's: :mod:`greeks.target`), its grid planned for
    that count (automatic Heston grids refined: :func:`greeks.engine.plan.plan_groups`),
    the pilot on the main run's grid;
    ``first_chunk`` offsets the chunk numbers, hence the streams (a sizing run uses
    streams of its own).

    Unless ``plain``: paths come in antithetic pairs (an odd path count is rounded up),
    Heston european and digital rows are estimated by conditional Monte Carlo, and every
    estimate gets the control variates of :mod:`greeks.estimators`: a pilot run of
    ``pilot(count)`` paths per group (default :func:`control_pilot_paths`), on streams of
    its own (chunk numbers from
    ``streams.PILOT`` up), estimates their coefficients per row and Greek, and the main run
    uses them as constants.  Only the main paths enter the estimates and their standard
    errors.  With ``plain``, every row gets the plain likelihood-ratio estimators.
    American and bermudan rows first get their exercise ``policy`` from a pilot of their own
    (:func:`greeks.exercise.prepare`).
    ``scheduler`` runs the chunks (:func:`greeks.engine.scheduler.completed`); ``work`` is
    advanced as the policies, pilot and main chunks complete (:mod:`greeks.engine.progress`).
    """
    work = work or Work()
    run = _FamilyRun.prepare(frame, planned, seed, work, plain, weight, subtotal, extra,
                             first_chunk, pilot, policy, choose)
    return _run_together([run], seed, threads, work, scheduler)[0]


class _FamilyRun(NamedTuple):
    """One family's run prepared (:meth:`prepare`): its frame, its groups with their totals,
    further Greeks and exercise policies (and their control coefficients once
    :func:`_run_together` has them), their path counts, its main chunks' tasks and what its
    reduction needs."""

    frame: pd.DataFrame
    groups: list
    counts: list
    tasks: list
    n_subtotals: int
    codes: np.ndarray
    plain: bool
    first_chunk: int
    pilot: Callable[[int], int]

    @classmethod
    def prepare(cls, frame: pd.DataFrame, planned: _Planned, seed: int, work: Work,
                plain: bool = False, weight: np.ndarray | None = None,
                subtotal: np.ndarray | None = None, extra: tuple[str, ...] = (),
                first_chunk: int = 0, pilot: Callable[[int], int] | None = None,
                policy: ExercisePolicy = ExercisePolicy(),
                choose: bool = False) -> "_FamilyRun":
        """:func:`_run_family`'s arguments, its exercise policies fitted (``work`` advanced
        by them)."""
        n_subtotals = (0 if subtotal is None
                       else int(np.asarray(subtotal, dtype=np.int64).max(initial=-1)) + 1)
        codes = np.array([sensitivities.NAMES.index(name) for name in extra], dtype=np.int64)
        groups = _prepared(frame, planned.groups, seed, work, weight, subtotal, codes,
                           first_chunk, policy, choose)
        tasks = [(g, first_chunk + c, n) for g, group in enumerate(groups)
                 for c, n in group.chunks(planned.counts[g])]
        return cls(frame, groups, planned.counts, tasks, n_subtotals, codes, plain,
                   first_chunk, pilot or control_pilot_paths)

    def estimates(self, results: list, patterns: list) -> Estimates:
        """The run's estimates from its main chunks' ``results`` (task order) and each
        group's ``patterns`` (:func:`greeks.engine.reduce.carried`)."""
        groups = self.groups
        estimates = _reduce(self.frame, groups, self.tasks, results, self.n_subtotals,
                            self.codes, patterns)
        estimates.paths = np.zeros((len(self.frame), 3), dtype=np.int64)
        estimates.single = np.zeros(len(self.frame), dtype=bool)
        for group, count in zip(groups, self.counts):
            estimates.paths[group.positions] = count
            estimates.single[group.positions] = group.method is Family.EXERCISE and not (
                group.antithetic or self.plain)
        return estimates


def _run_together(runs: list, seed: int, threads: int | None, work: Work,
                  scheduler: str) -> list:
    """The estimates of several prepared family runs (:class:`_FamilyRun`), their phases
    side by side: every run's control pilot in one pass over the scheduler, then every
    run's main chunks in one, so that no worker waits at the end of one family's phase
    while another's could run.  Each chunk keeps its group, stream and index, and each
    run reduces its own chunks in task order: the numbers are those of the runs one by
    one."""
    threads = threads or default_threads()
    groups = [group for run in runs for group in run.groups]
    first = np.cumsum([0] + [len(run.groups) for run in runs])

    def advance(task) -> None:
        work.advance(chunk_cost(groups[task[0]], task[2]))

    pilots = [(run.first_chunk, run.pilot(count)) if not run.plain else None
              for run in runs for count in run.counts]
    groups = _with_coefficients(groups, pilots, seed, threads, advance, scheduler)
    for r, run in enumerate(runs):  # each run's groups with their coefficients from here on
        run.groups[:] = groups[first[r]:first[r + 1]]
    tasks = [(first[r] + g, c, n) for r, run in enumerate(runs) for g, c, n in run.tasks]
    results: list = [None] * len(tasks)
    patterns = [np.zeros((group.n_rows, estimators.PATTERN_SUMS)) for group in groups]

    def kept(found):  # the moments kept, the pattern sums passed on
        for i, (moments_, (sums, _)) in found:
            results[i] = moments_
            yield i, sums[:, :estimators.PATTERN_SUMS]

    def add(g, part) -> None:
        patterns[g] += part
    in_task_order(kept(completed(run_chunk, groups, tasks, seed, threads, advance, scheduler)),
                  tasks, add)
    out, done = [], 0
    for r, run in enumerate(runs):
        out.append(run.estimates(results[done:done + len(run.tasks)],
                                 patterns[first[r]:first[r + 1]]))
        done += len(run.tasks)
    return out


def _prepared(frame: pd.DataFrame, groups: list, seed: int, work: Work,
              weight: np.ndarray | None, subtotal: np.ndarray | None, codes: np.ndarray,
              first_chunk: int, policy: ExercisePolicy, choose: bool = False) -> list:
    """The groups with their totals' weights and subtotals (default: the quantity for
    every Greek, no subtotals), the further Greeks ``codes`` of the families that estimate
    them, and the exercise policies (``policy``) of the early-exercise groups
    (:func:`greeks.exercise.prepare`; with ``choose``, ``auto``'s choice of antithetic pairs
    or single paths)."""
    if weight is not None or subtotal is not None:
        weight = (np.repeat(frame["quantity"].to_numpy(dtype=float)[:, None], 3, axis=1)
                  if weight is None else np.asarray(weight, dtype=float))
        subtotal = (np.full(len(frame), -1) if subtotal is None
                    else np.asarray(subtotal, dtype=np.int64))
        groups = [group.with_totals(weight, subtotal) for group in groups]
    if codes.size:
        groups = [group.with_extra(codes) if group.method.further else group
                  for group in groups]
    prepared = []
    for group in groups:
        if group.method is Family.EXERCISE:
            group = exercise.prepare(group, seed, first_chunk, policy, choose)
            work.advance(policy_cost(group, exercise.POLICY_PATHS))
        prepared.append(group)
    return prepared


def _with_coefficients(groups: list, pilots: list, seed: int, threads: int, advance,
                       scheduler: str) -> list:
    """The controlled groups with their control coefficients from a pilot of each group's
    ``pilots`` entry, (first chunk, paths) (None: no pilot; chunk numbers from
    ``streams.PILOT`` past its first chunk), its sums taken in chunk order, so that they do
    not depend on which chunk finished first."""
    pilot = [(g, streams.PILOT + pilots[g][0] + c, n)
             for g, group in enumerate(groups) if group.method.controlled and pilots[g]
             for c, n in group.chunks(pilots[g][1])]
    if not pilot:
        return groups
    sums = [[0.0, 0.0] for _ in groups]

    def add(g, found) -> None:
        sums[g][0] += found[0]
        sums[g][1] += found[1]
    in_task_order(((i, found[1]) for i, found in completed(
        run_chunk, groups, pilot, seed, threads, advance, scheduler, args=(True,))), pilot, add)
    return [group if not (group.method.controlled and pilots[g]) else
            replace(group, coef=estimators.control_coefficients(
                main, group.units(pilots[g][1]), group.martingale),
                extra_coef=sensitivities.coefficients(further, group.units(pilots[g][1])))
            for g, (group, (main, further)) in enumerate(zip(groups, sums))]
