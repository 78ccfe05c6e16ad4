"""What an analytical note on ВПР has (issue 14, point 6): the distribution of marks «2»–«5» by work
against the municipality and the region (ФИС ОКО «Статистика по отметкам»), the region table of
понизили / подтвердили / повысили by municipality, the names behind the work codes («ОМ-4»), and the
kinds of findings for «Что делать» (`analyses.measures`)."""
from __future__ import annotations

import pandas as pd

from shnor_utils.analyses import aggregates as A
from shnor_utils.analyses.aggregates import MARKS
from shnor_utils.analyses.objectivity import present as V
from shnor_utils.indicators.privacy import hidden
from shnor_utils.indicators.stats import wilson_ci
from shnor_utils.reporting.html import fmt_num, fmt_pct
from shnor_utils.reporting.report import Report
from shnor_utils.data.tables import records

mark_counts = A.mark_counts   # per school × subject × grade mark counts (computed region-wide in aggregates)
LEVEL_ORDER = {"школа": 0, "муниципалитет": 1, "регион": 2}
SHARES = {"vpr_journal_lower": "Понизили", "vpr_journal_confirm": "Подтвердили", "vpr_journal_higher": "Повысили"}


def mark_distribution(rep: Report) -> pd.DataFrame:
    """Numbers of the mark table: per work × level (школа / муниципалитет / регион): n and the share of
    each mark in percent. The works are those of the report's entity in the report year."""
    counts = A.region(rep, "vpr-mark-counts", rep.year)
    if counts.empty:
        return pd.DataFrame()
    keys = ["subject", "grade"]
    parts = []
    levels = {"school": ["школа", "муниципалитет", "регион"], "municipality": ["муниципалитет", "регион"],
              "region": ["регион"]}[rep.scope]
    schools = rep.ds.schools
    for level in levels:
        if level == "школа":
            sel = counts[counts["school_id"] == rep.entity_id]
        elif level == "муниципалитет":
            ids = schools.loc[schools["municipality_id"] == rep.municipality_id, "school_id"]
            sel = counts[counts["school_id"].isin(ids)]
        else:
            sel = counts
        g = sel.groupby(keys)[["n", *MARKS]].sum().reset_index().assign(уровень=level)
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    own = set(map(tuple, records(parts[0][keys])))
    out = out[[k in own for k in map(tuple, records(out[keys]))]]
    for m in MARKS:
        out[f"«{m}»"] = 100 * out[m] / out["n"]
    out["порядок"] = out["уровень"].map(LEVEL_ORDER)
    return out.sort_values(["grade", "subject", "порядок"]).drop(columns=["порядок"]).reset_index(drop=True)


def mark_table(rep: Report) -> tuple[pd.DataFrame, list]:
    """The ФИС ОКО «Статистика по отметкам» layout: work, level, participants, % «2» … % «5»; rows of
    the entity with fewer participants than the one small-group rule are grey (no conclusion)."""
    d = mark_distribution(rep)
    if d.empty:
        return d, []
    min_n = rep.meth.threshold("small_groups.min_for_share")
    first_level = d["уровень"].iloc[0]
    rows, classes = [], []
    for r in d.to_dict("records"):
        row = {"Работа": f"{r['subject']}, {int(r['grade'])} класс", "Уровень": r["уровень"], "Участников": fmt_num(r["n"], 0)}
        row.update({f"«{m}»": fmt_pct(r[f"«{m}»"]) for m in MARKS})
        rows.append(row)
        classes.append("shnor-small" if r["уровень"] == first_level and r["n"] < min_n else "")
    return pd.DataFrame(rows), classes


