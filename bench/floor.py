"""The floor of `make bench`: a template's cells executed in this process, with no Jupyter kernel, no
messaging and no namespace reset — each report gets a fresh namespace of one IPython shell — and the
HTML made from the captured outputs by the same exporter as the batch. What a report costs when only
its own work is paid for.

  python bench/floor.py PARAMS.yaml ENTITY_ID … --out DIR   → one JSON line: seconds per report, HTML bytes
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from nbformat.v4 import new_output


def _outputs(captured) -> list:
    outs = []
    if captured.stdout:
        outs.append(new_output("stream", name="stdout", text=captured.stdout))
    if captured.stderr:
        outs.append(new_output("stream", name="stderr", text=captured.stderr))
    for o in captured.outputs:
        outs.append(new_output("display_data", data=o.data, metadata=o.metadata or {}))
    return outs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("params")
    ap.add_argument("ids", nargs="+")
    ap.add_argument("--template", default="vpr_objectivity")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from shnor_utils.batch.kernel import parameterize
    from shnor_utils.batch.plan import load_params, plan
    from shnor_utils.batch.prepare import load_data
    from shnor_utils.batch.render import to_html
    from shnor_utils.methodology import load_methodology

    cfg = load_params(args.params)
    runs = {r.entity_id: r for r in plan(cfg, load_data(cfg, load_methodology(cfg.methodology)).schools)
            if r.scope == "school" and r.template == args.template}
    shell = InteractiveShell.instance()
    import matplotlib
    matplotlib.use("Agg")   # reports embed their figures themselves (Report.figure)
    import matplotlib.pyplot as plt
    os.chdir(cfg.templates)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seconds, sizes = [], []
    for sid in args.ids:
        run = runs[sid]
        t = time.perf_counter()
        nb = parameterize(cfg.templates / f"{run.template}.ipynb", run.parameters)
        shell.user_ns.clear()
        shell.init_user_ns()
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            with capture_output() as captured:
                result = shell.run_cell(cell.source, store_history=False)
            if not result.success:
                raise SystemExit(f"ячейка не выполнилась ({sid}): {result.error_in_exec or result.error_before_exec}")
            cell.outputs = _outputs(captured)
        plt.close("all")   # as the kernel's reset does between reports
        html = to_html(nb, run.html_title).encode("utf-8")
        (out / f"{sid}.html").write_bytes(html)
        seconds.append(time.perf_counter() - t)
        sizes.append(len(html))
    print(json.dumps({"seconds": seconds, "html_bytes": sizes}))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
