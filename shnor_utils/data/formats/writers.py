"""Write a canonical dataset AS the real files analysts get — the reverse of the readers.

`write_real_files(dataset_dir, out_dir)` writes, from any dataset folder that passes the contract:
- ФИС ОКО «Индивидуальные результаты» (Ф1), one .xlsx per school × work (subject, grade, year);
- РЦОИ «Протокол проверки результатов», one .xls per exam × year × period, one block per subject
  and exam date, with invented names and document numbers (deterministic, obviously fake:
  «Тестов-3fa2c1 Имя-9b0e Отч-51d2»; never real names) so that ingest can pseudonymise them;
- ОО-1 раздел 3, one .xlsx per school × year, from `teacher_counts` or else from `teachers`
  (`oo1.aggregate_teachers`) and `staffing` (`oo1.staffing_cells`).
Files carry the quirks of real ones (reference/data_formats.md): sheet names cut to 31 characters,
ids inside names, numbers as text, «X»/«х» and «не пройд.», «нет отметки», «отсутствовал», class
labels in several spellings, blank zero cells, an .xls protocol with empty merged-cell columns.
They exist to test `shnor ingest` end to end and to let analysts try it without personal data.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pandas as pd

from shnor_utils.data.dataset import load_dataset
from shnor_utils.methodology import Methodology, load_methodology
from shnor_utils.safeio import atomic_write_bytes, safe_component
from shnor_utils.data.formats.common import FileLog, normalize_class
from shnor_utils.data.formats.oo1 import aggregate_teachers, staffing_cells

XLS_MAX_ROWS = 65000


def write_real_files(dataset_dir, out_dir, *, methodology: Methodology | None = None) -> list[Path]:
    """Write the dataset at `dataset_dir` as real-layout files into `out_dir`; return their paths."""
    meth = methodology or load_methodology()
    ds = load_dataset(dataset_dir, methodology=meth)
    out = Path(out_dir)
    paths = []
    if ds.has("vpr"):
        paths += write_f1_files(ds, out / "ФИС ОКО", meth)
    if ds.has("gia"):
        paths += write_protocols(ds, out / "РЦОИ", meth)
    if ds.has("teachers") or ds.has("staffing") or ds.has("teacher_counts"):
        paths += write_oo1_files(ds, out / "ОО-1", meth)
    return paths


# ---- workbooks -----------------------------------------------------------------------------------
def _xlsx_bytes(sheets: dict) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name[:31])
        for row in rows:
            ws.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _xls_bytes(sheets: dict) -> bytes:
    import xlwt

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


def _digest(*parts) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).hexdigest()


def _value(v):
    """A pandas cell as a plain Python value for a workbook (NA → None, numpy → int/float)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


# ---- ФИС ОКО Ф1 ----------------------------------------------------------------------------------
def write_f1_files(ds, out: Path, meth: Methodology) -> list[Path]:
    schools = ds.schools.set_index("school_id")
    tasks = ds.vpr_tasks if ds.has("vpr_tasks") else None
    paths = []
    keys = ["year", "wave", "subject", "grade", "school_id"]
    for key, group in ds.vpr.groupby(keys, sort=True):
        year, wave, subject, grade, school_id = key
        work_tasks = None
        if tasks is not None:
            mask = (tasks[keys] == pd.Series(dict(zip(keys, key)))).all(axis=1)
            work_tasks = tasks[mask] if mask.any() else None
        sheet_name = f"{meth.short(subject)} {grade} Индивидуальные результаты"     # > 31: cut as ФИС ОКО does
        rows = f1_sheet(group, work_tasks, schools.loc[school_id], school_id, meth)
        folder = out if wave == "весна" else out / "осень"
        name = f"Ф1_{safe_component(school_id)}_{meth.short(subject)}{grade}_{year}.xlsx"
        paths.append(atomic_write_bytes(folder / name, _xlsx_bytes({sheet_name: rows})))
    return paths


def _task_order(code: str):
    parts = [int(p) if p.isdigit() else p for p in code.replace("К", ".К.").replace("(", ".").replace(")", "").split(".")]
    return [(0, p) if isinstance(p, int) else (1, p) for p in parts]


