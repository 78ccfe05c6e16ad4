"""The in-memory dataset: `Dataset` (the validated, typed frames of one folder), `TableFile` (where
a table came from) and `contiguous` (text columns in one Arrow chunk).

Built by `dataset.load_dataset` (reading and validating the files) and by `snapshot.read_snapshot`
(the batch's already validated copy); both import it from here so that neither imports the other.
"""
from __future__ import annotations

import ctypes
import hashlib
from collections import namedtuple
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from shnor_utils.data.schema import TABLES
from shnor_utils.errors import InputError


@dataclass
class TableFile:
    """Where a table came from: its file, digest, rows, encoding."""
    path: Path
    sha256: str
    rows: int
    encoding: str = "utf-8"


@dataclass
class Dataset:
    """A validated dataset: `ds.schools`, `ds.vpr`, … are typed pandas frames."""
    path: Path
    tables: dict
    files: dict
    notes: list = field(default_factory=list)

    def __getattr__(self, name):
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        if name in TABLES:
            raise InputError(f"в наборе данных нет таблицы «{name}» ({TABLES[name].description})",
                             file=str(self.__dict__.get("path", "")), expected=f"{name}.csv или {name}.parquet")
        raise AttributeError(name)

    def has(self, name: str) -> bool:
        return name in self.tables and not self.tables[name].empty

    def digest(self, tables=None) -> str:
        """Digest of the named tables' files (all by default): a cache key for what a report reads."""
        h = hashlib.sha256()
        for name in sorted(tables or self.files):
            if name in self.files:
                h.update(name.encode() + b"\0" + self.files[name].sha256.encode())
        return h.hexdigest()[:16]

    def provenance(self) -> list[dict]:
        return [{"таблица": n, "файл": f.path.name, "строк": f.rows, "sha256": f.sha256[:16]}
                for n, f in sorted(self.files.items())]


class LazyTables(MutableMapping):
    """{table name: frame} whose frames are read on first use (`load(name)`), then kept.

    A warm kernel reads a batch snapshot this way: it holds only the tables its reports touch
    (a `vpr_objectivity` kernel never reads gia, teachers, …), not the whole region's dataset."""

    def __init__(self, names, load):
        self._names, self._load, self._frames = list(names), load, {}

    def __getitem__(self, name):
        if name not in self._names:
            raise KeyError(name)
        if name not in self._frames:
            self._frames[name] = self._load(name)
        return self._frames[name]

    def __setitem__(self, name, frame):
        if name not in self._names:
            self._names.append(name)
        self._frames[name] = frame

    def __delitem__(self, name):
        self._names.remove(name)
        self._frames.pop(name, None)

    def __iter__(self):
        return iter(list(self._names))

    def __len__(self):
        return len(self._names)

    def __contains__(self, name):
        return name in self._names

    def loaded(self) -> list[str]:
        """The tables read so far."""
        return [n for n in self._names if n in self._frames]

    def forget(self, name) -> None:
        """Drop the frame read for `name` (it is read again on next use): a pass over every table of a
        region holds one table at a time."""
        self._frames.pop(name, None)


def contiguous(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every Arrow-backed column (text) in one contiguous chunk.

    Parquet reading and `pd.concat` leave text columns split into many Arrow chunks, and pyarrow's
    `take` on a chunked column concatenates the chunks on every call: row selections on a region's
    indicator table were ~3× slower than on the same data in one chunk. Values and dtypes are unchanged."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        try:
            arrow = pa.array(s.array) if isinstance(s.dtype, pd.StringDtype) or isinstance(s.dtype, pd.ArrowDtype) else None
        except (TypeError, pa.ArrowInvalid):
            arrow = None
        if isinstance(arrow, pa.ChunkedArray) and arrow.num_chunks > 1:
            out[col] = pd.array(arrow.combine_chunks(), dtype=s.dtype)
    return frame.assign(**out) if out else frame


# Tables of one row per pupil (or per pupil's task): their text columns (subject, school, class,
# participant code…) repeat a few thousand values over millions of rows and are held as pandas
# categoricals — 2.5× less memory for a region's vpr table, with the same values and results.
CATEGORICAL_TABLES = ("vpr", "vpr_tasks", "gia", "graduates")


def compact(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """`frame` with its text columns as categoricals when `name` is a pupil-level table (else as is);
    the categories are the values present, sorted as the text sorts. A column with no value at all
    stays text (it costs nothing, and a categorical without categories would not survive Parquet)."""
    if name not in CATEGORICAL_TABLES:
        return frame
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype) and frame[c].notna().any()]
    return frame.assign(**{c: _categorical(frame[c]) for c in text}) if text else frame


def _categorical(s: pd.Series) -> pd.Series:
    """A text column as a categorical whose categories have pandas' default text dtype («str»), as a
    Parquet round trip gives them back: a snapshot's frames equal the frames validated."""
    cat = s.astype("category")
    return cat.cat.rename_categories(cat.cat.categories.astype("str"))


def trim_heap() -> None:
    """Give the C heap's freed pages back to the system (glibc `malloc_trim`): without it a process
    keeps the peak of what it once held — the whole dataset of `prepare` — while the reports run.
    Arrow's own pool (string columns) gives back its unused buffers too."""
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):   # not glibc (macOS, musl): nothing to do
        pass


_ROW_TYPES: dict = {}


def records(frame: pd.DataFrame, index: bool = False):
    """The rows of `frame` as named tuples: the same rows, fields and values as `frame.itertuples(index=…)`
    (name «Pandas»), but the tuple class is made once per column set, not on every call. pandas builds
    a new `namedtuple` class on each `itertuples`, ≈ 2 ms: a report that iterates a few dozen small
    frames paid tens of milliseconds for it."""
    fields = (["Index"] if index else []) + [str(c) for c in frame.columns]
    key = tuple(fields)
    cls = _ROW_TYPES.get(key)
    if cls is None:
        if len(_ROW_TYPES) > 512:   # bounded: a kernel runs many reports
            _ROW_TYPES.clear()
        cls = _ROW_TYPES[key] = namedtuple("Pandas", fields, rename=True)
    arrays = ([frame.index] if index else []) + [frame.iloc[:, k] for k in range(frame.shape[1])]
    return map(cls._make, zip(*arrays))
