"""`make bench`: the report engine measured side by side, in one run, on generated demo regions.

For every region size of `--sizes` (default 100 300 1000 schools × 4 years; `make bench BENCH_SIZES=100`
for a quick run), on the same sample of `vpr_objectivity` school reports (the first `--sample` of the plan):
  batch    our batch: `shnor run`, warm kernels, `--workers` of them;
  fresh    papermill's way done well: a fresh kernel per report on the same cache (`--isolation fresh`);
  naive    the naive chain: the `papermill` CLI then the `jupyter nbconvert --to html` CLI per report
           (on `--naive-sample` of the sample, same cache);
  floor    the template's cells in-process, no kernel (bench/floor.py), in `--workers` processes;
  dask     the batch on a Dask local cluster of `--workers` one-thread workers against the local pool, on
           the first `--dask-sample` school reports (largest size only; the wall times and their difference);
  all      our batch on the school reports of ALL templates of `--all-sample` schools (the region's
           school reports are of five templates, not one);
  whole    the whole region of `--whole-region` schools (default: the largest of `--sizes`; 0 = skip):
           every template at every scope, with the index and the Excel workbook, as `make reports` does
           (the demo's parameter set and regional overlay), then the same batch again with nothing
           changed (the no-change re-run);
and, for every size of `--sizes` and `--ingest-sizes` (default adds 3000): dataset load + validation and
indicator computation in a child process, with its peak memory; for the sizes of `--ingest-sizes`
also the batch on the sample, for the memory of the process tree and of a kernel. Every batch is measured
twice: the first with an empty cache (`cold_*`: its peak is the driver parsing and validating the files and
computing the indicators), then again on the same data (the figures without prefix: what every later batch
of a region's data costs).

bench/results.json: the figures of the largest size at the top level (the keys the README explains),
every size under `by_size`. Not a test: numbers, not verdicts.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
WORK = ROOT / "bench" / "work"
TEMPLATE = "vpr_objectivity"


def sh(cmd, **kw) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)
    return time.perf_counter() - t


def run_sampled(cmd) -> tuple[float, str, float, float]:
    """Run `cmd`, sampling its process tree's RSS five times a second; returns (wall seconds, stdout,
    peak MB of the whole tree, peak MB of the largest kernel process)."""
    import psutil

    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    tree, kernel, chunks = 0.0, 0.0, []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    while proc.poll() is None:
        try:
            root = psutil.Process(proc.pid)
            procs = [root, *root.children(recursive=True)]
            rss = {p.pid: p.memory_info().rss / 2**20 for p in procs}
            tree = max(tree, sum(rss.values()))
            for p in procs[1:]:
                if "ipykernel" in " ".join(p.cmdline()):
                    kernel = max(kernel, rss[p.pid])
        except psutil.Error:
            pass
        time.sleep(0.2)
    reader.join()
    if proc.returncode not in (0, 1):
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return time.perf_counter() - t, "".join(chunks), tree, kernel


def region(n: int) -> Path:
    data = WORK / f"region{n}"
    if not (data / "truth.json").exists():
        sh([sys.executable, "-m", "shnor_utils.cli", "demo", "--out", str(data), "--schools", str(n), "--format", "csv"],
           stdout=subprocess.DEVNULL)
    return data


def ingest(data: Path) -> dict:
    """Load + validation and indicators, in a child process (its peak memory is its own)."""
    code = ("import time,resource,json;from shnor_utils.data.dataset import load_dataset;"
            "from shnor_utils.analyses import compute_all;t=time.perf_counter();"
            f"ds=load_dataset({str(data)!r});t1=time.perf_counter();ind=compute_all(ds);t2=time.perf_counter();"
            "print(json.dumps({'ingest_s':round(t1-t,2),'indicators_s':round(t2-t1,2),'rows_vpr':len(ds.vpr),"
            "'indicator_rows':len(ind),'ingest_peak_mb':round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)}))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def write_params(data: Path, out_dir: Path, runs_dir: Path) -> Path:
    params = out_dir.parent / f"{out_dir.name}.yaml"
    params.write_text(yaml.safe_dump({
        "title": "Бенчмарк", "dataset": str(data), "year": 2026, "region_name": "Бенчмарк",
        "output": str(out_dir), "runs_dir": str(runs_dir), "excel": False,
        "reports": [{"template": TEMPLATE, "scopes": ["school"]}]}, allow_unicode=True), encoding="utf-8")
    return params


SCHOOL_TEMPLATES = ("vpr_objectivity", "gia_results", "indicator_dynamics", "teacher_deficits", "school_passport")


def write_all_params(data: Path, out_dir: Path, runs_dir: Path, school_ids: list[str]) -> Path:
    """Every school template, for the schools `school_ids` (the plan's `filter`)."""
    params = out_dir.parent / f"{out_dir.name}.yaml"
    params.write_text(yaml.safe_dump({
        "title": "Бенчмарк", "dataset": str(data), "year": 2026, "region_name": "Бенчмарк",
        "output": str(out_dir), "runs_dir": str(runs_dir), "excel": False,
        "reports": [{"template": t, "scopes": ["school"], "filter": {"school_id": school_ids}} for t in SCHOOL_TEMPLATES]},
        allow_unicode=True), encoding="utf-8")
    return params


def whole_region(data: Path, work: Path, workers: int) -> dict:
    """Every report of the region (the demo parameter set's templates and scopes, the demo overlay),
    the index and the workbook: one forced batch, then the no-change re-run."""
    demo = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    params = work / "whole.yaml"
    params.write_text(yaml.safe_dump({
        "title": "Бенчмарк: весь регион", "dataset": str(data), "year": 2026, "region_name": "Бенчмарк",
        "output": str(work / "whole"), "runs_dir": str(work / "whole-runs"), "excel": True,
        "methodology": str(ROOT / demo["methodology"]), "reports": demo["reports"]}, allow_unicode=True), encoding="utf-8")
    res = batch(params, 0, workers)
    again = time.perf_counter()
    rerun = subprocess.run([sys.executable, "-m", "shnor_utils.cli", "run", str(params), "--workers", str(workers)],
                           capture_output=True, text=True, cwd=ROOT)
    rerun_s = time.perf_counter() - again
    return {"whole_region_wall_s": res["wall_s"], "whole_region_min": round(res["wall_s"] / 60, 1),
            "whole_region_reports": res["reports"], "whole_region_reports_per_min": round(res["reports"] / res["wall_s"] * 60, 1),
            "whole_region_report_s_median": res["report_s_median"], "whole_region_tree_peak_mb": res["tree_peak_mb"],
            "whole_region_kernel_peak_mb": res["kernel_peak_mb"],
            "whole_region_rerun_s": round(rerun_s, 1) if rerun.returncode == 0 and "Ничего не изменилось" in rerun.stdout else None}


def all_templates(data: Path, work: Path, ids: list[str], workers: int) -> dict:
    """Our batch on the school reports of every template of the schools `ids` (after one warm-up run
    that makes the cache)."""
    params = write_all_params(data, work / "all", work / "all-runs", ids)
    res = batch(params, 0, workers)
    recs = [json.loads(p.read_text(encoding="utf-8")) for p in (res["output"] / ".state" / "runs").glob("*.json")]
    by_template: dict = {}
    for r in recs:
        if r.get("ok"):
            by_template.setdefault(r["run_id"].split("__")[0], []).append(r["seconds"])
    return {"all_templates_s_median_by_template": {t: round(statistics.median(v), 3) for t, v in sorted(by_template.items())},"all_templates_reports": res["reports"], "all_templates_reports_per_min": res["reports_per_min"],
            "all_templates_report_s_median": res["report_s_median"],
            "all_templates_tree_peak_mb": res["tree_peak_mb"], "all_templates_kernel_peak_mb": res["kernel_peak_mb"]}


def batch(params: Path, sample: int, workers: int, *extra) -> dict:
    """One `shnor run` of the sample (forced), with its wall time, memory and per-report records."""
    cmd = [sys.executable, "-m", "shnor_utils.cli", "run", str(params), "--workers", str(workers),
           *(["--limit", str(sample)] if sample else []), "--force", *extra]
    wall, summary, tree, kernel = run_sampled(cmd)
    cfg = yaml.safe_load(params.read_text(encoding="utf-8"))
    out = Path(cfg["output"])
    recs = [json.loads(p.read_text(encoding="utf-8")) for p in (out / ".state" / "runs").glob("*.json")]
    recs = [r for r in recs if r.get("ok")]
    phase = _reports_phase(summary)
    return {"wall_s": round(wall, 1), "reports": len(recs), "reports_phase_s": phase,
            "reports_per_min": round(len(recs) / (phase or wall) * 60, 1),
            "report_s_median": round(statistics.median(r["seconds"] for r in recs), 3) if recs else None,
            "html_s_median": round(statistics.median(r.get("html_s", 0) for r in recs), 3) if recs else None,
            "tree_peak_mb": round(tree), "kernel_peak_mb": round(kernel), "output": out}


def _reports_phase(summary: str) -> float | None:
    import re

    m = re.search(r"отчёты (\d+) с", summary)
    return float(m[1]) if m and int(m[1]) > 0 else None


def school_ids(out_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in out_dir.glob(f"school/*/{TEMPLATE}.html"))


def output_sizes(out_dir: Path) -> dict:
    htmls = [p.stat().st_size for p in out_dir.rglob("*.html") if p.parent != out_dir]
    schools = len(list((out_dir / "school").glob("*"))) or 1
    total = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file() and ".cache" not in p.parts
                and ".state" not in p.parts and "logs" not in p.parts)
    return {"html_bytes_median": int(statistics.median(htmls)) if htmls else None,
            "output_bytes_per_school": int(total / schools)}


