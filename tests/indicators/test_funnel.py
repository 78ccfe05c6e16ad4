"""Funnel limits (issue 16, point 4) against a hand computation of the binomial tails."""
from math import comb

import numpy as np
import pytest

from shnor_utils.indicators.stats import funnel, funnel_limits


def cdf(r, n, p):
    return sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(0, r + 1))


def test_upper_limit_n10_by_hand():
    # Bin(10, 0.2): P(R ≤ 4) = 0.967207, P(R ≤ 5) = 0.993631; q = 0.975 → r = 5,
    # α = (0.993631 − 0.975) / (0.993631 − 0.967207) = 0.70508, limit = (5 − 0.70508) / 10 = 42.95 %
    at, below = cdf(5, 10, 0.2), cdf(4, 10, 0.2)
    assert at == pytest.approx(0.993631, abs=1e-6) and below == pytest.approx(0.967207, abs=1e-6)
    hand = 100 * (5 - (at - 0.975) / (at - below)) / 10
    low, high = funnel_limits(0.2, [10], 0.95)
    assert high[0] == pytest.approx(hand, abs=1e-9)
    assert high[0] == pytest.approx(42.95, abs=0.01)
    assert low[0] == 0.0          # (0 − 0.767) / 10 < 0: clipped at 0


def test_lower_limit_n50_by_hand():
    # Bin(50, 0.3), q = 0.001 (99.8 %): smallest r with P(R ≤ r) ≥ 0.001
    q = 0.001
    r = next(r for r in range(51) if cdf(r, 50, 0.3) >= q)
    at, below = cdf(r, 50, 0.3), cdf(r - 1, 50, 0.3)
    hand = 100 * (r - (at - q) / (at - below)) / 50
    low, high = funnel_limits(0.3, [50], 0.998)
    assert low[0] == pytest.approx(hand, abs=1e-9)
    assert 0 < low[0] < 30 < high[0]


def test_large_n_close_to_normal_and_narrowing():
    low, high = funnel_limits(0.2, [10_000, 100, 0], 0.95)
    assert high[0] == pytest.approx(20 + 1.96 * 100 * np.sqrt(0.2 * 0.8 / 10_000), abs=0.02)
    assert high[1] > high[0] and low[1] < low[0]
    assert np.isnan(high[2]) and np.isnan(low[2])


def test_positions_of_hand_made_schools():
    # region share Σk/Σn = (2 + 14 + 30 + 0) / (40 + 40 + 40 + 0) = 46/120 = 38,3 %
    f = funnel(k=[2, 14, 30, 0], n=[40, 40, 40, 0])
    assert f["p0"].iloc[0] == pytest.approx(100 * 46 / 120)
    assert list(f["position"][:3]) == ["below", "within", "above"] and f["position"].isna().iloc[3]
    assert f["share"].iloc[2] == pytest.approx(75.0)


def test_overdispersion_by_hand():
    # p0 = 20 %, n = 100 each: se = √(0.2·0.8/100) = 0.04; shares 10, 20, 30, 40 % → z = −2.5, 0, 2.5, 5.
    # winsor 0 (no trimming): φ = (6.25 + 0 + 6.25 + 25) / 4 = 9.375
    from shnor_utils.indicators.stats import overdispersion
    assert overdispersion([10, 20, 30, 40], [100] * 4, 0.2, winsor=0.0) == pytest.approx(9.375)
    # winsor 0.25 of four z: quantiles (linear) at 0.25 → −0.625·… computed by numpy's rule:
    # sorted z = [−2.5, 0, 2.5, 5]; q25 = −2.5 + 0.75·2.5 = −0.625, q75 = 2.5 + 0.25·2.5 = 3.125
    # clipped: [−0.625, 0, 2.5, 3.125] → φ = (0.390625 + 0 + 6.25 + 9.765625) / 4 = 4.1015625
    assert overdispersion([10, 20, 30, 40], [100] * 4, 0.2, winsor=0.25) == pytest.approx(4.1015625)


def test_widened_limits_by_hand_and_fewer_schools_outside():
    # ten schools of n = 100 around p0 = 20 %: z = ±2.5 alternately → φ = 6.25 (winsor 0.1 changes nothing)
    k = [10, 30] * 5
    n = [100] * 10
    plain = funnel(k, n, (0.95, 0.998), 0.2)
    wide = funnel(k, n, (0.95, 0.998), 0.2, adjust=True, winsor=0.1, min_groups=10)
    assert wide["phi"].iloc[0] == pytest.approx(6.25) and wide["adjusted"].all()
    # 99.8 %: z = 3.0902; half-width = 100·3.0902·√(6.25·0.16/100) = 30.90 п.п. → 0 (clipped) … 50.90 %
    assert wide["high_0.998"].iloc[0] == pytest.approx(20 + 100 * 3.090232 * np.sqrt(6.25 * 0.16 / 100), abs=1e-4)
    assert wide["low_0.998"].iloc[0] == 0.0
    assert (plain["position"] == "above").sum() == 0 and (plain["position"] == "above_inner").sum() == 5
    assert (wide["position"] == "within").all()
    # fewer than min_groups schools: no adjustment, exact limits
    few = funnel(k[:4], n[:4], (0.95, 0.998), 0.2, adjust=True, min_groups=10)
    assert not few["adjusted"].any() and few["high_0.998"].iloc[0] == pytest.approx(plain["high_0.998"].iloc[0])


def test_a_funnel_of_a_thousand_schools_stays_small():
    # 1,000 schools as 1,000 SVG paths made a school report 512 KB (make bench, 1,000 schools); the ordinary
    # points become one embedded image past RASTER_FROM, text and lines stay vector
    import matplotlib.pyplot as plt
    from shnor_utils.reporting import funnel as RF
    from shnor_utils.reporting.report import svg_of
    rng = np.random.default_rng(1)
    n = rng.integers(20, 800, 1000)
    pts = funnel(rng.binomial(n, 0.2), n, (0.95, 0.998), 0.2).assign(entity_id=[f"s{i}" for i in range(1000)])
    big = svg_of(RF.funnel_plot(pts, p0=20.0, title="Рис. 6"))
    few = svg_of(RF.funnel_plot(pts.head(RF.RASTER_FROM), p0=20.0, title="Рис. 6"))
    # a cluster of 400 similar schools (a school report): its squares are one picture too
    mine = svg_of(RF.funnel_plot(pts, p0=20.0, title="Рис. 6", own="s0", peers=[f"s{i}" for i in range(1, 400)]))
    plt.close("all")
    assert "<image" in big and len(big) < 40_000 and "Рис. 6" in big       # the title is still text
    assert "<image" not in few
    assert mine.count("<image") == 2 and len(mine) < 45_000
    # the embedded pictures have a palette of at most PNG_COLOURS colours (4× smaller than RGBA)
    import base64
    import io
    import re

    from PIL import Image

    from shnor_utils.reporting.report import PNG_COLOURS
    for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", big + mine):
        img = Image.open(io.BytesIO(base64.b64decode(data)))
        assert img.mode == "P" and len(img.getcolors()) <= PNG_COLOURS
