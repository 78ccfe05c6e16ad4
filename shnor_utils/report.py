"""What a notebook template calls: open the report's data, show titles, tables, charts,
«На что обратить внимание» and the provenance footer — all in Russian, all escaped.

Every string that comes from data (school names, ids) goes through `esc()`: a school named
`<script>` is shown as text.
"""
from __future__ import annotations

import datetime as _dt
import html
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset, contiguous, files_stamp, load_dataset, read_snapshot
from .errors import ParameterError
from .indicators import REGION_ID, compute_indicators
from .methodology import Methodology, load_methodology

SCOPES = {"school": "школа", "municipality": "муниципалитет", "region": "регион"}


def esc(value) -> str:
    """HTML-escape a value from data."""
    return html.escape("" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value))


def fmt_pct(value, digits: int = 1) -> str:
    """45.25 → «45,3 %»; missing → «—»."""
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.{digits}f}".replace(".", ",") + " %"


def fmt_num(value, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "—"
    if float(value).is_integer() and digits == 0:
        return f"{int(value):,}".replace(",", " ")
    return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",")


@dataclass
class Finding:
    """One line of «На что обратить внимание»: what, by which rule, from which source."""
    text: str
    rule: str = ""
    source: str = ""
    severity: str = "info"   # info | warning | flag

    def html(self) -> str:
        icon = {"flag": "⚠", "warning": "•", "info": "ℹ"}.get(self.severity, "•")
        extra = ""
        if self.rule or self.source:
            extra = f'<div class="shnor-rule">Правило: {esc(self.rule)}{"; источник: " + esc(self.source) if self.source else ""}</div>'
        return f'<li class="shnor-{self.severity}"><span>{icon}</span> {esc(self.text)}{extra}</li>'




def small_groups_finding(meth: Methodology, count: int, what: str, counted: str = "участников") -> "Finding | None":
    """«По N <what> меньше min_n <counted>: значения показаны, выводы не делаются» (small_groups.min_for_share)."""
    if not count:
        return None
    min_n = meth.threshold("small_groups.min_for_share")
    return Finding(f"По {count} {what} меньше {min_n} {counted}: значения показаны, выводы по ним не делаются.",
                   rule=f"малые группы: < {min_n} участников", source=meth.source("small_groups.min_for_share"))


def _display_html(markup: str) -> None:
    try:
        from IPython.display import HTML, display
        display(HTML(markup))
    except ImportError:  # plain Python: print the markup
        print(markup)


STYLE = """<style>
.shnor-title h1{margin-bottom:0.2em} .shnor-sub{color:#555;margin-top:0}
.shnor-table{border-collapse:collapse;font-size:0.92em;margin:0.4em 0 1em}
.shnor-table th{background:#eef2f7;text-align:left !important;padding:4px 8px;border-bottom:2px solid #aab;vertical-align:bottom}
.shnor-table td{padding:3px 8px;border-bottom:1px solid #dde;text-align:left !important} .shnor-table td.num{text-align:right !important;white-space:nowrap}
.shnor-caption{font-weight:bold;margin:0.8em 0 0.2em}
.shnor-attention{border-left:4px solid #d95f02;background:#fff7ef;padding:0.5em 1em;margin:0.5em 0 1em}
.shnor-attention ul{margin:0.3em 0;padding-left:1em;list-style:none}
.shnor-attention li{margin:0.35em 0} .shnor-rule{color:#666;font-size:0.85em;margin-left:1.4em}
.shnor-footer{color:#666;font-size:0.8em;border-top:1px solid #ccc;margin-top:2em;padding-top:0.5em}
.shnor-flag{background:#fde0c5} .shnor-ok{background:#e3f3e8} .shnor-small{color:#888;font-style:italic}
</style>"""


