"""`output/index.html`: every report with its status and the main flags per school, filterable
offline (a few lines of inline JavaScript, no CDN), and the methodology keys a regional overlay
changes. The flags and their names are given by the caller (publish.py, from the Analysis specs)."""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

from shnor_utils.reporting.html import esc
from shnor_utils.safeio import atomic_write_text

SCRIPT = """<script>
function shnorFilter(){var q=document.getElementById('q').value.toLowerCase();
var f=document.getElementById('flagged').checked;var m=document.getElementById('mun').value;
document.querySelectorAll('tr.school').forEach(function(r){
 var ok=r.dataset.text.indexOf(q)>=0&&(!f||r.dataset.flags!=='')&&(m===''||r.dataset.mun===m);
 r.style.display=ok?'':'none';});
document.querySelectorAll('section.mun').forEach(function(s){
 s.style.display=(m===''||s.dataset.mun===m)?'':'none';});}
</script>"""

STYLE = """<style>body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1em}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7}.id{color:#888;font-size:0.85em}.fail{color:#b00}.meta{color:#555}
.flag{display:inline-block;background:#fde0c5;border-radius:3px;padding:0 4px;margin:1px;font-size:0.85em}
.controls{position:sticky;top:0;background:#fff;padding:0.5em 0;border-bottom:1px solid #ccc}
.controls input,.controls select{margin-right:1em;font-size:1em}
.overrides{background:#fff7e0;border-left:4px solid #e0a000;padding:0.4em 0.8em}</style>"""


def overrides_block(sentence: str) -> str:
    """The region's methodology changes (`Methodology.describe_overrides()`: «Региональные изменения
    методики (папка): ключ = значение (источник); …», the same words as every report's footer),
    escaped; empty without an overlay."""
    return f'<p class="overrides">{esc(sentence)}</p>' if sentence else ""


def write_index(output: Path, *, title: str, region_name: str, runs: list, outcomes: dict,
                school_flags: dict, overrides: str = "") -> Path:
    """`outcomes[run_id]` = {'ok': bool, 'error': str}; `school_flags[school_id]` = list of flag texts;
    `overrides` = the sentence naming what a regional overlay changes (`Methodology.describe_overrides()`)."""
    def link(run) -> str:
        res = outcomes.get(run.run_id) or {}
        if not res.get("ok"):
            return f'<span class="fail" title="{esc(res.get("error", "не выполнен"))}">{esc(run.title)} — ошибка</span>'
        rel = run.html.relative_to(output).as_posix()
        pdf = run.html.with_suffix(".pdf")
        extra = f' (<a href="{esc(pdf.relative_to(output).as_posix())}">PDF</a>)' if pdf.exists() else ""
        return f'<a href="{esc(rel)}">{esc(run.title)}</a>{extra}'

    region = [r for r in runs if r.scope == "region"]
    muns: dict = {}
    for r in runs:
        if r.scope != "region":
            muns.setdefault((r.municipality_id, r.municipality_name), []).append(r)
    failed = sum(1 for r in runs if not (outcomes.get(r.run_id) or {}).get("ok"))
    options = "".join(f'<option value="{esc(mid)}">{esc(mname)}</option>' for (mid, mname) in sorted(muns, key=lambda k: str(k[1])))
    parts = [f"<h1>{esc(title)}</h1>",
             f'<p class="meta">{esc(region_name)} · сформировано {_dt.datetime.now():%Y-%m-%d %H:%M} · '
             f'отчётов: {len(runs)}, с ошибкой: {failed}</p>',
             overrides_block(overrides),
             '<div class="controls"><input id="q" type="search" placeholder="Поиск школы или кода" oninput="shnorFilter()">'
             f'<select id="mun" onchange="shnorFilter()"><option value="">Все муниципалитеты</option>{options}</select>'
             '<label><input id="flagged" type="checkbox" onchange="shnorFilter()"> только школы с флагами</label></div>']
    if region:
        parts.append("<h2>Регион</h2><p>" + " · ".join(link(r) for r in region) + "</p>")
    for (mid, mname), items in sorted(muns.items(), key=lambda kv: str(kv[0][1])):
        body = [f'<section class="mun" data-mun="{esc(mid)}"><h2>{esc(mname)} <span class="id">{esc(mid)}</span></h2>']
        mun_links = " · ".join(link(r) for r in items if r.scope == "municipality")
        if mun_links:
            body.append(f"<p>Муниципальные отчёты: {mun_links}</p>")
        schools: dict = {}
        for r in items:
            if r.scope == "school":
                schools.setdefault((r.entity_id, r.entity_name), []).append(r)
        if schools:
            rows = []
            for (sid, name), rs in sorted(schools.items(), key=lambda kv: kv[0][1]):
                flags = school_flags.get(sid, [])
                chips = "".join(f'<span class="flag">{esc(f)}</span>' for f in flags)
                text = f"{name} {sid}".lower()
                rows.append(f'<tr class="school" data-text="{esc(text)}" data-mun="{esc(mid)}" data-flags="{esc(";".join(flags))}">'
                            f"<td>{esc(name)}<div class='id'>{esc(sid)}</div></td><td>{chips}</td>"
                            f"<td>{' · '.join(link(r) for r in rs)}</td></tr>")
            body.append("<table><thead><tr><th>Школа</th><th>Главные флаги</th><th>Отчёты</th></tr></thead>"
                        f"<tbody>{''.join(rows)}</tbody></table>")
        body.append("</section>")
        parts.append("".join(body))
    page = (f'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>{esc(title)}</title>{STYLE}{SCRIPT}</head>'
            f"<body>{''.join(parts)}</body></html>")
    return atomic_write_text(Path(output) / "index.html", page)
