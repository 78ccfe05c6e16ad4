"""Presentation of the ВПР objectivity report: frames with Russian headers, chart data and findings.

Numbers come from the tidy indicators (`objectivity.journal_indicators`); this module only
selects, pools and words them.
"""
from __future__ import annotations

import pandas as pd

from shnor_utils.analyses import aggregates as A
from shnor_utils.analyses.objectivity.compute import journal_counts, journal_targets, target_categories
from shnor_utils.reporting.report import Report
from shnor_utils.indicators.privacy import too_small
from shnor_utils.reporting.html import (FINDING_LISTED, HIDDEN, Finding, ci_level, fmt_num, fmt_pct, listed, plural,
                                        small_groups_finding)

SHARE_IDS = {"vpr_journal_lower": "понизили", "vpr_journal_confirm": "подтвердили", "vpr_journal_higher": "повысили"}


def _entity_rows(rep: Report, level: str | None = None, entity: str | None = None) -> pd.DataFrame:
    ind = rep.rows_of(level or rep.scope, entity or rep.entity_id)
    return ind[ind["indicator_id"].isin(SHARE_IDS) & (ind["year"] == rep.year)]


def _wide(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    wide = rows.pivot_table(index=keys, columns="indicator_id", values="value", aggfunc="first").rename(columns=SHARE_IDS)
    n = rows[rows["indicator_id"] == "vpr_journal_confirm"].set_index(keys)["denominator"].rename("n")
    # a hidden small group (indicators/privacy.py) has no values: its row stays, with NA shares
    wide = n.to_frame().join(wide.reindex(columns=list(SHARE_IDS.values())), how="left")
    return wide[[*SHARE_IDS.values(), "n"]].reset_index()


TARGET_ID = "vpr_journal_confirm_target"


def journal_shares(rep: Report) -> pd.DataFrame:
    """Shares понизили / подтвердили / повысили of the entity by subject × grade (numbers, for charts),
    and `цель_доля`: the seed 001 target share (confirm, or confirm + higher where the seed says
    «не ниже, чем в журнале»; journal_agreement.confirm_counts). Computed once per report."""
    return rep.once("journal-shares", lambda: _journal_shares(rep))


def _journal_shares(rep: Report) -> pd.DataFrame:
    rows = _entity_rows(rep)
    if rows.empty:
        return pd.DataFrame(columns=["subject", "grade", "понизили", "подтвердили", "повысили", "n", "цель_доля"])
    wide = _wide(rows, ["subject", "grade"])
    ind = rep.rows_of(rep.scope, rep.entity_id)
    target = ind[(ind["indicator_id"] == TARGET_ID) & (ind["year"] == rep.year)][["subject", "grade", "value"]].rename(columns={"value": "цель_доля"})
    wide = wide.merge(target, on=["subject", "grade"], how="left")
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
    for r in records(mine):
        targets = journal_targets(rep.meth, r.subject, r.grade)
        row = {"Предмет": r.subject, "Класс": int(r.grade), "Участников": fmt_num(r.n, 0),
               "Понизили": fmt_pct(r.понизили), "Подтвердили": fmt_pct(r.подтвердили), "Повысили": fmt_pct(r.повысили)}
        for level, frame in refs.items():
            label = "МО" if level == "municipality" else "регион"
            ref = frame.loc[(r.subject, r.grade)] if (r.subject, r.grade) in frame.index else None
            row[f"Подтвердили, {label}"] = fmt_pct(ref["подтвердили"]) if ref is not None else "—"
        row["Подтвердили в смысле цели"] = fmt_pct(r.цель_доля) if "confirm" in targets else "—"
        row["Цель (seed 001)"] = f"≥ {targets['confirm']} %" if "confirm" in targets else "—"
        if r.n < min_n:
            verdict, cls = "мало участников", "shnor-small"
        elif "confirm" in targets and r.цель_доля < targets["confirm"]:
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
    part = rep.own("vpr", rep.year)
    part = part[~part["absent"].fillna(False)]
    part = part.dropna(subset=["mark", "journal_mark"])
    table = pd.crosstab(part["mark"].astype(int), part["journal_mark"].astype(int))
    return table.reindex(index=[5, 4, 3, 2], columns=[2, 3, 4, 5], fill_value=0)


def pooled_by_school(rep: Report) -> pd.DataFrame:
    """Municipality / region view: every school's pooled shares over all ВПР works of the year."""
    part = rep.own("vpr", rep.year)
    counts = journal_counts(part, by=["school_id"])
    names = rep.school_names()
    min_n = rep.meth.threshold("small_groups.min_for_share")
    region = A.region(rep, "journal-counts-region", rep.year).iloc[0]
    region_lower = 100 * region["lower"] / region["compared"] if region["compared"] else float("nan")
    excess = rep.meth.threshold("objectivity_signs.school_lower_excess_pp")
    counts = counts.assign(
        lower=100 * counts["lower"] / counts["compared"], confirm=100 * counts["confirm"] / counts["compared"],
        higher=100 * counts["higher"] / counts["compared"])
    small = too_small(counts["compared"], rep.meth)   # other schools' small groups are not shown (§0)
    counts.loc[small, ["lower", "confirm", "higher"]] = float("nan")
    counts = counts.sort_values("lower", ascending=False)
    rows, classes = [], []
    for r in records(counts):
        cell = (lambda v: HIDDEN) if too_small(r.compared, rep.meth) else fmt_pct
        rows.append({"Школа": names.get(r.school_id, r.school_id), "Код": r.school_id,
                     "Сравнено отметок": fmt_num(r.compared, 0), "Понизили": cell(r.lower),
                     "Подтвердили": cell(r.confirm), "Повысили": cell(r.higher),
                     "Отклонение «понизили» от региона": _pp(r.lower - region_lower)})
        classes.append("shnor-small" if r.compared < min_n else ("shnor-flag" if r.lower - region_lower >= excess else ""))
    return pd.DataFrame(rows), classes


def _pp(diff) -> str:
    if pd.isna(diff):
        return "—"
    word = "выше" if diff > 0.5 else "ниже" if diff < -0.5 else "на уровне"
    return f"{'+' if diff > 0 else '−' if diff < 0 else ''}{abs(diff):.1f} п.п. ({word})".replace(".", ",", 1)


GROUPED_FROM = 3   # this many works under one rule make one line of «На что обратить внимание» (layout, not methodology)


def findings(rep: Report) -> list[Finding]:
    """Flags of the journal comparison in plain Russian, each with its rule and source. Works that break
    the same rule are named in one line (from GROUPED_FROM works on), so a school with inflated marks in
    nine works reads one finding with nine values, not nine findings."""
    out: list[Finding] = []
    mine = journal_shares(rep)
    min_n = rep.meth.threshold("small_groups.min_for_share")
    confirm_src = rep.meth.source("journal_agreement.confirm_target")
    lower_cut = rep.meth.threshold("objectivity_signs.regional_heuristic_lower")
    higher_cut = rep.meth.threshold("objectivity_signs.regional_heuristic_higher")
    groups: dict = {}      # (kind, target, strict) → [(work, share)]
    for r in records(mine):
        if r.n < min_n:
            continue
        work = f"{r.subject}, {int(r.grade)} класс"
        t = journal_targets(rep.meth, r.subject, r.grade)
        if "confirm" in t and r.цель_доля < t["confirm"]:
            strict = "higher" not in target_categories(rep.meth, r.subject)
            groups.setdefault(("confirm", t["confirm"], strict), []).append((work, r.цель_доля))
        if r.понизили > lower_cut:
            groups.setdefault(("lower", lower_cut, None), []).append((work, r.понизили))
        if r.повысили > higher_cut:
            groups.setdefault(("higher", higher_cut, None), []).append((work, r.повысили))
    order = {"lower": 0, "higher": 1, "confirm": 2}
    for (kind, cut, strict), works in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], str(kv[0][1]), str(kv[0][2]))):
        many = len(works) >= GROUPED_FROM
        listed = "; ".join(f"{w} — {fmt_pct(v)}" for w, v in works)
        n_works = f"{len(works)} {plural(len(works), 'работе', 'работах', 'работах')}"
        if kind == "confirm":
            what = "подтвердили отметку по журналу" if strict else "получили за ВПР отметку не ниже, чем в журнале,"
            rule = f"доля подтвердивших ≥ {cut} % ({'ВПР = журнал' if strict else 'не ниже, чем в журнале'})"
            texts = ([f"Ниже цели {cut} % — {what} меньше участников в {n_works}: {listed}."] if many else
                     [f"{w}: {what} {fmt_pct(v)} участников — ниже цели {cut} %." for w, v in works])
            out += [Finding(t, rule=rule, source=confirm_src, severity="warning") for t in texts]
        elif kind == "lower":
            texts = ([f"Понизили отметку больше {cut} % участников в {n_works}: {listed}. Отметки по журналу, вероятно, завышены."]
                     if many else [f"{w}: понизили отметку {fmt_pct(v)} участников — отметки по журналу, вероятно, завышены."
                                   for w, v in works])
            out += [Finding(t, rule=f"«понизили» > {cut} %", source=rep.meth.source("objectivity_signs.regional_heuristic_lower"),
                            severity="flag") for t in texts]
        else:
            texts = ([f"Повысили отметку больше {cut} % участников в {n_works}: {listed}."] if many else
                     [f"{w}: повысили отметку {fmt_pct(v)} участников." for w, v in works])
            out += [Finding(t, rule=f"«повысили» > {cut} %", source=rep.meth.source("objectivity_signs.regional_heuristic_higher"),
                            severity="flag") for t in texts]
    small = small_groups_finding(rep.meth, int((mine["n"] < min_n).sum()), "работам", "сравненных отметок")
    return out + ([small] if small else [])


