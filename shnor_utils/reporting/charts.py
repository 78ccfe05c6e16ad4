"""Chart helpers: tidy frame + column names in, matplotlib Figure out (seaborn style).

One Russian theme, set once by `setup()`; the same argument names everywhere
(`data`, `x`, `y`, `hue`, `title`). Figures are written as inline SVG by `report.svg_of` (called by
`report.Report.figure`): text stays text (sharp at any zoom, a tenth of a PNG's bytes), and no
raster is drawn or compressed. Layouts are fixed when a chart is built: figure sizes per chart kind and margins in inches,
estimated from the number of characters of the labels (no text is measured, no tight-bbox search
at save time). Axes use decimal commas, «%» after a non-breaking space and one minus sign «−».
"""
from __future__ import annotations

import functools
import io
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

AGREEMENT_COLORS = {"понизили": "#d95f02", "подтвердили": "#7f7f7f", "повысили": "#1b9e77"}
LEVEL_COLORS = {"школа": "#1f77b4", "муниципалитет": "#ff7f0e", "регион": "#7f7f7f"}
# DejaVu Sans has Cyrillic; Verdana (Windows, macOS) has nearly its metrics, so an SVG read where
# DejaVu is missing keeps its layout
FONTS = ["DejaVu Sans", "Verdana", "Bitstream Vera Sans", "Arial", "Liberation Sans"]
THEME = {"figure.dpi": 100, "axes.titlesize": 12, "axes.titleweight": "bold", "axes.labelsize": 10,
         "legend.fontsize": 9, "font.family": "sans-serif", "font.sans-serif": FONTS,
         "axes.formatter.use_locale": False, "axes.unicode_minus": True,
         "svg.fonttype": "none", "svg.hashsalt": "shnor",
         # an axes title sits at the top of its axes (no tick labels up there): matplotlib's search for a
         # clear place measures every tick label of the axes again at each save
         "axes.titley": 1.0}


def setup() -> None:
    """The report theme: seaborn whitegrid, DejaVu Sans (has Cyrillic), readable sizes.

    Applied before every chart (cheap), so a warm kernel whose rcParams were reset between
    reports draws the same pictures as a fresh one."""
    sns.set_theme(style="whitegrid", context="notebook", font="sans-serif", rc=THEME)


# estimated width of a character of DejaVu Sans, in ems (Cyrillic lowercase ≈ 0.6; bold ≈ 0.68)
_EM, _EM_BOLD = 0.62, 0.7
TITLE_SIZE, LABEL_SIZE = 12, 9   # pt; a chart is shown at ≤ its size at 96 dpi, so ≥ 9 pt stays readable
FORECAST = "прогноз"


def _text_in(labels, size: float = LABEL_SIZE, em: float = _EM) -> float:
    """Width in inches of the longest line of `labels` at `size` pt (estimated, nothing is drawn)."""
    longest = max((len(line) for lab in labels for line in str(lab).split("\n")), default=0)
    return longest * size * em / 72


def _lines(labels) -> int:
    return max((str(lab).count("\n") + 1 for lab in labels), default=1)


def _title(fig, text: str) -> float:
    """The chart's title at the top left of the figure, wrapped to its width; returns its height (in)."""
    if not text:
        return 0.15
    width, height = fig.get_size_inches()
    chars = max(20, int((width - 0.2) * 72 / (TITLE_SIZE * _EM_BOLD)))
    wrapped = textwrap.fill(text, width=chars, break_long_words=False)
    fig.text(0.08 / width, 1 - 0.08 / height, wrapped, ha="left", va="top", fontsize=TITLE_SIZE, fontweight="bold")
    return 0.16 + (wrapped.count("\n") + 1) * TITLE_SIZE * 1.3 / 72


def _place(fig, *, left: float, right: float, top: float, bottom: float, wgap: float = 0.0, hgap: float = 0.0,
           ncols: int = 1, nrows: int = 1) -> None:
    """Fixed margins (and gaps between panels) in inches."""
    width, height = fig.get_size_inches()
    aw = max(0.5, (width - left - right - wgap * (ncols - 1)) / ncols)
    ah = max(0.5, (height - top - bottom - hgap * (nrows - 1)) / nrows)
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height,
                        wspace=wgap / aw, hspace=hgap / ah)


