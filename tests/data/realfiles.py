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
