"""The plan: runs in a stable order with checked, typed parameters; hostile ids never leave output/."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml

from shnor_utils.batch.plan import check_parameters, load_params, plan, select, template_spec
from shnor_utils.errors import ParameterError
from shnor_utils.safeio import inside

from tests.conftest import ROOT

TEMPLATES_DIR = ROOT / "notebooks" / "templates"
SCHOOLS = pd.DataFrame({"school_id": ["s2", "s1", "s3"], "school_name": ["Вторая", "Первая", "Третья"],
                        "municipality_id": ["m1", "m1", "m2"], "municipality_name": ["Город", "Город", "Район"]})


def config(tmp_path, reports, **extra):
    params = {"dataset": str(tmp_path / "data"), "year": 2026, "region_name": "Область", "output": str(tmp_path / "out"),
              "runs_dir": str(tmp_path / "runs"), "templates": str(TEMPLATES_DIR), "reports": reports, **extra}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return load_params(path, base=tmp_path)


def test_runs_in_stable_order_with_their_parameters(tmp_path):
    cfg = config(tmp_path, [{"template": "vpr_objectivity", "scopes": ["school", "region", "municipality"]}],
                 methodology="meth")
    runs = plan(cfg, SCHOOLS)
    assert [r.label for r in runs] == ["vpr_objectivity · region · region", "vpr_objectivity · municipality · m1",
                                       "vpr_objectivity · municipality · m2", "vpr_objectivity · school · s1",
                                       "vpr_objectivity · school · s2", "vpr_objectivity · school · s3"]
    school = runs[3]
    assert school.parameters["cache"] == str(tmp_path / "out" / ".cache")      # the cache is a parameter
    assert school.parameters["methodology"] == str(tmp_path / "meth")           # absolute for the kernels
    assert school.html == tmp_path / "out" / "school" / "s1" / "vpr_objectivity.html"
    assert school.notebook == tmp_path / "runs" / "school" / "s1" / "vpr_objectivity.ipynb"
    assert runs[1].school_ids == ["s2", "s1"] and runs[0].school_ids == ["s2", "s1", "s3"]
    assert [r.entity_id for r in select(runs, ["school"], 2)] == ["s1", "s2"]


def test_filter_by_unknown_column_is_named(tmp_path):
    cfg = config(tmp_path, [{"template": "vpr_objectivity", "filter": {"colour": "red"}}])
    with pytest.raises(ParameterError, match="неизвестному столбцу «colour»"):
        plan(cfg, SCHOOLS)


def test_ids_never_leave_output(tmp_path):
    root = tmp_path / "output"
    for hostile in ("../../x", "/etc/passwd", "..", "a/../../b"):
        path = inside(root, "school", hostile, "r.html")
        assert root.resolve() in path.parents


def test_plan_sanitises_hostile_ids(tmp_path):
    cfg = config(tmp_path, [{"template": "vpr_objectivity", "scopes": ["school"]}])
    schools = pd.DataFrame({"school_id": ["../../x"], "school_name": ["x"], "municipality_id": ["m"],
                            "municipality_name": ["m"]})
    (run,) = plan(cfg, schools)
    assert cfg.output.resolve() in run.html.parents and ".." not in run.html.relative_to(cfg.output).parts


def test_template_parameters_are_typed():
    spec = template_spec("vpr_objectivity", TEMPLATES_DIR)
    good = {"dataset": "d", "scope": "school", "entity_id": "e", "year": 2026}
    check_parameters("vpr_objectivity", spec, good)
    with pytest.raises(ParameterError, match="неизвестные параметры"):
        check_parameters("vpr_objectivity", spec, {**good, "colour": 1})
    with pytest.raises(ParameterError, match="должен быть типа int"):
        check_parameters("vpr_objectivity", spec, {**good, "year": "2026"})
    with pytest.raises(ParameterError, match="допустимо"):
        check_parameters("vpr_objectivity", spec, {**good, "scope": "planet"})


def test_the_local_pool_runs_the_region_reports_in_one_worker_one_after_another():
    """The region reports read the whole region: on the local pool they run first, in turn, in one worker
    thread (one warm kernel), with no other run beside them; every run is still recorded once."""
    import threading
    import time
    from types import SimpleNamespace

    from shnor_utils.batch.backends import LocalPool

    runs = [SimpleNamespace(run_id=f"r{i}", scope="region") for i in range(4)] + \
        [SimpleNamespace(run_id=f"s{i}", scope="school") for i in range(8)]
    active, seen, lock = [0], {}, threading.Lock()
    peak = [0]

    def step(run):
        with lock:
            seen[run.run_id] = threading.current_thread().name
            if run.scope == "region":
                active[0] += 1
                peak[0] = max(peak[0], active[0])
        time.sleep(0.02 if run.scope == "region" else 0.05)
        with lock:
            if run.scope == "region":
                active[0] -= 1
        return run.run_id

    recorded = []
    LocalPool(2).run(step, runs, recorded.append)
    assert sorted(recorded) == sorted(r.run_id for r in runs)           # each once
    assert recorded[:4] == ["r0", "r1", "r2", "r3"]                      # the region's first, alone, in order
    assert peak[0] == 1                                                   # never two region reports at once
    assert len({seen[f"r{i}"] for i in range(4)}) == 1                    # one worker: one kernel
    assert len({seen[f"s{i}"] for i in range(8)}) == 2                    # the others use both workers
