"""What `shnor ingest` refuses, and how: each rejection names the file, the sheet and what was
expected, in Russian; one bad file does not stop the others; nothing partial is ever written."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from shnor_utils.cli import main
from shnor_utils.errors import ParameterError
from shnor_utils.data.ingest import ingest

from .realfiles import f1_rows, xls, xlsx
from .test_ingest import protocol_rows


def rejected(result, name):
    entry = next(f for f in result.report.files if f.file.endswith(name))
    assert entry.status == "отклонён"
    return entry.error


def test_unknown_layout_names_file_sheets_and_what_was_expected(tmp_path):
    f = xlsx(tmp_path / "Ф1_Индивидуальные результаты.xlsx", {"Лист1": [["Список класса"], ["Иванов", 5]]})
    result = ingest([f], tmp_path / "ds")
    error = rejected(result, "Ф1_Индивидуальные результаты.xlsx")     # the name says Ф1, the content does not
    assert "формат файла не распознан" in error and "«Лист1»" in error and "Индивидуальные результаты" in error
    assert result.exit_code == 2 and not (tmp_path / "ds").exists()


def test_known_layout_with_a_missing_column(tmp_path):
    sheet = [row[:10] for row in f1_rows()]                             # «Отметка по журналу» cut off
    result = ingest([xlsx(tmp_path / "f1.xlsx", {"РУ 4 Индивидуальные результаты": sheet})], tmp_path / "ds")
    error = rejected(result, "f1.xlsx")
    assert "лист «РУ 4 Индивидуальные результаты»" in error
    assert "нет столбца «Отметка по журналу»" in error and "ожидалось: столбцы «ОО»" in error


def test_form_without_year_subject_or_school_says_how_to_fix(tmp_path):
    sheet = [["Код участника", "Вариант", "1 (1б)", "Порядковый номер класса",
              "Отметка за предыдущий триместр/ четверть/полугодие", "Итого баллов"], [1, 1, 1, 1, 5, 1]]
    result = ingest([xlsx(tmp_path / "форма.xlsx", {"Протокол": sheet})], tmp_path / "ds")
    error = rejected(result, "форма.xlsx")
    assert "нет сведений: год, предмет, класс, логин школы" in error and "ВПР 2026 edu220001.xlsx" in error


@pytest.mark.parametrize("content, words", [
    (b"not a workbook at all", "не является книгой Excel"),
    (b"PK\x03\x04" + os.urandom(200), "повреждён"),                   # an xlsx header, then garbage
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(600), "повреждён"),   # an xls header, then garbage
])
def test_corrupt_file(tmp_path, content, words):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    error = rejected(ingest([path], tmp_path / "ds"), "broken.xlsx")
    assert words in error and "broken.xlsx" in error


def test_oversize_file_is_refused_before_parsing(tmp_path):
    huge = tmp_path / "huge.xlsx"
    with huge.open("wb") as fh:                                       # 50 MB, sparse: instant to make
        fh.write(b"PK\x03\x04")
        fh.truncate(50 * 1024 * 1024)
    error = rejected(ingest([huge], tmp_path / "ds"), "huge.xlsx")
    assert "файл слишком большой: 50.0 МБ при пределе 30 МБ" in error
    small = xlsx(tmp_path / "f1.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})
    assert "слишком большой" in rejected(ingest([small], tmp_path / "ds2", max_mb=0.001), "f1.xlsx")


def test_one_bad_file_does_not_stop_the_others(tmp_path, capsys):
    good = xlsx(tmp_path / "good.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"garbage")
    code = main(["ingest", str(bad), str(good), "--out", str(tmp_path / "ds")])
    out = capsys.readouterr().out
    assert code == 1
    assert "принято: 1; отклонено: 1" in out and "✗" in out and "bad.xlsx" in out
    assert len(pd.read_csv(tmp_path / "ds" / "vpr.csv")) == 4


def test_nothing_partial_is_written_when_the_result_fails_the_contract(tmp_path):
    good = xlsx(tmp_path / "good.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})
    assert ingest([good], tmp_path / "ds").exit_code == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "ds").iterdir()}
    sheet = f1_rows()
    sheet[9][8] = 30                                                  # primary score above the RU-4 2026 maximum 24
    over = xlsx(tmp_path / "over.xlsx", {"РУ 4 Индивидуальные результаты": sheet})
    result = ingest([over], tmp_path / "ds", strict=True)             # all-or-nothing
    assert result.exit_code == 2 and "--strict" in result.report.error
    assert {p.name: p.read_bytes() for p in (tmp_path / "ds").iterdir()} == before   # the old dataset intact
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ds")] == []      # no temp folder left
    listed = pd.read_csv(tmp_path / "ds.rejected_rows.csv", encoding="utf-8-sig")    # beside, not inside
    assert listed[["file", "sheet", "row", "column"]].values.tolist() == [
        [str(over), "РУ 4 Индивидуальные результаты", 10, "primary_score"]]
    assert "первичный балл больше максимума шкалы ВПР 2026 «Русский язык», 4 класс" in listed["rule"][0]
    assert (tmp_path / "ds.ingest_report.html").exists() and (tmp_path / "ds.ingest_report.json").exists()
    # without --strict: 1 of 4 rows is 25 % > 5 % (ingest.yaml quarantine_share): the file is rejected whole
    result = ingest([over], tmp_path / "ds")
    assert result.exit_code == 2 and "отклонён целиком: в карантине 1 из 4 строк" in rejected(result, "over.xlsx")
    assert "неверная шкала" in rejected(result, "over.xlsx")
    assert {p.name: p.read_bytes() for p in (tmp_path / "ds").iterdir()} == before


def test_protocol_without_a_secret_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("SHNOR_SECRET", raising=False)
    f = xls(tmp_path / "p.xls", {"Лист1": protocol_rows()})
    with pytest.raises(ParameterError, match="секрета для псевдонимизации нет"):
        ingest([f], tmp_path / "ds")
    assert not (tmp_path / "ds").exists()
    monkeypatch.setenv("SHNOR_SECRET", "короткий")
    with pytest.raises(ParameterError, match="слишком короткий"):
        ingest([f], tmp_path / "ds")


def test_a_folder_that_is_not_an_ingest_result_is_not_replaced(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.docx").write_bytes(b"precious")
    good = xlsx(tmp_path / "good.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})
    with pytest.raises(ParameterError, match="не является результатом shnor ingest"):
        ingest([good], tmp_path / "docs")
    assert (tmp_path / "docs" / "thesis.docx").read_bytes() == b"precious"


def test_zip_bomb_is_refused_by_its_unpacked_size(tmp_path):
    rows = f1_rows() + [[None] * 10 + ["x" * 200] for _ in range(3000)]       # ~0.7 MB of XML, packs tiny
    f = xlsx(tmp_path / "bomb.xlsx", {"РУ 4 Индивидуальные результаты": rows})
    assert f.stat().st_size < 100_000
    error = rejected(ingest([f], tmp_path / "ds", max_mb=0.05), "bomb.xlsx")
    assert "после распаковки" in error
