"""Confidence intervals of a proportion or a count: Wilson, Clopper–Pearson, exact Poisson, Byar.

One signature for every method: ``x`` events or successes out of ``n``
(the denominator, the exposure, or the expected count of a ratio O/E),
``conf_level`` (one or two levels, read as PHEindicatormethods reads them:
a fraction from 0.9 to 1 or a percent from 90 to 100), ``multiplier`` (the
display scale: 100 for percent, 1000 for per 1,000). Scalars in give
floats out; arrays give arrays and Series give Series of the same shape
and index; ``tidy=True`` gives a DataFrame with the value and the limits.

Formulas (PHEindicatormethods v2.1.0, ``R/utils.R``; z = Φ⁻¹(c + (1 − c)/2)):

* **Wilson** (``wilson_lower``/``wilson_upper``, l.184 and l.248):
  (2x + z² ∓ z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²)). At level 1 PHE
  returns 0 and 1; so do we (vectorised, where PHE returns one scalar).
* **Clopper–Pearson** (``beta``): beta quantiles (statsmodels
  ``proportion_confint(method="beta")``); no peer in PHE.
* **Exact Poisson** (Garwood; ``phe_rate`` below 10 events, Rates.R:102):
  χ²((1−c)/2; 2x)/2 and χ²(c + (1−c)/2; 2x + 2)/2, divided by n. At level 1:
  0 and ∞.
* **Byar** (``byars_lower``/``byars_upper``, l.67 and l.123):
  x·(1 − 1/(9x) − z/(3·sqrt(x)))³ and (x+1)·(1 − 1/(9(x+1)) + z/(3·sqrt(x+1)))³,
  divided by n; a negative lower limit is missing, as in PHE. At level 1:
  missing and ∞.
* **phe**: PHE's and Fingertips' rule for rates and ratios: exact below 10
  events, Byar from 10.

Examples:
    >>> low, upp = byar(22, 2458.5, multiplier=1000)[1:]
    >>> round(low, 2), round(upp, 2)
    (5.61, 13.55)
    >>> wilson([4, 30], [27, 60], multiplier=100, tidy=True).round(2)
          x     n  value  lower  upper  conf_level  multiplier  method
    0   4.0  27.0  14.81   5.92  32.48        0.95       100.0  wilson
    1  30.0  60.0  50.00  37.74  62.26        0.95       100.0  wilson
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.errors import UsageError

#: Interval methods of :func:`interval`: the peer each follows.
METHODS = {
    "wilson": "Wilson score (PHEindicatormethods wilson_lower/wilson_upper)",
    "beta": "Clopper-Pearson (statsmodels proportion_confint, method='beta')",
    "exact": "exact Poisson (Garwood; PHEindicatormethods below 10 events)",
    "byar": "Byar's approximation (PHEindicatormethods byars_lower/byars_upper)",
    "phe": "exact Poisson below 10 events, Byar's from 10 (PHEindicatormethods phe_rate, Fingertips)",
}
#: Events from which the ``phe`` method uses Byar's approximation.
BYAR_FROM = 10


class Interval(NamedTuple):
    """A point estimate and its limits, in display units (``x / n × multiplier``)."""

    value: object
    lower: object
    upper: object


def conf_levels(conf_level, *, count=None, field="conf_level") -> tuple[float, ...]:
    """One or two confidence levels as fractions, read as PHEindicatormethods reads them.

    Each level is a fraction from 0.9 to 1 or a percent from 90 to 100
    (divided by 100); two levels must increase (inner, then outer).
    Deliberate difference: PHE accepts two levels only as exactly
    ``c(0.95, 0.998)``; any increasing pair is accepted here, in percent too.

    Args:
        conf_level: A number, or a list or tuple of one or two numbers.
        count: 1 or 2 to require that many levels; None for either.
        field: Parameter name for the error message.

    Returns:
        The levels as a tuple of fractions.

    Raises:
        UsageError: Not numbers, outside the ranges, not increasing, or not
            ``count`` of them.

    Examples:
        >>> conf_levels(95)
        (0.95,)
        >>> conf_levels([95, 99.8])
        (0.95, 0.998)
        >>> conf_levels(0.8)
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: conf_level: must be one or two confidence levels (inner then outer),
        each a fraction from 0.9 to 1 or a percent from 90 to 100, e.g. [0.95, 0.998]; got 0.8
    """
    values = list(conf_level) if isinstance(conf_level, (list, tuple, np.ndarray, pd.Series)) else [conf_level]
    ok = 1 <= len(values) <= 2 and all(
        isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in values
    )
    levels = ()
    if ok:
        levels = tuple(float(v) / 100 if 90 <= float(v) <= 100 else float(v) for v in values)
        ok = all(0.9 <= v <= 1 for v in levels) and all(a < b for a, b in zip(levels, levels[1:]))
    if ok and count is not None:
        ok = len(levels) == count
    if not ok:
        what = {1: "one confidence level,", 2: "two confidence levels, inner then outer, each"}.get(
            count, "one or two confidence levels (inner then outer), each"
        )
        raise UsageError(
            f"must be {what} a fraction from 0.9 to 1 or a percent from 90 to 100, "
            f"e.g. {'0.95' if count == 1 else '[0.95, 0.998]'}; got {conf_level!r}",
            field=field,
        )
    return levels


def z_value(conf_level: float) -> float:
    """The two-sided normal quantile Φ⁻¹(c + (1 − c)/2) of one level (∞ at level 1).

    Examples:
        >>> round(z_value(0.95), 6), round(z_value(99.8), 6)
        (1.959964, 3.090232)
    """
    from scipy.stats import norm

    (level,) = conf_levels(conf_level, count=1)
    return float(norm.ppf(level + (1 - level) / 2))


def deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is renamed ``new`` (DeprecationWarning, attributed to the caller's caller)."""
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=stacklevel)


