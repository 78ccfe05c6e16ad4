"""ВПР objectivity: ВПР marks vs journal marks (METHODOLOGY.md §1).

«Понизили / Подтвердили / Повысили» — ФИС ОКО categories: the ВПР mark is lower than / equal to /
higher than the journal (previous-term) mark, over participants present with both marks.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .indicators import producer, rollup_counts, share_rows
from .methodology import Methodology

AGREEMENT = {"lower": "понизили", "confirm": "подтвердили", "higher": "повысили"}
KEYS = ["year", "subject", "grade"]


def present(vpr: pd.DataFrame) -> pd.DataFrame:
    """Participants who wrote the work (absent pupils are excluded from every denominator)."""
    return vpr[~vpr["absent"].fillna(False)]


def agreement_category(vpr: pd.DataFrame) -> pd.Series:
    """Per participant: 'lower' (ВПР < журнал, «понизили»), 'confirm', 'higher', or NA when a mark is missing."""
    mark = vpr["mark"].astype("float64").to_numpy()
    journal = vpr["journal_mark"].astype("float64").to_numpy()
    with np.errstate(invalid="ignore"):
        cat = np.select([mark < journal, mark == journal, mark > journal], ["lower", "confirm", "higher"], default="")
    both = ~np.isnan(mark) & ~np.isnan(journal) & ~vpr["absent"].fillna(False).to_numpy(dtype=bool)
    return pd.Series(cat, index=vpr.index, dtype="string").where(both, pd.NA)


def journal_counts(vpr: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Counts per school × year × subject × grade (or `by`): lower, confirm, higher, compared
    (= their sum), absent, no_journal (present but «нет отметки»), participants (present)."""
    by = by or ["school_id", *KEYS]
    cat = agreement_category(vpr)
    absent = vpr["absent"].fillna(False)
    flags = pd.DataFrame({
        "lower": cat.eq("lower").fillna(False), "confirm": cat.eq("confirm").fillna(False),
        "higher": cat.eq("higher").fillna(False), "absent": absent,
        "no_journal": ~absent & vpr["journal_mark"].isna(), "participants": ~absent,
    }).astype("int64")
    counts = pd.concat([vpr[by], flags], axis=1).groupby(by, dropna=False).sum().reset_index()
    counts["compared"] = counts[["lower", "confirm", "higher"]].sum(axis=1)
    return counts


def mark_counts(vpr: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Counts of ВПР marks 2–5 among present participants, with `participants` = their sum."""
    by = by or ["school_id", *KEYS]
    p = present(vpr)
    p = p[p["mark"].notna()]
    wide = (pd.crosstab([p[c] for c in by], p["mark"].astype(int))
            .reindex(columns=[2, 3, 4, 5], fill_value=0))
    wide.columns = [f"mark_{m}" for m in wide.columns]
    wide["participants"] = wide.sum(axis=1)
    return wide.reset_index()


def journal_targets(meth: Methodology, subject: str, grade: int) -> dict:
    """Seed 001 targets that apply to (subject, grade): {'confirm': 75, 'higher': 10} or fewer."""
    out = {}
    for key, path in (("confirm", "journal_agreement.confirm_target"), ("higher", "journal_agreement.higher_target")):
        entry = meth.entry(path)
        if int(grade) in entry.get("applies_to", {}).get(subject, []):
            out[key] = entry["value"]
    return out


def target_table(meth: Methodology, key: str) -> pd.DataFrame:
    """(subject, grade, target) rows of one seed 001 target ('confirm' or 'higher')."""
    entry = meth.entry(f"journal_agreement.{key}_target")
    rows = [(subj, int(g), float(entry["value"])) for subj, grades in entry.get("applies_to", {}).items() for g in grades]
    table = pd.DataFrame(rows, columns=["subject", "grade", "target"])
    return table.astype({"subject": "string", "grade": "Int64"})


@producer("vpr_journal")
def journal_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """vpr_journal_lower / _confirm / _higher at every level, flagged against the seed 001 targets,
    and vpr_share_2 (% «2» among present participants)."""
    if not ds.has("vpr"):
        return None
    z = meth.threshold("objectivity_signs.z")
    counts = journal_counts(ds.vpr)
    rolled = rollup_counts(counts, ds.schools, KEYS, ["lower", "confirm", "higher", "compared"])
    parts = []
    for key in AGREEMENT:
        rows = share_rows(rolled, f"vpr_journal_{key}", key, "compared", z)
        rows["flag"] = _target_flags(rows, key, meth)
        parts.append(rows)
    marks = mark_counts(ds.vpr)
    rolled_marks = rollup_counts(marks, ds.schools, KEYS, ["mark_2", "participants"])
    parts.append(share_rows(rolled_marks, "vpr_share_2", "mark_2", "participants", z))
    return pd.concat(parts, ignore_index=True)


def _target_flags(rows: pd.DataFrame, key: str, meth: Methodology) -> pd.Series:
    """'below_target' where a seed 001 target applies and the share misses it; small groups are
    never flagged (they get 'small_group')."""
    min_n = meth.threshold("small_groups.min_for_share")
    flags = pd.Series(pd.NA, index=rows.index, dtype="string")
    if key not in ("confirm", "higher"):
        return flags.mask(rows["denominator"] < min_n, "small_group")
    table = target_table(meth, key)
    targets = rows[["subject", "grade"]].merge(table, on=["subject", "grade"], how="left")["target"].to_numpy()
    miss = rows["value"] < targets
    flags = flags.mask(miss.fillna(False), "below_target")
    return flags.mask(rows["denominator"] < min_n, "small_group")
