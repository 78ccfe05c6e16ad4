"""Issue 17, point 7: a message, never a traceback — bad batch settings, `--out` that cannot be
written, a read-only or impossible output folder, a damaged batch cache (rebuilt), and any unexpected
error (one Russian line, exit code 3, the details in a log file it names)."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile

import pandas as pd
import pytest

from shnor_utils import cli
from shnor_utils.batch.plan import load_params
from shnor_utils.batch.prepare import prepare
from shnor_utils.indicators import COLUMNS
from shnor_utils.session import indicators_path, snapshot_path
from shnor_utils.data.dataset import files_stamp

from tests.batch.probe import make_region
from tests.conftest import ROOT


@pytest.fixture
def region(tmp_path, demo_small):
    return make_region(tmp_path, demo_small)


@pytest.fixture
def tiny_indicators(monkeypatch):
    frame = pd.DataFrame([{"level": "region", "entity_id": "region", "year": 2026, "indicator_id": "x",
                           "value": 1.0}], columns=COLUMNS)
    monkeypatch.setattr(cli, "compute_all", lambda ds, meth: frame)


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("setting, words", [
    ({"timeout": "abc"}, "timeout должен быть целым"),
    ({"recycle_after": [1, 2]}, "recycle_after должен быть целым"),
    ({"timeout": 0}, "timeout должен быть не меньше 1"),
    ({"recycle_after": -3}, "recycle_after должен быть не меньше 1"),
])
def test_bad_batch_settings_are_one_russian_line(region, capsys, setting, words):
    assert cli.main(["run", str(region["params"](**setting))]) == 2
    assert words in one_line(capsys.readouterr().err)


def test_out_onto_a_folder(tmp_path, demo_small, tiny_indicators, capsys):
    assert cli.main(["indicators", str(demo_small), "--out", str(tmp_path)]) == 2
    assert "на этом месте папка, а не файл" in one_line(capsys.readouterr().err)


def test_out_under_a_file(tmp_path, demo_small, tiny_indicators, capsys):
    (tmp_path / "file.txt").write_text("x")
    assert cli.main(["indicators", str(demo_small), "--out", str(tmp_path / "file.txt" / "x.csv")]) == 2
    assert "часть пути — файл, а не папка" in one_line(capsys.readouterr().err)


def test_out_into_a_folder_without_write_permission(tmp_path, demo_small, tiny_indicators, capsys, monkeypatch):
    # as root no folder is read-only, so the refusal of the system is simulated where the file is created
    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    assert cli.main(["indicators", str(demo_small), "--out", str(tmp_path / "x.csv")]) == 2
    assert "нет прав на запись" in one_line(capsys.readouterr().err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_into_a_read_only_folder(tmp_path, demo_small, tiny_indicators, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert cli.main(["indicators", str(demo_small), "--out", str(folder / "x.csv")]) == 2
    finally:
        folder.chmod(0o755)
    assert "нет прав на запись" in one_line(capsys.readouterr().err)


def test_an_output_folder_that_cannot_be_written(region, capsys, monkeypatch):
    params = region["params"]()
    region["output"].write_text("a file where the output folder belongs")
    assert cli.main(["run", str(params)]) == 2
    assert "не удалось записать" in one_line(capsys.readouterr().err)
    region["output"].unlink()

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr("shnor_utils.batch.lock.os.open", denied)   # a read-only output/ (simulated: tests run as root)
    for command in ("run", "render", "index"):
        assert cli.main([command, str(params)]) == 2
        assert "нет прав на запись" in one_line(capsys.readouterr().err)


def test_a_damaged_batch_cache_is_rebuilt(region, capsys):
    cfg = load_params(region["params"]())
    meth, ds, first = prepare(cfg)
    cached = indicators_path(cfg.cache, ds, meth)
    snapshot = snapshot_path(cfg.cache, files_stamp(cfg.dataset, meth.digest))
    # truncate the indicator table and one table of the dataset snapshot
    cached.write_bytes(cached.read_bytes()[:100])
    table = snapshot / "vpr.parquet"
    table.write_bytes(table.read_bytes()[: len(table.read_bytes()) // 2])
    meth, ds2, again = prepare(cfg)
    pd.testing.assert_frame_equal(first, again)
    assert len(ds2.tables["vpr"]) == len(ds.tables["vpr"])
    assert pd.read_parquet(cached).shape == first.shape          # the cache is whole again
    assert len(pd.read_parquet(snapshot / "vpr.parquet")) == len(ds.tables["vpr"])
    assert "Кэш пакета повреждён" in capsys.readouterr().err


def test_an_unexpected_error_is_one_line_and_a_log(tmp_path, monkeypatch, capsys):
    def boom(args):
        raise RuntimeError("внутренний сбой\nвторая строка")
    monkeypatch.setattr(cli, "_validate", boom)
    monkeypatch.setenv("SHNOR_LOG_DIR", str(tmp_path / "logs"))
    assert cli.main(["validate", "whatever"]) == 3
    line = one_line(capsys.readouterr().err)
    assert line.startswith("Непредвиденная ошибка (RuntimeError: внутренний сбой вторая строка)")
    (log,) = (tmp_path / "logs").glob("shnor-*.log")
    assert str(log) in line
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "boom" in text and "validate whatever" in text
    assert os.stat(log).st_mode & 0o077 == 0                     # it may quote data: private


def test_no_traceback_from_the_real_command(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("dataset: x\nreports: [{template: a}]\ntimeout: abc\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "shnor_utils.cli", "run", str(params)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert "timeout должен быть целым" in one_line(proc.stderr)


@pytest.mark.parametrize("name", ["x.xlsx", "x.xls", "x", "x.json"])
def test_indicators_export_refuses_a_file_type_it_would_not_write(tmp_path, capsys, name):
    """`shnor indicators … --out x.xlsx` wrote CSV text into a «.xlsx»: now one Russian line, exit 2,
    nothing written, and the dataset is not even loaded."""
    from shnor_utils.cli import main

    code = main(["indicators", str(tmp_path / "no-such-dataset"), "--out", str(tmp_path / name)])
    err = capsys.readouterr().err
    assert code == 2 and ".csv" in err and ".parquet" in err and "Traceback" not in err
    assert not (tmp_path / name).exists()
