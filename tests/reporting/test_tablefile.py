"""«Скачать таблицу: Excel · CSV» under every report table: offline `data:` links whose payloads hold
exactly the table's cell texts, with text a spreadsheet would evaluate made inert."""
import base64
import csv
import io
import re

import openpyxl
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from shnor_utils.methodology import load_methodology
from shnor_utils.reporting import report as R
from shnor_utils.reporting.tablefile import parse_number


@pytest.fixture
def shown(monkeypatch):
    """The HTML `Report.table` displays, captured."""
    out = []
    monkeypatch.setattr(R, "display_html", out.append)
    rep = R.Report.__new__(R.Report)   # table() needs the methodology only
    rep.meth = load_methodology()
    rep.scope = "school"               # no links to other reports (batch/nav.py)
    return rep, out


FRAME = pd.DataFrame({
    "Школа": ["=HYPERLINK(\"http://x\";\"жми\")", "СОШ № 3; «Лицей»", "+79991234567"],
    "Участников": pd.Series([37, 1234, None], dtype=object),
    "% «2»": ["2,7\u00a0%", "45,3\u00a0%", "—"],
    "Разница": ["−2,2 п.п.", "-1", "0,05"],
    "Код": ["0012", "edu990001", "700001"],
})


def payloads(markup: str) -> dict:
    soup = BeautifulSoup(markup, "html.parser")
    out = {}
    for a in soup.select(".shnor-download a[download]"):
        mime, data = re.match(r"data:([^;]+)(?:;charset=[^;]+)?;base64,(.*)", a["href"], re.S).groups()
        out[a["download"].rsplit(".", 1)[1]] = base64.b64decode(data)
    return out


def html_cells(markup: str) -> list[list[str]]:
    soup = BeautifulSoup(markup, "html.parser")
    table = soup.find("table")
    return [[c.get_text() for c in tr.find_all(["th", "td"])] for tr in table.find_all("tr")]


def test_csv_payload_equals_the_table_and_is_neutralised(shown):
    rep, out = shown
    rep.table(FRAME, "Таблица 7. Школы: доля «2»")
    markup = out[-1]
    files = payloads(markup)
    assert set(files) == {"csv", "xlsx"}
    raw = files["csv"]
    assert raw.startswith("\ufeff".encode("utf-8"))   # Excel of a Russian locale reads it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    cells = html_cells(markup)
    assert len(rows) == len(cells) == 4
    expected = [[("'" + c) if c and c[0] in "=+-@" else c for c in row] for row in cells]
    assert rows == expected
    # by hand: the formula, the phone-like «+7…» and the ASCII «-1» are inert; the rest as shown
    assert rows[1][0] == "'=HYPERLINK(\"http://x\";\"жми\")" and rows[3][0] == "'+79991234567"
    assert rows[2][3] == "'-1" and rows[1][3] == "−2,2 п.п." and rows[3][1] == ""
    assert rows[0] == ["Школа", "Участников", "% «2»", "Разница", "Код"]
    name = BeautifulSoup(markup, "html.parser").select_one(".shnor-download a[download$='.csv']")["download"]
    assert name == "Таблица 7. Школы доля «2».csv"


def test_excel_payload_is_a_real_workbook_with_numbers(shown):
    rep, out = shown
    rep.table(FRAME, "Таблица 7. Школы")
    wb = openpyxl.load_workbook(io.BytesIO(payloads(out[-1])["xlsx"]))
    ws = wb.active
    assert ws.freeze_panes == "A2" and ws["A1"].font.b
    assert [c.value for c in ws[1]] == list(FRAME.columns)
    assert ws["A2"].value == "'=HYPERLINK(\"http://x\";\"жми\")" and ws["A2"].data_type == "s"
    assert ws["B3"].value == 1234 and ws["B4"].value is None
    assert ws["C3"].value == pytest.approx(45.3) and ws["C3"].number_format == '0.0\\ "%"'
    assert ws["C4"].value == "—"
    assert ws["D2"].value == "−2,2 п.п."            # text with a unit stays text
    assert ws["D4"].value == pytest.approx(0.05) and ws["D4"].number_format == "0.00"
    assert ws["E2"].value == "0012"                 # a code with leading zeros stays text
    assert ws["E4"].value == 700001


@pytest.mark.parametrize("text, value", [("1 234", 1234), ("−2,1", -2.1), ("45,3\u00a0%", 45.3), ("0", 0),
                                         ("12\u00a0345,67", 12345.67), ("2025", 2025)])
def test_numbers_as_shown(text, value):
    assert parse_number(text)[0] == pytest.approx(value)


@pytest.mark.parametrize("text", ["0012", "1,2,3", "12 п.п.", "", "—", "1 23", "12345678901234567890", "=1+1"])
def test_text_stays_text(text):
    assert parse_number(text) is None


def test_empty_table_has_no_links(shown):
    rep, out = shown
    rep.table(pd.DataFrame(), "Пусто")
    assert "shnor-download" not in out[-1]
