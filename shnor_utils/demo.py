"""Synthetic demo region «Демонстрационная область» (reg99) with PLANTED effects.

`generate(out_dir)` writes every table of the dataset contract (shared/DATA_CONTRACT.md,
`schema.TABLES`) and `truth.json`: the effects deliberately planted in the data, so that the
tests of each analysis can check that it finds exactly what was planted — no more, no less.

How the data are made (all seeded, `numpy.random.Generator(PCG64)`, one stream per concern):
- schools: one or more cities (≈ 40 % of schools, 50–110 pupils per grade, лицеи, гимназии,
  СОШ с УИОП) and rural districts (СОШ 15–30 per grade, small СОШ/ООШ 5–15, НОШ, one
  интернат); a social well-being index (higher = more favourable, rural lower) drives the
  school's latent level, so a regression of results on context makes sense;
- pupils are real cohorts followed over the years (grade 4 of year Y is grade 5 of Y+1),
  with a persistent ability; a result is level + subject effect + pupil + occasion noise,
  mapped through a logistic curve calibrated per procedure to the year's scale from the
  methodology (`load_methodology()`: ВПР/ОГЭ scales, ЕГЭ minimum scores);
- honest schools are kept honest BY CONSTRUCTION: no honest procedure reaches the
  Rosobrnadzor 30 % rule (the failing count is capped 5 p.p. below it), no honest school's
  95 % CI of the mean is above the region's (except one documented strong лицей), journal
  marks correlate positively with scores. Whatever an honest school still triggers is
  computed after generation and written to `truth["unplanted"]`.

Planted (see `truth.json`, every entry names school, year and procedure):
 1. `journal_inflation` — journal marks +1 for most pupils (high «понизили»);
 2. `sign_inflated_mean`, `sign_mark_mismatch`, `sign_cohort_jump` — the three ФИОКО signs;
 3. `boundary_peak` — pupils pulled up to exactly the lowest score of «3» («натягивание»);
 4. `task_pattern` — easy tasks solved worse than the region, hard tasks better;
 5. `low_procedures` → `shnor`, `risk_school` — the 30 % rule (entry, exit, re-entry);
 6. `improving` / `declining` — steady trends of the school level;
 7. `resilient` — low social index, results far above what the context predicts;
 8. `vacancies` — the only staffing rows with vacancies;
 9. `teacher_deficits` — school × year × block where most diagnosed teachers are below 0.5;
10. `official_shnor` — the official list = the rule's list, with one deliberate difference.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ParameterError
from .methodology import Methodology, load_methodology
from .schema import BLOCKS, TABLES

REGION_ID = "reg99"
REGION_NAME = "Демонстрационная область"
WAVE = "весна"
RU, MA = "Русский язык", "Математика"
FORMATS = ("csv", "parquet")
MIN_SCHOOLS = 40                 # below this the planted effects do not fit into the region
DEFICIT_THRESHOLD = 0.5          # a teacher has a deficit in a block when score / max_score < 0.5

VPR_SUBJECTS = {
    4: (RU, MA, "Окружающий мир"),
    5: (RU, MA, "История", "Биология"),
    6: (RU, MA, "История", "Биология", "Обществознание"),
    7: (RU, MA),
    8: (RU, MA),
}
TASK_PROCEDURES = ((RU, 4), (MA, 4), (RU, 5), (MA, 5))   # vpr_tasks: last year only

# Popularity of elective exams (relative weights; the choice itself is random).
OGE_ELECTIVES = {"Обществознание": 0.55, "География": 0.40, "Информатика": 0.35, "Биология": 0.30,
                 "Химия": 0.10, "Физика": 0.12, "История": 0.06, "Литература": 0.04, "Иностранный язык": 0.10}
EGE_ELECTIVES = {"Обществознание": 0.45, "Физика": 0.20, "Информатика": 0.20, "Биология": 0.18,
                 "Химия": 0.14, "История": 0.15, "Литература": 0.05, "География": 0.03, "Иностранный язык": 0.15}
# Demo-only maxima of ЕГЭ primary scores: test → primary is a plausible linear stand-in,
# not a conversion scale (no analysis reads ЕГЭ primary scores).
EGE_PRIMARY_MAX = {RU: 50, MA: 32, "Физика": 45, "Химия": 56, "Биология": 59, "История": 42,
                   "Обществознание": 58, "Информатика": 29, "Литература": 48, "География": 47,
                   "Иностранный язык": 82}

RISK_FACTORS = {  # «500+» catalogue as listed in reference/peers_and_methods.md §A.2
    "rf01": "Низкий уровень оснащения школы",
    "rf02": "Дефицит педагогических кадров",
    "rf03": "Недостаточная предметная и методическая компетентность педагогических работников",
    "rf04": "Риски низкой адаптивности учебного процесса",
    "rf05": "Несформированность внутришкольной системы повышения квалификации",
    "rf06": "Высокая доля обучающихся с рисками учебной неуспешности",
    "rf07": "Низкое качество преодоления языковых и культурных барьеров",
    "rf08": "Пониженный уровень качества школьной образовательной и воспитательной среды",
    "rf09": "Низкий уровень вовлеченности родителей",
    "rf10": "Низкая учебная мотивация обучающихся",
}

# Low procedures per year (k0, k1, k2, k3) of the ШНОР pattern schools. Together they give
# entry, exit, re-entry, a one-off risk school, two lows in one year, one low in two years.
LOW_TEMPLATES = ((2, 0, 0, 0), (2, 1, 0, 0), (0, 2, 0, 0), (0, 1, 1, 0), (1, 1, 0, 0), (0, 0, 1, 0),
                 (2, 0, 2, 0), (0, 0, 2, 1), (0, 0, 0, 2), (1, 0, 0, 1), (0, 0, 1, 1), (1, 1, 1, 1),
                 (0, 2, 1, 0), (1, 2, 0, 0), (2, 0, 0, 1))

# Realism knobs of the generator (not methodology: nothing here is a threshold of an analysis).
_PER_GRADE = {"city": (50, 110), "mid": (15, 30), "small": (5, 15), "internat": (10, 20)}
_STAY_TO_11 = {"city": 0.55, "mid": 0.45, "small": 0.40, "internat": 0.40}
_TYPE_BONUS = {"лицей": 0.35, "гимназия": 0.30, "СОШ с УИОП": 0.20, "интернат": -0.15}
_ABSENT, _NO_JOURNAL = 0.03, 0.03
_HONEST_MARGIN_PP = 5           # honest failing shares stay ≥ 5 p.p. below the 30 % rule
_LOW_EXTRA_PP = 15              # planted low procedures fail ≥ rule + 15 p.p. (45 %)
_MIN_LOW_N = 8                  # planted low procedures need at least this many participants
_MIN_SIGN_N = 15                # planted ФИОКО signs need at least this many participants
_TREND = 0.30                   # improving / declining: change of the latent level per year
_RESILIENT_BOOST = 1.0          # resilient: latent level = context prediction + this
_STREAMS = {"schools": 1, "pupils": 2, "levels": 3, "objectivity": 4, "vpr": 5, "tasks": 6, "gia": 7,
            "teachers": 8, "development": 9, "risk": 10, "lows": 11, "inflation": 12, "journal": 13,
            "retakes": 14, "graduates": 15, "official": 16}  # one random stream per concern


def generate(out_dir, *, schools: int = 64, seed: int = 20261122,
             years=(2023, 2024, 2025, 2026), fmt: str = "csv") -> dict:
    """Write the demo dataset to `out_dir` (replaced atomically) and return the truth dict.

    Files: `<table>.csv|parquet` for every table of the contract, `truth.json` (the planted
    effects) and `README.txt`. The same arguments give byte-identical files."""
    if fmt not in FORMATS:
        raise ParameterError(f"неизвестный формат «{fmt}»: ожидалось csv или parquet")
    out = _check_target(Path(out_dir))
    tables, truth = build(schools=schools, seed=seed, years=years)
    _write_dataset(out, tables, truth, fmt)
    return truth


def build(*, schools: int = 64, seed: int = 20261122, years=(2023, 2024, 2025, 2026),
          methodology: Methodology | None = None) -> tuple[dict, dict]:
    """The demo region in memory: ({table name: DataFrame}, truth dict)."""
    years = _check_arguments(schools, seed, years)
    w = _World(seed=seed, years=years, meth=methodology or load_methodology())
    _make_schools(w, schools)
    _make_pupils(w)
    _plant_levels(w)
    vf, gf = _vpr_frame(w), _gia_frame(w)
    _plant_objectivity(w, vf)
    _plant_lows(w, vf, gf)
    _plant_inflation(w)
    _score_vpr(w, vf)
    _score_gia(w, gf)
    _audit(w, vf, gf)
    tables = {"schools": _schools_table(w), "vpr": _vpr_table(w, vf), "vpr_tasks": _vpr_tasks(w, vf)}
    del vf  # the latent frames are large: free them as soon as their tables exist
    tables["gia"], tables["graduates"] = _gia_tables(w, gf)
    del gf
    tables["teachers"], tables["staffing"] = _teachers_tables(w)
    tables["teacher_development"], tables["teacher_diagnostics"] = _development_tables(w, tables["teachers"])
    tables["risk_profiles"] = _risk_profiles(w)
    tables["official_shnor"] = _official_shnor(w)
    for name in list(tables):
        tables[name] = _conform(tables[name], name)
    return tables, _finish_truth(w, tables)


# ---- the world under construction --------------------------------------------------------------
@dataclass
class _World:
    """Everything generated so far, with the latent quantities the tables do not show."""
    seed: int
    years: tuple
    meth: Methodology
    schools: pd.DataFrame = None
    pupils: pd.DataFrame = None
    coh_start: np.ndarray = None     # (school, cohort) → first pupil row
    coh_count: np.ndarray = None
    c0: int = 0                      # first cohort (year of entering grade 0)
    n_coh: int = 0
    subj_effect: np.ndarray = None   # school × subject latent effect
    subjects: tuple = ()
    claims: dict = field(default_factory=dict)   # school index → planted effect
    truth: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)   # planted ВПР/ГИА groups by effect

    def rng(self, stream: str) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64([self.seed, _STREAMS[stream]]))

    @property
    def n(self) -> int:
        return len(self.schools)

    @property
    def scale_factor(self) -> float:
        return self.n / 64

    def count(self, base: int) -> int:
        """How many instances of an effect planted 'base' times in the default 64-school region."""
        return max(base, round(base * self.scale_factor))

    def sid(self, idx) -> list:
        ids = self.schools.school_id.to_numpy()
        return [str(ids[int(i)]) for i in np.atleast_1d(idx)]

    def free(self) -> np.ndarray:
        return np.array([i not in self.claims for i in range(self.n)])

    def claim(self, idx, effect: str) -> None:
        for i in np.atleast_1d(idx):
            self.claims[int(i)] = effect

    def subj_code(self, subject: str) -> int:
        return self.subjects.index(subject)

    def rule(self, name: str):
        return self.meth.threshold(name)


def _check_arguments(schools, seed, years) -> tuple:
    if not isinstance(schools, (int, np.integer)) or schools < MIN_SCHOOLS or schools > 9999:
        raise ParameterError(f"число школ должно быть целым от {MIN_SCHOOLS} до 9999 (получено {schools}): "
                             "меньший регион не вмещает все заложенные эффекты")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed должен быть неотрицательным целым (получено {seed})")
    years = tuple(int(y) for y in years)
    if len(years) < 2 or any(b - a != 1 for a, b in zip(years, years[1:])):
        raise ParameterError(f"годы должны идти подряд, не меньше двух (получено {years})")
    return years


# ---- small numeric helpers -------------------------------------------------------------------
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _ranges(starts, counts) -> np.ndarray:
    """Concatenation of the integer ranges [start, start + count)."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(np.asarray(starts, dtype=np.int64) - (np.cumsum(counts) - counts), counts)
    return shift + np.arange(counts.sum(), dtype=np.int64)


