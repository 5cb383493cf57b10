"""Bad inputs to every command: one specific message, a documented exit status, nothing else touched.

Each case of :data:`CASES` corrupts a private copy of the small raw tables
(or writes a schedule, an article or a reviewed candidates file), runs one
command, and checks:

* the exit status, and stderr line by line (the message names the file,
  line and field), with no traceback;
* every input file is byte-for-byte unchanged, and no file appears outside
  the command's output folder;
* the processed folder, built from the good tables before the case ran, is
  byte-for-byte intact when the build fails (exit 3), and a consistent new
  build (``read_processed`` checks it against ``build.json``) when rows are
  rejected (exit 1) or nothing is wrong (exit 0);
* a report command that refuses its schedule or arguments writes no output
  folder at all.

A case marked ``bug`` documents what the code should do and currently does
not (strict xfail: the lead removes the mark with the fix). The same cases
run in this process (fast) and a sample of them through ``python -m
analysis`` in a separate process (the real entry point).
"""

from __future__ import annotations

import csv
import io
import re
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from analysis.data.dataset import read_processed
from analysis.text.extraction import CANDIDATE_COLUMNS

from .conftest import (
    TOY_NOTEBOOKS,
    cli_env,
    copy_raw,
    edit,
    fingerprint,
    leftovers,
    run_cli,
    run_module,
)

BUILD = ("build", "--raw", "{raw}", "--out", "{out}", "--quiet")
REPORT = ("report", "{tmp}/s.yml", "--out", "{reports}")
ARTICLE_OPTIONS = ("--unit", "Kon Rẫy, Kon Tum", "--published", "2021-08-23", "--source", "S000", "--raw", "{raw}")
ACCEPT = ("extract", "--accept", "{tmp}/reviewed.csv", "--raw", "{raw}")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
NOT_A_NUMBER = "not a number (use . for decimals, no thousands separators, no % sign)"
ONE_PROBLEM = "error: {tmp}/s.yml: 1 problem:"


@dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        setup: Called with the case folder (``raw/`` is a fresh copy of the
            small raw tables) to corrupt or write the input.
        argv: The command; ``{raw}``, ``{out}`` (processed folder, pre-built),
            ``{reports}``, ``{tmp}`` are filled in.
        code: The expected exit status.
        stderr: The expected stderr lines (same placeholders). A line
            starting with ``re:`` is a regular expression (placeholders are
            escaped). With ``usage``, argparse prints its usage first and
            only the last line is compared.
        bug: Why the code fails this case today (strict xfail).
    """

    setup: Callable[[Path], None] | None
    argv: tuple[str, ...]
    code: int
    stderr: tuple[str, ...]
    usage: bool = False
    bug: str = ""


# ------------------------------------------------------------------ corruptions


def replace(table: str, old: str, new: str):
    return lambda tmp: edit(tmp / "raw" / f"{table}.csv", old, new)


def write(name: str, content: bytes | str):
    """Write a file under the case folder (``raw/x.csv``, ``s.yml``, ``article.txt`` ...)."""

    def setup(tmp: Path) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (tmp / name).write_bytes(data)

    return setup


def recode(table: str, encoding: str):
    def setup(tmp: Path) -> None:
        path = tmp / "raw" / f"{table}.csv"
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding, errors="replace"))

    return setup


def every_table(transform: Callable[[bytes], bytes]):
    def setup(tmp: Path) -> None:
        for path in (tmp / "raw").glob("*.csv"):
            path.write_bytes(transform(path.read_bytes()))

    return setup


def remove(*tables: str):
    def setup(tmp: Path) -> None:
        for table in tables:
            (tmp / "raw" / f"{table}.csv").unlink()

    return setup


def folder_instead_of(table: str):
    def setup(tmp: Path) -> None:
        path = tmp / "raw" / f"{table}.csv"
        path.unlink()
        path.mkdir()

    return setup


def drop_column(table: str, column: str):
    def setup(tmp: Path) -> None:
        path = tmp / "raw" / f"{table}.csv"
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        at = rows[0].index(column)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([r[:at] + r[at + 1 :] for r in rows])
        path.write_text(buffer.getvalue(), encoding="utf-8")

    return setup


def header_only(table: str):
    def setup(tmp: Path) -> None:
        path = tmp / "raw" / f"{table}.csv"
        path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")

    return setup


def reviewed(accept: str = "y", unit_name: str = "Kon Rẫy", columns=CANDIDATE_COLUMNS):
    """A reviewed candidates file with one row (a figure of article 'a.txt' for source S000)."""
    row = {
        "obs_id": "NEW-001",
        "source_id": "S000",
        "locator": "para 1, chars 40-55",
        "unit_name": unit_name,
        "province": "Kon Tum",
        "scope": "district",
        "indicator": "party_members",
        "value": "1700",
        "unit": "count",
        "qualifier": "exact",
        "as_of": "2022-06-30",
        "period_start": "",
        "period_end": "",
        "period_end_basis": "stated",
        "status": "published",
        "note": "chars 40-55: Party members",
        "span_start": "40",
        "span_end": "55",
        "phrase": "1.700 đảng viên",
        "confidence": "0.90",
        "parent_candidate": "",
        "accept": accept,
    }
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    return write("reviewed.csv", buffer.getvalue())


def both(*setups):
    def setup(tmp: Path) -> None:
        for one in setups:
            one(tmp)

    return setup


ARTICLE = "Kon Rẫy chăm lo xây dựng Đảng\nĐến ngày 30/6/2022, Đảng bộ huyện có 1.700 đảng viên.\n"
GOOD_SCHEDULE = write("s.yml", "jobs:\n  - notebook: toy\n")


def schedule_problem(problem: str) -> tuple[str, ...]:
    return (ONE_PROBLEM, f"  {problem}")


# ------------------------------------------------------------------ the cases

CASES = {
    # ---- raw tables: file-level problems (exit 3, nothing written)
    "raw-missing-file": Case(remove("observations"), BUILD, 3, ("error: {raw}/observations.csv: file not found",)),
    "raw-two-missing-files": Case(
        remove("units", "context"),
        BUILD,
        3,
        ("error: 2 problems: {raw}/units.csv: file not found; {raw}/context.csv: file not found",),
    ),
    "raw-empty-file": Case(
        write("raw/observations.csv", b""), BUILD, 3, ("error: {raw}/observations.csv: empty file: no header row",)
    ),
    "raw-header-only": Case(
        header_only("observations"),
        BUILD,
        3,
        ("error: {raw}/observations.csv:1: no rows: the table has a header only",),
    ),
    "raw-binary-file": Case(
        write("raw/sources.csv", PNG),
        BUILD,
        3,
        ("error: {raw}/sources.csv:1: not UTF-8: byte 0x89 at byte offset 0; save the file as UTF-8",),
    ),
    "raw-zero-filled-file": Case(
        write("raw/observations.csv", bytes(4096)),
        BUILD,
        3,
        ("error: {raw}/observations.csv: binary file (NUL byte at byte offset 0); expected UTF-8 text",),
    ),
    "raw-windows-1258": Case(
        recode("sources", "cp1258"),
        BUILD,
        3,
        (
            "re:error: {raw}/sources.csv:2: not UTF-8: byte 0x[0-9a-f][0-9a-f] at byte offset "
            "[0-9]+; save the file as UTF-8",
        ),
    ),
    "raw-utf16": Case(
        recode("sources", "utf-16"),
        BUILD,
        3,
        ("error: {raw}/sources.csv:1: not UTF-8: byte 0xff at byte offset 0; save the file as UTF-8",),
    ),
    "raw-folder-instead-of-file": Case(
        folder_instead_of("sources"), BUILD, 3, ("error: {raw}/sources.csv: cannot read the file (Is a directory)",)
    ),
    "raw-missing-column": Case(
        drop_column("observations", "value"), BUILD, 3, ("error: {raw}/observations.csv:1: missing column 'value'",)
    ),
    "raw-renamed-column": Case(
        replace("observations", ",value,", ",valeur,"),
        BUILD,
        3,
        ("error: {raw}/observations.csv:1: missing column 'value' (is 'valeur' a renamed 'value'?)",),
    ),
    "raw-unquoted-comma": Case(
        replace("observations", ",1639,count", ",1,639,count"),
        BUILD,
        3,
        (
            "error: {raw}/observations.csv: not a valid CSV table: Error tokenizing data. "
            "C error: Expected 16 fields in line 3, saw 17",
        ),
    ),
    "raw-unclosed-quote": Case(
        replace("observations", "O0002,S000,para 5", 'O0002,S000,"para 5'),
        BUILD,
        3,
        ("re:error: {raw}/observations.csv:3: .*",),
    ),
    "raw-folder-missing": Case(
        None,
        ("build", "--raw", "{tmp}/nope", "--out", "{out}"),
        3,
        ("error: {tmp}/nope: no such folder of raw tables",),
    ),
    "out-is-a-file": Case(
        write("file", "not a folder\n"),
        ("build", "--raw", "{raw}", "--out", "{tmp}/file/processed"),
        3,
        ("re:error: {tmp}/file/processed: .*",),
    ),
    # ---- raw tables: rows rejected with the reason (exit 1)
    "raw-duplicate-id": Case(
        replace("observations", "O0002,", "O0001,"),
        BUILD,
        1,
        ("rejected observations.csv:3 O0001 obs_id='O0001': duplicate obs_id: first on line 2",),
    ),
    "raw-percent-175": Case(
        replace("observations", ",75.51,percent", ",175,percent"),
        BUILD,
        1,
        (
            "rejected observations.csv:2 O0001 value='175': percent above 100 "
            "(only changes and shares of a target may exceed 100)",
        ),
    ),
    "raw-count-minus-3": Case(
        replace("observations", ",1639,count", ",-3,count"),
        BUILD,
        1,
        (
            "rejected observations.csv:3 O0002 value='-3': below the indicator's minimum of 0 "
            "(only *_change indicators may be negative)",
        ),
    ),
    "raw-count-with-decimals": Case(
        replace("observations", ",1639,count", ",1.639,count"),
        BUILD,
        1,
        ("rejected observations.csv:3 O0002 value='1.639': a count must be a whole number",),
    ),
    "raw-percent-with-comma-and-sign": Case(
        replace("observations", ",75.51,percent", ',"75,51%",percent'),
        BUILD,
        1,
        (f"rejected observations.csv:2 O0001 value='75,51%': {NOT_A_NUMBER}; write 75.51",),
    ),
    "raw-count-with-grouping-comma": Case(
        replace("observations", ",1639,count", ',"1,639",count'),
        BUILD,
        1,
        (f"rejected observations.csv:3 O0002 value='1,639': {NOT_A_NUMBER}; write 1639",),
    ),
    "raw-value-nan": Case(
        replace("observations", ",1639,count", ",NaN,count"),
        BUILD,
        1,
        (f"rejected observations.csv:3 O0002 value='NaN': {NOT_A_NUMBER}",),
    ),
    "raw-value-empty": Case(
        replace("observations", ",1639,count", ",,count"),
        BUILD,
        1,
        ("rejected observations.csv:3 O0002 value='': empty; a value is required",),
    ),
    "raw-unit-differs-from-codebook": Case(
        replace("observations", ",1639,count", ",1639,percent"),
        BUILD,
        1,
        ("rejected observations.csv:3 O0002 unit='percent': differs from the codebook's unit for this indicator",),
    ),
    "raw-unknown-qualifier": Case(
        replace("observations", ",1639,count,exact", ",1639,count,roughly"),
        BUILD,
        1,
        (
            "rejected observations.csv:3 O0002 qualifier='roughly': must be one of: exact, "
            "more_than, nearly, about, at_least",
        ),
    ),
    "raw-period-ends-before-start": Case(
        replace(
            "observations",
            "disciplined_members,22,count,exact,,2020-01,,publication_date",
            "disciplined_members,22,count,exact,,2020-01,2019-06,stated",
        ),
        BUILD,
        1,
        ("rejected observations.csv:4 O0003 period_end='2019-06': period ends before it starts",),
    ),
    "raw-31-february": Case(
        replace("observations", ",2021-06-20,,,stated", ",31/02/2021,,,stated"),
        BUILD,
        1,
        ("rejected observations.csv:3 O0002 as_of='31/02/2021': no such date",),
    ),
    "raw-month-13": Case(
        replace("observations", ",2021-06-20,,,stated", ",2021-13-01,,,stated"),
        BUILD,
        1,
        ("rejected observations.csv:3 O0002 as_of='2021-13-01': no such date",),
    ),
    "raw-unknown-source": Case(
        replace("observations", "O0002,S000,", "O0002,S999,"),
        BUILD,
        1,
        ("rejected observations.csv:3 O0002 source_id='S999': unknown source id; not in sources.csv",),
    ),
    "raw-unknown-indicator": Case(
        replace("observations", ",party_members,1639", ",party_memberz,1639"),
        BUILD,
        1,
        ("rejected observations.csv:3 O0002 indicator='party_memberz': unknown indicator; not in codebook.csv",),
    ),
    "raw-unknown-unit-name": Case(
        replace("observations", "O0002,S000,para 5,Kon Rẫy,", "O0002,S000,para 5,Kon Rậy Mới,"),
        BUILD,
        1,
        ("rejected observations.csv:3 O0002 unit_name='Kon Rậy Mới': unknown unit 'Kon Rậy Mới'; closest: Kon Rẫy",),
    ),
    "raw-rejected-source-takes-its-figures": Case(
        replace(
            "sources",
            "đảng ở cơ sở,,\"undated; figures given as 'đến nay'\",,vi,",
            "đảng ở cơ sở,,\"undated; figures given as 'đến nay'\",,fr,",
        ),
        BUILD,
        1,
        (
            "rejected sources.csv:4 S002 language='fr': must be one of: vi, en",
            "re:rejected observations.csv:20 O0019 source_id='S002': "
            "(?!unknown source id; not in sources.csv).*rejected.*",
        ),
    ),
    # ---- raw tables: accepted as they are (exit 0)
    "raw-byte-order-marks": Case(every_table(lambda data: b"\xef\xbb\xbf" + data), BUILD, 0, ()),
    "raw-windows-line-ends": Case(every_table(lambda data: data.replace(b"\n", b"\r\n")), BUILD, 0, ()),
    "raw-formula-in-note": Case(
        replace(
            "observations", "Members of the district organisation on 20 June 2021.", '"=HYPERLINK(""http://x"",""y"")"'
        ),
        BUILD,
        0,
        (),
    ),
    # ---- validate writes nothing
    "validate-folder-missing": Case(
        None, ("validate", "{tmp}/nope"), 3, ("error: {tmp}/nope: no such folder of raw tables",)
    ),
    # ---- report schedules (exit 2, nothing runs, no output folder)
    "schedule-python-tag": Case(
        lambda tmp: (tmp / "s.yml").write_text(
            "jobs:\n  - notebook: toy\n    parameters:\n"
            f'      mode: !!python/object/apply:os.system ["touch {tmp}/pwned"]\n',
            encoding="utf-8",
        ),
        REPORT,
        2,
        (
            "error: {tmp}/s.yml:4: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not "
            "allowed: a schedule holds plain values only (text, numbers, true/false, null, lists, mappings)",
        ),
    ),
    "schedule-unknown-notebook": Case(
        write("s.yml", "jobs:\n  - notebook: tyo\n"),
        REPORT,
        2,
        schedule_problem("job 1: unknown notebook 'tyo' (did you mean 'toy'?); available: toy"),
    ),
    "schedule-mistyped-parameter": Case(
        write("s.yml", "jobs:\n  - notebook: toy\n    parameters: {mdoe: raise}\n"),
        REPORT,
        2,
        schedule_problem("job 1 (toy): unknown parameter 'mdoe' (did you mean 'mode'?); declared: mode"),
    ),
    "schedule-wrong-type": Case(
        write("s.yml", "jobs:\n  - notebook: toy\n    parameters: {mode: 3}\n"),
        REPORT,
        2,
        schedule_problem("job 1 (toy): mode: expected text like the notebook's default 'ok', got number 3"),
    ),
    "schedule-unquoted-date": Case(
        write("s.yml", "jobs:\n  - notebook: toy\n    parameters: {mode: 2021-06-20}\n"),
        REPORT,
        2,
        schedule_problem(
            "job 1 (toy): mode: datetime.date(2021, 6, 20) is a "
            "date, not a JSON value (quote dates and other such "
            "values)"
        ),
    ),
    "schedule-sets-output-json": Case(
        write("s.yml", "jobs:\n  - notebook: toy\n    parameters: {output_json: /etc/x}\n"),
        REPORT,
        2,
        schedule_problem("job 1 (toy): 'output_json' is set by the runner; remove it from the schedule"),
    ),
    "schedule-grid-not-a-list": Case(
        write("s.yml", "jobs:\n  - notebook: toy\n    grid: {mode: ok}\n"),
        REPORT,
        2,
        schedule_problem("job 1 (toy): mode: grid values must be a list, not 'ok'"),
    ),
    "schedule-negative-timeout": Case(
        write("s.yml", "timeout: {cell: -1}\njobs:\n  - notebook: toy\n"),
        REPORT,
        2,
        schedule_problem("timeout: cell: must be a positive number of seconds up to 604800 (a week), not -1"),
    ),
    "schedule-empty-jobs-list": Case(
        write("s.yml", "jobs: []\n"), REPORT, 2, schedule_problem("jobs: a non-empty list of jobs is required")
    ),
    "schedule-empty-file": Case(
        write("s.yml", ""), REPORT, 2, ("error: {tmp}/s.yml: a schedule is a mapping with a 'jobs' list",)
    ),
    "schedule-binary-file": Case(
        write("s.yml", PNG),
        REPORT,
        2,
        (
            "error: {tmp}/s.yml: cannot read the schedule: 'utf-8' codec can't decode byte 0x89 "
            "in position 0: invalid start byte",
        ),
    ),
    "schedule-invalid-yaml": Case(
        write("s.yml", "jobs:\n  - notebook: [toy\n"),
        REPORT,
        2,
        ("error: {tmp}/s.yml:3: not valid YAML: expected ',' or ']', but got '<stream end>'",),
    ),
    "schedule-missing": Case(
        None, ("report", "{tmp}/nope.yml", "--out", "{reports}"), 2, ("error: {tmp}/nope.yml: schedule not found",)
    ),
    # ---- command-line arguments
    "cli-unknown-command": Case(
        None,
        ("frobnicate",),
        2,
        (
            "python -m analysis: error: argument COMMAND: invalid choice: 'frobnicate' (choose "
            "from 'build', 'validate', 'report', 'kernel', 'check-notebooks', 'extract', "
            "'synthetic')",
        ),
        usage=True,
    ),
    "cli-no-command": Case(
        None, (), 2, ("python -m analysis: error: the following arguments are required: COMMAND",), usage=True
    ),
    "cli-option-without-value": Case(
        None,
        ("build", "--raw"),
        2,
        ("python -m analysis build: error: argument --raw: expected one argument",),
        usage=True,
    ),
    "cli-jobs-0": Case(GOOD_SCHEDULE, (*REPORT, "--jobs", "0"), 2, ("error: --jobs must be at least 1, not 0",)),
    "cli-jobs-minus-1": Case(
        GOOD_SCHEDULE, (*REPORT, "--jobs", "-1"), 2, ("error: --jobs must be at least 1, not -1",)
    ),
    "cli-jobs-not-a-number": Case(
        GOOD_SCHEDULE,
        (*REPORT, "--jobs", "abc"),
        2,
        ("python -m analysis report: error: argument --jobs/-j: invalid int value: 'abc'",),
        usage=True,
    ),
    "cli-cell-timeout-0": Case(
        GOOD_SCHEDULE,
        (*REPORT, "--cell-timeout", "0"),
        2,
        ("error: the cell timeout must be a positive number of seconds up to 604800 (a week), not 0.0",),
    ),
    "cli-synthetic-years-1900-2100": Case(
        None,
        ("synthetic", "--years", "1900-2100", "--out", "{tmp}/synthetic"),
        2,
        ("re:error: --years: '1900-2100': .*1945.*",),
    ),
    # ---- extraction
    "extract-nothing-to-do": Case(
        None, ("extract",), 2, ("error: extract: give either an ARTICLE to extract or --accept REVIEWED.csv",)
    ),
    "extract-without-unit": Case(
        write("article.txt", ARTICLE),
        ("extract", "{tmp}/article.txt", "--source", "S000"),
        2,
        ("error: unit: --unit is required to extract an article",),
    ),
    "extract-date-not-iso": Case(
        write("article.txt", ARTICLE),
        (
            "extract",
            "{tmp}/article.txt",
            "--unit",
            "Kon Rẫy, Kon Tum",
            "--published",
            "23/08/2021",
            "--source",
            "S000",
            "--raw",
            "{raw}",
        ),
        2,
        ("error: published: expected a date as YYYY-MM-DD, YYYY-MM or YYYY, got '23/08/2021'",),
    ),
    "extract-missing-article": Case(
        None, ("extract", "{tmp}/nope.txt", *ARTICLE_OPTIONS), 3, ("error: {tmp}/nope.txt: file not found",)
    ),
    "extract-empty-article": Case(
        write("article.txt", b""),
        ("extract", "{tmp}/article.txt", *ARTICLE_OPTIONS),
        3,
        ("error: {tmp}/article.txt: empty file: no article text",),
    ),
    "extract-blank-article": Case(
        write("article.txt", " \n\n\t\n"),
        ("extract", "{tmp}/article.txt", *ARTICLE_OPTIONS),
        3,
        ("error: {tmp}/article.txt: empty file: no article text",),
    ),
    "extract-binary-article": Case(
        write("article.txt", PNG),
        ("extract", "{tmp}/article.txt", *ARTICLE_OPTIONS),
        3,
        ("error: {tmp}/article.txt: binary file (NUL byte at byte offset 8); expected UTF-8 text",),
    ),
    "extract-windows-1258-article": Case(
        write("article.txt", ARTICLE.encode("cp1258", errors="replace")),
        ("extract", "{tmp}/article.txt", *ARTICLE_OPTIONS),
        3,
        ("error: {tmp}/article.txt: not UTF-8 text: byte 0xe3 at byte offset 10; save the article as UTF-8",),
    ),
    "extract-21-mb-article": Case(
        write("article.txt", ARTICLE * (21 * 2**20 // len(ARTICLE.encode()) + 1)),
        ("extract", "{tmp}/article.txt", *ARTICLE_OPTIONS),
        3,
        ("error: {tmp}/article.txt: file is 21.0 MB; the limit for an article is 20 MB",),
    ),
    "extract-candidates-file-exists": Case(
        both(write("article.txt", ARTICLE), write("article.candidates.csv", "obs_id,accept\nNEW-001,y\n")),
        ("extract", "{tmp}/article.txt", *ARTICLE_OPTIONS, "--out", "{tmp}/article.candidates.csv"),
        2,
        (
            "error: out: {tmp}/article.candidates.csv exists and may hold your review; pass --force to overwrite it "
            "or --out another file",
        ),
    ),
    "accept-missing-file": Case(None, ACCEPT, 3, ("error: {tmp}/reviewed.csv: file not found",)),
    "accept-binary-file": Case(
        write("reviewed.csv", PNG),
        ACCEPT,
        3,
        ("error: {tmp}/reviewed.csv:1: not UTF-8: byte 0x89 at byte offset 0; save the file as UTF-8",),
    ),
    "accept-no-accept-column": Case(
        reviewed(columns=[c for c in CANDIDATE_COLUMNS if c != "accept"]),
        ACCEPT,
        3,
        ("error: {tmp}/reviewed.csv:1: not a candidates table: missing column(s) accept",),
    ),
    "accept-answer-maybe": Case(
        reviewed(accept="maybe"),
        ACCEPT,
        3,
        (
            "error: {tmp}/reviewed.csv:2: accept: 'maybe' is neither yes (y, yes, 1, true, x), "
            "no (n, no, 0, false, empty) nor skip (s, skip)",
        ),
    ),
    "accept-unknown-unit": Case(
        reviewed(unit_name="Kon Rậy Mới"),
        ACCEPT,
        1,
        (
            "refused: nothing appended to {raw}",
            "{tmp}/reviewed.csv:2: unit_name 'Kon Rậy Mới': unknown unit 'Kon Rậy Mới'; closest: Kon Rẫy",
        ),
    ),
}

#: Cases also run through ``python -m analysis`` in a separate process.
SUBPROCESS_SAMPLE = (
    "raw-binary-file",
    "raw-missing-column",
    "raw-percent-175",
    "schedule-python-tag",
    "cli-unknown-command",
    "cli-jobs-0",
    "extract-21-mb-article",
)


def params(ids):
    return [
        pytest.param(
            name, id=name, marks=pytest.mark.xfail(strict=True, reason=CASES[name].bug) if CASES[name].bug else ()
        )
        for name in ids
    ]


# ------------------------------------------------------------------ running a case


@pytest.fixture(scope="module")
def good_build(tmp_path_factory) -> Path:
    """Processed tables built from the good small raw tables (copied before each case)."""
    folder = tmp_path_factory.mktemp("good")
    outcome = run_cli("build", "--raw", copy_raw(folder / "raw"), "--out", folder / "processed", "--quiet")
    assert outcome.code == 0, outcome.stderr
    return folder / "processed"


@dataclass
class Prepared:
    tmp: Path
    argv: list[str]
    places: dict
    inputs: dict
    processed: dict


def prepare(name: str, tmp: Path, good_build: Path) -> Prepared:
    case = CASES[name]
    copy_raw(tmp / "raw")
    shutil.copytree(good_build, tmp / "processed")
    if case.setup is not None:
        case.setup(tmp)
    places = {"raw": str(tmp / "raw"), "out": str(tmp / "processed"), "reports": str(tmp / "reports"), "tmp": str(tmp)}
    return Prepared(tmp, [a.format(**places) for a in case.argv], places, inputs(tmp), fingerprint(tmp / "processed"))


def inputs(tmp: Path) -> dict:
    """Fingerprint of everything in the case folder except the output folders."""
    return {
        path: digest
        for path, digest in fingerprint(tmp).items()
        if not path.startswith(("processed/", "reports/", "no-default-folder/"))
    }


def check_stderr(case: Case, lines: list[str], places: dict) -> None:
    assert not any("Traceback" in line for line in lines), "\n".join(lines)
    expected = list(case.stderr)
    if case.usage:
        assert lines and lines[0].startswith("usage: python -m analysis"), lines
        lines = lines[-1:]
    assert len(lines) == len(expected), "\n".join(lines)
    for line, want in zip(lines, expected):
        if want.startswith("re:"):
            pattern = want[3:].format(**{k: re.escape(v) for k, v in places.items()})
            assert re.fullmatch(pattern, line), f"{line!r} does not match {pattern!r}"
        else:
            assert line == want.format(**places)


def check_outputs(name: str, prepared: Prepared, code: int) -> None:
    """Inputs untouched; processed intact (failure) or a consistent new build; no report folder on refusal."""
    tmp = prepared.tmp
    assert inputs(tmp) == prepared.inputs, "an input changed or a file appeared outside the output folder"
    assert leftovers(tmp) == []
    argv = CASES[name].argv
    if argv[:1] == ("build",) and "{out}" in argv:
        if code == 3:
            assert fingerprint(tmp / "processed") == prepared.processed, "the previous processed data changed"
        else:
            rebuilt = read_processed(tmp / "processed")
            rejected_lines = len(CASES[name].stderr)
            assert len(rebuilt.rejects.drop_duplicates(["table", "line"])) == rejected_lines
    else:
        assert fingerprint(tmp / "processed") == prepared.processed
    if argv[:1] == ("report",):
        assert not (tmp / "reports").exists(), "a refused report run created its output folder"


@pytest.mark.parametrize("name", params(CASES))
def test_bad_input_gets_its_message_and_exit_status(name, tmp_path, good_build, monkeypatch):
    monkeypatch.setenv("ANALYSIS_NOTEBOOKS_DIR", str(TOY_NOTEBOOKS))
    case = CASES[name]
    prepared = prepare(name, tmp_path, good_build)
    outcome = run_cli(*prepared.argv)
    check_stderr(case, outcome.errors, prepared.places)
    assert outcome.code == case.code
    if case.code in (2, 3):
        assert outcome.stdout == ""
    check_outputs(name, prepared, outcome.code)
    assert not (tmp_path / "pwned").exists()  # nothing in a schedule is ever executed


@pytest.mark.parametrize("name", params(SUBPROCESS_SAMPLE))
def test_bad_input_through_the_real_entry_point(name, tmp_path, good_build):
    case = CASES[name]
    prepared = prepare(name, tmp_path, good_build)
    env = cli_env(ANALYSIS_NOTEBOOKS_DIR=TOY_NOTEBOOKS, ANALYSIS_RAW_DIR=tmp_path / "no-default-folder")
    outcome = run_module(*prepared.argv, env=env, cwd=tmp_path)
    assert "Traceback" not in outcome.stderr
    check_stderr(case, outcome.errors, prepared.places)
    assert outcome.code == case.code
    check_outputs(name, prepared, outcome.code)
    assert not (tmp_path / "pwned").exists()


# ------------------------------------------------------------------ accepted variants give the same data


@pytest.mark.parametrize("name", ["raw-byte-order-marks", "raw-windows-line-ends"])
def test_bom_and_crlf_build_the_same_observations(name, tmp_path, good_build):
    prepared = prepare(name, tmp_path, good_build)
    assert run_cli(*prepared.argv).code == 0
    for table in ("observations.csv", "flags.csv", "sources.csv", "units.csv", "codebook.csv", "metrics.csv"):
        assert (tmp_path / "processed" / table).read_bytes() == (good_build / table).read_bytes(), table


# ------------------------------------------------------------------ a raw period of 1900-2100

PERIOD_1900_2100 = (
    "disciplined_members,22,count,exact,,2020-01,,publication_date",
    "disciplined_members,22,count,exact,,1900,2100,stated",
)


def test_raw_period_1900_to_2100_is_rejected_or_flagged(small_raw):
    from analysis.data.dataset import load_dataset

    edit(small_raw / "observations.csv", *PERIOD_1900_2100)
    ds = load_dataset(small_raw)
    rejected = ds.rejects.loc[ds.rejects["record_id"] == "O0003", "field"].tolist()
    flagged = ds.flags.loc[
        ds.flags["obs_ids"].str.contains(r"(?:^|;)O0003(?:;|$)") & (ds.flags["rule"] != "historical_unit"), "rule"
    ].tolist()
    assert rejected in (["period_start"], ["period_end"]) or flagged


# ------------------------------------------------------------------ 50 MB raw files


def limited_memory(limit_bytes: int):
    """A ``preexec_fn`` capping the child's address space, so a blow-up fails fast instead of filling the machine."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return apply


