"""Readers of issue 13 point 7, each on a hand-made file in the real layout (tests/data/realfiles_more.py);
every expected value is worked out by hand from the fixture."""
from __future__ import annotations

import pandas as pd
import pytest

from shnor_utils.data.formats import detect
from shnor_utils.data.formats.common import Context, Extract, FileLog
from shnor_utils.data.formats.workbook import open_workbook
from shnor_utils.methodology import load_methodology

from . import realfiles_more as R
from .realfiles import xls, xlsx

SECRET = b"test-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def meth():
    return load_methodology()


def read(path, meth, secret=None):
    """(extract, log, {sheet: layout name}) of one workbook, as ingest reads it."""
    book = open_workbook(path)
    log, out = FileLog(), Extract()
    ctx = Context(path=book.path, meth=meth, log=log, secret=secret, book=book)
    layouts = {}
    for sheet in book.sheets:
        layout = detect(sheet)
        layouts[sheet.name] = layout.name if layout else None
        if layout:
            layout.read(sheet, ctx, out)
    return out, log, layouts


def table(out: Extract, name: str) -> pd.DataFrame:
    return pd.concat(out.tables[name], ignore_index=True)


# ---- ФИС ОКО «Сбор контекстных данных об ОО» ---------------------------------------------------------
def test_context_2021_one_sheet(tmp_path, meth):
    out, log, layouts = read(xlsx(tmp_path / "Сбор контекстных данных 2021.xlsx", R.context_2021()), meth)
    assert layouts == {"Лист1": "ФИС ОКО «Сбор контекстных данных об ОО» (2021, 2022)"}
    assert out.tables == {} and out.schools == []          # no school is added by a context file
    got = {e["school_id"]: e for e in out.directory}
    assert sorted(got) == ["sch220001", "sch220002", "sch220003"]   # « SCH220002 » trimmed and lower-cased
    one, two, three = got["sch220001"], got["sch220002"], got["sch220003"]
    assert (one["year"], one["rcoi_code"], one["settlement"], one["students"], one["teachers"]) == (2021, "220101", "село", 112, 14)
    assert one["location"] == "4. Населенный пункт сельского типа" and one["settlement_size"] == "1. Менее 1 тыс. человек"
    assert (two["rcoi_code"], two["settlement"], two["students"], two["teachers"]) == ("220102", "город", 640, 41)
    assert three["evening"] is True and one["evening"] is False and one["boarding"] is False
    assert log.counts["школ в контекстных данных ОО"] == 3
    assert any("«Итого»" in w for w in log.warnings)       # the total row is skipped, with a note


def test_context_2022_two_sheets(tmp_path, meth):
    out, _, layouts = read(xlsx(tmp_path / "ctx.xlsx", R.context_2022()), meth)
    assert set(layouts.values()) == {"ФИС ОКО «Сбор контекстных данных об ОО» (2021, 2022)"}
    first = [e for e in out.directory if e["sheet"] == "Общая информация об ОО"]
    counts = [e for e in out.directory if e["sheet"] == "ОБРАЗОВАТЕЛЬНАЯ ДЕЯТЕЛЬНОСТЬ ОО"]
    assert [(e["school_id"], e["year"], e["municipality_id"], e["municipality_name"], e["settlement"], e["boarding"])
            for e in first] == [("edu220001", 2022, "reg22_m001", "Верхний район", "село", True),
                                ("edu220002", 2022, "reg22_m001", "Верхний район", "город", False)]
    assert [(e["school_id"], e["students"], e["teachers"]) for e in counts] == [("edu220001", 118, 15), ("edu220002", 655, 43)]


