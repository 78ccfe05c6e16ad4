"""`output/changes.html`: what changed — against last year and against the previous batch run.

- Against last year (the batch year and the one before, from the indicator table): school flags that
  appeared or were cleared by kind (the ШНОР and risk lists are flags too), per municipality, with
  links to the schools' reports; the region's and the municipalities' significant changes (dynamics
  rows the significance rule classed «positive» / «negative»).
- Against the previous batch run of this parameter set: which reports' numbers changed and how. Each
  batch keeps the indicator values its reports show (the sidecars' rows, after privacy suppression) in
  `output/.state/changes/current.parquet`; when a batch's values differ from the kept ones, those
  become `previous.parquet`. So `shnor index` or a no-change re-run shows the same comparison again.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import os
from pathlib import Path

import pandas as pd

from shnor_utils.analyses import ALL
from shnor_utils.batch.nav import CHANGES_PAGE
from shnor_utils.batch.publish import report_year
from shnor_utils.indicators.registry import index_flags_of
from shnor_utils.indicators.privacy import suppress
from shnor_utils.reporting.changes import APPEARED, CLEARED, change_label, flag_moves, significant
from shnor_utils.reporting.html import esc, fmt_num, natural_key, plural
from shnor_utils.safeio import atomic_write_bytes, atomic_write_text

KEYS = ["level", "entity_id", "year", "indicator_id", "subject", "grade", "exam"]
VALUES = ["value", "denominator", "flag"]
LISTED = 8   # changed values named per report

STYLE = """<style>body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1em}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7}.meta{color:#555}.up{color:#1a7f37}.down{color:#b00}
@media (max-width:600px){table{display:block;overflow-x:auto}}</style>"""


# ---- the kept snapshot -------------------------------------------------------------------------
def snapshot_of(indicators: pd.DataFrame, runs: list) -> pd.DataFrame:
    """The values the batch's reports show: the rows of the runs' entities, keys as text."""
    entities = pd.MultiIndex.from_tuples(sorted({(r.scope, str(r.entity_id)) for r in runs}))
    keys = pd.MultiIndex.from_arrays([indicators["level"].astype(str), indicators["entity_id"].astype(str)])
    rows = indicators[keys.isin(entities)] if len(entities) else indicators.iloc[0:0]

    def text(col: str):
        return rows[col].astype("string").fillna("").astype(str).to_numpy()

    out = pd.DataFrame({k: text(k) for k in KEYS if k != "year"})
    out.insert(2, "year", rows["year"].astype("Int64").to_numpy())
    out["value"] = pd.to_numeric(rows["value"], errors="coerce").astype("float64").to_numpy()
    out["denominator"] = pd.to_numeric(rows["denominator"], errors="coerce").astype("float64").to_numpy()
    out["flag"] = text("flag")
    return out.reset_index(drop=True)


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    atomic_write_bytes(path, buf.getvalue())


def keep_snapshot(folder: Path, current: pd.DataFrame, params: str) -> tuple[pd.DataFrame | None, dict]:
    """Store `current` as the kept values; return the previous run's values (None on a first run or
    another parameter set) and the snapshot's record {params, previous_at, current_at}."""
    folder = Path(folder)
    meta_path, cur_path, prev_path = folder / "snapshot.json", folder / "current.parquet", folder / "previous.parquet"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        meta = {}
    if meta.get("params") != params or not cur_path.exists():
        meta = {"params": params}
        prev_path.unlink(missing_ok=True)
        kept = None
    else:
        kept = pd.read_parquet(cur_path)
    now = _dt.datetime.now().isoformat(timespec="seconds")
    if kept is not None and _same(kept, current):
        pass                                   # the same values again: the comparison stays
    else:
        if kept is not None:
            os.replace(cur_path, prev_path)
            meta["previous_at"] = meta.get("current_at")
        _to_parquet(current, cur_path)
        meta["current_at"] = now
    atomic_write_text(meta_path, json.dumps(meta, ensure_ascii=False))
    previous = pd.read_parquet(prev_path) if prev_path.exists() else None
    return previous, meta


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return len(a) == len(b) and diff_values(a, b).empty