# --------------------------------------------------------------------------
# the limits, on arrays of fractions or counts per unit of n


def _wilson(x, n, level):
    if level == 1:
        return np.where(np.isnan(x + n), np.nan, 0.0), np.where(np.isnan(x + n), np.nan, 1.0)
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = z * np.sqrt(z**2 + 4 * x * (1 - x / n))
        bad = (x < 0) | (n <= 0) | (x > n)
        return (
            np.where(bad, np.nan, (2 * x + z**2 - root) / (2 * (n + z**2))),
            np.where(bad, np.nan, (2 * x + z**2 + root) / (2 * (n + z**2))),
        )


def _beta(x, n, level):
    from statsmodels.stats.proportion import proportion_confint

    bad = (x < 0) | (n <= 0) | (x > n) | np.isnan(x + n)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, upp = proportion_confint(np.where(bad, 0, x), np.where(bad, 1, n), alpha=1 - level, method="beta")
    return np.where(bad, np.nan, low), np.where(bad, np.nan, upp)


def _exact(x, n, level):
    from scipy.stats import chi2

    with np.errstate(invalid="ignore", divide="ignore"):
        bad = (x < 0) | (n <= 0)
        low = np.where(x == 0, 0.0, chi2.ppf((1 - level) / 2, 2 * x) / 2)
        upp = chi2.ppf(level + (1 - level) / 2, 2 * x + 2) / 2
        return np.where(bad, np.nan, low / n), np.where(bad, np.nan, upp / n)


def _byar(x, n, level):
    z = z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = (x < 0) | (n <= 0)
        low = x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3
        upp = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3
        low = np.where(low < 0, np.nan, low)  # PHE: a negative lower limit is NA
        return np.where(bad, np.nan, low / n), np.where(bad, np.nan, upp / n)


def _phe(x, n, level):
    exact, byar_ = _exact(x, n, level), _byar(x, n, level)
    small = x < BYAR_FROM
    return np.where(small, exact[0], byar_[0]), np.where(small, exact[1], byar_[1])


_LIMITS = {"wilson": _wilson, "beta": _beta, "exact": _exact, "byar": _byar, "phe": _phe}


def method_of(x, method: str) -> np.ndarray:
    """The method each count actually used: ``phe`` resolves to ``exact`` or ``byar``.

    Examples:
        >>> method_of([3, 10], "phe").tolist()
        ['exact', 'byar']
    """
    x = np.asarray(x, dtype=float)
    if method != "phe":
        return np.full(x.shape, method, dtype=object)
    return np.where(x < BYAR_FROM, "exact", "byar").astype(object)


# --------------------------------------------------------------------------
# the public functions


def _shaped(values: np.ndarray, like):
    """Values in the shape of the input: float for scalars, Series with its index, else an array."""
    if like is None:
        return float(values) if np.ndim(values) == 0 else values
    return pd.Series(np.asarray(values, dtype=float), index=like.index, name=None)


