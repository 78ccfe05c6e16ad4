"""Spec of the ВПР objectivity analysis (docs/METHODOLOGY.md §1)."""
from shnor_utils.analyses.objectivity import compute
from shnor_utils.indicators.registry import Analysis, Sheet

SPEC = Analysis(
    id="objectivity",
    title="Объективность ВПР",
    templates=("vpr_objectivity",),
    tables=("schools", "vpr", "vpr_tasks", "gia"),
    producers=(compute.journal_indicators, compute.sign_indicators, compute.peak_indicators, compute.task_indicators,
               compute.journal_inflation_indicators),
    sheets=(Sheet("ВПР — журнал", ("vpr_journal_", "vpr_share_")),
            Sheet("ВПР — объективность", ("vpr_sign_", "objectivity_", "vpr_peak", "vpr_task"))),
    index_flags=("vpr_sign_inflated_mean", "vpr_sign_mark_mismatch", "vpr_sign_cohort_jump", "vpr_journal_inflated"),
    passport_flags=("vpr_sign_inflated_mean", "vpr_sign_mark_mismatch", "vpr_sign_cohort_jump", "vpr_journal_inflated"),
)
