"""Run keys from the per-school digests of the data tables (batch.state.DataDigests): the digests kept in
the batch snapshot give the same keys as computing them, a damaged file is computed again, and computing
them from a lazily read snapshot leaves no table held."""
from __future__ import annotations

import pandas as pd

from shnor_utils.analyses import compute_all
from shnor_utils.batch.state import DataDigests
from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.snapshot import read_snapshot, write_snapshot
from shnor_utils.methodology import load_methodology


def _keys(d: DataDigests, schools) -> list[str]:
    tables = sorted(d.by_table)
    return [d.for_run(tables, [s], ["municipality/x", "region/region"]) for s in schools]


def test_cached_digests_give_the_same_run_keys_and_a_damaged_file_is_computed_again(demo_small, tmp_path):
    meth = load_methodology()
    ds = load_dataset(demo_small, methodology=meth, errors_csv=False)
    ind = compute_all(ds, meth)
    schools = ds.schools["school_id"].tolist()
    direct = _keys(DataDigests(ds, ind), schools)
    snap = write_snapshot(ds, tmp_path / "snap")
    cache = snap / "table-digests.parquet"
    lazy = read_snapshot(snap, lazy=True)
    first = DataDigests(lazy, ind, cache=cache)                # computed from the snapshot, written
    assert cache.exists() and lazy.tables.loaded() == []       # one table at a time, none kept
    assert _keys(first, schools) == direct
    again = read_snapshot(snap, lazy=True)
    assert _keys(DataDigests(again, ind, cache=cache), schools) == direct
    assert again.tables.loaded() == []                         # from the file: no table read at all
    assert len(set(direct)) == len(direct)                     # a key per school: the digests tell schools apart
    cache.write_bytes(b"not parquet")                          # damaged: computed again, written again
    assert _keys(DataDigests(read_snapshot(snap, lazy=True), ind, cache=cache), schools) == direct
    assert len(pd.read_parquet(cache)) > 0
