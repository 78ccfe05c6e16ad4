"""Presentation of the ВПР objectivity report: frames with Russian headers, chart data and findings.

Numbers come from the tidy indicators (`objectivity.journal_indicators`); this module only
selects, pools and words them.
"""
from __future__ import annotations

import pandas as pd

from .objectivity import journal_counts, journal_targets
from .report import Finding, Report, fmt_num, fmt_pct

SHARE_IDS = {"vpr_journal_lower": "понизили", "vpr_journal_confirm": "подтвердили", "vpr_journal_higher": "повысили"}


def _entity_rows(rep: Report, level: str | None = None, entity: str | None = None) -> pd.DataFrame:
    ind = rep.indicators
    level = level or rep.scope
    entity = entity or rep.entity_id
    rows = ind[ind["indicator_id"].isin(SHARE_IDS) & (ind["level"] == level) & (ind["entity_id"] == entity)
               & (ind["year"] == rep.year)]
    return rows


def _wide(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    wide = rows.pivot_table(index=keys, columns="indicator_id", values="value", aggfunc="first").rename(columns=SHARE_IDS)
    n = rows[rows["indicator_id"] == "vpr_journal_confirm"].set_index(keys)["denominator"].rename("n")
    return wide.join(n).reset_index()


def journal_shares(rep: Report) -> pd.DataFrame:
    """Shares понизили / подтвердили / повысили of the entity by subject × grade (numbers, for charts)."""
    rows = _entity_rows(rep)
    if rows.empty:
        return pd.DataFrame(columns=["subject", "grade", "понизили", "подтвердили", "повысили", "n"])
    wide = _wide(rows, ["subject", "grade"])
    wide["работа"] = wide["subject"].map(rep.meth.short) + "-" + wide["grade"].astype(str)
    return wide.sort_values(["grade", "subject"]).reset_index(drop=True)


def journal_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """Table 1: the entity's shares by subject × grade vs municipality and region, with the seed 001
    targets; returns the formatted frame and row classes (flagged rows highlighted)."""
    mine = journal_shares(rep)
    if mine.empty:
        return mine, []
    ref_levels = (["municipality", "region"] if rep.scope == "school" else ["region"]) if rep.scope != "region" else []
    refs = {}
    for level in ref_levels:
        entity = rep.municipality_id if level == "municipality" else "region"
        refs[level] = _wide(_entity_rows(rep, level, entity), ["subject", "grade"]).set_index(["subject", "grade"])
    min_n = rep.meth.threshold("small_groups.min_for_share")
    out, classes = [], []
    for r in mine.itertuples(index=False):
        targets = journal_targets(rep.meth, r.subject, r.grade)
        row = {"Предмет": r.subject, "Класс": int(r.grade), "Участников": fmt_num(r.n, 0),
               "Понизили": fmt_pct(r.понизили), "Подтвердили": fmt_pct(r.подтвердили), "Повысили": fmt_pct(r.повысили)}
        for level, frame in refs.items():
            label = "МО" if level == "municipality" else "регион"
            ref = frame.loc[(r.subject, r.grade)] if (r.subject, r.grade) in frame.index else None
            row[f"Подтвердили, {label}"] = fmt_pct(ref["подтвердили"]) if ref is not None else "—"
        row["Цель подтв. (seed 001)"] = f"≥ {targets['confirm']} %" if "confirm" in targets else "—"
        if r.n < min_n:
            verdict, cls = "мало участников", "shnor-small"
        elif "confirm" in targets and r.подтвердили < targets["confirm"]:
            verdict, cls = "ниже цели", "shnor-flag"
        elif targets:
            verdict, cls = "цель достигнута", "shnor-ok"
        else:
            verdict, cls = "", ""
        row["Оценка"] = verdict
        out.append(row)
        classes.append(cls)
    return pd.DataFrame(out), classes


def mark_crosstab(rep: Report) -> pd.DataFrame:
    """ВПР mark × journal mark counts over the entity's participants of the year (all works pooled)."""
    vpr = rep.ds.vpr
    part = vpr[vpr["school_id"].isin(rep.school_ids) & (vpr["year"] == rep.year) & ~vpr["absent"].fillna(False)]
    part = part.dropna(subset=["mark", "journal_mark"])
    table = pd.crosstab(part["mark"].astype(int), part["journal_mark"].astype(int))
    return table.reindex(index=[5, 4, 3, 2], columns=[2, 3, 4, 5], fill_value=0)


def pooled_by_school(rep: Report) -> pd.DataFrame:
    """Municipality / region view: every school's pooled shares over all ВПР works of the year."""
    vpr = rep.ds.vpr
    part = vpr[vpr["school_id"].isin(rep.school_ids) & (vpr["year"] == rep.year)]
    counts = journal_counts(part, by=["school_id"])
    names = rep.school_names()
    min_n = rep.meth.threshold("small_groups.min_for_share")
    region = journal_counts(vpr[vpr["year"] == rep.year], by=["year"]).iloc[0]
    region_lower = 100 * region["lower"] / region["compared"] if region["compared"] else float("nan")
    counts = counts.assign(
        lower=100 * counts["lower"] / counts["compared"], confirm=100 * counts["confirm"] / counts["compared"],
        higher=100 * counts["higher"] / counts["compared"]).sort_values("lower", ascending=False)
    rows, classes = [], []
    for r in counts.itertuples(index=False):
        rows.append({"Школа": names.get(r.school_id, r.school_id), "Код": r.school_id,
                     "Сравнено отметок": fmt_num(r.compared, 0), "Понизили": fmt_pct(r.lower),
                     "Подтвердили": fmt_pct(r.confirm), "Повысили": fmt_pct(r.higher),
                     "Отклонение «понизили» от региона": _pp(r.lower - region_lower)})
        classes.append("shnor-small" if r.compared < min_n else ("shnor-flag" if r.lower - region_lower >= 15 else ""))
    return pd.DataFrame(rows), classes


def _pp(diff) -> str:
    if pd.isna(diff):
        return "—"
    word = "выше" if diff > 0.5 else "ниже" if diff < -0.5 else "на уровне"
    return f"{'+' if diff > 0 else '−' if diff < 0 else ''}{abs(diff):.1f} п.п. ({word})".replace(".", ",", 1)


def findings(rep: Report) -> list[Finding]:
    """Flags of the journal comparison in plain Russian, each with its rule and source."""
    out: list[Finding] = []
    mine = journal_shares(rep)
    min_n = rep.meth.threshold("small_groups.min_for_share")
    confirm_src = rep.meth.source("journal_agreement.confirm_target")
    lower_cut = rep.meth.threshold("objectivity_signs.regional_heuristic_lower")
    higher_cut = rep.meth.threshold("objectivity_signs.regional_heuristic_higher")
    for r in mine.itertuples(index=False):
        work = f"{r.subject}, {int(r.grade)} класс"
        if r.n < min_n:
            continue
        t = journal_targets(rep.meth, r.subject, r.grade)
        if "confirm" in t and r.подтвердили < t["confirm"]:
            out.append(Finding(f"{work}: отметки за ВПР подтвердили {fmt_pct(r.подтвердили)} участников — ниже цели {t['confirm']} %.",
                               rule=f"доля подтвердивших ≥ {t['confirm']} %", source=confirm_src, severity="warning"))
        if r.понизили > lower_cut:
            out.append(Finding(f"{work}: понизили отметку {fmt_pct(r.понизили)} участников — отметки по журналу, вероятно, завышены.",
                               rule=f"«понизили» > {lower_cut} %", source=rep.meth.source("objectivity_signs.regional_heuristic_lower"),
                               severity="flag"))
        if r.повысили > higher_cut:
            out.append(Finding(f"{work}: повысили отметку {fmt_pct(r.повысили)} участников.",
                               rule=f"«повысили» > {higher_cut} %", source=rep.meth.source("objectivity_signs.regional_heuristic_higher"),
                               severity="flag"))
    small = mine[mine["n"] < min_n]
    if len(small):
        out.append(Finding(f"По {len(small)} работам сравнено меньше {min_n} отметок: доли показаны, но выводы по ним не делаются.",
                           rule=f"малые группы: < {min_n} участников", source=rep.meth.source("small_groups.min_for_share")))
    return out


def summary_text(rep: Report) -> str:
    """A short Russian paragraph on what stands out in the comparison with journal marks."""
    mine = journal_shares(rep)
    if mine.empty:
        return "В выбранном году нет результатов ВПР для сравнения с отметками по журналу."
    pooled = mine.assign(lo=mine["понизили"] * mine["n"], co=mine["подтвердили"] * mine["n"], hi=mine["повысили"] * mine["n"])
    n = pooled["n"].sum()
    lo, co, hi = (pooled[c].sum() / n for c in ("lo", "co", "hi"))
    worst = mine[mine["n"] >= rep.meth.threshold("small_groups.min_for_share")].sort_values("понизили", ascending=False).head(1)
    text = (f"В {rep.year} г. сравнено {fmt_num(n, 0)} пар отметок (ВПР и журнал). Подтвердили отметку "
            f"{fmt_pct(co)} участников, понизили — {fmt_pct(lo)}, повысили — {fmt_pct(hi)}.")
    if len(worst):
        w = worst.iloc[0]
        text += (f" Больше всего расхождений в сторону понижения — {w['subject']}, {int(w['grade'])} класс "
                 f"({fmt_pct(w['понизили'])} понизили).")
    if rep.scope != "region":
        reg = _wide(_entity_rows(rep, "region", "region"), ["subject", "grade"])
        if len(reg):
            rn = reg["n"].sum()
            rlo = (reg["понизили"] * reg["n"]).sum() / rn
            diff = lo - rlo
            text += f" По региону понизили {fmt_pct(rlo)}: разница {_pp(diff)}."
    return text
