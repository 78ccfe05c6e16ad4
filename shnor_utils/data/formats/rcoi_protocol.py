"""РЦОИ «Протокол проверки (результатов)» of ОГЭ / ЕГЭ / ГВЭ → `gia`, pseudonymised on read.

Layout (docs/FILE_FORMATS.md §2, from parsers of real protocols):
```
'Протокол проверки результатов'                 title (may name the exam or the period)
'20 - Чеченская Республика'                      region
'12 - Обществознание 2026.07.03'                 block: <код> - <предмет> <ГГГГ.ММ.ДД>
№ | Код ОО | Класс | Код ППЭ | Аудитория | Код МСУ | Фамилия | Имя | Отчество |
  Задания с кратким ответом | Задания с развёрнутым ответом | Первичный балл | Оценка (ЕГЭ: Тестовый балл)
…rows… | 'Средние'                               block footer; the next block follows
```
Column order varies by region and merged cells leave empty columns: columns are found by header
text. Optional columns `Серия`, `Номер` (passport), `Код участника`, `Вариант`, `ФИО` in one cell.
The subject is taken from the block text, never from its code (codes differ between sources).

Privacy: the name and document cells are read only to compute `pseudonym.participant_id` and
are never stored, logged, or put into an error message (errors name the row, not the pupil).
The masks: short answers one character per task (`+` 1, `-` 0, digit = points); long answers
`points(max)` pairs (`1(2)2(3)`); their sum is checked against «Первичный балл».
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from datetime import date
from pathlib import Path

import pandas as pd

from shnor_utils.data.formats.common import Context, Extract, Header, as_int, as_number, cell_value, grade_of_class, norm, text
from shnor_utils.data.formats.workbook import xls_bytes, xlsx_bytes
from shnor_utils.data.pseudonym import participant_id
from shnor_utils.methodology import Methodology
from shnor_utils.safeio import atomic_write_bytes, safe_component
from shnor_utils.data.tables import records

LAYOUT = "РЦОИ «Протокол проверки результатов»"
BLOCK = re.compile(r"^(\d+)\s*-\s*(.+?)\s+(\d{4})\.(\d{2})\.(\d{2})$")
# the variant without the «Протокол проверки…» title: A1 «<код> <предмет> <дата>» (no dash; the date as
# ГГГГ.ММ.ДД or ДД.ММ.ГГГГ), then the header `Код МСУ | Код ОО | Класс | Код ППЭ | Аудитория | Фамилия |
# Имя | Отчество | … | Первичный балл | Балл`
BARE_BLOCK = re.compile(r"^(\d+)\s*-?\s*(\D.*?)\s+(?:(\d{4})\.(\d{2})\.(\d{2})|(\d{2})\.(\d{2})\.(\d{4}))$")
Q_MASK_MISMATCH = "первичный балл не равен сумме масок ответов"
Q_NAMESAKE = "однофамильцы с одинаковым ФИО в одной школе (различены по документу)"
Q_NO_SCORE = "строка протокола без первичного балла пропущена"
Q_PARTICIPANTS = "участники ГИА псевдонимизированы (ФИО и документы не сохранены)"
COLUMNS = {"school": ("Код ОО",), "primary": ("Первичный балл",)}
# «Код ОО» and «Код МСУ» are codes: Latin letters, digits, «_», «-», «.», «/», at least one digit, no
# spaces (`220001`, `edu220001`, `m01`). Anything else — a surname shifted into the column — is never
# used as an id: the file is refused without showing the value (docs/ingest.md «Персональные данные»).
CODE = re.compile(r"^(?=.*\d)[0-9A-Za-z][0-9A-Za-z_./-]{0,39}$")
HIDDEN_VALUE = "значение не показано: в протоколе есть персональные данные"
NAME_COLUMNS = ("фамилия", "имя", "отчество", "фио", "серия", "номер", "серия и номер", "документ")


def detect(sheet) -> bool:
    if any(norm(v).startswith("протокол проверки") for row in sheet.rows[:3] for v in row):
        return True
    return _bare(sheet)


def _bare(sheet) -> bool:
    """The untitled variant: A1 is a block line and a header with «Код ОО», «Фамилия», «Первичный балл»
    follows within five rows."""
    first = next((text(v) for v in (sheet.rows[0] if sheet.rows else ()) if v is not None), "")
    if not BARE_BLOCK.match(first):
        return False
    return any({"код оо", "фамилия", "первичный балл"} <= {norm(v) for v in row} for row in sheet.rows[1:6])


def read(sheet, ctx: Context, out: Extract) -> None:
    if ctx.secret is None:  # ingest refuses earlier; this guards direct use of the reader
        raise ctx.error("нет секрета для псевдонимизации участников ГИА", sheet=sheet.name,
                        expected="--secret-file ФАЙЛ или переменная окружения SHNOR_SECRET")
    title = " ".join(norm(v) for row in sheet.rows[:2] for v in row if v is not None)
    blocks = [r for r in range(1, len(sheet.rows) + 1) if _block(sheet.rows[r - 1])]
    if not blocks:
        raise ctx.error(f"в «{LAYOUT}» нет ни одного блока экзамена", sheet=sheet.name,
                        expected="строка вида «12 - Обществознание 2026.07.03»")
    rows = []
    for i, start in enumerate(blocks):
        end = blocks[i + 1] - 1 if i + 1 < len(blocks) else len(sheet.rows)
        rows.extend(_read_block(sheet, ctx, out, start, end, title))
    frame = pd.DataFrame(rows)
    ctx.log.count(Q_PARTICIPANTS, frame["participant_id"].nunique())
    out.add("gia", frame)


class _Match:
    """A block line's parts as BLOCK gives them: code, subject text, year, month, day."""

    def __init__(self, m):
        g = m.groups()
        self._g = (g[0], g[1], *(g[2:5] if g[2] else (g[7], g[6], g[5])))
        self._text = m.group(0)

    def group(self, i):
        return self._text if i == 0 else self._g[i - 1]


