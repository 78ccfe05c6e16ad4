"""ГИА indicators (shnor_utils/gia.py) on a hand-made dataset whose every number is computed by hand,
and the planted low ОГЭ/ЕГЭ results of the demo region."""
import json

import numpy as np
import pandas as pd
import pytest

from shnor_utils.data.dataset import load_dataset
from shnor_utils.analyses.gia.compute import _flags, plan_vs_fact, subject_label
from shnor_utils.analyses import compute_all
from shnor_utils.indicators import COLUMNS
from shnor_utils.methodology import load_methodology
from tests.conftest import SCHOOLS as BASE_SCHOOLS
from tests.conftest import ROOT, write_dataset

REGIONS = ROOT / "params" / "regions"

SCHOOLS = BASE_SCHOOLS.assign(shnsu=[False, False, True])   # the shared three schools; s3 works in НСУ


def _row(exam, subject, school, pid, grade, primary, mark=None, test=None, level=None, period="основной", attempt=1):
    return {"year": 2024, "exam": exam, "subject": subject, "level": level, "school_id": school, "participant_id": pid,
            "grade": grade, "period": period, "attempt": attempt, "primary_score": primary, "test_score": test, "mark": mark}


# 2024 minimum ЕГЭ scores (config/gia.yaml): Русский язык 24, профильная математика 27, Физика 36, Обществознание 42.
GIA = pd.DataFrame([
    # s1, ОГЭ (grade 9): a1..a4 mathematics 5/4/3/2; a4 retakes in the additional period and gets «3»
    _row("ОГЭ", "Математика", "s1", "a1", 9, 25, 5), _row("ОГЭ", "Математика", "s1", "a2", 9, 18, 4),
    _row("ОГЭ", "Математика", "s1", "a3", 9, 10, 3), _row("ОГЭ", "Математика", "s1", "a4", 9, 5, 2),
    _row("ОГЭ", "Математика", "s1", "a4", 9, 9, 3, period="дополнительный", attempt=2),
    # Русский язык 4/4/3 and a4 without a mark: primary 15 → «3» on the 2024 scale («3» from 15)
    _row("ОГЭ", "Русский язык", "s1", "a1", 9, 25, 4), _row("ОГЭ", "Русский язык", "s1", "a2", 9, 24, 4),
    _row("ОГЭ", "Русский язык", "s1", "a3", 9, 16, 3), _row("ОГЭ", "Русский язык", "s1", "a4", 9, 15, None),
    # s1, ЕГЭ (grade 11): b1 РУ 90, проф 85, физика 80; b2 РУ 100, база «5», обществознание 60;
    # b3 takes both mathematics levels (база «4», проф 20 < 27), РУ 23 < 24 and 40 on the retake
    _row("ЕГЭ", "Русский язык", "s1", "b1", 11, 45, test=90), _row("ЕГЭ", "Математика", "s1", "b1", 11, 27, test=85, level="профильная"),
    _row("ЕГЭ", "Физика", "s1", "b1", 11, 40, test=80),
    _row("ЕГЭ", "Русский язык", "s1", "b2", 11, 50, test=100), _row("ЕГЭ", "Математика", "s1", "b2", 11, 18, 5, level="базовая"),
    _row("ЕГЭ", "Обществознание", "s1", "b2", 11, 40, test=60),
    _row("ЕГЭ", "Математика", "s1", "b3", 11, 14, 4, level="базовая"), _row("ЕГЭ", "Математика", "s1", "b3", 11, 4, test=20, level="профильная"),
    _row("ЕГЭ", "Русский язык", "s1", "b3", 11, 9, test=23),
    _row("ЕГЭ", "Русский язык", "s1", "b3", 11, 18, test=40, period="дополнительный", attempt=2),
    # s2: a single ЕГЭ participant c1 (РУ 50, база «3»)
    _row("ЕГЭ", "Русский язык", "s2", "c1", 11, 25, test=50), _row("ЕГЭ", "Математика", "s2", "c1", 11, 8, 3, level="базовая"),
    # s3 (НСУ, municipality m2): no ЕГЭ participants; d1 passes, d2 gets «2» in mathematics
    _row("ОГЭ", "Математика", "s3", "d1", 9, 9, 3), _row("ОГЭ", "Математика", "s3", "d2", 9, 4, 2),
    _row("ОГЭ", "Русский язык", "s3", "d1", 9, 24, 4), _row("ОГЭ", "Русский язык", "s3", "d2", 9, 23, 4),
])

