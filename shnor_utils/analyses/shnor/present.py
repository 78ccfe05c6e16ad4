"""Presentation of `shnor_selection` (municipality, region) and `school_passport` (school):
Russian tables with formatted values, chart data and findings.

Numbers come from the indicator table (shnor.py, context.py, risk_profiles.py) and from the
functions of those modules; this module only selects, words and formats them.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from shnor_utils.analyses import aggregates as A
from shnor_utils.analyses.context import compute as context
from shnor_utils.analyses.risk_profiles import compute as risk_profiles
from shnor_utils.analyses.shnor import compute as shnor
from shnor_utils.analyses.shnor.analysis import SPEC
from shnor_utils.reporting.report import Report
from shnor_utils.reporting.html import (FINDING_LISTED, Finding, ci_level, display_html, esc, fmt_num, fmt_pct, plural,
                                        threshold_text)
from shnor_utils.data.tables import records

DATIVE = {1: "одной", 2: "двум", 3: "трём", 4: "четырём", 5: "пяти"}   # «не менее чем по двум процедурам»


# ---- the rule in words (numbers from thresholds.yaml) ----------------------------------------------
def rule_share(rep: Report) -> str:
    """«30»: the share of the Rosobrnadzor rule (low_results_rule.share_failed) as prose prints it."""
    return threshold_text(rep.meth, "low_results_rule.share_failed")


def source_rule(rep: Report) -> str:
    """The rule of the list in one line (the «Правило» of findings)."""
    return (f"школа в перечне года, если в предыдущем году не меньше двух процедур, где не менее {rule_share(rep)} % "
            f"участников получили «2» или не преодолели минимум, или хотя бы по одной такой процедуре в каждом из двух "
            f"предыдущих лет; процедура оценивается при числе участников не меньше "
            f"{threshold_text(rep.meth, 'low_results_rule.min_participants')}")


def rule_note(rep: Report) -> str:
    """Note under the list: the rule of Rosobrnadzor in plain Russian."""
    return (f"Правило Рособрнадзора (seed 003, приказ № 1336): процедура даёт низкий результат, если не менее "
            f"{rule_share(rep)} % участников получили «2» (ВПР) или не преодолели минимальный порог (ОГЭ, ЕГЭ). "
            f"Школа входит в перечень года, если в предыдущем году низких результатов не меньше двух или хотя бы по "
            f"одному в каждом из двух предыдущих лет. В скобках — доля не справившихся и число участников (n). "
            + small_group_note(rep))


def small_group_note(rep: Report) -> str:
    """The two minimums in one sentence: the official 30 % rule keeps its own, every other conclusion
    of the reports follows the one small-group rule (small_groups.min_for_share)."""
    own = threshold_text(rep.meth, "low_results_rule.min_participants")
    common = threshold_text(rep.meth, "small_groups.min_for_share")
    return (f"Правило {rule_share(rep)} % оценивает процедуру, если в ней не меньше {own} участников, — это собственный "
            f"минимум официального правила. Остальные выводы отчётов делаются только по группам не меньше "
            f"{common} участников (правило малых групп).")


def alternative_note(rep: Report) -> str:
    """Note under the comparison of methods: the alternative (ФИОКО-style) method in plain Russian."""
    m = rep.meth.threshold("shnor_list.alternative_min_procedures")
    return ("Альтернативный метод: школа в нижнем дециле по доле не справившихся не менее чем по "
            f"{DATIVE.get(m, m)} процедурам в каждом из двух предыдущих лет; школы с признаками необъективности "
            "исключаются.")


def passport_status_heading(rep: Report) -> str:
    return f"Статус по правилу {rule_share(rep)} % и добавленная ценность"


def _ind(rep: Report, indicator_id: str, level: str | None = None) -> pd.DataFrame:
    rows = rep.rows_with(indicator_id)
    return rows if level is None else rows[rows["level"] == level]


def _status(rep: Report) -> pd.DataFrame:
    """shnor / risk_school / low_procedures per school × year of the report's schools (wide)."""
    rows = rep.rows_of("school", rep.school_ids)   # the report's schools by the row index, not a scan of the region
    rows = rows[rows["indicator_id"].isin(["shnor", "risk_school", "low_procedures"])]
    if rows.empty:
        return pd.DataFrame(columns=["school_id", "year", "shnor", "risk_school", "low_procedures"])
    wide = rows.pivot_table(index=["entity_id", "year"], columns="indicator_id", values="value", aggfunc="first")
    return wide.reset_index().rename(columns={"entity_id": "school_id"})


