"""Issue 17, point 2: ids that collide after cleaning get different file names — reports, notebooks,
state files and run logs of `.` and `..`, of `a/b` and `a_b` never overwrite each other."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import yaml

from shnor_utils.batch.plan import load_params, plan
from shnor_utils.batch.state import RunState
from shnor_utils.safeio import inside, safe_component

from tests.conftest import ROOT

IDS = [".", "..", "a/b", "a_b", "a\\b", "a b", "_a_b_", "", "a_b~" + hashlib.sha256(b"a/b").hexdigest()[:12],
       "x" * 150, "x" * 151]


def test_safe_component_is_injective_and_keeps_plain_ids():
    names = [safe_component(i) for i in IDS]
    assert len(set(names)) == len(IDS), names
    assert safe_component("a_b") == "a_b" and safe_component("edu990001") == "edu990001"
    assert safe_component("Школа_1") == "Школа_1"
    for name in names:
        assert "/" not in name and name not in (".", "..") and len(name) <= 120
    assert safe_component("a/b").startswith("a_b~")                      # still readable


def test_the_plan_gives_every_school_its_own_files(tmp_path):
    params = {"dataset": str(tmp_path / "data"), "year": 2026, "output": str(tmp_path / "out"),
              "runs_dir": str(tmp_path / "runs"), "templates": str(ROOT / "notebooks" / "templates"),
              "reports": [{"template": "vpr_objectivity"}]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    cfg = load_params(path, base=tmp_path)
    ids = [i for i in IDS if i]
    schools = pd.DataFrame({"school_id": ids, "school_name": [f"Школа {n}" for n in range(len(ids))],
                            "municipality_id": "m1", "municipality_name": "Город"})
    runs = plan(cfg, schools)
    assert len(runs) == len(ids)
    for attr in ("html", "notebook", "sidecar"):
        paths = [getattr(r, attr) for r in runs]
        assert len(set(paths)) == len(runs), attr
        for p in paths:
            assert Path(cfg.output if attr != "notebook" else cfg.runs_dir).resolve() in p.parents
    state = RunState(cfg.output)
    assert len({state.path(r.run_id) for r in runs}) == len(runs)
    logs = {inside(cfg.output / "logs" / "runs", r.run_id + ".log") for r in runs}
    assert len(logs) == len(runs)
    # each state record comes back under its own run id
    for r in runs:
        state.put(r.run_id, {"run_id": r.run_id, "ok": True})
    assert set(state.all()) == {r.run_id for r in runs}
