"""Provenance: which code, data and environment made a report.

Every output of a report run says where it came from, so a figure can be
cited and made again: the JSON artifact of each report, a footer in each
HTML report, and the run's ``index.json`` and ``index.html`` carry one
record (:func:`describe`)::

    {"package": {"name": "grassroots-analysis", "version": "0.1.0"},
     "code": {"commit": "2b6455e…", "dirty": false},       # None outside a git checkout
     "data": {"sha256": "…", "tables": {"codebook.csv": "…", …}},
     "schedule": {"file": "schedules/default.yml", "sha256": "…"},
     "python": "3.11.7",
     "libraries": {"pandas": "…", "numpy": "…", …}}

The table hashes are those ``build.json`` records (the SHA-256 of each raw
file's bytes, :func:`analysis.data.storage.file_sha256`); the data hash is
the SHA-256 of their ``sha256sum`` listing, so it can be checked from a
shell::

    cd data/raw && sha256sum codebook.csv context.csv observations.csv sources.csv units.csv | sha256sum

Who fills what: a report notebook records the code, data and environment
(:func:`analysis.reports.formatting.finish` calls :func:`describe` in the
kernel that ran the analysis); the runner adds the schedule it ran
(:func:`stamp_artifact`) and draws the footer (:func:`footer_html`); the
index gives the run's record and the data of each job. Nothing here holds a
time, so two runs on the same inputs write the same artifacts byte for byte.

Examples:
    >>> record = describe(data=data_record({"units.csv": "0" * 64}))
    >>> list(record)
    ['package', 'code', 'data', 'schedule', 'python', 'libraries']
    >>> list(record["libraries"])
    ['pandas', 'numpy', 'scipy', 'statsmodels', 'matplotlib', 'seaborn', 'papermill']
"""

from __future__ import annotations

import html
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from analysis import __version__, paths
from analysis.data.storage import file_sha256, json_bytes, sha256

PACKAGE = "grassroots-analysis"
#: The libraries whose versions every record gives (the scientific stack and the notebook runner).
LIBRARIES = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "papermill")

_CODE_ROOT = Path(__file__).resolve().parents[2]


def describe(data: dict | None = None, schedule: dict | None = None) -> dict:
    """The provenance record of this process: package, commit, data, schedule, Python and libraries.

    Args:
        data: :func:`data_record` of the raw tables used, or None when unknown.
        schedule: :func:`schedule_record` of the schedule run, or None outside a run.

    Returns:
        A JSON-ready mapping, keys in the order of the module's example.

    Examples:
        >>> record = describe()
        >>> record["package"]["version"] == __version__, record["data"], record["schedule"]
        (True, None, None)
    """
    return {
        "package": {"name": PACKAGE, "version": __version__},
        "code": code_state(),
        "data": data,
        "schedule": schedule,
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in LIBRARIES},
    }


