"""What every reader of real files shares: text normalisation, header lookup, cell parsers for the
quirks of real exports, and the context/extract objects a reader fills.

The quirks of real files and what becomes of them are in docs/FILE_FORMATS.md §0 (ids inside
names, metadata from the file name) and §1.7 (cell values): `отсутствовал`, `X`/`x`/`х`,
`не пройд.`, `нет отметки`, numbers as text, class labels in many spellings.
Every quirk a parser resolves is counted in the ingest report under a Russian label (`Q_*`).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from shnor_utils.errors import ConfigError, InputError
from shnor_utils.methodology import Methodology

# ---- labels of the ingest report (one per quirk) ------------------------------------------------
Q_ABSENT = "участник отсутствовал («отсутствовал»)"
Q_TASK_X = "задание не выполнялось («X», «x», «х») → 0 баллов"
Q_TASK_NOT_TAUGHT = "тема не пройдена («не пройд.») → 0 баллов"
Q_TASK_BAD = "нечитаемый балл за задание → 0 баллов (см. предупреждения)"
Q_NO_JOURNAL = "«нет отметки» по журналу"
Q_EMPTY_JOURNAL = "пустая отметка по журналу"
Q_TEXT_NUMBER = "число записано текстом («1» вместо 1)"
Q_CLASS = "обозначение класса приведено к виду «5А» / «5-1»"
Q_CLASS_NONE = "класс не указан («нет», пусто)"
Q_ID_IN_NAME = "идентификатор извлечён из названия («…(edu…)», «reg…_m… | …»)"
Q_MARK_COMPUTED = "отметка ВПР вычислена по шкале года"
Q_SCORE_MISMATCH = "первичный балл не равен сумме баллов за задания"
Q_BLANK_ROWS = "пустые строки шаблона пропущены"
Q_DUPLICATE = "повторная запись участника отброшена"
Q_DUPLICATE_EXACT = "точная копия записи (тот же участник, те же данные) учтена один раз"
Q_META_FROM_PATH = "год, класс или предмет взяты из папок пути к файлу"
Q_OVERRIDE = "год, класс или волна заданы параметром (--year, --grade, --wave)"

# Rules of quarantined rows (rejected_rows.csv «rule»), written by readers (the others come from the
# contract's checks in `ingest`)
R_OVERFLOW = "в строке больше значений, чем столбцов в шапке (строка сдвинута или склеена)"
R_SHIFTED = "в столбце задания значение другого столбца (пол, класс): строка сдвинута"
R_SHIFTED_RIGHT = ("в столбце «класс» — пол или в столбце «вариант» — буква класса: значения сдвинуты на столбец "
                   "вправо (последнее попало в «Учебник»)")
Q_META_FROM_NAME = "год, предмет, класс или школа взяты из имени файла"

_SPACES = re.compile(r"\s+")
TASK_HEADER = re.compile(r"^(\d+(?:[.,]\d+)?(?:\s?\(\d+\))?(?:\s?[кk]\d+)?)\s*\((\d+)\s*б\.?\)$")
VPR_TITLE = re.compile(r"впр\s+(\d{4})\s+(.+?)\s+(\d+)\s*класс")
SCHOOL_ID = re.compile(r"\((edu\d+|sch\d+)\)|^(edu\d+|sch\d+)$", re.I)
MUN_ID = re.compile(r"\((reg\d+_m\d+)\)", re.I)
PIPE_ID = re.compile(r"^\s*(\S+)\s*\|\s*(.*?)\s*$")
X_VALUES = {"x", "х"}                      # Latin and Cyrillic, any case
NOT_TAUGHT = re.compile(r"^не\s*пройд")
LATIN_TO_CYR = str.maketrans("ABCEHKMOPTXY", "АВСЕНКМОРТХУ")


def norm(value) -> str:
    """Header/title text for matching: lower case, ё→е, one space, and «Отметке» → «Отметка»
    (ФИС ОКО writes «Подтвердили (Отметка = Отметке по журналу)»)."""
    if value is None:
        return ""
    text = str(value).replace("\xa0", " ").replace("ё", "е").replace("Ё", "Е").lower()
    text = _SPACES.sub(" ", text).strip()
    return text.replace("отметке", "отметка")


def text(value) -> str:
    """Cell as display text: None → "", integral numbers without «.0», spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _SPACES.sub(" ", str(value).replace("\xa0", " ")).strip()


