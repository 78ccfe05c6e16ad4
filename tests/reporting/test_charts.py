"""Chart geometry a reader relies on."""
import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from shnor_utils.reporting import charts


def _crosstab():
    # ВПР mark down the rows 5 → 2, journal mark across 2 → 5 (objectivity/present.mark_crosstab)
    return pd.DataFrame([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]],
                        index=[5, 4, 3, 2], columns=[2, 3, 4, 5])


def test_agreement_cells_are_equal_marks():
    t = _crosstab()
    cells = charts.agreement_cells(t)
    assert cells == [(3, 0), (2, 1), (1, 2), (0, 3)]
    assert all(t.index[r] == t.columns[c] for c, r in cells)


def test_mark_heatmap_frames_the_equal_marks():
    t = _crosstab()
    fig = charts.mark_heatmap(t)
    frames = [p for p in fig.axes[0].patches if isinstance(p, plt.Rectangle) and not p.get_fill()]
    framed = sorted((int(p.get_x()), int(p.get_y())) for p in frames)
    assert framed == [(0, 3), (1, 2), (2, 1), (3, 0)]
    # the framed cells hold the counts of equal marks: 5-5 = 4, 4-4 = 7, 3-3 = 10, 2-2 = 13
    assert sorted(int(t.iat[r, c]) for c, r in framed) == [4, 7, 10, 13]
    plt.close(fig)


def _no_overlap(boxes, axis="x"):
    if axis == "y":
        boxes = sorted(boxes, key=lambda b: b.y0)
        return all(a.y1 <= b.y0 for a, b in zip(boxes, boxes[1:]))
    boxes = sorted(boxes, key=lambda b: b.x0)
    return all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:]))


def test_stacked_shares_keeps_the_plot_wide_beside_long_labels():
    names = ["Недостаточная предметная и методическая компетентность педагогических работников",
             "Пониженный уровень качества школьной образовательной и воспитательной среды", "Дефицит кадров"]
    data = pd.DataFrame({"factor": names, "высокий": [10, 20, 30], "средний": [30, 30, 30], "низкий": [60, 50, 40]})
    fig = charts.stacked_shares(data, y="factor", parts=["высокий", "средний", "низкий"], colors=charts.RISK_LEVEL_COLORS)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_position().width >= 0.5                      # the plot is at least half the figure
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert all(max(len(line) for line in lab.split("\n")) <= 30 for lab in labels)
    assert labels[0].replace("\n", " ") == names[0]
    renderer = fig.canvas.get_renderer()
    ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0\u00a0%", "25\u00a0%", "50\u00a0%", "75\u00a0%", "100\u00a0%"]
    assert _no_overlap(ticks)                                  # «0 %» and «100 %» apart
    # the labels fit inside the figure on the left
    assert min(t.get_window_extent(renderer).x0 for t in ax.get_yticklabels()) >= 0
    plt.close(fig)


# ---- issue 14.7 / 15.1: readable at A4 width, honest axes, forecasts, cheap SVG ----------------------

def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_share_axes_run_from_0_to_100():
    from shnor_utils.reporting.charts import grouped_bars, level_lines, series_lines

    lines = pd.DataFrame({"year": [2024, 2025, 2024, 2025], "value": [41.0, 43.5, 42.0, 42.5],
                          "уровень": ["школа", "школа", "регион", "регион"]})
    for fig in (level_lines(lines, x="year", y="value", hue="уровень", ylabel="Доля, %"),
                series_lines(lines, ylabel="%")):
        assert fig.axes[0].get_ylim() == (0, 100)
        assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == "100\u00a0%"
    bars = pd.DataFrame({"блок": ["методический", "предметный"] * 2, "доля": [2.5, 1.0, 3.0, 0.5],
                         "уровень": ["школа", "школа", "регион", "регион"]})
    fig = grouped_bars(bars, x="блок", y="доля", hue="уровень", ylabel="Доля педагогов, %")
    assert fig.axes[0].get_ylim() == (0, 100)
    assert "2,5" in " ".join(_texts(fig))            # the value over its bar, with a decimal comma
    # not a share: the axis follows the data
    fig = series_lines(lines.assign(value=[1.2, 1.4, 1.3, 1.3]), ylabel="ставок")
    assert fig.axes[0].get_ylim()[1] < 10