def summary_text(rep: Report) -> str:
    """A short Russian paragraph on what stands out in the comparison with journal marks."""
    mine = journal_shares(rep)
    if mine.empty:
        return "В выбранном году нет результатов ВПР для сравнения с отметками по журналу."
    seen = mine.dropna(subset=["понизили", "подтвердили", "повысили"])   # a hidden small group enters no sum
    pooled = seen.assign(lo=seen["понизили"] * seen["n"], co=seen["подтвердили"] * seen["n"], hi=seen["повысили"] * seen["n"])
    n = pooled["n"].sum()
    lo, co, hi = (pooled[c].sum() / n if n else None for c in ("lo", "co", "hi"))
    worst = mine[mine["n"] >= rep.meth.threshold("small_groups.min_for_share")].sort_values("понизили", ascending=False).head(1)
    text = (f"В {rep.year} г. сравнено {fmt_num(mine['n'].sum(), 0)} пар отметок (ВПР и журнал). Подтвердили отметку "
            f"{fmt_pct(co)} участников, понизили — {fmt_pct(lo)}, повысили — {fmt_pct(hi)}.")
    if len(worst):
        w = worst.iloc[0]
        text += (f" Больше всего расхождений в сторону понижения — {w['subject']}, {int(w['grade'])} класс "
                 f"({fmt_pct(w['понизили'])} понизили).")
    if rep.scope != "region":
        reg = _wide(_entity_rows(rep, "region", "region"), ["subject", "grade"]).dropna(subset=["понизили"])
        if len(reg):
            rn = reg["n"].sum()
            rlo = (reg["понизили"] * reg["n"]).sum() / rn
            diff = lo - rlo if lo is not None else None
            text += f" По региону понизили {fmt_pct(rlo)}: разница {_pp(diff)}."
    return text


