"""Regional overlays of the methodology (docs/METHODOLOGY.md §0 «Как регион меняет числа»).

An overlay folder holds only what a region changes: YAML files named like the package defaults
(`thresholds.yaml`, `indicators.yaml`, …), each with only the changed keys. They are merged into the
defaults key by key:

- mappings merge recursively; the overlay's value wins per key;
- a thresholds.yaml entry `{value, kind, source, …}` merges field by field, each field replaced as a
  unit (`value` and `applies_to` are never merged inside); `kind` and `source` are inherited unless
  given, but a changed `value` must name its `source`;
- lists are replaced whole, except the lists of records keyed in `KEYED_LISTS` (gia_targets
  `targets` by `id`, vpr_scales `scales` by year/subject/grade, subjects by `name`): a record whose
  key exists in the defaults is merged into it, a new one is appended;
- a key that does not exist in the defaults is an error, except inside the open maps of `OPEN`
  (a programme's targets, new years of scales and minimum scores, wording of flags).

`merge` returns the merged data and the list of overrides (file, dotted key, value, source) —
only the keys whose merged value differs from the default, so a full copy of the defaults used as
an overlay lists none.
"""
from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import yaml

from shnor_utils.errors import ConfigError

ANY = "*"

# Lists of records merged by a key (file, path of the list) → key fields of a record.
KEYED_LISTS: dict[tuple[str, tuple], tuple[str, ...]] = {
    ("gia_targets", ("targets",)): ("id",),
    ("vpr_scales", ("scales",)): ("year", "subject", "grade"),
    ("subjects", ("subjects",)): ("name",),
}

# Fields a new record of a keyed list may have (required ones first in the error message).
RECORD_FIELDS: dict[tuple[str, tuple], tuple[set, set]] = {
    ("gia_targets", ("targets",)): (
        {"id", "name", "indicator_id", "direction", "kind", "source"},
        {"grade", "exam", "subject", "baseline", "plan", "multiply_by", "divide_by", "factor_text",
         "baseline_year", "target_year", "note"}),
    ("vpr_scales", ("scales",)): ({"year", "subject", "grade", "max", "min", "kind", "source"}, {"note"}),
    ("subjects", ("subjects",)): ({"name", "short"}, {"latin", "gia_code", "stems", "group"}),
}

# Open maps: (file, path pattern) → True (any new key) or the set of new keys allowed there.
# `*` matches any one key. Below a new key nothing is checked against the defaults.
OPEN: dict[tuple[str, tuple], Any] = {
    # a programme sets targets of a catalogue indicator (the indicator itself must exist)
    ("indicators", ("indicators", ANY)): {"targets", "target_where", "target_rule", "target_source"},
    # new years of ЕГЭ minimum scores and ОГЭ scales; subjects inside a year
    ("gia", ("ege_min_scores", "by_year")): True,
    ("gia", ("ege_min_scores", "by_year", ANY)): True,
    ("gia", ("ege_min_scores", "notes")): True,
    ("gia", ("oge_scales", "by_year")): True,
    ("gia", ("oge_scales", "by_year", ANY, "subjects")): True,
    # wording of further indicators and flags
    ("flags", ("indicators",)): True,
    ("flags", ("short",)): True,
    ("flags", ("flags",)): True,
    # a note may be added to any threshold entry
    ("thresholds", (ANY, ANY)): {"note"},
}


def _match(pattern: tuple, path: tuple) -> bool:
    return len(pattern) == len(path) and all(p == ANY or p == str(k) for p, k in zip(pattern, path))


def _open(file: str, path: tuple):
    for (f, pattern), allowed in OPEN.items():
        if f == file and _match(pattern, path):
            return allowed
    return False


def _keyed(file: str, path: tuple) -> tuple | None:
    return KEYED_LISTS.get((file, tuple(str(p) for p in path)))


def _dotted(path) -> str:
    return ".".join(str(p) for p in path)


def _is_catalogue_entry(file: str, path: tuple, node) -> bool:
    return file == "indicators" and len(path) == 2 and path[0] == "indicators" and isinstance(node, dict)


def _is_threshold_entry(file: str, path: tuple, node) -> bool:
    return file == "thresholds" and len(path) == 2 and isinstance(node, dict) and "value" in node


