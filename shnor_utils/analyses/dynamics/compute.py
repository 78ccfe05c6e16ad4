"""Indicator dynamics (docs/METHODOLOGY.md §5), driven by the catalogue `methodology/defaults/indicators.yaml`.

A post-processing stage over the whole indicator table (so it also covers indicators that other
analyses add later, without code changes here):

- **DD = D(t) − D(t−1)** (seed 001, Тюмень) for every catalogue indicator and entity × subject ×
  grade × exam whose previous year is in the data; rows `<id>_dd`, value = DD (п.п. for shares).
- Classification with the catalogue direction and a tolerance: the change in the «better»
  direction s = DD (higher is better) or −DD (lower is better);
  s ≥ tol and s > 0 → «положительная» (`positive`), s ≤ −tol and s < 0 → «отрицательная»
  (`negative`), otherwise «стабильная» (`stable`). ФИОКО: +10 п.п. of «2» is negative, so the
  tolerance of `vpr_share_2` is 10 and exactly +10 п.п. is already negative. Small groups (flag
  `small_group` in either year, or fewer than `small_groups.min_for_share` participants for
  pupils' results) get `small_group` and no class.
- `shnor_positive_dynamics` (seed 001, ≥ 25 %) and `nsu_positive_dynamics` (seed 004, I3):
  share of the ШНОР (НСУ) schools of year t whose results improved (rule in
  `dynamics.positive_rule`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from shnor_utils.indicators.table import rollup_counts, share_rows
from shnor_utils.methodology import Methodology

KEYS = ["level", "entity_id", "indicator_id", "subject", "grade", "exam"]
CLASS_RU = {"positive": "положительная", "negative": "отрицательная", "stable": "стабильная",
            "small_group": "недостаточно данных"}
DIRECTION_RU = {"higher": "больше — лучше", "lower": "меньше — лучше"}


# ---- the catalogue ------------------------------------------------------------------------------
def catalogue(meth: Methodology) -> dict:
    """{indicator id: catalogue entry} from config/indicators.yaml."""
    return dict(meth.data.get("indicators", {}).get("indicators", {}) or {})


def unsupported(meth: Methodology) -> list[dict]:
    """Seed indicators the data cannot support, with the reason."""
    return list(meth.data.get("indicators", {}).get("unsupported", []) or [])


def tolerance(entry: dict, meth: Methodology) -> float:
    """The «стабильная» band of an indicator: its own `tolerance`, else dynamics.tolerance_pp for
    shares (unit %), else dynamics.stable_zero_unit."""
    if entry.get("tolerance") is not None:
        return float(entry["tolerance"])
    if entry.get("unit") == "%":
        return float(meth.threshold("dynamics.tolerance_pp"))
    return float(meth.threshold("dynamics.stable_zero_unit"))


def classify(dd, direction: str, tol: float) -> pd.Series:
    """'positive' / 'negative' / 'stable' of each DD (NA where DD is missing)."""
    dd = pd.Series(dd, dtype="float64")
    s = dd if direction == "higher" else -dd
    out = np.select([(s >= tol) & (s > 0), (s <= -tol) & (s < 0)], ["positive", "negative"], default="stable")
    return pd.Series(out, index=dd.index, dtype="string").where(dd.notna(), pd.NA)


def _applies(entry: dict, where: dict | None) -> bool:
    """Whether the target admits the row `where` (its level, subject, grade, exam): the level must be
    one of the catalogue `levels` (a school's 0/1 row of a share of schools has no target) and the
    row must match `target_where` (e.g. {grade: 9}); with no row given the target applies everywhere."""
    if not where:
        return True
    if where.get("level") and entry.get("levels") and where["level"] not in entry["levels"]:
        return False
    for key, want in (entry.get("target_where") or {}).items():
        got = where.get(key)
        if got is None or pd.isna(got):
            return False
        if str(got) != str(want) and pd.to_numeric(got, errors="coerce") != pd.to_numeric(want, errors="coerce"):
            return False
    return True


def target_for(entry: dict, year: int, where: dict | None = None) -> tuple[float | None, int | None]:
    """(target, year of the target) for `year`: the programme's target of that year, else the last
    earlier one (a programme's final target stays in force after it ends); (None, None) when none
    applies (no targets — they come from a regional overlay — or `target_where` excludes the row)."""
    if not _applies(entry, where):
        return None, None
    targets = {int(y): float(v) for y, v in (entry.get("targets") or {}).items()}
    earlier = [y for y in targets if y <= int(year)]
    if not earlier:
        return None, None
    y = max(earlier)
    return targets[y], y


# ---- DD ---------------------------------------------------------------------------------------------
def _key_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Key columns with NA replaced by sentinels, so that NA keys join."""
    k = frame[KEYS].copy()
    for c in ("level", "entity_id", "indicator_id", "subject", "exam"):
        k[c] = k[c].astype("string").fillna("\0")
    k["grade"] = k["grade"].astype("Int64").fillna(-1)
    return k


def dd_table(table: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Every catalogue indicator's DD against the previous year, with D(t), D(t−1) and the class."""
    cat = catalogue(meth)
    rows = table[table["indicator_id"].isin(list(cat))]
    if rows.empty:
        return pd.DataFrame(columns=[*KEYS, "year", "value", "previous", "flag"])
    rows = rows.reset_index(drop=True)
    keyed = pd.concat([_key_frame(rows), rows[["year", "value", "denominator", "flag"]]], axis=1)
    prev = keyed.assign(year=keyed["year"] + 1).rename(
        columns={"value": "previous", "denominator": "prev_denominator", "flag": "prev_flag"})
    both = keyed.merge(prev, on=[*KEYS, "year"], how="inner")
    if both.empty:  # a single year: no DD yet
        return pd.DataFrame(columns=[*KEYS, "year", "value", "previous", "flag", "dd"])
    both["dd"] = both["value"].astype("float64") - both["previous"].astype("float64")
    min_n = meth.threshold("small_groups.min_for_share")
    results = {i for i, e in cat.items() if e.get("results")}
    small = (both["flag"].eq("small_group").fillna(False) | both["prev_flag"].eq("small_group").fillna(False)
             | (both["indicator_id"].isin(results)
                & ((both["denominator"] < min_n).fillna(False) | (both["prev_denominator"] < min_n).fillna(False))))
    parts = []
    for ind, group in both.groupby("indicator_id"):
        entry = cat[ind]
        flag = classify(group["dd"], entry.get("direction", "higher"), tolerance(entry, meth))
        parts.append(group.assign(flag=flag.mask(small[group.index], "small_group")))
    out = pd.concat(parts, ignore_index=True)
    for c in ("subject", "exam"):
        out[c] = out[c].replace("\0", pd.NA)
    out["grade"] = out["grade"].replace(-1, pd.NA)
    return out


def dd_rows(table: pd.DataFrame, ds, meth: Methodology) -> pd.DataFrame:
    """Rows `<id>_dd`: value = DD, flag = positive / negative / stable / small_group."""
    dd = dd_table(table, meth)
    if dd.empty:
        return dd
    return dd.assign(indicator_id=dd["indicator_id"] + "_dd", value=dd["dd"], numerator=pd.NA,
                     denominator=pd.NA, ci_low=pd.NA, ci_high=pd.NA)


# ---- share of ШНОР / НСУ schools with positive dynamics -----------------------------------------------
def school_results_dynamics(table: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year: counts of positive and negative DD among pupils' result indicators
    (catalogue `results: true`) and the verdict `improved` by `dynamics.positive_rule`."""
    results = [f"{i}_dd" for i, e in catalogue(meth).items() if e.get("results")]
    dd = table[(table["level"] == "school") & table["indicator_id"].isin(results)
               & table["flag"].isin(["positive", "negative", "stable"])]
    if dd.empty:
        return pd.DataFrame(columns=["school_id", "year", "positive", "negative", "classified", "improved"])
    counts = (pd.DataFrame({"school_id": dd["entity_id"].astype(str), "year": dd["year"].astype(int),
                            "positive": dd["flag"].eq("positive").astype(int),
                            "negative": dd["flag"].eq("negative").astype(int), "classified": 1})
              .groupby(["school_id", "year"], as_index=False).sum())
    rule = meth.threshold("dynamics.positive_rule")
    if rule != "more_positive":
        raise ValueError(f"неизвестное правило dynamics.positive_rule: {rule}")
    counts["improved"] = counts["positive"] > counts["negative"]
    return counts


def _list_members(table: pd.DataFrame, ds, which: str) -> pd.DataFrame:
    """(school_id, year) of the ШНОР list (the `shnor` indicator = 1, else the official list) or
    of НСУ schools (schools.shnsu, every year of the data)."""
    years = sorted(int(y) for y in table["year"].dropna().unique())
    if which == "shnsu":
        if "shnsu" not in ds.schools:
            return pd.DataFrame(columns=["school_id", "year"])
        ids = ds.schools.loc[ds.schools["shnsu"].fillna(False).astype(bool), "school_id"].astype(str)
        return pd.DataFrame([(s, y) for s in ids for y in years], columns=["school_id", "year"])
    mine = table[(table["indicator_id"] == "shnor") & (table["level"] == "school") & (table["value"] == 1)]
    if len(mine):
        return pd.DataFrame({"school_id": mine["entity_id"].astype(str), "year": mine["year"].astype(int)})
    if ds.has("official_shnor"):
        off = ds.official_shnor
        return pd.DataFrame({"school_id": off["school_id"].astype(str), "year": off["year"].astype(int)})
    return pd.DataFrame(columns=["school_id", "year"])


def positive_share(table: pd.DataFrame, ds, meth: Methodology, which: str, indicator_id: str) -> pd.DataFrame:
    """School rows 1/0 (improved or not) for list schools whose results could be judged, and the
    share of improved schools by municipality and region (Wilson CI)."""
    members = _list_members(table, ds, which)
    verdict = school_results_dynamics(table, meth)
    judged = members.merge(verdict, on=["school_id", "year"], how="inner")
    if judged.empty:
        return pd.DataFrame()
    counts = judged.assign(n=1, improved=judged["improved"].astype(int))[["school_id", "year", "n", "improved"]]
    rolled = rollup_counts(counts, ds.schools, ["year"], ["n", "improved"])
    rows = share_rows(rolled, indicator_id, "improved", "n", meth.threshold("objectivity_signs.z"))
    school = rows["level"] == "school"
    rows.loc[school, "value"] = rows.loc[school, "numerator"]
    rows.loc[school, ["ci_low", "ci_high", "denominator"]] = np.nan
    entry = catalogue(meth).get(indicator_id, {})
    if indicator_id == "shnor_positive_dynamics":
        targets = pd.Series(float(meth.threshold("dynamics.shnor_positive_target")), index=rows.index)
    else:
        targets = rows["year"].map(lambda y: target_for(entry, int(y))[0]).astype("float64")
    below = ~school & (rows["value"] < targets).fillna(False)
    rows["flag"] = pd.Series(pd.NA, index=rows.index, dtype="string").mask(below, "below_target")
    return rows


def positive_share_rows(table: pd.DataFrame, ds, meth: Methodology) -> pd.DataFrame:
    parts = [positive_share(table, ds, meth, "shnor", "shnor_positive_dynamics"),
             positive_share(table, ds, meth, "shnsu", "nsu_positive_dynamics")]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# ---- views for reports ---------------------------------------------------------------------------------
def series(table: pd.DataFrame, indicator_id: str, level: str, entity_id: str, **filters) -> pd.DataFrame:
    """Year, value, DD and class of one indicator of one entity (sorted by year)."""
    def pick(ind):
        r = table[(table["indicator_id"] == ind) & (table["level"] == level) & (table["entity_id"] == entity_id)]
        for k, v in filters.items():
            r = r[r[k].isna()] if v is None else r[r[k] == v]
        return r
    base = pick(indicator_id)[["year", "value", "denominator"]]
    dd = pick(f"{indicator_id}_dd")[["year", "value", "flag"]].rename(columns={"value": "dd", "flag": "class"})
    return base.merge(dd, on="year", how="left").sort_values("year").reset_index(drop=True)


def plan_fact(value: float, entry: dict, year: int, where: dict | None = None) -> dict:
    """Plan vs fact: the target that applies to `year` (and to the row `where`), its year and the gap
    fact − plan (signed so that a positive gap is always «лучше цели»)."""
    target, target_year = target_for(entry, year, where)
    if target is None or value is None or pd.isna(value):
        return {"target": target, "target_year": target_year, "gap": None, "met": None}
    gap = value - target if entry.get("direction", "higher") == "higher" else target - value
    return {"target": target, "target_year": target_year, "gap": gap, "met": gap >= 0}

