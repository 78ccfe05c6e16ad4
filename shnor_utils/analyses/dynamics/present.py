"""Presentation of the indicator-dynamics report: the series of every catalogue indicator of the
entity with DD, class and plan vs fact; series against municipality and region; findings."""
from __future__ import annotations

import re

import pandas as pd

from shnor_utils.analyses.dynamics import compute
from shnor_utils.analyses.dynamics.compute import CLASS_RU, DIRECTION_RU, plan_fact, tolerance, unsupported
from shnor_utils.reporting.report import Report
from shnor_utils.reporting.html import Finding, ci_level, fmt_num, plain, plural, threshold_text
from shnor_utils.data.tables import records

MAX_LISTED = 8


def catalogue(meth) -> dict:
    """The catalogue with its wording (name, formula) formatted by `meth.words` (thresholds filled in)."""
    return {i: meth.words.catalogue(i) for i in compute.catalogue(meth)}


# programme codes of the seed documents (R1–R14, C10a–d, I1–I4, «Т-объективность»): provenance, not reading
_CODES = re.compile(r"[,;]?\s*\b(?:[RCI]\d+[a-d]?(?:\s*[–-]\s*(?:[RCI]?\d+)?[a-d]?)?)(?=[\s,;:()]|$)")


_PLACE = re.compile(r"(seed \d{3})\s*\((?:г\. )?(?:Тюмень|Тула|Томская обл\.|Томск|Киренский район)(?:,\s*\d{4}(?:–\d{4})?)?\)")
_KEY = re.compile(r"\s*\(\s*(?:[a-z_]+\.)+[a-z_]+\s*\)")     # «(dynamics.shnor_positive_target)»: a methodology key


def reader_text(meth, text: str) -> str:
    """Text of a source as a reader sees it: documents by name (`plain`, without repeating their place
    and year), no programme codes, no methodology keys, «DD = D(t) − D(t−1)» in words."""
    text = _KEY.sub("", _PLACE.sub(r"\1", text or "")).replace("DD = D(t) − D(t−1)", "изменение за год")
    out = _CODES.sub("", _KEY.sub("", plain(meth, text)))
    out = re.sub(r"\bseed\b", "документ", out.replace("в seed ", "в документе "))
    return re.sub(r"\(\s*[,;]?\s*", "(", re.sub(r"\s{2,}", " ", out)).replace("()", "").strip(" ,;:")


def level_text(rep: Report) -> str:
    """«95» — the level of the interval of a change (dynamics.significance_z)."""
    return ci_level(rep.meth.threshold("dynamics.significance_z"))


def tolerance_note(rep: Report) -> str:
    """Note under the table of dynamics: arrows, the tolerance and the significance rule."""
    tol = fmt_num(tolerance(compute.catalogue(rep.meth)["vpr_share_2"], rep.meth), 0)
    return ("↑ — лучше, когда больше; ↓ — лучше, когда меньше. Изменение — значение отчётного года минус значение "
            "прошлого года (для долей — в процентных пунктах, п.п.); n — число участников (педагогов, ставок) в прошлом "
            "и в отчётном году. Динамика положительная или отрицательная, только если изменение не меньше допуска "
            f"показателя (для доли «2» — {tol} п.п., ФИОКО) и его {level_text(rep)}-процентный интервал не содержит нуля, "
            "то есть изменение нельзя объяснить случайным составом участников; иначе — «без существенных изменений». "
            "Группы меньше установленного минимума не оцениваются. Цель прошлых лет (программа завершилась) "
            "показывается для справки и не считается невыполненной.")


def positive_share_caption(rep: Report) -> str:
    return ("Таблица 2. Доля школ с положительной динамикой (цель для ШНОР — не менее "
            f"{threshold_text(rep.meth, 'dynamics.shnor_positive_target')} %, {reader_text(rep.meth, 'seed 001')})")


YES_NO = "да/нет"   # `school_values` of a catalogue entry whose school value is 1 or 0


