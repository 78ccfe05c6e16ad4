"""Issue 17, point 13: a report that fails on a re-run does not leave its old page in place as if it
were current — the old HTML is set aside as `<name>.stale.html`, its sidecar removed; a later
success brings a fresh page and removes the stale one."""
from __future__ import annotations

import pytest

from tests.batch.probe import executed, make_region, run


@pytest.fixture
def region(tmp_path, demo_small):
    return make_region(tmp_path, demo_small)


def test_a_failed_rerun_sets_the_old_report_aside(region):
    flag = region["tmp"] / "fail.flag"
    bad = region["schools"][0]
    params = region["params"](scopes=("school",), parameters={"fail_on": bad, "flag_file": str(flag)})
    folder = region["output"] / "school" / bad
    code, text = run(params)
    assert code == 0 and len(executed(text)) == 3
    old = (folder / "probe.html").read_text(encoding="utf-8")
    assert (folder / "indicators.json").exists() and not (folder / "probe.indicators.json").exists()

    (folder / "probe.docx").write_bytes(b"old word file")   # as an earlier `--docx` run left it
    flag.write_text("x")                      # the same report now fails
    code, text = run(params, force=True)
    assert code == 1
    assert not (folder / "probe.html").exists()
    assert (folder / "probe.stale.html").read_text(encoding="utf-8") == old
    assert not (folder / "probe.docx").exists() and (folder / "probe.stale.docx").read_bytes() == b"old word file"
    assert not (folder / "probe.indicators.json").exists()
    index = (region["output"] / "index.html").read_text(encoding="utf-8")
    assert "ошибка" in index and f"school/{bad}/probe" not in index
    for other in region["schools"][1:]:       # the others are current
        assert (region["output"] / "school" / other / "probe.html").exists()
        assert not (region["output"] / "school" / other / "probe.stale.html").exists()

    flag.unlink()
    code, text = run(params, retry_failed=True)
    assert code == 0 and executed(text) == {("school", bad)}
    assert (folder / "probe.html").exists() and not (folder / "probe.stale.html").exists()
    assert not (folder / "probe.stale.docx").exists()
    assert f"school/{bad}/probe.html" in (region["output"] / "index.html").read_text(encoding="utf-8")
