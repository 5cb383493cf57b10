"""Each metric's denominator: the nearest stock, the flow of the same period, and the exposure.

* A **stock denominator** (villages, members, population) is the preferred
  observation of the same unit nearest the numerator's date or period, no
  further away than ``tolerance_days`` (:func:`nearest_stock`); a stock
  dated inside a flow's period is 0 days away; an undated figure is matched
  only with figures of the same source.
* A **flow denominator** (admissions, for the shares of admissions) must
  cover exactly the same period.
* **Exposure** of a rate = members × period length in years (days from start
  to end, both included, / 365.25). A period of zero days (start equal to
  end, or a single date) gives none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats.observations import (
    KEY,
    check_tolerance,
    first_per_key,
    fmt_dates,
    fmt_numbers,
    texts,
    union_flags_by_group,
    usable,
    with_defaults,
    with_reference,
)

DAYS_PER_YEAR = 365.25


def nearest_stock(flows: pd.DataFrame, stocks: pd.DataFrame, indicator: str, tolerance_days: int = 730) -> pd.DataFrame:
    """For each row, the stock figure of the same unit nearest its date or period.

    Distance is 0 for a stock dated inside a flow's period, else the days to
    the nearer end. Undated figures match only figures of the same source
    (distance 0). Ties go to the same source, then to the stock nearest the
    period's middle, then to the first in input order.

    Args:
        flows: Rows needing a denominator, with ``unit_code`` and either
            ``period_start``/``period_end`` (flows) or ``as_of`` (stocks);
            ``source_id`` is optional.
        stocks: Observations to search (only ``preferred`` rows of
            ``indicator`` are used).
        indicator: The stock indicator, e.g. ``party_members``.
        tolerance_days: Furthest distance accepted, in days.

    Returns:
        ``flows`` (same index and order) with ``stock_obs_id``,
        ``stock_value``, ``stock_as_of``, ``stock_days``,
        ``stock_approximate``, ``stock_flags`` (empty when no usable stock)
        and ``stock_reason`` (empty when a stock was found, else why not).

    Raises:
        InputError: A required column is missing.
        UsageError: A negative tolerance.

    Examples:
        >>> stocks = pd.DataFrame({"obs_id": ["A", "B"], "unit_code": "614",
        ...     "indicator": "party_members", "value": [1500, 1639],
        ...     "as_of": ["2018-12-31", "2021-06-20"]})
        >>> flow = pd.DataFrame({"unit_code": ["614", "615"],
        ...     "period_start": ["2020-01-01", "2020-01-01"],
        ...     "period_end": ["2021-08-23", "2021-08-23"]})
        >>> found = nearest_stock(flow, stocks, "party_members")
        >>> found[["stock_obs_id", "stock_value", "stock_days"]].values.tolist()
        [['B', 1639.0, 0.0], [nan, nan, nan]]
        >>> found["stock_reason"].tolist()
        ['', 'no denominator: party_members not reported']
        >>> nearest_stock(flow.iloc[:1], stocks.iloc[:1], "party_members", 300)["stock_reason"].iloc[0]
        'party_members 1500 (2018-12-31) is 366 days before 2020-01-01 (tolerance 300 days)'
    """
    check_tolerance(tolerance_days)
    target = with_reference(with_defaults(flows, ("unit_code",), "rows needing a denominator"))
    stock = usable(stocks, None, pd.Index([indicator]))
    units = pd.factorize(
        np.concatenate([target["unit_code"].to_numpy(dtype=object), stock["unit_code"].to_numpy(dtype=object)])
    )[0]
    target = target.assign(unit_id=units[: len(target)], denominator=indicator, den_id=0)
    found = _nearest(target, stock.assign(unit_id=units[len(target) :]), tolerance_days)
    found.index = flows.index
    return pd.concat([flows, found], axis=1)


_SIDE_COLUMNS = {
    "value": "value",
    "value_decimals": "decimals",
    "obs_id": "obs",
    "approximate": "approx",
    "flags": "flags",
    "source_id": "source",
    "unit_code": "code",
    "unit_label": "label",
    "province_code": "province",
}


def _side(obs: pd.DataFrame, link: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The observations linked to each metric (``link``: m_order, ind_id), one per metric and key."""
    part = first_per_key(obs.merge(link, on="ind_id"), ["m_order"])
    names = {k: f"{prefix}_{v}" for k, v in _SIDE_COLUMNS.items()}
    return part[["m_order", *KEY, *_SIDE_COLUMNS]].rename(columns=names).reset_index(drop=True)


