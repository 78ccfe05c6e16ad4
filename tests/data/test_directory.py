"""The school directory (shnor_utils/data/directory.py): one test per rule, on small hand-made inputs,
and one ingest of a two-year region written in the real layouts."""
from __future__ import annotations

import json

import pandas as pd

from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.directory import (FILE_NAME, RULE_NAME, RULE_PREVIOUS, RULE_RCOI, RULE_USER, apply_directory)
from shnor_utils.data.formats.common import Extract
from shnor_utils.data.ingest import ingest

from . import realfiles_more as R
from .realfiles import xls, xlsx


def extract(schools=(), directory=(), tables=None) -> Extract:
    e = Extract()
    e.schools = [dict(zip(("school_id", "school_name", "municipality_id", "municipality_name"), s)) for s in schools]
    e.directory = [dict(d) for d in directory]
    for name, frame in (tables or {}).items():
        e.add(name, frame)
    return e


def vpr(*rows):
    return pd.DataFrame(rows, columns=["year", "school_id", "participant_code"])


def links(d) -> list:
    return sorted(map(tuple, d.links[["old_id", "school_id", "rule"]].values.tolist()))


# ---- rule 4: name + municipality; the login change sch→edu -------------------------------------------------
def test_login_change_sch_to_edu_by_name_and_municipality():
    tables = {"vpr": vpr((2021, "sch220001", "1"), (2022, "edu220001", "1"), (2022, "edu220009", "2"))}
    e = extract(schools=[("sch220001", "МБОУ «Верхняя СОШ»", None, "Верхний район"),
                         ("edu220001", 'МБОУ "Верхняя  СОШ"', "reg22_m001", "Верхний район"),   # quotes, spaces differ
                         ("edu220009", "МБОУ «Другая СОШ»", "reg22_m001", "Верхний район")])
    d = apply_directory(tables, [e])
    assert links(d) == [("sch220001", "edu220001", RULE_NAME)]
    assert "sch220001: 2021, edu220001: 2022" in d.links["evidence"][0]
    assert sorted(d.tables["vpr"]["school_id"]) == ["edu220001", "edu220001", "edu220009"]
    assert {o["school_id"] for o in d.observed} == {"edu220001", "edu220009"}
    assert tables["vpr"]["school_id"].tolist()[0] == "sch220001"          # pure: the input is not changed
    assert d.counts["строк, где логин школы заменён по справочнику школ (см. school_directory.csv)"] == 1
    assert d.counts["логинов связано с логином другого года (справочник школ, school_directory.csv)"] == 1


def test_without_years_only_sch_to_edu_is_linked():
    e = extract(schools=[("sch220001", "СОШ", "reg22_m001", None), ("edu220001", "СОШ", "reg22_m001", None),
                         ("edu220002", "Лицей", "reg22_m001", None), ("edu220003", "Лицей", "reg22_m001", None)])
    d = apply_directory({}, [e])
    assert links(d) == [("sch220001", "edu220001", RULE_NAME)]
    assert d.ambiguous["school_id"].tolist() == ["edu220002, edu220003"]     # two edu logins: left apart


# ---- municipality name vs code -------------------------------------------------------------------------
def test_municipality_name_gets_its_code():
    e = extract(schools=[("sch220001", None, None, "город Славгород"),
                         ("edu224312", 'МБОУ "СОШ №10"', "reg22_m067", "город Славгород"),
                         ("edu220050", None, None, "Неизвестный район")])
    d = apply_directory({}, [e])
    mun = {o["school_id"]: o["municipality_id"] for o in d.observed}
    assert mun == {"sch220001": "reg22_m067", "edu224312": "reg22_m067", "edu220050": None}
    assert d.municipalities[["municipality_name", "municipality_id"]].values.tolist() == [["город Славгород", "reg22_m067"]]
    assert d.counts["код муниципалитета найден по названию (справочник школ)"] == 1


