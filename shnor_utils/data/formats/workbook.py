"""Open a real workbook (.xlsx or .xls) safely and hand its sheets to the readers as rows of values.

The format is taken from the file's first bytes, not its extension: analysts rename files, and
РЦОИ protocols are often old `.xls` saved as `.xlsx` or the other way round
(docs/FILE_FORMATS.md §0). `.xlsx` is read with openpyxl in read_only mode
(streaming, constant memory per row); `.xls` with xlrd. A file larger than the size limit,
or a zip whose unpacked size would exceed ten times that limit (a «zip bomb»), is refused
before parsing; any parse failure becomes one Russian InputError naming the file.

Memory is bounded by what the sheets really hold, not by what they declare: a sheet's
`<dimension ref="A1:XFD20000"/>` is ignored (openpyxl would pad every row to 16,384 columns:
a 5 KB file took 2.7 GB), rows are read as far as their last value, and a sheet or workbook past
MAX_ROWS, MAX_COLUMNS or MAX_CELLS (stated in docs/ingest.md «Пределы») is refused while it is
being read, before it fills memory. An encrypted book is told «защищён паролем», not «повреждён».
Hidden and «very hidden» sheets are marked (`Sheet.hidden`) so that ingest can say so.

Formula cells without a saved value (a book written by a program that does not calculate, or saved
with calculation off): openpyxl's data_only mode reads them as empty. Each sheet's XML that contains
a formula at all is streamed once more (`_uncached_formulas`, constant memory: each row is dropped
once seen) and the cells `<c r="H5"><f>…</f></c>` with no `<v>` are listed in `Sheet.uncached`
(the first UNCACHED_LISTED references and their count), so that ingest names the workbook, the sheet
and the cell.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import posixpath
import zipfile
from xml.etree import ElementTree
from dataclasses import dataclass
from pathlib import Path

from shnor_utils.errors import InputError, ParameterError

DEFAULT_MAX_MB = 30.0
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
UNPACKED_FACTOR = 10  # xlsx is zip-compressed XML: allow 10× the file limit once unpacked

# Limits of one workbook (docs/ingest.md «Пределы»; README «Ограничения»). The largest real file, a
# region's ФИС ОКО Ф1 export, has some 60 columns and stays well under a million rows.
MAX_ROWS = 1_000_000        # rows of one sheet, up to its last row with a value
MAX_COLUMNS = 1_000         # columns of one sheet, up to the last column with a value in any row
MAX_CELLS = 30_000_000      # rows × used columns, summed over the sheets of one workbook
UNCACHED_LISTED = 20        # formula cells without a saved value named per sheet (all are counted)
ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")   # the stream of an encrypted .xlsx (an OLE2 file)


@dataclass
class Sheet:
    """One sheet: its name and its rows (tuples of cell values; row 1 is `rows[0]`)."""
    name: str
    rows: list
    hidden: str = ""              # "" (visible), "hidden" or "veryHidden"
    uncached: tuple = ()          # references («H5») of formula cells without a saved value (first ones)
    uncached_count: int = 0       # how many such cells the sheet has

    def cell(self, row: int, col: int):
        """Value at 1-based (row, col), None outside the used range."""
        if row < 1 or row > len(self.rows):
            return None
        values = self.rows[row - 1]
        return values[col - 1] if 1 <= col <= len(values) else None


@dataclass
class Workbook:
    path: Path
    kind: str                     # "xlsx" | "xls"
    sheets: list


def max_file_bytes(max_mb: float | None = None) -> int:
    """The size limit: the argument, else `$SHNOR_MAX_FILE_MB`, else 30 MB."""
    value = max_mb if max_mb is not None else os.environ.get("SHNOR_MAX_FILE_MB", DEFAULT_MAX_MB)
    try:
        return int(float(value) * 1024 * 1024)
    except ValueError as exc:
        raise ParameterError(f"неверный предел размера файла «{value}»: ожидалось число мегабайт "
                             "(--max-file-mb или SHNOR_MAX_FILE_MB)") from exc


def open_workbook(path: str | Path, *, max_mb: float | None = None) -> Workbook:
    """Read every sheet of the workbook at `path` into memory as rows of plain values."""
    path = Path(path)
    if not path.is_file():
        raise InputError("файл не найден", file=str(path))
    limit = max_file_bytes(max_mb)
    size = path.stat().st_size
    if size > limit:
        raise InputError(f"файл слишком большой: {size / 1048576:.1f} МБ при пределе {limit / 1048576:.0f} МБ",
                         file=str(path), expected="файл меньше предела (параметр --max-file-mb или SHNOR_MAX_FILE_MB)")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(XLSX_MAGIC):
        return Workbook(path, "xlsx", _read_xlsx(path, limit))
    if head == XLS_MAGIC:
        if _encrypted_ole(path):
            raise InputError("книга Excel защищена паролем: её нельзя прочитать", file=str(path),
                             expected="книга без пароля (в Excel: «Файл» → «Сведения» → «Защитить книгу» → "
                                      "«Зашифровать с использованием пароля», очистить пароль и сохранить)")
        return Workbook(path, "xls", _read_xls(path))
    raise InputError("файл не является книгой Excel (.xlsx или .xls) или повреждён", file=str(path),
                     expected="книга Excel, выгруженная из ФИС ОКО, РЦОИ или формы ОО-1")


def _read_xlsx(path: Path, limit: int) -> list[Sheet]:
    import openpyxl  # local: heavy (~0.3 s), needed only when a workbook is read; reports never do

    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError("файл .xlsx повреждён: архив не читается", file=str(path)) from exc
    if unpacked > UNPACKED_FACTOR * limit:
        raise InputError(f"файл .xlsx после распаковки занимает {unpacked / 1048576:.0f} МБ — больше допустимого",
                         file=str(path), expected="книга меньшего размера (параметр --max-file-mb)")
    try:
        uncached = _uncached_formulas(path)
    except Exception:     # an unusual package layout: openpyxl below gives the message if it is broken
        uncached = {}
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, ValueError, zip errors…: one message for the user
        raise InputError(f"файл .xlsx повреждён или не является книгой Excel ({type(exc).__name__})",
                         file=str(path)) from exc
    try:
        sheets, budget = [], _Budget(path)
        for ws in book.worksheets:
            ws.reset_dimensions()     # never trust <dimension>: rows are read as far as their last cell
            rows = budget.sheet(ws.title, (tuple(_plain(v) for v in row) for row in ws.iter_rows(values_only=True)))
            refs, count = uncached.get(ws.title, ((), 0))
            sheets.append(Sheet(ws.title, rows, _state(getattr(ws, "sheet_state", "visible")), refs, count))
        return sheets
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"лист книги не читается: файл повреждён ({type(exc).__name__})", file=str(path)) from exc
    finally:
        book.close()


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _uncached_formulas(path: Path) -> dict:
    """sheet name → (first UNCACHED_LISTED references, count) of formula cells with no saved value."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
            return out
        rels = {r.get("Id"): r.get("Target") for r in ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))}
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        for sheet in book.iter(f"{_MAIN}sheet"):
            target = rels.get(sheet.get(_REL)) or ""
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            if part in names and _has_formula(zf, part):
                refs, count = _scan_sheet(zf, part)
                if count:
                    out[sheet.get("name")] = (tuple(refs), count)
    return out


