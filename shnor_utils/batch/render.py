"""Rendering: executed notebook → offline HTML (no code, no CDN, images embedded) → PDF (A4)."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from shnor_utils.safeio import atomic_write_bytes

HTML_TEMPLATES = Path(__file__).resolve().parent.parent / "html"   # shnor_utils/html (nbconvert template)
_local = threading.local()


def exporter():
    """One HTMLExporter per thread (the first export compiles the Jinja template: ~0.3 s)."""
    if not hasattr(_local, "exporter"):
        from nbconvert import HTMLExporter
        _local.exporter = HTMLExporter(template_name="report", extra_template_basedirs=[str(HTML_TEMPLATES)],
                                       exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                                       language_code="ru")
    return _local.exporter


def to_html(nb, title: str) -> str:
    body, _ = exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def to_pdf(html_path: Path, pdf_path: Path) -> Path:
    """A4 PDF of an HTML report with WeasyPrint (Cyrillic fonts embedded; fails loudly)."""
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)   # JupyterLab CSS gives ~200 harmless warnings
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    data = weasyprint.HTML(filename=str(html_path), base_url=str(html_path.parent)).write_pdf()
    if not data or len(data) < 1000:
        raise RuntimeError(f"PDF для {html_path} не создан")
    return atomic_write_bytes(pdf_path, data)
