"""ВПР objectivity: ВПР marks vs journal marks (docs/METHODOLOGY.md §1).

«Понизили / Подтвердили / Повысили» — ФИС ОКО categories: the ВПР mark is lower than / equal to /
higher than the journal (previous-term) mark, over participants present with both marks.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from shnor_utils.indicators.table import rollup_counts, share_rows
from shnor_utils.methodology import Methodology
from shnor_utils.data.tables import records

AGREEMENT = {"lower": "понизили", "confirm": "подтвердили", "higher": "повысили"}
KEYS = ["year", "subject", "grade"]


def present(vpr: pd.DataFrame) -> pd.DataFrame:
    """Participants who wrote the work (absent pupils are excluded from every denominator)."""
    return vpr[~vpr["absent"].fillna(False)]


def agreement_category(vpr: pd.DataFrame) -> pd.Series:
    """Per participant: 'lower' (ВПР < журнал, «понизили»), 'confirm', 'higher', or NA when a mark is missing."""
    mark = vpr["mark"].astype("float64").to_numpy()
    journal = vpr["journal_mark"].astype("float64").to_numpy()
    with np.errstate(invalid="ignore"):
        cat = np.select([mark < journal, mark == journal, mark > journal], ["lower", "confirm", "higher"], default="")
    both = ~np.isnan(mark) & ~np.isnan(journal) & ~vpr["absent"].fillna(False).to_numpy(dtype=bool)
    return pd.Series(cat, index=vpr.index, dtype="string").where(both, pd.NA)


def journal_counts(vpr: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Counts per school × year × subject × grade (or `by`): lower, confirm, higher, compared
    (= their sum), absent, no_journal (present but «нет отметки»), participants (present)."""
    by = by or ["school_id", *KEYS]
    # the categories of `agreement_category`, as numpy flags (no per-row text: ~4 s at 1,000 schools)
    mark = vpr["mark"].astype("float64").to_numpy()
    journal = vpr["journal_mark"].astype("float64").to_numpy()
    absent = vpr["absent"].fillna(False).to_numpy(dtype=bool)
    both = ~np.isnan(mark) & ~np.isnan(journal) & ~absent
    with np.errstate(invalid="ignore"):
        lower, confirm, higher = both & (mark < journal), both & (mark == journal), both & (mark > journal)
    flags = pd.DataFrame({
        "lower": lower, "confirm": confirm, "higher": higher, "absent": absent,
        "no_journal": ~absent & np.isnan(journal), "participants": ~absent,
    }, index=vpr.index).astype("int64")
    counts = pd.concat([vpr[by], flags], axis=1).groupby(by, dropna=False).sum().reset_index()
    counts["compared"] = counts[["lower", "confirm", "higher"]].sum(axis=1)
    return counts


