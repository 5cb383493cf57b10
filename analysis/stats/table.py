"""Reading the tidy metrics table: kinds, counts, bases, and which rows can be compared.

The metrics table is the one of ``docs/design.md`` (one row per unit ×
metric × period, ``numerator`` with ``denominator`` for shares or
``exposure`` in member-years for rates, ``multiplier``, ``computable``,
``reason``). Classification, shrinkage, ranks and tests read it through
:func:`read_rows`, so they agree on which rows take part and why the others
do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import InputError, UsageError


def as_bool(values: pd.Series) -> np.ndarray:
    """Booleans from a bool column, or from 'True'/'False' text read back from CSV."""
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).to_numpy(bool)
    return values.astype(str).str.strip().str.lower().isin(["true", "1"]).to_numpy()


def numeric_column(metrics: pd.DataFrame, name: str) -> np.ndarray:
    if name not in metrics:
        return np.full(len(metrics), np.nan)
    return pd.to_numeric(metrics[name], errors="coerce").to_numpy(float)


def kinds_of(metrics: pd.DataFrame) -> np.ndarray:
    """Kind of each row: a ``kind`` column if present, else rates have an exposure."""
    if "kind" in metrics:
        return metrics["kind"].astype(str).replace({"proportion": "share"}).to_numpy(object)
    exposure, denominator = numeric_column(metrics, "exposure"), numeric_column(metrics, "denominator")
    return np.where(~np.isnan(exposure), "rate", np.where(~np.isnan(denominator), "share", "unknown")).astype(object)


@dataclass(frozen=True)
class Rows:
    """Counts of the rows of a metrics table, and which rows can be compared."""

    kind: np.ndarray
    count: np.ndarray
    base: np.ndarray
    multiplier: np.ndarray
    valid: np.ndarray
    reason: np.ndarray


def read_rows(metrics: pd.DataFrame) -> Rows:
    """Numerator, base (denominator or exposure) and the reason a row can't be compared."""
    if "metric" not in metrics:
        raise InputError("the metrics table has no 'metric' column", field="metric")
    kind = kinds_of(metrics)
    count = numeric_column(metrics, "numerator")
    base = np.where(kind == "rate", numeric_column(metrics, "exposure"), numeric_column(metrics, "denominator"))
    multiplier = numeric_column(metrics, "multiplier")
    computable = as_bool(metrics["computable"]) if "computable" in metrics else np.ones(len(metrics), bool)
    stated = (
        metrics["reason"].astype(str).where(metrics["reason"].notna(), "").str.strip().to_numpy(object)
        if "reason" in metrics
        else np.full(len(metrics), "", object)
    )
    base_word = np.where(kind == "rate", "exposure", "denominator")
    with np.errstate(invalid="ignore"):
        conditions = [
            ~computable,
            kind == "ratio",
            ~np.isin(kind, ["share", "rate"]),
            np.isnan(count) | (count < 0),
            np.isnan(base),
            base <= 0,
            (kind == "share") & (count > base),
            np.isnan(multiplier),
        ]
    reasons = [
        np.where(stated == "", "not computable", stated),
        "ratio metric: no sampling model to compare with a benchmark",
        "neither a denominator nor an exposure",
        "no numerator",
        np.char.add("no ", base_word.astype(str)),
        np.char.add("zero ", base_word.astype(str)),
        "numerator larger than denominator",
        "no multiplier",
    ]
    reason = np.select(conditions, reasons, default="").astype(object)
    return Rows(kind, count, base, multiplier, reason == "", reason)


def pool_keys(metrics: pd.DataFrame) -> pd.Series:
    """What rows pool together: the metric, and its ``basis`` where rows carry one (the rural-cell share of
    admissions counts village cells or commune-level organisations; the two are pooled apart).

    Examples:
        >>> rows = pd.DataFrame({"metric": ["s", "s", "r"], "basis": ["village cells", "commune level", ""]})
        >>> pool_keys(rows).tolist()
        ['s|village cells', 's|commune level', 'r|']
    """
    basis = metrics["basis"].fillna("").astype(str) if "basis" in metrics else ""
    return metrics["metric"].astype(str) + "|" + basis


def pooled_values(metrics: pd.DataFrame, rows: Rows) -> pd.Series:
    """Pooled value per :func:`pool_keys` key over the comparable rows, in display units."""
    table = pd.DataFrame(
        {"metric": pool_keys(metrics).to_numpy(), "count": rows.count, "base": rows.base, "multiplier": rows.multiplier}
    )[rows.valid]
    sums = table.groupby("metric", sort=False).agg(
        count=("count", "sum"), base=("base", "sum"), low=("multiplier", "min"), high=("multiplier", "max")
    )
    mixed = sums.index[sums["low"] != sums["high"]]
    if len(mixed):
        raise UsageError(f"metric {mixed[0].split('|')[0]!r} has rows with different multipliers", field="multiplier")
    return sums["count"] / sums["base"] * sums["low"]
