"""The comparison of districts on one metric family against a benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.errors import UsageError
from analysis.plots import (
    availability_plot,
    caterpillar_plot,
    funnel_plot,
    level_text,
    number_text,
    reason_text,
)
from analysis.reports.formatting import (
    figure_title,
    metric_rows,
    overlaps,
    period_text,
    records,
    show_figure,
    show_table,
)
from analysis.reports.narration import (
    ANCHOR_TEXTS,
    CAVEATS,
    FAMILY_LABELS,
    FIGURES_WORD,
    markdown_value,
    narrate,
    pick,
    say,
)
from analysis.reports.parameters import ComparisonParams
from analysis.stats.comparison import AVAILABILITY, availability
from analysis.stats.metrics import compute_metrics, metric_definitions

#: National figures the project cites as benchmarks, by metric, in display units (the national plausibility
#: anchors of the project's methods notes; how each is cited: ``anchors`` in the report catalogues). A
#: comparison whose benchmark equals a metric's anchor cites it, and the report carries the
#: ``national_benchmark`` caveat.
NATIONAL_ANCHORS = {"disciplined_per_1000_member_years": 4.0, "admissions_per_100_member_years": 2.75}

#: Caveats raised by a quality check on a figure used, by rule id.
_FLAG_CAVEATS = (
    "breakdown_exceeds_total",
    "conflicting_sources",
    "percent_count_mismatch",
    "suspect_note",
    "historical_unit",
)


#: Columns of the comparison's table, in the order shown (hedged figures are named under Caveats); ``basis``
#: (village cells or commune-level organisations) when the comparison gives one.
COMPARISON_COLUMNS = (
    "unit_label",
    "metric_label",
    "basis",
    "period",
    "estimate",
    "interval",
    "benchmark",
    "comparison_label",
    "shrunk_estimate",
    "reason",
    "flags",
    "obs_ids",
    "source_ids",
)


@dataclass
class Comparison:
    """Everything the district comparison shows.

    Attributes:
        params: The checked :class:`~analysis.reports.parameters.ComparisonParams`.
        facts: Values quoted by the narration; ``benchmark_value`` is the benchmark
            the comparison used (``'pooled'`` or the number given to
            :func:`~analysis.stats.comparison.compare_districts`).
        availability: District × metric matrix of :func:`analysis.stats.comparison.availability`,
            every compared district included.
        compared: The output of :func:`analysis.stats.comparison.compare_districts`.
        table: Display rows of every reported district × metric, with their trail.
        caveats: ``{"id", "units", "text"}`` for each caveat that applies.
    """

    params: ComparisonParams
    facts: dict
    availability: pd.DataFrame
    compared: pd.DataFrame
    table: pd.DataFrame
    caveats: list = field(default_factory=list)


def benchmark_text(benchmark, metrics, lang: str) -> tuple[str, str | None]:
    """How a comparison's benchmark is described, and the national anchor it matches, if any.

    Args:
        benchmark: ``'pooled'`` or a number in display units.
        metrics: The metric ids compared.
        lang: ``'en'`` or ``'vi'``.

    Returns:
        The wording for the narration, and the metric id of the
        :data:`NATIONAL_ANCHORS` entry the number equals (None when pooled or
        when it matches no anchor).

    Examples:
        >>> benchmark_text(4.0, ["disciplined_per_1000_member_years"], "en")[0][:50]
        '4 per 1,000 member-years, the national anchor: abo'
        >>> benchmark_text(5.0, ["disciplined_per_1000_member_years"], "en")[1] is None
        True
    """
    if benchmark == "pooled":
        return narrate("benchmark_pooled", lang), None
    value = number_text(benchmark, lang)
    anchor = next((m for m in metrics if m in NATIONAL_ANCHORS and NATIONAL_ANCHORS[m] == benchmark), None)
    if anchor is None:
        return narrate("benchmark_unsourced", lang, value=value), None
    return narrate("benchmark_anchor", lang, value=value, anchor=pick(ANCHOR_TEXTS[anchor], lang)), anchor


def used_benchmark(compared: pd.DataFrame):
    """The benchmark a comparison used: the number given to ``compare_districts``, else ``'pooled'``.

    Examples:
        >>> used_benchmark(pd.DataFrame({"benchmark": [4.0, 4.0], "benchmark_source": ["given", "given"]}))
        4.0
        >>> used_benchmark(pd.DataFrame({"benchmark": [3.1], "benchmark_source": ["pooled"]}))
        'pooled'
    """
    given = pd.to_numeric(compared.loc[compared["benchmark_source"] == "given", "benchmark"]).dropna().unique()
    return float(given[0]) if len(given) == 1 else "pooled"


def place_text(params, lang: str) -> str:
    """What the comparison is about, as the narration names it: a province, a region, or every province."""
    if params.province is not None:
        return narrate("place_province", lang, name=params.province)
    if params.region_code is not None:
        return narrate("place_region", lang, name=params.region)
    return narrate("place_all", lang)


def build_comparison(ds, params, metrics: pd.DataFrame, compared: pd.DataFrame) -> Comparison:
    """Gather what the district comparison shows from the metrics and the comparison a notebook computed.

    The notebook calls :func:`analysis.compute_metrics` and
    :func:`analysis.compare_districts` itself, with its arguments in view;
    this puts their results into tables, narration and caveats. The
    benchmark described is the one ``compared`` used (so changing it in the
    notebook's call changes the report), the family and districts those of
    ``compared``.

    Args:
        ds: The :class:`~analysis.data.dataset.Dataset`.
        params: :class:`~analysis.reports.parameters.ComparisonParams`.
        metrics: :func:`~analysis.stats.metrics.compute_metrics` of the family
            (for the availability matrix).
        compared: :func:`~analysis.stats.comparison.compare_districts` of the family.

    Returns:
        The :class:`Comparison`.
    """
    lang = params.lang
    family = str(compared["family"].iloc[0]) if len(compared) else params.family
    definitions = metric_definitions()
    names = definitions.loc[definitions["family"] == family, "metric"].tolist()
    roster = compared[["unit_code", "unit_label"]].drop_duplicates("unit_code")
    if params.period is not None:
        metrics = metrics[overlaps(metrics["period_start"], metrics["period_end"], *params.period)]
    matrix = availability(ds.observations, metrics, metric_names=names).reset_index(level="unit_label", drop=True)
    matrix = matrix.reindex(roster["unit_code"], fill_value=AVAILABILITY[2])
    matrix.index = pd.MultiIndex.from_frame(roster)
    reported = compared[~compared["reason"].fillna("").isin(["not reported"])]
    benchmark = used_benchmark(compared)
    described, anchor = benchmark_text(benchmark, names, lang)
    start, end = params.period or ("", "")
    facts = {
        "place": place_text(params, lang),
        "family": pick(FAMILY_LABELS[family], lang),
        "n_districts": len(roster),
        "n_metrics": len(names),
        "metrics": narrate("metric_count" if len(names) == 1 else "metrics_count", lang, n=len(names)),
        "n_compared": int((reported["comparison"] != "not compared").sum()),
        "benchmark": described,
        "benchmark_value": benchmark,
        "anchor": anchor,
        "start": start,
        "end": end,
        "rates": bool((definitions.loc[definitions["family"] == family, "kind"] == "rate").any()),
        "inner": level_text(params.levels[0], lang),
        "outer": level_text(params.levels[1], lang),
    }
    table = metric_rows(reported, ds.observations, lang).reset_index(drop=True)
    if "basis" in reported:
        table.insert(table.columns.get_loc("metric_label") + 1, "basis", reported["basis"].to_numpy())
    return Comparison(
        params=params,
        facts=facts,
        availability=matrix,
        compared=compared,
        table=table,
        caveats=comparison_caveats(reported, lang, ds.flags),
    )


def _tolerance_days() -> int:
    """The default distance (days) within which ``compute_metrics`` matches a base to a count."""
    import inspect

    return int(inspect.signature(compute_metrics).parameters["tolerance_days"].default)


def _flagged_figures(rows: pd.DataFrame, flags: pd.DataFrame, rule: str) -> pd.Series:
    """Per row, the figures (``, ``-joined ids) of every flag of ``rule`` that touches a figure the row uses.

    Examples:
        >>> rows = pd.DataFrame({"obs_ids": ["O22;O11", "O5"]})
        >>> flags = pd.DataFrame({"rule": ["breakdown_exceeds_total", "hedged_value"],
        ...                       "obs_ids": ["O22;O23;O24", "O5"]})
        >>> _flagged_figures(rows, flags, "breakdown_exceeds_total").tolist()
        ['O22, O23, O24', '']
    """

    def split(ids: pd.Series) -> pd.Series:
        return ids.fillna("").astype(str).str.split(";").explode()

    chosen = flags[flags["rule"] == rule].reset_index(drop=True)
    of_flag = split(chosen["obs_ids"]).rename("obs_id").rename_axis("flag").reset_index()
    of_row = split(rows["obs_ids"]).rename("obs_id").rename_axis("row").reset_index()
    touched = of_row.merge(of_flag, on="obs_id")[["row", "flag"]].drop_duplicates()
    figures = touched.merge(of_flag, on="flag").groupby("row")["obs_id"].agg(lambda s: ", ".join(sorted(set(s))))
    return figures.reindex(rows.index, fill_value="").astype(str)


def comparison_caveats(reported: pd.DataFrame, lang: str, flags: pd.DataFrame | None = None) -> list[dict]:
    """The caveats that apply to the reported rows of a comparison, each naming what it is about.

    Each caveat names the districts concerned with the metric and, when a
    quality check is the cause and ``flags`` is given, the figures (ids)
    involved: "Kon Rẫy (Members disciplined per 1,000 member-years; figures
    O0022, O0023)".

    Args:
        reported: Rows of :func:`analysis.stats.comparison.compare_districts` for
            districts that reported the metric.
        lang: ``'en'`` or ``'vi'``.
        flags: The dataset's quality flags (``rule``, ``obs_ids``), to name
            the figures behind a caveat.

    Returns:
        One ``{"id", "units", "text"}`` per caveat that applies, in the order
        of :data:`CAVEATS`.

    Examples:
        >>> rows = pd.DataFrame({"unit_label": ["Kon Rẫy", "Đắk Hà"], "metric": "d", "label_en": "Rate d",
        ...     "label_vi": "Tỷ lệ d", "kind": "rate", "comparison": ["similar", "not compared"],
        ...     "comparison_reason": [None, "period unknown"], "approximate": [False, True],
        ...     "flags": ["breakdown_exceeds_total", ""], "obs_ids": ["O2;O1", "O7"], "denominator": [1639, None],
        ...     "exposure": [2698.6, None], "period_start": pd.to_datetime(["2020-01-01", None]),
        ...     "period_end": pd.to_datetime(["2021-08-23", None])})
        >>> flags = pd.DataFrame({"rule": ["breakdown_exceeds_total"], "obs_ids": ["O2;O3;O4"]})
        >>> caveats = comparison_caveats(rows, "en", flags)
        >>> [c["id"] for c in caveats]
        ['breakdown_exceeds_total', 'approximate', 'exposure_from_one_stock', 'not_compared']
        >>> caveats[0]["text"].split(":")[0], caveats[-1]["text"]
        ('Kon Rẫy (Rate d; figures O2, O3, O4)', 'Published but not compared: period unknown: Đắk Hà (Rate d).')
        >>> caveats[2]["text"].split(". ")[-1]
        'Kon Rẫy: 1,639 members × 1.65 years = 2,699 member-years.'

        >>> comparison_caveats(rows, "vi", flags)[-1]["text"]
        'Có số liệu nhưng không so sánh được: không rõ thời kỳ: Đắk Hà (Tỷ lệ d).'
    """
    rule_of = reported["flags"].fillna("").astype(str)
    compared = (reported["comparison"] != "not compared").to_numpy()
    unit = reported["unit_label"].astype(str)
    label = reported[f"label_{lang}"].astype(str) if f"label_{lang}" in reported else reported["metric"].astype(str)
    chosen = {rule: rule_of.str.contains(rf"(?:^|;){rule}(?:;|$)", regex=True).to_numpy() for rule in _FLAG_CAVEATS}
    chosen["approximate"] = reported["approximate"].fillna(False).astype(bool).to_numpy()
    anchors = reported["metric"].map(NATIONAL_ANCHORS)
    given = reported["benchmark_source"] == "given" if "benchmark_source" in reported else False
    national = compared & (given & (reported.get("benchmark") == anchors)).to_numpy(bool)
    periods = period_text(reported["period_start"], reported["period_end"])[compared]
    ends = pd.to_datetime(pd.concat([reported["period_start"], reported["period_end"]])[np.tile(compared, 2)])
    rates = compared & (reported["kind"] == "rate").to_numpy()
    last_days = pd.to_datetime(reported["period_end"].where(reported["period_end"].notna(), reported["period_start"]))[
        compared
    ].dropna()
    tolerance = _tolerance_days()
    basis = reported["basis"].fillna("").astype(str) if "basis" in reported else pd.Series("", index=reported.index)
    kinds = basis.where(compared & (basis != "")).groupby(reported["metric"].astype(str)).transform("nunique")
    mixed = (compared & (kinds > 1) & (basis != "")).to_numpy()
    caveats = []
    for key, pair in CAVEATS.items():
        template = pick(pair, lang)
        if key in chosen and chosen[key].any():
            mine = chosen[key]
            figures = (
                _flagged_figures(reported[mine], flags, key)
                if flags is not None and key in _FLAG_CAVEATS
                else pd.Series("", index=reported.index[mine])
            )
            named = label[mine] + np.where(figures != "", f"; {pick(FIGURES_WORD, lang)} " + figures, "")
            items = list(pd.unique(unit[mine] + " (" + named + ")"))
            names = sorted(pd.unique(unit[mine]))
            caveats.append(
                {"id": key, "units": names, "text": template.format(units=", ".join(names), items="; ".join(items))}
            )
        elif key == "national_benchmark" and national.any():
            caveats.append({"id": key, "units": [], "text": template})
        elif key == "periods_differ" and periods.nunique() > 1:
            caveats.append(
                {
                    "id": key,
                    "units": [],
                    "text": template.format(
                        n=periods.nunique(), first=ends.min().strftime("%Y-%m-%d"), last=ends.max().strftime("%Y-%m-%d")
                    ),
                }
            )
        elif key == "periods_far_apart" and len(last_days) and (last_days.max() - last_days.min()).days > tolerance:
            caveats.append(
                {
                    "id": key,
                    "units": [],
                    "text": template.format(
                        days=number_text((last_days.max() - last_days.min()).days, lang, 0),
                        tolerance=number_text(tolerance, lang, 0),
                        first=last_days.min().strftime("%Y-%m-%d"),
                        last=last_days.max().strftime("%Y-%m-%d"),
                    ),
                }
            )
        elif key == "mixed_basis" and mixed.any():
            items = list(pd.unique(unit[mixed] + " (" + label[mixed] + ": " + basis[mixed] + ")"))
            caveats.append(
                {"id": key, "units": sorted(pd.unique(unit[mixed])), "text": template.format(items="; ".join(items))}
            )
        elif key == "exposure_from_one_stock" and rates.any():
            rows = reported[rates]
            members = pd.to_numeric(rows["denominator"])
            years = pd.to_numeric(rows["exposure"]) / members
            words = ("members", "years", "member-years") if lang == "en" else ("đảng viên", "năm", "đảng viên-năm")
            items = (
                unit[rates]
                + ": "
                + members.map(lambda v: number_text(v, lang, 0))
                + f" {words[0]} × "
                + years.map(lambda v: number_text(v, lang, 2))
                + f" {words[1]} = "
                + pd.to_numeric(rows["exposure"]).map(lambda v: number_text(v, lang, 0))
                + f" {words[2]}"
            )
            caveats.append(
                {"id": key, "units": sorted(pd.unique(unit[rates])), "text": template.format(items="; ".join(items))}
            )
        elif key == "not_compared" and (~compared).any():
            why = reason_text(reported.loc[~compared, "comparison_reason"], lang)
            named = unit[~compared] + " (" + label[~compared] + ")"
            groups = named.groupby(why, sort=False).agg(", ".join)
            caveats.append(
                {
                    "id": key,
                    "units": sorted(pd.unique(unit[~compared])),
                    "text": template.format(
                        items="; ".join(reason + ": " + listing for reason, listing in groups.items())
                    ),
                }
            )
    return caveats


def comparison_plots(comparison: Comparison) -> dict:
    """The comparison's charts: availability, and per comparable metric a caterpillar and a funnel plot.

    A funnel plot is drawn for metrics that at least two districts can be
    compared on.

    Args:
        comparison: From :func:`build_comparison`.

    Returns:
        Figure name (``availability``, ``caterpillar_<metric>``,
        ``funnel_<metric>``) → Figure.
    """
    params = comparison.params
    plots = {"availability": availability_plot(comparison.availability, lang=params.lang)}
    compared = comparison.compared
    reported = compared[compared["reason"].fillna("") != "not reported"]
    counts = reported[reported["comparison"] != "not compared"].groupby("metric", sort=False).size()
    benchmark = None if comparison.facts["benchmark_value"] == "pooled" else comparison.facts["benchmark_value"]
    dated = reported.assign(unit_label=period_labels(reported))
    for metric, n in counts.items():
        plots[f"caterpillar_{metric}"] = caterpillar_plot(reported, metric=metric, lang=params.lang)
        if n >= 2:
            plots[f"funnel_{metric}"] = funnel_plot(
                dated, metric, benchmark=benchmark, conf_level=params.levels, lang=params.lang
            )
    return plots


def period_labels(rows: pd.DataFrame) -> pd.Series:
    """District names with the period of their figure, as the funnel plot labels its points.

    Examples:
        >>> rows = pd.DataFrame({"unit_label": ["Kon Rẫy", "Đắk Hà"],
        ...     "period_start": pd.to_datetime(["2020-01-01", None]),
        ...     "period_end": pd.to_datetime(["2021-08-23", None])})
        >>> period_labels(rows).tolist()
        ['Kon Rẫy (2020-01-01 – 2021-08-23)', 'Đắk Hà']
    """
    period = period_text(rows["period_start"], rows["period_end"])
    return (rows["unit_label"].astype(str) + (" (" + period + ")").where(period != "", "")).astype(str)


def comparison_section(comparison: Comparison, section: str, plots: dict | None = None) -> list:
    """What one section of the comparison displays: narration, then a table or figures.

    Args:
        comparison: From :func:`build_comparison`.
        section: ``intro``, ``availability``, ``classification``,
            ``caterpillar``, ``funnel`` (these three need ``plots``) or ``caveats``.
        plots: From :func:`comparison_plots`.

    Returns:
        Objects for ``display(*...)``.

    Raises:
        UsageError: An unknown section.
    """
    lang, facts, plots = comparison.params.lang, comparison.facts, plots or {}
    if section == "intro":
        return [
            say(
                "comparison_title",
                "comparison_intro",
                *(["rates_text"] if facts["rates"] else []),
                "comparison_period" if facts["start"] else "comparison_latest",
                lang=lang,
                **facts,
            )
        ]
    if section == "availability":
        return [say("availability_heading", "availability_text", lang=lang, **facts)] + [
            show_figure(plots[name]) for name in ("availability",) if name in plots
        ]
    if section == "classification":
        if comparison.table.empty:
            return [say("classification_heading", "classification_none", lang=lang, **facts)]
        return [
            say("classification_heading", "classification_text", lang=lang, **facts),
            show_table(comparison.table, lang, [c for c in COMPARISON_COLUMNS if c in comparison.table]),
        ]
    if section in ("caterpillar", "funnel"):
        chosen = [fig for name, fig in plots.items() if name.startswith(section + "_")]
        compared_any = any(name.startswith("caterpillar_") for name in plots)
        text = f"{section}_text" if chosen else "funnel_nothing" if compared_any else "plots_nothing"
        return [say(f"{section}_heading", text, lang=lang, **facts)] + [show_figure(f) for f in chosen]
    if section == "caveats":
        if not comparison.caveats:
            return [say("caveats_heading", "caveats_none", lang=lang)]
        from IPython.display import Markdown

        # caveat templates hold no markup: the whole text is escaped (the artifact keeps it as is)
        items = "\n".join(f"- {markdown_value(c['text'])}" for c in comparison.caveats)
        return [say("caveats_heading", lang=lang), Markdown(items)]
    raise UsageError(f"unknown comparison section {section!r}", field="section")


def comparison_artifact(comparison: Comparison, plots: dict) -> dict:
    """The comparison's machine-readable summary.

    Returns:
        ``kind``, ``province_code``, ``family``, ``benchmark``,
        ``benchmark_note`` (where a given benchmark comes from, in ``lang``;
        None when pooled), ``national_anchor`` (the metric of
        :data:`NATIONAL_ANCHORS` the benchmark equals, or None), ``levels``,
        ``lang``, ``unit_codes``, ``rows`` (every reported district × metric:
        ``unit_code``, ``unit_label``, ``metric``, ``label``, ``period``,
        ``estimate``, ``lower``, ``upper``, ``benchmark``, ``comparison`` (in
        ``lang``), ``reason``, ``shrunk_estimate``, ``obs_ids``,
        ``source_ids``), ``not_compared`` (``unit_code``, ``unit_label``,
        ``metric``, ``reason``; districts that reported nothing have reason
        ``not reported``), ``availability`` (unit_code → metric → status),
        ``caveats``, ``figures`` and ``figure_titles``.
    """
    p, c, benchmark = comparison.params, comparison.compared, comparison.facts["benchmark_value"]
    columns = [
        "unit_code",
        "unit_label",
        "metric",
        "metric_label",
        "basis",
        "period",
        "estimate",
        "lower",
        "upper",
        "benchmark",
        "comparison",
        "comparison_label",
        "full_reason",
        "shrunk_estimate",
        "obs_ids",
        "source_ids",
    ]
    rows = comparison.table[[c for c in columns if c in comparison.table]].rename(
        columns={"metric_label": "label", "full_reason": "reason"}
    )
    hidden = c.loc[c["comparison"] == "not compared", ["unit_code", "unit_label", "metric", "comparison_reason"]]
    return {
        "kind": "district_comparison",
        "province_code": p.province_code,
        "region": p.region,
        "region_code": p.region_code,
        "period": list(p.period) if p.period else None,
        "family": p.family,
        "benchmark": benchmark,
        "benchmark_note": None if benchmark == "pooled" else comparison.facts["benchmark"],
        "national_anchor": comparison.facts["anchor"],
        "levels": list(p.levels),
        "lang": p.lang,
        "unit_codes": list(p.unit_codes),
        "rows": records(rows),
        "not_compared": records(hidden.rename(columns={"comparison_reason": "reason"}).fillna({"reason": ""})),
        "availability": comparison.availability.reset_index(level="unit_label", drop=True).to_dict(orient="index"),
        "caveats": comparison.caveats,
        "figures": list(plots),
        "figure_titles": {name: figure_title(fig) for name, fig in plots.items()},
    }
