"""Navigation of a batch's reports, added when a report's HTML is rendered (render.write_html):

- a bar at the top: back to the index, the same entity's other reports, the municipality's and the
  region's report, «Что изменилось»;
- school names in tables of municipality and region reports (cells `Report.table` marks with
  `data-shnor-school` / `data-shnor-mun`) become links to those schools' (municipalities') reports;
- a table of contents («Содержание») under the title of a long report (≥ TOC_MIN_SECTIONS sections).

Every link target is a report path of the batch's plan (`Run.html`, the batch's own injective output
names), written relative to the report, so the output folder can be moved or opened from disk. A
notebook run by hand in JupyterLab gets none of this: the marked cells stay plain text, no link breaks.
"""
from __future__ import annotations

import html as _html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from shnor_utils.reporting.html import esc

TOC_MIN_SECTIONS = 4            # a report with fewer second-level sections gets no table of contents
CHANGES_PAGE = "changes.html"   # the digest (batch/changes.py), next to index.html

STYLE = """<style>
.shnor-nav{font:0.9em 'DejaVu Sans',Arial,sans-serif;background:#eef2f7;border-bottom:1px solid #c8d2de;padding:0.4em 24px;
 display:flex;flex-wrap:wrap;gap:0.2em 1em;max-width:1100px;margin:0 auto;box-sizing:border-box}
.shnor-nav a{color:#0645ad}.shnor-nav .here{font-weight:bold}
.shnor-toc{background:#f7f9fb;border-left:4px solid #9fb3c8;padding:0.3em 1em;margin:0.5em 0 1em}
.shnor-toc ol{margin:0.3em 0;padding-left:1.5em}
@media print{.shnor-nav,.shnor-toc{display:none}}   /* paper: no links to follow, no page numbers */
</style>"""

_H2 = re.compile(r"<h2(\s[^>]*)?>(.*?)</h2>", re.S)
_ID = re.compile(r'\sid="([^"]*)"')
_TITLE_BLOCK = re.compile(r'<div class="shnor-title">.*?</div>', re.S)
_CELL = re.compile(r'<td data-shnor-(school|mun)="([^"]*)">(.*?)</td>', re.S)
_BODY = re.compile(r"<body[^>]*>")


@dataclass
class NavMap:
    """The reports of a batch: {(scope, entity_id): [(template, title, html path)]} in plan order,
    the index page and the entities' names. Plain data: pickled to Dask workers with the run."""
    output: str
    reports: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)

    @classmethod
    def of(cls, runs, output) -> "NavMap":
        nav = cls(str(Path(output).resolve()))
        for r in runs:
            nav.reports.setdefault((r.scope, str(r.entity_id)), []).append((r.template, r.title, str(r.html)))
            nav.names[(r.scope, str(r.entity_id))] = r.entity_name
        return nav

    def target(self, scope: str, entity_id, template: str) -> str | None:
        """The report of an entity a link goes to: the same template's, else its first one."""
        found = self.reports.get((scope, str(entity_id))) or []
        for t, _title, path in found:
            if t == template:
                return path
        return found[0][2] if found else None

    def inject(self, body: str, run) -> str:
        """The rendered HTML of `run` with the navigation bar, linked names and the contents."""
        here = Path(run.html).parent

        def rel(path) -> str:
            return os.path.relpath(path, here).replace(os.sep, "/")

        body = self._link_cells(body, run, rel)
        body = add_toc(body)
        bar = self.bar(run, rel)
        # the page's own <body>, after its <head>: the stylesheet in the head may mention «<body» in a comment
        head = body.find("</head>")
        m = _BODY.search(body, head if head >= 0 else 0)
        at = m.end() if m else 0
        return body[:at] + STYLE + bar + body[at:]

    def bar(self, run, rel) -> str:
        items = [f'<a href="{esc(rel(Path(self.output) / "index.html"))}">← Оглавление</a>']
        own = self.reports.get((run.scope, str(run.entity_id))) or []
        if len(own) > 1:
            links = [f'<span class="here">{esc(title)}</span>' if t == run.template
                     else f'<a href="{esc(rel(path))}">{esc(title)}</a>' for t, title, path in own]
            who = {"school": "Отчёты школы", "municipality": "Отчёты муниципалитета", "region": "Отчёты региона"}[run.scope]
            items.append(f"{who}: " + " · ".join(links))
        if run.scope == "school" and run.municipality_id is not None:
            path = self.target("municipality", run.municipality_id, run.template)
            if path:
                items.append(f'<a href="{esc(rel(path))}">Муниципалитет: {esc(run.municipality_name)}</a>')
        if run.scope in ("school", "municipality"):
            path = self.target("region", "region", run.template)
            if path:
                items.append(f'<a href="{esc(rel(path))}">Регион: {esc(self.names.get(("region", "region"), ""))}</a>')
        items.append(f'<a href="{esc(rel(Path(self.output) / CHANGES_PAGE))}">Что изменилось</a>')
        return '<nav class="shnor-nav">' + "".join(f"<span>{i}</span>" for i in items) + "</nav>"

    def _link_cells(self, body: str, run, rel) -> str:
        def link(m: re.Match) -> str:
            kind, key, text = m.group(1), _html.unescape(m.group(2)), m.group(3)
            scope = "school" if kind == "school" else "municipality"
            path = self.target(scope, key, run.template)
            if not path:
                return m.group(0)
            return f'<td data-shnor-{kind}="{m.group(2)}"><a href="{esc(rel(path))}">{text}</a></td>'
        return _CELL.sub(link, body)


def add_toc(body: str) -> str:
    """Anchors on every second-level heading and, when there are at least TOC_MIN_SECTIONS of them,
    «Содержание» (a numbered list of links) right after the report's title block."""
    sections: list[tuple[str, str]] = []

    def anchor(m: re.Match) -> str:
        attrs, inner = m.group(1) or "", m.group(2)
        found = _ID.search(attrs)
        ident = _html.unescape(found.group(1)) if found else f"section-{len(sections) + 1}"
        text = re.sub(r"<[^>]+>", "", inner).replace("¶", "").strip()
        sections.append((ident, _html.unescape(text)))
        return m.group(0) if found else f'<h2 id="{ident}"{attrs}>{inner}</h2>'

    body = _H2.sub(anchor, body)
    if len(sections) < TOC_MIN_SECTIONS:
        return body
    items = "".join(f'<li><a href="#{esc(i)}">{esc(t)}</a></li>' for i, t in sections)
    toc = f'<div class="shnor-toc"><strong>Содержание</strong><ol>{items}</ol></div>'
    m = _TITLE_BLOCK.search(body)
    if m:
        return body[:m.end()] + toc + body[m.end():]
    m = _H2.search(body)
    at = m.start() if m else len(body)
    return body[:at] + toc + body[at:]
