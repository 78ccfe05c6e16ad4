"""Word (`shnor run … --docx`): a .docx opens with python-docx and holds the report's tables (the same cell
texts as the HTML tables), its headings and charts, on A4, in Russian styles, without code."""
from __future__ import annotations

import base64
import io
from pathlib import Path
from types import SimpleNamespace

import docx
import nbformat
import pytest
from bs4 import BeautifulSoup
from docx.shared import Cm, Pt
from nbformat.v4 import new_code_cell, new_notebook, new_output

from shnor_utils.batch.render import to_html
from shnor_utils.batch.word import notebook_docx, render_docx
from shnor_utils.cli import build_parser

REFERENCE = Path(__file__).resolve().parents[1] / "reference_runs"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def open_docx(data: bytes):
    return docx.Document(io.BytesIO(data))


def html_tables(html: str) -> list[list[list[str]]]:
    soup = BeautifulSoup(html, "html.parser")
    return [[[" ".join(c.get_text(" ").split()) for c in tr.find_all(["th", "td"], recursive=False)]
             for tr in t.find_all("tr")] for t in soup.select("table.shnor-table")]


def docx_tables(document) -> list[list[list[str]]]:
    return [[[" ".join(c.text.split()) for c in row.cells] for row in t.rows] for t in document.tables]


