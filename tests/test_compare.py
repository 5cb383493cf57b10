"""Benchmark, classification, shrinkage, ranks, tests and the short call compare_districts."""

from __future__ import annotations

import math
import sys
import types

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta, chi2, norm
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats import rates as sm_rates
from statsmodels.stats.multitest import multipletests

from analysis import paths
from analysis.errors import InputError, UsageError
from analysis.stats import intervals
from analysis.stats.classification import classify, pooled_benchmark
from analysis.stats.comparison import all_district_test, availability, compare_districts, pairwise_tests
from analysis.stats.shrinkage import rank_intervals, shrink


def shares(numerators, denominators, **extra) -> pd.DataFrame:
    """A hand-built metrics table of one share metric (display units: percent)."""
    count = np.asarray(numerators, float)
    base = np.asarray(denominators, float)
    frame = pd.DataFrame(
        {
            "unit_code": [str(600 + i) for i in range(len(count))],
            "unit_label": [f"D{i}" for i in range(len(count))],
            "metric": "share_x",
            "numerator": count,
            "denominator": base,
            "exposure": np.nan,
            "estimate": count / base * 100,
            "multiplier": 100.0,
            "computable": True,
            "reason": "",
            "approximate": False,
            "obs_ids": [f"O{i:04d}" for i in range(len(count))],
        }
    )
    return frame.assign(**extra)


def rates(events, exposures, **extra) -> pd.DataFrame:
    """A hand-built metrics table of one rate metric per 1,000 member-years."""
    count = np.asarray(events, float)
    base = np.asarray(exposures, float)
    frame = pd.DataFrame(
        {
            "unit_code": [str(600 + i) for i in range(len(count))],
            "unit_label": [f"D{i}" for i in range(len(count))],
            "metric": "rate_x",
            "numerator": count,
            "denominator": np.nan,
            "exposure": base,
            "estimate": count / base * 1000,
            "multiplier": 1000.0,
            "computable": True,
            "reason": "",
            "approximate": False,
        }
    )
    return frame.assign(**extra)