def _unit(rep: Report, entry: dict) -> str:
    """The unit a value of `entry` is printed in: a school's 0/1 value as «да / нет» (`school_values`)."""
    return YES_NO if rep.scope == "school" and entry.get("school_values") == YES_NO else entry.get("unit", "")


def _name(rep: Report, entry: dict) -> str:
    return entry.get("school_name") or entry["name"] if rep.scope == "school" else entry["name"]


def _value(v, unit: str) -> str:
    if v is None or pd.isna(v):
        return "—"
    if unit == YES_NO:
        return "да" if float(v) >= 0.5 else "нет"
    if unit == "%":
        return fmt_num(v, compute.digits(unit)) + "\u00a0%"
    return fmt_num(v, compute.digits(unit))


def _dd(v, unit: str) -> str:
    """A change as printed: sign only when it is not zero at the printed precision («0,0», never «−0,0»)."""
    if v is None or pd.isna(v):
        return "—"
    if unit == YES_NO:   # 0 → 1 or 1 → 0
        return "нет → да" if v > 0 else "да → нет" if v < 0 else "без изменений"
    v = round(float(v), compute.digits(unit))
    sign = "+" if v > 0 else "−" if v < 0 else ""
    return sign + _value(abs(v), unit).replace("\u00a0%", "\u00a0п.п.")


def _label(name: str, subject, grade, exam) -> str:
    parts = [p for p in (exam if pd.notna(exam) else None, subject if pd.notna(subject) else None,
                         f"{int(grade)} класс" if pd.notna(grade) else None) if p]
    return name + (f" ({', '.join(parts)})" if parts else "")


def entity_series(rep: Report, level: str | None = None, entity: str | None = None) -> pd.DataFrame:
    """Long frame of the entity's catalogue indicators: id, subject, grade, exam, year, value, dd, class
    (once per report and entity: the table, the findings and the charts read it)."""
    level, entity = level or rep.scope, entity or rep.entity_id
    return rep.once("entity-series", lambda: _entity_series(rep, level, entity), level, entity)


def _entity_series(rep: Report, level: str, entity: str) -> pd.DataFrame:
    cat = catalogue(rep.meth)
    mine = rep.rows_of(level, entity)
    base = mine[mine["indicator_id"].isin(list(cat))]
    dd = mine[mine["indicator_id"].str.endswith("_dd")]
    dd = dd.assign(indicator_id=dd["indicator_id"].str[:-3])[["indicator_id", "subject", "grade", "exam", "year", "value",
                                                               "flag", "numerator", "ci_low", "ci_high"]]
    keys = ["indicator_id", "subject", "grade", "exam", "year"]
    merged = base[[*keys, "value", "denominator"]].merge(
        dd.rename(columns={"value": "dd", "flag": "class", "numerator": "n_prev", "ci_low": "dd_low", "ci_high": "dd_high"}),
        on=keys, how="left")
    return merged


def _n(v) -> str:
    return "—" if v is None or pd.isna(v) else fmt_num(v, 0)


def _target_text(pf: dict, unit: str) -> str:
    if pf["target"] is None:
        return "—"
    text = f"{_value(pf['target'], unit)} ({pf['target_year']} г."
    if pf.get("stale"):
        text += ", срок цели истёк"
    if pf.get("capped"):
        text += ", ограничено максимумом доли"
    return text + ")"