GRADUATES = pd.DataFrame({
    "year": 2024, "school_id": ["s1"] * 7 + ["s2", "s3", "s3"], "grade": [9, 9, 9, 9, 11, 11, 11, 11, 9, 9],
    "participant_id": ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "c1", "d1", "d2"],
    "attestat": [True] * 9 + [False],
    "honours": [True, False, False, False, True, True, False, False, False, False],
})


@pytest.fixture(scope="module")
def ind(tmp_path_factory):
    folder = write_dataset(tmp_path_factory.mktemp("gia") / "ds", schools=SCHOOLS, gia=GIA, graduates=GRADUATES)
    return compute_all(load_dataset(folder), only=["gia"])


def one(ind, indicator, level, entity, **keys):
    rows = ind[(ind.indicator_id == indicator) & (ind.level == level) & (ind.entity_id == entity)]
    for k, v in keys.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, (indicator, level, entity, keys, len(rows))
    return rows.iloc[0]


def test_export_shape_and_subject_convention(ind):
    assert list(ind.columns) == COLUMNS
    ege_subjects = set(ind.loc[ind.exam == "ЕГЭ", "subject"].dropna())
    assert {"Математика (базовая)", "Математика (профильная)"} <= ege_subjects and "Математика" not in ege_subjects
    assert "Математика" in set(ind.loc[ind.exam == "ОГЭ", "subject"])
    for indicator in ("gia_below_min", "gia_success", "gia_quality", "gia_mean_score", "ege_high_score",
                      "ege_sum3_220", "no_attestat"):
        assert set(ind.loc[ind.indicator_id == indicator, "level"]) == {"school", "municipality", "region"}, indicator


def test_oge_main_period_first_attempt(ind):
    k = dict(exam="ОГЭ", subject="Математика", year=2024)
    # s1 main period: marks 5, 4, 3, 2 → 1 of 4 below the minimum = 25 %; the retake is not counted
    below = one(ind, "gia_below_min", "school", "s1", **k)
    assert (below.value, below.numerator, below.denominator) == (25, 1, 4)
    # Wilson 1/4: centre (0.25 + 0.4802)/1.9604 = 0.37247, half 1.96·√(0.046875 + 0.060025)/1.9604 = 0.32682
    assert below.ci_low == pytest.approx(4.56, abs=0.01) and below.ci_high == pytest.approx(69.93, abs=0.01)
    assert one(ind, "gia_success", "school", "s1", **k).value == 75           # 3 of 4 with «3»–«5»
    assert one(ind, "gia_quality", "school", "s1", **k).value == 50           # «4», «5»: 2 of 4
    assert one(ind, "gia_mean_score", "school", "s1", **k).value == 14.5      # (25 + 18 + 10 + 5) / 4
    assert one(ind, "gia_mean_mark", "school", "s1", **k).value == 3.5        # (5 + 4 + 3 + 2) / 4
    # retakes apart: a4's retake «3» → 0 of 1 below; after all sittings nobody of s1 is below
    assert one(ind, "gia_below_min_retake", "school", "s1", **k).value == 0
    assert one(ind, "gia_below_min_final", "school", "s1", **k).numerator == 0
    # region = s1 (1 of 4) + s3 (d2: 1 of 2) → 2 of 6 = 33.3 %; municipality m2 = s3 → 50 %
    assert one(ind, "gia_below_min", "region", "region", **k).value == pytest.approx(100 * 2 / 6)
    assert one(ind, "gia_below_min", "municipality", "m2", **k).value == 50


def test_missing_oge_mark_comes_from_the_scale(ind):
    # Русский язык s1: 4, 4, 3 and primary 15 → «3»: none below, quality 2 of 4, mean mark 14/4
    ru = dict(exam="ОГЭ", subject="Русский язык")
    assert one(ind, "gia_below_min", "school", "s1", **ru).value == 0
    assert one(ind, "gia_quality", "school", "s1", **ru).value == 50
    assert one(ind, "gia_mean_mark", "school", "s1", **ru).value == 3.5


