"""The «real region» acceptance test of issue 13: a slice of the demo region (10 schools, three years,
two ВПР works a year) written the way a region's export folder really looks, then ingested with one
command and analysed by the batch.

- 2024: the 2020-style regional export (Latin codes), year and grade only in the folders, subject in
  the file name (`2024/4/Русский язык.xlsx`), `sch99…` logins, an Excel lock file beside it;
- 2025: the 2021-style regional export («Проведение работы по русскому языку, 4 класс. ВПР 2025.xlsx»),
  `sch99…` logins, plus English and German of grade 7 with the same participant codes in one school;
- 2026: ФИС ОКО Ф1 files written by the project's own real-files writer, `edu99…` logins;
- the login change is given by a login directory («прежний логин», half of the schools) and by the
  context questionnaires of 2025 and 2026 (one «Код ОГЭ/ЕГЭ» for the two logins, all schools), which
  also give the settlement type;
- four planted bad rows (0.2 %: copied sex and class, a row shifted one column right into «Учебник», an
  overflow row carrying a name, a total over the scale maximum) and one file in an unknown layout.
The truth is the demo's own `vpr` table (plus the language rows made here); the ingested dataset must
equal it minus exactly the planted rows, with exit code 1."""
from __future__ import annotations

import html
import json
import random
import re
from pathlib import Path

import pandas as pd
import pytest

from shnor_utils.cli import main
from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.directory import RULE_PREVIOUS, RULE_RCOI
from shnor_utils.data.formats import fisoko_individual
from shnor_utils.methodology import load_methodology

from tests.conftest import read_table, write_dataset
from .realfiles import (REGIONAL_2021_HEAD, copied_sex_and_class, overflow, regional_2020_rows, regional_2021_pupil,
                        regional_2021_rows, shifted_right, xlsx)
from .realfiles_more import Q_CODE, Q_WHERE

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "demo_small"
YEARS = (2024, 2025, 2026)
WORKS = (("Русский язык", 4), ("Математика", 5))
DATIVE = {"Русский язык": "русскому языку", "Математика": "математике", "Английский язык": "английскому языку",
          "Немецкий язык": "немецкому языку"}
KEY = ["year", "wave", "subject", "grade", "school_id", "participant_code"]
SECRET = "region-secret-0123456789abcdef"


def old_login(school_id: str) -> str:
    """edu990007 → sch991007: the pre-2026 login of the same school (different digits, as in reality)."""
    return f"sch99{int(school_id[5:]) + 1000:04d}"


def _value(x):
    return None if pd.isna(x) else int(x)