def floor(params: Path, ids: list[str], workers: int, out: Path) -> dict:
    """bench/floor.py in `workers` processes, the sample split between them."""
    parts = [ids[i::workers] for i in range(workers) if ids[i::workers]]
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, str(ROOT / "bench" / "floor.py"), str(params), *part, "--out", str(out)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True) for part in parts]
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.perf_counter() - t
    secs = [s for r in results for s in r["seconds"][1:]]    # steady state: without each process's first report
    return {"wall_s": round(wall, 1), "reports": len(ids), "floor_s_median": round(statistics.median(secs), 3) if secs else None,
            "floor_reports_per_min": round(len(ids) / wall * 60, 1),
            "floor_steady_reports_per_min": round(60 / statistics.median(secs) * len(parts), 1) if secs else None}


def naive(params: Path, ids: list[str], work: Path) -> dict:
    """papermill CLI + nbconvert CLI per report, with the batch's own parameters (same cache)."""
    from shnor_utils.batch.plan import load_params, plan
    from shnor_utils.batch.prepare import load_data
    from shnor_utils.methodology import load_methodology

    cfg = load_params(params)
    runs = {r.entity_id: r for r in plan(cfg, load_data(cfg, load_methodology(cfg.methodology)).schools)}
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    template = cfg.templates / f"{TEMPLATE}.ipynb"
    t = time.perf_counter()
    for sid in ids:
        nb = work / f"{sid}.ipynb"
        args = [a for k, v in runs[sid].parameters.items() for a in ("-p", k, str(v))]
        subprocess.run([str(VENV_BIN / "papermill"), str(template), str(nb), *args, "-k", "python3",
                        "--cwd", str(template.parent), "--no-progress-bar", "--log-level", "ERROR"],
                       check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
        subprocess.run([str(VENV_BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", "--log-level", "ERROR",
                        str(nb)], check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    return {"reports": len(ids), "wall_s": round(wall, 1), "naive_reports_per_min": round(len(ids) / wall * 60, 1)}


def dask_vs_local(params: Path, sample: int, workers: int) -> dict:
    """The same sample on a Dask local cluster (`workers` one-thread processes) and on the local pool."""
    from distributed import LocalCluster

    local = batch(params, sample, workers)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask = batch(params, sample, workers, "--scheduler", cluster.scheduler_address)
    return {"local_wall_s": local["wall_s"], "dask_wall_s": dask["wall_s"], "dask_reports": dask["reports"],
            "dask_overhead_s": round(dask["wall_s"] - local["wall_s"], 1),
            "dask_overhead_ratio": round(dask["wall_s"] / local["wall_s"], 2)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100 300 1000", help="region sizes (schools) for the report measurements")
    ap.add_argument("--ingest-sizes", default="3000", help="further sizes measured for ingest and memory only")
    ap.add_argument("--sample", type=int, default=12, help="school reports per variant")
    ap.add_argument("--naive-sample", type=int, default=4)
    ap.add_argument("--all-sample", type=int, default=12,
                    help="schools (of the sample) whose reports of every template are run")
    ap.add_argument("--whole-region", type=int, default=None,
                    help="schools of the region run whole (default: the largest of --sizes; 0: skip)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--dask-sample", type=int, default=48,
                    help="school reports of the Dask / local pool comparison (its start-up is a few seconds)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.replace(",", " ").split()]
    ingest_only = [int(s) for s in args.ingest_sizes.replace(",", " ").split() if int(s) not in sizes]
    WORK.mkdir(parents=True, exist_ok=True)
    res: dict = {"date": _dt.date.today().isoformat(),
                 "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                             "load_average_at_start": [round(x, 1) for x in os.getloadavg()]},
                 "template": TEMPLATE, "sample": args.sample, "workers": args.workers, "by_size": {}}
    for n in sorted(sizes + ingest_only):
        print(f"— регион {n} школ: генерация, загрузка и показатели…", flush=True)
        data = region(n)
        row = {"dataset_mb": round(sum(p.stat().st_size for p in data.glob("*.csv")) / 2**20, 1), **ingest(data)}
        res["by_size"][str(n)] = row
        work = WORK / f"s{n}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        params = write_params(data, work / "output", work / "runs")
        if n in ingest_only:   # memory only: the batch on the sample, first with an empty cache, then again
            print(f"  память: наш пакет, {args.sample} отчётов (пустой кэш, затем снова)…", flush=True)
            cold = batch(params, args.sample, args.workers)
            warm = batch(params, args.sample, args.workers)
            row.update({"tree_peak_mb": warm["tree_peak_mb"], "kernel_peak_mb": warm["kernel_peak_mb"],
                        "cold_tree_peak_mb": cold["tree_peak_mb"],
                        "batch_reports_per_min": warm["reports_per_min"], "report_s_median": warm["report_s_median"]})
            Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
            continue
        print(f"  наш пакет (тёплые ядра), {args.sample} отчётов: пустой кэш, затем снова…", flush=True)
        cold = batch(params, args.sample, args.workers)   # the first batch of new data: prepare fills the cache
        warm = batch(params, args.sample, args.workers)   # every later batch of the same data
        row.update({"cold_tree_peak_mb": cold["tree_peak_mb"], "cold_report_s_median": cold["report_s_median"],
                    "batch_reports_per_min": warm["reports_per_min"], "report_s_median": warm["report_s_median"],
                    "html_s_median": warm["html_s_median"], "tree_peak_mb": warm["tree_peak_mb"],
                    "kernel_peak_mb": warm["kernel_peak_mb"], **output_sizes(warm["output"])})
        ids = school_ids(warm["output"])
        print(f"  наш пакет, все шаблоны школ, {args.all_sample} школ…", flush=True)
        row.update(all_templates(data, work, ids[: args.all_sample], args.workers))
        print("  свежее ядро на каждый отчёт (--isolation fresh)…", flush=True)
        row["fresh_reports_per_min"] = batch(params, args.sample, args.workers, "--isolation", "fresh")["reports_per_min"]
        print("  пол: ячейки шаблона в процессе, без ядра…", flush=True)
        row.update(floor(params, ids, args.workers, work / "floor"))
        if row.get("floor_s_median") and row.get("report_s_median"):
            row["floor_to_batch_per_report"] = round(row["floor_s_median"] / row["report_s_median"], 2)
        print(f"  наивная цепочка papermill + nbconvert, {args.naive_sample} отчётов…", flush=True)
        row.update(naive(params, ids[: args.naive_sample], work / "naive"))
        if n == max(sizes) and not args.no_dask:
            print("  Dask: локальный кластер против локального пула…", flush=True)
            row.update(dask_vs_local(params, args.dask_sample, args.workers))
        Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")   # partial results kept
    whole = max(sizes) if args.whole_region is None else args.whole_region
    if whole:
        print(f"— весь регион {whole} школ: все шаблоны и охваты, оглавление и Excel; затем повторный запуск без изменений…", flush=True)
        res["by_size"].setdefault(str(whole), {}).update(whole_region(region(whole), WORK / f"s{whole}", args.workers))
        Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    top = res["by_size"][str(max(sizes))]
    for key in ("report_s_median", "floor_s_median", "batch_reports_per_min", "floor_reports_per_min",
                "fresh_reports_per_min", "naive_reports_per_min", "html_bytes_median", "output_bytes_per_school",
                "dask_overhead_ratio", "all_templates_reports_per_min", "all_templates_report_s_median",
                "whole_region_min", "whole_region_reports", "whole_region_reports_per_min", "whole_region_rerun_s",
                "whole_region_tree_peak_mb"):
        res[key] = top.get(key)
    for key in ("tree_peak_mb", "kernel_peak_mb", "cold_tree_peak_mb", "ingest_s", "indicators_s", "ingest_peak_mb"):
        res[key] = {n: row.get(key) for n, row in res["by_size"].items() if row.get(key) is not None}
    res["at_size"] = max(sizes)
    Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in res.items() if k != "by_size"}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
