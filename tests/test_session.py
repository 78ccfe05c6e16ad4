"""The fast paths of a warm kernel give what the plain filters give: the dataset snapshot the batch
writes, the per-school and per-entity row indexes and the region-wide memo of `Report.derived`."""
import pandas as pd
import pytest

from shnor_utils import session
from shnor_utils.reporting import report as R
from shnor_utils.data.dataset import files_stamp, load_dataset, read_snapshot, write_snapshot
from shnor_utils.analyses import compute_all
from shnor_utils.methodology import load_methodology


@pytest.fixture(scope="module")
def loaded(demo_small):
    meth = load_methodology()
    ds = load_dataset(demo_small, methodology=meth)
    return meth, ds, compute_all(ds, meth)


def test_snapshot_round_trip_keeps_frames_dtypes_and_provenance(loaded, tmp_path):
    meth, ds, _ = loaded
    folder = write_snapshot(ds, tmp_path / "dataset-x")
    back = read_snapshot(folder)
    assert set(back.tables) == set(ds.tables)
    for name, frame in ds.tables.items():
        pd.testing.assert_frame_equal(back.tables[name], frame, check_index_type=False)
    assert back.provenance() == ds.provenance() and back.digest() == ds.digest() and back.notes == ds.notes
    assert not list(tmp_path.glob(".dataset-x.*")), "no temporary folder is left behind"


def test_kernel_reads_the_snapshot_instead_of_the_files(loaded, demo_small, tmp_path, monkeypatch):
    meth, ds, _ = loaded
    write_snapshot(ds, tmp_path / f"dataset-{files_stamp(demo_small, meth.digest)}")
    monkeypatch.setattr(session, "load_dataset", lambda *a, **k: pytest.fail("the files were parsed again"))
    session._MEMO.clear()
    try:
        got, _ = session.load(demo_small, meth, cache=str(tmp_path))
        pd.testing.assert_frame_equal(got.vpr, ds.vpr, check_index_type=False)
    finally:
        session._MEMO.clear()
        R._DERIVED.clear()


def test_files_stamp_changes_when_a_table_is_rewritten(tmp_path):
    (tmp_path / "schools.csv").write_text("a\n1\n", encoding="utf-8")
    before = files_stamp(tmp_path, "m")
    (tmp_path / "schools.csv").write_text("a\n12\n", encoding="utf-8")
    assert files_stamp(tmp_path, "m") != before
    assert files_stamp(tmp_path, "other methodology") != files_stamp(tmp_path, "m")


@pytest.mark.parametrize("scope, entity", [("school", "edu990003"), ("municipality", None), ("region", None)])
def test_row_indexes_equal_plain_filters(loaded, scope, entity):
    meth, ds, ind = loaded
    if scope == "municipality":
        entity = ds.schools["municipality_id"].iloc[0]
    rep = R.Report(ds, meth, ind, template="t", scope=scope, entity_id=entity, year=2026)
    for table in ("vpr", "vpr_tasks", "gia"):
        frame = getattr(ds, table)
        plain = frame[frame["school_id"].isin(rep.school_ids) & (frame["year"] == 2026)]
        pd.testing.assert_frame_equal(rep.own(table, 2026), plain)
        pd.testing.assert_frame_equal(rep.of_year(table), frame[frame["year"] == 2026])
    ids = rep.school_ids[:3]
    plain = ind[(ind["level"] == "school") & ind["entity_id"].isin(ids)]
    pd.testing.assert_frame_equal(rep.rows_of("school", ids), plain)
    assert rep.rows_of("school", "no-such-school").empty


def test_derived_is_computed_once_and_forgotten_with_its_dataset(loaded, demo_small):
    meth, ds, ind = loaded
    calls = []
    rep = R.Report(ds, meth, ind, template="t", scope="region", entity_id=None, year=2026)
    for _ in range(3):
        assert rep.derived("probe", lambda: calls.append(1) or "value", 2026) == "value"
    assert len(calls) == 1
    other = load_dataset(demo_small, methodology=meth)   # another dataset object: the memo starts again
    R.Report(other, meth, ind, template="t", scope="region", entity_id=None, year=2026).derived(
        "probe", lambda: calls.append(1) or "value", 2026)
    assert len(calls) == 2


def test_contiguous_joins_arrow_chunks_and_keeps_values():
    import pyarrow as pa

    from shnor_utils.data.dataset import contiguous
    parts = [pd.DataFrame({"id": pd.array([f"s{i}", None], dtype="string"), "n": pd.array([i, None], dtype="Int64")})
             for i in range(5)]
    def chunks(series):
        arrow = pa.array(series.array)
        return arrow.num_chunks if isinstance(arrow, pa.ChunkedArray) else 1

    frame = pd.concat(parts, ignore_index=True)
    assert chunks(frame["id"]) == 5, "concat leaves one chunk per part"
    joined = contiguous(frame)
    assert chunks(joined["id"]) == 1
    pd.testing.assert_frame_equal(joined, frame)
