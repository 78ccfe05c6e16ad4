"""Open a real workbook (.xlsx or .xls) safely and hand its sheets to the readers as rows of values.

The format is taken from the file's first bytes, not its extension: analysts rename files, and
РЦОИ protocols are often old `.xls` saved as `.xlsx` or the other way round
(docs/FILE_FORMATS.md §0). `.xlsx` is read with openpyxl in read_only mode
(streaming, constant memory per row); `.xls` with xlrd. A file larger than the size limit,
or a zip whose unpacked size would exceed ten times that limit (a «zip bomb»), is refused
before parsing; any parse failure becomes one Russian InputError naming the file.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from shnor_utils.errors import InputError, ParameterError

DEFAULT_MAX_MB = 30.0
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
UNPACKED_FACTOR = 10  # xlsx is zip-compressed XML: allow 10× the file limit once unpacked


@dataclass
class Sheet:
    """One sheet: its name and its rows (tuples of cell values; row 1 is `rows[0]`)."""
    name: str
    rows: list

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
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, ValueError, zip errors…: one message for the user
        raise InputError(f"файл .xlsx повреждён или не является книгой Excel ({type(exc).__name__})",
                         file=str(path)) from exc
    try:
        sheets = []
        for ws in book.worksheets:
            rows = [tuple(_plain(v) for v in row) for row in ws.iter_rows(values_only=True)]
            sheets.append(Sheet(ws.title, _trim(rows)))
        return sheets
    except Exception as exc:
        raise InputError(f"лист книги не читается: файл повреждён ({type(exc).__name__})", file=str(path)) from exc
    finally:
        book.close()


def _read_xls(path: Path) -> list[Sheet]:
    import xlrd  # local: only old .xls books need it

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:  # xlrd.XLRDError, struct.error, …
        raise InputError(f"файл .xls повреждён или не является книгой Excel ({type(exc).__name__})",
                         file=str(path)) from exc
    try:
        sheets = []
        for i in range(book.nsheets):
            ws = book.sheet_by_index(i)
            rows = [tuple(_xls_value(ws.cell(r, c), book.datemode) for c in range(ws.ncols)) for r in range(ws.nrows)]
            sheets.append(Sheet(ws.name, _trim(rows)))
            book.unload_sheet(i)
        return sheets
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


def _trim(rows: list) -> list:
    """Drop trailing empty rows (templates carry hundreds of formatted blank rows)."""
    end = len(rows)
    while end and all(v is None for v in rows[end - 1]):
        end -= 1
    return rows[:end]


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
