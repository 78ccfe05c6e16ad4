"""The batch end to end on the small demo region: every template × scope runs, HTML is offline,
has no code, escapes hostile names, and never writes outside output/."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from shnor_utils.batch.plan import template_spec
from shnor_utils.batch.kernel import WarmKernel
from shnor_utils.batch.runner import run_batch
from shnor_utils.cli import main

from tests.conftest import ROOT, read_table, write_table

TEMPLATES_DIR = ROOT / "notebooks" / "templates"
TEMPLATES = sorted(p.stem for p in TEMPLATES_DIR.glob("*.ipynb"))


def write_params(tmp_path: Path, dataset: Path, reports: list, **extra) -> Path:
    params = {"title": "Тест", "dataset": str(dataset), "year": 2026, "region_name": "Тестовая область",
              "output": str(tmp_path / "output"), "runs_dir": str(tmp_path / "runs"),
              "templates": str(TEMPLATES_DIR), "reports": reports, **extra}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory, demo_small):
    """Every template at every scope it declares, for one municipality (its schools limited to 2)."""
    tmp = tmp_path_factory.mktemp("batch")
    schools = read_table(demo_small, "schools").sort_values("school_id")
    mun = schools["municipality_id"].iloc[0]
    two = schools[schools["municipality_id"] == mun]["school_id"].head(2).tolist()
    reports = []
    for t in TEMPLATES:
        scopes = template_spec(t, TEMPLATES_DIR)["scopes"]
        if "school" in scopes:
            reports.append({"template": t, "scopes": ["school"], "filter": {"school_id": two}})
        rest = [s for s in scopes if s != "school"]
        if rest:
            reports.append({"template": t, "scopes": rest, "filter": {"municipality_id": [mun]}})
    params = write_params(tmp, demo_small, reports)
    log = []
    code = run_batch(params, workers=2, out=_Collect(log))
    return tmp / "output", code, "".join(log), params


class _Collect:
    def __init__(self, sink):
        self.sink = sink

    def write(self, text):
        self.sink.append(text)

    def flush(self):
        pass


PAGES = {"index.html", "changes.html"}   # the batch's own pages; every other .html is a report


def test_every_report_is_built(batch_run):
    output, code, log, _ = batch_run
    assert code == 0, log
    htmls = list(output.rglob("*.html"))
    assert (output / "index.html").exists()
    assert len(htmls) >= 1 + len(TEMPLATES) * 2, [str(h) for h in htmls]


def test_html_is_offline_russian_without_code(batch_run):
    output, _, _, _ = batch_run
    for html in output.rglob("*.html"):
        if html.name in PAGES:
            continue
        text = html.read_text(encoding="utf-8")
        assert 'lang="ru"' in text, html
        assert not re.search(r'class="[^"]*jp-InputArea', text), f"code visible in {html}"
        assert "hl-ipython3" not in text and "Report.open" not in text, f"code visible in {html}"
        assert not re.search(r'<script[^>]+src=["\']https?:', text), f"CDN script in {html}"
        assert not re.search(r'<link[^>]+href=["\']https?:', text), f"CDN stylesheet in {html}"
        assert "На что обратить внимание" in text
        if "rep.figure(" in (TEMPLATES_DIR / f"{html.stem}.ipynb").read_text(encoding="utf-8"):
            # charts are inline SVG (the old check for «data:image/png» was met by the JupyterLab theme)
            assert re.search(r"<svg[^>]+viewbox", text, re.I), f"no embedded chart in {html}"
        assert "Traceback" not in text and "jp-RenderedText\" data-mime-type=\"application/vnd.jupyter.stderr" not in text


def test_index_lists_every_report(batch_run):
    output, _, _, _ = batch_run
    index = (output / "index.html").read_text(encoding="utf-8")
    for html in output.rglob("*.html"):
        if html.name not in PAGES:
            assert html.relative_to(output).as_posix() in index


def test_render_gives_the_same_reports_without_a_kernel(batch_run, monkeypatch, capsys):
    """`shnor render` of every real template: byte-identical HTML, no kernel started."""
    output, _, _, params = batch_run
    reports = sorted(p for p in output.rglob("*.html") if p.name not in PAGES)
    before = {p: p.read_bytes() for p in reports}
    for p in reports:
        p.unlink()

    def refuse(self):
        raise AssertionError("a kernel was started")
    monkeypatch.setattr(WarmKernel, "start", refuse)
    assert main(["render", str(params)]) == 0, capsys.readouterr().out
    assert {p: p.read_bytes() for p in reports} == before


def test_hostile_school_name_is_shown_as_text(tmp_path, demo_small):
    data = tmp_path / "data"
    shutil.copytree(demo_small, data)
    schools = read_table(data, "schools")
    sid = schools["school_id"].iloc[0]
    schools.loc[0, "school_name"] = '<script>alert("x")</script> Школа'
    write_table(data, "schools", schools)
    template = "vpr_objectivity"
    params = write_params(tmp_path, data, [{"template": template, "scopes": ["school"], "filter": {"school_id": [sid]}}])
    assert run_batch(params, workers=1, out=_Collect([])) == 0
    for html in (tmp_path / "output").rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert '<script>alert("x")</script>' not in text
        if html.name == "changes.html":   # the digest names a school only when something of it changed
            continue
        assert "&lt;script&gt;alert(" in text and "&lt;/script&gt; Школа" in text, html
