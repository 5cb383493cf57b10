"""The national report run: ``schedules/national.yml`` on the SYNTHETIC panel, timed, with the tree's memory.

``make bench-national`` (not part of ``make bench``: it runs for minutes).
The panel is written first (``python -m analysis synthetic``, seed 0,
untimed) into ``synthetic/`` at the repository root, where the schedule's
``data_dir: ../synthetic`` finds it. Then, in one process tree::

    ANALYSIS_RAW_DIR=synthetic python -m analysis report schedules/national.yml --jobs W --out DIR

is timed (wall) while its whole process tree (the runner, its workers and
their kernels) is sampled every half second: the peak of the summed resident
sets (``VmRSS`` of every descendant, from ``/proc``) is the memory figure;
a single process's ``ru_maxrss`` would miss the workers and kernels.
Reported: wall time (target < 10 min), peak tree memory (target < 2 GB),
jobs ok / failed, the median and slowest job (``index.json``) and the
machine's load average before and after.

``--limit N`` runs only the first N jobs of the schedule (a check of the
script, not the target). Unix only (``/proc``).

Run: ``python benchmarks/bench_national.py [--jobs W] [--limit N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import PYTHON, REPO, judge, median, row, write_rows

SCHEDULE = REPO / "schedules" / "national.yml"
PANEL = REPO / "synthetic"
TARGET_SECONDS = 600.0
TARGET_MB = 2048.0


def tree_rss_mb(root: int) -> float:
    """The summed ``VmRSS`` of ``root`` and all its descendants, in MB (0 for processes gone meanwhile)."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier and pid not in tree]
        tree.update(children)
        frontier = children
    total = 0.0
    for pid in tree:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total / 1024


def limited_schedule(limit: int, folder: Path) -> Path:
    """``schedules/national.yml`` cut to its first ``limit`` jobs (written into ``folder``)."""
    sys.path.insert(0, str(REPO))
    from analysis.reports.schedule import load_schedule

    jobs = load_schedule(SCHEDULE).jobs[:limit]
    lines = ["timeout: {cell: 300, job: 900}", "jobs:"]
    for job in jobs:
        lines += [f"  - notebook: {job.notebook}", f"    parameters: {json.dumps(job.parameters, ensure_ascii=False)}"]
    path = folder / "national-sample.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="runner workers (default 2)")
    parser.add_argument("--limit", type=int, help="run only the first N jobs of the schedule")
    parser.add_argument("--json", help="write the rows here as JSON too")
    args = parser.parse_args(argv)
    subprocess.run(
        [PYTHON, "-m", "analysis", "synthetic", "--out", str(PANEL)], cwd=REPO, check=True, capture_output=True
    )
    os.environ["ANALYSIS_RAW_DIR"] = str(PANEL)  # every_district_with_data: the panel's districts
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-national-") as tmp:
        schedule = limited_schedule(args.limit, Path(tmp)) if args.limit else SCHEDULE
        out = Path(tmp) / "reports"
        load = [os.getloadavg()[0]]
        start = time.perf_counter()
        proc = subprocess.Popen(
            [PYTHON, "-m", "analysis", "report", str(schedule), "--jobs", str(args.jobs), "--out", str(out)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb(proc.pid))
            time.sleep(0.5)
        wall = time.perf_counter() - start
        load.append(os.getloadavg()[0])
        if proc.returncode not in (0, 1):  # 1: finished, some jobs failed (counted below)
            raise RuntimeError(f"the runner failed (exit {proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
        jobs = json.loads((out / "index.json").read_text(encoding="utf-8"))["jobs"]
    durations = [float(j["duration"]) for j in jobs if j.get("duration") is not None]
    failed = sum(j["status"] != "ok" for j in jobs)
    what = f"{len(jobs)} jobs of {Path(schedule).name}, {args.jobs} workers"
    note = (
        f"{what}; {failed} failed; median job {median(durations):.2f} s, slowest {max(durations):.1f} s; "
        f"load average {load[0]:.1f} before, {load[1]:.1f} after ({os.cpu_count()} cores)"
    )
    rows = [
        row(
            f"national report run ({what})",
            wall,
            "s",
            1,
            peak,
            f"< {TARGET_SECONDS:g} s",
            judge(wall, TARGET_SECONDS, "lower") if not args.limit else "sample",
            note,
        ),
        row(
            "national report run: peak memory of the process tree",
            peak,
            "MB",
            1,
            peak,
            f"< {TARGET_MB:g} MB",
            judge(peak, TARGET_MB, "lower"),
            "summed VmRSS of the runner, its workers and kernels, every 0.5 s",
        ),
    ]
    write_rows(rows, args.json)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
