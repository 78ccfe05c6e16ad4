"""A report in one request to its warm kernel (batch/inkernel.py, issue 15 point 0): the executed
notebook is the one per-cell execution gives — nbclient sending every cell to a fresh kernel, as
papermill does — output for output: streams, warnings, display data, display-id updates,
clear_output, execute results, errors in a `raises-exception` cell, skipped cells, figures, and
the real templates. Failures keep their cell number; a cell's time limit still holds."""
from __future__ import annotations

import copy
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from shnor_utils.batch.kernel import WarmKernel, parameterize
from shnor_utils.errors import ReportError

from tests.conftest import ROOT

TEMPLATES = ROOT / "notebooks" / "templates"

CELLS = [
    ("print('раз'); import sys; print('в stderr', file=sys.stderr); print('два')", []),
    ("from IPython.display import display, HTML, Markdown\n"
     "print('до'); display(HTML('<b>жирный</b>')); print('после')", []),
    ("import warnings\nwarnings.warn('осторожно')\n1 + 1", []),
    ("h = display(Markdown('первый'), display_id=True)", []),
    ("h.update(Markdown('второй'))\nimport pandas as pd\npd.DataFrame({'a': [1, 2], 'б': ['x', None]})", []),
    ("from IPython.display import clear_output\nprint('стереть'); clear_output(wait=True); print('осталось')", []),
    ("raise ValueError('ожидаемая ошибка')", ["raises-exception"]),
    ("print('не выполняется')", ["skip-execution"]),
    ("import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
     "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]); plt.title('рисунок'); plt.show()", []),
    ("x = 5\nx", []),
]


