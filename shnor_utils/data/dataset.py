"""Load a canonical dataset folder (CSV or Parquet), validate it once, return typed frames.

The contract is `schema.TABLES` (docs/DATA_CONTRACT.md). Everything is checked here, at the
boundary (`validation`: every failing value is collected, listed in one error and written to
`validation_errors.csv` beside the tables); the analyses then trust the frames.

`Dataset`, `contiguous` (from `tables`) and the batch snapshot (`snapshot`) are re-exported: they
are imported from here.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from shnor_utils.data.schema import TABLES, Table
from shnor_utils.data.snapshot import files_stamp, read_snapshot, write_snapshot
from shnor_utils.data.tables import Dataset, TableFile, compact, contiguous, trim_heap
from shnor_utils.data.validation import (Failures, check_gia_scores, check_references, check_vpr_scores,
                                         clear_errors, data_lines, register_lines, validate_table)
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
    _check_names(root, wanted)
    for name in wanted:
        table = TABLES[name]
        found = _find_file(root, table)
        if found is None:
            if table.required:
                raise InputError("нет обязательной таблицы", file=str(root / f"{name}.csv"),
                                 expected=f"файл {name}.csv или {name}.parquet")
            continue
        raw, info, separator = _read(found, table)
        if info.encoding != "utf-8":
            notes.append(f"Файл {found.name} прочитан в кодировке {info.encoding} (ожидалась UTF-8).")
        if separator != ",":
            notes.append(f"Файл {found.name} прочитан с разделителем «{SEPARATOR_NAMES[separator]}» "
                         f"(ожидалась запятая){'; дробная часть — после запятой' if separator == ';' else ''}.")
        frames[name] = compact(validate_table(raw, table, file=found, failures=failures), name)
        files[name] = info
        del raw
        trim_heap()   # the reader's buffers, before the next file is read
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
EXCEL_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
SEPARATOR_NAMES = {",": "запятая", ";": "точка с запятой", "\t": "табуляция"}


def _check_names(root: Path, wanted: list) -> None:
    """A table file the loader would not read is refused, never ignored: `GIA.csv`, `gia.CSV`,
    `gia.csv.txt` (Windows hides the extension), and links that lead nowhere or into a loop."""
    exact = {f"{t}.{ext}" for t in TABLES for ext in ("csv", "parquet")}
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        raise InputError(f"папка набора данных не читается ({exc.strerror or type(exc).__name__})",
                         file=str(root)) from exc
    for entry in entries:
        name = entry.name
        if name in exact:
            if entry.is_symlink() and not _resolves(entry):
                raise InputError("файл таблицы — ссылка, которая никуда не ведёт (или ведёт по кругу)",
                                 file=str(entry), expected="обычный файл или ссылка на существующий файл")
            continue
        low = name.lower()
        for suffix in (".txt", ".tmp", ".bak"):
            if low.endswith(suffix) and low[:-len(suffix)] in exact:
                low = low[:-len(suffix)]
        if low in exact and low.split(".")[0] in TABLES:
            raise InputError(f"файл «{name}» похож на таблицу «{low}», но под этим именем не читается",
                             file=str(entry), expected=f"имя «{low}» (строчными буквами, без лишнего расширения; "
                                                       "в Windows включите показ расширений файлов)")


def _resolves(path: Path) -> bool:
    try:
        return path.resolve(strict=True).is_file()
    except (OSError, RuntimeError):
        return False


def _find_file(root: Path, table: Table) -> Path | None:
    candidates = [root / f"{table.name}.{ext}" for ext in ("csv", "parquet")]
    present = [p for p in candidates if p.exists()]
    if len(present) > 1:
        raise InputError("таблица задана дважды", file=str(root),
                         expected=f"только один из файлов {table.name}.csv, {table.name}.parquet")
    return present[0] if present else None


def _read(path: Path, table: Table) -> tuple[pd.DataFrame, TableFile, str]:
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if not data or data.isspace():   # as `not data.strip()`, without copying the file
        raise InputError("файл пуст", file=str(path), expected="строка заголовков и строки данных")
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many kinds; the user needs one message
            raise InputError(f"файл не читается как Parquet ({type(exc).__name__})", file=str(path)) from exc
        return frame, TableFile(path, sha, len(frame)), ","
    if data.startswith(EXCEL_MAGIC):
        raise InputError("это книга Excel, а не CSV (у файла расширение .csv, но внутри книга .xlsx или .xls)",
                         file=str(path), expected="CSV: в Excel «Сохранить как» → «CSV UTF-8 (разделитель — запятая)»; "
                                                  "выгрузки ФИС ОКО и РЦОИ читает команда shnor ingest")
    # The readers are fed UTF-8 bytes. A UTF-8 file is checked in slices, never held as one Python
    # text (2–4 bytes per character: 0.4 GB for a 1,000-school vpr.csv); other encodings are recoded.
    if _is_utf8(data):
        source, encoding = (data[3:] if data.startswith(b"\xef\xbb\xbf") else data), "utf-8"
    else:
        text, encoding = _decode(data, path)
        source = text.encode("utf-8")
        del text
    del data
    header = _first_line_bytes(source).decode("utf-8")
    separator = _separator(header)
    names = _check_header(header, separator, path)
    frame = _parse_arrow(source, separator, table, names)
    if frame is None:   # anything unusual (ragged rows, «nan» in a number column…): the pandas reader
        frame = _parse_pandas(source, separator, table, path)
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise InputError("в файле только заголовок, нет строк данных", file=str(path))
    lines = data_lines(source)   # blank lines are skipped by the reader: messages name the file's own lines
    register_lines(path, lines if lines is not None and len(lines) == len(frame) else None)
    return frame, TableFile(path, sha, len(frame), encoding), separator


def _is_utf8(data: bytes) -> bool:
    """Is `data` valid UTF-8 (a BOM allowed)? Decoded in 8 MB slices whose text is dropped at once."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), UTF8_SLICE):
            decoder.decode(view[start:start + UTF8_SLICE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


UTF8_SLICE = 8 << 20


def _parse_arrow(source: bytes, separator: str, table: Table, names: list) -> pd.DataFrame | None:
    """The CSV read by Arrow's reader: text columns as text, other columns typed by Arrow, as the
    pandas reader types them. About a tenth of the memory of the pandas reader, which builds a
    Python object per text cell (1.3 GB of transient memory for a 1,000-school vpr.csv, against its
    190 MB). Returns None for a file Arrow would read differently from the pandas reader, which
    then reads it and names the bad rows: rows of another length, a number written «nan», a column
    without a name. (A line
    break inside quotes is read as part of the cell by both readers; validation refuses it.)"""
    if not USE_ARROW_READER or any(not n.strip() for n in names):
        return None   # a column without a name (Excel's trailing «;;»): pandas names it «Unnamed: N»
    text = {c.name for c in table.columns if c.type == "str"}
    types = {n: pa.string() for n in names if n.strip() in text}
    try:
        read = pa_csv.read_csv(
            pa.py_buffer(source),
            read_options=pa_csv.ReadOptions(block_size=ARROW_BLOCK),
            parse_options=pa_csv.ParseOptions(delimiter=separator, newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
                decimal_point="," if separator == ";" else "."))
    except (pa.ArrowException, ValueError):
        return None
    if read.num_columns != len(names):
        return None
    for col in read.columns:
        if pa.types.is_floating(col.type) and pc.any(pc.is_nan(col)).as_py():
            return None   # «nan» is a value the pandas reader keeps as text (and validation refuses)
        if not (pa.types.is_string(col.type) or pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                or pa.types.is_boolean(col.type) or pa.types.is_null(col.type)):
            return None   # dates, times: Arrow would convert text the pandas reader keeps as text
    return read.to_pandas(types_mapper=_ARROW_TO_PANDAS.get, self_destruct=True, split_blocks=True)


ARROW_BLOCK = 16 << 20
USE_ARROW_READER = True          # False: every CSV through the pandas reader (tests compare both)
_ARROW_TO_PANDAS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


def _parse_pandas(source: bytes, separator: str, table: Table, path: Path) -> pd.DataFrame:
    try:
        # Text columns are read as text; numbers are parsed by the C reader (fast); a numeric
        # column with a bad cell comes back as text and `_convert` names the bad row.
        text_columns = {c.name: str for c in table.columns if c.type == "str"}
        # The C reader is fed UTF-8 bytes: from a StringIO pandas re-encodes the text in small chunks,
        # which took ~10× longer than the parsing itself (29 s against 3 s for a 1,000-school vpr.csv).
        return pd.read_csv(io.BytesIO(source), encoding="utf-8", sep=separator, decimal="," if separator == ";" else ".",
                           dtype=text_columns, keep_default_na=False, na_values=[""],
                           skipinitialspace=True, low_memory=False)
    except pd.errors.ParserError as exc:
        raise InputError(f"файл не читается как CSV ({SEPARATOR_NAMES[separator]} как разделитель; "
                         f"нет ли непарной кавычки?): {str(exc)[:200]}", file=str(path),
                         expected="CSV через запятую, одна строка заголовков") from exc


def _first_line_bytes(data: bytes) -> bytes:
    end = data.find(b"\n")
    return (data if end < 0 else data[:end]).rstrip(b"\r")


def _first_line(text: str) -> str:
    """The header line (`text.split("\\n", 1)[0]` without copying the rest of the file)."""
    end = text.find("\n")
    return text if end < 0 else text[:end]


def _separator(text: str) -> str:
    """The separator of the header line: a comma, else the «;» of Russian Excel, else a tab."""
    header = _first_line(text)
    counts = {sep: header.count(sep) for sep in SEPARATOR_NAMES}
    return "," if counts[","] or not max(counts.values()) else max(counts, key=counts.get)


def _check_header(text: str, separator: str, path: Path) -> list[str]:
    """The header's names as written; a column named twice is refused (pandas would keep the second
    as «mark.1»)."""
    header = next(csv.reader(io.StringIO(_first_line(text)), delimiter=separator), [])
    names = [h.strip() for h in header]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise InputError(f"столбец «{repeated[0]}» указан в заголовке дважды", file=str(path), row=1,
                         column=repeated[0], expected="каждый столбец один раз")
    return header


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """UTF-8 (with or without BOM), UTF-16 (Excel's «Юникод (текст)»), or cp1251 (Excel's «CSV» on
    Russian Windows)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError("файл в кодировке UTF-16 повреждён", file=str(path), expected="UTF-8") from exc
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    if data[1:200:2].count(0) > 50 or data[0:200:2].count(0) > 50:      # UTF-16 without a byte-order mark
        codec = "utf-16-le" if data[1:200:2].count(0) > data[0:200:2].count(0) else "utf-16-be"
        try:
            return data.decode(codec), "utf-16"
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise InputError("кодировка файла не распознана", file=str(path),
                         expected="UTF-8 (или Windows-1251, UTF-16)") from exc
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