def test_ege_minimum_scores_and_high_scores(ind):
    ru = dict(exam="ЕГЭ", subject="Русский язык")
    # s1 main: 90, 100, 23 (< 24) → 1 of 3 below; mean (90 + 100 + 23) / 3 = 71; 81–100: 90, 100 → 2 of 3
    assert one(ind, "gia_below_min", "school", "s1", **ru).numerator == 1
    assert one(ind, "gia_below_min", "school", "s1", **ru).value == pytest.approx(100 / 3)
    assert one(ind, "gia_success", "school", "s1", **ru).value == pytest.approx(200 / 3)
    assert one(ind, "gia_mean_score", "school", "s1", **ru).value == 71
    assert one(ind, "ege_high_score", "school", "s1", **ru).value == pytest.approx(200 / 3)
    assert one(ind, "ege_score_100", "school", "s1", **ru).value == 1      # b2's 100
    # ЕГЭ Russian has no marks: no quality row
    assert ind[(ind.indicator_id == "gia_quality") & (ind.exam == "ЕГЭ") & (ind.subject == "Русский язык")].empty
    # municipality m1 = s1 + s2: 90, 100, 23, 50 → 1 of 4 = 25 %
    assert one(ind, "gia_below_min", "municipality", "m1", **ru).value == 25
    # b3's retake 40 is kept apart: 0 of 1 below among retakes
    assert one(ind, "gia_below_min_retake", "school", "s1", **ru).value == 0


def test_both_mathematics_levels_are_kept_apart(ind):
    prof = dict(exam="ЕГЭ", subject="Математика (профильная)")
    base = dict(exam="ЕГЭ", subject="Математика (базовая)")
    # профильная: 85, 20 (< 27) → 1 of 2 below; mean 52.5; high 85 → 1 of 2
    assert one(ind, "gia_below_min", "school", "s1", **prof).value == 50
    assert one(ind, "gia_mean_score", "school", "s1", **prof).value == 52.5
    assert one(ind, "ege_high_score", "school", "s1", **prof).value == 50
    # базовая: marks 5 and 4 → none below, quality 100 %, mean primary (18 + 14) / 2 = 16, mean mark 4.5
    assert one(ind, "gia_below_min", "school", "s1", **base).value == 0
    assert one(ind, "gia_quality", "school", "s1", **base).value == 100
    assert one(ind, "gia_mean_score", "school", "s1", **base).value == 16
    assert one(ind, "gia_mean_mark", "school", "s1", **base).value == 4.5
    # base mathematics is never a high score (no test score)
    assert ind[(ind.indicator_id == "ege_high_score") & (ind.subject == "Математика (базовая)")].empty


def test_single_participant_and_school_without_ege(ind):
    ru = dict(exam="ЕГЭ", subject="Русский язык")
    single = one(ind, "gia_below_min", "school", "s2", **ru)
    # 0 of 1: Wilson centre = half = 1.9208 / 4.8416 = 0.39673 → [0 %, 79.35 %]; a small group, never flagged
    assert (single.value, single.denominator) == (0, 1)
    assert single.ci_low == 0 and single.ci_high == pytest.approx(79.35, abs=0.01)
    assert single.flag == "small_group"
    # s3 has no ЕГЭ participants: no ЕГЭ row for s3 or its municipality m2
    ege = ind[ind.exam == "ЕГЭ"]
    assert ege[(ege.entity_id == "s3") | (ege.entity_id == "m2")].empty


def test_sum_of_three_best_ege_subjects(ind):
    # b1: 90 + 85 + 80 = 255 ≥ 220; b2: 100 + 60 = 160 (base mathematics has no test score);
    # b3: best Russian 40 (retake) + профильная 20 = 60 → 1 of 3 in s1; region adds c1 (50) → 1 of 4
    s1 = one(ind, "ege_sum3_220", "school", "s1")
    assert (s1.numerator, s1.denominator) == (1, 3)
    assert one(ind, "ege_sum3_220", "region", "region").value == 25