def png(width=40, height=20) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(width / 10, height / 10), dpi=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["gia_results__school", "shnor_selection__region", "school_passport__school"])
def test_reference_report_as_word(name):
    nb = nbformat.read(REFERENCE / f"{name}.ipynb", as_version=4)
    document = open_docx(notebook_docx(nb, "Отчёт"))
    html = to_html(nb, "Отчёт")
    # the same tables, cell by cell, as the HTML report shows
    assert docx_tables(document) == html_tables(html)
    assert len(document.tables) >= 1
    # every heading of the HTML is a Word heading, in order
    soup = BeautifulSoup(html, "html.parser")
    headings = [" ".join(h.get_text(" ").split()) for h in soup.select("h1, h2, h3")
                if h.find_parent(class_="jp-OutputArea") is not None or h.find_parent(class_="jp-RenderedHTMLCommon") is not None]
    word_headings = [" ".join(p.text.split()) for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert headings and word_headings[:len(headings)] == headings
    # every chart of the notebook is an image of the document
    charts = sum(bool({"image/png", "image/svg+xml"} & set(o.get("data", {})))
                 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert len(document.inline_shapes) == charts
    assert all(shape.width <= Cm(21 - 3 - 1.5) + 10 for shape in document.inline_shapes)
    # the report's visible content only: no code, no download controls
    text = "\n".join(p.text for p in document.paragraphs)
    assert "open_report" not in text and "rep." not in text and "Скачать таблицу" not in text
    # provenance only as the short final section
    titles = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    if "Сведения о расчёте" in titles:
        assert titles[-1] == "Сведения о расчёте"


def test_page_fonts_and_sizes():
    nb = nbformat.read(REFERENCE / "gia_results__school.ipynb", as_version=4)
    document = open_docx(notebook_docx(nb, "Отчёт"))
    section = document.sections[0]
    assert abs(section.page_width - Cm(21.0)) < Cm(0.01) and abs(section.page_height - Cm(29.7)) < Cm(0.01)
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman" and Pt(12) <= normal.font.size <= Pt(14)
    fonts = normal.element.rPr.find(f"{W}rFonts")
    assert fonts.get(f"{W}hAnsi") == "Times New Roman" and fonts.get(f"{W}cs") == "Times New Roman"
    assert normal.element.rPr.find(f"{W}lang").get(f"{W}val") == "ru-RU"
    assert document.styles["Heading 1"].font.bold and document.styles["Heading 1"].font.size > normal.font.size
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    assert captions and sum(c.startswith("Таблица") for c in captions) >= len(captions) - 1   # the measures table is unnumbered
    # table text: never below 9 pt
    table_style = document.styles["Текст таблицы"]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                for p in cell.paragraphs:
                    assert p.style.name == "Текст таблицы"
                    for run in p.runs:
                        assert (run.font.size or table_style.font.size) >= Pt(9)


def hand_made() -> nbformat.NotebookNode:
    """A notebook with the outputs a template shows: title, a table with a flagged row, a school named like
    markup, a chart, the footer with its provenance block — and a code cell whose source must not appear."""
    html = (
        '<style>.x{}</style><div class="shnor-title"><h1>Проба, 2025 г.</h1><p class="shnor-sub">СОШ № 1 · МО</p></div>',
        '<div class="shnor-attention"><h2>На что обратить внимание</h2><ul><li class="shnor-flag"><span>⚠</span> '
        'Доля «2» высока.<div class="shnor-rule">Правило: выше региона</div></li></ul></div>',
        '<div class="shnor-caption">Таблица 1. Школы</div><table class="shnor-table"><thead><tr><th>Школа</th>'
        '<th>Доля</th></tr></thead><tbody><tr class="shnor-flag"><td>&lt;script&gt;СОШ&lt;/script&gt;</td>'
        '<td class="num">45,3 %</td></tr><tr><td>Лицей</td><td class="num">2,0 %</td></tr></tbody></table>'
        '<div class="shnor-download">Скачать таблицу: <a download="t.csv" href="data:text/csv;base64,">CSV</a></div>',
        '<div class="shnor-footer">Региональные изменения методики: нет<details><summary>Сведения о расчёте</summary>'
        'Источник данных: vpr.csv<br>Методика: версия 1</details></div>',
    )
    outputs = [new_output("display_data", data={"text/html": h, "text/plain": "<HTML>"}) for h in html]
    chart = new_output("display_data", data={"image/png": base64.b64encode(png()).decode(), "text/plain": "<Image>"},
                       metadata={"image/png": {"width": 300}})
    cells = [new_code_cell("rep = open_report(secret_code_here)", outputs=outputs[:3]),
             new_code_cell("rep.figure(fig)", outputs=[chart]),
             new_code_cell("rep.footer()", outputs=outputs[3:])]
    return new_notebook(cells=cells)


def test_hand_made_notebook():
    document = open_docx(notebook_docx(hand_made(), "Проба"))
    paras = [(p.style.name, p.text) for p in document.paragraphs if p.text]
    assert paras[0] == ("Title", "Проба, 2025 г.")
    assert ("Heading 1", "На что обратить внимание") in paras
    assert ("List Bullet", "Доля «2» высока.") in paras          # the icon left to Word's bullet
    assert ("Caption", "Таблица 1. Школы") in paras
    assert docx_tables(document) == [[["Школа", "Доля"], ["<script>СОШ</script>", "45,3 %"], ["Лицей", "2,0 %"]]]
    table = document.tables[0]
    fills = [[c._tc.tcPr.find(f"{W}shd").get(f"{W}fill") if c._tc.tcPr.find(f"{W}shd") is not None else None
              for c in row.cells] for row in table.rows]
    assert fills == [["EEF2F7", "EEF2F7"], ["FDE0C5", "FDE0C5"], [None, None]]   # header, flagged row, plain row
    assert table.rows[0]._tr.trPr.find(f"{W}tblHeader") is not None             # header repeats on each page
    assert table.rows[1].cells[1].paragraphs[0].alignment == 2                    # numbers right-aligned
    assert len(document.inline_shapes) == 1
    assert abs(document.inline_shapes[0].width - Cm(300 / 96 * 2.54)) < Cm(0.05)
    text = "\n".join(p.text for p in document.paragraphs)
    assert "secret_code_here" not in text and "Скачать" not in text and ".x{}" not in text
    headings = [t for s, t in paras if s.startswith("Heading")]
    assert headings[-1] == "Сведения о расчёте"
    assert paras[-2:] == [("Примечание", "Источник данных: vpr.csv"), ("Примечание", "Методика: версия 1")]


def test_render_docx_writes_next_to_the_html_and_only_when_stale(tmp_path):
    nbformat.write(hand_made(), tmp_path / "probe.ipynb")
    run = SimpleNamespace(notebook=tmp_path / "probe.ipynb", html=tmp_path / "out" / "probe.html", html_title="Проба")
    (tmp_path / "out").mkdir()
    assert render_docx([run], 1) == []
    path = tmp_path / "out" / "probe.docx"
    assert docx.Document(str(path)).tables
    stamp = path.stat().st_mtime_ns
    assert render_docx([run], 1) == [] and path.stat().st_mtime_ns == stamp   # up to date: not rewritten
    (tmp_path / "probe.ipynb").write_text("{не блокнот", encoding="utf-8")
    import os
    os.utime(tmp_path / "probe.ipynb", ns=(stamp + 10**9, stamp + 10**9))
    failures = render_docx([run], 1)
    assert len(failures) == 1 and failures[0][0] is run


def test_cli_accepts_docx():
    args = build_parser().parse_args(["run", "params/demo.yaml", "--docx"])
    assert args.docx is True
    assert build_parser().parse_args(["render", "params/demo.yaml", "--docx"]).docx is True
    assert build_parser().parse_args(["run", "params/demo.yaml"]).docx is False


def test_run_and_render_with_docx(region, capsys):
    """`shnor run --docx` writes a .docx next to every HTML report; `shnor render --docx` re-creates a
    deleted one from the executed notebook, without a kernel."""
    from tests.batch.probe import run

    params = region["params"](scopes=("school",))
    code, text = run(params, docx=True)
    assert code == 0, text
    reports = sorted(region["output"].rglob("probe.html"))
    words = [p.with_suffix(".docx") for p in reports]
    assert reports and all(w.exists() for w in words), text
    soup = BeautifulSoup(reports[0].read_text(encoding="utf-8"), "html.parser")
    visible = [" ".join(t.get_text(" ").split()) for t in soup.select(".jp-OutputArea p, .jp-OutputArea h1, .jp-OutputArea h2")]
    text = [p.text for p in docx.Document(str(words[0])).paragraphs]
    assert visible and all(v in text for v in visible), (visible, text)   # the probe's visible lines, in Word
    words[0].unlink()
    assert main_render(params) == 0
    out = capsys.readouterr().out
    assert "(HTML и Word)" in out, out
    assert words[0].exists()


def main_render(params) -> int:
    from shnor_utils.cli import main
    return main(["render", str(params), "--docx", "--workers", "1"])
