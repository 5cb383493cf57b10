"""Raw-table schemas: dates, numbers, headers, and failure cases turned into rejects."""

import pandas as pd
import pytest

from analysis.data.schema import (
    REJECT_COLUMNS,
    column_problems,
    number_suggestion,
    parse_dates,
    parse_numbers,
    processed_schema,
    raw_schema,
    validate_raw,
    value_bounds,
)


def test_parse_dates_reads_partial_dates_as_intervals():
    dates = parse_dates(
        pd.Series(["2021", "2021-02", "2021-06-20", "23/8/2021", "", "31/02/2021", "2021-13", "mid 2021"])
    )
    assert dates["first"].dt.strftime("%Y-%m-%d").tolist()[:4] == [
        "2021-01-01",
        "2021-02-01",
        "2021-06-20",
        "2021-08-23",
    ]
    assert dates["last"].dt.strftime("%Y-%m-%d").tolist()[:4] == [
        "2021-12-31",
        "2021-02-28",
        "2021-06-20",
        "2021-08-23",
    ]
    assert dates["precision"].tolist()[:4] == ["year", "month", "day", "day"]
    assert dates["iso"].tolist()[:4] == ["2021", "2021-02", "2021-06-20", "2021-08-23"]
    assert dates["status"].tolist() == ["ok", "ok", "ok", "ok", "empty", "no_such_date", "no_such_date", "bad_format"]
    assert dates["first"].iloc[4:].isna().all()


def test_parse_dates_keeps_the_index_and_reads_categoricals():
    values = pd.Series(["2020", "2020", ""], index=[5, 7, 9], dtype="category")
    dates = parse_dates(values)
    assert dates.index.tolist() == [5, 7, 9]
    assert dates["last"].dt.year.tolist()[:2] == [2020, 2020]


def test_parse_numbers_accepts_only_dot_decimals():
    numbers = parse_numbers(
        pd.Series(["75.51", "1639", "-3", "10.20", "75,51%", "1.639.000", " 12", "inf", "1_000", ""])
    )
    assert numbers.iloc[:4].tolist() == [75.51, 1639.0, -3.0, 10.2]
    assert numbers.iloc[4:].isna().all()


@pytest.mark.parametrize(
    "typed, written",
    [
        ("75,51%", "75.51"),
        ("75,51", "75.51"),
        ("1.085.332", "1085332"),
        ("1.639,5", "1639.5"),
        ("82.1 %", "82.1"),
    ],
)
def test_number_suggestion_rewrites_vietnamese_forms(typed, written):
    assert number_suggestion(typed) == written


@pytest.mark.parametrize("typed, written", [("1,639", "1639"), ("1.085.332", "1085332"), ("12,5", "12.5")])
def test_number_suggestion_for_a_count_reads_groups_of_three_digits_as_thousands(typed, written):
    assert number_suggestion(typed, whole=True) == written


def test_number_suggestion_gives_up_on_text():
    assert number_suggestion("hơn 300") is None


def test_column_problems_names_missing_columns_and_likely_renames():
    header = [
        "obs_id",
        "source_id",
        "locator",
        "unit_name",
        "province",
        "scope",
        "indicator",
        "valeur",
        "unit",
        "qualifier",
        "as_of",
        "period_start",
        "period_end",
        "period_end_basis",
        "status",
        "note",
    ]
    assert column_problems(header, "observations") == ["missing column 'value' (is 'valeur' a renamed 'value'?)"]
    assert column_problems(header[:-1], "observations")[-1] == "missing column 'note'"
    assert column_problems(header[:7] + ["value"] + header[8:], "observations") == []


def test_value_bounds_follow_the_codebook():
    book = pd.DataFrame(
        {
            "indicator": [
                "admissions",
                "village_heads_party_members_share",
                "grassroots_cells_change",
                "admissions_target_achieved_share",
                "area_km2",
            ],
            "unit": ["count", "percent", "count", "percent", "km2"],
            "denominator": ["", "villages", "", "admissions_target", ""],
        }
    )
    bounds = value_bounds(book)
    assert bounds.loc["village_heads_party_members_share"].tolist() == [0.0, 100.0]
    assert bounds.loc["grassroots_cells_change"].isna().all()
    assert bounds.loc["admissions_target_achieved_share", "lower"] == 0.0
    assert pd.isna(bounds.loc["admissions_target_achieved_share", "upper"])


def _sources(**changes):
    frame = pd.DataFrame(
        {
            "source_id": ["S001", "S002", "S003"],
            "publisher": "Báo Kon Tum",
            "title": "Tiêu đề",
            "published": ["2021-08-23", "2021", ""],
            "published_note": "",
            "url": "",
            "language": "vi",
            "kind": "press",
            "accessed": "",
        },
        index=[2, 3, 4],
    )
    for column, values in changes.items():
        frame[column] = values
    return frame


def test_validate_raw_returns_no_rejects_for_a_clean_table():
    rejects = validate_raw(_sources(), "sources", raw_schema("sources"))
    assert rejects.empty and list(rejects.columns) == REJECT_COLUMNS


def test_validate_raw_collects_every_problem_of_every_row_at_once():
    frame = _sources(
        source_id=["S001", "S001", "X9"],
        published=["2021-08-23", "31/02/2021", "soon"],
        language=["vi", "fr", "vi"],
        title=["Tiêu đề", "", "Tiêu đề"],
    )
    rejects = validate_raw(frame, "sources", raw_schema("sources"))
    found = set(zip(rejects["line"], rejects["field"], rejects["value"], rejects["reason"]))
    assert found == {
        (3, "source_id", "S001", "duplicate source_id: first on line 2"),
        (3, "published", "31/02/2021", "no such date"),
        (3, "language", "fr", "must be one of: vi, en"),
        (3, "title", "", "empty; a value is required"),
        (4, "source_id", "X9", r"not an id of the form [SC]\d{3,}"),
        (4, "published", "soon", "not a date (YYYY, YYYY-MM, YYYY-MM-DD or D/M/YYYY)"),
    }
    assert rejects["line"].is_monotonic_increasing
    assert set(rejects["record_id"]) == {"S001", "X9"}


def test_processed_schema_accepts_a_built_dataset_and_rejects_a_bad_flag(small_dataset):
    schema = processed_schema()
    schema.validate(small_dataset.observations)
    broken = small_dataset.observations.assign(flags="not_a_rule")
    with pytest.raises(Exception, match="unknown rule"):
        schema.validate(broken)
