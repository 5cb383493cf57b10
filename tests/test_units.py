"""Resolving place names to unit codes: the project's table first, then the package."""

import unicodedata

import pandas as pd
import pytest

from analysis.errors import InputError, UnknownUnitError, UsageError
from analysis.data.units import load_units, resolve_unit, resolve_units, unit_hierarchy


@pytest.fixture
def units(small_raw):
    return load_units(small_raw / "units.csv")


@pytest.mark.parametrize(
    "name",
    [
        "Đắk Hà",
        "Đăk Hà",
        "Dak Ha",
        "dak ha",
        "huyện Đắk Hà",
        "Huyện Đăk Hà",
        unicodedata.normalize("NFD", "Đắk Hà"),
        "\u00d0ĂK HÀ",
        "  Đắk   Hà  ",
    ],
)
def test_spellings_of_dak_ha_resolve_to_615(units, name):
    assert resolve_unit(name, province="Kon Tum", units=units) == "615"


def test_kon_ray_resolves_to_614_with_or_without_province_and_level(units):
    assert resolve_unit("Kon Rẫy", "Kon Tum", "district", units=units) == "614"
    assert resolve_unit("Kon Ray", units=units) == "614"


def test_level_separates_the_province_from_the_city_of_the_same_name(units):
    assert resolve_unit("Kon Tum", "Kon Tum", "province", units=units) == "62"
    assert resolve_unit("Kon Tum", "Kon Tum", "district", units=units) == "608"
    assert resolve_unit("TP. Kon Tum", "Kon Tum", units=units) == "608"
    with pytest.raises(UsageError, match="ambiguous unit 'Kon Tum'.*province 62.*district 608"):
        resolve_unit("Kon Tum", "Kon Tum", units=units)


def test_historical_districts_resolve_to_their_own_codes_not_their_successors(units):
    assert resolve_unit("Đạ Tẻh", "Lâm Đồng", "district", units=units) == "682"
    assert resolve_unit("Nông Sơn", "Quảng Nam", "district", units=units) == "519"


def test_the_package_alone_maps_merged_districts_to_their_successors():
    # Why the project's table must win: vietnamadminunits' LEGACY data are of early 2025.
    from vietnamadminunits import parse_address

    da_teh = parse_address("Đạ Tẻh, Lâm Đồng", mode="LEGACY", level=2)
    nong_son = parse_address("Nông Sơn, Quảng Nam", mode="LEGACY", level=2)
    assert (da_teh.short_district, da_teh.district_code) == ("Đạ Huoai", "682")
    assert (nong_son.short_district, nong_son.district_code) == ("Quế Sơn", "509")
    assert parse_address("Khong Co, Kon Tum", mode="LEGACY", level=2).district_code is None


def test_a_merged_district_missing_from_the_table_is_unknown_not_its_successor(units):
    without = units.loc[units["unit_code"] != "519"]
    with pytest.raises(UnknownUnitError, match="unknown unit 'Nông Sơn'"):
        resolve_unit("Nông Sơn", "Quảng Nam", "district", units=without)


def test_the_package_normalises_a_spelling_the_table_does_not_know(units):
    table = units.assign(aliases=units["aliases"].str.replace("Đắc Hà", "", regex=False))
    assert resolve_unit("Đắc Hà", "Kon Tum", "district", units=table) == "615"


def test_a_name_matching_nothing_names_the_closest_candidates(units):
    with pytest.raises(UnknownUnitError) as caught:
        resolve_unit("Kon Rây Mới", "Kon Tum", "district", units=units)
    assert str(caught.value) == "unknown unit 'Kon Rây Mới'; closest: Kon Rẫy"
    assert caught.value.candidates == ["Kon Rẫy"]


def test_an_unknown_province_is_reported_with_its_closest_match(units):
    with pytest.raises(UnknownUnitError, match="province: unknown unit 'Kon Tom'; closest: Kon Tum"):
        resolve_unit("Kon Rẫy", "Kon Tom", units=units)


def test_resolve_unit_reads_the_raw_unit_table_by_default(small_raw, monkeypatch):
    monkeypatch.setenv("ANALYSIS_RAW_DIR", str(small_raw))
    assert resolve_unit("Dak Ha", province="Kon Tum") == "615"


def test_load_units_names_a_missing_column(small_raw):
    path = small_raw / "units.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("parent_code", "parent"), encoding="utf-8")
    with pytest.raises(InputError, match="units.csv:1: missing column 'parent_code'"):
        load_units(path)


def test_resolve_units_works_once_per_distinct_place(units, monkeypatch):
    import vietnamadminunits

    asked = []
    real = vietnamadminunits.parse_address
    monkeypatch.setattr(vietnamadminunits, "parse_address", lambda *a, **k: asked.append(a[0]) or real(*a, **k))
    places = pd.DataFrame(
        {
            "unit_name": ["Dak Ha", "Kon Rẫy", "Đắc Hàa", "Dak Ha"] * 5000,
            "province": "Kon Tum",
            "scope": "district",
        }
    )
    result = resolve_units(places, units)
    assert result["unit_code"].iloc[[0, 1, 3]].tolist() == ["615", "614", "615"]
    assert pd.isna(result["unit_code"].iloc[2])
    assert asked == ["Đắc Hàa, Kon Tum"]  # only the one unknown name, once
    assert (result["reason"].dropna() == "unknown unit 'Đắc Hàa'; closest: Đắk Hà").all()
    assert result["reason"].notna().sum() == 5000


def test_units_sharing_a_name_are_told_apart_by_the_figure_date():
    units = pd.DataFrame(
        {
            "unit_code": ["68", "681", "699"],
            "name": ["Lâm Đồng", "Đạ Huoai", "Đạ Huoai"],
            "full_name": ["Tỉnh Lâm Đồng", "Huyện Đạ Huoai", "Huyện Đạ Huoai"],
            "level": ["province", "district", "district"],
            "parent_code": ["", "68", "68"],
            "valid_from": pd.to_datetime([None, None, "2024-12-01"]),
            "valid_to": pd.to_datetime([None, "2024-11-30", None]),
            "aliases": "",
        }
    )
    places = pd.DataFrame(
        {
            "unit_name": "Đạ Huoai",
            "province": "Lâm Đồng",
            "scope": "district",
            "date": pd.to_datetime(["2020-06-30", "2025-03-01", None]),
        }
    )
    result = resolve_units(places, units, date="date")
    assert result["unit_code"].tolist()[:2] == ["681", "699"]
    assert pd.isna(result["unit_code"].iloc[2])
    assert result["reason"].iloc[2].startswith("ambiguous unit 'Đạ Huoai'")


def test_unit_hierarchy_walks_up_to_district_and_province(units):
    hierarchy = unit_hierarchy(units)
    assert hierarchy.loc["23479", ["unit_label", "unit_level", "district_code", "province_code"]].tolist() == [
        "Đăk Rve",
        "commune",
        "614",
        "62",
    ]
    assert hierarchy.loc["614", ["district_code", "province_code"]].tolist() == ["614", "62"]
    assert pd.isna(hierarchy.loc["62", "district_code"]) and hierarchy.loc["62", "province_code"] == "62"
