"""The canonical dataset contract (docs/DATA_CONTRACT.md §2–3) as data: tables, columns, types.

Types: `str`, `int`, `float`, `bool`. `required=False` columns may be absent from a file;
`nullable=False` columns must have a value in every row. Ranges and allowed values are
checked by `validation.validate_table` (docs/DATA_CONTRACT.md §1.1).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str                      # str | int | float | bool
    required: bool = True          # must the column exist in the file?
    nullable: bool = False         # may a cell be empty?
    min: float | None = None
    max: float | None = None
    allowed: tuple = ()            # allowed values (for categories)
    default: object = None         # value used when an optional column is absent
    extension: bool = False        # «(расш.)» in docs/DATA_CONTRACT.md: written by ingest


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple
    key: tuple = ()                # columns that identify a row (duplicates are rejected)
    required: bool = False         # must the dataset contain this table?
    references_schools: bool = True
    description: str = ""

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def contract_columns(self) -> list[str]:
        """The contract's columns (without the ingest extensions, «(расш.)» in docs/DATA_CONTRACT.md)."""
        return [c.name for c in self.columns if not c.extension]


C = Column
TASK_FLAGS = ("X", "не пройд.", "ошибка")
GROUP_LEVELS = ("вся выборка", "регион", "муниципалитет", "школа")
SCHOOL_TYPES = ("СОШ", "ООШ", "НОШ", "лицей", "гимназия", "СОШ с УИОП", "ВСОШ", "интернат", "другое")
BLOCKS = ("предметный", "методический", "психолого-педагогический", "коммуникативный", "нормативно-правовой")