# ==== official signs, objectivity index, distributions, tasks, gaps ==================================
from shnor_utils.analyses.objectivity import compute as O  # noqa: E402
from shnor_utils.data.tables import records

# the signs' names are the methodology's words (flags.yaml): `meth.words.name` in sentences,
# `meth.words.short` in table cells and chart columns
SIGN_SOURCE_KEY = {"vpr_sign_inflated_mean": "objectivity_signs.z", "vpr_sign_mark_mismatch": "objectivity_signs.spearman_below",
                   "vpr_sign_cohort_jump": "objectivity_signs.iqr_k"}
SIGN_CELL = {1.0: "есть", 0.0: "нет"}


def sign_rule(rep: Report, indicator_id: str) -> str:
    """The rule of a sign in words, with the configured numbers."""
    m = rep.meth
    if indicator_id == "vpr_sign_inflated_mean":
        return (f"нижняя граница {ci_level(m.threshold('objectivity_signs.z'))} % доверительного интервала среднего первичного балла школы "
                f"(x̄ ± {m.threshold('objectivity_signs.z')}·s/√m) выше верхней границы интервала по региону")
    if indicator_id == "vpr_sign_mark_mismatch":
        return (f"коэффициент корреляции Спирмена между отметкой по журналу и первичным баллом ВПР "
                f"< {m.threshold('objectivity_signs.spearman_below')}")
    k = m.threshold("objectivity_signs.iqr_k")
    return (f"K = S(4 кл., год Y) / S(5 кл., год Y+1), S — средний % выполнения; K вне интервала "
            f"Q25 − {k}·IQR … Q75 + {k}·IQR по всем школам региона")


def sign_tables(rep: Report) -> dict:
    """Statistics behind the signs (CI, ρ, K and fences), computed once per dataset."""
    return A.region(rep, "sign-tables")


def _work(meth, subject, grade, exam=None) -> str:
    if isinstance(exam, str) and exam:
        return f"{exam} {meth.short(subject)}"
    return f"{meth.short(subject)}-{int(grade)}"


def sign_rows(rep: Report, year: int | None = None) -> pd.DataFrame:
    """School-level sign rows of the report's schools (all years unless `year`), with `работа`."""
    ind = rep.rows_of("school", rep.school_ids)
    rows = ind[ind["indicator_id"].isin(SIGN_SOURCE_KEY)]
    if year is not None:
        rows = rows[rows["year"] == year]
    if rows.empty:
        return rows.assign(работа=pd.Series(dtype="string"))
    return rows.assign(работа=[_work(rep.meth, s, g, e) for s, g, e in
                                zip(rows["subject"], rows["grade"], rows["exam"].astype(object).where(rows["exam"].notna(), None))])


def school_signs_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """School report: every sign × work over the years: «есть» / «нет» / «недостаточно данных»."""
    rows = sign_rows(rep)
    if rows.empty:
        return pd.DataFrame(), []
    rows = rows.assign(cell=rows["value"].map(SIGN_CELL).fillna("недостаточно данных"),
                       признак=rows["indicator_id"].map(rep.meth.words.short))
    wide = rows.pivot_table(index=["признак", "работа"], columns="year", values="cell", aggfunc="first").fillna("—")
    wide.columns = [f"{int(c)} г." for c in wide.columns]
    wide = wide.reset_index().rename(columns={"признак": "Признак", "работа": "Работа"})
    this = f"{rep.year} г."
    classes = ["shnor-flag" if this in wide and v == "есть" else "" for v in (wide[this] if this in wide else [""] * len(wide))]
    return wide, classes