def list_year(rep: Report) -> int:
    """The list shown: the list of the report year (formed from the two previous years' results)."""
    return int(rep.year)


def _low_procs(rep: Report) -> pd.DataFrame:
    rows = _ind(rep, "shnor_fail_share", "school")
    return rows[(rows["flag"] == "low_result") & rows["entity_id"].isin(rep.school_ids)]


def _reason(low: pd.DataFrame, school_id: str, year: int) -> str:
    """«2025: ВПР Математика 6, ЕГЭ Русский язык; 2024: …» — the low procedures behind the list of `year`."""
    parts = []
    for y in (year - 1, year - 2):
        mine = low[(low["entity_id"] == school_id) & (low["year"] == y)]
        if len(mine):
            procs = ", ".join(f"{r.exam} {r.subject}" + (f" {int(r.grade)}" if r.exam == "ВПР" else "") +
                              f" ({fmt_pct(r.value, 0)}, n = {fmt_num(r.denominator, 0)})" for r in records(mine, index=True))
            parts.append(f"{y}: {procs}")
    return "; ".join(parts)


def selection_table(rep: Report, year: int | None = None) -> tuple[pd.DataFrame, list]:
    """The ШНОР list of `year` for the report's schools: how each school got on it, whether it is
    new, returning or staying, and the official list where given."""
    year = year or list_year(rep)
    st = _status(rep)
    on = st[(st["year"] == year) & (st["shnor"] == 1)]
    prev = set(st[(st["year"] == year - 1) & (st["shnor"] == 1)]["school_id"])
    earlier = set(st[(st["year"] < year - 1) & (st["shnor"] == 1)]["school_id"])
    official = _ind(rep, "shnor_official", "school")
    off_year = official[official["year"] == year]
    has_official = bool(len(_ind(rep, "shnor_official_agreement")[lambda f: f["year"] == year]))
    low = _low_procs(rep)
    schools = rep.ds.schools.set_index("school_id")
    rows, classes = [], []
    for sid in sorted(on["school_id"]):
        change = "остаётся в перечне" if sid in prev else ("возвращается в перечень" if sid in earlier else "впервые")
        row = {"Школа": schools.at[sid, "school_name"], "Код": sid, "Муниципалитет": schools.at[sid, "municipality_name"],
               "Основание: процедуры с низкими результатами": _reason(low, sid, year), "Изменение": change}
        if has_official:
            hit = off_year[off_year["entity_id"] == sid]
            row["В официальном перечне"] = "да" if len(hit) and hit["value"].iloc[0] == 1 else "нет"
        rows.append(row)
        classes.append("shnor-flag" if change != "остаётся в перечне" else "")
    return pd.DataFrame(rows), classes


# ---- distance to the trigger («на грани») ----------------------------------------------------
def _procedure_results(rep: Report) -> pd.DataFrame:
    """Participants, failed, share, judged, low per school × year × procedure of the whole region
    (computed once per dataset and methodology)."""
    return A.region(rep, "shnor-procedure-results")


def watch_year(rep: Report) -> int | None:
    """The result year of the watch list: the latest year ≤ the report year with procedure results."""
    res = _procedure_results(rep)
    years = sorted(int(y) for y in res["year"].unique() if y <= rep.year) if len(res) else []
    return years[-1] if years else None


def _participants(n: int) -> str:
    return f"{n} {plural(n, 'участник', 'участника', 'участников')}"