def test_name_with_two_codes_is_not_used():
    e = extract(schools=[("edu1", None, "reg22_m001", "Центральный район"), ("edu2", None, "reg22_m002", "Центральный район"),
                         ("sch3", None, None, "Центральный район")])
    d = apply_directory({}, [e])
    assert {o["school_id"]: o["municipality_id"] for o in d.observed}["sch3"] is None
    assert d.municipalities["evidence"].str.startswith("неоднозначно").all()


# ---- ambiguous name match ------------------------------------------------------------------------------
def test_same_name_in_one_year_is_ambiguous_and_listed():
    tables = {"vpr": vpr((2021, "sch220005", "1"), (2022, "edu220005", "1"), (2022, "edu220006", "1"))}
    e = extract(schools=[(s, "МБОУ «СОШ №1»", None, "Нижний район") for s in ("sch220005", "edu220005", "edu220006")])
    d = apply_directory(tables, [e])
    assert d.links.empty
    assert d.ambiguous["school_id"].tolist() == ["edu220005, edu220006, sch220005"]
    assert "оставлены раздельно" in d.ambiguous["evidence"][0]
    assert sorted(d.tables["vpr"]["school_id"]) == ["edu220005", "edu220006", "sch220005"]   # nothing merged
    assert d.warnings and FILE_NAME in d.warnings[0]


def test_two_logins_of_one_year_are_two_schools():
    tables = {"vpr": vpr((2022, "sch1", "1"), (2022, "edu1", "1"))}
    e = extract(schools=[("sch1", "СОШ", "m", None), ("edu1", "СОШ", "m", None)])
    d = apply_directory(tables, [e])
    assert d.links.empty and len(d.ambiguous) == 1 and "общий год" in d.ambiguous["evidence"][0]


# ---- rules 1–3 and their order ------------------------------------------------------------------------
def test_user_csv_previous_login_and_rcoi_code(tmp_path):
    csv = tmp_path / "crosswalk.csv"
    csv.write_text("old_id,new_id,comment\nsch1,edu1,переименована\nsch9,edu9,\n", encoding="utf-8")
    e = extract(directory=[
        {"school_id": "edu2", "previous_id": "sch2", "file": "/x/Логины.xlsx", "sheet": "Логины", "row": 3},
        {"school_id": "sch3", "year": 2021, "rcoi_code": "220103", "file": "/x/c21.xlsx", "sheet": "Лист1", "row": 4},
        {"school_id": "edu3", "year": 2022, "rcoi_code": "220103", "file": "/x/c22.xlsx", "sheet": "Лист1", "row": 5},
        # the name rule would send sch1 elsewhere: the user's file is stronger
        {"school_id": "sch1", "school_name": "СОШ", "municipality_id": "reg22_m001"},
        {"school_id": "edu7", "school_name": "СОШ", "municipality_id": "reg22_m001"}])
    d = apply_directory({}, [e], crosswalk_file=csv)
    assert links(d) == [("sch1", "edu1", RULE_USER), ("sch2", "edu2", RULE_PREVIOUS), ("sch3", "edu3", RULE_RCOI),
                        ("sch9", "edu9", RULE_USER)]
    ev = dict(zip(d.links["old_id"], d.links["evidence"]))
    assert ev["sch1"] == "crosswalk.csv, строка 2: переименована"
    assert ev["sch2"] == "Логины.xlsx, лист «Логины», строка 3: прежний логин sch2"
    assert ev["sch3"].startswith("код 220103: sch3 (2021, c21.xlsx")


def test_chains_follow_to_the_newest_id():
    e = extract(directory=[{"school_id": "b", "previous_id": "a"}, {"school_id": "c", "previous_id": "b"}])
    d = apply_directory({"vpr": vpr((2020, "a", "1"), (2021, "b", "1"), (2022, "c", "1"))}, [e])
    assert sorted(d.tables["vpr"]["school_id"]) == ["c", "c", "c"]
    assert dict(zip(d.links["old_id"], d.links["school_id"])) == {"a": "c", "b": "c"}


