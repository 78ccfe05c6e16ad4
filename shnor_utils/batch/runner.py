"""Batch: the steps composed. `shnor run` = config → prepare → plan → keys → execute + render
(a backend: local threads or a Dask cluster) → PDF → publish; `shnor render` and `shnor index`
re-do the last two steps of a finished batch without executing anything.

  config.py   the parameter set           prepare.py  dataset snapshot and indicators, once
  plan.py     runs (template × entity)    state.py    keys, state, the no-change fast path
  kernel.py   warm Jupyter kernels        execute.py  run → executed notebook
  render.py   notebook → HTML, PDF        publish.py  sidecars, index.html, indicators.xlsx
  backends.py where runs execute          progress.py progress line and logs
  nav.py      links between reports       changes.py  changes.html: since last year, since the last run
"""
from __future__ import annotations

import functools
import json
import os
import sys
import time

from shnor_utils.batch.backends import LocalPool, backend
from shnor_utils.batch.changes import publish_changes
from shnor_utils.batch.config import BatchConfig
from shnor_utils.batch.execute import Result, execute, kernel_for, stop_kernels
from shnor_utils.batch.lock import OutputLock, clean_leftovers, command_line
from shnor_utils.batch.nav import NavMap
from shnor_utils.batch.plan import Run, load_params, plan, select
from shnor_utils.batch.prepare import load_data, prepare, release_tables
from shnor_utils.batch.progress import Progress, append_log, state_record, write_run_log
from shnor_utils.data.dataset import files_stamp
from shnor_utils.data.tables import trim_heap
from shnor_utils.indicators.privacy import suppress
from shnor_utils.batch.publish import Sidecars, clear_stale, provenance_of, report_year, set_aside, write_outputs
from shnor_utils.batch.render import render_pdfs, write_html
from shnor_utils.batch.word import render_docx
from shnor_utils.batch.state import (TABLE_DIGESTS, DataDigests, Manifest, RunState, assign_keys, fingerprint, package_digest,
                                     sha256_file, to_do)
from shnor_utils.methodology import load_methodology
from shnor_utils.session import snapshot_path


def run_batch(params_path, *, workers: int | None = None, only_scope: list[str] | None = None,
              limit: int | None = None, force: bool = False, dry_run: bool = False, retry_failed: bool = False,
              scheduler: str | None = None, pdf: bool | None = None, isolation: str | None = None,
              docx: bool = False, out=None) -> int:
    """`shnor run`: execute a whole parameter set; returns the exit code (0 = every report built).
    The output folder is locked for the whole batch (lock.py): a second batch on it is refused."""
    t0, out = time.perf_counter(), out or sys.stdout
    cfg = load_params(params_path)
    workers = max(1, workers or cfg.workers or os.cpu_count() or 1)
    with locked(cfg), backend(scheduler, workers) as pool:
        return _run_batch(cfg, t0, out, pool, workers=workers, only_scope=only_scope, limit=limit, force=force,
                          dry_run=dry_run, retry_failed=retry_failed, scheduler=scheduler, pdf=pdf, isolation=isolation,
                          docx=docx)


def locked(cfg: BatchConfig) -> OutputLock:
    """Lock the batch's output folder, then remove what killed batches left (temporary files,
    scratch folders of dead processes): under the lock, nothing of ours is being written."""
    lock = OutputLock(cfg.output, command_line()).acquire()
    try:
        clean_leftovers(cfg.output, cfg.runs_dir)
    except BaseException:
        lock.release()
        raise
    return lock


