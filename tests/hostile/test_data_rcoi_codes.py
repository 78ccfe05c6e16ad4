"""A pupil's name shifted into «Код ОО» or «Код МСУ» of a РЦОИ protocol (issue 17 §5) never
becomes a school: the file is refused with «значение не показано: в протоколе есть персональные
данные», and the name is nowhere — not in the dataset, the report, the message, or a file name."""
from __future__ import annotations

import pytest

from shnor_utils.data.ingest import ingest

from ..data.realfiles import f1_rows, xls, xlsx
from ..data.test_ingest import SECRET, protocol_rows

NAME = "Квашнина Ёлка Петровна"


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


def _everything_written(root) -> str:
    return "\n".join([p.name for p in root.rglob("*")] +
                     [p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*") if p.is_file()])


@pytest.mark.parametrize("column, value", [(1, NAME), (1, "Квашнина"), (1, "КВАШНИНА ЁЛКА"), (5, NAME),
                                           (1, "edu 220001 Иванов")])
def test_name_in_a_code_column_is_refused_without_showing_it(tmp_path, secret, column, value):
    rows = protocol_rows()
    rows[5] = list(rows[5])
    rows[5][column] = value                                   # the second pupil's row is shifted
    protocol = xls(tmp_path / "протокол.xls", {"Лист1": rows})
    f1 = xlsx(tmp_path / "f1.xlsx", {"РУ 4 Индивидуальные результаты": f1_rows()})
    result = ingest([protocol, f1], tmp_path / "ds", secret_file=secret)
    entry = next(f for f in result.report.files if f.file.endswith("протокол.xls"))
    assert entry.status == "отклонён"
    assert "значение не показано: в протоколе есть персональные данные" in entry.error
    assert "строка 6" in entry.error and ("«Код ОО»" if column == 1 else "«Код МСУ»") in entry.error
    assert result.exit_code == 1 and result.report.written           # the other file goes on
    text = result.report.to_text() + result.report.to_json() + _everything_written(tmp_path / "ds")
    for word in [w for w in value.split() if w.isalpha() and w.upper() != w.lower() and not w.isascii()]:
        assert word not in text and word.upper() not in text
    assert "Квашнина" not in text and "КВАШНИНА" not in text
    assert "gia.csv" not in text                                        # no school, no ГИА row from the file


@pytest.mark.parametrize("code", ["220001", "edu220001", "22-0001", "m01", "0101/2"])
def test_real_codes_still_pass(tmp_path, secret, code):
    rows = protocol_rows()
    for r in (4, 5, 9):
        rows[r] = list(rows[r])
        rows[r][1] = code
    result = ingest([xls(tmp_path / "p.xls", {"Лист1": rows})], tmp_path / "ds", secret_file=secret)
    assert result.exit_code == 0, result.report.to_text()
    assert code in (tmp_path / "ds" / "schools.csv").read_text(encoding="utf-8")
