"""The region's school login directory (`логин | имя | регион`, .xlsx) → entries of the school directory.

As analysts get it from the regional ФИС ОКО coordinator: one row per login, `имя` = the school's
name, `регион` = its municipality (a name, `reg22_m067 | город Славгород`, or `…(reg22_m067)`);
the year only in the file name (`Логины ОО 2022.xlsx`), if at all. Some copies add the previous
login (`прежний логин`, `старый логин`) after the 2022 change `sch22xxxx` → `edu22xxxx`.
Names and municipalities go to `Extract.info` (data/directory.py): the directory completes the
schools the data files name and matches logins across years; no school is added by this file.
"""
from __future__ import annotations

from shnor_utils.data.formats.common import (Context, Extract, Header, find_row, meta_from_name, split_municipality,
                                             split_school, text)

LAYOUT = "справочник логинов ОО («логин | имя | регион»)"
SOURCE = "справочник логинов"
PREVIOUS = ("прежний логин", "старый логин", "логин 2021", "предыдущий логин")
Q_LOGINS = "логинов в справочнике логинов"


def _is_header(cells: list) -> bool:
    return "логин" in cells and "имя" in cells and "регион" in cells


def detect(sheet) -> bool:
    return find_row(sheet, _is_header, limit=5) is not None


def read(sheet, ctx: Context, out: Extract) -> None:
    header = Header(sheet, find_row(sheet, _is_header, limit=5))
    login, name, region = header.find("логин"), header.find("имя"), header.find("регион")
    previous = header.find(*PREVIOUS)
    year = meta_from_name(ctx.path, ctx.meth).get("year")
    n = 0
    for r in range(header.row + 1, len(sheet.rows) + 1):
        row = sheet.rows[r - 1]
        cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
        sid, _ = split_school(cell(login))
        if not sid:
            if text(cell(login)):
                ctx.log.warn(f"лист «{sheet.name}», строка {r}: «{text(cell(login))}» не похоже на логин ОО, пропущено")
            continue
        school_name = split_school(cell(name))[1] or None
        mun_id, mun_name = split_municipality(cell(region))
        record = {"school_id": sid, "year": year, "source": SOURCE + (f" {year}" if year else ""),
                  "file": ctx.file, "sheet": sheet.name, "row": r, "school_name": school_name,
                  "municipality_id": mun_id, "municipality_name": mun_name or None,
                  "previous_id": split_school(cell(previous))[0] if previous else None}
        out.info(**{k: v for k, v in record.items() if v is not None})
        n += 1
    ctx.log.count(Q_LOGINS, n)
