"""Word: a report as `.docx` for the «аналитическая справка» a methodologist assembles in Word.

Built from the executed notebook's outputs — the same HTML fragments and PNG charts the HTML report shows
(no code, no page chrome of the HTML template) — with python-docx: real Word tables (header row repeated on
every page, highlighted rows shaded), headings in Word's heading styles (so Word's navigation pane and table
of contents work), charts as images, captions as «Caption» paragraphs. A4 portrait, margins of Russian
office documents (left 3 cm, right 1.5 cm, top and bottom 2 cm), Times New Roman (PT Astra Serif and
Liberation Serif have the same metrics, so a Linux office shows the same pages), body 12 pt, table text
10 pt. The collapsed «Сведения о расчёте» block of the HTML becomes a short final section; the
«Скачать таблицу» lines are left out.

Reads only executed notebooks: `shnor render --docx` re-creates the Word files of a finished batch."""
from __future__ import annotations

import base64
import concurrent.futures as cf
import io
import re
from pathlib import Path

import nbformat

from shnor_utils.errors import ReportError
from shnor_utils.reporting.html import plural
from shnor_utils.safeio import atomic_write_bytes

FONT = "Times New Roman"
BODY_PT, SMALL_PT, TABLE_PT, CAPTION_PT = 12, 10, 10, 11
WIDE_TABLE_COLS, WIDE_TABLE_PT = 8, 9       # a table of 8 columns or more: 9 pt, the smallest allowed
HEADING_PT = {0: 16, 1: 15, 2: 14, 3: 13, 4: 12}
PAGE_CM = (21.0, 29.7)                      # A4
MARGINS_CM = {"left": 3.0, "right": 1.5, "top": 2.0, "bottom": 2.0}
FLAG_SHADE, OK_SHADE, HEAD_SHADE = "FDE0C5", "E3F3E8", "EEF2F7"
_SKIP_CLASSES = {"shnor-download"}          # HTML-only controls
_SKIP_TAGS = {"style", "script", "button", "input", "select", "nav"}


class DocxError(ReportError):
    """The Word file of a report was not produced."""


