"""The school passport (issue 14, point 2; issue 16, point 2): one A4 page a methodologist can act on.

1. Status under the 30 % rule for the report year with its basis (the low procedures of the two
   previous years, each with its share and n), the official list, the forecast for the next year and
   the school's «на грани» procedures (distance to the trigger, `compute.watch_list`).
2. Official signs: the 0/1 `passport_flags` of every analysis other than the list itself (the three
   signs of non-objectivity, journal-mark inflation), «нет» where absent — no generic dump of flags.
3. 6–10 key indicators against the municipality and the region, with n and the school's interval:
   the procedures of the 30 % rule (share failing), then staffing and teachers' deficits. A row is
   marked only when the school is significantly worse than the region (its interval lies wholly on the
   worse side of the region's value); better or equal is never shown as a warning.
4. At most `MAX_FINDINGS` findings, ordered by severity (flag → warning → info); the rest is one line
   pointing to the detailed reports.
5. Links to the same school's detailed reports (siblings `<template>.html` in output/school/<id>/).

Everything is read from the indicator table and the rule's own functions; words from the methodology.
"""
from __future__ import annotations

import pandas as pd

from shnor_utils.analyses import ALL
from shnor_utils.analyses.dynamics import compute as dynamics
from shnor_utils.analyses.shnor import present as S
from shnor_utils.analyses.shnor.analysis import SPEC
from shnor_utils.reporting.html import Finding, ci_level, display_html, esc, fmt_num, fmt_pct, plural, threshold_text
from shnor_utils.reporting.report import Report
from shnor_utils.data.tables import records

MAX_FINDINGS = 7
MAX_KEY = 10
SEVERITY = {"flag": 0, "warning": 1, "info": 2}
# key indicators after the rule's procedures: (indicator id, filters of the row, lower is better)
KEY_EXTRA = (("staffing_rate", {}, False), ("teachers_with_deficit", {}, True),
             ("no_attestat", {"grade": 9}, True), ("gia_main_pass", {"grade": 9}, False))


# ---- helpers -------------------------------------------------------------------------------------
def _rows(rep: Report, level: str, entity, indicator_id: str, year: int) -> pd.DataFrame:
    """The entity's rows of one indicator and year, through an index of its rows by (indicator, year)
    built once per report (the passport asks for a few hundred such slices)."""
    rows = rep.rows_of(level, entity)
    index = rep.once("rows-by-indicator-year", lambda: rows.groupby(["indicator_id", "year"], sort=False).indices, level, entity)
    pos = index.get((indicator_id, year))
    return rows.iloc[0:0] if pos is None else rows.take(pos)


def _pick(rows: pd.DataFrame, **filters) -> pd.DataFrame:
    for col in ("exam", "subject", "grade"):
        want = filters.get(col)
        rows = rows[rows[col].isna()] if want is None else rows[rows[col] == want]
    return rows


def _n(v) -> str:
    return "—" if v is None or pd.isna(v) else fmt_num(v, 0)


def _where(exam, subject, grade) -> str:
    parts = [exam if pd.notna(exam) else None, subject if pd.notna(subject) else None,
             f"{int(grade)} класс" if pd.notna(grade) and (pd.isna(exam) or exam == "ВПР") else None]
    return ", ".join(p for p in parts if p)


def _flag_value(rep: Report, indicator_id: str, year: int) -> pd.DataFrame:
    """The school's rows of a 0/1 indicator in `year` equal to 1."""
    rows = _rows(rep, "school", rep.entity_id, indicator_id, year)
    return rows[rows["value"] == 1]


# ---- 1. status under the 30 % rule -----------------------------------------------------------------
def status_heading(rep: Report) -> str:
    return f"Статус по правилу {S.rule_share(rep)} %"


def _basis(rep: Report, year: int) -> str:
    """«2025: ЕГЭ Русский язык — 66,7 % (n = 9); 2024: …»: the low procedures behind the list of `year`."""
    low = S._low_procs(rep)
    parts = []
    for y in (year - 1, year - 2):
        mine = low[(low["entity_id"] == rep.entity_id) & (low["year"] == y)]
        if len(mine):
            procs = ", ".join(f"{r.exam} {r.subject}" + (f" {int(r.grade)}" if r.exam == "ВПР" else "")
                              + f" — {fmt_pct(r.value)} (n = {_n(r.denominator)})" for r in records(mine, index=True))
            parts.append(f"{y} г.: {procs}")
    return "; ".join(parts)


def rule_text(rep: Report) -> str:
    """The list rule in words (the catalogue's formula of `shnor`, thresholds filled in)."""
    return rep.meth.words.catalogue("shnor")["formula"]


