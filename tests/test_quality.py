"""Quality rules, each with the rows that trigger it (tests/fixtures/raw_small)."""

from pathlib import Path

import pandas as pd
import pytest

from analysis.data.dataset import load_dataset
from analysis.data.quality import RULES, check_quality, flags_by_observation


@pytest.fixture(scope="module")
def fixture_ds():
    """The fixture dataset, loaded once for the tests that only read it."""
    return load_dataset(Path(__file__).parent / "fixtures" / "raw_small")


def flagged(ds, rule):
    """obs_ids sets of the flags of one rule."""
    return [set(ids.split(";")) for ids in ds.flags.loc[ds.flags["rule"] == rule, "obs_ids"]]


def message(ds, rule, obs_id):
    rows = ds.flags.loc[(ds.flags["rule"] == rule) & ds.flags["obs_ids"].str.contains(obs_id)]
    assert len(rows) == 1, rows
    return rows["message"].iloc[0]


def replace_in(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(path, *lines):
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))


#: Rules for typing slips the fixture does not make; each has its own test on an edited copy.
SLIP_RULES = ("zero_length_period", "dated_after_publication")


def test_every_rule_fires_on_the_fixture_with_its_severity(fixture_ds):
    counts = fixture_ds.flags.groupby("rule")["severity"].agg(["size", "first"])
    assert set(counts.index) == set(RULES) - set(SLIP_RULES)
    assert counts["first"].to_dict() == {rule: severity for rule, severity in RULES.items() if rule not in SLIP_RULES}


def test_kon_ray_discipline_breakdown_exceeds_its_total(fixture_ds):
    assert flagged(fixture_ds, "breakdown_exceeds_total") == [{"O0003", "O0004", "O0005", "O0006"}]
    assert message(fixture_ds, "breakdown_exceeds_total", "O0003") == (
        "severity breakdown of disciplined_members sums to 27 (3+2+22), more than the total 22"
    )


def test_a_breakdown_within_its_total_or_under_a_lower_bound_is_not_flagged(small_raw):
    obs = small_raw / "observations.csv"
    replace_in(obs, "disciplined_reprimand,22,", "disciplined_reprimand,17,")
    assert flagged(load_dataset(small_raw), "breakdown_exceeds_total") == []
    replace_in(obs, "disciplined_reprimand,17,", "disciplined_reprimand,22,")
    replace_in(obs, "disciplined_members,22,count,exact", "disciplined_members,22,count,more_than")
    assert flagged(load_dataset(small_raw), "breakdown_exceeds_total") == []


def test_a_printed_percent_its_counts_do_not_give_is_flagged(fixture_ds):
    assert flagged(fixture_ds, "percent_count_mismatch") == [{"O0027", "O0025", "O0026"}]
    assert message(fixture_ds, "percent_count_mismatch", "O0027") == "printed 80% but 30/40 = 75%; tolerance 0.5"


def test_rounding_of_the_printed_decimals_is_tolerated_and_no_more(small_raw):
    # 69/84 = 82.142...: 82.1 (one decimal) is fine, 82.2 is not; 75.51% of 49 villages is 37 exactly.
    obs = small_raw / "observations.csv"
    replace_in(obs, "village_heads_party_members_share,82.1,", "village_heads_party_members_share,82.2,")
    ds = load_dataset(small_raw)
    assert {"O0016", "O0015", "O0014"} in flagged(ds, "percent_count_mismatch")
    assert message(ds, "percent_count_mismatch", "O0016") == "printed 82.2% but 69/84 = 82.14%; tolerance 0.05"
    assert not any("O0001" in ids for ids in flagged(ds, "percent_count_mismatch"))


def test_a_percent_that_is_no_whole_count_of_its_denominator_is_flagged(small_raw):
    replace_in(
        small_raw / "observations.csv",
        "village_heads_party_members_share,75.51,",
        "village_heads_party_members_share,75.6,",
    )
    replace_in(small_raw / "observations.csv", "O0010,S000", "O0010,S001")  # no numerator from the same source
    ds = load_dataset(small_raw)
    assert message(ds, "percent_count_mismatch", "O0001") == (
        "printed 75.6% but no whole count out of 49 gives it (nearest 37/49 = 75.51%); tolerance 0.05"
    )


