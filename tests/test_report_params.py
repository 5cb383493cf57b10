"""Parameters of the report notebooks: normal forms, and one-line messages when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.stats.intervals import conf_levels
from analysis.errors import EXIT_USAGE, InputError, UsageError
from analysis.reports.parameters import (
    ComparisonParams,
    ProfileParams,
    check_benchmark,
    check_output_json,
    check_period,
    validate_comparison_params,
    validate_profile_params,
    validate_quality_params,
)

UNITS = """unit_code,name,full_name,level,parent_code,valid_from,valid_to,aliases
62,Kon Tum,Tỉnh Kon Tum,province,,,,
64,Gia Lai,Tỉnh Gia Lai,province,,,,
608,Kon Tum,Thành phố Kon Tum,district,62,,2025-06-30,TP Kon Tum
614,Kon Rẫy,Huyện Kon Rẫy,district,62,,2025-06-30,Kon Ray
615,Đắk Hà,Huyện Đắk Hà,district,62,,2025-06-30,Đăk Hà|Dak Ha
625,Ia Grai,Huyện Ia Grai,district,64,,2025-06-30,
23320,Đăk Ruồng,Xã Đăk Ruồng,commune,614,,,
"""


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "units.csv").write_text(UNITS, encoding="utf-8")
    return folder


# ------------------------------------------------------------------ district profile


@pytest.mark.parametrize("given", ["Kon Rẫy", "kon ray", "Huyện Kon Rẫy", "614", 614])
def test_profile_district_in_any_known_spelling_or_code_resolves_to_its_code(raw, given):
    params = validate_profile_params(given, data_dir=raw)
    assert (params.district, params.unit_code, params.province_code) == ("Kon Rẫy", "614", "62")


def test_profile_unknown_district_lists_the_valid_districts_of_that_province_only(raw):
    with pytest.raises(UsageError) as caught:
        validate_profile_params("Kon Rây Mới", data_dir=raw)
    assert str(caught.value) == (
        "district: unknown district 'Kon Rây Mới' in Kon Tum; valid districts: Đắk Hà, Kon Rẫy, Kon Tum"
    )
    assert caught.value.exit_code == EXIT_USAGE


def test_profile_district_of_another_province_is_unknown_in_this_one(raw):
    with pytest.raises(UsageError, match="unknown district 'Ia Grai' in Kon Tum"):
        validate_profile_params("Ia Grai", province="Kon Tum", data_dir=raw)
    assert validate_profile_params("Ia Grai", province="Gia Lai", data_dir=raw).unit_code == "625"


@pytest.mark.parametrize("given", ["../../etc/passwd", "/etc/passwd", "", None, True, ["Kon Rẫy"]])
def test_profile_path_like_or_odd_district_is_just_an_unknown_district(raw, given):
    with pytest.raises(UsageError, match="^district: unknown district .*; valid districts: Đắk Hà, Kon Rẫy"):
        validate_profile_params(given, data_dir=raw)


def test_profile_a_commune_is_not_a_district(raw):
    with pytest.raises(UsageError, match="unknown district 'Đăk Ruồng'"):
        validate_profile_params("Đăk Ruồng", data_dir=raw)


def test_profile_unknown_province_lists_the_provinces(raw):
    with pytest.raises(UsageError, match=r"^province: unknown province 'Atlantis'; valid provinces: Gia Lai, Kon Tum$"):
        validate_profile_params("Kon Rẫy", province="Atlantis", data_dir=raw)


def test_profile_defaults_keep_no_period_english_and_no_artifact(raw):
    params = validate_profile_params("Kon Rẫy", data_dir=raw)
    assert params == ProfileParams(
        district="Kon Rẫy",
        unit_code="614",
        province="Kon Tum",
        province_code="62",
        period_start=None,
        period_end=None,
        lang="en",
        data_dir=raw.resolve(),
        output_json=None,
    )


def test_profile_partial_period_dates_widen_to_whole_months_and_years(raw):
    params = validate_profile_params("Kon Rẫy", period_start="2020-02", period_end=2021, data_dir=raw)
    assert (params.period_start, params.period_end) == ("2020-02-01", "2021-12-31")


def test_profile_period_far_outside_the_data_is_allowed(raw):
    params = validate_profile_params("Kon Rẫy", period_start="1900", period_end="2100-12-31", data_dir=raw)
    assert (params.period_start, params.period_end) == ("1900-01-01", "2100-12-31")


@pytest.mark.parametrize(
    "start, end, message",
    [
        ("2021", "2020", "period_end: ends (2020-12-31) before it starts (2021-01-01)"),
        ("20/6/2021", None, "period_start: not a date: '20/6/2021' (use YYYY, YYYY-MM or YYYY-MM-DD)"),
        (None, "2021-13", "period_end: not a date: '2021-13' (use YYYY, YYYY-MM or YYYY-MM-DD)"),
        (None, 2021.5, "period_end: not a date: 2021.5 (use YYYY, YYYY-MM or YYYY-MM-DD)"),
    ],
)
def test_bad_periods_are_refused_with_the_parameter_named(start, end, message):
    with pytest.raises(UsageError) as caught:
        check_period(start, end)
    assert str(caught.value) == message


@pytest.mark.parametrize("lang, expected", [("vi", "vi"), (" EN ", "en")])
def test_lang_is_normalised(raw, lang, expected):
    assert validate_profile_params("Kon Rẫy", lang=lang, data_dir=raw).lang == expected


@pytest.mark.parametrize("lang", ["fr", "", None, 1])
def test_other_languages_are_refused(raw, lang):
    with pytest.raises(UsageError, match="^lang: must be 'en' or 'vi'"):
        validate_profile_params("Kon Rẫy", lang=lang, data_dir=raw)


def test_missing_data_dir_is_a_usage_error_naming_the_folder(tmp_path):
    with pytest.raises(UsageError, match=f"^data_dir: no such folder: {tmp_path / 'nowhere'}$"):
        validate_profile_params("Kon Rẫy", data_dir=tmp_path / "nowhere")


def test_data_dir_without_units_table_is_an_input_error_naming_the_file(tmp_path):
    with pytest.raises(InputError, match="units.csv"):
        validate_profile_params("Kon Rẫy", data_dir=tmp_path)


def test_output_json_relative_path_is_taken_from_the_working_directory(raw, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = validate_profile_params("Kon Rẫy", data_dir=raw, output_json="profile.json")
    assert params.output_json == tmp_path.resolve() / "profile.json"


@pytest.mark.parametrize(
    "path, message",
    [
        ("nowhere/report.json", "output_json: folder does not exist: "),
        ("report.html", "output_json: must be a .json file name, not 'report.html'"),
    ],
)
def test_output_json_must_be_a_json_name_in_an_existing_folder(tmp_path, monkeypatch, path, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as caught:
        check_output_json(path)
    assert str(caught.value).startswith(message)


def test_validation_stops_at_the_first_bad_value_before_reading_data(tmp_path):
    # lang is checked before the (missing) data folder is looked at
    with pytest.raises(UsageError, match="^lang:"):
        validate_profile_params("Kon Rẫy", lang="de", data_dir=tmp_path / "nowhere")


# ------------------------------------------------------------------ district comparison


def test_comparison_defaults_take_every_district_of_the_province(raw):
    params = validate_comparison_params(data_dir=raw)
    assert params == ComparisonParams(
        province="Kon Tum",
        province_code="62",
        region=None,
        region_code=None,
        unit_codes=("608", "614", "615"),
        districts=None,
        family="discipline",
        benchmark="pooled",
        levels=(0.95, 0.998),
        period=None,
        lang="en",
        data_dir=raw.resolve(),
        output_json=None,
    )


def test_comparison_named_districts_resolve_and_duplicates_count_once(raw):
    params = validate_comparison_params(districts=["Dak Ha", "Kon Rẫy", "Đăk Hà", "614"], data_dir=raw)
    assert params.unit_codes == ("614", "615")


def test_comparison_names_every_unknown_district_at_once(raw):
    with pytest.raises(UsageError) as caught:
        validate_comparison_params(districts=["Kon Rẫy", "Xyz", "Ia Grai"], data_dir=raw)
    assert str(caught.value) == (
        "districts: unknown district(s) 'Xyz', 'Ia Grai' in Kon Tum; valid districts: Đắk Hà, Kon Rẫy, Kon Tum"
    )


@pytest.mark.parametrize("districts", [["Kon Rẫy"], "Kon Rẫy", ["Kon Rẫy", "kon ray"]])
def test_comparison_needs_two_different_districts(raw, districts):
    with pytest.raises(UsageError, match="^districts: a comparison needs at least two districts; got Kon Rẫy$"):
        validate_comparison_params(districts=districts, data_dir=raw)


@pytest.mark.parametrize("districts", [[], {"a": 1}, 614])
def test_comparison_districts_must_be_a_list_or_none(raw, districts):
    with pytest.raises(UsageError, match="^districts: must be a list of district names, or None for all"):
        validate_comparison_params(districts=districts, data_dir=raw)


def test_comparison_unknown_family_lists_the_families(raw):
    with pytest.raises(
        UsageError, match="^family: unknown family 'inspection'; use one of coverage, admissions, discipline$"
    ):
        validate_comparison_params(family="inspection", data_dir=raw)


@pytest.mark.parametrize(
    "given, expected", [("pooled", "pooled"), (" Pooled ", "pooled"), (4, 4.0), ("8.95", 8.95), (0, 0.0)]
)
def test_benchmark_is_pooled_or_a_number(given, expected):
    assert check_benchmark(given) == expected


@pytest.mark.parametrize("given", ["national", -1, float("nan"), float("inf"), True, None, [4.0]])
def test_benchmark_refuses_anything_else(given):
    with pytest.raises(UsageError, match="^benchmark: must be 'pooled' or a number"):
        check_benchmark(given)


@pytest.mark.parametrize(
    "given", [[0.998, 0.95], [0.95], [0.95, 0.95], [0, 0.5], [0.8, 0.95], "0.95", [0.95, "0.998"], [True, 0.998]]
)
def test_levels_must_be_two_increasing_levels_as_phe_reads_them(given):
    with pytest.raises(UsageError, match=r"^levels: "):
        conf_levels(given, count=2, field="levels")


def test_levels_accept_a_tuple_or_percents_and_give_fractions():
    assert conf_levels((0.9, 0.99), count=2) == (0.9, 0.99)
    assert conf_levels([95, 99.8], count=2) == (0.95, 0.998)


# ------------------------------------------------------------------ data quality


def test_quality_params_check_language_folder_and_artifact(raw, tmp_path):
    params = validate_quality_params(data_dir=raw, lang="vi", output_json=tmp_path / "q.json")
    assert (params.lang, params.data_dir, params.output_json) == ("vi", raw.resolve(), tmp_path.resolve() / "q.json")
    with pytest.raises(UsageError, match="^data_dir: no such folder"):
        validate_quality_params(data_dir=tmp_path / "none")


def test_profile_district_of_another_province_says_which_province_it_is_in(raw):
    with pytest.raises(UsageError) as caught:
        validate_profile_params("Ia Grai", data_dir=raw)
    assert str(caught.value).endswith(
        "valid districts: Đắk Hà, Kon Rẫy, Kon Tum ('Ia Grai' is a district of Gia Lai: set province)"
    )


def test_profile_without_province_finds_the_district_in_any_province(raw):
    params = validate_profile_params("Ia Grai", province=None, data_dir=raw)
    assert (params.district, params.unit_code, params.province, params.province_code) == (
        "Ia Grai",
        "625",
        "Gia Lai",
        "64",
    )


def test_profile_without_province_refuses_a_name_of_several_provinces_and_suggests_close_names(raw):
    with pytest.raises(UsageError, match=r"^district: unknown district 'Ia Gray'; closest: Ia Grai$"):
        validate_profile_params("Ia Gray", province=None, data_dir=raw)
    extra = "626,Kon Rẫy,Huyện Kon Rẫy,district,64,,,\n"
    (raw / "units.csv").write_text(UNITS + extra, encoding="utf-8")
    with pytest.raises(
        UsageError,
        match=r"^district: district 'Kon Rẫy' exists in several provinces "
        r"\(Gia Lai, Kon Tum\); set province$",
    ):
        validate_profile_params("Kon Rẫy", province=None, data_dir=raw)


def test_comparison_of_a_province_with_one_district_says_so(raw):
    with pytest.raises(
        UsageError, match="^province: a comparison needs at least two districts; Gia Lai has Ia Grai in the unit table$"
    ):
        validate_comparison_params(province="Gia Lai", data_dir=raw)


# ------------------------------------------------------------------ comparison scope and period

REGION = "R-TN,Tây Nguyên,Vùng Tây Nguyên,region,,,,Tay Nguyen|Central Highlands\n"


@pytest.fixture
def regional(raw: Path) -> Path:
    """The unit table with Tây Nguyên as the parent of both provinces."""
    text = (raw / "units.csv").read_text(encoding="utf-8").replace("province,,", "province,R-TN,")
    header, rest = text.split("\n", 1)
    (raw / "units.csv").write_text(f"{header}\n{REGION}{rest}", encoding="utf-8")
    return raw


@pytest.mark.parametrize("given", ["Tây Nguyên", "tay nguyen", "Central Highlands", "R-TN"])
def test_comparison_region_in_any_spelling_takes_the_districts_of_its_provinces(regional, given):
    params = validate_comparison_params(province=None, region=given, data_dir=regional)
    assert (params.province, params.province_code, params.region, params.region_code) == (
        None,
        None,
        "Tây Nguyên",
        "R-TN",
    )
    assert params.unit_codes == ("608", "614", "615", "625") and params.place == "Tây Nguyên"


def test_comparison_all_takes_every_district_and_names_districts_of_several_provinces(regional):
    params = validate_comparison_params(province=None, region="ALL", data_dir=regional)
    assert (params.region, params.region_code, params.unit_codes) == ("all", None, ("608", "614", "615", "625"))
    chosen = validate_comparison_params(
        province=None, region="all", districts=["Ia Grai", "Kon Ray"], data_dir=regional
    )
    assert (chosen.unit_codes, chosen.districts) == (("614", "625"), ("614", "625"))


def test_comparison_region_and_province_together_is_refused_with_the_way_out(regional):
    with pytest.raises(UsageError) as caught:
        validate_comparison_params(region="Tây Nguyên", data_dir=regional)
    assert str(caught.value) == "region: give a province or a region, not both; set province to None"
    with pytest.raises(UsageError, match=r"^province: give a province, or a region \(or 'all'\)"):
        validate_comparison_params(province=None, data_dir=regional)


def test_comparison_unknown_region_lists_the_regions_and_all(regional):
    with pytest.raises(UsageError) as caught:
        validate_comparison_params(province=None, region="Bắc Bộ", data_dir=regional)
    assert str(caught.value) == (
        "region: unknown region 'Bắc Bộ'; valid regions: Tây Nguyên, or 'all' for every district"
    )


def test_comparison_district_outside_the_region_is_named(regional):
    text = (regional / "units.csv").read_text(encoding="utf-8")
    (regional / "units.csv").write_text(
        text + "49,Quảng Nam,Tỉnh Quảng Nam,province,,,,\n503,Nam Giang,Huyện Nam Giang,district,49,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(UsageError) as caught:
        validate_comparison_params(
            province=None, region="Tây Nguyên", districts=["Kon Rẫy", "Nam Giang", "Xyz"], data_dir=regional
        )
    assert str(caught.value).startswith("districts: unknown district(s) 'Nam Giang' (not in Tây Nguyên), 'Xyz' (")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ("2021", ("2021-01-01", "2021-12-31")),
        (2021, ("2021-01-01", "2021-12-31")),
        (["2019", "2023-06"], ("2019-01-01", "2023-06-30")),
        (("2020-03-01", 2020), ("2020-03-01", "2020-12-31")),
    ],
)
def test_comparison_period_is_a_year_a_date_or_a_pair_spanning_whole_years_and_months(raw, given, expected):
    assert validate_comparison_params(period=given, data_dir=raw).period == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (["2023", "2021"], "period: ends (2021-12-31) before it starts (2023-01-01)"),
        ("last year", "period: not a date: 'last year' (use YYYY, YYYY-MM or YYYY-MM-DD)"),
        (["2020"], "period: must be None, a year or date, or a list of two; got ['2020']"),
        (["2020", None], "period: must be None, a year or date, or a list of two; got ['2020', None]"),
    ],
)
def test_comparison_period_that_is_not_one_is_refused_naming_the_parameter(raw, given, message):
    with pytest.raises(UsageError) as caught:
        validate_comparison_params(period=given, data_dir=raw)
    assert str(caught.value) == message
