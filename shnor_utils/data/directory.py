"""The school directory: one id per school across years, municipality codes for names, and the
settlement and school type the context files state (issue 13, point 6; docs/ingest.md «Справочник школ»).

Real exports of one region name a school differently over the years: the ФИС ОКО login changed
from `sch22xxxx` (2020–2021) to `edu22xxxx` (2022), the municipality is a name one year
(`город Славгород`) and a code the next (`reg22_m067`), and settlement type is not in the results
at all. `apply_directory` is a pure function the ingest driver calls once, after every file is
read: it takes the tables and what the files said about schools (`Extract.schools` from the data
files, `Extract.directory` from the context questionnaires and the login directory) and returns the
tables with old ids replaced, the schools' observations with municipality codes filled, and the
context answers as a `--schools`-like frame. Every match carries its rule and its evidence; the
rules, strongest first:

1. the user's crosswalk CSV (`old_id,new_id[,comment]`);
2. the login directory's «прежний логин» column;
3. one «Код ОГЭ/ЕГЭ» for two logins in the context files of different years;
4. the same school name and municipality (texts compared after case, «ё», spaces and quote style
   are unified) for two logins never seen in the same year; the older one maps to the newer
   (without years: `sch…` → `edu…`).
Ids seen in the same year are different schools: a name shared by such ids, or an id that two
equally strong rules send to different schools, is left apart and listed as ambiguous.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from shnor_utils.data.formats.common import norm, text
from shnor_utils.errors import InputError
from shnor_utils.safeio import atomic_write_text, neutral_frame
from shnor_utils.data.tables import records

FILE_NAME = "school_directory.csv"
RULE_USER = "файл соответствий пользователя"
RULE_PREVIOUS = "справочник логинов: прежний логин"
RULE_RCOI = "один «Код ОГЭ/ЕГЭ» в контекстных данных ОО разных лет"
RULE_NAME = "одинаковые название и муниципалитет"
PRIORITY = {RULE_USER: 0, RULE_PREVIOUS: 1, RULE_RCOI: 2, RULE_NAME: 3}
MUN_CODE = re.compile(r"^reg\d+_m\d+$", re.I)
QUOTES = str.maketrans({c: '"' for c in "«»“”„‟'`"})
Q_LINKS = "логинов связано с логином другого года (справочник школ, school_directory.csv)"
Q_REMAPPED = "строк, где логин школы заменён по справочнику школ (см. school_directory.csv)"
Q_MUN_CODE = "код муниципалитета найден по названию (справочник школ)"
Q_SETTLEMENT = "тип поселения взят из «Сбор контекстных данных об ОО»"
Q_TYPE = "тип школы взят из «Сбор контекстных данных об ОО» (вечерняя, интернат)"
COLUMNS = ["kind", "old_id", "school_id", "rule", "evidence"]


@dataclass
class SchoolDirectory:
    tables: dict                                   # the tables with every old id replaced
    observed: list                                 # the schools' observations, ids replaced, codes filled
    given: pd.DataFrame | None                     # --schools completed with the context answers
    links: pd.DataFrame                            # accepted matches: old_id, school_id, rule, evidence
    ambiguous: pd.DataFrame                        # left apart: old_id (or «—»), candidates, rule, evidence
    municipalities: pd.DataFrame                   # municipality_name, municipality_id, evidence
    schools: pd.DataFrame                          # what the context files say per (final) school id
    counts: dict = field(default_factory=dict)     # labels for the ingest report
    warnings: list = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """Everything as one table (kind = «соответствие», «неоднозначно», «муниципалитет», «школа»)."""
        parts = [self.links.assign(kind="соответствие"),
                 self.ambiguous.assign(kind="неоднозначно"),
                 self.municipalities.rename(columns={"municipality_name": "old_id", "municipality_id": "school_id"})
                 .assign(kind="муниципалитет", rule="название и код муниципалитета в одной записи")]
        if len(self.schools):
            info = self.schools.copy()
            info["evidence"] = info.apply(_school_evidence, axis=1)
            parts.append(info[["school_id", "evidence"]].assign(kind="школа", old_id=None, rule="контекстные данные ОО"))
        out = pd.concat([p.reindex(columns=COLUMNS) for p in parts], ignore_index=True)
        return out[COLUMNS]

    def write(self, folder) -> Path:
        """school_directory.csv into the ingest output folder (cells neutralised against formulas)."""
        frame = neutral_frame(self.frame())
        return atomic_write_text(Path(folder) / FILE_NAME, frame.to_csv(index=False))


def apply_directory(tables: dict, extracts: list, given: pd.DataFrame | None = None, *,
                    crosswalk_file=None) -> SchoolDirectory:
    """The school directory of one ingest (module docstring). Pure: inputs are not modified."""
    observed = [dict(s) for e in extracts for s in e.schools]
    entries = [dict(d) for e in extracts for d in getattr(e, "directory", [])]
    years = _years(tables, entries)
    municipalities, mun_of = _municipalities(observed + entries)
    counts = {}
    for o in observed + entries:
        if not o.get("municipality_id") and o.get("municipality_name") and norm(o["municipality_name"]) in mun_of:
            o["municipality_id"] = mun_of[norm(o["municipality_name"])]
            counts[Q_MUN_CODE] = counts.get(Q_MUN_CODE, 0) + 1
    candidates = (_user_links(crosswalk_file) + _previous_links(entries) + _rcoi_links(entries))
    name_links, ambiguous = _name_links(observed + entries, years)
    links, conflicts = _resolve(candidates + name_links)
    ambiguous += conflicts
    final = {old: _follow(old, links) for old in links}
    link_frame = pd.DataFrame([{"old_id": o, "school_id": final[o], "rule": r, "evidence": e}
                               for o, (_, r, e) in sorted(links.items())], columns=["old_id", "school_id", "rule", "evidence"])
    out_tables = {}
    for name, frame in tables.items():
        if "school_id" in frame and final:
            hit = frame["school_id"].isin(final)
            if hit.any():
                counts[Q_REMAPPED] = counts.get(Q_REMAPPED, 0) + int(hit.sum())
                frame = frame.assign(school_id=frame["school_id"].map(lambda s: final.get(s, s)))
        out_tables[name] = frame
    for o in observed + entries:
        o["school_id"] = final.get(o["school_id"], o["school_id"])
    schools = _context(entries)
    present = {o["school_id"] for o in observed}
    # the directory names the schools the data files left unnamed (regional exports carry only a login;
    # РЦОИ protocols only a code, which the context files' «Код ОГЭ/ЕГЭ» turns into the login)
    named = present | set(schools.loc[schools["rcoi_code"].isin(present), "school_id"])
    observed += [{k: e.get(k) for k in ("school_id", "school_name", "municipality_id", "municipality_name")}
                 for e in entries if e["school_id"] in named]
    new_given = _given(given, schools, present, counts)
    warnings = []
    if links:
        counts[Q_LINKS] = len(links)
    if len(ambiguous):
        warnings.append(f"справочник школ: неоднозначных совпадений {len(ambiguous)} — логины оставлены как есть, "
                        f"список в {FILE_NAME}")
    return SchoolDirectory(out_tables, observed, new_given, link_frame,
                           pd.DataFrame(ambiguous, columns=["old_id", "school_id", "rule", "evidence"]),
                           municipalities, schools, counts, warnings)


# ---- what is known -------------------------------------------------------------------------------
def _years(tables: dict, entries: list) -> dict:
    """{school id: set of years it appears in} from the tables and the dated directory entries."""
    out: dict = {}
    for frame in tables.values():
        if "school_id" in frame and "year" in frame:
            for sid, year in records(frame[["school_id", "year"]].drop_duplicates()):
                if pd.notna(year):
                    out.setdefault(sid, set()).add(int(year))
    for e in entries:
        if e.get("year"):
            out.setdefault(e["school_id"], set()).add(int(e["year"]))
    return out


def name_key(value) -> str:
    """A school or municipality name for comparison: case, «ё», spaces and quote style unified."""
    return re.sub(r'\s*"\s*', '"', norm(text(value).translate(QUOTES)))


def _municipalities(records: list) -> tuple[pd.DataFrame, dict]:
    """Names ↔ codes from records that carry both (`Район(reg22_m001)`, `reg22_m067 | город Славгород`).
    A name seen with two codes is not used (and listed)."""
    pairs: dict = {}
    for r in records:
        mid, name = r.get("municipality_id"), r.get("municipality_name")
        if mid and name and MUN_CODE.match(str(mid)):
            pairs.setdefault(name_key(name), {}).setdefault(str(mid).lower(), text(name))
    rows, mapping = [], {}
    for key, codes in sorted(pairs.items()):
        for code, name in sorted(codes.items()):
            evidence = "название и код в одной записи файла" if len(codes) == 1 else \
                "неоднозначно: у названия несколько кодов (" + ", ".join(sorted(codes)) + ")"
            rows.append({"municipality_name": name, "municipality_id": code, "evidence": evidence})
        if len(codes) == 1:
            mapping[key] = next(iter(codes))
    return pd.DataFrame(rows, columns=["municipality_name", "municipality_id", "evidence"]), mapping


# ---- candidate links: (old, new, rule, evidence) -------------------------------------------------
def _user_links(path) -> list:
    if not path:
        return []
    path = Path(path)
    if not path.is_file():
        raise InputError("файл соответствий логинов не найден", file=str(path))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [c.strip().lower() for c in frame.columns]
    if not {"old_id", "new_id"} <= set(frame.columns):
        raise InputError("нет обязательных столбцов", file=str(path), column="old_id, new_id",
                         expected="old_id,new_id[,comment]: прежний и новый логин школы")
    out = []
    for i, r in enumerate(records(frame), start=2):
        old, new = text(r.old_id).lower(), text(r.new_id).lower()
        if old and new and old != new:
            comment = text(getattr(r, "comment", "")) if "comment" in frame.columns else ""
            out.append((old, new, RULE_USER, f"{path.name}, строка {i}" + (f": {comment}" if comment else "")))
    return out


def _where(e: dict) -> str:
    return f"{Path(str(e.get('file', ''))).name}, лист «{e.get('sheet', '')}», строка {e.get('row', '')}"


def _previous_links(entries: list) -> list:
    return [(e["previous_id"], e["school_id"], RULE_PREVIOUS, f"{_where(e)}: прежний логин {e['previous_id']}")
            for e in entries if e.get("previous_id") and e["previous_id"] != e["school_id"]]


def _rcoi_links(entries: list) -> list:
    """Two logins with one «Код ОГЭ/ЕГЭ» in the context files: the older year's login → the newer one's."""
    by_code: dict = {}
    for e in entries:
        if e.get("rcoi_code") and e.get("year"):
            by_code.setdefault(e["rcoi_code"], {}).setdefault(e["school_id"], e)
    out = []
    for code, ids in by_code.items():
        if len(ids) != 2:
            continue
        (a, ea), (b, eb) = sorted(ids.items(), key=lambda kv: kv[1]["year"])
        if ea["year"] < eb["year"]:
            out.append((a, b, RULE_RCOI, f"код {code}: {a} ({ea['year']}, {_where(ea)}) и {b} ({eb['year']}, {_where(eb)})"))
    return out


def _name_links(records: list, years: dict) -> tuple[list, list]:
    """Same name + municipality: link two logins never seen in the same year (older → newer; without
    years `sch…` → `edu…`); anything else sharing a name is ambiguous."""
    groups: dict = {}
    for r in records:
        name, mun = r.get("school_name"), r.get("municipality_id") or r.get("municipality_name")
        if name and mun and name_key(name):
            groups.setdefault((name_key(name), name_key(mun)), {}).setdefault(r["school_id"], text(name))
    links, ambiguous = [], []
    for (name, mun), ids in sorted(groups.items()):
        if len(ids) < 2:
            continue
        label = f"«{next(iter(ids.values()))}», муниципалитет «{mun}»"
        pair = _order(sorted(ids), years) if len(ids) == 2 else None
        if pair is None:
            ambiguous.append({"old_id": "—", "school_id": ", ".join(sorted(ids)), "rule": RULE_NAME,
                              "evidence": f"{label}: у {len(ids)} логинов"
                                          + (" есть общий год" if len(ids) == 2 else "") + "; оставлены раздельно"})
            continue
        old, new, why = pair
        links.append((old, new, RULE_NAME, f"{label}; {why}"))
    return links, ambiguous


def _order(ids: list, years: dict):
    a, b = ids
    ya, yb = years.get(a, set()), years.get(b, set())
    if ya & yb:
        return None                      # both in one year: two schools with one name
    if ya and yb:
        old, new = (a, b) if max(ya) < min(yb) else (b, a) if max(yb) < min(ya) else (None, None)
        if old is None:
            return None
        return old, new, f"{old}: {_span(years[old])}, {new}: {_span(years[new])}"
    prefixes = {a[:3]: a, b[:3]: b}
    if set(prefixes) == {"sch", "edu"}:
        return prefixes["sch"], prefixes["edu"], "логин sch… сменён на edu… (смена логинов ФИС ОКО 2022 г.)"
    return None


def _span(years: set) -> str:
    return f"{min(years)}" if min(years) == max(years) else f"{min(years)}–{max(years)}"


def _resolve(candidates: list) -> tuple[dict, list]:
    """{old: (new, rule, evidence)}: the strongest rule wins; two different targets of equal strength
    make the old id ambiguous (left apart)."""
    best: dict = {}
    conflicts = []
    bad = set()
    for old, new, rule, evidence in sorted(candidates, key=lambda c: PRIORITY[c[2]]):
        if old in bad or best.get(new, (None,))[0] == old:
            continue
        if old not in best:
            best[old] = (new, rule, evidence)
        elif best[old][0] != new and PRIORITY[best[old][1]] == PRIORITY[rule]:
            conflicts.append({"old_id": old, "school_id": f"{best[old][0]}, {new}", "rule": rule,
                              "evidence": f"{best[old][2]} | {evidence}"})
            bad.add(old)
            del best[old]
    return best, conflicts


def _follow(old: str, links: dict) -> str:
    seen, cur = {old}, links[old][0]
    while cur in links and links[cur][0] not in seen:
        seen.add(cur)
        cur = links[cur][0]
    return cur


# ---- what the context files say ------------------------------------------------------------------
def _context(entries: list) -> pd.DataFrame:
    """Per school: settlement, type, pupils, teachers, РЦОИ code — the latest year's answer wins."""
    rows = [e for e in entries if any(e.get(k) is not None for k in ("settlement", "evening", "boarding", "students",
                                                                        "teachers", "rcoi_code"))]
    cols = ["school_id", "year", "settlement", "location", "settlement_size", "school_type", "students", "teachers",
            "rcoi_code", "source"]
    if not rows:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame(rows).reindex(columns=cols + ["evening", "boarding"])
    # «" "» = the file answered «нет» to both: a later «нет» overrides an earlier «вечерняя»
    frame["school_type"] = [("ВСОШ" if ev is True else "интернат" if bo is True else " " if False in (ev, bo) else None)
                            for ev, bo in zip(frame["evening"], frame["boarding"])]
    frame = frame.sort_values("year", na_position="first", kind="stable")
    # the last non-empty answer per school (2022 sheets are joined by login)
    out = frame.groupby("school_id", sort=True).last().reset_index()
    out["school_type"] = out["school_type"].replace(" ", None)
    return out[cols]


