"""Small statistical helpers shared by the analyses (vectorised, NaN-safe)."""
from __future__ import annotations

import numpy as np
import pandas as pd


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


def funnel_limits(p0: float, n, level: float):
    """Control limits of a funnel plot around the reference share `p0` (0–1) for groups of size `n`,
    at the two-sided `level` (0.95, 0.998); returns (low, high) in percent (0–100), NaN where n = 0.

    Exact binomial limits with the interpolation of Spiegelhalter (2005, «Funnel plots for comparing
    institutional performance», Stat Med 24:1185): for the tail probability q (q = (1−level)/2 for the
    lower limit, 1 − q for the upper) r is the smallest count with P(R ≤ r) ≥ q, R ~ Bin(n, p0);
    α = (P(R ≤ r) − q) / (P(R ≤ r) − P(R ≤ r − 1)); the limit is (r − α) / n. A school whose share lies
    above the upper 99,8 % limit is unusual at that level even allowing for its size."""
    from scipy.stats import binom   # the only scipy use of this module; kept local to the function
    n = np.asarray(n, dtype="float64")
    out = []
    for q in ((1 - level) / 2, 1 - (1 - level) / 2):
        with np.errstate(invalid="ignore", divide="ignore"):
            safe = np.where(n > 0, n, 1)
            r = binom.ppf(q, safe, p0)
            at = binom.cdf(r, safe, p0)
            below = binom.cdf(r - 1, safe, p0)
            alpha = np.where(at > below, (at - q) / (at - below), 0.0)
            lim = np.clip(100 * (r - alpha) / safe, 0, 100)
        out.append(np.where(n > 0, lim, np.nan))
    return out[0], out[1]


def overdispersion(k, n, p0: float, winsor: float = 0.1) -> float:
    """Multiplicative overdispersion φ of shares k/n around p0 (Spiegelhalter 2005, §3.3): the z-scores
    z = (k/n − p0) / √(p0(1 − p0)/n) are winsorised at the `winsor` and 1 − `winsor` quantiles (so that
    the schools being judged do not widen their own limits) and φ = mean(z²). φ ≈ 1 when schools differ
    only by chance; NaN with no group of n > 0 or p0 at 0 or 1."""
    k = np.asarray(k, dtype="float64")
    n = np.asarray(n, dtype="float64")
    ok = n > 0
    if not ok.any() or not 0 < p0 < 1:
        return float("nan")
    z = (k[ok] / n[ok] - p0) / np.sqrt(p0 * (1 - p0) / n[ok])
    lo, hi = np.quantile(z, [winsor, 1 - winsor])
    return float(np.mean(np.clip(z, lo, hi) ** 2))


def funnel(k, n, levels=(0.95, 0.998), p0: float | None = None, *, adjust: bool = False,
           winsor: float = 0.1, min_groups: int = 10):
    """Points of a funnel plot: share (%), n, limits at each level and the position of each group.

    `p0` (0–1) defaults to the pooled share Σk / Σn. `position` is «выше» when the share lies above
    the upper limit of the widest level ("above"), below its lower limit ("below"), between the narrowest
    and widest limits ("above_inner" / "below_inner"), "within" otherwise (a group of n = 0: missing).

    With `adjust`, at least `min_groups` groups and φ = `overdispersion(...)` > 1 (schools differ more
    than chance allows — pupils of one school are not independent), the limits are widened by √φ:
    p0 ± z·√(φ·p0(1 − p0)/n), z the normal quantile of the level (Spiegelhalter 2005, §3.3, the
    multiplicative model); otherwise the exact binomial limits of `funnel_limits`. The column `phi`
    holds φ (NaN when not computed) and `adjusted` whether the limits were widened."""
    from scipy.stats import norm   # as in funnel_limits: kept local
    k = np.asarray(k, dtype="float64")
    n = np.asarray(n, dtype="float64")
    if p0 is None:
        p0 = k.sum() / n.sum() if n.sum() > 0 else np.nan
    share = percent(k, n)
    frame = pd.DataFrame({"k": k, "n": n, "share": share, "p0": 100 * p0})
    phi = overdispersion(k, n, p0, winsor) if adjust and int((n > 0).sum()) >= min_groups else float("nan")
    widen = bool(phi > 1)
    frame["phi"], frame["adjusted"] = phi, widen
    levels = sorted(levels)
    for lv in levels:
        if widen:
            z = norm.ppf(1 - (1 - lv) / 2)
            with np.errstate(invalid="ignore", divide="ignore"):
                half = 100 * z * np.sqrt(phi * p0 * (1 - p0) / np.where(n > 0, n, np.nan))
            low, high = np.clip(100 * p0 - half, 0, 100), np.clip(100 * p0 + half, 0, 100)
        else:
            low, high = funnel_limits(p0, n, lv)
        frame[f"low_{lv:g}"], frame[f"high_{lv:g}"] = low, high
    inner, outer = f"{levels[0]:g}", f"{levels[-1]:g}"
    pos = np.full(len(frame), "within", dtype=object)
    pos[share > frame[f"high_{inner}"]] = "above_inner"
    pos[share < frame[f"low_{inner}"]] = "below_inner"
    pos[share > frame[f"high_{outer}"]] = "above"
    pos[share < frame[f"low_{outer}"]] = "below"
    pos[~(n > 0)] = None
    frame["position"] = pos
    return frame
