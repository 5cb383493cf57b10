"""Commands ``report``, ``kernel`` and ``check-notebooks``.

``python -m analysis report [SCHEDULE]`` runs a report schedule (default
``schedules/default.yml``) and prints where its index is; see
``docs/reports.md``. Exit status: 0 every job succeeded, 1 some failed (they
are listed), 2 the schedule or an argument is wrong (nothing ran), 4 another
run holds the output folder.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from analysis import paths
from analysis.errors import EXIT_OK, EXIT_PARTIAL


def add_parsers(subparsers) -> None:
    """Register ``report``, ``kernel`` and ``check-notebooks``."""
    from analysis.reports.run import EXECUTORS

    report = subparsers.add_parser(
        "report",
        help="run a report schedule: notebooks -> HTML reports and an index",
        description="Run every job of a YAML report schedule in parallel and write reports/index.html. "
        "Each local worker keeps a warm kernel (heavy imports done once) and gives every job a "
        "fresh namespace in it; ANALYSIS_KERNELS=cold starts a fresh kernel for every job instead.",
        epilog="Exit codes: 0 all jobs ok, 1 some jobs failed, 2 bad schedule or arguments, 4 output folder busy.",
    )
    report.add_argument("schedule", nargs="?", type=Path, help="YAML schedule (default: schedules/default.yml)")
    report.add_argument(
        "--jobs",
        "-j",
        type=int,
        metavar="N",
        help="jobs at a time (default: number of cores; with dask: the cluster's threads)",
    )
    report.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: reports/)")
    report.add_argument("--dry-run", action="store_true", help="check the schedule and list the jobs; run nothing")
    report.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local worker processes (default) or an existing Dask cluster",
    )
    report.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    report.add_argument("--cell-timeout", type=float, metavar="S", help="seconds per cell (overrides the schedule)")
    report.add_argument("--job-timeout", type=float, metavar="S", help="seconds per job (overrides the schedule)")
    report.set_defaults(func=run_report)

    kernel = subparsers.add_parser(
        "kernel",
        help="show or install the project's Jupyter kernel",
        description="The 'grassroots' kernelspec runs this environment's Python.",
    )
    kernel.add_argument("--install", action="store_true", help="install (or refresh) it into this environment")
    kernel.set_defaults(func=run_kernel)

    check = subparsers.add_parser(
        "check-notebooks", help="fail if a notebook is stored with outputs or has no 'parameters' cell"
    )
    check.add_argument("folder", nargs="?", type=Path, help="default: notebooks/")
    check.set_defaults(func=run_check_notebooks)


def run_report(args: argparse.Namespace) -> int:
    """``report``: check the schedule, run it (or list it), print the summary."""
    from analysis.reports.run import run_schedule
    from analysis.reports.kernels import warm_kernels_by_default
    from analysis.reports.schedule import load_schedule

    schedule = load_schedule(args.schedule or paths.schedules_dir() / "default.yml")
    out_dir = (args.out or paths.reports_dir()).resolve()
    if args.dry_run:
        # warm kernels as run_jobs decides (a wrong ANALYSIS_KERNELS fails here)
        workers = args.jobs or os.cpu_count() or 1
        warm = warm_kernels_by_default() and args.executor == "local" and len(schedule.jobs) > workers
        kernels = "warm" if warm else "cold"
        print(
            f"{len(schedule.jobs)} jobs from {schedule.source} (limits: cell "
            f"{args.cell_timeout or schedule.cell_timeout:g} s, job {args.job_timeout or schedule.job_timeout:g} s; "
            f"{kernels} kernels), outputs in {out_dir}:"
        )
        for job in schedule.jobs:
            print(f"  {job.notebook}/{job.name}.html  <-  {job.describe()}")
        return EXIT_OK
    progress = _Progress(len(schedule.jobs))
    try:
        summary = run_schedule(
            schedule,
            out_dir=out_dir,
            workers=args.jobs,
            executor=args.executor,
            scheduler=args.scheduler,
            cell_timeout=args.cell_timeout,
            job_timeout=args.job_timeout,
            on_result=progress.update,
        )
    finally:
        progress.close()
    failed = summary.failed
    print(f"{len(summary.results)} jobs: {len(summary.results) - len(failed)} ok, {len(failed)} failed")
    for result in failed:
        print(f"  failed: {result.name}: {result.reason}: {result.error}")
    print(f"index: {summary.index_html.as_uri()}")
    return EXIT_PARTIAL if failed else EXIT_OK


class _Progress:
    """A progress bar on a terminal, one plain line per finished job otherwise."""

    def __init__(self, total: int, stream=None):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.bar = None
        if self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="job", file=self.stream)

    def update(self, result) -> None:
        from analysis.reports.runner import timestamp

        self.done += 1
        detail = f": {result.reason}: {result.error}" if result.status != "ok" else ""
        if self.bar is not None:
            if detail:
                self.bar.write(f"failed {result.name}{detail}", file=self.stream)
            self.bar.update(1)
        else:
            width = len(str(self.total))
            print(
                f"{timestamp()} [{self.done:>{width}}/{self.total}] {result.status:<6} "
                f"{result.duration:7.1f} s  {result.name}{detail}",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_kernel(args: argparse.Namespace) -> int:
    """``kernel``: install the kernelspec, or say whether it is usable."""
    from analysis.reports.kernels import KERNEL_NAME, install_kernel, kernel_interpreter_problem

    if args.install:
        print(f"installed kernel {KERNEL_NAME!r} ({sys.executable}) in {install_kernel()}")
        return EXIT_OK
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        print(f"kernel {KERNEL_NAME!r} is not installed; run: python -m analysis kernel --install")
        return EXIT_PARTIAL
    problem = kernel_interpreter_problem(spec.argv[0])
    print(f"kernel {KERNEL_NAME!r} in {spec.resource_dir} {problem or 'runs this environment'}")
    return EXIT_PARTIAL if problem else EXIT_OK


def run_check_notebooks(args: argparse.Namespace) -> int:
    """``check-notebooks``: list notebooks stored with outputs or without parameters."""
    from analysis.reports.run import check_notebooks

    folder = args.folder or paths.notebooks_dir()
    problems = check_notebooks(folder)
    for problem in problems:
        print(problem)
    if problems:
        return EXIT_PARTIAL
    print(f"{len(list(Path(folder).glob('*.ipynb')))} notebooks in {folder}: stored clean, with parameters")
    return EXIT_OK
