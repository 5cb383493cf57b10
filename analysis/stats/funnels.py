"""Funnel-plot control limits and overdispersion, as PHEindicatormethods and FunnelPlotR draw them.

Names: ``target`` is the benchmark in display units, ``n`` the precision
(denominator of a proportion, exposure of a rate, expected count E of a
ratio O/E, or the denominator count D of a ratio of two counts),
``multiplier`` the display scale, ``conf_level`` one or two levels.

Kinds (FunnelPlotR's ``data_type`` in brackets): ``proportion`` (``PR``;
alias ``share``), ``rate`` (events per unit of exposure; FunnelPlotR ``SR``
with E = target × exposure), ``ratio`` (``SR``: O/E with n = E, target 1 ×
multiplier) and ``count_ratio`` (``RC``: O/D with n = D; only
``method="funnelplotr"``).

Methods (formulas in ``docs/methods.md``):

* ``"phe"`` (PHEindicatormethods ``calculate_funnel_limits``): proportions
  θ ± z·sqrt(θ(1−θ)/n), which is the proportion whose Wilson interval just
  touches θ; rates and ratios the count whose exact Poisson interval just
  touches θ·n, over n (PHE's ``poisson_funnel``, there found by bisection on
  a grid of whole event counts; here a continuous curve through the same
  points). Points outside are exactly the ones
  :func:`analysis.stats.classification.classify` calls higher or lower.
* ``"funnelplotr"`` (FunnelPlotR ``calculate_limits``): without
  overdispersion, proportions on the arcsine scale and ratios/rates as the
  exact Poisson limits of a count equal to E (``SR`` unadjusted); with
  overdispersion, the variance-stabilised scale: ``scale="log"`` (SHMI,
  FunnelPlotR's default: θ·exp(∓z·sqrt(1/E + τ²))) or ``scale="sqrt"`` (CQC:
  θ·(1 ∓ z·sqrt(1/(4E) + τ²))², squared back to the ratio scale where
  FunnelPlotR is not; see ``docs/methods.md``); proportions
  sin²(asin(sqrt(θ)) ∓ z·sqrt(1/(4n) + τ²)); ratios of counts
  θ·exp(∓z·sqrt(1/(4n) + τ²)). ``"multiplicative"`` replaces sqrt(s² + τ²)
  by sqrt(φ)·s.
* ``"exact"``: Spiegelhalter (2005, Stat Med 24:1185, A.1.1) interpolated
  binomial or Poisson quantiles of the target, over n.
* ``"approx"``: the normal approximation θ ± z·sqrt(θ(1−θ)/n) or θ ± z·sqrt(θ/n).

Examples:
    >>> funnel_limits(80.642448, [50], conf_level=95, method="phe", multiplier=100)[["lower", "upper"]].round(4)
        lower    upper
    0  69.691  91.5939
    >>> od = overdispersion([100, 150, 180, 80, 120, 225], [108, 112, 165, 95, 100, 220], kind="ratio")
    >>> round(od.phi, 6)
    2.948033
    >>> funnel_limits(1, [100], kind="ratio", conf_level=95, method="funnelplotr", fit=od,
    ...               overdispersion="additive")["lower"].round(6).tolist()
    [0.714261]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import UsageError
from analysis.stats.intervals import conf_levels, deprecated, z_value

_KINDS = {
    "proportion": "proportion",
    "share": "proportion",
    "pr": "proportion",
    "rate": "rate",
    "ratio": "ratio",
    "sr": "ratio",
    "count_ratio": "count_ratio",
    "rc": "count_ratio",
}
METHODS = ("phe", "funnelplotr", "exact", "approx")
_RENAMED = {"interval": "phe", "transformed": "funnelplotr"}
SCALES = ("log", "sqrt")


def _kind(kind: str) -> str:
    try:
        return _KINDS[str(kind).lower()]
    except KeyError:
        raise UsageError(
            f"unknown kind {kind!r}; use 'proportion' (or 'share'), 'rate', 'ratio' or 'count_ratio'", field="kind"
        ) from None


def _scale(kind: str, scale) -> str | None:
    """The transformed scale: arcsine for proportions, log (default) or sqrt for ratios and rates."""
    if kind == "proportion":
        if scale not in (None, "asin"):
            raise UsageError(f"proportions use the arcsine scale; got scale={scale!r}", field="scale")
        return "asin"
    if kind == "count_ratio":
        if scale not in (None, "log"):
            raise UsageError(f"ratios of counts use the log scale; got scale={scale!r}", field="scale")
        return "log"
    if scale is None:
        return "log"
    if scale not in SCALES:
        raise UsageError(f"scale must be 'log' or 'sqrt'; got {scale!r}", field="scale")
    return scale


def _interpolated_quantile(dist, p: float, n: np.ndarray) -> np.ndarray:
    """Spiegelhalter's (2005, A.1.1) interpolated quantile r_p − α, divided by n."""
    r = dist.ppf(p)
    at, below = dist.cdf(r), dist.cdf(r - 1)
    return (r - (at - p) / (at - below)) / n


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


