"""What a batch tells while it runs: a progress line (done / total, failures, ETA), the batch log
(`output/logs/batch.log`), one log per run (`output/logs/runs/<id>.log`) and the state record."""
from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path

from tqdm import tqdm

from shnor_utils.safeio import atomic_write_text, inside


def now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


class Progress:
    """A progress line over the batch plus a batch log file."""

    def __init__(self, total: int, log_path: Path, out):
        self.out, self.failures = out, 0
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(log_path, "a", encoding="utf-8")
        self.bar = tqdm(total=total, unit="отч", file=sys.stderr, dynamic_ncols=True,
                        disable=not sys.stderr.isatty() or total == 0, bar_format=
                        "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]{postfix}")

    def line(self, text: str) -> None:
        stamp = _dt.datetime.now().strftime("%H:%M:%S")
        self.log.write(f"{stamp} {text}\n")
        self.log.flush()
        if self.bar.disable:
            print(text, file=self.out, flush=True)
        else:
            self.bar.write(text, file=sys.stderr)

    def done(self, res, i: int, total: int) -> None:
        if not res.ok:
            self.failures += 1
        self.bar.set_postfix_str(f"ошибок: {self.failures}")
        self.bar.update(1)
        status = "готово" if res.ok else "ОШИБКА"
        self.line(f"[{i}/{total}] {status} {res.run.label} ({res.seconds:.1f} с)"
                  + (f": {res.cell} {res.error}" if not res.ok else ""))

    def close(self) -> None:
        self.bar.close()
        self.log.close()


def state_record(res) -> dict:
    """The state file of a run (state.RunState): its key, outcome and timings."""
    return {"run_id": res.run.run_id, "key": res.run.key, "ok": res.ok, "error": res.error, "cell": res.cell,
            "seconds": round(res.seconds, 2), **res.timings, "finished": now()}


def write_run_log(output: Path, res) -> Path:
    path = inside(Path(output) / "logs" / "runs", res.run.run_id + ".log")
    text = (f"{res.run.label}\nключ: {res.run.key}\nпараметры: {json.dumps(res.run.parameters, ensure_ascii=False)}\n"
            f"итог: {'готово' if res.ok else 'ОШИБКА'} за {res.seconds:.1f} с\n")
    if not res.ok:
        text += f"{res.cell}: {res.error}\n"
    return atomic_write_text(path, text)


def append_log(output: Path, text: str) -> None:
    with open(Path(output) / "logs" / "batch.log", "a", encoding="utf-8") as log:
        log.write(f"{_dt.datetime.now():%H:%M:%S} {text}\n")
