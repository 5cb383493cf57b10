"""Pandera schemas of the raw and processed tables, and the dates they hold.

The raw tables are read as text (:func:`analysis.data.storage.read_csv_table`) and
checked here, before anything is converted, so that a bad cell is reported
as it was typed. Each raw table has

* a column list (:data:`RAW_COLUMNS`): a missing column is a file-level
  problem (:func:`column_problems`), reported with a hint when an unexpected
  column looks like a rename of it;
* a pandera schema (:func:`raw_schema`) whose checks are all vectorised and
  run with ``lazy=True``, so that every problem of every row is collected in
  one pass; :func:`validate_raw` turns pandera's failure cases into rejects
  rows (``table, line, record_id, field, value, reason``).

The observation schemas are built from the codebook and the source ids, so
an unknown indicator or source, a unit that differs from the codebook's, and
a value out of the indicator's range are row-level rejects like any other.
Value ranges: counts, areas and percentages are at least 0, and percentages
at most 100, except that indicators whose id contains ``_change`` (a change
over a period) have no bounds, and a percentage of a target (codebook
denominator ending in ``_target``) may exceed 100.

Dates (:func:`parse_dates`) are ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or
``D/M/YYYY``; a partial date stands for an interval, from its first to its
last day.

Examples:
    >>> parse_dates(pd.Series(["2021-06", "31/02/2021", ""]))[["first", "last", "precision", "status"]]
           first       last precision        status
    0 2021-06-01 2021-06-30     month            ok
    1        NaT        NaT       NaN  no_such_date
    2        NaT        NaT       NaN         empty
"""

from __future__ import annotations

import calendar
import difflib
import re
from datetime import date

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.text.names import distinct_values, on_distinct
from analysis.text.review import ENTRY_METHODS
from analysis.data.quality import RULES

LEVELS = ("province", "district", "commune", "village", "region")
QUALIFIERS = ("exact", "more_than", "nearly", "about", "at_least")
PERIOD_END_BASES = ("stated", "publication_date", "inferred", "unknown")
STATUSES = ("published", "derived")
VALUE_UNITS = ("count", "percent", "km2")
KINDS = ("stock", "flow")
FAMILIES = ("coverage", "admissions", "discipline", "structure", "inspection", "context", "other")
LANGUAGES = ("vi", "en")
SOURCE_KINDS = ("press", "portal", "statistics", "reference")
DATE_PRECISIONS = ("day", "month", "year")
DATE_PRECISIONS_COARSE_FIRST = ("year", "month", "day")
DATE_STATUSES = ("ok", "empty", "bad_format", "no_such_date")

OBSERVATION_COLUMNS = (
    "obs_id",
    "source_id",
    "locator",
    "unit_name",
    "province",
    "scope",
    "indicator",
    "value",
    "unit",
    "qualifier",
    "as_of",
    "period_start",
    "period_end",
    "period_end_basis",
    "status",
    "note",
)
RAW_COLUMNS = {
    "sources": (
        "source_id",
        "publisher",
        "title",
        "published",
        "published_note",
        "url",
        "language",
        "kind",
        "accessed",
    ),
    "units": ("unit_code", "name", "full_name", "level", "parent_code", "valid_from", "valid_to", "aliases", "note"),
    "codebook": (
        "indicator",
        "kind",
        "unit",
        "family",
        "parent",
        "breakdown",
        "numerator",
        "denominator",
        "label_en",
        "label_vi",
        "definition",
    ),
    "observations": OBSERVATION_COLUMNS,
    "context": OBSERVATION_COLUMNS,
}
#: Columns a raw table may have besides :data:`RAW_COLUMNS` (kept when present, not required).
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {"observations": ("entry_method",)}
ID_COLUMNS = {
    "sources": "source_id",
    "units": "unit_code",
    "codebook": "indicator",
    "observations": "obs_id",
    "context": "obs_id",
}
ID_PATTERNS = {
    "sources": r"[SC]\d{3,}",
    "units": r"\d{2,5}|V\d{2,5}-\d{2,}|R-[A-Z0-9]+",
    "codebook": r"[a-z][a-z0-9_]*",
    "observations": r"O\d{4,}",
    "context": r"C\d{4,}",
}
REJECT_COLUMNS = ["table", "line", "record_id", "field", "value", "reason"]

