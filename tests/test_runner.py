"""The report runner, end to end on toy notebooks: ``python -m analysis report``.

The toy notebooks (tests/fixtures/notebooks) succeed and write an artifact,
raise, sleep, kill their own kernel, or draw a figure. Runs use two workers.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest

import analysis.cli
from analysis.reports.runner import OK, Job, JobResult, RunSettings, run_jobs

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"

pytestmark = pytest.mark.notebook


def run_cli(*argv) -> tuple[int, str, str]:
    """``python -m analysis ARGV`` in this process, on the toy notebooks: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analysis.cli, "COMMAND_MODULES", ("report",))  # only the commands under test
        patch.setenv("ANALYSIS_NOTEBOOKS_DIR", str(FIXTURES))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = analysis.cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


SCRIPT_MESSAGE = "<script>alert('x')</script> thiếu số liệu"

MIXED_SCHEDULE = f"""
timeout: {{cell: 3, job: 120}}
jobs:
  - notebook: greeting
    grid: {{name: [Kon Rẫy, ../../etc/passwd]}}
  - notebook: fails
    parameters: {{message: "{SCRIPT_MESSAGE}"}}
  - notebook: sleeps
  - notebook: crashes
"""


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """One run of five jobs: two succeed, one raises, one hangs past the cell limit, one kills its kernel."""
    folder = tmp_path_factory.mktemp("mixed")
    schedule = write(folder / "mixed.yml", MIXED_SCHEDULE)
    out_dir = folder / "reports"
    started = time.monotonic()
    code, stdout, stderr = run_cli("report", schedule, "--out", out_dir, "--jobs", "2")
    elapsed = time.monotonic() - started
    index = json.loads((out_dir / "index.json").read_text(encoding="utf-8"))
    jobs = {job["name"]: job for job in index["jobs"]}
    return {
        "code": code,
        "stdout": stdout,
        "stderr": stderr,
        "out": out_dir,
        "index": index,
        "jobs": jobs,
        "elapsed": elapsed,
    }


def test_successful_job_writes_report_notebook_and_artifact(mixed_run):
    out, job = mixed_run["out"], mixed_run["jobs"]["greeting__name-kon-ray"]
    assert job["status"] == "ok" and job["error"] == ""
    assert job["outputs"] == {
        "artifact": "greeting/greeting__name-kon-ray.json",
        "html": "greeting/greeting__name-kon-ray.html",
        "notebook": "greeting/greeting__name-kon-ray.ipynb",
    }
    artifact = json.loads((out / job["outputs"]["artifact"]).read_text(encoding="utf-8"))
    provenance = artifact.pop("provenance")  # added by the runner: the toy notebook records none
    assert artifact == {"name": "Kon Rẫy", "greeting": "xin chào, Kon Rẫy! "}
    assert provenance["schedule"]["file"].endswith("mixed.yml") and provenance["data"] is None
    page = (out / job["outputs"]["html"]).read_text(encoding="utf-8")
    assert "xin chào, Kon Rẫy!" in page
    assert "Path(output_json)" not in page  # code hidden
    assert "<script" not in page and not re.search(r'(src|href)="https?:', page)  # one self-contained file


def test_no_staging_folder_or_partial_file_is_left(mixed_run):
    leftovers = [p for p in mixed_run["out"].rglob("*") if p.name.startswith(".tmp-") or ".tmp" in p.suffixes]
    assert leftovers == []


def test_path_like_parameter_cannot_leave_the_output_folder(mixed_run):
    out, job = mixed_run["out"], mixed_run["jobs"]["greeting__name-etc-passwd"]
    assert job["status"] == "ok"
    artifact = (out / job["outputs"]["artifact"]).resolve()
    assert artifact.parent == (out / "greeting").resolve()
    assert json.loads(artifact.read_text(encoding="utf-8"))["name"] == "../../etc/passwd"


def test_failing_job_is_kept_and_reported_while_the_others_finish(mixed_run):
    out = mixed_run["out"]
    assert mixed_run["code"] == 1
    assert mixed_run["index"]["counts"] == {"ok": 2, "failed": 3}
    (name,) = [n for n in mixed_run["jobs"] if n.startswith("fails__")]
    job = mixed_run["jobs"][name]
    assert (job["status"], job["reason"]) == ("failed", "error")
    assert job["error"] == f"ValueError: {SCRIPT_MESSAGE} (at In [4])"  # In [2] is the injected parameters
    assert job["outputs"] == {"html": f"fails/{name}.failed.html", "notebook": f"fails/{name}.failed.ipynb"}
    kept = nbformat.read(out / job["outputs"]["notebook"], as_version=4)
    assert kept.metadata.papermill.exception is True
    assert not (out / "fails" / f"{name}.html").exists()
    assert f"  failed: {name}: error: ValueError: {SCRIPT_MESSAGE} (at In [4])" in mixed_run["stdout"]


