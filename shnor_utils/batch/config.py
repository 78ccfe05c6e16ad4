"""A batch's parameter set (params/*.yaml) as a `BatchConfig`.

The keys a parameter file accepts are exactly the fields of `BatchConfig` (except `path`, the
file itself): adding a setting is adding a field. Relative paths are relative to the current
folder (`make reports` runs in the project root); the methodology folder and the templates folder
are made absolute, because the kernels run elsewhere (in a scratch folder of the run).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from shnor_utils.errors import ParameterError

REPORT_KEYS = {"template", "scopes", "filter", "parameters", "title"}
SCOPE_ORDER = ("region", "municipality", "school")
ISOLATION = ("warm", "fresh")
REQUIRED = ("dataset", "reports")


@dataclass
class BatchConfig:
    """One parameter set. Every field but `path` is a key of the YAML file."""
    path: Path = field(metadata={"yaml": False})
    dataset: Path
    reports: list
    title: str = "Отчёты ШНОР"
    year: int | None = None
    region_name: str = "Регион"
    output: Path = Path("output")
    runs_dir: Path = Path("notebooks/runs")
    templates: Path = Path("notebooks/templates")
    methodology: Path | None = None
    workers: int | None = None
    timeout: int = 600
    pdf: bool = False
    excel: bool = True
    isolation: str = "warm"
    recycle_after: int = 100

    @property
    def cache(self) -> Path:
        """The batch's cache folder (dataset snapshot, indicators): a parameter of every run."""
        return self.output / ".cache"


PARAM_KEYS = frozenset(f.name for f in dataclasses.fields(BatchConfig) if f.metadata.get("yaml", True))
PATH_KEYS = ("dataset", "output", "runs_dir", "templates", "methodology")
INT_KEYS = ("year", "workers", "timeout", "recycle_after")
BOOL_KEYS = ("pdf", "excel")


def read_yaml(path: Path) -> dict:
    if not path.exists():
        raise ParameterError(f"файл параметров «{path}» не найден")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"файл параметров «{path}» не читается как YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ParameterError(f"файл параметров «{path}»: ожидался словарь ключ: значение")
    return data


def load_config(path: str | Path, *, base: Path | None = None) -> BatchConfig:
    """Read a parameter file and check its keys and their types (the reports are checked against
    their templates by `plan.load_params`). Relative paths are relative to `base` (default: the
    current folder)."""
    path = Path(path)
    data = read_yaml(path)
    unknown = sorted(set(data) - PARAM_KEYS)
    if unknown:
        raise ParameterError(f"файл параметров «{path}»: неизвестные ключи {unknown}; допустимы {sorted(PARAM_KEYS)}")
    for key in REQUIRED:
        if data.get(key) is None:
            raise ParameterError(f"файл параметров «{path}»: нет обязательного ключа «{key}»")
    if not isinstance(data["reports"], list) or not data["reports"]:
        raise ParameterError(f"файл параметров «{path}»: «reports» должен быть непустым списком")
    for key in INT_KEYS:
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ParameterError(f"файл параметров «{path}»: {key} должен быть целым числом, получено «{value}»")
    for key in BOOL_KEYS:
        if key in data and not isinstance(data[key], bool):
            raise ParameterError(f"файл параметров «{path}»: {key} — true или false, получено «{data[key]}»")
    for key in ("workers", "timeout", "recycle_after"):
        if data.get(key) is not None and data[key] < 1:
            raise ParameterError(f"файл параметров «{path}»: {key} должен быть не меньше 1, получено «{data[key]}»")
    if data.get("isolation", "warm") not in ISOLATION:
        raise ParameterError(f"файл параметров «{path}»: isolation — warm или fresh, получено «{data['isolation']}»")
    base = base or Path.cwd()
    values = {k: v for k, v in data.items() if v is not None or k in ("year", "methodology", "workers")}
    for key in PATH_KEYS:
        if values.get(key) is not None:
            values[key] = _absolute(values[key], base)
    defaults = {f.name: f.default for f in dataclasses.fields(BatchConfig) if f.default is not dataclasses.MISSING}
    for key in ("output", "runs_dir", "templates"):
        values.setdefault(key, _absolute(defaults[key], base))
    values["title"], values["region_name"] = str(values.get("title", defaults["title"])), \
        str(values.get("region_name", defaults["region_name"]))
    return BatchConfig(path=path, **values)


def _absolute(value, base: Path) -> Path:
    p = Path(str(value))
    return p if p.is_absolute() else (base / p).resolve()
