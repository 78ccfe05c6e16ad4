"""What-if (issue 16, point 1): a threshold that moves exactly one known school, the demo's 25 % rule,
bad keys and values, the command's exit codes and its two files."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from shnor_utils import whatif as W
from shnor_utils.cli import main
from shnor_utils.data.dataset import load_dataset
from shnor_utils.errors import ParameterError
from shnor_utils.methodology import load_methodology
from tests.conftest import ROOT, write_dataset

MARK_SCORE = {2: 3, 3: 8, 4: 12, 5: 16}   # ВПР Математика 5 (scale 2021: «3» from 7, «4» from 11, «5» from 15)


def _vpr(school: str, year: int, twos: int, n: int = 10) -> pd.DataFrame:
    marks = [2] * twos + [4] * (n - twos)
    return pd.DataFrame({"year": year, "subject": "Математика", "grade": 5, "school_id": school,
                         "participant_code": [str(i) for i in range(n)], "absent": "false",
                         "primary_score": [MARK_SCORE[m] for m in marks], "mark": marks, "journal_mark": marks})


@pytest.fixture
def hand(tmp_path):
    """s1: 40 % «2» in 2023 and 2024 (low at 30 %); s2: 30 % then 20 % (low in 2024 only at 20 %);
    s3: 10 % both years (low at neither). At 20 % only s2 changes: risk school in 2024 and ШНОР of 2025."""
    vpr = pd.concat([_vpr("s1", 2023, 4), _vpr("s1", 2024, 4), _vpr("s2", 2023, 3), _vpr("s2", 2024, 2),
                     _vpr("s3", 2023, 1), _vpr("s3", 2024, 1)], ignore_index=True)
    return load_dataset(write_dataset(tmp_path / "hand", vpr=vpr))


def test_a_threshold_moves_exactly_one_known_school(hand, tmp_path):
    before = load_methodology()
    result = W.whatif(hand, before, None, ["low_results_rule.share_failed=20"], None, tmp_path / "out")
    rule_flags = ["shnor", "risk_school"]            # «на грани» (shnor_watch) moves with the rule too: not asserted here
    ch = result.changes[result.changes["indicator_id"].isin(rule_flags)]
    assert set(ch["school_id"]) == {"s2"}
    assert set(zip(ch["indicator_id"], ch["year"], ch["change"])) == {("risk_school", 2024, W.ENTER),
                                                                       ("shnor", 2025, W.ENTER)}
    assert ch.loc[ch["indicator_id"] == "shnor", "forecast"].all()        # 2025 is after the data: a forecast
    assert ch["school_name"].iloc[0] == "Школа № 2" and ch["municipality_name"].iloc[0] == "Город"
    c = result.counts.set_index(["indicator_id", "year"])
    assert c.loc[("shnor", 2025), ["before", "after", "entered", "left"]].tolist() == [1, 2, 1, 0]   # s1 → s1, s2
    assert c.loc[("risk_school", 2024), ["before", "after"]].tolist() == [1, 2]
    assert c.loc[("risk_school", 2023), ["before", "after", "entered", "left"]].tolist() == [2, 2, 0, 0]   # s1, s2
    mun = result.municipalities[result.municipalities["indicator_id"].isin(rule_flags)]
    assert mun[["indicator_id", "year", "municipality_id", "entered", "left"]].values.tolist() == [
        ["shnor", 2025, "m1", 1, 0], ["risk_school", 2024, "m1", 1, 0]]
    assert result.parameters.to_dict("records") == [{"параметр": "low_results_rule.share_failed", "было": "30",
                                                     "стало": "20", "источник": W.SOURCE}]


def test_a_raised_minimum_group_removes_the_school_both_ways(hand, tmp_path):
    """min_participants 11 > n = 10: nothing is judged, every listed school leaves."""
    result = W.whatif(hand, load_methodology(), None, ["low_results_rule.min_participants=11"], None, tmp_path / "o")
    left = result.changes[result.changes["change"] == W.LEAVE]
    assert len(left) == len(result.changes) and set(left["school_id"]) == {"s1", "s2"}
    assert result.counts["after"].sum() == 0


def test_set_stacks_on_the_region_overlay(tmp_path):
    region = tmp_path / "region"
    region.mkdir()
    (region / "thresholds.yaml").write_text(
        "low_results_rule:\n  min_participants: {value: 7, source: региональный приказ}\n", encoding="utf-8")
    after = W.after_methodology(region, ["low_results_rule.share_failed=25"], None, tmp_path / "t")
    assert after.threshold("low_results_rule.share_failed") == 25
    assert after.threshold("low_results_rule.min_participants") == 7              # the region's key is kept
    assert after.source("low_results_rule.share_failed") == W.SOURCE
    assert after.source("low_results_rule.min_participants") == "региональный приказ"
    assert load_methodology(region).threshold("low_results_rule.share_failed") == 30   # the region's folder is untouched


@pytest.mark.parametrize("arg, words", [
    ("low_results_rule.share_faild=25", ["low_results_rule.share_faild", "такого параметра нет",
                                         "возможно, «low_results_rule.share_failed»"]),
    ("low_results_rule.share_failed=много", ["low_results_rule.share_failed=много", "ожидается число"]),
    ("low_results_rule.share_failed=120", ["от 0 до 100"]),
    ("low_results_rule.min_participants=2.5", ["min_participants", "целое"]),
    ("low_results_rule.procedures=5", ["procedures", "список"]),
    ("low_results_rule.share_failed", ["КЛЮЧ=ЗНАЧЕНИЕ"]),
    ("low_results_rule.share_failed=", ["не задано значение"]),
])
def test_bad_key_or_value_is_named(arg, words):
    with pytest.raises(ParameterError) as err:
        W.parse_sets([arg], load_methodology())
    for w in words:
        assert w in str(err.value)


def test_values_parsed_like_the_methodology():
    meth = load_methodology()
    assert W.parse_sets(["low_results_rule.share_failed=25", "low_results_rule.min_participants=10",
                         "objectivity_signs.z = 2,576"], meth) == {
        "low_results_rule.share_failed": 25, "low_results_rule.min_participants": 10, "objectivity_signs.z": 2.576}


def test_excel_text_that_looks_like_a_formula_is_quoted():
    assert W._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and W._cell("-1") == "'-1" and W._cell("Школа") == "Школа"
    assert W._cell(3) == 3


def test_html_escapes_school_names(tmp_path):
    changes = pd.DataFrame({"indicator_id": ["shnor"], "year": [2025], "school_id": ["s<1>"],
                            "school_name": ["<script>alert(1)</script>"], "municipality_id": ["m"],
                            "municipality_name": ["=cmd"], "change": [W.ENTER], "forecast": [False]})
    w = W.WhatIf(name="x", parameters=pd.DataFrame(columns=["параметр", "было", "стало", "источник"]), changes=changes,
                 counts=pd.DataFrame(columns=["indicator_id", "year", "before", "after", "entered", "left"]),
                 municipalities=W.by_municipality(changes), words=load_methodology().words)
    html_path, xlsx = W.write(w, tmp_path)
    text = html_path.read_text(encoding="utf-8")
    assert "<script>alert" not in text and "&lt;script&gt;" in text
    ws = openpyxl.load_workbook(xlsx)["Школы"]
    assert ws["F2"].value == "'=cmd"


# ---- the demo region and the command ---------------------------------------------------------
def _params(tmp_path, demo_small) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({
        "dataset": str(demo_small), "methodology": str(ROOT / "params" / "regions" / "demo"),
        "output": str(tmp_path / "output"), "region_name": "Демонстрационная область",
        "reports": [{"template": "shnor_selection", "scopes": ["region"]}]}, allow_unicode=True), encoding="utf-8")
    return path


def test_demo_25_percent_enlarges_the_shnor_list(tmp_path, demo_small, capsys):
    """The demo overlay with share_failed = 25: 19 → 40 (school, year) pairs on the ШНОР lists
    (the same count as the overlay's acceptance test), nobody leaves; the files exist and open."""
    code = main(["whatif", str(_params(tmp_path, demo_small)), "--set", "low_results_rule.share_failed=25",
                 "--name", "rule25"])
    assert code == 0
    out = capsys.readouterr().out
    assert "ШНОР: 19 → 40 (появились 21, сняты 0)" in out
    html_path = tmp_path / "output" / "whatif" / "rule25.html"
    xlsx = tmp_path / "output" / "whatif" / "rule25.xlsx"
    text = html_path.read_text(encoding="utf-8")
    assert "low_results_rule.share_failed: 30 → 25" in text
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["Параметры", "Сводка", "Школы", "Муниципалитеты"]
    summary = pd.DataFrame(wb["Сводка"].values)
    summary = summary.iloc[1:].set_axis(list(summary.iloc[0]), axis=1)
    shnor = summary[summary["Показатель"] == "ШНОР"]
    assert shnor["До"].sum() == 19 and shnor["После"].sum() == 40 and shnor["Сняты"].sum() == 0
    signs = summary[summary["Показатель"] != "ШНОР"]
    assert len(signs) and (signs["Показатель"] != "школа риска").any()   # the signs are compared too …
    sign_rows = signs[~signs["Показатель"].isin(["школа риска", "на грани"])]   # both follow the rule
    assert (sign_rows["До"] == sign_rows["После"]).all()                   # … and the 30 % rule does not touch them


def test_command_exit_codes(tmp_path, demo_small, capsys):
    params = str(_params(tmp_path, demo_small))
    assert main(["whatif", params, "--set", "low_results_rule.share_faild=25"]) == 2
    assert "share_faild" in capsys.readouterr().err
    assert main(["whatif", params]) == 2
    assert "--set" in capsys.readouterr().err
    assert main(["whatif", params, "--methodology", str(tmp_path / "нет")]) == 2
    assert "не найдена" in capsys.readouterr().err
    assert not (tmp_path / "output" / "whatif").exists()


def test_methodology_folder_replaces_the_region_overlay(tmp_path, demo_small, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "thresholds.yaml").write_text(
        "low_results_rule:\n  share_failed: {value: 25, source: проект приказа}\n", encoding="utf-8")
    assert main(["whatif", str(_params(tmp_path, demo_small)), "--methodology", str(other)]) == 0
    out = capsys.readouterr().out
    assert "ШНОР: 19 → 40" in out
    assert (tmp_path / "output" / "whatif" / "other.html").exists()
