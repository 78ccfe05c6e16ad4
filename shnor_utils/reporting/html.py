"""HTML pieces every report shares: escaping, Russian number formats, «На что обратить внимание»
items (`Finding`), the report stylesheet and display. Every string from data goes through `esc()`:
a school named `<script>` is shown as text."""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

import pandas as pd

from shnor_utils.methodology import Methodology


HIDDEN = "скрыто"   # a table cell of a group too small to show (indicators/privacy.py, METHODOLOGY.md §0)


def esc(value) -> str:
    """HTML-escape a value from data."""
    return html.escape("" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value))


def fmt_pct(value, digits: int = 1) -> str:
    """45.25 → «45,3 %»; missing → «—»."""
    if value is None or pd.isna(value):
        return "—"
    return f"{value:.{digits}f}".replace(".", ",").replace("-", MINUS) + NBSP + "%"


def fmt_num(value, digits: int = 1) -> str:
    if value is None or pd.isna(value):
        return "—"
    if float(value).is_integer() and digits == 0:
        return f"{int(value):,}".replace(",", " ")
    return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",")


def ci_level(z: float) -> str:
    """Confidence level of a two-sided interval x̄ ± z·s, as prose prints it: 1.96 → «95», 2.576 → «99»."""
    return fmt_num(100 * math.erf(float(z) / math.sqrt(2)), 0)


def threshold_text(meth: Methodology, path: str) -> str:
    """A threshold of the methodology as prose prints it: 30 → «30», 1.5 → «1,5» (meth.words' format)."""
    return meth.words.format("{" + path + "}")


def plural(n, one: str, few: str, many: str) -> str:
    """Russian noun form after an integer: plural(1, "балл", "балла", "баллов") → «балл», 2 → «балла», 5 → «баллов»."""
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


FINDING_LISTED = 10   # names a finding lists before «и ещё N» (a region of 1,000 schools flags ~90 of them)


def listed(items, more: str, limit: int | None = None, sep: str = "; ") -> str:
    """The items joined; beyond `limit` of them (FINDING_LISTED), the first `limit` and «и ещё N — <more>»,
    where `more` says where the reader finds them all (a finding is a sentence, not the list)."""
    items = list(items)
    limit = FINDING_LISTED if limit is None else limit
    if len(items) <= limit:
        return sep.join(items)
    return sep.join(items[:limit]) + f"{sep}и ещё {len(items) - limit} — {more}"


def natural_key(values):
    """Sort key of names with numbers in them: «СОШ № 3» before «СОШ № 12» (works on a value or a Series)."""
    def key(text) -> tuple:
        parts = re.split(r"(\d+)", str(text).casefold())
        return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")
    if isinstance(values, pd.Series):
        return values.map(key)
    return key(values)


_SEED = re.compile(r"\bseeds? (\d{3})((?:\s*[/,и]\s*\d{3})*)")
_FILE = r"[\w./-]+\.(?:md|yaml|yml|csv|py|ipynb|json)(?:\s*§\s*[\d.]+)?"
_FILE_IN_PARENS = re.compile(r"\s*\((?:[^()]*?;\s*)?" + _FILE + r"(?:[;,][^()]*)?\)")
_FILE_BARE = re.compile(r"(?:,\s*|;\s*)?\b" + _FILE)
_KEYS = {"official_shnor": "официальный перечень ШНОР"}


def plain(meth: Methodology | None, text: str) -> str:
    """Text as a reader sees it: «seed 001» → the document's name (`documents.names` of the methodology),
    file names and section marks («data_formats.md §5.1», «config/indicators.yaml») left out, table keys
    in words. Provenance (files, digests, parameters) belongs to the «Сведения о расчёте» block."""
    if not text:
        return text
    names = {}
    if meth is not None:
        try:
            names = meth.threshold("documents.names") or {}
        except Exception:   # a methodology without the section prints the seeds as they are
            names = {}

    def seed(m: re.Match) -> str:
        codes = [m.group(1), *re.findall(r"\d{3}", m.group(2) or "")]
        return "; ".join(names.get(f"seed {c}", f"программа-образец {c}") for c in codes)

    out = _SEED.sub(seed, str(text))
    out = _FILE_IN_PARENS.sub("", out)
    out = _FILE_BARE.sub("", out)
    for key, word in _KEYS.items():
        out = out.replace(key, word)
    out = re.sub(r"\(\s*\)", "", re.sub(r"\s{2,}", " ", out))
    out = re.sub(r"(?:^|[\s(;,])см\.\s*(?=$|[);,])", "", out)
    return out.strip(" ;,")