def _run_batch(cfg: BatchConfig, t0: float, out, pool, *, workers, only_scope, limit, force, dry_run, retry_failed,
               scheduler, pdf, isolation, docx=False) -> int:
    cfg.pdf = cfg.pdf if pdf is None else pdf
    cfg.isolation = isolation or cfg.isolation
    options = json.dumps({"scope": only_scope, "limit": limit, "pdf": cfg.pdf, "isolation": cfg.isolation,
                          **({"docx": True} if docx else {})})   # without --docx: the fingerprint of before
    manifest, fp = Manifest(cfg.output), fingerprint(cfg, options)
    # No-change fast path: nothing the batch depends on has changed since a fully successful batch.
    last = None if (force or dry_run or retry_failed) else manifest.unchanged(fp)
    if last:
        print(f"Ничего не изменилось: {last.get('runs')} отчётов актуальны "
              f"({time.perf_counter() - t0:.1f} с). Оглавление: {cfg.output / 'index.html'}", file=out)
        return 0

    if not dry_run:   # a cluster's workers start their kernels while the data is prepared here
        pool.start(functools.partial(warm_up, cfg=cfg), stop_kernels)
    meth, ds, indicators = prepare(cfg)
    t_prepared = time.perf_counter()
    runs = select(plan(cfg, ds.schools), only_scope, limit)
    digests = snapshot_path(cfg.cache, files_stamp(cfg.dataset, meth.digest)) / TABLE_DIGESTS
    assign_keys(runs, DataDigests(ds, indicators, cache=digests), meth.digest, cfg.templates)
    state = RunState(cfg.output)
    todo = to_do(runs, state.all(), force=force, retry_failed=retry_failed)
    chosen = {r.run_id for r in todo}
    skipped = [r for r in runs if r.run_id not in chosen]
    if dry_run:
        return _print_plan(cfg, meth, runs, chosen, out)

    provenance = provenance_of(cfg, ds, meth, package_digest())
    provenance["templates"] = {t: sha256_file(cfg.templates / f"{t}.ipynb") for t in sorted({r.template for r in runs})}
    release_tables(ds, keep=("schools",))   # the kernels read the snapshot; the driver needs only schools
    where = pool.where if scheduler else f"{pool.where}, ядра: {cfg.isolation}"
    print(f"Набор параметров: {cfg.path}; данные: {cfg.dataset}; отчётов: {len(runs)}, выполнить {len(todo)}, "
          f"актуальны {len(skipped)}; {where}", file=out, flush=True)
    shown = suppress(indicators, meth)   # once: the sidecars, the digest and the index show the same table
    year = report_year(cfg, indicators)
    del indicators   # the computed table is not kept while the reports run: the parent needs only what they show
    trim_heap()
    results = _build_all(cfg, todo, len(runs), pool, provenance, Sidecars(shown, provenance, meth, shown=shown), state, out,
                         nav=NavMap.of(runs, cfg.output))
    if cfg.pdf:
        failed_ids = {x.run.run_id for x in results if not x.ok}
        for run, error in render_pdfs([r for r in runs if r.run_id not in failed_ids], workers, progress_out=out):
            results.append(Result(run, False, 0.0, error=f"PDF: {error}"))
    if docx:
        failed_ids = {x.run.run_id for x in results if not x.ok}
        for run, error in render_docx([r for r in runs if r.run_id not in failed_ids], workers, progress_out=out):
            results.append(Result(run, False, 0.0, error=f"Word: {error}"))
    t_reports = time.perf_counter()
    outcomes = {r.run_id: {"ok": True} for r in skipped}
    outcomes.update({r.run.run_id: {"ok": r.ok, "error": f"{r.cell} {r.error}".strip()} for r in results})
    print("Оглавление" + (" и книга Excel" if cfg.excel else "") + "…", file=out, flush=True)
    publish_changes(cfg, runs, ds.schools, shown, meth, shown=shown, year=year)   # before the index, which links it
    write_outputs(cfg, runs, outcomes, ds.schools, shown, meth, shown=shown)
    failed = [r for r in results if not r.ok]
    manifest.write(fp, runs, len(failed))
    phases = (f"подготовка данных {t_prepared - t0:.0f} с, отчёты {t_reports - t_prepared:.0f} с, "
              f"оглавление и Excel {time.perf_counter() - t_reports:.0f} с")
    return _summary(cfg, results, failed, len(skipped), time.perf_counter() - t0, phases, out)


