"""Dataset files that were misread or silently ignored (issue 17 §8, §9): CSV from Russian Excel
(«;», BOM, cp1251 with decimal commas), UTF-16, a workbook renamed to .csv, near-miss table names,
links that lead nowhere."""
from __future__ import annotations

import os

import pytest

from shnor_utils.data.dataset import load_dataset
from shnor_utils.errors import InputError

from ..conftest import SCHOOLS, VPR, write_dataset
from ..data.realfiles import xlsx


def _russian_excel(frame, path, encoding):
    """What «Сохранить как CSV» writes on Russian Windows: «;» between cells, decimal commas."""
    path.write_bytes(frame.to_csv(index=False, sep=";", decimal=",").encode(encoding))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1251", "utf-16"])
def test_russian_excel_csv_is_read_and_noted(tmp_path, encoding):
    folder = tmp_path / "d"
    write_dataset(folder, vpr=VPR)
    _russian_excel(SCHOOLS.assign(social_index=[0.5, 1.25, None]), folder / "schools.csv", encoding)
    ds = load_dataset(folder)
    assert list(ds.schools["school_id"]) == ["s1", "s2", "s3"]
    assert ds.schools["social_index"].tolist()[:2] == [0.5, 1.25]              # «1,25» is 1.25
    assert any("разделителем «точка с запятой»" in n for n in ds.notes)
    if encoding != "utf-8-sig":
        assert any(("utf-16" if encoding == "utf-16" else "cp1251") in n for n in ds.notes)


def test_utf16_comma_csv_is_read(tmp_path):
    folder = write_dataset(tmp_path / "d", vpr=VPR)
    (folder / "schools.csv").write_bytes(SCHOOLS.to_csv(index=False).encode("utf-16"))
    assert len(load_dataset(folder).schools) == 3


def test_xlsx_renamed_to_csv_is_called_excel(tmp_path):
    folder = write_dataset(tmp_path / "d", vpr=VPR)
    os.unlink(folder / "schools.csv")
    xlsx(folder / "schools.csv", {"Лист1": [list(SCHOOLS.columns)] + SCHOOLS.values.tolist()})
    with pytest.raises(InputError) as info:
        load_dataset(folder)
    assert "это книга Excel, а не CSV" in str(info.value) and "schools.csv" in str(info.value)


@pytest.mark.parametrize("name", ["GIA.csv", "gia.CSV", "gia.csv.txt", "Vpr_tasks.csv", "teachers.PARQUET"])
def test_near_miss_table_name_is_refused_not_ignored(tmp_path, name):
    folder = write_dataset(tmp_path / "d", vpr=VPR)
    (folder / name).write_text("year\n2024\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_dataset(folder)
    assert f"файл «{name}» похож на таблицу «{name.lower().removesuffix('.txt')}»" in str(info.value)


def test_unrelated_files_are_still_allowed(tmp_path):
    folder = write_dataset(tmp_path / "d", vpr=VPR)
    for name in ("README.txt", "notes.csv", "ingest_report.json", "validation_errors.csv"):
        (folder / name).write_text("x\n", encoding="utf-8")
    assert load_dataset(folder).has("vpr")


@pytest.mark.parametrize("kind", ["dangling", "loop"])
def test_link_that_leads_nowhere_is_refused(tmp_path, kind):
    folder = write_dataset(tmp_path / "d", vpr=VPR)
    link = folder / "gia.csv"
    if kind == "dangling":
        link.symlink_to(tmp_path / "удалённый" / "gia.csv")
    else:
        link.symlink_to(link)
    with pytest.raises(InputError) as info:
        load_dataset(folder)
    assert "ссылка, которая никуда не ведёт" in str(info.value) and "gia.csv" in str(info.value)


def test_link_to_a_real_file_is_read(tmp_path):
    folder = write_dataset(tmp_path / "d")
    VPR.to_csv(tmp_path / "vpr_real.csv", index=False)
    (folder / "vpr.csv").symlink_to(tmp_path / "vpr_real.csv")
    assert load_dataset(folder).has("vpr")


def test_blank_lines_do_not_shift_the_reported_row(tmp_path):
    """A bad mark on line 13 of a CSV with blank lines before it is reported as line 13, not 10
    (the reader skips blank lines; the message names the file's own line)."""
    import pandas as pd

    folder = write_dataset(tmp_path / "ds")
    rows = pd.concat([VPR] * 4, ignore_index=True).head(11).copy()
    rows["participant_code"] = [str(100 + i) for i in range(len(rows))]   # unique pupils
    lines = rows.to_csv(index=False).splitlines()        # header + 11 data lines
    bad_index = 10                                         # the 11th data row
    cells = lines[1 + bad_index].split(",")
    cells[rows.columns.get_loc("mark")] = "7"
    lines[1 + bad_index] = ",".join(cells)
    text = "\n".join(lines[:3] + ["", ""] + lines[3:6] + [""] + lines[6:]) + "\n"   # three blank lines
    (folder / "vpr.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_dataset(folder)
    line_of_bad = text.split("\n").index(lines[1 + bad_index]) + 1
    assert line_of_bad == 15
    assert err.value.row == line_of_bad and f"строка {line_of_bad}" in str(err.value)