def test_cell_timeout_stops_a_hanging_job(mixed_run):
    job = mixed_run["jobs"]["sleeps"]
    assert (job["status"], job["reason"]) == ("failed", "cell timeout")
    assert job["error"] == "a cell ran longer than the cell limit of 3 s"
    assert 3 <= job["duration"] < 20
    assert (mixed_run["out"] / "sleeps" / "sleeps.failed.ipynb").is_file()


def test_crashing_kernel_is_reported_as_failed(mixed_run):
    job = mixed_run["jobs"]["crashes"]
    assert (job["status"], job["reason"]) == ("failed", "kernel died")
    assert "the kernel died while running the notebook" in job["error"]


def test_plain_progress_lines_and_summary_when_not_on_a_terminal(mixed_run):
    lines = [line for line in mixed_run["stderr"].splitlines() if re.search(r"\[\d/5\] (ok|failed) ", line)]
    assert len(lines) == 5
    assert any(re.search(r"\] failed .* crashes: kernel died: ", line) for line in lines)
    stdout = mixed_run["stdout"]
    assert "5 jobs: 2 ok, 3 failed" in stdout
    assert f"index: {(mixed_run['out'] / 'index.html').resolve().as_uri()}" in stdout


def test_index_shows_markup_from_parameters_and_errors_as_text(mixed_run):
    page = (mixed_run["out"] / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; thiếu số liệu" in page


def test_index_links_only_files_that_exist(mixed_run):
    out = mixed_run["out"]
    page = (out / "index.html").read_text(encoding="utf-8")
    links = [href for href in re.findall(r'href="([^"]+)"', page) if not href.startswith("#")]
    assert len(links) >= 2 * 3 + 3 * 2 + 1  # ok jobs: html, notebook, json; failed: html, notebook; index.json
    assert [href for href in links if not (out / href).is_file()] == []


def test_jobs_ran_in_parallel(mixed_run):
    durations = sum(job["duration"] for job in mixed_run["index"]["jobs"])
    assert mixed_run["index"]["run"]["workers"] == 2
    assert mixed_run["index"]["run"]["duration"] < durations + 10
    pids = {job["pid"] for job in mixed_run["index"]["jobs"]}
    assert len(pids) == 2 and os.getpid() not in pids


def test_job_wall_clock_limit_stops_a_job_and_the_others_finish(tmp_path):
    schedule = write(
        tmp_path / "s.yml",
        "timeout: {cell: 60, job: 600}\njobs:\n"
        "  - notebook: sleeps\n    parameters: {seconds: 40}\n"
        "  - notebook: greeting\n"
        "  - notebook: greeting\n    parameters: {name: Sa Thầy}\n",
    )  # warm: 3 jobs
    code, stdout, _ = run_cli("report", schedule, "--out", tmp_path / "out", "--jobs", "2", "--job-timeout", "3")
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    jobs = {j["name"]: j for j in index["jobs"]}
    assert code == 1
    assert index["run"]["limits"] == "cell 60 s, job 3 s"  # the command line overrides the schedule
    sleeps = jobs["sleeps__seconds-40"]
    assert (sleeps["status"], sleeps["reason"]) == ("failed", "job timeout")
    assert sleeps["error"] == "stopped: the job ran longer than its limit of 3 s"
    assert sleeps["duration"] < 15
    assert jobs["greeting"]["status"] == jobs["greeting__name-sa-thay"]["status"] == "ok"


def _hang_or_finish(job: Job, settings: RunSettings) -> JobResult:
    """A task for the local pool: hangs in the worker itself for job 'stuck', else returns at once."""
    time.sleep(3600 if job.notebook == "stuck" else 0.2)
    return JobResult(name=job.name, notebook=job.notebook, parameters=job.parameters, status=OK, pid=os.getpid())


def test_unresponsive_worker_is_killed_and_a_fresh_pool_runs_the_rest(tmp_path):
    jobs = [Job(nb, {}, nb, "") for nb in ("stuck", "a", "b")]
    settings = RunSettings(out_dir=str(tmp_path), job_timeout=1, kill_grace=5)
    started = time.monotonic()
    results = run_jobs(jobs, settings, workers=1, task=_hang_or_finish)  # 'a' and 'b' wait behind 'stuck'
    assert time.monotonic() - started < 40
    assert [r.status for r in results] == ["failed", "ok", "ok"]
    assert (results[0].reason, results[0].error) == (
        "job timeout",
        "stopped: the job ran longer than its limit of 1 s and its worker did not respond",
    )
    assert results[1].pid == results[2].pid != results[0].pid == 0


def test_dry_run_lists_the_jobs_and_runs_nothing(tmp_path):
    schedule = write(
        tmp_path / "s.yml",
        "jobs:\n  - notebook: greeting\n    grid: {name: [Đắk Hà, Sa Thầy]}\n  - notebook: crashes\n",
    )
    code, stdout, _ = run_cli("report", schedule, "--out", tmp_path / "out", "--jobs", "2", "--dry-run")
    assert code == 0
    assert stdout.splitlines() == [
        f"3 jobs from {schedule} (limits: cell 300 s, job 900 s; warm kernels), outputs in {tmp_path / 'out'}:",
        "  greeting/greeting__name-dak-ha.html  <-  greeting name='Đắk Hà'",
        "  greeting/greeting__name-sa-thay.html  <-  greeting name='Sa Thầy'",
        "  crashes/crashes.html  <-  crashes",
    ]
    assert not (tmp_path / "out").exists()


def test_dry_run_says_cold_kernels_when_the_environment_asks_for_them(tmp_path, monkeypatch):
    schedule = write(tmp_path / "s.yml", "jobs:\n  - notebook: greeting\n    grid: {times: [1, 2, 3]}\n")
    monkeypatch.setenv("ANALYSIS_KERNELS", "cold")
    code, stdout, _ = run_cli("report", schedule, "--out", tmp_path / "out", "--jobs", "2", "--dry-run")
    assert code == 0 and "(limits: cell 300 s, job 900 s; cold kernels)" in stdout.splitlines()[0]


def test_unknown_kernel_mode_exits_2_before_anything_runs(tmp_path, monkeypatch):
    schedule = write(tmp_path / "s.yml", "jobs:\n  - notebook: greeting\n")
    monkeypatch.setenv("ANALYSIS_KERNELS", "lukewarm")
    code, stdout, stderr = run_cli("report", schedule, "--out", tmp_path / "out")
    assert (code, stdout) == (2, "")
    assert stderr.splitlines() == ["error: ANALYSIS_KERNELS='lukewarm': use 'warm' or 'cold'"]
    assert not (tmp_path / "out").exists()


def test_bad_schedule_exits_2_before_anything_runs(tmp_path):
    schedule = write(
        tmp_path / "s.yml", "jobs:\n  - notebook: greeting\n    parameters: {nme: x}\n  - notebook: figur\n"
    )
    code, stdout, stderr = run_cli("report", schedule, "--out", tmp_path / "out")
    assert code == 2 and stdout == ""
    assert stderr.splitlines() == [
        f"error: {schedule}: 2 problems:",
        "  job 1 (greeting): unknown parameter 'nme' (did you mean 'name'?); declared: name, times",
        "  job 2: unknown notebook 'figur' (did you mean 'figure'?); "
        "available: crashes, fails, figure, greeting, sleeps",
    ]
    assert not (tmp_path / "out").exists()


def test_python_tag_in_schedule_exits_2(tmp_path):
    schedule = write(tmp_path / "s.yml", "jobs:\n  - !!python/object:os.system {}\n")
    code, _, stderr = run_cli("report", schedule, "--out", tmp_path / "out")
    assert code == 2
    assert "YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed" in stderr


def test_bad_arguments_exit_2(tmp_path):
    schedule = write(tmp_path / "s.yml", "jobs:\n  - notebook: greeting\n")
    assert run_cli("report", schedule, "--jobs", "0")[0] == 2
    code, _, stderr = run_cli("report", schedule, "--executor", "dask")
    assert code == 2 and "the dask executor needs --scheduler ADDRESS" in stderr
    with pytest.raises(SystemExit) as caught, contextlib.redirect_stderr(io.StringIO()):
        run_cli("report", schedule, "--executor", "spark")
    assert caught.value.code == 2


def test_check_notebooks_fails_on_stored_outputs_or_missing_parameters(tmp_path):
    assert run_cli("check-notebooks", FIXTURES)[0] == 0
    notebook = nbformat.read(FIXTURES / "greeting.ipynb", as_version=4)
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", text="xin chào\n")]
    nbformat.write(notebook, tmp_path / "with_outputs.ipynb")
    notebook = nbformat.read(FIXTURES / "fails.ipynb", as_version=4)
    notebook.cells[1].metadata["tags"] = []
    nbformat.write(notebook, tmp_path / "no_parameters.ipynb")
    code, stdout, _ = run_cli("check-notebooks", tmp_path)
    assert code == 1
    assert stdout.splitlines() == [
        "no_parameters.ipynb: no cell tagged 'parameters'",
        "with_outputs.ipynb: stored with outputs or execution counts in cell(s) 3; clear them: "
        f"jupyter nbconvert --clear-output --inplace {tmp_path / 'with_outputs.ipynb'}",
    ]


def test_dask_executor_runs_the_jobs_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    schedule = write(
        tmp_path / "s.yml", "jobs:\n  - notebook: greeting\n    grid: {name: [Kon Rẫy, Đắk Hà]}\n  - notebook: fails\n"
    )
    with distributed.LocalCluster(
        processes=True, n_workers=1, threads_per_worker=2, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster.scheduler_address) as client:
            worker_pids = set(client.run(os.getpid).values())
        code, stdout, _ = run_cli(
            "report",
            schedule,
            "--out",
            tmp_path / "out",
            "--executor",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
        )
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert code == 1
    assert (index["run"]["executor"], index["run"]["workers"]) == ("dask", 2)
    assert [(j["name"], j["status"]) for j in index["jobs"]] == [
        ("greeting__name-kon-ray", "ok"),
        ("greeting__name-dak-ha", "ok"),
        ("fails", "failed"),
    ]
    assert {j["pid"] for j in index["jobs"]} <= worker_pids
    artifact = json.loads((tmp_path / "out" / "greeting" / "greeting__name-dak-ha.json").read_text())
    assert artifact["name"] == "Đắk Hà"


def test_index_follows_each_finished_job_and_marks_the_rest_interrupted_on_ctrl_c(tmp_path, monkeypatch):
    import analysis.reports.run
    from analysis.reports.schedule import Schedule

    jobs = tuple(Job("toy", {"mode": mode}, f"toy__mode-{mode}", "") for mode in ("a", "b", "c"))
    (tmp_path / "toy").mkdir()
    seen = {}

    def run_two_then_ctrl_c(jobs, settings, *, workers, on_result):
        for job in jobs[:2]:
            (tmp_path / "toy" / f"{job.name}.html").write_text("<html></html>")
            on_result(
                JobResult(
                    name=job.name,
                    notebook="toy",
                    parameters=job.parameters,
                    status=OK,
                    outputs={"html": f"toy/{job.name}.html"},
                )
            )
            seen[job.name] = json.loads((tmp_path / "index.json").read_text(encoding="utf-8"))
        raise KeyboardInterrupt

    monkeypatch.setattr(analysis.reports.run, "ensure_kernel", lambda name: None)
    monkeypatch.setattr(analysis.reports.run, "run_jobs", run_two_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        analysis.reports.run.run_schedule(Schedule("s.yml", jobs, 30, 60), out_dir=tmp_path, workers=2)

    after_a = seen["toy__mode-a"]
    assert [j["status"] for j in after_a["jobs"]] == ["ok", "pending", "pending"]
    assert (after_a["counts"], after_a["run"]["finished"]) == ({"ok": 1, "failed": 0, "pending": 2}, "")
    index = json.loads((tmp_path / "index.json").read_text(encoding="utf-8"))
    assert [(j["status"], j["outputs"], j["error"]) for j in index["jobs"]] == [
        ("ok", {"html": "toy/toy__mode-a.html"}, ""),
        ("ok", {"html": "toy/toy__mode-b.html"}, ""),
        ("interrupted", {}, "the run stopped before this job finished"),
    ]
    assert index["counts"] == {"ok": 2, "failed": 0, "interrupted": 1} and index["run"]["finished"]
    assert index["jobs"][2]["duration"] is None  # it did not run to the end: no duration to report
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'href="([^"#]+)"', page) == ["toy/toy__mode-a.html", "toy/toy__mode-b.html", "index.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "index.html", "index.json", "toy"]
