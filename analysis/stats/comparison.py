"""Compare districts with a benchmark, with honest uncertainty.

Everything here works on the tidy metrics table of ``docs/design.md``
(one row per unit × metric × period, ``estimate/lower/upper`` in display
units, ``numerator`` with ``denominator`` for shares or ``exposure`` in
member-years for rates). A row takes part in a comparison only when it is
``computable`` and has a usable count and base; every other row stays in the
output as ``not compared`` with the reason.

What is implemented, and where it follows or departs from the reference
implementations (FunnelPlotR, PHEindicatormethods / its Python port
PHStatsMethods, Fingertips):

* **Benchmark**: the pooled value of the compared districts
  (sum of numerators over sum of denominators or exposures), or a value the
  caller gives, e.g. a national rate, in display units.
* **Classification** (Fingertips): the benchmark inside the district's 95%
  interval is ``similar``; outside 95% but inside 99.8% ``higher``/``lower``;
  outside 99.8% ``much higher``/``much lower``. A benchmark exactly on a bound
  counts as inside, as in PHEindicatormethods' ``assign_funnel_significance``.
  Intervals: Wilson for shares, exact (Garwood, ``exact-c``) Poisson for
  rates. Difference: Fingertips uses Byar's approximation for rates with 10 or
  more events; it agrees with the exact interval to within 0.2%, so a
  classification can differ only for a benchmark that close to a bound.
* **Funnel limits** (:func:`funnel_limits`), four definitions:

  - ``"exact"``: Spiegelhalter (2005, Stat Med 24:1185, appendix A.1.1)
    interpolated binomial / Poisson quantiles of the target, divided by the
    precision.
  - ``"approx"``: normal approximation θ0 ± z·sqrt(θ0(1-θ0)/n) or
    θ0 ± z·sqrt(θ0/E).
  - ``"interval"``: the observed values at which the district's own interval
    just touches the target. For shares this is the inverted Wilson score
    interval, which is algebraically identical to ``"approx"`` and is what
    PHEindicatormethods' ``calculate_funnel_limits(statistic="proportion")``
    draws; for rates it is the inverted exact Poisson interval, which passes
    through the same points as PHEindicatormethods' rate funnel
    (``poisson_funnel``, drawn there on a grid of integer event counts and
    joined by straight lines; here the curve is continuous). A point outside
    these limits is exactly a district that :func:`classify` calls
    higher/lower.
  - ``"transformed"``: FunnelPlotR's variance-stabilised scale, the only one
    with overdispersion. Shares as FunnelPlotR ``data_type="PR"``:
    Y = asin(sqrt(p)), s = 1/(2·sqrt(n)), limits
    sin(asin(sqrt(θ0)) ± z·sqrt(s² + τ²))². Rates as FunnelPlotR
    ``data_type="SR"`` on the ratio O/E with expected E = θ0 × exposure:
    Y = sqrt(O/E), s = 1/(2·sqrt(E)), limits θ0·(1 ± z·sqrt(s² + τ²))².
    Deliberate difference: methods.md names FunnelPlotR's ``"RC"`` (ratio of
    counts, log scale, s² = 1/O + 1/D), which is for a ratio of two *counts*;
    our exposure is in member-years, not a count, so the indirectly
    standardised form ``"SR"`` is the one that applies. The angle (shares)
    and the square root (rates) are clipped at their lower end before
    back-transforming, so a lower limit never bounces back above zero.

  Overdispersion (Spiegelhalter 2005, Qual Saf Health Care 14:347;
  :func:`overdispersion`): z-scores on the transformed scale, winsorised at the
  10th/90th percentiles (R's default quantile type 7), φ = mean of the
  winsorised z², τ² = (I·φ − (I−1)) / (Σw − Σw²/Σw) with w = 1/s², and τ² = 0
  when I·φ < I−1, as FunnelPlotR. ``"multiplicative"`` (an option) widens the
  transformed-scale limits by sqrt(φ) instead.
* **Shrinkage** (:func:`shrink`): empirical Bayes, beta-binomial for shares
  and Poisson–gamma for rates, with the prior's mean at the pooled value and
  its variance τ² from DerSimonian–Laird
  (``statsmodels.stats.meta_analysis.combine_effects``) on the natural scale
  with the null (binomial or Poisson) variances.
* **Ranks** (:func:`rank_intervals`): rank 1 is the highest value; intervals by
  simulation from Jeffreys posteriors (beta for shares, gamma for rates).
* **Tests**: :func:`pairwise_tests` (score tests from statsmodels, with the
  multiple-testing method always named) and :func:`all_district_test`
  (chi-square homogeneity; Pearson χ² of a Poisson GLM with a log-exposure
  offset for rates).

Examples:
    >>> m = pd.DataFrame({
    ...     "unit_code": ["1", "2", "3"], "unit_label": ["A", "B", "C"],
    ...     "metric": "x_share", "numerator": [10.0, 40.0, 2.0],
    ...     "denominator": [100.0, 100.0, 50.0], "exposure": float("nan"),
    ...     "estimate": [10.0, 40.0, 4.0], "multiplier": 100.0, "computable": True,
    ...     "reason": ""})
    >>> classify(m)[["unit_label", "benchmark", "comparison"]]
      unit_label  benchmark   comparison
    0          A       20.8        lower
    1          B       20.8  much higher
    2          C       20.8        lower
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import InputError, UsageError

#: How a polarity renames the neutral labels.
POLARITIES = {
    "higher is better": {"much higher": "much better", "higher": "better",
                         "lower": "worse", "much lower": "much worse"},
    "lower is better": {"much higher": "much worse", "higher": "worse",
                        "lower": "better", "much lower": "much better"},
}

#: Availability statuses of a district × metric.
AVAILABILITY = ("computed", "reported without denominator", "not reported")

_KINDS = {"share": "share", "proportion": "share", "rate": "rate"}
_METHODS = ("exact", "approx", "interval", "transformed")


# --------------------------------------------------------------------------
# reading the metrics table


def _kind_name(kind: str) -> str:
    try:
        return _KINDS[kind]
    except KeyError:
        raise UsageError(f"unknown kind {kind!r}; use 'share' (or 'proportion') or 'rate'",
                         field="kind") from None


def _as_bool(values: pd.Series) -> np.ndarray:
    """Booleans from a bool column, or from 'True'/'False' text read back from CSV."""
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).to_numpy(bool)
    return values.astype(str).str.strip().str.lower().isin(["true", "1"]).to_numpy()


def _column(metrics: pd.DataFrame, name: str) -> np.ndarray:
    if name not in metrics:
        return np.full(len(metrics), np.nan)
    return pd.to_numeric(metrics[name], errors="coerce").to_numpy(float)


def _kinds(metrics: pd.DataFrame) -> np.ndarray:
    """Kind of each row: a ``kind`` column if present, else rates have an exposure."""
    if "kind" in metrics:
        return metrics["kind"].astype(str).replace({"proportion": "share"}).to_numpy(object)
    exposure, denominator = _column(metrics, "exposure"), _column(metrics, "denominator")
    return np.where(~np.isnan(exposure), "rate",
                    np.where(~np.isnan(denominator), "share", "unknown")).astype(object)


@dataclass(frozen=True)
class _Rows:
    """Counts of the rows of a metrics table, and which rows can be compared."""

    kind: np.ndarray
    count: np.ndarray
    base: np.ndarray
    multiplier: np.ndarray
    valid: np.ndarray
    reason: np.ndarray


def _rows(metrics: pd.DataFrame) -> _Rows:
    """Numerator, base (denominator or exposure) and the reason a row can't be compared."""
    if "metric" not in metrics:
        raise InputError("the metrics table has no 'metric' column", field="metric")
    kind = _kinds(metrics)
    count = _column(metrics, "numerator")
    base = np.where(kind == "rate", _column(metrics, "exposure"), _column(metrics, "denominator"))
    multiplier = _column(metrics, "multiplier")
    computable = _as_bool(metrics["computable"]) if "computable" in metrics else np.ones(len(metrics), bool)
    stated = (metrics["reason"].astype(str).where(metrics["reason"].notna(), "").str.strip().to_numpy(object)
              if "reason" in metrics else np.full(len(metrics), "", object))
    base_word = np.where(kind == "rate", "exposure", "denominator")
    with np.errstate(invalid="ignore"):
        conditions = [
            ~computable,
            kind == "ratio",
            ~np.isin(kind, ["share", "rate"]),
            np.isnan(count) | (count < 0),
            np.isnan(base),
            base <= 0,
            (kind == "share") & (count > base),
            np.isnan(multiplier),
        ]
    reasons = [
        np.where(stated == "", "not computable", stated),
        "ratio metric: no sampling model to compare with a benchmark",
        "neither a denominator nor an exposure",
        "no numerator",
        np.char.add("no ", base_word.astype(str)),
        np.char.add("zero ", base_word.astype(str)),
        "numerator larger than denominator",
        "no multiplier",
    ]
    reason = np.select(conditions, reasons, default="").astype(object)
    return _Rows(kind, count, base, multiplier, reason == "", reason)


