"""ФИС ОКО «Индивидуальные результаты» (Ф1) → `vpr` and `vpr_tasks`.

Layout (reference/data_formats.md §1.1–1.2, seen in real 2024/2026 downloads): title in row 1,
«ВПР 2026 Русский язык 4 класс» in row 3, «Уровень сложности задания | Б | Б | П …» just above the
table header `ОО | Муниципалитет | Название ОО | Код участника | Класс | Вариант | 1 (2б) … |
Первичный балл | Отметка | Отметка по журналу`, then per school a group row
«<Название ОО>(edu…) | Кол-во участников: 89» followed by its participants.
«Класс» is the ordinal number of the class within the parallel (2026) or a letter (earlier years).
"""
from __future__ import annotations

from shnor_utils.data.formats.common import (Q_ID_IN_NAME, Context, Extract, Header, find_row, norm, normalize_class, split_municipality,
                     split_school, text)
from shnor_utils.data.formats.vpr_rows import frames, pupil, work_from_title

LAYOUT = "ФИС ОКО «Индивидуальные результаты» (Ф1)"
COLUMNS = {
    "school": ("ОО",),
    "code": ("Код участника",),
    "class": ("Класс",),
    "variant": ("Вариант",),
    "primary": ("Первичный балл",),
    "mark": ("Отметка",),
    "journal": ("Отметка по журналу",),
}
LEVELS = {"б": "Б", "п": "П", "в": "В", "базовый": "Б", "повышенный": "П", "высокий": "В"}


def detect(sheet) -> bool:
    return any("индивидуальные результаты" in norm(v) for row in sheet.rows[:3] for v in row)


def read(sheet, ctx: Context, out: Extract) -> None:
    work = work_from_title(sheet, ctx, LAYOUT)
    head_row = find_row(sheet, lambda cells: "код участника" in cells and "первичный балл" in cells, limit=20)
    if head_row is None:
        raise ctx.error(f"в отчёте «{LAYOUT}» нет строки заголовков таблицы", sheet=sheet.name,
                        expected="строка «ОО | … | Код участника | … | Первичный балл | Отметка | Отметка по журналу»")
    header = Header(sheet, head_row)
    cols = header.require(COLUMNS, ctx, sheet.name, LAYOUT)
    mun_col, name_col = header.find("Муниципалитет"), header.find("Название ОО")
    tasks = header.tasks()
    levels = _levels(sheet, head_row, tasks, ctx)
    ordinal = work["year"] >= 2026
    vpr_rows, task_rows, group_school = [], [], None
    for r in range(head_row + 1, len(sheet.rows) + 1):
        row = sheet.rows[r - 1]
        cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
        if text(cell(cols["code"])) == "":
            group_school = split_school(row[0] if row else None)[0] or group_school
            continue
        school_id = split_school(cell(cols["school"]))[0] or split_school(cell(name_col))[0] or group_school
        if not school_id:
            raise ctx.error("у участника не указана школа (логин ОО)", sheet=sheet.name, row=r,
                            column="ОО", expected="логин ОО, например edu220001")
        _note_school(out, ctx, school_id, cell(name_col), cell(mun_col))
        where = f"лист «{sheet.name}», строка {r}"
        vpr, tks = pupil(ctx, where, work, school_id=school_id, code=cell(cols["code"]),
                         class_label=normalize_class(cell(cols["class"]), work["grade"], ordinal=ordinal, log=ctx.log),
                         variant=cell(cols["variant"]), tasks=tasks, cells=[cell(c) for c, _, _ in tasks],
                         primary_cell=cell(cols["primary"]), mark_cell=cell(cols["mark"]),
                         journal_cell=cell(cols["journal"]), levels=levels)
        vpr_rows.append(vpr)
        task_rows.extend(tks)
    vpr, task_frame = frames(vpr_rows, task_rows)
    out.add("vpr", vpr)
    if levels is not None:
        out.add("vpr_tasks", task_frame)


def _levels(sheet, head_row: int, tasks: list, ctx: Context) -> dict | None:
    """Task level Б/П/В per task column from the row «Уровень сложности задания» above the header."""
    if not tasks:
        return None
    row_no = find_row(sheet, lambda cells: any(c.startswith("уровень сложности") for c in cells), limit=head_row)
    if row_no is None:
        ctx.log.warn(f"лист «{sheet.name}»: нет строки «Уровень сложности задания» — таблица заданий не создана")
        return None
    row = sheet.rows[row_no - 1]
    levels = {}
    for col, task, _ in tasks:
        level = LEVELS.get(norm(row[col - 1]) if col <= len(row) else "")
        if level is None:
            ctx.log.warn(f"лист «{sheet.name}»: у задания {task} не указан уровень Б/П/В — таблица заданий не создана")
            return None
        levels[col] = level
    return levels


def _note_school(out: Extract, ctx: Context, school_id, name_cell, mun_cell) -> None:
    _, name = split_school(name_cell)
    mun_id, mun_name = split_municipality(mun_cell)
    if name_cell is not None and "(" in text(name_cell):
        ctx.log.count(Q_ID_IN_NAME)
    out.school(school_id, name, mun_id, mun_name)
