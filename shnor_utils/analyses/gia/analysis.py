"""Spec of the ГИА results analysis (docs/METHODOLOGY.md §2)."""
from shnor_utils.analyses.gia import compute
from shnor_utils.indicators.registry import Analysis, Sheet

SPEC = Analysis(
    id="gia",
    title="Результаты ГИА",
    templates=("gia_results",),
    tables=("schools", "gia", "graduates"),
    producers=(compute.gia_indicators,),
    sheets=(Sheet("ГИА", ("gia_", "ege_", "oge_", "no_attestat", "medal", "nsu_")),),
)
