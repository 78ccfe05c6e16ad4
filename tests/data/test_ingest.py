"""`shnor ingest`: one hand-made file per real layout (reference/data_formats.md), each resulting table
checked by hand, and the quirks counted in the ingest report."""
from __future__ import annotations

import json

import pandas as pd

from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.ingest import ingest

from .realfiles import f1_rows, xls, xlsx

SECRET = "тестовый-секрет-0123456789abcdef"


def run(tmp_path, *files, **kw):
    result = ingest(list(files), tmp_path / "ds", **kw)
    assert result.exit_code == 0, result.report.to_text()
    report = json.loads((tmp_path / "ds" / "ingest_report.json").read_text(encoding="utf-8"))
    return load_dataset(tmp_path / "ds"), report


def rows(frame: pd.DataFrame, columns: list) -> list:
    return [tuple(None if pd.isna(v) else v for v in r) for r in frame[columns].itertuples(index=False)]


# ---- ФИС ОКО «Индивидуальные результаты» (Ф1) ------------------------------------------------------
def test_f1_gives_vpr_and_tasks_with_quirks_counted(tmp_path):
    f = xlsx(tmp_path / "2849657.xlsx", {"РУ 4 Индивидуальные результат": f1_rows()})   # renamed, sheet name cut
    ds, report = run(tmp_path, f)
    vpr = ds.vpr.sort_values("participant_code")
    assert rows(vpr, ["participant_code", "class_label", "absent", "primary_score", "mark", "journal_mark"]) == [
        ("40001", "4-1", False, 22, 5, 5),
        ("40002", "4-2", False, 12, 3, None),    # «нет отметки»
        ("40003", "4-1", True, None, None, 4),   # «отсутствовал»
        ("40004", "4-2", False, 0, 2, 4),        # no mark in the file: 0 → «2» by the 2026 RU-4 scale
    ]
    assert set(vpr["year"]) == {2026} and set(vpr["subject"]) == {"Русский язык"} and set(vpr["grade"]) == {4}
    tasks = ds.vpr_tasks.sort_values(["participant_code", "task"])
    assert rows(tasks, ["participant_code", "task", "score", "max_score", "level", "flag"]) == [
        ("40001", "1", 10, 10, "Б", None), ("40001", "2", 12, 14, "П", None),
        ("40002", "1", 0, 10, "Б", "X"), ("40002", "2", 12, 14, "П", None),
        ("40004", "1", 0, 10, "Б", "X"), ("40004", "2", 0, 14, "П", "не пройд."),
    ]
    school = ds.schools.iloc[0]
    assert (school.school_id, school.school_name, school.municipality_id, school.municipality_name) == (
        "edu220001", "МБОУ «СОШ №1 с.Верхнее»", "reg22_m001", "Верхний муниципальный район")
    assert (school.settlement, school.school_type) == ("село", "СОШ")            # from «с.» and «СОШ» in the name
    q = report["quirks"]
    assert q["участник отсутствовал («отсутствовал»)"] == 1
    assert q["задание не выполнялось («X», «x», «х») → 0 баллов"] == 2
    assert q["тема не пройдена («не пройд.») → 0 баллов"] == 1
    assert q["«нет отметки» по журналу"] == 1
    assert q["число записано текстом («1» вместо 1)"] == 3          # task «12», mark «3», journal «4»
    assert q["отметка ВПР вычислена по шкале года"] == 1
    assert q["файл формата .xlsx"] == 1
    assert (tmp_path / "ds" / "ingest_report.txt").read_text(encoding="utf-8").startswith("Загрузка реальных файлов")


