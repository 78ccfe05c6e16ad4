"""«Форма сбора результатов» ВПР (sheet «Протокол») → `vpr`, the ВПР mark computed from the year's scale.

Two layouts (docs/FILE_FORMATS.md §1.5):
- 2026 school form: `Код участника | Вариант | 1 (5б) … 4К1 (3б) … | Порядковый номер класса |
  Отметка за предыдущий триместр/ четверть/полугодие | Итого баллов`; «Итого баллов» is a formula,
  ~1,500 template rows read as blanks; no school login, year, subject or grade inside the sheet:
  they come from the file name as ФИС ОКО issues it («Форма сбора результатов Математика 5 класс
  ВПР 2026.xlsx») plus the school login the analyst adds (`… edu220001.xlsx`).
- 2022 regional export of the same form: `Пользователь | Код региона | Регион | Муниципалитет |
  Школа | Дата загрузки | Код | Вариант | <задания> | Наименование класса | Пол | Отметка за
  предыдущий … | Итого баллов`, with `'reg22_m067 | город Славгород'`, `'edu224312 | МБОУ "СОШ №10"'`.
There is no ВПР mark in either: it is computed by `vpr_rows.vpr_mark` from the methodology's `vpr_scales.yaml`.
"""
from __future__ import annotations

import datetime as dt
import re

from shnor_utils.data.formats.common import (Q_BLANK_ROWS, Q_ID_IN_NAME, Q_META_FROM_NAME, Context, Extract, Header, find_row,
                     meta_from_name, normalize_class, split_municipality, split_school, text)
from shnor_utils.data.formats.vpr_rows import frames, pupil

LAYOUT = "«Форма сбора результатов» ВПР (2026; региональная выгрузка 2022)"
LAYOUT_2026 = "«Форма сбора результатов» ВПР (лист «Протокол»)"
LAYOUT_2022 = "региональная выгрузка «Формы сбора результатов» ВПР (2022)"
JOURNAL = ("Отметка за предыдущий", "prefix")


def _is_header(cells: list) -> bool:
    return ("вариант" in cells and any(c.startswith("отметка за предыдущ") for c in cells)
            and "первичный балл" not in cells and "логин школы" not in cells)


def detect(sheet) -> bool:
    return find_row(sheet, _is_header, limit=15) is not None


def read(sheet, ctx: Context, out: Extract) -> None:
    header = Header(sheet, find_row(sheet, _is_header, limit=15))
    regional = header.find("Школа") is not None
    layout = LAYOUT_2022 if regional else LAYOUT_2026
    spec = {"code": ("Код участника", "Код"), "variant": ("Вариант",), "journal": JOURNAL,
            "class": ("Порядковый номер класса", "Наименование класса", "Класс")}
    if regional:
        spec.update({"school": ("Школа",), "municipality": ("Муниципалитет",)})
    cols = header.require(spec, ctx, sheet.name, layout)
    tasks = header.tasks()
    if not tasks:
        raise ctx.error(f"в таблице «{layout}» нет столбцов заданий", sheet=sheet.name, row=header.row,
                        expected="столбцы вида «1 (2б)», «4К1 (3б)»")
    ordinal = header.find("Порядковый номер класса") is not None
    total_col, date_col = header.find("Итого баллов", prefix=True), header.find("Дата загрузки")
    work, school_id = _work(sheet, ctx, header, layout, date_col, need_school=not regional)
    vpr_rows, blank = [], 0
    for r in range(header.row + 1, len(sheet.rows) + 1):
        row = sheet.rows[r - 1]
        cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
        if text(cell(cols["code"])) == "":
            blank += any(v is not None for v in row)
            continue
        sid = school_id
        if regional:
            sid, name = split_school(cell(cols["school"]))
            if not sid:
                raise ctx.error("не указан логин школы", sheet=sheet.name, row=r, column="Школа",
                                expected="«edu220001 | Название»", got=text(cell(cols["school"])))
            ctx.log.count(Q_ID_IN_NAME)
            out.school(sid, name, *split_municipality(cell(cols["municipality"])))
        vpr, _ = pupil(ctx, f"лист «{sheet.name}», строка {r}", work, school_id=sid, code=cell(cols["code"]),
                       class_label=normalize_class(cell(cols["class"]), work["grade"], ordinal=ordinal, log=ctx.log),
                       variant=cell(cols["variant"]), tasks=tasks, cells=[cell(c) for c, _, _ in tasks],
                       primary_cell=_total(cell(total_col)), journal_cell=cell(cols["journal"]))
        vpr_rows.append(vpr)
    ctx.log.count(Q_BLANK_ROWS, blank)
    if not regional:
        out.school(school_id)
    out.add("vpr", frames(vpr_rows, [])[0])


def _total(value):
    """«Итого баллов» is a formula: a cached number is used, a formula text is ignored."""
    return None if isinstance(value, str) and value.startswith("=") else value


def _work(sheet, ctx: Context, header: Header, layout: str, date_col, *, need_school: bool) -> tuple[dict, str | None]:
    """Year, subject, grade (and the school for the 2026 form): from the sheet where it has them,
    else from the file name; a clear error naming what is missing otherwise."""
    meta = {}
    if date_col:
        year = next((_year_of(row[date_col - 1]) for row in sheet.rows[header.row:header.row + 50]
                     if date_col <= len(row) and _year_of(row[date_col - 1])), None)
        if year:
            meta["year"] = year
    from_name = meta_from_name(ctx.path, ctx.meth)
    needed = ["year", "subject", "grade"] + (["school_id"] if need_school else [])
    taken = [k for k in needed if k not in meta and k in from_name]
    meta.update({k: from_name[k] for k in taken})
    missing = [k for k in needed if k not in meta]
    if missing:
        words = {"year": "год", "subject": "предмет", "grade": "класс", "school_id": "логин школы"}
        raise ctx.error(f"в таблице «{layout}» нет сведений: {', '.join(words[k] for k in missing)}", sheet=sheet.name,
                        expected="имя файла, как его выдаёт ФИС ОКО, с логином школы: "
                                 "«Форма сбора результатов Математика 5 класс ВПР 2026 edu220001.xlsx»")
    if taken:
        ctx.log.count(Q_META_FROM_NAME)
    work = {"year": meta["year"], "subject": meta["subject"], "grade": meta["grade"], "wave": ctx.wave}
    return work, meta.get("school_id")


def _year_of(value) -> int | None:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.year
    m = re.search(r"(20\d\d)", text(value))
    return int(m.group(1)) if m else None
