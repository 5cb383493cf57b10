"""Helpers of the reliability suite: run the command line, fingerprint folders, check a report index.

Every test works on copies in its own temporary folder; the autouse fixture
points the package's default folders (raw, processed, reports) at folders
that do not exist, so a command that forgot an explicit path fails instead
of touching the repository's data.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import analysis.cli

HERE = Path(__file__).parent
TOY_NOTEBOOKS = HERE / "notebooks"
RAW_SMALL = HERE.parent / "fixtures" / "raw_small"

#: The exit codes analysis.errors documents (0 ok, 1 partial, 2 usage, 3 input, 4 busy, 130 interrupted).
DOCUMENTED_EXIT_CODES = (0, 1, 2, 3, 4, 130)


@dataclass
class Outcome:
    """What a command did: exit status and what it printed."""

    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        """The lines printed on stderr."""
        return self.stderr.splitlines()


def run_cli(*argv) -> Outcome:
    """``python -m analysis ARGV`` in this process (the same ``main`` that ``__main__`` calls).

    argparse's own errors end in ``SystemExit``; its code is the exit status.
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = analysis.cli.main([str(a) for a in argv])
        except SystemExit as exit_:
            code = exit_.code
    return Outcome(code, out.getvalue(), err.getvalue())


def cli_env(**overrides) -> dict:
    """The environment of a command run as a separate process: this one without ``ANALYSIS_*``, plus overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANALYSIS_", "RELIABILITY_"))}
    env.update({"MPLBACKEND": "agg", "PYTHONHASHSEED": "0"})
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def start_module(*argv, env: dict, cwd: Path, new_session: bool = False) -> subprocess.Popen:
    """Start ``python -m analysis ARGV`` as a separate process, output captured as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "analysis", *map(str, argv)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
    )


def run_module(*argv, env: dict, cwd: Path, timeout: float = 120) -> Outcome:
    """``python -m analysis ARGV`` as a separate process, as a user or a cron job runs it."""
    process = start_module(*argv, env=env, cwd=cwd)
    stdout, stderr = process.communicate(timeout=timeout)
    return Outcome(process.returncode, stdout, stderr)


def fingerprint(folder: Path, ignore: tuple[str, ...] = (".lock",)) -> dict[str, str]:
    """SHA-256 of every file under a folder, by relative path (``ignore``: file names left out)."""
    folder = Path(folder)
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in ignore
    }


def leftovers(folder: Path) -> list[str]:
    """Temporary or staging files and folders left under a folder (``.tmp-…``, ``.x.tmp``, ``.x.bak``)."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in Path(folder).rglob("*")
        if p.name.startswith(".tmp-") or p.suffix in (".tmp", ".bak")
    )


def copy_raw(target: Path) -> Path:
    """A private copy of ``tests/fixtures/raw_small``."""
    shutil.copytree(RAW_SMALL, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in a UTF-8 file (fails if it is not there exactly once)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name}: {old!r} occurs {text.count(old)} times"
    path.write_text(text.replace(old, new), encoding="utf-8")


def links(page: str) -> list[str]:
    """The file links of an HTML page (anchors within the page left out)."""
    return [href for href in re.findall(r'href="([^"]+)"', page) if not href.startswith("#")]


def index_problems(out_dir: Path) -> list[str]:
    """Every way the index of a report folder does not tell the truth; empty when it does.

    Checked: every link of ``index.html`` and every output of ``index.json``
    is an existing, complete file (an HTML page that ends with ``</html>``, a
    notebook and a JSON artifact that parse); an ``ok`` job links its report
    and notebook and no ``.failed.`` file; a ``failed`` job links only
    ``.failed.`` files and its kept notebook exists; a ``pending`` or
    ``interrupted`` job links nothing; nothing links into a staging folder.
    """
    from urllib.parse import unquote

    out_dir = Path(out_dir)
    problems = []
    page = (out_dir / "index.html").read_text(encoding="utf-8")
    index = json.loads((out_dir / "index.json").read_text(encoding="utf-8"))
    for href in links(page):
        path = out_dir / unquote(href)
        if not path.is_file():
            problems.append(f"index.html links a missing file: {href}")
    for job in index["jobs"]:
        name, outputs = job["name"], job["outputs"]
        for kind, rel in outputs.items():
            path = out_dir / rel
            if ".tmp-" in rel:
                problems.append(f"{name}: {kind} is in a staging folder: {rel}")
            if not path.is_file():
                problems.append(f"{name}: {kind} missing: {rel}")
                continue
            text = path.read_text(encoding="utf-8")
            if kind == "html" and not text.rstrip().endswith("</html>"):
                problems.append(f"{name}: {rel} is not a complete page")
            if kind in ("notebook", "artifact"):
                try:
                    json.loads(text)
                except ValueError:
                    problems.append(f"{name}: {rel} is not complete JSON")
        failed_files = [rel for rel in outputs.values() if ".failed." in rel]
        if job["status"] == "ok":
            if not {"html", "notebook"} <= set(outputs) or failed_files:
                problems.append(f"{name}: ok, but outputs are {outputs}")
        elif job["status"] == "failed":
            if len(failed_files) != len(outputs):
                problems.append(f"{name}: failed, but links a report: {outputs}")
            if not (out_dir / job["notebook"] / f"{name}.failed.ipynb").is_file():
                problems.append(f"{name}: failed, but its kept notebook {name}.failed.ipynb is gone")
        elif job["status"] in ("pending", "interrupted"):  # not finished (yet): nothing of it is linked
            if outputs:
                problems.append(f"{name}: {job['status']}, but links {outputs}")
        else:
            problems.append(f"{name}: unknown status {job['status']!r}")
    return problems


def processes_in(*folders: Path) -> list[str]:
    """Processes (pid and command) whose working directory is one of ``folders`` (Linux ``/proc``)."""
    wanted = {str(Path(f).resolve()) for f in folders}
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if os.readlink(proc / "cwd") in wanted:
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {command[:200]}")
    return found


def wait_until(condition, timeout: float, poll: float = 0.1) -> bool:
    """Poll ``condition()`` until it is true or ``timeout`` seconds have passed; return its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return bool(condition())
        time.sleep(poll)
    return True


@pytest.fixture(autouse=True)
def no_default_folders(tmp_path, monkeypatch):
    """Point the package's default data and report folders at folders that do not exist."""
    nowhere = tmp_path / "no-default-folder"
    for var in ("ANALYSIS_RAW_DIR", "ANALYSIS_PROCESSED_DIR", "ANALYSIS_REPORTS_DIR"):
        monkeypatch.setenv(var, str(nowhere / var.lower()))