def build(run: Run, cfg: BatchConfig, provenance: dict, nav: NavMap | None = None) -> Result:
    """One report, in a worker: execute its notebook, then render its HTML. Module-level so a
    Dask worker can unpickle it (`functools.partial(build, cfg=…, provenance=…)`)."""
    start = time.perf_counter()
    res = execute(run, cfg, provenance)
    if not res.ok:
        return res
    try:
        html = write_html(run, res.notebook, nav=nav)
    except Exception as exc:   # a render failure fails this run only
        return Result.failed(run, time.perf_counter() - start, exc)
    timings = {**res.timings, "html_s": html["html_s"], "write_s": round(res.timings["write_s"] + html["write_s"], 3)}
    return Result(run, True, time.perf_counter() - start, timings=timings)


def warm_up(cfg: BatchConfig) -> None:
    """A cluster worker before its first run: the batch code imported (unpickling this function
    did it) and the kernel of the thread that runs its tasks started. A kernel that does not come
    up now is started (and its failure reported) by the first run."""
    kernel = kernel_for(cfg)
    if kernel.client is None:
        try:
            kernel.start()
        except Exception:
            pass


def _build_all(cfg: BatchConfig, todo: list, total: int, pool, provenance: dict, sidecars: Sidecars,
               state: RunState, out, nav: NavMap | None = None) -> list[Result]:
    """Every run to do on `pool`; each result is recorded (state, logs, sidecar) as it arrives."""
    progress = Progress(len(todo), cfg.output / "logs" / "batch.log", out)
    progress.line(f"Пакет {cfg.path} начат: выполнить {len(todo)} из {total}")
    results: list[Result] = []

    def record(res: Result) -> None:
        state.put(res.run.run_id, state_record(res))
        write_run_log(cfg.output, res)
        if res.ok:
            sidecars.write(res.run)
            clear_stale(res.run)
        else:
            set_aside(res.run)   # no old page served as current while the index says «ошибка»
        results.append(res)
        progress.done(res, len(results), len(todo))

    try:
        pool.run(functools.partial(build, cfg=cfg, provenance=provenance, nav=nav), todo, record)
    finally:
        progress.close()
        stop_kernels()
    return results


def _print_plan(cfg: BatchConfig, meth, runs: list, chosen: set, out) -> int:
    print(f"План: {len(runs)} отчётов; выполнить {len(chosen)}, актуальны {len(runs) - len(chosen)} "
          f"(данные: {cfg.dataset}; методика {meth.version})", file=out)
    for r in runs:
        mark = "выполнить" if r.run_id in chosen else "актуален"
        print(f"  {mark:10s} {r.label} → {r.html.relative_to(cfg.output)}", file=out)
    return 0


def _summary(cfg: BatchConfig, results: list, failed: list, skipped: int, elapsed: float, phases: str, out) -> int:
    rate = len(results) / elapsed * 60 if elapsed > 0 else 0
    print(f"Итого: выполнено {len(results) - len(failed)}, с ошибкой {len(failed)}, актуальны {skipped} "
          f"за {elapsed:.0f} с ({rate:.0f} отчётов/мин; {phases}). Оглавление: {cfg.output / 'index.html'}", file=out)
    append_log(cfg.output, f"Пакет завершён за {elapsed:.0f} с: {phases}; ошибок {len(failed)}")
    for r in failed:
        print(f"  ✗ {r.run.label}: {r.cell} {r.error}", file=out)
    if failed:
        print("Повторить только неудачные: shnor run " + str(cfg.path) + " --retry-failed", file=out)
    return 1 if failed else 0


def render_batch(params_path, *, pdf: bool = False, workers: int | None = None, docx: bool = False, out=None) -> int:
    """`shnor render`: the HTML (and PDF) of every executed notebook of the batch, again, without
    a kernel; returns 0 when every report was rendered."""
    t0, out = time.perf_counter(), out or sys.stdout
    cfg = load_params(params_path)
    with locked(cfg):
        return _render_batch(cfg, t0, out, pdf=pdf, workers=workers, docx=docx)


