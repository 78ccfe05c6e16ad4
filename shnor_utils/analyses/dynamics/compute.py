"""Indicator dynamics (docs/METHODOLOGY.md §5), driven by the catalogue `methodology/defaults/indicators.yaml`.

A post-processing stage over the whole indicator table (so it also covers indicators that other
analyses add later, without code changes here):

- **DD = D(t) − D(t−1)** (seed 001, Тюмень) for every catalogue indicator and entity × subject ×
  grade × exam whose previous year is in the data; rows `<id>_dd`, value = DD (п.п. for shares).
- Classification with the catalogue direction, a tolerance and the significance rule: the change
  in the «better» direction s = DD (higher is better) or −DD (lower is better), DD rounded to the
  precision the report prints (a «−0,0» is no change);
  s ≥ tol and s > 0 → «положительная» (`positive`), s ≤ −tol and s < 0 → «отрицательная»
  (`negative`) — but only when the change is distinguishable from sampling noise: the
  `dynamics.significance_z` interval of the difference excludes zero (`diff_interval`); otherwise
  «без существенных изменений» (`stable`). ФИОКО: +10 п.п. of «2» is negative, so the
  tolerance of `vpr_share_2` is 10 and exactly +10 п.п. is already negative (when significant).
  Small groups (flag `small_group` in either year, or fewer than `small_groups.min_for_share`
  participants for pupils' results) get `small_group` and no class. DD rows carry the interval of
  the difference in ci_low / ci_high and n of the two years in denominator (t) and numerator (t−1).
- `shnor_positive_dynamics` (seed 001, ≥ 25 %) and `nsu_positive_dynamics` (seed 004, I3):
  share of the ШНОР (НСУ) schools of year t whose results improved (rule in
  `dynamics.positive_rule`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from shnor_utils.indicators.stats import wilson_ci
from shnor_utils.indicators.table import rollup_counts, share_rows
from shnor_utils.methodology import Methodology

KEYS = ["level", "entity_id", "indicator_id", "subject", "grade", "exam"]
CLASS_RU = {"positive": "положительная", "negative": "отрицательная", "stable": "без существенных изменений",
            "small_group": "недостаточно данных"}
DIGITS = {"%": 1, "ставок": 2, "шт.": 0}   # the precision a report prints DD with (others: 1)
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


def digits(unit: str | None) -> int:
    """Decimals a report prints a value (and its DD) of `unit` with."""
    return DIGITS.get(unit or "", 1)


def classify(dd, direction: str, tol: float, significant=None, ndigits: int | None = None) -> pd.Series:
    """'positive' / 'negative' / 'stable' of each DD (NA where DD is missing).

    `significant` (bool per DD, NA = the data give no interval to test) — a change the significance
    rule cannot tell from noise is 'stable' whatever its size; `ndigits` — DD is rounded to the
    printed precision first, so «−0,0» is never a change."""
    dd = pd.Series(dd, dtype="float64")
    shown = dd.round(ndigits) if ndigits is not None else dd
    s = shown if direction == "higher" else -shown
    ok = pd.Series(True, index=dd.index) if significant is None else \
        pd.Series(significant, index=dd.index, dtype="boolean").fillna(True).astype(bool)
    out = np.select([(s >= tol) & (s > 0) & ok, (s <= -tol) & (s < 0) & ok], ["positive", "negative"], default="stable")
    return pd.Series(out, index=dd.index, dtype="string").where(dd.notna(), pd.NA)


def diff_interval(value, n, previous, prev_n, ci_low, ci_high, prev_low, prev_high, unit, z: float):
    """Interval (low, high) of DD = D(t) − D(t−1) at the level of `z` (NaN where untestable).

    Shares (unit %) with n in both years: Newcombe's hybrid score interval of the difference of two
    independent proportions (Newcombe 1998, method 10), built from the two Wilson intervals — it
    keeps its coverage in classes of 15–30 pupils where the plain Wald interval does not.
    Other indicators with an interval in both years (means: x̄ ± z·s/√n): the normal interval of
    the difference, DD ± √(h(t)² + h(t−1)²), h = half-width. Neither: NaN (counts and ОО-1
    figures are a full count, not a sample — the tolerance alone decides)."""
    v1, v0 = np.asarray(value, "float64"), np.asarray(previous, "float64")
    n1, n0 = np.asarray(n, "float64"), np.asarray(prev_n, "float64")
    d = v1 - v0
    share = np.full(d.shape, unit == "%") & (n1 > 0) & (n0 > 0)
    l1, u1 = wilson_ci(np.round(v1 * n1 / 100), n1, z)
    l0, u0 = wilson_ci(np.round(v0 * n0 / 100), n0, z)
    with np.errstate(invalid="ignore"):
        lo_s = d - np.sqrt((v1 - l1) ** 2 + (u0 - v0) ** 2)
        hi_s = d + np.sqrt((u1 - v1) ** 2 + (v0 - l0) ** 2)
        h1 = (np.asarray(ci_high, "float64") - np.asarray(ci_low, "float64")) / 2
        h0 = (np.asarray(prev_high, "float64") - np.asarray(prev_low, "float64")) / 2
        h = np.sqrt(h1 ** 2 + h0 ** 2)
    low = np.where(share, lo_s, d - h)
    high = np.where(share, hi_s, d + h)
    return low, high


def significant(low, high) -> pd.Series:
    """True where the interval of the difference excludes zero, False where it holds zero, NA where
    there is no interval."""
    low, high = pd.Series(low, dtype="float64"), pd.Series(high, dtype="float64")
    out = ((low > 0) | (high < 0)).astype("boolean")
    return out.mask(low.isna() | high.isna(), pd.NA)


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
    for c in ("ci_low", "ci_high"):
        if c not in rows:
            rows[c] = np.nan
    keyed = pd.concat([_key_frame(rows), rows[["year", "value", "denominator", "flag", "ci_low", "ci_high"]]], axis=1)
    prev = keyed.assign(year=keyed["year"] + 1).rename(
        columns={"value": "previous", "denominator": "prev_denominator", "flag": "prev_flag",
                 "ci_low": "prev_low", "ci_high": "prev_high"})
    both = keyed.merge(prev, on=[*KEYS, "year"], how="inner")
    if both.empty:  # a single year: no DD yet
        return pd.DataFrame(columns=[*KEYS, "year", "value", "previous", "flag", "dd"])
    both["dd"] = both["value"].astype("float64") - both["previous"].astype("float64")
    min_n = meth.threshold("small_groups.min_for_share")
    results = {i for i, e in cat.items() if e.get("results")}
    small = (both["flag"].eq("small_group").fillna(False) | both["prev_flag"].eq("small_group").fillna(False)
             | (both["indicator_id"].isin(results)
                & ((both["denominator"] < min_n).fillna(False) | (both["prev_denominator"] < min_n).fillna(False))))
    z = meth.threshold("dynamics.significance_z")
    parts = []
    for ind, group in both.groupby("indicator_id"):
        entry = cat[ind]
        unit = entry.get("unit")
        low, high = diff_interval(group["value"], group["denominator"], group["previous"], group["prev_denominator"],
                                  group["ci_low"], group["ci_high"], group["prev_low"], group["prev_high"], unit, z)
        sig = significant(low, high).set_axis(group.index)
        flag = classify(group["dd"], entry.get("direction", "higher"), tolerance(entry, meth), sig, digits(unit))
        parts.append(group.assign(flag=flag.mask(small[group.index], "small_group"), dd_low=low, dd_high=high))
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
    # n of the two years ride along (denominator: year t, numerator: year t−1) so a report shows both
    return dd.assign(indicator_id=dd["indicator_id"] + "_dd", value=dd["dd"], numerator=dd["prev_denominator"],
                     denominator=dd["denominator"], ci_low=dd["dd_low"], ci_high=dd["dd_high"])


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
        # only a target set for the year itself is judged (a finished programme's target is not a miss)
        targets = rows["year"].map(lambda y: plan_fact(None, entry, int(y))["target"]
                                   if not plan_fact(None, entry, int(y))["stale"] else None).astype("float64")
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
    fact − plan (signed so that a positive gap is always «лучше цели»).

    Only a target set for `year` itself is judged: a target of an earlier year (a programme that has
    ended) is returned with `stale` = True and never counted as a miss (`met` None). A share's plan
    is capped at what is possible (0–100 %): `capped` = True says the stated plan was cut."""
    target, target_year = target_for(entry, year, where)
    stale = target is not None and target_year != int(year)
    capped = False
    if target is not None and entry.get("unit") == "%" and not 0 <= target <= 100:
        target, capped = min(max(target, 0.0), 100.0), True
    out = {"target": target, "target_year": target_year, "gap": None, "met": None, "stale": stale, "capped": capped}
    if target is None or stale or value is None or pd.isna(value):
        return out
    gap = value - target if entry.get("direction", "higher") == "higher" else target - value
    return {**out, "gap": gap, "met": gap >= 0}
