"""The two ways of installing the project declare the same dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# conda-forge splits or renames a few PyPI distributions.
CONDA_NAMES = {"dask[distributed]": {"dask", "distributed"}}
PIP_ONLY_IN_CONDA_FILE = {"vietnamadminunits"}  # not on conda-forge: installed by the pip: section


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", requirement)
    return match.group(1).lower(), match.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    out = {}
    for name, spec in map(_split, reqs):
        for conda_name in CONDA_NAMES.get(name, {name}):
            out[conda_name] = spec
    return out


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep.get("pip", []):
                if not pip_dep.startswith("-e"):
                    name, spec = _split(pip_dep)
                    out[name] = spec
            continue
        name, spec = _split(dep)
        if name not in {"python", "pip"}:
            out[name] = spec
    return out


def test_environment_yml_and_pyproject_declare_the_same_packages_and_versions():
    assert _environment() == _pyproject()


def test_environment_yml_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_known_breakages_are_pinned():
    deps = _pyproject()
    assert "<3.13" in deps["matplotlib"], "seaborn's boxplot uses `vert`, removed in matplotlib 3.13"
    assert ">=0.14.6" in deps["statsmodels"], "pandas 3 needs statsmodels >= 0.14.6"
    assert ">=1.0.2" in deps["patsy"], "pandas 3 needs patsy >= 1.0.2"
    assert "vietnamadminunits" in deps and PIP_ONLY_IN_CONDA_FILE <= set(_environment())
