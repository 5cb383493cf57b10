"""Figures: funnel plot, caterpillar plot, availability matrix, severity mix.

Every function returns a :class:`matplotlib.figure.Figure` with an Agg
canvas, not registered with pyplot (nothing is shown, no global state; in a
notebook the figure displays when it is the cell's value, and
``fig.savefig`` writes it). Titles, axis labels, legends and classification
names come in English or Vietnamese (``lang="en"`` or ``"vi"``); matplotlib's
default font, DejaVu Sans, has every Vietnamese glyph. Approximate (hedged)
figures — "hơn 1.800", "gần 640" — are drawn with open markers and the
legend says so.

Examples:
    >>> text("vi")["classes"]["much higher"]
    'cao hơn nhiều'
    >>> level_text(0.998, "vi"), level_text(0.998, "en")
    ('99,8%', '99.8%')
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from analysis.stats.comparison import AVAILABILITY
from analysis.errors import UsageError

_CLASSES_VI = {
    "much lower": "thấp hơn nhiều",
    "lower": "thấp hơn",
    "similar": "tương đương",
    "higher": "cao hơn",
    "much higher": "cao hơn nhiều",
    "not compared": "không so sánh",
    "much better": "tốt hơn nhiều",
    "better": "tốt hơn",
    "worse": "kém hơn",
    "much worse": "kém hơn nhiều",
}

#: Every label the figures use, by language.
TEXT = {
    "en": {
        "funnel_title": "Funnel plot: {label}",
        "caterpillar_title": "Districts against the benchmark",
        "availability_title": "Which figures each district published",
        "severity_title": "Members disciplined, by form",
        "x_share": "Denominator (n)",
        "x_rate": "Member-years",
        "y_share": "Percent",
        "y_rate": "Per {multiplier} member-years",
        "y_per": "Per {multiplier}",
        "y_ratio": "Ratio",
        "limits": "{level} limits",
        "interval": "{level} interval",
        "benchmark": "Benchmark ({value})",
        "benchmark_line": "Benchmark",
        "approximate": "Open marker: approximate (hedged) figure",
        "shrunk": "Shrunken estimate (empirical Bayes)",
        "not_shown": "Not shown (cannot be compared): {items}",
        "printed_total": "Printed total",
        "severity_x": "Members disciplined",
        "caveat": "{unit}: the forms add up to {parts}, more than the printed total of {total}; "
        "the source is inconsistent.",
        "classes": {name: name for name in _CLASSES_VI},
        "status": {
            "computed": "computed",
            "reported without denominator": "reported without denominator",
            "not reported": "not reported",
        },
    },
    "vi": {
        "funnel_title": "Đồ thị phễu: {label}",
        "caterpillar_title": "Đối chiếu các huyện với mốc so sánh",
        "availability_title": "Độ sẵn có của số liệu theo huyện",
        "severity_title": "Đảng viên bị kỷ luật theo hình thức",
        "x_share": "Mẫu số (n)",
        "x_rate": "Số đảng viên-năm",
        "y_share": "Tỷ lệ (%)",
        "y_rate": "Trên {multiplier} đảng viên-năm",
        "y_per": "Trên {multiplier}",
        "y_ratio": "Tỷ số",
        "limits": "Giới hạn {level}",
        "interval": "Khoảng tin cậy {level}",
        "benchmark": "Mốc so sánh ({value})",
        "benchmark_line": "Mốc so sánh",
        "approximate": "Điểm rỗng: số liệu ước chừng (hơn, gần, khoảng)",
        "shrunk": "Ước lượng co (Bayes thực nghiệm)",
        "not_shown": "Không thể hiện (không so sánh được): {items}",
        "printed_total": "Tổng số công bố",
        "severity_x": "Số đảng viên bị kỷ luật",
        "caveat": "{unit}: các hình thức cộng lại là {parts}, lớn hơn tổng số công bố {total}; nguồn không nhất quán.",
        "classes": _CLASSES_VI,
        "status": {
            "computed": "tính được",
            "reported without denominator": "có số liệu, thiếu mẫu số",
            "not reported": "không công bố",
        },
    },
}

#: Short forms of the reasons a row is not compared (regex on the full reason, EN, VI), first match wins;
#: the full reason stays in the table.
REASONS = (
    (r"^not reported", "not reported", "không công bố"),
    (r"^percentage printed without a usable denominator", "printed %, no denominator", "có tỷ lệ, thiếu mẫu số"),
    (r"^no (?:denominator|exposure)", "no denominator", "không có mẫu số"),
    (r"^period unknown", "period unknown", "không rõ thời kỳ"),
    (r"^no figure in the period", "no figure in the period", "không có số liệu trong thời kỳ"),
    (r"days (?:before|after) .*tolerance", "denominator too far in time", "mẫu số lệch thời gian"),
    (r"no whole count", "printed % does not fit n", "tỷ lệ không khớp mẫu số"),
    (r"^the only comparable district", "only district with this figure", "huyện duy nhất có số liệu này"),
    (r"^ratio metric", "a ratio: no interval", "tỷ số: không có khoảng tin cậy"),
    (r"^no benchmark", "no benchmark", "không có mốc so sánh"),
    (r"^(?:zero|denominator is zero)", "zero denominator", "mẫu số bằng 0"),
)

#: Colours of the comparison classes (neutral: teal below, purple above).
CLASS_COLOURS = {
    "much lower": "#01665e",
    "lower": "#5ab4ac",
    "similar": "#e6ab02",
    "higher": "#998ec3",
    "much higher": "#542788",
    "not compared": "#9e9e9e",
    "much better": "#1a7837",
    "better": "#7fbf7b",
    "worse": "#ef8a62",
    "much worse": "#b2182b",
}

#: Colours of the availability statuses (distinct in lightness too).
STATUS_COLOURS = dict(zip(AVAILABILITY, ("#1b7837", "#fdb863", "#eeeeee")))

_CLASS_ORDER = (
    "much lower",
    "much worse",
    "lower",
    "worse",
    "similar",
    "better",
    "higher",
    "much better",
    "much higher",
    "not compared",
)


def text(lang: str) -> dict:
    """The labels of one language.

    Args:
        lang: ``"en"`` or ``"vi"``.

    Returns:
        The label dictionary of :data:`TEXT`.

    Raises:
        UsageError: For another language.

    Examples:
        >>> text("en")["status"]["not reported"]
        'not reported'
    """
    try:
        return TEXT[lang]
    except KeyError:
        raise UsageError(f"lang must be 'en' or 'vi'; got {lang!r}", field="lang") from None


def number_text(value: float, lang: str, digits: int = 2) -> str:
    """A number as readers of ``lang`` write it (``8,95`` and ``1.000`` in Vietnamese).

    Examples:
        >>> number_text(1000, "vi"), number_text(8.9512, "vi"), number_text(8.9512, "en")
        ('1.000', '8,95', '8.95')
    """
    from babel.numbers import format_decimal

    text(lang)
    pattern = "#,##0." + "#" * digits if digits else "#,##0"
    return format_decimal(round(float(value), digits), format=pattern, locale=lang)


def level_text(level: float, lang: str) -> str:
    """A confidence level as a percent (``99,8%`` in Vietnamese)."""
    return number_text(level * 100, lang, 1) + "%"


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _metric_labels(frame: pd.DataFrame, metrics, lang: str) -> dict:
    """Metric id → label: the frame's ``label_<lang>`` column, else the metric definitions."""
    column = f"label_{lang}"
    labels = {}
    if column in frame and "metric" in frame:
        known = frame[["metric", column]].dropna().drop_duplicates("metric")
        labels = dict(zip(known["metric"].astype(str), known[column].astype(str)))
    missing = [m for m in metrics if m not in labels]
    if missing:
        from analysis.stats.metrics import metric_definitions

        definitions = metric_definitions()
        labels.update(dict(zip(definitions["metric"].astype(str), definitions[column].astype(str))))
    return {m: labels.get(m, m) for m in metrics}


