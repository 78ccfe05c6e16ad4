"""Teachers, staffing and vacancies, teacher development and diagnostics (planted deficits)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from shnor_utils.data.schema import BLOCKS, TABLES
from shnor_utils.demo._world import DEFICIT_THRESHOLD, REGION_ID, _World
from shnor_utils.demo.schools import _pick


# ---- teachers and staffing ---------------------------------------------------------------------
_HOURS = {"Русский язык": 8.0, "Математика": 6.0, "Иностранный язык": 3.0, "История": 3.0, "Биология": 1.5,
          "География": 1.5, "Физика": 2.0, "Химия": 1.5, "Информатика": 1.0, "Физическая культура": 2.5,
          "Технология": 1.5}  # weekly hours per class of grades 5–11
_SPECIALISTS = {  # position → size class → (probability of the post, rate)
    "педагог-психолог": {"city": (1.0, 1.0), "mid": (0.7, 0.5), "small": (0.3, 0.25), "internat": (1.0, 1.0)},
    "учитель-логопед": {"city": (0.9, 1.0), "mid": (0.4, 0.5), "small": (0.1, 0.25), "internat": (1.0, 1.0)},
    "учитель-дефектолог": {"city": (0.5, 1.0), "mid": (0.15, 0.5), "small": (0.05, 0.25), "internat": (1.0, 1.0)},
    "социальный педагог": {"city": (0.9, 1.0), "mid": (0.6, 0.5), "small": (0.3, 0.25), "internat": (1.0, 1.0)},
    "педагог дополнительного образования": {"city": (1.0, 1.0), "mid": (0.8, 0.5), "small": (0.5, 0.25),
                                            "internat": (1.0, 1.0)},
}


_VACANCY_POSTS = (("учитель", "Математика"), ("учитель", "Физика"), ("учитель", "Иностранный язык"),
                  ("учитель", "Химия"), ("педагог-психолог", None), ("учитель-логопед", None))


def _teacher_slots(w: _World, rng) -> pd.DataFrame:
    """Staff posts of every school: primary-class teachers, subject teachers by weekly hours
    (rates in quarters of a ставка), specialists by school size."""
    sc = w.schools
    per, top, stay = sc.per_grade.to_numpy(), sc.top_grade.to_numpy(), sc.stay.to_numpy()
    classes = np.ceil(per / 25)
    primary = np.where(per < 10, 2, 4 * classes).astype(int)
    senior = classes * np.clip(np.minimum(top, 9) - 4, 0, None) + np.where(top == 11, 2 * np.ceil(per * stay / 25), 0)
    frames = []
    s = np.repeat(np.arange(w.n), primary)
    frames.append(pd.DataFrame({"school": s, "position": "учитель", "subject": "Начальные классы",
                                "rate": 1.0 + 0.25 * (rng.random(len(s)) < 0.3)}))
    for subject, hours in _HOURS.items():
        total = senior * hours
        n_t = np.where(total > 0, np.maximum(1, np.rint(total / 27)), 0).astype(int)
        each = np.clip(np.round(total / np.maximum(n_t, 1) / 18 * 4) / 4, 0.25, 2.0)
        s = np.repeat(np.arange(w.n), n_t)
        frames.append(pd.DataFrame({"school": s, "position": "учитель", "subject": subject, "rate": each[s]}))
    size = sc.size_class.to_numpy()
    for position, spec in _SPECIALISTS.items():
        prob = np.array([spec[c][0] for c in size])
        rate = np.array([spec[c][1] for c in size])
        posts = np.where((size == "city") & position.startswith("педагог доп"), 2, 1)
        n_t = (rng.random(w.n) < prob).astype(int) * posts
        s = np.repeat(np.arange(w.n), n_t)
        frames.append(pd.DataFrame({"school": s, "position": position, "subject": None, "rate": rate[s]}))
    slots = pd.concat(frames, ignore_index=True).sort_values(["school"], kind="stable").reset_index(drop=True)
    slots["ordinal"] = slots.groupby("school").cumcount()
    return slots


def _teachers_tables(w: _World) -> tuple[pd.DataFrame, pd.DataFrame]:
    """teachers (stable ids; ~8–11 % of posts change hands each year) and staffing (rates filled =
    sum of the teachers' rates; the planted `vacancies` are the only unfilled rates)."""
    rng = w.rng("teachers")
    slots = _teacher_slots(w, rng)
    T = len(w.years)
    rural = (w.schools.settlement.to_numpy() == "село")[slots.school.to_numpy()]
    change = rng.random((len(slots), T)) < np.where(rural, 0.11, 0.08)[:, None]
    change[:, 0] = False
    n_slots = slots.groupby("school").size().reindex(range(w.n), fill_value=0).to_numpy()
    j, t = np.nonzero(change)
    events = pd.DataFrame({"slot": j, "t": t, "school": slots.school.to_numpy()[j]})
    events = events.sort_values(["school", "t", "slot"])
    events["serial"] = n_slots[events.school] + events.groupby("school").cumcount() + 1
    serial = np.full((len(slots), T), np.nan)
    serial[:, 0] = slots.ordinal.to_numpy() + 1
    serial[events.slot.to_numpy(), events.t.to_numpy()] = events.serial.to_numpy()
    serial = pd.DataFrame(serial).ffill(axis=1).to_numpy().astype(int)
    long = pd.DataFrame({"slot": np.repeat(np.arange(len(slots)), T), "t": np.tile(np.arange(T), len(slots)),
                         "serial": serial.ravel()})
    long = long.join(slots[["school", "position", "subject", "rate"]], on="slot")
    long["teacher"] = long.school.astype(np.int64) * 1000 + long.serial
    people = _teacher_people(w, long, rng)
    long = long.join(people, on="teacher")
    since = long.t - long.t_first
    teachers = pd.DataFrame({
        "year": np.array(w.years)[long.t.to_numpy()],
        "school_id": w.schools.school_id.to_numpy()[long.school.to_numpy()],
        "teacher_id": [f"t{REGION_ID[3:]}{s + 1:04d}{k:03d}" for s, k in zip(long.school, long.serial)],
        "position": long.position.to_numpy(), "subject": long.subject.to_numpy(),
        "age": (long.age0 + since).to_numpy(), "pedagogical_education": long.ped.to_numpy(),
        "category": long.category.to_numpy(), "experience_years": (long.exp0 + since).to_numpy(),
        "rate": long.rate.to_numpy(), "part_time": long.part_time.to_numpy(),
    }).sort_values(["year", "school_id", "teacher_id"], kind="stable").reset_index(drop=True)
    return teachers, _staffing(w, teachers, rng)


def _teacher_people(w: _World, long: pd.DataFrame, rng) -> pd.DataFrame:
    """Per teacher: age and experience when first seen, education, category, part-time."""
    first = long.groupby("teacher").agg(t_first=("t", "min"), school=("school", "first"))
    n = len(first)
    newcomer = first.t_first.to_numpy() > 0
    young = newcomer & (rng.random(n) < 0.5)
    age0 = np.where(young, rng.integers(22, 29, n), np.clip(np.rint(rng.normal(47, 11, n)), 23, 72)).astype(int)
    exp0 = np.clip(age0 - 23 - rng.integers(0, 6, n), 0, None)
    rural = w.schools.settlement.to_numpy()[first.school.to_numpy()] == "село"
    ped = rng.random(n) < np.where(rural, 0.86, 0.93)
    cat = rng.choice(["высшая", "первая", "соответствие", "без категории"], size=n, p=[0.35, 0.35, 0.25, 0.05])
    cat = np.where(rural & (cat == "высшая") & (rng.random(n) < 0.4), "первая", cat)
    cat = np.where(exp0 < 2, "без категории", cat)
    part = rng.random(n) < np.where(rural, 0.04, 0.09)
    return pd.DataFrame({"t_first": first.t_first, "age0": age0, "exp0": exp0, "ped": ped, "category": cat,
                         "part_time": part}, index=first.index)


def _staffing(w: _World, teachers: pd.DataFrame, rng) -> pd.DataFrame:
    """Rates per school × year × post; planted vacancies add unfilled rates (1 vacancy = 1 ставка)."""
    keys = ["year", "school_id", "position", "subject"]
    st = teachers.groupby(keys, dropna=False).rate.sum().rename("rates_filled").reset_index()
    st["rates_planned"], st["vacancies"] = st.rates_filled, 0
    entries = _plant_vacancies(w, rng)
    add = pd.DataFrame(entries)[["year", "school_id", "position", "subject", "vacancies"]]
    st = st.merge(add.rename(columns={"vacancies": "planted"}), on=keys, how="outer")
    st["rates_filled"] = st.rates_filled.fillna(0.0)
    st["planted"] = st.planted.fillna(0).astype(int)
    st["vacancies"] = st.planted
    st["rates_planned"] = st.rates_filled + st.planted * 1.0
    st = st.sort_values(keys, na_position="first", kind="stable").reset_index(drop=True)
    return st[TABLES["staffing"].column_names]


def _plant_vacancies(w: _World, rng) -> list:
    """Unfilled posts in rural schools (mathematics, physics, … teachers; psychologist and
    speech-therapist posts), for one or two consecutive years."""
    sc = w.schools
    cand = np.flatnonzero((sc.settlement.to_numpy() == "село") & (sc.top_grade.to_numpy() >= 9))
    n = w.count(6)
    schools = _pick(rng, cand, n, "vacancies")
    entries = []
    for k, s in enumerate(schools):
        position, subject = _VACANCY_POSTS[k % len(_VACANCY_POSTS)]
        span = 1 + int(rng.random() < 0.5)
        start = int(rng.integers(0, len(w.years) - span + 1))
        for y in w.years[start:start + span]:
            entries.append({"school_id": w.sid(s)[0], "year": y, "position": position, "subject": subject,
                            "vacancies": 1})
    entries.sort(key=lambda e: (e["year"], e["school_id"], e["position"]))
    w.truth["vacancies"] = entries
    return entries


# ---- teacher development and diagnostics ---------------------------------------------------------
_BLOCK_MAX = dict(zip(BLOCKS, (30.0, 20.0, 20.0, 10.0, 10.0)))


def _development_tables(w: _World, teachers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Diagnostics (5 blocks, score/max) for diagnosed teachers and development flags; planted
    `teacher_deficits` are the only school × year × block where most diagnosed teachers are below
    DEFICIT_THRESHOLD."""
    rng = w.rng("development")
    tv = teachers[["year", "school_id", "teacher_id"]].reset_index(drop=True)
    risk_ids = {s for ids in w.truth.get("risk_school", {}).values() for s in ids}
    risky = tv.school_id.isin(risk_ids).to_numpy()
    diagnosed = rng.random(len(tv)) < np.where(risky, 0.65, 0.4)
    plants = _plant_deficits(w, tv, rng)
    in_plant = tv.set_index(["school_id", "year"]).index.isin([(p["school_id"], p["year"]) for p in plants])
    diagnosed |= in_plant & (rng.random(len(tv)) < 0.85)
    diag = tv[diagnosed].reset_index(drop=True)
    si = w.schools.set_index("school_id").social_index
    z = ((si.reindex(diag.school_id).to_numpy() - 50) / 15)
    frac = np.clip(rng.normal(0.74 + 0.02 * z[:, None], 0.10, (len(diag), len(BLOCKS))), 0.2, 1.0)
    for p in plants:
        rows = np.flatnonzero((diag.school_id == p["school_id"]).to_numpy() & (diag.year == p["year"]).to_numpy())
        low = rng.choice(rows, size=math.ceil(0.8 * len(rows)), replace=False)
        frac[low, BLOCKS.index(p["block"])] = rng.uniform(0.25, 0.45, len(low))
    d = pd.DataFrame({"year": np.repeat(diag.year.to_numpy(), len(BLOCKS)),
                      "school_id": np.repeat(diag.school_id.to_numpy(), len(BLOCKS)),
                      "teacher_id": np.repeat(diag.teacher_id.to_numpy(), len(BLOCKS)),
                      "block": np.tile(np.array(BLOCKS, dtype=object), len(diag)),
                      "max_score": np.tile(np.array([_BLOCK_MAX[b] for b in BLOCKS]), len(diag))})
    d["frac"] = frac.ravel()
    _keep_deficits_rare(d, plants, rng)
    d["score"] = np.round(d.frac * d.max_score * 2) / 2
    for p in plants:
        m = (d.school_id == p["school_id"]) & (d.year == p["year"]) & (d.block == p["block"])
        p["diagnosed"], p["with_deficit"] = int(m.sum()), int((m & (d.score / d.max_score < DEFICIT_THRESHOLD)).sum())
    deficit = (d.score / d.max_score < DEFICIT_THRESHOLD).groupby([d.year, d.school_id, d.teacher_id]).any()
    dev = _development_flags(tv, diagnosed, deficit, risky, rng)
    diagnostics = d[TABLES["teacher_diagnostics"].column_names].sort_values(
        ["year", "school_id", "teacher_id"], kind="stable").reset_index(drop=True)
    return dev, diagnostics


def _plant_deficits(w: _World, tv: pd.DataFrame, rng) -> list:
    size = tv.groupby(["school_id", "year"]).size()
    cand = size[size >= 8].reset_index()
    schools = _pick(rng, cand.school_id.unique(), w.count(3), "teacher_deficits")
    plants = []
    for k, s in enumerate(schools):
        years = cand[cand.school_id == s].year.to_numpy()
        plants.append({"school_id": s, "year": int(rng.choice(years)), "block": BLOCKS[k % len(BLOCKS)]})
    w.truth["teacher_deficits"] = plants
    return plants


def _keep_deficits_rare(d: pd.DataFrame, plants: list, rng) -> None:
    """Outside the plants, a school × year × block never has half or more of its diagnosed
    teachers below the threshold (scores are rounded to halves, so 0.52 stays ≥ 0.5)."""
    score = np.round(d.frac * d.max_score * 2) / 2
    below = score / d.max_score < DEFICIT_THRESHOLD
    key = [d.year, d.school_id, d.block]
    share = below.groupby(key).transform("mean")
    planted = pd.MultiIndex.from_frame(d[["school_id", "year", "block"]]).isin(
        [(p["school_id"], p["year"], p["block"]) for p in plants])
    lift = below & (share >= 0.5) & ~planted
    d.loc[lift, "frac"] = rng.uniform(0.52, 0.7, int(lift.sum()))


def _development_flags(tv, diagnosed, deficit, risky, rng) -> pd.DataFrame:
    n = len(tv)
    has_def = pd.MultiIndex.from_frame(tv[["year", "school_id", "teacher_id"]]).isin(deficit[deficit].index)
    has_iom = diagnosed & (rng.random(n) < np.where(has_def, 0.9, 0.35))
    completed = has_iom & (rng.random(n) < 0.6)
    reduced = completed & has_def & (rng.random(n) < 0.7)
    return pd.DataFrame({"year": tv.year, "school_id": tv.school_id, "teacher_id": tv.teacher_id,
                         "diagnosed": diagnosed, "has_iom": has_iom, "iom_completed": completed,
                         "deficit_reduced": reduced, "post_course_support": rng.random(n) < 0.35,
                         "network_mentoring": rng.random(n) < np.where(risky, 0.5, 0.12),
                         "competence_raised": rng.random(n) < 0.8})
