"""ВПР participants and the plan of the planted effects: the ФИОКО signs, boundary peaks,
task pattern, journal inflation and the Rosobrnadzor 30 % rule."""
from __future__ import annotations

import numpy as np
import pandas as pd

from shnor_utils.demo._world import (LOW_TEMPLATES, MA, RU, TASK_PROCEDURES, VPR_SUBJECTS, _ABSENT, _MIN_LOW_N, _MIN_SIGN_N,
    _World)
from shnor_utils.demo.schools import _ability, _members, _pick, _sittings
from shnor_utils.data.tables import records


# ---- ВПР participants -------------------------------------------------------------------------
def _vpr_frame(w: _World) -> pd.DataFrame:
    """One row per pupil × ВПР work, with the latent ability; groups = school × year × subject × grade."""
    rng = w.rng("vpr")
    s, y, g = _sittings(w, VPR_SUBJECTS)
    pupil, sit = _members(w, s, y, g)
    table = np.full((12, 8), -1)
    for grade, subjects in VPR_SUBJECTS.items():
        table[grade, :len(subjects)] = [w.subj_code(x) for x in subjects]
    per_grade = (table >= 0).sum(axis=1)
    gs = g[sit]
    k = per_grade[gs]
    r = np.repeat(np.arange(len(pupil)), k)
    j = np.arange(len(r)) - np.repeat(np.cumsum(k) - k, k)
    vf = pd.DataFrame({"school": s[sit][r], "year": y[sit][r], "grade": gs[r], "subject": table[gs[r], j],
                       "pupil": pupil[r]})
    vf["absent"] = rng.random(len(vf)) < _ABSENT
    key = ((vf.school * 10000 + vf.year) * 100 + vf.subject) * 100 + vf.grade
    vf["group"] = np.unique(key.to_numpy(), return_inverse=True)[1]
    vf["proc"] = np.unique(((vf.year * 100 + vf.subject) * 100 + vf.grade).to_numpy(), return_inverse=True)[1]
    vf["ability"] = _ability(w, vf.school.to_numpy(), vf.year.to_numpy(), vf.subject.to_numpy(),
                             vf.pupil.to_numpy(), vf.group.to_numpy(), rng)
    scales = {(yy, ss, gg): w.meth.vpr_scale(yy, w.subjects[ss], gg)
              for yy, ss, gg in records(vf[["year", "subject", "grade"]].drop_duplicates())}
    proc_keys = vf[["proc", "year", "subject", "grade"]].drop_duplicates("proc").sort_values("proc")
    lookup = np.array([[scales[(yy, ss, gg)].max, *(scales[(yy, ss, gg)].min[m] for m in (3, 4, 5))]
                       for _, yy, ss, gg in records(proc_keys)])
    for col, idx in (("smax", 0), ("min3", 1), ("min4", 2), ("min5", 3)):
        vf[col] = lookup[vf.proc.to_numpy(), idx]
    return vf


def _vpr_groups(vf: pd.DataFrame) -> pd.DataFrame:
    """Per group: school, year, subject, grade, rows and present participants."""
    g = vf.assign(present=~vf.absent).groupby("group").agg(
        school=("school", "first"), year=("year", "first"), subject=("subject", "first"),
        grade=("grade", "first"), n_rows=("pupil", "size"), n=("present", "sum"))
    return g


def _in_procedures(w: _World, subject, grade, procedures) -> np.ndarray:
    """Rows whose (subject code, grade) is one of `procedures` [(subject name, grade)]."""
    table = np.zeros((len(w.subjects), 12), dtype=bool)
    for name, g in procedures:
        table[w.subj_code(name), int(g)] = True
    return table[np.asarray(subject), np.asarray(grade)]


def _sign_procedures(w: _World) -> list:
    """[(subject, grade)] of the ФИОКО signs (thresholds.yaml objectivity_signs.procedures)."""
    return [(p["subject"], int(p["grade"])) for p in w.rule("objectivity_signs.procedures")]


def _rule_procedures(w: _World) -> list:
    """[(kind, subject, grade or None)] of the 30 % rule (thresholds.yaml low_results_rule.procedures)."""
    return [(p["kind"], p["subject"], p.get("grade")) for p in w.rule("low_results_rule.procedures")]