def sign_explanations(rep: Report) -> list[tuple[str, str]]:
    """(indicator id, plain-Russian explanation with numbers) of each sign of the report's school(s)
    in the report year."""
    t = sign_tables(rep)
    out = []
    ids = set(rep.school_ids)
    s1 = pd.concat([t["inflated_mean"], t["inflated_mean_oge"]], ignore_index=True) if t["inflated_mean_oge"] is not None else t["inflated_mean"]
    s1 = s1[s1["school_id"].isin(ids) & (s1["year"] == rep.year) & (s1["sign"] == 1)]
    for r in records(s1):
        exam = getattr(r, "exam", None)
        out.append(("vpr_sign_inflated_mean", f"{_work(rep.meth, r.subject, r.grade, exam if isinstance(exam, str) else None)}: средний первичный балл "
                   f"{fmt_num(r.mean)} ({ci_level(rep.meth.threshold('objectivity_signs.z'))} % ДИ {fmt_num(r.ci_low)}–{fmt_num(r.ci_high)}, участников {int(r.count)}); "
                   f"по региону {fmt_num(r.region_mean)} (ДИ до {fmt_num(r.region_ci_high)})."))
    s2 = t["mark_mismatch"]
    s2 = s2[s2["school_id"].isin(ids) & (s2["year"] == rep.year) & (s2["sign"] == 1)]
    for r in records(s2):
        out.append(("vpr_sign_mark_mismatch", f"{_work(rep.meth, r.subject, r.grade)}: ρ Спирмена между отметкой по журналу и баллом ВПР = "
                   f"{fmt_num(r.rho, 2)} ({int(r.count)} участников): чем выше отметка в журнале, тем ниже балл."))
    s3 = t["cohort_jump"]
    s3 = s3[s3["school_id"].isin(ids) & (s3["year"] == rep.year) & (s3["sign"] == 1)]
    for r in records(s3):
        what = "резкое падение" if r.direction == "drop" else "резкий рост"
        out.append(("vpr_sign_cohort_jump", f"{rep.meth.short(r.subject)}, 4 кл. {int(r.year_from)} г. → 5 кл. {int(r.year)} г.: K = {fmt_num(r.K, 2)} "
                   f"при допустимом интервале {fmt_num(r.fence_low, 2)}–{fmt_num(r.fence_high, 2)} ({what} результатов)."))
    return out


def index_rows(rep: Report) -> pd.DataFrame:
    """objectivity_index rows of the municipalities and the region, all years."""
    ind = rep.indicators
    return ind[ind["indicator_id"] == "objectivity_index"]


def index_table(rep: Report) -> pd.DataFrame:
    """Objectivity index over the years: the entity (municipality) and the region."""
    idx = index_rows(rep)
    reg = idx[idx["level"] == "region"].set_index("year")
    mine = idx[(idx["level"] == "municipality") & (idx["entity_id"] == rep.municipality_id)].set_index("year") \
        if rep.scope != "region" else reg
    out = []
    for year in sorted(reg.index):
        row = {"Год": int(year)}
        if rep.scope != "region" and year in mine.index:
            m = mine.loc[year]
            row.update({"Школ с признаками": f"{int(m['numerator'])} из {int(m['denominator'])}",
                        "Индекс объективности": fmt_num(m["value"])})
        r = reg.loc[year]
        row.update({"Школ с признаками, регион": f"{int(r['numerator'])} из {int(r['denominator'])}",
                    "Индекс, регион": fmt_num(r["value"])})
        out.append(row)
    return pd.DataFrame(out)


def index_chart_data(rep: Report) -> pd.DataFrame:
    """Tidy index series for a chart: year, value, entity label (municipalities of the scope + region)."""
    idx = index_rows(rep)
    names = rep.ds.schools.drop_duplicates("municipality_id").set_index("municipality_id")["municipality_name"]
    if rep.scope == "region":
        keep = idx
    else:
        keep = idx[(idx["level"] == "region") | (idx["entity_id"] == rep.municipality_id)]
    label = keep["entity_id"].map(names).fillna(rep.region_name).where(keep["level"] != "region", rep.region_name)
    return pd.DataFrame({"год": keep["year"].astype(int).to_numpy(), "индекс": keep["value"].astype(float).to_numpy(),
                         "территория": label.to_numpy()})


def flagged_schools(rep: Report) -> pd.DataFrame:
    """Schools of the scope with ≥ 1 sign in the report year: the signs, and how many years in a row
    (up to the report year) the school had ≥ 1 sign."""
    rows = sign_rows(rep)
    if rows.empty:
        return pd.DataFrame()
    per = O.school_sign_years(rows)
    flagged_years = per[per["any_sign"]]
    now = rows[(rows["year"] == rep.year) & (rows["value"] == 1)]
    if now.empty:
        return pd.DataFrame()
    names = rep.school_names()
    out = []
    for sid, part in now.groupby("entity_id"):
        years = set(flagged_years.loc[flagged_years["entity_id"] == sid, "year"].astype(int))
        streak = 0
        while rep.year - streak in years:
            streak += 1
        signs = "; ".join(f"{rep.meth.words.short(i)} ({', '.join(sorted(p['работа']))})" for i, p in part.groupby("indicator_id"))
        out.append({"Школа": names.get(sid, sid), "Код": sid, "Признаки": signs, "Лет подряд с признаками": streak})
    return pd.DataFrame(out).sort_values(["Лет подряд с признаками", "Школа"], ascending=[False, True]).reset_index(drop=True)