def _block(row):
    first = next((text(v) for v in row if v is not None), "")
    m = BLOCK.match(first)
    if m:
        return m
    m = BARE_BLOCK.match(first)
    return _Match(m) if m else None


def _read_block(sheet, ctx: Context, out: Extract, start: int, end: int, title: str) -> list:
    m = _block(sheet.rows[start - 1])
    subject_text, when = m.group(2), date(int(m.group(3)), int(m.group(4)), int(m.group(5)))
    head = next((r for r in range(start + 1, min(end, start + 5) + 1)
                 if "первичный балл" in [norm(v) for v in sheet.rows[r - 1]]), None)
    if head is None:
        raise ctx.error(f"в блоке «{text(m.group(0))}» нет строки заголовков", sheet=sheet.name, row=start,
                        expected="«№ | Код ОО | Класс | … | Фамилия | Имя | Отчество | … | Первичный балл | Оценка»")
    header = Header(sheet, head)
    cols = header.require(COLUMNS, ctx, sheet.name, LAYOUT)
    name_cols = _name_columns(header, ctx, sheet.name)
    opt = {k: header.find(*a, prefix=True) for k, a in {
        "class": ("Класс",), "msu": ("Код МСУ",), "short": ("Задания с кратким",),
        "long": ("Задания с развернутым",), "test": ("Тестовый балл",), "mark": ("Оценка", "Отметка", "Балл")}.items()}
    if opt["test"] is None and opt["mark"] is None:
        raise ctx.error(f"в блоке «{text(m.group(0))}» нет столбца «Оценка» или «Тестовый балл»", sheet=sheet.name,
                        row=head, expected="«Оценка» (ОГЭ, ГВЭ, ЕГЭ база) или «Тестовый балл» (ЕГЭ)")
    grades = [grade_of_class(sheet.rows[r - 1][opt["class"] - 1]) for r in range(head + 1, end + 1)
              if opt["class"] and opt["class"] <= len(sheet.rows[r - 1])]
    if opt["test"] is None and opt["mark"] and header.cells.get(opt["mark"]) == "балл":
        # untitled variant: «Балл» is a mark 2–5 (ОГЭ, ГВЭ, ЕГЭ база) or a test score 0–100 (ЕГЭ): the values tell
        values = [sheet.rows[r - 1][opt["mark"] - 1] for r in range(head + 1, end + 1) if opt["mark"] <= len(sheet.rows[r - 1])]
        if any(_over_five(v) for v in values):
            opt["test"], opt["mark"] = opt["mark"], None
    exam, subject, level = _exam(title, m, subject_text, opt, ctx, 11 in grades)
    period = "дополнительный" if "дополнительн" in title else "резервный" if "резервн" in title else "основной"
    rows, seen = [], {}
    for r in range(head + 1, end + 1):
        row = sheet.rows[r - 1]
        cell = lambda c: row[c - 1] if c and c <= len(row) else None  # noqa: E731
        first = norm(next((v for v in row if v is not None), ""))
        if first.startswith("средн") or first.startswith("итого"):
            break
        school = text(cell(cols["school"]))
        if school == "":
            continue
        _code(ctx, sheet, r, "Код ОО", school)
        if text(cell(cols["primary"])) == "":       # no result in the row (неявка, удалён): nothing to record
            ctx.log.count(Q_NO_SCORE)
            continue
        class_value = cell(opt["class"])
        rec = {"year": when.year, "exam": exam, "subject": subject, "level": level, "school_id": school,
               "grade": grade_of_class(class_value) or (9 if exam == "ОГЭ" else 11), "period": period,
               "primary_score": _int(ctx, sheet, r, "Первичный балл", cell(cols["primary"])),
               "test_score": _int(ctx, sheet, r, "Тестовый балл", cell(opt["test"])) if opt["test"] else None,
               "mark": _int(ctx, sheet, r, "Оценка", cell(opt["mark"])) if opt["mark"] and not opt["test"] else None,
               "short_answers": text(cell(opt["short"])) or None, "long_answers": text(cell(opt["long"])) or None,
               "_date": when}
        names = [cell(c) for c in name_cols["name"]]
        pid = participant_id(ctx.secret, *(names + [None] * (3 - len(names)))[:3], school)
        if pid in seen:  # two namesakes in one school: the document tells them apart
            ctx.log.count(Q_NAMESAKE)
            doc = "|".join(text(cell(c)) for c in name_cols["doc"]) or str(r)
            pid = participant_id(ctx.secret, *(names + [None] * (3 - len(names)))[:3], school, doc)
        seen[pid] = r
        rec["participant_id"] = pid
        _check_masks(ctx, sheet, r, rec)
        msu = text(cell(opt["msu"]))
        if msu:
            _code(ctx, sheet, r, "Код МСУ", msu)
        out.school(school, None, msu or None, None)
        rows.append(rec)
    return rows


