"""Schools (cities, rural districts, context), pupils followed as cohorts, school-level plants
(trends, resilience, one legitimately strong лицей)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from shnor_utils.data.schema import TABLES
from shnor_utils.demo._world import (REGION_ID, _PER_GRADE, _RESILIENT_BOOST, _STAY_TO_11, _TREND, _TYPE_BONUS, _World,
    _logit, _ranges, _sigmoid, _split)


# ---- schools -------------------------------------------------------------------------------
_CITY_NAMES = ("Заречный", "Светлоярск", "Новоборск", "Старолесье", "Краснодольск", "Тихоборск",
               "Верхнеключевск", "Ясноозёрск", "Белоречье", "Кедрогорск")
_DISTRICTS = ("Озёрский", "Сосновский", "Берёзовский", "Луговской", "Кедровский", "Ключевской",
              "Полянский", "Рябиновский", "Ольховский", "Журавлёвский", "Каменский", "Дубравный",
              "Медвежинский", "Соболевский", "Еланский", "Черёмуховский", "Боровской", "Родниковский",
              "Степановский", "Ивовый", "Зареченский", "Светлинский", "Лесногорский", "Ягодненский",
              "Тальниковский", "Камышинский", "Орловский", "Малиновский", "Ракитинский", "Калиновский",
              "Сокольский", "Тополиный")
_VILLAGES = ("Озёрная", "Берёзовская", "Сосновская", "Луговая", "Кедровая", "Ключевская", "Полянская",
             "Рябиновская", "Ольховская", "Журавлёвская", "Каменская", "Дубровская", "Покровская",
             "Никольская", "Троицкая", "Успенская", "Ильинская", "Михайловская", "Петровская",
             "Александровская", "Васильевская", "Горская", "Речная", "Лесная", "Полевая", "Садовая",
             "Боровая", "Еловая", "Липовая", "Черёмуховая", "Малиновая", "Ягодная", "Светлая", "Тихая",
             "Зелёная", "Высокая", "Долинная", "Родниковая", "Степная", "Калиновая")
_VILLAGE_PREFIXES = ("", "Ново", "Верхне", "Нижне", "Старо", "Мало", "Больше")


def _make_schools(w: _World, n: int) -> None:
    """Municipalities (≥ 3, ~N/30; the first ones are cities) and their schools with context."""
    rng = w.rng("schools")
    n_mun = max(3, round(n / 30))
    n_city_mun = max(1, round(n_mun / 8))
    n_city = round(0.4 * n)
    rows = []
    for m, size in enumerate(_split(n_city, n_city_mun)):
        rows += _city_schools(m, size, rng)
    rows += _rural_schools(n_city_mun, n_mun - n_city_mun, n - n_city, n, rng)
    sc = pd.DataFrame(rows)
    sc.insert(0, "school_id", [f"edu{REGION_ID[3:]}{i + 1:04d}" for i in range(len(sc))])
    _add_context(sc, rng)
    w.schools = sc
    w.subjects = tuple(s for s in w.meth.subjects if not w.meth.group(s))   # languages of a group: not simulated
    w.subj_effect = rng.normal(0, 0.12, (len(sc), len(w.subjects)))


def _city_schools(m: int, size: int, rng) -> list:
    city = _CITY_NAMES[m % len(_CITY_NAMES)] + ("" if m < len(_CITY_NAMES) else f"-{m // len(_CITY_NAMES) + 1}")
    elite = [max(1, round(share * size)) for share in (0.08, 0.08, 0.07)]
    types = ["лицей"] * elite[0] + ["гимназия"] * elite[1] + ["СОШ с УИОП"] * elite[2]
    types = list(rng.permutation(types + ["СОШ"] * (size - len(types))))
    numbers = np.sort(rng.choice(np.arange(1, size + size // 3 + 2), size, replace=False))
    names = {"СОШ": 'МБОУ "СОШ № {k} г. {c}"', "лицей": 'МАОУ "Лицей № {k} г. {c}"',
             "гимназия": 'МАОУ "Гимназия № {k} г. {c}"',
             "СОШ с УИОП": 'МБОУ "СОШ № {k} с углублённым изучением отдельных предметов г. {c}"'}
    return [{"school_name": names[t].format(k=k, c=city), "municipality_id": f"{REGION_ID}_m{m + 1:03d}",
             "municipality_name": f"городской округ {city}", "settlement": "город", "school_type": t,
             "size_class": "city"} for t, k in zip(types, numbers)]


def _rural_schools(first_mun: int, n_mun: int, total: int, n_region: int, rng) -> list:
    n_int, n_nosh = max(1, round(n_region / 64)), max(1, round(0.09 * total))
    n_oosh, n_small = round(0.25 * total), round(0.22 * total)
    kinds = ([("интернат", "internat")] * n_int + [("НОШ", "small")] * n_nosh + [("ООШ", "small")] * n_oosh
             + [("СОШ", "small")] * n_small + [("СОШ", "mid")] * (total - n_int - n_nosh - n_oosh - n_small))
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    villages = _village_names(total, rng)
    names = {"СОШ": 'МКОУ "{v} СОШ"', "ООШ": 'МКОУ "{v} ООШ"', "НОШ": 'МКОУ "{v} НОШ"',
             "интернат": 'ГКОУ "{v} школа-интернат"'}
    rows, k = [], 0
    for j, size in enumerate(_split(total, n_mun)):
        m = first_mun + j
        district = _DISTRICTS[j % len(_DISTRICTS)] + ("" if j < len(_DISTRICTS) else f"-{j // len(_DISTRICTS) + 1}")
        for _ in range(size):
            t, size_class = kinds[k]
            rows.append({"school_name": names[t].format(v=villages[k]), "municipality_id": f"{REGION_ID}_m{m + 1:03d}",
                         "municipality_name": f"{district} муниципальный район", "settlement": "село",
                         "school_type": t, "size_class": size_class})
            k += 1
    return rows


def _village_names(n: int, rng) -> list:
    base = [_VILLAGES[i] for i in rng.permutation(len(_VILLAGES))]
    out = []
    for i in range(n):
        v = base[i % len(base)]
        prefix = _VILLAGE_PREFIXES[(i // len(base)) % len(_VILLAGE_PREFIXES)]
        name = prefix + (v[0].lower() + v[1:] if prefix else v)
        rounds = i // (len(base) * len(_VILLAGE_PREFIXES))
        out.append(name + (f" № {rounds + 1}" if rounds else ""))
    return out


def _add_context(sc: pd.DataFrame, rng) -> None:
    """Size, grades, social index (city higher), ШНСУ flag and the latent school level."""
    n = len(sc)
    size_class, stype = sc.size_class.to_numpy(), sc.school_type.to_numpy()
    lo = np.array([_PER_GRADE[c][0] for c in size_class])
    hi = np.array([_PER_GRADE[c][1] for c in size_class])
    sc["per_grade"] = rng.uniform(lo, hi)
    sc["top_grade"] = np.select([stype == "НОШ", stype == "ООШ"], [4, 9], 11)
    elite = np.isin(stype, ("лицей", "гимназия", "СОШ с УИОП"))
    stay = np.array([_STAY_TO_11[c] for c in size_class]) + 0.15 * elite
    sc["stay"] = stay
    mean = np.select([size_class == "city", size_class == "internat"], [60.0, 24.0], 42.0) + 8 * elite
    sd = np.where(size_class == "internat", 5.0, np.where(size_class == "city", 10.0, 11.0))
    sc["social_index"] = np.round(np.clip(rng.normal(mean, sd), 5, 95), 1)
    sc["shnsu"] = sc.social_index < 30
    grades = np.where(sc.top_grade == 11, 9 + 2 * stay, sc.top_grade)
    sc["students"] = np.rint(sc.per_grade * grades * rng.uniform(0.95, 1.05, n)).astype(int)
    bonus = np.array([_TYPE_BONUS.get(t, 0.0) for t in stype])
    sc["context_level"] = 0.35 * (sc.social_index - 50) / 12 + bonus   # what the context predicts
    sc["level"] = sc.context_level + rng.normal(0, 0.15, n)
    sc["trend"] = 0.0
    sc["leniency"] = rng.uniform(0.12, 0.24, n)      # share of journal marks one above the ВПР mark
    sc["legit_strong"] = False


def _schools_table(w: _World) -> pd.DataFrame:
    cols = TABLES["schools"].column_names
    return w.schools[cols].copy()


# ---- pupils (cohorts followed over the years) --------------------------------------------------
def _make_pupils(w: _World) -> None:
    """Cohorts c (pupils in grade g in year c + g) of every school, with a persistent ability."""
    rng = w.rng("pupils")
    sc = w.schools
    w.c0 = w.years[0] - 11
    w.n_coh = w.years[-1] - 4 - w.c0 + 1
    sizes = np.maximum(5, np.rint(sc.per_grade.to_numpy()[:, None]
                                  * np.exp(rng.normal(0, 0.12, (w.n, w.n_coh))))).astype(np.int64)
    counts = sizes.ravel()
    starts = np.cumsum(counts) - counts
    total = int(counts.sum())
    school = np.repeat(np.arange(w.n), sizes.sum(axis=1))
    cohort = np.repeat(np.tile(np.arange(w.n_coh), w.n), counts) + w.c0
    within = np.arange(total) - np.repeat(starts, counts)
    theta = rng.normal(0, 0.85, total)
    stay_p = _sigmoid(1.3 * theta + _logit(sc.stay.to_numpy()[school]))
    stays = rng.random(total) < stay_p
    senior_rank = pd.Series(stays).groupby(np.repeat(np.arange(len(counts)), counts)).cumsum().to_numpy() - 1
    school_first = np.cumsum(sizes.sum(axis=1)) - sizes.sum(axis=1)
    number = np.arange(total) - np.repeat(school_first, sizes.sum(axis=1))
    w.pupils = pd.DataFrame({"school": school, "cohort": cohort, "theta": theta, "stays": stays,
                             "klass": within // 25, "klass_senior": np.maximum(senior_rank, 0) // 25,
                             "code": (10001 + number).astype(str), "pid": _pseudonyms(total, w.seed)})
    w.coh_start, w.coh_count = starts, counts


def _pseudonyms(n: int, seed: int) -> np.ndarray:
    """'p' + 10 hex digits: an affine bijection of the pupil index mod 2^40 (unique, not a name)."""
    rng = np.random.Generator(np.random.PCG64([seed, 99]))
    a = int(rng.integers(1 << 20, 1 << 39)) * 2 + 1
    b = int(rng.integers(0, 1 << 40))
    x = (np.arange(n, dtype=np.uint64) * np.uint64(a) + np.uint64(b)) & np.uint64((1 << 40) - 1)
    return np.char.add("p", np.char.zfill(np.char.mod("%x", x), 10)).astype(object)


def _sittings(w: _World, grades) -> tuple:
    """(school, year, grade) of every class that exists in the school's grade range."""
    s, y, g = np.meshgrid(np.arange(w.n), np.array(w.years), np.array(list(grades)), indexing="ij")
    s, y, g = s.ravel(), y.ravel(), g.ravel()
    keep = g <= w.schools.top_grade.to_numpy()[s]
    return s[keep], y[keep], g[keep]


