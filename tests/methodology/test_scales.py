"""Scales: one constructor for ВПР, ОГЭ and ЕГЭ базовая математика, marks from primary scores by hand,
and the «nearest year» rule."""
from __future__ import annotations

import math

import numpy as np

from shnor_utils.methodology import Scale, load_methodology
from shnor_utils.methodology.scales import nearest_year


def test_from_entry_and_marks_by_hand():
    s = Scale.from_entry({"max": 20, "min": {"3": 7, "4": 11, "5": 15}, "source": "src", "kind": "federal"}, year=2021)
    assert (s.max, s.min, s.source, s.kind, s.year, s.carried_over) == (20, {3: 7, 4: 11, 5: 15}, "src", "federal", 2021, False)
    assert [s.mark(x) for x in (0, 6, 7, 10, 11, 14, 15, 20)] == [2, 2, 3, 3, 4, 4, 5, 5]
    assert math.isnan(s.mark(float("nan")))
    marks = s.mark(np.array([6.0, np.nan, 15.0]))
    assert marks[0] == 2 and np.isnan(marks[1]) and marks[2] == 5
    assert s.boundaries == {3: 7, 4: 11, 5: 15}
    # the ОГЭ block keeps source and kind for all subjects; a scale of another year is «carried over»
    o = Scale.from_entry({"max": 31, "min": {3: 8, 4: 15, 5: 22}}, year=2024, asked_year=2026, source="block", kind="federal")
    assert (o.source, o.kind, o.carried_over) == ("block", "federal", True)


def test_nearest_year():
    years = {2021: "a", 2024: "b"}
    assert nearest_year(years, 2023) == 2021
    assert nearest_year(years, 2024) == 2024
    assert nearest_year(years, 2030) == 2024
    assert nearest_year(years, 2019) == 2021  # nothing earlier: the earliest one


def test_the_three_scales_of_the_methodology():
    meth = load_methodology()
    vpr = meth.vpr_scale(2021, "Математика", 5)          # ФИОКО 2021: «3» from 7, «4» from 11, «5» from 15
    assert (vpr.max, vpr.min, vpr.year, vpr.carried_over, vpr.kind) == (20, {3: 7, 4: 11, 5: 15}, 2021, False, "federal")
    assert meth.vpr_scale(2023, "Математика", 5).carried_over
    assert meth.vpr_scale(2021, "Астрономия", 5) is None
    oge = meth.oge_scale(2025, "Математика")              # 2024 recommendation carried over
    assert (oge.max, oge.min, oge.year, oge.carried_over) == (31, {3: 8, 4: 15, 5: 22}, 2024, True)
    assert oge.source.startswith("Рекомендации Рособрнадзора")
    base = meth.ege_base_math_scale()
    assert (base.max, base.min, base.mark(6), base.mark(7), base.mark(17)) == (21, {3: 7, 4: 12, 5: 17}, 2, 3, 5)
