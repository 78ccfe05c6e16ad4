"""`indicators.xlsx` a methodologist uses without the code (issue 14, point 8): the legend sheet first,
Russian headers, indicator names and marks in the methodology's words, one decimal for shares, a frozen
header and column widths, and colour only on real alerts — checked on a hand-made table whose alerts are
known row by row."""
from __future__ import annotations

import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from shnor_utils.analyses import ALL
from shnor_utils.batch.excel import ALERT_FILL, LEGEND, write_workbook
from shnor_utils.indicators import COLUMNS
from shnor_utils.methodology import load_methodology

SCHOOLS = pd.DataFrame({"school_id": ["s1", "s2"], "school_name": ["СОШ № 1", "СОШ № 2"],
                        "municipality_id": ["m1", "m1"], "municipality_name": ["Город", "Город"]})
# (level, entity, indicator, value, numerator, denominator, ci_low, ci_high, flag, coloured?)
ROWS = [
    ("school", "s1", "vpr_share_2", 40.0, 4, 10, 16.8, 68.7, "low_result", True),        # an alert mark
    ("school", "s2", "vpr_share_2", 10.0, 1, 10, 1.8, 40.4, None, False),
    ("school", "s1", "gia_below_min_dd", -5.0, None, None, None, None, "stable", False),  # information
    ("school", "s2", "gia_below_min_dd", 12.0, None, None, None, None, "negative", True),  # significant worsening
    ("school", "s1", "shnor", 1.0, None, None, None, None, None, True),                  # 0/1 school flag = 1
    ("school", "s2", "shnor", 0.0, None, None, None, None, None, False),
    ("school", "s1", "vpr_share_2_dd", 3.0, None, None, None, None, "positive", False),
    ("school", "s2", "vpr_journal_lower", None, None, 3, None, None, "suppressed", False),
    ("municipality", "m1", "vpr_share_2", 25.0, 5, 20, 11.2, 46.9, "small_group", False),
    ("region", "region", "staffing_rate", 91.25, 73, 80, 82.9, 95.7, "below_target", True),
]
ALERTS = [r[-1] for r in ROWS]


def hand_made() -> pd.DataFrame:
    frame = pd.DataFrame([dict(zip(["level", "entity_id", "indicator_id", "value", "numerator", "denominator",
                                    "ci_low", "ci_high", "flag"], r[:-1]), year=2026) for r in ROWS])
    for c in COLUMNS:
        if c not in frame:
            frame[c] = None
    frame = frame[COLUMNS]
    for c in ("level", "entity_id", "indicator_id", "flag"):
        frame[c] = frame[c].astype("string")
    return frame


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("xl") / "indicators.xlsx"
    write_workbook(hand_made(), SCHOOLS, path, region_name="Область", year=2026, meth=load_methodology())
    return load_workbook(path)


def rows_of(ws) -> list[dict]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, [c for c in r])) for r in ws.iter_rows(min_row=2)]


def coloured(cells: dict) -> bool:
    fills = {c.fill.fgColor.rgb for c in cells.values() if c.fill is not None and c.fill.fill_type == "solid"}
    assert len(fills) <= 1, "a row is coloured whole or not at all"
    return bool(fills) and fills.pop().endswith(ALERT_FILL)


def test_legend_first_and_names_every_sheet(book):
    assert book.sheetnames[0] == LEGEND
    legend = " ".join(str(c) for r in book[LEGEND].iter_rows(values_only=True) for c in r if c)
    for name in book.sheetnames[1:]:
        assert name in legend
    meth = load_methodology()
    assert meth.words.flag("negative") in legend and meth.words.flag("suppressed") in legend
    assert f"{sum(ALERTS)} из {len(ALERTS)}" in legend   # the share of coloured rows, said in words


