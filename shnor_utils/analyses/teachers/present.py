"""Presentation of the teacher-deficits report: Russian tables, chart data and findings.

Numbers come from the tidy indicators of `teachers.py`; no teacher is named: every value is an
aggregate of a school, a municipality or the region, and shares over fewer than
`staffing.min_teachers` teachers are shown as «недостаточно данных».
"""
from __future__ import annotations

import pandas as pd

from shnor_utils.analyses.dynamics.compute import catalogue, plan_fact
from shnor_utils.reporting.report import Report
from shnor_utils.reporting.html import Finding, fmt_num, fmt_pct, listed

STAFF_ROWS = [  # (indicator id, label — thresholds as meth.words placeholders, kind: pct | num | load)
    ("staffing_rate", "Укомплектованность ставок", "pct"),
    ("vacancies", "Вакантных должностей", "num"),
    ("specialist_staffing_rate", "Укомплектованность специалистами", "pct"),
    ("teacher_load", "Ставок на учителя", "load"),
    ("teachers_part_time", "Совместители", "pct"),
    ("teachers_no_ped_education", "Без педагогического образования", "pct"),
    ("teachers_category_high", "Высшая категория", "pct"),
    ("teachers_category_first", "Первая категория", "pct"),
    ("teachers_under_35", "Моложе {staffing.young_age_below} лет", "pct"),
    ("teachers_pension_age", "{staffing.pension_age_from} лет и старше", "pct"),
    ("young_specialists", "Молодые специалисты (стаж до {staffing.young_specialist_experience_below} лет)", "pct"),
    ("teacher_turnover", "Текучесть (ушли за год)", "pct"),
]
DEVELOPMENT_ROWS = [
    ("teachers_diagnosed", "Прошли диагностику профессиональных дефицитов"),
    ("teachers_with_iom", "Повышают квалификацию по ИОМ"),
    ("iom_completed_deficit_reduced", "Завершили ИОМ и снизили дефицит"),
    ("teachers_post_course_support", "Охвачены посткурсовым сопровождением"),
    ("teachers_network_mentoring", "В сетевом взаимодействии со школами-наставниками"),
    ("teachers_competence_raised", "Повысили профессиональную компетенцию"),
]
LEVEL_LABEL = {"школа": "Школа", "муниципалитет": "Муниципалитет", "регион": "Регион"}
SUPPRESSED = "недостаточно данных"


def _fmt(row, kind: str, min_n: float) -> str:
    if row is None:
        return "—"
    if kind == "pct" and row["denominator"] is not pd.NA and pd.notna(row["denominator"]) \
            and row["indicator_id"] not in ("staffing_rate", "specialist_staffing_rate") and row["denominator"] < min_n:
        return SUPPRESSED
    if kind == "pct":
        return fmt_pct(row["value"])
    if kind == "load":
        return fmt_num(row["value"], 2)
    return fmt_num(row["value"], 0)


def _levels(rep: Report, indicator: str, subject=None) -> dict:
    """{уровень: row} of the report year (subject None = the total row)."""
    rows = rep.level_rows(indicator, year=rep.year)
    rows = rows[rows["subject"].isna()] if subject is None else rows[rows["subject"] == subject]
    return {r["уровень"]: r for _, r in rows.iterrows()}


def _level_columns(rep: Report) -> list[str]:
    return {"school": ["школа", "муниципалитет", "регион"], "municipality": ["муниципалитет", "регион"],
            "region": ["регион"]}[rep.scope]


def staffing_table(rep: Report) -> pd.DataFrame:
    """Staffing and teacher composition of the entity vs its municipality and the region."""
    min_n = rep.meth.threshold("staffing.min_teachers")
    out = []
    for ind, label, kind in STAFF_ROWS:
        by = _levels(rep, ind)
        if not by:
            continue
        row = {"Показатель": rep.meth.words.format(label)}
        for lv in _level_columns(rep):
            row[LEVEL_LABEL[lv]] = _fmt(by.get(lv), kind, min_n)
        mine = by.get(_level_columns(rep)[0])
        # n of the entity's share (teachers, or posts for the staffing rates); counts have none
        row["n"] = fmt_num(mine["denominator"], 0 if float(mine["denominator"]).is_integer() else 2) \
            if kind == "pct" and mine is not None and pd.notna(mine["denominator"]) else "—"
        out.append(row)
    return pd.DataFrame(out)


