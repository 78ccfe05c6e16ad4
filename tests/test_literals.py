"""No threshold is restated by hand in prose: numbers of the methodology come from it.

Scans the string literals of the templates' code cells, of every analysis' present.py and of
reporting/*.py (docstrings excluded: they are English notes for developers, not report text) for a
digit followed by «%» or «балл». Every hit must be in ALLOWED with its reason; a threshold never is
(it is formatted from `meth.threshold(...)` / `meth.words`)."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATTERN = re.compile(r"\d\s*(%|балл)")

# (file relative to the repository, the literal's text around the hit) → reason
ALLOWED = {
    ("shnor_utils/analyses/objectivity/present.py", "«не менее 75 %»"):
        "quotation of a misprint in the seed 001 document (what the document prints, not our threshold)",
    ("shnor_utils/reporting/report.py", "max-width:100%"): "CSS of an inline chart (never wider than the page), not a threshold",
}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                ids.add(id(first.value))
    return ids


def _literals(source: str) -> list[str]:
    tree = ast.parse(source)
    skip = _docstrings(tree)
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


def _sources() -> list[tuple[str, str]]:
    out = []
    for path in sorted((ROOT / "notebooks" / "templates").glob("*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] == "code":
                out.append((f"{path.relative_to(ROOT)} [cell {i}]", "".join(cell["source"])))
    for path in [*sorted((ROOT / "shnor_utils" / "analyses").glob("*/present.py")),
                 *sorted((ROOT / "shnor_utils" / "reporting").glob("*.py"))]:
        out.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    return out


def _allowed(where: str, text: str) -> bool:
    file = where.split(" [cell")[0]
    return any(file == f and snippet in text for f, snippet in ALLOWED)


def test_scanner_sees_templates_and_present_modules():
    where = [w for w, _ in _sources()]
    assert any(w.startswith("notebooks/templates/shnor_selection.ipynb") for w in where)
    assert "shnor_utils/analyses/gia/present.py" in where
    # and it would catch a restated threshold (in an f-string part too)
    assert [t for t in _literals('"""Docstring: 5 %."""\nrep.note(f"не менее 30 % участников, {x}")') if PATTERN.search(t)] \
        == ["не менее 30 % участников, "]


def test_no_threshold_literals_in_prose():
    hits = []
    for where, source in _sources():
        for text in _literals(source):
            for m in PATTERN.finditer(text):
                if not _allowed(where, text):
                    hits.append(f"{where}: «{text[max(0, m.start() - 30):m.end() + 30]}»")
    assert not hits, ("Числа методики в тексте отчёта записаны вручную (берите их из meth.threshold / meth.words; "
                      "иначе — в ALLOWED с причиной):\n" + "\n".join(hits))


def test_allow_list_is_short_and_used():
    assert len(ALLOWED) <= 5
    used = {(f, s) for f, s in ALLOWED for where, source in _sources()
            if where.split(" [cell")[0] == f and any(s in t and PATTERN.search(t) for t in _literals(source))}
    assert used == set(ALLOWED), f"unused allow-list entries: {set(ALLOWED) - used}"
