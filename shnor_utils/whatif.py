"""What-if: the indicators recomputed under a changed methodology, compared with the current ones.

`shnor whatif PARAMS.yaml --set low_results_rule.share_failed=25 [--set …] [--methodology DIR]`
(cli.py) loads the parameter set's dataset once, computes the analyses that give the index flags
under the parameter set's methodology («до») and under the changed one («после»), and writes
`output/whatif/<name>.html` and `.xlsx`: which schools enter and leave the ШНОР and risk lists and
every other index flag, per year and municipality, and the counts before → after. No report is run.

The changed methodology is an overlay folder built in a temporary folder: the parameter set's own
overlay (or the `--methodology` folder, which replaces it) with the `--set` keys merged into its
thresholds.yaml (`{section: {key: {value: X, source: "what-if"}}}`), so the overlay machinery
checks it like any regional overlay.
"""
from __future__ import annotations

import difflib
import io
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from shnor_utils.analyses import ALL, compute_all
from shnor_utils.errors import ConfigError, ParameterError
from shnor_utils.indicators.registry import index_flags_of
from shnor_utils.methodology import PACKAGE_CONFIG, Methodology, load_methodology
from shnor_utils.methodology.overlay import read_yaml
from shnor_utils.reporting.html import esc
from shnor_utils.safeio import atomic_write_bytes, atomic_write_text, inside, neutral, safe_component
from shnor_utils.data.tables import records

SOURCE = "what-if (shnor whatif --set)"
ENTER, LEAVE = "появился", "снят"


# ---- --set KEY=VALUE -------------------------------------------------------------------------
def _threshold_keys(meth: Methodology) -> list[str]:
    return [f"{s}.{k}" for s, entries in meth.data.get("thresholds", {}).items() if isinstance(entries, dict)
            for k, e in entries.items() if isinstance(e, dict) and "value" in e]


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_value(key: str, text: str, current):
    """The value of `--set key=text` parsed as YAML and checked against the current value's type
    (a number for a number, an integer for a `min_*` count, 0–100 for a `share_*`/`*_pp` percent);
    ParameterError naming the key otherwise."""
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    if isinstance(value, str) and _is_number(current):
        value = _number(value.replace(",", "."))
    bad = f"--set {key}={text}: "
    if value is None:
        raise ParameterError(bad + f"не задано значение (сейчас {current!r})")
    if _is_number(current):
        if not _is_number(value) or not math.isfinite(value):
            raise ParameterError(bad + f"ожидается число, как в методике (сейчас {current})")
        name = key.rsplit(".", 1)[-1]
        if name.startswith("min_") and (value < 0 or float(value) != int(value)):
            raise ParameterError(bad + "ожидается целое неотрицательное число участников")
        if name.startswith("min_"):
            value = int(value)
        if (name.startswith("share_") or name.endswith("_pp")) and not 0 <= value <= 100:
            raise ParameterError(bad + "доля задаётся в процентах, от 0 до 100")
        return value
    if isinstance(current, bool) and not isinstance(value, bool):
        raise ParameterError(bad + "ожидается true или false")
    if isinstance(current, list) and not isinstance(value, list):
        raise ParameterError(bad + "ожидается список в квадратных скобках, как в методике")
    if isinstance(current, dict) and not isinstance(value, dict):
        raise ParameterError(bad + "ожидается словарь в фигурных скобках, как в методике")
    return value


def _number(text: str):
    try:
        f = float(text)
    except ValueError:
        return text
    return int(f) if f.is_integer() and "." not in text else f


def parse_sets(sets: list[str], meth: Methodology) -> dict:
    """{"section.key": value} of `--set` arguments, each checked against the thresholds of `meth`."""
    out: dict = {}
    known = _threshold_keys(meth)
    for item in sets or []:
        if "=" not in item:
            raise ParameterError(f"--set «{item}»: ожидается КЛЮЧ=ЗНАЧЕНИЕ, например low_results_rule.share_failed=25")
        key, text = (s.strip() for s in item.split("=", 1))
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"; возможно, «{close[0]}»" if close else ""
            raise ParameterError(f"--set {key}: такого параметра нет в методике (thresholds.yaml, ключ «раздел.параметр»){hint}")
        out[key] = check_value(key, text, meth.threshold(key))
    return out


