"""Hostile workbooks (issue 17 §1, §8, §9): memory bombs that declare a huge sheet, workbooks past
the documented limits, password-protected books, hidden sheets. Each gets a clear Russian message
or a correct result, and memory stays bounded by what the file really holds."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shnor_utils.data.formats import workbook
from shnor_utils.data.formats.workbook import open_workbook
from shnor_utils.data.ingest import ingest
from shnor_utils.errors import InputError

from ..data.realfiles import f1_rows
from .xlsx_parts import sheet_xml, write_xlsx

ROOT = Path(__file__).resolve().parents[2]
PEAK_MB = 400      # the interpreter with pandas and openpyxl loaded takes ~120 MB; the bomb took 2,700 MB


def _column(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cells(rows: list) -> dict:
    return {f"{_column(c)}{r}": v for r, row in enumerate(rows, start=1) for c, v in enumerate(row, start=1)
            if v is not None}


def _peak(code: str) -> dict:
    """Run `code` in a fresh interpreter; it prints a JSON object; add the peak memory in MB (Linux)."""
    # VmHWM (the peak of this process's own memory): ru_maxrss would carry over the forking pytest
    # worker's peak across exec on Linux
    script = code + "\nhwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n" \
        "RESULT['peak_mb'] = int(hwm.split()[1]) / 1024\nprint(json.dumps(RESULT, ensure_ascii=False))"
    done = subprocess.run([sys.executable, "-c", "import json\n" + script], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


OPEN = """
from shnor_utils.data.formats.workbook import open_workbook
from shnor_utils.errors import InputError
RESULT = {}
try:
    book = open_workbook(%r)
    RESULT['rows'] = [len(s.rows) for s in book.sheets]
    RESULT['width'] = [max((len(r) for r in s.rows), default=0) for s in book.sheets]
except InputError as exc:
    RESULT['error'] = str(exc)
