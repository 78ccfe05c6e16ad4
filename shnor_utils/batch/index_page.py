"""`output/index.html`: every report with its status and the main flags per school, filterable
offline (a few lines of inline JavaScript, no CDN), and the methodology keys a regional overlay
changes. The flags and their names are given by the caller (publish.py, from the Analysis specs)."""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

from shnor_utils.reporting.html import esc, natural_key, plural
from shnor_utils.safeio import atomic_write_text

SCRIPT = """<script>
function shnorFilter(){var q=document.getElementById('q').value.toLowerCase();
var f=document.getElementById('flagged').checked;var m=document.getElementById('mun').value;
var k=document.getElementById('kind').value;var shown=0;
document.querySelectorAll('tr.school').forEach(function(r){
 var flags=r.dataset.flags===''?[]:r.dataset.flags.split(';');
 var ok=r.dataset.text.indexOf(q)>=0&&(!f||flags.length>0)&&(k===''||flags.indexOf(k)>=0)&&(m===''||r.dataset.mun===m);
 r.style.display=ok?'':'none';if(ok){shown++;}});
document.querySelectorAll('section.mun').forEach(function(s){
 var any=s.querySelectorAll('tr.school').length===0||Array.prototype.some.call(s.querySelectorAll('tr.school'),function(r){return r.style.display!=='none';});
 var filtering=q!==''||f||k!=='';
 s.style.display=((m===''||s.dataset.mun===m)&&(!filtering||any))?'':'none';});
var none=document.getElementById('nothing');none.style.display=shown===0&&document.querySelectorAll('tr.school').length>0?'':'none';}
</script>"""

STYLE = """<style>body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1em}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7}.id{color:#888;font-size:0.85em}.fail{color:#b00}.meta{color:#555}
.flag{display:inline-block;background:#fde0c5;border-radius:3px;padding:0 4px;margin:1px;font-size:0.85em}
.controls{position:sticky;top:0;background:#fff;padding:0.5em 0;border-bottom:1px solid #ccc}
.controls input,.controls select{margin-right:1em;font-size:1em}
.overrides{background:#fff7e0;border-left:4px solid #e0a000;padding:0.4em 0.8em}
.summary{display:flex;flex-wrap:wrap;gap:0.5em 1.5em;padding:0;list-style:none}.summary li{background:#eef2f7;padding:0.3em 0.6em;border-radius:3px}
#nothing{font-weight:bold;color:#555}
@media (max-width:600px){table{display:block;overflow-x:auto}.controls input,.controls select{margin-bottom:0.3em}}</style>"""


def overrides_block(sentence: str) -> str:
    """The region's methodology changes (`Methodology.describe_overrides()`: «Региональные изменения
    методики (папка): ключ = значение (источник); …», the same words as every report's footer),
    escaped; empty without an overlay."""
    return f'<p class="overrides">{esc(sentence)}</p>' if sentence else ""


