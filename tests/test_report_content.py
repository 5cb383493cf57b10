"""What the report notebooks show: narration, tables, trails, caveats and artifacts."""

from __future__ import annotations

import json
import string
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from analysis.errors import UsageError
from analysis.reports import comparison as comparison_report
from analysis.reports import formatting, narration
from analysis.reports import profile as profile_report
from analysis.reports import quality as quality_report


def _profile(ds, params):
    """The profile as its notebook builds it: every family's metrics of the period, the province compared."""
    from analysis import compare_districts, compute_metrics

    metrics = profile_report.in_period(compute_metrics(ds.observations), params)
    return profile_report.build_profile(
        ds, params, compare_districts(ds, province=params.province_code, family=None, metrics=metrics)
    )


def _comparison(ds, params, **changes):
    """The comparison as its notebook builds it; ``changes`` replace arguments of ``compare_districts``."""
    from analysis import compare_districts, compute_metrics

    metrics = compute_metrics(ds.observations, families=[params.family], conf_level=params.levels[0])
    arguments = {
        "province": params.province,
        "region": params.region_code,
        "districts": params.districts,
        "family": params.family,
        "benchmark": params.benchmark,
        "levels": params.levels,
        "period": params.period,
        "metrics": metrics,
        **changes,
    }
    return comparison_report.build_comparison(ds, params, metrics, compare_districts(ds, **arguments))


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(narration.NARRATIVE))
def test_every_narrative_has_both_languages_with_the_same_placeholders(key):
    entry = narration.NARRATIVE[key]
    assert set(entry) == {"en", "vi"}
    assert _placeholders(entry["en"]) == _placeholders(entry["vi"])


def _keys(catalogue: dict) -> set[tuple[str, str]]:
    return {(section, key) for section, entries in catalogue.items() for key in entries}


def test_both_catalogues_have_the_same_sections_and_keys_with_the_same_placeholders():
    english, vietnamese = narration.load_catalogue("en"), narration.load_catalogue("vi")
    assert _keys(english) == _keys(vietnamese)
    for section, key in _keys(english):
        assert isinstance(vietnamese[section][key], str), (section, key)
        assert _placeholders(english[section][key]) == _placeholders(vietnamese[section][key]), (section, key)


def test_a_key_missing_from_one_catalogue_is_caught(monkeypatch):
    english, vietnamese = narration.load_catalogue("en"), narration.load_catalogue("vi")
    del vietnamese["columns"]["unit_label"]
    assert ("columns", "unit_label") in _keys(english) - _keys(vietnamese)


@pytest.mark.parametrize("key", sorted(narration.CAVEATS))
def test_every_caveat_has_both_languages_with_the_same_placeholders(key):
    english, vietnamese = narration.CAVEATS[key]
    assert _placeholders(english) == _placeholders(vietnamese)
    assert english != vietnamese


def test_narration_fills_values_and_refuses_unknown_keys_and_languages():
    text = narration.narrate("rejects_text", "vi", rejected=3)
    assert text.startswith("3 dòng không dùng được.")
    with pytest.raises(UsageError, match="no narrative 'nope'"):
        narration.narrate("nope", "en")
    with pytest.raises(UsageError, match="lang must be 'en' or 'vi'"):
        narration.narrate("rejects_none", "fr")


def test_say_joins_paragraphs_as_markdown():
    shown = narration.say("caveats_heading", "caveats_none", lang="vi")
    assert shown.data == "## Lưu ý\n\nKhông có lưu ý đặc biệt."


def test_narration_shows_markup_in_data_values_as_text_and_keeps_its_own_markdown():
    period = narration.narrate("profile_period", "en", start="<2020>", end="2021 & sau")
    shown = narration.say(
        "profile_title",
        "profile_intro",
        lang="en",
        full_name="<script>alert(2)</script> Kon Rẫy",
        province="Kon Tum",
        district="Kon Rẫy",
        period=period,
        n_figures=2,
        n_sources=1,
    ).data
    assert "<script" not in shown and "<2020>" not in shown
    assert shown.startswith("# Profile of &lt;script&gt;alert(2)&lt;/script&gt; Kon Rẫy, Kon Tum province\n\n")
    # a narration quoted by another is escaped once, not twice
    assert "villages in it for the period &lt;2020&gt; to 2021 &amp; sau: **2 figures from 1 sources**" in shown


