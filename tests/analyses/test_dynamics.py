"""DD = D(t) − D(t−1), its classification (direction, tolerance, boundaries), targets and the share of
ШНОР with positive dynamics (shnor_utils/dynamics.py), on hand-made tables and on the demo."""
import pandas as pd
import pytest

from shnor_utils.analyses.dynamics import compute as D
from shnor_utils.data.dataset import load_dataset
from shnor_utils.analyses import compute_all
from shnor_utils.indicators import finish
from shnor_utils.methodology import load_methodology

from tests.conftest import ROOT, write_dataset

METH = load_methodology()
REGIONS = ROOT / "params" / "regions"


def rows(*records):
    """Indicator rows from (level, entity, year, indicator, subject, grade, value, denominator, flag)."""
    cols = ["level", "entity_id", "year", "indicator_id", "subject", "grade", "value", "denominator", "flag"]
    return finish(pd.DataFrame(records, columns=cols))


def test_classification_boundaries_lower_is_better():
    # share of «2»: ФИОКО — +10 п.п. is negative dynamics, so exactly +10 is negative, +9.99 stable
    tol = D.tolerance(D.catalogue(METH)["vpr_share_2"], METH)
    assert tol == 10
    got = D.classify([10.0, 9.99, -9.99, -10.0, 0.0, -25.0, None], "lower", tol).tolist()
    assert got[:6] == ["negative", "stable", "stable", "positive", "stable", "positive"]
    assert pd.isna(got[6])


def test_classification_higher_is_better_and_zero_tolerance():
    assert D.classify([5.0, -5.0, 4.9], "higher", 5).tolist() == ["positive", "negative", "stable"]
    # counts (vacancies): tolerance 0 — any change counts, no change is stable
    assert D.tolerance(D.catalogue(METH)["vacancies"], METH) == 0
    assert D.classify([1.0, 0.0, -1.0], "lower", 0).tolist() == ["negative", "stable", "positive"]


def test_tolerance_defaults():
    # a share without its own tolerance takes dynamics.tolerance_pp; a count takes stable_zero_unit
    assert D.tolerance({"unit": "%"}, METH) == METH.threshold("dynamics.tolerance_pp")
    assert D.tolerance({"unit": "шт."}, METH) == METH.threshold("dynamics.stable_zero_unit")


def test_dd_by_hand():
    table = rows(
        ("school", "s1", 2023, "vpr_share_2", "Математика", 5, 30.0, 20, None),
        ("school", "s1", 2024, "vpr_share_2", "Математика", 5, 18.0, 20, None),   # DD = 18 − 30 = −12 → positive
        ("school", "s1", 2025, "vpr_share_2", "Математика", 5, 28.0, 20, None),   # DD = +10 → negative
        ("school", "s1", 2027, "vpr_share_2", "Математика", 5, 10.0, 20, None),   # 2026 missing → no DD
        ("school", "s2", 2023, "vpr_share_2", "Математика", 5, 40.0, 4, None),
        ("school", "s2", 2024, "vpr_share_2", "Математика", 5, 0.0, 4, None),     # 4 participants → small group
        ("region", "region", 2023, "staffing_rate", None, None, 97.0, 100, None),
        ("region", "region", 2024, "staffing_rate", None, None, 95.5, 100, None),  # −1.5 over 100: noise → stable
        ("region", "region", 2023, "teacher_load", None, None, 1.30, None, None),
        ("region", "region", 2024, "teacher_load", None, None, 1.45, None, None),  # +0.15 ≥ 0.1, no n → negative
        ("region", "region", 2023, "not_in_catalogue", None, None, 1.0, 1, None),
        ("region", "region", 2024, "not_in_catalogue", None, None, 9.0, 1, None),
    )
    dd = D.dd_rows(table, None, METH)
    got = {(r.entity_id, r.indicator_id, int(r.year)): (round(float(r.value), 6), r.flag) for r in dd.itertuples()}
    assert got == {
        # 30 % → 18 % of 20 pupils (6 → 3.6): the Newcombe interval holds zero → no significant change
        ("s1", "vpr_share_2_dd", 2024): (-12.0, "stable"),
        ("s1", "vpr_share_2_dd", 2025): (10.0, "stable"),
        ("s2", "vpr_share_2_dd", 2024): (-40.0, "small_group"),
        ("region", "staffing_rate_dd", 2024): (-1.5, "stable"),
        ("region", "teacher_load_dd", 2024): (0.15, "negative"),
    }
    # n of both years ride along: denominator = n(t), numerator = n(t−1)
    r = dd[(dd.entity_id == "s1") & (dd.year == 2024)].iloc[0]
    assert (r.denominator, r.numerator) == (20, 20)
    # subject and grade survive the NA-safe join
    s1 = dd[dd.entity_id == "s1"].iloc[0]
    assert (s1.subject, int(s1.grade)) == ("Математика", 5)
    assert pd.isna(dd[dd.entity_id == "region"].iloc[0].subject)


