"""Regional overlays of the methodology: key-by-key merge into the package defaults, the overrides
list and sentence, errors that name the file and key, the version, and the issue's acceptance test
(a stricter 30 % rule changes the ШНОР list of the demo region)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shnor_utils.analyses import compute_all
from shnor_utils.analyses.dynamics.compute import catalogue, plan_fact
from shnor_utils.analyses.gia.compute import plan_vs_fact
from shnor_utils.data.dataset import load_dataset
from shnor_utils.errors import ConfigError
from shnor_utils.methodology import PACKAGE_CONFIG, load_methodology

from tests.conftest import ROOT

REGIONS = ROOT / "params" / "regions"
ORDER = "Приказ департамента образования демонстрационной области № 17"


def overlay(folder: Path, **files: str) -> Path:
    """An overlay folder with the given YAML files (name → text)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


SHARE_25 = f"""
low_results_rule:
  share_failed:
    value: 25
    source: "{ORDER}"
"""


# ---- merge ------------------------------------------------------------------------------------
def test_one_threshold_overridden_keeps_kind_and_the_rest(tmp_path):
    meth = load_methodology(overlay(tmp_path / "r", **{"thresholds.yaml": SHARE_25}))
    default = load_methodology()
    entry = meth.entry("low_results_rule.share_failed")
    assert entry["value"] == 25 and entry["source"] == ORDER
    assert entry["kind"] == default.entry("low_results_rule.share_failed")["kind"] == "federal"  # inherited
    # the sibling of the same section and every other file are the defaults
    assert meth.entry("low_results_rule.procedures") == default.entry("low_results_rule.procedures")
    assert meth.threshold("journal_agreement.confirm_target") == default.threshold("journal_agreement.confirm_target")
    assert meth.data["vpr_scales"] == default.data["vpr_scales"]
    # the defaults themselves are untouched by the merge
    assert default.threshold("low_results_rule.share_failed") == 30
    assert meth.overlay == (tmp_path / "r").resolve()
    assert default.overlay is None and default.overrides == [] and default.describe_overrides() == ""


def test_kind_and_list_values_are_replaced_as_a_unit(tmp_path):
    meth = load_methodology(overlay(tmp_path / "r", **{"thresholds.yaml": """
objectivity_signs:
  procedures:
    value: [{subject: "Русский язык", grade: 4}]
    kind: default
    source: "региональное решение"
"""}))
    entry = meth.entry("objectivity_signs.procedures")
    assert entry["value"] == [{"subject": "Русский язык", "grade": 4}]  # the list is not merged item by item
    assert entry["kind"] == "default"


def test_overrides_and_sentence(tmp_path):
    meth = load_methodology(overlay(tmp_path / "r", **{"thresholds.yaml": SHARE_25 + """
gia:
  high_score_min: {value: 80, source: "региональные отчёты"}
"""}))
    assert meth.overrides == [
        {"file": "thresholds", "key": "low_results_rule.share_failed", "value": 25, "source": ORDER},
        {"file": "thresholds", "key": "gia.high_score_min", "value": 80, "source": "региональные отчёты"}]
    text = meth.describe_overrides()
    assert text.startswith("Региональные изменения методики (")
    assert f"low_results_rule.share_failed = 25 ({ORDER})" in text
    assert "gia.high_score_min = 80 (региональные отчёты)" in text


def test_value_unchanged_is_no_override(tmp_path):
    meth = load_methodology(overlay(tmp_path / "r", **{"thresholds.yaml": "low_results_rule:\n  share_failed: {value: 30}\n"}))
    assert meth.overrides == [] and meth.describe_overrides() == ""


def test_changed_value_without_source_is_an_error(tmp_path):
    folder = overlay(tmp_path / "r", **{"thresholds.yaml": "low_results_rule:\n  share_failed: {value: 25}\n"})
    with pytest.raises(ConfigError, match=r"thresholds\.yaml.*low_results_rule\.share_failed.*source"):
        load_methodology(folder)


