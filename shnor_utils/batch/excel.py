"""The Excel workbook a methodologist uses without the code: «Пояснения» first (what each sheet and
column means, the marks of the «Отметка» column, which rows are coloured, the hidden small groups,
the indicators with their formulas and sources), then the tidy indicator table and the sheets the
analyses declare (`Analysis.sheets`, merged by name).

Indicator names and marks are Russian words of the methodology (`meth.words`); the codes stay in a
column of their own for filters and joins. Shares carry one decimal («0.0»), counts none. Only real
alerts are coloured: a row whose mark is one of the methodology's `flags.alert_flags` (a low result, a
significant negative change, a target missed, …) or a 0/1 school flag equal to 1 (in the ШНОР list,
a sign of non-objectivity, …); «без существенных изменений», «положительная динамика», small groups
and forecasts are information and stay white. openpyxl in write-only mode: a region of 1,000 schools
stays fast."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from shnor_utils.analyses import ALL
from shnor_utils.indicators.privacy import FLAG as SUPPRESSED, PUPILS, TEACHERS, limits
from shnor_utils.indicators.registry import index_flags_of, sheets_of
from shnor_utils.methodology import Methodology, load_methodology
from shnor_utils.reporting.html import plain
from shnor_utils.safeio import atomic_write_bytes, neutral

LEGEND = "Пояснения"
HEADERS = {"level": "Уровень", "entity_id": "Код", "entity_name": "Наименование", "municipality_id": "Код МО",
           "year": "Год", "indicator": "Показатель", "subject": "Предмет", "grade": "Класс", "exam": "Экзамен",
           "value": "Значение", "unit": "Ед. изм.", "numerator": "Числитель", "denominator": "Знаменатель (n)",
           "ci_low": "ДИ 95 %, от", "ci_high": "ДИ 95 %, до", "flag": "Отметка", "indicator_id": "Код показателя"}
COLUMN_NOTES = {
    "level": "школа, муниципалитет или регион",
    "entity_id": "код школы (как в ФИС ОКО / справочнике школ), код муниципалитета или «region»",
    "entity_name": "название школы, муниципалитета или региона",
    "municipality_id": "код муниципалитета школы",
    "year": "учебный год (год проведения процедуры)",
    "indicator": "название показателя по методике",
    "subject": "учебный предмет (для ВПР и ГИА)",
    "grade": "класс (для ВПР)",
    "exam": "процедура: ВПР, ОГЭ, ЕГЭ, ГВЭ",
    "value": "значение показателя; доли — в процентах (0–100), с одним знаком после запятой",
    "unit": "единица измерения показателя («%», «п.п.» — процентные пункты изменения, «балл», …)",
    "numerator": "сколько участников (работ, школ) отвечают условию показателя",
    "denominator": "сколько всего участников (работ, школ) — n, на котором основано значение",
    "ci_low": "нижняя граница 95 % доверительного интервала (Уилсона для долей)",
    "ci_high": "верхняя граница 95 % доверительного интервала",
    "flag": "отметка правила методики (значения — ниже); пусто — отметки нет",
    "indicator_id": "код показателя в программе (для фильтров и сопоставления файлов)",
}
LEVELS_RU = {"school": "школа", "municipality": "муниципалитет", "region": "регион"}
COLUMNS = ["level", "entity_id", "entity_name", "municipality_id", "year", "indicator", "subject", "grade", "exam",
           "value", "unit", "numerator", "denominator", "ci_low", "ci_high", "flag", "indicator_id"]
WIDTHS = {"entity_name": 40, "indicator": 50, "flag": 36, "indicator_id": 24, "entity_id": 14, "subject": 18}
SHARE_UNITS = ("%", "п.п.")
YES_NO = "1 — да, 0 — нет"
ALERT_FILL, HEAD_FILL = "FDE0C5", "DDE6F0"


def indicator_name(meth: Methodology, indicator_id: str) -> str:
    """Russian name of an indicator; a dynamics row `<id>_dd` without wording of its own is named
    after `<id>` (`flags.dynamics_name`)."""
    name = meth.words.name(indicator_id)
    if name == indicator_id and indicator_id.endswith("_dd"):
        base = meth.words.name(indicator_id[:-3])
        pattern = (meth.data.get("flags", {}) or {}).get("dynamics_name")
        if pattern and base != indicator_id[:-3]:
            return pattern.replace("{name}", base)
    return name


def indicator_unit(meth: Methodology, indicator_id: str) -> str:
    """The catalogue unit; a dynamics row of a share is in percentage points."""
    entry = meth.words.catalogue(indicator_id)
    if entry.get("unit"):
        return str(entry["unit"])
    if indicator_id.endswith("_dd"):
        base = meth.words.catalogue(indicator_id[:-3]).get("unit")
        return "п.п." if base == "%" else str(base or "")
    return ""


def alert_mask(frame: pd.DataFrame, meth: Methodology, analyses=ALL) -> pd.Series:
    """True for the rows the workbook colours: a mark of `flags.alert_flags`, or a 0/1 school flag of the
    analyses (`index_flags`) equal to 1."""
    alerts = set((meth.data.get("flags", {}) or {}).get("alert_flags", []))
    by_flag = frame["flag"].isin(list(alerts)).fillna(False).astype(bool)
    school_flag = (frame["indicator_id"].isin(list(index_flags_of(analyses))) & frame["value"].eq(1)).fillna(False).astype(bool)
    return by_flag | school_flag


def _named(indicators: pd.DataFrame, schools: pd.DataFrame, region_name: str, meth: Methodology,
           analyses=ALL) -> pd.DataFrame:
    """The workbook's rows: Russian level, names of entities and indicators, units, marks in words, and
    the `alert` column (not written) saying which rows are coloured."""
    names = pd.concat([
        schools[["school_id", "school_name", "municipality_id"]].rename(columns={"school_id": "entity_id", "school_name": "entity_name"}).assign(level="school"),
        schools.drop_duplicates("municipality_id")[["municipality_id", "municipality_name"]]
        .assign(entity_id=lambda f: f["municipality_id"]).rename(columns={"municipality_name": "entity_name"}).assign(level="municipality"),
        pd.DataFrame({"entity_id": ["region"], "entity_name": [region_name], "level": ["region"], "municipality_id": [None]}),
    ], ignore_index=True)
    names["entity_id"] = names["entity_id"].astype("string")
    names["level"] = names["level"].astype("string")
    names = names.drop_duplicates(["level", "entity_id"])   # one name per entity: the merge keeps the rows
    out = indicators.assign(alert=alert_mask(indicators, meth, analyses)).merge(names, on=["level", "entity_id"], how="left")
    out["level"] = out["level"].map(LEVELS_RU).fillna(out["level"])
    ids = out["indicator_id"].astype(str)
    uniq = ids.unique()
    out["indicator"] = ids.map({i: indicator_name(meth, i) for i in uniq})
    out["unit"] = ids.map({i: indicator_unit(meth, i) for i in uniq})
    # an indicator the catalogue gives no unit is a share when its values are 100 × numerator / denominator
    shaped = out[out["unit"].eq("") & out["denominator"].gt(0).fillna(False) & out["value"].notna() & out["numerator"].notna()]
    if len(shaped):
        close = ((shaped["value"] - 100 * shaped["numerator"] / shaped["denominator"]).abs() < 0.051).astype(bool)   # values may be rounded to 0.1
        share_ids = close.groupby(shaped["indicator_id"].astype(str)).all()
        out.loc[ids.isin(set(share_ids[share_ids].index)) & out["unit"].eq(""), "unit"] = "%"
    # a school flag (`index_flags`) is 0/1 at a school, a share of schools above it
    yes_no = ids.isin(list(index_flags_of(analyses))) & out["level"].eq(LEVELS_RU["school"]).fillna(False)
    out.loc[yes_no, "unit"] = YES_NO
    flags = out["flag"].astype("object")
    out["flag"] = flags.map(lambda f: meth.words.flag(f) if isinstance(f, str) else None)
    return out[[c for c in COLUMNS if c in out.columns] + ["alert"]]


def _formats(frame: pd.DataFrame) -> pd.Series:
    """Number format of the value / interval cells of each row: «0.0» for shares and their changes,
    «0» for whole counts, «0.00» for other measures (a mean mark, a residual)."""
    share = frame["unit"].isin(SHARE_UNITS)
    whole_rows = frame["unit"].eq(YES_NO)
    whole = frame.groupby("indicator_id")["value"].transform(
        lambda v: bool(((v.dropna() % 1) == 0).all()) if v.notna().any() else True).astype(bool)
    return pd.Series(["0" if y else "0.0" if s else "0" if w else "0.00" for s, w, y in zip(share, whole, whole_rows)],
                     index=frame.index)


def write_workbook(indicators: pd.DataFrame, schools: pd.DataFrame, path: Path, *, region_name: str = "Регион",
                   year: int | None = None, analyses=ALL, meth: Methodology | None = None) -> Path:
    """`indicators.xlsx`: «Пояснения», «Все показатели», one sheet per `Sheet` of `analyses`, «Прочие»
    for rows no sheet takes."""
    # openpyxl is only needed by the workbook (the kernels never import this module's writer)
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    meth = meth or load_methodology()
    table = _named(indicators, schools, region_name, meth, analyses).reset_index(drop=True)
    alert = table.pop("alert").to_numpy(dtype=bool)
    formats = _formats(table).to_numpy()
    wb = Workbook(write_only=True)
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor=HEAD_FILL)
    alert_fill = PatternFill("solid", fgColor=ALERT_FILL)
    wrap = Alignment(wrap_text=True, vertical="top")
    sheets = sheets_of(analyses)
    taken = pd.Series(False, index=table.index)
    parts = []
    for spec in sheets:
        mask = table["indicator_id"].astype(str).str.startswith(spec.prefixes)
        taken |= mask
        if mask.any():
            parts.append((spec, table[mask]))
    legend(wb, meth, table, alert, sheets=[(s, p) for s, p in parts], other=bool((~taken).any()),
           region_name=region_name, year=year, analyses=analyses, fill=alert_fill, head=(head_font, head_fill))

    def sheet(name: str, frame: pd.DataFrame):
        ws = wb.create_sheet(name[:31])   # sheet names come from the analyses' specs, not from data
        columns = list(frame.columns)
        for i, c in enumerate(columns):
            ws.column_dimensions[get_column_letter(i + 1)].width = WIDTHS.get(c, max(9, min(45, len(HEADERS.get(c, c)) + 2)))
        ws.freeze_panes = "A2"
        header = []
        for c in columns:
            cell = WriteOnlyCell(ws, value=neutral(HEADERS.get(c, c)))
            cell.font, cell.fill, cell.alignment = head_font, head_fill, wrap
            header.append(cell)
        ws.append(header)
        numeric = {columns.index(c) for c in ("value", "ci_low", "ci_high") if c in columns}
        positions = frame.index.to_numpy()
        values = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
        for pos, row in zip(positions, values):
            fmt, coloured = formats[pos], alert[pos]
            out = []
            for j, v in enumerate(row):
                v = round(v, 2) if isinstance(v, float) else neutral(v)   # text Excel would evaluate is written inert
                if j in numeric and v is not None or coloured:
                    cell = WriteOnlyCell(ws, value=v)
                    if j in numeric and v is not None:
                        cell.number_format = fmt
                    if coloured:
                        cell.fill = alert_fill
                    out.append(cell)
                else:
                    out.append(v)
            ws.append(out)
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"
        return ws

    sheet("Все показатели", table)
    for spec, part in parts:
        keep = [c for c in part.columns if c in ("level", "entity_id", "entity_name", "year", "indicator", "value", "flag",
                                                 "indicator_id") or part[c].notna().any() and (part[c] != "").any()]
        sheet(spec.name, part[keep])   # an analysis sheet hides the columns it never fills
    if (~taken).any():
        sheet("Прочие", table[~taken])
    buf = io.BytesIO()
    wb.save(buf)
    return atomic_write_bytes(path, buf.getvalue())


def legend(wb, meth: Methodology, table: pd.DataFrame, alert, *, sheets, other: bool, region_name: str,
           year: int | None, analyses, fill, head) -> None:
    """The first sheet: what the workbook holds and how to read it, in the methodology's words."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    ws = wb.create_sheet(LEGEND)
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 34, 90
    ws.column_dimensions["C"].width, ws.column_dimensions["D"].width = 18, 60
    wrap = Alignment(wrap_text=True, vertical="top")

    def title(text: str) -> None:
        cell = WriteOnlyCell(ws, value=neutral(text))
        cell.font = Font(bold=True, size=12)
        ws.append([])
        ws.append([cell])

    def row(*values, bold_first=False, heading=False, coloured=False) -> None:
        cells = []
        for i, v in enumerate(values):
            cell = WriteOnlyCell(ws, value=neutral(v))
            cell.alignment = wrap
            if heading:
                cell.font, cell.fill = head
            elif bold_first and i == 0:
                cell.font = Font(bold=True)
            if coloured:
                cell.fill = fill
            cells.append(cell)
        ws.append(cells)

    first = WriteOnlyCell(ws, value=neutral(f"Показатели: {region_name}" + (f", {year} г." if year else "")))
    first.font = Font(bold=True, size=14)
    ws.append([first])
    row("Одна строка — одно значение показателя для школы, муниципалитета или региона. Все годы — в выгрузке "
        "«shnor indicators» (CSV). Фильтры — в строке заголовков каждого листа.")
    row(f"Методика: версия {meth.version}.")

    title("Листы")
    row("Лист", "Что на нём", heading=True)
    row(LEGEND, "этот лист: как читать книгу", bold_first=True)
    row("Все показатели", "все строки всех показателей", bold_first=True)
    for spec, part in sheets:
        owners = [a.title for a in analyses if any(s.name == spec.name for s in a.sheets)]
        row(spec.name, f"показатели анализов: {', '.join(f'«{o}»' for o in owners)}; строк: {len(part)}", bold_first=True)
    if other:
        row("Прочие", "показатели, не вошедшие ни в один лист анализа", bold_first=True)

    title("Столбцы")
    row("Столбец", "Что означает", heading=True)
    for c in COLUMNS:
        if c in table.columns:
            row(HEADERS[c], COLUMN_NOTES[c], bold_first=True)

    title("Цвет строк")
    share = float(alert.mean()) if len(alert) else 0.0
    row("строка выделена цветом", "сигнал, требующий внимания: отметка из списка ниже («выделяется цветом» — да) или "
        f"флаг школы со значением 1 (в перечне ШНОР, школа риска, признак необъективности). Таких строк: "
        f"{int(alert.sum())} из {len(alert)} ({f'{share * 100:.1f}'.replace('.', ',')} %)", coloured=True)
    row("строка без цвета", "значение для сведения: без существенных изменений, положительная динамика, малая "
        "группа, прогноз, нет отметки")

    title("Отметки (столбец «Отметка»)")
    row("Отметка", "Выделяется цветом", heading=True)
    alerts = set((meth.data.get("flags", {}) or {}).get("alert_flags", []))
    raw = (meth.data.get("flags", {}) or {}).get("flags", {}) or {}
    for key in raw:
        row(meth.words.flag(key), "да" if key in alerts else "нет", bold_first=True, coloured=key in alerts)

    title("Скрытые значения")
    lim = limits(meth)
    row(meth.words.flag(SUPPRESSED),
        "группа слишком мала: значение, числитель и интервал не показываются, знаменатель (n) оставлен. "
        f"Скрываются группы меньше {lim[PUPILS]:g} участников (педагогов — меньше {lim[TEACHERS]:g}). Источник: "
        + (plain(meth, meth.source("small_groups.suppress_below")) or "методика"), bold_first=True)

    title("Показатели")
    row("Показатель", "Как считается", "Ед. изм.", "Источник", heading=True)
    for ind_id in sorted(table["indicator_id"].astype(str).unique()):
        entry = meth.words.catalogue(ind_id if not ind_id.endswith("_dd") or meth.words.catalogue(ind_id) else ind_id[:-3])
        formula = entry.get("formula", "")
        pattern = (meth.data.get("flags", {}) or {}).get("dynamics_name")
        if ind_id.endswith("_dd") and not meth.words.catalogue(ind_id) and pattern and formula:
            formula = pattern.replace("{name}", formula)   # «… : изменение к предыдущему году»
        row(indicator_name(meth, ind_id), plain(meth, formula), indicator_unit(meth, ind_id),
            plain(meth, str(entry.get("source", ""))), bold_first=True)
