"""ФИОКО list «Признаки необъективности» (school × year × marker) → `official_signs`.

Two shapes are read (docs/FILE_FORMATS.md §1.8), both with a title row optional above the header:
- wide, as regions reshape the ФИС ОКО list (one row per school and year):
  `Год | Логин | ОО | Муниципалитет | 4 РУ | 4 МА | 5 РУ | 5 МА`, a marker cell 1/0 («да», «+»);
- long: `Год | Логин | ОО | Признак` (or «Маркер», «Работа»), one row per marker.
The year may sit in the title («… в 2023 году») or in the file name instead of a column.
The official list is compared with the computed signs in the ВПР objectivity report
(`analyses.objectivity.present.official_signs_table`).
"""
from __future__ import annotations

import re

import pandas as pd

from shnor_utils.data.formats.common import (Context, Extract, Header, as_int, find_row, meta_from_name, norm,
                                             split_municipality, split_school, text)

LAYOUT = "ФИОКО «Признаки необъективности» (школа × год × признак)"
TITLE = "признаки необъективности"
LOGIN = ("логин", "логин оо", "оо (логин)", "код оо")
MARKER_COLUMN = re.compile(r"^(\d{1,2})\s*[-_ ]?\s*([а-яa-z]{2,3})$")
LONG = ("признак", "маркер", "работа", "признак необъективности")
YES = {"1", "да", "+", "есть", "x", "х"}


def _header(cells: list) -> bool:
    if not any(c in LOGIN for c in cells):
        return False
    return any(MARKER_COLUMN.match(c) for c in cells) or any(c in LONG for c in cells)


def detect(sheet) -> bool:
    titled = any(TITLE in norm(v) for row in sheet.rows[:5] for v in row)
    row = find_row(sheet, _header, limit=10)
    if row is None:
        return False
    cells = [norm(v) for v in sheet.rows[row - 1]]
    return titled or "год" in cells


def read(sheet, ctx: Context, out: Extract) -> None:
    header = Header(sheet, find_row(sheet, _header, limit=10))
    login, year_col = header.find(*LOGIN), header.find("год", "учебный год")
    name_col, mun_col = header.find("оо", "наименование оо", "название оо"), header.find("муниципалитет", prefix=True)
    long_col = header.find(*LONG)
    markers = {c: v for c, v in header.cells.items() if MARKER_COLUMN.match(v)}
    default_year = _title_year(sheet) or meta_from_name(ctx.path, ctx.meth).get("year")
    rows = []
    for r in range(header.row + 1, len(sheet.rows) + 1):
        row = sheet.rows[r - 1]
        cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
        sid, name = split_school(cell(login))
        if not sid:
            sid = split_school(cell(name_col))[0]
        if not sid:
            continue
        year = _year(cell(year_col)) if year_col else default_year
        if year is None:
            raise ctx.error("не указан год признака необъективности", sheet=sheet.name, row=r, column="Год",
                            expected="столбец «Год», год в заголовке листа или в имени файла")
        mun_id, mun_name = split_municipality(cell(mun_col)) if mun_col else (None, "")
        school_name = split_school(cell(name_col))[1] if name_col else name
        out.school(sid, school_name or None, mun_id, mun_name or None)
        if long_col:
            marker = text(cell(long_col))
            if marker:
                rows.append({"year": year, "school_id": sid, "marker": _marker(marker)})
        for col, marker in markers.items():
            if norm(cell(col)) in YES:
                rows.append({"year": year, "school_id": sid, "marker": _marker(marker)})
    frame = pd.DataFrame(rows, columns=["year", "school_id", "marker"])
    if frame.empty:
        ctx.log.warn(f"лист «{sheet.name}»: в перечне нет ни одного признака необъективности")
    out.add("official_signs", frame.drop_duplicates())


def _marker(value: str) -> str:
    """«4 РУ», «4РУ», «4-ру» → «4 РУ»; other text kept as written."""
    m = MARKER_COLUMN.match(norm(value))
    return f"{m.group(1)} {m.group(2).upper()}" if m else text(value)


def _year(value) -> int | None:
    m = re.search(r"(20\d\d)", text(value))
    if m:
        return int(m.group(1))
    try:
        return as_int(value)
    except ValueError:
        return None


def _title_year(sheet) -> int | None:
    for row in sheet.rows[:5]:
        for v in row:
            if TITLE in norm(v):
                m = re.search(r"(20\d\d)", text(v))
                if m:
                    return int(m.group(1))
    return None