def test_programme_targets_are_open_maps(tmp_path):
    meth = load_methodology(overlay(tmp_path / "r", **{
        "indicators.yaml": """
indicators:
  teachers_with_iom:
    targets: {2025: 20, 2026: 25}
    target_rule: "не менее"
    target_source: "программа района"
""",
        "gia_targets.yaml": """
targets:
  - {id: R1, name: "Без аттестата", indicator_id: no_attestat, grade: 9, direction: lower, kind: absolute,
     baseline: {year: 2024, value: 3}, plan: {2026: 2}, source: "программа района"}
"""}))
    entry = meth.data["indicators"]["indicators"]["teachers_with_iom"]
    assert entry["targets"] == {2025: 20, 2026: 25}
    assert entry["name"] == load_methodology().data["indicators"]["indicators"]["teachers_with_iom"]["name"]
    assert [t["id"] for t in meth.data["gia_targets"]["targets"]] == ["R1"]
    assert {(o["key"], o["source"]) for o in meth.overrides} == {
        ("indicators.teachers_with_iom", "программа района"), ("targets.R1", "программа района")}
    assert "цели показателей: «Доля педагогов, повышающих квалификацию на основе ИОМ» (2025–2026)" in meth.describe_overrides()
    assert "цели ГИА: R1" in meth.describe_overrides()


def test_keyed_lists_merge_by_key(tmp_path):
    """A ВПР scale of an existing (year, subject, grade) replaces it field by field; a new one is added;
    gia targets of the same id merge."""
    meth = load_methodology(overlay(tmp_path / "r", **{"vpr_scales.yaml": """
scales:
  - {year: 2021, subject: "Математика", grade: 5, min: {3: 8}, source: "региональная шкала"}
  - {year: 2025, subject: "Математика", grade: 5, max: 20, min: {3: 6, 4: 11, 5: 16}, kind: secondary, source: "образец 2025"}
"""}))
    default = load_methodology()
    s21 = meth.vpr_scale(2021, "Математика", 5)
    assert s21.min == {3: 8, 4: 11, 5: 15} and s21.source == "региональная шкала" and s21.max == 20
    s25 = meth.vpr_scale(2025, "Математика", 5)
    assert (s25.min, s25.year, s25.carried_over) == ({3: 6, 4: 11, 5: 16}, 2025, False)
    assert len(meth.data["vpr_scales"]["scales"]) == len(default.data["vpr_scales"]["scales"]) + 1
    assert default.vpr_scale(2025, "Математика", 5).year == 2021  # defaults: borrowed from 2021


def test_new_years_of_minimum_scores_are_open(tmp_path):
    meth = load_methodology(overlay(tmp_path / "r", **{"gia.yaml": """
ege_min_scores:
  by_year:
    2027: {"Русский язык": 26, "Математика профильная": 27}
"""}))
    assert meth.ege_min_score(2027, "Русский язык") == 26
    assert meth.ege_min_score(2026, "Русский язык") == 24


# ---- errors ------------------------------------------------------------------------------------
def test_unknown_key_names_file_path_and_close_match(tmp_path):
    folder = overlay(tmp_path / "r", **{"thresholds.yaml": "low_results_rule:\n  share_faild: {value: 25, source: x}\n"})
    with pytest.raises(ConfigError) as err:
        load_methodology(folder)
    text = str(err.value)
    assert str(folder / "thresholds.yaml") in text
    assert "«low_results_rule.share_faild»" in text and "«low_results_rule.share_failed»" in text


def test_unknown_section_and_unknown_indicator(tmp_path):
    with pytest.raises(ConfigError, match=r"«no_such_section».*нет в методике"):
        load_methodology(overlay(tmp_path / "a", **{"thresholds.yaml": "no_such_section: {x: 1}\n"}))
    # targets may be added to a catalogue indicator, but a misspelt indicator is not a new one
    with pytest.raises(ConfigError, match=r"«indicators\.no_atestat».*«indicators\.no_attestat»"):
        load_methodology(overlay(tmp_path / "b", **{"indicators.yaml": "indicators:\n  no_atestat: {targets: {2026: 1}}\n"}))
    # only target fields are open inside an indicator
    with pytest.raises(ConfigError, match=r"indicators\.no_attestat\.targetz"):
        load_methodology(overlay(tmp_path / "c", **{"indicators.yaml": "indicators:\n  no_attestat: {targetz: {2026: 1}}\n"}))