def test_narration_shows_markdown_links_and_emphasis_in_data_values_as_text():
    shown = narration.narrate(
        "profile_former", "en", district="[Kon Rẫy](javascript:alert(1)) *cũ*", valid_to="2025-06-30"
    )
    assert shown.startswith(r"\[Kon Rẫy\](javascript:alert(1)) \*cũ\* is a former district: it existed until 2025")


def test_value_in_a_code_span_is_kept_literal_unless_a_backtick_would_end_the_span():
    assert narration.narrate("artifact_written", "en", name="R&D.json").endswith("as `R&D.json`.")
    assert narration.narrate("artifact_written", "en", name="x`<b>.json").endswith(r"as `x\`&lt;b&gt;.json`.")


def test_caveats_section_shows_markup_in_unit_names_as_text():
    caveat = {
        "id": "not_compared",
        "units": ["<script>alert(2)</script>"],
        "text": "Reported but not compared: <script>alert(2)</script> (a metric).",
    }
    comparison = comparison_report.Comparison(
        params=SimpleNamespace(lang="en"), facts={}, availability=None, compared=None, table=None, caveats=[caveat]
    )
    _, items = comparison_report.comparison_section(comparison, "caveats")
    assert items.data == "- Reported but not compared: &lt;script&gt;alert(2)&lt;/script&gt; (a metric)."


def test_show_table_labels_columns_in_the_language_and_ticks_booleans():
    frame = pd.DataFrame(
        {
            "obs_ids": ["O1;C1", "O2"],
            "estimate": [1639.5, 75.51],
            "count": [1639, 2],
            "approximate": [True, False],
            "severity": ["warning", "info"],
            "extra": ["x", "y"],
        }
    )
    styled = formatting.show_table(frame, "vi", ["obs_ids", "estimate", "count", "approximate", "severity", "extra"])
    assert list(styled.data.columns) == ["Số liệu sử dụng", "Ước lượng", "Số cảnh báo", "Ước chừng", "Mức độ", "extra"]
    assert styled.data["Ước chừng"].tolist() == ["✓", ""]
    assert styled.data["Mức độ"].tolist() == ["cần chú ý", "thông tin"]
    assert styled.data["Số liệu sử dụng"].tolist() == ["O1; C1", "O2"]
    html = styled.to_html()
    assert "1.639,50" in html and "75,51" in html and ">1.639<" in html
    english = formatting.show_table(frame, "en", ["estimate", "count"]).to_html()
    assert "1,639.50" in english and ">1,639<" in english


def test_value_text_keeps_the_printed_decimals_hedge_and_percent_sign():
    values = pd.Series([1639.0, 75.51, 1800.0, 10.2, None])
    shown = formatting.value_text(
        values,
        pd.Series([0, 2, 0, 1, 0]),
        pd.Series(["exact", "exact", "more_than", "about", "exact"]),
        pd.Series(["count", "percent", "count", "percent", "count"]),
        "en",
    )
    assert shown.tolist() == ["1,639", "75.51%", "more than 1,800", "about 10.2%", ""]


def test_period_text_shows_one_date_for_stocks_and_a_range_for_flows():
    start = pd.Series(pd.to_datetime(["2020-01-01", "2021-06-20", None, None]))
    end = pd.Series(pd.to_datetime(["2021-08-23", "2021-06-20", "2021-08-23", None]))
    assert formatting.period_text(start, end).tolist() == [
        "2020-01-01 – 2021-08-23",
        "2021-06-20",
        "? – 2021-08-23",
        "",
    ]


def test_overlaps_keeps_intervals_touching_the_period_and_drops_undated_ones_only_with_a_period():
    start = pd.Series(pd.to_datetime(["2019-01-01", "2020-01-01", "2022-01-01", None]))
    end = pd.Series(pd.to_datetime(["2019-12-31", "2021-08-23", "2022-01-01", None]))
    assert formatting.overlaps(start, end, "2020-06-01", "2021-12-31").tolist() == [False, True, False, False]
    assert formatting.overlaps(start, end, None, "2019-12-31").tolist() == [True, False, False, False]
    assert formatting.overlaps(start, end).tolist() == [True, True, True, True]


def test_sources_of_lists_each_source_once_sorted_and_empty_for_no_figures():
    obs = pd.DataFrame({"obs_id": ["O1", "O2", "C1"], "source_id": ["S002", "S001", "C001"]})
    assert formatting.sources_of(pd.Series(["O1;O2;C1", "O2;O2", "", None], index=[5, 6, 7, 8]), obs).to_dict() == {
        5: "C001;S001;S002",
        6: "S001",
        7: "",
        8: "",
    }


