"""What a notebook template calls: open the report's data, show titles, tables, charts,
«На что обратить внимание» and the provenance footer — all in Russian, all escaped.

Every string that comes from data (school names, ids) goes through `esc()`: a school named
`<script>` is shown as text.
"""
from __future__ import annotations

import base64
import datetime as _dt
import io
import re
import numpy as np
import pandas as pd

from shnor_utils.data.dataset import Dataset
from shnor_utils.errors import ParameterError
from shnor_utils.indicators.privacy import hidden_values, reveal
from shnor_utils.indicators.table import REGION_ID
from shnor_utils.methodology import Methodology
from dataclasses import replace

from shnor_utils.reporting.changes import APPEARED, CLEARED, change_label, flag_ids, flag_moves, significant
from shnor_utils.reporting.html import STYLE, Finding, display_html, esc, fmt_num, listed, natural_key, plain, plural
from shnor_utils.reporting.tablefile import cell_text, download_links
from shnor_utils.data.tables import records

CHANGES_LISTED = 5   # schools or indicators named per line of «Что изменилось с прошлого года»
SCOPES = {"school": "школа", "municipality": "муниципалитет", "region": "регион"}


class Report:
    """The data and helpers of one report: a template, a scope (school / municipality / region),
    an entity and a year."""

    def __init__(self, ds: Dataset, meth: Methodology, indicators: pd.DataFrame, *, template: str,
                 scope: str, entity_id: str | None, year: int | None, region_name: str = "Регион",
                 parameters: dict | None = None, unsuppressed: pd.DataFrame | None = None):
        """`indicators` is what the report may show (after `privacy.suppress`, shared by every report of
        a dataset); `unsuppressed`, the computed table, gives a school report its own rows back."""
        if scope not in SCOPES:
            raise ParameterError(f"неизвестный охват отчёта «{scope}»; допустимо: {', '.join(SCOPES)}")
        self.ds, self.meth, self._indicators = ds, meth, indicators
        self._shared = indicators
        self._own_hidden = None   # a school report's own hidden values, put back on first use
        self._once: dict = {}      # this report's own memo (`once`, `rows_of`)
        # the memos of `derived` / `of_indicators` and the row indexes belong to the shared table
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
        if scope == "school" and unsuppressed is not None:
            # a school's own report shows its own small groups (METHODOLOGY.md §0 «Малые группы»): its
            # hidden values are put back when the table is first read — `rows_of` puts them back in
            # the rows it takes without revealing (copying) the whole region's table
            if not unsuppressed.attrs.get("hidden_values"):
                unsuppressed = hidden_values(indicators, unsuppressed)
            own = np.asarray(self._row_index().get(("school", entity_id), []), dtype=np.int64)
            mine = unsuppressed[unsuppressed.index.isin(own)]
            mine.attrs["hidden_values"] = True
            if len(mine):
                self._own_hidden = mine
                self._indicators = None
        years = self.region_wide("known-years", lambda: known_years(indicators))
        self.year = int(year) if year is not None else (int(years[-1]) if years else None)
        self.started = _dt.datetime.now()

    @property
    def indicators(self) -> pd.DataFrame:
        """What the report may show: the shared table, with a school report's own small groups back."""
        if self._indicators is None:
            own = self._own_hidden
            self._indicators = reveal(self._shared, own, own.index.to_numpy())
        return self._indicators

    # ---- shared, region-wide work -----------------------------------------------------------
    def derived(self, name: str, compute, *key):
        """A frame derived from the whole dataset (the region's task solve rates, the sign statistics, …),
        computed once per dataset and methodology in this process and shared by every report after it.

        A warm kernel runs hundreds of reports on one dataset: region-wide work done per report is what
        made a report of a 1,000-school region take seconds. `compute` must depend only on the dataset,
        the methodology and `key`, never on the report's entity."""
        return _derived(self.ds, self.meth, self._shared, (name, *key), compute)

    @property
    def shared(self) -> pd.DataFrame:
        """The indicator table every report of the kernel shares (after `privacy.suppress`); a school
        report's `indicators` may differ from it in the school's own rows only."""
        return self._shared

    def of_indicators(self, name: str, compute, *key):
        """Like `derived`, for a frame derived from the shared indicator table and the methodology only
        (never from the pupil-level tables): kept while a warm kernel moves from one municipality's
        partition of the snapshot to the next, since the indicator table stays the same."""
        return _of_indicators(self.meth, self._shared, (name, *key), compute)

    def region_wide(self, name: str, compute, *key):
        """A region-wide aggregate of the pupil-level tables (`analyses.aggregates`), by `derived`'s key.

        A kernel that holds one municipality's partition of the batch snapshot (`snapshot.Partition`)
        cannot compute it from its rows: it reads what the batch computed once from the whole region.
        Otherwise it is computed here (`compute()`), once per dataset like `derived`."""
        stored = getattr(self.ds, "aggregate", None)
        if stored is not None:
            return self.derived(name, lambda: stored(name, tuple(key)), *key)
        return self.derived(name, compute, *key)

    def once(self, name: str, compute, *key):
        """`compute()` once per report (several sections of a report read the same entity frame: the
        journal shares feed the summary, the findings, a chart and a table). A frame comes back as a
        shallow copy: with pandas' copy-on-write a caller that changes it changes only its copy."""
        k = (name, *key)
        if k not in self._once:
            self._once[k] = compute()
        value = self._once[k]
        return value.copy(deep=False) if isinstance(value, (pd.DataFrame, pd.Series)) else value

    def _row_index(self) -> dict:
        """{(level, entity_id): row positions} of the indicator table, built once per dataset."""
        return self.of_indicators("indicator-rows", lambda: self._shared.groupby(["level", "entity_id"], sort=False).indices)

    def rows_of(self, level: str, entity_ids) -> pd.DataFrame:
        """Indicator rows of one entity (or a list of entities) of `level`, in table order, via an index
        of the indicator table built once per dataset (a region's table has millions of rows)."""
        ids = (entity_ids,) if isinstance(entity_ids, str) else tuple(entity_ids)

        def take() -> pd.DataFrame:
            if level == "school" and getattr(self.ds, "aggregate", None) is not None:
                self._refuse_other_municipalities(ids)   # checked once per set of ids, as the rows are taken
            return self._take(_group_positions(self._row_index(), [(level, e) for e in ids]))

        return self.once("rows-of", take, level, ids)

    def _refuse_other_municipalities(self, school_ids) -> None:
        """A kernel holding one municipality's partition has no other school's indicator rows: asking
        for them is an error (what a report compares with region-wide comes from `region_wide`),
        never silently no rows."""
        mine = self.derived("partition-schools", lambda: frozenset(
            self.ds.schools.loc[self.ds.schools["municipality_id"].astype(str) == str(self.ds.municipality_id), "school_id"]))
        outside = [s for s in school_ids if s not in mine]
        if outside:
            raise ParameterError(f"показатели школы «{outside[0]}» недоступны в ядре одного муниципалитета "
                                 f"({self.ds.municipality_id}); региональные сводки берутся из `region_wide`")

    def rows_with(self, indicator_ids) -> pd.DataFrame:
        """Indicator rows of one indicator (or a list), every level and entity, in table order, via an
        index by indicator built once per kernel."""
        ids = [indicator_ids] if isinstance(indicator_ids, str) else list(indicator_ids)
        index = self.of_indicators("rows-by-indicator", lambda: self._shared.groupby("indicator_id", sort=False).indices)
        return self._take(_group_positions(index, ids))

    def _take(self, pos: np.ndarray) -> pd.DataFrame:
        """Rows at positions `pos` (sorted) of what the report may show. Before the whole table is read,
        they come from the shared table with the school's own hidden values put back in them."""
        if self._indicators is not None:
            return self._indicators.take(pos)
        rows = self._shared.take(pos)
        back = np.flatnonzero(np.isin(pos, self._own_hidden.index.to_numpy()))
        if not len(back):
            return rows
        mine = self._own_hidden.loc[pos[back]].set_axis(back)
        mine.attrs["hidden_values"] = True
        return reveal(rows, mine, back)

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
        if getattr(self.ds, "aggregate", None) is not None:   # a municipality's partition: not the region
            raise ParameterError(f"таблица «{table}» всего региона недоступна в ядре одного муниципалитета "
                                 f"({self.ds.municipality_id}); региональные сводки берутся из `region_wide`")
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

    def school_flag_findings(self, flag_ids, year: int | None = None, *, source: str = "") -> list[Finding]:
        """Municipality / region roll-up of 0/1 school flags (an analysis's `index_flags`): one finding per
        flag kind with at least one school of the report — «<name>: N школ — A (n = …), B (n = …)».
        A school report gets none (the school's own findings say it)."""
        if self.scope == "school":
            return []
        year = self.year if year is None else year
        rows = self.rows_of("school", self.school_ids)
        rows = rows[rows["indicator_id"].isin(list(flag_ids)) & (rows["year"] == year) & (rows["value"] == 1)]
        names = self.school_names()
        muns = self.ds.schools.set_index("school_id")["municipality_name"]
        out = []
        for flag in flag_ids:
            part = rows[rows["indicator_id"] == flag]
            if part.empty:
                continue
            part = part.assign(school_name=part["entity_id"].map(names).fillna(part["entity_id"]))
            items = []
            for r in records(part.sort_values("school_name", key=natural_key)):
                n = f" (n = {fmt_num(r.denominator, 0)})" if pd.notna(r.denominator) else ""
                where = f", {muns.get(r.entity_id, '')}" if self.scope == "region" else ""
                items.append(f"{r.school_name}{where}{n}")
            k = len(items)
            name = self.meth.words.short(flag)
            out.append(Finding(f"{name[:1].upper()}{name[1:]} ({year} г.): {k} {plural(k, 'школа', 'школы', 'школ')} — "
                               + listed(items, f"все в оглавлении отчётов, флаг «{name}»") + ".",
                               rule=self.meth.words.name(flag), source=source, severity="flag"))
        return out

    # ---- display -------------------------------------------------------------------------
    def title(self, heading: str) -> None:
        """The report heading with the entity and year; also injects the report stylesheet."""
        sub = {"school": f"{esc(self.entity_name)} · {esc(self.municipality_name)}",
               "municipality": f"{esc(self.entity_name)} — муниципальный отчёт",
               "region": f"{esc(self.region_name)} — региональный отчёт"}[self.scope]
        year = f", {self.year} г." if self.year else ""
        display_html(f'{STYLE}<div class="shnor-title"><h1>{esc(heading)}{year}</h1>'
                      f'<p class="shnor-sub">{sub}</p></div>')

    def heading(self, text: str, level: int = 2) -> None:
        display_html(f"<h{level}>{esc(plain(self.meth, text))}</h{level}>")

    def paragraph(self, text: str) -> None:
        """A paragraph of plain text (escaped; `**bold**` is not interpreted)."""
        display_html(f"<p>{esc(plain(self.meth, text))}</p>")

    def note(self, text: str) -> None:
        display_html(f'<p class="shnor-small">{esc(plain(self.meth, text))}</p>')

    def attention(self, findings: list[Finding], *, notes: bool = False) -> None:
        """«На что обратить внимание»: every flag in plain Russian with its rule and source. With
        `notes` (a one-page report), each distinct rule and source is written once, as a numbered note
        under the list, and the findings carry only its number."""
        findings = [replace(f, text=plain(self.meth, f.text), rule=plain(self.meth, f.rule),
                            source=plain(self.meth, f.source)) for f in findings]
        if not notes:
            items = "".join(f.html() for f in findings)
            tail = ""
        else:   # rules and sources numbered apart: findings of one rule, or of one document, share its note
            numbers: dict[str, int] = {}
            refs = []
            for f in findings:
                texts = ([f"Правило: {f.rule}"] if f.rule else []) + ([f"Источник: {f.source}"] if f.source else [])
                refs.append(",".join(str(numbers.setdefault(t, len(numbers) + 1)) for t in texts) or None)
            items = "".join(f.html(ref) for f, ref in zip(findings, refs))
            tail = "".join(f'<li><sup>{n}</sup> {esc(text)}</li>' for text, n in numbers.items())
            tail = f'<ol class="shnor-notes">{tail}</ol>' if tail else ""
        items = items or "<li>Существенных отклонений не выявлено.</li>"
        display_html(f'<div class="shnor-attention"><h2>На что обратить внимание</h2><ul>{items}</ul>{tail}</div>')

    def table(self, frame: pd.DataFrame, caption: str | None = None, *, row_classes: list | None = None,
              collapsed: str | None = None) -> None:
        """Show a presentation frame (Russian headers, values already formatted) as an escaped table.
        With `collapsed` (the text of its summary line), the table is folded in a `<details>` block on
        screen and left out of print (a full list behind a short table of what matters)."""
        if frame is None or frame.empty:
            self.note("Нет данных для таблицы.")
            return
        rows = list(records(frame))
        # a column is aligned as one: right, header too, when all its cells are numbers (or «—»);
        # a column that mixes numbers and words («0», «нет») stays left, so no number sits under the
        # wrong header
        numeric = [any(_is_numberlike(r[j]) for r in rows) and all(_is_numberlike(r[j]) or _is_blank(r[j]) for r in rows)
                   for j in range(len(frame.columns))]
        head = "".join(f'<th{NUM if numeric[j] else ""}>{esc(plain(self.meth, c))}</th>' for j, c in enumerate(frame.columns))
        marks = self._entity_marks(frame)
        body = []
        for i, row in enumerate(rows):
            cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
            cells = "".join(
                f'<td class="num">{esc(v)}</td>' if numeric[j]
                else (f'<td data-shnor-{marks[j][0]}="{esc(marks[j][1][i])}">{esc(v)}</td>'
                      if j in marks and marks[j][1][i] else f"<td>{esc(v)}</td>")
                for j, v in enumerate(row))
            body.append(f"<tr{cls}>{cells}</tr>")
        cap = f'<div class="shnor-caption">{esc(plain(self.meth, caption))}</div>' if caption else ""
        # «Скачать таблицу: Excel · CSV» — the same cell texts as files (reporting/tablefile.py)
        files = download_links([plain(self.meth, c) for c in frame.columns],
                               [[cell_text(v) for v in row] for row in records(frame)],
                               plain(self.meth, caption) if caption else None)
        markup = (f'{cap}<table class="shnor-table"><thead><tr>{head}</tr></thead>'
                  f'<tbody>{"".join(body)}</tbody></table>{files}')
        if collapsed:
            markup = (f'<details class="shnor-full"><summary>{esc(plain(self.meth, collapsed))}</summary>'
                      f'{markup}</details>')
        display_html(markup)

    def _entity_marks(self, frame: pd.DataFrame) -> dict:
        """{column position: (kind, ids per row)} of the «Школа» / «Муниципалитет» columns of a
        municipality or region table: the batch renderer (batch/nav.py) turns the marked cells into
        links to those schools' (municipalities') reports. A school is known by the row's «Код», else
        by a name that only one school of the report bears; a report run by hand keeps plain text."""
        if self.scope == "school":
            return {}
        cols = list(frame.columns)
        marks = {}
        if "Школа" in cols:
            if "Код" in cols:
                own = set(map(str, self.school_ids))
                ids = [str(v) if pd.notna(v) and str(v) in own else "" for v in frame["Код"]]
            else:
                names = self.school_names().reindex(self.school_ids)
                unique = names[~names.duplicated(keep=False)]
                by_name = dict(zip(unique.to_numpy(), unique.index))
                ids = [by_name.get(v, "") for v in frame["Школа"]]
            marks[cols.index("Школа")] = ("school", ids)
        if "Муниципалитет" in cols and self.scope == "region":
            m = self.ds.schools.drop_duplicates("municipality_id")
            m = m[~m["municipality_name"].duplicated(keep=False)]
            by_name = dict(zip(m["municipality_name"], m["municipality_id"]))
            marks[cols.index("Муниципалитет")] = ("mun", [str(by_name.get(v, "")) for v in frame["Муниципалитет"]])
        return marks

    def figure(self, fig, *, width: int | None = None) -> None:
        """Show a matplotlib figure as inline SVG (`svg_of`), displayed at its size at 96 dpi
        (or `width` px); text stays text, sharp on screen and in the PDF."""
        # matplotlib and IPython only when a report draws: the batch driver imports this module too
        import matplotlib.pyplot as plt
        from IPython.display import display

        svg = svg_of(fig)
        if width:
            svg = svg.replace("<svg ", f'<svg style="width:{int(width)}px;max-width:100%;height:auto" ', 1)
        plt.close(fig)
        display({"image/svg+xml": svg}, raw=True)

    def change_items(self, flags=None, limit: int = CHANGES_LISTED) -> list[str] | None:
        """The lines of «Что изменилось с прошлого года» (plain text): school flags that appeared or were
        cleared (for a municipality or region: per flag kind, how many of its schools and which), and the
        entity's significant changes (the significance rule's «positive» / «negative» dynamics rows), at
        most `limit` named per line. None when the data has no year before the report year."""
        if self.year is None:
            return None
        prev = self.year - 1
        if prev not in self.region_wide("indicator-years", lambda: indicator_years(self._shared)):
            return None
        flags = flag_ids(self.meth) if flags is None else list(flags)
        moves = self.of_indicators("flag-moves", lambda: flag_moves(self._shared, flags, self.year), self.year, tuple(flags))
        moves = moves[moves["school_id"].isin(set(map(str, self.school_ids)))]
        names = self.school_names()
        items = []
        for flag in flags:
            part = moves[moves["indicator_id"] == flag]
            name = self.meth.words.short(flag)
            name = name[:1].upper() + name[1:]
            for change in (APPEARED, CLEARED):
                ids = part.loc[part["change"] == change, "school_id"].tolist()
                if not ids:
                    continue
                when = f"есть в {self.year} г., не было в {prev} г" if change == APPEARED else f"был в {prev} г., снят в {self.year} г"
                if self.scope == "school":
                    items.append(f"{name}: {when}.")
                    continue
                listed = sorted((str(names.get(i, i)) for i in ids), key=natural_key)
                more = f" и ещё {len(ids) - limit}" if len(ids) > limit else ""
                items.append(f"{name} ({when}.): {len(ids)} {plural(len(ids), 'школа', 'школы', 'школ')} — "
                             f"{'; '.join(listed[:limit])}{more}.")
        sig = significant(self.rows_of(self.scope, self.entity_id), self.year, self.scope, self.entity_id)
        for flag, word in (("positive", "Существенно улучшились"), ("negative", "Существенно ухудшились")):
            part = sig[sig["flag"] == flag]
            if part.empty:
                continue
            labels = [change_label(self.meth, r, self.scope) for _, r in part.head(limit).iterrows()]
            more = f"; и ещё {len(part) - limit} — см. отчёт о динамике показателей" if len(part) > limit else ""
            items.append(f"{word} ({len(part)} {plural(len(part), 'показатель', 'показателя', 'показателей')}): "
                         + "; ".join(labels) + more + ("" if (labels[-1] + more).endswith(".") else "."))
        return items

    def changes(self) -> None:
        """The short section «Что изменилось с прошлого года» (shown by `footer`)."""
        items = self.change_items()
        if items is None:
            text = [f"Данных за {self.year - 1} г. нет — сравнивать не с чем." if self.year else "Год отчёта не определён."]
        else:
            text = items or ["Существенных изменений нет: флаги школ те же, изменения показателей — в пределах "
                             "допуска или случайных колебаний."]
        lis = "".join(f"<li>{esc(plain(self.meth, t))}</li>" for t in text)
        display_html(f'<div class="shnor-changes"><h2>Что изменилось с прошлого года</h2><ul>{lis}</ul></div>')

    def footer(self) -> None:
        """«Что изменилось с прошлого года», then the visible line: methodology changes of the region
        and the date; provenance (data files and digests, methodology version, template, parameters)
        in a collapsed «Сведения о расчёте» block."""
        self.changes()
        files = "; ".join(f"{p['файл']} ({p['строк']} строк, sha256 {p['sha256']})" for p in self.ds.provenance())
        params = ", ".join(f"{k}={v}" for k, v in self.parameters.items() if k not in ("dataset", "cache", "templates"))
        notes = "".join(f"<br>Примечание: {esc(plain(self.meth, n))}" for n in self.ds.notes)
        changed = self.meth.describe_overrides()
        overrides = f"{esc(changed)}<br>" if changed else ""   # the region's overlay: which keys it changes
        display_html(
            f'<div class="shnor-footer">{overrides}{notes}'
            f'<details><summary>Сведения о расчёте</summary>'
            f'Источник данных: {esc(files)}<br>'
            f'Методика: версия {esc(self.meth.version)}<br>'
            f'Шаблон: {esc(self.template)}; параметры: {esc(params)}<br>'
            f'Сформирован: {self.started:%Y-%m-%d %H:%M:%S}</details></div>')


