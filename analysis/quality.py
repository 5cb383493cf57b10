"""Quality rules: published figures that deserve a second look, as flags.

Every rule is a vectorised function of the processed observations (the
columns of :func:`analysis.dataset.load_dataset`; dates as datetimes)
returning flag rows: ``rule, severity, obs_ids, unit_code, indicator,
message``. The rules join figures on integer codes of their unit,
indicator, source and dates, computed once per build.
:func:`check_quality` runs them all and also decides which side of each
conflict is preferred. A flag never removes a figure: hedged, suspect or
conflicting figures stay in the data, marked.

Rules (severity):

``breakdown_exceeds_total`` (warning)
    The parts of one breakdown of a parent (codebook ``parent`` and
    ``breakdown``), for the same unit, source and dates, add up to more than
    the parent (Kon Rẫy: 3 + 2 + 22 = 27 disciplined by severity, of 22).
    Not raised when the parent is itself a lower bound (more_than, at_least).
``percent_count_mismatch`` (warning)
    A printed percentage disagrees beyond rounding with its count over its
    denominator (codebook ``numerator`` / ``denominator``). The numerator is
    the count of the same unit, source and date; the denominator is the
    nearest in time for the same unit (same source first). The tolerance is
    half a unit of the last printed decimal (82.1 against 69/84 = 82.14 is
    fine), plus one percentage point when the percentage is hedged. Without
    a numerator, the percentage must still be a whole number out of the
    denominator (75.51% of 49 villages = 37: fine).
``conflicting_sources`` (warning)
    Different sources give different values for the same unit, indicator
    and date. Dates are compared at the coarser precision of the two figures
    (a year matches any day in it); a flow must also have the same start. A
    figure without a date could be of any date, so it is compared with every
    figure of its unit and indicator. Values differ when they are not equal
    beyond the precision they were printed with or, if either is hedged,
    by more than 10%. Reconciliation: the preferred figure is the dated one
    over an undated one (an undated figure cannot be placed in time anyway),
    then the exact one over a hedged one, then the one whose end date is
    stated over publication-date, inferred or unknown, then the later
    publication (partial dates compared as text, so "2020-08" counts as
    earlier than "2020-08-19"), then the lower obs_id; the other gets
    ``preferred = False`` and the message says which ground decided.
``hedged_value`` (info)
    The figure is printed with a hedge (more than, nearly, about, at least).
``denominator_missing`` (info)
    A percentage whose denominator is not in the codebook or not reported
    for the unit, so no count or interval can be computed from it.
``period_unknown`` (warning)
    A flow without a start or an end, or a stock without a date, after the
    publication date has been used for "up to now".
``suspect_note`` (warning)
    The note contains ``SUSPECT``: the coder found an inconsistency.
``derived_value`` (info)
    The figure was computed from others (status ``derived``).
``historical_unit`` (info)
    The unit no longer exists (its ``valid_to`` is set); one flag per unit.

Examples:
    >>> list(RULES)[:3]
    ['breakdown_exceeds_total', 'percent_count_mismatch', 'conflicting_sources']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.names import combined_codes, distinct_values

FLAG_COLUMNS = ["rule", "severity", "obs_ids", "unit_code", "indicator", "message"]

RULES = {
    "breakdown_exceeds_total": "warning",
    "percent_count_mismatch": "warning",
    "conflicting_sources": "warning",
    "hedged_value": "info",
    "denominator_missing": "info",
    "period_unknown": "warning",
    "suspect_note": "warning",
    "derived_value": "info",
    "historical_unit": "info",
}

HEDGE_WORDS = {"more_than": "more than", "nearly": "nearly", "about": "about", "at_least": "at least"}
BASIS_RANK = {"stated": 3, "publication_date": 2, "inferred": 1, "unknown": 0}
HEDGED_CONFLICT_TOLERANCE = 0.10
HEDGED_PERCENT_TOLERANCE = 1.0


_NAT = np.iinfo(np.int64).min


def check_quality(observations: pd.DataFrame, codebook: pd.DataFrame,
                  units: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Run every rule.

    Args:
        observations: Processed observations (dates as datetimes).
        codebook: The codebook (text columns).
        units: The unit table with ``valid_to`` as datetimes.

    Returns:
        ``(flags, preferred)``: the flags in rule order, and a boolean Series
        aligned with ``observations``, False for the losing side of a conflict.

    Examples:
        >>> obs = pd.DataFrame({
        ...     "obs_id": ["O1", "O2"], "source_id": ["S1", "S2"], "unit_code": "615", "unit_label": "Đắk Hà",
        ...     "indicator": "party_members", "kind": "stock", "value": [3362.0, 3387.0], "value_unit": "count",
        ...     "value_decimals": 0, "qualifier": "exact", "as_of": pd.to_datetime(["2023-06-30", None]),
        ...     "period_start": pd.NaT, "period_end": pd.NaT, "date_precision": ["day", None],
        ...     "period_end_basis": ["stated", "unknown"], "status": "published", "published": None, "note": ""})
        >>> book = pd.DataFrame({"indicator": ["party_members"], "parent": [""], "breakdown": [""],
        ...                      "numerator": [""], "denominator": [""]})
        >>> units = pd.DataFrame({"unit_code": ["615"], "valid_to": pd.to_datetime(["2025-06-30"])})
        >>> flags, preferred = check_quality(obs, book, units)
        >>> flags["rule"].tolist(), preferred.tolist()
        (['conflicting_sources', 'period_unknown', 'historical_unit'], [True, False])
        >>> print(flags["message"].iloc[0])
        party_members of Đắk Hà: 3362 (S1, 2023-06-30) vs 3387 (S2, date unknown);
        preferred O1 (a dated figure is preferred to an undated one)
    """
    obs = _keyed(observations)
    conflicts, losers = _conflicting_sources(obs)
    mismatches, missing = _percent_rules(obs, codebook)
    flags = pd.concat([
        _breakdown_exceeds_total(obs, codebook),
        mismatches,
        conflicts,
        _hedged_value(obs),
        missing,
        _period_unknown(obs),
        _suspect_note(obs),
        _derived_value(obs),
        _historical_unit(obs, units),
    ], ignore_index=True)
    preferred = ~observations["obs_id"].isin(losers)
    return flags[FLAG_COLUMNS].astype("str"), preferred


