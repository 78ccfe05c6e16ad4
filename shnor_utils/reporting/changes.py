"""What changed since last year, from one indicator table: school flags that appeared or were cleared
(the ШНОР and risk lists are flags too) and the significant changes of the dynamics rows (`*_dd` rows
the significance rule classed «positive» / «negative»). Used by `Report.changes` (the section
«Что изменилось с прошлого года» of every report) and by the batch's digest (batch/changes.py).
"""
from __future__ import annotations

import pandas as pd

from shnor_utils.reporting.html import fmt_num, plural

APPEARED, CLEARED = "появился", "снят"
SIGNIFICANT = ("positive", "negative")


def flag_ids(meth) -> list[str]:
    """The school flags the methodology names for chips (flags.yaml → short): ШНОР, школа риска, signs."""
    return list(((meth.data.get("flags") or {}).get("short") or {}).keys())


def flag_moves(indicators: pd.DataFrame, flags, year: int, school_ids=None) -> pd.DataFrame:
    """indicator_id, school_id, change: a flag equal to 1 in `year` whose school had the flag's row equal
    to 0 in `year − 1` («появился»), or the reverse («снят»). A school without the row in one of the
    two years (no data) is neither: an absent row is not a cleared flag. Forecast rows are left out."""
    ind = indicators[(indicators["level"] == "school") & indicators["indicator_id"].isin(list(flags))
                     & indicators["year"].isin([year, year - 1]) & indicators["value"].notna()]
    if "flag" in ind:
        ind = ind[ind["flag"].astype("object").ne("forecast").fillna(True).astype(bool)]
    if school_ids is not None:
        ind = ind[ind["entity_id"].isin(list(school_ids))]
    # a flag is a school's 0/1 value of a year; several rows (procedures) count as 1 if any is 1
    wide = (ind.assign(v=(ind["value"] == 1).astype(int), y=ind["year"].astype(int))
            .groupby(["indicator_id", "entity_id", "y"])["v"].max().unstack("y"))
    cols = ["indicator_id", "school_id", "change"]
    if year not in wide.columns or (year - 1) not in wide.columns:
        return pd.DataFrame(columns=cols)
    now, before = wide[year], wide[year - 1]
    both = now.notna() & before.notna()
    up = wide.index[both & (now == 1) & (before == 0)]
    down = wide.index[both & (now == 0) & (before == 1)]
    order = {f: i for i, f in enumerate(flags)}
    rows = [(i, s, APPEARED) for i, s in up] + [(i, s, CLEARED) for i, s in down]
    rows.sort(key=lambda r: (order.get(r[0], 99), r[2] != APPEARED, str(r[1])))
    return pd.DataFrame(rows, columns=cols)


def significant(indicators: pd.DataFrame, year: int, level: str, entity_ids) -> pd.DataFrame:
    """The dynamics rows of `year` of the entities that the significance rule classed «positive» or
    «negative»: entity_id, indicator_id (without `_dd`), subject, grade, exam, dd, flag."""
    ids = [entity_ids] if isinstance(entity_ids, str) else list(entity_ids)
    ind = indicators[(indicators["level"] == level) & indicators["entity_id"].isin(ids)
                     & (indicators["year"] == year)]
    ind = ind[ind["indicator_id"].astype(str).str.endswith("_dd")
              & ind["flag"].astype("object").isin(SIGNIFICANT).fillna(False).astype(bool)]
    return pd.DataFrame({"entity_id": ind["entity_id"].astype(str).to_numpy(),
                         "indicator_id": ind["indicator_id"].astype(str).str[:-3].to_numpy(),
                         "subject": ind["subject"].to_numpy(), "grade": ind["grade"].to_numpy(),
                         "exam": ind["exam"].to_numpy(), "dd": ind["value"].to_numpy(),
                         "flag": ind["flag"].astype(str).to_numpy()})


COUNT_UNITS = {"шт.", "чел.", "человек", "школ"}   # whole things: «−2 шт.», not «−2,0 шт.»


def change_label(meth, row, scope: str | None = None) -> str:
    """«Доля … (ЕГЭ, Биология, 11 класс): +5,0 п.п.» of a `significant` row; of a school's 0/1 value
    (`school_values: да/нет` in the catalogue), «Школа в перечне …: нет → да»."""
    entry = meth.words.catalogue(row["indicator_id"])
    name = entry.get("name") or meth.words.name(row["indicator_id"])
    parts = [str(p) for p in (row["exam"], row["subject"]) if pd.notna(p) and str(p)]
    if pd.notna(row["grade"]):
        parts.append(f"{int(row['grade'])} класс")
    unit = entry.get("unit", "")
    v = row["dd"]
    if scope == "school" and entry.get("school_values") == "да/нет":
        name = entry.get("school_name") or name
        return f"{name}{' (' + ', '.join(parts) + ')' if parts else ''}: {'нет → да' if v > 0 else 'да → нет'}"
    sign = "+" if v > 0 else "−" if v < 0 else ""
    digits = 0 if float(abs(v)).is_integer() and unit in COUNT_UNITS else 1 if round(abs(v), 1) > 0 else 2
    amount = fmt_num(abs(v), digits)
    if unit == "%":
        amount += "\u00a0п.п."
    elif unit == "балл":
        amount += " " + (plural(int(abs(v)), "балл", "балла", "баллов") if float(abs(v)).is_integer() else "балла")
    elif unit:
        amount += f" {unit}"
    return f"{name}{' (' + ', '.join(parts) + ')' if parts else ''}: {sign}{amount}"