_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_BLANKS = re.compile(r"\s*\n\s*")


def svg_of(fig) -> str:
    """A matplotlib figure as an inline `<svg>` element: text as text (the theme sets `svg.fonttype`
    none: DejaVu Sans, else Verdana), no XML prolog, metadata or indentation; the same bytes for the
    same figure (`svg.hashsalt`). No raster is drawn or compressed, and the size is the figure's own
    (the layout is fixed when the chart is built, no tight-bbox search here)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = _METADATA.sub("", _PROLOG.sub("", buf.getvalue(), count=1), count=1)
    svg = _PNG.sub(lambda m: m.group(1) + _small_png(m.group(2)), svg)
    svg = _GEOMETRY.sub(lambda m: f'{m.group(1)}="{_DECIMALS.sub(_tenth, m.group(2))}"', svg)
    return _BLANKS.sub(" ", svg).replace("> <", "><").strip()


# coordinates of paths, points and placements to a tenth of a point (≈ 0.13 px on screen, nothing a
# reader can see): matplotlib writes up to six digits, a tenth of a chart's bytes
_GEOMETRY = re.compile(r'\b(d|points|transform|x|y|x1|x2|y1|y2)="([^"]*)"')   # not the figure's own size
_DECIMALS = re.compile(r"-?\d+\.\d{2,}")


def _tenth(m) -> str:
    text = f"{float(m.group(0)):.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


_PNG = re.compile(r'(data:image/png;base64,)([A-Za-z0-9+/=\s]+)')
PNG_COLOURS = 64


def _small_png(data: str) -> str:
    """An image embedded in a chart (the points of a large funnel, drawn as one picture) with at most
    `PNG_COLOURS` colours: a few grey and coloured dots need no more, and the picture is 3–4 times
    smaller (20 KB → 5.5 KB at 1,000 schools; zlib level 6: 4 times faster than the smallest encoding, 5 % larger).
    Transparency is kept."""
    from PIL import Image   # Pillow comes with matplotlib; only charts with an embedded picture use it

    img = Image.open(io.BytesIO(base64.b64decode(data)))
    out = io.BytesIO()
    img.convert("RGBA").quantize(colors=PNG_COLOURS, method=Image.Quantize.FASTOCTREE).save(out, format="PNG", compress_level=6)
    return base64.b64encode(out.getvalue()).decode("ascii")


NUM = ' class="num"'


def _is_blank(v) -> bool:
    """An empty cell or a dash: no number, no word."""
    return v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() in ("", "—", "–", "-")


def _is_numberlike(v) -> bool:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return True
    s = str(v).replace(" ", "").replace(",", "").replace("%", "").replace("−", "").replace("+", "").replace("-", "")
    return s.isdigit()


def _group_positions(index: dict, keys) -> np.ndarray:
    """Row positions of the groups `keys` of a `groupby(...).indices` index, in table order."""
    pos = [index[k] for k in keys if k in index]
    return np.sort(np.concatenate(pos)) if pos else np.zeros(0, dtype=np.int64)


def _take_groups(frame: pd.DataFrame, index: dict, keys) -> pd.DataFrame:
    """Rows of `frame` in the groups `keys` of a `groupby(...).indices` index, in table order."""
    return frame.take(_group_positions(index, keys))


def indicator_years(indicators: pd.DataFrame) -> list:
    """Every year with a row in the indicator table."""
    return sorted(int(y) for y in indicators["year"].dropna().unique())


def known_years(indicators: pd.DataFrame) -> list:
    """Years of the indicator table; forecast rows (the ШНОР list of the year after the data) and their
    dynamics rows do not choose the default year."""
    if not len(indicators):
        return []
    # a dynamics row (`…_dd`) compares a year with the one before: of a forecast year it is no data;
    # masks only, no copy of a region's table (millions of rows)
    known = (indicators["flag"].ne("forecast").fillna(True).to_numpy(dtype=bool)
             & ~indicators["indicator_id"].astype("string").str.endswith("_dd").fillna(False).to_numpy(dtype=bool))
    return sorted(indicators["year"][known].dropna().unique().tolist())


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


_OF_INDICATORS: dict = {}


def _of_indicators(meth: Methodology, indicators: pd.DataFrame, key: tuple, compute):
    """Memo of `Report.of_indicators`: tied to one (methodology, shared indicator table) by identity."""
    owner = _OF_INDICATORS.get("__owner__")
    if owner is None or owner[0] != meth.digest or owner[1] is not indicators:
        _OF_INDICATORS.clear()
        _OF_INDICATORS["__owner__"] = (meth.digest, indicators)
    if key not in _OF_INDICATORS:
        _OF_INDICATORS[key] = compute()
    return _OF_INDICATORS[key]


def clear_derived(keep_indicators: bool = False) -> None:
    """Forget every region-wide frame of `Report.derived` (a new dataset or partition is being loaded)
    and, unless the same indicator table stays (`keep_indicators`), those of `Report.of_indicators`."""
    _DERIVED.clear()
    if not keep_indicators:
        _OF_INDICATORS.clear()
