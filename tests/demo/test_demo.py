"""The demo region (shnor_utils.demo): contract-conforming tables and every planted effect.

One 64-school region is generated per module; each test recomputes an effect DIRECTLY from the
files with a few lines of pandas (as an analysis would) and compares it with truth.json.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from shnor_utils.demo import build, generate
from shnor_utils.errors import ParameterError
from shnor_utils.methodology import load_methodology
from shnor_utils.data.schema import CONTRACT_TABLES, TABLES

M = load_methodology()
SEED = 20261122
RU, MA = "Русский язык", "Математика"
Z = M.threshold("objectivity_signs.z")
N_SIGN = M.threshold("small_groups.min_for_sign")
SIGN_PROCS = [(p["subject"], p["grade"]) for p in M.threshold("objectivity_signs.procedures")]


# ---- fixtures and readers -------------------------------------------------------------------
def read_table(folder, name: str) -> pd.DataFrame:
    """Read `<name>.csv` as text and type it by the schema (fails on a value of the wrong type)."""
    table = TABLES[name]
    raw = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
    assert list(raw.columns) == table.contract_columns, name
    out = {}
    for col in (c for c in table.columns if not c.extension):
        s = raw[col.name]
        if col.type in ("int", "float"):
            num = pd.to_numeric(s, errors="raise")
            if col.type == "int":
                assert (num.dropna() % 1 == 0).all(), (name, col.name)
                num = num.astype("Int64")
            s = num
        elif col.type == "bool":
            assert s.dropna().isin(["True", "False"]).all(), (name, col.name)
            s = s.map({"True": True, "False": False})
        out[col.name] = s
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo64"
    generate(out, schools=64, seed=SEED)
    return out


@pytest.fixture(scope="module")
def truth(folder) -> dict:
    return json.loads((folder / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def t(folder) -> dict:
    return {name: read_table(folder, name) for name in CONTRACT_TABLES}


@pytest.fixture(scope="module")
def present(t) -> pd.DataFrame:
    """Present ВПР participants with the scale max and the % of max (S of the cohort sign)."""
    p = t["vpr"][~t["vpr"].absent].copy()
    keys = p[["year", "subject", "grade"]].drop_duplicates()
    keys["smax"] = [M.vpr_scale(y, s, g).max for y, s, g in keys.itertuples(index=False)]
    p = p.merge(keys, on=["year", "subject", "grade"])
    p["pct"] = p.primary_score / p.smax
    return p


def check_contract(tables: dict) -> None:
    """Columns, nulls, ranges, categories, keys and school references of every table."""
    ids = set(tables["schools"].school_id)
    for name, table in ((n, TABLES[n]) for n in CONTRACT_TABLES):
        df = tables[name]
        assert list(df.columns) == table.contract_columns, name
        assert len(df), name
        for col in (c for c in table.columns if not c.extension):
            s = df[col.name]
            if not col.nullable:
                assert not s.isna().any(), (name, col.name)
            if col.min is not None:
                assert (s.dropna() >= col.min).all(), (name, col.name)
            if col.max is not None:
                assert (s.dropna() <= col.max).all(), (name, col.name)
            if col.allowed:
                assert s.dropna().isin(col.allowed).all(), (name, col.name)
        if table.key:
            assert not df.duplicated(list(table.key)).any(), name
        if table.references_schools:
            assert df.school_id.isin(ids).all(), name


def check_marks(vpr: pd.DataFrame, gia: pd.DataFrame) -> None:
    """ВПР and ГИА marks are what the year's scale gives for the primary score."""
    assert vpr[vpr.absent].primary_score.isna().all() and vpr[vpr.absent].mark.isna().all()
    p = vpr[~vpr.absent]
    for (year, subject, grade), d in p.groupby(["year", "subject", "grade"]):
        scale = M.vpr_scale(year, subject, grade)
        assert d.primary_score.between(0, scale.max).all()
        assert (d.mark.to_numpy(dtype=float) == scale.mark(d.primary_score.to_numpy(dtype=float))).all()
    oge = gia[gia.exam == "ОГЭ"]
    for (year, subject), d in oge.groupby(["year", "subject"]):
        scale = M.oge_scale(year, subject)
        assert d.primary_score.between(0, scale.max).all()
        assert (d.mark.to_numpy(dtype=float) == scale.mark(d.primary_score.to_numpy(dtype=float))).all()
    base = gia[(gia.exam == "ЕГЭ") & (gia.level == "базовая")]
    scale = M.ege_base_math_scale()
    assert base.test_score.isna().all() and base.primary_score.between(0, scale.max).all()
    assert (base.mark.to_numpy(dtype=float) == scale.mark(base.primary_score.to_numpy(dtype=float))).all()
    ege = gia[(gia.exam == "ЕГЭ") & (gia.level != "базовая")]
    assert ege.mark.isna().all() and ege.test_score.between(0, 100).all()
    assert gia[gia.level.notna()].subject.eq(MA).all() and gia[gia.level.notna()].exam.eq("ЕГЭ").all()
    assert ((gia.attempt == 1) == (gia.period == "основной")).all()


