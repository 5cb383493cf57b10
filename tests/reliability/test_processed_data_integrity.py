"""The processed folder under faults: an interrupted build, a full disk, a held lock, two builds at once.

Before each fault the folder holds a good build; the build under test would
write different content (one figure changed), so "unchanged" is a real
check. Afterwards the folder is either byte-for-byte the previous build or
a complete new one, never a mix, and no temporary file is left.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

import analysis.data.storage
from analysis.data.dataset import read_processed
from analysis.errors import InputError
from analysis.data.storage import LOCK_NAME, build_lock, file_sha256

from .conftest import (
    DOCUMENTED_EXIT_CODES,
    cli_env,
    copy_raw,
    edit,
    fingerprint,
    leftovers,
    run_cli,
    start_module,
    wait_until,
)


@pytest.fixture
def built(tmp_path) -> dict:
    """A good build in ``processed/``, and ``changed/``: raw tables whose build differs (Kon Rẫy has 1640 members)."""
    good = copy_raw(tmp_path / "good")
    changed = copy_raw(tmp_path / "changed")
    edit(changed / "observations.csv", ",1639,count", ",1640,count")
    processed = tmp_path / "processed"
    assert run_cli("build", "--raw", good, "--out", processed, "--quiet").code == 0
    return {"good": good, "changed": changed, "processed": processed, "before": fingerprint(processed)}


def fail_on_call(function, number: int, error: BaseException):
    """``function`` that raises ``error`` on its ``number``-th call (counting from 1), and works otherwise."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) == number:
            raise error
        return function(*args, **kwargs)

    return wrapper


def test_build_interrupted_while_replacing_files_leaves_the_previous_build(built, monkeypatch):
    # Ctrl-C after two of the eight files were moved into place.
    monkeypatch.setattr(os, "replace", fail_on_call(os.replace, 3, KeyboardInterrupt()))
    outcome = run_cli("build", "--raw", built["changed"], "--out", built["processed"], "--quiet")
    assert outcome.code == 130
    assert outcome.errors == ["interrupted; outputs written before the interruption are intact"]
    assert fingerprint(built["processed"]) == built["before"]
    assert leftovers(built["processed"]) == []


@pytest.fixture
def disk_full(built, monkeypatch):
    """A build whose second temporary file cannot be written (no space left)."""
    full = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(
        analysis.data.storage, "_write_synced", fail_on_call(analysis.data.storage._write_synced, 2, full)
    )
    return built, run_cli("build", "--raw", built["changed"], "--out", built["processed"], "--quiet")


def test_disk_full_during_a_build_leaves_the_previous_build_and_one_line(disk_full):
    built, outcome = disk_full
    assert fingerprint(built["processed"]) == built["before"]
    assert leftovers(built["processed"]) == []
    (line,) = outcome.errors
    assert "No space left on device" in line and "Traceback" not in outcome.stderr
    assert outcome.code != 0


def test_disk_full_during_a_build_exits_with_a_documented_status_naming_the_folder(disk_full):
    built, outcome = disk_full
    assert outcome.code in DOCUMENTED_EXIT_CODES
    assert outcome.errors[0].startswith(f"error: {built['processed']}")


def test_build_gives_up_with_exit_4_while_another_holds_the_lock(built):
    with build_lock(built["processed"]):
        outcome = run_cli("build", "--raw", built["changed"], "--out", built["processed"], "--quiet", "--wait", "0.5")
    assert outcome.code == 4
    assert outcome.errors == [
        f"error: {built['processed'] / LOCK_NAME}: another build (pid {os.getpid()}) holds "
        "the lock; waited 0.5 s, try again later"
    ]
    assert fingerprint(built["processed"]) == built["before"]


def test_mixed_files_from_two_builds_are_detected_and_the_next_build_repairs_them(built, tmp_path):
    other = tmp_path / "other"
    assert run_cli("build", "--raw", built["changed"], "--out", other, "--quiet").code == 0
    shutil.copy2(other / "observations.csv", built["processed"] / "observations.csv")  # what a SIGKILL could leave
    with pytest.raises(InputError, match="observations.csv: does not match build.json"):
        read_processed(built["processed"])
    assert run_cli("build", "--raw", built["good"], "--out", built["processed"], "--quiet").code == 0
    read_processed(built["processed"])
    repaired = fingerprint(built["processed"], ignore=(LOCK_NAME, "build.json"))
    assert repaired == {k: v for k, v in built["before"].items() if k != "build.json"}


def holds_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (Linux ``/proc``): a build waiting on the lock has."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) == str(path) for fd in fds.iterdir())
    except OSError:
        return False


def test_two_builds_at_once_leave_one_complete_build(built, tmp_path):
    """Both builds wait on the lock held here, start together when it is released, and both succeed."""
    out, lock = built["processed"], (built["processed"] / LOCK_NAME).resolve()
    sources = {"good": built["good"], "changed": built["changed"]}
    with build_lock(out):
        processes = {
            name: start_module(
                "build", "--raw", raw, "--out", out, "--quiet", "--wait", "60", env=cli_env(), cwd=tmp_path
            )
            for name, raw in sources.items()
        }
        both_waiting = wait_until(lambda: all(holds_open(p.pid, lock) for p in processes.values()), timeout=60)
    try:
        results = {name: p.communicate(timeout=120) + (p.returncode,) for name, p in processes.items()}
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    assert both_waiting, "the two builds did not both wait on the lock"
    assert {name: code for name, (_, _, code) in results.items()} == {"good": 0, "changed": 0}, results
    assert leftovers(out) == []
    final = read_processed(out)  # every file matches build.json
    build = json.loads((out / "build.json").read_text(encoding="utf-8"))
    raw_hashes = {
        name: {
            f"{t}.csv": file_sha256(raw / f"{t}.csv")
            for t in ("sources", "units", "codebook", "observations", "context")
        }
        for name, raw in sources.items()
    }
    winner = [name for name, hashes in raw_hashes.items() if hashes == build["raw_files"]]
    assert len(winner) == 1
    members = final.observations.loc[final.observations["obs_id"] == "O0002", "value"].tolist()
    assert members == [1639.0 if winner == ["good"] else 1640.0]
