"""`shnor ingest FILES… --out DATASET`: real files → one validated canonical dataset, atomically.

Pipeline: open each workbook safely (`formats.workbook`) → recognise each sheet's layout by its
text (`formats.detect`) → read it into canonical rows (`formats.*`) → combine the files (duplicates,
ГИА attempts) → build `schools` from the ids and names the files contain (or from `--schools`) →
write into a temporary folder beside DATASET → validate it with `dataset.load_dataset` → replace
DATASET in one rename. A file that fails is listed in the report and left out; the others go on.
Nothing is written when the combined dataset does not pass the contract (the error lists its
failing values; no validation_errors.csv is left, the temporary folder is removed). The files and
their layouts: docs/FILE_FORMATS.md; the command, the report and exit codes: docs/ingest.md.
"""
from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.directory import apply_directory
from shnor_utils.errors import InputError, ParameterError
from shnor_utils.data.ingest_report import FileEntry, IngestReport
from shnor_utils.methodology import Methodology, load_methodology
from shnor_utils.data.formats import EXPECTED, detect
from shnor_utils.data.formats.common import Q_DUPLICATE, Context, Extract, FileLog
from shnor_utils.data.pseudonym import load_secret
from shnor_utils.data.formats.workbook import open_workbook
from shnor_utils.safeio import atomic_write_text, make_temp_dir
from shnor_utils.data.schema import TABLES

REPORT_JSON, REPORT_TEXT = "ingest_report.json", "ingest_report.txt"
HIDDEN_SHEET = {"hidden": " (скрытый лист)", "veryHidden": " (скрытый лист «very hidden», виден только в редакторе VBA)"}

# Defaults for what real files do not say about a school (docs/ingest.md «Справочник школ (`--schools`)»).
# The school type is read from the name when a keyword is there; the settlement only from explicit
# markers in the name («с.», «село», «д.», «пос.» → село; «г.», «город» → город). Otherwise these
# defaults are used and counted in the report; `--schools schools.csv` replaces them.
DEFAULT_SETTLEMENT = "город"
DEFAULT_SCHOOL_TYPE = "другое"
UNKNOWN_MUNICIPALITY = ("нет_данных", "муниципалитет не указан в файлах")
TYPE_WORDS = (("СОШ с УИОП", r"углубл|уиоп"), ("ВСОШ", r"в\(?с\)?ош|вечерн"), ("интернат", r"интернат"),
              ("лицей", r"лице[йя]"), ("гимназия", r"гимнази"), ("НОШ", r"\bнош\b|начальная общеобразоват"),
              ("ООШ", r"\bоош\b|основная общеобразоват"), ("СОШ", r"\bсош\b|средняя общеобразоват"))
RURAL = re.compile(r"(^|[\s«\"(,])(с\.|село|д\.|деревн|пос\.|п\.|поселок|аул|ст-ца|станица|х\.|хутор)", re.I)
URBAN = re.compile(r"(^|[\s«\"(,])(г\.|город)", re.I)


@dataclass
class IngestResult:
    report: IngestReport
    exit_code: int          # 0 all files read; 1 some rejected (dataset written from the rest); 2 nothing written


def ingest(files, out, *, schools_file=None, secret_file=None, max_mb=None, wave: str = "весна",
           methodology: Methodology | None = None, crosswalk_file=None) -> IngestResult:
    """Read `files`, write the canonical dataset to `out` (replacing an earlier ingest there)."""
    out = Path(out)
    meth = methodology or load_methodology()
    report = IngestReport(dataset=str(out))
    _check_target(out)
    secret = load_secret(secret_file)
    extracts = []
    for f in files:     # one workbook at a time: its cells are dropped before the next one is opened
        item = _open(Path(f), max_mb, report)
        if item is None:
            continue
        if secret is None and any(layout.personal_data for _, layout in item[1]):
            raise ParameterError(f"файл «{f}» — протокол РЦОИ с ФИО участников, а секрета для псевдонимизации нет: "
                                 "укажите --secret-file ФАЙЛ или переменную окружения SHNOR_SECRET "
                                 "(не меньше 16 символов). Ничего не записано.")
        extract = _read(item, report.files[-1], meth, wave, secret)
        del item
        if extract is not None:
            extracts.append(extract)
    if not extracts:
        report.error = "ни один файл не прочитан"
        return IngestResult(report, 2)
    tables, log = combine(extracts)
    given = _read_schools_file(schools_file) if schools_file else None
    # ---- school directory (data/directory.py, issue 13 p.6): one id per school across years, municipality
    # codes for names, settlement/type/pupils and РЦОИ codes from the context files; written as school_directory.csv
    school_dir = apply_directory(tables, extracts, given, crosswalk_file=crosswalk_file)
    tables, given = school_dir.tables, school_dir.given
    log.counts.update(school_dir.counts)
    log.warnings.extend(school_dir.warnings)
    observed = _map_rcoi_codes(tables, school_dir.observed, given)
    tables["schools"] = build_schools(observed, given, report, log)
    report.quirks = dict(log.counts)
    report.warnings.extend(log.warnings)
    report.checks.extend(check_against_aggregates(tables))
    try:
        _write(tables, out, report, meth)
    except InputError as exc:
        report.error = str(exc)
        return IngestResult(report, 2)
    school_dir.write(out)                     # school directory: crosswalk with its evidence
    return IngestResult(report, 1 if report.rejected else 0)