def _value_axis(kind: str, multiplier: float, lang: str) -> str:
    """Axis label of a value in display units: percent, per 1,000, per 1,000 member-years, or a ratio."""
    words = text(lang)
    scale = number_text(multiplier, lang, 0)
    if kind == "rate":
        return words["y_rate"].format(multiplier=scale)
    if kind == "share":
        return words["y_share"] if multiplier == 100 else words["y_per"].format(multiplier=scale)
    return words["y_ratio"]


def _bools(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).to_numpy(bool)
    return values.astype(str).str.strip().str.lower().isin(["true", "1"]).to_numpy()


def reason_text(reasons: pd.Series, lang: str) -> pd.Series:
    """Short, translated forms of ``comparison_reason`` values for figures.

    Examples:
        >>> reason_text(pd.Series(["not reported", "no denominator: villages not reported", "odd"]), "vi").tolist()
        ['không công bố', 'không có mẫu số', 'odd']
    """
    text(lang)
    full = reasons.fillna("").astype(str)
    short = full.str.slice(0, 40)
    for pattern, english, vietnamese in reversed(REASONS):
        short = short.mask(full.str.contains(pattern, regex=True), vietnamese if lang == "vi" else english)
    return short


def _note(ax, lines, width: int = 95) -> None:
    """A caption under the axes, inside the constrained layout, wrapped at ``width`` characters."""
    body = "\n".join(textwrap.fill(line, width) for line in lines)
    ax.annotate(
        body,
        xy=(0, 0),
        xycoords="axes fraction",
        xytext=(0, -36),
        textcoords="offset points",
        va="top",
        ha="left",
        fontsize=8,
        color="0.25",
        annotation_clip=False,
        gid="note",
    )


