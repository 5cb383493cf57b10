"""Provenance: the package, commit, data and environment a report records, and where it shows them.

The end-to-end runs (artifacts, footers and index of real report jobs) are
in ``tests/test_reproducible.py``; these tests pin the record itself, the
hashes it gives and the pages it is drawn on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.data.dataset import load_dataset, write_processed
from analysis.reports import provenance
from analysis.reports.index import build_index, render_index_html

REPO = Path(__file__).resolve().parents[1]


def sha256sum_listing(folder: Path) -> str:
    """What ``sha256sum codebook.csv context.csv observations.csv sources.csv units.csv | sha256sum`` prints."""
    names = ["codebook.csv", "context.csv", "observations.csv", "sources.csv", "units.csv"]
    listing = "".join(f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    return hashlib.sha256(listing.encode()).hexdigest()


def change_one_byte(folder: Path) -> None:
    path = folder / "observations.csv"
    content = bytearray(path.read_bytes())
    content[-2] = ord("9") if content[-2] != ord("9") else ord("8")
    path.write_bytes(bytes(content))


# ----------------------------------------------------------------------- data


def test_table_hashes_are_those_build_json_records(small_raw, tmp_path):
    build = write_processed(load_dataset(small_raw), tmp_path)
    assert provenance.raw_table_hashes(small_raw) == dict(sorted(build["raw_files"].items()))


def test_data_hash_is_the_sha256sum_listing_of_the_raw_tables(small_raw):
    assert provenance.data_hash(provenance.raw_table_hashes(small_raw)) == sha256sum_listing(small_raw)


def test_one_changed_byte_changes_the_data_hash(small_raw):
    before = provenance.data_record(provenance.raw_table_hashes(small_raw))
    change_one_byte(small_raw)
    after = provenance.data_record(provenance.raw_table_hashes(small_raw))
    assert after["sha256"] != before["sha256"]
    changed = {name for name in before["tables"] if before["tables"][name] != after["tables"][name]}
    assert changed == {"observations.csv"}


@pytest.mark.parametrize("command", ["validate", "build"])
def test_validate_and_build_print_the_data_hash_on_their_summary(command, small_raw, tmp_path, capsys):
    argv = (
        [command, str(small_raw)]
        if command == "validate"
        else [command, "--raw", str(small_raw), "--out", str(tmp_path)]
    )
    assert main(argv) == 0
    expected = f"data sha256 {sha256sum_listing(small_raw)} (5 raw tables)"
    assert expected in capsys.readouterr().out.splitlines()
    change_one_byte(small_raw)
    main(argv)
    assert expected not in capsys.readouterr().out


# ----------------------------------------------------------------------- code and environment


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A git repository with one commit."""
    folder = tmp_path / "repo"
    folder.mkdir()
    git(folder, "init", "-q")
    (folder / "a.py").write_text("x = 1\n")
    git(folder, "add", "a.py")
    git(folder, "commit", "-q", "-m", "one")
    return folder


def test_code_state_gives_the_commit_and_whether_the_tree_changed(checkout):
    assert provenance.code_state(checkout) == {"commit": git(checkout, "rev-parse", "HEAD"), "dirty": False}
    (checkout / "a.py").write_text("x = 2\n")
    assert provenance.code_state(checkout)["dirty"] is True
    git(checkout, "checkout", "a.py")
    (checkout / "new.py").write_text("")  # an untracked file could change what runs
    assert provenance.code_state(checkout)["dirty"] is True


def test_a_package_inside_another_checkout_claims_no_commit(checkout):
    inner = checkout / "venv" / "site-packages"
    inner.mkdir(parents=True)
    assert provenance.code_state(inner) is None


