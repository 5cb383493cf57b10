"""Classify districts against a benchmark: the peers' comparers, on counts, intervals or a table.

Three ways to decide whether a district differs from a benchmark, each named
after the peer it follows (formulas and differences: ``docs/methods.md``):

* ``method="interval"`` (PHEindicatormethods ``assign_funnel_significance``):
  the benchmark against the district's own interval, Wilson for shares and
  exact Poisson for rates (``rate_method="phe"``: exact below 10 events and
  Byar's from 10, as PHE and Fingertips). A benchmark on a bound counts as
  inside. Points outside the ``"phe"`` funnel limits are exactly the ones
  this calls higher or lower.
* ``method="spc"`` (Fingertips ``SpcForProportionsComparer`` and
  ``SpcForDsrComparer``): the district's value against control limits
  centred on the benchmark's expected count E = benchmark × n: Wilson limits
  of E out of n for shares; for rates the exact Poisson lower limit of
  ceil(E) and upper limit of floor(E) events, as Fingertips' bisection finds
  them. A value on a limit is ``similar``.
* :func:`compare_intervals` (Fingertips' CI-overlap comparers): a published
  value and interval, without counts: the benchmark inside the interval
  (one or two levels), or the two intervals overlapping.

With two levels (inner, outer) the labels are ``similar``, ``higher`` /
``lower`` (outside the inner level only) and ``much higher`` / ``much lower``
(outside the outer level too); with one level only the first three.
A polarity renames them better/worse (:data:`POLARITIES`; Fingertips'
``RagLowIsGood`` is ``"lower is better"``, ``RagHighIsGood`` is
``"higher is better"``, ``BlueOrangeBlue`` is None).

Examples:
    7 events over 616,282 people against a benchmark of 2.133 per 100,000
    (Fingertips' SpcForDsrComparerTest): the benchmark lies inside the area's
    own interval, but the area lies below the benchmark's control limit.

    >>> compare_counts(7, 616282, 2.133, kind="rate", multiplier=1e5, conf_level=95)
    'similar'
    >>> compare_counts(7, 616282, 2.133, kind="rate", multiplier=1e5, conf_level=95, method="spc",
    ...                polarity="lower is better")
    'better'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import InputError, UsageError
from analysis.stats.intervals import _exact, _LIMITS, conf_levels, deprecated
from analysis.stats.table import pool_keys, pooled_values, read_rows

#: How a polarity renames the neutral labels.
POLARITIES = {
    "higher is better": {
        "much higher": "much better",
        "higher": "better",
        "lower": "worse",
        "much lower": "much worse",
    },
    "lower is better": {"much higher": "much worse", "higher": "worse", "lower": "better", "much lower": "much better"},
}
#: Classification methods for counts: the peer each follows.
METHODS = {
    "interval": "PHEindicatormethods assign_funnel_significance (benchmark in the district's interval)",
    "spc": "Fingertips SpcForProportionsComparer / SpcForDsrComparer (value in the benchmark's limits)",
}
RATE_METHODS = ("exact", "phe")
NOT_COMPARED = "not compared"


def check_levels(levels) -> tuple[float, float]:
    """Deprecated: use :func:`analysis.stats.intervals.conf_levels` with ``count=2``.

    Examples:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     check_levels([95, 99.8])
        (0.95, 0.998)
    """
    deprecated("check_levels(levels)", "conf_levels(conf_level, count=2)")
    return conf_levels(levels, count=2, field="levels")


def _polarity(labels: np.ndarray, polarity) -> np.ndarray:
    if polarity is None:
        return labels
    if polarity not in POLARITIES:
        raise UsageError(f"polarity must be None or one of {sorted(POLARITIES)}; got {polarity!r}", field="polarity")
    return pd.Series(labels, dtype=object).replace(POLARITIES[polarity]).to_numpy(dtype=object)


def _labels(above: list[np.ndarray], below: list[np.ndarray], compared: np.ndarray) -> np.ndarray:
    """Labels from the levels exceeded, inner first: similar, higher/lower, much higher/much lower."""
    much = len(above) > 1
    return np.select(
        [~compared, above[-1] & much, below[-1] & much, above[0], below[0]],
        [NOT_COMPARED, "much higher", "much lower", "higher", "lower"],
        default="similar",
    ).astype(object)


def _limits(count, base, raw_bench, kind, level, method, rate_method):
    """Per row, the limits the decision uses: the district's interval, or the benchmark's control limits."""
    share = kind == "share"
    lower, upper = np.full(len(count), np.nan), np.full(len(count), np.nan)
    with np.errstate(invalid="ignore"):
        if method == "interval":
            for mask, name in ((share, "wilson"), (~share, rate_method)):
                if mask.any():
                    lower[mask], upper[mask] = _LIMITS[name](count[mask], base[mask], level)
            return lower, upper
        expected = raw_bench * base
        if share.any():
            lower[share], upper[share] = _LIMITS["wilson"](expected[share], base[share], level)
        rate = ~share
        if rate.any():
            lower[rate] = _exact(np.ceil(expected[rate]), base[rate], level)[0]
            upper[rate] = _exact(np.floor(expected[rate]), base[rate], level)[1]
    return lower, upper


def _decide(count, base, bench, multiplier, kind, levels, method, rate_method, valid):
    """Labels and the per-level limits (display units) for arrays of rows."""
    if method not in METHODS:
        raise UsageError(f"unknown classification method {method!r}; use one of {', '.join(METHODS)}", field="method")
    if rate_method not in RATE_METHODS:
        raise UsageError(
            f"unknown rate_method {rate_method!r}; use one of {', '.join(RATE_METHODS)}", field="rate_method"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        value = count / base * multiplier
        raw_bench = bench / multiplier
    compared = valid & ~np.isnan(bench)
    above, below, limits = [], [], []
    for level in levels:  # compared in display units, as printed
        lower, upper = (
            limit * multiplier for limit in _limits(count, base, raw_bench, kind, level, method, rate_method)
        )
        with np.errstate(invalid="ignore"):
            if method == "interval":
                above.append(bench < lower)
                below.append(bench > upper)
            else:
                above.append(value > upper)
                below.append(value < lower)
        limits.append((lower, upper))
    return _labels(above, below, compared), limits


def _kind_array(kind, shape) -> np.ndarray:
    names = {"share": "share", "proportion": "share", "rate": "rate", "ratio": "rate"}
    if kind not in names:
        raise UsageError(f"unknown kind {kind!r}; use 'proportion' (or 'share'), 'rate' or 'ratio'", field="kind")
    return np.full(shape, names[kind], dtype=object)


def _shaped_labels(labels: np.ndarray, like, scalar: bool):
    if scalar:
        return str(labels.reshape(-1)[0])
    if like is not None:
        return pd.Series(labels, index=like.index, dtype=object)
    return labels


def compare_counts(
    x,
    n,
    benchmark,
    *,
    kind: str = "proportion",
    conf_level=(0.95, 0.998),
    method: str = "interval",
    rate_method: str = "exact",
    multiplier: float = 1.0,
    polarity=None,
):
    """Classify ``x`` out of ``n`` against a benchmark: scalars, arrays or Series.

    Args:
        x: Successes or events (a number, an array or a Series).
        n: Denominators (proportions), exposures (rates) or expected counts
            (ratios O/E, with a benchmark of 1 × multiplier).
        benchmark: The benchmark in display units (a number or one per row).
        kind: ``proportion`` (alias ``share``), ``rate`` or ``ratio``.
        conf_level: One or two levels (fractions 0.9–1 or percents 90–100).
        method: ``interval`` (PHE) or ``spc`` (Fingertips); see the module
            docstring.
        rate_method: Interval of rates for ``method="interval"``: ``exact``
            or ``phe`` (exact below 10 events, Byar's from 10, as Fingertips).
        multiplier: Display scale of the benchmark.
        polarity: None, ``"higher is better"`` or ``"lower is better"``.

    Returns:
        The label (a str for scalar input), an array of labels, or a Series
        with the index of ``x``. Rows without a valid count or base are
        ``not compared``.

    Raises:
        UsageError: Unknown kind, method, rate method or polarity; bad levels.

    Examples:
        >>> import pandas as pd
        >>> compare_counts(pd.Series([4, 30, 12], index=["A", "B", "C"]), [27, 60, 40], 28.3, multiplier=100)
        A         similar
        B    much higher
        C         similar
        dtype: object
    """
    levels = conf_levels(conf_level)
    scalar = np.ndim(x) == 0 and np.ndim(n) == 0 and np.ndim(benchmark) == 0
    like = x if isinstance(x, pd.Series) else (n if isinstance(n, pd.Series) else None)
    count, base, bench = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, n, benchmark))
    count, base, bench = np.broadcast_arrays(count, base, bench)
    kinds = _kind_array(kind, count.shape)
    with np.errstate(invalid="ignore"):
        valid = (count >= 0) & (base > 0) & ((kinds != "share") | (count <= base))
    labels, _ = _decide(
        count.ravel(),
        base.ravel(),
        bench.ravel(),
        float(multiplier),
        kinds.ravel(),
        levels,
        method,
        rate_method,
        valid.ravel(),
    )
    return _shaped_labels(_polarity(labels, polarity).reshape(count.shape), like, scalar)


def compare_intervals(
    value,
    lower,
    upper,
    benchmark,
    *,
    lower_outer=None,
    upper_outer=None,
    benchmark_lower=None,
    benchmark_upper=None,
    polarity=None,
):
    """Classify published values with their intervals against a benchmark (Fingertips' CI-overlap comparers).

    * One interval (``SingleOverlappingCIsForOneCILevelComparer``): the
      benchmark inside ``[lower, upper]`` (bounds included) is ``similar``;
      otherwise ``higher`` or ``lower`` by the value's side of the benchmark.
    * Two intervals (``lower_outer``/``upper_outer``,
      ``SingleOverlappingCIsForTwoCILevelsComparer``): ``similar`` inside the
      inner one, ``higher``/``lower`` inside the outer one only,
      ``much higher``/``much lower`` beyond it.
    * The benchmark's own interval (``benchmark_lower``/``benchmark_upper``,
      ``DoubleOverlappingCIsComparer``): ``similar`` when the two intervals
      overlap (touching counts), otherwise by the value's side.

    Missing values or intervals give ``not compared`` (Fingertips' ``None``).

    Args:
        value: Published values (a number, an array or a Series).
        lower: Lower limits of the (inner) interval.
        upper: Upper limits of the (inner) interval.
        benchmark: The benchmark value(s), same units.
        lower_outer: Lower limits of the outer interval, for two levels.
        upper_outer: Upper limits of the outer interval.
        benchmark_lower: Lower limit of the benchmark's interval (overlap).
        benchmark_upper: Upper limit of the benchmark's interval.
        polarity: None, ``"higher is better"`` or ``"lower is better"``.

    Returns:
        Labels in the shape of ``value`` (a str for a scalar).

    Raises:
        UsageError: An unknown polarity, or only one side of an interval.

    Examples:
        >>> compare_intervals(3.3, 3.2, 3.5, 3.0, polarity="lower is better")
        'worse'
        >>> compare_intervals(2.6, 2.5, 2.7, 2.2, lower_outer=2.3, upper_outer=2.9)
        'much higher'
        >>> compare_intervals(4.0, 3.5, 4.5, 3.0, benchmark_lower=2.7, benchmark_upper=3.6)
        'similar'
    """
    if (lower_outer is None) != (upper_outer is None) or (benchmark_lower is None) != (benchmark_upper is None):
        raise UsageError("give both limits of an interval, or neither", field="lower_outer")
    scalar = np.ndim(value) == 0
    like = value if isinstance(value, pd.Series) else None
    arrays = [value, lower, upper, benchmark, lower_outer, upper_outer, benchmark_lower, benchmark_upper]
    arrays = [np.nan if a is None else a for a in arrays]
    v, lo, up, b, lo2, up2, blo, bup = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float)) for a in arrays))
    with np.errstate(invalid="ignore"):
        higher = v > b
        if benchmark_lower is not None:
            compared = ~np.isnan(v + lo + up + b + blo + bup)
            overlap = np.where(b < v, lo <= bup, blo <= up)
            above, below = [higher & ~overlap], [~higher & ~overlap]
        else:
            compared = ~np.isnan(v + lo + up + b)
            outside = (b < lo) | (b > up)
            above, below = [higher & outside], [~higher & outside]
            if lower_outer is not None:
                compared &= ~np.isnan(lo2 + up2)
                beyond = (b < lo2) | (b > up2)
                above.append(higher & beyond)
                below.append(~higher & beyond)
    labels = _polarity(_labels(above, below, compared), polarity).reshape(v.shape)
    return _shaped_labels(labels, like, scalar)


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
    if "basis" in metrics and metrics.loc[metrics["metric"] == metric, "basis"].fillna("").nunique() > 1:
        raise UsageError(
            f"metric {metric!r} pools apart by basis; use classify, which gives each row its pool", field="metric"
        )
    pooled = pooled_values(metrics.drop(columns="basis", errors="ignore"), read_rows(metrics))
    return float(pooled.get(f"{metric}|", np.nan))


def classify(
    metrics: pd.DataFrame,
    benchmark=None,
    conf_level=(0.95, 0.998),
    polarity=None,
    *,
    method: str = "interval",
    rate_method: str = "exact",
    levels=None,
) -> pd.DataFrame:
    """Classify each row of a metrics table against a benchmark, at one or two levels.

    With ``method="interval"`` (default): the benchmark inside the row's
    inner (95%) interval is ``similar``; outside it but inside the outer
    (99.8%) interval ``higher`` or ``lower``; outside both ``much higher`` or
    ``much lower``. Intervals are recomputed from the counts: Wilson for
    shares, exact Poisson for rates (``rate_method="phe"``: Byar's from 10
    events, as Fingertips). With ``method="spc"``, Fingertips' SPC comparers:
    the row's value against the benchmark's control limits (module
    docstring). Rows without a valid count and base are ``not compared`` and
    ``comparison_reason`` says why.

    Args:
        metrics: Metrics table; a ``kind`` column (``share``/``rate``/``ratio``)
            is used when present, otherwise rows with an exposure are rates and
            rows with a denominator shares.
        benchmark: None for the pooled value of each metric over the rows
            given (a metric with a single comparable row is then not
            compared: the pool would be that row); a number (display units)
            for every metric; or a mapping metric → number, the other metrics
            pooled.
        conf_level: One or two levels, inner then outer (fractions 0.9–1 or
            percents 90–100).
        polarity: Optional mapping metric → ``"higher is better"`` or
            ``"lower is better"``; those metrics get better/worse labels
            instead of the neutral higher/lower.
        method: ``"interval"`` (PHE) or ``"spc"`` (Fingertips).
        rate_method: ``"exact"`` or ``"phe"`` (exact below 10 events, Byar's
            from 10) for rate intervals with ``method="interval"``.
        levels: Deprecated name of ``conf_level``.

    Returns:
        A copy of ``metrics`` with ``kind`` (when it had none: ``share``,
        ``rate`` or ``unknown``), ``benchmark``, ``benchmark_source``
        (``pooled``/``given``), ``lower_inner``, ``upper_inner``,
        ``lower_outer``, ``upper_outer`` (display units: the row's interval,
        or with ``spc`` the benchmark's control limits at the row's base;
        the outer ones NaN with one level), ``comparison`` and
        ``comparison_reason`` (empty for compared rows).

    Raises:
        InputError: The table has no ``metric`` or no ``multiplier`` column.
        UsageError: For bad levels, a non-numeric benchmark, an unknown
            method or polarity.

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
    if levels is not None:
        deprecated("classify(levels=...)", "classify(conf_level=...)")
        conf_level = levels
    chosen = conf_levels(conf_level)
    if "multiplier" not in metrics:
        raise InputError(
            "the metrics table has no 'multiplier' column: give the display scale of each row "
            "(1 for fractions, 100 for percent, 1000 for per 1,000)",
            field="multiplier",
        )
    out = metrics.copy()
    rows = read_rows(out)
    metric = out["metric"].astype(str)
    keys = pool_keys(out)
    bench = keys.map(pooled_values(out, rows)).to_numpy(float)
    source = np.full(len(out), "pooled", dtype=object)
    if benchmark is not None:
        given = benchmark if isinstance(benchmark, dict) else dict.fromkeys(metric.unique(), benchmark)
        try:
            values = metric.map({k: float(v) for k, v in given.items()}).to_numpy(float)
        except (TypeError, ValueError):
            raise UsageError(
                f"benchmark must be a number or a mapping metric -> number; got {benchmark!r}", field="benchmark"
            ) from None
        has = ~np.isnan(values)
        bench = np.where(has, values, bench)
        source = np.where(has, "given", source)
    comparable = pd.Series(rows.valid).groupby(keys.to_numpy()).transform("sum").to_numpy()
    alone = (source == "pooled") & rows.valid & (comparable < 2)
    bench = np.where(alone, np.nan, bench)
    kind = np.where(rows.kind == "share", "share", "rate").astype(object)
    comparison, limits = _decide(
        rows.count, rows.base, bench, rows.multiplier, kind, chosen, method, rate_method, rows.valid
    )
    if len(limits) == 1:
        limits.append((np.full(len(out), np.nan), np.full(len(out), np.nan)))
    (lower_in, upper_in), (lower_out, upper_out) = limits
    invalid = ~rows.valid
    for array in (lower_in, upper_in, lower_out, upper_out):
        array[invalid] = np.nan
    reason = np.select(
        [alone, rows.valid & np.isnan(bench)],
        [
            "the only comparable district: a pooled benchmark would be its own value; give a benchmark",
            "no benchmark given for this metric",
        ],
        default=rows.reason,
    )
    comparison = pd.Series(comparison, index=out.index, dtype=object)
    for name, direction in (polarity or {}).items():
        if direction not in POLARITIES:
            raise UsageError(
                f"polarity of {name!r} must be one of {sorted(POLARITIES)}; got {direction!r}", field="polarity"
            )
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
