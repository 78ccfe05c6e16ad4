import numpy as np
import pytest

from shnor_utils.indicators.stats import percent, wilson_ci


def test_wilson_one_of_four_by_hand():
    # p = 0.25, z² = 3.8416: centre = (0.25 + 0.4802)/1.9604 = 0.37247,
    # half = 1.96·√(0.046875 + 0.060025)/1.9604 = 0.32689 → [4.558 %, 69.936 %]
    low, high = wilson_ci(1, 4)
    assert low == pytest.approx(4.558, abs=0.01) and high == pytest.approx(69.936, abs=0.01)


def test_wilson_edges():
    low, high = wilson_ci([0, 10, 0], [10, 10, 0])
    assert low[0] == 0 and high[0] == pytest.approx(27.75, abs=0.01)   # 0/10: upper = z²/(n+z²) = 27.75 %
    assert high[1] == 100 and low[1] == pytest.approx(72.25, abs=0.01)
    assert np.isnan(low[2]) and np.isnan(high[2])                          # n = 0: no interval


def test_percent():
    assert percent(1, 4) == 25
    assert np.isnan(percent(1, 0))