def _styles(doc) -> None:
    """Russian document styles: serif font for Latin and Cyrillic, sizes, black headings, Russian language."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    def font(style, size, bold=None, italic=None):
        style.font.name, style.font.size = FONT, Pt(size)
        style.font.color.rgb = RGBColor(0, 0, 0)
        if bold is not None:
            style.font.bold = bold
        if italic is not None:
            style.font.italic = italic
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attr), FONT)
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(attr), None)
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = rpr.makeelement(qn("w:lang"), {})
            rpr.append(lang)
        lang.set(qn("w:val"), "ru-RU")
        lang.set(qn("w:eastAsia"), "ru-RU")

    styles = doc.styles
    normal = styles["Normal"]
    font(normal, BODY_PT)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15
    for level, size in HEADING_PT.items():
        st = styles["Title" if level == 0 else f"Heading {level}"]
        font(st, size, bold=True, italic=False)
        st.paragraph_format.space_before = Pt(12 if level <= 2 else 8)
        st.paragraph_format.space_after = Pt(6)
        st.paragraph_format.keep_with_next = True
        if level == 0:
            st.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
            st.element.get_or_add_pPr()   # no bottom border line of the default «Title»
            border = st.element.pPr.find(qn("w:pBdr"))
            if border is not None:
                st.element.pPr.remove(border)
    cap = styles["Caption"]
    font(cap, CAPTION_PT, bold=True, italic=False)
    cap.paragraph_format.keep_with_next = True
    cap.paragraph_format.space_before = Pt(8)
    cap.paragraph_format.space_after = Pt(3)
    for name in ("List Bullet",):
        font(styles[name], BODY_PT)
    small = styles.add_style("Примечание", 1)   # WD_STYLE_TYPE.PARAGRAPH
    small.base_style = normal
    font(small, SMALL_PT, italic=True)
    table_text = styles.add_style("Текст таблицы", 1)
    table_text.base_style = normal
    font(table_text, TABLE_PT)
    table_text.paragraph_format.space_after = Pt(0)
    table_text.paragraph_format.line_spacing = 1.0
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
    section.left_margin, section.right_margin = Cm(MARGINS_CM["left"]), Cm(MARGINS_CM["right"])
    section.top_margin, section.bottom_margin = Cm(MARGINS_CM["top"]), Cm(MARGINS_CM["bottom"])


def _text(node) -> str:
    """Visible text of an HTML element, whitespace collapsed (download links and styles left out)."""
    from bs4 import NavigableString, Tag

    parts = []

    def walk(n):
        for child in n.children:
            if isinstance(child, Tag):
                if child.name in _SKIP_TAGS or _SKIP_CLASSES & set(child.get("class") or []):
                    continue
                if child.name == "br":
                    parts.append("\n")
                    continue
                walk(child)
            elif isinstance(child, NavigableString) and type(child).__name__ in ("NavigableString",):
                parts.append(str(child))

    walk(node)
    lines = [re.sub(r"[ \t\r\n]+", " ", line).strip() for line in "".join(parts).split("\n")]
    return "\n".join(line for line in lines if line)


class _Builder:
    """Walks the HTML fragments and images of a notebook's outputs and appends them to a Document."""

    def __init__(self, title: str):
        from docx import Document

        self.doc = Document()
        _styles(self.doc)
        self.doc.core_properties.title = title
        self.doc.core_properties.language = "ru-RU"
        self.provenance: list[str] = []
        self.width_cm = PAGE_CM[0] - MARGINS_CM["left"] - MARGINS_CM["right"]

    # ---- pieces ------------------------------------------------------------------------------
    def heading(self, text: str, level: int) -> None:
        if text:
            self.doc.add_heading(text, level=min(max(level - 1, 0), 4))

    def paragraph(self, text: str, style: str | None = None) -> None:
        for line in text.split("\n") if text else []:
            self.doc.add_paragraph(line, style=style)

    def image(self, data: bytes, width_px: int | None = None) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm

        width = self.width_cm if not width_px else min(self.width_cm, width_px / 96 * 2.54)
        self.doc.add_picture(io.BytesIO(data), width=Cm(width))
        self.doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER

    def table(self, node) -> None:
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Pt

        head = [[_text(c) for c in tr.find_all(["th", "td"], recursive=False)]
                for tr in node.select("thead > tr")] or []
        body = node.select("tbody > tr") or [tr for tr in node.find_all("tr") if tr.find_parent("thead") is None]
        if not head and body and body[0].find("th") is not None:
            head, body = [[_text(c) for c in body[0].find_all(["th", "td"], recursive=False)]], body[1:]
        cols = max([len(r) for r in head] + [len(tr.find_all(["th", "td"], recursive=False)) for tr in body] + [1])
        table = self.doc.add_table(rows=0, cols=cols)
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER

        def shade(cell, colour):
            props = cell._tc.get_or_add_tcPr()
            fill = OxmlElement("w:shd")
            fill.set(qn("w:val"), "clear")
            fill.set(qn("w:color"), "auto")
            fill.set(qn("w:fill"), colour)
            props.append(fill)

        small = Pt(WIDE_TABLE_PT) if cols >= WIDE_TABLE_COLS else None   # never below 9 pt

        def put(row, texts, *, bold=False, colour=None, numeric=()):
            for j in range(cols):
                cell = row.cells[j]
                cell.text = ""
                para = cell.paragraphs[0]
                para.style = self.doc.styles["Текст таблицы"]
                run = para.add_run(texts[j] if j < len(texts) else "")
                run.bold = bold or None
                if small is not None:
                    run.font.size = small
                if j in numeric:
                    para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                if colour:
                    shade(cell, colour)

        for texts in head:
            row = table.add_row()
            put(row, texts, bold=True, colour=HEAD_SHADE)
            props = row._tr.get_or_add_trPr()   # the header row repeats on every page
            repeat = OxmlElement("w:tblHeader")
            repeat.set(qn("w:val"), "true")
            props.append(repeat)
        for tr in body:
            cells = tr.find_all(["th", "td"], recursive=False)
            classes = set(tr.get("class") or [])
            colour = FLAG_SHADE if "shnor-flag" in classes else OK_SHADE if "shnor-ok" in classes else None
            numeric = {j for j, c in enumerate(cells) if "num" in (c.get("class") or [])}
            put(table.add_row(), [_text(c) for c in cells], colour=colour, numeric=numeric)
        self.doc.add_paragraph()   # air after the table

    # ---- HTML ---------------------------------------------------------------------------------
    def html(self, markup: str) -> None:
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(markup, "html.parser")
        self.block(soup)

    def block(self, node) -> None:
        from bs4 import NavigableString, Tag

        loose = []   # inline text between blocks

        def flush():
            text = re.sub(r"\s+", " ", "".join(loose)).strip()
            loose.clear()
            if text:
                self.paragraph(text)

        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child).__name__ == "NavigableString":
                    loose.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            classes = set(child.get("class") or [])
            name = child.name
            if name in _SKIP_TAGS or classes & _SKIP_CLASSES:
                continue
            if name in ("a", "span", "b", "strong", "i", "em", "small", "code", "sub", "sup"):
                loose.append(_text(child))
                continue
            flush()
            if re.fullmatch(r"h[1-6]", name):
                self.heading(_text(child), int(name[1]))
            elif name == "table":
                self.table(child)
            elif name == "img":
                self.img(child)
            elif name in ("ul", "ol"):
                self.items(child)
            elif name == "details":
                # the collapsed provenance block: kept for the final «Сведения о расчёте» section
                summary = child.find("summary")
                if summary is not None:
                    summary.extract()
                self.provenance.extend(_text(child).split("\n"))
            elif "shnor-caption" in classes:
                self.paragraph(_text(child), "Caption")
            elif "shnor-footer" in classes:
                self.footer(child)
            elif name == "p":
                style = "Примечание" if classes & {"shnor-small", "shnor-sub"} else None
                if child.find(["img", "table"]) is not None:
                    self.block(child)
                else:
                    self.paragraph(_text(child), style)
            elif name == "br":
                continue
            else:
                self.block(child)   # div, section, figure, …
        flush()

    def items(self, node) -> None:
        for li in node.find_all("li", recursive=False):
            rule = li.select_one(".shnor-rule")
            rule_text = ""
            if rule is not None:
                rule_text = _text(rule)
                rule.extract()
            text = _text(li)
            text = re.sub(r"^[⚠•ℹ]\s*", "", text)   # the HTML icon; Word has the bullet
            if text:
                self.doc.add_paragraph(text, style="List Bullet")
            if rule_text:
                self.doc.add_paragraph(rule_text, style="Примечание")

    def img(self, node) -> None:
        src = node.get("src") or ""
        m = re.match(r"data:image/(?:png|jpeg);base64,(.*)", src, re.S)
        if m:
            width = node.get("width")
            self.image(base64.b64decode(m.group(1)), int(width) if str(width or "").isdigit() else None)

    def footer(self, node) -> None:
        details = node.find("details")
        if details is not None:
            details.extract()
            self.block(_wrap(details))
        text = _text(node)
        if text:
            self.paragraph(text, "Примечание")

    def finish(self) -> bytes:
        lines = [line for line in self.provenance if line.strip()]
        if lines:
            self.doc.add_heading("Сведения о расчёте", level=2)
            for line in lines:
                self.doc.add_paragraph(line, style="Примечание")
        buf = io.BytesIO()
        self.doc.save(buf)
        return buf.getvalue()


