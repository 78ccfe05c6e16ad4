"""Load a canonical dataset folder (CSV or Parquet), validate it once, return typed frames.

The contract is `schema.TABLES` (docs/DATA_CONTRACT.md). Everything is checked here, at the
boundary (`validation`: every failing value is collected, listed in one error and written to
`validation_errors.csv` beside the tables); the analyses then trust the frames.

`Dataset`, `contiguous` (from `tables`) and the batch snapshot (`snapshot`) are re-exported: they
are imported from here.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd

from shnor_utils.data.schema import TABLES, Table
from shnor_utils.data.snapshot import files_stamp, read_snapshot, write_snapshot
from shnor_utils.data.tables import Dataset, TableFile, contiguous
from shnor_utils.data.validation import (Failures, check_gia_scores, check_references, check_vpr_scores,
                                         clear_errors, validate_table)
from shnor_utils.errors import InputError
from shnor_utils.methodology import Methodology, load_methodology

__all__ = ["Dataset", "TableFile", "load_dataset", "contiguous", "files_stamp", "read_snapshot", "write_snapshot",
           "validate_table"]


def load_dataset(path, *, tables=None, methodology: Methodology | None = None, errors_csv: bool = True) -> Dataset:
    """Read and validate every table of the dataset folder `path`.

    `tables` limits loading to some tables (plus `schools`, always needed). A missing folder, file
    or column, or an unreadable file, raises InputError at once. Failing values are all collected
    first and raised as one InputError naming file, row and column (the first 20 of them when
    there are several); with `errors_csv`, all of them are also written to `validation_errors.csv`
    in the folder (or, if it is not writable, in a temporary folder the message names), and a
    complete, clean load removes that file."""
    root = Path(path)
    if not root.is_dir():
        raise InputError("папка набора данных не найдена", file=str(root),
                         expected="папка с таблицами schools.csv, vpr.csv, … (см. docs/DATA_CONTRACT.md)")
    meth = methodology or load_methodology()
    wanted = ["schools"] + [t for t in (tables or TABLES) if t != "schools"]
    frames, files, notes = {}, {}, []
    failures = Failures()
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
        frames[name] = validate_table(raw, table, file=found, failures=failures)
        files[name] = info
    check_references(frames, files, failures)
    if "vpr" in frames:
        check_vpr_scores(frames["vpr"], meth, files["vpr"].path, failures)
    if "gia" in frames:
        check_gia_scores(frames["gia"], meth, files["gia"].path, failures)
    if len(failures):
        raise failures.error(root, write_report=errors_csv)
    if errors_csv and tables is None:
        clear_errors(root)
    if "vpr" in frames:
        frames["vpr"] = _complete_marks(frames["vpr"], meth, notes)
    return Dataset(path=root, tables={n: contiguous(f) for n, f in frames.items()}, files=files, notes=notes)


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


# ---- completing ----------------------------------------------------------------------------
def _complete_marks(vpr: pd.DataFrame, meth: Methodology, notes: list) -> pd.DataFrame:
    """Missing ВПР marks computed from the year's scale (the scores are already checked against it)."""
    vpr = vpr.copy()
    for (year, subject, grade), idx in vpr.groupby(["year", "subject", "grade"]).groups.items():
        scale = meth.vpr_scale(year, subject, grade)
        if scale is None:
            continue
        scores = vpr.loc[idx, "primary_score"]
        need = vpr.loc[idx, "mark"].isna() & scores.notna()
        if need.any():
            vpr.loc[need[need].index, "mark"] = pd.array(scale.mark(scores[need].astype("float64").to_numpy()), dtype="Int64")
            if scale.carried_over:
                notes.append(f"ВПР {year} «{subject}», {grade} класс: отметки вычислены по шкале {scale.year} г.")
    return vpr