def test_no_attestat_medallists_and_main_period_pass(ind):
    # grade 9: s1 0 of 4, s3 d2 → 1 of 2, region 1 of 6
    assert one(ind, "no_attestat", "school", "s1", grade=9).value == 0
    assert one(ind, "no_attestat", "school", "s3", grade=9).value == 50
    assert one(ind, "no_attestat", "region", "region", grade=9).value == pytest.approx(100 / 6)
    assert one(ind, "no_attestat", "region", "region", grade=11).value == 0
    # medallists of grade 11 in s1: b1 (физика 80 ≥ 70) yes, b2 (обществознание 60) no → 50 %;
    # a1's honours in grade 9 do not count
    med = one(ind, "ege_medal_elective", "school", "s1")
    assert (med.numerator, med.denominator) == (1, 2)
    # main period: grade 9 s1 — a4 got «2» in mathematics → 3 of 4; grade 11 s1 — b3 failed Russian → 2 of 3
    # (b3's mathematics passes through the base level, but Russian is needed too)
    assert one(ind, "gia_main_pass", "school", "s1", grade=9).value == 75
    assert one(ind, "gia_main_pass", "school", "s1", grade=11).value == pytest.approx(200 / 3)
    # НСУ schools: only s3 (d1 passes, d2 does not) → 50 % at s3, m2 and the region
    assert one(ind, "gia_main_pass_nsu", "region", "region").value == 50
    assert one(ind, "gia_main_pass_nsu", "municipality", "m2").value == 50
    assert ind[(ind.indicator_id == "gia_main_pass_nsu") & (ind.entity_id == "s1")].empty


def test_subject_label():
    frame = pd.DataFrame({"exam": ["ЕГЭ", "ЕГЭ", "ОГЭ", "ЕГЭ"], "subject": ["Математика", "Математика", "Математика", "Физика"],
                          "level": ["базовая", "профильная", None, None]})
    assert subject_label(frame).tolist() == ["Математика (базовая)", "Математика (профильная)", "Математика", "Физика"]


def test_low_result_and_small_group_flags():
    meth = load_methodology()
    rows = pd.DataFrame({
        "indicator_id": ["gia_below_min"] * 4 + ["gia_success"],
        "exam": ["ОГЭ", "ОГЭ", "ОГЭ", "ЕГЭ", "ОГЭ"],
        "subject": ["Математика", "Математика", "Физика", "Математика (профильная)", "Математика"],
        "value": [40.0, 40.0, 40.0, 30.0, 60.0], "denominator": [12.0, 4.0, 12.0, 20.0, 12.0]})
    # ≥ 30 % below in a procedure of the 30 % rule with ≥ 10 participants → low_result; 4 participants → small
    # group (never flagged); physics is not a rule procedure; ЕГЭ профильная is judged per level
    flags = [None if pd.isna(f) else f for f in _flags(rows, meth)]
    assert flags == ["low_result", "small_group", None, "low_result", None]
    # the 30 % rule judges from 5 participants: 40 % of 6 is low although 6 < 10 (a small share group)
    rows.loc[0, "denominator"] = 6.0
    assert _flags(rows, meth).iloc[0] == "low_result"


