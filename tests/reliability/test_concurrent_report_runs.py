"""Two report runs started at once into the same folder do not mix their files.

Both runs schedule the same two jobs (same output names); each writes its
label (``A`` or ``B``) into every artifact, and every job sleeps long enough
that the first run holds the folder's lock longer than the 5 s the second
waits for it. One run must finish (exit 0), the other give up with exit 4
and write nothing; every file and the index must be the winner's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal

import pytest

from .conftest import TOY_NOTEBOOKS, cli_env, index_problems, leftovers, start_module

pytestmark = pytest.mark.notebook

SCHEDULE = "timeout: {cell: 60, job: 120}\njobs:\n  - notebook: toy\n    grid: {mode: [first, second]}\n"


@pytest.fixture(scope="module")
def race(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("race")
    shutil.copytree(TOY_NOTEBOOKS, tmp / "notebooks")
    out = tmp / "reports"
    processes = {}
    for label in ("A", "B"):
        (tmp / f"{label}.yml").write_text(SCHEDULE, encoding="utf-8")
        env = cli_env(
            ANALYSIS_NOTEBOOKS_DIR=tmp / "notebooks",
            ANALYSIS_RAW_DIR=tmp / "no-raw",
            RELIABILITY_LABEL=label,
            RELIABILITY_SLEEP=6,
        )
        processes[label] = start_module(
            "report", tmp / f"{label}.yml", "--out", out, "--jobs", "2", env=env, cwd=tmp, new_session=True
        )
    try:
        finished = {label: p.communicate(timeout=180) + (p.returncode,) for label, p in processes.items()}
    finally:
        for p in processes.values():
            if p.poll() is None:  # a run hung: stop it and its workers
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    return {
        "out": out,
        "tmp": tmp,
        "runs": {
            label: {"stdout": so, "stderr": se, "code": code, "pid": processes[label].pid}
            for label, (so, se, code) in finished.items()
        },
    }


def winner_and_loser(race) -> tuple[str, str]:
    codes = {label: run["code"] for label, run in race["runs"].items()}
    assert sorted(codes.values()) == [0, 4], race["runs"]
    return min(codes, key=codes.get), max(codes, key=codes.get)


def test_second_run_gives_up_with_exit_4_and_one_line(race):
    winner, loser = winner_and_loser(race)
    run = race["runs"][loser]
    assert run["stdout"] == ""
    assert run["stderr"].splitlines() == [
        f"error: {race['out'] / '.lock'}: another build (pid {race['runs'][winner]['pid']}) holds the lock; "
        "waited 5 s, try again later"
    ]


def test_every_file_and_the_index_come_from_the_winner(race):
    winner, _ = winner_and_loser(race)
    out = race["out"]
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert index["run"]["schedule"] == str(race["tmp"] / f"{winner}.yml")
    assert [(job["name"], job["status"]) for job in index["jobs"]] == [
        ("toy__mode-first", "ok"),
        ("toy__mode-second", "ok"),
    ]
    for job in index["jobs"]:
        artifact = json.loads((out / job["outputs"]["artifact"]).read_text(encoding="utf-8"))
        assert artifact.pop("provenance")["schedule"]["file"].endswith(f"{winner}.yml")
        assert artifact == {"mode": job["parameters"]["mode"], "label": winner}
        page = (out / job["outputs"]["html"]).read_text(encoding="utf-8")
        assert f"báo cáo thử: {job['parameters']['mode']} {winner}" in page
    assert index_problems(out) == [] and leftovers(out) == []
    assert sorted(p.name for p in (out / "toy").iterdir()) == sorted(
        f"toy__mode-{mode}.{ext}" for mode in ("first", "second") for ext in ("html", "ipynb", "json")
    )