# ---- the login directory -----------------------------------------------------------------------------
def test_login_directory(tmp_path, meth):
    out, log, layouts = read(xlsx(tmp_path / "Логины ОО 2022.xlsx", R.login_directory()), meth)
    assert layouts == {"Логины": "справочник логинов ОО («логин | имя | регион»)"}
    assert [(e["school_id"], e["school_name"], e.get("municipality_id"), e.get("municipality_name"), e["year"])
            for e in out.directory] == [
        ("edu220001", "МБОУ «Верхняя СОШ»", "reg22_m001", "Верхний район", 2022),
        ("edu220002", "МБОУ «Гимназия №2»", "reg22_m001", "Верхний район", 2022),
        ("edu220005", "МБОУ «СОШ №1»", None, "Нижний район", 2022),
        ("edu220006", "МБОУ «СОШ №1»", None, "Нижний район", 2022)]
    assert log.counts["логинов в справочнике логинов"] == 4 and len(log.warnings) == 1


# ---- ФИОКО «Признаки необъективности» ----------------------------------------------------------------
def test_official_signs_wide(tmp_path, meth):
    out, _, _ = read(xlsx(tmp_path / "signs.xlsx", R.official_signs_wide()), meth)
    signs = table(out, "official_signs")
    # 1 and «да» are markers; 0 and empty are not; «2023» as text is a year
    assert sorted(map(tuple, signs[["year", "school_id", "marker"]].values.tolist())) == [
        (2023, "edu220001", "4 РУ"), (2023, "edu220001", "5 МА"), (2024, "edu220002", "4 МА")]
    names = {s["school_id"]: (s["school_name"], s["municipality_id"]) for s in out.schools}
    assert names["edu220002"] == ("МБОУ «Гимназия №2»", "reg22_m001")   # «…(edu220002)» split off the name


def test_official_signs_long_year_from_title(tmp_path, meth):
    out, _, _ = read(xlsx(tmp_path / "list.xlsx", R.official_signs_long()), meth)
    signs = table(out, "official_signs")
    assert sorted(map(tuple, signs.values.tolist())) == [(2024, "edu220001", "4 МА"), (2024, "edu220001", "5 РУ")]


# ---- «Форма сбора результатов» 2024 and 2025 -----------------------------------------------------------
def test_collection_form_2024_classes_sheet(tmp_path, meth):
    path = xlsx(tmp_path / "Форма сбора результатов Математика 5 класс ВПР 2024 edu220001.xlsx", R.collection_2024())
    out, log, layouts = read(path, meth)
    assert layouts["Протокол"].startswith("«Форма сбора результатов» ВПР") and layouts["Классы"] is None
    vpr = table(out, "vpr").sort_values("participant_code")
    assert [(r.participant_code, r.class_label, r.absent, None if pd.isna(r.primary_score) else int(r.primary_score),
             None if pd.isna(r.journal_mark) else int(r.journal_mark)) for r in vpr.itertuples()] == [
        ("50001", "5А", False, 5, 5),       # «Класс №» 1 → «а» on the sheet «Классы»
        ("50002", "5Б", False, 1, 3),       # a formula total is not a number: the task sum X+1+0 = 1
        ("50003", "5А", True, None, None),  # «отсутствовал», «нет отметки»
        ("50004", "5Б", False, 2, 4),       # the file's total 2 is kept; tasks sum to 1 (counted)
    ]
    assert set(vpr["school_id"]) == {"edu220001"} and set(vpr["year"]) == {2024}
    assert "Пол" not in vpr.columns and "sex" not in vpr.columns
    assert log.counts["первичный балл не равен сумме баллов за задания"] == 1
    assert log.counts["класс взят из листа «Классы» по номеру в «Класс №»"] == 4


def test_collection_form_2025_two_parts(tmp_path, meth):
    path = xlsx(tmp_path / "Форма сбора результатов Русский язык 4 класс ВПР 2025 edu220002.xlsx", R.collection_2025())
    out, log, layouts = read(path, meth)
    assert layouts["Протокол"] and layouts["Протокол_2"]          # both sheets recognised, read once together
    vpr = table(out, "vpr").sort_values("participant_code")
    assert len(vpr) == 4
    assert [(r.participant_code, r.class_label, r.absent, None if pd.isna(r.primary_score) else int(r.primary_score))
            for r in vpr.itertuples()] == [
        ("40001", "4-1", False, 18),        # totals 7 + 11 of the two sheets; tasks 4+3+5+6 = 18
        ("40002", "4-2", False, 5),         # 2 + 3
        ("40003", "4-1", False, 4),         # absent from part 1: part 2 only (no total on sheet 1 → task sum 2+2)
        ("40004", "4-2", True, None),       # absent from both parts
    ]
    assert log.counts["участник отсутствовал на одной из частей работы (баллы этой части = 0)"] == 1


