"""Chart geometry a reader relies on."""
import matplotlib.pyplot as plt
import pandas as pd

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


def _no_overlap(boxes):
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
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0 %", "25 %", "50 %", "75 %", "100 %"]
    assert _no_overlap(ticks)                                  # «0 %» and «100 %» apart
    # the labels fit inside the figure on the left
    assert min(t.get_window_extent(renderer).x0 for t in ax.get_yticklabels()) >= 0
    plt.close(fig)