def sign_matrix(rep: Report) -> pd.DataFrame:
    """Municipality heat map data: school × work (with the sign's short name), value 1/0/NaN, report year."""
    rows = sign_rows(rep, rep.year)
    if rows.empty:
        return pd.DataFrame()
    names = rep.school_names()
    col = rows["работа"] + " · " + rows["indicator_id"].map(rep.meth.words.short)
    return pd.DataFrame({"школа": rows["entity_id"].map(names).fillna(rows["entity_id"]).to_numpy(),
                         "процедура": col.to_numpy(), "признак": rows["value"].astype(float).to_numpy()})


def school_ranking(rep: Report) -> tuple[pd.DataFrame, list]:
    """Municipality report: its schools ranked by the number of signs in the year, then by «понизили»."""
    table, classes = pooled_by_school(rep)
    if table.empty:
        return table, classes
    rows = sign_rows(rep, rep.year)
    counts = rows[rows["value"] == 1].groupby("entity_id").size()
    judged = rows[rows["value"].notna()].groupby("entity_id").size()
    table = table.assign(**{"Признаков необъективности": [
        str(int(counts.get(c, 0))) if c in judged.index else "недостаточно данных" for c in table["Код"]]})
    order = (-table["Код"].map(counts).fillna(0)).argsort(kind="stable").to_numpy()
    classes = [("shnor-flag" if counts.get(table["Код"].iat[i], 0) else classes[i]) for i in order]
    return table.iloc[order].reset_index(drop=True), classes


def municipalities_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """Region report: municipalities with their index vs the region (report year) and flagged schools."""
    idx = index_rows(rep)
    now = idx[idx["year"] == rep.year]
    reg = now[now["level"] == "region"]
    if reg.empty:
        return pd.DataFrame(), []
    reg_value = float(reg["value"].iloc[0])
    names = rep.ds.schools.drop_duplicates("municipality_id").set_index("municipality_id")["municipality_name"]
    mun = now[now["level"] == "municipality"].sort_values("value")
    prev = idx[(idx["year"] == rep.year - 1) & (idx["level"] == "municipality")].set_index("entity_id")["value"]
    rows, classes = [], []
    for r in records(mun):
        diff = r.value - reg_value
        rows.append({"Муниципалитет": names.get(r.entity_id, r.entity_id), "Школ оценено": int(r.denominator),
                     "Школ с признаками": int(r.numerator), "Индекс объективности": fmt_num(r.value),
                     "Разница с регионом": _pp(diff),
                     f"Индекс {rep.year - 1} г.": fmt_num(prev.get(r.entity_id))})
        classes.append("shnor-flag" if r.numerator and diff < 0 else "")
    rows.append({"Муниципалитет": "Регион в целом", "Школ оценено": int(reg["denominator"].iloc[0]),
                 "Школ с признаками": int(reg["numerator"].iloc[0]), "Индекс объективности": fmt_num(reg_value),
                 "Разница с регионом": "—", f"Индекс {rep.year - 1} г.": fmt_num(
                     idx[(idx["year"] == rep.year - 1) & (idx["level"] == "region")]["value"].max())})
    classes.append("shnor-ok")
    return pd.DataFrame(rows), classes


# ---- distributions and peaks -----------------------------------------------------------------------
def distribution_data(rep: Report) -> tuple[pd.DataFrame, dict]:
    """Score distributions (% of participants per primary score) of the entity and the region for the
    sign procedures of the report year, plus {work: [lowest score of «3», «4», «5»]}."""
    procs = [(p["subject"], int(p["grade"])) for p in rep.meth.threshold("objectivity_signs.procedures")]
    own = rep.own("vpr", rep.year)
    parts, bounds = [], {}
    for subject, grade in procs:
        # (the region wrote this work, its score counts): the same for every report of the year
        written, region_counts = A.region(rep, "score-counts-region", rep.year, subject, grade)
        scale = rep.meth.vpr_scale(rep.year, subject, grade)
        if not written or scale is None:
            continue
        label = _work(rep.meth, subject, grade)
        bounds[label] = [scale.boundaries[m] for m in (3, 4, 5)]
        levels = [] if rep.scope == "region" else [
            ({"school": "школа", "municipality": "муниципалитет"}[rep.scope],
             O.score_counts(own[(own["subject"] == subject) & (own["grade"] == grade)], ["year"]))]
        for level, c in [*levels, ("регион", region_counts)]:
            if c.empty:
                continue
            # every score 0 … max, zeros included, so that gaps are drawn as gaps
            c = c.set_index(c["primary_score"].astype(int))["count"].reindex(range(scale.max + 1), fill_value=0)
            parts.append(pd.DataFrame({"работа": label, "уровень": level, "балл": c.index,
                                       "доля": 100 * c.to_numpy() / c.sum(), "n": int(c.sum())}))
    return (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()), bounds


