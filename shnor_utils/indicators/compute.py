"""Running the analyses: every producer once over the dataset, then every postprocessor, into one
sorted tidy table. Which analyses run is an argument (`shnor_utils.analyses.ALL` in the product);
this module imports no analysis."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from shnor_utils.data.dataset import contiguous
from shnor_utils.errors import ParameterError
from shnor_utils.indicators.table import LEVELS, empty, finish
from shnor_utils.methodology import Methodology
from shnor_utils.safeio import atomic_write_bytes, atomic_write_with, neutral_frame


SORT_KEYS = ["indicator_id", "level", "entity_id", "year", "subject", "grade", "exam"]   # level: school, municipality, region


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
    keys = out[SORT_KEYS].assign(level=out["level"].map(level_order))
    order = keys.sort_values(SORT_KEYS, na_position="first").index.to_numpy()
    del keys
    return contiguous(out.take(order).reset_index(drop=True))


EXPORT_SUFFIXES = (".csv", ".parquet")
PARQUET_ROWS = 250_000   # rows converted to Arrow at a time


def _write_parquet(frame: pd.DataFrame, fh) -> None:
    """`frame.to_parquet(fh, index=False)` written PARQUET_ROWS rows at a time: the whole table is never
    copied into Arrow at once (a region of 3,000 schools: 5 million rows, 0.85 GB). Read back, it
    gives the same frame, dtypes included."""
    schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
    with pq.ParquetWriter(fh, schema) as writer:
        for start in range(0, max(len(frame), 1), PARQUET_ROWS):
            writer.write_table(pa.Table.from_pandas(frame.iloc[start:start + PARQUET_ROWS], schema=schema,
                                                    preserve_index=False))


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
        return atomic_write_with(out, lambda fh: _write_parquet(frame, fh))
    return atomic_write_bytes(out, neutral_frame(frame).to_csv(index=False).encode("utf-8-sig"))
