"""The real report notebooks on bad parameters and on data that contain markup.

One run of ``python -m analysis report`` (a separate process, two workers)
on the small raw tables, in which a source title and a district's full name
carry ``<script>`` elements. Four jobs get a bad parameter (a district
``../../etc/passwd``, ``lang='fr'``, a period that ends before it starts,
``levels=[1.5]``) and must fail alone with the parameter's one-line message;
one profile asks for the period 1900-2100 (accepted: it covers every dated
figure) and must render the markup from the data as text.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from .conftest import cli_env, copy_raw, edit, fingerprint, index_problems, run_module

pytestmark = pytest.mark.notebook

TITLE_SCRIPT = "<script>alert(1)</script>"
NAME_SCRIPT = "<script>alert(2)</script>"
SCHEDULE = """timeout: {cell: 120, job: 300}
jobs:
  - notebook: district_profile
    parameters: {district: Kon Rẫy, period_start: "1900", period_end: "2100"}
  - notebook: district_profile
    parameters: {district: ../../etc/passwd}
  - notebook: district_profile
    parameters: {district: Kon Rẫy, lang: fr}
  - notebook: district_profile
    parameters: {district: Kon Rẫy, period_start: "2100", period_end: "1900"}
  - notebook: district_comparison
    parameters: {levels: [1.5]}
"""
EXPECTED_ERRORS = {
    "../../etc/passwd": "UsageError: district: unknown district '../../etc/passwd' in Kon Tum; valid districts: "
    "Đắk Hà, Kon Rẫy, Kon Tum",
    "fr": "UsageError: lang: must be 'en' or 'vi', not 'fr'",
    "2100-1900": "UsageError: period_end: ends (1900-12-31) before it starts (2100-01-01)",
    "[1.5]": "UsageError: levels: must be two confidence levels, inner then outer, each a fraction from 0.9 "
    "to 1 or a percent from 90 to 100, e.g. [0.95, 0.998]; got [1.5]",
}


def etc_passwd() -> str:
    return hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() if Path("/etc/passwd").exists() else ""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("notebooks")
    raw = copy_raw(tmp / "raw")
    edit(raw / "sources.csv", "S000,Báo Kon Tum,Kon Rẫy:", f"S000,Báo Kon Tum,{TITLE_SCRIPT} Kon Rẫy:")
    edit(raw / "units.csv", ",Huyện Kon Rẫy,", f",Huyện Kon Rẫy {NAME_SCRIPT},")
    (tmp / "s.yml").write_text(SCHEDULE, encoding="utf-8")
    (tmp / "cwd").mkdir()
    before, passwd = fingerprint(tmp), etc_passwd()
    outcome = run_module(
        "report",
        tmp / "s.yml",
        "--out",
        tmp / "reports",
        "--jobs",
        "2",
        env=cli_env(ANALYSIS_RAW_DIR=raw),
        cwd=tmp / "cwd",
        timeout=300,
    )
    index = json.loads((tmp / "reports" / "index.json").read_text(encoding="utf-8"))
    return {
        "outcome": outcome,
        "index": index,
        "out": tmp / "reports",
        "tmp": tmp,
        "before": before,
        "after": fingerprint(tmp),
        "passwd": (passwd, etc_passwd()),
    }


def label(job: dict) -> str:
    """Which bad parameter a job was given ('' for the good job)."""
    p = job["parameters"]
    if job["notebook"] == "district_comparison":
        return json.dumps(p["levels"])
    if p["district"] != "Kon Rẫy":
        return p["district"]
    if "lang" in p:
        return p["lang"]
    return "" if p["period_start"] == "1900" else f"{p['period_start']}-{p['period_end']}"


def test_each_bad_parameter_fails_its_job_with_the_parameters_message(run):
    assert run["outcome"].code == 1
    assert "Traceback" not in run["outcome"].stderr
    failed = {label(job): job for job in run["index"]["jobs"] if job["status"] == "failed"}
    assert set(failed) == set(EXPECTED_ERRORS)
    for name, message in EXPECTED_ERRORS.items():
        assert failed[name]["reason"] == "error"
        assert re.fullmatch(re.escape(message) + r" \(at In \[\d+\]\)", failed[name]["error"]), failed[name]["error"]
    assert run["index"]["counts"] == {"ok": 1, "failed": 4}
    assert index_problems(run["out"]) == []


def test_path_like_district_writes_nothing_outside_the_output_folder(run):
    outside = {path: digest for path, digest in run["after"].items() if not path.startswith("reports/")}
    assert outside == run["before"]
    assert run["passwd"][0] == run["passwd"][1]
    written = sorted(p.relative_to(run["out"]).as_posix() for p in run["out"].rglob("*") if p.is_file())
    assert all(
        re.fullmatch(r"(index\.(html|json)|\.lock|district_(profile|comparison)/[a-z0-9_.-]+)", w) for w in written
    ), written
    assert [w for w in written if "passwd" in w] == [
        "district_profile/district_profile__district-etc-passwd.failed.html",
        "district_profile/district_profile__district-etc-passwd.failed.ipynb",
    ]


def test_period_1900_to_2100_is_accepted_and_covers_every_dated_figure(run):
    (good,) = [job for job in run["index"]["jobs"] if job["status"] == "ok"]
    assert label(good) == ""
    artifact = json.loads((run["out"] / good["outputs"]["artifact"]).read_text(encoding="utf-8"))
    assert (artifact["period_start"], artifact["period_end"]) == ("1900-01-01", "2100-12-31")
    # every figure of Kon Rẫy with a date; the undated villages figure (C0001) is in no period
    assert sorted(artifact["obs_ids"]) == sorted([f"O{n:04d}" for n in range(1, 13)] + ["C0002", "C0003"])


def report_page(run) -> str:
    (good,) = [job for job in run["index"]["jobs"] if job["status"] == "ok"]
    return (run["out"] / good["outputs"]["html"]).read_text(encoding="utf-8")


def test_report_shows_the_data_it_was_given(run):
    page = report_page(run)
    assert "Kon Rẫy: Nâng cao chất lượng tổ chức cơ sở đảng" in page
    assert "alert(1)" in page and "alert(2)" in page  # the text is in the report, one way or the other


def test_source_title_with_a_script_element_shows_as_text_in_tables(run):
    page = report_page(run)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_unit_name_with_a_script_element_shows_as_text_in_the_narration(run):
    page = report_page(run)
    assert "<script>alert(2)" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
