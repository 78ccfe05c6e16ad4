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
- 2024 school form: `Код | Вариант | <задания> | Класс № (список формируется из листа "Классы") | Пол |
  Отметка за предыдущий … | Итого баллов`; «Класс №» is the row number of the class on the sheet
  «Классы» (where the school typed the letter), so the label is taken from there.
- 2025 school form of two-part works: `Код | Вариант (часть 1) | <задания части 1> | Вариант (часть 2) |
  <задания части 2> | …`, on «Протокол» or split over «Протокол» and «Протокол_2» (`_read_parts`).
«Пол» is never read. There is no ВПР mark in any of them: it is computed by `vpr_rows.vpr_mark` from the methodology's `vpr_scales.yaml`.
"""
from __future__ import annotations

import datetime as dt
import re

from shnor_utils.data.formats.common import (Q_BLANK_ROWS, Q_ID_IN_NAME, Q_META_FROM_NAME, Context, Extract, Header,
                                             as_int, find_row, is_absent, meta_from_name, norm, normalize_class,
                                             split_municipality, split_school, text)
from shnor_utils.data.formats.vpr_rows import frames, pupil

LAYOUT = "«Форма сбора результатов» ВПР (2024, 2025, 2026; региональная выгрузка 2022)"
LAYOUT_2026 = "«Форма сбора результатов» ВПР (лист «Протокол»)"
LAYOUT_2022 = "региональная выгрузка «Формы сбора результатов» ВПР (2022)"
LAYOUT_2025 = "«Форма сбора результатов» ВПР 2025 из двух частей («Вариант (часть 1)», «Вариант (часть 2)»)"
JOURNAL = ("Отметка за предыдущий", "prefix")


PART = re.compile(r"^вариант \(часть (\d)\)$")
CLASS_2024 = "класс №"            # «Класс № (список формируется из листа "Классы")»
Q_PART_ABSENT = "участник отсутствовал на одной из частей работы (баллы этой части = 0)"
Q_CLASS_SHEET = "класс взят из листа «Классы» по номеру в «Класс №»"


def _is_header(cells: list) -> bool:
    has_variant = "вариант" in cells or any(PART.match(c) for c in cells)
    return (has_variant and any(c.startswith("отметка за предыдущ") for c in cells)
            and "первичный балл" not in cells and "логин школы" not in cells)


def _is_part_header(cells: list) -> bool:
    """A sheet of a 2025 two-part form («Протокол_2» may hold only the code, part 2 and its total)."""
    return any(PART.match(c) for c in cells) and ("код" in cells or "код участника" in cells)


def _head(sheet) -> int | None:
    return find_row(sheet, _is_header, limit=15) or find_row(sheet, _is_part_header, limit=15)


def detect(sheet) -> bool:
    return _head(sheet) is not None


def _parts(header: Header) -> list:
    """[(variant column, part number)] of a 2025 two-part form, else []."""
    return sorted((c, int(PART.match(v).group(1))) for c, v in header.cells.items() if PART.match(v))


def read(sheet, ctx: Context, out: Extract) -> None:
    header = Header(sheet, _head(sheet))
    if _parts(header):
        return _read_parts(sheet, ctx, out)
    regional = header.find("Школа") is not None
    layout = LAYOUT_2022 if regional else LAYOUT_2026
    spec = {"code": ("Код участника", "Код"), "variant": ("Вариант",), "journal": JOURNAL}
    if regional:
        spec.update({"school": ("Школа",), "municipality": ("Муниципалитет",)})
    cols = header.require(spec, ctx, sheet.name, layout)
    cols["class"] = _class_column(header, ctx, sheet.name, layout)
    tasks = header.tasks()
    if not tasks:
        raise ctx.error(f"в таблице «{layout}» нет столбцов заданий", sheet=sheet.name, row=header.row,
                        expected="столбцы вида «1 (2б)», «4К1 (3б)»")
    ordinal = header.find("Порядковый номер класса") is not None or header.cells[cols["class"]].startswith(CLASS_2024)
    classes = _class_sheet(ctx) if header.cells[cols["class"]].startswith(CLASS_2024) else {}
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
                       class_label=_class_label(cell(cols["class"]), classes, work["grade"], ordinal, ctx),
                       variant=cell(cols["variant"]), tasks=tasks, cells=[cell(c) for c, _, _ in tasks],
                       primary_cell=_total(cell(total_col)), journal_cell=cell(cols["journal"]))
        vpr_rows.append(vpr)
    ctx.log.count(Q_BLANK_ROWS, blank)
    if not regional:
        out.school(school_id)
    out.add("vpr", frames(vpr_rows, [])[0])


def _class_column(header: Header, ctx: Context, sheet_name: str, layout: str) -> int:
    col = (header.find("Порядковый номер класса", "Наименование класса", "Класс")
           or header.find(CLASS_2024, "Номер класса", prefix=True))
    if col is None:
        raise ctx.error(f"в таблице «{layout}» нет столбца класса", sheet=sheet_name, row=header.row, column="Класс",
                        expected="«Порядковый номер класса», «Наименование класса» или «Класс № (список формируется "
                                 "из листа \"Классы\")»")
    return col


def _class_sheet(ctx: Context) -> dict:
    """2024 form: «Класс №» is the number of a row of the sheet «Классы», where the school wrote the
    class letter («Буква (цифра) класса»); {number: letter}. Empty when the sheet is absent."""
    book = getattr(ctx, "book", None)
    sheet = next((s for s in getattr(book, "sheets", []) if norm(s.name) == "классы"), None)
    if sheet is None:
        return {}
    head = find_row(sheet, lambda c: any(x.startswith("буква") or x.startswith("наименование класса") for x in c), limit=5)
    if head is None:
        return {}
    header = Header(sheet, head)
    letter = header.find("Буква", "Наименование класса", prefix=True)
    number = header.find("№", "Класс №", "Номер", "Номер класса", prefix=True)
    out, n = {}, 0
    for row in sheet.rows[head:]:
        value = text(row[letter - 1]) if letter <= len(row) else ""
        n += 1
        key = text(row[number - 1]) if number and number <= len(row) and text(row[number - 1]) else str(n)
        if value:
            out[key] = value
    return out


def _class_label(value, classes: dict, grade: int, ordinal: bool, ctx: Context):
    key = text(value)
    if key in classes:
        ctx.log.count(Q_CLASS_SHEET)
        return normalize_class(classes[key], grade, ordinal=False, log=ctx.log)
    return normalize_class(value, grade, ordinal=ordinal, log=ctx.log)


def _read_parts(sheet, ctx: Context, out: Extract) -> None:
    """2025 two-part form: «Вариант (часть 1)» and «Вариант (часть 2)», each followed by the tasks of its
    part, on the sheet «Протокол» or split over «Протокол» and «Протокол_2». All part sheets of the book
    are read together when the first one is met (the others are then skipped) and joined by pupil code:
    a pupil absent from both parts is absent; absent from one part only, the work is counted with 0
    points for that part (Q_PART_ABSENT)."""
    book = getattr(ctx, "book", None)
    sheets = [s for s in getattr(book, "sheets", [sheet]) if detect(s) and _parts(Header(s, _head(s)))]
    if sheets and sheets[0] is not sheet:
        return
    layout = LAYOUT_2025
    pupils, order, keyed = {}, [], []     # keyed: [((sheet, column), (column, task, max))] of all parts
    totals_per_sheet = []
    work = school_id = None
    for s in sheets or [sheet]:
        header = Header(s, _head(s))
        code = header.find("Код участника", "Код")
        if code is None:
            raise ctx.error(f"в таблице «{layout}» нет столбца «Код»", sheet=s.name, row=header.row, column="Код")
        parts = _parts(header)
        tasks = header.tasks()
        bounds = [c for c, _ in parts] + [max(header.cells) + 1]
        part_tasks = {n: [t for t in tasks if bounds[i] < t[0] < bounds[i + 1]] for i, (_, n) in enumerate(parts)}
        if not any(part_tasks.values()):
            raise ctx.error(f"в таблице «{layout}» нет столбцов заданий", sheet=s.name, row=header.row,
                            expected="столбцы вида «1 (2б)» после «Вариант (часть N)»")
        keyed += [((s.name, t[0]), t) for n in sorted(part_tasks) for t in part_tasks[n]]
        class_col = header.find("Порядковый номер класса", "Наименование класса", "Класс") \
            or header.find(CLASS_2024, "Номер класса", prefix=True)
        journal, total = header.find(JOURNAL[0], prefix=True), header.find("Итого баллов", prefix=True)
        totals_per_sheet.append(total is not None)
        if work is None:
            work, school_id = _work(s, ctx, header, layout, None, need_school=True)
        for r in range(header.row + 1, len(s.rows) + 1):
            row = s.rows[r - 1]
            cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
            key = text(cell(code))
            if key == "":
                continue
            p = pupils.get(key)
            if p is None:
                p = pupils[key] = {"where": f"лист «{s.name}», строка {r}", "variants": {}, "cells": {},
                                   "class": None, "journal": None, "totals": []}
                order.append(key)
            for (vcol, n) in parts:
                p["variants"][n] = cell(vcol)
                for t in part_tasks[n]:
                    p["cells"][(s.name, t[0])] = cell(t[0])
            p["class"] = p["class"] if p["class"] is not None else cell(class_col)
            p["journal"] = p["journal"] if p["journal"] is not None else cell(journal)
            if total:
                p["totals"].append(_total(cell(total)))
    rows = []
    for key in order:
        p = pupils[key]
        present = [v for v in p["variants"].values() if not is_absent(v) and text(v)]
        if present and len(present) < len(p["variants"]):
            ctx.log.count(Q_PART_ABSENT)
        variant = present[0] if present else "отсутствовал"
        totals = [t for t in p["totals"] if t is not None]
        primary = sum(_num(t) for t in totals) if totals and len(totals) == sum(totals_per_sheet) else None
        vpr, _ = pupil(ctx, p["where"], work, school_id=school_id, code=key,
                       class_label=normalize_class(p["class"], work["grade"], ordinal=True, log=ctx.log),
                       variant=variant, tasks=[t for _, t in keyed], cells=[p["cells"].get(k) for k, _ in keyed],
                       primary_cell=primary, journal_cell=p["journal"])
        rows.append(vpr)
    out.school(school_id)
    out.add("vpr", frames(rows, [])[0])


def _num(value):
    try:
        return as_int(value) or 0
    except ValueError:
        return 0


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