def _split(total: int, parts: int) -> list:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _discretize(eta, smax) -> np.ndarray:
    """Integer score 0..smax of a latent performance: floor(smax·σ(η) + ½)."""
    return np.clip(np.floor(smax * _sigmoid(eta) + 0.5), 0, smax).astype(np.int64)


def _fail_tau(thr, smax):
    """Latent η below which the discretized score is below `thr` (the lowest passing score)."""
    return _logit((np.asarray(thr, dtype=float) - 0.5) / smax)


def _group_rows(gid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, unique ids, starts): rows of group u are order[starts[k]:starts[k+1]]."""
    order = np.argsort(gid, kind="stable")
    uniq, starts = np.unique(gid[order], return_index=True)
    return order, uniq, np.append(starts, len(gid))


def _marks(score, min3, min4, min5) -> np.ndarray:
    """Mark 2–5 from the lowest scores of «3», «4», «5» (arrays, row by row)."""
    return np.where(score >= min5, 5, np.where(score >= min4, 4, np.where(score >= min3, 3, 2)))


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
    w.subjects = tuple(w.meth.subjects)
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
              for yy, ss, gg in vf[["year", "subject", "grade"]].drop_duplicates().itertuples(index=False)}
    proc_keys = vf[["proc", "year", "subject", "grade"]].drop_duplicates("proc").sort_values("proc")
    lookup = np.array([[scales[(yy, ss, gg)].max, *(scales[(yy, ss, gg)].min[m] for m in (3, 4, 5))]
                       for _, yy, ss, gg in proc_keys.itertuples(index=False)])
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
    for r in pd.concat(parts, ignore_index=True).itertuples(index=False):
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
    """Recompute the three ФИОКО signs on the generated data (METHODOLOGY.md §1) and record the
    groups that meet a sign without being planted: truth["unplanted"]."""
    z, k_iqr = w.rule("objectivity_signs.z"), w.rule("objectivity_signs.iqr_k")
    n_min = w.rule("small_groups.min_for_sign")
    p = vf[~vf.absent & _in_procedures(w, vf.subject, vf.grade, _sign_procedures(w))]
    planted = {(e["school_id"], e["year"], e["subject"], e["grade"]) for e in w.truth["sign_inflated_mean"]}
    planted |= {(e["school_id"], e["year"], e["subject"], e["grade_from"]) for e in w.truth["sign_cohort_jump"]
                if e["direction"] == "drop"}
    ci = _sign1_groups(p.assign(x=p.score), ["year", "subject", "grade"], z, n_min)
    un1 = [e for e in map(lambda r: _entry(w, r), ci.itertuples())
           if (e["school_id"], e["year"], e["subject"], e["grade"]) not in planted]
    oge = gf[(gf.exam == "ОГЭ") & gf.subject.isin([w.subj_code(s) for s, _ in _sign_procedures(w)])]
    ci = _sign1_groups(oge.assign(x=oge.score), ["year", "subject"], z, n_min)
    un1 += [{**_entry(w, r, grade=9), "exam": "ОГЭ"} for r in ci.itertuples()]
    mism = {(e["school_id"], e["year"], e["subject"], e["grade"]) for e in w.truth["sign_mark_mismatch"]}
    q = p[p.journal.notna()]
    rho = _spearman_by_group(q.group.to_numpy(), q.score.to_numpy(), q.journal.to_numpy())
    n = q.groupby("group").size()
    g = _vpr_groups(vf)
    neg = g.loc[rho.index[(rho < w.rule("objectivity_signs.spearman_below")).to_numpy() & (n >= n_min).to_numpy()]]
    un2 = [e for e in map(lambda r: _entry(w, r), neg.itertuples())
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
        for r in part[(part.K < fence[0]) | (part.K > fence[1])].itertuples():
            out.append({"school_id": w.sid(r.school)[0], "year": int(year), "subject": w.subjects[int(subject)],
                        "K": round(float(r.K), 3), "direction": "drop" if r.K > fence[1] else "rise",
                        "fence": [round(f, 3) for f in fence]})
    return out


# ---- truth, conformance, writing ----------------------------------------------------------------
def _finish_truth(w: _World, tables: dict) -> dict:
    sc = w.schools
    munis = (sc.groupby(["municipality_id", "municipality_name", "settlement"]).size().rename("schools")
             .reset_index().to_dict("records"))
    t = w.truth
    rule = {"share_failed": w.rule("low_results_rule.share_failed"),
            "min_participants": w.rule("low_results_rule.min_participants"),
            "procedures": w.rule("low_results_rule.procedures")}
    ordered = {
        "generator": "shnor_utils.demo", "seed": int(w.seed), "years": list(w.years), "schools": int(w.n),
        "region_id": REGION_ID, "region_name": REGION_NAME, "methodology_version": w.meth.version,
        "municipalities": [{k: (int(v) if k == "schools" else v) for k, v in m.items()} for m in munis],
        "rows": {name: int(len(frame)) for name, frame in tables.items()},
        "journal_inflation": t["journal_inflation"],
        "sign_inflated_mean": t["sign_inflated_mean"], "sign_mark_mismatch": t["sign_mark_mismatch"],
        "sign_cohort_jump": t["sign_cohort_jump"], "cohort_k": t["cohort_k"], "cohort_fences": t["cohort_fences"],
        "legitimately_strong": t["legitimately_strong"], "unplanted": t["unplanted"],
        "boundary_peak": t["boundary_peak"], "task_pattern": t["task_pattern"],
        "low_results_rule": rule, "low_procedures": t["low_procedures"], "low_counts": t["low_counts"],
        "shnor": t["shnor"], "risk_school": t["risk_school"],
        "improving": t["improving"], "declining": t["declining"], "resilient": t["resilient"],
        "vacancies": t["vacancies"], "deficit_threshold": DEFICIT_THRESHOLD, "teacher_deficits": t["teacher_deficits"],
        "official_shnor": t["official_shnor"], "official_differs": t["official_differs"],
        "risk_factors": RISK_FACTORS,
        "notes": _NOTES,
    }
    return json.loads(json.dumps(ordered, ensure_ascii=False, default=_json_default))


def _json_default(x):
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    raise TypeError(type(x))


_NOTES = (
    "Synthetic data, no real pupils or schools. Every planted effect lives in its own schools. "
    "Honest schools are capped by construction: every honest ВПР group and every honest school × "
    "exam × subject × year of ОГЭ/ЕГЭ has at most 25 % failing (the 30 % rule minus 5 p.p.), so only "
    "the planted low procedures reach the rule; honest groups of the sign procedures keep the CI lower "
    "bound below the region's upper bound, ρ(journal, score) > 0 and the cohort ratio K inside "
    "Q25 − 2·IQR … Q75 + 2·IQR. The legitimately strong лицей is not capped and meets sign 1 (a known "
    "false positive of the method). 'unplanted' lists what unplanted schools still trigger, recomputed "
    "on the generated data (groups with ≥ min_for_sign participants). 'drop' cohort jumps inflate "
    "grade 4, so that grade-4 group also meets sign 1. ЕГЭ primary scores are a linear stand-in of the "
    "test score. Low procedures count present participants (ВПР) or main-period first-attempt rows "
    "(ОГЭ/ЕГЭ; both mathematics levels together); pupils taking both levels never fail."
)


def _conform(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Columns in schema order with plain dtypes: int64 / Int64 (nullable), bool, float64, str."""
    out = {}
    for col in TABLES[name].columns:
        if col.extension:          # ingest-only extensions are not part of the demo
            continue
        s = frame[col.name] if col.name in frame else pd.Series([col.default] * len(frame), index=frame.index)
        if col.type == "int":
            s = pd.array(s, dtype="Int64") if s.isna().any() or col.nullable else s.astype(np.int64)
        elif col.type == "bool":
            s = s.astype(bool)
        elif col.type == "float":
            s = s.astype(np.float64)
        elif s.dtype != "str":
            s = s.astype("str")
        out[col.name] = s
    return pd.DataFrame(out).reset_index(drop=True)