def _legend_handles(classes, lang: str, approximate: bool, extra=()):
    from matplotlib.lines import Line2D

    words = text(lang)
    handles = [
        Line2D(
            [],
            [],
            marker="s" if c == "not compared" else "o",
            linestyle="",
            color=CLASS_COLOURS[c],
            label=words["classes"][c],
        )
        for c in _CLASS_ORDER
        if c in set(classes)
    ]
    handles.extend(extra)
    if approximate:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                markerfacecolor="none",
                markeredgecolor="0.3",
                label=textwrap.fill(words["approximate"], 30),
            )
        )
    return handles


def _funnel_range(value: np.ndarray, target: float, outer: pd.DataFrame, smallest: float, cap) -> tuple:
    """Vertical range of a funnel plot: the points, the benchmark and the outer limits where points lie.

    The funnel's mouth at tiny denominators is cut off rather than squeezing the points. Values
    below 0 are never shown; a share's range ends a small margin above its multiplier (100%), so
    that a point at 100% is drawn whole.

    Examples:
        >>> outer = pd.DataFrame({"precision": [10, 50, 100], "lower": [80, 92, 95], "upper": [100, 100, 100]})
        >>> _funnel_range(np.array([97.0, 99.0]), 98.0, outer, 50, 100)
        (91.36, 100.64)
    """
    near = outer[outer["precision"] >= smallest]
    low = min(np.nanmin(value), target, near["lower"].min())
    high = max(np.nanmax(value), target, near["upper"].max())
    pad = 0.08 * (high - low) or 0.05 * abs(high) or 1.0
    return float(max(0.0, low - pad)), float(min(high, cap) + pad if cap is not None else high + pad)


