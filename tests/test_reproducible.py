"""Same inputs, same outputs: report runs on the same data and environment write the same artifacts.

One job of each report notebook runs twice on the small fixture data, with
different ``PYTHONHASHSEED`` values (so any order that hangs on string
hashing, such as iterating over a set, would show); every JSON artifact must
be the same, byte for byte. Times and durations live only in the index.
Each output records its provenance, and a changed byte of the raw data
changes the data hash the next run's reports show.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.reports.provenance import data_record, raw_table_hashes, schedule_record
from analysis.reports.run import run_schedule

pytestmark = pytest.mark.notebook

SCHEDULE = """
defaults: {{data_dir: "{data_dir}", lang: en}}
jobs:
  - notebook: district_profile
    parameters: {{district: Kon Rẫy, province: Kon Tum}}
  - notebook: district_comparison
    parameters: {{province: Kon Tum, family: discipline, benchmark: 4.0}}
  - notebook: data_quality
"""


def run(schedule: Path, out_dir: Path, seed: str, monkeypatch) -> dict:
    """Run the schedule with ``PYTHONHASHSEED=seed`` (inherited by the workers and kernels); the index and artifacts."""
    monkeypatch.setenv("PYTHONHASHSEED", seed)
    monkeypatch.setenv("MPLBACKEND", "agg")
    summary = run_schedule(schedule, out_dir=out_dir, workers=2)
    assert summary.failed == []
    artifacts = {result.name: (out_dir / result.outputs["artifact"]).read_bytes() for result in summary.results}
    pages = {result.name: (out_dir / result.outputs["html"]).read_text(encoding="utf-8") for result in summary.results}
    return {"index": json.loads(summary.index_json.read_text(encoding="utf-8")), "artifacts": artifacts, "pages": pages}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs of the same schedule on the same data with different hash seeds, then one after a changed byte."""
    import shutil

    folder = tmp_path_factory.mktemp("same")
    raw = Path(shutil.copytree(Path(__file__).parent / "fixtures" / "raw_small", folder / "raw"))
    schedule = folder / "three.yml"
    schedule.write_text(SCHEDULE.format(data_dir=raw), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        first = run(schedule, folder / "first", "1", patch)
        second = run(schedule, folder / "second", "2", patch)
        data = data_record(raw_table_hashes(raw))
        observations = raw / "observations.csv"
        observations.write_bytes(observations.read_bytes().replace(b"1639", b"1638", 1))
        changed = run(schedule, folder / "changed", "3", patch)
    return {
        "first": first,
        "second": second,
        "changed": changed,
        "data": data,
        "changed_data": data_record(raw_table_hashes(raw)),
        "schedule": schedule_record(schedule),
    }


def test_two_runs_with_different_hash_seeds_write_byte_identical_artifacts(runs):
    first, second = runs["first"]["artifacts"], runs["second"]["artifacts"]
    assert sorted(first) == sorted(second) and len(first) == 3
    assert {name for name in first if first[name] != second[name]} == set()


def test_times_live_in_the_index_not_in_the_artifacts(runs):
    jobs = runs["first"]["index"]["jobs"]
    assert all(job["started"] and job["duration"] > 0 for job in jobs)
    for artifact in runs["first"]["artifacts"].values():
        text = artifact.decode("utf-8")
        assert jobs[0]["started"][:10] not in text  # no date of the run


def test_every_artifact_records_code_data_schedule_and_environment(runs):
    for artifact in runs["first"]["artifacts"].values():
        record = json.loads(artifact)["provenance"]
        assert record["data"] == runs["data"]
        assert record["schedule"] == runs["schedule"]
        assert record["package"]["name"] == "grassroots-analysis" and record["python"]
        assert record["libraries"]["pandas"] and record["libraries"]["papermill"]


def test_every_report_page_ends_with_the_provenance_footer(runs):
    for page in runs["first"]["pages"].values():
        footer = page[page.index('<footer class="provenance"') :]
        assert runs["data"]["sha256"] in footer and runs["schedule"]["sha256"] in footer
        assert footer.index("</footer>") < footer.index("</body>")


def test_the_index_gives_the_runs_provenance_and_each_jobs_data(runs):
    index = runs["first"]["index"]
    assert index["run"]["provenance"]["data"] == [runs["data"]]
    assert index["run"]["provenance"]["schedule"] == runs["schedule"]
    assert all(job["data"] == runs["data"] for job in index["jobs"])


def test_a_changed_byte_of_the_raw_data_changes_the_hash_the_next_reports_show(runs):
    new = runs["changed_data"]
    assert new["sha256"] != runs["data"]["sha256"]
    for name, artifact in runs["changed"]["artifacts"].items():
        assert json.loads(artifact)["provenance"]["data"] == new
        assert new["sha256"] in runs["changed"]["pages"][name]
        assert runs["data"]["sha256"] not in runs["changed"]["pages"][name]
    assert runs["changed"]["index"]["run"]["provenance"]["data"] == [new]
