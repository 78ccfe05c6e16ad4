"""Methodology as data: thresholds, scales and catalogues from versioned YAML.

Every number an analysis uses comes from `shnor_utils/config/*.yaml` (or a copy of that
folder named by `SHNOR_METHODOLOGY`), each with its `source` and `kind`
(federal / seed / default / secondary). Code asks this module, never a literal.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from shnor_utils.errors import ConfigError
from shnor_utils.methodology.words import Words

PACKAGE_CONFIG = Path(__file__).resolve().parent / "defaults"


@dataclass(frozen=True)
class Scale:
    """A primary score → mark scale: `min[m]` is the lowest score of mark m (3, 4, 5)."""
    max: int
    min: dict
    source: str
    kind: str
    year: int               # the year the scale was published for
    carried_over: bool = False  # True when borrowed from another year (no scale for the asked one)

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


class Methodology:
    """All methodology files of one folder, with a version digest for provenance and caching."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.files: dict[str, Path] = {p.stem: p for p in sorted(self.folder.glob("*.yaml"))}
        if not self.files:
            raise ConfigError(f"В папке методики «{self.folder}» нет файлов *.yaml")
        self.data: dict[str, Any] = {}
        for name, path in self.files.items():
            try:
                self.data[name] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise ConfigError(f"Файл методики «{path}» не читается как YAML: {exc}") from exc
        digest = hashlib.sha256()
        for name, path in self.files.items():
            digest.update(name.encode() + b"\0" + path.read_bytes())
        self.digest = digest.hexdigest()[:16]
        versions = sorted({str(d.get("version")) for d in self.data.values() if isinstance(d, dict) and d.get("version")})
        self.version = f"{'/'.join(versions)}+{self.digest}"
        self._subjects = {s["name"]: s for s in self.data.get("subjects", {}).get("subjects", [])}
        self._vpr_scales = self._index_vpr_scales()
        self.words = Words(self.data)
        # regional overlay: its folder and the keys it overrides (file, key, value, source)
        self.overlay: Path | None = None
        self.overrides: list[dict] = []

    # ---- thresholds ---------------------------------------------------------------------
    def entry(self, path: str) -> dict:
        """The thresholds entry at `section.name` (a dict with value, kind, source)."""
        node: Any = self.data.get("thresholds", {})
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"В thresholds.yaml нет параметра «{path}»")
            node = node[part]
        if not isinstance(node, dict) or "value" not in node:
            raise ConfigError(f"Параметр «{path}» в thresholds.yaml должен иметь value, kind и source")
        return node

    def threshold(self, path: str):
        """Value of a threshold, e.g. `threshold("journal_agreement.confirm_target")` → 75."""
        return self.entry(path)["value"]

    def source(self, path: str) -> str:
        return self.entry(path).get("source", "")

    # ---- subjects -----------------------------------------------------------------------
    @property
    def subjects(self) -> list[str]:
        return list(self._subjects)

    def short(self, subject: str) -> str:
        """ФИС ОКО abbreviation: «Русский язык» → «РУ»."""
        return self._subjects.get(subject, {}).get("short", subject[:2].upper())

    def subject_from_text(self, text: str) -> str | None:
        """Canonical subject named in free text of a real file («по русскому языку, 4 класс»,
        «Математика профильная», «Английский язык») by the `stems` of subjects.yaml; None if none."""
        low = " " + " ".join(str(text).lower().replace("ё", "е").split())
        for name, entry in self._subjects.items():
            if any(f" {stem}" in low or f"-{stem}" in low or f"({stem}" in low for stem in entry.get("stems", [])):
                return name
        return None

    @property
    def oo1(self) -> dict:
        """Row and column codes of ОО-1 раздел 3 (config/oo1.yaml)."""
        data = self.data.get("oo1")
        if not data:
            raise ConfigError("В папке методики нет oo1.yaml (коды строк и граф ОО-1, раздел 3)")
        return data

    # ---- ВПР scales ---------------------------------------------------------------------
    def _index_vpr_scales(self) -> dict:
        index: dict = {}
        for s in self.data.get("vpr_scales", {}).get("scales", []):
            key = (s["subject"], int(s["grade"]))
            index.setdefault(key, {})[int(s["year"])] = s
        return index

    def vpr_scale(self, year: int, subject: str, grade: int) -> Scale | None:
        """Scale of ВПР (year, subject, grade); borrowed from the nearest earlier (else later) year."""
        by_year = self._vpr_scales.get((subject, int(grade)))
        if not by_year:
            return None
        chosen = _nearest_year(by_year, int(year))
        s = by_year[chosen]
        return Scale(max=int(s["max"]), min={int(k): int(v) for k, v in s["min"].items()},
                     source=s.get("source", ""), kind=s.get("kind", ""), year=chosen,
                     carried_over=chosen != int(year))

    # ---- ГИА ----------------------------------------------------------------------------
    def ege_min_score(self, year: int, subject: str, level: str | None = None) -> int | None:
        """Minimum ЕГЭ test score of (year, subject); профильная математика has its own line.

        Returns None for базовая математика (its minimum is the mark «3»)."""
        table = self.data.get("gia", {}).get("ege_min_scores", {}).get("by_year", {})
        if not table:
            return None
        row = table[_nearest_year(table, int(year))]
        if subject == "Математика":
            if level == "базовая":
                return None
            return row.get("Математика профильная")
        return row.get(subject)

    def oge_scale(self, year: int, subject: str) -> Scale | None:
        section = self.data.get("gia", {}).get("oge_scales", {}).get("by_year", {})
        if not section:
            return None
        chosen = _nearest_year(section, int(year))
        block = section[chosen]
        s = block.get("subjects", {}).get(subject)
        if s is None:
            return None
        return Scale(max=int(s["max"]), min={int(k): int(v) for k, v in s["min"].items()},
                     source=block.get("source", ""), kind=block.get("kind", ""), year=chosen,
                     carried_over=chosen != int(year))

    def ege_base_math_scale(self) -> Scale:
        s = self.data["gia"]["ege_base_math"]
        return Scale(max=int(s["max"]), min={int(k): int(v) for k, v in s["min"].items()},
                     source=s.get("source", ""), kind=s.get("kind", ""), year=0)

    def describe(self) -> pd.DataFrame:
        """Every threshold with its value, kind and source: the methodology appendix of a report."""
        rows = []
        for section, entries in self.data.get("thresholds", {}).items():
            if not isinstance(entries, dict):
                continue
            for name, e in entries.items():
                if isinstance(e, dict) and "value" in e:
                    rows.append({"параметр": f"{section}.{name}", "значение": e["value"],
                                 "вид": e.get("kind", ""), "источник": e.get("source", "")})
        return pd.DataFrame(rows)


def _nearest_year(by_year: dict, year: int) -> int:
    years = sorted(int(y) for y in by_year)
    earlier = [y for y in years if y <= year]
    return earlier[-1] if earlier else years[0]


@lru_cache(maxsize=8)
def _load(folder: str) -> Methodology:
    return Methodology(Path(folder))


def load_methodology(folder: str | os.PathLike | None = None) -> Methodology:
    """The methodology in `folder`, else `$SHNOR_METHODOLOGY`, else the package's own files."""
    folder = folder or os.environ.get("SHNOR_METHODOLOGY") or PACKAGE_CONFIG
    return _load(str(Path(folder).resolve()))
