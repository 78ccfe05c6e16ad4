"""Running a batch on a Dask distributed cluster (`shnor run … --scheduler tcp://HOST:PORT`).

The driver plans the batch and prepares the cache as usual; each run is then a task on the
cluster. Workers must see the project, the dataset and the output folder at the same paths (a
shared file system): a worker executes the run in its own warm kernel exactly as a local worker
does and writes the report there. The driver records results as they arrive, so progress,
state, sidecars and the index are the same as in a local batch.
"""
from __future__ import annotations




def remote_execute(run, cfg, provenance: dict):
    """Executed on a Dask worker: the same `batch.execute` (the cache path is a run parameter)."""
    from shnor_utils.batch import runner as batch

    return batch.execute(run, cfg, provenance)


def run_on_cluster(address: str, runs: list, cfg, provenance: dict, record) -> None:
    from distributed import Client, as_completed

    from shnor_utils.errors import ParameterError

    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ParameterError(f"не удалось подключиться к кластеру Dask «{address}»: {exc}") from exc
    try:
        futures = [client.submit(remote_execute, r, cfg, provenance, key=f"shnor-{r.run_id}-{r.key}", pure=False)
                   for r in runs]
        for fut in as_completed(futures):
            record(fut.result())
    finally:
        client.close()
