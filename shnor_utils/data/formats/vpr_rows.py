"""One participant's ВПР row (and task rows) from the cells of any per-pupil layout.

Shared by the Ф1, «Форма сбора результатов» and regional-export readers, so that the rules of
docs/FILE_FORMATS.md §1.7 are applied once:
- `отсутствовал` in «Вариант» (or no variant, no scores at all) → `absent`, no score, no mark;
- task cells `X`/`х`/`не пройд.` → 0 points for the primary score, kept as a task flag;
- primary score = the file's total when it has one, else the sum of task points; when both exist
  and differ, the methodology's `ingest.yaml: total_rule` decides (`file` or `tasks`), and the
  disagreement is counted per school (`FileLog.totals`) for the ingest report;
- a row with more values than header columns, or with a sex/class value in a task column (a
  shifted row), is quarantined (`Context.quarantine`), not loaded;
- the task maxima of the header (`1 (2б)` …) are summed once per work and checked against the
  configured scale maximum (`FileLog.maxima`; `ingest` validates with the file's evidence);
- ВПР mark = the file's mark when it has one, else from the year's scale
  (`Methodology.vpr_scale`, the methodology's `vpr_scales.yaml`), never from a literal.
"""
from __future__ import annotations

import re

import pandas as pd

from shnor_utils.data.formats.common import (Q_ABSENT, Q_MARK_COMPUTED, Q_SCORE_MISMATCH, R_OVERFLOW, R_SHIFTED, VPR_TITLE,
                                             Context, as_int, is_absent, norm, overflow_column, parse_journal_mark, parse_task, text)

VPR_COLUMNS = ["year", "wave", "subject", "grade", "school_id", "class_label", "participant_code",
               "absent", "primary_score", "mark", "journal_mark"]
TASK_COLUMNS = ["year", "wave", "subject", "grade", "school_id", "participant_code", "task", "score",
                "max_score", "level", "flag"]
PROVENANCE = ["_sheet", "_row"]     # where a row came from (the file is added by ingest): never written
UNKNOWN_MAX = 99                    # layouts without task maxima in the header use this (regional exports)
_WHERE = re.compile(r"лист «(.*)», строка (\d+)")
_SHIFTED = re.compile(r"^(м|ж|муж|жен|\d{1,2}\s*[а-я])$")


def canonical_subject(ctx: Context, raw: str) -> str:
    """«Русский язык» stays; «Окруж. мир», «по математике» → canonical by stems; unknown text kept."""
    raw = text(raw)
    if raw in ctx.meth.subjects:
        return raw
    return ctx.meth.subject_from_text(raw) or raw


def work_from_title(sheet, ctx: Context, layout: str) -> dict:
    """(year, subject, grade) from the ФИС ОКО line «ВПР 2026 Русский язык 4 класс» (rows 1–8)."""
    for row in sheet.rows[:8]:
        for value in row:
            m = VPR_TITLE.search(norm(value))
            if m:
                original = re.search(r"ВПР\s+\d{4}\s+(.+?)\s+\d+\s*класс", text(value), re.I)
                subject = original.group(1) if original else m.group(2)
                return {"year": int(ctx.overrides.get("year") or m.group(1)), "subject": canonical_subject(ctx, subject),
                        "grade": int(ctx.overrides.get("grade") or m.group(3)), "wave": ctx.wave}
    raise ctx.error(f"в заголовке отчёта «{layout}» нет строки «ВПР ГГГГ Предмет N класс»", sheet=sheet.name,
                    expected="строка вида «ВПР 2026 Русский язык 4 класс» в строках 1–8")


def vpr_mark(ctx: Context, work: dict, primary: int | None) -> int | None:
    """Mark 2–5 of `primary` by the year's scale; None (with a warning) when no scale exists."""
    if primary is None:
        return None
    scale = ctx.meth.vpr_scale(work["year"], work["subject"], work["grade"])
    if scale is None:
        ctx.log.warn(f"нет шкалы ВПР {work['year']} «{work['subject']}», {work['grade']} класс: отметка не вычислена")
        return None
    if scale.carried_over:
        ctx.log.warn(f"ВПР {work['year']} «{work['subject']}», {work['grade']} класс: отметки вычислены "
                     f"по шкале {scale.year} г. (шкалы {work['year']} г. нет в методике, vpr_scales.yaml)")
    ctx.log.count(Q_MARK_COMPUTED)
    return int(scale.mark(primary))