def _wrap(tag):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup("", "html.parser")
    soup.append(tag)
    return soup


_SVG_SIZE = re.compile(r'\b(width|height)="([\d.]+)pt"')
_SVG_STYLE_WIDTH = re.compile(r'style="width:(\d+)px')


def svg_png(svg: str) -> tuple[bytes, int | None]:
    """(PNG, display width in px) of a chart's inline SVG: python-docx embeds raster images only.
    Rendered by resvg at 2× (sharp in print) on white, with matplotlib's own DejaVu fonts — the fonts the
    SVG names — so the picture does not depend on the fonts of the machine. The root's `pt` sizes are
    turned into px (resvg wants user units); the display width is the chart's inline style width if set,
    else its own size at 96 dpi."""
    import matplotlib   # noqa: local like the docx imports: only a Word export needs these
    import resvg_py
    end = svg.index(">")
    root = svg[:end]
    styled = _SVG_STYLE_WIDTH.search(root)
    sizes = {m.group(1): float(m.group(2)) * 4 / 3 for m in _SVG_SIZE.finditer(root)}
    root = _SVG_SIZE.sub(lambda m: f'{m.group(1)}="{float(m.group(2)) * 4 / 3:.2f}"', root)
    fonts = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    png = bytes(resvg_py.svg_to_bytes(svg_string=root + svg[end:], background="#ffffff", zoom=2, font_dirs=[fonts]))
    width = int(styled.group(1)) if styled else (round(sizes["width"]) if "width" in sizes else None)
    return png, width