def _over_five(value) -> bool:
    try:
        number = as_number(value)
    except ValueError:
        return False
    return number is not None and number > 5


def _name_columns(header: Header, ctx: Context, sheet_name: str) -> dict:
    """Columns holding the name (Фамилия, Имя, Отчество — or one «ФИО») and the document."""
    fio = header.find("ФИО", "Ф.И.О.", "Фамилия Имя Отчество")
    if fio:
        names = [fio]
    else:
        names = [header.find("Фамилия"), header.find("Имя"), header.find("Отчество")]
        if names[0] is None or names[1] is None:
            raise ctx.error(f"в «{LAYOUT}» нет столбцов «Фамилия» и «Имя» (или «ФИО»)", sheet=sheet_name,
                            row=header.row, expected="столбцы ФИО участника (они будут заменены псевдонимом)")
        names = [c for c in names if c is not None]
    docs = [c for c in (header.find("Серия"), header.find("Номер"), header.find("Серия и номер", "Документ"))
            if c is not None]
    return {"name": names, "doc": docs}


def _exam(title: str, m, subject_text: str, opt: dict, ctx: Context, grade_11: bool) -> tuple[str, str, str | None]:
    """Exam, canonical subject and ЕГЭ mathematics level of a block: the words of the title or block
    first (ГВЭ, ЕГЭ/ГИА-11, ОГЭ/ГИА-9), else «Тестовый балл» → ЕГЭ, else pupils of 11th classes → ЕГЭ
    (базовая математика has a mark, not a test score), else ОГЭ."""
    low = norm(subject_text)
    if "гвэ" in title or "гвэ" in low or m.group(1) in ("51", "52"):
        exam = "ГВЭ"
    elif "егэ" in title or "гиа-11" in title or "егэ" in low:
        exam = "ЕГЭ"
    elif "огэ" in title or "гиа-9" in title or "огэ" in low:
        exam = "ОГЭ"
    else:
        exam = "ЕГЭ" if opt["test"] is not None or grade_11 else "ОГЭ"
    subject = ctx.meth.subject_from_text(re.sub(r"\b(огэ|егэ|гвэ)\b", "", subject_text, flags=re.I)) or text(subject_text)
    level = None
    if exam == "ЕГЭ" and subject == "Математика":
        level = "базовая" if "базов" in low or opt["test"] is None else "профильная"
    return exam, subject, level


