"""Issue 14 points 2–3, 6 and issue 16 point 4 on the ВПР, ГИА, ШНОР and teacher reports: the one
small-group rule (the 30 % rule keeps its own minimum), n next to shares, the measures catalogue,
the mark distribution, the funnel comparison — on hand-made cases and on the demo's planted effects."""
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from shnor_utils.analyses import funnel as F
from shnor_utils.analyses import measures as M
from shnor_utils.analyses.gia import present as G
from shnor_utils.analyses.objectivity import compare as VC
from shnor_utils.analyses.shnor import present as S
from shnor_utils.errors import ConfigError
from shnor_utils.methodology import load_methodology
from shnor_utils.session import open_report

ROOT = Path(__file__).resolve().parents[2]
COLS = ["indicator_id", "level", "entity_id", "year", "exam", "subject", "grade", "numerator", "denominator",
        "value", "ci_low", "ci_high", "flag"]


def _gia_rep(rows):
    ind = pd.DataFrame(rows, columns=COLS)

    def rows_of(level, entity):
        ids = [entity] if isinstance(entity, str) else list(entity)
        return ind[(ind["level"] == level) & ind["entity_id"].isin(ids)]
    return SimpleNamespace(indicators=ind, rows_of=rows_of, meth=load_methodology(), scope="school", entity_id="s1",
                           year=2026, municipality_id="m1")


def _below(level, entity, subject, k, n, flag=None, ci_low=0.0):
    return ["gia_below_min", level, entity, 2026, "ЕГЭ", subject, 11, k, n, 100 * k / n, ci_low, 100.0, flag]


def test_thirty_percent_rule_keeps_its_own_minimum_and_says_so():
    meth = load_methodology()
    own, common = meth.threshold("low_results_rule.min_participants"), meth.threshold("small_groups.min_for_share")
    assert own < 9 < common          # the case of the issue: n = 9 is judged by the official rule only
    rep = _gia_rep([_below("school", "s1", "Русский язык", 3, 9, "low_result"),
                    _below("school", "s1", "Математика (профильная)", 1, 8, None),
                    _below("region", "region", "Русский язык", 10, 1000),
                    _below("region", "region", "Математика (профильная)", 10, 1000)])
    found = G.findings(rep)
    low = [f for f in found if f.severity == "flag"]
    assert len(low) == 1 and "n = 9" in low[0].text
    assert f"не меньше {own}" in low[0].rule and "собственный минимум" in low[0].rule
    small = [f for f in found if "выводы по ним не делаются" in f.text]
    assert len(small) == 1 and small[0].text.startswith("По 1 ")     # only the unflagged small group
    table, classes = G.results_table(rep, "ЕГЭ")
    assert classes == ["shnor-small", "shnor-flag"] or classes == ["shnor-flag", "shnor-small"]
    words = dict(zip(table["Предмет"], table["Оценка"]))
    assert f"действует с {own} участников" in words["Русский язык"]
    assert words["Математика (профильная)"] == "мало участников: выводы не делаются"
    note = G.small_group_note(rep)
    assert f"меньше {common}" in note and f"свой минимум — {own}" in note
    assert G.finding_kinds(rep) == ["low_results"]


def test_shnor_basis_names_share_and_n():
    low = pd.DataFrame({"entity_id": ["s1", "s1"], "year": [2025, 2024], "exam": ["ВПР", "ЕГЭ"],
                        "subject": ["Математика", "Русский язык"], "grade": [6, 11], "value": [33.3, 40.0],
                        "denominator": [9, 25]})
    assert S._reason(low, "s1", 2026) == "2025: ВПР Математика 6 (33\u00a0%, n = 9); 2024: ЕГЭ Русский язык (40\u00a0%, n = 25)"


