"""Presentation of the ГИА results report: Russian tables, chart data and findings.

Numbers come from the tidy indicators (`gia.gia_indicators`); this module only selects and words
them. A school report shows that school, its municipality and the region (aggregates only).
"""
from __future__ import annotations

import pandas as pd

from shnor_utils.analyses.gia.compute import plan_vs_fact
from shnor_utils.indicators.privacy import hidden
from shnor_utils.reporting.report import Report
from shnor_utils.reporting.html import Finding, ci_level, fmt_num, fmt_pct, small_groups_finding, threshold_text
from shnor_utils.data.tables import records

LEVEL_LABEL = {"school": "школа", "municipality": "муниципалитет", "region": "регион"}


def pp_diff(diff, tolerance: float, unit: str = "п.п.") -> str:
    """Signed difference with its wording: «+3,2 п.п. (выше)», «−0,4 п.п. (на уровне)»."""
    if diff is None or pd.isna(diff):
        return "—"
    word = "выше" if diff > tolerance else "ниже" if diff < -tolerance else "на уровне"
    sign = "+" if diff > 0 else "−" if diff < 0 else ""
    return f"{sign}{abs(diff):.1f}".replace(".", ",") + f" {unit} ({word})"


def _is_low(flag) -> bool:
    return not pd.isna(flag) and flag == "low_result"


def _rule(rep: Report) -> str:
    """«≥ 30 % ниже минимума»: a low result by the Rosobrnadzor rule (low_results_rule.share_failed)."""
    return f"≥ {threshold_text(rep.meth, 'low_results_rule.share_failed')} % ниже минимума"


def _wilson_rule(rep: Report) -> str:
    return (f"нижняя граница {ci_level(rep.meth.threshold('objectivity_signs.z'))} % доверительного интервала Уилсона "
            f"выше значения по региону")


def _tol(rep: Report) -> float:
    return rep.meth.threshold("gia.level_tolerance_pp")


def _rows(rep: Report, indicator_id: str, level: str, entity: str, year: int | None = None) -> pd.DataFrame:
    ind = rep.rows_of(level, entity)   # the entity's rows by the row index, not a scan of the region's table
    year = rep.year if year is None else year
    return ind[(ind["indicator_id"] == indicator_id) & (ind["year"] == year)]


def _refs(rep: Report) -> list[tuple[str, str, str]]:
    """(level, entity, short label) of the comparison levels of the report's scope."""
    out = []
    if rep.scope == "school":
        out.append(("municipality", rep.municipality_id, "МО"))
    if rep.scope != "region":
        out.append(("region", "region", "регион"))
    return out


