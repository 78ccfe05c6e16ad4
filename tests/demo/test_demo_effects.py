"""The demo's planted journal-mark inflation is visible in the computed «понизили» shares."""
import json

from shnor_utils.data.dataset import load_dataset
from shnor_utils.analyses import compute_all


def test_planted_journal_inflation_is_visible(demo_small):
    truth = json.loads((demo_small / "truth.json").read_text(encoding="utf-8"))
    ind = compute_all(load_dataset(demo_small), only=["objectivity"])
    lower = ind[ind["indicator_id"] == "vpr_journal_lower"]
    planted = {e["school_id"] for e in truth["journal_inflation"]}
    assert len(planted) >= 3

    def pooled(rows):
        return 100 * rows["numerator"].sum() / rows["denominator"].sum()

    region = pooled(lower[lower["level"] == "region"])
    for sid in planted:
        school = pooled(lower[(lower["level"] == "school") & (lower["entity_id"] == sid)])
        assert school >= region + 15, (sid, school, region)
    # and no other school looks like that
    others = lower[(lower["level"] == "school") & ~lower["entity_id"].isin(planted)]
    by_school = others.groupby("entity_id")[["numerator", "denominator"]].sum()
    share = 100 * by_school["numerator"] / by_school["denominator"]
    assert (share < region + 15).all(), share[share >= region + 15]