def test_new_gia_target_is_checked(tmp_path):
    with pytest.raises(ConfigError, match=r"targets\.X.*обязательных полей: direction, indicator_id"):
        load_methodology(overlay(tmp_path / "a", **{"gia_targets.yaml": "targets:\n  - {id: X, name: n, kind: absolute, source: s}\n"}))
    with pytest.raises(ConfigError, match=r"targets\.X\.multiply"):
        load_methodology(overlay(tmp_path / "b", **{"gia_targets.yaml": (
            "targets:\n  - {id: X, name: n, indicator_id: gia_success, direction: higher, kind: relative, "
            "multiply: 1.2, baseline_year: 2024, source: s}\n")}))


def test_wrong_shape_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"low_results_rule\.share_failed.*value"):
        load_methodology(overlay(tmp_path / "a", **{"thresholds.yaml": "low_results_rule:\n  share_failed: 25\n"}))
    with pytest.raises(ConfigError, match=r"«low_results_rule».*словарь"):
        load_methodology(overlay(tmp_path / "b", **{"thresholds.yaml": "low_results_rule: 25\n"}))


def test_unknown_file_name(tmp_path):
    folder = overlay(tmp_path / "r", **{"threshold.yaml": SHARE_25, "README.md": "не YAML: не проверяется"})
    with pytest.raises(ConfigError) as err:
        load_methodology(folder)
    assert "«threshold.yaml»" in str(err.value) and "«thresholds.yaml»" in str(err.value)


def test_malformed_yaml(tmp_path):
    folder = overlay(tmp_path / "r", **{"thresholds.yaml": "low_results_rule:\n  share_failed: {value: 25\n"})
    with pytest.raises(ConfigError, match=r"thresholds\.yaml.*не читается как YAML"):
        load_methodology(folder)


def test_missing_folder(tmp_path):
    with pytest.raises(ConfigError, match="не найдена"):
        load_methodology(tmp_path / "nowhere")


# ---- selection, version, cache -------------------------------------------------------------------
def test_environment_variable(tmp_path, monkeypatch):
    folder = overlay(tmp_path / "r", **{"thresholds.yaml": SHARE_25})
    monkeypatch.setenv("SHNOR_METHODOLOGY", str(folder))
    assert load_methodology().threshold("low_results_rule.share_failed") == 25
    # the argument wins over the variable
    other = overlay(tmp_path / "o", **{"thresholds.yaml": "low_results_rule:\n  share_failed: {value: 40, source: y}\n"})
    assert load_methodology(other).threshold("low_results_rule.share_failed") == 40
    monkeypatch.delenv("SHNOR_METHODOLOGY")
    assert load_methodology().threshold("low_results_rule.share_failed") == 30


def test_version_names_both_digests(tmp_path):
    default = load_methodology()
    a = load_methodology(overlay(tmp_path / "a", **{"thresholds.yaml": SHARE_25}))
    b = load_methodology(overlay(tmp_path / "b", **{"thresholds.yaml": SHARE_25.replace("25", "20")}))
    assert a.version.startswith(default.version + "+") and a.defaults_digest == default.defaults_digest
    assert a.version.endswith("+" + a.overlay_digest)
    assert len({default.version, a.version, b.version}) == 3
    assert len({default.digest, a.digest, b.digest}) == 3  # the cache keys of indicator tables differ too


def test_edited_overlay_is_read_again(tmp_path):
    folder = overlay(tmp_path / "r", **{"thresholds.yaml": SHARE_25})
    assert load_methodology(folder).threshold("low_results_rule.share_failed") == 25
    overlay(folder, **{"thresholds.yaml": SHARE_25.replace("value: 25", "value: 22 ")})
    assert load_methodology(folder).threshold("low_results_rule.share_failed") == 22