# ---- per file ------------------------------------------------------------------------------------
def _open(path: Path, max_mb, report: IngestReport):
    """(workbook, [(sheet, layout)]) of a recognised file, else None with the file marked rejected."""
    entry = FileEntry(file=str(path))
    report.files.append(entry)
    try:
        book = open_workbook(path, max_mb=max_mb)
        entry.format = book.kind
        found = [(s, detect(s)) for s in book.sheets]
        for sheet, layout in found:
            hidden = HIDDEN_SHEET.get(sheet.hidden, "")
            entry.sheets[sheet.name] = (layout.name if layout else "не распознан (пропущен)") + hidden
            if hidden and layout:
                entry.warnings.append(f"лист «{sheet.name}» скрыт в книге{hidden}, но прочитан как «{layout.name}»: "
                                      "проверьте, что его данные нужны (иначе удалите лист)")
        recognised = [(s, layout) for s, layout in found if layout]
        if not recognised:
            names = ", ".join(f"«{s.name}»" for s in book.sheets) or "нет листов"
            raise InputError(f"формат файла не распознан: ни один лист ({names}) не похож на известный отчёт",
                             file=str(path), expected=EXPECTED)
        return book, recognised
    except InputError as exc:
        entry.status, entry.error = "отклонён", str(exc)
        return None


def _read(item, entry: FileEntry, meth, wave, secret) -> Extract | None:
    book, recognised = item
    log = FileLog()
    extract = Extract()
    ctx = Context(path=book.path, meth=meth, log=log, wave=wave, secret=secret, book=book)
    try:
        for sheet, layout in recognised:
            layout.read(sheet, ctx, extract)
    except InputError as exc:
        entry.status, entry.error = "отклонён", str(exc)
        return None
    except Exception as exc:  # a bug or a layout we misjudged: no message text, it could quote a cell
        entry.status = "отклонён"
        entry.error = (f"файл «{book.path}»: внутренняя ошибка при чтении ({type(exc).__name__}); "
                       "сообщите разработчикам, приложив описание макета файла (без персональных данных)")
        return None
    entry.rows = {t: extract.rows(t) for t in extract.tables}
    entry.quirks = dict(log.counts)
    entry.quirks[f"файл формата .{book.kind}"] = 1
    entry.warnings = entry.warnings + log.warnings
    return extract


# ---- combining files -----------------------------------------------------------------------------
def combine(extracts: list) -> tuple[dict, FileLog]:
    """One frame per table; repeated records (the same work in two files) keep the first file's row;
    ГИА attempts are numbered by exam date within (year, exam, subject, level, pupil), across periods:
    a retake in the additional period is the pupil's second attempt (contract: 1 = first attempt)."""
    log = FileLog()
    tables = {}
    names = {t for e in extracts for t in e.tables}
    for name in names:
        frame = pd.concat([f for e in extracts for f in e.tables.get(name, [])], ignore_index=True)
        if name == "gia":
            frame = _gia_attempts(frame, log)
        key = [k for k in TABLES[name].key if k in frame.columns]
        if key:
            dup = frame.duplicated(key, keep="first")
            log.count(f"{Q_DUPLICATE} ({name})", int(dup.sum()))
            frame = frame[~dup]
        tables[name] = frame.reset_index(drop=True)
    return tables, log


def _gia_attempts(gia: pd.DataFrame, log: FileLog) -> pd.DataFrame:
    same = ["year", "exam", "subject", "level", "participant_id", "period", "_date", "primary_score"]
    dup = gia.duplicated(same, keep="first")
    log.count(f"{Q_DUPLICATE} (gia)", int(dup.sum()))
    gia = gia[~dup].sort_values("_date", kind="stable")
    group = ["year", "exam", "subject", "level", "participant_id"]
    gia["attempt"] = gia.fillna({"level": ""}).groupby(group, sort=False).cumcount() + 1
    return gia.drop(columns="_date")


