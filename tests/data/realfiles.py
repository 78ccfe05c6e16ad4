"""Write hand-made workbooks in the real layouts (reference/data_formats.md) for the ingest tests:
`xlsx(path, {sheet: rows})` and `xls(path, {sheet: rows})`, rows as lists of cell values."""
from __future__ import annotations

from pathlib import Path

import openpyxl


def xlsx(path: Path, sheets: dict) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def xls(path: Path, sheets: dict) -> Path:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for name, rows in sheets.items():
        ws = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path


def f1_rows(year=2026, subject="Русский язык", grade=4):
    """A ФИС ОКО Ф1 sheet: 2 tasks (10б Б, 14б П), one school, four participants with the quirks."""
    return [
        ["Индивидуальные результаты"],
        [],
        [f"ВПР {year} {subject} {grade} класс"],
        ["Предмет:", subject],
        ["Максимальный первичный балл:", 24],
        ["Дата:", "20.04.2026"],
        ["Уровень сложности задания", None, None, None, None, None, "Б", "П"],
        ["ОО", "Муниципалитет", "Название ОО", "Код участника", "Класс", "Вариант", "1 (10б)", "2 (14б)",
         "Первичный балл", "Отметка", "Отметка по журналу"],
        ["МБОУ «СОШ №1 с.Верхнее»(edu220001)", "Кол-во участников: 4"],
        ["edu220001", "Верхний муниципальный район(reg22_m001)", "МБОУ «СОШ №1 с.Верхнее»(edu220001)",
         40001, 1, 1, 10, 12, 22, 5, 5],
        ["edu220001", "Верхний муниципальный район(reg22_m001)", "МБОУ «СОШ №1 с.Верхнее»(edu220001)",
         "40002", "2", "2", "X", "12", 12, "3", "нет отметки"],
        ["edu220001", "Верхний муниципальный район(reg22_m001)", "МБОУ «СОШ №1 с.Верхнее»(edu220001)",
         40003, 1, "отсутствовал", None, None, None, None, 4],
        ["edu220001", "Верхний муниципальный район(reg22_m001)", "МБОУ «СОШ №1 с.Верхнее»(edu220001)",
         40004, 2, 1, "х", "не пройд.", 0, None, "4"],
    ]


# ---- regional exports as real folders hold them (issue 13) ------------------------------------------
REGIONAL_2021_HEAD = ["логин школы", "регион", "номер обучающегося", "код обучающегося",
                      "отметка за предыдущую четверть/триместр", "пол", "класс", "вариант", "всего баллов",
                      "балл за 1", "балл за 2", "Учебник", "Др.уч. автор", "Др.уч. название"]


def regional_2021_pupil(n: int, *, school="sch220206", code=None, t1=5, t2=4, total=None, sex="м", cls="а"):
    """One row of the 2021 regional export (two tasks; «всего баллов» = t1 + t2 unless given)."""
    return [school, "город Барнаул", n, code if code is not None else 50000 + n, "4", sex, cls, 1,
            t1 + t2 if total is None else total, t1, t2, "Учебник-1", None, None]


def regional_2021_rows(pupils: list) -> list:
    return [REGIONAL_2021_HEAD] + [list(p) for p in pupils]


def overflow(row: list, extra="лишнее") -> list:
    """A row with one value more than the header has columns (issue 13 point 9)."""
    return list(row) + [extra]


def copied_sex_and_class(row: list) -> list:
    """Sex and class copied into the task columns (issue 13 point 1)."""
    row = list(row)
    row[9], row[10] = row[5], row[6]
    return row


def regional_2020_rows(pupils: list) -> list:
    """2020 Latin-code export: [(user, code, otc, gender, klass, var-1, sum, a-1, a-2)]."""
    head = ["groups", "user", "id", "code", "otc", "gender", "klass", "var-1", "var-2", "sum", "a-1-grade", "a-2-grade"]
    return [head] + [["g1", u, i, c, o, g, k, v, None, s, a1, a2] for i, (u, c, o, g, k, v, s, a1, a2) in enumerate(pupils, 1)]


def f1_work_rows(year: int, subject: str, grade: int, maxima: list, pupils: list, school="edu220001") -> list:
    """A Ф1 sheet of any work: task headers «N (Mб)» from `maxima`; pupils = [(code, [scores], primary, mark)]."""
    n = len(maxima)
    return [
        ["Индивидуальные результаты"], [], [f"ВПР {year} {subject} {grade} класс"], ["Предмет:", subject],
        ["Максимальный первичный балл:", sum(maxima)], ["Дата:", f"20.04.{year}"],
        ["Уровень сложности задания", None, None, None, None, None] + ["Б"] * n,
        ["ОО", "Муниципалитет", "Название ОО", "Код участника", "Класс", "Вариант"]
        + [f"{i} ({m}б)" for i, m in enumerate(maxima, 1)] + ["Первичный балл", "Отметка", "Отметка по журналу"],
    ] + [[school, "Верхний район(reg22_m001)", f"МБОУ «СОШ №1»({school})", code, 1, 1, *scores, primary, mark, 4]
         for code, scores, primary, mark in pupils]


FORM_2022_HEAD = ["Пользователь", "Код региона", "Регион", "Муниципалитет", "Школа", "Дата загрузки", "Код", "Вариант",
                  "1 (10б)", "2 (14б)", "Наименование класса", "Пол",
                  "Отметка за предыдущий триместр/ четверть/полугодие", "Итого баллов"]


def form_2022_pupil(school: str, code: int, t1: int, t2: int, total: int) -> list:
    return ["u1", "reg220000 | Алтайский край", "Алтайский край", "reg22_m067 | город Славгород",
            f"{school} | МБОУ «СОШ {school[-2:]}»", "15.04.2022", code, 1, t1, t2, "а", "м", 4, total]


def shifted_right(row: list) -> list:
    """A 2021 regional row shifted one column right from «отметка …» on (issue 13 point 1): the journal
    cell empty, «пол» in «класс», the class letter in «вариант», the last task in «Учебник»."""
    row = list(row)
    return row[:4] + [None] + row[4:13]