TABLES: dict[str, Table] = {t.name: t for t in [
    Table("schools", (
        C("school_id", "str"), C("school_name", "str"), C("municipality_id", "str"),
        C("municipality_name", "str"), C("settlement", "str", allowed=("город", "село")),
        C("school_type", "str", allowed=SCHOOL_TYPES),
        C("students", "int", required=False, nullable=True, min=0),
        C("social_index", "float", required=False, nullable=True),
        C("shnsu", "bool", required=False, nullable=True, default=False),
    ), key=("school_id",), required=True, references_schools=False, description="школы"),
    Table("vpr", (
        C("year", "int", min=2000, max=2100),
        C("wave", "str", required=False, default="весна", allowed=("весна", "осень")),
        C("subject", "str"), C("grade", "int", min=4, max=11), C("school_id", "str"),
        C("class_label", "str", required=False, nullable=True),
        C("participant_code", "str"), C("absent", "bool"),
        C("primary_score", "int", nullable=True, min=0),
        C("mark", "int", required=False, nullable=True, min=2, max=5),
        C("journal_mark", "int", nullable=True, min=2, max=5),
    ), key=("year", "wave", "subject", "grade", "school_id", "participant_code"), description="результаты ВПР"),
    Table("vpr_tasks", (
        C("year", "int", min=2000, max=2100),
        C("wave", "str", required=False, default="весна", allowed=("весна", "осень")),
        C("subject", "str"), C("grade", "int", min=4, max=11), C("school_id", "str"),
        C("participant_code", "str"), C("task", "str"), C("score", "int", min=0),
        C("max_score", "int", min=1), C("level", "str", allowed=("Б", "П", "В")),
        # How a 0 was written in the source (docs/FILE_FORMATS.md §1.7): «X» — не приступал,
        # «не пройд.» — тема не пройдена, «ошибка» — unreadable value; empty for a real score.
        C("flag", "str", required=False, nullable=True, allowed=TASK_FLAGS, extension=True),
    ), key=("year", "wave", "subject", "grade", "school_id", "participant_code", "task"), description="задания ВПР"),
    Table("gia", (
        C("year", "int", min=2000, max=2100), C("exam", "str", allowed=("ОГЭ", "ЕГЭ", "ГВЭ")),
        C("subject", "str"),
        C("level", "str", required=False, nullable=True, allowed=("базовая", "профильная")),
        C("school_id", "str"), C("participant_id", "str"), C("grade", "int", min=9, max=11),
        C("period", "str", allowed=("основной", "дополнительный", "резервный")),
        C("attempt", "int", min=1, max=10), C("primary_score", "int", min=0),
        C("test_score", "int", required=False, nullable=True, min=0, max=100),
        C("mark", "int", required=False, nullable=True, min=2, max=5),
        # РЦОИ answer masks (docs/FILE_FORMATS.md §2): «++-2+…» and «1(2)2(3)…»; no personal data.
        C("short_answers", "str", required=False, nullable=True, extension=True),
        C("long_answers", "str", required=False, nullable=True, extension=True),
    ), key=("year", "exam", "subject", "level", "participant_id", "period", "attempt"), description="результаты ГИА"),
    Table("graduates", (
        C("year", "int", min=2000, max=2100), C("school_id", "str"), C("grade", "int", allowed=(9, 11)),
        C("participant_id", "str"), C("attestat", "bool"), C("honours", "bool"),
    ), key=("year", "grade", "participant_id"), description="выпускники"),
    Table("teachers", (
        C("year", "int", min=2000, max=2100), C("school_id", "str"), C("teacher_id", "str"),
        C("position", "str"), C("subject", "str", required=False, nullable=True),
        C("age", "int", nullable=True, min=16, max=100), C("pedagogical_education", "bool"),
        C("category", "str", allowed=("высшая", "первая", "соответствие", "без категории")),
        C("experience_years", "int", nullable=True, min=0, max=80),
        C("rate", "float", min=0, max=3), C("part_time", "bool"),
    ), key=("year", "school_id", "teacher_id", "position", "subject"), description="педагогические работники"),
    Table("staffing", (
        C("year", "int", min=2000, max=2100), C("school_id", "str"), C("position", "str"),
        C("subject", "str", required=False, nullable=True),
        C("rates_planned", "float", min=0), C("rates_filled", "float", min=0), C("vacancies", "int", min=0),
    ), key=("year", "school_id", "position", "subject"), description="штатные должности"),
    Table("teacher_development", (
        C("year", "int", min=2000, max=2100), C("school_id", "str"), C("teacher_id", "str"),
        C("diagnosed", "bool"), C("has_iom", "bool"), C("iom_completed", "bool"),
        C("deficit_reduced", "bool"), C("post_course_support", "bool"),
        C("network_mentoring", "bool"), C("competence_raised", "bool"),
    ), key=("year", "school_id", "teacher_id"), description="профессиональное развитие педагогов"),
    Table("teacher_diagnostics", (
        C("year", "int", min=2000, max=2100), C("school_id", "str"), C("teacher_id", "str"),
        C("block", "str", allowed=BLOCKS), C("score", "float", min=0), C("max_score", "float", min=0),
    ), key=("year", "school_id", "teacher_id", "block"), description="диагностика профессиональных дефицитов"),
    Table("risk_profiles", (
        C("year", "int", min=2000, max=2100), C("school_id", "str"), C("risk_factor", "str"),
        C("level", "str", allowed=("высокий", "средний", "низкий")),
    ), key=("year", "school_id", "risk_factor"), description="рисковые профили «500+»"),
    # ---- optional tables filled by `shnor ingest` (docs/DATA_CONTRACT.md §3, docs/ingest.md) ----
    Table("vpr_mark_stats", (
        C("year", "int", min=2000, max=2100),
        C("wave", "str", required=False, default="весна", allowed=("весна", "осень")),
        C("subject", "str"), C("grade", "int", min=4, max=11),
        C("group_level", "str", allowed=GROUP_LEVELS),
        C("group_id", "str", nullable=True), C("group_name", "str"),
        C("schools_count", "int", required=False, nullable=True, min=0),
        C("participants", "int", min=0),
        C("pct_2", "float", min=0, max=100), C("pct_3", "float", min=0, max=100),
        C("pct_4", "float", min=0, max=100), C("pct_5", "float", min=0, max=100),
    ), key=("year", "wave", "subject", "grade", "group_level", "group_name"), references_schools=False,
        description="ФИС ОКО «Статистика по отметкам» (% участников с отметкой 2–5)"),
    Table("vpr_journal_stats", (
        C("year", "int", min=2000, max=2100),
        C("wave", "str", required=False, default="весна", allowed=("весна", "осень")),
        C("subject", "str"), C("grade", "int", min=4, max=11),
        C("group_level", "str", allowed=GROUP_LEVELS),
        C("group_id", "str", nullable=True), C("group_name", "str"),
        C("participants", "int", min=0),
        C("lower_pct", "float", nullable=True, min=0, max=100), C("lower_n", "int", nullable=True, min=0),
        C("confirm_pct", "float", nullable=True, min=0, max=100), C("confirm_n", "int", nullable=True, min=0),
        C("higher_pct", "float", nullable=True, min=0, max=100), C("higher_n", "int", nullable=True, min=0),
    ), key=("year", "wave", "subject", "grade", "group_level", "group_name"), references_schools=False,
        description="ФИС ОКО «Сравнение отметок с отметками по журналу»"),
    Table("teacher_counts", (
        C("year", "int", min=2000, max=2100), C("school_id", "str"),
        C("section", "str", allowed=("3.1", "3.2", "3.3", "3.4")),
        C("row_code", "str"), C("column_code", "int", min=3),
        C("position", "str"), C("subject", "str", required=False, nullable=True),
        C("measure", "str"), C("value", "float", min=0),
    ), key=("year", "school_id", "section", "row_code", "column_code"),
        description="ОО-1 раздел 3: численность персонала по строкам и графам (агрегаты, не отдельные педагоги)"),
    Table("official_shnor", (
        C("year", "int", min=2000, max=2100), C("school_id", "str"),
    ), key=("year", "school_id"), description="официальный перечень ШНОР"),
    Table("official_signs", (
        C("year", "int", min=2000, max=2100), C("school_id", "str"), C("marker", "str"),
    ), key=("year", "school_id", "marker"),
        description="официальный перечень ФИОКО «Признаки необъективности» (школа × год × признак)"),
]}

# The tables of docs/DATA_CONTRACT.md §2; the others (ФИС ОКО aggregates, ОО-1 counts) are
# optional extensions written by `shnor ingest`.
CONTRACT_TABLES = ("schools", "vpr", "vpr_tasks", "gia", "graduates", "teachers", "staffing",
                   "teacher_development", "teacher_diagnostics", "risk_profiles", "official_shnor")
