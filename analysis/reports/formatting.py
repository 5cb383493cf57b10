"""Shared formatting of the reports: tables, values, periods, figures, sources and the JSON artifact.

Every number shown can be traced: a table of figures carries each figure's
``obs_id``, source, publisher, title, date and locator; a table of metrics
carries the ``obs_ids`` each estimate used and their sources. Tables label
their columns in the report's language and write numbers as its readers do.

Examples:
    >>> period_text(pd.Series(pd.to_datetime(["2020-01-01", "2021-06-30"])),
    ...             pd.Series(pd.to_datetime(["2021-08-23", "2021-06-30"]))).tolist()
    ['2020-01-01 – 2021-08-23', '2021-06-30']
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.storage import json_bytes, replace_files
from analysis.errors import UsageError
from analysis.plots import reason_text
from analysis.plots import text as plot_text
from analysis.reports.narration import (
    COLUMNS,
    QUALIFIERS,
    RULE_MEANINGS,
    SEVERITIES,
    pick,
    say,
)
from analysis.reports.provenance import data_record, describe, raw_table_hashes


def show_table(frame: pd.DataFrame, lang: str, columns=None):
    """A table for the reader: labelled columns in ``lang``, no index, numbers as readers write them.

    Every value is HTML-escaped (titles and notes come from the raw tables).
    Booleans show as a tick, ``severity`` in words of ``lang``, ``;``-joined
    lists with a space after each ``;`` (so they wrap), text left-aligned;
    columns of whole numbers show no decimals, other numbers two. The table
    is set a little smaller than the text; a date is never broken across
    lines (a period breaks only between its two dates), nor are intervals and
    ids; a check name longer than its column may break.

    Args:
        frame: A table built here (its column names are keys of :data:`COLUMNS`;
            other columns keep their names, with a break allowed after each underscore).
        lang: ``'en'`` or ``'vi'`` (Vietnamese writes ``8,95`` and ``1.639``).
        columns: The columns to show, in order (default all).

    Returns:
        A pandas ``Styler`` (renders as HTML in the notebook and report).

    Examples:
        >>> styled = show_table(pd.DataFrame({"estimate": [8.9512], "count": [1639]}), "vi")
        >>> list(styled.data.columns), "8,95" in styled.to_html(), "1.639" in styled.to_html()
        (['Ước lượng', 'Số cảnh báo'], True, True)
    """
    shown = frame if columns is None else frame[list(columns)]
    changed = {c: shown[c].map({True: "✓", False: ""}) for c in shown.columns if pd.api.types.is_bool_dtype(shown[c])}
    if "severity" in shown:
        changed["severity"] = (
            shown["severity"].map({k: pick(v, lang) for k, v in SEVERITIES.items()}).fillna(shown["severity"])
        )
    for column in ("flags", "obs_ids", "source_ids"):
        if column in shown:
            changed[column] = shown[column].fillna("").astype(str).str.replace(";", "; ", regex=False)
    shown = shown.assign(**changed)
    numbers = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])]
    whole = [c for c in numbers if (shown[c].dropna() % 1 == 0).all()]
    text = [c for c in shown.columns if c not in numbers]
    # other columns keep their names (rule ids in the quality crosstabs), which may break after an underscore
    labels = {c: pick(COLUMNS[c], lang) if c in COLUMNS else str(c).replace("_", "_\u200b") for c in shown.columns}
    decimal, thousands = (",", ".") if lang == "vi" else (".", ",")
    styled = shown.rename(columns=labels).style.hide(axis="index").format_index(escape="html", axis=1)
    styled = styled.format(precision=2, decimal=decimal, thousands=thousands, na_rep="", escape="html")
    styled = styled.format(
        precision=0, thousands=thousands, na_rep="", escape="html", subset=[labels[c] for c in whole]
    )
    styled = styled.set_properties(subset=[labels[c] for c in text], **{"text-align": "left"})
    dates = [labels[c] for c in ("date", "period", "published") if c in shown]
    unbroken = [labels[c] for c in ("interval", "obs_id", "source_id") if c in shown]
    breakable = [labels[c] for c in ("flags", "rule", "indicator") if c in shown]
    return (
        styled.set_table_attributes('style="font-size: 0.85em"')
        .set_properties(subset=dates, **{"min-width": "7.6em"})
        .set_properties(subset=unbroken, **{"white-space": "nowrap"})
        .set_properties(subset=breakable, **{"overflow-wrap": "break-word"})
    )


def value_text(
    values: pd.Series, decimals: pd.Series, qualifier: pd.Series, value_unit: pd.Series, lang: str
) -> pd.Series:
    """Published figures as printed: hedge, number with its printed decimals, percent sign.

    Args:
        values: The numbers.
        decimals: Decimals printed (``value_decimals`` of the observations).
        qualifier: ``exact``, ``more_than``, ``nearly``, ``about``, ``at_least``.
        value_unit: ``count`` or ``percent``.
        lang: ``'en'`` or ``'vi'``.

    Returns:
        Text per row (empty for a missing value).

    Examples:
        >>> value_text(pd.Series([1800.0, 75.51]), pd.Series([0, 2]), pd.Series(["more_than", "exact"]),
        ...            pd.Series(["count", "percent"]), "vi").tolist()
        ['hơn 1.800', '75,51%']
    """
    number = pd.Series("", index=values.index, dtype=object)
    places = decimals.fillna(0).astype(int).clip(0, 6)
    for digits in pd.unique(places):
        mine = (places == digits) & values.notna()
        number[mine] = values[mine].map(f"{{:,.{digits}f}}".format)
    if lang == "vi":
        number = number.str.translate(str.maketrans({",": ".", ".": ","}))
    hedge = qualifier.map({k: pick(v, lang) for k, v in QUALIFIERS.items()}).fillna("")
    text = (hedge + " " + number).str.strip() + value_unit.map({"percent": "%"}).fillna("")
    return text.where(values.notna(), "")


def interval_text(lower: pd.Series, upper: pd.Series, lang: str) -> pd.Series:
    """Confidence intervals as ``lower–upper`` with two decimals, as readers of ``lang`` write numbers.

    Examples:
        >>> interval_text(pd.Series([5.1134, None]), pd.Series([1234.5, None]), "vi").tolist()
        ['5,11–1.234,50', '']
        >>> interval_text(pd.Series([], dtype=float), pd.Series([], dtype=float), "en").tolist()
        []
    """
    both = lower.notna() & upper.notna()

    def fixed(values: pd.Series) -> pd.Series:
        return pd.to_numeric(values[both]).map("{:,.2f}".format).astype(str)

    text = fixed(lower) + "–" + fixed(upper)
    if lang == "vi":
        text = text.str.translate(str.maketrans({",": ".", ".": ","}))
    return text.reindex(lower.index, fill_value="").astype(str)


def rule_meaning(rules: pd.Series, lang: str) -> pd.Series:
    """What each quality check means (:data:`RULE_MEANINGS`); an unknown rule id means itself.

    Examples:
        >>> rule_meaning(pd.Series(["hedged_value", "new_rule"]), "en").tolist()
        ['printed with a hedge: more than, nearly, about, at least', 'new_rule']
    """
    return rules.map({rule: pick(pair, lang) for rule, pair in RULE_MEANINGS.items()}).fillna(rules).astype(str)


def show_figure(fig):
    """A figure as an inline PNG image (embedded in the notebook and its HTML).

    Works whatever matplotlib backend the kernel has (``agg`` draws nothing
    inline by itself). The image is cropped to what is drawn (``bbox_inches="tight"``),
    so a label or legend reaching past the figure's edge is kept, not cut.

    Args:
        fig: A matplotlib Figure.

    Returns:
        An ``IPython.display.Image``.
    """
    import io
    import warnings

    from IPython.display import Image

    buffer = io.BytesIO()
    with warnings.catch_warnings():  # a layout fallback is matplotlib's business, not the reader's
        warnings.filterwarnings("ignore", message="constrained_layout not applied", category=UserWarning)
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.15)
    return Image(data=buffer.getvalue(), format="png")


def figure_title(fig) -> str:
    """The figure's overall title, else its first panel's title.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> fig = Figure(); ax = fig.subplots(); _ = ax.set_title("Đồ thị phễu")
        >>> figure_title(fig)
        'Đồ thị phễu'
    """
    suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    return suptitle or (fig.axes[0].get_title() if fig.axes else "")


def period_text(start: pd.Series, end: pd.Series) -> pd.Series:
    """``start – end`` per row; one date when both are equal; ``?`` for a missing end."""
    first = pd.to_datetime(start).dt.strftime("%Y-%m-%d")
    last = pd.to_datetime(end).dt.strftime("%Y-%m-%d")
    both = first.fillna("?") + " – " + last.fillna("?")
    text = both.where(first != last, first)
    return text.where(first.notna() | last.notna(), "")


def reference_dates(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Reference interval of observations: the period of a flow, [as_of, as_of] for a stock."""
    has_period = frame["period_start"].notna() | frame["period_end"].notna()
    start = frame["period_start"].where(has_period, frame["as_of"])
    end = frame["period_end"].where(has_period, frame["as_of"])
    return start.fillna(end), end.fillna(start)