# ---- plan: objectivity plants ------------------------------------------------------------------
def _plant_objectivity(w: _World, vf: pd.DataFrame) -> None:
    """Choose the groups of the three ФИОКО signs, the boundary peak and the task pattern.

    Each effect gets its own schools (a school carries one planted effect) so that a test can
    tell them apart. Sign groups have ≥ _MIN_SIGN_N participants."""
    rng, groups = w.rng("objectivity"), _vpr_groups(vf)
    in_sign = _in_procedures(w, groups.subject, groups.grade, _sign_procedures(w))
    big = groups[in_sign & (groups.n >= _MIN_SIGN_N)]
    level = w.schools.level.to_numpy()
    med = np.median(level)
    first, last = w.years[0], w.years[-1]
    cohort_grades = w.rule("objectivity_signs.cohort_grades")
    g_lo, g_hi = int(cohort_grades[0]), int(cohort_grades[1])

    # sharp change of one cohort: grade g_lo in Y and g_hi in Y+1 both large enough
    lo = big[(big.grade == g_lo) & (big.year < last)]
    hi = big[big.grade == g_hi].assign(year=lambda d: d.year - 1)
    pairs = lo.reset_index().merge(hi.reset_index(), on=["school", "year", "subject"], suffixes=("", "_next"))
    entries = []
    for k in range(w.count(2)):
        direction = "drop" if k % 2 == 0 else "rise"
        ok = pairs[[w.claims.get(int(s)) is None for s in pairs.school]]
        ok = ok[(level[ok.school] < med) if direction == "drop" else (level[ok.school] >= med)]
        if ok.empty:
            raise RuntimeError(f"demo: no school left for a cohort {direction} (grades {g_lo}→{g_hi})")
        row = ok.iloc[int(rng.integers(len(ok)))]
        w.claim(row.school, "sign_cohort_jump")
        w.groups.setdefault("cohort_" + direction, []).append(int(row.group))
        entries.append({"school_id": w.sid(row.school)[0], "year": int(row.year),
                        "subject": w.subjects[int(row.subject)], "grade_from": g_lo, "grade_to": g_hi,
                        "direction": direction, "also_sign_inflated_mean": direction == "drop"})
    w.truth["sign_cohort_jump"] = entries

    # inflated mean: grade g_lo of the last year or g_hi of the first year (no cohort K exists)
    cand = big[((big.grade == g_lo) & (big.year == last)) | ((big.grade == g_hi) & (big.year == first))]
    w.truth["sign_inflated_mean"] = _pick_groups(w, rng, cand, w.count(2), "sign_inflated_mean")
    w.truth["sign_mark_mismatch"] = _pick_groups(w, rng, big, w.count(2), "sign_mark_mismatch")

    cand = big[(big.year == last) & _in_procedures(w, big.subject, big.grade, TASK_PROCEDURES)]
    pct = pd.Series(level).rank(pct=True).to_numpy()
    cand = cand[(pct[cand.school] > 0.3) & (pct[cand.school] < 0.7)]
    w.truth["task_pattern"] = _pick_groups(w, rng, cand, w.count(1), "task_pattern")

    # boundary peak: ВПР РУ/МА 7–8 (no rule or sign procedure), informative n ≥ 50 where possible
    peak = groups[groups.grade.isin([7, 8]) & groups.subject.isin([w.subj_code(RU), w.subj_code(MA)])]
    peak = peak[level[peak.school] < np.quantile(level, 0.6)]
    free = peak[[w.claims.get(int(s)) is None for s in peak.school]]
    n_min = w.rule("score_distribution.informative_n")
    if free[free.n >= n_min].school.nunique() < w.count(2):
        n_min = w.rule("score_distribution.approximate_n")
    w.truth["boundary_peak"] = _pick_groups(w, rng, peak[peak.n >= n_min], w.count(2), "boundary_peak")


def _pick_groups(w: _World, rng, cand: pd.DataFrame, k: int, effect: str) -> list:
    """k groups from k different unclaimed schools; claims the schools, remembers the groups."""
    cand = cand[[w.claims.get(int(s)) is None for s in cand.school]]
    schools = _pick(rng, cand.school.unique(), k, effect)
    out = []
    for s in schools:
        rows = cand[cand.school == s]
        row = rows.iloc[int(rng.integers(len(rows)))]
        w.claim(s, effect)
        w.groups.setdefault(effect, []).append(int(row.name))
        out.append({"school_id": w.sid(s)[0], "year": int(row.year), "subject": w.subjects[int(row.subject)],
                    "grade": int(row.grade), "participants": int(row.n)})
    return out