def watch_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """«На грани»: the report's procedures of the watch year within the margin of the rule
    (`low_results_rule.watch_participants` / `watch_pp`), how many participants below the minimum
    would change their status, and what that would do to the school's list of the next year."""
    year = watch_year(rep)
    if year is None:
        return pd.DataFrame(), []
    res = _procedure_results(rep)
    w = shnor.watch_list(res[res["school_id"].isin(rep.school_ids)], rep.meth, year)
    if w.empty:
        return pd.DataFrame(), []
    names = rep.school_names()
    rows, classes = [], []
    for r in records(w):
        d = abs(int(r.distance))
        if r.low:
            move = f"на {_participants(d)} меньше — перестанет быть низким"
        else:
            move = f"ещё {_participants(d)} — станет низким"
        if r.shnor_flip and not r.shnor_next:
            effect = f"войдёт в перечень на {year + 1} г."
        elif r.shnor_next and not r.shnor_flip:
            effect = f"выйдет из перечня на {year + 1} г."
        else:
            effect = "перечень не изменится" + (" (школа в нём)" if r.shnor_next else "")
        rows.append({"Школа": names.get(r.school_id, r.school_id), "Код": r.school_id, "Процедура": r.procedure,
                     "Участников": int(r.participants), "Не справились": int(r.failed), "Доля": fmt_pct(r.share),
                     "От порога, п.п.": _signed(r.margin_pp), "Статус процедуры": "низкий" if r.low else "не низкий",
                     "До смены статуса": move, "Если статус сменится": effect})
        classes.append("shnor-flag" if effect.startswith(("войдёт", "выйдет")) else "")
    table = pd.DataFrame(rows).assign(_first=[c == "" for c in classes], _d=w["distance"].abs().to_numpy())
    order = table.sort_values(["_first", "_d"], kind="stable").index   # list-changing procedures first, then the closest
    return table.loc[order].drop(columns=["_first", "_d"]).reset_index(drop=True), [classes[i] for i in order]


def watch_note(rep: Report) -> str:
    """The rule of the watch list in words (margins and rule share from the methodology)."""
    n = rep.meth.threshold("low_results_rule.watch_participants")
    return (f"«На грани» — процедуры, оцениваемые по правилу {rule_share(rep)} %, у которых до смены статуса не больше "
            f"{int(n)} {plural(int(n), 'участника', 'участников', 'участников')} ниже минимума (при том же числе участников) или доля не справившихся отличается "
            f"от порога не больше чем на {threshold_text(rep.meth, 'low_results_rule.watch_pp')} п.п. "
            "«Если статус сменится» — что будет с перечнем следующего года, если изменится только эта процедура.")


def exits_table(rep: Report, year: int | None = None) -> pd.DataFrame:
    """Schools that were on the list of Y−1 and are not on the list of Y (вышли из перечня)."""
    year = year or list_year(rep)
    st = _status(rep)
    was = set(st[(st["year"] == year - 1) & (st["shnor"] == 1)]["school_id"])
    now = set(st[(st["year"] == year) & (st["shnor"] == 1)]["school_id"])
    names = rep.school_names()
    return pd.DataFrame([{"Школа": names.get(s, s), "Код": s} for s in sorted(was - now)])


def history_table(rep: Report) -> pd.DataFrame:
    """Every school of the scope ever listed: years on the list, entries, exits, re-entries."""
    st = _status(rep).rename(columns={"shnor": "shnor_v"})
    st = st.assign(shnor=st["shnor_v"].map({1: True, 0: False}))
    hist = shnor.list_history(st[["school_id", "year", "shnor"]])
    names = rep.school_names()
    def years(v):
        return ", ".join(str(y) for y in v) or "—"
    return pd.DataFrame({"Школа": hist["school_id"].map(names), "Код": hist["school_id"],
                         "Годы в перечне": hist["years_on"].map(years), "Вход": hist["entries"].map(years),
                         "Выход": hist["exits"].map(years), "Повторный вход": hist["reentries"].map(years)})


def dynamics_frame(rep: Report) -> pd.DataFrame:
    """R1, R2 and counts of the entity by list year (numbers, for the table and the chart)."""
    level = rep.scope
    ent = rep.entity_id
    out = []
    for ind_id in ("shnor_count", "shnor_share", "risk_school_count", "risk_school_share", "shnor_free_municipalities"):
        rows = _ind(rep, ind_id, level)
        rows = rows[rows["entity_id"] == ent]
        out.append(rows.set_index("year")["value"].rename(ind_id))
    frame = pd.concat(out, axis=1).sort_index()
    frame["forecast"] = frame.index.isin(_ind(rep, "shnor_count")[lambda f: f["flag"] == "forecast"]["year"])
    return frame.reset_index().rename(columns={"index": "year"})


