"""The batch snapshot read lazily (a kernel holds only the tables its reports read) and split by
municipality (each part holds exactly its schools' rows); the session of a batch report reads it."""
from __future__ import annotations

import pandas as pd

from shnor_utils import session
from shnor_utils.analyses import compute_all
from shnor_utils.data.dataset import files_stamp, load_dataset
from shnor_utils.data.snapshot import (PARTS, partition_path, read_partition, read_snapshot, write_partitions,
                                       write_snapshot)
from shnor_utils.indicators.compute import write_indicators
from shnor_utils.methodology import load_methodology


def _snapshot(tmp_path, demo_small):
    ds = load_dataset(demo_small, errors_csv=False)
    folder = write_snapshot(ds, tmp_path / "snap")
    return ds, folder


def test_lazy_snapshot_reads_a_table_on_first_use_and_gives_the_same_frames(tmp_path, demo_small):
    ds, folder = _snapshot(tmp_path, demo_small)
    lazy = read_snapshot(folder, lazy=True)
    assert sorted(lazy.tables) == sorted(ds.tables) and lazy.tables.loaded() == []
    pd.testing.assert_frame_equal(lazy.vpr, ds.vpr)
    assert lazy.tables.loaded() == ["vpr"]          # only what was asked for
    for name in ds.tables:
        pd.testing.assert_frame_equal(lazy.tables[name], ds.tables[name])
    assert lazy.digest() == ds.digest() and lazy.provenance() == ds.provenance()


def test_partitions_hold_exactly_each_municipalitys_rows(tmp_path, demo_small):
    ds, folder = _snapshot(tmp_path, demo_small)
    write_partitions(ds, folder)
    municipalities = sorted(ds.schools["municipality_id"].unique())
    assert len([p for p in (folder / PARTS).iterdir() if p.is_dir()]) == len(municipalities)
    total = 0
    for mid in municipalities:
        part = read_partition(folder, mid)
        ids = set(ds.schools.loc[ds.schools["municipality_id"] == mid, "school_id"])
        vpr = part.vpr
        assert set(vpr["school_id"]) <= ids and len(vpr)
        expected = ds.vpr[ds.vpr["school_id"].isin(ids)].reset_index(drop=True)
        pd.testing.assert_frame_equal(vpr, expected)
        total += len(vpr)
        pd.testing.assert_frame_equal(part.schools, ds.schools)    # the schools table is whole
        assert sorted(part.tables.loaded()) == ["schools", "vpr"]
    assert total == len(ds.vpr)                                  # every row in exactly one part
    assert partition_path(folder, municipalities[0]) != partition_path(folder, municipalities[1])


def test_batch_session_reads_only_the_tables_a_report_uses(tmp_path, demo_small):
    meth = load_methodology()
    ds = load_dataset(demo_small, methodology=meth, errors_csv=False)
    cache = tmp_path / "cache"
    write_snapshot(ds, session.snapshot_path(cache, files_stamp(demo_small, meth.digest)))
    write_indicators(compute_all(ds, meth), session.indicators_path(cache, ds, meth))   # as the batch does
    session._MEMO.clear()
    try:
        sid = ds.schools["school_id"].iloc[0]
        rep = session.open_report(str(demo_small), template="t", scope="school", entity_id=sid, cache=str(cache))
        assert rep.ds.tables.loaded() == ["schools"]
        pd.testing.assert_frame_equal(rep.own("vpr"), ds.vpr[ds.vpr["school_id"] == sid])
        assert sorted(rep.ds.tables.loaded()) == ["schools", "vpr"]
    finally:
        session._MEMO.clear()