def _notebook():
    nb = new_notebook(cells=[new_markdown_cell("# заголовок")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, tags in CELLS:
        nb.cells.append(new_code_cell(source, metadata={"tags": tags} if tags else {}))
    return nb


def _per_cell(nb, cwd):
    """The reference: nbclient, a fresh kernel, one request per cell (what papermill runs)."""
    nb = copy.deepcopy(nb)
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def _view(nb) -> list:
    """Each code cell's execution count and outputs, without what differs between two runs: object
    addresses, the kernel's pid in warning paths, the time a report was made, the figure's bytes."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for o in cell.get("outputs", []):
            o = nbformat.from_dict(copy.deepcopy(dict(o)))
            if "image/png" in o.get("data", {}):
                o["data"]["image/png"] = "PNG"
            text = nbformat.writes(new_notebook(cells=[new_code_cell(outputs=[o])]))
            text = re.sub(r"ipykernel_\d+", "ipykernel_PID", re.sub(r"0x[0-9a-f]+", "0x…", text))
            text = re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?", "TIME", text)   # «Сформирован: …»
            outputs.append(nbformat.reads(text, 4).cells[0].outputs[0])
        out.append((cell.get("execution_count"), outputs))
    return out


@pytest.fixture
def kernel(tmp_path):
    k = WarmKernel(cwd=tmp_path, timeout=60)
    yield k
    k.stop()


def test_one_request_gives_the_notebook_per_cell_execution_gives(kernel, tmp_path):
    reference = _per_cell(_notebook(), tmp_path)
    got = kernel.run(_notebook(), tmp_path)
    ref, ours = _view(reference), _view(got)
    assert len(ours) == len(CELLS)
    for (source, _), r, o in zip(CELLS, ref, ours):
        assert o == r, f"cell {source!r}: {o} != {r}"
    # what the comparison covers is there: streams in order, the update, the result, the error
    texts = [o.get("text", "") for _, outs in ours for o in outs]
    assert "раз\n" in texts[0] or "раз" in texts[0]
    kinds = [[o["output_type"] for o in outs] for _, outs in ours]
    assert kinds[1] == ["stream", "display_data", "stream"]
    assert "execute_result" in kinds[2] and "execute_result" in kinds[4]
    assert ours[3][1][0]["data"]["text/markdown"] == "второй"          # the display-id update reached the first output
    assert [o["text"] for o in ours[5][1]] == ["осталось\n"]             # cleared, then the new output
    assert kinds[6] == ["error"] and ours[6][1][0]["ename"] == "ValueError"
    assert ours[7] == (None, [])                                         # skip-execution
    assert "image/png" in ours[8][1][0]["data"]
    assert ours[9][0] == 9 and ours[9][1][0]["data"]["text/plain"] == "5"


def test_a_warm_kernel_numbers_every_report_from_one(kernel, tmp_path):
    first = kernel.run(_notebook(), tmp_path)
    second = kernel.run(_notebook(), tmp_path)
    assert _view(first) == _view(second)
    assert [c.execution_count for c in second.cells if c.cell_type == "code"][:3] == [1, 2, 3]


def test_a_failing_cell_is_named_by_its_number_and_the_kernel_is_replaced(kernel, tmp_path):
    nb = new_notebook(cells=[new_code_cell("a = 1"), new_markdown_cell("текст"), new_code_cell("print(a)"),
                             new_code_cell("raise RuntimeError('сбой')"), new_code_cell("print('дальше')")])
    kernel.run(new_notebook(cells=[new_code_cell("b = 2")]), tmp_path)
    before = kernel.client.km.provisioner.process.pid
    with pytest.raises(ReportError) as err:
        kernel.run(nb, tmp_path)
    assert (err.value.cell_index, err.value.ename, err.value.evalue) == (3, "RuntimeError", "сбой")
    assert kernel.client.km.provisioner.process.pid != before
    ok = kernel.run(new_notebook(cells=[new_code_cell("print('снова')")]), tmp_path)
    assert ok.cells[0].outputs[0]["text"] == "снова\n"


def test_a_cell_over_its_time_limit_fails_even_if_the_cell_catches_exceptions(tmp_path):
    kernel = WarmKernel(cwd=tmp_path, timeout=2)
    try:
        nb = new_notebook(cells=[new_code_cell("print('ok')"), new_code_cell(
            "import time\ntry:\n    time.sleep(60)\nexcept Exception:\n    print('поймано')")])
        with pytest.raises(ReportError) as err:
            kernel.run(nb, tmp_path)
        assert err.value.cell_index == 2 and err.value.ename == "CellTimeoutError"
    finally:
        kernel.stop()


def test_a_syntax_error_is_the_cells_error(kernel, tmp_path):
    with pytest.raises(ReportError) as err:
        kernel.run(new_notebook(cells=[new_code_cell("x = (")]), tmp_path)
    assert err.value.cell_index == 1 and err.value.ename == "SyntaxError"


@pytest.mark.parametrize("template,scope,entity", [("vpr_objectivity", "school", "edu990005"),
                                                   ("shnor_selection", "municipality", "reg99_m001")])
def test_a_real_template_gives_the_same_outputs_either_way(demo_small, tmp_path, template, scope, entity):
    params = {"dataset": str(demo_small), "scope": scope, "entity_id": entity, "year": 2026,
              "cache": str(tmp_path / "cache")}
    nb = parameterize(TEMPLATES / f"{template}.ipynb", params)
    reference = _per_cell(nb, TEMPLATES)
    kernel = WarmKernel(cwd=TEMPLATES, timeout=300)
    try:
        kernel.run(nb, tmp_path)          # warm: the second report of the kernel is the one compared
        got = kernel.run(nb, tmp_path)
    finally:
        kernel.stop()
    ref, ours = _view(reference), _view(got)
    assert len(ref) > 10 and sum(len(outs) for _, outs in ref) > 10
    assert ours == ref


def test_fresh_isolation_executes_a_request_per_cell_and_gives_the_same_notebook(tmp_path):
    """`--isolation fresh` is the reference: a fresh kernel per report, a request per cell (as papermill)."""
    from shnor_utils.batch.config import BatchConfig
    from shnor_utils.batch.execute import kernel_for, stop_kernels

    cfg = BatchConfig.__new__(BatchConfig)
    for name, value in (("templates", tmp_path), ("timeout", 60), ("isolation", "fresh"), ("recycle_after", 100)):
        object.__setattr__(cfg, name, value)
    try:
        fresh = kernel_for(cfg)
        assert fresh.per_cell and fresh.recycle_after == 1
        per_cell = fresh.run(_notebook(), tmp_path)
    finally:
        stop_kernels()
    one = WarmKernel(cwd=tmp_path, timeout=60)
    try:
        assert _view(one.run(_notebook(), tmp_path)) == _view(per_cell)
    finally:
        one.stop()