def test_the_record_gives_this_checkout_and_the_installed_versions():
    from importlib.metadata import version

    import pandas

    record = provenance.describe()
    assert record["code"]["commit"] == git(REPO, "rev-parse", "HEAD")
    assert record["libraries"]["pandas"] == pandas.__version__
    assert record["libraries"]["statsmodels"] == version("statsmodels")
    assert set(record["libraries"]) == {"pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "papermill"}


def test_the_package_version_is_the_one_pyproject_declares():
    import tomllib

    import analysis

    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert provenance.describe()["package"] == {"name": "grassroots-analysis", "version": declared}
    assert analysis.__version__ == declared


def test_schedule_record_names_a_repository_file_relative_to_it_and_hashes_it(tmp_path):
    record = provenance.schedule_record(REPO / "schedules" / "default.yml")
    assert record == {
        "file": "schedules/default.yml",
        "sha256": hashlib.sha256((REPO / "schedules" / "default.yml").read_bytes()).hexdigest(),
    }
    outside = shutil.copy(REPO / "schedules" / "default.yml", tmp_path / "s.yml")
    assert provenance.schedule_record(outside) == {"file": str(outside), "sha256": record["sha256"]}


# ----------------------------------------------------------------------- artifacts and pages


def test_stamping_keeps_the_notebooks_record_and_adds_the_schedule(tmp_path, small_raw):
    artifact = tmp_path / "a.json"
    notebook_record = provenance.describe(data=provenance.data_record(provenance.raw_table_hashes(small_raw)))
    artifact.write_text(json.dumps({"kind": "toy", "provenance": notebook_record}), encoding="utf-8")
    schedule = {"file": "schedules/x.yml", "sha256": "ab" * 32}
    stamped = provenance.stamp_artifact(artifact, schedule)
    assert stamped == {**notebook_record, "schedule": schedule}
    assert json.loads(artifact.read_text(encoding="utf-8")) == {"kind": "toy", "provenance": stamped}


def test_an_artifact_that_is_not_a_json_object_is_refused(tmp_path):
    artifact = tmp_path / "a.json"
    artifact.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="not a JSON object"):
        provenance.stamp_artifact(artifact, None)


def test_footer_says_package_commit_and_data_hash_and_escapes_text(small_raw):
    record = provenance.describe(
        data=provenance.data_record(provenance.raw_table_hashes(small_raw)),
        schedule={"file": "<b>s.yml</b>", "sha256": None},
    )
    footer = provenance.footer_html(record)
    summary = footer.split("<summary>")[1].split("</summary>")[0]
    assert record["package"]["version"] in summary and record["code"]["commit"] in summary
    assert sha256sum_listing(small_raw) in summary
    assert all(digest in footer for digest in record["data"]["tables"].values())
    assert "&lt;b&gt;s.yml&lt;/b&gt;" in footer and "<b>" not in footer and "<script" not in footer


def test_index_gives_the_runs_record_and_each_data_its_jobs_used(tmp_path):
    first, second = provenance.data_record({"units.csv": "11"}), provenance.data_record({"units.csv": "22"})
    jobs = [
        {"name": n, "status": "ok", "outputs": {}, "data": d}
        for n, d in (("a", first), ("b", second), ("c", first), ("d", {}))
    ]
    run = {"schedule": "s.yml", "provenance": provenance.describe(schedule={"file": "s.yml", "sha256": "cd"})}
    record = build_index(jobs, tmp_path, run)
    assert record["run"]["provenance"]["data"] == [first, second]
    assert [job["data"] for job in record["jobs"]] == [first, second, first, {}]
    page = render_index_html(record)
    assert first["sha256"] in page and second["sha256"] in page and "cd (s.yml)" in page
    assert record["run"]["provenance"]["libraries"]["pandas"] in page


def test_citation_file_gives_the_package_and_dataset_versions_and_licences():
    import tomllib

    import yaml

    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    package = json.loads((REPO / "data" / "raw" / "datapackage.json").read_text(encoding="utf-8"))
    assert (citation["version"], citation["license"]) == (project["version"], project["license"]["text"])
    dataset = next(ref for ref in citation["references"] if ref["type"] == "data")
    assert dataset["version"] == package["version"]
    assert dataset["license"] == package["licenses"][0]["name"]
