"""Chart helpers: tidy frame + column names in, matplotlib Figure out (seaborn style).

One Russian theme, set once by `setup()`; the same argument names everywhere
(`data`, `x`, `y`, `hue`, `title`). Figures are rendered to PNG by `report.Report.figure`.
"""
from __future__ import annotations

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


def stacked_shares(data: pd.DataFrame, *, y: str, parts: list[str], colors: dict | None = None,
                   title: str = "", xlabel: str = "Доля участников, %", targets: pd.Series | None = None):
    """Horizontal 100 % stacked bars: one bar per `y` value, segments `parts` (columns, in %)."""
    setup()
    colors = colors or AGREEMENT_COLORS
    n = len(data)
    fig, ax = plt.subplots(figsize=(8, 0.45 * n + 1.4))
    left = np.zeros(n)
    labels = data[y].astype(str).tolist()
    for part in parts:
        vals = data[part].astype("float64").fillna(0).to_numpy()
        ax.barh(labels, vals, left=left, color=colors.get(part), label=part, edgecolor="white")
        for i, (l, v) in enumerate(zip(left, vals)):
            if v >= 7:
                ax.text(l + v / 2, i, f"{v:.0f}", ha="center", va="center", fontsize=8, color="white")
        left += vals
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    _fmt_pct(ax)
    ax.set_xlabel(xlabel)
    ax.legend(ncol=len(parts), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.set_title(title, loc="left", pad=24)
    fig.tight_layout()
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
    for i in range(min(table.shape)):
        ax.add_patch(plt.Rectangle((i, i), 1, 1, fill=False, ec="#d95f02", lw=1.5))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
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
