"""``python -m analysis build`` and ``validate``: output, exit codes, no tracebacks.

The exit codes and the absence of tracebacks are checked through a real
``python -m analysis`` process; the rest calls :func:`analysis.cli.main` in
the test process, which is faster and sees the same parser.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.data.storage import build_lock

REPO = Path(__file__).resolve().parents[1]


def run(*args, env=None):
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "analysis", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=120,
    )


def corrupt(raw, old, new):
    path = raw / "observations.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_validate_prints_rows_and_flags_and_exits_0(small_raw, tmp_path):
    result = run("validate", small_raw, env={"ANALYSIS_PROCESSED_DIR": str(tmp_path / "processed")})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["table", "rows", "in", "used", "rejected"]
    assert lines[4].split() == ["observations.csv", "32", "32", "0"]
    assert "  breakdown_exceeds_total    warning      1" in lines
    assert "  historical_unit            info         7" in lines
    assert not (tmp_path / "processed").exists()  # validate writes nothing


def test_validate_lists_each_reject_and_exits_1(small_raw):
    corrupt(small_raw, "village_heads_party_members_share,82.1,", "village_heads_party_members_share,175,")
    corrupt(small_raw, "O0002,S000", "O0002,S999")
    result = run("validate", small_raw)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "rejected observations.csv:3 O0002 source_id='S999': unknown source id; not in sources.csv",
        "rejected observations.csv:17 O0016 value='175': percent above 100 "
        "(only changes and shares of a target may exceed 100)",
    ]
    assert "observations.csv         32     30         2" in result.stdout


def test_an_input_error_is_one_line_with_exit_3(small_raw):
    corrupt(small_raw, "indicator,value,unit", "indicator,valeur,unit")
    result = run("validate", small_raw)
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {small_raw}/observations.csv:1: missing column 'value' (is 'valeur' a renamed 'value'?)\n"
    )


def test_validate_reads_the_raw_folder_from_the_environment_by_default(small_raw, monkeypatch, capsys):
    (small_raw / "units.csv").unlink()
    monkeypatch.setenv("ANALYSIS_RAW_DIR", str(small_raw))
    assert main(["validate"]) == 3
    assert capsys.readouterr().err == f"error: {small_raw}/units.csv: file not found\n"


def test_a_build_with_an_input_error_writes_nothing(small_raw, tmp_path, capsys):
    (small_raw / "sources.csv").write_bytes(b"")
    assert main(["build", "--raw", str(small_raw), "--out", str(tmp_path / "out")]) == 3
    assert capsys.readouterr().err == f"error: {small_raw}/sources.csv: empty file: no header row\n"
    assert not (tmp_path / "out").exists()


def test_build_writes_every_table_and_reports_what_it_wrote(small_raw, tmp_path, monkeypatch, capsys):
    out = tmp_path / "processed"
    monkeypatch.setenv("ANALYSIS_PROCESSED_DIR", str(out))
    assert main(["build", "--raw", str(small_raw)]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""
    written = {p.name for p in out.iterdir()}
    assert {
        "observations.csv",
        "flags.csv",
        "rejects.csv",
        "sources.csv",
        "units.csv",
        "codebook.csv",
        "build.json",
        ".lock",
    } <= written
    assert printed.out.splitlines()[-1].startswith("wrote observations, flags, rejects")
    assert printed.out.splitlines()[-1].endswith(f"and build.json to {out}")


def test_build_computes_metrics_when_the_metrics_module_has_them(small_raw, tmp_path, capsys):
    metrics = pytest.importorskip("analysis.stats.metrics")
    if not hasattr(metrics, "compute_metrics"):
        pytest.skip("analysis.stats.metrics has no compute_metrics yet")
    assert main(["build", "--raw", str(small_raw), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "metrics.csv").read_text(encoding="utf-8").startswith("unit_code,")
    assert "metrics" in capsys.readouterr().out.splitlines()[-1]


def test_build_quiet_prints_only_rejects_and_exits_1_when_rows_are_rejected(small_raw, tmp_path, capsys):
    corrupt(small_raw, "2021-06-20", "31/02/2021")
    assert main(["build", "--raw", str(small_raw), "--out", str(tmp_path), "--quiet"]) == 1
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == "rejected observations.csv:3 O0002 as_of='31/02/2021': no such date\n"
    assert (tmp_path / "rejects.csv").read_text(encoding="utf-8").splitlines()[
        1
    ] == "observations,3,O0002,as_of,31/02/2021,no such date"


def test_a_build_that_finds_the_lock_taken_exits_4_without_writing(small_raw, tmp_path):
    with build_lock(tmp_path):
        result = run("build", "--raw", small_raw, "--out", tmp_path, "--wait", "0.2")
    assert result.returncode == 4
    assert result.stderr == (
        f"error: {tmp_path}/.lock: another build (pid {os.getpid()}) holds the lock; waited 0.2 s, try again later\n"
    )
    assert not (tmp_path / "observations.csv").exists()


@pytest.mark.parametrize("command", ["build", "validate"])
def test_help_documents_the_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text
    for line in ("0  success", "1  finished, but some raw rows were rejected", "3  input error", "4  busy"):
        assert line in text
