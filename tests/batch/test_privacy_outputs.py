"""Small groups are not shown in the batch outputs (METHODOLOGY.md §0): the sidecar of a report, the
Excel workbook and the index page of a tiny batch hold no value of a school of two pupils."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from shnor_utils.batch.runner import run_batch
from shnor_utils.methodology import load_methodology

from tests.batch.test_runner import _Collect, write_params
from tests.conftest import VPR, write_dataset

SHARES = {"vpr_journal_lower", "vpr_journal_confirm", "vpr_journal_higher"}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """s1: 4 compared marks (higher 1); s2: 2 pupils, both marked higher in the ВПР than in the journal."""
    tmp = tmp_path_factory.mktemp("privacy")
    s2 = pd.DataFrame({"year": [2024, 2024], "subject": ["Математика"] * 2, "grade": [5, 5], "school_id": ["s2", "s2"],
                       "participant_code": ["1", "2"], "absent": ["false", "false"], "primary_score": [16, 17],
                       "mark": [5, 5], "journal_mark": [4, 3]})
    data = write_dataset(tmp / "data", vpr=pd.concat([VPR[VPR["school_id"] == "s1"], s2], ignore_index=True))
    params = write_params(tmp, data, [{"template": "vpr_objectivity", "scopes": ["school", "municipality"],
                                       "filter": {"municipality_id": ["m1"]}}], year=2024)
    log: list = []
    code = run_batch(params, workers=1, out=_Collect(log))
    assert code == 0, "".join(log)
    return tmp / "output"


def test_sidecars_hold_no_value_of_the_small_group(batch):
    own = json.loads((batch / "school" / "s2" / "indicators.json").read_text(encoding="utf-8"))
    rows = [r for r in own["indicators"] if r["indicator_id"] in SHARES]
    assert len(rows) == 3
    for r in rows:
        assert r["value"] is None and r["numerator"] is None and r["ci_low"] is None and r["ci_high"] is None
        assert r["flag"] == "suppressed" and r["denominator"] == 2
    # the municipality (6 compared marks) is shown: повысили 1 (s1) + 2 (s2) of 6
    mun = json.loads((batch / "municipality" / "m1" / "indicators.json").read_text(encoding="utf-8"))
    higher = [r for r in mun["indicators"] if r["indicator_id"] == "vpr_journal_higher"]
    assert [r["value"] for r in higher] == [50.0] and higher[0]["denominator"] == 6


def test_workbook_holds_no_value_of_the_small_group(batch):
    from openpyxl import load_workbook

    wb = load_workbook(batch / "indicators.xlsx", read_only=True)
    for sheet in ("Все показатели", "ВПР — журнал"):
        rows = list(wb[sheet].iter_rows(values_only=True))
        head = rows[0]
        table = pd.DataFrame([list(r) + [None] * (len(head) - len(r)) for r in rows[1:]], columns=head)
        s2 = table[(table["Код"] == "s2") & table["Код показателя"].isin(SHARES)]
        assert len(s2) == 3, sheet
        hidden = load_methodology().words.flag("suppressed")   # the mark in the methodology's words
        assert s2["Значение"].isna().all() and (s2["Отметка"] == hidden).all(), sheet
        if "Числитель" in table:
            assert s2["Числитель"].isna().all()
        s1 = table[(table["Код"] == "s1") & (table["Код показателя"] == "vpr_journal_lower")]
        assert s1["Значение"].tolist() == [50.0], sheet     # s1: понизили 2 of 4


def test_index_page_shows_no_value_of_the_small_group(batch):
    page = (batch / "index.html").read_text(encoding="utf-8")
    row = re.search(r'<tr class="school"[^>]*data-text="школа № 2 s2".*?</tr>', page).group(0)
    assert "%" not in row and "100" not in row
