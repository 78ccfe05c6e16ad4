"""Executing one run: its template, parameterised, in the worker thread's warm kernel → the
executed notebook (`runs_dir/…/<template>.ipynb`, with provenance in its metadata). Nothing is
rendered here (render.py). A failed or interrupted run writes no notebook, only its error."""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from shnor_utils.batch.config import BatchConfig
from shnor_utils.batch.kernel import WarmKernel, parameterize
from shnor_utils.batch.plan import Run
from shnor_utils.errors import ReportError, ShnorError
from shnor_utils.safeio import atomic_write_bytes


@dataclass
class Result:
    """The outcome of one run. `cell` and `error` are the texts of the state file and the summary
    («ячейка 3», «RuntimeError: …»); `failure` keeps the structured error (cell index, exception)."""
    run: Run
    ok: bool
    seconds: float
    error: str = ""
    cell: str = ""
    skipped: bool = False
    timings: dict = field(default_factory=dict)
    failure: ShnorError | None = None
    notebook: object = field(default=None, repr=False)   # the executed notebook, for the renderer

    @classmethod
    def failed(cls, run: Run, seconds: float, exc: Exception) -> "Result":
        if isinstance(exc, ReportError):
            exc.report = exc.report or run.label
            cell = f"ячейка {exc.cell_index}" if exc.cell_index is not None else "ядро"
            return cls(run, False, seconds, error=exc.message, cell=cell, failure=exc)
        failure = exc if isinstance(exc, ShnorError) else ReportError(
            f"{type(exc).__name__}: {exc}", report=run.label, ename=type(exc).__name__, evalue=str(exc))
        return cls(run, False, seconds, error=f"{type(exc).__name__}: {exc}", failure=failure)


_kernels = threading.local()
_all_kernels: list = []
_lock = threading.Lock()


def kernel_for(cfg: BatchConfig) -> WarmKernel:
    """This thread's warm kernel (started on its first report)."""
    kernel = getattr(_kernels, "kernel", None)
    # fresh isolation = a new kernel for every report (recycled after each one)
    recycle = 1 if cfg.isolation == "fresh" else cfg.recycle_after
    if kernel is not None and (kernel.cwd, kernel.timeout, kernel.recycle_after, kernel.per_cell) != (
            Path(cfg.templates), cfg.timeout, recycle, cfg.isolation == "fresh"):
        kernel.stop()   # a cluster worker's kernel of an earlier batch with other settings
        kernel = None
    if kernel is None:
        # fresh isolation also executes as papermill does, a request per cell: the reference behaviour
        kernel = WarmKernel(cwd=cfg.templates, timeout=cfg.timeout, recycle_after=recycle, per_cell=cfg.isolation == "fresh")
        _kernels.kernel = kernel
        with _lock:
            _all_kernels.append(kernel)
    return kernel


def stop_kernels() -> None:
    """Stop every kernel this process started (end of a batch)."""
    with _lock:
        kernels = list(_all_kernels)
        _all_kernels.clear()
    for kernel in kernels:
        kernel.stop()
    _kernels.__dict__.clear()


def execute(run: Run, cfg: BatchConfig, provenance: dict) -> Result:
    """Execute one run and write its executed notebook atomically; the result carries the notebook."""
    start = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix=f"shnor-run-{os.getpid()}-"))
    template = cfg.templates / f"{run.template}.ipynb"
    try:
        nb = kernel_for(cfg).run(parameterize(template, run.parameters), scratch)
        t_exec = time.perf_counter()
        nb.metadata["shnor"] = {**nb.metadata.get("shnor", {}), "provenance": {
            **provenance, "template": run.template, "template_sha256": provenance.get("templates", {}).get(run.template),
            "parameters": run.parameters, "key": run.key, "executed_at": _dt.datetime.now().isoformat(timespec="seconds")}}
        nb.metadata["shnor"]["provenance"].pop("templates", None)
        atomic_write_bytes(run.notebook, nbformat.writes(nb).encode("utf-8"))
        timings = {"execute_s": round(t_exec - start, 3), "write_s": round(time.perf_counter() - t_exec, 3)}
    except Exception as exc:  # cell error, dead kernel, timeout, kernel start: isolate this run
        return Result.failed(run, time.perf_counter() - start, exc)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Result(run, True, time.perf_counter() - start, timings=timings, notebook=nb)
