"""Run every benchmark and write the table to ``benchmarks/results/latest.md`` (and ``.json``).

Each ``bench_*.py`` runs as its own process (so one failing does not stop
the others) with ``--json``; its rows are collected, printed as one markdown
table and written with the machine's description. ``make bench`` calls this.

Run: ``python benchmarks/run_all.py [--quick] [--only pipeline,runner,...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from measure import PYTHON, REPO, markdown_table, measure_process, row

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: Run order: cheap first. bench_extract.py is written separately; it runs when present.
BENCHES = ("import", "pipeline", "extract", "extraction_score", "runner")
#: Wall-clock limit per benchmark script, seconds (generous: a missed target makes a script slower).
LIMITS = {"import": 120, "pipeline": 420, "extract": 900, "extraction_score": 300, "runner": 600}
#: Scripts not named bench_NAME.py: the extractor's precision and recall on the real-article set.
SCRIPTS = {"extraction_score": HERE / "extraction" / "score.py"}


def machine() -> dict:
    """What the figures were measured on."""
    versions = {}
    for module in ("pandas", "numpy", "statsmodels", "papermill"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            versions[module] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "uncommitted_changes": dirty,
        **versions,
    }


def run_bench(name: str, quick: bool) -> tuple[list[dict], float]:
    """Rows of one benchmark script (an ``error`` row if it failed or is missing)."""
    script = SCRIPTS.get(name, HERE / f"bench_{name}.py")
    if not script.exists():
        return [row(f"{name}", None, "", 0, None, "–", "not run", f"{script.name} does not exist yet")], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [PYTHON, str(script), "--json", str(out)] + (["--quick"] if quick else [])
        measured = measure_process(cmd, timeout=LIMITS[name], cwd=HERE)
        if measured.returncode == 0 and out.exists():
            return json.loads(out.read_text()), measured.wall
        tail = (measured.stderr.strip().splitlines() or ["killed (time limit)"])[-1]
        return [
            row(
                name, None, "", 0, None, "–", "error", f"exit {measured.returncode} after {measured.wall:.0f} s: {tail}"
            )
        ], measured.wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, for checking the scripts")
    parser.add_argument("--only", help="comma-separated subset of: " + ", ".join(BENCHES))
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for latest.md and latest.json")
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHES if not args.only or b in args.only.split(",")]
    started = time.perf_counter()
    rows, timings = [], {}
    for name in chosen:
        print(f"running bench_{name}.py ...", file=sys.stderr, flush=True)
        bench_rows, seconds = run_bench(name, args.quick)
        rows.extend(bench_rows)
        timings[name] = round(seconds, 1)
    info = machine()
    info["bench_seconds"] = timings
    info["total_seconds"] = round(time.perf_counter() - started, 1)
    info["quick"] = args.quick
    table = markdown_table(rows)
    header = (
        f"Benchmarks, {info['date']} on {info['cpus']} CPUs (load {info['load_average_1min']:.1f} at the end), "
        f"Python {info['python']}, pandas {info['pandas']}, commit {info['commit']}"
        f"{' + uncommitted changes' if info['uncommitted_changes'] else ''}"
        f"{'; QUICK run (fewer repetitions)' if args.quick else ''}; total {info['total_seconds']:.0f} s."
    )
    text = f"{header}\n\n{table}\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(text, encoding="utf-8")
    (args.out / "latest.json").write_text(
        json.dumps({"machine": info, "rows": rows}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(text)
    print(f"written to {args.out / 'latest.md'}", file=sys.stderr)
    return 0 if all(r["status"] not in ("error",) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
