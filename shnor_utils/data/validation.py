"""Validate the dataset tables against `schema.TABLES`, collecting every failing value.

A table whose structure is wrong (a required column is missing) stops the loading at once: its
values cannot be read. Values are checked lazily, as pandera's `lazy=True` does — type, fraction
in an integer column, range, empty cell, category, repeated key and, across tables, unknown school,
ВПР participant without a score, score above the year's ВПР or ОГЭ scale — and every failing cell
is collected (once, by the first rule it breaks) before anything is raised. `failure_error` then
makes one InputError: a single failure reads as it always did (file, row, column, expected, got);
several are listed (the first SHOWN) with their total, and all of them are written to
`validation_errors.csv` beside the dataset (docs/DATA_CONTRACT.md §1.1).

Row numbers are those a user sees in the file: in a CSV file the header is row 1, so the first
data row is row 2; in a Parquet file the first row is row 1.

Personal data: the tables carry pseudonymous codes, never names or documents
(docs/DATA_CONTRACT.md §2 `gia.participant_id`, docs/ingest.md «Персональные данные»), so the
values found are safe to show. The list is a file left on disk, though: every value shown or written
is cut to GOT_CHARS characters, and one that looks like a full name or a document number (a name
typed into a code column, a cell shifted from a misaligned row) is replaced by a placeholder.
"""
from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from shnor_utils.data.schema import TABLES, Column, Table
from shnor_utils.errors import InputError
from shnor_utils.methodology import Methodology
from shnor_utils.safeio import atomic_write_bytes, neutral_frame, safe_component
from shnor_utils.data.tables import records

TRUE_WORDS = {"true", "1", "да", "yes", "истина", "t", "y", "д"}
FALSE_WORDS = {"false", "0", "нет", "no", "ложь", "f", "n", "н"}
PANDAS_TYPES = {"str": "string", "int": "Int64", "float": "Float64", "bool": "boolean"}

REPORT_NAME = "validation_errors.csv"     # written beside the tables when some values fail
REPORT_COLUMNS = ["file", "row", "column", "rule", "expected", "got"]
SHOWN = 20                                # failures listed in the error message
GOT_CHARS = 100                           # a value found is cut to this many characters
# Limits at the boundary (docs/DATA_CONTRACT.md §1.1, docs/hostile_input.md): a text cell holds at most
# MAX_TEXT_CHARS characters and no control characters (NUL, tab, line breaks: an unbalanced quote
# swallows the following lines into one cell); a number is finite, and an integer is at most
# MAX_INT in magnitude (beyond 2**53 a float no longer holds every integer: 10**20 wrapped to −2**63).
MAX_TEXT_CHARS = 1000
MAX_INT = 2 ** 53
_CONTROL = r"[\x00-\x1f\x7f]"

# «Иванов Иван Иванович», «ПЕТРОВА-ВОДКИНА ОЛЬГА», «Сидоров И.И.»: two or three Cyrillic words, each
# capitalised or in capitals (category values such as «Русский язык» have a lower-case second word).
_WORD = r"[А-ЯЁ](?:[а-яё]+|[А-ЯЁ]+)(?:-[А-ЯЁ](?:[а-яё]+|[А-ЯЁ]+))?"
_NAME_LIKE = re.compile(rf"^{_WORD}(?:\s+{_WORD}){{1,2}}$|^{_WORD}\s+[А-ЯЁ]\.\s?[А-ЯЁ]\.?$")
# passport «4510 123456», СНИЛС «123-456-789 01»: ten digits or more, with spaces, dashes, «№»
_DOCUMENT_LIKE = re.compile(r"^[\d\s№-]+$")
HIDDEN_NAME = "(скрыто: похоже на ФИО)"
HIDDEN_DOCUMENT = "(скрыто: похоже на номер документа)"


def first_row(path) -> int:
    """Row number of the first data row: 2 in a CSV file (the header is row 1), 1 in Parquet."""
    return 2 if Path(path).suffix == ".csv" else 1


# Line numbers of the data rows of CSV files that have blank lines (the reader skips them, so
# «position + 2» would name the wrong line): set by `dataset` when it reads such a file.
_LINES: dict[str, np.ndarray] = {}


