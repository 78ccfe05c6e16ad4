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
