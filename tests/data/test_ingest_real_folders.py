"""`shnor ingest` on export folders as regions really keep them (issue 13): one test per quirk seen in
real files — corrupt rows quarantined (not the whole dataset), one bad file among good ones, lock and
hidden files, a scale maximum the file's header contradicts, foreign languages with repeated codes,
year/grade/subject in folders, «Итого баллов» ≠ task sum, overflow rows — and formula cells without a
saved value (issue 17 point 8). Expectations are counted by hand from the fixtures."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from shnor_utils.cli import main
from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.formats.workbook import open_workbook
from shnor_utils.data.ingest import ingest
from shnor_utils.methodology import load_methodology

from .realfiles import (FORM_2022_HEAD, copied_sex_and_class, f1_rows, f1_work_rows, form_2022_pupil, overflow,
                        regional_2020_rows, regional_2021_pupil, regional_2021_rows, xlsx)

MATH5 = "Проведение работы по математике, 5 класс. ВПР 2021.xlsx"       # MA-5 2021: max 20


def rejected_rows(path):
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"sheet": str})


def entry(result, name):
    return next(f for f in result.report.files if f.file.endswith(name))


def overlay(tmp_path, **files):
    folder = tmp_path / "overlay"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return load_methodology(folder)


# ---- 1. row quarantine ------------------------------------------------------------------------------
def bad_export(tmp_path, good=60, name=MATH5):
    pupils = [regional_2021_pupil(i) for i in range(1, good + 1)]
    pupils += [overflow(regional_2021_pupil(901), extra="Иванов Иван Иванович"),   # row good+2
               copied_sex_and_class(regional_2021_pupil(902)),                    # row good+3
               regional_2021_pupil(903, t1=11, t2=10)]                             # row good+4: 21 > 20
    return xlsx(tmp_path / name, {"Sheet": regional_2021_rows(pupils)})


def test_corrupt_rows_are_quarantined_and_the_rest_loads(tmp_path):
    f = bad_export(tmp_path)
    result = ingest([f], tmp_path / "ds")
    assert result.exit_code == 1                                   # something quarantined, the rest written
    e = entry(result, MATH5)
    assert (e.status, e.read, e.loaded, e.quarantined) == ("принят", 63, 60, 3)
    assert len(load_dataset(tmp_path / "ds").vpr) == 60
    listed = rejected_rows(tmp_path / "ds" / "rejected_rows.csv")
    assert listed[["file", "sheet", "row"]].values.tolist() == [[str(f), "Sheet", r] for r in (62, 63, 64)]
    assert listed["column"].tolist() == ["столбец 15", "задание 1", "primary_score"]
    assert listed["rule"][0].startswith("в строке больше значений, чем столбцов в шапке")
    assert listed["rule"][1].startswith("в столбце задания значение другого столбца")
    assert "первичный балл больше максимума шкалы ВПР 2021 «Математика», 5 класс" in listed["rule"][2]
    assert "от 0 до 20" in listed["rule"][2] and "найдено 21" in listed["rule"][2]
    assert "Иванов" not in listed.to_csv() and "(скрыто)" in listed["raw"][0]     # personal data removed
    html = (tmp_path / "ds" / "ingest_report.html").read_text(encoding="utf-8")
    assert "Строки в карантине: 3" in html and "rejected_rows.csv" in html
    report = json.loads((tmp_path / "ds" / "ingest_report.json").read_text(encoding="utf-8"))
    assert report["quarantined"] == 3 and report["files"][0]["loaded"] == 60
    assert "строк в карантине: 3" in result.report.to_text()


def test_a_file_past_the_quarantine_share_is_rejected_whole_with_its_likely_cause(tmp_path):
    f = bad_export(tmp_path, good=50)                              # 3 of 53 = 5.7 % > 5 %
    good = xlsx(tmp_path / "f1.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})
    result = ingest([f, good], tmp_path / "ds")
    assert result.exit_code == 1
    e = entry(result, MATH5)
    assert e.status == "отклонён" and e.loaded == 0
    assert "в карантине 3 из 53 строк (5,7 %, допустимо 5 %" in e.error and "Вероятная причина" in e.error
    assert set(load_dataset(tmp_path / "ds").vpr["subject"]) == {"Русский язык"}   # the other file loaded


def test_strict_is_all_or_nothing_and_still_writes_the_report(tmp_path):
    result = ingest([bad_export(tmp_path)], tmp_path / "ds", strict=True)
    assert result.exit_code == 2 and "--strict" in result.report.error
    assert not (tmp_path / "ds").exists()
    assert len(rejected_rows(tmp_path / "ds.rejected_rows.csv")) == 3
    html = (tmp_path / "ds.ingest_report.html").read_text(encoding="utf-8")
    assert "Набор данных НЕ записан" in html


# ---- 2. one bad file, lock files, hidden files, exit codes ---------------------------------------
def test_a_folder_with_one_bad_file_lock_and_hidden_files(tmp_path):
    exports = tmp_path / "exports"
    xlsx(exports / "2026" / "f1.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})
    (exports / "2026" / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    (exports / "2026" / "~$f1.xlsx").write_bytes(b"lock")
    (exports / ".cache").mkdir()
    (exports / ".cache" / "old.xlsx").write_bytes(b"old")
    (exports / "readme.txt").write_text("notes", encoding="utf-8")
    assert main(["ingest", str(exports), "--out", str(tmp_path / "ds")]) == 1       # something rejected
    report = json.loads((tmp_path / "ds" / "ingest_report.json").read_text(encoding="utf-8"))
    assert [(f["file"].split("/")[-1], f["status"]) for f in report["files"]] == [
        ("broken.xlsx", "отклонён"), ("f1.xlsx", "принят")]
    reasons = {s["file"].split("/")[-1]: s["reason"] for s in report["skipped"]}
    assert reasons["~$f1.xlsx"].startswith("файл блокировки Excel")
    assert reasons["old.xlsx"].startswith("скрытый файл")
    assert reasons["readme.txt"].startswith("не книга Excel")
    assert len(load_dataset(tmp_path / "ds").vpr) == 4
    assert main(["ingest", str(exports / "2026" / "f1.xlsx"), str(exports / "2026" / "~$f1.xlsx"),
                 "--out", str(tmp_path / "ok")]) == 0          # a lock file is a note, not a failure
    assert main(["ingest", str(exports / "2026" / "broken.xlsx"), "--out", str(tmp_path / "none")]) == 2
    assert (tmp_path / "none.ingest_report.html").exists() and not (tmp_path / "none").exists()


# ---- 3. scale maximum from the file's header ------------------------------------------------------
LANG11 = [5, 5, 6, 6, 1, 2, 3, 2, 2]                               # real ВПР 2021 ИЯ-11 header: 32


def test_the_files_task_maxima_win_over_a_wrong_configured_maximum(tmp_path):
    meth = overlay(tmp_path, vpr_scales='scales:\n  - {year: 2021, subject: "Иностранный язык", grade: 11, max: 30, '
                                        'min: {3: 11, 4: 18, 5: 25}, kind: secondary, source: "старая запись"}\n')
    pupils = [(1101, [5, 5, 6, 6, 1, 2, 3, 2, 1], 31, 5), (1102, [5, 5, 6, 6, 1, 2, 3, 2, 2], 32, 5),
              (1103, [1, 1, 1, 1, 0, 0, 0, 0, 0], 4, 2)]
    f = xlsx(tmp_path / "ia11.xlsx", {"АЯ 11 Индивидуальные результаты":
                                      f1_work_rows(2021, "Английский язык", 11, LANG11, pupils)})
    result = ingest([f], tmp_path / "ds", methodology=meth)
    assert result.exit_code == 0, result.report.to_text()
    # the dataset loads with the corrected defaults (32); the old overlay entry must be corrected as the report says
    assert sorted(load_dataset(tmp_path / "ds").vpr["primary_score"]) == [4, 31, 32]
    [scale] = result.report.scale_disagreements()
    assert (scale["configured"], scale["file_max"], scale["used"], scale["tasks"]) == (30, 32, 32, "5+5+6+6+1+2+3+2+2")
    assert scale["source"] == "старая запись"
    assert any("для проверки взят максимум файла" in w for w in entry(result, "ia11.xlsx").warnings)
    assert "Максимум шкалы: файл и методика расходятся" in (tmp_path / "ds" / "ingest_report.html").read_text("utf-8")


def test_the_configured_maximum_of_ia11_2021_is_corrected_with_its_source():
    scale = load_methodology().vpr_scale(2021, "Английский язык", 11)   # the language uses its group's scale
    assert scale.max == 32 and "5+5+6+6+1+2+3+2+2" in scale.source


# ---- 4. foreign languages, duplicates -------------------------------------------------------------
def lang_file(tmp_path, folder, words, scores):
    pupils = [regional_2021_pupil(i, code=1100 + i, t1=s, t2=1) for i, s in enumerate(scores, 1)]
    return xlsx(tmp_path / folder / f"Проведение работы по {words}, 11 класс. ВПР 2021.xlsx",
                {"Sheet": regional_2021_rows(pupils)})


def test_each_language_is_its_own_subject_and_no_row_is_dropped_silently(tmp_path):
    scores = [3] * 25
    en = lang_file(tmp_path, "a", "английскому языку", scores)
    lang_file(tmp_path, "a", "немецкому языку", [4] * 25)
    lang_file(tmp_path, "a", "французскому языку", [5] * 25)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / en.name).write_bytes(en.read_bytes())                  # the same export twice: exact copies
    lang_file(tmp_path, "c", "немецкому языку", [4] * 24 + [9])              # a re-export: pupil 1125 differs
    result = ingest([tmp_path / "a", tmp_path / "b", tmp_path / "c"], tmp_path / "ds")
    assert result.exit_code == 1
    vpr = load_dataset(tmp_path / "ds").vpr
    assert vpr.groupby("subject").size().to_dict() == {"Английский язык": 25, "Немецкий язык": 24,
                                                       "Французский язык": 25}
    assert result.report.total_quirks()["точная копия записи (тот же участник, те же данные) учтена один раз (vpr)"] == 25 + 24
    listed = rejected_rows(tmp_path / "ds" / "rejected_rows.csv")
    assert len(listed) == 2 and set(listed["row"]) == {26}                   # 1125 in both German files
    assert listed["rule"].str.startswith("повторная запись с другими данными").all()
    assert entry(result, "b/" + en.name).duplicates == 25


# ---- 5. year, grade, subject, wave from the folders; overrides ----------------------------------
def test_year_grade_and_subject_from_the_folder_path_and_the_autumn_of_2020(tmp_path):
    sheet = regional_2020_rows([("sch220206", 70001, 5, "м", "8а", 1, 20, 10, 10),
                                ("sch220206", 70002, 4, "ж", "8б", "отсутствовал", None, None, None)])
    exports = tmp_path / "exports"
    xlsx(exports / "2020" / "7" / "Английский язык.xlsx", {"Sheet": sheet})
    result = ingest([exports], tmp_path / "ds")
    assert result.exit_code == 0, result.report.to_text()
    vpr = load_dataset(tmp_path / "ds").vpr
    assert set(map(tuple, vpr[["year", "grade", "subject", "wave"]].values.tolist())) == {
        (2020, 7, "Английский язык", "осень")}
    assert result.report.total_quirks()["год, класс или предмет взяты из папок пути к файлу"] == 1
    result = ingest([exports], tmp_path / "ds", year=2021, grade=8, wave="весна")
    vpr = load_dataset(tmp_path / "ds").vpr
    assert set(map(tuple, vpr[["year", "grade", "wave"]].values.tolist())) == {(2021, 8, "весна")}


# ---- 8. «Итого баллов» ≠ task sum -----------------------------------------------------------------
def form_2022(tmp_path):
    sheet = [FORM_2022_HEAD,
             form_2022_pupil("edu224301", 40001, 5, 6, 11),
             form_2022_pupil("edu224301", 40002, 5, 6, 13),     # total 13, tasks 11
             form_2022_pupil("edu224302", 40001, 2, 2, 4)]
    return xlsx(tmp_path / "2022" / "4" / "Русский язык.xlsx", {"Протокол": sheet})


def test_totals_that_disagree_with_task_sums_are_shown_per_file_and_school(tmp_path):
    f = form_2022(tmp_path)
    result = ingest([f], tmp_path / "ds")
    e = entry(result, "Русский язык.xlsx")
    assert e.totals == {"edu224301": {"compared": 2, "differ": 1}, "edu224302": {"compared": 1, "differ": 0}}
    assert e.totals_share == (3, 1)
    vpr = load_dataset(tmp_path / "ds").vpr.sort_values(["school_id", "participant_code"])
    assert vpr["primary_score"].tolist() == [11, 13, 4]                       # total_rule: file (default)
    html = (tmp_path / "ds" / "ingest_report.html").read_text(encoding="utf-8")
    assert html.index("«Итого баллов» не равно сумме") < html.index("<h2>Файлы</h2>")   # shown first
    assert "edu224301" in html and "50,0" in html
    meth = overlay(tmp_path, ingest="total_rule:\n  value: tasks\n  source: региональное решение\n")
    ingest([f], tmp_path / "ds", methodology=meth)
    vpr = load_dataset(tmp_path / "ds").vpr.sort_values(["school_id", "participant_code"])
    assert vpr["primary_score"].tolist() == [11, 11, 4]


# ---- 9. overflow rows (Ф1) ----------------------------------------------------------------------
def test_an_overflow_row_of_f1_is_quarantined_not_truncated(tmp_path):
    sheet = f1_rows()
    sheet[10] = sheet[10] + ["сдвиг"]                                # row 11: a value right of «Отметка по журналу»
    pupils = [["edu220001", "Верхний муниципальный район(reg22_m001)", "МБОУ «СОШ №1 с.Верхнее»(edu220001)",
               40100 + i, 1, 1, 5, 5, 10, 3, 4] for i in range(30)]
    result = ingest([xlsx(tmp_path / "f1.xlsx", {"РУ 4 Индивидуальные результаты": sheet + pupils})], tmp_path / "ds")
    assert result.exit_code == 1
    listed = rejected_rows(tmp_path / "ds" / "rejected_rows.csv")
    assert listed[["row", "column"]].values.tolist() == [[11, "столбец 12"]]
    ds = load_dataset(tmp_path / "ds")
    assert "40002" not in set(ds.vpr["participant_code"]) and len(ds.vpr) == 33
    assert "40002" not in set(ds.vpr_tasks["participant_code"])


# ---- issue 17 point 8: formulas without a saved value ---------------------------------------------
def test_formula_cells_without_a_saved_value_are_named_by_workbook_sheet_and_cell(tmp_path):
    head = ["Код участника", "Вариант", "1 (10б)", "2 (14б)", "Порядковый номер класса",
            "Отметка за предыдущий триместр/ четверть/полугодие", "Итого баллов"]
    sheet = [head, [40001, 1, 10, 12, 1, 5, "=SUM(C2:D2)"], [40002, 1, 3, 4, 1, 4, "=SUM(C3:D3)"]]
    f = xlsx(tmp_path / "Форма сбора результатов Русский язык 4 класс ВПР 2026 edu220001.xlsx", {"Протокол": sheet})
    [protocol] = open_workbook(f).sheets
    assert (protocol.uncached, protocol.uncached_count) == (("G2", "G3"), 2)
    result = ingest([f], tmp_path / "ds")
    warning = next(w for w in entry(result, f.name).warnings if "формулы без сохранённого значения" in w)
    assert f"книга «{f}», лист «Протокол»: в ячейках G2, G3" in warning
    assert sorted(load_dataset(tmp_path / "ds").vpr["primary_score"]) == [7, 22]   # the task sums


@pytest.mark.parametrize("name", ["~$книга.xlsx", ".скрытая.xlsx"])
def test_lock_and_hidden_files_given_by_name_are_skipped_with_a_note(tmp_path, name):
    f = tmp_path / name
    f.write_bytes(b"x")
    result = ingest([f], tmp_path / "ds")
    assert result.exit_code == 2 and result.report.files == [] and result.report.skipped[0]["file"] == str(f)


# ---- a region as its exports come: three years of folders, one command ----------------------------
def test_a_three_year_region_ingests_into_the_truth_minus_exactly_the_planted_rows(tmp_path):
    import random

    rnd = random.Random(13)
    exports, truth, planted = tmp_path / "exports", [], []
    schools = [f"sch2202{i:02d}" for i in range(1, 11)]
    # 2020, autumn, Latin codes; year and grade only in the folders, subject in the name
    pupils = []
    for i in range(1, 201):
        a1, a2 = rnd.randint(0, 10), rnd.randint(0, 10)
        school = schools[i % 10]
        pupils.append((school, 50000 + i, 4, "м", "6а", 1, a1 + a2, a1, a2))
        truth.append((2020, "осень", "Математика", 5, school, str(50000 + i), a1 + a2))
    xlsx(exports / "2020" / "5" / "Математика.xlsx", {"Sheet": regional_2020_rows(pupils)})
    # 2021: 1,000 pupils of MA-5, one shifted row (0.1 %)
    rows = []
    for i in range(1, 1001):
        t1, t2 = rnd.randint(0, 10), rnd.randint(0, 10)
        school = schools[i % 10]
        rows.append(regional_2021_pupil(i, school=school, t1=t1, t2=t2))
        truth.append((2021, "весна", "Математика", 5, school, str(50000 + i), t1 + t2))
    rows[499] = copied_sex_and_class(rows[499])                      # source row 501
    planted.append((2021, "весна", "Математика", 5, schools[500 % 10], "50500", None))
    math = xlsx(exports / "2021" / MATH5, {"Sheet": regional_2021_rows(rows)})
    # 2021: three languages of grade 11 in one school, the same participant codes
    for words, subject in (("английскому языку", "Английский язык"), ("немецкому языку", "Немецкий язык"),
                           ("французскому языку", "Французский язык")):
        langs = [regional_2021_pupil(i, school="sch220201", code=1100 + i, t1=rnd.randint(0, 20), t2=1)
                 for i in range(1, 31)]
        truth += [(2021, "весна", subject, 11, "sch220201", str(p[3]), p[8]) for p in langs]
        xlsx(exports / "2021" / "11" / f"Проведение работы по {words}, 11 класс. ВПР 2021.xlsx",
             {"Sheet": regional_2021_rows(langs)})
    # 2022: the regional form export, a lock file beside it, one file in an unknown layout
    form = [FORM_2022_HEAD]
    for i in range(1, 41):
        t1, t2 = rnd.randint(0, 10), rnd.randint(0, 14)
        form.append(form_2022_pupil("edu224301", 40000 + i, t1, t2, t1 + t2))
        truth.append((2022, "весна", "Русский язык", 4, "edu224301", str(40000 + i), t1 + t2))
    xlsx(exports / "2022" / "4" / "Русский язык.xlsx", {"Протокол": form})
    (exports / "2022" / "4" / "~$Русский язык.xlsx").write_bytes(b"lock")
    xlsx(exports / "2022" / "список классов.xlsx", {"Лист1": [["Класс", "Учитель"], ["4А", "—"]]})

    code = main(["ingest", str(exports), "--out", str(tmp_path / "region")])
    assert code == 1                                                 # one file rejected, one row quarantined
    vpr = load_dataset(tmp_path / "region").vpr
    got = {(int(r.year), r.wave, r.subject, int(r.grade), r.school_id, r.participant_code, int(r.primary_score))
           for r in vpr.itertuples()}
    expected = {t for t in truth if t[:6] not in {p[:6] for p in planted}}
    assert got == expected and len(vpr) == len(truth) - 1 == 200 + 999 + 90 + 40
    listed = rejected_rows(tmp_path / "region" / "rejected_rows.csv")
    assert listed[["file", "sheet", "row"]].values.tolist() == [[str(math), "Sheet", 501]]
    report = json.loads((tmp_path / "region" / "ingest_report.json").read_text(encoding="utf-8"))
    assert [f["file"].split("/")[-1] for f in report["files"] if f["status"] == "отклонён"] == ["список классов.xlsx"]
    assert [s["file"].split("/")[-1] for s in report["skipped"]] == ["~$Русский язык.xlsx"]


def test_a_contract_failure_names_the_source_file_sheet_and_row_not_the_temporary_table(tmp_path):
    from shnor_utils.data.ingest import _source_of
    from shnor_utils.errors import InputError

    tables = {"vpr": pd.DataFrame({"_file": ["exports/a.xlsx", "exports/b.xlsx"], "_sheet": ["Sheet", "Протокол"],
                                   "_row": [7, 24901]})}
    exc = InputError("первичный балл больше максимума", file=str(tmp_path / ".ds.tmp" / "vpr.csv"), row=3,
                     column="primary_score", got="21")
    message = _source_of(exc, tables, tmp_path / ".ds.tmp")
    assert "exports/b.xlsx" in message and "Протокол" in message and "24901" in message
    assert "vpr.csv" not in message


def test_an_unreadable_file_is_rejected_alone(tmp_path, monkeypatch):
    import shnor_utils.data.ingest as driver

    good = xlsx(tmp_path / "in" / "f1.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})
    locked = xlsx(tmp_path / "in" / "locked.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})
    real = driver.open_workbook

    def fake(path, **kw):
        if path.name == locked.name:
            raise PermissionError(13, "Permission denied")
        return real(path, **kw)

    monkeypatch.setattr(driver, "open_workbook", fake)
    result = ingest([tmp_path / "in"], tmp_path / "ds")
    assert result.exit_code == 1
    assert "не читается: Permission denied" in entry(result, "locked.xlsx").error
    assert entry(result, good.name).loaded == 4
