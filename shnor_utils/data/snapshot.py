"""The validated snapshot of a dataset, for the kernels of a batch.

The batch validates the dataset folder once (`dataset.load_dataset`), writes the typed frames here
(`write_snapshot`: Parquet, dtypes kept, with their provenance) and every kernel reads them back
(`read_snapshot`) in about a second instead of parsing and checking the CSV files again. The
snapshot's folder is keyed by `files_stamp`, which changes whenever a table file is rewritten.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd

from shnor_utils.data.tables import Dataset, LazyTables, TableFile, contiguous
from shnor_utils.safeio import make_temp_dir
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
    tmp = make_temp_dir(prefix=f".{folder.name}.", dir=folder.parent)   # renamed into place: normal folder mode
    try:
        for name, frame in ds.tables.items():
            frame.to_parquet(tmp / f"{name}.parquet")
        meta = {"path": str(ds.path), "notes": ds.notes,
                "files": {n: {"path": str(f.path), "sha256": f.sha256, "rows": f.rows, "encoding": f.encoding}
                          for n, f in ds.files.items()}}
        (tmp / "dataset.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not folder.exists():
            raise
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


def partition_path(folder, municipality_id: str) -> Path:
    """Folder of one municipality's partition inside a snapshot (its id made a safe folder name)."""
    digest = hashlib.sha256(str(municipality_id).encode()).hexdigest()[:12]
    return Path(folder) / PARTS / f"m-{digest}"


def write_partitions(ds: Dataset, folder) -> Path:
    """Beside a snapshot, each municipality's rows of every table keyed by school (`school_id`), in
    the tables' order; tables without `school_id` (schools itself, region-wide lists) are not copied
    (`read_partition` takes them from the whole snapshot). Written once, atomically, like the snapshot."""
    parts = Path(folder) / PARTS
    if parts.exists():
        return parts
    schools = ds.tables["schools"]
    tmp = make_temp_dir(prefix=f".{PARTS}.", dir=Path(folder))
    try:
        keyed = {n: f for n, f in ds.tables.items() if n != "schools" and "school_id" in f.columns}
        for mid, ids in schools.groupby("municipality_id", sort=True)["school_id"]:
            target = tmp / partition_path(folder, mid).name
            target.mkdir()
            for name, frame in keyed.items():
                frame[frame["school_id"].isin(ids)].reset_index(drop=True).to_parquet(target / f"{name}.parquet")
        os.replace(tmp, parts)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not parts.exists():
            raise
    return parts


def read_partition(folder, municipality_id: str) -> Dataset:
    """The snapshot restricted to one municipality: its schools' rows of every school-keyed table
    (from `write_partitions`) and the small tables without `school_id` whole; tables read on first use."""
    whole = read_snapshot(folder, lazy=True)
    part = partition_path(folder, municipality_id)
    if not part.is_dir():
        raise FileNotFoundError(f"нет части снимка для муниципалитета «{municipality_id}»: {part}")

    def load(name: str) -> pd.DataFrame:
        path = part / f"{name}.parquet"
        return contiguous(pd.read_parquet(path)) if path.exists() else whole.tables[name]

    return Dataset(path=whole.path, tables=LazyTables(whole.files, load), files=whole.files, notes=whole.notes)
