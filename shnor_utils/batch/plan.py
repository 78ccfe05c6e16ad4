"""The plan of a batch: the parameter set expanded into runs (template × scope × entity), each
with its checked parameters and its output paths. Nothing here starts a kernel or reads a report."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from shnor_utils.batch.config import REPORT_KEYS, SCOPE_ORDER, BatchConfig, load_config
from shnor_utils.errors import ParameterError
from shnor_utils.safeio import inside
from shnor_utils.data.tables import records

# the parameters the plan sets for every run: a report's `parameters:` may not replace them (a page
# labelled with one school must show that school's data, from the batch's dataset, year and cache)
PLAN_PARAMETERS = ("entity_id", "scope", "dataset", "year", "cache", "templates", "methodology", "region_name")
PARAM_TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": list, "dict": dict}


def template_path(name, templates: Path) -> Path:
    """`templates/<name>.ipynb` for a template name: a plain name in the templates folder, never a
    path (no `/`, `\\`, `..`, absolute path or hidden name)."""
    text = name if isinstance(name, str) else ""
    if (not text.strip() or text != text.strip() or any(c in text for c in "/\\\0:") or text.startswith(".")
            or Path(text).is_absolute() or text.endswith(".ipynb")):
        raise ParameterError(f"шаблон «{name}»: нужно имя шаблона из папки {templates} (без пути и расширения), "
                             "например «vpr_objectivity»")
    return Path(templates) / f"{text}.ipynb"


def template_spec(name: str, templates: Path) -> dict:
    """What a template declares in its notebook metadata (`metadata.shnor`): title, scopes,
    the tables it reads and the schema of its parameters."""
    path = template_path(name, templates)
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


def check_reports(cfg: BatchConfig) -> None:
    """Every report of the parameter set names an existing template and scopes it declares."""
    for i, rep in enumerate(cfg.reports, 1):
        if not isinstance(rep, dict) or "template" not in rep:
            raise ParameterError(f"файл параметров «{cfg.path}», отчёт № {i}: нужен ключ «template»")
        bad = set(rep) - REPORT_KEYS
        if bad:
            raise ParameterError(f"файл параметров «{cfg.path}», отчёт № {i}: неизвестные ключи {sorted(bad)}")
        spec = template_spec(rep["template"], cfg.templates)
        extra = rep.get("parameters")
        if extra is not None and not isinstance(extra, dict):
            raise ParameterError(f"файл параметров «{cfg.path}», отчёт № {i}: «parameters» — словарь имя: значение")
        reserved = [k for k in PLAN_PARAMETERS if k in (extra or {})]
        if reserved:
            raise ParameterError(f"файл параметров «{cfg.path}», отчёт № {i}: параметр «{reserved[0]}» задаёт план "
                                 f"пакета, его нельзя менять в «parameters» (задаются планом: {', '.join(PLAN_PARAMETERS)})")
        scopes = rep.get("scopes", ["school"])
        if isinstance(scopes, str):
            scopes = [scopes]
        bad_scopes = set(scopes) - set(spec.get("scopes", SCOPE_ORDER))
        if bad_scopes:
            raise ParameterError(f"файл параметров «{cfg.path}», отчёт № {i}: неизвестный охват {sorted(bad_scopes)}; "
                                 f"шаблон допускает {spec.get('scopes', list(SCOPE_ORDER))}")
        rep["scopes"] = scopes


def load_params(path: str | Path, *, base: Path | None = None) -> BatchConfig:
    """Read and check a parameter set (params/*.yaml): its keys (config.py) and its reports
    against their templates."""
    cfg = load_config(path, base=base)
    check_reports(cfg)
    return cfg


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
    def html_title(self) -> str:
        """The <title> of the report's HTML page."""
        return f"{self.title}: {self.entity_name}"

    @property
    def sidecar(self) -> Path:
        return self.html.with_suffix(".indicators.json")

    @property
    def pdf(self) -> Path:
        return self.html.with_suffix(".pdf")

    def compare_with(self) -> list[str]:
        """Indicator entities this run compares against (they enter its key)."""
        if self.scope == "school":
            return [f"municipality/{self.municipality_id}", "region/region"]
        if self.scope == "municipality":
            return [f"municipality/{self.municipality_id}", "region/region"]
        return ["region/region"] + [f"municipality/{m}" for m in sorted(set(self.parameters.get("_municipalities", [])))]


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
            for entity_id, name, mid, mname, ids in _entities(scope, cfg, schools, chosen):
                parts = (scope,) if scope == "region" else (scope, entity_id)
                own = {"dataset": str(cfg.dataset), "scope": scope, "entity_id": entity_id,
                       "year": cfg.year, "region_name": cfg.region_name}
                params = {**own, **extra, "cache": str(cfg.cache), "templates": str(cfg.templates)}
                params.update(own)   # nothing in `extra` replaces the plan's own (check_reports refuses it too)
                if cfg.methodology:
                    params["methodology"] = str(cfg.methodology)
                check_parameters(rep["template"], spec, params)
                runs.append(Run(template=rep["template"], scope=scope, entity_id=str(entity_id), entity_name=str(name),
                                municipality_id=mid, municipality_name=mname, parameters=params,
                                notebook=inside(cfg.runs_dir, *parts, f"{rep['template']}.ipynb"),
                                html=inside(cfg.output, *parts, f"{rep['template']}.html"), title=title,
                                tables=list(spec.get("tables", [])), school_ids=[str(i) for i in ids]))
    return runs


def _entities(scope: str, cfg: BatchConfig, schools, chosen) -> list[tuple]:
    """(entity id, name, municipality id, municipality name, its school ids) of one scope."""
    if scope == "region":
        return [("region", cfg.region_name, None, None, schools["school_id"].tolist())]
    if scope == "municipality":
        m = chosen.drop_duplicates("municipality_id").sort_values("municipality_id")
        return [(r.municipality_id, r.municipality_name, r.municipality_id, r.municipality_name,
                 schools.loc[schools["municipality_id"] == r.municipality_id, "school_id"].tolist())
                for r in records(m, index=True)]
    s = chosen.sort_values(["municipality_id", "school_id"])
    return [(r.school_id, r.school_name, r.municipality_id, r.municipality_name, [r.school_id]) for r in records(s, index=True)]


def by_partition(runs: list[Run]) -> list[Run]:
    """The runs in the order they are executed: region reports first (they read the whole snapshot),
    then every run of one municipality together (its municipality and school reports of all templates),
    municipality after municipality. The pool's workers take runs in this order, so a warm kernel reads
    one municipality's partition and keeps it for that municipality's runs (session.load). A stable
    sort: each entity's runs keep the plan's order of templates."""
    return sorted(runs, key=lambda r: (r.scope != "region", "" if r.scope == "region" else str(r.municipality_id)))


def select(runs: list[Run], only_scope: list[str] | None = None, limit: int | None = None) -> list[Run]:
    """The runs of `--scope` and `--limit`, in execution order (`by_partition`)."""
    if only_scope:
        runs = [r for r in runs if r.scope in only_scope]
    runs = by_partition(runs)
    return runs[:limit] if limit else runs
