"""A finding is a sentence, not a list: at most FINDING_LISTED names, then «и ещё N — <where all are>».
A 1,000-school region flags ~90 schools «на грани»; its findings named every one of them."""
from __future__ import annotations

import re

import pytest

from shnor_utils.analyses.shnor import present as S
from shnor_utils.reporting import html
from shnor_utils.reporting.html import listed
from shnor_utils.session import open_report


def test_listed_joins_up_to_the_limit_and_says_how_many_more_and_where():
    assert listed(["А", "Б"], "все в таблице", limit=2) == "А; Б"
    assert listed(["А", "Б", "В", "Г", "Д"], "все в таблице", limit=2) == "А; Б; и ещё 3 — все в таблице"
    assert listed([], "все в таблице") == ""
    assert listed([str(i) for i in range(html.FINDING_LISTED + 1)], "x").endswith("; и ещё 1 — x")


@pytest.fixture()
def region(demo_small):
    return open_report(demo_small, template="shnor_selection", scope="region", year=2026)


def test_region_shnor_findings_name_at_most_the_limit(region, monkeypatch):
    """With the limit at 2, the demo's 6 «на грани» schools read as two names and «и ещё 4», pointing
    to the index page's flag filter; the possible mentors are two findings and «Ещё N школ…»."""
    full = S.findings(region)
    monkeypatch.setattr(html, "FINDING_LISTED", 2)
    monkeypatch.setattr(S, "FINDING_LISTED", 2)
    short = S.findings(region)
    rolled = [f for f in short if re.match(r"^\S.* \(2026 г\.\): \d+ школ", f.text)]
    assert rolled, [f.text for f in short]
    for f in rolled:
        k = int(re.search(r"\(2026 г\.\): (\d+) школ", f.text).group(1))
        names = f.text.split(" — ", 1)[1]
        if k > 2:
            assert f"; и ещё {k - 2} — все в оглавлении отчётов, флаг «" in names
            assert names.count(";") == 2                   # two names, then «и ещё»
        else:
            assert "и ещё" not in names
    assert any(int(re.search(r"(\d+) школ", f.text).group(1)) > 2 for f in rolled)   # the cap was exercised
    mentors = [f for f in full if f.text.endswith("возможный наставник.")]
    assert len(mentors) > 2                                # the demo plants more than two
    short_mentors = [f for f in short if f.text.endswith("возможный наставник.")]
    assert short_mentors == mentors[:2]                    # the two highest value added, as before
    more = [f for f in short if f.text.startswith("Ещё ") and "возможные наставники" in f.text]
    assert len(more) == 1 and more[0].text.startswith(f"Ещё {len(mentors) - 2} ")
