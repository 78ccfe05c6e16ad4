"""What an analysis declares about itself: the `Analysis` spec.

Every analysis sub-package (`shnor_utils/analyses/<id>/analysis.py`) defines one `SPEC`; the
indicator computation, the Excel workbook, the index page and the school passport read the specs
of `shnor_utils.analyses.ALL` and nothing else. This module knows no analysis: it is the low
registry, the list lives above it (`analyses/__init__.py`).

A producer is `(dataset, methodology) -> tidy frame | None` (see `indicators.table`); a
postprocessor is `(table so far, dataset, methodology) -> extra rows | None`, run after every
producer of every analysis, in the order of `ALL` (e.g. DD of every catalogue indicator).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

Producer = Callable
Postprocessor = Callable


@dataclass(frozen=True)
class Sheet:
    """A sheet of `indicators.xlsx`: its Russian name and the indicator-id prefixes it shows.
    Several analyses may add prefixes to one sheet (the ШНОР sheet shows context and risk rows)."""
    name: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Analysis:
    """One analysis of the product.

    id            — the folder name under `analyses/` and the key of its words in the methodology;
    title         — Russian title (shown in the workbook and the docs);
    templates     — report templates that present it (notebooks/templates/<name>.ipynb);
    tables        — dataset tables its producers read (docs/DATA_CONTRACT.md);
    producers     — indicator functions, run once per dataset;
    postprocessors— stages over the whole table, after every producer;
    sheets        — its sheets of the Excel workbook;
    index_flags   — 0/1 school indicators shown as chips and filters on the index page (their
                    short names come from the methodology's words: `flags.yaml → short`);
    passport_flags— 0/1 school indicators the school passport states at the top.
    """
    id: str
    title: str
    templates: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    producers: tuple[Producer, ...] = ()
    postprocessors: tuple[Postprocessor, ...] = ()
    sheets: tuple[Sheet, ...] = ()
    index_flags: tuple[str, ...] = ()
    passport_flags: tuple[str, ...] = ()


def sheets_of(analyses) -> list[Sheet]:
    """The workbook's analysis sheets in the order of `analyses`; prefixes of one name merged."""
    merged: dict[str, list[str]] = {}
    for analysis in analyses:
        for sheet in analysis.sheets:
            merged.setdefault(sheet.name, [])
            merged[sheet.name] += [p for p in sheet.prefixes if p not in merged[sheet.name]]
    return [Sheet(name, tuple(prefixes)) for name, prefixes in merged.items()]


def index_flags_of(analyses) -> tuple[str, ...]:
    """Indicator ids shown as flags on the index page, in the order of `analyses`."""
    return tuple(f for a in analyses for f in a.index_flags)
