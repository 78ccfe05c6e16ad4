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
