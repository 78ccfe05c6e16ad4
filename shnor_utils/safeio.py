"""Safe writing: atomic files with the umask's normal modes, paths that never leave their output
folder, file names that never collide, and text cells a spreadsheet never evaluates."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from shnor_utils.errors import ParameterError, ShnorError

_SAFE = re.compile(r"[^0-9A-Za-zА-Яа-яЁё_.-]+")
HASH_MARK = "~"   # never left by the cleaning (not an allowed character): a cleaned name is never another id
TMP_SUFFIX = ".tmp"
_umask_lock = threading.Lock()


class OutputError(ShnorError, OSError):
    """A file or folder could not be written (read-only folder, a folder where a file belongs, full disk)."""


def current_umask() -> int:
    """The process umask, read without changing it where the system tells it (Linux /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:   # elsewhere: set and restore (a short window, under a lock)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def output_error(path, exc: OSError) -> OutputError:
    """A Russian sentence for an OSError while writing `path`."""
    reasons = {errno.EACCES: "нет прав на запись", errno.EPERM: "нет прав на запись",
               errno.EROFS: "файловая система только для чтения", errno.EISDIR: "на этом месте папка, а не файл",
               errno.ENOTDIR: "часть пути — файл, а не папка",
               errno.EEXIST: "часть пути — файл, а не папка", errno.ENOSPC: "на диске нет места",
               errno.EDQUOT: "превышена квота диска", errno.ENAMETOOLONG: "слишком длинное имя"}
    reason = reasons.get(exc.errno, f"ошибка записи ({exc.strerror or type(exc).__name__})")
    err = OutputError(f"не удалось записать «{path}»: {reason}")
    err.errno = exc.errno
    return err


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` via a temporary file in the same folder and an atomic rename:
    a reader sees the old file or the new one, never half of one. The file gets the mode a plain
    `open()` would give it (0666 minus the umask), not mkstemp's private 0600."""
    return atomic_write_with(path, lambda fh: fh.write(data))


def atomic_write_with(path: str | Path, write) -> Path:
    """As `atomic_write_bytes`, the content written by `write(binary file)` (a large file need not be
    held in memory as bytes first)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"не удалось записать «{path}»: на этом месте папка, а не файл")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~current_umask())
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise output_error(path, exc) from exc
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def make_temp_dir(prefix: str, dir: str | Path | None = None) -> Path:
    """`tempfile.mkdtemp` with the umask's normal folder mode (0777 minus the umask), for a folder
    that is renamed into place as an output."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=dir))
    os.chmod(folder, 0o777 & ~current_umask())
    return folder


@contextlib.contextmanager
def atomic_folder(target: str | Path):
    """Build a folder under a temporary name beside `target` (normal folder mode) and rename it into
    place when the block ends without error: readers see no folder or a complete one. If the block or
    the rename fails, the temporary folder goes; a rename that fails because another process put a
    complete `target` there first is not an error (both wrote the same content)."""
    target = Path(target)
    tmp = make_temp_dir(prefix=f".{target.name}.", dir=target.parent)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not target.exists():
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def safe_component(value: str) -> str:
    """A file-name component made from an id: only letters, digits, `_`, `-`, `.`; never `..`.
    Injective: an id the cleaning changes gets `~` and a short hash of the original id, and `~`
    is never left by the cleaning, so two different ids never share a name (`a/b` → `a_b~…`,
    `a_b` → `a_b`, `.` and `..` → two different `_~…`)."""
    original = str(value)
    text = _SAFE.sub("_", original).strip("._") or "_"
    if text == original and len(text) <= 100:
        return text
    digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{text[:100]}{HASH_MARK}{digest}"


def inside(root: str | Path, *parts: str) -> Path:
    """`root/part/…` built from sanitised parts, checked to stay inside `root`."""
    root = Path(root).resolve()
    path = root.joinpath(*(safe_component(p) for p in parts)).resolve()
    if path != root and root not in path.parents:
        raise ParameterError(f"путь «{path}» выходит за пределы папки «{root}»")
    return path


_TMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def remove_stale_temporaries(root: str | Path) -> list[Path]:
    """Delete the temporary files atomic writes left under `root` when a process was killed
    (`.<name>.<8 random>.tmp`); call it only while holding the folder's lock (batch/lock.py)."""
    root, removed = Path(root), []
    if not root.is_dir():
        return removed
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if _TMP_NAME.match(name):
                path = Path(dirpath) / name
                try:
                    path.unlink()
                    removed.append(path)
                except OSError:
                    pass
    return removed


# --- text a spreadsheet would evaluate (OWASP «CSV injection») ---
_FORMULA = re.compile(r"^[\s\u00a0\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r\n]")


def neutral(value):
    """A text cell made inert for Excel/LibreOffice: text starting with `=`, `+`, `-`, `@` (also after
    leading spaces), or with a tab, CR or line feed, is prefixed with `'`; anything else (numbers,
    other text, None) is returned unchanged."""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def neutral_frame(frame):
    """A copy of `frame` whose text columns are neutralised (`neutral`); numeric columns untouched."""
    import pandas as pd   # pandas only where a frame is given

    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            mask = series.map(lambda v: isinstance(v, str) and bool(_FORMULA.match(v)), na_action="ignore")
            mask = mask.fillna(False).astype(bool)
            if mask.any():
                fixed = series.astype(object).where(~mask, "'" + series.astype(object).where(mask, "").astype(str))
                out[col] = fixed.astype(series.dtype) if pd.api.types.is_string_dtype(series.dtype) else fixed
    return out