def register_lines(path, lines: np.ndarray | None) -> None:
    """Remember (or forget, with None) the file line of each data row of a CSV file."""
    key = str(Path(path).resolve())
    if lines is None:
        _LINES.pop(key, None)
    else:
        _LINES[key] = np.asarray(lines, dtype=np.int64)


_BLANK_LINE = re.compile(rb"\n\s*(?:\n|\Z)")   # a line after the header that is empty or only spaces


def data_lines(data: bytes) -> np.ndarray | None:
    """File line numbers (header = 1) of the data rows of a CSV file (its UTF-8 bytes) whose blank
    lines the reader skips; None when there is no blank line (then row = position + 2)."""
    if not _BLANK_LINE.search(data, 0, len(data) - data.endswith(b"\n")):   # the usual case: no split of millions of lines
        return None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    blank = [not line.strip() for line in lines[1:]]
    if not any(blank):
        return None
    return np.array([i + 2 for i, b in enumerate(blank) if not b], dtype=np.int64)


def _file_rows(path, rows: np.ndarray) -> np.ndarray:
    """`rows` computed as position + first_row, turned into the file's own line numbers."""
    lines = _LINES.get(str(Path(path).resolve()))
    if lines is None or not len(rows):
        return rows
    pos = rows - first_row(path)
    ok = (pos >= 0) & (pos < len(lines))
    return np.where(ok, lines[np.clip(pos, 0, len(lines) - 1)], rows)