def interval(x, n=1.0, conf_level=0.95, *, method: str = "wilson", multiplier: float = 1.0, tidy: bool = False):
    """Value and confidence interval of ``x`` out of ``n``, by the named method.

    Args:
        x: Successes or events: a number, an array or a Series.
        n: Denominator, exposure or expected count (same shape, or a number).
            For Poisson methods the default 1 gives limits for the count.
        conf_level: One level (or two with ``tidy=True``), a fraction from
            0.9 to 1 or a percent from 90 to 100.
        method: ``wilson``, ``beta`` (proportions), ``exact``, ``byar`` or
            ``phe`` (counts, rates and ratios O/E); see :data:`METHODS`.
        multiplier: Display scale of the value and the limits.
        tidy: Return a DataFrame, one row per input and level, with ``x``,
            ``n``, ``value``, ``lower``, ``upper``, ``conf_level``,
            ``multiplier`` and ``method`` (for ``phe``: the one used).

    Returns:
        An :class:`Interval` ``(value, lower, upper)`` of floats for scalar
        input, arrays for arrays, Series (with the index of ``x``, or of
        ``n``) for Series; or the tidy DataFrame. Invalid rows (negative
        counts, n ≤ 0, x > n for proportions, missing input) give NaN.

    Raises:
        UsageError: An unknown method, a bad level, or two levels without
            ``tidy=True``.

    Examples:
        >>> interval(7, 616282, method="phe", multiplier=1e5).lower.__round__(3)
        0.457
        >>> import pandas as pd
        >>> interval(pd.Series([3, 40], index=["A", "B"]), 1000, 99.8, method="phe", multiplier=1000).upper.round(2)
        A    13.06
        B    63.69
        dtype: float64
    """
    if method not in METHODS:
        raise UsageError(f"unknown interval method {method!r}; use one of {', '.join(METHODS)}", field="method")
    levels = conf_levels(conf_level)
    if len(levels) > 1 and not tidy:
        raise UsageError("two levels give two intervals: pass tidy=True for a table of both", field="conf_level")
    like = x if isinstance(x, pd.Series) else (n if isinstance(n, pd.Series) else None)
    xs, ns = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, dtype=float))
    multiplier = float(multiplier)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(ns > 0, xs / ns, np.nan) * multiplier
    limits = [_LIMITS[method](xs, ns, level) for level in levels]
    if not tidy:
        low, upp = limits[0]
        return Interval(_shaped(value, like), _shaped(low * multiplier, like), _shaped(upp * multiplier, like))
    index = like.index if like is not None else None
    parts = [
        pd.DataFrame(
            {
                "x": np.ravel(xs),
                "n": np.ravel(ns),
                "value": np.ravel(value),
                "lower": np.ravel(low) * multiplier,
                "upper": np.ravel(upp) * multiplier,
                "conf_level": level,
                "multiplier": multiplier,
                "method": np.ravel(method_of(xs, method)),
            },
            index=index,
        )
        for level, (low, upp) in zip(levels, limits)
    ]
    return pd.concat(parts) if len(parts) > 1 else parts[0]


def wilson(x, n, conf_level=0.95, *, multiplier: float = 1.0, tidy: bool = False):
    """Wilson score interval of a proportion (PHEindicatormethods ``wilson_lower/upper``).

    See :func:`interval` for the arguments and the returned shapes.

    Examples:
        >>> [round(v, 4) for v in wilson(65, 100)]
        [0.65, 0.5525, 0.7364]
        >>> wilson(65, 100, conf_level=1)
        Interval(value=0.65, lower=0.0, upper=1.0)
    """
    return interval(x, n, conf_level, method="wilson", multiplier=multiplier, tidy=tidy)


def exact(x, n=1.0, conf_level=0.95, *, multiplier: float = 1.0, tidy: bool = False):
    """Exact (Garwood) Poisson interval of a count, a rate or a ratio O/E.

    See :func:`interval` for the arguments and the returned shapes.

    Examples:
        >>> [round(v, 3) for v in exact(7, 616282, multiplier=1e5)]
        [1.136, 0.457, 2.34]
    """
    return interval(x, n, conf_level, method="exact", multiplier=multiplier, tidy=tidy)


def byar(x, n=1.0, conf_level=0.95, *, multiplier: float = 1.0, tidy: bool = False):
    """Byar's approximation to the Poisson interval (PHEindicatormethods ``byars_lower/upper``).

    See :func:`interval` for the arguments and the returned shapes.

    Examples:
        >>> [round(v, 4) for v in byar(10, conf_level=99.8)[1:]]
        [2.9163, 24.1937]
    """
    return interval(x, n, conf_level, method="byar", multiplier=multiplier, tidy=tidy)
