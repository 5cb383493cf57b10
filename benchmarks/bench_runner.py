"""The report runner against the shell loop a user would write, in the same run.

The same notebook and the same parameters, N jobs (12; 4 with ``--quick``):

* runner: ``python -m analysis report SCHEDULE --jobs 2 --out DIR`` (one
  process; parallel workers; papermill and the HTML export in-process),
  once with warm kernels (the default: one kernel per worker, reused from
  job to job) and once with cold kernels (``ANALYSIS_KERNELS=cold``: a
  fresh kernel per job); ``--kernels warm`` or ``cold`` runs only one;
* shell loop, one job after the other, as a user would script it::

      for d in ...; do
        papermill in.ipynb out.ipynb -p district "$d" -k grassroots
        jupyter nbconvert --to html --no-input out.ipynb
      done

The notebook is ``notebooks/district_profile.ipynb`` when it exists and
declares a ``district`` parameter (jobs: the Kon Tum districts, then the
same in Vietnamese when it declares ``lang``), else the toy notebook in
``benchmarks/notebooks/`` (pandas, seaborn, statsmodels and one figure).
All sides run once per round, back to back, so the ratios compare like with
like on a shared machine; the order rotates between rounds.

Per-job overhead of the runner (documented formula)::

    overhead = (runner_wall × workers − Σ job durations) / Σ job durations

where a job's duration is what the runner itself records in ``index.json``
(kernel start, execution and HTML, inside the worker). ``runner_wall ×
workers`` is the worker time the run occupied; what the jobs did not use of
it is the runner's overhead: process start and imports, schedule checks,
starting the worker pool, handing out jobs, the index page, and a worker
idle at the end while the other finishes its last job. Divided by the jobs'
own time, it is the overhead per job as a fraction of a job.

The run's one-off dataset builds count as overhead (issue 15): a warm kernel
builds the dataset in its first job and reuses it afterwards
(``load_dataset`` keeps the last build, keyed by the raw files' SHA-256), so
with warm kernels ``workers × build`` seconds move from the jobs' durations
to the overhead, ``build`` being ``load_dataset()`` timed in a fresh
process of the same run::

    overhead = (runner_wall × workers − (Σ job durations − workers × build))
               / (Σ job durations − workers × build)

The machine's load average (1 min) before and after the sides is reported.

Warm kernels in isolation (a fresh process, with the runner's own classes):
the start of a bare kernel (ready, nothing imported), the start of a warm
kernel (ready, with :data:`analysis.reports.runner.WARM_IMPORTS` imported), its
resident memory when idle (``VmRSS`` in ``/proc/PID/status``) and after
each of five jobs, and the reset that gives each job a fresh namespace.

Run: ``python benchmarks/bench_runner.py [--quick] [--json PATH] [--jobs N] [--workers W] [--kernels warm|cold|both]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import subprocess
import shutil
import sys
import tempfile
import time
from pathlib import Path

from measure import (
    PYTHON,
    REPO,
    add_common_arguments,
    judge,
    median,
    measure_process,
    python_worker,
    row,
    write_rows,
)

HERE = Path(__file__).resolve().parent
TOY = HERE / "notebooks" / "toy_report.ipynb"
REAL = REPO / "notebooks" / "district_profile.ipynb"
KERNEL = "grassroots"
RUNNER = [PYTHON, "-m", "analysis", "report"]
TARGET_RATIO = 10.0
TARGET_OVERHEAD = 0.10
KON_TUM = [
    "Kon Tum",
    "Đắk Glei",
    "Ngọc Hồi",
    "Đắk Tô",
    "Kon Plông",
    "Kon Rẫy",
    "Đắk Hà",
    "Sa Thầy",
    "Tu Mơ Rông",
    "Ia H'Drai",
]


def choose_notebook(n: int, toy: bool = False) -> tuple[Path, list[dict]]:
    """The notebook to run and the parameters of each of the n jobs."""
    declared = {}
    if REAL.exists() and not toy:
        import papermill

        declared = papermill.inspect_notebook(str(REAL))
    if "district" in declared:
        langs = ["en", "vi"] if "lang" in declared else ["en"]
        combos = [{"district": d, **({"lang": lang} if "lang" in declared else {})} for lang in langs for d in KON_TUM]
        if len(combos) >= n:
            return REAL, combos[:n]
    return TOY, [{"district": KON_TUM[k % len(KON_TUM)], "seed": k} for k in range(n)]


def yaml_value(value) -> str:
    """A scalar as YAML (JSON is valid YAML; keeps strings strings)."""
    return json.dumps(value, ensure_ascii=False)


def write_schedule(path: Path, notebook: Path, jobs: list[dict]) -> None:
    """A schedule with one entry per job (explicit parameters, no grid)."""
    lines = ["timeout: {cell: 300, job: 600}", "jobs:"]
    for params in jobs:
        inner = ", ".join(f"{k}: {yaml_value(v)}" for k, v in params.items())
        lines.append(f"  - notebook: {notebook.stem}")
        lines.append(f"    parameters: {{{inner}}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def shell_loop(notebook: Path, jobs: list[dict], out: Path) -> str:
    """The bash loop a user would write: papermill then nbconvert, one job at a time."""
    bin_dir = Path(PYTHON).parent
    lines = ["set -u"]
    for k, params in enumerate(jobs):
        flags = " ".join(f"-p {shlex.quote(name)} {shlex.quote(str(value))}" for name, value in params.items())
        target = out / f"job{k:02d}.ipynb"
        lines.append(
            f"{bin_dir / 'papermill'} {shlex.quote(str(notebook))} {shlex.quote(str(target))} {flags} "
            f"-k {KERNEL} --cwd {shlex.quote(str(notebook.parent))}"
        )
        lines.append(f"{bin_dir / 'jupyter'} nbconvert --to html --no-input {shlex.quote(str(target))}")
    return "\n".join(lines) + "\n"


def job_durations(out: Path) -> tuple[list[float], int]:
    """Durations of the jobs the runner recorded in index.json, and how many failed."""
    jobs = json.loads((out / "index.json").read_text())["jobs"]
    return [float(j["duration"]) for j in jobs], sum(1 for j in jobs if j.get("status") != "ok")


def one_round(notebook: Path, jobs: list[dict], workers: int, tmp: Path, modes: list[str], turn: int) -> dict:
    """The shell loop and the runner in each kernel mode once each, back to back (order rotated by ``turn``)."""
    schedule = tmp / "bench.yml"
    write_schedule(schedule, notebook, jobs)
    shell_out = tmp / "shell"
    shutil.rmtree(shell_out, ignore_errors=True)
    shell_out.mkdir(parents=True)
    script = tmp / "loop.sh"
    script.write_text(shell_loop(notebook, jobs, shell_out))
    env = {"ANALYSIS_NOTEBOOKS_DIR": str(notebook.parent), "MPLBACKEND": "agg"}

    def run_runner(mode: str):
        out = tmp / f"runner-{mode}"
        shutil.rmtree(out, ignore_errors=True)
        measured = measure_process(
            [*RUNNER, str(schedule), "--jobs", str(workers), "--out", str(out)],
            env={**env, "ANALYSIS_KERNELS": mode},
            timeout=900,
        )
        if measured.returncode not in (0, 1):  # 1: finished, some jobs failed (counted below)
            measured.check(f"the report runner ({mode} kernels)")
        return measured, out

    sides = [("shell", lambda: measure_process(["bash", str(script)], env=env, cwd=tmp, timeout=900))]
    sides += [(mode, lambda mode=mode: run_runner(mode)) for mode in modes]
    turn %= len(sides)
    load = [os.getloadavg()[0]]
    build = build_seconds(env)
    done = {name: run() for name, run in sides[turn:] + sides[:turn]}
    load.append(os.getloadavg()[0])
    shell = done["shell"]
    produced = len(list(shell_out.glob("*.html")))
    if produced != len(jobs):
        raise RuntimeError(f"the shell loop wrote {produced} HTML files for {len(jobs)} jobs:\n{shell.stderr[-2000:]}")
    result = {"shell": shell.wall, "shell_rss": shell.peak_rss_mb, "build": build, "load": load}
    for mode in modes:
        runner, out = done[mode]
        durations, failed = job_durations(out)
        jobs_own = sum(durations) - (workers * build if mode == "warm" else 0.0)  # one-off builds are overhead
        result[mode] = {
            "wall": runner.wall,
            "ratio": shell.wall / runner.wall,
            "job": median(durations),
            "first": max(durations[:workers]),
            "overhead": (runner.wall * workers - jobs_own) / jobs_own,
            "idle": runner.wall * workers - jobs_own,
            "failed": failed,
            "rss": runner.peak_rss_mb,
        }
    return result


def build_seconds(env: dict) -> float:
    """``load_dataset()`` of the jobs' data, timed in a fresh process (after the imports)."""
    code = (
        "import time; from analysis.data.dataset import load_dataset; t = time.perf_counter(); load_dataset(); "
        "print(time.perf_counter() - t)"
    )
    done = subprocess.run(
        [PYTHON, "-c", code], cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def vm_rss_mb(pid: int) -> float:
    """Resident memory of a process now (``VmRSS`` in ``/proc/PID/status``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def warm_kernel_costs(notebook: Path, jobs: list[dict], result: Path, starts: int = 3) -> None:
    """Worker step: what a warm kernel costs on its own, written as JSON to ``result``.

    Bare and warm kernel starts (``starts`` each, alternating), then one warm
    kernel runs up to five of the jobs: the reset before each, and the
    kernel's resident memory when idle and after each job.
    """
    import papermill

    from analysis.reports import kernels, runner

    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        settings = runner.RunSettings(out_dir=tmp, socket_dir=tmp)
        bare_settings = dataclasses.replace(settings, warm_imports=())
        runner.ensure_kernel(settings.kernel_name)
        cwd = str(notebook.parent)
        bare, warm = [], []
        for _ in range(starts):
            for chosen, times in ((bare_settings, bare), (settings, warm)):
                kernel = kernels.WarmKernel(cwd, chosen, [])
                clock = time.perf_counter()
                kernel.start()
                times.append(time.perf_counter() - clock)
                kernel.discard()
        kernel = kernels.WarmKernel(cwd, settings, [])
        kernel.start()
        pid = kernel.manager.provisioner.process.pid
        idle, resets, after = vm_rss_mb(pid), [], []
        for k, params in enumerate(jobs[:5]):
            clock = time.perf_counter()
            kernel.reset(cwd)
            resets.append(time.perf_counter() - clock)
            papermill.execute_notebook(
                str(notebook),
                str(Path(tmp) / f"job{k}.ipynb"),
                parameters=params,
                kernel_name=settings.kernel_name,
                km=kernel.manager,
                progress_bar=False,
            )
            kernel.stop_clients()
            after.append(vm_rss_mb(pid))
        kernel.discard()
    result.write_text(json.dumps({"bare": bare, "warm": warm, "idle_mb": idle, "after_mb": after, "resets": resets}))


def isolation_rows(notebook: Path, jobs: list[dict]) -> list[dict]:
    """Rows for the costs of a warm kernel in isolation (measured in a fresh process)."""
    costs, measured = python_worker(
        __file__,
        "--worker",
        "warm-costs",
        "--notebook",
        str(notebook),
        "--params",
        json.dumps(jobs[:5], ensure_ascii=False),
        timeout=400,
        env={"MPLBACKEND": "agg"},
    )
    bare, warm = median(costs["bare"]), median(costs["warm"])
    after = costs["after_mb"]
    return [
        row(
            "warm kernel: start-up (kernel + imports)",
            warm,
            "s",
            len(costs["warm"]),
            None,
            "–",
            "info",
            f"a bare kernel (nothing imported) starts in {bare:.2f} s; the imports of WARM_IMPORTS add "
            f"{warm - bare:.2f} s, paid once per kernel instead of once per job",
        ),
        row(
            "warm kernel: memory when idle (VmRSS)",
            costs["idle_mb"],
            "MB",
            1,
            None,
            "–",
            "info",
            f"one per worker, kept between jobs; after each of {len(after)} jobs: "
            + ", ".join(f"{mb:.0f}" for mb in after)
            + " MB",
        ),
        row(
            "warm kernel: reset before each job",
            1000 * median(costs["resets"]),
            "ms",
            len(costs["resets"]),
            None,
            "–",
            "info",
            f"fresh namespace, rcParams, pandas options, warnings, cwd …; max {1000 * max(costs['resets']):.0f} ms",
        ),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--jobs", type=int, default=None, help="report jobs per side (default 12; 4 with --quick)")
    parser.add_argument("--workers", type=int, default=2, help="runner --jobs (parallel workers)")
    parser.add_argument("--rounds", type=int, default=1, help="runner-vs-loop rounds (the median is reported)")
    parser.add_argument("--toy", action="store_true", help="use the toy notebook even if the real one exists")
    parser.add_argument(
        "--kernels",
        choices=("warm", "cold", "both"),
        default="both",
        help="which runner modes to measure against the loop (default both)",
    )
    parser.add_argument("--notebook", help="internal: the notebook of a worker step")
    parser.add_argument("--params", help="internal: the jobs' parameters of a worker step (JSON)")
    args = parser.parse_args(argv)
    if args.worker == "warm-costs":
        warm_kernel_costs(
            Path(args.notebook), json.loads(args.params), Path(args.result), starts=1 if args.quick else 3
        )
        return 0
    n = args.jobs or (4 if args.quick else 12)
    notebook, jobs = choose_notebook(n, toy=args.toy)
    modes = ["warm", "cold"] if args.kernels == "both" else [args.kernels]
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        rounds = [one_round(notebook, jobs, args.workers, Path(tmp), modes, turn=k) for k in range(args.rounds)]
    where = notebook.relative_to(REPO)
    shell = median(r["shell"] for r in rounds)
    rows = []
    for mode in modes:
        ratio = median(r[mode]["ratio"] for r in rounds)
        overhead = median(r[mode]["overhead"] for r in rounds)
        failed = max(r[mode]["failed"] for r in rounds)
        label = f"{mode} kernels"
        wall = median(r[mode]["wall"] for r in rounds)
        load = rounds[len(rounds) // 2]["load"]
        detail = (
            f"{n} jobs of {where}, runner --jobs {args.workers}: runner {wall:.1f} s, shell loop {shell:.1f} s"
            f"; load average {load[0]:.1f} before, {load[1]:.1f} after ({os.cpu_count()} cores)"
            + (f"; {failed} runner job(s) FAILED" if failed else "")
        )
        rows += [
            row(
                f"report runner ({label}) vs shell loop ({n} jobs, {args.workers} workers)",
                ratio,
                "×",
                len(rounds),
                max(r[mode]["rss"] for r in rounds),
                f"≥ {TARGET_RATIO:g}×",
                judge(ratio, TARGET_RATIO, "higher"),
                detail,
            ),
            row(
                f"report runner ({label}): overhead per job",
                100 * overhead,
                "%",
                len(rounds),
                None,
                f"< {100 * TARGET_OVERHEAD:g}%",
                judge(overhead, TARGET_OVERHEAD, "lower"),
                f"(wall × workers − Σ jobs') / Σ jobs', jobs' = Σ jobs − one-off builds "
                f"({args.workers if mode == 'warm' else 0} × {median(r['build'] for r in rounds):.2f} s): "
                f"{median(r[mode]['idle'] for r in rounds):.1f} s of worker "
                f"time outside jobs; median job {median(r[mode]['job'] for r in rounds):.2f} s, slowest first job "
                f"{median(r[mode]['first'] for r in rounds):.2f} s (index.json); shell loop {shell / n:.2f} s per job",
            ),
        ]
    if "warm" in modes:
        rows += isolation_rows(notebook, jobs)
    write_rows(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
