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
    if scheduler == "local":
        pool_type = ThreadPoolExecutor
    else:  # imported here: multiprocessing costs a tenth of a second at start-up
        from concurrent.futures import ProcessPoolExecutor as pool_type
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
