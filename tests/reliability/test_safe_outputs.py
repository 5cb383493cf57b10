"""CSV files are safe to open: formula-like text is data, and neutralised where a spreadsheet opens the file.

Two kinds of CSV leave the project:

* the **processed tables** (``data/processed``) are data for pandas and R:
  a note such as ``=HYPERLINK(...)`` must come back exactly as typed
  (prefixing it would change the data);
* the **extraction candidates file** is made to be reviewed in a
  spreadsheet: a cell that starts like a formula (``=``, ``+``, ``@``, a tab,
  or ``-`` before a non-number) must be neutralised with a leading ``'``,
  and accepting the reviewed file must still append the text as typed.

(The report runner writes no CSV; its JSON artifacts are not opened by
spreadsheets.)
"""

from __future__ import annotations

import csv
import re

import pandas as pd
import pytest

from analysis.data.dataset import read_processed

from .conftest import edit, run_cli

FORMULA = '=HYPERLINK("http://x","y")'
ARTICLE = "Kon Rẫy chăm lo xây dựng Đảng\nĐến ngày 30/6/2022, Đảng bộ huyện có 1.700 đảng viên.\n"
#: What a spreadsheet would take as the start of a formula (a leading '-' only before a non-number).
FORMULA_START = re.compile(r"^(?:[=+@\t\r]|-(?![\d.]))")


def test_processed_tables_keep_a_formula_like_note_as_typed(small_raw, tmp_path):
    edit(
        small_raw / "observations.csv",
        "Members of the district organisation on 20 June 2021.",
        '"=HYPERLINK(""http://x"",""y"")"',
    )
    assert run_cli("build", "--raw", small_raw, "--out", tmp_path / "processed", "--quiet").code == 0
    notes = read_processed(tmp_path / "processed").observations.set_index("obs_id")["note"]
    assert notes["O0002"] == FORMULA
    as_r_reads_it = pd.read_csv(tmp_path / "processed" / "observations.csv", dtype=str).set_index("obs_id")
    assert as_r_reads_it.loc["O0002", "note"] == FORMULA


@pytest.fixture
def candidates(small_raw, tmp_path):
    """Candidates of a short article for a new source whose title and publisher look like formulas."""
    article = tmp_path / "article.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    outcome = run_cli(
        "extract",
        article,
        "--unit",
        "Kon Rẫy, Kon Tum",
        "--published",
        "2022-07-01",
        "--source",
        "NEW",
        "--publisher",
        "@Báo thử",
        "--title",
        FORMULA,
        "--raw",
        small_raw,
        "--out",
        tmp_path / "article.candidates.csv",
    )
    assert outcome.code == 0, outcome.stderr
    path = tmp_path / "article.candidates.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["indicator"], r["value"]) for r in rows] == [("party_members", "1700")]
    return small_raw, path, rows


def test_candidates_file_neutralises_formula_like_cells(candidates):
    _, _, rows = candidates
    live = [(column, value) for row in rows for column, value in row.items() if FORMULA_START.match(value or "")]
    assert live == []
    assert rows[0]["source_title"] == "'" + FORMULA
    assert rows[0]["source_publisher"] == "'@Báo thử"


def test_accepting_reviewed_candidates_appends_the_title_as_typed(candidates):
    raw, path, rows = candidates
    before = {name: (raw / name).read_bytes() for name in ("sources.csv", "observations.csv")}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows([{**row, "accept": "y"} for row in rows])
    outcome = run_cli("extract", "--accept", path, "--raw", raw)
    assert outcome.code == 0, outcome.stderr
    for name, old in before.items():  # rows are appended; existing bytes are never rewritten
        assert (raw / name).read_bytes().startswith(old)
    sources = pd.read_csv(raw / "sources.csv", dtype=str, keep_default_na=False).set_index("source_id")
    assert (sources.loc["S104", "title"], sources.loc["S104", "publisher"]) == (FORMULA, "@Báo thử")
