"""The report runner against the shell loop a user would write, in the same run.

The same notebook and the same parameters, N jobs (12; 4 with ``--quick``):

* runner: ``python -m analysis report SCHEDULE --jobs 2 --out DIR`` (one
  process; parallel workers; papermill and the HTML export in-process);
* shell loop, one job after the other, as a user would script it::

      for d in ...; do
        papermill in.ipynb out.ipynb -p district "$d" -k grassroots
        jupyter nbconvert --to html --no-input out.ipynb
      done

The notebook is ``notebooks/district_profile.ipynb`` when it exists and
declares a ``district`` parameter (jobs: the Kon Tum districts, then the
same in Vietnamese when it declares ``lang``), else the toy notebook in
``benchmarks/notebooks/`` (pandas, seaborn, statsmodels and one figure).
Both sides run once per benchmark run, back to back, so the ratio compares
like with like on a shared machine; the order alternates between runs.

Per-job overhead of the runner (documented formula)::

    overhead = (runner_wall × workers − Σ job durations) / Σ job durations

where a job's duration is what the runner itself records in ``index.json``
(kernel start, execution and HTML, inside the worker). ``runner_wall ×
workers`` is the worker time the run occupied; what the jobs did not use of
it is the runner's overhead: process start and imports, schedule checks,
starting the worker pool, handing out jobs, the index page, and a worker
idle at the end while the other finishes its last job. Divided by the jobs'
own time, it is the overhead per job as a fraction of a job.

Run: ``python benchmarks/bench_runner.py [--quick] [--json PATH] [--jobs N] [--workers W]``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from measure import PYTHON, REPO, add_common_arguments, judge, median, measure_process, row, write_rows

HERE = Path(__file__).resolve().parent
TOY = HERE / "notebooks" / "toy_report.ipynb"
REAL = REPO / "notebooks" / "district_profile.ipynb"
KERNEL = "grassroots"
RUNNER = [PYTHON, "-m", "analysis", "report"]
TARGET_RATIO = 4.0
TARGET_OVERHEAD = 0.10
KON_TUM = ["Kon Tum", "Đắk Glei", "Ngọc Hồi", "Đắk Tô", "Kon Plông", "Kon Rẫy", "Đắk Hà", "Sa Thầy",
           "Tu Mơ Rông", "Ia H'Drai"]


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
        lines.append(f"{bin_dir / 'papermill'} {shlex.quote(str(notebook))} {shlex.quote(str(target))} {flags} "
                     f"-k {KERNEL} --cwd {shlex.quote(str(notebook.parent))}")
        lines.append(f"{bin_dir / 'jupyter'} nbconvert --to html --no-input {shlex.quote(str(target))}")
    return "\n".join(lines) + "\n"


def job_durations(out: Path) -> tuple[list[float], int]:
    """Durations of the jobs the runner recorded in index.json, and how many failed."""
    jobs = json.loads((out / "index.json").read_text())["jobs"]
    return [float(j["duration"]) for j in jobs], sum(1 for j in jobs if j.get("status") != "ok")


def one_round(notebook: Path, jobs: list[dict], workers: int, tmp: Path, runner_first: bool) -> dict:
    """Runner and shell loop once each, back to back."""
    schedule = tmp / "bench.yml"
    write_schedule(schedule, notebook, jobs)
    runner_out, shell_out = tmp / "runner", tmp / "shell"
    shutil.rmtree(runner_out, ignore_errors=True)
    shutil.rmtree(shell_out, ignore_errors=True)
    shell_out.mkdir(parents=True)
    script = tmp / "loop.sh"
    script.write_text(shell_loop(notebook, jobs, shell_out))
    env = {"ANALYSIS_NOTEBOOKS_DIR": str(notebook.parent), "MPLBACKEND": "agg"}

    def run_runner():
        return measure_process([*RUNNER, str(schedule), "--jobs", str(workers), "--out", str(runner_out)],
                               env=env, timeout=900)

    def run_shell():
        return measure_process(["bash", str(script)], env=env, cwd=tmp, timeout=900)

    if runner_first:
        runner, shell = run_runner(), run_shell()
    else:
        shell, runner = run_shell(), run_runner()
    if runner.returncode not in (0, 1):  # 1: finished, some jobs failed (counted below)
        runner.check("the report runner")
    produced = len(list(shell_out.glob("*.html")))
    if produced != len(jobs):
        raise RuntimeError(f"the shell loop wrote {produced} HTML files for {len(jobs)} jobs:\n{shell.stderr[-2000:]}")
    durations, failed = job_durations(runner_out)
    job = median(durations)
    overhead = (runner.wall * workers - sum(durations)) / sum(durations)
    return {"runner": runner.wall, "shell": shell.wall, "ratio": shell.wall / runner.wall, "job": job,
            "overhead": overhead, "failed": failed, "runner_rss": runner.peak_rss_mb, "shell_rss": shell.peak_rss_mb}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--jobs", type=int, default=None, help="report jobs per side (default 12; 4 with --quick)")
    parser.add_argument("--workers", type=int, default=2, help="runner --jobs (parallel workers)")
    parser.add_argument("--rounds", type=int, default=1, help="runner-vs-loop rounds (the median is reported)")
    parser.add_argument("--toy", action="store_true", help="use the toy notebook even if the real one exists")
    args = parser.parse_args(argv)
    n = args.jobs or (4 if args.quick else 12)
    notebook, jobs = choose_notebook(n, toy=args.toy)
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        rounds = [one_round(notebook, jobs, args.workers, Path(tmp), runner_first=k % 2 == 0)
                  for k in range(args.rounds)]
    ratio = median(r["ratio"] for r in rounds)
    overhead = median(r["overhead"] for r in rounds)
    failed = max(r["failed"] for r in rounds)
    where = notebook.relative_to(REPO)
    detail = (f"{n} jobs of {where}, runner --jobs {args.workers}: runner {median(r['runner'] for r in rounds):.1f} s, "
              f"shell loop {median(r['shell'] for r in rounds):.1f} s"
              + (f"; {failed} runner job(s) FAILED" if failed else ""))
    rows = [
        row(f"report runner vs shell loop ({n} jobs, {args.workers} workers)", ratio, "×", len(rounds),
            max(r["runner_rss"] for r in rounds), f"≥ {TARGET_RATIO:g}×", judge(ratio, TARGET_RATIO, "higher"), detail),
        row("report runner: overhead per job", 100 * overhead, "%", len(rounds), None,
            f"< {100 * TARGET_OVERHEAD:g}%", judge(overhead, TARGET_OVERHEAD, "lower"),
            f"(wall × workers − Σ jobs) / Σ jobs; median job {median(r['job'] for r in rounds):.2f} s "
            f"(index.json), shell loop {median(r['shell'] for r in rounds) / n:.2f} s per job"),
    ]
    write_rows(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