# ---- schools -------------------------------------------------------------------------------------
def build_schools(observed: list, given: pd.DataFrame | None, report: IngestReport, log: FileLog) -> pd.DataFrame:
    """The `schools` table: every school the files name (first non-empty name/municipality wins),
    completed from `--schools` (`given`) when given, else with the documented defaults, each counted."""
    cols = ["school_id", "school_name", "municipality_id", "municipality_name"]
    found = pd.DataFrame(observed, columns=cols)
    # ФИС ОКО municipality ids (reg22_m067) win over РЦОИ «Код МСУ» for the same school
    found = found.assign(_p=~found["municipality_id"].astype("string").str.match(r"reg\d+_m\d+").fillna(False))
    found = found.sort_values("_p", kind="stable").drop(columns="_p")
    found = found.groupby("school_id", sort=True).first().reset_index() if len(found) else found
    listed = given is not None
    given = given.drop(columns="rcoi_code", errors="ignore") if listed else pd.DataFrame(columns=["school_id"])
    schools = found.merge(given, on="school_id", how="outer", suffixes=("", "_given"))
    for c in cols[1:]:
        if f"{c}_given" in schools:
            schools[c] = schools[f"{c}_given"].combine_first(schools[c])
            schools = schools.drop(columns=f"{c}_given")
    defaults = Counter()
    unlisted = set(found["school_id"]) - set(given["school_id"]) if listed else set()
    if unlisted:
        report.warnings.append(f"школ нет в файле --schools: {len(unlisted)} (например, {sorted(unlisted)[0]})")
    schools["school_name"] = _fill(schools["school_name"], schools["school_id"], defaults, "название школы = её код")
    no_mun = schools["municipality_id"].isna()
    by_name = no_mun & schools["municipality_name"].notna()
    schools.loc[by_name, "municipality_id"] = schools.loc[by_name, "municipality_name"]
    defaults["код муниципалитета = его название (в файле нет reg…_m…)"] += int(by_name.sum())
    none = schools["municipality_id"].isna()
    schools.loc[none, ["municipality_id", "municipality_name"]] = UNKNOWN_MUNICIPALITY
    defaults[f"муниципалитет не указан → «{UNKNOWN_MUNICIPALITY[0]}»"] += int(none.sum())
    schools["municipality_name"] = schools["municipality_name"].fillna(schools["municipality_id"])
    schools["school_type"] = _guess(schools, "school_type", _type_of, DEFAULT_SCHOOL_TYPE, defaults, "тип школы")
    schools["settlement"] = _guess(schools, "settlement", _settlement_of, DEFAULT_SETTLEMENT, defaults, "тип поселения")
    report.schools = {"total": int(len(schools)), "defaults": {k: v for k, v in defaults.items() if v}}
    if any(k.endswith("по умолчанию") for k in report.schools["defaults"]):
        report.warnings.append("для части школ тип поселения или тип школы взяты по умолчанию: "
                               "уточните их файлом --schools schools.csv (school_id, settlement, school_type)")
    return schools


def _fill(values, fallback, defaults, label):
    missing = values.isna() | (values.astype("string").str.strip() == "")
    defaults[label] += int(missing.sum())
    return values.mask(missing, fallback)


def _guess(schools, column, guess, default, defaults, label) -> pd.Series:
    current = schools[column] if column in schools else pd.Series(pd.NA, index=schools.index, dtype="object")
    guessed = schools["school_name"].map(guess)
    from_name = current.isna() & guessed.notna()
    defaults[f"{label} определён по названию"] += int(from_name.sum())
    result = current.where(~from_name, guessed)
    missing = result.isna()
    defaults[f"{label}: «{default}» по умолчанию"] += int(missing.sum())
    return result.fillna(default)


def _type_of(name) -> str | None:
    low = str(name).lower().replace("ё", "е")
    return next((t for t, pattern in TYPE_WORDS if re.search(pattern, low)), None)


def _settlement_of(name) -> str | None:
    text = str(name)
    if RURAL.search(text):
        return "село"
    if URBAN.search(text):
        return "город"
    return None