def _has_formula(zf: zipfile.ZipFile, part: str) -> bool:
    """Does the sheet's XML contain a formula element at all (read in chunks, nothing kept)?"""
    tail = b""
    with zf.open(part) as fh:
        while chunk := fh.read(1 << 20):
            if b"<f>" in tail + chunk or b"<f " in tail + chunk or b":f>" in tail + chunk or b":f " in tail + chunk:
                return True
            tail = chunk[-8:]
    return False


def _scan_sheet(zf: zipfile.ZipFile, part: str) -> tuple[list, int]:
    refs, count, data = [], 0, None
    with zf.open(part) as fh:
        for event, elem in ElementTree.iterparse(fh, events=("start", "end")):
            tag = elem.tag.rsplit("}", 1)[-1]
            if event == "start":
                if tag == "sheetData":
                    data = elem
                continue
            if tag == "c":
                formula = next((ch for ch in elem if ch.tag.rsplit("}", 1)[-1] == "f"), None)
                value = next((ch for ch in elem if ch.tag.rsplit("}", 1)[-1] == "v"), None)
                if formula is not None and (value is None or not (value.text or "").strip()):
                    count += 1
                    if len(refs) < UNCACHED_LISTED:
                        refs.append(elem.get("r") or "?")
            elif tag == "row" and data is not None:
                data.remove(elem)      # keep memory constant: a row is dropped once its cells are seen
    return refs, count


