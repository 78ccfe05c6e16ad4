"""Chart helpers: tidy frame + column names in, matplotlib Figure out (seaborn style).

One Russian theme, set once by `setup()`; the same argument names everywhere
(`data`, `x`, `y`, `hue`, `title`). Figures are rendered to PNG by `report.Report.figure`.
"""
from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

AGREEMENT_COLORS = {"понизили": "#d95f02", "подтвердили": "#7f7f7f", "повысили": "#1b9e77"}
LEVEL_COLORS = {"школа": "#1f77b4", "муниципалитет": "#ff7f0e", "регион": "#7f7f7f"}
def setup() -> None:
    """The report theme: seaborn whitegrid, DejaVu Sans (has Cyrillic), readable sizes.

    Applied before every chart (cheap), so a warm kernel whose rcParams were reset between
    reports draws the same pictures as a fresh one."""
    sns.set_theme(style="whitegrid", context="notebook", font="DejaVu Sans",
                  rc={"figure.dpi": 100, "axes.titlesize": 12, "axes.titleweight": "bold",
                      "axes.labelsize": 10, "legend.fontsize": 9, "svg.hashsalt": "shnor"})


def _fmt_pct(ax, axis="x"):
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.0f} %")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


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
    long_labels = max((len(v) for v in data[y].astype(str)), default=0) > 12
    fig = plt.figure(figsize=(9, 0.2 * lines + 0.12 * n + 1.5))
    # fixed layout: label column on the left, plot on the right (no tight_layout squeezing the plot)
    left_edge = 0.36 if long_labels else 0.12
    ax = fig.add_axes((left_edge, 0.8 / fig.get_figheight(), 0.96 - left_edge, 1 - 1.5 / fig.get_figheight()))
    pos = np.arange(n)
    left = np.zeros(n)
    for part in parts:
        vals = data[part].astype("float64").fillna(0).to_numpy()
        ax.barh(pos, vals, left=left, color=colors.get(part), label=part, edgecolor="white")
        for i, (l, v) in enumerate(zip(left, vals)):
            if v >= 7:
                ax.text(l + v / 2, i, f"{v:.0f}", ha="center", va="center", fontsize=8, color="white")
        left += vals
    ax.set_yticks(pos, labels, fontsize=9)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.invert_yaxis()
    _fmt_pct(ax)
    ax.set_xlabel(xlabel)
    ax.legend(ncol=len(parts), loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False)
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    return fig