# ---- settlement and type from the context files ----------------------------------------------------------
def test_settlement_and_type_from_context_user_file_wins():
    e = extract(schools=[("edu1", "МБОУ «Верхняя СОШ»", "reg22_m001", "Верхний"), ("edu2", "Гимназия", "reg22_m001", "Верхний"),
                         ("edu3", "Школа", "reg22_m001", "Верхний")],
                directory=[{"school_id": "edu1", "year": 2021, "settlement": "город", "students": 100},
                           {"school_id": "edu1", "year": 2022, "settlement": "село", "boarding": True, "students": 118,
                            "rcoi_code": "220101", "source": "контекстные данные ОО 2022"},
                           {"school_id": "edu2", "year": 2022, "settlement": "село", "evening": True},
                           {"school_id": "edu9", "year": 2022, "settlement": "село"},      # not in the data: not added
                           {"school_id": "edu3", "year": 2021, "evening": True},
                           {"school_id": "edu3", "year": 2022, "evening": False, "boarding": False}])   # no longer
    given = pd.DataFrame({"school_id": ["edu2"], "settlement": ["город"]})
    d = apply_directory({}, [e], given)
    g = d.given.set_index("school_id")
    assert sorted(g.index) == ["edu1", "edu2", "edu3"]
    assert pd.isna(g.at["edu3", "school_type"])               # 2022 «нет» wins over 2021 «вечерняя»
    assert (g.at["edu1", "settlement"], g.at["edu1", "school_type"], g.at["edu1", "students"], g.at["edu1", "rcoi_code"]) == \
        ("село", "интернат", "118", "220101")                     # the latest year's answers
    assert (g.at["edu2", "settlement"], g.at["edu2", "school_type"]) == ("город", "ВСОШ")   # --schools wins
    assert d.counts["тип поселения взят из «Сбор контекстных данных об ОО»"] == 1
    assert d.counts["тип школы взят из «Сбор контекстных данных об ОО» (вечерняя, интернат)"] == 2


# ---- the whole path: real layouts of two years → one dataset and school_directory.csv ----------------------
def test_ingest_two_years_one_school_per_login_change(tmp_path):
    files = [
        xlsx(tmp_path / "Проведение работы по математике, 5 класс. ВПР 2021.xlsx", R.regional_2021([
            ("sch220001", "Верхний район", "501", 4, "а", 1, 12, 6, 6),
            ("sch220002", "Верхний район", "502", 5, "б", 2, 16, 8, 8),
            ("sch220003", "Верхний район", "503", 3, "а", 1, 5, 2, 3)])),
        xlsx(tmp_path / "2022" / "5" / "Математика.xlsx", R.regional_form_2022([
            ('edu220001 | МБОУ "Верхняя СОШ"', "601", 1, 7, 5, "а", 4, 12),
            ("edu220002 | МБОУ «Гимназия №2»", "602", 2, 9, 9, "б", 5, 18)])),
        xlsx(tmp_path / "Сбор контекстных данных 2021.xlsx", R.context_2021()),
        xlsx(tmp_path / "Сбор контекстных данных 2022.xlsx", R.context_2022()),
        xlsx(tmp_path / "Логины ОО 2022.xlsx", R.login_directory()),
    ]
    result = ingest(files, tmp_path / "ds")
    assert result.exit_code == 0, result.report.to_text()
    ds = load_dataset(tmp_path / "ds")
    assert sorted(ds.vpr["school_id"].unique()) == ["edu220001", "edu220002", "sch220003"]
    schools = ds.schools.set_index("school_id")
    assert sorted(schools.index) == ["edu220001", "edu220002", "sch220003"]
    # settlement and type from the context files (the names carry no «с.» / «г.»), not the default «город»
    assert (schools.at["edu220001", "settlement"], schools.at["edu220001", "school_type"]) == ("село", "интернат")
    assert schools.at["sch220003", "school_type"] == "ВСОШ" and schools.at["edu220002", "settlement"] == "город"
    assert int(schools.at["edu220001", "students"]) == 118
    # the 2021 municipality name got the code the 2022 files give it
    assert set(schools["municipality_id"]) == {"reg22_m001"}
    cw = pd.read_csv(tmp_path / "ds" / FILE_NAME, dtype=str)
    pairs = cw[cw["kind"] == "соответствие"][["old_id", "school_id", "rule"]].values.tolist()
    assert sorted(map(tuple, pairs)) == [("sch220001", "edu220001", RULE_RCOI), ("sch220002", "edu220002", RULE_RCOI)]
    assert cw[cw["kind"] == "неоднозначно"]["school_id"].tolist() == ["edu220005, edu220006"]
    report = json.loads((tmp_path / "ds" / "ingest_report.json").read_text(encoding="utf-8"))
    assert report["quirks"]["тип поселения взят из «Сбор контекстных данных об ОО»"] == 3