def ru_number(value: float, digits: int | None = None) -> str:
    """A tick value in Russian: decimal comma, «−», thin groups of thousands: 2.5 → «2,5», −3 → «−3»."""
    if digits is None:
        text = f"{value:.6g}" if abs(value) < 10000 else f"{value:,.0f}".replace(",", "\u00a0")
    else:
        text = f"{value:,.{digits}f}".replace(",", "\u00a0")
    if "e" in text:
        text = f"{value:.0f}"
    text = text.replace(".", ",")
    return "0" if text in ("-0", "−0") else text.replace("-", "−")


def _pct_tick(value, _pos=None) -> str:
    return f"{ru_number(round(value, 6))}\u00a0%"


def _num_tick(value, _pos=None) -> str:
    return ru_number(round(value, 9))


def _fmt_pct(ax, axis="x"):
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(matplotlib.ticker.FuncFormatter(_pct_tick))


def share_axis(ax, axis: str = "y") -> None:
    """A share axis: 0–100 % whatever the data (a 3 п.п. gap does not fill the picture), ticks every 25 %."""
    (ax.set_ylim if axis == "y" else ax.set_xlim)(0, 100)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_locator(matplotlib.ticker.FixedLocator([0, 25, 50, 75, 100]))
    _fmt_pct(ax, axis)


@functools.lru_cache(maxsize=4096)
def _label_box(text: str, size: float, fonts: tuple) -> tuple[float, float]:
    """Width and height in points of a one-line text at `size` pt laid out as the SVG writer lays it out;
    measured once per process (tick labels repeat: «0», «5», «10»); `fonts` (the theme's font families)
    is only part of the cache key."""
    from matplotlib.backends.backend_svg import RendererSVG
    from matplotlib.figure import Figure

    label = matplotlib.text.Text(0, 0, text, fontsize=size)
    label.set_figure(Figure(dpi=72))
    box = label.get_window_extent(RendererSVG(72, 72, io.StringIO()), dpi=72)
    return box.width, box.height


def _tick_pad(axis: str) -> float:
    """Points between the axes edge and a tick label (pad, plus the tick's length when it points out)."""
    rc = matplotlib.rcParams
    return rc[f"{axis}tick.major.pad"] + rc[f"{axis}tick.major.size"] * {"in": 0.0, "inout": 0.5, "out": 1.0}[
        rc[f"{axis}tick.direction"]]


def _static_ticks(ax) -> None:
    """The ticks of an axes whose data and limits are final turned into plain artists: the grid lines of
    each axis one line broken by NaN, the tick labels plain texts, placed and styled as matplotlib draws the
    ticks the locators choose for these limits (the theme draws no tick marks), and the axis labels
    where matplotlib would put them (`labelpad` beyond the widest tick label), computed from the font
    once per process. A tick is five artists built at each save, and each label is measured twice to
    place the axis labels: in a 2 × 2 small multiple that was half of the chart's time.
    `tick_texts(ax)` returns the labels (for tests)."""
    rc = matplotlib.rcParams
    if ax.xaxis.get_tick_params(which="major").get("bottom") or ax.yaxis.get_tick_params(which="major").get("left"):
        return   # tick marks are drawn (not this theme): matplotlib's own ticks
    fonts = (tuple(rc["font.family"]), tuple(rc["font.sans-serif"]))
    fig = ax.get_figure()
    boxes = {}
    for name, axis, lim in (("x", ax.xaxis, ax.get_xlim()), ("y", ax.yaxis, ax.get_ylim())):
        lo, hi = sorted(lim)
        eps = 1e-9 * (hi - lo)
        locs = [v for v in axis.get_major_locator()() if lo - eps <= v <= hi + eps]
        labels = axis.get_major_formatter().format_ticks(locs)
        grid = axis.get_tick_params(which="major").get("gridOn", False)
        size = matplotlib.font_manager.FontProperties(size=rc[f"{name}tick.labelsize"]).get_size_in_points()
        color = rc[f"{name}tick.color"] if rc[f"{name}tick.labelcolor"] == "inherit" else rc[f"{name}tick.labelcolor"]
        boxes[name] = [_label_box(t, size, fonts) for t in labels if t]
        axis.set_major_locator(matplotlib.ticker.NullLocator())
        trans, va, ha = (ax.get_xaxis_text1_transform if name == "x" else ax.get_yaxis_text1_transform)(_tick_pad(name))
        for loc, label in zip(locs, labels):
            xy = (loc, 0) if name == "x" else (0, loc)
            ax.text(*xy, label, transform=trans, ha=ha, va=va, fontsize=size, color=color)._shnor_tick = name
        if grid and locs:
            at, span = _across(locs)
            ax.add_artist(matplotlib.lines.Line2D(
                *((at, span) if name == "x" else (span, at)), color=rc["grid.color"],
                linewidth=rc["grid.linewidth"], linestyle=rc["grid.linestyle"], alpha=rc["grid.alpha"],
                transform=ax.get_xaxis_transform() if name == "x" else ax.get_yaxis_transform(),
                zorder=0.5 if ax.get_axisbelow() is True else (1.5 if ax.get_axisbelow() == "line" else 2.5)))
    down = _tick_pad("x") + max((h for _, h in boxes["x"]), default=0) + ax.xaxis.labelpad
    ax.xaxis.set_label_coords(0.5, 0, transform=ax.transAxes + matplotlib.transforms.ScaledTranslation(
        0, -down / 72, fig.dpi_scale_trans))
    aside = _tick_pad("y") + max((w for w, _ in boxes["y"]), default=0) + ax.yaxis.labelpad
    ax.yaxis.set_label_coords(0, 0.5, transform=ax.transAxes + matplotlib.transforms.ScaledTranslation(
        -aside / 72, 0, fig.dpi_scale_trans))