def test_flag_items_count_a_flag_once_per_source_and_district_in_crosstabs():
    flags = pd.DataFrame(
        {
            "rule": ["conflicting_sources", "hedged_value"],
            "severity": ["warning", "info"],
            "obs_ids": ["O1;O2;O3", "O3"],
        }
    )
    obs = pd.DataFrame(
        {
            "obs_id": ["O1", "O2", "O3"],
            "source_id": ["S1", "S1", "S2"],
            "district_code": ["614", "614", None],
            "unit_code": ["614", "23320", "62"],
        }
    )
    items = quality_report.flag_items(flags, obs)
    assert len(items) == 4
    by_source = quality_report._crosstab(items, "source_id")
    assert by_source.to_dict(orient="index") == {
        "S1": {"conflicting_sources": 1, "hedged_value": 0},
        "S2": {"conflicting_sources": 1, "hedged_value": 1},
    }
    assert quality_report._crosstab(items, "place").index.tolist() == ["614", "62"]


def _compared_rows(**changes) -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "unit_label": ["Kon Rẫy", "Đắk Hà", "Sa Thầy"],
            "metric": "disciplined_per_1000_member_years",
            "label_en": "Members disciplined per 1,000 member-years",
            "label_vi": "Số đảng viên bị kỷ luật trên 1.000 đảng viên-năm",
            "kind": "rate",
            "comparison": ["similar", "lower", "not compared"],
            "comparison_reason": [None, None, "no denominator: party_members not reported"],
            "approximate": [False, True, False],
            "flags": ["breakdown_exceeds_total;historical_unit", "historical_unit;hedged_value", ""],
            "obs_ids": ["O0022;O0011", "O0050;O0051", "O0060"],
            "denominator": [1639.0, 3362.0, None],
            "exposure": [2697.0, 5531.0, None],
            "benchmark": 4.0,
            "benchmark_source": "given",
            "period_start": pd.to_datetime(["2020-01-01", "2020-01-01", None]),
            "period_end": pd.to_datetime(["2021-08-23", "2021-08-23", None]),
        }
    )
    return rows.assign(**changes)


FLAGS = pd.DataFrame(
    {
        "rule": ["breakdown_exceeds_total", "historical_unit", "hedged_value"],
        "obs_ids": ["O0022;O0023;O0024;O0025", "O0022;O0011;O0050;O0051", "O0050"],
    }
)


def test_caveats_name_the_district_metric_and_figures_behind_each():
    caveats = comparison_report.comparison_caveats(_compared_rows(), "en", FLAGS)
    by_id = {c["id"]: c for c in caveats}
    assert list(by_id) == [
        "national_benchmark",
        "breakdown_exceeds_total",
        "approximate",
        "exposure_from_one_stock",
        "not_compared",
        "historical_unit",
    ]
    assert by_id["breakdown_exceeds_total"]["units"] == ["Kon Rẫy"]
    assert by_id["breakdown_exceeds_total"]["text"].startswith(
        "Kon Rẫy (Members disciplined per 1,000 member-years; figures O0022, O0023, O0024, O0025): the published "
        "breakdown of discipline by form adds up to more than the published total"
    )
    assert by_id["approximate"]["text"].startswith("Đắk Hà (Members disciplined per 1,000 member-years): a figure")
    assert by_id["exposure_from_one_stock"]["text"].endswith(
        "Kon Rẫy: 1,639 members × 1.65 years = 2,697 member-years; "
        "Đắk Hà: 3,362 members × 1.65 years = 5,531 member-years."
    )
    assert by_id["not_compared"]["text"] == (
        "Published but not compared: no denominator: Sa Thầy (Members disciplined per 1,000 member-years)."
    )
    assert by_id["historical_unit"]["units"] == ["Kon Rẫy", "Đắk Hà"]


def test_caveats_cite_a_national_benchmark_only_when_it_is_the_anchor():
    caveats = comparison_report.comparison_caveats(_compared_rows(benchmark=5.0), "en")
    assert "national_benchmark" not in [c["id"] for c in caveats]
    pooled = _compared_rows(benchmark_source="pooled")
    assert "national_benchmark" not in [c["id"] for c in comparison_report.comparison_caveats(pooled, "en")]