def test_measures_catalogue_has_sources_and_fails_on_unknown_kind():
    meth = load_methodology()
    table = M.measures_table(meth, ["objectivity_signs", "low_results", "objectivity_signs"])
    assert list(table.columns) == M.COLUMNS and len(table) == 2
    assert "перепроверка работ" in table["Рекомендуемые меры"].iloc[0]
    assert "выборку ВПР с контролем объективности" in table["Рекомендуемые меры"].iloc[0]
    assert "адресная методическая помощь" in table["Рекомендуемые меры"].iloc[1]
    share = meth.words.format("{low_results_rule.share_failed}")
    assert f"правилу {share} %" in table["Что обнаружено"].iloc[1]
    assert "seed" not in " ".join(table["Источник"]) and all(table["Источник"])
    for kind, entry in M.catalogue(meth).items():
        assert entry["source"] and entry["measures"], kind
    with pytest.raises(ConfigError, match="нет вида находок «нет_такого»"):
        M.measures_table(meth, ["нет_такого"])


def test_mark_counts_by_hand():
    vpr = pd.DataFrame({"school_id": ["a"] * 5 + ["b"], "subject": ["Математика"] * 6, "grade": [5] * 6,
                        "absent": [False, False, False, False, True, False], "mark": [2, 3, 3, 5, None, 4]})
    c = VC.mark_counts(vpr).set_index("school_id")
    assert c.loc["a", "n"] == 4 and list(c.loc["a", [2, 3, 4, 5]]) == [1, 2, 0, 1]
    assert c.loc["b", "n"] == 1 and c.loc["b", 4] == 1


@pytest.fixture(scope="module")
def school_rep(demo_small):
    return open_report(demo_small, template="vpr_objectivity", scope="school", entity_id="edu990005", year=2026)


def test_mark_table_rows_school_municipality_region(school_rep):
    d = VC.mark_distribution(school_rep)
    first = d[(d["subject"] == d["subject"].iloc[0]) & (d["grade"] == d["grade"].iloc[0])]
    assert list(first["уровень"]) == ["школа", "муниципалитет", "регион"]
    shares = first[["«2»", "«3»", "«4»", "«5»"]].sum(axis=1)
    assert shares.round(6).eq(100).all()
    assert (first["n"].diff().dropna() > 0).all()        # school ⊂ municipality ⊂ region


def test_planted_journal_inflation_lies_above_the_funnel(school_rep, demo_small):
    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))
    pts, p0, title = F.key_shares(school_rep, F.VPR_SHARES)[0]
    assert "понизивших" in title
    mine = pts.set_index("entity_id").loc["edu990005"]
    assert mine["position"] == "above" and mine["share"] > mine["high_0.998"]
    # the region share is the pooled share of the region rows
    reg = school_rep.indicators
    reg = reg[(reg["indicator_id"] == "vpr_journal_lower") & (reg["level"] == "region") & (reg["year"] == 2026)]
    assert p0 == pytest.approx(100 * reg["numerator"].sum() / reg["denominator"].sum())
    text = F.school_sentence(school_rep, pts, title, p0)
    assert "n = " in text and "выше верхней границы" in text and "Похожие школы" in text
    assert "edu990005" in json.dumps(truth, ensure_ascii=False)


def test_municipality_lists_schools_above_with_n(demo_small):
    rep = open_report(demo_small, template="vpr_objectivity", scope="municipality", entity_id="reg99_m001", year=2026)
    pts, p0, _ = F.key_shares(rep, F.VPR_SHARES)[0]
    table = F.outside_table(rep, pts)
    assert "edu990005" in set(table["Код"]) and set(table["Код"]) <= set(rep.school_ids)
    assert (table["Положение"] == "выше верхней границы 99,8\u00a0%").all()
    min_n = rep.meth.threshold("small_groups.min_for_share")
    assert all(int(v.replace(" ", "").replace("\u00a0", "")) >= min_n for v in table["Участников (n)"])


def test_ranked_vpr_table_is_off_by_default():
    nb = json.loads((ROOT / "notebooks" / "templates" / "vpr_objectivity.ipynb").read_text(encoding="utf-8"))
    assert nb["metadata"]["shnor"]["parameters"]["ranked_tables"]["type"] == "bool"
    params = "".join(nb["cells"][0]["source"])
    assert "ranked_tables = False" in params
    ranking = [c for c in nb["cells"] if "V.school_ranking(rep)" in "".join(c["source"])]
    assert len(ranking) == 1 and "and ranked_tables" in "".join(ranking[0]["source"])


