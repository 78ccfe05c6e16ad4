"""ГИА: ОГЭ / ЕГЭ sittings (main period, retakes), scores on the year's scales, graduates."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from shnor_utils.demo._world import (EGE_ELECTIVES, EGE_PRIMARY_MAX, MA, OGE_ELECTIVES, RU, _LOW_EXTRA_PP, _World,
    _discretize, _fail_tau, _group_rows, _logit, _marks)
from shnor_utils.demo.schools import _ability, _members, _sittings
from shnor_utils.demo.plants import _sign_procedures
from shnor_utils.demo.vpr import _Block, _calibrate, _enforce_honest, _force_failures, _rule_caps


# ---- ГИА -------------------------------------------------------------------------------------------
def _gia_frame(w: _World) -> pd.DataFrame:
    """Main-period rows: ОГЭ (grade 9: РУ, МА + 2 electives), ЕГЭ (grade 11 stayers: РУ,
    mathematics базовая or профильная — a few take both — and 1–3 electives)."""
    rng = w.rng("gia")
    s, y, g = _sittings(w, [9])
    p9, sit9 = _members(w, s, y, g)
    oge = _exam_rows(w, "ОГЭ", s[sit9], y[sit9], 9, p9, [RU, MA], OGE_ELECTIVES, np.full(len(p9), 2), rng)
    s, y, g = _sittings(w, [11])
    p11, sit11 = _members(w, s, y, g)
    theta = w.pupils.theta.to_numpy()[p11]
    profile = theta + rng.normal(0, 0.6, len(p11)) > 0.1
    both = profile & (rng.random(len(p11)) < 0.05)
    n_el = rng.choice([1, 2, 3], size=len(p11), p=[0.3, 0.5, 0.2])
    ege = _exam_rows(w, "ЕГЭ", s[sit11], y[sit11], 11, p11, [RU], EGE_ELECTIVES, n_el, rng, profile=profile)
    base_rows = pd.DataFrame({"exam": "ЕГЭ", "subject": w.subj_code(MA), "level": "базовая",
                              "school": s[sit11], "year": y[sit11], "grade": 11, "pupil": p11})
    prof_rows = base_rows.assign(level="профильная")
    math_rows = pd.concat([base_rows[~profile | both], prof_rows[profile]], ignore_index=True)
    math_rows["both"] = np.isin(math_rows.pupil, p11[both])
    gf = pd.concat([oge, ege, math_rows], ignore_index=True)
    gf["both"] = gf["both"].fillna(False).astype(bool)
    gf["level"] = gf["level"].astype(object)
    gf = gf.sort_values(["year", "exam", "school", "pupil", "subject", "level"], na_position="first",
                        kind="stable").reset_index(drop=True)
    proc_key = gf.year.astype(str) + gf.exam + gf.subject.astype(str) + gf.level.fillna("")
    gf["proc"] = pd.factorize(proc_key)[0]
    gf["group"] = pd.factorize(proc_key + "|" + gf.school.astype(str))[0]
    # one failing-share group per school × year × exam × subject (both ЕГЭ mathematics levels together)
    gf["rule_key"] = pd.factorize(gf.exam + gf.subject.astype(str) + "|" + gf.year.astype(str) + "|"
                                  + gf.school.astype(str))[0]
    gf["ability"] = _ability(w, gf.school.to_numpy(), gf.year.to_numpy(), gf.subject.to_numpy(),
                             gf.pupil.to_numpy(), gf.group.to_numpy(), rng)
    _gia_scales(w, gf)
    return gf


def _exam_rows(w, exam, school, year, grade, pupil, mandatory, electives, n_el, rng, profile=None):
    """Rows for mandatory subjects and n_el electives per pupil (Gumbel top-k of the weights)."""
    names = list(electives)
    weights = np.tile(np.log(np.array([electives[x] for x in names])), (len(pupil), 1))
    if profile is not None:  # profile mathematics → physics, informatics; others → humanities
        boost = {"Физика": 1.0, "Информатика": 1.0, "Обществознание": -0.5, "История": -0.3, "Литература": -0.3}
        for name, b in boost.items():
            weights[:, names.index(name)] += np.where(profile, b, -b / 2)
    keys = weights + rng.gumbel(size=weights.shape)
    ranked = np.argsort(-keys, axis=1)
    take = np.arange(len(names))[None, :] < n_el[:, None]
    r, c = np.nonzero(take)
    el_subj = np.array([w.subj_code(x) for x in names])[ranked[r, c]]
    frames = [pd.DataFrame({"exam": exam, "subject": w.subj_code(m), "level": None, "school": school,
                            "year": year, "grade": grade, "pupil": pupil}) for m in mandatory]
    frames.append(pd.DataFrame({"exam": exam, "subject": el_subj, "level": None, "school": school[r],
                                "year": year[r], "grade": grade, "pupil": pupil[r]}))
    return pd.concat(frames, ignore_index=True)


def _gia_scales(w: _World, gf: pd.DataFrame) -> None:
    """Per row: score scale max, lowest passing score (thr), marks' bounds and calibration targets.

    ОГЭ: primary score on the year's ОГЭ scale; ЕГЭ базовая: primary on the base scale;
    other ЕГЭ: the test score 0–100 with the year's minimum as threshold."""
    per = gf.groupby("proc")[["year", "exam", "subject", "level"]].first()
    base = w.meth.ege_base_math_scale()
    rows = []
    for proc, (year, exam, subj, level) in per.iterrows():
        subject = w.subjects[int(subj)]
        if exam == "ОГЭ":
            sc = w.meth.oge_scale(int(year), subject)
            rows.append((proc, sc.max, sc.min[3], sc.min[4], sc.min[5], {RU: 0.04, MA: 0.07}.get(subject, 0.06), None))
        elif level == "базовая":
            rows.append((proc, base.max, base.min[3], base.min[4], base.min[5], 0.03, None))
        else:
            thr = w.meth.ege_min_score(int(year), subject, level)
            fail = {RU: 0.015, MA: 0.06}.get(subject, 0.08)
            rows.append((proc, 100, thr, -1, -1, fail, {RU: 70, MA: 62}.get(subject, 60) / 100))
    t = pd.DataFrame(rows, columns=["proc", "smax", "thr", "min4", "min5", "fail", "median"]).set_index("proc")
    for col in ("smax", "thr", "min4", "min5"):
        gf[col] = t[col].reindex(gf.proc).to_numpy()
    frac = t.thr / t.smax
    t["median"] = t["median"].fillna(frac + 0.4 * (1 - frac))
    w.groups["gia_targets"] = t


