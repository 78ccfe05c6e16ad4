"""Small groups are not shown (docs/METHODOLOGY.md §0 «Малые группы»): an aggregate over fewer people
than the methodology allows would reveal a person's result.

`suppress(frame, meth)` is the output step over the tidy indicator table (docs/DATA_CONTRACT.md): the
analyses compute on full data (`compute_all` is unchanged), and every output — reports, sidecars,
the Excel workbook, the index page, `shnor indicators` — shows the suppressed copy. A row is
suppressed when it is an aggregate over a group of people with 0 < denominator < the limit of that
kind of people:

- pupils and exam participants: `small_groups.suppress_below` (shares, means, counts of results,
  value added);
- teachers: `staffing.min_teachers` (a teacher is a person too: the methodology already says that
  shares of fewer teachers are not shown);
- DD rows `<id>_dd`: when D(t) or D(t−1) of the same entity and breakdown is suppressed (DD and the
  other year would give the hidden value back).

A suppressed row keeps its keys and denominator (the size of the group, not a result) and gets
value, numerator, ci_low, ci_high = NA and flag `suppressed`.

Not suppressed (not aggregates of a person's results): 0/1 verdicts about a school and counts of
procedures or risk factors of a school; shares over schools or municipalities; staff positions.
Objectivity signs, score peaks and task patterns are verdicts about a school: their 0/1 value stays
(they are not computed below `small_groups.min_for_sign` anyway), but the interval of the pupils'
mean score some of them carry is hidden under the pupils' limit. An indicator this module does not
know is treated as an aggregate over pupils (the safe side); tests/indicators/test_privacy.py fails
until every computed indicator is classified here.

What suppression does not do: secondary suppression. A municipality's total minus its shown schools
can still give a hidden school's numerator back (docs/METHODOLOGY.md §0).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from shnor_utils.methodology import Methodology

FLAG = "suppressed"
HIDDEN = ["value", "numerator", "ci_low", "ci_high"]
DD_SUFFIX = "_dd"

PUPILS, TEACHERS, SIGNS, EXEMPT = "pupils", "teachers", "signs", "exempt"
LIMIT_KEY = {PUPILS: "small_groups.suppress_below", SIGNS: "small_groups.suppress_below",
             TEACHERS: "staffing.min_teachers"}

# Aggregates over pupils / participants (the denominator counts them).
PUPIL_AGGREGATES = frozenset({
    "vpr_share_2", "vpr_all_passed", "vpr_journal_confirm", "vpr_journal_higher", "vpr_journal_lower",
    "vpr_journal_confirm_target",
    "gia_below_min", "gia_below_min_final", "gia_below_min_retake", "gia_success", "gia_quality",
    "gia_mean_score", "gia_mean_mark", "gia_main_pass", "gia_main_pass_nsu", "no_attestat",
    "ege_high_score", "ege_score_100", "ege_sum3_220", "ege_medal_elective",
    "shnor_fail_share", "shnor_fail_share_listed", "risk_fail_share", "value_added",
})
# Aggregates over teachers (the denominator counts teachers).
TEACHER_AGGREGATES = frozenset({
    "teacher_load", "teacher_turnover", "teachers_category_first", "teachers_category_high",
    "teachers_competence_raised", "teachers_diagnosed", "teachers_network_mentoring",
    "teachers_no_ped_education", "teachers_part_time", "teachers_pension_age", "teachers_post_course_support",
    "teachers_under_35", "teachers_with_deficit", "teachers_with_deficit_block", "teachers_with_iom",
    "iom_completed_deficit_reduced", "young_specialists",
})
# 0/1 verdicts about a school computed over its pupils: the value stays, the interval is hidden.
SCHOOL_SIGNS = frozenset({
    "vpr_journal_inflated", "vpr_sign_inflated_mean", "vpr_sign_mark_mismatch", "vpr_sign_cohort_jump", "vpr_peak_boundary",
    "vpr_task_pattern",
})
# Not aggregates of people's results.
NOT_PEOPLE = frozenset({
    # a school's verdicts and counts (procedures, risk factors)
    "shnor", "risk_school", "shnor_official", "shnor_watch", "low_procedures", "alt_bottom_decile", "risk_high_factors",
    # over schools or municipalities
    "shnor_share", "shnor_count", "risk_school_share", "risk_school_count", "shnor_free_municipalities",
    "shnor_official_agreement", "shnor_positive_dynamics", "nsu_positive_dynamics", "shnor_risk_profiled",
    "objectivity_index",
    # staff positions (ставки), not people
    "staffing_rate", "specialist_staffing_rate", "vacancies",
})


def kind_of(indicator_id: str) -> str:
    """pupils / teachers / signs / exempt of an indicator id (a DD row: of its base indicator)."""
    base = indicator_id[: -len(DD_SUFFIX)] if indicator_id.endswith(DD_SUFFIX) else indicator_id
    if base in TEACHER_AGGREGATES:
        return TEACHERS
    if base in SCHOOL_SIGNS:
        return SIGNS
    if base in NOT_PEOPLE:
        return EXEMPT
    return PUPILS


def limits(meth: Methodology) -> dict:
    """{kind: smallest group shown} from the methodology."""
    return {kind: float(meth.threshold(key)) for kind, key in LIMIT_KEY.items()}


def suppress(frame: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """A copy of the indicator table in which no aggregate of a small group can be read (module
    docstring). The input is not changed; rows, order, index and dtypes stay."""
    if frame.empty:
        return frame.copy()
    ids = frame["indicator_id"].astype("string").fillna("")
    kinds = ids.map({i: kind_of(i) for i in ids.unique()}).to_numpy()
    limit = pd.Series(kinds).map(limits(meth)).fillna(0.0).to_numpy()
    den = pd.to_numeric(frame["denominator"], errors="coerce").astype("float64").to_numpy()
    small = (den > 0) & (den < limit)                        # NaN denominators compare False
    whole = small & np.isin(kinds, [PUPILS, TEACHERS])
    interval = small & (kinds == SIGNS)
    is_dd = ids.str.endswith(DD_SUFFIX).to_numpy() & np.isin(kinds, [PUPILS, TEACHERS])
    if is_dd.any() and whole.any():
        whole |= _dd_of_hidden(frame, whole, is_dd)
    if not (whole.any() or interval.any()):
        return frame.copy()
    out = frame.copy()
    for c in HIDDEN:
        out[c] = out[c].mask(whole)
    for c in ("ci_low", "ci_high"):
        out[c] = out[c].mask(interval)
    out["flag"] = out["flag"].mask(whole, FLAG)
    return out


def hidden(frame: pd.DataFrame) -> pd.Series:
    """True where a row was suppressed (its numbers are not shown and must not enter a sum)."""
    return frame["flag"].eq(FLAG).fillna(False).astype(bool)


def _dd_of_hidden(frame: pd.DataFrame, whole: np.ndarray, is_dd: np.ndarray) -> np.ndarray:
    """DD rows whose D(t) or D(t−1) (same level, entity, base indicator, subject, grade, exam) is hidden."""
    keys = ["level", "entity_id", "indicator_id", "subject", "grade", "exam"]

    def keyed(rows: pd.DataFrame) -> pd.DataFrame:
        k = rows[keys].copy()
        for c in ("level", "entity_id", "indicator_id", "subject", "exam"):
            k[c] = k[c].astype("string").fillna("\0")
        k["grade"] = pd.to_numeric(k["grade"], errors="coerce").astype("Int64").fillna(-1)
        k["year"] = pd.to_numeric(rows["year"], errors="coerce").astype("Int64").fillna(-1)
        return k

    gone = keyed(frame[whole]).drop_duplicates()
    dd = keyed(frame[is_dd])
    dd["indicator_id"] = dd["indicator_id"].str[: -len(DD_SUFFIX)]
    dd["_pos"] = np.flatnonzero(is_dd)
    hit = np.zeros(len(frame), dtype=bool)
    for shift in (0, 1):       # D(t) and D(t−1)
        probe = dd.assign(year=dd["year"] - shift)
        found = probe.merge(gone, on=[*keys, "year"], how="inner")["_pos"].to_numpy()
        hit[found] = True
    return hit


def hidden_values(shown: pd.DataFrame, computed: pd.DataFrame) -> pd.DataFrame:
    """All that `reveal` needs of the computed table: the computed numbers (`HIDDEN`) and flag of the
    rows whose numbers `shown` hides, indexed by row position. A warm kernel keeps this (a few
    thousand rows) instead of a second copy of a region's table (≈ 280 MB at 1,000 schools)."""
    differ = np.zeros(len(shown), dtype=bool)
    for c in HIDDEN:
        differ |= shown[c].isna().to_numpy() & computed[c].notna().to_numpy()
    pos = np.flatnonzero(differ)
    rows = computed[[*HIDDEN, "flag"]].take(pos)
    rows.index = pos
    rows.attrs["hidden_values"] = True
    return rows


def reveal(shown: pd.DataFrame, computed: pd.DataFrame, positions) -> pd.DataFrame:
    """`shown` with the rows at `positions` (row positions, the same in both tables) taken back from
    `computed` — the computed table or its `hidden_values`: what a school's own report may show of
    itself. No copy when nothing there was hidden."""
    if not computed.attrs.get("hidden_values"):
        computed = hidden_values(shown, computed)
    pos = np.intersect1d(np.asarray(positions, dtype=np.int64), computed.index.to_numpy())
    if not len(pos):
        return shown
    back = computed.loc[pos]
    out = shown.copy(deep=False)
    for c in [*HIDDEN, "flag"]:
        values = out[c].array.copy()
        values[pos] = back[c].array
        out[c] = values
    return out


def too_small(n, meth: Methodology, kind: str = PUPILS):
    """Whether a group of `n` people (a number, or an array → a bool array) is too small to show an
    aggregate of: for presentation tables built from the data tables, not from the indicator table."""
    limit = limits(meth)[kind]
    if np.ndim(n) == 0:
        return bool(pd.notna(n) and 0 < float(n) < limit)
    n = pd.to_numeric(pd.Series(n), errors="coerce").astype("float64").to_numpy()
    return (n > 0) & (n < limit)