def _intervals(rows: _Rows, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson (shares) or exact Poisson (rates) interval at ``level``, in display units."""
    from statsmodels.stats.proportion import proportion_confint
    from statsmodels.stats.rates import confint_poisson

    lower = np.full(len(rows.kind), np.nan)
    upper = lower.copy()
    alpha = 1 - level
    share = rows.valid & (rows.kind == "share")
    rate = rows.valid & (rows.kind == "rate")
    if share.any():
        lower[share], upper[share] = proportion_confint(rows.count[share], rows.base[share],
                                                        alpha=alpha, method="wilson")
    if rate.any():
        lower[rate], upper[rate] = confint_poisson(rows.count[rate], rows.base[rate],
                                                   method="exact-c", alpha=alpha)
    return lower * rows.multiplier, upper * rows.multiplier


def check_levels(levels) -> tuple[float, float]:
    """Two confidence levels, inner then outer, each strictly between 0 and 1.

    Raises:
        UsageError: Not two numbers, outside (0, 1), or not increasing.

    Examples:
        >>> check_levels([0.95, 0.998])
        (0.95, 0.998)
        >>> check_levels([95, 99.8])
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: levels: must be two confidence levels between 0 and 1, ...; got [95, 99.8]
    """
    ok = isinstance(levels, (list, tuple)) and len(levels) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in levels)
    if ok:
        inner, outer = (float(v) for v in levels)
        ok = 0 < inner < outer < 1
    if not ok:
        raise UsageError("must be two confidence levels between 0 and 1, inner then outer, "
                         f"e.g. [0.95, 0.998]; got {levels!r}", field="levels")
    return inner, outer


def _pooled(metrics: pd.DataFrame, rows: _Rows) -> pd.Series:
    """Pooled value per metric over the comparable rows, in display units."""
    table = pd.DataFrame({"metric": metrics["metric"].to_numpy(), "count": rows.count,
                          "base": rows.base, "multiplier": rows.multiplier})[rows.valid]
    sums = table.groupby("metric", sort=False).agg(count=("count", "sum"), base=("base", "sum"),
                                                   low=("multiplier", "min"), high=("multiplier", "max"))
    mixed = sums.index[sums["low"] != sums["high"]]
    if len(mixed):
        raise UsageError(f"metric {mixed[0]!r} has rows with different multipliers", field="multiplier")
    return sums["count"] / sums["base"] * sums["low"]


# --------------------------------------------------------------------------
# benchmark and classification


def pooled_benchmark(metrics: pd.DataFrame, metric: str) -> float:
    """Pooled value of one metric over its comparable rows, in display units.

    Shares pool as the sum of numerators over the sum of denominators, rates as
    the sum of events over the sum of member-years; both are then multiplied
    by the metric's ``multiplier``. Rows that cannot be compared (not
    computable, no base) are left out.

    Args:
        metrics: Metrics table (design.md).
        metric: Metric id.

    Returns:
        The pooled value, or NaN when no row of the metric can be compared.

    Raises:
        UsageError: If the metric's rows have different multipliers.

    Examples:
        >>> m = pd.DataFrame({"metric": "d", "numerator": [22.0, 8.0],
        ...     "exposure": [2458.5, 1541.5], "multiplier": 1000.0, "computable": True})
        >>> round(pooled_benchmark(m, "d"), 3)
        7.5
    """
    pooled = _pooled(metrics, _rows(metrics))
    return float(pooled.get(metric, np.nan))


def classify(metrics: pd.DataFrame, benchmark=None, levels=(0.95, 0.998), polarity=None) -> pd.DataFrame:
    """Classify each row against a benchmark at two confidence levels (Fingertips).

    The benchmark inside the row's inner (95%) interval is ``similar``;
    outside it but inside the outer (99.8%) interval ``higher`` or ``lower``;
    outside both ``much higher`` or ``much lower``. Intervals are recomputed
    from the counts at both levels: Wilson for shares, exact Poisson
    (``exact-c``) for rates. Rows without a valid interval are ``not compared``
    and ``comparison_reason`` says why.

    Args:
        metrics: Metrics table; a ``kind`` column (``share``/``rate``/``ratio``)
            is used when present, otherwise rows with an exposure are rates and
            rows with a denominator shares.
        benchmark: None for the pooled value of each metric over the rows
            given (a metric with a single comparable row is then not
            compared: the pool would be that row); a number (display units)
            for every metric; or a mapping metric → number, the other metrics
            pooled.
        levels: Inner and outer confidence levels.
        polarity: Optional mapping metric → ``"higher is better"`` or
            ``"lower is better"``; those metrics get better/worse labels
            instead of the neutral higher/lower.

    Returns:
        A copy of ``metrics`` with ``kind`` (when it had none: ``share``,
        ``rate`` or ``unknown``), ``benchmark``, ``benchmark_source``
        (``pooled``/``given``), ``lower_inner``, ``upper_inner``,
        ``lower_outer``, ``upper_outer`` (display units), ``comparison`` and
        ``comparison_reason`` (empty for compared rows).

    Raises:
        UsageError: For bad levels, a non-numeric benchmark or an unknown
            polarity.

    Examples:
        Kon Rẫy's 22 disciplined over 2,458.5 member-years against a national
        rate of 4 per 1,000 member-years:

        >>> m = pd.DataFrame({"metric": ["disciplined"], "numerator": [22.0],
        ...     "exposure": [2458.5], "multiplier": [1000.0], "computable": [True]})
        >>> row = classify(m, benchmark=4.0).iloc[0]
        >>> row["comparison"], float(row["lower_inner"].round(2)), float(row["lower_outer"].round(2))
        ('much higher', 5.61, 4.18)
        >>> classify(m, benchmark=5.0).iloc[0]["comparison"]
        'higher'
        >>> classify(m, benchmark=5.0, polarity={"disciplined": "lower is better"}).iloc[0]["comparison"]
        'worse'
    """
    inner, outer = check_levels(levels)
    out = metrics.copy()
    rows = _rows(out)
    metric = out["metric"].astype(str)
    bench = metric.map(_pooled(out, rows)).to_numpy(float)
    source = np.full(len(out), "pooled", dtype=object)
    if benchmark is not None:
        given = benchmark if isinstance(benchmark, dict) else dict.fromkeys(metric.unique(), benchmark)
        try:
            values = metric.map({k: float(v) for k, v in given.items()}).to_numpy(float)
        except (TypeError, ValueError):
            raise UsageError(f"benchmark must be a number or a mapping metric -> number; got {benchmark!r}",
                             field="benchmark") from None
        has = ~np.isnan(values)
        bench = np.where(has, values, bench)
        source = np.where(has, "given", source)
    comparable = pd.Series(rows.valid).groupby(metric.to_numpy()).transform("sum").to_numpy()
    alone = (source == "pooled") & rows.valid & (comparable < 2)
    bench = np.where(alone, np.nan, bench)
    lower_in, upper_in = _intervals(rows, inner)
    lower_out, upper_out = _intervals(rows, outer)
    compared = rows.valid & ~np.isnan(bench)
    with np.errstate(invalid="ignore"):
        comparison = np.select(
            [~compared, bench < lower_out, bench < lower_in, bench > upper_out, bench > upper_in],
            ["not compared", "much higher", "higher", "much lower", "lower"], default="similar")
    reason = np.select(
        [alone, rows.valid & np.isnan(bench)],
        ["the only comparable district: a pooled benchmark would be its own value; give a benchmark",
         "no benchmark given for this metric"], default=rows.reason)
    comparison = pd.Series(comparison, index=out.index, dtype=object)
    for name, direction in (polarity or {}).items():
        if direction not in POLARITIES:
            raise UsageError(f"polarity of {name!r} must be one of {sorted(POLARITIES)}; got {direction!r}",
                             field="polarity")
        mine = (metric == name).to_numpy()
        comparison[mine] = comparison[mine].replace(POLARITIES[direction])
    if "kind" not in out:
        out["kind"] = rows.kind
    out["benchmark"] = bench
    out["benchmark_source"] = source
    out["lower_inner"], out["upper_inner"] = lower_in, upper_in
    out["lower_outer"], out["upper_outer"] = lower_out, upper_out
    out["comparison"] = comparison.astype(str)
    out["comparison_reason"] = pd.Series(reason, index=out.index).where(reason != "", pd.NA).astype("str")
    return out


# --------------------------------------------------------------------------
# funnel limits and overdispersion


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf((1 + level) / 2))


def _interpolated_quantile(dist, p: float, precision: np.ndarray) -> np.ndarray:
    """Spiegelhalter's (2005, A.1.1) interpolated quantile r_p − α, divided by the precision."""
    r = dist.ppf(p)
    at, below = dist.cdf(r), dist.cdf(r - 1)
    return (r - (at - p) / (at - below)) / precision