def _readme(truth: dict) -> str:
    return (
        f"Демонстрационный регион «{REGION_NAME}» ({REGION_ID}) — СИНТЕТИЧЕСКИЕ ДАННЫЕ.\n"
        "Ни одна школа, ни один обучающийся или педагог не существуют; совпадения случайны.\n\n"
        f"Сгенерировано shnor_utils.demo: школ {truth['schools']}, годы {', '.join(map(str, truth['years']))}, "
        f"seed {truth['seed']}. Тот же seed даёт побайтно те же файлы.\n\n"
        "Таблицы соответствуют контракту данных (shared/DATA_CONTRACT.md).\n"
        "В данные намеренно заложены эффекты; их полный список — в truth.json:\n"
        "  - завышение журнальных отметок (journal_inflation);\n"
        "  - признаки необъективности ФИОКО: завышенный средний балл, несоответствие отметок,\n"
        "    резкое изменение результатов параллели 4→5 (sign_*);\n"
        "  - пик баллов на нижней границе «3» (boundary_peak);\n"
        "  - лёгкие задания решены хуже региона, трудные — лучше (task_pattern);\n"
        "  - низкие результаты по правилу 30 % и перечни ШНОР/школ риска (low_procedures, shnor, risk_school);\n"
        "  - школы с ростом и снижением результатов (improving, declining);\n"
        "  - резильентные школы: низкий индекс благополучия, высокие результаты (resilient);\n"
        "  - вакансии (vacancies) и профессиональные дефициты педагогов (teacher_deficits);\n"
        "  - официальный перечень ШНОР с одним намеренным расхождением (official_differs).\n"
    )


def _check_target(out: Path) -> Path:
    """An existing `out` is replaced only if it is empty or an earlier demo dataset (truth.json)."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "truth.json").exists())):
        raise ParameterError(f"папка «{out}» уже существует и не похожа на демонстрационный набор "
                             "(нет truth.json): укажите новую или пустую папку")
    return out


def _write_dataset(out: Path, tables: dict, truth: dict, fmt: str) -> None:
    """Write into a temporary folder beside `out`, then swap it in (os.replace) and remove the
    older folder."""
    out = _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        for name, frame in tables.items():
            path = tmp / f"{name}.{fmt}"
            if fmt == "csv":
                frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
            else:
                frame.to_parquet(path, index=False, engine="pyarrow")
        (tmp / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        (tmp / "README.txt").write_text(_readme(truth), encoding="utf-8")
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