def test_a_hedged_numerator_is_compared_within_ten_percent(small_raw):
    obs = small_raw / "observations.csv"
    replace_in(obs, "villages_with_cell_committee,64,count,exact", "villages_with_cell_committee,64,count,nearly")
    assert not any("O0017" in ids for ids in flagged(load_dataset(small_raw), "percent_count_mismatch"))
    replace_in(obs, "villages_with_cell_committee,64,count,nearly", "villages_with_cell_committee,50,count,nearly")
    assert "more than 10% away from the hedged count 50" in message(
        load_dataset(small_raw), "percent_count_mismatch", "O0017"
    )


def test_dak_ha_members_3362_and_3387_conflict_and_the_dated_figure_is_preferred(fixture_ds):
    assert {"O0013", "O0019"} in flagged(fixture_ds, "conflicting_sources")
    assert message(fixture_ds, "conflicting_sources", "O0019") == (
        "party_members of Đắk Hà: 3362 (S001, 2023-06-30) vs 3387 (S002, date unknown); "
        "2023-06-30 is the only date of this indicator for this unit, so the undated figure is compared with it; "
        "preferred O0013 (a dated figure is preferred to an undated one)"
    )
    preferred = fixture_ds.observations.set_index("obs_id")["preferred"]
    assert not preferred["O0019"] and preferred["O0013"]
    assert preferred.drop(["O0019", "C0006"]).all()


def test_same_year_figures_conflict_and_the_later_publication_wins(fixture_ds):
    assert {"C0005", "C0006"} in flagged(fixture_ds, "conflicting_sources")
    assert message(fixture_ds, "conflicting_sources", "C0005").endswith(
        "preferred C0005 (the later publication is preferred)"
    )


def test_figures_of_different_dates_or_periods_or_equal_values_do_not_conflict(small_raw):
    append(
        small_raw / "observations.csv",
        "O0901,S000,para 9,Đắk Hà,Kon Tum,district,party_members,3000,count,exact,2018-12-31,,,stated,published,Earlier date.",  # noqa: E501 (a raw CSV row)
        "O0902,S000,para 9,Đắk Hà,Kon Tum,district,villages,84,count,exact,2023-06-30,,,stated,published,Same value.",
        "O0903,S002,para 9,Kon Rẫy,Kon Tum,district,admissions,40,count,exact,,2020-01,2021-08-23,stated,published,Longer period.",  # noqa: E501 (a raw CSV row)
    )
    pairs = flagged(load_dataset(small_raw), "conflicting_sources")
    assert not any(ids & {"O0902", "O0903"} for ids in pairs)
    assert {"O0013", "O0901"} not in pairs
    # members now given for two dates: the undated 3387 could be of either, so it is compared with neither
    assert not any("O0019" in ids for ids in pairs)


def test_an_exact_figure_is_preferred_to_a_hedged_one_of_the_same_date(small_raw):
    append(
        small_raw / "observations.csv",
        "O0901,S002,opening,Đắk Hà,Kon Tum,district,party_members,3000,count,more_than,2023-06-30,,,stated,published,Hedged.",  # noqa: E501 (a raw CSV row)
    )
    ds = load_dataset(small_raw)
    assert message(ds, "conflicting_sources", "O0901").endswith(
        "preferred O0013 (an exact figure is preferred to a hedged one)"
    )
    assert not ds.observations.set_index("obs_id").at["O0901", "preferred"]


def test_hedged_values_are_flagged_and_approximate(fixture_ds):
    assert sorted(ids.pop() for ids in flagged(fixture_ds, "hedged_value")) == [
        "O0017",
        "O0021",
        "O0028",
        "O0031",
        "O0032",
    ]
    assert message(fixture_ds, "hedged_value", "O0017") == "printed as 'nearly 76.2'"
    approximate = fixture_ds.observations.set_index("obs_id")["approximate"]
    assert approximate[["O0017", "O0021", "O0028", "O0031", "O0032"]].all() and approximate.sum() == 5