def _tasks(score) -> tuple:
    return (None, None) if pd.isna(score) else (int(score) // 2, int(score) - int(score) // 2)


def _letter(label: str, grade: int) -> str:
    return str(label)[len(str(grade)):].lower()              # «4А» → «а», as the regional exports write it


def _demo_slice():
    schools = read_table(DEMO, "schools")
    schools["students"] = schools["students"].astype(int)
    pick = pd.concat([schools[schools["settlement"] == kind].sort_values(["students", "school_id"]).head(5)
                      for kind in ("город", "село")])
    vpr = read_table(DEMO, "vpr")
    vpr = vpr[vpr["school_id"].isin(pick["school_id"]) & vpr["year"].astype(int).isin(YEARS)]
    vpr = vpr[pd.concat([(vpr["subject"] == s) & (vpr["grade"].astype(int) == g) for s, g in WORKS], axis=1).any(axis=1)]
    tasks = read_table(DEMO, "vpr_tasks")
    tasks = tasks[tasks["school_id"].isin(pick["school_id"]) & (tasks["year"].astype(int) == 2026)]
    tasks = tasks.merge(vpr[KEY].drop_duplicates(), on=KEY)
    return pick.reset_index(drop=True), vpr.reset_index(drop=True), tasks.reset_index(drop=True)


def _languages(schools) -> pd.DataFrame:
    """English and German of grade 7 (2025) in two schools; the same participant codes in both languages."""
    rnd, rows = random.Random(13), []
    for school in schools["school_id"].iloc[[0, 5]]:
        for subject in ("Английский язык", "Немецкий язык"):
            for i in range(1, 16):
                rows.append({"year": 2025, "wave": "весна", "subject": subject, "grade": 7, "school_id": school,
                             "participant_code": str(70000 + i), "class_label": "7А", "absent": False,
                             "primary_score": rnd.randint(0, 30), "mark": None, "journal_mark": rnd.choice([3, 4, 5])})
    frame = pd.DataFrame(rows)
    scale = load_methodology().vpr_scale(2025, "Английский язык", 7)       # by hand: 13 / 21 / 27 of 30
    frame["mark"] = frame["primary_score"].map(lambda x: 2 if x < 13 else 3 if x < 21 else 4 if x < 27 else 5)
    assert (scale.max, scale.min) == (30, {3: 13, 4: 21, 5: 27})
    return frame


def write_region(root: Path):
    """Write the export folder; return (exports, truth vpr, planted keys, demo schools)."""
    meth = load_methodology()
    schools, vpr, tasks = _demo_slice()
    langs = _languages(schools)
    exports, planted = root / "exports", []
    muni = dict(zip(schools["school_id"], schools["municipality_name"]))

    # 2024: Latin-code export, year and grade in the folders, subject in the name
    for (subject, grade), group in vpr[vpr["year"].astype(int) == 2024].groupby(["subject", "grade"]):
        pupils = []
        for p in group.itertuples():
            absent = bool(p.absent)
            a1, a2 = _tasks(p.primary_score)
            pupils.append((old_login(p.school_id), p.participant_code, _value(p.journal_mark), "м",
                           _letter(p.class_label, int(grade)), "отсутствовал" if absent else 1,
                           None if absent else int(p.primary_score), a1, a2))
        if subject == "Математика":                           # a total over the scale maximum: 21 > 20
            i = next(i for i, p in enumerate(pupils) if p[6] is not None)
            pupils[i] = pupils[i][:6] + (21, 11, 10)
            planted.append((2024, "весна", subject, int(grade), group.iloc[i]["school_id"], pupils[i][1]))
        xlsx(exports / "2024" / str(grade) / f"{subject}.xlsx", {"Sheet": regional_2020_rows(pupils)})
    (exports / "2024" / "4" / "~$Русский язык.xlsx").write_bytes(b"lock")

    # 2025: the 2021-style export, subject and grade in the file name; languages with repeated codes
    year25 = pd.concat([vpr[vpr["year"].astype(int) == 2025], langs])
    for (subject, grade), group in year25.groupby(["subject", "grade"]):
        rows = []
        for n, p in enumerate(group.itertuples(), start=1):
            absent = bool(p.absent)
            t1, t2 = _tasks(p.primary_score)
            rows.append([old_login(p.school_id), muni[p.school_id], n, p.participant_code,
                         _value(p.journal_mark), "м", _letter(p.class_label, int(grade)),
                         "отсутствовал" if absent else 1, None if absent else int(p.primary_score), t1, t2,
                         "Учебник-1", None, None])
        present = [i for i, r in enumerate(rows) if r[8] is not None]
        if (subject, int(grade)) in WORKS:
            i = present[len(present) // 2]
            rows[i] = copied_sex_and_class(rows[i]) if subject == "Русский язык" else overflow(rows[i], "Иванов Иван")
            planted.append((2025, "весна", subject, int(grade), group.iloc[i]["school_id"], str(rows[i][3])))
        if (subject, int(grade)) == ("Русский язык", 4):      # and one row shifted right into «Учебник»
            i = present[len(present) // 3]
            rows[i] = shifted_right(rows[i])
            planted.append((2025, "весна", subject, int(grade), group.iloc[i]["school_id"], str(rows[i][3])))
        name = f"Проведение работы по {DATIVE[subject]}, {grade} класс. ВПР 2025.xlsx"
        xlsx(exports / "2025" / str(grade) / name, {"Sheet": [REGIONAL_2021_HEAD] + rows})

    # 2026: Ф1 files as the project's real-files writer makes them (edu-logins)
    canonical = write_dataset(root / "canonical2026", schools=schools, vpr=vpr[vpr["year"].astype(int) == 2026],
                              vpr_tasks=tasks)
    fisoko_individual.write(load_dataset(canonical, methodology=meth), exports / "2026", meth)

    # the login change: a login directory for half of the schools, the context questionnaires for all
    where = {"город": "2. Город", "село": "4. Населенный пункт сельского типа"}
    xlsx(exports / "справочники" / "логины 2026.xlsx", {"Логины": [
            ["логин", "имя", "регион", "прежний логин"]] + [
            [s.school_id, s.school_name, f"{s.municipality_name}({s.municipality_id})",
             old_login(s.school_id) if k < 5 else None] for k, s in enumerate(schools.itertuples())]})
    xlsx(exports / "2025" / "Контекстные данные ОО 2025.xlsx", {"Лист1": [
        ["Сбор контекстных данных об ОО и участниках ВПР 2025"], [],
        ["Логин", "Наименование ОО", "Муниципалитет", Q_CODE, Q_WHERE]] + [
        [old_login(s.school_id), s.school_name, s.municipality_name, f"99{int(s.school_id[5:]):04d}",
         where[s.settlement]] for s in schools.itertuples()]})
    xlsx(exports / "2026" / "Контекстные данные ОО 2026.xlsx", {"Общая информация об ОО": [
        ["Сбор контекстных данных об ОО (2026)"],
        ["Логин ОО", "Наименование ОО", "Муниципалитет", Q_CODE, Q_WHERE]] + [
        [s.school_id, s.school_name, f"{s.municipality_id} | {s.municipality_name}", f"99{int(s.school_id[5:]):04d}",
         where[s.settlement]] for s in schools.itertuples()]})

    # a file nobody can read as results
    xlsx(exports / "2026" / "список классов.xlsx", {"Лист1": [["Класс", "Учитель"], ["4А", "—"]]})

    truth = pd.concat([vpr, langs], ignore_index=True)
    return exports, truth, planted, schools


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "year": frame["year"].astype(int), "wave": frame["wave"].astype(str), "subject": frame["subject"].astype(str),
        "grade": frame["grade"].astype(int), "school_id": frame["school_id"].astype(str),
        "participant_code": frame["participant_code"].astype(str),
        "class_label": frame["class_label"].astype(str),
        "absent": frame["absent"].astype(bool),
        "primary_score": pd.to_numeric(frame["primary_score"], errors="coerce").astype("Int64"),
        "mark": pd.to_numeric(frame["mark"], errors="coerce").astype("Int64"),
        "journal_mark": pd.to_numeric(frame["journal_mark"], errors="coerce").astype("Int64"),
    })
    return out.sort_values(KEY).reset_index(drop=True)


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    root = tmp_path_factory.mktemp("region")
    exports, truth, planted, schools = write_region(root)
    secret = root / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    code = main(["ingest", str(exports), "--out", str(root / "data" / "region"), "--secret-file", str(secret)])
    return {"root": root, "exports": exports, "truth": truth, "planted": planted, "schools": schools,
            "code": code, "out": root / "data" / "region"}


def test_the_region_ingests_into_the_truth_minus_exactly_the_planted_rows(region):
    assert region["code"] == 1                                     # four rows quarantined, one file rejected
    got = _canonical(load_dataset(region["out"]).vpr)
    truth = _canonical(region["truth"])
    planted = pd.DataFrame(region["planted"], columns=KEY).astype({"year": int, "grade": int})
    assert len(planted) == 4 and len(truth) == 1870                # ≈ 0.2 % of the rows are planted
    keep = truth.merge(planted, on=KEY, how="left", indicator=True)
    expected = keep[keep["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)
    assert len(expected) == len(truth) - 4
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_the_bad_rows_are_listed_and_the_unknown_file_rejected(region):
    out = region["out"]
    listed = pd.read_csv(out / "rejected_rows.csv", encoding="utf-8-sig", dtype=str)
    assert len(listed) == 4
    assert sorted(Path(f).parts[-3] for f in listed["file"]) == ["2024", "2025", "2025", "2025"]
    assert listed["rule"].str.contains("сдвинуты на столбец вправо").sum() == 1
    assert "Иванов" not in listed.to_csv()
    report = json.loads((out / "ingest_report.json").read_text(encoding="utf-8"))
    assert [Path(f["file"]).name for f in report["files"] if f["status"] == "отклонён"] == ["список классов.xlsx"]
    assert [Path(s["file"]).name for s in report["skipped"]] == ["~$Русский язык.xlsx"]
    assert report["quarantined"] == 4
    assert (out / "ingest_report.html").exists()


def test_one_school_one_id_across_the_login_change(region):
    ds = load_dataset(region["out"])
    demo = region["schools"].set_index("school_id")
    assert set(ds.vpr["school_id"]) == set(demo.index)             # no sch99… id survives
    directory = pd.read_csv(region["out"] / "school_directory.csv", encoding="utf-8-sig", dtype=str)
    links = directory[directory["kind"] == "соответствие"]
    assert dict(zip(links["old_id"], links["school_id"])) == {old_login(s): s for s in demo.index}
    rules = links.set_index("school_id")["rule"]
    assert (rules[demo.index[:5]] == RULE_PREVIOUS).all()          # the login directory, where it has the column
    assert (rules[demo.index[5:]] == RULE_RCOI).all()              # else one «Код ОГЭ/ЕГЭ» in both years
    got = ds.schools.set_index("school_id").loc[demo.index]
    assert got["settlement"].tolist() == demo["settlement"].tolist()   # from the context files, not «город»
    for column in ("municipality_id", "municipality_name", "school_name", "school_type"):
        assert got[column].tolist() == demo[column].tolist(), column


def test_the_batch_runs_on_the_ingested_region(region):
    """`shnor run PARAMS.yaml` on the ingested dataset: a tiny set (two templates, two schools — a town
    and a village one — and the region, one worker) runs with no failure; the year with the languages
    shows English and German as subjects of their own."""
    root, repo = region["root"], Path(__file__).resolve().parents[2]
    town, village = region["schools"]["school_id"].iloc[[0, 5]]
    params = root / "params.yaml"
    params.write_text(
        f"title: \"Реальный регион (проверка)\"\ndataset: {region['out']}\nyear: 2025\n"
        f"region_name: \"Демонстрационная область\"\noutput: {root / 'output'}\nruns_dir: {root / 'runs'}\n"
        f"templates: {repo / 'notebooks' / 'templates'}\nworkers: 1\nreports:\n"
        f"  - template: vpr_objectivity\n    scopes: [school, region]\n    filter: {{school_id: [{town}, {village}]}}\n"
        "  - template: indicator_dynamics\n    scopes: [region]\n", encoding="utf-8")
    assert main(["run", str(params)]) == 0
    out = root / "output"
    made = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html") if p.parent != out)
    assert made == ["region/indicator_dynamics.html", "region/vpr_objectivity.html",
                    f"school/{town}/vpr_objectivity.html", f"school/{village}/vpr_objectivity.html"]
    page = (out / "region" / "vpr_objectivity.html").read_text(encoding="utf-8")
    assert "Английский язык, 7 класс" in page and "Немецкий язык, 7 класс" in page
    # the seed 001 target of «Иностранный язык», 7 класс applies to each language (a target column, not «—»)
    plain = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    for language in ("Английский язык", "Немецкий язык"):
        assert re.search(language + r" 7 30 (\d+,\d % ){4}≥ 75 %", plain), language


def test_a_row_shifted_right_into_the_textbook_column_is_quarantined(tmp_path):
    """Found by this test: such a row loaded silently (score = the variant, class «5М») with exit code 0."""
    from shnor_utils.data.ingest import ingest

    rows = [regional_2021_pupil(i, t1=i % 8, t2=3) for i in range(1, 41)]
    rows[10] = shifted_right(rows[10])                                      # source row 12
    assert rows[10][6:9] == ["м", "а", 1]                                   # «класс» = sex, «вариант» = letter
    rows[20][7] = "отсутствовал"                                            # an absentee is not a shift
    f = xlsx(tmp_path / "Проведение работы по математике, 5 класс. ВПР 2021.xlsx", {"Sheet": regional_2021_rows(rows)})
    result = ingest([f], tmp_path / "ds")
    assert result.exit_code == 1
    listed = pd.read_csv(tmp_path / "ds" / "rejected_rows.csv", encoding="utf-8-sig", dtype=str)
    assert listed[["row", "column"]].values.tolist() == [["12", "класс"]]
    vpr = load_dataset(tmp_path / "ds").vpr
    assert len(vpr) == 39 and "50011" not in set(vpr["participant_code"]) and vpr["absent"].sum() == 1
