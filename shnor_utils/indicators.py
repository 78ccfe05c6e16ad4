"""The tidy indicator table: one row per computed value, at school, municipality and region level.

Shape (DATA_CONTRACT «Indicator export»): level, entity_id, year, indicator_id, subject, grade,
exam, value, numerator, denominator, ci_low, ci_high, flag. Shares are percentages 0–100.
Each analysis module contributes a function `(dataset, methodology) -> tidy frame`, registered
in `PRODUCERS`; `compute_indicators` runs them all once.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from .methodology import Methodology, load_methodology
from .stats import percent, wilson_ci

COLUMNS = ["level", "entity_id", "year", "indicator_id", "subject", "grade", "exam",
           "value", "numerator", "denominator", "ci_low", "ci_high", "flag"]
LEVELS = ("school", "municipality", "region")
REGION_ID = "region"

PRODUCERS: dict[str, Callable] = {}


def producer(name: str):
    """Register an analysis' indicator function under `name` (its analysis/template id)."""
    def register(fn):
        PRODUCERS[name] = fn
        return fn
    return register


POSTPROCESSORS: dict[str, Callable] = {}


def postprocessor(name: str):
    """Register a stage `(table, dataset, methodology) -> extra rows` run after every producer, in
    registration order, over the whole table so far (e.g. DD of every catalogue indicator)."""
    def register(fn):
        POSTPROCESSORS[name] = fn
        return fn
    return register


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


def compute_indicators(dataset, methodology: Methodology | None = None,
                       only: list[str] | None = None) -> pd.DataFrame:
    """Every registered indicator over the dataset, in the tidy export shape."""
    import importlib

    # importing the analyses registers their producers (and dynamics its DD postprocessors)
    for module in ("objectivity", "shnor", "context", "risk_profiles", "gia", "teachers", "dynamics"):
        importlib.import_module(f".{module}", __package__)

    meth = methodology or load_methodology()
    parts = [fn(dataset, meth) for name, fn in PRODUCERS.items() if only is None or name in only]
    parts = [finish(p) for p in parts if p is not None and len(p)]
    if not parts:
        return finish(empty())
    out = pd.concat(parts, ignore_index=True)
    for post in POSTPROCESSORS.values():
        extra = post(out, dataset, meth)
        if extra is not None and len(extra):
            out = pd.concat([out, finish(extra)], ignore_index=True)
    level_order = {lv: i for i, lv in enumerate(LEVELS)}
    from .dataset import contiguous

    return contiguous(out.assign(_lv=out["level"].map(level_order))
                      .sort_values(["indicator_id", "_lv", "entity_id", "year", "subject", "grade", "exam"], na_position="first")
                      .drop(columns="_lv").reset_index(drop=True))


def write_indicators(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write the export atomically as CSV (UTF-8 with BOM so Excel opens Cyrillic) or Parquet."""
    from .safeio import atomic_write_bytes

    out = Path(out)
    if out.suffix == ".parquet":
        import io as _io
        buf = _io.BytesIO()
        frame.to_parquet(buf, index=False)
        return atomic_write_bytes(out, buf.getvalue())
    return atomic_write_bytes(out, frame.to_csv(index=False).encode("utf-8-sig"))
