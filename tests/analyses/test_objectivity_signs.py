"""The official ФИОКО signs, the objectivity index, boundary peaks, task pattern, seed 001 target
share and gaps per class: hand-made frames whose answers are computed by hand in the comments."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from shnor_utils.methodology import load_methodology
from shnor_utils.analyses.objectivity.compute import (_target_hits, boundary_peaks, cohort_jump, inflated_mean, mark_gaps,
                                     mark_mismatch, objectivity_index_rows, task_comparison, task_pattern)

MA, RU = "Математика", "Русский язык"


@pytest.fixture(scope="module")
def meth():
    return load_methodology()


def vpr_rows(school, year, subject, grade, scores, journal=None, marks=None, classes=None):
    n = len(scores)
    return pd.DataFrame({
        "year": year, "subject": subject, "grade": grade, "school_id": school,
        "class_label": classes if classes is not None else ["А"] * n,
        "participant_code": [f"{school}-{i}" for i in range(n)], "absent": False,
        "primary_score": pd.array(scores, dtype="Int64"),
        "mark": pd.array(marks if marks is not None else [3] * n, dtype="Int64"),
        "journal_mark": pd.array(journal if journal is not None else [3] * n, dtype="Int64")})


# ---- sign 1: завышенный средний балл --------------------------------------------------------------
def _sign1(c):
    # region = school B (10 pupils: 10 … 19) + school A (5 pupils, all scoring c)
    scores = pd.concat([vpr_rows("B", 2024, MA, 4, list(range(10, 20))), vpr_rows("A", 2024, MA, 4, [c] * 5)])
    return inflated_mean(scores, ["year", "subject", "grade"], load_methodology()).set_index("school_id")


def test_sign1_triggered_just_above_the_region_interval():
    # c = 17: region Σx = 145 + 85 = 230, x̄ = 15.333; Σx² = 2185 + 1445 = 3630;
    # s² = (3630 − 15·15.333²)/14 = 103.333/14 = 7.381, s = 2.7168; ub = 15.333 + 1.96·2.7168/√15 = 16.708.
    # school A: s = 0, lb = 17 > 16.708 → sign.
    t = _sign1(17)
    assert t.loc["A", "region_ci_high"] == pytest.approx(16.7082, abs=1e-4)
    assert t.loc["A", "ci_low"] == 17 and t.loc["A", "sign"] == 1
    # school B: x̄ = 14.5, s = 3.0277, lb = 14.5 − 1.96·3.0277/√10 = 12.623 → no sign
    assert t.loc["B", "ci_low"] == pytest.approx(12.6234, abs=1e-4) and t.loc["B", "sign"] == 0


def test_sign1_not_triggered_just_below_the_region_interval():
    # c = 16: region x̄ = 225/15 = 15, s² = (3465 − 3375)/14 = 6.4286, ub = 15 + 1.96·2.5355/√15 = 16.283;
    # lb of A = 16 < 16.283 → no sign
    t = _sign1(16)
    assert t.loc["A", "region_ci_high"] == pytest.approx(16.2831, abs=1e-4)
    assert t.loc["A", "sign"] == 0


def test_sign1_small_group_is_insufficient_data():
    scores = pd.concat([vpr_rows("B", 2024, MA, 4, list(range(10, 20))), vpr_rows("A", 2024, MA, 4, [20] * 4)])
    t = inflated_mean(scores, ["year", "subject", "grade"], load_methodology()).set_index("school_id")
    assert pd.isna(t.loc["A", "sign"])  # 4 < min_for_sign = 5, even though 20 is far above the region


# ---- sign 2: несоответствие ВПР и отметок ------------------------------------------------------------
def test_sign2_negative_rho_is_a_sign(meth):
    # journal [5,4,3,3,2] → ranks [5,4,2.5,2.5,1]; scores [8,10,12,14,16] → ranks [1..5];
    # deviations from 3: j [2,1,−.5,−.5,−2], s [−2,−1,0,1,2]; Σ = −4 −1 +0 −.5 −4 = −9.5;
    # ρ = −9.5/√(9.5·10) = −0.97468 < 0 → sign
    v = vpr_rows("A", 2025, RU, 5, [8, 10, 12, 14, 16], journal=[5, 4, 3, 3, 2])
    t = mark_mismatch(v, meth).iloc[0]
    assert t["rho"] == pytest.approx(-0.97468, abs=1e-5)
    assert t["rho"] == pytest.approx(spearmanr([5, 4, 3, 3, 2], [8, 10, 12, 14, 16]).statistic)
    assert t["sign"] == 1


def test_sign2_rho_zero_is_not_a_sign(meth):
    # journal [4,3,5,3,4] → ranks [3.5,1.5,5,1.5,3.5], deviations [.5,−1.5,2,−1.5,.5];
    # Σ with s deviations [−2,−1,0,1,2] = −1 +1.5 +0 −1.5 +1 = 0 → ρ = 0, not < 0 → no sign
    v = vpr_rows("A", 2025, RU, 5, [8, 10, 12, 14, 16], journal=[4, 3, 5, 3, 4])
    t = mark_mismatch(v, meth).iloc[0]
    assert t["rho"] == pytest.approx(0, abs=1e-12) and t["sign"] == 0


def test_sign2_small_or_constant_groups_are_insufficient(meth):
    four = vpr_rows("A", 2025, RU, 5, [8, 10, 12, 14], journal=[5, 4, 3, 2])  # ρ = −1 but n = 4 < 5
    const = vpr_rows("B", 2025, RU, 5, [8, 10, 12, 14, 16], journal=[4] * 5)  # ρ undefined
    t = mark_mismatch(pd.concat([four, const]), meth).set_index("school_id")
    assert pd.isna(t.loc["A", "sign"]) and pd.isna(t.loc["B", "sign"])


def test_sign2_vectorised_rho_equals_scipy_on_many_groups(meth):
    # ρ is computed for all groups at once; each group must equal scipy's spearmanr (ties included)
    rng = np.random.default_rng(7)
    frames, expected = [], {}
    for i in range(60):
        n = int(rng.integers(2, 30))
        journal = rng.integers(2, 6, n).tolist()
        scores = rng.integers(0, 20, n).tolist()
        frames.append(vpr_rows(f"S{i:02d}", 2025, RU, 5, scores, journal=journal))
        expected[f"S{i:02d}"] = spearmanr(journal, scores).statistic if len(set(journal)) > 1 and len(set(scores)) > 1 else np.nan
    got = mark_mismatch(pd.concat(frames, ignore_index=True), meth).set_index("school_id")["rho"]
    for school, rho in expected.items():
        assert (np.isnan(rho) and pd.isna(got[school])) or got[school] == pytest.approx(rho, abs=1e-12), school


def test_signs_only_on_configured_procedures(meth):
    v = vpr_rows("A", 2025, RU, 6, [8, 10, 12, 14, 16], journal=[5, 4, 3, 3, 2])  # РУ-6 is not a sign procedure
    assert mark_mismatch(v, meth).empty


# ---- sign 3: резкое изменение 4 → 5 ------------------------------------------------------------------
def _cohorts(s6_score):
    # МА-4 and МА-5 have max 20 (2021 scale, carried over). Every school: 5 pupils in grade 4 (2023)
    # with one score and 5 in grade 5 (2024) scoring 10 (S = 0.5).
    grade4 = {"s1": 9, "s2": 10, "s3": 10, "s4": 10, "s5": 11, "s6": s6_score}
    parts = [vpr_rows(s, 2023, MA, 4, [x] * 5) for s, x in grade4.items()]
    parts += [vpr_rows(s, 2024, MA, 5, [10] * 5) for s in grade4]
    return cohort_jump(pd.concat(parts, ignore_index=True), load_methodology()).set_index("school_id")


def test_sign3_fences_and_sharp_drop():
    # K = (x/20)/0.5 → s1..s5: 0.9, 1.0, 1.0, 1.0, 1.1; s6 (score 14): 1.4.
    # sorted [0.9, 1.0, 1.0, 1.0, 1.1, 1.4]: Q25 (position 1.25) = 1.0; Q75 (position 3.75) = 1.0 + .75·0.1 = 1.075;
    # IQR = 0.075; fences 1.0 − 3·0.075 = 0.775 and 1.075 + 0.225 = 1.3 → s6 K = 1.4 > 1.3: sharp drop
    k = _cohorts(14)
    assert k.loc["s6", "K"] == pytest.approx(1.4)
    assert k.loc["s6", "fence_low"] == pytest.approx(0.775) and k.loc["s6", "fence_high"] == pytest.approx(1.3)
    assert k.loc["s6", "sign"] == 1 and k.loc["s6", "direction"] == "drop"
    assert (k.drop(index="s6")["sign"] == 0).all()
    # the sign belongs to the year of grade 5
    assert set(k["year"]) == {2024} and set(k["grade"]) == {5}


def test_sign3_inside_the_fence_is_not_a_sign():
    # s6 score 12 → K = 1.2 < 1.3 (the fences do not move: Q75 uses positions 3 and 4 only)
    k = _cohorts(12)
    assert k.loc["s6", "K"] == pytest.approx(1.2) and k.loc["s6", "sign"] == 0


def test_sign3_sharp_rise():
    # s6 score 5 → K = 0.5; sorted [0.5, 0.9, 1, 1, 1, 1.1]: Q25 = 0.9 + .25·0.1 = 0.925, Q75 = 1.0,
    # IQR = 0.075, lower fence 0.925 − 0.225 = 0.7 → 0.5 < 0.7: sharp rise
    k = _cohorts(5)
    assert k.loc["s6", "fence_low"] == pytest.approx(0.7)
    assert k.loc["s6", "sign"] == 1 and k.loc["s6", "direction"] == "rise"


# ---- objectivity index ---------------------------------------------------------------------------
def test_objectivity_index_by_hand():
    schools = pd.DataFrame({"school_id": ["a", "b", "c", "d", "e"], "municipality_id": ["m1", "m1", "m1", "m2", "m2"]})
    signs = pd.DataFrame({
        "entity_id": ["a", "a", "b", "c", "d", "e"], "year": [2026] * 6,
        "value": [0.0, 1.0, 0.0, 0.0, np.nan, 0.0]})  # a: one sign; d: nothing computable
    rows = objectivity_index_rows(signs, schools, 1.96).set_index(["level", "entity_id"])
    # m1: 1 of 3 schools flagged → 100 − 33.33 = 66.67; m2: d is not judged, e clean → 100 − 0/1 = 100
    assert rows.loc[("municipality", "m1"), "value"] == pytest.approx(66.6667, abs=1e-3)
    assert rows.loc[("municipality", "m2"), "value"] == 100
    # region: 1 flagged of 4 judged → 75
    reg = rows.loc[("region", "region")]
    assert (reg["value"], reg["numerator"], reg["denominator"]) == (75, 1, 4)
    assert reg["ci_low"] < 75 < reg["ci_high"]


# ---- seed 001 target share: «не ниже, чем в журнале» for biology etc. -------------------------------
def test_target_hits_follow_configuration(meth):
    counts = pd.DataFrame({"subject": ["Биология", MA], "lower": [1, 1], "confirm": [2, 2], "higher": [1, 1]})
    # biology: confirm 2 + higher 1 = 3 (seed: «не ниже, чем в журнале»); mathematics: strict, 2
    assert _target_hits(counts, meth).tolist() == [3, 2]


# ---- score distribution peaks ----------------------------------------------------------------------
def test_boundary_peak_by_hand(meth):
    # МА-5 2021 scale: «3» from 7, «4» from 11, «5» from 15. 20 pupils: one each at 5, 6, 8, 9, ten at 7,
    # and six spread far away. At 7: c = 10, neighbours (5, 6, 8, 9) mean 1, ratio 10 ≥ 2, c ≥ 6,
    # excess (10 − 1)/20 = 45 % ≥ 20 % → peak at the «3» boundary.
    scores = [5, 6, 8, 9] + [7] * 10 + [1, 2, 3, 17, 18, 19]
    p = boundary_peaks(vpr_rows("A", 2021, MA, 5, scores), meth).set_index("mark")
    assert p.loc[3, "at"] == 10 and p.loc[3, "neighbours"] == 1 and p.loc[3, "peak"] == 1
    assert p.loc[4, "peak"] == 0 and p.loc[5, "peak"] == 0
    # only 5 at 7 (others moved to 12): c = 5 < peak_min_count 6 → no peak
    scores = [5, 6, 8, 9] + [7] * 5 + [12] * 5 + [1, 2, 3, 17, 18, 19]
    assert boundary_peaks(vpr_rows("A", 2021, MA, 5, scores), meth).set_index("mark").loc[3, "peak"] == 0
    # below approximate_n = 20 participants nothing is judged
    assert boundary_peaks(vpr_rows("A", 2021, MA, 5, scores[:19]), meth)["peak"].isna().all()


# ---- task level ----------------------------------------------------------------------------------
def _tasks(school, rates, n=10):
    # rates: {task: (level, solved out of n, max 1)}
    rows = []
    for task, (level, solved) in rates.items():
        for i in range(n):
            rows.append({"year": 2026, "subject": MA, "grade": 4, "school_id": school,
                         "participant_code": f"{school}{i}", "task": task, "score": int(i < solved),
                         "max_score": 1, "level": level})
    return pd.DataFrame(rows)


def test_task_comparison_and_pattern(meth):
    # region = A + B (10 pupils each). Tasks 1, 2 easy (Б), 3, 4 hard (П).
    # A: 9, 9, 1, 1 solved; B: 5, 5, 5, 5 → region 70, 70, 30, 30 %; median 50: tasks 1, 2 easier.
    # B: easy diff 50 − 70 = −20 ≤ −5 and hard diff 50 − 30 = +20 ≥ +5 → pattern; A: +20 / −20 → none
    tasks = pd.concat([_tasks("A", {1: ("Б", 9), 2: ("Б", 9), 3: ("П", 1), 4: ("П", 1)}),
                       _tasks("B", {1: ("Б", 5), 2: ("Б", 5), 3: ("П", 5), 4: ("П", 5)})])
    cmp = task_comparison(tasks, meth).set_index(["school_id", "task"])
    assert cmp.loc[("A", 1), "region_rate"] == 70 and cmp.loc[("A", 3), "rate"] == 10
    # mastery: Б needs ≥ 60 % (B's 50 % is below), П needs ≥ 30 % (A's 10 % is below, B's 50 % is not)
    assert cmp.loc[("B", 1), "below_mastery"] and cmp.loc[("A", 3), "below_mastery"]
    assert not cmp.loc[("B", 3), "below_mastery"] and not cmp.loc[("A", 1), "below_mastery"]
    pat = task_pattern(tasks, meth).set_index("school_id")
    assert pat.loc["B", "diff_easy"] == -20 and pat.loc["B", "diff_hard"] == 20
    assert pat.loc["B", "pattern"] == 1 and pat.loc["A", "pattern"] == 0


# ---- gaps of ≥ 2 marks per class -------------------------------------------------------------------
def test_mark_gaps_per_class(meth):
    # class А: ВПР 2 vs журнал 4 (−2), 3 vs 4 (−1), 5 vs 3 (+2); class Б: 2 vs 5 (−3), 4 vs 4
    v = vpr_rows("A", 2025, RU, 5, [1] * 5, marks=[2, 3, 5, 2, 4], journal=[4, 4, 3, 5, 4],
                 classes=["А", "А", "А", "Б", "Б"])
    g = mark_gaps(v, meth).set_index("class_label")
    assert g.loc["А", ["compared", "gap_lower", "gap_higher"]].tolist() == [3, 1, 1]
    assert g.loc["Б", ["compared", "gap_lower", "gap_higher"]].tolist() == [2, 1, 0]
    assert "participant_code" not in g.reset_index().columns


def test_seed_001_target_share_and_flags(tmp_path):
    from shnor_utils.data.dataset import load_dataset
    from shnor_utils.analyses import compute_all
    from tests.conftest import write_dataset

    # s1, Биология 6: 6 confirm, 2 higher, 2 lower → strict «подтвердили» 60 %, seed target share
    # («не ниже журнала») (6 + 2)/10 = 80 % ≥ 75 → no flag.
    # s1, Математика 5: 7 confirm, 3 higher → target share (strict) 70 % < 75 → «below_target»;
    # повысили 30 % ≥ 10 → no flag on vpr_journal_higher.
    bio = vpr_rows("s1", 2024, "Биология", 6, [20] * 10, marks=[4] * 10, journal=[4] * 6 + [3] * 2 + [5] * 2)
    ma = vpr_rows("s1", 2024, MA, 5, [12] * 10, marks=[4] * 10, journal=[4] * 7 + [3] * 3)
    folder = write_dataset(tmp_path / "t", vpr=pd.concat([bio, ma]).assign(absent="false"))
    ind = compute_all(load_dataset(folder))
    school = ind[(ind.level == "school") & (ind.entity_id == "s1")].set_index(["indicator_id", "subject"])
    assert school.loc[("vpr_journal_confirm", "Биология"), "value"] == 60
    row = school.loc[("vpr_journal_confirm_target", "Биология")]
    assert (row["value"], row["numerator"], row["denominator"]) == (80, 8, 10) and pd.isna(row["flag"])
    row = school.loc[("vpr_journal_confirm_target", MA)]
    assert row["value"] == 70 and row["flag"] == "below_target"
    assert pd.isna(school.loc[("vpr_journal_higher", MA), "flag"])
