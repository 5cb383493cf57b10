"""The three metric families: member coverage, admissions, discipline.

Every metric is computed from the processed observations (only rows with
``preferred`` true), vectorised over units, and returned as the tidy metrics
table of ``docs/design.md``: one row per unit × metric × period, with its
numerator, denominator or exposure, estimate and interval in display units,
the method, and the ``obs_ids`` it used. One registry, :data:`METRICS`,
defines every metric; :func:`metric_definitions` gives it as a DataFrame for
labels.

How a metric finds its parts:

* A **count numerator** and a **printed percentage** of the same quantity on
  the same unit and date (or period) make one row; the count wins.
* A **stock denominator** (villages, members, population) is the preferred
  observation of the same unit nearest the numerator's date or period, and no
  further away than ``tolerance_days`` (:func:`nearest_stock`). A stock
  dated inside a flow's period is 0 days away. An undated figure is matched
  only with figures of the same source (the same article describes the same
  moment); otherwise its distance is unknown and it is not used.
* A **flow denominator** (admissions for the shares of admissions) must cover
  exactly the same period.
* **Exposure** of a rate = members × period length in years: the days from
  ``period_start`` to ``period_end``, both included, divided by 365.25. The methods page's worked figure
  (1,639 × 1.5 years = 2,458.5 member-years) is an interval check;
  Kon Rẫy's real period, 2020-01-01 to 2021-08-23, is 601 days or 1.645
  years. The members stock is one figure near the period, not an average
  over it: exposure is approximate when membership changed a lot.
* A **printed percentage with a known denominator** n becomes a count,
  ``round(percent / 100 × n)``, and the method says so; if no whole count of
  n rounds back to the printed value (to the decimals printed:
  ``value_decimals``), the denominator is not the article's and the row is
  not computable; a hedged percentage is not held to its decimals. A printed percentage without a usable
  denominator keeps its value as the estimate, with no interval, and
  ``reason`` says why.

Intervals come from :mod:`analysis.stats.intervals`: Wilson (or
Clopper–Pearson, ``beta``) for shares; the exact (Garwood) Poisson interval
for rates. Members per 1,000
population is treated as a proportion (members are a subset of the
population), so it gets a Wilson interval scaled by 1,000: a Poisson interval
would treat members as events, which they are not. Households per assigned
member is a ratio of two counts and gets no interval.

A hedged figure (``approximate``) makes every metric that uses it
approximate, and every quality flag of the observations used travels with the
metric. The discipline rate also carries the flags of its severity breakdown
(Kon Rẫy's parts sum to 27 against a printed total of 22).

Examples:
    >>> obs = pd.DataFrame({
    ...     "obs_id": ["O1", "O2", "O3", "O4"],
    ...     "unit_code": "614",
    ...     "indicator": ["admissions", "admissions_rural_cells",
    ...                   "disciplined_members", "party_members"],
    ...     "value": [27, 4, 22, 1639],
    ...     "as_of": [None, None, None, "2021-06-20"],
    ...     "period_start": ["2021-01-01", "2021-01-01", "2020-01-01", None],
    ...     "period_end": ["2021-08-23", "2021-08-23", "2021-08-23", None]})
    >>> m = compute_metrics(obs, families=["admissions", "discipline"])
    >>> print(m[["metric", "numerator", "estimate", "lower", "upper", "obs_ids"]]
    ...       .round(2).to_string(index=False))
                              metric  numerator  estimate  lower  upper obs_ids
          admissions_rural_cells_share        4.0     14.81   5.92  32.48   O2;O1
       admissions_per_100_member_years       27.0      2.56   1.69   3.73   O1;O4
      disciplined_per_1000_member_years       22.0      8.16   5.11  12.35   O3;O4
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis.errors import UsageError
from analysis.stats.intervals import METHODS as INTERVAL_METHODS
from analysis.stats.denominators import DAYS_PER_YEAR, nearest_stock, pair_denominators
from analysis.stats.intervals import conf_levels, deprecated, interval
from analysis.stats.observations import (
    KEY,
    as_text,
    check_tolerance,
    empty_table,
    first_per_key,
    fmt_numbers,
    join_texts,
    texts,
    union_flags,
    union_flags_by_group,
    usable,
)
from analysis.stats.severity import SEVERITY_COLUMNS, SEVERITY_DTYPE, SEVERITY_FORMS, severity_mix

# Re-exported: the metrics' public names, wherever they are defined.
__all__ = [
    "DAYS_PER_YEAR",
    "DISCIPLINING_BODIES",
    "FAMILIES",
    "METRICS",
    "METRIC_COLUMNS",
    "MetricDefinition",
    "PARTIAL_FLAG",
    "SEVERITY_COLUMNS",
    "SEVERITY_DTYPE",
    "SEVERITY_FORMS",
    "SHARE_METHODS",
    "SUMMED_FLAG",
    "admission_metrics",
    "compute_metrics",
    "coverage_metrics",
    "discipline_metrics",
    "metric_definitions",
    "nearest_stock",
    "rate_interval",
    "severity_mix",
    "share_interval",
]
FAMILIES = ("coverage", "admissions", "discipline")
SHARE_METHODS = ("wilson", "beta")

METRIC_COLUMNS = (
    "unit_code",
    "unit_label",
    "province_code",
    "family",
    "metric",
    "period_start",
    "period_end",
    "numerator",
    "denominator",
    "exposure",
    "estimate",
    "lower",
    "upper",
    "multiplier",
    "conf_level",
    "method",
    "basis",
    "approximate",
    "computable",
    "reason",
    "obs_ids",
    "flags",
)


@dataclass(frozen=True)
class MetricDefinition:
    """One metric: what it divides by what, and how it is labelled.

    Attributes:
        metric: Metric id (the printed-percentage indicator's id when one
            exists for the same quantity).
        family: ``coverage``, ``admissions`` or ``discipline``.
        kind: ``share`` (a proportion, with an interval), ``rate`` (events
            over member-years, exact Poisson interval) or ``ratio`` (no
            interval).
        numerator: Indicator of the count on top.
        denominator: Indicator of the base: the count below (share, ratio) or
            the members stock whose member-years are the exposure (rate).
        match: ``nearest`` (a stock, nearest in time within tolerance) or
            ``same_period`` (a flow over exactly the same period).
        multiplier: Display scale: 100 for percent, 1000 for per 1,000.
        label_en: English label.
        label_vi: Vietnamese label.
        printed: Indicator of a printed percentage of the same quantity, or
            None.
        breakdown: Indicators of parts of the numerator whose quality flags
            travel with the metric.
        parts: Indicators whose sum stands for the numerator when no
            numerator is printed for the unit and period (discipline by
            disciplining body); the row is then flagged
            :data:`SUMMED_FLAG` and its method says so.
        stands_for: For a coarser stand-in (admissions at commune level), the
            metric it stands for where that one has no row for the unit and
            period; its rows take that metric's id, with ``basis`` saying
            which numerator they use.
        basis: What the numerator counts, for metrics whose id covers more
            than one breakdown (``village cells`` / ``commune-level
            organisations``); empty otherwise.
    """

    metric: str
    family: str
    kind: str
    numerator: str
    denominator: str
    match: str
    multiplier: float
    label_en: str
    label_vi: str
    printed: str | None = None
    breakdown: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    stands_for: str | None = None
    basis: str = ""


DISCIPLINING_BODIES = (
    # indicator, label_en
    ("disciplined_members_by_inspection_commissions", "inspection commissions"),
    ("disciplined_members_by_party_committees", "party committees"),
    ("disciplined_members_by_cells", "cells"),
)
#: Flag of a numerator summed from its parts because no total was printed.
SUMMED_FLAG = "numerator_sum_of_parts"
#: Flag added when some of the parts were not published (the sum is then a lower bound).
PARTIAL_FLAG = "numerator_parts_incomplete"


def _village_share(metric, numerator, label_en, label_vi):
    return MetricDefinition(
        metric, "coverage", "share", numerator, "villages", "nearest", 100, label_en, label_vi, printed=metric
    )


def _admission_share(metric, numerator, label_en, label_vi, **more):
    return MetricDefinition(
        metric, "admissions", "share", numerator, "admissions", "same_period", 100, label_en, label_vi, **more
    )


METRICS = (
    _village_share(
        "village_heads_party_members_share",
        "village_heads_party_members",
        "Village heads who are party members (%)",
        "Tỷ lệ trưởng thôn là đảng viên (%)",
    ),
    _village_share(
        "cell_secretaries_also_village_heads_share",
        "cell_secretaries_also_village_heads",
        "Villages whose cell secretary is also the village head (%)",
        "Tỷ lệ thôn có bí thư chi bộ kiêm trưởng thôn (%)",
    ),
    _village_share(
        "deputy_secretaries_also_village_heads_share",
        "deputy_secretaries_also_village_heads",
        "Villages whose deputy cell secretary is also the village head (%)",
        "Tỷ lệ thôn có phó bí thư chi bộ kiêm trưởng thôn (%)",
    ),
    _village_share(
        "cell_committee_members_also_village_heads_share",
        "cell_committee_members_also_village_heads",
        "Villages whose head is also a cell committee member (%)",
        "Tỷ lệ thôn có chi ủy viên kiêm trưởng thôn (%)",
    ),
    _village_share(
        "villages_with_party_org_share",
        "villages_with_party_org",
        "Villages with a party organisation (%)",
        "Tỷ lệ thôn có tổ chức đảng (%)",
    ),
    _village_share(
        "villages_with_cell_committee_share",
        "villages_with_cell_committee",
        "Villages whose cell has a cell committee (%)",
        "Tỷ lệ thôn có chi ủy (%)",
    ),
    MetricDefinition(
        "party_members_per_1000_population",
        "coverage",
        "share",
        "party_members",
        "population",
        "nearest",
        1000,
        "Party members per 1,000 population",
        "Số đảng viên trên 1.000 dân",
    ),
    # Not the printed members_assigned_households_share, whose base is the
    # members living in residential areas: this one divides by all members.
    MetricDefinition(
        "assigned_members_share",
        "coverage",
        "share",
        "members_assigned_households",
        "party_members",
        "nearest",
        100,
        "Members assigned to follow households (% of all members)",
        "Tỷ lệ đảng viên được phân công phụ trách hộ (% tổng số đảng viên)",
    ),
    MetricDefinition(
        "households_per_assigned_member",
        "coverage",
        "ratio",
        "households_assigned",
        "members_assigned_households",
        "nearest",
        1,
        "Households per assigned member",
        "Số hộ bình quân một đảng viên phụ trách",
    ),
    # The finest breakdown published: village cells; where a unit and period have only the
    # commune-level count (a coarser one: commune organisations include their village cells),
    # that row stands in, and ``basis`` says which one each row uses.
    _admission_share(
        "admissions_rural_cells_share",
        "admissions_rural_cells",
        "Admissions made in rural (village) cells, or at commune level where only that is published (%)",
        "Tỷ lệ đảng viên kết nạp ở chi bộ thôn, làng, hoặc ở cấp xã khi chỉ có số đó (%)",
        basis="village cells",
    ),
    _admission_share(
        "admissions_commune_level_share",
        "admissions_commune_level",
        "Admissions made in commune-level organisations (%)",
        "Tỷ lệ đảng viên kết nạp ở tổ chức đảng cấp xã (%)",
        printed="admissions_commune_level_share",
        stands_for="admissions_rural_cells_share",
        basis="commune-level organisations",
    ),
    MetricDefinition(
        "admissions_per_100_member_years",
        "admissions",
        "rate",
        "admissions",
        "party_members",
        "nearest",
        100,
        "Admissions per 100 member-years",
        "Số đảng viên kết nạp trên 100 đảng viên-năm",
    ),
    _admission_share(
        "admissions_ethnic_minority_share",
        "admissions_ethnic_minority",
        "Admissions of ethnic-minority people (%)",
        "Tỷ lệ đảng viên mới là người dân tộc thiểu số (%)",
    ),
    _admission_share(
        "admissions_female_share", "admissions_female", "Admissions of women (%)", "Tỷ lệ đảng viên mới là nữ (%)"
    ),
    _admission_share(
        "admissions_religious_share",
        "admissions_religious",
        "Admissions of religious believers (%)",
        "Tỷ lệ đảng viên mới là người có đạo (%)",
    ),
    MetricDefinition(
        "disciplined_per_1000_member_years",
        "discipline",
        "rate",
        "disciplined_members",
        "party_members",
        "nearest",
        1000,
        "Members disciplined per 1,000 member-years",
        "Số đảng viên bị kỷ luật trên 1.000 đảng viên-năm",
        breakdown=tuple(f[1] for f in SEVERITY_FORMS),
        parts=tuple(b[0] for b in DISCIPLINING_BODIES),
    ),
)


def metric_definitions() -> pd.DataFrame:
    """The metric registry as a DataFrame, for labels and lookups.

    Returns:
        One row per metric, in registry order, with columns ``metric``,
        ``family``, ``kind``, ``multiplier``, ``label_en``, ``label_vi``,
        ``polarity_default`` (always None: whether higher is better is the
        user's call), ``numerator``, ``denominator``, ``match``, ``printed``,
        ``breakdown`` and ``parts`` (``;``-joined), ``stands_for`` and
        ``basis``. Stand-ins (``stands_for`` set) are not listed: their rows
        carry the id of the metric they stand for.

    Examples:
        >>> defs = metric_definitions().set_index("metric")
        >>> defs.loc["disciplined_per_1000_member_years", "kind"]
        'rate'
        >>> float(defs.loc["disciplined_per_1000_member_years", "multiplier"])
        1000.0
        >>> defs.loc["village_heads_party_members_share", "label_vi"]
        'Tỷ lệ trưởng thôn là đảng viên (%)'
    """
    frame = _registry([d for d in METRICS if d.stands_for is None]).drop(columns="m_order")
    frame["polarity_default"] = None
    first = ["metric", "family", "kind", "multiplier", "label_en", "label_vi", "polarity_default"]
    return frame[first + [c for c in frame.columns if c not in first]]


def _registry(defs) -> pd.DataFrame:
    """Metric definitions as a frame, lists ``;``-joined, numbered by ``m_order``."""
    frame = pd.DataFrame([asdict(d) for d in defs])
    for column in ("breakdown", "parts"):
        frame[column] = frame[column].map(";".join)
    frame["multiplier"] = frame["multiplier"].astype(float)
    return frame.assign(m_order=np.arange(len(frame)))


def share_interval(count, nobs, *, conf_level=0.95, method: str = "wilson"):
    """Deprecated: use :func:`analysis.stats.intervals.interval` (``x``, ``n``, ``method``).

    Returns:
        ``(lower, upper)`` as numpy arrays of proportions (0–1).

    Examples:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     low, upp = share_interval([4], [27])
        >>> print(round(low[0], 3), round(upp[0], 3))
        0.059 0.325
    """
    deprecated("share_interval(count, nobs)", "analysis.stats.interval(x, n, method='wilson')")
    _check_share_method(method)
    result = interval(np.asarray(count, dtype=float), np.asarray(nobs, dtype=float), conf_level, method=method)
    return result.lower, result.upper


def rate_interval(count, exposure, *, conf_level=0.95):
    """Deprecated: use :func:`analysis.stats.intervals.exact` (``x``, ``n``).

    Returns:
        ``(lower, upper)`` as numpy arrays, per unit of exposure.

    Examples:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     low, upp = rate_interval([22], [2458.5])
        >>> print(round(1000 * low[0], 2), round(1000 * upp[0], 2))
        5.61 13.55
    """
    deprecated("rate_interval(count, exposure)", "analysis.stats.exact(x, n)")
    result = interval(np.asarray(count, dtype=float), np.asarray(exposure, dtype=float), conf_level, method="exact")
    return result.lower, result.upper


def compute_metrics(
    observations: pd.DataFrame,
    *,
    families=None,
    conf_level: float = 0.95,
    tolerance_days: int = 730,
    method_share: str = "wilson",
    as_of=None,
) -> pd.DataFrame:
    """All metrics of the chosen families, for every unit that reports a numerator.

    A unit appears for a metric when it reports the numerator (a count or a
    printed percentage); if the metric cannot be computed it still appears,
    with ``computable`` false and a ``reason``. Units that report nothing
    for a metric have no row for it.

    Args:
        observations: The processed observations (``docs/design.md``). Only
            ``obs_id``, ``unit_code``, ``indicator`` and ``value`` are
            required; ``unit_label`` (default: the code), ``province_code``,
            ``source_id``, ``approximate`` (False), ``preferred`` (True),
            ``flags`` ('') and the dates (NaT) are filled when absent.
        families: Family names to compute (default: all three).
        conf_level: Confidence level of the intervals.
        tolerance_days: Furthest a stock denominator may be from the
            numerator's date or period, in days.
        method_share: ``wilson`` or ``beta`` (Clopper–Pearson) for shares.
        as_of: If given, only figures describing dates on or before it
            (stocks by ``as_of``, flows by ``period_end``) are used; undated
            figures are then left out, since they cannot be placed before it.

    Returns:
        The metrics table (columns :data:`METRIC_COLUMNS`), sorted by unit
        code, then metric in registry order (:data:`METRICS`), then period
        (undated last). For stock metrics ``period_start`` and
        ``period_end`` are both the numerator's ``as_of``. For rates,
        ``denominator`` is the members stock and ``exposure`` its
        member-years.

    Raises:
        InputError: A required column is missing or a date is unreadable.
        UsageError: An unknown family or share method, a level outside
            (0, 1), a negative tolerance, or an ``as_of`` that is no date.

    Examples:
        A printed percentage becomes a count once its denominator is known;
        without one it keeps its value and gets no interval:

        >>> obs = pd.DataFrame({"obs_id": ["O1", "C1", "O2"],
        ...     "unit_code": ["614", "614", "616"],
        ...     "indicator": ["village_heads_party_members_share", "villages",
        ...                   "village_heads_party_members_share"],
        ...     "value": [75.51, 49, 90.0],
        ...     "as_of": ["2021-08-23", "2020-12-31", "2021-06-30"]})
        >>> m = compute_metrics(obs, families=["coverage"])
        >>> m[["unit_code", "numerator", "denominator", "estimate", "computable"]].round(2).values.tolist()
        [['614', 37.0, 49.0, 75.51, True], ['616', nan, nan, 90.0, False]]
        >>> m["method"].iloc[0]
        'count derived from printed percent × n; Wilson score (PHEindicatormethods wilson_lower/wilson_upper)'
        >>> m["reason"].iloc[1]
        'percentage printed without a usable denominator: value kept, no interval (no denominator: villages...)'
    """
    conf_level = _check_level(conf_level)
    _check_share_method(method_share)
    check_tolerance(tolerance_days)
    chosen = FAMILIES if families is None else tuple([families] if isinstance(families, str) else families)
    unknown = sorted(set(chosen) - set(FAMILIES))
    if unknown:
        raise UsageError(f"unknown metric family {unknown[0]!r}; use one of {', '.join(FAMILIES)}", field="families")
    used = [d for d in METRICS if d.family in chosen]
    defs = _registry(used)
    names = _indicators(used)
    obs = _with_summed_parts(usable(observations, as_of, names), used, names)
    rows = pair_denominators(obs, defs, names, tolerance_days)
    if rows.empty:
        return empty_table(METRIC_COLUMNS)
    return _finest_basis(_estimate(rows, conf_level, method_share))


def coverage_metrics(observations: pd.DataFrame, **options) -> pd.DataFrame:
    """Member coverage metrics (village heads, cells, villages, members per population, households).

    Args:
        observations: The processed observations.
        **options: ``conf_level``, ``tolerance_days``, ``method_share``,
            ``as_of``, as in :func:`compute_metrics`.

    Returns:
        The metrics table restricted to the ``coverage`` family.

    Examples:
        >>> obs = pd.DataFrame({"obs_id": ["O1", "O2"], "unit_code": "614",
        ...     "indicator": ["households_assigned", "members_assigned_households"],
        ...     "value": [6065, 1072], "as_of": "2021-08-23"})
        >>> m = coverage_metrics(obs)
        >>> m[["metric", "estimate", "computable"]].round(2).values.tolist()
        [['assigned_members_share', nan, False], ['households_per_assigned_member', 5.66, True]]
        >>> m["reason"].iloc[0]
        'no denominator: party_members not reported'
        >>> m["method"].iloc[1]
        'ratio of two counts; no interval (neither a proportion nor a rate)'
    """
    return compute_metrics(observations, families=["coverage"], **options)


def admission_metrics(observations: pd.DataFrame, **options) -> pd.DataFrame:
    """Admission metrics (rural-cell, ethnic-minority, female, religious shares; rate).

    Args:
        observations: The processed observations.
        **options: As in :func:`compute_metrics`.

    Returns:
        The metrics table restricted to the ``admissions`` family.

    Examples:
        >>> obs = pd.DataFrame({"obs_id": ["O1", "O2"], "unit_code": "615",
        ...     "indicator": ["admissions", "admissions_ethnic_minority"],
        ...     "value": [300, 124], "period_start": "2020-10-01",
        ...     "period_end": "2023-06-30"})
        >>> m = admission_metrics(obs)
        >>> m[["metric", "estimate", "computable"]].round(1).values.tolist()
        [['admissions_per_100_member_years', nan, False], ['admissions_ethnic_minority_share', 41.3, True]]
        >>> m["reason"].iloc[0]
        'no denominator: party_members not reported'
    """
    return compute_metrics(observations, families=["admissions"], **options)


def discipline_metrics(observations: pd.DataFrame, **options) -> pd.DataFrame:
    """Members disciplined per 1,000 member-years, with an exact Poisson interval.

    For the severity mix see :func:`severity_mix`.

    Args:
        observations: The processed observations.
        **options: As in :func:`compute_metrics`.

    Returns:
        The metrics table restricted to the ``discipline`` family.

    Examples:
        >>> obs = pd.DataFrame({"obs_id": ["O1", "O2"], "unit_code": "614",
        ...     "indicator": ["disciplined_members", "party_members"],
        ...     "value": [22, 1639], "as_of": [None, "2021-06-20"],
        ...     "period_start": ["2020-01-01", None], "period_end": ["2021-08-23", None]})
        >>> m = discipline_metrics(obs)
        >>> m[["exposure", "estimate", "lower", "upper"]].round(2).values.tolist()
        [[2696.89, 8.16, 5.11, 12.35]]
    """
    return compute_metrics(observations, families=["discipline"], **options)


# ---------------------------------------------------------- checks and parts


def _check_level(conf_level) -> float:
    """One confidence level as a fraction (0.9–1, or a percent 90–100)."""
    return conf_levels(conf_level, count=1)[0]


def _check_share_method(method: str) -> None:
    if method not in SHARE_METHODS:
        raise UsageError(
            f"unknown share interval method {method!r}; use one of {', '.join(SHARE_METHODS)}", field="method_share"
        )


def _indicators(defs) -> pd.Index:
    """Every indicator the given metric definitions read (sorted; positions are ``ind_id``)."""
    names = [(d.numerator, d.denominator, d.printed, *d.breakdown, *d.parts) for d in defs]
    return pd.Index(sorted({n for group in names for n in group if n}))


def _with_summed_parts(obs: pd.DataFrame, defs, names: pd.Index) -> pd.DataFrame:
    """Add a numerator summed from its parts where a unit and period print the parts but no total.

    One figure per part and key (:func:`first_per_key`); a key with a
    printed total keeps it and gets no sum, so a total is never counted
    twice. The summed row joins the parts' ``obs_id``s with ``;``, is hedged
    when any part is, and carries the parts' flags plus :data:`SUMMED_FLAG`
    (and :data:`PARTIAL_FLAG` when some parts were not published).
    """
    added = []
    for d in (d for d in defs if d.parts):
        parts = first_per_key(obs[obs["indicator"].isin(d.parts)], ["indicator"])
        if parts.empty:
            continue
        totals = obs.loc[obs["indicator"] == d.numerator, KEY].drop_duplicates().assign(_total=True)
        parts = parts[parts[KEY].merge(totals, on=KEY, how="left")["_total"].isna().to_numpy()]
        if parts.empty:
            continue
        parts = parts.sort_values("_order", kind="stable")
        flags = union_flags_by_group(parts, KEY, ["flags"])
        grouped = parts.assign(_flags=flags).groupby(KEY, dropna=False, sort=False)
        first = grouped.head(1).set_index(KEY)
        sums = grouped.agg(
            value=("value", "sum"),
            obs_id=("obs_id", ";".join),
            approximate=("approximate", "any"),
            bodies=("indicator", "nunique"),
        )
        first = first.assign(**{c: sums[c].to_numpy() for c in ("value", "obs_id", "approximate")})
        complete = sums["bodies"].to_numpy() == len(d.parts)
        marks = np.where(complete, SUMMED_FLAG, SUMMED_FLAG + ";" + PARTIAL_FLAG).astype(object)
        first["flags"] = union_flags(first["_flags"].to_numpy(dtype=object), marks)
        added.append(
            first.drop(columns="_flags")
            .reset_index()
            .assign(indicator=d.numerator, ind_id=names.get_loc(d.numerator), value_decimals=np.nan)
        )
    if not added:
        return obs
    return pd.concat([obs, *added], ignore_index=True)


def _finest_basis(metrics: pd.DataFrame) -> pd.DataFrame:
    """Stand-in rows take the id of the metric they stand for, unless it has a row for the unit and period."""
    stands_for = {d.metric: d.stands_for for d in METRICS if d.stands_for}
    stand_in = metrics["metric"].isin(stands_for).to_numpy()
    if not stand_in.any():
        return metrics
    key = ["unit_code", "period_start", "period_end", "metric"]
    renamed = metrics["metric"].astype(object).where(~stand_in, metrics["metric"].map(stands_for))
    out = metrics.assign(metric=renamed.astype(str))
    finer = out.loc[~stand_in, key].drop_duplicates().assign(_finer=True)
    covered = out[key].merge(finer, on=key, how="left")["_finer"].notna().to_numpy() & stand_in
    out = out[~covered]
    position = {d.metric: i for i, d in enumerate(METRICS)}
    return (
        out.assign(_position=out["metric"].map(position))
        .sort_values(["unit_code", "_position", "period_end", "period_start"], kind="stable", na_position="last")
        .drop(columns="_position")
        .reset_index(drop=True)
    )


# ------------------------------------------------------------------ estimates


def _estimate(rows: pd.DataFrame, conf_level: float, method_share: str) -> pd.DataFrame:
    """Counts, estimates, intervals, reasons and trails for the paired rows."""
    kind = rows["kind"].to_numpy(dtype=object)
    share, rate = kind == "share", kind == "rate"
    n, printed = rows["d_value"].to_numpy(dtype=float), rows["p_value"].to_numpy(dtype=float)
    exposure, n_value = rows["exposure"].to_numpy(dtype=float), rows["n_value"].to_numpy(dtype=float)
    p_approx, p_known = _flag(rows["p_approx"]), ~np.isnan(printed)
    has_count = ~np.isnan(n_value)
    with np.errstate(invalid="ignore", divide="ignore"):
        derivable = ~has_count & p_known & (n > 0) & share
        derived = np.round(printed / 100 * n)
        # A printed percentage must be a whole count of n, to its printed precision
        # (value_decimals from the data layer, else read off the number).
        decimals = rows["p_decimals"].to_numpy(dtype=float)
        decimals = np.where(
            np.isnan(decimals),
            np.select([np.round(printed, k) == printed for k in range(3)], [0, 1, 2], default=3),
            decimals,
        )
        fits = (np.abs(100 * derived / n - printed) <= 0.5 * 10.0**-decimals + 1e-9) | p_approx
        count = np.where(has_count, n_value, np.where(derivable & fits, derived, np.nan))

        reason = texts(rows["d_reason"])
        checks = (
            ((n == 0) & ~rate, lambda m: "denominator is zero"),
            (rate & (exposure <= 0), lambda m: "zero exposure"),
            (
                share & (count > n),
                lambda m: "numerator " + fmt_numbers(count[m]) + " exceeds denominator " + fmt_numbers(n[m]),
            ),
            (
                derivable & ~fits,
                lambda m: (
                    "printed "
                    + fmt_numbers(printed[m])
                    + "% is no whole count of "
                    + fmt_numbers(n[m])
                    + " "
                    + rows["denominator"].to_numpy(dtype=object)[m]
                ),
            ),
        )
    for mask, text in checks:
        mask = mask & (reason == "")
        if mask.any():
            made = text(mask)
            reason[mask] = made.to_numpy() if isinstance(made, pd.Series) else made
    computable = (reason == "") & ~np.isnan(count)
    keep_printed = ~computable & p_known
    no_base = keep_printed & (texts(rows["d_reason"]) != "")
    reason[no_base] = (
        "percentage printed without a usable denominator: value kept, no interval (" + reason[no_base] + ")"
    )
    reason[keep_printed & ~no_base] = reason[keep_printed & ~no_base] + "; printed percentage kept, no interval"

    multiplier = rows["multiplier"].to_numpy(dtype=float)
    estimate = np.where(keep_printed, printed, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate[computable] = (multiplier * count / np.where(rate, exposure, n))[computable]
    lower, upper = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    for mask, base, name in ((computable & share, n, method_share), (computable & rate, exposure, "exact")):
        if mask.any():
            found = interval(count[mask], base[mask], conf_level, method=name, multiplier=1.0)
            lower[mask], upper[mask] = found.lower * multiplier[mask], found.upper * multiplier[mask]

    share_text = INTERVAL_METHODS[method_share]
    method = np.select(
        [computable & share & has_count, computable & share, computable & rate, computable, keep_printed],
        [
            share_text,
            "count derived from printed percent × n; " + share_text,
            INTERVAL_METHODS["exact"],
            "ratio of two counts; no interval (neither a proportion nor a rate)",
            "printed percent; no interval",
        ],
        default="",
    ).astype(object)

    summed = computable & pd.Series(texts(rows["n_flags"])).str.contains(SUMMED_FLAG, regex=False).to_numpy()
    method[summed] = "numerator summed from its parts, no total printed; " + method[summed]
    d_found = rows["d_obs"].notna().to_numpy()
    p_used = p_known & (~has_count | keep_printed)
    out = pd.DataFrame(
        {
            "unit_code": rows["unit_code"].to_numpy(dtype=object),
            "unit_label": rows["unit_label"].to_numpy(dtype=object),
            "province_code": rows["province_code"].to_numpy(dtype=object),
            "family": rows["family"].to_numpy(dtype=object),
            "metric": rows["metric"].to_numpy(dtype=object),
            "period_start": rows["period_start"].to_numpy(),
            "period_end": rows["period_end"].to_numpy(),
            "numerator": np.where(np.isnan(count), n_value, count),
            "denominator": n,
            "exposure": np.where(rate & d_found, exposure, np.nan),
            "estimate": estimate,
            "lower": lower,
            "upper": upper,
            "multiplier": multiplier,
            "conf_level": np.where(computable & (kind != "ratio"), conf_level, np.nan),
            "method": method,
            "basis": texts(rows["basis"]),
            "approximate": _flag(rows["n_approx"]) | (p_approx & p_used) | (_flag(rows["d_approx"]) & d_found),
            "computable": computable,
            "reason": reason,
            "obs_ids": join_texts(rows["n_obs"], texts(rows["p_obs"], p_used), texts(rows["d_obs"], d_found)),
            "flags": union_flags(
                rows["n_flags"], texts(rows["p_flags"], p_used), texts(rows["d_flags"], d_found), rows["b_flags"]
            ),
        }
    )
    order = np.lexsort(
        (
            rows["src_id"].to_numpy(),
            out["period_start"].to_numpy(),
            out["period_end"].to_numpy(),
            rows["m_order"].to_numpy(),
            pd.factorize(out["unit_code"], sort=True)[0],
        )
    )
    return as_text(out.iloc[order].reset_index(drop=True))


def _flag(column: pd.Series) -> np.ndarray:
    """A boolean column as a numpy bool array, missing = False."""
    return column.fillna(False).to_numpy(dtype=bool)
