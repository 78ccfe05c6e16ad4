"""Shared fixtures: a tiny hand-made dataset whose every number can be checked by hand,
and the small demo region committed in tests/fixtures/demo_small."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DEMO_SMALL = FIXTURES / "demo_small"

SCHOOLS = pd.DataFrame({
    "school_id": ["s1", "s2", "s3"],
    "school_name": ["Школа № 1", "Школа № 2", "Сельская школа"],
    "municipality_id": ["m1", "m1", "m2"],
    "municipality_name": ["Город", "Город", "Район"],
    "settlement": ["город", "город", "село"],
    "school_type": ["СОШ", "лицей", "ООШ"],
})

# ВПР «Математика», 5 класс, 2024 (scale 2021: «3» from 7, «4» from 11, «5» from 15).
# s1: marks 5,4,3,2 vs journal 4,4,4,3 → higher 1, confirm 1, lower 2; one absent; one without journal.
VPR = pd.DataFrame({
    "year": [2024] * 9,
    "subject": ["Математика"] * 9,
    "grade": [5] * 9,
    "school_id": ["s1"] * 6 + ["s2"] * 3,
    "participant_code": ["1", "2", "3", "4", "5", "6", "1", "2", "3"],
    "absent": ["false", "false", "false", "false", "true", "false", "false", "false", "false"],
    "primary_score": [16, 12, 8, 3, None, 10, 15, 11, 7],
    "mark": [5, 4, 3, 2, None, 3, 5, 4, 3],
    "journal_mark": [4, 4, 4, 3, 4, None, 5, 4, 3],
})


def write_dataset(folder: Path, **tables: pd.DataFrame) -> Path:
    """Write tables as CSV into `folder` (schools by default) and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    tables.setdefault("schools", SCHOOLS)
    for name, frame in tables.items():
        if frame is not None:
            frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_dataset(tmp_path / "tiny", vpr=VPR)


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """A table of a dataset folder as stored (CSV or Parquet), without validation."""
    csv = folder / f"{name}.csv"
    return pd.read_csv(csv, dtype=str) if csv.exists() else pd.read_parquet(folder / f"{name}.parquet")


def write_table(folder: Path, name: str, frame: pd.DataFrame) -> None:
    """Replace a table in a dataset folder, keeping its format."""
    if (folder / f"{name}.csv").exists():
        frame.to_csv(folder / f"{name}.csv", index=False)
    else:
        frame.to_parquet(folder / f"{name}.parquet", index=False)


@pytest.fixture(scope="session")
def demo_small() -> Path:
    assert (DEMO_SMALL / "schools.parquet").exists(), "tests/fixtures/demo_small is missing: run `make reference-runs`"
    return DEMO_SMALL
