"""Issue 17, point 3: a report shows the school it is labelled with — a report's `parameters:` cannot
replace the plan's own parameters, and a template is a plain name in the templates folder."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from shnor_utils.batch.plan import PLAN_PARAMETERS, load_params, plan
from shnor_utils.errors import ParameterError

from tests.conftest import ROOT

TEMPLATES_DIR = ROOT / "notebooks" / "templates"
SCHOOLS = pd.DataFrame({"school_id": ["s1", "s3"], "school_name": ["СОШ № 1", "СОШ № 3"],
                        "municipality_id": ["m1", "m1"], "municipality_name": ["Город", "Город"]})


def params_file(tmp_path, reports, templates=TEMPLATES_DIR):
    params = {"dataset": str(tmp_path / "data"), "year": 2026, "output": str(tmp_path / "out"),
              "runs_dir": str(tmp_path / "runs"), "templates": str(templates), "reports": reports}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("key", PLAN_PARAMETERS)
def test_a_report_cannot_override_a_plan_parameter(tmp_path, key):
    path = params_file(tmp_path, [{"template": "vpr_objectivity", "parameters": {key: "s3"}}])
    with pytest.raises(ParameterError, match=f"параметр «{key}» задаёт план"):
        load_params(path, base=tmp_path)


def test_every_plan_parameter_is_named():
    assert set(PLAN_PARAMETERS) == {"entity_id", "scope", "dataset", "year", "cache", "templates", "methodology",
                                    "region_name"}


def test_the_page_of_school_1_is_about_school_1_even_if_the_check_was_bypassed(tmp_path):
    cfg = load_params(params_file(tmp_path, [{"template": "vpr_objectivity"}]), base=tmp_path)
    cfg.reports[0]["parameters"] = {"entity_id": "s3", "scope": "region", "dataset": "/elsewhere", "year": 1999}
    runs = plan(cfg, SCHOOLS)
    for run in runs:
        assert run.parameters["entity_id"] == run.entity_id
        assert run.parameters["scope"] == "school" and run.parameters["year"] == 2026
        assert run.parameters["dataset"] == str(cfg.dataset)
    assert [(r.entity_id, r.entity_name) for r in runs] == [("s1", "СОШ № 1"), ("s3", "СОШ № 3")]


def test_parameters_must_be_a_mapping(tmp_path):
    path = params_file(tmp_path, [{"template": "vpr_objectivity", "parameters": ["entity_id", "s3"]}])
    with pytest.raises(ParameterError, match="«parameters» — словарь"):
        load_params(path, base=tmp_path)


@pytest.mark.parametrize("name", ["../evil", "../../outside/evil", "sub/evil", "sub\\evil", "..", ".", ".evil",
                                  "/tmp/evil", "evil.ipynb", "", " evil", 42, None, ["evil"]])
def test_a_template_outside_the_templates_folder_is_refused(tmp_path, name):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "sub").mkdir()
    # a valid-looking template outside the templates folder and in a sub-folder: neither may run
    src = (TEMPLATES_DIR / "vpr_objectivity.ipynb").read_text(encoding="utf-8")
    (tmp_path / "evil.ipynb").write_text(src, encoding="utf-8")
    (templates / "sub" / "evil.ipynb").write_text(src, encoding="utf-8")
    (templates / ".evil.ipynb").write_text(src, encoding="utf-8")
    path = params_file(tmp_path, [{"template": name}], templates=templates)
    with pytest.raises(ParameterError, match="шаблон"):
        load_params(path, base=tmp_path)


def test_a_plain_template_name_still_works(tmp_path):
    cfg = load_params(params_file(tmp_path, [{"template": "vpr_objectivity"}]), base=tmp_path)
    assert [r.template for r in plan(cfg, SCHOOLS)] == ["vpr_objectivity", "vpr_objectivity"]