def _spread(s, z, overdispersion, phi, tau2):
    if overdispersion == "additive":
        return z * np.sqrt(s**2 + tau2)
    if overdispersion == "multiplicative":
        return z * np.sqrt(phi) * s
    return z * s


def _limits(theta, n, kind, level, method, scale, overdispersion, phi, tau2):
    """Lower and upper limits at one level, on the raw scale (proportion, events per unit, ratio)."""
    from scipy.stats import binom, chi2, poisson

    z = z_value(level)
    tail = (1 - level) / 2
    share = kind == "proportion"
    if method == "exact":
        dist = binom(n, theta) if share else poisson(theta * n)
        return _interpolated_quantile(dist, tail, n), _interpolated_quantile(dist, 1 - tail, n)
    if method == "approx" or (method == "phe" and share):
        se = np.sqrt(theta * (1 - theta) / n) if share else np.sqrt(theta / n)
        return theta - z * se, theta + z * se
    if method == "phe":  # the count whose exact Poisson interval just touches theta x n
        mu = theta * n
        return (_gamma_shape(mu, 1 - tail) - 1) / n, _gamma_shape(mu, tail) / n
    if share:
        centre, spread = np.arcsin(np.sqrt(theta)), _spread(1 / (2 * np.sqrt(n)), z, overdispersion, phi, tau2)
        return (
            np.sin(np.clip(centre - spread, 0, np.pi / 2)) ** 2,
            np.sin(np.clip(centre + spread, 0, np.pi / 2)) ** 2,
        )
    if kind == "count_ratio":
        spread = _spread(1 / (2 * np.sqrt(n)), z, overdispersion, phi, tau2)
        return theta * np.exp(-spread), theta * np.exp(spread)
    expected = n if kind == "ratio" else theta * n
    if overdispersion is None:  # FunnelPlotR's unadjusted SR limits: exact Poisson for a count of E
        return (
            theta * chi2.ppf(tail, 2 * expected) / (2 * expected),
            theta * chi2.ppf(1 - tail, 2 * (expected + 1)) / (2 * expected),
        )
    if scale == "log":
        spread = _spread(1 / np.sqrt(expected), z, overdispersion, phi, tau2)
        return theta * np.exp(-spread), theta * np.exp(spread)
    spread = _spread(1 / (2 * np.sqrt(expected)), z, overdispersion, phi, tau2)
    return theta * np.clip(1 - spread, 0, None) ** 2, theta * (1 + spread) ** 2


@dataclass(frozen=True)
class Overdispersion:
    """Overdispersion estimates on a transformed scale (Spiegelhalter 2005; FunnelPlotR).

    Attributes:
        phi: Mean of the squared (winsorised or kept) z-scores.
        tau2: Additive between-unit variance (0 when I·φ < I−1).
        target: The target used, in display units (× ``multiplier``).
        z: Unadjusted z-scores, one per unit.
        z_winsorised: The z-scores used: winsorised at ``trim`` and
            ``1 - trim``, or (log scale) NaN for the units truncated.
        s: Standard errors on the transformed scale.
        kind: ``proportion``, ``rate``, ``ratio`` or ``count_ratio``.
        scale: ``asin``, ``log`` or ``sqrt``.
        multiplier: Display scale of ``target``; :func:`funnel_limits`
            refuses an estimate made at another one.
    """

    phi: float
    tau2: float
    target: float
    z: np.ndarray
    z_winsorised: np.ndarray
    s: np.ndarray
    kind: str = "proportion"
    scale: str = "asin"
    multiplier: float = 1.0


