"""Small groups are not shown (METHODOLOGY.md §0): which rows `privacy.suppress` hides, that it comes
from the methodology, that the computed table is untouched, and what a report and the CSV export show."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from shnor_utils import cli, session
from shnor_utils.analyses import compute_all
from shnor_utils.analyses.objectivity import present as V
from shnor_utils.data.dataset import load_dataset
from shnor_utils.indicators import finish
from shnor_utils.indicators import privacy as P
from shnor_utils.methodology import PACKAGE_CONFIG, load_methodology
from shnor_utils.reporting import report as R

from tests.conftest import VPR, write_dataset

METH = load_methodology()


def _row(entity, indicator, den, *, year=2025, value=50.0, level="school", subject="Математика", grade=5,
         ci=(10.0, 90.0), flag=pd.NA):
    numerator = None if den is None or value is None else value * den / 100
    return {"level": level, "entity_id": entity, "year": year, "indicator_id": indicator, "subject": subject,
            "grade": grade, "value": value, "numerator": numerator, "denominator": den,
            "ci_low": ci[0], "ci_high": ci[1], "flag": flag}


def _dd(entity, indicator, year, value=5.0, subject="Математика"):
    return {"level": "school", "entity_id": entity, "year": year, "indicator_id": indicator + "_dd",
            "subject": subject, "grade": 5, "value": value, "flag": "stable"}


# the hand-made table: (row, what must happen to it)
CASES = [
    (_row("s1", "vpr_share_2", 1), "hidden"),                 # 1 pupil
    (_row("s2", "vpr_share_2", 2), "hidden"),                 # 2 pupils
    (_row("s3", "vpr_share_2", 3), "shown"),                  # 3 = small_groups.suppress_below: shown
    (_row("s4", "vpr_share_2", None), "shown"),               # no denominator: nothing to count
    (_row("s5", "vpr_share_2", 0, value=None, ci=(None, None)), "shown"),   # an empty group hides nothing
    (_row("m1", "vpr_share_2", 2, level="municipality"), "hidden"),         # any level
    (_row("s1", "shnor", None, value=1.0, subject=None, grade=None, ci=(None, None)), "shown"),   # a 0/1 school flag
    (_row("m1", "risk_school_share", 2, level="municipality", subject=None, grade=None), "shown"),  # over schools
    (_row("s1", "staffing_rate", 1.5, subject=None, grade=None), "shown"),  # positions, not people
    (_row("s1", "teachers_under_35", 4, subject=None, grade=None), "hidden"),  # 4 < staffing.min_teachers
    (_row("s2", "teachers_under_35", 5, subject=None, grade=None), "shown"),
    (_row("s1", "vpr_sign_inflated_mean", 2, value=0.0, ci=(12.0, 15.0)), "interval"),  # the sign stays, its CI goes
    (_row("s1", "some_new_share", 2), "hidden"),              # unknown: treated as pupils
    # DD of vpr_share_2, Математика 5: s1 2026 (D(t−1) = 2025 hidden), s2 2025 (D(t) hidden),
    # s3 2026 (both years ≥ 3), s1 2026 of another subject (its base is not hidden)
    (_dd("s1", "vpr_share_2", 2026), "hidden"),
    (_dd("s2", "vpr_share_2", 2025), "hidden"),
    (_row("s3", "vpr_share_2", 5, year=2026), "shown"),
    (_dd("s3", "vpr_share_2", 2026), "shown"),
    (_dd("s1", "vpr_share_2", 2026, subject="Русский язык"), "shown"),
    (_dd("s1", "shnor", 2026), "shown"),                      # DD of a flag that is never hidden
]


@pytest.fixture
def table():
    return finish(pd.DataFrame([row for row, _ in CASES]))


def test_exactly_the_small_groups_are_hidden(table):
    before = table.copy(deep=True)
    out = P.suppress(table, METH)
    pd.testing.assert_frame_equal(table, before)                      # the input is not changed
    assert out.index.equals(table.index) and out.dtypes.equals(table.dtypes)
    expected = [what for _, what in CASES]
    assert P.hidden(out).tolist() == [w == "hidden" for w in expected]
    for i, what in enumerate(expected):
        got, was = out.iloc[i], table.iloc[i]
        assert got["denominator"] is was["denominator"] or got["denominator"] == was["denominator"]
        if what == "hidden":
            assert all(pd.isna(got[c]) for c in ("value", "numerator", "ci_low", "ci_high")), i
            assert got["flag"] == "suppressed"
        elif what == "interval":
            assert got["value"] == 0.0 and pd.isna(got["ci_low"]) and pd.isna(got["ci_high"]) and pd.isna(got["flag"])
        else:
            pd.testing.assert_series_equal(got, was, check_names=False)


def test_the_limits_come_from_the_methodology(tmp_path, table):
    folder = tmp_path / "meth"
    shutil.copytree(PACKAGE_CONFIG, folder)
    path = folder / "thresholds.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["small_groups"]["suppress_below"]["value"] = 2
    data["staffing"]["min_teachers"]["value"] = 4
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = P.suppress(table, load_methodology(folder))
    hidden = set(np.flatnonzero(P.hidden(out)))
    # only the 1-pupil rows and the DD that uses one of them are hidden now; 4 teachers are shown
    assert hidden == {0, 13}


def test_helpers_for_presentation_tables():
    assert P.too_small(2, METH) and not P.too_small(3, METH) and not P.too_small(0, METH)
    assert not P.too_small(None, METH)
    assert P.too_small(4, METH, P.TEACHERS)
    assert P.too_small(pd.Series([1, 3, np.nan, 0]), METH).tolist() == [True, False, False, False]


@pytest.fixture(scope="module")
def demo(demo_small):
    ds = load_dataset(demo_small, methodology=METH)
    return ds, compute_all(ds, METH)


def test_every_computed_indicator_is_classified(demo):
    _, ind = demo
    known = P.PUPIL_AGGREGATES | P.TEACHER_AGGREGATES | P.SCHOOL_SIGNS | P.NOT_PEOPLE
    ids = {i[:-3] if i.endswith("_dd") else i for i in ind["indicator_id"].unique()}
    assert ids <= known, f"classify in indicators/privacy.py: {sorted(ids - known)}"
    overlap = [a & b for a in (P.PUPIL_AGGREGATES, P.TEACHER_AGGREGATES, P.SCHOOL_SIGNS, P.NOT_PEOPLE)
               for b in (P.PUPIL_AGGREGATES, P.TEACHER_AGGREGATES, P.SCHOOL_SIGNS, P.NOT_PEOPLE) if a is not b]
    assert not any(overlap)


def test_computed_table_is_unchanged_and_every_hidden_row_is_a_small_group(demo):
    ds, ind = demo
    before = ind.copy(deep=True)
    out = P.suppress(ind, METH)
    pd.testing.assert_frame_equal(ind, before)
    pd.testing.assert_frame_equal(compute_all(ds, METH), before)     # the analyses compute on full data
    hid = P.hidden(out).to_numpy()
    assert hid.any()
    kinds = ind["indicator_id"].map(P.kind_of)
    limit = kinds.map({"pupils": 3, "teachers": 5}).astype("float64")   # thresholds.yaml defaults
    den = ind["denominator"].astype("float64")
    small = ((den > 0) & (den < limit)).to_numpy()
    is_dd = ind["indicator_id"].str.endswith("_dd").to_numpy()
    # every small group of people is hidden, no other base row is
    assert (hid[~is_dd] == small[~is_dd]).all()
    # a DD is hidden only when one of its two years is hidden
    base = out[~is_dd & hid].assign(key=lambda f: f["level"] + "|" + f["entity_id"] + "|" + f["indicator_id"] + "|"
                                    + f["subject"].fillna("") + "|" + f["grade"].astype("string").fillna("")
                                    + "|" + f["exam"].fillna(""))
    gone = set(zip(base["key"], base["year"].astype(int)))
    dd = ind[is_dd]
    keys = (dd["level"] + "|" + dd["entity_id"] + "|" + dd["indicator_id"].str[:-3] + "|" + dd["subject"].fillna("")
            + "|" + dd["grade"].astype("string").fillna("") + "|" + dd["exam"].fillna(""))
    expect = [((k, y) in gone or (k, y - 1) in gone) for k, y in zip(keys, dd["year"].astype(int))]
    assert hid[is_dd].tolist() == expect
    # the shown rows keep every number
    pd.testing.assert_frame_equal(out[~hid], ind[~hid])


# ---- a municipality report and a school's own report on a hand-made dataset --------------------------
@pytest.fixture
def two_pupils(tmp_path):
    """s1 (4 compared marks) and s2 with 2 pupils, both marked higher in the ВПР than in the journal (m1);
    s3, the only school of m2, with 2 pupils (so m2's own rows are hidden too)."""
    vpr = VPR[VPR["school_id"] == "s1"]
    two = pd.DataFrame({"year": [2024] * 4, "subject": ["Математика"] * 4, "grade": [5] * 4,
                        "school_id": ["s2", "s2", "s3", "s3"], "participant_code": ["1", "2", "1", "2"],
                        "absent": ["false"] * 4, "primary_score": [16, 17, 5, 6], "mark": [5, 5, 2, 2],
                        "journal_mark": [4, 3, 4, 4]})
    return write_dataset(tmp_path / "two", vpr=pd.concat([vpr, two], ignore_index=True))


def _html_of(rep, monkeypatch, frame, classes=None) -> str:
    shown = []
    monkeypatch.setattr(R, "display_html", shown.append)
    rep.table(frame, "проба", row_classes=classes)
    return "".join(shown)


def _open(dataset, scope, entity):
    session._MEMO.clear()
    return session.open_report(dataset, template="vpr_objectivity", scope=scope, entity_id=entity, year=2024)


def test_municipality_report_does_not_show_a_school_of_two_pupils(two_pupils, monkeypatch):
    rep = _open(two_pupils, "municipality", "m1")
    own = rep.rows_of("school", "s2")
    journal = own[own["indicator_id"].isin(V.SHARE_IDS)]
    assert len(journal) == 3 and journal["value"].isna().all() and (journal["flag"] == "suppressed").all()
    assert (journal["denominator"] == 2).all()
    # the per-school table of the municipality report: s2's shares are not in the HTML
    table, classes = V.pooled_by_school(rep)
    page = _html_of(rep, monkeypatch, table, classes)
    s2 = re.search(r"<tr[^>]*><td[^>]*>Школа № 2</td>.*?</tr>", page).group(0)
    assert "скрыто" in s2 and "%" not in s2, s2
    s1 = re.search(r"<tr[^>]*><td[^>]*>Школа № 1</td>.*?</tr>", page).group(0)
    assert "50,0\u00a0%" in s1 and "25,0\u00a0%" in s1        # s1: понизили 2 of 4, подтвердили 1, повысили 1


def test_a_municipality_of_one_small_school_shows_no_share(two_pupils, monkeypatch):
    rep = _open(two_pupils, "municipality", "m2")
    mine = rep.rows_of("municipality", "m2")
    assert P.hidden(mine[mine["indicator_id"].isin(V.SHARE_IDS)]).all()
    table, classes = V.journal_table(rep)
    assert len(table) == 1 and table.iloc[0]["Участников"] == "2"
    assert (table.iloc[0][["Понизили", "Подтвердили", "Повысили"]] == "—").all()
    page = _html_of(rep, monkeypatch, table, classes) + V.summary_text(rep)
    assert "100,0\u00a0%" not in page     # s3: both pupils «понизили»
    assert all(f.text for f in V.findings(rep))


def test_a_school_report_shows_its_own_small_groups(two_pupils):
    rep = _open(two_pupils, "school", "s2")
    own = rep.rows_of("school", "s2")
    higher = own[own["indicator_id"] == "vpr_journal_higher"]
    assert higher["value"].tolist() == [100.0] and not P.hidden(own).any()
    # the kernel's shared table (every other report of the dataset) stays suppressed
    shared = rep._shared
    assert P.hidden(shared[(shared["entity_id"] == "s2") & shared["indicator_id"].isin(V.SHARE_IDS)]).all()


def test_cli_export_hides_the_small_group(two_pupils, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert cli.main(["indicators", str(two_pupils), "--out", str(out)]) == 0
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype={"entity_id": str})
    s2 = frame[(frame["entity_id"] == "s2") & frame["indicator_id"].isin(V.SHARE_IDS)]
    assert len(s2) == 3 and s2["value"].isna().all() and s2["numerator"].isna().all()
    assert (s2["flag"] == "suppressed").all() and (s2["denominator"] == 2).all()
    s1 = frame[(frame["entity_id"] == "s1") & (frame["indicator_id"] == "vpr_journal_lower")]
    assert s1["value"].tolist() == [50.0]


def test_a_kernel_keeps_only_the_hidden_values_and_reveal_gives_the_same_rows(demo_small):
    # the kernel keeps `hidden_values` (the rows suppress hid) instead of a second copy of the table;
    # a school's own report gets exactly the rows it got from the computed table
    computed = compute_all(load_dataset(demo_small), METH)
    shown = P.suppress(computed, METH)
    kept = P.hidden_values(shown, computed)
    assert 0 < len(kept) < len(computed) / 5
    assert shown.take(kept.index.to_numpy())[P.HIDDEN].isna().any(axis=1).all()   # each kept row hides a number
    index = shown.groupby(["level", "entity_id"], sort=False).indices
    for sid in ("edu990001", "edu990003", "edu990010"):
        own = index[("school", sid)]
        pd.testing.assert_frame_equal(P.reveal(shown, kept, own), P.reveal(shown, computed, own))
    # by hand: one row hidden at position 1; reveal of positions [0, 1] brings its numbers and flag back
    rows = pd.DataFrame([_row("s1", "vpr_share_2", 30), _row("s2", "vpr_share_2", 2), _row("s3", "vpr_share_2", 40)])
    small = P.suppress(rows, METH)
    hv = P.hidden_values(small, rows)
    assert hv.index.tolist() == [1] and hv["value"].tolist() == [50.0]
    back = P.reveal(small, hv, [0, 1])
    assert back["value"].tolist() == [50.0, 50.0, 50.0] and back["flag"].isna().all()
    assert P.reveal(small, hv, [0, 2]) is small   # nothing of theirs hidden: no copy


def test_the_kernels_memo_holds_no_second_copy_of_the_indicator_table(demo_small):
    session._MEMO.clear()
    try:
        session.open_report(demo_small, template="vpr_objectivity", scope="school", entity_id="edu990001", year=2026)
        (ds, table), = session._MEMO.values()
        assert isinstance(table, session.Shown) and len(table.hidden) < len(table.shown) / 5
    finally:
        session._MEMO.clear()


def test_a_school_report_puts_its_own_rows_back_without_copying_the_region_table(demo_small):
    # rows_of gives the school its own hidden values before (lazily) and after the whole table is revealed
    session._MEMO.clear()
    try:
        checked = 0
        for sid in ("edu990001", "edu990003", "edu990010", "edu990020"):
            rep = session.open_report(demo_small, template="vpr_objectivity", scope="school", entity_id=sid, year=2026)
            if rep._own_hidden is None:
                continue
            checked += 1
            other = "edu990002" if sid != "edu990002" else "edu990004"
            lazy_own, lazy_both = rep.rows_of("school", sid), rep.rows_of("school", [other, sid])
            assert rep._indicators is None, "rows_of revealed the whole table"
            assert not P.hidden(lazy_own).any()                      # its own small groups are back
            whole = rep.indicators                                   # now the whole table, revealed
            pd.testing.assert_frame_equal(lazy_own, rep.rows_of("school", sid))
            pd.testing.assert_frame_equal(lazy_both, rep.rows_of("school", [other, sid]))
            pd.testing.assert_frame_equal(lazy_own, whole[(whole["level"] == "school") & (whole["entity_id"] == sid)])
            assert P.hidden(whole[(whole["level"] == "school") & (whole["entity_id"] == other)]).sum() == \
                P.hidden(rep.shared[(rep.shared["level"] == "school") & (rep.shared["entity_id"] == other)]).sum()
        assert checked >= 1
    finally:
        session._MEMO.clear()
