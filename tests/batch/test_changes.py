"""What changed (issue 16, point 3): flags appeared / cleared against last year, the previous run's
values against this run's, the digest page `output/changes.html` and each report's section."""
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from shnor_utils.analyses import ALL, compute_all
from shnor_utils.batch.changes import diff_values, snapshot_of, write_changes
from shnor_utils.data.dataset import load_dataset
from shnor_utils.indicators.registry import index_flags_of
from shnor_utils.methodology import load_methodology
from shnor_utils.reporting.changes import APPEARED, CLEARED, flag_moves

from tests.batch.probe import make_region, run as run_batch
from tests.conftest import read_table, write_table

COLS = ["level", "entity_id", "year", "indicator_id", "subject", "grade", "exam", "value", "numerator",
        "denominator", "ci_low", "ci_high", "flag"]


def _rows(*rows) -> pd.DataFrame:
    """(level, entity, year, indicator, value, n) rows of an indicator table."""
    return pd.DataFrame([{"level": lv, "entity_id": e, "year": y, "indicator_id": i, "subject": None, "grade": None,
                          "exam": None, "value": v, "numerator": None, "denominator": n, "ci_low": None, "ci_high": None,
                          "flag": None} for lv, e, y, i, v, n in rows], columns=COLS)


def test_flag_moves_hand_made():
    t = _rows(("school", "a", 2025, "shnor", 0, None), ("school", "a", 2026, "shnor", 1, None),    # appeared
              ("school", "b", 2025, "shnor", 1, None), ("school", "b", 2026, "shnor", 0, None),    # cleared
              ("school", "c", 2025, "shnor", 1, None), ("school", "c", 2026, "shnor", 1, None),    # kept
              ("school", "d", 2025, "shnor", 1, None),                                             # no 2026 row: unknown
              ("school", "e", 2026, "shnor", 1, None),                                             # no 2025 row: unknown
              ("school", "f", 2025, "risk_school", 0, None), ("school", "f", 2026, "risk_school", 1, None),
              ("school", "f", 2027, "shnor", 1, None))                                             # another year
    moves = flag_moves(t, ["shnor", "risk_school"], 2026)
    assert moves.values.tolist() == [["shnor", "a", APPEARED], ["shnor", "b", CLEARED], ["risk_school", "f", APPEARED]]
    assert flag_moves(t, ["shnor"], 2026, school_ids=["b"]).values.tolist() == [["shnor", "b", CLEARED]]
    assert flag_moves(t, ["shnor"], 2024).empty      # no year before: nothing is «new»


def _page_runs(out: Path, ids):
    return [SimpleNamespace(scope="school", entity_id=s, entity_name=s, title="Паспорт", template="p",
                            html=out / "school" / s / "p.html") for s in ids]


SCHOOLS = pd.DataFrame({"school_id": ["a", "b"], "school_name": ["Школа А", "Школа Б"],
                        "municipality_id": ["m", "m"], "municipality_name": ["Город", "Город"]})


def test_digest_of_two_runs_that_differ_in_one_school(tmp_path):
    meth = load_methodology(None)
    out = tmp_path / "out"
    first = _rows(("school", "a", 2026, "vpr_share_2", 10.0, 20), ("school", "b", 2026, "vpr_share_2", 30.0, 10))
    second = _rows(("school", "a", 2026, "vpr_share_2", 15.0, 20), ("school", "b", 2026, "vpr_share_2", 30.0, 10))
    kw = dict(title="Т", region_name="Область", runs=_page_runs(out, ["a", "b"]), schools=SCHOOLS, meth=meth,
              year=2026, flags=["shnor"], params="p.yaml")
    html = write_changes(out, indicators=first, **kw).read_text(encoding="utf-8")
    assert "Предыдущего прогона этого набора параметров с другими числами нет" in html
    html = write_changes(out, indicators=second, **kw).read_text(encoding="utf-8")
    table = re.search(r"По сравнению с предыдущим прогоном.*", html).group(0)
    assert "Школа А" in table and "Школа Б" not in table
    assert '<a href="school/a/p.html">Паспорт</a>' in table
    assert "ВПР: доля «2», 2026 г.: 10,0\u00a0% (n = 20) → 15,0\u00a0% (n = 20)" in table
    # the same values again (`shnor index`, a re-run): the comparison stays
    again = write_changes(out, indicators=second, **kw).read_text(encoding="utf-8")
    assert re.search(r"По сравнению с предыдущим прогоном.*", again).group(0).split("</p>", 1)[1] == table.split("</p>", 1)[1]
    # another parameter set in the same folder: nothing to compare with
    other = write_changes(out, indicators=second, **{**kw, "params": "other.yaml"}).read_text(encoding="utf-8")
    assert "Предыдущего прогона этого набора параметров с другими числами нет" in other


def test_diff_values_sees_value_n_and_new_rows():
    a = snapshot_of(_rows(("school", "a", 2026, "x", 1.0, 10), ("school", "a", 2026, "y", 2.0, 10)),
                    _page_runs(Path("/o"), ["a"]))
    b = snapshot_of(_rows(("school", "a", 2026, "x", 1.0, 11), ("school", "a", 2026, "z", 3.0, 10),
                          ("school", "a", 2026, "y", 2.0, 10)), _page_runs(Path("/o"), ["a"]))
    d = diff_values(a, b)
    assert sorted(d["indicator_id"]) == ["x", "z"]
    assert d.set_index("indicator_id").at["x", "denominator_before"] == 10