def diff_values(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """KEYS + value_before/after, denominator_before/after, flag_before/after of every row whose value,
    n or flag differs (a row only in one of the two has NaN on the other side)."""
    b = before.astype({"year": "Int64"})
    a = after.astype({"year": "Int64"})
    m = b.merge(a, on=KEYS, how="outer", suffixes=("_before", "_after"))

    def differ(col: str, tol: float | None) -> pd.Series:
        x, y = m[f"{col}_before"], m[f"{col}_after"]
        if tol is None:
            return x.fillna("\0").astype(str) != y.fillna("\0").astype(str)
        both_na = x.isna() & y.isna()
        return ~both_na & ~((x - y).abs() <= tol).fillna(False)

    changed = differ("value", 1e-9) | differ("denominator", 1e-9) | differ("flag", None)
    return m[changed].reset_index(drop=True)


# ---- the page --------------------------------------------------------------------------------
def write_changes(output: Path, *, title: str, region_name: str, runs: list, schools: pd.DataFrame,
                  indicators: pd.DataFrame, meth, year: int | None, flags, params: str,
                  shown: pd.DataFrame | None = None) -> Path:
    """Write `output/changes.html` (and keep this batch's values for the next one). `indicators` is the
    computed table (suppressed here, as every report shows it, unless the batch passes it suppressed
    as `shown`); `flags` the index flags."""
    output = Path(output)
    shown = suppress(indicators, meth) if shown is None else shown
    previous, meta = keep_snapshot(output / ".state" / "changes", snapshot_of(shown, runs), params)
    current = pd.read_parquet(output / ".state" / "changes" / "current.parquet")
    page = Page(output, runs, schools, meth)
    parts = [f"<h1>Что изменилось — {esc(title)}</h1>",
             f'<p class="meta">{esc(region_name)} · сформировано {_dt.datetime.now():%d.%m.%Y %H:%M} · '
             f'<a href="index.html">← Оглавление</a></p>']
    parts += page.last_year(shown, year, flags)
    parts += page.last_run(previous, current, meta)
    html = (f'<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Что изменилось — {esc(title)}</title>{STYLE}</head><body>{''.join(parts)}</body></html>")
    return atomic_write_text(output / CHANGES_PAGE, html)


class Page:
    """The digest's sections; links go to the batch's own report paths (`Run.html`)."""

    def __init__(self, output: Path, runs: list, schools: pd.DataFrame, meth):
        self.output, self.meth = Path(output), meth
        self.by_entity: dict = {}
        for r in runs:
            self.by_entity.setdefault((r.scope, str(r.entity_id)), []).append(r)
        s = schools.astype({"school_id": str}).set_index("school_id")
        self.school_name, self.school_mun = s["school_name"].to_dict(), s["municipality_name"].to_dict()
        m = schools.drop_duplicates("municipality_id")
        self.mun_name = dict(zip(m["municipality_id"].astype(str), m["municipality_name"]))

    def link(self, scope: str, entity_id: str, text: str) -> str:
        runs = self.by_entity.get((scope, str(entity_id)))
        if not runs:
            return esc(text)
        return f'<a href="{esc(runs[0].html.relative_to(self.output).as_posix())}">{esc(text)}</a>'

    def reports_of(self, scope: str, entity_id: str) -> str:
        return " · ".join(f'<a href="{esc(r.html.relative_to(self.output).as_posix())}">{esc(r.title)}</a>'
                          for r in self.by_entity.get((scope, str(entity_id)), []))

    def last_year(self, shown: pd.DataFrame, year: int | None, flags) -> list[str]:
        if year is None or not (shown["year"] == year - 1).any():
            return ["<h2>По сравнению с прошлым годом</h2>",
                    f"<p>Данных за {year - 1 if year else 'прошлый'} г. нет — сравнивать не с чем.</p>"]
        out = [f"<h2>По сравнению с {year - 1} г. (флаги {year} г.)</h2>"]
        moves = flag_moves(shown, list(flags), year)
        if moves.empty:
            out.append("<p>Флаги школ те же, что год назад.</p>")
        else:
            rows = []
            for flag in flags:
                for change in (APPEARED, CLEARED):
                    ids = moves.loc[(moves["indicator_id"] == flag) & (moves["change"] == change), "school_id"].tolist()
                    if not ids:
                        continue
                    ids.sort(key=lambda i: (natural_key(self.school_mun.get(i, "")), natural_key(self.school_name.get(i, i))))
                    names = "; ".join(f"{self.link('school', i, self.school_name.get(i, i))} "
                                      f"<span class=\"meta\">({esc(self.school_mun.get(i, ''))})</span>" for i in ids)
                    word = "появился" if change == APPEARED else "снят"
                    rows.append(f"<tr><td>{esc(self.meth.words.short(flag))}</td><td class=\"{'down' if change == APPEARED else 'up'}\">"
                                f"{word}</td><td>{len(ids)}</td><td>{names}</td></tr>")
            out.append("<table><thead><tr><th>Флаг</th><th>Изменение</th><th>Школ</th><th>Школы</th></tr></thead>"
                       f"<tbody>{''.join(rows)}</tbody></table>")
        sig = pd.concat([significant(shown, year, "region", ["region"]),
                         significant(shown, year, "municipality", list(self.mun_name))], ignore_index=True)
        out.append("<h3>Существенные изменения показателей</h3>")
        if sig.empty:
            out.append("<p>Существенных изменений нет (изменения в пределах допуска или случайных колебаний).</p>")
            return out
        rows = []
        for (entity, flag), part in sig.groupby(["entity_id", "flag"], sort=False):
            scope = "region" if entity == "region" else "municipality"
            who = self.link(scope, entity, "Регион" if scope == "region" else self.mun_name.get(entity, entity))
            labels = "; ".join(esc(change_label(self.meth, r)) for _, r in part.iterrows())
            word = "улучшение" if flag == "positive" else "ухудшение"
            rows.append((0 if scope == "region" else 1, natural_key(self.mun_name.get(entity, "")), flag,
                         f"<tr><td>{who}</td><td class=\"{'up' if flag == 'positive' else 'down'}\">{word}</td>"
                         f"<td>{len(part)}</td><td>{labels}</td></tr>"))
        rows.sort(key=lambda r: r[:3])
        out.append("<table><thead><tr><th>Где</th><th>Изменение</th><th>Показателей</th><th>Какие</th></tr></thead>"
                   f"<tbody>{''.join(r[3] for r in rows)}</tbody></table>")
        return out

    def last_run(self, previous: pd.DataFrame | None, current: pd.DataFrame, meta: dict) -> list[str]:
        out = ["<h2>По сравнению с предыдущим прогоном</h2>"]
        if previous is None:
            out.append("<p>Предыдущего прогона этого набора параметров с другими числами нет — сравнивать не с чем.</p>")
            return out
        when = meta.get("previous_at", "")
        out.append(f"<p class=\"meta\">Предыдущий прогон с другими числами: {esc(when.replace('T', ' '))}; "
                   f"этот: {esc(meta.get('current_at', '').replace('T', ' '))}.</p>")
        diff = diff_values(previous, current)
        if diff.empty:
            out.append("<p>Числа отчётов не изменились.</p>")
            return out
        rows = []
        for (level, entity), part in diff.groupby(["level", "entity_id"], sort=False):
            if level == "school":
                who, order = f"{self.school_name.get(entity, entity)} ({self.school_mun.get(entity, '')})", 2
            elif level == "municipality":
                who, order = self.mun_name.get(entity, entity), 1
            else:
                who, order = "Регион", 0
            items = [esc(self._value_change(r)) for _, r in part.head(LISTED).iterrows()]
            more = f"; и ещё {len(part) - LISTED}" if len(part) > LISTED else ""
            rows.append((order, natural_key(who), f"<tr><td>{esc(who)}</td><td>{self.reports_of(level, entity)}</td>"
                         f"<td>{len(part)}</td><td>{'; '.join(items)}{more}</td></tr>"))
        rows.sort(key=lambda r: r[:2])
        n = len(rows)
        out.append(f"<p>Числа изменились в отчётах {n} {plural(n, 'объекта', 'объектов', 'объектов')} "
                   "(школ, муниципалитетов, региона).</p>")
        out.append("<table><thead><tr><th>Кто</th><th>Отчёты</th><th>Значений</th><th>Что изменилось (было → стало)</th></tr>"
                   f"</thead><tbody>{''.join(r[2] for r in rows)}</tbody></table>")
        return out

    def _value_change(self, r) -> str:
        name = self.meth.words.name(r["indicator_id"])
        parts = [p for p in (r["exam"], r["subject"]) if isinstance(p, str) and p]
        if r["grade"]:
            parts.append(f"{r['grade'].split('.')[0]} класс")
        where = f" ({', '.join(parts)})" if parts else ""
        year = f", {int(r['year'])} г." if pd.notna(r["year"]) else ""

        unit = self.meth.words.catalogue(r["indicator_id"]).get("unit")

        def val(v, n) -> str:
            if pd.isna(v):
                return "нет"
            text = fmt_num(v, 1) + ("\u00a0%" if unit == "%" else "")
            return text + (f" (n = {fmt_num(n, 0)})" if pd.notna(n) else "")
        return f"{name}{where}{year}: {val(r['value_before'], r['denominator_before'])} → {val(r['value_after'], r['denominator_after'])}"


def publish_changes(cfg, runs: list, schools: pd.DataFrame, indicators: pd.DataFrame, meth, analyses=ALL, *,
                    shown: pd.DataFrame | None = None, year: int | None = None) -> Path:
    """The digest of a batch (runner.py calls it before the index, which then links it); `year`: the
    batch year when the caller has it (`report_year` of the computed table)."""
    return write_changes(cfg.output, title=cfg.title, region_name=cfg.region_name, runs=runs, schools=schools,
                         indicators=indicators, meth=meth, year=report_year(cfg, indicators) if year is None else year,
                         flags=index_flags_of(analyses), params=str(Path(cfg.path).resolve()), shown=shown)
