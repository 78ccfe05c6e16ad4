"""The ingest report: what `shnor ingest` read, set aside, rejected, counted and assumed — as JSON for
machines, a short Russian text for the console and a readable HTML page for the analyst. It is written
every time, also when nothing could be written. It never contains a cell of personal data: readers
count quirks and name rows, errors of a protocol name the row, not the pupil, and the cells of a
quarantined row are made safe before they get here.

What comes first in the page is what needs a decision: files rejected, rows in quarantine, scale maxima
the files disagree with, and the share of pupils whose «Итого баллов» differs from the sum of their tasks
(per file and per school; which of the two was taken is the methodology's `ingest.yaml: total_rule`).
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

TOTALS_SHOWN = 20          # schools listed in the «Итого баллов» table of the page (the JSON has all)


@dataclass
class FileEntry:
    file: str
    status: str = "принят"                 # принят | отклонён
    format: str | None = None              # xlsx | xls
    sheets: dict = field(default_factory=dict)   # sheet → layout or «не распознан (пропущен)»
    rows: dict = field(default_factory=dict)     # table → rows read
    quirks: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    error: str | None = None
    read: int = 0                          # rows read (all tables but vpr_tasks; quarantined ones included)
    loaded: int = 0                        # rows in the dataset
    quarantined: int = 0                   # rows set aside into rejected_rows.csv
    duplicates: int = 0                    # exact copies of rows already loaded (kept once)
    totals: dict = field(default_factory=dict)   # school → {compared, differ}: «Итого баллов» vs task sum

    @property
    def totals_share(self) -> tuple[int, int]:
        compared = sum(v["compared"] for v in self.totals.values())
        return compared, sum(v["differ"] for v in self.totals.values())


@dataclass
class IngestReport:
    dataset: str
    started: str = field(default_factory=lambda: datetime.now().isoformat(timespec="seconds"))
    files: list = field(default_factory=list)
    tables: dict = field(default_factory=dict)
    quirks: dict = field(default_factory=dict)
    schools: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    written: bool = False
    error: str | None = None
    strict: bool = False
    skipped: list = field(default_factory=list)      # [{file, reason}]: lock files, hidden files, not workbooks
    scales: list = field(default_factory=list)       # scale maxima from the files' headers vs the methodology
    quarantined: int = 0
    rejected_rows: str | None = None                 # path of rejected_rows.csv
    rejected_sample: list = field(default_factory=list)
    report_path: str | None = None                   # where ingest_report.html is (beside the dataset on failure)

    @property
    def rejected(self) -> list:
        return [f for f in self.files if f.status != "принят"]

    def total_quirks(self) -> dict:
        total = Counter()
        for f in self.files:
            total.update(f.quirks)
        total.update(self.quirks)
        return dict(sorted(total.items()))

    def totals_by_school(self) -> list:
        """[(school, file, compared, differ, share %)], the largest share first."""
        rows = [(sid, f.file, v["compared"], v["differ"], v["differ"] / v["compared"] * 100)
                for f in self.files for sid, v in f.totals.items() if v["compared"]]
        return sorted(rows, key=lambda r: (-r[4], r[0]))

    def scale_disagreements(self) -> list:
        return [s for s in self.scales if s["configured"] != s["file_max"]]

    def to_json(self) -> str:
        data = {
            "dataset": self.dataset, "started": self.started, "written": self.written, "error": self.error,
            "strict": self.strict, "files": [{**vars(f), "totals_share": f.totals_share} for f in self.files],
            "skipped": self.skipped, "quarantined": self.quarantined, "rejected_rows": self.rejected_rows,
            "scales": self.scales, "tables": self.tables, "quirks": self.total_quirks(),
            "schools": self.schools, "checks": self.checks, "warnings": self.warnings,
        }
        return json.dumps(data, ensure_ascii=False, indent=2, default=str)

    # ---- text ---------------------------------------------------------------------------------------
    def headline(self) -> str:
        accepted = len(self.files) - len(self.rejected)
        return (f"Файлов: {len(self.files)}; принято: {accepted}; отклонено: {len(self.rejected)}; "
                f"пропущено: {len(self.skipped)}; строк в карантине: {self.quarantined}.")

    def to_text(self) -> str:
        lines = [f"Загрузка реальных файлов → {self.dataset}", self.headline()]
        for f in self.files:
            counts = f"прочитано {f.read}, загружено {f.loaded}, в карантине {f.quarantined}" + \
                (f", точных повторов {f.duplicates}" if f.duplicates else "")
            if f.status == "принят":
                layouts = sorted({v for v in f.sheets.values() if not v.startswith("не распознан")})
                mark = "✓" if not f.quarantined else "!"
                lines.append(f"  {mark} {f.file} ({f.format}): {'; '.join(layouts)} → {counts}")
            else:
                lines.append(f"  ✗ {f.file}: {f.error}" + (f" [{counts}]" if f.read else ""))
        for s in self.skipped:
            lines.append(f"  – {s['file']}: {s['reason']}")
        if self.rejected_rows:
            lines.append(f"Строки в карантине (не загружены): {self.quarantined} — список в {self.rejected_rows}")
        for s in self.scale_disagreements():
            lines.append(f"Шкала: ВПР {s['year']} «{s['subject']}», {s['grade']} класс — в методике максимум "
                         f"{s['configured']}, по шапке файла {s['file_max']} ({s['tasks']}); для проверки взят {s['used']}")
        for f in self.files:
            compared, differ = f.totals_share
            if differ:
                lines.append(f"«Итого баллов» ≠ сумме заданий: {f.file} — {differ} из {compared} "
                             f"({_pct(differ / compared * 100)} %)")
        if self.tables:
            lines.append("Таблицы набора: " + ", ".join(f"{t} — {n} строк" for t, n in sorted(self.tables.items())))
        quirks = self.total_quirks()
        if quirks:
            lines.append("Особенности данных (учтены):")
            lines.extend(f"  • {label}: {n}" for label, n in quirks.items())
        if self.schools:
            lines.append(f"Школ в наборе: {self.schools.get('total', 0)}.")
            for label, n in self.schools.get("defaults", {}).items():
                lines.append(f"  • {label}: {n}")
        for check in self.checks:
            lines.append(f"Сверка: {check}")
        warnings = self.warnings + [f"{f.file}: {w}" for f in self.files for w in f.warnings[:5]]
        if warnings:
            lines.append("Предупреждения:")
            lines.extend(f"  ! {w}" for w in warnings[:30])
            if len(warnings) > 30:
                lines.append(f"  … и ещё {len(warnings) - 30} (полный список — в ingest_report.json)")
        if self.error:
            lines.append(f"Набор данных НЕ записан: {self.error}")
        elif self.written:
            lines.append(f"Набор данных записан в {self.dataset} и проверен по контракту.")
        if self.report_path:
            lines.append(f"Отчёт о загрузке: {self.report_path}")
        return "\n".join(lines)

    # ---- HTML ---------------------------------------------------------------------------------------
    def to_html(self) -> str:
        e = escape
        if self.error:
            status = f'<p class="bad">Набор данных НЕ записан: {e(self.error)}</p>'
        elif self.rejected or self.quarantined:
            status = f'<p class="warn">Набор данных записан в {e(self.dataset)}, но не всё загружено (см. ниже).</p>'
        else:
            status = f'<p class="ok">Набор данных записан в {e(self.dataset)}: все файлы прочитаны.</p>'
        parts = [f"<h1>Загрузка реальных файлов → {e(self.dataset)}</h1>", status, f"<p>{e(self.headline())}</p>"]
        totals = [(f, *f.totals_share) for f in self.files if f.totals_share[1]]
        if totals:
            parts.append("<h2 class='warn'>«Итого баллов» не равно сумме баллов за задания</h2>")
            parts.append("<p>Какое из двух значений взято, задаёт методика (ingest.yaml, total_rule).</p>")
            parts.append(_table(["Файл", "Сравнено участников", "Расходится", "Доля, %"],
                                [[f.file, c, d, _pct(d / c * 100)] for f, c, d in totals]))
            by_school = [r for r in self.totals_by_school() if r[3]]
            parts.append(f"<h3>По школам (первые {TOTALS_SHOWN} по доле; все — в ingest_report.json)</h3>")
            parts.append(_table(["Школа", "Файл", "Сравнено", "Расходится", "Доля, %"],
                                [[s, f, c, d, _pct(p)] for s, f, c, d, p in by_school[:TOTALS_SHOWN]]))
        if self.scale_disagreements():
            parts.append("<h2 class='warn'>Максимум шкалы: файл и методика расходятся</h2>")
            parts.append(_table(["Файл", "Лист", "Работа", "В методике", "По шапке файла", "Взят", "Источник записи"],
                                [[s["file"], s["sheet"], f"ВПР {s['year']} «{s['subject']}», {s['grade']} класс",
                                  s["configured"], f"{s['file_max']} ({s['tasks']})", s["used"], s["source"] or ""]
                                 for s in self.scale_disagreements()]))
        parts.append("<h2>Файлы</h2>")
        parts.append(_table(["Файл", "Состояние", "Прочитано", "Загружено", "В карантине", "Точных повторов", "Примечание"],
                            [[f.file, f.status, f.read, f.loaded, f.quarantined, f.duplicates, f.error or ""]
                             for f in self.files]))
        if self.skipped:
            parts.append("<h2>Пропущены</h2>")
            parts.append(_table(["Файл", "Почему"], [[s["file"], s["reason"]] for s in self.skipped]))
        if self.quarantined:
            where = f" Полный список — {e(self.rejected_rows)}." if self.rejected_rows else ""
            parts.append(f"<h2 class='warn'>Строки в карантине: {self.quarantined}</h2><p>Эти строки не загружены.{where}</p>")
            parts.append(_table(["Файл", "Лист", "Строка", "Столбец", "Правило"],
                                [[q["file"], q["sheet"] or "", q["row"] or "", q["column"] or "", q["rule"]]
                                 for q in self.rejected_sample]))
        if self.tables:
            parts.append("<h2>Таблицы набора</h2>")
            parts.append(_table(["Таблица", "Строк"], [[t, n] for t, n in sorted(self.tables.items())]))
        quirks = self.total_quirks()
        if quirks:
            parts.append("<h2>Особенности данных (учтены)</h2>")
            parts.append(_table(["Что", "Сколько"], [[k, v] for k, v in quirks.items()]))
        if self.schools:
            parts.append(f"<h2>Школы: {self.schools.get('total', 0)}</h2>")
            parts.append(_table(["Подстановка", "Школ"], [[k, v] for k, v in self.schools.get("defaults", {}).items()]))
        warnings = self.warnings + [f"{f.file}: {w}" for f in self.files for w in f.warnings]
        if warnings or self.checks:
            parts.append("<h2>Сверки и предупреждения</h2><ul>")
            parts.extend(f"<li>{e(w)}</li>" for w in self.checks + warnings[:200])
            parts.append("</ul>")
        style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
                 "margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
                 ".bad{color:#a00;font-weight:bold}.warn{color:#a60}.ok{color:#070}")
        return ("<!DOCTYPE html><html lang='ru'><head><meta charset='utf-8'><title>Отчёт о загрузке</title>"
                f"<style>{style}</style></head><body>" + "\n".join(parts) + "</body></html>")


def _pct(value: float) -> str:
    """A share in Russian notation with one decimal: 50.0 → «50,0»."""
    return f"{value:.1f}".replace(".", ",")


def _table(head: list, rows: list) -> str:
    cells = "".join(f"<th>{escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"