def mark_counts(vpr: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Counts of ВПР marks 2–5 among present participants, with `participants` = their sum."""
    by = by or ["school_id", *KEYS]
    p = present(vpr)
    p = p[p["mark"].notna()]
    # one grouped count, not `pd.crosstab` (which aggregates group by group in Python: ~6 s at 1,000 schools)
    wide = (p.groupby([*(p[c] for c in by), p["mark"].astype(int)]).size().unstack(fill_value=0)
            .reindex(columns=[2, 3, 4, 5], fill_value=0).astype("int64"))
    wide.columns = [f"mark_{m}" for m in wide.columns]
    wide["participants"] = wide.sum(axis=1)
    return wide.reset_index()


def journal_targets(meth: Methodology, subject: str, grade: int) -> dict:
    """Seed 001 targets that apply to (subject, grade): {'confirm': 75, 'higher': 10} or fewer."""
    out = {}
    for key, path in (("confirm", "journal_agreement.confirm_target"), ("higher", "journal_agreement.higher_target")):
        entry = meth.entry(path)
        if int(grade) in _applies(meth, entry).get(subject, []):
            out[key] = entry["value"]
    return out


def _applies(meth: Methodology, entry: dict) -> dict:
    """`applies_to` of a target with group keys spread to their subjects: «Иностранный язык»: [7] also
    applies to «Английский язык», «Немецкий язык», … (each language is a subject of its own, issue 13
    point 4); a subject's own key wins over its group's."""
    applies = dict(entry.get("applies_to", {}))
    for subject in meth.subjects:
        group = meth.group(subject)
        if group in applies and subject not in applies:
            applies[subject] = applies[group]
    return applies


def target_table(meth: Methodology, key: str) -> pd.DataFrame:
    """(subject, grade, target) rows of one seed 001 target ('confirm' or 'higher')."""
    entry = meth.entry(f"journal_agreement.{key}_target")
    rows = [(subj, int(g), float(entry["value"])) for subj, grades in _applies(meth, entry).items() for g in grades]
    table = pd.DataFrame(rows, columns=["subject", "grade", "target"])
    return table.astype({"subject": "string", "grade": "Int64"})


def journal_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """vpr_journal_lower / _confirm / _higher at every level (strict ФИС ОКО categories),
    vpr_journal_confirm_target (the seed 001 target share: the categories of
    `journal_agreement.confirm_counts` for the subject, only where a target applies, flagged
    «below_target»), and vpr_share_2 (% «2» among present participants)."""
    if not ds.has("vpr"):
        return None
    z = meth.threshold("objectivity_signs.z")
    counts = journal_counts(ds.vpr)
    counts["target_hits"] = _target_hits(counts, meth)
    rolled = rollup_counts(counts, ds.schools, KEYS,
                           ["lower", "confirm", "higher", "compared", "participants", "target_hits"])
    parts = []
    for key in AGREEMENT:
        rows = share_rows(rolled, f"vpr_journal_{key}", key, "compared", z)
        rows["flag"] = _target_flags(rows, "higher" if key == "higher" else None, meth)
        parts.append(rows)
    with_target = rolled.merge(target_table(meth, "confirm")[["subject", "grade"]], on=["subject", "grade"])
    rows = share_rows(with_target, "vpr_journal_confirm_target", "target_hits",
                      meth.threshold("journal_agreement.target_denominator"), z)
    rows["flag"] = _target_flags(rows, "confirm", meth)
    parts.append(rows)
    marks = mark_counts(ds.vpr)
    rolled_marks = rollup_counts(marks, ds.schools, KEYS, ["mark_2", "participants"])
    rows = share_rows(rolled_marks, "vpr_share_2", "mark_2", "participants", z)
    rows["flag"] = _target_flags(rows, None, meth)
    parts.append(rows)
    return pd.concat(parts, ignore_index=True)


INFLATION_ID = "vpr_journal_inflated"


def journal_inflation(vpr: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year, over all ВПР works pooled: compared, lower, `lower_share` (% «понизили»),
    `region_share` (the region's pooled share of the year) and `inflated`: 1 when the school's share is
    at least `objectivity_signs.school_lower_excess_pp` п.п. above the region's (journal marks probably
    inflated), 0 otherwise, NA for fewer than `small_groups.min_for_share` compared marks."""
    excess = meth.threshold("objectivity_signs.school_lower_excess_pp")
    min_n = meth.threshold("small_groups.min_for_share")
    counts = journal_counts(vpr, by=["school_id", "year"])
    region = counts.groupby("year")[["lower", "compared"]].sum()
    region_share = (100 * region["lower"] / region["compared"].where(region["compared"] > 0)).rename("region_share")
    out = counts[["school_id", "year", "lower", "compared"]].merge(region_share.reset_index(), on="year", how="left")
    out["lower_share"] = 100 * out["lower"] / out["compared"].where(out["compared"] > 0)
    hit = (out["lower_share"] - out["region_share"]) >= excess
    out["inflated"] = hit.astype("Float64").mask(out["compared"] < min_n)
    return out


def journal_inflation_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """vpr_journal_inflated: the 0/1 school flag of `journal_inflation` (numerator «понизили»,
    denominator compared marks; small groups get NA and the flag «small_group»)."""
    if not ds.has("vpr"):
        return None
    t = journal_inflation(ds.vpr, meth)
    flag = pd.Series(pd.NA, index=t.index, dtype="string").mask(t["inflated"].isna(), "small_group")
    return pd.DataFrame({"level": "school", "entity_id": t["school_id"], "year": t["year"], "indicator_id": INFLATION_ID,
                         "value": t["inflated"], "numerator": t["lower"], "denominator": t["compared"], "flag": flag})


def _target_hits(counts: pd.DataFrame, meth: Methodology) -> pd.Series:
    """Participants counted as «подтвердили» for the seed 001 target: confirm, plus higher where
    the seed defines the target as «не ниже, чем в журнале» (configuration, not code)."""
    subjects = counts["subject"].drop_duplicates()
    with_higher = {s: "higher" in target_categories(meth, s) for s in subjects}
    return counts["confirm"] + counts["higher"].where(counts["subject"].astype(str).map(with_higher).astype(bool), 0)


def _target_flags(rows: pd.DataFrame, key: str | None, meth: Methodology) -> pd.Series:
    """'below_target' where a seed 001 target (`key` = 'confirm' or 'higher') applies and the share
    misses it; small groups are never flagged (they get 'small_group')."""
    min_n = meth.threshold("small_groups.min_for_share")
    flags = pd.Series(pd.NA, index=rows.index, dtype="string")
    if key is not None:
        table = target_table(meth, key)
        targets = rows[["subject", "grade"]].merge(table, on=["subject", "grade"], how="left")["target"].to_numpy()
        miss = pd.Series(rows["value"].to_numpy() < targets, index=rows.index)
        flags = flags.mask(miss, "below_target")
    return flags.mask(rows["denominator"] < min_n, "small_group")


# ---- seed 001 target share («подтвердили» as the seed defines it per subject) -----------------------
def target_categories(meth: Methodology, subject: str) -> list[str]:
    """Categories that count as «подтвердили» for the seed 001 target of `subject`:
    ['confirm'] (РУ, МА: ВПР = журнал) or ['confirm', 'higher'] («не ниже, чем в журнале»)."""
    table = meth.threshold("journal_agreement.confirm_counts")
    return list(table.get(subject, table.get(meth.group(subject), table["default"])))


# ---- the three official signs (Методика «Уровень объективности…», docs/METHODOLOGY.md §1.3) ------------
def _sign_procedures(meth: Methodology) -> pd.DataFrame:
    procs = pd.DataFrame(meth.threshold("objectivity_signs.procedures"))
    return procs.astype({"subject": "string", "grade": "int64"})


def _in_procedures(vpr: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Present participants with a primary score in the configured sign procedures."""
    p = present(vpr)
    p = p[p["primary_score"].notna()]
    keys = pd.MultiIndex.from_frame(_sign_procedures(meth))
    return p[pd.MultiIndex.from_arrays([p["subject"].astype("string"), p["grade"].astype("int64")]).isin(keys)]


def mean_ci(scores: pd.DataFrame, by: list[str], z: float) -> pd.DataFrame:
    """Mean primary score with its 95 % CI per group: x̄ ± z·s/√m (s = sample SD, ddof = 1)."""
    g = scores.groupby(by, dropna=False)["primary_score"].agg(["mean", "std", "count"]).reset_index()
    half = z * g["std"] / np.sqrt(g["count"])
    return g.assign(ci_low=g["mean"] - half, ci_high=g["mean"] + half)


def inflated_mean(scores: pd.DataFrame, keys: list[str], meth: Methodology) -> pd.DataFrame:
    """Sign 1 «завышенный средний балл»: per school × `keys`, sign = 1 when the lower bound of the
    school's 95 % CI of the mean is above the upper bound of the region's 95 % CI.
    Groups with fewer than `small_groups.min_for_sign` participants get sign NA."""
    z = meth.threshold("objectivity_signs.z")
    n_min = meth.threshold("small_groups.min_for_sign")
    region = mean_ci(scores, keys, z).rename(columns={"mean": "region_mean", "count": "region_n",
                                                     "ci_low": "region_ci_low", "ci_high": "region_ci_high"})
    school = mean_ci(scores, ["school_id", *keys], z).merge(
        region[[*keys, "region_mean", "region_n", "region_ci_low", "region_ci_high"]], on=keys, how="left")
    enough = school["count"] >= n_min
    school["sign"] = (school["ci_low"] > school["region_ci_high"]).astype("float64").where(enough)
    return school


def mark_mismatch(vpr: pd.DataFrame, meth: Methodology, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sign 2 «несоответствие ВПР и школьных отметок»: Spearman ρ between the journal mark and the ВПР
    primary score over the school's participants with both; sign = 1 when ρ < 0
    (`objectivity_signs.spearman_below`). Fewer than `min_for_sign` pairs or a constant column
    (ρ undefined) give sign NA. `scores`: `_in_procedures(vpr, meth)` when the caller has it already.

    ρ is the Pearson correlation of the average ranks within each group (the definition scipy's
    `spearmanr` uses), computed for all groups at once: a region has tens of thousands of groups,
    and a Python call per group cost half a minute. The tests compare it with scipy."""
    below = meth.threshold("objectivity_signs.spearman_below")
    n_min = meth.threshold("small_groups.min_for_sign")
    p = (_in_procedures(vpr, meth) if scores is None else scores).dropna(subset=["journal_mark", "primary_score"])
    by = ["school_id", *KEYS]
    if p.empty:
        return pd.DataFrame(columns=[*by, "count", "rho", "sign"])
    p = p[by].assign(x=p["journal_mark"].astype("float64"), y=p["primary_score"].astype("float64"))
    grouped = p.groupby(by, dropna=False, sort=True)
    # ranks are multiples of ½, so the sums below are exact in float64 and ρ = 0 stays exactly 0
    r = p[by].assign(x=grouped["x"].rank(method="average"), y=grouped["y"].rank(method="average"))
    r = r.assign(xy=r["x"] * r["y"], xx=r["x"] ** 2, yy=r["y"] ** 2)
    s = r.groupby(by, dropna=False, sort=True)[["x", "y", "xy", "xx", "yy"]].sum()
    n = grouped.size().rename("count")
    num = n * s["xy"] - s["x"] * s["y"]
    var_x, var_y = n * s["xx"] - s["x"] ** 2, n * s["yy"] - s["y"] ** 2
    defined = (n >= 2) & (var_x > 0) & (var_y > 0)
    rho = (num / np.sqrt((var_x * var_y).where(defined))).clip(-1, 1)
    out = n.to_frame().assign(rho=rho.astype("float64").where(defined)).reset_index()
    out["sign"] = (out["rho"] < below).astype("float64").where((out["count"] >= n_min) & out["rho"].notna())
    return out


def percent_of_max(vpr: pd.DataFrame, meth: Methodology) -> pd.Series:
    """Primary score as a share (0–1) of the work's maximum (the year's scale), per row."""
    works = vpr[KEYS].drop_duplicates()
    maxima = works.assign(max_score=[(s.max if (s := meth.vpr_scale(y, subj, g)) else np.nan)
                                     for y, subj, g in records(works)])
    return vpr[KEYS].merge(maxima, on=KEYS, how="left")["max_score"].set_axis(vpr.index).rdiv(vpr["primary_score"])


def cohort_jump(vpr: pd.DataFrame, meth: Methodology, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sign 3 «резкое изменение результатов одной параллели»: K = S(4, Y) / S(5, Y+1), S = the
    school's mean % of the maximum primary score; over all schools with K (both groups ≥ min_for_sign)
    per (Y, subject): K > Q75 + k·IQR is a sharp drop, K < Q25 − k·IQR a sharp rise (k = `iqr_k`).
    One row per school × subject × year Y+1 (the year the change is seen), grade = the upper grade.
    `scores`: `_in_procedures(vpr, meth)` when the caller has it already."""
    g_lo, g_hi = (int(g) for g in meth.threshold("objectivity_signs.cohort_grades"))
    k_iqr = meth.threshold("objectivity_signs.iqr_k")
    n_min = meth.threshold("small_groups.min_for_sign")
    p = _in_procedures(vpr, meth) if scores is None else scores
    p = p[p["grade"].isin([g_lo, g_hi])]
    s = (p.assign(pct=percent_of_max(p, meth)).groupby(["school_id", "year", "subject", "grade"])["pct"]
         .agg(["mean", "count"]).reset_index())
    lo = s[s["grade"] == g_lo].rename(columns={"mean": "s_from", "count": "n_from"}).drop(columns="grade")
    hi = (s[s["grade"] == g_hi].rename(columns={"mean": "s_to", "count": "n_to"}).drop(columns="grade")
          .assign(year=lambda d: d["year"] - 1))
    k = lo.merge(hi, on=["school_id", "year", "subject"], how="outer")
    k["K"] = (k["s_from"] / k["s_to"]).astype("float64")
    valid = (k["n_from"] >= n_min) & (k["n_to"] >= n_min) & (k["s_to"] > 0)
    q = k[valid].groupby(["year", "subject"])["K"].agg(q25=lambda x: x.quantile(0.25), q75=lambda x: x.quantile(0.75))
    fences = q.assign(fence_low=q["q25"] - k_iqr * (q["q75"] - q["q25"]),
                      fence_high=q["q75"] + k_iqr * (q["q75"] - q["q25"])).reset_index()
    k = k.merge(fences, on=["year", "subject"], how="left")
    k["direction"] = np.select([(k["K"] > k["fence_high"]).fillna(False).to_numpy(bool),
                                (k["K"] < k["fence_low"]).fillna(False).to_numpy(bool)], ["drop", "rise"], "")
    k["sign"] = (k["direction"] != "").astype("float64").where(valid & k["fence_low"].notna())
    k = k[k["n_to"].notna()]  # the sign belongs to the year of the upper grade: it needs that group
    return k.assign(year_from=k["year"], year=k["year"] + 1, grade=g_hi)


def oge_inflated_mean(ds, meth: Methodology) -> pd.DataFrame | None:
    """Sign 1 for ОГЭ (`objectivity_signs.oge_subjects`): main period, first attempt."""
    if not ds.has("gia"):
        return None
    g = ds.gia
    g = g[(g["exam"] == "ОГЭ") & g["subject"].isin(meth.threshold("objectivity_signs.oge_subjects"))
          & (g["period"] == "основной") & (g["attempt"] == 1) & g["primary_score"].notna()]
    if g.empty:
        return None
    return inflated_mean(g, ["year", "subject"], meth).assign(grade=9, exam="ОГЭ")


SIGN_IDS = {"inflated_mean": "vpr_sign_inflated_mean", "mark_mismatch": "vpr_sign_mark_mismatch",
            "cohort_jump": "vpr_sign_cohort_jump"}


def _sign_rows(frame: pd.DataFrame, indicator_id: str) -> pd.DataFrame:
    flag = np.where(frame["sign"].isna(), "insufficient_data", np.where(frame["sign"] == 1, "sign", ""))
    return pd.DataFrame({"level": "school", "entity_id": frame["school_id"], "year": frame["year"],
                         "indicator_id": indicator_id, "subject": frame["subject"], "grade": frame["grade"],
                         "exam": frame["exam"] if "exam" in frame else pd.NA, "value": frame["sign"],
                         "denominator": frame["count"] if "count" in frame else frame["n_to"],
                         "ci_low": frame["ci_low"] if "ci_low" in frame else np.nan,
                         "ci_high": frame["ci_high"] if "ci_high" in frame else np.nan,
                         "flag": pd.Series(flag, index=frame.index).replace("", pd.NA)})


def sign_tables(ds, meth: Methodology) -> dict:
    """The three signs with their statistics (CI, ρ, K and fences), for the reports' explanations."""
    scores = _in_procedures(ds.vpr, meth)    # selected once for the three signs
    sign1 = inflated_mean(scores, KEYS, meth)
    oge = oge_inflated_mean(ds, meth)
    return {"inflated_mean": sign1, "inflated_mean_oge": oge,
            "mark_mismatch": mark_mismatch(ds.vpr, meth, scores), "cohort_jump": cohort_jump(ds.vpr, meth, scores)}


def school_sign_years(signs: pd.DataFrame) -> pd.DataFrame:
    """Per school × year: any_sign (1 when ≥ 1 sign equals 1), judged (≥ 1 sign computable)."""
    g = signs.groupby(["entity_id", "year"])["value"]
    out = pd.DataFrame({"any_sign": g.max().fillna(0) >= 1, "judged": g.count() > 0}).reset_index()
    return out


def objectivity_index_rows(signs: pd.DataFrame, schools: pd.DataFrame, z: float) -> pd.DataFrame:
    """Objectivity index = 100 − % of schools with ≥ 1 sign, per municipality and region and year.
    Denominator: schools with at least one computable sign that year (others are «недостаточно данных»).
    numerator = flagged schools; the CI is the Wilson interval of the flagged share, mirrored."""
    per = school_sign_years(signs)
    per = per[per["judged"]].rename(columns={"entity_id": "school_id"})
    counts = per.assign(flagged=per["any_sign"].astype("int64"), schools=1)[["school_id", "year", "flagged", "schools"]]
    rolled = rollup_counts(counts, schools, ["year"], ["flagged", "schools"])
    rolled = rolled[rolled["level"] != "school"]
    rows = share_rows(rolled, "objectivity_index", "flagged", "schools", z)
    return rows.assign(value=100 - rows["value"], ci_low=100 - rows["ci_high"], ci_high=100 - rows["ci_low"])


def sign_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """vpr_sign_inflated_mean / _mark_mismatch / _cohort_jump (school, 1/0, flag «sign» or
    «insufficient_data») and objectivity_index (municipality, region, per year)."""
    if not ds.has("vpr"):
        return None
    t = sign_tables(ds, meth)
    parts = [_sign_rows(t["inflated_mean"], SIGN_IDS["inflated_mean"]),
             _sign_rows(t["mark_mismatch"], SIGN_IDS["mark_mismatch"]),
             _sign_rows(t["cohort_jump"], SIGN_IDS["cohort_jump"])]
    if t["inflated_mean_oge"] is not None:
        parts.append(_sign_rows(t["inflated_mean_oge"], SIGN_IDS["inflated_mean"]))
    signs = pd.concat(parts, ignore_index=True)
    index = objectivity_index_rows(signs, ds.schools, meth.threshold("objectivity_signs.z"))
    return pd.concat([signs, index], ignore_index=True)


# ---- score distributions and peaks just above a mark boundary (ФИОКО 2026 §4) ------------------------
def score_counts(vpr: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Number of present participants per primary score within each group `by`."""
    p = present(vpr)
    p = p[p["primary_score"].notna()]
    return p.groupby([*by, "primary_score"]).size().rename("count").reset_index()


def boundary_peaks(vpr: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year × subject × grade × mark boundary b (lowest score of «3», «4», «5»):
    c(b) vs the mean count c̄ of the `peak_neighbours` scores on each side; a peak when
    c(b) ≥ peak_ratio · c̄, c(b) ≥ peak_min_count and (c(b) − c̄) / n ≥ peak_excess_share %. Groups below
    `approximate_n` are not judged (peak NA); `informative` is n ≥ informative_n."""
    ratio = meth.threshold("score_distribution.peak_ratio")
    width = int(meth.threshold("score_distribution.peak_neighbours"))
    min_count = meth.threshold("score_distribution.peak_min_count")
    by = ["school_id", *KEYS]
    counts = score_counts(vpr, by)
    n = counts.groupby(by)["count"].sum().rename("n").reset_index()
    works = n[KEYS].drop_duplicates()
    bounds = [(y, s, g, mark, lo) for y, s, g in records(works)
              if (scale := meth.vpr_scale(y, s, g)) for mark, lo in scale.boundaries.items()]
    bounds = pd.DataFrame(bounds, columns=[*KEYS, "mark", "boundary"])
    cand = n.merge(bounds, on=KEYS)
    lookup = counts.set_index([*by, "primary_score"])["count"]

    def count_at(offset: int) -> np.ndarray:
        idx = pd.MultiIndex.from_frame(cand[by].assign(primary_score=cand["boundary"] + offset))
        return lookup.reindex(idx).fillna(0).to_numpy()

    cand["at"] = count_at(0)
    cand["neighbours"] = np.mean([count_at(o) for o in range(-width, width + 1) if o != 0], axis=0)
    judged = cand["n"] >= meth.threshold("score_distribution.approximate_n")
    excess = 100 * (cand["at"] - cand["neighbours"]) / cand["n"]
    peak = ((cand["at"] >= ratio * cand["neighbours"]) & (cand["at"] >= min_count)
            & (excess >= meth.threshold("score_distribution.peak_excess_share")))
    cand["peak"] = peak.astype("float64").where(judged)
    cand["informative"] = cand["n"] >= meth.threshold("score_distribution.informative_n")
    return cand


def peak_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """vpr_peak_boundary (school × subject × grade × year, 1/0): a pronounced peak just at/above some
    mark boundary; flag «possible_marker» (n ≥ informative_n) or «approximate» (20–49),
    «insufficient_data» below. A possible marker, never a sign."""
    if not ds.has("vpr"):
        return None
    peaks = boundary_peaks(ds.vpr, meth)
    g = peaks.groupby(["school_id", *KEYS]).agg(value=("peak", "max"), n=("n", "first"),
                                                informative=("informative", "first")).reset_index()
    flag = np.where(g["value"].isna(), "insufficient_data",
                    np.where(g["value"] == 1, np.where(g["informative"], "possible_marker", "approximate"), ""))
    return pd.DataFrame({"level": "school", "entity_id": g["school_id"], "year": g["year"],
                         "indicator_id": "vpr_peak_boundary", "subject": g["subject"], "grade": g["grade"],
                         "value": g["value"], "denominator": g["n"],
                         "flag": pd.Series(flag, index=g.index).replace("", pd.NA)})


# ---- task level (vpr_tasks) ----------------------------------------------------------------------------
def task_solve_rates(tasks: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Solve rate (% of the task's maximum) per task: 100·Σ score / Σ max_score over participants."""
    g = tasks.groupby([*by, "task", "level"], dropna=False)[["score", "max_score"]].sum().reset_index()
    n = tasks.groupby([*by, "task"], dropna=False)["participant_code"].nunique().rename("n").reset_index()
    g = g.merge(n, on=[*by, "task"])
    return g.assign(rate=100 * g["score"] / g["max_score"])


def task_comparison(tasks: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × work × task: the school's and the region's solve rate, the difference (п.п.),
    whether the task is below the ФИОКО mastery level (Б ≥ 60 %, П/В ≥ 30 %) and whether it is one
    of the easier half of the work (region rate ≥ the work's median task rate)."""
    work = ["year", "subject", "grade"]
    school = task_solve_rates(tasks, ["school_id", *work])
    region = task_solve_rates(tasks, work).rename(columns={"rate": "region_rate"})[[*work, "task", "region_rate"]]
    out = school.merge(region, on=[*work, "task"])
    mastery = np.where(out["level"] == "Б", meth.threshold("task_mastery.basic"), meth.threshold("task_mastery.advanced"))
    median = out.groupby(work)["region_rate"].transform("median")
    return out.assign(diff=out["rate"] - out["region_rate"], mastery=mastery,
                      below_mastery=out["rate"] < mastery, easy=out["region_rate"] >= median)


def task_pattern(tasks: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """«Лёгкие задания хуже региона, трудные — лучше»: per school × work, mean difference with the
    region over the easier half of tasks ≤ −margin and over the harder half ≥ +margin
    (`task_mastery.pattern_margin_pp`); groups below `task_mastery.min_participants` get NA."""
    margin = meth.threshold("task_mastery.pattern_margin_pp")
    cmp = task_comparison(tasks, meth)
    by = ["school_id", "year", "subject", "grade"]
    easy = cmp[cmp["easy"]].groupby(by)["diff"].mean().rename("diff_easy")
    hard = cmp[~cmp["easy"]].groupby(by)["diff"].mean().rename("diff_hard")
    n = cmp.groupby(by)["n"].max()
    out = pd.concat([easy, hard, n], axis=1).reset_index()
    hit = (out["diff_easy"] <= -margin) & (out["diff_hard"] >= margin)
    out["pattern"] = hit.astype("float64").where(out["n"] >= meth.threshold("task_mastery.min_participants"))
    return out


def task_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """vpr_task_pattern (school × work × year, 1/0, flag «pattern») where vpr_tasks is present."""
    if not ds.has("vpr_tasks"):
        return None
    t = task_pattern(ds.vpr_tasks, meth)
    flag = np.where(t["pattern"].isna(), "insufficient_data", np.where(t["pattern"] == 1, "pattern", ""))
    return pd.DataFrame({"level": "school", "entity_id": t["school_id"], "year": t["year"],
                         "indicator_id": "vpr_task_pattern", "subject": t["subject"], "grade": t["grade"],
                         "value": t["pattern"], "denominator": t["n"],
                         "flag": pd.Series(flag, index=t.index).replace("", pd.NA)})


# ---- gaps of ≥ 2 marks (ФИОКО 2026 §3), counted per class -------------------------------------------
def mark_gaps(vpr: pd.DataFrame, meth: Methodology, by: list[str] | None = None) -> pd.DataFrame:
    """Per class (or `by`): participants whose ВПР mark is ≥ gap_marks below / above the journal mark.
    Counts only: no participant codes leave this function."""
    gap = meth.threshold("journal_agreement.gap_marks")
    by = by or ["school_id", *KEYS, "class_label"]
    p = present(vpr).dropna(subset=["mark", "journal_mark"])
    d = p["mark"].astype("float64") - p["journal_mark"].astype("float64")
    frame = p[by].assign(gap_lower=(d <= -gap).astype("int64"), gap_higher=(d >= gap).astype("int64"), compared=1)
    return frame.groupby(by, dropna=False)[["compared", "gap_lower", "gap_higher"]].sum().reset_index()
