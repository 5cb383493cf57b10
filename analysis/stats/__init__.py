"""Statistics of the district comparisons: one public surface, each method named after its peer.

Names are the same everywhere: ``x`` out of ``n`` (successes or events over
a denominator, an exposure, or an expected count for ratios O/E),
``conf_level`` (one or two levels, each a fraction from 0.9 to 1 or a
percent from 90 to 100, as PHEindicatormethods reads them), ``multiplier``
(the display scale: 100 for percent, 1000 for per 1,000). Scalars in give
scalars out; arrays and Series give arrays and Series of the same shape;
``tidy=True`` gives a table. Formulas, peers and every deliberate
difference: ``docs/methods.md``.

=====================  ==========================================================
intervals              :func:`wilson`, :func:`exact`, :func:`byar`, :func:`interval`
                       (``method="wilson" | "beta" | "exact" | "byar" | "phe"``),
                       :func:`conf_levels`
funnels                :func:`funnel_limits` (``method="phe" | "funnelplotr" | "exact"
                       | "approx"``, ``scale="log" | "sqrt"``, ``overdispersion=
                       "additive" | "multiplicative" | None``), :func:`overdispersion`
classification         :func:`compare_counts` (``method="interval" | "spc"``),
                       :func:`compare_intervals` (Fingertips' CI overlap),
                       :func:`classify` (a metrics table), :func:`pooled_benchmark`
shrinkage, ranks       :func:`shrink`, :func:`rank_intervals`
districts              :func:`compute_metrics`, :func:`compare_districts`,
                       :func:`availability`, :func:`pairwise_tests`, :func:`all_district_test`
=====================  ==========================================================

Re-exports are lazy, so ``import analysis.stats`` loads nothing heavy.

Examples:
    Wilson and Byar intervals, a funnel and a classification for a district
    table, in four lines:

    >>> import pandas as pd
    >>> from analysis import stats
    >>> t = pd.DataFrame({"x": [4, 30, 12], "n": [27, 60, 40], "events": [22, 5, 9],
    ...                   "member_years": [2458.5, 2100.0, 1800.0]}, index=["Kon Rẫy", "Đắk Hà", "Sa Thầy"])
    >>> share = stats.wilson(t["x"], t["n"], multiplier=100)
    >>> rate = stats.byar(t["events"], t["member_years"], multiplier=1000)
    >>> funnel = stats.funnel_limits(share.value.mean(), t["n"], method="phe", multiplier=100)
    >>> label = stats.compare_counts(t["x"], t["n"], benchmark=46 / 127 * 100, multiplier=100)
    >>> pd.DataFrame({"share": share.value, "lower": share.lower, "rate_upper": rate.upper,
    ...               "label": label}).round(2)
             share  lower  rate_upper    label
    Kon Rẫy  14.81   5.92       13.55    lower
    Đắk Hà   50.00  37.74        5.56   higher
    Sa Thầy  30.00  18.07        9.49  similar

    The same calls on scalars give scalars:

    >>> stats.wilson(4, 27, multiplier=100).lower.__round__(2)
    5.92
    >>> stats.compare_counts(4, 27, benchmark=46 / 127 * 100, multiplier=100)
    'lower'
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Interval": "intervals",
    "interval": "intervals",
    "wilson": "intervals",
    "exact": "intervals",
    "byar": "intervals",
    "conf_levels": "intervals",
    "funnel_limits": "funnels",
    "overdispersion": "funnels",
    "Overdispersion": "funnels",
    "classify": "classification",
    "compare_counts": "classification",
    "compare_intervals": "classification",
    "pooled_benchmark": "classification",
    "POLARITIES": "classification",
    "shrink": "shrinkage",
    "rank_intervals": "shrinkage",
    "compare_districts": "comparison",
    "availability": "comparison",
    "pairwise_tests": "comparison",
    "all_district_test": "comparison",
    "compute_metrics": "metrics",
    "metric_definitions": "metrics",
    "severity_mix": "metrics",
    "nearest_stock": "metrics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"analysis.stats.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'analysis.stats' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