def build_overlay(folder: Path, base: Path | None, sets: dict) -> Path:
    """An overlay folder in `folder`: a copy of the YAML files of `base` (a regional overlay, or
    none) with the `sets` keys merged into thresholds.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    if base is not None:
        if not Path(base).is_dir():
            raise ConfigError(f"Папка наложения методики «{base}» не найдена")
        for p in sorted(Path(base).iterdir()):
            if p.suffix.lower() in (".yaml", ".yml"):
                shutil.copy2(p, folder / p.name)
    if sets:
        path = folder / "thresholds.yaml"
        data = read_yaml(path) if path.exists() else {}
        for key, value in sets.items():
            section, name = key.split(".", 1)
            entry = data.setdefault(section, {}).setdefault(name, {})
            entry.update({"value": value, "source": SOURCE})
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


# ---- comparison ------------------------------------------------------------------------------
def flag_ids() -> tuple[str, ...]:
    """The 0/1 school indicators compared: the index flags of every analysis (ШНОР, школа риска, signs)."""
    return index_flags_of(ALL)


def flagged(indicators: pd.DataFrame, flags=None) -> pd.DataFrame:
    """(indicator_id, school_id, year) of the school rows of `flags` equal to 1, and `forecast`."""
    flags = flags or flag_ids()
    rows = indicators[(indicators["level"] == "school") & indicators["indicator_id"].isin(flags)
                      & (indicators["value"] == 1)]
    forecast = rows["flag"].astype("object").eq("forecast") if "flag" in rows else False
    return pd.DataFrame({"indicator_id": rows["indicator_id"].astype(str).to_numpy(),
                         "school_id": rows["entity_id"].astype(str).to_numpy(),
                         "year": rows["year"].astype("int64").to_numpy(),
                         "forecast": pd.Series(forecast, index=rows.index).fillna(False).astype(bool).to_numpy()}
                        ).drop_duplicates(["indicator_id", "school_id", "year"])


def compare(before: pd.DataFrame, after: pd.DataFrame, schools: pd.DataFrame, flags=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(changes, counts) of two indicator tables.

    changes: indicator_id, year, school_id, school_name, municipality_id, municipality_name,
    change («появился» / «снят»), forecast — one row per school whose flag differs.
    counts: indicator_id, year, before, after, entered, left — every flag × year present in either."""
    flags = tuple(flags or flag_ids())
    b, a = flagged(before, flags), flagged(after, flags)
    keys = ["indicator_id", "school_id", "year"]
    both = b.merge(a, on=keys, how="outer", suffixes=("_b", "_a"), indicator=True)
    both["forecast"] = both["forecast_b"].fillna(both["forecast_a"]).astype(bool)
    changed = both[both["_merge"] != "both"].copy()
    changed["change"] = changed["_merge"].map({"left_only": LEAVE, "right_only": ENTER}).astype(str)
    names = schools[["school_id", "school_name", "municipality_id", "municipality_name"]].astype({"school_id": str})
    changed = changed.merge(names, on="school_id", how="left")
    order = {f: i for i, f in enumerate(flags)}
    changed = changed.assign(_o=changed["indicator_id"].map(order)).sort_values(
        ["_o", "year", "change", "municipality_id", "school_id"], kind="stable")
    changes = changed[["indicator_id", "year", "school_id", "school_name", "municipality_id", "municipality_name",
                       "change", "forecast"]].reset_index(drop=True)
    cnt_b = b.groupby(["indicator_id", "year"]).size().rename("before")
    cnt_a = a.groupby(["indicator_id", "year"]).size().rename("after")
    moves = changed.groupby(["indicator_id", "year", "change"]).size().unstack("change")
    counts = pd.concat([cnt_b, cnt_a], axis=1)
    counts = counts.join(moves.reindex(columns=[ENTER, LEAVE]) if len(moves) else pd.DataFrame(columns=[ENTER, LEAVE]))
    counts = counts.fillna(0).astype("int64").rename(columns={ENTER: "entered", LEAVE: "left"}).reset_index()
    counts = counts.assign(_o=counts["indicator_id"].map(order)).sort_values(["_o", "year"]).drop(columns="_o")
    return changes, counts.reset_index(drop=True)


def by_municipality(changes: pd.DataFrame) -> pd.DataFrame:
    """indicator_id, year, municipality_id, municipality_name, entered, left."""
    cols = ["indicator_id", "year", "municipality_id", "municipality_name", "entered", "left"]
    if changes.empty:
        return pd.DataFrame(columns=cols)
    g = (changes.groupby(["indicator_id", "year", "municipality_id", "municipality_name", "change"], sort=False)
         .size().unstack("change").reindex(columns=[ENTER, LEAVE]).fillna(0).astype("int64")
         .rename(columns={ENTER: "entered", LEAVE: "left"}).reset_index())
    return g[cols]