def _gamma_shape(mu: np.ndarray, q: float) -> np.ndarray:
    """Shape a with P(a, mu) = q (regularised lower incomplete gamma), by vectorised bisection."""
    from scipy.special import gammainc

    low = np.zeros_like(mu)
    high = mu + 20 * np.sqrt(mu) + 40
    for _ in range(80):
        mid = (low + high) / 2
        above = gammainc(mid, mu) > q  # P falls as the shape grows
        low, high = np.where(above, mid, low), np.where(above, high, mid)
    return (low + high) / 2


def _limits(theta, rho, kind, level, method, overdispersion, phi, tau2):
    """Lower and upper limits at one level, on the raw scale (proportion, events per unit)."""
    from scipy.stats import binom, poisson

    z = _z(level)
    tail = (1 - level) / 2
    if method == "exact":
        dist = binom(rho, theta) if kind == "share" else poisson(theta * rho)
        return _interpolated_quantile(dist, tail, rho), _interpolated_quantile(dist, 1 - tail, rho)
    if method == "approx" or (method == "interval" and kind == "share"):
        se = np.sqrt(theta * (1 - theta) / rho) if kind == "share" else np.sqrt(theta / rho)
        return theta - z * se, theta + z * se
    if method == "interval":  # rate: where the exact Poisson interval of x/rho touches theta
        mu = theta * rho
        return (_gamma_shape(mu, 1 - tail) - 1) / rho, _gamma_shape(mu, tail) / rho
    expected = rho if kind == "share" else theta * rho
    s = 1 / (2 * np.sqrt(expected))
    spread = z * {None: s, "additive": np.sqrt(s ** 2 + (tau2 or 0.0)),
                  "multiplicative": np.sqrt(phi or 1.0) * s}[overdispersion]
    if kind == "share":
        centre = np.arcsin(np.sqrt(theta))
        return (np.sin(np.clip(centre - spread, 0, np.pi / 2)) ** 2,
                np.sin(np.clip(centre + spread, 0, np.pi / 2)) ** 2)
    return theta * np.clip(1 - spread, 0, None) ** 2, theta * (1 + spread) ** 2


