"""The tidy indicator table (`table`), its statistics (`stats`), the `Analysis` spec (`registry`)
and the computation over a list of analyses (`compute`). Imports no analysis."""
from shnor_utils.indicators.compute import compute_indicators, write_indicators
from shnor_utils.indicators.registry import Analysis, Sheet
from shnor_utils.indicators.table import COLUMNS, LEVELS, REGION_ID, empty, finish, rollup_counts, share_rows

__all__ = ["Analysis", "Sheet", "COLUMNS", "LEVELS", "REGION_ID", "compute_indicators", "empty", "finish",
           "rollup_counts", "share_rows", "write_indicators"]
