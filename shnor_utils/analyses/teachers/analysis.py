"""Spec of the teacher-deficit analysis (docs/METHODOLOGY.md §4)."""
from shnor_utils.analyses.teachers import compute
from shnor_utils.indicators.registry import Analysis, Sheet

SPEC = Analysis(
    id="teachers",
    title="Кадровые и профессиональные дефициты",
    templates=("teacher_deficits",),
    tables=("schools", "teachers", "staffing", "teacher_development", "teacher_diagnostics"),
    producers=(compute.teacher_indicators,),
    sheets=(Sheet("Кадры", ("staffing", "vacanc", "teacher", "specialist", "iom", "young", "part_time", "pension")),),
)
