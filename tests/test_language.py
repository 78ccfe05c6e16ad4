"""Their language only (issue 14, point 3): every template at every scope of the demo, rendered as the
reader sees it, shows no Latin words, underscores or file names outside the collapsed
«Сведения о расчёте» block (a short allow-list for real acronyms)."""
import html as _html
import re
from pathlib import Path

import nbformat
import papermill
import pytest

from shnor_utils.batch.render import to_html
from shnor_utils.reporting.html import plain

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "notebooks" / "templates").glob("*.ipynb"))
SCOPES = {"school": "edu990005", "municipality": "reg99_m001", "region": None}
ALLOWED = {"PDF", "Excel", "CSV", "n"}     # real names a reader knows, and «n» of a group; keep the list minimal
ENTITY_CODE = re.compile(r"^(?:edu|reg)\d+(?:_m\d+)?$")   # codes of schools / municipalities (data, as ФИС ОКО shows them)
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
FILE = re.compile(r"\b[\w-]+\.(?:md|yaml|yml|csv|py|ipynb|json|xlsx)\b")
# notes of the developers to themselves, seen by the methodologist (issue 14: «что считаем опечаткой»)
INTERNAL = re.compile(r"считаем\s+опечатк\w*|по-видимому,\s+опечатк\w*|что\s+считаем\b", re.I)


def visible_text(page: str) -> str:
    """Text of a rendered report without markup, styles, scripts, images and the provenance block."""
    page = re.sub(r"<(head|style|script|details)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<[^>]+>", " ", page)
    return _html.unescape(page)


def offences(text: str) -> list[str]:
    words = [w for w in text.split() if not ENTITY_CODE.match(w.strip("()«»,.;:"))]
    text = " ".join(words)
    bad = [t for t in LATIN.findall(text) if t not in ALLOWED]
    bad += [m for m in re.findall(r"\S*_\S*", text)]
    bad += FILE.findall(text)
    bad += INTERNAL.findall(text)
    return bad


def test_lint_finds_what_it_should():
    assert offences("shares of fewer than 10 participants") == ["shares", "of", "fewer", "than", "participants"]
    assert "gia_below_min_dd" in offences("код gia_below_min_dd")
    assert offences("Доля «2» — 5,0 %; ВПР; ОГЭ; ЕГЭ; PDF") == []
    assert offences("документ печатает «не менее 75 %», что считаем опечаткой") == ["что считаем"]
    assert visible_text("<p>ШНОР</p><details><summary>Сведения о расчёте</summary>sha256 abc</details>") .split() == ["ШНОР"]


def test_plain_names_documents_and_drops_files():
    from shnor_utils.methodology import load_methodology
    meth = load_methodology()
    assert plain(meth, "seed 001, R2") == "Муниципальная модель адресной поддержки ШНОР г. Тюмени (2021), R2"
    assert plain(meth, "«понизили» > 50 % (data_formats.md §5.1)") == "«понизили» > 50 %"
    assert "official_shnor" not in plain(meth, "сравнение (official_shnor)")


# all templates clean (issue 14, point 3); the set stays for a template added later
NOT_YET: set = set()
CASES = [pytest.param(t.stem, s, marks=[pytest.mark.xfail(reason="codes and ids still shown", strict=False)]
                      if t.stem in NOT_YET else [])
         for t in TEMPLATES for s in SCOPES if not (t.stem == "school_passport" and s != "school")]


@pytest.mark.parametrize(("template", "scope"), CASES)
def test_rendered_report_speaks_russian(template, scope, demo_small, tmp_path):
    out = tmp_path / f"{template}__{scope}.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "templates" / f"{template}.ipynb"), str(out),
                               parameters={"dataset": str(demo_small), "scope": scope, "entity_id": SCOPES[scope],
                                           "year": 2026}, cwd=str(ROOT / "notebooks" / "templates"),
                               progress_bar=False, kernel_name="python3")
    text = visible_text(to_html(nbformat.read(out, as_version=4), template))
    bad = offences(text)
    assert not bad, f"{template}/{scope}: {sorted(set(bad))[:40]}"
