"""`compute_indicators`: every producer's rows in one table, sorted by indicator, level (school,
municipality, region), entity, year, subject, grade, exam, empty keys first; postprocessor rows
included. The order is what the export, the Excel workbook and the cache keys rely on."""
from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

from shnor_utils.indicators import compute as C
from shnor_utils.indicators.compute import compute_indicators
from shnor_utils.indicators.registry import Analysis
from shnor_utils.methodology import load_methodology
from shnor_utils.safeio import current_umask


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


def test_parquet_export_written_in_chunks_reads_back_the_same_frame(tmp_path, monkeypatch):
    """The table is converted to Arrow a few rows at a time (a region's table is never copied whole);
    read back it is the same frame, dtypes and empty values included, with a normal file mode."""
    spec = Analysis(id="x", title="x", producers=(lambda ds, meth: _rows(
        *[("school", f"s{i}", 2024 + i % 3, "a", None if i % 4 else "Математика", None if i % 5 else 5, i / 7)
          for i in range(23)]),))
    table = compute_indicators(None, load_methodology(), [spec])
    monkeypatch.setattr(C, "PARQUET_ROWS", 5)
    path = C.write_indicators(table, tmp_path / "t.parquet")
    assert pq.ParquetFile(path).num_row_groups == 5          # 23 rows, 5 at a time
    pd.testing.assert_frame_equal(pd.read_parquet(path), table)
    assert path.stat().st_mode & 0o777 == 0o666 & ~current_umask()