class _Merger:
    """Merges one overlay file into its default; raises ConfigError naming the file and key."""

    def __init__(self, file: str, where: Path):
        self.file, self.where = file, where

    def error(self, path: tuple, text: str) -> ConfigError:
        return ConfigError(f"Наложение методики «{self.where}»: ключ «{_dotted(path)}» — {text}")

    def unknown(self, path: tuple, candidates) -> ConfigError:
        key = str(path[-1])
        close = difflib.get_close_matches(key, [str(c) for c in candidates], n=1, cutoff=0.6)
        hint = f"; возможно, имелось в виду «{_dotted((*path[:-1], close[0]))}»" if close else ""
        return self.error(path, f"такого ключа нет в методике по умолчанию ({self.file}.yaml){hint}. "
                                "Наложение может только менять существующие ключи")

    def merge(self, default, over, path: tuple = ()):
        if _is_threshold_entry(self.file, path, default):
            return self.threshold_entry(default, over, path)
        if isinstance(default, dict):
            if not isinstance(over, dict):
                raise self.error(path or ("(файл)",), "ожидается раздел (словарь ключей), как в методике по умолчанию, "
                                                      f"а записано значение «{over}»")
            out = dict(default)
            by_text = {str(k): k for k in default}
            allowed = _open(self.file, path)
            for key, value in over.items():
                here = (*path, key)
                if str(key) in by_text:
                    k = by_text[str(key)]
                    out[k] = self.merge(default[k], value, here)
                elif allowed is True or (isinstance(allowed, set) and str(key) in allowed):
                    out[key] = copy.deepcopy(value)
                else:
                    raise self.unknown(here, default)
            return out
        if isinstance(default, list) and _keyed(self.file, path):
            return self.keyed_list(default, over, path)
        return copy.deepcopy(over)

    def threshold_entry(self, default: dict, over, path: tuple) -> dict:
        if not isinstance(over, dict):
            raise self.error(path, f"ожидается запись {{value: …, source: «документ»}}, а записано «{over}»")
        out = dict(default)
        allowed = _open(self.file, path) or set()
        for key, value in over.items():
            if key not in default and key not in allowed:
                raise self.unknown((*path, key), list(default) + sorted(allowed))
            out[key] = copy.deepcopy(value)  # every field of an entry is replaced as a unit
        if out["value"] != default["value"] and "source" not in over:
            raise self.error(path, f"значение изменено ({default['value']} → {out['value']}), но не указан source: "
                                   "назовите документ региона, из которого взято число")
        return out

    def keyed_list(self, default: list, over, path: tuple) -> list:
        if not isinstance(over, list):
            raise self.error(path, "ожидается список записей, как в методике по умолчанию")
        out = list(default)
        index = {self.record_key(r, path, i): i for i, r in enumerate(default)}
        for n, record in enumerate(over):
            key = self.record_key(record, path, n)
            if key in index:
                i = index[key]
                out[i] = self.merge(default[i], record, (*path, *key))
            else:
                self.check_record(record, path, (*path, *key))
                index[key] = len(out)
                out.append(copy.deepcopy(record))
        return out

    def record_key(self, record, path: tuple, n: int) -> tuple:
        fields = _keyed(self.file, path)
        if not isinstance(record, dict) or any(f not in record for f in fields):
            raise self.error((*path, n + 1), f"запись списка должна быть словарём с ключами {', '.join(fields)}")
        return tuple(str(record[f]) for f in fields)

    def check_record(self, record: dict, list_path: tuple, path: tuple) -> None:
        required, optional = RECORD_FIELDS[(self.file, tuple(str(p) for p in list_path))]
        missing = sorted(required - set(record))
        if missing:
            raise self.error(path, f"в новой записи нет обязательных полей: {', '.join(missing)}")
        for key in record:
            if key not in required | optional:
                raise self.unknown((*path, key), sorted(required | optional))


def read_yaml(path: Path) -> dict:
    """A methodology YAML file as a mapping (empty file → {}); ConfigError naming the file otherwise."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"Файл методики «{path}» не читается как YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Файл методики «{path}» не в кодировке UTF-8: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Файл методики «{path}»: ожидается словарь ключей верхнего уровня, а записан {type(data).__name__}")
    return data


def overlay_files(folder: Path, known: list[str]) -> dict[str, Path]:
    """{file stem: path} of an overlay folder; ConfigError for a YAML file whose name is not a
    methodology file (a misspelt name would otherwise be silently ignored)."""
    if not folder.is_dir():
        raise ConfigError(f"Папка наложения методики «{folder}» не найдена")
    files = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in (".yaml", ".yml"):
            continue
        if p.suffix != ".yaml" or p.stem not in known:
            close = difflib.get_close_matches(p.stem, known, n=1, cutoff=0.6)
            hint = f"; возможно, «{close[0]}.yaml»" if close else ""
            raise ConfigError(f"Наложение методики «{folder}»: файл «{p.name}» — не файл методики{hint}. "
                              f"Допустимы: {', '.join(f'{k}.yaml' for k in known)}")
        files[p.stem] = p
    return files


def merge(defaults: dict[str, dict], overlay: dict[str, dict], folder: Path) -> tuple[dict, list[dict]]:
    """The defaults with every overlay file merged in, and the overrides that differ from the defaults."""
    merged = dict(defaults)
    overrides: list[dict] = []
    for file, over in overlay.items():
        merged[file] = _Merger(file, folder / f"{file}.yaml").merge(defaults.get(file, {}), over)
        overrides += diff(file, defaults.get(file, {}), merged[file])
    return merged, overrides


# ---- overrides ---------------------------------------------------------------------------------
def _source_of(chain: list, key: str) -> str:
    """The `source` that covers a changed key: the nearest enclosing record's source (a catalogue
    indicator's `target_source` for its targets)."""
    for node in reversed(chain):
        if isinstance(node, dict):
            if str(key).startswith("target") and node.get("target_source"):
                return str(node["target_source"])
            if node.get("source"):
                return str(node["source"])
    return ""