def _keyed(observations: pd.DataFrame) -> pd.DataFrame:
    """The observations with integer join keys (returned as is if already there).

    Adds ``_row`` (position), ``_unit``, ``_src`` (codes), ``_ind``
    (categorical indicator), the reference date ``ref`` (as_of for a stock,
    period end for a flow) and, as integer days, ``_as_of``, ``_start``,
    ``_end``, ``_ref`` (missing = a sentinel that equals itself).
    """
    if "_ind" in observations:  # already keyed
        return observations
    ref = observations["as_of"].where(observations["kind"] == "stock", observations["period_end"])
    return observations.assign(
        _row=np.arange(len(observations)),
        _unit=distinct_values(observations["unit_code"])[0],
        _src=distinct_values(observations["source_id"])[0],
        _ind=pd.Categorical(observations["indicator"]),
        ref=ref,
        _as_of=_days(observations["as_of"]), _start=_days(observations["period_start"]),
        _end=_days(observations["period_end"]), _ref=_days(ref),
    )


def _days(dates: pd.Series) -> np.ndarray:
    return dates.to_numpy(dtype="datetime64[D]").astype("int64")


def _per_indicator(obs: pd.DataFrame, codebook: pd.DataFrame, column: str) -> np.ndarray:
    """For each row, the code (in ``_ind``) of the codebook's ``column`` of its indicator; -1 if none."""
    categories = obs["_ind"].cat.categories
    named = codebook.set_index("indicator")[column].reindex(categories).fillna("")
    return categories.get_indexer(named)[obs["_ind"].cat.codes.to_numpy()]


