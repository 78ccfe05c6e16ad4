"""Funnel plot (issue 16, point 4): every school's share against its number of participants, with the
control limits around the region share (`indicators.stats.funnel`), the report's own school highlighted.

A fair comparison instead of a league table: a small school far from the region is often inside the
limits, a large school slightly off may be outside them. Figures follow the theme of `charts.setup()`.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from shnor_utils.indicators.stats import funnel_limits  # noqa: E402
from shnor_utils.reporting.charts import _place, setup  # noqa: E402

POINT = "#7f7f7f"
OUTSIDE = "#d95f02"
OWN = "#1f77b4"
PEER = "#66a61e"


def _pct(v, _=None) -> str:
    return f"{v:.0f}\u00a0%"


def level_label(level: float) -> str:
    """0.998 → «99,8 %»."""
    return f"{100 * level:g}".replace(".", ",") + "\u00a0%"


RASTER_FROM = 150   # more ordinary points than this are drawn as one embedded image (≈ 160 KB of SVG at 1,000 schools)

def funnel_plot(points: pd.DataFrame, *, p0: float, levels=(0.95, 0.998), title: str = "",
                xlabel: str = "Число участников", ylabel: str = "Доля, %", own: str | None = None,
                peers: list | None = None, peers_label: str = "похожие школы (тот же кластер)"):
    """`points`: one row per school with columns `entity_id`, `n`, `share` (%) and `position`
    (from `stats.funnel`); `p0` is the region share in percent. `own` is drawn large and labelled
    («эта школа»), `peers` (schools of its context cluster, or of the report's municipality) in green
    squares with `peers_label`; other schools outside the widest limits in orange. Axes: n (linear) and
    the share 0–100 %."""
    setup()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    n_max = max(float(points["n"].max()) if len(points) else 10, 10)
    # the limits change fast at small n and slowly after: points spaced evenly on a log scale (≈ 80
    # vertices a curve instead of 300 drawn the same: fewer bytes of SVG path)
    grid = np.unique(np.geomspace(1, n_max * 1.05, 80).round())
    styles = {levels[0]: "--", levels[-1]: ":"}
    for lv in levels:
        low, high = funnel_limits(p0 / 100, grid, lv)
        ax.plot(grid, high, styles.get(lv, "-"), color="#444", lw=1, label=f"границы {level_label(lv)}")
        ax.plot(grid, low, styles.get(lv, "-"), color="#444", lw=1)
    ax.axhline(p0, color="#444", lw=1.2, label=f"регион: {p0:.1f}".replace(".", ",") + "\u00a0%")
    pts = points.dropna(subset=["share", "n"])
    is_peer = pts["entity_id"].isin(peers or []) & (pts["entity_id"] != own)
    outside = pts["position"].isin(["above", "below"]) & ~is_peer
    rest = ~outside & ~is_peer & (pts["entity_id"] != own)
    ax.scatter(pts.loc[rest, "n"], pts.loc[rest, "share"], s=18, color=POINT, alpha=0.7, label="школы",
               rasterized=int(rest.sum()) > RASTER_FROM)   # a region of 1,000 schools: one picture, not 1,000 SVG paths
    if outside.any():
        sel = outside & (pts["entity_id"] != own)
        ax.scatter(pts.loc[sel, "n"], pts.loc[sel, "share"], s=24, color=OUTSIDE,
                   label=f"за границей {level_label(levels[-1])}")
    if is_peer.any():
        ax.scatter(pts.loc[is_peer, "n"], pts.loc[is_peer, "share"], s=26, color=PEER, marker="s",
                   label=peers_label, rasterized=int(is_peer.sum()) > RASTER_FROM)
    mine = pts[pts["entity_id"] == own] if own is not None else pts.iloc[0:0]
    if len(mine):
        ax.scatter(mine["n"], mine["share"], s=110, color=OWN, edgecolor="black", zorder=5, label="эта школа")
    ax.set_ylim(0, 100)
    ax.set_xlim(0, n_max * 1.05)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_pct))
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.legend(loc="upper right", fontsize=8, frameon=True)
    _place(fig, left=0.85, right=0.15, top=0.4, bottom=0.6)   # fixed margins: no tight-layout search per figure
    return fig