def _across(locs) -> tuple[list, list]:
    """Lines across the axes at `locs` as one line broken by NaN (one SVG path of several segments, not one
    element each): coordinates along the axis, and 0 … 1 across it."""
    along, across = [], []
    for v in locs:
        along += [v, v, np.nan]
        across += [0.0, 1.0, np.nan]
    return along[:-1], across[:-1]


def tick_texts(ax, axis: str = "x") -> list:
    """The tick labels of an axes drawn by `_static_ticks` (texts, in tick order)."""
    return [t for t in ax.texts if getattr(t, "_shnor_tick", None) == axis]


def _ru_axes(fig) -> None:
    """Decimal commas on every numeric axis left with matplotlib's formatter."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if isinstance(axis.get_major_formatter(), matplotlib.ticker.ScalarFormatter):
                axis.set_major_formatter(matplotlib.ticker.FuncFormatter(_num_tick))


def _is_percent(label: str, percent: bool | None) -> bool:
    return ("%" in (label or "")) if percent is None else bool(percent)


def wrap_label(text: str, width: int = 28) -> str:
    """A long category name on several lines (a factor name of 80 characters next to a bar chart)."""
    return textwrap.fill(str(text), width=width, break_long_words=False) or str(text)


def stacked_shares(data: pd.DataFrame, *, y: str, parts: list[str], colors: dict | None = None,
                   title: str = "", xlabel: str = "Доля участников, %", targets: pd.Series | None = None):
    """Horizontal 100 % stacked bars: one bar per `y` value, segments `parts` (columns, in %).

    Long `y` labels are wrapped and take a fixed part of the figure (the plot keeps ≥ 55 % of
    the width, whatever the label length)."""
    setup()
    colors = colors or AGREEMENT_COLORS
    n = len(data)
    labels = [wrap_label(v) for v in data[y].astype(str)]
    lines = sum(max(1, lab.count("\n") + 1) for lab in labels)
    fig = plt.figure(figsize=(9, 0.2 * lines + 0.12 * n + 1.5))
    top = _title(fig, title) + 0.35   # the legend row above the plot
    fig.set_size_inches(9, 0.2 * lines + 0.12 * n + 0.8 + top)
    height = fig.get_figheight()
    # fixed layout: label column on the left (≤ 36 %), plot on the right
    left_edge = min(0.36, max(0.08, (_text_in(labels) + 0.25) / 9))
    ax = fig.add_axes((left_edge, 0.8 / height, 0.955 - left_edge, 1 - (0.8 + top) / height))
    pos = np.arange(n)
    left = np.zeros(n)
    for part in parts:
        vals = data[part].astype("float64").fillna(0).to_numpy()
        ax.barh(pos, vals, left=left, color=colors.get(part), label=part, edgecolor="white")
        for i, (l, v) in enumerate(zip(left, vals)):
            if v >= 7:
                ax.text(l + v / 2, i, f"{v:.0f}", ha="center", va="center", fontsize=8, color="white")
        left += vals
    ax.set_yticks(pos, labels, fontsize=LABEL_SIZE)
    ax.set_ylim(n - 0.5, -0.5)
    share_axis(ax, "x")
    ax.set_xlabel(xlabel)
    ax.legend(ncol=len(parts), loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False)
    return fig


def grouped_bars(data: pd.DataFrame, *, x: str, y: str, hue: str, title: str = "", ylabel: str = "",
                 palette: dict | None = None, reference: float | None = None, reference_label: str = "",
                 percent: bool | None = None):
    """Vertical bars of `y` by `x`, one colour per `hue` (e.g. школа / муниципалитет / регион).
    Category names are wrapped to the width of their group of bars (never rotated into each
    other); a share (`percent`, default: «%» in `ylabel`) is drawn on a 0–100 % axis."""
    setup()
    palette = palette or LEVEL_COLORS
    cats = list(dict.fromkeys(data[x].astype(str)))
    levels = [h for h in palette if h in set(data[hue])] + [h for h in dict.fromkeys(data[hue]) if h not in palette]
    width, left_m, right_m = 8.0, 1.0, 0.2
    per_cat = (width - left_m - right_m) / max(1, len(cats))
    labels = [wrap_label(c, max(6, int(per_cat * 72 / (LABEL_SIZE * _EM)) - 1)) for c in cats]
    bottom = 0.3 + _lines(labels) * LABEL_SIZE * 1.25 / 72 + 0.4   # tick labels, then the legend row
    fig = plt.figure(figsize=(width, 3.0 + bottom))
    top = _title(fig, title) + 0.1
    fig.set_size_inches(width, 2.6 + bottom + top)
    ax = fig.add_subplot()
    _place(fig, left=left_m, right=right_m, top=top, bottom=bottom)
    n_lv = max(1, len(levels))
    bar_w = 0.8 / n_lv
    values = data.assign(_x=data[x].astype(str)).set_index(["_x", hue])[y].astype("float64")
    for j, level in enumerate(levels):
        vals = [values.get((c, level), np.nan) for c in cats]
        pos = np.arange(len(cats)) - 0.4 + bar_w * (j + 0.5)
        ax.bar(pos, vals, width=bar_w, color=palette.get(level), label=level)
        for p, v in zip(pos, vals):   # the value over its bar: a 2 % bar on a 0–100 % axis is still read
            if np.isfinite(v):
                ax.text(p, v, " " + ru_number(round(float(v), 1)), ha="center", va="bottom", fontsize=8,
                        rotation=90 if bar_w * (width - left_m - right_m) / max(1, len(cats)) < 0.45 else 0)
    ax.set_xticks(np.arange(len(cats)), labels, fontsize=LABEL_SIZE)
    ax.set_xlim(-0.5, len(cats) - 0.5)
    if _is_percent(ylabel, percent):
        share_axis(ax, "y")
    if reference is not None:
        ax.axhline(reference, color="#444", ls="--", lw=1)
        ax.text(ax.get_xlim()[1], reference, f" {reference_label}", va="bottom", ha="right", fontsize=8)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, ncol=len(levels), loc="upper center",
              bbox_to_anchor=(0.5, -(bottom - 0.4) / (fig.get_figheight() - top - bottom)))
    _ru_axes(fig)
    return fig


def mark_heatmap(table: pd.DataFrame, *, title: str = "", xlabel: str = "Отметка по журналу",
                 ylabel: str = "Отметка за ВПР"):
    """Heat map of a ВПР mark × journal mark cross-table (counts); the diagonal = «подтвердили»."""
    setup()
    fig = plt.figure(figsize=(4.6, 3.6))
    top = _title(fig, title)
    fig.set_size_inches(4.6, 3.0 + top)
    ax = fig.add_subplot()
    _place(fig, left=0.8, right=0.15, top=top + 0.05, bottom=0.6)
    _grid(ax, table.to_numpy(dtype="float64"), cmap=matplotlib.colormaps["Blues"], rows=table.index.astype(str),
          cols=table.columns.astype(str), annotate=True)
    for col, row in agreement_cells(table):
        ax.add_patch(plt.Rectangle((col, row), 1, 1, fill=False, ec="#d95f02", lw=1.5))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def _grid(ax, values: np.ndarray, *, cmap, rows, cols, vmin=None, vmax=None, annotate: bool = False,
          names_as_text: bool = False, col_rotation: float = 0) -> None:
    """A heat map drawn directly (seaborn's `heatmap` draws the whole figure once more to thin its tick
    labels): cells of `values` (rows top to bottom), NaN left to the axes' face colour, white lines
    between cells, row and column names at 9 pt, integer counts in the cells when `annotate`.

    `names_as_text`: the row and column names are plain texts where the tick labels would be, not ticks
    (a tick is five artists and its label is measured twice at each save: for 100 schools that was
    most of the chart's time); the axes then have no ticks, so no axis labels either."""
    n_rows, n_cols = values.shape
    masked = np.ma.masked_invalid(values)
    lo = np.nanmin(values) if vmin is None and np.isfinite(values).any() else (vmin or 0)
    hi = np.nanmax(values) if vmax is None and np.isfinite(values).any() else (vmax if vmax is not None else 1)
    hi = hi if hi > lo else lo + 1
    # cells of one colour are one compound path (an SVG of a 100-school municipality: 3 paths, not 1,200
    # elements of a mesh); each cell filled and outlined in white as `pcolormesh` draws it
    norm = matplotlib.colors.Normalize(vmin=lo, vmax=hi)
    rgba = cmap(norm(masked))
    finite = ~np.ma.getmaskarray(masked)
    keys = np.round(rgba[..., :4] * 255).astype(int) @ np.array([1 << 24, 1 << 16, 1 << 8, 1])
    for key in dict.fromkeys(keys[finite].tolist()):
        rows_i, cols_j = np.nonzero(finite & (keys == key))
        i, j = np.broadcast_to(rows_i[:, None], (len(rows_i), 5)), np.broadcast_to(cols_j[:, None], (len(cols_j), 5))
        verts = np.stack([j + np.array([0, 1, 1, 0, 0]), i + np.array([0, 0, 1, 1, 0])], axis=-1).reshape(-1, 2)
        codes = np.tile([matplotlib.path.Path.MOVETO] + [matplotlib.path.Path.LINETO] * 3
                        + [matplotlib.path.Path.CLOSEPOLY], len(rows_i))
        color = rgba[rows_i[0], cols_j[0]]
        # `add_artist`, not `add_patch`: the limits are set just below, and `add_patch` walks every segment for them
        ax.add_artist(matplotlib.patches.PathPatch(matplotlib.path.Path(verts, codes), facecolor=color,
                                                   edgecolor="white", linewidth=0.5))
    ax.set_xlim(0, n_cols)
    ax.set_ylim(n_rows, 0)
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0)
    if names_as_text:
        _cell_names(ax, rows, cols, col_rotation)
    else:
        ax.set_xticks(np.arange(n_cols) + 0.5, list(cols), fontsize=LABEL_SIZE, rotation=col_rotation)
        ax.set_yticks(np.arange(n_rows) + 0.5, list(rows), fontsize=LABEL_SIZE, rotation=0)
    if annotate:
        for i in range(n_rows):
            for j in range(n_cols):
                v = values[i, j]
                if np.isfinite(v):
                    dark = (v - lo) / (hi - lo) > 0.6
                    ax.text(j + 0.5, i + 0.5, ru_number(v, 0), ha="center", va="center", fontsize=10,
                            color="white" if dark else "#262626")


