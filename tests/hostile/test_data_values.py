"""Values that used to corrupt a dataset silently (issue 17 §6): each is now refused at the boundary
with file, row, column, what was expected and what was found (cut short)."""
from __future__ import annotations

import pandas as pd
import pytest

from shnor_utils.data import validation
from shnor_utils.data.dataset import load_dataset
from shnor_utils.errors import InputError

from ..conftest import SCHOOLS, VPR, write_dataset


def _error(folder) -> InputError:
    with pytest.raises(InputError) as info:
        load_dataset(folder, errors_csv=False)
    return info.value


def _vpr_csv(folder, row: int, column: str, raw: str):
    """The tiny dataset with the raw text `raw` in `column` of data row `row` (1 = first data row)."""
    write_dataset(folder, vpr=VPR)
    path = folder / "vpr.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = raw
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("raw, rule", [
    ("99999999999999999999", "слишком большое целое число"),      # wrapped to −9223372036854775808, passed min=0
    ("1e400", "бесконечное или слишком большое число"),           # read as inf: LinAlgError in indicators
    ("inf", "бесконечное или слишком большое число"),
    ("-inf", "бесконечное или слишком большое число"),
])
def test_huge_and_infinite_numbers_are_refused(tmp_path, raw, rule):
    err = _error(_vpr_csv(tmp_path / "d", 2, "primary_score", raw))
    assert rule in str(err)
    assert err.file.endswith("vpr.csv") and err.row == 3 and err.column == "primary_score"


def test_infinite_float_in_a_float_column(tmp_path):
    schools = SCHOOLS.assign(social_index=["0.5", "1e400", "0.1"])
    err = _error(write_dataset(tmp_path / "d", schools=schools))
    assert "бесконечное" in str(err) and err.row == 3 and err.column == "social_index"


def test_nul_byte_in_an_id_is_refused(tmp_path):
    schools = SCHOOLS.assign(school_id=["s1", "s2\x00x", "s3"])
    err = _error(write_dataset(tmp_path / "d", schools=schools))
    assert "управляющий символ" in str(err) and err.row == 3 and err.column == "school_id"


def test_two_million_character_name_is_refused_and_not_echoed(tmp_path):
    schools = SCHOOLS.assign(school_name=["Школа № 1", "Ш" * 2_000_000, "Сельская школа"])
    err = _error(write_dataset(tmp_path / "d", schools=schools))
    assert "слишком длинный текст" in str(err) and err.column == "school_name" and err.row == 3
    assert f"не больше {validation.MAX_TEXT_CHARS} символов" in str(err)
    assert len(str(err)) < 2000                                          # «got» is cut to GOT_CHARS


def test_unbalanced_quote_does_not_swallow_the_next_rows(tmp_path):
    folder = write_dataset(tmp_path / "d")
    path = folder / "schools.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("Школа № 1", '"Школа № 1')               # the closing quote forgotten
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = _error(folder)
    assert "непарной кавычки" in str(err) and "schools.csv" in str(err)


def test_duplicated_column_is_refused_not_renamed(tmp_path):
    folder = write_dataset(tmp_path / "d", vpr=VPR)
    path = folder / "vpr.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [line + ("," + line.split(",")[7]) for line in lines]       # «mark» once more, at the end
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = _error(folder)
    assert "столбец «mark» указан в заголовке дважды" in str(err) and err.row == 1


def test_ordinary_values_still_load(tmp_path):
    ds = load_dataset(write_dataset(tmp_path / "d", vpr=VPR.assign(primary_score=[16, 12, 8, 3, None, 10, 15, 11, 7])))
    assert ds.vpr["primary_score"].sum() == 82
    assert list(pd.read_csv(tmp_path / "d" / "schools.csv")["school_name"]) == list(ds.schools["school_name"])
