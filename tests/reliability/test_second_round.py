"""The second round of reliability cases (issue 12): a careful user and an attacker.

Each case of :data:`CASES` prepares a private copy of the small raw tables,
a pre-built processed folder and whatever the case needs (a link, a
schedule), runs one command in this process, and checks:

* the exit status and every stderr line (no traceback, never exit 70);
* every raw file byte-for-byte unchanged, and no file outside the
  command's output folders changed or created (files a link points to
  included);
* the case's own check of what is on disk (a flag in ``flags.csv``, a link
  left alone, a folder not created).

A build case whose raw tables are read is also run as ``validate`` on the
same tables: both must agree (same exit status, same rejects and notes).
Cases numbered ``#n`` are those of the issue; docs/reliability.md lists them.
Two faults need a real report run and have their own tests at the end: a
SIGKILL of the runner (#5) and a full disk during a run (#4).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

import analysis.data.storage

from .conftest import (
    TOY_NOTEBOOKS,
    cli_env,
    copy_raw,
    edit,
    fingerprint,
    index_problems,
    leftovers,
    processes_in,
    run_cli,
    start_module,
    wait_until,
)

BUILD = ("build", "--raw", "{raw}", "--out", "{out}", "--quiet")
REPORT = ("report", "{tmp}/s.yml", "--out", "{reports}")
NEVER_RAW = "is the raw folder {realraw} or inside it; raw tables are never rewritten, choose another output"
LINK_REFUSED = "is a symbolic link; outputs are never written through links"
VICTIM = "a file outside every output folder\n"


@dataclass(frozen=True)
class Case:
    """One input or situation.

    Attributes:
        issue: The number of the case in issue 12.
        setup: Called with the case folder (``raw/`` a fresh copy of the small
            tables, ``processed/`` a good build) to prepare the input.
        argv: The command; ``{raw}``, ``{out}``, ``{reports}``, ``{tmp}`` are filled in.
        code: The expected exit status.
        stderr: The expected stderr lines; ``{realraw}`` is the raw folder's real path.
        raw_env: Point ``ANALYSIS_RAW_DIR`` (the project's raw folder) at the case's ``raw/``.
        refuse_writes: Simulate a folder where nothing may be written (EACCES on every output opened).
        check: Called with the case folder after the command, to check what is on disk.
    """

    issue: int
    setup: Callable[[Path], None] | None
    argv: tuple[str, ...]
    code: int
    stderr: tuple[str, ...]
    raw_env: bool = False
    refuse_writes: bool = False
    check: Callable[[Path], None] | None = None


# ------------------------------------------------------------------ setups and checks


def replace(table: str, old: str, new: str):
    return lambda tmp: edit(tmp / "raw" / f"{table}.csv", old, new)


def write(name: str, content: str):
    def setup(tmp: Path) -> None:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(content, encoding="utf-8")

    return setup


def link(name: str, target: str, target_is_dir: bool = False):
    """A symbolic link ``name`` -> ``target`` (both under the case folder); the target is made first."""

    def setup(tmp: Path) -> None:
        goal = tmp / target
        if target_is_dir:
            goal.mkdir(parents=True, exist_ok=True)
        elif not goal.exists():
            goal.write_text(VICTIM, encoding="utf-8")
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).unlink(missing_ok=True)  # a file the good build left there (its .lock)
        (tmp / name).symlink_to(goal, target_is_directory=target_is_dir)

    return setup


def both(*setups):
    def setup(tmp: Path) -> None:
        for one in setups:
            one(tmp)

    return setup


GOOD_SCHEDULE = write("s.yml", "jobs:\n  - notebook: toy\n")


def add_column(table: str, name: str):
    """A column the build does not know, with a value on every row."""

    def setup(tmp: Path) -> None:
        path = tmp / "raw" / f"{table}.csv"
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text(
            "\n".join([lines[0] + f",{name}"] + [line + ",x" for line in lines[1:]]) + "\n", encoding="utf-8"
        )

    return setup


def flagged(rule: str, obs_id: str, message: str):
    """The processed flags hold exactly this flag of ``rule`` on ``obs_id``."""

    def check(tmp: Path) -> None:
        flags = pd.read_csv(tmp / "processed" / "flags.csv", dtype=str, keep_default_na=False)
        assert flags.loc[flags["rule"] == rule, ["obs_ids", "message"]].values.tolist() == [[obs_id, message]]

    return check


def no_flag_on(*obs_ids: str):
    def check(tmp: Path) -> None:
        flags = pd.read_csv(tmp / "processed" / "flags.csv", dtype=str, keep_default_na=False)
        ids = set(flags.loc[flags["rule"] == "breakdown_exceeds_total", "obs_ids"].str.split(";").explode())
        assert not ids & set(obs_ids), flags

    return check


def victim_untouched(tmp: Path) -> None:
    assert (tmp / "victim").read_text(encoding="utf-8") == VICTIM


def processed_plain_files(tmp: Path) -> None:
    """A build through a planted temporary-file link: the link is gone, every output a plain file."""
    victim_untouched(tmp)
    assert not any(p.is_symlink() for p in (tmp / "processed").iterdir())
    assert (tmp / "processed" / "observations.csv").read_bytes().startswith(b"obs_id,")


def nothing_in(folder: str):
    def check(tmp: Path) -> None:
        assert not any((tmp / folder).iterdir()), list((tmp / folder).iterdir())

    return check


def no_folder(folder: str):
    def check(tmp: Path) -> None:
        assert not (tmp / folder).exists()

    return check


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\njobs:\n  - notebook: toy\n"


ZWJ = "\u200d"
THREE_SPELLINGS = "jobs:\n" + "".join(
    f'  - notebook: toy\n    parameters: {{mode: "{name}"}}\n'
    for name in ("Đắk Hà", unicodedata.normalize("NFD", "Đắk Hà"), f"Đắk{ZWJ} Hà")
)


# ------------------------------------------------------------------ the cases

CASES = {
    # #1 raw data overwritten
    "out-is-raw": Case(1, None, ("build", "--raw", "{raw}", "--out", "{raw}"), 2, ("error: {raw}: " + NEVER_RAW,)),
    "out-is-raw-dot": Case(
        1, None, ("build", "--raw", "{raw}", "--out", "{raw}/."), 2, ("error: {raw}: " + NEVER_RAW,)
    ),
    "out-is-a-link-to-raw": Case(
        1,
        link("rawlink", "raw", target_is_dir=True),
        ("build", "--raw", "{raw}", "--out", "{tmp}/rawlink"),
        2,
        ("error: {tmp}/rawlink: " + NEVER_RAW,),
    ),
    "out-inside-raw-relative": Case(
        1,
        None,
        ("build", "--raw", "{raw}", "--out", "{raw}/../raw/processed"),
        2,
        ("error: {raw}/../raw/processed: " + NEVER_RAW,),
        check=no_folder("raw/processed"),
    ),
    "report-out-inside-raw": Case(
        1,
        GOOD_SCHEDULE,
        ("report", "{tmp}/s.yml", "--out", "{raw}/reports"),
        2,
        ("error: {raw}/reports: " + NEVER_RAW,),
        raw_env=True,
        check=no_folder("raw/reports"),
    ),
    "extract-out-is-a-raw-table": Case(
        1,
        write("a.txt", "Đến ngày 30/6/2022, Đảng bộ huyện có 1.700 đảng viên.\n"),
        (
            "extract",
            "{tmp}/a.txt",
            "--unit",
            "Kon Rẫy, Kon Tum",
            "--published",
            "2022-07-01",
            "--source",
            "S000",
            "--raw",
            "{raw}",
            "--out",
            "{raw}/observations.csv",
            "--force",
        ),
        2,
        (
            "error: out: {raw}/observations.csv is inside the raw folder {raw}; the candidates file is working "
            "material, write it elsewhere",
        ),
    ),
    # #2 symbolic links in output folders
    "build-temp-file-is-a-link": Case(
        2, link("processed/.observations.csv.tmp", "victim"), BUILD, 0, (), check=processed_plain_files
    ),
    "build-lock-is-a-link": Case(
        2,
        link("processed/.lock", "victim"),
        BUILD,
        3,
        ("error: {out}/.lock: is a symbolic link; the lock is never taken through a link",),
        check=victim_untouched,
    ),
    "report-lock-is-a-link": Case(
        2,
        both(GOOD_SCHEDULE, link("reports/.lock", "victim")),
        REPORT,
        3,
        ("error: {reports}/.lock: is a symbolic link; the lock is never taken through a link",),
        check=victim_untouched,
    ),
    "report-notebook-folder-is-a-link": Case(
        2,
        both(GOOD_SCHEDULE, link("reports/toy", "elsewhere", target_is_dir=True)),
        REPORT,
        3,
        ("error: {reports}/toy: " + LINK_REFUSED,),
        check=nothing_in("elsewhere"),
    ),
    # #3 YAML alias bomb, #9 schedules beyond the limits, #10 an infinite time limit, #16 one name in three spellings
    "schedule-alias-bomb": Case(
        3,
        write("s.yml", alias_bomb()),
        REPORT,
        2,
        ("error: {tmp}/s.yml:6: more than 100,000 values once its aliases are expanded",),
        check=no_folder("reports"),
    ),
    "schedule-200000-levels-deep": Case(
        9,
        write("s.yml", "jobs:\n  - notebook: toy\n    parameters: {mode: " + "[" * 200_000 + "]" * 200_000 + "}\n"),
        REPORT,
        2,
        ("error: {tmp}/s.yml:3: lists and mappings nest more than 20 deep",),
        check=no_folder("reports"),
    ),
    "schedule-5000-digit-number": Case(
        9,
        write("s.yml", "jobs:\n  - notebook: toy\n    parameters: {mode: " + "9" * 5000 + "}\n"),
        REPORT,
        2,
        ("error: {tmp}/s.yml:3: a number of 5000 digits; the limit is 30 (quote it if it is text)",),
        check=no_folder("reports"),
    ),
    "report-out-is-a-file": Case(
        9,
        both(GOOD_SCHEDULE, write("file", "not a folder\n")),
        ("report", "{tmp}/s.yml", "--out", "{tmp}/file"),
        3,
        ("error: {tmp}/file: is a file, not a folder; give a folder for the outputs",),
    ),
    "report-out-refuses-writes": Case(
        9,
        GOOD_SCHEDULE,
        REPORT,
        3,
        ("error: {reports}/.lock: cannot open the lock file: Permission denied",),
        refuse_writes=True,
    ),
    "extract-out-refuses-writes": Case(
        9,
        write("a.txt", "Đến ngày 30/6/2022, Đảng bộ huyện có 1.700 đảng viên.\n"),
        (
            "extract",
            "{tmp}/a.txt",
            "--unit",
            "Kon Rẫy, Kon Tum",
            "--published",
            "2022-07-01",
            "--source",
            "S000",
            "--raw",
            "{raw}",
            "--out",
            "{tmp}/ro/a.candidates.csv",
        ),
        3,
        ("error: {tmp}/ro/a.candidates.csv: Permission denied",),
        refuse_writes=True,
    ),
    "schedule-infinite-cell-limit": Case(
        10,
        write("s.yml", "timeout: {cell: .inf}\njobs:\n  - notebook: toy\n"),
        REPORT,
        2,
        (
            "error: {tmp}/s.yml: 1 problem:",
            "  timeout: cell: must be a positive number of seconds up to 604800 (a week), not inf",
        ),
    ),
    "cli-infinite-cell-limit": Case(
        10,
        GOOD_SCHEDULE,
        (*REPORT, "--cell-timeout", "inf"),
        2,
        ("error: the cell timeout must be a positive number of seconds up to 604800 (a week), not inf",),
    ),
    "schedule-one-name-three-spellings": Case(
        16,
        write("s.yml", THREE_SPELLINGS),
        REPORT,
        2,
        (
            "error: {tmp}/s.yml: 2 problems:",
            '  job 2 (toy): duplicates a job of job 1: {{"mode": "Đắk Hà"}}',
            '  job 3 (toy): duplicates a job of job 1: {{"mode": "Đắk Hà"}}',
        ),
    ),
    # #6 an extra column, #7 huge numbers
    "raw-extra-column-in-observations": Case(
        6,
        add_column("observations", "comment"),
        BUILD,
        0,
        ("note: {raw}/observations.csv:1: column 'comment' is not used by the build (ignored)",),
    ),
    "raw-extra-column-in-sources": Case(
        6,
        add_column("sources", "comment"),
        BUILD,
        0,
        ("note: {raw}/sources.csv:1: column 'comment' is not used by the build (ignored)",),
    ),
    "raw-count-1e19": Case(
        7,
        replace("observations", ",1639,count", ",1e19,count"),
        BUILD,
        1,
        (
            "rejected observations.csv:3 O0002 value='1e19': out of range: larger than 1e+12 in size, "
            "which no figure here can be",
        ),
    ),
    "raw-count-1e308": Case(
        7,
        replace("observations", ",1639,count", ",1e308,count"),
        BUILD,
        1,
        (
            "rejected observations.csv:3 O0002 value='1e308': out of range: larger than 1e+12 in "
            "size, which no figure here can be",
        ),
    ),
    # #11 a 0-day flow, #12 dates in the future
    "raw-flow-over-no-time": Case(
        11,
        replace(
            "observations",
            "disciplined_members,22,count,exact,,2020-01,,publication_date",
            "disciplined_members,22,count,exact,,2020-06-30,2020-06-30,stated",
        ),
        BUILD,
        0,
        (),
        check=flagged(
            "zero_length_period",
            "O0003",
            "flow over no time: the period starts and ends on 2020-06-30; no rate per year is computed from it",
        ),
    ),
    "raw-as-of-2099": Case(
        12,
        replace(
            "observations", ",party_members,1639,count,exact,2021-06-20,", ",party_members,1639,count,exact,2099-06-20,"
        ),
        BUILD,
        0,
        (),
        check=flagged(
            "dated_after_publication", "O0002", "dated 2099-06-20, after its source was published (2021-08-23)"
        ),
    ),
    "raw-source-published-2099": Case(
        12,
        replace("sources", ",2020-07,invented", ",2099-07,invented"),
        BUILD,
        1,
        (
            "rejected sources.csv:6 S102 published='2099-07': after today: a source cannot be published or read in "
            "the future",
            "rejected observations.csv:29 O0028 source_id='S102': source S102 was rejected (sources.csv:6)",
            "rejected observations.csv:30 O0029 source_id='S102': source S102 was rejected (sources.csv:6)",
        ),
    ),
    # #13 codebook cycles
    "codebook-own-parent": Case(
        13,
        replace("codebook", "admissions,flow,count,admissions,,", "admissions,flow,count,admissions,admissions,"),
        BUILD,
        1,
        (
            "rejected codebook.csv:13 admissions parent='admissions': the parents form a cycle: an indicator "
            "cannot be its own ancestor",
            "rejected observations.csv:8 O0007 indicator='admissions': indicator admissions was rejected "
            "(codebook.csv:13)",
            "rejected observations.csv:21 O0020 indicator='admissions': indicator admissions was rejected "
            "(codebook.csv:13)",
            "rejected observations.csv:24 O0023 indicator='admissions': indicator admissions was rejected "
            "(codebook.csv:13)",
        ),
    ),
    "codebook-two-cycle": Case(
        13,
        replace(
            "codebook",
            "disciplined_members,flow,count,discipline,,",
            "disciplined_members,flow,count,discipline,disciplined_expulsion,",
        ),
        BUILD,
        1,
        (
            "rejected codebook.csv:9 disciplined_members parent='disciplined_expulsion': the parents form a "
            "cycle: an indicator cannot be its own ancestor",
            "rejected codebook.csv:10 disciplined_expulsion parent='disciplined_members': the parents form a "
            "cycle: an indicator cannot be its own ancestor",
            "re:rejected observations.csv:4 O0003 indicator='disciplined_members': indicator "
            "disciplined_members was rejected \\(codebook.csv:9\\)",
            "re:rejected observations.csv:5 O0004 indicator='disciplined_expulsion': indicator "
            "disciplined_expulsion was rejected \\(codebook.csv:10\\)",
        ),
        check=no_flag_on("O0003", "O0004", "O0005", "O0006"),
    ),
    # #14 a rejected unit row
    "raw-rejected-unit-named": Case(
        14,
        replace("units", "519,Nông Sơn,Huyện Nông Sơn,district,49,,", "519,Nông Sơn,Huyện Nông Sơn,district,49,2026,"),
        BUILD,
        1,
        (
            "rejected units.csv:11 519 valid_to='2024-12-31': validity ends before it starts",
            "rejected observations.csv:29 O0028 unit_name='Nông Sơn': unit 'Nông Sơn' (519) was rejected "
            "(units.csv:11)",
            "rejected observations.csv:30 O0029 unit_name='Nông Sơn': unit 'Nông Sơn' (519) was rejected "
            "(units.csv:11)",
        ),
    ),
}


# ------------------------------------------------------------------ running a case


@pytest.fixture(scope="module")
def good_build(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    outcome = run_cli("build", "--raw", copy_raw(folder / "raw"), "--out", folder / "processed", "--quiet")
    assert outcome.code == 0, outcome.stderr
    return folder / "processed"


def outside(tmp: Path) -> dict:
    """Fingerprint of the case folder except the output folders (raw tables and every link target included)."""
    return {
        path: digest
        for path, digest in fingerprint(tmp).items()
        if not path.startswith(("processed/", "reports/", "no-default-folder/", "ro/"))
    }


def matches(line: str, want: str, places: dict) -> bool:
    """``line`` is ``want`` with the places filled in (a ``re:`` pattern: places escaped)."""
    if want.startswith("re:"):
        return re.fullmatch(want[3:].format(**{k: re.escape(v) for k, v in places.items()}), line) is not None
    return line == want.format(**places)


def refuse_writes(monkeypatch) -> None:
    """Every output the package opens fails as in a read-only folder (the tests run as root, where chmod does not)."""

    def refused(path, **_):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(analysis.data.storage, "open_output", refused)


@pytest.mark.parametrize("name", list(CASES))
def test_case_gets_its_message_and_exit_status_and_touches_nothing_else(name, tmp_path, good_build, monkeypatch):
    case = CASES[name]
    monkeypatch.setenv("ANALYSIS_NOTEBOOKS_DIR", str(TOY_NOTEBOOKS))
    copy_raw(tmp_path / "raw")
    shutil.copytree(good_build, tmp_path / "processed")
    if case.setup is not None:
        case.setup(tmp_path)
    if case.raw_env:
        monkeypatch.setenv("ANALYSIS_RAW_DIR", str(tmp_path / "raw"))
    if case.refuse_writes:
        refuse_writes(monkeypatch)
    places = {
        "raw": str(tmp_path / "raw"),
        "out": str(tmp_path / "processed"),
        "reports": str(tmp_path / "reports"),
        "tmp": str(tmp_path),
        "realraw": os.path.realpath(tmp_path / "raw"),
    }
    before = outside(tmp_path)
    started = time.monotonic()
    outcome = run_cli(*[a.format(**places) for a in case.argv])
    assert time.monotonic() - started < 60
    assert "Traceback" not in outcome.stderr and outcome.code != 70
    lines = outcome.errors
    assert len(lines) == len(case.stderr), "\n".join(lines)
    for line, want in zip(lines, case.stderr):
        assert matches(line, want, places), f"{line!r} != {want!r}"
    assert outcome.code == case.code
    assert outside(tmp_path) == before, "a raw file or a file outside the output folders changed"
    assert leftovers(tmp_path) == []
    if case.check is not None:
        case.check(tmp_path)


BUILD_CASES = [name for name, case in CASES.items() if case.argv == BUILD and case.code in (0, 1)]


@pytest.mark.parametrize("name", BUILD_CASES)
def test_validate_agrees_with_build(name, tmp_path):
    case = CASES[name]
    copy_raw(tmp_path / "raw")
    case.setup(tmp_path)
    build = run_cli("build", "--raw", tmp_path / "raw", "--out", tmp_path / "processed", "--quiet")
    validate = run_cli("validate", tmp_path / "raw")
    assert (validate.code, validate.errors) == (build.code, build.errors)


# ------------------------------------------------------------------ #5 SIGKILL of the runner, #4 a full disk


def report_folder(tmp: Path, modes: str) -> tuple[list, dict]:
    """A toy schedule of ``modes`` jobs, a private notebooks folder and a working folder: (argv, env)."""
    shutil.copytree(TOY_NOTEBOOKS, tmp / "notebooks")
    (tmp / "s.yml").write_text("jobs:\n  - notebook: toy\n    grid: {mode: [%s]}\n" % modes, encoding="utf-8")
    (tmp / "cwd").mkdir()
    env = {"ANALYSIS_NOTEBOOKS_DIR": tmp / "notebooks", "ANALYSIS_RAW_DIR": tmp / "no-raw"}
    return ["report", tmp / "s.yml", "--out", tmp / "reports", "--jobs", "2"], env


@pytest.mark.notebook
def test_a_runner_killed_with_sigkill_leaves_no_worker_or_kernel(tmp_path):
    argv, env = report_folder(tmp_path, "a, b, c, d")
    runner = start_module(*argv, env=cli_env(**env, RELIABILITY_SLEEP=60), cwd=tmp_path / "cwd", new_session=True)
    try:
        kernels_started = wait_until(lambda: len(processes_in(tmp_path / "notebooks")) >= 2, timeout=90)
        assert kernels_started, runner.stderr.read() if runner.poll() is not None else "no kernel started"
        workers = [p for p in processes_in(tmp_path / "cwd") if not p.startswith(f"{runner.pid}:")]
        assert workers  # the runner's workers run in its working folder
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
        gone = wait_until(lambda: not processes_in(tmp_path / "cwd", tmp_path / "notebooks"), timeout=10)
        assert gone, processes_in(tmp_path / "cwd", tmp_path / "notebooks")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(runner.pid, signal.SIGKILL)  # only if the test failed: the run's own session
    assert not (tmp_path / "reports" / "toy" / "toy__mode-a.html").exists()  # no job finished after the kill
    rerun = subprocess.run(
        [sys.executable, "-m", "analysis", *map(str, argv)],
        env=cli_env(**env),
        cwd=tmp_path / "cwd",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert leftovers(tmp_path / "reports") == []  # the killed run's staging folders are cleared
    assert index_problems(tmp_path / "reports") == []


def file_size_limit(limit: int):
    """A ``preexec_fn``: files larger than ``limit`` bytes cannot be written (EFBIG), as on a full disk."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.notebook
@pytest.mark.parametrize("limit, code", [(200_000, 1), (1_000, 3)], ids=["reports-too-big", "index-too-big"])
def test_a_full_disk_during_a_report_run_leaves_no_cut_off_file_and_a_truthful_index(tmp_path, limit, code):
    argv, env = report_folder(tmp_path, "a, b")
    process = subprocess.run(
        [sys.executable, "-m", "analysis", *map(str, argv)],
        env=cli_env(**env),
        cwd=tmp_path / "cwd",
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=file_size_limit(limit),
    )
    assert process.returncode == code, process.stderr
    assert "Traceback" not in process.stderr
    out = tmp_path / "reports"
    if code == 3:
        assert process.stderr.splitlines()[-1] == f"error: {out}: cannot write the index: File too large"
    else:
        assert re.search(
            r"failed: toy__mode-a: error: cannot write \S+/toy__mode-a\.html: File too large", process.stdout
        )
    for page in out.rglob("*.html"):
        assert page.read_text(encoding="utf-8").rstrip().endswith("</html>"), page
    for notebook in out.rglob("*.ipynb"):
        json.loads(notebook.read_text(encoding="utf-8"))
    assert leftovers(out) == []
    if (out / "index.json").exists():
        problems = [p for p in index_problems(out) if "kept notebook" not in p]  # a notebook too big is not kept
        assert problems == []