def test_plan_vs_fact_by_hand():
    meth = load_methodology(REGIONS / "tomsk")   # seed 000 targets C10a–C10d
    base = dict(level="school", entity_id="s1", grade=pd.NA, exam=pd.NA, subject=pd.NA)
    ind = pd.DataFrame([
        {**base, "indicator_id": "no_attestat", "year": 2024, "grade": 9, "value": 5.0, "denominator": 40},
        {**base, "indicator_id": "gia_below_min", "year": 2023, "exam": "ОГЭ", "subject": "Математика", "value": 13.0, "denominator": 40},
        {**base, "indicator_id": "gia_below_min", "year": 2024, "exam": "ОГЭ", "subject": "Математика", "value": 11.0, "denominator": 40},
        {**base, "indicator_id": "gia_success", "year": 2023, "exam": "ОГЭ", "subject": "Физика", "value": 50.0, "denominator": 20},
        {**base, "indicator_id": "gia_success", "year": 2024, "exam": "ОГЭ", "subject": "Физика", "value": 65.0, "denominator": 20},
        {**base, "indicator_id": "gia_main_pass_nsu", "year": 2024, "value": 90.0, "denominator": 30},
        {**base, "indicator_id": "ege_sum3_220", "year": 2023, "value": 90.0, "denominator": 30},
        {**base, "indicator_id": "ege_sum3_220", "year": 2024, "value": 95.0, "denominator": 30},
    ])
    t = plan_vs_fact(ind, meth, "school", "s1", 2024).set_index("id")
    # C10a absolute: plan 6 % in 2024, fact 5 % → achieved, gap −1 п.п.
    assert (t.loc["C10a", "plan"], t.loc["C10a", "gap"], t.loc["C10a", "status"]) == (6.0, -1.0, "достигнута")
    # C10b relative: 13 % (2023) ÷ 1.3 = 10 % planned, fact 11 % → not achieved, gap +1 п.п.
    assert t.loc["C10b", "plan"] == pytest.approx(10.0) and t.loc["C10b", "status"] == "не достигнута"
    # C10c (ОГЭ): 50 % × 1.2 = 60 % planned, fact 65 % → achieved
    assert t.loc["C10c-ОГЭ", "plan"] == pytest.approx(60.0) and t.loc["C10c-ОГЭ", "status"] == "достигнута"
    assert t.loc["C10c-ЕГЭ", "status"] == "нет данных"
    # C10d: 90 % × 1.2 = 108 % → capped at 100 %; fact 95 % → not achieved, gap −5 п.п.
    assert (t.loc["C10d", "plan"], t.loc["C10d", "gap"]) == (100.0, -5.0)
    assert t.loc["C10d", "rule"].endswith("не более 100 %")          # the cap is stated
    assert "I2" not in t.index  # another region's programme
    # I2 (Kirensky, 2019–2022): the programme ended before 2024 — shown (plan 100 %, gap −10 п.п.), never a miss
    k = plan_vs_fact(ind, load_methodology(REGIONS / "kirensky"), "school", "s1", 2024).set_index("id")
    assert list(k.index) == ["I2"]
    assert (k.loc["I2", "plan"], k.loc["I2", "gap"], k.loc["I2", "status"]) == (100.0, -10.0, "срок цели истёк")
    # in its own year 2022 the same plan is judged
    k22 = plan_vs_fact(ind.assign(year=ind["year"] - 2), load_methodology(REGIONS / "kirensky"), "school", "s1", 2022)
    assert k22.set_index("id").loc["I2", "status"] == "не достигнута"
    # the package defaults hold no programme: an empty table with its columns
    none = plan_vs_fact(ind, load_methodology(), "school", "s1", 2024)
    assert none.empty and {"id", "status", "plan", "fact"} <= set(none.columns)
    # the baseline year is a parameter: 2022 has no data → no plan
    t22 = plan_vs_fact(ind, meth, "school", "s1", 2024, baseline_year=2022).set_index("id")
    assert t22.loc["C10b", "status"] == "нет данных" and np.isnan(t22.loc["C10b", "plan"])


def test_every_target_names_its_source():
    assert load_methodology().data["gia_targets"]["targets"] == []
    targets = [t for region in ("tomsk", "kirensky")
               for t in load_methodology(REGIONS / region).data["gia_targets"]["targets"]]
    assert {t["id"] for t in targets} >= {"C10a", "C10b", "C10c-ОГЭ", "C10d", "I2"}
    assert all(t["source"].startswith("seed") for t in targets)
    demo = load_methodology(REGIONS / "demo").data["gia_targets"]["targets"]
    assert demo and all(t["source"] == "демонстрационная программа (вымышленная)" for t in demo)


# ---- the demo region: planted low ОГЭ/ЕГЭ results are found --------------------------------------
@pytest.fixture(scope="module")
def demo_ind(demo_small):
    return compute_all(load_dataset(demo_small), only=["gia"])


def test_planted_low_gia_results_are_found(demo_small, demo_ind):
    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))
    rule = truth["low_results_rule"]
    planted = {(e["school_id"], e["year"], e["kind"], e["subject"]) for e in truth["low_procedures"] if e["kind"] != "ВПР"}
    assert planted, "the demo plants low ОГЭ/ЕГЭ results"
    rows = demo_ind[(demo_ind.indicator_id == "gia_below_min") & (demo_ind.level == "school")]
    rows = rows.assign(base=rows.subject.str.replace(r" \((базовая|профильная)\)$", "", regex=True))
    rows = rows[rows.base.isin(["Русский язык", "Математика"])]
    # the seed 003 rule does not split ЕГЭ mathematics: pool both levels for the comparison
    pooled = rows.groupby(["entity_id", "year", "exam", "base"])[["numerator", "denominator"]].sum()
    share = 100 * pooled.numerator / pooled.denominator
    low = share[(share >= rule["share_failed"]) & (pooled.denominator >= rule["min_participants"])]
    found = {(s, int(y), e, b) for s, y, e, b in low.index}
    assert found == planted