def test_percentages_without_denominator_are_flagged(fixture_ds):
    assert flagged(fixture_ds, "denominator_missing") == [{"O0009"}, {"O0011"}]
    assert message(fixture_ds, "denominator_missing", "O0009") == "no villages figure for this unit"
    assert message(fixture_ds, "denominator_missing", "O0011") == (
        "the codebook gives no denominator for members_registered_at_residence_share"
    )


def test_flows_without_a_period_and_stocks_without_a_date_are_flagged(fixture_ds):
    assert flagged(fixture_ds, "period_unknown") == [{"O0012"}, {"O0019"}, {"C0001"}]
    assert message(fixture_ds, "period_unknown", "O0012") == "flow without a start date"
    assert message(fixture_ds, "period_unknown", "O0019") == "stock without a date"


def test_up_to_now_in_an_undated_source_is_a_flow_without_an_end(small_raw):
    replace_in(small_raw / "observations.csv", "O0007,S000", "O0007,S002")
    assert message(load_dataset(small_raw), "period_unknown", "O0007") == (
        "flow without an end date (ends at publication, but the source is undated)"
    )


def test_suspect_notes_and_derived_values_are_flagged(fixture_ds):
    assert flagged(fixture_ds, "suspect_note") == [{"O0006"}, {"O0019"}, {"C0006"}]
    assert message(fixture_ds, "suspect_note", "O0006").startswith("SUSPECT: 3+2+22")
    assert flagged(fixture_ds, "derived_value") == [{"O0010"}]


def test_units_that_no_longer_exist_get_one_flag_each(fixture_ds):
    historical = fixture_ds.flags.loc[fixture_ds.flags["rule"] == "historical_unit"]
    assert sorted(historical["unit_code"]) == ["23479", "519", "608", "614", "615", "62", "682"]
    da_teh = historical.set_index("unit_code").loc["682"]
    assert da_teh["obs_ids"] == "O0023;O0024;O0025;O0026;O0027"
    assert da_teh["message"] == "Đạ Tẻh (682) existed until 2024-11-30"
    assert "historical_unit" not in fixture_ds.observations.set_index("obs_id").at["O0032", "flags"]


def test_each_observation_lists_its_rules_in_rule_order(fixture_ds):
    flags = fixture_ds.observations.set_index("obs_id")["flags"]
    assert flags["O0006"] == "breakdown_exceeds_total;suspect_note;historical_unit"
    assert flags["O0019"] == "conflicting_sources;period_unknown;suspect_note;historical_unit"
    assert flags["O0032"] == "hedged_value"


def test_the_rules_of_each_figure_are_the_same_from_flagged_rows_as_from_obs_ids(fixture_ds):
    obs = fixture_ds.observations
    assert obs["flags"].tolist() == flags_by_observation(fixture_ds.flags, obs["obs_id"]).tolist()
    assert (obs["flags"] != "").sum() > 20


def test_flags_by_observation_ignores_unknown_ids_and_leaves_others_empty():
    flags = pd.DataFrame({"rule": ["derived_value", "hedged_value"], "obs_ids": ["O9", "O1;O9"]})
    assert flags_by_observation(flags, pd.Series(["O1", "O2"])).tolist() == ["hedged_value", ""]


# --- the rules on small hand-made frames ------------------------------------------------------------

BOOK = pd.DataFrame(
    {
        "indicator": [
            "party_members",
            "villages",
            "village_heads_party_members",
            "village_heads_party_members_share",
            "admissions",
            "admissions_target",
            "admissions_target_achieved_share",
        ],
        "parent": "",
        "breakdown": "",
        "numerator": ["", "", "", "village_heads_party_members", "", "", "admissions"],
        "denominator": ["", "", "", "villages", "", "", "admissions_target"],
    }
)
STOCKS = {"party_members", "villages", "village_heads_party_members", "village_heads_party_members_share"}


