"""The Rosobrnadzor 30 % rule, the ШНОР list over years, the alternative method (shnor.py)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shnor_utils.analyses.shnor import compute as shnor
from shnor_utils.data.dataset import load_dataset
from shnor_utils.analyses import compute_all
from shnor_utils.methodology import load_methodology

METH = load_methodology()


class FakeDataset:
    """Just the tables shnor.py reads (hand-made, no file round trip)."""

    def __init__(self, **tables):
        self.tables = tables

    def has(self, name):
        return name in self.tables

    def __getattr__(self, name):
        try:
            return self.tables[name]
        except KeyError:
            raise AttributeError(name) from None


def _res(rows):
    return shnor.judge(pd.DataFrame(rows, columns=["school_id", "year", "procedure", "participants", "failed"]), METH)


def test_boundary_29_9_vs_30_percent_and_min_group():
    res = _res([("a", 2024, "p", 1000, 299),   # 29.9 % → not low
                ("b", 2024, "p", 1000, 300),   # 30.0 % → low (≥ 30 %)
                ("c", 2024, "p", 10, 3),       # 3/10 = 30 % exactly → low
                ("d", 2024, "p", 4, 4),        # 100 % but 4 < 5 participants → not judged, not low
                ("e", 2024, "p", 5, 2)])       # 2/5 = 40 %, exactly 5 participants → low
    assert res["low"].tolist() == [False, True, True, False, True]
    assert res["judged"].tolist() == [True, True, True, False, True]
    assert res["share"].round(1).tolist() == [29.9, 30.0, 30.0, 100.0, 40.0]


def _k(rows, years=(2023, 2024, 2025, 2026)):
    res = pd.DataFrame([(s, y, f"p{i}", True, True) for s, y, n in rows for i in range(n)],
                       columns=["school_id", "year", "procedure", "low", "judged"])
    schools = sorted({s for s, _, _ in rows} | {"zero"})
    return shnor.rule_lists(shnor.low_counts(res, schools, years))


def _on(status, col, year):
    part = status[(status["year"] == year) & status[col].fillna(False).astype(bool)]
    return sorted(part["school_id"])


def test_rule_two_in_one_year_one_in_each_of_two_years():
    status = _k([("two_in_one", 2023, 2),          # k(2023) = 2 → ШНОР 2024
                 ("one_only", 2023, 1),            # k(2023) = 1, k(2022) unknown (0) → not ШНОР 2024
                 ("one_each", 2024, 1), ("one_each", 2025, 1),   # 1 in 2024 and in 2025 → ШНОР 2026
                 ("gap", 2023, 1), ("gap", 2025, 1)])            # 1, 0, 1 → never ШНОР (years not consecutive)
    assert _on(status, "shnor", 2024) == ["two_in_one"]
    assert _on(status, "shnor", 2025) == []
    assert _on(status, "shnor", 2026) == ["one_each"]
    assert _on(status, "shnor", 2027) == []          # list of the year after the data: k(2026) = 0 for all
    assert _on(status, "risk_school", 2023) == ["gap", "one_only", "two_in_one"]   # k ≥ 1 in the year itself
    assert _on(status, "risk_school", 2025) == ["gap", "one_each"]
    first = status[status["year"] == 2023]
    assert first["shnor"].isna().all()              # no Y−1 data → undefined, not «нет»
    ahead = status[status["year"] == 2027]
    assert ahead["risk_school"].isna().all() and ahead["shnor"].notna().all()


def test_rule_one_low_in_last_year_and_one_before_lists_next_year():
    status = _k([("s", 2025, 1), ("s", 2026, 1)])
    # ШНОР(2027) = k(2026) ≥ 1 and k(2025) ≥ 1
    assert _on(status, "shnor", 2027) == ["s"]
    assert _on(status, "shnor", 2026) == []          # k(2025) = 1, k(2024) = 0


def test_failing_shares_from_raw_vpr_and_gia():
    vpr = pd.DataFrame({
        "year": 2024, "subject": "Русский язык", "grade": 5, "school_id": "s1",
        "participant_code": [str(i) for i in range(11)],
        "absent": [False] * 10 + [True],
        # 3 «2» among 10 present = 30 % → low; the absent pupil is not in the denominator
        "mark": [2, 2, 2, 3, 3, 4, 4, 5, 5, 3, np.nan],
    })
    gia = pd.DataFrame([
        # ЕГЭ Русский язык (minimum 24): 23 fails → 1/5 = 20 % → not low
        *[("ЕГЭ", "Русский язык", None, f"r{i}", 11, 1, s, np.nan, 10) for i, s in enumerate([23, 24, 50, 60, 70])],
        # ЕГЭ Математика: m1 base «2» but profile 30 ≥ 27 → passes; m2 base «2» → fails;
        # m3 profile 26 < 27 → fails; m4 profile 27 → passes; m5 base «3» → passes; m2's retake ignored
        ("ЕГЭ", "Математика", "базовая", "m1", 11, 1, np.nan, 2, 5), ("ЕГЭ", "Математика", "профильная", "m1", 11, 1, 30, np.nan, 10),
        ("ЕГЭ", "Математика", "базовая", "m2", 11, 1, np.nan, 2, 5), ("ЕГЭ", "Математика", "базовая", "m2", 11, 2, np.nan, 3, 8),
        ("ЕГЭ", "Математика", "профильная", "m3", 11, 1, 26, np.nan, 9), ("ЕГЭ", "Математика", "профильная", "m4", 11, 1, 27, np.nan, 9),
        ("ЕГЭ", "Математика", "базовая", "m5", 11, 1, np.nan, 3, 8),
        # ОГЭ Русский язык, marks missing: 2024 scale «3» from 15 → 14 and 10 fail: 2/5 = 40 % → low
        *[("ОГЭ", "Русский язык", None, f"o{i}", 9, 1, np.nan, np.nan, s) for i, s in enumerate([14, 15, 20, 30, 10])],
    ], columns=["exam", "subject", "level", "participant_id", "grade", "attempt", "test_score", "mark", "primary_score"])
    gia = gia.assign(year=2024, school_id="s1")
    res = shnor.procedure_results(FakeDataset(vpr=vpr, gia=gia), METH).set_index("procedure")
    assert res.loc["ВПР Русский язык 5", ["participants", "failed"]].tolist() == [10, 3]
    assert res.loc["ЕГЭ Русский язык", ["participants", "failed"]].tolist() == [5, 1]
    assert res.loc["ЕГЭ Математика", ["participants", "failed"]].tolist() == [5, 2]      # 40 %
    assert res.loc["ОГЭ Русский язык", ["participants", "failed"]].tolist() == [5, 2]
    assert res["low"].to_dict() == {"ВПР Русский язык 5": True, "ЕГЭ Русский язык": False,
                                    "ЕГЭ Математика": True, "ОГЭ Русский язык": True}


def test_list_history_entry_exit_reentry():
    status = pd.DataFrame({"school_id": ["a"] * 4 + ["b"] * 4, "year": [2024, 2025, 2026, 2027] * 2,
                           "shnor": [True, False, True, True, False, False, False, False]})
    hist = shnor.list_history(status).set_index("school_id")
    assert list(hist.index) == ["a"]                       # b never listed
    assert hist.loc["a", "years_on"] == [2024, 2026, 2027]
    assert hist.loc["a", "entries"] == [2024, 2026]
    assert hist.loc["a", "exits"] == [2025]
    assert hist.loc["a", "reentries"] == [2026]


def test_compare_official():
    status = pd.DataFrame({"school_id": ["a", "b", "c"], "year": 2026, "shnor": [True, True, False]})
    official = pd.DataFrame({"school_id": ["a", "c"], "year": [2026, 2026]})
    cmp_ = shnor.compare_official(status, official).set_index("school_id")
    assert cmp_["agree"].to_dict() == {"a": True, "b": False, "c": False}
    assert cmp_.loc["b", "computed"] and not cmp_.loc["b", "official"]
    assert cmp_.loc["c", "official"] and not cmp_.loc["c", "computed"]


def test_bottom_decile_and_alternative_list():
    # 10 judged schools, one procedure: cut = ⌈10 % · 10⌉ = 1 → only the worst share (s9, 50 %)
    shares = [0, 5, 5, 10, 10, 10, 15, 20, 25, 50]
    res = _res([(f"s{i}", 2024, "p", 100, s) for i, s in enumerate(shares)])
    bd = shnor.bottom_decile_counts(res, METH).set_index("school_id")
    assert bd["bottom"].to_dict() == {f"s{i}": int(i == 9) for i in range(10)}
    # alternative list: ≥ 2 bottom-decile procedures in both Y−1 and Y−2; sign → excluded
    ind = pd.DataFrame({"level": "school", "indicator_id": "alt_bottom_decile",
                        "entity_id": ["x", "x", "y", "y", "z", "z"], "year": [2024, 2025] * 3,
                        "value": [2, 3, 2, 1, 2, 2]})
    sign = pd.DataFrame({"level": ["school"], "indicator_id": ["vpr_sign_inflated_mean"], "entity_id": ["z"],
                         "year": [2025], "value": [1]})
    alt = shnor.alternative_list(pd.concat([ind, sign]), METH)
    y2026 = alt[alt["year"] == 2026].set_index("school_id")
    assert y2026["candidate"].to_dict() == {"x": True, "y": False, "z": True}
    assert y2026["alt"].to_dict() == {"x": True, "y": False, "z": False}     # z has a sign in 2025
    assert bool(y2026.loc["z", "excluded"])


# ---- the demo region: exactly the planted lists ---------------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_small):
    ds = load_dataset(demo_small, methodology=METH)
    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))
    return ds, truth


def test_demo_exactly_planted_lists_every_year(demo):
    ds, truth = demo
    res, status = shnor.rule_status(ds, METH)
    for year, ids in truth["shnor"].items():          # 2024 … 2027 (the year after the data too)
        assert _on(status, "shnor", int(year)) == sorted(ids), year
    for year, ids in truth["risk_school"].items():
        assert _on(status, "risk_school", int(year)) == sorted(ids), year
    low = res[res["low"]]
    found = set(zip(low["school_id"], low["year"], low["procedure"]))
    planted = {(e["school_id"], e["year"], e["procedure"]) for e in truth["low_procedures"]}
    assert found == planted


def test_demo_official_list_difference(demo):
    ds, truth = demo
    _, status = shnor.rule_status(ds, METH)
    cmp_ = shnor.compare_official(status, ds.official_shnor)
    differs = truth["official_differs"]
    part = cmp_[cmp_["year"] == differs["year"]]
    assert sorted(part[part["official"] & ~part["computed"]]["school_id"]) == differs["extra"]
    assert sorted(part[part["computed"] & ~part["official"]]["school_id"]) == differs["missing"]
    assert cmp_[cmp_["year"] != differs["year"]]["agree"].all()


def test_demo_export_has_rule_indicators_for_every_school_and_year(demo):
    ds, truth = demo
    ind = compute_all(ds, METH, only=["shnor"])
    n_schools = len(ds.schools)
    school = ind[ind["level"] == "school"]
    for ind_id, years in (("low_procedures", truth["years"]), ("risk_school", truth["years"]),
                          ("shnor", [int(y) for y in truth["shnor"]])):
        rows = school[school["indicator_id"] == ind_id]
        assert sorted(rows["year"].unique()) == sorted(years), ind_id
        assert (rows.groupby("year")["entity_id"].nunique() == n_schools).all(), ind_id
    # R1 count at region level = the planted list size; the list after the data is a forecast
    r1 = ind[(ind["indicator_id"] == "shnor_count") & (ind["level"] == "region")].set_index("year")
    assert {str(y): int(v) for y, v in r1["value"].items()} == {y: len(v) for y, v in truth["shnor"].items()}
    assert r1.loc[max(truth["years"]) + 1, "flag"] == "forecast"
    free = ind[(ind["indicator_id"] == "shnor_free_municipalities")].set_index("year")["value"]
    mun_of = ds.schools.set_index("school_id")["municipality_id"]
    n_mun = ds.schools["municipality_id"].nunique()
    for y, ids in truth["shnor"].items():
        assert free[int(y)] == n_mun - mun_of[ids].nunique()
