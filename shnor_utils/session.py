"""What a template opens: the report's dataset, methodology and indicators, as one `Report`.

`open_report(dataset, template=…, scope=…, entity_id=…, cache=…)` is the first line of every
template. In a batch, `cache` is the batch's cache folder (a parameter injected into the notebook,
never an environment variable): the dataset comes from the validated snapshot the batch wrote and
the indicators from the batch's Parquet file. A notebook opened by hand (`cache=None`) reads and
validates the files and computes the indicators itself.

A warm kernel runs many reports on one dataset: they share one load, keyed by the files' size and
modification time and the methodology digest, which is what makes the batch fast. From a batch
snapshot each table is read on first use, so a kernel holds only the tables its templates read; and
a school or municipality report reads only its municipality's partition of the snapshot and of the
indicator table, with the region-wide aggregates the batch computed once (`analyses.aggregates`): a
kernel's memory does not grow with the region. A region report reads the whole snapshot and table.

A report shows the indicators after `privacy.suppress` (aggregates of small groups hidden); the
computed table stays whole for the analyses, and a school's own report shows its own rows
(docs/METHODOLOGY.md §0 «Малые группы»).
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pandas as pd

from shnor_utils.analyses import compute_all
from shnor_utils.data.dataset import Dataset, contiguous, files_stamp, load_dataset, read_snapshot
from shnor_utils.data.snapshot import has_partitions, municipality_of, read_indicator_part, read_partition
from shnor_utils.data.tables import trim_heap
from shnor_utils.indicators.privacy import hidden_values, suppress
from shnor_utils.methodology import Methodology, load_methodology
from shnor_utils.reporting.report import Report, clear_derived

_MEMO: dict = {}


def open_report(dataset, *, template: str, scope: str, entity_id: str | None = None, year: int | None = None,
                region_name: str = "Регион", methodology: str | None = None, cache: str | None = None,
                **parameters) -> Report:
    """Load (validated) data and indicators for one report and return its `Report`."""
    meth = load_methodology(methodology)
    ds, table = load(dataset, meth, cache, scope=scope, entity_id=entity_id)
    return Report(ds, meth, table.shown, unsuppressed=table.hidden, template=template, scope=scope,
                  entity_id=entity_id, year=year, region_name=region_name, parameters={"dataset": str(dataset), "scope": scope,
                                                       "entity_id": entity_id, "year": year, **parameters})


class Shown(NamedTuple):
    """The indicator table of a kernel: what a report may show (`privacy.suppress`, one frame shared by
    every report of the kernel, and so the region-wide memo of `Report.derived`), and the computed
    values it hides (`privacy.hidden_values`), which a school's own report takes back."""
    shown: pd.DataFrame
    hidden: pd.DataFrame


def shown(indicators: pd.DataFrame, meth: Methodology) -> Shown:
    """The computed indicator table made ready to show; the computed table itself is not kept."""
    visible = suppress(indicators, meth)
    table = Shown(visible, hidden_values(visible, indicators))
    trim_heap()   # the copies made on the way are given back to the system
    return table


def snapshot_path(cache: str | Path, key: str) -> Path:
    """Folder of the validated dataset snapshot of files-stamp `key` in a batch cache."""
    return Path(cache) / f"dataset-{key}"


def indicators_path(cache: str | Path, ds: Dataset, meth: Methodology) -> Path:
    """Parquet file of the indicators of (dataset, methodology) in a batch cache."""
    return Path(cache) / f"indicators-{ds.digest()}-{meth.digest}.parquet"


def load(dataset, meth: Methodology, cache: str | None = None, *, scope: str = "region", entity_id=None):
    """The validated dataset and its indicators, kept in memory while the files are unchanged.

    In a batch (`cache`) whose snapshot has municipality partitions, a school or municipality report
    gets its municipality's `snapshot.Partition` and its municipality's rows of the indicator table
    (`snapshot.indicator_rows`: its schools', every municipality's and the region's), and reads what
    it compares with region-wide from the batch's precomputed aggregates; a kernel moving to another
    municipality drops the previous one. A region report, or a cache without partitions, gets the whole
    snapshot (read lazily) and the region's whole indicator table."""
    root = Path(dataset).resolve()
    key = files_stamp(root, meth.digest) if root.is_dir() else (str(root), meth.digest)
    snapshot = snapshot_path(cache, key) if cache else None
    ready = snapshot is not None and (snapshot / "dataset.json").exists()
    part = None
    if ready and scope in ("school", "municipality") and has_partitions(snapshot):
        part = municipality_of(snapshot, scope, entity_id)
    if (key, part) not in _MEMO:
        _MEMO.clear()
        clear_derived()
        trim_heap()   # the previous municipality's (or the region's) tables are given back to the system
        if part is not None:
            # only this municipality's rows of the pupil-level tables and of the indicator table
            _MEMO[(key, part)] = (read_partition(snapshot, part), shown(read_indicator_part(snapshot, part), meth))
        else:
            ds = read_snapshot(snapshot, lazy=True) if ready else load_dataset(root, methodology=meth)
            _MEMO[(key, part)] = (ds, shown(_indicators(ds, meth, cache), meth))
    return _MEMO[(key, part)]


def _indicators(ds: Dataset, meth: Methodology, cache: str | None) -> pd.DataFrame:
    """Indicators of the whole dataset: from the batch cache when there, else computed."""
    if cache:
        path = indicators_path(cache, ds, meth)
        if path.exists():
            return contiguous(pd.read_parquet(path))
    return compute_all(ds, meth)