def pupil(ctx: Context, where: str, work: dict, *, school_id: str, code, class_label, variant,
          tasks: list, cells: list, primary_cell=None, mark_cell=None, journal_cell=None,
          levels: dict | None = None, raw=None, header=None) -> tuple[dict, list]:
    """The vpr row and the vpr_tasks rows (only when `levels` is given) of one participant.

    `tasks` = [(column, task code, max points)], `cells` = the row's values in those columns; `where`
    = «лист «…», строка N» (kept as the row's provenance). With `raw` (the row's cells) and `header`,
    a row with values right of the header is quarantined. A quarantined row comes back marked
    `_drop` (and no task rows); `frames` leaves it out."""
    m = _WHERE.match(where)
    sheet, row = (m.group(1), int(m.group(2))) if m else (None, None)
    prov = {"_sheet": sheet, "_row": row}
    if raw is not None and header is not None:
        col = overflow_column(raw, header)
        if col is not None:
            ctx.quarantine(sheet, row, f"столбец {col}", R_OVERFLOW, raw)
            return {"_drop": True}, []
    shifted = next((task for (_, task, _), v in zip(tasks, cells) if isinstance(v, str) and _SHIFTED.match(norm(v))), None)
    if shifted is not None:
        ctx.quarantine(sheet, row, f"задание {shifted}", R_SHIFTED, raw if raw is not None else cells)
        return {"_drop": True}, []
    _check_maxima(ctx, work, tasks, sheet)
    journal = parse_journal_mark(journal_cell, ctx.log)
    no_data = all(c is None for c in cells) and primary_cell is None
    absent = is_absent(variant) or (no_data and text(variant) == "")
    base = {**work, "school_id": school_id, "participant_code": text(code)}
    if absent:
        ctx.log.count(Q_ABSENT)
        return {**base, "class_label": class_label, "absent": True, "primary_score": None, "mark": None,
                "journal_mark": journal, **prov}, []
    task_rows, total = [], 0
    for (col, task, max_points), value in zip(tasks, cells):
        points, flag = parse_task(value, max_points, ctx.log, f"{where}, задание {task}")
        total += points
        if levels is not None:
            task_rows.append({**base, "task": task, "score": points, "max_score": max_points,
                              "level": levels.get(col), "flag": flag})
    primary = _int_or_none(primary_cell, ctx)
    if primary is None:
        primary = total if tasks else None
    elif tasks:
        seen = ctx.log.totals.setdefault(school_id, [0, 0])
        seen[0] += 1
        if primary != total:
            seen[1] += 1
            ctx.log.count(Q_SCORE_MISMATCH)
            rule = ctx.setting("total_rule")
            taken = "первичный балл файла" if rule == "file" else "сумма баллов за задания"
            ctx.log.warn(f"{where}: первичный балл {primary}, сумма баллов за задания {total}; взята {taken} "
                         "(ingest.yaml: total_rule)")
            if rule == "tasks":
                primary = total
    mark = _int_or_none(mark_cell, ctx)
    if mark not in (2, 3, 4, 5):
        mark = vpr_mark(ctx, work, primary)
    return {**base, "class_label": class_label, "absent": False, "primary_score": primary, "mark": mark,
            "journal_mark": journal, **prov}, task_rows


def _check_maxima(ctx: Context, work: dict, tasks: list, sheet) -> None:
    """Once per work: the sum of the header's task maxima against the configured scale maximum.
    On disagreement the file's evidence is kept (`FileLog.maxima`) and said in the report."""
    key = (work["year"], work["subject"], work["grade"])
    if key in ctx.log.maxima or not tasks or any(m >= UNKNOWN_MAX for _, _, m in tasks):
        return
    total = sum(m for _, _, m in tasks)
    parts = "+".join(str(m) for _, _, m in tasks)
    ctx.log.maxima[key] = (total, parts, sheet)
    scale = ctx.meth.vpr_scale(*key)
    if scale is not None and scale.max != total and not scale.carried_over:
        ctx.log.warn(f"лист «{sheet}»: максимум шкалы ВПР {key[0]} «{key[1]}», {key[2]} класс в методике — "
                     f"{scale.max}, а по шапке файла {total} ({parts}); для проверки взят максимум файла. "
                     f"Исправьте vpr_scales.yaml (источник записи: {scale.source or 'не указан'})")


def _int_or_none(value, ctx: Context):
    try:
        return as_int(value, ctx.log)
    except ValueError:
        return None


def frames(vpr_rows: list, task_rows: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    vpr = pd.DataFrame([r for r in vpr_rows if not r.get("_drop")], columns=VPR_COLUMNS + PROVENANCE)
    tasks = pd.DataFrame(task_rows, columns=TASK_COLUMNS)
    return vpr, tasks
