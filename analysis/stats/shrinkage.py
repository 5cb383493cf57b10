"""Shrunken estimates and rank intervals of districts, per metric.

* **Shrinkage** (:func:`shrink`): empirical Bayes, beta-binomial for shares
  and Poisson–gamma for rates, with the prior's mean at the pooled value and
  its variance τ² from DerSimonian–Laird
  (``statsmodels.stats.meta_analysis.combine_effects``) on the natural scale
  with the null (binomial or Poisson) variances.
* **Ranks** (:func:`rank_intervals`): rank 1 is the highest value; intervals by
  simulation from Jeffreys posteriors (beta for shares, gamma for rates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats.intervals import conf_levels, deprecated
from analysis.stats.table import read_rows


def shrink(metrics: pd.DataFrame, conf_level=0.95) -> pd.DataFrame:
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
        conf_level: Level of the posterior interval (a fraction 0.9–1 or a
            percent 90–100).

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

    (conf_level,) = conf_levels(conf_level, count=1)
    out = metrics.copy()
    rows = read_rows(out)
    result = {
        name: np.full(len(out), np.nan) for name in ("shrunk_estimate", "shrunk_lower", "shrunk_upper", "shrinkage")
    }
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


def rank_intervals(
    metrics: pd.DataFrame, n_sim: int = 2000, seed: int = 0, conf_level=0.95, *, level=None
) -> pd.DataFrame:
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
        conf_level: Coverage of the rank interval (fraction 0.9–1 or percent 90–100).
        level: Deprecated name of ``conf_level``.

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
    if level is not None:
        deprecated("rank_intervals(level=...)", "rank_intervals(conf_level=...)")
        conf_level = level
    (conf_level,) = conf_levels(conf_level, count=1)
    out = metrics.copy()
    rows = read_rows(out)
    rng = np.random.default_rng(seed)
    columns = {name: np.full(len(out), np.nan) for name in ("rank", "rank_lower", "rank_upper", "ranked")}
    metric = out["metric"].astype(str).to_numpy()
    tail = (1 - conf_level) / 2
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