def test_single_year_gives_no_dd():
    table = rows(("school", "s1", 2024, "vpr_share_2", "Математика", 5, 30.0, 20, None))
    assert D.dd_rows(table, None, METH).empty


def test_targets_and_plan_fact():
    # targets are a region's programme: none in the package defaults, Kirensky's and Tomsk's in their overlays
    assert not any(e.get("targets") for e in D.catalogue(METH).values())
    assert D.target_for(D.catalogue(METH)["specialist_staffing_rate"], 2021) == (None, None)
    cat = D.catalogue(load_methodology(REGIONS / "kirensky"))
    i4 = cat["specialist_staffing_rate"]          # seed 004 I4: 50 → 60 → 68 → 70 (2019–2022)
    assert D.target_for(i4, 2021) == (68.0, 2021)
    assert D.target_for(i4, 2026) == (70.0, 2022)  # the final target stays in force
    assert D.target_for(i4, 2018) == (None, None)
    pf = D.plan_fact(65.0, i4, 2022)               # 65 − 70 = −5 п.п.: below plan
    assert pf["gap"] == -5 and pf["met"] is False
    pf = D.plan_fact(65.0, i4, 2026)               # the programme ended in 2022: stale, never a miss
    assert pf["stale"] and pf["met"] is None and pf["gap"] is None and pf["target_year"] == 2022
    no_att = D.catalogue(load_methodology(REGIONS / "tomsk"))["no_attestat"]
    pf = D.plan_fact(5.0, no_att, 2024, {"grade": 9})  # lower is better: target 6, fact 5 → +1 better
    # (2024 is the target's own year in the overlay: judged)
    assert pf["gap"] == 1 and pf["met"] is True
    # seed 000 sets the target for the 9th grade only (`target_where`): the 11th grade has none
    assert D.plan_fact(5.0, no_att, 2024, {"grade": 11, "subject": None})["target"] is None


def test_catalogue_is_complete():
    cat = D.catalogue(METH)
    for ind, e in cat.items():
        assert e["direction"] in ("higher", "lower"), ind
        for field in ("name", "formula", "unit", "levels", "source", "status"):
            assert e.get(field), (ind, field)
    # the seed indicator sets are represented: Kirensky I1–I4, Tomsk R1–R10, C10
    seed_ids = {s for e in cat.values() for s in e.get("seed_ids", [])}
    assert {"I1", "I2", "I3", "I4", "R1", "R2", "R3", "R7", "R10", "C10a", "C10d"} <= seed_ids
    assert all(u.get("reason") for u in D.unsupported(METH))