"""


def test_declared_dimension_of_16384_columns_costs_nothing(tmp_path):
    # 4.7 KB on disk, «A1:XFD20000» declared, one value in row 20000: openpyxl padded 20,000 rows
    # to 16,384 columns (2.7 GB). Now the sheet is read as it is: 20,000 rows × 1 column.
    path = write_xlsx(tmp_path / "bomb.xlsx", [("Лист1", sheet_xml({"A1": "x", "A20000": 1}, "A1:XFD20000"), "visible")])
    assert path.stat().st_size < 5000
    got = _peak(OPEN % str(path))
    assert got.get("rows") == [20000] and got.get("width") == [1], got
    assert got["peak_mb"] < PEAK_MB, got


def test_a_value_in_column_xfd_is_refused_with_the_limit(tmp_path):
    path = write_xlsx(tmp_path / "wide.xlsx", [("Лист1", sheet_xml({"A1": "x", "XFD20000": 1}, "A1:XFD20000"), "visible")])
    got = _peak(OPEN % str(path))
    assert "error" in got, got
    assert "книга слишком велика" in got["error"] and "16384" in got["error"] and "wide.xlsx" in got["error"]
    assert "строка 20000" in got["error"] and "1 000 столбцов" in got["error"]
    assert got["peak_mb"] < PEAK_MB, got


def test_last_excel_row_is_refused_past_the_row_limit(tmp_path):
    # «row 1,048,576: 5.5 GB, then MemoryError» — now a message naming the limit, in bounded memory
    path = write_xlsx(tmp_path / "tall.xlsx", [("Лист1", sheet_xml({"A1": "x", "A1048576": 1}, "A1:XFD1048576"),
                                                "visible")])
    got = _peak(OPEN % str(path))
    assert "error" in got, got
    assert f"больше {workbook.MAX_ROWS:,} строк".replace(",", " ") in got["error"]
    assert "разделите выгрузку" in got["error"]
    assert got["peak_mb"] < PEAK_MB, got


def test_cells_are_counted_across_the_sheets_of_a_workbook(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "MAX_CELLS", 50)
    sheet = sheet_xml(_cells([[1] * 5] * 6))                 # 30 cells a sheet: one fits, two do not
    one = open_workbook(write_xlsx(tmp_path / "one.xlsx", [("A", sheet, "visible")]))
    assert [len(s.rows) for s in one.sheets] == [6]
    with pytest.raises(InputError, match="больше 50 заполненных ячеек") as info:
        open_workbook(write_xlsx(tmp_path / "two.xlsx", [("A", sheet, "visible"), ("B", sheet, "visible")]))
    assert info.value.sheet == "B"


def test_a_real_layout_under_a_lying_dimension_reads_as_before(tmp_path):
    rows = f1_rows()
    path = write_xlsx(tmp_path / "f1.xlsx", [("РУ 4 Индивидуальные результаты",
                                             sheet_xml(_cells(rows), "A1:XFD20000"), "visible")])
    book = open_workbook(path)
    sheet = book.sheets[0]
    assert len(sheet.rows) == len(rows)
    assert {len(r) for r in sheet.rows} == {max(len(r) for r in rows)}      # padded to the used width only
    assert sheet.cell(10, 4) == 40001 and sheet.cell(11, 7) == "X"
    result = ingest([path], tmp_path / "ds")
    assert result.exit_code == 0, result.report.to_text()
    assert result.report.tables["vpr"] == 4


def test_a_dimension_smaller_than_the_data_does_not_cut_rows(tmp_path):
    path = write_xlsx(tmp_path / "small.xlsx", [("Лист1", sheet_xml({"A1": "a", "B3": "b"}, "A1:A1"), "visible")])
    assert open_workbook(path).sheets[0].rows == [("a", None), (None, None), (None, "b")]


# ---- encrypted and hidden ------------------------------------------------------------------------
def _ole(stream_names: list) -> bytes:
    """An OLE2 file whose directory names the given streams (enough for the encryption probe)."""
    body = b"".join(n.encode("utf-16-le") + b"\0" * (64 - 2 * len(n)) for n in stream_names)
    return workbook.XLS_MAGIC + b"\0" * 504 + body + b"\0" * 1024


def test_password_protected_xlsx_is_called_protected_not_damaged(tmp_path):
    path = tmp_path / "Ф1 школа.xlsx"
    path.write_bytes(_ole(["EncryptionInfo", "EncryptedPackage"]))   # how Excel stores an encrypted .xlsx
    with pytest.raises(InputError) as info:
        open_workbook(path)
    assert "защищена паролем" in str(info.value) and "повреждён" not in str(info.value)
    entry = ingest([path], tmp_path / "ds").report.files[0]
    assert entry.status == "отклонён" and "защищена паролем" in entry.error


def test_password_protected_xls_is_called_protected(tmp_path, monkeypatch):
    xlrd = pytest.importorskip("xlrd")

    def encrypted(*args, **kwargs):
        raise xlrd.XLRDError("Workbook is encrypted")
    monkeypatch.setattr(xlrd, "open_workbook", encrypted)
    path = tmp_path / "протокол.xls"
    path.write_bytes(workbook.XLS_MAGIC + b"\0" * 600)
    with pytest.raises(InputError, match="защищена паролем"):
        open_workbook(path)


@pytest.mark.parametrize("state, words", [("hidden", "(скрытый лист)"), ("veryHidden", "«very hidden»")])
def test_hidden_sheet_is_read_with_a_warning(tmp_path, state, words):
    path = write_xlsx(tmp_path / "f1.xlsx", [("Обложка", sheet_xml({"A1": "Отчёт"}), "visible"),
                                             ("РУ 4", sheet_xml(_cells(f1_rows())), state)])
    assert [s.hidden for s in open_workbook(path).sheets] == ["", state]
    result = ingest([path], tmp_path / "ds")
    entry = result.report.files[0]
    assert words in entry.sheets["РУ 4"]
    assert any("«РУ 4» скрыт в книге" in w for w in entry.warnings), entry.warnings
    assert "скрыт в книге" in result.report.to_text()
