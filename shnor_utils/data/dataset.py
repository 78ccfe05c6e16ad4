"""Load a canonical dataset folder (CSV or Parquet), validate it once, return typed frames.

The contract is `schema.TABLES` (shared/DATA_CONTRACT.md). Everything is checked here, at the
boundary, with errors that name the file, row and column; the analyses then trust the frames.
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shnor_utils.errors import InputError
from shnor_utils.methodology import Methodology, load_methodology
from shnor_utils.data.schema import TABLES, Column, Table

TRUE_WORDS = {"true", "1", "да", "yes", "истина", "t", "y", "д"}
FALSE_WORDS = {"false", "0", "нет", "no", "ложь", "f", "n", "н"}
PANDAS_TYPES = {"str": "string", "int": "Int64", "float": "Float64", "bool": "boolean"}


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


def load_dataset(path, *, tables=None, methodology: Methodology | None = None) -> Dataset:
    """Read and validate every table of the dataset folder `path`.

    `tables` limits loading to some tables (plus `schools`, always needed). Raises InputError
    naming file, row and column on the first problem found."""
    root = Path(path)
    if not root.is_dir():
        raise InputError("папка набора данных не найдена", file=str(root),
                         expected="папка с таблицами schools.csv, vpr.csv, … (см. README, «Формат данных»)")
    meth = methodology or load_methodology()
    wanted = ["schools"] + [t for t in (tables or TABLES) if t != "schools"]
    frames, files, notes = {}, {}, []
    for name in wanted:
        table = TABLES[name]
        found = _find_file(root, table)
        if found is None:
            if table.required:
                raise InputError("нет обязательной таблицы", file=str(root / f"{name}.csv"),
                                 expected=f"файл {name}.csv или {name}.parquet")
            continue
        raw, info = _read(found, table)
        if info.encoding != "utf-8":
            notes.append(f"Файл {found.name} прочитан в кодировке {info.encoding} (ожидалась UTF-8).")
        frames[name] = validate_table(raw, table, file=found, row_offset=2 if found.suffix == ".csv" else 1)
        files[name] = info
    _check_references(frames, files)
    if "vpr" in frames:
        frames["vpr"] = _complete_vpr(frames["vpr"], meth, files["vpr"].path, notes)
    if "gia" in frames:
        _check_gia_scores(frames["gia"], meth, files["gia"].path)
    return Dataset(path=root, tables={n: contiguous(f) for n, f in frames.items()}, files=files, notes=notes)


def contiguous(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every Arrow-backed column (text) in one contiguous chunk.

    Parquet reading and `pd.concat` leave text columns split into many Arrow chunks, and pyarrow's
    `take` on a chunked column concatenates the chunks on every call: row selections on a region's
    indicator table were ~3× slower than on the same data in one chunk. Values and dtypes are unchanged."""
    import pyarrow as pa

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


# ---- snapshot: the validated dataset, for the kernels of a batch ----------------------------
def files_stamp(root, meth_digest: str) -> str:
    """A cheap key of a dataset folder as it is now: file names, sizes and modification times, and the
    methodology (marks are completed from its scales). Changes whenever a table file is rewritten."""
    root = Path(root).resolve()
    h = hashlib.sha256(f"{root}\0{meth_digest}".encode())
    for p in sorted(root.glob("*")):
        if p.suffix in (".csv", ".parquet"):
            st = p.stat()
            h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def write_snapshot(ds: Dataset, folder) -> Path:
    """Write the validated frames (Parquet, dtypes kept) and their provenance to `folder`, atomically:
    a folder is renamed into place only when complete. The batch does this once, after validating;
    each kernel then reads the snapshot in about a second instead of parsing and checking the CSV files
    again (half a minute for a 1,000-school region)."""
    import json
    import shutil
    import tempfile

    folder = Path(folder)
    if folder.exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
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


def read_snapshot(folder) -> Dataset:
    """The Dataset written by `write_snapshot` (already validated: no checks are repeated)."""
    import json

    folder = Path(folder)
    meta = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    files = {n: TableFile(path=Path(f["path"]), sha256=f["sha256"], rows=f["rows"], encoding=f["encoding"])
             for n, f in meta["files"].items()}
    tables = {n: contiguous(pd.read_parquet(folder / f"{n}.parquet")) for n in files}
    return Dataset(path=Path(meta["path"]), tables=tables, files=files, notes=list(meta["notes"]))


