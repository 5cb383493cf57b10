"""Quality rules: published figures that deserve a second look, as flags.

Every rule is a vectorised function of the processed observations (the
columns of :func:`analysis.data.dataset.load_dataset`; dates as datetimes)
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
    denominator (codebook ``numerator`` / ``denominator``). All three must
    describe the same time. The numerator is the count of the same unit
    and source, of the same date (a flow: the same period). The denominator
    is of the same unit; for a flow percentage it must count the same
    period (same start and end; a period whose end is unknown only within
    the same source, where "to date" is one date), so 2014's
    ``admissions_target_achieved_share`` is never checked against the 2016
    target. For a stock percentage it is the figure of the same date (same
    source first), else the nearest date in the same source, else, when the
    unit reports the denominator only without a date, an undated figure of
    another source (Kon Rẫy's 49 villages from an undated list); a dated
    figure of another date from another source is not used. The tolerance
    is half a unit of the last printed decimal (82.1 against 69/84 = 82.14
    is fine), plus one percentage point when the percentage is hedged.
    Without a numerator, the percentage must still be a whole number out of
    the denominator (75.51% of 49 villages = 37: fine).
``conflicting_sources`` (warning)
    Different sources give different values for the same unit, indicator
    and date. Dates are compared at the coarser precision of the two figures
    (a year matches any day in it); a flow must also have the same start.
    A figure without a date (a stock without ``as_of``, a flow without an
    end) cannot be placed in time, so it is compared with the other undated
    figures of its unit and indicator, and with dated figures only where it
    can be placed against them:

    * its source is *placed* at a date for the unit when at least
      :data:`MIN_AGREEING_FIGURES` of the source's undated figures for that
      unit equal dated figures of other sources, all of one date; it is
      then compared with the figures of that date only (Đắk Hà: the undated
      Nhân Dân article repeats four figures the district portal gives for
      2023-06-30, so its 3387 members conflict with the portal's 3362 of
      that date, not with 3000 of 2018);
    * otherwise an undated stock is compared with the dated figures of its
      unit and indicator only when they are all of one date, the only date
      it can be placed at; with figures of several dates it could be of any
      of them and is not compared. An undated flow whose source is not
      placed is never compared with dated ones (a count "from 2015 to date"
      may end anywhere).

    The message says which of the two placed the undated figure; undated
    figures that cannot be placed are left to ``period_unknown``. Values
    differ when they are not equal beyond the precision they were printed
    with or, if either is hedged, by more than 10%. Reconciliation: the
    preferred figure is the dated one over an undated one (an undated
    figure cannot be placed in time anyway), then the exact one over a
    hedged one, then the one whose end date is stated over
    publication-date, inferred or unknown, then the later publication
    (partial dates compared as text, so "2020-08" counts as earlier than
    "2020-08-19"), then the lower obs_id; the other gets ``preferred =
    False`` and the message says which ground decided.
``hedged_value`` (info)
    The figure is printed with a hedge (more than, nearly, about, at least).
``denominator_missing`` (info)
    A percentage whose denominator is not in the codebook or not reported
    for the unit at any date, so no count or interval can be computed from it.
``period_unknown`` (warning)
    A flow without a start or an end, or a stock without a date, after the
    publication date has been used for "up to now".
``suspect_note`` (warning)
    The note contains ``SUSPECT``: the coder found an inconsistency.
``derived_value`` (info)
    The figure was computed from others (status ``derived``).
``historical_unit`` (info)
    The unit no longer exists (its ``valid_to`` is set); one flag per unit.
``zero_length_period`` (warning)
    A flow whose period starts and ends on the same day: a count over no
    time, so no rate per year can be computed from it (a typing slip, most
    often the start date copied into the end).
``dated_after_publication`` (warning)
    A figure dated (``as_of``, or a period's end) after its source was
    published, or after today when the source is undated: a projection or a
    typing slip (a year of 2099). A partial date counts from its first day
    (as_of 2020 is not after a publication of September 2020); targets
    (indicators ending in ``_target``) are set ahead and not flagged. A
    portal or reference page is a living page: its figures may be as recent
    as the day it was read (``accessed``), which is then the limit.

Examples:
    >>> list(RULES)[:3]
    ['breakdown_exceeds_total', 'percent_count_mismatch', 'conflicting_sources']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.text.names import combined_codes, distinct_values, on_distinct

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
    "zero_length_period": "warning",
    "dated_after_publication": "warning",
}

HEDGE_WORDS = {"more_than": "more than", "nearly": "nearly", "about": "about", "at_least": "at least"}
BASIS_RANK = {"stated": 3, "publication_date": 2, "inferred": 1, "unknown": 0}
HEDGED_CONFLICT_TOLERANCE = 0.10
HEDGED_PERCENT_TOLERANCE = 1.0
MIN_AGREEING_FIGURES = 2


_NAT = np.iinfo(np.int64).min
_FAR = 1 << 40  # days: farther than any two dates


def check_quality(
    observations: pd.DataFrame, codebook: pd.DataFrame, units: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series]:
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
        party_members of Đắk Hà: 3362 (S1, 2023-06-30) vs 3387 (S2, date unknown); 2023-06-30 is the only date
        of this indicator for this unit, so the undated figure is compared with it; preferred O1 (a dated figure
        is preferred to an undated one)
    """
    flags, preferred, _ = flag_observations(observations, codebook, units)
    return flags, preferred


