"""Where the runs of a batch are executed: a local thread pool (a warm kernel per thread) or a
Dask distributed cluster (`shnor run … --scheduler tcp://HOST:PORT`).

A backend knows nothing of what a run is: `backend.run(step, runs, record)` calls `step(run)`
for every run (in a worker thread, or as a task on the cluster) and `record(result)` in the
driver as each result arrives, so progress, state, sidecars and the index are the same
everywhere. On a cluster, `step` is pickled to the workers: a module-level function (or a
`functools.partial` of one). Workers must see the project, the dataset and the output folder at
the same paths (a shared file system); each writes its reports there.
"""
from __future__ import annotations

import concurrent.futures as cf

from shnor_utils.errors import ClusterError


class LocalPool:
    """`workers` threads on this machine."""

    def __init__(self, workers: int):
        self.workers = workers

    @property
    def where(self) -> str:
        return f"потоков: {self.workers}"

    def run(self, step, runs: list, record) -> None:
        with cf.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="shnor") as pool:
            futures = [pool.submit(step, r) for r in runs]
            try:
                for fut in cf.as_completed(futures):
                    record(fut.result())
            except KeyboardInterrupt:
                for f in futures:
                    f.cancel()
                raise


class DaskCluster:
    """The Dask scheduler at `address`; a run is a task keyed by its run id and key."""

    def __init__(self, address: str, timeout: str = "20s"):
        self.address, self.timeout = address, timeout

    @property
    def where(self) -> str:
        return f"кластер {self.address}"

    def run(self, step, runs: list, record) -> None:
        from distributed import Client, as_completed   # heavy, and only for --scheduler

        try:
            client = Client(self.address, timeout=self.timeout)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"не удалось подключиться к кластеру Dask «{self.address}»: {exc}") from exc
        try:
            futures = [client.submit(step, r, key=f"shnor-{r.run_id}-{r.key}", pure=False) for r in runs]
            for fut in as_completed(futures):
                record(fut.result())
        finally:
            client.close()


def backend(scheduler: str | None, workers: int):
    """The cluster at `scheduler`, else a local pool of `workers` threads."""
    return DaskCluster(scheduler) if scheduler else LocalPool(workers)