def changed_parameters(before: Methodology, after: Methodology) -> pd.DataFrame:
    """параметр, было, стало, источник — the thresholds whose values differ, and the other overlay
    keys that differ (a `--methodology` folder may change more than thresholds)."""
    b = before.describe().set_index("параметр")
    a = after.describe().set_index("параметр")
    rows = []
    for key in a.index:
        old = b["значение"].get(key)
        new = a.at[key, "значение"]
        if old != new:
            rows.append({"параметр": key, "было": _text(old), "стало": _text(new), "источник": a.at[key, "источник"]})
    ob = {(o["file"], o["key"]): o for o in before.overrides if o["file"] != "thresholds"}
    for o in after.overrides:
        if o["file"] != "thresholds" and ob.get((o["file"], o["key"]), {}).get("value") != o["value"]:
            rows.append({"параметр": f"{o['file']}.yaml: {o['key']}", "было": "как в методике до изменения",
                         "стало": _text(o["value"]), "источник": o.get("source", "")})
    oa = {(o["file"], o["key"]) for o in after.overrides}
    for (file, key), o in ob.items():
        if (file, key) not in oa:
            rows.append({"параметр": f"{file}.yaml: {key}", "было": _text(o["value"]),
                         "стало": "как в методике по умолчанию", "источник": ""})
    return pd.DataFrame(rows, columns=["параметр", "было", "стало", "источник"])


def _text(v) -> str:
    if v is None:
        return "—"
    return str(v).replace(".", ",") if _is_number(v) else str(v)


@dataclass
class WhatIf:
    """The result of one what-if: the changed parameters, the changes and the counts."""
    name: str
    parameters: pd.DataFrame
    changes: pd.DataFrame
    counts: pd.DataFrame
    municipalities: pd.DataFrame = field(default_factory=pd.DataFrame)
    words: object = None
    region_name: str = "Регион"
    paths: list = field(default_factory=list)

    def summary(self) -> str:
        """One line per flag: «ШНОР: 19 → 40 (+21 / −0)» summed over years."""
        out = []
        tot = self.counts.groupby("indicator_id", sort=False)[["before", "after", "entered", "left"]].sum()
        for fid, r in tot.iterrows():
            out.append(f"{self.flag_name(fid)}: {r.before} → {r.after} (появились {r.entered}, сняты {r.left})")
        return "\n".join(out)

    def flag_name(self, fid: str) -> str:
        return self.words.short(fid) if self.words is not None else fid


def run(ds, before: Methodology, after: Methodology, name: str, *, region_name: str = "Регион") -> WhatIf:
    """Compute the analyses of the index flags under both methodologies and compare them."""
    only = [a.id for a in ALL if a.index_flags]
    ind_b = compute_all(ds, before, only=only)
    ind_a = compute_all(ds, after, only=only)
    changes, counts = compare(ind_b, ind_a, ds.schools)
    return WhatIf(name=name, parameters=changed_parameters(before, after), changes=changes, counts=counts,
                  municipalities=by_municipality(changes), words=after.words, region_name=region_name)


def after_methodology(base_overlay: Path | None, sets: list[str], overlay: Path | None, tmp: Path) -> Methodology:
    """The methodology after the change: `overlay` (else the parameter set's `base_overlay`) with the
    `--set` keys on top. The keys are checked against that methodology first."""
    start = Path(overlay) if overlay is not None else (Path(base_overlay) if base_overlay is not None else None)
    start_meth = load_methodology(start if start is not None else PACKAGE_CONFIG)
    parsed = parse_sets(sets, start_meth)
    if not parsed:
        return start_meth
    return Methodology(overlay=build_overlay(Path(tmp) / "overlay", start, parsed))


def default_name(sets: list[str], overlay: Path | None) -> str:
    """File name of a what-if: its keys and values («low_results_rule.share_failed_25»)."""
    parts = [s.replace("=", "_") for s in sets or []]
    if overlay is not None:
        parts.insert(0, Path(overlay).name)
    return safe_component("__".join(parts) or "whatif")


# ---- output ----------------------------------------------------------------------------------
STYLE = """<style>body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:1em}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7}.id{color:#888;font-size:0.85em}.meta{color:#555}.up{color:#b00}.down{color:#070}
.overrides{background:#fff7e0;border-left:4px solid #e0a000;padding:0.4em 0.8em}</style>"""


def _year(y, forecast) -> str:
    return f"{int(y)}" + (" (прогноз)" if forecast else "")


