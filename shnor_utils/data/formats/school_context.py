"""ФИС ОКО «Сбор контекстных данных об ОО» (2021, 2022) → entries of the school directory.

What the questionnaire export looks like (docs/FILE_FORMATS.md §3.3; reference/data_formats.md §3.3):
one row per school, a login column and one column per question, the question text as the header,
often numbered («3. Где расположена ОО?», «25. Сколько всего в ОО учителей/преподавателей?»).
2021: one sheet of ~95 columns. 2022: the same questions split over the sheets «Общая информация
об ОО» and «ОБРАЗОВАТЕЛЬНАЯ ДЕЯТЕЛЬНОСТЬ ОО» (each with the login column); both are read and the
directory joins them by login.

Read: «Код ОГЭ/ЕГЭ» (the school's code in the РЦОИ protocols), «Где расположена ОО» (answers
`1. Столица субъекта РФ / 2. Город / 3. Населенный пункт городского типа / 4. Населенный пункт
сельского типа`, or plain «город» / «село»), the settlement size, «вечерняя», «интернат», pupil
and teacher counts. The answers go to `Extract.info` (the school directory, `data/directory.py`),
which fills `schools.settlement`, `school_type` and `students`; no school is added by this file.
"""
from __future__ import annotations

import re

from shnor_utils.data.formats.common import (Context, Extract, Header, as_int, find_row, meta_from_name, norm,
                                             split_municipality, split_school, text)

LAYOUT = "ФИС ОКО «Сбор контекстных данных об ОО» (2021, 2022)"
SOURCE = "контекстные данные ОО"
LOGIN = ("логин", "логин оо", "логин школы", "оо", "пользователь", "код оо (логин)")
QUESTIONS = {   # field: fragments of the question text (any of them, after the question number)
    "rcoi_code": ("код огэ/егэ", "код огэ / егэ", "код оо в рбд"),
    "location": ("где расположена оо", "где расположена школа"),
    "size": ("численность населения", "сколько жителей", "размер населенного пункта"),
    "evening": ("вечерн",),
    "boarding": ("интернат",),
    "students": ("сколько всего обучающихся", "численность обучающихся", "количество обучающихся",
                 "сколько обучающихся"),
    "teachers": ("сколько всего в оо учителей", "сколько всего в школе учителей", "количество учителей"),
}
NAME = ("наименование оо", "название оо", "полное наименование оо", "наименование")
MUNICIPALITY = ("муниципалитет", "муниципальное образование", "муниципальный район")
NUMBER_PREFIX = re.compile(r"^\s*\d+(?:\.\d+)*[.)]?\s*")
Q_CONTEXT = "школ в контекстных данных ОО"


def _question(value: str) -> str:
    return NUMBER_PREFIX.sub("", value)


def _columns(cells: dict) -> dict:
    found = {}
    for col, value in cells.items():
        q = _question(value)
        for name, fragments in QUESTIONS.items():
            if name not in found and any(f in q for f in fragments):
                found[name] = col
    return found


def _is_header(cells: list) -> bool:
    if not any(c in LOGIN for c in cells):
        return False
    found = _columns(dict(enumerate(cells)))
    return bool({"location", "rcoi_code"} & set(found)) or ("teachers" in found and "students" in found)


def detect(sheet) -> bool:
    return find_row(sheet, _is_header, limit=10) is not None


def read(sheet, ctx: Context, out: Extract) -> None:
    header = Header(sheet, find_row(sheet, _is_header, limit=10))
    login = header.find(*LOGIN)
    cols = _columns(header.cells)
    name_col, mun_col = header.find(*NAME), header.find(*MUNICIPALITY, prefix=True)
    year = _year(sheet, ctx)
    n = 0
    for r in range(header.row + 1, len(sheet.rows) + 1):
        row = sheet.rows[r - 1]
        cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
        sid, name = split_school(cell(login))
        if not sid:
            if text(cell(login)):
                ctx.log.warn(f"лист «{sheet.name}», строка {r}: «{text(cell(login))}» не похоже на логин ОО "
                             "(edu…/sch…), строка пропущена")
            continue
        mun_id, mun_name = split_municipality(cell(mun_col)) if mun_col else (None, "")
        location = text(cell(cols.get("location")))
        record = {"school_id": sid, "year": year, "source": f"{SOURCE} {year or ''}".strip(),
                  "file": ctx.file, "sheet": sheet.name, "row": r,
                  "school_name": text(cell(name_col)) or name or None,
                  "municipality_id": mun_id, "municipality_name": mun_name or None,
                  "rcoi_code": _code(cell(cols.get("rcoi_code"))),
                  "location": location or None, "settlement": settlement_of_answer(location),
                  "settlement_size": text(cell(cols.get("size"))) or None,
                  "evening": _yes(cell(cols.get("evening"))), "boarding": _yes(cell(cols.get("boarding"))),
                  "students": _count(cell(cols.get("students"))), "teachers": _count(cell(cols.get("teachers")))}
        out.info(**{k: v for k, v in record.items() if v is not None})
        n += 1
    ctx.log.count(Q_CONTEXT, n)


def settlement_of_answer(answer: str) -> str | None:
    """«4. Населенный пункт сельского типа» / «село» → «село»; capital, city, urban-type → «город»."""
    low = norm(_question(norm(answer)))
    if not low:
        return None
    if "сельск" in low or low in ("село", "деревня", "сельская местность"):
        return "село"
    if "город" in low or "столица" in low:
        return "город"
    return None


def _yes(value) -> bool | None:
    low = _question(norm(value))
    if low in ("да", "1", "+", "yes"):
        return True
    if low in ("нет", "0", "-", "no"):
        return False
    return None


def _count(value) -> int | None:
    try:
        n = as_int(value)
    except ValueError:
        return None
    return n if n is not None and n >= 0 else None


def _code(value) -> str | None:
    raw = text(value)
    return raw if raw and re.match(r"^[0-9A-Za-z_-]+$", raw) else None


def _year(sheet, ctx: Context) -> int | None:
    """The questionnaire's year: from the title rows («… (2022)»), else the file name."""
    for row in sheet.rows[:5]:
        for v in row:
            m = re.search(r"(?<!\d)(20\d\d)(?!\d)", text(v))
            if m and "контекст" in norm(v):
                return int(m.group(1))
    return meta_from_name(ctx.path, ctx.meth).get("year")
