"""The parameter set: its keys are exactly BatchConfig's fields, bad files fail before any kernel
with a Russian message naming the key, `workers:` is honoured and paths the kernels use are absolute."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from shnor_utils.batch.config import PARAM_KEYS, BatchConfig, load_config
from shnor_utils.batch.plan import load_params
from shnor_utils.errors import ParameterError

from tests.batch.probe import run
from tests.conftest import ROOT

TEMPLATES_DIR = ROOT / "notebooks" / "templates"


def write(tmp_path: Path, params: dict) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return path


def test_keys_are_the_dataclass_fields():
    fields = {f.name for f in dataclasses.fields(BatchConfig)}
    assert PARAM_KEYS == fields - {"path"}
    assert {"workers", "templates", "methodology", "timeout", "isolation", "recycle_after"} <= PARAM_KEYS


def test_every_field_is_accepted_and_read(tmp_path, demo_small):
    meth = tmp_path / "meth"
    params = {"title": "Т", "dataset": str(demo_small), "year": 2025, "region_name": "Р",
              "output": "out", "runs_dir": "runs", "templates": str(TEMPLATES_DIR), "methodology": "meth",
              "workers": 3, "timeout": 60, "pdf": True, "excel": False, "isolation": "fresh", "recycle_after": 7,
              "reports": [{"template": "vpr_objectivity"}]}
    assert set(params) == PARAM_KEYS, "the test sets every key a parameter file may have"
    cfg = load_config(write(tmp_path, params), base=tmp_path)
    assert (cfg.title, cfg.year, cfg.region_name, cfg.workers, cfg.timeout) == ("Т", 2025, "Р", 3, 60)
    assert (cfg.pdf, cfg.excel, cfg.isolation, cfg.recycle_after) == (True, False, "fresh", 7)
    assert cfg.output == tmp_path / "out" and cfg.runs_dir == tmp_path / "runs"
    # the kernels run in a scratch folder: the methodology they are given must be absolute
    assert cfg.methodology == meth and cfg.methodology.is_absolute()
    assert cfg.templates == TEMPLATES_DIR


def test_defaults_templates_relative_to_the_current_folder(tmp_path, demo_small, monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = load_params(write(tmp_path, {"dataset": str(demo_small), "reports": [{"template": "vpr_objectivity"}]}))
    assert cfg.templates == TEMPLATES_DIR and cfg.templates.is_absolute()
    assert cfg.output == ROOT / "output" and cfg.workers is None and cfg.methodology is None
    assert cfg.cache == ROOT / "output" / ".cache"


def test_unknown_keys_are_named(tmp_path, demo_small):
    path = write(tmp_path, {"dataset": str(demo_small), "reports": [{"template": "x"}], "colour": "red", "wrkers": 2})
    with pytest.raises(ParameterError, match=r"неизвестные ключи \['colour', 'wrkers'\]") as err:
        load_config(path)
    assert "workers" in str(err.value), "the message lists the allowed keys"


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p.update(colour="red"), "неизвестные ключи"),
    (lambda p: p.pop("dataset"), "нет обязательного ключа «dataset»"),
    (lambda p: p["reports"].append({"template": "nope"}), "нет шаблона «nope»"),
    (lambda p: p["reports"].append({"template": "vpr_objectivity", "scopes": ["galaxy"]}), "неизвестный охват"),
    (lambda p: p.update(year="2026"), "year должен быть целым"),
    (lambda p: p.update(workers="два"), "workers должен быть целым"),
    (lambda p: p.update(workers=0), "workers должен быть не меньше 1"),
    (lambda p: p.update(isolation="cold"), "isolation — warm или fresh"),
    (lambda p: p.update(pdf="да"), "pdf — true или false"),
])
def test_bad_parameter_sets_fail_before_any_kernel(tmp_path, demo_small, mutate, message):
    params = {"dataset": str(demo_small), "templates": str(TEMPLATES_DIR), "reports": [{"template": "vpr_objectivity"}]}
    mutate(params)
    with pytest.raises(ParameterError, match=message):
        load_params(write(tmp_path, params))


def test_workers_from_the_file_are_honoured_and_the_cli_overrides_them(region):
    params = region["params"](scopes=("school",), workers=1)
    code, text = run(params, workers=None, limit=1)
    assert code == 0 and "потоков: 1," in text, text
    code, text = run(params, workers=3, limit=1, force=True)
    assert code == 0 and "потоков: 3," in text, text
