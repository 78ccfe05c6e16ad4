"""«Понизили / подтвердили / повысили» and the share of «2» on the hand-made tiny dataset."""
import pandas as pd
import pytest

from shnor_utils.data.dataset import load_dataset
from shnor_utils.analyses import compute_all
from shnor_utils.indicators import COLUMNS
from shnor_utils.methodology import load_methodology
from shnor_utils.analyses.objectivity.compute import agreement_category, journal_counts, journal_targets


def value(ind, indicator, level, entity):
    row = ind[(ind.indicator_id == indicator) & (ind.level == level) & (ind.entity_id == entity)]
    assert len(row) == 1, (indicator, level, entity)
    return row.iloc[0]


def test_categories_per_participant(tiny):
    ds = load_dataset(tiny)
    cats = agreement_category(ds.vpr).tolist()
    # 5/4 higher, 4/4 confirm, 3/4 lower, 2/3 lower, absent → NA, no journal → NA, s2 all confirm
    assert cats[:4] == ["higher", "confirm", "lower", "lower"]
    assert pd.isna(cats[4]) and pd.isna(cats[5])
    assert cats[6:] == ["confirm"] * 3


def test_counts_exclude_absent_and_no_journal(tiny):
    c = journal_counts(load_dataset(tiny).vpr).set_index("school_id")
    assert c.loc["s1", ["lower", "confirm", "higher", "compared", "absent", "no_journal", "participants"]].tolist() == [2, 1, 1, 4, 1, 1, 5]


def test_indicators_by_hand(tiny):
    ind = compute_all(load_dataset(tiny))
    assert list(ind.columns) == COLUMNS
    s1 = value(ind, "vpr_journal_lower", "school", "s1")
    assert (s1.value, s1.numerator, s1.denominator) == (50, 2, 4)
    assert s1.ci_low == pytest.approx(15.0, abs=0.1) and s1.ci_high == pytest.approx(85.0, abs=0.1)
    assert value(ind, "vpr_journal_confirm", "school", "s1").value == 25
    assert value(ind, "vpr_journal_higher", "school", "s1").value == 25
    assert value(ind, "vpr_journal_confirm", "school", "s2").value == 100
    # municipality m1 = s1 + s2: 7 compared, 4 confirmed; the region is the same (s3 has no ВПР)
    m1 = value(ind, "vpr_journal_confirm", "municipality", "m1")
    assert (m1.numerator, m1.denominator) == (4, 7) and m1.value == pytest.approx(57.142857)
    assert value(ind, "vpr_journal_confirm", "region", "region").denominator == 7
    # «2»: s1 has 5 present participants with a mark, one «2» → 20 %; s2 none
    assert value(ind, "vpr_share_2", "school", "s1").value == 20
    assert value(ind, "vpr_share_2", "school", "s2").value == 0
    # shares of the three categories sum to 100 %
    total = sum(value(ind, f"vpr_journal_{k}", "school", "s1").value for k in ("lower", "confirm", "higher"))
    assert total == 100


def test_seed_001_targets_and_flags(tiny):
    meth = load_methodology()
    assert journal_targets(meth, "Математика", 5) == {"confirm": 75, "higher": 10}
    assert journal_targets(meth, "Окружающий мир", 4) == {}
    assert journal_targets(meth, "Химия", 8) == {"confirm": 75}
    ind = compute_all(load_dataset(tiny))
    # s1 has 4 compared marks < 10: a small group is never flagged as missing the target
    assert value(ind, "vpr_journal_confirm", "school", "s1").flag == "small_group"
