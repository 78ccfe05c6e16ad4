"""Staffing and professional deficits (shnor_utils/teachers.py) on hand-made tables, and the
planted vacancies and deficits of the demo region."""
import json

import pandas as pd
import pytest

from shnor_utils.data.dataset import load_dataset
from shnor_utils.analyses import compute_all
from shnor_utils.methodology import load_methodology

from tests.conftest import write_dataset

STAFFING = pd.DataFrame({
    "year": [2024] * 5,
    "school_id": ["s1", "s1", "s1", "s2", "s3"],
    "position": ["учитель", "учитель", "педагог-психолог", "учитель", "учитель-логопед"],
    "subject": ["Математика", "Русский язык", None, "Математика", None],
    "rates_planned": [2.0, 3.0, 1.0, 4.0, 1.0],
    "rates_filled": [1.0, 3.0, 0.5, 4.0, 0.0],
    "vacancies": [1, 0, 0, 0, 1],
})

# s1: 2023 teachers t1, t2, t3; 2024 t1, t2, t4 (t4 teaches two subjects) and a psychologist p1.
TEACHERS = pd.DataFrame({
    "year": [2023, 2023, 2023, 2024, 2024, 2024, 2024, 2024],
    "school_id": ["s1"] * 8,
    "teacher_id": ["t1", "t2", "t3", "t1", "t2", "t4", "t4", "p1"],
    "position": ["учитель"] * 7 + ["педагог-психолог"],
    "subject": ["Математика", "Русский язык", "Физика", "Математика", "Русский язык", "Физика", "Химия", None],
    "age": [29, 61, 50, 30, 62, 40, 40, 25],
    "pedagogical_education": [True, False, True, True, False, True, True, True],
    "category": ["высшая", "первая", "соответствие", "высшая", "первая", "соответствие", "соответствие", "без категории"],
    "experience_years": [1, 34, 20, 2, 35, 10, 10, 1],
    "rate": [1.0, 1.5, 1.0, 1.0, 1.5, 0.5, 0.75, 1.0],
    "part_time": [False, True, False, False, True, False, False, False],
})

# s1 2024, max 20 (предметный) and 10 (методический); deficit = score below 50 % of the maximum.
DIAGNOSTICS = pd.DataFrame({
    "year": [2024] * 6, "school_id": ["s1"] * 6,
    "teacher_id": ["t1", "t1", "t2", "t2", "t4", "t4"],
    "block": ["предметный", "методический"] * 3,
    "score": [10.0, 4.0, 9.0, 8.0, 20.0, 10.0],     # t1: 50 % (boundary: no deficit), 40 %; t2: 45 %, 80 %
    "max_score": [20.0, 10.0] * 3,
})

DEVELOPMENT = pd.DataFrame({
    "year": [2024] * 4, "school_id": ["s1"] * 4, "teacher_id": ["t1", "t2", "t4", "t5"],
    "diagnosed": [True, True, True, False], "has_iom": [True, True, False, False],
    "iom_completed": [True, False, False, False], "deficit_reduced": [True, True, False, False],
    "post_course_support": [True, False, False, False], "network_mentoring": [False] * 4,
    "competence_raised": [True, True, True, False],
})


@pytest.fixture(scope="module")
def ind(tmp_path_factory):
    folder = write_dataset(tmp_path_factory.mktemp("teachers") / "ds", staffing=STAFFING, teachers=TEACHERS,
                           teacher_diagnostics=DIAGNOSTICS, teacher_development=DEVELOPMENT)
    return compute_all(load_dataset(folder))


def row(ind, indicator, level, entity, subject=None, year=2024):
    r = ind[(ind.indicator_id == indicator) & (ind.level == level) & (ind.entity_id == entity) & (ind.year == year)]
    r = r[r.subject.isna()] if subject is None else r[r.subject == subject]
    assert len(r) == 1, (indicator, level, entity, subject)
    return r.iloc[0]


def test_staffing_rate_and_vacancies(ind):
    # s1: filled 1 + 3 + 0.5 = 4.5 of planned 2 + 3 + 1 = 6 → 75 %; below 95 % → flagged
    s1 = row(ind, "staffing_rate", "school", "s1")
    assert (s1.value, s1.numerator, s1.denominator, s1.flag) == (75.0, 4.5, 6.0, "below_target")
    # m1 = s1 + s2: (4.5 + 4) / (6 + 4) = 85 %; region: 8.5 / 11 = 77.27 %
    assert row(ind, "staffing_rate", "municipality", "m1").value == pytest.approx(85.0)
    assert row(ind, "staffing_rate", "region", "region").value == pytest.approx(100 * 8.5 / 11)
    assert row(ind, "staffing_rate", "school", "s2").flag is pd.NA
    # vacancies: s1 one (Математика), region two (s1 математика + s3 логопед)
    assert row(ind, "vacancies", "school", "s1").value == 1
    assert row(ind, "vacancies", "school", "s1", "Математика").flag == "vacancy"
    assert row(ind, "vacancies", "school", "s1", "Русский язык").value == 0
    assert row(ind, "vacancies", "region", "region").value == 2
    assert row(ind, "vacancies", "municipality", "m1", "Математика").value == 1


def test_specialist_staffing_rate(ind):
    # specialists (seed 004 I4): s1 психолог 0.5 / 1 = 50 %; region 0.5 / (1 + 1) = 25 %
    assert row(ind, "specialist_staffing_rate", "school", "s1").value == 50.0
    assert row(ind, "specialist_staffing_rate", "school", "s1", "педагог-психолог").value == 50.0
    assert row(ind, "specialist_staffing_rate", "region", "region").value == 25.0
    assert row(ind, "specialist_staffing_rate", "school", "s3", "учитель-логопед").value == 0.0