def peaks_table(rep: Report) -> pd.DataFrame:
    """Works of the scope's schools (report year) with a pronounced peak at a mark boundary (computed
    once per report: the findings and the table both show it)."""
    return rep.once("peaks-table", lambda: _peaks_table(rep))


def _peaks_table(rep: Report) -> pd.DataFrame:
    vpr = rep.own("vpr", rep.year)
    if vpr.empty:
        return pd.DataFrame()
    p = O.boundary_peaks(vpr, rep.meth)
    p = p[p["peak"] == 1]
    names = rep.school_names()
    approx = rep.meth.threshold("score_distribution.approximate_n")
    informative = rep.meth.threshold("score_distribution.informative_n")
    rows = [{**({"Школа": names.get(r.school_id, r.school_id)} if rep.scope != "school" else {}),
             "Работа": _work(rep.meth, r.subject, r.grade), "Граница отметки": f"«{int(r.mark)}» с {int(r.boundary)} б.",
             "Участников на границе": int(r.at), "Среднее у соседних баллов": fmt_num(r.neighbours),
             "Участников всего": int(r.n),
             "Надёжность": "информативно" if r.informative else f"приблизительно ({approx}–{informative - 1} участников)"}
            for r in records(p)]
    return pd.DataFrame(rows)


# ---- tasks -----------------------------------------------------------------------------------------
def task_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """School report: solve rate per task vs the region, tasks below the ФИОКО mastery levels."""
    if not rep.ds.has("vpr_tasks"):
        return pd.DataFrame(), []
    if rep.year not in A.region(rep, "table-years", "vpr_tasks"):
        return pd.DataFrame(), []
    # the region's solve rates are the same for every school: computed once per year (per batch)
    cmp = A.region(rep, "task-comparison", rep.year)
    cmp = cmp[cmp["school_id"].isin(rep.school_ids)] if rep.scope == "school" else cmp.iloc[0:0]
    rows, classes = [], []
    min_n = rep.meth.threshold("small_groups.min_for_share")   # the one small-group rule of the reports
    order = cmp.assign(_n=pd.to_numeric(cmp["task"], errors="coerce")).sort_values(["grade", "subject", "_n", "task"])
    for r in records(order):
        small = r.n < min_n
        rows.append({"Работа": _work(rep.meth, r.subject, r.grade), "Задание": r.task, "Уровень": r.level,
                     "Участников (n)": fmt_num(r.n, 0),
                     "Выполнили, школа": fmt_pct(r.rate), "Регион": fmt_pct(r.region_rate),
                     "Разница": _pp(r.diff), "Уровень освоения": f"≥ {fmt_num(r.mastery, 0)} %",
                     "Оценка": "мало участников: выводы не делаются" if small
                     else "ниже уровня освоения" if r.below_mastery else "достигнут"})
        classes.append("shnor-small" if small else "shnor-flag" if r.below_mastery else "")
    return pd.DataFrame(rows), classes


def task_pattern_rows(rep: Report) -> pd.DataFrame:
    ind = rep.rows_of("school", rep.school_ids)
    return ind[(ind["indicator_id"] == "vpr_task_pattern") & (ind["year"] == rep.year) & (ind["value"] == 1)]


# ---- gaps ≥ 2 marks --------------------------------------------------------------------------------
def gaps_table(rep: Report) -> pd.DataFrame:
    """Counts of participants whose ВПР mark differs from the journal mark by ≥ 2, per class (school
    report), per school (municipality) or per municipality (region). Counts only, no pupils."""
    vpr = rep.own("vpr", rep.year)
    if vpr.empty:
        return pd.DataFrame()
    if rep.scope == "school":
        vpr = vpr.assign(class_label=vpr["class_label"].astype("string").fillna("—")) if "class_label" in vpr else vpr.assign(class_label="—")
        g = O.mark_gaps(vpr, rep.meth, ["subject", "grade", "class_label"])
        label = {"class_label": "Класс"}
    elif rep.scope == "municipality":
        g = O.mark_gaps(vpr, rep.meth, ["school_id"])
        ids = g["school_id"].astype("string")
        g["school_id"] = ids.map(rep.school_names()).fillna(ids)
        label = {"school_id": "Школа"}
    else:
        vpr = vpr.merge(rep.ds.schools[["school_id", "municipality_name"]], on="school_id")
        g = O.mark_gaps(vpr, rep.meth, ["municipality_name"])
        label = {"municipality_name": "Муниципалитет"}
    if rep.scope != "school":
        g = g[~too_small(g["compared"], rep.meth)]   # other schools' small groups are not shown (§0)
    g = g[(g["gap_lower"] + g["gap_higher"]) > 0]
    if g.empty:
        return pd.DataFrame()
    gap = rep.meth.threshold("journal_agreement.gap_marks")
    g = g.sort_values("gap_lower", ascending=False).rename(columns={
        **label, "subject": "Предмет", "grade": "Класс (параллель)", "compared": "Сравнено отметок",
        "gap_lower": f"ВПР ниже журнала на {gap} и более", "gap_higher": f"ВПР выше журнала на {gap} и более"})
    return g.reset_index(drop=True)


