"""Spec of the context analysis (docs/METHODOLOGY.md §3): clusters by social index and settlement,
contextual value added, mentor pairs. Presented in the ШНОР report."""
from shnor_utils.analyses.context import compute
from shnor_utils.indicators.registry import Analysis, Sheet

SPEC = Analysis(
    id="context",
    title="Контекст и добавленная ценность",
    templates=("shnor_selection",),
    tables=("schools", "vpr"),
    producers=(compute.context_indicators,),
    sheets=(Sheet("ШНОР", ("value_added",)),),
)