def _read_xls(path: Path) -> list[Sheet]:
    import xlrd  # local: only old .xls books need it

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:  # xlrd.XLRDError, struct.error, …
        if "encrypt" in str(exc).lower():
            raise InputError("книга Excel .xls защищена паролем: её нельзя прочитать", file=str(path),
                             expected="книга без пароля (снимите пароль в Excel и сохраните книгу)") from exc
        raise InputError(f"файл .xls повреждён или не является книгой Excel ({type(exc).__name__})",
                         file=str(path)) from exc
    try:
        sheets, budget = [], _Budget(path)
        for i in range(book.nsheets):
            ws = book.sheet_by_index(i)
            rows = budget.sheet(ws.name, (tuple(_xls_value(ws.cell(r, c), book.datemode) for c in range(ws.ncols))
                                          for r in range(ws.nrows)))
            sheets.append(Sheet(ws.name, rows, {1: "hidden", 2: "veryHidden"}.get(ws.visibility, "")))
            book.unload_sheet(i)
        return sheets
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"лист книги .xls не читается: файл повреждён ({type(exc).__name__})", file=str(path)) from exc
    finally:
        book.release_resources()


def _xls_value(cell, datemode):
    import xlrd  # local: as in _read_xls (already loaded when this runs)

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        except Exception:
            return cell.value
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return None
    return _plain(cell.value)


def _plain(value):
    """Integral floats → int (xlrd gives every number as float); blank strings → None."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, dt.time):
        return value.isoformat()
    return value


def _state(value) -> str:
    return value if value in ("hidden", "veryHidden") else ""


def _encrypted_ole(path: Path) -> bool:
    """Is this OLE2 file an encrypted .xlsx (Excel's «Зашифровать паролем» wraps the zip in OLE2)?
    The stream names are in the directory sectors, near the start of a small file."""
    with path.open("rb") as fh:
        data = fh.read(1 << 20)
    return ENCRYPTED_MARK in data or "EncryptionInfo".encode("utf-16-le") in data


def _n(number: int) -> str:
    return f"{number:,}".replace(",", " ")


def limits_text() -> str:
    """The limits of one workbook, as the messages and docs/ingest.md state them."""
    return (f"не больше {_n(MAX_ROWS)} строк и {_n(MAX_COLUMNS)} столбцов на листе, "
            f"{_n(MAX_CELLS)} ячеек (строки × столбцы) в книге")


class _Budget:
    """Rows of the sheets of one workbook, read one at a time and checked against the limits:
    trailing empty cells of each row and trailing empty rows of each sheet are dropped, every row is
    padded to the sheet's used width, and a sheet past a limit is refused as soon as it is seen."""

    def __init__(self, path: Path):
        self.path, self.cells = path, 0

    def sheet(self, name: str, rows) -> list:
        out, width, last, filled = [], 0, 0, self.cells
        for seen, row in enumerate(rows, start=1):
            end = len(row)
            while end and row[end - 1] is None:
                end -= 1
            if not end:
                out.append(())
                continue
            if seen > MAX_ROWS:
                self._refuse(name, f"на листе больше {_n(MAX_ROWS)} строк")
            if end > MAX_COLUMNS:
                self._refuse(name, f"значение в столбце {end}, а на листе допустимо не больше "
                             f"{_n(MAX_COLUMNS)} столбцов", row=seen)
            width, last, filled = max(width, end), seen, filled + end
            if filled > MAX_CELLS:
                self._refuse(name, f"в книге больше {_n(MAX_CELLS)} заполненных ячеек")
            out.append(row[:end] if end < len(row) else row)
        del out[last:]
        if self.cells + width * last > MAX_CELLS:
            self._refuse(name, f"лист {_n(last)} строк × {width} столбцов — больше {_n(MAX_CELLS)} ячеек в книге")
        self.cells += width * last
        return [r + (None,) * (width - len(r)) if len(r) < width else r for r in out]

    def _refuse(self, sheet: str, what: str, row: int | None = None):
        raise InputError(f"книга слишком велика: {what}", file=str(self.path), sheet=sheet, row=row,
                         expected=limits_text() + " (разделите выгрузку на несколько файлов)")


# ---- writing (the real-layout writers of each format) ---------------------------------------
def xlsx_bytes(sheets: dict) -> bytes:
    """An .xlsx book of `sheets` ({name: rows}; names cut to Excel's 31 characters) as bytes."""
    import openpyxl  # local: heavy, needed only by the real-layout writers

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name[:31])
        for row in rows:
            ws.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def xls_bytes(sheets: dict) -> bytes:
    """An old-format .xls book of `sheets` as bytes (РЦОИ sends protocols as .xls)."""
    import xlwt  # local: only the real-layout writers need xlwt (writing .xls)

    book = xlwt.Workbook(encoding="utf-8")
    for name, rows in sheets.items():
        ws = book.add_sheet(name[:31])
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