def funnel_limits(target, precision, kind="share", levels=(0.95, 0.998), method=None,
                  overdispersion=None, phi=None, tau2=None, multiplier=1.0) -> pd.DataFrame:
    """Funnel-plot control limits around a target, vectorised over the precision.

    Args:
        target: The benchmark θ0, in the units of the result (a proportion
            when ``multiplier`` is 1, a percent when it is 100; events per
            member-year, or per 1,000 with ``multiplier=1000``).
        precision: Denominators n (shares; whole numbers for ``"exact"``) or
            exposures E in member-years (rates); a number or an array.
        kind: ``"share"`` (alias ``"proportion"``) or ``"rate"``.
        levels: Confidence levels of the limits.
        method: ``"exact"`` (Spiegelhalter's interpolated binomial or Poisson
            limits), ``"approx"`` (normal), ``"interval"`` (where the district's
            own Wilson or exact Poisson interval touches the target, as
            PHEindicatormethods/Fingertips) or ``"transformed"`` (FunnelPlotR's
            arcsine or square-root scale). Default: ``"exact"``, or
            ``"transformed"`` when ``overdispersion`` is given; see the module
            docstring for the formulas.
        overdispersion: None, ``"additive"`` (needs ``tau2``) or
            ``"multiplicative"`` (needs ``phi``); only with ``"transformed"``.
        phi: Overdispersion factor from :func:`overdispersion`.
        tau2: Between-unit variance on the transformed scale, from
            :func:`overdispersion`.
        multiplier: Display multiplier of ``target`` and of the result.

    Returns:
        One row per precision × level: ``precision``, ``level``, ``target``,
        ``lower``, ``upper``; limits are clipped to [0, 1] (shares) or
        [0, ∞) (rates) on the raw scale.

    Raises:
        UsageError: For an unknown kind or method, a target out of range,
            non-positive precision, or an overdispersion option that does not
            fit the method or lacks its parameter.

    Examples:
        >>> lim = funnel_limits(0.2, [100], method="approx")
        >>> lim[["level", "lower", "upper"]].round(4)
           level   lower   upper
        0  0.950  0.1216  0.2784
        1  0.998  0.0764  0.3236
        >>> funnel_limits(20, [100], method="exact", levels=(0.95, 0.998), multiplier=100)["lower"].round(2).tolist()
        [11.97, 8.1]
        >>> funnel_limits(4.0, [2458.5], kind="rate", method="interval", multiplier=1000)["upper"].round(2).tolist()
        [6.88, 8.67]
    """
    kind = _kind_name(kind)
    levels = tuple(float(v) for v in levels)
    if method is None:
        method = "transformed" if overdispersion else "exact"
    if method not in _METHODS:
        raise UsageError(f"unknown funnel method {method!r}; use one of {', '.join(_METHODS)}", field="method")
    if overdispersion not in (None, "additive", "multiplicative"):
        raise UsageError(f"overdispersion must be None, 'additive' or 'multiplicative'; got {overdispersion!r}",
                         field="overdispersion")
    if overdispersion and method != "transformed":
        raise UsageError(f"overdispersion is adjusted on the transformed scale; use method='transformed', "
                         f"not {method!r}", field="method")
    if overdispersion == "additive" and tau2 is None:
        raise UsageError("additive overdispersion needs tau2 (see overdispersion())", field="tau2")
    if overdispersion == "multiplicative" and phi is None:
        raise UsageError("multiplicative overdispersion needs phi (see overdispersion())", field="phi")
    if not all(0 < v < 1 for v in levels):
        raise UsageError(f"levels must lie between 0 and 1; got {levels}", field="levels")
    rho = np.atleast_1d(np.asarray(precision, dtype=float))
    theta = float(target) / float(multiplier)
    if not (rho > 0).all():
        raise UsageError("precision (denominator or exposure) must be positive", field="precision")
    if kind == "share" and not 0 <= theta <= 1:
        raise UsageError(f"a share's target must lie between 0 and {multiplier:g}; got {target}", field="target")
    if kind == "rate" and not theta >= 0:
        raise UsageError(f"a rate's target must be zero or positive; got {target}", field="target")
    if kind == "rate" and method == "transformed" and theta == 0:
        raise UsageError("the transformed scale needs a positive target rate", field="target")
    if kind == "share" and method == "exact" and not np.allclose(rho, np.round(rho)):
        raise UsageError("exact binomial limits need whole-number denominators", field="precision")
    ceiling = 1.0 if kind == "share" else np.inf
    parts = []
    for level in levels:
        with np.errstate(divide="ignore", invalid="ignore"):
            lower, upper = _limits(theta, rho, kind, level, method, overdispersion, phi, tau2)
        parts.append(pd.DataFrame({
            "precision": rho, "level": level, "target": float(target),
            "lower": np.clip(lower, 0, ceiling) * multiplier,
            "upper": np.clip(upper, 0, ceiling) * multiplier}))
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class Overdispersion:
    """Spiegelhalter's overdispersion estimates on the transformed scale.

    Attributes:
        phi: Mean of the winsorised squared z-scores.
        tau2: Additive between-unit variance (0 when I·φ < I−1).
        target: The target θ0 used (raw scale: proportion or events per unit).
        z: Unadjusted z-scores, one per unit.
        z_winsorised: The z-scores winsorised at ``trim`` and ``1 - trim``.
        s: Standard errors on the transformed scale.
    """

    phi: float
    tau2: float
    target: float
    z: np.ndarray
    z_winsorised: np.ndarray
    s: np.ndarray


def overdispersion(numerators, denominators, kind="share", target=None, trim=0.1) -> Overdispersion:
    """Estimate overdispersion as FunnelPlotR does (Spiegelhalter 2005).

    Shares: z = (asin(sqrt(p)) − asin(sqrt(θ0))) / s with s = 1/(2·sqrt(n)).
    Rates: expected E = θ0 × exposure and z = 2·(sqrt(O) − sqrt(E)), i.e.
    sqrt(O/E) − 1 over s = 1/(2·sqrt(E)). The z-scores are winsorised at the
    ``trim`` and ``1 - trim`` quantiles, φ is the mean of their squares and
    τ² = max(0, (I·φ − (I−1)) / (Σw − Σw²/Σw)) with w = 1/s².

    Args:
        numerators: Events or numerator counts, one per unit.
        denominators: Denominators (shares) or exposures (rates).
        kind: ``"share"`` (alias ``"proportion"``) or ``"rate"``.
        target: θ0 on the raw scale (a proportion, or events per unit of
            exposure); default the pooled value.
        trim: Winsorising fraction at each end.

    Returns:
        An :class:`Overdispersion` with ``phi``, ``tau2`` and the z-scores.

    Raises:
        UsageError: With fewer than two units, non-positive denominators, or
            a target the scale cannot take.

    Examples:
        >>> od = overdispersion([10, 40, 2, 30], [100, 100, 50, 120])
        >>> round(od.phi, 3), round(od.tau2, 5)
        (8.88, 0.03008)
        >>> overdispersion([20, 21, 19], [100, 100, 100]).tau2
        0.0
    """
    kind = _kind_name(kind)
    count = np.asarray(numerators, dtype=float)
    base = np.asarray(denominators, dtype=float)
    if count.shape != base.shape or count.ndim != 1 or len(count) < 2:
        raise UsageError("overdispersion needs numerators and denominators for at least two units",
                         field="numerators")
    if not (base > 0).all() or not (count >= 0).all():
        raise UsageError("denominators must be positive and numerators not negative", field="denominators")
    theta = count.sum() / base.sum() if target is None else float(target)
    if kind == "share":
        s = 1 / (2 * np.sqrt(base))
        z = (np.arcsin(np.sqrt(count / base)) - np.arcsin(np.sqrt(theta))) / s
    else:
        if not theta > 0:
            raise UsageError("overdispersion of rates needs a positive target rate", field="target")
        expected = theta * base
        s = 1 / (2 * np.sqrt(expected))
        z = 2 * (np.sqrt(count) - np.sqrt(expected))
    low, high = np.quantile(z, [trim, 1 - trim])
    z_w = np.clip(z, low, high)
    units = len(z)
    phi = float(np.mean(z_w ** 2))
    w = 1 / s ** 2
    tau2 = max(0.0, float((units * phi - (units - 1)) / (w.sum() - (w ** 2).sum() / w.sum())))
    return Overdispersion(phi=phi, tau2=tau2, target=float(theta), z=z, z_winsorised=z_w, s=s)


