"""Navigation of the batch's reports (issue 14, point 5): back to the index, the entity's other
reports, school lists linked to the schools' reports, a table of contents in long reports — added at
render time with the batch's own output names, never as a broken link in a notebook run by hand."""
import re
from pathlib import Path
from urllib.parse import urldefrag

import pandas as pd
import pytest

from shnor_utils.batch.nav import TOC_MIN_SECTIONS, NavMap, add_toc
from shnor_utils.batch.plan import Run
from shnor_utils.safeio import inside
from shnor_utils.session import open_report

from tests.batch.probe import run as run_batch


def _run(out: Path, template: str, scope: str, entity: str, name: str, mid="m1", mname="Город", title=None) -> Run:
    parts = (scope,) if scope == "region" else (scope, entity)
    return Run(template=template, scope=scope, entity_id=entity, entity_name=name, municipality_id=mid,
               municipality_name=mname, parameters={}, notebook=out / "nb.ipynb",
               html=inside(out, *parts, f"{template}.html"), title=title or template)


@pytest.fixture
def batch(tmp_path):
    out = tmp_path / "output"
    runs = [_run(out, "vpr", "school", "s1", "Школа № 1", title="ВПР"),
            _run(out, "passport", "school", "s1", "Школа № 1", title="Паспорт"),
            _run(out, "passport", "school", "a/b", "Школа a/b", title="Паспорт"),   # an id the naming must hash
            _run(out, "vpr", "municipality", "m1", "Город", title="ВПР"),
            _run(out, "vpr", "region", "region", "Область", None, None, title="ВПР")]
    for r in runs:
        r.html.parent.mkdir(parents=True, exist_ok=True)
        r.html.write_text("<html><body></body></html>", encoding="utf-8")
    (out / "index.html").write_text("index", encoding="utf-8")
    (out / "changes.html").write_text("changes", encoding="utf-8")
    return out, runs


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_school_report_links_index_siblings_municipality_region(batch):
    out, runs = batch
    nav = NavMap.of(runs, out)
    page = nav.inject("<html><body><div class=\"shnor-title\"><h1>ВПР</h1></div></body></html>", runs[0])
    assert _hrefs(page) == ["../../index.html", "passport.html", "../../municipality/m1/vpr.html",
                            "../../region/vpr.html", "../../changes.html"]
    assert '<span class="here">ВПР</span>' in page          # the report itself is not a link
    assert "Муниципалитет: Город" in page and "Регион: Область" in page


def test_municipality_table_cells_link_to_the_schools_reports(batch):
    out, runs = batch
    nav = NavMap.of(runs, out)
    body = ('<html><body><table><tr><td data-shnor-school="s1">Школа № 1</td></tr>'
            '<tr><td data-shnor-school="a/b">Школа a/b</td></tr>'
            '<tr><td data-shnor-school="s9">Школа без отчёта</td></tr></table></body></html>')
    page = nav.inject(body, runs[3])
    # same template preferred (vpr), else the school's first report; the hashed name of «a/b» is the plan's
    assert '<a href="../../school/s1/vpr.html">Школа № 1</a>' in page
    hashed = runs[2].html.relative_to(out).as_posix()
    assert "~" in hashed and f'<a href="../../{hashed}">Школа a/b</a>' in page
    assert '<td data-shnor-school="s9">Школа без отчёта</td>' in page   # no report in the batch: no link
    for href in _hrefs(page):
        assert (runs[3].html.parent / urldefrag(href)[0]).resolve().exists(), href


def test_the_bar_goes_after_the_pages_own_body_not_into_its_stylesheet(batch):
    # a stylesheet comment that says «<body>» took the bar (and its </style>) into the head: the rest of
    # the report's CSS was shown as text on top of every passport of a batch
    out, runs = batch
    nav = NavMap.of(runs, out)
    page = ('<html><head><style>/* a class of <body>: «passport» */ .passport h2{font-size:1.2em}</style></head>'
            '<body class="jp-Notebook passport"><p>Отчёт</p></body></html>')
    got = nav.inject(page, runs[1])
    head, rest = got.split("</head>", 1)
    assert "<nav" not in head and head.count("</style>") == 1
    assert rest.startswith('<body class="jp-Notebook passport">') and "<nav" in rest.split("<p>Отчёт</p>")[0]