def test_a_forecast_year_is_dashed_and_labelled_never_a_fact():
    from shnor_utils.reporting.charts import FORECAST, count_bars, level_lines

    data = pd.DataFrame({"year": [2025, 2026, 2027] * 2, "value": [10.0, 12.0, 15.0, 20.0, 21.0, 22.0],
                         "уровень": ["школа"] * 3 + ["регион"] * 3, "forecast": [False, False, True] * 2})
    fig = level_lines(data, x="year", y="value", hue="уровень", ylabel="Доля, %")
    ax = fig.axes[0]
    solid = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert all(2027 not in list(ln.get_xdata()) for ln in solid)          # no fact line reaches the forecast
    assert dashed and all(list(ln.get_xdata()) == [2026, 2027] for ln in dashed)
    assert FORECAST in _texts(fig)
    bars = count_bars(pd.DataFrame({"year": [2026, 2027], "n": [5, 4], "forecast": [False, True]}),
                      x="year", y="n", highlight="forecast")
    patches = bars.axes[0].patches
    assert patches[1].get_linestyle() == "--" and patches[1].get_hatch() == "//" and patches[0].get_hatch() is None
    assert any(FORECAST in t for t in _texts(bars))


def test_school_by_work_heatmap_names_stay_readable():
    from shnor_utils.reporting.charts import LABEL_SIZE, sign_heatmap

    schools = [f'МБОУ "СОШ № {i} с углублённым изучением отдельных предметов г. Заречный"' for i in range(40)]
    works = [f"{w} · несоответствие ВПР и отметок" for w in ("МА-4", "РУ-4", "МА-5", "РУ-5", "ОГЭ МА", "ОГЭ РУ")]
    data = pd.DataFrame([{"школа": s, "процедура": w, "признак": float((i + j) % 3 == 0)}
                         for i, s in enumerate(schools) for j, w in enumerate(works)])
    fig = sign_heatmap(data, x="процедура", y="школа", value="признак", title="Рис. 2")
    ax = fig.axes[0]
    assert LABEL_SIZE >= 9
    rows, cols = charts.cell_names(ax)            # names are texts beside the cells, not tick labels
    assert len(rows) == 40 and len(cols) == 6
    sizes = [t.get_fontsize() for t in rows + cols]
    assert min(sizes) >= 9
    assert sorted(t.get_text().replace("\n", " ") for t in rows) == sorted(schools)
    assert [t.get_text().replace("\n", " ") for t in cols] == sorted(works) and {t.get_rotation() for t in cols} == {90}
    # shown at ≤ 1:1 on an A4 page (≈ 7.3 in of text width at 96 dpi ≈ 700 px) and in 1,100 px of screen
    assert fig.get_figwidth() <= 8.0
    renderer = fig.canvas.get_renderer()
    names = [t.get_window_extent(renderer) for t in rows]
    assert _no_overlap(names, axis="y")
    assert min(b.x0 for b in names) >= 0, "school names cut at the left edge"
    # the names sit left of the cells and the procedures under them, as tick labels would
    assert max(b.x1 for b in names) <= ax.get_window_extent(renderer).x0
    assert max(t.get_window_extent(renderer).y1 for t in cols) <= ax.get_window_extent(renderer).y0
    plt.close(fig)


def _cells_by_colour(ax) -> dict:
    """{hex colour: sorted (column, row) cells} of a heat map drawn as one compound path per colour."""
    import matplotlib.colors as mcolors
    from matplotlib.patches import PathPatch

    out = {}
    for p in ax.patches:
        if isinstance(p, PathPatch):
            corners = p.get_path().vertices.reshape(-1, 5, 2)[:, 0]      # each cell: 4 corners and the close
            out[mcolors.to_hex(p.get_facecolor())] = sorted((int(x), int(y)) for x, y in corners)
    return out


def test_sign_heatmap_cells_are_the_data():
    from shnor_utils.reporting.charts import sign_heatmap

    # school A: sign in «МА-4», none in «РУ-4»; school B: no data in «МА-4», sign in «РУ-4»
    data = pd.DataFrame({"школа": ["A", "A", "B", "B"], "процедура": ["МА-4", "РУ-4", "МА-4", "РУ-4"],
                         "признак": [1.0, 0.0, float("nan"), 1.0]})
    fig = sign_heatmap(data, x="процедура", y="школа", value="признак")
    ax = fig.axes[0]
    rows, cols = charts.cell_names(ax)
    # rows by number of signs (NaN counted as −1): A = 1 + 0 = 1 before B = −1 + 1 = 0
    assert [t.get_text() for t in rows] == ["A", "B"] and [t.get_text() for t in cols] == ["МА-4", "РУ-4"]
    cells = _cells_by_colour(ax)
    assert cells == {"#d95f02": [(0, 0), (1, 1)], "#eef2f7": [(1, 0)]}       # B × МА-4 left to the grey face
    assert mcolors_hex(ax.get_facecolor()) == "#d9d9d9"
    assert ax.get_xlim() == (0, 2) and ax.get_ylim() == (2, 0)
    plt.close(fig)


