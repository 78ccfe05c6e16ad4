"""Every school-level flag rolls up: the planted journal-mark inflation of the demo (truth.json
`journal_inflation`) becomes the 0/1 school flag `vpr_journal_inflated`, a chip on the index, and a
finding of its municipality's and the region's objectivity report."""
import json

import pytest

from shnor_utils.analyses import ALL
from shnor_utils.analyses.objectivity import present as V
from shnor_utils.analyses.objectivity.compute import INFLATION_ID
from shnor_utils.batch.publish import school_flags
from shnor_utils.indicators.registry import index_flags_of
from shnor_utils.session import open_report


@pytest.fixture(scope="module")
def truth(demo_small):
    return json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))


def _open(demo_small, scope, entity_id=None, template="vpr_objectivity"):
    return open_report(demo_small, template=template, scope=scope, entity_id=entity_id, year=2026)


def test_inflation_is_an_index_flag():
    assert INFLATION_ID in index_flags_of(ALL)


def test_planted_schools_and_only_they_are_flagged(demo_small, truth):
    rep = _open(demo_small, "region")
    rows = rep.indicators[(rep.indicators["indicator_id"] == INFLATION_ID) & (rep.indicators["value"] == 1)]
    planted = {(p["school_id"], y) for p in truth["journal_inflation"] for y in p["years"]}
    assert set(zip(rows["entity_id"], rows["year"].astype(int))) == planted


def test_planted_schools_get_their_chip(demo_small, truth):
    rep = _open(demo_small, "region")
    flags = school_flags(rep.indicators, 2026, rep.meth)
    chip = rep.meth.words.short(INFLATION_ID)
    for p in truth["journal_inflation"]:
        assert chip in flags.get(p["school_id"], []), p["school_id"]


def test_planted_schools_appear_in_municipality_and_region_findings(demo_small, truth):
    region = _open(demo_small, "region")
    names = region.school_names()
    mun_of = region.ds.schools.set_index("school_id")["municipality_id"]
    chip = region.meth.words.short(INFLATION_ID)
    chip = chip[:1].upper() + chip[1:]
    region_text = " ".join(f.text for f in V.all_findings(region) if f.text.startswith(chip))
    assert "3 школы" in region_text
    for p in truth["journal_inflation"]:
        sid = p["school_id"]
        assert names[sid] in region_text
        mun = _open(demo_small, "municipality", mun_of[sid])
        found = [f for f in V.all_findings(mun) if f.text.startswith(chip)]
        assert len(found) == 1 and names[sid] in found[0].text and found[0].severity == "flag"
        assert "(n = " in found[0].text


def test_school_report_has_no_rollup(demo_small, truth):
    sid = truth["journal_inflation"][0]["school_id"]
    rep = _open(demo_small, "school", sid)
    assert rep.school_flag_findings([INFLATION_ID]) == []
