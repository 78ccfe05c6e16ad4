"""Where a report's time goes in its charts (issue 15, point 1): executes templates in this process
(no kernel) on the committed demo_small region and prints, per chart kind, the mean CPU time
(`time.process_time`: the machine is shared, wall time varies with the neighbours' load) to build the
figure and to encode it, and the wall time of each report. Not a test: a measuring tool.

    PYTHONPATH=$PWD python bench/time_charts.py [template:scope:entity ...]
"""
from __future__ import annotations

import collections
import contextlib
import gc
import io
import statistics
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "fixtures" / "demo_small"
DEFAULT = ["vpr_objectivity:school:edu990001", "vpr_objectivity:school:edu990002", "vpr_objectivity:school:edu990003",
           "vpr_objectivity:municipality:reg99_m001", "vpr_objectivity:region:region",
           "shnor_selection:region:region", "shnor_selection:municipality:reg99_m001",
           "teacher_deficits:region:region", "indicator_dynamics:school:edu990001", "gia_results:region:region"]


def run_template(template: str, scope: str, entity: str) -> float:
    nb = nbformat.read(ROOT / "notebooks" / "templates" / f"{template}.ipynb", as_version=4)
    ns: dict = {}
    start = time.perf_counter()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        exec(compile(cell.source, f"<{template}>", "exec"), ns)
        if "parameters" in (cell.metadata.get("tags") or []):
            ns.update(dataset=str(DATA), scope=scope, entity_id=entity, cache=None)
    return time.perf_counter() - start


def main(specs: list[str]) -> None:
    from shnor_utils.reporting import charts, report

    build: dict = collections.defaultdict(list)
    encode: list = []
    for name in [n for n in dir(charts) if not n.startswith("_")]:
        fn = getattr(charts, name)
        if callable(fn) and getattr(fn, "__module__", "") == charts.__name__ and name not in ("setup", "wrap_label", "agreement_cells"):
            def timed(*a, _fn=fn, _name=name, **k):
                t = time.process_time()
                fig = _fn(*a, **k)
                if hasattr(fig, "savefig"):   # a chart, not a helper
                    build[_name].append(time.process_time() - t)
                    fig._shnor_kind = _name
                return fig
            setattr(charts, name, timed)
    orig = report.Report.figure
    per_kind_encode: dict = collections.defaultdict(list)

    def figure(self, fig, **k):
        t = time.process_time()
        orig(self, fig, **k)
        dt = time.process_time() - t
        encode.append(dt)
        per_kind_encode[getattr(fig, "_shnor_kind", "?")].append(dt)
    report.Report.figure = figure
    with contextlib.redirect_stdout(io.StringIO()):
        run_template(*specs[0].split(":"))   # warm-up: imports, data cache
    # as a warm batch kernel after its reset (batch/kernel.py): what survived (modules, the memoised dataset)
    # is not scanned by later collections, so a full collection does not land in whichever chart is drawing
    gc.collect()
    gc.freeze()
    build.clear(), per_kind_encode.clear()
    walls = {}
    for spec in specs:
        with contextlib.redirect_stdout(io.StringIO()):
            walls[spec] = run_template(*spec.split(":"))
    print(f"{'chart kind (CPU)':22} {'n':>3} {'build s':>8} {'encode s':>9} {'total s':>8}")
    for kind in sorted(build):
        b, e = statistics.mean(build[kind]), statistics.mean(per_kind_encode.get(kind, [0]))
        print(f"{kind:22} {len(build[kind]):3d} {b:8.3f} {e:9.3f} {b + e:8.3f}")
    for spec, wall in walls.items():
        print(f"{spec:45} {wall:6.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