def safe_text(value) -> str | None:
    """A value found, as it may be shown or written: None when empty, cut to GOT_CHARS, and a
    placeholder instead of anything that looks like a name or a document number."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)                # a number column with empty cells is read as float: 6.0 → 6
    text = str(value).strip()
    if len(text) > GOT_CHARS:             # too long for a name or a document: cut before matching
        return text[:GOT_CHARS - 1] + "…"
    if _NAME_LIKE.match(text):
        return HIDDEN_NAME
    if _DOCUMENT_LIKE.match(text) and sum(ch.isdigit() for ch in text) >= 10:
        return HIDDEN_DOCUMENT
    return text if len(text) <= GOT_CHARS else text[:GOT_CHARS - 1] + "…"


# ---- the collection of failures ----------------------------------------------------------------
class Failures:
    """Every failing value found so far, and which cells of each table failed (a later rule skips them)."""

    def __init__(self):
        self._parts: list[pd.DataFrame] = []
        self._failed: dict[tuple[str, str], np.ndarray] = {}

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)

    def add(self, table: str, path, rows, column: str | None, rule, expected: str | None, got=None) -> None:
        """Failures at the user's `rows` (row numbers in the file) of `table`, read from `path`.
        `rule` is one text or one per row; `got` holds the value found in each row (or None)."""
        rows = _file_rows(path, np.asarray(rows, dtype=np.int64))
        names = TABLES[table].column_names
        self._parts.append(pd.DataFrame({
            "_table": list(TABLES).index(table),
            "_column": names.index(column) if column in names else len(names),
            "path": [Path(path)] * len(rows), "row": rows, "column": column, "rule": rule,
            "expected": expected,
            "got": [None] * len(rows) if got is None else [safe_text(v) for v in got],
        }))

    def mark_failed(self, table: str, column: str, mask: np.ndarray) -> None:
        self._failed[(table, column)] = mask

    def failed(self, table: str, column: str, rows: int) -> np.ndarray:
        """Which rows of `table` failed a check of `column` (all False when none did)."""
        mask = self._failed.get((table, column))
        return mask if mask is not None else np.zeros(rows, dtype=bool)

    def frame(self) -> pd.DataFrame:
        """All failures, by table, row and column (the order of the schema)."""
        frame = pd.concat(self._parts, ignore_index=True)
        for c in ("column", "rule", "expected", "got"):        # missing values as None, never NaN
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
        return frame.sort_values(["_table", "row", "_column"], kind="stable").reset_index(drop=True)

    def error(self, root: Path, *, write_report: bool = True) -> InputError:
        """One InputError for every failure; the complete list is written first (see `write_report`)."""
        return failure_error(self.frame(), root, write_report=write_report)


def failure_error(failures: pd.DataFrame, root: Path, *, write_report: bool = True) -> InputError:
    """The InputError of `failures` (from `Failures.frame`). One failure: file, row, column,
    expected and got as always. Several: the first SHOWN listed with their total and where the
    complete list is. The error carries `failures` (the list as written) and `report` (its path)."""
    root = Path(root)
    listing = report_frame(failures)
    report, where = write_errors(listing, root) if write_report else (None, "")
    total = len(failures)
    if total == 1:
        first = failures.iloc[0]
        err = InputError(first["rule"], file=str(first["path"]), row=int(first["row"]), column=first["column"],
                         expected=first["expected"], got=first["got"])
    else:
        lines = [str(InputError(r.rule, file=r.file, row=int(r.row), column=r.column, expected=r.expected, got=r.got))
                 for r in records(listing.head(SHOWN))]
        paths = failures["path"].unique()
        shown = f" (показаны первые {SHOWN})" if total > SHOWN else ""
        head = f"найдено ошибочных значений: {total}{shown}" if len(paths) == 1 else \
            f"в наборе данных «{root}» найдено ошибочных значений: {total}{shown}"
        message = head + ":\n" + "\n".join(f"  {line}" for line in lines) + (f"\n{where}" if where else "")
        err = InputError(message, file=str(paths[0]) if len(paths) == 1 else None)
    err.failures, err.report = listing, report
    return err


def report_frame(failures: pd.DataFrame) -> pd.DataFrame:
    """The failures as the user reads them: file name (inside the dataset folder), row, column,
    rule broken, expected value, value found (already made safe)."""
    return pd.DataFrame({"file": [p.name for p in failures["path"]], "row": failures["row"].astype("int64"),
                         "column": failures["column"], "rule": failures["rule"], "expected": failures["expected"],
                         "got": failures["got"]})[REPORT_COLUMNS]


def write_errors(listing: pd.DataFrame, root: Path) -> tuple[Path | None, str]:
    """Write the complete list of failures to `root/validation_errors.csv` (UTF-8 with BOM, so that
    Excel shows Cyrillic), or — when the dataset folder is not writable — into a temporary folder.
    Returns the path written (None if neither could be) and a Russian sentence saying where."""
    data = neutral_frame(listing).to_csv(index=False).encode("utf-8-sig")   # opened in Excel: no live formulas
    try:
        path = atomic_write_bytes(root / REPORT_NAME, data)
        return path, f"Полный список ({len(listing)}) — в файле {path}"
    except OSError:
        pass
    digest = hashlib.sha256(str(root.resolve()).encode("utf-8")).hexdigest()[:8]
    fallback = Path(tempfile.gettempdir()) / "shnor-validation" / f"{safe_component(root.name)}-{digest}" / REPORT_NAME
    try:
        path = atomic_write_bytes(fallback, data)
    except OSError:
        return None, "Полный список записать не удалось: папка набора данных и временная папка недоступны для записи."
    return path, f"Папка набора данных недоступна для записи; полный список ({len(listing)}) — в файле {path}"


def clear_errors(root: Path) -> None:
    """Remove the list of failures of an earlier run (the dataset now passes)."""
    try:
        (Path(root) / REPORT_NAME).unlink(missing_ok=True)
    except OSError:
        pass          # a read-only dataset folder: its list cannot be there from us either


# ---- one table ----------------------------------------------------------------------------------
class _Cells:
    """The failing cells of one column: each cell is reported once, by the first rule it breaks."""

    def __init__(self, failures: Failures, table: Table, path, column: str, found: pd.Series, offset: int):
        self.failures, self.table, self.path, self.column = failures, table, path, column
        self.found, self.offset = found, offset
        self.failed = np.zeros(len(found), dtype=bool)

    def check(self, mask, rule: str, expected: str) -> None:
        bad = np.asarray(mask, dtype=bool)
        if not bad.any():
            return
        bad = bad & ~self.failed
        if bad.any():
            pos = np.flatnonzero(bad)
            self.failures.add(self.table.name, self.path, pos + self.offset, self.column, rule, expected,
                              self.found.iloc[pos])
            self.failed |= bad


def validate_table(raw: pd.DataFrame, table: Table, *, file, row_offset: int | None = None,
                   failures: Failures | None = None) -> pd.DataFrame:
    """Check columns, types, ranges, categories and keys of one table; return typed columns.

    A missing required column raises at once. Failing values are added to `failures` (their cells
    are empty in the frame returned); without `failures`, they are raised here as one InputError."""
    path = Path(file)
    offset = row_offset if row_offset is not None else first_row(path)
    collect = failures if failures is not None else Failures()
    out = {}
    for col in table.columns:
        if col.name not in raw.columns:
            if col.required:
                raise InputError("нет обязательного столбца", file=str(file), column=col.name,
                                 expected=f"столбцы {', '.join(c.name for c in table.columns if c.required)}")
            out[col.name] = pd.Series(col.default if col.default is not None else pd.NA,
                                      index=raw.index, dtype=PANDAS_TYPES[col.type])
            continue
        out[col.name] = _convert(raw[col.name], col, table, path, offset, collect)
    extra = [c for c in raw.columns if c not in out]
    frame = pd.DataFrame(out, index=raw.index)
    for c in extra:  # extensions are kept as they are
        frame[c] = raw[c]
    if table.key:
        _check_key(frame.reset_index(drop=True), table, path, offset, collect)
    if failures is None and len(collect):
        raise collect.error(path.parent, write_report=False)
    return frame.reset_index(drop=True)


def _convert(s: pd.Series, col: Column, table: Table, path: Path, offset: int, failures: Failures) -> pd.Series:
    is_text = s.dtype == object or pd.api.types.is_string_dtype(s.dtype)
    if is_text:
        s = s.astype("string").str.strip().replace("", pd.NA)
    cells = _Cells(failures, table, path, col.name, s, offset)
    missing = s.isna()
    if col.type == "str":
        typed = s.astype("string")
        _check_text(typed, missing, cells)
    elif col.type == "bool":
        if pd.api.types.is_bool_dtype(s.dtype):
            typed = s.astype("boolean")
        else:
            low = s.astype("string").str.lower()
            cells.check(~missing & ~low.isin(TRUE_WORDS | FALSE_WORDS), "неверное логическое значение",
                        "true/false (или 1/0, да/нет)")
            typed = low.isin(TRUE_WORDS).astype("boolean").mask(missing)
    else:
        num = pd.to_numeric(s, errors="coerce") if is_text else s
        kind = "целое число" if col.type == "int" else "число"
        cells.check(~missing & pd.isna(num), "неверный тип значения", kind)
        num = num.astype("Float64")
        finite = np.isfinite(num.fillna(0).to_numpy(dtype="float64"))
        cells.check(~missing.to_numpy(dtype=bool) & ~finite, "бесконечное или слишком большое число", kind)
        num = num.mask(~finite)
        if col.type == "int":
            cells.check(~missing & (num.abs() > MAX_INT).fillna(False), "слишком большое целое число",
                        f"{kind} по модулю не больше {MAX_INT}")
            num = num.mask((num.abs() > MAX_INT).fillna(False))
            cells.check(~missing & (num.fillna(0) % 1 != 0), "дробное значение в целочисленном столбце", kind)
        if col.min is not None:
            cells.check(~missing & (num < col.min).fillna(False), "значение вне допустимого диапазона", _range_text(col))
        if col.max is not None:
            cells.check(~missing & (num > col.max).fillna(False), "значение вне допустимого диапазона", _range_text(col))
        typed = num.round().astype("Int64") if col.type == "int" else num
    if not col.nullable:
        cells.check(missing, "пустое значение", "значение обязательно")
    if col.allowed:
        allowed = pd.Series(col.allowed).astype(typed.dtype) if col.type != "str" else list(col.allowed)
        cells.check(~typed.isna() & ~typed.isin(allowed), "недопустимое значение",
                    "одно из: " + ", ".join(map(str, col.allowed)))
    if cells.failed.any():
        failures.mark_failed(table.name, col.name, cells.failed)
        typed = typed.mask(cells.failed)
    return typed


def _check_text(typed: pd.Series, missing: pd.Series, cells: "_Cells") -> None:
    """Length and control characters of a text column (Arrow-native string kernels: fast)."""
    cells.check(~missing & typed.str.len().gt(MAX_TEXT_CHARS).fillna(False), "слишком длинный текст",
                f"не больше {MAX_TEXT_CHARS} символов")
    cells.check(~missing & typed.str.contains(_CONTROL, regex=True).fillna(False),
                "управляющий символ в тексте (NUL, табуляция или перевод строки; "
                "нет ли в файле непарной кавычки?)", "текст без управляющих символов")


def _check_key(frame: pd.DataFrame, table: Table, path: Path, offset: int, failures: Failures) -> None:
    """Every row whose key repeats an earlier row's fails (rows with a failing key cell are skipped)."""
    keys = list(table.key)
    skip = np.zeros(len(frame), dtype=bool)
    for k in keys:
        skip |= failures.failed(table.name, k, len(frame))
    sub = frame.loc[~skip, keys] if skip.any() else frame[keys]
    repeat = sub.duplicated(keys, keep="first").to_numpy()
    if not repeat.any():
        return
    where = np.flatnonzero(~skip)                       # positions in `frame` of the rows of `sub`
    group = sub.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(sub))).groupby(group).transform("min").to_numpy()
    this_pos, first_pos = where[repeat], where[first[repeat]]
    values = [[safe_text(v) for v in frame[k].iloc[this_pos]] for k in keys]
    rules = [f"повторяющаяся запись ({', '.join(f'{k}={v}' for k, v in zip(keys, row))}) в строках {a} и {b}"
             for row, a, b in zip(zip(*values), first_pos + offset, this_pos + offset)]
    failures.add(table.name, path, this_pos + offset, None, rules, f"уникальное сочетание {', '.join(keys)}")


