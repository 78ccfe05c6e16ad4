"""Write a canonical dataset AS the real files analysts get — the reverse of the readers.

`write_real_files(dataset_dir, out_dir)` loads any dataset folder that passes the contract and
hands it to the `write` of every layout that has one (`LAYOUTS`, in their order):
- ФИС ОКО «Индивидуальные результаты» (Ф1), one .xlsx per school × work (`fisoko_individual.write`);
- РЦОИ «Протокол проверки результатов», one .xls per exam × year × period, with invented names and
  document numbers (`fake_person`: deterministic, obviously fake «Тестов-3fa2c1 Имя-9b0e Отч-51d2»,
  never real names) so that ingest can pseudonymise them (`rcoi_protocol.write`);
- ОО-1 раздел 3, one .xlsx per school × year, from `teacher_counts` or else from `teachers` and
  `staffing` (`oo1.write`).
Files carry the quirks of real ones (docs/FILE_FORMATS.md §0, §1.7, §2, §3): sheet names cut to
31 characters, ids inside names, numbers as text, «X»/«х» and «не пройд.», «нет отметки»,
«отсутствовал», class labels in several spellings, blank zero cells, an .xls protocol with empty
merged-cell columns. They exist to test `shnor ingest` end to end and to let analysts try it
without personal data (docs/ingest.md «Обратное преобразование»).
"""
from __future__ import annotations

from pathlib import Path

from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.formats import LAYOUTS
from shnor_utils.data.formats.rcoi_protocol import fake_person
from shnor_utils.methodology import Methodology, load_methodology

__all__ = ["write_real_files", "fake_person"]


def write_real_files(dataset_dir, out_dir, *, methodology: Methodology | None = None) -> list[Path]:
    """Write the dataset at `dataset_dir` as real-layout files into `out_dir`; return their paths."""
    meth = methodology or load_methodology()
    ds = load_dataset(dataset_dir, methodology=meth)
    out = Path(out_dir)
    paths = []
    for layout in LAYOUTS:
        if layout.write is not None:
            paths += layout.write(ds, out, meth)
    return paths
