"""truth.json, conformance to the dataset contract and the atomic writing of the dataset folder."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from shnor_utils.errors import ParameterError
from shnor_utils.safeio import make_temp_dir
from shnor_utils.data.schema import TABLES
from shnor_utils.demo._world import DEFICIT_THRESHOLD, REGION_ID, REGION_NAME, RISK_FACTORS, _World


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
        "Таблицы соответствуют контракту данных (docs/DATA_CONTRACT.md).\n"
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
    tmp = make_temp_dir(prefix=f".{out.name}.tmp-", dir=out.parent)   # renamed into place: normal folder mode
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
