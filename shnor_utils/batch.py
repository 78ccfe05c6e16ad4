"""Batch: expand a YAML parameter set into runs, execute each template with Papermill,
convert each to offline HTML with nbconvert, and write the index page.

plan → execute → render → index; each step is a function you can call alone.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import json
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ParameterError, ShnorError
from .safeio import atomic_write_bytes, atomic_write_text, inside

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "notebooks" / "templates"
HTML_TEMPLATES = Path(__file__).resolve().parent / "html"
KERNEL_NAME = "python3"
PARAM_KEYS = {"title", "dataset", "year", "region_name", "output", "runs_dir", "reports", "methodology", "workers",
              "timeout"}
REPORT_KEYS = {"template", "scopes", "filter", "parameters", "title"}
SCOPE_ORDER = ("region", "municipality", "school")
TEMPLATE_TITLES = {"vpr_objectivity": "Объективность ВПР"}


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

    @property
    def label(self) -> str:
        return f"{self.template} · {self.scope} · {self.entity_id}"


@dataclass
class Result:
    run: Run
    ok: bool
    seconds: float
    error: str = ""
    cell: str = ""


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
    for i, rep in enumerate(data["reports"], 1):
        if not isinstance(rep, dict) or "template" not in rep:
            raise ParameterError(f"файл параметров «{path}», отчёт № {i}: нужен ключ «template»")
        bad = set(rep) - REPORT_KEYS
        if bad:
            raise ParameterError(f"файл параметров «{path}», отчёт № {i}: неизвестные ключи {sorted(bad)}")
        if not (TEMPLATES_DIR / f"{rep['template']}.ipynb").exists():
            raise ParameterError(f"файл параметров «{path}», отчёт № {i}: нет шаблона «{rep['template']}» "
                                 f"в {TEMPLATES_DIR}")
        scopes = rep.get("scopes", ["school"])
        if isinstance(scopes, str):
            scopes = [scopes]
        bad_scopes = set(scopes) - set(SCOPE_ORDER)
        if bad_scopes:
            raise ParameterError(f"файл параметров «{path}», отчёт № {i}: неизвестный охват {sorted(bad_scopes)}; "
                                 f"допустимо {list(SCOPE_ORDER)}")
        rep["scopes"] = scopes
    year = data.get("year")
    if year is not None and not isinstance(year, int):
        raise ParameterError(f"файл параметров «{path}»: year должен быть целым числом, получено «{year}»")
    base = base or Path.cwd()
    resolve = lambda p: (base / p).resolve() if not Path(p).is_absolute() else Path(p)  # noqa: E731
    return BatchConfig(path=path, title=str(data.get("title", "Отчёты ШНОР")), dataset=resolve(data["dataset"]),
                       year=year, region_name=str(data.get("region_name", "Регион")),
                       output=resolve(data.get("output", "output")), runs_dir=resolve(data.get("runs_dir", "notebooks/runs")),
                       reports=data["reports"], methodology=data.get("methodology"),
                       timeout=int(data.get("timeout", 600)))


def plan(cfg: BatchConfig, schools) -> list[Run]:
    """Expand the parameter set into runs (one per template × scope × entity), in a stable order."""
    runs: list[Run] = []
    for rep in cfg.reports:
        chosen = schools
        for column, allowed in (rep.get("filter") or {}).items():
            if column not in schools.columns:
                raise ParameterError(f"фильтр по неизвестному столбцу «{column}» (шаблон {rep['template']})")
            allowed = allowed if isinstance(allowed, list) else [allowed]
            chosen = chosen[chosen[column].astype(str).isin([str(a) for a in allowed])]
        extra = rep.get("parameters") or {}
        title = rep.get("title") or TEMPLATE_TITLES.get(rep["template"], rep["template"])
        for scope in SCOPE_ORDER:
            if scope not in rep["scopes"]:
                continue
            if scope == "region":
                entities = [("region", cfg.region_name, None, None)]
            elif scope == "municipality":
                m = chosen.drop_duplicates("municipality_id").sort_values("municipality_id")
                entities = [(r.municipality_id, r.municipality_name, r.municipality_id, r.municipality_name)
                            for r in m.itertuples()]
            else:
                s = chosen.sort_values(["municipality_id", "school_id"])
                entities = [(r.school_id, r.school_name, r.municipality_id, r.municipality_name) for r in s.itertuples()]
            for entity_id, name, mid, mname in entities:
                parts = (scope,) if scope == "region" else (scope, entity_id)
                params = {"dataset": str(cfg.dataset), "scope": scope, "entity_id": entity_id,
                          "year": cfg.year, "region_name": cfg.region_name, **extra}
                if cfg.methodology:
                    params["methodology"] = cfg.methodology
                runs.append(Run(template=rep["template"], scope=scope, entity_id=str(entity_id), entity_name=str(name),
                                municipality_id=mid, municipality_name=mname, parameters=params,
                                notebook=inside(cfg.runs_dir, *parts, f"{rep['template']}.ipynb"),
                                html=inside(cfg.output, *parts, f"{rep['template']}.html"), title=title))
    return runs


# ---- execute + render ------------------------------------------------------------------------
_local = threading.local()


def _exporter():
    if not hasattr(_local, "exporter"):
        from nbconvert import HTMLExporter
        _local.exporter = HTMLExporter(template_name="report", extra_template_basedirs=[str(HTML_TEMPLATES)],
                                       exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                                       language_code="ru")
    return _local.exporter


def execute(run: Run, *, timeout: int = 600) -> Result:
    """Execute one template with Papermill into its run notebook, then render its HTML.

    Both files are written atomically; a failed run leaves neither (its error is in the Result)."""
    import nbformat
    import papermill as pm

    start = time.perf_counter()
    template = TEMPLATES_DIR / f"{run.template}.ipynb"
    run.notebook.parent.mkdir(parents=True, exist_ok=True)
    try:
        nb = pm.execute_notebook(str(template), None, parameters=run.parameters, kernel_name=KERNEL_NAME,
                                 cwd=str(TEMPLATES_DIR), progress_bar=False, log_output=False,
                                 execution_timeout=timeout, shutdown_kernel="immediate")
    except pm.PapermillExecutionError as exc:
        return Result(run, False, time.perf_counter() - start, error=f"{exc.ename}: {exc.evalue}",
                      cell=f"ячейка {exc.exec_count}")
    except Exception as exc:  # dead kernel, timeout, …: isolate this run
        return Result(run, False, time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": f"{run.title}: {run.entity_name}"}})
    atomic_write_bytes(run.notebook, nbformat.writes(nb).encode("utf-8"))
    atomic_write_bytes(run.html, body.encode("utf-8"))
    return Result(run, True, time.perf_counter() - start)


def prepare_cache(cfg: BatchConfig) -> Path:
    """Load and validate the dataset once and compute every indicator once for the whole batch;
    reports read the result from the cache instead of recomputing it."""
    import pandas as pd  # noqa: F401

    from .dataset import load_dataset
    from .indicators import compute_indicators, write_indicators
    from .methodology import load_methodology

    meth = load_methodology(cfg.methodology)
    ds = load_dataset(cfg.dataset, methodology=meth)
    cache = cfg.output / ".cache"
    path = cache / f"indicators-{ds.digest()}-{meth.digest}.parquet"
    if not path.exists():
        write_indicators(compute_indicators(ds, meth), path)
    return cache, ds


def run_batch(params_path: str | Path, *, workers: int | None = None, only_scope: list[str] | None = None,
              limit: int | None = None, out=sys.stdout) -> int:
    """`shnor run`: execute a whole parameter set; returns the exit code (0 = all reports built)."""
    cfg = load_params(params_path)
    cache, ds = prepare_cache(cfg)
    os.environ["SHNOR_CACHE"] = str(cache)
    runs = plan(cfg, ds.schools)
    if only_scope:
        runs = [r for r in runs if r.scope in only_scope]
    if limit:
        runs = runs[:limit]
    workers = workers or os.cpu_count() or 1
    print(f"Набор параметров: {cfg.path}; данные: {cfg.dataset}; отчётов: {len(runs)}; потоков: {workers}", file=out)
    results: list[Result] = []
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(execute, r, timeout=cfg.timeout): r for r in runs}
        for i, fut in enumerate(cf.as_completed(futures), 1):
            res = fut.result()
            results.append(res)
            status = "готово" if res.ok else "ОШИБКА"
            print(f"[{i}/{len(runs)}] {status} {res.run.label} ({res.seconds:.1f} с)"
                  + (f": {res.error}" if not res.ok else ""), file=out, flush=True)
    write_index(cfg, runs, results)
    failed = [r for r in results if not r.ok]
    elapsed = time.perf_counter() - t0
    print(f"Итого: {len(results) - len(failed)} готово, {len(failed)} с ошибкой за {elapsed:.0f} с. "
          f"Оглавление: {cfg.output / 'index.html'}", file=out)
    for r in failed:
        print(f"  ✗ {r.run.label}: {r.cell} {r.error}", file=out)
    return 1 if failed else 0


# ---- index ---------------------------------------------------------------------------------
def write_index(cfg: BatchConfig, runs: list[Run], results: list[Result]) -> Path:
    """`output/index.html`: every report by municipality and school, with its status (offline)."""
    from .report import esc

    status = {id(r.run): r for r in results}
    by_run = {(r.template, r.scope, r.entity_id): status.get(id(r)) for r in runs}

    def link(run: Run) -> str:
        res = by_run.get((run.template, run.scope, run.entity_id))
        if res is None or not res.ok:
            return f'<span class="fail" title="{esc(res.error if res else "")}">{esc(run.title)} — ошибка</span>'
        rel = run.html.relative_to(cfg.output).as_posix()
        return f'<a href="{esc(rel)}">{esc(run.title)}</a>'

    region = [r for r in runs if r.scope == "region"]
    muns: dict = {}
    for r in runs:
        if r.scope != "region":
            muns.setdefault((r.municipality_id, r.municipality_name), []).append(r)
    parts = [f"<h1>{esc(cfg.title)}</h1>",
             f'<p class="meta">{esc(cfg.region_name)} · сформировано {_dt.datetime.now():%Y-%m-%d %H:%M} · '
             f'отчётов: {len(runs)}, с ошибкой: {sum(1 for r in results if not r.ok)}</p>']
    if region:
        parts.append("<h2>Регион</h2><p>" + " · ".join(link(r) for r in region) + "</p>")
    for (mid, mname), items in sorted(muns.items(), key=lambda kv: str(kv[0][0])):
        mun_links = " · ".join(link(r) for r in items if r.scope == "municipality")
        parts.append(f'<h2>{esc(mname)} <span class="id">{esc(mid)}</span></h2>')
        if mun_links:
            parts.append(f"<p>Муниципальные отчёты: {mun_links}</p>")
        schools: dict = {}
        for r in items:
            if r.scope == "school":
                schools.setdefault((r.entity_id, r.entity_name), []).append(r)
        if schools:
            rows = "".join(f"<tr><td>{esc(name)}</td><td class='id'>{esc(sid)}</td><td>{' · '.join(link(r) for r in rs)}</td></tr>"
                           for (sid, name), rs in sorted(schools.items(), key=lambda kv: kv[0][1]))
            parts.append(f"<table><thead><tr><th>Школа</th><th>Код</th><th>Отчёты</th></tr></thead><tbody>{rows}</tbody></table>")
    page = f"""<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>{esc(cfg.title)}</title>
<style>body{{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;width:100%;margin-bottom:1em}}td,th{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}}
th{{background:#eef2f7}}.id{{color:#888;font-size:0.85em}}.fail{{color:#b00}}.meta{{color:#555}}</style></head>
<body>{''.join(parts)}</body></html>"""
    return atomic_write_text(cfg.output / "index.html", page)
