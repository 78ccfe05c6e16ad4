"""Teacher deficits (docs/METHODOLOGY.md §4): staffing (кадровые дефициты, ОО-1 раздел 3) and
professional deficits (профессиональные дефициты, seeds 001, 003, 004).

Every indicator is computed per school × year from the canonical tables `staffing`, `teachers`,
`teacher_development`, `teacher_diagnostics` and rolled up to municipality and region by
summing counts (so a municipal share is Σ numerators / Σ denominators). Only aggregates leave
this module: no teacher id reaches the indicator table.

Indicator ids (shares in %, Wilson 95 % CI):
- `vacancies` — число вакантных должностей (ОО-1 3.4 гр.13); subject = предмет for teacher posts.
- `staffing_rate` — укомплектованность = 100·Σ ставок занято / Σ ставок по штату (3.4 гр.4 / гр.3).
- `specialist_staffing_rate` — the same over specialist posts (seed 004, I4); subject = должность.
- `teacher_load` — ставок на учителя = Σ ставок / число учителей (3.4 гр.4 / 3.1 гр.3).
- `teachers_part_time`, `teachers_no_ped_education`, `teachers_category_high`,
  `teachers_category_first`, `teachers_under_35`, `teachers_pension_age`, `young_specialists`
  — shares of teachers (учителя, ОО-1 стр. 07).
- `teacher_turnover` — % of the school's teachers of year t−1 who are not there in year t (3.4 гр.10 / гр.6).
- `teachers_with_deficit` — % of diagnosed teachers with a deficit (score < threshold of max) in ≥ 1 block;
  `teachers_with_deficit_block` — the same per block (subject = блок).
- `teachers_diagnosed`, `teachers_with_iom`, `iom_completed_deficit_reduced`,
  `teachers_post_course_support`, `teachers_network_mentoring`, `teachers_competence_raised`
  — shares of all pedagogical workers of `teacher_development` (seed 001 УД/У, Пк/П, Пс/П;
  seed 003 ожидаемый результат 9; seed 004 I1).
"""
from __future__ import annotations

import pandas as pd

from shnor_utils.indicators.table import rollup_counts, share_rows
from shnor_utils.methodology import Methodology

DEVELOPMENT = {  # indicator id → teacher_development column (numerator); denominator = all teachers
    "teachers_diagnosed": "diagnosed",
    "teachers_with_iom": "has_iom",
    "iom_completed_deficit_reduced": "completed_reduced",
    "teachers_post_course_support": "post_course_support",
    "teachers_network_mentoring": "network_mentoring",
    "teachers_competence_raised": "competence_raised",
}
TEACHER_SHARES = ("teachers_part_time", "teachers_no_ped_education", "teachers_category_high",
                  "teachers_category_first", "teachers_under_35", "teachers_pension_age", "young_specialists")


def _small(rows: pd.DataFrame, meth: Methodology) -> pd.Series:
    """'small_group' where fewer teachers than `staffing.min_teachers` stand behind a share."""
    return pd.Series(pd.NA, index=rows.index, dtype="string").mask(
        rows["denominator"] < meth.threshold("staffing.min_teachers"), "small_group")