class Report:
    """The data and helpers of one report: a template, a scope (school / municipality / region),
    an entity and a year."""

    def __init__(self, ds: Dataset, meth: Methodology, indicators: pd.DataFrame, *, template: str,
                 scope: str, entity_id: str | None, year: int | None, region_name: str = "Регион",
                 parameters: dict | None = None):
        if scope not in SCOPES:
            raise ParameterError(f"неизвестный охват отчёта «{scope}»; допустимо: {', '.join(SCOPES)}")
        self.ds, self.meth, self.indicators = ds, meth, indicators
        self.template, self.scope, self.region_name = template, scope, region_name
        self.parameters = parameters or {}
        schools = ds.schools
        if scope == "school":
            hit = schools[schools["school_id"] == entity_id]
            if hit.empty:
                raise ParameterError(f"школа «{entity_id}» не найдена в таблице schools")
            self.school = hit.iloc[0]
            self.municipality_id = self.school["municipality_id"]
            self.entity_name = self.school["school_name"]
            self.school_ids = [entity_id]
        elif scope == "municipality":
            hit = schools[schools["municipality_id"] == entity_id]
            if hit.empty:
                raise ParameterError(f"муниципалитет «{entity_id}» не найден в таблице schools")
            self.municipality_id = entity_id
            self.entity_name = hit["municipality_name"].iloc[0]
            self.school_ids = hit["school_id"].tolist()
        else:
            entity_id = REGION_ID
            self.municipality_id = None
            self.entity_name = region_name
            self.school_ids = schools["school_id"].tolist()
        self.entity_id = entity_id
        years = self.derived("known-years", lambda: _known_years(indicators))
        self.year = int(year) if year is not None else (int(years[-1]) if years else None)
        self.started = _dt.datetime.now()

    @classmethod
    def open(cls, dataset, *, template: str, scope: str, entity_id: str | None = None,
             year: int | None = None, region_name: str = "Регион", methodology: str | None = None,
             **parameters) -> "Report":
        """Load (validated) data and indicators for one report. Called by the templates."""
        meth = load_methodology(methodology)
        ds, indicators = _load_memo(dataset, meth)
        return cls(ds, meth, indicators, template=template, scope=scope, entity_id=entity_id, year=year,
                   region_name=region_name, parameters={"dataset": str(dataset), "scope": scope,
                                                         "entity_id": entity_id, "year": year, **parameters})

    # ---- shared, region-wide work -----------------------------------------------------------
    def derived(self, name: str, compute, *key):
        """A frame derived from the whole dataset (the region's task solve rates, the sign statistics, …),
        computed once per dataset and methodology in this process and shared by every report after it.

        A warm kernel runs hundreds of reports on one dataset: region-wide work done per report is what
        made a report of a 1,000-school region take seconds. `compute` must depend only on the dataset,
        the methodology and `key`, never on the report's entity."""
        return _derived(self.ds, self.meth, self.indicators, (name, *key), compute)

    def rows_of(self, level: str, entity_ids) -> pd.DataFrame:
        """Indicator rows of one entity (or a list of entities) of `level`, in table order, via an index
        of the indicator table built once per dataset (a region's table has millions of rows)."""
        index = self.derived("indicator-rows", lambda: self.indicators.groupby(["level", "entity_id"], sort=False).indices)
        ids = [entity_ids] if isinstance(entity_ids, str) else list(entity_ids)
        return _take_groups(self.indicators, index, [(level, e) for e in ids])

    def own(self, table: str, year: int | None = None) -> pd.DataFrame:
        """Rows of `table` that belong to the report's schools (all of them for the region), in the
        table's order, optionally of one year. Uses a per-school row index built once per dataset."""
        frame = getattr(self.ds, table)
        if self.scope != "region":
            index = self.derived("rows-by-school", lambda: frame.groupby("school_id", sort=False, dropna=True).indices, table)
            frame = _take_groups(frame, index, self.school_ids)
        return frame if year is None else frame[frame["year"] == year]

    def of_year(self, table: str, year: int | None = None) -> pd.DataFrame:
        """All rows of `table` (every school of the region) of one year (the report year by default)."""
        year = self.year if year is None else year
        frame = getattr(self.ds, table)

        def select() -> pd.DataFrame:
            mask = frame["year"] == year
            return frame if mask.all() else frame[mask]   # a one-year table (vpr_tasks) is not copied

        return self.derived("of-year", select, table, year)

    # ---- entity helpers ------------------------------------------------------------------
    @property
    def municipality_name(self) -> str | None:
        if self.municipality_id is None:
            return None
        s = self.ds.schools
        return s.loc[s["municipality_id"] == self.municipality_id, "municipality_name"].iloc[0]

    def level_rows(self, indicator_id: str, **filters) -> pd.DataFrame:
        """Indicator rows of this entity, its municipality and the region (columns + `уровень`)."""
        def pick(rows: pd.DataFrame) -> pd.DataFrame:
            rows = rows[rows["indicator_id"] == indicator_id]
            for k, v in filters.items():
                rows = rows[rows[k] == v]
            return rows

        parts = []
        if self.scope == "school":
            parts.append(pick(self.rows_of("school", self.entity_id)).assign(уровень="школа"))
        if self.scope in ("school", "municipality"):
            parts.append(pick(self.rows_of("municipality", self.municipality_id)).assign(уровень="муниципалитет"))
        parts.append(pick(self.rows_of("region", REGION_ID)).assign(уровень="регион"))
        return pd.concat(parts, ignore_index=True)

    def school_names(self) -> pd.Series:
        s = self.ds.schools.set_index("school_id")
        return s["school_name"]

    # ---- display -------------------------------------------------------------------------
    def title(self, heading: str) -> None:
        """The report heading with the entity and year; also injects the report stylesheet."""
        sub = {"school": f"{esc(self.entity_name)} · {esc(self.municipality_name)}",
               "municipality": f"{esc(self.entity_name)} — муниципальный отчёт",
               "region": f"{esc(self.region_name)} — региональный отчёт"}[self.scope]
        year = f", {self.year} г." if self.year else ""
        _display_html(f'{STYLE}<div class="shnor-title"><h1>{esc(heading)}{year}</h1>'
                      f'<p class="shnor-sub">{sub}</p></div>')

    def heading(self, text: str, level: int = 2) -> None:
        _display_html(f"<h{level}>{esc(text)}</h{level}>")

    def paragraph(self, text: str) -> None:
        """A paragraph of plain text (escaped; `**bold**` is not interpreted)."""
        _display_html(f"<p>{esc(text)}</p>")

    def note(self, text: str) -> None:
        _display_html(f'<p class="shnor-small">{esc(text)}</p>')

    def attention(self, findings: list[Finding]) -> None:
        """«На что обратить внимание»: every flag in plain Russian with its rule and source."""
        items = "".join(f.html() for f in findings) or "<li>Существенных отклонений не выявлено.</li>"
        _display_html(f'<div class="shnor-attention"><h2>На что обратить внимание</h2><ul>{items}</ul></div>')

    def table(self, frame: pd.DataFrame, caption: str | None = None, *, row_classes: list | None = None) -> None:
        """Show a presentation frame (Russian headers, values already formatted) as an escaped table."""
        if frame is None or frame.empty:
            self.note("Нет данных для таблицы.")
            return
        head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
        body = []
        for i, row in enumerate(frame.itertuples(index=False)):
            cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
            cells = "".join(
                f'<td class="num">{esc(v)}</td>' if _is_numberlike(v) else f"<td>{esc(v)}</td>" for v in row)
            body.append(f"<tr{cls}>{cells}</tr>")
        cap = f'<div class="shnor-caption">{esc(caption)}</div>' if caption else ""
        _display_html(f'{cap}<table class="shnor-table"><thead><tr>{head}</tr></thead>'
                      f'<tbody>{"".join(body)}</tbody></table>')

    def figure(self, fig, *, width: int | None = None) -> None:
        """Show a matplotlib figure as a sharp embedded PNG (150 dpi, displayed at 96 dpi size)."""
        import matplotlib.pyplot as plt
        from IPython.display import Image, display

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
        w = width or int(fig.get_figwidth() * 96)
        plt.close(fig)
        display(Image(data=buf.getvalue(), format="png", width=w))

    def footer(self) -> None:
        """Provenance: data files and digests, methodology version, template, parameters, run time."""
        files = "; ".join(f"{p['файл']} ({p['строк']} строк, sha256 {p['sha256']})" for p in self.ds.provenance())
        params = ", ".join(f"{k}={v}" for k, v in self.parameters.items() if k != "dataset")
        notes = "".join(f"<br>Примечание: {esc(n)}" for n in self.ds.notes)
        _display_html(
            f'<div class="shnor-footer">Источник данных: {esc(files)}<br>'
            f'Методика: версия {esc(self.meth.version)} (shnor_utils/config)<br>'
            f'Шаблон: {esc(self.template)}; параметры: {esc(params)}<br>'
            f'Сформирован: {self.started:%Y-%m-%d %H:%M:%S}{notes}</div>')


