"""Issue 17, point 10: one batch at a time per output folder — a second `shnor run`, `render` or
`index` is refused with a message naming the holder (pid, host, start time); a lock left by a dead
process is taken over."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from shnor_utils import cli
from shnor_utils.batch.lock import BatchBusy, OutputLock
from shnor_utils.batch.runner import index_batch, render_batch, run_batch

from tests.batch.probe import make_region
from tests.conftest import ROOT

HOLD = """import sys, time
from shnor_utils.batch.lock import OutputLock
lock = OutputLock(sys.argv[1], command="shnor run другой").acquire()
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def region(tmp_path, demo_small):
    return make_region(tmp_path, demo_small)


@pytest.fixture
def holder(region):
    """Another process holding the lock of the region's output folder."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(region["output"])], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_batch_is_refused_naming_the_holder(region, holder, capsys):
    params = region["params"]()
    for command in ("run", "render", "index"):
        assert cli.main([command, str(params)]) == 2
        err = capsys.readouterr().err
        assert f"процесс {holder.pid} на компьютере «{socket.gethostname()}», начат 20" in err, err
        assert "shnor run другой" in err and "Traceback" not in err
    for fn in (run_batch, render_batch, index_batch):
        with pytest.raises(BatchBusy):
            fn(params)
    assert not (region["output"] / "index.html").exists()       # nothing was written by the refused runs
    assert not (region["output"] / ".cache").exists()


def test_the_lock_is_released_when_its_holder_dies(region, holder):
    holder.kill()
    holder.wait()
    with OutputLock(region["output"]) as lock:                   # no waiting, no manual clean-up
        info = json.loads((region["output"] / ".lock").read_text(encoding="utf-8"))
        assert info["pid"] == os.getpid() and lock.fd is not None
    assert (region["output"] / ".lock").read_text() == ""        # released: the file names nobody


def test_a_stale_lock_file_of_a_dead_pid_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                                "started": "2020-01-01T00:00:00"}), encoding="utf-8")
    with OutputLock(tmp_path):
        assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()


def test_in_one_process_a_second_lock_is_refused_too(tmp_path):
    with OutputLock(tmp_path):
        with pytest.raises(BatchBusy, match=f"процесс {os.getpid()}"):
            OutputLock(tmp_path).acquire()
    with OutputLock(tmp_path):   # and free again after
        pass
