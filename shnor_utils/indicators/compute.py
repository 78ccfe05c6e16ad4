"""Running the analyses: every producer once over the dataset, then every postprocessor, into one
sorted tidy table. Which analyses run is an argument (`shnor_utils.analyses.ALL` in the product);
this module imports no analysis."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from shnor_utils.data.dataset import contiguous
from shnor_utils.errors import ParameterError
from shnor_utils.indicators.table import LEVELS, empty, finish
from shnor_utils.methodology import Methodology
from shnor_utils.safeio import atomic_write_bytes, neutral_frame


def compute_indicators(dataset, methodology: Methodology, analyses, only: list[str] | None = None) -> pd.DataFrame:
    """Every indicator of `analyses` (an iterable of `Analysis`) over the dataset, in the tidy shape.

    `only` keeps the producers of the analyses with these ids (postprocessors still run)."""
    analyses = list(analyses)
    parts = [fn(dataset, methodology) for a in analyses if only is None or a.id in only for fn in a.producers]
    parts = [finish(p) for p in parts if p is not None and len(p)]
    if not parts:
        return finish(empty())
    out = pd.concat(parts, ignore_index=True)
    del parts   # a region's parts are as large as the table: not held beside it
    for analysis in analyses:
        for post in analysis.postprocessors:
            extra = post(out, dataset, methodology)
            if extra is not None and len(extra):
                out = pd.concat([out, finish(extra)], ignore_index=True)
    # sorted by the key columns alone, then one copy of the table in that order (sorting the whole
    # table with a helper column made four copies of it at the peak of the batch's preparation)
    level_order = {lv: i for i, lv in enumerate(LEVELS)}
    keys = out[["indicator_id", "level", "entity_id", "year", "subject", "grade", "exam"]]
    keys = keys.assign(level=keys["level"].map(level_order))
    order = keys.sort_values(["indicator_id", "level", "entity_id", "year", "subject", "grade", "exam"],
                             na_position="first").index.to_numpy()
    del keys
    return contiguous(out.take(order).reset_index(drop=True))


EXPORT_SUFFIXES = (".csv", ".parquet")


def check_export_path(out: str | Path) -> Path:
    """The export's file name: «.csv» (opens in Excel) or «.parquet»; anything else — say a «.xlsx»
    name that would get CSV text inside and open as a broken workbook — is refused before any work."""
    out = Path(out)
    if out.is_dir():
        raise ParameterError(f"не удалось записать «{out}»: на этом месте папка, а не файл")
    if out.suffix.lower() not in EXPORT_SUFFIXES:
        raise ParameterError(f"файл «{out.name}»: таблица показателей пишется в .csv (открывается в Excel) "
                             f"или .parquet; получено «{out.suffix or 'без расширения'}»")
    return out


def write_indicators(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write the export atomically as CSV (UTF-8 with BOM so Excel opens Cyrillic) or Parquet. In the
    CSV, text a spreadsheet would evaluate (an id «=…», «+…», «-…», «@…») is prefixed with `'`;
    Parquet keeps the values as they are (typed data, read back by the batch cache)."""
    out = check_export_path(out)
    if out.suffix.lower() == ".parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return atomic_write_bytes(out, buf.getvalue())
    return atomic_write_bytes(out, neutral_frame(frame).to_csv(index=False).encode("utf-8-sig"))
