"""Small statistical helpers shared by the analyses (vectorised, NaN-safe)."""
from __future__ import annotations

import numpy as np


def wilson_ci(k, n, z: float = 1.96):
    """Wilson score interval of a proportion k/n, in percent (0–100).

    p̂ = k/n; centre = (p̂ + z²/2n) / (1 + z²/n); half = z·√(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n).
    n = 0 gives NaN. Source: Wilson (1927); the usual interval for shares of small groups."""
    k = np.asarray(k, dtype="float64")
    n = np.asarray(n, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low, high = 100 * (centre - half), 100 * (centre + half)
    bad = ~(n > 0)
    low = np.where(k == 0, 0.0, low)      # exact bounds at the edges (rounding gives ±1e-15)
    high = np.where(k == n, 100.0, high)
    low = np.where(bad, np.nan, np.clip(low, 0, 100))
    high = np.where(bad, np.nan, np.clip(high, 0, 100))
    return low, high


def percent(k, n):
    """100·k/n with NaN where n = 0."""
    k = np.asarray(k, dtype="float64")
    n = np.asarray(n, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, 100 * k / n, np.nan)