def _members(w: _World, s, y, g) -> tuple:
    """Pupil rows sitting in (s, y, g) and the index of their sitting; grades 10–11 keep stayers."""
    pos = s * w.n_coh + (y - g - w.c0)
    pupil = _ranges(w.coh_start[pos], w.coh_count[pos])
    sit = np.repeat(np.arange(len(s)), w.coh_count[pos])
    keep = (g[sit] < 10) | w.pupils.stays.to_numpy()[pupil]
    return pupil[keep], sit[keep]


def _ability(w: _World, school, year, subject, pupil, group, rng) -> np.ndarray:
    """School level (with its trend) + school×subject effect + group noise + pupil + occasion."""
    sc = w.schools
    mid = (w.years[0] + w.years[-1]) / 2
    level = sc.level.to_numpy()[school] + sc.trend.to_numpy()[school] * (year - mid)
    group_noise = rng.normal(0, 0.06, int(group.max()) + 1)[group]
    return (level + w.subj_effect[school, subject] + group_noise + w.pupils.theta.to_numpy()[pupil]
            + rng.normal(0, 0.40, len(pupil)))


# ---- school-level plants: trends, resilience, one legitimately strong лицей ---------------------
def _plant_levels(w: _World) -> None:
    """Improving / declining schools (level ± _TREND per year), resilient schools (low social
    index, level = context prediction + _RESILIENT_BOOST) and one strong лицей left legitimately
    above the region."""
    rng, sc = w.rng("levels"), w.schools
    pct = sc.level.rank(pct=True).to_numpy()
    liceums = np.flatnonzero(sc.school_type.to_numpy() == "лицей")
    strong = int(liceums[np.argmax(sc.level.to_numpy()[liceums])])
    sc.loc[strong, "legit_strong"] = True
    w.claim(strong, "legitimately_strong")
    sizeable = (sc.per_grade.to_numpy() >= 15) & (sc.top_grade.to_numpy() >= 9)
    plain = ~sc.school_type.isin(["лицей", "гимназия", "интернат"]).to_numpy()
    for effect, lo, hi, sign in (("improving", 0.15, 0.6, 1), ("declining", 0.4, 0.85, -1)):
        cand = np.flatnonzero(w.free() & sizeable & plain & (pct >= lo) & (pct <= hi))
        chosen = _pick(rng, cand, w.count(3), effect)
        sc.loc[chosen, "trend"] = sign * _TREND
        w.claim(chosen, effect)
        w.truth[effect] = [{"school_id": s, "trend_per_year": sign * _TREND} for s in w.sid(chosen)]
    si = sc.social_index.to_numpy()
    cand = np.flatnonzero(w.free() & (sc.settlement.to_numpy() == "село") & (sc.top_grade.to_numpy() >= 9)
                          & (sc.per_grade.to_numpy() >= 10) & (si <= np.quantile(si, 0.3)))
    chosen = _pick(rng, cand, w.count(2), "resilient")
    sc.loc[chosen, "level"] = sc.context_level[chosen] + _RESILIENT_BOOST
    w.claim(chosen, "resilient")
    w.truth["resilient"] = [{"school_id": w.sid(i)[0], "social_index": float(si[i]), "boost": _RESILIENT_BOOST}
                            for i in chosen]
    w.truth["legitimately_strong"] = w.sid(strong)


def _pick(rng, candidates, k: int, what: str) -> np.ndarray:
    candidates = np.unique(candidates)
    if len(candidates) < k:
        raise RuntimeError(f"demo: not enough candidate schools for {what} ({len(candidates)} < {k})")
    return np.sort(rng.choice(candidates, size=k, replace=False))
