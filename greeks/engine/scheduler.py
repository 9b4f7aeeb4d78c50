"""Where chunks run: threads of this process, a process pool, or a Dask cluster; each
chunk's numbers depend only on the seed, its group and its index."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed

from greeks import dask_client
from greeks.engine.chunks import run_chunk
from greeks.names import SCHEDULERS


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


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
    if scheduler == "processes":
        yield from _completed_in_processes(groups, tasks, seed, threads, progress, collect)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
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


BATCHES_PER_WORKER = 4  # batches per process: enough to even out the workers' loads
MIN_BATCH_WORK = 1 << 23  # path-dates (about 0.1 s of simulation): worth one shipment


def batches(groups, tasks, workers: int) -> list[list[int]]:
    """The task indices of each batch that one process runs: consecutive tasks (a group's
    chunks stay together) of about 1/(``BATCHES_PER_WORKER`` · ``workers``) of the work in
    path-dates each, at least ``MIN_BATCH_WORK``, so that shipping a batch (its groups
    pickled once, its results back) costs little beside simulating it."""
    work = [n * groups[g].times.size for g, _, n in tasks]
    size = max(MIN_BATCH_WORK, sum(work) / (workers * BATCHES_PER_WORKER))
    out, current, filled = [], [], 0.0
    for i, amount in enumerate(work):
        current.append(i)
        filled += amount
        if filled >= size:
            out.append(current)
            current, filled = [], 0.0
    return out + [current] if current else out


def run_batch(groups: dict, seed: int, tasks: list, collect: bool) -> list:
    """:func:`run_chunk` of each (group index, chunk, paths) task; ``groups`` maps the
    indices to their groups."""
    return [run_chunk(groups[g], seed, c, n, collect) for g, c, n in tasks]


def _completed_in_processes(groups, tasks, seed: int, workers: int, progress, collect: bool):
    """As :func:`_completed` on a pool of ``workers`` processes, the tasks shipped in
    :func:`batches`."""
    from concurrent.futures import ProcessPoolExecutor  # multiprocessing: a tenth of a second

    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {}
        for batch in batches(groups, tasks, workers):
            part = [tasks[i] for i in batch]
            futures[pool.submit(run_batch, {g: groups[g] for g, _, _ in part}, seed, part,
                                collect)] = batch
        try:
            for future in as_completed(futures):
                for i, result in zip(futures[future], future.result()):
                    progress(tasks[i])
                    yield i, result
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _completed_on_dask(groups, tasks, seed: int, progress, collect: bool, address: str):
    """As :func:`_completed`, the chunks submitted to the Dask scheduler at ``address``."""
    client = dask_client.client(address)
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
