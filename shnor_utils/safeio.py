"""Safe writing: atomic files and paths that never leave their output folder."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from shnor_utils.errors import ParameterError

_SAFE = re.compile(r"[^0-9A-Za-zА-Яа-яЁё_.-]+")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` via a temporary file in the same folder and an atomic rename:
    a reader sees the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def safe_component(value: str) -> str:
    """A file-name component made from an id: only letters, digits, `_`, `-`, `.`; never `..`."""
    text = _SAFE.sub("_", str(value)).strip("._") or "_"
    return text[:100]


def inside(root: str | Path, *parts: str) -> Path:
    """`root/part/…` built from sanitised parts, checked to stay inside `root`."""
    root = Path(root).resolve()
    path = root.joinpath(*(safe_component(p) for p in parts)).resolve()
    if path != root and root not in path.parents:
        raise ParameterError(f"путь «{path}» выходит за пределы папки «{root}»")
    return path
