"""Fair comparison instead of a league table (issue 16, point 4): the data of funnel plots for the key
shares — «понизили» and «2» in ВПР, below the minimum in ОГЭ / ЕГЭ — every school of the region pooled
over the works / subjects of the year, with the limits of `indicators.stats.funnel` around the region
share, a list of the schools beyond the widest limit and the comparison with similar schools (the
school's context cluster, `context.clusters`)."""
from __future__ import annotations

import re

import pandas as pd

from shnor_utils.analyses.context import compute as context
from shnor_utils.indicators.privacy import hidden
from shnor_utils.indicators.stats import funnel
from shnor_utils.reporting.funnel import funnel_plot, level_label
from shnor_utils.reporting.html import fmt_num, fmt_pct, plural
from shnor_utils.reporting.report import Report

BASE = re.compile(r" \((базовая|профильная)\)$")
POSITION = {"above": "выше верхней границы {outer}", "below": "ниже нижней границы {outer}",
            "above_inner": "выше границы {inner}, в пределах {outer}", "below_inner": "ниже границы {inner}, в пределах {outer}",
            "within": "в пределах границ {inner}"}


def levels(rep: Report) -> tuple[float, ...]:
    return tuple(sorted(rep.meth.threshold("funnel.levels")))


def _select(rows: pd.DataFrame, indicator_id: str, year: int, exam: str | None, subjects) -> pd.DataFrame:
    rows = rows[rows["indicator_id"] == indicator_id]
    if year is not None:
        rows = rows[rows["year"] == year]
    if exam is not None:
        rows = rows[rows["exam"] == exam]
    if subjects is not None:
        rows = rows[rows["subject"].astype("string").str.replace(BASE, "", regex=True).isin(subjects)]
    return rows


def _pooled(ind: pd.DataFrame, indicator_id: str, year: int, exam, subjects) -> tuple[float, float, pd.DataFrame]:
    """(Σ numerator, Σ denominator of the region rows, per-school sums of the school rows) of one
    selection; rows hidden in `ind` (privacy) enter no sum."""
    ind = _select(ind, indicator_id, year, exam, subjects)   # the selection first: no copy of the region's table
    region = ind[ind["level"] == "region"]
    return float(region["numerator"].sum()), float(region["denominator"].sum()), _school_sums(ind[ind["level"] == "school"])


def _school_sums(rows: pd.DataFrame) -> pd.DataFrame:
    """Σ numerator and Σ denominator per school of the rows not hidden (privacy)."""
    rows = rows[~hidden(rows)]
    return rows.groupby("entity_id")[["numerator", "denominator"]].sum()


def pooled_by_year(ind: pd.DataFrame, indicator_id: str, exam, subjects) -> dict:
    """{year: `_pooled` of that year} of one selection, for every year it has rows in `ind`."""
    ind = _select(ind, indicator_id, None, exam, subjects)
    return {int(y): _pooled(ind, indicator_id, int(y), exam, subjects) for y in ind["year"].dropna().unique()}


def points(rep: Report, indicator_id: str, *, exam: str | None = None, subjects=None) -> tuple[pd.DataFrame, float]:
    """(points, p0): one row per school of the region with entity_id, k, n, share (%), limits and
    position; p0 — the region share in percent (Σ over the region rows of the same selection).
    A small group hidden from this report (privacy) enters no school's sum.

    The region's sums, per year, are region-wide (`Report.region_wide`): computed once per kernel from
    the shared table of a whole-snapshot kernel, or read from what the batch computed once from the whole
    region (`analyses.aggregates.INDICATOR_SPECS`) in a kernel that holds one municipality's rows; a
    school's own report then puts back its own sums, in which its own small groups count (it may see itself)."""
    key = (indicator_id, exam, None if subjects is None else tuple(subjects))
    by_year = rep.region_wide("funnel-pooled", lambda: pooled_by_year(rep.shared, *key), *key)
    num, den, pooled = by_year.get(rep.year, (0.0, 0.0, None))
    if not den:
        return pd.DataFrame(), float("nan")
    p0 = num / den
    if rep.scope == "school":
        own = _school_sums(_select(rep.rows_of("school", rep.entity_id), indicator_id, rep.year, *key[1:]))
        pooled = pooled.drop(index=rep.entity_id, errors="ignore")
        if len(own):
            pooled = pd.concat([pooled, own]).sort_index()
    pooled = pooled[pooled["denominator"] > 0]
    t = rep.meth.threshold
    f = funnel(pooled["numerator"].to_numpy(), pooled["denominator"].to_numpy(), levels(rep), p0,
               adjust=bool(t("funnel.overdispersion")), winsor=t("funnel.winsorize"), min_groups=t("funnel.min_groups"))
    return f.assign(entity_id=pooled.index.to_numpy()), 100 * p0


def position_words(rep: Report, position) -> str:
    if position is None or pd.isna(position):
        return "—"
    lv = levels(rep)
    return POSITION[position].format(inner=level_label(lv[0]), outer=level_label(lv[-1]))


def outside_table(rep: Report, pts: pd.DataFrame) -> pd.DataFrame:
    """The report's schools beyond the widest limit, with n; groups smaller than the one small-group
    rule (small_groups.min_for_share) are not named — no conclusion is drawn from them."""
    if pts.empty:
        return pd.DataFrame()
    min_n = rep.meth.threshold("small_groups.min_for_share")
    hi, lo = f"high_{levels(rep)[-1]:g}", f"low_{levels(rep)[-1]:g}"
    sel = pts[pts["entity_id"].isin(rep.school_ids) & (pts["position"] == "above") & (pts["n"] >= min_n)]
    names = rep.school_names()
    sel = sel.sort_values("share", ascending=False)
    return pd.DataFrame({"Школа": [names.get(e, e) for e in sel["entity_id"]], "Код": sel["entity_id"].to_numpy(),
                         "Участников (n)": [fmt_num(v, 0) for v in sel["n"]], "Доля": [fmt_pct(v) for v in sel["share"]],
                         f"Границы {level_label(levels(rep)[-1])} при этом n": [f"{fmt_pct(a)} – {fmt_pct(b)}" for a, b in zip(sel[lo], sel[hi])],
                         "Положение": [position_words(rep, p) for p in sel["position"]]})