def diff(file: str, default, merged, path: tuple = (), chain: list | None = None) -> list[dict]:
    """Overrides of one file: the deepest keys whose merged value differs from the default (a whole
    threshold entry, record or new key counts as one)."""
    chain = [*(chain or []), merged]
    if default == merged:
        return []
    one = {"file": file, "key": _dotted(path), "value": merged, "source": _source_of(chain, path[-1] if path else "")}
    if _is_threshold_entry(file, path, merged):
        return [{**one, "value": merged["value"], "source": merged.get("source", "")}]
    if _is_catalogue_entry(file, path, merged) and isinstance(default, dict):
        changed = {k: v for k, v in merged.items() if k not in default or default[k] != v}
        targets = any(str(k).startswith("target") for k in changed)
        return [{**one, "value": changed,
                 "source": str(merged.get("target_source") if targets and merged.get("target_source") else merged.get("source", ""))}]
    if isinstance(default, dict) and isinstance(merged, dict):
        out = []
        for key, value in merged.items():
            if key in default:
                out += diff(file, default[key], value, (*path, key), chain)
            else:
                out.append({"file": file, "key": _dotted((*path, key)), "value": value,
                            "source": _source_of([*chain, value], key)})
        return out
    fields = _keyed(file, path)
    if fields and isinstance(default, list) and isinstance(merged, list):
        old = {tuple(str(r.get(f)) for f in fields): r for r in default if isinstance(r, dict)}
        out = []
        for record in merged:
            key = tuple(str(record.get(f)) for f in fields)
            if key in old:
                out += diff(file, old[key], record, (*path, *key), chain)
            else:
                out.append({"file": file, "key": _dotted((*path, *key)), "value": record,
                            "source": str(record.get("source", ""))})
        return out
    return [one]


def _short(value, limit: int = 60) -> str:
    if isinstance(value, dict):
        text = ", ".join(f"{k}: {_short(v, limit)}" for k, v in value.items())
    elif isinstance(value, list):
        text = ", ".join(_short(v, limit) for v in value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _phrase(o: dict, name=str) -> tuple[str, str]:
    """(group label, item) of one override in the sentence of `describe`; `name(id)` words an
    indicator id (the methodology's words), so a reader sees «Доля …», not the id."""
    key, value = o["key"], o["value"]
    if o["file"] == "thresholds":
        return "", f"{key} = {_short(value)}"
    if o["file"] == "gia_targets" and key.startswith("targets."):
        return "цели ГИА", key[len("targets."):]
    if o["file"] == "indicators" and key.startswith("indicators.") and isinstance(value, dict):
        ind = key[len("indicators."):]
        if "targets" in value and isinstance(value["targets"], dict) and value["targets"]:
            years = sorted(int(y) for y in value["targets"])
            span = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
            return "цели показателей", f"«{name(ind)}» ({span})"
        return "каталог показателей", f"{ind}: {', '.join(map(str, value))}"
    return f"{o['file']}.yaml", f"{key} = {_short(value)}"


def describe(overrides: list[dict], folder: Path | None, name=str) -> str:
    """«Региональные изменения методики (папка): ключ = значение (источник); …» or "" when none.
    Consecutive overrides with the same source share it; targets are named, not spelt out."""
    if not overrides:
        return ""
    shown = Path(folder).name if folder else ""   # the region's folder name: no server paths in reports
    groups: list[tuple[str, dict]] = []  # (source, {label: [items]})
    for o in overrides:
        label, item = _phrase(o, name)
        if not groups or groups[-1][0] != o["source"]:
            groups.append((o["source"], {}))
        groups[-1][1].setdefault(label, []).append(item)
    parts = []
    for source, by_label in groups:
        text = "; ".join((f"{label}: " if label else "") + ", ".join(items) for label, items in by_label.items())
        parts.append(text + (f" ({source})" if source else ""))
    return f"Региональные изменения методики ({shown}): " + "; ".join(parts) + "."
