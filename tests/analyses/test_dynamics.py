"""DD = D(t) − D(t−1), its classification (direction, tolerance, boundaries), targets and the share of
ШНОР with positive dynamics (shnor_utils/dynamics.py), on hand-made tables and on the demo."""
import pandas as pd
import pytest

from shnor_utils.analyses.dynamics import compute as D
from shnor_utils.data.dataset import load_dataset
from shnor_utils.analyses import compute_all
from shnor_utils.indicators import finish
from shnor_utils.methodology import load_methodology

from tests.conftest import ROOT, write_dataset

METH = load_methodology()
REGIONS = ROOT / "params" / "regions"


def rows(*records):
    """Indicator rows from (level, entity, year, indicator, subject, grade, value, denominator, flag)."""
    cols = ["level", "entity_id", "year", "indicator_id", "subject", "grade", "value", "denominator", "flag"]
    return finish(pd.DataFrame(records, columns=cols))


def test_classification_boundaries_lower_is_better():
    # share of «2»: ФИОКО — +10 п.п. is negative dynamics, so exactly +10 is negative, +9.99 stable
    tol = D.tolerance(D.catalogue(METH)["vpr_share_2"], METH)
    assert tol == 10
    got = D.classify([10.0, 9.99, -9.99, -10.0, 0.0, -25.0, None], "lower", tol).tolist()
    assert got[:6] == ["negative", "stable", "stable", "positive", "stable", "positive"]
    assert pd.isna(got[6])


def test_classification_higher_is_better_and_zero_tolerance():
    assert D.classify([5.0, -5.0, 4.9], "higher", 5).tolist() == ["positive", "negative", "stable"]
    # counts (vacancies): tolerance 0 — any change counts, no change is stable
    assert D.tolerance(D.catalogue(METH)["vacancies"], METH) == 0
    assert D.classify([1.0, 0.0, -1.0], "lower", 0).tolist() == ["negative", "stable", "positive"]


def test_tolerance_defaults():
    # a share without its own tolerance takes dynamics.tolerance_pp; a count takes stable_zero_unit
    assert D.tolerance({"unit": "%"}, METH) == METH.threshold("dynamics.tolerance_pp")
    assert D.tolerance({"unit": "шт."}, METH) == METH.threshold("dynamics.stable_zero_unit")


def test_dd_by_hand():
    table = rows(
        ("school", "s1", 2023, "vpr_share_2", "Математика", 5, 30.0, 20, None),
        ("school", "s1", 2024, "vpr_share_2", "Математика", 5, 18.0, 20, None),   # DD = 18 − 30 = −12 → positive
        ("school", "s1", 2025, "vpr_share_2", "Математика", 5, 28.0, 20, None),   # DD = +10 → negative
        ("school", "s1", 2027, "vpr_share_2", "Математика", 5, 10.0, 20, None),   # 2026 missing → no DD
        ("school", "s2", 2023, "vpr_share_2", "Математика", 5, 40.0, 4, None),
        ("school", "s2", 2024, "vpr_share_2", "Математика", 5, 0.0, 4, None),     # 4 participants → small group
        ("region", "region", 2023, "staffing_rate", None, None, 97.0, 100, None),
        ("region", "region", 2024, "staffing_rate", None, None, 95.5, 100, None),  # −1.5, tol 1 → negative
        ("region", "region", 2023, "not_in_catalogue", None, None, 1.0, 1, None),
        ("region", "region", 2024, "not_in_catalogue", None, None, 9.0, 1, None),
    )
    dd = D.dd_rows(table, None, METH)
    got = {(r.entity_id, r.indicator_id, int(r.year)): (round(float(r.value), 6), r.flag) for r in dd.itertuples()}
    assert got == {
        ("s1", "vpr_share_2_dd", 2024): (-12.0, "positive"),
        ("s1", "vpr_share_2_dd", 2025): (10.0, "negative"),
        ("s2", "vpr_share_2_dd", 2024): (-40.0, "small_group"),
        ("region", "staffing_rate_dd", 2024): (-1.5, "negative"),
    }
    # subject and grade survive the NA-safe join
    s1 = dd[dd.entity_id == "s1"].iloc[0]
    assert (s1.subject, int(s1.grade)) == ("Математика", 5)
    assert pd.isna(dd[dd.entity_id == "region"].iloc[0].subject)


def test_single_year_gives_no_dd():
    table = rows(("school", "s1", 2024, "vpr_share_2", "Математика", 5, 30.0, 20, None))
    assert D.dd_rows(table, None, METH).empty