def low_procedures(vpr: pd.DataFrame, gia: pd.DataFrame) -> pd.DataFrame:
    """The Rosobrnadzor rule recomputed from the tables: failing share per school × year ×
    procedure (ВПР: «2» among present; ОГЭ: «2»; ЕГЭ: below the minimum — профильная below its
    minimum, базовая «2»; main period, attempt 1)."""
    rows = []
    main = gia[(gia.period == "основной") & (gia.attempt == 1)]
    for proc in M.threshold("low_results_rule.procedures"):
        kind, subject = proc["kind"], proc["subject"]
        if kind == "ВПР":
            d = vpr[(vpr.subject == subject) & (vpr.grade == proc["grade"]) & ~vpr.absent]
            failed = d.mark == 2
            label = f"ВПР {subject} {proc['grade']}"
        else:
            d = main[(main.exam == kind) & (main.subject == subject)]
            if kind == "ОГЭ":
                failed = d.mark == 2
            else:
                minimum = np.array([M.ege_min_score(y, s, lv if isinstance(lv, str) else None) or 0
                                    for y, s, lv in zip(d.year, d.subject, d.level)])
                failed = np.where(d.level == "базовая", d.mark == 2, d.test_score < minimum)
            label = f"{kind} {subject}"
        g = pd.DataFrame({"school_id": d.school_id, "year": d.year, "failed": np.asarray(failed, dtype=bool)})
        agg = g.groupby(["school_id", "year"]).failed.agg(["size", "sum"]).reset_index()
        rows.append(agg.assign(procedure=label))
    out = pd.concat(rows, ignore_index=True).rename(columns={"size": "n", "sum": "failed"})
    out["share"] = 100 * out.failed / out.n
    out["low"] = (out.n >= M.threshold("low_results_rule.min_participants")) & (
        out.share >= M.threshold("low_results_rule.share_failed"))
    return out


def shnor_lists(low: pd.DataFrame, years: list) -> tuple[dict, dict]:
    k = low[low.low].groupby(["school_id", "year"]).size()
    kk = lambda s, y: int(k.get((s, y), 0))  # noqa: E731
    schools = sorted(low.school_id.unique())
    shnor = {str(y): sorted(s for s in schools if kk(s, y - 1) >= 2 or (kk(s, y - 1) >= 1 and kk(s, y - 2) >= 1))
             for y in years[1:] + [years[-1] + 1]}
    risk = {str(y): sorted(s for s in schools if kk(s, y) >= 1) for y in years}
    return shnor, risk


# ---- files, contract, determinism ---------------------------------------------------------------
def test_every_table_file_is_written(folder, truth):
    names = {p.name for p in folder.iterdir()}
    assert {f"{n}.csv" for n in CONTRACT_TABLES} | {"truth.json", "README.txt"} == names
    assert "СИНТЕТИЧЕСКИЕ" in (folder / "README.txt").read_text(encoding="utf-8")
    assert truth["seed"] == SEED and truth["schools"] == 64 and truth["region_id"] == "reg99"
    assert len(truth["municipalities"]) >= 3


def test_tables_follow_the_contract(t):
    check_contract(t)
    sc = t["schools"]
    assert sc.school_id.str.fullmatch(r"edu99\d{4}").all()
    assert sc.municipality_id.str.fullmatch(r"reg99_m\d{3}").all()
    assert (sc.settlement == "город").mean() == pytest.approx(0.4, abs=0.05)
    assert sc.groupby("settlement").social_index.mean()["город"] > sc.groupby("settlement").social_index.mean()["село"]
    assert {"лицей", "гимназия", "СОШ с УИОП", "ООШ", "НОШ", "интернат"} <= set(sc.school_type)