def frames(w: WhatIf) -> dict[str, pd.DataFrame]:
    """The Russian tables of a what-if (the HTML and the workbook show the same)."""
    forecast_years = set(w.changes.loc[w.changes["forecast"], "year"]) if len(w.changes) else set()
    counts = pd.DataFrame({
        "Показатель": [w.flag_name(f) for f in w.counts["indicator_id"]],
        "Год": w.counts["year"].astype(int), "До": w.counts["before"], "После": w.counts["after"],
        "Появились": w.counts["entered"], "Сняты": w.counts["left"]})
    ch = w.changes
    changes = pd.DataFrame({
        "Показатель": [w.flag_name(f) for f in ch["indicator_id"]],
        "Год": [_year(y, f) for y, f in zip(ch["year"], ch["forecast"])],
        "Изменение": ch["change"], "Школа": ch["school_name"], "Код": ch["school_id"],
        "Муниципалитет": ch["municipality_name"]})
    m = w.municipalities
    muns = pd.DataFrame({
        "Показатель": [w.flag_name(f) for f in m["indicator_id"]],
        "Год": [_year(y, y in forecast_years) for y in m["year"]],
        "Муниципалитет": m["municipality_name"], "Появились": m["entered"], "Сняты": m["left"]})
    params = w.parameters.rename(columns={"параметр": "Параметр", "было": "Было", "стало": "Стало",
                                          "источник": "Источник"})
    return {"Параметры": params, "Сводка": counts, "Школы": changes, "Муниципалитеты": muns}


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return '<p class="meta">Изменений нет.</p>'
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = []
    for row in records(frame):
        cells = []
        for c, v in zip(frame.columns, row):
            cls = ' class="up"' if v == ENTER else ' class="down"' if v == LEAVE else ""
            cells.append(f"<td{cls}>{esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_page(w: WhatIf) -> str:
    """The what-if page: changed parameters, counts before → after, schools, municipalities (escaped)."""
    f = frames(w)
    params = "; ".join(f"{r['Параметр']}: {r['Было']} → {r['Стало']}" for _, r in f["Параметры"].iterrows())
    parts = [f"<!doctype html><html lang='ru'><head><meta charset='utf-8'><title>Что если: {esc(w.name)}</title>{STYLE}</head><body>",
             f"<h1>Что если: {esc(w.region_name)}</h1>",
             f'<p class="overrides">Изменения методики: {esc(params) if params else "нет (методика та же)"}.</p>',
             '<p class="meta">Показатели пересчитаны по тем же данным; отчёты не выполнялись. «До» — методика набора '
             "параметров, «после» — с изменениями. Годы перечня ШНОР после последнего года данных — прогноз.</p>",
             "<h2>Сводка: число школ до и после</h2>", _table(f["Сводка"]),
             "<h2>Школы, у которых отметка появилась или снята</h2>", _table(f["Школы"]),
             "<h2>По муниципалитетам</h2>", _table(f["Муниципалитеты"]),
             "<h2>Изменённые параметры</h2>", _table(f["Параметры"]),
             "</body></html>"]
    return "\n".join(parts)


def _cell(v):
    """A workbook value: text that a spreadsheet would evaluate gets «'» (`safeio.neutral`, the rule
    of every other output); numpy scalars become plain numbers."""
    if isinstance(v, str):
        return neutral(v)
    if hasattr(v, "item"):   # numpy scalars
        return v.item()
    return v


def workbook_bytes(w: WhatIf) -> bytes:
    from openpyxl import Workbook   # only the workbook needs openpyxl
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in frames(w).items():
        ws = wb.create_sheet(name)
        ws.append(list(frame.columns))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None):
            ws.append([_cell(v) for v in row])
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write(w: WhatIf, output: Path) -> list[Path]:
    """`output/whatif/<name>.html` and `.xlsx` (atomic)."""
    folder = inside(output, "whatif")
    name = safe_component(w.name)
    html_path = atomic_write_text(folder / f"{name}.html", html_page(w))
    xlsx_path = atomic_write_bytes(folder / f"{name}.xlsx", workbook_bytes(w))
    w.paths = [html_path, xlsx_path]
    return w.paths


def whatif(ds, before: Methodology, base_overlay: Path | None, sets: list[str], overlay: Path | None,
           output: Path, *, name: str | None = None, region_name: str = "Регион") -> WhatIf:
    """The whole what-if: the changed methodology, the comparison and its two files. `ds` is the
    dataset or a function that loads it (called only once the change is checked: a bad key fails fast)."""
    if not sets and overlay is None:
        raise ParameterError("что изменить? Укажите --set КЛЮЧ=ЗНАЧЕНИЕ (можно несколько) или --methodology ПАПКА")
    with tempfile.TemporaryDirectory(prefix="shnor-whatif-") as tmp:
        after = after_methodology(base_overlay, sets, overlay, Path(tmp))
        ds = ds() if callable(ds) else ds
        result = run(ds, before, after, name or default_name(sets, overlay), region_name=region_name)
    write(result, Path(output))
    return result
