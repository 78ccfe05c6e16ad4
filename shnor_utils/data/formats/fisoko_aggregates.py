"""ФИС ОКО aggregate reports → `vpr_mark_stats` and `vpr_journal_stats` (optional tables).

Both sit under the common 8-row ФИС ОКО header block (docs/FILE_FORMATS.md §1.1) and list
groups «Вся выборка → регион → муниципалитет(reg…_m…) → ОО(edu…)»:
- «Статистика по отметкам» (§1.3): `Группы участников | Кол-во ОО | Кол-во участников | 2 | 3 | 4 | 5`,
  values are % of participants; the mark headers are numbers; `Кол-во ОО` is blank for a school.
- «Сравнение отметок с отметками по журналу» (§1.4), two layouts:
  wide (2024): `Группы участников | Кол-во участников | Понизили … % | … Кол-во участников | Подтвердили
  (Отметка = Отметке по журналу) … | Повысили …`, no «Вся выборка» row;
  long (regional systems): a group row, then rows `Понизили… | Подтвердили… | Повысили… | Всего`
  with columns `Кол-во участников | %`.
These tables let a report show and check a school's results when no per-pupil file exists.
"""
from __future__ import annotations

import pandas as pd

from shnor_utils.data.formats.common import (MUN_ID, Q_ID_IN_NAME, SCHOOL_ID, Context, Extract, Header, as_int, as_number, find_row, norm,
                     split_municipality, split_school, text)
from shnor_utils.data.formats.vpr_rows import work_from_title

MARKS_LAYOUT = "ФИС ОКО «Статистика по отметкам»"
JOURNAL_LAYOUT = "ФИС ОКО «Сравнение отметок с отметками по журналу»"
CATEGORIES = {"понизили": "lower", "подтвердили": "confirm", "повысили": "higher"}


def detect_marks(sheet) -> bool:
    return any("статистика по отметкам" in norm(v) for row in sheet.rows[:3] for v in row)


def detect_journal(sheet) -> bool:
    return any("сравнение отметок" in norm(v) for row in sheet.rows[:3] for v in row)


# ---- groups --------------------------------------------------------------------------------------
def group_of(value, ctx: Context, out: Extract, municipality: tuple) -> dict:
    """Level, id and name of a group row; schools are noted for the `schools` table."""
    raw = text(value)
    if norm(raw) == "вся выборка":
        return {"group_level": "вся выборка", "group_id": None, "group_name": raw}
    if SCHOOL_ID.search(raw) or raw.lower().startswith(("edu", "sch")):
        sid, name = split_school(raw)
        ctx.log.count(Q_ID_IN_NAME)
        out.school(sid, name, *municipality)
        return {"group_level": "школа", "group_id": sid, "group_name": name or sid}
    if MUN_ID.search(raw) or "|" in raw:
        mid, name = split_municipality(raw)
        ctx.log.count(Q_ID_IN_NAME)
        return {"group_level": "муниципалитет", "group_id": mid, "group_name": name}
    return {"group_level": "регион", "group_id": None, "group_name": raw}


# ---- Статистика по отметкам ----------------------------------------------------------------------
def read_marks(sheet, ctx: Context, out: Extract) -> None:
    work = work_from_title(sheet, ctx, MARKS_LAYOUT)
    head = find_row(sheet, lambda c: "группы участников" in c and any(x.startswith("кол-во участников") for x in c))
    if head is None:
        raise ctx.error(f"в отчёте «{MARKS_LAYOUT}» нет строки заголовков", sheet=sheet.name,
                        expected="«Группы участников | Кол-во ОО | Кол-во участников | 2 | 3 | 4 | 5»")
    header = Header(sheet, head)
    spec = {"group": ("Группы участников",), "participants": ("Кол-во участников", "prefix"),
            "2": ("2",), "3": ("3",), "4": ("4",), "5": ("5",)}
    cols = header.require(spec, ctx, sheet.name, MARKS_LAYOUT)
    schools_col = header.find("Кол-во ОО", prefix=True)
    rows, municipality = [], (None, None)
    for r in range(head + 1, len(sheet.rows) + 1):
        row = sheet.rows[r - 1]
        cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
        if text(cell(cols["group"])) == "":
            continue
        group = group_of(cell(cols["group"]), ctx, out, municipality)
        if group["group_level"] == "муниципалитет":
            municipality = (group["group_id"], group["group_name"])
        rec = {**work, **group,
               "schools_count": _num(ctx, sheet, r, "Кол-во ОО", cell(schools_col), integer=True),
               "participants": _num(ctx, sheet, r, "Кол-во участников", cell(cols["participants"]), integer=True)}
        for m in "2345":
            rec[f"pct_{m}"] = _num(ctx, sheet, r, m, cell(cols[m]))
        rows.append(rec)
    out.add("vpr_mark_stats", pd.DataFrame(rows))


