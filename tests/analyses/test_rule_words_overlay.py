"""Acceptance: a region that sets the Rosobrnadzor share to 25 % reads 25 % in every sentence that
states the rule (rule notes, findings, table heads, flag words, catalogue formulas), never 30 %."""
import shutil

import pytest
import yaml

from shnor_utils.analyses import compute_all
from shnor_utils.analyses.gia import present as G
from shnor_utils.analyses.shnor import present as S
from shnor_utils.data.dataset import load_dataset
from shnor_utils.errors import ConfigError
from shnor_utils.methodology import PACKAGE_CONFIG, load_methodology
from shnor_utils.reporting.report import Report


def _methodology(tmp_path, share):
    folder = tmp_path / "methodology"
    shutil.copytree(PACKAGE_CONFIG, folder)
    path = folder / "thresholds.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["low_results_rule"]["share_failed"]["value"] = share
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_methodology(folder)


@pytest.fixture(scope="module")
def overlay(demo_small, tmp_path_factory):
    meth = _methodology(tmp_path_factory.mktemp("m25"), 25)
    ds = load_dataset(demo_small)
    return ds, meth, compute_all(ds, meth, only=["gia", "shnor"])


def _rule_texts(ds, meth, ind) -> dict:
    """Every text that states the rule, by where it comes from."""
    low = ind[(ind["indicator_id"] == "gia_below_min") & (ind["level"] == "school") & (ind["flag"] == "low_result")
              & (ind["year"] == 2025)]
    school = low["entity_id"].iloc[0]
    mun = ds.schools.set_index("school_id").at[school, "municipality_id"]

    def rep(template, scope, entity, year=2026):
        return Report(ds, meth, ind, template=template, scope=scope, entity_id=entity, year=year)

    gia_school, gia_mun = rep("gia_results", "school", school, 2025), rep("gia_results", "municipality", mun, 2025)
    sel, passport = rep("shnor_selection", "municipality", mun), rep("school_passport", "school", school, 2025)
    texts = {
        "S.rule_note": S.rule_note(sel), "S.source_rule": S.source_rule(sel),
        "S.passport_status_heading": S.passport_status_heading(passport),
        "words.name(shnor)": meth.words.name("shnor"), "words.name(low_procedures)": meth.words.name("low_procedures"),
        "words.name(shnor_fail_share)": meth.words.name("shnor_fail_share"), "words.flag(low_result)": meth.words.flag("low_result"),
        "catalogue(shnor).formula": meth.words.catalogue("shnor")["formula"],
        "catalogue(low_procedures).formula": meth.words.catalogue("low_procedures")["formula"],
    }
    for i, f in enumerate(f for f in S.findings(sel) if f.rule == S.source_rule(sel)):
        texts[f"S.findings[{i}].rule"] = f.rule
    for i, f in enumerate(f for f in G.findings(gia_school) if f.severity == "flag"):
        texts[f"G.findings[{i}].rule"] = f.rule
    for exam in ("ОГЭ", "ЕГЭ"):
        table, classes = G.results_table(gia_school, exam)
        for i, (verdict, cls) in enumerate(zip(table.get("Оценка", []), classes)):
            if cls == "shnor-flag":
                texts[f"G.results_table[{exam}][{i}]"] = verdict
    ranking, _ = G.ranking_table(gia_mun)
    texts["G.ranking_table columns"] = next(c for c in ranking.columns if c.startswith("Процедур с"))
    flags = S.passport_flags(passport)
    for i, mark in enumerate(flags.loc[flags["Анализ"].isin(["gia_below_min", "shnor_fail_share"]), "Отметка"]):
        texts[f"S.passport_flags[{i}]"] = mark
    for i, how in enumerate(S.method_comparison(sel).get("Где в перечне", [])):
        if "правилу" in how:
            texts[f"S.method_comparison[{i}]"] = how
    return texts


def test_every_sentence_of_the_rule_says_25(overlay):
    ds, meth, ind = overlay
    assert meth.threshold("low_results_rule.share_failed") == 25
    texts = _rule_texts(ds, meth, ind)
    # the sentences of each kind are there (the check is not vacuous)
    kinds = {k.split("[")[0] for k in texts}
    assert {"S.findings", "G.findings", "G.results_table", "S.passport_flags"} <= kinds, kinds
    wrong = {k: t for k, t in texts.items() if "25 %" not in t or "30 %" in t}
    assert not wrong, wrong


def test_default_methodology_says_30(demo_small):
    meth = load_methodology()
    assert meth.words.flag("low_result") == "низкий результат: ≥ 30 % не справились"
    assert meth.words.name("ege_high_score") == "Доля результатов ЕГЭ 81–100 баллов"
    assert meth.words.catalogue("teachers_pension_age")["formula"] == "учителя 60 лет и старше / учителя × 100"


def test_unknown_placeholder_is_a_clear_error(tmp_path):
    meth = _methodology(tmp_path, 30)
    meth.data["flags"]["flags"]["low_result"] = "низкий результат: ≥ {low_results_rule.share} %"
    with pytest.raises(ConfigError, match="low_results_rule.share"):
        meth.words.flag("low_result")


def test_words_format_numbers_as_prose(tmp_path):
    meth = _methodology(tmp_path, 30)
    assert meth.words.format("{staffing.load_above} ставки; {gia.level_tolerance_pp} п.п.") == "1,5 ставки; 1 п.п."
