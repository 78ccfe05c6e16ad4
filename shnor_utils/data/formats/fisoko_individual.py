"""ФИС ОКО «Индивидуальные результаты» (Ф1) → `vpr` and `vpr_tasks`.

Layout (docs/FILE_FORMATS.md §1.1–1.2, seen in real 2024/2026 downloads): title in row 1,
«ВПР 2026 Русский язык 4 класс» in row 3, «Уровень сложности задания | Б | Б | П …» just above the
table header `ОО | Муниципалитет | Название ОО | Код участника | Класс | Вариант | 1 (2б) … |
Первичный балл | Отметка | Отметка по журналу`, then per school a group row
«<Название ОО>(edu…) | Кол-во участников: 89» followed by its participants.
«Класс» is the ordinal number of the class within the parallel (2026) or a letter (earlier years).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from shnor_utils.data.formats.common import (Q_ID_IN_NAME, Context, Extract, FileLog, Header, cell_value, find_row, norm,
                                            normalize_class, split_municipality, split_school, text)
from shnor_utils.data.formats.vpr_rows import frames, pupil, work_from_title
from shnor_utils.data.formats.workbook import xlsx_bytes
from shnor_utils.methodology import Methodology
from shnor_utils.safeio import atomic_write_bytes, safe_component
from shnor_utils.data.tables import records

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
                         journal_cell=cell(cols["journal"]), levels=levels, raw=row, header=header)
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


# ---- writing: the dataset as Ф1 files (the reverse of `read`) -----------------------------------
def write(ds, out: Path, meth: Methodology) -> list[Path]:
    """One .xlsx per school × work (subject, grade, year) into `out/ФИС ОКО` (autumn works in
    `осень/`), from the dataset's `vpr` and `vpr_tasks`; nothing without `vpr`."""
    if not ds.has("vpr"):
        return []
    out = Path(out) / "ФИС ОКО"
    schools = ds.schools.set_index("school_id")
    tasks = ds.vpr_tasks if ds.has("vpr_tasks") else None
    paths = []
    keys = ["year", "wave", "subject", "grade", "school_id"]
    for key, group in ds.vpr.groupby(keys, sort=True):
        year, wave, subject, grade, school_id = key
        work_tasks = None
        if tasks is not None:
            mask = (tasks[keys] == pd.Series(dict(zip(keys, key)))).all(axis=1)
            work_tasks = tasks[mask] if mask.any() else None
        sheet_name = f"{meth.short(subject)} {grade} Индивидуальные результаты"     # > 31: cut as ФИС ОКО does
        rows = f1_sheet(group, work_tasks, schools.loc[school_id], school_id, meth)
        folder = out if wave == "весна" else out / "осень"
        name = f"Ф1_{safe_component(school_id)}_{meth.short(subject)}{grade}_{year}.xlsx"
        paths.append(atomic_write_bytes(folder / name, xlsx_bytes({sheet_name: rows})))
    return paths


def _task_order(code: str):
    parts = [int(p) if p.isdigit() else p for p in code.replace("К", ".К.").replace("(", ".").replace(")", "").split(".")]
    return [(0, p) if isinstance(p, int) else (1, p) for p in parts]


def f1_sheet(vpr: pd.DataFrame, tasks: pd.DataFrame | None, school, school_id: str, meth: Methodology) -> list:
    """Rows of one Ф1 sheet (header block, levels row, table header, group row, participants)."""
    year, subject, grade = int(vpr["year"].iloc[0]), vpr["subject"].iloc[0], int(vpr["grade"].iloc[0])
    task_list = []
    if tasks is not None:
        meta = tasks.drop_duplicates("task").set_index("task")
        task_list = sorted(meta.index, key=_task_order)
        flags = tasks["flag"] if "flag" in tasks else [None] * len(tasks)
        by_pupil = {(p, t): (cell_value(s), cell_value(f)) for p, t, s, f in
                    zip(tasks["participant_code"], tasks["task"], tasks["score"], flags)}
    scale = meth.vpr_scale(year, subject, grade)
    max_score = scale.max if scale else (int(meta["max_score"].sum()) if task_list else None)
    full_name = f"{school.school_name}({school_id})"
    rows = [["Индивидуальные результаты"], [], [f"ВПР {year} {subject} {grade} класс"], ["Предмет:", subject],
            ["Максимальный первичный балл:", max_score], ["Дата:", f"20.04.{year}"],
            ["Уровень сложности задания", None, None, None, None, None] + [meta.at[t, "level"] for t in task_list],
            ["ОО", "Муниципалитет", "Название ОО", "Код участника", "Класс", "Вариант"]
            + [f"{t} ({int(meta.at[t, 'max_score'])}б)" for t in task_list]
            + ["Первичный балл", "Отметка", "Отметка по журналу"],
            [full_name, f"Кол-во участников: {int((~vpr['absent']).sum())}"]]
    municipality = f"{school.municipality_name}({school.municipality_id})"
    for i, p in enumerate(records(vpr.sort_values("participant_code", kind="stable"))):
        code = p.participant_code
        cells = []
        for t in task_list:
            score, flag = by_pupil.get((code, t), (None, None))
            cells.append(None if p.absent else _task_cell(score, flag, i))
        journal = "нет отметки" if pd.isna(p.journal_mark) else _maybe_text(int(p.journal_mark), i)
        rows.append([school_id, municipality, full_name, _maybe_text(_code(code), i + 1),
                     _class_cell(p.class_label, grade, year, i), "отсутствовал" if p.absent else 1 + i % 2, *cells,
                     cell_value(p.primary_score), cell_value(p.mark), journal])
    return rows


def _code(code: str):
    return int(code) if code.isdigit() and not code.startswith("0") else code


def _maybe_text(value, i: int):
    """Every third number written as text, as real exports mix them."""
    return str(value) if i % 3 == 2 and isinstance(value, int) else value


def _task_cell(score, flag, i: int):
    if flag == "X":
        return "X" if i % 2 else "х"          # Latin and Cyrillic
    if flag == "не пройд.":
        return "не пройд."
    return _maybe_text(cell_value(score), i)


def _class_cell(label, grade: int, year: int, i: int):
    """A spelling of the class label that the reader maps back to the same label."""
    if label is None or pd.isna(label):
        return "нет"
    ordinal = year >= 2026
    candidates = []
    if label.startswith(f"{grade}-") and label[len(str(grade)) + 1:].isdigit():
        candidates.append(int(label[len(str(grade)) + 1:]))
    letters = label[len(str(grade)):] if label.startswith(str(grade)) else ""
    if letters.isalpha():
        candidates = [[letters.lower(), f"{grade} {letters.lower()}", f"{letters}({grade})"][i % 3]]
    for c in candidates + [label]:
        if normalize_class(c, grade, ordinal=ordinal, log=FileLog()) == label:
            return c
    return label
