"""ШНОР identification by the Rosobrnadzor rule (docs/METHODOLOGY.md §3; seed 003, orders 847 and 1336).

A procedure result of a school is *low* («низкие образовательные результаты») when at least
30 % of its participants got «2» (ВПР) or fell below the minimum (ОГЭ, ЕГЭ). With
k(s, Y) = number of low procedures of school s in year Y:

    ШНОР(s, Y)        = k(s, Y−1) ≥ 2  OR  (k(s, Y−1) ≥ 1 AND k(s, Y−2) ≥ 1)
    школа риска(s, Y) = k(s, Y) ≥ 1                                    (seed 003, R2)

Procedures, the 30 % and the minimum group size: `thresholds.yaml → low_results_rule`.
The failing shares are computed here from the raw `vpr` / `gia` tables (vectorised).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from shnor_utils.analyses.gia.compute import below_minimum
from shnor_utils.indicators.table import REGION_ID, rollup_counts, share_rows
from shnor_utils.methodology import Methodology

PROC_COLS = ["school_id", "year", "procedure", "kind", "subject", "grade", "participants", "failed"]


def procedures(meth: Methodology) -> pd.DataFrame:
    """The configured procedures: kind (ВПР/ОГЭ/ЕГЭ), subject, grade (ОГЭ 9, ЕГЭ 11) and a label
    («ВПР Русский язык 5», «ОГЭ Математика»)."""
    rows = []
    for p in meth.threshold("low_results_rule.procedures"):
        grade = p.get("grade") or {"ОГЭ": 9, "ЕГЭ": 11}.get(p["kind"])
        label = f"{p['kind']} {p['subject']}" + (f" {int(grade)}" if p["kind"] == "ВПР" else "")
        rows.append({"procedure": label, "kind": p["kind"], "subject": p["subject"], "grade": int(grade)})
    return pd.DataFrame(rows)


def vpr_failing(vpr: pd.DataFrame, procs: pd.DataFrame) -> pd.DataFrame:
    """Participants (present, with a mark) and «2» per school × year × configured ВПР procedure."""
    vp = procs[procs["kind"] == "ВПР"]
    if vpr is None or vp.empty:
        return pd.DataFrame(columns=PROC_COLS)
    v = vpr[vpr["subject"].isin(vp["subject"]) & vpr["grade"].isin(vp["grade"])]
    v = v[~v["absent"].fillna(False).astype(bool) & v["mark"].notna()]
    v = v.assign(subject=v["subject"].astype(str), school_id=v["school_id"].astype(str))
    if "wave" in v:  # the rule judges the spring ВПР; autumn waves are another procedure
        v = v[~v["wave"].isin(["осень"])]   # an empty wave is the spring one
    v = v.merge(vp, on=["subject", "grade"])
    out = (v.assign(failed=(v["mark"] == 2).astype("int64"))
           .groupby(["school_id", "year", "procedure", "kind", "subject", "grade"], observed=True)
           .agg(participants=("failed", "size"), failed=("failed", "sum")).reset_index())
    return out[PROC_COLS]


def gia_row_failed(gia: pd.DataFrame, meth: Methodology) -> pd.Series:
    """Per ГИА row: below the minimum (bool; no known threshold counts as not below). The rule is
    the ГИА report's own, `gia.compute.below_minimum`."""
    return below_minimum(gia, meth).eq(1)