def dynamics_table(rep: Report) -> pd.DataFrame:
    f = dynamics_frame(rep)
    rows = []
    prev = None
    for r in records(f):
        change = "—" if prev is None or pd.isna(r.shnor_count) or pd.isna(prev) else _signed(r.shnor_count - prev).replace(",0", "")
        row = {"Перечень на год": f"{int(r.year)}" + (" (прогноз)" if r.forecast else ""),
               "ШНОР, школ": fmt_num(r.shnor_count, 0), "Доля ШНОР": fmt_pct(r.shnor_share),
               "Изменение числа ШНОР": change, "Школ риска, число": fmt_num(r.risk_school_count, 0),
               "Доля школ риска": fmt_pct(r.risk_school_share)}
        if rep.scope == "region":
            row["МО без ШНОР"] = fmt_num(r.shnor_free_municipalities, 0)
        rows.append(row)
        prev = r.shnor_count
    return pd.DataFrame(rows)


def fail_share_table(rep: Report, indicator_id: str = "shnor_fail_share") -> pd.DataFrame:
    """Shares failed of the entity (programme codes R3–R10, R12 for risk_fail_share): procedure × year,
    % «2» / below minimum with the number of participants n."""
    rows = _ind(rep, indicator_id, rep.scope)
    rows = rows[rows["entity_id"] == rep.entity_id]
    if rows.empty:
        return pd.DataFrame()
    rows = rows.assign(Процедура=rows["exam"] + " " + rows["subject"] +
                       rows["grade"].astype(str).where(rows["exam"] == "ВПР", "").radd(" ").where(rows["exam"] == "ВПР", ""))
    rows = rows.assign(cell=[f"{fmt_pct(v)} (n = {fmt_num(n, 0)})" if pd.notna(v) else fmt_pct(v)
                             for v, n in zip(rows["value"], rows["denominator"])])
    wide = rows.pivot_table(index="Процедура", columns="year", values="cell", aggfunc="first")
    order = [p for p in shnor.procedures(rep.meth)["procedure"] if p in wide.index]
    wide = wide.reindex(order).fillna("—")
    wide.columns = [f"{int(y)} г." for y in wide.columns]
    return wide.reset_index()


def official_differences(rep: Report) -> pd.DataFrame:
    rows = _ind(rep, "shnor_official", "school")
    rows = rows[rows["entity_id"].isin(rep.school_ids) & rows["flag"].isin(["only_official", "only_computed"])]
    names = rep.school_names()
    share = rule_share(rep)
    words = {"only_official": f"в официальном перечне, но не выбрана правилом {share} %",
             "only_computed": f"выбрана правилом {share} %, но нет в официальном перечне"}
    return pd.DataFrame({"Год перечня": rows["year"].astype(int), "Школа": rows["entity_id"].map(names),
                         "Код": rows["entity_id"], "Расхождение": rows["flag"].map(words)}).reset_index(drop=True)


def official_agreement(rep: Report, year: int) -> float | None:
    rows = _ind(rep, "shnor_official_agreement")
    rows = rows[rows["year"] == year]
    return None if rows.empty else float(rows["value"].iloc[0])


def method_comparison(rep: Report, year: int | None = None) -> pd.DataFrame:
    """Where the Rosobrnadzor rule and the alternative (ФИОКО-style) method differ in `year`."""
    year = year or list_year(rep)
    alt = shnor.alternative_list(rep.indicators, rep.meth)
    alt = alt[(alt["year"] == year) & alt["school_id"].isin(rep.school_ids)].set_index("school_id")
    st = _status(rep)
    rule = set(st[(st["year"] == year) & (st["shnor"] == 1)]["school_id"])
    alt_on = set(alt.index[alt["alt"]])
    excluded = set(alt.index[alt["excluded"] & alt["candidate"]])
    names = rep.school_names()
    rows = []
    for sid in sorted(rule ^ alt_on | (excluded & rule)):
        if sid in rule and sid in alt_on:
            continue
        how = (f"только по правилу {rule_share(rep)} %" if sid in rule else "только по альтернативному методу")
        if sid in excluded:
            how += "; исключена альтернативным методом из-за признаков необъективности"
        rows.append({"Школа": names.get(sid, sid), "Код": sid, "Где в перечне": how})
    return pd.DataFrame(rows)


# ---- context -------------------------------------------------------------------------------
def _va(rep: Report) -> pd.DataFrame:
    return A.region(rep, "context-table")   # value added of every school of the region