def flags_by_observation(flags: pd.DataFrame, obs_ids: pd.Series) -> pd.Series:
    """The ``;``-joined rules flagging each observation, in rule order.

    Args:
        flags: Flag rows (``rule``, ``obs_ids``).
        obs_ids: The observations to describe.

    Returns:
        Aligned with ``obs_ids``: their rules, '' when none.

    Examples:
        >>> flags = pd.DataFrame({"rule": ["hedged_value", "conflicting_sources"], "obs_ids": ["O2", "O1;O2"]})
        >>> flags_by_observation(flags, pd.Series(["O1", "O2", "O3"])).tolist()
        ['conflicting_sources', 'conflicting_sources;hedged_value', '']
    """
    bit = {rule: 1 << i for i, rule in enumerate(RULES)}
    pairs = flags.assign(obs_id=flags["obs_ids"].str.split(";"))[["rule", "obs_id"]].explode("obs_id")
    rows = pd.Index(obs_ids).get_indexer(pairs["obs_id"])
    masks = np.zeros(len(obs_ids), dtype=np.int64)
    np.bitwise_or.at(masks, rows[rows >= 0], pairs["rule"].map(bit).to_numpy(dtype=np.int64)[rows >= 0])
    distinct = np.unique(masks)
    names = {m: ";".join(rule for rule, b in bit.items() if m & b) for m in distinct}  # a few combinations
    return pd.Series(masks, index=obs_ids.index).map(names).astype(object)


_MESSAGE_COLUMNS = ["obs_id", "source_id", "unit_code", "unit_label", "indicator", "value", "as_of",
                    "period_start", "period_end", "date_precision"]


def _text_rows(obs: pd.DataFrame, rows) -> pd.DataFrame:
    """Some rows with the columns messages use, categorical columns as plain text."""
    picked = obs[_MESSAGE_COLUMNS].iloc[np.asarray(rows)]
    return picked.astype({c: object for c in _MESSAGE_COLUMNS if isinstance(picked[c].dtype, pd.CategoricalDtype)})


def _flags(rule: str, obs_ids, unit_code, indicator, message) -> pd.DataFrame:
    frame = pd.DataFrame({"obs_ids": obs_ids, "unit_code": unit_code, "indicator": indicator, "message": message})
    frame = frame.astype(object)
    frame.insert(0, "severity", RULES[rule])
    frame.insert(0, "rule", rule)
    return frame.reset_index(drop=True)


def _no_flags(rule: str) -> pd.DataFrame:
    return _flags(rule, [], [], [], [])


def _num(values) -> pd.Series:
    """Numbers as printed in messages: 22, 75.51, 1085332."""
    values = pd.Series(values)
    return pd.Series(np.char.mod("%.10g", values.to_numpy(dtype=float)), index=values.index, dtype=object)


def _when(frame: pd.DataFrame) -> pd.Series:
    """A figure's date for messages, at its precision: as_of, or 'start to end', or 'date unknown'."""
    precision = np.maximum(pd.Categorical(frame["date_precision"], categories=["year", "month", "day"]).codes, 0)

    def shown(column):
        days = frame[column].to_numpy(dtype="datetime64[D]")
        text = np.choose(precision, [np.datetime_as_string(days.astype(f"datetime64[{unit}]")) for unit in "YMD"])
        return pd.Series(text, index=frame.index, dtype=object).where(~np.isnat(days))

    period = shown("period_start").fillna("?") + " to " + shown("period_end").fillna("?")
    no_period = frame["period_start"].isna() & frame["period_end"].isna()
    when = shown("as_of").where(frame["as_of"].notna(), period.where(~no_period))
    return when.fillna("date unknown")