def _code(ctx: Context, sheet, row: int, column: str, value: str) -> None:
    """A code column must hold a code; a name shifted into it must never become a school's id."""
    if not CODE.match(value):
        raise ctx.error(f"не похоже на код ({HIDDEN_VALUE}); строка сдвинута? Файл не принят целиком",
                        sheet=sheet.name, row=row, column=column,
                        expected="код из латинских букв и цифр без пробелов (например, 220001 или edu220001)")


def _int(ctx: Context, sheet, row: int, column: str, value):
    try:
        return as_int(value, ctx.log)
    except ValueError:
        # the value is not shown: a shifted row could put a name into a score column
        raise ctx.error(f"не целое число ({HIDDEN_VALUE})",
                        sheet=sheet.name, row=row, column=column, expected="целое число") from None


def mask_points(short: str | None, long: str | None) -> int | None:
    """Points of the answer masks: short `+`=1, `-`=0, digit = points; long `p(max)` pairs."""
    if not short and not long:
        return None
    total = 0
    for ch in short or "":
        total += 1 if ch == "+" else int(ch) if ch.isdigit() else 0
    total += sum(int(p) for p, _ in re.findall(r"(\d+)\((\d+)\)", long or ""))
    return total


def _check_masks(ctx: Context, sheet, row: int, rec: dict) -> None:
    points = mask_points(rec["short_answers"], rec["long_answers"])
    if points is not None and rec["primary_score"] is not None and points != rec["primary_score"]:
        ctx.log.count(Q_MASK_MISMATCH)
        ctx.log.warn(f"лист «{sheet.name}», строка {row}: первичный балл {rec['primary_score']}, по маскам ответов {points}")


# ---- writing: the dataset as protocols (the reverse of `read`) ----------------------------------
XLS_MAX_ROWS = 65000         # an .xls sheet holds 65,536 rows: longer protocols are written as .xlsx
OGE_HEADER = ["№", "Код ОО", "Класс", "Код ППЭ", "Аудитория", "Код МСУ", "Фамилия", "Имя", "Отчество", None,
              "Задания с кратким ответом", None, "Задания с развёрнутым ответом", "Первичный балл", "Оценка"]
EGE_HEADER = ["№", "Код МСУ", "Код ОО", "Класс", "Код ППЭ", "Аудитория", "Фамилия", "Имя", "Отчество", "Серия",
              "Номер", "Задания с кратким ответом", "Задания с развёрнутым ответом", "Первичный балл"]


def fake_person(participant_id: str) -> dict:
    """Invented, obviously fake name and document of a pseudonymous participant (deterministic)."""
    h = _digest("fake-person", participant_id)
    return {"surname": f"Тестов-{h[:6]}", "name": f"Имя-{h[6:10]}", "patronymic": f"Отч-{h[10:14]}",
            "series": f"{int(h[14:18], 16) % 9000 + 1000}", "number": f"{int(h[18:26], 16) % 900000 + 100000}"}


def write(ds, out: Path, meth: Methodology) -> list[Path]:
    """One protocol per exam × year × period into `out/РЦОИ` (.xls, or .xlsx when too long for
    .xls), one block per subject and exam date, from the dataset's `gia`; nothing without it."""
    if not ds.has("gia"):
        return []
    out = Path(out) / "РЦОИ"
    schools = ds.schools.set_index("school_id")
    paths = []
    for (year, exam, period), group in ds.gia.groupby(["year", "exam", "period"], sort=True):
        rows = protocol_sheet(group, schools, meth, int(year), exam, period)
        xls = len(rows) < XLS_MAX_ROWS
        name = f"Протокол_{exam}_{year}_{safe_component(period)}.{'xls' if xls else 'xlsx'}"
        data = xls_bytes({"Протокол": rows}) if xls else xlsx_bytes({"Протокол": rows})
        paths.append(atomic_write_bytes(out / name, data))
    return paths


