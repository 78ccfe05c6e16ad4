"""`make bench`: the batch engine on a generated region of 1,000 schools × 4 years.

Measures, in one run, on this machine:
  (a) dataset load + validation + indicator computation: time and peak memory (a child process);
  (b) the batch throughput of school reports (`shnor run`, whole region, warm kernels);
  (c) the same template produced the naive way for a sample of schools — a loop of the
      `papermill` CLI then `jupyter nbconvert --to html --no-input` per report — side by side;
  (d) a no-change re-run of the whole region;
  (e) where the time of one report goes (kernel start, imports, data, cells, HTML).
Results go to bench/results.json (and the README quotes them). Not a test: numbers, not verdicts.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
WORK = ROOT / "bench" / "work"


def sh(cmd, **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)
    return time.perf_counter() - t


def child_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_sampled(cmd) -> tuple[float, str, float]:
    """Run `cmd`, sampling twice a second the RSS of its whole process tree (driver + kernels);
    returns (wall seconds, stdout, peak MB of the tree)."""
    import psutil

    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    peak, chunks = 0.0, []
    import threading

    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    while proc.poll() is None:
        try:
            root = psutil.Process(proc.pid)
            total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
            peak = max(peak, total / 2**20)
        except psutil.Error:
            pass
        time.sleep(0.5)
    reader.join()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return time.perf_counter() - t, "".join(chunks), peak


def phases(summary: str) -> dict:
    """The batch summary line: «подготовка данных X с, отчёты Y с, оглавление и Excel Z с»."""
    import re

    m = re.search(r"подготовка данных (\d+) с, отчёты (\d+) с, оглавление и Excel (\d+) с", summary)
    return {"prepare_s": int(m[1]), "reports_s": int(m[2]), "index_excel_s": int(m[3])} if m else {}


def where_time_goes(out_dir: Path, runs_dir: Path) -> dict:
    """Medians over the batch: execute / HTML / write per report (state records) and the duration
    of each template cell (nbclient's timing metadata in the executed notebooks)."""
    import statistics
    from datetime import datetime

    import nbformat

    recs = [json.loads(p.read_text(encoding="utf-8")) for p in (out_dir / ".state" / "runs").glob("*.json")]
    part = {k: round(statistics.median(r[k] for r in recs if k in r), 3) for k in ("execute_s", "html_s", "write_s")
            if any(k in r for r in recs)}
    cells: dict = {}
    for nb_path in sorted(runs_dir.rglob("*.ipynb"))[:200]:
        nb = nbformat.read(nb_path, as_version=4)
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            ex = cell.metadata.get("execution", {})
            if "iopub.execute_input" in ex and "shell.execute_reply" in ex:
                d = (datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
                     - datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))).total_seconds()
                label = f"{i}: " + (cell.source.splitlines() or [""])[0][:60]
                cells.setdefault(label, []).append(d)
    secs = sorted((r["seconds"] for r in recs if "seconds" in r), reverse=True)
    if secs:
        part["report_s_median"] = round(statistics.median(secs), 2)
        part["report_s_slowest"] = [round(x, 1) for x in secs[:4]]   # the first report of each kernel
    part["cells_median_s"] = {k: round(statistics.median(v), 3) for k, v in cells.items()}
    return part


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--schools", type=int, default=1000)
    ap.add_argument("--naive-sample", type=int, default=10)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--batch-limit", type=int, default=None,
                    help="only the first N school reports of the region (a sample; default: all)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    data = WORK / f"region{args.schools}"
    res: dict = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                             "platform": platform.platform()}, "schools": args.schools}

    print(f"1/5 демо-регион на {args.schools} школ…", flush=True)
    t = time.perf_counter()
    if not (data / "truth.json").exists():
        sh([str(VENV_BIN / "shnor"), "demo", "--out", str(data), "--schools", str(args.schools), "--format", "csv"])
    res["generate_s"] = round(time.perf_counter() - t, 1)
    res["dataset_mb"] = round(sum(p.stat().st_size for p in data.glob("*")) / 2**20, 1)

    print("2/5 загрузка, проверка и показатели (отдельный процесс)…", flush=True)
    code = ("import time,resource,json;from shnor_utils.data.dataset import load_dataset;"
            "from shnor_utils.analyses import compute_all;t=time.perf_counter();"
            f"ds=load_dataset({str(data)!r});t1=time.perf_counter();ind=compute_all(ds);t2=time.perf_counter();"
            "print(json.dumps({'load_validate_s':round(t1-t,2),'indicators_s':round(t2-t1,2),'rows_vpr':len(ds.vpr),"
            "'indicator_rows':len(ind),'peak_mb':round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT).stdout
    res["ingest"] = json.loads(out.strip().splitlines()[-1])

    print("3/5 пакет: все школьные отчёты региона (vpr_objectivity)…", flush=True)
    out_dir = WORK / "output"
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(WORK / "runs", ignore_errors=True)
    params = WORK / "params.yaml"
    params.write_text(yaml.safe_dump({
        "title": "Бенчмарк", "dataset": str(data), "year": 2026, "region_name": "Бенчмарк",
        "output": str(out_dir), "runs_dir": str(WORK / "runs"), "excel": True,
        "reports": [{"template": "vpr_objectivity", "scopes": ["school"]}]}, allow_unicode=True), encoding="utf-8")
    limit = ["--limit", str(args.batch_limit)] if args.batch_limit else []
    batch_s, summary, tree_peak = run_sampled([str(VENV_BIN / "shnor"), "run", str(params), "--workers", str(args.workers), *limit])
    n_reports = len(list(out_dir.rglob("vpr_objectivity.html")))
    ph = phases(summary)
    res["batch"] = {"reports": n_reports, "sample_of_region": bool(args.batch_limit), "wall_s": round(batch_s, 1), "workers": args.workers,
                    "reports_per_min": round(n_reports / batch_s * 60, 1), "phases_s": ph,
                    "reports_phase_per_min": round(n_reports / ph["reports_s"] * 60, 1) if ph.get("reports_s") else None,
                    "peak_mb_largest_process": round(child_peak_mb()), "peak_mb_process_tree": round(tree_peak),
                    "summary": summary.strip().splitlines()[-1] if summary.strip() else ""}

    print("4/5 повторный запуск без изменений…", flush=True)
    t = time.perf_counter()
    sh([str(VENV_BIN / "shnor"), "run", str(params), *limit], stdout=subprocess.DEVNULL)
    res["no_change_rerun_s"] = round(time.perf_counter() - t, 2)

    print(f"5/5 наивный способ на {args.naive_sample} школах (papermill CLI + nbconvert CLI)…", flush=True)
    naive = WORK / "naive"
    shutil.rmtree(naive, ignore_errors=True)
    naive.mkdir()
    ids = sorted(p.parent.name for p in out_dir.glob("school/*/vpr_objectivity.html"))[: args.naive_sample]
    template = ROOT / "notebooks" / "templates" / "vpr_objectivity.ipynb"
    t = time.perf_counter()
    for sid in ids:
        nb = naive / f"{sid}.ipynb"
        subprocess.run([str(VENV_BIN / "papermill"), str(template), str(nb), "-p", "dataset", str(data),
                        "-p", "scope", "school", "-p", "entity_id", sid, "-p", "year", "2026", "-k", "python3",
                        "--cwd", str(template.parent), "--no-progress-bar", "--log-level", "ERROR"],
                       check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
        subprocess.run([str(VENV_BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", "--log-level", "ERROR",
                        str(nb)], check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
    naive_s = time.perf_counter() - t
    res["naive"] = {"reports": len(ids), "wall_s": round(naive_s, 1), "s_per_report": round(naive_s / len(ids), 2),
                    "reports_per_min": round(len(ids) / naive_s * 60, 1)}
    res["speedup_vs_naive"] = round(res["batch"]["reports_per_min"] / res["naive"]["reports_per_min"], 1)

    res["where_time_goes"] = where_time_goes(out_dir, WORK / "runs")
    res["goals"] = {"speedup_ge_5x": res["speedup_vs_naive"] >= 5, "no_change_rerun_lt_10s": res["no_change_rerun_s"] < 10,
                    "peak_memory_lt_4GiB_per_process": max(res["ingest"]["peak_mb"], res["batch"]["peak_mb_largest_process"]) < 4096,
                    "peak_memory_process_tree_mb": res["batch"]["peak_mb_process_tree"]}
    Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(res, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
