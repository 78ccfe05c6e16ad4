"""The Russian words of the product: indicator and flag names, from the methodology files only.

`flags.yaml` holds the wording of school flags (`indicators`: full names as the passport states
them; `short`: chips and filters of the index; `flags`: the `flag` column's values) and
`indicators.yaml` the catalogue (`name`, `unit`, `direction`). Code never spells an indicator's
name itself: it asks `meth.words`."""
from __future__ import annotations


class Words:
    """Names of indicators and flags of one methodology."""

    def __init__(self, data: dict):
        flags = data.get("flags", {}) or {}
        self._full = dict(flags.get("indicators", {}) or {})
        self._short = dict(flags.get("short", {}) or {})
        self._flags = dict(flags.get("flags", {}) or {})
        self._catalogue = dict((data.get("indicators", {}) or {}).get("indicators", {}) or {})

    def name(self, indicator_id: str) -> str:
        """Full Russian name: the flag wording, else the catalogue name, else the id itself."""
        if indicator_id in self._full:
            return self._full[indicator_id]
        entry = self._catalogue.get(indicator_id)
        if isinstance(entry, dict) and entry.get("name"):
            return entry["name"]
        return indicator_id

    def short(self, indicator_id: str) -> str:
        """Short name (index chips, narrow columns); the full name where none is set."""
        return self._short.get(indicator_id) or self.name(indicator_id)

    def flag(self, flag: str) -> str:
        """Meaning of a value of the `flag` column («below_target» → «ниже целевого значения»)."""
        return self._flags.get(flag, flag)

    def catalogue(self, indicator_id: str) -> dict:
        """The catalogue entry of an indicator (name, unit, direction, …), empty if none."""
        entry = self._catalogue.get(indicator_id)
        return dict(entry) if isinstance(entry, dict) else {}
