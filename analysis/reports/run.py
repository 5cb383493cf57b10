"""Scheduled report runs: a checked schedule in, reports and an index out.

:func:`run_schedule` is the one entry point: it loads and checks a schedule
(:mod:`analysis.reports.schedule`), makes sure the project's kernel exists, runs the
jobs in local worker processes or on an existing Dask cluster
(:mod:`analysis.reports.runner`), and writes ``index.html`` and ``index.json``
(:mod:`analysis.reports.index`) into the output folder, which it holds a lock
on while it runs. The index is rewritten (atomically) after every finished
job, so it tells the truth at every moment: a finished job's report replaces
its earlier ``.failed.`` files at once, and the index follows; a job not yet
finished is ``pending`` and links nothing. If the run stops early (Ctrl-C)
the index is written once more with those jobs ``interrupted``.
:func:`check_notebooks` is the lint rule for the stored notebooks (no
outputs, a ``parameters`` cell).

Typical use (what ``python -m analysis report`` does)::

    summary = run_schedule("schedules/default.yml", workers=2)
    summary.failed        # the failed JobResults; summary.index_html is the page

Examples:
    >>> check_notebooks(Path("/nonexistent"))
    []
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from analysis import paths
from analysis.errors import InputError, UsageError
from analysis.reports.kernels import KERNEL_NAME, ensure_kernel
from analysis.reports.provenance import describe, schedule_record
from analysis.reports.runner import (
    FAILED,
    STAGING_PREFIX,
    JobResult,
    RunSettings,
    remove_staging,
    run_jobs,
    timestamp,
)
from analysis.reports.schedule import Schedule, load_schedule, seconds_problem

EXECUTORS = ("local", "dask")

#: Index status of a job not finished yet (while the run goes on, or after a hard kill).
PENDING = "pending"
#: Index status of a job the run stopped before it finished (Ctrl-C, or an error of the run itself).
INTERRUPTED = "interrupted"


@dataclass
class RunSummary:
    """What a run produced: one result per job and the index files."""

    results: list[JobResult]
    index_html: Path
    index_json: Path

    @property
    def failed(self) -> list[JobResult]:
        """The results of the jobs that failed, in schedule order."""
        return [r for r in self.results if r.status == FAILED]


def run_schedule(
    schedule: Schedule | Path | str,
    *,
    out_dir: Path | str | None = None,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    cell_timeout: float | None = None,
    job_timeout: float | None = None,
    kernel_name: str = KERNEL_NAME,
    on_result=None,
) -> RunSummary:
    """Run every job of a schedule and write the index.

    Args:
        schedule: A checked :class:`~analysis.reports.schedule.Schedule` or the path
            of a schedule file (checked before anything runs).
        out_dir: Output folder (default :func:`analysis.paths.reports_dir`).
        workers: Jobs at a time (default: the number of cores; with Dask, the
            cluster's number of worker threads).
        executor: ``local`` (worker processes on this machine) or ``dask``.
        scheduler: The Dask scheduler's address (``tcp://host:8786``), for ``dask``.
        cell_timeout: Seconds per cell, overriding the schedule's.
        job_timeout: Seconds per job, overriding the schedule's.
        kernel_name: The kernelspec every notebook runs with (installed
            into this environment if missing).
        on_result: Called with each :class:`~analysis.reports.runner.JobResult` as it
            arrives (after the index that lists it is written).

    Returns:
        The results and the paths of ``index.html`` and ``index.json``.

    Raises:
        UsageError: A problem with the schedule or the arguments, or ``out_dir`` is
            the raw folder or inside it (nothing ran).
        InputError: The output folder is a file or cannot be written, a
            notebook's folder in it is a symbolic link (nothing ran), or the
            index cannot be written (a full disk: the run stops; the previous
            index is intact).
        BusyError: Another run is writing to the same output folder.
        KeyboardInterrupt: The run was interrupted; the index lists the jobs
            that finished and marks the others ``interrupted``.
    """
    from analysis.data.storage import build_lock, check_not_raw

    if executor not in EXECUTORS:
        raise UsageError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if executor == "dask" and not scheduler:
        raise UsageError("the dask executor needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    if workers is not None and workers < 1:
        raise UsageError(f"--jobs must be at least 1, not {workers}")
    for name, value in (("cell timeout", cell_timeout), ("job timeout", job_timeout)):
        if value is not None and (problem := seconds_problem(value)) is not None:
            raise UsageError(f"the {name} {problem}")
    if not isinstance(schedule, Schedule):
        schedule = load_schedule(schedule)
    out_dir = Path(out_dir or paths.reports_dir())
    check_not_raw(out_dir, paths.raw_dir())
    out_dir = out_dir.resolve()
    for notebook in sorted({job.notebook for job in schedule.jobs}):  # never written through a planted link
        if (out_dir / notebook).is_symlink():
            raise InputError("is a symbolic link; outputs are never written through links", file=out_dir / notebook)
    settings = RunSettings(
        out_dir=str(out_dir),
        kernel_name=kernel_name,
        cell_timeout=cell_timeout or schedule.cell_timeout,
        job_timeout=job_timeout or schedule.job_timeout,
        schedule=schedule_record(schedule.source),
    )
    ensure_kernel(kernel_name)
    with build_lock(out_dir, timeout=5):
        for staging in out_dir.glob(f"*/{STAGING_PREFIX}*"):  # left by a run that was killed (SIGKILL, power loss)
            remove_staging(staging)
        if executor == "local":
            workers = workers or os.cpu_count() or 1
        index = _LiveIndex(
            schedule,
            out_dir,
            {
                "schedule": schedule.source,
                "executor": executor,
                "scheduler": scheduler,
                "workers": workers,
                "kernel": kernel_name,
                "limits": f"cell {settings.cell_timeout:g} s, job {settings.job_timeout:g} s",
                "provenance": describe(schedule=settings.schedule),
            },
        )

        def arrived(result: JobResult) -> None:
            index.add(result)
            if on_result is not None:
                on_result(result)

        try:
            if executor == "dask":
                results, index.run["workers"] = _run_on_dask(schedule, settings, scheduler, workers, arrived)
            else:
                results = run_jobs(schedule.jobs, settings, workers=workers, on_result=arrived)
        except BaseException:  # Ctrl-C (or a failure of the run itself): say which jobs did not finish
            with contextlib.suppress(InputError):  # the disk may be full: the error that stopped the run is told
                index.write(ended=True)
            raise
        index_html, index_json = index.write(ended=True)
    return RunSummary(results=results, index_html=index_html, index_json=index_json)


class _LiveIndex:
    """The index of a run in progress, rewritten as results arrive.

    Args:
        schedule: The jobs, in the order the index lists them.
        out_dir: The output folder.
        run: Facts about the run (``started``, ``finished`` and ``duration``
            are added here).
    """

    def __init__(self, schedule: Schedule, out_dir: Path, run: dict):
        self.jobs, self.out_dir = schedule.jobs, out_dir
        self.run = {**run, "started": timestamp()}
        self.clock = time.monotonic()
        self.results: dict[str, JobResult] = {}

    def add(self, result: JobResult) -> None:
        """Record a finished job and rewrite the index (the others ``pending``)."""
        self.results[result.name] = result
        self.write(ended=False)

    def write(self, ended: bool) -> tuple[Path, Path]:
        """Write ``index.json`` and ``index.html`` atomically: each job's result, if it has one.

        Args:
            ended: Whether the run has ended: its ``finished`` time is set and a
                job without a result is ``interrupted`` (else ``pending``); such
                a job links no file.

        Returns:
            The paths of ``index.html`` and ``index.json``.
        """
        from analysis.reports.index import build_index, write_index

        unfinished = INTERRUPTED if ended else PENDING
        entries = [
            self.results.get(job.name)
            or JobResult(
                name=job.name,
                notebook=job.notebook,
                parameters=job.parameters,
                status=unfinished,
                duration=None,
                error="the run stopped before this job finished" if ended else "",
            )
            for job in self.jobs
        ]
        run = {
            **self.run,
            "finished": timestamp() if ended else "",
            "duration": round(time.monotonic() - self.clock, 3),
        }
        record = build_index(entries, self.out_dir, run)
        left = sum(entry.status == unfinished for entry in entries)
        if left:
            record["counts"][unfinished] = left
        try:
            return write_index(self.out_dir, record)
        except OSError as err:  # the previous index is intact (written atomically) and links only complete files
            raise InputError(f"cannot write the index: {err.strerror or err}", file=self.out_dir) from None


def _run_on_dask(schedule: Schedule, settings: RunSettings, address: str, workers: int | None, on_result):
    """Submit the jobs through a Dask distributed client's executor."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("the dask executor needs the 'distributed' package: pip install 'dask[distributed]'") from None
    from analysis.reports.runner import prepare_worker

    try:
        client = Client(address, timeout=15, set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {err}") from None
    with client:
        threads = sum(client.nthreads().values())
        if not threads:
            raise UsageError(f"the Dask cluster at {address} has no workers")
        client.run(prepare_worker)
        workers = workers or threads
        results = run_jobs(
            schedule.jobs, settings, workers=workers, on_result=on_result, executor=client.get_executor(pure=False)
        )
    return results, workers


def stored_notebook_problems(path: Path | str) -> list[str]:
    """What is wrong with a notebook as stored in git, for ``make lint``.

    A report notebook is stored without outputs or execution counts and has
    a cell tagged ``parameters``.

    Args:
        path: The ``.ipynb`` file.

    Returns:
        One message per problem, each starting with the file name; empty if fine.
    """
    import nbformat

    path = Path(path)
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several unrelated types
        return [f"{path.name}: cannot be read as a notebook ({type(err).__name__}: {err})"]
    problems = []
    if not any("parameters" in cell.get("metadata", {}).get("tags", []) for cell in notebook.cells):
        problems.append(f"{path.name}: no cell tagged 'parameters'")
    stored = [
        str(number)
        for number, cell in enumerate(notebook.cells, start=1)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    if stored:
        problems.append(
            f"{path.name}: stored with outputs or execution counts in cell(s) {', '.join(stored)}; "
            f"clear them: jupyter nbconvert --clear-output --inplace {path}"
        )
    return problems


def check_notebooks(notebooks_dir: Path | str | None = None) -> list[str]:
    """:func:`stored_notebook_problems` for every notebook of a folder.

    Args:
        notebooks_dir: Default :func:`analysis.paths.notebooks_dir`.

    Returns:
        All problems, notebook by notebook (sorted by name).
    """
    folder = Path(notebooks_dir or paths.notebooks_dir())
    return [p for path in sorted(folder.glob("*.ipynb")) for p in stored_notebook_problems(path)]