def test_shnor_positive_dynamics_by_hand(tmp_path):
    official = pd.DataFrame({"year": [2024, 2024, 2024], "school_id": ["s1", "s2", "s3"]})
    ds = load_dataset(write_dataset(tmp_path / "ds", official_shnor=official))
    table = rows(
        # s1: two positive → improved; s2: one positive, one negative → not improved; s3: nothing classified
        ("school", "s1", 2024, "vpr_share_2_dd", "Математика", 5, -12.0, None, "positive"),
        ("school", "s1", 2024, "gia_below_min_dd", "Математика", None, -6.0, None, "positive"),
        ("school", "s2", 2024, "vpr_share_2_dd", "Математика", 5, -12.0, None, "positive"),
        ("school", "s2", 2024, "vpr_share_2_dd", "Русский язык", 5, 15.0, None, "negative"),
        ("school", "s3", 2024, "vpr_share_2_dd", "Математика", 5, 3.0, None, "small_group"),
        ("school", "s1", 2024, "staffing_rate_dd", None, None, 9.0, None, "negative"),  # not a result: ignored
    )
    out = D.positive_share(table, ds, METH, "shnor", "shnor_positive_dynamics")
    by = {(r.level, r.entity_id): r for r in out.itertuples()}
    assert by[("school", "s1")].value == 1 and by[("school", "s2")].value == 0
    assert ("school", "s3") not in by                     # cannot be judged → not in the denominator
    m1 = by[("municipality", "m1")]                        # 1 of 2 → 50 % ≥ 25 % (seed 001)
    assert (m1.value, m1.numerator, m1.denominator) == (50.0, 1, 2) and pd.isna(m1.flag)


def test_demo_export_carries_dd_and_teacher_ids(demo_small):
    ind = compute_all(load_dataset(demo_small))
    ids = set(ind.indicator_id)
    for required in ("staffing_rate", "vacancies", "teachers_with_deficit", "staffing_rate_dd", "vacancies_dd",
                     "teachers_with_deficit_dd", "vpr_share_2_dd", "shnor_positive_dynamics"):
        assert required in ids, required
    computed = [i for i, e in D.catalogue(METH).items() if e["status"] == "computed"]
    missing = [i for i in computed if i not in ids]
    assert not missing
    # DD rows agree with their two years
    dd = ind[(ind.indicator_id == "staffing_rate_dd") & (ind.level == "region") & ind.subject.isna()].iloc[-1]
    base = ind[(ind.indicator_id == "staffing_rate") & (ind.level == "region") & ind.subject.isna()].set_index("year")
    assert dd.value == pytest.approx(base.loc[dd.year, "value"] - base.loc[dd.year - 1, "value"])


# ---- the significance rule (issue 14, point 2), hand-made cases ------------------------------------------
def _share_dd(p0, n0, p1, n1, ind="vpr_share_2"):
    table = rows(("school", "s1", 2024, ind, "Математика", 6, p0, n0, None),
                 ("school", "s1", 2025, ind, "Математика", 6, p1, n1, None))
    return D.dd_rows(table, None, METH).iloc[0]


def test_thirteen_points_in_a_class_of_sixteen_is_no_significant_change():
    # 2/16 = 12.5 % → 4.2/16 ≈ 25.5 %: +13 п.п. ≥ tolerance 10, but one pupil ≈ 6 п.п.
    r = _share_dd(12.5, 16, 25.5, 16)
    assert r.value == pytest.approx(13.0) and r.flag == "stable"
    assert r.ci_low < 0 < r.ci_high                  # the interval of the difference holds zero
    assert D.CLASS_RU[r.flag] == "без существенных изменений"


def test_large_change_with_large_n_is_significant():
    # 10 % → 25 % of 400 pupils each: Newcombe interval ≈ [+9.9; +20.1] п.п. excludes zero
    r = _share_dd(10.0, 400, 25.0, 400)
    assert r.flag == "negative" and 9 < r.ci_low < 11 and 19 < r.ci_high < 21
    r = _share_dd(25.0, 400, 10.0, 400)
    assert r.flag == "positive"


def test_newcombe_interval_by_hand():
    # Newcombe (1998) table II example 1: 56/70 vs 48/80 → difference 0.2, interval [0.0524; 0.3339]
    low, high = D.diff_interval([100 * 56 / 70], [70], [100 * 48 / 80], [80], [None], [None], [None], [None], "%", 1.96)
    assert low[0] == pytest.approx(5.24, abs=0.01) and high[0] == pytest.approx(33.39, abs=0.01)