def test_caveats_without_the_flags_table_still_name_district_and_metric():
    [caveat] = [
        c for c in comparison_report.comparison_caveats(_compared_rows(), "en") if c["id"] == "breakdown_exceeds_total"
    ]
    assert caveat["text"].startswith("Kon Rẫy (Members disciplined per 1,000 member-years): the published")


def test_caveats_flag_rules_match_whole_rule_ids_only():
    rows = _compared_rows(flags=["not_breakdown_exceeds_total_x", "", ""])
    assert "breakdown_exceeds_total" not in [c["id"] for c in comparison_report.comparison_caveats(rows, "en")]


def test_caveats_say_when_periods_differ_and_follow_the_language():
    rows = _compared_rows(period_end=pd.to_datetime(["2021-08-23", "2022-12-31", None]))
    caveats = {c["id"]: c["text"] for c in comparison_report.comparison_caveats(rows, "vi")}
    assert caveats["periods_differ"].startswith(
        "Các ước lượng thuộc 2 thời điểm hoặc thời kỳ khác nhau, từ 2020-01-01 đến 2022-12-31"
    )
    assert caveats["not_compared"] == (
        "Có số liệu nhưng không so sánh được: không có mẫu số: Sa Thầy (Số đảng viên "
        "bị kỷ luật trên 1.000 đảng viên-năm)."
    )
    assert caveats["exposure_from_one_stock"].endswith(
        "Kon Rẫy: 1.639 đảng viên × 1,65 năm = 2.697 đảng viên-năm; "
        "Đắk Hà: 3.362 đảng viên × 1,65 năm = 5.531 đảng viên-năm."
    )


def test_benchmark_text_cites_the_national_anchor_it_equals():
    text, anchor = comparison_report.benchmark_text(4.0, ["disciplined_per_1000_member_years"], "vi")
    assert anchor == "disciplined_per_1000_member_years"
    assert text.startswith(
        "4 trên 1.000 đảng viên-năm, là mốc toàn quốc: khoảng 20.000 đảng viên bị kỷ luật năm 2021 và 24.160 năm 2023"
    )
    text, anchor = comparison_report.benchmark_text(4.5, ["disciplined_per_1000_member_years"], "en")
    assert anchor is None and "not one of the national anchors" in text
    assert comparison_report.benchmark_text("pooled", ["x"], "en")[0].startswith(
        "the pooled value of the districts compared"
    )


def test_row_flags_leave_out_the_flag_stated_once_per_report():
    shown = formatting.row_flags(pd.Series(["historical_unit;breakdown_exceeds_total", "historical_unit"]))
    assert shown.tolist() == ["breakdown_exceeds_total", ""]


def test_tables_escape_text_from_the_raw_tables():
    html = formatting.show_table(pd.DataFrame({"title": ["<img src=x onerror=alert(1)> Đắk Hà"]}), "en").to_html()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt; Đắk Hà" in html


def test_write_artifact_writes_plain_json_atomically_and_none_writes_nothing(tmp_path):
    target = tmp_path / "a.json"
    artifact = {
        "kind": "x",
        "n": pd.Series([3]).iloc[0],
        "x": float("nan"),
        "when": pd.Timestamp("2021-08-23"),
        "path": Path("/p"),
        "nested": [{"ok": pd.Series([True]).iloc[0]}],
        "tên": "Kon Rẫy",
    }
    assert formatting.write_artifact(artifact, target) == target
    assert json.loads(target.read_text(encoding="utf-8")) == {
        "kind": "x",
        "n": 3,
        "x": None,
        "when": "2021-08-23",
        "path": "/p",
        "nested": [{"ok": True}],
        "tên": "Kon Rẫy",
    }
    assert "Kon Rẫy" in target.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    assert formatting.write_artifact(artifact, None) is None


def test_unknown_sections_are_refused():
    quality = quality_report.Quality(
        params=SimpleNamespace(lang="en"),
        facts={},
        tables=None,
        rules=None,
        by_source=None,
        by_district=None,
        flags=None,
        rejects=None,
    )
    with pytest.raises(UsageError, match="unknown quality section 'charts'"):
        quality_report.quality_section(quality, "charts")


# ------------------------------------------------------------------ on the small fixture dataset


