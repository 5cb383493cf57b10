"""The processed observations as the metrics read them: checks, defaults, reference periods, keys, text.

Only ``obs_id``, ``unit_code``, ``indicator`` and ``value`` are required;
the other columns of ``docs/design.md`` are filled when absent
(:data:`OPTIONAL`). Each figure gets a reference interval (its period, or
its date twice) and integer keys (:data:`KEY`: unit, reference, source key)
so that pairing figures is a merge on integers. Text columns are numpy
object arrays inside the metrics modules (joining and comparing them is
faster than with pandas' ``str`` dtype); :func:`as_text` turns them back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import InputError, UsageError


REQUIRED = ("obs_id", "unit_code", "indicator", "value")


OPTIONAL = {
    "unit_label": None,
    "province_code": None,
    "source_id": "",
    "approximate": False,
    "preferred": True,
    "flags": "",
    "as_of": pd.NaT,
    "period_start": pd.NaT,
    "period_end": pd.NaT,
    "value_decimals": np.nan,
}
# What makes two figures "the same unit and date or period": integer ids of
# the unit and of the source key (see with_reference), set by usable.


# What makes two figures "the same unit and date or period": integer ids of
# the unit and of the source key (see with_reference), set by usable.
KEY = ["unit_id", "ref_start", "ref_end", "src_id"]


TEXT_COLUMNS = ("obs_id", "unit_code", "unit_label", "province_code", "indicator", "source_id", "flags")


def check_tolerance(tolerance_days) -> None:
    if tolerance_days < 0:
        raise UsageError(f"tolerance must be 0 days or more, got {tolerance_days}", field="tolerance_days")


def require(frame: pd.DataFrame, required, what: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"{what} lack column(s) {', '.join(missing)}", field=missing[0])


def with_defaults(frame: pd.DataFrame, required, what: str) -> pd.DataFrame:
    """Check required columns, fill optional ones, parse dates.

    Text columns become numpy object columns inside this module: joining
    and comparing them is several times faster than with pandas' ``str``
    dtype; :func:`as_text` turns them back on the way out.
    """
    require(frame, required, what)
    out = frame.copy()
    for col, default in OPTIONAL.items():
        if col not in out.columns:
            out[col] = out["unit_code"] if col == "unit_label" else default
    for col in ("as_of", "period_start", "period_end"):
        if not pd.api.types.is_datetime64_any_dtype(out[col]):
            try:
                out[col] = pd.to_datetime(out[col])
            except (ValueError, TypeError) as err:
                raise InputError(f"{what}: unreadable date ({err})", field=col) from None
    for col in ("flags", "source_id"):
        out[col] = out[col].fillna("")
    for col in TEXT_COLUMNS:
        if col in out.columns:
            out[col] = out[col].astype(object)
    out["approximate"] = out["approximate"].fillna(False).astype(bool)
    out["preferred"] = out["preferred"].fillna(False).astype(bool)
    return out


def with_reference(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the reference interval and the matching key.

    ``ref_start``/``ref_end`` is the period of a flow or ``[as_of, as_of]``
    for a stock; ``srckey`` is the source id for rows whose reference is not
    fully known (they match only within their source), else ''.
    """
    has_period = frame["period_start"].notna() | frame["period_end"].notna()
    start = frame["period_start"].where(has_period, frame["as_of"])
    end = frame["period_end"].where(has_period, frame["as_of"])
    dated = (start.notna() & end.notna()).to_numpy()
    return frame.assign(
        ref_start=start, ref_end=end, srckey=np.where(dated, "", frame["source_id"].to_numpy()).astype(object)
    )


def usable(observations: pd.DataFrame, as_of, indicators: pd.Index) -> pd.DataFrame:
    """Preferred observations of the given indicators, checked, with integer keys.

    ``unit_id`` and ``src_id`` number the units and source keys (merging on
    integers is much faster than on text), ``ind_id`` is the indicator's
    position in ``indicators``, and ``_order`` numbers the rows in input
    order (the processed table is in ``obs_id`` order): the last tie-break.
    """
    require(observations, REQUIRED, "observations")
    used = [c for c in observations.columns if c in REQUIRED or c in OPTIONAL]
    obs = observations.loc[observations["indicator"].isin(indicators), used]
    obs = with_reference(with_defaults(obs, REQUIRED, "observations"))
    obs = obs[obs["preferred"]]
    if as_of is not None:
        try:
            cutoff = pd.Timestamp(as_of)
        except ValueError:
            raise UsageError(f"not a date: {as_of!r}", field="as_of") from None
        obs = obs[obs["ref_end"] <= cutoff]
    values = pd.to_numeric(obs["value"], errors="coerce").astype(float)
    bad = values.isna() | ~np.isfinite(values)
    if bad.any():
        first = obs.loc[bad.idxmax()]
        raise InputError(f"observation {first['obs_id']}: value {first['value']!r} is not a number", field="value")
    return obs.assign(
        value=values,
        _order=np.arange(len(obs)),
        unit_id=pd.factorize(obs["unit_code"])[0],
        src_id=pd.factorize(obs["srckey"])[0],
        ind_id=indicators.get_indexer(obs["indicator"]),
    ).reset_index(drop=True)


