"""Executing report notebooks: a warm kernel per worker (fast), or a fresh kernel per report
(`recycle_after=1`, full isolation). Parameters are injected by Papermill's own
`parameterize_notebook` (the `injected-parameters` cell), exactly as `papermill -p` does.

Papermill's `execute_notebook(cwd=…)` changes the driver process's working directory, which is
not safe with several reports in parallel threads; kernels here get their folder at start-up.

Warm mode (perf_floor.md, method c): each worker keeps one ipykernel alive and runs report after
report in it. A report is one request to the kernel (inkernel.py): a hidden reset clears the user
namespace (`%reset -f`) and restores what a report could have changed (matplotlib rcParams, pandas
options, cwd, sys.path, environment, warnings filters), moves into the run's scratch folder, and
then the report's cells run one after another in the kernel, their outputs handed back to nbclient
as if each cell had been a request of its own (tests/batch/test_one_request.py). The kernel is
recycled every `recycle_after` reports and after any failure, so a broken state never reaches
the next report. Kernels talk over IPC sockets in a private folder: no TCP ports, so parallel
kernel start-ups cannot race for a port.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from shnor_utils.errors import ReportError, ShnorError

KERNEL_NAME = "python3"

RESET_CODE = '''\
import os as _shnor_os
_shnor_os.chdir({home!r})  # the previous run's scratch folder is gone: leave it first
import sys as _shnor_sys
if "_shnor_state" not in _shnor_sys.modules:
    import os, types, warnings, matplotlib
    _st = types.ModuleType("_shnor_state")
    _st.rc, _st.cwd, _st.path = dict(matplotlib.rcParams), os.getcwd(), list(_shnor_sys.path)
    _st.env, _st.filters = dict(os.environ), list(warnings.filters)
    _shnor_sys.modules["_shnor_state"] = _st
else:
    get_ipython().run_line_magic("reset", "-f")
    import sys, os, warnings, matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd
    _st = sys.modules["_shnor_state"]
    plt.close("all")
    matplotlib.rcParams.update(_st.rc)
    os.chdir(_st.cwd)
    sys.path[:] = _st.path
    os.environ.clear()
    os.environ.update(_st.env)
    warnings.filters[:] = _st.filters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.reset_option("all")
import gc as _shnor_gc
_shnor_gc.freeze()   # what survived the reset (modules, the memoised dataset) is not scanned by later collections
import os as _shnor_os
_shnor_os.chdir({scratch!r})
del _shnor_os, _shnor_gc, _st
_shnor_sys = None
del _shnor_sys
# the report's cells numbered from 1, as in a fresh kernel (In[3] in a traceback is the third cell of
# every report), in a history session of their own (line numbers stay unique)
get_ipython().history_manager.reset(new_session=True)
get_ipython().execution_count = 1
'''


class KernelError(ShnorError):
    """A Jupyter kernel could not be started."""


def parameterize(template: Path, parameters: dict):
    """The template notebook with papermill's injected-parameters cell (same as `papermill -p`)."""
    from papermill.iorw import load_notebook_node   # papermill is heavy: only for a batch that executes
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(template))
    nb = parameterize_notebook(nb, parameters, kernel_name=KERNEL_NAME, language="python")
    # papermill gives the injected cell a random id; a stable one keeps reports byte-reproducible
    digest = hashlib.sha256(json.dumps(parameters, sort_keys=True, default=str).encode()).hexdigest()[:8]
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = f"params-{digest}"
    return nb


