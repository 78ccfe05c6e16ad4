"""ГИА results: ОГЭ, ЕГЭ, ГВЭ and attestats at school, municipality and region level (docs/METHODOLOGY.md §2).

Conventions (export, report and tests alike):
- `subject` of ЕГЭ mathematics carries its level: «Математика (базовая)», «Математика (профильная)»;
  every other subject (and ОГЭ/ГВЭ mathematics) keeps its name. `exam` is ОГЭ / ЕГЭ / ГВЭ.
- **Main period, first attempt** (`period == «основной»` and `attempt == 1`) is the basis of
  `gia_below_min`, `gia_success`, `gia_quality`, `gia_mean_score`, `gia_mean_mark`,
  `ege_high_score`, `ege_score_100`; every other sitting (retakes, additional and reserve
  periods) is a retake sitting (`*_retake`); `gia_below_min_final` is the share of participants
  × subject still below the minimum after all sittings of the year.
- Below the minimum: ОГЭ / ГВЭ / ЕГЭ базовая — mark «2» (a missing ОГЭ or base-mathematics mark
  is computed from the year's scale in config/gia.yaml); other ЕГЭ — test score below the year's
  minimum score (config/gia.yaml). Success = not below the minimum (for marked exams = «3»–«5»).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from shnor_utils.indicators.table import REGION_ID, rollup_counts, share_rows
from shnor_utils.methodology import Methodology
from shnor_utils.data.tables import records

KEYS = ["year", "exam", "subject", "grade"]
MAIN_PERIOD = "основной"


def _bool(mask) -> pd.Series:
    """A plain numpy bool Series (the dataset's nullable/arrow booleans, NA → False)."""
    return pd.Series(mask).fillna(False).astype(bool)


def subject_label(gia: pd.DataFrame) -> pd.Series:
    """Subject as reported: ЕГЭ mathematics with its level in brackets, others unchanged."""
    subject = gia["subject"].astype("string")
    level = gia["level"].astype("string") if "level" in gia else pd.Series(pd.NA, index=gia.index, dtype="string")
    with_level = (gia["exam"] == "ЕГЭ").to_numpy() & subject.eq("Математика").fillna(False).to_numpy() & level.notna().to_numpy()
    return subject.where(~with_level, subject + " (" + level + ")")


def is_main(gia: pd.DataFrame) -> pd.Series:
    """Main period, first attempt («основной период, первая попытка»)."""
    return _bool((gia["period"] == MAIN_PERIOD) & (gia["attempt"] == 1))


def uses_test_score(gia: pd.DataFrame) -> pd.Series:
    """ЕГЭ results judged by the test score (all ЕГЭ subjects except базовая математика)."""
    level = gia["level"] if "level" in gia else pd.Series(pd.NA, index=gia.index)
    return _bool(gia["exam"] == "ЕГЭ") & ~_bool(level.eq("базовая"))


def _outcome(gia: pd.DataFrame, meth: Methodology) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(test, mark_f, min_score, below) of every row of `gia`, on its index: the one «below the
    minimum» rule of ГИА (see `below_minimum`)."""
    test = uses_test_score(gia).set_axis(gia.index)
    mark = gia["mark"].astype("float64") if "mark" in gia else pd.Series(np.nan, index=gia.index)
    # complete missing ОГЭ marks from the year's scale, missing base-mathematics marks from its scale
    need = mark.isna() & ~test
    if need.any():
        primary = gia["primary_score"].astype("float64")
        oge = need & (gia["exam"] == "ОГЭ")
        for (year, subject), idx in gia[oge].groupby(["year", "subject"], observed=True).groups.items():
            scale = meth.oge_scale(int(year), subject)
            if scale is not None:
                mark.loc[idx] = scale.mark(primary.loc[idx].to_numpy())
        base = need & (gia["exam"] == "ЕГЭ") & ~test
        if base.any():
            mark.loc[base] = meth.ege_base_math_scale().mark(primary[base].to_numpy())
    mark_f = mark.where(~test)
    # ЕГЭ minimum score of (year, subject): one lookup per distinct combination (профильная for mathematics)
    combos = gia.loc[test, ["year", "subject"]].drop_duplicates()
    combos["min_score"] = [meth.ege_min_score(int(y), s, "профильная") for y, s in records(combos)]
    min_score = (gia[["year", "subject"]].merge(combos.astype({"min_score": "float64"}), on=["year", "subject"], how="left")
                 ["min_score"].set_axis(gia.index).where(test))
    test_score = gia["test_score"].astype("float64") if "test_score" in gia else pd.Series(np.nan, index=gia.index)
    below_test = (test_score < min_score).astype("float64").where(test_score.notna() & min_score.notna())
    below_mark = (mark_f == 2).astype("float64").where(mark_f.notna())
    return test, mark_f, min_score, below_test.where(test, below_mark)


def below_minimum(gia: pd.DataFrame, meth: Methodology) -> pd.Series:
    """Per ГИА row (on its index): 1.0 below the minimum, 0.0 not, NaN where no threshold is known.

    The one rule of «ниже минимума» for the ГИА report and the ШНОР rule: ОГЭ, ГВЭ and ЕГЭ базовая
    математика — mark «2» (a missing ОГЭ mark is computed from the year's ОГЭ scale, a missing
    base-mathematics mark from its scale); other ЕГЭ (профильная математика, every other subject) —
    test score below the year's minimum `meth.ege_min_score(year, subject, level)`."""
    return _outcome(gia, meth)[3]


def scored(gia: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Every sitting with its outcome columns:
    label (reported subject), main (bool), test (judged by test score), mark_f (mark, completed from
    the scale where missing), below (1/0, NaN where no threshold is known: `below_minimum`), score
    (test score for `test` rows, primary score otherwise), min_score (ЕГЭ minimum of the year, NaN elsewhere)."""
    g = gia.reset_index(drop=True)
    test, mark_f, min_score, below = _outcome(g, meth)
    g = g.assign(label=subject_label(g), main=is_main(g), test=test, mark_f=mark_f, min_score=min_score, below=below)
    test_score = g["test_score"].astype("float64") if "test_score" in g else pd.Series(np.nan, index=g.index)
    g["score"] = test_score.where(g["test"], g["primary_score"].astype("float64"))
    return g


def result_counts(s: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Counts per school × year × exam × subject × grade over the sittings `s` (from `scored`):
    judged (with a known threshold), below, marked, mark_3_5, mark_4_5, mark_sum, scored_n, score_sum,
    test_n, high (high_score_min ≤ test score ≤ high_score_max), top (= high_score_max)."""
    lo, hi = meth.threshold("gia.high_score_min"), meth.threshold("gia.high_score_max")
    test_score = s["score"].where(s["test"])
    flags = pd.DataFrame({
        "judged": s["below"].notna(), "below": s["below"].eq(1),
        "marked": s["mark_f"].notna(), "mark_3_5": s["mark_f"] >= 3, "mark_4_5": s["mark_f"] >= 4,
        "scored_n": s["score"].notna(), "test_n": test_score.notna(),
        "high": test_score.between(lo, hi), "top": test_score == hi,
    }).astype("int64")
    flags["mark_sum"] = s["mark_f"].fillna(0)
    flags["score_sum"] = s["score"].fillna(0)
    flags["score_sq"] = s["score"].fillna(0) ** 2   # for the interval of the mean score (dynamics §5.2)
    keys = s[["school_id", "year", "exam", "label", "grade"]].rename(columns={"label": "subject"})
    return pd.concat([keys, flags], axis=1).groupby(["school_id", *KEYS], dropna=False, observed=True).sum().reset_index()


def _mean_rows(counts: pd.DataFrame, indicator_id: str, total: str, n: str, squares: str | None = None,
               z: float = 1.96) -> pd.DataFrame:
    """Mean rows; with the sum of squares, the normal interval x̄ ± z·s/√n (s: sample SD; n ≥ 2)."""
    rows = counts[counts[n] > 0]
    out = rows.assign(indicator_id=indicator_id, value=rows[total] / rows[n], numerator=rows[total], denominator=rows[n])
    if squares is not None:
        k = rows[n].astype("float64")
        var = ((rows[squares] - rows[total] ** 2 / k) / (k - 1)).where(k > 1).clip(lower=0)
        half = z * np.sqrt(var / k)
        out = out.assign(ci_low=out["value"] - half, ci_high=out["value"] + half)
    return out


def _shares(rolled: pd.DataFrame, indicator_id: str, numerator: str, denominator: str, z: float) -> pd.DataFrame:
    return share_rows(rolled[rolled[denominator] > 0], indicator_id, numerator, denominator, z)


SUMS = ["judged", "below", "marked", "mark_3_5", "mark_4_5", "mark_sum", "scored_n", "score_sum", "score_sq", "test_n",
        "high", "top"]


def exam_indicators(ds, meth: Methodology) -> pd.DataFrame:
    """gia_below_min, gia_success, gia_quality, gia_mean_score, gia_mean_mark, ege_high_score,
    ege_score_100 (main period, first attempt), gia_below_min_retake (other sittings) and
    gia_below_min_final (participant × subject below the minimum after every sitting of the year)."""
    z = meth.threshold("objectivity_signs.z")
    s = scored(ds.gia, meth)
    main = rollup_counts(result_counts(s[s["main"]], meth), ds.schools, KEYS, SUMS)
    parts = [
        _shares(main, "gia_below_min", "below", "judged", z),
        _shares(main.assign(passed=main["judged"] - main["below"]), "gia_success", "passed", "judged", z),
        _shares(main, "gia_quality", "mark_4_5", "marked", z),
        _mean_rows(main, "gia_mean_score", "score_sum", "scored_n", "score_sq", z),
        _mean_rows(main, "gia_mean_mark", "mark_sum", "marked"),
        _shares(main[main["exam"] == "ЕГЭ"], "ege_high_score", "high", "test_n", z),
    ]
    top = main[(main["exam"] == "ЕГЭ") & (main["test_n"] > 0)]
    parts.append(top.assign(indicator_id="ege_score_100", value=top["top"], numerator=top["top"], denominator=top["test_n"]))
    retake = rollup_counts(result_counts(s[~s["main"]], meth), ds.schools, KEYS, SUMS)
    parts.append(_shares(retake, "gia_below_min_retake", "below", "judged", z))
    # final: one row per participant × subject, below only if no sitting of the year reached the minimum
    judged = s[s["below"].notna()]
    final = (judged.groupby(["school_id", "year", "exam", "label", "grade", "participant_id"], observed=True)["below"].min()
             .rename("below").reset_index().rename(columns={"label": "subject"}))
    final = final.assign(judged=1, below=final["below"].astype("int64")).drop(columns="participant_id")
    final = final.groupby(["school_id", *KEYS], observed=True)[["judged", "below"]].sum().reset_index()
    parts.append(_shares(rollup_counts(final, ds.schools, KEYS, ["judged", "below"]), "gia_below_min_final", "below", "judged", z))
    out = pd.concat(parts, ignore_index=True)
    out["flag"] = _flags(out, meth)
    return out


def _flags(rows: pd.DataFrame, meth: Methodology) -> pd.Series:
    """'low_result' on gia_below_min of a procedure of the 30 % rule (seed 003; ЕГЭ mathematics per
    level) with ≥ share_failed % below the minimum and ≥ min_participants; otherwise 'small_group'
    (never flagged) below min_for_share."""
    share = meth.threshold("low_results_rule.share_failed")
    min_rule = meth.threshold("low_results_rule.min_participants")
    min_n = meth.threshold("small_groups.min_for_share")
    procs = {(p["kind"], p["subject"]) for p in meth.threshold("low_results_rule.procedures") if p["kind"] != "ВПР"}
    base_subject = rows["subject"].astype("string").str.replace(r" \((базовая|профильная)\)$", "", regex=True)
    # (exam, base subject) of each row in the rule's procedures: judged once per distinct pair, not per row
    pairs = pd.MultiIndex.from_arrays([rows["exam"], base_subject])
    codes, uniques = pairs.factorize()
    hit = np.array([(e, b) in procs for e, b in uniques], dtype=bool)
    in_rule = pd.Series(np.where(codes >= 0, hit[np.clip(codes, 0, None)], False) if len(uniques)
                        else np.zeros(len(rows), dtype=bool), index=rows.index)
    low = (rows["indicator_id"] == "gia_below_min") & in_rule & (rows["value"] >= share) & (rows["denominator"] >= min_rule)
    shares = rows["indicator_id"].isin(["gia_below_min", "gia_success", "gia_quality", "ege_high_score"])
    flags = pd.Series(pd.NA, index=rows.index, dtype="string").mask(shares & (rows["denominator"] < min_n), "small_group")
    # the 30 % rule has its own minimum of participants (low_results_rule.min_participants)
    return flags.mask(_bool(low), "low_result")


# ---- graduates --------------------------------------------------------------------------------
def best_test_scores(s: pd.DataFrame) -> pd.DataFrame:
    """Best ЕГЭ test score of the year per participant × subject (over all sittings)."""
    t = s[s["test"] & s["score"].notna()]
    return (t.groupby(["year", "school_id", "participant_id", "subject", "label"], observed=True)["score"].max()
            .reset_index())


def sum3_counts(s: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year: ege_graduates (distinct ЕГЭ participants) and sum3 (those whose best three
    ЕГЭ test scores sum to ≥ gia.sum3_threshold; base mathematics has no test score and does not count)."""
    threshold = meth.threshold("gia.sum3_threshold")
    best = best_test_scores(s).sort_values("score", ascending=False, kind="stable")
    top3 = best.groupby(["year", "school_id", "participant_id"], observed=True).head(3)
    total = top3.groupby(["year", "school_id", "participant_id"], observed=True)["score"].sum()
    ege = s[s["exam"] == "ЕГЭ"][["year", "school_id", "participant_id"]].drop_duplicates()
    ege = ege.assign(sum3=(total.reindex(pd.MultiIndex.from_frame(ege)).fillna(0).to_numpy() >= threshold).astype("int64"),
                     ege_graduates=1)
    return ege.groupby(["school_id", "year"], observed=True)[["ege_graduates", "sum3"]].sum().reset_index()


def medal_counts(s: pd.DataFrame, graduates: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year: medallists (grade-11 graduates with honours) and medal_elective (those with
    ≥ gia.medal_elective_min test points in at least one elective ЕГЭ subject, i.e. not mandatory)."""
    cut = meth.threshold("gia.medal_elective_min")
    mandatory = meth.threshold("gia.mandatory_subjects")
    best = best_test_scores(s)
    strong = best[~best["subject"].isin(mandatory) & (best["score"] >= cut)][["year", "participant_id"]].drop_duplicates()
    med = graduates[(graduates["grade"] == 11) & graduates["honours"].astype(bool)][["year", "school_id", "participant_id"]]
    hit = pd.MultiIndex.from_frame(med[["year", "participant_id"]]).isin(pd.MultiIndex.from_frame(strong))
    med = med.assign(medallists=1, medal_elective=hit.astype("int64"))
    return med.groupby(["school_id", "year"], observed=True)[["medallists", "medal_elective"]].sum().reset_index()


def main_pass(s: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per participant × year × grade: passed ГИА in the main period («успешно прошёл ГИА в основной
    период»): every mandatory subject (any ЕГЭ mathematics level) passed on the first attempt in the
    main period and, in grades of `gia.all_exams_count_grades` (9), every other exam taken too."""
    mandatory = meth.threshold("gia.mandatory_subjects")
    all_grades = meth.threshold("gia.all_exams_count_grades")
    ok = s["main"] & _bool(s["below"].eq(0))
    per_subject = (s.assign(ok=ok).groupby(["year", "school_id", "grade", "participant_id", "subject"], observed=True)["ok"]
                   .any().reset_index())
    counts = _bool(per_subject["subject"].isin(mandatory)) | _bool(per_subject["grade"].isin(all_grades))
    per_subject = per_subject[counts].assign(mand=_bool(per_subject["subject"].isin(mandatory)).astype("int64"),
                                             ok=_bool(per_subject["ok"]))
    per_subject["mand_ok"] = per_subject["mand"] * per_subject["ok"]
    person = per_subject.groupby(["year", "school_id", "grade", "participant_id"], observed=True).agg(
        all_ok=("ok", "all"), mand_ok=("mand_ok", "sum"))
    everyone = s[["year", "school_id", "grade", "participant_id"]].drop_duplicates().set_index(
        ["year", "school_id", "grade", "participant_id"])
    person = person.reindex(everyone.index)
    passed = person["all_ok"].fillna(False).astype(bool) & (person["mand_ok"].fillna(0) >= len(mandatory))
    return passed.rename("passed").reset_index()


def graduate_indicators(ds, meth: Methodology) -> pd.DataFrame:
    """no_attestat (grades 9, 11), ege_sum3_220, ege_medal_elective, gia_main_pass, gia_main_pass_nsu."""
    z = meth.threshold("objectivity_signs.z")
    parts = []
    if ds.has("graduates"):
        g = ds.graduates
        counts = (g.assign(no_attestat=~g["attestat"].astype(bool), graduates=1)
                  .groupby(["school_id", "year", "grade"], observed=True)[["graduates", "no_attestat"]].sum().reset_index())
        counts["no_attestat"] = counts["no_attestat"].astype("int64")
        parts.append(_shares(rollup_counts(counts, ds.schools, ["year", "grade"], ["graduates", "no_attestat"]),
                             "no_attestat", "no_attestat", "graduates", z))
    if ds.has("gia"):
        s = scored(ds.gia, meth)
        sum3 = rollup_counts(sum3_counts(s, meth), ds.schools, ["year"], ["ege_graduates", "sum3"])
        parts.append(_shares(sum3, "ege_sum3_220", "sum3", "ege_graduates", z).assign(exam="ЕГЭ", grade=11))
        if ds.has("graduates"):
            med = rollup_counts(medal_counts(s, ds.graduates, meth), ds.schools, ["year"], ["medallists", "medal_elective"])
            parts.append(_shares(med, "ege_medal_elective", "medal_elective", "medallists", z).assign(exam="ЕГЭ", grade=11))
        passed = main_pass(s, meth)
        counts = (passed.assign(participants=1, passed=passed["passed"].astype("int64"))
                  .groupby(["school_id", "year", "grade"], observed=True)[["participants", "passed"]].sum().reset_index())
        parts.append(_shares(rollup_counts(counts, ds.schools, ["year", "grade"], ["participants", "passed"]),
                             "gia_main_pass", "passed", "participants", z))
        nsu_ids = ds.schools.loc[ds.schools["shnsu"].fillna(False).astype(bool), "school_id"] if "shnsu" in ds.schools else []
        nsu = counts[counts["school_id"].isin(nsu_ids)].groupby(["school_id", "year"], observed=True)[["participants", "passed"]].sum().reset_index()
        if len(nsu):
            parts.append(_shares(rollup_counts(nsu, ds.schools, ["year"], ["participants", "passed"]),
                                 "gia_main_pass_nsu", "passed", "participants", z))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    min_n = meth.threshold("small_groups.min_for_share")
    out["flag"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(out["denominator"] < min_n, "small_group")
    return out


def gia_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """Every ГИА indicator of docs/METHODOLOGY.md §2 at school, municipality and region level."""
    if not ds.has("gia") and not ds.has("graduates"):
        return None
    parts = [exam_indicators(ds, meth)] if ds.has("gia") else []
    parts.append(graduate_indicators(ds, meth))
    return pd.concat([p for p in parts if len(p)], ignore_index=True)


# ---- seed targets: plan vs fact -------------------------------------------------------------
PLAN_COLUMNS = ["id", "name", "indicator_id", "kind", "rule", "baseline_year", "baseline", "plan", "fact", "n",
                "gap", "direction", "status", "source"]


def targets(meth: Methodology) -> list[dict]:
    """The programme targets of gia_targets.yaml: none in the package defaults, a region's own from
    its methodology overlay (params/regions/<region>/gia_targets.yaml)."""
    return list(meth.data.get("gia_targets", {}).get("targets", None) or [])


def _indicator_value(ind: pd.DataFrame, t: dict, level: str, entity: str, year: int):
    rows = ind[(ind["indicator_id"] == t["indicator_id"]) & (ind["level"] == level) & (ind["entity_id"] == entity)
               & (ind["year"] == year)]
    for col in ("exam", "subject", "grade"):
        if col in t:
            rows = rows[rows[col] == t[col]]
    if len(rows) != 1:
        return np.nan, np.nan
    return float(rows["value"].iloc[0]), float(rows["denominator"].iloc[0])


def plan_vs_fact(ind: pd.DataFrame, meth: Methodology, level: str, entity: str, year: int,
                 baseline_year: int | None = None) -> pd.DataFrame:
    """One row per seed target: baseline (year, value), plan for `year`, fact, gap (fact − plan, п.п.)
    and status (достигнута / не достигнута / нет данных).

    absolute targets: plan = the plan value of the latest plan year ≤ `year` (before the first plan
    year: the first plan value); relative targets: plan = the entity's own value in the baseline year
    × multiply_by or ÷ divide_by (`baseline_year` overrides the configured one).

    A target whose programme has ended (the last plan year, or `target_year`, before `year`) is shown
    with status «срок цели истёк», never as a miss; a planned share is capped at 0–100 % and the rule
    says so («…, не более 100 %»)."""
    rows = []
    for t in targets(meth):
        fact, n = _indicator_value(ind, t, level, entity, year)
        rule = t.get("factor_text", "")
        if t["kind"] == "absolute":
            plans = {int(k): float(v) for k, v in t["plan"].items()}
            earlier = [y for y in plans if y <= year]
            plan = plans[max(earlier)] if earlier else plans[min(plans)]
            base_year, base = int(t["baseline"]["year"]), float(t["baseline"]["value"])
            stale = max(plans) < year
        else:
            base_year = int(baseline_year or t["baseline_year"])
            base, _ = _indicator_value(ind, t, level, entity, base_year)
            plan = base * float(t["multiply_by"]) if "multiply_by" in t else base / float(t["divide_by"])
            capped = min(max(plan, 0.0), 100.0)  # a share cannot be planned above 100 %
            if not np.isnan(plan) and capped != plan:
                rule = f"{rule}, не более 100 %" if rule else "не более 100 %"
            plan = capped
            stale = t.get("target_year") is not None and int(t["target_year"]) < year
        gap = fact - plan
        if stale:
            status = "срок цели истёк"
        elif np.isnan(fact) or np.isnan(plan):
            status = "нет данных"
        elif (fact <= plan) if t["direction"] == "lower" else (fact >= plan):
            status = "достигнута"
        else:
            status = "не достигнута"
        rows.append({"id": t["id"], "name": t["name"], "indicator_id": t["indicator_id"], "kind": t["kind"],
                     "rule": rule, "baseline_year": base_year, "baseline": base, "plan": plan,
                     "fact": fact, "n": n, "gap": gap, "direction": t["direction"], "status": status,
                     "source": t["source"]})
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


__all__ = ["KEYS", "REGION_ID", "scored", "result_counts", "exam_indicators", "graduate_indicators",
           "gia_indicators", "plan_vs_fact", "main_pass", "sum3_counts", "medal_counts", "subject_label"]