def _is_numberlike(v) -> bool:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return True
    s = str(v).replace(" ", "").replace(",", "").replace("%", "").replace("−", "").replace("+", "").replace("-", "")
    return s.isdigit()


def _take_groups(frame: pd.DataFrame, index: dict, keys) -> pd.DataFrame:
    """Rows of `frame` in the groups `keys` of a `groupby(...).indices` index, in table order."""
    pos = [index[k] for k in keys if k in index]
    return frame.take(np.sort(np.concatenate(pos))) if pos else frame.iloc[0:0]


def _known_years(indicators: pd.DataFrame) -> list:
    """Years of the indicator table; forecast rows (the ШНОР list of the year after the data) do not
    choose the default year."""
    if not len(indicators):
        return []
    known = indicators[indicators["flag"].ne("forecast").fillna(True)]
    return sorted(known["year"].dropna().unique().tolist())


_DERIVED: dict = {}


def _derived(ds: Dataset, meth: Methodology, indicators: pd.DataFrame, key: tuple, compute):
    """Memo of `Report.derived`: tied to one (dataset, methodology, indicators) by identity, cleared when
    another one comes (a kernel holds one dataset at a time, so memory stays bounded)."""
    owner = _DERIVED.get("__owner__")
    if owner is None or owner[0] is not ds or owner[1] != meth.digest or owner[2] is not indicators:
        _DERIVED.clear()
        _DERIVED["__owner__"] = (ds, meth.digest, indicators)
    if key not in _DERIVED:
        _DERIVED[key] = compute()
    return _DERIVED[key]


