"""Dependencies are declared in pyproject.toml and locked in requirements.txt: every declared
package is pinned in the lock at a version its range admits."""
from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _lock() -> dict:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_every_declared_dependency_is_locked_at_an_admitted_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    pins = _lock()
    problems = []
    for spec in declared:
        req = Requirement(spec)
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is None:
            problems.append(f"{req.name}: not in requirements.txt")
        elif not req.specifier.contains(pinned, prereleases=True):
            problems.append(f"{req.name}: locked {pinned} outside {req.specifier}")
    assert not problems, problems
    assert len(declared) >= 20


def test_package_data_ships_the_methodology_defaults():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "methodology/defaults/*.yaml" in text
    assert list((ROOT / "shnor_utils" / "methodology" / "defaults").glob("*.yaml"))