def test_targets_and_plan_fact():
    # targets are a region's programme: none in the package defaults, Kirensky's and Tomsk's in their overlays
    assert not any(e.get("targets") for e in D.catalogue(METH).values())
    assert D.target_for(D.catalogue(METH)["specialist_staffing_rate"], 2021) == (None, None)
    cat = D.catalogue(load_methodology(REGIONS / "kirensky"))
    i4 = cat["specialist_staffing_rate"]          # seed 004 I4: 50 → 60 → 68 → 70 (2019–2022)
    assert D.target_for(i4, 2021) == (68.0, 2021)
    assert D.target_for(i4, 2026) == (70.0, 2022)  # the final target stays in force
    assert D.target_for(i4, 2018) == (None, None)
    pf = D.plan_fact(65.0, i4, 2022)               # 65 − 70 = −5 п.п.: below plan
    assert pf["gap"] == -5 and pf["met"] is False
    no_att = D.catalogue(load_methodology(REGIONS / "tomsk"))["no_attestat"]
    pf = D.plan_fact(5.0, no_att, 2024, {"grade": 9})  # lower is better: target 6, fact 5 → +1 better
    assert pf["gap"] == 1 and pf["met"] is True
    # seed 000 sets the target for the 9th grade only (`target_where`): the 11th grade has none
    assert D.plan_fact(5.0, no_att, 2024, {"grade": 11, "subject": None})["target"] is None


def test_catalogue_is_complete():
    cat = D.catalogue(METH)
    for ind, e in cat.items():
        assert e["direction"] in ("higher", "lower"), ind
        for field in ("name", "formula", "unit", "levels", "source", "status"):
            assert e.get(field), (ind, field)
    # the seed indicator sets are represented: Kirensky I1–I4, Tomsk R1–R10, C10
    seed_ids = {s for e in cat.values() for s in e.get("seed_ids", [])}
    assert {"I1", "I2", "I3", "I4", "R1", "R2", "R3", "R7", "R10", "C10a", "C10d"} <= seed_ids
    assert all(u.get("reason") for u in D.unsupported(METH))


def test_shnor_positive_dynamics_by_hand(tmp_path):
    official = pd.DataFrame({"year": [2024, 2024, 2024], "school_id": ["s1", "s2", "s3"]})
    ds = load_dataset(write_dataset(tmp_path / "ds", official_shnor=official))
    table = rows(
        # s1: two positive → improved; s2: one positive, one negative → not improved; s3: nothing classified
        ("school", "s1", 2024, "vpr_share_2_dd", "Математика", 5, -12.0, None, "positive"),
        ("school", "s1", 2024, "gia_below_min_dd", "Математика", None, -6.0, None, "positive"),
        ("school", "s2", 2024, "vpr_share_2_dd", "Математика", 5, -12.0, None, "positive"),
        ("school", "s2", 2024, "vpr_share_2_dd", "Русский язык", 5, 15.0, None, "negative"),
        ("school", "s3", 2024, "vpr_share_2_dd", "Математика", 5, 3.0, None, "small_group"),
        ("school", "s1", 2024, "staffing_rate_dd", None, None, 9.0, None, "negative"),  # not a result: ignored
    )
    out = D.positive_share(table, ds, METH, "shnor", "shnor_positive_dynamics")
    by = {(r.level, r.entity_id): r for r in out.itertuples()}
    assert by[("school", "s1")].value == 1 and by[("school", "s2")].value == 0
    assert ("school", "s3") not in by                     # cannot be judged → not in the denominator
    m1 = by[("municipality", "m1")]                        # 1 of 2 → 50 % ≥ 25 % (seed 001)
    assert (m1.value, m1.numerator, m1.denominator) == (50.0, 1, 2) and pd.isna(m1.flag)


def test_demo_export_carries_dd_and_teacher_ids(demo_small):
    ind = compute_all(load_dataset(demo_small))
    ids = set(ind.indicator_id)
    for required in ("staffing_rate", "vacancies", "teachers_with_deficit", "staffing_rate_dd", "vacancies_dd",
                     "teachers_with_deficit_dd", "vpr_share_2_dd", "shnor_positive_dynamics"):
        assert required in ids, required
    computed = [i for i, e in D.catalogue(METH).items() if e["status"] == "computed"]
    missing = [i for i in computed if i not in ids]
    assert not missing
    # DD rows agree with their two years
    dd = ind[(ind.indicator_id == "staffing_rate_dd") & (ind.level == "region") & ind.subject.isna()].iloc[-1]
    base = ind[(ind.indicator_id == "staffing_rate") & (ind.level == "region") & ind.subject.isna()].set_index("year")
    assert dd.value == pytest.approx(base.loc[dd.year, "value"] - base.loc[dd.year - 1, "value"])