def test_marks_follow_the_scales(t):
    check_marks(t["vpr"], t["gia"])
    assert t["vpr"].journal_mark.isna().mean() == pytest.approx(0.03, abs=0.01)


def test_task_scores_sum_to_the_primary_score(t, present):
    tasks = t["vpr_tasks"]
    assert tasks.year.eq(tasks.year.max()).all()
    keys = ["year", "subject", "grade", "school_id", "participant_code"]
    sums = tasks.groupby(keys).score.sum().rename("sum").reset_index().merge(present, on=keys)
    assert len(sums) == len(tasks.groupby(keys)) and (sums["sum"] == sums.primary_score).all()
    assert (tasks.score <= tasks.max_score).all() and tasks.max_score.between(1, 3).all()
    blueprint = tasks.drop_duplicates(["year", "subject", "grade", "task"])
    for (y, s, g), d in blueprint.groupby(["year", "subject", "grade"]):
        assert d.max_score.sum() == M.vpr_scale(y, s, g).max
        assert set(d.level) == {"Б", "П", "В"} and (d.level == "Б").mean() > 0.5
    rate = tasks.score.sum() / tasks.max_score.sum()
    by_level = tasks.groupby("level").score.sum() / tasks.groupby("level").max_score.sum()
    assert by_level["Б"] > rate > by_level["В"] and by_level["П"] > by_level["В"]


def test_gia_holds_pseudonyms_only(t):
    gia, grads = t["gia"], t["graduates"]
    assert gia.participant_id.str.fullmatch(r"p[0-9a-f]{10}").all()
    assert set(gia.columns) == set(TABLES["gia"].contract_columns)
    assert set(grads.participant_id) == set(gia.participant_id)


def test_same_seed_same_bytes_other_seed_other_data(folder, tmp_path):
    generate(tmp_path / "again", schools=64, seed=SEED)
    for name in ("vpr.csv", "gia.csv", "truth.json"):
        assert (tmp_path / "again" / name).read_bytes() == (folder / name).read_bytes(), name
    generate(tmp_path / "again", schools=64, seed=SEED + 1)  # replaces the earlier demo folder
    assert (tmp_path / "again" / "vpr.csv").read_bytes() != (folder / "vpr.csv").read_bytes()
    assert json.loads((tmp_path / "again" / "truth.json").read_text(encoding="utf-8"))["seed"] == SEED + 1


def test_parquet_holds_the_same_tables(t, tmp_path):
    generate(tmp_path / "pq", schools=64, seed=SEED, fmt="parquet")
    for name in ("schools", "vpr", "staffing"):
        pq = pd.read_parquet(tmp_path / "pq" / f"{name}.parquet")
        assert list(pq.columns) == TABLES[name].contract_columns
        pd.testing.assert_frame_equal(pq.astype(object).where(pq.notna(), None),
                                      t[name].astype(object).where(t[name].notna(), None), check_dtype=False)


