"""The Russian words of the product: indicator and flag names, from the methodology files only.

`flags.yaml` holds the wording of school flags (`indicators`: full names as the passport states
them; `short`: chips and filters of the index, column heads of small tables; `flags`: the `flag`
column's values) and `indicators.yaml` the catalogue (`name`, `formula`, `unit`, `direction`).
Code never spells an indicator's name itself: it asks `meth.words`.

A wording that states a threshold names it instead of restating the number: a placeholder
`{section.key}` (e.g. `«≥ {low_results_rule.share_failed} % «2»»`) is replaced by the value of
that thresholds.yaml entry, so a region that changes the threshold changes every sentence with it.
"""
from __future__ import annotations

import re

from shnor_utils.errors import ConfigError

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}")
CATALOGUE_TEXT = ("name", "formula")   # catalogue fields that are wording (placeholders allowed)


def number(value) -> str:
    """A threshold as Russian prose prints it: 30 → «30», 30.0 → «30», 1.5 → «1,5»."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}".replace(".", ",")


class Words:
    """Names of indicators and flags of one methodology, with threshold placeholders filled in."""

    def __init__(self, data: dict):
        # `data` is the methodology's own dict (file stem → content), read at every call: a regional
        # overlay merged into it later is seen here too
        self._data = data

    def _section(self, file: str, key: str | None = None) -> dict:
        node = self._data.get(file, {}) or {}
        if key is not None:
            node = node.get(key, {}) or {} if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    @property
    def _thresholds(self) -> dict:
        return self._section("thresholds")

    @property
    def _full(self) -> dict:
        return self._section("flags", "indicators")

    @property
    def _short(self) -> dict:
        return self._section("flags", "short")

    @property
    def _flags(self) -> dict:
        return self._section("flags", "flags")

    @property
    def _catalogue(self) -> dict:
        return self._section("indicators", "indicators")

    def format(self, text: str) -> str:
        """`text` with every `{section.key}` replaced by that threshold's value («30», «1,5»)."""
        return PLACEHOLDER.sub(lambda m: number(self._value(m.group(1), text)), text)

    def _value(self, path: str, text: str):
        node = self._thresholds
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"Формулировка «{text}» (flags.yaml / indicators.yaml) ссылается на параметр "
                                  f"«{path}», которого нет в thresholds.yaml")
            node = node[part]
        if not isinstance(node, dict) or "value" not in node:
            raise ConfigError(f"Формулировка «{text}» ссылается на «{path}»: в thresholds.yaml у него нет value")
        return node["value"]

    def name(self, indicator_id: str) -> str:
        """Full Russian name: the flag wording, else the catalogue name, else the id itself."""
        if indicator_id in self._full:
            return self.format(self._full[indicator_id])
        entry = self._catalogue.get(indicator_id)
        if isinstance(entry, dict) and entry.get("name"):
            return self.format(entry["name"])
        return indicator_id

    def short(self, indicator_id: str) -> str:
        """Short name (index chips, narrow columns); the full name where none is set."""
        if self._short.get(indicator_id):
            return self.format(self._short[indicator_id])
        return self.name(indicator_id)

    def flag(self, flag: str) -> str:
        """Meaning of a value of the `flag` column («below_target» → «ниже целевого значения»)."""
        return self.format(self._flags[flag]) if flag in self._flags else flag

    def catalogue(self, indicator_id: str) -> dict:
        """The catalogue entry of an indicator (name, formula, unit, direction, …) with its wording
        formatted; empty if none."""
        entry = self._catalogue.get(indicator_id)
        if not isinstance(entry, dict):
            return {}
        out = dict(entry)
        for key in CATALOGUE_TEXT:
            if isinstance(out.get(key), str):
                out[key] = self.format(out[key])
        return out