def funnel_plot(
    metrics: pd.DataFrame,
    metric: str,
    *,
    benchmark=None,
    conf_level=(0.95, 0.998),
    method=None,
    overdispersion=None,
    scale=None,
    trim=0.1,
    lang="en",
    label=None,
    annotate=None,
    log_x=None,
    levels=None,
):
    """Funnel plot of one metric: value against precision, with control limits.

    Pass one row per district (e.g. the output of
    :func:`analysis.stats.compare_districts`): every comparable row of the
    metric is drawn. Points are the rows that can be compared, coloured by
    :func:`analysis.stats.classify` against the same benchmark; with the
    default ``method="phe"`` a point lies outside the limits exactly when
    its class is higher/lower, so colours and funnel agree. Rows that cannot
    be compared are counted, with their reasons, under the plot.

    Args:
        metrics: Metrics table (design.md).
        metric: Metric id.
        benchmark: Target in display units; default the pooled value.
        conf_level: One or two levels of the limits (fractions or percents).
        method: Funnel method of :func:`analysis.stats.funnel_limits`;
            default ``"phe"``, or ``"funnelplotr"`` with overdispersion.
        overdispersion: None, ``"additive"`` or ``"multiplicative"``; φ and τ²
            are estimated from the plotted rows (:func:`analysis.stats.overdispersion`).
            Point colours stay those of the unadjusted classification.
        scale: ``"log"`` (default) or ``"sqrt"``: FunnelPlotR's scale of rates.
        trim: Trimming (log scale) or winsorising fraction for the overdispersion estimate.
        lang: ``"en"`` or ``"vi"``.
        label: Metric label for the title; default from the metric definitions.
        annotate: Label the points with district names; default when 15 or fewer.
        log_x: Logarithmic precision axis; default when the largest
            precision is more than 50 times the smallest.
        levels: Deprecated name of ``conf_level``.

    Returns:
        The Figure. Limit lines have gids ``limit-<level>-lower`` /
        ``limit-<level>-upper``, the benchmark line ``benchmark``.

    Raises:
        UsageError: When no row of the metric can be compared.

    Examples:
        >>> m = pd.DataFrame({"unit_label": ["A", "B", "C"], "metric": "x", "numerator": [3.0, 30.0, 12.0],
        ...     "denominator": [30.0, 100.0, 40.0], "multiplier": 100.0, "computable": True,
        ...     "approximate": False})
        >>> fig = funnel_plot(m, "x", label="Share x", lang="vi")
        >>> fig.axes[0].get_title()
        'Đồ thị phễu: Share x'
    """
    from analysis.stats.classification import classify
    from analysis.stats.funnels import funnel_limits
    from analysis.stats.funnels import overdispersion as estimate_overdispersion
    from analysis.stats.intervals import conf_levels, deprecated

    if levels is not None:
        deprecated("funnel_plot(levels=...)", "funnel_plot(conf_level=...)")
        conf_level = levels
    levels = conf_levels(conf_level)
    words = text(lang)
    rows = metrics[metrics["metric"].astype(str) == metric]
    classified = classify(rows, benchmark=None if benchmark is None else {metric: benchmark}, conf_level=levels)
    shown = classified[classified["comparison"] != "not compared"]
    if shown.empty:
        why = classified["comparison_reason"].dropna()
        raise UsageError(
            f"no district can be compared on metric {metric!r}" + (f" ({why.iloc[0]})" if len(why) else ": no rows"),
            field="metric",
        )
    kind = str(shown["kind"].iloc[0])
    multiplier = float(shown["multiplier"].iloc[0])
    target = float(shown["benchmark"].iloc[0])
    precision = pd.to_numeric(shown["exposure" if kind == "rate" else "denominator"]).to_numpy(float)
    value = pd.to_numeric(shown["numerator"]).to_numpy(float) / precision * multiplier
    method = method or ("funnelplotr" if overdispersion else "phe")
    grid = np.unique(
        np.concatenate(
            [
                np.geomspace(precision.min() / 3, precision.max() * 1.15, 150),
                np.linspace(precision.min() / 3, precision.max() * 1.15, 150),
            ]
        )
    )
    if kind == "share":
        grid = np.unique(np.maximum(np.round(grid), 1))
    fit = None
    if overdispersion:
        fit = estimate_overdispersion(
            value / multiplier * precision,
            precision,
            kind,
            target=target,
            trim=trim,
            scale=scale,
            multiplier=multiplier,
        )
    limits = funnel_limits(
        target,
        grid,
        kind,
        conf_level=levels,
        method=method,
        scale=scale,
        overdispersion=overdispersion,
        fit=fit,
        multiplier=multiplier,
    )

    fig = _figure(9, 5.5)
    ax = fig.subplots()
    for level, style in zip(levels, ("--", "-")):
        part = limits[limits["level"] == level]
        name = words["limits"].format(level=level_text(level, lang))
        ax.plot(part["precision"], part["lower"], style, color="0.45", lw=1, label=name, gid=f"limit-{level:g}-lower")
        ax.plot(
            part["precision"],
            part["upper"],
            style,
            color="0.45",
            lw=1,
            label="_nolegend_",
            gid=f"limit-{level:g}-upper",
        )
    ax.axhline(
        target, color="0.2", lw=1, gid="benchmark", label=words["benchmark"].format(value=number_text(target, lang))
    )
    approximate = _bools(shown["approximate"]) if "approximate" in shown else np.zeros(len(shown), bool)
    comparison = shown["comparison"].astype(str).to_numpy()
    for name in pd.unique(comparison):
        colour = CLASS_COLOURS.get(name, "0.5")
        for hedged in (False, True):
            pick = (comparison == name) & (approximate == hedged)
            if pick.any():
                ax.scatter(
                    precision[pick],
                    value[pick],
                    s=40,
                    zorder=3,
                    linewidths=1.2,
                    facecolors="none" if hedged else colour,
                    edgecolors=colour,
                    gid=f"points-{name}" + ("-approximate" if hedged else ""),
                )
    log = bool(log_x or (log_x is None and precision.max() > 50 * precision.min()))
    if log:
        ax.set_xscale("log")
        ax.set_xlim(grid.min(), grid.max())
        across = np.log(precision / grid.min()) / np.log(grid.max() / grid.min())
    else:
        ax.set_xlim(0, grid.max())
        across = precision / grid.max()
    if annotate or (annotate is None and len(shown) <= 15):
        names = shown["unit_label" if "unit_label" in shown else "unit_code"].astype(str)
        for x, y, name, right in zip(precision, value, names, across > 0.7):  # near the right edge: label to the left
            ax.annotate(
                name,
                (x, y),
                xytext=(-4 if right else 4, 3),
                textcoords="offset points",
                fontsize=8,
                ha="right" if right else "left",
                gid="point-label",
            )
    label = label or _metric_labels(rows, [metric], lang)[metric]
    ax.set_title(textwrap.fill(words["funnel_title"].format(label=label), 70))
    ax.set_xlabel(words["x_rate" if kind == "rate" else "x_share"])
    ax.set_ylabel(_value_axis(kind, multiplier, lang))
    ax.set_ylim(
        *_funnel_range(
            value,
            target,
            limits[limits["level"] == max(levels)],
            precision.min(),
            multiplier if kind == "share" else None,
        )
    )
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(
        handles=_legend_handles(comparison, lang, approximate.any(), handles),
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.02, 1),
        borderaxespad=0,
    )
    hidden = classified.loc[classified["comparison"] == "not compared", "comparison_reason"]
    if len(hidden):
        counts = reason_text(hidden, lang).value_counts()
        _note(ax, [words["not_shown"].format(items=", ".join(f"{n} × {r}" for r, n in counts.items()))])
    return fig