def context_year(rep: Report) -> int | None:
    """Latest result year ≤ the report year that has value added."""
    va = _va(rep)
    years = sorted(y for y in va["year"].unique() if y <= rep.year) if len(va) else []
    return int(years[-1]) if years else None


def context_frame(rep: Report) -> pd.DataFrame:
    """Chart data: every school of the region in the context year (social index, result,
    expected); `группа` marks the report's schools (others are shown only as points)."""
    va = _va(rep)
    y = context_year(rep)
    if y is None:
        return pd.DataFrame()
    part = va[va["year"] == y].copy()
    status = _status(rep)
    listed = set(status[(status["year"] == rep.year) & (status["shnor"] == 1)]["school_id"])
    mine = part["school_id"].isin(rep.school_ids)
    part["группа"] = "другие школы региона"
    part.loc[mine, "группа"] = "школы отчёта"
    part.loc[mine & part["school_id"].isin(listed), "группа"] = "ШНОР"
    part.loc[mine & (part["verdict"] == "выше ожидаемого"), "группа"] = "выше ожидаемого"
    return part


def value_added_table(rep: Report, top: int | None = None) -> tuple[pd.DataFrame, list]:
    """The report's schools by contextual value added (context year): cluster, actual, expected,
    value added with its 95 % interval, verdict, difference from the cluster mean."""
    part = context_frame(rep)
    if part.empty:
        return pd.DataFrame(), []
    part = part[part["school_id"].isin(rep.school_ids)].sort_values("va", ascending=False)
    names = rep.school_names()
    rows, classes = [], []
    for r in records(part):
        rows.append({"Школа": names.get(r.school_id, r.school_id), "Кластер": r.cluster,
                     "Индекс благополучия": fmt_num(r.social_index, 1),
                     "Результат, п.п.": _signed(r.result), "Ожидаемый, п.п.": _signed(r.expected),
                     "Добавленная ценность, п.п.": _signed(r.va),
                     f"ДИ {ci_level(rep.meth.threshold('context.z'))} %": f"{_signed(r.va_low)} … {_signed(r.va_high)}",
                     "Против среднего кластера, п.п.": _signed(r.result - r.cluster_mean), "Оценка": r.verdict})
        classes.append({"выше ожидаемого": "shnor-ok", "ниже ожидаемого": "shnor-flag"}.get(r.verdict, ""))
    return pd.DataFrame(rows), classes


def mentors_table(rep: Report) -> pd.DataFrame:
    """For each ШНОР / risk school of the scope: mentor candidates of the same cluster among the
    scope's schools with positive value added in the context year."""
    va = _va(rep)
    y = context_year(rep)
    if y is None:
        return pd.DataFrame()
    st = _status(rep)
    all_status = rep.indicators[(rep.indicators["level"] == "school")
                                & rep.indicators["indicator_id"].isin(["shnor", "risk_school"])
                                & (rep.indicators["year"].isin([rep.year, y])) & (rep.indicators["value"] == 1)]
    low_all = set(all_status["entity_id"])
    low_mine = set(st[((st["year"] == rep.year) & (st["shnor"] == 1)) | ((st["year"] == y) & (st["risk_school"] == 1))]["school_id"])
    pairs = context.mentor_candidates(va[(va["year"] == y) & va["school_id"].isin(rep.school_ids)], low_all, rep.meth.threshold("context.mentors_per_school"))
    pairs = pairs[pairs["school_id"].isin(low_mine)]
    # a municipality report names only its own schools (others are shown in the region's report)
    pairs = pairs[pairs["school_id_mentor"].isin(rep.school_ids)]
    names = rep.school_names()
    return pd.DataFrame({"Школа с низкими результатами": pairs["school_id"].map(names),
                         "Кластер": pairs["cluster"],
                         "Кандидат в наставники": pairs["school_id_mentor"].map(names),
                         "Добавленная ценность наставника, п.п.": pairs["va_mentor"].map(_signed),
                         "Значимо выше ожидаемого": pairs["significant"].map({True: "да", False: "нет"})})


def _signed(v) -> str:
    if v is None or pd.isna(v):
        return "—"
    return (f"{'+' if v > 0 else '−' if v < 0 else ''}{abs(v):.1f}").replace(".", ",")


