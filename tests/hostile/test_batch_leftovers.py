"""Issue 17, point 11: what a killed batch leaves behind is removed at the next start (temporary
files of atomic writes, half-written cache snapshots, scratch and kernel-socket folders of dead
processes in $TMPDIR); SIGTERM ends a batch like Ctrl+C — a Russian message, exit code 143, no
half-written file, the lock released, the next run resumes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from shnor_utils.batch.lock import clean_leftovers

from tests.batch.probe import executed, make_region, run
from tests.conftest import ROOT


@pytest.fixture
def region(tmp_path, demo_small):
    return make_region(tmp_path, demo_small)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_are_removed_at_the_next_start(region, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = region["output"]
    (out / "school" / "x").mkdir(parents=True)
    (out / ".cache" / ".dataset-0123abcd.k2j4h5g6").mkdir(parents=True)
    leftovers = [out / ".indicators.xlsx.ab_c1234.tmp", out / "school" / "x" / ".probe.html.zz9y8x7w.tmp"]
    for p in leftovers:
        p.write_bytes(b"half")
    pid = dead_pid()
    gone = [scratch / f"shnor-run-{pid}-abc", scratch / f"shnor-k-{pid}-def"]
    alive = [scratch / f"shnor-run-{os.getppid()}-abc", scratch / "shnor-k-xyz", scratch / "other-123-x"]
    for d in gone + alive:
        d.mkdir()
    kept = [out / "my.tmp", out / ".notes.tmp", out / "school" / "x" / "probe.html"]
    for p in kept:
        p.write_text("mine")
    code, text = run(region["params"](), dry_run=True)        # any batch start cleans up
    assert code == 0, text
    for p in leftovers + gone + [out / ".cache" / ".dataset-0123abcd.k2j4h5g6"]:
        assert not p.exists(), p
    for p in alive + kept:
        assert p.exists(), p


def test_clean_leftovers_on_missing_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert clean_leftovers(tmp_path / "nope", tmp_path / "nope2") == []


def test_sigterm_ends_the_batch_cleanly_and_it_resumes(region, tmp_path):
    params = region["params"](parameters={"sleep_all": 1.5})
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)}
    proc = subprocess.Popen([sys.executable, "-m", "shnor_utils.cli", "run", str(params), "--workers", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = region["output"] / ".state" / "runs"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(state.glob("*.json"))) < 1:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "SIGTERM" in err and "Traceback" not in err
    done = len(list(state.glob("*.json")))
    assert 1 <= done < 4
    assert not [p for p in region["output"].rglob("*") if p.name.endswith(".tmp")]
    for html in region["output"].rglob("probe.html"):
        assert html.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert not [p for p in scratch.iterdir() if p.name.startswith("shnor-")], list(scratch.iterdir())
    assert (region["output"] / ".lock").read_text() == ""       # released
    code, text = run(params)
    assert code == 0 and len(executed(text)) == 4 - done
