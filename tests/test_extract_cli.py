"""``python -m analysis extract``: propose, review, accept (analysis.cli.extract).

The round trip runs on a private copy of ``tests/fixtures/raw_small`` (the
``small_raw`` fixture): its units know Kon Rẫy and Đăk Rve but not Đăk Kôi,
and its codebook has a few indicators only, which is what the refusal cases
use.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.data.dataset import load_dataset

ARTICLE = """Kon Rẫy: Củng cố tổ chức đảng ở thôn, làng
Tính đến ngày 20/6/2021, Đảng bộ huyện có 1.639 đảng viên. Thị trấn Đăk Rve và xã Đăk Kôi có 100% thôn trưởng là đảng viên.
Từ tháng 1/2020 đến nay, các cấp ủy thi hành kỷ luật 22 đảng viên, trong đó khai trừ 03, cảnh cáo 02.
"""  # noqa: E501 (one paragraph per line, as an article is read)
NEW_SOURCE = ["--source", "NEW", "--publisher", "Báo Thử Nghiệm", "--title", "Kon Rẫy củng cố tổ chức đảng"]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Every test runs in its own working directory, where candidates files are written."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def article(tmp_path) -> Path:
    path = tmp_path / "kon_ray.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


def propose(article, raw, *extra):
    return main(
        ["extract", str(article), "--unit", "Kon Rẫy, Kon Tum", "--published", "2021-08-23", "--raw", str(raw), *extra]
    )


def review(candidates: Path, answers: dict, edits: dict | None = None) -> None:
    """Write the reviewer's accept column (by indicator and place) and edits {(row, column): value}."""
    table = pd.read_csv(candidates, dtype=str, keep_default_na=False)
    table["accept"] = [answers.get((i, u), "n") for i, u in zip(table["indicator"], table["unit_name"])]
    for (row, column), value in (edits or {}).items():
        table.loc[row, column] = value
    table.to_csv(candidates, index=False)


ACCEPT_ALL_KNOWN = {
    ("party_members", "Kon Rẫy"): "y",
    ("village_heads_party_members_share", "Đăk Rve"): "Y",
    ("disciplined_members", "Kon Rẫy"): "yes",
    ("disciplined_expulsion", "Kon Rẫy"): "x",
    ("disciplined_warning", "Kon Rẫy"): "1",
}


# ---------------------------------------------------------------- proposing


def test_extract_writes_candidates_in_the_working_directory_and_prints_them(article, small_raw, capsys):
    assert propose(article, small_raw, *NEW_SOURCE) == 0
    out = capsys.readouterr().out
    candidates = pd.read_csv(article.with_suffix(".candidates.csv"), dtype=str, keep_default_na=False)
    assert candidates["indicator"].tolist() == [
        "party_members",
        "village_heads_party_members_share",
        "village_heads_party_members_share",
        "disciplined_members",
        "disciplined_expulsion",
        "disciplined_warning",
    ]
    assert set(candidates["article"]) == {"kon_ray.txt"} and set(candidates["source_title"]) == {NEW_SOURCE[5]}
    assert "1.639 đảng viên" in out and "Đăk Kôi (commune)" in out
    assert "6 candidates written to" in out and "--accept" in out


def test_the_candidates_file_goes_to_the_working_directory_not_beside_the_article(tmp_path, small_raw, capsys):
    elsewhere = tmp_path / "articles"
    elsewhere.mkdir()
    path = elsewhere / "a.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    assert propose(path, small_raw, *NEW_SOURCE) == 0
    assert (tmp_path / "a.candidates.csv").exists() and not (elsewhere / "a.candidates.csv").exists()


@pytest.mark.parametrize("out", ["observations.csv", ".", "sub/../observations.csv"])
def test_a_candidates_file_inside_the_raw_folder_is_refused(article, small_raw, capsys, out):
    before = (small_raw / "observations.csv").read_bytes()
    assert propose(article, small_raw, *NEW_SOURCE, "--out", str(small_raw / out), "--force") == 2
    assert "inside the raw folder" in capsys.readouterr().err
    assert (small_raw / "observations.csv").read_bytes() == before


