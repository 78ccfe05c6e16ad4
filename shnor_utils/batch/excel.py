"""The Excel workbook for analysts: the tidy indicator table and the sheets the analyses declare
(`Analysis.sheets`, merged by name), with Russian headers, filters, frozen header rows and flags
coloured (openpyxl, write-only mode so a region of 1,000 schools stays fast)."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from shnor_utils.analyses import ALL
from shnor_utils.indicators.registry import sheets_of
from shnor_utils.safeio import atomic_write_bytes, neutral

HEADERS = {"level": "Уровень", "entity_id": "Код", "entity_name": "Наименование", "municipality_id": "Код МО",
           "year": "Год", "indicator_id": "Показатель", "subject": "Предмет", "grade": "Класс", "exam": "Экзамен",
           "value": "Значение", "numerator": "Числитель", "denominator": "Знаменатель",
           "ci_low": "ДИ 95 %, от", "ci_high": "ДИ 95 %, до", "flag": "Флаг"}
LEVELS_RU = {"school": "школа", "municipality": "муниципалитет", "region": "регион"}


def _named(indicators: pd.DataFrame, schools: pd.DataFrame, region_name: str) -> pd.DataFrame:
    names = pd.concat([
        schools[["school_id", "school_name", "municipality_id"]].rename(columns={"school_id": "entity_id", "school_name": "entity_name"}).assign(level="school"),
        schools.drop_duplicates("municipality_id")[["municipality_id", "municipality_name"]]
        .assign(entity_id=lambda f: f["municipality_id"]).rename(columns={"municipality_name": "entity_name"}).assign(level="municipality"),
        pd.DataFrame({"entity_id": ["region"], "entity_name": [region_name], "level": ["region"], "municipality_id": [None]}),
    ], ignore_index=True)
    names["entity_id"] = names["entity_id"].astype("string")
    names["level"] = names["level"].astype("string")
    out = indicators.merge(names, on=["level", "entity_id"], how="left")
    out["level"] = out["level"].map(LEVELS_RU).fillna(out["level"])
    cols = ["level", "entity_id", "entity_name", "municipality_id"] + [c for c in indicators.columns if c not in ("level", "entity_id")]
    return out[cols]


def write_workbook(indicators: pd.DataFrame, schools: pd.DataFrame, path: Path, *, region_name: str = "Регион",
                   year: int | None = None, analyses=ALL) -> Path:
    """`indicators.xlsx`: «Все показатели», one sheet per `Sheet` of `analyses`, «Прочие» for rows no
    sheet takes, and «О таблице»."""
    # openpyxl is only needed by the workbook (the kernels never import this module's writer)
    from openpyxl import Workbook
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.cell import WriteOnlyCell

    table = _named(indicators, schools, region_name)
    wb = Workbook(write_only=True)
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDE6F0")
    flag_fill = PatternFill("solid", fgColor="FDE0C5")

    def sheet(name: str, frame: pd.DataFrame, note: str | None = None):
        ws = wb.create_sheet(name[:31])   # sheet names come from the analyses' specs, not from data
        columns = list(frame.columns)
        widths = [max(10, min(45, len(HEADERS.get(c, c)) + 2)) for c in columns]
        for i, c in enumerate(columns):
            if c in ("entity_name",):
                widths[i] = 40
            ws.column_dimensions[get_column_letter(i + 1)].width = widths[i]
        ws.freeze_panes = "A2"
        header = []
        for c in columns:
            cell = WriteOnlyCell(ws, value=neutral(HEADERS.get(c, c)))
            cell.font, cell.fill, cell.alignment = head_font, head_fill, Alignment(wrap_text=True, vertical="top")
            header.append(cell)
        ws.append(header)
        values = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
        for row in values:
            # text a spreadsheet would evaluate («=HYPERLINK(…)» as a school name) is written inert
            ws.append([round(v, 2) if isinstance(v, float) else neutral(v) for v in row])
        last_col = get_column_letter(len(columns))
        n = len(frame) + 1
        ws.auto_filter.ref = f"A1:{last_col}{n}"
        if "flag" in columns and n > 1:
            flag_col = get_column_letter(columns.index("flag") + 1)
            ws.conditional_formatting.add(f"A2:{last_col}{n}",
                                          FormulaRule(formula=[f'LEN(${flag_col}2)>0'], fill=flag_fill))
        return ws

    sheet("Все показатели", table)
    taken = pd.Series(False, index=table.index)
    for spec in sheets_of(analyses):
        name, prefixes = spec.name, spec.prefixes
        mask = table["indicator_id"].astype(str).str.startswith(prefixes)
        taken |= mask
        if mask.any():
            part = table[mask]
            keep = [c for c in part.columns if c in ("level", "entity_id", "entity_name", "year", "indicator_id", "value")
                    or part[c].notna().any()]   # an analysis sheet hides the columns it never fills
            sheet(name, part[keep])
    if (~taken).any():
        sheet("Прочие", table[~taken])
    about = wb.create_sheet("О таблице")
    for line in ["Таблица показателей shnor-reports: одна строка — одно значение показателя"
                 + (f" за {year} г. (все годы: shnor indicators DATASET --out FILE.csv)." if year else "."),
                 "Доли — в процентах (0–100); ДИ 95 % — интервал Уилсона; флаг — правило, по которому значение отмечено.",
                 "Строки с флагом выделены цветом; фильтры — в строке заголовков."]:
        about.append([neutral(line)])
    buf = io.BytesIO()
    wb.save(buf)
    return atomic_write_bytes(path, buf.getvalue())