def summary_block(school_flags: dict, n_schools: int, runs: list, failed: int, year: int | None) -> str:
    """Summary counts: schools, schools with flags (each flag kind with its count), reports, errors."""
    kinds: dict = {}
    for flags in school_flags.values():
        for f in flags:
            kinds[f] = kinds.get(f, 0) + 1
    flagged = sum(1 for f in school_flags.values() if f)
    of_year = f" в {year} г." if year is not None else ""
    items = [f"{n_schools} {plural(n_schools, 'школа', 'школы', 'школ')}",
             f"с флагами{of_year}: {flagged} {plural(flagged, 'школа', 'школы', 'школ')}"]
    items += [f"{esc(k)}: {n}" for k, n in kinds.items()]
    items.append(f"{len(runs)} {plural(len(runs), 'отчёт', 'отчёта', 'отчётов')}, с ошибкой: {failed}")
    return '<ul class="summary">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def write_index(output: Path, *, title: str, region_name: str, runs: list, outcomes: dict,
                school_flags: dict, overrides: str = "", year: int | None = None,
                workbook: str | None = None) -> Path:
    """`outcomes[run_id]` = {'ok': bool, 'error': str}; `school_flags[school_id]` = list of flag texts
    (of the batch `year`, stated on the page); `overrides` = the sentence naming what a regional overlay
    changes (`Methodology.describe_overrides()`); `workbook` = the Excel file's path relative to the
    index, linked when given."""
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
    school_ids = {r.entity_id for r in runs if r.scope == "school"}
    shown_flags = {sid: f for sid, f in school_flags.items() if sid in school_ids} if school_ids else school_flags
    kinds = list(dict.fromkeys(f for flags in shown_flags.values() for f in flags))
    by_name = sorted(muns, key=lambda k: natural_key(k[1]))
    options = "".join(f'<option value="{esc(mid)}">{esc(mname)}</option>' for (mid, mname) in by_name)
    kind_options = "".join(f'<option value="{esc(k)}">{esc(k)}</option>' for k in kinds)
    of_year = f"{year} г." if year is not None else "последний год данных"
    excel = f' · <a href="{esc(workbook)}">таблица показателей (Excel)</a>' if workbook else ""
    if (Path(output) / "changes.html").exists():   # the digest (batch/changes.py), written before the index
        excel += ' · <a href="changes.html">что изменилось</a>'

    parts = [f"<h1>{esc(title)}</h1>",
             f'<p class="meta">{esc(region_name)} · флаги школ за {esc(of_year)} · сформировано '
             f'{_dt.datetime.now():%d.%m.%Y %H:%M}{excel}</p>',
             summary_block(shown_flags, len(school_ids), runs, failed, year),
             overrides_block(overrides),
             '<div class="controls"><input id="q" type="search" placeholder="Поиск школы или кода" oninput="shnorFilter()">'
             f'<select id="mun" onchange="shnorFilter()"><option value="">Все муниципалитеты</option>{options}</select>'
             f'<select id="kind" onchange="shnorFilter()"><option value="">Любой флаг</option>{kind_options}</select>'
             '<label><input id="flagged" type="checkbox" onchange="shnorFilter()"> только школы с флагами</label></div>',
             '<p id="nothing" style="display:none">Ничего не найдено.</p>']
    if region:
        parts.append("<h2>Регион</h2><p>" + " · ".join(link(r) for r in region) + "</p>")
    for (mid, mname) in by_name:
        items = muns[(mid, mname)]
        body = [f'<section class="mun" data-mun="{esc(mid)}"><h2>{esc(mname)}</h2>']
        mun_links = " · ".join(link(r) for r in items if r.scope == "municipality")
        if mun_links:
            body.append(f"<p>Муниципальные отчёты: {mun_links}</p>")
        schools: dict = {}
        for r in items:
            if r.scope == "school":
                schools.setdefault((r.entity_id, r.entity_name), []).append(r)
        if schools:
            rows = []
            for (sid, name), rs in sorted(schools.items(), key=lambda kv: natural_key(kv[0][1])):
                flags = school_flags.get(sid, [])
                chips = "".join(f'<span class="flag">{esc(f)}</span>' for f in flags)
                text = f"{name} {sid}".lower()
                rows.append(f'<tr class="school" data-text="{esc(text)}" data-mun="{esc(mid)}" data-flags="{esc(";".join(flags))}">'
                            f"<td>{esc(name)}<div class='id'>{esc(sid)}</div></td><td>{chips}</td>"
                            f"<td>{' · '.join(link(r) for r in rs)}</td></tr>")
            body.append(f"<table><thead><tr><th>Школа</th><th>Флаги {esc(of_year)}</th><th>Отчёты</th></tr></thead>"
                        f"<tbody>{''.join(rows)}</tbody></table>")
        body.append("</section>")
        parts.append("".join(body))
    page = (f'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{esc(title)}</title>{STYLE}{SCRIPT}</head>'
            f"<body>{''.join(parts)}</body></html>")
    return atomic_write_text(Path(output) / "index.html", page)
