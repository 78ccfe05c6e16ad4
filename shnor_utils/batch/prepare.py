"""The batch's data, prepared once: the validated dataset (kept as a snapshot in the batch cache,
split by municipality, with the region-wide aggregates school reports compare with) and every
indicator (a Parquet file in the cache). The kernels read both instead of parsing,
validating and computing again; `shnor render` and `shnor index` read them without a kernel."""
from __future__ import annotations

import gc
import shutil
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from shnor_utils.analyses import compute_all
from shnor_utils.analyses.aggregates import write_aggregates, write_indicator_aggregates
from shnor_utils.batch.config import BatchConfig
from shnor_utils.data.dataset import contiguous, files_stamp, load_dataset, read_snapshot, write_snapshot
from shnor_utils.data.tables import trim_heap
from shnor_utils.data.snapshot import INDICATOR_PARTS, write_partitions
from shnor_utils.indicators import write_indicators
from shnor_utils.methodology import load_methodology
from shnor_utils.session import indicators_path, snapshot_path


def load_data(cfg: BatchConfig, meth):
    """The validated dataset: from the cache's snapshot of the unchanged folder, else from the files.
    A damaged snapshot (a truncated Parquet file, a deleted table) is removed and made again.

    The snapshot's tables are read on first use (the driver of a batch whose snapshot, partitions
    and aggregates are in place reads each pupil-level table once, for the run keys, one at a time:
    `state.DataDigests`); every file's Parquet footer is checked now, so a damaged one is still found here."""
    snapshot = snapshot_path(cfg.cache, files_stamp(cfg.dataset, meth.digest))
    if snapshot.exists():
        try:
            ds = read_snapshot(snapshot, lazy=True)
            for name in ds.files:
                pq.read_metadata(snapshot / f"{name}.parquet")
            return ds
        except Exception as exc:   # any damage: the cache is only a copy, the dataset folder is the truth
            _damaged(snapshot, exc)
    return load_dataset(cfg.dataset, methodology=meth)


def _damaged(path: Path, exc: Exception) -> None:
    """Remove a damaged cache entry (it is made again from the dataset) and say so."""
    print(f"Кэш пакета повреждён ({path.name}: {type(exc).__name__}), он будет создан заново", file=sys.stderr)
    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _read_indicators(path: Path, make) -> pd.DataFrame:
    """The cached indicator table; a missing or damaged file is computed (`make()`) and written again."""
    if path.exists():
        try:
            return pd.read_parquet(path)
        except Exception as exc:   # truncated or foreign file: rebuild it
            _damaged(path, exc)
    write_indicators(make(), path)
    return pd.read_parquet(path)


def prepare(cfg: BatchConfig):
    """Load and validate the dataset once and compute every indicator once for the whole batch;
    returns (methodology, dataset, indicators)."""
    meth = load_methodology(cfg.methodology)
    cache = cfg.cache
    snapshot = snapshot_path(cache, files_stamp(cfg.dataset, meth.digest))
    ds = load_data(cfg, meth)   # the validated snapshot of an unchanged folder: no CSV parsing, no checks again
    write_snapshot(ds, snapshot)      # the kernels read it instead of parsing and validating the files
    # the region-wide aggregates of the pupil-level tables, before the indicator table is in memory:
    # their working copies (1.4 GB at 3,000 schools) and the table do not add up at the peak
    write_aggregates(ds, meth, snapshot)
    trim_heap()
    path = indicators_path(cache, ds, meth)
    # the same frame (and dtypes) whether fresh or cached: keys stay stable
    fresh = []

    def make() -> pd.DataFrame:
        fresh.append(True)
        return compute_all(ds, meth)

    indicators = contiguous(_read_indicators(path, make))
    trim_heap()   # the computation's working copies, before the indicator aggregates make theirs
    if fresh:   # the municipalities' indicator rows are a copy of the table: of this one only
        shutil.rmtree(snapshot / INDICATOR_PARTS, ignore_errors=True)
    # a school / municipality report's kernel reads only its municipality's rows (of the pupil-level
    # tables and of the indicator table) and the region-wide aggregates computed here once (its memory
    # does not grow with the region); the region's, all
    write_indicator_aggregates(indicators, ds.schools, meth, snapshot)
    trim_heap()   # the suppressed copy of the region's table made on the way
    write_partitions(ds, snapshot)    # last: its index marks the snapshot as partitioned (session.load)
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
    trim_heap()