# ---- plan: the 30 % rule -------------------------------------------------------------------------
def _plant_lows(w: _World, vf: pd.DataFrame, gf: pd.DataFrame) -> None:
    """Pattern schools (LOW_TEMPLATES) get exactly k(Y) low procedures per year; the lists
    `shnor` (ШНОР(Y) = k(Y−1) ≥ 2 or k(Y−1) ≥ 1 and k(Y−2) ≥ 1) and `risk_school` follow."""
    rng = w.rng("lows")
    T = len(w.years)
    templates = list(dict.fromkeys(tuple((t + (0,) * T)[:T]) for t in LOW_TEMPLATES))
    templates = [t for t in templates if any(t)]
    # the first nine templates already hold every pattern (and a list for each year)
    n_inst = max(min(len(templates), 9), round(len(LOW_TEMPLATES) * w.scale_factor))
    options = _low_options(w, vf, gf)
    level = w.schools.level.to_numpy()
    free = w.free() & (w.schools.top_grade.to_numpy() >= 9)
    weak = np.flatnonzero(free & (level <= np.quantile(level, 0.5)))
    rest = np.flatnonzero(free & (level > np.quantile(level, 0.5)))
    weak = list(rng.permutation(weak)) + list(rest[np.argsort(level[rest], kind="stable")])  # weakest first
    entries, k_by = [], {}
    for i in range(n_inst):
        tpl = templates[i % len(templates)]
        school = next((s for s in weak if all(len(options.get((s, t), [])) >= k for t, k in enumerate(tpl))), None)
        if school is None:
            raise RuntimeError("demo: not enough weak schools for the ШНОР patterns")
        weak.remove(school)
        w.claim(school, "low_procedures")
        for t, k in enumerate(tpl):
            opts = options.get((school, t), [])
            for j in rng.choice(len(opts), size=k, replace=False) if k else []:
                entries.append(opts[int(j)])
            k_by[(school, w.years[t])] = k
    entries.sort(key=lambda e: (e["school"], e["year"], e["procedure"]))
    w.groups["low"] = entries
    w.truth["low_procedures"] = [{key: e[key] for key in ("school_id", "year", "procedure", "kind", "subject", "grade")}
                                 for e in entries]
    _rule_lists(w, k_by)


def _low_options(w: _World, vf: pd.DataFrame, gf: pd.DataFrame) -> dict:
    """(school, year index) → candidate procedures with ≥ _MIN_LOW_N participants.

    ВПР of grade g_hi of the cohort sign (5) only in the first year: a low grade 5 would
    otherwise create an unplanted cohort jump."""
    vg = _vpr_groups(vf).reset_index()
    g_hi = int(w.rule("objectivity_signs.cohort_grades")[1])
    parts = []
    for kind, subject, grade in _rule_procedures(w):
        if kind == "ВПР":
            part = vg[(vg.subject == w.subj_code(subject)) & (vg.grade == int(grade)) & (vg.n >= _MIN_LOW_N)]
            if int(grade) == g_hi:
                part = part[part.year == w.years[0]]
            part = part.assign(procedure=f"ВПР {subject} {int(grade)}", rule_key=-1)
        else:
            part = gf[(gf.exam == kind) & (gf.subject == w.subj_code(subject))].groupby("rule_key").agg(
                school=("school", "first"), year=("year", "first"), n=("pupil", "nunique"), grade=("grade", "first"))
            part = part[part.n >= _MIN_LOW_N].reset_index().assign(procedure=f"{kind} {subject}", group=-1)
        parts.append(part.assign(kind=kind, subject_name=subject)[
            ["school", "year", "grade", "group", "rule_key", "procedure", "kind", "subject_name"]])
    ids = w.schools.school_id.to_numpy()
    opts = {}
    for r in records(pd.concat(parts, ignore_index=True)):
        opts.setdefault((int(r.school), w.years.index(int(r.year))), []).append(
            {"school": int(r.school), "school_id": str(ids[r.school]), "year": int(r.year), "procedure": r.procedure,
             "kind": r.kind, "subject": r.subject_name, "grade": int(r.grade), "group": int(r.group),
             "rule_key": int(r.rule_key)})
    return opts


def _rule_lists(w: _World, k_by: dict) -> None:
    """`shnor` for years[1:] + [last + 1] and `risk_school` for the data years, from planted k."""
    def k(s, y):
        return k_by.get((s, y), 0)
    schools = sorted({s for s, _ in k_by})
    shnor = {}
    for y in list(w.years[1:]) + [w.years[-1] + 1]:
        ids = [s for s in schools if k(s, y - 1) >= 2 or (k(s, y - 1) >= 1 and k(s, y - 2) >= 1)]
        shnor[str(y)] = sorted(w.sid(ids)) if ids else []
    risk = {str(y): sorted(w.sid([s for s in schools if k(s, y) >= 1])) for y in w.years}
    w.truth["shnor"], w.truth["risk_school"] = shnor, risk
    w.truth["low_counts"] = {sid: {str(y): k(s, y) for y in w.years} for s, sid in zip(schools, w.sid(schools))}


def _plant_inflation(w: _World) -> None:
    """Schools whose journal marks are one above the ВПР mark for most pupils (РУ, МА, all years)."""
    rng, sc = w.rng("inflation"), w.schools
    cand = np.flatnonzero(w.free() & (sc.per_grade.to_numpy() >= 10) & (sc.top_grade.to_numpy() >= 9))
    chosen = _pick(rng, cand, w.count(3), "journal_inflation")
    w.claim(chosen, "journal_inflation")
    w.groups["inflation"] = list(map(int, chosen))
    w.truth["journal_inflation"] = [{"school_id": s, "years": list(w.years), "subjects": [RU, MA],
                                     "grades": sorted(VPR_SUBJECTS)} for s in w.sid(chosen)]