# ---- staffing ---------------------------------------------------------------------------------
def staffing_counts(staffing: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year × subject (teacher posts by subject, NA = all posts): vacancies, rates
    planned and filled; specialist posts get subject = the position, `kind` = 'specialist'."""
    specialists = meth.threshold("staffing.specialist_positions")
    st = staffing.assign(vacancies=staffing["vacancies"].astype("float64"))
    sums = ["vacancies", "rates_planned", "rates_filled"]
    total = st.groupby(["school_id", "year"], as_index=False)[sums].sum().assign(subject=pd.NA, kind="all")
    teach = st[st["position"] == meth.threshold("staffing.teacher_position")]
    by_subject = (teach.dropna(subset=["subject"]).groupby(["school_id", "year", "subject"], as_index=False)[sums]
                  .sum().assign(kind="all"))
    spec = st[st["position"].isin(specialists)]
    spec_total = spec.groupby(["school_id", "year"], as_index=False)[sums].sum().assign(subject=pd.NA, kind="specialist")
    spec_pos = (spec.groupby(["school_id", "year", "position"], as_index=False)[sums].sum()
                .rename(columns={"position": "subject"}).assign(kind="specialist"))
    return pd.concat([total, by_subject, spec_total, spec_pos], ignore_index=True)


def staffing_indicators(ds, meth: Methodology) -> pd.DataFrame:
    """`vacancies`, `staffing_rate`, `specialist_staffing_rate` at every level."""
    counts = staffing_counts(ds.staffing, meth)
    rolled = rollup_counts(counts, ds.schools, ["year", "subject", "kind"],
                           ["vacancies", "rates_planned", "rates_filled"])
    rate = 100 * rolled["rates_filled"] / rolled["rates_planned"].where(rolled["rates_planned"] > 0)
    rates = rolled.assign(value=rate, numerator=rolled["rates_filled"], denominator=rolled["rates_planned"])
    # rates are ставки, not counts of people: no binomial interval
    rates["indicator_id"] = rates["kind"].map({"all": "staffing_rate", "specialist": "specialist_staffing_rate"})
    below = meth.threshold("staffing.staffing_rate_below")
    rates["flag"] = pd.Series(pd.NA, index=rates.index, dtype="string").mask(
        (rates["indicator_id"] == "staffing_rate") & (rates["value"] < below), "below_target")
    vac = rolled[rolled["kind"] == "all"]
    vac = vac.assign(indicator_id="vacancies", value=vac["vacancies"], numerator=vac["vacancies"],
                     flag=pd.Series(pd.NA, index=vac.index, dtype="string").mask(vac["vacancies"] > 0, "vacancy"))
    return pd.concat([rates, vac], ignore_index=True).drop(columns=["kind"])


# ---- teacher composition ------------------------------------------------------------------------
def teacher_people(teachers: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """One row per teacher (учитель) × school × year: total rate and the person's attributes."""
    t = teachers[teachers["position"] == meth.threshold("staffing.teacher_position")]
    return (t.groupby(["school_id", "year", "teacher_id"], as_index=False)
            .agg(rate=("rate", "sum"), part_time=("part_time", "max"), ped=("pedagogical_education", "max"),
                 category=("category", "first"), age=("age", "first"), experience=("experience_years", "first")))


def teacher_counts(teachers: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year: number of teachers, Σ rates and the numerators of TEACHER_SHARES."""
    p = teacher_people(teachers, meth)
    flags = pd.DataFrame({
        "teachers": 1, "rates": p["rate"],
        "teachers_part_time": p["part_time"].astype(bool),
        "teachers_no_ped_education": ~p["ped"].astype(bool),
        "teachers_category_high": p["category"].eq("высшая"),
        "teachers_category_first": p["category"].eq("первая"),
        "teachers_under_35": p["age"].astype("float64") < meth.threshold("staffing.young_age_below"),
        "teachers_pension_age": p["age"].astype("float64") >= meth.threshold("staffing.pension_age_from"),
        "young_specialists": p["experience"].astype("float64") < meth.threshold("staffing.young_specialist_experience_below"),
    })
    numeric = flags.astype("float64")
    return pd.concat([p[["school_id", "year"]], numeric], axis=1).groupby(["school_id", "year"], as_index=False).sum()


def turnover_counts(teachers: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year t: teachers of t−1 (`before`) and those of them absent in t (`left`).

    Only years whose previous year is in the data; a teacher who moved school counts as left."""
    p = teacher_people(teachers, meth)[["school_id", "year", "teacher_id"]]
    years = set(p["year"].unique())
    prev = p.assign(year=p["year"] + 1)
    prev = prev[prev["year"].isin(years)]
    stayed = prev.merge(p, on=["school_id", "year", "teacher_id"], how="left", indicator=True)
    stayed["left"] = (stayed["_merge"] == "left_only").astype("float64")
    return (stayed.assign(before=1.0).groupby(["school_id", "year"], as_index=False)[["before", "left"]].sum())


def composition_indicators(ds, meth: Methodology) -> pd.DataFrame:
    z = meth.threshold("objectivity_signs.z")
    counts = teacher_counts(ds.teachers, meth)
    sums = ["teachers", "rates", *TEACHER_SHARES]
    rolled = rollup_counts(counts, ds.schools, ["year"], sums)
    parts = [share_rows(rolled, ind, ind, "teachers", z) for ind in TEACHER_SHARES]
    load = rolled.assign(indicator_id="teacher_load", value=rolled["rates"] / rolled["teachers"],
                         numerator=rolled["rates"], denominator=rolled["teachers"])
    load["flag"] = pd.Series(pd.NA, index=load.index, dtype="string").mask(
        load["value"] > meth.threshold("staffing.load_above"), "overload")
    parts.append(load)
    turn = turnover_counts(ds.teachers, meth)
    if len(turn):
        parts.append(share_rows(rollup_counts(turn, ds.schools, ["year"], ["before", "left"]),
                                "teacher_turnover", "left", "before", z))
    out = pd.concat(parts, ignore_index=True)
    small = out["denominator"] < meth.threshold("staffing.min_teachers")
    out["flag"] = out["flag"].astype("string").mask(small, "small_group")  # small groups are never flagged
    return out


# ---- professional deficits ------------------------------------------------------------------------
def deficit_counts(diagnostics: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year × block (and block NA = any block): diagnosed teachers and those with a
    deficit, i.e. score < `teacher_deficits.deficit_below` % of the block's maximum."""
    d = diagnostics
    below = 100 * d["score"] / d["max_score"] < meth.threshold("teacher_deficits.deficit_below")
    d = d.assign(deficit=below.astype("float64"), diagnosed=1.0)
    per_block = (d.groupby(["school_id", "year", "block"], as_index=False)[["diagnosed", "deficit"]].sum()
                 .assign(deficit=lambda f: f["deficit"].clip(upper=f["diagnosed"])))
    person = d.groupby(["school_id", "year", "teacher_id"], as_index=False)["deficit"].max()
    any_block = (person.assign(diagnosed=1.0).groupby(["school_id", "year"], as_index=False)[["diagnosed", "deficit"]]
                 .sum().assign(block=pd.NA))
    return pd.concat([per_block, any_block], ignore_index=True)


def deficit_indicators(ds, meth: Methodology) -> pd.DataFrame:
    """`teachers_with_deficit` (any block) and `teachers_with_deficit_block` (subject = блок)."""
    z = meth.threshold("objectivity_signs.z")
    rolled = rollup_counts(deficit_counts(ds.teacher_diagnostics, meth), ds.schools, ["year", "block"],
                           ["diagnosed", "deficit"])
    rows = share_rows(rolled, "teachers_with_deficit", "deficit", "diagnosed", z)
    rows["indicator_id"] = rows["block"].isna().map({True: "teachers_with_deficit", False: "teachers_with_deficit_block"})
    rows = rows.rename(columns={"block": "subject"})
    high = (rows["indicator_id"] == "teachers_with_deficit_block") & (
        rows["value"] >= meth.threshold("teacher_deficits.block_share_flag"))
    flags = pd.Series(pd.NA, index=rows.index, dtype="string").mask(high, "high_deficit")
    rows["flag"] = flags.mask(rows["denominator"] < meth.threshold("staffing.min_teachers"), "small_group")
    return rows


def development_indicators(ds, meth: Methodology) -> pd.DataFrame:
    """Shares of teachers diagnosed, with an ИОМ, who completed it with the deficit reduced, with
    post-course support, in network mentoring, who raised competence (denominator: all teachers)."""
    z = meth.threshold("objectivity_signs.z")
    dev = ds.teacher_development
    flags = pd.DataFrame({
        "teachers": 1.0, "diagnosed": dev["diagnosed"], "has_iom": dev["has_iom"],
        "completed_reduced": dev["iom_completed"] & dev["deficit_reduced"],
        "post_course_support": dev["post_course_support"], "network_mentoring": dev["network_mentoring"],
        "competence_raised": dev["competence_raised"]}).astype("float64")
    counts = pd.concat([dev[["school_id", "year"]], flags], axis=1).groupby(["school_id", "year"], as_index=False).sum()
    rolled = rollup_counts(counts, ds.schools, ["year"], list(flags.columns))
    out = pd.concat([share_rows(rolled, ind, col, "teachers", z) for ind, col in DEVELOPMENT.items()], ignore_index=True)
    out["flag"] = _small(out, meth)
    return out


def teacher_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """All staffing and professional-deficit indicators the dataset's tables allow."""
    parts = []
    if ds.has("staffing"):
        parts.append(staffing_indicators(ds, meth))
    if ds.has("teachers"):
        parts.append(composition_indicators(ds, meth))
    if ds.has("teacher_diagnostics"):
        parts.append(deficit_indicators(ds, meth))
    if ds.has("teacher_development"):
        parts.append(development_indicators(ds, meth))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else None