def _old_name(value, old, new, name):
    if old is not None:
        deprecated(f"{name}({old[0]}=...)", f"{name}({new}=...)", stacklevel=4)
        return old[1]
    return value


def funnel_limits(
    target=None,
    n=None,
    kind="proportion",
    conf_level=(0.95, 0.998),
    method=None,
    *,
    scale=None,
    overdispersion=None,
    phi=None,
    tau2=None,
    fit: Overdispersion | None = None,
    multiplier=1.0,
    precision=None,
    levels=None,
) -> pd.DataFrame:
    """Funnel-plot control limits around a target, vectorised over the precision ``n``.

    Args:
        target: The benchmark θ0 in display units (a proportion when
            ``multiplier`` is 1, a percent when 100; a ratio's target is
            usually 1 × multiplier). Default: ``fit.target``.
        n: Denominators (proportions; whole numbers for ``"exact"``),
            exposures (rates), expected counts E (ratios) or denominator
            counts D (ratios of counts); a number, array or Series.
        kind: ``proportion`` (``share``, ``PR``), ``rate``, ``ratio``
            (``SR``) or ``count_ratio`` (``RC``).
        conf_level: One or two levels (fractions 0.9–1 or percents 90–100).
        method: ``"phe"``, ``"funnelplotr"``, ``"exact"`` or ``"approx"``
            (module docstring). Default ``"exact"``, or ``"funnelplotr"``
            with overdispersion or a ratio of counts. The old names
            ``"interval"`` and ``"transformed"`` warn and map to ``"phe"`` and
            ``"funnelplotr"`` (``"transformed"`` keeps its square-root scale).
        scale: ``"log"`` (default) or ``"sqrt"`` for rates and ratios with
            ``"funnelplotr"``.
        overdispersion: None, ``"additive"`` (τ²) or ``"multiplicative"``
            (φ); only with ``"funnelplotr"``.
        phi: Overdispersion factor (or give ``fit``).
        tau2: Between-unit variance on the transformed scale (or ``fit``).
        fit: An :class:`Overdispersion` from :func:`overdispersion`: its
            φ, τ² and (by default) target are used; its kind, scale and
            multiplier must be this call's.
        multiplier: Display scale of ``target`` and of the result.
        precision: Deprecated name of ``n``.
        levels: Deprecated name of ``conf_level``.

    Returns:
        One row per n × level: ``precision`` (n), ``level``, ``target``,
        ``lower``, ``upper`` in display units; clipped to [0, 1] ×
        multiplier (proportions) or [0, ∞).

    Raises:
        UsageError: An unknown kind, method or scale; a target out of range;
            non-positive n; overdispersion without its parameter or off the
            ``"funnelplotr"`` method; a ``fit`` made for another kind, scale
            or multiplier.

    Examples:
        >>> funnel_limits(0.2, [100], method="approx")[["level", "lower", "upper"]].round(4)
           level   lower   upper
        0  0.950  0.1216  0.2784
        1  0.998  0.0764  0.3236
        >>> funnel_limits(4.0, [2458.5], kind="rate", method="phe", multiplier=1000)["upper"].round(2).tolist()
        [6.88, 8.67]
        >>> funnel_limits(1, [15], kind="ratio", conf_level=95, method="funnelplotr")["lower"].round(7).tolist()
        [0.5596924]
    """
    n = _old_name(n, None if precision is None else ("precision", precision), "n", "funnel_limits")
    conf_level = _old_name(conf_level, None if levels is None else ("levels", levels), "conf_level", "funnel_limits")
    kind = _kind(kind)
    if method in _RENAMED:
        deprecated(f"funnel_limits(method={method!r})", f"method={_RENAMED[method]!r}")
        if method == "transformed" and scale is None and kind != "proportion":
            scale = "sqrt"
        method = _RENAMED[method]
    if method is None:
        method = "funnelplotr" if (overdispersion or kind == "count_ratio") else "exact"
    if method not in METHODS:
        raise UsageError(f"unknown funnel method {method!r}; use one of {', '.join(METHODS)}", field="method")
    if kind == "count_ratio" and method != "funnelplotr":
        raise UsageError(
            "a ratio of two counts has funnel limits only on FunnelPlotR's log scale; use method='funnelplotr'",
            field="method",
        )
    scale = _scale(kind, scale)
    if fit is not None:
        if (fit.kind, fit.multiplier) != (kind, float(multiplier)) or (fit.scale != scale):
            raise UsageError(
                f"the overdispersion fit was made for kind {fit.kind!r}, scale {fit.scale!r}, "
                f"multiplier {fit.multiplier:g}; these limits are for kind {kind!r}, scale {scale!r}, "
                f"multiplier {float(multiplier):g}",
                field="fit",
            )
        phi, tau2 = fit.phi if phi is None else phi, fit.tau2 if tau2 is None else tau2
        target = fit.target if target is None else target
    if target is None or n is None:
        raise UsageError("funnel limits need a target and n (the precision)", field="target" if target is None else "n")
    if overdispersion not in (None, "additive", "multiplicative"):
        raise UsageError(
            f"overdispersion must be None, 'additive' or 'multiplicative'; got {overdispersion!r}",
            field="overdispersion",
        )
    if overdispersion and method != "funnelplotr":
        raise UsageError(
            f"overdispersion is adjusted on FunnelPlotR's transformed scale; use method='funnelplotr', not {method!r}",
            field="method",
        )
    if overdispersion == "additive" and tau2 is None:
        raise UsageError("additive overdispersion needs tau2 (see overdispersion())", field="tau2")
    if overdispersion == "multiplicative" and phi is None:
        raise UsageError("multiplicative overdispersion needs phi (see overdispersion())", field="phi")
    chosen = conf_levels(conf_level)
    rho = np.atleast_1d(np.asarray(n, dtype=float))
    theta = float(target) / float(multiplier)
    if not (rho > 0).all():
        raise UsageError("n (denominator, exposure or expected count) must be positive", field="n")
    if kind == "proportion" and not 0 <= theta <= 1:
        raise UsageError(f"a proportion's target must lie between 0 and {multiplier:g}; got {target}", field="target")
    if kind != "proportion" and not theta >= 0:
        raise UsageError(f"a rate's or ratio's target must be zero or positive; got {target}", field="target")
    if kind != "proportion" and method == "funnelplotr" and theta == 0:
        raise UsageError("FunnelPlotR's scales need a positive target", field="target")
    if kind == "proportion" and method == "exact" and not np.allclose(rho, np.round(rho)):
        raise UsageError("exact binomial limits need whole-number denominators", field="n")
    ceiling = 1.0 if kind == "proportion" else np.inf
    parts = []
    for level in chosen:
        with np.errstate(divide="ignore", invalid="ignore"):
            lower, upper = _limits(theta, rho, kind, level, method, scale, overdispersion, phi, tau2)
        parts.append(
            pd.DataFrame(
                {
                    "precision": rho,
                    "level": level,
                    "target": float(target),
                    "lower": np.clip(lower, 0, ceiling) * multiplier,
                    "upper": np.clip(upper, 0, ceiling) * multiplier,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _z_scores(count, base, kind, scale, theta):
    """FunnelPlotR's z-scores and standard errors (od_adjustment.R)."""
    if kind == "proportion":
        s = 1 / (2 * np.sqrt(base))
        return (np.arcsin(np.sqrt(count / base)) - np.arcsin(np.sqrt(theta))) / s, s
    if kind == "count_ratio":
        s = np.sqrt(count / (count + 0.5) ** 2 + base / (base + 0.5) ** 2)
        return (np.log((count + 0.5) / (base + 0.5)) - np.log(theta)) / s, s
    expected = base * (1.0 if kind == "ratio" else theta)
    ratio = count / expected / (theta if kind == "ratio" else 1.0)
    if scale == "log":
        s = 1 / np.sqrt(expected)
        with np.errstate(divide="ignore"):
            return np.log(ratio) / s, s
    s = 1 / (2 * np.sqrt(expected))
    return (np.sqrt(ratio) - 1) / s, s


def _truncated(z: np.ndarray, trim: float) -> np.ndarray:
    """FunnelPlotR's SHMI truncation: keep units whose rank group is not in the top or bottom ``trim``."""
    k = 1 / trim
    ranks = pd.Series(z).rank(method="average").to_numpy()
    group = np.floor(ranks * k / (len(z) + 1))
    return np.where((group > 0) & (group < k - 1), z, np.nan)


def overdispersion(
    x=None,
    n=None,
    kind="proportion",
    target=None,
    trim=0.1,
    *,
    scale=None,
    multiplier=1.0,
    numerators=None,
    denominators=None,
) -> Overdispersion:
    """Estimate overdispersion as FunnelPlotR does (Spiegelhalter 2005).

    z-scores on the transformed scale (proportions: arcsine, s = 1/(2·sqrt(n));
    rates and ratios: log, z = sqrt(E)·log(O/E) with s = 1/sqrt(E), or sqrt,
    z = (sqrt(O/E) − 1)/s with s = 1/(2·sqrt(E)); ratios of counts:
    log((O+½)/(D+½)) with s² = O/(O+½)² + D/(D+½)²). On the log scale of
    rates and ratios the top and bottom ``trim`` of units are truncated (as
    FunnelPlotR's SHMI method); otherwise z is winsorised at the ``trim``
    and ``1 - trim`` quantiles (R type 7). φ is the mean of the squared z
    kept and τ² = max(0, (I·φ − (I−1)) / (Σw − Σw²/Σw)) with w = 1/s² over them.

    Args:
        x: Events or numerator counts, one per unit.
        n: Denominators (proportions), exposures (rates), expected counts
            (ratios) or denominator counts (ratios of counts).
        kind: As in :func:`funnel_limits`.
        target: θ0 in display units; default the pooled Σx/Σn × multiplier
            (1 × multiplier for ratios O/E).
        trim: Fraction trimmed or winsorised at each end.
        scale: ``"log"`` (default) or ``"sqrt"`` for rates and ratios.
        multiplier: Display scale of ``target`` (in and out).
        numerators: Deprecated name of ``x``.
        denominators: Deprecated name of ``n``.

    Returns:
        An :class:`Overdispersion`; pass it to :func:`funnel_limits` as ``fit``.

    Raises:
        UsageError: With fewer than two units, non-positive n, or a target
            the scale cannot take.

    Examples:
        >>> od = overdispersion([10, 40, 2, 30], [100, 100, 50, 120], multiplier=100)
        >>> round(od.phi, 3), round(od.tau2, 5), round(od.target, 2)
        (8.88, 0.03008, 22.16)
        >>> overdispersion([20, 21, 19], [100, 100, 100]).tau2
        0.0
    """
    x = _old_name(x, None if numerators is None else ("numerators", numerators), "x", "overdispersion")
    n = _old_name(n, None if denominators is None else ("denominators", denominators), "n", "overdispersion")
    kind = _kind(kind)
    scale = _scale(kind, scale)
    count = np.asarray(x, dtype=float)
    base = np.asarray(n, dtype=float)
    if count.shape != base.shape or count.ndim != 1 or len(count) < 2:
        raise UsageError("overdispersion needs x and n for at least two units", field="x")
    if not (base > 0).all() or not (count >= 0).all():
        raise UsageError("n must be positive and x not negative", field="n")
    multiplier = float(multiplier)
    if target is None:
        theta = 1.0 if kind == "ratio" else count.sum() / base.sum()
    else:
        theta = float(target) / multiplier
    if kind != "proportion" and not theta > 0:
        raise UsageError("overdispersion of rates and ratios needs a positive target", field="target")
    z, s = _z_scores(count, base, kind, scale, theta)
    if kind in ("rate", "ratio") and scale == "log":
        used = _truncated(z, trim)
    else:
        low, high = np.quantile(z, [trim, 1 - trim])
        used = np.clip(z, low, high)
    kept = ~np.isnan(used)
    units = int(kept.sum())
    phi = float(np.mean(used[kept] ** 2))
    w = 1 / s[kept] ** 2
    tau2 = (
        0.0
        if units * phi < units - 1
        else max(0.0, float((units * phi - (units - 1)) / (w.sum() - (w**2).sum() / w.sum())))
    )
    return Overdispersion(
        phi=phi,
        tau2=tau2,
        target=float(theta * multiplier),
        z=z,
        z_winsorised=used,
        s=s,
        kind=kind,
        scale=scale,
        multiplier=multiplier,
    )