def test_teacher_composition_by_hand(ind):
    # 2024 teachers of s1 (the psychologist p1 is not a teacher): t1, t2, t4 → n = 3
    for indicator in ("teachers_part_time", "teachers_no_ped_education", "teachers_category_high",
                      "teachers_category_first", "teachers_under_35", "teachers_pension_age", "young_specialists"):
        r = row(ind, indicator, "school", "s1")
        # one of three each: t2 part-time / no ped. education / первая / 62 ≥ 60; t1 высшая / 30 < 35 / стаж 2 < 3
        assert (r.numerator, r.denominator) == (1, 3), indicator
        assert r.value == pytest.approx(100 / 3)
        assert r.flag == "small_group"  # 3 teachers < 5: never shown, never flagged
    # load: (1.0 + 1.5 + 0.5 + 0.75) / 3 = 1.25 ставки на учителя
    load = row(ind, "teacher_load", "school", "s1")
    assert load.value == pytest.approx(1.25) and load.numerator == pytest.approx(3.75)


def test_turnover(ind):
    # 2023: t1, t2, t3; t3 is not there in 2024 → 1 / 3; 2023 has no previous year → no row
    t = row(ind, "teacher_turnover", "school", "s1")
    assert (t.numerator, t.denominator) == (1, 3)
    assert ind[(ind.indicator_id == "teacher_turnover") & (ind.year == 2023)].empty


def test_professional_deficits_by_hand(ind):
    # any block: t1 (методический 40 %) and t2 (предметный 45 %) of 3 diagnosed → 66.7 %;
    # t1's предметный 10/20 = 50 % is exactly at the threshold: not a deficit
    any_block = row(ind, "teachers_with_deficit", "school", "s1")
    assert (any_block.numerator, any_block.denominator) == (2, 3)
    assert row(ind, "teachers_with_deficit_block", "school", "s1", "предметный").numerator == 1
    assert row(ind, "teachers_with_deficit_block", "school", "s1", "методический").numerator == 1
    assert row(ind, "teachers_with_deficit", "region", "region").value == pytest.approx(200 / 3)


def test_development_shares_by_hand(ind):
    # 4 teachers: diagnosed 3, ИОМ 2, completed with deficit reduced 1 (t2 reduced without completing),
    # post-course 1, network 0, competence raised 3
    expected = {"teachers_diagnosed": 75, "teachers_with_iom": 50, "iom_completed_deficit_reduced": 25,
                "teachers_post_course_support": 25, "teachers_network_mentoring": 0, "teachers_competence_raised": 75}
    for indicator, value in expected.items():
        r = row(ind, indicator, "school", "s1")
        assert r.value == value and r.denominator == 4, indicator


def test_no_teacher_id_in_export(ind):
    ids = set(TEACHERS.teacher_id)
    assert not ids & set(ind.entity_id.astype(str))
    assert not ids & set(ind.subject.dropna().astype(str))


def test_planted_vacancies_and_deficits_found(demo_small):
    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))
    assert 100 * truth["deficit_threshold"] == load_methodology().threshold("teacher_deficits.deficit_below")
    ind = compute_all(load_dataset(demo_small))
    v = ind[(ind.indicator_id == "vacancies") & (ind.level == "school") & ind.subject.isna() & (ind.value > 0)]
    assert set(zip(v.entity_id, v.year.astype(int))) == {(e["school_id"], e["year"]) for e in truth["vacancies"]}
    for e in truth["vacancies"]:
        if e["position"] == "учитель":  # the municipality view of subjects lacking teachers sees it
            r = ind[(ind.indicator_id == "vacancies") & (ind.level == "school") & (ind.entity_id == e["school_id"])
                    & (ind.year == e["year"]) & (ind.subject == e["subject"])]
            assert r.value.iloc[0] >= 1
    d = ind[(ind.indicator_id == "teachers_with_deficit_block") & (ind.level == "school") & (ind.flag == "high_deficit")]
    found = set(zip(d.entity_id, d.year.astype(int), d.subject))
    planted = {(p["school_id"], p["year"], p["block"]) for p in truth["teacher_deficits"]}
    assert found == planted
    for p in truth["teacher_deficits"]:
        r = d[(d.entity_id == p["school_id"]) & (d.subject == p["block"])].iloc[0]
        assert (r.numerator, r.denominator) == (p["with_deficit"], p["diagnosed"])


def test_report_views_show_planted_effects_without_teachers(demo_small):
    from shnor_utils.analyses.teachers import present as T
    from shnor_utils.session import open_report

    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))
    p = truth["teacher_deficits"][0]
    rep = open_report(demo_small, template="teacher_deficits", scope="school", entity_id=p["school_id"], year=p["year"])
    texts = [f.text for f in T.findings(rep)]
    assert any(f"«{p['block']}»" in t for t in texts)
    table, classes = T.deficit_table(rep)
    assert classes[table["Блок диагностики"].tolist().index(p["block"])] == "shnor-flag"
    v = next(e for e in truth["vacancies"] if e["position"] == "учитель")
    mun = rep.ds.schools.set_index("school_id").loc[v["school_id"], "municipality_id"]
    rep_m = open_report(demo_small, template="teacher_deficits", scope="municipality", entity_id=mun, year=v["year"])
    gaps = T.vacancies_by_subject(rep_m)
    assert v["subject"] in gaps.columns
    shown = " ".join(frame.to_string() for frame in (T.staffing_table(rep), table, T.development_table(rep), gaps))
    teacher_ids = set(pd.read_parquet(demo_small / "teachers.parquet").teacher_id)
    assert not any(t in shown for t in teacher_ids)