def protocol_sheet(gia: pd.DataFrame, schools: pd.DataFrame, meth: Methodology, year: int, exam: str, period: str) -> list:
    title = "Протокол проверки результатов" + (" ГВЭ" if exam == "ГВЭ" else "") \
        + ("" if period == "основной" else f" ({period} период)")
    rows = [[title], ["00 - Демонстрационный регион"]]
    gia = gia.assign(level=gia["level"].astype("object").where(gia["level"].notna(), None))
    subjects = sorted(gia["subject"].unique())
    for (subject, level, attempt), block in gia.groupby(["subject", "level", "attempt"], sort=True, dropna=False):
        day = _exam_date(year, exam, subjects.index(subject), int(attempt))
        text = subject + (f" {level}" if isinstance(level, str) else "")
        rows.append([f"{_subject_code(meth, subject, level, exam)} - {text} {day:%Y.%m.%d}"])
        with_test = exam == "ЕГЭ" and level != "базовая"
        header = OGE_HEADER if exam != "ЕГЭ" else EGE_HEADER + ["Тестовый балл" if with_test else "Оценка"]
        rows.append(header)
        for i, p in enumerate(records(block.sort_values(["school_id", "participant_id"])), start=1):
            rows.append(_protocol_row(p, i, schools, exam, with_test))
        rows.append(["Средние"] + [None] * (len(header) - 3) + [round(float(block["primary_score"].mean()), 2), None])
    return rows


def _exam_date(year: int, exam: str, subject_index: int, attempt: int) -> dt.date:
    start = dt.date(year, 5, 20) if exam == "ЕГЭ" else dt.date(year, 5, 25)
    return start + dt.timedelta(days=2 * subject_index + 14 * (attempt - 1))


def _subject_code(meth: Methodology, subject: str, level, exam: str) -> str:
    if exam == "ЕГЭ" and level == "базовая":
        return "22"
    if exam == "ГВЭ":
        return {"Русский язык": "51", "Математика": "52"}.get(subject, "50")
    code = next((s.get("gia_code") for s in meth.data["subjects"]["subjects"] if s["name"] == subject), None)
    return code or "99"


def _protocol_row(p, i: int, schools: pd.DataFrame, exam: str, with_test: bool) -> list:
    person = fake_person(p.participant_id)
    letter = "АБВ"[int(_digest(p.participant_id)[:2], 16) % 3]
    msu = schools.at[p.school_id, "municipality_id"] if p.school_id in schools.index else None
    short, long = _masks(p)
    score = cell_value(p.test_score) if with_test else cell_value(p.mark)
    if exam == "ЕГЭ":
        return [i, msu, p.school_id, f"{int(p.grade)}{letter}", 100 + i % 7, i % 15 + 1, person["surname"],
                person["name"], person["patronymic"], person["series"], person["number"], short, long,
                int(p.primary_score), score]
    return [i, p.school_id, f"{int(p.grade)}{letter}", 100 + i % 7, i % 15 + 1, msu, person["surname"],
            person["name"], person["patronymic"], None, short, None, long, int(p.primary_score), score]


def _masks(p) -> tuple[str, str]:
    """The row's masks; when the dataset has none, masks that add up to the primary score."""
    short = getattr(p, "short_answers", None)
    long = getattr(p, "long_answers", None)
    if isinstance(short, str) or isinstance(long, str):
        return (short if isinstance(short, str) else None), (long if isinstance(long, str) else None)
    points = int(p.primary_score)
    n_short = min(points, 10)
    rest = points - n_short
    short = "+" * n_short + "-" * (12 - n_short) if n_short <= 12 else "+" * n_short
    parts = []
    while rest > 0:
        got = min(rest, 3)
        parts.append(f"{got}(3)")
        rest -= got
    return short, "".join(parts) or "0(2)"


def _digest(*parts) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).hexdigest()