def overlaps(start: pd.Series, end: pd.Series, period_start=None, period_end=None) -> pd.Series:
    """Rows whose interval [start, end] overlaps the period; undated rows only when no period is set.

    Examples:
        >>> s = pd.Series(pd.to_datetime(["2019-01-01", "2021-01-01", None]))
        >>> overlaps(s, s, "2020-01-01", None).tolist()
        [False, True, False]
        >>> overlaps(s, s).tolist()
        [True, True, True]
    """
    keep = pd.Series(True, index=start.index)
    if period_start is not None:
        keep &= pd.to_datetime(end) >= pd.Timestamp(period_start)
    if period_end is not None:
        keep &= pd.to_datetime(start) <= pd.Timestamp(period_end)
    return keep.fillna(False).astype(bool)


def sources_of(obs_ids: pd.Series, observations: pd.DataFrame) -> pd.Series:
    """The sources (``;``-joined, sorted) of ``;``-joined obs_id lists.

    Examples:
        >>> obs = pd.DataFrame({"obs_id": ["O1", "O2", "C1"], "source_id": ["S000", "S000", "C001"]})
        >>> sources_of(pd.Series(["O1;C1", "O2", None]), obs).tolist()
        ['C001;S000', 'S000', '']
    """
    items = obs_ids.fillna("").astype(str).str.split(";").explode()
    found = items.map(observations.drop_duplicates("obs_id").set_index("obs_id")["source_id"])
    found = found.dropna().astype(str)
    joined = found.groupby(level=0).agg(lambda s: ";".join(sorted(set(s))))
    return joined.reindex(obs_ids.index).fillna("").astype(str)


