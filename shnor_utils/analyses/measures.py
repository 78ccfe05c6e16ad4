"""«Что делать» (issue 14, point 6): the recommended measures for each kind of finding a report shows,
from the catalogue `measures.yaml` of the methodology (with its source), as a small Russian table."""
from __future__ import annotations

import pandas as pd

from shnor_utils.errors import ConfigError
from shnor_utils.methodology import Methodology
from shnor_utils.reporting.html import plain

COLUMNS = ["Что обнаружено", "Рекомендуемые меры", "Источник"]


def catalogue(meth: Methodology) -> dict:
    """kind → {finding, measures, source} of the methodology (package defaults merged with the overlay)."""
    kinds = (meth.data.get("measures") or {}).get("kinds") or {}
    for kind, entry in kinds.items():
        if not isinstance(entry, dict) or not entry.get("measures") or not entry.get("source"):
            raise ConfigError(f"measures.yaml, вид «{kind}»: нужны непустые «measures» и «source»")
    return kinds


def measures_table(meth: Methodology, kinds) -> pd.DataFrame:
    """One row per kind found (in the order given, each once): what was found, the measures (joined
    by «; »), the source as a reader sees it. Unknown kinds fail loudly: a report asks only for kinds
    the catalogue has."""
    cat = catalogue(meth)
    rows = []
    for kind in dict.fromkeys(kinds):
        if kind not in cat:
            raise ConfigError(f"measures.yaml: нет вида находок «{kind}» (есть: {', '.join(cat)})")
        e = cat[kind]
        rows.append({"Что обнаружено": meth.words.format(e.get("finding", kind)), "Рекомендуемые меры": "; ".join(e["measures"]) + ".",
                     "Источник": plain(meth, e["source"])})
    return pd.DataFrame(rows, columns=COLUMNS)
