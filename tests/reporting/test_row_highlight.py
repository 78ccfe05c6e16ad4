"""Highlighted rows (`shnor-flag`, `shnor-ok`) must win over JupyterLab's zebra rule
`.jp-RenderedHTMLCommon tbody tr:nth-child(odd)` in the rendered report (HTML and PDF)."""
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from shnor_utils.reporting.html import STYLE

ZEBRA = ".jp-RenderedHTMLCommon tbody tr:nth-child(odd)"
CHROMIUM = "/usr/bin/chromium"


def specificity(selector: str) -> tuple[int, int, int]:
    """CSS specificity (ids, classes/attributes/pseudo-classes, types) of a simple selector chain."""
    s = re.sub(r"::[\w-]+", " ", selector)
    ids = len(re.findall(r"#[\w-]+", s))
    classes = len(re.findall(r"\.[\w-]+", s)) + len(re.findall(r"\[[^\]]*\]", s)) + len(re.findall(r":[\w-]+(\([^)]*\))?", s))
    s = re.sub(r"#[\w-]+|\.[\w-]+|\[[^\]]*\]|:[\w-]+(\([^)]*\))?", " ", s)
    types = len([t for t in re.split(r"[\s>+~]+", s) if t and t != "*"])
    return ids, classes, types


def test_specificity_helper():
    assert specificity(ZEBRA) == (0, 2, 2)
    assert specificity(".shnor-flag") == (0, 1, 0)


def _rules(css: str) -> list[tuple[str, str]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return [(sel.strip(), body) for sels, body in re.findall(r"([^{}]+)\{([^}]*)\}", css) for sel in sels.split(",")]


@pytest.mark.parametrize("cls", ["shnor-flag", "shnor-ok"])
def test_style_outweighs_the_zebra_rule(cls):
    css = STYLE.replace("<style>", "").replace("</style>", "")
    winning = [sel for sel, body in _rules(css)
               if sel.endswith(f"tr.{cls}") or re.search(rf"tr\.{cls}:[\w-]+\([^)]*\)$", sel)
               if "background" in body and specificity(sel) > specificity(ZEBRA)]
    assert winning, f"no rule for tr.{cls} outweighs {ZEBRA}"


def _rendered_report(tmp_path: Path) -> Path:
    from shnor_utils.batch.render import to_html
    rows = "".join(f'<tr class="{c}"><td>строка {i}</td></tr>' for i, c in enumerate(["shnor-flag", "shnor-ok", "", "shnor-flag"]))
    markup = f'{STYLE}<table class="shnor-table"><thead><tr><th>Школа</th></tr></thead><tbody>{rows}</tbody></table>'
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("rep.table(...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": markup})]
    nb.cells = [cell]
    probe = """<script>window.addEventListener('load', function(){
      var out = []; document.querySelectorAll('table.shnor-table tbody tr').forEach(function(r){
        out.push((r.className || '-') + '=' + getComputedStyle(r).backgroundColor); });
      var p = document.createElement('pre'); p.id = 'probe'; p.textContent = out.join('|'); document.body.appendChild(p);});
    </script>"""
    html = to_html(nb, "проба").replace("</body>", probe + "</body>")
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_rendered_report_has_our_rules_and_no_zebra(tmp_path):
    html = _rendered_report(tmp_path).read_text(encoding="utf-8")
    assert not re.search(r"tr:nth-child\(odd\)\s*\{", html)   # the JupyterLab theme is no longer inlined
    assert ".shnor-table tr.shnor-flag" in html                  # our stylesheet (report.css) is


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"headless Chromium ({CHROMIUM}) is not installed")
def test_chromium_computes_the_highlight(tmp_path):
    path = _rendered_report(tmp_path)
    res = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000",
                          "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">([^<]*)</pre>', res.stdout)
    assert found, res.stderr[-2000:]
    colours = dict(enumerate(item.split("=", 1) for item in found.group(1).split("|")))
    assert colours[0] == ["shnor-flag", "rgb(253, 224, 197)"]    # #fde0c5, an odd (zebra) row
    assert colours[1] == ["shnor-ok", "rgb(227, 243, 232)"]      # #e3f3e8
    assert colours[3] == ["shnor-flag", "rgb(253, 224, 197)"]
    assert colours[2][1] != "rgb(253, 224, 197)"


def test_a_column_is_aligned_as_one(monkeypatch):
    # numbers right with their header; a column mixing numbers and words («0», «нет») left, every cell of it,
    # so that no number sits under the next column's header (the passport's status table by year)
    import pandas as pd

    from shnor_utils.methodology import load_methodology
    from shnor_utils.reporting import report as R

    shown = []
    monkeypatch.setattr(R, "display_html", shown.append)
    rep = R.Report.__new__(R.Report)
    rep.meth = load_methodology()
    monkeypatch.setattr(R.Report, "_entity_marks", lambda self, frame: {})
    frame = pd.DataFrame({"Показатель": ["Процедур", "Школа риска"], "2025": ["2", "нет"], "n": ["115", "—"],
                          "Средний балл": ["24,3", "7,1"]})
    rep.table(frame, "проба")
    page = "".join(shown)
    heads = re.findall(r"<th([^>]*)>([^<]*)</th>", page)
    assert heads == [("", "Показатель"), ("", "2025"), (' class="num"', "n"), (' class="num"', "Средний балл")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.split("<tbody>")[1])
    cells = [re.findall(r"<td([^>]*)>([^<]*)</td>", r) for r in rows]
    assert cells[0] == [("", "Процедур"), ("", "2"), (' class="num"', "115"), (' class="num"', "24,3")]
    assert cells[1] == [("", "Школа риска"), ("", "нет"), (' class="num"', "—"), (' class="num"', "7,1")]
    assert ".shnor-table th.num{text-align:right" in STYLE
