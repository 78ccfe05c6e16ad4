"""Distance to the trigger of the 30 % rule and the «на грани» watch list (issue 16, point 2)."""
from __future__ import annotations

import pandas as pd
import pytest

from shnor_utils.analyses import compute_all
from shnor_utils.analyses.shnor import compute as shnor
from shnor_utils.analyses.shnor import present as S
from shnor_utils.data.dataset import load_dataset
from shnor_utils.methodology import load_methodology
from shnor_utils.reporting.report import Report

METH = load_methodology()


def _dist(rows, meth=METH):
    res = shnor.judge(pd.DataFrame(rows, columns=["school_id", "year", "procedure", "participants", "failed"]), meth)
    return shnor.trigger_distance(res, meth)


def test_boundary_n10_at_30_percent():
    d = _dist([("low", 2025, "p", 10, 3),      # 30 % exactly: low; one fewer «2» → 20 %: not low
               ("near", 2025, "p", 10, 2),     # 20 %: one more → 30 %: low
               ("far", 2025, "p", 10, 0),      # 0 %: three more
               ("high", 2025, "p", 10, 7),     # 70 %: five fewer (7 → 2)
               ("small", 2025, "p", 4, 4)])    # 4 < min_participants 5: not assessed
    assert d["need"].tolist() == [3, 3, 3, 3, 2]
    assert d["low"].tolist() == [True, False, False, True, False]
    assert d["distance"].tolist()[:4] == [-1, 1, 3, -5]
    assert pd.isna(d["distance"].iloc[4]) and pd.isna(d["margin_pp"].iloc[4])
    assert d["margin_pp"].round(1).tolist()[:4] == [0.0, -10.0, -30.0, 40.0]


def test_distance_agrees_with_the_rule_after_the_move():
    """Moving `failed` by `distance` flips `low`; moving it one less does not (every n up to 40)."""
    rows = [("s", 2025, "p", n, k) for n in range(5, 41) for k in range(0, n + 1)]
    d = _dist(rows)
    moved = shnor.judge(d.assign(failed=d["failed"] + d["distance"].astype(int))[
        ["school_id", "year", "procedure", "participants", "failed"]], METH)
    assert (moved["low"] != d["low"]).all()
    short = d["distance"] - d["distance"].clip(-1, 1)            # one step less in the same direction
    kept = shnor.judge(d.assign(failed=d["failed"] + short.astype(int))[
        ["school_id", "year", "procedure", "participants", "failed"]], METH)
    assert (kept["low"] == d["low"]).all()


def test_a_fractional_share_needs_the_ceiling(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "thresholds.yaml").write_text(
        "low_results_rule:\n  share_failed: {value: 33.3, source: test}\n", encoding="utf-8")
    meth = load_methodology(folder)
    d = _dist([("a", 2025, "p", 10, 3), ("b", 2025, "p", 10, 4)], meth)   # 33.3 % of 10 = 3.33 → 4 needed
    assert d["need"].tolist() == [4, 4]
    assert d["low"].tolist() == [False, True] and d["distance"].tolist() == [1, -1]


def test_near_trigger_margins():
    d = _dist([("a", 2025, "p", 10, 1),       # 2 more: within ±2 participants
               ("b", 2025, "p", 100, 25),     # 5 more, but 25 % is within 5 п.п. of 30 % (inclusive)
               ("c", 2025, "p", 100, 10),     # 20 more, 20 п.п. away: not near
               ("d", 2025, "p", 10, 0),       # 3 more, 30 п.п.: not near
               ("e", 2025, "p", 4, 1)])       # not assessed: never near
    assert shnor.near_trigger(d, METH).tolist() == [True, True, False, False, False]


def test_watch_list_effect_on_next_years_list():
    res = shnor.judge(pd.DataFrame([
        # x: one low procedure in 2025, none in 2024 → not listed for 2026; one more low → listed (k = 2)
        ("x", 2025, "p1", 10, 3), ("x", 2025, "p2", 10, 2),
        # y: low in 2024 and 2025 → listed; its 2025 low at the boundary, one fewer → k = 0 → leaves
        ("y", 2024, "p1", 10, 5), ("y", 2025, "p1", 10, 3),
        # z: 2 low in 2025 (listed); one near the boundary leaving still keeps k = 1 (no 2024 low) → leaves too
        ("z", 2025, "p1", 10, 9), ("z", 2025, "p2", 10, 3),
    ], columns=["school_id", "year", "procedure", "participants", "failed"]), METH)
    w = shnor.watch_list(res, METH, 2025).set_index(["school_id", "procedure"])
    assert set(w.index) == {("x", "p1"), ("x", "p2"), ("y", "p1"), ("z", "p2")}    # z p1 is 7 «2» above: far
    assert w.loc[("x", "p2"), ["shnor_next", "shnor_flip", "distance"]].tolist() == [False, True, 1]
    assert w.loc[("x", "p1"), ["shnor_next", "shnor_flip", "distance"]].tolist() == [False, False, -1]
    assert w.loc[("y", "p1"), ["k", "k_prev", "shnor_next", "shnor_flip"]].tolist() == [1, 1, True, False]
    assert w.loc[("z", "p2"), ["k", "shnor_next", "shnor_flip"]].tolist() == [2, True, False]


@pytest.fixture(scope="module")
def region(demo_small):
    ds = load_dataset(demo_small, methodology=METH)
    ind = compute_all(ds, METH, only=["shnor"])
    return Report(ds, METH, ind, template="shnor_selection", scope="region", entity_id="region", year=2026)


def test_watch_table_of_the_demo(region):
    table, classes = S.watch_table(region)
    assert S.watch_year(region) == 2026
    assert len(table) == len(classes) > 0
    # every row is assessed and within a margin; list-changing rows come first
    flagged = [c == "shnor-flag" for c in classes]
    assert flagged == sorted(flagged, reverse=True) and any(flagged)
    res = shnor.procedure_results(region.ds, METH)
    w = shnor.watch_list(res, METH, 2026)
    assert len(w) == len(table)
    enter = table["Если статус сменится"].str.startswith("войдёт")
    leave = table["Если статус сменится"].str.startswith("выйдет")
    assert enter.sum() == (w["shnor_flip"] & ~w["shnor_next"]).sum()
    assert leave.sum() == (w["shnor_next"] & ~w["shnor_flip"]).sum()
    assert table.loc[table["Статус процедуры"] == "низкий", "До смены статуса"].str.contains("меньше").all()


def test_watch_note_numbers_from_the_methodology(region, tmp_path):
    note = S.watch_note(region)
    assert "не больше 2 участников" in note and "на 5 п.п." in note and "правилу 30 %" in note
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "thresholds.yaml").write_text(
        "low_results_rule:\n  watch_participants: {value: 1, source: t}\n  watch_pp: {value: 2.5, source: t}\n",
        encoding="utf-8")
    meth = load_methodology(folder)
    rep = Report(region.ds, meth, region.indicators, template="shnor_selection", scope="region",
                 entity_id="region", year=2026)
    note = S.watch_note(rep)
    assert "не больше 1 участника" in note and "на 2,5 п.п." in note
    table, _ = S.watch_table(rep)
    assert 0 < len(table) < len(S.watch_table(region)[0])     # narrower margins: a shorter list
