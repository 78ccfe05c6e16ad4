"""A report table as files a reader downloads from the HTML page, offline: «скачать: Excel · CSV».

Both payloads are embedded in the page as `data:` links (no script, no server, work from a USB stick):
- CSV: UTF-8 with a byte-order mark, `;` between cells and `\\r\\n` between rows — what Excel of a Russian
  locale opens by a double click (decimal commas stay inside cells); the cell texts are exactly the
  table's, as shown.
- Excel: a real, tiny `.xlsx` (Office Open XML written with the standard library: one sheet, bold frozen
  header, column widths); a cell shown as a number («1 234», «45,3 %», «−2,1») is a number there, with a
  format that shows it the same way, every other cell is text.
Text a spreadsheet would evaluate («=HYPERLINK(…)» as a school name) is written inert (`safeio.neutral`)
in both."""
from __future__ import annotations

import base64
import csv
import html
import io
import re
import zipfile
from xml.sax.saxutils import escape as xml_escape

import pandas as pd

from shnor_utils.safeio import neutral

CSV_MIME = "text/csv;charset=utf-8"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# «1 234», «−2,1», «45,3 %» (spaces: ordinary, no-break, thin no-break; minus: ASCII or U+2212)
_NUMBER = re.compile(r"^([−-]?)((?:0|[1-9]\d{0,2}(?:[ \u00a0\u202f]?\d{3})*))(?:,(\d+))?([ \u00a0\u202f]?%)?$")


def cell_text(value) -> str:
    """A table cell as the HTML table shows it (`esc` without the escaping): missing → empty."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    try:
        if value is pd.NA or value is pd.NaT:
            return ""
    except TypeError:
        pass
    return str(value)


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    """UTF-8 (with BOM) CSV, `;`-separated, formulas neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutral(h) for h in header])
    for row in rows:
        writer.writerow([neutral(c) for c in row])
    return "\ufeff".encode("utf-8") + buf.getvalue().encode("utf-8")


def parse_number(text: str):
    """(value, style index) of a cell shown as a number, else None: «1 234» → (1234, int), «45,3 %» →
    (45.3, one-decimal percent). Numbers with leading zeros (codes) and long digit strings stay text."""
    m = _NUMBER.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    sign, whole, frac, pct = m.groups()
    digits = re.sub(r"\D", "", whole)
    if len(digits) > 15:
        return None
    value = float(f"{'-' if sign else ''}{digits}.{frac}") if frac else int(f"{'-' if sign else ''}{digits}")
    decimals = min(len(frac or ""), 2)
    return value, (_PCT_STYLE if pct else _NUM_STYLE) + decimals


# cellXfs of styles.xml: 0 general, 1 bold header, 2–4 numbers with 0–2 decimals, 5–7 percents («45,3 %»)
_NUM_STYLE, _PCT_STYLE = 2, 5
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="5"><numFmt numFmtId="164" formatCode="0.0"/><numFmt numFmtId="165" formatCode="0.00"/>
<numFmt numFmtId="166" formatCode="0\\ &quot;%&quot;"/><numFmt numFmtId="167" formatCode="0.0\\ &quot;%&quot;"/>
<numFmt numFmtId="168" formatCode="0.00\\ &quot;%&quot;"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="8"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>
<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="167" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="168" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""
_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""
_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WB_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>"""


def _col(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _clean_xml(text: str) -> str:
    return xml_escape(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text))


def xlsx_bytes(header: list[str], rows: list[list[str]], sheet: str = "Таблица") -> bytes:
    """A one-sheet .xlsx of the table: bold frozen header, widths from the texts, numbers as numbers."""
    def text_cell(ref: str, text: str, style: int = 0) -> str:
        return (f'<c r="{ref}" t="inlineStr"{f" s={chr(34)}{style}{chr(34)}" if style else ""}>'
                f'<is><t xml:space="preserve">{_clean_xml(str(neutral(text)))}</t></is></c>')

    lines = []
    widths = [len(h) for h in header]
    lines.append('<row r="1">' + "".join(text_cell(f"{_col(j)}1", h, 1) for j, h in enumerate(header)) + "</row>")
    for i, row in enumerate(rows, start=2):
        cells = []
        for j, text in enumerate(row):
            if j < len(widths):
                widths[j] = max(widths[j], len(text))
            ref = f"{_col(j)}{i}"
            number = parse_number(text)
            if number is None:
                cells.append(text_cell(ref, text) if text != "" else "")
            else:
                cells.append(f'<c r="{ref}" s="{number[1]}"><v>{number[0]}</v></c>')
        lines.append(f'<row r="{i}">' + "".join(cells) + "</row>")
    cols = "".join(f'<col min="{j + 1}" max="{j + 1}" width="{min(60, max(8, w + 2))}" customWidth="1"/>'
                   for j, w in enumerate(widths))
    sheet_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                 '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft"'
                 ' state="frozen"/></sheetView></sheetViews>'
                 + (f"<cols>{cols}</cols>" if cols else "") + "<sheetData>" + "".join(lines) + "</sheetData></worksheet>")
    name = _clean_xml(re.sub(r"[\[\]:*?/\\]", " ", sheet).strip()[:31] or "Таблица")
    workbook = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for part, data in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _RELS), ("xl/workbook.xml", workbook),
                           ("xl/_rels/workbook.xml.rels", _WB_RELS), ("xl/styles.xml", _STYLES),
                           ("xl/worksheets/sheet1.xml", sheet_xml)):
            z.writestr(zipfile.ZipInfo(part, (2000, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)   # fixed dates: same table, same bytes
    return buf.getvalue()


def file_stem(caption: str | None) -> str:
    """A download name from the caption: «Таблица 1. ОГЭ: результаты…» → «Таблица 1. ОГЭ результаты…»."""
    stem = re.sub(r"[^\w .,()«»№-]+", " ", caption or "").strip(" .")
    stem = re.sub(r"\s+", " ", stem)[:80].strip(" .")
    return stem or "таблица"


def download_links(header: list[str], rows: list[list[str]], caption: str | None = None) -> str:
    """The «Скачать таблицу: Excel · CSV» line under a report table (hidden in print)."""
    stem = html.escape(file_stem(caption), quote=True)
    xlsx = base64.b64encode(xlsx_bytes(header, rows, file_stem(caption))).decode("ascii")
    text = base64.b64encode(csv_bytes(header, rows)).decode("ascii")
    return (f'<div class="shnor-download">Скачать таблицу: '
            f'<a download="{stem}.xlsx" href="data:{XLSX_MIME};base64,{xlsx}">Excel</a> · '
            f'<a download="{stem}.csv" href="data:{CSV_MIME};base64,{text}">CSV</a></div>')
