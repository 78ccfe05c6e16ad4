"""The command line: `shnor indicators` writes the tidy table of the contract; errors exit 2 in Russian."""
import pandas as pd

from shnor_utils.cli import main
from shnor_utils.indicators import COLUMNS


def test_indicators_export(tmp_path, demo_small, capsys):
    out = tmp_path / "ind.csv"
    assert main(["indicators", str(demo_small), "--out", str(out)]) == 0
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert list(frame.columns) == COLUMNS
    ids = set(frame["indicator_id"])
    assert {"vpr_journal_lower", "vpr_journal_confirm", "vpr_journal_higher", "vpr_share_2"} <= ids
    assert set(frame["level"]) == {"school", "municipality", "region"}
    shares = frame[frame["indicator_id"].str.startswith("vpr_") & ~frame["indicator_id"].str.endswith("_dd")]["value"].dropna()
    assert shares.between(0, 100).all()


def test_validate_reports_a_bad_dataset_in_russian(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing")]) == 2
    assert "папка набора данных не найдена" in capsys.readouterr().err


def test_validate_good_dataset(demo_small, capsys):
    assert main(["validate", str(demo_small)]) == 0
    assert "соответствует контракту" in capsys.readouterr().out


def test_batch_commands_report_a_missing_parameter_file_in_russian(tmp_path, capsys):
    for command in ("run", "render", "index"):
        assert main([command, str(tmp_path / "nope.yaml")]) == 2
        assert "файл параметров" in capsys.readouterr().err
