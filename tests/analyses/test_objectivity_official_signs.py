"""The ФИОКО list «Признаки необъективности» (`official_signs`) beside the computed signs in the ВПР
objectivity report (present.official_signs_table), worked out by hand on the tiny dataset."""
import pandas as pd

from shnor_utils.analyses.objectivity import present as V
from shnor_utils.data.dataset import load_dataset
from shnor_utils.indicators import finish
from shnor_utils.methodology import load_methodology
from shnor_utils.reporting.report import Report

from tests.conftest import VPR, write_dataset


def _sign(entity, year, value, indicator="vpr_sign_inflated_mean", subject="Русский язык", grade=4, exam=pd.NA):
    return {"level": "school", "entity_id": entity, "year": year, "indicator_id": indicator, "subject": subject,
            "grade": grade, "exam": exam, "value": value, "flag": "sign" if value == 1 else pd.NA}


def _report(tmp_path, official, scope="region", entity=None):
    folder = write_dataset(tmp_path / "ds", vpr=VPR, **({"official_signs": official} if official is not None else {}))
    # computed: s1 has a sign in 2025 (РУ-4) and none in 2026; s2 a sign in 2026 (МА-5); s3 only an ОГЭ sign
    # (not on the ФИОКО ВПР list: not compared)
    ind = finish(pd.DataFrame([_sign("s1", 2025, 1), _sign("s1", 2026, 0), _sign("s2", 2026, 1, "vpr_sign_mark_mismatch",
                                                                               "Математика", 5), _sign("s3", 2026, 0),
                               _sign("s3", 2026, 1, subject="Математика", grade=9, exam="ОГЭ")]))
    return Report(load_dataset(folder), load_methodology(), ind, template="t", scope=scope, entity_id=entity, year=2026)


def test_official_list_beside_computed_signs(tmp_path):
    official = pd.DataFrame({"year": [2025, 2026, 2026, 2024], "school_id": ["s1", "s1", "s3", "s2"],
                             "marker": ["4 РУ", "5 МА", "4 РУ", "4 МА"]})
    table = _report(tmp_path, official)
    t = V.official_signs_table(table)
    names = load_dataset(tmp_path / "ds").schools.set_index("school_id")["school_name"]
    got = {(r["Школа"], r["Год"]): (r["Перечень ФИОКО"], r["Расчёт по данным"], r["Сравнение"]) for _, r in t.iterrows()}
    assert got == {
        (names["s1"], 2025): ("4 РУ", "РУ-4", V.OFFICIAL_BOTH),
        (names["s1"], 2026): ("5 МА", "—", V.OFFICIAL_ONLY),
        (names["s3"], 2026): ("4 РУ", "—", V.OFFICIAL_ONLY),
        (names["s2"], 2026): ("—", "МА-5", V.COMPUTED_ONLY),
        (names["s2"], 2024): ("4 МА", "—", V.NOT_COMPUTED),   # no computed signs for 2024 at all
    }


def test_school_report_sees_its_own_rows_and_nothing_without_the_table(tmp_path):
    official = pd.DataFrame({"year": [2026, 2026], "school_id": ["s1", "s3"], "marker": ["5 МА", "4 РУ"]})
    t = V.official_signs_table(_report(tmp_path, official, scope="school", entity="s3"))
    assert t[["Год", "Перечень ФИОКО", "Сравнение"]].values.tolist() == [[2026, "4 РУ", V.OFFICIAL_ONLY]]
    assert V.official_signs_table(_report(tmp_path / "b", None)).empty
