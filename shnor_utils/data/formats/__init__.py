"""The files analysts really have (docs/FILE_FORMATS.md), one module per family: detect, read, write.

Each layout is recognised by the title and header text of a sheet, never by the file name
(docs/FILE_FORMATS.md §0), and `read` turns the sheet into canonical rows (docs/DATA_CONTRACT.md).
`LAYOUTS` is tried in order; the first layout whose `detect(sheet)` is true reads that sheet.
Orchestration (several files, the `schools` table, validation, atomic writing, the report) is
`shnor_utils.data.ingest`. The reverse — a dataset written as the files of a layout — is the
layout's `write(ds, out_dir, meth)` where one exists (Ф1, РЦОИ protocol, ОО-1), called for every
layout by `writers.write_real_files`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from shnor_utils.data.formats import collection_form
from shnor_utils.data.formats import fisoko_aggregates
from shnor_utils.data.formats import fisoko_individual
from shnor_utils.data.formats import login_directory
from shnor_utils.data.formats import official_signs
from shnor_utils.data.formats import oo1
from shnor_utils.data.formats import rcoi_protocol
from shnor_utils.data.formats import regional_export
from shnor_utils.data.formats import school_context


@dataclass(frozen=True)
class Layout:
    name: str                      # Russian, shown in the ingest report
    detect: Callable               # sheet -> bool
    read: Callable                 # (sheet, Context, Extract) -> None
    personal_data: bool = False    # the layout carries names: needs the pseudonymisation secret
    write: Callable | None = None  # (Dataset, out_dir, Methodology) -> [paths written]; None: no writer


LAYOUTS = (
    Layout(fisoko_individual.LAYOUT, fisoko_individual.detect, fisoko_individual.read,
           write=fisoko_individual.write),
    Layout(fisoko_aggregates.MARKS_LAYOUT, fisoko_aggregates.detect_marks, fisoko_aggregates.read_marks),
    Layout(fisoko_aggregates.JOURNAL_LAYOUT, fisoko_aggregates.detect_journal, fisoko_aggregates.read_journal),
    Layout(rcoi_protocol.LAYOUT, rcoi_protocol.detect, rcoi_protocol.read, personal_data=True,
           write=rcoi_protocol.write),
    Layout(oo1.LAYOUT, oo1.detect, oo1.read, write=oo1.write),
    Layout(regional_export.LAYOUT, regional_export.detect, regional_export.read),
    Layout(collection_form.LAYOUT, collection_form.detect, collection_form.read),
    # school directory and official lists (issue 13): they fill data/directory.py and official_signs
    Layout(school_context.LAYOUT, school_context.detect, school_context.read),
    Layout(login_directory.LAYOUT, login_directory.detect, login_directory.read),
    Layout(official_signs.LAYOUT, official_signs.detect, official_signs.read),
)

EXPECTED = ("ФИС ОКО: «Индивидуальные результаты», «Статистика по отметкам», «Сравнение отметок с отметками "
            "по журналу»; «Форма сбора результатов» ВПР (лист «Протокол»); региональная выгрузка ВПР 2020/2021; "
            "РЦОИ «Протокол проверки результатов» ОГЭ/ЕГЭ; ОО-1 раздел 3; ФИС ОКО «Сбор контекстных данных об ОО»; "
            "справочник логинов ОО; ФИОКО «Признаки необъективности»")


def detect(sheet) -> Layout | None:
    """The layout of a sheet, or None."""
    return next((layout for layout in LAYOUTS if layout.detect(sheet)), None)