def _score_gia(w: _World, gf: pd.DataFrame) -> None:
    """Calibrate, force pupils taking both mathematics levels to pass, plant lows, apply the
    honest caps (30 % rule; sign 1 for ОГЭ РУ/МА), then retakes for those below the threshold."""
    t = w.groups["gia_targets"]
    tau = _fail_tau(t.thr, t.smax).to_numpy()
    n_proc = gf.proc.max() + 1
    tau_p, med_p, fail_p = np.zeros(n_proc), np.zeros(n_proc), np.zeros(n_proc)
    tau_p[t.index], med_p[t.index], fail_p[t.index] = tau, _logit(t["median"].to_numpy()), t.fail.to_numpy()
    eta = _calibrate(gf.ability.to_numpy(), gf.proc.to_numpy(), tau_p, med_p, fail_p)
    smax = gf.smax.to_numpy().astype(float)
    tau_row = _fail_tau(gf.thr.to_numpy(), smax)
    both = gf.both.to_numpy()
    eta[both] = np.maximum(eta[both], tau_row[both] + 0.5)
    share = w.rule("low_results_rule.share_failed")
    order, uniq, starts = _group_rows(gf.rule_key.to_numpy())
    rows = {int(u): order[starts[i]:starts[i + 1]] for i, u in enumerate(uniq)}
    low_keys = [e["rule_key"] for e in w.groups.get("low", []) if e["kind"] != "ВПР"]
    for key in low_keys:
        r = rows[key]
        _force_failures(eta, tau_row, r[~both[r]], math.ceil((share + _LOW_EXTRA_PP) / 100 * len(r)))
    present = np.ones(len(gf), dtype=bool)
    rule_gid = np.where(np.isin(gf.rule_key, low_keys), -1, gf.rule_key.to_numpy())
    cap = _rule_caps(w, rule_gid, gf.pupil.to_numpy(), present, int(gf.rule_key.max()) + 1)
    sign = (gf.exam == "ОГЭ").to_numpy() & gf.subject.isin([w.subj_code(s) for s, _ in _sign_procedures(w)]).to_numpy()
    strong = w.schools.legit_strong.to_numpy()[gf.school.to_numpy()]
    sign_gid = np.where(sign & ~strong, gf.group.to_numpy(), -1)
    block = _Block(eta, smax, tau_row, present, rule_gid, cap, sign_gid, gf.proc.to_numpy())
    _enforce_honest(block, w.rule("objectivity_signs.z"))
    gf["eta"] = block.eta
    gf["score"] = _discretize(block.eta, smax)
    gf["passed"] = gf.score >= gf.thr
    retake = ~gf.passed & ((gf.exam == "ОГЭ") | gf.subject.isin([w.subj_code(RU), w.subj_code(MA)]))
    rng = w.rng("retakes")
    gain = rng.normal(1.4, 0.6, int(retake.sum()))
    gf["retake_score"] = pd.array([pd.NA] * len(gf), dtype="Int64")
    gf.loc[retake, "retake_score"] = _discretize(gf.eta[retake].to_numpy() + gain, smax[retake.to_numpy()])


