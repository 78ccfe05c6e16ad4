"""The CSV files of a dataset are read by Arrow's reader (a fraction of the pandas reader's memory);
a file it would read differently goes to the pandas reader. Either way the validated frames, the
messages and the row numbers are the same; pupil-level tables hold their text as categoricals."""
from __future__ import annotations

import pandas as pd
import pytest

import shnor_utils.data.dataset as dataset
from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.tables import CATEGORICAL_TABLES
from shnor_utils.errors import InputError

from tests.conftest import SCHOOLS, VPR, write_dataset


def _both(folder, monkeypatch):
    """The dataset loaded with the Arrow reader, then with the pandas reader only; and which files
    the Arrow reader took."""
    taken = []
    parse = dataset._parse_arrow

    def spy(source, separator, table, names):
        frame = parse(source, separator, table, names)
        taken.append((table.name, frame is not None))
        return frame

    monkeypatch.setattr(dataset, "_parse_arrow", spy)
    arrow = load_dataset(folder, errors_csv=False)
    first = dict(taken)
    monkeypatch.setattr(dataset, "USE_ARROW_READER", False)
    plain = load_dataset(folder, errors_csv=False)
    return arrow, plain, first


def _same(a, b):
    assert sorted(a.tables) == sorted(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.notes == b.notes


def test_the_demo_region_is_read_by_arrow_into_the_same_frames(tmp_path, demo_small, monkeypatch):
    folder = tmp_path / "d"
    folder.mkdir()
    for part in demo_small.glob("*.parquet"):     # the committed fixture is Parquet: as the CSV files of a region
        pd.read_parquet(part).to_csv(folder / f"{part.stem}.csv", index=False)
    arrow, plain, taken = _both(folder, monkeypatch)
    assert taken and all(taken.values()), taken          # every file by the Arrow reader
    _same(arrow, plain)


def test_excel_style_files_read_the_same(tmp_path, monkeypatch):
    """«;» with decimal commas in cp1251, a BOM, spaces after separators and around text, quoted
    cells, CRLF line ends and blank lines: same frames, same notes."""
    folder = write_dataset(tmp_path / "d", schools=SCHOOLS, vpr=VPR)
    schools = SCHOOLS.assign(social_index=[0.25, -1.5, 0.0][: len(SCHOOLS)] + [0.0] * max(0, len(SCHOOLS) - 3))
    (folder / "schools.csv").write_bytes(schools.to_csv(index=False, sep=";", decimal=",").encode("cp1251"))
    text = VPR.to_csv(index=False).replace(",", ", ")
    lines = text.splitlines()
    lines.insert(2, "")                                   # a blank line after the first data row
    lines[1] = lines[1].replace("весна", '"весна"')
    (folder / "vpr.csv").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    arrow, plain, taken = _both(folder, monkeypatch)
    assert taken == {"schools": True, "vpr": True}
    _same(arrow, plain)
    assert arrow.schools["social_index"].iloc[0] == 0.25


def test_trailing_empty_columns_of_excel_read_the_same(tmp_path, monkeypatch):
    """Excel leaves «;;» after the last column when a sheet once had more: unnamed, empty columns."""
    folder = write_dataset(tmp_path / "d", schools=SCHOOLS, vpr=VPR)
    lines = (folder / "vpr.csv").read_text(encoding="utf-8").splitlines()
    (folder / "vpr.csv").write_text("\n".join(line + ",," for line in lines) + "\n", encoding="utf-8")
    arrow, plain, taken = _both(folder, monkeypatch)
    assert taken["vpr"] is False                          # unnamed columns: the pandas reader
    _same(arrow, plain)
    assert len(arrow.vpr) == len(VPR)


@pytest.mark.parametrize("change, by_arrow", [("ragged", False), ("nan", False), ("quoted_newline", True)])
def test_unusual_files_give_the_same_message_from_either_reader(tmp_path, monkeypatch, change, by_arrow):
    """Ragged rows and «nan» go to the pandas reader; a line break inside quotes is read as part of
    the cell by both (and refused by validation)."""
    folder = write_dataset(tmp_path / "d", schools=SCHOOLS, vpr=VPR)
    lines = (folder / "vpr.csv").read_text(encoding="utf-8").splitlines()
    if change == "ragged":                      # a row with a cell too many
        lines[3] += ",лишнее"
    elif change == "nan":                       # «nan» in a score column: Arrow would take it as a number
        cells = lines[3].split(",")
        cells[lines[0].split(",").index("primary_score")] = "nan"
        lines[3] = ",".join(cells)
    else:                                       # an unbalanced quote swallows a line break
        lines[3] = lines[3].replace("Математика", '"Математика\nРусский"')
    (folder / "vpr.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    taken = []
    parse = dataset._parse_arrow
    monkeypatch.setattr(dataset, "_parse_arrow", lambda *a: taken.append(parse(*a) is not None) or parse(*a))
    errors = []
    for use_arrow in (True, False):
        monkeypatch.setattr(dataset, "USE_ARROW_READER", use_arrow)
        with pytest.raises(InputError) as info:
            load_dataset(folder, errors_csv=False)
        errors.append(str(info.value))
    assert taken[1] is by_arrow                 # vpr.csv (read after schools.csv)
    assert errors[0] == errors[1] and "vpr.csv" in errors[0]


def test_row_numbers_after_blank_lines_name_the_files_own_lines(tmp_path):
    folder = write_dataset(tmp_path / "d", schools=SCHOOLS, vpr=VPR)
    lines = (folder / "vpr.csv").read_text(encoding="utf-8").splitlines()
    grade = lines[0].split(",").index("grade")
    cells = lines[2].split(",")
    cells[grade] = "12"                          # grade 12: out of range, in the file's line 5 below
    lines[2] = ",".join(cells)
    lines[1:1] = ["", "   "]                     # two blank lines before the data rows
    (folder / "vpr.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_dataset(folder, errors_csv=False)
    assert info.value.row == 5 and info.value.column == "grade"


def test_pupil_tables_hold_text_as_categoricals_with_the_same_values(tiny, monkeypatch):
    ds = load_dataset(tiny, errors_csv=False)
    assert "vpr" in CATEGORICAL_TABLES
    for column in ("subject", "school_id", "participant_code", "wave"):
        assert isinstance(ds.vpr[column].dtype, pd.CategoricalDtype), column
    assert str(ds.schools["school_id"].dtype) != "category"          # small tables stay text
    text = pd.read_csv(tiny / "vpr.csv", dtype=str)
    assert list(ds.vpr["participant_code"].astype(str)) == list(text["participant_code"])
