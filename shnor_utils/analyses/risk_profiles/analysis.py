"""Spec of the risk-profile analysis («500+» risk factors, docs/METHODOLOGY.md §3)."""
from shnor_utils.analyses.risk_profiles import compute
from shnor_utils.indicators.registry import Analysis, Sheet

SPEC = Analysis(
    id="risk_profiles",
    title="Рисковые профили",
    templates=("shnor_selection",),
    tables=("schools", "risk_profiles"),
    producers=(compute.risk_indicators,),
    sheets=(Sheet("ШНОР", ("risk_",)),),
)