# ---- what a reader gets and fills ---------------------------------------------------------------
@dataclass
class FileLog:
    """Counts and warnings of one file, for the ingest report. Never holds personal data."""
    counts: Counter = field(default_factory=Counter)
    warnings: list = field(default_factory=list)
    # «Итого баллов» vs the sum of tasks, per school: school_id → [pupils compared, pupils whose total differs]
    totals: dict = field(default_factory=dict)
    # scale maxima found in the file's task header: (year, subject, grade) → (sum, "5+5+…", sheet)
    maxima: dict = field(default_factory=dict)

    def count(self, label: str, n: int = 1) -> None:
        if n:
            self.counts[label] += int(n)

    def warn(self, message: str) -> None:
        if len(self.warnings) < 50 and message not in self.warnings:
            self.warnings.append(message)


@dataclass
class Context:
    """Everything a reader needs besides the sheet."""
    path: Path
    meth: Methodology
    log: FileLog
    wave: str = "весна"
    secret: bytes | None = None
    book: object = None          # the whole workbook, for layouts whose title sits on another sheet
    # --year / --grade given by the user: they win over the content, the name and the folders
    overrides: dict = field(default_factory=dict)
    # rows a reader set aside (rejected_rows.csv): dicts of sheet, row, column, rule, raw
    quarantined: list = field(default_factory=list)

    @property
    def file(self) -> str:
        return str(self.path)

    def quarantine(self, sheet: str, row: int, column: str | None, rule: str, raw=()) -> None:
        """Set a source row aside: it is listed in rejected_rows.csv (cells made safe there) and not loaded."""
        self.quarantined.append({"sheet": sheet, "row": row, "column": column, "rule": rule, "raw": raw_text(raw)})

    def setting(self, key: str):
        """A value of the methodology's ingest.yaml (`key: {value: …, source: …}`)."""
        return ingest_setting(self.meth, key)

    def error(self, message: str, *, sheet=None, row=None, column=None, expected=None, got=None) -> InputError:
        return InputError(message, file=self.file, sheet=sheet, row=row, column=column, expected=expected, got=got)


@dataclass
class Extract:
    """What readers found in one file: canonical rows per table and the schools they name."""
    tables: dict = field(default_factory=dict)
    schools: list = field(default_factory=list)
    directory: list = field(default_factory=list)   # what a file tells about schools (shnor_utils.data.directory)
    file: str = ""                                   # set by ingest after reading
    quarantined: list = field(default_factory=list)  # rows the readers set aside (rejected_rows.csv)
    log: FileLog | None = None                       # the file's counts, totals and scale evidence

    def add(self, table: str, frame: pd.DataFrame) -> None:
        if frame is not None and len(frame):
            self.tables.setdefault(table, []).append(frame)

    def school(self, school_id, name=None, municipality_id=None, municipality_name=None) -> None:
        if school_id:
            self.schools.append({"school_id": school_id, "school_name": name or None,
                                 "municipality_id": municipality_id or None,
                                 "municipality_name": municipality_name or None})

    def info(self, **record) -> None:
        """One school's entry for the school directory (context files, login directory): login,
        year, source and whatever the file says (name, municipality, settlement, type, counts)."""
        if record.get("school_id"):
            self.directory.append(record)

    def rows(self, table: str) -> int:
        return sum(len(f) for f in self.tables.get(table, []))


def ingest_setting(meth: Methodology, key: str):
    """`value` of `key` in the methodology's ingest.yaml (defaults/ingest.yaml, a regional overlay may change it)."""
    entry = meth.data.get("ingest", {}).get(key)
    if not isinstance(entry, dict) or "value" not in entry:
        raise ConfigError(f"в методике нет параметра ingest.yaml «{key}» (value, source)")
    return entry["value"]


# Cells of a quarantined row kept for rejected_rows.csv: personal data is never among them (the
# readers that carry names pass only the cells outside the name and document columns), and a text that
# looks like a full name is hidden all the same.
_NAME_LIKE = re.compile(r"^[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?\s+[А-ЯЁ][а-яё]+")
RAW_CELLS = 60


def raw_text(cells) -> str:
    """The cells of a row as one «a | b | c» text (at most RAW_CELLS cells, names hidden)."""
    out = []
    for v in list(cells)[:RAW_CELLS]:
        t = text(v)
        out.append("(скрыто)" if _NAME_LIKE.match(t) else t[:60])
    return " | ".join(out)


def overflow_column(row, header: "Header") -> int | None:
    """1-based column of the first value right of the header's last column, else None."""
    last = max(header.cells) if header.cells else 0
    return next((c for c in range(last + 1, len(row) + 1) if row[c - 1] is not None), None)


# ---- headers ------------------------------------------------------------------------------------
def title_text(sheet, rows: int = 8) -> str:
    """Normalised text of the first rows (the ФИС ОКО header block)."""
    return " | ".join(norm(v) for r in sheet.rows[:rows] for v in r if v is not None)


def find_row(sheet, predicate, *, start: int = 1, limit: int = 40) -> int | None:
    """1-based number of the first row (from `start`, within `limit` rows) whose normalised
    cells satisfy `predicate(list_of_texts)`."""
    for i in range(start, min(len(sheet.rows), start + limit - 1) + 1):
        if predicate([norm(v) for v in sheet.rows[i - 1]]):
            return i
    return None


