"""Regenerate the small demo dataset and the nbval reference runs (`make reference-runs`).

The reference runs are the templates executed on tests/fixtures/demo_small for one school,
one municipality and the region; `make test` re-executes them with nbval and compares every
output, so a change of any report output shows up in CI as a failing cell."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import papermill as pm

from shnor_utils.batch.plan import template_spec
from shnor_utils.demo import generate

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE.parent / "notebooks" / "templates"
DEMO_SMALL = HERE / "fixtures" / "demo_small"
RUNS = HERE / "reference_runs"
SMALL_SCHOOLS = 64
SEED = 20261122


def reference_entities(schools) -> dict:
    first = schools.sort_values(["municipality_id", "school_id"]).iloc[0]
    return {"school": first["school_id"], "municipality": first["municipality_id"], "region": "region"}


def main() -> int:
    generate(DEMO_SMALL, schools=SMALL_SCHOOLS, seed=SEED, fmt="parquet")
    import pandas as pd

    entities = reference_entities(pd.read_parquet(DEMO_SMALL / "schools.parquet"))
    if RUNS.exists():
        shutil.rmtree(RUNS)
    RUNS.mkdir(parents=True)
    for template in sorted(TEMPLATES_DIR.glob("*.ipynb")):
        spec = template_spec(template.stem, TEMPLATES_DIR)
        for scope in spec.get("scopes", ["school"]):
            out = RUNS / f"{template.stem}__{scope}.ipynb"
            params = {"dataset": "../fixtures/demo_small", "scope": scope, "entity_id": entities[scope],
                      "methodology": "../../params/regions/demo", "templates": "../../notebooks/templates"}
            print(f"{out.name} …", flush=True)
            pm.execute_notebook(str(template), str(out), parameters=params, cwd=str(RUNS), kernel_name="python3",
                                progress_bar=False, shutdown_kernel="immediate")
            nb = nbformat.read(out, as_version=4)
            nb.metadata.pop("papermill", None)
            for cell in nb.cells:   # volatile papermill timings would make every regeneration a diff
                cell.metadata.pop("papermill", None)
                cell.metadata.pop("execution", None)
            nbformat.write(nb, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