def test_a_link_to_the_raw_folder_is_the_raw_folder(article, small_raw, tmp_path, capsys):
    (tmp_path / "link").symlink_to(small_raw)
    assert propose(article, small_raw, *NEW_SOURCE, "--out", str(tmp_path / "link" / "c.csv")) == 2
    assert "inside the raw folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "unit, message",
    [
        ("Lâm Đồng, Lâm Đồng", "is not a district of"),  # a province given as the district
        ("Đăk Rve, Kon Tum", "is not a district of"),  # a commune
        ("Kon Ray Xyz, Kon Tum", "is not a district of"),
    ],
)
def test_the_unit_is_checked_against_units_csv_with_candidates(article, small_raw, capsys, unit, message):
    assert main(["extract", str(article), "--unit", unit, "--raw", str(small_raw), *NEW_SOURCE]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("published, as_of", [("2021-08", "2021-08"), ("2021", "2021")])
def test_a_partial_publication_date_is_accepted_as_partial(article, small_raw, capsys, published, as_of):
    text = "Kon Rẫy\nHiện nay, Đảng bộ huyện có 1.639 đảng viên.\n"
    article.write_text(text, encoding="utf-8")
    assert (
        main(
            [
                "extract",
                str(article),
                "--unit",
                "Kon Rẫy, Kon Tum",
                "--published",
                published,
                "--raw",
                str(small_raw),
                *NEW_SOURCE,
            ]
        )
        == 0
    )
    candidates = pd.read_csv(article.with_suffix(".candidates.csv"), dtype=str, keep_default_na=False)
    assert candidates.loc[0, "as_of"] == as_of and candidates.loc[0, "source_published"] == published


def test_an_existing_source_needs_no_details(article, small_raw, capsys):
    assert propose(article, small_raw, "--source", "S000", "--out", str(article.parent / "c.csv")) == 0
    candidates = pd.read_csv(article.parent / "c.csv", dtype=str, keep_default_na=False)
    assert set(candidates["source_id"]) == {"S000"} and set(candidates["source_title"]) == {""}


def test_a_review_is_never_overwritten_without_force(article, small_raw, capsys):
    candidates = article.with_suffix(".candidates.csv")
    candidates.write_text("my review\n", encoding="utf-8")
    assert propose(article, small_raw, *NEW_SOURCE) == 2
    assert "exists and may hold your review" in capsys.readouterr().err
    assert candidates.read_text(encoding="utf-8") == "my review\n"
    assert propose(article, small_raw, *NEW_SOURCE, "--force") == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--source", "NEW"], "NEW is not in"),  # a new source without publisher and title
        (["--source", "S999", "--publisher", "P"], "S999 is not in"),
        ([], "--source is required"),
    ],
)
def test_missing_details_are_usage_errors(article, small_raw, capsys, args, message):
    assert propose(article, small_raw, *args) == 2
    assert message in capsys.readouterr().err


