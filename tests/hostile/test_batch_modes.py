"""Issue 17, point 12: outputs get the umask's normal modes (0644 / 0755 under umask 022), not the
private 0600 / 0700 of mkstemp / mkdtemp."""
from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from shnor_utils.batch.excel import write_workbook
from shnor_utils.indicators import COLUMNS, write_indicators
from shnor_utils.safeio import atomic_write_text, current_umask, make_temp_dir


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_current_umask_is_read_without_changing_it(umask):
    assert current_umask() == umask
    assert current_umask() == umask


def test_atomic_files_and_folders_have_normal_modes(tmp_path, umask):
    path = atomic_write_text(tmp_path / "new" / "report.html", "<html></html>")
    assert mode(path) == 0o666 & ~umask
    assert mode(path.parent) == 0o777 & ~umask
    atomic_write_text(path, "again")                      # a rewrite too
    assert mode(path) == 0o666 & ~umask
    assert mode(make_temp_dir(".x.", dir=tmp_path)) == 0o777 & ~umask


def test_workbook_and_csv_have_normal_modes(tmp_path, umask):
    frame = pd.DataFrame([{"level": "region", "entity_id": "region", "year": 2026, "indicator_id": "x",
                           "value": 1.0}], columns=COLUMNS)
    frame[["level", "entity_id"]] = frame[["level", "entity_id"]].astype("string")
    schools = pd.DataFrame({"school_id": ["s1"], "school_name": ["Школа"], "municipality_id": ["m"],
                            "municipality_name": ["Город"]})
    assert mode(write_workbook(frame, schools, tmp_path / "indicators.xlsx", analyses=())) == 0o666 & ~umask
    assert mode(write_indicators(frame, tmp_path / "ind.csv")) == 0o666 & ~umask
    assert mode(write_indicators(frame, tmp_path / "ind.parquet")) == 0o666 & ~umask


def test_dataset_folders_and_snapshots_have_normal_modes(tmp_path, umask, demo_small):
    """Folders that are renamed into place (the demo dataset, the batch snapshot) are not 0700."""
    from shnor_utils.data.dataset import load_dataset
    from shnor_utils.data.snapshot import write_snapshot
    from shnor_utils.demo import generate

    generate(tmp_path / "demo", schools=40, seed=3, fmt="parquet")
    assert mode(tmp_path / "demo") == 0o777 & ~umask
    ds = load_dataset(demo_small)
    write_snapshot(ds, tmp_path / "snap")
    assert mode(tmp_path / "snap") == 0o777 & ~umask


def test_validation_listing_holds_no_live_formula(tmp_path):
    """`validation_errors.csv` is opened in Excel: a bad value «=1+1» is written as text."""
    from shnor_utils.data.dataset import load_dataset
    from shnor_utils.errors import InputError
    from tests.conftest import SCHOOLS, write_dataset

    folder = write_dataset(tmp_path / "ds", schools=SCHOOLS.assign(settlement=["=1+1", "=2+2", "=3+3"]))
    with pytest.raises(InputError):
        load_dataset(folder)
    text = (folder / "validation_errors.csv").read_text(encoding="utf-8-sig")
    assert "'=1+1" in text and ",=1+1" not in text
