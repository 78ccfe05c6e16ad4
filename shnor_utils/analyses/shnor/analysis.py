"""Spec of the ШНОР identification analysis (docs/METHODOLOGY.md §3): the 30 % rule, risk schools,
the alternative method; the school passport is presented here too."""
from shnor_utils.analyses.shnor import compute, watch
from shnor_utils.indicators.registry import Analysis, Sheet

SPEC = Analysis(
    id="shnor",
    title="Выявление ШНОР",
    templates=("shnor_selection", "school_passport"),
    tables=("schools", "vpr", "gia", "official_shnor"),
    producers=(compute.shnor_indicators, watch.watch_indicators),
    sheets=(Sheet("ШНОР", ("low_procedures", "shnor", "risk_", "alt_")),),
    index_flags=("shnor", "risk_school", watch.INDICATOR),   # «на грани»: chip and filter of the index
    passport_flags=("shnor", "risk_school"),
)
