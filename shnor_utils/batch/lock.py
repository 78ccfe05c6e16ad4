"""One batch at a time per output folder: `output/.lock`.

`shnor run`, `shnor render` and `shnor index` take the lock before they touch the output folder
(cache, state, reports, index). The lock is an exclusive `flock` on `output/.lock`, which the
system releases when the process ends in any way (even `kill -9`); the file also names the holder
(pid, host, start time, command) so a second batch can say who holds it. A lock file left by a
process that is gone (no flock, or a dead pid on this host) is simply taken over.
Also here: the clean-up of what a killed batch left behind (temporary files of atomic writes in
the output folder, scratch and kernel-socket folders of dead processes in $TMPDIR).
"""
from __future__ import annotations

import datetime as _dt
import errno
import json
import os
import re
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from shnor_utils.errors import ShnorError
from shnor_utils.safeio import output_error, remove_stale_temporaries

LOCK_NAME = ".lock"
# scratch folders of runs and kernel sockets, named with the pid of the batch that made them
SCRATCH = re.compile(r"^shnor-(?:run|k)-(\d+)-")

try:
    import fcntl
except ImportError:   # not on Windows: the pid in the file is all there is
    fcntl = None


class BatchBusy(ShnorError):
    """Another batch holds the output folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def describe(info: dict) -> str:
    return (f"процесс {info.get('pid', '?')} на компьютере «{info.get('host', '?')}», "
            f"начат {info.get('started', '?')}" + (f" ({info['command']})" if info.get("command") else ""))


class OutputLock:
    """`with OutputLock(output): …` — the output folder for this process only (module docstring)."""

    def __init__(self, output: Path, command: str = ""):
        self.output, self.path, self.command = Path(output), Path(output) / LOCK_NAME, command
        self.fd: int | None = None

    def read(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> "OutputLock":
        try:
            self.output.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise output_error(self.path, exc) from exc
        try:
            holder = self._lock(fd)
            if holder:
                raise BatchBusy(f"папку «{self.output}» сейчас использует другой пакет: {describe(holder)}. "
                                "Дождитесь его окончания или укажите другую папку output; если этого процесса "
                                f"уже нет, удалите файл «{self.path}»")
            info = {"pid": os.getpid(), "host": socket.gethostname(),
                    "started": _dt.datetime.now().isoformat(timespec="seconds"), "command": self.command}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info, ensure_ascii=False).encode("utf-8"), 0)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def _lock(self, fd: int) -> dict | None:
        """None when this process now holds the lock, else the holder's description."""
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return None   # a lock file without a flock is a dead batch's: taken over
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    return self.read() or {"pid": "?"}
                # a file system without flock: fall back to the pid in the file
        info = self.read()
        same_host = info.get("host") == socket.gethostname()
        if info.get("pid") and info.get("pid") != os.getpid() and (not same_host or _alive(int(info["pid"]))):
            return info
        return None

    def release(self) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)   # the file stays (unlinking a locked file races with the next batch)
            except OSError:
                pass
            os.close(self.fd)   # closing releases the flock
            self.fd = None

    def __enter__(self) -> "OutputLock":
        return self if self.fd is not None else self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def clean_leftovers(*folders: Path) -> list[Path]:
    """What killed batches left behind: temporary files of atomic writes in `folders` (the output
    and runs folders — call with the output lock held) and, in $TMPDIR, the scratch and
    kernel-socket folders of processes that are gone. Returns what was removed."""
    removed: list[Path] = []
    for folder in folders:
        removed += remove_stale_temporaries(folder)
        cache = Path(folder) / ".cache"   # half-written dataset snapshots (`.dataset-<key>.<random>`)
        for entry in (cache.glob(".dataset-*") if cache.is_dir() else []):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    tmp = Path(tempfile.gettempdir())
    try:
        entries = list(tmp.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = SCRATCH.match(entry.name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            try:
                if entry.is_dir() and entry.stat().st_uid == os.getuid():
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry)
            except OSError:
                pass
    return removed


def command_line() -> str:
    return " ".join(["shnor", *sys.argv[1:]])[:200]
