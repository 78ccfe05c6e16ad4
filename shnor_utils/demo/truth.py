"""Risk profiles, the official ШНОР list, and the audit of what honest schools still trigger."""
from __future__ import annotations

import numpy as np
import pandas as pd

from shnor_utils.demo._world import RISK_FACTORS, _World
from shnor_utils.demo.plants import _in_procedures, _sign_procedures, _vpr_groups
from shnor_utils.demo.vpr import _spearman_by_group
from shnor_utils.data.tables import records


# ---- risk profiles and the official list ---------------------------------------------------------
def _risk_profiles(w: _World) -> pd.DataFrame:
    """«500+» profile: 10 factors per school × year; levels follow the social index, the planted
    low procedures (rf06, rf10), vacancies (rf02) and teacher deficits (rf03, rf05)."""
    rng, sc = w.rng("risk"), w.schools
    T, F = len(w.years), len(RISK_FACTORS)
    z = ((sc.social_index.to_numpy() - 50) / 15)[:, None, None]
    latent = -0.6 * z + rng.normal(0, 0.6, (w.n, T, F)) - 0.3
    idx = {sid: i for i, sid in enumerate(sc.school_id)}
    yi = {y: t for t, y in enumerate(w.years)}
    for sid, counts in w.truth.get("low_counts", {}).items():
        for y, k in counts.items():
            latent[idx[sid], yi[int(y)], [5, 9]] += 0.7 * k
    for v in w.truth.get("vacancies", []):
        latent[idx[v["school_id"]], yi[v["year"]], 1] += 1.2
    for p in w.truth.get("teacher_deficits", []):
        latent[idx[p["school_id"]], yi[p["year"]], [2, 4]] += 1.0
    level = np.where(latent > 0.8, "высокий", np.where(latent > -0.2, "средний", "низкий"))
    s, t, f = np.meshgrid(np.arange(w.n), np.arange(T), np.arange(F), indexing="ij")
    return pd.DataFrame({"year": np.array(w.years)[t.ravel()], "school_id": sc.school_id.to_numpy()[s.ravel()],
                         "risk_factor": np.array(list(RISK_FACTORS))[f.ravel()], "level": level.ravel()}
                        ).sort_values(["year", "school_id", "risk_factor"]).reset_index(drop=True)


def _official_shnor(w: _World) -> pd.DataFrame:
    """The official list = the rule's `shnor` list, except in the last data year one listed school
    is missing and one risk school (one low procedure the year before) is added."""
    rng = w.rng("official")
    shnor = {int(y): list(ids) for y, ids in w.truth["shnor"].items()}
    year = max((y for y in shnor if y <= w.years[-1] and shnor[y]), default=max(shnor))
    missing = str(rng.choice(sorted(shnor[year])))
    pool = sorted(set(w.truth["risk_school"].get(str(year - 1), [])) - set(shnor[year]))
    if not pool:
        pool = sorted(set(w.schools.school_id) - set(shnor[year]))
    extra = str(rng.choice(pool))
    official = {y: sorted((set(ids) - {missing}) | {extra}) if y == year else sorted(ids) for y, ids in shnor.items()}
    w.truth["official_shnor"] = {str(y): ids for y, ids in official.items()}
    w.truth["official_differs"] = {"year": year, "extra": [extra], "missing": [missing],
                                   "note": "в официальном перечне есть школа, не выбранная правилом 30 %, "
                                           "и нет одной школы, выбранной правилом"}
    rows = [(y, s) for y, ids in official.items() for s in ids]
    return pd.DataFrame(rows, columns=["year", "school_id"])