#: Columns of the processed observations, in order (docs/design.md).
PROCESSED_COLUMNS = [
    "obs_id",
    "table",
    "source_id",
    "locator",
    "unit_name",
    "province",
    "scope",
    "unit_code",
    "unit_label",
    "unit_level",
    "district_code",
    "province_code",
    "indicator",
    "family",
    "kind",
    "value",
    "value_unit",
    "value_decimals",
    "qualifier",
    "approximate",
    "as_of",
    "period_start",
    "period_end",
    "date_precision",
    "period_end_basis",
    "status",
    "published",
    "preferred",
    "flags",
    "note",
]
DUPLICATE = "duplicate id"
NOT_A_NUMBER = "not a number (use . for decimals, no thousands separators, no % sign)"
NOT_A_DATE = "not a date (YYYY, YYYY-MM, YYYY-MM-DD or D/M/YYYY)"
UNKNOWN_SOURCE = "unknown source id; not in sources.csv"
UNKNOWN_INDICATOR = "unknown indicator; not in codebook.csv"
#: Largest size of a value: no count, area or share here comes near it, and beyond 2**63 counts stop being
#: exact integers.
MAX_VALUE = 1e12
#: The party was founded on 3 February 1930: no figure about it can be of an earlier date.
PARTY_FOUNDED = np.datetime64("1930-02-03")

_ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_DMY_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_dates(values: pd.Series) -> pd.DataFrame:
    """Read a column of raw dates (each distinct text parsed once).

    Args:
        values: Texts in ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ``D/M/YYYY``; '' = unknown.

    Returns:
        Aligned with ``values``: ``first`` and ``last`` day the date covers
        (datetimes; equal for a full date), ``precision`` (``year`` <
        ``month`` < ``day``, an ordered categorical), ``iso`` (the date
        rewritten as ``YYYY[-MM[-DD]]``) and ``status``: ``ok``, ``empty``,
        ``bad_format`` or ``no_such_date``.

    Examples:
        >>> parse_dates(pd.Series(["2020", "23/8/2021"]))[["last", "iso"]]
                last         iso
        0 2020-12-31        2020
        1 2021-08-23  2021-08-23
    """
    codes, distinct = distinct_values(values)
    read = [_read_date(text) for text in distinct.to_numpy(dtype=object)] + [_read_date("")]  # last: missing
    codes = np.where(codes < 0, len(read) - 1, codes)
    first, last, level, iso, status = (np.array(column, dtype=object) for column in zip(*read))
    return pd.DataFrame(
        {
            "first": first.astype("datetime64[us]")[codes],
            "last": last.astype("datetime64[us]")[codes],
            "precision": pd.Categorical.from_codes(
                level.astype(int)[codes], categories=list(DATE_PRECISIONS_COARSE_FIRST), ordered=True
            ),
            "iso": _categorical(iso, codes),
            "status": pd.Categorical.from_codes(status.astype(int)[codes], categories=list(DATE_STATUSES)),
        },
        index=values.index,
    )


_NO_DATE = np.datetime64("NaT")


def _read_date(text) -> tuple:
    """``(first, last, precision level, iso text, status code)`` of one raw date."""
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        return _NO_DATE, _NO_DATE, -1, None, 1
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := _DMY_DATE.fullmatch(text):
        day, month, year = match.groups()
    else:
        return _NO_DATE, _NO_DATE, -1, None, 2
    level = 0 if month is None else 1 if day is None else 2
    try:
        if level == 0:
            first, last = date(int(year), 1, 1), date(int(year), 12, 31)
        elif level == 1:
            first = date(int(year), int(month), 1)
            last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        else:
            first = last = date(int(year), int(month), int(day))
    except ValueError:
        return _NO_DATE, _NO_DATE, -1, None, 3
    return np.datetime64(first), np.datetime64(last), level, first.isoformat()[: (4, 7, 10)[level]], 0