def _cell_names(ax, rows, cols, col_rotation: float = 0) -> None:
    """Row names left of the rows and column names under the columns, placed and styled as matplotlib
    places and styles tick labels of zero length (pad `*tick.major.pad` points, colour `*tick.color`)."""
    ax.set_xticks([])
    ax.set_yticks([])
    rc = matplotlib.rcParams
    trans, va, ha = ax.get_yaxis_text1_transform(rc["ytick.major.pad"])
    color = rc["ytick.color"] if rc["ytick.labelcolor"] == "inherit" else rc["ytick.labelcolor"]
    for i, name in enumerate(rows):
        ax.text(0, i + 0.5, name, transform=trans, ha=ha, va=va, fontsize=LABEL_SIZE, color=color)._shnor_name = "row"
    trans, va, ha = ax.get_xaxis_text1_transform(rc["xtick.major.pad"])
    color = rc["xtick.color"] if rc["xtick.labelcolor"] == "inherit" else rc["xtick.labelcolor"]
    for j, name in enumerate(cols):
        ax.text(j + 0.5, 0, name, transform=trans, ha=ha, va=va, fontsize=LABEL_SIZE, color=color,
                rotation=col_rotation)._shnor_name = "col"


def cell_names(ax) -> tuple[list, list]:
    """The row and the column name texts of a heat map drawn with `names_as_text` (for tests and readers
    of a figure), in drawing order; not the counts inside the cells."""
    return ([t for t in ax.texts if getattr(t, "_shnor_name", None) == "row"],
            [t for t in ax.texts if getattr(t, "_shnor_name", None) == "col"])