def figures(*rows):
    """Processed observations from (obs_id, source_id, indicator, value, date) rows of unit 615.

    ``date`` is an as_of for stocks, ``(start, end)`` for flows; None = undated. Percentages are
    the ``_share`` indicators, printed with two decimals when not whole.
    """

    def day(text):
        return pd.Timestamp(text) if text else pd.NaT

    frame = pd.DataFrame(
        [
            {
                "obs_id": obs_id,
                "source_id": source,
                "unit_code": "615",
                "unit_label": "Đắk Hà",
                "indicator": indicator,
                "kind": "stock" if indicator in STOCKS else "flow",
                "value": float(value),
                "value_unit": "percent" if indicator.endswith("_share") else "count",
                "value_decimals": 0 if float(value).is_integer() else 2,
                "qualifier": "exact",
                "as_of": day(date) if indicator in STOCKS else pd.NaT,
                "period_start": pd.NaT if indicator in STOCKS else day(date and date[0]),
                "period_end": pd.NaT if indicator in STOCKS else day(date and date[1]),
                "date_precision": "day" if date else None,
                "period_end_basis": "stated" if date else "unknown",
                "status": "published",
                "published": None,
                "note": "",
            }
            for obs_id, source, indicator, value, date in rows
        ]
    )
    return frame.astype({c: "datetime64[us]" for c in ("as_of", "period_start", "period_end")})


def rule_flags(rule, *rows):
    units = pd.DataFrame({"unit_code": ["615"], "valid_to": pd.to_datetime([None])})
    flags, _ = check_quality(figures(*rows), BOOK, units)
    return flags.loc[flags["rule"] == rule]


YEAR_2014, YEAR_2016 = ("2014-01-01", "2014-12-31"), ("2016-01-01", "2016-12-31")


def test_a_flow_percent_is_not_checked_against_a_denominator_of_another_period():
    # 50.5% is 101 of 2014's target of 200, but no whole count of the 2016 target of 300
    share = ("O1", "S1", "admissions_target_achieved_share", 50.5, YEAR_2014)
    assert rule_flags("percent_count_mismatch", share, ("O2", "S1", "admissions_target", 300, YEAR_2016)).empty
    assert rule_flags(
        "percent_count_mismatch",
        share,
        ("O2", "S1", "admissions_target", 300, YEAR_2016),
        ("O3", "S2", "admissions_target", 200, YEAR_2014),
    ).empty


def test_a_flow_percent_disagreeing_with_its_denominator_of_the_same_period_is_flagged():
    flags = rule_flags(
        "percent_count_mismatch",
        ("O1", "S1", "admissions_target_achieved_share", 50, YEAR_2014),
        ("O2", "S1", "admissions_target", 300, YEAR_2016),
        ("O3", "S2", "admissions_target", 90, YEAR_2014),
        ("O4", "S1", "admissions", 40, YEAR_2014),
    )
    assert flags["obs_ids"].tolist() == ["O1;O4;O3"]
    assert flags["message"].tolist() == ["printed 50% but 40/90 = 44.44%; tolerance 0.5"]


def test_a_flow_percent_to_date_takes_a_denominator_to_date_only_from_its_own_source():
    to_date = ("2014-01-01", None)
    share = ("O1", "S1", "admissions_target_achieved_share", 50.5, to_date)  # no whole count of 90
    other_source = rule_flags("percent_count_mismatch", share, ("O2", "S2", "admissions_target", 90, to_date))
    same_source = rule_flags("percent_count_mismatch", share, ("O2", "S1", "admissions_target", 90, to_date))
    assert other_source.empty and same_source["obs_ids"].tolist() == ["O1;O2"]