FIFTY_MB = 50 * 2**20
MEMORY_LIMIT = 3 * 2**30


def build_in_a_process(tmp: Path) -> tuple:
    """``python -m analysis build`` on ``tmp/raw`` with 3 GB of address space; (outcome, seconds)."""
    import subprocess
    import sys

    started = time.monotonic()
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "build",
            "--raw",
            str(tmp / "raw"),
            "--out",
            str(tmp / "processed"),
            "--quiet",
        ],
        env=cli_env(OPENBLAS_NUM_THREADS=1),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limited_memory(MEMORY_LIMIT),
    )
    return process, time.monotonic() - started


def test_50_mb_binary_raw_file_is_refused_within_seconds(tmp_path, good_build):
    copy_raw(tmp_path / "raw")
    shutil.copytree(good_build, tmp_path / "processed")
    before = fingerprint(tmp_path / "processed")
    (tmp_path / "raw" / "observations.csv").write_bytes(bytes(range(128, 256)) * (FIFTY_MB // 128))
    process, seconds = build_in_a_process(tmp_path)
    assert process.returncode == 3
    assert process.stderr.splitlines() == [
        f"error: {tmp_path}/raw/observations.csv:1: not UTF-8: byte 0x80 at byte offset 0; save the file as UTF-8"
    ]
    assert seconds < 20
    assert fingerprint(tmp_path / "processed") == before


def test_50_mb_single_line_is_refused_with_a_short_message(tmp_path, good_build):
    copy_raw(tmp_path / "raw")
    shutil.copytree(good_build, tmp_path / "processed")
    before = fingerprint(tmp_path / "processed")
    (tmp_path / "raw" / "observations.csv").write_bytes(b"a" * FIFTY_MB)
    process, seconds = build_in_a_process(tmp_path)
    assert process.returncode == 3
    (line,) = process.stderr.splitlines()
    assert line.startswith(f"error: 16 problems: {tmp_path}/raw/observations.csv:1: missing column 'obs_id'; ")
    assert len(line) < 2000  # the 50 MB header is not echoed
    assert seconds < 20
    assert fingerprint(tmp_path / "processed") == before


def one_figure_repeated(tmp: Path, size: int) -> int:
    """Fill observations.csv with one figure printed by two sources, repeated under new ids up to ``size`` bytes.

    Returns:
        The number of rows.
    """
    path = tmp / "raw" / "observations.csv"
    header, first, *_ = path.read_text(encoding="utf-8").splitlines()
    rest = first[first.index(",") :]
    other = rest.replace(",S000,", ",S101,", 1)
    count = size // (len(rest.encode()) + 9)
    lines = [header, *(f"O{n:07d}{other if n % 2 else rest}" for n in range(1, count + 1))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count


def test_50_mb_repeating_one_figure_is_handled_within_seconds_in_bounded_memory(tmp_path):
    copy_raw(tmp_path / "raw")
    rows = one_figure_repeated(tmp_path, FIFTY_MB)
    process, seconds = build_in_a_process(tmp_path)
    assert "Traceback" not in process.stderr and "internal error" not in process.stderr
    assert process.returncode in (0, 1)
    assert read_processed(tmp_path / "processed").rows_in["observations"] == rows
    assert seconds < 60
