"""The ingest report: what `shnor ingest` read, rejected, counted and assumed — as JSON for machines
and as a short Russian text for the analyst. It never contains a cell of personal data: readers
count quirks and name rows, and errors of a protocol name the row, not the pupil."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class FileEntry:
    file: str
    status: str = "принят"                 # принят | отклонён
    format: str | None = None              # xlsx | xls
    sheets: dict = field(default_factory=dict)   # sheet → layout or «не распознан (пропущен)»
    rows: dict = field(default_factory=dict)     # table → rows
    quirks: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    error: str | None = None


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

    @property
    def rejected(self) -> list:
        return [f for f in self.files if f.status != "принят"]

    def total_quirks(self) -> dict:
        total = Counter()
        for f in self.files:
            total.update(f.quirks)
        total.update(self.quirks)
        return dict(sorted(total.items()))

    def to_json(self) -> str:
        data = {
            "dataset": self.dataset, "started": self.started, "written": self.written, "error": self.error,
            "files": [vars(f) for f in self.files], "tables": self.tables, "quirks": self.total_quirks(),
            "schools": self.schools, "checks": self.checks, "warnings": self.warnings,
        }
        return json.dumps(data, ensure_ascii=False, indent=2, default=str)

    def to_text(self) -> str:
        accepted = len(self.files) - len(self.rejected)
        lines = [f"Загрузка реальных файлов → {self.dataset}",
                 f"Файлов: {len(self.files)}; принято: {accepted}; отклонено: {len(self.rejected)}."]
        for f in self.files:
            if f.status == "принят":
                layouts = sorted({v for v in f.sheets.values() if not v.startswith("не распознан")})
                rows = ", ".join(f"{t} {n}" for t, n in sorted(f.rows.items()))
                lines.append(f"  ✓ {f.file} ({f.format}): {'; '.join(layouts)} → {rows or 'строк нет'}")
            else:
                lines.append(f"  ✗ {f.file}: {f.error}")
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
        return "\n".join(lines)
