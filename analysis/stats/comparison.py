"""Compare the districts of a province, a region or the country: the short call and the tests.

:func:`compare_districts` is the one call the reports make: it computes the
metrics of a family, keeps one row per district × metric (the latest
comparable period, or the one inside ``period``), classifies them against a
benchmark (:mod:`analysis.stats.classification`) and adds shrunken estimates
(:mod:`analysis.stats.shrinkage`). Beside it: which district published what
(:func:`availability`) and tests between districts (:func:`pairwise_tests`,
score tests from statsmodels with the multiple-testing method always named;
:func:`all_district_test`, chi-square homogeneity, or the Pearson χ² of a
Poisson GLM with a log-exposure offset for rates).

Examples:
    >>> m = pd.DataFrame({
    ...     "unit_code": ["1", "2", "3"], "unit_label": ["A", "B", "C"],
    ...     "metric": "x_share", "numerator": [10.0, 40.0, 2.0],
    ...     "denominator": [100.0, 100.0, 50.0], "exposure": float("nan"),
    ...     "estimate": [10.0, 40.0, 4.0], "multiplier": 100.0, "computable": True,
    ...     "reason": ""})
    >>> all_district_test(m, "x_share")[["statistic", "df"]].round(2)
       statistic  df
    0      38.02   2
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd

from analysis.errors import UsageError
from analysis.stats import classification, shrinkage
from analysis.stats.intervals import conf_levels, deprecated
from analysis.stats.table import Rows, as_bool, read_rows

#: Availability statuses of a district × metric.
AVAILABILITY = ("computed", "reported without denominator", "not reported")

# Names that lived here before the statistics were split by idea: still importable, with a warning.
_MOVED = {
    "classify": "classification",
    "pooled_benchmark": "classification",
    "check_levels": "classification",
    "POLARITIES": "classification",
    "funnel_limits": "funnels",
    "overdispersion": "funnels",
    "Overdispersion": "funnels",
    "shrink": "shrinkage",
    "rank_intervals": "shrinkage",
}


def __getattr__(name: str):
    if name in _MOVED:
        deprecated(f"analysis.stats.comparison.{name}", f"analysis.stats.{name} (or analysis.stats.{_MOVED[name]})")
        return getattr(importlib.import_module(f"analysis.stats.{_MOVED[name]}"), name)
    raise AttributeError(f"module 'analysis.stats.comparison' has no attribute {name!r}")


def _one_metric(metrics: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, Rows]:
    rows = read_rows(metrics)
    mine = rows.valid & (metrics["metric"].astype(str) == metric).to_numpy()
    if mine.sum() < 2:
        raise UsageError(
            f"metric {metric!r} has {int(mine.sum())} comparable row(s); a test needs two or more", field="metric"
        )
    return metrics[mine], Rows(*(getattr(rows, f)[mine] for f in Rows.__dataclass_fields__))


def _unit_labels(frame: pd.DataFrame) -> pd.Series:
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
    codes, labels = frame["unit_code"].astype(str).to_numpy(), _unit_labels(frame).to_numpy()
    value = rows.count / rows.base * rows.multiplier
    return pd.DataFrame(
        {
            "metric": metric,
            "unit_code_1": codes[first],
            "unit_label_1": labels[first],
            "estimate_1": value[first],
            "unit_code_2": codes[second],
            "unit_label_2": labels[second],
            "estimate_2": value[second],
            "statistic": np.asarray(result.statistic, dtype=float),
            "p_value": p,
            "p_adjusted": adjusted,
            "reject": reject,
            "test": test,
            "adjustment": method,
        }
    )


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
        fit = GLM(rows.count, np.ones((len(frame), 1)), family=families.Poisson(), offset=np.log(rows.base)).fit(
            scale="X2"
        )
        statistic, df = fit.pearson_chi2, int(round(fit.df_resid))
        p_value = chi2.sf(statistic, df)
        test = "Pearson chi-square of a Poisson GLM with log-exposure offset"
    return pd.DataFrame(
        {
            "metric": [metric],
            "test": [test],
            "statistic": [float(statistic)],
            "df": [df],
            "p_value": [float(p_value)],
            "dispersion": [float(statistic) / df],
            "units": [len(frame)],
        }
    )


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
    districts = (
        observations.loc[observations["unit_level"].astype(str) == "district", ["unit_code", "unit_label"]]
        .astype(str)
        .drop_duplicates("unit_code")
        .sort_values("unit_code")
    )
    names = list(pd.unique(metrics["metric"].astype(str))) if metric_names is None else list(metric_names)
    found = pd.DataFrame(
        {
            "unit_code": metrics["unit_code"].astype(str).to_numpy(),
            "metric": metrics["metric"].astype(str).to_numpy(),
            "computable": as_bool(metrics["computable"]),
        }
    )
    status = (
        found.groupby(["unit_code", "metric"])["computable"].any().map({True: AVAILABILITY[0], False: AVAILABILITY[1]})
    )
    grid = pd.MultiIndex.from_product([districts["unit_code"], names], names=["unit_code", "metric"])
    matrix = (
        status.reindex(grid)
        .fillna(AVAILABILITY[2])
        .unstack("metric")
        .reindex(index=districts["unit_code"], columns=names)
    )
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
        raise UsageError(f"region {region!r} needs the unit table (a Dataset), not bare observations", field="region")
    from analysis.data.units import resolve_unit

    code = (
        str(region)
        if str(region) in set(units["unit_code"].astype(str))
        else resolve_unit(str(region), level="region", units=units)
    )
    members = (
        units.loc[(units["level"].astype(str) == "province") & (units["parent_code"].astype(str) == code), "unit_code"]
        .astype(str)
        .tolist()
    )
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
        raise UsageError(f"period must be a year, a date or a pair of them; got {period!r}", field="period") from err
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
        roster = pd.DataFrame(
            {
                "unit_code": chosen["unit_code"].astype(str),
                "unit_label": chosen["name"].astype(str),
                "province_code": chosen["parent_code"].astype(str),
            }
        )
    else:
        chosen = observations[observations["unit_level"].astype(str) == "district"]
        roster = chosen[["unit_code", "unit_label", "province_code"]].astype(str)
    return roster.drop_duplicates("unit_code").sort_values("unit_code").reset_index(drop=True)


def _latest(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per unit × metric: computable first, then the latest period, then the largest base."""
    rows = read_rows(metrics)
    ranked = metrics.assign(
        _valid=rows.valid,
        _base=np.nan_to_num(rows.base, nan=-1.0),
        _end=pd.to_datetime(metrics["period_end"], errors="coerce"),
    )
    ranked = ranked.sort_values(["_valid", "_end", "_base"], ascending=False, na_position="last", kind="stable")
    size = ranked.groupby(["unit_code", "metric"])["metric"].transform("size")
    ranked = ranked.assign(other_periods=size - 1)
    return ranked.drop_duplicates(["unit_code", "metric"]).drop(columns=["_valid", "_base", "_end"])


