"""The steps alone: `execute` writes only the executed notebook (errors structured), `shnor render`
re-creates the HTML (and PDF) of a finished batch and `shnor index` its index, sidecars and
workbook — both without starting a kernel."""
from __future__ import annotations

import json
import re

import nbformat
import pytest

from shnor_utils.batch import kernel as kernel_module
from shnor_utils.batch.backends import DaskCluster
from shnor_utils.batch.execute import execute, stop_kernels
from shnor_utils.batch.kernel import KernelError, WarmKernel
from shnor_utils.batch.plan import load_params, plan
from shnor_utils.batch.prepare import prepare
from shnor_utils.cli import main
from shnor_utils.errors import ClusterError, ReportError

from tests.batch.probe import run


def no_kernel(monkeypatch) -> None:
    """From now on, any attempt to start a Jupyter kernel fails the test."""
    def refuse(self):
        raise AssertionError("a kernel was started")
    monkeypatch.setattr(WarmKernel, "start", refuse)


def planned(params):
    cfg = load_params(params)
    meth, ds, _ = prepare(cfg)
    return cfg, {(r.scope, r.entity_id): r for r in plan(cfg, ds.schools)}


def test_execute_writes_the_notebook_only_and_structured_errors(region):
    bad, good = region["schools"][:2]
    cfg, runs = planned(region["params"](scopes=("school",), parameters={"fail_on": bad}))
    try:
        ok = execute(runs[("school", good)], cfg, {"methodology": "m"})
        failed = execute(runs[("school", bad)], cfg, {"methodology": "m"})
    finally:
        stop_kernels()
    assert ok.ok and runs[("school", good)].notebook.exists() and not runs[("school", good)].html.exists()
    executed_nb = nbformat.read(runs[("school", good)].notebook, as_version=4)
    assert executed_nb.metadata["shnor"]["provenance"]["parameters"]["entity_id"] == good
    assert not failed.ok and not runs[("school", bad)].notebook.exists()
    err = failed.failure
    assert isinstance(err, ReportError)
    assert (err.cell_index, err.ename, err.evalue, err.report) == (3, "RuntimeError", "сбой для проверки",
                                                                  f"probe · school · {bad}")
    assert (failed.cell, failed.error) == ("ячейка 3", "RuntimeError: сбой для проверки")


def test_kernel_that_does_not_start_is_a_shnor_error(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel_module, "KERNEL_NAME", "no-such-kernel")
    kernel = WarmKernel(cwd=tmp_path, start_retries=1)
    with pytest.raises(KernelError, match="ядро Jupyter не запустилось"):
        kernel.start()


def test_unreachable_cluster_is_a_cluster_error():
    with pytest.raises(ClusterError, match="не удалось подключиться к кластеру Dask"):
        DaskCluster("tcp://127.0.0.1:9", timeout="2s").run(lambda r: r, [], lambda r: None)


def test_render_recreates_deleted_html_without_a_kernel(region, capsys, monkeypatch):
    params = region["params"](scopes=("school", "municipality"))
    assert run(params)[0] == 0
    reports = sorted(region["output"].rglob("probe.html"))
    before = {p: p.read_bytes() for p in reports}
    reports[0].unlink()
    reports[1].write_text("испорчено", encoding="utf-8")
    no_kernel(monkeypatch)
    assert main(["render", str(params)]) == 0
    out = capsys.readouterr().out
    assert "Пересоздано отчётов: 4 из 4 выполненных (HTML)" in out and "ошибок 0" in out, out
    # the same bytes as the batch wrote (same exporter, same notebook)
    assert {p: p.read_bytes() for p in reports} == before


def test_render_reports_a_broken_notebook_and_makes_pdfs(region, capsys, monkeypatch):
    params = region["params"](scopes=("school",))
    assert run(params)[0] == 0
    a, b, c = region["schools"]
    (region["tmp"] / "runs" / "school" / a / "probe.ipynb").write_text("{не json", encoding="utf-8")
    no_kernel(monkeypatch)
    code = main(["render", str(params), "--pdf", "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "Пересоздано отчётов: 2 из 3 выполненных (HTML и PDF)" in out and "ошибок 1" in out, out
    assert f"✗ probe · school · {a}: " in out
    for sid in (b, c):
        assert (region["output"] / "school" / sid / "probe.pdf").stat().st_size > 1000
    assert not (region["output"] / "school" / a / "probe.pdf").exists()


def test_index_recreates_index_sidecars_and_workbook(region, capsys, monkeypatch):
    flag = region["tmp"] / "fail.flag"
    flag.write_text("x")
    bad = region["schools"][0]
    params = region["params"](scopes=("school", "municipality"), parameters={"fail_on": bad, "flag_file": str(flag)})
    assert run(params)[0] == 1
    output = region["output"]
    index = (output / "index.html").read_text(encoding="utf-8")
    good = region["schools"][1]
    sidecar = output / "school" / good / "indicators.json"
    side = json.loads(sidecar.read_text(encoding="utf-8"))
    for path in (output / "index.html", output / "indicators.xlsx", sidecar):
        path.unlink()
    no_kernel(monkeypatch)
    assert main(["index", str(params)]) == 0
    out = capsys.readouterr().out
    assert "Оглавление пересоздано: отчётов 4, с ошибкой 1; книга Excel" in out, out
    assert (output / "indicators.xlsx").exists()
    again = (output / "index.html").read_text(encoding="utf-8")
    stamp = r"(\d{4}-\d{2}-\d{2}|\d{2}\.\d{2}\.\d{4}) \d{2}:\d{2}"   # the time the index was made
    assert re.sub(stamp, "", again) == re.sub(stamp, "", index)
    assert "ошибка" in again
    assert json.loads(sidecar.read_text(encoding="utf-8")) == side


def test_index_without_a_batch_says_so(region, capsys):
    assert main(["index", str(region["params"]())]) == 1
    assert "нет выполненного пакета" in capsys.readouterr().out


def test_html_without_the_soup_step_is_the_same_document_as_nbconverts():
    # our exporter skips HTMLExporter's BeautifulSoup pass (a third of a second per report) and makes
    # its two edits on the text: the documents must be the same once parsed
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from shnor_utils.batch.render import HTML_TEMPLATES, to_html

    cells = [new_code_cell("x", outputs=[new_output("display_data", data={"text/html": "<table><tr><td>1 %</td></tr></table>"})]),
             new_code_cell("y", outputs=[new_output("display_data", data={"image/svg+xml": "<svg><text>Рис.</text></svg>"})]),
             new_code_cell("z", outputs=[new_output("display_data", data={"text/html": '<p>a <img src="data:,"> b</p>'})])]
    nb = new_notebook(cells=cells)
    ours = to_html(nb, "Отчёт")
    theirs, _ = HTMLExporter(template_name="report", extra_template_basedirs=[str(HTML_TEMPLATES)], exclude_input=True,
                             exclude_input_prompt=True, exclude_output_prompt=True,
                             language_code="ru").from_notebook_node(nb, resources={"metadata": {"name": "Отчёт"}})
    assert ours.count('tabindex="0"') == 3
    assert 'alt="' in ours
    soup = BeautifulSoup(ours, "html.parser")
    soup.img["alt"] = "No description has been provided for this image"   # nbconvert's English alt text
    assert str(soup) == theirs