_MEMO: dict = {}


def _load_memo(dataset, meth: Methodology):
    """The validated dataset and its indicators, kept in memory while the files are unchanged.

    A warm kernel runs many reports on one dataset: they share one load (keyed by the files'
    size and modification time and the methodology digest), which is what makes the batch fast.
    In a batch the dataset comes from the snapshot the batch wrote after validating it
    (`$SHNOR_CACHE/dataset-<key>/`); a notebook opened by hand reads and validates the files."""
    root = Path(dataset).resolve()
    key = files_stamp(root, meth.digest) if root.is_dir() else (str(root), meth.digest)
    if key not in _MEMO:
        _MEMO.clear()
        _DERIVED.clear()
        cache = os.environ.get("SHNOR_CACHE")
        snapshot = Path(cache) / f"dataset-{key}" if cache else None
        if snapshot is not None and (snapshot / "dataset.json").exists():
            ds = read_snapshot(snapshot)
        else:
            ds = load_dataset(root, methodology=meth)
        _MEMO[key] = (ds, _cached_indicators(ds, meth))
    return _MEMO[key]


def _cached_indicators(ds: Dataset, meth: Methodology) -> pd.DataFrame:
    """Indicators of the whole dataset, computed once per dataset version.

    The batch writes them to `$SHNOR_CACHE/indicators-<digest>.parquet` before the reports run;
    a report finds them there instead of recomputing (notebooks opened by hand compute them)."""
    cache = os.environ.get("SHNOR_CACHE")
    key = f"indicators-{ds.digest()}-{meth.digest}.parquet"
    if cache:
        path = Path(cache) / key
        if path.exists():
            return contiguous(pd.read_parquet(path))
    return compute_indicators(ds, meth)