# ---- risk profiles -------------------------------------------------------------------------
def risk_distribution(rep: Report) -> pd.DataFrame:
    if not rep.ds.has("risk_profiles"):
        return pd.DataFrame()
    rp = rep.ds.risk_profiles
    years = [y for y in A.region(rep, "table-years", "risk_profiles") if y <= rep.year]   # the region's years
    if not years:
        return pd.DataFrame()
    return risk_profiles.level_distribution(rp, rep.meth, rep.school_ids, int(years[-1]))


def risk_profile_table(rep: Report) -> pd.DataFrame:
    if not rep.ds.has("risk_profiles") or rep.scope != "school":
        return pd.DataFrame()
    return risk_profiles.school_profile(rep.ds.risk_profiles, rep.meth, rep.entity_id)


# ---- findings ------------------------------------------------------------------------------
def findings(rep: Report) -> list[Finding]:
    """«На что обратить внимание» of shnor_selection."""
    src = rep.meth.source("low_results_rule.share_failed")
    out: list[Finding] = []
    year = list_year(rep)
    table, _ = selection_table(rep, year)
    if len(table):
        new = (table["Изменение"] != "остаётся в перечне").sum()
        out.append(Finding(f"В перечне ШНОР на {year} г. — {len(table)} {plural(len(table), 'школа', 'школы', 'школ')}, из них {new} впервые или повторно.",
                           rule=source_rule(rep), source=src, severity="flag"))
    out += rep.school_flag_findings(SPEC.index_flags, year,
                                    source=rep.meth.source("low_results_rule.share_failed"))
    nxt, _ = selection_table(rep, year + 1)
    if len(nxt):
        out.append(Finding(f"По результатам {year} г. в перечень на {year + 1} г. {plural(len(nxt), 'попадёт', 'попадут', 'попадут')} {len(nxt)} {plural(len(nxt), 'школа', 'школы', 'школ')} (прогноз).",
                           rule=source_rule(rep), source=src, severity="warning"))
    diff = official_differences(rep)
    diff = diff[diff["Год перечня"] == year] if len(diff) else diff
    for r in records(diff.head(FINDING_LISTED)):
        out.append(Finding(f"{r.Школа}: {r.Расхождение} ({year} г.).", rule="сравнение с официальным перечнем (official_shnor)",
                           source="seed 003: список ФИОКО из ФИС ОКО", severity="warning"))
    if len(diff) > FINDING_LISTED:
        more = len(diff) - FINDING_LISTED
        out.append(Finding(f"Ещё {more} {plural(more, 'расхождение', 'расхождения', 'расхождений')} с официальным перечнем "
                           "— все в разделе «Сравнение с официальным перечнем».", severity="warning"))
    part = context_frame(rep)
    if len(part):
        good = part[part["school_id"].isin(rep.school_ids) & (part["verdict"] == "выше ожидаемого")
                    & (part["social_index"] < rep.meth.threshold("context.index_bands")[0])]
        names = rep.school_names()
        good = good.sort_values("va", ascending=False)
        for r in records(good.head(FINDING_LISTED)):
            out.append(Finding(f"{names.get(r.school_id, r.school_id)}: в трудных условиях (индекс {fmt_num(r.social_index, 1)}) "
                               f"результат выше ожидаемого на {_signed(r.va)} п.п. — возможный наставник.",
                               rule=f"контекстная добавленная ценность: ДИ {ci_level(rep.meth.threshold('context.z'))} % выше 0",
                               source=rep.meth.source("context.index_bands"), severity="info"))
        if len(good) > FINDING_LISTED:
            more = len(good) - FINDING_LISTED
            out.append(Finding(f"Ещё {more} {plural(more, 'школа', 'школы', 'школ')} в трудных условиях с результатом выше "
                               "ожидаемого (возможные наставники) — все в разделе «Контекст: кластеры и добавленная ценность».",
                               severity="info"))
    return out