def gaps_what(rep: Report) -> str:
    """«на 2 балла и более»: the gap of marks counted by `gaps_table` (journal_agreement.gap_marks)."""
    gap = rep.meth.threshold("journal_agreement.gap_marks")
    return f"на {gap} {plural(gap, 'балл', 'балла', 'баллов')} и более"


# ---- «На что обратить внимание» for the signs --------------------------------------------------------
def sign_findings(rep: Report) -> list[Finding]:
    """The signs, the index, peaks and the task pattern in plain Russian, each with rule and source."""
    out: list[Finding] = []
    rows = sign_rows(rep, rep.year)
    if rep.scope == "school":
        explanations = sign_explanations(rep)
        flagged = rows[rows["value"] == 1]
        for indicator_id, part in flagged.groupby("indicator_id"):
            works = ", ".join(sorted(set(part["работа"])))
            detail = " ".join(text for i, text in explanations if i == indicator_id)
            name = rep.meth.words.name(indicator_id)
            out.append(Finding(f"{name[:1].upper()}{name[1:]} — {works}. {detail}".strip(),
                               rule=sign_rule(rep, indicator_id),
                               source=rep.meth.source(SIGN_SOURCE_KEY[indicator_id]), severity="flag"))
        if len(rows) and rows["value"].isna().all():
            out.append(Finding("Признаки необъективности не рассчитаны: во всех работах меньше "
                               f"{rep.meth.threshold('small_groups.min_for_sign')} участников (недостаточно данных).",
                               rule="малые группы не оцениваются", source=rep.meth.source("small_groups.min_for_sign")))
    else:
        idx = index_rows(rep)
        now = idx[idx["year"] == rep.year]
        reg = now[now["level"] == "region"]
        mine = reg if rep.scope == "region" else now[(now["level"] == "municipality") & (now["entity_id"] == rep.municipality_id)]
        if len(mine):
            m = mine.iloc[0]
            text = (f"Индекс объективности {fmt_num(m['value'])}: признаки необъективности у {int(m['numerator'])} "
                    f"из {int(m['denominator'])} школ.")
            if rep.scope != "region" and len(reg):
                text += f" По региону — {fmt_num(reg['value'].iloc[0])} ({_pp(m['value'] - reg['value'].iloc[0])})."
            out.append(Finding(text, rule="индекс = 100 − % школ с хотя бы одним признаком (ВПР РУ-4, МА-4, РУ-5, МА-5, ОГЭ РУ, МА)",
                               source=rep.meth.source("objectivity_signs.procedures"),
                               severity="flag" if m["numerator"] else "info"))
        flagged = flagged_schools(rep)
        for r in records(flagged.head(FINDING_LISTED)):
            years = f"; признаки {r[3]} г. подряд" if r[3] > 1 else ""
            out.append(Finding(f"{r[0]} ({r[1]}): {r[2]}{years}.", rule="хотя бы один официальный признак необъективности",
                               source=rep.meth.source("objectivity_signs.z"), severity="flag"))
        if len(flagged) > FINDING_LISTED:
            more = len(flagged) - FINDING_LISTED
            out.append(Finding(f"Ещё {more} {plural(more, 'школа', 'школы', 'школ')} с признаками — см. таблицу ниже.",
                               severity="flag"))
    peaks = peaks_table(rep)
    if len(peaks):
        where = listed(sorted(set((peaks["Школа"] + ", " if "Школа" in peaks else "") + peaks["Работа"])),
                       "все в таблице раздела «Распределение первичных баллов»")
        out.append(Finding(f"Выраженный пик числа участников на нижней границе отметки (возможный маркер необъективности, "
                           f"не признак): {where}.",
                           rule=f"на граничном балле ≥ {fmt_num(rep.meth.threshold('score_distribution.peak_ratio'))} раза больше участников, "
                                f"чем на соседних, и избыток ≥ {rep.meth.threshold('score_distribution.peak_excess_share')} % группы; "
                                f"при {rep.meth.threshold('score_distribution.approximate_n')}–{rep.meth.threshold('score_distribution.informative_n') - 1} участниках оценка приблизительная",
                           source=rep.meth.source("score_distribution.informative_n"), severity="warning"))
    pattern = task_pattern_rows(rep)
    if len(pattern):
        names = rep.school_names()
        where = listed(sorted({(names.get(r.entity_id, r.entity_id) + ", " if rep.scope != "school" else "")
                               + _work(rep.meth, r.subject, r.grade) for r in records(pattern)}),
                       "все в книге Excel, лист «ВПР — объективность»")
        out.append(Finding(f"Лёгкие задания выполнены хуже, чем в регионе, а трудные — лучше: {where}.",
                           rule=f"средняя разница с регионом по более лёгкой половине заданий ≤ −{rep.meth.threshold('task_mastery.pattern_margin_pp')} п.п., "
                                f"по более трудной ≥ +{rep.meth.threshold('task_mastery.pattern_margin_pp')} п.п.",
                           source=rep.meth.source("task_mastery.pattern_margin_pp"), severity="warning"))
    return out


