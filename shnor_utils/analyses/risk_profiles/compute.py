"""Risk profiles of project «500+» (docs/METHODOLOGY.md §3; seed 003 §2.3).

Per school × risk factor × year a level (высокий / средний / низкий) from the `risk_profiles`
table; the factor catalogue and the level order are configuration (`config/risk_factors.yaml`).
"""
from __future__ import annotations

import pandas as pd

from shnor_utils.indicators.table import rollup_counts
from shnor_utils.methodology import Methodology


def catalogue(meth: Methodology) -> pd.DataFrame:
    """code, name of every configured factor (in catalogue order)."""
    factors = meth.data.get("risk_factors", {}).get("factors", {})
    return pd.DataFrame({"code": list(factors), "name": list(factors.values())})


def levels(meth: Methodology) -> list[str]:
    return list(meth.data.get("risk_factors", {}).get("levels", ["высокий", "средний", "низкий"]))


def factor_name(meth: Methodology, code: str) -> str:
    return meth.data.get("risk_factors", {}).get("factors", {}).get(code, code)


def school_profile(rp: pd.DataFrame, meth: Methodology, school_id: str) -> pd.DataFrame:
    """Wide table: one row per factor (Russian name), one column per year, cells = level."""
    part = rp[rp["school_id"] == school_id]
    if part.empty:
        return pd.DataFrame()
    wide = part.pivot_table(index="risk_factor", columns="year", values="level", aggfunc="first")
    cat = catalogue(meth).set_index("code")
    order = [c for c in cat.index if c in wide.index] + [c for c in wide.index if c not in cat.index]
    wide = wide.reindex(order).fillna("—")
    wide.index = [factor_name(meth, c) for c in wide.index]
    wide.columns = [f"{int(y)} г." for y in wide.columns]
    return wide.rename_axis("Фактор риска").reset_index()


def level_distribution(rp: pd.DataFrame, meth: Methodology, school_ids, year: int) -> pd.DataFrame:
    """Per factor: number and % of the schools (among `school_ids` profiled in `year`) at each level.

    Columns: code, factor (name), one column per level in %, and n (schools profiled)."""
    part = rp[rp["school_id"].isin(list(school_ids)) & (rp["year"] == year)]
    lv = levels(meth)
    if part.empty:
        return pd.DataFrame(columns=["code", "factor", *lv, "n"])
    counts = pd.crosstab(part["risk_factor"], part["level"]).reindex(columns=lv, fill_value=0)
    n = counts.sum(axis=1)
    shares = counts.div(n, axis=0).mul(100)
    cat = catalogue(meth).set_index("code")
    order = [c for c in cat.index if c in shares.index] + [c for c in shares.index if c not in cat.index]
    shares = shares.reindex(order)
    return shares.assign(n=n.reindex(order), factor=[factor_name(meth, c) for c in order]) \
        .rename_axis("code").reset_index()[["code", "factor", *lv, "n"]]


def risk_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """risk_high_factors: number of factors at the most serious level per school × year; its
    municipality/region roll-up is the number of (school, factor) pairs at that level."""
    if not ds.has("risk_profiles") or ds.risk_profiles.empty:
        return None
    rp = ds.risk_profiles
    top = levels(meth)[0]
    counts = (rp.assign(high=(rp["level"] == top).astype("int64"), factors=1)
              .groupby(["school_id", "year"])[["high", "factors"]].sum().reset_index())
    rolled = rollup_counts(counts, ds.schools, ["year"], ["high", "factors"])
    return rolled.assign(indicator_id="risk_high_factors", value=rolled["high"], numerator=rolled["high"],
                         denominator=rolled["factors"])
