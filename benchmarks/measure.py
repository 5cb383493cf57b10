"""What the benchmarks share: run a command in a fresh process and measure it,
judge a figure against its target, and read and write result rows.

Every measured thing runs in its own child process, so that its peak
resident memory (``ru_maxrss`` from ``os.wait4`` on that child) is its own
and not the benchmark driver's. ``ru_maxrss`` covers the child and the
descendants it waited for; for a process tree (the report runner and its
kernels) it is the peak of the largest single process, not the sum.

A result row is a dict with the keys of :data:`ROW_KEYS`; every
``bench_*.py`` script accepts ``--json PATH`` (write its rows there) and
``--quick`` (fewer repetitions), which is all ``run_all.py`` relies on.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
ROW_KEYS = ("benchmark", "measured", "unit", "runs", "peak_rss_mb", "target", "status", "note")


@dataclass
class Measured:
    """One finished child process: wall time, peak RSS, exit status and output."""

    wall: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def check(self, what: str) -> "Measured":
        """Raise with the tail of stderr when the process failed."""
        if self.returncode != 0:
            tail = "\n".join(self.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"{what} failed with exit code {self.returncode}:\n{tail}")
        return self


def measure_process(
    cmd: list[str], *, env: dict | None = None, cwd: Path | str = REPO, timeout: float = 600.0
) -> Measured:
    """Run a command in a new session and measure its wall time and peak RSS.

    Args:
        cmd: The command (a list; no shell unless the list says ``bash -c``).
        env: Extra environment variables (added to the current environment).
        cwd: Working directory.
        timeout: Seconds before the whole process group is killed.

    Returns:
        The measurement; ``returncode`` is negative when killed by a signal.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, cwd=cwd, start_new_session=True, env={**os.environ, **(env or {})}
        )
        timer = threading.Timer(timeout, _kill_group, args=(proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # reap it ourselves to get its own rusage
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            wall,
            usage.ru_maxrss / 1024,
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def python_worker(
    script: Path | str, *args: str, timeout: float = 600.0, env: dict | None = None
) -> tuple[dict, Measured]:
    """Run ``python SCRIPT ARGS --result FILE`` fresh; return the JSON it wrote and the measurement."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        measured = measure_process([PYTHON, str(script), *args, "--result", str(result)], timeout=timeout, env=env)
        measured.check(f"{Path(script).name} {' '.join(args)}")
        return json.loads(result.read_text()), measured


def judge(measured: float, target: float, better: str) -> str:
    """``met`` or ``missed by N×`` for a figure against its target.

    Examples:
        >>> judge(2.0, 3.0, "lower"), judge(6.0, 3.0, "lower")
        ('met', 'missed by 2.0×')
        >>> judge(25.0, 20.0, "higher"), judge(5.0, 20.0, "higher")
        ('met', 'missed by 4.0×')
    """
    ok = measured <= target if better == "lower" else measured >= target
    if ok:
        return "met"
    factor = measured / target if better == "lower" else target / measured if measured > 0 else float("inf")
    return f"missed by {factor:.1f}×"


def row(
    benchmark: str,
    measured: float,
    unit: str,
    runs: int,
    peak_rss_mb: float | None,
    target: str,
    status: str,
    note: str = "",
) -> dict:
    """A result row (see :data:`ROW_KEYS`)."""
    return dict(zip(ROW_KEYS, (benchmark, measured, unit, runs, peak_rss_mb, target, status, note)))


def median(values) -> float:
    """The median of a non-empty sequence of numbers."""
    return float(statistics.median(values))


def write_rows(rows: list[dict], path: Path | str | None) -> None:
    """Write rows as JSON to ``path`` (when given) and print them as a markdown table."""
    if path:
        Path(path).write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(markdown_table(rows))


def format_figure(value: float | None, unit: str = "") -> str:
    """A figure with a sensible number of digits and its unit.

    Examples:
        >>> format_figure(0.123456, "s"), format_figure(25.04, "×"), format_figure(None)
        ('0.123 s', '25.0 ×', '–')
    """
    if value is None:
        return "–"
    digits = 3 if abs(value) < 10 else 1
    return f"{value:.{digits}f} {unit}".strip()


def markdown_table(rows: list[dict]) -> str:
    """The rows as a markdown table (benchmark, median, runs, peak RSS, target, status, note)."""
    lines = [
        "| benchmark | measured (median) | runs | peak RSS (MB) | target | status | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rss = "–" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}"
        lines.append(
            f"| {r['benchmark']} | {format_figure(r['measured'], r['unit'])} | {r['runs']} | {rss} | "
            f"{r['target']} | {r['status']} | {r['note']} |"
        )
    return "\n".join(lines)


def add_common_arguments(parser) -> None:
    """``--json PATH``, ``--quick`` and the internal ``--result`` / ``--worker`` of a bench script."""
    parser.add_argument("--json", help="write the result rows to this JSON file")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for testing the benchmark)")
    parser.add_argument("--worker", help="internal: run one measured step in this process")
    parser.add_argument("--result", help="internal: where a worker writes its timings")