# ---- Сравнение отметок с отметками по журналу ----------------------------------------------------
def read_journal(sheet, ctx: Context, out: Extract) -> None:
    work = work_from_title(sheet, ctx, JOURNAL_LAYOUT)
    head = find_row(sheet, lambda c: "группы участников" in c)
    if head is None:
        raise ctx.error(f"в отчёте «{JOURNAL_LAYOUT}» нет строки заголовков", sheet=sheet.name,
                        expected="«Группы участников | Кол-во участников | Понизили … | Подтвердили … | Повысили …»")
    header = Header(sheet, head)
    if any(v.startswith("понизили") for v in header.cells.values()):
        rows = _journal_wide(sheet, ctx, out, header)
    else:
        rows = _journal_long(sheet, ctx, out, header)
    out.add("vpr_journal_stats", pd.DataFrame([{**work, **r} for r in rows]))


def _journal_wide(sheet, ctx, out, header: Header) -> list:
    group_col = header.find("Группы участников")
    total_col = header.find("Кол-во участников", prefix=True)
    cols, first_data = {}, header.row + 1
    sub = Header(sheet, header.row + 1) if header.row < len(sheet.rows) else None
    for key, name in CATEGORIES.items():
        found = [c for c, v in header.cells.items() if v.startswith(key)]
        if len(found) >= 2:                    # «Понизили … %» and «Понизили … Кол-во участников»
            pct = next((c for c in found if "%" in header.cells[c]), found[0])
            n = next((c for c in found if "кол-во" in header.cells[c]), found[1])
        elif len(found) == 1 and sub is not None:   # merged header cell, «% | Кол-во» one row below
            c = found[0]
            pct = next((x for x in (c, c + 1) if "%" in sub.cells.get(x, "")), c)
            n = next((x for x in (c, c + 1) if "кол-во" in sub.cells.get(x, "")), c + 1)
            first_data = header.row + 2
        else:
            raise ctx.error(f"в отчёте «{JOURNAL_LAYOUT}» нет столбца «{key.capitalize()}»", sheet=sheet.name,
                            row=header.row, expected="столбцы «Понизили», «Подтвердили», «Повысили» (% и кол-во)")
        cols[name] = (pct, n)
    if total_col is None:
        raise ctx.error(f"в отчёте «{JOURNAL_LAYOUT}» нет столбца «Кол-во участников»", sheet=sheet.name,
                        row=header.row, column="Кол-во участников")
    rows, municipality = [], (None, None)
    for r in range(first_data, len(sheet.rows) + 1):
        row = sheet.rows[r - 1]
        cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
        if text(cell(group_col)) == "":
            continue
        group = group_of(cell(group_col), ctx, out, municipality)
        if group["group_level"] == "муниципалитет":
            municipality = (group["group_id"], group["group_name"])
        rec = {**group, "participants": _num(ctx, sheet, r, "Кол-во участников", cell(total_col), integer=True)}
        for name, (pct, n) in cols.items():
            rec[f"{name}_pct"] = _num(ctx, sheet, r, f"{name} %", cell(pct))
            rec[f"{name}_n"] = _num(ctx, sheet, r, f"{name} кол-во", cell(n), integer=True)
        rows.append(rec)
    return rows


def _journal_long(sheet, ctx, out, header: Header) -> list:
    spec = {"group": ("Группы участников",), "n": ("Кол-во участников", "prefix"), "pct": ("%",)}
    cols = header.require(spec, ctx, sheet.name, JOURNAL_LAYOUT + " (длинный макет)")
    rows, current, municipality = [], None, (None, None)
    for r in range(header.row + 1, len(sheet.rows) + 1):
        row = sheet.rows[r - 1]
        cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
        label = norm(cell(cols["group"]))
        if label == "":
            continue
        key = next((k for k in CATEGORIES if label.startswith(k)), None)
        if key is None and label.startswith("всего"):
            if current is None:
                raise ctx.error("строка «Всего» до названия группы участников", sheet=sheet.name, row=r)
            current["participants"] = _num(ctx, sheet, r, "Кол-во участников", cell(cols["n"]), integer=True)
            continue
        if key is None:
            group = group_of(cell(cols["group"]), ctx, out, municipality)
            if group["group_level"] == "муниципалитет":
                municipality = (group["group_id"], group["group_name"])
            current = {**group, "participants": None}
            rows.append(current)
            continue
        if current is None:
            raise ctx.error(f"строка «{text(cell(cols['group']))}» до названия группы участников", sheet=sheet.name,
                            row=r, expected="сначала строка с названием региона, муниципалитета или ОО")
        name = CATEGORIES[key]
        current[f"{name}_n"] = _num(ctx, sheet, r, "Кол-во участников", cell(cols["n"]), integer=True)
        current[f"{name}_pct"] = _num(ctx, sheet, r, "%", cell(cols["pct"]))
    for rec in rows:
        if rec["participants"] is None:
            rec["participants"] = sum(rec.get(f"{n}_n") or 0 for n in CATEGORIES.values())
    return rows


def _num(ctx: Context, sheet, row: int, column: str, value, integer: bool = False):
    try:
        return as_int(value, ctx.log) if integer else as_number(value, ctx.log)
    except ValueError:
        raise ctx.error("не число", sheet=sheet.name, row=row, column=column, expected="число",
                        got=text(value)) from None