# ---- РЦОИ protocol without the «Протокол проверки…» title ----------------------------------------------
NAMES = ("Иванова", "Анна", "Петровна", "Петров", "Пётр", "Сидоров", "Иван", "Ильич", "Кузнецова", "Мария", "Смирнов")


def test_rcoi_untitled_ege_ball_is_test_score(tmp_path, meth):
    out, log, layouts = read(xls(tmp_path / "p.xls", {"Лист1": R.rcoi_untitled()}), meth, SECRET)
    assert layouts == {"Лист1": "РЦОИ «Протокол проверки результатов»"}
    gia = table(out, "gia").sort_values("primary_score")
    assert [(r.exam, r.subject, r.level, r.school_id, r.grade, r.primary_score, r.test_score, r.mark)
            for r in gia.itertuples()] == [
        ("ЕГЭ", "Математика", "профильная", "220101", 11, 2, 27, None),
        ("ЕГЭ", "Математика", "профильная", "220101", 11, 7, 62, None),
        ("ЕГЭ", "Математика", "профильная", "220102", 11, 9, 70, None)]   # «Балл» > 5 → test score
    assert {d.isoformat() for d in gia["_date"]} == {"2024-06-03"}       # ДД.ММ.ГГГГ in A1
    text = gia.astype(str).to_csv() + repr(out.schools) + repr(dict(log.counts)) + repr(log.warnings)
    assert not any(n in text for n in NAMES)                              # names never leave the reader


def test_rcoi_untitled_oge_ball_is_mark(tmp_path, meth):
    out, _, _ = read(xls(tmp_path / "p9.xls", {"Лист1": R.rcoi_untitled_oge()}), meth, SECRET)
    gia = table(out, "gia").sort_values("school_id")
    assert [(r.exam, r.subject, r.grade, r.primary_score, r.mark, r.test_score) for r in gia.itertuples()] == [
        ("ОГЭ", "Русский язык", 9, 4, 3, None), ("ОГЭ", "Русский язык", 9, 5, 4, None)]


def test_untitled_protocol_needs_its_header(tmp_path, meth):
    """A1 alone does not make a protocol: a sheet whose first cell only looks like «01 Русский язык 2024.05.24»
    without the header (Код ОО, Фамилия, Первичный балл) is not taken for one."""
    out, _, layouts = read(xlsx(tmp_path / "x.xlsx", {"Лист1": [["01 Русский язык 2024.05.24"], ["a", "b"]]}), meth)
    assert layouts == {"Лист1": None}


def test_collection_form_2025_both_parts_on_one_sheet(tmp_path, meth):
    rows = [["Код", "Вариант (часть 1)", "1 (4б)", "2 (3б)", "Вариант (часть 2)", "3 (5б)", "Порядковый номер класса",
             R.JOURNAL, "Итого баллов"],
            [40001, 1, 4, 3, 2, 5, 1, 5, 12],
            [40002, "отсутствовал", None, None, 1, "x", 1, 4, 0],
            [40003, "отсутствовал", None, None, "отсутствовал", None, 2, 3, None]]
    path = xlsx(tmp_path / "Форма сбора результатов Русский язык 4 класс ВПР 2025 edu220003.xlsx", {"Протокол": rows})
    out, log, _ = read(path, meth)
    vpr = table(out, "vpr").sort_values("participant_code")
    assert [(r.participant_code, r.absent, None if pd.isna(r.primary_score) else int(r.primary_score))
            for r in vpr.itertuples()] == [("40001", False, 12), ("40002", False, 0), ("40003", True, None)]
    assert log.counts["участник отсутствовал на одной из частей работы (баллы этой части = 0)"] == 1
