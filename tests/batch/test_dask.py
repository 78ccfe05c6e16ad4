"""The Dask backend keeps a warm kernel within its municipalities: the runs, in plan order, are cut
into one contiguous slice per worker and pinned there, so a kernel moves from one municipality's
partition to the next only along its slice (a free worker taking whatever run comes next would
make every kernel visit every municipality, each visit a partition reload and a memo rebuild).
Checked by the kernel's pid the probe template writes for each run."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from shnor_utils.batch.backends import slices
from tests.batch.probe import make_templates, run
from tests.conftest import read_table


def test_slices_are_contiguous_and_balanced():
    assert slices(list(range(7)), 2) == [[0, 1, 2, 3], [4, 5, 6]]
    assert slices(list(range(3)), 4) == [[0], [1], [2], []]
    assert slices([], 2) == [[], []]


def _region(tmp_path: Path, demo_small: Path, per_municipality: int) -> tuple[Path, dict]:
    """`per_municipality` schools of each demo municipality, the probe template writing its kernel's pid."""
    data = tmp_path / "data"
    data.mkdir()
    schools = read_table(demo_small, "schools").sort_values(["municipality_id", "school_id"])
    keep = schools.groupby("municipality_id").head(per_municipality)
    for path in demo_small.glob("*.parquet"):
        frame = read_table(demo_small, path.stem)
        frame[frame["school_id"].isin(keep["school_id"])].to_parquet(data / path.name, index=False)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({
        "title": "Проба", "dataset": str(data), "year": 2026, "region_name": "Область",
        "output": str(tmp_path / "output"), "runs_dir": str(tmp_path / "runs"),
        "templates": str(make_templates(tmp_path / "templates")), "excel": False,
        "reports": [{"template": "probe", "scopes": ["school"], "parameters": {"pid_file": str(tmp_path / "pids.txt")}}],
    }, allow_unicode=True), encoding="utf-8")
    return params, dict(zip(keep["school_id"], keep["municipality_id"]))


def test_on_a_cluster_each_kernel_stays_within_its_slice_of_municipalities(tmp_path, demo_small):
    from distributed import LocalCluster

    params, municipality = _region(tmp_path, demo_small, per_municipality=6)
    assert sorted(Counter(municipality.values()).values()) == [6, 6, 6]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code, text = run(params, scheduler=cluster.scheduler_address)
    assert code == 0, text
    lines = [line.split() for line in (tmp_path / "pids.txt").read_text().splitlines()]
    assert sorted(e for _, e in lines) == sorted(municipality)          # every run once
    kernels: dict = {}
    for pid, entity in lines:
        kernels.setdefault(municipality[entity], set()).add(pid)
    assert len(set().union(*kernels.values())) == 2, kernels            # one warm kernel per worker
    # 18 runs of 3 municipalities, 9 per worker: the middle municipality, where the two slices meet, is
    # run by both kernels; a worker done first may also take the last runs of the other's slice (Dask's
    # work stealing: on a loaded machine the third municipality too). Any free worker taking the next
    # run, as before the slices: both kernels in all three (6 kernel × municipality pairs).
    pairs = sum(len(pids) for pids in kernels.values())
    assert pairs <= 5 and len(kernels["reg99_m002"]) == 2, kernels