def agreement_cells(table: pd.DataFrame) -> list[tuple[int, int]]:
    """(column position, row position) of the cells where the row mark equals the column mark
    («подтвердили»), whatever the order of the axes (the ВПР mark runs 5 → 2 down the rows)."""
    cols = {int(c): j for j, c in enumerate(table.columns)}
    return [(cols[int(r)], i) for i, r in enumerate(table.index) if int(r) in cols]


RISK_LEVEL_COLORS = {"высокий": "#d95f02", "средний": "#fdb863", "низкий": "#b2d8b2"}
CONTEXT_COLORS = {"другие школы региона": "#c7c7c7", "школы отчёта": "#1f77b4", "ШНОР": "#d62728",
                  "выше ожидаемого": "#2ca02c"}


def context_scatter(data: pd.DataFrame, *, x: str, y: str, hue: str, expected: str | None = None,
                    title: str = "", xlabel: str = "", ylabel: str = "", palette: dict | None = None):
    """Results against the context: one point per school (`hue` groups), and the line of the
    expected result (`expected` column, the regression's prediction) when given."""
    setup()
    palette = palette or CONTEXT_COLORS
    fig = plt.figure(figsize=(8, 4.4))
    top = _title(fig, title)
    fig.set_size_inches(8, 4.0 + top)
    ax = fig.add_subplot()
    _place(fig, left=1.0, right=0.2, top=top + 0.05, bottom=0.6)
    order = [h for h in palette if h in set(data[hue])]
    for h in order:
        part = data[data[hue] == h]
        ax.scatter(part[x], part[y], s=28 if h == order[0] else 46, color=palette[h], label=h,
                   edgecolor="white", linewidth=0.5, zorder=2 if h == order[0] else 3)
    if expected is not None and len(data):
        line = data.sort_values(x)
        ax.plot(line[x], line[expected], color="#444", lw=1, ls="--", label="ожидаемый результат", zorder=1)
    ax.axhline(0, color="#888", lw=0.6)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    _ru_axes(fig)
    return fig