def test_parameter_set_switches_ranked_tables_on():
    from shnor_utils.batch.plan import check_parameters, template_spec
    from shnor_utils.errors import ParameterError
    spec = template_spec("vpr_objectivity", ROOT / "notebooks" / "templates")
    base = {"dataset": "d", "scope": "municipality", "entity_id": "m1"}
    check_parameters("vpr_objectivity", spec, {**base, "ranked_tables": True})
    with pytest.raises(ParameterError, match="ranked_tables"):
        check_parameters("vpr_objectivity", spec, {**base, "ranked_tables": "да"})


def test_task_table_shows_n_and_draws_no_conclusion_from_a_small_group(school_rep):
    from shnor_utils.analyses.objectivity import present as V
    table, classes = V.task_table(school_rep)
    min_n = school_rep.meth.threshold("small_groups.min_for_share")
    n = table["Участников (n)"].str.replace("\u00a0", "").str.replace(" ", "").astype(int)
    small = table["Оценка"] == "мало участников: выводы не делаются"
    assert (small == (n < min_n)).all()
    assert all(c != "shnor-flag" for c, s in zip(classes, small) if s)
    assert "task_deficits" in VC.finding_kinds(school_rep)      # the planted school has tasks below mastery


def test_region_funnel_names_exactly_the_planted_journal_inflation(demo_small):
    # with the overdispersion correction the «понизили» funnel flags the three planted schools and no other
    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))
    planted = {p["school_id"] for p in truth["journal_inflation"]}
    rep = open_report(demo_small, template="vpr_objectivity", scope="region", year=2026)
    pts, p0, title = F.key_shares(rep, F.VPR_SHARES)[0]
    assert "понизивших" in title and pts["adjusted"].all() and pts["phi"].iloc[0] > 1
    assert set(pts.loc[pts["position"] == "above", "entity_id"]) == planted


def _points_directly(rep, indicator_id, *, exam=None, subjects=None):
    """The funnel points computed from the report's own indicator table, as before the shared memo."""
    ind = rep.indicators
    region = F._select(ind[ind["level"] == "region"], indicator_id, rep.year, exam, subjects)
    p0 = float(region["numerator"].sum() / region["denominator"].sum())
    rows = F._select(ind[ind["level"] == "school"], indicator_id, rep.year, exam, subjects)
    rows = rows[~F.hidden(rows)]
    pooled = rows.groupby("entity_id")[["numerator", "denominator"]].sum()
    pooled = pooled[pooled["denominator"] > 0]
    return pooled, 100 * p0


def test_funnel_points_from_the_shared_memo_equal_the_direct_computation_for_every_school(demo_small):
    # the region's sums are computed once per kernel; each school report puts its own (revealed) rows back
    from shnor_utils.indicators.privacy import hidden
    from shnor_utils.reporting.report import clear_derived

    clear_derived()
    schools = pd.read_parquet(Path(demo_small) / "schools.parquet")["school_id"].tolist()
    revealed = 0
    for sid in schools:
        rep = open_report(demo_small, template="vpr_objectivity", scope="school", entity_id=sid, year=2026)
        own_hidden = hidden(rep.shared[(rep.shared["level"] == "school") & (rep.shared["entity_id"] == sid)]).any()
        revealed += bool(own_hidden)
        for indicator_id, filters, _ in F.VPR_SHARES + F.GIA_SHARES:
            subjects = rep.meth.threshold("gia.mandatory_subjects") if indicator_id == "gia_below_min" else None
            pts, p0 = F.points(rep, indicator_id, subjects=subjects, **filters)
            pooled, p0_direct = _points_directly(rep, indicator_id, subjects=subjects, **filters)
            assert p0 == pytest.approx(p0_direct)
            assert pts["entity_id"].tolist() == pooled.index.tolist()
            assert pts["k"].tolist() == pooled["numerator"].tolist()
            assert pts["n"].tolist() == pooled["denominator"].tolist()
    assert revealed > 0   # some school had small groups of its own that only its own report counts