def wilson(x, n, level):
    """Wilson score interval, written out."""
    z = norm.ppf((1 + level) / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def garwood(x, exposure, level):
    """Exact Poisson interval of a rate, from chi-square quantiles."""
    tail = (1 - level) / 2
    lower = chi2.ppf(tail, 2 * x) / 2 if x > 0 else 0.0
    return lower / exposure, chi2.ppf(1 - tail, 2 * x + 2) / 2 / exposure


# --- benchmark -----------------------------------------------------------


def test_pooled_benchmark_sums_counts_and_bases_of_comparable_rows_only():
    m = shares([4, 69, 24], [27, 84, 84])
    m.loc[2, "computable"] = False
    assert pooled_benchmark(m, "share_x") == pytest.approx(73 / 111 * 100)
    r = rates([22, 8], [2458.5, 1541.5])
    assert pooled_benchmark(r, "rate_x") == pytest.approx(30 / 4000 * 1000)


def test_pooled_benchmark_is_nan_without_comparable_rows():
    m = shares([4], [27], computable=False)
    assert math.isnan(pooled_benchmark(m, "share_x"))


def test_pooled_benchmark_refuses_mixed_multipliers():
    m = shares([4, 5], [27, 30])
    m.loc[1, "multiplier"] = 1.0
    with pytest.raises(UsageError, match="different multipliers"):
        pooled_benchmark(m, "share_x")


# --- classification (Fingertips) -------------------------------------------


@pytest.mark.parametrize("x, n", [(69, 84), (4, 27)])
def test_share_classification_on_both_sides_of_each_threshold(x, n):
    lo95, hi95 = intervals.wilson(x, n, 0.95, multiplier=100)[1:]
    lo998, hi998 = intervals.wilson(x, n, 0.998, multiplier=100)[1:]
    assert (lo95, hi95) == pytest.approx(tuple(100 * v for v in wilson(x, n, 0.95)), rel=1e-12)
    m = shares([x], [n])
    eps = 1e-6
    cases = {
        lo95: "similar",
        hi95: "similar",
        lo95 + eps: "similar",
        lo95 - eps: "higher",
        lo998 + eps: "higher",
        lo998 - eps: "much higher",
        hi95 - eps: "similar",
        hi95 + eps: "lower",
        hi998 - eps: "lower",
        hi998 + eps: "much lower",
    }
    for bench, expected in cases.items():
        assert classify(m, benchmark=bench)["comparison"].iloc[0] == expected, bench


def test_rate_classification_on_both_sides_of_each_threshold():
    lo95, hi95 = (1000 * v for v in garwood(22, 2458.5, 0.95))
    lo998, hi998 = (1000 * v for v in garwood(22, 2458.5, 0.998))
    assert (lo95, hi95) == pytest.approx((5.61, 13.55), abs=0.005)  # methods.md worked figure
    m = rates([22], [2458.5])
    eps = 1e-6
    cases = {
        lo95 + eps: "similar",
        lo95 - eps: "higher",
        lo998 + eps: "higher",
        lo998 - eps: "much higher",
        hi95 - eps: "similar",
        hi95 + eps: "lower",
        hi998 - eps: "lower",
        hi998 + eps: "much lower",
    }
    for bench, expected in cases.items():
        assert classify(m, benchmark=bench)["comparison"].iloc[0] == expected, bench


def test_classify_adds_both_intervals_in_display_units():
    row = classify(shares([4], [27]), benchmark=20.0).iloc[0]
    assert (row["lower_inner"], row["upper_inner"]) == pytest.approx((5.9, 32.5), abs=0.05)  # methods.md
    assert (row["lower_outer"], row["upper_outer"]) == pytest.approx([100 * v for v in wilson(4, 27, 0.998)])
    assert row["benchmark_source"] == "given"
    assert pd.isna(row["comparison_reason"])


def test_classification_agrees_with_pheindicatormethods_significance():
    # assign_funnel_significance (PHStatsMethods 0.1.16) on these data gives
    # proportions: High (0.001) for 30/60, Low (0.001) for 9/80, else not significant;
    # rates: Low (0.025) for 10 over 3000, else not significant.
    p = classify(shares([4, 30, 12, 60, 9], [27, 60, 40, 200, 80]))
    assert p["comparison"].tolist() == ["similar", "much higher", "similar", "similar", "much lower"]
    r = classify(rates([22, 30, 10, 12, 25], [2458.5, 5050, 3000, 2800, 2600]))
    assert r["comparison"].tolist() == ["similar", "similar", "lower", "similar", "similar"]


def test_rows_that_cannot_be_compared_are_kept_with_the_reason():
    m = pd.concat(
        [
            shares([69], [84]),
            shares([np.nan], [np.nan], computable=False, reason="no denominator", estimate=75.51, unit_code="614"),
            shares([3], [84], computable=False, reason="", unit_code="616"),
            shares([5], [4], unit_code="617"),
            rates([3], [1.0], unit_code="618", metric="share_x", exposure=0.0, denominator=np.nan),
        ],
        ignore_index=True,
    )
    m["kind"] = ["share", "share", "share", "share", "rate"]
    out = classify(m, benchmark=69 / 84 * 100)
    assert out["comparison"].tolist() == ["similar"] + ["not compared"] * 4
    assert out["comparison_reason"].tolist()[1:] == [
        "no denominator",
        "not computable",
        "numerator larger than denominator",
        "zero exposure",
    ]
    assert out.loc[1, "estimate"] == 75.51  # the printed value stays


def test_ratio_metrics_and_metrics_without_any_comparable_row_are_not_compared():
    m = shares([10, 12], [40, 44], kind="ratio")
    assert classify(m)["comparison_reason"].str.startswith("ratio metric").all()
    m = shares([10], [40], computable=False, reason="period unknown")
    out = classify(
        pd.concat(
            [m, shares([np.nan], [40], metric="other"), shares([np.nan], [np.nan], metric="third")], ignore_index=True
        )
    )
    assert out["comparison_reason"].tolist() == [
        "period unknown",
        "no numerator",
        "neither a denominator nor an exposure",
    ]


def test_a_lone_district_is_not_compared_with_a_pool_of_itself_but_is_with_a_given_benchmark():
    lone = pd.concat(
        [shares([10], [40]), shares([3], [30], computable=False, reason="period unknown")], ignore_index=True
    )
    pooled = classify(lone).iloc[0]
    assert pooled["comparison"] == "not compared"
    assert pooled["comparison_reason"].startswith("the only comparable district")
    assert classify(lone, benchmark=25.0)["comparison"].iloc[0] == "similar"
    assert classify(lone, benchmark={"other": 3.0})["comparison"].iloc[0] == "not compared"


def test_benchmark_mapping_overrides_only_the_metrics_it_names():
    m = pd.concat([shares([10, 30], [100, 100]), rates([22, 5], [2458.5, 2100])], ignore_index=True)
    out = classify(m, benchmark={"rate_x": 4.0})
    assert out["benchmark"].tolist() == pytest.approx([20.0, 20.0, 4.0, 4.0])
    assert out["benchmark_source"].tolist() == ["pooled", "pooled", "given", "given"]


def test_polarity_turns_neutral_labels_into_better_and_worse():
    m = pd.concat([shares([30, 2], [60, 80]), rates([22, 3], [2458.5, 2458.5])], ignore_index=True)
    neutral = classify(m, benchmark={"share_x": 25.0, "rate_x": 4.0})
    assert neutral["comparison"].tolist() == ["much higher", "much lower", "much higher", "lower"]
    judged = classify(
        m,
        benchmark={"share_x": 25.0, "rate_x": 4.0},
        polarity={"share_x": "higher is better", "rate_x": "lower is better"},
    )
    assert judged["comparison"].tolist() == ["much better", "much worse", "much worse", "better"]


def test_bad_classification_arguments_get_specific_messages():
    m = shares([4], [27])
    with pytest.raises(UsageError, match="polarity of 'share_x'"):
        classify(m, polarity={"share_x": "up"})
    with pytest.raises(UsageError, match="inner then outer"):
        classify(m, conf_level=(0.998, 0.95))
    with pytest.raises(UsageError, match="benchmark must be a number"):
        classify(m, benchmark="national")


def test_computable_read_back_from_csv_as_text_is_understood():
    m = shares([4, 30, 12], [27, 60, 40])
    m["computable"] = ["True", "False", "true"]
    out = classify(m)
    assert out["comparison"].tolist()[1] == "not compared"
    assert out["benchmark"].iloc[0] == pytest.approx(16 / 67 * 100)


# --- shrinkage ---------------------------------------------------------


def test_shrunk_shares_follow_the_beta_binomial_formula_by_hand():
    x, n = np.array([10.0, 40, 2, 30]), np.array([100.0, 100, 50, 120])
    theta = x.sum() / n.sum()
    y, v = x / n, theta * (1 - theta) / n
    w = 1 / v
    q = (w * (y - (w * y).sum() / w.sum()) ** 2).sum()
    tau2 = max(0.0, (q - 3) / (w.sum() - (w**2).sum() / w.sum()))  # DerSimonian-Laird
    strength = theta * (1 - theta) / tau2 - 1
    out = shrink(shares(x, n))
    assert out["shrunk_estimate"].to_numpy() == pytest.approx((theta * strength + x) / (strength + n) * 100)
    a, b = theta * strength + x, (1 - theta) * strength + n - x
    assert out["shrunk_lower"].to_numpy() == pytest.approx(beta.ppf(0.025, a, b) * 100)
    assert out["shrinkage"].to_numpy() == pytest.approx(strength / (strength + n))


@pytest.mark.parametrize(
    "table",
    [
        shares([10, 40, 2, 30, 6], [100, 100, 50, 120, 20]),
        rates([22, 5, 9, 40, 2], [2458.5, 2100, 1800, 3000, 300]),
    ],
)
def test_shrunk_estimates_lie_between_raw_and_pooled_and_small_units_move_most(table):
    out = shrink(table)
    pooled = pooled_benchmark(table, table["metric"].iloc[0])
    raw, shrunk = out["estimate"].to_numpy(), out["shrunk_estimate"].to_numpy()
    assert ((shrunk - raw) * (pooled - raw) >= 0).all()
    assert (np.abs(shrunk - pooled) <= np.abs(raw - pooled) + 1e-12).all()
    base = table["denominator"].fillna(table["exposure"]).to_numpy()
    order = np.argsort(base)
    assert np.all(np.diff(out["shrinkage"].to_numpy()[order]) <= 0)
    assert (out["shrunk_lower"] <= out["shrunk_estimate"]).all()
    assert (out["shrunk_estimate"] <= out["shrunk_upper"]).all()


def test_without_between_district_variation_everyone_gets_the_pooled_value():
    out = shrink(shares([20, 21, 19], [100, 100, 100]))
    assert out["shrunk_estimate"].to_numpy() == pytest.approx([20.0, 20.0, 20.0])
    assert out["shrinkage"].tolist() == [1.0, 1.0, 1.0]


def test_extreme_spread_gives_a_prior_worth_one_observation_and_estimates_inside_their_intervals():
    out = shrink(shares([0, 100, 50], [100, 100, 100]))
    assert out["shrinkage"].to_numpy() == pytest.approx([1 / 101] * 3)
    assert (out["shrunk_lower"] <= out["shrunk_estimate"]).all()
    assert (out["shrunk_estimate"] <= out["shrunk_upper"]).all()


def test_a_single_comparable_district_gets_no_shrunken_estimate():
    out = shrink(pd.concat([shares([10], [40]), shares([5], [50], computable=False)], ignore_index=True))
    assert out["shrunk_estimate"].isna().all()


# --- ranks ------------------------------------------------------------------


def test_rank_intervals_contain_the_observed_rank_and_rank_one_is_highest():
    m = shares([1, 30, 60, 12, 45], [10, 100, 100, 40, 90])
    out = rank_intervals(m, n_sim=1000, seed=1)
    assert out["rank"].tolist() == [5, 3, 1, 3, 2]
    assert ((out["rank_lower"] <= out["rank"]) & (out["rank"] <= out["rank_upper"])).all()
    assert (out["ranked"] == 5).all()


def test_rank_intervals_widen_with_fewer_events():
    big = rank_intervals(rates([100, 150, 200, 250], [10000] * 4), n_sim=1000)
    small = rank_intervals(rates([4, 6, 8, 10], [400] * 4), n_sim=1000)
    width = lambda t: (t["rank_upper"] - t["rank_lower"]).to_numpy()  # noqa: E731
    assert (width(small) >= width(big)).all()
    assert width(small).sum() > width(big).sum()


def test_rank_intervals_are_reproducible_and_skip_rows_not_compared():
    m = shares([3, 8, 12], [30, 40, 50])
    m.loc[1, "computable"] = False
    first, second = rank_intervals(m, seed=7), rank_intervals(m, seed=7)
    pd.testing.assert_frame_equal(first, second)
    assert first["rank"].isna().tolist() == [False, True, False]
    assert first.loc[0, "rank"] == 2


# --- tests between districts ------------------------------------------------


def test_pairwise_share_tests_match_statsmodels_and_fdr_bh():
    x, n = [4, 30, 12, 60], [27, 60, 40, 200]
    out = pairwise_tests(shares(x, n), "share_x")
    assert len(out) == 6
    pairs = list(zip(out["unit_code_1"], out["unit_code_2"]))
    assert pairs[0] == ("600", "601")
    expected = [
        sm_proportion.test_proportions_2indep(x[i], n[i], x[j], n[j], method="score").pvalue
        for i in range(4)
        for j in range(i + 1, 4)
    ]
    assert out["p_value"].to_numpy() == pytest.approx(expected)
    assert out["p_adjusted"].to_numpy() == pytest.approx(multipletests(expected, method="fdr_bh")[1])
    assert (out["adjustment"] == "fdr_bh").all()


def test_pairwise_rate_tests_use_the_poisson_score_test_and_the_named_adjustment():
    e, t = [22, 5, 9], [2458.5, 2100, 1800]
    out = pairwise_tests(rates(e, t), "rate_x", method="holm")
    expected = [
        sm_rates.test_poisson_2indep(e[i], t[i], e[j], t[j], method="score").pvalue
        for i in range(3)
        for j in range(i + 1, 3)
    ]
    assert out["p_value"].to_numpy() == pytest.approx(expected)
    assert out["p_adjusted"].to_numpy() == pytest.approx(multipletests(expected, method="holm")[1])
    assert out["estimate_1"].iloc[0] == pytest.approx(22 / 2458.5 * 1000)


def test_tests_need_two_comparable_districts():
    with pytest.raises(UsageError, match="has 1 comparable row"):
        pairwise_tests(shares([4, 5], [27, 30], computable=[True, False]), "share_x")


def test_all_district_test_for_rates_is_the_pearson_chi_square_by_hand():
    e, t = np.array([22.0, 5, 9]), np.array([2458.5, 2100, 1800])
    expected = e.sum() / t.sum() * t
    statistic = ((e - expected) ** 2 / expected).sum()
    out = all_district_test(rates(e, t), "rate_x").iloc[0]
    assert out["statistic"] == pytest.approx(statistic)
    assert out["df"] == 2
    assert out["p_value"] == pytest.approx(chi2.sf(statistic, 2))
    assert out["dispersion"] == pytest.approx(statistic / 2)


def test_all_district_test_for_shares_is_the_chi_square_of_the_two_way_table():
    x, n = np.array([4.0, 69, 24]), np.array([27.0, 84, 84])
    table = np.column_stack([x, n - x])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    statistic = ((table - expected) ** 2 / expected).sum()
    out = all_district_test(shares(x, n), "share_x").iloc[0]
    assert out["statistic"] == pytest.approx(statistic)
    assert out["p_value"] == pytest.approx(chi2.sf(statistic, 2))
    assert out["units"] == 3


# --- availability -----------------------------------------------------------


def test_availability_marks_computed_printed_and_missing_figures():
    obs = pd.DataFrame(
        {
            "unit_code": ["615", "614", "614", "62", "617"],
            "unit_label": ["Đắk Hà", "Kon Rẫy", "Kon Rẫy", "Kon Tum", "Tu Mơ Rông"],
            "unit_level": ["district", "district", "district", "province", "district"],
        }
    )
    met = pd.DataFrame(
        {
            "unit_code": ["614", "614", "615", "615", "62"],
            "metric": ["heads", "heads", "heads", "rate", "rate"],
            "computable": [False, True, False, True, True],
        }
    )
    matrix = availability(obs, met, metric_names=["heads", "rate", "admissions"])
    assert matrix.index.get_level_values("unit_code").tolist() == ["614", "615", "617"]
    assert matrix.loc[("614", "Kon Rẫy")].tolist() == ["computed", "not reported", "not reported"]
    assert matrix.loc[("615", "Đắk Hà")].tolist() == ["reported without denominator", "computed", "not reported"]
    assert (matrix.loc[("617", "Tu Mơ Rông")] == "not reported").all()


# --- compare_districts, against the metrics contract ------------------------

DEFINITIONS = pd.DataFrame(
    {
        "metric": ["disciplined_per_1000", "expelled_share", "village_heads_share"],
        "family": ["discipline", "discipline", "coverage"],
        "kind": ["rate", "share", "share"],
        "multiplier": [1000.0, 100.0, 100.0],
        "label_en": ["Disciplined per 1,000 member-years", "Expelled among disciplined", "Village heads in the party"],
        "label_vi": ["Kỷ luật trên 1.000 đảng viên-năm", "Tỷ lệ khai trừ", "Trưởng thôn là đảng viên"],
    }
)

OBSERVATIONS = pd.DataFrame(
    {
        "unit_code": ["614", "615", "612", "618", "62", "101"],
        "unit_label": ["Kon Rẫy", "Đắk Hà", "Đắk Tô", "Ia H'Drai", "Kon Tum", "Elsewhere"],
        "unit_level": ["district", "district", "district", "district", "province", "district"],
        "province_code": ["62", "62", "62", "62", "62", "01"],
    }
)


def metrics_rows() -> pd.DataFrame:
    rows = [
        # unit, metric, numerator, denominator, exposure, computable, reason, period_end, obs_ids
        ("614", "disciplined_per_1000", 22, None, 2458.5, True, "", "2021-08-23", "O0022;O0011"),
        ("615", "disciplined_per_1000", 12, None, 5000.0, True, "", "2022-12-31", "O0101;O0102"),
        ("615", "disciplined_per_1000", 30, None, 9000.0, True, "", "2023-06-30", "O0103;O0102"),
        ("612", "disciplined_per_1000", 6, None, None, False, "no denominator", "2022-12-31", "O0201"),
        ("614", "expelled_share", 3, 22, None, True, "", "2021-08-23", "O0023;O0022"),
        ("101", "disciplined_per_1000", 50, None, 1000.0, True, "", "2022-12-31", "O0900"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "unit_code",
            "metric",
            "numerator",
            "denominator",
            "exposure",
            "computable",
            "reason",
            "period_end",
            "obs_ids",
        ],
    )
    frame = frame.merge(DEFINITIONS[["metric", "family", "multiplier"]], on="metric")
    base = frame["denominator"].fillna(frame["exposure"])
    return frame.assign(
        unit_label=frame["unit_code"].map(dict(zip(OBSERVATIONS["unit_code"], OBSERVATIONS["unit_label"]))),
        province_code=np.where(frame["unit_code"] == "101", "01", "62"),
        period_start="2020-01-01",
        estimate=frame["numerator"] / base * frame["multiplier"],
        lower=np.nan,
        upper=np.nan,
        conf_level=0.95,
        method="test",
        approximate=False,
        flags="",
    )


@pytest.fixture
def contract(monkeypatch):
    """Stand-ins for analysis.stats.metrics and analysis.data.units that honour their contracts."""
    calls = {"compute": [], "resolve": []}
    metrics_module = types.ModuleType("analysis.stats.metrics")

    def compute_metrics(observations, *, families=None, conf_level=0.95):
        calls["compute"].append((sorted(observations["unit_code"]), families, conf_level))
        rows = metrics_rows()
        rows = rows[rows["unit_code"].isin(observations["unit_code"])]
        return rows if families is None else rows[rows["family"].isin(families)]

    metrics_module.compute_metrics = compute_metrics
    metrics_module.metric_definitions = lambda: DEFINITIONS.copy()
    units_module = types.ModuleType("analysis.data.units")

    def resolve_unit(name, province=None, level=None, units=None):
        calls["resolve"].append((name, province, level))
        table = {("Kon Tum", "province"): "62", ("Dak Ha", "district"): "615"}
        return table[(name, level)]

    units_module.resolve_unit = resolve_unit
    monkeypatch.setitem(sys.modules, "analysis.stats.metrics", metrics_module)
    monkeypatch.setitem(sys.modules, "analysis.data.units", units_module)
    return calls


def test_compare_districts_returns_every_district_and_metric_of_the_family(contract):
    table = compare_districts(OBSERVATIONS, province="Kon Tum", family="discipline")
    assert contract["resolve"] == [("Kon Tum", None, "province")]
    assert contract["compute"][0][1:] == (["discipline"], 0.95)
    assert "101" not in contract["compute"][0][0]  # other provinces are not computed at all
    assert len(table) == 4 * 2
    assert table["metric"].tolist() == ["disciplined_per_1000"] * 4 + ["expelled_share"] * 4
    assert table["unit_code"].tolist()[:4] == ["612", "614", "615", "618"]
    assert (table["province_code"] == "62").all()
    assert table["label_vi"].iloc[0] == "Kỷ luật trên 1.000 đảng viên-năm"


def test_compare_districts_explains_every_district_it_cannot_compare(contract):
    table = compare_districts(OBSERVATIONS, province="62", family="discipline").set_index(["metric", "unit_code"])
    rate = table.loc["disciplined_per_1000"]
    assert rate.loc["612", "comparison"] == "not compared"
    assert rate.loc["612", "comparison_reason"] == "no denominator"
    assert rate.loc["612", "estimate"] == pytest.approx(np.nan, nan_ok=True)
    assert rate.loc["618", "comparison_reason"] == "not reported"
    assert not rate.loc["618", "computable"]
    assert (table.loc[table["comparison"] == "not compared", "comparison_reason"].str.len() > 0).all()
    assert contract["resolve"] == []  # a code needs no resolving


def test_compare_districts_uses_the_latest_computable_period_and_counts_the_others(contract):
    table = compare_districts(OBSERVATIONS, province="62").set_index(["metric", "unit_code"])
    dak_ha = table.loc[("disciplined_per_1000", "615")]
    assert dak_ha["numerator"] == 30 and dak_ha["other_periods"] == 1
    assert dak_ha["obs_ids"] == "O0103;O0102"
    pooled = (22 + 30) / (2458.5 + 9000) * 1000
    assert table.loc[("disciplined_per_1000", "614"), "benchmark"] == pytest.approx(pooled)
    assert table.loc[("disciplined_per_1000", "614"), "shrunk_estimate"] == pytest.approx(
        pooled, abs=22 / 2458.5 * 1000 - pooled
    )


def test_compare_districts_with_a_given_benchmark_and_chosen_districts(contract):
    table = compare_districts(OBSERVATIONS, province="Kon Tum", districts=["Dak Ha", "614"], benchmark=4.0)
    assert sorted(set(table["unit_code"])) == ["614", "615"]
    assert ("Dak Ha", "Kon Tum", "district") in contract["resolve"]
    assert (table["benchmark"] == 4.0).all() and (table["benchmark_source"] == "given").all()
    kon_ray = table[(table["unit_code"] == "614") & (table["metric"] == "disciplined_per_1000")].iloc[0]
    assert kon_ray["comparison"] == "much higher"


def test_compare_districts_refuses_a_district_outside_the_province(contract):
    with pytest.raises(UsageError, match="'101' is not a district of province 62"):
        compare_districts(OBSERVATIONS, province="62", districts=["614", "101"])


def test_a_metrics_table_without_metric_column_is_an_input_error():
    with pytest.raises(InputError, match="no 'metric' column"):
        classify(shares([4], [27]).drop(columns="metric"))


def test_compare_districts_takes_its_roster_from_the_unit_table_of_a_dataset(contract):
    units = pd.DataFrame(
        {
            "unit_code": ["62", "614", "615", "616"],
            "name": ["Kon Tum", "Kon Rẫy", "Đắk Hà", "Sa Thầy"],
            "level": ["province", "district", "district", "district"],
            "parent_code": [None, "62", "62", "62"],
        }
    )
    dataset = types.SimpleNamespace(observations=OBSERVATIONS, units=units)
    table = compare_districts(dataset, province="62", family="discipline")
    sa_thay = table[table["unit_code"] == "616"]
    assert len(sa_thay) == 2 and (sa_thay["comparison_reason"] == "not reported").all()
    assert set(table["unit_code"]) == {"614", "615", "616"}


def test_compare_districts_uses_a_metrics_table_it_is_given(contract):
    table = compare_districts(OBSERVATIONS, province="62", metrics=metrics_rows())
    assert contract["compute"] == []
    assert len(table) == 8


def test_compare_districts_rejects_an_unknown_family_or_benchmark(contract):
    with pytest.raises(UsageError, match="unknown family 'discipine'; use one of coverage, discipline"):
        compare_districts(OBSERVATIONS, province="62", family="discipine")
    with pytest.raises(UsageError, match="benchmark must be 'pooled'"):
        compare_districts(OBSERVATIONS, province="62", benchmark="national")


KON_TUM_DISTRICTS = {"608", "610", "611", "612", "613", "614", "615", "616", "617", "618"}


def test_kon_tum_comparison_on_the_real_data_explains_every_case_not_compared():
    dataset = pytest.importorskip("analysis.data.dataset")
    pytest.importorskip("analysis.stats.metrics")
    pytest.importorskip("analysis.data.units")
    if not (paths.raw_dir() / "observations.csv").exists():
        pytest.skip("data/raw has no observations yet")
    ds = dataset.load_dataset()
    for family in ("coverage", "admissions", "discipline"):
        table = compare_districts(ds, province="Kon Tum", family=family)
        assert set(table["unit_code"]) == KON_TUM_DISTRICTS
        assert len(table) == len(KON_TUM_DISTRICTS) * table["metric"].nunique()
        missing = table[table["comparison"] == "not compared"]
        assert (missing["comparison_reason"].str.len() > 0).all()


# --- the renamed surface -------------------------------------------------------


def test_classify_without_a_multiplier_column_raises_instead_of_not_comparing():
    with pytest.raises(InputError, match="no 'multiplier' column"):
        classify(shares([4, 30], [27, 60]).drop(columns="multiplier"))


def test_old_levels_name_still_classifies_with_a_warning():
    m = shares([4, 30, 12], [27, 60, 40])
    with pytest.warns(DeprecationWarning, match="classify\\(levels"):
        old = classify(m, levels=[0.95, 0.998])
    pd.testing.assert_frame_equal(old, classify(m, conf_level=[95, 99.8]))


def test_one_level_gives_three_labels_and_no_outer_interval():
    out = classify(shares([4, 30, 12, 60, 9], [27, 60, 40, 200, 80]), conf_level=0.95)
    assert set(out["comparison"]) <= {"similar", "higher", "lower"}
    assert out["lower_outer"].isna().all()


def test_spc_method_centres_the_limits_on_the_benchmark_expected_count():
    # Fingertips' SpcForDsrComparerTest: 7 events over 616,282 people, benchmark 2.1327 per 100,000.
    m = rates([7], [616282]).assign(multiplier=1e5)
    own = classify(m, benchmark=2.132708657734625, conf_level=0.95).iloc[0]
    spc = classify(m, benchmark=2.132708657734625, conf_level=0.95, method="spc").iloc[0]
    assert own["comparison"] == "similar" and spc["comparison"] == "lower"
    expected = 2.132708657734625 / 1e5 * 616282
    assert spc["lower_inner"] == pytest.approx(chi2.ppf(0.025, 2 * math.ceil(expected)) / 2 / 616282 * 1e5)


def test_rate_method_phe_uses_byar_from_ten_events():
    m = rates([22], [2458.5])
    out = classify(m, benchmark=4.0, conf_level=0.95, rate_method="phe").iloc[0]
    assert out["lower_inner"] == pytest.approx(intervals.byar(22, 2458.5, multiplier=1000).lower)


def test_compare_districts_keeps_its_old_levels_parameter(monkeypatch):
    obs = pd.DataFrame(
        {
            "obs_id": ["O1", "O2", "O3", "O4"],
            "unit_code": ["614", "614", "615", "615"],
            "unit_label": ["Kon Rẫy", "Kon Rẫy", "Đắk Hà", "Đắk Hà"],
            "unit_level": "district",
            "province_code": "62",
            "indicator": ["disciplined_members", "party_members"] * 2,
            "value": [22, 1639, 12, 3362],
            "as_of": [None, "2021-06-20", None, "2023-06-30"],
            "period_start": ["2020-01-01", None, "2021-01-01", None],
            "period_end": ["2021-08-23", None, "2023-06-30", None],
        }
    )
    with pytest.warns(DeprecationWarning, match="compare_districts\\(levels"):
        old = compare_districts(obs, province="62", levels=[0.95, 0.998], conf_level=0.95)
    new = compare_districts(obs, province="62", conf_level=(0.95, 0.998))
    pd.testing.assert_frame_equal(old, new)