class Header:
    """A header row: normalised text per 1-based column, looked up by aliases."""

    def __init__(self, sheet, row: int):
        self.row = row
        self.cells = {c: norm(v) for c, v in enumerate(sheet.rows[row - 1], start=1) if v is not None}

    def find(self, *aliases: str, prefix: bool = False) -> int | None:
        keys = [norm(a) for a in aliases]
        for col, value in self.cells.items():
            if any(value == k or (prefix and value.startswith(k)) for k in keys):
                return col
        return None

    def require(self, spec: dict, ctx: Context, sheet_name: str, layout: str) -> dict:
        """`spec` = {field: (aliases…) or (aliases…, "prefix")}; every field must be found."""
        found, missing = {}, []
        for name, aliases in spec.items():
            prefix = aliases[-1] == "prefix"
            col = self.find(*(aliases[:-1] if prefix else aliases), prefix=prefix)
            if col is None:
                missing.append(aliases[0])
            found[name] = col
        if missing:
            raise ctx.error(f"в таблице «{layout}» нет столбца «{missing[0]}»"
                            + (f" (и ещё {len(missing) - 1})" if len(missing) > 1 else ""),
                            sheet=sheet_name, row=self.row, column=missing[0],
                            expected="столбцы " + ", ".join(f"«{a[0]}»" for a in spec.values()))
        return found

    def tasks(self) -> list:
        """Task columns `1 (2б)`, `4К1 (3б)`, `5(1) (1б)`: [(col, task code, max points)]."""
        out = []
        for col, value in self.cells.items():
            m = TASK_HEADER.match(value)
            if m:
                code = m.group(1).replace(",", ".").replace(" ", "").upper().replace("K", "К")
                out.append((col, code, int(m.group(2))))
        return out


# ---- ids inside names ---------------------------------------------------------------------------
def split_school(value) -> tuple[str | None, str]:
    """`'МБОУ «СОШ №1»(edu203389)'` or `'edu224312 | МБОУ "СОШ №10"'` → (`edu203389`, name)."""
    raw = text(value)
    m = PIPE_ID.match(raw)
    if m and SCHOOL_ID.match(m.group(1)):
        return m.group(1).lower(), m.group(2)
    m = SCHOOL_ID.search(raw)
    if m:
        sid = (m.group(1) or m.group(2)).lower()
        return sid, raw[:m.start()].strip() if m.group(1) else ""
    return None, raw


def split_municipality(value) -> tuple[str | None, str]:
    """`'Урус-Мартановский район(reg20_m012)'` or `'reg22_m067 | город Славгород'` → (id, name)."""
    raw = text(value)
    m = PIPE_ID.match(raw)
    if m and re.match(r"^reg\d+_m\d+$", m.group(1), re.I):
        return m.group(1).lower(), m.group(2)
    m = MUN_ID.search(raw)
    if m:
        return m.group(1).lower(), raw[:m.start()].strip()
    return None, raw


