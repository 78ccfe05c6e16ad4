"""Clusters, contextual value added, mentor pairs (context.py); risk profiles; school passport."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from shnor_utils.analyses.context import compute as context
from shnor_utils.analyses.risk_profiles import compute as risk_profiles
from shnor_utils.analyses.shnor import present as shnor_report
from shnor_utils.data.dataset import load_dataset
from shnor_utils.methodology import load_methodology
from shnor_utils.reporting.report import Report

METH = load_methodology()


def test_index_bands_at_the_boundaries():
    # bands [40, 60]: < 40 низкий, 40 ≤ … < 60 средний, ≥ 60 высокий
    si = pd.Series([39.9, 40.0, 59.9, 60.0, np.nan])
    assert context.index_band(si, [40, 60]).tolist() == ["низкий", "средний", "средний", "высокий", context.NO_INDEX]


def test_value_added_by_hand():
    # x = index 0, 10, 20, 30; y = 0, 1, 2, 7. x̄ = 15, ȳ = 2.5; Sxy = 37.5 + 7.5 − 2.5 + 67.5 = 110,
    # Sxx = 500 → slope 0.22, intercept 2.5 − 0.22·15 = −0.8; expected −0.8, 1.4, 3.6, 5.8;
    # value added 0.8, −0.4, −1.6, 1.2 (one settlement type: the город column is dropped).
    ctx = pd.DataFrame({"school_id": list("abcd"), "settlement": "село", "social_index": [0.0, 10, 20, 30],
                        "band": "x", "cluster": "село · x"})
    results = pd.DataFrame({"school_id": list("abcd"), "year": 2026, "result": [0.0, 1, 2, 7],
                            "se": 0.0, "n": 20})
    va = context.value_added(results, ctx, z=1.96).set_index("school_id")
    assert va["expected"].round(6).tolist() == [-0.8, 1.4, 3.6, 5.8]
    assert va["va"].round(6).tolist() == [0.8, -0.4, -1.6, 1.2]
    # uncertainty: σ̂² = RSS/(n − p) = (0.64 + 0.16 + 2.56 + 1.44)/2 = 2.4; for x₀ = x̄ the fitted
    # value's variance is σ̂²/n, at x = 0 it is σ̂²(1/4 + 15²/500) = 2.4·0.7 = 1.68
    assert va.loc["a", "va_se"] == pytest.approx(np.sqrt(1.68))
    assert va.loc["a", "va_low"] == pytest.approx(0.8 - 1.96 * np.sqrt(1.68))


def test_school_results_deviation_from_region():
    # ВПР Математика 5 2024: max 20 (scale of the year). s1 scores 10, 20 → 50 %, 100 %;
    # s2 scores 0, 10 → 0 %, 50 %; region mean 50 % → s1 deviations 0, +50 (mean 25), s2 −50, 0 (mean −25)
    scale = METH.vpr_scale(2024, "Математика", 5)
    m = scale.max
    vpr = pd.DataFrame({"year": 2024, "subject": "Математика", "grade": 5, "school_id": ["s1", "s1", "s2", "s2"],
                        "absent": False, "primary_score": [m / 2, m, 0, m / 2]})
    res = context.school_results(vpr, METH).set_index("school_id")
    assert res["result"].tolist() == pytest.approx([25.0, -25.0])
    assert res["n"].tolist() == [2, 2]
    assert res.loc["s1", "se"] == pytest.approx(np.std([0, 50], ddof=1) / np.sqrt(2))


def test_mentor_candidates_same_cluster_positive_not_low():
    va = pd.DataFrame({"school_id": ["low", "m1", "m2", "m3", "other"], "year": 2026,
                       "cluster": ["c", "c", "c", "c", "d"], "va": [-3.0, 4.0, 2.0, -1.0, 9.0],
                       "va_low": [-5.0, -0.5, 0.5, -3.0, 5.0]})
    va["verdict"] = ""
    pairs = context.mentor_candidates(va, ["low"], n=3)
    # m2 is significant (va_low > 0) so it comes first; m3 (negative) and other (another cluster) never
    assert pairs["school_id_mentor"].tolist() == ["m2", "m1"]


def test_risk_level_distribution_by_hand(demo_small):
    rp = pd.DataFrame({"year": 2026, "school_id": ["a", "b", "c", "d"], "risk_factor": "rf02",
                       "level": ["высокий", "высокий", "средний", "низкий"]})
    dist = risk_profiles.level_distribution(rp, METH, ["a", "b", "c", "d"], 2026).set_index("code")
    # 2 of 4 высокий = 50 %, 1 of 4 средний = 25 %, 1 of 4 низкий = 25 %
    assert dist.loc["rf02", ["высокий", "средний", "низкий", "n"]].tolist() == [50.0, 25.0, 25.0, 4]
    assert dist.loc["rf02", "factor"] == "Дефицит педагогических кадров"


def test_catalogue_matches_demo_truth(demo_small):
    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))
    cat = risk_profiles.catalogue(METH).set_index("code")["name"].to_dict()
    assert cat == truth["risk_factors"]


@pytest.fixture(scope="module")
def demo_ds(demo_small):
    return load_dataset(demo_small, methodology=METH)


def test_value_added_recovers_planted_resilient_schools(demo_ds, demo_small):
    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))
    resilient = {r["school_id"] for r in truth["resilient"]}
    va = context.context_table(demo_ds, METH)
    for year, part in va.groupby("year"):
        top3 = set(part.nlargest(3, "va")["school_id"])
        assert resilient <= top3, year
        mine = part[part["school_id"].isin(resilient)]
        assert (mine["va_low"] > 0).all() and (mine["verdict"] == "выше ожидаемого").all(), year
        # the planted schools are in hard conditions: the lowest index band
        assert (mine["cluster"].str.contains("низкий")).all()


def test_passport_gathers_flags_generically(demo_ds):
    ind = pd.DataFrame({
        "level": "school", "entity_id": ["edu990001"] * 5 + ["edu990002"], "year": 2026,
        "indicator_id": ["some_new_flag", "some_new_flag", "a_share", "a_share", "shnor", "shnor"],
        "subject": [pd.NA] * 6, "grade": [pd.NA] * 6, "exam": [pd.NA] * 6,
        "value": [1.0, 0.0, 42.0, 3.0, 0.0, 1.0],
        "numerator": np.nan, "denominator": np.nan, "ci_low": np.nan, "ci_high": np.nan,
        "flag": [pd.NA, pd.NA, "below_target", "small_group", pd.NA, pd.NA]})
    ind.loc[1, "year"] = 2025   # the 0 of some_new_flag is another year
    rep = Report(demo_ds, METH, ind, template="school_passport", scope="school", entity_id="edu990001", year=2026,
                 parameters={"templates": str(ROOT / "notebooks" / "templates")})
    flags = shnor_report.passport_flags(rep)
    # binary 1 of an unknown analysis (shown by its id), a flagged share; not the small group,
    # not shnor = 0, not another school's shnor = 1
    assert sorted(flags["Анализ"]) == ["a_share", "some_new_flag"]
    assert flags.set_index("Анализ").loc["a_share", "Отметка"] == "ниже целевого значения"
    links = dict((href, title) for title, href in shnor_report.passport_links(rep))
    assert "vpr_objectivity.html" in links
    assert "../../municipality/%s/shnor_selection.html" % rep.municipality_id in links