def test_a_stock_percent_takes_the_same_date_then_its_own_source_never_another_sources_other_date():
    share = ("O1", "S1", "village_heads_party_members_share", 75, "2020-12-31")  # 3 of 4, or 30 of 40
    assert rule_flags("percent_count_mismatch", share, ("O2", "S2", "villages", 41, "2018-12-31")).empty
    same_date = rule_flags(
        "percent_count_mismatch",
        share,
        ("O2", "S2", "villages", 41, "2018-12-31"),
        ("O3", "S1", "villages", 40, "2015-12-31"),
        ("O4", "S3", "villages", 41, "2020-12-31"),
    )
    assert same_date["obs_ids"].tolist() == ["O1;O4"]
    own_source = rule_flags(
        "percent_count_mismatch",
        share,
        ("O2", "S2", "villages", 40, "2018-12-31"),
        ("O3", "S1", "villages", 41, "2015-12-31"),
    )
    assert own_source["obs_ids"].tolist() == ["O1;O3"]


def test_an_undated_stock_is_compared_with_the_only_date_of_its_indicator():
    flags = rule_flags(
        "conflicting_sources",
        ("O1", "S1", "party_members", 3362, "2023-06-30"),
        ("O2", "S2", "party_members", 3387, None),
    )
    assert flags["message"].tolist() == [
        "party_members of Đắk Hà: 3362 (S1, 2023-06-30) vs 3387 (S2, date unknown); 2023-06-30 is the only date "
        "of this indicator for this unit, so the undated figure is compared with it; "
        "preferred O1 (a dated figure is preferred to an undated one)"
    ]


def test_an_undated_stock_is_not_compared_with_figures_of_several_dates():
    flags = rule_flags(
        "conflicting_sources",
        ("O1", "S1", "party_members", 3362, "2023-06-30"),
        ("O2", "S3", "party_members", 3000, "2018-12-31"),
        ("O3", "S2", "party_members", 3387, None),
    )
    assert flags.empty


def test_an_undated_source_placed_by_agreeing_figures_is_compared_with_that_date_only():
    # S2 repeats two of S1's 2023-06-30 figures, so its undated 3387 members are of that date too
    flags = rule_flags(
        "conflicting_sources",
        ("O1", "S1", "party_members", 3362, "2023-06-30"),
        ("O2", "S1", "villages", 84, "2023-06-30"),
        ("O3", "S1", "village_heads_party_members", 69, "2023-06-30"),
        ("O4", "S3", "party_members", 3000, "2018-12-31"),
        ("O5", "S2", "party_members", 3387, None),
        ("O6", "S2", "villages", 84, None),
        ("O7", "S2", "village_heads_party_members", 69, None),
    )
    assert flags["obs_ids"].tolist() == ["O1;O5"]
    assert (
        "; the undated figure is placed at 2023-06-30: 2 other figures of S2 for this unit agree with figures "
        "of that date; preferred O1" in flags["message"].iloc[0]
    )


def test_one_agreeing_figure_does_not_place_an_undated_source():
    flags = rule_flags(
        "conflicting_sources",
        ("O1", "S1", "party_members", 3362, "2023-06-30"),
        ("O2", "S1", "villages", 84, "2023-06-30"),
        ("O4", "S3", "party_members", 3000, "2018-12-31"),
        ("O5", "S2", "party_members", 3387, None),
        ("O6", "S2", "villages", 84, None),
    )
    assert flags.empty


def test_an_undated_flow_is_compared_with_dated_flows_only_when_its_source_is_placed():
    to_date = ("2015-01-01", None)
    alone = rule_flags(
        "conflicting_sources",
        ("O1", "S1", "admissions", 19, ("2015-01-01", "2019-12-31")),
        ("O2", "S2", "admissions", 5, to_date),
    )
    assert alone.empty
    placed = rule_flags(
        "conflicting_sources",
        ("O1", "S1", "admissions", 19, ("2015-01-01", "2019-12-31")),
        ("O2", "S2", "admissions", 5, to_date),
        ("O3", "S1", "admissions_target", 30, ("2015-01-01", "2019-12-31")),
        ("O4", "S2", "admissions_target", 30, to_date),
        ("O5", "S1", "party_members", 900, "2019-12-31"),
        ("O6", "S2", "party_members", 900, None),
    )
    assert placed["obs_ids"].tolist() == ["O1;O2"]


