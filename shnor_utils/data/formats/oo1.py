"""Форма ОО-1, раздел 3 «Сведения о персонале организации» → `teacher_counts` and `staffing`.

Each subsection 3.1–3.4 is a table of row codes (01 «Численность работников всего», 07 «учителя
всего», 08–27 teachers by subject, 28–39 specialists) × column codes (graphs), introduced by its
title («3.1. Распределение численности персонала …») and a row of graph numbers «1 | 2 | 3 | …»
(graph 1 = name, graph 2 = row code). Codes and meanings: the methodology's `oo1.yaml`, described in
docs/FILE_FORMATS.md §3 (check them against your region's edition of the form).

How the cells become canonical tables:
- `teacher_counts` keeps every configured cell as it is: (year, school, section, row, graph) → value,
  with the position/subject of the row and the measure of the graph. ОО-1 has counts, not
  people, so no per-teacher rows are invented: indicators that need shares (category, age,
  education) read these counts directly (e.g. высшая категория = 3.1 гр.13 / гр.3, стр.07).
  A blank cell means 0 and zero cells are not stored.
- `staffing` = 3.4 on the «leaf» rows of `oo1.yaml` (teachers by subject, each specialist post):
  rates_planned = гр.3 «ставок по штату», rates_filled = гр.4 «фактически занято»,
  vacancies = гр.13 «вакантных должностей». Row 07 is the sum of the subject rows and is used
  only when the subject rows are absent, so that summing `staffing` never counts twice.
`aggregate_teachers` and `staffing_cells` do the reverse (per-teacher table → ОО-1 cells); the
real-layout writer uses them.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from shnor_utils.data.formats.common import Context, Extract, as_number, meta_from_name, norm, split_school, text
from shnor_utils.data.formats.workbook import xlsx_bytes
from shnor_utils.methodology import Methodology
from shnor_utils.safeio import atomic_write_bytes, safe_component
from shnor_utils.data.tables import records

LAYOUT = "ОО-1, раздел 3 «Сведения о персонале организации»"
SECTION = re.compile(r"^(?:подраздел\s*|раздел\s*)?3\.([1-4])\.?(?:\s|$)")
Q_ZERO_ROWS = "ОО-1: пустые и нулевые ячейки не сохранены (означают 0)"
Q_FRACTION_VACANCY = "ОО-1: дробное число вакансий округлено"
Q_UNKNOWN_ROW = "ОО-1: строка с неизвестным кодом пропущена"


def detect(sheet) -> bool:
    texts = [norm(v) for row in sheet.rows[:60] for v in row if v is not None]
    return any(SECTION.match(t) for t in texts) and any(t.startswith("№ строки") or t == "№ стр." for t in texts)


def read(sheet, ctx: Context, out: Extract) -> None:
    cfg = ctx.meth.oo1
    year, school_id, school_name = _identity(sheet, ctx)
    out.school(school_id, school_name)
    starts = [(r, SECTION.match(norm(v)).group(1)) for r in range(1, len(sheet.rows) + 1)
              for v in sheet.rows[r - 1][:3] if SECTION.match(norm(v))]
    cells = []
    for i, (start, sec) in enumerate(starts):
        end = starts[i + 1][0] - 1 if i + 1 < len(starts) else len(sheet.rows)
        cells.extend(_section_cells(sheet, ctx, f"3.{sec}", start, end, cfg))
    frame = pd.DataFrame(cells, columns=["section", "row_code", "column_code", "value"])
    frame = frame.assign(year=year, school_id=school_id)
    rows = cfg["rows"]
    frame["position"] = frame["row_code"].map(lambda c: rows[c]["position"])
    frame["subject"] = frame["row_code"].map(lambda c: rows[c].get("subject"))
    frame["measure"] = [cfg["sections"][s]["columns"][c] for s, c in zip(frame["section"], frame["column_code"])]
    zero = frame["value"] == 0
    ctx.log.count(Q_ZERO_ROWS, int(zero.sum()))
    counts = frame[~zero]
    out.add("teacher_counts", counts[["year", "school_id", "section", "row_code", "column_code", "position",
                                      "subject", "measure", "value"]])
    out.add("staffing", _staffing(counts, cfg, ctx))


def _identity(sheet, ctx: Context) -> tuple[int, str, str | None]:
    """Year («по состоянию на 20 сентября 2025 г.», «2025 год») and school login («… (edu220001)»)
    from the title rows of this sheet or any sheet of the book, else from the file name."""
    sheets = [sheet] + [s for s in (ctx.book.sheets if ctx.book else []) if s is not sheet]
    year = school_id = name = None
    for s in sheets:
        for row in s.rows[:15]:
            for v in row:
                raw = text(v)
                if year is None:
                    m = re.search(r"(?:состоянию на|на)\s+\d{1,2}\s+\S+\s+(20\d\d)|(20\d\d)\s*(?:г\.|год)", raw)
                    year = int(m.group(1) or m.group(2)) if m else None
                if school_id is None and re.search(r"(edu|sch)\d+", raw, re.I):
                    label = re.sub(r"^.*?(организаци[ия]|ОО)\s*:?\s*", "", raw, flags=re.I) if ":" in raw else raw
                    school_id, name = split_school(label)
    meta = meta_from_name(ctx.path, ctx.meth)
    year, school_id = year or meta.get("year"), school_id or meta.get("school_id")
    if not year or not school_id:
        missing = ", ".join(w for w, v in (("год", year), ("логин школы", school_id)) if not v)
        raise ctx.error(f"в форме ОО-1 нет сведений: {missing}", sheet=sheet.name,
                        expected="строки «по состоянию на 20 сентября 2025 г.» и «Организация: … (edu220001)»")
    return year, school_id, name or None


def _section_cells(sheet, ctx: Context, section: str, start: int, end: int, cfg: dict) -> list:
    """(section, row code, graph, value) of one subsection, graphs located by the numbering row."""
    numbering = next((r for r in range(start + 1, min(end, start + 8) + 1) if _graph_columns(sheet.rows[r - 1])), None)
    if numbering is None:
        raise ctx.error(f"в подразделе {section} нет строки с номерами граф «1 | 2 | 3 | …»", sheet=sheet.name,
                        row=start, expected="строка номеров граф под заголовком таблицы")
    graphs = _graph_columns(sheet.rows[numbering - 1])
    wanted = cfg["sections"][section]["columns"]
    missing = [g for g in wanted if g not in graphs]
    if missing:
        raise ctx.error(f"в подразделе {section} нет графы {missing[0]}", sheet=sheet.name, row=numbering,
                        column=f"графа {missing[0]}", expected=f"графы {', '.join(map(str, wanted))}")
    out = []
    for r in range(numbering + 1, end + 1):
        row = sheet.rows[r - 1]
        code = _row_code(row[graphs[2] - 1] if graphs[2] <= len(row) else None)
        if code is None:
            continue
        if code not in cfg["rows"]:
            ctx.log.count(Q_UNKNOWN_ROW)
            continue
        for graph in wanted:
            col = graphs[graph]
            value = row[col - 1] if col <= len(row) else None
            try:
                number = as_number(value, ctx.log) or 0.0
            except ValueError:
                raise ctx.error("не число", sheet=sheet.name, row=r, column=f"{section} графа {graph}",
                                expected="число", got=text(value)) from None
            out.append((section, code, graph, number))
    return out


def _graph_columns(row) -> dict | None:
    """{graph number: sheet column} when the row is «1 | 2 | 3 | …» (at least graphs 1–3)."""
    found = {}
    for col, v in enumerate(row, start=1):
        t = text(v)
        if t.isdigit():
            found.setdefault(int(t), col)
        elif t:
            return None
    return found if {1, 2, 3} <= set(found) and found[1] < found[2] < found[3] else None


def _row_code(value) -> str | None:
    t = text(value)
    return t.zfill(2) if t.isdigit() and 1 <= int(t) <= 99 else None


def _staffing(counts: pd.DataFrame, cfg: dict, ctx: Context) -> pd.DataFrame:
    s34 = counts[counts["section"] == "3.4"]
    if s34.empty:
        return pd.DataFrame()
    wide = s34.pivot_table(index=["year", "school_id", "row_code"], columns="column_code", values="value",
                           aggfunc="sum", fill_value=0).reset_index()
    for g in (3, 4, 13):
        if g not in wide:
            wide[g] = 0.0
    leaves = {c for c, r in cfg["rows"].items() if r.get("leaf")}
    subject_rows = {c for c in leaves if cfg["rows"][c]["position"] == "учитель"}
    keep = wide["row_code"].isin(leaves)
    if not wide["row_code"].isin(subject_rows).any():
        keep |= wide["row_code"] == "07"
    wide = wide[keep]
    fractional = (wide[13] % 1 != 0).sum()
    ctx.log.count(Q_FRACTION_VACANCY, int(fractional))
    return pd.DataFrame({
        "year": wide["year"], "school_id": wide["school_id"],
        "position": wide["row_code"].map(lambda c: cfg["rows"][c]["position"]),
        "subject": wide["row_code"].map(lambda c: cfg["rows"][c].get("subject")),
        "rates_planned": wide[3], "rates_filled": wide[4], "vacancies": wide[13].round().astype(int),
    }).reset_index(drop=True)


# ---- the reverse: canonical tables → ОО-1 cells (used by the real-layout writer) ----------------
def aggregate_teachers(teachers: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """ОО-1 3.1–3.3 cells counted from a per-teacher table (docs/DATA_CONTRACT.md §2 `teachers`).

    One person per (year, school, teacher_id), in the row of the first listed subject; external
    part-timers (`part_time`) are left out as ОО-1 3.1 prescribes. A person counts in row 06
    (all pedagogical staff), in 07 when a teacher, and in the subject or specialist row.
    3.1: гр.3 persons, гр.4 = гр.5 = with pedagogical education (the contract does not say the
    level), гр.13/14 высшая/первая категория, гр.16 ставки. 3.2: гр.3 persons, гр.10 with known
    experience, гр.11–16 experience bands. 3.3: гр.3 persons, гр.4–13 age bands.
    Returns teacher_counts rows without zero cells."""
    if teachers is None or teachers.empty:
        return pd.DataFrame(columns=["year", "school_id", "section", "row_code", "column_code", "value"])
    people = teachers[~teachers["part_time"].fillna(False).astype(bool)]
    people = people.drop_duplicates(["year", "school_id", "teacher_id"])
    cells = []
    for p in records(people):
        for row in _rows_of(p.position, p.subject, cfg):
            cells.extend(_person_cells(p, row, cfg))
    frame = pd.DataFrame(cells, columns=["year", "school_id", "section", "row_code", "column_code", "value"])
    frame = frame.groupby(["year", "school_id", "section", "row_code", "column_code"], as_index=False)["value"].sum()
    return frame[frame["value"] != 0].reset_index(drop=True)


def _rows_of(position, subject, cfg) -> list:
    if position == "учитель":
        subject_row = cfg["teacher_subject_rows"].get(subject, cfg["other_subject_row"]) if isinstance(subject, str) \
            else cfg["other_subject_row"]
        return ["06", "07", subject_row]
    row = cfg["position_rows"].get(position)
    return ["06", row] if row else ["06", "39"]


def _band(value, bands: dict):
    if value is None or pd.isna(value):
        return None
    for graph, (low, high) in bands.items():
        if (low is None or value >= low) and (high is None or value < high):
            return int(graph)
    return None


def _person_cells(p, row: str, cfg: dict) -> list:
    key = (int(p.year), p.school_id)
    cells = [("3.1", 3, 1.0), ("3.1", 16, float(p.rate)), ("3.2", 3, 1.0), ("3.3", 3, 1.0)]
    if bool(p.pedagogical_education):
        cells += [("3.1", 4, 1.0), ("3.1", 5, 1.0)]
    if p.category == "высшая":
        cells.append(("3.1", 13, 1.0))
    if p.category == "первая":
        cells.append(("3.1", 14, 1.0))
    exp = _band(p.experience_years, cfg["experience_bands"])
    if exp:
        cells += [("3.2", 10, 1.0), ("3.2", exp, 1.0)]
    age = _band(p.age, cfg["age_bands"])
    if age:
        cells.append(("3.3", age, 1.0))
    return [(*key, s, row, g, v) for s, g, v in cells]


def staffing_cells(staffing: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """ОО-1 3.4 cells (гр.3, 4, 13) of a `staffing` table, with row 07 = sum of the teacher rows
    and row 06 = sum of all pedagogical rows; zero cells dropped."""
    if staffing is None or staffing.empty:
        return pd.DataFrame(columns=["year", "school_id", "section", "row_code", "column_code", "value"])
    subject_row = {r.get("subject"): c for c, r in cfg["rows"].items() if r.get("leaf") and r["position"] == "учитель"}
    position_row = {r["position"]: c for c, r in cfg["rows"].items() if r.get("leaf") and r["position"] != "учитель"}

    def row_of(position, subject):
        if position == "учитель":
            return subject_row.get(subject, "07") if isinstance(subject, str) else "07"
        return position_row.get(position, "39")

    s = staffing.assign(row_code=[row_of(p, sub) for p, sub in zip(staffing["position"], staffing["subject"])])
    long = s.melt(id_vars=["year", "school_id", "row_code", "position"], value_vars=["rates_planned", "rates_filled", "vacancies"],
                  var_name="what", value_name="value")
    long["column_code"] = long["what"].map({"rates_planned": 3, "rates_filled": 4, "vacancies": 13})
    long["value"] = long["value"].astype(float)
    parts = [long, long.assign(row_code="06")]
    teachers = long[(long["position"] == "учитель") & (long["row_code"] != "07")]
    parts.append(teachers.assign(row_code="07"))
    frame = pd.concat(parts).assign(section="3.4")
    frame = frame.groupby(["year", "school_id", "section", "row_code", "column_code"], as_index=False)["value"].sum()
    return frame[frame["value"] != 0].reset_index(drop=True)


# ---- writing: the dataset as ОО-1 section 3 books (the reverse of `read`) -----------------------
def write(ds, out: Path, meth: Methodology) -> list[Path]:
    """One .xlsx (sheets Р3.1–Р3.4) per school × year into `out/ОО-1`, from `teacher_counts`, or else
    from `teachers` (`aggregate_teachers`) and `staffing` (`staffing_cells`); nothing without them."""
    if not (ds.has("teachers") or ds.has("staffing") or ds.has("teacher_counts")):
        return []
    out = Path(out) / "ОО-1"
    cfg = meth.oo1
    cells = _oo1_cells(ds, cfg)
    schools = ds.schools.set_index("school_id")
    paths = []
    for (year, school_id), group in cells.groupby(["year", "school_id"], sort=True):
        values = {(s, r, int(c)): v for s, r, c, v in
                  zip(group["section"], group["row_code"], group["column_code"], group["value"])}
        name = schools.at[school_id, "school_name"] if school_id in schools.index else school_id
        sheets = {}
        for section in ("3.1", "3.2", "3.3", "3.4"):
            rows = []
            if section == "3.1":
                rows = [["Форма № ОО-1"],
                        ["Сведения об организации, осуществляющей образовательную деятельность по образовательным "
                         "программам начального общего, основного общего, среднего общего образования"],
                        [f"по состоянию на 20 сентября {year} г."], [f"Организация: {name} ({school_id})"],
                        ["Раздел 3. Сведения о персонале организации"]]
            rows += _oo1_section(section, values, cfg)
            sheets[f"Р{section}"] = rows
        file = f"ОО-1_раздел3_{safe_component(school_id)}_{year}.xlsx"
        paths.append(atomic_write_bytes(out / file, xlsx_bytes(sheets)))
    return paths


def _oo1_cells(ds, cfg) -> pd.DataFrame:
    cols = ["year", "school_id", "section", "row_code", "column_code", "value"]
    if ds.has("teacher_counts"):
        return ds.teacher_counts[cols]
    parts = [aggregate_teachers(ds.teachers if ds.has("teachers") else None, cfg),
             staffing_cells(ds.staffing if ds.has("staffing") else None, cfg)]
    return pd.concat([p for p in parts if len(p)], ignore_index=True)[cols]


def _oo1_section(section: str, values: dict, cfg: dict) -> list:
    spec = cfg["sections"][section]
    last = max(spec["columns"])
    rows = [[f"{section}. {spec['title']}"], ["Наименование показателей", "№ строки"]
            + [spec["columns"].get(g, "") for g in range(3, last + 1)], list(range(1, last + 1))]
    for i, (code, row) in enumerate(cfg["rows"].items()):
        label = row["position"] + (f": {row['subject']}" if row.get("subject") else "")
        cells = []
        for g in range(3, last + 1):
            v = values.get((section, code, g), 0.0) if g in spec["columns"] else None
            cells.append(_oo1_number(v, i + g))
        rows.append([label, code if i % 2 else int(code)] + cells)
    return rows


def _oo1_number(v, i: int):
    """Zero as a blank or 0, fractions sometimes as text with a decimal comma."""
    if v is None or v == 0:
        return None if i % 2 else 0
    if float(v).is_integer():
        return int(v)
    return f"{v:g}".replace(".", ",") if i % 2 else float(v)