def mcolors_hex(color) -> str:
    import matplotlib.colors as mcolors
    return mcolors.to_hex(color)


def test_mark_heatmap_cells_and_counts():
    t = _crosstab()
    fig = charts.mark_heatmap(t)
    ax = fig.axes[0]
    cells = _cells_by_colour(ax)
    assert sorted(c for v in cells.values() for c in v) == [(j, i) for j in range(4) for i in range(4)]
    assert len(cells) == 16                                      # 16 different counts: 16 shades of blue
    counts = sorted(int(x.get_text()) for x in ax.texts)
    assert counts == list(range(1, 17))
    assert [x.get_text() for x in ax.get_xticklabels()] == ["2", "3", "4", "5"]
    plt.close(fig)


def test_ticks_use_decimal_commas_and_one_minus_sign():
    from shnor_utils.reporting.charts import context_scatter, ru_number

    assert [ru_number(v) for v in (2.5, -3.0, 0.0, -0.0, 12.5, 15000.0)] == ["2,5", "−3", "0", "0", "12,5", "15\u00a0000"]
    data = pd.DataFrame({"x": [-1.5, 0.0, 1.5], "y": [-2.5, 0.5, 2.5], "г": ["школы отчёта"] * 3})
    fig = context_scatter(data, x="x", y="y", hue="г")
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() + fig.axes[0].get_yticklabels()]
    assert labels and not any("." in t or "-" in t for t in labels), labels
    assert any("," in t for t in labels) and any("−" in t for t in labels)


def test_figures_are_inline_svg_with_text_and_fixed_size():
    from shnor_utils.reporting.charts import mark_heatmap
    from shnor_utils.reporting.report import svg_of

    table = pd.DataFrame([[1, 2], [3, 4]], index=[5, 4], columns=[4, 5])
    fig = mark_heatmap(table, title="Рис. 4. Число участников: отметка за ВПР × отметка по журналу")
    width, height = fig.get_size_inches()
    svg = svg_of(fig)
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<image" not in svg
    assert "Отметка по журналу</text>" in svg and "Рис. 4." in svg            # text stays text
    assert f'width="{width * 72:g}pt"' in svg and f'height="{height * 72:g}pt"' in svg   # no tight-bbox crop
    assert svg == svg_of(fig) and "<metadata" not in svg and "<?xml" not in svg


def _tiny_distribution():
    # one work, scores 0–4: school 10/20/40/20/10 %, region 5/25/40/25/5 %; «3» from 2, «4» from 3, «5» from 4
    rows = [("МА-4", s, "школа", v, 30) for s, v in enumerate([10.0, 20.0, 40.0, 20.0, 10.0])]
    rows += [("МА-4", s, "регион", v, 900) for s, v in enumerate([5.0, 25.0, 40.0, 25.0, 5.0])]
    return pd.DataFrame(rows, columns=["работа", "балл", "уровень", "доля", "n"])


def test_score_distributions_draw_the_data_and_the_boundaries():
    fig = charts.score_distributions(_tiny_distribution(), x="балл", y="доля", hue="уровень", col="работа",
                                     boundaries={"МА-4": [2, 3, 4]}, title="Рис. 5")
    ax = fig.axes[0]
    steps = {ln.get_label(): (list(ln.get_xdata()), list(ln.get_ydata())) for ln in ax.lines if ln.get_drawstyle() == "steps-mid"}
    assert steps == {"школа (n = 30)": ([0, 1, 2, 3, 4], [10.0, 20.0, 40.0, 20.0, 10.0]),
                     "регион (n = 900)": ([0, 1, 2, 3, 4], [5.0, 25.0, 40.0, 25.0, 5.0])}
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]     # the boundaries: one dashed line, 3 segments
    assert len(dashed) == 1
    xs = [float(v) for v in dashed[0].get_xdata() if v == v]
    assert xs == [1.5, 1.5, 2.5, 2.5, 3.5, 3.5]                          # between the marks' scores, top to bottom
    assert [float(v) for v in dashed[0].get_ydata() if v == v] == [0, 1] * 3
    assert [t.get_text() for t in ax.texts if t.get_text().startswith("«")] == ["«3»", "«4»", "«5»"]
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 40
    # tick labels: the ticks matplotlib chooses for these limits, inside them, decimal commas, ≥ 9 pt
    for axis, lim in (("x", ax.get_xlim()), ("y", ax.get_ylim())):
        ticks = charts.tick_texts(ax, axis)
        values = [t.get_position()[0 if axis == "x" else 1] for t in ticks]
        assert len(ticks) >= 3 and all(min(lim) <= v <= max(lim) for v in values)
        assert all(t.get_fontsize() >= 9 and "." not in t.get_text() and "-" not in t.get_text() for t in ticks)
        assert [t.get_text() for t in ticks] == [charts.ru_number(round(v, 9)) for v in values]
    assert [t.get_text() for t in charts.tick_texts(ax, "y")][:3] == ["0", "10", "20"]
    # one grid line per tick label, drawn under the data
    grid_x, grid_y = [ln for ln in ax.lines if ln.get_zorder() < 1]
    for grid, axis in ((grid_x, "x"), (grid_y, "y")):
        at = [float(v) for v in (grid.get_xdata() if axis == "x" else grid.get_ydata()) if v == v][::2]
        assert at == [t.get_position()[0 if axis == "x" else 1] for t in charts.tick_texts(ax, axis)]
    assert grid_x.get_color() == matplotlib.rcParams["grid.color"]
    assert max(g.get_zorder() for g in (grid_x, grid_y)) < min(ln.get_zorder() for ln in steps_lines(ax))
    plt.close(fig)