def _categorical(distinct_results: np.ndarray, codes: np.ndarray) -> pd.Categorical:
    """Results computed per distinct value, spread over the rows as a categorical."""
    result_codes, categories = pd.factorize(distinct_results, use_na_sentinel=True)
    return pd.Categorical.from_codes(result_codes[codes], categories=pd.Index(categories, dtype=object))


def parse_numbers(values: pd.Series) -> pd.Series:
    """Numbers written with ``.`` decimals; anything else (and inf) is NaN.

    Args:
        values: Texts as typed in a raw table.

    Returns:
        Floats aligned with ``values``.

    Examples:
        >>> parse_numbers(pd.Series(["75.51", "75,51%", "1639", "inf"])).tolist()
        [75.51, nan, 1639.0, nan]
    """
    codes, distinct = distinct_values(values)
    return pd.Series(np.append(_numbers(distinct.to_numpy(dtype=object)), np.nan)[codes], index=values.index)


def _numbers(texts: np.ndarray) -> np.ndarray:
    """:func:`parse_numbers` of some distinct texts."""
    try:
        numbers = texts.astype(float)  # float() of each text, in one C loop
    except (TypeError, ValueError):  # some text is no number: one at a time
        numbers = np.array([_number(t) for t in texts], dtype=float)
    padded = texts.astype(str)
    numbers[(np.char.strip(padded) != padded) | (np.char.find(padded, "_") >= 0) | ~np.isfinite(numbers)] = np.nan
    return numbers


def _decimals(texts: np.ndarray) -> np.ndarray:
    """How many decimals each number was written with ('10.20' -> 2)."""
    texts = texts.astype(str)
    point = np.char.find(texts, ".")
    return np.where(point >= 0, np.char.str_len(texts) - point - 1, 0)


def _number(text: str) -> float:
    try:
        return float(text) if text.strip() == text and "_" not in text else np.nan
    except ValueError:
        return np.nan


def number_suggestion(text: str, whole: bool = False) -> str | None:
    """How a hand-typed number would be written in the raw tables, if clear.

    Args:
        text: A value that is not a number as the raw tables write them.
        whole: The value is a count: a comma between groups of three
            digits is a thousands separator, not a decimal comma.

    Returns:
        The suggested spelling, or None.

    Examples:
        >>> number_suggestion("75,51%"), number_suggestion("1.085.332"), number_suggestion("abc")
        ('75.51', '1085332', None)
        >>> number_suggestion("1,639"), number_suggestion("1,639", whole=True)
        ('1.639', '1639')
    """
    bare = text.replace("%", "").replace(" ", "").replace("\u00a0", "")
    if whole and re.fullmatch(r"\d{1,3}([.,]\d{3})+", bare):  # 1,639 or 1.085.332 in a count
        bare = re.sub(r"[.,]", "", bare)
    elif bare.count(".") > 1 and "," not in bare:  # Vietnamese thousands groups
        bare = bare.replace(".", "")
    elif "," in bare and "." in bare:  # 1.639,5
        bare = bare.replace(".", "").replace(",", ".")
    else:
        bare = bare.replace(",", ".")
    return bare if bare != text and not np.isnan(_number(bare)) else None


def column_problems(columns, table: str) -> list[str]:
    """File-level problems with a table's header: missing (or renamed) columns.

    Args:
        columns: The header fields found.
        table: Which raw table (``observations``, ``sources`` ...).

    Returns:
        One message per missing column, naming a likely rename.

    Examples:
        >>> column_problems(["obs_id", "valeur"], "observations")[6]
        "missing column 'value' (is 'valeur' a renamed 'value'?)"
    """
    expected = RAW_COLUMNS[table]
    unexpected = [c for c in columns if c not in expected]
    problems = []
    for column in expected:
        if column in columns:
            continue
        renamed = difflib.get_close_matches(column, unexpected, n=1, cutoff=0.6)
        hint = f" (is {renamed[0]!r} a renamed {column!r}?)" if renamed else ""
        problems.append(f"missing column {column!r}{hint}")
    return problems