@dataclass
class Finding:
    """One line of «На что обратить внимание»: what, by which rule, from which source."""
    text: str
    rule: str = ""
    source: str = ""
    severity: str = "info"   # info | warning | flag

    def basis(self) -> str:
        """«Правило: …; источник: …» (empty without either)."""
        if not (self.rule or self.source):
            return ""
        return f"Правило: {self.rule}" + (f"; источник: {self.source}" if self.source else "")

    def html(self, note: int | str | None = None) -> str:
        """The list item; with `note` («1» or «1,2»), the rule and source are numbered notes (shown
        under the list) and the item carries only their numbers."""
        icon = {"flag": "⚠", "warning": "•", "info": "ℹ"}.get(self.severity, "•")
        extra = ""
        if note is not None:
            extra = f'<sup class="shnor-noteref">{note}</sup>'
        elif self.basis():
            extra = f'<div class="shnor-rule">{esc(self.basis())}</div>'
        return f'<li class="shnor-{self.severity}"><span>{icon}</span> {esc(self.text)}{extra}</li>'




def small_groups_finding(meth: Methodology, count: int, what: str, counted: str = "участников") -> "Finding | None":
    """«По N <what> меньше min_n <counted>: значения показаны, выводы не делаются» (small_groups.min_for_share)."""
    if not count:
        return None
    min_n = meth.threshold("small_groups.min_for_share")
    return Finding(f"По {count} {what} меньше {min_n} {counted}: значения показаны, выводы по ним не делаются.",
                   rule=f"малые группы: < {min_n} участников", source=meth.source("small_groups.min_for_share"))


NBSP, MINUS = "\u00a0", "\u2212"
_TAG_OR_STYLE = re.compile(r"(<style.*?</style>|<[^>]*>)", re.S)
_PCT = re.compile(r"(?<=\d) %")
_NEG = re.compile(r"(?:(?<=^)|(?<=[\s(«=≈]))-(?=\d)")


def typeset(markup: str) -> str:
    """Russian typography in the visible text of `markup` (tags and style sheets untouched): a non-breaking
    space before «%» after a number, and the minus sign «−» instead of a hyphen before a number."""
    parts = _TAG_OR_STYLE.split(markup)
    for i in range(0, len(parts), 2):            # even items are text between tags
        parts[i] = _NEG.sub(MINUS, _PCT.sub(NBSP + "%", parts[i]))
    return "".join(parts)


def display_html(markup: str) -> None:
    markup = typeset(markup)
    try:
        from IPython.display import HTML, display
        display(HTML(markup))
    except ImportError:  # plain Python: print the markup
        print(markup)


STYLE = """<style>
.shnor-title h1{margin-bottom:0.2em} .shnor-sub{color:#555;margin-top:0}
.shnor-table{border-collapse:collapse;font-size:0.92em;margin:0.4em 0 1em}
.shnor-table th{background:#eef2f7;text-align:left !important;padding:4px 8px;border-bottom:2px solid #aab;vertical-align:bottom}
.shnor-table td{padding:3px 8px;border-bottom:1px solid #dde;text-align:left !important} .shnor-table td.num{text-align:right !important;white-space:nowrap} .shnor-table th.num{text-align:right !important}
.shnor-caption{font-weight:bold;margin:0.8em 0 0.2em}
.shnor-attention{border-left:4px solid #d95f02;background:#fff7ef;padding:0.5em 1em;margin:0.5em 0 1em}
.shnor-attention ul{margin:0.3em 0;padding-left:1em;list-style:none}
.shnor-attention li{margin:0.35em 0} .shnor-rule{color:#666;font-size:0.85em;margin-left:1.4em}
.shnor-footer{color:#666;font-size:0.8em;border-top:1px solid #ccc;margin-top:2em;padding-top:0.5em}
.shnor-flag{background:#fde0c5} .shnor-ok{background:#e3f3e8} .shnor-small{color:#888;font-style:italic}
/* highlighted rows: JupyterLab's zebra rule `.jp-RenderedHTMLCommon tbody tr:nth-child(odd)` (0,2,2)
   and its hover rule would win over a bare `.shnor-flag`; these selectors weigh (0,3,3) and print */
.jp-RenderedHTMLCommon table.shnor-table > tbody > tr.shnor-flag,
body table.shnor-table > tbody > tr.shnor-flag:nth-child(n){background:#fde0c5 !important}
.jp-RenderedHTMLCommon table.shnor-table > tbody > tr.shnor-ok,
body table.shnor-table > tbody > tr.shnor-ok:nth-child(n){background:#e3f3e8 !important}
table.shnor-table > tbody > tr.shnor-flag, table.shnor-table > tbody > tr.shnor-ok{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.shnor-download{font-size:0.8em;color:#666;margin:-0.6em 0 1em} .shnor-download a{color:#1f5fa8}
@media print{.shnor-download{display:none}}
</style>"""
