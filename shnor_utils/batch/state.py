"""Incremental batches: what each run depends on, and what the last batch did.

A run's key is a digest of everything its output depends on: the template file, the resolved
parameters, the rows of the input tables it reads for its own schools, the municipality and
region indicator values it compares against, the `shnor_utils` source and the methodology
files. A run whose key and output are unchanged since its last success is skipped.
State lives in `output/.state/` (one small JSON per run, written atomically after each run), so
an interrupted batch resumes where it stopped.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from shnor_utils.data.tables import trim_heap
from shnor_utils.methodology import load_methodology
from shnor_utils.safeio import atomic_write_bytes, atomic_write_text, safe_component

PACKAGE_DIR = Path(__file__).resolve().parent.parent   # shnor_utils/


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=1)
def package_digest() -> str:
    """Digest of the shnor_utils sources and report template (a code change re-runs reports)."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".j2", ".json") and "__pycache__" not in path.parts:
            h.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def digest_of(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()[:20]


TABLE_DIGESTS = "table-digests.parquet"   # in the batch snapshot: `DataDigests` of its tables


class DataDigests:
    """Per-school digests of every table and per-entity digests of the indicator table,
    computed once per batch with vectorised row hashes (order-independent sums).

    `cache`: a file of the per-school table digests (in the batch snapshot, whose content never
    changes): read when there, else computed and written. A batch whose data did not change then
    reads no pupil-level table in the driver; computing them reads one table at a time."""

    def __init__(self, ds, indicators: pd.DataFrame, cache: Path | None = None):
        self.by_table = _cached_table_digests(ds, cache) if cache is not None else table_digests(ds)
        ind = indicators[indicators["level"] != "school"]
        if len(ind):
            hashes = pd.util.hash_pandas_object(ind, index=False).to_numpy(dtype=np.uint64)
            keys = (ind["level"] + "/" + ind["entity_id"]).to_numpy()
            self.by_entity = pd.Series(hashes).groupby(keys).sum().astype(str)
        else:
            self.by_entity = pd.Series(dtype=str)

    def for_run(self, tables: list[str], school_ids: list[str], compare_with: list[str]) -> str:
        parts = []
        for name in sorted(tables):
            series = self.by_table.get(name)
            if series is not None:
                parts.append((name, series.reindex(sorted(school_ids)).fillna("").tolist()))
        parts.append(("indicators", [self.by_entity.get(key, "") for key in compare_with]))
        return digest_of(parts)


def table_digests(ds) -> dict[str, pd.Series]:
    """{table: per-school digest («sum of row hashes:rows»)} of every table with a school_id."""
    by_table: dict[str, pd.Series] = {}
    lazy = getattr(ds.tables, "forget", None)   # a batch snapshot's tables are read on first use
    kept = set(ds.tables.loaded()) if lazy else set(ds.tables)
    for name in list(ds.tables):
        frame = ds.tables[name]
        if "school_id" in frame.columns and len(frame):
            hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
            sums = pd.Series(hashes).groupby(frame["school_id"].to_numpy()).sum()
            counts = frame.groupby("school_id").size()
            by_table[name] = sums.astype(str) + ":" + counts.reindex(sums.index).astype(str)
        if lazy and name not in kept:   # read for this pass only: one table of the region at a time
            del frame
            lazy(name)
            trim_heap()
    return by_table


def _cached_table_digests(ds, path: Path) -> dict[str, pd.Series]:
    path = Path(path)
    try:
        long = pd.read_parquet(path)
        return {str(t): part.set_index("school_id")["digest"].rename(None).rename_axis(None)
                for t, part in long.groupby("table", sort=True)}
    except Exception:   # missing or damaged: computed again (the snapshot is the truth)
        pass
    by_table = table_digests(ds)
    long = pd.concat([pd.DataFrame({"table": name, "school_id": series.index.astype(str), "digest": series.to_numpy(dtype=str)})
                      for name, series in by_table.items()], ignore_index=True) if by_table else \
        pd.DataFrame({"table": pd.Series(dtype=str), "school_id": pd.Series(dtype=str), "digest": pd.Series(dtype=str)})
    buf = io.BytesIO()
    long.to_parquet(buf, index=False)
    if path.parent.is_dir():
        atomic_write_bytes(path, buf.getvalue())
    return by_table


class RunState:
    """`output/.state/runs/<id>.json`: the last outcome of each run."""

    def __init__(self, output: Path):
        self.folder = Path(output) / ".state" / "runs"

    def path(self, run_id: str) -> Path:
        return self.folder / f"{safe_component(run_id)}.json"

    def get(self, run_id: str) -> dict | None:
        try:
            return json.loads(self.path(run_id).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def put(self, run_id: str, record: dict) -> None:
        atomic_write_text(self.path(run_id), json.dumps(record, ensure_ascii=False, indent=1))

    def all(self) -> dict:
        out = {}
        for path in self.folder.glob("*.json"):
            try:
                rec = json.loads(path.read_text(encoding="utf-8"))
                out[rec["run_id"]] = rec
            except (json.JSONDecodeError, KeyError):
                continue
        return out


def assign_keys(runs: list, digests: DataDigests, meth_digest: str, templates: Path, options: str = "") -> None:
    """Key of each run = digest of everything its output depends on (module docstring)."""
    template_digest = {}
    municipalities = sorted({r.municipality_id for r in runs if r.municipality_id})
    for run in runs:
        if run.template not in template_digest:
            template_digest[run.template] = sha256_file(templates / f"{run.template}.ipynb")[:16]
        compare = run.compare_with() if run.scope != "region" else ["region/region"] + [f"municipality/{m}" for m in municipalities]
        data = digests.for_run(run.tables, run.school_ids, compare)
        run.key = digest_of(template_digest[run.template], run.parameters, data, package_digest(), meth_digest,
                            run.entity_name, run.municipality_name, options)


def fingerprint(cfg, options: str) -> str:
    """Everything a whole batch depends on, computed without loading the data (the no-change
    fast path): dataset file digests, methodology files, shnor_utils sources, templates, params."""
    files = sorted((p.name, sha256_file(p)) for p in cfg.dataset.glob("*") if p.suffix in (".csv", ".parquet"))
    templates = sorted((p.stem, sha256_file(p)) for p in cfg.templates.glob("*.ipynb"))
    return digest_of(files, load_methodology(cfg.methodology).digest, package_digest(), templates,
                     cfg.path.read_text(encoding="utf-8"), str(cfg.dataset), options)


def to_do(runs: list, previous: dict, *, force: bool = False, retry_failed: bool = False) -> list:
    """The runs to execute: the failed ones (`--retry-failed`), all (`--force`), else every run
    whose key changed since its last success or whose report is gone."""
    if retry_failed:
        return [r for r in runs if (previous.get(r.run_id) or {}).get("ok") is False]

    def up_to_date(run) -> bool:
        rec = previous.get(run.run_id)
        return bool(rec and rec.get("ok") and rec.get("key") == run.key and run.html.exists())

    return [r for r in runs if force or not up_to_date(r)]


class Manifest:
    """`output/.state/batch.json`: the fingerprint of the last batch and what it produced."""

    def __init__(self, output: Path):
        self.output = Path(output)
        self.path = self.output / ".state" / "batch.json"

    def read(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def unchanged(self, fp: str) -> dict | None:
        """The manifest when the last batch had fingerprint `fp`, no failure and all its outputs."""
        manifest = self.read()
        if manifest.get("fingerprint") == fp and manifest.get("failed") == 0 and all(
                (self.output / p).exists() for p in manifest.get("outputs", [])):
            return manifest
        return None

    def write(self, fp: str | None, runs: list, failed: int) -> None:
        # the fingerprint includes --scope/--limit: a partial batch is its own batch
        atomic_write_text(self.path, json.dumps({
            "fingerprint": fp if not failed else None, "runs": len(runs), "failed": failed,
            "outputs": [r.html.relative_to(self.output).as_posix() for r in runs] + ["index.html"],
            "finished": _dt.datetime.now().isoformat(timespec="seconds")}, ensure_ascii=False))
