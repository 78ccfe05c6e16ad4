"""Each foreign language is a subject of its own since issue 13 (point 4), while the seed 001 journal
targets of thresholds.yaml are keyed on the group «Иностранный язык»: the group's entry must reach
«Английский язык», «Немецкий язык», … (found by the real-region test, tests/data/test_real_region.py)."""
from __future__ import annotations

from shnor_utils.analyses.objectivity.compute import journal_targets, target_categories, target_table
from shnor_utils.methodology import load_methodology


def test_the_group_target_applies_to_each_language():
    meth = load_methodology()
    assert meth.group("Английский язык") == "Иностранный язык"
    # thresholds.yaml: confirm_target 75 applies to «Иностранный язык»: [7]; higher_target only РУ, МА
    assert journal_targets(meth, "Английский язык", 7) == {"confirm": 75}
    assert journal_targets(meth, "Немецкий язык", 7) == {"confirm": 75}
    assert journal_targets(meth, "Английский язык", 8) == {}
    assert journal_targets(meth, "Русский язык", 5) == {"confirm": 75, "higher": 10}


def test_a_language_counts_confirm_and_higher_as_its_group_does():
    meth = load_methodology()
    assert target_categories(meth, "Французский язык") == ["confirm", "higher"]   # «не ниже, чем в журнале»
    assert target_categories(meth, "Математика") == ["confirm"]


def test_the_target_table_lists_the_languages():
    table = target_table(load_methodology(), "confirm")
    rows = set(zip(table["subject"], table["grade"].astype(int), table["target"]))
    assert {("Английский язык", 7, 75.0), ("Немецкий язык", 7, 75.0), ("Иностранный язык", 7, 75.0)} <= rows
    assert ("Английский язык", 8, 75.0) not in rows
