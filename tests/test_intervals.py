"""Wilson, exact and Byar intervals: shapes, levels, worked figures and the old names."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta, chi2, norm

from analysis import stats
from analysis.errors import UsageError
from analysis.stats.intervals import Interval, byar, conf_levels, exact, interval, wilson


# --- worked figures ---------------------------------------------------------


def test_wilson_interval_of_4_of_27_is_0_059_to_0_325():
    result = wilson(4, 27)
    assert (round(result.lower, 3), round(result.upper, 3)) == (0.059, 0.325)
    z = norm.ppf(0.975)
    p = 4 / 27
    centre = (p + z * z / 54) / (1 + z * z / 27)
    half = z * math.sqrt(p * (1 - p) / 27 + z * z / (4 * 27 * 27)) / (1 + z * z / 27)
    assert (result.lower, result.upper) == pytest.approx((centre - half, centre + half), rel=1e-12)


def test_clopper_pearson_interval_of_4_of_27_is_0_042_to_0_337():
    result = interval(4, 27, method="beta")
    assert (round(result.lower, 3), round(result.upper, 3)) == (0.042, 0.337)
    assert result.lower == pytest.approx(beta.ppf(0.025, 4, 24))


def test_exact_poisson_interval_of_22_over_2458_5_member_years_is_5_61_to_13_55_per_1000():
    result = exact(22, 2458.5, multiplier=1000)
    assert (round(result.value, 2), round(result.lower, 2), round(result.upper, 2)) == (8.95, 5.61, 13.55)
    assert result.lower == pytest.approx(chi2.ppf(0.025, 44) / 2 / 2458.5 * 1000)


def test_phe_method_is_exact_below_ten_events_and_byar_from_ten():
    counts = np.array([9, 10])
    phe = interval(counts, 1000, method="phe")
    assert phe.lower[0] == exact(9, 1000).lower and phe.upper[0] == exact(9, 1000).upper
    assert phe.lower[1] == byar(10, 1000).lower and phe.upper[1] == byar(10, 1000).upper
    assert interval(counts, 1000, method="phe", tidy=True)["method"].tolist() == ["exact", "byar"]


@pytest.mark.parametrize("x, level, size", [(20, 0.998, 0.0040), (10, 0.998, 0.0149), (10, 0.95, 0.0017)])
def test_byar_departs_from_exact_by_the_sizes_methods_md_gives(x, level, size):
    byar_upper, exact_upper = byar(x, conf_level=level).upper, exact(x, conf_level=level).upper
    byar_lower, exact_lower = byar(x, conf_level=level).lower, exact(x, conf_level=level).lower
    worst = max(abs(byar_upper / exact_upper - 1), abs(byar_lower / exact_lower - 1))
    assert worst == pytest.approx(size, abs=0.0001)


# --- shapes -----------------------------------------------------------------


def test_scalars_in_give_floats_out_with_the_value():
    result = wilson(4, 27, multiplier=100)
    assert isinstance(result, Interval)
    assert all(type(v) is float for v in result)
    assert result.value == pytest.approx(400 / 27)


def test_arrays_keep_their_shape_and_series_their_index():
    grid = wilson(np.array([[1, 2], [3, 4]]), 10)
    assert grid.lower.shape == (2, 2)
    x = pd.Series([4, 30], index=["Kon Rẫy", "Đắk Hà"])
    result = byar(x, pd.Series([2458.5, 2100.0], index=x.index), multiplier=1000)
    assert isinstance(result.upper, pd.Series) and result.upper.index.tolist() == ["Kon Rẫy", "Đắk Hà"]


def test_tidy_gives_one_row_per_input_and_level():
    table = wilson([4, 30], [27, 60], conf_level=[95, 99.8], multiplier=100, tidy=True)
    assert table["conf_level"].tolist() == [0.95, 0.95, 0.998, 0.998]
    assert list(table.columns) == ["x", "n", "value", "lower", "upper", "conf_level", "multiplier", "method"]
    assert (table["lower"].iloc[2:].to_numpy() < table["lower"].iloc[:2].to_numpy()).all()


def test_two_levels_without_tidy_are_refused_with_a_hint():
    with pytest.raises(UsageError, match="tidy=True"):
        wilson(4, 27, conf_level=(0.95, 0.998))


def test_invalid_rows_give_nan_not_an_error():
    result = wilson([5, -1, 3, np.nan], [4, 10, 0, 10])
    assert np.isnan(result.lower).all()
    assert np.isnan(exact(-1, 10).lower)


def test_the_package_reexports_the_interval_functions_lazily():
    assert stats.wilson is wilson and stats.byar is byar and stats.exact is exact
    assert "funnel_limits" in dir(stats)


# --- confidence levels, as PHE reads them ------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        (0.95, (0.95,)),
        (95, (0.95,)),
        (99.8, (0.998,)),
        ([95, 99.8], (0.95, 0.998)),
        ((0.95, 0.998), (0.95, 0.998)),
        (1, (1.0,)),
        (100, (1.0,)),
        (0.9, (0.9,)),
    ],
)
def test_levels_are_fractions_or_percents(given, expected):
    assert conf_levels(given) == pytest.approx(expected)


@pytest.mark.parametrize(
    "given", [0.8, 50, 1.5, 101, [0.998, 0.95], [0.95, 0.95], [0.9, 0.95, 0.99], "0.95", True, None, []]
)
def test_other_levels_are_refused_naming_the_parameter(given):
    with pytest.raises(UsageError) as caught:
        conf_levels(given)
    assert caught.value.field == "conf_level"


def test_level_one_gives_the_peers_limits():
    assert wilson(65, 100, conf_level=1)[1:] == (0.0, 1.0)
    assert exact(5, conf_level=1)[1:] == (0.0, math.inf)
    low, upp = byar(5, conf_level=100)[1:]
    assert math.isnan(low) and upp == math.inf


def test_unknown_method_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown interval method 'wald'"):
        interval(4, 27, method="wald")