def test_undated_figures_of_two_sources_are_compared_with_each_other():
    flags = rule_flags(
        "conflicting_sources",
        ("O1", "S1", "party_members", 3362, "2023-06-30"),
        ("O2", "S3", "party_members", 3000, "2018-12-31"),
        ("O3", "S2", "party_members", 3387, None),
        ("O4", "S4", "party_members", 3100, None),
    )
    assert flags["obs_ids"].tolist() == ["O3;O4"]
    assert flags["message"].iloc[0] == (
        "party_members of Đắk Hà: 3387 (S2, date unknown) vs 3100 (S4, date unknown); "
        "preferred O3 (no other ground: the lower obs_id is kept)"
    )


def test_a_figure_repeated_under_new_ids_is_compared_once_and_its_flag_names_every_copy():
    from analysis.data.quality import flag_observations

    rows = [
        ("O1", "S1", "party_members", 3362, "2023-06-30"),
        ("O2", "S2", "party_members", 3387, "2023-06-30"),
        ("O3", "S1", "party_members", 3362, "2023-06-30"),
        ("O4", "S2", "party_members", 3387, "2023-06-30"),
    ]
    units = pd.DataFrame({"unit_code": ["615"], "valid_to": pd.to_datetime([None])})
    flags, preferred, _ = flag_observations(figures(*rows), BOOK, units)
    conflicts = flags.loc[flags["rule"] == "conflicting_sources"]
    assert conflicts["obs_ids"].tolist() == ["O1;O3;O2;O4"]
    assert conflicts["message"].tolist() == [
        "party_members of Đắk Hà: 3362 (S1, 2023-06-30) vs 3387 (S2, 2023-06-30); "
        "preferred O1 (no other ground: the lower obs_id is kept)"
    ]
    assert preferred.tolist() == [True, False, True, False]


def test_a_flow_that_starts_and_ends_on_one_day_is_flagged_as_a_zero_length_period(small_raw):
    replace_in(
        small_raw / "observations.csv",
        "disciplined_members,22,count,exact,,2020-01,,publication_date",
        "disciplined_members,22,count,exact,,2020-06-30,2020-06-30,stated",
    )
    ds = load_dataset(small_raw)
    assert flagged(ds, "zero_length_period") == [{"O0003"}]
    assert message(ds, "zero_length_period", "O0003") == (
        "flow over no time: the period starts and ends on 2020-06-30; no rate per year is computed from it"
    )


def test_a_figure_dated_after_its_source_was_published_is_flagged(small_raw):
    replace_in(
        small_raw / "observations.csv",
        ",party_members,1639,count,exact,2021-06-20,",
        ",party_members,1639,count,exact,2099-06-20,",
    )
    ds = load_dataset(small_raw)
    assert flagged(ds, "dated_after_publication") == [{"O0002"}]
    assert message(ds, "dated_after_publication", "O0002") == (
        "dated 2099-06-20, after its source was published (2021-08-23)"
    )


def test_the_fixture_has_no_figure_dated_after_publication_or_over_no_time(fixture_ds):
    assert not fixture_ds.flags["rule"].isin(SLIP_RULES).any()


def test_a_portal_page_is_judged_by_the_day_it_was_read_not_its_publication(small_raw):
    replace_in(
        small_raw / "observations.csv",
        ",party_members,1639,count,exact,2021-06-20,",
        ",party_members,1639,count,exact,2022-06-20,",
    )
    assert flagged(load_dataset(small_raw), "dated_after_publication") == [{"O0002"}]
    replace_in(small_raw / "sources.csv", ",2021-08-23,,,vi,press,\n", ",2021-08-23,,,vi,portal,2023-01-05\n")
    assert flagged(load_dataset(small_raw), "dated_after_publication") == []
