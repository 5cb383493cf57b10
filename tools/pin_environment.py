"""Pin environment.yml to the versions of uv.lock (``make lock`` runs it; ``--check`` only compares).

``uv.lock`` is the project's lock: uv resolved ``pyproject.toml`` once for
every Python version the package supports, and ``make venv`` installs
exactly it. conda users get the same versions of the packages they install
from ``environment.yml`` (the project's direct dependencies): each is
pinned (``==``) to the version the lock gives for the Python minor version
the file pins (``python=3.11``), on Linux; ``pip:`` entries likewise. The
file's comments, order and conda-only names stay as they are.

Usage (from the repository root, in the project's environment, which has ``packaging``)::

    python tools/pin_environment.py          # rewrite environment.yml
    python tools/pin_environment.py --check  # exit 1 and list the differences
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker, default_environment
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
#: A dependency line of environment.yml: indent and dash, name, optional extras, optional version spec.
LINE = re.compile(
    r"^(?P<head>\s*-\s+)(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]*)(?P<extras>\[[^\]]*\])?"
    r"(?P<spec>\s*[<>=!~][^#]*?)?(?P<tail>\s*(?:#.*)?)$"
)
PYTHON = re.compile(r"^\s*-\s+python\s*=+\s*(\d+\.\d+)\s*$", re.MULTILINE)
NOT_PINNED = {"python", "pip"}


def marker_environment(python_minor: str) -> dict[str, str]:
    """Marker values of the conda environment: CPython ``python_minor`` (its newest patch release) on Linux."""
    return {
        **default_environment(),
        "python_version": python_minor,
        "python_full_version": f"{python_minor}.99",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }


def locked_versions(lock: dict, environment: dict[str, str]) -> dict[str, str]:
    """Package -> version that ``uv.lock`` installs in ``environment`` (a fork's version where it forked)."""
    versions = {}
    for package in lock["package"]:
        forks = package.get("resolution-markers")
        if "version" in package and (not forks or any(Marker(m).evaluate(environment) for m in forks)):
            versions[canonicalize_name(package["name"])] = package["version"]
    return versions


def pinned(text: str, versions: dict[str, str]) -> str:
    """environment.yml's text with every dependency (but python and pip) pinned to ``versions``.

    Raises:
        KeyError: A package of the file is not in the lock.
    """
    lines, in_dependencies = [], False
    for line in text.splitlines(keepends=True):
        in_dependencies = in_dependencies or line.startswith("dependencies:")
        match = LINE.match(line.rstrip("\n")) if in_dependencies else None
        if match and match["name"].lower() not in NOT_PINNED:
            name = canonicalize_name(match["name"])
            if name not in versions:
                raise KeyError(
                    f"environment.yml installs {match['name']}, which uv.lock does not have; "
                    "add it to pyproject.toml and run `make lock`"
                )
            line = f"{match['head']}{match['name']}{match['extras'] or ''}=={versions[name]}{match['tail']}\n"
        lines.append(line)
    return "".join(lines)


def python_minor(text: str) -> str:
    """The Python minor version environment.yml pins (``python=3.11``)."""
    found = PYTHON.search(text)
    if not found:
        raise SystemExit("environment.yml must pin the Python minor version: '  - python=3.11'")
    return found.group(1)


def main(argv: list[str]) -> int:
    path = ROOT / "environment.yml"
    text = path.read_text(encoding="utf-8")
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    wanted = pinned(text, locked_versions(lock, marker_environment(python_minor(text))))
    if "--check" in argv:
        differ = [
            f"  {a.strip()}  (uv.lock: {b.strip()})" for a, b in zip(text.splitlines(), wanted.splitlines()) if a != b
        ]
        print(
            "environment.yml is not pinned to uv.lock; run `make lock`:\n" + "\n".join(differ)
            if differ
            else "environment.yml is pinned to uv.lock"
        )
        return 1 if differ else 0
    path.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
