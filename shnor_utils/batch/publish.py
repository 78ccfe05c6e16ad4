"""Publishing a batch: one `indicators.json` per entity (in its folder, next to its reports), `index.html` and
`indicators.xlsx` — from the plan, the runs' outcomes and the indicator table; no notebook is
executed or parsed. What the index flags and the workbook's sheets are comes from the Analysis
specs (`analyses`, default `shnor_utils.analyses.ALL`), their names from the methodology."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from shnor_utils.analyses import ALL
from shnor_utils.batch.config import BatchConfig
from shnor_utils.batch.excel import write_workbook
from shnor_utils.batch.index_page import write_index
from shnor_utils.indicators.privacy import suppress
from shnor_utils.indicators.registry import index_flags_of
from shnor_utils.safeio import atomic_write_text


def provenance_of(cfg: BatchConfig, ds, meth, package: str) -> dict:
    """What every report of the batch was made from (the notebooks' metadata and the sidecars)."""
    return {"dataset": str(cfg.dataset), "files": ds.provenance(), "methodology": meth.version,
            "shnor_utils": package, "templates": {}}


SIDECAR = "indicators.json"


def sidecar_path(run) -> Path:
    """The entity's sidecar: `indicators.json` in the folder of its reports (`output/school/<id>/`,
    `output/municipality/<id>/`, `output/region/`), one per entity whatever the number of templates."""
    return Path(run.html).parent / SIDECAR


class Sidecars:
    """Writes the `indicators.json` of each entity with a report in this batch, once (the indicator
    rows of the entity: one grouping of the table, not a scan per report). Before, every report had
    its own `<template>.indicators.json` with the same rows: those files are removed when met."""

    def __init__(self, indicators: pd.DataFrame, provenance: dict, meth, *, shown: pd.DataFrame | None = None):
        """`shown`: the table after `privacy.suppress`, when the batch has it (suppressed once for every
        sidecar, the index and the digest: suppressing each entity's rows again cost a region's batch
        ≈ 40 ms per school); else `indicators` is suppressed here."""
        self.indicators = suppress(indicators, meth) if shown is None else shown
        self.provenance, self.meth = provenance, meth
        self.by_entity = self.indicators.groupby(["level", "entity_id"], sort=False).indices
        self.written: set = set()

    def write(self, run, key: str | None = None) -> Path:
        """The entity's sidecar (once per batch: the rows do not depend on the template). `key` is
        accepted for the callers' sake: a run's key stays in the batch state, not in the sidecar."""
        path = sidecar_path(run)
        Path(run.sidecar).unlink(missing_ok=True)   # the per-report file of earlier versions
        if path in self.written:
            return path
        pos = self.by_entity.get((run.scope, run.entity_id))
        # privacy: no aggregate of a small group, not even in the school's own sidecar (the rows of
        # the suppressed table: suppression is decided within an entity's own rows)
        rows = self.indicators.take(pos) if pos is not None else self.indicators.iloc[0:0]
        write_sidecar(run, rows, self.provenance)
        self.written.add(path)
        return path


def write_sidecar(run, rows: pd.DataFrame, provenance: dict) -> Path:
    """The entity's `indicators.json`: every indicator value of the run's entity (id, value, n, CI,
    flag); `rows` are the indicator rows of that entity. The same for every template of the entity."""
    payload = {"scope": run.scope, "entity_id": run.entity_id, "entity_name": run.entity_name,
               "municipality_id": run.municipality_id,
               "provenance": {k: v for k, v in provenance.items() if k != "templates"}, "indicators": _records(rows)}
    text = json.dumps(payload, ensure_ascii=False, default=str, separators=(",", ":"))   # compact: ≈ 10 % smaller
    return atomic_write_text(sidecar_path(run), text)


def _records(rows: pd.DataFrame) -> list[dict]:
    """The rows as dicts of Python values, NA as None — `astype(object).where(notna, None).to_dict("records")`,
    column by column (half the time: a sidecar per entity of a region's batch)."""
    cols = []
    for name in rows.columns:
        col = rows[name]
        if isinstance(col.dtype, np.dtype):
            values = col.astype(object).where(col.notna(), None).to_numpy()
        else:   # pandas' nullable and string arrays
            values = col.to_numpy(dtype=object, na_value=None)
        cols.append(values.tolist())
    names = list(rows.columns)
    return [dict(zip(names, row)) for row in zip(*cols)]


def stale_path(path: Path) -> Path:
    """`…/probe.html` → `…/probe.stale.html` (`.pdf` → `.stale.pdf`, `.docx` → `.stale.docx`)."""
    return path.with_name(f"{path.stem}.stale{path.suffix}")


def set_aside(run) -> list[Path]:
    """A run that failed now: its report from an earlier success is renamed `<name>.stale.html`
    (and its PDF and Word file), so no old page is served as the current one while the index says «ошибка». The
    entity's `indicators.json` stays (it is the entity's data, not this report's); a per-report
    sidecar of an earlier version goes. Returns the renamed files."""
    moved = []
    for path in (run.html, run.pdf, run.html.with_suffix(".docx")):
        if path.exists():
            os.replace(path, stale_path(path))
            moved.append(stale_path(path))
    run.sidecar.unlink(missing_ok=True)
    return moved


def clear_stale(run) -> None:
    """A run that succeeded again: the set-aside pages of its earlier failure go."""
    for path in (run.html, run.pdf, run.html.with_suffix(".docx")):
        stale_path(path).unlink(missing_ok=True)


def school_flags(indicators: pd.DataFrame, year: int | None, meth, analyses=ALL) -> dict:
    """Main flags per school for the index page: the analyses' `index_flags` equal to 1 in the
    batch year, by their short names (`meth.words.short`), in the order of the specs."""
    flags = index_flags_of(analyses)
    ind = indicators[(indicators["level"] == "school") & indicators["indicator_id"].isin(flags)]
    if year is not None:
        ind = ind[ind["year"] == year]
    ind = ind[ind["value"] == 1]
    out: dict = {}
    for sid, ids in ind.groupby("entity_id")["indicator_id"]:
        present = set(ids)
        out[sid] = [meth.words.short(f) for f in flags if f in present]
    return out


def report_year(cfg: BatchConfig, indicators: pd.DataFrame) -> int | None:
    """The batch year, else the latest observed year (ШНОР lists for the next year are forecasts)."""
    if cfg.year is not None:
        return cfg.year
    observed = indicators[indicators["flag"].fillna("") != "forecast"]
    return int(observed["year"].max()) if len(observed) else None


def write_outputs(cfg: BatchConfig, runs: list, outcomes: dict, schools: pd.DataFrame, indicators: pd.DataFrame,
                  meth, analyses=ALL, *, shown: pd.DataFrame | None = None) -> None:
    """Index page and Excel workbook, from the outcomes and the indicator table (no notebook parsing).
    `outcomes[run_id]` = {'ok': bool, 'error': str}; `shown`: the table already suppressed, if at hand."""
    # privacy: the index and the workbook show no small groups
    indicators = suppress(indicators, meth) if shown is None else shown
    year = report_year(cfg, indicators)
    write_index(cfg.output, title=cfg.title, region_name=cfg.region_name, runs=runs, outcomes=outcomes,
                school_flags=school_flags(indicators, year, meth, analyses), overrides=meth.describe_overrides(),
                year=year, workbook="indicators.xlsx" if cfg.excel else None)
    if cfg.excel:
        # the report year's values (a multi-year region table outgrows Excel's 1,048,576 rows);
        # every year is in `shnor indicators DATASET --out FILE.csv`
        of_year = indicators[indicators["year"] == year] if year is not None else indicators
        write_workbook(of_year, schools, cfg.output / "indicators.xlsx", region_name=cfg.region_name, year=year,
                       analyses=analyses, meth=meth)
