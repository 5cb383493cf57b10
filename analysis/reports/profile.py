"""The district profile: every published figure on one district, its sources, metrics and flags."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.errors import UsageError
from analysis.plots import caterpillar_plot, level_text, severity_mix_plot
from analysis.reports.formatting import (
    figure_title,
    indicator_labels,
    metric_rows,
    overlaps,
    period_text,
    records,
    reference_dates,
    row_flags,
    rule_meaning,
    show_figure,
    show_table,
    value_text,
)
from analysis.reports.narration import narrate, say
from analysis.reports.parameters import ProfileParams
from analysis.reports.quality import flag_items
from analysis.stats.metrics import severity_mix

#: Columns of the profile's tables, in the order shown.
FIGURE_COLUMNS = (
    "unit_label",
    "indicator_label",
    "value",
    "date",
    "flags",
    "obs_id",
    "source_id",
    "publisher",
    "title",
    "published",
    "locator",
)
SOURCE_COLUMNS = ("source_id", "publisher", "title", "published", "url", "n_figures")
PROFILE_METRIC_COLUMNS = (
    "metric_label",
    "period",
    "estimate",
    "interval",
    "benchmark",
    "comparison_label",
    "reason",
    "approximate",
    "flags",
    "obs_ids",
    "source_ids",
)
PROFILE_FLAG_COLUMNS = ("rule", "severity", "indicator", "message", "obs_ids")


@dataclass
class Profile:
    """Everything the district profile shows.

    Attributes:
        params: The checked :class:`~analysis.reports.parameters.ProfileParams`.
        facts: Values quoted by the narration.
        figures: One row per published figure about the district (and its
            communes and villages) in the period, with its source.
        sources: The documents those figures come from.
        metrics: The district's metrics, compared with the province.
        compared: The comparison rows of every district that can be compared
            on a metric the district can be compared on (for the charts).
        severity: The district's discipline by form (``analysis.stats.metrics.severity_mix``).
        flags: Quality flags on the district's figures.
    """

    params: ProfileParams
    facts: dict
    figures: pd.DataFrame
    sources: pd.DataFrame
    metrics: pd.DataFrame
    compared: pd.DataFrame
    severity: pd.DataFrame
    flags: pd.DataFrame


def district_observations(
    observations: pd.DataFrame, unit_code: str, period_start=None, period_end=None
) -> pd.DataFrame:
    """The figures of a district and of the communes and villages in it, within a period.

    Args:
        observations: Processed observations.
        unit_code: The district's code.
        period_start, period_end: ISO dates or None; a figure is kept when its
            date or period overlaps; undated figures are kept only without a period.

    Returns:
        The matching observations, in their original order.

    Examples:
        >>> obs = pd.DataFrame({"district_code": ["614", "614", "615"], "unit_code": ["614", "23320", "615"],
        ...     "as_of": pd.to_datetime(["2021-08-23", "2019-01-01", "2021-01-01"]),
        ...     "period_start": pd.NaT, "period_end": pd.NaT})
        >>> district_observations(obs, "614")["unit_code"].tolist()
        ['614', '23320']
        >>> district_observations(obs, "614", period_start="2020-01-01")["unit_code"].tolist()
        ['614']
    """
    mine = observations[(observations["district_code"] == unit_code) | (observations["unit_code"] == unit_code)]
    start, end = reference_dates(mine)
    return mine[overlaps(start, end, period_start, period_end)]


def in_period(metrics: pd.DataFrame, params) -> pd.DataFrame:
    """The metrics rows whose period overlaps the profile's period (all of them without one).

    Examples:
        >>> from types import SimpleNamespace
        >>> m = pd.DataFrame({"period_start": pd.to_datetime(["2019-01-01", "2021-01-01"]),
        ...                   "period_end": pd.to_datetime(["2019-12-31", "2021-12-31"])})
        >>> len(in_period(m, SimpleNamespace(period_start="2020-01-01", period_end=None)))
        1
    """
    return metrics[overlaps(metrics["period_start"], metrics["period_end"], params.period_start, params.period_end)]


def build_profile(ds, params, compared: pd.DataFrame) -> Profile:
    """Gather what the district profile shows, from the dataset and the comparison a notebook computed.

    The notebook calls :func:`analysis.compute_metrics` and
    :func:`analysis.compare_districts` (every family, the districts of the
    district's province, metrics of the profile's period: :func:`in_period`)
    with its arguments in view; the district's own rows are the metrics the
    profile shows, the others are drawn beside it.

    Args:
        ds: The :class:`~analysis.data.dataset.Dataset`.
        params: :class:`~analysis.reports.parameters.ProfileParams`.
        compared: :func:`~analysis.stats.comparison.compare_districts` of the province.

    Returns:
        The :class:`Profile`.
    """
    lang = params.lang
    obs = ds.observations
    mine = district_observations(obs, params.unit_code, params.period_start, params.period_end)
    sources = ds.sources.set_index("source_id")
    figures = pd.DataFrame(
        {
            "unit_label": mine["unit_label"],
            "indicator": mine["indicator"],
            "indicator_label": mine["indicator"].map(indicator_labels(ds.codebook, lang)),
            "value": value_text(mine["value"], mine["value_decimals"], mine["qualifier"], mine["value_unit"], lang),
            "date": period_text(*reference_dates(mine)),
            "approximate": mine["approximate"],
            "flags": row_flags(mine["flags"]),
            "obs_id": mine["obs_id"],
            "source_id": mine["source_id"],
            "publisher": mine["source_id"].map(sources["publisher"]),
            "title": mine["source_id"].map(sources["title"]),
            "published": mine["source_id"].map(sources["published"]),
            "locator": mine["locator"],
        }
    ).reset_index(drop=True)
    used = mine["source_id"].value_counts()
    source_table = (
        ds.sources[ds.sources["source_id"].isin(used.index)]
        .assign(n_figures=lambda s: s["source_id"].map(used).astype(int))[list(SOURCE_COLUMNS)]
        .reset_index(drop=True)
    )

    unreported = compared["reason"].fillna("").isin(["not reported", "no figure in the period"])
    own = compared[(compared["unit_code"] == params.unit_code) & ~unreported]
    comparable = own.loc[own["comparison"] != "not compared", "metric"]
    charted = compared[compared["metric"].isin(comparable) & (compared["comparison"] != "not compared")]

    items = flag_items(ds.flags, obs)
    touched = sorted(items.loc[items["obs_id"].isin(mine["obs_id"]), "flag"].unique())
    flags = ds.flags.reset_index(drop=True).loc[touched, list(PROFILE_FLAG_COLUMNS)].reset_index(drop=True)
    unit = ds.units.set_index("unit_code")
    facts = {
        "district": params.district,
        "province": params.province,
        "full_name": unit["full_name"].get(params.unit_code, params.district),
        "valid_to": unit["valid_to"].fillna("").astype(str).get(params.unit_code, ""),
        "n_figures": len(figures),
        "n_sources": len(source_table),
        "n_metrics": len(own),
        "n_compared": int(comparable.size),
        "n_flags": len(flags),
        "inner": level_text(0.95, lang),
        "outer": level_text(0.998, lang),
        "period": (
            narrate("profile_period", lang, start=params.period_start or "…", end=params.period_end or "…")
            if params.period_start or params.period_end
            else ""
        ),
    }
    return Profile(
        params=params,
        facts=facts,
        figures=figures,
        sources=source_table,
        metrics=metric_rows(own, obs, lang).reset_index(drop=True),
        compared=charted.reset_index(drop=True),
        severity=severity_mix(mine),
        flags=flags,
    )


def profile_plots(profile: Profile) -> dict:
    """The profile's charts: a caterpillar plot per family the district can be compared on (the
    district's name in bold), and its discipline by form when published.

    Args:
        profile: From :func:`build_profile`.

    Returns:
        Figure name (``caterpillar_<family>``, ``severity_mix``) → Figure.
    """
    lang = profile.params.lang
    plots = {}
    for family in pd.unique(profile.compared["family"]):
        plots[f"caterpillar_{family}"] = caterpillar_plot(
            profile.compared[profile.compared["family"] == family], lang=lang, highlight=profile.params.unit_code
        )
    if profile.severity["count"].notna().any():
        mix = profile.severity.assign(
            period=period_text(profile.severity["period_start"], profile.severity["period_end"])
        )
        plots["severity_mix"] = severity_mix_plot(mix, lang=lang)
    return plots


def profile_section(profile: Profile, section: str, plots: dict | None = None) -> list:
    """What one section of the profile displays: narration, then a table or figures.

    Args:
        profile: From :func:`build_profile`.
        section: ``intro``, ``figures``, ``sources``, ``metrics``, ``charts``
            (needs ``plots``) or ``flags``.
        plots: From :func:`profile_plots`, for ``charts``.

    Returns:
        Objects for ``display(*...)``.

    Raises:
        UsageError: An unknown section.
    """
    lang, facts = profile.params.lang, profile.facts
    empty = facts["n_figures"] == 0
    if section == "intro":
        return [
            say(
                "profile_title",
                "profile_nothing" if empty else "profile_intro",
                *(["profile_former"] if facts["valid_to"] else []),
                lang=lang,
                **facts,
            )
        ]
    if section == "figures":
        return (
            []
            if empty
            else [
                say("figures_heading", "figures_text", lang=lang, **facts),
                show_table(profile.figures, lang, FIGURE_COLUMNS),
            ]
        )
    if section == "sources":
        return (
            []
            if empty
            else [
                say("sources_heading", "sources_text", lang=lang, **facts),
                show_table(profile.sources, lang, SOURCE_COLUMNS),
            ]
        )
    if section == "metrics":
        if profile.metrics.empty:
            return [say("metrics_heading", "metrics_none", lang=lang, **facts)]
        return [
            say("metrics_heading", "metrics_text", lang=lang, **facts),
            show_table(profile.metrics, lang, PROFILE_METRIC_COLUMNS),
        ]
    if section == "charts":
        if not plots:
            return [say("plots_heading", "plots_none", lang=lang, **facts)]
        return [say("plots_heading", "plots_text", lang=lang, **facts)] + [show_figure(f) for f in plots.values()]
    if section == "flags":
        if profile.flags.empty:
            return [say("flags_heading", "flags_none", lang=lang, **facts)]
        from IPython.display import Markdown

        rules = pd.Series(pd.unique(profile.flags["rule"].astype(str)))
        meanings = "\n".join("- `" + rules + "`: " + rule_meaning(rules, lang))
        return [
            say("flags_heading", "flags_text", lang=lang, **facts),
            Markdown(meanings),
            show_table(profile.flags, lang, PROFILE_FLAG_COLUMNS),
        ]
    raise UsageError(f"unknown profile section {section!r}", field="section")


def profile_artifact(profile: Profile, plots: dict) -> dict:
    """The profile's machine-readable summary.

    Returns:
        ``kind``, ``district``, ``unit_code``, ``province_code``, ``lang``,
        ``period_start``, ``period_end``, ``n_observations``, ``obs_ids``,
        ``sources`` (ids), ``metrics`` (one dict per metric the district
        reports: ``metric``, ``label``, ``period``, ``estimate``, ``lower``,
        ``upper``, ``computable``, ``reason``, ``comparison``, ``benchmark``,
        ``obs_ids``, ``source_ids``), ``flags`` (rules), ``figures`` (names)
        and ``figure_titles`` (name → title, in ``lang``).
    """
    p, m = profile.params, profile.metrics
    metrics = m[
        [
            "metric",
            "metric_label",
            "period",
            "estimate",
            "lower",
            "upper",
            "computable",
            "full_reason",
            "comparison",
            "comparison_label",
            "benchmark",
            "obs_ids",
            "source_ids",
        ]
    ].rename(columns={"metric_label": "label", "full_reason": "reason"})
    return {
        "kind": "district_profile",
        "district": p.district,
        "unit_code": p.unit_code,
        "province_code": p.province_code,
        "lang": p.lang,
        "period_start": p.period_start,
        "period_end": p.period_end,
        "n_observations": len(profile.figures),
        "obs_ids": profile.figures["obs_id"].tolist(),
        "sources": profile.sources["source_id"].tolist(),
        "metrics": records(metrics),
        "flags": sorted(profile.flags["rule"].unique().tolist()),
        "figures": list(plots),
        "figure_titles": {name: figure_title(fig) for name, fig in plots.items()},
    }
