"""Faults in report runs: a cell that raises, a cell that hangs, a kernel that dies, Ctrl-C, a missing kernel.

One output folder goes through three runs of ``python -m analysis report``
(separate processes, two workers) on the toy notebook, whose faults fire
only when ``RELIABILITY_FAULTS=1``:

1. **faults**: five jobs, three of which fail (raise, hang past a 3 s cell
   limit, ``os._exit``); the two others must succeed and the index must
   tell exactly what happened.
2. **interrupted**: the same jobs without faults but slow; SIGINT to the
   process group (what Ctrl-C does) as soon as the first report is in place:
   the index then lists the jobs that finished and marks the others
   ``interrupted``.
3. **re-run**: the same jobs, no faults: everything succeeds and the index
   is complete.

A sixth test runs two jobs through :func:`analysis.reports.runner.run_jobs` with a
kernel name that does not exist for one of them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analysis.reports import kernels, runner
from analysis.reports.runner import Job, RunSettings, run_jobs

from .conftest import (
    TOY_NOTEBOOKS,
    cli_env,
    index_problems,
    leftovers,
    links,
    processes_in,
    run_module,
    start_module,
    wait_until,
)

pytestmark = pytest.mark.notebook

MODES = ("raise", "hang", "die", "ok", "fine")
SCHEDULE = "timeout: {cell: 30, job: 60}\njobs:\n  - notebook: toy\n    grid: {mode: [%s]}\n" % ", ".join(MODES)
RAISED = "ValueError: <script>alert(3)</script> thiếu số liệu của huyện"


def snapshot(out: Path) -> dict:
    """The index and the files of a report folder."""
    index = out / "index.json"
    return {
        "index": json.loads(index.read_text(encoding="utf-8")) if index.exists() else None,
        "index_bytes": index.read_bytes() if index.exists() else None,
        "page": (out / "index.html").read_text(encoding="utf-8") if index.exists() else None,
        "files": sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()),
        "problems": index_problems(out) if index.exists() else ["no index"],
        "leftovers": leftovers(out),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The three runs into one folder; what each printed and left."""
    tmp = tmp_path_factory.mktemp("faults")
    notebooks = tmp / "notebooks"
    shutil.copytree(TOY_NOTEBOOKS, notebooks)
    (tmp / "s.yml").write_text(SCHEDULE, encoding="utf-8")
    (tmp / "cwd").mkdir()
    out = tmp / "reports"
    argv = ("report", tmp / "s.yml", "--out", out, "--jobs", "2")
    env = {"ANALYSIS_NOTEBOOKS_DIR": notebooks, "ANALYSIS_RAW_DIR": tmp / "no-raw"}
    found = {"out": out, "notebooks": notebooks, "cwd": tmp / "cwd"}

    found["faults"] = run_module(
        *argv, "--cell-timeout", "3", env=cli_env(**env, RELIABILITY_FAULTS=1), cwd=tmp / "cwd"
    )
    found["after_faults"] = snapshot(out)

    def replaced(mode: str) -> bool:
        """The job's report is in place and its '.failed.' notebook from run 1 removed."""
        return (out / "toy" / f"toy__mode-{mode}.ipynb").exists() and not (
            out / "toy" / f"toy__mode-{mode}.failed.ipynb"
        ).exists()

    process = start_module(*argv, env=cli_env(**env, RELIABILITY_SLEEP=3), cwd=tmp / "cwd", new_session=True)
    try:
        assert wait_until(lambda: any(map(replaced, ("raise", "hang", "die"))), timeout=90)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:  # the test failed before the run ended: do not leave it running
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    found["interrupted"] = {"code": process.returncode, "stdout": stdout, "stderr": stderr}
    wait_until(lambda: not processes_in(notebooks, tmp / "cwd"), timeout=15)
    found["left_running"] = processes_in(notebooks, tmp / "cwd")
    found["after_interrupt"] = snapshot(out)

    found["rerun"] = run_module(*argv, env=cli_env(**env), cwd=tmp / "cwd")
    found["after_rerun"] = snapshot(out)
    return found


def jobs(snap: dict) -> dict:
    return {job["parameters"]["mode"]: job for job in snap["index"]["jobs"]}


# ------------------------------------------------------------------ run 1: faults


def test_faulty_jobs_fail_and_the_others_succeed(runs):
    assert runs["faults"].code == 1
    found = {mode: (job["status"], job["reason"]) for mode, job in jobs(runs["after_faults"]).items()}
    assert found == {
        "raise": ("failed", "error"),
        "hang": ("failed", "cell timeout"),
        "die": ("failed", "kernel died"),
        "ok": ("ok", ""),
        "fine": ("ok", ""),
    }
    assert runs["after_faults"]["index"]["counts"] == {"ok": 2, "failed": 3}


def test_each_failure_is_reported_with_its_cause(runs):
    found = jobs(runs["after_faults"])
    assert re.fullmatch(re.escape(RAISED) + r" \(at In \[\d+\]\)", found["raise"]["error"])
    assert found["hang"]["error"] == "a cell ran longer than the cell limit of 3 s"
    assert found["die"]["error"].startswith("the kernel died while running the notebook")
    stdout = runs["faults"].stdout.splitlines()
    assert stdout[0] == "5 jobs: 2 ok, 3 failed"
    assert [line.split(":")[1].strip() for line in stdout if line.startswith("  failed: ")] == [
        "toy__mode-raise",
        "toy__mode-hang",
        "toy__mode-die",
    ]
    assert "Traceback" not in runs["faults"].stderr


