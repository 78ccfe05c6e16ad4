"""Where the runs of a batch are executed: a local thread pool (a warm kernel per thread) or a
Dask distributed cluster (`shnor run … --scheduler tcp://HOST:PORT`).

A backend knows nothing of what a run is: `backend.run(step, runs, record)` calls `step(run)`
for every run (in a worker thread, or as a task on the cluster) and `record(result)` in the
driver as each result arrives, so progress, state, sidecars and the index are the same
everywhere. On a cluster, `step` is pickled to the workers: a module-level function (or a
`functools.partial` of one). Workers must see the project, the dataset and the output folder at
the same paths (a shared file system); each writes its reports there.

On a cluster the runs, in plan order (municipality by municipality, plan.by_partition), are cut
into one contiguous slice per worker and each run is pinned to its slice's worker
(`allow_other_workers=True`: a lost worker's runs still go elsewhere). A worker's warm kernel thus
loads each partition of its slice once, and a municipality is shared by two workers only where two
slices meet — not by every worker as when any free worker takes the next run. The workers import
the batch code and start their kernels while the driver prepares the data (`start`), and stop their
kernels when the batch ends, as the local pool does.
"""
from __future__ import annotations

import concurrent.futures as cf
import uuid

from shnor_utils.errors import ClusterError


class LocalPool:
    """`workers` threads on this machine."""

    def __init__(self, workers: int):
        self.workers = workers

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def start(self, warm_up, stop) -> None:
        """Nothing to prepare: the threads start with the batch (their kernels on their first run)."""

    @property
    def where(self) -> str:
        return f"потоков: {self.workers}"

    def run(self, step, runs: list, record) -> None:
        """Every run on the pool. The region reports first, one after another on one worker, before the
        others start (`whole_region`): each reads the whole region (≈ 1.9 GB at 1,000 schools), and a
        second kernel beside it — another region report, or a municipality's — made the batch's memory
        peak. Their kernel then gives the region back when it moves to a municipality (session.load)."""
        whole, rest = whole_region(runs)
        with cf.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="shnor") as pool:
            futures = []
            try:
                if whole:
                    for res in pool.submit(_in_turn, step, whole).result():
                        record(res)
                futures = [pool.submit(step, r) for r in rest]
                for fut in cf.as_completed(futures):
                    record(fut.result())
            except KeyboardInterrupt:
                for f in futures:
                    f.cancel()
                raise


def whole_region(runs: list) -> tuple[list, list]:
    """(the runs that read the whole region — region reports —, the others), each in the given order."""
    whole = [r for r in runs if getattr(r, "scope", None) == "region"]
    return whole, [r for r in runs if getattr(r, "scope", None) != "region"]


def _in_turn(step, runs: list) -> list:
    """`step` on each run, one after another, in one worker thread (so in one warm kernel)."""
    return [step(r) for r in runs]


def _call(step, run):
    """A task on the cluster: `step` (scattered once to every worker) on one run."""
    return step(run)


def slices(runs: list, n: int) -> list[list]:
    """`runs` cut, in their order, into `n` contiguous slices of (nearly) equal length."""
    size, extra = divmod(len(runs), n)
    out, at = [], 0
    for i in range(n):
        end = at + size + (1 if i < extra else 0)
        out.append(runs[at:end])
        at = end
    return out


class DaskCluster:
    """The Dask scheduler at `address`; a run is a task keyed by its run id and key."""

    def __init__(self, address: str, timeout: str = "20s"):
        self.address, self.timeout = address, timeout
        self.client = None
        self.warming: list = []
        self.stop = None
        self.tag = uuid.uuid4().hex[:8]   # this batch's own task keys on a shared cluster

    @property
    def where(self) -> str:
        return f"кластер {self.address}"

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            if self.warming and self.stop is not None:   # warmed, but the batch stopped before its runs
                self.client.cancel(self.warming)
                self._on_every(self.stop, self.workers())
            self.client.close()
            self.client = None

    def _connect(self):
        if self.client is None:
            from distributed import Client   # heavy, and only for --scheduler

            try:
                self.client = Client(self.address, timeout=self.timeout)
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"не удалось подключиться к кластеру Dask «{self.address}»: {exc}") from exc
        return self.client

    def workers(self) -> list[str]:
        return sorted(self._connect().scheduler_info(n_workers=-1)["workers"])

    def start(self, warm_up, stop) -> None:
        """`warm_up()` on every worker now (imports, its kernel started), while the driver prepares;
        `stop()` on every worker when the batch ends (its kernels stopped)."""
        client = self._connect()
        self.stop = stop
        self.warming = [client.submit(warm_up, key=f"shnor-warm-{self.tag}-{i}", pure=False, workers=[addr])
                        for i, addr in enumerate(self.workers())]

    def run(self, step, runs: list, record) -> None:
        from distributed import as_completed

        client = self._connect()
        workers = self.workers() or [None]
        futures = []
        try:
            # the step (a partial with the batch's config, provenance and NavMap of every run, ≈ 150 B a
            # run) is sent to every worker once, not pickled again with each of thousands of tasks
            shared = client.scatter(step, broadcast=True, hash=False)
            for addr, part in zip(workers, slices(runs, len(workers))):
                where = {"workers": [addr], "allow_other_workers": True} if addr else {}
                # a worker takes its queued tasks by priority, later submissions first unless told:
                # the plan's order is the priority (higher runs first)
                futures += [client.submit(_call, shared, r, key=f"shnor-{r.run_id}-{r.key}", pure=False,
                                          priority=len(runs) - len(futures) - i, **where) for i, r in enumerate(part)]
            for fut in as_completed(futures):
                record(fut.result())
        finally:
            client.cancel(futures + self.warming)
            self.warming = []
            if self.stop is not None:
                self._on_every(self.stop, workers)

    def _on_every(self, fn, workers: list) -> None:
        """`fn()` once on every worker, in the thread that runs the tasks (where its kernels are)."""
        from distributed import wait

        done = []
        try:
            done = [self.client.submit(fn, key=f"shnor-stop-{self.tag}-{i}", pure=False, workers=[addr])
                    for i, addr in enumerate(workers) if addr]
            wait(done, timeout=60)
        except Exception:   # a worker gone (its kernels went with it) or too slow to answer
            pass
        finally:
            self.client.cancel(done)


def backend(scheduler: str | None, workers: int):
    """The cluster at `scheduler`, else a local pool of `workers` threads."""
    return DaskCluster(scheduler) if scheduler else LocalPool(workers)
