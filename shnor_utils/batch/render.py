"""Rendering: executed notebook → offline HTML (no code, no CDN, images embedded) → PDF (A4).

Reads only the executed notebooks (`runs_dir`), never starts a kernel: `shnor render` re-creates
the reports of a finished batch (after a change of the HTML template, or a deleted report)."""
from __future__ import annotations

import concurrent.futures as cf
import logging
import re
import threading
import time
from pathlib import Path

import nbformat

from shnor_utils.errors import ReportError
from shnor_utils.safeio import atomic_write_bytes

HTML_TEMPLATES = Path(__file__).resolve().parent.parent / "html"   # shnor_utils/html (nbconvert template, package data)
_local = threading.local()


class PdfError(ReportError):
    """WeasyPrint did not produce the PDF of a report."""


def exporter():
    """One HTMLExporter per thread (the first export compiles the Jinja template: ~0.3 s)."""
    if not hasattr(_local, "exporter"):
        _local.exporter = _exporter_class()(template_name="report", extra_template_basedirs=[str(HTML_TEMPLATES)],
                                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                                            language_code="ru")
    return _local.exporter


_OUTPUT_DIV = re.compile(r'(<div class="[^"]*\bjp-OutputArea-output\b[^"]*"[^>]*?)(?<! tabindex="0")>')
_IMG_NO_ALT = re.compile(r"<img(?![^>]*\balt=)")


def _exporter_class():
    """nbconvert's HTMLExporter without its last step, which parses the whole page with BeautifulSoup
    and writes it out again only to add `alt` to images and `tabindex` to outputs: about a third of a
    second for a 300 KB report, paid by every report of a batch. The same two edits are made on the
    text (`_finish`). Nor does it validate the notebook after every preprocessor."""
    from nbconvert import HTMLExporter   # heavy (Jinja, pygments): only where reports are rendered
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code",
                                 self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type",
                                 WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _finish(html), resources

        def _validate_preprocessor(self, nbc, preprocessor):
            """nbconvert validates the whole notebook against the nbformat schema after each of its
            preprocessors (≈ 20 ms a report). Ours come from our own kernel run, whose outputs
            nbclient validated as they arrived, and the preprocessors only drop cells and parts."""

    return ReportExporter


def _finish(html: str) -> str:
    """What HTMLExporter's BeautifulSoup step did, on the text: every output focusable (a wide table
    scrolls sideways from the keyboard too) and an image without a text alternative given one."""
    html = _OUTPUT_DIV.sub(r'\1 tabindex="0">', html)
    return _IMG_NO_ALT.sub('<img alt="Изображение без описания"', html)


def to_html(nb, title: str) -> str:
    body, _ = exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def write_html(run, nb=None, nav=None) -> dict:
    """The run's HTML report from its executed notebook (`nb`, else read from `run.notebook`),
    with the batch's navigation (`nav`, a batch.nav.NavMap) when given, written atomically;
    returns the timings."""
    start = time.perf_counter()
    if nb is None:   # from disk (`shnor render`): checked against the schema, as nbconvert did
        nb = nbformat.read(run.notebook, as_version=4)
        nbformat.validate(nb, relax_add_props=True)
    body = to_html(nb, run.html_title)
    if nav is not None:
        body = nav.inject(body, run)
    t_html = time.perf_counter()
    atomic_write_bytes(run.html, body.encode("utf-8"))
    return {"html_s": round(t_html - start, 3), "write_s": round(time.perf_counter() - t_html, 3)}


def to_pdf(html_path: Path, pdf_path: Path) -> Path:
    """A4 PDF of an HTML report with WeasyPrint (Cyrillic fonts embedded; fails loudly)."""
    import weasyprint   # heavy (cairo, pango): only for --pdf

    logging.getLogger("weasyprint").setLevel(logging.ERROR)   # JupyterLab CSS gives ~200 harmless warnings
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    data = weasyprint.HTML(filename=str(html_path), base_url=str(html_path.parent)).write_pdf()
    if not data or len(data) < 1000:
        raise PdfError(f"PDF для {html_path} не создан", report=str(html_path))
    return atomic_write_bytes(pdf_path, data)


def _pdf_one(html: str, pdf: str) -> str:
    try:
        to_pdf(Path(html), Path(pdf))
        return ""
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def render_pdfs(runs: list, workers: int, progress_out=None) -> list:
    """PDF (A4) of every report whose PDF is missing or older than its HTML; returns failures
    as (run, error text)."""
    todo = [r for r in runs if r.html.exists() and (not r.pdf.exists() or r.pdf.stat().st_mtime < r.html.stat().st_mtime)]
    if not todo:
        return []
    if progress_out is not None:
        print(f"PDF: {len(todo)} отчётов…", file=progress_out, flush=True)
    failures = []
    with cf.ProcessPoolExecutor(max_workers=workers) as pool:
        for run, err in zip(todo, pool.map(_pdf_one, [str(r.html) for r in todo], [str(r.pdf) for r in todo])):
            if err:
                failures.append((run, err))
    return failures
