"""Executing report jobs: one notebook run per job, in parallel worker processes.

A :class:`Job` is one notebook with one set of parameters and a deterministic
output name (see :mod:`analysis.reports.schedule`). :func:`execute_job` runs it in
the calling process through papermill and nbconvert and returns a
:class:`JobResult`; :func:`run_jobs` spreads jobs over worker processes
(or over any ``concurrent.futures`` executor, such as a Dask client's) and
collects the results. What a job guarantees:

* the notebook runs in a kernel of the kernelspec given (never the one
  stored in the notebook), over IPC sockets on POSIX (no TCP port races when
  several kernels start at once), with the notebook's folder as working
  directory and matplotlib's inline backend (figures embedded as PNG);
* with warm kernels (the default for the local pool), each worker keeps one
  kernel that imported the heavy modules once (:data:`WARM_IMPORTS`) and
  runs job after job in it, each in a fresh namespace with the shared module
  state put back (:class:`KernelBaseline`); a kernel whose job failed, timed
  out or died, or that ran ``kernel_jobs`` jobs, is shut down and the next
  job gets a new one. Cold kernels (one fresh kernel per job) are used with
  an external executor, when no worker would run a second job, or when
  ``warm_kernels`` is off;
* each cell has a time limit, kernel start has one, and the whole job has a
  wall-clock limit enforced by a watchdog thread that kills the kernel's
  process group; the parent process kills and replaces the worker itself if
  even that does not end the job;
* outputs are written under temporary names in a hidden staging folder and
  moved into place with ``os.replace`` only when complete:
  ``<out>/<notebook>/<name>.ipynb``, ``<name>.html`` (code hidden, figures
  inline, no script from the network) and ``<name>.json`` (the artifact,
  when the notebook declares ``output_json``);
* a failed job keeps its executed notebook as ``<name>.failed.ipynb`` (and
  ``<name>.failed.html`` when it converts; ``<name>.failed.log``, the
  kernel's own output, when the kernel died) for debugging; any error,
  time-out or dead kernel is caught and reported, never raised, so one job
  cannot stop the others.

Examples:
    >>> job = Job("toy", {"name": "Kon Rẫy"}, "toy__name-kon-ray", "/nb/toy.ipynb")
    >>> job.describe()
    "toy name='Kon Rẫy'"
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import dataclasses
import functools
import json
import logging
import math
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from analysis.data.storage import output_folder, replace_files
from analysis.reports.kernels import (
    HISTORY_IN_MEMORY,
    KERNEL_JOBS,
    KERNEL_NAME,
    WARM_IMPORTS,
    ensure_kernel,
    kernel_keeper,
    kernel_manager_class,
    warm_kernels_by_default,
    watchdog,
)
from analysis.reports.provenance import describe, footer_html, stamp_artifact

log = logging.getLogger(__name__)

#: Seconds the parent waits beyond a job's wall-clock limit before it kills
#: the worker process (the watchdog inside the worker normally ends the job first).
KILL_GRACE = 30.0

STAGING_PREFIX = ".tmp-"


OK = "ok"
FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """One notebook run.

    Args:
        notebook: Notebook name without ``.ipynb`` (also the output subfolder).
        parameters: The values to inject (JSON types only).
        name: Deterministic ASCII output name, unique within a run.
        input_path: Absolute path of the notebook to execute.
        writes_json: Whether the notebook declares ``output_json``; if so the
            runner passes a path and the job fails when nothing is written there.
    """

    notebook: str
    parameters: dict
    name: str
    input_path: str
    writes_json: bool = False

    def describe(self) -> str:
        """The notebook and its parameters, for log lines and listings."""
        params = " ".join(f"{k}={v!r}" for k, v in sorted(self.parameters.items()))
        return f"{self.notebook} {params}".strip()


@dataclass(frozen=True)
class RunSettings:
    """Where and how jobs run.

    Args:
        out_dir: Absolute output folder (must be shared with remote workers).
        kernel_name: The kernelspec to execute every notebook with.
        cell_timeout: Seconds one cell may run.
        job_timeout: Seconds a whole job may run (kernel start to HTML; with a
            warm kernel, from the moment the job has its kernel).
        start_timeout: Seconds a kernel may take to start (a warm kernel:
            including its imports), and the reset before a job may take.
        kill_grace: Seconds beyond ``job_timeout`` after which the parent
            gives up on a worker and kills it.
        socket_dir: Folder for the kernels' IPC sockets, connection files
            and (warm kernels) logs; :func:`run_jobs` makes one per run and
            removes it, so even killed kernels leave no file behind. Where
            it does not exist (a remote worker), the system's temporary
            folder is used.
        warm_kernels: Reuse one kernel per worker from job to job (see
            :class:`KernelBaseline` for what is reset between jobs);
            default on, unless the environment variable
            ``ANALYSIS_KERNELS`` is ``cold``. :func:`run_jobs` turns it off
            for an external executor.
        kernel_jobs: Jobs a warm kernel runs before it is replaced.
        warm_imports: Modules a warm kernel imports before its first job.
        schedule: The schedule run (:func:`analysis.reports.provenance.schedule_record`),
            added to each artifact's provenance and report footer.
    """

    out_dir: str
    kernel_name: str = KERNEL_NAME
    cell_timeout: float = 300.0
    job_timeout: float = 900.0
    start_timeout: float = 60.0
    kill_grace: float = KILL_GRACE
    socket_dir: str = ""
    warm_kernels: bool = field(default_factory=warm_kernels_by_default)
    kernel_jobs: int = KERNEL_JOBS
    warm_imports: tuple[str, ...] = WARM_IMPORTS
    schedule: dict | None = None


@dataclass
class JobResult:
    """What happened to one job.

    ``status`` is ``ok`` or ``failed``; ``reason`` says how a job failed
    (``error``, ``cell timeout``, ``job timeout``, ``kernel died``,
    ``no artifact``, ``worker lost``); ``error`` is one readable line;
    ``outputs`` maps ``html``/``notebook``/``artifact``/``log`` to paths
    relative to the output folder (failed jobs: the ``.failed.`` files);
    ``data`` is the provenance of the raw tables the report used (its
    artifact's ``provenance.data``), empty when unknown.
    """

    name: str
    notebook: str
    parameters: dict
    status: str
    reason: str = ""
    error: str = ""
    started: str = ""
    finished: str = ""
    duration: float = 0.0
    outputs: dict = field(default_factory=dict)
    host: str = ""
    pid: int = 0
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The result as plain JSON types."""
        return asdict(self)


def timestamp() -> str:
    """The current local time, ISO 8601 to the second, with its UTC offset."""
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------- one job


#: The report template: JupyterLab's, without the require.js, MathJax and
#: Mermaid scripts it would fetch from a CDN, so a report is one
#: self-contained file that opens offline; the provenance footer (``resources["footer"]``) ends the body.
_REPORT_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block body_footer -%}{{ resources.get("footer", "") }}{{ super() }}{%- endblock body_footer -%}
"""


#: Cells with this tag (notes for the reader of the notebook itself) are left out of the HTML report.
NOTEBOOK_ONLY_TAG = "notebook-only"


@functools.lru_cache(maxsize=2)
def html_exporter(show_code: bool = False):
    """The nbconvert exporter for reports: code cells hidden (unless ``show_code``), outputs kept,
    cells tagged :data:`NOTEBOOK_ONLY_TAG` left out.

    Built once per process (loading the templates is the slow part).
    """
    import jinja2
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    return HTMLExporter(
        exclude_input=not show_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        extra_loaders=[jinja2.DictLoader({"report.html.j2": _REPORT_TEMPLATE})],
        template_file="report.html.j2",
        config=Config({"TagRemovePreprocessor": {"remove_cell_tags": {NOTEBOOK_ONLY_TAG}}}),
    )


def write_html(notebook_path: Path, html_path: Path, footer: str = "") -> None:
    """Convert an executed notebook to a report page (code hidden, unless the notebook's metadata
    sets ``grassroots.show_code``, as a walk-through of the API does), written atomically.

    Args:
        notebook_path: The executed ``.ipynb``.
        html_path: Where to write the HTML (replaced only once the new page is
            complete on disk: a full disk leaves no cut-off page under this name).
        footer: HTML put at the end of the page (the provenance footer).

    Raises:
        OSError: The page could not be written (nothing is left under ``html_path``'s temporary name).
    """
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    show_code = bool(notebook.metadata.get("grassroots", {}).get("show_code", False))
    body, _ = html_exporter(show_code).from_notebook_node(notebook, resources={"footer": footer})
    replace_files({html_path.name: body.encode("utf-8")}, html_path.parent)


def prepare_worker() -> None:
    """Import papermill and nbconvert and load the report template (a worker's warm-up)."""
    import papermill  # noqa: F401  (the import is the point: it takes seconds)

    html_exporter()


def _init_worker(parent_pid: int | None = None) -> None:
    """Initialise a local pool worker: die with the parent, silence papermill's log, skip a slow import.

    The worker dies with the process that started it, even when that one is
    killed with SIGKILL and cleans nothing up: on Linux the kernel sends it
    SIGKILL (``prctl(PR_SET_PDEATHSIG)``), elsewhere a watchdog thread
    notices the new parent within a second. Its kernels then notice that
    their parent is gone (ipykernel's parent poller, ``JPY_PARENT_PID``)
    and exit too, so no process of a killed run finishes a job after its
    lock was released. ``parent_pid`` is the pid of the process that made the
    pool (default: this process's parent as it is now).

    Every failure reaches the parent in the job's result; papermill's and
    nbclient's own log lines would only repeat it between progress lines.

    jsonschema (under nbformat, under papermill and nbconvert) imports
    ``rfc3987_syntax`` when it is installed, which builds a parser at import
    time: 1.5-2.5 s of CPU per worker. It serves only jsonschema's optional
    "iri" format checks, and nothing in a worker checks formats (nbformat
    validates notebooks without a format checker), so the worker does
    without it: jsonschema then simply does not check that format.
    """
    _die_with(os.getppid() if parent_pid is None else parent_pid)
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    sys.modules.setdefault("rfc3987_syntax", None)  # None in sys.modules: the import raises ImportError


_PR_SET_PDEATHSIG = 1


def _die_with(parent_pid: int) -> None:
    """End this process when ``parent_pid`` is no longer its parent (see :func:`_init_worker`)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:

        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="parent watchdog", daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the signal was asked for
        os._exit(1)


def _describe_error(err: BaseException, settings: RunSettings, timed_out: bool) -> tuple[str, str]:
    """(reason, one-line error) for an exception raised by a notebook run."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if timed_out:
        return "job timeout", f"stopped: the job ran longer than its limit of {settings.job_timeout:g} s"
    if isinstance(err, PapermillExecutionError):
        message = f"{err.ename}: {err.evalue}".strip().splitlines()[0] if err.evalue else err.ename
        return "error", f"{message} (at In [{err.exec_count}])"
    if isinstance(err, CellTimeoutError):
        return "cell timeout", f"a cell ran longer than the cell limit of {settings.cell_timeout:g} s"
    if isinstance(err, DeadKernelError):
        return "kernel died", "the kernel died while running the notebook (crash, os._exit or out of memory)"
    if isinstance(err, OSError) and err.strerror:  # a full disk, a file-size limit: the outputs could not be written
        return "error", f"cannot write {err.filename or 'a file'}: {err.strerror}"
    if isinstance(err, RuntimeError) and "kernel died" in str(err).lower():
        return "kernel died", f"the kernel died before it was ready ({err}); see its log"
    text = str(err).strip().splitlines()
    return "error", f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def execute_job(job: Job, settings: RunSettings) -> JobResult:
    """Run one notebook job in this process and put its outputs in place.

    Never raises for a problem of the job itself: errors, time-outs and dead
    kernels become a ``failed`` result.

    Args:
        job: The job.
        settings: Output folder, kernel and time limits.

    Returns:
        The job's result, with output paths relative to ``settings.out_dir``.
    """
    import papermill

    ensure_kernel(settings.kernel_name)
    started, clock = timestamp(), time.monotonic()
    out_dir = Path(settings.out_dir)
    folder = output_folder(out_dir / job.notebook)  # a link planted there is refused, never followed
    staging = folder / f"{STAGING_PREFIX}{job.name}"
    remove_staging(staging)
    staging.mkdir()
    executed, html, artifact, kernel_log = (
        staging / f"{job.name}{ext}" for ext in (".ipynb", ".html", ".json", ".log")
    )
    parameters = dict(job.parameters)
    if job.writes_json:
        parameters["output_json"] = str(artifact)

    managers: list = []
    done, fired = threading.Event(), threading.Event()
    keeper = kernel_keeper() if settings.warm_kernels else None
    run = functools.partial(
        papermill.execute_notebook,
        job.input_path,
        str(executed),
        parameters=parameters,
        kernel_name=settings.kernel_name,
        execution_timeout=settings.cell_timeout,
        start_timeout=settings.start_timeout,
        report_mode=True,
        progress_bar=False,
        log_output=False,
        extra_arguments=[HISTORY_IN_MEMORY],
    )
    reason = error = ""
    provenance: dict = {}
    try:
        # a warm kernel's start and imports serve many jobs: the start limit bounds them, not this job's limit
        kernel = keeper.acquire(job, settings, managers) if keeper is not None else None
        threading.Thread(
            target=watchdog,
            args=(settings.job_timeout, managers, done, fired),
            name=f"watchdog {job.name}",
            daemon=True,
        ).start()
        if kernel is not None:
            run(km=kernel.manager)  # nbclient leaves a kernel it was given running
        else:
            with open(kernel_log, "wb") as kernel_output:
                run(
                    shutdown_kernel="immediate",  # outputs are in: a graceful shutdown only costs ~1 s
                    kernel_manager_class=kernel_manager_class(
                        managers, str(Path(job.input_path).parent), kernel_output, settings.socket_dir
                    ),
                )
        if job.writes_json and not artifact.exists():
            reason, error = "no artifact", "the notebook declares output_json but wrote no file there"
        elif job.writes_json and not _complete(artifact):
            reason, error = "no artifact", "the file the notebook wrote to output_json is not complete JSON"
        else:
            provenance = (
                stamp_artifact(artifact, settings.schedule) if job.writes_json else describe(schedule=settings.schedule)
            )
            write_html(executed, html, footer=footer_html(provenance))
    except Exception as err:  # any problem of the job is reported, not raised
        reason, error = _describe_error(err, settings, fired.is_set())
    except BaseException:  # Ctrl-C in the worker: the kernel may be in the middle of a cell
        reason = "interrupted"
        raise
    finally:
        done.set()
        if keeper is not None:  # a kernel that failed a job, or died, is not reused
            keeper.release(
                keep=not reason, max_jobs=settings.kernel_jobs, log_to=kernel_log if reason == "kernel died" else None
            )
    outputs = _put_in_place(job, staging, folder, failed=bool(reason), keep_log=reason == "kernel died")
    return JobResult(
        name=job.name,
        notebook=job.notebook,
        parameters=job.parameters,
        status=FAILED if reason else OK,
        reason=reason,
        error=error,
        started=started,
        finished=timestamp(),
        duration=round(time.monotonic() - clock, 3),
        outputs={kind: path.relative_to(out_dir).as_posix() for kind, path in outputs.items()},
        host=socket.gethostname(),
        pid=os.getpid(),
        data=provenance.get("data") or {},
    )


def _put_in_place(job: Job, staging: Path, folder: Path, failed: bool, keep_log: bool) -> dict[str, Path]:
    """Move a job's staged files to their final names; remove the staging folder.

    A successful job replaces ``<name>.json``, ``.html`` and ``.ipynb`` (in
    that order, the notebook last) and removes stale ``.failed.`` files of
    the same name; a failed job keeps ``<name>.failed.ipynb``, its HTML if
    it converts and, with ``keep_log`` (the kernel died, so the notebook
    cannot show why), the kernel's own output if there is any
    (``<name>.failed.log``); earlier good reports are left alone.
    """
    staged = {
        kind: staging / f"{job.name}{ext}"
        for kind, ext in (("artifact", ".json"), ("html", ".html"), ("notebook", ".ipynb"), ("log", ".log"))
    }
    moved: dict[str, Path] = {}
    if failed:
        if _complete(staged["notebook"]):
            with contextlib.suppress(Exception):  # a notebook may not convert, the disk may be full
                write_html(staged["notebook"], staged["html"])
        for kind in ("html", "notebook", "log") if keep_log else ("html", "notebook"):
            source = staged[kind]
            if source.exists() and source.stat().st_size > 0 and (kind != "notebook" or _complete(source)):
                target = folder / f"{job.name}.failed{source.suffix}"
                os.replace(source, target)
                moved[kind] = target
    else:
        for kind in ("artifact", "html", "notebook"):
            source = staged[kind]
            if source.exists():
                target = folder / source.name
                os.replace(source, target)
                moved[kind] = target
        for ext in (".ipynb", ".html", ".log"):
            (folder / f"{job.name}.failed{ext}").unlink(missing_ok=True)
    remove_staging(staging)
    return moved


def _complete(path: Path) -> bool:
    """Whether a notebook or JSON file is there and complete (it parses); a cut-off file does not."""
    try:
        json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return True


def remove_staging(staging: Path) -> None:
    """Remove a job's staging folder, or a link planted under its name (never what the link points to).

    Args:
        staging: ``<out>/<notebook>/.tmp-<name>``.
    """
    if staging.is_symlink():
        staging.unlink()
    else:
        shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------- many jobs


def _lost_result(job: Job, settings: RunSettings, started: str, clock: float, reason: str, error: str) -> JobResult:
    """The result of a job whose worker did not report back."""
    remove_staging(Path(settings.out_dir) / job.notebook / f"{STAGING_PREFIX}{job.name}")
    return JobResult(
        name=job.name,
        notebook=job.notebook,
        parameters=job.parameters,
        status=FAILED,
        reason=reason,
        error=error,
        started=started,
        finished=timestamp(),
        duration=round(time.monotonic() - clock, 3),
    )


def local_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, reused from job to job.

    A worker imports papermill and nbconvert with its first job and keeps
    them, so the seconds those imports take are paid once per worker; with
    warm kernels it also keeps its kernel (see :class:`KernelKeeper`).
    """
    return cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )


def _kill_pool(pool: cf.ProcessPoolExecutor) -> None:
    """Kill a local pool's worker processes (their kernels notice and exit)."""
    kill = getattr(pool, "kill_workers", None)  # Python 3.14+
    if kill is not None:
        kill()
    else:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def longest_first(jobs: list[Job], out_dir: Path) -> list[int]:
    """The order to hand jobs out: longest first, by their durations in the folder's last ``index.json``.

    Jobs the last run did not record (all of them in a first run) go first, in
    file order. A long job started last would leave the other workers idle at
    the end of the run.

    Examples:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp())
        >>> jobs = [Job("n", {}, name, "n.ipynb") for name in ("a", "b", "c")]
        >>> longest_first(jobs, out)
        [0, 1, 2]
        >>> last_run = '{"jobs": [{"name": "a", "duration": 1}, {"name": "b", "duration": 5}]}'
        >>> _ = (out / "index.json").write_text(last_run)
        >>> longest_first(jobs, out)
        [2, 1, 0]
    """
    try:
        index = json.loads((out_dir / "index.json").read_text(encoding="utf-8"))
        last = {
            job["name"]: float(job["duration"])
            for job in index["jobs"]
            if isinstance(job.get("duration"), (int, float))
        }  # None: the job did not finish
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # no last run, or not an index of this runner
        last = {}
    return sorted(range(len(jobs)), key=lambda i: -last.get(jobs[i].name, math.inf))


def run_jobs(
    jobs, settings: RunSettings, *, workers: int, executor: cf.Executor | None = None, on_result=None, task=execute_job
) -> list[JobResult]:
    """Run jobs in parallel and return their results in the order of ``jobs``.

    At most ``workers`` jobs are submitted at a time, so the parent knows when
    each one started. A job still running ``kill_grace`` seconds after its
    wall-clock limit is declared failed; with the local pool its worker is
    killed and the other jobs that were running are restarted in a fresh
    pool; with an external executor its future is cancelled. Warm kernels
    (``settings.warm_kernels``) are used only with the local pool, whose
    workers end with the run (in an external executor's long-lived workers a
    kept kernel would outlive it), and only when there are more jobs than
    workers (else no kernel would serve a second job, and its imports would
    be wasted on modules the notebook may not need).

    Args:
        jobs: The jobs.
        settings: Output folder, kernel and time limits.
        workers: How many jobs run at once.
        executor: An executor to submit to (for example a Dask client's);
            ``None`` for a local pool of spawned worker processes.
        on_result: Called with each :class:`JobResult` as it arrives.
        task: The function run for each job as ``task(job, settings)``;
            :func:`execute_job` unless an engine or a test needs another.

    Returns:
        One result per job (jobs are handed out in the order of :func:`longest_first`).
    """
    jobs = list(jobs)
    Path(settings.out_dir).mkdir(parents=True, exist_ok=True)
    own_pool = executor is None
    settings = dataclasses.replace(
        settings,
        socket_dir=tempfile.mkdtemp(prefix="grassroots-"),
        warm_kernels=settings.warm_kernels and own_pool and len(jobs) > workers,
    )
    pending = collections.deque(longest_first(jobs, Path(settings.out_dir)))
    results: dict[int, JobResult] = {}
    lost = collections.Counter()
    running: dict[cf.Future, tuple[int, str, float]] = {}
    pool = local_pool(workers) if own_pool else executor

    def finish(index: int, result: JobResult) -> None:
        results[index] = result
        if on_result is not None:
            on_result(result)

    try:
        while pending or running:
            while pending and len(running) < workers:
                index = pending.popleft()
                running[pool.submit(task, jobs[index], settings)] = (index, timestamp(), time.monotonic())
            done, _ = cf.wait(list(running), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            broken = False
            for future in done:
                index, started, clock = running.pop(future)
                try:
                    finish(index, future.result())
                except BrokenProcessPool:  # a worker process died: every job it held is lost
                    broken = True
                    lost[index] += 1
                    if lost[index] < 2:
                        pending.appendleft(index)
                    else:
                        finish(
                            index,
                            _lost_result(
                                jobs[index],
                                settings,
                                started,
                                clock,
                                "worker lost",
                                "the worker process died twice while running this job",
                            ),
                        )
                except Exception as err:  # the job could not even start (or a remote worker was lost)
                    finish(
                        index,
                        _lost_result(
                            jobs[index],
                            settings,
                            started,
                            clock,
                            "error",
                            f"the job could not run: {type(err).__name__}: {err}",
                        ),
                    )
            limit = settings.job_timeout + settings.kill_grace
            overdue = {
                f: running.pop(f) for f, (_, _, clock) in list(running.items()) if time.monotonic() - clock > limit
            }
            if own_pool and (broken or overdue):  # kill before cleaning up after the overdue jobs
                _kill_pool(pool)
                for index, _, _ in running.values():
                    log.warning("restarting %s in a fresh worker", jobs[index].name)
                    pending.appendleft(index)
                running.clear()
                pool = local_pool(workers)
            for future, (index, started, clock) in overdue.items():
                future.cancel()
                finish(
                    index,
                    _lost_result(
                        jobs[index],
                        settings,
                        started,
                        clock,
                        "job timeout",
                        f"stopped: the job ran longer than its limit of {settings.job_timeout:g} s "
                        "and its worker did not respond",
                    ),
                )
    except BaseException:  # Ctrl-C or a bug here: stop the workers, leave no staging folder
        if own_pool:
            _kill_pool(pool)
        for index, _, _ in running.values():
            remove_staging(Path(settings.out_dir) / jobs[index].notebook / f"{STAGING_PREFIX}{jobs[index].name}")
        raise
    finally:
        shutil.rmtree(settings.socket_dir, ignore_errors=True)
    if own_pool:  # every job is done: idle workers need not spend seconds tearing papermill down
        _kill_pool(pool)
    return [results[i] for i in range(len(jobs))]