def dynamics_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """One row per indicator (× subject × grade × exam) of the entity: values by year, the change of
    the report year with n of both years and its interval, class, and the target with the gap."""
    cat = catalogue(rep.meth)
    s = entity_series(rep)
    if s.empty:
        return pd.DataFrame(), []
    years = sorted(int(y) for y in s["year"].dropna().unique() if int(y) <= rep.year)[-5:]
    order = {ind: i for i, ind in enumerate(cat)}
    s = s.assign(_o=s["indicator_id"].map(order)).sort_values(["_o", "exam", "subject", "grade", "year"], na_position="first")
    level = level_text(rep)
    # one pass over the sorted rows (a groupby with a frame per group cost ≈ 1 ms a row of the table)
    groups: dict = {}
    cols = ["indicator_id", "subject", "grade", "exam", "year", "value", "denominator", "dd", "class", "n_prev", "dd_low", "dd_high"]
    for r in records(s[cols].rename(columns={"class": "cls"})):
        key = tuple(None if pd.isna(v) else v for v in (r.indicator_id, r.subject, r.grade, r.exam))
        g = groups.get(key)
        if g is None:
            g = groups[key] = {"key": (r.indicator_id, r.subject, r.grade, r.exam), "values": {}, "cur": None}
        if pd.notna(r.year):
            g["values"].setdefault(int(r.year), r.value)
            if int(r.year) == rep.year and g["cur"] is None:
                g["cur"] = r
    out, classes = [], []
    for g in groups.values():
        cur = g["cur"]
        if cur is None:
            continue
        ind, subject, grade, exam = g["key"]
        entry = cat[ind]
        unit = _unit(rep, entry)
        row = {"Показатель": _label(_name(rep, entry), subject, grade, exam), "Лучше": "↑" if entry["direction"] == "higher" else "↓"}
        for y in years:
            row[str(y)] = _value(g["values"].get(y), unit)
        row[f"n, {rep.year - 1} / {rep.year}"] = f"{_n(cur.n_prev)} / {_n(cur.denominator)}" if pd.notna(cur.dd) else _n(cur.denominator)
        row["Изменение"] = _dd(cur.dd, unit)
        row[f"Интервал изменения ({level} %)"] = (f"{_dd(cur.dd_low, unit)} … {_dd(cur.dd_high, unit)}"
                                                  if pd.notna(cur.dd_low) else "—")
        cls = cur.cls if pd.notna(cur.cls) else None
        row["Динамика"] = CLASS_RU.get(cls, "—")
        pf = plan_fact(cur.value, entry, rep.year, {"level": rep.scope, "subject": subject, "grade": grade, "exam": exam})
        row["Цель"] = _target_text(pf, unit)
        row["Факт − цель"] = _dd(pf["gap"], unit) if pf["gap"] is not None else "—"
        out.append(row)
        classes.append({"negative": "shnor-flag", "positive": "shnor-ok", "small_group": "shnor-small"}.get(cls, ""))
    return pd.DataFrame(out), classes


SIGNIFICANT = ("negative", "positive")   # the order of the short table of a school: worse first


def row_class_keys(table: pd.DataFrame) -> pd.Series:
    """The class of each row of `dynamics_table` as its key («negative», «stable», …; None without one)."""
    back = {ru: key for key, ru in CLASS_RU.items()}
    return table["Динамика"].map(back) if len(table) else pd.Series(dtype=object)


def significant_rows(table: pd.DataFrame, classes: list) -> tuple[pd.DataFrame, list]:
    """The rows of `dynamics_table` with a significant change: negative first, then positive, each in
    the table's (catalogue) order — the short table a school's page shows first."""
    keys = row_class_keys(table)
    order = [i for k in SIGNIFICANT for i in table.index[keys == k]]
    return table.loc[order].reset_index(drop=True), [classes[i] for i in order]


def _count(n: int) -> str:
    return f"{n} {plural(n, 'показатель', 'показателя', 'показателей')}"


def quiet_sentence(rep: Report, table: pd.DataFrame) -> str:
    """«Без существенных изменений — 128 показателей; …»: what the short table leaves out, counted
    from the full table, and where the full list is."""
    keys = row_class_keys(table)
    stable = int((keys == "stable").sum())
    unrated = int((~keys.isin([*SIGNIFICANT, "stable"])).sum())
    word = rep.meth.words.flag("stable")
    text = f"{word[:1].upper()}{word[1:]} — {_count(stable)}"
    if unrated:   # «у 1 показателя», «у 2 показателей», «у 21 показателя»
        text += (f"; ещё у {unrated} {plural(unrated, 'показателя', 'показателей', 'показателей')} изменение не "
                 "оценивается (мало участников или нет данных прошлого года)")
    return text + (f". Полный список ({_count(len(table))}) — в свёрнутой таблице ниже и в её файле CSV "
                   "(в печатной версии не показывается).")