def first_per_key(frame: pd.DataFrame, extra=()) -> pd.DataFrame:
    """One row per key: exact figures before hedged ones, then the first in input order."""
    ordered = frame.sort_values(["approximate", "_order"], kind="stable")
    return ordered.drop_duplicates(KEY + list(extra))


def fmt_numbers(values) -> pd.Series:
    """Numbers as short text: 22, 75.51 (no trailing .0)."""
    values = pd.Series(np.asarray(values, dtype=float))
    whole = values.round().eq(values)
    text = values.astype(object).astype(str)
    return text.where(~whole, values.round().astype("Int64").astype(str)).astype(object)


def fmt_dates(values) -> pd.Series:
    return pd.Series(pd.to_datetime(values)).dt.strftime("%Y-%m-%d").fillna("?").astype(object)


def texts(column, keep=None) -> np.ndarray:
    """A column as an object array of str, '' for missing (and where ``keep`` is false)."""
    values = np.asarray(column, dtype=object)
    blank = pd.isna(values) if keep is None else pd.isna(values) | ~keep
    return np.where(blank, "", values)


def join_texts(*columns) -> np.ndarray:
    """Join the non-empty texts of each row with ';' (columns: object arrays of str, or Series)."""
    out = texts(columns[0])
    for column in columns[1:]:
        more = column if isinstance(column, np.ndarray) else texts(column)
        has_more = more != ""
        both = has_more & (out != "")
        joined = out[both] + ";" + more[both]
        out = np.where(has_more, more, out)
        out[both] = joined
    return out


def union_flags(*columns) -> np.ndarray:
    """Row-wise union of ';'-joined flag lists, sorted, each flag once."""
    joined = join_texts(*columns)
    several = pd.Series(joined, dtype=object).str.contains(";", regex=False).to_numpy()
    if several.any():
        items = pd.Series(joined[several], dtype=object).str.split(";").explode()
        items = items.rename("flag").rename_axis("row").reset_index().drop_duplicates()
        merged = items.sort_values(["row", "flag"]).groupby("row")["flag"].agg(";".join)
        joined[several] = merged.to_numpy()
    return joined


def union_flags_by_group(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> np.ndarray:
    """The union of the flag columns over each group, for each row of the group."""
    joined = join_texts(*(frame[c] for c in columns))
    flagged = np.flatnonzero(joined != "")
    if not len(flagged):
        return joined
    items = pd.Series(joined[flagged], index=flagged, dtype=object).str.split(";").explode()
    items = items[items.ne("")]
    labelled = frame[keys].iloc[items.index.to_numpy()].assign(_flag=items.to_numpy())
    grouped = (
        labelled.drop_duplicates()
        .sort_values("_flag")
        .groupby(keys, dropna=False)["_flag"]
        .agg(";".join)
        .rename("_all")
        .reset_index()
    )
    return frame[keys].merge(grouped, on=keys, how="left")["_all"].fillna("").to_numpy(dtype=object)


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Object text columns back to pandas' ``str`` dtype for the caller."""
    text = [c for c in frame.columns if frame[c].dtype == object]
    return frame.astype(dict.fromkeys(text, "str"))


def empty_table(columns, dtypes=None) -> pd.DataFrame:
    """A table with no rows and the dtypes the filled one has (``dtypes``: more column -> dtype)."""
    text = {
        "unit_code",
        "unit_label",
        "province_code",
        "family",
        "metric",
        "method",
        "basis",
        "reason",
        "obs_ids",
        "flags",
        "note",
    }
    special = {
        "approximate": bool,
        "computable": bool,
        "period_start": "datetime64[us]",
        "period_end": "datetime64[us]",
        **(dtypes or {}),
    }
    return pd.DataFrame({c: pd.Series(dtype=special.get(c, "str" if c in text else float)) for c in columns})
