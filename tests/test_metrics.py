"""Metrics over processed observations: the worked figures, real districts, and not-computable cases.

Fixtures are the real published figures for Kon Rẫy (GSO 614, source S000,
23 Aug 2021) and Đắk Hà (615, S001, data to 30 Jun 2023), plus small real
cases where a metric cannot be computed. Expected values were checked by
hand (Wilson and exact Poisson formulas worked independently of statsmodels).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.stats import metrics
from analysis.data.dataset import load_dataset
from analysis.errors import InputError, UsageError
from analysis.stats.intervals import interval
from analysis.stats.metrics import (
    METRIC_COLUMNS,
    admission_metrics,
    compute_metrics,
    coverage_metrics,
    discipline_metrics,
    metric_definitions,
    nearest_stock,
    rate_interval,
    severity_mix,
    share_interval,
)

UNITS = {  # code: (label, province code)
    "614": ("Kon Rẫy", "62"),
    "615": ("Đắk Hà", "62"),
    "616": ("Sa Thầy", "62"),
    "623": ("Ia Grai", "64"),
    "436": ("Can Lộc", "42"),
    "421": ("Đô Lương", "40"),
}


def stock(obs_id, unit, indicator, value, as_of, **extra):
    """One stock figure (as_of date) with the processed-table defaults."""
    return dict(
        obs_id=obs_id,
        unit_code=unit,
        indicator=indicator,
        value=value,
        as_of=as_of,
        period_start=None,
        period_end=None,
        **extra,
    )


def flow(obs_id, unit, indicator, value, start, end, **extra):
    """One flow figure (period) with the processed-table defaults."""
    return dict(
        obs_id=obs_id,
        unit_code=unit,
        indicator=indicator,
        value=value,
        as_of=None,
        period_start=start,
        period_end=end,
        **extra,
    )


def observations(*rows) -> pd.DataFrame:
    """A processed-observations frame (docs/design.md columns) from a few rows."""
    frame = pd.DataFrame(list(rows))
    defaults = {
        "source_id": "S000",
        "approximate": False,
        "qualifier": "exact",
        "preferred": True,
        "flags": "",
        "table": "observations",
    }
    for col, value in defaults.items():
        frame[col] = frame[col].fillna(value) if col in frame else value
    frame["approximate"] = frame["approximate"].astype(bool)
    frame["preferred"] = frame["preferred"].astype(bool)
    frame["unit_label"] = frame["unit_code"].map(lambda c: UNITS[c][0])
    frame["province_code"] = frame["unit_code"].map(lambda c: UNITS[c][1])
    frame["unit_level"] = "district"
    frame["district_code"] = frame["unit_code"]
    frame["value_unit"] = np.where(frame["indicator"].str.endswith("_share"), "percent", "count")
    for col in ("as_of", "period_start", "period_end"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


KR_PERIOD = ("2020-01-01", "2021-08-23")
KR_2021 = ("2021-01-01", "2021-08-23")
BREAKDOWN = "breakdown_exceeds_total"


def kon_ray() -> pd.DataFrame:
    return observations(
        stock("O01", "614", "party_members", 1639, "2021-06-20"),
        flow("O02", "614", "disciplined_members", 22, *KR_PERIOD),
        flow("O03", "614", "disciplined_expulsion", 3, *KR_PERIOD, flags=BREAKDOWN),
        flow("O04", "614", "disciplined_warning", 2, *KR_PERIOD, flags=BREAKDOWN),
        flow("O05", "614", "disciplined_reprimand", 22, *KR_PERIOD, flags=BREAKDOWN),
        flow("O06", "614", "admissions", 27, *KR_2021),
        flow("O07", "614", "admissions_rural_cells", 4, *KR_2021),
        stock("O08", "614", "village_heads_party_members_share", 75.51, "2021-08-23"),
        stock("O09", "614", "cell_secretaries_also_village_heads_share", 14.29, "2021-08-23"),
        stock("O10", "614", "deputy_secretaries_also_village_heads_share", 10.20, "2021-08-23"),
        stock("O11", "614", "cell_committee_members_also_village_heads_share", 10.20, "2021-08-23"),
        stock("O12", "614", "members_assigned_households", 1072, "2021-08-23"),
        stock("O13", "614", "households_assigned", 6065, "2021-08-23"),
        stock("C01", "614", "villages", 49, "2020-12-31", source_id="C001", table="context"),
        stock("C02", "614", "population", 31071, "2022-12-31", source_id="C002", table="context"),
        stock("C03", "614", "population", 28591, "2019-12-31", source_id="C003", table="context"),
    )


DH_DATE = "2023-06-30"
DH_TERM = ("2020-10-01", DH_DATE)


def dak_ha() -> pd.DataFrame:
    return observations(
        stock("O20", "615", "village_heads_party_members", 69, DH_DATE, source_id="S001"),
        stock("O21", "615", "village_heads_party_members_share", 82.1, DH_DATE, source_id="S001"),
        stock("O22", "615", "cell_secretaries_also_village_heads", 24, DH_DATE, source_id="S001"),
        stock("O23", "615", "villages_with_cell_committee", 64, DH_DATE, source_id="S001"),
        stock(
            "O24",
            "615",
            "villages_with_cell_committee_share",
            76.2,
            DH_DATE,
            source_id="S001",
            qualifier="nearly",
            approximate=True,
        ),
        stock("O25", "615", "villages_with_party_org", 84, DH_DATE, source_id="S001"),
        stock("O26", "615", "villages", 84, DH_DATE, source_id="S001"),
        stock("O27", "615", "party_members", 3362, DH_DATE, source_id="S001"),
        flow("O28", "615", "admissions", 300, *DH_TERM, source_id="S001"),
        flow("O29", "615", "admissions_ethnic_minority", 124, *DH_TERM, source_id="S001"),
    )


def row(table: pd.DataFrame, unit: str, metric: str) -> pd.Series:
    """The single metrics row of a unit and metric (fails if not exactly one)."""
    picked = table[(table["unit_code"] == unit) & (table["metric"] == metric)]
    assert len(picked) == 1, picked
    return picked.iloc[0]


def numbers(r: pd.Series, *cols, ndigits=2):
    return [None if pd.isna(r[c]) else round(float(r[c]), ndigits) for c in cols]


# ------------------------------------------------------------- worked figures


def test_old_interval_helpers_warn_and_give_the_new_functions_results():
    with pytest.warns(DeprecationWarning, match="share_interval"):
        low, upp = share_interval([4, 69], [27, 84])
    new = interval([4, 69], [27, 84], method="wilson")
    assert low.tolist() == new.lower.tolist() and upp.tolist() == new.upper.tolist()
    with pytest.warns(DeprecationWarning, match="rate_interval"):
        low, upp = rate_interval(np.array([22]), np.array([2458.5]), conf_level=0.95)
    assert (round(1000 * low[0], 2), round(1000 * upp[0], 2)) == (5.61, 13.55)


# ------------------------------------------------------------ member coverage


def test_printed_village_head_share_of_kon_ray_becomes_37_of_49_with_wilson_interval():
    r = row(compute_metrics(kon_ray()), "614", "village_heads_party_members_share")
    assert numbers(r, "numerator", "denominator", "estimate", "lower", "upper") == [37.0, 49.0, 75.51, 61.91, 85.40]
    assert r["computable"] and not r["approximate"]
    assert r["method"].startswith("count derived from printed percent × n; Wilson score")
    assert r["obs_ids"] == "O08;C01"
    assert (r["period_start"], r["period_end"]) == (pd.Timestamp("2021-08-23"),) * 2
    assert (r["unit_label"], r["province_code"], r["family"]) == ("Kon Rẫy", "62", "coverage")


@pytest.mark.parametrize(
    "metric, count, estimate, lower, upper",
    [
        ("cell_secretaries_also_village_heads_share", 7, 14.29, 7.10, 26.67),
        ("deputy_secretaries_also_village_heads_share", 5, 10.20, 4.44, 21.76),
        ("cell_committee_members_also_village_heads_share", 5, 10.20, 4.44, 21.76),
    ],
)
def test_kon_ray_printed_secretary_shares_become_whole_counts_of_49_villages(metric, count, estimate, lower, upper):
    r = row(coverage_metrics(kon_ray()), "614", metric)
    assert numbers(r, "numerator", "denominator", "estimate", "lower", "upper") == [count, 49.0, estimate, lower, upper]


def test_assigned_members_share_uses_members_stock_64_days_earlier():
    r = row(compute_metrics(kon_ray()), "614", "assigned_members_share")
    assert numbers(r, "numerator", "denominator", "estimate", "lower", "upper") == [1072.0, 1639.0, 65.41, 63.07, 67.67]
    assert r["obs_ids"] == "O12;O01"


def test_households_per_assigned_member_is_a_ratio_without_interval():
    r = row(compute_metrics(kon_ray()), "614", "households_per_assigned_member")
    assert numbers(r, "numerator", "denominator", "estimate", ndigits=3) == [6065.0, 1072.0, 5.658]
    assert r["computable"] and pd.isna(r["lower"]) and pd.isna(r["upper"])
    assert pd.isna(r["conf_level"]) and r["multiplier"] == 1.0
    assert "no interval" in r["method"]


def test_members_per_1000_population_uses_the_nearer_2019_population():
    # 2019-12-31 is 537 days before 2021-06-20; 2022-12-31 is 559 days after.
    r = row(compute_metrics(kon_ray()), "614", "party_members_per_1000_population")
    assert numbers(r, "numerator", "denominator", "estimate", "lower", "upper") == [
        1639.0,
        28591.0,
        57.33,
        54.69,
        60.08,
    ]
    assert r["multiplier"] == 1000.0 and r["obs_ids"] == "O01;C03"
    assert r["method"].startswith("Wilson score")


def test_population_beyond_tolerance_is_not_computable_and_the_reason_gives_the_distance():
    r = row(compute_metrics(kon_ray(), tolerance_days=365), "614", "party_members_per_1000_population")
    assert not r["computable"] and pd.isna(r["estimate"]) and pd.isna(r["lower"])
    assert r["reason"] == "population 28591 (2019-12-31) is 537 days before 2021-06-20 (tolerance 365 days)"
    assert r["numerator"] == 1639 and pd.isna(r["denominator"]) and r["obs_ids"] == "O01"


@pytest.mark.parametrize(
    "metric, count, estimate, lower, upper",
    [
        ("village_heads_party_members_share", 69, 82.14, 72.61, 88.87),
        ("cell_secretaries_also_village_heads_share", 24, 28.57, 20.02, 39.00),
        ("villages_with_cell_committee_share", 64, 76.19, 66.06, 84.03),
        ("villages_with_party_org_share", 84, 100.00, 95.63, 100.00),
    ],
)
def test_dak_ha_counts_of_84_villages_give_village_shares(metric, count, estimate, lower, upper):
    r = row(coverage_metrics(dak_ha()), "615", metric)
    assert numbers(r, "numerator", "denominator", "estimate", "lower", "upper") == [count, 84.0, estimate, lower, upper]
    assert r["method"].startswith("Wilson score") and r["computable"]


def test_printed_share_on_the_same_date_as_its_count_adds_no_row_and_is_not_used():
    m = coverage_metrics(dak_ha())
    heads = m[m["metric"] == "village_heads_party_members_share"]
    assert len(heads) == 1 and heads["obs_ids"].iloc[0] == "O20;O26"
    # the printed "nearly 76.2%" is not used, so the exact 64 of 84 stays exact
    committee = row(m, "615", "villages_with_cell_committee_share")
    assert committee["obs_ids"] == "O23;O26" and not committee["approximate"]


def test_unit_with_members_but_no_population_appears_as_not_computable():
    r = row(compute_metrics(dak_ha()), "615", "party_members_per_1000_population")
    assert not r["computable"] and r["reason"] == "no denominator: population not reported"
    assert r["numerator"] == 3362 and pd.isna(r["estimate"]) and r["method"] == ""


# ----------------------------------------------------------------- admissions


def test_rural_cell_share_of_kon_ray_admissions_is_4_of_27():
    r = row(admission_metrics(kon_ray()), "614", "admissions_rural_cells_share")
    assert numbers(r, "numerator", "denominator", "estimate", "lower", "upper") == [4.0, 27.0, 14.81, 5.92, 32.48]
    assert r["obs_ids"] == "O07;O06"
    assert (r["period_start"], r["period_end"]) == (pd.Timestamp("2021-01-01"), pd.Timestamp("2021-08-23"))


def test_admissions_rate_exposure_is_members_times_235_days_over_365_25():
    r = row(admission_metrics(kon_ray()), "614", "admissions_per_100_member_years")
    assert round(r["exposure"], 2) == round(1639 * 235 / 365.25, 2) == 1054.52
    assert numbers(r, "numerator", "denominator", "estimate", "lower", "upper") == [27.0, 1639.0, 2.56, 1.69, 3.73]
    assert r["multiplier"] == 100.0 and r["method"].startswith("exact Poisson")


def test_dak_ha_term_admissions_give_ethnic_minority_share_and_rate():
    m = admission_metrics(dak_ha())
    share = row(m, "615", "admissions_ethnic_minority_share")
    assert numbers(share, "numerator", "denominator", "estimate", "lower", "upper") == [
        124.0,
        300.0,
        41.33,
        35.90,
        46.98,
    ]
    rate = row(m, "615", "admissions_per_100_member_years")
    # 2020-10-01..2023-06-30 is 1003 days; the 3,362 members are dated inside the period
    assert round(rate["exposure"], 1) == round(3362 * 1003 / 365.25, 1)
    assert numbers(rate, "estimate", "lower", "upper") == [3.25, 2.89, 3.64]


def test_hedged_part_makes_the_share_approximate_and_keeps_its_interval():
    obs = observations(
        flow("O1", "615", "admissions", 1500, "2008-01-01", "2018-12-31", source_id="S003"),
        flow(
            "O2",
            "615",
            "admissions_religious",
            170,
            "2008-01-01",
            "2018-12-31",
            source_id="S003",
            qualifier="more_than",
            approximate=True,
        ),
    )
    r = row(admission_metrics(obs), "615", "admissions_religious_share")
    assert r["approximate"] and r["computable"]
    assert numbers(r, "estimate", "lower", "upper") == [11.33, 9.83, 13.04]


def test_share_of_admissions_needs_admissions_over_the_same_period():
    obs = observations(
        flow("O1", "615", "admissions_female", 690, "2008-01-01", "2018-12-31", source_id="S003"),
        flow("O2", "615", "admissions", 300, *DH_TERM, source_id="S001"),
    )
    r = row(admission_metrics(obs), "615", "admissions_female_share")
    assert not r["computable"]
    assert r["reason"] == "no denominator: admissions not reported for the same period"


def test_part_larger_than_its_total_is_not_computable():
    obs = observations(
        flow("O1", "614", "admissions", 27, *KR_2021), flow("O2", "614", "admissions_rural_cells", 30, *KR_2021)
    )
    r = row(admission_metrics(obs), "614", "admissions_rural_cells_share")
    assert not r["computable"] and pd.isna(r["estimate"])
    assert r["reason"] == "numerator 30 exceeds denominator 27"


# ----------------------------------------------------------------- discipline


def test_kon_ray_discipline_rate_uses_1639_members_over_601_days():
    r = row(discipline_metrics(kon_ray()), "614", "disciplined_per_1000_member_years")
    assert round(r["exposure"], 2) == round(1639 * 601 / 365.25, 2) == 2696.89
    assert numbers(r, "numerator", "estimate", "lower", "upper") == [22.0, 8.16, 5.11, 12.35]
    assert r["multiplier"] == 1000.0 and r["conf_level"] == 0.95
    assert r["method"].startswith("exact Poisson (Garwood")
    assert r["obs_ids"] == "O02;O01"


def test_discipline_rate_carries_the_breakdown_flag_of_its_severity_parts():
    r = row(discipline_metrics(kon_ray()), "614", "disciplined_per_1000_member_years")
    assert r["flags"] == BREAKDOWN


def test_members_stock_869_days_before_the_period_is_beyond_the_default_tolerance():
    obs = observations(
        flow("O1", "623", "disciplined_members", 6, "2023-01-01", "2023-03-31", source_id="S036"),
        stock("O2", "623", "party_members", 3827, "2020-08-15", source_id="S037"),
    )
    r = row(discipline_metrics(obs), "623", "disciplined_per_1000_member_years")
    assert not r["computable"] and pd.isna(r["exposure"])
    assert r["reason"] == "party_members 3827 (2020-08-15) is 869 days before 2023-01-01 (tolerance 730 days)"
    wider = row(discipline_metrics(obs, tolerance_days=900), "623", "disciplined_per_1000_member_years")
    assert wider["computable"]
    assert numbers(wider, "estimate", "lower", "upper") == [6.36, 2.33, 13.85]


def test_discipline_count_with_unknown_period_is_not_computable():
    obs = observations(
        flow("O1", "436", "disciplined_members", 20, None, None, source_id="S053"),
        stock("O2", "436", "party_members", 5000, None, source_id="S053"),
    )
    r = row(discipline_metrics(obs), "436", "disciplined_per_1000_member_years")
    assert not r["computable"] and r["reason"] == "period unknown"
    assert pd.isna(r["estimate"]) and r["numerator"] == 20


def test_severity_mix_orders_forms_and_says_the_parts_exceed_the_printed_total():
    mix = severity_mix(kon_ray())
    assert mix["form"].tolist() == ["reprimand", "warning", "dismissal", "expulsion"]
    assert mix["form"].cat.ordered and mix["form"].cat.codes.tolist() == [0, 1, 2, 3]
    assert list(mix["form"].cat.categories) == ["reprimand", "warning", "dismissal", "expulsion"]
    assert mix["count"].tolist()[:2] == [22.0, 2.0] and pd.isna(mix["count"].iloc[2])
    assert mix["share"].round(1).tolist()[:2] == [81.5, 7.4]
    assert set(mix["breakdown_total"]) == {27.0} and set(mix["total_printed"]) == {22.0}
    assert set(mix["note"]) == {"parts sum to 27, above the printed total of 22"}
    assert set(mix["flags"]) == {BREAKDOWN}
    assert mix["obs_ids"].tolist() == ["O05;O02", "O04;O02", "O02", "O03;O02"]


def test_severity_mix_notes_parts_below_the_total_and_a_missing_total():
    obs = observations(
        flow("O1", "421", "disciplined_members", 44, "2018-01-01", "2018-09-30", source_id="S032"),
        flow("O2", "421", "disciplined_reprimand", 34, "2018-01-01", "2018-09-30", source_id="S032"),
        flow("O3", "421", "disciplined_dismissal", 1, "2018-01-01", "2018-09-30", source_id="S032"),
        flow("O4", "436", "disciplined_reprimand", 15, None, None, source_id="S053"),
    )
    mix = severity_mix(obs)
    assert set(mix.loc[mix["unit_code"] == "421", "note"]) == {
        "parts sum to 35, below the printed total of 44 (forms not reported, or other forms)"
    }
    assert set(mix.loc[mix["unit_code"] == "436", "note"]) == {"no printed total for this period"}
    assert set(mix["flags"]) == {""}


# ------------------------------------------------ printed percents, undated


def test_printed_percent_without_denominator_keeps_its_value_and_says_why():
    obs = observations(stock("O1", "616", "villages_with_party_org_share", 100, "2021-06-30"))
    r = row(coverage_metrics(obs), "616", "villages_with_party_org_share")
    assert not r["computable"] and r["estimate"] == 100.0
    assert pd.isna(r["lower"]) and pd.isna(r["numerator"])
    assert r["method"] == "printed percent; no interval"
    assert r["reason"] == (
        "percentage printed without a usable denominator: value kept, "
        "no interval (no denominator: villages not reported)"
    )
    assert r["obs_ids"] == "O1"


def test_printed_percent_that_is_no_whole_count_of_the_villages_is_not_computable():
    obs = observations(
        stock("O1", "614", "village_heads_party_members_share", 75.51, "2021-08-23"),
        stock("C1", "614", "villages", 50, "2021-01-01", source_id="C001"),
    )
    r = row(coverage_metrics(obs), "614", "village_heads_party_members_share")
    assert not r["computable"] and r["estimate"] == 75.51 and pd.isna(r["lower"])
    assert r["reason"] == "printed 75.51% is no whole count of 50 villages; printed percentage kept, no interval"


@pytest.mark.parametrize("decimals, computable", [(1, True), (2, False)])
def test_printed_decimals_decide_whether_a_percent_is_a_whole_count(decimals, computable):
    # 7 of 49 is 14.2857%: it prints as "14.3" but not as "14.30"
    obs = observations(
        stock("O1", "614", "cell_secretaries_also_village_heads_share", 14.3, "2021-08-23", value_decimals=decimals),
        stock("C1", "614", "villages", 49, "2021-01-01", source_id="C001"),
    )
    r = row(coverage_metrics(obs), "614", "cell_secretaries_also_village_heads_share")
    assert r["computable"] == computable
    assert r["numerator"] == 7 if computable else pd.isna(r["numerator"])


def test_hedged_printed_percent_becomes_an_approximate_count_without_the_decimals_check():
    # "about 75.5%" of 84 villages: 63 of 84 is 75.0%, close enough for a hedged figure
    obs = observations(
        stock(
            "O1",
            "615",
            "villages_with_cell_committee_share",
            75.5,
            DH_DATE,
            source_id="S001",
            qualifier="about",
            approximate=True,
            value_decimals=1,
        ),
        stock("O2", "615", "villages", 84, DH_DATE, source_id="S001"),
    )
    r = row(coverage_metrics(obs), "615", "villages_with_cell_committee_share")
    assert r["computable"] and r["approximate"]
    assert numbers(r, "numerator", "denominator", "estimate") == [63.0, 84.0, 75.0]
    assert r["obs_ids"] == "O1;O2"


def test_zero_denominator_is_not_computable():
    obs = observations(
        stock("O1", "616", "villages_with_party_org", 0, "2021-06-30"), stock("O2", "616", "villages", 0, "2021-06-30")
    )
    r = row(coverage_metrics(obs), "616", "villages_with_party_org_share")
    assert not r["computable"] and r["reason"] == "denominator is zero"


def test_undated_figures_pair_with_figures_of_their_own_source():
    obs = observations(
        stock("O1", "615", "village_heads_party_members", 69, None, source_id="S002"),
        stock("O2", "615", "villages", 84, None, source_id="S002"),
    )
    r = row(coverage_metrics(obs), "615", "village_heads_party_members_share")
    assert r["computable"] and r["obs_ids"] == "O1;O2"
    assert pd.isna(r["period_start"]) and pd.isna(r["period_end"])


def test_undated_figure_is_not_paired_with_another_source():
    obs = observations(
        stock("O1", "616", "villages_with_party_org", 74, None, source_id="S005"),
        stock("O2", "616", "villages", 64, "2021-12-31", source_id="S004"),
        stock("O3", "614", "villages_with_party_org", 49, "2021-08-23", source_id="S000"),
        stock("O4", "614", "villages", 49, None, source_id="C009"),
    )
    m = coverage_metrics(obs)
    assert (
        row(m, "616", "villages_with_party_org_share")["reason"]
        == "no denominator: the figure is undated and its source gives no villages"
    )
    assert (
        row(m, "614", "villages_with_party_org_share")["reason"]
        == "no denominator: villages reported only without a date"
    )


# ---------------------------------------------------------------- nearest_stock


def test_nearest_stock_prefers_a_stock_inside_the_period_and_then_the_nearest_middle():
    stocks = observations(
        stock("A", "614", "party_members", 1500, "2019-12-31"),  # 1 day before
        stock("B", "614", "party_members", 1600, "2020-03-01"),  # inside, far from the middle
        stock("C", "614", "party_members", 1639, "2020-07-01"),  # inside, near the middle
        stock("D", "614", "population", 28591, "2020-07-01"),
    )
    target = pd.DataFrame(
        {"unit_code": ["614"], "period_start": [pd.Timestamp("2020-01-01")], "period_end": [pd.Timestamp("2020-12-31")]}
    )
    found = nearest_stock(target, stocks, "party_members", tolerance_days=730)
    assert found[["stock_obs_id", "stock_value", "stock_days"]].iloc[0].tolist() == ["C", 1639.0, 0.0]


def test_nearest_stock_prefers_the_same_source_at_equal_distance():
    stocks = observations(
        stock("A", "614", "party_members", 1639, "2021-06-20", source_id="S000"),
        stock("B", "614", "party_members", 1650, "2021-06-20", source_id="S900"),
    )
    target = pd.DataFrame(
        {
            "unit_code": ["614", "614"],
            "source_id": ["S900", "S000"],
            "as_of": pd.to_datetime(["2021-06-20", "2021-06-20"]),
        }
    )
    assert nearest_stock(target, stocks, "party_members")["stock_obs_id"].tolist() == ["B", "A"]


def test_nearest_stock_keeps_the_rows_index_and_order_and_ignores_unpreferred_stocks():
    stocks = observations(
        stock("A", "615", "party_members", 3362, DH_DATE),
        stock("B", "615", "party_members", 3387, DH_DATE, preferred=False),
    )
    target = pd.DataFrame({"unit_code": ["616", "615"], "as_of": pd.to_datetime([DH_DATE] * 2)}, index=[10, 3])
    found = nearest_stock(target, stocks, "party_members")
    assert found.index.tolist() == [10, 3]
    assert found["stock_obs_id"].tolist()[1] == "A"
    assert found["stock_reason"].tolist() == ["no denominator: party_members not reported", ""]


def test_nearest_stock_rejects_a_negative_tolerance():
    with pytest.raises(UsageError, match="tolerance"):
        nearest_stock(pd.DataFrame({"unit_code": []}), kon_ray(), "party_members", -1)


# ----------------------------------------------------------- options, inputs


def test_only_preferred_observations_are_used():
    obs = pd.concat(
        [dak_ha(), observations(stock("O99", "615", "party_members", 3387, DH_DATE, source_id="S002", preferred=False))]
    )
    r = row(admission_metrics(obs), "615", "admissions_per_100_member_years")
    assert r["denominator"] == 3362 and "O99" not in r["obs_ids"]


def test_as_of_leaves_out_figures_dated_later():
    both = pd.concat([kon_ray(), dak_ha()])
    m = compute_metrics(both, as_of="2022-01-01")
    assert set(m["unit_code"]) == {"614"}
    # the 2022 population is not eligible; the 2019 one still is
    assert row(m, "614", "party_members_per_1000_population")["denominator"] == 28591


def test_families_select_metric_families_and_family_functions_agree():
    both = pd.concat([kon_ray(), dak_ha()])
    every = compute_metrics(both)
    assert set(every["family"]) == {"coverage", "admissions", "discipline"}
    for family, function in [
        ("coverage", coverage_metrics),
        ("admissions", admission_metrics),
        ("discipline", discipline_metrics),
    ]:
        expected = every[every["family"] == family].reset_index(drop=True)
        pd.testing.assert_frame_equal(function(both), expected)
    assert set(compute_metrics(both, families="discipline")["metric"]) == {"disciplined_per_1000_member_years"}


def test_conf_level_and_clopper_pearson_option_change_the_interval():
    r = row(compute_metrics(kon_ray(), conf_level=0.998), "614", "admissions_rural_cells_share")
    assert numbers(r, "lower", "upper") == [3.65, 44.36] and r["conf_level"] == 0.998
    r = row(compute_metrics(kon_ray(), method_share="beta"), "614", "admissions_rural_cells_share")
    assert numbers(r, "lower", "upper") == [4.19, 33.73]
    assert "Clopper-Pearson" in r["method"] and "method='beta'" in r["method"]


@pytest.mark.parametrize(
    "options, field",
    [
        ({"families": ["coverage", "turnout"]}, "families"),
        ({"method_share": "wald"}, "method_share"),
        ({"conf_level": 0.8}, "conf_level"),
        ({"conf_level": 50}, "conf_level"),
        ({"tolerance_days": -5}, "tolerance_days"),
        ({"as_of": "cuối năm"}, "as_of"),
    ],
)
def test_bad_options_are_usage_errors_naming_the_parameter(options, field):
    with pytest.raises(UsageError) as caught:
        compute_metrics(kon_ray(), **options)
    assert caught.value.field == field and "\n" not in str(caught.value)


def test_missing_column_is_an_input_error_naming_it():
    with pytest.raises(InputError, match=r"indicator: observations lack column\(s\) indicator"):
        compute_metrics(kon_ray().drop(columns="indicator"))


def test_non_numeric_value_is_an_input_error_naming_the_observation():
    obs = kon_ray().astype({"value": object})
    obs.loc[obs["obs_id"] == "O06", "value"] = "hai mươi bảy"
    with pytest.raises(InputError, match="observation O06: value 'hai mươi bảy' is not a number"):
        compute_metrics(obs)


def test_empty_observations_give_an_empty_table_with_the_contract_columns():
    empty = compute_metrics(kon_ray().iloc[:0])
    assert empty.empty and list(empty.columns) == list(METRIC_COLUMNS)
    assert empty["computable"].dtype == bool and empty["estimate"].dtype == float
    assert severity_mix(dak_ha()).empty  # no severity figures at all


def test_metrics_table_has_the_design_contract_columns_and_types():
    m = compute_metrics(pd.concat([kon_ray(), dak_ha()]))
    assert list(m.columns) == [
        "unit_code",
        "unit_label",
        "province_code",
        "family",
        "metric",
        "period_start",
        "period_end",
        "numerator",
        "denominator",
        "exposure",
        "estimate",
        "lower",
        "upper",
        "multiplier",
        "conf_level",
        "method",
        "basis",
        "approximate",
        "computable",
        "reason",
        "obs_ids",
        "flags",
    ]
    assert m["computable"].dtype == bool and m["approximate"].dtype == bool
    assert (m.loc[m["computable"], "reason"] == "").all()
    assert (m.loc[~m["computable"], "reason"] != "").all()
    # every metric row is traceable to its observations
    assert (m["obs_ids"] != "").all()


# --------------------------------------------------------- registry, labels


def test_metric_definitions_list_every_metric_with_kind_multiplier_and_labels():
    defs = metric_definitions()
    assert list(defs.columns[:7]) == [
        "metric",
        "family",
        "kind",
        "multiplier",
        "label_en",
        "label_vi",
        "polarity_default",
    ]
    stand_ins = [d for d in metrics.METRICS if d.stands_for]
    assert [d.metric for d in stand_ins] == ["admissions_commune_level_share"]  # listed under the metric it stands for
    assert defs["metric"].is_unique and len(defs) == len(metrics.METRICS) - 1 == 15
    assert set(defs["kind"]) == {"share", "rate", "ratio"}
    assert defs["polarity_default"].isna().all()
    computed = set(compute_metrics(pd.concat([kon_ray(), dak_ha()]))["metric"])
    assert computed <= set(defs["metric"])


def test_vietnamese_labels_are_nfc_and_carry_their_diacritics():
    defs = metric_definitions().set_index("metric")
    assert all(unicodedata.is_normalized("NFC", label) for label in defs["label_vi"])
    assert (
        defs.loc["disciplined_per_1000_member_years", "label_vi"] == "Số đảng viên bị kỷ luật trên 1.000 đảng viên-năm"
    )
    assert (
        defs.loc["admissions_ethnic_minority_share", "label_vi"] == "Tỷ lệ đảng viên mới là người dân tộc thiểu số (%)"
    )
    assert [f[3] for f in metrics.SEVERITY_FORMS] == ["khiển trách", "cảnh cáo", "cách chức", "khai trừ"]


def test_every_indicator_the_registry_reads_is_in_the_project_codebook():
    codebook = pd.read_csv(paths.raw_dir() / "codebook.csv")
    # The discipline-by-body indicators arrive with the extraction branch's codebook rows.
    pending = {name for name, _ in metrics.DISCIPLINING_BODIES} - set(codebook["indicator"])
    assert set(metrics._indicators(metrics.METRICS)) - pending <= set(codebook["indicator"])


def test_project_data_give_kon_ray_discipline_rate_and_rural_cell_share():
    # the contract with analysis.data.dataset: its processed frame feeds compute_metrics as is
    m = compute_metrics(load_dataset().observations)
    rate = row(m, "614", "disciplined_per_1000_member_years")
    assert numbers(rate, "numerator", "denominator", "estimate", "lower", "upper") == [22.0, 1639.0, 8.16, 5.11, 12.35]
    assert BREAKDOWN in rate["flags"].split(";")
    rural = row(m, "614", "admissions_rural_cells_share")
    assert numbers(rural, "estimate", "lower", "upper") == [14.81, 5.92, 32.48]


# ------------------------------------------------------------ vectorisation


def test_each_unit_gets_the_same_result_alone_as_in_a_shuffled_panel():
    alone = compute_metrics(kon_ray()).drop(columns=["unit_code", "obs_ids"])
    copies = []
    for i in range(40):
        copy = kon_ray()
        copy["unit_code"] = f"9{i:02d}"
        copy["obs_id"] = copy["obs_id"] + f"-{i}"
        copies.append(copy)
    panel = pd.concat(copies).sample(frac=1, random_state=1)
    result = compute_metrics(panel)
    assert len(result) == 40 * len(alone)
    for code in ("900", "917", "939"):
        one = result[result["unit_code"] == code].drop(columns=["unit_code", "obs_ids"])
        pd.testing.assert_frame_equal(one.reset_index(drop=True), alone.reset_index(drop=True))


# ------------------------------------- finest breakdown, summed parts, zero-day periods

RURAL = "admissions_rural_cells_share"


def test_rural_share_uses_village_cells_when_published_and_labels_the_basis():
    obs = observations(
        flow("O1", "614", "admissions", 27, *KR_2021),
        flow("O2", "614", "admissions_rural_cells", 4, *KR_2021),
        flow("O3", "614", "admissions_commune_level", 20, *KR_2021),
    )
    r = row(admission_metrics(obs), "614", RURAL)
    assert (r["numerator"], r["basis"]) == (4.0, "village cells")
    assert "O3" not in r["obs_ids"]


def test_rural_share_falls_back_to_commune_level_and_says_so():
    obs = observations(
        flow("O1", "615", "admissions", 300, *DH_TERM), flow("O2", "615", "admissions_commune_level", 120, *DH_TERM)
    )
    r = row(admission_metrics(obs), "615", RURAL)
    assert (r["numerator"], r["denominator"], r["basis"]) == (120.0, 300.0, "commune-level organisations")
    assert r["computable"] and "admissions_commune_level_share" not in set(admission_metrics(obs)["metric"])


def test_each_row_of_a_mixed_table_names_its_own_basis():
    obs = pd.concat(
        [
            observations(
                flow("O1", "614", "admissions", 27, *KR_2021), flow("O2", "614", "admissions_rural_cells", 4, *KR_2021)
            ),
            observations(
                flow("O3", "615", "admissions", 300, *DH_TERM),
                flow("O4", "615", "admissions_commune_level", 120, *DH_TERM),
            ),
        ]
    )
    m = admission_metrics(obs)
    rural = m[m["metric"] == RURAL]
    assert rural[["unit_code", "basis"]].values.tolist() == [
        ["614", "village cells"],
        ["615", "commune-level organisations"],
    ]
    assert (m.loc[m["metric"] != RURAL, "basis"] == "").all()


BODIES = (
    "disciplined_members_by_inspection_commissions",
    "disciplined_members_by_party_committees",
    "disciplined_members_by_cells",
)


def test_discipline_numerator_is_the_sum_of_the_bodies_when_no_total_is_printed():
    obs = observations(
        stock("O1", "614", "party_members", 1639, "2021-06-20"),
        *(flow(f"P{i}", "614", body, value, *KR_PERIOD) for i, (body, value) in enumerate(zip(BODIES, (16, 5, 1)))),
    )
    r = row(discipline_metrics(obs), "614", "disciplined_per_1000_member_years")
    assert r["numerator"] == 22.0 and r["computable"]
    assert r["obs_ids"] == "P0;P1;P2;O1"
    assert metrics.SUMMED_FLAG in r["flags"].split(";") and metrics.PARTIAL_FLAG not in r["flags"]
    assert r["method"].startswith("numerator summed from its parts")


def test_a_printed_total_is_never_added_to_its_parts():
    obs = observations(
        stock("O1", "614", "party_members", 1639, "2021-06-20"),
        flow("O2", "614", "disciplined_members", 22, *KR_PERIOD),
        flow("P0", "614", BODIES[0], 16, *KR_PERIOD),
        flow("P1", "614", BODIES[1], 6, *KR_PERIOD),
    )
    r = row(discipline_metrics(obs), "614", "disciplined_per_1000_member_years")
    assert r["numerator"] == 22.0 and r["obs_ids"] == "O2;O1" and metrics.SUMMED_FLAG not in r["flags"]


def test_a_sum_of_some_bodies_only_is_flagged_incomplete():
    obs = observations(
        stock("O1", "614", "party_members", 1639, "2021-06-20"),
        flow("P0", "614", BODIES[0], 16, *KR_PERIOD, approximate=True, qualifier="about"),
    )
    r = row(discipline_metrics(obs), "614", "disciplined_per_1000_member_years")
    assert r["numerator"] == 16.0 and r["approximate"]
    assert {metrics.SUMMED_FLAG, metrics.PARTIAL_FLAG} <= set(r["flags"].split(";"))


def test_a_rate_over_a_period_of_zero_days_is_not_computable():
    obs = observations(
        stock("O1", "614", "party_members", 1639, "2021-06-20"),
        flow("O2", "614", "disciplined_members", 22, "2021-08-23", "2021-08-23"),
        flow("O3", "614", "admissions", 27, "2021-08-23", "2021-08-23"),
        flow("O4", "614", "admissions_rural_cells", 4, "2021-08-23", "2021-08-23"),
    )
    m = compute_metrics(obs, families=["admissions", "discipline"])
    for metric in ("disciplined_per_1000_member_years", "admissions_per_100_member_years"):
        r = row(m, "614", metric)
        assert not r["computable"] and r["reason"] == "period of zero days" and np.isnan(r["estimate"])
    assert row(m, "614", RURAL)["computable"]  # a share of the same flow needs no length of time
