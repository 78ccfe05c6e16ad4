"""The probe template of the batch engine's tests (a tiny notebook whose behaviour its parameters
choose: fail, sleep, kill its kernel), the regional slice it runs on and helpers to run a batch."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import yaml

from shnor_utils.batch.runner import run_batch

from tests.conftest import read_table

PROBE_PARAMS = '''dataset = "../../tests/fixtures/demo_small"
scope = "school"
entity_id = "edu990001"
year = 2026
region_name = "Область"
methodology = None
cache = None
templates = None
fail_on = ""          # entity that raises (while flag_file exists)
flag_file = ""
sleep_on = ""         # entity whose cell sleeps 120 s
die_on = ""           # entity whose kernel dies
sleep_all = 0.0       # seconds every report sleeps
pid_file = ""         # file each report appends «kernel pid, entity» to'''

PROBE_BODY = '''import os, time
from shnor_utils.session import open_report
rep = open_report(dataset, template="probe", scope=scope, entity_id=entity_id, year=year, region_name=region_name, cache=cache)
rep.title("Проба пакета")
if pid_file:
    with open(pid_file, "a") as f:
        f.write(f"{os.getpid()} {entity_id}\\n")
time.sleep(sleep_all)
if entity_id == fail_on and (not flag_file or os.path.exists(flag_file)):
    raise RuntimeError("сбой для проверки")
if entity_id == sleep_on:
    time.sleep(120)
if entity_id == die_on:
    os._exit(1)
rep.attention([])
rep.paragraph(f"Школ в отчёте: {len(rep.school_ids)}")
rep.footer()'''


def make_templates(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    types = {"fail_on": "str", "flag_file": "str", "sleep_on": "str", "die_on": "str", "sleep_all": "float", "pid_file": "str"}
    nb.metadata["shnor"] = {"title": "Проба", "scopes": ["school", "municipality", "region"], "tables": ["schools", "vpr"],
                            "parameters": {"dataset": {"type": "str", "required": True},
                                           "scope": {"type": "str", "required": True}, "entity_id": {"type": "str", "required": True},
                                           "year": {"type": "int", "nullable": True}, "region_name": {"type": "str"},
                                           "methodology": {"type": "str", "nullable": True}, "cache": {"type": "str", "nullable": True}, "templates": {"type": "str", "nullable": True},
                                           **{k: {"type": t} for k, t in types.items()}}}
    nb.cells = [nbformat.v4.new_code_cell(PROBE_PARAMS, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(PROBE_BODY)]
    nbformat.write(nb, folder / "probe.ipynb")
    return folder


class Out:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def run(params, **kw):
    out = Out()
    code = run_batch(params, out=out, workers=kw.pop("workers", 2), **kw)
    return code, out.text


def executed(text: str) -> set:
    return set(re.findall(r"(?:готово|ОШИБКА) probe · (\w+) · (\S+)", text))


def make_region(tmp_path: Path, demo_small: Path) -> dict:
    """A copy of the small demo (so tests may change it), its probe template and a params writer."""
    # a slice of the demo (six schools of one municipality): the engine, not the analyses, is under test
    data = tmp_path / "data"
    data.mkdir()
    keep = read_table(demo_small, "schools").sort_values(["municipality_id", "school_id"])["school_id"].head(6)
    for path in demo_small.glob("*.parquet"):
        frame = read_table(demo_small, path.stem)
        frame[frame["school_id"].isin(keep)].to_parquet(data / path.name, index=False)
    templates = make_templates(tmp_path / "templates")
    schools = read_table(data, "schools").sort_values(["municipality_id", "school_id"])
    mun = schools["municipality_id"].iloc[0]
    chosen = schools[schools["municipality_id"] == mun]["school_id"].head(3).tolist()

    def params(scopes=("school", "municipality"), parameters=None, **extra) -> Path:
        p = {"title": "Проба", "dataset": str(data), "year": 2026, "region_name": "Область",
             "output": str(tmp_path / "output"), "runs_dir": str(tmp_path / "runs"), "templates": str(templates),
             "reports": [{"template": "probe", "scopes": list(scopes), "filter": {"school_id": chosen},
                          "parameters": parameters or {}}], **extra}
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(p, allow_unicode=True), encoding="utf-8")
        return path

    return {"data": data, "output": tmp_path / "output", "schools": chosen, "mun": mun, "params": params, "tmp": tmp_path}