def unused_columns(columns, table: str) -> list[str]:
    """Header fields a table has beyond its columns (:data:`RAW_COLUMNS` and :data:`OPTIONAL_COLUMNS`).

    The build and ``validate`` read such a column, ignore it, and say so in
    a note; they never fail because of it.

    Args:
        columns: The header fields found.
        table: Which raw table.

    Returns:
        The fields that are not used, in file order.

    Examples:
        >>> unused_columns(["obs_id", "comment", "value"], "observations")
        ['comment']
    """
    known = set(RAW_COLUMNS[table]) | set(OPTIONAL_COLUMNS.get(table, ()))
    return [c for c in columns if c not in known]


def _check(func, **kwargs) -> pa.Check:
    """A vectorised check; raw cells are never missing (read as '' ), so nulls are not looked for."""
    return pa.Check(func, ignore_na=False, **kwargs)


def _required(series: pd.Series) -> pd.Series:
    return ~_is_empty(series)


def _is_empty(series: pd.Series) -> pd.Series:
    """Cells that are '' (compared once per category, or on the raw text objects: pandas' text is slower)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series == ""
    return pd.Series(series.to_numpy(dtype=object) == "", index=series.index)


def _fullmatch(pattern: str):
    """Each value matches ``pattern``; for a column of distinct ids, one regex over the joined column."""
    one = re.compile(pattern)
    stray = re.compile(rf"^(?!(?:{pattern})$)", re.MULTILINE)  # a line that is not an id

    def check(series):
        if not isinstance(series.dtype, pd.CategoricalDtype) and len(series):
            joined = "\n".join(series.to_numpy(dtype=object))
            if joined.count("\n") == len(series) - 1 and not stray.search(joined):
                return pd.Series(True, index=series.index)
        return on_distinct(series, lambda value: one.fullmatch(value) is not None).astype(bool)

    return check


def _optional_in(allowed):
    return lambda series: (series == "") | series.isin(allowed)


def _is_date(series: pd.Series) -> pd.Series:
    codes, distinct = distinct_values(series)
    readable = [_read_date(text)[4] in (0, 1) for text in distinct.to_numpy(dtype=object)]  # status ok or empty
    return pd.Series(np.array(readable + [True])[codes], index=series.index)


def _not_duplicated(series: pd.Series) -> pd.Series:
    ids = series.to_numpy(dtype=object)
    if pd.Index(ids).is_unique:  # the usual case, and three times cheaper to establish
        return pd.Series(True, index=series.index)
    return pd.Series(~pd.Index(ids).duplicated(keep="first"), index=series.index)


def _text(*checks: pa.Check, required: bool = False) -> pa.Column:
    if required:
        checks = (_check(_required, error="empty; a value is required"), *checks)
    return pa.Column(None, checks=list(checks), nullable=False)


def _date_column(required: bool = False) -> pa.Column:
    return _text(_check(_is_date, error=NOT_A_DATE), required=required)


def _id_column(table: str) -> pa.Column:
    return _text(
        _check(_fullmatch(ID_PATTERNS[table]), error=f"not an id of the form {ID_PATTERNS[table]}"),
        _check(_not_duplicated, error=DUPLICATE),
        required=True,
    )


def _one_of(allowed, required: bool = True) -> pa.Column:
    check = _check(_optional_in(allowed), error=f"must be one of: {', '.join(allowed)}")
    return _text(check, required=required)


def _frame_check(field: str, error: str, func) -> pa.Check:
    """A row-wise check over several columns; ``name`` keeps the field to blame."""
    return _check(func, name=field, error=error)


def value_bounds(codebook: pd.DataFrame) -> pd.DataFrame:
    """Allowed range of each indicator's values (see the module docstring).

    Args:
        codebook: The codebook (``indicator``, ``unit``, ``denominator``).

    Returns:
        Indexed by indicator: ``lower`` and ``upper`` (NaN = unbounded).

    Examples:
        >>> book = pd.DataFrame({"indicator": ["admissions", "x_share", "x_change", "target_share"],
        ...     "unit": ["count", "percent", "count", "percent"],
        ...     "denominator": ["", "admissions", "", "admissions_target"]})
        >>> value_bounds(book)
                      lower  upper
        indicator
        admissions      0.0    NaN
        x_share         0.0  100.0
        x_change        NaN    NaN
        target_share    0.0    NaN
    """
    change = codebook["indicator"].str.contains("_change", regex=False)
    of_target = codebook["denominator"].str.endswith("_target")
    lower = pd.Series(np.where(change, np.nan, 0.0), index=codebook["indicator"].to_numpy())
    upper = pd.Series(
        np.where((codebook["unit"] == "percent") & ~change & ~of_target, 100.0, np.nan),
        index=codebook["indicator"].to_numpy(),
    )
    return pd.DataFrame({"lower": lower, "upper": upper}).rename_axis("indicator")


def raw_schema(table: str, *, source_ids=None, codebook: pd.DataFrame | None = None) -> pa.DataFrameSchema:
    """The pandera schema of one raw table (all columns as text).

    Args:
        table: ``sources``, ``units``, ``codebook``, ``observations`` or ``context``.
        source_ids: Known source ids (observation tables only).
        codebook: The validated codebook (observation tables only).

    Returns:
        A schema to run with ``lazy=True`` (see :func:`validate_raw`).

    Examples:
        >>> sorted(raw_schema("units").columns)
        ['level', 'name', 'unit_code', 'valid_from', 'valid_to']
    """
    if table == "sources":
        return pa.DataFrameSchema(
            {
                "source_id": _id_column(table),
                "publisher": _text(required=True),
                "title": _text(required=True),
                "published": _date_column(),
                "language": _one_of(LANGUAGES),
                "kind": _one_of(SOURCE_KINDS),
                "accessed": _date_column(),
            },
            checks=[
                _frame_check(
                    column, "after today: a source cannot be published or read in the future", _not_after_today(column)
                )
                for column in ("published", "accessed")
            ],
        )
    if table == "units":
        return pa.DataFrameSchema(
            {
                "unit_code": _id_column(table),
                "name": _text(required=True),
                "level": _one_of(LEVELS),
                "valid_from": _date_column(),
                "valid_to": _date_column(),
            },
            checks=[
                _frame_check(
                    "parent_code",
                    "unknown parent unit; not a unit_code of units.csv",
                    lambda f: (f["parent_code"] == "") | f["parent_code"].isin(f["unit_code"]),
                ),
                _frame_check(
                    "parent_code",
                    "a district, commune or village needs a parent_code",
                    lambda f: (f["parent_code"] != "") | f["level"].isin(["province", "region", ""]),
                ),
                _frame_check(
                    "valid_to", "validity ends before it starts", _ends_before_starts("valid_from", "valid_to")
                ),
            ],
        )
    if table == "codebook":
        known = lambda column: lambda f: (f[column] == "") | f[column].isin(f["indicator"])  # noqa: E731
        return pa.DataFrameSchema(
            {
                "indicator": _id_column(table),
                "kind": _one_of(KINDS),
                "unit": _one_of(VALUE_UNITS),
                "family": _one_of(FAMILIES),
                "label_en": _text(required=True),
            },
            checks=[
                _frame_check("parent", "unknown parent indicator", known("parent")),
                _frame_check("numerator", "unknown numerator indicator", known("numerator")),
                _frame_check("denominator", "unknown denominator indicator", known("denominator")),
                _frame_check(
                    "breakdown", "a breakdown needs a parent", lambda f: (f["breakdown"] == "") | (f["parent"] != "")
                ),
                _frame_check(
                    "parent", "the parents form a cycle: an indicator cannot be its own ancestor", _not_in_parent_cycle
                ),
            ],
        )
    return _observation_schema(table, source_ids, codebook)


def _observation_schema(table: str, source_ids, codebook: pd.DataFrame) -> pa.DataFrameSchema:
    units_of = codebook.set_index("indicator")["unit"]
    bounds = value_bounds(codebook)

    def outside(side):
        def check(frame):
            limit = on_distinct(frame["indicator"], bounds[side].get).astype(float)
            beyond = frame["_number"] < limit if side == "lower" else frame["_number"] > limit
            return ~beyond

        return check

    def unit_differs(frame):
        # per distinct indicator, its codebook unit as a code of the unit column (-1: none there; -2: no check)
        indicator, indicators = distinct_values(frame["indicator"])
        unit, units = distinct_values(frame["unit"])
        expected = units_of.reindex(indicators.to_numpy(dtype=object))
        code = np.where(expected.notna(), units.get_indexer(expected.fillna("").to_numpy(dtype=object)), -2)
        code = np.append(code, -2)[indicator]
        return pd.Series(~((code != -2) & (unit != code)) | _is_empty(frame["unit"]).to_numpy(), index=frame.index)

    return pa.DataFrameSchema(
        {
            "obs_id": _id_column(table),
            "source_id": _text(
                _check(lambda s: (s == "") | s.isin(list(source_ids)), error=UNKNOWN_SOURCE), required=True
            ),
            "unit_name": _text(required=True),
            "scope": _one_of(LEVELS),
            "indicator": _text(
                _check(lambda s: (s == "") | s.isin(units_of.index), error=UNKNOWN_INDICATOR), required=True
            ),
            "value": _text(required=True),
            "unit": _one_of(VALUE_UNITS),
            "qualifier": _one_of(QUALIFIERS),
            "as_of": _date_column(),
            "period_start": _date_column(),
            "period_end": _date_column(),
            "period_end_basis": _one_of(PERIOD_END_BASES),
            "status": _one_of(STATUSES),
            **(
                {
                    "entry_method": pa.Column(
                        None,
                        checks=[
                            _check(_optional_in(ENTRY_METHODS), error=f"must be one of: {', '.join(ENTRY_METHODS)}")
                        ],
                        nullable=False,
                        required=False,
                    )
                }
                if table == "observations"
                else {}
            ),
        },
        checks=[
            _frame_check("value", NOT_A_NUMBER, lambda f: _is_empty(f["value"]) | f["_number"].notna()),
            _frame_check(
                "value",
                "below the indicator's minimum of 0 (only *_change indicators may be negative)",
                outside("lower"),
            ),
            _frame_check(
                "value", "percent above 100 (only changes and shares of a target may exceed 100)", outside("upper")
            ),
            _frame_check(
                "value",
                f"out of range: larger than {MAX_VALUE:.0e} in size, which no figure here can be",
                lambda f: ~(f["_number"].abs() > MAX_VALUE),
            ),
            _frame_check(
                "value",
                "a count must be a whole number",
                lambda f: ~((f["unit"] == "count") & (f["_number"] % 1 != 0) & f["_number"].notna()),
            ),
            _frame_check("unit", "differs from the codebook's unit for this indicator", unit_differs),
            _frame_check(
                "period_end", "period ends before it starts", _ends_before_starts("period_start", "period_end")
            ),
            _frame_check(
                "note",
                "a derived figure needs a note saying how it was derived",
                lambda f: ~((f["status"] == "derived") & (f["note"] == "")),
            ),
            *(
                [
                    _frame_check(column, "before the party was founded (3 February 1930)", _not_before_founding(column))
                    for column in ("as_of", "period_start", "period_end")
                ]
                if table == "observations"
                else []
            ),
        ],
    )


def _not_after_today(column: str):
    def check(frame):
        return pd.Series(~(_date_bound(frame[column], "first") > np.datetime64(date.today())), index=frame.index)

    return check


def _not_in_parent_cycle(frame: pd.DataFrame) -> pd.Series:
    """Codebook rows whose chain of parents leads back to themselves.

    Following ``n`` parents from any row (``n`` = rows) ends on a cycle if
    the chain has one, and every row of a cycle is reached that way from a
    row of its cycle: the rows reached are exactly the rows of cycles.
    ``n`` steps take about log2(n) vectorised compositions.
    """
    ids = frame["indicator"].to_numpy(dtype=object)
    first = pd.Series(np.arange(len(ids))).groupby(ids).first()  # a duplicate id: its first row stands for it
    up = first.reindex(frame["parent"].to_numpy(dtype=object)).fillna(-1).to_numpy(dtype=np.int64)  # -1: none

    def then(step, at):
        return np.where(at >= 0, step[np.maximum(at, 0)], -1)

    reached, power, n = np.arange(len(ids)), up, len(ids)
    while n:
        if n & 1:
            reached = then(power, reached)
        power, n = then(power, power), n >> 1
    return pd.Series(~np.isin(np.arange(len(ids)), reached[reached >= 0]), index=frame.index)


def _not_before_founding(column: str):
    def check(frame):
        return pd.Series(~(_date_bound(frame[column], "last") < PARTY_FOUNDED), index=frame.index)  # NaT: kept

    return check


def _ends_before_starts(start: str, end: str):
    def check(frame):
        ends_before = _date_bound(frame[end], "last") < _date_bound(frame[start], "first")  # NaT: False
        return pd.Series(~ends_before, index=frame.index)

    return check


def _date_bound(values: pd.Series, side: str) -> np.ndarray:
    """The first or last day each raw date covers (NaT when empty or unreadable), read once per distinct text."""
    codes, distinct = distinct_values(values)
    which = 0 if side == "first" else 1
    days = [_read_date(text)[which] for text in distinct.to_numpy(dtype=object)] + [_NO_DATE]
    return np.array(days, dtype="datetime64[D]")[codes]


def validate_raw(frame: pd.DataFrame, table: str, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Run a raw schema and return every failing cell as a reject row.

    Args:
        frame: The raw table as read (text cells, index = line number), with
            all the columns of :data:`RAW_COLUMNS`.
        table: Its name (``observations`` ...).
        schema: From :func:`raw_schema`.

    Returns:
        Rejects (:data:`REJECT_COLUMNS`), one row per failing check and line,
        ordered by line; empty when the table is clean.

    Examples:
        >>> frame = pd.DataFrame({"source_id": ["S001", "S001", "X"], "publisher": "P", "title": "T",
        ...     "published": ["2021", "31/02/2021", ""], "published_note": "", "url": "", "language": "vi",
        ...     "kind": "press", "accessed": ""}, index=[2, 3, 4])
        >>> validate_raw(frame, "sources", raw_schema("sources"))[["line", "field", "reason"]]
           line      field                                      reason
        0     3  source_id        duplicate source_id: first on line 2
        1     3  published                               no such date
        2     4  source_id  not an id of the form [SC]\\d{3,}
    """
    try:
        schema.validate(with_numbers(frame) if table in ("observations", "context") else frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    else:
        return pd.DataFrame(columns=REJECT_COLUMNS)
    if cases["index"].isna().any():
        broken = cases.loc[cases["index"].isna(), ["column", "check", "failure_case"]].iloc[0].tolist()
        raise RuntimeError(f"a check of the {table} schema could not run: {broken}")
    whole = cases["schema_context"] == "DataFrameSchema"
    number = cases["check_number"].where(whole)
    field = cases["column"].astype(object).where(~whole, number.map(dict(enumerate(c.name for c in schema.checks))))
    reason = cases["check"].astype(object).where(~whole, number.map(dict(enumerate(c.error for c in schema.checks))))
    rejects = pd.DataFrame({"line": cases["index"].astype(int), "field": field, "reason": reason})
    rejects = rejects.drop_duplicates().sort_values(["line"], kind="stable").reset_index(drop=True)
    id_column = ID_COLUMNS[table]
    rejects.insert(0, "table", table)
    rejects.insert(2, "record_id", frame.loc[rejects["line"], id_column].to_numpy())
    values = pd.Series(np.nan, index=rejects.index, dtype=object)
    for column in rejects["field"].unique():  # the few fields that failed
        pick = rejects["field"] == column
        values[pick] = frame.loc[rejects.loc[pick, "line"], column].to_numpy(dtype=object)
    rejects.insert(4, "value", values)
    return _explain(rejects, frame, id_column)


def with_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """An observation table with its values parsed once (kept if already there).

    Adds ``_number`` (:func:`parse_numbers`) and ``_decimals``, how many
    decimals each value was written with ('10.20' -> 2), both computed once
    per distinct text. The observation schemas check ``_number``;
    :func:`validate_raw` adds them when the caller has not.

    Args:
        frame: A raw observation or context table.

    Returns:
        The same table with ``_number`` and ``_decimals``.

    Examples:
        >>> with_numbers(pd.DataFrame({"value": ["75.51", "75,51", "10.20"]}))[["_number", "_decimals"]]
           _number  _decimals
        0    75.51          2
        1      NaN          0
        2    10.20          2
    """
    if "_number" in frame:
        return frame
    codes, distinct = distinct_values(frame["value"])
    texts = distinct.to_numpy(dtype=object)
    return frame.assign(
        _number=np.append(_numbers(texts), np.nan)[codes], _decimals=np.append(_decimals(texts), 0)[codes]
    )


def _explain(rejects: pd.DataFrame, frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Name the first line of a duplicate, tell impossible dates from bad ones, suggest numbers."""
    duplicate = rejects["reason"] == DUPLICATE
    if duplicate.any():
        first_line = pd.Series(frame.index, index=frame[id_column]).groupby(level=0).first()
        lines = rejects.loc[duplicate, "record_id"].map(first_line).astype(int).astype(str)
        rejects.loc[duplicate, "reason"] = f"duplicate {id_column}: first on line " + lines
    not_date = rejects["reason"] == NOT_A_DATE
    if not_date.any():
        impossible = parse_dates(rejects.loc[not_date, "value"])["status"] == "no_such_date"
        rejects.loc[impossible[impossible].index, "reason"] = "no such date"
    not_number = rejects["reason"] == NOT_A_NUMBER
    if not_number.any():
        texts = rejects.loc[not_number, "value"]
        hint = texts.map(number_suggestion)
        if "unit" in frame:  # in a count, a comma between groups of three digits separates thousands
            count = frame.loc[rejects.loc[not_number, "line"], "unit"].to_numpy(dtype=object) == "count"
            hint = hint.where(~count, texts.map(lambda text: number_suggestion(text, whole=True)))
        rejects.loc[not_number, "reason"] = NOT_A_NUMBER + ("; write " + hint).fillna("")
    return rejects


def processed_schema() -> pa.DataFrameSchema:
    """The schema of the processed observations (as built, and as read back).

    Text columns use missing values (not '') for "unknown", except ``flags``,
    which is '' when no rule flags the figure; dates are datetimes.

    Returns:
        A strict, ordered pandera schema of :data:`PROCESSED_COLUMNS`.

    Examples:
        >>> list(processed_schema().columns) == PROCESSED_COLUMNS
        True
    """

    def text(*checks, nullable=False, unique=False):
        return pa.Column(str, checks=list(checks), nullable=nullable, unique=unique)

    def one_of(allowed, nullable=False):
        return text(pa.Check.isin(list(allowed)), nullable=nullable)

    date = pa.Column(pa.DateTime, nullable=True)
    columns = {
        "obs_id": text(unique=True),
        "table": one_of(["observations", "context"]),
        "source_id": text(),
        "locator": text(nullable=True),
        "unit_name": text(),
        "province": text(nullable=True),
        "scope": one_of(LEVELS),
        "unit_code": text(),
        "unit_label": text(),
        "unit_level": one_of(LEVELS),
        "district_code": text(nullable=True),
        "province_code": text(nullable=True),
        "indicator": text(),
        "family": one_of(FAMILIES),
        "kind": one_of(KINDS),
        "value": pa.Column(float),
        "value_unit": one_of(VALUE_UNITS),
        "value_decimals": pa.Column(int, pa.Check.ge(0)),
        "qualifier": one_of(QUALIFIERS),
        "approximate": pa.Column(bool),
        "as_of": date,
        "period_start": date,
        "period_end": date,
        "date_precision": one_of(DATE_PRECISIONS, nullable=True),
        "period_end_basis": one_of(PERIOD_END_BASES),
        "status": one_of(STATUSES),
        "published": text(nullable=True),
        "preferred": pa.Column(bool),
        "flags": text(
            _check(lambda s: s.str.split(";").explode().isin(["", *RULES]).groupby(level=0).all(), error="unknown rule")
        ),
        "note": text(nullable=True),
    }
    return pa.DataFrameSchema({name: columns[name] for name in PROCESSED_COLUMNS}, strict=True, ordered=True)
