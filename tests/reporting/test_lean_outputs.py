"""Issue 15.3 / 14.9: reports carry our own small stylesheet (not the 264 KB JupyterLab theme), every
class a report uses has a rule in it, flagged rows stay highlighted, tables scroll on a phone and keep
headings with what follows in print, and a rendered demo report stays small."""
from __future__ import annotations

import re

import pytest

from shnor_utils.batch.render import HTML_TEMPLATES
from tests.reporting.inprocess import render

CSS = HTML_TEMPLATES / "report" / "report.css"


def _rules(css: str) -> list[tuple[str, str]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media[^{]*\{((?:[^{}]*\{[^}]*\})*)\s*\}", r"\1", css)   # rules inside @media count too
    return [(sel.strip(), body) for sels, body in re.findall(r"([^{}@]+)\{([^}]*)\}", css) for sel in sels.split(",")]


@pytest.fixture(scope="module")
def school_html(demo_small) -> str:
    return render("vpr_objectivity", dataset=demo_small, scope="school", entity_id="edu990001")


def test_stylesheet_is_small_and_inlined_once(school_html):
    css = CSS.read_text(encoding="utf-8")
    assert len(css.encode("utf-8")) <= 6 * 1024
    assert css.strip()[-200:] in school_html
    page = re.sub(r"<svg.*?</svg>", "", school_html, flags=re.S)
    assert page.count("<style") == 2        # ours, and the one the report shows in JupyterLab (html.STYLE)
    assert "var(--jp-" not in page and not re.search(r"tr:nth-child\(odd\)\s*\{", page)   # no JupyterLab theme
    assert not re.search(r'<(?:script|link)[^>]+(?:src|href)=["\']https?:', school_html)


def test_every_class_of_a_report_has_a_rule(school_html, demo_small):
    pages = [school_html, render("vpr_objectivity", dataset=demo_small, scope="municipality", entity_id="reg99_m001")]
    used = {c for page in pages for attr in re.findall(r'class="([^"]*)"', page) for c in attr.split()}
    selectors = " ".join(sel for sel, _ in _rules(CSS.read_text(encoding="utf-8")))
    # nbconvert's own wrappers need no rule (plain blocks); everything else we emit must be styled
    ours = {c for c in used if not c.startswith(("jp-", "lm-"))}
    assert {"shnor-table", "shnor-flag", "shnor-ok", "shnor-caption", "num"} <= ours
    missing = sorted(c for c in ours if not re.search(rf"\.{re.escape(c)}(?![\w-])", selectors))
    assert not missing, f"classes without a rule in report.css: {missing}"


def test_highlighted_rows_headings_phone_and_print_rules():
    rules = _rules(CSS.read_text(encoding="utf-8"))

    def body_of(pattern):
        return " ".join(body for sel, body in rules if re.fullmatch(pattern, sel))

    assert "#fde0c5" in body_of(r"\.shnor-table tr\.shnor-flag( td)?")
    assert "#e3f3e8" in body_of(r"\.shnor-table tr\.shnor-ok( td)?")
    assert "break-after:avoid" in body_of(r"h2|\.shnor-caption")
    assert "overflow-x:auto" in body_of(r"\.jp-RenderedHTMLCommon")      # a wide table scrolls at 400 px
    sizes = [float(v) for sel, body in rules if sel.startswith(".shnor-table")
             for v in re.findall(r"font-size:([\d.]+)pt", body)]
    assert sizes and min(sizes) >= 9                                      # print: table text ≥ 9 pt


def test_a_rendered_school_report_is_small(school_html):
    size = len(school_html.encode("utf-8"))
    assert size <= 250 * 1024, size
    assert "data:image/png" not in school_html and school_html.count("<svg") >= 2   # charts as inline SVG