def gia_failing(gia: pd.DataFrame, procs: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Participants and those below the minimum per school × year × configured ОГЭ/ЕГЭ procedure.

    First attempt only (retakes are another result). A participant who sat both levels of ЕГЭ
    mathematics counts once and fails only when below the minimum at both."""
    gp = procs[procs["kind"] != "ВПР"].rename(columns={"kind": "exam"})
    if gia is None or gp.empty:
        return pd.DataFrame(columns=PROC_COLS)
    g = gia[(gia["attempt"] == 1) & gia["exam"].isin(gp["exam"]) & gia["subject"].isin(gp["subject"])]
    g = g.assign(exam=g["exam"].astype(str), subject=g["subject"].astype(str), school_id=g["school_id"].astype(str))
    g = g.merge(gp[["exam", "subject", "procedure"]], on=["exam", "subject"])
    g = g.assign(failed=gia_row_failed(g, meth).astype("int64"))
    # one row per participant and procedure: a passing row wins (min of failed)
    per_pupil = (g.sort_values("failed", kind="stable")
                 .drop_duplicates(["school_id", "year", "procedure", "participant_id"]))
    out = (per_pupil.groupby(["school_id", "year", "procedure", "exam", "subject"], observed=True)
           .agg(participants=("failed", "size"), failed=("failed", "sum")).reset_index()
           .rename(columns={"exam": "kind"}))
    out["grade"] = out["kind"].map(gp.drop_duplicates("exam").set_index("exam")["grade"]).astype("int64")
    return out[PROC_COLS]


def procedure_results(ds, meth: Methodology) -> pd.DataFrame:
    """One row per school × year × procedure: participants, failed, share (%), judged (enough
    participants), low (judged and share ≥ the rule's 30 %)."""
    procs = procedures(meth)
    parts = [vpr_failing(ds.vpr if ds.has("vpr") else None, procs),
             gia_failing(ds.gia if ds.has("gia") else None, procs, meth)]
    res = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else pd.DataFrame(columns=PROC_COLS)
    return judge(res, meth)


def judge(res: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Add share = 100·failed/participants, judged = participants ≥ min_participants,
    low = judged AND share ≥ share_failed (the boundary 30 % itself is low)."""
    share_cut = meth.threshold("low_results_rule.share_failed")
    min_n = meth.threshold("low_results_rule.min_participants")
    res = res.copy()
    res["participants"] = res["participants"].astype("int64")
    res["failed"] = res["failed"].astype("int64")
    res["year"] = res["year"].astype("int64")
    res["share"] = np.where(res["participants"] > 0, 100 * res["failed"] / res["participants"].clip(lower=1), np.nan)
    res["judged"] = res["participants"] >= min_n
    # integer comparison failed·100 ≥ cut·participants avoids 29.999… floating error at the boundary
    res["low"] = res["judged"] & (100 * res["failed"] >= share_cut * res["participants"])
    return res


def trigger_distance(results: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Distance to the trigger of the 30 % rule per school × year × procedure (`results` of
    `procedure_results`): adds

    need   — the fewest participants below the minimum that make the procedure low with the same n:
             ⌈share_failed · n / 100⌉ (the boundary itself is low: failed · 100 ≥ share_failed · n);
    distance — signed change of `failed` (same n) that changes the procedure's status: for a low
             procedure −(failed − need + 1) (that many fewer leave the rule), else need − failed (that
             many more enter it); NA when the procedure is not judged (n < min_participants);
    margin_pp — share − share_failed, п.п. (NA when not judged)."""
    share_cut = meth.threshold("low_results_rule.share_failed")
    out = results.copy()
    n = out["participants"].astype("int64")
    k = out["failed"].astype("int64")
    # the tolerance keeps an exact product (30·10/100 = 3) from rounding up through floating error
    need = np.ceil(share_cut * n / 100 - 1e-9).astype("int64")
    out["need"] = need
    dist = np.where(out["low"], -(k - need + 1), need - k)
    out["distance"] = pd.array(dist, dtype="Int64")
    out.loc[~out["judged"].astype(bool), "distance"] = pd.NA
    out["margin_pp"] = (out["share"] - share_cut).where(out["judged"].astype(bool))
    return out


def near_trigger(distance: pd.DataFrame, meth: Methodology) -> pd.Series:
    """Procedures «на грани»: judged and within `low_results_rule.watch_participants` participants
    (|distance|) or `low_results_rule.watch_pp` п.п. (|share − share_failed|) of the trigger."""
    by_n = meth.threshold("low_results_rule.watch_participants")
    by_pp = meth.threshold("low_results_rule.watch_pp")
    d = distance["distance"].abs()
    near = (d <= by_n).fillna(False) | (distance["margin_pp"].abs() <= by_pp).fillna(False)
    return near.astype(bool) & distance["judged"].astype(bool)


def watch_list(results: pd.DataFrame, meth: Methodology, year: int) -> pd.DataFrame:
    """The «на грани» procedures of `year` (the results that form the list of year + 1), each with
    the effect of its status flipping alone on the school's list of year + 1.

    Columns: school_id, procedure, participants, failed, share, low, need, distance, margin_pp,
    k (low procedures of the school in `year`), k_prev (in `year` − 1), shnor_next (listed for
    year + 1 now), shnor_flip (listed for year + 1 if this procedure's status flipped)."""
    cols = ["school_id", "procedure", "participants", "failed", "share", "low", "need", "distance", "margin_pp",
            "k", "k_prev", "shnor_next", "shnor_flip"]
    d = trigger_distance(results[results["year"].isin([year, year - 1])], meth)
    k = d.groupby(["school_id", "year"])["low"].sum()
    this = d[(d["year"] == year)]
    this = this[near_trigger(this, meth)].copy()
    if this.empty:
        return pd.DataFrame(columns=cols)
    this["k"] = [int(k.get((s, year), 0)) for s in this["school_id"]]
    this["k_prev"] = [int(k.get((s, year - 1), 0)) for s in this["school_id"]]
    flipped = this["k"] + np.where(this["low"], -1, 1)

    def listed(k_now, k_before):
        return (k_now >= 2) | ((k_now >= 1) & (k_before >= 1))
    this["shnor_next"] = listed(this["k"], this["k_prev"])
    this["shnor_flip"] = listed(flipped, this["k_prev"])
    return this.sort_values(["school_id", "procedure"])[cols].reset_index(drop=True)


def low_counts(results: pd.DataFrame, school_ids, years) -> pd.DataFrame:
    """k(s, t): number of low procedures per school × year, on the full grid (0 where none);
    columns school_id, year, k, judged (procedures judged)."""
    grid = pd.MultiIndex.from_product([list(school_ids), sorted(int(y) for y in years)], names=["school_id", "year"])
    k = (results.groupby(["school_id", "year"], observed=True)
         .agg(k=("low", "sum"), judged=("judged", "sum"))
         .reindex(grid, fill_value=0).reset_index())
    return k.astype({"k": "int64", "judged": "int64"})


def rule_lists(k: pd.DataFrame) -> pd.DataFrame:
    """ШНОР and risk status per school × list year from k(s, t).

    List years: every data year after the first and the year after the last (the list of
    Y is formed from the results of Y−1 and Y−2). risk_school(Y) = k(Y) ≥ 1 for data years.
    Returns school_id, year, k (this year's, NA for the year after the data), k_prev1, k_prev2,
    shnor (bool; NA in the first data year), risk_school (bool; NA after the data)."""
    years = sorted(k["year"].unique())
    if not years:
        return pd.DataFrame(columns=["school_id", "year", "k", "k_prev1", "k_prev2", "shnor", "risk_school"])
    wide = k.pivot(index="school_id", columns="year", values="k")
    all_years = years + [years[-1] + 1]
    wide = wide.reindex(columns=range(years[0] - 2, years[-1] + 2))
    prev1 = wide.shift(1, axis=1)
    prev2 = wide.shift(2, axis=1)
    def long(frame, name):
        return frame[all_years].stack(future_stack=True).rename(name)
    out = pd.concat([long(wide, "k"), long(prev1, "k_prev1"), long(prev2, "k_prev2")], axis=1).reset_index()
    out.columns = ["school_id", "year", "k", "k_prev1", "k_prev2"]
    p1, p2 = out["k_prev1"].fillna(0), out["k_prev2"].fillna(0)
    shnor = (p1 >= 2) | ((p1 >= 1) & (p2 >= 1))
    out["shnor"] = shnor.astype("boolean").mask(out["year"] == years[0])  # no Y−1 data: undefined
    out["risk_school"] = (out["k"] >= 1).astype("boolean").mask(out["k"].isna())
    return out.astype({"k": "Float64", "k_prev1": "Float64", "k_prev2": "Float64"})


def rule_status(ds, meth: Methodology) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(procedure results, list status per school × list year) of a dataset."""
    res = procedure_results(ds, meth)
    years = set(res["year"].unique().tolist())
    for name in ("vpr", "gia"):
        if ds.has(name):
            years |= set(getattr(ds, name)["year"].unique().tolist())
    k = low_counts(res, ds.schools["school_id"], years)
    return res, rule_lists(k)


def list_history(status: pd.DataFrame) -> pd.DataFrame:
    """Per school ever listed: years on the ШНОР list, entries, exits and re-entries.

    entry(Y) = on(Y) and not on(Y−1); exit(Y) = on(Y−1) and not on(Y); re-entry = an entry after
    an exit. The first list year counts as entry."""
    on = status.dropna(subset=["shnor"]).pivot(index="school_id", columns="year", values="shnor").astype(bool)
    on = on.loc[on.any(axis=1)]
    cols = ["school_id", "years_on", "entries", "exits", "reentries"]
    if on.empty:
        return pd.DataFrame(columns=cols)
    before = on.shift(1, axis=1, fill_value=False).astype(bool)
    entry, exit_ = on & ~before, ~on & before
    reentry = entry & exit_.cumsum(axis=1).gt(0)
    years = np.array(on.columns)
    def listed(mask):
        return [[int(y) for y in years[row]] for row in mask.to_numpy()]
    return pd.DataFrame({"school_id": on.index, "years_on": listed(on), "entries": listed(entry),
                         "exits": listed(exit_), "reentries": listed(reentry)}).reset_index(drop=True)


def compare_official(status: pd.DataFrame, official: pd.DataFrame | None) -> pd.DataFrame:
    """Computed vs official list per year in which the official list is given: school_id, year,
    computed, official, agree. Schools on neither list are left out."""
    cols = ["school_id", "year", "computed", "official", "agree"]
    if official is None or official.empty:
        return pd.DataFrame(columns=cols)
    years = sorted(official["year"].unique())
    comp = status[status["year"].isin(years) & status["shnor"].fillna(False).astype(bool)][["school_id", "year"]]
    both = pd.concat([comp.assign(computed=True), official[["school_id", "year"]].assign(official=True)])
    out = (both.groupby(["school_id", "year"]).agg(computed=("computed", "any"), official=("official", "any"))
           .reset_index())
    out["computed"] = out["computed"].fillna(False).astype(bool)
    out["official"] = out["official"].fillna(False).astype(bool)
    out["agree"] = out["computed"] & out["official"]
    return out[cols].sort_values(["year", "school_id"]).reset_index(drop=True)


# ---- alternative (ФИОКО-style) method ------------------------------------------------------------
def bottom_decile_counts(res: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year: `bottom` = number of procedures in which the school is among the worst
    decile of judged schools by failing share (rank from the worst, ties share the best rank;
    a share of 0 is never «worst»), `judged` = procedures judged.

    In the bottom decile: rank ≤ ⌈decile/100 · n_judged⌉ and share > 0."""
    decile = meth.threshold("shnor_list.alternative_decile")
    j = res[res["judged"]].copy()
    keys = ["year", "procedure"]
    j["rank"] = j.groupby(keys)["share"].rank(ascending=False, method="min")
    j["cut"] = np.ceil(decile / 100 * j.groupby(keys)["share"].transform("size"))
    j["bottom"] = ((j["rank"] <= j["cut"]) & (j["share"] > 0)).astype("int64")
    return j.groupby(["school_id", "year"]).agg(bottom=("bottom", "sum"), judged=("bottom", "size")).reset_index()


def alternative_list(indicators: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """The alternative list from the indicator table: school on the list of Y when it was in the
    bottom decile in ≥ m procedures in both Y−1 and Y−2 (`alt_bottom_decile`), excluding schools
    with any official objectivity sign (`vpr_sign_*` = 1) in Y−1 or Y−2 when so configured.

    Columns: school_id, year, candidate (bottom-decile rule met), excluded (signs), alt (listed)."""
    m = meth.threshold("shnor_list.alternative_min_procedures")
    rows = indicators[(indicators["indicator_id"] == "alt_bottom_decile") & (indicators["level"] == "school")]
    cols = ["school_id", "year", "candidate", "excluded", "alt"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    wide = rows.pivot_table(index="entity_id", columns="year", values="value", aggfunc="first").fillna(0)
    years = [int(y) for y in wide.columns]
    wide = wide.reindex(columns=range(min(years) - 1, max(years) + 2), fill_value=0)
    cand = (wide.shift(1, axis=1, fill_value=0) >= m) & (wide.shift(2, axis=1, fill_value=0) >= m)
    cand = cand[list(range(min(years) + 1, max(years) + 2))]
    out = cand.stack().rename("candidate").reset_index()
    out.columns = ["school_id", "year", "candidate"]
    out["excluded"] = False
    signs = indicators[indicators["indicator_id"].astype(str).str.startswith("vpr_sign_")
                       & (indicators["level"] == "school") & (indicators["value"] == 1)]
    if meth.threshold("shnor_list.alternative_exclude_signs") and len(signs):
        with_sign = set(zip(signs["entity_id"], signs["year"].astype(int)))
        out["excluded"] = [((s, y - 1) in with_sign) or ((s, y - 2) in with_sign)
                           for s, y in zip(out["school_id"], out["year"])]
    out["alt"] = out["candidate"] & ~out["excluded"]
    return out[cols]


# ---- indicators ---------------------------------------------------------------------------------
def _school_rows(status: pd.DataFrame) -> pd.DataFrame:
    """low_procedures, shnor, risk_school per school × year (defined years only)."""
    base = status.assign(level="school", entity_id=status["school_id"])
    k = base.dropna(subset=["k"]).assign(indicator_id="low_procedures", value=lambda f: f["k"])
    sh = base.dropna(subset=["shnor"]).assign(indicator_id="shnor",
                                             value=lambda f: f["shnor"].astype(bool).astype("int64"))
    rk = base.dropna(subset=["risk_school"]).assign(indicator_id="risk_school",
                                                   value=lambda f: f["risk_school"].astype(bool).astype("int64"))
    return pd.concat([k, sh, rk], ignore_index=True)


def _list_shares(status: pd.DataFrame, schools: pd.DataFrame, z: float) -> pd.DataFrame:
    """R1 shnor_share / shnor_count, R2 risk_school_share, and region-level
    shnor_free_municipalities (municipalities with no ШНОР; seed 003 «Ожидаемые результаты» 4)."""
    parts = []
    for col, share_id, count_id in (("shnor", "shnor_share", "shnor_count"),
                                    ("risk_school", "risk_school_share", "risk_school_count")):
        st = status.dropna(subset=[col])
        counts = st.assign(listed=st[col].astype(bool).astype("int64"), schools=1)[["school_id", "year", "listed", "schools"]]
        rolled = rollup_counts(counts, schools, ["year"], ["listed", "schools"])
        rolled = rolled[rolled["level"] != "school"]
        parts.append(share_rows(rolled, share_id, "listed", "schools", z))
        parts.append(rolled.assign(indicator_id=count_id, value=rolled["listed"], numerator=rolled["listed"]))
    st = status.dropna(subset=["shnor"]).merge(schools[["school_id", "municipality_id"]], on="school_id")
    per_mun = (st.assign(shnor=st["shnor"].astype(bool)).groupby(["year", "municipality_id"], observed=True)["shnor"]
               .max().reset_index())
    free = per_mun.assign(free=~per_mun["shnor"].astype(bool)).groupby("year").agg(
        numerator=("free", "sum"), denominator=("free", "size")).reset_index()
    parts.append(free.assign(level="region", entity_id=REGION_ID, indicator_id="shnor_free_municipalities",
                             value=free["numerator"]))
    return pd.concat(parts, ignore_index=True)


def _fail_shares(res: pd.DataFrame, status: pd.DataFrame, schools: pd.DataFrame, z: float,
                 min_n: int) -> pd.DataFrame:
    """R3–R10 per procedure: school rows and roll-ups over all schools (shnor_fail_share), over
    the year's ШНОР (shnor_fail_share_listed, R3–R10) and over the year's risk schools (R12,
    risk_fail_share). School rows are flagged low_result (≥ 30 %) or small_group."""
    keys = ["year", "procedure", "kind", "subject", "grade"]
    counts = res[["school_id", *keys, "participants", "failed"]]
    parts = []
    rolled = rollup_counts(counts, schools, keys, ["participants", "failed"])
    rows = share_rows(rolled, "shnor_fail_share", "failed", "participants", z)
    flag = pd.Series(pd.NA, index=rows.index, dtype="string")
    low = res.set_index(["school_id", *keys])["low"]
    is_school = rows["level"] == "school"
    sch = rows[is_school]
    hit = pd.MultiIndex.from_frame(sch[["entity_id", *keys]].rename(columns={"entity_id": "school_id"}))
    flag[is_school] = np.where(low.reindex(hit).fillna(False).to_numpy(), "low_result", pd.NA)
    flag = flag.mask(is_school & (rows["denominator"] < min_n), "small_group")
    parts.append(rows.assign(flag=flag))
    for col, ind_id in (("shnor", "shnor_fail_share_listed"), ("risk_school", "risk_fail_share")):
        members = status[status[col].fillna(False).astype(bool)][["school_id", "year"]]
        sub = counts.merge(members, on=["school_id", "year"])
        if sub.empty:
            continue
        r = rollup_counts(sub, schools, keys, ["participants", "failed"])
        parts.append(share_rows(r[r["level"] != "school"], ind_id, "failed", "participants", z))
    out = pd.concat(parts, ignore_index=True)
    return out.assign(exam=out["kind"])


def _risk_profiled(status: pd.DataFrame, ds, schools: pd.DataFrame, z: float) -> pd.DataFrame | None:
    """R11: share of the year's ШНОР that took part in the risk-profile monitoring (have rows in
    risk_profiles for that year)."""
    if not ds.has("risk_profiles"):
        return None
    listed = status[status["shnor"].fillna(False).astype(bool)][["school_id", "year"]]
    listed = listed[listed["year"].isin(ds.risk_profiles["year"].unique())]  # years monitored
    if listed.empty:
        return None
    rp = ds.risk_profiles[["school_id", "year"]].drop_duplicates().assign(profiled=1)
    counts = listed.merge(rp, on=["school_id", "year"], how="left").fillna({"profiled": 0}).assign(listed=1)
    rolled = rollup_counts(counts[["school_id", "year", "profiled", "listed"]], schools, ["year"], ["profiled", "listed"])
    return share_rows(rolled[rolled["level"] != "school"], "shnor_risk_profiled", "profiled", "listed", z)


def shnor_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """low_procedures, shnor, risk_school per school × year and the seed 003 indicators R1–R12."""
    if not (ds.has("vpr") or ds.has("gia")):
        return None
    z = meth.threshold("objectivity_signs.z")
    min_n = meth.threshold("low_results_rule.min_participants")
    res, status = rule_status(ds, meth)
    parts = [_school_rows(status), _list_shares(status, ds.schools, z)]
    if len(res):
        parts.append(_fail_shares(res, status, ds.schools, z, min_n))
    rp = _risk_profiled(status, ds, ds.schools, z)
    if rp is not None:
        parts.append(rp)
    if len(res):
        alt = bottom_decile_counts(res, meth)
        parts.append(alt.assign(level="school", entity_id=alt["school_id"], indicator_id="alt_bottom_decile",
                                value=alt["bottom"], numerator=alt["bottom"], denominator=alt["judged"]))
    if ds.has("official_shnor"):
        cmp_ = compare_official(status, ds.official_shnor)
        if len(cmp_):
            # shnor_official: 1 when the school is on the official list; flag names a disagreement
            off = cmp_.assign(level="school", entity_id=cmp_["school_id"], indicator_id="shnor_official",
                              value=cmp_["official"].astype("int64"),
                              flag=np.select([cmp_["official"] & ~cmp_["computed"], cmp_["computed"] & ~cmp_["official"]],
                                             ["only_official", "only_computed"], default=None))
            agg = cmp_.groupby("year").agg(numerator=("agree", "sum"), denominator=("agree", "size")).reset_index()
            agree = share_rows(agg.assign(level="region", entity_id=REGION_ID), "shnor_official_agreement",
                               "numerator", "denominator", z)
            parts += [off, agree]
    out = pd.concat(parts, ignore_index=True)
    # the list of the year after the last data year is a forecast of the official list
    ahead = out["year"] > res["year"].max() if len(res) else out["year"] > 0
    out["flag"] = out["flag"].astype("object").where(~ahead, "forecast") if "flag" in out else np.where(ahead, "forecast", None)
    return out
