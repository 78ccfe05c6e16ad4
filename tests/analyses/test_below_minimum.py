"""One «below the minimum» rule for the ГИА report and the ШНОР rule, pinned by hand.

Default methodology (gia.yaml, 2025): ЕГЭ минимум — русский язык 24, профильная математика 27,
физика 36; ОГЭ 2024 scale (carried over to 2025) — «3» from 15 primary points in русский язык and
from 8 in математика; ЕГЭ базовая математика — «3» from 7 primary points."""
import numpy as np
import pandas as pd

from shnor_utils.analyses.gia import compute as gia
from shnor_utils.analyses.shnor import compute as shnor
from shnor_utils.methodology import load_methodology

M = load_methodology()
NA = np.nan

# (exam, subject, level, mark, primary score, test score, expected: 1 below / 0 not / NaN unknown)
ROWS = {
    "oge_mark_2":        ("ОГЭ", "Русский язык", None, 2, 20, NA, 1.0),       # the given mark wins over the score
    "oge_no_mark_14":    ("ОГЭ", "Русский язык", None, NA, 14, NA, 1.0),      # 14 < 15 → «2»
    "oge_no_mark_15":    ("ОГЭ", "Русский язык", None, NA, 15, NA, 0.0),      # 15 → «3»
    "oge_ma_no_mark_7":  ("ОГЭ", "Математика", None, NA, 7, NA, 1.0),         # 7 < 8 → «2»
    "oge_ma_mark_4":     ("ОГЭ", "Математика", None, 4, 18, NA, 0.0),
    "prof_26":           ("ЕГЭ", "Математика", "профильная", NA, 5, 26, 1.0),  # 26 < 27
    "prof_27":           ("ЕГЭ", "Математика", "профильная", NA, 6, 27, 0.0),  # at the minimum: passed
    "prof_28":           ("ЕГЭ", "Математика", "профильная", NA, 6, 28, 0.0),
    "base_mark_2":       ("ЕГЭ", "Математика", "базовая", 2, 5, NA, 1.0),
    "base_mark_3":       ("ЕГЭ", "Математика", "базовая", 3, 8, NA, 0.0),
    "base_no_mark_6":    ("ЕГЭ", "Математика", "базовая", NA, 6, NA, 1.0),    # 6 < 7 → «2»
    "physics_35":        ("ЕГЭ", "Физика", None, NA, 10, 35, 1.0),            # 35 < 36
    "physics_36":        ("ЕГЭ", "Физика", None, NA, 11, 36, 0.0),
    "russian_no_score":  ("ЕГЭ", "Русский язык", None, NA, NA, NA, NA),       # nothing to judge
    "unknown_subject":   ("ЕГЭ", "Астрономия", None, NA, 10, 10, NA),         # no minimum in gia.yaml
}


def _frame() -> pd.DataFrame:
    rows = [{"exam": e, "subject": s, "level": lv, "mark": m, "primary_score": p, "test_score": t,
             "year": 2025, "period": "основной", "attempt": 1} for e, s, lv, m, p, t, _ in ROWS.values()]
    # a non-default index: the rule answers on the rows' own index
    return pd.DataFrame(rows, index=[f"r_{k}" for k in ROWS]).astype({"level": object})


def test_below_minimum_by_hand():
    expected = pd.Series([v[-1] for v in ROWS.values()], index=[f"r_{k}" for k in ROWS], dtype="float64")
    got = gia.below_minimum(_frame(), M)
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_gia_scored_and_shnor_use_the_same_rule():
    frame = _frame()
    expected = np.array([v[-1] for v in ROWS.values()])
    np.testing.assert_array_equal(gia.scored(frame, M)["below"].to_numpy(), expected)
    # the ШНОР rule counts a row without a known threshold as not failed
    failed = shnor.gia_row_failed(frame, M)
    assert list(failed.index) == list(frame.index)
    assert failed.tolist() == [v == 1.0 for v in expected]