# --------------------------------------------------------------------------
# shrinkage and ranks


def shrink(metrics: pd.DataFrame, conf_level: float = 0.95) -> pd.DataFrame:
    """Empirical-Bayes estimates beside the raw ones, per metric.

    The prior's mean is the pooled value and its variance τ² the
    DerSimonian–Laird estimate (statsmodels ``combine_effects``) from the raw
    values with their null variances θ(1−θ)/n (shares) or θ/E (rates).
    Shares use a beta prior and binomial likelihood, rates a gamma prior and
    Poisson likelihood; the estimate is the posterior mean and the interval
    equal-tailed. ``shrinkage`` is the weight of the pooled value (0 = raw,
    1 = pooled): it is larger for smaller denominators. When τ² is 0 every
    district gets the pooled value; when τ² is so large that no beta prior
    has it (τ² ≥ θ(1−θ)/2), the prior is worth one observation. Metrics with fewer than two comparable
    rows, or a pooled value of 0 (or 100%), get no shrunken estimate (NaN).

    Args:
        metrics: Metrics table.
        conf_level: Level of the posterior interval.

    Returns:
        A copy with ``shrunk_estimate``, ``shrunk_lower``, ``shrunk_upper``
        (display units) and ``shrinkage``.

    Examples:
        >>> m = pd.DataFrame({"metric": "x", "numerator": [10.0, 40.0, 2.0, 30.0],
        ...     "denominator": [100.0, 100.0, 50.0, 120.0], "multiplier": 100.0, "computable": True})
        >>> shrink(m)[["shrunk_estimate", "shrinkage"]].round(2)
           shrunk_estimate  shrinkage
        0            10.79       0.06
        1            38.85       0.06
        2             6.21       0.12
        3            24.85       0.05
    """
    from scipy.stats import beta, gamma
    from statsmodels.stats.meta_analysis import combine_effects

    out = metrics.copy()
    rows = _rows(out)
    result = {name: np.full(len(out), np.nan) for name in
              ("shrunk_estimate", "shrunk_lower", "shrunk_upper", "shrinkage")}
    tail = (1 - conf_level) / 2
    metric = out["metric"].astype(str).to_numpy()
    for name in pd.unique(metric[rows.valid]):
        mine = rows.valid & (metric == name)
        x, base, kind = rows.count[mine], rows.base[mine], rows.kind[mine][0]
        theta = x.sum() / base.sum()
        if mine.sum() < 2 or theta == 0 or (kind == "share" and theta == 1):
            continue
        null_var = theta * (1 - theta) / base if kind == "share" else theta / base
        with np.errstate(invalid="ignore", divide="ignore"):  # only tau2 is used, not the RE summaries
            # statsmodels 0.15 returns the untruncated DerSimonian-Laird value, negative when Q < I - 1.
            tau2 = max(0.0, float(combine_effects(x / base, null_var, method_re="dl").tau2))
        with np.errstate(divide="ignore", over="ignore"):
            if kind == "share":  # beta prior, mean theta, variance tau2; strength = a + b, at least 1
                strength = max(theta * (1 - theta) / tau2 - 1, 1.0)
            else:  # gamma prior, mean theta, variance tau2; strength = its rate, in units of exposure
                strength = theta / tau2
        weight = strength / (strength + base) if np.isfinite(strength) else np.ones_like(base)
        estimate = weight * theta + (1 - weight) * x / base
        if not np.isfinite(strength):  # tau2 is 0 (or too small to matter): the prior is the pooled value
            lower = upper = np.full_like(base, theta)
        elif kind == "share":
            a, b = theta * strength + x, (1 - theta) * strength + base - x
            lower, upper = beta.ppf(tail, a, b), beta.ppf(1 - tail, a, b)
        else:
            shape, rate = theta * strength + x, strength + base
            lower, upper = gamma.ppf(tail, shape, scale=1 / rate), gamma.ppf(1 - tail, shape, scale=1 / rate)
        scale = rows.multiplier[mine]
        result["shrunk_estimate"][mine] = estimate * scale
        result["shrunk_lower"][mine] = lower * scale
        result["shrunk_upper"][mine] = upper * scale
        result["shrinkage"][mine] = weight
    for name, values in result.items():
        out[name] = values
    return out


