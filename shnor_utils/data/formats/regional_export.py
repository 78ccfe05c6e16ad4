"""Regional bulk exports of ВПР results (РЦОИ/МОУО; one file per subject × grade, all schools) → `vpr`.

Layouts (docs/FILE_FORMATS.md §1.6, seen in the Altai region's real files):
- 2021 «Проведение работы по <предмету>, N класс. ВПР 2021.xlsx», sheet `Sheet`:
  `логин школы | регион | номер обучающегося | код обучающегося | отметка за предыдущую
  четверть/триместр | пол | класс | вариант | всего баллов | балл за 1 … балл за N | Учебник …`;
  «регион» actually holds the municipality name (`город Барнаул`), without an id.
- 2020, Latin codes: `groups | user | id | code | otc | gender | klass | var-1 | var-2 | sum |
  a-1-grade … a-40-grade`; `otc` = journal mark, `var-1` holds `отсутствовал` for absentees.
Neither carries year, subject or grade inside the sheet: they come from the file name as issued,
else from the folders above it (`2020/7/Английский язык.xlsx`; `common.meta_from_name`);
task maxima are not in the header either, so task points are only checked to be ≥ 0, and the
ВПР mark is computed from the year's scale.
"""
from __future__ import annotations

import re

from shnor_utils.data.formats.common import (Q_META_FROM_NAME, R_SHIFTED_RIGHT, Context, Extract, Header, find_row, is_absent,
                                             meta_from_name, norm, normalize_class, split_school, text)
from shnor_utils.data.formats.vpr_rows import frames, pupil

LAYOUT = "региональная выгрузка ВПР 2020/2021 (РЦОИ, МОУО)"
LAYOUT_2021 = "региональная выгрузка ВПР 2021 («логин школы | … | балл за 1 …»)"
LAYOUT_2020 = "региональная выгрузка ВПР 2020 («user | code | otc | … | a-1-grade …»)"
NO_MAX = 99  # these layouts do not state task maxima


def _is_2021(cells):
    return "логин школы" in cells and any(c.startswith("балл за") for c in cells)


def _is_2020(cells):
    return "otc" in cells and any(re.match(r"^a-\d+-grade$", c) for c in cells)


def detect(sheet) -> bool:
    return find_row(sheet, lambda c: _is_2021(c) or _is_2020(c), limit=5) is not None


def read(sheet, ctx: Context, out: Extract) -> None:
    head = find_row(sheet, lambda c: _is_2021(c) or _is_2020(c), limit=5)
    header = Header(sheet, head)
    if _is_2021(list(header.cells.values())):
        layout, pattern = LAYOUT_2021, r"^балл за (\S+)$"
        spec = {"school": ("логин школы",), "municipality": ("регион",), "code": ("код обучающегося",),
                "journal": ("отметка за предыдущую", "prefix"), "class": ("класс",), "variant": ("вариант",),
                "total": ("всего баллов",)}
    else:
        layout, pattern = LAYOUT_2020, r"^a-(\d+)-grade$"
        spec = {"school": ("user",), "code": ("code",), "journal": ("otc",), "class": ("klass",),
                "variant": ("var-1",), "total": ("sum",)}
    cols = header.require(spec, ctx, sheet.name, layout)
    tasks = [(c, re.match(pattern, v).group(1), NO_MAX) for c, v in header.cells.items() if re.match(pattern, v)]
    work = _work(sheet, ctx, layout)
    rows = []
    for r in range(head + 1, len(sheet.rows) + 1):
        row = sheet.rows[r - 1]
        cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
        if text(cell(cols["code"])) == "":
            continue
        sid, _ = split_school(cell(cols["school"]))
        sid = sid or text(cell(cols["school"])).lower()
        if not sid:
            raise ctx.error("не указан логин школы", sheet=sheet.name, row=r, column=header.cells[cols["school"]])
        shifted = _shifted_right(cell(cols["class"]), cell(cols["variant"]))
        if shifted:
            ctx.quarantine(sheet.name, r, header.cells[cols[shifted]], R_SHIFTED_RIGHT, row)
            continue
        mun = text(cell(cols.get("municipality"))) if cols.get("municipality") else ""
        out.school(sid, None, None, mun or None)
        vpr, _ = pupil(ctx, f"лист «{sheet.name}», строка {r}", work, school_id=sid, code=cell(cols["code"]),
                       class_label=normalize_class(cell(cols["class"]), work["grade"], ordinal=False, log=ctx.log),
                       variant=cell(cols["variant"]), tasks=tasks, cells=[cell(c) for c, _, _ in tasks],
                       primary_cell=cell(cols["total"]), journal_cell=cell(cols["journal"]), raw=row, header=header)
        rows.append(vpr)
    out.add("vpr", frames(rows, [])[0])


SEX = re.compile(r"^(м|ж|муж|жен)\.?$")
VARIANT = re.compile(r"^(вариант\s*)?\d{1,3}(\.0)?$")


def _shifted_right(class_cell, variant_cell) -> str | None:
    """A row shifted one column right (a real 2021 file: «пол» in «класс», the class letter in «вариант»,
    the last task in «Учебник»): the key of the column that gives it away, else None. Variants are
    numbers here; blank and «отсутствовал» are fine."""
    if SEX.match(norm(class_cell)):
        return "class"
    variant = norm(variant_cell)
    if variant and not is_absent(variant) and not VARIANT.match(variant):
        return "variant"
    return None


def _work(sheet, ctx: Context, layout: str) -> dict:
    meta = meta_from_name(ctx.path, ctx.meth, ctx.log, ctx.overrides)
    missing = [w for k, w in (("year", "год"), ("subject", "предмет"), ("grade", "класс")) if k not in meta]
    if missing:
        raise ctx.error(f"в таблице «{layout}» нет сведений: {', '.join(missing)}", sheet=sheet.name,
                        expected="имя файла, как его выдаёт РЦОИ: «Проведение работы по математике, 5 класс. ВПР 2021.xlsx»")
    ctx.log.count(Q_META_FROM_NAME)
    return {"year": meta["year"], "subject": meta["subject"], "grade": meta["grade"], "wave": ctx.wave}