def test_minus_zero_is_never_a_change():
    # a mean score −0.04 with tolerance 0 and no interval: prints «−0,0» → no change
    assert D.classify([-0.04, 0.04, -0.06], "higher", 0, ndigits=1).tolist() == ["stable", "stable", "negative"]
    table = rows(("region", "region", 2024, "gia_mean_score", "История", None, 60.00, 5000, None),
                 ("region", "region", 2025, "gia_mean_score", "История", None, 59.96, 5000, None))
    assert D.dd_rows(table, None, METH).iloc[0].flag == "stable"


def test_mean_uses_interval_of_the_difference():
    # two means with 95 % half-widths 1.5 and 2.0: DD −3 → interval −3 ± 2.5 excludes 0 → negative;
    # DD −2 → −2 ± 2.5 holds 0 → no significant change
    def dd(prev, cur):
        t = rows(("region", "region", 2024, "gia_mean_score", "История", None, prev, 50, None),
                 ("region", "region", 2025, "gia_mean_score", "История", None, cur, 50, None))
        t.loc[0, ["ci_low", "ci_high"]] = [prev - 1.5, prev + 1.5]
        t.loc[1, ["ci_low", "ci_high"]] = [cur - 2.0, cur + 2.0]
        return D.dd_rows(t, None, METH).iloc[0]
    r = dd(60.0, 57.0)
    assert r.flag == "negative" and r.ci_high == pytest.approx(-0.5)
    assert dd(60.0, 58.0).flag == "stable"


def test_direction_of_journal_shares():
    cat = D.catalogue(METH)
    # «повысили» (ВПР above the journal) is a disagreement, not an improvement: lower is better, with a reason
    assert cat["vpr_journal_higher"]["direction"] == "lower" and cat["vpr_journal_higher"]["direction_reason"]
    assert cat["vpr_journal_lower"]["direction"] == "lower"
    assert cat["vpr_journal_confirm"]["direction"] == "higher"


def test_plan_capped_at_hundred_percent():
    entry = {"unit": "%", "direction": "higher", "targets": {2025: 108.0}}
    pf = D.plan_fact(95.0, entry, 2025)
    assert pf["target"] == 100.0 and pf["capped"] and pf["gap"] == -5.0


def test_mean_score_interval_by_hand():
    # scores 50, 60, 70: mean 60, s = 10, half-width 1.96·10/√3 = 11.316
    from shnor_utils.analyses.gia.compute import _mean_rows
    counts = pd.DataFrame({"score_sum": [180.0], "score_sq": [50.0**2 + 60.0**2 + 70.0**2], "scored_n": [3]})
    r = _mean_rows(counts, "gia_mean_score", "score_sum", "scored_n", "score_sq", 1.96).iloc[0]
    assert r.value == 60 and r.ci_high - 60 == pytest.approx(11.316, abs=1e-3)


# ---- a school's page: the significant changes first, the full list folded (issue 14, point 2) -----------
def _cells(table_html: str) -> list[list[str]]:
    import html as _html
    import re
    return [[_html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table_html, re.S)]