def _keyed(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return rows.set_index(keys)[["value", "denominator", "flag"]]


def small_group_note(rep: Report) -> str:
    """Note under the results tables: the one small-group rule, and the official 30 % rule's own minimum."""
    return (f"Строки с числом участников меньше {threshold_text(rep.meth, 'small_groups.min_for_share')} показаны серым: "
            f"выводы по ним не делаются (правило малых групп). Исключение — официальное правило "
            f"{threshold_text(rep.meth, 'low_results_rule.share_failed')} %: у него свой минимум — "
            f"{threshold_text(rep.meth, 'low_results_rule.min_participants')} участников, поэтому низкий результат по нему "
            f"отмечается и в малой группе.")


def results_table(rep: Report, exam: str) -> tuple[pd.DataFrame, list]:
    """Main period, first attempt, by subject: participants, % below the minimum with the signed
    difference from the municipality and region, успеваемость, качество, mean score and mark (ОГЭ/ГВЭ),
    high scores and 100-point results (ЕГЭ)."""
    keys = ["subject", "grade"]
    below = _rows(rep, "gia_below_min", rep.scope, rep.entity_id)
    below = below[below["exam"] == exam].sort_values("subject")
    if below.empty:
        return pd.DataFrame(), []
    tol, min_n = _tol(rep), rep.meth.threshold("small_groups.min_for_share")

    def other(indicator, level=rep.scope, entity=rep.entity_id):
        r = _rows(rep, indicator, level, entity)
        return _keyed(r[r["exam"] == exam], keys)

    parts = {i: other(i) for i in ("gia_success", "gia_quality", "gia_mean_score", "gia_mean_mark", "ege_high_score", "ege_score_100")}
    refs = {label: other("gia_below_min", level, entity) for level, entity, label in _refs(rep)}
    out, classes = [], []
    for r in records(below):
        k = (r.subject, r.grade)

        def val(i):
            return parts[i]["value"].get(k) if k in parts[i].index else None
        below_word = "% «2»" if exam != "ЕГЭ" else "% ниже мин."
        row = {"Предмет": r.subject, "Участников": fmt_num(r.denominator, 0), below_word: fmt_pct(r.value)}
        for label, ref in refs.items():
            row[f"Разница с {'МО' if label == 'МО' else 'регионом'}"] = (
                pp_diff(r.value - ref["value"][k], tol) if k in ref.index else "—")
        row["Успеваемость"] = fmt_pct(val("gia_success"))
        if exam != "ЕГЭ" or "базовая" in str(r.subject):
            row["Качество"] = fmt_pct(val("gia_quality"))
            row["Средняя отметка"] = fmt_num(val("gia_mean_mark"), 2)
        else:
            row["Качество"] = "—"
            row["Средняя отметка"] = "—"
        row["Средний балл"] = fmt_num(val("gia_mean_score"), 1)
        if exam == "ЕГЭ":
            row["Высокие баллы"] = fmt_pct(val("ege_high_score")) if val("ege_high_score") is not None else "—"
            row[f"{threshold_text(rep.meth, 'gia.high_score_max')} баллов"] = fmt_num(val("ege_score_100"), 0) if val("ege_score_100") is not None else "—"
        low, small = _is_low(r.flag), r.denominator < min_n
        row["Оценка"] = (_rule(rep) + (f" (правило {threshold_text(rep.meth, 'low_results_rule.share_failed')} % "
                                       f"действует с {threshold_text(rep.meth, 'low_results_rule.min_participants')} участников)"
                                       if small else "")
                         if low else ("мало участников: выводы не делаются" if small else ""))
        out.append(row)
        classes.append("shnor-flag" if low else "shnor-small" if small else "")
    return pd.DataFrame(out), classes


def retakes_table(rep: Report) -> pd.DataFrame:
    """Below the minimum: main period (first attempt), retake sittings, and after all sittings."""
    main = _rows(rep, "gia_below_min", rep.scope, rep.entity_id)
    if main.empty:
        return pd.DataFrame()
    keys = ["exam", "subject", "grade"]
    retake = _keyed(_rows(rep, "gia_below_min_retake", rep.scope, rep.entity_id), keys)
    final = _keyed(_rows(rep, "gia_below_min_final", rep.scope, rep.entity_id), keys)
    out = []
    for r in records(main.sort_values(["exam", "subject"], ascending=[False, True])):
        k = (r.exam, r.subject, r.grade)
        if k not in retake.index:
            continue
        out.append({"Экзамен": r.exam, "Предмет": r.subject,
                    "Основной период: ниже минимума": f"{fmt_pct(r.value)} из {fmt_num(r.denominator, 0)}",
                    "Пересдачи: ниже минимума": f"{fmt_pct(retake['value'][k])} из {fmt_num(retake['denominator'][k], 0)}",
                    "Итог года: ниже минимума": fmt_pct(final["value"][k]) if k in final.index else "—"})
    return pd.DataFrame(out)


GRADUATE_ROWS = [  # (indicator, grade, Russian name — thresholds as meth.words placeholders, lower is better)
    ("no_attestat", 9, "Без аттестата, 9 класс", True),
    ("no_attestat", 11, "Без аттестата, 11 класс", True),
    ("gia_main_pass", 9, "Прошли ГИА-9 в основной период", False),
    ("gia_main_pass", 11, "Прошли ГИА-11 в основной период", False),
    ("ege_sum3_220", 11, "ЕГЭ: сумма трёх предметов ≥ {gia.sum3_threshold}", False),
    ("ege_medal_elective", 11, "Медалисты с ≥ {gia.medal_elective_min} баллами по предмету по выбору", False),
    ("gia_main_pass_nsu", None, "Школы НСУ: прошли ГИА в основной период", False),
]


def graduates_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """Graduates' indicators of the entity with the municipality and region and the difference."""
    tol, min_n = _tol(rep), rep.meth.threshold("small_groups.min_for_share")
    out, classes = [], []
    for indicator, grade, name, lower_better in GRADUATE_ROWS:
        def pick(level, entity):
            r = _rows(rep, indicator, level, entity)
            if grade is not None and indicator != "gia_main_pass_nsu":
                r = r[r["grade"] == grade]
            return r.iloc[0] if len(r) else None
        mine = pick(rep.scope, rep.entity_id)
        if mine is None:
            continue
        row = {"Показатель": rep.meth.words.format(name), "Выпускников": fmt_num(mine["denominator"], 0), "Значение": fmt_pct(mine["value"])}
        for level, entity, label in _refs(rep):
            ref = pick(level, entity)
            row[label] = fmt_pct(ref["value"]) if ref is not None else "—"
            row[f"Разница с {'МО' if label == 'МО' else 'регионом'}"] = pp_diff(mine["value"] - ref["value"], tol) if ref is not None else "—"
        out.append(row)
        classes.append("shnor-small" if mine["denominator"] < min_n else "")
    return pd.DataFrame(out), classes


def targets_table(rep: Report, baseline_year: int | None = None) -> tuple[pd.DataFrame, list]:
    """Seed targets (Tomsk C10a–C10d, Kirensky I2): baseline, plan, fact, gap, status, source."""
    t = plan_vs_fact(rep.rows_of(rep.scope, rep.entity_id), rep.meth, rep.scope, rep.entity_id, rep.year, baseline_year)
    out, classes = [], []
    for r in records(t):
        out.append({"Показатель": r.name, "Базовое значение": f"{fmt_pct(r.baseline)} ({r.baseline_year})",
                    "План": fmt_pct(r.plan) + (f" ({r.rule})" if r.rule else ""), f"Факт {rep.year}": fmt_pct(r.fact),
                    "Отклонение": pp_diff(r.gap, 0.0), "Статус": r.status})
        classes.append({"достигнута": "shnor-ok", "не достигнута": "shnor-flag"}.get(r.status, "shnor-small"))
    return pd.DataFrame(out), classes


def _pooled_mandatory(rep: Report, level: str) -> pd.DataFrame:
    """Per entity of `level`: results below the minimum over the mandatory subjects (ОГЭ and ЕГЭ, both
    mathematics levels), main period: numerator, denominator, value."""
    ind = rep.indicators
    mandatory = rep.meth.threshold("gia.mandatory_subjects")
    rows = ind[(ind["indicator_id"] == "gia_below_min") & (ind["level"] == level) & (ind["year"] == rep.year)]
    base = rows["subject"].str.replace(r" \((базовая|профильная)\)$", "", regex=True)
    rows = rows[base.isin(mandatory)]
    seen = rows[~hidden(rows)]   # a hidden small group enters no sum; an entity of hidden groups only has no value
    pooled = seen.groupby("entity_id")[["numerator", "denominator"]].sum().reindex(rows["entity_id"].unique())
    pooled["value"] = 100 * pooled["numerator"] / pooled["denominator"]
    pooled["denominator"] = pooled["denominator"].fillna(rows.groupby("entity_id")["denominator"].sum())
    pooled["low"] = rows.assign(low=rows["flag"].eq("low_result").fillna(False)).groupby("entity_id")["low"].sum()
    return pooled


def ranking_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """Municipality report: its schools; region report: municipalities. Ranked by the share of
    results below the minimum in the mandatory subjects (main period); small groups are listed
    after the ranked ones with «мало участников» and no rank."""
    level = "school" if rep.scope == "municipality" else "municipality"
    pooled = _pooled_mandatory(rep, level)
    if level == "school":
        pooled = pooled[pooled.index.isin(rep.school_ids)]
        names = rep.school_names()
    else:
        names = rep.ds.schools.drop_duplicates("municipality_id").set_index("municipality_id")["municipality_name"]
    ref_level, ref_entity = ("municipality", rep.municipality_id) if rep.scope == "municipality" else ("region", "region")
    ref = _pooled_mandatory(rep, ref_level)
    ref_value = ref["value"].get(ref_entity)
    ind = rep.indicators
    no_att = ind[(ind["indicator_id"] == "no_attestat") & (ind["level"] == level) & (ind["year"] == rep.year)
                 & (ind["grade"] == 9)].set_index("entity_id")["value"]
    min_n, tol = rep.meth.threshold("small_groups.min_for_share"), _tol(rep)
    pooled = pooled.assign(small=pooled["denominator"] < min_n).sort_values(["small", "value"], ascending=[True, False])
    out, classes, rank = [], [], 0
    for entity, r in pooled.iterrows():
        rank += 0 if r["small"] else 1
        out.append({"Место": "—" if r["small"] else rank, ("Школа" if level == "school" else "Муниципалитет"): names.get(entity, entity),
                    "Результатов (РУ, МА)": fmt_num(r["denominator"], 0), "Ниже минимума": fmt_pct(r["value"]),
                    f"Разница с {'МО' if rep.scope == 'municipality' else 'регионом'}": pp_diff(r["value"] - ref_value, tol),
                    f"Процедур с {_rule(rep)}": fmt_num(r["low"], 0),
                    "Без аттестата (9 кл.)": fmt_pct(no_att.get(entity)),
                    "Примечание": "мало участников: место не присваивается" if r["small"] else ""})
        classes.append("shnor-small" if r["small"] else ("shnor-flag" if r["low"] > 0 else ""))
    return pd.DataFrame(out), classes


def dynamics(rep: Report, indicator_id: str, **filters) -> pd.DataFrame:
    """Multi-year series of the entity, its municipality and the region (year, value, уровень)."""
    rows = rep.level_rows(indicator_id, **filters)
    return rows[["year", "value", "уровень"]].sort_values("year").reset_index(drop=True)


def findings(rep: Report, baseline_year: int | None = None) -> list[Finding]:
    """«На что обратить внимание»: low results by the 30 % rule, shares significantly worse than the
    region (the Wilson interval lies wholly above it), missed seed targets; small groups never flagged."""
    out: list[Finding] = []
    min_n = rep.meth.threshold("small_groups.min_for_share")
    below = _rows(rep, "gia_below_min", rep.scope, rep.entity_id)
    region = _keyed(_rows(rep, "gia_below_min", "region", "region"), ["exam", "subject", "grade"])
    for r in records(below.sort_values(["exam", "subject"])):
        what = f"{r.exam}, {r.subject}"
        if _is_low(r.flag):
            out.append(Finding(f"{what}: ниже минимального порога {fmt_pct(r.value)} участников, n = {fmt_num(r.denominator, 0)} "
                               f"(основной период, первая попытка).",
                               rule=f"не менее {threshold_text(rep.meth, 'low_results_rule.share_failed')} % участников не преодолели "
                                    f"минимальный порог; официальное правило применяется при числе участников не меньше "
                                    f"{threshold_text(rep.meth, 'low_results_rule.min_participants')} — это его собственный минимум",
                               source=rep.meth.source("low_results_rule.share_failed"), severity="flag"))
        elif (rep.scope != "region" and r.denominator >= min_n and (r.exam, r.subject, r.grade) in region.index
              and r.ci_low > region["value"][(r.exam, r.subject, r.grade)]):
            out.append(Finding(f"{what}: доля результатов ниже минимума {fmt_pct(r.value)} (n = {fmt_num(r.denominator, 0)}) — значимо выше, чем по региону "
                               f"({fmt_pct(region['value'][(r.exam, r.subject, r.grade)])}).",
                               rule=_wilson_rule(rep),
                               source="интервал Уилсона (Wilson, 1927), METHODOLOGY.md §2", severity="warning"))
    if rep.scope != "region":
        for grade in (9, 11):
            mine = _rows(rep, "no_attestat", rep.scope, rep.entity_id)
            mine = mine[mine["grade"] == grade]
            reg = _rows(rep, "no_attestat", "region", "region")
            reg = reg[reg["grade"] == grade]
            if len(mine) and len(reg) and mine["denominator"].iloc[0] >= min_n and mine["ci_low"].iloc[0] > reg["value"].iloc[0]:
                out.append(Finding(f"Без аттестата — {fmt_pct(mine['value'].iloc[0])} выпускников {grade} класса, "
                                   f"n = {fmt_num(mine['denominator'].iloc[0], 0)} "
                                   f"(по региону {fmt_pct(reg['value'].iloc[0])}).",
                                   rule=_wilson_rule(rep),
                                   source="интервал Уилсона, METHODOLOGY.md §2", severity="warning"))
    targets = plan_vs_fact(rep.rows_of(rep.scope, rep.entity_id), rep.meth, rep.scope, rep.entity_id, rep.year, baseline_year)
    for t in records(targets[targets["status"] == "не достигнута"]):
        if t.n < min_n:
            continue
        out.append(Finding(f"Цель «{t.name}» не достигнута: факт {fmt_pct(t.fact)} (n = {fmt_num(t.n, 0)}), план {fmt_pct(t.plan)}.",
                           rule=f"план — {t.rule or 'значение программы на год'}", source=t.source, severity="warning"))
    # the one small-group rule: rows judged by the official 30 % rule keep its own minimum and are not counted here
    small = small_groups_finding(rep.meth, int(((below["denominator"] < min_n) & ~below["flag"].map(_is_low).astype(bool)).sum()),
                                 "предметам")
    return out + ([small] if small else [])


def summary_text(rep: Report) -> str:
    """A short Russian paragraph: participants and results below the minimum in the main period."""
    below = _rows(rep, "gia_below_min", rep.scope, rep.entity_id)
    if below.empty:
        return f"В {rep.year} г. нет результатов ГИА для выбранного объекта."
    parts = []
    for exam in ("ОГЭ", "ЕГЭ", "ГВЭ"):
        e = below[below["exam"] == exam]
        if len(e):
            seen = e[~hidden(e)]   # a hidden small group enters no sum
            share = 100 * seen["numerator"].sum() / seen["denominator"].sum() if seen["denominator"].sum() else None
            parts.append(f"{exam}: {fmt_num(e['denominator'].sum(), 0)} результатов по {len(e)} предметам, "
                         f"ниже минимального порога — {fmt_pct(share)}")
    return (f"В {rep.year} г. (основной период, первая попытка) " + "; ".join(parts) +
            ". Пересдачи и резервные дни учитываются отдельно.")


DYNAMICS = [  # (indicator, filters, title of the multi-year chart — thresholds as meth.words placeholders)
    ("gia_below_min", {"exam": "ОГЭ", "subject": "Математика"}, "ОГЭ, математика: доля «2» (основной период)"),
    ("gia_below_min", {"exam": "ОГЭ", "subject": "Русский язык"}, "ОГЭ, русский язык: доля «2» (основной период)"),
    ("gia_below_min", {"exam": "ЕГЭ", "subject": "Русский язык"}, "ЕГЭ, русский язык: доля ниже минимального балла"),
    ("ege_sum3_220", {}, "ЕГЭ: доля выпускников с суммой трёх предметов ≥ {gia.sum3_threshold}"),
    ("no_attestat", {"grade": 9}, "Доля выпускников 9 классов без аттестата"),
]


def dynamics_series(rep: Report) -> list[tuple[pd.DataFrame, str]]:
    """The multi-year series shown as charts: those with the entity's own values in ≥ 2 years."""
    out = []
    for indicator, filters, title in DYNAMICS:
        frame = dynamics(rep, indicator, **filters)
        own = frame[frame["уровень"] == LEVEL_LABEL[rep.scope]]
        if own["year"].nunique() >= 2:
            out.append((frame, rep.meth.words.format(title)))
    return out


def finding_kinds(rep: Report) -> list[str]:
    """Kinds of the report's findings for «Что делать» (measures.yaml): a low result by the 30 % rule;
    a share below the minimum significantly above the region (groups of at least small_groups.min_for_share)."""
    below = _rows(rep, "gia_below_min", rep.scope, rep.entity_id)
    kinds = []
    if any(map(_is_low, below["flag"])):          # (an empty string column maps to strings: no .any())
        kinds.append("low_results")
    if rep.scope != "region":
        region = _keyed(_rows(rep, "gia_below_min", "region", "region"), ["exam", "subject", "grade"])
        min_n = rep.meth.threshold("small_groups.min_for_share")
        for r in records(below):
            k = (r.exam, r.subject, r.grade)
            if not _is_low(r.flag) and r.denominator >= min_n and k in region.index and r.ci_low > region["value"][k]:
                kinds.append("below_minimum")
                break
    return kinds
