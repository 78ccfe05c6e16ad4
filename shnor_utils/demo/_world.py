"""The world under construction (`_World`), the generator's constants and small numeric helpers."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shnor_utils.errors import ParameterError
from shnor_utils.methodology import Methodology


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

RISK_FACTORS = {  # «500+» catalogue as listed in docs/METHODOLOGY.md §3.5
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