def vacancies_by_subject(rep: Report) -> pd.DataFrame:
    """Where teachers are lacking: vacancies by school (or municipality for the region) × subject."""
    level = "municipality" if rep.scope == "region" else "school"
    # a school or municipality report: its schools' rows by the row index, not a scan of the region's table
    ind = rep.indicators if level == "municipality" else rep.rows_of("school", rep.school_ids)
    rows = ind[(ind["indicator_id"] == "vacancies") & (ind["level"] == level) & (ind["year"] == rep.year)
               & ind["subject"].notna() & (ind["value"] > 0)]
    if level == "school":
        rows = rows[rows["entity_id"].isin(rep.school_ids)]
        names = rep.school_names()
    else:
        s = rep.ds.schools.drop_duplicates("municipality_id").set_index("municipality_id")
        names = s["municipality_name"]
    if rows.empty:
        return pd.DataFrame()
    wide = rows.pivot_table(index="entity_id", columns="subject", values="value", aggfunc="sum", fill_value=0)
    wide.insert(0, "Всего", wide.sum(axis=1))
    wide = wide.sort_values("Всего", ascending=False)
    out = wide.map(lambda v: fmt_num(v, 0) if v else "")
    out.insert(0, "Школа" if level == "school" else "Муниципалитет", [names.get(e, e) for e in wide.index])
    return out.reset_index(drop=True)


def specialists_table(rep: Report) -> pd.DataFrame:
    """Staffing of specialist posts (seed 004, programme code I4), with the target that applies to the year."""
    entry = catalogue(rep.meth).get("specialist_staffing_rate", {})
    ind = rep.rows_of(rep.scope, rep.entity_id)
    rows = ind[(ind["indicator_id"] == "specialist_staffing_rate") & (ind["year"] == rep.year)]
    out = []
    for _, r in rows.sort_values("subject", na_position="last").iterrows():
        pf = plan_fact(r["value"], entry, rep.year)
        out.append({"Должность": r["subject"] if pd.notna(r["subject"]) else "Все специалисты",
                    "Ставок по штату": fmt_num(r["denominator"], 2), "Занято": fmt_num(r["numerator"], 2),
                    "Укомплектованность": fmt_pct(r["value"]),
                    "Цель программы": f"{fmt_pct(pf['target'], 0)} ({pf['target_year']} г.)" if pf["target"] is not None else "—",
                    "Отклонение": _gap(pf["gap"])})
    return pd.DataFrame(out)


def _gap(gap) -> str:
    if gap is None or pd.isna(gap):
        return "—"
    return f"{'+' if gap > 0 else '−' if gap < 0 else ''}{abs(gap):.1f}".replace(".", ",") + " п.п."


def deficit_shares(rep: Report) -> pd.DataFrame:
    """Share of diagnosed teachers with a deficit by block and level (numbers, for the chart);
    suppressed groups are left out."""
    min_n = rep.meth.threshold("staffing.min_teachers")
    rows = rep.level_rows("teachers_with_deficit_block", year=rep.year)
    rows = rows[rows["denominator"] >= min_n]
    return rows.assign(блок=rows["subject"], доля=rows["value"].astype("float64"))[["блок", "уровень", "доля"]]


def deficit_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """Per block: diagnosed teachers and the share with a deficit, entity vs municipality and region."""
    min_n = rep.meth.threshold("staffing.min_teachers")
    flag_at = rep.meth.threshold("teacher_deficits.block_share_flag")
    rows = rep.level_rows("teachers_with_deficit_block", year=rep.year)
    total = rep.level_rows("teachers_with_deficit", year=rep.year)
    out, classes = [], []
    for block, group in pd.concat([rows, total.assign(subject="Хотя бы один блок")]).groupby("subject", sort=False):
        by = {r["уровень"]: r for _, r in group.iterrows()}
        mine = by.get(_level_columns(rep)[0])
        row = {"Блок диагностики": block,
               "Продиагностировано": fmt_num(mine["denominator"], 0) if mine is not None else "—"}
        for lv in _level_columns(rep):
            row[LEVEL_LABEL[lv]] = _fmt(by.get(lv), "pct", min_n)
        out.append(row)
        small = mine is None or mine["denominator"] < min_n
        classes.append("shnor-small" if small else ("shnor-flag" if block != "Хотя бы один блок"
                                                     and mine["value"] >= flag_at else ""))
    return pd.DataFrame(out), classes


