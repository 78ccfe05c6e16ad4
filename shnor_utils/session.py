"""What a template opens: the report's dataset, methodology and indicators, as one `Report`.

`open_report(dataset, template=…, scope=…, entity_id=…, cache=…)` is the first line of every
template. In a batch, `cache` is the batch's cache folder (a parameter injected into the notebook,
never an environment variable): the dataset comes from the validated snapshot the batch wrote and
the indicators from the batch's Parquet file. A notebook opened by hand (`cache=None`) reads and
validates the files and computes the indicators itself.

A warm kernel runs many reports on one dataset: they share one load, keyed by the files' size and
modification time and the methodology digest, which is what makes the batch fast. From a batch
snapshot each table is read on first use, so a kernel holds only the tables its templates read.

A report shows the indicators after `privacy.suppress` (aggregates of small groups hidden); the
computed table stays whole for the analyses, and a school's own report shows its own rows
(docs/METHODOLOGY.md §0 «Малые группы»).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from shnor_utils.analyses import compute_all
from shnor_utils.data.dataset import Dataset, contiguous, files_stamp, load_dataset, read_snapshot
from shnor_utils.indicators.privacy import suppress
from shnor_utils.methodology import Methodology, load_methodology
from shnor_utils.reporting.report import Report, clear_derived

_MEMO: dict = {}


def open_report(dataset, *, template: str, scope: str, entity_id: str | None = None, year: int | None = None,
                region_name: str = "Регион", methodology: str | None = None, cache: str | None = None,
                **parameters) -> Report:
    """Load (validated) data and indicators for one report and return its `Report`."""
    meth = load_methodology(methodology)
    ds, indicators = load(dataset, meth, cache)
    return Report(ds, meth, shown(indicators, meth), unsuppressed=indicators, template=template, scope=scope,
                  entity_id=entity_id, year=year, region_name=region_name, parameters={"dataset": str(dataset), "scope": scope,
                                                       "entity_id": entity_id, "year": year, **parameters})


_SHOWN: dict = {}


def shown(indicators: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """The indicators a report may show (`privacy.suppress`), computed once per loaded table: every
    report of a warm kernel shares one frame (and so the region-wide memo of `Report.derived`)."""
    key = (id(indicators), meth.digest)
    if key not in _SHOWN:
        _SHOWN.clear()
        _SHOWN[key] = (indicators, suppress(indicators, meth))   # the table is kept so its id stays its own
    return _SHOWN[key][1]


def snapshot_path(cache: str | Path, key: str) -> Path:
    """Folder of the validated dataset snapshot of files-stamp `key` in a batch cache."""
    return Path(cache) / f"dataset-{key}"


def indicators_path(cache: str | Path, ds: Dataset, meth: Methodology) -> Path:
    """Parquet file of the indicators of (dataset, methodology) in a batch cache."""
    return Path(cache) / f"indicators-{ds.digest()}-{meth.digest}.parquet"


def load(dataset, meth: Methodology, cache: str | None = None):
    """The validated dataset and its indicators, kept in memory while the files are unchanged."""
    root = Path(dataset).resolve()
    key = files_stamp(root, meth.digest) if root.is_dir() else (str(root), meth.digest)
    if key not in _MEMO:
        _MEMO.clear()
        clear_derived()
        snapshot = snapshot_path(cache, key) if cache else None
        if snapshot is not None and (snapshot / "dataset.json").exists():
            ds = read_snapshot(snapshot, lazy=True)   # a kernel holds only the tables its reports read
        else:
            ds = load_dataset(root, methodology=meth)
        _MEMO[key] = (ds, _indicators(ds, meth, cache))
    return _MEMO[key]


def _indicators(ds: Dataset, meth: Methodology, cache: str | None) -> pd.DataFrame:
    """Indicators of the whole dataset: from the batch cache when there, else computed."""
    if cache:
        path = indicators_path(cache, ds, meth)
        if path.exists():
            return contiguous(pd.read_parquet(path))
    return compute_all(ds, meth)
