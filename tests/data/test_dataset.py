"""Loading and validating a dataset: one test per kind of bad input, each checking that the
Russian message names the file, the row and the column."""
from __future__ import annotations

import pandas as pd
import pytest

from shnor_utils.data.dataset import load_dataset
from shnor_utils.errors import InputError

from tests.conftest import SCHOOLS, VPR, write_dataset


def test_valid_dataset_is_typed(tiny):
    ds = load_dataset(tiny)
    assert str(ds.vpr["grade"].dtype) == "Int64"
    assert str(ds.vpr["absent"].dtype) == "boolean"
    assert ds.vpr["absent"].sum() == 1
    assert ds.vpr["wave"].eq("весна").all()          # optional column filled with its default
    assert ds.has("vpr") and not ds.has("gia")
    assert len(ds.files["vpr"].sha256) == 64


def _error(folder) -> InputError:
    with pytest.raises(InputError) as info:
        load_dataset(folder)
    return info.value


def test_missing_folder(tmp_path):
    err = _error(tmp_path / "nope")
    assert "папка набора данных не найдена" in str(err)


def test_missing_required_file(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    VPR.to_csv(folder / "vpr.csv", index=False)
    err = _error(folder)
    assert err.file.endswith("schools.csv") and "нет обязательной таблицы" in str(err)


def test_missing_column(tmp_path):
    err = _error(write_dataset(tmp_path / "d", vpr=VPR.drop(columns="journal_mark")))
    assert err.column == "journal_mark" and err.file.endswith("vpr.csv")
    assert "нет обязательного столбца" in str(err)


def test_wrong_type(tmp_path):
    bad = VPR.astype({"primary_score": "object"})
    bad.loc[2, "primary_score"] = "восемь"
    err = _error(write_dataset(tmp_path / "d", vpr=bad))
    assert (err.row, err.column) == (4, "primary_score")          # header is line 1, row index 2 → line 4
    assert "неверный тип" in str(err) and "восемь" in str(err) and "строка 4" in str(err)


def test_score_out_of_range_of_the_years_scale(tmp_path):
    bad = VPR.copy()
    bad.loc[0, "primary_score"] = 21                                # МА-5 max is 20
    err = _error(write_dataset(tmp_path / "d", vpr=bad))
    assert (err.row, err.column) == (2, "primary_score") and "больше максимума" in str(err)


def test_negative_score(tmp_path):
    bad = VPR.copy()
    bad.loc[1, "primary_score"] = -1
    err = _error(write_dataset(tmp_path / "d", vpr=bad))
    assert (err.row, err.column) == (3, "primary_score") and "вне допустимого диапазона" in str(err)


@pytest.mark.parametrize("column", ["mark", "journal_mark"])
def test_mark_outside_2_to_5(tmp_path, column):
    bad = VPR.copy()
    bad.loc[3, column] = 6
    err = _error(write_dataset(tmp_path / "d", vpr=bad))
    assert (err.row, err.column) == (5, column) and "отметка от 2 до 5" in str(err)


def test_unknown_school(tmp_path):
    bad = VPR.copy()
    bad.loc[7, "school_id"] = "s404"
    err = _error(write_dataset(tmp_path / "d", vpr=bad))
    assert (err.row, err.column) == (9, "school_id") and "s404" in str(err) and "неизвестная школа" in str(err)


def test_duplicate_participant(tmp_path):
    bad = pd.concat([VPR, VPR.iloc[[1]]], ignore_index=True)
    err = _error(write_dataset(tmp_path / "d", vpr=bad))
    assert "повторяющаяся запись" in str(err) and "строках 3 и 11" in str(err)


def test_empty_file(tmp_path):
    folder = write_dataset(tmp_path / "d")
    (folder / "vpr.csv").write_text("")
    err = _error(folder)
    assert err.file.endswith("vpr.csv") and "файл пуст" in str(err)


def test_header_only_file(tmp_path):
    folder = write_dataset(tmp_path / "d")
    (folder / "vpr.csv").write_text(",".join(VPR.columns) + "\n")
    assert "нет строк данных" in str(_error(folder))


def test_cp1251_csv_is_read_and_noted(tmp_path):
    folder = write_dataset(tmp_path / "d")
    (folder / "schools.csv").write_bytes(SCHOOLS.to_csv(index=False).encode("cp1251"))
    ds = load_dataset(folder)
    assert ds.schools.loc[2, "school_name"] == "Сельская школа"
    assert any("cp1251" in n for n in ds.notes)


def test_binary_garbage_is_rejected(tmp_path):
    folder = write_dataset(tmp_path / "d")
    (folder / "vpr.csv").write_bytes(bytes(range(128, 256)) * 50)
    assert "кодировка" in str(_error(folder)) or "не читается" in str(_error(folder))


def test_category_outside_allowed(tmp_path):
    bad = SCHOOLS.copy()
    bad.loc[0, "settlement"] = "посёлок"
    err = _error(write_dataset(tmp_path / "d", schools=bad))
    assert err.column == "settlement" and "город, село" in str(err)


def test_present_participant_without_score(tmp_path):
    bad = VPR.copy()
    bad.loc[0, "primary_score"] = None
    bad.loc[0, "mark"] = None
    err = _error(write_dataset(tmp_path / "d", vpr=bad))
    assert (err.row, err.column) == (2, "primary_score")


def test_missing_mark_is_computed_from_the_scale(tmp_path):
    vpr = VPR.drop(columns="mark")
    ds = load_dataset(write_dataset(tmp_path / "d", vpr=vpr))
    # 2024 МА-5 has no own scale: the 2021 one is carried over (7/11/15) and the note says so.
    assert ds.vpr["mark"].tolist()[:4] == [5, 4, 3, 2]
    assert any("по шкале 2021" in n for n in ds.notes)


def test_parquet_table(tmp_path):
    folder = write_dataset(tmp_path / "d")
    ds0 = load_dataset(write_dataset(tmp_path / "csv", vpr=VPR))
    ds0.vpr.to_parquet(folder / "vpr.parquet")
    ds = load_dataset(folder)
    pd.testing.assert_frame_equal(ds.vpr, ds0.vpr)


def test_both_csv_and_parquet_is_ambiguous(tmp_path):
    folder = write_dataset(tmp_path / "d", vpr=VPR)
    VPR.to_parquet(folder / "vpr.parquet")
    assert "задана дважды" in str(_error(folder))


# ---- lazy validation: every failing value, one error, the complete list beside the dataset ----------
def _many_participants(n: int = 40) -> pd.DataFrame:
    """n present participants of s1, all valid: score 10 («3» by the 2021 scale), journal «4»."""
    return pd.DataFrame({
        "year": [2024] * n, "subject": ["Математика"] * n, "grade": [5] * n, "school_id": ["s1"] * n,
        "participant_code": [str(i + 1) for i in range(n)], "absent": ["false"] * n,
        "primary_score": [10] * n, "mark": [3] * n, "journal_mark": [4] * n,
    }).astype({"primary_score": "object", "school_id": "object"})


def _report(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "validation_errors.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_every_failing_value_is_collected(tmp_path):
    vpr = _many_participants()
    vpr.loc[2, "primary_score"] = "восемь"          # file row 4: not an integer
    vpr.loc[5, "primary_score"] = -1                # row 7: below 0
    vpr.loc[7, "journal_mark"] = 6                  # row 9: not a mark
    vpr.loc[10:34, "school_id"] = "s404"            # rows 12…36: 25 unknown schools
    folder = write_dataset(tmp_path / "d", vpr=vpr)
    err = _error(folder)
    text = str(err)
    assert "найдено ошибочных значений: 28 (показаны первые 20)" in text
    listed = [line for line in text.splitlines() if line.startswith("  файл «vpr.csv»")]
    assert len(listed) == 20
    assert listed[0] == ("  файл «vpr.csv», строка 4, столбец «primary_score»: неверный тип значения; "
                         "ожидалось: целое число; получено: «восемь»")
    assert "строка 7, столбец «primary_score»: значение вне допустимого диапазона" in listed[1]
    assert "строка 9, столбец «journal_mark»" in listed[2] and "получено: «6»" in listed[2]
    assert "строка 28, столбец «school_id»" in listed[19] and "строка 29," not in text   # the 21st is not shown
    assert str(folder / "validation_errors.csv") in text and err.file.endswith("vpr.csv")
    report = _report(folder)
    assert list(report.columns) == ["file", "row", "column", "rule", "expected", "got"]
    assert len(report) == 28 and set(report["file"]) == {"vpr.csv"}
    assert report["row"].tolist() == ["4", "7", "9"] + [str(r) for r in range(12, 37)]
    assert report["column"].tolist() == ["primary_score", "primary_score", "journal_mark"] + ["school_id"] * 25
    # the listing is opened in Excel: text that a spreadsheet would evaluate («-1») carries a leading apostrophe
    assert report["got"].tolist() == ["восемь", "'-1", "6"] + ["s404"] * 25
    assert report.loc[2, "expected"] == "отметка от 2 до 5"
    assert set(report["rule"][3:]) == {"неизвестная школа: её нет в schools"}
    assert err.report == folder / "validation_errors.csv" and len(err.failures) == 28


def test_failures_of_several_files_and_checks(tmp_path):
    schools = SCHOOLS.copy()
    schools.loc[1, "settlement"] = "посёлок"                 # schools.csv row 3
    vpr = _many_participants(6)
    vpr.loc[0, "primary_score"] = None                      # present without a score: vpr.csv row 2
    vpr.loc[3, "primary_score"] = 21                        # above the scale's 20: row 5
    vpr.loc[4, "participant_code"] = "2"                    # repeats row 3: row 6
    folder = write_dataset(tmp_path / "d", schools=schools, vpr=vpr)
    err = _error(folder)
    assert err.file is None and f"в наборе данных «{folder}» найдено ошибочных значений: 4:" in str(err)
    assert "показаны" not in str(err)
    report = _report(folder)
    assert report[["file", "row", "column"]].values.tolist() == [
        ["schools.csv", "3", "settlement"], ["vpr.csv", "2", "primary_score"], ["vpr.csv", "5", "primary_score"],
        ["vpr.csv", "6", ""]]
    assert report.loc[2, "rule"].startswith("первичный балл больше максимума") and report.loc[2, "got"] == "21"
    assert "в строках 3 и 6" in report.loc[3, "rule"]


def test_a_cell_fails_once_by_its_first_rule(tmp_path):
    vpr = _many_participants(3).astype({"mark": "object"})
    vpr.loc[1, "mark"] = 5.5                       # a fraction and above 5: one failure, the first rule
    err = _error(write_dataset(tmp_path / "d", vpr=vpr))
    assert (err.row, err.column, err.got) == (3, "mark", "5.5") and "дробное значение" in str(err)
    assert len(_report(tmp_path / "d")) == 1


def test_one_failure_reads_as_before_and_is_written_too(tmp_path):
    bad = VPR.astype({"primary_score": "object"})
    bad.loc[2, "primary_score"] = "восемь"
    folder = write_dataset(tmp_path / "d", vpr=bad)
    err = _error(folder)
    assert str(err) == (f"файл «{folder / 'vpr.csv'}», строка 4, столбец «primary_score»: неверный тип значения; "
                        "ожидалось: целое число; получено: «восемь»")
    assert _report(folder).values.tolist() == [["vpr.csv", "4", "primary_score", "неверный тип значения",
                                                "целое число", "восемь"]]


def test_clean_dataset_writes_no_list_and_removes_a_stale_one(tmp_path):
    folder = write_dataset(tmp_path / "d", vpr=VPR)
    load_dataset(folder)
    assert not (folder / "validation_errors.csv").exists()
    (folder / "validation_errors.csv").write_text("file,row\nvpr.csv,4\n", encoding="utf-8")
    load_dataset(folder, tables=["vpr"])                    # a partial load says nothing about the rest
    assert (folder / "validation_errors.csv").exists()
    load_dataset(folder)
    assert not (folder / "validation_errors.csv").exists()


def test_list_goes_to_a_temporary_folder_when_the_dataset_is_read_only(tmp_path, monkeypatch):
    import tempfile

    from shnor_utils.data import validation

    bad = VPR.copy()
    bad.loc[[1, 2], "primary_score"] = -1
    folder = write_dataset(tmp_path / "d", vpr=bad)
    real_write = validation.atomic_write_bytes

    def refuse_dataset_folder(path, data):
        if path.parent == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real_write(path, data)

    monkeypatch.setattr(validation, "atomic_write_bytes", refuse_dataset_folder)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    err = _error(folder)
    assert not (folder / "validation_errors.csv").exists()
    assert err.report.parent.parent == tmp_path / "tmp" / "shnor-validation"
    assert "недоступна для записи" in str(err) and str(err.report) in str(err)
    assert len(_report(err.report.parent)) == 2


def test_list_holds_no_names_or_documents_and_cuts_long_values(tmp_path):
    vpr = _many_participants(4)
    vpr.loc[0, "primary_score"] = "Иванова Мария Петровна"   # a name shifted into a number column
    vpr.loc[1, "primary_score"] = "4510 123456"              # a passport number
    vpr.loc[2, "primary_score"] = "x" * 300
    folder = write_dataset(tmp_path / "d", vpr=vpr)
    err = _error(folder)
    report = _report(folder)
    written = (folder / "validation_errors.csv").read_text(encoding="utf-8-sig")
    assert "Иванова" not in written and "123456" not in written and "Иванова" not in str(err)
    assert report["got"].tolist() == ["(скрыто: похоже на ФИО)", "(скрыто: похоже на номер документа)",
                                      "x" * 99 + "…"]


def test_ingest_style_load_writes_no_list(tmp_path):
    bad = VPR.copy()
    bad.loc[[1, 2], "primary_score"] = -1
    folder = write_dataset(tmp_path / "d", vpr=bad)
    with pytest.raises(InputError) as info:
        load_dataset(folder, errors_csv=False)
    assert info.value.report is None and "найдено ошибочных значений: 2:" in str(info.value)
    assert not (folder / "validation_errors.csv").exists()


def test_snapshot_stamp_ignores_the_list_of_errors(tmp_path):
    from shnor_utils.data.dataset import files_stamp

    folder = write_dataset(tmp_path / "d", vpr=VPR)
    before = files_stamp(folder, "m")
    (folder / "validation_errors.csv").write_text("file,row\n", encoding="utf-8")
    assert files_stamp(folder, "m") == before
    (folder / "vpr.csv").write_text((folder / "vpr.csv").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert files_stamp(folder, "m") != before