def full_list_summary(table: pd.DataFrame) -> str:
    return f"Все показатели ({len(table)}): значения по годам и динамика — развернуть"


def chart_series(rep: Report, indicator_id: str, **filters) -> pd.DataFrame:
    """Series of one indicator for the entity, its municipality and the region (for a line chart);
    `forecast` marks a forecast year (drawn dashed, never as a fact). A school's 0/1 status (in the
    list or not: no denominator) is not a share: it is left off the % axis and said in words
    (`attrs["note"]`); without a municipality or region series there is no chart (empty frame)."""
    rows = rep.level_rows(indicator_id, **filters)
    for c in ("subject", "grade", "exam"):
        if c not in filters:
            rows = rows[rows[c].isna()]
    rows = rows.assign(forecast=rows["flag"].eq("forecast").fillna(False).astype(bool))
    out = rows[["year", "value", "уровень", "forecast"]].astype({"year": int, "value": "float64"}).sort_values("year")
    own = rows[rows["уровень"] == "школа"]
    status = (len(own) and own["denominator"].isna().all() and own["value"].dropna().isin([0, 1]).all()
              and catalogue(rep.meth).get(indicator_id, {}).get("unit") == "%")
    if not status:
        return out
    out = out[out["уровень"] != "школа"].reset_index(drop=True)
    yes = [f"{int(r.year)}{' (прогноз)' if r.forecast else ''}" for r in records(own.sort_values("year"), index=True)
           if r.value == 1]
    out.attrs["note"] = ("Для школы это отметка «да/нет», а не доля: «да» — "
                         + (", ".join(yes) + " г." if yes else "ни в одном году ряда") + ".")
    return out


def chart_indicators(rep: Report) -> list[str]:
    """Catalogue indicators with a total series (no subject/grade split) of the entity, ≥ 2 years."""
    s = entity_series(rep)
    s = s[s["subject"].isna() & s["grade"].isna() & s["exam"].isna()]
    counts = s.groupby("indicator_id")["year"].nunique()
    cat = list(catalogue(rep.meth))
    return [i for i in cat if counts.get(i, 0) >= 2]


def positive_share_table(rep: Report) -> pd.DataFrame:
    """«Доля ШНОР с положительной динамикой» (seed 001, dynamics.shnor_positive_target) and the НСУ analogue (seed 004, I3) by year."""
    cat = catalogue(rep.meth)
    ind = rep.rows_of(rep.scope, rep.entity_id)
    out = []
    for iid in ("shnor_positive_dynamics", "nsu_positive_dynamics"):
        rows = ind[ind["indicator_id"] == iid]
        for _, r in rows.sort_values("year").iterrows():
            stale = False
            if iid == "shnor_positive_dynamics":
                target, ty = rep.meth.threshold("dynamics.shnor_positive_target"), None
            else:
                pf = plan_fact(r["value"], cat[iid], int(r["year"]))
                target, ty, stale = pf["target"], pf["target_year"], pf["stale"]
            out.append({"Показатель": cat[iid]["name"], "Год": int(r["year"]),
                        "Школ в перечне (оценено)": fmt_num(r["denominator"], 0),
                        "С положительной динамикой": fmt_num(r["numerator"], 0), "Доля": _value(r["value"], "%"),
                        "Цель": ("—" if target is None else f"≥ {_value(target, '%')}" + (f" ({ty} г.)" if ty else "")),
                        "Оценка": ("срок цели истёк" if stale else "ниже цели" if pd.notna(r["flag"]) and r["flag"] == "below_target"
                                   else ("цель достигнута" if target is not None else ""))})
    return pd.DataFrame(out)


