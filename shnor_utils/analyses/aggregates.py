"""Region-wide aggregates of the pupil-level tables that school and municipality reports compare with.

A school report shows its school beside the region (the region's journal shares, score
distributions, task solve rates, the statistics behind the signs, …). Each such aggregate is named
here, with the keys a report may ask for and how it is computed from the whole dataset:

- in a batch, `write_aggregates` computes every one of them once, from the whole snapshot, and
  stores them beside it (`<snapshot>/aggregates/<name>.pkl`, {key: value}); a kernel that holds
  only one municipality's partition (`snapshot.Partition`) reads them there;
- elsewhere (a notebook opened by hand, a region report, a kernel on the whole snapshot) `region`
  computes them from the report's dataset, once per dataset (`Report.region_wide`).

A present.py never reads another municipality's rows otherwise: `Report.of_year` refuses in a
partition, so a forgotten region-wide read fails loudly instead of giving a municipal «region».
"""
from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd

from shnor_utils.analyses import funnel as F
from shnor_utils.analyses.context import compute as context
from shnor_utils.analyses.objectivity import compute as O
from shnor_utils.analyses.shnor import compute as shnor
from shnor_utils.data.snapshot import AGGREGATES, INDICATOR_PARTS, keep_if_intact, seal, write_indicator_parts
from shnor_utils.indicators.privacy import suppress
from shnor_utils.reporting.report import Report, indicator_years, known_years
from shnor_utils.safeio import atomic_folder

MARKS = (2, 3, 4, 5)
YEAR_TABLES = ("vpr_tasks", "risk_profiles", "official_signs")   # tables whose region-wide years reports ask


def mark_counts(vpr: pd.DataFrame) -> pd.DataFrame:
    """Per school × subject × grade: participants (present, with a mark) and the count of each mark."""
    v = vpr[~vpr["absent"].astype(bool) & vpr["mark"].notna()]
    if v.empty:
        return pd.DataFrame(columns=["school_id", "subject", "grade", "n", *MARKS])
    counts = pd.crosstab([v["school_id"], v["subject"], v["grade"]], v["mark"].astype(int))
    counts = counts.reindex(columns=list(MARKS), fill_value=0)
    counts["n"] = counts[list(MARKS)].sum(axis=1)
    return counts.reset_index()


class Whole:
    """The whole dataset as `region` computes from it (a `Report` has the same three members)."""

    def __init__(self, ds, meth):
        self.ds, self.meth, self._years = ds, meth, {}

    def forget(self) -> None:
        """Drop the year slices taken so far."""
        self._years.clear()

    def of_year(self, table: str, year: int) -> pd.DataFrame:
        if (table, year) not in self._years:
            frame = getattr(self.ds, table)
            mask = frame["year"] == year
            self._years[(table, year)] = frame if mask.all() else frame[mask]
        return self._years[(table, year)]


def _years(ds, table: str) -> list:
    return sorted(int(y) for y in ds.tables[table]["year"].dropna().unique()) if ds.has(table) else []


def _score_counts(src, year: int, subject: str, grade: int) -> tuple[bool, pd.DataFrame]:
    """(the region wrote this work in `year`, its score counts)."""
    vpr = src.of_year("vpr", year)
    work = vpr[(vpr["subject"] == subject) & (vpr["grade"] == grade)]
    return (not work.empty), O.score_counts(work, ["year"])


def _procedures(meth) -> list[tuple]:
    return [(p["subject"], int(p["grade"])) for p in meth.threshold("objectivity_signs.procedures")]