def _gia_tables(w: _World, gf: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """gia (main period + retakes in the «дополнительный» period) and graduates (attestat unless
    a mandatory exam is still failed after the retake; honours for top pupils of good schools)."""
    cols = ["year", "exam", "subject", "level", "school", "pupil", "grade", "score", "thr", "min4", "min5"]
    main = gf[cols].assign(period="основной", attempt=1)
    again = gf.loc[gf.retake_score.notna(), cols].assign(period="дополнительный", attempt=2,
                                                           score=gf.retake_score.dropna().astype(int))
    rows = pd.concat([main, again], ignore_index=True)
    test_rows = (rows.exam == "ЕГЭ") & (rows.level != "базовая")
    subject_names = pd.Categorical.from_codes(rows.subject.to_numpy(), w.subjects)
    pmax = np.array([EGE_PRIMARY_MAX.get(s, 50) for s in w.subjects])[rows.subject.to_numpy()]
    primary = np.where(test_rows, np.rint(rows.score * pmax / 100), rows.score).astype(int)
    with_mark = ~test_rows.to_numpy()
    mark = _marks(rows.score.to_numpy(), rows.thr.to_numpy(), rows.min4.to_numpy(), rows.min5.to_numpy())
    gia = pd.DataFrame({
        "year": rows.year.to_numpy(), "exam": rows.exam.to_numpy(), "subject": subject_names,
        "level": rows.level.to_numpy(),
        "school_id": pd.Categorical.from_codes(rows.school.to_numpy(), w.schools.school_id),
        "participant_id": w.pupils.pid.to_numpy()[rows.pupil.to_numpy()], "grade": rows.grade.to_numpy(),
        "period": rows.period.to_numpy(), "attempt": rows.attempt.to_numpy(), "primary_score": primary,
        "test_score": pd.array(np.where(test_rows, rows.score, np.nan), dtype="Int64"),
        "mark": pd.array(np.where(with_mark, mark, np.nan), dtype="Int64"),
    })
    gia = gia.sort_values(["year", "exam", "school_id", "participant_id", "subject", "level", "attempt"],
                          na_position="first", kind="stable").reset_index(drop=True)
    return gia, _graduates(w, gf)


def _graduates(w: _World, gf: pd.DataFrame) -> pd.DataFrame:
    """One row per ГИА pupil and sitting year (a pupil sits ОГЭ in grade 9 and ЕГЭ two years later:
    two graduations). Attestat: every ОГЭ exam passed (main or retake); ЕГЭ: Russian and
    one mathematics level passed. Honours: the strongest pupils (mandatory exams well above the
    threshold), ~1–8 % of a school's graduates depending on its level."""
    rng = w.rng("graduates")
    grad = pd.factorize(gf.pupil.astype(str) + "|" + gf.year.astype(str) + "|" + gf.grade.astype(str))[0]
    final_pass = gf.passed | (gf.retake_score.fillna(-1) >= gf.thr)
    mandatory = (gf.exam == "ОГЭ") | gf.subject.isin([w.subj_code(RU), w.subj_code(MA)])
    ege_math = (gf.subject == w.subj_code(MA)) & (gf.exam == "ЕГЭ")
    ok = final_pass | ~mandatory
    math_ok = ok[ege_math].groupby(grad[ege_math.to_numpy()]).any()
    other_ok = ok[~ege_math].groupby(grad[~ege_math.to_numpy()]).all()
    pupils = gf.groupby(grad).agg(pupil=("pupil", "first"), school=("school", "first"), year=("year", "first"),
                                  grade=("grade", "first"))
    att = (other_ok.reindex(pupils.index, fill_value=True) & math_ok.reindex(pupils.index, fill_value=True)).to_numpy()
    strong = ((gf.score >= gf.thr + 0.6 * (gf.smax - gf.thr)) & mandatory).groupby(grad).sum()
    candidate = att & (strong.reindex(pupils.index, fill_value=0).to_numpy() >= 2)
    level = w.schools.level.to_numpy()[pupils.school.to_numpy()]
    cohort = pupils.groupby(["school", "year", "grade"]).ngroup().to_numpy()
    size = np.bincount(cohort)
    rate = np.bincount(cohort, weights=np.clip(0.015 + 0.04 * (level + 0.5), 0.0, 0.08)) / size
    quota = rng.binomial(size, rate)
    theta = np.where(candidate, w.pupils.theta.to_numpy()[pupils.pupil.to_numpy()], -np.inf)
    rank = pd.Series(-theta).groupby(cohort).rank(method="first").to_numpy() - 1
    honours = candidate & (rank < quota[cohort])
    grads = pd.DataFrame({"year": pupils.year.to_numpy(), "school_id": w.schools.school_id.to_numpy()[pupils.school],
                          "grade": pupils.grade.to_numpy(), "participant_id": w.pupils.pid.to_numpy()[pupils.pupil.to_numpy()],
                          "attestat": att, "honours": honours})
    return grads.sort_values(["year", "grade", "school_id", "participant_id"]).reset_index(drop=True)
