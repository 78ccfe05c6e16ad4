"""Kernel side of a report in one request (imported inside the warm kernel, never by the driver).

A report used to cost one execute request per cell: ≈ 22 round trips, each with its status, input,
output and reply messages serialised, signed, sent, received, checked and parsed on both sides —
≈ 0.1 s of CPU per report in the kernel and the driver together, on the two cores the reports
themselves need. Here the driver sends one request; `run_cells` executes the report's cells one
after another through IPython's own `run_cell`, exactly as the kernel's execute handler does (same
transforms, display formatters, display hook, traceback formatting, history, execution counts), and
keeps the output messages ipykernel builds for each cell instead of sending them. The driver then
gives those messages to nbclient's own `process_message` (kernel.WarmKernel.run), so the executed
notebook is what per-cell execution gives: streams, display data, display-id updates, clear_output,
execute results and errors alike.

Every message passes through `Session.send`; while a report runs, that method is wrapped on the
kernel's session (streams are flushed by the IO thread, so the wrapper is thread-safe) and restored
after. Each cell has its own time limit (SIGALRM in the kernel's main thread, where cells run),
reported as the cell's time-out; the driver keeps an overall limit for code that ignores signals.
A cell with top-level `await` cannot run inside the request (the kernel's event loop is already
running); no template has one — such a template runs with `--isolation fresh`, a request per cell.
"""
from __future__ import annotations

import datetime as _dt
import json
import signal
import sys
import threading

OUTPUT_TYPES = {"stream", "display_data", "update_display_data", "execute_result", "error", "clear_output"}


class CellTimeout(BaseException):
    """A cell ran over its time limit (raised by the alarm in the cell's own frame; not an `Exception`,
    so a cell's own `except Exception:` does not swallow it)."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat().replace("+00:00", "Z")


class _Capture:
    """Wraps `session.send`: output messages go to the current cell's list, others are sent."""

    def __init__(self, session):
        self.session, self.lock, self.cell = session, threading.Lock(), None
        self.original = session.send

    def send(self, stream, msg_or_type, content=None, parent=None, ident=None, buffers=None, track=False,
             header=None, metadata=None):
        msg_type = msg_or_type["header"]["msg_type"] if isinstance(msg_or_type, dict) else msg_or_type
        with self.lock:
            cell = self.cell
            if cell is not None and msg_type in OUTPUT_TYPES:
                body = msg_or_type["content"] if isinstance(msg_or_type, dict) else content
                # the session's own packer, as on the wire (json_default for dates, bytes …)
                cell.append({"msg_type": msg_type, "content": json.loads(self.session.pack(body))})
                return None
        return self.original(stream, msg_or_type, content=content, parent=parent, ident=ident, buffers=buffers,
                             track=track, header=header, metadata=metadata)

    def __enter__(self):
        self.session.send = self.send
        return self

    def __exit__(self, *exc):
        del self.session.send   # the class's method again


def _alarm(signum, frame):
    raise CellTimeout("превышено время выполнения ячейки")


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:   # a stream a cell replaced and closed: nothing to flush
            pass


def run_cells(job_path: str, out_path: str) -> None:
    """Execute the job's cells (`{"cells": [{"source", "tags"}], "timeout": s}`) in this shell; write
    `{"cells": [{"count", "messages", "started", "finished"}], "error": null | {"cell", "ename", "evalue",
    "timeout"}}` to `out_path` (`count`: the cell's execution count — from 1, the reset before this call
    numbers every report from 1). Stops at the first failing cell unless it is tagged
    `raises-exception` (nbclient's rule); cells tagged `skip-execution` are not run."""
    from IPython import get_ipython

    shell = get_ipython()   # the kernel's shell
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    timeout = job.get("timeout") or 0
    cells, error = [], None
    old = signal.signal(signal.SIGALRM, _alarm) if timeout else None
    capture = _Capture(shell.kernel.session)
    try:
        with capture:
            for i, spec in enumerate(job["cells"]):
                tags = spec.get("tags") or []
                if "skip-execution" in tags:
                    cells.append(None)
                    continue
                record = {"count": shell.execution_count, "messages": [], "started": _now()}
                capture.cell = record["messages"]
                if timeout:
                    signal.setitimer(signal.ITIMER_REAL, timeout)
                try:
                    result = shell.run_cell(spec["source"], store_history=True, silent=False)
                finally:
                    if timeout:
                        signal.setitimer(signal.ITIMER_REAL, 0)
                    _flush()
                    with capture.lock:
                        capture.cell = None
                record["finished"] = _now()
                cells.append(record)
                if not result.success and "raises-exception" not in tags:
                    exc = result.error_in_exec or result.error_before_exec
                    error = {"cell": i, "ename": type(exc).__name__, "evalue": str(exc),
                             "timeout": isinstance(exc, CellTimeout)}
                    break
    finally:
        if old is not None:
            signal.signal(signal.SIGALRM, old)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"cells": cells, "error": error}, f, ensure_ascii=False)
