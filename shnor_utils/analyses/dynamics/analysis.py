"""Spec of the indicator-dynamics analysis (docs/METHODOLOGY.md §5): DD of every catalogue
indicator and the share of ШНОР with positive dynamics, over the table of all other analyses."""
from shnor_utils.analyses.dynamics import compute
from shnor_utils.indicators.registry import Analysis

SPEC = Analysis(
    id="dynamics",
    title="Динамика показателей",
    templates=("indicator_dynamics",),
    tables=("schools", "vpr", "gia", "graduates", "teachers", "staffing", "teacher_development",
            "teacher_diagnostics", "official_shnor"),
    postprocessors=(compute.dd_rows, compute.positive_share_rows),
)
