"""The index and the reports in a real browser (issue 14, point 10): headless Chromium opens the index
of a small batch, a person types in the search, ticks «только школы с флагами», chooses a flag kind
and a municipality, follows a link to a school's report and from there back — each step asserts what
is visible on the screen. Driven over the DevTools protocol (tests/browser/cdp.py); skipped only when
no Chromium binary is installed (`make test` installs the Debian package `chromium` first)."""
import html as _html
import re

import pytest

from tests.batch.probe import make_region, run as run_batch
from tests.browser.cdp import Browser, file_url, find_chromium

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="нет Chromium (Debian-пакет chromium; `make test` ставит его "
                                                         "сам, либо: apt-get install chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_small):
    reg = make_region(tmp_path_factory.mktemp("browser"), demo_small)
    code, text = run_batch(reg["params"](scopes=("school", "municipality", "region")))
    assert code == 0, text
    index = reg["output"] / "index.html"
    page = index.read_text(encoding="utf-8")
    # what the page says of each school (name → its flags), to know what each filter must show
    rows = re.findall(r'<tr class="school"[^>]*data-flags="([^"]*)"><td>([^<]*)<div', page)
    schools = {_html.unescape(name): [f for f in _html.unescape(flags).split(";") if f] for flags, name in rows}
    assert len(schools) == 3 and any(schools.values()) and not all(schools.values()), schools
    return reg, index, schools


@pytest.fixture(scope="module")
def browser():
    with Browser(CHROMIUM) as b:
        yield b


def _shown(b: Browser) -> list[str]:
    return [t.split("\n")[0] for t in b.visible_text("tr.school td:first-child")]


def test_search_filters_and_links(site, browser):
    reg, index, schools = site
    b = browser
    b.open(file_url(index))
    assert b.js("document.title") == "Проба"
    assert sorted(_shown(b)) == sorted(schools)
    assert b.visible_text("#nothing") == []

    # typing part of one school's name shows that school only
    name = sorted(schools)[1]
    b.type_into("#q", name.split('"')[1] if '"' in name else name)
    assert _shown(b) == [name]

    # a search that matches nothing: no rows, no empty municipality section, «Ничего не найдено.»
    b.type_into("#q", "лицей-которого-нет")
    assert _shown(b) == [] and b.visible_text("section.mun") == []
    assert b.visible_text("#nothing") == ["Ничего не найдено."]

    # clearing the search, then ticking «только школы с флагами» (a real click on the box)
    b.type_into("#q", "")
    b.click("#flagged")
    assert b.js("document.getElementById('flagged').checked") is True
    flagged = sorted(n for n, f in schools.items() if f)
    assert sorted(_shown(b)) == flagged
    b.click("#flagged")
    assert sorted(_shown(b)) == sorted(schools)

    # a flag kind from the filter list
    kind = next(f for fl in schools.values() for f in fl)
    b.choose("#kind", kind)
    assert sorted(_shown(b)) == sorted(n for n, f in schools.items() if kind in f)
    b.choose("#kind", "")
    b.choose("#mun", reg["mun"])
    assert sorted(_shown(b)) == sorted(schools)
    b.choose("#mun", "")

    # following the first school's report link opens its report, with the way back and onwards
    first = sorted(schools)[0]
    sid = b.js("(function(){var r=Array.prototype.find.call(document.querySelectorAll('tr.school'),"
               f"function(r){{return r.querySelector('td').firstChild.textContent==={first!r};}});"
               "r.querySelector('td:last-child a').id='go';return r.querySelector('.id').textContent;})()")
    url = b.follow("#go")
    assert url.endswith(f"/school/{sid}/probe.html")
    assert b.js("document.querySelector('.shnor-title h1').innerText").startswith("Проба пакета")
    nav = b.visible_text("nav.shnor-nav a")
    assert nav[0] == "← Оглавление" and "Что изменилось" in nav
    assert any(t.startswith("Муниципалитет: ") for t in nav) and any(t.startswith("Регион: ") for t in nav)
    assert "Что изменилось с прошлого года" in b.visible_text("h2")

    # on to the municipality report, then back to the index
    url = b.follow("nav.shnor-nav a[href*='municipality']")
    assert url.endswith(f"/municipality/{reg['mun']}/probe.html")
    url = b.follow("nav.shnor-nav a[href$='index.html']")
    assert url == file_url(index)
    assert sorted(_shown(b)) == sorted(schools)

    # the digest is one click from the index
    url = b.follow("a[href='changes.html']")
    assert url.endswith("/changes.html")
    assert b.visible_text("h1")[0].startswith("Что изменилось")
