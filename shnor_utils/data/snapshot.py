"""The validated snapshot of a dataset, for the kernels of a batch.

The batch validates the dataset folder once (`dataset.load_dataset`), writes the typed frames here
(`write_snapshot`: Parquet, dtypes kept, with their provenance) and every kernel reads them back
(`read_snapshot`) in about a second instead of parsing and checking the CSV files again. The
snapshot's folder is keyed by `files_stamp`, which changes whenever a table file is rewritten.
"""
from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shnor_utils.data.tables import Dataset, LazyTables, TableFile, contiguous
from shnor_utils.errors import InputError
from shnor_utils.safeio import atomic_folder
from shnor_utils.data.validation import REPORT_NAME


def files_stamp(root, meth_digest: str) -> str:
    """A cheap key of a dataset folder as it is now: file names, sizes and modification times, and the
    methodology (marks are completed from its scales). Changes whenever a table file is rewritten;
    the list of validation errors written beside the tables is not part of it."""
    root = Path(root).resolve()
    h = hashlib.sha256(f"{root}\0{meth_digest}".encode())
    for p in sorted(root.glob("*")):
        if p.suffix in (".csv", ".parquet") and p.name != REPORT_NAME:
            st = p.stat()
            h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def write_snapshot(ds: Dataset, folder) -> Path:
    """Write the validated frames (Parquet, dtypes kept) and their provenance to `folder`, atomically:
    a folder is renamed into place only when complete. The batch does this once, after validating;
    each kernel then reads the snapshot in about a second instead of parsing and checking the CSV files
    again (half a minute for a 1,000-school region)."""
    folder = Path(folder)
    if folder.exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with atomic_folder(folder) as tmp:      # renamed into place when complete: normal folder mode
        for name, frame in ds.tables.items():
            frame.to_parquet(tmp / f"{name}.parquet")
        meta = {"path": str(ds.path), "notes": ds.notes,
                "files": {n: {"path": str(f.path), "sha256": f.sha256, "rows": f.rows, "encoding": f.encoding}
                          for n, f in ds.files.items()}}
        (tmp / "dataset.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return folder


def read_snapshot(folder, *, lazy: bool = False) -> Dataset:
    """The Dataset written by `write_snapshot` (already validated: no checks are repeated).
    With `lazy`, each table is read on first use (`LazyTables`): a kernel holds only what its reports read."""
    folder = Path(folder)
    meta = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    files = {n: TableFile(path=Path(f["path"]), sha256=f["sha256"], rows=f["rows"], encoding=f["encoding"])
             for n, f in meta["files"].items()}

    def load(name: str) -> pd.DataFrame:
        return contiguous(pd.read_parquet(folder / f"{name}.parquet"))

    tables = LazyTables(files, load) if lazy else {n: load(n) for n in files}
    return Dataset(path=Path(meta["path"]), tables=tables, files=files, notes=list(meta["notes"]))


PARTS = "parts"   # subfolder of a snapshot: one folder per municipality
AGGREGATES = "aggregates"   # subfolder of a snapshot: the region-wide aggregates (`analyses.aggregates`)
SIZES = "sizes.json"  # in PARTS and AGGREGATES: every file's size, to find a folder damaged after it was written
INDEX = "index.json"  # in PARTS: which tables of the whole region are non-empty, the schools' municipalities
INDICATOR_PARTS = "indicator-parts"   # subfolder of a snapshot: each municipality's indicator rows, and the
#                                       region-wide aggregates of the indicator table (`analyses.aggregates`)


def partition_path(folder, municipality_id: str) -> Path:
    """Folder of one municipality's partition inside a snapshot (its id made a safe folder name)."""
    digest = hashlib.sha256(str(municipality_id).encode()).hexdigest()[:12]
    return Path(folder) / PARTS / f"m-{digest}"


def indicator_part_path(folder, municipality_id: str) -> Path:
    """Parquet file of one municipality's indicator rows inside a snapshot (`write_indicator_parts`)."""
    return Path(folder) / INDICATOR_PARTS / f"{partition_path(folder, municipality_id).name}.parquet"


def indicator_rows(indicators: pd.DataFrame, schools: pd.DataFrame, municipality_id: str) -> pd.DataFrame:
    """The rows of the indicator table a municipality's reports read: its schools' rows, every
    municipality's rows (a municipality report compares municipalities) and the region's, in the
    table's order, columns and dtypes kept, index 0…n−1."""
    return next(rows for mid, rows in _indicator_parts(indicators, schools) if mid == str(municipality_id))


def _indicator_parts(indicators: pd.DataFrame, schools: pd.DataFrame):
    """(municipality id, `indicator_rows`) of every municipality of `schools`, with one pass over the
    region's table to find each school row's municipality."""
    level = indicators["level"].astype("string")
    common = level.isin(["municipality", "region"]).fillna(False).to_numpy(dtype=bool)
    mun_of = dict(zip(schools["school_id"].astype(str), schools["municipality_id"].astype(str)))
    row_mun = indicators["entity_id"].astype("string").map(mun_of).where(level == "school")
    codes, found = pd.factorize(row_mun)
    for mid in sorted(schools["municipality_id"].dropna().astype(str).unique()):
        hit = np.flatnonzero(found == mid)
        keep = common | (codes == hit[0]) if len(hit) else common
        yield mid, indicators[keep].reset_index(drop=True)


def write_indicator_parts(indicators: pd.DataFrame, schools: pd.DataFrame, folder, extra=None) -> Path:
    """Beside a snapshot, each municipality's rows of the computed indicator table (`indicator_rows`),
    and `extra()` ({name: {key: value}}, the region-wide aggregates of the indicator table) as pickles
    like `analyses.aggregates`: a partition's kernel reads these instead of the region's table
    (1.7 million rows at 1,000 schools). Written once, atomically and sealed, like the partitions."""
    target = Path(folder) / INDICATOR_PARTS
    if target.exists() and keep_if_intact(target):
        return target
    with atomic_folder(target) as tmp:
        for mid, rows in _indicator_parts(indicators, schools):
            rows.to_parquet(tmp / indicator_part_path(folder, mid).name)
        for name, stored in (extra() if extra else {}).items():
            with open(tmp / f"{name}.pkl", "wb") as fh:
                pickle.dump(stored, fh, protocol=pickle.HIGHEST_PROTOCOL)
        seal(tmp)
    return target


def read_indicator_part(folder, municipality_id: str) -> pd.DataFrame:
    """One municipality's indicator rows (`write_indicator_parts`)."""
    path = indicator_part_path(folder, municipality_id)
    if not path.exists():
        raise InputError(f"в кэше пакета нет показателей муниципалитета «{municipality_id}»: {path}; "
                         "запустите пакет заново (кэш будет подготовлен)")
    return contiguous(pd.read_parquet(path))


def write_partitions(ds: Dataset, folder) -> Path:
    """Beside a snapshot, each municipality's rows of every table keyed by school (`school_id`), in
    the tables' order; tables without `school_id` (schools itself, region-wide lists) are not copied
    (`read_partition` takes them from the whole snapshot). Written once, atomically, like the snapshot."""
    parts = Path(folder) / PARTS
    if parts.exists() and keep_if_intact(parts):
        return parts
    schools = ds.tables["schools"]
    with atomic_folder(parts) as tmp:
        keyed = {n: f for n, f in ds.tables.items() if n != "schools" and "school_id" in f.columns}
        index = {"nonempty": {n: bool(len(f)) for n, f in ds.tables.items()},
                 "municipality_of": {str(k): str(v) for k, v in zip(schools["school_id"], schools["municipality_id"])}}
        (tmp / INDEX).write_text(json.dumps(index, ensure_ascii=False), encoding="utf-8")
        for mid, ids in schools.groupby("municipality_id", sort=True)["school_id"]:
            target = tmp / partition_path(folder, mid).name
            target.mkdir()
            for name, frame in keyed.items():
                frame[frame["school_id"].isin(ids)].reset_index(drop=True).to_parquet(target / f"{name}.parquet")
        seal(tmp)
    return parts


def seal(folder: Path) -> None:
    """Record the size of every file of a cache folder being written (before it is renamed into place)."""
    folder = Path(folder)
    sizes = {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    (folder / SIZES).write_text(json.dumps(sizes, ensure_ascii=False), encoding="utf-8")


def keep_if_intact(folder: Path) -> bool:
    """Whether every file `seal` recorded in a cache folder is there with its size. A folder damaged
    after it was written (a truncated or deleted file, a foreign file, no record at all) is removed,
    with a note, so that it is written again: the cache is only a copy of the dataset folder."""
    folder = Path(folder)
    try:
        sizes = json.loads((folder / SIZES).read_text(encoding="utf-8"))
        ok = all((folder / rel).is_file() and (folder / rel).stat().st_size == n for rel, n in sizes.items())
    except (OSError, ValueError, AttributeError):
        ok = False
    if not ok:
        print(f"Кэш пакета повреждён ({folder.parent.name}/{folder.name}), он будет создан заново", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)
        _INDEXES.clear()
    return ok


@dataclass
class Partition(Dataset):
    """One municipality's part of a batch snapshot (`read_partition`): its schools' rows of every
    school-keyed table, the small tables whole. `has` answers for the whole region (a report asks
    whether the region has a table, not its municipality), and what a report compares itself with
    region-wide comes from the batch's precomputed `aggregate`s, never from the partition's rows."""
    municipality_id: str = ""
    folder: Path = Path(".")
    nonempty: dict = field(default_factory=dict)
    _aggregates: dict = field(default_factory=dict, repr=False)

    def has(self, name: str) -> bool:
        return bool(self.nonempty.get(name, False))

    def aggregate(self, name: str, key: tuple):
        """The region-wide aggregate `name` of `key`, as the batch computed it once from the whole
        snapshot (`analyses.aggregates.write_aggregates`; a pickle of our own cache folder)."""
        if name not in self._aggregates:
            path = self.folder / AGGREGATES / f"{name}.pkl"
            if not path.exists():   # an aggregate of the indicator table
                path = self.folder / INDICATOR_PARTS / f"{name}.pkl"
            if not path.exists():
                raise InputError(f"в кэше пакета нет региональной сводки «{name}»: {path}; "
                                 "запустите пакет заново (кэш будет подготовлен)")
            with open(path, "rb") as fh:
                self._aggregates[name] = pickle.load(fh)
        stored = self._aggregates[name]
        if key not in stored:
            raise InputError(f"региональная сводка «{name}» не рассчитана для {key!r} ({self.folder / AGGREGATES})")
        return stored[key]


def has_partitions(folder) -> bool:
    """A snapshot with its municipality parts, their indicator rows and the region-wide aggregates (each
    written whole, atomically)."""
    folder = Path(folder)
    return (folder / PARTS / INDEX).exists() and (folder / AGGREGATES).is_dir() and (folder / INDICATOR_PARTS).is_dir()


def municipality_of(folder, scope: str, entity_id) -> str | None:
    """The municipality whose partition a report of `scope` and `entity_id` reads; None for a region
    report or an unknown entity (the whole snapshot is read, and the report says what is unknown)."""
    index = _index(Path(folder))
    mid = None
    if scope == "school":
        mid = index["municipality_of"].get(str(entity_id))
    elif scope == "municipality" and str(entity_id) in set(index["municipality_of"].values()):
        mid = str(entity_id)
    return mid if mid is not None and partition_path(folder, mid).is_dir() else None


_INDEXES: dict = {}


def _index(folder: Path) -> dict:
    if folder not in _INDEXES:
        _INDEXES.clear()
        _INDEXES[folder] = json.loads((folder / PARTS / INDEX).read_text(encoding="utf-8"))
    return _INDEXES[folder]


def read_partition(folder, municipality_id: str) -> Partition:
    """The snapshot restricted to one municipality: its schools' rows of every school-keyed table
    (from `write_partitions`) and the small tables without `school_id` whole; tables read on first use."""
    whole = read_snapshot(folder, lazy=True)
    part = partition_path(folder, municipality_id)
    if not part.is_dir():
        raise FileNotFoundError(f"нет части снимка для муниципалитета «{municipality_id}»: {part}")

    def load(name: str) -> pd.DataFrame:
        path = part / f"{name}.parquet"
        return contiguous(pd.read_parquet(path)) if path.exists() else whole.tables[name]

    return Partition(path=whole.path, tables=LazyTables(whole.files, load), files=whole.files, notes=whole.notes,
                     municipality_id=str(municipality_id), folder=Path(folder),
                     nonempty=_index(Path(folder))["nonempty"])