def development_table(rep: Report) -> pd.DataFrame:
    """Diagnostics, ИОМ, support and competence shares with plan vs fact where a seed sets a target."""
    min_n = rep.meth.threshold("staffing.min_teachers")
    cat = catalogue(rep.meth)
    out = []
    for ind, label in DEVELOPMENT_ROWS:
        by = _levels(rep, ind)
        if not by:
            continue
        row = {"Показатель": label}
        for lv in _level_columns(rep):
            row[LEVEL_LABEL[lv]] = _fmt(by.get(lv), "pct", min_n)
        mine = by.get(_level_columns(rep)[0])
        pf = plan_fact(mine["value"] if mine is not None else None, cat.get(ind, {}), rep.year)
        row["Цель"] = f"{fmt_pct(pf['target'], 0)} ({pf['target_year']} г.)" if pf["target"] is not None else "—"
        suppressed = mine is None or mine["denominator"] < min_n
        row["Отклонение от цели"] = "—" if suppressed else _gap(pf["gap"])
        out.append(row)
    return pd.DataFrame(out)


def schools_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """Municipality / region view: every school's staffing rate, vacancies and deficit share."""
    ind = rep.indicators
    sel = ind[(ind["level"] == "school") & ind["entity_id"].isin(rep.school_ids) & (ind["year"] == rep.year)
              & ind["subject"].isna()]
    wide = sel.pivot_table(index="entity_id", columns="indicator_id", values="value", aggfunc="first")
    den = sel[sel["indicator_id"] == "teachers_with_deficit"].set_index("entity_id")["denominator"]
    names = rep.school_names()
    min_n = rep.meth.threshold("staffing.min_teachers")
    below = rep.meth.threshold("staffing.staffing_rate_below")
    out, classes = [], []
    for sid, r in wide.sort_values("staffing_rate" if "staffing_rate" in wide else wide.columns[0]).iterrows():
        n = den.get(sid)
        deficit = (SUPPRESSED if n is None or pd.isna(n) or n < min_n
                   else f"{fmt_pct(r.get('teachers_with_deficit'))} (n = {fmt_num(n, 0)})")
        out.append({"Школа": names.get(sid, sid), "Код": sid, "Укомплектованность": fmt_pct(r.get("staffing_rate")),
                    "Вакансий": fmt_num(r.get("vacancies"), 0), "Педагоги с дефицитом": deficit})
        classes.append("shnor-flag" if (r.get("vacancies", 0) or 0) > 0 or (r.get("staffing_rate", 100) < below) else "")
    return pd.DataFrame(out), classes


