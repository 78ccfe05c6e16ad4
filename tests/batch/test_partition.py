"""Kernels that hold only their municipality (issue 15, point 2): a school or municipality report
read from its municipality's partition of the batch snapshot, with the region-wide aggregates the
batch computed once, is the same report as one read from the whole snapshot; the kernel's tables
hold only that municipality's rows; the execution order keeps a municipality's runs together."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from shnor_utils import session
from shnor_utils.analyses import aggregates as A
from shnor_utils.analyses import compute_all
from shnor_utils.batch.kernel import WarmKernel, parameterize
from shnor_utils.batch.plan import Run, by_partition
from shnor_utils.data.dataset import files_stamp, load_dataset, write_snapshot
from shnor_utils.analyses import funnel as F
from shnor_utils.data.snapshot import (AGGREGATES, INDICATOR_PARTS, PARTS, Partition, indicator_part_path,
                                       read_indicator_part, read_partition, write_partitions)
from shnor_utils.indicators.privacy import suppress
from shnor_utils.errors import ParameterError
from shnor_utils.indicators.compute import write_indicators
from shnor_utils.methodology import load_methodology
from shnor_utils.reporting import report as R

from tests.conftest import ROOT

TEMPLATES = ROOT / "notebooks" / "templates"
# (template, scope, entity): the planted school of reg99_m001 in every school template, a municipality
# report of reg99_m002 in every template that has one, a school of reg99_m003 — in this order, so the
# partition kernel moves from municipality to municipality between reports.
REPORTS = [
    *[(t, "school", "edu990005") for t in ("vpr_objectivity", "school_passport", "gia_results", "teacher_deficits",
                                           "indicator_dynamics")],
    *[(t, "municipality", "reg99_m002") for t in ("vpr_objectivity", "shnor_selection", "gia_results",
                                                  "teacher_deficits", "indicator_dynamics")],
    ("vpr_objectivity", "school", "edu990047"), ("school_passport", "school", "edu990047"),
    # a school of every municipality, and a municipality report of each, in every template of that scope
    *[(t, "school", "edu990037") for t in ("vpr_objectivity", "school_passport", "gia_results")],
    *[(t, "municipality", m) for m in ("reg99_m001", "reg99_m003") for t in ("vpr_objectivity", "shnor_selection")],
]


@pytest.fixture(scope="module")
def caches(tmp_path_factory, demo_small):
    """Two batch caches of demo_small: `whole` (snapshot and indicators only: reports read the whole
    snapshot, as before partitions) and `part` (plus the aggregates and partitions the batch writes)."""
    meth = load_methodology()
    ds = load_dataset(demo_small, methodology=meth, errors_csv=False)
    indicators = compute_all(ds, meth)
    out = {}
    for name in ("whole", "part"):
        cache = tmp_path_factory.mktemp(name)
        snap = write_snapshot(ds, session.snapshot_path(cache, files_stamp(demo_small, meth.digest)))
        write_indicators(indicators, session.indicators_path(cache, ds, meth))
        if name == "part":
            A.write_aggregates(ds, meth, snap)
            A.write_indicator_aggregates(indicators, ds.schools, meth, snap)
            write_partitions(ds, snap)
        out[name] = cache
    out.update(ds=ds, meth=meth, snapshot=snap, indicators=indicators)
    return out


def _params(demo_small, cache, scope, entity):
    return {"dataset": str(demo_small), "scope": scope, "entity_id": entity, "year": None, "region_name": "Область",
            "cache": str(cache), "templates": str(TEMPLATES)}


def _outputs(nb, cache) -> list[str]:
    """Every output of every code cell as text, without what may differ between two runs of one
    report (the time it was made, the cache folder it read)."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            text = json.dumps({k: v for k, v in o.items() if k != "execution_count"}, ensure_ascii=False, sort_keys=True)
            text = text.replace(str(cache), "CACHE")
            out.append(re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?", "TIME", text))
    return out


def _run_all(demo_small, cache, tmp_path) -> dict:
    kernel = WarmKernel(cwd=TEMPLATES, timeout=300)
    try:
        got = {}
        for template, scope, entity in REPORTS:
            nb = kernel.run(parameterize(TEMPLATES / f"{template}.ipynb", _params(demo_small, cache, scope, entity)), tmp_path)
            got[(template, scope, entity)] = _outputs(nb, cache)
        return got
    finally:
        kernel.stop()


def test_partition_kernels_give_the_same_reports_as_whole_snapshot_kernels(caches, demo_small, tmp_path):
    whole = _run_all(demo_small, caches["whole"], tmp_path)
    part = _run_all(demo_small, caches["part"], tmp_path)
    for key in whole:
        assert len(whole[key]) > 3, key                   # a real report, not an empty notebook
        assert part[key] == whole[key], f"{key}: the report differs when read from the partition"


PROBE = '''import json
from shnor_utils.session import open_report
rep = open_report({dataset!r}, template="probe", scope={scope!r}, entity_id={entity!r}, cache={cache!r})
rep.own("vpr"); rep.ds.teachers; rep.ds.risk_profiles   # read a few school-keyed tables
mun = rep.ds.schools.set_index("school_id")["municipality_id"]
ind = rep.shared
print(json.dumps({{"kind": type(rep.ds).__name__,
                  "loaded": {{n: sorted(set(mun[rep.ds.tables[n]["school_id"]].astype(str)))
                             for n in rep.ds.tables.loaded() if n != "schools"}},
                  "indicator_schools": sorted(set(mun[ind.loc[ind["level"] == "school", "entity_id"]].astype(str))),
                  "indicator_levels": {{str(k): int(v) for k, v in ind["level"].value_counts().items()}}}}))'''


def test_a_kernel_holds_only_its_municipalitys_rows(caches, demo_small, tmp_path):
    kernel = WarmKernel(cwd=TEMPLATES, timeout=300)
    try:
        seen = []
        for scope, entity in (("school", "edu990005"), ("municipality", "reg99_m002"), ("region", "region")):
            code = PROBE.format(dataset=str(demo_small), scope=scope, entity=entity, cache=str(caches["part"]))
            nb = kernel.run(new_notebook(cells=[new_code_cell(code)]), tmp_path)
            seen.append(json.loads(nb.cells[0].outputs[0]["text"]))
    finally:
        kernel.stop()
    school, municipality, region = seen
    assert school["kind"] == "Partition" and municipality["kind"] == "Partition" and region["kind"] == "Dataset"
    assert set(school["loaded"]) >= {"vpr", "teachers", "risk_profiles"}
    assert all(m == ["reg99_m001"] for m in school["loaded"].values()), school        # edu990005's municipality
    assert all(m == ["reg99_m002"] for m in municipality["loaded"].values()), municipality
    assert region["loaded"]["vpr"] == ["reg99_m001", "reg99_m002", "reg99_m003"]      # a region report: all
    # the indicator table too: the municipality's schools, every municipality and the region
    levels = caches["indicators"]["level"].value_counts()
    assert school["indicator_schools"] == ["reg99_m001"] and municipality["indicator_schools"] == ["reg99_m002"]
    assert region["indicator_schools"] == ["reg99_m001", "reg99_m002", "reg99_m003"]
    assert region["indicator_levels"] == {k: int(v) for k, v in levels.items()}
    for seen_by, mun in ((school, "reg99_m001"), (municipality, "reg99_m002")):
        ids = caches["ds"].schools.loc[caches["ds"].schools["municipality_id"] == mun, "school_id"]
        own = caches["indicators"]["entity_id"].isin(ids) & caches["indicators"]["level"].eq("school")
        assert seen_by["indicator_levels"] == {"school": int(own.sum()), "municipality": int(levels["municipality"]),
                                               "region": int(levels["region"])}
        assert int(own.sum()) < levels["school"] / 2    # the point: far fewer rows than the region's


def test_partition_answers_for_the_region_and_refuses_region_wide_reads(caches):
    ds, meth, snap = caches["ds"], caches["meth"], caches["snapshot"]
    part = read_partition(snap, "reg99_m003")
    assert isinstance(part, Partition) and (snap / PARTS).is_dir() and (snap / AGGREGATES).is_dir()
    # the region has ВПР task results; whether this municipality does is not what a report asks
    assert part.has("vpr_tasks") == ds.has("vpr_tasks") and part.has("official_signs") == ds.has("official_signs")
    session._MEMO.clear()
    try:
        rep = R.Report(part, meth, compute_all(ds, meth).iloc[0:0], template="t", scope="school",
                       entity_id="edu990047", year=2026)
        with pytest.raises(ParameterError, match="недоступна в ядре одного муниципалитета"):
            rep.of_year("vpr")
        with pytest.raises(ParameterError, match="недоступны в ядре одного муниципалитета"):
            rep.rows_of("school", ["edu990047", "edu990005"])     # edu990005 is of reg99_m001
        assert rep.rows_of("school", "edu990047").empty          # its own: allowed (no rows in this empty table)
        whole = R.Report(ds, meth, rep.indicators, template="t", scope="school", entity_id="edu990047", year=2026)
        # every aggregate read from the batch's file equals the one computed from the whole dataset
        for name, (keys, _compute) in A.SPECS.items():
            for key in keys(ds, meth):
                got, want = A.region(rep, name, *key), A.region(whole, name, *key)
                if isinstance(want, dict):
                    assert want.keys() == got.keys()
                    for k in want:
                        pd.testing.assert_frame_equal(got[k], want[k])
                elif isinstance(want, tuple):
                    assert got[0] == want[0]
                    pd.testing.assert_frame_equal(got[1], want[1])
                elif isinstance(want, pd.DataFrame):
                    pd.testing.assert_frame_equal(got, want)
                else:
                    assert got == want
        assert A.region(whole, "table-years", "vpr_tasks") == [2026]   # demo_small: ВПР tasks of 2026 only
    finally:
        R._DERIVED.clear()


def test_runs_of_one_municipality_are_executed_together(tmp_path):
    def run(template, scope, entity, mun):
        return Run(template=template, scope=scope, entity_id=entity, entity_name=entity, municipality_id=mun,
                   municipality_name=mun, parameters={}, notebook=tmp_path / "n", html=tmp_path / "h")

    plan = [run("a", "region", "region", None), run("a", "municipality", "m1", "m1"), run("a", "municipality", "m2", "m2"),
            run("a", "school", "s1", "m1"), run("a", "school", "s3", "m2"), run("b", "school", "s1", "m1"),
            run("b", "region", "region", None), run("b", "school", "s3", "m2")]
    order = [r.label for r in by_partition(plan)]
    assert order == ["a · region · region", "b · region · region",
                     "a · municipality · m1", "a · school · s1", "b · school · s1",
                     "a · municipality · m2", "a · school · s3", "b · school · s3"]


@pytest.mark.parametrize("missing", [AGGREGATES, INDICATOR_PARTS])
def test_a_cache_without_partitions_reads_the_whole_snapshot(caches, demo_small, tmp_path, missing):
    """An older cache (no aggregates, or no indicator parts yet) still gives whole-snapshot reports."""
    cache = tmp_path / "c"
    shutil.copytree(caches["part"], cache)
    snap = next(Path(cache).glob("dataset-*"))
    shutil.rmtree(snap / missing)
    session._MEMO.clear()
    try:
        rep = session.open_report(str(demo_small), template="t", scope="school", entity_id="edu990005", cache=str(cache))
        assert type(rep.ds).__name__ == "Dataset"
        assert rep.own("vpr")["school_id"].eq("edu990005").all()
        assert len(rep.shared) == len(caches["indicators"])   # the region's whole table
    finally:
        session._MEMO.clear()
        R._DERIVED.clear()


def test_prepare_writes_the_partitions_and_aggregates_a_batch_kernel_reads(region):
    from shnor_utils.batch.plan import load_params
    from shnor_utils.batch.prepare import prepare
    from shnor_utils.data.snapshot import has_partitions

    cfg = load_params(region["params"]())
    meth, ds, _ = prepare(cfg)
    snap = session.snapshot_path(cfg.cache, files_stamp(cfg.dataset, meth.digest))
    assert has_partitions(snap)
    assert {p.stem for p in (snap / AGGREGATES).glob("*.pkl")} == set(A.SPECS)
    assert {p.stem for p in (snap / INDICATOR_PARTS).glob("*.pkl")} == set(A.INDICATOR_SPECS)
    assert indicator_part_path(snap, region["mun"]).exists()
    # indicators computed again (their file was lost): the municipalities' copies of them are written
    # again too, even when they look intact (same sizes)
    victim = indicator_part_path(snap, region["mun"])
    good = victim.read_bytes()
    victim.write_bytes(b"x" * len(good))
    session.indicators_path(cfg.cache, ds, meth).unlink()
    prepare(cfg)
    assert victim.read_bytes() == good
    sid = region["schools"][0]
    session._MEMO.clear()
    try:
        rep = session.open_report(str(cfg.dataset), template="probe", scope="school", entity_id=sid, cache=str(cfg.cache))
        assert isinstance(rep.ds, Partition) and rep.ds.municipality_id == region["mun"]
        region_rep = session.open_report(str(cfg.dataset), template="probe", scope="region", entity_id="region",
                                         cache=str(cfg.cache))
        assert not isinstance(region_rep.ds, Partition)
        pd.testing.assert_frame_equal(region_rep.ds.vpr, ds.vpr, check_index_type=False)
    finally:
        session._MEMO.clear()
        R._DERIVED.clear()


@pytest.mark.parametrize("damage", ["truncate", "delete", "no record"])
def test_a_damaged_partition_or_aggregate_folder_is_found_and_written_again(demo_small, tmp_path, capsys, damage):
    # the cache is only a copy: a partition or aggregate file cut short or lost after the batch wrote it
    # (a full disk, a hand clean-up) must not be read by a kernel — prepare writes the folder again
    from shnor_utils.data.snapshot import SIZES, partition_path
    meth = load_methodology()
    ds = load_dataset(demo_small, methodology=meth, errors_csv=False)
    snap = write_snapshot(ds, tmp_path / "dataset-x")
    indicators = compute_all(ds, meth)

    def write():
        A.write_aggregates(ds, meth, snap)
        A.write_indicator_aggregates(indicators, ds.schools, meth, snap)
        write_partitions(ds, snap)

    write()
    victims = [partition_path(snap, "reg99_m002") / "vpr.parquet", sorted((snap / AGGREGATES).glob("*.pkl"))[0],
               indicator_part_path(snap, "reg99_m002")]
    before = [v.read_bytes() for v in victims]
    for v in victims:
        if damage == "truncate":
            v.write_bytes(v.read_bytes()[: v.stat().st_size // 3])
        elif damage == "delete":
            v.unlink()
        else:
            (v.parent if v.parent.name in (AGGREGATES, INDICATOR_PARTS) else v.parent.parent).joinpath(SIZES).unlink()
    write()
    assert [v.read_bytes() for v in victims] == before
    assert capsys.readouterr().err.count("Кэш пакета повреждён") == 3
    # an intact folder is kept as it is, silently
    write()
    assert capsys.readouterr().err == ""


def test_each_municipalitys_indicator_file_is_the_whole_table_filtered(caches):
    """Values, dtypes and row order: the file holds exactly the rows of the region's table a
    municipality's reports read — its schools', every municipality's and the region's."""
    ind, schools, snap = caches["indicators"], caches["ds"].schools, caches["snapshot"]
    assert set(ind["level"].unique()) == {"school", "municipality", "region"}   # no other level to keep
    school_rows = 0
    for mun, ids in schools.groupby("municipality_id")["school_id"]:
        got = read_indicator_part(snap, mun)
        keep = (ind["level"].eq("school") & ind["entity_id"].isin(set(ids))) | ind["level"].isin(["municipality", "region"])
        want = ind[keep.to_numpy(dtype=bool)].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want)          # dtypes too
        assert got["level"].eq("region").sum() == ind["level"].eq("region").sum() > 0
        school_rows += int(got["level"].eq("school").sum())
    assert school_rows == int(ind["level"].eq("school").sum())   # every school row in exactly one file


def test_the_precomputed_region_wide_indicator_aggregates_equal_the_direct_computation(caches):
    """What a partition's report reads instead of other municipalities' rows: the funnel's region sums
    and per-school sums of every key share and year, the 0/1 indicators and the years of the table."""
    ds, meth, snap = caches["ds"], caches["meth"], caches["snapshot"]
    shown = suppress(caches["indicators"], meth)
    part = read_partition(snap, "reg99_m003")
    keys = F.selections(meth)
    assert ("gia_below_min", "ОГЭ", tuple(meth.threshold("gia.mandatory_subjects"))) in keys
    checked = 0
    for key in keys:
        stored = part.aggregate("funnel-pooled", key)
        years = sorted(int(y) for y in shown.loc[shown["indicator_id"] == key[0], "year"].dropna().unique())
        assert sorted(stored) == years and years
        for year in years:
            num, den, pooled = stored[year]
            want_num, want_den, want = F._pooled(shown, key[0], year, *key[1:])
            assert (num, den) == (want_num, want_den)
            pd.testing.assert_frame_equal(pooled, want)
            checked += len(pooled)
    assert checked
    # by hand for one selection: Σ over the region rows; schools of every municipality, hidden rows left out
    year = max(stored)
    num, den, pooled = part.aggregate("funnel-pooled", ("vpr_share_2", None, None))[year]
    rows = shown[(shown["indicator_id"] == "vpr_share_2") & (shown["year"] == year)]
    region = rows[rows["level"] == "region"]
    assert num == region["numerator"].sum() and den == region["denominator"].sum()
    seen = rows[(rows["level"] == "school") & rows["flag"].ne("suppressed").fillna(True)]
    assert set(pooled.index) == set(seen["entity_id"])
    mun = ds.schools.set_index("school_id")["municipality_id"]
    assert set(mun[pooled.index]) == {"reg99_m001", "reg99_m002", "reg99_m003"}
    some = pooled.index[0]
    assert pooled.loc[some, "denominator"] == seen.loc[seen["entity_id"] == some, "denominator"].sum()
    pd.testing.assert_series_equal(part.aggregate("binary-indicators", ()), A.binary(shown))
    assert part.aggregate("known-years", ()) == R.known_years(shown)
    assert part.aggregate("indicator-years", ()) == sorted(int(y) for y in shown["year"].dropna().unique())