def compare_districts(
    data,
    *,
    province=None,
    region=None,
    districts=None,
    family="discipline",
    benchmark="pooled",
    conf_level=(0.95, 0.998),
    polarity=None,
    metrics=None,
    period=None,
    method="interval",
    rate_method="exact",
    levels=None,
) -> pd.DataFrame:
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
        conf_level: One or two levels of the classification (fractions
            0.9–1 or percents 90–100); the first is also the level of the
            metrics' and the shrunken intervals.
        polarity: Optional mapping metric → ``"higher is better"`` /
            ``"lower is better"``.
        metrics: A metrics table already computed from ``data`` (e.g. the
            processed ``metrics.csv``); computed when None.
        period: None for each district's latest period, or the time to
            compare within: a year (``"2021"``), a pair of dates or years
            (``("2020", "2022-06-30")``; a year stands for its whole span).
        method: ``"interval"`` or ``"spc"`` (see :func:`classify`).
        rate_method: ``"exact"`` or ``"phe"`` (Byar's from 10 events).
        levels: Deprecated: the classification's two levels, as before;
            ``conf_level`` then keeps its old meaning (the metrics' level).

    Returns:
        The metrics columns plus ``kind``, ``label_en``, ``label_vi``,
        ``other_periods``, the :func:`~analysis.stats.classification.classify` columns and the
        :func:`~analysis.stats.shrinkage.shrink`
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

    if levels is not None:
        deprecated("compare_districts(levels=...)", "compare_districts(conf_level=...)")
        chosen, (inner,) = conf_levels(levels, count=2, field="levels"), conf_levels(conf_level)[:1]
    else:
        chosen = conf_levels(conf_level)
        inner = chosen[0]
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
            raise UsageError(f"benchmark must be 'pooled', a number or a mapping; got {benchmark!r}", field="benchmark")
        benchmark = None
    if metrics is None:
        metrics = compute_metrics(observations, families=None if family is None else [family], conf_level=inner)
    metrics = metrics[
        metrics["unit_code"].astype(str).isin(roster["unit_code"])
        & metrics["metric"].astype(str).isin(definitions["metric"].astype(str))
    ]
    metrics = metrics.assign(unit_code=metrics["unit_code"].astype(str))
    outside = pd.Index([])
    if window is not None:
        inside = _overlaps(metrics, *window)
        outside = pd.MultiIndex.from_frame(metrics.loc[~inside, ["unit_code", "metric"]].astype(str))
        metrics = metrics[inside]
    metrics = _latest(metrics)
    defs = definitions[["metric", "family", "kind", "multiplier", "label_en", "label_vi"]].astype(
        {"metric": str, "family": str, "kind": str}
    )
    grid = defs.merge(roster, how="cross")
    taken = set(grid.columns) - {"unit_code", "metric"}
    table = grid.merge(metrics[[c for c in metrics.columns if c not in taken]], on=["unit_code", "metric"], how="left")
    reported = table["computable"].notna()
    table["computable"] = as_bool(table["computable"].where(reported, False))
    elsewhere = pd.MultiIndex.from_frame(table[["unit_code", "metric"]].astype(str)).isin(outside)
    table["reason"] = table["reason"].where(reported, np.where(elsewhere, "no figure in the period", "not reported"))
    table["other_periods"] = table["other_periods"].fillna(0).astype(int)
    table = classification.classify(
        table, benchmark=benchmark, conf_level=chosen, polarity=polarity, method=method, rate_method=rate_method
    )
    table = shrinkage.shrink(table, conf_level=inner)
    order = ["unit_code", "unit_label", "province_code", "family", "metric", "label_en", "label_vi", "kind"]
    return table[order + [c for c in table.columns if c not in order]].reset_index(drop=True)