def count_bars(data: pd.DataFrame, *, x: str, y: str, title: str = "", ylabel: str = "",
               highlight: str | None = None):
    """Vertical bars of a count by `x` (e.g. ШНОР by list year); rows where the boolean column
    `highlight` is true are a forecast: pale, hatched, dashed outline and «прогноз» over the value."""
    setup()
    fig = plt.figure(figsize=(6, 3.2))
    top = _title(fig, title)
    fig.set_size_inches(6, 2.8 + top)
    ax = fig.add_subplot()
    _place(fig, left=0.9, right=0.2, top=top + 0.05, bottom=0.45)
    labels = data[x].astype(str).tolist()
    vals = data[y].astype("float64").fillna(0).to_numpy()
    bars = ax.bar(labels, vals, color="#d62728", alpha=0.85)
    flags = data[highlight].fillna(False).astype(bool).tolist() if highlight is not None else [False] * len(vals)
    for bar, v, flag in zip(bars, vals, flags):
        text = ru_number(v, 0)
        if flag:
            bar.set_hatch("//")
            bar.set_alpha(0.45)
            bar.set_linestyle("--")
            bar.set_edgecolor("#7a1010")
            bar.set_linewidth(1.2)
            text = f"{text}\n{FORECAST}"
        ax.text(bar.get_x() + bar.get_width() / 2, v, text, ha="center", va="bottom", fontsize=9,
                style="italic" if flag else "normal")
    ax.set_ylim(0, max(1.0, float(vals.max()) if len(vals) else 1.0) * 1.3)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    _ru_axes(fig)
    return fig


def _year_lines(ax, frame: pd.DataFrame, *, x: str, y: str, hue: str, palette: dict, forecast: str | None) -> None:
    """One line per `hue`; points of a forecast year (boolean column `forecast`) are hollow, joined by a
    dashed segment and marked «прогноз» — never drawn as a fact."""
    levels = [h for h in palette if h in set(frame[hue])] + [h for h in dict.fromkeys(frame[hue]) if h not in palette]
    marked = False
    for level in levels:
        part = frame[frame[hue] == level].sort_values(x)
        color = palette.get(level)
        is_fc = part[forecast].fillna(False).astype(bool).to_numpy() if forecast in part else np.zeros(len(part), bool)
        fact, fc = part[~is_fc], part[is_fc]
        ax.plot(fact[x], fact[y], color=color, marker="o", lw=1.8, label=level, clip_on=False)
        if len(fc):
            joined = pd.concat([fact.tail(1), fc])
            ax.plot(joined[x], joined[y], color=color, lw=1.5, ls="--", clip_on=False)
            ax.plot(fc[x], fc[y], ls="none", marker="o", markerfacecolor="white", markeredgecolor=color, markersize=7,
                    clip_on=False)
            if not marked:
                for xv in fc[x].unique():
                    ax.axvspan(xv - 0.4, xv + 0.4, color="#f0f0f0", zorder=0)
                    ax.text(xv, 1.0, FORECAST, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                            fontsize=9, style="italic", color="#444")
                marked = True