# ---- school passport -----------------------------------------------------------------------
def passport_flags(rep: Report, year: int | None = None) -> pd.DataFrame:
    """Every flag of the school in `year` from EVERY analysis, read generically from the indicator
    table: a school-level row with a flag (other than «not_flags»), or a 0/1 indicator equal to 1."""
    year = year or rep.year
    words = rep.meth.words
    own = rep.rows_of("school", rep.entity_id)
    mine = own[own["year"] == year]
    # indicators whose every value is 0 or 1: over the region's shared table (region-wide: precomputed by
    # the batch for a kernel holding one municipality's rows) and the school's own rows (which its report
    # may show in full)
    everywhere = rep.region_wide("binary-indicators", lambda: A.binary(rep.shared))
    here = A.binary(own)
    binary_ids = {i for i in set(everywhere.index) | set(here.index) if everywhere.get(i, True) and here.get(i, True)}
    skip = set(rep.meth.data.get("flags", {}).get("not_flags", [])) | {"forecast"}
    flagged = mine[mine["flag"].notna() & ~mine["flag"].isin(skip)]
    binary = mine[mine["indicator_id"].isin(binary_ids) & (mine["value"] == 1) & ~mine.index.isin(flagged.index)]
    rows = pd.concat([flagged, binary])
    out = []
    for r in records(rows):
        what = ", ".join(str(x) for x in (r.exam if pd.notna(r.exam) and r.exam != "ВПР" else None,
                                           r.subject if pd.notna(r.subject) else None,
                                           f"{int(r.grade)} класс" if pd.notna(r.grade) and (pd.isna(r.exam) or r.exam == "ВПР") else None)
                         if x)
        out.append({"Показатель": words.name(r.indicator_id), "Где": what or "школа в целом",
                    "Значение": fmt_num(r.value, 1) if not (r.indicator_id in binary_ids) else "да",
                    "Отметка": words.flag(r.flag) if pd.notna(r.flag) else "", "Анализ": r.indicator_id})
    return pd.DataFrame(out)


def passport_summary(rep: Report) -> pd.DataFrame:
    """Status of the school by year: low procedures, risk school, ШНОР, value added."""
    st = _status(rep)
    va = _va(rep)
    va = va[va["school_id"] == rep.entity_id].set_index("year") if len(va) else pd.DataFrame()
    rows = []
    for r in records(st.sort_values("year")):
        y = int(r.year)
        v = va.loc[y] if len(va) and y in va.index else None
        rows.append({"Год": y, "Процедур с низкими результатами": fmt_num(r.low_procedures, 0),
                     "Школа риска": _yes(r.risk_school), "В перечне ШНОР на год": _yes(r.shnor),
                     "Добавленная ценность, п.п.": _signed(v["va"]) if v is not None else "—",
                     "Оценка": v["verdict"] if v is not None else "—"})
    return pd.DataFrame(rows)


def _yes(v) -> str:
    return "—" if v is None or pd.isna(v) else ("да" if v == 1 else "нет")


def passport_links(rep: Report) -> list[tuple[str, str]]:
    """(title, relative href) of the school's other reports: siblings in output/school/<id>/ for
    every school-scope template that exists, and the municipality's shnor_selection."""
    links = []
    folder = Path(rep.parameters.get("templates") or ".")   # the batch passes its templates folder
    for path in sorted(folder.glob("*.ipynb")):
        if path.stem == rep.template:
            continue
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("shnor", {})
        scopes = meta.get("scopes", [])
        if "school" in scopes:
            links.append((meta.get("title", path.stem), f"{path.stem}.html"))
        elif "municipality" in scopes and rep.municipality_id:
            links.append((f"{meta.get('title', path.stem)} — муниципалитет",
                          f"../../municipality/{rep.municipality_id}/{path.stem}.html"))
    return links


def show_links(links: list[tuple[str, str]]) -> None:
    """A list of relative links (titles and hrefs escaped)."""
    if not links:
        return
    items = "".join(f'<li><a href="{esc(href)}">{esc(title)}</a></li>' for title, href in links)
    display_html(f"<ul>{items}</ul>")


def passport_findings(rep: Report) -> list[Finding]:
    flags = passport_flags(rep)
    out = []
    for r in records(flags):
        out.append(Finding(f"{r.Показатель}: {r.Где}" + (f" — {r.Отметка}" if r.Отметка else ""),
                           rule=f"показатель {r.Анализ}", source="таблица показателей (все анализы)",
                           severity="flag" if r.Анализ in ("shnor", "risk_school") or r.Отметка else "warning"))
    return out


def finding_kinds(rep: Report) -> list[str]:
    """Kinds of the report's findings for «Что делать» (measures.yaml): schools on the list of the year."""
    table, _ = selection_table(rep)
    return ["low_results"] if len(table) else []