def notebook_docx(nb, title: str) -> bytes:
    """The bytes of the .docx of an executed notebook: its visible outputs, in order."""
    builder = _Builder(title)
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"parameters", "injected-parameters", "remove-output", "remove_cell"}:
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                html = data["text/html"]
                builder.html("".join(html) if isinstance(html, list) else html)
            elif "image/svg+xml" in data:     # our charts (Report.figure): Word gets a PNG of the SVG
                svg = data["image/svg+xml"]
                png, width = svg_png("".join(svg) if isinstance(svg, list) else svg)
                builder.image(png, width)
            elif "image/png" in data:
                png = data["image/png"]
                width = (out.get("metadata", {}).get("image/png") or {}).get("width")
                builder.image(base64.b64decode("".join(png) if isinstance(png, list) else png),
                              int(width) if width else None)
            elif out.get("output_type") == "stream" and out.get("name") == "stdout":
                builder.paragraph(str("".join(out.get("text", ""))).strip())
    return builder.finish()


def write_docx(run, nb=None) -> Path:
    """The run's Word file (`<report>.docx` next to its HTML) from its executed notebook, atomically."""
    if nb is None:
        nb = nbformat.read(run.notebook, as_version=4)
    data = notebook_docx(nb, run.html_title)
    if len(data) < 1000:
        raise DocxError(f"Word-файл для {run.html.with_suffix('.docx')} не создан", report=str(run.html))
    return atomic_write_bytes(run.html.with_suffix(".docx"), data)


def _one(notebook: str, path: str, title: str) -> str:
    try:
        nb = nbformat.read(notebook, as_version=4)
        atomic_write_bytes(Path(path), notebook_docx(nb, title))
        return ""
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def render_docx(runs: list, workers: int, progress_out=None) -> list:
    """The .docx of every report whose Word file is missing or older than its executed notebook;
    returns failures as (run, error text)."""
    def stale(r) -> bool:
        path = r.html.with_suffix(".docx")
        return r.notebook.exists() and (not path.exists() or path.stat().st_mtime < r.notebook.stat().st_mtime)

    todo = [r for r in runs if stale(r)]
    if not todo:
        return []
    if progress_out is not None:
        print(f"Word: {len(todo)} {plural(len(todo), 'отчёт', 'отчёта', 'отчётов')}…", file=progress_out, flush=True)
    failures = []
    with cf.ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(_one, [str(r.notebook) for r in todo], [str(r.html.with_suffix(".docx")) for r in todo],
                           [r.html_title for r in todo])
        for run, err in zip(todo, results):
            if err:
                failures.append((run, err))
    return failures
