"""The index page: year of its flags, summary counts, the workbook link, natural sort, flag-kind
filter, «Ничего не найдено», viewport (issue 14, points 1 and 5)."""
import re
import subprocess
from types import SimpleNamespace

import pytest

from shnor_utils.batch.index_page import write_index
from shnor_utils.reporting.html import natural_key

from tests.browser.cdp import find_chromium

CHROMIUM = find_chromium()


def _run(output, scope, entity_id, entity_name, mid="m1", mname="Район"):
    html = output / f"{scope}_{entity_id}.html"
    html.write_text("<p>отчёт</p>", encoding="utf-8")
    return SimpleNamespace(run_id=f"{scope}:{entity_id}", scope=scope, entity_id=entity_id, entity_name=entity_name,
                           municipality_id=mid, municipality_name=mname, html=html, title=f"Отчёт {entity_name}")


@pytest.fixture
def page(tmp_path):
    runs = [_run(tmp_path, "school", "s12", "СОШ № 12"), _run(tmp_path, "school", "s3", "СОШ № 3"),
            _run(tmp_path, "school", "s25", "СОШ № 25"), _run(tmp_path, "municipality", "m1", "Район"),
            _run(tmp_path, "school", "s1", "Гимназия № 1", "m2", "Город")]
    outcomes = {r.run_id: {"ok": True} for r in runs}
    flags = {"s12": ["завышенные отметки в журнале"], "s25": ["ШНОР", "завышенные отметки в журнале"], "s3": []}
    path = write_index(tmp_path, title="Отчёты", region_name="Область", runs=runs, outcomes=outcomes,
                       school_flags=flags, year=2026, workbook="indicators.xlsx")
    return path


def test_natural_key():
    names = ["СОШ № 12", "СОШ № 3", "СОШ № 25", "Гимназия"]
    assert sorted(names, key=natural_key) == ["Гимназия", "СОШ № 3", "СОШ № 12", "СОШ № 25"]


def test_index_states_year_counts_workbook_viewport(page):
    html = page.read_text(encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "флаги школ за 2026 г." in html
    assert '<a href="indicators.xlsx">' in html
    assert "<li>4 школы</li>" in html
    assert "<li>с флагами в 2026 г.: 2 школы</li>" in html
    assert "<li>завышенные отметки в журнале: 2</li>" in html and "<li>ШНОР: 1</li>" in html
    assert "<li>5 отчётов, с ошибкой: 0</li>" in html
    assert 'id="nothing"' in html and "Ничего не найдено." in html


def test_index_links_the_digest_when_written(tmp_path, page):
    assert "changes.html" not in page.read_text(encoding="utf-8")
    (tmp_path / "changes.html").write_text("digest", encoding="utf-8")
    again = write_index(tmp_path, title="Отчёты", region_name="Область", runs=[], outcomes={}, school_flags={}, year=2026)
    assert '<a href="changes.html">что изменилось</a>' in again.read_text(encoding="utf-8")


def test_index_sorts_schools_naturally_and_filters_by_kind(page):
    html = page.read_text(encoding="utf-8")
    order = [m.group(1) for m in re.finditer(r"<td>(СОШ № \d+)<div", html)]
    assert order == ["СОШ № 3", "СОШ № 12", "СОШ № 25"]
    kinds = re.search(r'<select id="kind"[^>]*>(.*?)</select>', html).group(1)
    assert '<option value="завышенные отметки в журнале">' in kinds and '<option value="ШНОР">' in kinds
    assert html.index("Город") < html.index("Район")   # municipalities by name


def _browse(page, action: str) -> str:
    probe = ("<script>window.addEventListener('load',function(){" + action +
             ";var out=[];document.querySelectorAll('tr.school').forEach(function(r){if(r.style.display!=='none'){"
             "out.push(r.querySelector('td').firstChild.textContent);}});"
             "document.querySelectorAll('section.mun').forEach(function(s){if(s.style.display!=='none'){out.push('§'+s.dataset.mun);}});"
             "out.push('nothing='+(document.getElementById('nothing').style.display!=='none'));"
             "var p=document.createElement('pre');p.id='probe';p.textContent=out.join('|');document.body.appendChild(p);});</script>")
    html = page.read_text(encoding="utf-8").replace("</body>", probe + "</body>")
    page.write_text(html, encoding="utf-8")
    res = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">([^<]*)</pre>', res.stdout)
    assert found, res.stderr[-2000:]
    return found.group(1)


@pytest.mark.skipif(CHROMIUM is None, reason="нет Chromium (Debian-пакет chromium; `make test` ставит его сам)")
def test_browser_search_without_result_says_nothing_found(page):
    seen = _browse(page, "document.getElementById('q').value='лицей';shnorFilter()")
    assert seen == "nothing=true"       # no school row, no empty municipality section


@pytest.mark.skipif(CHROMIUM is None, reason="нет Chromium (Debian-пакет chromium; `make test` ставит его сам)")
def test_browser_filter_by_flag_kind(page):
    seen = _browse(page, "var k=document.getElementById('kind');k.value='завышенные отметки в журнале';shnorFilter()")
    assert seen == "СОШ № 12|СОШ № 25|§m1|nothing=false"
