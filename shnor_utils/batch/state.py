"""Incremental batches: what each run depends on, and what the last batch did.

A run's key is a digest of everything its output depends on: the template file, the resolved
parameters, the rows of the input tables it reads for its own schools, the municipality and
region indicator values it compares against, the `shnor_utils` source and the methodology
files. A run whose key and output are unchanged since its last success is skipped.
State lives in `output/.state/` (one small JSON per run, written atomically after each run), so
an interrupted batch resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from shnor_utils.safeio import atomic_write_text, safe_component

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


class DataDigests:
    """Per-school digests of every table and per-entity digests of the indicator table,
    computed once per batch with vectorised row hashes (order-independent sums)."""

    def __init__(self, ds, indicators: pd.DataFrame):
        self.by_table: dict[str, pd.Series] = {}
        for name, frame in ds.tables.items():
            if "school_id" in frame.columns and len(frame):
                hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
                sums = pd.Series(hashes).groupby(frame["school_id"].to_numpy()).sum()
                counts = frame.groupby("school_id").size()
                self.by_table[name] = sums.astype(str) + ":" + counts.reindex(sums.index).astype(str)
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
