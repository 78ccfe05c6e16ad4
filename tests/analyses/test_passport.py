"""The school passport is one page a methodologist can act on (issue 14, point 2; issue 16, point 2):
the planted ШНОР schools' status comes first, findings are at most seven and ordered by severity, the
page is bounded, nothing positive is shown as a warning, and «на грани» reaches the index as a flag."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import nbformat
import pandas as pd
import papermill
import pytest

from shnor_utils.analyses import compute_all
from shnor_utils.analyses.shnor import compute as shnor
from shnor_utils.analyses.shnor import passport as P
from shnor_utils.analyses.shnor import watch
from shnor_utils.batch.publish import school_flags
from shnor_utils.batch.render import to_html
from shnor_utils.data.dataset import load_dataset
from shnor_utils.methodology import load_methodology
from shnor_utils.reporting.report import Report

from tests.conftest import ROOT

METH = load_methodology()
YEAR = 2026


@pytest.fixture(scope="module")
def demo(demo_small):
    ds = load_dataset(demo_small, methodology=METH)
    return ds, compute_all(ds, METH), json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))


def passport(demo, school_id):
    ds, ind, _ = demo
    return Report(ds, METH, ind, template="school_passport", scope="school", entity_id=school_id, year=YEAR,
                  parameters={"templates": str(ROOT / "notebooks" / "templates")})


def test_planted_shnor_schools_status_comes_first(demo):
    planted = demo[2]["shnor"][str(YEAR)]
    assert planted
    for sid in planted:
        found = P.findings(passport(demo, sid))
        assert found[0].severity == "flag" and found[0].text.startswith(f"Школа в перечне ШНОР на {YEAR} г."), sid
        assert "n = " in found[0].text                     # the basis carries n of each low procedure
        assert P.status_lines(passport(demo, sid))[0].startswith(f"Школа в перечне ШНОР на {YEAR} г.")


def test_every_passport_is_one_page(demo):
    ds, _, truth = demo
    rank = {"flag": 0, "warning": 1, "info": 2}
    for sid in ds.schools["school_id"]:
        rep = passport(demo, sid)
        found = P.findings(rep)
        assert len(found) <= P.MAX_FINDINGS, sid
        assert [rank[f.severity] for f in found] == sorted(rank[f.severity] for f in found), sid
        key, _ = P.key_table(rep)
        assert len(key) <= P.MAX_KEY
        signs, _ = P.signs_table(rep)
        watch_rows, _ = P.watch_table(rep)
        rows = len(P.status_table(rep)) + len(watch_rows) + len(signs) + len(key)
        assert rows <= 4 + len(shnor.procedures(METH)) + len(P.sign_ids()) + P.MAX_KEY, sid
        text = " ".join(f.text + " " + f.rule for f in found)
        assert "_dd" not in text and "положительн" not in text and "лучше региона" not in text, sid
        if sid not in truth["shnor"][str(YEAR)]:
            assert not any(f.text.startswith("Школа в перечне ШНОР") for f in found), sid


def test_key_indicators_compare_with_municipality_and_region(demo):
    rep = passport(demo, "edu990037")
    key, classes = P.key_table(rep)
    assert 6 <= len(key) <= 10
    assert {"Школа", "n", "Муниципалитет", "Регион", "Сравнение с регионом"} <= set(key.columns)
    # the ЕГЭ русский язык of the planted school: 6 of 9 below the minimum → the rule's low result, marked
    row = key[key["Показатель"] == "Не справились: ЕГЭ, Русский язык"].iloc[0]
    assert row["Школа"] == "66,7\u00a0%" and row["n"] == "9" and row["Сравнение с регионом"].startswith("низкий результат")
    assert classes[key.index[key["Показатель"] == "Не справились: ЕГЭ, Русский язык"][0]] == "shnor-flag"
    # «лучше региона» / «на уровне региона» rows are never highlighted
    assert all(c == "" for c, v in zip(classes, key["Сравнение с регионом"]) if v in ("лучше региона", "на уровне региона"))


def test_links_are_siblings_in_the_same_folder(demo):
    hrefs = dict((h, t) for t, h in P.links(passport(demo, "edu990037")))
    assert "vpr_objectivity.html" in hrefs and "indicator_dynamics.html" in hrefs
    assert "school_passport.html" not in hrefs
    assert "../../index.html" in hrefs


# ---- «на грани» as a school flag: hand-made -----------------------------------------------------------
def test_watch_flag_by_hand(monkeypatch):
    # «enter»: 1 low procedure in 2025 (k_prev = 1), 2026: a procedure at 2 of 10 (one more → low → k = 1 → listed)
    # «stays off»: 2 of 10 in 2026 but no low procedure before → flipping gives k = 1, k_prev = 0: not listed
    # «far»: 0 of 10 — not near
    rows = [("enter", 2025, "p1", 10, 5), ("enter", 2026, "p1", 10, 2),
            ("stays", 2025, "p1", 10, 0), ("stays", 2026, "p1", 10, 2),
            ("far", 2025, "p1", 10, 0), ("far", 2026, "p1", 10, 0)]
    res = shnor.judge(pd.DataFrame(rows, columns=["school_id", "year", "procedure", "participants", "failed"]), METH)
    monkeypatch.setattr(watch.compute, "procedure_results", lambda ds, meth: res)
    out = watch.watch_indicators(SimpleNamespace(has=lambda t: True), METH)
    got = {(r.entity_id, r.year): (r.value, r.numerator) for r in out.itertuples()}
    assert got[("enter", 2026)] == (1, 1)
    assert got[("stays", 2026)] == (0, 0) and got[("far", 2026)] == (0, 0)
    # 2025: 5 of 10 needs 3 fewer to leave (distance −3 > 2) and is 20 п.п. above the cut (> 5): not near
    assert got[("enter", 2025)] == (0, 0)


def test_watch_flag_reaches_the_index(demo):
    _, ind, _ = demo
    flags = school_flags(ind, YEAR, METH)
    watched = set(ind[(ind.indicator_id == "shnor_watch") & (ind.year == YEAR) & (ind.value == 1)].entity_id)
    assert watched
    for sid in watched:
        assert "на грани" in flags[sid]
    assert not any("на грани" in v for k, v in flags.items() if k not in watched)


def test_rendered_passport_is_short(demo_small, tmp_path):
    out = tmp_path / "passport.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "templates" / "school_passport.ipynb"), str(out),
                               parameters={"dataset": str(demo_small), "scope": "school", "entity_id": "edu990037",
                                           "year": YEAR, "templates": str(ROOT / "notebooks" / "templates")},
                               cwd=str(ROOT / "notebooks" / "templates"), progress_bar=False, kernel_name="python3")
    page = to_html(nbformat.read(out, as_version=4), "school_passport")
    body = re.sub(r"<(head|style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    assert len(re.findall(r"<tr\b", body)) <= 40           # was 150–200 «⚠» rows
    items = re.findall(r'<li class="shnor-(flag|warning|info)"', body)
    assert 1 <= len(items) <= 7 and items[0] == "flag"
    assert "Школа в перечне ШНОР на 2026 г." in body
    assert "_dd" not in body


def test_indicators_worse_than_the_region_are_one_finding(demo):
    # edu990003 (a planted ШНОР school): several key indicators significantly worse than the region — one
    # line naming each (they are also highlighted in the table), not one finding per row
    rep = passport(demo, "edu990003")
    key, _ = P.key_table(rep)
    worse = key[key["Сравнение с регионом"] == "хуже региона"]
    assert len(worse) >= 2
    lines = [f for f in P.findings(rep) if f.text.startswith("Значимо хуже региона")]
    assert len(lines) == 1
    for _, r in worse.iterrows():
        assert f"{r['Показатель']} — {r['Школа']} (n = {r['n']})" in lines[0].text