def catalogue_table(rep: Report) -> pd.DataFrame:
    """The catalogue: name, formula, unit, direction (with its reason), tolerance, source, status."""
    status = {"computed": "рассчитывается", "supportable": "данные есть, расчёт в другом отчёте"}

    def direction(e):
        reason = reader_text(rep.meth, e.get("direction_reason", ""))
        return DIRECTION_RU[e["direction"]] + (f": {reason}" if reason else "")
    return pd.DataFrame([{"Показатель": e["name"], "Формула": e["formula"], "Ед.": e["unit"],
                          "Направление": direction(e),
                          "Допуск изменения": fmt_num(tolerance(e, rep.meth), 1),
                          "Источник": reader_text(rep.meth, e["source"]), "Статус": status.get(e["status"], e["status"])}
                         for e in catalogue(rep.meth).values()])


def unsupported_table(rep: Report) -> pd.DataFrame:
    return pd.DataFrame([{"Документ": reader_text(rep.meth, f"seed {u['seed']}" if str(u["seed"]).isdigit() else str(u["seed"])),
                          "Показатель": reader_text(rep.meth, u["name"]), "Почему не рассчитывается": reader_text(rep.meth, u["reason"])}
                         for u in unsupported(rep.meth)])


def findings(rep: Report) -> list[Finding]:
    """Negative dynamics of the report year and missed targets, with rule and source."""
    cat = catalogue(rep.meth)
    s = entity_series(rep)
    cur = s[s["year"] == rep.year]
    out = []
    neg = cur[cur["class"] == "negative"]
    for _, r in neg.head(MAX_LISTED).iterrows():
        e = cat[r["indicator_id"]]
        tol = tolerance(e, rep.meth)
        out.append(Finding(
            (f"{_label(_name(rep, e), r['subject'], r['grade'], r['exam'])}: {_dd(r['dd'], YES_NO)} "
             f"({rep.year - 1} → {rep.year} г.), отрицательная динамика." if _unit(rep, e) == YES_NO else
             f"{_label(_name(rep, e), r['subject'], r['grade'], r['exam'])}: отрицательная динамика, изменение {_dd(r['dd'], e['unit'])} "
             f"({_value(r['value'], e['unit'])} в {rep.year} г.; n = {_n(r['n_prev'])} / {_n(r['denominator'])})."),
            rule=(f"изменение за год; {DIRECTION_RU[e['direction']]}; допуск {fmt_num(tol, 1)}; "
                  f"{level_text(rep)}-процентный интервал изменения не содержит нуля"),
            source=e.get("tolerance_source") or (e["source"] if e.get("tolerance") is not None
                                                 else rep.meth.source("dynamics.tolerance_pp")), severity="flag"))
    if len(neg) > MAX_LISTED:
        out.append(Finding(f"И ещё {len(neg) - MAX_LISTED} показателей с отрицательной динамикой — см. таблицу.",
                           rule="изменение за год", source="seed 001"))
    for _, r in cur.iterrows():
        e = cat[r["indicator_id"]]
        pf = plan_fact(r["value"], e, rep.year,
                       {"level": rep.scope, "subject": r["subject"], "grade": r["grade"], "exam": r["exam"]})
        if pf["met"] is False and not (pd.notna(r["denominator"]) and r["denominator"] < rep.meth.threshold("staffing.min_teachers")):
            out.append(Finding(f"{_label(e['name'], r['subject'], r['grade'], r['exam'])}: факт {_value(r['value'], e['unit'])} — "
                               f"цель {_value(pf['target'], e['unit'])} ({pf['target_year']} г.) не достигнута.",
                               rule=f"план/факт: {e.get('target_rule', 'не менее')}", source=e.get("target_source") or e["source"],
                               severity="warning"))
    if rep.scope != "school":
        share = rep.indicators
        low = share[(share["indicator_id"] == "shnor_positive_dynamics") & (share["level"] == rep.scope)
                    & (share["entity_id"] == rep.entity_id) & (share["year"] == rep.year) & (share["flag"] == "below_target")]
        if len(low):
            out.append(Finding(f"Доля ШНОР с положительной динамикой результатов {_value(low['value'].iloc[0], '%')} — ниже цели.",
                               rule=f"≥ {rep.meth.threshold('dynamics.shnor_positive_target')} %",
                               source=rep.meth.source("dynamics.shnor_positive_target"), severity="flag"))
    return out