def f1_sheet(vpr: pd.DataFrame, tasks: pd.DataFrame | None, school, school_id: str, meth: Methodology) -> list:
    """Rows of one Ф1 sheet (header block, levels row, table header, group row, participants)."""
    year, subject, grade = int(vpr["year"].iloc[0]), vpr["subject"].iloc[0], int(vpr["grade"].iloc[0])
    task_list = []
    if tasks is not None:
        meta = tasks.drop_duplicates("task").set_index("task")
        task_list = sorted(meta.index, key=_task_order)
        flags = tasks["flag"] if "flag" in tasks else [None] * len(tasks)
        by_pupil = {(p, t): (_value(s), _value(f)) for p, t, s, f in
                    zip(tasks["participant_code"], tasks["task"], tasks["score"], flags)}
    scale = meth.vpr_scale(year, subject, grade)
    max_score = scale.max if scale else (int(meta["max_score"].sum()) if task_list else None)
    full_name = f"{school.school_name}({school_id})"
    rows = [["Индивидуальные результаты"], [], [f"ВПР {year} {subject} {grade} класс"], ["Предмет:", subject],
            ["Максимальный первичный балл:", max_score], ["Дата:", f"20.04.{year}"],
            ["Уровень сложности задания", None, None, None, None, None] + [meta.at[t, "level"] for t in task_list],
            ["ОО", "Муниципалитет", "Название ОО", "Код участника", "Класс", "Вариант"]
            + [f"{t} ({int(meta.at[t, 'max_score'])}б)" for t in task_list]
            + ["Первичный балл", "Отметка", "Отметка по журналу"],
            [full_name, f"Кол-во участников: {int((~vpr['absent']).sum())}"]]
    municipality = f"{school.municipality_name}({school.municipality_id})"
    for i, p in enumerate(vpr.sort_values("participant_code", kind="stable").itertuples(index=False)):
        code = p.participant_code
        cells = []
        for t in task_list:
            score, flag = by_pupil.get((code, t), (None, None))
            cells.append(None if p.absent else _task_cell(score, flag, i))
        journal = "нет отметки" if pd.isna(p.journal_mark) else _maybe_text(int(p.journal_mark), i)
        rows.append([school_id, municipality, full_name, _maybe_text(_code(code), i + 1),
                     _class_cell(p.class_label, grade, year, i), "отсутствовал" if p.absent else 1 + i % 2, *cells,
                     _value(p.primary_score), _value(p.mark), journal])
    return rows


def _code(code: str):
    return int(code) if code.isdigit() and not code.startswith("0") else code


def _maybe_text(value, i: int):
    """Every third number written as text, as real exports mix them."""
    return str(value) if i % 3 == 2 and isinstance(value, int) else value


def _task_cell(score, flag, i: int):
    if flag == "X":
        return "X" if i % 2 else "х"          # Latin and Cyrillic
    if flag == "не пройд.":
        return "не пройд."
    return _maybe_text(_value(score), i)


def _class_cell(label, grade: int, year: int, i: int):
    """A spelling of the class label that the reader maps back to the same label."""
    if label is None or pd.isna(label):
        return "нет"
    ordinal = year >= 2026
    candidates = []
    if label.startswith(f"{grade}-") and label[len(str(grade)) + 1:].isdigit():
        candidates.append(int(label[len(str(grade)) + 1:]))
    letters = label[len(str(grade)):] if label.startswith(str(grade)) else ""
    if letters.isalpha():
        candidates = [[letters.lower(), f"{grade} {letters.lower()}", f"{letters}({grade})"][i % 3]]
    for c in candidates + [label]:
        if normalize_class(c, grade, ordinal=ordinal, log=FileLog()) == label:
            return c
    return label


# ---- РЦОИ protocols ------------------------------------------------------------------------------
OGE_HEADER = ["№", "Код ОО", "Класс", "Код ППЭ", "Аудитория", "Код МСУ", "Фамилия", "Имя", "Отчество", None,
              "Задания с кратким ответом", None, "Задания с развёрнутым ответом", "Первичный балл", "Оценка"]
EGE_HEADER = ["№", "Код МСУ", "Код ОО", "Класс", "Код ППЭ", "Аудитория", "Фамилия", "Имя", "Отчество", "Серия",
              "Номер", "Задания с кратким ответом", "Задания с развёрнутым ответом", "Первичный балл"]


def fake_person(participant_id: str) -> dict:
    """Invented, obviously fake name and document of a pseudonymous participant (deterministic)."""
    h = _digest("fake-person", participant_id)
    return {"surname": f"Тестов-{h[:6]}", "name": f"Имя-{h[6:10]}", "patronymic": f"Отч-{h[10:14]}",
            "series": f"{int(h[14:18], 16) % 9000 + 1000}", "number": f"{int(h[18:26], 16) % 900000 + 100000}"}