def test_article_and_accept_are_exclusive(article, small_raw, capsys):
    assert main(["extract", str(article), "--accept", "x.csv"]) == 2
    assert main(["extract"]) == 2
    assert "give either an ARTICLE" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"C\xf3 5 \xf0\xe1ng vi\xean", "not UTF-8 text: byte 0xf3 at byte offset 1"),
        (b"PK\x03\x04\x00\x00binary", "binary file (NUL byte at byte offset 4)"),
    ],
)
def test_unreadable_articles_exit_3_with_a_clear_message(tmp_path, small_raw, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert propose(path, small_raw, *NEW_SOURCE) == 3
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not path.with_suffix(".candidates.csv").exists()


def test_a_huge_article_is_refused_with_the_limit(tmp_path, small_raw, capsys):
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:  # sparse: 21 MB on paper, nothing on disk
        handle.truncate(21 * 2**20)
    assert propose(path, small_raw, *NEW_SOURCE) == 3
    assert "file is 21.0 MB; the limit for an article is 20 MB" in capsys.readouterr().err


# ---------------------------------------------------------------- the review round trip


def test_extract_review_accept_build_round_trip(article, small_raw, capsys):
    observations, sources = small_raw / "observations.csv", small_raw / "sources.csv"
    before = {p: p.read_bytes() for p in (observations, sources)}
    assert propose(article, small_raw, *NEW_SOURCE) == 0
    candidates = article.with_suffix(".candidates.csv")
    review(candidates, ACCEPT_ALL_KNOWN)

    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 0
    assert "appended 5 observations (O0033–O0037)" in capsys.readouterr().out
    for path, content in before.items():  # existing bytes untouched: rows were appended
        assert path.read_bytes().startswith(content)

    ds = load_dataset(small_raw)
    assert ds.rejects.empty
    new = ds.observations.set_index("obs_id").loc[["O0033", "O0034", "O0035", "O0036", "O0037"]]
    assert new["indicator"].tolist() == [
        "party_members",
        "village_heads_party_members_share",
        "disciplined_members",
        "disciplined_expulsion",
        "disciplined_warning",
    ]
    assert set(new["source_id"]) == {"S104"} and new.loc["O0034", "unit_code"] == "23479"
    assert str(new.loc["O0036", "period_start"]).startswith("2020-01-01")
    assert new.loc["O0037", "note"].startswith(
        "Disciplined: warning; part of O0035; proposed by extract v2.0 from kon_ray.txt chars "
    )
    assert ds.sources.set_index("source_id").loc["S104", "publisher"] == "Báo Thử Nghiệm"
    raw_text = observations.read_text(encoding="utf-8")
    assert "1.639 đảng viên" not in raw_text and "thôn trưởng là đảng viên" not in raw_text  # no article text


def test_formula_like_cells_are_neutralised_for_the_spreadsheet_and_accepted_as_typed(article, small_raw, capsys):
    title, publisher = '=HYPERLINK("http://x","y")', "+84 Báo Thử"
    assert propose(article, small_raw, "--source", "NEW", "--publisher", publisher, "--title", title) == 0
    candidates = article.with_suffix(".candidates.csv")
    table = pd.read_csv(candidates, dtype=str, keep_default_na=False)
    assert set(table["source_title"]) == {"'" + title} and set(table["source_publisher"]) == {"'" + publisher}
    assert table.loc[0, "value"] == "1639"  # other cells as they were
    # the reviewer's spreadsheet dropped the quote of one cell on saving: that cell is as typed already
    review(candidates, {("party_members", "Kon Rẫy"): "y"}, edits={(0, "source_publisher"): publisher})
    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 0
    sources = pd.read_csv(small_raw / "sources.csv", dtype=str, keep_default_na=False).set_index("source_id")
    assert (sources.loc["S104", "title"], sources.loc["S104", "publisher"]) == (title, publisher)


def test_accepting_twice_is_refused_and_writes_nothing(article, small_raw, capsys):
    propose(article, small_raw, *NEW_SOURCE)
    candidates = article.with_suffix(".candidates.csv")
    review(candidates, ACCEPT_ALL_KNOWN)
    main(["extract", "--accept", str(candidates), "--raw", str(small_raw)])
    after_first = (small_raw / "observations.csv").read_bytes()

    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 1
    assert "already in sources.csv as S104" in capsys.readouterr().err
    review(candidates, ACCEPT_ALL_KNOWN, {(r, "source_id"): "S104" for r in range(6)})
    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 1
    err = capsys.readouterr().err
    assert f"{candidates}:2: repeats O0033 (party_members 1639 for Kon Rẫy)" in err
    assert (small_raw / "observations.csv").read_bytes() == after_first


def test_rows_that_fail_validation_are_refused_with_reasons(article, small_raw, capsys):
    before = (small_raw / "observations.csv").read_bytes()
    propose(article, small_raw, *NEW_SOURCE)
    candidates = article.with_suffix(".candidates.csv")
    answers = {**ACCEPT_ALL_KNOWN, ("village_heads_party_members_share", "Đăk Kôi"): "y"}
    review(candidates, answers, {(0, "value"): "1.639", (3, "indicator"): "disciplined_total"})
    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 1
    err = capsys.readouterr().err
    assert "refused: nothing appended" in err
    assert f"{candidates}:2: value '1.639': " in err  # a count with a thousands dot left in
    assert f"{candidates}:4: unit_name 'Đăk Kôi': unknown unit" in err
    assert f"{candidates}:5: indicator 'disciplined_total': unknown indicator" in err
    assert (small_raw / "observations.csv").read_bytes() == before
    assert (small_raw / "sources.csv").read_bytes().count(b"S104") == 0


def test_a_bad_accept_value_names_the_line(article, small_raw, capsys):
    propose(article, small_raw, *NEW_SOURCE)
    candidates = article.with_suffix(".candidates.csv")
    review(candidates, {**ACCEPT_ALL_KNOWN, ("disciplined_warning", "Kon Rẫy"): "maybe"})
    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 3
    assert f"{candidates}:7: accept: 'maybe' is neither yes" in capsys.readouterr().err


def test_nothing_accepted_writes_nothing(article, small_raw, capsys):
    before = (small_raw / "observations.csv").read_bytes()
    propose(article, small_raw, *NEW_SOURCE)
    candidates = article.with_suffix(".candidates.csv")
    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 0
    assert "nothing accepted" in capsys.readouterr().out
    assert (small_raw / "observations.csv").read_bytes() == before


def test_a_raw_file_without_a_final_newline_gets_one_before_the_new_rows(article, small_raw, capsys):
    observations = small_raw / "observations.csv"
    observations.write_bytes(observations.read_bytes().rstrip(b"\n"))
    propose(article, small_raw, *NEW_SOURCE)
    candidates = article.with_suffix(".candidates.csv")
    review(candidates, {("party_members", "Kon Rẫy"): "y"})
    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 0
    lines = observations.read_text(encoding="utf-8").splitlines()
    assert lines[-2].startswith("O0032,") and lines[-1].startswith("O0033,S104,")


# ---------------------------------------------------------------- how each figure was entered, and the review log


def test_a_raw_table_without_entry_method_gets_rows_without_it_and_a_review_log(article, small_raw, capsys):
    propose(article, small_raw, *NEW_SOURCE)
    candidates = article.with_suffix(".candidates.csv")
    review(candidates, {**ACCEPT_ALL_KNOWN, ("disciplined_warning", "Kon Rẫy"): "skip"}, edits={(0, "value"): "1640"})
    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 0
    assert "entry_method" not in (small_raw / "observations.csv").read_text(encoding="utf-8").splitlines()[0]
    log = pd.read_csv(small_raw.parent / "review_log.csv", dtype=str, keep_default_na=False).iloc[0]
    assert [
        int(log[c])
        for c in (
            "proposed",
            "accepted_unchanged",
            "corrected",
            "added_by_hand",
            "rejected_wrong",
            "rejected_not_wanted",
        )
    ] == [6, 3, 1, 0, 1, 1]


def with_entry_method(raw: Path) -> Path:
    """The raw observations with the optional entry_method column, filled ``hand`` for the rows already there."""
    path = raw / "observations.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text(
        "\n".join([lines[0] + ",entry_method"] + [line + ",hand" for line in lines[1:]]) + "\n", encoding="utf-8"
    )
    return path