def _links(defs: pd.DataFrame, role: str, names: pd.Index) -> pd.DataFrame:
    """Metric order and indicator id of the indicators playing ``role`` (a registry column)."""
    link = defs[["m_order", role]].dropna()
    link = link.assign(**{role: link[role].astype(str).str.split(";")}).explode(role)
    ids = names.get_indexer(link[role])
    return pd.DataFrame({"m_order": link["m_order"].to_numpy()[ids >= 0], "ind_id": ids[ids >= 0]})


def pair_denominators(obs: pd.DataFrame, defs: pd.DataFrame, names: pd.Index, tolerance_days: int) -> pd.DataFrame:
    """Numerator, printed percentage and denominator of every metric, per unit and period.

    All metrics at once: observations are linked to the registry by
    indicator, so each step is one merge over every metric and unit.
    """
    keys = ["m_order", *KEY]
    rows = _side(obs, _links(defs, "numerator", names), "n").merge(
        _side(obs, _links(defs, "printed", names), "p"), on=keys, how="outer"
    )
    if rows.empty:
        return rows
    take_p = rows["n_obs"].isna()
    metric = rows["m_order"].to_numpy()
    rows = rows.assign(
        **{
            name: rows[f"n_{col}"].where(~take_p, rows[f"p_{col}"])
            for name, col in (
                ("unit_code", "code"),
                ("unit_label", "label"),
                ("province_code", "province"),
                ("source_id", "source"),
            )
        },
        **{
            col: defs[col].to_numpy()[metric]
            for col in ("metric", "family", "kind", "denominator", "match", "multiplier", "basis")
        },
        den_id=names.get_indexer(defs["denominator"])[metric],
        period_start=rows["ref_start"],
        period_end=rows["ref_end"],
    )

    den = {
        "d_value": np.full(len(rows), np.nan),
        "d_obs": np.full(len(rows), np.nan, dtype=object),
        "d_approx": np.zeros(len(rows), bool),
        "d_flags": np.full(len(rows), "", dtype=object),
        "d_reason": np.full(len(rows), "", dtype=object),
    }
    same_period = rows["match"].eq("same_period").to_numpy()
    if same_period.any():
        totals = _side(obs, _links(defs[defs["match"].eq("same_period")], "denominator", names), "d")
        hit = rows.loc[same_period, keys].merge(totals, on=keys, how="left")
        for col in ("d_value", "d_obs", "d_approx", "d_flags"):
            den[col][same_period] = hit[col].to_numpy()
        den["d_reason"][same_period] = np.where(
            hit["d_obs"].isna(),
            "no denominator: "
            + rows.loc[same_period, "denominator"].to_numpy(dtype=object)
            + " not reported for the same period",
            "",
        )
    if (~same_period).any():
        found = _nearest(rows[~same_period], obs, tolerance_days)
        for col, stock_col in (
            ("d_value", "stock_value"),
            ("d_obs", "stock_obs_id"),
            ("d_approx", "stock_approximate"),
            ("d_flags", "stock_flags"),
            ("d_reason", "stock_reason"),
        ):
            den[col][~same_period] = found[stock_col].to_numpy()

    rate = rows["kind"].eq("rate").to_numpy()
    days = (rows["ref_end"] - rows["ref_start"]).dt.days.to_numpy(dtype=float) + 1
    unknown = rate & (rows["ref_start"].isna() | rows["ref_end"].isna()).to_numpy()
    den["d_reason"][unknown] = "period unknown"
    # A flow needs a length of time: a period that starts when it ends (or a single date) has none.
    den["d_reason"][rate & (rows["ref_start"] == rows["ref_end"]).to_numpy()] = "period of zero days"
    den["d_flags"] = texts(den["d_flags"])
    rows = rows.assign(**den, exposure=np.where(rate, den["d_value"] * days / DAYS_PER_YEAR, np.nan))

    parts = obs.merge(_links(defs, "breakdown", names), on="ind_id")
    if parts.empty:
        return rows.assign(b_flags="")
    by_key = parts[keys].assign(b_flags=union_flags_by_group(parts, keys, ["flags"])).drop_duplicates(keys)
    return rows.assign(b_flags=texts(rows[keys].merge(by_key, on=keys, how="left")["b_flags"]))


def _nearest(target: pd.DataFrame, stock: pd.DataFrame, tolerance_days: int) -> pd.DataFrame:
    """The engine of :func:`nearest_stock`; both frames carry reference columns.

    Each target row names its stock indicator in ``denominator`` (and its
    position among the stock's indicators in ``den_id``). Rows asking the
    same question (unit, indicator, dates, source) are answered once: the
    six village shares of a unit and date share one search.
    """
    question = target[["unit_id", "den_id", "ref_start", "ref_end", "source_id"]]
    groups = question.groupby(list(question.columns), sort=False, dropna=False).ngroup().to_numpy()
    first = np.unique(groups, return_index=True)[1]
    found = _nearest_each(target.iloc[first], stock, tolerance_days).iloc[groups]
    found.index = target.index
    return found