def municipalities_journal(rep: Report) -> tuple[pd.DataFrame, list]:
    """Region report: понизили / подтвердили / повысили by municipality, pooled over the works of the
    year (participants with both marks = n), with the difference of «понизили» from the region; a
    municipality whose Wilson interval of «понизили» lies wholly above the region is highlighted
    (groups smaller than small_groups.min_for_share never are)."""
    ind = rep.indicators
    rows = ind[ind["indicator_id"].isin(SHARES) & (ind["year"] == rep.year) & ind["level"].isin(["municipality", "region"])]
    rows = rows[~hidden(rows)]
    if rows.empty:
        return pd.DataFrame(), []
    pooled = rows.groupby(["level", "entity_id", "indicator_id"])[["numerator", "denominator"]].sum()
    share = (100 * pooled["numerator"] / pooled["denominator"]).unstack("indicator_id")
    n = pooled["denominator"].unstack("indicator_id").get("vpr_journal_confirm")
    lower_k = pooled["numerator"].unstack("indicator_id").get("vpr_journal_lower")
    if n is None or lower_k is None or ("region", "region") not in share.index:
        return pd.DataFrame(), []
    region_lower = share.loc[("region", "region"), "vpr_journal_lower"]
    names = rep.ds.schools.drop_duplicates("municipality_id").set_index("municipality_id")["municipality_name"]
    min_n = rep.meth.threshold("small_groups.min_for_share")
    z = rep.meth.threshold("objectivity_signs.z")
    mun = share.loc["municipality"].sort_values("vpr_journal_lower", ascending=False)
    out, classes = [], []
    for entity, r in mun.iterrows():
        nn = n.get(("municipality", entity))
        low, _ = wilson_ci(lower_k.get(("municipality", entity)), nn, z)
        diff = r["vpr_journal_lower"] - region_lower
        row = {"Муниципалитет": names.get(entity, entity), "Участников с обеими отметками (n)": fmt_num(nn, 0)}
        row.update({word: fmt_pct(r.get(ind_id)) for ind_id, word in SHARES.items()})
        row["«Понизили»: разница с регионом"] = ("+" if diff > 0 else "−" if diff < 0 else "") + fmt_num(abs(diff)) + " п.п."
        out.append(row)
        classes.append("shnor-flag" if nn >= min_n and float(low) > region_lower else "")
    region = {"Муниципалитет": "Регион", "Участников с обеими отметками (n)": fmt_num(n.get(("region", "region")), 0)}
    region.update({word: fmt_pct(share.loc[("region", "region"), ind_id]) for ind_id, word in SHARES.items()})
    region["«Понизили»: разница с регионом"] = "—"
    return pd.DataFrame([*out, region]), [*classes, ""]


def work_codes_note(rep: Report) -> str:
    """The short work codes of the charts in words: «РУ-4 — русский язык, 4 класс; ОМ-4 — окружающий мир, …»."""
    v = rep.own("vpr", rep.year)
    if v.empty:
        return ""
    works = v[["subject", "grade"]].drop_duplicates().sort_values(["grade", "subject"])
    parts = [f"{rep.meth.short(s)}-{int(g)} — {s.lower()}, {int(g)} класс" for s, g in records(works)]
    return "Обозначения работ на рисунках: " + "; ".join(parts) + "."


def finding_kinds(rep: Report) -> list[str]:
    """Kinds of the report's findings for «Что делать» (measures.yaml): official signs of the year in the
    report's schools; «понизили» far above the region (the journal-inflation school sign); in a school
    report, tasks below the ФИОКО mastery level (groups of at least small_groups.min_for_share)."""
    ind = rep.rows_of("school", rep.school_ids)
    ind = ind[ind["year"] == rep.year]
    kinds = []
    signs = ind[ind["indicator_id"].isin(["vpr_sign_inflated_mean", "vpr_sign_mark_mismatch", "vpr_sign_cohort_jump"])]
    if (signs["value"] == 1).any():
        kinds.append("objectivity_signs")
    if (ind.loc[ind["indicator_id"] == "vpr_journal_inflated", "value"] == 1).any():
        kinds.append("journal_mismatch")
    if rep.scope == "school" and "shnor-flag" in V.task_table(rep)[1]:
        kinds.append("task_deficits")
    return kinds