# ---- reading -------------------------------------------------------------------------------
def _find_file(root: Path, table: Table) -> Path | None:
    candidates = [root / f"{table.name}.{ext}" for ext in ("csv", "parquet")]
    present = [p for p in candidates if p.exists()]
    if len(present) > 1:
        raise InputError("таблица задана дважды", file=str(root),
                         expected=f"только один из файлов {table.name}.csv, {table.name}.parquet")
    return present[0] if present else None


def _read(path: Path, table: Table) -> tuple[pd.DataFrame, TableFile]:
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise InputError("файл пуст", file=str(path), expected="строка заголовков и строки данных")
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many kinds; the user needs one message
            raise InputError(f"файл не читается как Parquet ({type(exc).__name__})", file=str(path)) from exc
        return frame, TableFile(path, sha, len(frame))
    text, encoding = _decode(data, path)
    try:
        # Text columns are read as text; numbers are parsed by the C reader (fast); a numeric
        # column with a bad cell comes back as text and `_convert` names the bad row.
        text_columns = {c.name: str for c in table.columns if c.type == "str"}
        frame = pd.read_csv(io.StringIO(text), dtype=text_columns, keep_default_na=False, na_values=[""],
                            skipinitialspace=True, low_memory=False)
    except pd.errors.ParserError as exc:
        raise InputError(f"файл не читается как CSV: {exc}", file=str(path),
                         expected="CSV через запятую, одна строка заголовков") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise InputError("в файле только заголовок, нет строк данных", file=str(path))
    return frame, TableFile(path, sha, len(frame), encoding)


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """UTF-8 (with or without BOM); a cp1251 file (Excel's «CSV» on Russian Windows) is read too."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise InputError("кодировка файла не распознана", file=str(path),
                         expected="UTF-8 (или Windows-1251)") from exc
    if not any("а" <= ch.lower() <= "я" for ch in text[:20000]):
        raise InputError("кодировка файла не распознана: это не UTF-8 и не похоже на Windows-1251",
                         file=str(path), expected="UTF-8")
    return text, "cp1251"


# ---- per-table validation --------------------------------------------------------------------
def validate_table(raw: pd.DataFrame, table: Table, *, file, row_offset: int = 2) -> pd.DataFrame:
    """Check columns, types, ranges, categories and keys of one table; return typed columns."""
    file = str(file)
    out = {}
    for col in table.columns:
        if col.name not in raw.columns:
            if col.required:
                raise InputError("нет обязательного столбца", file=file, column=col.name,
                                 expected=f"столбцы {', '.join(c.name for c in table.columns if c.required)}")
            out[col.name] = pd.Series(col.default if col.default is not None else pd.NA,
                                      index=raw.index, dtype=PANDAS_TYPES[col.type])
            continue
        out[col.name] = _convert(raw[col.name], col, file, row_offset)
    extra = [c for c in raw.columns if c not in out]
    frame = pd.DataFrame(out, index=raw.index)
    for c in extra:  # extensions are kept as they are
        frame[c] = raw[c]
    if table.key:
        dup = frame.duplicated(list(table.key), keep=False)
        if dup.any():
            rows = (np.flatnonzero(dup.to_numpy())[:2] + row_offset).tolist()
            key = ", ".join(f"{k}={frame.loc[dup, k].iloc[0]}" for k in table.key)
            raise InputError(f"повторяющаяся запись ({key}) в строках {rows[0]} и {rows[1]}", file=file,
                             row=rows[0], expected=f"уникальное сочетание {', '.join(table.key)}")
    return frame.reset_index(drop=True)


def _first_bad(mask, series, file, col, row_offset, message, expected):
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        raise InputError(message, file=file, row=i + row_offset, column=col.name,
                         expected=expected, got=series.iloc[i])


def _convert(s: pd.Series, col: Column, file: str, row_offset: int) -> pd.Series:
    is_text = s.dtype == object or pd.api.types.is_string_dtype(s.dtype)
    if is_text:
        s = s.astype("string").str.strip().replace("", pd.NA)
    missing = s.isna()
    if col.type == "str":
        typed = s.astype("string")
    elif col.type == "bool":
        if pd.api.types.is_bool_dtype(s.dtype):
            typed = s.astype("boolean")
        else:
            low = s.astype("string").str.lower()
            bad = ~missing & ~low.isin(TRUE_WORDS | FALSE_WORDS)
            _first_bad(bad, s, file, col, row_offset, "неверное логическое значение", "true/false (или 1/0, да/нет)")
            typed = low.isin(TRUE_WORDS).astype("boolean").mask(missing)
    else:
        num = pd.to_numeric(s, errors="coerce") if is_text else s
        bad_type = ~missing & pd.isna(num)
        kind = "целое число" if col.type == "int" else "число"
        _first_bad(bad_type, s, file, col, row_offset, "неверный тип значения", kind)
        num = num.astype("Float64")
        if col.type == "int":
            frac = ~missing & (num.fillna(0) % 1 != 0)
            _first_bad(frac, s, file, col, row_offset, "дробное значение в целочисленном столбце", kind)
        if col.min is not None:
            _first_bad(~missing & (num < col.min).fillna(False), s, file, col, row_offset,
                       "значение вне допустимого диапазона", _range_text(col))
        if col.max is not None:
            _first_bad(~missing & (num > col.max).fillna(False), s, file, col, row_offset,
                       "значение вне допустимого диапазона", _range_text(col))
        typed = num.round().astype("Int64") if col.type == "int" else num
    if not col.nullable:
        _first_bad(missing, s, file, col, row_offset, "пустое значение", "значение обязательно")
    if col.allowed:
        allowed = pd.Series(col.allowed).astype(typed.dtype) if col.type != "str" else list(col.allowed)
        bad = ~typed.isna() & ~typed.isin(allowed)
        _first_bad(bad, s, file, col, row_offset, "недопустимое значение",
                   "одно из: " + ", ".join(map(str, col.allowed)))
    return typed


def _range_text(col: Column) -> str:
    if col.name in ("mark", "journal_mark"):
        return "отметка от 2 до 5"
    if col.min is not None and col.max is not None:
        return f"от {col.min:g} до {col.max:g}"
    return f"не меньше {col.min:g}" if col.min is not None else f"не больше {col.max:g}"


# ---- cross-table checks --------------------------------------------------------------------
def _check_references(frames: dict, files: dict) -> None:
    known = set(frames["schools"]["school_id"].dropna())
    for name, frame in frames.items():
        if not TABLES[name].references_schools or "school_id" not in frame:
            continue
        unknown = ~frame["school_id"].isin(known)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            path = files[name].path
            raise InputError("неизвестная школа: её нет в schools", file=str(path),
                             row=i + (2 if path.suffix == ".csv" else 1), column="school_id",
                             expected="school_id из таблицы schools", got=frame["school_id"].iloc[i])


def _complete_vpr(vpr: pd.DataFrame, meth: Methodology, path: Path, notes: list) -> pd.DataFrame:
    """Check ВПР scores against the year's scale and compute missing marks from it."""
    row_offset = 2 if path.suffix == ".csv" else 1
    present = ~vpr["absent"].fillna(False)
    no_score = present & vpr["primary_score"].isna()
    if no_score.any():
        i = int(np.flatnonzero(no_score.to_numpy())[0])
        raise InputError("у присутствовавшего участника нет первичного балла", file=str(path),
                         row=i + row_offset, column="primary_score", expected="балл, или absent=true")
    vpr = vpr.copy()
    for (year, subject, grade), idx in vpr.groupby(["year", "subject", "grade"]).groups.items():
        scale = meth.vpr_scale(year, subject, grade)
        if scale is None:
            continue
        scores = vpr.loc[idx, "primary_score"]
        over = scores > scale.max
        if over.fillna(False).any():
            j = over[over.fillna(False)].index[0]
            raise InputError(f"первичный балл больше максимума шкалы ВПР {year} «{subject}», {grade} класс",
                             file=str(path), row=int(j) + row_offset, column="primary_score",
                             expected=f"от 0 до {scale.max}", got=vpr.at[j, "primary_score"])
        need = vpr.loc[idx, "mark"].isna() & scores.notna()
        if need.any():
            vpr.loc[need[need].index, "mark"] = pd.array(scale.mark(scores[need].astype("float64").to_numpy()), dtype="Int64")
            if scale.carried_over:
                notes.append(f"ВПР {year} «{subject}», {grade} класс: отметки вычислены по шкале {scale.year} г.")
    return vpr


def _check_gia_scores(gia: pd.DataFrame, meth: Methodology, path: Path) -> None:
    row_offset = 2 if path.suffix == ".csv" else 1
    oge = gia[gia["exam"] == "ОГЭ"]
    for (year, subject), part in oge.groupby(["year", "subject"]):
        scale = meth.oge_scale(year, subject)
        if scale is None:
            continue
        over = part["primary_score"] > scale.max
        if over.any():
            j = over[over].index[0]
            raise InputError(f"первичный балл ОГЭ {year} «{subject}» больше максимума", file=str(path),
                             row=int(j) + row_offset, column="primary_score",
                             expected=f"от 0 до {scale.max}", got=gia.at[j, "primary_score"])