def test_ingest_rcoi_codes_become_logins_and_user_crosswalk(tmp_path):
    """«Код ОГЭ/ЕГЭ» of the context file maps the РЦОИ protocol's «Код ОО» to the login (no --schools
    needed); the user's crosswalk joins a login the files cannot link."""
    secret = tmp_path / "secret.txt"
    secret.write_text("тестовый-секрет-0123456789abcdef", encoding="utf-8")
    cross = tmp_path / "cw.csv"
    cross.write_text("old_id,new_id,comment\nsch220077,edu220002,приказ о реорганизации\n", encoding="utf-8")
    files = [
        xls(tmp_path / "p.xls", {"Лист1": R.rcoi_untitled_oge()}),
        xlsx(tmp_path / "Сбор контекстных данных 2022.xlsx", R.context_2022()),
        xlsx(tmp_path / "Проведение работы по математике, 5 класс. ВПР 2021.xlsx", R.regional_2021([
            ("sch220077", "Верхний район", "501", 4, "а", 1, 12, 6, 6)])),
    ]
    result = ingest(files, tmp_path / "ds", secret_file=secret, crosswalk_file=cross)
    assert result.exit_code == 0, result.report.to_text()
    ds = load_dataset(tmp_path / "ds")
    assert sorted(ds.gia["school_id"]) == ["edu220001", "edu220002"]      # 220101, 220102 → logins
    assert ds.vpr["school_id"].tolist() == ["edu220002"]
    assert sorted(ds.schools["school_id"]) == ["edu220001", "edu220002"]
    schools = ds.schools.set_index("school_id")
    assert (schools.at["edu220001", "school_name"], schools.at["edu220001", "municipality_id"],
            schools.at["edu220001", "settlement"]) == ("МБОУ «Верхняя СОШ»", "reg22_m001", "село")
    cw = pd.read_csv(tmp_path / "ds" / FILE_NAME, dtype=str)
    row = cw[cw["kind"] == "соответствие"].iloc[0]
    assert (row["old_id"], row["school_id"], row["rule"], row["evidence"]) == (
        "sch220077", "edu220002", RULE_USER, "cw.csv, строка 2: приказ о реорганизации")


def test_school_directory_csv_is_formula_safe(tmp_path):
    csv = tmp_path / "cw.csv"
    csv.write_text("old_id,new_id,comment\n=cmd|x,edu1,=HYPERLINK(\"http://x\")\n", encoding="utf-8")
    d = apply_directory({}, [extract()], crosswalk_file=csv)
    path = d.write(tmp_path)
    cw = pd.read_csv(path, dtype=str)
    assert cw["old_id"].tolist() == ["'=cmd|x"]
    assert not any(str(v).startswith("=") for v in cw.fillna("").values.ravel())


def test_cli_passes_the_crosswalk(tmp_path, monkeypatch):
    from shnor_utils import cli

    seen = {}

    def fake(files, out, **kw):
        seen.update(kw)
        raise SystemExit(0)
    monkeypatch.setattr(cli, "ingest", fake)
    try:
        cli.main(["ingest", "a.xlsx", "--out", str(tmp_path / "ds"), "--crosswalk", "cw.csv"])
    except SystemExit:
        pass
    assert seen["crosswalk_file"] == "cw.csv"
