"""Presentation of the objectivity report: who is listed where, the years-in-a-row count, privacy."""
import json

import numpy as np
import pandas as pd
import pytest

from shnor_utils.reporting import charts
from shnor_utils.analyses.objectivity import present as V
from shnor_utils.data.dataset import load_dataset
from shnor_utils.analyses import compute_all
from shnor_utils.indicators import finish
from shnor_utils.methodology import load_methodology
from shnor_utils.reporting.report import Report


def _sign(entity, year, value, indicator="vpr_sign_inflated_mean", subject="Русский язык", grade=4):
    return {"level": "school", "entity_id": entity, "year": year, "indicator_id": indicator, "subject": subject,
            "grade": grade, "value": value, "flag": "sign" if value == 1 else pd.NA}


def test_flagged_schools_and_years_in_a_row(tiny):
    # s1 flagged 2023, clean 2024, flagged 2025 and 2026 → 2 years in a row up to 2026;
    # s2 flagged only in 2026 → 1; s3 (other municipality) never appears in m1's list
    rows = [_sign("s1", 2023, 1), _sign("s1", 2024, 0), _sign("s1", 2025, 1), _sign("s1", 2026, 1),
            _sign("s1", 2026, 0, "vpr_sign_mark_mismatch"), _sign("s2", 2026, 1, "vpr_sign_mark_mismatch", "Математика", 5),
            _sign("s3", 2026, 1)]
    ind = finish(pd.DataFrame(rows))
    rep = Report(load_dataset(tiny), load_methodology(), ind, template="t", scope="municipality", entity_id="m1", year=2026)
    table = V.flagged_schools(rep).set_index("Код")
    assert table.loc["s1", "Лет подряд с признаками"] == 2
    assert table.loc["s2", "Лет подряд с признаками"] == 1
    assert "s3" not in table.index
    # the sign's short name (flags.yaml `short`), the same as the index page's chip
    assert table.loc["s2", "Признаки"] == "несоответствие ВПР и отметок (МА-5)"
    # heat map data: m1's schools × works of 2026, 1/0
    m = V.sign_matrix(rep)
    assert set(m["школа"]) == {"Школа № 1", "Школа № 2"}
    assert m["признак"].sum() == 2


@pytest.fixture(scope="module")
def demo_rep(demo_small):
    ds = load_dataset(demo_small)
    meth = load_methodology()
    ind = compute_all(ds, meth)
    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))

    def make(scope, entity):
        return Report(ds, meth, ind, template="vpr_objectivity", scope=scope, entity_id=entity, year=2026)
    return make, truth


def test_region_report_lists_municipalities_not_schools(demo_rep):
    make, truth = demo_rep
    rep = make("region", None)
    table, classes = V.municipalities_table(rep)
    names = {m["municipality_name"] for m in truth["municipalities"]}
    assert set(table["Муниципалитет"]) == names | {"Регион в целом"}
    assert len(classes) == len(table)
    # the municipality with the flagged schools (all in the city) is highlighted below the region
    city = table[table["Школ с признаками"] > 0]
    assert len(city) == 2 and "Регион в целом" in set(city["Муниципалитет"])


def test_school_report_shows_only_its_school(demo_rep):
    make, truth = demo_rep
    school = truth["sign_mark_mismatch"][0]["school_id"]
    rep = make("school", school)
    others = set(rep.ds.schools["school_id"]) - {school}
    texts = [f.text for f in V.all_findings(rep)]
    for frame in (V.school_signs_table(rep)[0], V.gaps_table(rep), V.peaks_table(rep), V.task_table(rep)[0]):
        cells = set(frame.astype(str).to_numpy().ravel()) if len(frame) else set()
        assert not (cells & others)
    assert not any(o in t for t in texts for o in others)
    assert "participant_code" not in V.gaps_table(rep).columns


def test_school_findings_name_the_planted_sign_with_rule_and_source(demo_rep):
    make, truth = demo_rep
    planted = truth["sign_inflated_mean"][0]
    rep = make("school", planted["school_id"])
    flags = [f for f in V.sign_findings(rep) if f.severity == "flag"]
    assert len(flags) == 1
    assert "завышенный средний балл" in flags[0].text and "РУ-4" in flags[0].text
    assert "95 %" in flags[0].rule and "Методика" in flags[0].source
    # a school without signs gets no sign finding
    clean = make("school", "edu990001")
    assert not [f for f in V.sign_findings(clean) if f.severity == "flag"]


def test_municipality_heatmap_is_readable_for_40_schools():
    rng = np.random.default_rng(1)
    data = pd.DataFrame([(f"Школа № {i}", f"{w} · балл", float(rng.random() < 0.1))
                         for i in range(40) for w in ("РУ-4", "МА-4", "РУ-5", "МА-5")],
                        columns=["школа", "процедура", "признак"])
    fig = charts.sign_heatmap(data, x="процедура", y="школа", value="признак", title="t")
    ax = fig.axes[0]
    rows, _ = charts.cell_names(ax)              # school names: texts beside the rows
    assert len(rows) == 40                       # every school labelled
    assert fig.get_figheight() / 40 >= 0.3       # ≥ 0.3 inch per school row
    # flagged schools first
    assert data.groupby("школа")["признак"].sum().max() == data[data["школа"] == rows[0].get_text()]["признак"].sum()


def test_journal_findings_of_many_works_are_one_line_each_rule(demo_small):
    # the planted journal-inflation school edu990005: «понизили» > 50 % in many works → one flag line naming
    # every work with its share (it was one line per work: 18 items in «На что обратить внимание»)
    from shnor_utils.session import open_report
    rep = open_report(demo_small, template="vpr_objectivity", scope="school", entity_id="edu990005", year=2026)
    shares = V.journal_shares(rep)
    cut = rep.meth.threshold("objectivity_signs.regional_heuristic_lower")
    min_n = rep.meth.threshold("small_groups.min_for_share")
    over = shares[(shares["понизили"] > cut) & (shares["n"] >= min_n)]
    assert len(over) >= V.GROUPED_FROM
    flags = [f for f in V.findings(rep) if f.rule == f"«понизили» > {cut} %"]
    assert len(flags) == 1 and f"в {len(over)} работах" in flags[0].text
    for r in over.itertuples(index=False):
        assert f"{r.subject}, {int(r.grade)} класс — {V.fmt_pct(r.понизили)}" in flags[0].text
    assert len(V.all_findings(rep)) <= 8
