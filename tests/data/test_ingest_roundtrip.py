"""Round trip: canonical tables → real-layout files (`formats.writers`) → `shnor ingest` → the same
canonical tables. ГИА participant ids come back as new pseudonyms: everything else is compared,
and the old → new id mapping must be one-to-one. Also: no invented name or document number of a
protocol reaches any output file, the report or the console."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shnor_utils.cli import main
from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.ingest import ingest
from shnor_utils.methodology import load_methodology
from shnor_utils.data.formats.oo1 import aggregate_teachers, staffing_cells
from shnor_utils.data.formats.writers import fake_person, write_real_files

from tests.conftest import write_dataset
from .realfiles import xls
from .test_ingest import SECRET, protocol_rows

SCHOOLS = pd.DataFrame({
    "school_id": ["edu220001", "edu220002", "edu220003"],
    "school_name": ["МБОУ «СОШ № 1 г. Верхний»", "МБОУ «Гимназия № 2»", "МКОУ «Нижняя ООШ»"],
    "municipality_id": ["reg22_m001", "reg22_m001", "reg22_m002"],
    "municipality_name": ["город Верхний", "город Верхний", "Нижний район"],
    "settlement": ["город", "город", "село"],
    "school_type": ["СОШ", "гимназия", "ООШ"],
})


def _vpr():
    rows = []
    # RU-4 2026 (scale max 24: «3» 10, «4» 16, «5» 21), with tasks; classes by ordinal number
    for school, pupils in (("edu220001", [(23, 5, 5), (14, 3, 4), (None, None, 4), (8, 2, None)]),
                           ("edu220002", [(17, 4, 4), (21, 5, 4)])):
        for i, (score, mark, journal) in enumerate(pupils, start=1):
            rows.append({"year": 2026, "subject": "Русский язык", "grade": 4, "school_id": school,
                         "class_label": f"4-{1 + i % 2}", "participant_code": f"4000{i}", "absent": score is None,
                         "primary_score": score, "mark": mark, "journal_mark": journal})
    # MA-5 2021 (max 20: «3» 7, «4» 11, «5» 15), no tasks; classes by letter; one pupil without a class
    for i, (score, mark, journal, label) in enumerate([(15, 5, 4, "5А"), (9, 3, 3, "5Б"), (6, 2, 3, "5А"), (12, 4, None, None)], start=1):
        rows.append({"year": 2021, "subject": "Математика", "grade": 5, "school_id": "edu220003", "class_label": label,
                     "participant_code": f"5000{i}", "absent": False, "primary_score": score, "mark": mark,
                     "journal_mark": journal})
    return pd.DataFrame(rows).assign(wave="весна")


def _vpr_tasks(vpr):
    rows = []
    split = {23: (10, 8, 5), 14: (6, 8, 0), 8: (8, 0, 0), 17: (10, 5, 2), 21: (10, 8, 3)}
    for p in vpr[(vpr["subject"] == "Русский язык") & ~vpr["absent"]].itertuples():
        for (task, mx, level), pts in zip([("1", 10, "Б"), ("2", 8, "П"), ("3", 6, "В")], split[p.primary_score]):
            flag = ("X" if p.participant_code == "40004" else "не пройд.") if pts == 0 else None
            rows.append({"year": 2026, "wave": "весна", "subject": "Русский язык", "grade": 4, "school_id": p.school_id,
                         "participant_code": p.participant_code, "task": task, "score": pts, "max_score": mx,
                         "level": level, "flag": flag})
    return pd.DataFrame(rows)


GIA = pd.DataFrame([
    # year, exam, subject, level, school, pid, grade, period, attempt, primary, test, mark
    (2026, "ОГЭ", "Русский язык", None, "edu220001", "g1", 9, "основной", 1, 25, None, 4),
    (2026, "ОГЭ", "Математика", None, "edu220001", "g1", 9, "основной", 1, 6, None, 2),
    (2026, "ОГЭ", "Математика", None, "edu220001", "g1", 9, "основной", 2, 9, None, 3),   # retake, later date
    (2026, "ОГЭ", "Русский язык", None, "edu220003", "g2", 9, "основной", 1, 30, None, 5),
    (2026, "ОГЭ", "Математика", None, "edu220003", "g2", 9, "дополнительный", 1, 12, None, 3),
    (2026, "ЕГЭ", "Русский язык", None, "edu220002", "g3", 11, "основной", 1, 40, 78, None),
    (2026, "ЕГЭ", "Математика", "профильная", "edu220002", "g3", 11, "основной", 1, 12, 62, None),
    (2026, "ЕГЭ", "Математика", "базовая", "edu220002", "g4", 11, "основной", 1, 15, None, 4),
    (2026, "ЕГЭ", "Русский язык", None, "edu220002", "g4", 11, "основной", 1, 20, 45, None),
    (2026, "ГВЭ", "Русский язык", None, "edu220003", "g5", 9, "основной", 1, 11, None, 4),
], columns=["year", "exam", "subject", "level", "school_id", "participant_id", "grade", "period", "attempt",
            "primary_score", "test_score", "mark"])

TEACHERS = pd.DataFrame([
    # school, id, position, subject, age, ped. education, category, experience, rate, part time
    ("edu220001", "t1", "учитель", "Математика", 34, True, "высшая", 10, 1.5, False),
    ("edu220001", "t2", "учитель", "Русский язык", 61, True, "первая", 35, 1.0, False),
    ("edu220001", "t3", "учитель", "Физическая культура", 24, False, "без категории", 1, 1.0, False),
    ("edu220001", "t4", "педагог-психолог", None, 45, True, "соответствие", 20, 0.5, False),
    ("edu220001", "t5", "учитель", "Химия", 50, True, "высшая", 25, 0.25, True),       # external part-timer
    ("edu220003", "t6", "учитель", "Начальные классы", 40, True, "первая", 15, 1.0, False),
], columns=["school_id", "teacher_id", "position", "subject", "age", "pedagogical_education", "category",
            "experience_years", "rate", "part_time"]).assign(year=2025)

STAFFING = pd.DataFrame([
    (2025, "edu220001", "учитель", "Математика", 2.0, 1.5, 1),
    (2025, "edu220001", "учитель", "Русский язык", 1.5, 1.5, 0),
    (2025, "edu220001", "педагог-психолог", None, 1.0, 0.5, 1),
    (2025, "edu220003", "учитель", "Начальные классы", 1.0, 1.0, 0),
], columns=["year", "school_id", "position", "subject", "rates_planned", "rates_filled", "vacancies"])


@pytest.fixture
def canonical(tmp_path) -> Path:
    vpr = _vpr()
    return write_dataset(tmp_path / "canonical", schools=SCHOOLS, vpr=vpr, vpr_tasks=_vpr_tasks(vpr), gia=GIA,
                         teachers=TEACHERS, staffing=STAFFING)


def _secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


def _sorted(frame: pd.DataFrame, columns: list) -> pd.DataFrame:
    out = frame[columns].copy()
    for c in columns:
        if str(out[c].dtype) in ("string", "object"):
            out[c] = out[c].astype("object").where(out[c].notna(), None)
    return out.sort_values(columns, na_position="first", key=lambda s: s.astype(str)).reset_index(drop=True)


def test_canonical_to_real_files_and_back(canonical, tmp_path):
    real = tmp_path / "real"
    paths = write_real_files(canonical, real)
    names = sorted(p.relative_to(real).as_posix() for p in paths)
    assert names == [
        "ОО-1/ОО-1_раздел3_edu220001_2025.xlsx", "ОО-1/ОО-1_раздел3_edu220003_2025.xlsx",
        "РЦОИ/Протокол_ГВЭ_2026_основной.xls", "РЦОИ/Протокол_ЕГЭ_2026_основной.xls",
        "РЦОИ/Протокол_ОГЭ_2026_дополнительный.xls", "РЦОИ/Протокол_ОГЭ_2026_основной.xls",
        "ФИС ОКО/Ф1_edu220001_РУ4_2026.xlsx", "ФИС ОКО/Ф1_edu220002_РУ4_2026.xlsx", "ФИС ОКО/Ф1_edu220003_МА5_2021.xlsx"]
    schools_ref = tmp_path / "schools.csv"
    SCHOOLS[["school_id", "settlement", "school_type"]].to_csv(schools_ref, index=False)
    result = ingest(paths, tmp_path / "ds", schools_file=schools_ref, secret_file=_secret(tmp_path))
    assert result.exit_code == 0, result.report.to_text()
    before, after = load_dataset(canonical), load_dataset(tmp_path / "ds")

    for table in ("schools", "vpr", "vpr_tasks", "staffing"):
        cols = [c for c in getattr(before, table).columns if c in getattr(after, table).columns]
        pd.testing.assert_frame_equal(_sorted(getattr(after, table), cols), _sorted(getattr(before, table), cols),
                                      check_dtype=False, obj=table)

    # ГИА: same rows apart from the ids, and old id ↔ new id one-to-one
    keys = ["year", "exam", "subject", "level", "school_id", "grade", "period", "attempt", "primary_score",
            "test_score", "mark"]
    old = _sorted(before.gia, keys + ["participant_id"])
    new = _sorted(after.gia, keys + ["participant_id"])
    pd.testing.assert_frame_equal(new[keys], old[keys], check_dtype=False, obj="gia")
    pairs = set(zip(old["participant_id"], new["participant_id"]))
    assert len(pairs) == old["participant_id"].nunique() == new["participant_id"].nunique() == 5
    assert set(new["participant_id"]).isdisjoint(old["participant_id"])

    # ОО-1: teacher counts are the per-teacher table counted into ОО-1 cells (hand-checked below)
    cfg = load_methodology().oo1
    expected = pd.concat([aggregate_teachers(before.teachers, cfg), staffing_cells(before.staffing, cfg)])
    cols = ["year", "school_id", "section", "row_code", "column_code", "value"]
    pd.testing.assert_frame_equal(_sorted(after.teacher_counts, cols), _sorted(expected, cols), check_dtype=False)
    tc = after.teacher_counts.set_index(["school_id", "section", "row_code", "column_code"])["value"]
    assert tc[("edu220001", "3.1", "07", 3)] == 3            # t1, t2, t3 (t5 is an external part-timer)
    assert tc[("edu220001", "3.1", "06", 3)] == 4            # + the psychologist
    assert tc[("edu220001", "3.1", "07", 16)] == 3.5         # ставки 1.5 + 1 + 1
    assert tc[("edu220001", "3.1", "07", 13)] == 1           # высшая: t1
    assert tc[("edu220001", "3.3", "07", 4)] == 1            # younger than 25: t3
    assert tc[("edu220001", "3.4", "07", 13)] == 1           # vacancies of teachers: mathematics


def test_no_name_or_document_number_reaches_any_output(canonical, tmp_path, capsys):
    real = tmp_path / "real"
    write_real_files(canonical, real)
    hand_made = xls(real / "РЦОИ" / "ручной.xls", {"Лист1": protocol_rows()})      # real-looking names too
    secrets = [v for pid in GIA["participant_id"].unique() for v in fake_person(pid).values()]
    secrets += ["Квашнина", "Ёлка", "Петровна", "Дубровский", "ДУБРОВСКИЙ", "Влас"]
    protocol = (real / "РЦОИ" / "Протокол_ЕГЭ_2026_основной.xls").read_bytes()
    assert fake_person("g3")["surname"].encode("utf-16-le") in protocol      # the input does carry names
    files = sorted(str(p) for p in real.rglob("*.xls*")) + [str(hand_made)]
    code = main(["ingest", *files, "--out", str(tmp_path / "ds"), "--secret-file", str(_secret(tmp_path))])
    console = capsys.readouterr()
    assert code == 0, console.out + console.err
    outputs = {p: p.read_bytes() for p in (tmp_path / "ds").rglob("*") if p.is_file()}
    assert {p.name for p in outputs} >= {"gia.csv", "schools.csv", "ingest_report.json", "ingest_report.txt"}
    for value in secrets:
        variants = {value, value.lower(), value.upper()}
        for encoded in {v.encode(enc) for v in variants for enc in ("utf-8", "utf-16-le", "cp1251")}:
            assert all(encoded not in data for data in outputs.values()), value
        assert value not in console.out and value not in console.err


def test_a_broken_protocol_row_does_not_quote_the_pupil(tmp_path, monkeypatch):
    monkeypatch.setenv("SHNOR_SECRET", SECRET)
    sheet = protocol_rows()
    sheet[4][13] = "Квашнина"                                   # a shifted row: the surname in the score column
    result = ingest([xls(tmp_path / "p.xls", {"Лист1": sheet})], tmp_path / "ds")
    error = result.report.files[0].error
    assert "строка 5" in error and "Первичный балл" in error and "Квашнина" not in error
    assert "Квашнина" not in result.report.to_json() and "Квашнина" not in result.report.to_text()


def test_demo_flag_writes_real_files(canonical, tmp_path, monkeypatch):
    """`shnor demo --real-files DIR` calls `write_real_files` on the generated folder (a stand-in
    generator returns the canonical fixture, so the test does not wait for the demo region)."""
    import shutil

    from shnor_utils import cli

    def generate(out, **kw):
        shutil.copytree(canonical, out)
        return {"years": [2026]}

    monkeypatch.setattr(cli, "generate", generate)
    code = main(["demo", "--out", str(tmp_path / "demo"), "--real-files", str(tmp_path / "real")])
    assert code == 0
    assert len(list((tmp_path / "real").rglob("*.xls*"))) == 9
    assert main(["real-files", str(canonical), "--out", str(tmp_path / "real2")]) == 0
    assert len(list((tmp_path / "real2").rglob("*.xls*"))) == 9


def test_demo_region_slice_round_trip(demo_small, tmp_path):
    """The demo's own data (two schools, city and village, last year) → real files → ingest →
    the same tables: the writers carry the demo's quirks (absent pupils, missing journal marks,
    retakes, both ЕГЭ mathematics levels) through the real layouts."""
    from tests.conftest import read_table

    schools = read_table(demo_small, "schools")
    keep = [schools[schools["settlement"] == "город"]["school_id"].iloc[0],
            schools[schools["settlement"] == "село"]["school_id"].iloc[0]]
    year = 2026
    tables = {}
    for name in ("schools", "vpr", "vpr_tasks", "gia", "staffing"):
        frame = read_table(demo_small, name)
        frame = frame[frame["school_id"].isin(keep)]
        if "year" in frame.columns:
            frame = frame[frame["year"].astype(int) == (year if name != "staffing" else frame["year"].astype(int).max())]
        tables[name] = frame
    canonical = write_dataset(tmp_path / "canonical", **tables)
    real = tmp_path / "real"
    paths = write_real_files(canonical, real)
    ref = tmp_path / "schools.csv"
    tables["schools"][["school_id", "settlement", "school_type"]].to_csv(ref, index=False)
    result = ingest(paths, tmp_path / "ds", schools_file=ref, secret_file=_secret(tmp_path))
    assert result.exit_code == 0, result.report.to_text()
    before, after = load_dataset(canonical), load_dataset(tmp_path / "ds")
    assert len(before.vpr) > 500 and before.vpr["absent"].any() and before.vpr["journal_mark"].isna().any()
    for table in ("vpr", "vpr_tasks", "staffing"):
        cols = [c for c in getattr(before, table).columns if c in getattr(after, table).columns and c != "class_label"]
        pd.testing.assert_frame_equal(_sorted(getattr(after, table), cols), _sorted(getattr(before, table), cols),
                                      check_dtype=False, obj=table)
    keys = ["year", "exam", "subject", "level", "school_id", "grade", "period", "attempt", "primary_score",
            "test_score", "mark"]
    old, new = _sorted(before.gia, keys), _sorted(after.gia, keys)
    pd.testing.assert_frame_equal(new, old, check_dtype=False, obj="gia")
    assert after.gia["participant_id"].nunique() == before.gia["participant_id"].nunique()