def _given(given: pd.DataFrame | None, schools: pd.DataFrame, present: set, counts: dict) -> pd.DataFrame | None:
    """`--schools` completed with the context answers of the schools the data names (the user's values win)."""
    # a school the data names by login, or only by its РЦОИ code (the protocols): the code becomes its login
    info = schools[schools["school_id"].isin(present) | schools["rcoi_code"].isin(present)]
    if info.empty:
        return given
    present = (present - set(info["rcoi_code"].dropna())) | set(info["school_id"])
    add = info[["school_id", "settlement", "school_type", "students", "rcoi_code"]].copy()
    add["students"] = add["students"].astype("object")
    if given is None:
        base = pd.DataFrame({"school_id": sorted(present)})   # every school «listed»: no «нет в --schools» warning
    else:
        base = given.copy()
        base = pd.concat([base, pd.DataFrame({"school_id": sorted(set(add["school_id"]) - set(base["school_id"]))})],
                         ignore_index=True)
    add = add.rename(columns={c: f"{c}_ctx" for c in add.columns if c != "school_id"})
    merged = base.merge(add, on="school_id", how="left")
    for col in ("settlement", "school_type", "students", "rcoi_code"):
        if f"{col}_ctx" not in merged:
            continue
        own = merged[col] if col in merged else pd.Series(None, index=merged.index, dtype="object")
        empty = own.isna() | (own.astype("string").str.strip() == "")
        took = empty & merged[f"{col}_ctx"].notna()
        label = {"settlement": Q_SETTLEMENT, "school_type": Q_TYPE}.get(col)
        if label and took.any():
            counts[label] = counts.get(label, 0) + int(took.sum())
        merged[col] = own.astype("object").where(~took, merged[f"{col}_ctx"])
        merged = merged.drop(columns=f"{col}_ctx")
    merged["students"] = pd.to_numeric(merged["students"], errors="coerce").astype("Int64").astype("string")
    return merged


def _school_evidence(r) -> str:
    parts = [f"{r['source']}"]
    if isinstance(r.get("location"), str):
        parts.append(f"«Где расположена ОО»: {r['location']}")
    if isinstance(r.get("settlement_size"), str):
        parts.append(f"численность населения: {r['settlement_size']}")
    if isinstance(r.get("school_type"), str):
        parts.append(f"тип: {r['school_type']}")
    for col, word in (("students", "обучающихся"), ("teachers", "учителей"), ("rcoi_code", "код ОГЭ/ЕГЭ")):
        if pd.notna(r.get(col)):
            parts.append(f"{word}: {text(r[col])}")
    return "; ".join(parts)