def rank_intervals(metrics: pd.DataFrame, n_sim: int = 2000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Ranks with simulation intervals, per metric (rank 1 = highest value).

    Each comparable row is drawn ``n_sim`` times from its Jeffreys posterior
    (beta(x + ½, n − x + ½) for shares, gamma(x + ½, rate E) for rates); the
    interval holds the central ``level`` of the simulated ranks and is
    widened, if simulation noise requires, to contain the observed rank.
    Observed ranks use the raw ``numerator / base`` with ties sharing the
    best rank.

    Args:
        metrics: Metrics table.
        n_sim: Number of simulated tables.
        seed: Seed of the random generator (results are reproducible).
        level: Coverage of the rank interval.

    Returns:
        A copy with ``rank``, ``rank_lower``, ``rank_upper`` and ``ranked``
        (the number of rows ranked on that metric); missing for rows that
        cannot be compared.

    Examples:
        >>> m = pd.DataFrame({"metric": "x", "numerator": [1.0, 30.0, 60.0],
        ...     "denominator": [10.0, 100.0, 100.0], "multiplier": 100.0, "computable": True})
        >>> rank_intervals(m, n_sim=500)[["rank", "rank_lower", "rank_upper"]]
           rank  rank_lower  rank_upper
        0     3           2           3
        1     2           2           3
        2     1           1           1
    """
    out = metrics.copy()
    rows = _rows(out)
    rng = np.random.default_rng(seed)
    columns = {name: np.full(len(out), np.nan) for name in ("rank", "rank_lower", "rank_upper", "ranked")}
    metric = out["metric"].astype(str).to_numpy()
    tail = (1 - level) / 2
    for name in pd.unique(metric[rows.valid]):
        mine = rows.valid & (metric == name)
        x, base = rows.count[mine], rows.base[mine]
        if rows.kind[mine][0] == "share":
            draws = rng.beta(x + 0.5, base - x + 0.5, size=(n_sim, len(x)))
        else:
            draws = rng.gamma(x + 0.5, 1 / base, size=(n_sim, len(x)))
        units = len(x)
        order = (-draws).argsort(axis=1)
        simulated = np.empty_like(order)  # simulated[s, i]: rank of unit i in draw s, from 0
        np.put_along_axis(simulated, order, np.broadcast_to(np.arange(units), order.shape), axis=1)
        counts = np.bincount((np.arange(units) * units + simulated).ravel(), minlength=units * units)
        cumulative = counts.reshape(units, units).cumsum(axis=1)  # per unit, draws at or above each rank
        low = (cumulative >= tail * n_sim).argmax(axis=1) + 1  # the inverted-CDF quantiles
        high = (cumulative >= (1 - tail) * n_sim).argmax(axis=1) + 1
        observed = pd.Series(x / base).rank(ascending=False, method="min").to_numpy()
        columns["rank"][mine] = observed
        columns["rank_lower"][mine] = np.minimum(low, observed)
        columns["rank_upper"][mine] = np.maximum(high, observed)
        columns["ranked"][mine] = len(x)
    for name, values in columns.items():
        out[name] = pd.array(values, dtype="Int64")
    return out


# --------------------------------------------------------------------------
# tests between districts


def _one_metric(metrics: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, _Rows]:
    rows = _rows(metrics)
    mine = rows.valid & (metrics["metric"].astype(str) == metric).to_numpy()
    if mine.sum() < 2:
        raise UsageError(f"metric {metric!r} has {int(mine.sum())} comparable row(s); a test needs two or more",
                         field="metric")
    return metrics[mine], _Rows(*(getattr(rows, f)[mine] for f in _Rows.__dataclass_fields__))


def _labels(frame: pd.DataFrame) -> pd.Series:
    column = "unit_label" if "unit_label" in frame else "unit_code"
    return frame[column].astype(str)


def pairwise_tests(metrics: pd.DataFrame, metric: str, method: str = "fdr_bh", alpha: float = 0.05) -> pd.DataFrame:
    """Test every pair of districts on one metric, adjusting for multiplicity.

    Shares: score test of the difference (statsmodels
    ``test_proportions_2indep(method="score")``); rates: score test of the
    rate ratio (``test_poisson_2indep(method="score")``). P-values are
    adjusted with ``statsmodels.stats.multitest.multipletests`` and the
    method named here (default Benjamini–Hochberg FDR, not statsmodels'
    default Holm–Šidák).

    Args:
        metrics: Metrics table.
        metric: Metric id.
        method: ``multipletests`` method.
        alpha: Level at which ``reject`` is decided.

    Returns:
        One row per pair: ``metric``, ``unit_code_1``, ``unit_label_1``,
        ``estimate_1``, ``unit_code_2``, ``unit_label_2``, ``estimate_2``,
        ``statistic``, ``p_value``, ``p_adjusted``, ``reject``, ``test``,
        ``adjustment``.

    Raises:
        UsageError: With fewer than two comparable rows.

    Examples:
        >>> m = pd.DataFrame({"unit_code": ["1", "2", "3"], "metric": "x",
        ...     "numerator": [4.0, 30.0, 12.0], "denominator": [27.0, 60.0, 40.0],
        ...     "multiplier": 100.0, "computable": True})
        >>> pairwise_tests(m, "x")[["unit_code_1", "unit_code_2", "reject"]]
          unit_code_1 unit_code_2  reject
        0           1           2    True
        1           1           3   False
        2           2           3   False
    """
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import test_proportions_2indep
    from statsmodels.stats.rates import test_poisson_2indep

    frame, rows = _one_metric(metrics, metric)
    first, second = np.triu_indices(len(frame), k=1)
    x1, b1, x2, b2 = rows.count[first], rows.base[first], rows.count[second], rows.base[second]
    with np.errstate(divide="ignore", invalid="ignore"):
        if rows.kind[0] == "share":
            result = test_proportions_2indep(x1, b1, x2, b2, method="score", compare="diff")
            test = "score test of the difference of two proportions"
        else:
            result = test_poisson_2indep(x1, b1, x2, b2, method="score", compare="ratio")
            test = "score test of the ratio of two Poisson rates"
    p = np.asarray(result.pvalue, dtype=float)
    adjusted = np.full_like(p, np.nan)
    reject = np.zeros(len(p), dtype=bool)
    finite = np.isfinite(p)
    if finite.any():
        reject[finite], adjusted[finite] = multipletests(p[finite], alpha=alpha, method=method)[:2]
    codes, labels = frame["unit_code"].astype(str).to_numpy(), _labels(frame).to_numpy()
    value = rows.count / rows.base * rows.multiplier
    return pd.DataFrame({
        "metric": metric,
        "unit_code_1": codes[first], "unit_label_1": labels[first], "estimate_1": value[first],
        "unit_code_2": codes[second], "unit_label_2": labels[second], "estimate_2": value[second],
        "statistic": np.asarray(result.statistic, dtype=float), "p_value": p, "p_adjusted": adjusted,
        "reject": reject, "test": test, "adjustment": method})


def all_district_test(metrics: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Test whether all comparable districts share one value of a metric.

    Shares: chi-square test of homogeneity (statsmodels
    ``proportions_chisquare``). Rates: Pearson χ² of an intercept-only Poisson
    GLM with offset log(exposure), i.e. Σ(O − E)²/E with E the pooled rate
    times each exposure, on I − 1 degrees of freedom. ``dispersion`` is χ²/df
    (the ``scale="X2"`` estimate; above 1 means more spread than chance).

    Args:
        metrics: Metrics table.
        metric: Metric id.

    Returns:
        One row: ``metric``, ``test``, ``statistic``, ``df``, ``p_value``,
        ``dispersion``, ``units``.

    Raises:
        UsageError: With fewer than two comparable rows.

    Examples:
        >>> m = pd.DataFrame({"metric": "d", "numerator": [22.0, 5.0, 9.0],
        ...     "exposure": [2458.5, 2100.0, 1800.0], "multiplier": 1000.0, "computable": True})
        >>> all_district_test(m, "d")[["statistic", "df", "p_value"]].round(3)
           statistic  df  p_value
        0      8.823   2    0.012
    """
    from scipy.stats import chi2
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.stats.proportion import proportions_chisquare

    frame, rows = _one_metric(metrics, metric)
    if rows.kind[0] == "share":
        statistic, p_value, _ = proportions_chisquare(rows.count, rows.base)
        df = len(frame) - 1
        test = "chi-square test of homogeneity of proportions"
    else:
        fit = GLM(rows.count, np.ones((len(frame), 1)), family=families.Poisson(),
                     offset=np.log(rows.base)).fit(scale="X2")
        statistic, df = fit.pearson_chi2, int(round(fit.df_resid))
        p_value = chi2.sf(statistic, df)
        test = "Pearson chi-square of a Poisson GLM with log-exposure offset"
    return pd.DataFrame({"metric": [metric], "test": [test], "statistic": [float(statistic)], "df": [df],
                         "p_value": [float(p_value)], "dispersion": [float(statistic) / df],
                         "units": [len(frame)]})


# --------------------------------------------------------------------------
# availability and the short call


def availability(observations: pd.DataFrame, metrics: pd.DataFrame, metric_names=None) -> pd.DataFrame:
    """District × metric matrix: computed, reported without denominator, not reported.

    Rows are the district-level units found in ``observations``, in GSO code
    order (so a district
    that published nothing on these metrics still gets a row, as long as any
    figure, e.g. its population, is on file); columns are the metrics.

    Args:
        observations: Processed observations (``unit_code``, ``unit_label``,
            ``unit_level``).
        metrics: Metrics table of those observations.
        metric_names: Columns to show, in order (default: the metrics present).

    Returns:
        A DataFrame indexed by (``unit_code``, ``unit_label``), one column per
        metric, values from :data:`AVAILABILITY`: ``computed`` when some row
        is computable, ``reported without denominator`` when rows exist but
        none is computable (a printed value without a usable denominator or
        period), else ``not reported``.

    Examples:
        >>> obs = pd.DataFrame({"unit_code": ["614", "615", "62"], "unit_label": ["Kon Rẫy", "Đắk Hà", "Kon Tum"],
        ...     "unit_level": ["district", "district", "province"]})
        >>> met = pd.DataFrame({"unit_code": ["614", "615"], "metric": ["a", "a"], "computable": [True, False]})
        >>> availability(obs, met, metric_names=["a", "b"]).reset_index()
          unit_code unit_label                             a             b
        0       614    Kon Rẫy                      computed  not reported
        1       615     Đắk Hà  reported without denominator  not reported
    """
    districts = (observations.loc[observations["unit_level"].astype(str) == "district", ["unit_code", "unit_label"]]
                 .astype(str).drop_duplicates("unit_code").sort_values("unit_code"))
    names = list(pd.unique(metrics["metric"].astype(str))) if metric_names is None else list(metric_names)
    found = pd.DataFrame({"unit_code": metrics["unit_code"].astype(str).to_numpy(),
                          "metric": metrics["metric"].astype(str).to_numpy(),
                          "computable": _as_bool(metrics["computable"])})
    status = found.groupby(["unit_code", "metric"])["computable"].any().map(
        {True: AVAILABILITY[0], False: AVAILABILITY[1]})
    grid = pd.MultiIndex.from_product([districts["unit_code"], names], names=["unit_code", "metric"])
    matrix = (status.reindex(grid).fillna(AVAILABILITY[2]).unstack("metric")
              .reindex(index=districts["unit_code"], columns=names))
    matrix.index = pd.MultiIndex.from_arrays([districts["unit_code"], districts["unit_label"]])
    matrix.columns.name = None
    return matrix


def _unit_code(name, level: str, province=None) -> str:
    """A GSO code as given, or the code a name resolves to."""
    text = str(name).strip()
    if text.isdigit():
        return text
    from analysis.data.units import resolve_unit

    return resolve_unit(text, province=province, level=level)


def _provinces_of(region, units) -> list[str] | None:
    """The province codes of a region (units whose parent is the region); None for no region."""
    if region is None:
        return None
    if units is None or not len(units):
        raise UsageError(f"region {region!r} needs the unit table (a Dataset), not bare observations",
                         field="region")
    from analysis.data.units import resolve_unit

    code = str(region) if str(region) in set(units["unit_code"].astype(str)) else resolve_unit(
        str(region), level="region", units=units)
    members = units.loc[(units["level"].astype(str) == "province")
                        & (units["parent_code"].astype(str) == code), "unit_code"].astype(str).tolist()
    if not members:
        raise UsageError(f"region {region!r} has no provinces in the unit table", field="region")
    return members


def _period_window(period) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last day of a period given as a year, a date, or a pair of them.

    Examples:
        >>> [d.date().isoformat() for d in _period_window("2021")]
        ['2021-01-01', '2021-12-31']
        >>> [d.date().isoformat() for d in _period_window(("2020", "2022-06"))]
        ['2020-01-01', '2022-06-30']
    """
    if period is None:
        return None
    single = isinstance(period, (str, int))
    if not single and not (isinstance(period, (tuple, list)) and len(period) == 2):
        raise UsageError(f"period must be a year, a date or a pair of them; got {period!r}", field="period")
    first, last = (period, period) if single else period
    try:
        start = pd.Period(str(first)).start_time.normalize()
        end = pd.Period(str(last)).end_time.normalize()
    except (ValueError, TypeError) as err:
        raise UsageError(f"period must be a year, a date or a pair of them; got {period!r}",
                         field="period") from err
    if end < start:
        raise UsageError(f"period ends before it starts: {period!r}", field="period")
    return start, end


def _overlaps(metrics: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Whether each metric row's period (a stock's date is both ends) overlaps ``start``–``end``."""
    first = pd.to_datetime(metrics["period_start"], errors="coerce")
    last = pd.to_datetime(metrics["period_end"], errors="coerce")
    return (first.fillna(last) <= end) & (last.fillna(first) >= start)


def _roster(observations: pd.DataFrame, units, provinces) -> pd.DataFrame:
    """The districts to compare: from the unit table when there is one, else from the figures."""
    if units is not None and len(units):
        chosen = units[units["level"].astype(str) == "district"]
        if provinces is not None:
            chosen = chosen[chosen["parent_code"].astype(str).isin(provinces)]
        roster = pd.DataFrame({"unit_code": chosen["unit_code"].astype(str), "unit_label": chosen["name"].astype(str),
                               "province_code": chosen["parent_code"].astype(str)})
    else:
        chosen = observations[observations["unit_level"].astype(str) == "district"]
        roster = chosen[["unit_code", "unit_label", "province_code"]].astype(str)
    return roster.drop_duplicates("unit_code").sort_values("unit_code").reset_index(drop=True)


def _latest(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per unit × metric: computable first, then the latest period, then the largest base."""
    rows = _rows(metrics)
    ranked = metrics.assign(_valid=rows.valid, _base=np.nan_to_num(rows.base, nan=-1.0),
                            _end=pd.to_datetime(metrics["period_end"], errors="coerce"))
    ranked = ranked.sort_values(["_valid", "_end", "_base"], ascending=False, na_position="last", kind="stable")
    size = ranked.groupby(["unit_code", "metric"])["metric"].transform("size")
    ranked = ranked.assign(other_periods=size - 1)
    return ranked.drop_duplicates(["unit_code", "metric"]).drop(columns=["_valid", "_base", "_end"])


def compare_districts(data, *, province=None, region=None, districts=None, family="discipline",
                      benchmark="pooled", levels=(0.95, 0.998), polarity=None, conf_level=0.95, metrics=None,
                      period=None) -> pd.DataFrame:
    """Compare the districts of a province, a region or the country on one family of metrics.

    One row per district × metric of the family, whatever the district
    published: rows that cannot be compared stay, with ``comparison`` =
    ``not compared`` and ``comparison_reason`` saying why (``not reported``,
    ``no denominator``, ``period unknown`` ...). When a district has several
    periods of a metric, the computable row with the latest period end is
    used and ``other_periods`` counts the others. With ``period``, only rows
    whose date or period overlaps it are considered, so that districts are
    compared over a common time; a district whose figures all fall outside it
    keeps its row with ``comparison_reason`` ``no figure in the period``.

    Args:
        data: A Dataset (``.observations``, ``.units``) or processed
            observations.
        province: Province name (``"Kon Tum"``) or GSO code (``"62"``);
            None for every district (or those of ``region``).
        region: Region name or code from the unit table (``"Tây Nguyên"``,
            ``"R-TN"``): the districts of its provinces. Not with ``province``.
        districts: Optional district names or codes to keep.
        family: ``"coverage"``, ``"admissions"``, ``"discipline"``, or None for all.
        benchmark: ``"pooled"`` (over the compared districts), a number in
            display units (e.g. a national rate), or a mapping metric → number.
        levels: Inner and outer confidence levels of the classification.
        polarity: Optional mapping metric → ``"higher is better"`` /
            ``"lower is better"``.
        conf_level: Level of the metrics' and shrunken intervals.
        metrics: A metrics table already computed from ``data`` (e.g. the
            processed ``metrics.csv``); computed when None.
        period: None for each district's latest period, or the time to
            compare within: a year (``"2021"``), a pair of dates or years
            (``("2020", "2022-06-30")``; a year stands for its whole span).

    Returns:
        The metrics columns plus ``kind``, ``label_en``, ``label_vi``,
        ``other_periods``, the :func:`classify` columns and the :func:`shrink`
        columns, in the order of the metric definitions, then districts by GSO code.

    Raises:
        UsageError: For an unknown family or benchmark, a district outside
            the province or region, both ``province`` and ``region``, or a
            period that is not a year, a date or a pair of them.
        UnknownUnitError: For a province or district name that resolves to
            no unit.

    Examples:
        Kon Rẫy's published figures, and illustrative ones for two other
        districts (Sa Thầy publishes only its membership):

        >>> obs = pd.DataFrame({"obs_id": ["O1", "O2", "O3", "O4", "O5"],
        ...     "unit_code": ["614", "614", "615", "615", "616"],
        ...     "unit_label": ["Kon Rẫy", "Kon Rẫy", "Đắk Hà", "Đắk Hà", "Sa Thầy"],
        ...     "unit_level": "district", "province_code": "62",
        ...     "indicator": ["disciplined_members", "party_members"] * 2 + ["party_members"],
        ...     "value": [22, 1639, 12, 3362, 1800],
        ...     "as_of": [None, "2021-06-20", None, "2023-06-30", "2023-06-30"],
        ...     "period_start": ["2020-01-01", None, "2021-01-01", None, None],
        ...     "period_end": ["2021-08-23", None, "2023-06-30", None, None]})
        >>> table = compare_districts(obs, province="62", family="discipline")
        >>> table[["unit_label", "estimate", "benchmark", "comparison", "comparison_reason"]].round(2)
          unit_label  estimate  benchmark    comparison comparison_reason
        0    Kon Rẫy      8.16       3.07   much higher               NaN
        1     Đắk Hà      1.43       3.07         lower               NaN
        2    Sa Thầy       NaN       3.07  not compared      not reported
    """
    from analysis.stats.metrics import compute_metrics, metric_definitions

    observations = getattr(data, "observations", data)
    units = getattr(data, "units", None)
    if province is not None and region is not None:
        raise UsageError("give a province or a region, not both", field="region")
    code = None if province is None else _unit_code(province, "province")
    provinces = [code] if code is not None else _provinces_of(region, units)
    if provinces is not None:
        observations = observations[observations["province_code"].astype(str).isin(provinces)]
    roster = _roster(observations, units, provinces)
    window = _period_window(period)
    if districts is not None:
        wanted = {_unit_code(name, "district", province=province): name for name in districts}
        outside = [name for unit, name in wanted.items() if unit not in set(roster["unit_code"])]
        if outside:
            where = f"province {code}" if code else (f"region {region}" if region is not None else "the data")
            raise UsageError(f"{outside[0]!r} is not a district of {where}", field="districts")
        roster = roster[roster["unit_code"].isin(wanted)]
    definitions = metric_definitions()
    if family is not None:
        known = sorted(pd.unique(definitions["family"].astype(str)))
        if family not in known:
            raise UsageError(f"unknown family {family!r}; use one of {', '.join(known)}", field="family")
        definitions = definitions[definitions["family"].astype(str) == family]
    if isinstance(benchmark, str):
        if benchmark != "pooled":
            raise UsageError(f"benchmark must be 'pooled', a number or a mapping; got {benchmark!r}",
                             field="benchmark")
        benchmark = None
    if metrics is None:
        metrics = compute_metrics(observations, families=None if family is None else [family],
                                  conf_level=conf_level)
    metrics = metrics[metrics["unit_code"].astype(str).isin(roster["unit_code"])
                      & metrics["metric"].astype(str).isin(definitions["metric"].astype(str))]
    metrics = metrics.assign(unit_code=metrics["unit_code"].astype(str))
    outside = pd.Index([])
    if window is not None:
        inside = _overlaps(metrics, *window)
        outside = pd.MultiIndex.from_frame(metrics.loc[~inside, ["unit_code", "metric"]].astype(str))
        metrics = metrics[inside]
    metrics = _latest(metrics)
    defs = definitions[["metric", "family", "kind", "multiplier", "label_en", "label_vi"]].astype(
        {"metric": str, "family": str, "kind": str})
    grid = defs.merge(roster, how="cross")
    taken = set(grid.columns) - {"unit_code", "metric"}
    table = grid.merge(metrics[[c for c in metrics.columns if c not in taken]], on=["unit_code", "metric"],
                       how="left")
    reported = table["computable"].notna()
    table["computable"] = _as_bool(table["computable"].where(reported, False))
    elsewhere = pd.MultiIndex.from_frame(table[["unit_code", "metric"]].astype(str)).isin(outside)
    table["reason"] = table["reason"].where(reported, np.where(elsewhere, "no figure in the period", "not reported"))
    table["other_periods"] = table["other_periods"].fillna(0).astype(int)
    table = shrink(classify(table, benchmark=benchmark, levels=levels, polarity=polarity), conf_level=conf_level)
    order = ["unit_code", "unit_label", "province_code", "family", "metric", "label_en", "label_vi", "kind"]
    return table[order + [c for c in table.columns if c not in order]].reset_index(drop=True)