def status_lines(rep: Report) -> list[str]:
    """The status in sentences: list of the report year and its basis, the official list, the forecast."""
    year = rep.year
    on = len(_flag_value(rep, "shnor", year)) > 0
    lines = []
    if on:
        lines.append(f"Школа в перечне ШНОР на {year} г. Основание — процедуры с низкими результатами: {_basis(rep, year)}.")
    else:
        lines.append(f"Школа не входит в перечень ШНОР на {year} г. по правилу {S.rule_share(rep)} %.")
    off = _rows(rep, "school", rep.entity_id, "shnor_official", year)
    if len(off):
        flag = off["flag"].iloc[0]
        if pd.notna(flag) and flag == "only_official":
            lines.append("В официальном перечне школа есть, хотя правило её не выбирает.")
        elif pd.notna(flag) and flag == "only_computed":
            lines.append("Правило выбирает школу, но в официальном перечне её нет.")
        else:
            lines.append("Официальный перечень с расчётом совпадает.")
    nxt = _rows(rep, "school", rep.entity_id, "shnor", year + 1)
    if len(nxt):
        will = nxt["value"].iloc[0] == 1
        basis = _basis(rep, year + 1)
        lines.append(f"По результатам {year} г. школа {'войдёт' if will else 'не войдёт'} в перечень на {year + 1} г. (прогноз)"
                     + (f": {basis}." if will and basis else "."))
    return lines


def status_note(rep: Report) -> str:
    """The two minimums in one sentence: the rule's own and the one of conclusions on shares."""
    return (f"Процедура оценивается по правилу, если участников не меньше "
            f"{rep.meth.threshold('low_results_rule.min_participants')} (собственный минимум правила); выводы по "
            f"показателям ниже делаются при n не меньше {rep.meth.threshold('small_groups.min_for_share')}.")


STATUS_ROWS = ("Процедур с низкими результатами", "Школа риска", "В перечне ШНОР на год")


def status_table(rep: Report) -> pd.DataFrame:
    """Low procedures, risk school, list status (rows) for the two years before the report year, the
    report year and the forecast year (columns): three short rows, whatever the number of years."""
    summary = S.passport_summary(rep)
    if summary.empty:
        return summary
    keep = summary[summary["Год"].between(rep.year - 2, rep.year + 1)]
    out = {"Показатель": list(STATUS_ROWS)}
    for _, r in keep.iterrows():
        y = int(r["Год"])
        out[f"{y} (прогноз)" if y > rep.year else str(y)] = [r[c] for c in STATUS_ROWS]
    return pd.DataFrame(out)


def watch_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """The school's procedures «на грани» (shnor_selection's watch table for this school)."""
    table, classes = S.watch_table(rep)
    if table.empty:
        return table, classes
    # «До смены статуса» already says whether the procedure is low now («станет» / «перестанет быть низким»);
    # one effect for every row is said once, in the caption (`watch_caption`)
    # participants and failed in one column «k из n»: at most six columns, the key table alone has seven
    drop = ["Школа", "Код", "Статус процедуры", "Участников"] + (["Если статус сменится"] if table["Если статус сменится"].nunique() == 1 else [])
    table = table.assign(**{"Не справились": [f"{f} из {n}" for f, n in zip(table["Не справились"], table["Участников"])]})
    return table.drop(columns=[c for c in drop if c in table]), classes


def watch_caption(rep: Report) -> str:
    """The caption of the «на грани» table, with the one effect of all its rows when they share it."""
    table, _ = S.watch_table(rep)
    effects = table["Если статус сменится"].unique() if len(table) else []
    effect = effects[0] if len(effects) == 1 else ""
    tail = f": при смене статуса любой из них {'школа ' if effect.startswith(('войдёт', 'выйдет')) else ''}{effect}" if effect else ""
    return f"Процедуры «на грани»{tail}"


def watch_note(rep: Report) -> str:
    """The watch rule in words (margins from the methodology), without keys or file names."""
    n = int(rep.meth.threshold("low_results_rule.watch_participants"))
    return (f"«На грани» — до смены статуса процедуры не больше {n} "
            f"{plural(n, 'участника', 'участников', 'участников')} ниже минимума или не больше "
            f"{threshold_text(rep.meth, 'low_results_rule.watch_pp')} п.п. до порога; выделены те, что изменят перечень.")


# ---- 2. official signs -----------------------------------------------------------------------------
def sign_ids() -> list[str]:
    """0/1 school indicators the passport states: every analysis's `passport_flags` except the list's own."""
    return [f for a in ALL for f in a.passport_flags if f not in SPEC.passport_flags]