def test_toc_only_in_long_reports():
    short = "<h2>А</h2>" * (TOC_MIN_SECTIONS - 1)
    assert "Содержание" not in add_toc(short)
    body = '<div class="shnor-title"><h1>Т</h1></div>' + "".join(f"<h2>Раздел {i}</h2>" for i in range(TOC_MIN_SECTIONS)) \
        + '<h2 id="own">Свой<a class="anchor-link" href="#own">¶</a></h2>'
    page = add_toc(body)
    toc = re.search(r'<div class="shnor-toc">.*?</div>', page).group(0)
    assert page.index(toc) == page.index("</div>") + len("</div>")       # right under the title
    assert re.findall(r'href="#([^"]+)"', toc) == [f"section-{i + 1}" for i in range(TOC_MIN_SECTIONS)] + ["own"]
    assert ">Свой</a>" in toc and "¶" not in toc
    for ident in re.findall(r'href="#([^"]+)"', toc):
        assert page.count(f'id="{ident}"') == 1


def _captured(monkeypatch):
    import shnor_utils.reporting.report as report
    shown = []
    monkeypatch.setattr(report, "display_html", shown.append)
    return shown


def test_report_table_marks_school_cells_by_code_or_unique_name(tiny, monkeypatch):
    shown = _captured(monkeypatch)
    rep = open_report(tiny, template="t", scope="region")
    rep.table(pd.DataFrame({"Школа": ["Школа № 1", "Школа № 2"], "Код": ["s1", "s2"], "Муниципалитет": ["Город", "Район"]}))
    rep.table(pd.DataFrame({"Школа": ["Сельская школа", "Неизвестная"]}))
    assert '<td data-shnor-school="s1">Школа № 1</td>' in shown[0] and '<td data-shnor-mun="m2">Район</td>' in shown[0]
    assert '<td data-shnor-school="s3">Сельская школа</td>' in shown[1] and "<td>Неизвестная</td>" in shown[1]
    tables = "".join(m.split('<div class="shnor-download">')[0] for m in shown)   # the download links are files in the page
    assert "<a " not in tables                   # a report run by hand has no links to break
    school = open_report(tiny, template="t", scope="school", entity_id="s1")
    school.table(pd.DataFrame({"Школа": ["Школа № 1"], "Код": ["s1"]}))
    assert "data-shnor" not in shown[-1]


@pytest.fixture(scope="module")
def probe_batch(tmp_path_factory, demo_small):
    from tests.batch.probe import make_region
    reg = make_region(tmp_path_factory.mktemp("nav"), demo_small)
    code, text = run_batch(reg["params"](scopes=("school", "municipality", "region")))
    assert code == 0, text
    return reg


def test_every_link_of_a_batch_resolves(probe_batch):
    out = probe_batch["output"]
    pages = sorted(out.rglob("*.html"))
    assert len(pages) == 7        # 3 schools, municipality, region, index, changes
    for page in pages:
        for href in _hrefs(page.read_text(encoding="utf-8")):
            target = urldefrag(href)[0]
            if target:
                assert (page.parent / target).resolve().exists(), f"{page.relative_to(out)} → {href}"
    school = (out / "school" / probe_batch["schools"][0] / "probe.html").read_text(encoding="utf-8")
    for page in pages:   # no markup inside a stylesheet: a bar injected there breaks the page's CSS
        for css in re.findall(r"<style[^>]*>(.*?)</style>", page.read_text(encoding="utf-8"), flags=re.S):
            assert "<nav" not in css and "<a " not in css, page.relative_to(out)
    assert '<a href="../../index.html">← Оглавление</a>' in school
    assert '<a href="../../changes.html">Что изменилось</a>' in school
    assert "Что изменилось с прошлого года" in school
    assert '<a href="changes.html">что изменилось</a>' in (out / "index.html").read_text(encoding="utf-8")