def indicator_labels(codebook: pd.DataFrame, lang: str) -> pd.Series:
    return codebook.set_index("indicator")[f"label_{lang}"]


def metric_rows(compared: pd.DataFrame, observations: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Display columns of compared metric rows (unit, metric, period, estimate, comparison, trail)."""
    classes = plot_text(lang)["classes"]
    reason = compared["comparison_reason"].where(compared["comparison"] == "not compared").fillna("").astype(str)
    return pd.DataFrame(
        {
            "unit_code": compared["unit_code"],
            "unit_label": compared["unit_label"],
            "metric": compared["metric"],
            "metric_label": compared[f"label_{lang}"],
            "period": period_text(compared["period_start"], compared["period_end"]),
            "estimate": compared["estimate"],
            "lower": compared["lower"],
            "upper": compared["upper"],
            "computable": compared["computable"].fillna(False).astype(bool),
            "benchmark": compared["benchmark"].where(compared["comparison"] != "not compared"),
            "comparison": compared["comparison"],
            "comparison_label": compared["comparison"].map(classes).fillna(compared["comparison"]),
            "shrunk_estimate": compared["shrunk_estimate"],
            "interval": interval_text(compared["lower"], compared["upper"], lang),
            "reason": reason_text(reason, lang),
            "full_reason": reason,
            "approximate": compared["approximate"].fillna(False).astype(bool),
            "flags": row_flags(compared["flags"]),
            "obs_ids": compared["obs_ids"].fillna("").astype(str),
            "source_ids": sources_of(compared["obs_ids"], observations),
        }
    )


#: Flags stated once per report rather than on every row: a former district's figures all carry it.
ONCE_PER_REPORT = ("historical_unit",)


def row_flags(flags: pd.Series) -> pd.Series:
    """The flags a table row shows: its ``;``-joined rule ids without :data:`ONCE_PER_REPORT`.

    The profile says once that the district is a former one, and the
    comparison lists the former districts among its caveats; the flags
    section of the profile and the data-quality review list every flag.

    Examples:
        >>> row_flags(pd.Series(["historical_unit", "hedged_value;historical_unit;suspect_note", None])).tolist()
        ['', 'hedged_value;suspect_note', '']
    """
    once = "|".join(ONCE_PER_REPORT)
    kept = flags.fillna("").astype(str).str.replace(rf"(?:^|;)(?:{once})(?=;|$)", "", regex=True)
    return kept.str.strip(";").astype(str)


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain JSON values (NaN and NA become None)."""
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _plain(value):
    """One value as a JSON type."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, Path):
        return str(value)
    return value


def write_artifact(artifact: dict, path) -> Path | None:
    """Write the report's JSON artifact atomically (temporary file, then rename).

    Args:
        artifact: Plain JSON types (the ``*_artifact`` functions give them).
        path: Destination, or None to write nothing.

    Returns:
        The path written, or None.

    Examples:
        >>> import json, tempfile
        >>> target = Path(tempfile.mkdtemp()) / "r.json"
        >>> write_artifact({"kind": "x", "value": float("nan")}, target) == target
        True
        >>> json.loads(target.read_text())
        {'kind': 'x', 'value': None}
    """
    if path is None:
        return None
    path = Path(path)
    replace_files({path.name: json_bytes(_plain(artifact))}, path.parent)
    return path


def export_table(frame: pd.DataFrame, path) -> Path:
    """Write a table for people who open it in a spreadsheet: CSV (UTF-8 with a BOM), or Excel for ``.xlsx``.

    Text cells that a spreadsheet would run as a formula (``=…``, ``+…``,
    ``@…``) get a leading ``'``
    (:func:`analysis.text.review.neutralise_formulas`), so a title from
    the data can never run; numbers are kept as numbers and the index is not
    written. The file is written atomically. Excel needs ``openpyxl``
    (``pip install -e '.[excel]'``).

    Args:
        frame: The table, e.g. rows of :func:`analysis.compare_districts`.
        path: Where to write; the suffix (``.csv`` or ``.xlsx``) chooses the format.

    Returns:
        The path written.

    Raises:
        UsageError: Another suffix, or ``.xlsx`` without ``openpyxl``.

    Examples:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "t.csv"
        >>> export_table(pd.DataFrame({"title": ["=HYPERLINK(1)"], "n": [-3]}), target) == target
        True
        >>> target.read_text(encoding="utf-8-sig").splitlines()
        ['title,n', "'=HYPERLINK(1),-3"]
    """
    import importlib.util
    import io

    from analysis.text.review import neutralise_formulas

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UsageError(f"export to .csv or .xlsx, not {path.name!r}", field="path")
    if suffix == ".xlsx" and importlib.util.find_spec("openpyxl") is None:
        raise UsageError("writing .xlsx needs openpyxl: pip install -e '.[excel]'", field="path")
    safe = neutralise_formulas(frame.reset_index(drop=True))
    if suffix == ".csv":
        data = safe.to_csv(index=False).encode("utf-8-sig")
    else:
        buffer = io.BytesIO()
        safe.to_excel(buffer, index=False)
        data = buffer.getvalue()
    replace_files({path.name: data}, path.parent)
    return path


def finish(report, artifact: dict):
    """Write a report's artifact (when ``output_json`` is set) and name it.

    Only the file name is shown: the artifact sits beside the report, and the
    path it is written to may be the runner's staging folder, not where the
    report ends up.

    The artifact ends with its ``provenance`` (:func:`analysis.reports.provenance.describe`):
    the package, commit, Python and library versions of this kernel and the
    hash of each raw table in ``report.params.data_dir``.

    Args:
        report: A :class:`Profile`, :class:`Comparison` or :class:`Quality`.
        artifact: Its ``*_artifact`` summary.

    Returns:
        The closing Markdown line of the report.
    """
    artifact = {**artifact, "provenance": describe(data=data_record(raw_table_hashes(report.params.data_dir)))}
    path = write_artifact(artifact, report.params.output_json)
    lang = report.params.lang
    return say("artifact_skipped", lang=lang) if path is None else say("artifact_written", lang=lang, name=path.name)
