"""Batch: expand a YAML parameter set into runs, execute each template, convert each to
offline HTML, and write the index page, the sidecars and the Excel workbook.

plan → execute → render → index; each step is a function you can call alone:
`shnor run --dry-run` stops after the plan, `shnor index` re-renders the index from state.
Runs are incremental (state.py), isolated from each other's failures, parallel (a warm
kernel per worker, executor.py) and can be spread over a Dask cluster (`--scheduler`).
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from shnor_utils.errors import ParameterError
from shnor_utils.indicators.privacy import suppress
from shnor_utils.safeio import atomic_write_bytes, atomic_write_text, inside

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "notebooks" / "templates"
PARAM_KEYS = {"title", "dataset", "year", "region_name", "output", "runs_dir", "reports", "methodology", "workers",
              "timeout", "pdf", "excel", "isolation", "recycle_after", "templates"}
REPORT_KEYS = {"template", "scopes", "filter", "parameters", "title"}
SCOPE_ORDER = ("region", "municipality", "school")
PARAM_TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": list, "dict": dict}


def template_spec(name: str, templates: Path | None = None) -> dict:
    """What a template declares in its notebook metadata (`metadata.shnor`): title, scopes,
    the tables it reads and the schema of its parameters."""
    import json

    templates = templates or TEMPLATES_DIR
    path = templates / f"{name}.ipynb"
    if not path.exists():
        raise ParameterError(f"нет шаблона «{name}» в {templates}")
    spec = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("shnor")
    if not spec or "parameters" not in spec:
        raise ParameterError(f"шаблон «{name}» не объявляет параметры (metadata.shnor.parameters)")
    return spec


def check_parameters(name: str, spec: dict, params: dict) -> None:
    """Unknown, missing or ill-typed parameters fail here, before any kernel starts
    (papermill itself only warns)."""
    schema = spec["parameters"]
    unknown = sorted(set(params) - set(schema))
    if unknown:
        raise ParameterError(f"шаблон «{name}»: неизвестные параметры {unknown}; допустимы {sorted(schema)}")
    for key, rule in schema.items():
        if key not in params:
            if rule.get("required"):
                raise ParameterError(f"шаблон «{name}»: нет обязательного параметра «{key}»")
            continue
        value = params[key]
        if value is None:
            if rule.get("required") or not rule.get("nullable", False):
                raise ParameterError(f"шаблон «{name}»: параметр «{key}» не может быть пустым")
            continue
        expected = PARAM_TYPES[rule.get("type", "str")]
        if isinstance(value, bool) and rule.get("type") in ("int", "float"):
            expected = ()
        if not isinstance(value, expected):
            raise ParameterError(f"шаблон «{name}»: параметр «{key}» должен быть типа {rule.get('type')}, "
                                 f"получено {value!r}")
        if "allowed" in rule and value not in rule["allowed"]:
            raise ParameterError(f"шаблон «{name}»: параметр «{key}» = {value!r}; допустимо: {rule['allowed']}")


@dataclass
class Run:
    """One notebook to execute: template × scope × entity."""
    template: str
    scope: str
    entity_id: str
    entity_name: str
    municipality_id: str | None
    municipality_name: str | None
    parameters: dict
    notebook: Path
    html: Path
    title: str = ""
    tables: list = field(default_factory=list)
    school_ids: list = field(default_factory=list)
    key: str = ""

    @property
    def run_id(self) -> str:
        return f"{self.template}__{self.scope}__{self.entity_id}"

    @property
    def label(self) -> str:
        return f"{self.template} · {self.scope} · {self.entity_id}"

    @property
    def sidecar(self) -> Path:
        return self.html.with_suffix(".indicators.json")

    def compare_with(self) -> list[str]:
        """Indicator entities this run compares against (they enter its key)."""
        if self.scope == "school":
            return [f"municipality/{self.municipality_id}", "region/region"]
        if self.scope == "municipality":
            return [f"municipality/{self.municipality_id}", "region/region"]
        return ["region/region"] + [f"municipality/{m}" for m in sorted(set(self.parameters.get("_municipalities", [])))]


@dataclass
class Result:
    run: Run
    ok: bool
    seconds: float
    error: str = ""
    cell: str = ""
    skipped: bool = False
    timings: dict = field(default_factory=dict)


@dataclass
class BatchConfig:
    path: Path
    title: str
    dataset: Path
    year: int | None
    region_name: str
    output: Path
    runs_dir: Path
    reports: list
    methodology: str | None = None
    timeout: int = 600
    pdf: bool = False
    excel: bool = True
    isolation: str = "warm"
    recycle_after: int = 100
    templates: Path = TEMPLATES_DIR


def load_params(path: str | Path, *, base: Path | None = None) -> BatchConfig:
    """Read and check a parameter set (params/*.yaml); relative paths are relative to `base`
    (default: the current folder)."""
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"файл параметров «{path}» не найден")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"файл параметров «{path}» не читается как YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ParameterError(f"файл параметров «{path}»: ожидался словарь ключ: значение")
    unknown = set(data) - PARAM_KEYS
    if unknown:
        raise ParameterError(f"файл параметров «{path}»: неизвестные ключи {sorted(unknown)}; допустимы {sorted(PARAM_KEYS)}")
    for key in ("dataset", "reports"):
        if key not in data:
            raise ParameterError(f"файл параметров «{path}»: нет обязательного ключа «{key}»")
    if not isinstance(data["reports"], list) or not data["reports"]:
        raise ParameterError(f"файл параметров «{path}»: «reports» должен быть непустым списком")
    base = base or Path.cwd()
    resolve = lambda p: (base / p).resolve() if not Path(p).is_absolute() else Path(p)  # noqa: E731
    templates = resolve(data["templates"]) if data.get("templates") else TEMPLATES_DIR
    for i, rep in enumerate(data["reports"], 1):
        if not isinstance(rep, dict) or "template" not in rep:
            raise ParameterError(f"файл параметров «{path}», отчёт № {i}: нужен ключ «template»")
        bad = set(rep) - REPORT_KEYS
        if bad:
            raise ParameterError(f"файл параметров «{path}», отчёт № {i}: неизвестные ключи {sorted(bad)}")
        spec = template_spec(rep["template"], templates)
        scopes = rep.get("scopes", ["school"])
        if isinstance(scopes, str):
            scopes = [scopes]
        bad_scopes = set(scopes) - set(spec.get("scopes", SCOPE_ORDER))
        if bad_scopes:
            raise ParameterError(f"файл параметров «{path}», отчёт № {i}: неизвестный охват {sorted(bad_scopes)}; "
                                 f"шаблон допускает {spec.get('scopes', list(SCOPE_ORDER))}")
        rep["scopes"] = scopes
    year = data.get("year")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        raise ParameterError(f"файл параметров «{path}»: year должен быть целым числом, получено «{year}»")
    isolation = data.get("isolation", "warm")
    if isolation not in ("warm", "fresh"):
        raise ParameterError(f"файл параметров «{path}»: isolation — warm или fresh, получено «{isolation}»")
    return BatchConfig(path=path, title=str(data.get("title", "Отчёты ШНОР")), dataset=resolve(data["dataset"]),
                       year=year, region_name=str(data.get("region_name", "Регион")),
                       output=resolve(data.get("output", "output")), runs_dir=resolve(data.get("runs_dir", "notebooks/runs")),
                       reports=data["reports"], methodology=data.get("methodology"),
                       timeout=int(data.get("timeout", 600)), pdf=bool(data.get("pdf", False)),
                       excel=bool(data.get("excel", True)), isolation=isolation,
                       recycle_after=int(data.get("recycle_after", 100)), templates=templates)


def plan(cfg: BatchConfig, schools) -> list[Run]:
    """Expand the parameter set into runs (one per template × scope × entity), in a stable order;
    every run's parameters are checked against its template's schema."""
    runs: list[Run] = []
    for rep in cfg.reports:
        chosen = schools
        for column, allowed in (rep.get("filter") or {}).items():
            if column not in schools.columns:
                raise ParameterError(f"фильтр по неизвестному столбцу «{column}» (шаблон {rep['template']})")
            allowed = allowed if isinstance(allowed, list) else [allowed]
            chosen = chosen[chosen[column].astype(str).isin([str(a) for a in allowed])]
        extra = rep.get("parameters") or {}
        spec = template_spec(rep["template"], cfg.templates)
        title = rep.get("title") or spec.get("title", rep["template"])
        for scope in SCOPE_ORDER:
            if scope not in rep["scopes"]:
                continue
            if scope == "region":
                entities = [("region", cfg.region_name, None, None, schools["school_id"].tolist())]
            elif scope == "municipality":
                m = chosen.drop_duplicates("municipality_id").sort_values("municipality_id")
                entities = [(r.municipality_id, r.municipality_name, r.municipality_id, r.municipality_name,
                             schools.loc[schools["municipality_id"] == r.municipality_id, "school_id"].tolist())
                            for r in m.itertuples()]
            else:
                s = chosen.sort_values(["municipality_id", "school_id"])
                entities = [(r.school_id, r.school_name, r.municipality_id, r.municipality_name, [r.school_id])
                            for r in s.itertuples()]
            for entity_id, name, mid, mname, ids in entities:
                parts = (scope,) if scope == "region" else (scope, entity_id)
                params = {"dataset": str(cfg.dataset), "scope": scope, "entity_id": entity_id,
                          "year": cfg.year, "region_name": cfg.region_name, **extra,
                          "cache": str(cache_dir(cfg))}
                if cfg.methodology:
                    params["methodology"] = cfg.methodology
                check_parameters(rep["template"], spec, params)
                runs.append(Run(template=rep["template"], scope=scope, entity_id=str(entity_id), entity_name=str(name),
                                municipality_id=mid, municipality_name=mname, parameters=params,
                                notebook=inside(cfg.runs_dir, *parts, f"{rep['template']}.ipynb"),
                                html=inside(cfg.output, *parts, f"{rep['template']}.html"), title=title,
                                tables=list(spec.get("tables", [])), school_ids=[str(i) for i in ids]))
    return runs


def assign_keys(runs: list[Run], digests, meth_digest: str, templates: Path, options: str = "") -> None:
    """Key of each run = digest of everything its output depends on (state.py)."""
    from shnor_utils.batch.state import digest_of, package_digest, sha256_file

    template_digest = {}
    municipalities = sorted({r.municipality_id for r in runs if r.municipality_id})
    for run in runs:
        if run.template not in template_digest:
            template_digest[run.template] = sha256_file(templates / f"{run.template}.ipynb")[:16]
        compare = run.compare_with() if run.scope != "region" else ["region/region"] + [f"municipality/{m}" for m in municipalities]
        data = digests.for_run(run.tables, run.school_ids, compare)
        run.key = digest_of(template_digest[run.template], run.parameters, data, package_digest(), meth_digest,
                            run.entity_name, run.municipality_name, options)


# ---- execute + render ------------------------------------------------------------------------
_kernels = threading.local()


def _warm_kernel(cfg: BatchConfig):
    from shnor_utils.batch.kernel import WarmKernel

    kernel = getattr(_kernels, "kernel", None)
    if kernel is None:
        # fresh isolation = a new kernel for every report (recycled after each one)
        recycle = 1 if cfg.isolation == "fresh" else cfg.recycle_after
        kernel = WarmKernel(cwd=cfg.templates, timeout=cfg.timeout, recycle_after=recycle)
        _kernels.kernel = kernel
        _all_kernels.append(kernel)
    return kernel


_all_kernels: list = []


def execute(run: Run, cfg: BatchConfig, provenance: dict) -> Result:
    """Execute one run and render its HTML (and PDF). Outputs are written atomically at the end:
    a failed or interrupted run leaves no report behind, only its error."""
    import nbformat

    from shnor_utils.batch.kernel import CellFailure, parameterize
    from shnor_utils.batch.render import to_html

    start = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix=f"shnor-run-{os.getpid()}-"))
    template = cfg.templates / f"{run.template}.ipynb"
    try:
        nb = _warm_kernel(cfg).run(parameterize(template, run.parameters), scratch)
        t_exec = time.perf_counter()
        nb.metadata["shnor"] = {**nb.metadata.get("shnor", {}), "provenance": {
            **provenance, "template": run.template, "template_sha256": provenance.get("templates", {}).get(run.template),
            "parameters": run.parameters, "key": run.key, "executed_at": _dt.datetime.now().isoformat(timespec="seconds")}}
        nb.metadata["shnor"]["provenance"].pop("templates", None)
        body = to_html(nb, f"{run.title}: {run.entity_name}")
        t_html = time.perf_counter()
        atomic_write_bytes(run.notebook, nbformat.writes(nb).encode("utf-8"))
        atomic_write_bytes(run.html, body.encode("utf-8"))
        timings = {"execute_s": round(t_exec - start, 3), "html_s": round(t_html - t_exec, 3),
                   "write_s": round(time.perf_counter() - t_html, 3)}
    except CellFailure as exc:
        return Result(run, False, time.perf_counter() - start, error=exc.error, cell=exc.cell)
    except Exception as exc:  # dead kernel, timeout, render failure: isolate this run
        return Result(run, False, time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Result(run, True, time.perf_counter() - start, timings=timings)


def cache_dir(cfg: BatchConfig) -> Path:
    """The batch's cache folder (dataset snapshot, indicators): a parameter of every run."""
    return cfg.output / ".cache"


def prepare(cfg: BatchConfig):
    """Load and validate the dataset once and compute every indicator once for the whole batch;
    the reports read them from the cache instead of recomputing them."""
    from shnor_utils.analyses import compute_all
    from shnor_utils.data.dataset import contiguous, files_stamp, load_dataset, read_snapshot, write_snapshot
    from shnor_utils.indicators import write_indicators
    from shnor_utils.methodology import load_methodology
    from shnor_utils.session import indicators_path, snapshot_path

    meth = load_methodology(cfg.methodology)
    cache = cache_dir(cfg)
    snapshot = snapshot_path(cache, files_stamp(cfg.dataset, meth.digest))
    # the validated snapshot of an unchanged folder is reused: no CSV parsing, no checks again
    ds = read_snapshot(snapshot) if (snapshot / "dataset.json").exists() else load_dataset(cfg.dataset, methodology=meth)
    write_snapshot(ds, snapshot)      # the kernels read it instead of parsing and validating the files
    path = indicators_path(cache, ds, meth)
    if not path.exists():
        write_indicators(compute_all(ds, meth), path)
    import pandas as pd
    indicators = contiguous(pd.read_parquet(path))   # the same frame (and dtypes) whether fresh or cached: keys stay stable
    for old in [*cache.glob("indicators-*.parquet"), *cache.glob("dataset-*")]:   # keep only the current cache
        if old not in (path, snapshot):
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return meth, ds, indicators, cache


def release_tables(ds, keep=("schools",)) -> None:
    """Drop the dataset's large tables from the driver once the run keys are computed: during the
    reports only the kernels need them (from the snapshot), and a 1,000-school region holds ~1 GB."""
    import gc

    for name in [n for n in ds.tables if n not in keep]:
        del ds.tables[name]
    gc.collect()
    try:
        import pyarrow as pa
        pa.default_memory_pool().release_unused()   # give freed Arrow buffers back to the system
    except (ImportError, AttributeError):
        pass


def fingerprint(cfg: BatchConfig, options: str) -> str:
    """Everything a whole batch depends on, computed without loading the data (the no-change
    fast path): dataset file digests, methodology files, shnor_utils sources, templates, params."""
    from shnor_utils.methodology import load_methodology
    from shnor_utils.batch.state import digest_of, package_digest, sha256_file

    files = sorted((p.name, sha256_file(p)) for p in cfg.dataset.glob("*") if p.suffix in (".csv", ".parquet"))
    templates = sorted((p.stem, sha256_file(p)) for p in cfg.templates.glob("*.ipynb"))
    return digest_of(files, load_methodology(cfg.methodology).digest, package_digest(), templates,
                     cfg.path.read_text(encoding="utf-8"), str(cfg.dataset), options)


class Progress:
    """A progress line over the batch (done / total, failures, ETA) plus a batch log file."""

    def __init__(self, total: int, log_path: Path, out):
        from tqdm import tqdm

        self.out, self.failures = out, 0
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = open(log_path, "a", encoding="utf-8")
        self.bar = tqdm(total=total, unit="отч", file=sys.stderr, dynamic_ncols=True,
                        disable=not sys.stderr.isatty() or total == 0, bar_format=
                        "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]{postfix}")

    def line(self, text: str) -> None:
        stamp = _dt.datetime.now().strftime("%H:%M:%S")
        self.log.write(f"{stamp} {text}\n")
        self.log.flush()
        if self.bar.disable:
            print(text, file=self.out, flush=True)
        else:
            self.bar.write(text, file=sys.stderr)

    def done(self, res: Result, i: int, total: int) -> None:
        if not res.ok:
            self.failures += 1
        self.bar.set_postfix_str(f"ошибок: {self.failures}")
        self.bar.update(1)
        status = "готово" if res.ok else "ОШИБКА"
        self.line(f"[{i}/{total}] {status} {res.run.label} ({res.seconds:.1f} с)"
                  + (f": {res.cell} {res.error}" if not res.ok else ""))

    def close(self) -> None:
        self.bar.close()
        self.log.close()


def run_batch(params_path: str | Path, *, workers: int | None = None, only_scope: list[str] | None = None,
              limit: int | None = None, force: bool = False, dry_run: bool = False, retry_failed: bool = False,
              scheduler: str | None = None, pdf: bool | None = None, isolation: str | None = None,
              out=sys.stdout) -> int:
    """`shnor run`: execute a whole parameter set; returns the exit code (0 = every report built)."""
    from shnor_utils.batch.state import RunState, package_digest

    cfg = load_params(params_path)
    if pdf is not None:
        cfg.pdf = pdf
    if isolation is not None:
        cfg.isolation = isolation
    options = json.dumps({"scope": only_scope, "limit": limit, "pdf": cfg.pdf, "isolation": cfg.isolation})
    state = RunState(cfg.output)
    manifest_path = cfg.output / ".state" / "batch.json"
    t0 = time.perf_counter()

    # No-change fast path: nothing the batch depends on has changed since a fully successful batch.
    fp = fingerprint(cfg, options)
    if not (force or dry_run or retry_failed):
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            manifest = {}
        if manifest.get("fingerprint") == fp and manifest.get("failed") == 0 and all(
                (cfg.output / p).exists() for p in manifest.get("outputs", [])):
            print(f"Ничего не изменилось: {manifest.get('runs')} отчётов актуальны "
                  f"({time.perf_counter() - t0:.1f} с). Оглавление: {cfg.output / 'index.html'}", file=out)
            return 0

    meth, ds, indicators, cache = prepare(cfg)
    t_prepared = time.perf_counter()
    runs = plan(cfg, ds.schools)
    if only_scope:
        runs = [r for r in runs if r.scope in only_scope]
    if limit:
        runs = runs[:limit]
    from shnor_utils.batch.state import DataDigests

    assign_keys(runs, DataDigests(ds, indicators), meth.digest, cfg.templates)
    previous = state.all()

    def up_to_date(run: Run) -> bool:
        rec = previous.get(run.run_id)
        return bool(rec and rec.get("ok") and rec.get("key") == run.key and run.html.exists())

    if retry_failed:
        todo = [r for r in runs if (previous.get(r.run_id) or {}).get("ok") is False]
    else:
        todo = [r for r in runs if force or not up_to_date(r)]
    skipped = [r for r in runs if r not in todo]
    workers = max(1, workers or os.cpu_count() or 1)

    if dry_run:
        print(f"План: {len(runs)} отчётов; выполнить {len(todo)}, актуальны {len(skipped)} "
              f"(данные: {cfg.dataset}; методика {meth.version})", file=out)
        for r in runs:
            mark = "выполнить" if r in todo else "актуален"
            print(f"  {mark:10s} {r.label} → {r.html.relative_to(cfg.output)}", file=out)
        return 0

    provenance = {"dataset": str(cfg.dataset), "files": ds.provenance(), "methodology": meth.version,
                  "shnor_utils": package_digest(), "templates": {}}
    release_tables(ds, keep=("schools",))   # the kernels read the snapshot; the driver needs only schools
    from shnor_utils.batch.state import sha256_file
    for t in {r.template for r in runs}:
        provenance["templates"][t] = sha256_file(cfg.templates / f"{t}.ipynb")
    where = f"кластер {scheduler}" if scheduler else f"потоков: {workers}, ядра: {cfg.isolation}"
    print(f"Набор параметров: {cfg.path}; данные: {cfg.dataset}; отчётов: {len(runs)}, выполнить {len(todo)}, "
          f"актуальны {len(skipped)}; {where}", file=out, flush=True)
    progress = Progress(len(todo), cfg.output / "logs" / "batch.log", out)
    progress.line(f"Пакет {cfg.path} начат: выполнить {len(todo)} из {len(runs)}")
    results: list[Result] = []
    by_entity = indicators.groupby(["level", "entity_id"], sort=False).indices   # sidecars without a scan each

    def record(res: Result) -> None:
        state.put(res.run.run_id, {"run_id": res.run.run_id, "key": res.run.key, "ok": res.ok, "error": res.error,
                                   "cell": res.cell, "seconds": round(res.seconds, 2), **res.timings,
                                   "finished": _dt.datetime.now().isoformat(timespec="seconds")})
        _write_run_log(cfg, res)
        if res.ok:
            pos = by_entity.get((res.run.scope, res.run.entity_id))
            rows = indicators.take(pos) if pos is not None else indicators.iloc[0:0]
            write_sidecar(res.run, suppress(rows, meth), provenance)   # privacy: no small groups in sidecars
        results.append(res)
        progress.done(res, len(results), len(todo))

    try:
        if scheduler:
            from shnor_utils.batch.backends import run_on_cluster
            run_on_cluster(scheduler, todo, cfg, provenance, record)
        else:
            _run_local(todo, cfg, provenance, workers, record)
    finally:
        progress.close()
        for kernel in list(_all_kernels):
            kernel.stop()
        _all_kernels.clear()
        _kernels.__dict__.clear()

    if cfg.pdf:
        failed_ids = {x.run.run_id for x in results if not x.ok}
        pdf_failures = render_pdfs([r for r in runs if r.run_id not in failed_ids], workers, progress_out=out)
        for run, error in pdf_failures:
            results.append(Result(run, False, 0.0, error=f"PDF: {error}"))
    t_reports = time.perf_counter()
    outcomes = {r.run_id: {"ok": True} for r in skipped}
    outcomes.update({r.run.run_id: {"ok": r.ok, "error": f"{r.cell} {r.error}".strip()} for r in results})
    print("Оглавление" + (" и книга Excel" if cfg.excel else "") + "…", file=out, flush=True)
    write_outputs(cfg, runs, outcomes, ds, indicators, meth)
    failed = [r for r in results if not r.ok]
    elapsed = time.perf_counter() - t0
    phases = (f"подготовка данных {t_prepared - t0:.0f} с, отчёты {t_reports - t_prepared:.0f} с, "
              f"оглавление и Excel {time.perf_counter() - t_reports:.0f} с")
    # the fingerprint includes --scope/--limit: a partial batch is its own batch
    atomic_write_text(manifest_path, json.dumps({
        "fingerprint": fp if not failed else None, "runs": len(runs), "failed": len(failed),
        "outputs": [r.html.relative_to(cfg.output).as_posix() for r in runs] + ["index.html"],
        "finished": _dt.datetime.now().isoformat(timespec="seconds")}, ensure_ascii=False))
    rate = len(results) / elapsed * 60 if elapsed > 0 else 0
    print(f"Итого: выполнено {len(results) - len(failed)}, с ошибкой {len(failed)}, актуальны {len(skipped)} "
          f"за {elapsed:.0f} с ({rate:.0f} отчётов/мин; {phases}). Оглавление: {cfg.output / 'index.html'}", file=out)
    with open(cfg.output / "logs" / "batch.log", "a", encoding="utf-8") as log:
        log.write(f"{_dt.datetime.now():%H:%M:%S} Пакет завершён за {elapsed:.0f} с: {phases}; ошибок {len(failed)}\n")
    for r in failed:
        print(f"  ✗ {r.run.label}: {r.cell} {r.error}", file=out)
    if failed:
        print("Повторить только неудачные: shnor run " + str(cfg.path) + " --retry-failed", file=out)
    return 1 if failed else 0


def _pdf_one(html: str, pdf: str) -> str:
    from shnor_utils.batch.render import to_pdf
    try:
        to_pdf(Path(html), Path(pdf))
        return ""
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def render_pdfs(runs: list[Run], workers: int, progress_out=sys.stdout) -> list:
    """PDF (A4) of every report whose PDF is missing or older than its HTML; returns failures."""
    todo = [r for r in runs if r.html.exists() and (not r.html.with_suffix(".pdf").exists()
                                                     or r.html.with_suffix(".pdf").stat().st_mtime < r.html.stat().st_mtime)]
    if not todo:
        return []
    print(f"PDF: {len(todo)} отчётов…", file=progress_out, flush=True)
    failures = []
    with cf.ProcessPoolExecutor(max_workers=workers) as pool:
        for run, err in zip(todo, pool.map(_pdf_one, [str(r.html) for r in todo],
                                           [str(r.html.with_suffix(".pdf")) for r in todo])):
            if err:
                failures.append((run, err))
    return failures


def _run_local(todo: list[Run], cfg: BatchConfig, provenance: dict, workers: int, record) -> None:
    with cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shnor") as pool:
        futures = [pool.submit(execute, r, cfg, provenance) for r in todo]
        try:
            for fut in cf.as_completed(futures):
                record(fut.result())
        except KeyboardInterrupt:
            for f in futures:
                f.cancel()
            raise


def _write_run_log(cfg: BatchConfig, res: Result) -> None:
    path = inside(cfg.output / "logs" / "runs", res.run.run_id + ".log")
    text = (f"{res.run.label}\nключ: {res.run.key}\nпараметры: {json.dumps(res.run.parameters, ensure_ascii=False)}\n"
            f"итог: {'готово' if res.ok else 'ОШИБКА'} за {res.seconds:.1f} с\n")
    if not res.ok:
        text += f"{res.cell}: {res.error}\n"
    atomic_write_text(path, text)


def write_sidecar(run: Run, rows, provenance: dict) -> Path:
    """`<report>.indicators.json`: every indicator value of the run's entity (id, value, n, CI, flag);
    `rows` are the indicator rows of that entity."""
    values = rows.astype(object).where(rows.notna(), None).to_dict(orient="records")
    payload = {"template": run.template, "scope": run.scope, "entity_id": run.entity_id, "entity_name": run.entity_name,
               "municipality_id": run.municipality_id, "key": run.key,
               "provenance": {k: v for k, v in provenance.items() if k != "templates"}, "indicators": values}
    return atomic_write_text(run.sidecar, json.dumps(payload, ensure_ascii=False, default=str))


MAIN_FLAGS = {"shnor": "ШНОР", "risk_school": "школа риска", "vpr_sign_inflated_mean": "завышенный средний балл ВПР",
              "vpr_sign_mark_mismatch": "ВПР ≠ отметки", "vpr_sign_cohort_jump": "резкое изменение 4→5"}


def school_flags(indicators, year: int | None) -> dict:
    """Main flags per school for the index page: binary indicators equal to 1 in the batch year."""
    ind = indicators[(indicators["level"] == "school") & indicators["indicator_id"].isin(MAIN_FLAGS)]
    if year is not None:
        ind = ind[ind["year"] == year]
    ind = ind[ind["value"] == 1]
    out: dict = {}
    for sid, ids in ind.groupby("entity_id")["indicator_id"]:
        out[sid] = [MAIN_FLAGS[i] for i in sorted(set(ids))]
    return out


def write_outputs(cfg: BatchConfig, runs: list[Run], outcomes: dict, ds, indicators, meth) -> None:
    """Index page and Excel workbook, from state and the indicator table (no notebook parsing)."""
    from shnor_utils.batch.index_page import write_index

    indicators = suppress(indicators, meth)   # privacy: the index and the workbook show no small groups
    observed = indicators[indicators["flag"].fillna("") != "forecast"]   # ШНОР lists for the next year are forecasts
    year = cfg.year if cfg.year is not None else (int(observed["year"].max()) if len(observed) else None)
    write_index(cfg.output, title=cfg.title, region_name=cfg.region_name, runs=runs, outcomes=outcomes,
                school_flags=school_flags(indicators, year))
    if cfg.excel:
        from shnor_utils.batch.excel import write_workbook
        # the report year's values (a multi-year region table outgrows Excel's 1,048,576 rows);
        # every year is in `shnor indicators DATASET --out FILE.csv`
        of_year = indicators[indicators["year"] == year] if year is not None else indicators
        write_workbook(of_year, ds.schools, cfg.output / "indicators.xlsx", region_name=cfg.region_name, year=year)