def _read_schools_file(path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"файл школ «{path}» не найден")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    frame.columns = [c.strip() for c in frame.columns]
    if "school_id" not in frame:
        raise InputError("нет обязательного столбца", file=str(path), column="school_id",
                         expected="school_id и любые из: school_name, municipality_id, municipality_name, "
                                  "settlement, school_type, students, social_index, shnsu, rcoi_code")
    known = [c.name for c in TABLES["schools"].columns] + ["rcoi_code"]
    return frame[[c for c in frame.columns if c in known]].drop_duplicates("school_id")


def _map_rcoi_codes(tables: dict, observed: list, given: pd.DataFrame | None) -> list:
    """РЦОИ «Код ОО» → ФИС ОКО login via the `rcoi_code` column of `--schools`, in `gia` and in the
    schools the protocols named; returns the observations with codes replaced."""
    if given is None or "rcoi_code" not in given or "gia" not in tables:
        return observed
    mapping = given.dropna(subset=["rcoi_code"]).set_index("rcoi_code")["school_id"].to_dict()
    tables["gia"]["school_id"] = tables["gia"]["school_id"].map(lambda s: mapping.get(s, s))
    return [{**o, "school_id": mapping.get(o["school_id"], o["school_id"])} for o in observed]


# ---- checks --------------------------------------------------------------------------------------
def check_against_aggregates(tables: dict) -> list:
    """Per-pupil ВПР vs ФИС ОКО «Статистика по отметкам» where both exist: share of each mark per
    school, agreement within 0.5 п.п. (the report rounds to 2 decimals)."""
    if "vpr" not in tables or "vpr_mark_stats" not in tables:
        return []
    vpr = tables["vpr"]
    present = vpr[~vpr["absent"].astype(bool) & vpr["mark"].notna()]
    if present.empty:
        return []
    keys = ["year", "wave", "subject", "grade", "school_id"]
    shares = (present.groupby(keys)["mark"].value_counts(normalize=True).mul(100).unstack(fill_value=0)
              .reindex(columns=[2, 3, 4, 5], fill_value=0).reset_index())
    stats = tables["vpr_mark_stats"]
    stats = stats[stats["group_level"] == "школа"].rename(columns={"group_id": "school_id"})
    both = shares.merge(stats, on=keys)
    if both.empty:
        return []
    diff = pd.concat([(both[m] - both[f"pct_{m}"]).abs() for m in (2, 3, 4, 5)], axis=1).max(axis=1)
    bad = int((diff > 0.5).sum())
    return [f"ВПР по участникам и «Статистика по отметкам» ФИС ОКО: сопоставлено {len(both)} школ×работ, "
            f"расхождений больше 0,5 п.п.: {bad}"]


# ---- writing -------------------------------------------------------------------------------------
def _check_target(out: Path) -> None:
    """Refuse to replace a folder that is not an earlier ingest result (or empty)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / REPORT_JSON).exists())):
        raise ParameterError(f"папка «{out}» уже существует и не является результатом shnor ingest: "
                             "укажите новую папку (её содержимое было бы заменено)")


def _write(tables: dict, out: Path, report: IngestReport, meth) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(prefix=f".{out.name}.", dir=out.parent)   # renamed into place: normal folder mode
    try:
        for name, frame in tables.items():
            _typed(frame, TABLES[name]).to_csv(tmp / f"{name}.csv", index=False)
        try:
            # the temporary folder is removed on failure: no list of errors is left in it
            ds = load_dataset(tmp, methodology=meth, errors_csv=False)
        except InputError as exc:
            exc.file = exc.file.replace(str(tmp), str(out)) if exc.file else exc.file
            raise InputError(f"собранный набор не прошёл проверку контракта: {exc.message}", file=exc.file,
                             row=exc.row, column=exc.column, expected=exc.expected, got=exc.got) from None
        report.tables = {n: f.rows for n, f in sorted(ds.files.items())}
        report.warnings.extend(ds.notes)
        report.written = True
        atomic_write_text(tmp / REPORT_JSON, report.to_json())
        atomic_write_text(tmp / REPORT_TEXT, report.to_text() + "\n")
        _replace_dir(tmp, out)
    except BaseException:
        report.written = False
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _typed(frame: pd.DataFrame, table) -> pd.DataFrame:
    """The contract's columns in its order, integers written without «.0»."""
    out = {}
    for col in table.columns:
        if col.name not in frame:
            continue
        values = frame[col.name]
        if col.type == "int":
            values = pd.to_numeric(values, errors="coerce").round().astype("Int64")
        elif col.type == "bool":
            values = values.astype("boolean")
        out[col.name] = values
    return pd.DataFrame(out)


def _replace_dir(tmp: Path, out: Path) -> None:
    """Put the finished folder in place: the old one is renamed away first, then removed."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.rename(out, old)
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