def test_profile_of_a_period_without_figures_says_so_and_shows_no_tables(small_dataset, small_raw):
    from analysis.reports.parameters import validate_profile_params

    params = validate_profile_params("Kon Rẫy", period_start="1900", period_end="1901", data_dir=small_raw)
    profile = _profile(small_dataset, params)
    [intro] = profile_report.profile_section(profile, "intro")
    assert "No published figure about Kon Rẫy falls in this period, so the rest of the report is empty." in intro.data
    assert intro.data.endswith(
        "Kon Rẫy is a former district: it existed until 2025-06-30. The figures describe it as it was then."
    )
    assert profile_report.profile_section(profile, "figures") == []
    assert profile_report.profile_section(profile, "sources") == []
    assert profile_report.profile_section(profile, "metrics")[0].data.endswith(
        "No metric can be formed from the figures about Kon Rẫy."
    )
    plots = profile_report.profile_plots(profile)
    assert plots == {}
    artifact = profile_report.profile_artifact(profile, plots)
    assert (artifact["n_observations"], artifact["metrics"], artifact["flags"]) == (0, [], [])


def test_profile_charts_are_png_images_under_their_heading(small_dataset, small_raw):
    from analysis.reports.parameters import validate_profile_params

    profile = _profile(small_dataset, validate_profile_params("Kon Rẫy", data_dir=small_raw))
    plots = profile_report.profile_plots(profile)
    heading, *images = profile_report.profile_section(profile, "charts", plots)
    assert heading.data.startswith("## Charts")
    assert [image.data[:8] for image in images] == [b"\x89PNG\r\n\x1a\n"] * len(plots) and len(plots) == 2


def test_comparison_availability_keeps_every_district_compared_even_without_figures(small_dataset, small_raw):
    from analysis.reports.parameters import validate_comparison_params

    params = validate_comparison_params(family="coverage", data_dir=small_raw)
    comparison = _comparison(small_dataset, params)
    matrix = comparison.availability
    assert matrix.index.tolist() == [("608", "Kon Tum"), ("614", "Kon Rẫy"), ("615", "Đắk Hà")]
    assert matrix.loc[("615", "Đắk Hà"), "village_heads_party_members_share"] == "computed"
    assert matrix.loc[("614", "Kon Rẫy"), "village_heads_party_members_share"] == "reported without denominator"
    assert (matrix.loc[("608", "Kon Tum")] != "computed").all()
    trail = comparison.table.set_index(["unit_code", "metric"])
    assert trail.loc[("615", "village_heads_party_members_share"), ["obs_ids", "source_ids"]].tolist() == [
        "O0015;O0014",
        "S001",
    ]


# ----------------------------------------------------------------------- comparison: what the notebook computes


def test_comparison_follows_the_benchmark_given_to_compare_districts_not_the_parameter(small_dataset, small_raw):
    from analysis.reports.parameters import validate_comparison_params

    params = validate_comparison_params(family="admissions", data_dir=small_raw)
    pooled = _comparison(small_dataset, params).table.set_index(["unit_code", "metric"])
    given = _comparison(small_dataset, params, benchmark=1.0)
    rate = given.table.set_index(["unit_code", "metric"]).loc[("615", "admissions_per_100_member_years")]
    assert pooled.loc[("615", "admissions_per_100_member_years"), "comparison"] == "similar"
    assert (rate["comparison"], rate["benchmark"]) == ("much higher", 1.0)
    assert given.facts["benchmark_value"] == 1.0
    assert "**Benchmark**: 1, given for every metric" in comparison_report.comparison_section(given, "intro")[0].data


def test_comparison_within_a_period_keeps_districts_outside_it_with_the_reason(small_dataset, small_raw):
    from analysis.reports.parameters import validate_comparison_params

    params = validate_comparison_params(family="admissions", period="2023", lang="vi", data_dir=small_raw)
    comparison = _comparison(small_dataset, params)
    rows = comparison.table.set_index(["unit_code", "metric"])
    outside = rows.loc[("614", "admissions_per_100_member_years")]
    assert (outside["comparison"], outside["full_reason"], outside["reason"]) == (
        "not compared",
        "no figure in the period",
        "không có số liệu trong thời kỳ",
    )
    assert rows.loc[("615", "admissions_per_100_member_years"), "period"] == "2020-10-01 – 2023-06-30"
    intro = comparison_report.comparison_section(comparison, "intro")[0].data
    assert intro.startswith("# So sánh các huyện của tỉnh Kon Tum: kết nạp đảng viên mới")
    assert "trong thời kỳ **2023-01-01 đến 2023-12-31**" in intro
    artifact = comparison_report.comparison_artifact(comparison, {})
    assert (artifact["period"], artifact["region"]) == (["2023-01-01", "2023-12-31"], None)