def _nearest_each(target: pd.DataFrame, stock: pd.DataFrame, tolerance_days: int) -> pd.DataFrame:
    """:func:`_nearest` for distinct target rows.

    Pairs every target row with every stock row of its unit and indicator
    (one merge), then keeps the best pair per row: the lowest of one int64
    key that packs, most significant first, the distance in days, "other
    source", twice the days off the period's middle, and the input order.
    """
    start = target["ref_start"].fillna(target["ref_end"]).to_numpy()
    end = target["ref_end"].fillna(target["ref_start"]).to_numpy()
    source = texts(target["source_id"])
    indicator = target["denominator"].to_numpy(dtype=object)
    pairs = pd.DataFrame(
        {"unit_id": target["unit_id"].to_numpy(), "ind_id": target["den_id"].to_numpy(), "_row": np.arange(len(target))}
    ).merge(
        pd.DataFrame(
            {
                "unit_id": stock["unit_id"].to_numpy(),
                "ind_id": stock["ind_id"].to_numpy(),
                "_cand": np.arange(len(stock)),
            }
        ),
        on=["unit_id", "ind_id"],
    )
    row, cand = pairs["_row"].to_numpy(), pairs["_cand"].to_numpy()
    as_of = stock["as_of"].to_numpy()[cand]
    day = np.timedelta64(1, "D")
    days = np.maximum(0, np.maximum((start[row] - as_of) / day, (as_of - end[row]) / day))
    same = (source[row] == texts(stock["source_id"])[cand]) & (source[row] != "")
    days = np.where(same & np.isnan(days), 0.0, days)
    off_middle = np.abs((as_of - (start[row] + (end[row] - start[row]) / 2)) / day)
    key = (
        (_capped(days, 17) << 41)
        | ((~same).astype(np.int64) << 40)
        | (_capped(2 * off_middle, 18) << 22)
        | stock["_order"].to_numpy()[cand]
    )
    best = pd.Series(key).groupby(row).idxmin().to_numpy(dtype=np.int64)
    pick = np.full(len(target), -1)
    pick[row[best]] = cand[best]
    found_days = np.full(len(target), np.nan)
    found_days[row[best]] = days[best]

    reason = np.full(len(target), "", dtype=object)
    too_far = found_days > tolerance_days
    if too_far.any():
        far = stock.iloc[pick[too_far]]
        far_as_of, far_start, far_end = far["as_of"].to_numpy(), start[too_far], end[too_far]
        side = np.where(far_as_of < far_start, "before " + fmt_dates(far_start), "after " + fmt_dates(far_end))
        reason[too_far] = (
            indicator[too_far]
            + " "
            + fmt_numbers(far["value"])
            + " ("
            + fmt_dates(far_as_of)
            + ") is "
            + fmt_numbers(found_days[too_far])
            + " days "
            + side
            + f" (tolerance {tolerance_days} days)"
        ).to_numpy()
    for mask, text in (
        (np.isnan(found_days), "no denominator: {} reported only without a date"),
        (
            np.isnan(found_days) & (pd.isna(start) | pd.isna(end)),
            "no denominator: the figure is undated and its source gives no {}",
        ),
        (pick < 0, "no denominator: {} not reported"),
    ):
        before, after = text.split("{}")
        reason[mask] = before + indicator[mask] + after

    usable = reason == ""
    chosen = pick[usable]

    def take(column, empty, dtype):
        out = np.full(len(target), empty, dtype=dtype)
        out[usable] = stock[column].to_numpy(dtype=dtype)[chosen]
        return out

    return pd.DataFrame(
        {
            "stock_obs_id": take("obs_id", np.nan, object),
            "stock_value": take("value", np.nan, float),
            "stock_as_of": take("as_of", None, stock["as_of"].to_numpy().dtype),
            "stock_days": np.where(usable, found_days, np.nan),
            "stock_approximate": take("approximate", False, bool),
            "stock_flags": take("flags", "", object),
            "stock_reason": reason,
        }
    )


def _capped(values: np.ndarray, bits: int) -> np.ndarray:
    """Non-negative numbers as int64 below 2**bits; NaN and overflow map to the top."""
    top = 2**bits - 1
    return np.where(np.isnan(values), top, np.minimum(np.round(values), top)).astype(np.int64)