def test_accept_writes_how_each_row_was_entered_and_a_review_log(article, small_raw, capsys):
    observations = with_entry_method(small_raw)
    propose(article, small_raw, *NEW_SOURCE)
    candidates = article.with_suffix(".candidates.csv")
    table = pd.read_csv(candidates, dtype=str, keep_default_na=False)
    added = table.iloc[[3]].assign(obs_id="NEW-101", indicator="disciplined_reprimand", value="17")  # typed by hand
    pd.concat([table, added]).to_csv(candidates, index=False)
    answers = {
        **ACCEPT_ALL_KNOWN,
        ("village_heads_party_members_share", "Đăk Kôi"): "skip",
        ("disciplined_warning", "Kon Rẫy"): "n",
        ("disciplined_reprimand", "Kon Rẫy"): "y",
    }
    review(candidates, answers, edits={(0, "value"): "1640"})  # the reviewer corrects the member total
    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 0

    rows = pd.read_csv(observations, dtype=str, keep_default_na=False).set_index("obs_id")
    assert rows.loc["O0001", "entry_method"] == "hand"  # rows already there are unchanged
    assert rows.loc[["O0033", "O0034", "O0035", "O0036", "O0037"], "entry_method"].tolist() == [
        "extractor_corrected",
        "extractor",
        "extractor",
        "extractor",
        "hand",
    ]
    log = pd.read_csv(small_raw.parent / "review_log.csv", dtype=str, keep_default_na=False)
    counts = (
        log.iloc[0][
            ["proposed", "accepted_unchanged", "corrected", "added_by_hand", "rejected_wrong", "rejected_not_wanted"]
        ]
        .astype(int)
        .tolist()
    )
    assert counts == [6, 3, 1, 1, 1, 1] and log.loc[0, "article"] == "kon_ray.txt"
    assert load_dataset(small_raw).rejects.empty


def test_two_rows_with_different_details_for_one_new_source_are_refused(article, small_raw, capsys):
    before = {p: p.read_bytes() for p in (small_raw / "observations.csv", small_raw / "sources.csv")}
    propose(article, small_raw, *NEW_SOURCE)
    candidates = article.with_suffix(".candidates.csv")
    review(candidates, ACCEPT_ALL_KNOWN, edits={(3, "source_title"): "Another title"})
    assert main(["extract", "--accept", str(candidates), "--raw", str(small_raw)]) == 1
    err = capsys.readouterr().err
    assert f"{candidates}:5: new source NEW: source_title is " in err and "'Another title' here" in err
    assert {p: p.read_bytes() for p in before} == before
