"""School context (docs/METHODOLOGY.md §3, seed 000): clusters, contextual value added, mentor pairs.

- **Cluster** = settlement type (город / село) × band of the social well-being index
  («индекс социального благополучия»; bands in `thresholds.yaml → context.index_bands`).
- **School result** of a year = mean over its pupils' ВПР works (subjects
  `context.result_subjects`) of d = p − p̄_region, where p = 100·primary score / maximum of the
  year's scale and p̄_region the region's mean of that work: «отклонение от среднего по региону,
  п.п. выполнения». Its standard error is s_d/√n.
- **Contextual value added** (КДЦ) = actual − expected, expected = Xβ of an OLS regression of
  the results of all schools of the year on the context (1, social index, город = 1).
  Uncertainty: SE² = s_d²/n + x₀ᵀ·Cov(β)·x₀, Cov(β) = σ̂²(XᵀX)⁻¹; 95 % interval VA ± z·SE.
  A school whose interval lies above 0 does better than its conditions predict.
- **Mentor candidates**: schools of the same cluster with positive value added (significant
  first), themselves neither ШНОР nor risk schools («пары школ … при одинаковых условиях»).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from shnor_utils.methodology import Methodology
from shnor_utils.data.tables import records

NO_INDEX = "нет данных об индексе"


def index_band(social_index: pd.Series, bands: list) -> pd.Series:
    """«низкий» (< b₁), «средний» (b₁ ≤ … < b₂), «высокий» (≥ b₂) index band; NA index → NO_INDEX."""
    edges = [-np.inf, *bands, np.inf]
    names = ["низкий", "средний", "высокий"] if len(bands) == 2 else [f"полоса {i + 1}" for i in range(len(bands) + 1)]
    out = pd.cut(social_index.astype("float64"), edges, labels=names, right=False).astype("object")
    return out.where(social_index.notna(), NO_INDEX)


def clusters(schools: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """school_id, settlement, social_index, band, cluster («село · низкий индекс»)."""
    si = schools["social_index"] if "social_index" in schools else pd.Series(np.nan, index=schools.index)
    band = index_band(si, meth.threshold("context.index_bands"))
    label = schools["settlement"].astype(str) + " · " + band.where(band == NO_INDEX, band + " индекс")
    return pd.DataFrame({"school_id": schools["school_id"], "settlement": schools["settlement"],
                         "social_index": si.astype("float64"), "band": band, "cluster": label})


def school_results(vpr: pd.DataFrame, meth: Methodology) -> pd.DataFrame:
    """Per school × year: result (mean deviation from the region in п.п. of the maximum score),
    se (s_d/√n) and n (pupil works)."""
    subjects = meth.threshold("context.result_subjects")
    v = vpr[~vpr["absent"].fillna(False).astype(bool) & vpr["primary_score"].notna() & vpr["subject"].isin(subjects)]
    if "wave" in v:
        v = v[~v["wave"].isin(["осень"])]   # an empty wave is the spring one
    works = v[["year", "subject", "grade"]].drop_duplicates()
    works["max"] = [getattr(meth.vpr_scale(int(y), s, int(g)), "max", np.nan) for y, s, g in records(works)]
    v = v.merge(works, on=["year", "subject", "grade"])
    pct = 100 * v["primary_score"].astype("float64") / v["max"]
    d = pct - pct.groupby([v["year"], v["subject"], v["grade"]]).transform("mean")
    g = pd.DataFrame({"school_id": v["school_id"].astype(str), "year": v["year"].astype("int64"), "d": d}) \
        .groupby(["school_id", "year"])["d"]
    out = pd.DataFrame({"result": g.mean(), "sd": g.std(ddof=1), "n": g.size()}).reset_index()
    out["se"] = out["sd"] / np.sqrt(out["n"])
    return out.drop(columns="sd")


def design(ctx: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """The regression's context matrix: constant, social index, город = 1 (a column constant over
    the schools is dropped so that XᵀX stays invertible)."""
    cols = {"const": np.ones(len(ctx)), "social_index": ctx["social_index"].to_numpy(dtype="float64"),
            "город": (ctx["settlement"] == "город").to_numpy(dtype="float64")}
    names = [c for c in cols if c == "const" or np.ptp(cols[c]) > 0]
    return np.column_stack([cols[c] for c in names]), names


def value_added(results: pd.DataFrame, ctx: pd.DataFrame, z: float, min_n: int = 1) -> pd.DataFrame:
    """Contextual value added per school × year (formula in the module docstring).

    `results`: school_id, year, result, se, n; `ctx`: clusters(). Schools without an index or
    with fewer than `min_n` works are left out of the regression and get no value added."""
    data = results.merge(ctx, on="school_id").dropna(subset=["social_index", "result"])
    data = data[data["n"] >= min_n]
    parts = []
    for year, part in data.groupby("year"):
        X, names = design(part)
        y = part["result"].to_numpy(dtype="float64")
        if len(y) <= X.shape[1]:
            continue
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        expected = X @ beta
        resid = y - expected
        sigma2 = resid @ resid / (len(y) - X.shape[1])
        cov = sigma2 * np.linalg.inv(X.T @ X)
        se = np.sqrt(part["se"].fillna(0).to_numpy() ** 2 + np.einsum("ij,jk,ik->i", X, cov, X))
        parts.append(part.assign(expected=expected, va=resid, va_se=se, va_low=resid - z * se,
                                 va_high=resid + z * se, slope_index=beta[names.index("social_index")]
                                 if "social_index" in names else np.nan))
    if not parts:
        return pd.DataFrame(columns=[*results.columns, "cluster", "expected", "va", "va_se", "va_low", "va_high"])
    out = pd.concat(parts, ignore_index=True)
    out["verdict"] = np.select([out["va_low"] > 0, out["va_high"] < 0], ["выше ожидаемого", "ниже ожидаемого"],
                               default="в пределах ожидаемого")
    out["cluster_mean"] = out.groupby(["year", "cluster"])["result"].transform("mean")
    return out


def context_table(ds, meth: Methodology) -> pd.DataFrame:
    """value_added() of a dataset (empty without ВПР or without a social index)."""
    if not ds.has("vpr") or "social_index" not in ds.schools or ds.schools["social_index"].isna().all():
        return value_added(pd.DataFrame(columns=["school_id", "year", "result", "se", "n"]), clusters(ds.schools, meth), 1.96)
    return value_added(school_results(ds.vpr, meth), clusters(ds.schools, meth), meth.threshold("context.z"),
                       meth.threshold("small_groups.min_for_share"))


def mentor_candidates(va: pd.DataFrame, low_ids, n: int) -> pd.DataFrame:
    """For each school in `low_ids`: up to `n` schools of the same cluster and year with positive
    value added, not themselves in `low_ids`, significant ones first, then by value added."""
    low_ids = set(low_ids)
    low = va[va["school_id"].isin(low_ids)][["school_id", "year", "cluster", "va"]]
    good = va[~va["school_id"].isin(low_ids) & (va["va"] > 0)]
    pairs = low.merge(good[["school_id", "year", "cluster", "va", "va_low", "verdict"]], on=["year", "cluster"],
                      suffixes=("", "_mentor"))
    pairs = pairs.assign(significant=pairs["va_low"] > 0).sort_values(
        ["school_id", "significant", "va_mentor"], ascending=[True, False, False])
    return pairs.groupby("school_id").head(n).reset_index(drop=True)


def context_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """value_added per school × year (п.п. of the maximum score), with its 95 % interval; flag
    above_expected / below_expected when the interval excludes 0."""
    va = context_table(ds, meth)
    if va.empty:
        return None
    flag = np.select([va["va_low"] > 0, va["va_high"] < 0], ["above_expected", "below_expected"], default="")
    return pd.DataFrame({"level": "school", "entity_id": va["school_id"], "year": va["year"],
                         "indicator_id": "value_added", "value": va["va"], "denominator": va["n"],
                         "ci_low": va["va_low"], "ci_high": va["va_high"],
                         "flag": pd.Series(flag).replace("", pd.NA).to_numpy()})