def all_findings(rep: Report) -> list[Finding]:
    """«На что обратить внимание»: the official signs first, then the journal comparison; a municipality or
    region report also lists its schools flagged for inflated journal marks (the school flag rolled up)."""
    rolled = rep.school_flag_findings([O.INFLATION_ID], source=rep.meth.source("objectivity_signs.school_lower_excess_pp"))
    return sign_findings(rep) + rolled + findings(rep)


def signs_intro(rep: Report) -> str:
    procs = ", ".join(_work(rep.meth, p["subject"], p["grade"]) for p in rep.meth.threshold("objectivity_signs.procedures"))
    n_min = rep.meth.threshold("small_groups.min_for_sign")
    return (f"Признаки рассчитаны по методике Рособрнадзора/ФИОКО «Уровень объективности оценки образовательных "
            f"результатов» для работ {procs} (завышенный средний балл — также по ОГЭ по русскому языку и математике). "
            f"Школа с хотя бы одним признаком считается школой с признаками необъективности; индекс объективности "
            f"= 100 − % таких школ. При числе участников меньше {n_min} признак не рассчитывается (недостаточно данных). "
            f"Признак — повод для проверки, а не доказательство необъективности.")


def method_note(rep: Report) -> str:
    """How the seed 001 targets are read (the decision, also in thresholds.yaml)."""
    strict = [s for s in rep.meth.entry("journal_agreement.confirm_target")["applies_to"]
              if "higher" not in target_categories(rep.meth, s)]
    loose = [s for s in rep.meth.entry("journal_agreement.confirm_target")["applies_to"] if s not in strict]
    return (f"Цели Тюменской модели (seed 001): «подтвердили» не менее {rep.meth.threshold('journal_agreement.confirm_target')} %. "
            f"Для предметов {', '.join(s.lower() for s in strict)} подтверждение — совпадение отметки за ВПР с отметкой по журналу; "
            f"для предметов {', '.join(s.lower() for s in loose)} документ определяет его как «не ниже, чем в журнале» "
            f"(подтвердили или повысили). Цель «повысивших не менее {rep.meth.threshold('journal_agreement.higher_target')} %» "
            f"применяется к русскому языку и математике. Для русского языка в документе напечатано «не менее 75 %» повысивших: "
            f"вместе с целью «подтвердили не менее {rep.meth.threshold('journal_agreement.confirm_target')} %» это невыполнимо, "
            f"поэтому для русского языка применяется та же цель, что для математики. "
            f"Доли считаются от участников, у которых есть обе отметки.")


# ==== the ФИОКО list «Признаки необъективности» beside the computed signs (issue 13) =====================
OFFICIAL_BOTH, OFFICIAL_ONLY, COMPUTED_ONLY, NOT_COMPUTED = (
    "совпадает: признаки и в перечне, и по расчёту", "только в перечне ФИОКО", "только по расчёту",
    "нет расчёта за этот год")


def official_signs_table(rep: Report) -> pd.DataFrame:
    """The official list (`official_signs`, optional) beside the signs computed from the data, per school of
    the report × year of the list, as `official_shnor` is compared with the rule's list: the list's markers,
    the ВПР works with a computed sign (the ОГЭ sign is not on the ФИОКО ВПР list), and whether the two agree. Schools on neither side are left out; a year
    the data has no signs for says so. Empty without the table."""
    if not rep.ds.has("official_signs"):
        return pd.DataFrame()
    official = rep.ds.official_signs
    years = A.region(rep, "table-years", "official_signs")   # the list's years in the whole region
    official = official[official["school_id"].isin(rep.school_ids)]
    rows = sign_rows(rep)
    rows = rows[rows["exam"].isna() | (rows["exam"].astype("string") == "")] if "exam" in rows else rows   # ВПР only
    judged = set(int(y) for y in rows["year"].unique())
    flagged = rows[(rows["value"] == 1) & rows["year"].isin(years)]
    listed = official.groupby(["school_id", "year"])["marker"].apply(lambda s: ", ".join(sorted(set(s))))
    computed = flagged.groupby(["entity_id", "year"])["работа"].apply(lambda s: ", ".join(sorted(set(s))))
    computed.index = computed.index.set_names(["school_id", "year"])
    both = pd.concat([listed.rename("official"), computed.rename("computed")], axis=1).reset_index()
    if both.empty:
        return pd.DataFrame()
    both["year"] = both["year"].astype(int)
    names = rep.school_names()
    status = [OFFICIAL_BOTH if isinstance(o, str) and isinstance(c, str) else
              NOT_COMPUTED if y not in judged else OFFICIAL_ONLY if isinstance(o, str) else COMPUTED_ONLY
              for o, c, y in zip(both["official"], both["computed"], both["year"])]
    out = pd.DataFrame({"Школа": both["school_id"].map(lambda s: names.get(s, s)), "Год": both["year"],
                        "Перечень ФИОКО": both["official"].fillna("—"), "Расчёт по данным": both["computed"].fillna("—"),
                        "Сравнение": status})
    return out.sort_values(["Год", "Школа"]).reset_index(drop=True)