def signs_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """One row per sign: «нет», or «есть: » and where (work, n) in the report year."""
    rows, classes = [], []
    for sid in sign_ids():
        hit = _flag_value(rep, sid, rep.year)
        where = "; ".join(filter(None, (_where(r.exam, r.subject, r.grade) + (f" (n = {_n(r.denominator)})" if pd.notna(r.denominator) else "")
                                        for r in records(hit, index=True)))) if len(hit) else ""
        rows.append({"Признак": rep.meth.words.name(sid),
                     f"{rep.year}\u00a0г.": f"есть: {where or 'школа в целом'}" if len(hit) else "нет"})
        classes.append("shnor-flag" if len(hit) else "")
    return pd.DataFrame(rows), classes


# ---- 3. key indicators --------------------------------------------------------------------------------
def _verdict(rep: Report, row, region_value, lower_better: bool) -> str:
    if row.indicator_id == "shnor_fail_share" and pd.notna(row.flag) and row.flag == "low_result":
        return f"низкий результат (правило {S.rule_share(rep)} %)"   # the rule's own minimum applies here
    min_n = rep.meth.threshold("small_groups.min_for_share")
    if pd.isna(row.denominator) or row.denominator < min_n:
        return f"без вывода: n < {min_n}"
    if pd.isna(row.ci_low) or pd.isna(region_value):
        return "—"
    worse = row.ci_low > region_value if lower_better else row.ci_high < region_value
    better = row.ci_high < region_value if lower_better else row.ci_low > region_value
    return "хуже региона" if worse else ("лучше региона" if better else "на уровне региона")


def key_items(rep: Report) -> list[tuple[str, dict, bool, str]]:
    """(indicator id, filters, lower is better, label) of the key indicators present for the school:
    the rule's procedures first, then `KEY_EXTRA`; at most `MAX_KEY`."""
    items = []
    fail = _rows(rep, "school", rep.entity_id, "shnor_fail_share", rep.year)
    for r in records(fail.sort_values(["exam", "grade", "subject"], key=lambda c: c.astype(str)), index=True):
        label = f"Не справились: {_where(r.exam, r.subject, r.grade)}"
        items.append(("shnor_fail_share", {"exam": r.exam, "subject": r.subject, "grade": r.grade}, True, label))
    for iid, filters, lower in KEY_EXTRA:
        rows = _pick(_rows(rep, "school", rep.entity_id, iid, rep.year), **filters)
        if len(rows):
            name = rep.meth.words.catalogue(iid)["name"] if iid in dynamics.catalogue(rep.meth) else rep.meth.words.name(iid)
            grade = filters.get("grade")
            items.append((iid, filters, lower, name + (f" ({grade} класс)" if grade else "")))
    return items[:MAX_KEY]


def key_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """The key indicators: school (n, interval), municipality, region, and the verdict against the region."""
    level = ci_level(rep.meth.threshold("objectivity_signs.z"))
    rows, classes = [], []
    for iid, filters, lower, label in key_items(rep):
        mine = _pick(_rows(rep, "school", rep.entity_id, iid, rep.year), **filters).iloc[0]
        mun = _pick(_rows(rep, "municipality", rep.municipality_id, iid, rep.year), **filters)
        reg = _pick(_rows(rep, "region", "region", iid, rep.year), **filters)
        reg_value = reg["value"].iloc[0] if len(reg) else float("nan")
        verdict = _verdict(rep, mine, reg_value, lower)
        rows.append({"Показатель": label, "Школа": fmt_pct(mine.value), "n": _n(mine.denominator),
                     f"Интервал {level} %": (f"{fmt_num(mine.ci_low, 1)}–{fmt_pct(mine.ci_high)}" if pd.notna(mine.ci_low) else "—"),
                     "Муниципалитет": fmt_pct(mun["value"].iloc[0]) if len(mun) else "—",
                     "Регион": fmt_pct(reg_value), "Сравнение с регионом": verdict})
        classes.append("shnor-flag" if verdict == "хуже региона" or verdict.startswith("низкий") else "")
    return pd.DataFrame(rows), classes