def test_a_foreign_folder_is_never_replaced(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("не трогать")
    with pytest.raises(ParameterError):
        generate(tmp_path / "mine", schools=64)
    assert (tmp_path / "mine" / "notes.txt").exists()


# ---- planted effects -------------------------------------------------------------------------
def test_journal_inflation_raises_ponizili(present, truth):
    def shares(d):
        d = d[d.journal_mark.notna()]
        return (d.mark < d.journal_mark).mean(), (d.mark == d.journal_mark).mean(), (d.mark > d.journal_mark).mean()
    lower, confirm, higher = shares(present)
    assert 0.15 <= lower <= 0.30 and 0.65 <= confirm <= 0.80 and 0.03 <= higher <= 0.08
    rm = present[present.subject.isin([RU, MA])]
    region = shares(rm)[0]
    assert len(truth["journal_inflation"]) >= 3
    for e in truth["journal_inflation"]:
        school = shares(rm[rm.school_id == e["school_id"]])[0]
        assert school >= max(0.45, region + 0.15), e


def _sign1(present: pd.DataFrame) -> pd.DataFrame:
    """Sign 1 per school × sign procedure: CI lower bound vs region CI upper bound."""
    p = present[[(s, g) in SIGN_PROCS for s, g in zip(present.subject, present.grade)]]
    keys = ["year", "subject", "grade"]
    reg = p.groupby(keys).primary_score.agg(["mean", "std", "count"])
    reg["ub"] = reg["mean"] + Z * reg["std"] / np.sqrt(reg["count"])
    grp = p.groupby(["school_id", *keys]).primary_score.agg(["mean", "std", "count"]).reset_index()
    grp["lb"] = grp["mean"] - Z * grp["std"] / np.sqrt(grp["count"])
    grp = grp.join(reg["ub"], on=keys)
    grp["sign"] = (grp["count"] >= N_SIGN) & (grp.lb > grp.ub)
    return grp


def test_sign_inflated_mean(present, truth):
    grp = _sign1(present)
    flagged = {tuple(r) for r in grp[grp.sign][["school_id", "year", "subject", "grade"]].itertuples(index=False)}
    planted = [(e["school_id"], e["year"], e["subject"], e["grade"]) for e in truth["sign_inflated_mean"]]
    assert len({p[0] for p in planted}) >= 2
    for e in truth["sign_inflated_mean"]:
        assert e["participants"] >= 15 and (e["school_id"], e["year"], e["subject"], e["grade"]) in flagged, e
    drops = {(e["school_id"], e["year"], e["subject"], e["grade_from"])
             for e in truth["sign_cohort_jump"] if e["direction"] == "drop"}
    unplanted = flagged - set(planted) - drops
    schools = sorted({u[0] for u in unplanted})
    print(f"\nsign 1 (завышенный средний балл): unplanted schools {len(schools)} {schools}, groups {len(unplanted)}")
    recorded = {(u["school_id"], u["year"], u["subject"], u["grade"])
                for u in truth["unplanted"]["sign_inflated_mean"] if "exam" not in u}
    assert unplanted == recorded
    assert set(schools) <= set(truth["legitimately_strong"])


def test_sign_mark_mismatch(present, truth):
    in_sign = np.array([(s, g) in SIGN_PROCS for s, g in zip(present.subject, present.grade)])
    p = present[present.journal_mark.notna().to_numpy() & in_sign]
    planted = {(e["school_id"], e["year"], e["subject"], e["grade"]) for e in truth["sign_mark_mismatch"]}
    assert len({p[0] for p in planted}) >= 2
    negative = set()
    for key, d in p.groupby(["school_id", "year", "subject", "grade"]):
        if len(d) >= N_SIGN and d.journal_mark.nunique() > 1 and d.primary_score.nunique() > 1:
            rho = spearmanr(d.journal_mark.astype(float), d.primary_score.astype(float)).statistic
            if rho < M.threshold("objectivity_signs.spearman_below"):
                negative.add(key)
    assert negative == planted


def _cohort_k(present: pd.DataFrame) -> pd.DataFrame:
    g_lo, g_hi = M.threshold("objectivity_signs.cohort_grades")
    s = present[present.subject.isin([RU, MA])].groupby(["school_id", "year", "subject", "grade"]).pct.agg(
        ["mean", "count"])
    s = s[s["count"] >= N_SIGN]["mean"].reset_index()
    lo = s[s.grade == g_lo].rename(columns={"mean": "s_lo"})
    hi = s[s.grade == g_hi].assign(year=lambda d: d.year - 1).rename(columns={"mean": "s_hi"})
    k = lo.merge(hi, on=["school_id", "year", "subject"])
    k["K"] = k.s_lo / k.s_hi
    q = k.groupby(["year", "subject"]).K.quantile([0.25, 0.75]).unstack()
    iqr, c = q[0.75] - q[0.25], M.threshold("objectivity_signs.iqr_k")
    k = k.join(pd.DataFrame({"low": q[0.25] - c * iqr, "high": q[0.75] + c * iqr}), on=["year", "subject"])
    k["direction"] = np.select([k.K > k.high, k.K < k.low], ["drop", "rise"], "")
    return k


def test_sign_cohort_jump(present, truth):
    k = _cohort_k(present)
    assert {e["direction"] for e in truth["sign_cohort_jump"]} == {"drop", "rise"}
    for e in truth["sign_cohort_jump"]:
        row = k[(k.school_id == e["school_id"]) & (k.year == e["year"]) & (k.subject == e["subject"])].iloc[0]
        assert row.direction == e["direction"], (e, row.K, row.low, row.high)
        margin = row.K / row.high if e["direction"] == "drop" else row.low / row.K
        assert margin > 1.2, (e, row.K, row.low, row.high)  # far outside the fence
    jumps = {(r.school_id, r.year, r.subject) for r in k[k.direction != ""].itertuples()}
    planted = {(e["school_id"], e["year"], e["subject"]) for e in truth["sign_cohort_jump"]}
    recorded = {(u["school_id"], u["year"], u["subject"]) for u in truth["unplanted"]["sign_cohort_jump"]}
    assert jumps - planted == recorded
    print(f"\nsign 3 (резкое изменение 4→5): unplanted {len(jumps - planted)}")


def test_boundary_peak(present, truth):
    ratio = M.threshold("score_distribution.peak_ratio")
    assert truth["boundary_peak"]
    for e in truth["boundary_peak"]:
        d = present[(present.school_id == e["school_id"]) & (present.year == e["year"])
                    & (present.subject == e["subject"]) & (present.grade == e["grade"])]
        low3 = M.vpr_scale(e["year"], e["subject"], e["grade"]).min[3]
        counts = d.primary_score.value_counts()
        at, around = counts.get(low3, 0), (counts.get(low3 - 1, 0) + counts.get(low3 + 1, 0)) / 2
        assert len(d) >= M.threshold("score_distribution.approximate_n") and e["score"] == low3
        assert at >= max(2 * ratio * around, 10), (e, at, around)


def test_task_pattern(t, truth):
    tasks = t["vpr_tasks"]
    assert truth["task_pattern"]
    for e in truth["task_pattern"]:
        d = tasks[(tasks.subject == e["subject"]) & (tasks.grade == e["grade"])]
        easy = d.level == "Б"
        school = d.school_id == e["school_id"]
        rate = lambda m: d[m].score.sum() / d[m].max_score.sum()  # noqa: E731
        assert rate(school & easy) < rate(easy) - 0.05, e
        assert rate(school & ~easy) > rate(~easy) + 0.05, e


def test_low_results_rule_gives_exactly_the_planted_lists(t, truth):
    low = low_procedures(t["vpr"], t["gia"])
    found = {(r.school_id, r.year, r.procedure) for r in low[low.low].itertuples()}
    assert found == {(e["school_id"], e["year"], e["procedure"]) for e in truth["low_procedures"]}
    assert low[low.low].share.min() >= 35
    judged = low[(low.n >= M.threshold("low_results_rule.min_participants")) & ~low.low]
    assert judged.share.max() < M.threshold("low_results_rule.share_failed")
    shnor, risk = shnor_lists(low, truth["years"])
    assert shnor == truth["shnor"] and risk == truth["risk_school"]


def test_shnor_patterns_cover_entry_exit_and_reentry(truth):
    counts = truth["low_counts"]
    years = [str(y) for y in truth["years"]]
    assert any(max(c.values()) >= 2 for c in counts.values())
    assert any(c[a] == 1 and c[b] == 1 for c in counts.values() for a, b in zip(years, years[1:]))
    listed = {s for ids in truth["shnor"].values() for s in ids}
    assert set(truth["low_counts"]) - listed  # a risk school never listed
    lists = [set(truth["shnor"][y]) for y in sorted(truth["shnor"])]
    exits = set().union(*(a - b for a, b in zip(lists, lists[1:])))
    reentry = {s for s in listed
               if any(s in a and s not in b and s in c for a, b, c in zip(lists, lists[1:], lists[2:]))}
    assert exits and reentry
    for ids in truth["shnor"].values():
        assert 0.03 <= len(ids) / truth["schools"] <= 0.12


def _school_year_pct(present):
    return present.groupby(["school_id", "year"]).agg(pct=("pct", "mean"), two=("mark", lambda m: (m == 2).mean()))


def test_improving_and_declining(present, truth):
    sy = _school_year_pct(present)
    for effect, sign in (("improving", 1), ("declining", -1)):
        assert len(truth[effect]) >= 3
        for e in truth[effect]:
            d = sy.loc[e["school_id"]]
            slope = np.polyfit(d.index.to_numpy(), d.pct.to_numpy(), 1)[0]
            assert sign * slope >= 0.02, (e, d)
            assert sign * (d.two.iloc[0] - d.two.iloc[-1]) > 0.02, (e, d)


def test_resilient_schools_beat_their_context(present, t, truth):
    mean = present.groupby("school_id").pct.mean()
    si = t["schools"].set_index("school_id").social_index.reindex(mean.index)
    slope, icpt = np.polyfit(si, mean, 1)
    resid = mean - (icpt + slope * si)
    assert slope > 0  # results follow the context
    assert len(truth["resilient"]) >= 2
    for e in truth["resilient"]:
        assert e["social_index"] <= si.quantile(0.35)
        assert resid[e["school_id"]] >= max(0.08, 1.5 * resid.std()), e


def test_vacancies_only_where_planted(t, truth):
    st, teachers = t["staffing"], t["teachers"]
    vac = st[st.vacancies > 0]
    got = {(r.school_id, r.year, r.position, r.subject if isinstance(r.subject, str) else None)
           for r in vac.itertuples()}
    assert got == {(e["school_id"], e["year"], e["position"], e["subject"]) for e in truth["vacancies"]}
    rest = st[st.vacancies == 0]
    assert (rest.rates_filled == rest.rates_planned).all()
    assert np.allclose(vac.rates_planned - vac.rates_filled, vac.vacancies)
    keys = ["year", "school_id", "position", "subject"]
    filled = teachers.fillna({"subject": ""}).groupby(keys).rate.sum()
    st_f = st.fillna({"subject": ""}).set_index(keys).rates_filled
    assert np.allclose(filled, st_f.reindex(filled.index))  # rates filled = the teachers' rates
    assert teachers.groupby("teacher_id").year.nunique().max() == len(truth["years"])  # stable ids


def test_teacher_deficits_only_where_planted(t, truth):
    d = t["teacher_diagnostics"]
    assert truth["deficit_threshold"] == 0.5
    share = (d.score / d.max_score < truth["deficit_threshold"]).groupby([d.school_id, d.year, d.block]).mean()
    planted = {(e["school_id"], e["year"], e["block"]) for e in truth["teacher_deficits"]}
    assert set(share[share > 0.5].index) == planted
    assert (share < 0.5).sum() == len(share) - len(planted)
    assert share.mean() < 0.05
    dev = t["teacher_development"]
    diagnosed = set(dev[dev.diagnosed][["year", "school_id", "teacher_id"]].itertuples(index=False))
    assert set(d[["year", "school_id", "teacher_id"]].itertuples(index=False)) == diagnosed
    assert (d.groupby(["year", "teacher_id"]).block.nunique() == 5).all()


def test_official_list_differs_once(t, truth):
    off = t["official_shnor"].groupby("year").school_id.apply(set)
    diff = truth["official_differs"]
    for year, ids in truth["shnor"].items():
        got = off.get(int(year), set())
        if int(year) == diff["year"]:
            assert got - set(ids) == set(diff["extra"]) and set(ids) - got == set(diff["missing"])
        else:
            assert got == set(ids)


def test_graduates_and_risk_profiles(t, truth):
    grads, gia = t["graduates"], t["gia"]
    level = gia["level"].astype(object).where(gia["level"].notna(), None) if "level" in gia else [None] * len(gia)
    minimum = pd.Series([M.ege_min_score(int(y), s, lv) if e == "ЕГЭ" else None
                         for y, s, lv, e in zip(gia["year"], gia["subject"], level, gia["exam"])], index=gia.index, dtype="float64")
    failed_retake = gia[(gia.attempt == 2) & ((gia.mark == 2) | (gia.test_score < minimum))]
    assert set(grads[~grads.attestat].participant_id) <= set(failed_retake.participant_id)
    assert 0.005 < (~grads.attestat).mean() < 0.05 and 0.01 < grads.honours.mean() < 0.08
    assert not (grads.honours & ~grads.attestat).any()
    rp = t["risk_profiles"]
    assert (rp.groupby(["year", "school_id"]).risk_factor.nunique() == 10).all()
    assert set(rp.risk_factor) == set(truth["risk_factors"])


# ---- other sizes and years --------------------------------------------------------------------
def test_300_schools_keep_the_invariants():
    tables, truth = build(schools=300, seed=7)
    check_contract(tables)
    check_marks(tables["vpr"], tables["gia"])
    low = low_procedures(tables["vpr"], tables["gia"])
    assert shnor_lists(low, truth["years"]) == (truth["shnor"], truth["risk_school"])
    assert len(tables["schools"]) == 300 and tables["schools"].municipality_id.nunique() == 10


def test_two_years_and_the_smallest_region():
    tables, truth = build(schools=40, seed=3, years=(2025, 2026))
    low = low_procedures(tables["vpr"], tables["gia"])
    assert shnor_lists(low, truth["years"]) == (truth["shnor"], truth["risk_school"])
    assert set(truth["shnor"]) == {"2026", "2027"}
    with pytest.raises(ParameterError):
        build(schools=10)