def findings(rep: Report) -> list[Finding]:
    """Vacancies, low staffing, blocks with many deficits, targets missed — each with rule and source."""
    meth, out = rep.meth, []
    cat = catalogue(meth)
    here = rep.rows_of(rep.scope, rep.entity_id)
    here = here[here["year"] == rep.year]
    vac = here[(here["indicator_id"] == "vacancies") & here["subject"].notna() & (here["value"] > 0)]
    total_vac = here[(here["indicator_id"] == "vacancies") & here["subject"].isna()]["value"]
    if len(total_vac) and total_vac.iloc[0] > 0:
        subj = ", ".join(f"{s} ({fmt_num(v, 0)})" for s, v in zip(vac["subject"], vac["value"]))
        out.append(Finding(f"Вакантных должностей: {fmt_num(total_vac.iloc[0], 0)}" + (f"; учителя: {subj}." if subj else "."),
                           rule="вакансий > 0 — сигнал кадрового дефицита", source=cat["vacancies"]["source"],
                           severity="flag"))
    rate = here[(here["indicator_id"] == "staffing_rate") & here["subject"].isna()]
    if len(rate) and rate["flag"].eq("below_target").fillna(False).iloc[0]:
        out.append(Finding(f"Укомплектованность ставок {fmt_pct(rate['value'].iloc[0])} — ниже порога.",
                           rule=f"укомплектованность < {meth.threshold('staffing.staffing_rate_below')} %",
                           source=meth.source("staffing.staffing_rate_below"), severity="warning"))
    spec = here[(here["indicator_id"] == "specialist_staffing_rate") & here["subject"].isna()]
    if len(spec):
        pf = plan_fact(spec["value"].iloc[0], cat["specialist_staffing_rate"], rep.year)
        if pf["met"] is False:
            out.append(Finding(f"Укомплектованность специалистами {fmt_pct(spec['value'].iloc[0])} — ниже цели "
                               f"{fmt_pct(pf['target'], 0)} ({pf['target_year']} г.).",
                               rule="укомплектованность специалистами не ниже цели программы на год", source=cat["specialist_staffing_rate"]["source"],
                               severity="warning"))
    high = here[(here["indicator_id"] == "teachers_with_deficit_block") & (here["flag"] == "high_deficit")]
    for _, r in high.iterrows():
        out.append(Finding(f"Блок «{r['subject']}»: дефицит у {fmt_pct(r['value'])} продиагностированных педагогов.",
                           rule=f"доля педагогов с дефицитом по блоку ≥ {meth.threshold('teacher_deficits.block_share_flag')} %; "
                                f"дефицит — балл ниже {meth.threshold('teacher_deficits.deficit_below')} % от максимума",
                           source=meth.source("teacher_deficits.block_share_flag"), severity="flag"))
    load = here[(here["indicator_id"] == "teacher_load") & (here["flag"] == "overload")]
    if len(load):
        out.append(Finding(f"Средняя нагрузка {fmt_num(load['value'].iloc[0], 2)} ставки на учителя.",
                           rule=f"нагрузка > {meth.threshold('staffing.load_above')} ставки",
                           source=meth.source("staffing.load_above"), severity="warning"))
    if rep.scope != "school":
        ind = rep.rows_of("school", rep.school_ids)
        schools_high = ind[(ind["indicator_id"] == "teachers_with_deficit_block") & (ind["year"] == rep.year)
                           & (ind["flag"] == "high_deficit")]
        if len(schools_high):
            names = rep.school_names()
            where = listed([f"{names.get(s, s)} — {b}" for s, b in zip(schools_high["entity_id"], schools_high["subject"])],
                           "все в книге Excel, лист «Кадры»")
            out.append(Finding(f"Школы с массовым дефицитом по блоку диагностики: {where}.",
                               rule=f"доля педагогов с дефицитом по блоку ≥ {meth.threshold('teacher_deficits.block_share_flag')} %",
                               source=meth.source("teacher_deficits.block_share_flag"), severity="flag"))
    return out


def finding_kinds(rep: Report) -> list[str]:
    """Kinds of the report's findings for «Что делать» (measures.yaml): vacancies or staffing below the
    threshold of the entity; a diagnostic block with mass deficits in the entity or its schools."""
    here = rep.rows_of(rep.scope, rep.entity_id)
    here = here[here["year"] == rep.year]
    kinds = []
    vac = here[(here["indicator_id"] == "vacancies") & here["subject"].isna()]["value"]
    low = here[(here["indicator_id"] == "staffing_rate") & here["subject"].isna()]["flag"].eq("below_target").fillna(False)
    if (len(vac) and vac.iloc[0] > 0) or low.any():
        kinds.append("staffing")
    ind = pd.concat([rep.rows_of(rep.scope, rep.entity_id), rep.rows_of("school", rep.school_ids)])
    scope_rows = ind[(ind["year"] == rep.year) & (ind["indicator_id"] == "teachers_with_deficit_block")]
    if scope_rows["flag"].eq("high_deficit").fillna(False).any():
        kinds.append("teacher_deficits")
    return kinds
