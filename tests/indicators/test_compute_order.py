"""`compute_indicators`: every producer's rows in one table, sorted by indicator, level (school,
municipality, region), entity, year, subject, grade, exam, empty keys first; postprocessor rows
included. The order is what the export, the Excel workbook and the cache keys rely on."""
from __future__ import annotations

import pandas as pd

from shnor_utils.indicators.compute import compute_indicators
from shnor_utils.indicators.registry import Analysis
from shnor_utils.methodology import load_methodology


def _rows(*rows):
    return pd.DataFrame(rows, columns=["level", "entity_id", "year", "indicator_id", "subject", "grade", "value"])


def test_rows_are_sorted_by_indicator_level_entity_and_keys_with_empty_keys_first():
    first = lambda ds, meth: _rows(("region", "region", 2024, "b", None, None, 1.0),
                                   ("school", "s2", 2024, "b", "Математика", 5, 2.0),
                                   ("school", "s1", 2025, "b", "Математика", 5, 3.0),
                                   ("municipality", "m1", 2024, "b", None, None, 4.0))
    second = lambda ds, meth: _rows(("school", "s1", 2024, "a", "Математика", 5, 5.0),
                                    ("school", "s1", 2024, "a", None, None, 6.0),
                                    ("school", "s1", 2024, "b", "Математика", 4, 7.0),
                                    ("school", "s1", 2024, "b", "Русский язык", 4, 8.0))
    post = lambda table, ds, meth: _rows(("school", "s0", 2024, "c", None, None, 9.0 + len(table)))
    spec = Analysis(id="x", title="x", producers=(first, second), postprocessors=(post,))
    out = compute_indicators(None, load_methodology(), [spec])
    assert list(out["value"]) == [6.0, 5.0, 7.0, 8.0, 3.0, 2.0, 4.0, 1.0, 17.0]
    assert list(out.index) == list(range(9))
    assert str(out["grade"].dtype) == "Int64" and str(out["value"].dtype) == "Float64"