def _failure_from(exc: Exception, nb=None) -> ReportError:
    """A failure of a request: the kernel died, a limit passed, a cell failed. In per-cell execution
    (`nb`: the executed notebook) the failing cell is found by its execution count, as papermill
    reports it; a failing cell of a one-request report is named by `WarmKernel.run`."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError  # with nbclient, below

    count = None
    for cell in (nb.cells if nb is not None else []):
        outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
        if any(o.get("output_type") == "error" for o in outputs):
            count = cell.get("execution_count")
    if isinstance(exc, CellExecutionError):
        return ReportError(f"{exc.ename}: {exc.evalue}", cell_index=count, ename=exc.ename, evalue=exc.evalue)
    if isinstance(exc, CellTimeoutError):
        return ReportError("превышено время выполнения ячейки", cell_index=count, ename="CellTimeoutError")
    if isinstance(exc, DeadKernelError):
        return ReportError("ядро завершилось аварийно", ename="DeadKernelError")
    return ReportError(f"{type(exc).__name__}: {exc}", cell_index=count, ename=type(exc).__name__, evalue=str(exc))


class WarmKernel:
    """One kernel that runs many reports, reset between them (see module docstring)."""

    def __init__(self, *, cwd: Path, timeout: int = 600, recycle_after: int = 100, start_retries: int = 3,
                 per_cell: bool = False):
        """`per_cell`: every cell a request of its own, as papermill and nbclient execute a notebook
        (`--isolation fresh`: the reference behaviour); else the report is one request (inkernel.py)."""
        self.cwd, self.timeout = Path(cwd), timeout
        self.recycle_after, self.start_retries, self.per_cell = recycle_after, start_retries, per_cell
        self.client = None
        self.used = 0
        self.sockets = None

    def start(self) -> None:
        from nbclient import NotebookClient   # heavy (jupyter_client, zmq): only where reports execute

        last = None
        for attempt in range(self.start_retries):
            # named with our pid: a later batch removes it if this process was killed (lock.clean_leftovers)
            self.sockets = Path(tempfile.mkdtemp(prefix=f"shnor-k-{os.getpid()}-"))
            client = NotebookClient(nbformat.v4.new_notebook(), kernel_name=KERNEL_NAME, timeout=self.timeout,
                                    startup_timeout=120, shutdown_kernel="immediate", resources={"metadata": {"path": str(self.cwd)}})
            try:
                client.km = client.create_kernel_manager()
                client.km.transport = "ipc"
                client.km.ip = str(self.sockets / "k")
                client.km.connection_file = str(self.sockets / "kernel.json")   # not in the Jupyter runtime folder
                client.start_new_kernel(cwd=str(self.cwd))
                client.start_new_kernel_client()
                self.client, self.used = client, 0
                return
            except Exception as exc:  # a kernel that did not come up: clean and retry
                last = exc
                self._shutdown(client)
                time.sleep(0.5 * (attempt + 1))
        raise KernelError(f"ядро Jupyter не запустилось после {self.start_retries} попыток: {last}")

    def run(self, nb, scratch: Path):
        """Execute a parameterised notebook in this kernel; returns the executed notebook.

        One request per report (inkernel.py): the hidden reset, then every code cell run in the
        kernel by IPython's `run_cell`, their output messages kept and handed here to nbclient's
        own `process_message`, cell by cell — the notebook per-cell execution gives, without ≈ 22
        round trips of messages per report."""
        if self.per_cell:
            return self._run_per_cell(nb, scratch)
        if self.client is None or self.used >= self.recycle_after:
            self.restart()
        nb = copy.deepcopy(nb)
        code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        job, result = scratch / "_shnor_cells.json", scratch / "_shnor_outputs.json"
        job.write_text(json.dumps({"timeout": self.timeout, "cells": [
            {"source": c.source, "tags": list(c.metadata.get("tags", []))} for _, c in code]}, ensure_ascii=False),
            encoding="utf-8")
        request = nbformat.v4.new_notebook(metadata=nb.metadata, cells=[new_code_cell(
            RESET_CODE.format(scratch=str(scratch), home=str(self.cwd))
            + f"import shnor_utils.batch.inkernel as _shnor_k\n_shnor_k.run_cells({str(job)!r}, {str(result)!r})\n"
              "del _shnor_k\n")])
        self.client.nb = request
        self.client.reset_execution_trackers()
        # the cells' own limit is kept in the kernel (inkernel.run_cells); this one is for code
        # that no signal interrupts
        self.client.timeout = self.timeout * max(1, len(code)) + 60
        self.used += 1
        try:
            self.client.execute(cleanup_kc=False)
            done = json.loads(result.read_text(encoding="utf-8"))
        except Exception as exc:
            failure = _failure_from(exc)
            self.restart()          # never hand a possibly broken kernel to the next report
            raise failure from exc
        nb.metadata = request.metadata
        self.client.nb = nb         # display-id updates reach outputs through the client's notebook
        try:
            self._fill(code, done)
        finally:
            self.client.nb = None
        err = done.get("error")
        if err:
            count = done["cells"][err["cell"]]["count"]
            self.restart()
            if err["timeout"]:
                raise ReportError("превышено время выполнения ячейки", cell_index=count, ename="CellTimeoutError")
            raise ReportError(f"{err['ename']}: {err['evalue']}", cell_index=count, ename=err["ename"], evalue=err["evalue"])
        return nb

    def _run_per_cell(self, nb, scratch: Path):
        """`run` with a request per cell: the hidden reset cell first, then nbclient as papermill runs it."""
        if self.client is None or self.used >= self.recycle_after:
            self.restart()
        nb = copy.deepcopy(nb)
        nb.cells.insert(0, new_code_cell(RESET_CODE.format(scratch=str(scratch), home=str(self.cwd))))
        self.client.nb = nb
        self.client.reset_execution_trackers()
        self.used += 1
        try:
            self.client.execute(cleanup_kc=False)
        except Exception as exc:
            failure = _failure_from(exc, nb)
            self.restart()          # never hand a possibly broken kernel to the next report
            raise failure from exc
        nb.cells.pop(0)
        # and in the notebook: nbclient takes the count from the kernel's reply, which lags the reset
        executed = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
        for k, cell in enumerate(executed, start=1):
            cell.execution_count = k
            for out in cell.get("outputs", []):
                if out.get("execution_count"):
                    out["execution_count"] = k
        return nb

    def _fill(self, code: list, done: dict) -> None:
        """The kept output messages into the notebook's cells, through nbclient (see `run`)."""
        for (index, cell), record in zip(code, done["cells"]):
            if record is None:       # skip-execution
                continue
            cell.outputs = []
            for m in record["messages"]:
                msg = {"msg_type": m["msg_type"], "header": {"msg_type": m["msg_type"]}, "parent_header": {},
                       "metadata": {}, "content": m["content"]}
                self.client.process_message(msg, cell, index)
            cell.execution_count = record["count"]
            if self.client.record_timing:
                cell.metadata["execution"] = {"iopub.status.busy": record["started"], "iopub.execute_input": record["started"],
                                              "shell.execute_reply": record["finished"], "iopub.status.idle": record["finished"]}

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.client is not None:
            self._shutdown(self.client)
            self.client = None

    def _shutdown(self, client) -> None:
        try:
            client._cleanup_kernel()   # nbclient's own: stops channels, shuts the kernel down now
        except Exception:
            pass
        if self.sockets:
            shutil.rmtree(self.sockets, ignore_errors=True)