def test_school_page_shows_significant_changes_first(demo_small):
    import re
    from tests.reporting.inprocess import render

    sid = "edu990003"
    page = render("indicator_dynamics", dataset=demo_small, scope="school", entity_id=sid, year=2026)
    section = page[page.index("Показатели по годам"):]
    folded = re.search(r'<details class="shnor-full">(.*?)</details>', section, re.S)
    assert folded, "the full list is folded in a <details> block"
    main = _cells(re.search(r'<table class="shnor-table">(.*?)</table>', section[:folded.start()], re.S).group(1))
    head, body = main[0], main[1:]
    classes = [r[head.index("Динамика")] for r in body]
    assert body and set(classes) <= {"отрицательная", "положительная"}
    assert classes == sorted(classes, key=lambda c: c != "отрицательная")          # negative ones first
    full = _cells(re.search(r'<table class="shnor-table">(.*?)</table>', folded.group(1), re.S).group(1))
    assert len(full) - 1 > len(body)

    # independently, from the indicator table: the school's changes of 2026 of the catalogue's indicators
    ds = load_dataset(demo_small, methodology=METH)
    ind = compute_all(ds, METH)
    dd = ind[(ind["level"] == "school") & (ind["entity_id"] == sid) & (ind["year"] == 2026)
             & ind["indicator_id"].str.endswith("_dd")]
    dd = dd[dd["indicator_id"].str[:-3].isin(list(D.catalogue(METH)))]
    stable = int((dd["flag"] == "stable").sum())
    significant = int(dd["flag"].isin(["positive", "negative"]).sum())
    assert stable > 0 and len(body) == significant
    assert (dd["flag"] == "negative").sum() == classes.count("отрицательная")
    text = re.sub(r"<[^>]+>", "", section[:folded.start()])
    n_word = {1: "показатель", 2: "показателя", 3: "показателя", 4: "показателя"}.get(stable % 10, "показателей")
    if 11 <= stable % 100 <= 14:
        n_word = "показателей"
    assert f"Без существенных изменений — {stable} {n_word}" in text, text[-600:]
    assert "Полный список" in text
    # on paper: the folded list is left out
    css = (ROOT / "shnor_utils" / "html" / "report" / "report.css").read_text(encoding="utf-8")
    assert re.search(r"@media print\{[^}]*details\.shnor-full\{display:none\}", css)


def test_a_schools_own_0_1_values_are_said_in_words_not_as_percent(demo_small):
    # «ШНОР … (школа: 1/0)» of one school was printed «1,0 %», its change «+1,0 п.п.»: a school is in the
    # list or not (catalogue `school_values: да/нет`); a municipality keeps its share of schools in %
    from shnor_utils.analyses.dynamics import present as P
    from shnor_utils.session import open_report

    rep = open_report(demo_small, template="indicator_dynamics", scope="school", entity_id="edu990003", year=2026)
    table, _ = P.dynamics_table(rep)
    cat = P.catalogue(rep.meth)
    rows = table[table["Показатель"].str.startswith((cat["shnor"]["school_name"], cat["risk_school"]["school_name"]))]
    assert len(rows) == 2
    years = [c for c in table.columns if c.isdigit()]
    for _, r in rows.iterrows():
        assert set(r[years]) <= {"да", "нет", "—"}, r.to_dict()
        assert r["Изменение"] in ("нет → да", "да → нет", "без изменений")
        assert "%" not in " ".join(map(str, r.values)) and "п.п." not in " ".join(map(str, r.values))
    shnor = rows[rows["Показатель"].str.startswith(cat["shnor"]["school_name"])].iloc[0]
    assert (shnor["2025"], shnor["2026"], shnor["Изменение"]) == ("нет", "да", "нет → да")   # edu990003 entered the list
    text = " ".join(f.text for f in P.findings(rep))
    assert "1,0\u00a0%" not in text and f"{cat['shnor']['school_name']}: нет → да (2025 → 2026 г.)" in text
    mun = open_report(demo_small, template="indicator_dynamics", scope="municipality", entity_id="reg99_m001", year=2026)
    assert P._unit(mun, cat["shnor"]) == "%" and P._name(mun, cat["shnor"]) == cat["shnor"]["name"]
    mtable, _ = P.dynamics_table(mun)
    mrow = mtable[mtable["Показатель"].str.startswith(cat["shnor_positive_dynamics"]["name"])].iloc[0]
    assert mrow["2026"] == "100,0\u00a0%"   # the municipality's share of its ШНОР schools
    srow = table[table["Показатель"].str.startswith(cat["shnor_positive_dynamics"]["school_name"])].iloc[0]
    assert srow["2026"] == "да"