@pytest.fixture(scope="module")
def demo(demo_small):
    meth = load_methodology(None)
    ds = load_dataset(demo_small, methodology=meth)
    return ds, meth, compute_all(ds, meth), json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))


def test_demo_planted_signs_appear_and_clear(demo, tmp_path):
    ds, meth, ind, truth = demo
    moves = flag_moves(ind, index_flags_of(ALL), 2026)
    appeared = set(moves[(moves["indicator_id"] == "vpr_sign_inflated_mean") & (moves["change"] == APPEARED)]["school_id"])
    cleared = set(moves[(moves["indicator_id"] == "vpr_sign_mark_mismatch") & (moves["change"] == CLEARED)]["school_id"])
    planted_2026 = {p["school_id"] for p in truth["sign_inflated_mean"] if p["year"] == 2026}
    planted_2025 = {p["school_id"] for p in truth["sign_mark_mismatch"] if p["year"] == 2025}
    assert planted_2026 and planted_2026 <= appeared
    assert planted_2025 and planted_2025 <= cleared
    # journal inflation is planted in every year: it neither appears nor clears
    steady = {p["school_id"] for p in truth["journal_inflation"] if 2025 in p["years"] and 2026 in p["years"]}
    assert steady and not steady & set(moves[moves["indicator_id"] == "vpr_journal_inflated"]["school_id"])
    out = tmp_path / "out"
    runs = _page_runs(out, ds.schools["school_id"])
    html = write_changes(out, title="Т", region_name="Область", runs=runs, schools=ds.schools, indicators=ind,
                         meth=meth, year=2026, flags=index_flags_of(ALL), params="p").read_text(encoding="utf-8")
    names = ds.schools.set_index("school_id")["school_name"]
    for sid in planted_2026 | planted_2025:
        assert f'<a href="school/{sid}/p.html">' in html and names[sid].replace('"', "&quot;") in html


def test_report_section_names_the_planted_schools(demo, monkeypatch, demo_small):
    import shnor_utils.reporting.report as report
    from shnor_utils.session import open_report
    ds, meth, ind, truth = demo
    shown = []
    monkeypatch.setattr(report, "display_html", shown.append)
    rep = open_report(demo_small, template="t", scope="region")
    rep.changes()
    section = shown[-1]
    assert "<h2>Что изменилось с прошлого года</h2>" in section
    names = ds.schools.set_index("school_id")["school_name"]
    line = re.search(r"<li>Завышенный средний балл \(есть в 2026 г\., не было в 2025 г\.\): (\d+) школ[аы]? — ([^<]*)</li>", section)
    planted = {p["school_id"] for p in truth["sign_inflated_mean"] if p["year"] == 2026}
    assert line and int(line.group(1)) >= len(planted)
    for sid in planted:
        assert names[sid].replace('"', "&quot;") in line.group(2)
    sid = sorted(planted)[0]
    school = open_report(demo_small, template="t", scope="school", entity_id=sid)
    school.changes()
    assert "<li>Завышенный средний балл: есть в 2026 г., не было в 2025 г.</li>" in shown[-1]


def test_two_batches_that_differ_in_one_school(tmp_path, demo_small):
    reg = make_region(tmp_path, demo_small)
    params = reg["params"](scopes=("school",))
    code, text = run_batch(params)
    assert code == 0, text
    changed, others = reg["schools"][0], reg["schools"][1:]
    staffing = read_table(reg["data"], "staffing")
    mask = (staffing["school_id"] == changed) & (staffing["year"] == 2026)
    assert mask.any()
    staffing.loc[mask, "rates_filled"] = 0.0        # the school loses its staff in 2026; nothing else changes
    write_table(reg["data"], "staffing", staffing)
    code, text = run_batch(params)
    assert code == 0, text
    html = (reg["output"] / "changes.html").read_text(encoding="utf-8")
    table = re.search(r"По сравнению с предыдущим прогоном.*", html).group(0)
    names = read_table(reg["data"], "schools").set_index("school_id")["school_name"]
    assert names[changed].replace('"', "&quot;") in table
    for sid in others:
        assert names[sid].replace('"', "&quot;") not in table


def test_change_label_prints_whole_counts_without_decimals():
    from shnor_utils.methodology import load_methodology
    from shnor_utils.reporting.changes import change_label
    meth = load_methodology()
    assert meth.words.catalogue("vacancies")["unit"] == "шт."
    row = {"indicator_id": "vacancies", "exam": None, "subject": None, "grade": float("nan"), "dd": -2.0}
    assert change_label(meth, row) == "Число вакантных должностей: −2 шт."          # was «−2,0 шт.»
    share = {"indicator_id": "vpr_journal_lower", "exam": None, "subject": "Биология", "grade": 5.0, "dd": -24.4}
    assert change_label(meth, share).endswith("(Биология, 5 класс): −24,4\u00a0п.п.")