def test_full_copy_of_the_defaults_lists_no_overrides(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(PACKAGE_CONFIG, copy)
    meth, default = load_methodology(copy), load_methodology()
    assert meth.overrides == [] and meth.describe_overrides() == ""
    assert meth.data == default.data
    # …and a copy with one changed number lists exactly that number
    text = (copy / "thresholds.yaml").read_text(encoding="utf-8")
    old = 'z:\n    value: 1.96\n    kind: federal'
    assert text.count(old) == 1
    (copy / "thresholds.yaml").write_text(text.replace(old, 'z:\n    value: 2.58\n    kind: federal\n    source: "99 %"'),
                                          encoding="utf-8")
    changed = load_methodology(copy)
    assert [(o["key"], o["value"]) for o in changed.overrides] == [("objectivity_signs.z", 2.58)]


def test_package_folder_counts_as_no_overlay():
    assert load_methodology(PACKAGE_CONFIG) is load_methodology()


# ---- the region overlays of the repository ---------------------------------------------------------
@pytest.mark.parametrize("region", ["tomsk", "tyumen", "kirensky", "demo"])
def test_region_overlays_load_and_name_their_programme(region):
    meth = load_methodology(REGIONS / region)
    assert meth.overrides and all(o["source"] for o in meth.overrides)
    assert (REGIONS / region / "README.md").exists()
    assert f"({region})" in meth.describe_overrides()   # the folder name, never a server path


def test_defaults_hold_no_programme_targets():
    meth = load_methodology()
    assert meth.data["gia_targets"]["targets"] == []
    assert not [i for i, e in meth.data["indicators"]["indicators"].items() if "targets" in e or "target_where" in e]


# ---- the acceptance test -----------------------------------------------------------------
def test_stricter_rule_changes_the_shnor_list(demo_small, tmp_path):
    ds = load_dataset(demo_small)

    def shnor(meth):
        t = compute_all(ds, meth, only=["shnor"])
        rows = t[(t["indicator_id"] == "shnor") & (t["level"] == "school") & (t["value"] == 1)]
        return set(zip(rows["entity_id"], rows["year"].astype(int)))

    default = shnor(load_methodology())
    stricter = shnor(load_methodology(overlay(tmp_path / "r", **{"thresholds.yaml": SHARE_25})))
    assert default and default < stricter  # 25 % catches every school 30 % catches, and more


# ---- the demo programme: plan/fact rows exist with the overlay and not without ----------------------
def test_demo_programme_gives_plan_fact_rows(demo_small):
    ds = load_dataset(demo_small)
    default, demo = load_methodology(), load_methodology(REGIONS / "demo")
    plain, table = compute_all(ds, default), compute_all(ds, demo)
    # ГИА: the four demo targets are judged for the region; without the overlay there are none
    region = plan_vs_fact(table, demo, "region", "region", 2026)
    assert list(region["id"]) == ["Д1", "Д2", "Д3", "Д4"] and set(region["status"]) <= {"достигнута", "не достигнута"}
    assert plan_vs_fact(plain, default, "region", "region", 2026).empty
    # dynamics: the share of НСУ schools with positive dynamics is flagged below the demo target somewhere
    below = lambda t: t[(t["indicator_id"] == "nsu_positive_dynamics") & (t["flag"] == "below_target")]  # noqa: E731
    assert len(below(table)) and below(plain).empty
    # indicator targets: some schools meet the 2026 target of teachers_diagnosed, some miss it
    entry = catalogue(demo)["teachers_diagnosed"]
    rows = table[(table["indicator_id"] == "teachers_diagnosed") & (table["level"] == "school") & (table["year"] == 2026)]
    met = {plan_fact(v, entry, 2026, {"level": "school"})["met"] for v in rows["value"]}
    assert met == {True, False}
    assert plan_fact(50.0, catalogue(default)["teachers_diagnosed"], 2026)["target"] is None
