"""The ways of installing the project agree: pyproject.toml, its lock uv.lock, and environment.yml.

``pyproject.toml`` declares the dependencies with ranges; ``uv.lock`` (uv's
universal lock, made by ``make lock``) resolves them once for every
supported Python and is what ``make venv`` installs; ``environment.yml``
pins the same packages to the lock's versions for conda users.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13", "3.14")

# conda-forge splits or renames a few PyPI distributions.
CONDA_NAMES = {"dask[distributed]": {"dask", "distributed"}}
PIP_ONLY_IN_CONDA_FILE = {"vietnamadminunits"}  # not on conda-forge: installed by the pip: section


def _pin_environment():
    """tools/pin_environment.py, which ``make lock`` runs, as a module."""
    spec = importlib.util.spec_from_file_location("pin_environment", ROOT / "tools" / "pin_environment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", requirement)
    return match.group(1).lower(), match.group(2).replace(" ", "")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _pyproject() -> dict[str, str]:
    project = _project()
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
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


def _direct() -> list[Requirement]:
    """Every requirement of pyproject.toml, those of its extras included."""
    project = _project()
    return [Requirement(r) for r in project["dependencies"]] + [
        Requirement(f"{r}; extra == '{extra}'")
        for extra, reqs in project["optional-dependencies"].items()
        for r in reqs
    ]


def _lock() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))


def _requirement_key(name: str, extras, specifier: str, marker: str | None) -> tuple:
    return (
        canonicalize_name(name),
        frozenset(extras or ()),
        SpecifierSet(specifier or ""),
        str(Marker(str(marker))) if marker else "",
    )


# ----------------------------------------------------------------------- pyproject.toml and uv.lock


def test_lock_records_exactly_the_requirements_of_pyproject():
    root = next(p for p in _lock()["package"] if p["name"] == _project()["name"])
    locked = {
        _requirement_key(r["name"], r.get("extras"), r.get("specifier"), r.get("marker"))
        for r in root["metadata"]["requires-dist"]
    }
    wanted = {_requirement_key(r.name, r.extras, str(r.specifier), r.marker) for r in _direct()}
    assert locked == wanted, "uv.lock does not follow pyproject.toml: run `make lock`"
    assert _lock()["requires-python"] == _project()["requires-python"]


def test_every_locked_version_satisfies_pyproject():
    locked = {}
    for package in _lock()["package"]:
        locked.setdefault(canonicalize_name(package["name"]), []).append(package["version"])
    for requirement in _direct():
        versions = locked[canonicalize_name(requirement.name)]
        assert all(requirement.specifier.contains(v, prereleases=True) for v in versions), (requirement, versions)


@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_lock_resolves_every_dependency_for_every_supported_python(python, platform):
    pin = _pin_environment()
    environment = {**pin.marker_environment(python), "sys_platform": platform}
    versions = pin.locked_versions(_lock(), environment)
    for requirement in _direct():
        assert canonicalize_name(requirement.name) in versions, f"{requirement.name} on Python {python} {platform}"


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
    reason="checks the project's .venv, which `make venv` installs from uv.lock",
)
def test_this_environment_has_exactly_the_locked_versions():
    environment = default_environment()
    versions = _pin_environment().locked_versions(_lock(), {**environment})
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differ = {
        name: (installed[name], version)
        for name, version in versions.items()
        if name in installed and installed[name] != version
    }
    assert differ == {}, "installed != locked; run `make venv`"
    assert {canonicalize_name(r.name) for r in _direct()} <= set(installed)


# ----------------------------------------------------------------------- environment.yml


def test_environment_yml_and_pyproject_declare_the_same_packages():
    assert set(_environment()) == set(_pyproject())


def test_environment_yml_pins_versions_pyproject_allows():
    pins, ranges = _environment(), _pyproject()
    for name, pin in pins.items():
        assert pin.startswith("=="), f"{name} is not pinned in environment.yml: run `make lock`"
        assert SpecifierSet(ranges[name]).contains(pin[2:], prereleases=True), (name, pin, ranges[name])


def test_environment_yml_is_pinned_to_the_lock():
    pin = _pin_environment()
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert pin.python_minor(text) == SUPPORTED_PYTHONS[0]
    assert text == pin.pinned(text, pin.locked_versions(_lock(), pin.marker_environment(pin.python_minor(text)))), (
        "environment.yml is not pinned to uv.lock: run `make lock`"
    )


def test_environment_yml_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_the_dask_executor_is_an_optional_extra_not_a_test_dependency():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert [_split(r)[0] for r in extras["distributed"]] == ["dask[distributed]"]
    assert not any(_split(r)[0].startswith("dask") for r in extras["test"])
    assert {"dask", "distributed"} <= set(_environment())
    assert "--all-extras" in (ROOT / "Makefile").read_text(encoding="utf-8")  # make test runs the Dask test


def test_known_breakages_are_pinned():
    deps = _pyproject()
    assert "<3.13" in deps["matplotlib"], "seaborn's boxplot uses `vert`, removed in matplotlib 3.13"
    assert ">=0.14.6" in deps["statsmodels"], "pandas 3 needs statsmodels >= 0.14.6"
    assert ">=1.0.2" in deps["patsy"], "pandas 3 needs patsy >= 1.0.2"
    assert "vietnamadminunits" in deps and PIP_ONLY_IN_CONDA_FILE <= set(_environment())