def _version(distribution: str) -> str | None:
    """The installed version of a distribution (read from its metadata, nothing imported); None if absent."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def code_state(root: Path | str = _CODE_ROOT) -> dict | None:
    """The git commit of the package's source and whether the working tree had changes.

    Args:
        root: The folder holding the ``analysis`` package (default: where
            this module lives).

    Returns:
        ``{"commit": 40 hex digits, "dirty": bool}`` (``dirty``: a tracked
        file changed or an untracked file not ignored by git), or None when
        ``root`` is not the top of a git checkout (an installed package) or
        git cannot be run.

    Examples:
        >>> import tempfile
        >>> code_state(tempfile.mkdtemp()) is None
        True
    """
    root = Path(root).resolve()
    try:
        top, commit = _git(root, "rev-parse", "--show-toplevel", "HEAD").split()
        if Path(top).resolve() != root:  # the package lies inside someone else's checkout (say, a venv in it)
            return None
        return {"commit": commit, "dirty": bool(_git(root, "status", "--porcelain").strip())}
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def raw_table_hashes(data_dir: Path | str) -> dict[str, str]:
    """SHA-256 of each raw table in a folder, named as ``build.json`` names them.

    Args:
        data_dir: A folder of raw tables (``data/raw``, a synthetic panel ...).

    Returns:
        ``{"codebook.csv": hex, ...}`` for the five tables of
        :data:`analysis.data.dataset.RAW_TABLES` that exist there, sorted by name.

    Examples:
        >>> hashes = raw_table_hashes(paths.raw_dir())
        >>> sorted(hashes) == list(hashes) == ['codebook.csv', 'context.csv', 'observations.csv',
        ...                                    'sources.csv', 'units.csv']
        True
    """
    from analysis.data.dataset import RAW_TABLES

    folder = Path(data_dir)
    names = sorted(f"{table}.csv" for table in RAW_TABLES)
    return {name: file_sha256(folder / name) for name in names if (folder / name).is_file()}


def data_hash(raw_files: dict[str, str]) -> str:
    """One hash for a set of raw tables: the SHA-256 of their ``sha256sum`` listing, sorted by file name.

    Args:
        raw_files: File name -> SHA-256 (``Dataset.raw_files``, ``build.json``'s ``raw_files``).

    Returns:
        64 hex digits; any change to any table's bytes changes it.

    Examples:
        >>> import hashlib
        >>> data_hash({"b.csv": "22", "a.csv": "11"}) == hashlib.sha256(b"11  a.csv\\n22  b.csv\\n").hexdigest()
        True
    """
    return sha256("".join(f"{digest}  {name}\n" for name, digest in sorted(raw_files.items())).encode("utf-8"))


def data_record(raw_files: dict[str, str]) -> dict:
    """The ``data`` part of a record: the data hash and each table's hash.

    Examples:
        >>> data_record({"units.csv": "ab"})["tables"]
        {'units.csv': 'ab'}
    """
    return {"sha256": data_hash(raw_files), "tables": dict(sorted(raw_files.items()))}


def schedule_record(source: Path | str) -> dict:
    """The ``schedule`` part of a record: the file (relative to the repository when inside it) and its hash.

    Args:
        source: The schedule's path (``Schedule.source``); a schedule not
            read from a file has no hash.

    Examples:
        >>> schedule_record(paths.schedules_dir() / "default.yml")["file"]
        'schedules/default.yml'
        >>> schedule_record("<schedule>")
        {'file': '<schedule>', 'sha256': None}
    """
    path = Path(source).resolve()
    if not path.is_file():
        return {"file": str(source), "sha256": None}
    shown = path.relative_to(paths.root()).as_posix() if path.is_relative_to(paths.root()) else str(path)
    return {"file": shown, "sha256": file_sha256(path)}


def distinct_data(jobs: list[dict]) -> list[dict]:
    """The data records of a run's jobs, each once, in the order first used.

    Examples:
        >>> jobs = [{"data": {"sha256": "a", "tables": {}}}, {"data": None}, {"data": {"sha256": "a", "tables": {}}}]
        >>> distinct_data(jobs)
        [{'sha256': 'a', 'tables': {}}]
    """
    found: dict[str, dict] = {}
    for job in jobs:
        data = job.get("data") or {}
        if data.get("sha256"):
            found.setdefault(data["sha256"], data)
    return list(found.values())


def stamp_artifact(path: Path | str, schedule: dict | None) -> dict:
    """Add the run's schedule to the provenance of a report's JSON artifact (rewritten in place).

    An artifact whose notebook recorded no provenance gets this process's
    (:func:`describe`, data unknown).

    Args:
        path: The artifact (a JSON object), in the job's staging folder.
        schedule: :func:`schedule_record` of the run's schedule.

    Returns:
        The artifact's complete provenance record.

    Raises:
        ValueError: The file is not a JSON object.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "a.json"
        >>> _ = path.write_text('{"kind": "toy"}')
        >>> stamp_artifact(path, {"file": "s.yml", "sha256": "ab"})["schedule"]
        {'file': 's.yml', 'sha256': 'ab'}
        >>> list(json.loads(path.read_text()))
        ['kind', 'provenance']
    """
    path = Path(path)
    content = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(content, dict):
        raise ValueError(f"the artifact {path.name} is not a JSON object")
    record = content.get("provenance") or describe()
    record["schedule"] = schedule
    content["provenance"] = record
    path.write_bytes(json_bytes(content))
    return record


def provenance_lines(record: dict | None) -> list[tuple[str, str]]:
    """A record as (label, text) pairs for a page: the index's table, a report's footer.

    Args:
        record: A :func:`describe` record (None gives no lines); its
            ``data`` may also be a list of data records (an index's
            :func:`distinct_data`). Each data record gives its hash, then
            its tables' hashes.

    Returns:
        Plain text pairs (escape them for HTML).

    Examples:
        >>> record = describe(data=data_record({"units.csv": "ab"}), schedule={"file": "s.yml", "sha256": "cd"})
        >>> [label for label, _ in provenance_lines(record)]
        ['package', 'commit', 'data sha256', 'units.csv', 'schedule sha256', 'python', 'libraries']
        >>> dict(provenance_lines(record))["schedule sha256"]
        'cd (s.yml)'
    """
    if not record:
        return []
    code, schedule = record.get("code"), record.get("schedule")
    package = record.get("package") or {}
    lines = [
        ("package", f"{package.get('name', PACKAGE)} {package.get('version', '?')}"),
        (
            "commit",
            "not a git checkout"
            if not code
            else code["commit"] + (" (with uncommitted changes)" if code["dirty"] else " (clean)"),
        ),
    ]
    data = record.get("data")
    datasets = data if isinstance(data, list) else [data] if data else []
    for each in datasets:
        lines.append(("data sha256", each["sha256"]))
        lines += list(each["tables"].items())
    if not datasets:
        lines.append(("data sha256", "not recorded"))
    if schedule:
        lines.append(("schedule sha256", f"{schedule['sha256'] or 'none (not a file)'} ({schedule['file']})"))
    lines.append(("python", str(record.get("python"))))
    lines.append(
        (
            "libraries",
            ", ".join(
                f"{name} {version or 'not installed'}" for name, version in (record.get("libraries") or {}).items()
            ),
        )
    )
    return lines


def footer_html(record: dict | None) -> str:
    """A short provenance footer for an HTML report (escaped; no script).

    One line gives the package, the commit and the data hash; the rest
    (each table's hash, the schedule, Python and the libraries) opens from it.

    Args:
        record: The report's :func:`describe` record.

    Returns:
        A ``<footer>`` element, or '' for no record.

    Examples:
        >>> page = footer_html(describe(data=data_record({"units.csv": "<ab>"})))
        >>> page.startswith('<footer class="provenance"'), "&lt;ab&gt;" in page, "<ab>" in page
        (True, True, False)
    """
    lines = provenance_lines(record)
    if not lines:
        return ""
    facts = dict(lines)
    summary = f"Made by {facts['package']}, commit {facts['commit']}, from data sha256 {facts['data sha256']}."
    label_style = "text-align: left; padding: 0.1em 1em 0.1em 0; font-weight: 600; white-space: nowrap;"
    rows = "".join(
        f'<tr><th style="{label_style}">{html.escape(label)}</th><td>{html.escape(text)}</td></tr>'
        for label, text in lines
    )
    return (
        '<footer class="provenance" style="margin: 2em 1em 1em; font: 0.85em system-ui, sans-serif; '
        'color: #555; overflow-wrap: anywhere;">'
        f"<details><summary>{html.escape(summary)}</summary>"
        f'<table style="font-size: 1em; border-collapse: collapse;">{rows}</table></details></footer>'
    )