# name: (keys of the whole dataset, compute(src, *key)); src has .ds, .meth and .of_year(table, year)
SPECS = {
    "journal-counts-region": (lambda ds, meth: [(y,) for y in _years(ds, "vpr")],
                              lambda src, year: O.journal_counts(src.of_year("vpr", year), by=["year"])),
    "vpr-mark-counts": (lambda ds, meth: [(y,) for y in _years(ds, "vpr")],
                        lambda src, year: mark_counts(src.of_year("vpr", year))),
    "score-counts-region": (lambda ds, meth: [(y, s, g) for y in _years(ds, "vpr") for s, g in _procedures(meth)],
                            _score_counts),
    "task-comparison": (lambda ds, meth: [(y,) for y in _years(ds, "vpr_tasks")],
                        lambda src, year: O.task_comparison(src.of_year("vpr_tasks", year), src.meth)),
    "sign-tables": (lambda ds, meth: [()] if ds.has("vpr") else [], lambda src: O.sign_tables(src.ds, src.meth)),
    "shnor-procedure-results": (lambda ds, meth: [()], lambda src: shnor.procedure_results(src.ds, src.meth)),
    "context-table": (lambda ds, meth: [()], lambda src: context.context_table(src.ds, src.meth)),
    "table-years": (lambda ds, meth: [(t,) for t in YEAR_TABLES], lambda src, table: _years(src.ds, table)),
}


def binary(rows: pd.DataFrame) -> pd.Series:
    """indicator_id → whether all its (non-empty) values are 0 or 1."""
    return rows.dropna(subset=["value"]).groupby("indicator_id")["value"].agg(lambda v: set(v.unique()) <= {0, 1})


# Region-wide quantities a school or municipality report derives from the indicator table of the whole
# region (other municipalities' school rows): name: (keys, compute(shown, meth, *key)), where `shown` is
# the region's table after `privacy.suppress`, as every report of a whole-snapshot kernel shares it
# (`Report.shared`). A partition's kernel holds only its municipality's rows (`snapshot.indicator_rows`)
# and reads these, written once per batch by `write_indicator_aggregates`; elsewhere the report computes
# them from its own (whole) table, by the same function (`Report.region_wide`).
INDICATOR_SPECS = {
    "funnel-pooled": (lambda shown, meth: F.selections(meth),
                      lambda shown, meth, *key: F.pooled_by_year(shown, *key)),
    "binary-indicators": (lambda shown, meth: [()], lambda shown, meth: binary(shown)),
    "known-years": (lambda shown, meth: [()], lambda shown, meth: known_years(shown)),
    "indicator-years": (lambda shown, meth: [()], lambda shown, meth: indicator_years(shown)),
}


def region(rep: Report, name: str, *key):
    """The region-wide aggregate `name` of `key` for a report: precomputed in a partition's kernel,
    else computed from the report's (whole) dataset once per dataset."""
    compute = SPECS[name][1]
    return rep.region_wide(name, lambda: compute(rep, *key), *key)


def write_aggregates(ds, meth, folder) -> Path:
    """Compute every aggregate of `SPECS` for every key of the whole dataset `ds`, once, and store
    them in `<folder>/aggregates` (one pickle of {key: value} per aggregate), atomically: the folder is
    renamed into place only when complete. Kept while the snapshot folder (keyed by the files and the
    methodology) is."""
    target = Path(folder) / AGGREGATES
    if target.exists() and keep_if_intact(target):
        return target
    src = Whole(ds, meth)
    with atomic_folder(target) as tmp:
        for name, (keys, compute) in SPECS.items():
            stored = {}
            for key in keys(ds, meth):
                try:
                    stored[tuple(key)] = compute(src, *key)
                except Exception:   # a key no report can use (its report fails the same way in full)
                    continue
            with open(tmp / f"{name}.pkl", "wb") as fh:
                pickle.dump(stored, fh, protocol=pickle.HIGHEST_PROTOCOL)
            src.forget()   # its year slices are a copy of the pupil tables: not held under the next ones
        seal(tmp)
    return target


def write_indicator_aggregates(indicators: pd.DataFrame, schools: pd.DataFrame, meth, folder) -> Path:
    """Each municipality's rows of the computed indicator table (`snapshot.write_indicator_parts`) and
    every aggregate of `INDICATOR_SPECS`, computed once from the region's suppressed table, in
    `<folder>/indicator-parts`, atomically and sealed; an intact folder is kept as it is."""
    target = Path(folder) / INDICATOR_PARTS
    if target.exists() and keep_if_intact(target):
        return target

    def extra() -> dict:
        shown = suppress(indicators, meth)
        return {name: {tuple(key): compute(shown, meth, *key) for key in keys(shown, meth)}
                for name, (keys, compute) in INDICATOR_SPECS.items()}

    return write_indicator_parts(indicators, schools, folder, extra)
