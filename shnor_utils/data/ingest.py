"""`shnor ingest FILES|FOLDERS… --out DATASET`: real files → one validated canonical dataset, atomically.

Pipeline: list the files (folders recursively; Excel lock files `~$…` and hidden files skipped with a
note) → open each workbook safely (`formats.workbook`) → recognise each sheet's layout by its text
(`formats.detect`: a new reader plugs in by adding its `Layout` there) → read it into canonical rows
(`formats.*`), each row keeping its source (file, sheet, row) → the POST-READ STEP (overrides, wave;
the school-directory crosswalk goes there) → combine the files (exact duplicates counted once,
conflicting ones quarantined; ГИА attempts) → ROW QUARANTINE: every row that breaks the contract
(`validation.validate_table`, the ВПР scale — with the maximum the file's own header gives) is set
aside into `rejected_rows.csv` and the rest goes on; a file that loses more than the methodology's
`ingest.yaml: quarantine_share` of its rows is rejected whole, with the likely cause → build
`schools` → write into a temporary folder beside DATASET → validate it with `dataset.load_dataset`
→ replace DATASET in one rename. `strict=True` (`--strict`) keeps all-or-nothing: any quarantined row
or rejected file and nothing is written. `ingest_report.json`, `ingest_report.html` (and .txt) are
written every time: into DATASET, or beside it (`DATASET.ingest_report.html`) when nothing was written.
Every message names the source file, sheet and row, never a file of the temporary folder.
The files and their layouts: docs/FILE_FORMATS.md; the command, the report and exit codes: docs/ingest.md.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shnor_utils.data.dataset import load_dataset
from shnor_utils.data.directory import apply_directory
from shnor_utils.errors import InputError, ParameterError
from shnor_utils.data.ingest_report import FileEntry, IngestReport
from shnor_utils.methodology import Methodology, load_methodology
from shnor_utils.data.formats import EXPECTED, detect
from shnor_utils.data.formats.common import (Q_DUPLICATE, Q_DUPLICATE_EXACT, Q_OVERRIDE, R_OVERFLOW, R_SHIFTED, Context,
                                             Extract, FileLog, ingest_setting)
from shnor_utils.data.pseudonym import load_secret
from shnor_utils.data.formats.workbook import open_workbook
from shnor_utils.data.validation import Failures, safe_text, validate_table
from shnor_utils.safeio import atomic_write_bytes, atomic_write_text, make_temp_dir, neutral_frame
from shnor_utils.data.schema import TABLES
from shnor_utils.data.tables import records

REPORT_JSON, REPORT_TEXT, REPORT_HTML = "ingest_report.json", "ingest_report.txt", "ingest_report.html"
REJECTED_ROWS = "rejected_rows.csv"
REJECTED_COLUMNS = ["file", "sheet", "row", "column", "rule", "raw"]
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
SOURCE = ["_file", "_sheet", "_row"]          # a canonical row's source: never written to the dataset
R_DUPLICATE = "повторная запись с другими данными (тот же ключ: год, предмет, класс, школа, код участника)"
R_NO_SCORE = "у присутствовавшего участника нет первичного балла"
R_SCALE = "первичный балл больше максимума шкалы ВПР"
# The likely cause of a file rejected for its share of quarantined rows, by the rule most of them broke
CAUSES = ((R_SCALE, "неверная шкала (максимум первичного балла) или файл другого предмета либо класса"),
          (R_OVERFLOW, "макет файла не совпадает с шапкой: строки сдвинуты или столбцы лишние"),
          (R_SHIFTED, "макет файла не совпадает с шапкой: строки сдвинуты или столбцы лишние"),
          (R_DUPLICATE, "в файле несколько работ под одним предметом (например, разные иностранные языки) "
                        "или повторная выгрузка с изменениями"))
OTHER_CAUSE = "неверный макет или неверные сведения о работе (год, предмет, класс)"
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
    exit_code: int          # 0 all read; 1 something rejected or quarantined (the rest written); 2 nothing written


def ingest(files, out, *, schools_file=None, secret_file=None, max_mb=None, wave: str | None = None,
           year: int | None = None, grade: int | None = None, strict: bool = False,
           methodology: Methodology | None = None, crosswalk_file=None) -> IngestResult:
    """Read `files` (workbooks or folders, searched recursively), write the canonical dataset to `out`
    (replacing an earlier ingest there). `year`, `grade`, `wave` override what the files say."""
    out = Path(out)
    meth = methodology or load_methodology()
    report = IngestReport(dataset=str(out), strict=strict)
    _check_target(out)
    secret = load_secret(secret_file)
    overrides = {k: v for k, v in (("year", year), ("grade", grade), ("wave", wave)) if v is not None}
    extracts = []
    try:
        for f in list_files(files, report):
            # one workbook at a time: its cells are dropped before the next one is opened
            item = _open(Path(f), max_mb, report)
            if item is None:
                continue
            if secret is None and any(layout.personal_data for _, layout in item[1]):
                raise ParameterError(f"файл «{f}» — протокол РЦОИ с ФИО участников, а секрета для псевдонимизации нет: "
                                     "укажите --secret-file ФАЙЛ или переменную окружения SHNOR_SECRET "
                                     "(не меньше 16 символов). Ничего не записано.")
            extract = _read(item, report.files[-1], meth, overrides, secret)
            del item
            if extract is not None:
                post_read(extract, report.files[-1], meth, overrides)
                extracts.append(extract)
        return _finish(extracts, out, report, meth, schools_file, strict, crosswalk_file)
    except (InputError, ParameterError) as exc:
        report.error = str(exc)
        _write_reports_beside(out, report)
        raise


def _finish(extracts, out, report, meth, schools_file, strict, crosswalk_file=None) -> IngestResult:
    if not extracts:
        report.error = "ни один файл не прочитан"
        _write_reports_beside(out, report)
        return IngestResult(report, 2)
    tables, log, rejected = combine(extracts)
    evidence = _scale_evidence(extracts, meth, report)
    tables, contract = quarantine_rows(tables, evidence)
    rejected += contract
    extracts = _account(extracts, tables, rejected, report, meth)
    tables = {n: f for n, f in tables.items() if len(f)}
    report.quarantined = len(rejected)
    if strict and (rejected or report.rejected):
        report.error = ("режим --strict: " + (f"строк в карантине: {len(rejected)}" if rejected else "")
                        + ("; " if rejected and report.rejected else "")
                        + (f"отклонено файлов: {len(report.rejected)}" if report.rejected else "")
                        + " — набор не записан (без --strict записались бы остальные строки)")
        _write_reports_beside(out, report, rejected)
        return IngestResult(report, 2)
    if not extracts or not any(n != "schools" for n in tables):
        report.error = "ни одной строки для набора: все файлы отклонены"
        _write_reports_beside(out, report, rejected)
        return IngestResult(report, 2)
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
        _write(tables, out, report, _WithEvidence(meth, evidence), rejected)
    except InputError as exc:
        report.error = str(exc)
        _write_reports_beside(out, report, rejected)
        return IngestResult(report, 2)
    school_dir.write(out)                     # school directory: crosswalk with its evidence
    return IngestResult(report, 1 if (report.rejected or rejected) else 0)


# ---- which files -----------------------------------------------------------------------------------
def list_files(paths, report: IngestReport) -> list[Path]:
    """The workbooks to read: files as given, folders searched recursively (in name order). Excel lock
    files (`~$…`), hidden files and folders (`.…`) and files that are not workbooks inside a folder are
    skipped, each with a note in the report (not counted as failures)."""
    found = []
    for given in paths:
        given = Path(given)
        if given.is_dir():
            for path in sorted(p for p in given.rglob("*") if p.is_file() or p.is_symlink()):
                rel = path.relative_to(given)
                reason = _skip_reason(rel, in_folder=True)
                if reason:
                    report.skipped.append({"file": str(path), "reason": reason})
                else:
                    found.append(path)
        else:
            reason = _skip_reason(Path(given.name), in_folder=False)
            if reason:
                report.skipped.append({"file": str(given), "reason": reason})
            else:
                found.append(given)
    if not found and not report.skipped and not paths:
        raise ParameterError("не указано ни одного файла или папки")
    return found


def _skip_reason(rel: Path, *, in_folder: bool) -> str | None:
    if rel.name.startswith("~$"):
        return "файл блокировки Excel («~$…»: книга открыта в Excel), пропущен"
    if any(part.startswith(".") for part in rel.parts):
        return "скрытый файл или папка, пропущен"
    if in_folder and rel.suffix.lower() not in EXCEL_SUFFIXES:
        return f"не книга Excel ({rel.suffix or 'без расширения'}), пропущен"
    return None


# ---- per file ------------------------------------------------------------------------------------
def _open(path: Path, max_mb, report: IngestReport):
    """(workbook, [(sheet, layout)]) of a recognised file, else None with the file marked rejected."""
    entry = FileEntry(file=str(path))
    report.files.append(entry)
    try:
        book = open_workbook(path, max_mb=max_mb)
        entry.format = book.kind
        found = [(s, detect(s)) for s in book.sheets]
        for sheet in book.sheets:
            if sheet.uncached:
                shown = ", ".join(sheet.uncached[:10])
                more = f" и ещё {sheet.uncached_count - 10}" if sheet.uncached_count > 10 else ""
                entry.warnings.append(
                    f"книга «{path}», лист «{sheet.name}»: в ячейках {shown}{more} формулы без сохранённого "
                    f"значения (всего {sheet.uncached_count}) — они прочитаны как пустые. Откройте книгу в Excel, "
                    "дайте ей пересчитаться и сохраните")
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
    except OSError as exc:      # unreadable (permissions, a vanished file): this file only, the others go on
        entry.status = "отклонён"
        entry.error = f"файл «{path}» не читается: {exc.strerror or type(exc).__name__}"
        return None


def _read(item, entry: FileEntry, meth, overrides: dict, secret) -> Extract | None:
    book, recognised = item
    log = FileLog()
    extract = Extract()
    ctx = Context(path=book.path, meth=meth, log=log, wave=overrides.get("wave", "весна"), secret=secret,
                  book=book, overrides=overrides)
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
    for frames in extract.tables.values():
        for frame in frames:
            frame["_file"] = str(book.path)
    extract.file = str(book.path)
    extract.quarantined = [{"file": str(book.path), **q} for q in ctx.quarantined]
    extract.log = log
    entry.rows = {t: extract.rows(t) for t in extract.tables}
    entry.quirks = dict(log.counts)
    entry.quirks[f"файл формата .{book.kind}"] = 1
    entry.warnings = entry.warnings + log.warnings
    entry.totals = {sid: {"compared": n, "differ": d} for sid, (n, d) in sorted(log.totals.items())}
    return extract


# ---- POST-READ STEP --------------------------------------------------------------------------------
def post_read(extract: Extract, entry: FileEntry, meth, overrides: dict) -> None:
    """What is applied to every file's rows after its reader, whatever the layout:
    1. `--year`, `--grade`, `--wave` (they win over the content, the name and the folders);
    2. the wave of years the methodology marks as autumn (ingest.yaml `vpr_autumn_years`: ВПР 2020
       was held in September–October 2020 on the previous grade's programme);
    3. THE SCHOOL DIRECTORY CROSSWALK goes here (ids across years, municipality names ↔ codes):
       `extract.tables` and `extract.schools` are the place to map ids, before the files are combined.
    """
    autumn = {int(y) for y in ingest_setting(meth, "vpr_autumn_years")}
    for name, frames in extract.tables.items():
        for frame in frames:
            for key in ("year", "grade"):
                if key in overrides and key in frame:
                    frame[key] = int(overrides[key])
                    extract.log.count(Q_OVERRIDE)
            if "wave" in frame:
                if "wave" in overrides:
                    frame["wave"] = overrides["wave"]
                elif "year" in frame and name.startswith("vpr"):
                    is_autumn = pd.to_numeric(frame["year"], errors="coerce").isin(autumn)
                    if is_autumn.any():
                        frame.loc[is_autumn, "wave"] = "осень"
                        note = (f"ВПР {', '.join(str(y) for y in sorted(autumn))}: волна «осень» (ingest.yaml "
                                "vpr_autumn_years) — работа по программе предыдущего класса; класс в наборе — класс работы")
                        if note not in entry.warnings:
                            entry.warnings.append(note)
    # (school directory crosswalk: not applied yet — see docs/ingest.md «Справочник школ»)


# ---- combining files -----------------------------------------------------------------------------
def combine(extracts: list) -> tuple[dict, FileLog, list]:
    """One frame per table, and the rows set aside. Repeated records (the same key): exact copies
    (the same work in two files, every value equal) are kept once and counted; copies that differ are
    all quarantined (which one is right cannot be told) — nothing is dropped silently.
    ГИА attempts are numbered by exam date within (year, exam, subject, level, pupil), across periods:
    a retake in the additional period is the pupil's second attempt (contract: 1 = first attempt)."""
    log = FileLog()
    tables, rejected = {}, [q for e in extracts for q in getattr(e, "quarantined", [])]
    names = {t for e in extracts for t in e.tables}
    for name in sorted(names):
        frame = pd.concat([f for e in extracts for f in e.tables.get(name, [])], ignore_index=True)
        if name == "gia":
            frame = _gia_attempts(frame, log)
        key = [k for k in TABLES[name].key if k in frame.columns]
        if key:
            frame, set_aside = _duplicates(frame, key, name, log)
            rejected += set_aside
        tables[name] = frame.reset_index(drop=True)
    if any(q.get("table") == "vpr" for q in rejected):
        _drop_orphan_tasks(tables)
    return tables, log, rejected


def _duplicates(frame: pd.DataFrame, key: list, name: str, log: FileLog) -> tuple[pd.DataFrame, list]:
    values = [c for c in frame.columns if not c.startswith("_")]
    repeated = frame.duplicated(key, keep=False)
    if not repeated.any():
        return frame, []
    exact = frame.duplicated(values, keep="first")
    log.count(f"{Q_DUPLICATE_EXACT} ({name})", int(exact.sum()))
    frame = frame[~exact]
    conflict = frame.duplicated(key, keep=False)
    set_aside = [{**_rejected_row(row, "participant_code" if "participant_code" in key else key[-1], R_DUPLICATE),
                  "table": name} for _, row in frame[conflict].iterrows()]
    log.count(f"{Q_DUPLICATE}: с другими данными, в карантин ({name})", int(conflict.sum()))
    return frame[~conflict], set_aside


def _drop_orphan_tasks(tables: dict) -> None:
    """vpr_tasks rows of a participant whose vpr row was set aside go with it."""
    if "vpr_tasks" not in tables or "vpr" not in tables:
        return
    key = ["year", "wave", "subject", "grade", "school_id", "participant_code"]
    kept = tables["vpr"][key].drop_duplicates()
    tasks = tables["vpr_tasks"].merge(kept.assign(_keep=True), on=key, how="left")
    tables["vpr_tasks"] = tasks[tasks["_keep"].eq(True)].drop(columns="_keep").reset_index(drop=True)


def _rejected_row(row: pd.Series, column, rule: str) -> dict:
    """One line of rejected_rows.csv from a canonical row: its source and its values (made safe)."""
    cells = [safe_text(v) or "" for k, v in row.items() if not str(k).startswith("_")]
    src = {k: row.get(k) for k in SOURCE}
    return {"file": src["_file"], "sheet": None if pd.isna(src["_sheet"]) else src["_sheet"],
            "row": None if pd.isna(src["_row"]) else int(src["_row"]), "column": column, "rule": rule,
            "raw": " | ".join(cells)}


# ---- row quarantine ------------------------------------------------------------------------------
def quarantine_rows(tables: dict, evidence: dict) -> tuple[dict, list]:
    """Every row that breaks the contract is set aside (with its source and the rule) and the rest is
    kept: the same checks `load_dataset` makes (types, ranges, categories, keys), a present ВПР
    participant without a score, and a primary score above the scale maximum — the file's own
    evidence (`evidence`) where it disagrees with the methodology."""
    rejected, vpr_removed = [], False
    for name, frame in list(tables.items()):
        for c in SOURCE:
            if c not in frame:
                frame[c] = None
        failures = Failures()
        typed = validate_table(frame.drop(columns=SOURCE), TABLES[name], file=Path(f"<{name}>"), row_offset=0,
                               failures=failures)
        bad = {}
        if len(failures):
            for f in records(failures.frame()):
                rule = f.rule + (f" (ожидалось: {f.expected})" if f.expected else "")
                bad.setdefault(int(f.row), (f.column, rule))
        if name == "vpr":
            for pos, item in _vpr_score_failures(typed, evidence).items():
                bad.setdefault(pos, item)
        if bad:
            for pos, (column, rule) in sorted(bad.items()):
                rejected.append(_rejected_row(frame.iloc[pos], column, rule))
            keep = np.ones(len(frame), dtype=bool)
            keep[list(bad)] = False
            frame = frame[keep].reset_index(drop=True)
            vpr_removed = vpr_removed or name == "vpr"
        tables[name] = frame
    if vpr_removed:
        _drop_orphan_tasks(tables)
    return tables, rejected


def _vpr_score_failures(vpr: pd.DataFrame, evidence: dict) -> dict:
    out = {}
    present = ~vpr["absent"].fillna(False).astype(bool)
    for pos in np.flatnonzero((present & vpr["primary_score"].isna()).to_numpy(dtype=bool)):
        out[int(pos)] = ("primary_score", R_NO_SCORE)
    for (year, subject, grade), idx in vpr.groupby(["year", "subject", "grade"]).groups.items():
        maximum = evidence.get((int(year), subject, int(grade)))
        if maximum is None:
            continue
        scores = vpr.loc[idx, "primary_score"]
        for pos in np.asarray(idx)[(scores > maximum).fillna(False).to_numpy(dtype=bool)]:
            out.setdefault(int(pos), ("primary_score", f"{R_SCALE} {year} «{subject}», {grade} класс "
                                                       f"(ожидалось: от 0 до {maximum}; найдено {scores.loc[pos]})"))
    return out


def _scale_evidence(extracts: list, meth, report: IngestReport) -> dict:
    """(year, subject, grade) → the scale maximum to validate with: the configured one, replaced by the
    sum of task maxima in a file's header where they disagree (listed in the report)."""
    keys = set()
    for e in extracts:
        frame = pd.concat(e.tables.get("vpr", []) or [pd.DataFrame(columns=["year", "subject", "grade"])])
        keys |= {(int(y), s, int(g)) for y, s, g in records(frame[["year", "subject", "grade"]].drop_duplicates())}
    evidence, proven, seen = {}, {}, []
    for key in keys:
        scale = meth.vpr_scale(*key)
        if scale is not None:
            evidence[key] = scale.max
    for e in extracts:
        for key, (total, parts, sheet) in e.log.maxima.items():
            scale = meth.vpr_scale(*key)
            configured = scale.max if scale is not None else None
            if configured != total:          # the file's header wins; two files that disagree: the larger
                proven[key] = max(total, proven.get(key, total))
            seen.append((e.file, sheet, key, configured, total, parts, scale.source if scale is not None else None))
    evidence.update(proven)
    report.scales.extend({"file": f, "sheet": sheet, "year": key[0], "subject": key[1], "grade": key[2],
                          "configured": configured, "file_max": total, "tasks": parts, "source": source,
                          "used": evidence[key]} for f, sheet, key, configured, total, parts, source in seen)
    return evidence


class _WithEvidence:
    """The methodology, with the ВПР scale maxima the files' headers proved (for the final check)."""

    def __init__(self, meth, evidence: dict):
        self._meth, self._evidence = meth, evidence

    def vpr_scale(self, year, subject, grade):
        scale = self._meth.vpr_scale(year, subject, grade)
        maximum = self._evidence.get((int(year), subject, int(grade)))
        if scale is None or maximum is None or maximum == scale.max:
            return scale
        return dataclasses.replace(scale, max=int(maximum))

    def __getattr__(self, name):
        return getattr(self._meth, name)


def _account(extracts: list, tables: dict, rejected: list, report: IngestReport, meth) -> list:
    """Per file: rows read, quarantined, duplicates, loaded; a file past the quarantine share is rejected
    whole (its rows leave the tables) with the likely cause. Returns the extracts still in."""
    share = float(ingest_setting(meth, "quarantine_share"))
    by_file = Counter(q["file"] for q in rejected)
    rules = {}
    for q in rejected:
        rules.setdefault(q["file"], Counter())[q["rule"]] += 1
    loaded = Counter()
    for name, frame in tables.items():
        if name != "vpr_tasks" and "_file" in frame:
            loaded.update(frame["_file"].value_counts().to_dict())
    entries = {f.file: f for f in report.files}
    kept = []
    for e in extracts:
        entry = entries[e.file]
        read = sum(n for t, n in entry.rows.items() if t != "vpr_tasks") + len(e.quarantined)
        entry.read, entry.quarantined = read, by_file.get(e.file, 0)
        entry.loaded = int(loaded.get(e.file, 0))
        entry.duplicates = max(read - entry.quarantined - entry.loaded, 0)
        if read and entry.quarantined / read * 100 > share:
            top = rules[e.file].most_common(1)[0][0]
            cause = next((c for r, c in CAUSES if top.startswith(r)), OTHER_CAUSE)
            entry.status = "отклонён"
            entry.error = (f"файл «{e.file}» отклонён целиком: в карантине {entry.quarantined} из {read} строк "
                           f"({_pct(entry.quarantined / read * 100)} %, допустимо {_pct(share)} %, ingest.yaml "
                           f"quarantine_share). Чаще всего: «{top}». Вероятная причина: {cause}")
            entry.loaded = 0
            for name, frame in tables.items():
                if "_file" in frame:
                    tables[name] = frame[frame["_file"] != e.file].reset_index(drop=True)
        else:
            kept.append(e)
    return kept


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


def _pct(value: float) -> str:
    """A share in Russian notation: 5.71 → «5,7», 5.0 → «5»."""
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")


def _write(tables: dict, out: Path, report: IngestReport, meth, rejected: list) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(prefix=f".{out.name}.", dir=out.parent)   # renamed into place: normal folder mode
    try:
        for name, frame in tables.items():
            _typed(frame, TABLES[name]).to_csv(tmp / f"{name}.csv", index=False)
        try:
            # the temporary folder is removed on failure: no list of errors is left in it
            ds = load_dataset(tmp, methodology=meth, errors_csv=False)
        except InputError as exc:
            raise InputError(f"собранный набор не прошёл проверку контракта: {_source_of(exc, tables, tmp)}") from None
        report.tables = {n: f.rows for n, f in sorted(ds.files.items())}
        report.warnings.extend(ds.notes)
        report.written = True
        report.report_path = str(out / REPORT_HTML)
        _write_reports(tmp, "", report, rejected)
        _replace_dir(tmp, out)
    except BaseException:
        report.written = False
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _source_of(exc: InputError, tables: dict, tmp: Path) -> str:
    """The message of a contract failure of the assembled dataset, naming the source file, sheet and row
    of the failing value instead of the temporary table (`vpr.csv, строка 24901` was never written)."""
    name = Path(exc.file).stem if exc.file else None
    if name in tables and exc.row and "_file" in tables[name]:
        pos = int(exc.row) - 2
        if 0 <= pos < len(tables[name]):
            src = tables[name].iloc[pos]
            where = InputError(exc.message, file=src["_file"], sheet=src.get("_sheet") if pd.notna(src.get("_sheet")) else None,
                               row=int(src["_row"]) if pd.notna(src.get("_row")) else None, column=exc.column,
                               expected=exc.expected, got=exc.got)
            return str(where)
    return str(exc).replace(str(tmp), f"набор «{name or 'данных'}»")


def _write_reports(folder: Path, prefix: str, report: IngestReport, rejected: list) -> None:
    """ingest_report.json/.html/.txt and (when some rows were set aside) rejected_rows.csv."""
    if rejected:
        frame = pd.DataFrame(rejected, columns=REJECTED_COLUMNS)
        path = atomic_write_bytes(folder / f"{prefix}{REJECTED_ROWS}",
                                  neutral_frame(frame).to_csv(index=False).encode("utf-8-sig"))
        report.rejected_rows = str(path if not report.written else Path(report.dataset) / path.name)
        report.rejected_sample = rejected[:20]
    atomic_write_text(folder / f"{prefix}{REPORT_JSON}", report.to_json())
    atomic_write_text(folder / f"{prefix}{REPORT_TEXT}", report.to_text() + "\n")
    atomic_write_text(folder / f"{prefix}{REPORT_HTML}", report.to_html())


def _write_reports_beside(out: Path, report: IngestReport, rejected: list | None = None) -> None:
    """Nothing was written: the reports go beside the dataset folder (`<name>.ingest_report.html`)."""
    report.written = False
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        report.report_path = str(out.parent / f"{out.name}.{REPORT_HTML}")
        _write_reports(out.parent, f"{out.name}.", report, rejected or [])
    except OSError as exc:
        report.warnings.append(f"отчёт о загрузке не записан рядом с «{out}»: {exc.strerror or exc}")


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