def test_index_after_faults_tells_the_truth_and_links_only_complete_files(runs):
    snap = runs["after_faults"]
    assert snap["problems"] == []
    assert snap["leftovers"] == []
    found = jobs(snap)
    assert set(found["ok"]["outputs"]) == {"html", "notebook", "artifact"}
    for mode in ("ok", "fine"):
        artifact = json.loads((runs["out"] / found[mode]["outputs"]["artifact"]).read_text(encoding="utf-8"))
        artifact.pop("provenance")  # the runner's record of the run (tests/test_provenance.py)
        assert artifact == {"mode": mode, "label": ""}
    assert "toy/toy__mode-raise.html" not in snap["files"]  # a failed job has no report under the good name


def test_index_shows_an_error_message_with_markup_as_text(runs):
    page = runs["after_faults"]["page"]
    assert "<script" not in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt; thiếu số liệu của huyện" in page


# ------------------------------------------------------------------ run 2: SIGINT


def test_interrupted_run_exits_130_with_one_line_and_no_traceback(runs):
    interrupted = runs["interrupted"]
    assert interrupted["code"] == 130
    assert "Traceback" not in interrupted["stderr"]
    assert interrupted["stderr"].splitlines()[-1] == "interrupted; outputs written before the interruption are intact"
    assert interrupted["stdout"] == ""


def test_interrupted_run_leaves_no_staging_files_and_no_process(runs):
    assert runs["after_interrupt"]["leftovers"] == []
    assert runs["left_running"] == []


def test_interrupted_run_index_lists_the_finished_jobs_and_marks_the_others_interrupted(runs):
    snap = runs["after_interrupt"]
    found = {mode: job["status"] for mode, job in jobs(snap).items()}
    assert set(found.values()) <= {"ok", "interrupted"} and found["fine"] == "interrupted", found
    for job in snap["index"]["jobs"]:
        if job["status"] == "interrupted":
            assert (job["outputs"], job["error"]) == ({}, "the run stopped before this job finished")
    assert snap["index"]["counts"] == {
        "ok": list(found.values()).count("ok"),
        "failed": 0,
        "interrupted": list(found.values()).count("interrupted"),
    }
    assert snap["index"]["run"]["finished"]  # written when the run stopped, not left as a run in progress


def test_index_tells_the_truth_after_an_interrupted_run(runs):
    assert runs["after_interrupt"]["problems"] == []


# ------------------------------------------------------------------ run 3: the re-run


def test_rerun_after_faults_and_interruption_completes(runs):
    rerun = runs["rerun"]
    assert rerun.code == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout.splitlines()[0] == "5 jobs: 5 ok, 0 failed"
    snap = runs["after_rerun"]
    assert snap["problems"] == [] and snap["leftovers"] == []
    assert {job["status"] for job in snap["index"]["jobs"]} == {"ok"}
    assert [f for f in snap["files"] if ".failed." in f] == []  # the earlier failures' files are gone
    assert len(links(snap["page"])) == 5 * 3 + 1  # report, notebook and data of each job, and index.json


# ------------------------------------------------------------------ a kernel that does not exist

GHOST_KERNEL = "reliability-no-such-kernel"


@pytest.fixture(scope="module")
def ghost_run(tmp_path_factory) -> dict:
    """Two jobs on a thread pool; the second asks for a kernel that is not installed.

    Installing a kernelspec is replaced by a refusal (the test must not add
    one to the environment); the calls are recorded.
    """
    tmp = tmp_path_factory.mktemp("ghost")
    shutil.copytree(TOY_NOTEBOOKS, tmp / "notebooks")
    notebook = str(tmp / "notebooks" / "toy.ipynb")
    installs = []

    def refuse_install(name=runner.KERNEL_NAME, *args, **kwargs):
        installs.append(name)
        raise RuntimeError(f"the test refused to install a kernelspec named {name!r}")

    def task(job: Job, settings: RunSettings):
        if job.parameters["mode"] == "ghost":
            settings = dataclasses.replace(settings, kernel_name=GHOST_KERNEL)
        return runner.execute_job(job, settings)

    jobs = [Job("toy", {"mode": mode}, f"toy__mode-{mode}", notebook, writes_json=True) for mode in ("ok", "ghost")]
    settings = RunSettings(out_dir=str(tmp / "reports"), cell_timeout=30, job_timeout=60)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "install_kernel", refuse_install)
        with ThreadPoolExecutor(2) as pool:
            results = run_jobs(jobs, settings, workers=2, executor=pool, task=task)
    return {"results": {r.parameters["mode"]: r for r in results}, "installs": installs, "out": tmp / "reports"}


def test_missing_kernel_does_not_stop_the_other_job(ghost_run):
    ok, ghost = ghost_run["results"]["ok"], ghost_run["results"]["ghost"]
    assert ok.status == "ok" and (ghost_run["out"] / ok.outputs["html"]).is_file()
    assert ghost.status == "failed" and ghost.outputs == {}
    assert leftovers(ghost_run["out"]) == []


def test_missing_kernel_fails_its_job_by_name_and_installs_nothing(ghost_run):
    ghost = ghost_run["results"]["ghost"]
    assert ghost_run["installs"] == []
    assert GHOST_KERNEL in ghost.error and "no " in ghost.error.lower()