def test_russian_headers_names_and_marks(book):
    meth = load_methodology()
    ws = book["Все показатели"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["Уровень", "Код", "Наименование", "Код МО", "Год", "Показатель"]
    assert not [h for h in header if re.search(r"[A-Za-z_]", re.sub(r"\(n\)", "", h))]   # «n» of a group is allowed
    rows = rows_of(ws)
    assert [r["Код показателя"].value for r in rows] == [r[2] for r in ROWS]
    assert rows[0]["Показатель"].value == meth.words.name("vpr_share_2") != "vpr_share_2"
    assert rows[2]["Показатель"].value.startswith(meth.words.name("gia_below_min"))   # a dynamics row named after its base
    marks = [r["Отметка"].value for r in rows]
    assert marks == [meth.words.flag(r[8]) if r[8] else None for r in ROWS]
    assert not [m for m in marks if m and re.search(r"[A-Za-z_]", m)]
    assert rows[0]["Уровень"].value == "школа" and rows[0]["Наименование"].value == "СОШ № 1"


def test_number_formats_frozen_header_and_widths(book):
    ws = book["Все показатели"]
    rows = rows_of(ws)
    share = rows[0]
    assert share["Значение"].number_format == "0.0" and share["Ед. изм."].value == "%"
    assert share["ДИ 95 %, от"].number_format == "0.0" and share["ДИ 95 %, до"].number_format == "0.0"
    assert rows[3]["Значение"].number_format == "0.0" and rows[3]["Ед. изм."].value == "п.п."   # change of a share
    assert rows[9]["Значение"].number_format == "0.0" and rows[9]["Значение"].value == 91.25
    assert rows[4]["Значение"].number_format == "0" and rows[4]["Ед. изм."].value == "1 — да, 0 — нет"   # a school flag
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    width = {h: ws.column_dimensions[chr(65 + i)].width for i, h in enumerate(header)}
    assert width["Наименование"] >= 30 and width["Показатель"] >= 40 and width["Отметка"] >= 30
    assert ws.auto_filter.ref == f"A1:{chr(64 + len(header))}{len(ROWS) + 1}"


def test_colour_only_on_real_alerts(book):
    rows = rows_of(book["Все показатели"])
    assert [coloured(r) for r in rows] == ALERTS
    assert sum(coloured(r) for r in rows) / len(rows) == pytest.approx(4 / 10)
    # the same rows on the analysis sheets
    for name in book.sheetnames[1:]:
        for r in rows_of(book[name]):
            expected = next(x[-1] for x in ROWS if x[2] == r["Код показателя"].value and x[1] == r["Код"].value)
            assert coloured(r) == expected, (name, r["Код показателя"].value)
    assert not book["Все показатели"].conditional_formatting, "no rule colouring every row with a mark"


def test_demo_colours_a_few_rows_only(demo_small, tmp_path):
    """The demo workbook of a year: coloured rows are exactly the rows with an alert mark or a school flag
    equal to 1 — a few per cent, not every row with any mark (56 % of the rows before: «stable»,
    «positive», small groups and hidden values were coloured too)."""
    from shnor_utils.analyses import compute_all
    from shnor_utils.data.dataset import load_dataset
    from shnor_utils.indicators.privacy import suppress
    from shnor_utils.indicators.registry import index_flags_of

    meth = load_methodology()
    ds = load_dataset(demo_small, methodology=meth)
    ind = suppress(compute_all(ds, meth), meth)
    some = sorted(ds.schools["school_id"])[:12]   # a dozen schools and every roll-up row: a quick workbook
    ind = ind[(ind["year"] == 2026) & (ind["level"].ne("school") | ind["entity_id"].isin(some))].reset_index(drop=True)
    path = write_workbook(ind, ds.schools, tmp_path / "indicators.xlsx", year=2026, meth=meth, analyses=ALL)
    ws = load_workbook(path, read_only=True)["Все показатели"]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    got = [bool(r[0].fill is not None and r[0].fill.fill_type == "solid") for r in ws.iter_rows(min_row=2)]
    alerts = set(meth.data["flags"]["alert_flags"])
    expected = (ind["flag"].isin(list(alerts)).fillna(False)
                | (ind["indicator_id"].isin(list(index_flags_of(ALL))) & ind["value"].eq(1)).fillna(False)).tolist()
    assert got == expected
    assert 0 < sum(got) / len(got) < 0.15
    assert "Код показателя" in header