def write_protocols(ds, out: Path, meth: Methodology) -> list[Path]:
    schools = ds.schools.set_index("school_id")
    paths = []
    for (year, exam, period), group in ds.gia.groupby(["year", "exam", "period"], sort=True):
        rows = protocol_sheet(group, schools, meth, int(year), exam, period)
        xls = len(rows) < XLS_MAX_ROWS
        name = f"Протокол_{exam}_{year}_{safe_component(period)}.{'xls' if xls else 'xlsx'}"
        data = _xls_bytes({"Протокол": rows}) if xls else _xlsx_bytes({"Протокол": rows})
        paths.append(atomic_write_bytes(out / name, data))
    return paths


def protocol_sheet(gia: pd.DataFrame, schools: pd.DataFrame, meth: Methodology, year: int, exam: str, period: str) -> list:
    title = "Протокол проверки результатов" + (" ГВЭ" if exam == "ГВЭ" else "") \
        + ("" if period == "основной" else f" ({period} период)")
    rows = [[title], ["00 - Демонстрационный регион"]]
    gia = gia.assign(level=gia["level"].astype("object").where(gia["level"].notna(), None))
    subjects = sorted(gia["subject"].unique())
    for (subject, level, attempt), block in gia.groupby(["subject", "level", "attempt"], sort=True, dropna=False):
        day = _exam_date(year, exam, subjects.index(subject), int(attempt))
        text = subject + (f" {level}" if isinstance(level, str) else "")
        rows.append([f"{_subject_code(meth, subject, level, exam)} - {text} {day:%Y.%m.%d}"])
        with_test = exam == "ЕГЭ" and level != "базовая"
        header = OGE_HEADER if exam != "ЕГЭ" else EGE_HEADER + ["Тестовый балл" if with_test else "Оценка"]
        rows.append(header)
        for i, p in enumerate(block.sort_values(["school_id", "participant_id"]).itertuples(index=False), start=1):
            rows.append(_protocol_row(p, i, schools, exam, with_test))
        rows.append(["Средние"] + [None] * (len(header) - 3) + [round(float(block["primary_score"].mean()), 2), None])
    return rows


def _exam_date(year: int, exam: str, subject_index: int, attempt: int) -> dt.date:
    start = dt.date(year, 5, 20) if exam == "ЕГЭ" else dt.date(year, 5, 25)
    return start + dt.timedelta(days=2 * subject_index + 14 * (attempt - 1))


def _subject_code(meth: Methodology, subject: str, level, exam: str) -> str:
    if exam == "ЕГЭ" and level == "базовая":
        return "22"
    if exam == "ГВЭ":
        return {"Русский язык": "51", "Математика": "52"}.get(subject, "50")
    code = next((s.get("gia_code") for s in meth.data["subjects"]["subjects"] if s["name"] == subject), None)
    return code or "99"


def _protocol_row(p, i: int, schools: pd.DataFrame, exam: str, with_test: bool) -> list:
    person = fake_person(p.participant_id)
    letter = "АБВ"[int(_digest(p.participant_id)[:2], 16) % 3]
    msu = schools.at[p.school_id, "municipality_id"] if p.school_id in schools.index else None
    short, long = _masks(p)
    score = _value(p.test_score) if with_test else _value(p.mark)
    if exam == "ЕГЭ":
        return [i, msu, p.school_id, f"{int(p.grade)}{letter}", 100 + i % 7, i % 15 + 1, person["surname"],
                person["name"], person["patronymic"], person["series"], person["number"], short, long,
                int(p.primary_score), score]
    return [i, p.school_id, f"{int(p.grade)}{letter}", 100 + i % 7, i % 15 + 1, msu, person["surname"],
            person["name"], person["patronymic"], None, short, None, long, int(p.primary_score), score]


def _masks(p) -> tuple[str, str]:
    """The row's masks; when the dataset has none, masks that add up to the primary score."""
    short = getattr(p, "short_answers", None)
    long = getattr(p, "long_answers", None)
    if isinstance(short, str) or isinstance(long, str):
        return (short if isinstance(short, str) else None), (long if isinstance(long, str) else None)
    points = int(p.primary_score)
    n_short = min(points, 10)
    rest = points - n_short
    short = "+" * n_short + "-" * (12 - n_short) if n_short <= 12 else "+" * n_short
    parts = []
    while rest > 0:
        got = min(rest, 3)
        parts.append(f"{got}(3)")
        rest -= got
    return short, "".join(parts) or "0(2)"


# ---- ОО-1 раздел 3 --------------------------------------------------------------------------------
def write_oo1_files(ds, out: Path, meth: Methodology) -> list[Path]:
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
        paths.append(atomic_write_bytes(out / file, _xlsx_bytes(sheets)))
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