# ---- 4. findings -------------------------------------------------------------------------------------
def findings(rep: Report) -> list[Finding]:
    """At most MAX_FINDINGS, most severe first (the list status first of all)."""
    src = rep.meth.source("low_results_rule.share_failed")
    year = rep.year
    out: list[Finding] = []
    if len(_flag_value(rep, "shnor", year)):
        out.append(Finding(f"Школа в перечне ШНОР на {year} г.: {_basis(rep, year)}.", rule=rule_text(rep),
                           source=src, severity="flag"))
    elif len(_flag_value(rep, "risk_school", year)):
        out.append(Finding(f"Школа риска в {year} г.: низкие результаты хотя бы по одной процедуре правила.",
                           rule=rep.meth.words.name("risk_school"), source=src, severity="flag"))
    for sid in sign_ids():
        hit = _flag_value(rep, sid, year)
        if len(hit):
            where = "; ".join(filter(None, (_where(r.exam, r.subject, r.grade) for r in records(hit, index=True))))
            name = rep.meth.words.name(sid)
            out.append(Finding(f"{name[:1].upper()}{name[1:]}" + (f": {where}" if where else "") + ".",
                               rule=f"признак за {year} г.; подробности — в отчёте «Объективность ВПР»",
                               source=rep.meth.source("objectivity_signs.z"), severity="flag"))
    nxt = _rows(rep, "school", rep.entity_id, "shnor", year + 1)
    now_on = len(_flag_value(rep, "shnor", year)) > 0
    if len(nxt) and (nxt["value"].iloc[0] == 1) != now_on:
        will = nxt["value"].iloc[0] == 1
        out.append(Finding(f"По результатам {year} г. школа {'войдёт в' if will else 'выйдет из'} перечень на {year + 1} г. (прогноз).",
                           rule=rule_text(rep), source=src, severity="warning"))
    table, classes = S.watch_table(rep)
    moving = table[[c == "shnor-flag" for c in classes]] if len(table) else table
    if len(moving):
        # flips of one school all go one way: it is listed for next year (and would leave) or not (and would enter)
        effect = moving["Если статус сменится"].iloc[0]
        k = len(moving)      # which ones and how far: the «на грани» table, with the rule under it
        out.append(Finding(f"На грани правила {S.rule_share(rep)} %: школа {effect}, если сменится статус "
                           + (f"процедуры {moving['Процедура'].iloc[0]}" if k == 1 else
                              f"любой из {k} {plural(k, 'процедуры', 'процедур', 'процедур')}")
                           + " (таблица «Процедуры на грани» в разделе «Статус»).",
                           source=src, severity="warning"))
    key, key_classes = key_table(rep)
    worse = key[key["Сравнение с регионом"] == "хуже региона"] if len(key) else key
    if len(worse):      # one line for all of them: the rows are highlighted in the key-indicator table too
        items = "; ".join(f"{r['Показатель']} — {r['Школа']} (n = {r['n']})" for _, r in worse.iterrows())
        many = len(worse) > 1
        out.append(Finding(f"Значимо хуже региона{' — ' + str(len(worse)) + ' ' + plural(len(worse), 'показатель', 'показателя', 'показателей') if many else ''}: "
                           f"{items}.",
                           rule="интервал школы целиком хуже значения региона (таблица «Ключевые показатели»)",
                           severity="warning"))
    va = _rows(rep, "school", rep.entity_id, "value_added", year)
    if len(va) and pd.notna(va["flag"].iloc[0]) and va["flag"].iloc[0] == "below_expected":
        out.append(Finding(f"Результат ниже ожидаемого при таких условиях на {fmt_num(-va['value'].iloc[0], 1)} п.п.",
                           rule=rep.meth.words.flag("below_expected"), source=rep.meth.source("context.index_bands"),
                           severity="warning"))
    neg = rep.rows_of("school", rep.entity_id)
    neg = neg[neg["indicator_id"].str.endswith("_dd").fillna(False).astype(bool) & (neg["year"] == year).astype(bool)
              & neg["flag"].eq("negative").fillna(False).astype(bool)]
    if len(neg):
        k = len(neg)
        out.append(Finding(f"{k} {plural(k, 'показатель', 'показателя', 'показателей')} с существенной отрицательной "
                           f"динамикой за год (отчёт «Динамика показателей»).",
                           rule="изменение больше допуска и вне интервала случайных колебаний",
                           source=rep.meth.source("dynamics.tolerance_pp"), severity="info"))
    out.sort(key=lambda f: SEVERITY.get(f.severity, 3))
    if len(out) > MAX_FINDINGS:
        rest = len(out) - (MAX_FINDINGS - 1)
        out = out[:MAX_FINDINGS - 1] + [Finding(f"И ещё {rest} {plural(rest, 'замечание', 'замечания', 'замечаний')} — "
                                                f"в подробных отчётах школы (ссылки ниже).", severity="info")]
    return out


# ---- 5. links -----------------------------------------------------------------------------------------
def links(rep: Report) -> list[tuple[str, str]]:
    """The school's detailed reports (same folder), the municipality's reports and the index."""
    return [*S.passport_links(rep), ("Все отчёты региона (оглавление)", "../../index.html")]


def show_links(rep: Report) -> None:
    """«Подробные отчёты»: the links with their heading in one block (`shnor-links`), which the
    printed page leaves out — there is nothing to follow on paper."""
    items = "".join(f'<li><a href="{esc(href)}">{esc(title)}</a></li>' for title, href in links(rep))
    display_html(f'<div class="shnor-links"><h2>Подробные отчёты</h2><ul>{items}</ul></div>')