def caterpillar_plot(compared: pd.DataFrame, *, metric=None, lang="en", highlight=None):
    """Caterpillar plot: each district's estimate and intervals against the benchmark.

    One panel per metric, three to a row (districts share the vertical
    axis; one metric: sorted by estimate, several: by GSO code). Thick bars are
    the inner (95%) interval, thin bars the outer (99.8%) one, coloured by the
    comparison; open markers are approximate figures; small black diamonds
    the shrunken estimates when present. Districts that cannot be compared
    keep their row, with a printed value if there is one and the reason in
    grey.

    Args:
        compared: Output of :func:`analysis.stats.comparison.compare_districts` (or of
            ``classify``, optionally with ``shrink``).
        metric: One metric to draw; default every metric in ``compared``.
        lang: ``"en"`` or ``"vi"``.
        highlight: Code (``unit_code``) of a district whose name is set in
            bold, e.g. the district a profile is about.

    Returns:
        The Figure; the benchmark lines have gid ``benchmark``.

    Examples:
        >>> from analysis.stats import classify
        >>> m = classify(pd.DataFrame({"unit_label": ["A", "B"], "metric": "x", "numerator": [3.0, 30.0],
        ...     "denominator": [30.0, 100.0], "estimate": [10.0, 30.0], "multiplier": 100.0,
        ...     "computable": True, "label_vi": "Tỷ lệ x"}))
        >>> fig = caterpillar_plot(m, lang="vi")
        >>> fig.get_suptitle()
        'Đối chiếu các huyện với mốc so sánh'
    """
    from matplotlib.lines import Line2D
    from matplotlib.transforms import blended_transform_factory

    words = text(lang)
    names = [metric] if metric is not None else list(pd.unique(compared["metric"].astype(str)))
    frame = compared[compared["metric"].astype(str).isin(names)]
    if frame.empty:
        raise UsageError(f"no rows for metric {metric!r}", field="metric")
    label_column = "unit_label" if "unit_label" in frame else "unit_code"
    if len(names) == 1:  # bottom to top: no value, then rising estimates
        order = frame.sort_values("estimate", na_position="first", kind="stable")[label_column].astype(str)
    else:  # top to bottom in GSO code order
        order = frame.sort_values("unit_code", ascending=False, kind="stable")[label_column].astype(str)
    districts = list(pd.unique(order))
    position = {name: i for i, name in enumerate(districts)}
    labels = _metric_labels(frame, names, lang)
    columns = min(len(names), 3)
    rows_of_panels = -(-len(names) // columns)
    fig = _figure(max(4.2 * columns, 6), 1.2 + rows_of_panels * (0.8 + 0.3 * len(districts)))
    grid = fig.subplots(rows_of_panels, columns, sharey=True, squeeze=False)
    for spare in grid.ravel()[len(names) :]:
        spare.remove()
    axes = grid.ravel()[: len(names)]
    inner = ("lower_inner", "upper_inner") if "lower_inner" in frame else ("lower", "upper")
    seen, hedged_any, shrunk_any = set(), False, False
    for ax, name in zip(axes, names):
        part = frame[frame["metric"].astype(str) == name]
        y = part[label_column].astype(str).map(position).to_numpy(float)
        comparison = (
            part["comparison"].astype(str).to_numpy() if "comparison" in part else np.full(len(part), "similar")
        )
        colour = np.array([CLASS_COLOURS.get(c, "0.5") for c in comparison], dtype=object)
        estimate = pd.to_numeric(part["estimate"]).to_numpy(float)
        hedged = _bools(part["approximate"]) if "approximate" in part else np.zeros(len(part), bool)
        compared_rows = comparison != "not compared"
        if "lower_outer" in part:
            ax.hlines(
                y[compared_rows],
                part["lower_outer"].to_numpy(float)[compared_rows],
                part["upper_outer"].to_numpy(float)[compared_rows],
                colors=colour[compared_rows],
                lw=1,
            )
        ax.hlines(
            y[compared_rows],
            part[inner[0]].to_numpy(float)[compared_rows],
            part[inner[1]].to_numpy(float)[compared_rows],
            colors=colour[compared_rows],
            lw=4,
            alpha=0.8,
        )
        has_value = ~np.isnan(estimate)
        for hollow in (False, True):
            pick = has_value & compared_rows & (hedged == hollow)
            if pick.any():
                ax.scatter(
                    estimate[pick],
                    y[pick],
                    s=36,
                    zorder=3,
                    edgecolors=list(colour[pick]),
                    facecolors="none" if hollow else list(colour[pick]),
                    gid="estimates" + ("-approximate" if hollow else ""),
                )
        printed = has_value & ~compared_rows
        if printed.any():
            ax.scatter(
                estimate[printed],
                y[printed],
                s=30,
                marker="s",
                zorder=3,
                color=CLASS_COLOURS["not compared"],
                gid="estimates-not-compared",
            )
        shrunk = (
            pd.to_numeric(part["shrunk_estimate"]).to_numpy(float)
            if "shrunk_estimate" in part
            else np.full(len(part), np.nan)
        )
        if (~np.isnan(shrunk)).any():
            shrunk_any = True
            ax.scatter(
                shrunk[~np.isnan(shrunk)], y[~np.isnan(shrunk)], marker="D", s=14, color="black", zorder=4, gid="shrunk"
            )
        benchmark = pd.to_numeric(part["benchmark"]).dropna() if "benchmark" in part else pd.Series(dtype=float)
        if len(benchmark):
            ax.axvline(float(benchmark.iloc[0]), color="0.2", lw=1, ls="--", gid="benchmark")
        where = blended_transform_factory(ax.transAxes, ax.transData)
        reasons = reason_text(part["comparison_reason"], lang) if "comparison_reason" in part else None
        for yy, reason in zip(y[~compared_rows], [] if reasons is None else reasons[~compared_rows]):
            ax.text(
                0.02, yy, reason, transform=where, fontsize=7, color="0.4", style="italic", va="center", gid="reason"
            )
        kind = str(part["kind"].iloc[0]) if "kind" in part else "share"  # classify() adds it
        multiplier = pd.to_numeric(part["multiplier"]).max()
        ax.set_xlabel(_value_axis(kind, 100.0 if pd.isna(multiplier) else multiplier, lang))
        ax.set_title(textwrap.fill(labels[name], 40), fontsize=9)
        ax.set_xlim(left=0)
        ax.grid(axis="x", color="0.92")
        seen.update(comparison)
        hedged_any = hedged_any or bool((hedged & compared_rows).any())
    axes[0].set_yticks(range(len(districts)), districts)
    axes[0].set_ylim(-0.7, len(districts) - 0.3)
    chosen = (
        set(frame.loc[frame["unit_code"].astype(str) == str(highlight), label_column].astype(str))
        if highlight is not None and "unit_code" in frame
        else set()
    )
    for ax in axes:
        ax.tick_params(axis="y", labelleft=True)
        for tick in ax.get_yticklabels():
            if tick.get_text() in chosen:
                tick.set_fontweight("bold")
    extra = [
        Line2D([], [], color="0.2", lw=4, label=words["interval"].format(level=level_text(0.95, lang))),
        Line2D([], [], color="0.2", lw=1, label=words["interval"].format(level=level_text(0.998, lang))),
        Line2D([], [], color="0.2", lw=1, ls="--", label=words["benchmark_line"]),
    ]
    if shrunk_any:
        extra.append(Line2D([], [], marker="D", linestyle="", color="black", markersize=4, label=words["shrunk"]))
    fig.legend(handles=_legend_handles(seen, lang, hedged_any, extra), loc="outside lower center", ncols=2, fontsize=8)
    fig.suptitle(words["caterpillar_title"])
    return fig


def availability_plot(matrix: pd.DataFrame, lang="en", labels=None):
    """District × metric matrix: computed, reported without denominator, not reported.

    Args:
        matrix: Output of :func:`analysis.stats.comparison.availability` (index
            ``unit_code``/``unit_label`` or plain labels, one column per metric).
        lang: ``"en"`` or ``"vi"``.
        labels: Optional mapping metric → column label; default from the
            metric definitions.

    Column labels are wrapped: with up to four metrics they stand level
    under their column, with more they slant. The figure is at least 6.5
    inches wide, so district names and the title fit even with one metric,
    and the legend of the three statuses is under the matrix.

    Returns:
        The Figure; the image's array holds 0 (computed), 1 (reported without
        denominator) or 2 (not reported); the legend is ``fig.legends[0]``.

    Raises:
        UsageError: For a status outside the three.

    Examples:
        >>> m = pd.DataFrame({"a": ["computed", "not reported"]}, index=["Kon Rẫy", "Đắk Hà"])
        >>> availability_plot(m, lang="vi", labels={"a": "Chỉ số a"}).axes[0].get_title()
        'Độ sẵn có của số liệu theo huyện'
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    words = text(lang)
    statuses = list(STATUS_COLOURS)
    codes = matrix.apply(lambda column: column.map({s: i for i, s in enumerate(statuses)}))
    if codes.isna().any().any():
        bad = sorted(set(matrix.to_numpy().ravel()) - set(statuses), key=str)[0]
        raise UsageError(f"unknown availability status {bad!r}; use one of {statuses}", field="matrix")
    names = [str(c) for c in matrix.columns]
    shown = labels if labels is not None else _metric_labels(pd.DataFrame(), names, lang)
    rows = (
        matrix.index.get_level_values("unit_label") if "unit_label" in (matrix.index.names or []) else matrix.index
    ).astype(str)
    few = len(names) <= 4  # few columns: horizontal, wrapped labels; many: slanted ones
    ticks = [textwrap.fill(shown.get(n, n), 22 if few else 34) for n in names]
    lines = max((t.count("\n") + 1 for t in ticks), default=1)
    longest = max((len(line) for t in ticks for line in t.split("\n")), default=0)
    label_height = 0.17 * lines if few else 0.04 * longest + 0.15 * lines  # slanted 40°: ~0.04 in per letter
    fig = _figure(max(6.5, 2.6 + (1.3 if few else 0.6) * len(names)), 2.0 + 0.3 * len(rows) + label_height)
    ax = fig.subplots()
    ax.imshow(
        codes.to_numpy(float),
        cmap=ListedColormap(list(STATUS_COLOURS.values())),
        vmin=0,
        vmax=2,
        aspect="auto",
        interpolation="nearest",
    )
    if few:
        ax.set_xticks(range(len(names)), ticks, fontsize=8)
    else:
        ax.set_xticks(range(len(names)), ticks, rotation=40, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set_yticks(range(len(rows)), list(rows))
    ax.set_xticks(np.arange(len(names) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(rows) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=1.5)
    ax.tick_params(which="minor", length=0)
    ax.set_title(words["availability_title"])
    fig.legend(
        handles=[Patch(facecolor=c, edgecolor="0.6", label=words["status"][s]) for s, c in STATUS_COLOURS.items()],
        loc="outside lower center",
        ncols=3,
        fontsize=8,
        frameon=False,
    )
    return fig


def severity_mix_plot(mix: pd.DataFrame, lang="en"):
    """Stacked bars of disciplinary forms per district and period, with the printed total.

    Forms run from the mildest (reprimand) to the most severe (expulsion), as
    ``analysis.stats.metrics.SEVERITY_FORMS`` orders and names them; forms nobody
    reported are left out. A black tick marks the printed total; where the
    forms add up to more than that total (as in Kon Rẫy's 3 + 2 + 22 = 27
    against 22), the figure says so under the bars.

    Args:
        mix: Output of ``analysis.stats.metrics.severity_mix``: ``unit_code``,
            ``form``, ``count``, optionally ``unit_label``, ``period_start``
            and ``period_end`` (or a ready-worded ``period``) and
            ``total_printed``.
        lang: ``"en"`` or ``"vi"``.

    Returns:
        The Figure; bars of a form have gid ``form-<form>``, total markers
        ``printed-total``.

    Raises:
        UsageError: If a required column is missing.

    Examples:
        >>> mix = pd.DataFrame({"unit_code": "614", "unit_label": "Kon Rẫy", "period_start": "2020-01-01",
        ...     "period_end": "2021-08-23", "form": ["expulsion", "warning", "reprimand"], "count": [3, 2, 22],
        ...     "total_printed": 22})
        >>> fig = severity_mix_plot(mix, lang="vi")
        >>> note = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "note"][0]
        >>> print(" ".join(note.split()))
        Kon Rẫy (2020-01-01 – 2021-08-23): các hình thức cộng lại là 27, lớn hơn tổng số công bố 22;
        nguồn không nhất quán.
    """
    import seaborn as sns
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from analysis.stats.metrics import SEVERITY_FORMS

    words = text(lang)
    missing = [c for c in ("unit_code", "form", "count") if c not in mix]
    if missing:
        raise UsageError(f"severity mix lacks column {missing[0]!r}", field=missing[0])
    frame = mix.assign(
        form=mix["form"].astype(str),
        count=pd.to_numeric(mix["count"], errors="coerce"),
        _unit=(mix["unit_label"] if "unit_label" in mix else mix["unit_code"]).astype(str),
        _total=pd.to_numeric(mix["total_printed"], errors="coerce") if "total_printed" in mix else np.nan,
    )
    if "period" in mix:  # the caller's own wording of the period
        frame["_bar"] = frame["_unit"] + " (" + mix["period"].astype(str) + ")"
    elif "period_start" in mix and "period_end" in mix:
        period = (
            mix["period_start"].astype(str).str.slice(0, 10) + " – " + mix["period_end"].astype(str).str.slice(0, 10)
        )
        frame["_bar"] = frame["_unit"] + " (" + period + ")"
    else:
        frame["_bar"] = frame["_unit"]
    bars = list(pd.unique(frame["_bar"]))
    names = {
        form: label
        for form, _, label_en, label_vi in SEVERITY_FORMS
        for label in [label_vi if lang == "vi" else label_en]
    }
    reported = set(frame.loc[frame["count"].notna(), "form"])
    forms = [f for f in names if f in reported] + sorted(reported - set(names))
    table = frame.pivot_table(index="_bar", columns="form", values="count", aggfunc="sum", fill_value=0)
    table = table.reindex(index=bars, columns=forms, fill_value=0)
    totals = frame.groupby("_bar", sort=False)["_total"].max().reindex(bars)
    palette = sns.color_palette("rocket_r", len(forms))
    fig = _figure(9, 1.9 + 0.55 * len(bars))
    ax = fig.subplots()
    left = np.zeros(len(bars))
    for form, colour in zip(forms, palette):
        counts = table[form].to_numpy(float)
        ax.barh(range(len(bars)), counts, left=left, color=colour, gid=f"form-{form}")
        left += counts
    known = totals.notna().to_numpy()
    handles = [Patch(facecolor=colour, label=names.get(form, form)) for form, colour in zip(forms, palette)]
    if known.any():
        ax.scatter(
            totals.to_numpy(float)[known],
            np.arange(len(bars))[known],
            marker="|",
            s=600,
            linewidths=2.5,
            color="black",
            zorder=3,
            gid="printed-total",
        )
        handles.append(
            Line2D(
                [],
                [],
                marker="|",
                linestyle="",
                markersize=12,
                markeredgewidth=2.5,
                color="black",
                label=words["printed_total"],
            )
        )
    ax.set_yticks(range(len(bars)), bars)
    ax.invert_yaxis()
    ax.set_xlabel(words["severity_x"])
    ax.set_title(words["severity_title"])
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    exceeds = known & (left > totals.to_numpy(float))
    if exceeds.any():
        _note(
            ax,
            [
                words["caveat"].format(
                    unit=bars[i], parts=number_text(left[i], lang, 0), total=number_text(totals.iloc[i], lang, 0)
                )
                for i in np.flatnonzero(exceeds)
            ],
            width=70,
        )
    return fig