def test_demo_indicators_everywhere(demo_ind):
    for indicator in ("gia_below_min", "gia_success", "gia_quality", "gia_mean_score", "ege_high_score",
                      "ege_sum3_220", "no_attestat", "ege_medal_elective", "gia_main_pass_nsu"):
        rows = demo_ind[demo_ind.indicator_id == indicator]
        assert set(rows.level) == {"school", "municipality", "region"}, indicator
    shares = demo_ind[demo_ind.indicator_id.isin(["gia_below_min", "no_attestat", "ege_sum3_220"])]
    assert ((shares.value >= 0) & (shares.value <= 100)).all()
    # (1e-9: stats.wilson_ci leaves ~1e-15 instead of an exact 0 at k = 0)
    assert (shares.ci_low <= shares.value + 1e-9).all() and (shares.value <= shares.ci_high + 1e-9).all()


# ---- presentation and template -----------------------------------------------------------------
def test_pp_wording():
    from shnor_utils.analyses.gia.present import pp_diff
    # 12.5 − 10.0 = +2.5 п.п. above the ±1 tolerance; −0.4 within it
    assert pp_diff(2.5, 1.0) == "+2,5 п.п. (выше)"
    assert pp_diff(-0.4, 1.0) == "−0,4 п.п. (на уровне)"
    assert pp_diff(-3.0, 1.0) == "−3,0 п.п. (ниже)"


def test_school_report_flags_the_planted_low_result(demo_small):
    from shnor_utils.analyses.gia import present as G
    from shnor_utils.session import open_report
    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))
    low = next(e for e in truth["low_procedures"] if e["kind"] == "ОГЭ")
    rep = open_report(demo_small, template="gia_results", scope="school", entity_id=low["school_id"], year=low["year"])
    texts = [f.text for f in G.findings(rep) if f.severity == "flag"]
    assert any(t.startswith(f"ОГЭ, {low['subject']}:") for t in texts)
    table, classes = G.results_table(rep, "ОГЭ")
    assert "shnor-flag" in classes and "Разница с МО" in table.columns
    # the school report shows only this school and aggregates: no other school's name
    names = set(rep.ds.schools.school_name) - {rep.entity_name}
    assert not any(n in " ".join(map(str, table.to_numpy().ravel())) for n in names)


def test_municipality_ranking_puts_small_groups_last(demo_small):
    from shnor_utils.analyses.gia import present as G
    from shnor_utils.session import open_report
    rep = open_report(demo_small, template="gia_results", scope="municipality", entity_id="reg99_m002", year=2025)
    table, classes = G.ranking_table(rep)
    ranked = table[table["Место"] != "—"]
    assert list(ranked["Место"]) == list(range(1, len(ranked) + 1))
    values = ranked["Ниже минимума"].str.replace("\u00a0%", "").str.replace(",", ".").astype(float)
    assert values.is_monotonic_decreasing
    small = [i for i, c in enumerate(classes) if c == "shnor-small"]
    assert small == list(range(len(ranked), len(table)))


def test_template_is_thin_and_declares_its_tables():
    import nbformat
    from tests.conftest import ROOT
    nb = nbformat.read(ROOT / "notebooks/templates/gia_results.ipynb", 4)
    assert [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])].__len__() == 1
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    meta = nb.metadata["shnor"]
    assert set(meta["tables"]) == {"schools", "gia", "graduates"}
    assert set(meta["scopes"]) == {"school", "municipality", "region"}
    assert "baseline_year" in meta["parameters"]


def test_a_school_without_gia_in_the_year_gets_its_report(demo_small):
    # edu990040 (like edu990046, edu990052) has no ОГЭ / ЕГЭ rows in 2026: the report says so instead of
    # failing on an empty column (seen in `make reports`: «Cannot perform reduction 'any' with string dtype»)
    from shnor_utils.analyses.gia import present as G
    from shnor_utils.session import open_report
    from tests.reporting.inprocess import outputs_of
    rep = open_report(demo_small, template="gia_results", scope="school", entity_id="edu990040", year=2026)
    assert G.finding_kinds(rep) == []
    outputs = outputs_of("gia_results", dataset=demo_small, scope="school", entity_id="edu990040", year=2026)
    text = " ".join(str(o["data"].get("text/html", "")) for o in outputs)
    assert "Результаты ГИА" in text or "ГИА" in text
