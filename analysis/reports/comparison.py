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
from analysis.stats.comparison import AVAILABILITY, availability, compare_districts
from analysis.stats.metrics import compute_metrics, metric_definitions

#: National figures the project cites as benchmarks, by metric, in display units (the national plausibility
#: anchors of the project's methods notes; how each is cited: ``anchors`` in the report catalogues). A
#: comparison whose benchmark equals a metric's anchor cites it, and the report carries the
#: ``national_benchmark`` caveat.
NATIONAL_ANCHORS = {"disciplined_per_1000_member_years": 4.0, "admissions_per_100_member_years": 2.75}

#: Caveats raised by a quality check on a figure used, by rule id.
_FLAG_CAVEATS = ("breakdown_exceeds_total", "conflicting_sources", "percent_count_mismatch", "suspect_note",
                 "historical_unit")


#: Columns of the comparison's table, in the order shown (hedged figures are named under Caveats).
COMPARISON_COLUMNS = ("unit_label", "metric_label", "period", "estimate", "interval", "benchmark",
                      "comparison_label", "shrunk_estimate", "reason", "flags", "obs_ids", "source_ids")


@dataclass
class Comparison:
    """Everything the district comparison shows.

    Attributes:
        params: The checked :class:`~analysis.reports.parameters.ComparisonParams`.
        facts: Values quoted by the narration.
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


def build_comparison(ds, params) -> Comparison:
    """Compute the district comparison.

    Args:
        ds: The :class:`~analysis.data.dataset.Dataset`.
        params: :class:`~analysis.reports.parameters.ComparisonParams`.

    Returns:
        The :class:`Comparison`.
    """
    lang = params.lang
    obs = ds.observations[ds.observations["province_code"] == params.province_code]
    codes = list(params.unit_codes)
    metrics = compute_metrics(obs[obs["district_code"].isin(codes)], families=[params.family],
                              conf_level=params.levels[0])
    compared = compare_districts(ds, province=params.province_code, districts=codes, family=params.family,
                                 benchmark=params.benchmark, levels=params.levels, conf_level=params.levels[0],
                                 metrics=metrics)
    definitions = metric_definitions()
    names = definitions.loc[definitions["family"] == params.family, "metric"].tolist()
    roster = compared[["unit_code", "unit_label"]].drop_duplicates("unit_code")
    matrix = availability(obs, metrics, metric_names=names).reset_index(level="unit_label", drop=True)
    matrix = matrix.reindex(roster["unit_code"], fill_value=AVAILABILITY[2])
    matrix.index = pd.MultiIndex.from_frame(roster)
    reported = compared[compared["reason"].fillna("") != "not reported"]
    benchmark, anchor = benchmark_text(params.benchmark, names, lang)
    facts = {"province": params.province, "family": pick(FAMILY_LABELS[params.family], lang),
             "n_districts": len(roster), "n_metrics": len(names),
             "metrics": narrate("metric_count" if len(names) == 1 else "metrics_count", lang, n=len(names)),
             "n_compared": int((reported["comparison"] != "not compared").sum()),
             "benchmark": benchmark, "anchor": anchor,
             "rates": bool((definitions.loc[definitions["family"] == params.family, "kind"] == "rate").any()),
             "inner": level_text(params.levels[0], lang), "outer": level_text(params.levels[1], lang)}
    return Comparison(params=params, facts=facts, availability=matrix, compared=compared,
                      table=metric_rows(reported, ds.observations, lang).reset_index(drop=True),
                      caveats=comparison_caveats(reported, lang, ds.flags))


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
    caveats = []
    for key, pair in CAVEATS.items():
        template = pick(pair, lang)
        if key in chosen and chosen[key].any():
            mine = chosen[key]
            figures = _flagged_figures(reported[mine], flags, key) if flags is not None and key in _FLAG_CAVEATS \
                else pd.Series("", index=reported.index[mine])
            named = label[mine] + np.where(figures != "", f"; {pick(FIGURES_WORD, lang)} " + figures, "")
            items = list(pd.unique(unit[mine] + " (" + named + ")"))
            names = sorted(pd.unique(unit[mine]))
            caveats.append({"id": key, "units": names,
                            "text": template.format(units=", ".join(names), items="; ".join(items))})
        elif key == "national_benchmark" and national.any():
            caveats.append({"id": key, "units": [], "text": template})
        elif key == "periods_differ" and periods.nunique() > 1:
            caveats.append({"id": key, "units": [], "text": template.format(
                n=periods.nunique(), first=ends.min().strftime("%Y-%m-%d"), last=ends.max().strftime("%Y-%m-%d"))})
        elif key == "exposure_from_one_stock" and rates.any():
            rows = reported[rates]
            members = pd.to_numeric(rows["denominator"])
            years = pd.to_numeric(rows["exposure"]) / members
            words = ("members", "years", "member-years") if lang == "en" else ("đảng viên", "năm", "đảng viên-năm")
            items = (unit[rates] + ": " + members.map(lambda v: number_text(v, lang, 0)) + f" {words[0]} × "
                     + years.map(lambda v: number_text(v, lang, 2)) + f" {words[1]} = "
                     + pd.to_numeric(rows["exposure"]).map(lambda v: number_text(v, lang, 0)) + f" {words[2]}")
            caveats.append({"id": key, "units": sorted(pd.unique(unit[rates])), "text": template.format(
                items="; ".join(items))})
        elif key == "not_compared" and (~compared).any():
            why = reason_text(reported.loc[~compared, "comparison_reason"], lang)
            named = unit[~compared] + " (" + label[~compared] + ")"
            groups = named.groupby(why, sort=False).agg(", ".join)
            caveats.append({"id": key, "units": sorted(pd.unique(unit[~compared])), "text": template.format(
                items="; ".join(reason + ": " + listing for reason, listing in groups.items()))})
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
    benchmark = None if params.benchmark == "pooled" else params.benchmark
    for metric, n in counts.items():
        plots[f"caterpillar_{metric}"] = caterpillar_plot(reported, metric=metric, lang=params.lang)
        if n >= 2:
            plots[f"funnel_{metric}"] = funnel_plot(reported, metric, benchmark=benchmark, levels=params.levels,
                                                    lang=params.lang)
    return plots


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
        return [say("comparison_title", "comparison_intro", *(["rates_text"] if facts["rates"] else []), lang=lang,
                    **facts)]
    if section == "availability":
        return [say("availability_heading", "availability_text", lang=lang, **facts)] + \
            [show_figure(plots[name]) for name in ("availability",) if name in plots]
    if section == "classification":
        if comparison.table.empty:
            return [say("classification_heading", "classification_none", lang=lang, **facts)]
        return [say("classification_heading", "classification_text", lang=lang, **facts),
                show_table(comparison.table, lang, COMPARISON_COLUMNS)]
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
    p, c = comparison.params, comparison.compared
    rows = comparison.table[["unit_code", "unit_label", "metric", "metric_label", "period", "estimate", "lower",
                             "upper", "benchmark", "comparison", "comparison_label", "full_reason",
                             "shrunk_estimate", "obs_ids",
                             "source_ids"]].rename(columns={"metric_label": "label", "full_reason": "reason"})
    hidden = c.loc[c["comparison"] == "not compared", ["unit_code", "unit_label", "metric", "comparison_reason"]]
    return {
        "kind": "district_comparison", "province_code": p.province_code, "family": p.family,
        "benchmark": p.benchmark, "benchmark_note": None if p.benchmark == "pooled" else comparison.facts["benchmark"],
        "national_anchor": comparison.facts["anchor"], "levels": list(p.levels), "lang": p.lang,
        "unit_codes": list(p.unit_codes),
        "rows": records(rows),
        "not_compared": records(hidden.rename(columns={"comparison_reason": "reason"}).fillna({"reason": ""})),
        "availability": comparison.availability.reset_index(level="unit_label", drop=True).to_dict(orient="index"),
        "caveats": comparison.caveats,
        "figures": list(plots), "figure_titles": {name: figure_title(fig) for name, fig in plots.items()},
    }
