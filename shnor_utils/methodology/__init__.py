"""Methodology as data: thresholds, scales, catalogues and targets from versioned YAML.

Every number an analysis uses comes from the package defaults `shnor_utils/methodology/defaults/*.yaml`,
merged with a region's overlay folder (the `methodology:` key of a parameter set, else
`$SHNOR_METHODOLOGY`) that holds only what the region changes (`overlay.py`, docs/METHODOLOGY.md §0).
Each value carries its `source` and `kind` (federal / seed / default / secondary). Code asks this
module, never a literal.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from shnor_utils.errors import ConfigError
from shnor_utils.methodology import overlay as _overlay
from shnor_utils.methodology.scales import Scale, nearest_year
from shnor_utils.methodology.words import Words

PACKAGE_CONFIG = Path(__file__).resolve().parent / "defaults"


def _digest(files: dict[str, Path]) -> str:
    digest = hashlib.sha256()
    for name, path in sorted(files.items()):
        digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class Methodology:
    """The package defaults merged with an optional regional overlay, with a version digest for
    provenance and caching, and the list of what the overlay changed."""

    def __init__(self, folder: Path = PACKAGE_CONFIG, overlay: Path | None = None):
        self.folder = Path(folder)
        self.files: dict[str, Path] = {p.stem: p for p in sorted(self.folder.glob("*.yaml"))}
        if not self.files:
            raise ConfigError(f"В папке методики «{self.folder}» нет файлов *.yaml")
        defaults = {name: _overlay.read_yaml(path) for name, path in self.files.items()}
        self.defaults_digest = _digest(self.files)
        # regional overlay: its folder and the keys it overrides (file, key, value, source)
        self.overlay: Path | None = Path(overlay) if overlay is not None else None
        self.overrides: list[dict] = []
        self.overlay_digest = ""
        if self.overlay is None:
            self.data: dict[str, Any] = defaults
            self.digest = self.defaults_digest
        else:
            files = _overlay.overlay_files(self.overlay, list(self.files))
            self.data, self.overrides = _overlay.merge(
                defaults, {name: _overlay.read_yaml(path) for name, path in files.items()}, self.overlay)
            self.overlay_digest = _digest(files)
            self.digest = hashlib.sha256(f"{self.defaults_digest}+{self.overlay_digest}".encode()).hexdigest()[:16]
        versions = sorted({str(d.get("version")) for d in self.data.values() if isinstance(d, dict) and d.get("version")})
        self.version = f"{'/'.join(versions)}+{self.defaults_digest}" + (f"+{self.overlay_digest}" if self.overlay else "")
        self._subjects = {s["name"]: s for s in self.data.get("subjects", {}).get("subjects", [])}
        self._vpr_scales = self._index_vpr_scales()
        self.words = Words(self.data)

    def describe_overrides(self) -> str:
        """One Russian sentence naming what the regional overlay changed, with sources; "" if nothing."""
        return _overlay.describe(self.overrides, self.overlay, name=self.words.name)

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
        """Row and column codes of ОО-1 раздел 3 (defaults/oo1.yaml)."""
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

    def group(self, subject: str) -> str | None:
        """The group a subject belongs to in the methodology («Английский язык» → «Иностранный язык»), else None."""
        return self._subjects.get(subject, {}).get("group")

    def vpr_scale(self, year: int, subject: str, grade: int) -> Scale | None:
        """Scale of ВПР (year, subject, grade); borrowed from the nearest earlier (else later) year.
        A subject without its own scale uses its group's («Английский язык» → «Иностранный язык»)."""
        by_year = self._vpr_scales.get((subject, int(grade))) or self._vpr_scales.get((self.group(subject), int(grade)))
        if not by_year:
            return None
        chosen = nearest_year(by_year, int(year))
        return Scale.from_entry(by_year[chosen], year=chosen, asked_year=year)

    # ---- ГИА ----------------------------------------------------------------------------
    def ege_min_score(self, year: int, subject: str, level: str | None = None) -> int | None:
        """Minimum ЕГЭ test score of (year, subject); профильная математика has its own line.

        Returns None for базовая математика (its minimum is the mark «3»)."""
        table = self.data.get("gia", {}).get("ege_min_scores", {}).get("by_year", {})
        if not table:
            return None
        row = table[nearest_year(table, int(year))]
        if subject == "Математика":
            if level == "базовая":
                return None
            return row.get("Математика профильная")
        return row.get(subject, row.get(self.group(subject)))

    def oge_scale(self, year: int, subject: str) -> Scale | None:
        section = self.data.get("gia", {}).get("oge_scales", {}).get("by_year", {})
        if not section:
            return None
        chosen = nearest_year(section, int(year))
        block = section[chosen]
        s = block.get("subjects", {}).get(subject) or block.get("subjects", {}).get(self.group(subject))
        if s is None:
            return None
        return Scale.from_entry(s, year=chosen, asked_year=year,
                                source=block.get("source", ""), kind=block.get("kind", ""))

    def ege_base_math_scale(self) -> Scale:
        return Scale.from_entry(self.data["gia"]["ege_base_math"], year=0)

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


@lru_cache(maxsize=8)
def _load(overlay: str, stamp: str) -> Methodology:
    # `stamp` (names, times and sizes of the overlay's files) is part of the key: an edited overlay is read again
    return Methodology(PACKAGE_CONFIG, Path(overlay) if overlay else None)


def load_methodology(overlay: str | os.PathLike | None = None) -> Methodology:
    """The package defaults merged with the regional overlay folder `overlay`, else
    `$SHNOR_METHODOLOGY`, else the defaults alone. A full copy of the defaults works as an overlay
    (it changes nothing); the package's own folder counts as no overlay."""
    folder = overlay or os.environ.get("SHNOR_METHODOLOGY") or None
    if folder is None or Path(folder).resolve() == PACKAGE_CONFIG:
        return _load("", "")
    path = Path(folder).resolve()
    stamp = "/".join(f"{p.name}:{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in sorted(path.glob("*.y*ml"))) \
        if path.is_dir() else ""
    return _load(str(path), stamp)


__all__ = ["Methodology", "Scale", "load_methodology", "PACKAGE_CONFIG"]