def _lines_chart(data: pd.DataFrame, *, x: str, y: str, hue: str, title: str, ylabel: str, palette: dict,
                 percent: bool, size=(7.0, 3.4)):
    frame = data.dropna(subset=[y]).astype({x: int, y: float})
    forecast = "forecast" if "forecast" in frame else None
    fig = plt.figure(figsize=size)
    top = _title(fig, title) + (0.2 if forecast and frame[forecast].any() else 0.05)
    bottom = 0.55 + 0.35   # year ticks and «Год», then the legend row
    fig.set_size_inches(size[0], size[1] - 0.4 + top)
    ax = fig.add_subplot()
    _place(fig, left=1.0, right=0.25, top=top, bottom=bottom)
    _year_lines(ax, frame, x=x, y=y, hue=hue, palette=palette, forecast=forecast)
    years = sorted(frame[x].unique())
    ax.set_xticks(years, [str(v) for v in years])
    if len(years):
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
    ax.set_xlabel("Год")
    ax.set_ylabel(ylabel)
    if percent:
        share_axis(ax, "y")
    else:
        ax.set_ylim(bottom=min(0.0, float(frame[y].min()) if len(frame) else 0.0))
    n_levels = frame[hue].nunique()
    ax.legend(frameon=False, ncol=max(1, n_levels), loc="upper center",
              bbox_to_anchor=(0.5, -0.55 / (fig.get_figheight() - top - bottom)))
    _ru_axes(fig)
    return fig, ax


def level_lines(data: pd.DataFrame, *, x: str, y: str, hue: str, title: str = "", ylabel: str = "",
                palette: dict | None = None, percent: bool = True):
    """Multi-year lines of `y` by `x` (years), one line per `hue` (школа / муниципалитет / регион); a
    share on a 0–100 % axis; rows with a true `forecast` column drawn dashed and marked «прогноз»."""
    setup()
    fig, _ = _lines_chart(data, x=x, y=y, hue=hue, title=title, ylabel=ylabel, palette=palette or LEVEL_COLORS,
                          percent=percent)
    return fig


def series_lines(data: pd.DataFrame, *, x: str = "year", y: str = "value", hue: str = "уровень", title: str = "",
                 ylabel: str = "", target: float | None = None, target_label: str = "цель", percent: bool | None = None):
    """Series of an indicator over the years, one line per `hue` (школа / муниципалитет / регион); a share
    (`percent`, default: `ylabel` is «%») on a 0–100 % axis; a forecast year dashed and marked «прогноз»;
    `data.attrs["note"]` (e.g. the school's own 0/1 status, not a share) printed under the title."""
    setup()
    note = data.attrs.get("note")
    fig, ax = _lines_chart(data, x=x, y=y, hue=hue, title=title + (f"\n{note}" if note else ""), ylabel=ylabel,
                           palette=LEVEL_COLORS, percent=_is_percent(ylabel, percent), size=(7.0, 3.2))
    if target is not None:
        ax.axhline(target, color="#444", ls="--", lw=1)
        ax.text(ax.get_xlim()[1], target, f" {target_label}", va="bottom", ha="right", fontsize=8)
    return fig


def sign_heatmap(data: pd.DataFrame, *, x: str, y: str, value: str, title: str = ""):
    """Schools × procedures: 1 = sign (orange), 0 = no sign (light), NaN = «недостаточно данных» (grey
    hatch). Names at 9 pt in a figure no wider than a page (≤ 8 in, shown at ≤ 1:1 at A4 width and
    1280 px); the height grows with the number of schools."""
    setup()
    table = data.pivot_table(index=y, columns=x, values=value, aggfunc="max")
    table = table.loc[table.fillna(-1).sum(axis=1).sort_values(ascending=False).index]
    n_rows, n_cols = table.shape
    rows = [wrap_label(v, 40) for v in table.index.astype(str)]
    cols = [wrap_label(v, 20) for v in table.columns.astype(str)]
    row_h = 0.16 + 0.14 * _lines(rows)          # every row fits its longest (wrapped) name
    left = min(3.5, _text_in(rows) + 0.3)
    width = min(8.0, max(6.0, left + 0.5 * n_cols + 0.3))
    bottom = min(2.4, _text_in(cols) + 0.2)       # procedure names written upwards
    fig = plt.figure(figsize=(width, row_h * n_rows + bottom + 1.0))
    top = _title(fig, title) + 0.35   # the legend row
    fig.set_size_inches(width, row_h * n_rows + bottom + top)
    ax = fig.add_subplot()
    _place(fig, left=left, right=0.3, top=top, bottom=bottom)
    ax.set_facecolor("#d9d9d9")
    cmap = matplotlib.colors.ListedColormap(["#eef2f7", "#d95f02"])
    _grid(ax, table.to_numpy(dtype="float64"), cmap=cmap, rows=rows, cols=cols, vmin=0, vmax=1,
          names_as_text=True, col_rotation=90)
    handles = [matplotlib.patches.Patch(color="#d95f02", label="признак есть"),
               matplotlib.patches.Patch(color="#eef2f7", label="признака нет"),
               matplotlib.patches.Patch(color="#d9d9d9", label="недостаточно данных")]
    # the legend row spans the figure from its left edge (over the names), not only the plot
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.04 / width, 1 - top / fig.get_figheight()),
               ncol=3, frameon=False, fontsize=LABEL_SIZE, borderaxespad=0.1)
    return fig


