"""The data-quality review: flags, rejects and what they mean."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.errors import UsageError
from analysis.reports.formatting import records, rule_meaning, show_table, sources_of
from analysis.reports.narration import say
from analysis.reports.parameters import QualityParams

QUALITY_FLAG_COLUMNS = ("rule", "severity", "unit_label", "indicator", "message", "obs_ids", "source_ids")


@dataclass
class Quality:
    """Everything the data-quality review shows.

    Attributes:
        params: The checked :class:`~analysis.reports.parameters.QualityParams`.
        facts: Values quoted by the narration.
        tables: Rows read, used and rejected per raw table.
        rules: Flags per check, with severity and an example message.
        by_source: Flag counts, source × check.
        by_district: Flag counts, district (or province) × check.
        flags: Every flag with the sources of its figures.
        rejects: Every rejected row.
    """

    params: QualityParams
    facts: dict
    tables: pd.DataFrame
    rules: pd.DataFrame
    by_source: pd.DataFrame
    by_district: pd.DataFrame
    flags: pd.DataFrame
    rejects: pd.DataFrame


def flag_items(flags: pd.DataFrame, observations: pd.DataFrame) -> pd.DataFrame:
    """One row per flag × figure involved, with the figure's source and district.

    Args:
        flags: Quality flags (``obs_ids`` ``;``-joined).
        observations: Processed observations.

    Returns:
        ``flag`` (the flag's row number), ``rule``, ``obs_id``, ``source_id``
        and ``place`` (the district's code, or the unit's own code above
        district level).

    Examples:
        >>> flags = pd.DataFrame({"rule": ["hedged_value"], "obs_ids": ["O1;O2"]})
        >>> obs = pd.DataFrame({"obs_id": ["O1", "O2"], "source_id": ["S1", "S2"],
        ...     "district_code": ["614", None], "unit_code": ["614", "62"]})
        >>> flag_items(flags, obs)[["obs_id", "source_id", "place"]].values.tolist()
        [['O1', 'S1', '614'], ['O2', 'S2', '62']]
    """
    items = (
        flags.reset_index(drop=True)
        .rename_axis("flag")
        .reset_index()
        .assign(obs_id=lambda f: f["obs_ids"].fillna("").astype(str).str.split(";"))
        .explode("obs_id")[["flag", "rule", "obs_id"]]
    )
    where = observations[["obs_id", "source_id", "district_code", "unit_code"]].drop_duplicates("obs_id")
    items = items.merge(where, on="obs_id", how="left")
    items["place"] = items["district_code"].fillna(items["unit_code"])
    return items[["flag", "rule", "obs_id", "source_id", "place"]]


def _crosstab(items: pd.DataFrame, by: str) -> pd.DataFrame:
    """Flags counted once per value of ``by`` they involve: ``by`` × rule."""
    once = items.dropna(subset=[by]).drop_duplicates(["flag", by])
    table = pd.crosstab(once[by], once["rule"]) if len(once) else pd.DataFrame(index=pd.Index([], name=by))
    table.columns.name = None
    return table.astype(int)


def build_quality(ds, params) -> Quality:
    """Compute the data-quality review.

    Args:
        ds: The :class:`~analysis.data.dataset.Dataset`.
        params: :class:`~analysis.reports.parameters.QualityParams`.

    Returns:
        The :class:`Quality`.
    """
    summary = ds.summary()
    tables = pd.DataFrame(
        [
            {"table": t, "rows_in": c["in"], "used": c["used"], "rejected": c["rejected"]}
            for t, c in summary["tables"].items()
        ]
    )
    flags = ds.flags
    grouped = flags.groupby("rule", sort=False)
    rules = (
        pd.DataFrame(
            {"severity": grouped["severity"].first(), "count": grouped.size(), "example": grouped["message"].first()}
        )
        .rename_axis("rule")
        .reset_index()
    )
    rules = rules.sort_values(["count", "rule"], ascending=[False, True]).reset_index(drop=True)
    rules.insert(1, "meaning", rule_meaning(rules["rule"], params.lang))
    items = flag_items(flags, ds.observations)
    names = ds.units.set_index("unit_code")["name"]
    by_district = _crosstab(items, "place")
    codes = by_district.index.to_series().astype(str)
    by_district.index = pd.Index(codes.map(names).fillna(codes) + " (" + codes + ")", name="district")
    listing = flags.assign(
        source_ids=sources_of(flags["obs_ids"], ds.observations),
        unit_label=flags["unit_code"].map(names).fillna(flags["unit_code"]),
    )
    facts = {
        "rows_in": int(tables["rows_in"].sum()),
        "used": int(tables["used"].sum()),
        "rejected": int(tables["rejected"].sum()),
        "n_flags": len(flags),
        "n_warnings": int((flags["severity"] == "warning").sum()),
        "data_dir": str(params.data_dir),
    }
    return Quality(
        params=params,
        facts=facts,
        tables=tables,
        rules=rules,
        by_source=_crosstab(items, "source_id").reset_index(),
        by_district=by_district.reset_index(),
        flags=listing[list(QUALITY_FLAG_COLUMNS)].reset_index(drop=True),
        rejects=ds.rejects.reset_index(drop=True),
    )


def quality_section(quality: Quality, section: str) -> list:
    """What one section of the data-quality review displays.

    Args:
        quality: From :func:`build_quality`.
        section: ``intro``, ``rules``, ``by_source``, ``by_district``,
            ``rejects`` or ``flags``.

    Returns:
        Objects for ``display(*...)``.

    Raises:
        UsageError: An unknown section.
    """
    lang, facts = quality.params.lang, quality.facts
    if section == "intro":
        return [
            say("quality_title", "quality_intro", "tables_heading", lang=lang, **facts),
            show_table(quality.tables, lang),
        ]
    if section == "rules":
        return [say("rules_heading", "rules_text", lang=lang), show_table(quality.rules, lang)]
    if section in ("by_source", "by_district"):
        return [say(f"{section}_heading", f"{section}_text", lang=lang), show_table(getattr(quality, section), lang)]
    if section == "rejects":
        if quality.rejects.empty:
            return [say("rejects_heading", "rejects_none", lang=lang)]
        return [say("rejects_heading", "rejects_text", lang=lang, **facts), show_table(quality.rejects, lang)]
    if section == "flags":
        return [say("all_flags_heading", lang=lang), show_table(quality.flags, lang, QUALITY_FLAG_COLUMNS)]
    raise UsageError(f"unknown quality section {section!r}", field="section")


def quality_artifact(quality: Quality) -> dict:
    """The data-quality review's machine-readable summary.

    Returns:
        ``kind``, ``lang``, ``data_dir``, ``rows_in``, ``used``,
        ``rejected`` (totals), ``tables`` (per raw table: ``in``, ``used``,
        ``rejected``), ``flags_by_rule`` (rule → count), ``warnings``,
        ``rejects`` (every rejected row), ``by_source`` (source → rule →
        count) and ``by_district`` (``name (code)`` → rule → count).
    """

    def nested(frame: pd.DataFrame, key: str) -> dict:
        counts = frame.set_index(key).to_dict(orient="index")
        return {str(k): {rule: int(n) for rule, n in row.items() if n} for k, row in counts.items()}

    facts = quality.facts
    return {
        "kind": "data_quality",
        "lang": quality.params.lang,
        "data_dir": facts["data_dir"],
        "rows_in": facts["rows_in"],
        "used": facts["used"],
        "rejected": facts["rejected"],
        "tables": {
            row["table"]: {"in": row["rows_in"], "used": row["used"], "rejected": row["rejected"]}
            for row in records(quality.tables)
        },
        "flags_by_rule": {row["rule"]: row["count"] for row in records(quality.rules)},
        "warnings": facts["n_warnings"],
        "rejects": records(quality.rejects),
        "by_source": nested(quality.by_source, "source_id"),
        "by_district": nested(quality.by_district, "district"),
    }