def flag_observations(
    observations: pd.DataFrame, codebook: pd.DataFrame, units: pd.DataFrame, read_on: pd.Series | None = None
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Run every rule, and say which rules flag each figure.

    Args:
        observations: Processed observations (dates as datetimes).
        codebook: The codebook (text columns).
        units: The unit table with ``valid_to`` as datetimes.
        read_on: For sources that are living pages (portals, reference
            lists), the day each was read, by source id (see
            ``dated_after_publication``); None: every source is judged by
            its publication date.

    Returns:
        ``(flags, preferred, rules)``: the flags and ``preferred`` of
        :func:`check_quality`, and aligned with ``observations`` the
        ``;``-joined rules flagging each figure, in rule order ('' when
        none), as :func:`flags_by_observation` gives them but taken from the
        rows each rule flagged instead of looking up every obs_id.

    Examples:
        >>> obs = pd.DataFrame({
        ...     "obs_id": ["O1", "O2"], "source_id": "S1", "unit_code": "615", "unit_label": "Đắk Hà",
        ...     "indicator": "party_members", "kind": "stock", "value": [3362.0, 3300.0], "value_unit": "count",
        ...     "value_decimals": 0, "qualifier": ["exact", "more_than"], "as_of": pd.to_datetime(["2023-06-30", None]),
        ...     "period_start": pd.NaT, "period_end": pd.NaT, "date_precision": ["day", None],
        ...     "period_end_basis": "stated", "status": "published", "published": None, "note": ""})
        >>> book = pd.DataFrame({"indicator": ["party_members"], "parent": [""], "breakdown": [""],
        ...                      "numerator": [""], "denominator": [""]})
        >>> units = pd.DataFrame({"unit_code": ["615"], "valid_to": pd.to_datetime([None])})
        >>> flag_observations(obs, book, units)[2].tolist()
        ['', 'hedged_value;period_unknown']
    """
    obs = _keyed(observations)
    conflicts, losers = _conflicting_sources(obs)
    mismatches, missing = _percent_rules(obs, codebook)
    results = [  # (flags, rows flagged) of each rule, in the order of RULES
        _breakdown_exceeds_total(obs, codebook),
        mismatches,
        conflicts,
        _hedged_value(obs),
        missing,
        _period_unknown(obs),
        _suspect_note(obs),
        _derived_value(obs),
        _historical_unit(obs, units),
        _zero_length_period(obs),
        _dated_after_publication(obs, read_on),
    ]
    flags = pd.concat([found for found, _ in results], ignore_index=True)
    masks = np.zeros(len(observations), dtype=np.int64)
    for bit, (_, rows) in enumerate(results):
        masks[rows] |= 1 << bit
    preferred = np.ones(len(observations), dtype=bool)
    preferred[losers] = False
    return (
        flags[FLAG_COLUMNS].astype("str"),
        pd.Series(preferred, index=observations.index),
        _rule_names(masks, observations.index),
    )


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
        _as_of=_days(observations["as_of"]),
        _start=_days(observations["period_start"]),
        _end=_days(observations["period_end"]),
        _ref=_days(ref),
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
    flagged, ids = pd.factorize(pairs["obs_id"])  # the few flagged ids, rather than every obs_id, get a hash table
    masks = np.zeros(len(ids) + 1, dtype=np.int64)  # the last one for observations without flags
    np.bitwise_or.at(masks, flagged, pairs["rule"].map(bit).to_numpy(dtype=np.int64))
    return _rule_names(masks[pd.Index(ids).get_indexer(obs_ids)], obs_ids.index)


def _rule_names(masks: np.ndarray, index: pd.Index) -> pd.Series:
    """The ``;``-joined rules of each bit mask (bit i = the i-th rule), built once per distinct mask."""
    combination, distinct = pd.factorize(masks)
    names = np.array([";".join(rule for i, rule in enumerate(RULES) if m >> i & 1) for m in distinct], dtype=object)
    return pd.Series(names[combination], index=index, dtype=object)


_MESSAGE_COLUMNS = [
    "obs_id",
    "source_id",
    "unit_code",
    "unit_label",
    "indicator",
    "value",
    "as_of",
    "period_start",
    "period_end",
    "date_precision",
]


def _text_rows(obs: pd.DataFrame, rows) -> pd.DataFrame:
    """Some rows with the columns messages use, categorical columns as plain text."""
    picked = obs.iloc[np.asarray(rows)][_MESSAGE_COLUMNS]
    return picked.astype({c: object for c in _MESSAGE_COLUMNS if isinstance(picked[c].dtype, pd.CategoricalDtype)})


def _flags(rule: str, obs_ids, unit_code, indicator, message, rows) -> tuple[pd.DataFrame, np.ndarray]:
    """A rule's flag rows, and the positions of every observation they flag (repeats allowed)."""
    frame = pd.DataFrame({"obs_ids": obs_ids, "unit_code": unit_code, "indicator": indicator, "message": message})
    frame = frame.astype(object)
    frame.insert(0, "severity", RULES[rule])
    frame.insert(0, "rule", rule)
    return frame.reset_index(drop=True), np.asarray(rows, dtype=np.int64)


def _no_flags(rule: str) -> tuple[pd.DataFrame, np.ndarray]:
    return _flags(rule, [], [], [], [], [])


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


def _breakdown_exceeds_total(observations: pd.DataFrame, codebook: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Parts of one breakdown adding up to more than their parent (see module doc)."""
    obs = _keyed(observations)
    categories = obs["_ind"].cat.categories
    codes = obs["_ind"].cat.codes.to_numpy().astype(np.int64)
    parent = _per_indicator(obs, codebook, "parent")
    breakdown = codebook.set_index("indicator")["breakdown"].reindex(categories).fillna("")
    breakdown_code, breakdown_names = pd.factorize(breakdown)  # an integer per indicator code
    in_breakdown = (breakdown.to_numpy() != "")[codes] & (parent >= 0)
    is_parent = np.zeros(len(categories) + 1, dtype=bool)
    is_parent[parent[in_breakdown]] = True
    total = is_parent[codes] & ~obs["qualifier"].isin(["more_than", "at_least"]).to_numpy()
    if not total.any():
        return _no_flags("breakdown_exceeds_total")
    rows = np.flatnonzero(in_breakdown | total)
    # one key for "same unit, source and dates", then the (part's parent | total's own) indicator
    where = np.empty(len(obs), dtype=np.int64)
    where[rows] = combined_codes(*(obs[c].to_numpy()[rows] for c in ("_unit", "_src", "_as_of", "_start", "_end")))
    width = len(categories) + 1
    part_rows, total_rows = np.flatnonzero(in_breakdown), np.flatnonzero(total)
    values = obs["value"].to_numpy()
    parts = pd.DataFrame(
        {
            "_key": where[part_rows] * width + parent[part_rows],
            "_breakdown": breakdown_code[codes[part_rows]],
            "_row": part_rows,
            "value": values[part_rows],
        }
    )
    count = len(breakdown_names) + 1
    sums = parts["value"].groupby((parts["_key"] * count + parts["_breakdown"]).to_numpy(), sort=False).sum()
    sums = pd.DataFrame({"_key": sums.index // count, "_breakdown": sums.index % count, "total": sums.to_numpy()})
    totals = pd.DataFrame(
        {"_key": where[total_rows] * width + codes[total_rows], "_row": total_rows, "value": values[total_rows]}
    )
    over = sums.merge(totals, on="_key")
    over = over.loc[over["total"] > over["value"] + 1e-9]
    if over.empty:
        return _no_flags("breakdown_exceeds_total")
    members = parts.merge(
        over[["_key", "_breakdown", "_row"]].rename(columns={"_row": "_total_row"}), on=["_key", "_breakdown"]
    )
    ids = obs["obs_id"].to_numpy()
    members = members.assign(obs_id=ids[members["_row"]], shown=_num(members["value"]).to_numpy())
    detail = members.groupby(["_total_row", "_breakdown"], sort=False).agg(
        ids=("obs_id", ";".join), terms=("shown", "+".join)
    )
    over = over.join(detail, on=["_row", "_breakdown"])
    total = _text_rows(obs, over["_row"])
    name = breakdown_names.to_numpy(dtype=object)[over["_breakdown"].to_numpy()]
    message = (
        name
        + " breakdown of "
        + total["indicator"].to_numpy()
        + " sums to "
        + _num(over["total"])
        + " ("
        + over["terms"]
        + "), more than the total "
        + _num(over["value"])
    )
    return _flags(
        "breakdown_exceeds_total",
        over["ids"] + ";" + total["obs_id"].to_numpy(),
        total["unit_code"].to_numpy(),
        total["indicator"].to_numpy(),
        message,
        np.concatenate([members["_row"].to_numpy(), over["_row"].to_numpy()]),
    )


def _percent_rules(observations: pd.DataFrame, codebook: pd.DataFrame) -> tuple[tuple, tuple]:
    """``percent_count_mismatch`` and ``denominator_missing`` flags, from one pass over the percentages."""
    obs = _keyed(observations)
    numerator = _per_indicator(obs, codebook, "numerator")
    denominator = _per_indicator(obs, codebook, "denominator")
    is_pct = (obs["value_unit"] == "percent").to_numpy()
    cols = ["_row", "_unit", "_src", "_start", "_ref", "value", "qualifier"]
    pct = obs.loc[is_pct, cols].assign(
        _num=numerator[is_pct], _den=denominator[is_pct], _flow=(obs["kind"] == "flow").to_numpy()[is_pct]
    )
    indicator = obs["_ind"].cat.codes.to_numpy()

    def figures_of(wanted):
        """The figures (``cols`` and ``_ind``) of some indicators (codes; -1 = none)."""
        keep = np.zeros(len(obs["_ind"].cat.categories) + 1, dtype=bool)
        keep[wanted] = True
        keep[-1] = False
        rows = keep[indicator]
        return obs.loc[rows, cols].assign(_ind=indicator[rows])

    bases = figures_of(pct["_den"].unique()).rename(
        columns=lambda c: {"_ind": "_den", "_unit": "_unit"}.get(c, c + "_d")
    )
    reported = pd.Series(_pair_key(pct["_unit"], pct["_den"])).isin(_pair_key(bases["_unit"], bases["_den"]))
    dens = _denominators(pct, bases).set_index("_row")

    nums = pct[["_row", "_unit", "_src", "_start", "_ref", "_num"]].merge(
        figures_of(pct["_num"].unique()).rename(
            columns={"_ind": "_num", "_row": "_row_n", "value": "value_n", "qualifier": "qualifier_n"}
        ),
        on=["_unit", "_src", "_start", "_ref", "_num"],
    )
    nums = nums.sort_values(["_row", "_row_n"]).drop_duplicates("_row").set_index("_row")

    missing = pct.loc[~reported.to_numpy()]
    pct = pct.join(dens[["_row_d", "value_d", "qualifier_d"]], on="_row").join(
        nums[["_row_n", "value_n", "qualifier_n"]], on="_row"
    )
    decimals = obs["value_decimals"].to_numpy()[pct["_row"]]
    return _mismatches(obs, pct.loc[pct["value_d"] > 0], decimals[pct["value_d"] > 0]), _missing(obs, missing, codebook)


def _denominators(pct: pd.DataFrame, bases: pd.DataFrame) -> pd.DataFrame:
    """The denominator figure of each percentage that has one (see the module doc), in order of preference.

    Args:
        pct: Percentages (``_row, _unit, _src, _start, _ref, _den, _flow``).
        bases: Figures of the denominator indicators (``_unit``, ``_den`` and the other columns with ``_d``).

    Returns:
        One row per percentage that found a denominator: ``_row`` and the denominator's ``_d`` columns.
    """
    left = pct[["_row", "_unit", "_src", "_start", "_ref", "_den", "_flow"]]
    flow = left["_flow"].to_numpy()
    keys = ["_unit", "_den"]

    def matched(rows, on, rank, among=bases):
        found = left.loc[rows].merge(among, left_on=keys + on, right_on=keys + [c + "_d" for c in on])
        other = (found["_src"] != found["_src_d"]).to_numpy()
        return found.assign(_other=other, _rank=rank(found, other))

    # a flow: the same period, and a period to date only in the same source
    flows = matched(flow, ["_start", "_ref"], lambda f, other: np.zeros(len(f)))
    flows = flows.loc[(flows["_ref"] != _NAT).to_numpy() | ~flows["_other"]]
    # a stock: the same date (same source first), else the nearest in the same source, else an undated
    # figure of another source when the unit gives the denominator only undated (or the stock is undated too)
    stock = ~flow & (left["_ref"] != _NAT).to_numpy()
    same_date = matched(stock, ["_ref"], lambda f, other: 0 + other)
    same_source = matched(
        ~flow,
        ["_src"],
        lambda f, other: (
            2
            + np.where((f["_ref"] != _NAT) & (f["_ref_d"] != _NAT), (f["_ref"] - f["_ref_d"]).abs(), _FAR).astype(float)
            / _FAR
        ),
    )
    dated = (bases["_ref_d"] != _NAT).to_numpy()
    undated = matched(~flow, [], lambda f, other: np.full(len(f), 4), among=bases.loc[~dated])
    only_undated = (
        ~pd.Series(_pair_key(undated["_unit"], undated["_den"]))
        .isin(_pair_key(bases.loc[dated, "_unit"], bases.loc[dated, "_den"]))
        .to_numpy()
    )
    undated = undated.loc[undated["_other"].to_numpy() & ((undated["_ref"] == _NAT).to_numpy() | only_undated)]
    found = pd.concat([flows, same_date, same_source, undated], ignore_index=True)
    found = found.iloc[np.lexsort([found["_row_d"], found["_rank"], found["_row"]])]
    return found.drop_duplicates("_row")


def _mismatches(obs: pd.DataFrame, pct: pd.DataFrame, decimals: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    pct = pct.reset_index(drop=True)
    implied = pct["value"] * pct["value_d"] / 100
    has_num = pct["value_n"].notna()
    hedged_counts = (pct["qualifier_d"] != "exact") | (has_num & (pct["qualifier_n"] != "exact"))
    count = pct["value_n"].where(has_num, implied.round())
    computed = 100 * count / pct["value_d"]
    tolerance = pd.Series(
        0.5 * 10.0 ** -decimals.astype(float)
        + 1e-9
        + np.where(pct["qualifier"] == "exact", 0, HEDGED_PERCENT_TOLERANCE)
    )
    off_count = (implied - pct["value_n"]).abs() > HEDGED_CONFLICT_TOLERANCE * pct["value_n"]
    bad = np.where(hedged_counts, has_num & off_count, (computed - pct["value"]).abs() > tolerance)
    if not bad.any():
        return _no_flags("percent_count_mismatch")
    pct, count, computed, implied, tolerance = pct[bad], count[bad], computed[bad], implied[bad], tolerance[bad]
    fraction = _num(count) + "/" + _num(pct["value_d"]) + " = " + _num(computed.round(2)) + "%"
    how = np.select(
        [hedged_counts[bad], pct["value_n"].notna()],
        [
            "it implies "
            + _num(implied.round(1))
            + " of "
            + _num(pct["value_d"])
            + ", more than 10% away from the hedged count "
            + _num(pct["value_n"]),
            fraction,
        ],
        "no whole count out of " + _num(pct["value_d"]) + " gives it (nearest " + fraction + ")",
    )
    ids = obs["obs_id"].to_numpy()
    numerator_id = pd.Series(ids[pct["_row_n"].fillna(0).astype(int)], index=pct.index).where(pct["_row_n"].notna())
    rows = _text_rows(obs, pct["_row"])
    message = "printed " + _num(pct["value"]) + "% but " + how + "; tolerance " + _num(tolerance.round(4))
    involved = (
        rows["obs_id"].to_numpy() + (";" + numerator_id).fillna("").to_numpy() + ";" + ids[pct["_row_d"].astype(int)]
    )
    flagged = np.concatenate([pct["_row"].to_numpy(), pct["_row_n"].dropna().to_numpy(), pct["_row_d"].to_numpy()])
    return _flags(
        "percent_count_mismatch",
        involved,
        rows["unit_code"].to_numpy(),
        rows["indicator"].to_numpy(),
        message.to_numpy(),
        flagged,
    )


def _missing(obs: pd.DataFrame, missing: pd.DataFrame, codebook: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    rows = _text_rows(obs, missing["_row"])
    denominator = rows["indicator"].astype(object).map(codebook.set_index("indicator")["denominator"]).fillna("")
    message = np.where(
        denominator == "",
        "the codebook gives no denominator for " + rows["indicator"],
        "no " + denominator + " figure for this unit",
    )
    return _flags(
        "denominator_missing",
        rows["obs_id"].to_numpy(),
        rows["unit_code"].to_numpy(),
        rows["indicator"].to_numpy(),
        message,
        missing["_row"].to_numpy(),
    )


_GROUNDS = {
    "dated": "a dated figure is preferred to an undated one",
    "exact": "an exact figure is preferred to a hedged one",
    "basis": "a stated date is preferred to an inferred or unknown one",
    "later": "the later publication is preferred",
    "first": "no other ground: the lower obs_id is kept",
}


def _conflicting_sources(observations: pd.DataFrame) -> tuple[tuple[pd.DataFrame, np.ndarray], np.ndarray]:
    """Different values from different sources for one unit, indicator and date.

    Rows that repeat one figure (equal in every column but ``obs_id``) are
    compared once, as their first row: pairing every copy with every other
    would be quadratic in the copies. A flag then names all the copies of
    both figures, and every copy of a figure not preferred is not preferred.

    Returns:
        ``((flags, rows), losers)``: one flag per conflicting pair of
        figures with the rows it flags, and the positions of the rows that
        are not preferred (see the module doc for the rule).
    """
    obs = _keyed(observations)
    key = obs[["_unit", "_ind", "_ref", "_src", "value"]]
    if not key.duplicated().any():  # no figure repeated: the usual case
        return _conflicting_figures(obs)
    columns = [c for c in observations.columns if c not in ("obs_id", "_row")]
    figure = obs.groupby(columns, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    order = np.argsort(figure, kind="stable")  # the copies of each figure, in row order
    copies = np.bincount(figure)
    start = np.concatenate([[0], np.cumsum(copies)[:-1]])
    first = order[start]
    (flags, rows), losers = _conflicting_figures(obs.iloc[first].assign(_row=np.arange(len(first))))

    def every_copy(positions):  # positions among the first rows -> positions of all their copies
        figures = figure[first[positions]]
        counts = copies[figures]
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return order[np.repeat(start[figures], counts) + offsets]

    if len(flags):
        pairs = len(flags)
        ids = obs["obs_id"].astype(object).to_numpy()
        joined = (
            pd.Series(ids[every_copy(rows)])
            .groupby(np.repeat(np.arange(2 * pairs), copies[figure[first[rows]]]), sort=True)
            .agg(";".join)
            .to_numpy()
        )
        flags["obs_ids"] = joined[:pairs] + ";" + joined[pairs:]
    return (flags, every_copy(rows)), every_copy(losers)


def _conflicting_figures(obs: pd.DataFrame) -> tuple[tuple[pd.DataFrame, np.ndarray], np.ndarray]:
    """:func:`_conflicting_sources` of keyed observations, each pair of rows compared."""
    pair = _pair_key(obs["_unit"], obs["_ind"].cat.codes)
    src = obs["_src"].to_numpy()
    undated = (obs["_ref"] == _NAT).to_numpy()
    year = np.where(undated, 0, obs["ref"].to_numpy(dtype="datetime64[Y]").astype("int64"))
    first, years = year[~undated].min(initial=0), year.max(initial=0) - year[~undated].min(initial=0) + 1
    same_year = np.where(undated, -1, pair * years + year - first)  # (unit, indicator, year) as one integer
    # only rows that can be in a pair: dated figures with another source in their year, undated
    # figures, and the dated figures of the unit and indicator of an undated one
    several = ~undated & _several_sources(same_year, src)
    frame = _pair_frame(obs, np.flatnonzero(several | undated | pd.Series(pair).isin(pair[undated]).to_numpy()))
    dated, loose = frame.loc[frame["day"] != _NAT], frame.loc[frame["day"] == _NAT]
    dated = dated.loc[several[dated["_row"].to_numpy()]].assign(_year=lambda f: f["year"])  # "year" is compared later
    pairs = pd.concat(
        [
            dated.merge(dated, on=["_unit", "_ind", "_year"], suffixes=("_a", "_b")),
            loose.merge(loose, on=["_unit", "_ind"], suffixes=("_a", "_b")),
            _undated_against_dated(frame, (frame["day"] == _NAT).to_numpy()),
        ],
        ignore_index=True,
    )
    pairs = pairs.loc[(pairs["_src_a"] != pairs["_src_b"]) & (pairs["_row_a"] < pairs["_row_b"])]
    pairs = pairs.loc[_same_dates(pairs) & _values_differ(pairs)]
    if pairs.empty:
        return _no_flags("conflicting_sources"), np.array([], dtype=np.int64)

    a, b = _text_rows(obs, pairs["_row_a"]), _text_rows(obs, pairs["_row_b"])
    ga, gb = _grounds(obs, pairs["_row_a"], pairs["_row_b"])
    diff = np.sign(ga - gb)
    diff[:, -1] = 1  # the lower row (obs_id order of the file) wins the last ground
    decisive = (diff != 0).argmax(axis=1)
    a_wins = diff[np.arange(len(pairs)), decisive] > 0
    ids_a, ids_b = a["obs_id"].to_numpy(), b["obs_id"].to_numpy()
    winner = np.where(a_wins, ids_a, ids_b)
    losers = np.where(a_wins, pairs["_row_b"], pairs["_row_a"])
    why = np.array(list(_GROUNDS.values()))[decisive]
    when_a, when_b = _when(a).to_numpy(), _when(b).to_numpy()

    def side(x, when):
        return (_num(x["value"]) + " (" + x["source_id"] + ", " + when + ")").to_numpy()

    message = (
        a["indicator"].to_numpy()
        + " of "
        + a["unit_label"].to_numpy()
        + ": "
        + side(a, when_a)
        + " vs "
        + side(b, when_b)
        + _placement(pairs, a, b, when_a, when_b)
        + "; preferred "
        + winner
        + " ("
        + why
        + ")"
    )
    flags = _flags(
        "conflicting_sources",
        ids_a + ";" + ids_b,
        a["unit_code"].to_numpy(),
        a["indicator"].to_numpy(),
        message,
        np.concatenate([pairs["_row_a"], pairs["_row_b"]]),
    )
    return flags, losers


def _undated_against_dated(frame: pd.DataFrame, undated: np.ndarray) -> pd.DataFrame:
    """Pairs of an undated figure (``_a``) and the dated figures it can be placed against (``_b``).

    The undated figure's window is the date its source is placed at for the
    unit (at least :data:`MIN_AGREEING_FIGURES` of the source's undated
    figures equal dated figures of other sources, all of one date); for a
    stock whose source is not placed, all time. It is paired only when the
    dated figures of its unit and indicator inside the window (flows: with
    a compatible start) are all of one date or period. The ``anchors``
    column counts the agreeing figures that placed the source (missing when
    it is not placed).
    """
    pairs = frame.loc[undated].merge(frame.loc[~undated], on=["_unit", "_ind"], suffixes=("_a", "_b"))
    pairs = pairs.loc[_same_dates(pairs)]
    agree = pairs.loc[
        (pairs["_src_a"] != pairs["_src_b"]) & pairs["exact_a"] & pairs["exact_b"] & ~_values_differ(pairs)
    ]
    anchors = agree.groupby(["_src_a", "_unit"]).agg(
        anchors=("_row_a", "nunique"), dates=("day_b", "nunique"), at=("day_b", "first")
    )
    anchors = anchors.loc[(anchors["anchors"] >= MIN_AGREEING_FIGURES) & (anchors["dates"] == 1)]
    pairs = pairs.join(anchors[["anchors", "at"]], on=["_src_a", "_unit"])
    pairs = pairs.loc[(pairs["at"].isna() & pairs["stock_a"]) | (pairs["day_b"] == pairs["at"])]
    periods = pd.Series(combined_codes(pairs["start_day_b"], pairs["day_b"]), index=pairs.index)
    one_date = periods.groupby(pairs["_row_a"]).transform("nunique") == 1
    pairs = pairs.loc[one_date].drop(columns="at")
    swapped = {c: c[:-1] + ("b" if c.endswith("_a") else "a") for c in pairs if c.endswith(("_a", "_b"))}
    return pd.concat([pairs, pairs.rename(columns=swapped)], ignore_index=True)  # the caller keeps the row order


def _placement(pairs: pd.DataFrame, a: pd.DataFrame, b: pd.DataFrame, when_a, when_b) -> np.ndarray:
    """The message part saying why an undated figure was compared with a dated one ('' otherwise)."""
    anchors = pairs["anchors"].fillna(0).to_numpy(dtype=int)
    a_undated, b_undated = (pairs["day_a"] == _NAT).to_numpy(), (pairs["day_b"] == _NAT).to_numpy()
    when = np.where(a_undated, when_b, when_a)
    source = np.where(a_undated, a["source_id"].to_numpy(), b["source_id"].to_numpy())
    placed = (
        "; the undated figure is placed at "
        + pd.Series(when, dtype=object)
        + ": "
        + _num(anchors).to_numpy()
        + " other figures of "
        + source
        + " for this unit agree with figures of that date"
    ).to_numpy()
    only = (
        "; "
        + pd.Series(when, dtype=object)
        + " is the only date of this indicator for this unit, "
        + "so the undated figure is compared with it"
    ).to_numpy()
    return np.where(a_undated == b_undated, "", np.where(anchors > 0, placed, only))


def _pair_frame(obs: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """What pairing and comparing need of some rows: keys, value, precision, dates as integers."""
    picked = obs.iloc[rows]
    d = picked["ref"].to_numpy(dtype="datetime64[D]")
    start = picked["period_start"].to_numpy(dtype="datetime64[D]")
    precision = np.maximum(pd.Categorical(picked["date_precision"], categories=["year", "month", "day"]).codes, 0)
    return pd.DataFrame(
        {
            "_row": picked["_row"].to_numpy(),
            "_unit": picked["_unit"].to_numpy(),
            "_ind": picked["_ind"].cat.codes.to_numpy(),
            "_src": picked["_src"].to_numpy(),
            "value": picked["value"].to_numpy(),
            "exact": (picked["qualifier"] == "exact").to_numpy(),
            "decimals": picked["value_decimals"].to_numpy(),
            "precision": precision,
            "stock": (picked["kind"] == "stock").to_numpy(),
            "year": d.astype("datetime64[Y]").astype("int64"),
            "month": d.astype("datetime64[M]").astype("int64"),
            "day": d.astype("int64"),
            "start_year": start.astype("datetime64[Y]").astype("int64"),
            "start_month": start.astype("datetime64[M]").astype("int64"),
            "start_day": start.astype("int64"),
        }
    )


def _pair_key(units, indicators) -> np.ndarray:
    """One integer per (unit, indicator), from their integer codes."""
    return np.asarray(units, dtype=np.int64) * (1 << 24) + np.asarray(indicators, dtype=np.int64)


def _several_sources(groups: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Rows whose group (an integer per row) has figures from more than one source (integer codes)."""
    several = np.zeros(len(groups), dtype=bool)
    rows = np.flatnonzero(pd.Series(groups).duplicated(keep=False).to_numpy())  # groups of one row are out
    group = pd.factorize(groups[rows])[0].astype(np.int64)
    width = int(sources.max(initial=0)) + 1
    combinations = pd.unique(group * width + sources[rows])  # each (group, source) once
    several[rows] = np.bincount(combinations // width, minlength=group.max(initial=-1) + 1)[group] > 1
    return several


def _grounds(obs: pd.DataFrame, rows_a, rows_b) -> tuple[np.ndarray, np.ndarray]:
    """Reconciliation grounds of two aligned sets of rows, in order of priority; higher is better."""
    both = obs[["_ref", "qualifier", "period_end_basis", "published"]].iloc[np.concatenate([rows_a, rows_b])]
    published = pd.factorize(both["published"].astype(object), sort=True)[0]  # text order of ISO dates; missing = -1
    grounds = np.column_stack(
        [
            (both["_ref"] != _NAT).to_numpy(dtype=int),
            (both["qualifier"] == "exact").to_numpy(dtype=int),
            both["period_end_basis"].astype(object).map(BASIS_RANK).fillna(0).to_numpy(dtype=int),
            published,
            np.zeros(len(both), dtype=int),
        ]
    )
    return grounds[: len(rows_a)], grounds[len(rows_a) :]


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
    start_ok = (
        pairs["stock_a"].to_numpy()
        | same_start
        | (start_a_missing & start_b_missing)
        | (undated & (start_a_missing | start_b_missing))
    )
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


def _hedged_value(observations: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Figures printed with a hedge (see module doc)."""
    pick = (observations["qualifier"] != "exact").to_numpy()
    hedged = observations.loc[pick]
    message = "printed as '" + hedged["qualifier"].astype(object).map(HEDGE_WORDS) + " " + _num(hedged["value"]) + "'"
    return _flags(
        "hedged_value", hedged["obs_id"], hedged["unit_code"], hedged["indicator"], message, np.flatnonzero(pick)
    )


def _period_unknown(observations: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Flows without a full period, stocks without a date (see module doc)."""
    flow = observations["kind"] == "flow"
    no_start, no_end = observations["period_start"].isna(), observations["period_end"].isna()
    undated_stock = ~flow & observations["as_of"].isna()
    pick = (flow & (no_start | no_end)) | undated_stock
    obs = observations.loc[pick]
    message = np.select(
        [~flow[pick], no_start[pick] & no_end[pick], no_start[pick]],
        ["stock without a date", "flow without a period", "flow without a start date"],
        "flow without an end date",
    )
    publication = (obs["period_end_basis"] == "publication_date") & obs["published"].isna()
    message = np.where(publication, message + " (ends at publication, but the source is undated)", message)
    return _flags(
        "period_unknown", obs["obs_id"], obs["unit_code"], obs["indicator"], message, np.flatnonzero(pick.to_numpy())
    )


def _suspect_note(observations: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Figures whose note says SUSPECT (see module doc)."""
    pick = observations["note"].str.contains("SUSPECT", regex=False, na=False).to_numpy()
    obs = observations.loc[pick]
    message = obs["note"].astype(object).str.extract(r"(SUSPECT.*)", expand=False).str.slice(0, 200)
    return _flags("suspect_note", obs["obs_id"], obs["unit_code"], obs["indicator"], message, np.flatnonzero(pick))


def _derived_value(observations: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Figures computed from others (see module doc)."""
    pick = (observations["status"] == "derived").to_numpy()
    obs = observations.loc[pick]
    return _flags(
        "derived_value",
        obs["obs_id"],
        obs["unit_code"],
        obs["indicator"],
        "derived: " + obs["note"].astype(object).fillna(""),
        np.flatnonzero(pick),
    )


def _historical_unit(observations: pd.DataFrame, units: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """One flag per unit that no longer exists, listing its figures (see module doc)."""
    ended = units.loc[units["valid_to"].notna()].set_index("unit_code")
    pick = observations["unit_code"].isin(ended.index).to_numpy()
    obs = observations.loc[pick, ["obs_id", "unit_code", "unit_label"]]
    if obs.empty:
        return _no_flags("historical_unit")
    per_unit = (
        obs.astype(object).groupby("unit_code", sort=False).agg(ids=("obs_id", ";".join), label=("unit_label", "first"))
    )
    per_unit = per_unit.join(ended[["valid_to"]])
    until = per_unit["valid_to"].dt.strftime("%Y-%m-%d")
    message = per_unit["label"] + " (" + per_unit.index.to_series() + ") existed until " + until
    return _flags("historical_unit", per_unit["ids"], per_unit.index.to_series(), "", message, np.flatnonzero(pick))


def _zero_length_period(observations: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Flows whose period starts and ends on the same day (see module doc)."""
    pick = ((observations["kind"] == "flow") & (observations["period_start"] == observations["period_end"])).to_numpy()
    obs = observations.loc[pick]
    day = obs["period_start"].dt.strftime("%Y-%m-%d").astype(object)
    message = "flow over no time: the period starts and ends on " + day + "; no rate per year is computed from it"
    return _flags(
        "zero_length_period", obs["obs_id"], obs["unit_code"], obs["indicator"], message, np.flatnonzero(pick)
    )


def _dated_after_publication(
    observations: pd.DataFrame, read_on: pd.Series | None = None, today: pd.Timestamp | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Figures dated after their source's publication, or after today when the source is undated (module doc)."""
    today = pd.Timestamp.now().normalize() if today is None else today
    published = on_distinct(observations["published"].astype(object).fillna(""), _last_day)
    read = (
        on_distinct(observations["source_id"], lambda s: read_on.get(s, pd.NaT))
        if read_on is not None
        else pd.Series(pd.NaT, index=observations.index)
    )
    limit = read.fillna(published).fillna(today).to_numpy(dtype="datetime64[ns]")
    dated = observations["as_of"].where(observations["kind"] == "stock", observations["period_end"])
    precision = pd.Categorical(observations["date_precision"], categories=["year", "month", "day"]).codes
    days = dated.to_numpy(dtype="datetime64[D]")
    first = np.choose(
        np.maximum(precision, 0), [days.astype(f"datetime64[{unit}]").astype("datetime64[D]") for unit in "YMD"]
    )  # the first day a partial date covers
    target = observations["indicator"].astype(object).str.endswith("_target").to_numpy(dtype=bool)
    pick = (first.astype("datetime64[ns]") > limit) & ~np.isnat(days) & ~target
    obs = observations.loc[pick]
    day = dated[pick].dt.strftime("%Y-%m-%d").astype(object)
    bound = pd.Series(limit[pick], index=obs.index).dt.strftime("%Y-%m-%d").astype(object)
    message = np.select(
        [read[pick].notna().to_numpy(), published[pick].isna().to_numpy()],
        [
            "dated " + day + ", after its page was read (" + bound + ")",
            "dated " + day + ", after today (" + bound + ")",
        ],
        "dated " + day + ", after its source was published (" + obs["published"].astype(object).fillna("") + ")",
    )
    return _flags(
        "dated_after_publication", obs["obs_id"], obs["unit_code"], obs["indicator"], message, np.flatnonzero(pick)
    )


def _last_day(text: str) -> pd.Timestamp:
    """The last day a partial ISO date (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``) covers; NaT for ''."""
    return pd.Period(text).end_time.normalize() if text else pd.NaT
