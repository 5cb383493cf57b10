"""Where the data, notebooks and reports live.

Every path is rooted at the repository (``Path(__file__)``), never at the
working directory, so a notebook, a cron job and a test all see the same
files. Each location can be overridden by an environment variable, which is
how tests and the synthetic panel point the package elsewhere.

Examples:
    >>> root().joinpath("analysis").is_dir()
    True
    >>> raw_dir().name
    'raw'
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]


def _from_env(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def root() -> Path:
    """The repository root (``ANALYSIS_ROOT`` overrides it)."""
    return _from_env("ANALYSIS_ROOT", _REPO)


def raw_dir() -> Path:
    """Hand-kept raw tables (``ANALYSIS_RAW_DIR`` overrides)."""
    return _from_env("ANALYSIS_RAW_DIR", root() / "data" / "raw")


def processed_dir() -> Path:
    """Tables rebuilt by ``python -m analysis build`` (``ANALYSIS_PROCESSED_DIR``)."""
    return _from_env("ANALYSIS_PROCESSED_DIR", root() / "data" / "processed")


def reports_dir() -> Path:
    """Generated reports and their index (``ANALYSIS_REPORTS_DIR``)."""
    return _from_env("ANALYSIS_REPORTS_DIR", root() / "reports")


def notebooks_dir() -> Path:
    """The parameterised report notebooks (``ANALYSIS_NOTEBOOKS_DIR``)."""
    return _from_env("ANALYSIS_NOTEBOOKS_DIR", root() / "notebooks")


def schedules_dir() -> Path:
    """YAML report schedules."""
    return root() / "schedules"
