"""Publishing reads the Analysis specs: a new analysis, defined outside the package, shows its rows
in the indicators, its sheet in the workbook and its flag on the index page with no other file
touched; flags carry the methodology's short names; an overlay's overrides are stated, escaped."""
from __future__ import annotations

import copy
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from shnor_utils.analyses import ALL, compute_all
from shnor_utils.batch.config import BatchConfig
from shnor_utils.batch.plan import Run
from shnor_utils.batch.publish import school_flags, write_outputs
from shnor_utils.indicators.table import finish
from shnor_utils.data.dataset import load_dataset
from shnor_utils.methodology import load_methodology

TOY = '''
import pandas as pd

from shnor_utils.indicators.registry import Analysis, Sheet


def toy_rows(dataset, methodology):
    """Two tidy rows for the first school: a 0/1 flag and a score."""
    sid = sorted(dataset.schools["school_id"])[0]
    return pd.DataFrame({"level": ["school", "school"], "entity_id": [sid, sid], "year": [2026, 2026],
                         "indicator_id": ["toy_flag", "toy_score"], "value": [1.0, 42.0]})


SPEC = Analysis(id="toy", title="Игрушечный анализ", producers=(toy_rows,),
                sheets=(Sheet("Игрушка", ("toy_",)),), index_flags=("toy_flag",))
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy analysis as a package of its own under tmp_path."""
    package = tmp_path / "toy_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "analysis.py").write_text(textwrap.dedent(TOY), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    from toy_pkg.analysis import SPEC

    yield SPEC
    for name in [m for m in sys.modules if m == "toy_pkg" or m.startswith("toy_pkg.")]:
        del sys.modules[name]


@pytest.fixture
def toy_methodology(tmp_path) -> Path:
    """An overlay that only adds the toy flag's words (an analysis' words are methodology data)."""
    folder = tmp_path / "meth"
    folder.mkdir()
    (folder / "flags.yaml").write_text(yaml.safe_dump({"short": {"toy_flag": "игрушечный флаг"}}, allow_unicode=True),
                                       encoding="utf-8")
    return folder


def school_run(output: Path, sid: str, name: str, mid: str, mname: str) -> Run:
    return Run(template="probe", scope="school", entity_id=sid, entity_name=name, municipality_id=mid,
               municipality_name=mname, parameters={}, notebook=output / "nb.ipynb",
               html=output / "school" / sid / "probe.html", title="Проба")


def test_a_toy_analysis_shows_in_indicators_workbook_and_index(tmp_path, demo_small, toy, toy_methodology):
    meth = load_methodology(toy_methodology)
    ds = load_dataset(demo_small, methodology=meth)
    analyses = ALL + (toy,)
    indicators = compute_all(ds, meth, analyses=analyses)
    mine = indicators[indicators["indicator_id"].isin(["toy_flag", "toy_score"])]
    sid = sorted(ds.schools["school_id"])[0]
    assert sorted(zip(mine["indicator_id"], mine["entity_id"], mine["value"])) == [("toy_flag", sid, 1.0),
                                                                                 ("toy_score", sid, 42.0)]
    output = tmp_path / "out"
    cfg = BatchConfig(path=tmp_path / "p.yaml", dataset=demo_small, reports=[], output=output, year=2026)
    school = ds.schools.set_index("school_id").loc[sid]
    run = school_run(output, sid, school["school_name"], school["municipality_id"], school["municipality_name"])
    write_outputs(cfg, [run], {run.run_id: {"ok": True}}, ds.schools, indicators, meth, analyses=analyses)

    wb = load_workbook(output / "indicators.xlsx", read_only=True)
    assert "Игрушка" in wb.sheetnames
    rows = list(wb["Игрушка"].iter_rows(values_only=True))
    header = rows[0]
    got = sorted((r[header.index("Код показателя")], r[header.index("Код")], r[header.index("Значение")]) for r in rows[1:])
    assert got == [("toy_flag", sid, 1), ("toy_score", sid, 42)]
    index = (output / "index.html").read_text(encoding="utf-8")
    assert '<span class="flag">игрушечный флаг</span>' in index

    # without the toy in `analyses`, neither its sheet nor its flag appears (they come from the spec only)
    write_outputs(cfg, [run], {run.run_id: {"ok": True}}, ds.schools, indicators, meth)
    assert "Игрушка" not in load_workbook(output / "indicators.xlsx", read_only=True).sheetnames
    assert '<span class="flag">игрушечный флаг</span>' not in (output / "index.html").read_text(encoding="utf-8")


def test_index_flags_use_short_names_in_spec_order():
    meth = load_methodology()
    ind = pd.DataFrame({"level": ["school"] * 4 + ["municipality"], "entity_id": ["s1", "s1", "s1", "s2", "m1"],
                        "year": [2026, 2026, 2025, 2026, 2026],
                        "indicator_id": ["shnor", "vpr_sign_cohort_jump", "risk_school", "shnor", "shnor"],
                        "value": [1.0, 1.0, 1.0, 0.0, 1.0]})
    # objectivity comes before shnor in ALL; risk_school is of another year; s2 is not flagged
    assert school_flags(ind, 2026, meth) == {"s1": [meth.words.short("vpr_sign_cohort_jump"), meth.words.short("shnor")]}
    assert meth.words.short("vpr_sign_cohort_jump") == "резкое изменение 4→5" and meth.words.short("shnor") == "ШНОР"


def test_index_states_the_overlay_overrides_escaped(tmp_path, demo_small):
    meth = load_methodology()
    schools = pd.DataFrame({"school_id": ["s1"], "school_name": ["Школа"], "municipality_id": ["m1"],
                            "municipality_name": ["Город"]})
    ind = pd.DataFrame({"level": ["school"], "entity_id": ["s1"], "year": [2026], "indicator_id": ["shnor"],
                        "value": [1.0], "flag": [None]})
    ind = finish(ind)   # the tidy shape the batch always passes
    output = tmp_path / "out"
    cfg = BatchConfig(path=tmp_path / "p.yaml", dataset=demo_small, reports=[], output=output, year=2026, excel=False)
    run = school_run(output, "s1", "Школа", "m1", "Город")
    write_outputs(cfg, [run], {run.run_id: {"ok": True}}, schools, ind, meth)
    assert "Региональные изменения методики" not in (output / "index.html").read_text(encoding="utf-8")
    meth = copy.copy(meth)   # load_methodology caches its objects: change a copy only
    meth.overrides = [
        {"file": "thresholds.yaml", "key": "journal_agreement.confirm_target", "value": 70, "source": "приказ <№ 5>"},
        {"file": "thresholds.yaml", "key": "shnor.low_share", "value": "<b>30</b>", "source": ""}]
    write_outputs(cfg, [run], {run.run_id: {"ok": True}}, schools, ind, meth)
    index = (output / "index.html").read_text(encoding="utf-8")
    assert meth.describe_overrides().startswith("Региональные изменения методики")
    assert "journal_agreement.confirm_target = 70" in index and "приказ &lt;№ 5&gt;" in index
    assert "&lt;b&gt;30&lt;/b&gt;" in index and "<b>30</b>" not in index
    assert not (output / "indicators.xlsx").exists()


def test_one_sidecar_per_entity_with_only_its_own_indicators(tmp_path, monkeypatch):
    """Issue 15.3: `indicators.json` once per entity (not the same rows again per template), holding the
    entity's rows only; the per-report files of earlier versions go; the file is 0644 under umask 022."""
    import json
    import os
    import stat
    from dataclasses import replace

    from shnor_utils.batch import publish
    from shnor_utils.batch.publish import Sidecars

    meth = load_methodology()
    rows = pd.DataFrame({"level": ["school", "school", "school", "municipality", "region"],
                         "entity_id": ["s1", "s1", "s2", "m1", "region"], "year": [2026] * 5,
                         "indicator_id": ["shnor", "risk_school", "shnor", "shnor_count", "shnor_count"],
                         "value": [1.0, 0.0, 0.0, 3.0, 7.0]})
    indicators = finish(rows)
    out = tmp_path / "output"
    a = school_run(out, "s1", "Школа 1", "m1", "Город")
    b = replace(a, template="vpr_objectivity", html=out / "school" / "s1" / "vpr_objectivity.html")
    mun = replace(a, scope="municipality", entity_id="m1", entity_name="Город",
                  html=out / "municipality" / "m1" / "probe.html")
    a.sidecar.parent.mkdir(parents=True)
    a.sidecar.write_text("{}", encoding="utf-8")          # a per-report sidecar of an earlier version
    writes = []
    real = publish.atomic_write_text
    monkeypatch.setattr(publish, "atomic_write_text", lambda path, text: writes.append(path) or real(path, text))
    old = os.umask(0o022)
    try:
        side = Sidecars(indicators, {"dataset": "demo", "templates": {"probe": "x"}}, meth)
        for run in (a, b, mun):
            side.write(run)
    finally:
        os.umask(old)
    school = out / "school" / "s1" / "indicators.json"
    assert writes == [school, out / "municipality" / "m1" / "indicators.json"]   # once per entity
    assert sorted(p.name for p in school.parent.iterdir()) == ["indicators.json"]   # no probe.indicators.json
    payload = json.loads(school.read_text(encoding="utf-8"))
    assert (payload["scope"], payload["entity_id"], payload["entity_name"]) == ("school", "s1", "Школа 1")
    assert sorted(r["indicator_id"] for r in payload["indicators"]) == ["risk_school", "shnor"]
    assert {(r["level"], r["entity_id"]) for r in payload["indicators"]} == {("school", "s1")}
    assert "templates" not in payload["provenance"]
    mun_rows = json.loads((out / "municipality" / "m1" / "indicators.json").read_text(encoding="utf-8"))["indicators"]
    assert [(r["entity_id"], r["value"]) for r in mun_rows] == [("m1", 3.0)]
    assert stat.S_IMODE(school.stat().st_mode) == 0o644


def test_suppression_is_decided_within_an_entitys_rows(demo_small):
    """The batch suppresses the region's table once and takes each entity's sidecar rows from it: that
    is the same as suppressing the entity's own rows (what the sidecars did before), for every entity."""
    from shnor_utils.indicators.privacy import FLAG, suppress

    meth = load_methodology()
    computed = compute_all(load_dataset(demo_small, methodology=meth, errors_csv=False), meth)
    whole = suppress(computed, meth)
    assert whole["flag"].eq(FLAG).sum() > 0                      # the demo has small groups to hide
    for key, pos in computed.groupby(["level", "entity_id"], sort=False).indices.items():
        pd.testing.assert_frame_equal(whole.take(pos), suppress(computed.take(pos), meth), obj=str(key))


def test_sidecar_records_are_the_rows_as_python_values():
    """publish._records: what `astype(object).where(notna, None).to_dict("records")` gives, column by
    column — ints stay ints, floats keep every digit, NA of every dtype is None."""
    import json

    import numpy as np

    from shnor_utils.batch.publish import _records

    rows = pd.DataFrame({
        "level": pd.array(["school", None], dtype="string"), "year": pd.array([2025, None], dtype="Int64"),
        "value": pd.array([6.8643191066272164, None], dtype="Float64"), "n": np.array([3, 4], dtype="int64"),
        "share": np.array([0.1, np.nan]), "note": np.array(["а", None], dtype=object)})
    got = _records(rows)
    want = rows.astype(object).where(rows.notna(), None).to_dict(orient="records")
    assert got == want
    assert json.dumps(got, ensure_ascii=False, default=str) == json.dumps(want, ensure_ascii=False, default=str)
    assert got[0] == {"level": "school", "year": 2025, "value": 6.8643191066272164, "n": 3, "share": 0.1, "note": "а"}
    assert got[1] == {"level": None, "year": None, "value": None, "n": 4, "share": None, "note": None}
    assert type(got[0]["year"]) is int and type(got[0]["n"]) is int
