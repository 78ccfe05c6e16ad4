"""«На грани» as a school indicator (issue 16, point 2): `shnor_watch` = 1 for a school × result year
with at least one procedure of the 30 % rule within the watch margin of the trigger
(`low_results_rule.watch_participants` participants or `watch_pp` п.п., `compute.near_trigger`) whose
status flipping alone would change the school's list of the next year (it would enter or leave the
list: `compute.watch_list`, shnor_flip ≠ shnor_next); 0 for every other school with judged
procedures. A procedure near the trigger that cannot change the list (the demo's honest groups sit at
25 %, inside the ±5 п.п. margin) stays in the `shnor_selection` table but is no index flag: the flag
answers «who is about to enter or leave the list». numerator = such procedures, denominator =
procedures judged. The index page shows it as a chip and a filter through `SPEC.index_flags`; the
passport and `shnor_selection` list the procedures themselves (`compute.watch_list`)."""
from __future__ import annotations

import pandas as pd

from shnor_utils.analyses.shnor import compute
from shnor_utils.methodology import Methodology

INDICATOR = "shnor_watch"


def watch_indicators(ds, meth: Methodology) -> pd.DataFrame | None:
    """School rows of `shnor_watch` for every year with judged procedures."""
    if not (ds.has("vpr") or ds.has("gia")):
        return None
    res = compute.procedure_results(ds, meth)
    if res.empty:
        return None
    judged = res[res["judged"].astype(bool)]
    if judged.empty:
        return None
    per = judged.groupby(["school_id", "year"], as_index=False).size().rename(columns={"size": "judged"})
    per["near"] = 0
    for year in sorted(int(y) for y in judged["year"].unique()):
        w = compute.watch_list(res, meth, year)
        if w.empty:
            continue
        moving = w[w["shnor_flip"].astype(bool) != w["shnor_next"].astype(bool)].groupby("school_id").size()
        hit = (per["year"] == year) & per["school_id"].isin(moving.index)
        per.loc[hit, "near"] = per.loc[hit, "school_id"].map(moving).astype("int64")
    return pd.DataFrame({"level": "school", "entity_id": per["school_id"].astype(str), "year": per["year"].astype("int64"),
                         "indicator_id": INDICATOR, "value": (per["near"] > 0).astype("int64"),
                         "numerator": per["near"], "denominator": per["judged"]})