def _range_text(col: Column) -> str:
    if col.name in ("mark", "journal_mark"):
        return "отметка от 2 до 5"
    if col.min is not None and col.max is not None:
        return f"от {col.min:g} до {col.max:g}"
    return f"не меньше {col.min:g}" if col.min is not None else f"не больше {col.max:g}"


# ---- across tables ------------------------------------------------------------------------------
def check_references(frames: dict, files: dict, failures: Failures) -> None:
    """Every `school_id` of a table that references schools is in `schools`."""
    known = set(frames["schools"]["school_id"].dropna())
    for name, frame in frames.items():
        if not TABLES[name].references_schools or "school_id" not in frame:
            continue
        ids = frame["school_id"]
        unknown = (ids.notna() & ~ids.isin(known)).to_numpy(dtype=bool)
        if unknown.any():
            pos = np.flatnonzero(unknown)
            path = files[name].path
            failures.add(name, path, pos + first_row(path), "school_id", "неизвестная школа: её нет в schools",
                         "school_id из таблицы schools", ids.iloc[pos])


def check_vpr_scores(vpr: pd.DataFrame, meth: Methodology, path: Path, failures: Failures) -> None:
    """A present ВПР participant has a primary score, and no score exceeds the year's scale."""
    offset = first_row(path)
    skip = failures.failed("vpr", "absent", len(vpr)) | failures.failed("vpr", "primary_score", len(vpr))
    present = ~vpr["absent"].fillna(False)
    no_score = (present & vpr["primary_score"].isna()).to_numpy(dtype=bool) & ~skip
    if no_score.any():
        failures.add("vpr", path, np.flatnonzero(no_score) + offset, "primary_score",
                     "у присутствовавшего участника нет первичного балла", "балл, или absent=true")
    for (year, subject, grade), idx in vpr.groupby(["year", "subject", "grade"]).groups.items():
        scale = meth.vpr_scale(year, subject, grade)
        if scale is None:
            continue
        scores = vpr.loc[idx, "primary_score"]
        over = (scores > scale.max).fillna(False).to_numpy(dtype=bool)
        if over.any():
            failures.add("vpr", path, np.asarray(idx)[over] + offset, "primary_score",
                         f"первичный балл больше максимума шкалы ВПР {year} «{subject}», {grade} класс",
                         f"от 0 до {scale.max}", scores[over])


def check_gia_scores(gia: pd.DataFrame, meth: Methodology, path: Path, failures: Failures) -> None:
    """No ОГЭ primary score exceeds the maximum of the year's scale."""
    offset = first_row(path)
    oge = gia[(gia["exam"] == "ОГЭ").fillna(False).to_numpy(dtype=bool)]
    for (year, subject), part in oge.groupby(["year", "subject"]):
        scale = meth.oge_scale(year, subject)
        if scale is None:
            continue
        over = (part["primary_score"] > scale.max).fillna(False).to_numpy(dtype=bool)
        if over.any():
            failures.add("gia", path, part.index.to_numpy()[over] + offset, "primary_score",
                         f"первичный балл ОГЭ {year} «{subject}» больше максимума",
                         f"от 0 до {scale.max}", part["primary_score"][over])
