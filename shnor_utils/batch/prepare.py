"""The batch's data, prepared once: the validated dataset (kept as a snapshot in the batch cache)
and every indicator (a Parquet file in the cache). The kernels read both instead of parsing,
validating and computing again; `shnor render` and `shnor index` read them without a kernel."""
from __future__ import annotations

import gc
import shutil

import pandas as pd

from shnor_utils.analyses import compute_all
from shnor_utils.batch.config import BatchConfig
from shnor_utils.data.dataset import contiguous, files_stamp, load_dataset, read_snapshot, write_snapshot
from shnor_utils.indicators import write_indicators
from shnor_utils.methodology import load_methodology
from shnor_utils.session import indicators_path, snapshot_path


def load_data(cfg: BatchConfig, meth):
    """The validated dataset: from the cache's snapshot of the unchanged folder, else from the files."""
    snapshot = snapshot_path(cfg.cache, files_stamp(cfg.dataset, meth.digest))
    if (snapshot / "dataset.json").exists():
        return read_snapshot(snapshot)
    return load_dataset(cfg.dataset, methodology=meth)


def prepare(cfg: BatchConfig):
    """Load and validate the dataset once and compute every indicator once for the whole batch;
    returns (methodology, dataset, indicators)."""
    meth = load_methodology(cfg.methodology)
    cache = cfg.cache
    snapshot = snapshot_path(cache, files_stamp(cfg.dataset, meth.digest))
    ds = load_data(cfg, meth)   # the validated snapshot of an unchanged folder: no CSV parsing, no checks again
    write_snapshot(ds, snapshot)      # the kernels read it instead of parsing and validating the files
    path = indicators_path(cache, ds, meth)
    if not path.exists():
        write_indicators(compute_all(ds, meth), path)
    indicators = contiguous(pd.read_parquet(path))   # the same frame (and dtypes) whether fresh or cached: keys stay stable
    for old in [*cache.glob("indicators-*.parquet"), *cache.glob("dataset-*")]:   # keep only the current cache
        if old not in (path, snapshot):
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return meth, ds, indicators


def release_tables(ds, keep=("schools",)) -> None:
    """Drop the dataset's large tables from the driver once the run keys are computed: during the
    reports only the kernels need them (from the snapshot), and a 1,000-school region holds ~1 GB."""
    for name in [n for n in ds.tables if n not in keep]:
        del ds.tables[name]
    gc.collect()
    try:
        import pyarrow as pa   # optional: only to give memory back
        pa.default_memory_pool().release_unused()   # give freed Arrow buffers back to the system
    except (ImportError, AttributeError):
        pass