def grouped_bars(data: pd.DataFrame, *, x: str, y: str, hue: str, title: str = "", ylabel: str = "",
                 palette: dict | None = None, reference: float | None = None, reference_label: str = ""):
    """Vertical bars of `y` by `x`, one colour per `hue` (e.g. школа / муниципалитет / регион)."""
    setup()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    sns.barplot(data=data, x=x, y=y, hue=hue, palette=palette or LEVEL_COLORS, ax=ax)
    if reference is not None:
        ax.axhline(reference, color="#444", ls="--", lw=1)
        ax.text(ax.get_xlim()[1], reference, f" {reference_label}", va="bottom", ha="right", fontsize=8)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(title="", frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    for label in ax.get_xticklabels():
        label.set_rotation(0 if len(data[x].unique()) < 6 else 30)
    fig.tight_layout()
    return fig


def mark_heatmap(table: pd.DataFrame, *, title: str = "", xlabel: str = "Отметка по журналу",
                 ylabel: str = "Отметка за ВПР"):
    """Heat map of a ВПР mark × journal mark cross-table (counts); the diagonal = «подтвердили»."""
    setup()
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    sns.heatmap(table, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax, linewidths=0.5)
    for col, row in agreement_cells(table):
        ax.add_patch(plt.Rectangle((col, row), 1, 1, fill=False, ec="#d95f02", lw=1.5))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    fig.tight_layout()
    return fig


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
    fig, ax = plt.subplots(figsize=(8, 4.4))
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
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def count_bars(data: pd.DataFrame, *, x: str, y: str, title: str = "", ylabel: str = "",
               highlight: str | None = None):
    """Vertical bars of a count by `x` (e.g. ШНОР by list year); rows where the boolean column
    `highlight` is true are hatched (forecast)."""
    setup()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    labels = data[x].astype(str).tolist()
    vals = data[y].astype("float64").fillna(0).to_numpy()
    bars = ax.bar(labels, vals, color="#d62728", alpha=0.85)
    if highlight is not None:
        for bar, flag in zip(bars, data[highlight].tolist()):
            if flag:
                bar.set_hatch("//")
                bar.set_alpha(0.45)
    for bar, v in zip(bars, vals):
        ax.text(bar.get_x() + bar.get_width() / 2, v, f"{v:.0f}", ha="center", va="bottom", fontsize=9)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def level_lines(data: pd.DataFrame, *, x: str, y: str, hue: str, title: str = "", ylabel: str = "",
                palette: dict | None = None, percent: bool = True):
    """Multi-year lines of `y` by `x` (years), one line per `hue` (школа / муниципалитет / регион)."""
    setup()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    frame = data.dropna(subset=[y]).astype({x: int, y: float})
    sns.lineplot(data=frame, x=x, y=y, hue=hue, palette=palette or LEVEL_COLORS, marker="o", ax=ax)
    years = sorted(frame[x].unique())
    ax.set_xticks(years)
    ax.set_xticklabels([str(v) for v in years])
    ax.set_xlabel("Год")
    ax.set_ylabel(ylabel)
    if percent:
        _fmt_pct(ax, "y")
        ax.set_ylim(bottom=0)
    ax.set_title(title, loc="left")
    ax.legend(title="", frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    fig.tight_layout()
    return fig


def series_lines(data: pd.DataFrame, *, x: str = "year", y: str = "value", hue: str = "уровень", title: str = "",
                 ylabel: str = "", target: float | None = None, target_label: str = "цель"):
    """Series of an indicator over the years, one line per `hue` (школа / муниципалитет / регион)."""
    setup()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sns.lineplot(data=data, x=x, y=y, hue=hue, palette=LEVEL_COLORS, marker="o", ax=ax)
    if target is not None:
        ax.axhline(target, color="#444", ls="--", lw=1)
        ax.text(ax.get_xlim()[1], target, f" {target_label}", va="bottom", ha="right", fontsize=8)
    ax.set_xticks(sorted(data[x].unique()))
    ax.set_xlabel("Год")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(title="", frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    fig.tight_layout()
    return fig


def sign_heatmap(data: pd.DataFrame, *, x: str, y: str, value: str, title: str = ""):
    """Schools × procedures: 1 = sign (orange), 0 = no sign (light), NaN = «недостаточно данных» (grey
    hatch). Height grows with the number of schools so that 40 schools stay readable."""
    setup()
    table = data.pivot_table(index=y, columns=x, values=value, aggfunc="max")
    table = table.loc[table.fillna(-1).sum(axis=1).sort_values(ascending=False).index]
    n_rows, n_cols = table.shape
    fig, ax = plt.subplots(figsize=(max(6.0, 1.0 * n_cols + 3.5), 0.32 * n_rows + 1.8))
    ax.set_facecolor("#d9d9d9")
    cmap = matplotlib.colors.ListedColormap(["#eef2f7", "#d95f02"])
    sns.heatmap(table, cmap=cmap, vmin=0, vmax=1, cbar=False, linewidths=0.5, linecolor="white", ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="y", labelsize=8 if n_rows > 25 else 9)
    for label in ax.get_xticklabels():
        label.set_rotation(40)
        label.set_horizontalalignment("right")
    handles = [matplotlib.patches.Patch(color="#d95f02", label="признак есть"),
               matplotlib.patches.Patch(color="#eef2f7", label="признака нет"),
               matplotlib.patches.Patch(color="#d9d9d9", label="недостаточно данных")]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False, fontsize=8)
    ax.set_title(title, loc="left", pad=22)
    fig.tight_layout()
    return fig


def score_distributions(data: pd.DataFrame, *, x: str, y: str, hue: str, col: str, boundaries: dict,
                        title: str = ""):
    """One panel per `col` (work): % of participants per primary score by `hue` (школа / регион),
    mark boundaries (lowest scores of «3», «4», «5») as dashed lines."""
    setup()
    works = list(dict.fromkeys(data[col]))
    ncols = 2 if len(works) > 1 else 1
    nrows = int(np.ceil(len(works) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 2.9 * nrows + 0.6), squeeze=False)
    palette = {k: v for k, v in LEVEL_COLORS.items() if k in set(data[hue])}
    for ax, work in zip(axes.ravel(), works):
        part = data[data[col] == work]
        for level, sub in part.groupby(hue, sort=False):
            n = int(sub["n"].iloc[0]) if "n" in sub else None
            style = {"drawstyle": "steps-mid", "lw": 1.6 if level != "регион" else 1.2}
            ax.plot(sub[x], sub[y], color=palette.get(level), label=f"{level} (n = {n})" if n else level, **style)
        for mark, b in zip((3, 4, 5), boundaries.get(work, [])):
            ax.axvline(b - 0.5, color="#444", ls="--", lw=0.8)
            ax.text(b - 0.5, 1.01, f"«{mark}»", fontsize=8, ha="center", va="bottom", transform=ax.get_xaxis_transform())
        ax.set_title(work, loc="left", fontsize=10, pad=14)
        ax.set_xlabel("Первичный балл")
        ax.set_ylabel("% участников")
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    for ax in axes.ravel()[len(works):]:
        ax.set_visible(False)
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.tight_layout()
    return fig


def index_lines(data: pd.DataFrame, *, x: str, y: str, hue: str, title: str = "", highlight: str | None = None):
    """Objectivity index over the years: one line per `hue` (municipalities, region dashed in black)."""
    setup()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for name, part in data.sort_values(x).groupby(hue, sort=False):
        is_ref = name == highlight
        ax.plot(part[x], part[y], marker="o", lw=2.2 if is_ref else 1.4, ls="--" if is_ref else "-",
                color="#222" if is_ref else None, label=name)
    ax.set_xticks(sorted(data[x].unique()))
    ax.set_ylim(max(0, data[y].min() - 10), 101)
    ax.set_xlabel("Год")
    ax.set_ylabel("Индекс объективности")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title, loc="left")
    fig.tight_layout()
    return fig
