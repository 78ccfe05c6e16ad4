"""Synthetic demo region «Демонстрационная область» (reg99) with PLANTED effects.

`generate(out_dir)` writes every table of the dataset contract (docs/DATA_CONTRACT.md,
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

Modules, in the order `build` uses them: `_world` (the world under construction, constants,
helpers), `schools` (schools, pupils, school-level plants), `plants` (ВПР participants and the plan
of the planted effects), `vpr` (scores, journal marks, tasks), `gia`, `teachers`, `truth` (risk
profiles, official list, audit of honest schools) and `writer` (truth.json, contract, files).
"""
from __future__ import annotations

from pathlib import Path

from shnor_utils.errors import ParameterError
from shnor_utils.methodology import Methodology, load_methodology
from shnor_utils.demo._world import FORMATS, _World, _check_arguments
from shnor_utils.demo.schools import _make_pupils, _make_schools, _plant_levels, _schools_table
from shnor_utils.demo.plants import _plant_inflation, _plant_lows, _plant_objectivity, _vpr_frame
from shnor_utils.demo.vpr import _score_vpr, _vpr_table, _vpr_tasks
from shnor_utils.demo.gia import _gia_frame, _gia_tables, _score_gia
from shnor_utils.demo.teachers import _development_tables, _teachers_tables
from shnor_utils.demo.truth import _audit, _official_shnor, _risk_profiles
from shnor_utils.demo.writer import _check_target, _conform, _finish_truth, _write_dataset


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
