"""The tidy indicator table: one row per computed value, at school, municipality and region level.

Shape (docs/DATA_CONTRACT.md, «Таблица показателей»): level, entity_id, year, indicator_id,
subject, grade, exam, value, numerator, denominator, ci_low, ci_high, flag. Shares are
percentages 0–100. Producers build their rows with `rollup_counts` and `share_rows` and return a
frame that `finish` puts into the exact shape and types.
"""
from __future__ import annotations

import pandas as pd

from shnor_utils.indicators.stats import percent, wilson_ci

COLUMNS = ["level", "entity_id", "year", "indicator_id", "subject", "grade", "exam",
           "value", "numerator", "denominator", "ci_low", "ci_high", "flag"]
LEVELS = ("school", "municipality", "region")
REGION_ID = "region"


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})


def finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Put a producer's frame into the exact export shape and types."""
    for c in COLUMNS:
        if c not in frame:
            frame[c] = pd.NA
    frame = frame[COLUMNS].copy()
    frame["year"] = frame["year"].astype("Int64")
    frame["grade"] = pd.to_numeric(frame["grade"], errors="coerce").astype("Int64")
    for c in ("value", "numerator", "denominator", "ci_low", "ci_high"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("Float64")
    for c in ("level", "entity_id", "indicator_id", "subject", "exam", "flag"):
        frame[c] = frame[c].astype("string")
    return frame


def rollup_counts(counts: pd.DataFrame, schools: pd.DataFrame, keys: list[str],
                  sums: list[str]) -> pd.DataFrame:
    """Sum school-level counts to municipality and region; returns one frame with `level`, `entity_id`.

    `counts` has `school_id`, the `keys` (year, subject, …) and count columns `sums`."""
    with_mun = counts.merge(schools[["school_id", "municipality_id"]], on="school_id", how="left")
    school = counts.assign(level="school", entity_id=counts["school_id"])
    mun = (with_mun.groupby(["municipality_id", *keys], dropna=False)[sums].sum().reset_index()
           .rename(columns={"municipality_id": "entity_id"}).assign(level="municipality"))
    reg = (counts.groupby(keys, dropna=False)[sums].sum().reset_index()
           .assign(level="region", entity_id=REGION_ID))
    return pd.concat([school.drop(columns="school_id"), mun, reg], ignore_index=True)


def share_rows(counts: pd.DataFrame, indicator_id: str, numerator: str, denominator: str,
               z: float = 1.96) -> pd.DataFrame:
    """Tidy rows of a share: value = 100·numerator/denominator with its Wilson interval."""
    low, high = wilson_ci(counts[numerator], counts[denominator], z)
    return counts.assign(indicator_id=indicator_id,
                         value=percent(counts[numerator], counts[denominator]),
                         numerator=counts[numerator], denominator=counts[denominator],
                         ci_low=low, ci_high=high)
