"""Primary score → mark scales (ВПР by year, subject and grade; ОГЭ by year; ЕГЭ базовая математика)
and the «nearest year» rule that borrows a scale or table when the asked year has none
(docs/METHODOLOGY.md §1.1, §2.2)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scale:
    """A primary score → mark scale: `min[m]` is the lowest score of mark m (3, 4, 5)."""
    max: int
    min: dict
    source: str
    kind: str
    year: int               # the year the scale was published for
    carried_over: bool = False  # True when borrowed from another year (no scale for the asked one)

    @classmethod
    def from_entry(cls, entry: dict, *, year: int, asked_year: int | None = None,
                   source: str | None = None, kind: str | None = None) -> Scale:
        """A scale from a methodology entry `{max, min: {3: …, 4: …, 5: …}}`; `source` and `kind`
        default to the entry's own (ОГЭ keeps them on the year block, not on each subject).
        `asked_year` ≠ `year` marks a scale borrowed from another year."""
        return cls(max=int(entry["max"]), min={int(k): int(v) for k, v in entry["min"].items()},
                   source=entry.get("source", "") if source is None else source,
                   kind=entry.get("kind", "") if kind is None else kind, year=int(year),
                   carried_over=asked_year is not None and int(asked_year) != int(year))

    def mark(self, score):
        """Mark 2–5 of a primary score (scalar or array); NaN stays NaN."""
        s = np.asarray(score, dtype="float64")
        out = np.where(s >= self.min[5], 5, np.where(s >= self.min[4], 4, np.where(s >= self.min[3], 3, 2))).astype("float64")
        out[np.isnan(s)] = np.nan
        return out if out.ndim else float(out)

    @property
    def boundaries(self) -> dict:
        """Lowest primary score of «3», «4», «5»: where a chart draws the mark boundaries."""
        return dict(self.min)


def nearest_year(by_year: dict, year: int) -> int:
    """The latest year of `by_year` not after `year`, else the earliest one."""
    years = sorted(int(y) for y in by_year)
    earlier = [y for y in years if y <= year]
    return earlier[-1] if earlier else years[0]
