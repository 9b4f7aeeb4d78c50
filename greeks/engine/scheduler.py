"""Where chunk jobs run: threads of this process, a process pool, or a Dask cluster.  A job
is a module-level function of (group, seed, chunk, paths, *args): the engine's
:func:`greeks.engine.chunks.run_chunk`, the ladder's reweighting, the Heston parameter
sensitivities, the bucketed Greeks; each chunk's numbers depend only on the seed, its group
and its index."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable

from greeks import dask_client
from greeks.engine.progress import chunk_cost
from greeks.names import SCHEDULERS


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def completed(job, groups, tasks, seed: int, threads: int | None = None, progress=None,
              scheduler: str = "local", args=()):
    """Run ``job(groups[g], seed, chunk, n, *args)`` for each (group index, chunk, paths)
    task; yield (task index, result) as each completes, after reporting progress
    (``progress(task)``).

    ``job`` is a module-level function, so that processes and Dask workers can import it:
    the engine's :func:`greeks.engine.chunks.run_chunk`, or a feature's own (the ladder's
    reweighting, the Heston parameter sensitivities, the bucketed Greeks).  It draws only
    from the streams of its group and chunk (``SeedSequence(seed, spawn_key=(*group.spawn_words,
    chunk))``), so that each chunk's numbers depend only on the seed, its group and its
    index.  ``args``: the job's further arguments, one tuple for every task or a list of one
    tuple per group.  ``scheduler``: ``local`` (``threads`` threads of this process; default
    one per core), ``processes`` (a pool of ``threads`` processes, the tasks shipped in
    :func:`batches`) or a Dask scheduler's address (its workers run the tasks).  Callers
    reduce the results in task order, so every scheduler and thread count gives
    bit-identical numbers."""
    if not tasks:
        return
    threads = threads or default_threads()
    progress = progress or _no_progress
    if scheduler not in SCHEDULERS:
        yield from _completed_on_dask(job, groups, tasks, seed, progress, args, scheduler)
        return
    if threads == 1 and scheduler == "local":
        for i, (g, c, n) in enumerate(tasks):
            result = job(groups[g], seed, c, n, *_arguments(args, g))
            progress(tasks[i])
            yield i, result
        return
    if scheduler == "processes":
        yield from _completed_in_processes(job, groups, tasks, seed, threads, progress, args)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {pool.submit(job, groups[g], seed, c, n, *_arguments(args, g)): i
                   for i, (g, c, n) in enumerate(tasks)}
        try:
            for future in as_completed(futures):
                i = futures.pop(future)  # its result is the caller's from here on
                result = future.result()
                progress(tasks[i])
                yield i, result
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def in_order(job, groups, tasks, seed: int, threads: int | None = None, progress=None,
             scheduler: str = "local", args=()) -> list:
    """The results of :func:`completed`, in task order."""
    results: list = [None] * len(tasks)
    for i, result in completed(job, groups, tasks, seed, threads, progress, scheduler, args):
        results[i] = result
    return results


def in_task_order(results, tasks: list, add: Callable) -> None:
    """Call ``add(g, value)`` for each (task index, value) of ``results`` (in any order, as
    :func:`completed` yields them) in task order within each group g of ``tasks`` (a
    group's tasks consecutive), so that sums over a group's chunks do not depend on which
    chunk finished first; only the values that arrive before an earlier one of their group
    are held meanwhile."""
    expected, held = {}, {}  # each group's next task: its first, to begin with
    for i, (g, _, _) in enumerate(tasks):
        expected.setdefault(g, i)
    for i, result in results:
        held[i] = result
        g = tasks[i][0]
        while expected[g] in held:
            add(g, held.pop(expected[g]))
            expected[g] += 1


def _no_progress(task) -> None:
    """No progress to report."""


def _arguments(args, g: int) -> tuple:
    """Group ``g``'s further arguments of a job: ``args`` itself, or its ``g``-th entry
    when it holds one tuple per group."""
    return args[g] if isinstance(args, list) else args


BATCHES_PER_WORKER = 4  # batches per process: enough to even out the workers' loads
MIN_BATCH_COST = 1 << 22  # units of chunk_cost (about 30 ms of simulation): worth one shipment


def batches(groups, tasks, workers: int) -> list[list[int]]:
    """The task indices of each batch that one process runs: consecutive tasks (a group's
    chunks stay together) of about 1/(``BATCHES_PER_WORKER`` · ``workers``) of the work each,
    at least ``MIN_BATCH_COST``, so that shipping a batch (its groups pickled once, its
    results back) costs little beside simulating it; the work of a chunk is its
    :func:`greeks.engine.progress.chunk_cost`, its model's and family's time per path-date
    and row-date, so that the batches of a phase mixing families take about equal times."""
    work = [chunk_cost(groups[g], n) for g, _, n in tasks]
    size = max(MIN_BATCH_COST, sum(work) / (workers * BATCHES_PER_WORKER))
    out, current, filled = [], [], 0.0
    for i, amount in enumerate(work):
        current.append(i)
        filled += amount
        if filled >= size:
            out.append(current)
            current, filled = [], 0.0
    return out + [current] if current else out


def run_batch(job, groups: dict, seed: int, tasks: list, args: dict) -> list:
    """``job`` of each (group index, chunk, paths) task; ``groups`` and ``args`` map the
    indices to their groups and the job's further arguments."""
    return [job(groups[g], seed, c, n, *args[g]) for g, c, n in tasks]


def _completed_in_processes(job, groups, tasks, seed: int, workers: int, progress, args):
    """As :func:`completed` on a pool of ``workers`` processes, the tasks shipped in
    :func:`batches`."""
    from concurrent.futures import ProcessPoolExecutor  # multiprocessing: a tenth of a second

    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {}
        for batch in batches(groups, tasks, workers):
            part = [tasks[i] for i in batch]
            used = {g for g, _, _ in part}
            futures[pool.submit(run_batch, job, {g: groups[g] for g in used}, seed, part,
                                {g: _arguments(args, g) for g in used})] = batch
        try:
            for future in as_completed(futures):
                for i, result in zip(futures.pop(future), future.result()):
                    progress(tasks[i])
                    yield i, result
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _completed_on_dask(job, groups, tasks, seed: int, progress, args, address: str):
    """As :func:`completed`, the tasks shipped to the Dask scheduler at ``address`` in
    :func:`batches` for its workers' threads (a group pickled once per batch, not once per
    chunk; each batch's key is named after ``job``)."""
    client = dask_client.client(address)
    workers = max(1, sum(client.nthreads().values()))
    futures = {}
    for batch in batches(groups, tasks, workers):
        part = [tasks[i] for i in batch]
        used = {g for g, _, _ in part}
        futures[client.submit(run_batch, job, {g: groups[g] for g in used}, seed, part,
                              {g: _arguments(args, g) for g in used},
                              key=f"{job.__name__}-{uuid.uuid4().hex}")] = batch
    try:
        for future, batch in futures.items():  # in submission order; the workers run ahead
            for i, result in zip(batch, future.result()):
                progress(tasks[i])
                yield i, result
    except BaseException:
        client.cancel(list(futures))
        raise
