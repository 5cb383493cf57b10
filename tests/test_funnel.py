"""Funnel-plot control limits and overdispersion, checked by hand and against reference values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, chi2, norm, poisson

from analysis.stats.classification import classify
from analysis.stats.funnels import funnel_limits, overdispersion
from analysis.errors import UsageError

Z95, Z998 = norm.ppf(0.975), norm.ppf(0.999)


def limits_at(frame: pd.DataFrame, level: float) -> pd.DataFrame:
    return frame[frame["level"] == level].reset_index(drop=True)


# --- normal approximation -------------------------------------------------


def test_approximate_share_limits_are_target_plus_minus_z_standard_errors():
    lim = funnel_limits(0.2, [100], "share", method="approx")
    se = math.sqrt(0.2 * 0.8 / 100)  # 0.04
    assert limits_at(lim, 0.95).loc[0, ["lower", "upper"]].tolist() == pytest.approx([0.2 - Z95 * se, 0.2 + Z95 * se])
    assert limits_at(lim, 0.998).loc[0, ["lower", "upper"]].tolist() == pytest.approx(
        [0.2 - Z998 * se, 0.2 + Z998 * se]
    )
    assert limits_at(lim, 0.95).loc[0, "lower"] == pytest.approx(0.1216, abs=1e-4)


def test_approximate_rate_limits_use_the_poisson_variance():
    lim = funnel_limits(4.0, [2458.5], "rate", method="approx", multiplier=1000)
    theta, se = 0.004, math.sqrt(0.004 / 2458.5)
    row = limits_at(lim, 0.95).loc[0]
    assert row["lower"] == pytest.approx((theta - Z95 * se) * 1000)
    assert row["upper"] == pytest.approx((theta + Z95 * se) * 1000)


def test_limits_are_clipped_at_zero_and_one_and_narrow_with_precision():
    lim = funnel_limits(0.2, [5, 50, 500, 5000], "share", method="approx")
    inner = limits_at(lim, 0.95)
    assert inner.loc[0, "lower"] == 0.0
    assert (inner["lower"] >= 0).all() and (inner["upper"] <= 1).all()
    assert inner["lower"].is_monotonic_increasing and inner["upper"].is_monotonic_decreasing
    high = funnel_limits(0.95, [5], "share", method="approx")
    assert (high["upper"] == 1.0).all()


# --- Spiegelhalter's exact (interpolated) limits ---------------------------


def spiegelhalter_by_hand(cdf, p, precision, support):
    """Smallest r with F(r) >= p, then (r - alpha) / precision (Spiegelhalter 2005, A.1.1)."""
    r = next(k for k in support if cdf(k) >= p)
    below = cdf(r - 1) if r > 0 else 0.0
    alpha = (cdf(r) - p) / (cdf(r) - below)
    return (r - alpha) / precision


@pytest.mark.parametrize("n", [27, 100, 500])
def test_exact_share_limits_match_the_interpolated_binomial_quantiles(n):
    lim = funnel_limits(20, [n], "share", method="exact", multiplier=100)
    for level in (0.95, 0.998):
        tail = (1 - level) / 2
        cdf = lambda k: binom.cdf(k, n, 0.2)  # noqa: E731
        expected = [max(0.0, spiegelhalter_by_hand(cdf, p, n, range(n + 1))) * 100 for p in (tail, 1 - tail)]
        assert limits_at(lim, level).loc[0, ["lower", "upper"]].tolist() == pytest.approx(expected)


def test_exact_share_limit_for_n_100_worked_by_hand():
    # Binomial(100, 0.2): F(11) = 0.01257 < 0.025 <= F(12) = 0.02533, so r = 12 and
    # alpha = (0.02533 - 0.025) / (0.02533 - 0.01257) = 0.0257; limit = (12 - 0.0257) / 100.
    lower = funnel_limits(0.2, [100], "share", method="exact", conf_level=(0.95, 0.998))["lower"].iloc[0]
    assert lower == pytest.approx(0.11974, abs=2e-5)


def test_exact_rate_limits_match_the_interpolated_poisson_quantiles():
    exposure, theta = 2458.5, 0.004
    lim = funnel_limits(4.0, [exposure], "rate", method="exact", multiplier=1000)
    mu = theta * exposure
    for level in (0.95, 0.998):
        tail = (1 - level) / 2
        cdf = lambda k: poisson.cdf(k, mu)  # noqa: E731
        expected = [spiegelhalter_by_hand(cdf, p, exposure, range(200)) * 1000 for p in (tail, 1 - tail)]
        assert limits_at(lim, level).loc[0, ["lower", "upper"]].tolist() == pytest.approx(expected)


def test_exact_share_limits_refuse_fractional_denominators():
    with pytest.raises(UsageError, match="whole-number denominators"):
        funnel_limits(0.2, [10.5], "share", method="exact")


# --- PHEindicatormethods / Fingertips ("interval") --------------------------

# Reference values printed by PHStatsMethods 0.1.16 (UKHSA's Python port of
# PHEindicatormethods::calculate_funnel_limits) for numerators 4, 30, 12, 60, 9
# over denominators 27, 60, 40, 200, 80 (baseline 115/407 = 28.2555...%).
PHE_PROPORTION = pd.DataFrame(
    {
        "population": [11, 41, 210],
        "lower_2s": [1.6484194795, 14.4738502349, 22.1659897588],
        "upper_2s": [54.8626370315, 42.0372062761, 34.3450667522],
        "lower_3s": [0.0, 6.5262582341, 18.6542862222],
        "upper_3s": [70.2063741700, 49.9847982770, 37.8567702888],
    }
)

# ... and for crude rates per 1,000: 22, 30, 10, 12, 25 events over 2458.5, 5050,
# 3000, 2800, 2600 member-years (baseline 6.2230882861); PHEindicatormethods
# tabulates, for each whole number of events, the exposure at which that count
# sits on a limit, and the limit.
PHE_RATE = pd.DataFrame(
    {
        "events": [1, 5, 21, 61],
        "lower_2s_exposure": [895.3182614884, 1875.0068402035, 5158.3288090770, 12591.3454240151],
        "lower_2s": [1.1169212592, 2.6666569384, 4.0710859616, 4.8445974553],
        "upper_2s_exposure": [4.0683816523, 260.8811332511, 2088.8870229155, 7497.9121374589],
        "upper_2s": [245.7979819637, 19.1658167752, 10.0532004697, 8.1355981347],
        "lower_3s_exposure": [1483.7343966318, 2644.1445178376, 6327.2048823682, 14334.3805007799],
        "lower_3s": [0.6739750742, 1.8909707719, 3.3190011056, 4.2555030541],
        "upper_3s_exposure": [0.1607798220, 118.8110941027, 1545.7366960120, 6376.1383707673],
        "upper_3s": [6219.6859504081, 42.0836121219, 13.5857549699, 9.5669191057],
    }
)


def test_interval_limits_for_shares_match_pheindicatormethods():
    lim = funnel_limits(115 / 407 * 100, PHE_PROPORTION["population"], "share", method="phe", multiplier=100)
    for level, suffix in ((0.95, "2s"), (0.998, "3s")):
        got = limits_at(lim, level)
        assert got["lower"].to_numpy() == pytest.approx(PHE_PROPORTION[f"lower_{suffix}"].to_numpy(), abs=1e-8)
        assert got["upper"].to_numpy() == pytest.approx(PHE_PROPORTION[f"upper_{suffix}"].to_numpy(), abs=1e-8)


def test_interval_limits_for_shares_equal_the_normal_approximation():
    grid = [10, 27, 84, 300]
    approx = funnel_limits(0.3, grid, "share", method="approx")
    interval = funnel_limits(0.3, grid, "share", method="phe")
    pd.testing.assert_frame_equal(approx, interval)


@pytest.mark.parametrize("suffix, level", [("2s", 0.95), ("3s", 0.998)])
def test_interval_limits_for_rates_match_pheindicatormethods(suffix, level):
    baseline = 6.2230882861
    for side in ("lower", "upper"):
        exposure = PHE_RATE[f"{side}_{suffix}_exposure"]
        got = limits_at(
            funnel_limits(baseline, exposure, "rate", conf_level=level, method="phe", multiplier=1000), level
        )[side]
        # PHEindicatormethods finds these points by bisection to 1e-7.
        assert got.to_numpy() == pytest.approx(PHE_RATE[f"{side}_{suffix}"].to_numpy(), rel=1e-5)


def test_interval_rate_limit_is_where_the_exact_poisson_interval_touches_the_target():
    theta = 0.004
    for events in (3, 22):
        # Upper limit: the exposure at which the exact lower bound of `events` equals theta x E.
        exposure = chi2.ppf(0.025, 2 * events) / 2 / theta
        upper = funnel_limits(theta, [exposure], "rate", conf_level=0.95, method="phe")["upper"].iloc[0]
        assert upper == pytest.approx(events / exposure, rel=1e-9)
        exposure = chi2.ppf(0.975, 2 * events + 2) / 2 / theta
        lower = funnel_limits(theta, [exposure], "rate", conf_level=0.95, method="phe")["lower"].iloc[0]
        assert lower == pytest.approx(events / exposure, rel=1e-9)


@pytest.mark.parametrize("kind", ["share", "rate"])
def test_points_outside_interval_limits_are_exactly_the_ones_classified_higher_or_lower(kind):
    rng = np.random.default_rng(3)
    base = rng.integers(20, 3000, size=60).astype(float)
    count = rng.binomial(base.astype(int), 0.02 * rng.uniform(0.3, 2.5, size=60)).astype(float)
    metrics = pd.DataFrame(
        {
            "metric": "m",
            "numerator": count,
            "multiplier": 1.0,
            "computable": True,
            "denominator": base if kind == "share" else np.nan,
            "exposure": base if kind == "rate" else np.nan,
        }
    )
    classified = classify(metrics)
    target = classified["benchmark"].iloc[0]
    value = count / base
    for level, outside_labels in (
        (0.95, {"higher", "lower", "much higher", "much lower"}),
        (0.998, {"much higher", "much lower"}),
    ):
        lim = funnel_limits(target, base, kind, conf_level=level, method="phe")
        outside = (value < lim["lower"].to_numpy() - 1e-12) | (value > lim["upper"].to_numpy() + 1e-12)
        assert (outside == classified["comparison"].isin(outside_labels).to_numpy()).all()
    assert classified["comparison"].nunique() >= 3  # the check above is not vacuous


# --- FunnelPlotR's transformed scale and overdispersion --------------------


def test_transformed_share_limits_follow_funnelplotr_arcsine_formula():
    tau2 = 0.003
    lim = funnel_limits(0.3, [50, 400], "share", overdispersion="additive", tau2=tau2)
    for level, z in ((0.95, Z95), (0.998, Z998)):
        got = limits_at(lim, level)
        for i, n in enumerate((50, 400)):
            spread = z * math.sqrt(1 / (4 * n) + tau2)
            centre = math.asin(math.sqrt(0.3))
            assert got.loc[i, "lower"] == pytest.approx(math.sin(centre - spread) ** 2)
            assert got.loc[i, "upper"] == pytest.approx(math.sin(centre + spread) ** 2)


def test_transformed_share_lower_limit_stays_at_zero_instead_of_bouncing_back():
    lim = funnel_limits(0.05, [2, 5, 10], "share", method="funnelplotr")
    # sin(x)^2 of a negative angle would be positive again; the angle is clipped.
    assert (limits_at(lim, 0.998)["lower"] == 0).all()


def test_transformed_rate_limits_follow_the_square_root_ratio_formula():
    theta, exposure, tau2 = 0.004, 2458.5, 0.02
    lim = funnel_limits(4.0, [exposure], "rate", overdispersion="additive", tau2=tau2, multiplier=1000, scale="sqrt")
    expected_count = theta * exposure
    spread = Z95 * math.sqrt(1 / (4 * expected_count) + tau2)
    row = limits_at(lim, 0.95).loc[0]
    assert row["lower"] == pytest.approx(4.0 * (1 - spread) ** 2)
    assert row["upper"] == pytest.approx(4.0 * (1 + spread) ** 2)


def test_multiplicative_limits_widen_the_transformed_spread_by_root_phi():
    lim = funnel_limits(0.3, [100], "share", overdispersion="multiplicative", phi=2.25)
    spread = Z95 * 1.5 / (2 * math.sqrt(100))
    assert limits_at(lim, 0.95).loc[0, "upper"] == pytest.approx(math.sin(math.asin(math.sqrt(0.3)) + spread) ** 2)


def test_additive_overdispersion_with_zero_tau2_equals_the_unadjusted_transformed_limits():
    plain = funnel_limits(0.3, [30, 300], "share", method="funnelplotr")
    adjusted = funnel_limits(0.3, [30, 300], "share", overdispersion="additive", tau2=0.0)
    pd.testing.assert_frame_equal(plain, adjusted)


def test_overdispersion_estimates_follow_spiegelhalter_by_hand():
    x = [10, 40, 2, 30, 15, 8, 25, 12, 20, 18]
    n = [100, 100, 50, 120, 90, 60, 110, 80, 100, 95]
    target = sum(x) / sum(n)
    s = [1 / (2 * math.sqrt(k)) for k in n]
    z = [(math.asin(math.sqrt(a / b)) - math.asin(math.sqrt(target))) / si for a, b, si in zip(x, n, s)]
    ordered = sorted(z)
    # R type-7 quantiles at 0.1 and 0.9 of ten values: h = 9 * p.
    low = ordered[0] + 0.9 * (ordered[1] - ordered[0])
    high = ordered[8] + 0.1 * (ordered[9] - ordered[8])
    winsorised = [min(max(v, low), high) for v in z]
    phi = sum(v * v for v in winsorised) / 10
    w = [1 / si**2 for si in s]
    tau2 = (10 * phi - 9) / (sum(w) - sum(v * v for v in w) / sum(w))
    od = overdispersion(x, n, "share")
    assert od.target == pytest.approx(target)
    assert od.z == pytest.approx(z)
    assert od.z_winsorised == pytest.approx(winsorised)
    assert od.phi == pytest.approx(phi)
    assert od.tau2 == pytest.approx(tau2)
    assert od.tau2 > 0


def test_overdispersion_of_rates_uses_square_root_z_scores():
    events, exposure = np.array([22.0, 5, 9, 14]), np.array([2458.5, 2100, 1800, 3000])
    od = overdispersion(events, exposure, "rate", trim=0.0, scale="sqrt")
    expected = events.sum() / exposure.sum() * exposure
    z = 2 * (np.sqrt(events) - np.sqrt(expected))
    assert od.z == pytest.approx(z)
    assert od.phi == pytest.approx(np.mean(z**2))
    w = 4 * expected
    assert od.tau2 == pytest.approx(max(0.0, (4 * od.phi - 3) / (w.sum() - (w**2).sum() / w.sum())))


def test_tau2_is_zero_when_i_phi_is_below_i_minus_one():
    od = overdispersion([20, 21, 19, 20], [100, 100, 100, 100], "share")
    assert 4 * od.phi < 3
    assert od.tau2 == 0.0


# --- bad input -----------------------------------------------------------


def test_overdispersion_on_a_scale_without_it_is_refused_with_a_hint():
    with pytest.raises(UsageError, match="method='funnelplotr'"):
        funnel_limits(0.2, [100], "share", method="exact", overdispersion="additive", tau2=0.01)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"overdispersion": "additive"}, "needs tau2"),
        ({"overdispersion": "multiplicative"}, "needs phi"),
        ({"method": "wilson"}, "unknown funnel method"),
        ({"kind": "count"}, "unknown kind"),
        ({"n": [0, 10]}, "must be positive"),
        ({"target": 1.5}, "target must lie between 0 and 1"),
    ],
)
def test_bad_funnel_arguments_get_a_specific_message(kwargs, message):
    arguments = {"target": 0.2, "n": [100], "kind": "share"} | kwargs
    with pytest.raises(UsageError, match=message):
        funnel_limits(**arguments)


def test_overdispersion_needs_two_units():
    with pytest.raises(UsageError, match="at least two units"):
        overdispersion([3], [10])