# ---- cell parsers -------------------------------------------------------------------------------
def as_number(value, log: FileLog | None = None) -> float | None:
    """Number of a cell: int/float as they are, «12», «1,5», « 3 » parsed (and counted as text);
    None for an empty cell; raises ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return float(value)
    raw = str(value).strip().replace("\xa0", "").replace(" ", "").replace(",", ".")
    if raw == "":
        return None
    number = float(raw)
    if log is not None:
        log.count(Q_TEXT_NUMBER)
    return number


def as_int(value, log: FileLog | None = None) -> int | None:
    number = as_number(value, log)
    if number is None:
        return None
    if not float(number).is_integer():
        raise ValueError(value)
    return int(number)


def is_absent(value) -> bool:
    return norm(value).startswith("отсутств")


def parse_journal_mark(value, log: FileLog) -> int | None:
    """Journal (previous-term) mark: 2–5 as int or text; «нет отметки» and blanks → None (counted)."""
    low = norm(value)
    if low == "":
        log.count(Q_EMPTY_JOURNAL)
        return None
    if low.startswith("нет"):
        log.count(Q_NO_JOURNAL)
        return None
    try:
        mark = as_int(value, log)
    except ValueError:
        mark = None
    if mark not in (2, 3, 4, 5):
        log.count(Q_EMPTY_JOURNAL)
        log.warn(f"отметка по журналу «{text(value)}» не распознана и оставлена пустой")
        return None
    return mark


def parse_task(value, max_points: int, log: FileLog, where: str) -> tuple[int, str | None]:
    """Score of one task cell → (points, flag). `X`/`х` → (0, "X"); `не пройд.` → (0, "не пройд.");
    a value that is not 0…max (e.g. `-2`, `H`) → (0, "ошибка") with a warning naming the cell."""
    low = norm(value)
    if low in X_VALUES:
        log.count(Q_TASK_X)
        return 0, "X"
    if NOT_TAUGHT.match(low):
        log.count(Q_TASK_NOT_TAUGHT)
        return 0, "не пройд."
    try:
        points = as_int(value, log)
    except ValueError:
        points = -1
    if points is None:
        return 0, None
    if not 0 <= points <= max_points:
        log.count(Q_TASK_BAD)
        log.warn(f"{where}: балл «{text(value)}» вне 0…{max_points}, засчитан как 0")
        return 0, "ошибка"
    return points, None


def normalize_class(value, grade: int, *, ordinal: bool, log: FileLog) -> str | None:
    """One spelling per class: letters → «5А» (`'а'`, `'5 а'`, `'Б(11)'`, `'11А'`, Latin lookalikes);
    an ordinal number (2026 forms: «Порядковый номер класса») → «5-1»; `'нет'`/blank → None.
    A bare number equal to the grade in a letter column (`'8'` in 8 класс) → «8»."""
    raw = text(value)
    if raw == "" or norm(raw) in ("нет", "-", "—"):
        log.count(Q_CLASS_NONE)
        return None
    upper = raw.upper().translate(LATIN_TO_CYR).replace("Ё", "Е")
    letters = "".join(re.findall(r"[А-Я]", upper))
    digits = re.findall(r"\d+", upper)
    if not letters:
        if len(digits) == 1:
            n = int(digits[0])
            label = f"{grade}-{n}" if ordinal or n != grade else str(grade)
        else:
            label = raw
    elif digits and any(int(d) != grade for d in digits):
        label = upper.replace(" ", "")          # «7Б» in a grade-8 file: keep as written
    else:
        label = f"{grade}{letters}"
    if label != raw:
        log.count(Q_CLASS)
    return label


def grade_of_class(value) -> int | None:
    """Grade from a class label «9А», «11 б», 9 → 9, 11; None if none."""
    m = re.match(r"^\s*(\d{1,2})", text(value))
    return int(m.group(1)) if m and 1 <= int(m.group(1)) <= 11 else None


# ---- metadata a file may carry only in its name -------------------------------------------------
def meta_from_name(path: Path, meth: Methodology, log: FileLog | None = None, overrides: dict | None = None) -> dict:
    """Year, subject, grade and school login found in the file's name, else in the names of the
    folders above it (nearest first, up to FOLDER_LEVELS): `2020/7/Английский язык.xlsx` gives year
    2020, grade 7, «Английский язык». `overrides` (--year, --grade) win over everything.

    Only for layouts whose content does not carry them (the 2026 «Форма сбора результатов» and the
    regional exports are issued as «Форма сбора результатов Математика 5 класс ВПР 2026.xlsx»,
    «Проведение работы по математике, 5 класс. ВПР 2021.xlsx», `2022/4/Русский язык.xlsx`).
    The layout itself is never recognised by the name. With `log`, a value taken from a folder
    (not the name) is counted under Q_META_FROM_PATH."""
    out: dict = {}
    from_path = False
    names = [path.stem.replace("_", " ")] + [p.name.replace("_", " ") for p in list(path.parents)[:FOLDER_LEVELS]]
    for level, name in enumerate(names):
        before = set(out)
        m = re.search(r"(?<!\d)(20\d\d)(?!\d)", name)
        if m:
            out.setdefault("year", int(m.group(1)))
        m = re.search(r"(?<!\d)(\d{1,2})\s*[-_ ]?\s*(?:класс|кл\b)", name, re.I)
        if m and 4 <= int(m.group(1)) <= 11:
            out.setdefault("grade", int(m.group(1)))
        elif level and name.isdigit() and 4 <= int(name) <= 11:   # regional archives: 2020/<класс>/<Предмет>.xlsx
            out.setdefault("grade", int(name))
        subject = meth.subject_from_text(name)
        if subject:
            out.setdefault("subject", subject)
        m = re.search(r"(edu\d+|sch\d+)", name, re.I)
        if m:
            out.setdefault("school_id", m.group(1).lower())
        from_path = from_path or bool(level and set(out) - before)
    if from_path and log is not None:
        log.count(Q_META_FROM_PATH)
    for key in ("year", "grade"):
        if overrides and overrides.get(key) is not None:
            out[key] = int(overrides[key])
    return out


FOLDER_LEVELS = 3      # folders above a file searched for year / grade / subject: region/2020/7/file.xlsx


# ---- writing: a canonical value as a workbook cell -------------------------------------------
def cell_value(v):
    """A pandas cell as a plain Python value for a workbook (NA → None, numpy → int/float)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v