def _breakdown_exceeds_total(observations: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Parts of one breakdown adding up to more than their parent (see module doc)."""
    obs = _keyed(observations)
    parent = _per_indicator(obs, codebook, "parent")
    breakdown = codebook.set_index("indicator")["breakdown"].reindex(obs["_ind"].cat.categories).fillna("")
    in_breakdown = (breakdown.to_numpy() != "")[obs["_ind"].cat.codes.to_numpy()] & (parent >= 0)
    # one key for "same unit, source and dates", then the (part's parent | total's own) indicator
    where = combined_codes(obs["_unit"], obs["_src"], obs["_as_of"], obs["_start"], obs["_end"])
    codes = obs["_ind"].cat.codes.to_numpy().astype(np.int64)
    width = len(obs["_ind"].cat.categories) + 1
    parts = pd.DataFrame({"_key": where[in_breakdown] * width + parent[in_breakdown],
                          "breakdown": breakdown.to_numpy()[codes[in_breakdown]],
                          "_row": obs["_row"].to_numpy()[in_breakdown], "value": obs["value"].to_numpy()[in_breakdown]})
    sums = parts.groupby(["_key", "breakdown"], sort=False)["value"].sum().rename("total").reset_index()
    bounded = ~obs["qualifier"].isin(["more_than", "at_least"]).to_numpy()
    totals = pd.DataFrame({"_key": where[bounded] * width + codes[bounded], "_row": obs["_row"].to_numpy()[bounded],
                           "value": obs["value"].to_numpy()[bounded]})
    over = sums.merge(totals, on="_key")
    over = over.loc[over["total"] > over["value"] + 1e-9]
    if over.empty:
        return _no_flags("breakdown_exceeds_total")
    members = parts.merge(over[["_key", "breakdown", "_row"]].rename(columns={"_row": "_total_row"}),
                          on=["_key", "breakdown"])
    ids = obs["obs_id"].to_numpy()
    members = members.assign(obs_id=ids[members["_row"]], shown=_num(members["value"]).to_numpy())
    detail = (members.groupby(["_total_row", "breakdown"], sort=False)
              .agg(ids=("obs_id", ";".join), terms=("shown", "+".join)))
    over = over.join(detail, on=["_row", "breakdown"])
    total = _text_rows(obs, over["_row"])
    message = (over["breakdown"] + " breakdown of " + total["indicator"].to_numpy() + " sums to "
               + _num(over["total"]) + " (" + over["terms"] + "), more than the total " + _num(over["value"]))
    return _flags("breakdown_exceeds_total", over["ids"] + ";" + total["obs_id"].to_numpy(),
                  total["unit_code"].to_numpy(), total["indicator"].to_numpy(), message)


def _percent_rules(observations: pd.DataFrame, codebook: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``percent_count_mismatch`` and ``denominator_missing`` flags, from one pass over the percentages."""
    obs = _keyed(observations)
    numerator = _per_indicator(obs, codebook, "numerator")
    denominator = _per_indicator(obs, codebook, "denominator")
    is_pct = (obs["value_unit"] == "percent").to_numpy()
    cols = ["_row", "_unit", "_src", "_ref", "value", "qualifier"]
    pct = obs.loc[is_pct, cols].assign(_num=numerator[is_pct], _den=denominator[is_pct])
    counts = obs[cols].assign(_ind=obs["_ind"].cat.codes.to_numpy())

    dens = pct[["_row", "_unit", "_src", "_ref", "_den"]].merge(
        counts.rename(columns=lambda c: {"_ind": "_den", "_unit": "_unit"}.get(c, c + "_d")), on=["_unit", "_den"])
    dens["_other"] = dens["_src"] != dens["_src_d"]
    dated = (dens["_ref"] != _NAT) & (dens["_ref_d"] != _NAT)
    dens["_gap"] = np.where(dated, (dens["_ref"] - dens["_ref_d"]).abs(), np.iinfo(np.int64).max)
    dens = dens.iloc[np.lexsort([dens["_row_d"], dens["_gap"], dens["_other"], dens["_row"]])]
    dens = dens.drop_duplicates("_row").set_index("_row")

    nums = pct[["_row", "_unit", "_src", "_ref", "_num"]].merge(
        counts.rename(columns={"_ind": "_num", "_row": "_row_n", "value": "value_n", "qualifier": "qualifier_n"}),
        on=["_unit", "_src", "_ref", "_num"])
    nums = nums.sort_values(["_row", "_row_n"]).drop_duplicates("_row").set_index("_row")

    missing = pct.loc[~pct["_row"].isin(dens.index)]
    pct = pct.join(dens[["_row_d", "value_d", "qualifier_d"]], on="_row").join(
        nums[["_row_n", "value_n", "qualifier_n"]], on="_row")
    decimals = obs["value_decimals"].to_numpy()[pct["_row"]]
    return _mismatches(obs, pct.loc[pct["value_d"] > 0], decimals[pct["value_d"] > 0]), _missing(obs, missing, codebook)


def _mismatches(obs: pd.DataFrame, pct: pd.DataFrame, decimals: np.ndarray) -> pd.DataFrame:
    pct = pct.reset_index(drop=True)
    implied = pct["value"] * pct["value_d"] / 100
    has_num = pct["value_n"].notna()
    hedged_counts = (pct["qualifier_d"] != "exact") | (has_num & (pct["qualifier_n"] != "exact"))
    count = pct["value_n"].where(has_num, implied.round())
    computed = 100 * count / pct["value_d"]
    tolerance = pd.Series(0.5 * 10.0 ** -decimals.astype(float) + 1e-9
                          + np.where(pct["qualifier"] == "exact", 0, HEDGED_PERCENT_TOLERANCE))
    off_count = (implied - pct["value_n"]).abs() > HEDGED_CONFLICT_TOLERANCE * pct["value_n"]
    bad = np.where(hedged_counts, has_num & off_count, (computed - pct["value"]).abs() > tolerance)
    if not bad.any():
        return _no_flags("percent_count_mismatch")
    pct, count, computed, implied, tolerance = pct[bad], count[bad], computed[bad], implied[bad], tolerance[bad]
    fraction = _num(count) + "/" + _num(pct["value_d"]) + " = " + _num(computed.round(2)) + "%"
    how = np.select(
        [hedged_counts[bad], pct["value_n"].notna()],
        ["it implies " + _num(implied.round(1)) + " of " + _num(pct["value_d"])
         + ", more than 10% away from the hedged count " + _num(pct["value_n"]), fraction],
        "no whole count out of " + _num(pct["value_d"]) + " gives it (nearest " + fraction + ")")
    ids = obs["obs_id"].to_numpy()
    numerator_id = pd.Series(ids[pct["_row_n"].fillna(0).astype(int)], index=pct.index).where(pct["_row_n"].notna())
    rows = _text_rows(obs, pct["_row"])
    message = "printed " + _num(pct["value"]) + "% but " + how + "; tolerance " + _num(tolerance.round(4))
    involved = (rows["obs_id"].to_numpy() + (";" + numerator_id).fillna("").to_numpy() + ";"
                + ids[pct["_row_d"].astype(int)])
    return _flags("percent_count_mismatch", involved, rows["unit_code"].to_numpy(), rows["indicator"].to_numpy(),
                  message.to_numpy())


def _missing(obs: pd.DataFrame, missing: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    rows = _text_rows(obs, missing["_row"])
    denominator = rows["indicator"].astype(object).map(codebook.set_index("indicator")["denominator"]).fillna("")
    message = np.where(denominator == "", "the codebook gives no denominator for " + rows["indicator"],
                       "no " + denominator + " figure for this unit")
    return _flags("denominator_missing", rows["obs_id"].to_numpy(), rows["unit_code"].to_numpy(),
                  rows["indicator"].to_numpy(), message)


_GROUNDS = {
    "dated": "a dated figure is preferred to an undated one",
    "exact": "an exact figure is preferred to a hedged one",
    "basis": "a stated date is preferred to an inferred or unknown one",
    "later": "the later publication is preferred",
    "first": "no other ground: the lower obs_id is kept",
}


def _conflicting_sources(observations: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Different values from different sources for one unit, indicator and date.

    Returns:
        ``(flags, losers)``: one flag per conflicting pair, and the obs_ids
        that are not preferred (see the module doc for the rule).
    """
    obs = _keyed(observations)
    d = obs["ref"].to_numpy(dtype="datetime64[D]")
    start = obs["period_start"].to_numpy(dtype="datetime64[D]")
    precision = np.maximum(pd.Categorical(obs["date_precision"], categories=["year", "month", "day"]).codes, 0)
    frame = pd.DataFrame({
        "_row": obs["_row"], "_unit": obs["_unit"], "_ind": obs["_ind"].cat.codes, "_src": obs["_src"],
        "value": obs["value"], "exact": (obs["qualifier"] == "exact").to_numpy(),
        "decimals": obs["value_decimals"], "precision": precision, "stock": (obs["kind"] == "stock").to_numpy(),
        "year": d.astype("datetime64[Y]").astype("int64"), "month": d.astype("datetime64[M]").astype("int64"),
        "day": d.astype("int64"),
        "start_year": start.astype("datetime64[Y]").astype("int64"),
        "start_month": start.astype("datetime64[M]").astype("int64"), "start_day": start.astype("int64"),
    })
    undated = frame["day"] == _NAT
    dated = frame.loc[~undated].assign(_year=lambda f: f["year"])  # join key; "year" itself is compared later
    dated = dated.loc[_several_sources(dated, ["_unit", "_ind", "_year"])]
    with_undated = frame.loc[_several_sources(frame, ["_unit", "_ind"])]
    with_undated = with_undated.loc[_pair_key(with_undated).isin(_pair_key(frame.loc[undated]))]
    undated_rows = with_undated.loc[with_undated["day"] == _NAT]
    pairs = pd.concat([
        dated.merge(dated, on=["_unit", "_ind", "_year"], suffixes=("_a", "_b")),
        undated_rows.merge(with_undated, on=["_unit", "_ind"], suffixes=("_a", "_b")),
        with_undated.loc[with_undated["day"] != _NAT].merge(undated_rows, on=["_unit", "_ind"], suffixes=("_a", "_b")),
    ], ignore_index=True)
    pairs = pairs.loc[(pairs["_src_a"] != pairs["_src_b"]) & (pairs["_row_a"] < pairs["_row_b"])]
    pairs = pairs.loc[_same_dates(pairs) & _values_differ(pairs)]
    if pairs.empty:
        return _no_flags("conflicting_sources"), pd.Series([], dtype=object)

    a, b = _text_rows(obs, pairs["_row_a"]), _text_rows(obs, pairs["_row_b"])
    ga, gb = _grounds(obs, pairs["_row_a"], pairs["_row_b"])
    diff = np.sign(ga - gb)
    diff[:, -1] = 1  # the lower row (obs_id order of the file) wins the last ground
    decisive = (diff != 0).argmax(axis=1)
    a_wins = diff[np.arange(len(pairs)), decisive] > 0
    ids_a, ids_b = a["obs_id"].to_numpy(), b["obs_id"].to_numpy()
    winner = np.where(a_wins, ids_a, ids_b)
    losers = pd.Series(np.where(a_wins, ids_b, ids_a)).drop_duplicates()
    why = np.array(list(_GROUNDS.values()))[decisive]

    def side(x):
        return (_num(x["value"]) + " (" + x["source_id"] + ", " + _when(x) + ")").to_numpy()

    message = (a["indicator"].to_numpy() + " of " + a["unit_label"].to_numpy() + ": " + side(a) + " vs "
               + side(b) + "; preferred " + winner + " (" + why + ")")
    flags = _flags("conflicting_sources", ids_a + ";" + ids_b, a["unit_code"].to_numpy(),
                   a["indicator"].to_numpy(), message)
    return flags, losers


def _pair_key(frame: pd.DataFrame) -> pd.Series:
    """One integer per (unit, indicator)."""
    return frame["_unit"].astype("int64") * (1 << 24) + frame["_ind"].astype("int64")


def _several_sources(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Rows whose group (by ``keys``) has figures from more than one source."""
    sources = frame.groupby(keys, sort=False)["_src"]
    return sources.transform("min") != sources.transform("max")


def _grounds(obs: pd.DataFrame, rows_a, rows_b) -> tuple[np.ndarray, np.ndarray]:
    """Reconciliation grounds of two aligned sets of rows, in order of priority; higher is better."""
    both = obs[["_ref", "qualifier", "period_end_basis", "published"]].iloc[np.concatenate([rows_a, rows_b])]
    published = pd.factorize(both["published"].astype(object), sort=True)[0]  # text order of ISO dates; missing = -1
    grounds = np.column_stack([
        (both["_ref"] != _NAT).to_numpy(dtype=int),
        (both["qualifier"] == "exact").to_numpy(dtype=int),
        both["period_end_basis"].astype(object).map(BASIS_RANK).fillna(0).to_numpy(dtype=int),
        published,
        np.zeros(len(both), dtype=int),
    ])
    return grounds[: len(rows_a)], grounds[len(rows_a):]


def _same_dates(pairs: pd.DataFrame) -> np.ndarray:
    """Whether two figures could describe the same date or period (see module doc)."""
    coarse = np.minimum(pairs["precision_a"], pairs["precision_b"]).to_numpy()

    def equal(prefix):
        names = [f"{prefix}year", f"{prefix}month", f"{prefix}day"]
        a = np.choose(coarse, [pairs[f"{n}_a"].to_numpy() for n in names])
        b = np.choose(coarse, [pairs[f"{n}_b"].to_numpy() for n in names])
        return a == b, a == _NAT, b == _NAT

    same_ref, ref_a_missing, ref_b_missing = equal("")
    same_start, start_a_missing, start_b_missing = equal("start_")
    undated = ref_a_missing | ref_b_missing
    start_ok = (pairs["stock_a"].to_numpy() | same_start | (start_a_missing & start_b_missing)
                | (undated & (start_a_missing | start_b_missing)))
    return start_ok & (undated | same_ref)


def _values_differ(pairs: pd.DataFrame) -> np.ndarray:
    """Different beyond printing precision, or by more than 10% when either is hedged."""
    a, b = pairs["value_a"].to_numpy(), pairs["value_b"].to_numpy()
    hedged = ~(pairs["exact_a"].to_numpy() & pairs["exact_b"].to_numpy())
    largest = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(largest > 0, np.abs(a - b) / largest, 0)
    rounding = 0.5 * 10.0 ** -np.minimum(pairs["decimals_a"], pairs["decimals_b"]).to_numpy(dtype=float)
    return np.where(hedged, relative > HEDGED_CONFLICT_TOLERANCE, np.abs(a - b) > rounding + 1e-9)


def _hedged_value(observations: pd.DataFrame) -> pd.DataFrame:
    """Figures printed with a hedge (see module doc)."""
    hedged = observations.loc[observations["qualifier"] != "exact"]
    message = "printed as '" + hedged["qualifier"].astype(object).map(HEDGE_WORDS) + " " + _num(hedged["value"]) + "'"
    return _flags("hedged_value", hedged["obs_id"], hedged["unit_code"], hedged["indicator"], message)


def _period_unknown(observations: pd.DataFrame) -> pd.DataFrame:
    """Flows without a full period, stocks without a date (see module doc)."""
    flow = observations["kind"] == "flow"
    no_start, no_end = observations["period_start"].isna(), observations["period_end"].isna()
    undated_stock = ~flow & observations["as_of"].isna()
    pick = (flow & (no_start | no_end)) | undated_stock
    obs = observations.loc[pick]
    message = np.select(
        [~flow[pick], no_start[pick] & no_end[pick], no_start[pick]],
        ["stock without a date", "flow without a period", "flow without a start date"],
        "flow without an end date")
    publication = (obs["period_end_basis"] == "publication_date") & obs["published"].isna()
    message = np.where(publication, message + " (ends at publication, but the source is undated)", message)
    return _flags("period_unknown", obs["obs_id"], obs["unit_code"], obs["indicator"], message)


def _suspect_note(observations: pd.DataFrame) -> pd.DataFrame:
    """Figures whose note says SUSPECT (see module doc)."""
    obs = observations.loc[observations["note"].str.contains("SUSPECT", regex=False, na=False)]
    message = obs["note"].astype(object).str.extract(r"(SUSPECT.*)", expand=False).str.slice(0, 200)
    return _flags("suspect_note", obs["obs_id"], obs["unit_code"], obs["indicator"], message)


def _derived_value(observations: pd.DataFrame) -> pd.DataFrame:
    """Figures computed from others (see module doc)."""
    obs = observations.loc[observations["status"] == "derived"]
    return _flags("derived_value", obs["obs_id"], obs["unit_code"], obs["indicator"],
                  "derived: " + obs["note"].astype(object).fillna(""))


def _historical_unit(observations: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """One flag per unit that no longer exists, listing its figures (see module doc)."""
    ended = units.loc[units["valid_to"].notna()].set_index("unit_code")
    obs = observations.loc[observations["unit_code"].isin(ended.index), ["obs_id", "unit_code", "unit_label"]]
    if obs.empty:
        return _no_flags("historical_unit")
    per_unit = obs.astype(object).groupby("unit_code", sort=False).agg(
        ids=("obs_id", ";".join), label=("unit_label", "first"))
    per_unit = per_unit.join(ended[["valid_to"]])
    until = per_unit["valid_to"].dt.strftime("%Y-%m-%d")
    message = per_unit["label"] + " (" + per_unit.index.to_series() + ") existed until " + until
    return _flags("historical_unit", per_unit["ids"], per_unit.index.to_series(), "", message)