def steps_lines(ax) -> list:
    return [ln for ln in ax.lines if ln.get_drawstyle() == "steps-mid"]


def test_a_boundary_past_the_scores_widens_the_axis():
    # «5» from score 6 while nobody has more than 4: the boundary at 5.5 is still inside the panel
    fig = charts.score_distributions(_tiny_distribution(), x="балл", y="доля", hue="уровень", col="работа",
                                     boundaries={"МА-4": [2, 3, 6]})
    # data and boundaries span 0 … 5.5, matplotlib's 5 % margins: −0.275 … 5.775
    assert fig.axes[0].get_xlim() == pytest.approx((-0.275, 5.775))
    plt.close(fig)


def test_static_ticks_sit_where_matplotlib_puts_ticks():
    """The same axes drawn with matplotlib's own ticks and with `_static_ticks`: tick labels and axis labels in
    the same places (to a pixel: the static ones are placed from the SVG writer's font metrics)."""
    def axes_with_ticks():
        charts.setup()
        fig = plt.figure(figsize=(5, 3))
        ax = fig.add_subplot()
        ax.plot([0, 1, 2, 3, 4, 5, 6, 7], [0.5, 3, 9, 12.5, 7, 4, 1, 0])
        ax.set_ylim(bottom=0)
        ax.set_xlabel("Первичный балл")
        ax.set_ylabel("% участников")
        charts._ru_axes(fig)
        return fig, ax

    fig1, ax1 = axes_with_ticks()
    fig2, ax2 = axes_with_ticks()
    charts._static_ticks(ax2)
    r1, r2 = fig1.canvas.get_renderer(), fig2.canvas.get_renderer()
    fig1.canvas.draw(), fig2.canvas.draw()
    for axis in "xy":
        own = [t for t in (ax1.get_xticklabels() if axis == "x" else ax1.get_yticklabels())
               if t.get_visible() and t.get_text()]
        own = [t for t in own if (ax1.get_xlim() if axis == "x" else ax1.get_ylim())[0] <= t.get_position()[0 if axis == "x" else 1]
               <= (ax1.get_xlim() if axis == "x" else ax1.get_ylim())[1]]
        static = charts.tick_texts(ax2, axis)
        assert [t.get_text() for t in own] == [t.get_text() for t in static]
        for a, b in zip(own, static):
            ea, eb = a.get_window_extent(r1), b.get_window_extent(r2)
            assert abs(ea.x0 - eb.x0) < 1 and abs(ea.y0 - eb.y0) < 1 and abs(ea.x1 - eb.x1) < 1
    for la, lb in ((ax1.xaxis.label, ax2.xaxis.label), (ax1.yaxis.label, ax2.yaxis.label)):
        ea, eb = la.get_window_extent(r1), lb.get_window_extent(r2)
        assert abs(ea.x0 - eb.x0) < 1.5 and abs(ea.y0 - eb.y0) < 1.5
    plt.close(fig1), plt.close(fig2)


def test_chart_geometry_is_written_to_a_tenth_of_a_point():
    # matplotlib writes coordinates with up to six digits; a tenth of a point (≈ 0.13 px) is what a reader
    # can see, and a tenth of a chart's bytes is saved; text and embedded pictures are not touched
    import re

    import matplotlib.pyplot as plt

    from shnor_utils.reporting.report import svg_of
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0.123456, 1.987654, 2.5], [3.14159, 2.71828, -0.333333])
    ax.set_title("Доля, 2,75 %")
    svg = svg_of(fig)
    plt.close(fig)
    geometry = re.findall(r'\b(?:d|points|transform|x|y|x1|x2|y1|y2)="([^"]*)"', svg)
    assert geometry and not any(re.search(r"\d\.\d\d", g) for g in geometry)
    assert "Доля, 2,75" in svg          # text as it was
    assert '"-0"' not in svg