def test_comparison_of_a_region_is_titled_by_the_region_and_of_all_by_every_province(small_raw):
    from analysis.data.dataset import load_dataset
    from analysis.reports.parameters import validate_comparison_params

    units = (small_raw / "units.csv").read_text(encoding="utf-8")
    header, rest = units.split("\n", 1)
    rest = rest.replace("province,,", "province,R-TN,")
    (small_raw / "units.csv").write_text(
        f"{header}\nR-TN,Tây Nguyên,Vùng Tây Nguyên,region,,,,,\n{rest}", encoding="utf-8"
    )
    ds = load_dataset(small_raw)
    region = _comparison(
        ds, validate_comparison_params(province=None, region="Tây Nguyên", family="admissions", data_dir=small_raw)
    )
    assert comparison_report.comparison_section(region, "intro")[0].data.startswith(
        "# Comparing the districts of the Tây Nguyên region: admissions of new members"
    )
    assert {"608", "614", "615"} <= set(region.compared["unit_code"])
    everywhere = _comparison(
        ds, validate_comparison_params(province=None, region="all", family="admissions", lang="vi", data_dir=small_raw)
    )
    assert comparison_report.comparison_section(everywhere, "intro")[0].data.startswith(
        "# So sánh các huyện của tất cả các tỉnh trong bảng đơn vị hành chính"
    )


def test_funnel_points_are_labelled_with_the_period_of_their_figure(small_dataset, small_raw):
    from analysis.reports.parameters import validate_comparison_params

    comparison = _comparison(small_dataset, validate_comparison_params(family="admissions", data_dir=small_raw))
    funnel = comparison_report.comparison_plots(comparison)["funnel_admissions_per_100_member_years"]
    labels = sorted(t.get_text() for t in funnel.axes[0].texts if t.get_gid() == "point-label")
    assert labels == ["Kon Rẫy (2021-01-01 – 2021-08-23)", "Đắk Hà (2020-10-01 – 2023-06-30)"]


def test_rows_on_different_bases_show_their_basis_and_a_caveat_says_they_are_compared_as_one(small_dataset, small_raw):
    from analysis import compare_districts, compute_metrics
    from analysis.reports.parameters import validate_comparison_params

    params = validate_comparison_params(family="admissions", data_dir=small_raw)
    metrics = compute_metrics(small_dataset.observations, families=["admissions"])
    compared = compare_districts(small_dataset, province="Kon Tum", family="admissions", metrics=metrics)
    compared["basis"] = compared["unit_code"].map({"614": "village cells", "615": "commune-level organisations"})
    comparison = comparison_report.build_comparison(small_dataset, params, metrics, compared)
    _, table = comparison_report.comparison_section(comparison, "classification")
    assert list(table.data.columns[:3]) == ["Unit", "Metric", "Basis"]
    [caveat] = [c for c in comparison.caveats if c["id"] == "mixed_basis"]
    assert caveat["units"] == ["Kon Rẫy", "Đắk Hà"]
    assert "Kon Rẫy (Admissions per 100 member-years: village cells)" in caveat["text"]
    assert {row["basis"] for row in comparison_report.comparison_artifact(comparison, {})["rows"]} >= {
        "village cells",
        "commune-level organisations",
    }


def test_periods_further_apart_than_the_denominator_tolerance_are_said_to_be(small_dataset):
    rows = pd.DataFrame(
        {
            "unit_label": ["A", "B"],
            "metric": "d",
            "label_en": "Rate d",
            "label_vi": "Tỷ lệ d",
            "kind": "share",
            "comparison": ["similar", "lower"],
            "comparison_reason": None,
            "approximate": False,
            "flags": "",
            "obs_ids": ["O1", "O2"],
            "period_start": pd.to_datetime(["2016-01-01", "2023-01-01"]),
            "period_end": pd.to_datetime(["2016-12-31", "2023-12-31"]),
        }
    )
    caveats = {c["id"]: c["text"] for c in comparison_report.comparison_caveats(rows, "en")}
    assert caveats["periods_far_apart"].startswith(
        "The periods compared end 2,556 days apart (2016-12-31 to 2023-12-31), more than the 730 days"
    )
    near = rows.assign(period_end=pd.to_datetime(["2022-12-31", "2023-12-31"]))
    assert "periods_far_apart" not in {c["id"] for c in comparison_report.comparison_caveats(near, "en")}