# ---- audit: what honest schools still trigger ------------------------------------------------------
def _audit(w: _World, vf: pd.DataFrame, gf: pd.DataFrame) -> None:
    """Recompute the three ФИОКО signs on the generated data (docs/METHODOLOGY.md §1) and record the
    groups that meet a sign without being planted: truth["unplanted"]."""
    z, k_iqr = w.rule("objectivity_signs.z"), w.rule("objectivity_signs.iqr_k")
    n_min = w.rule("small_groups.min_for_sign")
    p = vf[~vf.absent & _in_procedures(w, vf.subject, vf.grade, _sign_procedures(w))]
    planted = {(e["school_id"], e["year"], e["subject"], e["grade"]) for e in w.truth["sign_inflated_mean"]}
    planted |= {(e["school_id"], e["year"], e["subject"], e["grade_from"]) for e in w.truth["sign_cohort_jump"]
                if e["direction"] == "drop"}
    ci = _sign1_groups(p.assign(x=p.score), ["year", "subject", "grade"], z, n_min)
    un1 = [e for e in map(lambda r: _entry(w, r), records(ci, index=True))
           if (e["school_id"], e["year"], e["subject"], e["grade"]) not in planted]
    oge = gf[(gf.exam == "ОГЭ") & gf.subject.isin([w.subj_code(s) for s, _ in _sign_procedures(w)])]
    ci = _sign1_groups(oge.assign(x=oge.score), ["year", "subject"], z, n_min)
    un1 += [{**_entry(w, r, grade=9), "exam": "ОГЭ"} for r in records(ci, index=True)]
    mism = {(e["school_id"], e["year"], e["subject"], e["grade"]) for e in w.truth["sign_mark_mismatch"]}
    q = p[p.journal.notna()]
    rho = _spearman_by_group(q.group.to_numpy(), q.score.to_numpy(), q.journal.to_numpy())
    n = q.groupby("group").size()
    g = _vpr_groups(vf)
    neg = g.loc[rho.index[(rho < w.rule("objectivity_signs.spearman_below")).to_numpy() & (n >= n_min).to_numpy()]]
    un2 = [e for e in map(lambda r: _entry(w, r), records(neg, index=True))
           if (e["school_id"], e["year"], e["subject"], e["grade"]) not in mism]
    jumps = _cohort_jumps(w, p, k_iqr, n_min)
    jump_planted = {(e["school_id"], e["year"], e["subject"]) for e in w.truth["sign_cohort_jump"]}
    un3 = [j for j in jumps if (j["school_id"], j["year"], j["subject"]) not in jump_planted]
    w.truth["unplanted"] = {"sign_inflated_mean": un1, "sign_mark_mismatch": un2, "sign_cohort_jump": un3}
    w.truth["cohort_fences"] = {f'{j["year"]} {j["subject"]}': j["fence"] for j in jumps} if jumps else {}
    w.truth["cohort_k"] = [j for j in jumps if (j["school_id"], j["year"], j["subject"]) in jump_planted]


def _entry(w: _World, r, grade=None) -> dict:
    return {"school_id": w.sid(r.school)[0], "year": int(r.year), "subject": w.subjects[int(r.subject)],
            "grade": int(grade if grade is not None else r.grade)}


def _sign1_groups(p: pd.DataFrame, proc: list, z: float, n_min: int) -> pd.DataFrame:
    """Groups whose 95 % CI lower bound of the mean is above the region's CI upper bound."""
    reg = p.groupby(proc).x.agg(["mean", "std", "count"])
    reg["ub"] = reg["mean"] + z * reg["std"] / np.sqrt(reg["count"])
    grp = p.groupby(["school", *proc]).x.agg(["mean", "std", "count"]).reset_index()
    grp["lb"] = grp["mean"] - z * grp["std"] / np.sqrt(grp["count"])
    grp = grp.join(reg["ub"], on=proc)
    return grp[(grp["count"] >= n_min) & (grp.lb > grp.ub)]


def _cohort_jumps(w: _World, p: pd.DataFrame, k_iqr: float, n_min: int) -> list:
    """K = S(g_lo, Y) / S(g_hi, Y+1) with S = mean % of max; outside Q25 − k·IQR … Q75 + k·IQR."""
    g_lo, g_hi = (int(x) for x in w.rule("objectivity_signs.cohort_grades"))
    s = p.assign(pct=p.score / p.smax).groupby(["school", "year", "subject", "grade"]).pct.agg(["mean", "count"])
    s = s[s["count"] >= n_min]["mean"].reset_index()
    lo = s[s.grade == g_lo].rename(columns={"mean": "s_lo"})
    hi = s[s.grade == g_hi].assign(year=lambda d: d.year - 1).rename(columns={"mean": "s_hi"})
    k = lo.merge(hi, on=["school", "year", "subject"])
    k["K"] = k.s_lo / k.s_hi
    out = []
    for (year, subject), part in k.groupby(["year", "subject"]):
        q25, q75 = part.K.quantile(0.25), part.K.quantile(0.75)
        fence = [float(q25 - k_iqr * (q75 - q25)), float(q75 + k_iqr * (q75 - q25))]
        for r in records(part[(part.K < fence[0]) | (part.K > fence[1])], index=True):
            out.append({"school_id": w.sid(r.school)[0], "year": int(year), "subject": w.subjects[int(subject)],
                        "K": round(float(r.K), 3), "direction": "drop" if r.K > fence[1] else "rise",
                        "fence": [round(f, 3) for f in fence]})
    return out