def test_f1_from_xls_reads_the_same(tmp_path):
    a = xlsx(tmp_path / "a" / "f1.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})
    b = xls(tmp_path / "b" / "f1.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})   # .xls saved as .xlsx
    ds_a, _ = run(tmp_path / "a", a)
    ds_b, report = run(tmp_path / "b", b)
    pd.testing.assert_frame_equal(ds_a.vpr, ds_b.vpr)
    pd.testing.assert_frame_equal(ds_a.vpr_tasks, ds_b.vpr_tasks)
    assert report["files"][0]["format"] == "xls"


def test_f1_letter_classes_in_many_spellings(tmp_path):
    sheet = f1_rows(year=2021, subject="Русский язык", grade=5)
    for row, label in zip(sheet[9:13], ["а", "5 Б", "Б(5)", "нет"]):
        row[4] = label
    ds, report = run(tmp_path, xlsx(tmp_path / "f.xlsx", {"РУ 5 Индивидуальные результаты": sheet}))
    assert list(ds.vpr.sort_values("participant_code")["class_label"].astype("string").fillna("—")) == ["5А", "5Б", "5Б", "—"]
    assert report["quirks"]["класс не указан («нет», пусто)"] == 1


def test_f1_header_variants_spacing_case_and_yo(tmp_path):
    sheet = f1_rows()
    sheet[0] = ["ИНДИВИДУАЛЬНЫЕ  РЕЗУЛЬТАТЫ"]
    sheet[7] = ["ОО ", "Муниципалитет", "Название ОО", "Код\xa0участника", "класс", "Вариант", "1 (10 б)", "2(14б)",
                "Первичный  балл", "Отметка", "Отмётка по журналу"]
    ds, _ = run(tmp_path, xlsx(tmp_path / "f.xlsx", {"РУ 4 Индивидуальные ре": sheet}))
    assert len(ds.vpr) == 4 and sorted(ds.vpr_tasks["max_score"].unique()) == [10, 14]


# ---- ФИС ОКО aggregates -----------------------------------------------------------------------------
HEADER_BLOCK = [[None], [], ["ВПР 2024 Математика 5 класс"], ["Предмет:", "Математика"],
                ["Максимальный первичный балл:", 20], ["Дата:", "20.04.2024"], []]


def test_mark_statistics(tmp_path):
    sheet = [["Статистика по отметкам"]] + HEADER_BLOCK[1:] + [
        ["Группы участников", "Кол-во ОО", "Кол-во участников", 2, 3, 4, 5],
        ["Вся выборка", 35589, 1722202, 5.06, 32.92, 44.33, 17.69],
        ["Алтайский край", 560, 30216, 13.44, 44.15, 36.28, 6.14],
        ["Верхний муниципальный район(reg22_m001)", 47, 3162, "13,57", 46.9, 33.65, 5.88],
        ["МБОУ «СОШ №1»(edu220001)", None, 89, 12.36, 52.81, 26.97, 7.87],
    ]
    ds, _ = run(tmp_path, xlsx(tmp_path / "Ф3.xlsx", {"МА 5 Статистика по отметкам": sheet}))
    st = ds.vpr_mark_stats
    assert rows(st, ["group_level", "group_id", "schools_count", "participants", "pct_2"]) == [
        ("вся выборка", None, 35589, 1722202, 5.06), ("регион", None, 560, 30216, 13.44),
        ("муниципалитет", "reg22_m001", 47, 3162, 13.57), ("школа", "edu220001", None, 89, 12.36)]
    school = ds.schools.set_index("school_id").loc["edu220001"]
    assert school.municipality_id == "reg22_m001"       # the school row follows its municipality row


def test_journal_comparison_wide_layout(tmp_path):
    sheet = [["Сравнение отметок с отметками по журналу"]] + HEADER_BLOCK[1:] + [
        ["Группы участников", "Кол-во участников(всего)",
         "Понизили (Отметка < Отметка по журналу) %", "Понизили (Отметка < Отметка по журналу) Кол-во участников",
         "Подтвердили (Отметка = Отметке по журналу) %", "Подтвердили (Отметка = Отметке по журналу) Кол-во участников",
         "Повысили (Отметка > Отметка по журналу) %", "Повысили (Отметка > Отметка по журналу) Кол-во участников"],
        ["Алтайский край", 29589, 37.22, 11011, 60.67, 17951, 2.11, 624],
        ["МБОУ «СОШ №1»(edu220001)", 93, 55.91, 52, 39.78, 37, 4.3, 4],
    ]
    ds, _ = run(tmp_path, xlsx(tmp_path / "x.xlsx", {"МА 5 Сравнение отметок с отметк": sheet}))
    assert rows(ds.vpr_journal_stats, ["group_level", "participants", "lower_n", "confirm_pct", "higher_n"]) == [
        ("регион", 29589, 11011, 60.67, 624), ("школа", 93, 52, 39.78, 4)]


def test_journal_comparison_long_layout(tmp_path):
    sheet = [["Сравнение отметок с отметками по журналу"]] + HEADER_BLOCK[1:] + [
        ["Группы участников", "Кол-во участников", "%"],
        ["МБОУ «СОШ №1»(edu220001)"],
        ["Понизили (Отметка < Отметка по журналу)", 52, 55.91],
        ["Подтвердили (Отметка = Отметке по журналу)", 37, 39.78],
        ["Повысили (Отметка > Отметка по журналу)", 4, 4.3],
        ["Всего", 93, 100],
    ]
    ds, _ = run(tmp_path, xlsx(tmp_path / "x.xlsx", {"Лист1": sheet}))
    assert rows(ds.vpr_journal_stats, ["group_id", "participants", "lower_n", "lower_pct", "confirm_n", "higher_pct"]) == [
        ("edu220001", 93, 52, 55.91, 37, 4.3)]


# ---- «Форма сбора результатов» and regional exports ------------------------------------------------
FORM_2026 = [
    ["Код участника", "Вариант", "1 (10б)", "2 (14б)", "Порядковый номер класса",
     "Отметка за предыдущий триместр/ четверть/полугодие", "Итого баллов"],
    [40001, 1, 10, 12, 1, 5, "=SUM(C2:D2)"],
    [40002, "2", "X ", 12, 2, "нет отметки", None],
    [40003, "отсутствовал", None, None, 1, 4, None],
    [None, None, None, None, None, None, 0],            # template rows of the form
    [None, None, None, None, None, None, 0],
]


def test_collection_form_2026_mark_from_the_years_scale(tmp_path):
    name = "Форма сбора результатов Русский язык 4 класс ВПР 2026 edu220001.xlsx"
    book = {"Протокол": FORM_2026, "Служебный": [["Вариант"], [1], [2], ["отсутствовал"]]}
    ds, report = run(tmp_path, xlsx(tmp_path / name, book))
    assert rows(ds.vpr.sort_values("participant_code"),
                ["school_id", "class_label", "absent", "primary_score", "mark", "journal_mark"]) == [
        ("edu220001", "4-1", False, 22, 5, 5),     # 2026 RU-4: «5» from 21
        ("edu220001", "4-2", False, 12, 3, None),  # «3» 10–15
        ("edu220001", "4-1", True, None, None, 4)]
    f = report["files"][0]
    assert f["sheets"]["Служебный"].startswith("не распознан")
    assert f["quirks"]["пустые строки шаблона пропущены"] == 2
    assert f["quirks"]["год, предмет, класс или школа взяты из имени файла"] == 1
    assert not ds.has("vpr_tasks")                 # the form has no task levels


def test_collection_form_2022_regional_export(tmp_path):
    sheet = [["Пользователь", "Код региона", "Регион", "Муниципалитет", "Школа", "Дата загрузки", "Код", "Вариант",
              "1 (10б)", "2 (14б)", "Наименование класса", "Пол", "Отметка за предыдущий триместр/ четверть/полугодие",
              "Итого баллов"],
             ["u1", "reg220000 | Алтайский край", "Алтайский край", "reg22_m067 | город Славгород",
              'edu224312 | МБОУ "СОШ №10"', "15.04.2022", 40001, 1, 5, 6, "4 а", "м", "4", 11],
             ["u1", "reg220000 | Алтайский край", "Алтайский край", "reg22_m067 | город Славгород",
              'edu224312 | МБОУ "СОШ №10"', "15.04.2022", 40002, "1", 1, 1, "А", "ж", 3, 2]]
    ds, _ = run(tmp_path, xlsx(tmp_path / "4" / "Русский язык.xlsx", {"Протокол": sheet, "Классы": [["Пользователь"]]}))
    # 2022 has no RU-4 scale: the 2021 one (max 38; «3» from 14) is carried over and said so
    assert rows(ds.vpr.sort_values("participant_code"), ["year", "grade", "class_label", "primary_score", "mark"]) == [
        (2022, 4, "4А", 11, 2), (2022, 4, "4А", 2, 2)]
    s = ds.schools.iloc[0]
    assert (s.school_id, s.school_name, s.municipality_id, s.settlement) == ("edu224312", 'МБОУ "СОШ №10"', "reg22_m067", "город")


def test_regional_export_2021(tmp_path):
    head = ["логин школы", "регион", "номер обучающегося", "код обучающегося",
            "отметка за предыдущую четверть/триместр", "пол", "класс", "вариант", "всего баллов",
            "балл за 1", "балл за 2", "Учебник"]
    sheet = [head,
             ["sch220206", "город Барнаул", 1, 50001, "4", "м", "а", 1, 16, 7, 9, "x"],
             ["sch220206", "город Барнаул", 2, 50002, "нет отметки", "ж", "5 б", "отсутствовал", None, None, None, None],
             ["sch220207", "город Барнаул", 1, 50001, 3, None, "Б(5)", 2, 6, "не пройд.", 6, None]]
    ds, report = run(tmp_path, xlsx(tmp_path / "Проведение работы по математике, 5 класс. ВПР 2021.xlsx", {"Sheet": sheet}))
    assert rows(ds.vpr.sort_values(["school_id", "participant_code"]),
                ["school_id", "subject", "class_label", "absent", "primary_score", "mark", "journal_mark"]) == [
        ("sch220206", "Математика", "5А", False, 16, 5, 4),     # MA-5 2021: «5» from 15
        ("sch220206", "Математика", "5Б", True, None, None, None),
        ("sch220207", "Математика", "5Б", False, 6, 2, 3)]
    assert set(ds.schools["municipality_id"]) == {"город Барнаул"}   # no reg…_m… id in this layout
    assert "код муниципалитета = его название (в файле нет reg…_m…)" in report["schools"]["defaults"]


def test_regional_export_2020_latin_codes(tmp_path):
    sheet = [["groups", "user", "id", "code", "otc", "gender", "klass", "var-1", "var-2", "sum", "a-1-grade", "Учебник", "a-2-grade"],
             ["g1,g2", "sch220206", 1, 40001, 5, "м", "А", 1, None, 20, 10, None, 10],
             ["g1", "sch220206", 2, 40002, None, "ж", "а", "отсутствовал", None, None, None, None, None]]
    ds, _ = run(tmp_path, xlsx(tmp_path / "ВПР 2020" / "русский язык 4 класс.xlsx", {"Sheet": sheet}))
    assert rows(ds.vpr.sort_values("participant_code"), ["year", "class_label", "absent", "primary_score", "mark"]) == [
        (2020, "4А", False, 20, 3), (2020, "4А", True, None, None)]     # RU-4 2021 scale: «3» 14–23


# ---- РЦОИ protocol ----------------------------------------------------------------------------------
OGE_HEADER = ["№", "Код ОО", "Класс", "Код ППЭ", "Аудитория", "Код МСУ", "Фамилия", "Имя", "Отчество", None,
              "Задания с кратким ответом", None, "Задания с развёрнутым ответом", "Первичный балл", "Оценка"]
EGE_HEADER = ["№", "Код МСУ", "Код ОО", "Класс", "Код ППЭ", "Аудитория", "Фамилия", "Имя", "Отчество", "Серия",
              "Номер", "Задания с кратким ответом", "Задания с развёрнутым ответом", "Первичный балл", "Тестовый балл"]


def protocol_rows():
    return [
        ["Протокол проверки результатов"],
        ["22 - Алтайский край"],
        ["02 - Математика 2026.06.02"],
        OGE_HEADER,
        [1, "edu220001", "9А", 101, 5, "m01", "Квашнина", "Ёлка", "Петровна", None, "+++-2", None, "1(2)2(3)", 8, 3],
        [2, "edu220001", "9Б", 101, 5, "m01", "Дубровский", "Влас", None, None, "-----", None, "0(2)", 0, 2],
        ["Средние", None, None, None, None, None, None, None, None, None, None, None, None, 4, 2.5],
        ["02 - Математика 2026.06.20"],                          # retake: a later block of the same subject
        OGE_HEADER,
        [1, "edu220001", "9Б", 101, 5, "m01", "ДУБРОВСКИЙ", "Влас", None, None, "+++++", None, "2(2)1(3)", 8, 3],
    ]


def test_rcoi_oge_protocol_pseudonymised_with_attempts(tmp_path):
    f = xls(tmp_path / "протокол.xls", {"Лист1": protocol_rows()})
    result = ingest([f], tmp_path / "ds", secret_file=_secret(tmp_path))
    assert result.exit_code == 0, result.report.to_text()
    gia = load_dataset(tmp_path / "ds").gia.sort_values(["attempt", "primary_score"])
    assert rows(gia, ["year", "exam", "subject", "grade", "period", "attempt", "primary_score", "mark", "short_answers"]) == [
        (2026, "ОГЭ", "Математика", 9, "основной", 1, 0, 2, "-----"),
        (2026, "ОГЭ", "Математика", 9, "основной", 1, 8, 3, "+++-2"),
        (2026, "ОГЭ", "Математика", 9, "основной", 2, 8, 3, "+++++")]
    ids = gia["participant_id"].tolist()
    assert ids[0] == ids[2] != ids[1]                # the same pupil (case of the name ignored) on both dates
    assert all(i.startswith("p") and len(i) == 21 for i in ids)


def _secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n", encoding="utf-8")
    return path


def test_rcoi_ege_blocks_and_levels(tmp_path):
    sheet = [["Протокол проверки результатов"], ["22 - Алтайский край"],
             ["01 - Русский язык 2026.05.29"], EGE_HEADER,
             [1, "m01", "edu220001", "11А", 201, 3, "Сидорова", "Ника", "Ильинична", "0101", "123456", "++-+", "3(3)", 6, 36],
             ["Средние"],
             ["02 - Математика профильная 2026.06.02"], EGE_HEADER,
             [1, "m01", "edu220001", "11А", 201, 3, "Сидорова", "Ника", "Ильинична", "0101", "123456", "++++", "", 4, 27],
             ["22 - Математика базовая 2026.06.03"],
             EGE_HEADER[:-1] + ["Оценка"],
             [1, "m01", "edu220001", "11Б", 201, 3, "Орлов", "Пётр", None, "0102", "654321", "+++++++", None, 7, 3]]
    result = ingest([xlsx(tmp_path / "e.xlsx", {"ЕГЭ": sheet})], tmp_path / "ds", secret_file=_secret(tmp_path))
    assert result.exit_code == 0, result.report.to_text()
    gia = load_dataset(tmp_path / "ds").gia.sort_values("primary_score")
    assert rows(gia, ["exam", "subject", "level", "grade", "primary_score", "test_score", "mark"]) == [
        ("ЕГЭ", "Математика", "профильная", 11, 4, 27, None),
        ("ЕГЭ", "Русский язык", None, 11, 6, 36, None),
        ("ЕГЭ", "Математика", "базовая", 11, 7, None, 3)]


def test_rcoi_secret_from_environment_gives_stable_ids(tmp_path, monkeypatch):
    monkeypatch.setenv("SHNOR_SECRET", SECRET)
    f = xls(tmp_path / "p.xls", {"Лист1": protocol_rows()})
    first = ingest([f], tmp_path / "a").report
    again = ingest([f], tmp_path / "b").report
    assert first.written and again.written
    a = pd.read_csv(tmp_path / "a" / "gia.csv")["participant_id"]
    b = pd.read_csv(tmp_path / "b" / "gia.csv")["participant_id"]
    assert a.tolist() == b.tolist()
    monkeypatch.setenv("SHNOR_SECRET", SECRET + "-другой")
    ingest([f], tmp_path / "c")
    assert set(pd.read_csv(tmp_path / "c" / "gia.csv")["participant_id"]).isdisjoint(a)


# ---- ОО-1 раздел 3 ------------------------------------------------------------------------------------
def oo1_rows():
    numbers = lambda n: list(range(1, n + 1))  # noqa: E731
    return [
        ["Форма № ОО-1"],
        ["Сведения об организации, осуществляющей подготовку по образовательным программам"],
        ["по состоянию на 20 сентября 2025 г."],
        ["Организация: МБОУ «Лицей № 2» (edu220002)"],
        ["Раздел 3. Сведения о персонале организации"],
        ["3.1. Распределение численности персонала по уровню образования, занятости и полу"],
        ["Наименование показателей", "№ строки", "Всего, человек"],
        numbers(16),
        ["Педагогические работники – всего", "06", 12, 11, 10, None, None, None, None, 1, 1, None, 3, 4, 10, 11.5],
        ["учителя – всего", "07", 10, 9, 9, None, None, None, None, 1, 1, None, 3, 3, 8, 10.0],
        ["математики", 14, 3, 3, 3, None, None, None, None, None, None, None, 1, 1, 2, "3,5"],
        ["3.4. Движение работников"],
        ["Наименование показателей", "№ строки", "Число ставок по штату, ед."],
        numbers(13),
        ["учителя – всего", "07", 12, 10, 10, 9, 2, 0, 1, 1, 1, 10, 2],
        ["математики", "14", 4, 3, 3, 3, 1, 0, 1, 0, 0, 3, 1],
        ["русского языка и литературы", "09", 8, 7, 7, 6, 1, 0, 0, 1, 1, 7, 1],
        ["педагоги-психологи", "35", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ]


def test_oo1_section3_to_teacher_counts_and_staffing(tmp_path):
    ds, _ = run(tmp_path, xlsx(tmp_path / "oo1.xlsx", {"Р3": oo1_rows()}))
    staffing = ds.staffing.sort_values(["position", "subject"])
    assert rows(staffing, ["year", "school_id", "position", "subject", "rates_planned", "rates_filled", "vacancies"]) == [
        (2025, "edu220002", "педагог-психолог", None, 1.0, 0.0, 1),
        (2025, "edu220002", "учитель", "Математика", 4.0, 3.0, 1),
        (2025, "edu220002", "учитель", "Русский язык", 8.0, 7.0, 1)]      # row 07 is their total: not repeated
    tc = ds.teacher_counts.set_index(["section", "row_code", "column_code"])["value"]
    assert tc[("3.1", "07", 13)] == 3 and tc[("3.1", "14", 16)] == 3.5 and tc[("3.4", "07", 13)] == 2
    assert ("3.1", "14", 10) not in tc.index                               # blank cells mean 0 and are not stored
    assert ds.schools.iloc[0].school_type == "лицей"


# ---- the schools reference file ---------------------------------------------------------------------------
def test_schools_file_gives_settlement_type_and_rcoi_codes(tmp_path):
    ref = tmp_path / "schools.csv"
    ref.write_text("school_id,settlement,school_type,rcoi_code,students\n"
                   "edu220001,город,гимназия,220001,640\n", encoding="utf-8")
    sheet = protocol_rows()
    for row in sheet:
        if len(row) > 1 and row[1] == "edu220001":
            row[1] = "220001"                                             # РЦОИ «Код ОО» differs from the login
    f1 = xlsx(tmp_path / "f1.xlsx", {"Ф1": f1_rows()})
    pr = xls(tmp_path / "p.xls", {"Лист1": sheet})
    result = ingest([f1, pr], tmp_path / "ds", schools_file=ref, secret_file=_secret(tmp_path))
    assert result.exit_code == 0, result.report.to_text()
    ds = load_dataset(tmp_path / "ds")
    assert rows(ds.schools, ["school_id", "settlement", "school_type", "students", "municipality_id"]) == [
        ("edu220001", "город", "гимназия", 640, "reg22_m001")]
    assert set(ds.gia["school_id"]) == {"edu220001"}


def test_per_pupil_results_are_checked_against_the_mark_statistics(tmp_path):
    stats = [["Статистика по отметкам"], [], ["ВПР 2026 Русский язык 4 класс"], [], [], [], [],
             ["Группы участников", "Кол-во ОО", "Кол-во участников", 2, 3, 4, 5],
             ["МБОУ «СОШ №1 с.Верхнее»(edu220001)", None, 3, 33.33, 33.33, 0, 33.33]]   # marks 5, 3, 2 of the Ф1
    f1 = xlsx(tmp_path / "f1.xlsx", {"Ф1": f1_rows()})
    ds, report = run(tmp_path, f1, xlsx(tmp_path / "f3.xlsx", {"Ф3": stats}))
    assert report["checks"] == ["ВПР по участникам и «Статистика по отметкам» ФИС ОКО: сопоставлено 1 школ×работ, "
                                "расхождений больше 0,5 п.п.: 0"]
    stats[-1][3:] = [50, 16.67, 0, 33.33]
    result = ingest([f1, xlsx(tmp_path / "f3b.xlsx", {"Ф3": stats})], tmp_path / "ds2")
    assert result.report.checks[0].endswith("расхождений больше 0,5 п.п.: 1")


def test_protocol_row_without_a_score_is_skipped_and_counted(tmp_path, monkeypatch):
    monkeypatch.setenv("SHNOR_SECRET", SECRET)
    sheet = protocol_rows()
    sheet[5][13] = None                                                # «Дубровский»: no primary score
    ds, report = run(tmp_path, xls(tmp_path / "p.xls", {"Лист1": sheet}))
    assert len(ds.gia) == 2
    assert report["quirks"]["строка протокола без первичного балла пропущена"] == 1