def score_distributions(data: pd.DataFrame, *, x: str, y: str, hue: str, col: str, boundaries: dict,
                        title: str = ""):
    """One panel per `col` (work): % of participants per primary score by `hue` (школа / регион),
    mark boundaries (lowest scores of «3», «4», «5») as dashed lines."""
    setup()
    works = list(dict.fromkeys(data[col]))
    ncols = 2 if len(works) > 1 else 1
    nrows = int(np.ceil(len(works) / ncols))
    width = 5.2 * ncols
    fig = plt.figure(figsize=(width, 2.9 * nrows + 0.6))
    top = _title(fig, title) + 0.45   # panel title and the «3» «4» «5» marks above the first row
    fig.set_size_inches(width, 2.9 * nrows - 0.45 + top + 0.1)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    _place(fig, left=0.9, right=0.2, top=top, bottom=0.55, wgap=1.0, hgap=1.0, ncols=ncols, nrows=nrows)
    palette = {k: v for k, v in LEVEL_COLORS.items() if k in set(data[hue])}
    for ax, work in zip(axes.ravel(), works):
        part = data[data[col] == work]
        for level, sub in part.groupby(hue, sort=False):
            n = int(sub["n"].iloc[0]) if "n" in sub else None
            style = {"drawstyle": "steps-mid", "lw": 1.6 if level != "регион" else 1.2}
            ax.plot(sub[x], sub[y], color=palette.get(level), label=f"{level} (n = {n})" if n else level, **style)
        marks = list(zip((3, 4, 5), boundaries.get(work, [])))
        if marks:   # the boundaries: one dashed line of several segments, widening the x range as `axvline`
            xs = [b - 0.5 for _, b in marks]
            ax.add_artist(matplotlib.lines.Line2D(*_across(xs), transform=ax.get_xaxis_transform(), color="#444",
                                                  ls="--", lw=0.8))
            ax.update_datalim([(v, 0.0) for v in xs], updatey=False)
        for mark, b in marks:
            ax.text(b - 0.5, 1.01, f"«{mark}»", fontsize=8, ha="center", va="bottom", transform=ax.get_xaxis_transform())
        ax.set_title(work, loc="left", fontsize=10, pad=14)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("Первичный балл")
        ax.set_ylabel("% участников")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_num_tick))
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    for ax in axes.ravel()[len(works):]:
        ax.set_visible(False)
    _ru_axes(fig)
    for ax in axes.ravel()[:len(works)]:
        _static_ticks(ax)
    return fig


def index_lines(data: pd.DataFrame, *, x: str, y: str, hue: str, title: str = "", highlight: str | None = None):
    """Objectivity index over the years: one line per `hue` (municipalities, region dashed in black)."""
    setup()
    names = [str(v) for v in dict.fromkeys(data[hue])]
    right = min(3.0, _text_in(names, 8) + 0.6)
    fig = plt.figure(figsize=(8, 3.8))
    top = _title(fig, title) + 0.05
    fig.set_size_inches(8, 3.4 + top)
    ax = fig.add_subplot()
    _place(fig, left=1.0, right=right, top=top, bottom=0.6)
    for name, part in data.sort_values(x).groupby(hue, sort=False):
        is_ref = name == highlight
        ax.plot(part[x], part[y], marker="o", lw=2.2 if is_ref else 1.4, ls="--" if is_ref else "-",
                color="#222" if is_ref else None, label=name)
    years = sorted(data[x].unique())
    ax.set_xticks(years, [str(v) for v in years])
    ax.set_ylim(max(0, data[y].min() - 10), 101)
    ax.set_xlabel("Год")
    ax.set_ylabel("Индекс объективности")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _ru_axes(fig)
    return fig