def _render_batch(cfg: BatchConfig, t0: float, out, *, pdf: bool, workers: int | None, docx: bool = False) -> int:
    workers = max(1, workers or cfg.workers or os.cpu_count() or 1)
    runs = plan(cfg, load_data(cfg, load_methodology(cfg.methodology)).schools)
    previous = RunState(cfg.output).all()
    # a run whose last execution failed keeps no notebook of its own: an older one is not rendered
    done = [r for r in runs if r.notebook.exists() and (previous.get(r.run_id) or {}).get("ok", True)]
    failures: list = []
    nav = NavMap.of(done, cfg.output)

    def step(run: Run):
        try:
            write_html(run, nav=nav)
            return run, ""
        except Exception as exc:   # a broken notebook fails its report only
            return run, f"{type(exc).__name__}: {exc}"

    LocalPool(workers).run(step, done, lambda res: failures.append(res) if res[1] else None)
    if pdf:
        failed = {r.run_id for r, _ in failures}
        failures += render_pdfs([r for r in done if r.run_id not in failed], workers, progress_out=out)
    if docx:
        failed = {r.run_id for r, _ in failures}
        failures += render_docx([r for r in done if r.run_id not in failed], workers, progress_out=out)
    print(f"Пересоздано отчётов: {len(done) - len({r.run_id for r, _ in failures})} из {len(done)} выполненных"
          + f" ({_kinds(pdf, docx)})" + f", без выполненного блокнота {len(runs) - len(done)}, "
          f"ошибок {len(failures)} ({time.perf_counter() - t0:.0f} с). Оглавление: shnor index {cfg.path}", file=out)
    for run, error in failures:
        print(f"  ✗ {run.label}: {error}", file=out)
    return 1 if failures else 0


def _kinds(pdf: bool, docx: bool) -> str:
    """«HTML», «HTML и PDF», «HTML, PDF и Word»."""
    kinds = ["HTML"] + (["PDF"] if pdf else []) + (["Word"] if docx else [])
    return kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " и " + kinds[-1]


def index_batch(params_path, *, out=None) -> int:
    """`shnor index`: index.html, the sidecars and indicators.xlsx of the last batch again, from its
    state and the cached indicators, without executing; returns 1 when no batch ran before."""
    out = out or sys.stdout
    cfg = load_params(params_path)
    with locked(cfg):
        return _index_batch(cfg, out)


def _index_batch(cfg: BatchConfig, out) -> int:
    previous = RunState(cfg.output).all()
    if not previous:
        print(f"В {cfg.output} нет выполненного пакета: сначала shnor run {cfg.path}", file=out)
        return 1
    meth, ds, indicators = prepare(cfg)
    listed = set(Manifest(cfg.output).read().get("outputs", []))   # the last batch's reports (--scope/--limit)
    runs = [r for r in plan(cfg, ds.schools) if r.run_id in previous
            and (not listed or r.html.relative_to(cfg.output).as_posix() in listed)]
    shown = suppress(indicators, meth)
    outcomes, sidecars = {}, Sidecars(indicators, provenance_of(cfg, ds, meth, package_digest()), meth, shown=shown)
    for r in runs:
        rec = previous[r.run_id]
        ok = bool(rec.get("ok")) and r.html.exists()
        outcomes[r.run_id] = {"ok": ok, "error": f"{rec.get('cell', '')} {rec.get('error', '')}".strip() or "нет отчёта"}
        if ok:
            sidecars.write(r, key=rec.get("key"))
    publish_changes(cfg, runs, ds.schools, indicators, meth, shown=shown)
    write_outputs(cfg, runs, outcomes, ds.schools, indicators, meth, shown=shown)
    failed = sum(1 for o in outcomes.values() if not o["ok"])
    print(f"Оглавление пересоздано: отчётов {len(runs)}, с ошибкой {failed}"
          + ("; книга Excel" if cfg.excel else "") + f". Оглавление: {cfg.output / 'index.html'}", file=out)
    return 0
