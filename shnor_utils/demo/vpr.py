"""ВПР scores (calibrated to the year's scale, honest schools kept honest by construction),
journal marks and the task-level table."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shnor_utils.data.schema import TABLES
from shnor_utils.demo._world import (MA, RU, TASK_PROCEDURES, WAVE, _HONEST_MARGIN_PP, _LOW_EXTRA_PP, _NO_JOURNAL, _World,
    _discretize, _fail_tau, _group_rows, _logit, _marks, _sigmoid)
from shnor_utils.demo.plants import _in_procedures, _sign_procedures, _vpr_groups


# ---- ВПР scores ---------------------------------------------------------------------------------
def _calibrate(ability, proc, tau, median_eta, fail_share) -> np.ndarray:
    """η = c + k·ability per procedure so that `fail_share` of rows fall below τ and the median
    row sits at `median_eta` (quantiles of the generated abilities: exact and deterministic)."""
    order = np.lexsort((ability, proc))
    sp, sa = proc[order], ability[order]
    uniq, starts = np.unique(sp, return_index=True)
    ends = np.append(starts[1:], len(sp))
    n = ends - starts
    q_fail = sa[starts + np.floor(fail_share[uniq] * (n - 1)).astype(int)]
    med = sa[starts + (n - 1) // 2]
    k = (median_eta[uniq] - tau[uniq]) / np.maximum(med - q_fail, 1e-3)
    c = tau[uniq] - k * q_fail
    kk, cc = np.zeros(proc.max() + 1), np.zeros(proc.max() + 1)
    kk[uniq], cc[uniq] = k, c
    return cc[proc] + kk[proc] * ability


def _score_vpr(w: _World, vf: pd.DataFrame) -> None:
    """Latent η → planted changes → honest caps → integer scores, marks and journal marks."""
    per_proc = vf.groupby("proc")[["smax", "min3", "subject"]].first()
    tau = _fail_tau(per_proc.min3, per_proc.smax).to_numpy()
    frac = (per_proc.min3 / per_proc.smax).to_numpy()
    med_eta = _logit(frac + 0.45 * (1 - frac))
    core = per_proc.subject.isin([w.subj_code(RU), w.subj_code(MA)]).to_numpy()
    fail = np.where(core, 0.09, 0.07)
    vf["eta"] = _calibrate(vf.ability.to_numpy(), vf.proc.to_numpy(), tau, med_eta, fail)
    order, uniq, starts = _group_rows(vf.group.to_numpy())
    rows = {int(u): order[starts[i]:starts[i + 1]] for i, u in enumerate(uniq)}
    eta = vf.eta.to_numpy().copy()
    for g in w.groups.get("sign_inflated_mean", []) + w.groups.get("cohort_drop", []):
        _reshape(eta, rows[g], target=0.88, spread=0.30)
    for g in w.groups.get("cohort_rise", []):
        _reshape(eta, rows[g], target=0.27, spread=0.40)
    smax = vf.smax.to_numpy().astype(float)
    tau_row = _fail_tau(vf.min3.to_numpy(), smax)
    present = ~vf.absent.to_numpy()
    share = w.rule("low_results_rule.share_failed")
    for e in (e for e in w.groups.get("low", []) if e["kind"] == "ВПР"):
        r = rows[e["group"]]
        r = r[present[r]]
        _force_failures(eta, tau_row, r, math.ceil((share + _LOW_EXTRA_PP) / 100 * len(r)))
    for g in w.groups.get("boundary_peak", []):  # weak results first; _boundary_peaks then pulls them up
        r = rows[g]
        r = r[present[r]]
        _force_failures(eta, tau_row, r, math.ceil(0.3 * len(r)))
    block = _vpr_block(w, vf, eta, tau_row, smax, present)
    _enforce_honest(block, w.rule("objectivity_signs.z"))
    vf["score"] = _discretize(block.eta, smax)
    _boundary_peaks(w, vf, rows)
    vf["mark"] = _marks(vf.score, vf.min3, vf.min4, vf.min5)
    _journal_marks(w, vf, rows)


def _reshape(eta, rows, *, target: float, spread: float) -> None:
    """Replace a group's η by logit(target) + spread·z (z = standardized η): keeps the pupils'
    order, sets the mean and (low) spread of the scores."""
    x = eta[rows]
    sd = x.std() or 1.0
    eta[rows] = _logit(target) + spread * (x - x.mean()) / sd


def _force_failures(eta, tau, rows, k: int) -> None:
    """Shift a group down so that at least k of its rows fall below their pass threshold."""
    margin = np.sort(eta[rows] - tau[rows])
    k = min(k, len(rows))
    if k and margin[k - 1] >= -0.02:
        eta[rows] -= margin[k - 1] + 0.05


@dataclass
class _Block:
    """Rows of one kind of exam for the honest caps: η, scale, pass threshold and groupings."""
    eta: np.ndarray
    smax: np.ndarray
    tau: np.ndarray
    present: np.ndarray
    rule_gid: np.ndarray     # group of a 30 %-rule procedure, −1 if none or planted low
    rule_cap: np.ndarray     # per rule group: most failing rows allowed
    sign_gid: np.ndarray     # group of a sign-1 procedure, −1 if none or exempt
    sign_region: np.ndarray  # the procedure (region) of the sign group
    group: np.ndarray = None     # ВПР only: the row's group, for the cohort ratio K
    cohort: pd.DataFrame = None  # ВПР only: pairs (lo, hi) of groups of one cohort, 4 → 5
    n_min: int = 5
    iqr_k: float = 3.0
    pushed_down: np.ndarray = None   # ВПР groups the sign-1 cap has lowered
    pushed_up: np.ndarray = None     # ВПР groups the failing cap has raised


def _vpr_block(w: _World, vf, eta, tau, smax, present) -> _Block:
    """Honest-cap groups of ВПР. The failing cap applies to EVERY ВПР group (not only the
    rule's procedures: capping grade 5 but not grade 4 would tilt the cohort ratio K of weak
    schools) except planted lows and the deflated grade of a planted cohort rise; the sign-1 cap
    to the sign procedures except the planted inflated groups and the legitimately strong school."""
    in_sign = _in_procedures(w, vf.subject, vf.grade, _sign_procedures(w))
    group = vf.group.to_numpy()
    low = ([e["group"] for e in w.groups.get("low", []) if e["kind"] == "ВПР"] + w.groups.get("cohort_rise", [])
           + w.groups.get("boundary_peak", []))
    exempt = w.groups.get("sign_inflated_mean", []) + w.groups.get("cohort_drop", [])
    strong = w.schools.legit_strong.to_numpy()[vf.school.to_numpy()]
    rule_gid = np.where(~np.isin(group, low), group, -1)
    sign_gid = np.where(in_sign & ~np.isin(group, exempt) & ~strong, group, -1)
    cap = _rule_caps(w, rule_gid, vf.pupil.to_numpy(), present, vf.group.max() + 1)
    return _Block(eta, smax, tau, present, rule_gid, cap, sign_gid, vf.proc.to_numpy(), group=group,
                  cohort=_cohort_pairs(w, vf), n_min=w.rule("small_groups.min_for_sign"),
                  iqr_k=w.rule("objectivity_signs.iqr_k"))


def _cohort_pairs(w: _World, vf: pd.DataFrame) -> pd.DataFrame:
    """Groups of one cohort in the sign procedures: grade g_lo in Y (lo) and g_hi in Y+1 (hi);
    `honest` is False for the planted cohort jumps."""
    g_lo, g_hi = (int(x) for x in w.rule("objectivity_signs.cohort_grades"))
    subjects = {w.subj_code(s) for s, g in _sign_procedures(w) if g in (g_lo, g_hi)}
    vg = _vpr_groups(vf).reset_index()
    vg = vg[vg.subject.isin(subjects)]
    lo = vg[vg.grade == g_lo][["group", "school", "year", "subject"]].rename(columns={"group": "lo"})
    hi = vg[vg.grade == g_hi].assign(year=lambda d: d.year - 1)[["group", "school", "year", "subject"]]
    pairs = lo.merge(hi.rename(columns={"group": "hi"}), on=["school", "year", "subject"])
    planted = w.groups.get("cohort_drop", []) + w.groups.get("cohort_rise", [])
    pairs["honest"] = ~pairs.lo.isin(planted)
    return pairs.reset_index(drop=True)


def _rule_caps(w: _World, rule_gid, participant, present, n_groups) -> np.ndarray:
    """Most failing rows an honest group may have: floor((30 − margin) % × distinct participants);
    groups too small to be judged (< min_participants rows and participants) are not capped."""
    share = (w.rule("low_results_rule.share_failed") - _HONEST_MARGIN_PP) / 100
    n_min = w.rule("low_results_rule.min_participants")
    cap = np.full(n_groups, np.iinfo(np.int64).max)
    m = rule_gid >= 0
    rows = np.bincount(rule_gid[m], minlength=n_groups)
    sel = m & present
    distinct = pd.DataFrame({"g": rule_gid[sel], "p": participant[sel]}).groupby("g").p.nunique()
    n_distinct = np.zeros(n_groups, dtype=np.int64)
    n_distinct[distinct.index.to_numpy()] = distinct.to_numpy()
    judged = (rows >= n_min) | (n_distinct >= n_min)
    cap[judged] = np.floor(share * n_distinct[judged]).astype(np.int64)
    return cap


def _enforce_honest(b: _Block, z: float, max_iter: int = 80) -> None:
    """Shift honest groups until none meets sign 1 (CI lower bound above the region's upper
    bound, with a margin), none reaches the failing cap and (ВПР) no honest cohort ratio K is
    beyond Q25 − 2·IQR … Q75 + 2·IQR, one IQR inside the official fence. Alternates to a fixed point."""
    if b.cohort is not None:
        b.pushed_down = np.zeros(int(b.group.max()) + 1, dtype=bool)
        b.pushed_up = np.zeros_like(b.pushed_down)
    for _ in range(max_iter):
        down = _sign1_shift(b, z)
        b.eta += down
        up = _rule_shift(b)
        b.eta += up
        k_up = np.zeros(0)
        if b.cohort is not None:
            b.pushed_down[b.group[down < 0]] = True
            b.pushed_up[b.group[up > 0]] = True
            k_up = _cohort_shift(b)
            b.eta += k_up
        if not down.any() and not up.any() and not k_up.any():
            return
    raise RuntimeError(f"demo: honest caps did not converge (sign 1: {np.count_nonzero(down)}, "
                       f"failing: {np.count_nonzero(up)}, cohort: {np.count_nonzero(k_up)} rows still moving)")


def _cohort_shift(b: _Block) -> np.ndarray:
    """Raise the weaker side of an honest cohort pair whose K = S(4, Y) / S(5, Y+1) is beyond
    the band (raising never adds a «2», so the failing cap stays met)."""
    m = b.present
    n_groups = int(b.group.max()) + 1
    sig = _sigmoid(b.eta)
    pct = _discretize(b.eta, b.smax) / b.smax
    n = np.bincount(b.group[m], minlength=n_groups)
    S = np.bincount(b.group[m], weights=pct[m], minlength=n_groups) / np.maximum(n, 1)
    slope = np.bincount(b.group[m], weights=(sig * (1 - sig))[m], minlength=n_groups) / np.maximum(n, 1)
    c = b.cohort.assign(K=S[b.cohort.lo] / np.maximum(S[b.cohort.hi], 1e-6))
    valid = c[(n[c.lo] >= b.n_min) & (n[c.hi] >= b.n_min)]
    q = valid.groupby(["year", "subject"]).K.quantile([0.25, 0.75]).unstack()
    iqr = q[0.75] - q[0.25]
    band = pd.DataFrame({"k_lo": q[0.25] - (b.iqr_k - 1) * iqr, "k_hi": q[0.75] + (b.iqr_k - 1) * iqr})
    c = c.join(band, on=["year", "subject"])
    c = c[c.honest & (n[c.lo] > 0) & (n[c.hi] > 0)]
    # Prefer raising the lower side (never adds a «2»); if that group has been pushed down by the
    # sign-1 cap, lower the other side instead unless the failing cap has pushed that one up.
    delta = np.zeros(n_groups)
    for too_high in (True, False):
        part = c[(c.K > c.k_hi) if too_high else (c.K < c.k_lo)]
        lo, hi = part.lo.to_numpy(), part.hi.to_numpy()
        k_target = (part.k_hi.to_numpy() * 0.98) if too_high else (part.k_lo.to_numpy() * 1.02)
        raise_g, other = (hi, lo) if too_high else (lo, hi)
        use_other = b.pushed_down[raise_g] & ~b.pushed_up[other]
        ok = ~(b.pushed_down[raise_g] & b.pushed_up[other])
        g = np.where(use_other, other, raise_g)[ok]
        lo, hi, k_target = lo[ok], hi[ok], k_target[ok]
        target = np.where(g == lo, k_target * S[hi], S[lo] / k_target)
        step = 1.2 * (target - S[g]) / np.maximum(slope[g], 0.03)
        delta[g] = step + np.sign(step) * 0.02
    return delta[b.group]


def _sign1_shift(b: _Block, z: float) -> np.ndarray:
    """Lower honest groups whose CI lower bound is above target = region upper bound − margin.
    A pupil is never lowered past 10 % of his distance to the pass threshold, so lowering a
    mean never adds a «2» and cannot fight the failing cap."""
    m = (b.sign_gid >= 0) & b.present
    out = np.zeros(len(b.eta))
    if not m.any():
        return out
    score = _discretize(b.eta[m], b.smax[m]).astype(float)
    sig = _sigmoid(b.eta[m])
    df = pd.DataFrame({"g": b.sign_gid[m], "r": b.sign_region[m], "x": score,
                       "slope": b.smax[m] * sig * (1 - sig)})
    reg = df.groupby("r").x.agg(["mean", "std", "count"])
    reg["half"] = z * reg["std"] / np.sqrt(reg["count"])
    grp = df.groupby("g").agg(mean=("x", "mean"), n=("x", "size"), r=("r", "first"), slope=("slope", "mean"))
    grp["sd"] = df.groupby("g").x.std(ddof=0)
    lb = grp["mean"] - z * grp["sd"] / np.sqrt(grp["n"])
    half = reg["half"].reindex(grp.r).to_numpy()
    target = reg["mean"].reindex(grp.r).to_numpy() + half - (0.3 + 0.3 * half)
    excess = lb.to_numpy() - target
    bad = excess > 0
    if not bad.any():
        return out
    shift = pd.Series(1.5 * excess[bad] / np.maximum(grp.slope.to_numpy()[bad], 0.05) + 0.02, index=grp.index[bad])
    rows = np.flatnonzero(m & np.isin(b.sign_gid, shift.index))
    room = 0.9 * np.maximum(b.eta[rows] - b.tau[rows], 0.0)
    out[rows] = -np.minimum(shift.reindex(b.sign_gid[rows]).to_numpy(), room)
    return out


def _rule_shift(b: _Block) -> np.ndarray:
    """Raise every capped group just enough that at most cap[g] rows fail."""
    m = (b.rule_gid >= 0) & b.present
    out = np.zeros(len(b.eta))
    near = m & (b.eta - b.tau < 0.02)
    n_groups = len(b.rule_cap)
    over = np.flatnonzero(np.bincount(b.rule_gid[near], minlength=n_groups) > b.rule_cap)
    if not len(over):
        return out
    idx = np.flatnonzero(m & np.isin(b.rule_gid, over))
    g, margin = b.rule_gid[idx], b.eta[idx] - b.tau[idx]
    order = np.lexsort((margin, g))
    gs, ms = g[order], margin[order]
    uniq, starts = np.unique(gs, return_index=True)
    sizes = np.diff(np.append(starts, len(gs)))
    cap = b.rule_cap[uniq]
    bound = cap < sizes
    pos = starts[bound] + cap[bound]
    need = np.maximum(0.0, 0.02 - ms[pos])
    shift = np.zeros(n_groups)
    shift[uniq[bound]] = np.where(need > 0, need + 0.01, 0.0)
    out[idx] = shift[g]
    return out


def _boundary_peaks(w: _World, vf: pd.DataFrame, rows: dict) -> None:
    """«Натягивание»: in planted groups every pupil a few points short of «3» gets exactly the
    lowest score of «3»; the neighbour below becomes empty, the count at the boundary piles up."""
    score = vf.score.to_numpy().copy()
    for entry, g in zip(w.truth.get("boundary_peak", []), w.groups.get("boundary_peak", [])):
        r = rows[g]
        r = r[~vf.absent.to_numpy()[r]]
        min3, smax = int(vf.min3.iat[r[0]]), int(vf.smax.iat[r[0]])
        width = max(3, round(0.2 * smax))
        pulled = r[(score[r] >= min3 - width) & (score[r] < min3)]
        score[pulled] = min3
        counts = np.bincount(score[r], minlength=smax + 2)
        entry.update({"score": min3, "count_at_score": int(counts[min3]), "count_below": int(counts[min3 - 1]),
                      "count_above": int(counts[min3 + 1]), "pulled_up": int(len(pulled))})
    vf["score"] = score


def _journal_marks(w: _World, vf: pd.DataFrame, rows: dict) -> None:
    """Journal mark = ВПР mark + d, d ∈ {+1 (school leniency ~12–24 %), +2 (1.5 %), −1 (5 %), 0};
    inflation schools: +1 for ~72 %, +2 for 10 % (РУ, МА). Mismatch groups: marks assigned
    against the scores (reversed order). Honest sign groups keep ρ(journal, score) > 0."""
    rng = w.rng("journal")
    mark = vf.mark.to_numpy()
    school = vf.school.to_numpy()
    lenient = w.schools.leniency.to_numpy()[school]
    core = vf.subject.isin([w.subj_code(RU), w.subj_code(MA)]).to_numpy()
    infl = np.isin(school, w.groups.get("inflation", [])) & core
    p_up = np.where(infl, 0.72, lenient)
    p_up2 = np.where(infl, 0.10, 0.015)
    u = rng.random(len(vf))
    d = np.select([u < p_up, u < p_up + p_up2, u > 0.95], [1, 2, -1], 0)
    journal = np.clip(mark + d, 2, 5)
    for g in w.groups.get("sign_mark_mismatch", []):
        r = rows[g]
        by_score = r[np.argsort(vf.score.to_numpy()[r], kind="stable")]
        journal[by_score] = np.sort(mark[r])[::-1]
    journal = journal.astype(float)
    journal[rng.random(len(vf)) < _NO_JOURNAL] = np.nan
    vf["journal"] = journal
    _keep_rho_positive(w, vf)


def _keep_rho_positive(w: _World, vf: pd.DataFrame) -> None:
    """Honest groups of the sign procedures whose ρ(journal, score) ≤ 0 get journal = ВПР mark."""
    in_sign = _in_procedures(w, vf.subject, vf.grade, _sign_procedures(w))
    m = in_sign & ~vf.absent.to_numpy() & vf.journal.notna().to_numpy() & ~vf.group.isin(
        w.groups.get("sign_mark_mismatch", [])).to_numpy()
    rho = _spearman_by_group(vf.group.to_numpy()[m], vf.score.to_numpy()[m], vf.journal.to_numpy()[m])
    bad = rho.index[(rho <= 0.05).to_numpy()]
    fix = vf.group.isin(bad).to_numpy() & vf.journal.notna().to_numpy()
    vf.loc[fix, "journal"] = vf.loc[fix, "mark"].astype(float)


def _spearman_by_group(group, x, y) -> pd.Series:
    """Spearman ρ per group (Pearson of average ranks); NaN when a variable is constant."""
    df = pd.DataFrame({"g": group, "x": x, "y": y})
    df["rx"] = df.groupby("g").x.rank()
    df["ry"] = df.groupby("g").y.rank()
    df["rxy"], df["rxx"], df["ryy"] = df.rx * df.ry, df.rx ** 2, df.ry ** 2
    s = df.groupby("g")[["rx", "ry", "rxy", "rxx", "ryy"]].sum()
    n = df.groupby("g").size()
    cov = s.rxy - s.rx * s.ry / n
    var = (s.rxx - s.rx ** 2 / n) * (s.ryy - s.ry ** 2 / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt(var.where(var > 1e-12))


def _vpr_table(w: _World, vf: pd.DataFrame) -> pd.DataFrame:
    """The vpr table, sorted by year, subject, grade, school, pupil (categoricals keep it light)."""
    pupils = w.pupils
    order = np.lexsort((vf.pupil.to_numpy(), vf.school.to_numpy(), vf.grade.to_numpy(),
                        vf.subject.to_numpy(), vf.year.to_numpy()))
    v = vf[["year", "subject", "grade", "school", "pupil", "absent", "score", "mark", "journal"]].iloc[order]
    absent, grade, pupil = v.absent.to_numpy(), v.grade.to_numpy(), v.pupil.to_numpy()
    klass = np.where(grade >= 10, pupils.klass_senior.to_numpy()[pupil], pupils.klass.to_numpy()[pupil])
    letters = "АБВГДЕЖИКЛ"
    labels = [f"{g}{x}" for g in range(12) for x in letters]
    return pd.DataFrame({
        "year": v.year.to_numpy(), "wave": WAVE,
        "subject": pd.Categorical.from_codes(v.subject.to_numpy(), w.subjects),
        "grade": grade, "school_id": pd.Categorical.from_codes(v.school.to_numpy(), w.schools.school_id),
        "class_label": pd.Categorical.from_codes(grade * len(letters) + np.minimum(klass, len(letters) - 1), labels),
        "participant_code": pupils.code.to_numpy()[pupil], "absent": absent,
        "primary_score": pd.array(np.where(absent, np.nan, v.score), dtype="Int64"),
        "mark": pd.array(np.where(absent, np.nan, v.mark), dtype="Int64"),
        "journal_mark": pd.array(v.journal.to_numpy(), dtype="Int64"),
    })


# ---- ВПР tasks -----------------------------------------------------------------------------------
def _task_blueprint(smax: int, rng) -> pd.DataFrame:
    """Tasks "1"…"n" with max scores 1–3 summing to the scale max; levels mostly Б, some П, 1–2 В;
    difficulty (logit) rises from Б to В."""
    n = int(np.clip(round(smax / 2.2), math.ceil(smax / 3), 18))
    n = max(min(n, smax), math.ceil(smax / 3))
    points = np.ones(n, dtype=int)
    extra = smax - n
    if extra:
        slots = np.repeat(np.arange(n), 2)
        np.add.at(points, rng.choice(slots, size=extra, replace=False), 1)
    level = np.array(["Б"] * n, dtype=object)
    n_v = 2 if n >= 12 else 1
    level[n - n_v:] = "В"
    later = np.arange(n // 3, n - n_v)
    level[rng.choice(later, size=min(len(later), max(1, round(0.25 * n))), replace=False)] = "П"
    diff = np.select([level == "Б", level == "П"], [rng.normal(-0.7, 0.4, n), rng.normal(0.6, 0.3, n)],
                     rng.normal(1.3, 0.3, n))
    return pd.DataFrame({"task": [str(i + 1) for i in range(n)], "max_score": points, "level": level,
                         "difficulty": diff})


def _vpr_tasks(w: _World, vf: pd.DataFrame) -> pd.DataFrame:
    """Task scores of the last year's РУ/МА 4–5 that sum EXACTLY to the primary score: a pupil
    with score S earns the S score points (units) with the lowest difficulty + noise. In the
    planted `task_pattern` schools the order is reversed: hard tasks first."""
    rng, year = w.rng("tasks"), w.years[-1]
    pattern = {(s["school_id"], s["subject"], s["grade"]) for s in w.truth.get("task_pattern", [])}
    out = []
    for subject, grade in TASK_PROCEDURES:
        sel = ((vf.year == year) & (vf.subject == w.subj_code(subject)) & (vf.grade == grade) & ~vf.absent).to_numpy()
        part = vf[sel].sort_values(["school", "pupil"])
        if part.empty:
            continue
        smax = int(part.smax.iat[0])
        bp = _task_blueprint(smax, rng)
        unit_task = np.repeat(np.arange(len(bp)), bp.max_score.to_numpy())
        unit_rank = np.arange(smax) - np.repeat(np.cumsum(bp.max_score.to_numpy()) - bp.max_score.to_numpy(),
                                                bp.max_score.to_numpy())
        unit_diff = bp.difficulty.to_numpy()[unit_task] + 0.3 * unit_rank
        sid = w.schools.school_id.to_numpy()[part.school.to_numpy()]
        flip = np.array([(s, subject, grade) in pattern for s in sid])
        noise = rng.logistic(0, 0.5, (len(part), smax))
        keys = np.where(flip[:, None], -unit_diff[None, :], unit_diff[None, :]) + noise
        rank = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
        solved = rank < part.score.to_numpy()[:, None]
        starts = np.cumsum(bp.max_score.to_numpy()) - bp.max_score.to_numpy()
        task_score = np.add.reduceat(solved, starts, axis=1)
        n, t = task_score.shape
        out.append(pd.DataFrame({
            "year": year, "wave": WAVE, "subject": subject, "grade": grade,
            "school_id": np.repeat(sid, t),
            "participant_code": np.repeat(w.pupils.code.to_numpy()[part.pupil.to_numpy()], t),
            "task": np.tile(bp.task.to_numpy(), n), "score": task_score.ravel(),
            "max_score": np.tile(bp.max_score.to_numpy(), n), "level": np.tile(bp.level.to_numpy(), n)}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=TABLES["vpr_tasks"].column_names)