def peers(rep: Report) -> tuple[list, str | None]:
    """Schools of the report school's context cluster (itself excluded) and the cluster's name."""
    if rep.scope != "school":
        return [], None
    cl = rep.derived("context-clusters", lambda: context.clusters(rep.ds.schools, rep.meth))
    mine = cl[cl["school_id"] == rep.entity_id]
    if mine.empty:
        return [], None
    name = mine["cluster"].iloc[0]
    return [s for s in cl.loc[cl["cluster"] == name, "school_id"] if s != rep.entity_id], name


def school_sentence(rep: Report, pts: pd.DataFrame, what: str, p0: float) -> str:
    """School report: where the school lies in the funnel and how similar schools do (pooled share)."""
    mine = pts[pts["entity_id"] == rep.entity_id] if len(pts) else pts
    if mine.empty:
        return f"{what}: у школы нет данных за {rep.year} г."
    r = mine.iloc[0]
    min_n = rep.meth.threshold("small_groups.min_for_share")
    text = f"{what}: школа — {fmt_pct(r['share'])} (n = {fmt_num(r['n'], 0)}), регион — {fmt_pct(p0)}; "
    if r["n"] < min_n:
        text += f"участников меньше {fmt_num(min_n, 0)}: выводы не делаются"
    else:
        text += position_words(rep, r["position"])
    ids, name = peers(rep)
    same = pts[pts["entity_id"].isin(ids)]
    if len(same) and same["n"].sum() > 0:
        share = 100 * same["k"].sum() / same["n"].sum()
        text += (f". Похожие школы (кластер «{name}», {len(same)} {plural(len(same), 'школа', 'школы', 'школ')}): {fmt_pct(share)} "
                 f"(n = {fmt_num(same['n'].sum(), 0)})")
    return text + "."


def figure(rep: Report, pts: pd.DataFrame, p0: float, title: str, ylabel: str = "Доля, %"):
    """The funnel of the report: the school itself and its cluster in its own report, the schools of the
    municipality in a municipality report, all schools alike in the region report."""
    if rep.scope == "school":
        ids, _ = peers(rep)
        return funnel_plot(pts, p0=p0, levels=levels(rep), title=title, ylabel=ylabel, own=rep.entity_id, peers=ids)
    if rep.scope == "municipality":
        return funnel_plot(pts, p0=p0, levels=levels(rep), title=title, ylabel=ylabel, peers=list(rep.school_ids),
                           peers_label="школы муниципалитета")
    return funnel_plot(pts, p0=p0, levels=levels(rep), title=title, ylabel=ylabel)


VPR_SHARES = [("vpr_journal_lower", {}, "ВПР: доля участников, понизивших отметку по журналу"),
              ("vpr_share_2", {}, "ВПР: доля «2»")]
GIA_SHARES = [("gia_below_min", {"exam": "ОГЭ"}, "ОГЭ, русский язык и математика: доля результатов ниже минимума"),
              ("gia_below_min", {"exam": "ЕГЭ"}, "ЕГЭ, русский язык и математика: доля результатов ниже минимума")]


def _subjects(meth, indicator_id: str):
    """The subjects a key share pools (ГИА: the mandatory ones), None for all."""
    return tuple(meth.threshold("gia.mandatory_subjects")) if indicator_id == "gia_below_min" else None


def selections(meth) -> list[tuple]:
    """(indicator_id, exam, subjects) of every key share a report draws: the keys of the region-wide
    sums `points` reads (`analyses.aggregates.INDICATOR_SPECS`)."""
    return [(i, filters.get("exam"), _subjects(meth, i)) for i, filters, _ in [*VPR_SHARES, *GIA_SHARES]]


def key_shares(rep: Report, which: list) -> list[tuple[pd.DataFrame, float, str]]:
    """(points, p0, title) of each key share with data in the report year (ГИА: the mandatory subjects)."""
    out = []
    for indicator_id, filters, title in which:
        pts, p0 = points(rep, indicator_id, subjects=_subjects(rep.meth, indicator_id), **filters)
        if len(pts):
            out.append((pts, p0, title))
    return out


def note(rep: Report) -> str:
    """How to read the funnel, in words (levels from the methodology)."""
    lv = levels(rep)
    return (f"Каждая точка — школа: по горизонтали число участников (n), по вертикали доля. Линии — границы "
            f"{level_label(lv[0])} и {level_label(lv[-1])} вокруг доли по региону: у школы такого размера доля вне "
            f"этих границ случайно бывает редко (биномиальная модель). Малая школа далеко от региона часто остаётся в "
            f"границах — её отличие может быть случайным; школа за границей {level_label(lv[-1])} отличается от региона "
            f"и с учётом своего размера. Когда школы различаются между собой сильнее, чем объясняет случайность "
            f"(работы учеников одной школы не независимы), границы расширены на этот разброс: за ними остаются только "
            f"школы, необычные и на этом фоне. Школы с числом участников меньше "
            f"{fmt_num(rep.meth.threshold('small_groups.min_for_share'), 0)} в списках не называются (правило малых групп).")
