"""The batch engine at scale's shape: dry run, incremental runs, failure isolation (error, timeout,
dead kernel), retry, interrupted batches, provenance, sidecars, index, Excel, PDF, isolation modes
and a Dask cluster. Uses a tiny probe template so each batch takes seconds."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from tests.batch.probe import executed, run
from tests.conftest import ROOT, read_table, write_table


def test_dry_run_plans_and_executes_nothing(region):
    code, text = run(region["params"](), dry_run=True)
    assert code == 0 and "План: 4 отчётов; выполнить 4" in text
    assert not list(region["output"].rglob("*.html"))


def test_second_run_is_a_no_op_and_one_school_change_reruns_only_its_reports(region):
    params = region["params"]()
    code, text = run(params)
    assert code == 0 and len(executed(text)) == 4
    code, text = run(params)
    assert code == 0 and "Ничего не изменилось" in text and not executed(text)
    # change one school's name: its report and its municipality's re-run, the other schools' do not
    schools = read_table(region["data"], "schools")
    target = region["schools"][1]
    schools.loc[schools["school_id"] == target, "school_name"] = "Переименованная школа"
    write_table(region["data"], "schools", schools)
    code, text = run(params)
    assert code == 0
    assert executed(text) == {("school", target), ("municipality", region["mun"])}, text
    # --force re-runs everything
    code, text = run(params, force=True)
    assert len(executed(text)) == 4


def test_failure_is_isolated_listed_and_retried(region):
    flag = region["tmp"] / "fail.flag"
    flag.write_text("x")
    bad = region["schools"][0]
    params = region["params"](parameters={"fail_on": bad, "flag_file": str(flag)})
    code, text = run(params)
    assert code == 1
    assert f"✗ probe · school · {bad}: ячейка 3 RuntimeError: сбой для проверки" in text
    assert len([h for h in region["output"].rglob("probe.html")]) == 3         # the others are built
    assert not (region["output"] / "school" / bad / "probe.html").exists()
    assert "ошибка" in (region["output"] / "index.html").read_text(encoding="utf-8")
    flag.unlink()
    code, text = run(params, retry_failed=True)
    assert code == 0 and executed(text) == {("school", bad)}


def test_timeout_and_dead_kernel_do_not_stop_the_batch(region):
    a, b, c = region["schools"]
    # a generous cell time-out (the first report of a kernel imports and loads data), far below the sleep
    params = region["params"](parameters={"sleep_on": a, "die_on": b}, timeout=20)
    code, text = run(params, workers=1)
    assert code == 1
    assert f"✗ probe · school · {a}: " in text and "время выполнения" in text
    assert f"✗ probe · school · {b}: ядро" in text
    assert (region["output"] / "school" / c / "probe.html").exists()
    assert (region["output"] / "municipality" / region["mun"] / "probe.html").exists()


def test_interrupted_batch_leaves_no_partial_report_and_resumes(region):
    params = region["params"](parameters={"sleep_all": 1.5})
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "shnor_utils.cli", "run", str(params), "--workers", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    state = region["output"] / ".state" / "runs"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(state.glob("*.json"))) < 1:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(state.glob("*.json")))
    assert 1 <= done < 4, "the batch should have been killed mid-way"
    # SIGKILL may land inside an atomic write: its temporary file stays (nothing can remove it then),
    # but no report is ever half-written, and the next start removes the temporaries
    for html in region["output"].rglob("probe.html"):
        assert html.read_text(encoding="utf-8").rstrip().endswith("</html>")
    code, text = run(params)
    assert code == 0 and len(executed(text)) == 4 - done
    leftovers = [p for p in region["output"].rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers


def test_provenance_sidecar_index_and_excel(region):
    from openpyxl import load_workbook

    code, _ = run(region["params"](scopes=("school", "municipality", "region")))
    assert code == 0
    sid = region["schools"][0]
    run_nb = nbformat.read(region["tmp"] / "runs" / "school" / sid / "probe.ipynb", as_version=4)
    prov = run_nb.metadata["shnor"]["provenance"]
    assert prov["template"] == "probe" and prov["parameters"]["entity_id"] == sid
    assert {f["файл"] for f in prov["files"]} >= {"schools.parquet", "vpr.parquet"}
    assert all(len(f["sha256"]) == 16 for f in prov["files"]) and prov["methodology"]
    html = (region["output"] / "school" / sid / "probe.html").read_text(encoding="utf-8")
    assert "Источник данных:" in html and "Методика: версия" in html and "Шаблон: probe" in html
    side = json.loads((region["output"] / "school" / sid / "indicators.json").read_text(encoding="utf-8"))
    assert side["entity_id"] == sid and side["indicators"]
    assert {"indicator_id", "value", "denominator", "ci_low", "ci_high", "flag"} <= set(side["indicators"][0])
    index = (region["output"] / "index.html").read_text(encoding="utf-8")
    assert 'id="q"' in index and "shnorFilter" in index and "https://" not in index
    wb = load_workbook(region["output"] / "indicators.xlsx")
    assert "Все показатели" in wb.sheetnames and "ВПР — журнал" in wb.sheetnames
    ws = wb["Все показатели"]
    assert ws["A1"].value == "Уровень" and ws.auto_filter.ref and ws.freeze_panes == "A2"
    assert wb.sheetnames[0] == "Пояснения"     # the legend first; which rows are coloured: tests/batch/test_excel.py
    tidy = [c.value for c in ws[1]]
    assert "Экзамен" in tidy, "the tidy sheet keeps every column of the contract"
    journal = [c.value for c in wb["ВПР — журнал"][1]]
    assert "Экзамен" not in journal and "Значение" in journal, "an analysis sheet hides columns it never fills"


def test_pdf_is_a4_with_cyrillic(region):
    sid = region["schools"][0]
    code, _ = run(region["params"](scopes=("school",)), pdf=True)
    assert code == 0
    pdf = region["output"] / "school" / sid / "probe.pdf"
    from pypdf import PdfReader

    page = PdfReader(pdf).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)   # A4 in points
    assert "Проба пакета" in page.extract_text()          # Cyrillic kept, as text (fonts embedded with ToUnicode)


def _normalised(folder: Path) -> dict:
    out = {}
    for html in sorted(folder.rglob("probe.html")):
        text = html.read_text(encoding="utf-8")
        text = re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?", "TIME", text)
        out[html.relative_to(folder).as_posix()] = text
    return out


def test_fresh_kernels_give_the_same_reports_as_warm_ones(region):
    params = region["params"](scopes=("school",))
    assert run(params)[0] == 0
    warm = _normalised(region["output"])
    code, text = run(params, force=True, isolation="fresh")
    assert code == 0, text
    assert _normalised(region["output"]) == warm


def test_dask_cluster_gives_identical_outputs(region):
    from distributed import LocalCluster

    params = region["params"]()
    assert run(params)[0] == 0
    local = _normalised(region["output"])
    shutil.rmtree(region["output"])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code, text = run(params, scheduler=cluster.scheduler_address)
    assert code == 0, text
    assert "кластер" in text
    assert _normalised(region["output"]) == local


def test_warm_kernel_reset_frees_the_previous_reports_objects(tmp_path):
    """The reset clears the namespace and collects what the report left, cycles included, before it
    freezes the survivors (gc.freeze): nothing of one report reaches or stays behind for the next."""
    from nbformat.v4 import new_code_cell, new_notebook

    from shnor_utils.batch.kernel import WarmKernel

    kernel = WarmKernel(cwd=tmp_path)
    first = new_notebook(cells=[new_code_cell(
        "import sys, weakref\nclass Node: pass\nleft = Node(); left.me = left   # a cycle: only the collector frees it\n"
        "sys.modules['_probe_ref'] = weakref.ref(left)\nsecret = 42")])
    second = new_notebook(cells=[new_code_cell(
        "import sys\nprint('cycle freed' if sys.modules['_probe_ref']() is None else 'cycle alive', "
        "'secret' in globals(), 'left' in globals())")])
    try:
        kernel.run(first, tmp_path)
        out = kernel.run(second, tmp_path)
    finally:
        kernel.stop()
    assert out.cells[0].outputs[0]["text"].strip() == "cycle freed False False"
