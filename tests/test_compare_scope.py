"""compare_districts over a region and within a common period (issue: real data, comparisons)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.errors import UsageError
from analysis.stats.comparison import compare_districts

UNITS = pd.DataFrame(
    {
        "unit_code": ["R-X", "62", "64", "49", "614", "615", "632", "506"],
        "name": ["Cao Nguyên", "Kon Tum", "Gia Lai", "Quảng Nam", "Kon Rẫy", "Đắk Hà", "Chư Prông", "Đại Lộc"],
        "level": ["region", "province", "province", "province", "district", "district", "district", "district"],
        "parent_code": ["", "R-X", "R-X", "", "62", "62", "64", "49"],
        "aliases": "",
    }
).assign(full_name=lambda f: f["name"])


def figures(rows):
    """Observations: (unit, indicator, value, as_of, start, end) tuples."""
    frame = pd.DataFrame(rows, columns=["unit_code", "indicator", "value", "as_of", "period_start", "period_end"])
    province = frame["unit_code"].map({"614": "62", "615": "62", "632": "64", "506": "49"})
    return frame.assign(
        obs_id=[f"O{i}" for i in range(len(frame))],
        unit_level="district",
        province_code=province,
        unit_label=frame["unit_code"],
    )


DATA = figures(
    [
        ("614", "admissions", 40, None, "2021-01-01", "2021-12-31"),
        ("614", "party_members", 1600, "2021-12-31", None, None),
        ("614", "admissions", 30, None, "2016-01-01", "2016-12-31"),
        ("614", "party_members", 1400, "2016-12-31", None, None),
        ("615", "admissions", 90, None, "2016-01-01", "2016-12-31"),
        ("615", "party_members", 3000, "2016-12-31", None, None),
        ("632", "admissions", 100, None, "2021-01-01", "2021-12-31"),
        ("632", "party_members", 4000, "2021-06-30", None, None),
        ("506", "admissions", 80, None, "2021-01-01", "2021-12-31"),
        ("506", "party_members", 5000, "2021-06-30", None, None),
    ]
)


def compared(**options):
    table = compare_districts(pd.Series({"observations": DATA, "units": UNITS}), family="admissions", **options)
    return table[table["metric"] == "admissions_per_100_member_years"].set_index("unit_code")


def test_a_region_compares_the_districts_of_its_provinces_only():
    table = compared(region="Cao Nguyên")
    assert sorted(table.index) == ["614", "615", "632"]
    assert table.loc["632", "comparison"] != "not compared"


def test_a_region_and_a_province_together_are_refused():
    with pytest.raises(UsageError, match="not both"):
        compared(region="R-X", province="62")


def test_without_a_period_each_district_uses_its_latest_period():
    table = compared()
    assert table.loc["614", "period_end"].year == 2021 and table.loc["615", "period_end"].year == 2016


def test_a_period_keeps_figures_inside_it_and_says_why_a_district_drops_out():
    table = compared(period="2021")
    assert table.loc["614", "estimate"] == pytest.approx(40 / 1600 * 100, rel=1e-2)
    assert table.loc["615", "comparison"] == "not compared"
    assert table.loc["615", "comparison_reason"] == "no figure in the period"
    older = compared(period=("2015", "2017"))
    assert older.loc["614", "estimate"] == pytest.approx(30 / 1400 * 100, rel=1e-2)
    assert older.loc["632", "comparison_reason"] == "no figure in the period"


@pytest.mark.parametrize("period", ["last year", ("2022", "2020"), 3.5])
def test_a_period_that_is_not_a_year_or_date_is_a_usage_error(period):
    with pytest.raises(UsageError, match="period"):
        compared(period=period)


def test_rows_of_different_bases_are_pooled_apart():
    from analysis.stats.classification import classify

    table = pd.DataFrame(
        {
            "metric": "rural_share",
            "kind": "share",
            "multiplier": 100.0,
            "computable": True,
            "numerator": [4.0, 10.0, 80.0, 90.0],
            "denominator": [27.0, 40.0, 100.0, 100.0],
            "basis": ["village cells", "village cells", "commune level", "commune level"],
        }
    )
    out = classify(table)
    assert out["benchmark"].round(2).tolist() == [20.9, 20.9, 85.0, 85.0]
    with pytest.raises(UsageError, match="pools apart by basis"):
        from analysis.stats.classification import pooled_benchmark

        pooled_benchmark(table, "rural_share")
